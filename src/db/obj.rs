//! Obj: one keyspace entry in a single heap block: header, key bytes, then either an
//! inline string (the `int`/`embstr` encodings) or a pointer to a boxed `Value` (raw
//! strings and collections). One pointer per table slot, one allocation per small key.
//! All unsafe code of the keyspace lives here; the layout is private to this file.
use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;

use super::value::{Value, ValueRef};
use crate::ds::dash::DashKey;
use crate::ds::intset::IntSetRef;
use crate::ds::listpack::LpRef;
use crate::ds::ByteStore;

/// Redis compat: object.c OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
pub const EMBSTR_MAX: usize = 44;
/// Strings up to this size are stored in the entry's own block even when Redis calls
/// them `raw`: one allocation instead of three (entry, boxed value, bytes), which is
/// most of the per-key overhead of typical cache values. In-place edits (APPEND,
/// SETRANGE, SETBIT) move them to the heap first.
pub const RAW_INLINE_MAX: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Enc {
    /// Inline string holding a canonical decimal integer.
    Int = 0,
    /// Inline string.
    Embstr = 1,
    /// Heap value (raw string or any collection's full encoding).
    Heap = 2,
    /// Inline listpack of a small hash (field, value, field, value ...).
    HashLp = 3,
    /// Inline listpack of a small sorted set (member, score, ...) in score order.
    ZsetLp = 4,
    /// Inline intset of a small integer-only set.
    IntSet = 5,
    /// Inline string longer than `embstr` (reported as `raw`).
    RawInline = 6,
    /// Inline listpack of a small set with a member that is not an integer (reported as
    /// `hashtable`, the only encoding Redis 7.0 has for such a set).
    SetLp = 7,
}

impl Enc {
    /// Encodings whose payload lives in the entry's own block as `[len: u32][bytes]`.
    #[inline]
    pub fn is_inline(self) -> bool {
        self != Enc::Heap
    }

    #[inline]
    pub fn is_string(self) -> bool {
        matches!(self, Enc::Int | Enc::Embstr | Enc::RawInline)
    }
}

// Header layout (12 bytes): enc u8, flags u8, 2 spare, lru u32, key_len u32.
const HDR: usize = 12;
const OFF_ENC: usize = 0;
const OFF_FLAGS: usize = 1;
const OFF_LRU: usize = 4;
const OFF_KLEN: usize = 8;
const FLAG_EXPIRE: u8 = 1;
/// An integer string Redis would hold in an object of its own rather than a shared one
/// (a COPY's: object.c dupStringObject), for OBJECT REFCOUNT.
const FLAG_OWN_INT: u8 = 2;
const PTR: usize = std::mem::size_of::<*mut Value>();

pub struct Obj(NonNull<u8>);

// Safety: Obj owns its block and the boxed Value exclusively; Value is Send.
unsafe impl Send for Obj {}
unsafe impl Sync for Obj {}

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size, 8).ok()
}

impl Obj {
    fn alloc_block(size: usize) -> NonNull<u8> {
        let Some(l) = layout(size) else {
            std::alloc::handle_alloc_error(Layout::new::<u64>());
        };
        // Safety: size >= HDR > 0.
        let p = unsafe { alloc(l) };
        match NonNull::new(p) {
            Some(p) => p,
            None => std::alloc::handle_alloc_error(l),
        }
    }

    fn block_size(&self) -> usize {
        let klen = self.key_len();
        match self.enc() {
            Enc::Heap => HDR + klen + PTR,
            _ => HDR + klen + 4 + self.inline_len(),
        }
    }

    #[inline]
    fn read_u32(&self, off: usize) -> u32 {
        // Safety: off + 4 <= block size for every header/payload offset used.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().add(off) as *const u32) }
    }

    #[inline]
    fn write_u32(&mut self, off: usize, v: u32) {
        // Safety: as read_u32.
        unsafe { std::ptr::write_unaligned(self.0.as_ptr().add(off) as *mut u32, v) }
    }

    fn new_block(key: &[u8], enc: Enc, payload: usize) -> Self {
        let size = HDR + key.len() + payload;
        let p = Self::alloc_block(size);
        // Safety: p points to `size` writable bytes.
        unsafe {
            let b = p.as_ptr();
            *b.add(OFF_ENC) = enc as u8;
            *b.add(OFF_FLAGS) = 0;
            *b.add(2) = 0;
            *b.add(3) = 0;
            std::ptr::write_unaligned(b.add(OFF_LRU) as *mut u32, 0);
            std::ptr::write_unaligned(b.add(OFF_KLEN) as *mut u32, key.len() as u32);
            std::ptr::copy_nonoverlapping(key.as_ptr(), b.add(HDR), key.len());
        }
        Obj(p)
    }

