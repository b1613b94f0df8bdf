//! Hash commands over TCP: happy paths in both encodings, conversions, WRONGTYPE, parse
//! errors (full text), arity, RESP2/RESP3 reply shapes, HRANDFIELD counts, HSCAN and
//! expiry interaction. Cases follow tests/unit/type/hash.tcl and tests/unit/scan.tcl.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::cmd;
use crate::harness::{bytes_per_item, wait_for, Server};
use redis::Commands;

fn enc(r: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT").arg("ENCODING").arg(key).query(r).unwrap()
}

#[test]
fn set_get_delete_in_both_encodings() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "HSET", "h", "a", "1", "b", "2"), b":2\r\n");
    assert_eq!(cmd!(c, "HSET", "h", "a", "x", "c", "3"), b":1\r\n");
    assert_eq!(enc(&mut r, "h"), "listpack");
    assert_eq!(cmd!(c, "HMSET", "h", "d", "4"), b"+OK\r\n");
    assert_eq!(cmd!(c, "HGET", "h", "a"), b"$1\r\nx\r\n");
    assert_eq!(cmd!(c, "HGET", "h", "zz"), b"$-1\r\n");
    assert_eq!(cmd!(c, "HGET", "nokey", "a"), b"$-1\r\n");
    assert_eq!(
        cmd!(c, "HMGET", "h", "a", "zz", "d"),
        b"*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n4\r\n"
    );
    assert_eq!(cmd!(c, "HMGET", "nokey", "a", "b"), b"*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(cmd!(c, "HLEN", "h"), b":4\r\n");
    assert_eq!(cmd!(c, "HLEN", "nokey"), b":0\r\n");
    assert_eq!(cmd!(c, "HSTRLEN", "h", "a"), b":1\r\n");
    assert_eq!(cmd!(c, "HSTRLEN", "h", "zz"), b":0\r\n");
    assert_eq!(cmd!(c, "HEXISTS", "h", "b"), b":1\r\n");
    assert_eq!(cmd!(c, "HEXISTS", "h", "zz"), b":0\r\n");
    assert_eq!(cmd!(c, "HSETNX", "h", "a", "y"), b":0\r\n");
    assert_eq!(cmd!(c, "HSETNX", "h", "e", "5"), b":1\r\n");
    assert_eq!(cmd!(c, "HSETNX", "new", "f", "v"), b":1\r\n");
    // Listpack replies keep insertion order.
    assert_eq!(
        cmd!(c, "HKEYS", "h"),
        b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
    );
    assert_eq!(
        cmd!(c, "HVALS", "h"),
        b"*5\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"
    );
    assert_eq!(cmd!(c, "HGETALL", "new"), b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(cmd!(c, "HGETALL", "nokey"), b"*0\r\n");
    assert_eq!(cmd!(c, "HKEYS", "nokey"), b"*0\r\n");
    // Ported from "HDEL - more than a single value" and "HDEL - hash becomes empty".
    assert_eq!(cmd!(c, "HDEL", "h", "x", "y"), b":0\r\n");
    assert_eq!(cmd!(c, "HDEL", "h", "a", "b", "zz"), b":2\r\n");
    assert_eq!(cmd!(c, "HDEL", "new", "f", "f"), b":1\r\n");
    assert_eq!(cmd!(c, "EXISTS", "new"), b":0\r\n");
    assert_eq!(cmd!(c, "HDEL", "nokey", "f"), b":0\r\n");

    // The big hash: hashtable.
    for i in 0..600 {
        let _: () = r.hset("big", format!("f{i}"), i).unwrap();
    }
    assert_eq!(enc(&mut r, "big"), "hashtable");
    assert_eq!(r.hlen::<_, i64>("big").unwrap(), 600);
    assert_eq!(r.hget::<_, _, String>("big", "f599").unwrap(), "599");
    let all: HashMap<String, String> = r.hgetall("big").unwrap();
    assert_eq!(all.len(), 600);
    assert_eq!(all["f17"], "17");
    let keys: Vec<String> = r.hkeys("big").unwrap();
    assert_eq!(keys.len(), 600);
    for i in 0..599 {
        let _: () = r.hdel("big", format!("f{i}")).unwrap();
    }
    assert_eq!(r.hlen::<_, i64>("big").unwrap(), 1);
    // Never converted back.
    assert_eq!(enc(&mut r, "big"), "hashtable");
    assert_eq!(cmd!(c, "HDEL", "big", "f599"), b":1\r\n");
    assert_eq!(cmd!(c, "EXISTS", "big"), b":0\r\n");
}

#[test]
fn encoding_conversions_follow_redis_limits() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "CONFIG", "SET", "hash-max-listpack-entries", "4"), b"+OK\r\n");
    assert_eq!(cmd!(c, "HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"), b":4\r\n");
    assert_eq!(enc(&mut r, "h"), "listpack");
    assert_eq!(cmd!(c, "HSET", "h", "e", "5"), b":1\r\n");
    assert_eq!(enc(&mut r, "h"), "hashtable");
    assert_eq!(cmd!(c, "CONFIG", "SET", "hash-max-listpack-value", "8"), b"+OK\r\n");
    // A long value converts, as does a long field.
    assert_eq!(cmd!(c, "HSET", "v", "a", "123456789"), b":1\r\n");
    assert_eq!(enc(&mut r, "v"), "hashtable");
    assert_eq!(cmd!(c, "HSET", "f", "123456789", "a"), b":1\r\n");
    assert_eq!(enc(&mut r, "f"), "hashtable");
    assert_eq!(cmd!(c, "HSET", "ok", "12345678", "12345678"), b":1\r\n");
    assert_eq!(enc(&mut r, "ok"), "listpack");
    // Ported from "HINCRBYFLOAT over hash-max-listpack-value encoded with a listpack".
    cmd!(c, "HSET", "small", "tmp", "0");
    cmd!(c, "HSET", "large", "tmp", "0");
    cmd!(c, "HINCRBYFLOAT", "small", "tmp", "0.000005");
    cmd!(c, "HINCRBYFLOAT", "large", "tmp", "0.0000005");
    assert_eq!(enc(&mut r, "small"), "listpack");
    assert_eq!(enc(&mut r, "large"), "hashtable");
    cmd!(c, "HINCRBYFLOAT", "small2", "abcdefgh", "1");
    cmd!(c, "HINCRBYFLOAT", "large2", "abcdefghi", "1");
    assert_eq!(enc(&mut r, "small2"), "listpack");
    assert_eq!(enc(&mut r, "large2"), "hashtable");
}

