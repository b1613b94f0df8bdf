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

#[cfg(test)]
mod tests {
    use super::alloc_size;

    #[test]
    fn size_classes() {
        assert_eq!(
            [0, 1, 8, 9, 17, 128, 129, 160, 161, 4097].map(alloc_size),
            [0, 8, 8, 16, 32, 128, 160, 160, 192, 5120]
        );
    }
}
