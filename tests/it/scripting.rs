//! EVAL / EVALSHA / SCRIPT and FUNCTION / FCALL over TCP: reply conversions both ways
//! (RESP2 and RESP3), Redis's error texts with the script position, the sandbox (globals
//! protection, no print/loadfile, no bytecode), shebang flags and read-only enforcement,
//! and effects replication into the AOF. Expected bytes come from redis-server 7.0.15
//! (tests/unit/scripting.tcl and functions.tcl cover the same cases).
use crate::cmd;
use crate::harness::{wait_for, Server};
use std::time::Duration;

#[test]
fn eval_conversions_and_errors() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "EVAL", "return 'hello'", "0"), b"$5\r\nhello\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.call('incr',KEYS[1])", "1", "k"),
        b":1\r\n"
    );
    // Floats are truncated, tables stop at the first nil, false is a null bulk.
    assert_eq!(cmd!(c, "EVAL", "return 3.99", "0"), b":3\r\n");
    assert_eq!(cmd!(c, "EVAL", "return {1,2,nil,4}", "0"), b"*2\r\n:1\r\n:2\r\n");
    assert_eq!(cmd!(c, "EVAL", "return false", "0"), b"$-1\r\n");
    assert_eq!(cmd!(c, "EVAL", "return true", "0"), b":1\r\n");
    assert_eq!(cmd!(c, "EVAL", "return redis.status_reply('FOO')", "0"), b"+FOO\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.error_reply('My Error')", "0"),
        b"-My Error\r\n"
    );
    assert_eq!(cmd!(c, "EVAL", "return {err='ERR x'}", "0"), b"-ERR x\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.sha1hex('Pizza & Mandolino')", "0"),
        b"$40\r\n74822d82031af7493c20eefa13bd07ec4fada82f\r\n"
    );
    // A redis.call error carries the script's position; pcall returns it as a table.
    assert_eq!(
        cmd!(c, "EVAL", "return redis.call('nosuch')", "0"),
        b"-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return redis.pcall('incr','x','y')", "0"),
        b"-ERR Wrong number of args calling Redis command from script\r\n"
    );
    assert_eq!(cmd!(c, "SET", "s", "v"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.pcall('incr','s')", "0"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return e", "0"),
        b"$44\r\nERR Unknown Redis command called from script\r\n"
    );
    let e = cmd!(c, "EVAL", "return 1 +", "0");
    assert!(
        e.starts_with(b"-ERR Error compiling script (new function): user_script:1:"),
        "{e:?}"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return 1", "2", "a"),
        b"-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return 1", "-1"),
        b"-ERR Number of keys can't be negative\r\n"
    );
}

#[test]
fn eval_resp3() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "HSET", "h", "a", "1"), b":1\r\n");
    // The script's protocol decides what redis.call returns; the caller's how it is sent.
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "redis.setresp(3); return redis.call('hgetall', KEYS[1])",
            "1",
            "h"
        ),
        b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    c.cmd(&[b"HELLO", b"3"]);
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "redis.setresp(3); return redis.call('hgetall', KEYS[1])",
            "1",
            "h"
        ),
        b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(cmd!(c, "EVAL", "return {double=3.5}", "0"), b",3.5\r\n");
    assert_eq!(cmd!(c, "EVAL", "redis.setresp(3); return true", "0"), b"#t\r\n");
    assert_eq!(cmd!(c, "EVAL", "return true", "0"), b":1\r\n");
    let r = cmd!(c, "EVAL", "redis.setresp(4)", "0");
    assert!(
        r.starts_with(b"-ERR RESP version must be 2 or 3."),
        "{}",
        String::from_utf8_lossy(&r)
    );
}

/// bit.tohex as Redis's LuaBitOp gives it, including the counts at the edges.
#[test]
fn bit_tohex_counts() {
    let s = Server::start();
    let mut c = s.raw();
    for (n, want) in [
        ("", "0000ffff"),
        (", 2", "ff"),
        (", -3", "FFF"),
        (", 0", ""),
        (", 100", "0000ffff"),
        (", -2147483648", "0000FFFF"),
    ] {
        let script = format!("return bit.tohex(65535{n})");
        let want = format!("${}\r\n{want}\r\n", want.len());
        assert_eq!(cmd!(c, "EVAL", script, "0"), want.as_bytes(), "{script}");
    }
}

