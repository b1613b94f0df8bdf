//! Sorted-set commands over TCP, in both encodings: ZADD's options and errors, score
//! parsing and formatting, the ZRANGE family, removal, the multi-key algebra, pops
//! (blocking too), ZRANDMEMBER, WRONGTYPE, arity and expiry. Cases follow
//! tests/unit/type/zset.tcl.
use std::time::Duration;

use crate::cmd;
use crate::harness::{bytes_per_item, wait_for, Raw, Server};

/// Compares replies as text, so a failure shows readable RESP.
macro_rules! check {
    ($got:expr, $want:expr $(,)?) => {
        assert_eq!(
            String::from_utf8_lossy(&$got),
            String::from_utf8_lossy(AsRef::<[u8]>::as_ref(&$want))
        )
    };
}

/// Runs `f` once with listpack-encoded sets and once with skiplist-encoded ones.
fn both_encodings(mut f: impl FnMut(&mut Raw, &str)) {
    let s = Server::start();
    let mut c = s.raw();
    f(&mut c, "listpack");
    cmd!(c, "FLUSHALL");
    cmd!(c, "CONFIG", "SET", "zset-max-listpack-entries", "0");
    f(&mut c, "skiplist");
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// RESP2 array of bulk strings.
fn arr(items: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", items.len());
    for i in items {
        v.push_str(&bulk(i));
    }
    v.into_bytes()
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn err(s: &str) -> Vec<u8> {
    format!("-{s}\r\n").into_bytes()
}

/// Polls INFO until `n` clients are blocked.
fn wait_blocked(s: &Server, n: usize) {
    let mut c = s.raw();
    wait_for("blocked clients", Duration::from_secs(5), || {
        let info = cmd!(c, "INFO", "clients");
        String::from_utf8_lossy(&info)
            .contains(&format!("blocked_clients:{n}\r"))
            .then_some(())
    });
}

#[test]
fn zadd_options_and_errors() {
    both_encodings(|c, enc| {
        check!(cmd!(c, "ZADD", "z", "10", "x", "20", "y", "30", "z"), int(3));
        check!(cmd!(c, "OBJECT", "ENCODING", "z"), bulk(enc).into_bytes());
        check!(cmd!(c, "ZADD", "z", "1", "y"), int(0));
        check!(cmd!(c, "ZRANGE", "z", "0", "-1"), arr(&["y", "x", "z"]));
        check!(cmd!(c, "ZADD", "z", "XX", "5", "foo", "11", "x"), int(0));
        check!(cmd!(c, "ZSCORE", "z", "x"), bulk("11").into_bytes());
        check!(cmd!(c, "ZSCORE", "z", "foo"), b"$-1\r\n");
        check!(cmd!(c, "ZADD", "z", "NX", "99", "x", "7", "n"), int(1));
        check!(cmd!(c, "ZSCORE", "z", "x"), bulk("11").into_bytes());
        check!(
            cmd!(c, "ZADD", "z", "GT", "CH", "12", "x", "0", "z", "4", "new"),
            int(2)
        );
        check!(cmd!(c, "ZADD", "z", "LT", "CH", "13", "x", "29", "z"), int(1));
        check!(cmd!(c, "ZADD", "z", "CH", "29", "z", "30", "z"), int(1));
        check!(cmd!(c, "ZADD", "z", "INCR", "2.5", "x"), bulk("14.5").into_bytes());
        check!(cmd!(c, "ZADD", "z", "LT", "INCR", "1", "x"), b"$-1\r\n");
        check!(cmd!(c, "ZADD", "z", "XX", "INCR", "1", "nope"), b"$-1\r\n");
        check!(
            cmd!(c, "ZADD", "z", "XX", "NX", "1", "a"),
            err("ERR XX and NX options at the same time are not compatible")
        );
        for opts in [["GT", "LT"], ["GT", "NX"], ["LT", "NX"]] {
            check!(
                cmd!(c, "ZADD", "z", opts[0], opts[1], "1", "a"),
                err("ERR GT, LT, and/or NX options at the same time are not compatible")
            );
        }
        check!(
            cmd!(c, "ZADD", "z", "INCR", "1", "a", "2", "b"),
            err("ERR INCR option supports a single increment-element pair")
        );
        check!(cmd!(c, "ZADD", "z", "XX", "10", "x", "20"), err("ERR syntax error"));
        check!(cmd!(c, "ZADD", "z", "NX", "CH"), err("ERR syntax error"));
        check!(
            cmd!(c, "ZADD", "z", "1"),
            err("ERR wrong number of arguments for 'zadd' command")
        );
        // All or nothing: a bad score anywhere leaves the key alone.
        check!(
            cmd!(c, "ZADD", "bad", "10", "a", "20", "b", "30.badscore", "c"),
            err("ERR value is not a valid float")
        );
        check!(cmd!(c, "EXISTS", "bad"), int(0));
        check!(
            cmd!(c, "ZADD", "bad", "nan", "a"),
            err("ERR value is not a valid float")
        );
        check!(cmd!(c, "ZADD", "bad", "", "a"), err("ERR value is not a valid float"));
        check!(cmd!(c, "ZADD", "bad", "XX", "1", "a"), int(0));
        check!(cmd!(c, "EXISTS", "bad"), int(0));
        // +inf plus -inf is refused before any change.
        check!(cmd!(c, "ZADD", "inf", "+inf", "a"), int(1));
        check!(
            cmd!(c, "ZINCRBY", "inf", "-inf", "a"),
            err("ERR resulting score is not a number (NaN)")
        );
        check!(cmd!(c, "ZSCORE", "inf", "a"), bulk("inf").into_bytes());
        check!(cmd!(c, "ZINCRBY", "inf", "1", "b"), bulk("1").into_bytes());
        check!(
            cmd!(c, "ZINCRBY", "inf", "1", "b", "2"),
            err("ERR wrong number of arguments for 'zincrby' command")
        );
        cmd!(c, "SET", "str", "x");
        check!(
            cmd!(c, "ZADD", "str", "1", "a"),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
    });
}

#[test]
fn scores_format_like_redis() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "ZADD", "z", "0.1", "a", "1e300", "b", "-0", "c", "3.0", "d");
    check!(
        cmd!(c, "ZRANGE", "z", "0", "-1", "WITHSCORES"),
        arr(&[
            "c",
            "0",
            "a",
            "0.10000000000000001",
            "d",
            "3",
            "b",
            "1.0000000000000001e+300"
        ])
    );
    let dblmax = "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00000000000000000";
    cmd!(c, "ZADD", "zz", dblmax, "m");
    check!(
        cmd!(c, "ZSCORE", "zz", "m"),
        bulk("1.7976931348623157e+308").into_bytes()
    );
    // The listpack encoding keeps whole scores as integers, which have no -0 (Redis's
    // zzlInsertAt); the skiplist keeps the double.
    cmd!(c, "CONFIG", "SET", "zset-max-listpack-entries", "0");
    cmd!(c, "ZADD", "big", "-0", "c");
    check!(cmd!(c, "ZSCORE", "big", "c"), bulk("-0").into_bytes());
    cmd!(c, "HELLO", "3");
    check!(cmd!(c, "ZSCORE", "z", "d"), b",3\r\n");
    check!(
        cmd!(c, "ZRANGE", "z", "0", "0", "WITHSCORES"),
        b"*1\r\n*2\r\n$1\r\nc\r\n,0\r\n"
    );
    check!(
        cmd!(c, "ZRANGE", "big", "0", "0", "WITHSCORES"),
        b"*1\r\n*2\r\n$1\r\nc\r\n,-0\r\n"
    );
}

#[test]
fn ranges_by_rank_score_and_lex() {
    both_encodings(|c, _| {
        cmd!(c, "ZADD", "z", "-inf", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "+inf", "g");
        check!(cmd!(c, "ZRANGE", "z", "1", "-2"), arr(&["b", "c", "d", "e", "f"]));
        check!(cmd!(c, "ZRANGE", "z", "-100", "1"), arr(&["a", "b"]));
        check!(cmd!(c, "ZRANGE", "z", "5", "2"), arr(&[]));
        check!(
            cmd!(c, "ZREVRANGE", "z", "0", "1", "WITHSCORES"),
            arr(&["g", "inf", "f", "5"])
        );
        check!(cmd!(c, "ZRANGEBYSCORE", "z", "(1", "3"), arr(&["c", "d"]));
        check!(cmd!(c, "ZRANGEBYSCORE", "z", "-inf", "(-inf"), arr(&[]));
        check!(cmd!(c, "ZREVRANGEBYSCORE", "z", "+inf", "4"), arr(&["g", "f", "e"]));
        check!(
            cmd!(c, "ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "2", "3"),
            arr(&["d", "e", "f"])
        );
        check!(cmd!(c, "ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "-1", "3"), arr(&[]));
        check!(
            cmd!(c, "ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "4", "-1"),
            arr(&["f"])
        );
        check!(
            cmd!(c, "ZREVRANGEBYSCORE", "z", "10", "0", "LIMIT", "2", "3"),
            arr(&["d", "c", "b"])
        );
        check!(
            cmd!(
                c,
                "ZRANGE",
                "z",
                "5",
                "0",
                "BYSCORE",
                "REV",
                "LIMIT",
                "0",
                "2",
                "WITHSCORES"
            ),
            arr(&["f", "5", "e", "4"])
        );
        check!(cmd!(c, "ZCOUNT", "z", "(0", "(3"), int(2));
        check!(cmd!(c, "ZCOUNT", "z", "3", "0"), int(0));
        check!(
            cmd!(c, "ZRANGEBYSCORE", "z", "str", "1"),
            err("ERR min or max is not a float")
        );
        check!(
            cmd!(c, "ZRANGEBYSCORE", "z", "1", "NaN"),
            err("ERR min or max is not a float")
        );
        // strtod reads range bounds: an empty bound is 0 and out-of-range values clamp.
        check!(cmd!(c, "ZCOUNT", "z", "", "1e999"), int(6));

        cmd!(c, "DEL", "l");
        cmd!(c, "ZADD", "l", "0", "alpha", "0", "bar", "0", "cool", "0", "down", "0", "elephant", "0", "foo");
        check!(
            cmd!(c, "ZRANGEBYLEX", "l", "-", "[cool"),
            arr(&["alpha", "bar", "cool"])
        );
        check!(cmd!(c, "ZRANGEBYLEX", "l", "(bar", "(down"), arr(&["cool"]));
        check!(
            cmd!(c, "ZREVRANGEBYLEX", "l", "+", "[d", "LIMIT", "0", "2"),
            arr(&["foo", "elephant"])
        );
        check!(cmd!(c, "ZRANGE", "l", "[b", "[d", "BYLEX"), arr(&["bar", "cool"]));
        check!(cmd!(c, "ZLEXCOUNT", "l", "-", "+"), int(6));
        check!(cmd!(c, "ZLEXCOUNT", "l", "+", "-"), int(0));
        check!(cmd!(c, "ZLEXCOUNT", "l", "[bar", "(foo"), int(4));
        for (min, max) in [("foo", "bar"), ("[foo", "bar"), ("+x", "[bar"), ("-x", "[bar")] {
            check!(
                cmd!(c, "ZRANGEBYLEX", "l", min, max),
                err("ERR min or max not valid string range item")
            );
        }

        // Option errors, in Redis's words.
        check!(
            cmd!(c, "ZRANGE", "z", "0", "-1", "LIMIT", "1", "2"),
            err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        );
        check!(
            cmd!(c, "ZRANGE", "z", "0", "-1", "BYLEX", "WITHSCORES"),
            err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        );
        check!(cmd!(c, "ZREVRANGE", "z", "0", "-1", "BYSCORE"), err("ERR syntax error"));
        check!(cmd!(c, "ZRANGEBYSCORE", "z", "0", "-1", "REV"), err("ERR syntax error"));
        check!(cmd!(c, "ZRANGE", "z", "0", "-1", "LIMIT", "1"), err("ERR syntax error"));
        check!(
            cmd!(c, "ZRANGE", "z", "a", "-1"),
            err("ERR value is not an integer or out of range")
        );
        check!(cmd!(c, "ZRANGE", "nokey", "0", "-1"), arr(&[]));
    });
}

#[test]
fn zrangestore_and_destination_encoding() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "ZADD", "src", "1", "a", "2", "b", "3", "c", "4", "d");
    check!(cmd!(c, "ZRANGESTORE", "dst", "src", "1", "2"), int(2));
    check!(
        cmd!(c, "ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        arr(&["b", "2", "c", "3"])
    );
    check!(
        cmd!(
            c,
            "ZRANGESTORE",
            "dst",
            "src",
            "5",
            "0",
            "BYSCORE",
            "REV",
            "LIMIT",
            "0",
            "2"
        ),
        int(2)
    );
    check!(cmd!(c, "ZRANGE", "dst", "0", "-1"), arr(&["c", "d"]));
    check!(
        cmd!(c, "ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"),
        err("ERR syntax error")
    );
    // An empty result deletes the destination.
    check!(cmd!(c, "ZRANGESTORE", "dst", "src", "[f", "[g", "BYLEX"), int(0));
    check!(cmd!(c, "EXISTS", "dst"), int(0));
    cmd!(c, "SET", "str", "x");
    cmd!(c, "ZADD", "dst", "1", "keep");
    check!(
        cmd!(c, "ZRANGESTORE", "dst", "str", "0", "-1"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    check!(cmd!(c, "ZRANGE", "dst", "0", "-1"), arr(&["keep"]));
    // The destination's encoding follows the number of elements stored.
    cmd!(c, "CONFIG", "SET", "zset-max-listpack-entries", "1");
    check!(cmd!(c, "ZRANGESTORE", "d1", "src", "0", "0"), int(1));
    check!(cmd!(c, "OBJECT", "ENCODING", "d1"), bulk("listpack").into_bytes());
    check!(cmd!(c, "ZRANGESTORE", "d2", "src", "0", "1"), int(2));
    check!(cmd!(c, "OBJECT", "ENCODING", "d2"), bulk("skiplist").into_bytes());
    cmd!(c, "CONFIG", "SET", "zset-max-listpack-entries", "0");
    check!(cmd!(c, "ZRANGESTORE", "d3", "src", "0", "0"), int(1));
    check!(cmd!(c, "OBJECT", "ENCODING", "d3"), bulk("skiplist").into_bytes());
}

#[test]
fn removal_and_rank() {
    both_encodings(|c, _| {
        cmd!(c, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
        check!(cmd!(c, "ZRANK", "z", "c"), int(2));
        check!(cmd!(c, "ZREVRANK", "z", "c"), int(2));
        check!(cmd!(c, "ZREVRANK", "z", "a"), int(4));
        check!(cmd!(c, "ZRANK", "z", "zz"), b"$-1\r\n");
        check!(cmd!(c, "ZRANK", "nokey", "a"), b"$-1\r\n");
        check!(
            cmd!(c, "ZMSCORE", "z", "a", "zz", "e"),
            b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n5\r\n"
        );
        check!(cmd!(c, "ZMSCORE", "nokey", "a"), b"*1\r\n$-1\r\n");
        check!(cmd!(c, "ZREMRANGEBYRANK", "z", "1", "1"), int(1));
        check!(cmd!(c, "ZREMRANGEBYSCORE", "z", "(3", "+inf"), int(2));
        check!(
            cmd!(c, "ZREMRANGEBYSCORE", "z", "x", "1"),
            err("ERR min or max is not a float")
        );
        check!(cmd!(c, "ZRANGE", "z", "0", "-1"), arr(&["a", "c"]));
        check!(cmd!(c, "ZREM", "z", "x", "a", "y"), int(1));
        check!(cmd!(c, "ZREM", "z", "c", "d"), int(1));
        check!(cmd!(c, "EXISTS", "z"), int(0));
        cmd!(c, "ZADD", "l", "0", "a", "0", "b", "0", "c");
        check!(cmd!(c, "ZREMRANGEBYLEX", "l", "[a", "(c"), int(2));
        check!(cmd!(c, "ZREMRANGEBYLEX", "l", "-", "+"), int(1));
        check!(cmd!(c, "EXISTS", "l"), int(0));
        check!(cmd!(c, "ZREMRANGEBYRANK", "nokey", "0", "-1"), int(0));
        check!(cmd!(c, "ZCARD", "nokey"), int(0));
        cmd!(c, "SET", "str", "x");
        for args in [
            vec!["ZREM", "str", "a"],
            vec!["ZCARD", "str"],
            vec!["ZRANK", "str", "a"],
            vec!["ZSCORE", "str", "a"],
            vec!["ZRANGE", "str", "0", "1"],
            vec!["ZREMRANGEBYRANK", "str", "0", "1"],
            vec!["ZCOUNT", "str", "0", "1"],
        ] {
            let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
            assert_eq!(
                c.cmd(&a),
                err("WRONGTYPE Operation against a key holding the wrong kind of value")
            );
        }
    });
}

#[test]
fn union_inter_diff() {
    both_encodings(|c, _| {
        cmd!(c, "ZADD", "za", "1", "a", "2", "b", "3", "c");
        cmd!(c, "ZADD", "zb", "1", "b", "2", "c", "3", "d");
        // Plain sets take part once SADD exists (the set family).
        let have_sets = cmd!(c, "SADD", "sa", "a", "b", "c") == int(3);
        check!(cmd!(c, "ZUNIONSTORE", "out", "2", "za", "zb"), int(4));
        check!(
            cmd!(c, "ZRANGE", "out", "0", "-1", "WITHSCORES"),
            arr(&["a", "1", "b", "3", "d", "3", "c", "5"])
        );
        check!(
            cmd!(c, "ZUNION", "2", "za", "zb", "WEIGHTS", "2", "3", "WITHSCORES"),
            arr(&["a", "2", "b", "7", "d", "9", "c", "12"])
        );
        check!(
            cmd!(c, "ZINTER", "2", "za", "zb", "AGGREGATE", "MAX", "WITHSCORES"),
            arr(&["b", "2", "c", "3"])
        );
        if have_sets {
            check!(
                cmd!(c, "ZINTERSTORE", "out", "2", "sa", "zb", "WEIGHTS", "2", "3"),
                int(2)
            );
            check!(
                cmd!(c, "ZRANGE", "out", "0", "-1", "WITHSCORES"),
                arr(&["b", "5", "c", "8"])
            );
        }
        check!(cmd!(c, "ZDIFF", "2", "za", "zb", "WITHSCORES"), arr(&["a", "1"]));
        check!(cmd!(c, "ZDIFFSTORE", "out", "2", "za", "za"), int(0));
        check!(cmd!(c, "EXISTS", "out"), int(0));
        check!(cmd!(c, "ZINTERCARD", "2", "za", "zb"), int(2));
        check!(cmd!(c, "ZINTERCARD", "2", "za", "zb", "LIMIT", "1"), int(1));
        check!(
            cmd!(c, "ZINTERCARD", "1", "za", "LIMIT", "-1"),
            err("ERR LIMIT can't be negative")
        );
        check!(cmd!(c, "ZUNION", "1", "nokey"), arr(&[]));
        // inf - inf sums to 0, as in Redis.
        cmd!(c, "ZADD", "i1", "+inf", "k");
        cmd!(c, "ZADD", "i2", "-inf", "k");
        cmd!(c, "ZUNIONSTORE", "i3", "2", "i1", "i2");
        check!(cmd!(c, "ZSCORE", "i3", "k"), bulk("0").into_bytes());
        cmd!(c, "ZUNIONSTORE", "i3", "1", "i2", "WEIGHTS", "0");
        check!(cmd!(c, "ZSCORE", "i3", "k"), bulk("0").into_bytes());
        check!(
            cmd!(c, "ZUNION", "2", "i1", "i2", "WEIGHTS", "nan", "nan"),
            err("ERR weight value is not a float")
        );
        check!(
            cmd!(c, "ZUNION", "0", "za"),
            err("ERR at least 1 input key is needed for 'zunion' command")
        );
        check!(
            cmd!(c, "ZDIFFSTORE", "o", "0", "za"),
            err("ERR at least 1 input key is needed for 'zdiffstore' command")
        );
        check!(cmd!(c, "ZUNION", "3", "za", "zb"), err("ERR syntax error"));
        check!(
            cmd!(c, "ZUNIONSTORE", "o", "2", "za", "zb", "WITHSCORES"),
            err("ERR syntax error")
        );
        check!(
            cmd!(c, "ZDIFF", "2", "za", "zb", "WEIGHTS", "1", "2"),
            err("ERR syntax error")
        );
        check!(
            cmd!(c, "ZUNION", "1", "za", "AGGREGATE", "AVG"),
            err("ERR syntax error")
        );
        cmd!(c, "SET", "str", "x");
        // Types are checked before the options.
        check!(
            cmd!(c, "ZUNION", "2", "za", "str", "BAD"),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        cmd!(c, "HELLO", "3");
        check!(
            cmd!(c, "ZINTER", "2", "za", "zb", "WITHSCORES"),
            b"*2\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,5\r\n"
        );
        cmd!(c, "HELLO", "2");
    });
}

#[test]
fn pops_and_zmpop() {
    both_encodings(|c, _| {
        cmd!(c, "ZADD", "z", "-1", "a", "1", "b", "2", "c", "3", "d", "4", "e");
        check!(cmd!(c, "ZPOPMIN", "z"), arr(&["a", "-1"]));
        check!(cmd!(c, "ZPOPMAX", "z", "2"), arr(&["e", "4", "d", "3"]));
        check!(cmd!(c, "ZPOPMIN", "z", "0"), arr(&[]));
        check!(
            cmd!(c, "ZPOPMIN", "z", "-1"),
            err("ERR value is out of range, must be positive")
        );
        check!(cmd!(c, "ZPOPMIN", "z", "1", "2"), err("ERR syntax error"));
        check!(
            cmd!(c, "ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "10"),
            b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n1\r\n*2\r\n$1\r\nc\r\n$1\r\n2\r\n"
        );
        check!(cmd!(c, "EXISTS", "z"), int(0));
        check!(cmd!(c, "ZPOPMIN", "z"), arr(&[]));
        check!(cmd!(c, "ZMPOP", "1", "z", "MIN"), b"*-1\r\n");
        check!(
            cmd!(c, "ZMPOP", "0", "z", "MIN"),
            err("ERR numkeys should be greater than 0")
        );
        check!(
            cmd!(c, "ZMPOP", "a", "z", "MIN"),
            err("ERR numkeys should be greater than 0")
        );
        check!(
            cmd!(c, "ZMPOP", "1", "z", "MIN", "COUNT", "0"),
            err("ERR count should be greater than 0")
        );
        check!(
            cmd!(c, "ZMPOP", "1", "z", "MAX", "COUNT", "1", "COUNT", "2"),
            err("ERR syntax error")
        );
        check!(cmd!(c, "ZMPOP", "1", "z", "bad"), err("ERR syntax error"));
        check!(cmd!(c, "ZMPOP", "5", "z", "MIN"), err("ERR syntax error"));
        cmd!(c, "SET", "str", "x");
        check!(
            cmd!(c, "ZMPOP", "2", "z", "str", "MIN"),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        check!(
            cmd!(c, "ZPOPMIN", "str", "-1"),
            err("ERR value is out of range, must be positive")
        );
        cmd!(c, "ZADD", "z", "0", "a", "1", "b");
        cmd!(c, "HELLO", "3");
        check!(cmd!(c, "ZPOPMIN", "z"), b"*2\r\n$1\r\na\r\n,0\r\n");
        check!(cmd!(c, "ZPOPMAX", "z", "1"), b"*1\r\n*2\r\n$1\r\nb\r\n,1\r\n");
        cmd!(c, "HELLO", "2");
    });
}

#[test]
fn blocking_pops() {
    let s = Server::start();
    let mut c = s.raw();
    let mut b = s.raw();
    // Served at once when there is something to pop.
    cmd!(c, "ZADD", "z2", "1", "a");
    check!(cmd!(b, "BZPOPMIN", "z1", "z2", "1"), arr(&["z2", "a", "1"]));
    // Times out with a null array.
    check!(cmd!(b, "BZPOPMAX", "z1", "0.01"), b"*-1\r\n");
    check!(cmd!(b, "BZMPOP", "0.01", "1", "z1", "MIN"), b"*-1\r\n");
    // Waits, then is served by a later ZADD.
    b.send(b"*3\r\n$8\r\nBZPOPMIN\r\n$2\r\nz1\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    check!(cmd!(c, "ZADD", "z1", "-1", "foo", "1", "bar"), int(2));
    check!(b.read(), arr(&["z1", "foo", "-1"]));
    check!(cmd!(c, "ZRANGE", "z1", "0", "-1"), arr(&["bar"]));
    cmd!(c, "DEL", "z1");
    b.send(b"*7\r\n$6\r\nBZMPOP\r\n$1\r\n0\r\n$1\r\n1\r\n$2\r\nz1\r\n$3\r\nMAX\r\n$5\r\nCOUNT\r\n$1\r\n5\r\n");
    wait_blocked(&s, 1);
    // A key of another type does not wake it.
    cmd!(c, "SET", "z1", "x");
    cmd!(c, "DEL", "z1");
    cmd!(c, "ZADD", "z1", "1", "a", "2", "b");
    check!(
        b.read(),
        b"*2\r\n$2\r\nz1\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n".to_vec()
    );
    check!(cmd!(b, "BZPOPMIN", "z1", "-1"), err("ERR timeout is negative"));
    check!(
        cmd!(b, "BZPOPMIN", "z1", "x"),
        err("ERR timeout is not a float or out of range")
    );
    check!(
        cmd!(b, "BZMPOP", "0", "0", "z1", "MIN"),
        err("ERR numkeys should be greater than 0")
    );
    cmd!(c, "SET", "str", "x");
    check!(
        cmd!(b, "BZPOPMIN", "str", "0"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
}

#[test]
fn zrandmember_counts() {
    both_encodings(|c, _| {
        check!(cmd!(c, "ZRANDMEMBER", "nokey"), b"$-1\r\n");
        check!(cmd!(c, "ZRANDMEMBER", "nokey", "5"), arr(&[]));
        cmd!(
            c, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f", "7", "g", "8", "h", "9", "i",
            "10", "j"
        );
        check!(cmd!(c, "ZRANDMEMBER", "z", "0"), arr(&[]));
        let r = cmd!(c, "ZRANDMEMBER", "z", "-20", "WITHSCORES");
        assert!(r.starts_with(b"*40\r\n"));
        let r = cmd!(c, "ZRANDMEMBER", "z", "20");
        assert!(r.starts_with(b"*10\r\n"));
        for n in [1, 3, 8] {
            let r = cmd!(c, "ZRANDMEMBER", "z", n.to_string());
            let text = String::from_utf8_lossy(&r).to_string();
            let mut members: Vec<&str> = text.split("\r\n").filter(|l| l.len() == 1).collect();
            assert_eq!(members.len(), n);
            members.sort_unstable();
            members.dedup();
            assert_eq!(members.len(), n, "distinct members for count {n}");
        }
        check!(cmd!(c, "ZRANDMEMBER", "z", "1", "foo"), err("ERR syntax error"));
        check!(
            cmd!(c, "ZRANDMEMBER", "z", "-9223372036854770000", "WITHSCORES"),
            err("ERR value is out of range")
        );
        check!(
            cmd!(c, "ZRANDMEMBER", "z", "-9223372036854775808"),
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        cmd!(c, "HELLO", "3");
        assert!(cmd!(c, "ZRANDMEMBER", "z", "2", "WITHSCORES").starts_with(b"*2\r\n*2\r\n$1\r\n"));
        cmd!(c, "HELLO", "2");
    });
}

#[test]
fn expired_keys_are_absent() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "ZADD", "z", "1", "a");
    cmd!(c, "PEXPIRE", "z", "1");
    wait_for("key to expire", Duration::from_secs(5), || {
        (cmd!(c, "ZCARD", "z") == int(0)).then_some(())
    });
    check!(cmd!(c, "ZSCORE", "z", "a"), b"$-1\r\n");
    // A fresh set replaces the expired one without its TTL.
    check!(cmd!(c, "ZADD", "z", "2", "b"), int(1));
    check!(cmd!(c, "TTL", "z"), int(-1));
    check!(cmd!(c, "ZRANGE", "z", "0", "-1"), arr(&["b"]));
    // A stored result drops the destination's TTL.
    cmd!(c, "ZADD", "dst", "1", "x");
    cmd!(c, "EXPIRE", "dst", "100");
    check!(cmd!(c, "ZUNIONSTORE", "dst", "1", "z"), int(1));
    check!(cmd!(c, "TTL", "dst"), int(-1));
}

#[test]
fn sort_converts_a_small_sorted_set_and_mixed_scores_give_redis_lex_ranges() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "ZADD", "z", "1", "a", "2", "b");
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "z"), b"$8\r\nlistpack\r\n");
    assert_eq!(cmd!(c, "SORT", "z", "BY", "nosort"), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "z"), b"$8\r\nskiplist\r\n");
    cmd!(c, "ZADD", "z2", "1", "a");
    assert!(cmd!(c, "SORT_RO", "z2").starts_with(b"-ERR One or more scores"));
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "z2"), b"$8\r\nskiplist\r\n");
    // Members out of lex order (different scores): the last member is below the
    // minimum, so nothing is in range, as in Redis.
    cmd!(c, "ZADD", "zl", "0", "b", "10", "3");
    assert_eq!(cmd!(c, "ZRANGE", "zl", "(a", "[c", "BYLEX"), b"*0\r\n");
    assert_eq!(cmd!(c, "ZLEXCOUNT", "zl", "(a", "[c"), b":0\r\n");
    assert_eq!(cmd!(c, "ZLEXCOUNT", "zl", "[b", "+"), b":0\r\n");
    assert_eq!(cmd!(c, "ZREMRANGEBYLEX", "zl", "(a", "[c"), b":0\r\n");
    // From the first member >= min, while members are <= max.
    cmd!(c, "ZADD", "zm", "0", "b", "1", "z", "2", "c", "3", "d");
    assert_eq!(cmd!(c, "ZRANGEBYLEX", "zm", "[a", "[e"), b"*1\r\n$1\r\nb\r\n");
    assert_eq!(cmd!(c, "ZLEXCOUNT", "zm", "[c", "[e"), b":0\r\n");
    // Down from the last member <= max, while members are >= min.
    assert_eq!(
        cmd!(c, "ZREVRANGEBYLEX", "zm", "[e", "[a"),
        b"*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nz\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        cmd!(c, "ZRANGE", "zm", "[y", "[c", "BYLEX", "REV"),
        b"*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nz\r\n"
    );
}

/// A big sorted set's members of up to 7 bytes (numeric ids of a leaderboard) are kept
/// with their scores inside their table nodes, with no block of their own.
#[test]
fn short_members_of_a_big_sorted_set_need_no_block_of_their_own() {
    let s = Server::start();
    let mut c = s.raw();
    const N: u64 = 50_000;
    let (built, loaded) = bytes_per_item(&s, N, |p, i| {
        p.cmd("ZADD").arg("board").arg(i * 7919 % 100_000).arg(i).ignore();
    });
    assert!(
        built < 72 && loaded < 72,
        "{built} bytes a member built, {loaded} loaded"
    );
    assert_eq!(cmd!(c, "ZSCORE", "board", "49999"), b"$5\r\n42081\r\n");
    assert_eq!(cmd!(c, "ZINCRBY", "board", "0.5", "49999"), b"$7\r\n42081.5\r\n");
    assert_eq!(cmd!(c, "ZRANK", "board", "49999"), b":21045\r\n");
}
