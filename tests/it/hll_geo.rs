//! HyperLogLog and geo commands over TCP: the exact bytes of small HLLs (Redis's sparse
//! layout, header, cached cardinality), sparse-to-dense promotion, PFCOUNT/PFMERGE over
//! several keys, invalid and corrupt values (Redis's error texts, no crash), PFDEBUG;
//! GEOADD scores, GEOHASH/GEOPOS/GEODIST text, searches by radius and box with
//! COUNT/ANY/ASC/DESC and STORE/STOREDIST, and argument errors. Reference values come
//! from redis-server 7.0.15 and the Redis documentation examples.
use crate::cmd;
use crate::harness::Server;
use redis::Commands;

#[test]
fn hll_bytes_counts_and_merges() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "PFADD", "h"), b":1\r\n");
    // An empty sparse HLL: header, cache invalidated, then XZERO runs for 16384 registers.
    let v: Vec<u8> = r.get("h").unwrap();
    assert_eq!(&v[..4], b"HYLL");
    assert_eq!(v[4], 1, "sparse");
    assert_eq!(v[15] & 0x80, 0x80, "cache invalid");
    assert_eq!(&v[16..], &[0x7f, 0xff]);
    assert_eq!(cmd!(c, "PFADD", "h", "a", "b", "c"), b":1\r\n");
    assert_eq!(cmd!(c, "PFADD", "h", "a"), b":0\r\n");
    assert_eq!(cmd!(c, "PFCOUNT", "h"), b":3\r\n");
    // The count is cached in the header (little endian, valid flag clear).
    let v: Vec<u8> = r.get("h").unwrap();
    assert_eq!(&v[8..16], &[3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(cmd!(c, "PFDEBUG", "ENCODING", "h"), b"+sparse\r\n");
    let ids: Vec<String> = (0..5000).map(|i| format!("e{i}")).collect();
    let _: i64 = redis::cmd("PFADD").arg("big").arg(&ids).query(&mut r).unwrap();
    assert_eq!(cmd!(c, "PFDEBUG", "ENCODING", "big"), b"+dense\r\n");
    let n: i64 = r.pfcount("big").unwrap();
    assert!((n - 5000).abs() < 150, "{n}");
    let u: i64 = redis::cmd("PFCOUNT")
        .arg("h")
        .arg("big")
        .arg("missing")
        .query(&mut r)
        .unwrap();
    assert!((u - 5003).abs() < 150, "{u}");
    assert_eq!(cmd!(c, "PFMERGE", "m", "h", "big"), b"+OK\r\n");
    let m: i64 = r.pfcount("m").unwrap();
    assert_eq!(m, u);
    assert_eq!(cmd!(c, "PFDEBUG", "ENCODING", "m"), b"+dense\r\n");
    // Ten million additions: seconds in an unoptimized build on a busy machine.
    r.set_read_timeout(Some(std::time::Duration::from_secs(120))).unwrap();
    let ok: String = redis::cmd("PFSELFTEST").query(&mut r).unwrap();
    assert_eq!(ok, "OK");
}

/// Small HLLs keep the one-allocation layout of small strings through PFADD, PFCOUNT and
/// PFMERGE (Redis: 96 bytes for one element); a dense one moves to the heap.
#[test]
fn small_hlls_stay_compact_through_edits() {
    let s = Server::start();
    let mut c = s.raw();
    let usage = |c: &mut crate::harness::Raw, key: &str| -> u64 {
        let r = cmd!(c, "MEMORY", "USAGE", key);
        String::from_utf8_lossy(&r[1..r.len() - 2]).parse().unwrap()
    };
    assert_eq!(cmd!(c, "PFADD", "h", "a"), b":1\r\n");
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "h"), b"$3\r\nraw\r\n");
    let one = usage(&mut c, "h");
    assert!(one <= 64, "{one} bytes for one element");
    assert_eq!(cmd!(c, "PFCOUNT", "h"), b":1\r\n");
    assert_eq!(usage(&mut c, "h"), one, "the cached count is written in place");
    for i in 0..100 {
        cmd!(c, "PFADD", "h", &format!("e{i}"));
    }
    assert_eq!(cmd!(c, "PFCOUNT", "h"), b":101\r\n");
    let len: u64 = String::from_utf8_lossy(&cmd!(c, "STRLEN", "h")[1..])
        .trim()
        .parse()
        .unwrap();
    assert!(
        usage(&mut c, "h") < len + 64,
        "{} bytes for a {len}-byte HLL",
        usage(&mut c, "h")
    );
    // A copy stored as a short string (embstr) becomes raw when edited, as in Redis.
    let bytes = cmd!(c, "GET", "h");
    let body = &bytes[bytes.iter().position(|&b| b == b'\n').unwrap() + 1..bytes.len() - 2];
    let mut r = s.client();
    let _: () = r.set("copy", body).unwrap();
    assert_eq!(cmd!(c, "PFMERGE", "copy", "h"), b"+OK\r\n");
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "copy"), b"$3\r\nraw\r\n");
    assert_eq!(cmd!(c, "PFCOUNT", "copy"), b":101\r\n");
    assert_eq!(cmd!(c, "PFDEBUG", "TODENSE", "h"), b":1\r\n");
    assert!(usage(&mut c, "h") > 12_000);
    assert_eq!(cmd!(c, "PFCOUNT", "h"), b":101\r\n");
}