#[test]
fn sandbox() {
    let s = Server::start();
    let mut c = s.raw();
    let e = cmd!(c, "EVAL", "return a", "0");
    assert!(
        e.starts_with(b"-ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: "),
        "{e:?}"
    );
    for code in [
        "a=10",
        "redis.call = function() return 1 end",
        "setmetatable(_G, {})",
        "_G = {}",
    ] {
        let e = cmd!(c, "EVAL", code, "0");
        assert!(
            String::from_utf8_lossy(&e).contains("Attempt to modify a readonly table"),
            "{code}: {e:?}"
        );
    }
    for g in ["print", "loadfile", "dofile", "os", "io"] {
        let e = cmd!(c, "EVAL", &format!("return {g}"), "0");
        assert!(
            String::from_utf8_lossy(&e).contains(&format!("nonexistent global variable '{g}'")),
            "{g}: {e:?}"
        );
    }
    let e = cmd!(
        c,
        "EVAL",
        "return loadstring(string.dump(function() return 1 end))()",
        "0"
    );
    assert!(
        String::from_utf8_lossy(&e).contains("attempt to call a nil value"),
        "{e:?}"
    );
    // The same seed gives the same numbers.
    let a = cmd!(
        c,
        "EVAL",
        "math.randomseed(ARGV[1]); return tostring(math.random())",
        "0",
        "10"
    );
    let b = cmd!(
        c,
        "EVAL",
        "math.randomseed(ARGV[1]); return tostring(math.random())",
        "0",
        "10"
    );
    assert_eq!(a, b);
}

#[test]
fn script_cache_and_flags() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "SCRIPT", "LOAD", "return 1"),
        b"$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n"
    );
    assert_eq!(
        cmd!(c, "EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"),
        b":1\r\n"
    );
    assert_eq!(
        cmd!(c, "SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "x"),
        b"*2\r\n:1\r\n:0\r\n"
    );
    assert_eq!(cmd!(c, "SCRIPT", "FLUSH"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    assert_eq!(
        cmd!(c, "SCRIPT", "KILL"),
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );
    let e = cmd!(c, "EVAL", "#!lua flags=no-writes\nreturn redis.call('set','x',1)", "0");
    assert!(
        e.starts_with(b"-ERR Write commands are not allowed from read-only scripts. script: "),
        "{e:?}"
    );
    let e = cmd!(c, "EVAL_RO", "return redis.call('set','x',1)", "0");
    assert!(
        e.starts_with(b"-ERR Write commands are not allowed from read-only scripts."),
        "{e:?}"
    );
    assert_eq!(
        cmd!(c, "EVAL", "#!lua flags=foo\nreturn 1", "0"),
        b"-ERR Unexpected flag in script shebang: foo\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "#!lua2\nreturn 1", "0"),
        b"-ERR Unexpected engine in script shebang: #!lua2\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL_RO", "#!lua\nreturn 1", "0"),
        b"-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    let e = cmd!(c, "EVAL", "return redis.pcall('blpop','empty',0)", "0");
    assert_eq!(e, b"-ERR This Redis command is not allowed from script\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.call('blmpop',0,1,'empty','left')", "0"),
        b"$-1\r\n"
    );
}

#[test]
fn functions_load_call_list_dump() {
    let s = Server::start();
    let mut c = s.raw();
    let lib = "#!lua name=mylib\nredis.register_function{function_name='f1', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='d'}";
    assert_eq!(cmd!(c, "FUNCTION", "LOAD", lib), b"$5\r\nmylib\r\n");
    assert_eq!(
        cmd!(c, "FUNCTION", "LOAD", lib),
        b"-ERR Library 'mylib' already exists\r\n"
    );
    assert_eq!(cmd!(c, "FCALL", "f1", "0", "hi"), b"$2\r\nhi\r\n");
    assert_eq!(cmd!(c, "FCALL_RO", "f1", "0", "hi"), b"$2\r\nhi\r\n");
    assert_eq!(cmd!(c, "FCALL", "nosuch", "0"), b"-ERR Function not found\r\n");
    assert_eq!(cmd!(c, "FCALL", "f1", "x"), b"-ERR Bad number of keys provided\r\n");
    assert_eq!(
        cmd!(c, "FUNCTION", "LIST"),
        b"*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$1\r\nd\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "FUNCTION",
            "LOAD",
            "#!lua name=lib2\nredis.register_function('f1', function() return 1 end)"
        ),
        b"-ERR Function f1 already exists\r\n"
    );
    assert_eq!(
        cmd!(c, "FUNCTION", "LOAD", "#!lua name=lib3\nredis.call('ping')"),
        b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"
    );
    let dump = cmd!(c, "FUNCTION", "DUMP");
    let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
    assert_eq!(cmd!(c, "FUNCTION", "FLUSH"), b"+OK\r\n");
    assert_eq!(cmd!(c, "FCALL", "f1", "0", "hi"), b"-ERR Function not found\r\n");
    assert_eq!(c.cmd(&[b"FUNCTION", b"RESTORE", payload]), b"+OK\r\n");
    assert_eq!(cmd!(c, "FCALL", "f1", "0", "hi"), b"$2\r\nhi\r\n");
    assert_eq!(cmd!(c, "FUNCTION", "DELETE", "mylib"), b"+OK\r\n");
    assert_eq!(cmd!(c, "FUNCTION", "DELETE", "mylib"), b"-ERR Library not found\r\n");
}

