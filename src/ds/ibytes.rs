//! Bytes of any length in 16 bytes: up to 15 of them inline, longer ones in a block of
//! their own (its address and length). A set member of up to 15 bytes (ids, numbers,
//! short names) then costs no block beside its table node, and a lookup compares it
//! without a cache miss on another block. The last byte tells the two apart: the
//! length when inline, `HEAP` otherwise.
use std::alloc::Layout;
use std::ptr::NonNull;

/// The most bytes kept inline.
pub const INLINE: usize = 15;
/// The tag byte of a value on the heap (an inline length is at most `INLINE`).
const HEAP: u8 = 0xFF;

#[repr(C)]
#[derive(Clone, Copy)]
struct Heap {
    ptr: NonNull<u8>,
    /// The length, little endian (lengths are far below 2^56).
    len: [u8; 7],
    tag: u8,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Inline {
    data: [u8; INLINE],
    len: u8,
}

/// Both forms are 16 bytes without padding, and their last byte is the tag.
#[repr(C)]
union Repr {
    heap: Heap,
    inline: Inline,
}

pub struct IBytes(Repr);

// Safety: an IBytes owns its block alone, as a Box<[u8]> does.
unsafe impl Send for IBytes {}
// Safety: shared access only reads the bytes.
unsafe impl Sync for IBytes {}

fn layout(len: usize) -> Layout {
    Layout::array::<u8>(len).unwrap_or(Layout::new::<u8>())
}

impl IBytes {
    pub fn new(b: &[u8]) -> Self {
        Self::concat(&[b])
    }

    /// The bytes of `parts` one after another, written where they will stay.
    pub fn concat(parts: &[&[u8]]) -> Self {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len <= INLINE {
            let mut data = [0u8; INLINE];
            let mut at = 0;
            for p in parts {
                if let Some(d) = data.get_mut(at..at + p.len()) {
                    d.copy_from_slice(p);
                }
                at += p.len();
            }
            return IBytes(Repr {
                inline: Inline { data, len: len as u8 },
            });
        }
        let l = layout(len);
        // Safety: a non-zero size (longer than INLINE).
        let p = unsafe { std::alloc::alloc(l) };
        let Some(ptr) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(l)
        };
        let mut at = 0;
        for part in parts {
            // Safety: the new block holds `len` bytes, the sum of the parts' lengths, and
            // is none of them.
            unsafe { std::ptr::copy_nonoverlapping(part.as_ptr(), ptr.as_ptr().add(at), part.len()) };
            at += part.len();
        }
        Self::heap(ptr, len)
    }

