//! A partial sort that leaves equal elements where Redis's leaves them. GEOSEARCH and
//! GEORADIUS with COUNT sort only the first COUNT results, and SORT BY with LIMIT only
//! the elements it returns, with a quicksort that skips the parts of the array outside
//! the wanted range; which of several equal elements make the cut, and in which order,
//! is decided by that algorithm's swaps, so it is followed step for step: Bentley and McIlroy's three-way partitioning quicksort
//! ("Engineering a Sort Function", 1993) with a median of three (of nine above 40
//! elements), insertion sort under 7 elements, and no recursion into a part that does
//! not meet the range. Redis compat: pqsort.c.
use std::cmp::Ordering;

/// Sorts `v` far enough that positions `lo..=hi` hold what a full sort would put there
/// (ties aside), with ties ordered as Redis's pqsort orders them. The range may be
/// empty (`hi < lo`, as SORT's LIMIT makes it) or reach past `v`.
pub fn partial_sort<T>(v: &mut [T], lo: i64, hi: i64, cmp: &impl Fn(&T, &T) -> Ordering) {
    sort_part(v, 0, (lo, hi), cmp);
}

/// Whether the `len` elements from `base` are to be sorted: unless both ends of the
/// range lie before them or both after.
fn meets(base: usize, len: usize, (lo, hi): (i64, i64)) -> bool {
    let (l, r) = (base as i64, (base + len) as i64 - 1);
    !((lo < l && hi < l) || (lo > r && hi > r))
}

/// The order of the elements at `i` and `j` (positions the sort keeps within `v`).
fn order<T>(v: &[T], i: usize, j: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> Ordering {
    v.get(i).zip(v.get(j)).map_or(Ordering::Equal, |(x, y)| cmp(x, y))
}

/// Of the elements at `a`, `b` and `c`, the one whose value is the median.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let at = |i: usize, j: usize| order(v, i, j, cmp);
    if at(a, b).is_lt() {
        if at(b, c).is_lt() {
            b
        } else if at(a, c).is_lt() {
            c
        } else {
            a
        }
    } else if at(b, c).is_gt() {
        b
    } else if at(a, c).is_lt() {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements from `a` with the `n` from `b`, pairwise in order.
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// Sorts the part `v`, which starts at `base` in the whole array.
fn sort_part<T>(mut v: &mut [T], mut base: usize, range: (i64, i64), cmp: &impl Fn(&T, &T) -> Ordering) {
    loop {
        let n = v.len();
        if n < 7 {
            for m in 1..n {
                let mut l = m;
                while l > 0 && order(v, l - 1, l, cmp).is_gt() {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut m = n / 2;
        if n > 7 {
            let (mut l, mut r) = (0, n - 1);
            if n > 40 {
                let d = n / 8;
                l = med3(v, l, l + d, l + 2 * d, cmp);
                m = med3(v, m - d, m, m + d, cmp);
                r = med3(v, r - 2 * d, r - d, r, cmp);
            }
            m = med3(v, l, m, r, cmp);
        }
        // The pivot goes first; elements equal to it gather at both ends
        // (`..pa` and `pd + 1..`), smaller ones after the first end, bigger before the last.
        v.swap(0, m);
        let (mut pa, mut pb, mut pc, mut pd) = (1, 1, n - 1, n - 1);
        loop {
            while pb <= pc {
                let o = order(v, pb, 0, cmp);
                if o.is_gt() {
                    break;
                }
                if o.is_eq() {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let o = order(v, pc, 0, cmp);
                if o.is_lt() {
                    break;
                }
                if o.is_eq() {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        // The equal ends move to the middle.
        let r = pa.min(pb - pa);
        swap_runs(v, 0, pb - r, r);
        let r = (pd - pc).min(n - pd - 1);
        swap_runs(v, pb, n - r, r);
        let smaller = pb - pa;
        if smaller > 1 && meets(base, smaller, range) {
            if let Some(part) = v.get_mut(..smaller) {
                sort_part(part, base, range, cmp);
            }
        }
        let bigger = pd - pc;
        if bigger <= 1 || !meets(base + n - bigger, bigger, range) {
            return;
        }
        let Some(rest) = std::mem::take(&mut v).get_mut(n - bigger..) else {
            return;
        };
        v = rest;
        base += n - bigger;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_range_holds_what_a_full_sort_puts_there() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        for _ in 0..2000 {
            let n = rng.random_range(0..300);
            let v: Vec<u32> = (0..n).map(|_| rng.random_range(0..50)).collect();
            let mut sorted = v.clone();
            sorted.sort();
            let hi = if n == 0 { 0 } else { rng.random_range(0..n) };
            let lo = rng.random_range(0..=hi);
            let mut got = v.clone();
            partial_sort(&mut got, lo as i64, hi as i64, &|a: &u32, b: &u32| a.cmp(b));
            if n > 0 {
                assert_eq!(got[lo..=hi], sorted[lo..=hi], "{v:?} {lo}..={hi}");
            }
            let mut all = got.clone();
            all.sort();
            assert_eq!(all, sorted, "a permutation");
            let mut whole = v.clone();
            partial_sort(&mut whole, 0, n as i64 - 1, &|a: &u32, b: &u32| a.cmp(b));
            assert_eq!(whole, sorted);
        }
    }

    #[test]
    fn ties_fall_as_redis_leaves_them() {
        // Ten points by distance, nine of them equally far, in the order a GEOSEARCH
        // collects them; redis-server 7.0 returns COUNT 9 and COUNT 3 of them so.
        let pts = [
            (1, "-4"),
            (1, "0"),
            (1, "10"),
            (1, "16"),
            (1, "2"),
            (1, "20"),
            (1, "4"),
            (1, "m0"),
            (1, "m1"),
            (0, "c"),
        ];
        let by_dist = |a: &(i32, &str), b: &(i32, &str)| a.0.cmp(&b.0);
        let names = |count: usize| {
            let mut v = pts.to_vec();
            partial_sort(&mut v, 0, count as i64 - 1, &by_dist);
            v[..count].iter().map(|p| p.1).collect::<Vec<_>>().join(" ")
        };
        assert_eq!(names(9), "c 0 10 16 2 -4 4 m0 m1");
        assert_eq!(names(5), "c 0 10 16 2");
        assert_eq!(names(3), "c 0 10");
    }
}