#[test]
fn script_effects_propagate_to_aof() {
    let s = Server::start_with(&["--appendonly", "yes"]);
    let mut c = s.raw();
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "redis.call('set',KEYS[1],'a'); redis.call('incr',KEYS[2]); return 1",
            "2",
            "k1",
            "k2"
        ),
        b":1\r\n"
    );
    let dir = s.dir.join("appendonlydir");
    let text = wait_for("aof incr file", Duration::from_secs(10), || {
        let f = std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))?;
        let t = std::fs::read(f.path()).ok()?;
        let t = String::from_utf8_lossy(&t).into_owned();
        t.contains("EXEC").then_some(t)
    });
    assert!(!text.to_lowercase().contains("eval"), "{text}");
    let multi = text.find("MULTI").unwrap();
    assert!(
        text[multi..].find("set").is_some() && text[multi..].find("incr").is_some(),
        "{text}"
    );
}

#[test]
fn functions_survive_reload_and_restart() {
    let s = Server::start();
    let mut c = s.raw();
    let lib = "#!lua name=plib\nredis.register_function('pf', function(keys, args) return 7 end)";
    assert_eq!(cmd!(c, "FUNCTION", "LOAD", lib), b"$4\r\nplib\r\n");
    assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
    let dir = s.copy_dir();
    drop(c);
    drop(s);
    let s2 = Server::start_in(dir, &[]);
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "FCALL", "pf", "0"), b":7\r\n");
}

/// A script that never ends (and writes nothing).
const ENDLESS: &str = "local i = 0 while true do i = i + 1 end";

/// EVAL of `body` without keys, as a request.
fn eval_request(body: &str) -> String {
    format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{body}\r\n$1\r\n0\r\n", body.len())
}

/// Sends EVAL of a script that never ends on `runner`, without reading its reply, and
/// waits until `other` is answered -BUSY.
fn start_busy_script(runner: &mut crate::harness::Raw, other: &mut crate::harness::Raw, body: &str) {
    runner.send(eval_request(body).as_bytes());
    wait_busy(other);
}

/// A server busy with an endless script: the script's connection, and another.
fn busy_server() -> (Server, crate::harness::Raw, crate::harness::Raw) {
    let s = Server::start_with(&["--busy-reply-threshold", "100"]);
    let mut runner = s.raw();
    let mut c = s.raw();
    start_busy_script(&mut runner, &mut c, ENDLESS);
    (s, runner, c)
}

