//! Stream commands over TCP: XADD id rules and trimming, ranges, XREAD/XREADGROUP
//! (blocking, `$`, `>`, key deletion), PEL bookkeeping with XPENDING/XACK/XCLAIM/
//! XAUTOCLAIM, XINFO, and streams surviving DEBUG RELOAD and an AOF rewrite.
use std::time::Duration;

use crate::cmd;
use crate::harness::{bytes_per_item, wait_for, Server};

/// Polls INFO until `n` clients are blocked.
fn wait_blocked(s: &Server, n: usize) {
    let mut r = s.client();
    wait_for("blocked clients", Duration::from_secs(5), || {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut r).unwrap();
        info.contains(&format!("blocked_clients:{n}\r")).then_some(())
    });
}

#[test]
fn xadd_ids_and_errors() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "XADD", "s", "1-1", "f", "v"), b"$3\r\n1-1\r\n");
    assert_eq!(cmd!(c, "XADD", "s", "1-*", "f", "v"), b"$3\r\n1-2\r\n");
    assert_eq!(cmd!(c, "XADD", "s", "5", "f", "v"), b"$3\r\n5-0\r\n");
    assert_eq!(
        cmd!(c, "XADD", "s", "5-0", "f", "v"),
        b"-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
    );
    assert_eq!(
        cmd!(c, "XADD", "s2", "0-0", "f", "v"),
        b"-ERR The ID specified in XADD must be greater than 0-0\r\n"
    );
    // Redis 7.0 reports a partial id whose sequence would overflow as too large.
    cmd!(c, "XADD", "s3", "1-18446744073709551615", "f", "v");
    assert_eq!(
        cmd!(c, "XADD", "s3", "1-*", "f", "v"),
        b"-ERR Elements are too large to be stored\r\n"
    );
    assert_eq!(
        cmd!(c, "XADD", "s", "1-x", "f", "v"),
        b"-ERR Invalid stream ID specified as stream command argument\r\n"
    );
    assert_eq!(
        cmd!(c, "XADD", "s", "*", "f"),
        b"-ERR wrong number of arguments for 'xadd' command\r\n"
    );
    assert_eq!(cmd!(c, "XADD", "none", "NOMKSTREAM", "*", "f", "v"), b"$-1\r\n");
    assert_eq!(cmd!(c, "EXISTS", "none"), b":0\r\n");
    assert_eq!(cmd!(c, "SET", "str", "x"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "XADD", "str", "*", "f", "v"),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(cmd!(c, "TYPE", "s"), b"+stream\r\n");
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "s"), b"$6\r\nstream\r\n");
    assert_eq!(cmd!(c, "XLEN", "s"), b":3\r\n");
    assert_eq!(
        cmd!(c, "XSETID", "s", "1-0"),
        b"-ERR The ID specified in XSETID is smaller than the target stream top item\r\n"
    );
    assert_eq!(cmd!(c, "XSETID", "s", "9-0"), b"+OK\r\n");
    assert_eq!(cmd!(c, "XADD", "s", "9-*", "f", "v"), b"$3\r\n9-1\r\n");
    assert_eq!(
        cmd!(c, "XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"),
        b"-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n"
    );
    assert_eq!(
        cmd!(c, "XTRIM", "s", "MAXLEN", "1", "LIMIT", "5"),
        b"-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"
    );
}

#[test]
fn ranges_exclusive_bounds_and_count() {
    let s = Server::start();
    let mut c = s.raw();
    for i in 1..=5 {
        cmd!(c, "XADD", "s", format!("{i}-0"), "f", format!("v{i}"));
    }
    assert_eq!(
        cmd!(c, "XRANGE", "s", "(2", "4", "COUNT", "1"),
        b"*1\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nf\r\n$2\r\nv3\r\n"
    );
    assert_eq!(
        cmd!(c, "XREVRANGE", "s", "+", "-", "COUNT", "2"),
        b"*2\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$2\r\nv5\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nf\r\n$2\r\nv4\r\n"
    );
    assert_eq!(cmd!(c, "XRANGE", "s", "-", "+", "COUNT", "0"), b"*-1\r\n");
    assert_eq!(cmd!(c, "XRANGE", "missing", "-", "+"), b"*0\r\n");
    assert_eq!(
        cmd!(c, "XRANGE", "s", "(0-0", "(0-0"),
        b"-ERR invalid end ID for the interval\r\n"
    );
    assert_eq!(cmd!(c, "XDEL", "s", "3-0", "9-0"), b":1\r\n");
    assert_eq!(cmd!(c, "XRANGE", "s", "3", "3"), b"*0\r\n");
    assert_eq!(cmd!(c, "XTRIM", "s", "MAXLEN", "2"), b":2\r\n");
    assert_eq!(cmd!(c, "XTRIM", "s", "MINID", "5"), b":1\r\n");
    assert_eq!(cmd!(c, "XLEN", "s"), b":1\r\n");
}

