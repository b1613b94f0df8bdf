//! RESP parse/encode of pipelined batches (never asserted in CI).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodis::resp::parse::{Limits, Parsed, Parser};
use ferrodis::resp::ReplyBuf;

fn batch(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let k = format!("key:{i:08}");
        v.extend(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$16\r\n0123456789abcdef\r\n", k.len()).bytes());
    }
    v
}

fn parse(c: &mut Criterion) {
    let buf = batch(1000);
    let lim = Limits {
        max_bulk: 512 << 20,
        auth_required: false,
    };
    let mut g = c.benchmark_group("resp");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("parse_1000_set", |b| {
        b.iter(|| {
            let mut p = Parser::default();
            let mut pos = 0;
            let mut n = 0;
            while let Ok(Parsed::Multibulk) = p.next(&buf, &mut pos, &lim) {
                n += p.args.len();
            }
            n
        })
    });
    g.bench_function("encode_1000_bulk", |b| {
        let mut r = ReplyBuf::new();
        b.iter(|| {
            r.buf.clear();
            for i in 0..1000 {
                r.bulk(b"0123456789abcdef");
                r.int(i);
            }
            r.buf.len()
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
