//! List commands and blocking pops over TCP: happy paths, WRONGTYPE, parse errors
//! (full text), FIFO wake-up order, timeouts, CLIENT UNBLOCK, and keys created by
//! other commands waking blocked clients. Cases follow tests/unit/type/list.tcl.
use std::time::{Duration, Instant};

use crate::cmd;
use crate::harness::{wait_for, Server};
use redis::Commands;

/// Polls INFO until `n` clients are blocked.
fn wait_blocked(s: &Server, n: usize) {
    let mut r = s.client();
    wait_for("blocked clients", Duration::from_secs(5), || {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut r).unwrap();
        info.contains(&format!("blocked_clients:{n}\r")).then_some(())
    });
}

#[test]
fn push_pop_range_and_index() {
    let s = Server::start();
    let mut r = s.client();
    assert_eq!(r.rpush::<_, _, i64>("l", &["a", "b", "c"]).unwrap(), 3);
    assert_eq!(r.lpush::<_, _, i64>("l", "z").unwrap(), 4);
    assert_eq!(
        r.lrange::<_, Vec<String>>("l", 0, -1).unwrap(),
        vec!["z", "a", "b", "c"]
    );
    assert_eq!(r.lrange::<_, Vec<String>>("l", -2, 100).unwrap(), vec!["b", "c"]);
    assert_eq!(r.lindex::<_, String>("l", -1).unwrap(), "c");
    assert_eq!(r.llen::<_, i64>("l").unwrap(), 4);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "LINDEX", "l", "9"), b"$-1\r\n");
    assert_eq!(cmd!(c, "LPOP", "l"), b"$1\r\nz\r\n");
    assert_eq!(cmd!(c, "RPOP", "l", "2"), b"*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    assert_eq!(cmd!(c, "LPOP", "l", "0"), b"*0\r\n");
    assert_eq!(
        cmd!(c, "LPOP", "l", "-1"),
        b"-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(cmd!(c, "LPOP", "nokey", "3"), b"*-1\r\n");
    assert_eq!(cmd!(c, "LPOP", "nokey"), b"$-1\r\n");
    assert_eq!(cmd!(c, "LPOP", "l"), b"$1\r\na\r\n");
    // The emptied list is gone.
    assert_eq!(cmd!(c, "EXISTS", "l"), b":0\r\n");
    assert_eq!(cmd!(c, "LPUSHX", "l", "x"), b":0\r\n");
    assert_eq!(cmd!(c, "RPUSH", "l", "1"), b":1\r\n");
    assert_eq!(cmd!(c, "RPUSHX", "l", "2", "3"), b":3\r\n");
    assert_eq!(cmd!(c, "LSET", "l", "-1", "three"), b"+OK\r\n");
    assert_eq!(cmd!(c, "LSET", "l", "5", "x"), b"-ERR index out of range\r\n");
    assert_eq!(cmd!(c, "LSET", "nokey", "0", "x"), b"-ERR no such key\r\n");
    assert_eq!(cmd!(c, "LINSERT", "l", "BEFORE", "2", "1.5"), b":4\r\n");
    assert_eq!(cmd!(c, "LINSERT", "l", "AFTER", "zz", "x"), b":-1\r\n");
    assert_eq!(cmd!(c, "LINSERT", "l", "MIDDLE", "2", "x"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "LRANGE", "l", "0", "-1"),
        b"*4\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$5\r\nthree\r\n"
    );
    assert_eq!(
        cmd!(c, "LRANGE", "l", "a", "1"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "l"), b"$9\r\nquicklist\r\n");
    assert_eq!(cmd!(c, "TYPE", "l"), b"+list\r\n");
}

#[test]
fn lrem_ltrim_lpos() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "RPUSH", "l", "a", "b", "a", "c", "a"), b":5\r\n");
    assert_eq!(cmd!(c, "LREM", "l", "-1", "a"), b":1\r\n");
    assert_eq!(cmd!(c, "LPOS", "l", "a"), b":0\r\n");
    assert_eq!(cmd!(c, "LPOS", "l", "a", "RANK", "2"), b":2\r\n");
    assert_eq!(cmd!(c, "LPOS", "l", "a", "RANK", "-1"), b":2\r\n");
    assert_eq!(cmd!(c, "LPOS", "l", "a", "COUNT", "0"), b"*2\r\n:0\r\n:2\r\n");
    assert_eq!(cmd!(c, "LPOS", "l", "a", "MAXLEN", "1", "COUNT", "0"), b"*1\r\n:0\r\n");
    assert_eq!(cmd!(c, "LPOS", "l", "zz"), b"$-1\r\n");
    assert_eq!(
        cmd!(c, "LPOS", "l", "a", "RANK", "0"),
        b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"
    );
    assert_eq!(
        cmd!(c, "LPOS", "l", "a", "COUNT", "-1"),
        b"-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(
        cmd!(c, "LPOS", "l", "a", "MAXLEN", "-1"),
        b"-ERR MAXLEN can't be negative\r\n"
    );
    assert_eq!(cmd!(c, "LREM", "l", "0", "a"), b":2\r\n");
    assert_eq!(cmd!(c, "LTRIM", "l", "0", "0"), b"+OK\r\n");
    assert_eq!(cmd!(c, "LRANGE", "l", "0", "-1"), b"*1\r\n$1\r\nb\r\n");
    assert_eq!(cmd!(c, "LTRIM", "l", "5", "10"), b"+OK\r\n");
    assert_eq!(cmd!(c, "EXISTS", "l"), b":0\r\n");
}

