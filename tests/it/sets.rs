//! Set commands over TCP: intset and hashtable encodings and conversions, random picks
//! (SPOP/SRANDMEMBER count strategies), SMOVE, the set algebra and its STORE forms,
//! SSCAN, WRONGTYPE, parse errors (full text), arity, RESP3 shapes and expiry.
//! Cases follow tests/unit/type/set.tcl and tests/unit/scan.tcl.
use std::collections::HashSet;
use std::time::Duration;

use crate::cmd;
use crate::harness::{bytes_per_item, wait_for, Server};
use redis::Commands;

fn enc(r: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT").arg("ENCODING").arg(key).query(r).unwrap()
}

fn members(r: &mut redis::Connection, key: &str) -> Vec<String> {
    let mut v: Vec<String> = r.smembers(key).unwrap();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn basics_in_both_encodings() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SADD", "i", "17", "16", "16"), b":2\r\n");
    assert_eq!(enc(&mut r, "i"), "intset");
    // Intsets iterate in numeric order.
    assert_eq!(cmd!(c, "SMEMBERS", "i"), b"*2\r\n$2\r\n16\r\n$2\r\n17\r\n");
    assert_eq!(cmd!(c, "SISMEMBER", "i", "16"), b":1\r\n");
    assert_eq!(cmd!(c, "SISMEMBER", "i", "016"), b":0\r\n");
    assert_eq!(cmd!(c, "SMISMEMBER", "i", "18", "16"), b"*2\r\n:0\r\n:1\r\n");
    assert_eq!(cmd!(c, "SMISMEMBER", "nokey", "a", "b"), b"*2\r\n:0\r\n:0\r\n");
    assert_eq!(cmd!(c, "SCARD", "i"), b":2\r\n");
    assert_eq!(cmd!(c, "SCARD", "nokey"), b":0\r\n");
    assert_eq!(cmd!(c, "SMEMBERS", "nokey"), b"*0\r\n");
    // Ported from "SADD a non-integer against an intset" and "SADD an integer larger
    // than 64 bits".
    assert_eq!(cmd!(c, "SADD", "i", "a"), b":1\r\n");
    assert_eq!(enc(&mut r, "i"), "hashtable");
    assert_eq!(members(&mut r, "i"), strs(&["16", "17", "a"]));
    cmd!(c, "SADD", "huge", "213244124402402314402033402");
    assert_eq!(enc(&mut r, "huge"), "hashtable");
    assert_eq!(cmd!(c, "SISMEMBER", "huge", "213244124402402314402033402"), b":1\r\n");
    cmd!(c, "SADD", "edge", "-9223372036854775808", "9223372036854775807");
    assert_eq!(enc(&mut r, "edge"), "intset");
    // Ported from "SREM basics", "SREM with multiple arguments" and "SREM variadic
    // version with more args needed to destroy the key".
    cmd!(c, "SADD", "t", "a", "b", "c", "d");
    assert_eq!(cmd!(c, "SREM", "t", "k", "k"), b":0\r\n");
    assert_eq!(cmd!(c, "SREM", "t", "b", "d", "x"), b":2\r\n");
    assert_eq!(members(&mut r, "t"), strs(&["a", "c"]));
    cmd!(c, "SADD", "three", "1", "2", "3");
    assert_eq!(cmd!(c, "SREM", "three", "1", "2", "3", "4", "5"), b":3\r\n");
    assert_eq!(cmd!(c, "EXISTS", "three"), b":0\r\n");
    assert_eq!(cmd!(c, "SREM", "nokey", "a"), b":0\r\n");
}

#[test]
fn intset_limit_and_conversions() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    // Ported from "SADD overflows the maximum allowed integers in an intset".
    for i in 0..512 {
        let _: () = r.sadd("s", i).unwrap();
    }
    assert_eq!(enc(&mut r, "s"), "intset");
    assert_eq!(cmd!(c, "SADD", "s", "512"), b":1\r\n");
    assert_eq!(enc(&mut r, "s"), "hashtable");
    // Removing never converts back.
    assert_eq!(cmd!(c, "SREM", "s", "512", "511"), b":2\r\n");
    assert_eq!(enc(&mut r, "s"), "hashtable");
    cmd!(c, "CONFIG", "SET", "set-max-intset-entries", "0");
    cmd!(c, "SADD", "z", "1");
    assert_eq!(enc(&mut r, "z"), "hashtable");
    cmd!(c, "CONFIG", "SET", "set-max-intset-entries", "3");
    cmd!(c, "SADD", "three", "1", "2", "3");
    assert_eq!(enc(&mut r, "three"), "intset");
    cmd!(c, "SADD", "four", "1", "2", "3", "4");
    assert_eq!(enc(&mut r, "four"), "hashtable");
}