    /// A string entry, stored inline when small (encoding chosen like Redis's
    /// tryObjectEncoding: `int` for canonical integers, `embstr` up to 44 bytes).
    pub fn new_str(key: &[u8], val: &[u8]) -> Self {
        if val.len() <= EMBSTR_MAX {
            let enc = if is_int_repr(val) { Enc::Int } else { Enc::Embstr };
            Self::new_inline(key, val, enc)
        } else {
            Self::new_raw(key, val)
        }
    }

    /// A `raw` string entry (longer than embstr, or edited in place such as an HyperLogLog):
    /// inline up to RAW_INLINE_MAX bytes, else on the heap.
    pub fn new_raw(key: &[u8], val: &[u8]) -> Self {
        if val.len() <= RAW_INLINE_MAX {
            Self::new_inline(key, val, Enc::RawInline)
        } else {
            Self::new_value(key, Value::Str(val.to_vec()))
        }
    }

    pub fn new_inline(key: &[u8], val: &[u8], enc: Enc) -> Self {
        let mut o = Self::new_block(key, enc, 4 + val.len());
        let off = HDR + key.len();
        o.write_u32(off, val.len() as u32);
        // Safety: the block holds 4 + val.len() bytes after `off`.
        unsafe {
            std::ptr::copy_nonoverlapping(val.as_ptr(), o.0.as_ptr().add(off + 4), val.len());
        }
        o
    }

    pub fn new_value(key: &[u8], v: Value) -> Self {
        let o = Self::new_block(key, Enc::Heap, PTR);
        let bx = Box::into_raw(Box::new(v));
        // Safety: the block holds PTR bytes after the key.
        unsafe {
            std::ptr::write_unaligned(o.0.as_ptr().add(HDR + key.len()) as *mut *mut Value, bx);
        }
        o
    }

    #[inline]
    pub fn enc(&self) -> Enc {
        // Safety: header byte 0 always written by new_block.
        match unsafe { *self.0.as_ptr().add(OFF_ENC) } {
            0 => Enc::Int,
            1 => Enc::Embstr,
            3 => Enc::HashLp,
            4 => Enc::ZsetLp,
            5 => Enc::IntSet,
            6 => Enc::RawInline,
            7 => Enc::SetLp,
            _ => Enc::Heap,
        }
    }

    #[inline]
    pub fn key_len(&self) -> usize {
        self.read_u32(OFF_KLEN) as usize
    }

    /// Starts loading the entry's header (and key) into the cache.
    #[inline]
    pub fn prefetch(&self) {
        crate::util::mem::prefetch(self.0.as_ptr());
    }

    /// Starts loading a heap value's box (reads the header: best once `prefetch` is done).
    #[inline]
    pub fn prefetch_value(&self) {
        if self.enc() == Enc::Heap {
            crate::util::mem::prefetch(self.heap_ptr());
        }
    }

    /// Starts loading a heap value's table (a list's nodes; reads its box: best once
    /// `prefetch_value` is done).
    #[inline]
    pub fn prefetch_table(&self) {
        match self.heap() {
            Some(Value::Set(d)) => d.prefetch_table(),
            Some(Value::Hash(d)) => d.prefetch_table(),
            Some(Value::ZSet(z)) => z.dict.prefetch_table(),
            Some(Value::List(l)) => l.prefetch_nodes(),
            _ => {}
        }
    }

