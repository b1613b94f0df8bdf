//! LZF compression producing the bytes Redis's liblzf 3.6 produces (lzf_c.c with
//! Redis's settings: a 2^16-slot hash table, VERY_FAST, a clean table), so that DUMP
//! payloads and RDB files of compressible strings are byte for byte Redis's, and a
//! string is stored compressed exactly when Redis would store it compressed. Format:
//! literal runs of 1..=32 bytes (`[len-1][bytes]`) and back references of 3..=264
//! bytes within 8 KB (`[len-2:3 | off>>8:5][len-9 if len-2 >= 7][off & 0xff]`).
//! The table is not cleared per call: each call numbers the input's positions from
//! where the previous call's ended, so slots written before hold smaller numbers and
//! read as empty (4-byte slots, 256 KB, as liblzf's). Like Redis's (on its stack), it is
//! not part of used_memory.
use std::cell::RefCell;

const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;

/// Hash slots: `base + position` of the last input position with that hash; a slot
/// under the call's `base` is empty.
struct Table {
    /// The first number of the next call.
    next: u32,
    /// Outside used_memory, as Redis's table is on its stack (`HSIZE` u32 slots).
    slots: crate::alloc::ScratchWords,
}

thread_local! {
    static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
}

/// Redis compat: lzf_c.c FRST, NEXT and IDX (VERY_FAST), in 32-bit arithmetic.
#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Writes `b` at `i` (the buffer has room for every write the compressor makes).
fn put(out: &mut [u8], i: usize, b: u8) {
    if let Some(x) = out.get_mut(i) {
        *x = b;
    }
}

/// Adds one byte to the literal run under way, closing the run at MAX_LIT bytes (its
/// length byte sits just before it).
fn push_literal(out: &mut [u8], op: &mut usize, lit: &mut usize, b: u8) {
    *lit += 1;
    put(out, *op, b);
    *op += 1;
    if *lit == MAX_LIT {
        put(out, *op - *lit - 1, (*lit - 1) as u8);
        *lit = 0;
        *op += 1;
    }
}

/// Compresses `inp` into at most `out_len` bytes; None when it does not fit (by
/// liblzf's own checks, which refuse some outputs that would just fit), and for inputs
/// of 2 GB or more (liblzf takes 32-bit lengths).
pub fn compress(inp: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    compress_into(inp, out_len, &mut out).then_some(out)
}

/// `compress` into `out`, whose buffer is reused (what it held is replaced); false when
/// the result does not fit (`out` then holds nothing of use).
pub fn compress_into(inp: &[u8], out_len: usize, out: &mut Vec<u8>) -> bool {
    let Some(n) = u32::try_from(inp.len()).ok().filter(|&n| n < 1 << 31) else {
        return false;
    };
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let t = t.get_or_insert_with(|| Table {
            next: 1,
            slots: crate::alloc::ScratchWords::zeroed(HSIZE / 2),
        });
        let base = match t.next.checked_add(n) {
            Some(next) => std::mem::replace(&mut t.next, next),
            None => {
                t.slots.as_mut_slice().fill(0);
                t.next = 1 + n;
                1
            }
        };
        let Ok(slots) = <&mut [u32; HSIZE]>::try_from(t.slots.as_mut_u32()) else {
            return false;
        };
        compress_with(inp, out_len, slots, base, out)
    })
}

/// Room past the output's end where copies may run over (they are cut back after).
const SLACK: usize = 32;

/// Decompresses `inp`, which must expand to exactly `out_len` bytes (else None, as when
/// it is malformed). Redis compat: lzf_d.c lzf_decompress, as rdb.c checks its result.
/// Most runs and references are short: they are moved in fixed-size chunks that may
/// run past their end into bytes written again next (and into `SLACK` at the very end),
/// rather than by a call to copy a few bytes.
pub fn decompress(inp: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; out_len.checked_add(SLACK)?];
    let mut op = 0;
    let mut ip = 0;
    while let Some(&c) = inp.get(ip) {
        let c = c as usize;
        ip += 1;
        if c < MAX_LIT {
            let n = c + 1;
            if op + n > out_len {
                return None;
            }
            match (inp.get(ip..ip + MAX_LIT), out.get_mut(op..op + MAX_LIT)) {
                (Some(src), Some(dst)) => dst.copy_from_slice(src),
                _ => out.get_mut(op..op + n)?.copy_from_slice(inp.get(ip..ip + n)?),
            }
            ip += n;
            op += n;
            continue;
        }
        let mut len = c >> 5;
        if len == 7 {
            len += *inp.get(ip)? as usize;
            ip += 1;
        }
        len += 2;
        let back = ((c & 0x1f) << 8) + *inp.get(ip)? as usize + 1;
        ip += 1;
        if op + len > out_len {
            return None;
        }
        let from = op.checked_sub(back)?;
        if back >= 16 {
            // Each chunk reads bytes at least 16 before those it writes, all final by then.
            let mut k = 0;
            while k < len {
                let chunk: [u8; 16] = *out.get(from + k..)?.first_chunk()?;
                *out.get_mut(op + k..)?.first_chunk_mut()? = chunk;
                k += 16;
            }
        } else {
            // A reference may overlap what it produces: it repeats its first `back` bytes.
            // What follows `from` is periodic with period `back`, so each copy may take
            // everything written since `from`: the copies double (a run of zeros, back 1,
            // is 9 copies per reference rather than one per byte).
            let mut done = 0;
            while done < len {
                let n = (len - done).min(op + done - from);
                out.copy_within(from..from + n, op + done);
                done += n;
            }
        }
        op += len;
    }
    if op != out_len {
        return None;
    }
    out.truncate(out_len);
    Some(out)
}

