//! The process allocator: jemalloc, with every live byte counted (rounded to jemalloc's
//! size class). `used()` is then exact and O(1) at any moment, which is what INFO
//! used_memory and every maxmemory check need (Redis keeps the same counter in zmalloc).
//! The binary installs it with `#[global_allocator]`.
//!
//! The count is two words: one that only the thread running the keyspace writes (plain
//! loads and stores), one that every other thread adds to atomically. A locked add on
//! each allocation, as zmalloc does, waits for every store before it to reach the
//! cache: building values in fresh memory (loading a file) then waits on each store's
//! cache miss in turn.
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::util::mem::alloc_size;

/// Bytes counted by threads other than the owner (wrapping: a thread may free more
/// than it allocated).
static USED: AtomicUsize = AtomicUsize::new(0);
/// Bytes counted by the owning thread alone; others only read it.
static OWNED: AtomicUsize = AtomicUsize::new(0);
static CLAIMED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static OWNER: Cell<bool> = const { Cell::new(false) };
}

/// Makes the calling thread the one whose counts need no locked add (the thread that
/// runs the keyspace). Only the first caller in the process gets it; later calls, from
/// any thread, change nothing.
pub fn own_counter() {
    if CLAIMED
        .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
    {
        OWNER.with(|o| o.set(true));
    }
}

#[inline]
fn owner() -> bool {
    OWNER.try_with(Cell::get).unwrap_or(false)
}

/// Adds `delta` to the count, wrapping: a freed size comes as its negation.
#[inline]
fn count(delta: usize) {
    if owner() {
        OWNED.store(OWNED.load(Ordering::Relaxed).wrapping_add(delta), Ordering::Relaxed);
    } else {
        USED.fetch_add(delta, Ordering::Relaxed);
    }
}

pub struct Counting;

// Safety: every call is forwarded to jemalloc unchanged; the counter only observes.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc(layout) };
        if !p.is_null() {
            count(alloc_size(layout.size()));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            count(alloc_size(layout.size()));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { tikv_jemallocator::Jemalloc.dealloc(ptr, layout) };
        count(alloc_size(layout.size()).wrapping_neg());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { tikv_jemallocator::Jemalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let (old, new) = (alloc_size(layout.size()), alloc_size(new_size));
            count(new.wrapping_sub(old));
        }
        p
    }
}

/// Bytes currently allocated through `Counting` (0 when it is not the global allocator,
/// as in unit tests).
#[inline]
pub fn used() -> usize {
    let n = USED.load(Ordering::Relaxed).wrapping_add(OWNED.load(Ordering::Relaxed));
    // A free read before the allocation it undoes, on another thread, can make the
    // sum dip below zero for a moment.
    if n > isize::MAX as usize {
        0
    } else {
        n
    }
}

/// A zeroed array of words outside `used()`: scratch memory of the kind Redis keeps on
/// its stack (the LZF compressor's hash table), which its used_memory does not count.
pub struct ScratchWords {
    p: std::ptr::NonNull<u64>,
    len: usize,
}

// Safety: the array is owned exclusively and holds plain words.
unsafe impl Send for ScratchWords {}

impl ScratchWords {
    pub fn zeroed(len: usize) -> Self {
        let len = len.max(1);
        let Ok(layout) = Layout::array::<u64>(len) else {
            std::alloc::handle_alloc_error(Layout::new::<u64>());
        };
        // Safety: the layout has a nonzero size.
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc_zeroed(layout) } as *mut u64;
        match std::ptr::NonNull::new(p) {
            Some(p) => ScratchWords { p, len },
            None => std::alloc::handle_alloc_error(layout),
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        // Safety: `len` initialized words, borrowed exclusively through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.p.as_ptr(), self.len) }
    }

    /// The words as twice as many 32-bit halves.
    pub fn as_mut_u32(&mut self) -> &mut [u32] {
        // Safety: as above; a u64 array is aligned for u32 and every bit pattern is a
        // valid u32.
        unsafe { std::slice::from_raw_parts_mut(self.p.as_ptr() as *mut u32, self.len * 2) }
    }
}

impl Drop for ScratchWords {
    fn drop(&mut self) {
        if let Ok(layout) = Layout::array::<u64>(self.len) {
            // Safety: allocated in `zeroed` with this very layout.
            unsafe { tikv_jemallocator::Jemalloc.dealloc(self.p.as_ptr() as *mut u8, layout) };
        }
    }
}

/// jemalloc's own statistics report, as MEMORY MALLOC-STATS shows it.
/// Redis compat: object.c memoryCommand (je_malloc_stats_print).
pub fn stats_report() -> String {
    use std::ffi::{c_char, c_void, CStr};
    unsafe extern "C" fn append(out: *mut c_void, text: *const c_char) {
        // Safety: `out` is the String passed below, `text` a NUL-terminated string
        // jemalloc owns for the duration of the call.
        unsafe {
            if let (Some(out), false) = ((out as *mut String).as_mut(), text.is_null()) {
                out.push_str(&CStr::from_ptr(text).to_string_lossy());
            }
        }
    }
    let mut out = String::new();
    // Safety: the callback only appends to `out`, which outlives the call; null options
    // print everything.
    unsafe {
        tikv_jemalloc_sys::malloc_stats_print(Some(append), &mut out as *mut String as *mut c_void, std::ptr::null());
    }
    out
}

