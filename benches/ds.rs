//! Data-structure benches: sorted-set rank operations at growing sizes.
use criterion::{criterion_group, criterion_main, Criterion};
use ferrodis::ds::ztree::ZTree;

fn ranks(c: &mut Criterion) {
    let mut g = c.benchmark_group("ztree");
    for n in [10_000usize, 100_000, 1_000_000] {
        let mut t = ZTree::new();
        for i in 0..n {
            t.insert((i * 7919 % n) as f64, format!("member:{i}").as_bytes());
        }
        let mut i = 0usize;
        g.bench_function(format!("get_by_rank/{n}"), |b| {
            b.iter(|| {
                i = (i + 7_777) % n;
                t.get_by_rank(i).map(|(s, _)| s)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ranks);
criterion_main!(benches);