#[test]
fn wrongtype_and_arity() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SET", "s", "x"), b"+OK\r\n");
    let wt = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n".to_vec();
    assert_eq!(cmd!(c, "LPUSH", "s", "a"), wt);
    assert_eq!(cmd!(c, "LRANGE", "s", "0", "-1"), wt);
    assert_eq!(cmd!(c, "LLEN", "s"), wt);
    assert_eq!(cmd!(c, "BLPOP", "s", "0"), wt);
    assert_eq!(cmd!(c, "RPUSH", "l", "a"), b":1\r\n");
    assert_eq!(cmd!(c, "LMOVE", "l", "s", "LEFT", "RIGHT"), wt);
    // The failed move changed nothing.
    assert_eq!(cmd!(c, "LLEN", "l"), b":1\r\n");
    assert_eq!(cmd!(c, "GET", "l"), wt);
    assert_eq!(
        cmd!(c, "LPUSH", "l"),
        b"-ERR wrong number of arguments for 'lpush' command\r\n"
    );
    assert_eq!(
        cmd!(c, "LPOP", "l", "1", "2"),
        b"-ERR wrong number of arguments for 'lpop' command\r\n"
    );
}

#[test]
fn lmove_rotates_and_lmpop() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "RPUSH", "l", "1", "2", "3"), b":3\r\n");
    assert_eq!(cmd!(c, "EXPIRE", "l", "100"), b":1\r\n");
    assert_eq!(cmd!(c, "RPOPLPUSH", "l", "l"), b"$1\r\n3\r\n");
    assert_eq!(cmd!(c, "LMOVE", "l", "l", "LEFT", "RIGHT"), b"$1\r\n3\r\n");
    assert_eq!(cmd!(c, "TTL", "l"), b":100\r\n");
    assert_eq!(cmd!(c, "LMOVE", "l", "m", "RIGHT", "LEFT"), b"$1\r\n3\r\n");
    assert_eq!(cmd!(c, "LMOVE", "l", "m", "UP", "LEFT"), b"-ERR syntax error\r\n");
    assert_eq!(cmd!(c, "LMOVE", "none", "m", "LEFT", "LEFT"), b"$-1\r\n");
    assert_eq!(
        cmd!(c, "LMPOP", "2", "none", "l", "LEFT", "COUNT", "5"),
        b"*2\r\n$1\r\nl\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    assert_eq!(cmd!(c, "LMPOP", "1", "none", "LEFT"), b"*-1\r\n");
    assert_eq!(
        cmd!(c, "LMPOP", "0", "l", "LEFT"),
        b"-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        cmd!(c, "LMPOP", "1", "l", "LEFT", "COUNT", "0"),
        b"-ERR count should be greater than 0\r\n"
    );
    assert_eq!(cmd!(c, "LMPOP", "5", "l", "LEFT"), b"-ERR syntax error\r\n");
}

