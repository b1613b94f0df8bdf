//! Listpack: the compact encoding of small hashes and sorted sets. One contiguous
//! buffer `[count: u32 LE][entry]*`, each entry `[len: LEB128][bytes]`. Walked forward
//! only; small by design (a few hundred entries at most), so index operations are linear.
//! Invariant: `count` equals the number of entries and every length is in bounds; bytes
//! from untrusted sources enter only through `Lp::from_vec`, which checks both.

use super::ByteStore;

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

/// Appends one value (its length, then its bytes) to listpack bytes.
fn push_value(out: &mut Vec<u8>, v: &[u8]) {
    if let Ok(short @ 0..0x80) = u8::try_from(v.len()) {
        out.push(short);
    } else {
        let (len, n) = varint(v.len());
        out.extend_from_slice(len.get(..n).unwrap_or_default());
    }
    super::put_bytes(out, v);
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

    /// Byte offset of the first entry at a position multiple of `step` equal to `key`;
    /// the entries between are skipped unread. Redis compat: listpack.c lpFind.
    pub fn find_offset(&self, key: &[u8], step: usize) -> Option<usize> {
        let buf = self.0;
        let mut off = HDR;
        loop {
            let (s, e) = entry_at(buf, off)?;
            // Keys of one hash often share a prefix and differ at the end: the last
            // byte rejects most of them before a full comparison.
            if e - s == key.len() && (key.is_empty() || buf.get(e - 1) == key.last()) && buf.get(s..e) == Some(key) {
                return Some(off);
            }
            off = e;
            for _ in 1..step {
                off = entry_at(buf, off)?.1;
            }
        }
    }

    /// The entry at byte offset `off` and the offset of the one after it.
    pub fn entry(&self, off: usize) -> Option<(&'a [u8], usize)> {
        let (s, e) = entry_at(self.0, off)?;
        Some((self.0.get(s..e)?, e))
    }

    /// The first pair (entries 2i and 2i + 1: a hash field and its value, a member and
    /// its score) whose first entry equals `key`.
    pub fn find_pair(&self, key: &[u8]) -> Option<LpPair<'a>> {
        let start = self.find_offset(key, 2)?;
        let (_, value_at) = self.entry(start)?;
        let (value, end) = self.entry(value_at)?;
        Some(LpPair {
            start,
            value_at,
            value,
            end,
        })
    }
}

/// A pair found by `LpRef::find_pair`: byte offsets of its start, of its second entry
/// and of its end, and the second entry's bytes.
pub struct LpPair<'a> {
    pub start: usize,
    pub value_at: usize,
    pub value: &'a [u8],
    pub end: usize,
}

#[derive(Clone)]
pub struct LpIter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> LpIter<'a> {
    /// The next entry and the buffer from its start on (more bytes follow it there, which
    /// a writer may copy in one fixed-size move).
    #[inline]
    pub fn next_with_tail(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let (s, e) = entry_at(self.buf, self.off)?;
        self.off = e;
        let tail = self.buf.get(s..)?;
        Some((tail.get(..e - s)?, tail))
    }

    /// Byte offset of the next entry.
    pub fn offset(&self) -> usize {
        self.off
    }

    /// Steps over `k` entries without reading them; false (the iterator unmoved) if
    /// there are fewer.
    #[inline]
    pub fn advance(&mut self, k: usize) -> bool {
        let buf = self.buf;
        let mut off = self.off;
        for _ in 0..k {
            off = match buf.get(off) {
                Some(&b) if b < 0x80 => off + 1 + b as usize,
                Some(_) => match entry_at(buf, off) {
                    Some((_, e)) => e,
                    None => return false,
                },
                None => return false,
            };
        }
        if off > buf.len() {
            return false;
        }
        self.off = off;
        true
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

    #[inline]
    fn nth(&mut self, n: usize) -> Option<&'a [u8]> {
        if !self.advance(n) {
            self.off = self.buf.len();
            return None;
        }
        self.next()
    }
}

