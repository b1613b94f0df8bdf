//! Listpack: the compact encoding of small hashes and sorted sets. One contiguous
//! buffer `[count: u32 LE][entry]*`, each entry `[len: LEB128][bytes]`. Walked forward
//! only; small by design (a few hundred entries at most), so index operations are linear.
//! Invariant: `count` equals the number of entries and every length is in bounds; bytes
//! from untrusted sources enter only through `Lp::from_vec`, which checks both.

const HDR: usize = 4;

fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// LEB128 bytes of `n` and how many there are.
fn varint(mut n: usize) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let mut l = 0;
    while n >= 0x80 && l < 9 {
        out[l] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        l += 1;
    }
    out[l] = n as u8;
    (out, l + 1)
}

fn put_varint(out: &mut Vec<u8>, n: usize) {
    let (b, l) = varint(n);
    out.extend_from_slice(b.get(..l).unwrap_or_default());
}

/// Decodes the entry at `off`: (payload start, payload end).
#[inline]
fn entry_at(buf: &[u8], off: usize) -> Option<(usize, usize)> {
    let first = *buf.get(off)?;
    if first < 0x80 {
        // Entries under 128 bytes: a one-byte length.
        let end = off + 1 + first as usize;
        return (end <= buf.len()).then_some((off + 1, end));
    }
    let mut n: usize = 0;
    let mut shift = 0u32;
    let mut p = off;
    loop {
        let b = *buf.get(p)?;
        p += 1;
        n |= ((b & 0x7f) as usize).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 35 {
            return None;
        }
    }
    let end = p.checked_add(n)?;
    (end <= buf.len()).then_some((p, end))
}

/// A read view of listpack bytes (inside a keyspace entry or an owned `Lp`).
#[derive(Clone, Copy)]
pub struct LpRef<'a>(&'a [u8]);

impl<'a> LpRef<'a> {
    /// Bytes known to be a valid listpack (produced by `Lp`).
    pub fn new(b: &'a [u8]) -> Self {
        LpRef(b)
    }

    pub fn len(&self) -> usize {
        self.0
            .get(..HDR)
            .map(|h| u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize)
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    pub fn iter(&self) -> LpIter<'a> {
        LpIter { buf: self.0, off: HDR }
    }

    pub fn get(&self, idx: usize) -> Option<&'a [u8]> {
        self.iter().nth(idx)
    }

    /// Index of the first entry at a position multiple of `step` equal to `key` (hash
    /// fields at even positions: step 2), or None.
    pub fn find(&self, key: &[u8], step: usize) -> Option<usize> {
        let step = step.max(1);
        self.iter().step_by(step).position(|e| e == key).map(|i| i * step)
    }
}

pub struct LpIter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl LpIter<'_> {
    /// Byte offset of the next entry.
    pub fn offset(&self) -> usize {
        self.off
    }
}

impl<'a> Iterator for LpIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let (s, e) = entry_at(self.buf, self.off)?;
        self.off = e;
        self.buf.get(s..e)
    }
}

/// An owned, editable listpack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lp(Vec<u8>);

impl Default for Lp {
    fn default() -> Self {
        Self::new()
    }
}

impl Lp {
    pub fn new() -> Self {
        Lp(vec![0; HDR])
    }

    /// Adopts bytes after checking the structure (untrusted input).
    pub fn from_vec(v: Vec<u8>) -> Option<Self> {
        let r = LpRef(&v);
        if v.len() < HDR {
            return None;
        }
        let mut it = r.iter();
        let mut n = 0usize;
        while it.off < v.len() {
            it.next()?;
            n += 1;
        }
        (n == r.len()).then_some(Lp(v))
    }

    /// Copies bytes known to be valid (from a keyspace entry).
    pub fn from_trusted(b: &[u8]) -> Self {
        if b.len() < HDR {
            return Self::new();
        }
        Lp(b.to_vec())
    }

    pub fn view(&self) -> LpRef<'_> {
        LpRef(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> LpIter<'_> {
        self.view().iter()
    }

    fn set_count(&mut self, n: usize) {
        if let Some(h) = self.0.get_mut(..HDR) {
            h.copy_from_slice(&(n as u32).to_le_bytes());
        }
    }

    pub fn push(&mut self, v: &[u8]) {
        put_varint(&mut self.0, v.len());
        self.0.extend_from_slice(v);
        let n = self.len() + 1;
        self.set_count(n);
    }

    /// Byte offset of entry `idx` (== buffer length when idx == len).
    fn offset_of(&self, idx: usize) -> Option<usize> {
        let mut it = self.iter();
        for _ in 0..idx {
            it.next()?;
        }
        Some(it.off)
    }

    /// Inserts entries before entry `idx` (idx == len appends). False if out of range.
    pub fn insert(&mut self, idx: usize, vals: &[&[u8]]) -> bool {
        match self.offset_of(idx) {
            Some(off) => self.insert_at(off, vals),
            None => false,
        }
    }

    /// Inserts entries at byte offset `off`, an entry boundary (`LpIter::offset`) or the end.
    /// False if `off` is past the end.
    pub fn insert_at(&mut self, off: usize, vals: &[&[u8]]) -> bool {
        if !(HDR..=self.0.len()).contains(&off) {
            return false;
        }
        let size: usize = vals.iter().map(|v| v.len() + varint_len(v.len())).sum();
        let old = self.0.len();
        self.0.resize(old + size, 0);
        self.0.copy_within(off..old, off + size);
        let mut at = off;
        for v in vals {
            let (hdr, hl) = varint(v.len());
            for part in [hdr.get(..hl).unwrap_or_default(), v] {
                if let Some(dst) = self.0.get_mut(at..at + part.len()) {
                    dst.copy_from_slice(part);
                }
                at += part.len();
            }
        }
        let n = self.len() + vals.len();
        self.set_count(n);
        true
    }

