//! Keyspace commands and expiry: lazy and active expiry, TTL family with NX/XX/GT/LT,
//! RENAME/COPY/MOVE/SWAPDB, KEYS and SCAN. Cases follow tests/unit/keyspace.tcl and
//! tests/unit/expire.tcl.
use std::collections::HashSet;
use std::time::Duration;

use crate::cmd;
use crate::harness::{wait_for, Server};

#[test]
fn expired_keys_are_never_visible() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    cmd!(c, "SET", "k", "v", "PX", "1");
    wait_for("ttl to pass", Duration::from_secs(5), || {
        (cmd!(c, "PTTL", "k") == b":-2\r\n").then_some(())
    });
    assert_eq!(cmd!(c, "GET", "k"), b"$-1\r\n");
    assert_eq!(cmd!(c, "EXISTS", "k"), b":0\r\n");
    assert_eq!(cmd!(c, "KEYS", "*"), b"*0\r\n");
}

#[test]
fn active_expiry_deletes_without_access() {
    let s = Server::start_with(&["--hz", "100"]);
    let mut c = s.raw();
    for i in 0..100 {
        cmd!(c, "SET", format!("k{i}"), "v", "PX", "50");
    }
    cmd!(c, "SET", "keep", "v");
    wait_for("active expiry", Duration::from_secs(10), || {
        (cmd!(c, "DBSIZE") == b":1\r\n").then_some(())
    });
    let info = String::from_utf8(cmd!(c, "INFO", "stats")).unwrap();
    assert!(info.contains("expired_keys:100"), "{info}");
}