#[test]
fn hll_rejects_bad_values() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    cmd!(c, "SET", "s", "not an hll");
    let bad: &[u8] = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    assert_eq!(cmd!(c, "PFADD", "s", "x"), bad);
    assert_eq!(cmd!(c, "PFCOUNT", "s"), bad);
    assert_eq!(cmd!(c, "PFMERGE", "d", "s"), bad);
    cmd!(c, "LPUSH", "l", "x");
    assert_eq!(&cmd!(c, "PFCOUNT", "l")[..32], b"-WRONGTYPE Operation against a k");
    // A sparse HLL whose runs do not cover 16384 registers is corrupt.
    let mut h: Vec<u8> = vec![b'H', b'Y', b'L', b'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80];
    h.extend_from_slice(&[0x7f, 0xff, 0x7f, 0xff]);
    let _: () = r.set("c", &h).unwrap();
    assert_eq!(
        cmd!(c, "PFCOUNT", "c"),
        b"-INVALIDOBJ Corrupted HLL object detected\r\n"
    );
    // Random garbage after a valid header never takes the server down.
    let mut x = 0x9e3779b97f4a7c15u64;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut v = h[..16].to_vec();
        v.extend((0..(x % 40) as usize).map(|i| (x >> (i % 56)) as u8));
        let _: () = r.set("g", &v).unwrap();
        let _ = cmd!(c, "PFCOUNT", "g");
        let _ = cmd!(c, "PFADD", "g", "elem");
        let _ = cmd!(c, "PFMERGE", "g2", "g");
    }
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    assert_eq!(
        cmd!(c, "PFDEBUG", "DECODE", "nokey"),
        b"-ERR The specified key does not exist\r\n"
    );
    cmd!(c, "PFADD", "ok", "a");
    assert_eq!(
        cmd!(c, "PFDEBUG", "FOO", "ok"),
        b"-ERR Unknown PFDEBUG subcommand 'FOO'\r\n"
    );
}