#[test]
fn counters() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "HINCRBY", "h", "n", "2"), b":2\r\n");
    assert_eq!(cmd!(c, "HINCRBY", "h", "n", "-5"), b":-3\r\n");
    assert_eq!(cmd!(c, "HSET", "h", "big", "17179869184"), b":1\r\n");
    assert_eq!(cmd!(c, "HINCRBY", "h", "big", "17179869184"), b":34359738368\r\n");
    cmd!(c, "HSET", "h", "s", " 11");
    assert_eq!(
        cmd!(c, "HINCRBY", "h", "s", "1"),
        b"-ERR hash value is not an integer\r\n"
    );
    assert_eq!(
        cmd!(c, "HINCRBY", "h", "n", "x"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    cmd!(c, "HSET", "h", "m", "-9223372036854775484");
    assert_eq!(cmd!(c, "HINCRBY", "h", "m", "-1"), b":-9223372036854775485\r\n");
    assert_eq!(
        cmd!(c, "HINCRBY", "h", "m", "-10000"),
        b"-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(cmd!(c, "HGET", "h", "m"), b"$20\r\n-9223372036854775485\r\n");

    assert_eq!(cmd!(c, "HINCRBYFLOAT", "f", "x", "2.5"), b"$3\r\n2.5\r\n");
    assert_eq!(cmd!(c, "HINCRBYFLOAT", "f", "x", "3.5"), b"$1\r\n6\r\n");
    // Ported from "Test HINCRBYFLOAT for correct float representation (issue #2846)".
    assert_eq!(cmd!(c, "HINCRBYFLOAT", "g", "x", "1.23"), b"$4\r\n1.23\r\n");
    assert_eq!(cmd!(c, "HINCRBYFLOAT", "g", "x", "0.77"), b"$1\r\n2\r\n");
    assert_eq!(cmd!(c, "HINCRBYFLOAT", "g", "x", "-0.1"), b"$3\r\n1.9\r\n");
    assert_eq!(
        cmd!(c, "HINCRBYFLOAT", "f", "x", "abc"),
        b"-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        cmd!(c, "HINCRBYFLOAT", "f", "s", "+inf"),
        b"-ERR value is NaN or Infinity\r\n"
    );
    assert_eq!(cmd!(c, "EXISTS", "hfoo"), b":0\r\n");
    assert_eq!(
        cmd!(c, "HINCRBYFLOAT", "hfoo", "x", "-inf"),
        b"-ERR value is NaN or Infinity\r\n"
    );
    assert_eq!(cmd!(c, "EXISTS", "hfoo"), b":0\r\n");
    cmd!(c, "HSET", "f", "s", "11 ");
    assert_eq!(
        cmd!(c, "HINCRBYFLOAT", "f", "s", "1"),
        b"-ERR hash value is not a float\r\n"
    );
    cmd!(c, "HSET", "f", "nul", "1\x002");
    assert_eq!(
        cmd!(c, "HINCRBYFLOAT", "f", "nul", "1"),
        b"-ERR hash value is not a float\r\n"
    );
    // Long double range: past f64's maximum is still fine, past long double's is not.
    cmd!(c, "HSET", "f", "max", "1e308");
    let r = cmd!(c, "HINCRBYFLOAT", "f", "max", "1e308");
    assert!(r.starts_with(b"$309\r\n1999"), "{}", String::from_utf8_lossy(&r));
    cmd!(c, "HSET", "f", "max", "1e4932");
    assert_eq!(
        cmd!(c, "HINCRBYFLOAT", "f", "max", "1e4932"),
        b"-ERR increment would produce NaN or Infinity\r\n"
    );
}

#[test]
fn wrongtype_arity_and_syntax() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "str", "x");
    let wt = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for args in [
        &["HSET", "str", "a", "1"][..],
        &["HSETNX", "str", "a", "1"],
        &["HGET", "str", "a"],
        &["HMGET", "str", "a"],
        &["HDEL", "str", "a"],
        &["HLEN", "str"],
        &["HSTRLEN", "str", "a"],
        &["HEXISTS", "str", "a"],
        &["HKEYS", "str"],
        &["HVALS", "str"],
        &["HGETALL", "str"],
        &["HINCRBY", "str", "a", "1"],
        &["HINCRBYFLOAT", "str", "a", "1"],
        &["HRANDFIELD", "str"],
        &["HRANDFIELD", "str", "2"],
        &["HSCAN", "str", "0"],
    ] {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        assert_eq!(c.cmd(&a), wt, "{args:?}");
    }
    assert_eq!(
        cmd!(c, "HSET", "h", "a", "1", "b"),
        b"-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HMSET", "h", "a", "1", "b"),
        b"-ERR wrong number of arguments for 'hmset' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HSET", "h", "a"),
        b"-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HGET", "h"),
        b"-ERR wrong number of arguments for 'hget' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HMGET", "h"),
        b"-ERR wrong number of arguments for 'hmget' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HLEN", "h", "x"),
        b"-ERR wrong number of arguments for 'hlen' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HRANDFIELD"),
        b"-ERR wrong number of arguments for 'hrandfield' command\r\n"
    );
    assert_eq!(
        cmd!(c, "HSCAN", "h"),
        b"-ERR wrong number of arguments for 'hscan' command\r\n"
    );
    assert_eq!(cmd!(c, "EXISTS", "h"), b":0\r\n");
}