#[test]
fn expire_options() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "k", "v");
    assert_eq!(cmd!(c, "EXPIRE", "k", "100", "XX"), b":0\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "k", "100", "NX"), b":1\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "k", "200", "NX"), b":0\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "k", "50", "GT"), b":0\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "k", "200", "GT"), b":1\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "k", "10", "LT"), b":1\r\n");
    assert_eq!(
        cmd!(c, "EXPIRE", "k", "10", "NX", "XX"),
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        cmd!(c, "EXPIRE", "k", "10", "GT", "LT"),
        b"-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(cmd!(c, "EXPIRE", "k", "10", "FOO"), b"-ERR Unsupported option FOO\r\n");
    assert_eq!(
        cmd!(c, "EXPIRE", "k", "9223372036854775807"),
        b"-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(cmd!(c, "PERSIST", "k"), b":1\r\n");
    assert_eq!(cmd!(c, "TTL", "k"), b":-1\r\n");
    assert_eq!(cmd!(c, "EXPIRETIME", "k"), b":-1\r\n");
    assert_eq!(cmd!(c, "EXPIREAT", "k", "4102444800"), b":1\r\n");
    assert_eq!(cmd!(c, "EXPIRETIME", "k"), b":4102444800\r\n");
    assert_eq!(cmd!(c, "PEXPIRETIME", "k"), b":4102444800000\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "k", "-1"), b":1\r\n");
    assert_eq!(cmd!(c, "EXISTS", "k"), b":0\r\n");
    assert_eq!(cmd!(c, "TTL", "nokey"), b":-2\r\n");
}

#[test]
fn rename_copy_move_swapdb() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "RENAME", "nokey", "x"), b"-ERR no such key\r\n");
    cmd!(c, "SET", "a", "1", "EX", "100");
    assert_eq!(cmd!(c, "RENAME", "a", "b"), b"+OK\r\n");
    assert_eq!(cmd!(c, "TTL", "b"), b":100\r\n");
    cmd!(c, "SET", "c", "2");
    assert_eq!(cmd!(c, "RENAMENX", "b", "c"), b":0\r\n");
    assert_eq!(
        cmd!(c, "COPY", "b", "b"),
        b"-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(cmd!(c, "COPY", "b", "c"), b":0\r\n");
    assert_eq!(cmd!(c, "COPY", "b", "c", "REPLACE"), b":1\r\n");
    assert_eq!(cmd!(c, "GET", "c"), b"$1\r\n1\r\n");
    assert_eq!(cmd!(c, "COPY", "b", "d", "DB", "1"), b":1\r\n");
    assert_eq!(cmd!(c, "MOVE", "b", "1"), b":1\r\n");
    assert_eq!(
        cmd!(c, "MOVE", "c", "0"),
        b"-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(cmd!(c, "MOVE", "c", "99"), b"-ERR DB index is out of range\r\n");
    assert_eq!(cmd!(c, "SELECT", "1"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DBSIZE"), b":2\r\n");
    assert_eq!(cmd!(c, "SWAPDB", "0", "1"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DBSIZE"), b":1\r\n");
    assert_eq!(cmd!(c, "SWAPDB", "0", "x"), b"-ERR invalid second DB index\r\n");
    assert_eq!(cmd!(c, "SELECT", "16"), b"-ERR DB index is out of range\r\n");
    assert_eq!(cmd!(c, "FLUSHALL", "ASYNC"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DBSIZE"), b":0\r\n");
    assert_eq!(cmd!(c, "FLUSHDB", "FOO"), b"-ERR syntax error\r\n");
}

#[test]
fn scan_returns_every_key_once_table_is_stable() {
    let s = Server::start();
    let mut r = s.client();
    let mut c = s.raw();
    let mut req = Vec::new();
    for i in 0..20_000 {
        let k = format!("key:{i}");
        req.extend(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n", k.len()).bytes());
    }
    c.send(&req);
    for _ in 0..20_000 {
        assert_eq!(c.read(), b"+OK\r\n");
    }
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query(&mut r)
            .unwrap();
        seen.extend(keys);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 20_000);
    let (_, some): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg("key:1999*")
        .arg("COUNT")
        .arg(100000)
        .query(&mut r)
        .unwrap();
    assert_eq!(some.len(), 11); // key:1999 and key:19990..key:19999
                                // COUNT is the number of keys a call visits, before MATCH filters them: a tenth
                                // of the keys match, so a call returns about a tenth of COUNT, with more to come.
    let (next, some): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg("*1")
        .arg("COUNT")
        .arg(1000)
        .query(&mut r)
        .unwrap();
    assert!(next != 0 && some.len() < 300, "{} keys", some.len());
    assert!(some.iter().all(|k| k.ends_with('1')));
    assert_eq!(cmd!(c, "SCAN", "x"), b"-ERR invalid cursor\r\n");
    assert_eq!(cmd!(c, "SCAN", "0", "COUNT", "0"), b"-ERR syntax error\r\n");
}

#[test]
fn keys_patterns() {
    let s = Server::start();
    let mut c = s.raw();
    for k in ["foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z"] {
        cmd!(c, "SET", k, "hello");
    }
    let r = String::from_utf8(cmd!(c, "KEYS", "foo*")).unwrap();
    assert!(r.starts_with("*3\r\n"), "{r}");
    let r = String::from_utf8(cmd!(c, "KEYS", "*")).unwrap();
    assert!(r.starts_with("*6\r\n"), "{r}");
    assert!(cmd!(c, "KEYS", "key_[xy]").starts_with(b"*2\r\n"));
    assert_eq!(cmd!(c, "DEL", "foo_a", "foo_b", "nokey"), b":2\r\n");
    assert_eq!(cmd!(c, "UNLINK", "foo_c"), b":1\r\n");
    assert_eq!(cmd!(c, "TYPE", "key_x"), b"+string\r\n");
    assert_eq!(cmd!(c, "TYPE", "nokey"), b"+none\r\n");
}

/// INFO keyspace_hits/keyspace_misses count every lookup for reading, as Redis
/// counts them: each key of read commands (MGET: each), the reads of a few writing
/// commands (GETDEL, SET ... GET), none for plain writes, WATCH or MEMORY USAGE.
#[test]
fn keyspace_hits_and_misses_count_every_read_lookup() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "RPUSH", "l", "a");
    cmd!(c, "HSET", "h", "f", "v");
    cmd!(c, "SET", "s", "v");
    cmd!(c, "CONFIG", "RESETSTAT");
    let stats = |c: &mut crate::harness::Raw| {
        (
            crate::harness::info_u64(c, "stats", "keyspace_hits"),
            crate::harness::info_u64(c, "stats", "keyspace_misses"),
        )
    };
    let steps: &[(&[&str], (u64, u64))] = &[
        (&["LRANGE", "l", "0", "-1"], (1, 0)),
        (&["LRANGE", "nol", "0", "-1"], (0, 1)),
        (&["HGET", "h", "f"], (1, 0)),
        (&["HGETALL", "noh"], (0, 1)),
        (&["MGET", "s", "x", "y"], (1, 2)),
        (&["EXISTS", "l", "s", "nos"], (2, 1)),
        (&["TYPE", "l"], (1, 0)),
        (&["TTL", "nol"], (0, 1)),
        (&["OBJECT", "ENCODING", "l"], (1, 0)),
        (&["SCARD", "noset"], (0, 1)),
        (&["ZSCORE", "noz", "m"], (0, 1)),
        (&["XREAD", "STREAMS", "nostream", "0"], (0, 2)),
        // XREADGROUP stops at the missing key (NOGROUP) after one lookup, and XREAD at
        // a key of another type (WRONGTYPE).
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "nostream", ">"], (0, 1)),
        (&["XREAD", "STREAMS", "nostream", "l", "0", "0"], (1, 1)),
        (&["SET", "s", "w", "GET"], (1, 0)),
        (&["GETDEL", "s"], (1, 0)),
        (&["SET", "s", "v"], (0, 0)),
        (&["LPUSH", "l", "b"], (0, 0)),
        (&["HINCRBY", "h", "n", "1"], (0, 0)),
        (&["WATCH", "nol"], (0, 0)),
        (&["MEMORY", "USAGE", "l"], (0, 0)),
        // Arguments are parsed before the key is looked up: a refused command counts
        // nothing, and a command failing on a key's type stops at that key.
        (&["LRANGE", "nol", "0", "x"], (0, 0)),
        (&["ZRANGE", "noz", "0", "1", "BYSCORE", "BYLEX"], (0, 0)),
        (&["GETRANGE", "nos", "a", "1"], (0, 0)),
        (&["SET", "s", "v", "GET", "PX"], (0, 0)),
        (&["SINTER", "noset", "h", "l", "nos2"], (1, 1)),
        (&["ZUNION", "3", "noz", "l", "noz2"], (1, 1)),
        // BY and GET patterns are lookups for reading too, one per element.
        (&["SORT", "l", "BY", "w_*", "GET", "o_*", "GET", "#", "ALPHA"], (1, 4)),
        // Writes that read their key first look it up for writing, uncounted.
        (&["APPEND", "s", "x"], (0, 0)),
        (&["SETRANGE", "nos", "0", "x"], (0, 0)),
        (&["DEL", "nos"], (0, 0)),
        (&["PFCOUNT", "nohll"], (0, 1)),
        (&["PFCOUNT", "s"], (1, 0)),
    ];
    let mut want = (0, 0);
    for (argv, (h, m)) in steps {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        c.cmd(&args);
        want = (want.0 + h, want.1 + m);
        assert_eq!(stats(&mut c), want, "after {argv:?}");
    }
    // SCAN with TYPE looks every key up, whatever its type: the expired ones are
    // deleted and counted as misses.
    cmd!(c, "FLUSHALL");
    cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    cmd!(c, "SET", "k1", "v", "PX", "1");
    cmd!(c, "HSET", "h1", "f", "v");
    cmd!(c, "PEXPIRE", "h1", "1");
    cmd!(c, "SET", "k2", "v");
    // Wait on the server's clock, without touching the keys.
    let server_ms = |c: &mut crate::harness::Raw| {
        let t = String::from_utf8(cmd!(c, "TIME")).unwrap();
        let parts: Vec<u64> = t.lines().filter_map(|l| l.parse().ok()).collect();
        parts[0] * 1000 + parts[1] / 1000
    };
    let set_at = server_ms(&mut c);
    wait_for("the keys' expiry time", Duration::from_secs(5), || {
        (server_ms(&mut c) > set_at + 2).then_some(())
    });
    assert_eq!(cmd!(c, "DBSIZE"), b":3\r\n");
    cmd!(c, "CONFIG", "RESETSTAT");
    assert_eq!(
        cmd!(c, "SCAN", "0", "TYPE", "string", "COUNT", "100"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$2\r\nk2\r\n"
    );
    assert_eq!(cmd!(c, "DBSIZE"), b":1\r\n");
    assert_eq!(stats(&mut c), (1, 2));
}