#[test]
fn spop_and_srandmember() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    let letters: Vec<String> = ('a'..='z').map(|l| l.to_string()).collect();
    let numbers: Vec<String> = (1..=26).map(|n| n.to_string()).collect();
    for (key, content, e) in [("ht", &letters, "hashtable"), ("is", &numbers, "intset")] {
        let _: () = r.sadd(key, content).unwrap();
        assert_eq!(enc(&mut r, key), e);
        // Ported from "SPOP with <count>": every path (few, most, all) gives distinct
        // members that together are the whole set.
        let mut got = Vec::new();
        for n in [11, 9, 0, 4, 1, 0, 1, 0] {
            let v: Vec<String> = redis::cmd("SPOP").arg(key).arg(n).query(&mut r).unwrap();
            assert_eq!(v.len(), n);
            got.extend(v);
        }
        got.sort();
        let mut want = content.clone();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(cmd!(c, "EXISTS", key), b":0\r\n");
    }
    // Code paths #1..#3 of the tcl suite: more than the set, a few, most.
    let content: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
    for (n, left) in [(30, 0), (2, 18), (18, 2)] {
        let _: () = r.sadd("p", &content).unwrap();
        let v: Vec<String> = redis::cmd("SPOP").arg("p").arg(n).query(&mut r).unwrap();
        assert_eq!(v.len(), 20 - left);
        let rest: Vec<String> = r.smembers("p").unwrap();
        assert_eq!(rest.len(), left);
        let all: HashSet<String> = v.into_iter().chain(rest).collect();
        assert_eq!(all.len(), 20);
        let _: () = r.del("p").unwrap();
    }
    // Popping most of a big hashtable of integers leaves an intset, as in Redis.
    let big: Vec<i64> = (0..1000).collect();
    let _: () = r.sadd("big", &big).unwrap();
    assert_eq!(enc(&mut r, "big"), "hashtable");
    let _: Vec<String> = redis::cmd("SPOP").arg("big").arg(990).query(&mut r).unwrap();
    assert_eq!(enc(&mut r, "big"), "intset");
    assert_eq!(cmd!(c, "SCARD", "big"), b":10\r\n");
    cmd!(c, "EXPIRE", "big", "100");
    let _: Vec<String> = redis::cmd("SPOP").arg("big").arg(9).query(&mut r).unwrap();
    assert_eq!(cmd!(c, "TTL", "big"), b":100\r\n");

    cmd!(c, "SADD", "one", "x");
    assert_eq!(cmd!(c, "SPOP", "one"), b"$1\r\nx\r\n");
    assert_eq!(cmd!(c, "EXISTS", "one"), b":0\r\n");
    assert_eq!(cmd!(c, "SPOP", "nokey"), b"$-1\r\n");
    assert_eq!(cmd!(c, "SPOP", "nokey", "100"), b"*0\r\n");
    assert_eq!(
        cmd!(c, "SPOP", "nokey", "-1"),
        b"-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        cmd!(c, "SPOP", "nokey", "x"),
        b"-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(cmd!(c, "SPOP", "nokey", "1", "2"), b"-ERR syntax error\r\n");

    let _: () = r.sadd("m", &letters[..10]).unwrap();
    let _: () = r.sadd("n", &numbers[..10]).unwrap();
    for key in ["m", "n"] {
        let one: String = r.srandmember(key).unwrap();
        assert!(one.len() <= 2);
        let v: Vec<String> = redis::cmd("SRANDMEMBER").arg(key).arg(-100).query(&mut r).unwrap();
        assert_eq!(v.len(), 100);
        for (n, want) in [(10, 10), (50, 10), (8, 8), (2, 2), (1, 1)] {
            let v: Vec<String> = redis::cmd("SRANDMEMBER").arg(key).arg(n).query(&mut r).unwrap();
            assert_eq!(v.iter().collect::<HashSet<_>>().len(), want, "{key} {n}");
            assert_eq!(v.len(), want);
        }
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let v: Vec<String> = redis::cmd("SRANDMEMBER").arg(key).arg(2).query(&mut r).unwrap();
            seen.extend(v);
        }
        assert_eq!(seen.len(), 10);
        assert_eq!(cmd!(c, "SCARD", key), b":10\r\n");
    }
    assert_eq!(cmd!(c, "SRANDMEMBER", "m", "0"), b"*0\r\n");
    assert_eq!(cmd!(c, "SRANDMEMBER", "nokey", "100"), b"*0\r\n");
    assert_eq!(cmd!(c, "SRANDMEMBER", "nokey"), b"$-1\r\n");
    assert_eq!(cmd!(c, "SRANDMEMBER", "m", "1", "2"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "SRANDMEMBER", "m", "x"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    // Ported from "SRANDMEMBER count overflow".
    assert_eq!(
        cmd!(c, "SRANDMEMBER", "m", "-9223372036854775808"),
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
}

#[test]
fn smove() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    let setup = |c: &mut crate::harness::Raw| {
        cmd!(c, "DEL", "s1", "s2", "s3");
        cmd!(c, "SADD", "s1", "1", "a", "b");
        cmd!(c, "SADD", "s2", "2", "3", "4");
    };
    // Ported from "SMOVE basics - from regular set to intset".
    setup(&mut c);
    assert_eq!(cmd!(c, "SMOVE", "s1", "s2", "a"), b":1\r\n");
    assert_eq!(members(&mut r, "s1"), strs(&["1", "b"]));
    assert_eq!(members(&mut r, "s2"), strs(&["2", "3", "4", "a"]));
    assert_eq!(enc(&mut r, "s2"), "hashtable");
    setup(&mut c);
    assert_eq!(cmd!(c, "SMOVE", "s1", "s2", "1"), b":1\r\n");
    assert_eq!(enc(&mut r, "s2"), "intset");
    // Missing member, missing source, new destination in the member's encoding.
    setup(&mut c);
    assert_eq!(cmd!(c, "SMOVE", "s1", "s2", "foo"), b":0\r\n");
    assert_eq!(cmd!(c, "SMOVE", "s1", "s1", "foo"), b":0\r\n");
    assert_eq!(cmd!(c, "SMOVE", "s1", "s1", "a"), b":1\r\n");
    assert_eq!(cmd!(c, "SMOVE", "nokey", "s2", "foo"), b":0\r\n");
    assert_eq!(cmd!(c, "SMOVE", "s2", "s3", "2"), b":1\r\n");
    assert_eq!(enc(&mut r, "s3"), "intset");
    assert_eq!(cmd!(c, "SMOVE", "s1", "s4", "a"), b":1\r\n");
    assert_eq!(enc(&mut r, "s4"), "hashtable");
    // The last member leaving deletes the source.
    cmd!(c, "SADD", "solo", "x");
    assert_eq!(cmd!(c, "SMOVE", "solo", "s4", "x"), b":1\r\n");
    assert_eq!(cmd!(c, "EXISTS", "solo"), b":0\r\n");
    // Type errors; a missing source answers 0 before the destination's type is looked at.
    cmd!(c, "SET", "str", "10");
    let wt = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(cmd!(c, "SMOVE", "str", "s2", "foo"), wt);
    assert_eq!(cmd!(c, "SMOVE", "s2", "str", "foo"), wt);
    assert_eq!(cmd!(c, "SMOVE", "nokey", "str", "foo"), b":0\r\n");
}

#[test]
fn algebra_and_store() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    for (ty, large) in [("hashtable", "foo"), ("intset", "200")] {
        cmd!(c, "DEL", "set1", "set2", "set3", "set4", "set5");
        for i in 0..200 {
            cmd!(c, "SADD", "set1", i.to_string());
            cmd!(c, "SADD", "set2", (i + 195).to_string());
        }
        cmd!(c, "SADD", "set3", "199", "195", "1000", "2000");
        for i in 5..200 {
            cmd!(c, "SADD", "set4", i.to_string());
        }
        cmd!(c, "SADD", "set5", "0");
        for k in ["set1", "set2", "set3", "set4", "set5"] {
            cmd!(c, "SADD", k, large);
            assert_eq!(enc(&mut r, k), ty);
        }
        let mut want = strs(&["195", "196", "197", "198", "199", large]);
        want.sort();
        let mut got: Vec<String> = r.sinter(&["set1", "set2"]).unwrap();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(cmd!(c, "SINTERCARD", "2", "set1", "set2"), b":6\r\n");
        assert_eq!(cmd!(c, "SINTERCARD", "2", "set1", "set2", "LIMIT", "3"), b":3\r\n");
        assert_eq!(cmd!(c, "SINTERCARD", "2", "set1", "set2", "limit", "0"), b":6\r\n");
        assert_eq!(cmd!(c, "SINTERSTORE", "res", "set1", "set2"), b":6\r\n");
        assert_eq!(enc(&mut r, "res"), ty);
        assert_eq!(members(&mut r, "res"), want);
        assert_eq!(cmd!(c, "SINTERCARD", "3", "set1", "set2", "set3"), b":3\r\n");
        let mut want3 = strs(&["195", "199", large]);
        want3.sort();
        let mut got: Vec<String> = r.sinter(&["set1", "set2", "set3"]).unwrap();
        got.sort();
        assert_eq!(got, want3);
        // 0..=394, plus "foo" when it is not a number already in there.
        let n_union = if large == "foo" { 396 } else { 395 };
        let u: HashSet<String> = r.sunion(&["nokey", "set1", "set2"]).unwrap();
        assert_eq!(u.len(), n_union);
        assert_eq!(
            cmd!(c, "SUNIONSTORE", "res", "set1", "set2"),
            format!(":{n_union}\r\n").as_bytes()
        );
        assert_eq!(enc(&mut r, "res"), ty);
        let mut d: Vec<String> = r.sdiff(&["set1", "set4"]).unwrap();
        d.sort();
        assert_eq!(d, strs(&["0", "1", "2", "3", "4"]));
        let mut d: Vec<String> = r.sdiff(&["set1", "set4", "set5"]).unwrap();
        d.sort();
        assert_eq!(d, strs(&["1", "2", "3", "4"]));
        assert_eq!(cmd!(c, "SDIFFSTORE", "res", "set1", "set4", "set5"), b":4\r\n");
        // Ported from "SDIFFSTORE with three sets": a diff of integers is an intset.
        assert_eq!(enc(&mut r, "res"), "intset");
        let all = members(&mut r, "set1");
        let mut same: Vec<String> = r.sinter(&["set1", "set1", "set1"]).unwrap();
        same.sort();
        assert_eq!(same, all);
        let d: Vec<String> = r.sdiff(&["set1", "set1"]).unwrap();
        assert!(d.is_empty());
    }
    // Ported from "SINTER with same integer elements but different encoding".
    cmd!(c, "DEL", "a", "b");
    cmd!(c, "SADD", "a", "1", "2", "3");
    cmd!(c, "SADD", "b", "1", "2", "3", "x");
    cmd!(c, "SREM", "b", "x");
    assert_eq!(enc(&mut r, "b"), "hashtable");
    let mut got: Vec<String> = r.sinter(&["a", "b"]).unwrap();
    got.sort();
    assert_eq!(got, strs(&["1", "2", "3"]));
    // Missing keys: empty intersections delete the destination.
    cmd!(c, "SET", "res", "xxx");
    assert_eq!(cmd!(c, "SINTERSTORE", "res", "nokey1", "nokey2"), b":0\r\n");
    assert_eq!(cmd!(c, "EXISTS", "res"), b":0\r\n");
    cmd!(c, "SET", "res", "xxx");
    assert_eq!(cmd!(c, "SUNIONSTORE", "res", "nokey1", "nokey2"), b":0\r\n");
    assert_eq!(cmd!(c, "EXISTS", "res"), b":0\r\n");
    cmd!(c, "SADD", "res", "q");
    assert_eq!(cmd!(c, "SDIFFSTORE", "res", "nokey", "a"), b":0\r\n");
    assert_eq!(cmd!(c, "EXISTS", "res"), b":0\r\n");
    assert_eq!(cmd!(c, "SINTER", "a", "nokey"), b"*0\r\n");
    assert_eq!(cmd!(c, "SINTERCARD", "1", "nokey", "LIMIT", "10"), b":0\r\n");
    // A stored result replaces the old value and its TTL.
    cmd!(c, "SET", "res", "xxx");
    cmd!(c, "EXPIRE", "res", "100");
    assert_eq!(cmd!(c, "SUNIONSTORE", "res", "a"), b":3\r\n");
    assert_eq!(cmd!(c, "TYPE", "res"), b"+set\r\n");
    assert_eq!(cmd!(c, "TTL", "res"), b":-1\r\n");
}

