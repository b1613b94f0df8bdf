//! Pub/sub over TCP: SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE confirmations and counts, message
//! and pmessage delivery, RESP2 subscribed mode (allowed commands, PING form, error
//! text) and RESP3 pushes, PUBSUB introspection, keyspace notifications (classes,
//! masks, expired and new keys), CLIENT REPLY OFF, MONITOR, and the output-buffer limit
//! that disconnects a subscriber that never reads. Cases follow tests/unit/pubsub.tcl,
//! tests/unit/pubsubshard.tcl and tests/unit/introspection.tcl.
use std::io::Write;
use std::time::Duration;

use crate::cmd;
use crate::harness::{wait_for, Server};

fn msg(parts: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", parts.len()).into_bytes();
    for p in parts {
        v.extend(format!("${}\r\n{}\r\n", p.len(), p).bytes());
    }
    v
}

/// The RESP3 push of keyspace event `event` on `key` in db 0, to a connection
/// subscribed to the pattern `__keyevent@0__:*`.
fn keyevent_push(event: &str, key: &str) -> String {
    let ch = format!("__keyevent@0__:{event}");
    format!(
        ">4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n${}\r\n{ch}\r\n${}\r\n{key}\r\n",
        ch.len(),
        key.len()
    )
}

#[test]
fn subscribe_publish_unsubscribe() {
    let s = Server::start();
    let mut sub = s.raw();
    let mut p = s.raw();
    assert_eq!(
        cmd!(sub, "SUBSCRIBE", "c1", "c2"),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n"
    );
    assert_eq!(sub.read(), b"*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n");
    assert_eq!(cmd!(p, "PUBLISH", "c1", "hello"), b":1\r\n");
    assert_eq!(sub.read(), msg(&["message", "c1", "hello"]));
    // Patterns count with channels; a message matching both arrives twice.
    assert_eq!(
        cmd!(sub, "PSUBSCRIBE", "c*"),
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:3\r\n"
    );
    assert_eq!(cmd!(p, "PUBLISH", "c2", "x"), b":2\r\n");
    assert_eq!(sub.read(), msg(&["message", "c2", "x"]));
    assert_eq!(sub.read(), msg(&["pmessage", "c*", "c2", "x"]));
    assert_eq!(
        cmd!(p, "PUBSUB", "NUMSUB", "c1", "nope"),
        b"*4\r\n$2\r\nc1\r\n:1\r\n$4\r\nnope\r\n:0\r\n"
    );
    // A flat array in RESP3 as well.
    p.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        cmd!(p, "PUBSUB", "NUMSUB", "c1", "nope"),
        b"*4\r\n$2\r\nc1\r\n:1\r\n$4\r\nnope\r\n:0\r\n"
    );
    p.cmd(&[b"HELLO", b"2"]);
    assert_eq!(cmd!(p, "PUBSUB", "NUMPAT"), b":1\r\n");
    assert_eq!(cmd!(p, "PUBSUB", "CHANNELS", "c1"), b"*1\r\n$2\r\nc1\r\n");
    // RESP2 subscribed mode: PING answers as an array, other commands are refused.
    assert_eq!(cmd!(sub, "PING"), msg(&["pong", ""]));
    assert_eq!(
        cmd!(sub, "GET", "k"),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(
        cmd!(sub, "PUNSUBSCRIBE"),
        b"*3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:2\r\n"
    );
    assert_eq!(
        cmd!(sub, "UNSUBSCRIBE", "c1"),
        b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:1\r\n"
    );
    assert_eq!(
        cmd!(sub, "UNSUBSCRIBE"),
        b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nc2\r\n:0\r\n"
    );
    // Nothing left: one confirmation with a null name.
    assert_eq!(cmd!(sub, "UNSUBSCRIBE"), b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    assert_eq!(cmd!(sub, "PING"), b"+PONG\r\n");
    assert_eq!(cmd!(p, "PUBLISH", "c1", "gone"), b":0\r\n");
    // Shard channels are counted on their own.
    cmd!(sub, "SUBSCRIBE", "a");
    assert_eq!(
        cmd!(sub, "SSUBSCRIBE", "s1"),
        b"*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n"
    );
    assert_eq!(cmd!(p, "SPUBLISH", "s1", "m"), b":1\r\n");
    assert_eq!(sub.read(), msg(&["smessage", "s1", "m"]));
    assert_eq!(cmd!(p, "PUBLISH", "s1", "m"), b":0\r\n");
    assert_eq!(cmd!(p, "PUBSUB", "SHARDNUMSUB", "s1"), b"*2\r\n$2\r\ns1\r\n:1\r\n");
    // A disconnected subscriber is forgotten.
    drop(sub);
    wait_for("subscriber gone", Duration::from_secs(5), || {
        (cmd!(p, "PUBSUB", "NUMSUB", "a") == b"*2\r\n$1\r\na\r\n:0\r\n").then_some(())
    });
}

#[test]
fn resp3_pushes_and_reply_off() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "HELLO", "3");
    assert_eq!(
        cmd!(c, "SUBSCRIBE", "ch"),
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    // Any command works in RESP3, and a message to ourselves comes before our reply.
    assert_eq!(cmd!(c, "SET", "k", "v"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "PUBLISH", "ch", "hi"),
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    );
    assert_eq!(c.read(), b":1\r\n");
    // CLIENT REPLY OFF silences replies but not pub/sub traffic.
    let mut r = s.raw();
    r.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n");
    r.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nx\r\n");
    assert_eq!(r.read(), b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n");
    let mut p = s.raw();
    cmd!(p, "PUBLISH", "x", "m");
    assert_eq!(r.read(), msg(&["message", "x", "m"]));
}

#[test]
fn a_transaction_runs_what_it_queued_after_subscribing() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SUBSCRIBE", "ch"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "SSUBSCRIBE", "sh"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "INCR", "n"), b"+QUEUED\r\n");
    // SUBSCRIBE inside EXEC still lets the queue run; SSUBSCRIBE is refused there.
    assert_eq!(
        cmd!(c, "EXEC"),
        [
            &b"*3\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"[..],
            b"-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n:1\r\n",
        ]
        .concat()
    );
    // After EXEC the connection is in RESP2 pub/sub mode.
    assert_eq!(
        cmd!(c, "INCR", "n"),
        &b"-ERR Can't execute 'incr': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"[..]
    );
}