fn wait_busy(c: &mut crate::harness::Raw) {
    wait_for("the script to time out", Duration::from_secs(10), || {
        cmd!(c, "PING").starts_with(b"-BUSY").then_some(())
    });
}

/// SCRIPT KILL from a new connection; `runner` then gets the replies it had before
/// the script (held until it ends, as Redis holds them), then the kill's error.
fn kill_busy_script(s: &Server, runner: &mut crate::harness::Raw, before: &[&[u8]]) {
    let mut k = s.raw();
    assert_eq!(cmd!(k, "SCRIPT", "KILL"), b"+OK\r\n");
    for r in before {
        assert_eq!(runner.read(), *r);
    }
    assert!(runner
        .read()
        .starts_with(b"-ERR Script killed by user with SCRIPT KILL..."));
}

/// A message published just before a script turns busy reaches its subscriber while
/// the script runs: the events served meanwhile also write the output already queued,
/// even when nothing new arrives (the subscriber only waits).
#[test]
fn output_queued_before_a_busy_script_goes_out_while_it_runs() {
    let s = Server::start_with(&["--busy-reply-threshold", "100"]);
    let mut sub = s.raw();
    assert!(cmd!(sub, "SUBSCRIBE", "ch").ends_with(b":1\r\n"));
    let mut runner = s.raw();
    let mut req = b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n".to_vec();
    req.extend(eval_request(ENDLESS).bytes());
    runner.send(&req);
    assert_eq!(sub.read(), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
    let mut c = s.raw();
    assert!(cmd!(c, "PING").starts_with(b"-BUSY"), "the script ended");
    kill_busy_script(&s, &mut runner, &[b":1\r\n"]);
}

/// A pipeline longer than one read, sent while a script is busy, is answered whole
/// while the script runs (the rest of it raises no new event).
#[test]
fn a_long_pipeline_is_answered_while_a_script_is_busy() {
    let (s, mut runner, mut c) = busy_server();
    let n = 20_000;
    c.send(&b"PING\r\n".repeat(n));
    for _ in 0..n {
        assert!(c.read().starts_with(b"-BUSY"));
    }
    kill_busy_script(&s, &mut runner, &[]);
}

/// A client closed as a script starts leaves nothing behind for the script's own
/// client, which takes its place: a client connecting while the script is busy is
/// still served once it ends.
#[test]
fn a_client_closed_as_a_script_starts_leaves_nothing_behind() {
    let s = Server::start_with(&["--busy-reply-threshold", "20"]);
    let mut runner = s.raw();
    let mut c = s.raw();
    let eval = eval_request(ENDLESS);
    for _ in 0..20 {
        let mut gone = s.raw();
        assert_eq!(cmd!(gone, "PING"), b"+PONG\r\n");
        // The close and the script arrive together.
        gone.s.shutdown(std::net::Shutdown::Both).unwrap();
        runner.send(eval.as_bytes());
        wait_busy(&mut c);
        let mut m = s.raw();
        assert!(cmd!(m, "PING").starts_with(b"-BUSY"));
        kill_busy_script(&s, &mut runner, &[]);
        assert_eq!(cmd!(m, "PING"), b"+PONG\r\n");
    }
}

#[test]
fn a_busy_script_answers_busy_and_can_be_killed() {
    // Ported from tests/unit/scripting.tcl "Timedout read-only scripts can be killed by
    // SCRIPT KILL" and "Timedout scripts that modified data can't be killed".
    let (s, mut runner, mut c) = busy_server();
    assert_eq!(
        cmd!(c, "GET", "x"),
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(
        cmd!(c, "FUNCTION", "KILL"),
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    // A transaction sent meanwhile is discarded whole (tests/unit/multi.tcl "EXEC and
    // script timeout").
    let mut m = s.raw();
    assert_eq!(cmd!(m, "MULTI"), b"+OK\r\n");
    assert!(cmd!(m, "INCR", "xx").starts_with(b"-BUSY"));
    assert_eq!(
        cmd!(m, "EXEC"),
        b"-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(cmd!(c, "SCRIPT", "KILL"), b"+OK\r\n");
    let r = runner.read();
    assert!(
        r.starts_with(b"-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        String::from_utf8_lossy(&r)
    );
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    assert_eq!(cmd!(m, "PING", "out"), b"$3\r\nout\r\n");
    assert_eq!(cmd!(c, "GET", "xx"), b"$-1\r\n");
    assert_eq!(
        cmd!(c, "SCRIPT", "KILL"),
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );

    // Once it wrote, it cannot be killed; SHUTDOWN NOSAVE is the way out.
    start_busy_script(&mut runner, &mut c, "redis.call('set','x','1') while true do end");
    assert!(cmd!(c, "SCRIPT", "KILL").starts_with(b"-UNKILLABLE Sorry the script already executed write commands"));
    assert!(cmd!(c, "SHUTDOWN").starts_with(b"-BUSY"));
    c.send(b"SHUTDOWN NOSAVE\r\n");
    crate::harness::wait_for("the server to exit", std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", s.port)).err()
    });
}

#[test]
fn odd_return_tables_never_crash_the_server() {
    // A verbatim-string table used to be read through the wrong stack slot.
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "EVAL", "return {verbatim_string={format='txt', string='x'}}", "0"),
        b"$1\r\nx\r\n"
    );
    for body in [
        "return {verbatim_string={format=1, string='x'}}",
        "return {verbatim_string={format='txt'}}",
        "return {verbatim_string='x'}",
        "return {map={a=1}, set={b=true}, double=1, big_number='1', err=1, ok=2}",
        "return {verbatim_string={string='x', format={}}, 1, 2}",
        "local t = {} t[1] = t return t",
    ] {
        let r = cmd!(c, "EVAL", body, "0");
        assert!(!r.is_empty(), "{body}");
        assert_eq!(cmd!(c, "PING"), b"+PONG\r\n", "{body}");
    }
    assert_eq!(cmd!(c, "HELLO", "3").first(), Some(&b'%'));
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "redis.setresp(3) return {verbatim_string={format='txt', string='hi'}}",
            "0"
        ),
        b"=6\r\ntxt:hi\r\n"
    );
}