/// A fixed random sequence: each call gives a number below its argument.
fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |m| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    }
}

#[test]
fn sdiff_fuzzing_against_a_model() {
    // Ported from "SDIFF fuzzing" with a fixed generator instead of tcl's rand.
    let s = Server::start();
    let mut r = s.client();
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..50 {
        let nsets = next(10) + 1;
        let mut model: HashSet<String> = HashSet::new();
        let mut keys = Vec::new();
        for i in 0..nsets {
            let key = format!("set_{i}");
            let _: () = r.del(&key).unwrap();
            for _ in 0..next(100) {
                let ele = if next(2) == 0 {
                    next(1000).to_string()
                } else {
                    format!("e{}", next(1000))
                };
                let _: () = r.sadd(&key, &ele).unwrap();
                if i == 0 {
                    model.insert(ele);
                } else {
                    model.remove(&ele);
                }
            }
            keys.push(key);
        }
        let got: HashSet<String> = r.sdiff(&keys).unwrap();
        assert_eq!(got, model);
    }
}

#[test]
fn set_algebra_against_a_model_in_every_encoding() {
    // Sets of 0 to 200 members drawn from a small pool, so that they overlap: intsets,
    // packed sets of a few and of many members (tested through an index), and tables.
    let s = Server::start();
    let mut r = s.client();
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    type Model = std::collections::BTreeSet<String>;
    for round in 0..40 {
        let mut models: Vec<Model> = Vec::new();
        let mut keys = Vec::new();
        for i in 0..next(3) + 2 {
            let key = format!("{{s}}{round}:{i}");
            let ints = next(3) == 0;
            let n = [0, 5, 20, 100, 200][next(5) as usize];
            let mut m = Model::new();
            for _ in 0..n {
                let v = next(150);
                m.insert(if ints { v.to_string() } else { format!("m{v}") });
                if !ints && next(4) == 0 {
                    m.insert(v.to_string());
                }
            }
            if !m.is_empty() {
                let _: () = r.sadd(&key, m.iter().collect::<Vec<_>>()).unwrap();
            }
            models.push(m);
            keys.push(key);
        }
        let (first, rest) = models.split_first().unwrap();
        let inter: Model = first
            .iter()
            .filter(|m| rest.iter().all(|o| o.contains(*m)))
            .cloned()
            .collect();
        let union: Model = models.iter().flatten().cloned().collect();
        let diff: Model = first
            .iter()
            .filter(|m| rest.iter().all(|o| !o.contains(*m)))
            .cloned()
            .collect();
        let got: Model = r.sinter(&keys).unwrap();
        assert_eq!(got, inter, "SINTER {keys:?}");
        let got: Model = r.sunion(&keys).unwrap();
        assert_eq!(got, union, "SUNION {keys:?}");
        let got: Model = r.sdiff(&keys).unwrap();
        assert_eq!(got, diff, "SDIFF {keys:?}");
        // SMISMEMBER of 1 to 30 candidates (repeats among them) on every set.
        for (key, m) in keys.iter().zip(&models) {
            let probes: Vec<String> = (0..next(30) + 1)
                .map(|_| match next(3) {
                    0 => next(160).to_string(),
                    _ => format!("m{}", next(160)),
                })
                .collect();
            let got: Vec<u8> = redis::cmd("SMISMEMBER").arg(key).arg(&probes).query(&mut r).unwrap();
            let want: Vec<u8> = probes.iter().map(|p| u8::from(m.contains(p))).collect();
            assert_eq!(got, want, "SMISMEMBER {key} {probes:?}");
        }
        let mut card = |limit: usize| -> usize {
            redis::cmd("SINTERCARD")
                .arg(keys.len())
                .arg(&keys)
                .arg("LIMIT")
                .arg(limit)
                .query(&mut r)
                .unwrap()
        };
        let n = inter.len();
        assert_eq!((card(0), card(n + 1), card(n.max(1))), (n, n, n));
        if n > 1 {
            assert_eq!(card(n - 1), n - 1);
        }
        for (op, want) in [("SINTERSTORE", &inter), ("SUNIONSTORE", &union), ("SDIFFSTORE", &diff)] {
            let stored: usize = redis::cmd(op).arg("{s}dst").arg(&keys).query(&mut r).unwrap();
            assert_eq!(stored, want.len(), "{op} {keys:?}");
            assert_eq!(
                members(&mut r, "{s}dst"),
                want.iter().cloned().collect::<Vec<_>>(),
                "{op}"
            );
            if !want.is_empty() {
                let ints = want.iter().all(|m| m.parse::<i64>().is_ok());
                let want_enc = if ints { "intset" } else { "hashtable" };
                assert_eq!(enc(&mut r, "{s}dst"), want_enc, "{op} {keys:?}");
            }
        }
    }
}