#[test]
fn approximate_trimming_keeps_whole_nodes() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "stream-node-max-entries", "10");
    for _ in 0..100 {
        cmd!(c, "XADD", "s", "*", "xitem", "v");
    }
    cmd!(c, "XADD", "s", "MAXLEN", "~", "55", "LIMIT", "30", "*", "xitem", "v");
    assert_eq!(cmd!(c, "XLEN", "s"), b":71\r\n");
    assert_eq!(cmd!(c, "XTRIM", "s", "MAXLEN", "~", "55"), b":10\r\n");
    assert_eq!(cmd!(c, "XLEN", "s"), b":61\r\n");
}

#[test]
fn xread_blocks_until_an_entry_arrives() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "XADD", "s", "1-0", "f", "old");
    let mut b = s.raw();
    b.send(b"XREAD BLOCK 0 STREAMS s $\r\n");
    wait_blocked(&s, 1);
    // Deleting and recreating the key does not change what `$` meant.
    cmd!(c, "DEL", "s");
    cmd!(c, "XADD", "s", "2-0", "f", "new");
    assert_eq!(
        b.read(),
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$3\r\nnew\r\n"
    );
    // A timeout answers with a null array.
    assert_eq!(cmd!(b, "XREAD", "BLOCK", "10", "STREAMS", "s", "$"), b"*-1\r\n");
    assert_eq!(cmd!(b, "XREAD", "STREAMS", "s", "9"), b"*-1\r\n");
    // Blocked on two streams, the reader gets the entries of the one that was
    // written first, alone.
    b.send(b"XREAD BLOCK 0 STREAMS s t $ $\r\n");
    wait_blocked(&s, 1);
    cmd!(c, "MULTI");
    cmd!(c, "XADD", "t", "5-0", "f", "t");
    cmd!(c, "XADD", "s", "5-0", "f", "s");
    cmd!(c, "EXEC");
    assert_eq!(
        b.read(),
        b"*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nt\r\n"
    );
    // A list waiter ahead of it on the same key does not hold the reader back.
    let mut l = s.raw();
    l.send(b"BLPOP u 0\r\n");
    wait_blocked(&s, 1);
    b.send(b"XREAD BLOCK 0 STREAMS u $\r\n");
    wait_blocked(&s, 2);
    cmd!(c, "XADD", "u", "1-0", "f", "v");
    assert_eq!(
        b.read(),
        b"*1\r\n*2\r\n$1\r\nu\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    wait_blocked(&s, 1);
}