#[test]
fn struct_library_packs_and_unpacks_like_redis() {
    // Expected bytes taken from redis-server 7.0.15 for the same scripts.
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "EVAL", "return struct.pack('>I2', 258)", "0"),
        b"$2\r\n\x01\x02\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return struct.pack('<i4 h b B', -2, -3, -1, 255)", "0"),
        b"$8\r\n\xfe\xff\xff\xff\xfd\xff\xff\xff\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "return {struct.unpack('s c3', struct.pack('s c3', 'hello', 'abcdef'))}",
            "0"
        ),
        b"*3\r\n$5\r\nhello\r\n$3\r\nabc\r\n:10\r\n"
    );
    assert_eq!(cmd!(c, "EVAL", "return struct.size('!4 b i4 d')", "0"), b":16\r\n");
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "return {struct.unpack('>i3 <I3', struct.pack('>i3 <I3', -70000, 70000))}",
            "0"
        ),
        b"*3\r\n:-70000\r\n:70000\r\n:7\r\n"
    );
    let e = cmd!(c, "EVAL", "return struct.pack('q', 1)", "0");
    assert!(
        e.starts_with(b"-ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'q')"),
        "{}",
        String::from_utf8_lossy(&e)
    );
    let e = cmd!(c, "EVAL", "return {struct.unpack('i4', 'ab')}", "0");
    assert!(e.starts_with(b"-ERR user_script:1: bad argument #2 to 'unpack' (data string too short)"));
}

