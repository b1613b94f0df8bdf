//! Memory accounting helpers shared by the data structures.

/// Approximate allocator footprint of an `n`-byte allocation (jemalloc size classes: 8,
/// multiples of 16 up to 128, then four classes per doubling). Buffers sized to a whole
/// class make the capacity a `Vec` reports memory that is really ours.
pub fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else if n <= 8 {
        8
    } else if n <= 128 {
        n.div_ceil(16) * 16
    } else {
        let k = usize::BITS - 1 - (n - 1).leading_zeros();
        let step = 1usize << (k - 2);
        n.div_ceil(step).saturating_mul(step)
    }
}

/// Gives back a buffer's spare room when it is more than an eighth of what it holds:
/// for chunks of output kept until written, which will not grow again.
pub fn shrink_if_loose(v: &mut Vec<u8>) {
    if v.capacity() - v.len() > v.len() / 8 {
        v.shrink_to_fit();
    }
}

/// Asks the CPU to start loading the cache line at `p` (a hint: nothing is read, so any
/// address, even a dangling one, is fine). A no-op where we have no prefetch instruction.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // Safety: PREFETCHT0 does not access memory architecturally; SSE is baseline on x86_64.
    #[allow(unused_unsafe)]
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `it`'s items in order, each given to `touch` (a prefetch) `n` items before it is
/// yielded and to `then` (a prefetch of what the first one loads) `n / 2` items before:
/// a walk over scattered entries then waits for them a few at a time, not one by one.
pub fn touched_ahead<I: Iterator>(
    it: I,
    n: usize,
    touch: impl FnMut(&I::Item),
    then: impl FnMut(&I::Item),
) -> impl Iterator<Item = I::Item> {
    Ahead {
        it,
        buf: std::collections::VecDeque::with_capacity(n + 1),
        n,
        touch,
        then,
    }
}

struct Ahead<I: Iterator, F, G> {
    it: I,
    buf: std::collections::VecDeque<I::Item>,
    n: usize,
    touch: F,
    then: G,
}

impl<I: Iterator, F: FnMut(&I::Item), G: FnMut(&I::Item)> Iterator for Ahead<I, F, G> {
    type Item = I::Item;

    #[inline]
    fn next(&mut self) -> Option<I::Item> {
        while self.buf.len() <= self.n {
            let Some(x) = self.it.next() else {
                break;
            };
            (self.touch)(&x);
            self.buf.push_back(x);
        }
        if let Some(x) = self.buf.get(self.n / 2) {
            (self.then)(x);
        }
        self.buf.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::alloc_size;

    #[test]
    fn touched_ahead_yields_everything_in_order_after_touching_it() {
        for n in [0, 1, 3, 10] {
            let touched = std::cell::RefCell::new(Vec::new());
            let then = std::cell::RefCell::new(Vec::new());
            let mut seen = Vec::new();
            let it = super::touched_ahead(
                0..7,
                n,
                |&x| touched.borrow_mut().push(x),
                |&x| then.borrow_mut().push(x),
            );
            for x in it {
                assert_eq!(
                    *touched.borrow(),
                    (0..(x + 1 + n).min(7)).collect::<Vec<_>>(),
                    "{n}: {x}"
                );
                assert_eq!(then.borrow().last(), Some(&(x + n / 2).min(6)), "{n}: {x}");
                seen.push(x);
            }
            assert_eq!(seen, (0..7).collect::<Vec<_>>());
        }
    }

    #[test]
    fn size_classes() {
        assert_eq!(
            [0, 1, 8, 9, 17, 128, 129, 160, 161, 4097].map(alloc_size),
            [0, 8, 8, 16, 32, 128, 160, 160, 192, 5120]
        );
    }
}
