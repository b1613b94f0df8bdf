//! The process allocator: jemalloc, with every live byte counted (rounded to jemalloc's
//! size class) in one atomic. `used()` is then exact and O(1) at any moment, which is
//! what INFO used_memory and every maxmemory check need (Redis keeps the same counter
//! in zmalloc). The binary installs it with `#[global_allocator]`.
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::mem::alloc_size;

static USED: AtomicUsize = AtomicUsize::new(0);

pub struct Counting;

// Safety: every call is forwarded to jemalloc unchanged; the counter only observes.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc(layout) };
        if !p.is_null() {
            USED.fetch_add(alloc_size(layout.size()), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            USED.fetch_add(alloc_size(layout.size()), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { tikv_jemallocator::Jemalloc.dealloc(ptr, layout) };
        USED.fetch_sub(alloc_size(layout.size()), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { tikv_jemallocator::Jemalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let (old, new) = (alloc_size(layout.size()), alloc_size(new_size));
            if new >= old {
                USED.fetch_add(new - old, Ordering::Relaxed);
            } else {
                USED.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes currently allocated through `Counting` (0 when it is not the global allocator,
/// as in unit tests).
#[inline]
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
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
