//! Bit-level helpers for bitmap commands: population count, first set/clear bit, and
//! big-endian bit fields of 1..64 bits at any bit offset (bit 0 = MSB of byte 0). Reads
//! past the end of a buffer see zeros; writes never go past its end.

/// Number of set bits. Uses the POPCNT instruction when the CPU has it.
pub fn popcount(b: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // Safety: the CPU supports the feature the function is compiled for.
            return unsafe { popcount_popcnt(b) };
        }
    }
    popcount_words(b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn popcount_popcnt(b: &[u8]) -> u64 {
    popcount_words(b)
}

#[inline(always)]
fn popcount_words(b: &[u8]) -> u64 {
    // Four independent accumulators keep the popcount units busy.
    let mut acc = [0u64; 4];
    let mut chunks = b.chunks_exact(32);
    for c in &mut chunks {
        for (i, w) in c.chunks_exact(8).enumerate() {
            if let Some(a) = acc.get_mut(i) {
                *a += load(w).count_ones() as u64;
            }
        }
    }
    let tail: u64 = chunks.remainder().iter().map(|x| x.count_ones() as u64).sum();
    acc.iter().sum::<u64>() + tail
}

/// The first 8 bytes of `w` as a native-endian word (zeros when shorter).
pub fn load(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = w.get(..8) {
        a.copy_from_slice(s);
    }
    u64::from_ne_bytes(a)
}

/// Position (in bits from the start of `bytes`) of the first bit equal to `bit`, after
/// `edge` has adjusted the first and last byte (it gets the byte index and value).
pub fn find_bit(bytes: &[u8], bit: bool, edge: impl Fn(usize, u8) -> u8) -> Option<usize> {
    let at = |i: usize, b: u8| {
        let hit = if bit { b != 0 } else { b != 0xff };
        hit.then(|| i * 8 + if bit { b.leading_zeros() } else { b.leading_ones() } as usize)
    };
    let (&first, rest) = bytes.split_first()?;
    if let Some(p) = at(0, edge(0, first)) {
        return Some(p);
    }
    let (&last, interior) = rest.split_last()?;
    // Whole 64-byte blocks that cannot hold the bit are skipped eight words at a time (the
    // folds compile to vector ORs and ANDs); the block that can is searched a byte at a time.
    let mut from = 0;
    for block in interior.chunks_exact(64) {
        let words = block.chunks_exact(8).map(load);
        let skip = if bit {
            words.fold(0, |a, w| a | w) == 0
        } else {
            words.fold(u64::MAX, |a, w| a & w) == u64::MAX
        };
        if !skip {
            break;
        }
        from += 64;
    }
    let tail = interior.get(from..).unwrap_or_default();
    if let Some(p) = tail.iter().enumerate().find_map(|(j, &b)| at(1 + from + j, b)) {
        return Some(p);
    }
    at(bytes.len() - 1, edge(bytes.len() - 1, last))
}

/// Up to 9 bytes starting at `byte`, zero padded, as the top of a big-endian u128.
fn window(s: &[u8], byte: usize) -> u128 {
    let mut w = 0u128;
    for i in 0..9 {
        let b = byte.checked_add(i).and_then(|p| s.get(p)).copied().unwrap_or(0);
        w |= (b as u128) << (120 - 8 * i);
    }
    w
}

/// Reads a `bits`-wide field at bit `offset`, sign-extended when `signed`.
pub fn get_field(s: &[u8], offset: u64, bits: u32, signed: bool) -> i64 {
    let bits = bits.clamp(1, 64);
    let w = window(s, (offset >> 3) as usize) << (offset & 7);
    let v = (w >> (128 - bits)) as u64;
    if signed && bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` (bytes past the end of `s`
/// are left out; callers grow `s` first).
pub fn set_field(s: &mut [u8], offset: u64, bits: u32, value: i64) {
    let bits = bits.clamp(1, 64);
    let byte = (offset >> 3) as usize;
    let shift = 128 - bits - (offset & 7) as u32;
    let mask = (u128::MAX >> (128 - bits)) << shift;
    let w = (window(s, byte) & !mask) | (((value as u64 as u128) << shift) & mask);
    for i in 0..9 {
        if let Some(b) = byte.checked_add(i).and_then(|p| s.get_mut(p)) {
            *b = (w >> (120 - 8 * i)) as u8;
        }
    }
}

/// Adds `incr` to `value` as a `bits`-wide integer. Returns the stored result and
/// whether it overflowed: then the result wraps, or saturates when `sat`. Unsigned
/// values travel as their two's complement bit pattern. Redis compat: bitops.c
/// checkUnsignedBitfieldOverflow / checkSignedBitfieldOverflow.
pub fn field_add(value: i64, incr: i64, bits: u32, signed: bool, sat: bool) -> (i64, bool) {
    let bits = bits.clamp(1, 64);
    let wrap = |c: u64| -> i64 {
        if bits >= 64 {
            return c as i64;
        }
        let mask = u64::MAX << bits;
        if signed && c & (1 << (bits - 1)) != 0 {
            (c | mask) as i64
        } else {
            (c & !mask) as i64
        }
    };
    let sum = (value as u64).wrapping_add(incr as u64);
    if signed {
        let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
        let min = -max - 1;
        let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
        let minincr = min.wrapping_sub(value);
        let over = value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr);
        let under = value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr);
        match (over, under) {
            (true, _) => (if sat { max } else { wrap(sum) }, true),
            (_, true) => (if sat { min } else { wrap(sum) }, true),
            _ => (value.wrapping_add(incr), false),
        }
    } else {
        let v = value as u64;
        let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
        let maxincr = max.wrapping_sub(v) as i64;
        let minincr = v.wrapping_neg() as i64;
        if v > max || (incr > 0 && incr > maxincr) {
            (if sat { max as i64 } else { wrap(sum) }, true)
        } else if incr < 0 && incr < minincr {
            (if sat { 0 } else { wrap(sum) }, true)
        } else {
            (sum as i64, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_get(s: &[u8], off: u64, bits: u32) -> u64 {
        let mut v = 0u64;
        for i in 0..bits as u64 {
            let o = off + i;
            let b = s.get((o >> 3) as usize).map(|b| (b >> (7 - (o & 7))) & 1).unwrap_or(0);
            v = (v << 1) | b as u64;
        }
        v
    }

    #[test]
    fn popcount_matches_naive() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for len in [0, 1, 7, 8, 31, 32, 33, 100, 1000] {
            let want: u64 = data[..len].iter().map(|b| b.count_ones() as u64).sum();
            assert_eq!(popcount(&data[..len]), want);
        }
    }

    #[test]
    fn fields_round_trip() {
        let mut s = vec![0u8; 20];
        let mut x = 0x1234_5678_9abc_def1u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bits = (x % 64) as u32 + 1;
            let off = (x >> 8) % 90;
            let before = s.clone();
            set_field(&mut s, off, bits, (x >> 3) as i64);
            let want = if bits == 64 {
                x >> 3
            } else {
                (x >> 3) & ((1 << bits) - 1)
            };
            assert_eq!(naive_get(&s, off, bits), want);
            assert_eq!(get_field(&s, off, bits, false) as u64, want);
            // Bits outside the field are untouched.
            for o in (0..off).chain(off + bits as u64..160) {
                assert_eq!(naive_get(&s, o, 1), naive_get(&before, o, 1));
            }
        }
        assert_eq!(get_field(&[0xff], 4, 8, true), -16);
        assert_eq!(get_field(&[0xff], 0, 8, false), 255);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(field_add(100, 100, 8, false, false), (200, false));
        assert_eq!(field_add(200, 100, 8, false, false), (44, true));
        assert_eq!(field_add(200, 100, 8, false, true), (255, true));
        assert_eq!(field_add(10, -20, 8, false, true), (0, true));
        assert_eq!(field_add(10, -20, 8, false, false), (246, true));
        assert_eq!(field_add(100, 100, 8, true, false), (-56, true));
        assert_eq!(field_add(100, 100, 8, true, true), (127, true));
        assert_eq!(field_add(-100, -100, 8, true, true), (-128, true));
        assert_eq!(field_add(i64::MAX, 1, 64, true, true), (i64::MAX, true));
        assert_eq!(field_add(i64::MAX, 1, 64, true, false), (i64::MIN, true));
        assert_eq!(field_add(-1, 0, 8, false, true), (255, true));
    }

    #[test]
    fn find_bit_edges() {
        let id = |_: usize, b: u8| b;
        assert_eq!(find_bit(&[0, 0, 0x10], true, id), Some(19));
        assert_eq!(find_bit(&[0xff; 40], false, id), None);
        let mut v = vec![0xffu8; 40];
        v[33] = 0xfe;
        assert_eq!(find_bit(&v, false, id), Some(33 * 8 + 7));
        assert_eq!(find_bit(&[0x80], true, |_, b| b & 0x7f), None);
    }

    #[test]
    fn find_bit_matches_a_bit_by_bit_search() {
        // Buffers of every length up to 300 bytes, all zeros or all ones but one byte, the
        // odd byte anywhere (edges, inside a 64-byte block, in the tail), edges masked.
        let mut seed = 7u64;
        for n in 0..300usize {
            for bit in [false, true] {
                let fill = if bit { 0 } else { 0xff };
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let odd = (seed >> 33) as usize % (n + 1);
                let mut v = vec![fill; n];
                if let Some(b) = v.get_mut(odd) {
                    *b = (seed >> 13) as u8;
                }
                let edge = |i: usize, b: u8| {
                    let m = if i == 0 { 0xc0 } else { 0 } | if i + 1 == n { 0x03 } else { 0 };
                    if bit {
                        b & !m
                    } else {
                        b | m
                    }
                };
                let naive = (0..n * 8).find(|&p| {
                    let b = edge(p / 8, v[p / 8]);
                    (b >> (7 - p % 8)) & 1 == u8::from(bit)
                });
                assert_eq!(find_bit(&v, bit, edge), naive, "n={n} bit={bit} odd={odd}");
            }
        }
    }
}