#[test]
fn wrongtype_arity_and_syntax() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "str", "x");
    cmd!(c, "SADD", "set", "a", "b", "c");
    let wt = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SINTER", "str", "nokey"],
        &["SINTER", "nokey", "str"],
        &["SINTER", "set", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SUNION", "set", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFF", "str", "set"],
        &["SSCAN", "str", "0"],
        &["SINTERSTORE", "set3", "str", "nokey"],
        &["SUNIONSTORE", "set3", "nokey", "str"],
        &["SDIFFSTORE", "set3", "set", "str"],
    ] {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        assert_eq!(c.cmd(&a), wt, "{args:?}");
    }
    // Failed STOREs leave the destination alone.
    assert_eq!(cmd!(c, "EXISTS", "set3"), b":0\r\n");
    // Ported from "SINTERCARD with illegal arguments".
    let arity = b"-ERR wrong number of arguments for 'sintercard' command\r\n";
    assert_eq!(cmd!(c, "SINTERCARD"), arity);
    assert_eq!(cmd!(c, "SINTERCARD", "1"), arity);
    let numkeys = b"-ERR numkeys should be greater than 0\r\n";
    assert_eq!(cmd!(c, "SINTERCARD", "0", "set"), numkeys);
    assert_eq!(cmd!(c, "SINTERCARD", "a", "set"), numkeys);
    let toomany = b"-ERR Number of keys can't be greater than number of args\r\n";
    assert_eq!(cmd!(c, "SINTERCARD", "2", "set"), toomany);
    assert_eq!(cmd!(c, "SINTERCARD", "3", "set", "set2"), toomany);
    assert_eq!(cmd!(c, "SINTERCARD", "1", "set", "set2"), b"-ERR syntax error\r\n");
    assert_eq!(cmd!(c, "SINTERCARD", "1", "set", "LIMIT"), b"-ERR syntax error\r\n");
    let neg = b"-ERR LIMIT can't be negative\r\n";
    assert_eq!(cmd!(c, "SINTERCARD", "1", "set", "LIMIT", "-1"), neg);
    assert_eq!(cmd!(c, "SINTERCARD", "1", "set", "LIMIT", "a"), neg);
    assert_eq!(
        cmd!(c, "SADD", "set"),
        b"-ERR wrong number of arguments for 'sadd' command\r\n"
    );
    assert_eq!(
        cmd!(c, "SMISMEMBER", "set"),
        b"-ERR wrong number of arguments for 'smismember' command\r\n"
    );
    assert_eq!(
        cmd!(c, "SMOVE", "a", "b"),
        b"-ERR wrong number of arguments for 'smove' command\r\n"
    );
    assert_eq!(
        cmd!(c, "SINTERSTORE", "d"),
        b"-ERR wrong number of arguments for 'sinterstore' command\r\n"
    );
    assert_eq!(cmd!(c, "SSCAN", "set", "x"), b"-ERR invalid cursor\r\n");
    assert_eq!(cmd!(c, "SSCAN", "set", "0", "COUNT", "0"), b"-ERR syntax error\r\n");
    assert_eq!(cmd!(c, "SSCAN", "set", "0", "TYPE", "set"), b"-ERR syntax error\r\n");
}