#[test]
fn hrandfield_counts_and_shapes() {
    let s = Server::start();
    let mut c = s.raw();
    for (key, big) in [("lp", false), ("ht", true)] {
        for i in 0..10 {
            cmd!(c, "HSET", key, format!("f{i}"), format!("v{i}"));
        }
        if big {
            cmd!(c, "CONFIG", "SET", "hash-max-listpack-entries", "5");
            cmd!(c, "HSET", key, "f0", "v0");
            cmd!(c, "CONFIG", "SET", "hash-max-listpack-entries", "128");
        }
    }
    let mut r = s.client();
    assert_eq!(enc(&mut r, "lp"), "listpack");
    assert_eq!(enc(&mut r, "ht"), "hashtable");
    for key in ["lp", "ht"] {
        let one: String = redis::cmd("HRANDFIELD").arg(key).query(&mut r).unwrap();
        assert!(one.starts_with('f'));
        // Negative: repeats, exact length.
        let v: Vec<String> = redis::cmd("HRANDFIELD").arg(key).arg(-1001).query(&mut r).unwrap();
        assert_eq!(v.len(), 1001);
        let v: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(-20)
            .arg("WITHVALUES")
            .query(&mut r)
            .unwrap();
        assert_eq!(v.len(), 40);
        for p in v.chunks(2) {
            assert_eq!(p[0][1..], p[1][1..]);
        }
        // Positive: distinct; whole hash when asking for more.
        for (n, want) in [(20, 10), (10, 10), (8, 8), (2, 2), (1, 1)] {
            let v: Vec<String> = redis::cmd("HRANDFIELD").arg(key).arg(n).query(&mut r).unwrap();
            assert_eq!(v.len(), want);
            assert_eq!(v.iter().collect::<HashSet<_>>().len(), want);
            let v: Vec<String> = redis::cmd("HRANDFIELD")
                .arg(key)
                .arg(n)
                .arg("withvalues")
                .query(&mut r)
                .unwrap();
            assert_eq!(v.len(), want * 2);
        }
        // Every field shows up eventually.
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let v: Vec<String> = redis::cmd("HRANDFIELD").arg(key).arg(2).query(&mut r).unwrap();
            seen.extend(v);
        }
        assert_eq!(seen.len(), 10);
    }
    assert_eq!(cmd!(c, "HRANDFIELD", "lp", "0"), b"*0\r\n");
    assert_eq!(cmd!(c, "HRANDFIELD", "nokey", "100"), b"*0\r\n");
    assert_eq!(cmd!(c, "HRANDFIELD", "nokey"), b"$-1\r\n");
    assert_eq!(cmd!(c, "HRANDFIELD", "lp", "1", "x"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "HRANDFIELD", "lp", "1", "withvalues", "x"),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        cmd!(c, "HRANDFIELD", "lp", "x"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    // Ported from "HRANDFIELD count overflow".
    assert_eq!(
        cmd!(c, "HRANDFIELD", "lp", "-9223372036854770000", "withvalues"),
        b"-ERR value is out of range\r\n"
    );
    assert_eq!(
        cmd!(c, "HRANDFIELD", "lp", "-9223372036854775808", "withvalues"),
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        cmd!(c, "HRANDFIELD", "lp", "-9223372036854775808"),
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
}

#[test]
fn resp3_shapes() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "HELLO", "3");
    cmd!(c, "HSET", "h", "a", "1");
    assert_eq!(cmd!(c, "HGETALL", "h"), b"%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(cmd!(c, "HGETALL", "nokey"), b"%0\r\n");
    assert_eq!(cmd!(c, "HGET", "h", "zz"), b"_\r\n");
    assert_eq!(cmd!(c, "HMGET", "h", "zz"), b"*1\r\n_\r\n");
    // Ported from "HRANDFIELD with RESP3": pairs nest, plain fields do not.
    assert_eq!(
        cmd!(c, "HRANDFIELD", "h", "5", "WITHVALUES"),
        b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        cmd!(c, "HRANDFIELD", "h", "-2", "WITHVALUES"),
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(cmd!(c, "HRANDFIELD", "h", "-2"), b"*2\r\n$1\r\na\r\n$1\r\na\r\n");
}

#[test]
fn hscan_both_encodings() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    // Ported from tests/unit/scan.tcl "HSCAN with encoding listpack/hashtable".
    for (key, count) in [("small", 30), ("big", 1000)] {
        let mut args = vec!["HMSET".to_string(), key.to_string()];
        for j in 0..count {
            args.push(format!("key:{j}"));
            args.push(j.to_string());
        }
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        assert_eq!(c.cmd(&a), b"+OK\r\n");
        let mut cursor = "0".to_string();
        let mut seen = HashMap::new();
        let mut calls = 0;
        loop {
            let (next, items): (String, Vec<String>) = redis::cmd("HSCAN").arg(key).arg(&cursor).query(&mut r).unwrap();
            calls += 1;
            for p in items.chunks(2) {
                assert_eq!(p[0], format!("key:{}", p[1]));
                seen.insert(p[0].clone(), p[1].clone());
            }
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), count);
        assert_eq!(calls == 1, count == 30, "{key}: {calls} calls");
    }
    // Ported from "HSCAN with PATTERN".
    cmd!(c, "HMSET", "mykey", "foo", "1", "fab", "2", "fiz", "3", "foobar", "10", "1", "a", "2", "b");
    let (cur, items): (String, Vec<String>) = redis::cmd("HSCAN")
        .arg("mykey")
        .arg(0)
        .arg("MATCH")
        .arg("foo*")
        .arg("COUNT")
        .arg(10000)
        .query(&mut r)
        .unwrap();
    assert_eq!(
        (cur.as_str(), items),
        ("0", vec!["foo".into(), "1".into(), "foobar".into(), "10".into()])
    );
    // A missing key is an empty scan; option errors come after the lookup, as in Redis.
    assert_eq!(cmd!(c, "HSCAN", "nokey", "0"), b"*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(cmd!(c, "HSCAN", "nokey", "0", "COUNT", "0"), b"*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(cmd!(c, "HSCAN", "mykey", "x"), b"-ERR invalid cursor\r\n");
    assert_eq!(cmd!(c, "HSCAN", "mykey", "0", "COUNT", "0"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "HSCAN", "mykey", "0", "COUNT", "x"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(cmd!(c, "HSCAN", "mykey", "0", "TYPE", "hash"), b"-ERR syntax error\r\n");
    assert_eq!(cmd!(c, "HSCAN", "mykey", "0", "MATCH"), b"-ERR syntax error\r\n");
}

#[test]
fn expired_hashes_are_gone() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "HSET", "h", "a", "1", "b", "2");
    assert_eq!(cmd!(c, "PEXPIRE", "h", "30"), b":1\r\n");
    wait_for("hash expiry", Duration::from_secs(5), || {
        (cmd!(c, "HLEN", "h") == b":0\r\n").then_some(())
    });
    assert_eq!(cmd!(c, "HGET", "h", "a"), b"$-1\r\n");
    // A write after expiry starts a fresh hash with no TTL.
    cmd!(c, "HSET", "g", "a", "1", "b", "2");
    cmd!(c, "PEXPIRE", "g", "30");
    wait_for("hash expiry", Duration::from_secs(5), || {
        (cmd!(c, "EXISTS", "g") == b":0\r\n").then_some(())
    });
    assert_eq!(cmd!(c, "HINCRBY", "g", "a", "5"), b":5\r\n");
    assert_eq!(cmd!(c, "HLEN", "g"), b":1\r\n");
    assert_eq!(cmd!(c, "TTL", "g"), b":-1\r\n");
    // Writes keep an unexpired TTL.
    cmd!(c, "EXPIRE", "g", "100");
    cmd!(c, "HSET", "g", "z", "1");
    cmd!(c, "HDEL", "g", "z");
    assert_eq!(cmd!(c, "TTL", "g"), b":100\r\n");
}

/// A table being resized moves along on reads too (Redis's dictFind steps it), so a
/// hash, set or sorted set read but no longer written still finishes its resize and
/// frees the old table: HGET, SISMEMBER and ZSCORE each finish one within a few hundred
/// calls (one step each, a step per non-empty bucket).
#[test]
fn a_table_resize_finishes_on_reads() {
    let s = Server::start_with(&["--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0"]);
    let mut c = s.raw();
    let rehashing = |c: &mut crate::harness::Raw, key: &str| {
        String::from_utf8_lossy(&cmd!(c, "DEBUG", "HTSTATS-KEY", key)).contains("rehashing target")
    };
    type Add = fn(usize) -> Vec<String>;
    let cases: [(&str, Add, [&str; 2]); 3] = [
        (
            "h",
            |i| vec!["HSET".into(), "h".into(), format!("f{i}"), "v".into()],
            ["HGET", "f1"],
        ),
        (
            "s",
            |i| vec!["SADD".into(), "s".into(), format!("m{i}")],
            ["SISMEMBER", "m1"],
        ),
        (
            "z",
            |i| vec!["ZADD".into(), "z".into(), i.to_string(), format!("m{i}")],
            ["ZSCORE", "m1"],
        ),
    ];
    for (key, add, [read, arg]) in cases {
        // Grown past 256 buckets: the move to 512 is under way.
        let mut i = 0;
        while !(i > 256 && rehashing(&mut c, key)) {
            let argv = add(i);
            c.send_cmd(&argv.iter().map(String::as_bytes).collect::<Vec<_>>());
            c.read();
            i += 1;
            assert!(i < 2000, "{key}: no resize seen");
        }
        let mut reads = 0;
        while rehashing(&mut c, key) {
            c.send_cmd(&[read.as_bytes(), key.as_bytes(), arg.as_bytes()]);
            c.read();
            reads += 1;
            assert!(reads < 1000, "{key}: {read} does not move the resize along");
        }
        assert!(reads > 0);
        assert!(String::from_utf8_lossy(&cmd!(c, "DEBUG", "HTSTATS-KEY", key)).contains("table size: 512"));
    }
}

/// A big hash's pairs of up to 14 bytes of field and value live in their table nodes:
/// 40 to 48 bytes a pair (Redis: 64), built by HSET or loaded from a file.
#[test]
fn short_pairs_of_a_big_hash_need_no_block_of_their_own() {
    let s = Server::start();
    let mut c = s.raw();
    const N: u64 = 50_000;
    let (built, loaded) = bytes_per_item(&s, N, |p, i| {
        p.cmd("HSET")
            .arg("counts")
            .arg(format!("u:{i:07}"))
            .arg(i % 100)
            .ignore();
    });
    assert!(built < 52 && loaded < 52, "{built} bytes a pair built, {loaded} loaded");
    assert_eq!(cmd!(c, "HGET", "counts", "u:0049999"), b"$2\r\n99\r\n");
    // A value growing past the inline room, and back.
    let long = "a value longer than fifteen bytes";
    cmd!(c, "HSET", "counts", "u:0000007", long);
    assert_eq!(
        cmd!(c, "HGET", "counts", "u:0000007"),
        format!("${}\r\n{long}\r\n", long.len()).as_bytes()
    );
    cmd!(c, "HINCRBY", "counts", "u:0000008", "1");
    assert_eq!(cmd!(c, "HGET", "counts", "u:0000008"), b"$1\r\n9\r\n");
    assert_eq!(cmd!(c, "HLEN", "counts"), format!(":{N}\r\n").as_bytes());
}