#[test]
fn geo_matches_redis_reference() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(
            c,
            "GEOADD",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania"
        ),
        b":2\r\n"
    );
    assert_eq!(cmd!(c, "ZSCORE", "Sicily", "Palermo"), b"$16\r\n3479099956230698\r\n");
    assert_eq!(
        cmd!(c, "GEOHASH", "Sicily", "Palermo", "Catania", "nope"),
        b"*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n".as_slice()
    );
    assert_eq!(
        cmd!(c, "GEOPOS", "Sicily", "Palermo", "nope"),
        b"*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n".as_slice()
    );
    // RESP3 gives coordinates as doubles (distances stay strings).
    let mut c3 = s.raw();
    c3.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        cmd!(c3, "GEOPOS", "Sicily", "Palermo", "nope"),
        b"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n".as_slice()
    );
    assert_eq!(
        cmd!(
            c3,
            "GEOSEARCH",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "1",
            "km",
            "WITHCOORD",
            "WITHDIST"
        ),
        b"*1\r\n*3\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n"
            .as_slice()
    );
    assert_eq!(
        cmd!(c, "GEODIST", "Sicily", "Palermo", "Catania"),
        b"$11\r\n166274.1516\r\n"
    );
    assert_eq!(
        cmd!(c, "GEODIST", "Sicily", "Palermo", "Catania", "km"),
        b"$8\r\n166.2742\r\n"
    );
    assert_eq!(cmd!(c, "GEODIST", "Sicily", "Palermo", "nope"), b"$-1\r\n");
    cmd!(
        c,
        "GEOADD",
        "Sicily",
        "12.758489",
        "38.788135",
        "edge1",
        "17.241510",
        "38.788135",
        "edge2"
    );
    assert_eq!(
        cmd!(
            c,
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "ASC"
        ),
        b"*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n"
    );
    assert_eq!(
        cmd!(c, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHDIST"),
        b"*4\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$5\r\nedge2\r\n$8\r\n279.7403\r\n*2\r\n$5\r\nedge1\r\n$8\r\n279.7405\r\n"
    );
    assert_eq!(
        cmd!(c, "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "DESC"),
        b"*1\r\n$7\r\nPalermo\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "FROMMEMBER",
            "Palermo",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST"
        ),
        b":3\r\n"
    );
    assert_eq!(
        cmd!(c, "ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        b"*6\r\n$7\r\nPalermo\r\n$1\r\n0\r\n$5\r\nedge1\r\n$18\r\n91.400658605814272\r\n$7\r\nCatania\r\n$18\r\n166.27415156960032\r\n"
    );
    assert_eq!(
        cmd!(c, "GEOADD", "Sicily", "200", "100", "bad"),
        b"-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n"
    );
    assert_eq!(
        cmd!(c, "GEOADD", "Sicily", "NX", "XX", "1", "2", "x"),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        cmd!(c, "GEORADIUS", "Sicily", "15", "37", "200", "parsec"),
        b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"
    );
    assert_eq!(
        cmd!(c, "GEOSEARCH", "Sicily", "BYRADIUS", "10", "km", "ASC", "WITHDIST"),
        b"-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "10",
            "km",
            "ANY"
        ),
        b"-ERR the ANY argument requires COUNT argument\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "GEOSEARCH",
            "nokey",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "10",
            "km"
        ),
        b"*0\r\n"
    );
}

/// With COUNT, Redis sorts only the first COUNT results, by a partial quicksort: which of
/// several equally distant members make the cut, and their order, are that sort's. The
/// nine members share one position; `c` is nearer the center than any of them.
#[test]
fn equally_distant_members_are_cut_and_ordered_as_redis_does() {
    let s = Server::start();
    let mut c = s.raw();
    let (lon, lat) = ("13.361389", "38.115556");
    for m in ["-4", "0", "10", "16", "2", "20", "4", "m0", "m1"] {
        assert_eq!(cmd!(c, "GEOADD", "g", lon, lat, m), b":1\r\n");
    }
    assert_eq!(cmd!(c, "GEOADD", "g", "13.3614", "38.1156", "c"), b":1\r\n");
    let names = |c: &mut crate::harness::Raw, extra: &[&str]| {
        let mut args = vec!["GEOSEARCH", "g", "FROMMEMBER", "c", "BYRADIUS", "10", "km"];
        args.extend_from_slice(extra);
        let reply = c.cmd(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
        let text = String::from_utf8(reply).unwrap();
        let parts: Vec<&str> = text
            .split("\r\n")
            .skip(2)
            .step_by(2)
            .filter(|p| !p.is_empty())
            .collect();
        parts.join(" ")
    };
    // As redis-server 7.0.15 answers: the collected order, a stable sort of all, then
    // the partial sorts of COUNT 9, 5 and 3.
    assert_eq!(names(&mut c, &[]), "-4 0 10 16 2 20 4 m0 m1 c");
    assert_eq!(names(&mut c, &["ASC"]), "c -4 0 10 16 2 20 4 m0 m1");
    assert_eq!(names(&mut c, &["COUNT", "9"]), "c 0 10 16 2 -4 4 m0 m1");
    assert_eq!(names(&mut c, &["COUNT", "5"]), "c 0 10 16 2");
    assert_eq!(names(&mut c, &["COUNT", "3"]), "c 0 10");
    assert_eq!(names(&mut c, &["COUNT", "3", "DESC"]), "-4 0 10");
    assert_eq!(names(&mut c, &["COUNT", "10"]), "c -4 0 10 16 2 20 4 m0 m1");
}
