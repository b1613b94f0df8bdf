//! Active defragmentation's view of a data structure: each heap block is offered to
//! the allocator ([`crate::alloc::relocate`]), which moves it when that lets a sparse
//! slab empty. Structures walk their own blocks and hand them here; the counts are
//! INFO's `active_defrag_hits` (blocks moved) and `active_defrag_misses` (blocks
//! checked and left). Redis compat: defrag.c activeDefragAlloc and its callers.
use std::alloc::Layout;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// Blocks larger than this are jemalloc's large allocations (pages of their own), which
/// never fragment a slab: they are not even checked (Redis compat: SMALL_MAXCLASS of a
/// 4 KB-page jemalloc).
const SMALL_MAX: usize = 14 * 1024;

#[derive(Default, Debug, Clone, Copy)]
pub struct Defrag {
    pub hits: u64,
    pub misses: u64,
}

impl Defrag {
    /// Offers one block; returns its new address if it moved.
    ///
    /// # Safety
    /// As [`crate::alloc::relocate`]: `p` is a live block of exactly `layout`, and the
    /// caller replaces every pointer to it with the returned one.
    pub unsafe fn raw(&mut self, p: *mut u8, layout: Layout) -> Option<NonNull<u8>> {
        // Safety: the caller's contract.
        unsafe { self.raw_used(p, layout, layout.size()) }
    }

    /// `raw`, copying only the first `used` bytes (a vector's elements, not its spare
    /// capacity).
    ///
    /// # Safety
    /// As `raw`.
    unsafe fn raw_used(&mut self, p: *mut u8, layout: Layout, used: usize) -> Option<NonNull<u8>> {
        if layout.size() == 0 || layout.size() > SMALL_MAX {
            return None;
        }
        // Safety: the caller's contract.
        match unsafe { crate::alloc::relocate(p, layout, used) } {
            Some(q) => {
                self.hits += 1;
                Some(q)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// A vector's buffer.
    pub fn vec<T>(&mut self, v: &mut Vec<T>) {
        let Ok(layout) = Layout::array::<T>(v.capacity()) else {
            return;
        };
        let ptr = v.as_mut_ptr() as *mut u8;
        let used = std::mem::size_of::<T>() * v.len();
        // Safety: a non-empty Vec's buffer is one allocation of Layout::array::<T>(capacity).
        if let Some(q) = unsafe { self.raw_used(ptr, layout, used) } {
            let old = ManuallyDrop::new(std::mem::take(v));
            // Safety: the elements' bytes now live at q (same capacity); the old buffer
            // is freed, so the old Vec is forgotten, not dropped.
            *v = unsafe { Vec::from_raw_parts(q.as_ptr() as *mut T, old.len(), old.capacity()) };
        }
    }

    /// A boxed value.
    pub fn boxed<T>(&mut self, b: &mut Box<T>) {
        let p = &mut **b as *mut T as *mut u8;
        // Safety: a Box<T> owns one allocation of Layout::new::<T>() (none if zero-sized).
        if let Some(q) = unsafe { self.raw(p, Layout::new::<T>()) } {
            // Safety: the value's bytes now live at q and the old block is freed: the
            // old Box is overwritten without being dropped.
            unsafe { std::ptr::write(b, Box::from_raw(q.as_ptr() as *mut T)) };
        }
    }

    /// A boxed slice.
    pub fn slice<T>(&mut self, b: &mut Box<[T]>) {
        let layout = Layout::for_value::<[T]>(b);
        let len = b.len();
        let p = b.as_mut_ptr() as *mut u8;
        // Safety: a Box<[T]> owns one allocation of its value's layout.
        if let Some(q) = unsafe { self.raw(p, layout) } {
            // Safety: as in `boxed`.
            unsafe {
                std::ptr::write(
                    b,
                    Box::from_raw(std::ptr::slice_from_raw_parts_mut(q.as_ptr() as *mut T, len)),
                )
            };
        }
    }

    /// Blocks offered so far (hits and misses).
    pub fn seen(&self) -> u64 {
        self.hits + self.misses
    }
}