#[test]
fn a_connection_gets_its_own_events_where_redis_puts_them() {
    // Redis's handlers mostly reply first and notify after (LPUSH, HSET, ZADD,
    // EXPIRE, ...), some notify first (SET, DEL, INCR, ...), and LMOVE and SPOP
    // announce one event before their reply and one after; BRPOP and BLMPOP served at
    // once reply first. ZPOPMIN and ZMPOP announce
    // the pop inside their reply, after its header. SINTERSTORE deletes the
    // destination before replying when a source is missing. A connection subscribed to
    // its own events sees the same order.
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "KEA");
    cmd!(c, "RPUSH", "src", "a", "b");
    cmd!(c, "SADD", "s", "m");
    cmd!(c, "ZADD", "z", "1", "m", "2", "n");
    cmd!(c, "SET", "dst", "x");
    let mut e = s.raw();
    cmd!(e, "HELLO", "3");
    e.send(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$16\r\n__keyevent@0__:*\r\n");
    e.read();
    let steps: &[(&[&str], &[&str])] = &[
        (&["LPUSH", "l", "x"], &[":1", "lpush l"]),
        (&["SET", "k", "v"], &["set k", "+OK"]),
        (&["EXPIRE", "k", "100"], &[":1", "expire k"]),
        (&["DEL", "k"], &["del k", ":1"]),
        (&["LMOVE", "src", "l", "LEFT", "RIGHT"], &["rpush l", "$a", "lpop src"]),
        (&["BRPOP", "l", "0"], &["*2", "$l", "$a", "rpop l"]),
        (
            &["BLMPOP", "0", "1", "src", "LEFT"],
            &["*2", "$src", "*1", "$b", "lpop src", "del src"],
        ),
        (&["SPOP", "s"], &["spop s", "$m", "del s"]),
        (&["ZPOPMIN", "z"], &["*2", "zpopmin z", "$m", ",1"]),
        (
            &["ZMPOP", "1", "z", "MAX", "COUNT", "5"],
            &["*2", "$z", "*1", "zpopmax z", "*2", "$n", ",2", "del z"],
        ),
        (&["SINTERSTORE", "dst", "s", "nosuch"], &["del dst", ":0"]),
    ];
    for (argv, want) in steps {
        let want: String = want
            .iter()
            .map(|w| match w.split_once(' ') {
                Some((ev, key)) => keyevent_push(ev, key),
                None if w.starts_with('$') => format!("${}\r\n{}\r\n", w.len() - 1, &w[1..]),
                None => format!("{w}\r\n"),
            })
            .collect();
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        e.send_cmd(&args);
        let got = String::from_utf8(e.read_bytes(want.len())).unwrap();
        assert_eq!(got, want, "{argv:?}");
    }
    // Nothing else followed.
    assert_eq!(e.cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn keyspace_notifications() {
    let s = Server::start();
    let mut c = s.raw();
    let mut sub = s.raw();
    cmd!(sub, "PSUBSCRIBE", "*");
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "KEl");
    cmd!(c, "SET", "foo", "bar");
    cmd!(c, "RPUSH", "l", "a");
    cmd!(c, "LPOP", "l");
    // Only list events, and the emptied list's "del" is generic: masked.
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyspace@0__:l", "rpush"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:rpush", "l"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyspace@0__:l", "lpop"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:lpop", "l"]));
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "Eg$");
    cmd!(c, "SELECT", "3");
    cmd!(c, "SET", "k", "1");
    cmd!(c, "INCRBY", "k", "2");
    cmd!(c, "DEL", "k");
    cmd!(c, "APPEND", "k", "x");
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@3__:set", "k"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@3__:incrby", "k"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@3__:del", "k"]));
    // APPEND creating its key is an append, not a set.
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@3__:append", "k"]));
    // Expired keys are announced when active expiry removes them; new keys on creation.
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "Exn");
    cmd!(c, "PSETEX", "t", "50", "v");
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@3__:new", "t"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@3__:expired", "t"]));
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "notify-keyspace-events"),
        msg(&["notify-keyspace-events", "xnE"])
    );
}

