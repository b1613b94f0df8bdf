//! LZF compression in the format Redis's lzf_d.c (and the `lzf` crate) decode: literal
//! runs of 1..=32 bytes (`[len-1][bytes]`) and back references of 3..=264 bytes within
//! 8 KB (`[len-2:3 | off>>8:5][len-9 if len-2 >= 7][off & 0xff]`, off = distance-1).
//! Ours because the `lzf` crate zeroes a 256 KB hash table per call, which made SAVE of
//! many small values ~50x slower; the table here is sized to the input.
const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn hash3(b: &[u8]) -> usize {
    let v = b.iter().take(3).fold(0u32, |acc, &x| (acc << 8) | x as u32);
    (v.wrapping_mul(2654435761) >> 16) as usize
}

fn push_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for chunk in lit.chunks(MAX_LIT) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

/// Compresses `inp`; None when the result would be longer than `max_out` bytes.
pub fn compress(inp: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = inp.len();
    if n < 4 {
        return None;
    }
    let size = n.min(1 << 14).next_power_of_two().max(64);
    let mask = size - 1;
    // Positions plus one; zero means empty.
    let mut table = vec![0u32; size];
    let mut out = Vec::with_capacity(max_out.min(n) + 8);
    let mut lit_start = 0;
    let mut i = 0;
    while let Some(w) = inp.get(i..i + 3) {
        let slot = table.get_mut(hash3(w) & mask)?;
        let cand = *slot as usize;
        *slot = (i + 1) as u32;
        if cand != 0 {
            let c = cand - 1;
            let dist = i - c;
            if dist <= MAX_OFF && inp.get(c..c + 3) == Some(w) {
                let max_len = MAX_REF.min(n - i);
                let mut l = 3;
                while l < max_len && inp.get(c + l) == inp.get(i + l) {
                    l += 1;
                }
                push_literals(&mut out, inp.get(lit_start..i).unwrap_or_default());
                let off = dist - 1;
                let code = l - 2;
                if code < 7 {
                    out.push(((code << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((code - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                if out.len() > max_out {
                    return None;
                }
                // Index the second position of the match too: cheap, helps repeats.
                if let Some(w2) = inp.get(i + 1..i + 4) {
                    if let Some(s2) = table.get_mut(hash3(w2) & mask) {
                        *s2 = (i + 2) as u32;
                    }
                }
                i += l;
                lit_start = i;
                continue;
            }
        }
        i += 1;
        if out.len() + (i - lit_start) > max_out + MAX_LIT {
            return None;
        }
    }
    push_literals(&mut out, inp.get(lit_start..).unwrap_or_default());
    (out.len() <= max_out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let random: Vec<u8> = (0..1000).map(|_| rng.random()).collect();
        assert!(compress(&random, random.len() - 4).is_none());
    }
}