/// Bytes allocated right now: the counter when `Counting` is installed, else jemalloc's
/// own statistics (slower: refreshes its epoch).
pub fn used_memory() -> u64 {
    match used() {
        0 => {
            let _ = tikv_jemalloc_ctl::epoch::advance();
            tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0) as u64
        }
        n => n as u64,
    }
}

/// One allocation's place in jemalloc: what `experimental.utilization.query` reports
/// (jemalloc's ctl.c documents the layout: the address of the slab new allocations of
/// the pointer's bin would come from, then five counts).
#[repr(C)]
#[derive(Default)]
struct Util {
    slabcur: usize,
    nfree: usize,
    nregs: usize,
    size: usize,
    bin_nfree: usize,
    bin_nregs: usize,
}

/// The control's MIB, looked up once (None if this jemalloc lacks it).
fn util_mib() -> Option<&'static [usize; 3]> {
    static MIB: std::sync::OnceLock<Option<[usize; 3]>> = std::sync::OnceLock::new();
    MIB.get_or_init(|| {
        let mut mib = [0usize; 3];
        let mut len = mib.len();
        // Safety: a NUL-terminated name and a MIB buffer of `len` entries.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctlnametomib(c"experimental.utilization.query".as_ptr(), mib.as_mut_ptr(), &mut len)
        };
        (rc == 0 && len == 3).then_some(mib)
    })
    .as_ref()
}

fn util_of(p: *const u8) -> Option<Util> {
    let mib = util_mib()?;
    let mut out = Util::default();
    let mut len = std::mem::size_of::<Util>();
    let mut input = p;
    // Safety: the control reads one pointer from `input` and writes `len` bytes to `out`,
    // whose size is the one it requires; `p` is a live jemalloc allocation (the caller's).
    let rc = unsafe {
        tikv_jemalloc_sys::mallctlbymib(
            mib.as_ptr(),
            mib.len(),
            &mut out as *mut Util as *mut std::ffi::c_void,
            &mut len,
            &mut input as *mut *const u8 as *mut std::ffi::c_void,
            std::mem::size_of::<*const u8>(),
        )
    };
    (rc == 0).then_some(out)
}

/// Whether moving the allocation at `p` would likely free memory: it sits in a slab
/// that is less used than its bin's other slabs on average, and is not the slab new
/// allocations come from. Large allocations and full slabs never move.
/// Redis compat: the defrag hint of Redis's jemalloc (je_get_defrag_hint), computed here
/// from jemalloc's public utilization query.
fn worth_moving(p: *const u8) -> bool {
    let Some(u) = util_of(p) else { return false };
    if u.slabcur == 0 || u.nfree == 0 || u.nregs == 0 || u.size == 0 {
        return false;
    }
    let addr = p as usize;
    if addr >= u.slabcur && addr < u.slabcur + u.size {
        return false;
    }
    // The bin's totals without the current slab, as Redis's hint counts them.
    let (mut slabs, mut used) = (u.bin_nregs / u.nregs, u.bin_nregs.saturating_sub(u.bin_nfree));
    if let Some(cur) = util_of(u.slabcur as *const u8) {
        if cur.nregs == u.nregs && slabs > 1 {
            slabs -= 1;
            used = used.saturating_sub(cur.nregs - cur.nfree.min(cur.nregs));
        }
    }
    (u.nregs - u.nfree) * slabs <= used
}

/// Moves the allocation at `p` (made with `layout` through the global allocator) to a
/// fresh block when [`worth_moving`] says so, bypassing the thread cache both ways so
/// that the new block comes from the bin's fullest slab and the old one goes back to
/// its slab at once. Returns the new address (its first `copy` bytes copied, the old
/// block freed), or None if it stays. Only when `Counting` is the global allocator (every pointer is
/// then jemalloc's); otherwise nothing ever moves.
///
/// # Safety
/// `p` must be a live allocation of exactly `layout` from the global allocator, and
/// the caller must replace every pointer to it with the returned one.
pub unsafe fn relocate(p: *mut u8, layout: Layout, copy: usize) -> Option<std::ptr::NonNull<u8>> {
    if used() == 0 || layout.size() == 0 || !worth_moving(p) {
        return None;
    }
    let mut flags = tikv_jemalloc_sys::MALLOCX_TCACHE_NONE;
    if layout.align() > 16 || layout.align() > layout.size() {
        flags |= tikv_jemalloc_sys::MALLOCX_ALIGN(layout.align());
    }
    // Safety: a non-zero size; the flags are valid for it.
    let q = unsafe { tikv_jemalloc_sys::mallocx(layout.size(), flags) } as *mut u8;
    let q = std::ptr::NonNull::new(q)?;
    // Safety: both blocks hold layout.size() bytes and are distinct; `p` was made with
    // this size and alignment, so sdallocx gets them back. The counted size is the same.
    unsafe {
        std::ptr::copy_nonoverlapping(p, q.as_ptr(), copy.min(layout.size()));
        tikv_jemalloc_sys::sdallocx(p as *mut std::ffi::c_void, layout.size(), flags);
    }
    Some(q)
}
