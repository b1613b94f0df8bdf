//! Obj: one keyspace entry in a single heap block: header, the expire time when the key
//! has one, key bytes, then either an inline string (the `int`/`embstr` encodings) or a
//! pointer to a boxed `Value` (raw strings and collections). One pointer per table slot,
//! one allocation per small key, TTL included. All unsafe code of the keyspace lives
//! here; the layout is private to this file.
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

// Header layout (12 bytes): enc u8, flags u8, at_lo u16, lru u32, key_len u32; then,
// when FLAG_EXPIRE is set, the rest of the expire time (unix ms) before the key: its
// high 32 bits of 48 (the low 16 are `at_lo`), or all 64 with FLAG_AT_WIDE too, for a
// time outside ±2^47 ms (4,400 years around 1970).
const HDR: usize = 12;
const OFF_AT_LO: usize = 2;
const OFF_ENC: usize = 0;
const OFF_FLAGS: usize = 1;
const OFF_LRU: usize = 4;
const OFF_KLEN: usize = 8;
const FLAG_EXPIRE: u8 = 1;
const FLAG_AT_WIDE: u8 = 4;
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
        let body = self.body_off();
        match self.enc() {
            Enc::Heap => body + PTR,
            _ => body + 4 + self.inline_len(),
        }
    }

    #[inline]
    fn flags(&self) -> u8 {
        // Safety: header byte, always written by new_block.
        unsafe { *self.0.as_ptr().add(OFF_FLAGS) }
    }

    /// Where the key starts: after the header and, for a key with a TTL, its expire time.
    #[inline]
    fn key_off(&self) -> usize {
        HDR + at_width(self.flags())
    }

    /// Where the value (inline length and bytes, or the heap pointer) starts.
    #[inline]
    fn body_off(&self) -> usize {
        self.key_off() + self.key_len()
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

    /// A block for `key`, with room for its expire time `at` and `payload` value bytes
    /// (written by the caller after the key).
    fn new_block(key: &[u8], enc: Enc, payload: usize, at: Option<i64>) -> Self {
        let flags = at_flags(at);
        let key_off = HDR + at_width(flags);
        let size = key_off + key.len() + payload;
        let p = Self::alloc_block(size);
        // Safety: p points to `size` writable bytes.
        unsafe {
            let b = p.as_ptr();
            *b.add(OFF_ENC) = enc as u8;
            *b.add(OFF_FLAGS) = flags;
            std::ptr::write_unaligned(b.add(OFF_AT_LO) as *mut u16, 0);
            std::ptr::write_unaligned(b.add(OFF_LRU) as *mut u32, 0);
            std::ptr::write_unaligned(b.add(OFF_KLEN) as *mut u32, key.len() as u32);
            std::ptr::copy_nonoverlapping(key.as_ptr(), b.add(key_off), key.len());
        }
        let mut o = Obj(p);
        if let Some(at) = at {
            o.write_at(at);
        }
        o
    }

    /// A string entry, stored inline when small (encoding chosen like Redis's
    /// tryObjectEncoding: `int` for canonical integers, `embstr` up to 44 bytes).
    pub fn new_str(key: &[u8], val: &[u8]) -> Self {
        Self::new_str_at(key, val, None)
    }

    fn new_str_at(key: &[u8], val: &[u8], at: Option<i64>) -> Self {
        if val.len() <= EMBSTR_MAX {
            let enc = if is_int_repr(val) { Enc::Int } else { Enc::Embstr };
            Self::new_inline_at(key, val, enc, at)
        } else {
            Self::new_raw_at(key, val, at)
        }
    }

    /// A `raw` string entry (longer than embstr, or edited in place such as an HyperLogLog):
    /// inline up to RAW_INLINE_MAX bytes, else on the heap.
    pub fn new_raw(key: &[u8], val: &[u8]) -> Self {
        Self::new_raw_at(key, val, None)
    }

    fn new_raw_at(key: &[u8], val: &[u8], at: Option<i64>) -> Self {
        if val.len() <= RAW_INLINE_MAX {
            Self::new_inline_at(key, val, Enc::RawInline, at)
        } else {
            Self::new_value_at(key, Value::Str(val.to_vec()), at)
        }
    }

    pub fn new_inline(key: &[u8], val: &[u8], enc: Enc) -> Self {
        Self::new_inline_at(key, val, enc, None)
    }

    fn new_inline_at(key: &[u8], val: &[u8], enc: Enc, at: Option<i64>) -> Self {
        let mut o = Self::new_block(key, enc, 4 + val.len(), at);
        let off = o.body_off();
        o.write_u32(off, val.len() as u32);
        // Safety: the block holds 4 + val.len() bytes after `off`.
        unsafe {
            std::ptr::copy_nonoverlapping(val.as_ptr(), o.0.as_ptr().add(off + 4), val.len());
        }
        o
    }

    pub fn new_value(key: &[u8], v: Value) -> Self {
        Self::new_value_at(key, v, None)
    }

    fn new_value_at(key: &[u8], v: Value, at: Option<i64>) -> Self {
        Self::new_heap_at(key, Box::into_raw(Box::new(v)), at)
    }

    /// A heap entry owning `bx` (from `Box::into_raw`).
    fn new_heap_at(key: &[u8], bx: *mut Value, at: Option<i64>) -> Self {
        let o = Self::new_block(key, Enc::Heap, PTR, at);
        // Safety: the block holds PTR bytes after the key.
        unsafe {
            std::ptr::write_unaligned(o.0.as_ptr().add(o.body_off()) as *mut *mut Value, bx);
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
            Some(Value::ZSet(z)) => z.dict().prefetch_table(),
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
            Some(Value::ZSet(z)) => z.dict().prefetch_heads(),
            _ => {}
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        // Safety: key bytes follow the header, length key_len.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(self.key_off()), self.key_len()) }
    }

    #[inline]
    fn inline_len(&self) -> usize {
        self.read_u32(self.body_off()) as usize
    }

    fn heap_ptr(&self) -> *mut Value {
        // Safety: only called when enc == Heap, where PTR bytes follow the key.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().add(self.body_off()) as *const *mut Value) }
    }

    /// The inline payload bytes (strings and packed collections); empty for heap values.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        if self.enc() == Enc::Heap {
            return &[];
        }
        let off = self.body_off() + 4;
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
                let off = self.body_off();
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
            let n = Obj::new_value_at(self.key(), Value::Str(val), self.expire_at());
            self.replace_keeping_meta(n);
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

    /// Replaces the value with a string, keeping key, LRU and expire time.
    pub fn set_str(&mut self, val: &[u8]) {
        let n = Obj::new_str_at(self.key(), val, self.expire_at());
        self.replace_keeping_meta(n);
    }

    /// Replaces the value with an inline string of a given encoding.
    pub fn set_inline(&mut self, val: &[u8], enc: Enc) {
        if val.len() > EMBSTR_MAX {
            self.set_str(val);
            return;
        }
        if self.enc() != Enc::Heap && self.inline_len() == val.len() {
            // Same size: overwrite in place, no allocation (INCR's common case).
            let off = self.body_off() + 4;
            // Safety: the inline area holds exactly val.len() bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(val.as_ptr(), self.0.as_ptr().add(off), val.len());
                *self.0.as_ptr().add(OFF_ENC) = enc as u8;
                *self.0.as_ptr().add(OFF_FLAGS) &= !FLAG_OWN_INT;
            }
            return;
        }
        let n = Obj::new_inline_at(self.key(), val, enc, self.expire_at());
        self.replace_keeping_meta(n);
    }

    /// Replaces the value with an inline packed collection, keeping key, LRU and expire time.
    pub fn set_packed(&mut self, enc: Enc, bytes: &[u8]) {
        if self.enc() == enc && self.inline_len() == bytes.len() {
            let off = self.body_off() + 4;
            // Safety: the inline area holds exactly bytes.len() bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.0.as_ptr().add(off), bytes.len()) };
            return;
        }
        let n = Obj::new_inline_at(self.key(), bytes, enc, self.expire_at());
        self.replace_keeping_meta(n);
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

    /// Replaces the value with a heap value, keeping key, LRU and expire time.
    pub fn set_heap(&mut self, v: Value) {
        if let Some(slot) = self.heap_mut() {
            *slot = v;
            return;
        }
        let n = Obj::new_value_at(self.key(), v, self.expire_at());
        self.replace_keeping_meta(n);
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

    /// Moves this entry's value (and TTL) under a new key without copying heap values.
    pub fn rekey(self, key: &[u8]) -> Obj {
        let mut n = match self.enc() {
            // The boxed value's ownership goes to the new block.
            Enc::Heap => Obj::new_heap_at(key, self.heap_ptr(), self.expire_at()),
            enc => Obj::new_inline_at(key, self.payload(), enc, self.expire_at()),
        };
        n.set_lru(self.lru());
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

    /// Replaces this entry with `n` (made with its key and expire time), keeping the
    /// LRU stamp.
    fn replace_keeping_meta(&mut self, mut n: Obj) {
        n.set_lru(self.lru());
        *self = n;
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
        self.flags() & FLAG_EXPIRE != 0
    }

    /// The expire time (unix ms) of a key with a TTL.
    #[inline]
    pub fn expire_at(&self) -> Option<i64> {
        let flags = self.flags();
        if flags & FLAG_EXPIRE == 0 {
            return None;
        }
        let p = self.0.as_ptr();
        // Safety: the header holds at_lo, and at_width(flags) bytes of the expire time
        // follow it when FLAG_EXPIRE is set.
        unsafe {
            if flags & FLAG_AT_WIDE != 0 {
                return Some(std::ptr::read_unaligned(p.add(HDR) as *const i64));
            }
            let hi = std::ptr::read_unaligned(p.add(HDR) as *const i32) as i64;
            let lo = std::ptr::read_unaligned(p.add(OFF_AT_LO) as *const u16) as i64;
            Some((hi << 16) | lo)
        }
    }

    /// Writes `at` where the flags say it goes (its room made by the caller).
    fn write_at(&mut self, at: i64) {
        let p = self.0.as_ptr();
        // Safety: as expire_at; the flags were set for `at` (at_flags).
        unsafe {
            if self.flags() & FLAG_AT_WIDE != 0 {
                std::ptr::write_unaligned(p.add(HDR) as *mut i64, at);
            } else {
                std::ptr::write_unaligned(p.add(HDR) as *mut i32, (at >> 16) as i32);
                std::ptr::write_unaligned(p.add(OFF_AT_LO) as *mut u16, at as u16);
            }
        }
    }

    /// Sets or removes the expire time: in place when the entry has room for it, else
    /// the key and value move up (or down) as the block grows (or shrinks).
    pub fn set_expire_at(&mut self, at: Option<i64>) {
        let flags = self.flags();
        let new_flags = (flags & !(FLAG_EXPIRE | FLAG_AT_WIDE)) | at_flags(at);
        let (old_w, new_w) = (at_width(flags), at_width(new_flags));
        if old_w != new_w {
            let size = self.block_size();
            let moved = size - HDR - old_w;
            if new_w > old_w {
                self.resize_block(size, size + new_w - old_w);
            }
            // Safety: the block holds HDR + max(old_w, new_w) + moved bytes here; the
            // key and value move to just after the new expire time's room.
            unsafe {
                let p = self.0.as_ptr();
                std::ptr::copy(p.add(HDR + old_w), p.add(HDR + new_w), moved);
            }
            if new_w < old_w {
                self.resize_block(size, size - (old_w - new_w));
            }
        }
        // Safety: header byte.
        unsafe { *self.0.as_ptr().add(OFF_FLAGS) = new_flags };
        if let Some(at) = at {
            self.write_at(at);
        }
    }

    /// Bytes this entry occupies (block plus heap value estimate), for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        self.mem_usage_sampled(0)
    }

    /// As `mem_usage`, a big collection's elements estimated from `samples` of them (0: all).
    pub fn mem_usage_sampled(&self, samples: usize) -> usize {
        self.block_size() + self.heap().map(|v| v.mem_usage_sampled(samples)).unwrap_or(0)
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
        let (off, len) = (self.0.body_off() + 4, self.0.inline_len());
        // Safety: `len` inline bytes follow their length at `off`; exclusive via &mut.
        unsafe { std::slice::from_raw_parts_mut(self.0 .0.as_ptr().add(off), len) }
    }

    fn splice_gap(&mut self, start: usize, end: usize, len: usize) -> &mut [u8] {
        let o = &mut *self.0;
        let old = o.inline_len();
        let start = start.min(old);
        let end = end.clamp(start, old);
        let new = old - (end - start) + len;
        let base = o.body_off() + 4;
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

/// The flags for an entry with expire time `at`.
fn at_flags(at: Option<i64>) -> u8 {
    const LIM: i64 = 1 << 47;
    match at {
        None => 0,
        Some(at) if (-LIM..LIM).contains(&at) => FLAG_EXPIRE,
        Some(_) => FLAG_EXPIRE | FLAG_AT_WIDE,
    }
}

/// Bytes of the expire time after the header: 0, 4 or 8 (see the header layout).
#[inline]
fn at_width(flags: u8) -> usize {
    (flags & FLAG_EXPIRE) as usize * 4 + (flags & FLAG_AT_WIDE) as usize
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
            o.set_expire_at(Some(-5));
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
            assert_eq!((o.key(), o.lru(), o.expire_at()), (key, 9, Some(-5)));
            assert_eq!(o.mem_usage(), HDR + 4 + key.len() + 4 + model.len());
        }
        assert!(Obj::new_str(b"k", b"v").packed_mut(Enc::Embstr).is_none());
        assert!(Obj::new_inline(b"k", &[0; 4], Enc::HashLp)
            .packed_mut(Enc::ZsetLp)
            .is_none());
    }

    #[test]
    fn expire_times_of_every_width_live_in_the_entry_beside_key_and_value() {
        let lim = 1i64 << 47;
        let times = [
            0,
            -1,
            1,
            1_700_000_000_123,
            lim - 1,
            -lim,
            lim,
            -lim - 1,
            i64::MAX,
            i64::MIN,
            0x7fff_ffff_ffff,
        ];
        let big = vec![b'b'; RAW_INLINE_MAX + 1];
        for (key, val) in [(&b"k"[..], &b"v"[..]), (b"", b"12"), (&[b'q'; 70][..], &big[..])] {
            let mut o = Obj::new_str(key, val);
            o.set_lru(77);
            let base = o.mem_usage();
            for (i, &at) in times.iter().enumerate() {
                o.set_expire_at(Some(at));
                assert_eq!(
                    (o.expire_at(), o.key(), o.as_str(), o.lru()),
                    (Some(at), key, Some(val), 77)
                );
                let width = if (-lim..lim).contains(&at) { 4 } else { 8 };
                assert_eq!(o.mem_usage(), base + width, "{at}");
                // A new value's block and a renamed entry's keep the time.
                if i % 3 == 0 {
                    o.set_str(val);
                    o = o.rekey(key);
                    assert_eq!((o.expire_at(), o.as_str(), o.lru()), (Some(at), Some(val), 77));
                }
            }
            o.set_expire_at(None);
            assert_eq!(
                (o.expire_at(), o.has_expire(), o.key(), o.as_str()),
                (None, false, key, Some(val))
            );
            assert_eq!(o.mem_usage(), base);
        }
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
        o.set_expire_at(Some(1 << 40));
        o.set_str(b"7");
        assert_eq!((o.lru(), o.expire_at(), o.encoding_name()), (42, Some(1 << 40), "int"));
        o.set_inline(b"8", Enc::Int);
        assert_eq!(o.as_str(), Some(&b"8"[..]));
        o.make_raw().unwrap().extend_from_slice(b"9");
        assert_eq!((o.as_str(), o.encoding_name()), (Some(&b"89"[..]), "raw"));
        let r = o.rekey(b"other");
        assert_eq!((r.key(), r.as_str(), r.lru()), (&b"other"[..], Some(&b"89"[..]), 42));
        assert_eq!(r.expire_at(), Some(1 << 40));
        let c = r.clone_as(b"third");
        assert_eq!(c.as_str(), Some(&b"89"[..]));
    }
}