    /// Removes the `entries` entries in bytes `start..end` (entry boundaries from
    /// `LpIter::offset`).
    pub fn remove_span(&mut self, start: usize, end: usize, entries: usize) {
        if HDR <= start && start <= end && end <= self.0.len() {
            self.0.drain(start..end);
            let n = self.len().saturating_sub(entries);
            self.set_count(n);
        }
    }

    /// Removes `count` entries starting at `idx` (clamped to the end).
    pub fn remove(&mut self, idx: usize, count: usize) {
        let Some(start) = self.offset_of(idx) else {
            return;
        };
        let mut it = LpIter {
            buf: &self.0,
            off: start,
        };
        let mut removed = 0;
        while removed < count && it.next().is_some() {
            removed += 1;
        }
        let end = it.off;
        self.0.drain(start..end);
        let n = self.len() - removed;
        self.set_count(n);
    }

    /// Replaces entry `idx`. False if out of range.
    pub fn replace(&mut self, idx: usize, v: &[u8]) -> bool {
        let Some(off) = self.offset_of(idx) else {
            return false;
        };
        let Some((_, end)) = entry_at(&self.0, off) else {
            return false;
        };
        let mut enc = Vec::with_capacity(v.len() + varint_len(v.len()));
        put_varint(&mut enc, v.len());
        enc.extend_from_slice(v);
        self.0.splice(off..end, enc);
        true
    }

    pub fn mem_usage(&self) -> usize {
        self.0.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn edits_by_byte_offset() {
        let mut lp = Lp::new();
        for v in [&b"a"[..], &[b'x'; 200], b"c"] {
            lp.push(v);
        }
        let mut it = lp.iter();
        it.next();
        let second = it.offset();
        assert!(lp.insert_at(second, &[b"new", &[b'y'; 300]]));
        let all: Vec<Vec<u8>> = lp.iter().map(<[u8]>::to_vec).collect();
        assert_eq!(
            all,
            [
                b"a".to_vec(),
                b"new".to_vec(),
                vec![b'y'; 300],
                vec![b'x'; 200],
                b"c".to_vec()
            ]
        );
        assert_eq!(lp.len(), 5);
        assert!(!lp.insert_at(lp.as_bytes().len() + 1, &[b"z"]));
        assert!(!lp.insert_at(2, &[b"z"]), "inside the header");
        // The two entries inserted, by their byte span.
        let end = second + (1 + 3) + (2 + 300);
        lp.remove_span(second, end, 2);
        let all: Vec<Vec<u8>> = lp.iter().map(<[u8]>::to_vec).collect();
        assert_eq!(all, [b"a".to_vec(), vec![b'x'; 200], b"c".to_vec()]);
        assert_eq!(lp.len(), 3);
        lp.remove_span(5, 2, 1);
        assert_eq!(lp.len(), 3, "a reversed span changes nothing");
        assert!(Lp::from_vec(lp.into_vec()).is_some());
    }

    #[test]
    fn edits_match_a_vec_model() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut lp = Lp::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for _ in 0..5000 {
            let len = [0usize, 1, 5, 127, 128, 300][rng.random_range(0..6)];
            let v: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            match rng.random_range(0..4) {
                0 => {
                    lp.push(&v);
                    model.push(v);
                }
                1 => {
                    let i = rng.random_range(0..=model.len());
                    assert!(lp.insert(i, &[&v, b"x"]));
                    model.insert(i, v);
                    model.insert(i + 1, b"x".to_vec());
                }
                2 if !model.is_empty() => {
                    let i = rng.random_range(0..model.len());
                    let n = rng.random_range(1..4);
                    lp.remove(i, n);
                    model.drain(i..(i + n).min(model.len()));
                }
                _ if !model.is_empty() => {
                    let i = rng.random_range(0..model.len());
                    assert!(lp.replace(i, &v));
                    model[i] = v;
                }
                _ => {}
            }
            if model.len() > 60 {
                lp.remove(0, 30);
                model.drain(0..30);
            }
            assert_eq!(lp.len(), model.len());
        }
        let got: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        assert_eq!(got, model);
        assert!(Lp::from_vec(lp.clone().into_vec()).is_some());
        assert_eq!(lp.view().find(&model[2], 1).map(|i| model[i] == model[2]), Some(true));
    }

    #[test]
    fn from_vec_rejects_garbage() {
        assert!(Lp::from_vec(vec![1, 0, 0]).is_none());
        assert!(Lp::from_vec(vec![1, 0, 0, 0, 5, b'a']).is_none());
        assert!(Lp::from_vec(vec![2, 0, 0, 0, 1, b'a']).is_none());
        assert!(Lp::from_vec(vec![1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(Lp::from_vec(vec![1, 0, 0, 0, 1, b'a']).is_some());
        assert!(!lp_out_of_range());
    }

    fn lp_out_of_range() -> bool {
        let mut lp = Lp::new();
        lp.push(b"a");
        lp.insert(5, &[b"b"]) || lp.replace(1, b"c")
    }
}
