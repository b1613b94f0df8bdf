//! Data-structure benches: ZTree rank operations at 10k, 100k and 1M members, to show they grow
//! with log n (the per-op time should rise only slowly with size); LZF compression of a
//! list node's worth of short elements (and its decompression, beside the `lzf` crate's)
//! and of a 64-byte value, as saves compress them;
//! the CRC-64 of a megabyte, as saves and loads checksum files.
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
        // Safety: the member's buffer moves into `pairs` unchanged, and `pairs` is dropped
        // with the tree and after it.
        unsafe { t.insert(s, &m) };
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

/// 8000 bytes of short elements with listpack-like headers, and a 64-byte value.
fn lzf_inputs() -> (Vec<u8>, Vec<u8>) {
    let mut node = Vec::new();
    let mut i = 100_000;
    while node.len() < 8000 {
        node.extend_from_slice(&[0x8a, 0]);
        node.extend_from_slice(format!("item:{i}").as_bytes());
        i += 1;
    }
    node.truncate(8000);
    let mut value = [b'x'; 64];
    for k in (0..64).step_by(7) {
        value[k] = b'a' + (k % 26) as u8;
    }
    (node, value.to_vec())
}

fn lzf(c: &mut Criterion) {
    use ferrodis::util::lzf::compress;
    let (node, mut value) = lzf_inputs();
    let mut g = c.benchmark_group("lzf_compress");
    g.bench_function("node_8000", |b| b.iter(|| black_box(compress(&node, node.len() - 1))));
    g.bench_function("node_8000_lzf_crate", |b| b.iter(|| black_box(lzf::compress(&node))));
    if let Some(packed) = compress(&node, node.len() - 1) {
        g.bench_function("node_8000_decompress", |b| {
            b.iter(|| black_box(ferrodis::util::lzf::decompress(&packed, node.len())))
        });
        g.bench_function("node_8000_decompress_lzf_crate", |b| {
            b.iter(|| black_box(lzf::decompress(&packed, node.len())))
        });
    }
    let mut r = 0u8;
    g.bench_function("value_64", |b| {
        b.iter(|| {
            r = r.wrapping_add(1);
            value[0] = r;
            black_box(compress(&value, 60))
        })
    });
    g.finish();
}

fn crc(c: &mut Criterion) {
    let data: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut g = c.benchmark_group("crc64");
    g.throughput(criterion::Throughput::Bytes(data.len() as u64));
    g.bench_function("1mb", |b| b.iter(|| black_box(ferrodis::util::crc64::crc64(&data))));
    g.finish();
}

criterion_group!(benches, ztree_ranks, lzf, crc);
criterion_main!(benches);
