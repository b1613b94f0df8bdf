//! Data-structure benches: ZTree rank operations at 10k, 100k and 1M members, to show they grow
//! with log n (the per-op time should rise only slowly with size).
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ferrodis::ds::ztree::ZTree;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// A tree of `member:{i}` with random scores, plus the (score, member) pairs for lookups.
fn build(n: usize, rng: &mut SmallRng) -> (ZTree, Vec<(f64, Vec<u8>)>) {
    let mut t = ZTree::new();
    let mut pairs = Vec::with_capacity(n);
    for i in 0..n {
        let m = format!("member:{i}").into_bytes();
        let s = rng.random::<f64>() * n as f64;
        t.insert(s, &m);
        pairs.push((s, m));
    }
    (t, pairs)
}

fn ztree_ranks(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(42);
    let trees: Vec<_> = SIZES.iter().map(|&n| (n, build(n, &mut rng))).collect();

    let mut g = c.benchmark_group("ztree_rank");
    for (n, (t, pairs)) in &trees {
        g.bench_with_input(BenchmarkId::from_parameter(n), n, |b, _| {
            b.iter(|| {
                let (s, m) = &pairs[rng.random_range(0..pairs.len())];
                black_box(t.rank(*s, m))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("ztree_get_by_rank");
    for (n, (t, _)) in &trees {
        g.bench_with_input(BenchmarkId::from_parameter(n), n, |b, &n| {
            b.iter(|| black_box(t.get_by_rank(rng.random_range(0..n)).map(|(s, _)| s)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("ztree_iter_from_take10");
    for (n, (t, _)) in &trees {
        g.bench_with_input(BenchmarkId::from_parameter(n), n, |b, &n| {
            b.iter(|| {
                t.iter_from(rng.random_range(0..n))
                    .take(10)
                    .fold(0.0, |acc, (s, m)| acc + s + m.len() as f64)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ztree_ranks);
criterion_main!(benches);