#[test]
fn groups_pending_ack_and_claims() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "XGROUP", "CREATE", "s", "g", "$"), b"-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.\r\n");
    assert_eq!(cmd!(c, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "XGROUP", "CREATE", "s", "g", "$"),
        b"-BUSYGROUP Consumer Group name already exists\r\n"
    );
    for i in 1..=3 {
        cmd!(c, "XADD", "s", format!("{i}-0"), "f", "v");
    }
    let got = cmd!(
        c,
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "2",
        "STREAMS",
        "s",
        ">"
    );
    assert!(
        got.starts_with(b"*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // Alice's history holds what she got.
    let hist = cmd!(c, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0");
    assert!(
        hist.starts_with(b"*1\r\n*2\r\n$1\r\ns\r\n*2\r\n"),
        "{}",
        String::from_utf8_lossy(&hist)
    );
    assert_eq!(
        cmd!(c, "XPENDING", "s", "g"),
        b"*4\r\n:2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n2\r\n"
    );
    assert_eq!(cmd!(c, "XACK", "s", "g", "1-0", "1-0"), b":1\r\n");
    assert_eq!(
        cmd!(c, "XCLAIM", "s", "g", "bob", "0", "2-0", "JUSTID"),
        b"*1\r\n$3\r\n2-0\r\n"
    );
    let p = cmd!(c, "XPENDING", "s", "g", "-", "+", "10");
    assert!(
        p.starts_with(b"*1\r\n*4\r\n$3\r\n2-0\r\n$3\r\nbob\r\n"),
        "{}",
        String::from_utf8_lossy(&p)
    );
    assert_eq!(
        cmd!(c, "XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID"),
        b"*3\r\n$3\r\n0-0\r\n*1\r\n$3\r\n2-0\r\n*0\r\n"
    );
    assert_eq!(cmd!(c, "XGROUP", "DELCONSUMER", "s", "g", "carol"), b":1\r\n");
    assert_eq!(cmd!(c, "XGROUP", "CREATECONSUMER", "s", "g", "dave"), b":1\r\n");
    assert_eq!(
        cmd!(c, "XREADGROUP", "GROUP", "nog", "x", "STREAMS", "s", ">"),
        b"-NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option\r\n"
    );
}

#[test]
fn blocked_group_reader_learns_its_key_is_gone() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    let mut b = s.raw();
    b.send(b"XREADGROUP GROUP g alice BLOCK 0 STREAMS s >\r\n");
    wait_blocked(&s, 1);
    cmd!(c, "XADD", "s", "5-0", "f", "v");
    assert_eq!(
        b.read(),
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    b.send(b"XREADGROUP GROUP g alice BLOCK 0 STREAMS s >\r\n");
    wait_blocked(&s, 1);
    cmd!(c, "DEL", "s");
    assert_eq!(b.read(), b"-UNBLOCKED the stream key no longer exists\r\n");
    cmd!(c, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    b.send(b"XREADGROUP GROUP g alice BLOCK 0 STREAMS s >\r\n");
    wait_blocked(&s, 1);
    cmd!(c, "XGROUP", "DESTROY", "s", "g");
    assert_eq!(
        b.read(),
        b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
}

#[test]
fn streams_survive_reload_and_aof_rewrite() {
    let s = Server::start_with(&["--appendonly", "yes"]);
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "stream-node-max-entries", "3");
    for i in 1..=10 {
        cmd!(c, "XADD", "s", format!("{i}-0"), "f", format!("{i}"), "g", "x");
    }
    cmd!(c, "XADD", "s", "11-0", "other", "fields");
    cmd!(c, "XDEL", "s", "4-0");
    cmd!(c, "XGROUP", "CREATE", "s", "g", "0");
    cmd!(
        c,
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        "s",
        ">"
    );
    cmd!(c, "XGROUP", "CREATECONSUMER", "s", "g", "idle");
    cmd!(c, "XADD", "empty", "MAXLEN", "0", "7-7", "a", "b");
    let before = cmd!(c, "XINFO", "STREAM", "s", "FULL");
    let before_empty = cmd!(c, "XINFO", "STREAM", "empty");
    let groups = cmd!(c, "XINFO", "GROUPS", "s");
    let entries = cmd!(c, "XRANGE", "s", "-", "+");
    let digest = cmd!(c, "DEBUG", "DIGEST");
    assert_eq!(cmd!(c, "DEBUG", "RELOAD"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DEBUG", "DIGEST"), digest);
    assert_eq!(cmd!(c, "XINFO", "STREAM", "s", "FULL"), before);
    assert_eq!(cmd!(c, "XINFO", "STREAM", "empty"), before_empty);
    cmd!(c, "CONFIG", "SET", "aof-use-rdb-preamble", "no");
    assert!(cmd!(c, "BGREWRITEAOF").starts_with(b"+"));
    let mut r = s.client();
    wait_for("rewrite", Duration::from_secs(10), || {
        let info: String = redis::cmd("INFO").arg("persistence").query(&mut r).unwrap();
        (info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0")).then_some(())
    });
    assert_eq!(cmd!(c, "DEBUG", "LOADAOF"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DEBUG", "DIGEST"), digest);
    assert_eq!(cmd!(c, "XRANGE", "s", "-", "+"), entries);
    assert_eq!(cmd!(c, "XINFO", "GROUPS", "s"), groups);
    let consumers = cmd!(c, "XINFO", "CONSUMERS", "s", "g");
    assert!(
        consumers.starts_with(b"*2\r\n"),
        "{}",
        String::from_utf8_lossy(&consumers)
    );
    assert!(cmd!(c, "XPENDING", "s", "g", "-", "+", "10", "alice").starts_with(b"*3\r\n"));
    assert_eq!(cmd!(c, "XINFO", "STREAM", "empty"), before_empty);
}

#[test]
fn xdel_looks_the_key_up_before_reading_ids() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "XDEL", "nokey", "abc"), b":0\r\n");
    cmd!(c, "SET", "str", "x");
    assert_eq!(
        cmd!(c, "XDEL", "str", "1-*"),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    cmd!(c, "XADD", "s", "1-1", "f", "v");
    // One bad id and nothing is deleted.
    assert_eq!(
        cmd!(c, "XDEL", "s", "1-1", "abc"),
        b"-ERR Invalid stream ID specified as stream command argument\r\n"
    );
    assert_eq!(cmd!(c, "XLEN", "s"), b":1\r\n");
}

/// A stream of a few entries costs a few hundred bytes (Redis: about 300 once loaded), not
/// a tree of node slots made for many, whether built by XADD or loaded from a file.
#[test]
fn a_small_stream_costs_a_few_hundred_bytes() {
    let s = Server::start();
    let mut c = s.raw();
    const N: u64 = 20_000;
    let (built, loaded) = bytes_per_item(&s, N, |p, i| {
        for _ in 0..3 {
            p.cmd("XADD")
                .arg(format!("stream:{i}"))
                .arg("*")
                .arg("name")
                .arg(i)
                .ignore();
        }
    });
    assert!(
        built < 500 && loaded < 500,
        "{built} bytes a stream built, {loaded} loaded"
    );
    assert_eq!(cmd!(c, "XLEN", "stream:7"), b":3\r\n");
}