#[test]
fn blocked_clients_are_served_fifo() {
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    b.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&s, 2);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "RPUSH", "q", "first", "second"), b":2\r\n");
    assert_eq!(a.read(), b"*2\r\n$1\r\nq\r\n$5\r\nfirst\r\n");
    assert_eq!(b.read(), b"*2\r\n$1\r\nq\r\n$6\r\nsecond\r\n");
    assert_eq!(cmd!(c, "EXISTS", "q"), b":0\r\n");
    // A pipelined command after the blocking one runs once it is served.
    a.send(b"*3\r\n$5\r\nBRPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n");
    wait_blocked(&s, 1);
    assert_eq!(cmd!(c, "LPUSH", "q", "x"), b":1\r\n");
    assert_eq!(a.read(), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(a.read(), b"+PONG\r\n");
    // A client blocked on several keys is served from the key that became ready
    // first, not the first of its keys that holds something.
    a.send(b"*4\r\n$5\r\nBLPOP\r\n$2\r\nk1\r\n$2\r\nk2\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    cmd!(c, "MULTI");
    cmd!(c, "RPUSH", "k2", "from-k2");
    cmd!(c, "RPUSH", "k1", "from-k1");
    cmd!(c, "EXEC");
    assert_eq!(a.read(), b"*2\r\n$2\r\nk2\r\n$7\r\nfrom-k2\r\n");
    assert_eq!(cmd!(c, "LLEN", "k1"), b":1\r\n");
}

#[test]
fn a_served_blocking_command_is_logged_as_sent() {
    // It runs again on the key that became ready alone; the slow log shows what the
    // client sent.
    let s = Server::start();
    let mut a = s.raw();
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "slowlog-log-slower-than", "0");
    a.send(b"*4\r\n$5\r\nBLPOP\r\n$2\r\nk1\r\n$2\r\nk2\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    cmd!(c, "RPUSH", "k2", "x");
    assert_eq!(a.read(), b"*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
    let log = String::from_utf8(cmd!(c, "SLOWLOG", "GET", "1")).unwrap();
    assert!(
        log.contains("*4\r\n$5\r\nBLPOP\r\n$2\r\nk1\r\n$2\r\nk2\r\n$1\r\n0\r\n"),
        "{log}"
    );
}

#[test]
fn a_served_client_can_kill_the_client_that_served_it() {
    // A served client's next commands run before the loop writes anyone's replies, as
    // in Redis: a CLIENT KILL among them drops what was queued for the killed client.
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    let id = String::from_utf8(cmd!(b, "CLIENT", "ID")).unwrap();
    let id = id.trim_start_matches(':').trim_end();
    let kill = format!(
        "*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n${}\r\n{id}\r\n",
        id.len()
    );
    a.send(format!("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n{kill}*1\r\n$4\r\nPING\r\n").as_bytes());
    wait_blocked(&s, 1);
    b.send(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(b.read_until_closed(), b"");
    assert_eq!(a.read(), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(a.read(), b":1\r\n");
    assert_eq!(a.read(), b"+PONG\r\n");
}

/// LMOVE announces the push to its destination before the pop from its source.
#[test]
fn lmove_announces_the_push_first() {
    let s = Server::start();
    let mut c = s.raw();
    let mut sub = s.raw();
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "El");
    cmd!(sub, "PSUBSCRIBE", "__keyevent@0__:*");
    cmd!(c, "RPUSH", "src", "a");
    cmd!(c, "LMOVE", "src", "dst", "LEFT", "RIGHT");
    let mut events = Vec::new();
    for _ in 0..3 {
        let m = String::from_utf8(sub.read()).unwrap();
        events.push(m.split("\r\n").nth(6).unwrap_or_default().to_string());
    }
    assert_eq!(
        events,
        ["__keyevent@0__:rpush", "__keyevent@0__:rpush", "__keyevent@0__:lpop"]
    );
}

#[test]
fn blocking_timeouts_and_unblock() {
    let s = Server::start();
    let mut a = s.raw();
    let t0 = Instant::now();
    assert_eq!(cmd!(a, "BLPOP", "nothing", "0.1"), b"*-1\r\n");
    assert!(t0.elapsed() >= Duration::from_millis(90));
    assert_eq!(cmd!(a, "BLMOVE", "nothing", "x", "LEFT", "LEFT", "0.05"), b"*-1\r\n");
    // A timeout is never short: its deadline is a whole millisecond, passed only
    // once that millisecond is over (a request arrives part-way into one).
    for _ in 0..20 {
        let t0 = Instant::now();
        assert_eq!(cmd!(a, "BLPOP", "nothing", "0.005"), b"*-1\r\n");
        assert!(t0.elapsed() >= Duration::from_millis(5), "{:?}", t0.elapsed());
    }
    assert_eq!(cmd!(a, "BLPOP", "k", "-1"), b"-ERR timeout is negative\r\n");
    assert_eq!(
        cmd!(a, "BLPOP", "k", "abc"),
        b"-ERR timeout is not a float or out of range\r\n"
    );
    let id = String::from_utf8(cmd!(a, "CLIENT", "ID")).unwrap();
    let id = id.trim_start_matches(':').trim().to_string();
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "CLIENT", "UNBLOCK", &id, "ERROR"), b":1\r\n");
    assert_eq!(a.read(), b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    assert_eq!(cmd!(c, "CLIENT", "UNBLOCK", &id), b":1\r\n");
    assert_eq!(a.read(), b"*-1\r\n");
    assert_eq!(cmd!(c, "CLIENT", "UNBLOCK", &id), b":0\r\n");
}

#[test]
fn keys_created_by_other_commands_wake_clients() {
    let s = Server::start();
    let mut a = s.raw();
    let mut c = s.raw();
    a.send(b"*6\r\n$6\r\nBLMOVE\r\n$3\r\nsrc\r\n$3\r\ndst\r\n$4\r\nLEFT\r\n$5\r\nRIGHT\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    // A key of the wrong type does not wake the client; a list renamed into place does.
    assert_eq!(cmd!(c, "SET", "src", "string"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DEL", "src"), b":1\r\n");
    assert_eq!(cmd!(c, "RPUSH", "tmp", "v"), b":1\r\n");
    assert_eq!(cmd!(c, "RENAME", "tmp", "src"), b"+OK\r\n");
    assert_eq!(a.read(), b"$1\r\nv\r\n");
    assert_eq!(cmd!(c, "LRANGE", "dst", "0", "-1"), b"*1\r\n$1\r\nv\r\n");
    // A client blocked in a BLMOVE chain wakes the next one.
    let mut b = s.raw();
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$2\r\nl2\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    b.send(b"*4\r\n$10\r\nBRPOPLPUSH\r\n$2\r\nl1\r\n$2\r\nl2\r\n$1\r\n0\r\n");
    wait_blocked(&s, 2);
    assert_eq!(cmd!(c, "LPUSH", "l1", "hop"), b":1\r\n");
    assert_eq!(b.read(), b"$3\r\nhop\r\n");
    assert_eq!(a.read(), b"*2\r\n$2\r\nl2\r\n$3\r\nhop\r\n");
}

#[test]
fn big_lists_and_expiry() {
    let s = Server::start();
    let mut r = s.client();
    let vals: Vec<String> = (0..5000).map(|i| format!("value-{i}")).collect();
    let _: i64 = r.rpush("big", &vals).unwrap();
    assert_eq!(r.lindex::<_, String>("big", 2500).unwrap(), "value-2500");
    let mid: Vec<String> = r.lrange("big", 1000, 1002).unwrap();
    assert_eq!(mid, vec!["value-1000", "value-1001", "value-1002"]);
    let _: () = r.ltrim("big", 10, 19).unwrap();
    assert_eq!(r.llen::<_, i64>("big").unwrap(), 10);
    let _: () = redis::cmd("PEXPIRE").arg("big").arg(1).query(&mut r).unwrap();
    wait_for("expiry", Duration::from_secs(5), || {
        (r.llen::<_, i64>("big").unwrap() == 0).then_some(())
    });
}

#[test]
fn transactions_and_blocking() {
    let s = Server::start();
    let mut a = s.raw();
    let mut c = s.raw();
    // Inside EXEC a blocking pop on an empty key answers at once.
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "BLPOP", "empty", "0"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "EXEC"), b"*1\r\n*-1\r\n");
    // LPUSH + DEL in one transaction never wakes the waiting client.
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "LPUSH", "q", "x"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "DEL", "q"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "EXEC"), b"*2\r\n:1\r\n:1\r\n");
    assert_eq!(cmd!(c, "LPUSH", "q", "y"), b":1\r\n");
    assert_eq!(a.read(), b"*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    // Errors while queueing abort EXEC; a written WATCHed key fails it.
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "LPUSH", "q"),
        b"-ERR wrong number of arguments for 'lpush' command\r\n"
    );
    assert_eq!(
        cmd!(c, "EXEC"),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // SAVE and SHUTDOWN are refused inside MULTI, and abort it.
    for refused in ["SAVE", "SHUTDOWN"] {
        assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
        assert_eq!(cmd!(c, refused), b"-ERR Command not allowed inside a transaction\r\n");
        assert_eq!(
            cmd!(c, "EXEC"),
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
    }
    assert_eq!(cmd!(c, "WATCH", "w"), b"+OK\r\n");
    assert_eq!(cmd!(a, "RPUSH", "w", "1"), b":1\r\n");
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "LLEN", "w"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "EXEC"), b"*-1\r\n");
    assert_eq!(cmd!(c, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(cmd!(c, "DISCARD"), b"-ERR DISCARD without MULTI\r\n");
}

#[test]
fn a_blocking_command_is_counted_once() {
    let s = Server::start();
    let mut a = s.raw();
    let mut c = s.raw();
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    assert_eq!(cmd!(c, "RPUSH", "other", "x"), b":1\r\n");
    assert_eq!(cmd!(c, "RENAME", "other", "k"), b"+OK\r\n");
    assert_eq!(a.read(), b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
    assert_eq!(cmd!(a, "BLPOP", "k", "0.01"), b"*-1\r\n");
    let info = String::from_utf8(cmd!(c, "INFO", "commandstats")).unwrap();
    assert!(info.contains("cmdstat_blpop:calls=2,"), "{info}");
    // Counted when it blocks: a client that leaves while blocked still made its call,
    // and CLIENT UNBLOCK (even with TIMEOUT) counts the command as failed.
    let mut gone = s.raw();
    gone.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    drop(gone);
    wait_blocked(&s, 0);
    let id = String::from_utf8(cmd!(a, "CLIENT", "ID")).unwrap();
    let id = id.trim_start_matches(':').trim_end().to_string();
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&s, 1);
    assert_eq!(cmd!(c, "CLIENT", "UNBLOCK", &id, "TIMEOUT"), b":1\r\n");
    assert_eq!(a.read(), b"*-1\r\n");
    let info = String::from_utf8(cmd!(c, "INFO", "commandstats")).unwrap();
    assert!(info.contains("cmdstat_blpop:calls=4,"), "{info}");
    assert!(info.contains("rejected_calls=0,failed_calls=1\r\n"), "{info}");
}

#[test]
fn the_key_is_checked_before_the_arguments_as_redis_does() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "str", "x");
    let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(cmd!(c, "LINDEX", "str", "abc"), wrongtype);
    assert_eq!(cmd!(c, "LINDEX", "nokey", "abc"), b"$-1\r\n");
    assert_eq!(cmd!(c, "LSET", "str", "abc", "v"), wrongtype);
    assert_eq!(cmd!(c, "LSET", "nokey", "abc", "v"), b"-ERR no such key\r\n");
    cmd!(c, "RPUSH", "l", "a", "a", "c", "b", "1", "1");
    assert_eq!(
        cmd!(c, "LINDEX", "l", "abc"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    // A count that is no number gets the message of a negative one.
    assert_eq!(
        cmd!(c, "LPOP", "l", "abc"),
        b"-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        cmd!(c, "RPOP", "l", "-1"),
        b"-ERR value is out of range, must be positive\r\n"
    );
    // The most negative rank acts as Redis's C arithmetic makes it: every match from
    // the tail qualifies and COUNT never stops the walk.
    let min = i64::MIN.to_string();
    assert_eq!(cmd!(c, "LPOS", "l", "b", "RANK", min.as_str()), b":3\r\n");
    assert_eq!(
        cmd!(c, "LPOS", "l", "a", "RANK", min.as_str(), "COUNT", "0"),
        b"*2\r\n:1\r\n:0\r\n"
    );
    assert_eq!(
        cmd!(c, "LPOS", "l", "a", "RANK", min.as_str(), "COUNT", "1"),
        b"*2\r\n:1\r\n:0\r\n"
    );
    assert_eq!(cmd!(c, "LPOS", "l", "a", "RANK", "-1", "COUNT", "1"), b"*1\r\n:1\r\n");
}

/// With `list-compress-depth 1` the interior of a long list is stored compressed (a fraction of
/// the memory of the same list made before the setting), and every read and edit in the middle,
/// a reload from RDB and a list made by another command see the same elements.
#[test]
fn interior_nodes_are_compressed_with_a_compress_depth() {
    let s = Server::start();
    let mut r = s.client();
    let job = |i: usize| format!("{{\"class\":\"Mailer\",\"args\":[{i}],\"queue\":\"default\",\"retry\":true}}");
    let fill = |r: &mut redis::Connection, key: &str| {
        let mut p = redis::pipe();
        for i in 0..20_000 {
            p.rpush(key, job(i)).ignore();
        }
        p.query::<()>(r).unwrap();
    };
    fill(&mut r, "plain");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("list-compress-depth")
        .arg("1")
        .query(&mut r)
        .unwrap();
    fill(&mut r, "zipped");
    let usage = |r: &mut redis::Connection, key: &str| -> u64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg("0")
            .query(r)
            .unwrap()
    };
    let (plain, zipped) = (usage(&mut r, "plain"), usage(&mut r, "zipped"));
    assert!(zipped * 4 < plain, "compressed {zipped} bytes against {plain}");
    for key in ["plain", "zipped"] {
        assert_eq!(r.lindex::<_, String>(key, 10_000).unwrap(), job(10_000));
        let _: () = r.lset(key, 10_001, "changed").unwrap();
        let n: i64 = redis::cmd("LINSERT")
            .arg(key)
            .arg("BEFORE")
            .arg(job(12_000))
            .arg("new")
            .query(&mut r)
            .unwrap();
        assert_eq!(n, 20_001);
        assert_eq!(r.lrem::<_, _, i64>(key, 1, job(15_000)).unwrap(), 1);
        let mid: Vec<String> = r.lrange(key, 9_999, 10_002).unwrap();
        assert_eq!(mid, [job(9_999), job(10_000), "changed".into(), job(10_002)]);
        assert_eq!(
            r.lpos::<_, _, Option<i64>>(key, "new", Default::default()).unwrap(),
            Some(12_000)
        );
    }
    let all = |r: &mut redis::Connection, key: &str| r.lrange::<_, Vec<String>>(key, 0, -1).unwrap();
    assert_eq!(all(&mut r, "plain"), all(&mut r, "zipped"));
    // A list another command makes is shaped by the setting too.
    let _: () = redis::cmd("SORT")
        .arg("plain")
        .arg("BY")
        .arg("nosort")
        .arg("STORE")
        .arg("copy")
        .query(&mut r)
        .unwrap();
    assert!(usage(&mut r, "copy") * 4 < plain);
    let before = all(&mut r, "zipped");
    let mut c = s.raw();
    // DEBUG OBJECT shows the shape as Redis's does.
    let shape =
        |c: &mut crate::harness::Raw, key: &str| String::from_utf8_lossy(&cmd!(c, "DEBUG", "OBJECT", key)).into_owned();
    let (zs, ps) = (shape(&mut c, "zipped"), shape(&mut c, "plain"));
    assert!(
        zs.contains(" ql_listpack_max:-2 ql_compressed:1 ql_uncompressed_size:"),
        "{zs}"
    );
    assert!(ps.contains(" ql_compressed:0 "), "{ps}");
    let nodes: usize = zs
        .split(" ql_nodes:")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(nodes > 100, "{zs}");
    assert_eq!(cmd!(c, "DEBUG", "RELOAD"), b"+OK\r\n");
    assert_eq!(all(&mut r, "zipped"), before);
    assert!(usage(&mut r, "plain") * 4 < plain, "loaded with the current setting");
}

/// A STORE that replaces a live key (SORT ... STORE, ZUNIONSTORE) wakes no client
/// waiting on it, as Redis's setKey overwrites without signalling the key ready; unless
/// the old value was a stream and some client waits on a stream, when the key is
/// signalled and served by its new type. A later push serves the waiter.
#[test]
fn a_store_over_a_live_key_wakes_waiters_as_redis_does() {
    let s = Server::start();
    let mut c = s.raw();
    let (mut waiter, mut streams) = (s.raw(), s.raw());
    let blocked = |c: &mut crate::harness::Raw, n: u64| {
        wait_for("blocked clients", Duration::from_secs(5), || {
            (crate::harness::info_u64(c, "clients", "blocked_clients") == n).then_some(())
        })
    };
    assert_eq!(cmd!(c, "RPUSH", "src", "b", "a"), b":2\r\n");
    waiter.send(b"BLPOP k 0\r\n");
    blocked(&mut c, 1);
    assert_eq!(cmd!(c, "SET", "k", "x"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SORT", "src", "ALPHA", "STORE", "k"), b":2\r\n");
    assert_eq!(cmd!(c, "LLEN", "k"), b":2\r\n");
    blocked(&mut c, 1);
    assert_eq!(cmd!(c, "RPUSH", "k", "c"), b":3\r\n");
    assert_eq!(waiter.read(), b"*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert_eq!(cmd!(c, "LRANGE", "k", "0", "-1"), b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    // Over a stream, with a client waiting on a stream: served at once.
    assert_eq!(cmd!(c, "DEL", "k"), b":1\r\n");
    waiter.send(b"BLPOP k 0\r\n");
    streams.send(b"XREAD BLOCK 0 STREAMS other $\r\n");
    blocked(&mut c, 2);
    assert_eq!(cmd!(c, "XADD", "k", "1-1", "f", "v"), b"$3\r\n1-1\r\n");
    assert_eq!(cmd!(c, "SORT", "src", "ALPHA", "STORE", "k"), b":2\r\n");
    assert_eq!(waiter.read(), b"*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert_eq!(cmd!(c, "LRANGE", "k", "0", "-1"), b"*1\r\n$1\r\nb\r\n");
}