#[test]
fn a_script_sees_an_expired_key_as_gone() {
    // Ported from tests/unit/scripting.tcl "Script delete the expired key".
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "0"), b"+OK\r\n");
    let now_us = |c: &mut crate::harness::Raw| -> u64 {
        let t = String::from_utf8_lossy(&cmd!(c, "TIME")).into_owned();
        let parts: Vec<u64> = t.lines().filter_map(|l| l.parse().ok()).collect();
        parts[0] * 1_000_000 + parts[1]
    };
    let set_at = now_us(&mut c);
    assert_eq!(cmd!(c, "SET", "key", "value", "PX", "1"), b"+OK\r\n");
    // Wait on the server's clock without touching the key (a lookup would expire it).
    wait_for("the ttl to pass", Duration::from_secs(5), || {
        (now_us(&mut c) > set_at + 3000).then_some(())
    });
    // DEBUG OBJECT looks the key up raw: still stored, so it answers.
    let obj = cmd!(c, "DEBUG", "OBJECT", "key");
    assert!(obj.starts_with(b"+Value at:"), "{}", String::from_utf8_lossy(&obj));
    let seen = cmd!(c, "EVAL", "return redis.call('EXISTS', 'key')", "0");
    assert_eq!(seen, b":0\r\n", "{}", String::from_utf8_lossy(&seen));
    assert_eq!(cmd!(c, "EXISTS", "key"), b":0\r\n");
}

#[test]
fn lua_debugger_steps_prints_and_ends_the_session() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SCRIPT", "DEBUG", "SYNC"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "EVALSHA", "0000000000000000000000000000000000000000", "0"),
        b"-ERR Please use EVAL instead of EVALSHA for debugging\r\n"
    );
    let script = "local a = 5\nredis.call('set', KEYS[1], a)\nreturn a";
    assert_eq!(
        cmd!(c, "EVAL", script, "1", "k"),
        b"*2\r\n+* Stopped at 1, stop reason = step over\r\n+-> 1   local a = 5\r\n"
    );
    assert_eq!(
        cmd!(c, "step"),
        b"*2\r\n+* Stopped at 2, stop reason = step over\r\n+-> 2   redis.call('set', KEYS[1], a)\r\n"
    );
    assert_eq!(cmd!(c, "print", "a"), b"*1\r\n+<value> 5\r\n");
    assert_eq!(
        cmd!(c, "nonsense"),
        b"*1\r\n+<error> Unknown Redis Lua debugger command or wrong number of arguments.\r\n"
    );
    assert_eq!(
        cmd!(c, "redis", "get", "nokey"),
        b"*2\r\n+<redis> get nokey\r\n+<reply> NULL\r\n"
    );
    // The session ends with its last logs, then the EVAL reply, then the connection.
    assert_eq!(cmd!(c, "continue"), b"*1\r\n+<endsession>\r\n");
    assert_eq!(c.read(), b":5\r\n");
    assert!(c.closed());
    // SYNC keeps what the script wrote.
    let mut d = s.raw();
    assert_eq!(cmd!(d, "GET", "k"), b"$1\r\n5\r\n");
}

#[test]
fn a_script_error_counts_as_a_failed_eval() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "EVAL", "return redis.call('select', 99)", "0")[0], b'-');
    assert_eq!(
        cmd!(c, "EVAL", "return redis.pcall('select', 99) and 1", "0"),
        b":1\r\n"
    );
    let info = String::from_utf8(cmd!(c, "INFO", "commandstats")).unwrap();
    assert!(info.contains("cmdstat_eval:calls=2,"), "{info}");
    assert!(info.contains("rejected_calls=0,failed_calls=1"), "{info}");
    let errs = String::from_utf8(cmd!(c, "INFO", "errorstats")).unwrap();
    assert!(errs.contains("errorstat_ERR:count=2"), "{errs}");
}