    /// Starts loading the first nodes of a heap value's table (reads the table: best
    /// once `prefetch_table` is done).
    #[inline]
    pub fn prefetch_heads(&self) {
        match self.heap() {
            Some(Value::Set(d)) => d.prefetch_heads(),
            Some(Value::Hash(d)) => d.prefetch_heads(),
            Some(Value::ZSet(z)) => z.dict.prefetch_heads(),
            _ => {}
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        // Safety: key bytes follow the header, length key_len.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(HDR), self.key_len()) }
    }

    #[inline]
    fn inline_len(&self) -> usize {
        self.read_u32(HDR + self.key_len()) as usize
    }

    fn heap_ptr(&self) -> *mut Value {
        // Safety: only called when enc == Heap, where PTR bytes follow the key.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().add(HDR + self.key_len()) as *const *mut Value) }
    }

    /// The inline payload bytes (strings and packed collections); empty for heap values.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        if self.enc() == Enc::Heap {
            return &[];
        }
        let off = HDR + self.key_len() + 4;
        // Safety: inline bytes follow their length.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(off), self.inline_len()) }
    }

    #[inline]
    pub fn value(&self) -> ValueRef<'_> {
        match self.enc() {
            Enc::Heap => {
                // Safety: the pointer came from Box::into_raw and is owned by self.
                let v = unsafe { &*self.heap_ptr() };
                v.as_ref()
            }
            Enc::Int | Enc::Embstr | Enc::RawInline => ValueRef::Str(self.payload()),
            Enc::HashLp => ValueRef::Hash(super::hash::HashRef::Lp(LpRef::new(self.payload()))),
            Enc::ZsetLp => ValueRef::ZSet(super::zset::ZSetRef::Lp(LpRef::new(self.payload()))),
            Enc::IntSet => ValueRef::Set(super::set::SetRef::Int(IntSetRef::new(self.payload()))),
            Enc::SetLp => ValueRef::Set(super::set::SetRef::Lp(LpRef::new(self.payload()))),
        }
    }

    /// The string value, if this entry is a string.
    #[inline]
    pub fn as_str(&self) -> Option<&[u8]> {
        match self.value() {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Active defragmentation of the entry's block and, for a heap value, of the
    /// value's box (what the value owns is `Value::defrag_step`'s).
    pub fn defrag(&mut self, d: &mut crate::ds::defrag::Defrag) {
        if let Some(l) = layout(self.block_size()) {
            // Safety: the block was allocated with exactly this layout (new_block), and
            // self holds the only pointer to it.
            if let Some(q) = unsafe { d.raw(self.0.as_ptr(), l) } {
                self.0 = q;
            }
        }
        if self.enc() == Enc::Heap {
            let p = self.heap_ptr();
            // Safety: the value came from Box::new (Layout::new::<Value>()), and the
            // block holds the only pointer to it, rewritten below.
            if let Some(q) = unsafe { d.raw(p as *mut u8, Layout::new::<Value>()) } {
                let off = HDR + self.key_len();
                // Safety: PTR bytes follow the key of a heap entry.
                unsafe {
                    std::ptr::write_unaligned(self.0.as_ptr().add(off) as *mut *mut Value, q.as_ptr() as *mut Value)
                };
            }
        }
    }

    /// Mutable access to a heap value (raw strings and collections).
    pub fn heap_mut(&mut self) -> Option<&mut Value> {
        if self.enc() != Enc::Heap {
            return None;
        }
        // Safety: owned pointer, exclusive via &mut self.
        Some(unsafe { &mut *self.heap_ptr() })
    }

    pub fn heap(&self) -> Option<&Value> {
        if self.enc() != Enc::Heap {
            return None;
        }
        // Safety: owned pointer.
        Some(unsafe { &*self.heap_ptr() })
    }

    /// Makes a string entry hold a heap (raw) string and returns it for in-place edits
    /// (APPEND, SETRANGE). Returns None for non-strings.
    pub fn make_raw(&mut self) -> Option<&mut Vec<u8>> {
        if self.enc().is_string() {
            let val = self.as_str()?.to_vec();
            let mut n = Obj::new_value(self.key(), Value::Str(val));
            n.copy_meta_from(self);
            *self = n;
        }
        match self.heap_mut()? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Runs `f` on a string value's bytes to edit them in place; None for other types. A heap
    /// string is edited where it is. An inline one is edited in a copy that goes back inline
    /// (as `raw`, in place when its length is unchanged) while it fits, so small values edited
    /// often (HyperLogLogs) keep the one-allocation layout.
    pub fn edit_str<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> Option<R> {
        if self.enc().is_string() {
            let mut v = self.as_str()?.to_vec();
            let r = f(&mut v);
            if v.len() <= RAW_INLINE_MAX {
                self.set_packed(Enc::RawInline, &v);
            } else {
                self.set_heap(Value::Str(v));
            }
            return Some(r);
        }
        match self.heap_mut()? {
            Value::Str(s) => Some(f(s)),
            _ => None,
        }
    }

    /// Replaces the value with a string, keeping key, LRU and expire flag.
    pub fn set_str(&mut self, val: &[u8]) {
        let mut n = Obj::new_str(self.key(), val);
        n.copy_meta_from(self);
        *self = n;
    }

    /// Replaces the value with an inline string of a given encoding.
    pub fn set_inline(&mut self, val: &[u8], enc: Enc) {
        if val.len() > EMBSTR_MAX {
            self.set_str(val);
            return;
        }
        if self.enc() != Enc::Heap && self.inline_len() == val.len() {
            // Same size: overwrite in place, no allocation (INCR's common case).
            let off = HDR + self.key_len() + 4;
            // Safety: the inline area holds exactly val.len() bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(val.as_ptr(), self.0.as_ptr().add(off), val.len());
                *self.0.as_ptr().add(OFF_ENC) = enc as u8;
                *self.0.as_ptr().add(OFF_FLAGS) &= !FLAG_OWN_INT;
            }
            return;
        }
        let mut n = Obj::new_inline(self.key(), val, enc);
        n.copy_meta_from(self);
        *self = n;
    }

    /// Replaces the value with an inline packed collection, keeping key, LRU and expire flag.
    pub fn set_packed(&mut self, enc: Enc, bytes: &[u8]) {
        if self.enc() == enc && self.inline_len() == bytes.len() {
            let off = HDR + self.key_len() + 4;
            // Safety: the inline area holds exactly bytes.len() bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.0.as_ptr().add(off), bytes.len()) };
            return;
        }
        let mut n = Obj::new_inline(self.key(), bytes, enc);
        n.copy_meta_from(self);
        *self = n;
    }

    /// Edit access, where it lies, to the payload of a packed collection of encoding `enc`
    /// (`HashLp`, `ZsetLp`, `IntSet` or `SetLp`); None when the entry has another encoding.
    pub fn packed_mut(&mut self, enc: Enc) -> Option<PackedMut<'_>> {
        let packed = matches!(enc, Enc::HashLp | Enc::ZsetLp | Enc::IntSet | Enc::SetLp);
        (packed && self.enc() == enc).then_some(PackedMut(self))
    }

    /// Resizes the block from `old` to `new` bytes; the allocator keeps it where it is when
    /// both sizes fall in one size class, else moves it (the pointer in the table slot is
    /// this Obj, so nothing else refers to the old address).
    fn resize_block(&mut self, old: usize, new: usize) {
        let (Some(l), Some(nl)) = (layout(old), layout(new)) else {
            std::alloc::handle_alloc_error(Layout::new::<u64>());
        };
        // Safety: the block was allocated with layout `l` (block_size before the
        // change), new > 0, and the alignment is unchanged.
        let q = unsafe { std::alloc::realloc(self.0.as_ptr(), l, new) };
        match NonNull::new(q) {
            Some(q) => self.0 = q,
            None => std::alloc::handle_alloc_error(nl),
        }
    }

    /// Replaces the value with a heap value, keeping key, LRU and expire flag.
    pub fn set_heap(&mut self, v: Value) {
        if let Some(slot) = self.heap_mut() {
            *slot = v;
            return;
        }
        let mut n = Obj::new_value(self.key(), v);
        n.copy_meta_from(self);
        *self = n;
    }

    /// A copy of this entry under another key (COPY); flags are cleared, and an
    /// integer is marked as not shared (COPY duplicates the object in Redis).
    pub fn clone_as(&self, key: &[u8]) -> Obj {
        match self.enc() {
            Enc::Heap => {
                let v = self.heap().cloned().unwrap_or(Value::Str(Vec::new()));
                Obj::new_value(key, v)
            }
            enc => {
                let o = Obj::new_inline(key, self.payload(), enc);
                if enc == Enc::Int {
                    // Safety: header byte.
                    unsafe { *o.0.as_ptr().add(OFF_FLAGS) |= FLAG_OWN_INT };
                }
                o
            }
        }
    }

    /// Whether this integer string is one Redis would not share (see FLAG_OWN_INT).
    pub fn own_int(&self) -> bool {
        // Safety: header byte.
        unsafe { *self.0.as_ptr().add(OFF_FLAGS) & FLAG_OWN_INT != 0 }
    }

    /// Moves this entry's value under a new key without copying heap values.
    pub fn rekey(self, key: &[u8]) -> Obj {
        let mut n = match self.enc() {
            Enc::Heap => {
                let n = Obj::new_block(key, Enc::Heap, PTR);
                // Safety: transfer the boxed value's ownership to n.
                unsafe {
                    std::ptr::write_unaligned(n.0.as_ptr().add(HDR + key.len()) as *mut *mut Value, self.heap_ptr());
                }
                n
            }
            enc => Obj::new_inline(key, self.payload(), enc),
        };
        n.copy_meta_from(&self);
        n.set_has_expire(false);
        if self.own_int() {
            // Safety: header byte (the same object keeps its refcount in Redis).
            unsafe { *n.0.as_ptr().add(OFF_FLAGS) |= FLAG_OWN_INT };
        }
        if self.enc() == Enc::Heap {
            // The value now belongs to n: free only the old block.
            let size = self.block_size();
            let p = self.0;
            std::mem::forget(self);
            if let Some(l) = layout(size) {
                // Safety: block allocated with this layout; value pointer moved out.
                unsafe { dealloc(p.as_ptr(), l) };
            }
        }
        n
    }

    fn copy_meta_from(&mut self, o: &Obj) {
        let lru = o.lru();
        self.set_lru(lru);
        self.set_has_expire(o.has_expire());
    }

    #[inline]
    pub fn lru(&self) -> u32 {
        self.read_u32(OFF_LRU)
    }

    #[inline]
    pub fn set_lru(&mut self, v: u32) {
        self.write_u32(OFF_LRU, v)
    }

    #[inline]
    pub fn has_expire(&self) -> bool {
        // Safety: header byte.
        unsafe { *self.0.as_ptr().add(OFF_FLAGS) & FLAG_EXPIRE != 0 }
    }

    pub fn set_has_expire(&mut self, on: bool) {
        // Safety: header byte.
        unsafe {
            let f = self.0.as_ptr().add(OFF_FLAGS);
            *f = if on { *f | FLAG_EXPIRE } else { *f & !FLAG_EXPIRE };
        }
    }

    /// Bytes this entry occupies (block plus heap value estimate), for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        self.block_size() + self.heap().map(|v| v.mem_usage()).unwrap_or(0)
    }

    /// Type name as TYPE reports it.
    pub fn type_name(&self) -> &'static str {
        self.value().type_name()
    }

    /// Encoding name as OBJECT ENCODING reports it.
    pub fn encoding_name(&self) -> &'static str {
        match self.enc() {
            Enc::Int => "int",
            Enc::Embstr => "embstr",
            Enc::RawInline => "raw",
            Enc::HashLp | Enc::ZsetLp => "listpack",
            Enc::IntSet => "intset",
            Enc::SetLp => "hashtable",
            Enc::Heap => self.heap().map(|v| v.encoding_name()).unwrap_or("raw"),
        }
    }
}

