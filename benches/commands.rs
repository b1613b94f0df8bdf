//! In-process GET/SET dispatch on the keyspace table (never asserted in CI).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodis::db::{Db, Obj};

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

criterion_group!(benches, keyspace);
criterion_main!(benches);