/// The libraries' corners as Redis's C builds them: cjson's own parser (its error words
/// and positions, strtod numbers, C-string input, document-order tables), `%.14g`
/// numbers, C casts of doubles to integers, LuaBitOp's argument conversion, cmsgpack's
/// int64 test, error texts kept as bytes up to a NUL, and RESP3 sets and maps grown in
/// Lua tables key by key (so pairs() walks them in Redis's order).
#[test]
fn script_libraries_match_redis_byte_for_byte() {
    let s = Server::start();
    let mut c = s.raw();
    let decode = "return cjson.decode(ARGV[1])";
    let sha = "3684ed04c5bb8f36046ee1478f879f8d73dc1bd2";
    for (json, err) in [
        (&b"[1,]"[..], "Expected value but found T_ARR_END at character 4"),
        (b"a\x00b", "JSON parser does not support UTF-16 or UTF-32"),
        (b"{\"a\":1}x", "Expected the end but found invalid token at character 8"),
        (
            b"\"\\ud800\"",
            "Expected value but found invalid unicode escape code at character 2",
        ),
    ] {
        let want = format!("-ERR user_script:1: {err} script: {sha}, on @user_script:1.\r\n");
        assert_eq!(cmd!(c, "EVAL", decode, "0", json), want.as_bytes(), "{json:?}");
    }
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "return cjson.encode(cjson.decode(ARGV[1]))",
            "0",
            r#"{"a":[1,2,{"b":null}],"c":-0,"d":0x10,"e":123456789012345,"f":"\u00e9\/"}"#
        ),
        "$71\r\n{\"a\":[1,2,{\"b\":null}],\"c\":-0,\"e\":1.2345678901234e+14,\"d\":16,\"f\":\"\u{e9}\\/\"}\r\n"
            .as_bytes()
    );
    assert_eq!(
        cmd!(c, "EVAL", "return cjson.encode(function() end)", "0"),
        b"-ERR user_script:1: Cannot serialise function: type not supported script: c6600573aa08cdf0af5da6e0ef682db69a3acc00, on @user_script:1.\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return {0/0, 2^63, -2^63, 1e300, -3.9}", "0"),
        b"*5\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n:-3\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "return {bit.band(0xff, ARGV[1]), bit.tobit(2^32 + 5), bit.tobit(-1.5), bit.tobit(2.5)}",
            "0",
            "12345678901234567890"
        ),
        b"*4\r\n:225\r\n:5\r\n:-2\r\n:2\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return {cmsgpack.pack(0/0), cmsgpack.pack(2^63), cmsgpack.pack(1/0)}", "0"),
        b"*3\r\n$9\r\n\xcb\xff\xf8\x00\x00\x00\x00\x00\x00\r\n$5\r\n\xca_\x00\x00\x00\r\n$5\r\n\xca\x7f\x80\x00\x00\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "error(ARGV[1])", "0", b"\xff\xfe\x00tail"),
        b"-ERR user_script:1: \xff\xfe script: 913fe641966fcaeb713b90856ef1c03b8b877ba5, on @user_script:1.\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "return redis.error_reply(ARGV[1])",
            "0",
            b"MY\xff err\x00tail"
        ),
        b"-MY\xff err\r\n"
    );
    assert_eq!(
        cmd!(c, "EVAL", "return redis.pcall('object')", "0"),
        b"-ERR Wrong number of args calling Redis command from script\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "redis.call('sadd', 'rs', 14, 15, -3, 4, 10, 7, 100, 33) redis.setresp(3) \
             local t = redis.call('smembers', 'rs') local o = {} for k in pairs(t.set) do o[#o + 1] = k end return o",
            "0"
        ),
        b"*8\r\n$2\r\n-3\r\n$2\r\n15\r\n$3\r\n100\r\n$2\r\n33\r\n$2\r\n14\r\n$1\r\n4\r\n$1\r\n7\r\n$2\r\n10\r\n"
    );
}