/// The inline payload of a packed collection, edited in place (see `Obj::packed_mut`).
pub struct PackedMut<'a>(&'a mut Obj);

impl ByteStore for PackedMut<'_> {
    fn bytes(&self) -> &[u8] {
        self.0.payload()
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let (off, len) = (HDR + self.0.key_len() + 4, self.0.inline_len());
        // Safety: `len` inline bytes follow their length at `off`; exclusive via &mut.
        unsafe { std::slice::from_raw_parts_mut(self.0 .0.as_ptr().add(off), len) }
    }

    fn splice_gap(&mut self, start: usize, end: usize, len: usize) -> &mut [u8] {
        let o = &mut *self.0;
        let old = o.inline_len();
        let start = start.min(old);
        let end = end.clamp(start, old);
        let new = old - (end - start) + len;
        let base = HDR + o.key_len() + 4;
        let tail = old - end;
        // Safety: every range below lies inside the block, which holds base + old bytes
        // before the resize and base + new after; the tail moves before a shrink and
        // after a growth, so it is never cut off.
        unsafe {
            if new < old {
                let p = o.0.as_ptr();
                std::ptr::copy(p.add(base + end), p.add(base + start + len), tail);
                o.resize_block(base + old, base + new);
            } else if new > old {
                o.resize_block(base + old, base + new);
                let p = o.0.as_ptr();
                std::ptr::copy(p.add(base + end), p.add(base + start + len), tail);
            }
            o.write_u32(base - 4, new as u32);
            let gap = std::slice::from_raw_parts_mut(o.0.as_ptr().add(base + start), len);
            gap.fill(0);
            gap
        }
    }
}