/// Writes `vals` as entries (length, bytes) into `out`, which holds exactly their size.
fn write_entries(out: &mut [u8], vals: &[&[u8]]) {
    let mut at = 0;
    for v in vals {
        let (hdr, hl) = varint(v.len());
        for part in [hdr.get(..hl).unwrap_or_default(), v] {
            if let Some(dst) = out.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
    }
}

fn entries_size(vals: &[&[u8]]) -> usize {
    vals.iter().map(|v| v.len() + varint_len(v.len())).sum()
}

/// An editable listpack; `Lp` alone owns its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lp<S: ByteStore = Vec<u8>>(S);

impl Default for Lp {
    fn default() -> Self {
        Self::new()
    }
}

impl Lp {
    pub fn new() -> Self {
        Lp(vec![0; HDR])
    }

    /// Calls `f` with the listpack of `vals`, encoded in a buffer this thread keeps between
    /// calls (no allocation once it has grown; one grown past 16 KB is given back).
    pub fn with_encoded<R>(vals: &[&[u8]], f: impl FnOnce(&[u8]) -> R) -> R {
        Self::with_scratch(|buf| Self::encode_into(vals, buf), f)
    }

    /// `with_encoded` for `n` values that `fill` hands, one at a time, to the function
    /// it is given (each may be a temporary).
    pub fn with_built<R>(n: usize, fill: impl FnOnce(&mut dyn FnMut(&[u8])), f: impl FnOnce(&[u8]) -> R) -> R {
        let build = |buf: &mut Vec<u8>| {
            buf.clear();
            buf.extend_from_slice(&(n as u32).to_le_bytes());
            let mut pushed = 0;
            fill(&mut |v: &[u8]| {
                push_value(buf, v);
                pushed += 1;
            });
            debug_assert_eq!(pushed, n, "values handed to with_built");
        };
        Self::with_scratch(build, f)
    }

    /// Calls `f` with what `build` wrote into a buffer this thread keeps between calls.
    fn with_scratch<R>(build: impl FnOnce(&mut Vec<u8>), f: impl FnOnce(&[u8]) -> R) -> R {
        thread_local! {
            static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut buf = SCRATCH.take();
        build(&mut buf);
        let r = f(&buf);
        if buf.capacity() <= 16 << 10 {
            SCRATCH.set(buf);
        }
        r
    }

    /// The listpack of `vals`, written into `out` (emptied first; its buffer is reused).
    pub fn encode_into(vals: &[&[u8]], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(HDR + vals.iter().map(|v| v.len() + varint_len(v.len())).sum::<usize>());
        out.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for v in vals {
            push_value(out, v);
        }
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

    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    pub fn mem_usage(&self) -> usize {
        self.0.capacity()
    }
}

impl<S: ByteStore> Lp<S> {
    /// Edits bytes known to be a valid listpack where they are.
    pub fn in_place(s: S) -> Self {
        Lp(s)
    }

    pub fn view(&self) -> LpRef<'_> {
        LpRef(self.0.bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.bytes()
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
        if let Some(h) = self.0.bytes_mut().get_mut(..HDR) {
            h.copy_from_slice(&(n as u32).to_le_bytes());
        }
    }

    pub fn push(&mut self, v: &[u8]) {
        let end = self.as_bytes().len();
        self.insert_at(end, &[v]);
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
        if !(HDR..=self.as_bytes().len()).contains(&off) {
            return false;
        }
        write_entries(self.0.splice_gap(off, off, entries_size(vals)), vals);
        let n = self.len() + vals.len();
        self.set_count(n);
        true
    }

    /// Removes the `entries` entries in bytes `start..end` (entry boundaries from
    /// `LpIter::offset`).
    pub fn remove_span(&mut self, start: usize, end: usize, entries: usize) {
        if HDR <= start && start <= end && end <= self.as_bytes().len() {
            self.0.splice_gap(start, end, 0);
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
            buf: self.as_bytes(),
            off: start,
        };
        let mut removed = 0;
        while removed < count && it.next().is_some() {
            removed += 1;
        }
        let end = it.off;
        self.remove_span(start, end, removed);
    }

    /// Replaces entry `idx`. False if out of range.
    pub fn replace(&mut self, idx: usize, v: &[u8]) -> bool {
        match self.offset_of(idx) {
            Some(off) => self.replace_at(off, v),
            None => false,
        }
    }

    /// Replaces the entry at byte offset `off` (an entry boundary); a value of the same
    /// size is written over the old one. False if no entry starts there.
    pub fn replace_at(&mut self, off: usize, v: &[u8]) -> bool {
        let Some((_, end)) = entry_at(self.as_bytes(), off) else {
            return false;
        };
        let size = entries_size(&[v]);
        let gap = if end - off == size {
            self.0.bytes_mut().get_mut(off..end).unwrap_or_default()
        } else {
            self.0.splice_gap(off, end, size)
        };
        write_entries(gap, &[v]);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn encode_into_writes_what_pushes_build() {
        let long = vec![b'x'; 300];
        let vals: [&[u8]; 4] = [b"", b"a", &long, b"12"];
        let mut lp = Lp::new();
        for v in vals {
            lp.push(v);
        }
        let mut out = vec![9; 3];
        Lp::encode_into(&vals, &mut out);
        assert_eq!(out, lp.as_bytes());
        // Twice through the kept buffer: a longer listpack, then a shorter one.
        assert_eq!(Lp::with_encoded(&vals, |b| b.to_vec()), lp.as_bytes());
        let mut one = Lp::new();
        one.push(b"a");
        assert_eq!(Lp::with_encoded(&vals[1..2], |b| b.to_vec()), one.as_bytes());
    }

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
        for i in 0..=model.len() + 1 {
            assert_eq!(lp.iter().nth(i), model.get(i).map(|v| &v[..]), "entry {i}");
        }
        let off = lp.view().find_offset(&model[3], 1).unwrap_or(0);
        let (found, _) = lp.view().entry(off).unwrap_or_default();
        assert_eq!(found, &model[3][..]);
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