/// Errors count under their first word only when a space ends it within 31 bytes (a
/// script's `{err='bad'}` counts as ERR), and a container named alone is rejected under
/// its own name, from a client or a script.
#[test]
fn error_codes_and_containers_are_counted_as_redis_counts_them() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "OBJECT"),
        b"-ERR wrong number of arguments for 'object' command\r\n"
    );
    assert_eq!(cmd!(c, "EVAL", "return {err='bad'}", "0"), b"-bad\r\n");
    assert_eq!(
        cmd!(c, "EVAL", "return redis.pcall('script')", "0"),
        b"-ERR Wrong number of args calling Redis command from script\r\n"
    );
    assert_eq!(
        cmd!(
            c,
            "EVAL",
            "return {err='-ERR0123456789012345678901234567890123 x'}",
            "0"
        ),
        b"--ERR0123456789012345678901234567890123 x\r\n"
    );
    assert_eq!(cmd!(c, "EVAL", "return {err='MY code'}", "0"), b"-MY code\r\n");
    // A ':' in a code would break the INFO line: it is shown as '_'.
    assert_eq!(cmd!(c, "EVAL", "return {err='A:B c'}", "0"), b"-A:B c\r\n");
    // A code that is not UTF-8 is counted and shown byte for byte, in byte order.
    let odd = b"\xff\xfeBAD message";
    let mut reply = vec![b'-'];
    reply.extend_from_slice(odd);
    reply.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd(&[b"EVAL", b"return {err=ARGV[1]}", b"0", odd]), reply);
    let raw = cmd!(c, "INFO", "errorstats");
    let tail = b"errorstat_MY:count=1\r\nerrorstat_\xff\xfeBAD:count=1\r\n\r\n";
    assert!(raw.ends_with(tail), "{}", String::from_utf8_lossy(&raw));
    let errs = String::from_utf8_lossy(&raw).into_owned();
    assert!(errs.contains("errorstat_ERR:count=4\r\n"), "{errs}");
    assert!(errs.contains("errorstat_MY:count=1\r\n"), "{errs}");
    assert!(errs.contains("errorstat_A_B:count=1\r\n"), "{errs}");
    assert_eq!(errs.matches("errorstat_").count(), 4, "{errs}");
    let stats = String::from_utf8(cmd!(c, "INFO", "commandstats")).unwrap();
    for name in ["object", "script"] {
        let want = format!("cmdstat_{name}:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n");
        assert!(stats.contains(&want), "{stats}");
    }
    cmd!(c, "OBJECT");
    let mut d = s.raw();
    let list = String::from_utf8(cmd!(d, "CLIENT", "LIST")).unwrap();
    assert!(list.contains(" cmd=object "), "{list}");
}

#[test]
fn script_memory_figures_follow_the_scripts_and_libraries() {
    use crate::harness::info_u64;
    let s = Server::start();
    let mut c = s.raw();
    let mem = |c: &mut crate::harness::Raw, f: &str| info_u64(c, "memory", f);
    assert_eq!(mem(&mut c, "used_memory_scripts_eval"), 0);
    assert_eq!(mem(&mut c, "used_memory_functions"), 200);
    // Each cached script: its SHA, its body and its entry, as redis-server 7.0.15 counts.
    cmd!(c, "SCRIPT", "LOAD", "return 1");
    assert_eq!(mem(&mut c, "used_memory_scripts_eval"), 136);
    cmd!(c, "SCRIPT", "LOAD", "return 'abcdefghijklmnopqrstuvwxyz0123456789'");
    assert_eq!(mem(&mut c, "used_memory_scripts_eval"), 288);
    let eval_vm = mem(&mut c, "used_memory_vm_eval");
    assert!(eval_vm > 0 && eval_vm % 1024 == 0, "{eval_vm}");
    assert_eq!(mem(&mut c, "used_memory_lua"), eval_vm);
    // A cached script holding a 100 KB constant grows the state's heap by as much.
    let big = format!("return '{}'", "x".repeat(100_000));
    cmd!(c, "SCRIPT", "LOAD", &big);
    assert!(mem(&mut c, "used_memory_vm_eval") > eval_vm + 100_000);
    assert!(mem(&mut c, "used_memory_scripts_eval") > 288 + 100_000);
    cmd!(
        c,
        "FUNCTION",
        "LOAD",
        "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)"
    );
    assert_eq!(mem(&mut c, "used_memory_functions"), 440);
    let vm_total = mem(&mut c, "used_memory_vm_total");
    assert_eq!(
        vm_total,
        mem(&mut c, "used_memory_vm_eval") + mem(&mut c, "used_memory_vm_functions")
    );
    let eval_caches = mem(&mut c, "used_memory_scripts_eval");
    assert_eq!(mem(&mut c, "used_memory_scripts"), eval_caches + 440);
    cmd!(c, "SCRIPT", "FLUSH");
    cmd!(c, "FUNCTION", "FLUSH");
    assert_eq!(mem(&mut c, "used_memory_scripts_eval"), 0);
    assert_eq!(mem(&mut c, "used_memory_functions"), 200);
    assert_eq!(mem(&mut c, "used_memory_vm_eval"), 0);
}