/// `entries` with what a walk reads of each loaded ahead of it: blocks 20 entries ahead,
/// heap values' boxes 12, their tables (a list's nodes) 4, those tables' first nodes 2.
pub fn loaded_ahead<B: std::borrow::Borrow<Obj>>(entries: impl Iterator<Item = B>) -> impl Iterator<Item = B> {
    use crate::util::mem::touched_ahead;
    let boxes = touched_ahead(entries, 16, |o| o.borrow().prefetch(), |o| o.borrow().prefetch_value());
    touched_ahead(
        boxes,
        4,
        |o| o.borrow().prefetch_table(),
        |o| o.borrow().prefetch_heads(),
    )
}

impl Drop for Obj {
    fn drop(&mut self) {
        let size = self.block_size();
        if self.enc() == Enc::Heap {
            // Safety: the pointer came from Box::into_raw and is still owned.
            unsafe { drop(Box::from_raw(self.heap_ptr())) };
        }
        if let Some(l) = layout(size) {
            // Safety: allocated with exactly this layout in new_block.
            unsafe { dealloc(self.0.as_ptr(), l) };
        }
    }
}

impl DashKey for Obj {
    #[inline]
    fn key(&self) -> &[u8] {
        Obj::key(self)
    }

    #[inline]
    fn key_addr(&self) -> Option<*const u8> {
        Some(self.0.as_ptr())
    }
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Obj({:?})", String::from_utf8_lossy(self.key()))
    }
}