#[test]
fn sscan_both_encodings() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    // Ported from tests/unit/scan.tcl "SSCAN with encoding intset/hashtable". An intset
    // is returned by the first call whatever the COUNT; a set of strings is walked by
    // the cursor as Redis 7.0 walks its hash table, even while it is held packed in its
    // entry (up to 128 short strings).
    for (key, prefix, n, e, one_call) in [
        ("ints", "", 100, "intset", true),
        ("small", "ele:", 100, "hashtable", false),
        ("strs", "ele:", 200, "hashtable", false),
    ] {
        let m: Vec<String> = (0..n).map(|j| format!("{prefix}{j}")).collect();
        let _: () = r.sadd(key, &m).unwrap();
        assert_eq!(enc(&mut r, key), e);
        let mut cursor = "0".to_string();
        let mut seen = HashSet::new();
        let mut calls = 0;
        loop {
            let (next, items): (String, Vec<String>) = redis::cmd("SSCAN").arg(key).arg(&cursor).query(&mut r).unwrap();
            calls += 1;
            seen.extend(items);
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), n);
        assert_eq!(calls == 1, one_call, "{key}");
    }
    // Ported from "SSCAN with integer encoded object (issue #1345)" and "SSCAN with PATTERN".
    cmd!(c, "SADD", "mixed", "1", "a");
    assert_eq!(
        cmd!(c, "SSCAN", "mixed", "0", "MATCH", "*1*", "COUNT", "100"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\n1\r\n"
    );
    cmd!(c, "SADD", "mykey", "foo", "fab", "fiz", "foobar", "1", "2", "3", "4");
    let (_, mut items): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("mykey")
        .arg(0)
        .arg("MATCH")
        .arg("foo*")
        .arg("COUNT")
        .arg(10000)
        .query(&mut r)
        .unwrap();
    items.sort();
    assert_eq!(items, strs(&["foo", "foobar"]));
    assert_eq!(cmd!(c, "SSCAN", "ints", "0", "MATCH", "9?"), {
        let mut v = b"*2\r\n$1\r\n0\r\n*10\r\n".to_vec();
        for i in 90..100 {
            v.extend_from_slice(format!("$2\r\n{i}\r\n").as_bytes());
        }
        v
    });
    assert_eq!(cmd!(c, "SSCAN", "nokey", "0"), b"*2\r\n$1\r\n0\r\n*0\r\n");
    // Cursors read like strtoul: a sign, leading zeros, an empty string.
    assert_eq!(
        cmd!(c, "SSCAN", "mixed", "+00", "MATCH", "a"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        cmd!(c, "SSCAN", "mixed", "", "MATCH", "a"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
    );
    assert_eq!(cmd!(c, "SSCAN", "mixed", " 0"), b"-ERR invalid cursor\r\n");
}

#[test]
fn sscan_pages_a_small_set_of_strings_and_its_cursor_survives_growth() {
    let s = Server::start();
    let mut r = s.client();
    // 65 members: Redis 7.0's table has 128 buckets, and COUNT 50 stops once 50 members
    // were seen (job queues page a parent's dependencies this way).
    let first: Vec<String> = (0..65).map(|j| format!("bull:q:{j}")).collect();
    let _: () = r.sadd("deps", &first).unwrap();
    let (next, page): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("deps")
        .arg(0)
        .arg("COUNT")
        .arg(50)
        .query(&mut r)
        .unwrap();
    assert_ne!(next, "0");
    assert!((50..65).contains(&page.len()), "{}", page.len());
    // A scan begun while the set is packed goes on over the table it grows into: every
    // member there from start to end is returned.
    let (mut cursor, page): (String, Vec<String>) = redis::cmd("SSCAN")
        .arg("deps")
        .arg(0)
        .arg("COUNT")
        .arg(5)
        .query(&mut r)
        .unwrap();
    let mut seen: HashSet<String> = page.into_iter().collect();
    let more: Vec<String> = (0..300).map(|j| format!("more:{j}")).collect();
    let _: () = r.sadd("deps", &more).unwrap();
    while cursor != "0" {
        let (next, items): (String, Vec<String>) = redis::cmd("SSCAN").arg("deps").arg(&cursor).query(&mut r).unwrap();
        seen.extend(items);
        cursor = next;
    }
    let missed: Vec<&String> = first.iter().filter(|m| !seen.contains(*m)).collect();
    assert!(missed.is_empty(), "{missed:?}");
}
#[test]
fn sscan_survives_shrinking() {
    // Ported from tests/unit/scan.tcl "SCAN regression test for issue #4906": members
    // present for the whole scan are all returned even when the table shrinks midway.
    let s = Server::start();
    let mut r = s.client();
    for round in 0..20u64 {
        let _: () = r.del("set").unwrap();
        let _: () = r.sadd("set", "x").unwrap();
        let n = 101 + (round * 37) % 1000;
        let all: Vec<u64> = (0..n).collect();
        let _: () = r.sadd("set", &all).unwrap();
        let toremove: Vec<u64> = (100..n).collect();
        let mut found = HashSet::new();
        let mut cursor = "0".to_string();
        let mut iteration = 0;
        loop {
            let (next, items): (String, Vec<String>) =
                redis::cmd("SSCAN").arg("set").arg(&cursor).query(&mut r).unwrap();
            found.extend(items);
            iteration += 1;
            if iteration == 1 + round % 5 {
                let _: () = r.srem("set", &toremove).unwrap();
            }
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        for j in 0..100 {
            assert!(found.contains(&j.to_string()), "round {round}: {j} missing");
        }
    }
}

#[test]
fn resp3_shapes() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "HELLO", "3");
    cmd!(c, "SADD", "s", "1", "2");
    cmd!(c, "SADD", "t", "2", "3");
    assert_eq!(cmd!(c, "SMEMBERS", "s"), b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(cmd!(c, "SMEMBERS", "nokey"), b"~0\r\n");
    assert_eq!(cmd!(c, "SINTER", "s", "t"), b"~1\r\n$1\r\n2\r\n");
    assert_eq!(cmd!(c, "SINTER", "s", "nokey"), b"~0\r\n");
    assert_eq!(cmd!(c, "SUNION", "s", "t"), b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(cmd!(c, "SDIFF", "s", "t"), b"~1\r\n$1\r\n1\r\n");
    assert_eq!(cmd!(c, "SPOP", "nokey", "2"), b"~0\r\n");
    assert_eq!(cmd!(c, "SPOP", "s", "0"), b"~0\r\n");
    assert_eq!(cmd!(c, "SRANDMEMBER", "s", "0"), b"*0\r\n");
    assert_eq!(cmd!(c, "SRANDMEMBER", "s", "5"), b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(cmd!(c, "SPOP", "nokey"), b"_\r\n");
    assert_eq!(cmd!(c, "SPOP", "s", "5"), b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

#[test]
fn expired_sets_are_gone() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SADD", "s", "a", "b");
    cmd!(c, "SADD", "t", "b", "c");
    assert_eq!(cmd!(c, "PEXPIRE", "s", "30"), b":1\r\n");
    wait_for("set expiry", Duration::from_secs(5), || {
        (cmd!(c, "SCARD", "s") == b":0\r\n").then_some(())
    });
    // Hashtable order is seeded per process: accept either order.
    let u = cmd!(c, "SUNION", "s", "t");
    assert!(
        u == b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n" || u == b"*2\r\n$1\r\nc\r\n$1\r\nb\r\n",
        "{u:?}"
    );
    assert_eq!(cmd!(c, "SINTER", "s", "t"), b"*0\r\n");
    // A write after expiry starts a fresh set with no TTL.
    assert_eq!(cmd!(c, "SADD", "s", "z"), b":1\r\n");
    assert_eq!(cmd!(c, "SMEMBERS", "s"), b"*1\r\n$1\r\nz\r\n");
    assert_eq!(cmd!(c, "TTL", "s"), b":-1\r\n");
    // An expired source of SMOVE is missing.
    cmd!(c, "PEXPIRE", "t", "30");
    wait_for("set expiry", Duration::from_secs(5), || {
        (cmd!(c, "EXISTS", "t") == b":0\r\n").then_some(())
    });
    assert_eq!(cmd!(c, "SMOVE", "t", "s", "b"), b":0\r\n");
}

fn htstats(r: &mut redis::Connection, key: &str) -> String {
    redis::cmd("DEBUG").arg("HTSTATS-KEY").arg(key).query(r).unwrap()
}

fn saving(r: &mut redis::Connection) -> bool {
    let info: String = redis::cmd("INFO").arg("persistence").query(r).unwrap();
    info.contains("rdb_bgsave_in_progress:1")
}

#[test]
fn tables_keep_their_size_while_a_save_runs_then_shrink_step_by_step() {
    // Redis compat: dict.c DICT_RESIZE_AVOID while a save child runs; the shrink that
    // removals ask for waits for the save, then moves a bucket per operation.
    let s = Server::start();
    let mut r = s.client();
    let ms: Vec<String> = (0..2000).map(|i| format!("m:{i}")).collect();
    let _: () = redis::cmd("SADD").arg("s").arg(&ms).query(&mut r).unwrap();
    let st = htstats(&mut r, "s");
    assert!(
        st.starts_with(
            "Hash table 0 stats (main hash table):\n table size: 2048\n number of elements: 2000\n different slots: "
        ),
        "{st}"
    );
    assert!(st.contains("\n Chain length distribution:\n   0: "), "{st}");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg("1000000")
        .query(&mut r)
        .unwrap();
    let _: String = redis::cmd("BGSAVE").query(&mut r).unwrap();
    assert!(saving(&mut r));
    let _: () = redis::cmd("SREM").arg("s").arg(&ms[..1990]).query(&mut r).unwrap();
    let st = htstats(&mut r, "s");
    assert!(st.contains(" table size: 2048\n number of elements: 10\n"), "{st}");
    assert!(!st.contains("rehashing target"), "{st}");
    // The save of the single key ends after its one-second delay.
    wait_for("the save to end", Duration::from_secs(20), || {
        (!saving(&mut r)).then_some(())
    });
    let _: () = r.srem("s", &ms[1990]).unwrap();
    let st = htstats(&mut r, "s");
    assert!(st.contains(" table size: 2048\n number of elements: 9\n"), "{st}");
    assert!(
        st.ends_with("Hash table 1 stats (rehashing target):\nNo stats available for empty dictionaries\n"),
        "{st}"
    );
    // Random reads move the resize along, as in Redis; the members are all there.
    wait_for("the resize to finish", Duration::from_secs(5), || {
        let _: Option<String> = r.srandmember("s").unwrap();
        (!htstats(&mut r, "s").contains("rehashing target")).then_some(())
    });
    assert!(htstats(&mut r, "s").contains(" table size: 16\n number of elements: 9\n"));
    assert_eq!(members(&mut r, "s"), ms[1991..].to_vec());
}

fn usage(r: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("MEMORY").arg("USAGE").arg(key).query(r).unwrap()
}

#[test]
fn small_sets_of_strings_are_packed_under_the_hashtable_name() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    let ms: Vec<String> = (0..129).map(|j| format!("member-{j}")).collect();
    // Redis 7.0 keeps every set of strings in a hash table and names it so; here up to
    // 128 members of up to 64 bytes are held in the entry, under the same name.
    let _: () = r.sadd("p", &ms[..5]).unwrap();
    let _: () = r.sadd("t", &ms[..5]).unwrap();
    assert_eq!(enc(&mut r, "p"), "hashtable");
    let packed = usage(&mut r, "p");
    // DEBUG HTSTATS-KEY reports a table: the set becomes one.
    let stats: String = redis::cmd("DEBUG").arg("HTSTATS-KEY").arg("t").query(&mut r).unwrap();
    assert!(stats.contains("number of elements: 5"), "{stats}");
    let table = usage(&mut r, "t");
    assert!(packed * 3 < table, "packed {packed} bytes, table {table}");
    assert_eq!(members(&mut r, "p"), members(&mut r, "t"));
    // Every command sees the same set.
    assert_eq!(cmd!(c, "SISMEMBER", "p", "member-3"), b":1\r\n");
    assert_eq!(
        cmd!(c, "SMISMEMBER", "p", "member-9", "member-0"),
        b"*2\r\n:0\r\n:1\r\n"
    );
    assert_eq!(cmd!(c, "SREM", "p", "member-1", "nope"), b":1\r\n");
    assert_eq!(cmd!(c, "SADD", "p", "member-1", "member-0"), b":1\r\n");
    assert_eq!(cmd!(c, "SINTERCARD", "2", "p", "t"), b":5\r\n");
    assert_eq!(cmd!(c, "SMOVE", "p", "t", "member-4"), b":1\r\n");
    assert_eq!(cmd!(c, "SCARD", "p"), b":4\r\n");
    let picks: Vec<String> = redis::cmd("SRANDMEMBER").arg("p").arg(-50).query(&mut r).unwrap();
    assert_eq!(picks.len(), 50);
    assert!(picks.iter().all(|m| ms[..4].contains(m)));
    // Up to 128 members it stays packed, and survives a save and a load so.
    let _: () = r.sadd("p", &ms[..128]).unwrap();
    let at_128 = usage(&mut r, "p");
    assert_eq!(cmd!(c, "DEBUG", "RELOAD"), b"+OK\r\n");
    assert_eq!(usage(&mut r, "p"), at_128);
    assert_eq!(members(&mut r, "p"), {
        let mut v = ms[..128].to_vec();
        v.sort();
        v
    });
    let dump: Vec<u8> = redis::cmd("DUMP").arg("p").query(&mut r).unwrap();
    let _: () = redis::cmd("RESTORE").arg("q").arg(0).arg(&dump).query(&mut r).unwrap();
    assert_eq!(
        (usage(&mut r, "q"), members(&mut r, "q")),
        (at_128, members(&mut r, "p"))
    );
    // The 129th member makes it a table: far more memory per member.
    let _: () = r.sadd("p", &ms[128]).unwrap();
    assert!(usage(&mut r, "p") > at_128 * 2, "{} vs {at_128}", usage(&mut r, "p"));
    assert_eq!(cmd!(c, "SCARD", "p"), b":129\r\n");
    // So does a member longer than 64 bytes.
    let long = "x".repeat(65);
    let _: () = r.sadd("q", &long).unwrap();
    assert!(usage(&mut r, "q") > at_128 * 2);
    assert_eq!(cmd!(c, "SISMEMBER", "q", &long), b":1\r\n");
    assert_eq!(enc(&mut r, "q"), "hashtable");
}

/// A big set's members of up to 15 bytes live in their table nodes: 40 to 48 bytes a
/// member (Redis: 56), built by SADD or loaded from a file; longer ones keep a block.
#[test]
fn short_members_of_a_big_set_need_no_block_of_their_own() {
    let s = Server::start();
    let mut c = s.raw();
    const N: u64 = 50_000;
    let (built, loaded) = bytes_per_item(&s, N, |p, i| {
        p.cmd("SADD").arg("short").arg(format!("m:{i:07}")).ignore();
    });
    assert!(
        built < 52 && loaded < 52,
        "{built} bytes a member built, {loaded} loaded"
    );
    assert_eq!(cmd!(c, "SISMEMBER", "short", "m:0049999"), b":1\r\n");
    let long = "a member longer than fifteen bytes";
    cmd!(c, "SADD", "short", long);
    assert_eq!(cmd!(c, "SISMEMBER", "short", long), b":1\r\n");
    assert_eq!(cmd!(c, "SREM", "short", "m:0000007", long), b":2\r\n");
    assert_eq!(cmd!(c, "SCARD", "short"), format!(":{}\r\n", N - 1).as_bytes());
}