/// Class `m`: a read that finds no key raises `keymiss` (writes and OBJECT do not);
/// a SET with an expire raises "set" then "expire".
#[test]
fn key_misses_and_set_expires_are_announced() {
    let s = Server::start();
    let mut c = s.raw();
    let mut sub = s.raw();
    cmd!(sub, "PSUBSCRIBE", "*");
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "Em");
    cmd!(c, "SET", "here", "1");
    cmd!(c, "GET", "here");
    cmd!(c, "GET", "gone");
    cmd!(c, "LPUSH", "newlist", "a");
    cmd!(c, "OBJECT", "ENCODING", "nothing");
    cmd!(c, "MGET", "here", "m1");
    cmd!(c, "HGET", "h", "f");
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:keymiss", "gone"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:keymiss", "m1"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:keymiss", "h"]));
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "Eg$");
    cmd!(c, "SET", "k", "v", "PX", "100000");
    cmd!(c, "SETEX", "k2", "100", "v");
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:set", "k"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:expire", "k"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:set", "k2"]));
    assert_eq!(sub.read(), msg(&["pmessage", "*", "__keyevent@0__:expire", "k2"]));
}

/// 'A' does not include new-key events, and CONFIG GET does not show 'n' beside it,
/// but "KEAn" turns them on all the same. A key created on the way (XADD, XGROUP
/// CREATE ... MKSTREAM) is announced before the reply, the command's own event after.
#[test]
fn new_key_events_stay_on_beside_all_classes() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "EAn");
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "notify-keyspace-events"),
        msg(&["notify-keyspace-events", "AE"])
    );
    let mut e = s.raw();
    cmd!(e, "HELLO", "3");
    e.send(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$16\r\n__keyevent@0__:*\r\n");
    e.read();
    let steps: &[(&[&str], String)] = &[
        (
            &["SET", "k", "v"],
            keyevent_push("new", "k") + &keyevent_push("set", "k") + "+OK\r\n",
        ),
        (&["SET", "k", "w"], keyevent_push("set", "k") + "+OK\r\n"),
        (
            &["XADD", "x", "1-1", "f", "v"],
            keyevent_push("new", "x") + "$3\r\n1-1\r\n" + &keyevent_push("xadd", "x"),
        ),
        (
            &["XGROUP", "CREATE", "y", "g", "$", "MKSTREAM"],
            keyevent_push("new", "y") + "+OK\r\n" + &keyevent_push("xgroup-create", "y"),
        ),
    ];
    for (argv, want) in steps {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        e.send_cmd(&args);
        let got = String::from_utf8(e.read_bytes(want.len())).unwrap();
        assert_eq!(&got, want, "{argv:?}");
    }
    assert_eq!(e.cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn monitor_shows_commands() {
    let s = Server::start();
    let mut m = s.raw();
    assert_eq!(cmd!(m, "MONITOR"), b"+OK\r\n");
    let mut c = s.raw();
    cmd!(c, "SET", "a b", "x\n\"");
    cmd!(c, "AUTH", "secret");
    let line = String::from_utf8(m.read()).unwrap();
    assert!(line.starts_with('+'), "{line}");
    assert!(line.ends_with("] \"SET\" \"a b\" \"x\\n\\\"\"\r\n"), "{line}");
    assert!(line.contains("[0 127.0.0.1:"), "{line}");
    let line = String::from_utf8(m.read()).unwrap();
    assert!(line.contains(r#""AUTH" "(redacted)""#), "{line}");
    // Administrative commands are not shown.
    cmd!(c, "CONFIG", "GET", "port");
    cmd!(c, "GET", "a b");
    let line = String::from_utf8(m.read()).unwrap();
    assert!(line.contains(r#""GET" "a b""#), "{line}");
    // The monitoring connection may not touch the data (Redis flags it as a replica),
    // and CLIENT REPLY OFF silences its lines, the one of REPLY OFF itself included,
    // where pub/sub messages would get through.
    assert_eq!(
        cmd!(m, "GET", "x"),
        b"-ERR Replica can't interact with the keyspace\r\n"
    );
    m.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n");
    cmd!(c, "PING", "hidden");
    m.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n");
    assert_eq!(m.read(), b"+OK\r\n");
    let line = String::from_utf8(m.read()).unwrap();
    assert!(line.ends_with("] \"CLIENT\" \"REPLY\" \"ON\"\r\n"), "{line}");
    // CLIENT LIST spells flags in Redis's order.
    let mut p = s.raw();
    cmd!(p, "CLIENT", "NO-EVICT", "ON");
    cmd!(p, "SUBSCRIBE", "ch");
    let list = String::from_utf8(cmd!(c, "CLIENT", "LIST")).unwrap();
    assert!(list.contains(" flags=O "), "{list}");
    assert!(list.contains(" flags=Pe "), "{list}");
}

/// Sends batches of 16 commands, each `head` (all but the last argument) and a 16 KB
/// last argument, reading their replies, until `done` holds (within 20 s).
fn flood_until(p: &mut crate::harness::Raw, head: &str, what: &str, done: impl Fn(&mut crate::harness::Raw) -> bool) {
    let payload = vec![b'x'; 16 * 1024];
    let mut batch = Vec::new();
    for _ in 0..16 {
        batch.extend(format!("{head}${}\r\n", payload.len()).bytes());
        batch.extend_from_slice(&payload);
        batch.extend_from_slice(b"\r\n");
    }
    wait_for(what, Duration::from_secs(20), || {
        p.s.write_all(&batch).unwrap();
        for _ in 0..16 {
            p.read();
        }
        done(p).then_some(())
    });
}

#[test]
fn slow_subscriber_is_disconnected() {
    let s = Server::start_with(&["--client-output-buffer-limit", "pubsub 1mb 256kb 60"]);
    let mut sub = s.raw();
    cmd!(sub, "SUBSCRIBE", "flood");
    // Shrink our receive buffer so unread messages pile up on the server side.
    socket2::SockRef::from(&sub.s).set_recv_buffer_size(4096).unwrap();
    let mut p = s.raw();
    flood_until(
        &mut p,
        "*3\r\n$7\r\nPUBLISH\r\n$5\r\nflood\r\n",
        "subscriber disconnected",
        |p| cmd!(p, "PUBSUB", "NUMSUB", "flood") == b"*2\r\n$5\r\nflood\r\n:0\r\n",
    );
    assert!(s
        .log()
        .contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
}

/// A MONITOR client that does not read is held to the normal class's output limit,
/// not the replica class's: with `normal 256kb` it is dropped, whatever `replica` says.
#[test]
fn slow_monitor_has_the_normal_output_limit() {
    let s = Server::start_with(&["--client-output-buffer-limit", "normal 256kb 0 0 replica 0 0 0"]);
    let mut m = s.raw();
    socket2::SockRef::from(&m.s).set_recv_buffer_size(4096).unwrap();
    assert_eq!(cmd!(m, "MONITOR"), b"+OK\r\n");
    let mut p = s.raw();
    flood_until(&mut p, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n", "monitor disconnected", |p| {
        !String::from_utf8(cmd!(p, "CLIENT", "LIST"))
            .unwrap()
            .contains("cmd=monitor")
    });
    assert!(s
        .log()
        .contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
}

/// Output-buffer limits count what Redis would hold past a client's own 16 KB reply
/// buffer: small replies and messages pass tiny limits, while a reply of deferred
/// length (KEYS) goes to reply blocks and counts whole.
#[test]
fn output_limits_count_what_is_past_the_client_buffer() {
    let s = Server::start_with(&["--client-output-buffer-limit", "normal 100 0 0 pubsub 1 1 1"]);
    let mut c = s.raw();
    let big = "x".repeat(1000);
    cmd!(c, "SET", "big", &big);
    for i in 0..10 {
        cmd!(c, "SET", format!("key-{i:020}"), "v");
    }
    assert_eq!(cmd!(c, "GET", "big"), format!("$1000\r\n{big}\r\n").into_bytes());
    let mut sub = s.raw();
    cmd!(sub, "SUBSCRIBE", "ch");
    let msg = "m".repeat(100);
    for _ in 0..3 {
        assert_eq!(cmd!(c, "PUBLISH", "ch", &msg), b":1\r\n");
    }
    for _ in 0..3 {
        assert_eq!(
            sub.read(),
            format!("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$100\r\n{msg}\r\n").into_bytes()
        );
    }
    let mut k = s.raw();
    k.send_cmd(&[b"KEYS", b"key-*"]);
    assert_eq!(k.read_until_closed(), b"", "a reply past the limit is dropped whole");
    // The same members: SRANDMEMBER knows its length up front, SMEMBERS (like Redis's
    // SINTER) does not, and its reply starts a 16 KB block; so does CLIENT
    // TRACKINGINFO's list of flags, past its first few bytes, and COMMAND INFO's ACL
    // categories, LCS's matches and ACL CAT's names.
    let members: Vec<String> = (0..20).map(|i| format!("member-{i:04}")).collect();
    let mut sadd: Vec<&[u8]> = vec![b"SADD", b"s"];
    sadd.extend(members.iter().map(|m| m.as_bytes()));
    c.cmd(&sadd);
    assert!(cmd!(c, "SRANDMEMBER", "s", "20").starts_with(b"*20\r\n"));
    assert_eq!(
        cmd!(c, "LCS", "key-00000000000000000001", "key-00000000000000000002"),
        b"$1\r\nv\r\n"
    );
    let deferred: [&[&[u8]]; 5] = [
        &[b"SMEMBERS", b"s"],
        &[b"CLIENT", b"TRACKINGINFO"],
        &[b"COMMAND", b"INFO", b"GET"],
        &[b"LCS", b"key-00000000000000000001", b"key-00000000000000000002", b"IDX"],
        &[b"ACL", b"CAT"],
    ];
    for args in deferred {
        let mut d = s.raw();
        d.send_cmd(args);
        assert_eq!(d.read_until_closed(), b"", "{:?}", String::from_utf8_lossy(args[0]));
    }
    assert!(
        cmd!(c, "SLOWLOG", "GET").starts_with(b"*"),
        "an empty deferred reply is small"
    );
    assert!(!c.closed_or_idle() && !sub.closed_or_idle());
}

/// Limits are checked as output grows (when Redis takes a new reply block): a reply
/// past the client's own buffer written while it is a normal client does not drop it
/// when a SUBSCRIBE in the same pipeline makes it a subscriber under a 1 KB limit,
/// while a message that grows its output past that limit does.
#[test]
fn a_client_subscribing_with_a_reply_pending_keeps_it() {
    let s = Server::start_with(&["--client-output-buffer-limit", "pubsub 1000 0 0"]);
    let mut c = s.raw();
    let big = "x".repeat(20_000);
    cmd!(c, "SET", "big", &big);
    let mut sub = s.raw();
    sub.send(b"GET big\r\nSUBSCRIBE ch\r\n");
    let want = format!("$20000\r\n{big}\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    assert_eq!(sub.read_bytes(want.len()), want.into_bytes());
    assert_eq!(cmd!(c, "PUBLISH", "ch", "hello"), b":1\r\n", "still subscribed");
    assert_eq!(sub.read(), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
    assert_eq!(cmd!(c, "PUBLISH", "ch", &big), b":1\r\n");
    assert_eq!(sub.read_until_closed(), b"", "a message past the limit drops it");
}

/// A subscribing command's own replies are judged in the class the client had before it
/// (Redis marks it subscribed once they are added): a deferred-length reply before it
/// in a transaction puts them in reply blocks, yet a 1-byte pubsub limit keeps the
/// client; what grows past the limit once it is subscribed drops it.
#[test]
fn subscribing_replies_are_judged_in_the_class_before_the_command() {
    let s = Server::start_with(&["--client-output-buffer-limit", "pubsub 1 1 1"]);
    let mut sub = s.raw();
    sub.send(b"MULTI\r\nPUBSUB SHARDCHANNELS\r\nPSUBSCRIBE a b\r\nEXEC\r\nPING\r\n");
    let want = "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*0\r\n*3\r\n$10\r\npsubscribe\r\n$1\r\na\r\n:1\r\n\
                *3\r\n$10\r\npsubscribe\r\n$1\r\nb\r\n:2\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n";
    assert_eq!(String::from_utf8_lossy(&sub.read_bytes(want.len())), want);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "PUBLISH", "a", "hi"), b":1\r\n", "still subscribed");
    assert_eq!(
        sub.read(),
        b"*4\r\n$8\r\npmessage\r\n$1\r\na\r\n$1\r\na\r\n$2\r\nhi\r\n"
    );
    assert_eq!(cmd!(c, "PUBLISH", "a", "x".repeat(20_000)), b":1\r\n");
    assert_eq!(sub.read_until_closed(), b"", "a message past the limit drops it");
}

/// A client's own reply buffer is 16 KB until the clients cron sizes it after its use (1 KB
/// for a quiet subscriber), and output-buffer limits count what is past it, as Redis's
/// do: a 5 KB message passes a 1-byte limit while the buffer is new, and drops the
/// subscriber once the buffer was shrunk.
#[test]
fn output_limits_count_past_the_client_buffer_as_the_cron_sized_it() {
    let s = Server::start_with(&["--client-output-buffer-limit", "pubsub 1 1 1"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DEBUG", "REPLYBUFFER", "RESIZING", "0"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"), b"+OK\r\n");
    let mut sub = s.raw();
    cmd!(sub, "CLIENT", "SETNAME", "sub");
    cmd!(sub, "SUBSCRIBE", "ch");
    let rbs = |c: &mut crate::harness::Raw| {
        let list = String::from_utf8(cmd!(c, "CLIENT", "LIST")).unwrap();
        let line = list.lines().find(|l| l.contains(" name=sub ")).map(str::to_owned);
        line.and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("rbs=").map(str::to_owned)))
    };
    assert_eq!(rbs(&mut c).as_deref(), Some("16384"));
    let msg = "m".repeat(5000);
    assert_eq!(cmd!(c, "PUBLISH", "ch", &msg), b":1\r\n");
    assert_eq!(
        sub.read(),
        format!("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5000\r\n{msg}\r\n").into_bytes()
    );
    assert_eq!(cmd!(c, "DEBUG", "REPLYBUFFER", "RESIZING", "1"), b"+OK\r\n");
    wait_for("the subscriber's buffer shrunk", Duration::from_secs(10), || {
        (rbs(&mut c).as_deref() == Some("1024")).then_some(())
    });
    assert_eq!(cmd!(c, "PUBLISH", "ch", &msg), b":1\r\n");
    assert_eq!(sub.read_until_closed(), b"");
    assert!(s
        .log()
        .contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
}

/// PUNSUBSCRIBE with no pattern drops a client's patterns in the order it subscribed to
/// them (Redis keeps them in a list), a pattern dropped and taken again going last.
#[test]
fn punsubscribe_drops_patterns_in_the_order_subscribed() {
    let s = Server::start();
    let mut c = s.raw();
    c.send(b"PSUBSCRIBE p1 p2 p3 p4 p5 p6\r\nPUNSUBSCRIBE p2\r\nPSUBSCRIBE p2\r\n");
    let mut want = String::new();
    for (i, p) in ["p1", "p2", "p3", "p4", "p5", "p6"].iter().enumerate() {
        want += &format!("*3\r\n$10\r\npsubscribe\r\n$2\r\n{p}\r\n:{}\r\n", i + 1);
    }
    want += "*3\r\n$12\r\npunsubscribe\r\n$2\r\np2\r\n:5\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\np2\r\n:6\r\n";
    assert_eq!(String::from_utf8_lossy(&c.read_bytes(want.len())), want);
    c.send(b"PUNSUBSCRIBE\r\n");
    let mut want = String::new();
    for (i, p) in ["p1", "p3", "p4", "p5", "p6", "p2"].iter().enumerate() {
        want += &format!("*3\r\n$12\r\npunsubscribe\r\n$2\r\n{p}\r\n:{}\r\n", 5 - i);
    }
    assert_eq!(String::from_utf8_lossy(&c.read_bytes(want.len())), want);
}