    /// Takes over `v`'s block when it is longer than `INLINE` (shrunk to its length
    /// first if it has spare room).
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            return Self::new(&v);
        }
        let b = std::mem::ManuallyDrop::new(v.into_boxed_slice());
        let len = b.len();
        // A boxed slice is one block of Layout::array::<u8>(len), now ours to free.
        match NonNull::new(b.as_ptr() as *mut u8) {
            Some(ptr) => Self::heap(ptr, len),
            None => Self::new(&[]),
        }
    }

    fn heap(ptr: NonNull<u8>, len: usize) -> Self {
        let mut l = [0u8; 7];
        l.copy_from_slice(&(len as u64).to_le_bytes()[..7]);
        IBytes(Repr {
            heap: Heap { ptr, len: l, tag: HEAP },
        })
    }

    /// The block and its length, when the bytes are not inline.
    #[inline]
    fn on_heap(&self) -> Option<(NonNull<u8>, usize)> {
        // Safety: both forms are plain bytes with the tag last; the heap form is read
        // only when the tag says it is that one.
        unsafe {
            if self.0.inline.len != HEAP {
                return None;
            }
            let h = self.0.heap;
            let mut l = [0u8; 8];
            l[..7].copy_from_slice(&h.len);
            Some((h.ptr, u64::from_le_bytes(l) as usize))
        }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self.on_heap() {
            // Safety: the block holds `len` initialized bytes for as long as self lives.
            Some((p, len)) => unsafe { std::slice::from_raw_parts(p.as_ptr(), len) },
            None => {
                // Safety: the inline form (the tag is not HEAP).
                let i = unsafe { &self.0.inline };
                i.data.get(..i.len as usize).unwrap_or_default()
            }
        }
    }

    #[inline]
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self.on_heap() {
            // Safety: the block holds `len` initialized bytes, owned by self alone.
            Some((p, len)) => unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), len) },
            None => {
                // Safety: the inline form (the tag is not HEAP).
                let i = unsafe { &mut self.0.inline };
                let n = i.len as usize;
                i.data.get_mut(..n).unwrap_or_default()
            }
        }
    }

    /// The first `n` bytes (all of them if fewer), borrowed alone: the rest may be read
    /// through an address taken before.
    pub fn prefix_mut(&mut self, n: usize) -> &mut [u8] {
        match self.on_heap() {
            // Safety: the block holds `len` initialized bytes, owned by self alone; only the
            // first min(n, len) are borrowed.
            Some((p, len)) => unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), n.min(len)) },
            None => {
                let b = self.as_bytes_mut();
                let n = n.min(b.len());
                b.get_mut(..n).unwrap_or_default()
            }
        }
    }

    /// The address of the block, for a prefetch (None when inline).
    #[inline]
    pub fn block_addr(&self) -> Option<*const u8> {
        self.on_heap().map(|(p, _)| p.as_ptr() as *const u8)
    }

    /// Bytes of the block (0 when inline).
    pub fn heap_bytes(&self) -> usize {
        self.on_heap().map_or(0, |(_, len)| len)
    }

    /// Active defragmentation of the block, if any.
    pub fn defrag(&mut self, d: &mut super::defrag::Defrag) {
        if let Some((p, len)) = self.on_heap() {
            // Safety: the block was allocated with exactly this layout, and self holds
            // the only pointer to it, replaced below.
            if let Some(q) = unsafe { d.raw(p.as_ptr(), layout(len)) } {
                // The old block is already freed: the old value is forgotten, not dropped.
                std::mem::forget(std::mem::replace(self, Self::heap(q, len)));
            }
        }
    }
}

impl Drop for IBytes {
    fn drop(&mut self) {
        if let Some((p, len)) = self.on_heap() {
            // Safety: the block was allocated with this layout and is freed once.
            unsafe { std::alloc::dealloc(p.as_ptr(), layout(len)) };
        }
    }
}

impl Clone for IBytes {
    fn clone(&self) -> Self {
        Self::new(self.as_bytes())
    }
}

impl PartialEq for IBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for IBytes {}

impl std::fmt::Debug for IBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bytes_and_every_length_round_trips() {
        assert_eq!(std::mem::size_of::<IBytes>(), 16);
        for n in 0..200usize {
            let b: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
            let a = IBytes::new(&b);
            let v = IBytes::from_vec(b.clone());
            let mut spare = Vec::with_capacity(n + 9);
            spare.extend_from_slice(&b);
            let s = IBytes::from_vec(spare);
            let (h, t) = b.split_at(n / 3);
            assert_eq!(IBytes::concat(&[h, t]).as_bytes(), &b[..]);
            let mut m = a.clone();
            if let Some(x) = m.as_bytes_mut().first_mut() {
                *x ^= 1;
            }
            assert_eq!(m.as_bytes().len(), n);
            assert_eq!(m == a, n == 0);
            for x in [&a, &v, &s, &a.clone()] {
                assert_eq!(x.as_bytes(), &b[..]);
                assert_eq!(x.block_addr().is_some(), n > INLINE);
                assert_eq!(x.heap_bytes(), if n > INLINE { n } else { 0 });
            }
            assert_eq!(a, v);
        }
        // A last inline byte of 0xFF is data, not the tag.
        let b = [0xFFu8; INLINE];
        assert_eq!(IBytes::new(&b).as_bytes(), &b);
        assert_ne!(IBytes::new(b"ab"), IBytes::new(b"ab\0"));
    }
}