/// True when `v` is how Redis would print an i64 (so it can be `int` encoded).
pub fn is_int_repr(v: &[u8]) -> bool {
    v.len() <= 20 && crate::util::num::parse_i64(v).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_payload_edits_in_place_match_a_vec() {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        let mut rng = SmallRng::seed_from_u64(3);
        for key in [&b""[..], b"k", &[b'q'; 300]] {
            let mut o = Obj::new_inline(key, &[1, 2, 3], Enc::HashLp);
            o.set_lru(9);
            o.set_has_expire(true);
            let mut model = vec![1u8, 2, 3];
            for step in 0..3000 {
                let start = rng.random_range(0..=model.len());
                let end = rng.random_range(start..=model.len().min(start + 40));
                let len = if model.len() > 4000 { 0 } else { rng.random_range(0..60) };
                let fill: u8 = rng.random();
                let Some(mut p) = o.packed_mut(Enc::HashLp) else {
                    panic!("a packed entry");
                };
                p.splice_gap(start, end, len).fill(fill);
                model.splice(start..end, std::iter::repeat_n(fill, len));
                assert_eq!(o.payload(), &model[..], "step {step}");
            }
            assert_eq!((o.key(), o.lru(), o.has_expire()), (key, 9, true));
            assert_eq!(o.mem_usage(), HDR + key.len() + 4 + model.len());
        }
        assert!(Obj::new_str(b"k", b"v").packed_mut(Enc::Embstr).is_none());
        assert!(Obj::new_inline(b"k", &[0; 4], Enc::HashLp)
            .packed_mut(Enc::ZsetLp)
            .is_none());
    }

    #[test]
    fn inline_and_heap_roundtrip() {
        let o = Obj::new_str(b"k", b"123");
        assert_eq!(o.enc(), Enc::Int);
        assert_eq!(o.key(), b"k");
        assert_eq!(o.as_str(), Some(&b"123"[..]));
        let o = Obj::new_str(b"key", b"hello");
        assert_eq!(o.encoding_name(), "embstr");
        let big = vec![b'x'; 100];
        let mut o = Obj::new_str(b"key", &big);
        assert_eq!(o.encoding_name(), "raw");
        assert_eq!(o.as_str(), Some(&big[..]));
        // A mid-size raw string lives in the entry's block; an edit moves it to the heap.
        assert_eq!(o.enc(), Enc::RawInline);
        assert_eq!(o.mem_usage(), HDR + 3 + 4 + 100);
        let mut edited = Obj::new_str(b"key", &big);
        edited.make_raw().unwrap().push(b'y');
        assert_eq!((edited.enc(), edited.as_str().map(|s| s.len())), (Enc::Heap, Some(101)));
        let huge = vec![b'z'; RAW_INLINE_MAX + 1];
        assert_eq!(Obj::new_str(b"key", &huge).enc(), Enc::Heap);
        o.set_lru(42);
        o.set_has_expire(true);
        o.set_str(b"7");
        assert_eq!((o.lru(), o.has_expire(), o.encoding_name()), (42, true, "int"));
        o.set_inline(b"8", Enc::Int);
        assert_eq!(o.as_str(), Some(&b"8"[..]));
        o.make_raw().unwrap().extend_from_slice(b"9");
        assert_eq!((o.as_str(), o.encoding_name()), (Some(&b"89"[..]), "raw"));
        let r = o.rekey(b"other");
        assert_eq!((r.key(), r.as_str(), r.lru()), (&b"other"[..], Some(&b"89"[..]), 42));
        let c = r.clone_as(b"third");
        assert_eq!(c.as_str(), Some(&b"89"[..]));
    }
}
