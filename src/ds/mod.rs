//! Protocol-free data structures the keyspace is built on.
pub mod dash;
pub mod defrag;
pub mod dict;
pub mod histogram;
pub mod hll;
pub mod ibytes;
pub mod intset;
pub mod listpack;
pub mod quicklist;
pub mod stream;
pub mod ztree;

/// Appends `s`; one of up to 16 bytes (most members, fields and values of small collections
/// and streams) with a few fixed-size moves rather than a call to copy them.
#[inline(always)]
pub fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n > 16 {
        out.extend_from_slice(s);
        return;
    }
    let start = out.len();
    out.extend_from_slice(&[0u8; 16]);
    if let Some(d) = out.get_mut(start..start + n) {
        // Two moves that overlap when `n` is under twice their size.
        if let (Some(a), Some(b), Some(da)) = (s.first_chunk::<8>(), s.last_chunk::<8>(), d.first_chunk_mut::<8>()) {
            *da = *a;
            if let Some(db) = d.last_chunk_mut::<8>() {
                *db = *b;
            }
        } else if let (Some(a), Some(b), Some(da)) =
            (s.first_chunk::<4>(), s.last_chunk::<4>(), d.first_chunk_mut::<4>())
        {
            *da = *a;
            if let Some(db) = d.last_chunk_mut::<4>() {
                *db = *b;
            }
        } else {
            for i in [0, n / 2, n.saturating_sub(1)] {
                if let (Some(x), Some(y)) = (d.get_mut(i), s.get(i)) {
                    *x = *y;
                }
            }
        }
    }
    out.truncate(start + n);
}

/// Where the bytes of an editable packed structure (listpack, intset) live: a `Vec` of
/// its own, or the payload of a keyspace entry edited in place (`db::obj::PackedMut`).
pub trait ByteStore {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Replaces bytes `start..end` (in bounds, start <= end) with `len` zero bytes and
    /// returns them for the caller to fill.
    fn splice_gap(&mut self, start: usize, end: usize, len: usize) -> &mut [u8];
}

impl ByteStore for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    fn splice_gap(&mut self, start: usize, end: usize, len: usize) -> &mut [u8] {
        let old = self.len();
        let (start, end) = (start.min(old), end.clamp(start.min(old), old));
        let new_end = start + len;
        if new_end > end {
            self.resize(old + (new_end - end), 0);
            self.copy_within(end..old, new_end);
        } else {
            self.copy_within(end..old, new_end);
            self.truncate(old - (end - new_end));
        }
        let gap = self.get_mut(start..new_end).unwrap_or_default();
        gap.fill(0);
        gap
    }
}