/// The first `i` in `from..limit` where the bytes at `r + i` and `ip + i` differ (`r < ip`),
/// or `limit`; `from` when either range is not within the input (the compressor never
/// asks for one that is not: liblzf reads only bytes of its input).
#[inline]
fn mismatch(inp: &[u8], r: usize, ip: usize, from: usize, limit: usize) -> usize {
    let (Some(a), Some(b)) = (inp.get(r + from..r + limit), inp.get(ip + from..ip + limit)) else {
        return from;
    };
    // Byte by byte: matches are mostly short, where this beats comparing words.
    from + a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// After a back reference that ends at `end`: enters the two positions before `end`
/// (liblzf's VERY_FAST), returning where the scan goes on and the hash it goes on with.
#[inline]
fn enter_two(inp: &[u8], slots: &mut [u32; HSIZE], base: u32, end: usize) -> (usize, u32) {
    let at = |i: usize| inp.get(i).map_or(0, |&b| u32::from(b));
    let mut ip = end - 2;
    let mut hval = (at(ip) << 8) | at(ip + 1);
    for _ in 0..2 {
        hval = (hval << 8) | at(ip + 2);
        slots[idx(hval)] = base + ip as u32;
        ip += 1;
    }
    (ip, hval)
}

/// Every byte of `out` before the final length is written, so a reused buffer is only
/// grown (and zeroed) where it is too short.
fn compress_with(inp: &[u8], out_len: usize, slots: &mut [u32; HSIZE], base: u32, out: &mut Vec<u8>) -> bool {
    let in_len = inp.len();
    if in_len == 0 || out_len == 0 {
        return false;
    }
    if out.len() < out_len + 4 {
        out.resize(out_len + 4, 0);
    }
    let Some(o) = out.get_mut(..out_len + 4) else {
        return false;
    };
    let mut lit = 0usize;
    let mut op = 1usize; // the first run's length byte is at 0
    let mut ip = 0usize;
    let at = |i: usize| inp.get(i).map_or(0, |&b| u32::from(b));
    let mut hval = (at(0) << 8) | at(1);
    while let Some(&[b0, b1, c]) = inp.get(ip..ip + 3) {
        hval = (hval << 8) | u32::from(c);
        let h = idx(hval);
        // Slots of earlier calls hold numbers under `base` (and `base + in_len` does not
        // wrap), so they come out of the subtraction far above any position, as does
        // this call's `ip` itself; `off` then wraps past MAX_OFF (so `r < ip`).
        let r = slots[h].wrapping_sub(base) as usize;
        slots[h] = base + ip as u32;
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        let hit =
            off < MAX_OFF && r > 0 && matches!(inp.get(r..r + 3), Some(&[x, y, z]) if z == c && x == b0 && y == b1);
        if !hit {
            if op >= out_len {
                return false;
            }
            push_literal(o, &mut op, &mut lit, b0);
            ip += 1;
            continue;
        }
        let maxlen = (in_len - ip - 2).min(MAX_REF);
        if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
            return false;
        }
        put(o, op - lit - 1, (lit as u8).wrapping_sub(1));
        op -= usize::from(lit == 0);
        // liblzf's extension loop: past 16 more bytes it checks maxlen only after
        // the first 16 (unrolled), so a match may end a little past maxlen there.
        let mut len = if maxlen > 16 {
            match mismatch(inp, r, ip, 3, 19) {
                m if m < 19 => m,
                _ if maxlen <= 19 => 19,
                _ => mismatch(inp, r, ip, 19, maxlen),
            }
        } else {
            mismatch(inp, r, ip, 3, maxlen.max(3))
        };
        len -= 2;
        ip += 1;
        if len < 7 {
            put(o, op, ((off >> 8) + (len << 5)) as u8);
            op += 1;
        } else {
            put(o, op, ((off >> 8) + (7 << 5)) as u8);
            put(o, op + 1, (len - 7) as u8);
            op += 2;
        }
        put(o, op, off as u8);
        op += 2;
        lit = 0;
        ip += len + 1;
        if ip + 2 >= in_len {
            break;
        }
        (ip, hval) = enter_two(inp, slots, base, ip);
    }
    if op + 3 > out_len {
        return false;
    }
    while let Some(&b) = inp.get(ip) {
        push_literal(o, &mut op, &mut lit, b);
        ip += 1;
    }
    put(o, op - lit - 1, (lit as u8).wrapping_sub(1));
    op -= usize::from(lit == 0);
    out.truncate(op);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// liblzf's compressor transcribed byte by byte (positions numbered as in
    /// `compress_with`), to check the faster one against.
    fn reference(inp: &[u8], out_len: usize, slots: &mut [u32; HSIZE], base: u32) -> Option<Vec<u8>> {
        let n = inp.len();
        if n == 0 || out_len == 0 {
            return None;
        }
        let at = |i: usize| inp.get(i).copied().unwrap_or(0) as u32;
        let mut out = vec![0u8; out_len + 4];
        let (mut lit, mut op, mut ip) = (0usize, 1usize, 0usize);
        let mut hval = (at(0) << 8) | at(1);
        while ip + 2 < n {
            hval = (hval << 8) | at(ip + 2);
            let slot = &mut slots[idx(hval)];
            let r = slot.checked_sub(base).map(|r| r as usize);
            *slot = base + ip as u32;
            let hit = r.filter(|&r| r > 0 && r < ip && ip - r - 1 < MAX_OFF && inp[r..r + 3] == inp[ip..ip + 3]);
            let Some(r) = hit else {
                if op >= out_len {
                    return None;
                }
                push_literal(&mut out, &mut op, &mut lit, inp[ip]);
                ip += 1;
                continue;
            };
            let off = ip - r - 1;
            let maxlen = (n - ip - 2).min(MAX_REF);
            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            let mut len = 2;
            'extend: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if inp[r + len] != inp[ip + len] {
                            break 'extend;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && inp[r + len] == inp[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 2;
            lit = 0;
            ip += len + 1;
            if ip + 2 >= n {
                break;
            }
            (ip, hval) = enter_two(inp, slots, base, ip);
        }
        if op + 3 > out_len {
            return None;
        }
        while ip < n {
            push_literal(&mut out, &mut op, &mut lit, inp[ip]);
            ip += 1;
        }
        out[op - lit - 1] = (lit as u8).wrapping_sub(1);
        op -= usize::from(lit == 0);
        out.truncate(op);
        Some(out)
    }

    #[test]
    fn output_is_the_transcribed_compressors() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(77);
        let mut tables = [vec![0u32; HSIZE], vec![0u32; HSIZE]];
        let [a, b] = &mut tables;
        let a: &mut [u32; HSIZE] = a.as_mut_slice().try_into().unwrap();
        let b: &mut [u32; HSIZE] = b.as_mut_slice().try_into().unwrap();
        let mut base = 1u32;
        let mut reused = Vec::new();
        for i in 0..100_000 {
            // Few symbols, or repeats of a short random phrase with changes: short and
            // long matches, runs, and literals of every length.
            let n = rng.random_range(1..if i % 10 == 0 { 20_000 } else { 300 });
            let s: Vec<u8> = if i % 2 == 0 {
                let k = rng.random_range(1..40);
                (0..n).map(|_| rng.random_range(0..k) as u8).collect()
            } else {
                let phrase: Vec<u8> = (0..rng.random_range(1..40)).map(|_| rng.random()).collect();
                let p = rng.random_range(0.0..0.3);
                (0..n)
                    .map(|j| {
                        if rng.random_bool(p) {
                            rng.random()
                        } else {
                            phrase[j % phrase.len()]
                        }
                    })
                    .collect()
            };
            let out_len = rng.random_range(1..n + 40);
            assert_eq!(
                compress_with(&s, out_len, a, base, &mut reused).then(|| reused.clone()),
                reference(&s, out_len, b, base),
                "{s:?} {out_len}"
            );
            base += n as u32;
        }
    }

    #[test]
    fn mismatch_finds_the_first_differing_byte() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        for _ in 0..2000 {
            let n = rng.random_range(2..80);
            let inp: Vec<u8> = (0..n).map(|_| rng.random_range(0..2)).collect();
            let ip = rng.random_range(1..n);
            let r = rng.random_range(0..ip);
            let from = rng.random_range(0..4);
            let limit = rng.random_range(from..90);
            let got = mismatch(&inp, r, ip, from, limit);
            if ip + limit > n {
                assert_eq!(got, from);
                continue;
            }
            let want = (from..limit).find(|&i| inp[r + i] != inp[ip + i]).unwrap_or(limit);
            assert_eq!(got, want, "{inp:?} r={r} ip={ip} {from}..{limit}");
        }
    }

    #[test]
    fn round_trips_through_the_reference_decoder() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"abcabcabcabcabcabcabcabcabcabcabc".to_vec(),
            vec![b'x'; 10_000],
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab".to_vec(),
        ];
        let mut v = Vec::new();
        for i in 0..20_000u32 {
            v.extend_from_slice(format!("key:{} value:{} ", i % 97, i % 13).as_bytes());
        }
        samples.push(v);
        for s in samples {
            let c = compress(&s, s.len()).unwrap();
            assert!(c.len() < s.len());
            assert_eq!(lzf::decompress(&c, s.len()).unwrap(), s);
            assert_eq!(decompress(&c, s.len()).unwrap(), s);
        }
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let random: Vec<u8> = (0..1000).map(|_| rng.random()).collect();
        assert!(compress(&random, random.len() - 4).is_none());
    }

    #[test]
    fn numbering_that_would_wrap_starts_over_with_a_clean_table() {
        let s: Vec<u8> = b"abcdefgh".iter().cycle().take(300).copied().collect();
        let want = compress(&s, s.len()).unwrap();
        // A table full of numbers past the next call's.
        let junk: Vec<u8> = (0..5000u32).flat_map(|i| (i * 7919).to_le_bytes()).collect();
        compress(&junk, junk.len());
        TABLE.with(|t| t.borrow_mut().as_mut().unwrap().next = u32::MAX - 100);
        assert_eq!(compress(&s, s.len()).unwrap(), want);
        TABLE.with(|t| assert_eq!(t.borrow().as_ref().unwrap().next, 301));
        assert_eq!(compress(&s, s.len()).unwrap(), want);
    }

    #[test]
    fn decompression_agrees_with_the_reference_decoder() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        for _ in 0..3000 {
            // Compressible inputs of every size, and damaged or mis-sized payloads.
            let n = rng.random_range(1..3000);
            let k = rng.random_range(1..6);
            let s: Vec<u8> = if rng.random_bool(0.5) {
                (0..n).map(|_| b"abcdef"[rng.random_range(0..k)]).collect()
            } else {
                // Words: references from further back, literal runs of every length.
                let words = ["stream", "entry", "user:", "1234", "x", "0123456789abcdef", "score"];
                let mut s = Vec::new();
                while s.len() < n {
                    s.extend_from_slice(words[rng.random_range(0..words.len())].as_bytes());
                    if rng.random_bool(0.2) {
                        s.extend((0..rng.random_range(1..40)).map(|_| rng.random::<u8>()));
                    }
                }
                s
            };
            let Some(mut c) = compress(&s, s.len() + 64) else {
                continue;
            };
            assert_eq!(decompress(&c, s.len()).as_deref(), Some(&s[..]));
            assert_eq!(decompress(&c, s.len() + 1), None);
            assert_eq!(decompress(&c, s.len() - 1), None);
            let at = rng.random_range(0..c.len());
            c[at] = rng.random();
            if rng.random_bool(0.3) {
                c.truncate(rng.random_range(0..c.len()));
            }
            let want = lzf::decompress(&c, s.len()).ok().filter(|v| v.len() == s.len());
            assert_eq!(decompress(&c, s.len()), want, "{c:?}");
        }
    }

    #[test]
    fn output_is_the_bytes_redis_writes() {
        // As redis-server 7.0 DUMPs SET k <64 x>a and SET k <25 a>.
        let mut x = vec![b'x'; 64];
        x.push(b'a');
        assert_eq!(compress(&x, x.len() - 4).unwrap(), b"\x01xx\xe0\x34\x00\x01xa");
        let a = vec![b'a'; 25];
        assert_eq!(compress(&a, a.len() - 4).unwrap(), b"\x01aa\xe0\x0c\x00\x01aa");
        // Output that would just fit is refused by liblzf's check for room at a back
        // reference; Redis then stores the string as it is.
        let s = b"xabcabcabc";
        let full = compress(s, 100).unwrap();
        assert_eq!(full, b"\x03xabc\x40\x02\x01bc");
        assert!(compress(s, full.len()).is_none());
        assert_eq!(compress(s, full.len() + 1), Some(full));
    }
}
