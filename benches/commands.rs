//! In-process GET/SET dispatch on the keyspace table (never asserted in CI).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodis::db::zset::zset_from_sorted;
use ferrodis::db::{Db, Limits, Obj};

fn keyspace(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyspace");
    g.throughput(Throughput::Elements(100_000));
    let keys: Vec<Vec<u8>> = (0..100_000).map(|i| format!("key:{i:08}").into_bytes()).collect();
    g.bench_function("set_100k", |b| {
        b.iter(|| {
            let mut db = Db::new(0);
            for k in &keys {
                db.set(Obj::new_str(k, b"0123456789abcdef"), false, 0);
            }
            db.len()
        })
    });
    let mut db = Db::new(0);
    for k in &keys {
        db.set(Obj::new_str(k, b"0123456789abcdef"), false, 0);
    }
    g.bench_function("get_100k", |b| {
        b.iter(|| keys.iter().filter(|k| db.get(k, 0).is_some()).count())
    });
    g.finish();
}

/// Small sorted sets (listpack) of 100 members by the kind of their scores: a walk
/// over every score, and a score update (a remove and an ordered insert).
fn zset_listpack(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset_listpack");
    let lim = Limits::default();
    type Scores = fn(usize) -> f64;
    let kinds: [(&str, Scores); 4] = [
        ("int", |i| (i * 1000) as f64),
        ("halves", |i| i as f64 * 1.5),
        ("decimal12", |i| 1.0 + i as f64 * 1e-12),
        ("f64", |i| (i as f64 + 0.1).sqrt()),
    ];
    for (name, score) in kinds {
        let items: Vec<(Vec<u8>, f64)> = (0..100)
            .map(|i| (format!("member:{i}").into_bytes(), score(i)))
            .collect();
        let mut o = zset_from_sorted(b"z", &items, &lim);
        g.bench_function(format!("walk_{name}"), |b| {
            b.iter(|| o.zset().map(|z| z.iter_from(0).filter(|(_, s)| *s > -1.0).count()))
        });
        let mut i = 0;
        g.bench_function(format!("update_{name}"), |b| {
            b.iter(|| {
                i = (i + 37) % 100;
                let (m, s) = &items[i];
                if let Some(mut z) = o.zset_mut(&lim) {
                    z.update(m, *s);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, keyspace, zset_listpack);
criterion_main!(benches);
