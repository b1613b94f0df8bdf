//! Process-level behaviour: config errors, CONFIG GET/SET, INFO, CLIENT, AUTH,
//! maxclients, SHUTDOWN and signals.
use std::process::Command;
use std::time::Duration;

use crate::cmd;
use crate::harness::{wait_for, Server};

#[test]
fn bad_directive_exits_with_redis_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--port", "0", "--nosuchdirective", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FATAL CONFIG FILE ERROR"), "{err}");
    assert!(err.contains("Bad directive or wrong number of arguments"), "{err}");
}

/// Sentinel mode is refused with a message, not started as a data server; sentinel's
/// lines in a server's config are an error, as in Redis outside sentinel mode.
#[test]
fn a_sentinel_line_is_refused_outside_sentinel_mode() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--port", "0", "--sentinel monitor", "m", "127.0.0.1", "6379", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sentinel directive while not in sentinel mode"), "{err}");
}

#[test]
fn version_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // What tools read: the first number, and the text after " v=" up to a dot.
    let first: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(first, "7", "{text}");
    assert!(text.split_once(" v=").unwrap().1.starts_with("7.0."), "{text}");
    assert!(
        text.contains(&format!("ferrodis_version={}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn config_get_set_and_errors() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "CONFIG", "SET", "maxmemory", "10mb", "hz", "50"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "maxmemory"),
        b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
    );
    assert_eq!(
        cmd!(c, "CONFIG", "SET", "hz", "60", "maxmemory", "lots"),
        b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"
    );
    // All or nothing: hz kept its old value.
    assert_eq!(cmd!(c, "CONFIG", "GET", "hz"), b"*2\r\n$2\r\nhz\r\n$2\r\n50\r\n");
    assert_eq!(
        cmd!(c, "CONFIG", "SET", "daemonize", "yes"),
        b"-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n"
    );
    assert_eq!(
        cmd!(c, "CONFIG", "SET", "nope", "1"),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nope'\r\n"
    );
    let all = String::from_utf8(cmd!(c, "CONFIG", "GET", "*")).unwrap();
    assert!(all.contains("appendfsync"), "{all}");
    // A whole name is answered as it was spelled, once whatever its case; an alias
    // under the alias.
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "MaxMemory", "maxmemory", "hash-max-ziplist-entries"),
        b"*4\r\n$9\r\nMaxMemory\r\n$8\r\n10485760\r\n$24\r\nhash-max-ziplist-entries\r\n$3\r\n512\r\n"
    );
    // An alias is named as given; a memory value without digits reads as 0; an empty
    // buffer limit list changes nothing.
    assert_eq!(
        cmd!(c, "CONFIG", "SET", "SLAVE-PRIORITY", "abc"),
        b"-ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer\r\n"
    );
    assert_eq!(cmd!(c, "CONFIG", "SET", "maxmemory", ""), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "maxmemory"),
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    let limits = cmd!(c, "CONFIG", "GET", "client-output-buffer-limit");
    assert_eq!(cmd!(c, "CONFIG", "SET", "client-output-buffer-limit", ""), b"+OK\r\n");
    assert_eq!(cmd!(c, "CONFIG", "GET", "client-output-buffer-limit"), limits);
    // maxmemory-clients never goes under 128 KB: a tiny one leaves clients alone.
    assert_eq!(cmd!(c, "CONFIG", "SET", "maxmemory-clients", "1"), b"+OK\r\n");
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    assert_eq!(cmd!(s.raw(), "PING"), b"+PONG\r\n");
}

#[test]
fn info_sections() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "PING");
    let all = String::from_utf8(cmd!(c, "INFO", "everything")).unwrap();
    for f in [
        "redis_version:7.0.15",
        "used_memory:",
        "used_cpu_user:",
        "rejected_calls",
        "connected_clients:1",
        "role:master",
    ] {
        assert!(all.contains(f), "missing {f}");
    }
    let def = String::from_utf8(cmd!(c, "INFO")).unwrap();
    assert!(!def.contains("rejected_calls"));
    let cpu = String::from_utf8(cmd!(c, "INFO", "cpu")).unwrap();
    assert!(cpu.contains("used_cpu_user") && !cpu.contains("used_memory"));
}

#[test]
fn client_commands() {
    let s = Server::start();
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(cmd!(a, "CLIENT", "SETNAME", "alpha"), b"+OK\r\n");
    assert_eq!(cmd!(a, "CLIENT", "GETNAME"), b"$5\r\nalpha\r\n");
    assert_eq!(
        cmd!(a, "CLIENT", "SETNAME", "a b"),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    let list = String::from_utf8(cmd!(b, "CLIENT", "LIST")).unwrap();
    assert!(list.contains("name=alpha"), "{list}");
    let id = String::from_utf8(cmd!(a, "CLIENT", "ID")).unwrap();
    let id = id.trim_start_matches(':').trim().to_string();
    assert_eq!(cmd!(b, "CLIENT", "KILL", "ID", &id), b":1\r\n");
    assert!(a.closed());
    b.send(b"CLIENT REPLY SKIP\r\nECHO skipped\r\nECHO shown\r\n");
    assert_eq!(b.read(), b"$5\r\nshown\r\n");
    b.send(b"CLIENT REPLY OFF\r\nECHO hidden\r\nNOSUCHCOMMAND\r\nCLIENT REPLY SKIP\r\nPING\r\nCLIENT REPLY ON\r\n");
    assert_eq!(b.read(), b"+OK\r\n");
    // A rejected command uses up a SKIP like any other.
    b.send(b"CLIENT REPLY SKIP\r\nNOSUCHCOMMAND\r\nPING\r\n");
    assert_eq!(b.read(), b"+PONG\r\n");
}

#[test]
fn requirepass_and_auth() {
    let s = Server::start_with(&["--requirepass", "secret"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "GET", "x"), b"-NOAUTH Authentication required.\r\n");
    assert_eq!(
        cmd!(c, "AUTH", "wrong"),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(cmd!(c, "AUTH", "secret"), b"+OK\r\n");
    assert_eq!(cmd!(c, "GET", "x"), b"$-1\r\n");
    let mut u = s.raw();
    u.send(b"*11\r\n");
    assert_eq!(u.read(), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
}

#[test]
fn maxclients_rejects_extra_connections() {
    let s = Server::start_with(&["--maxclients", "2"]);
    let mut a = s.raw();
    // The harness's readiness probe connection may not be reaped yet: wait for it.
    wait_for("probe connection to close", Duration::from_secs(10), || {
        String::from_utf8(cmd!(a, "INFO", "clients"))
            .unwrap()
            .contains("connected_clients:1\r\n")
            .then_some(())
    });
    let mut b = s.raw();
    assert_eq!(cmd!(b, "PING"), b"+PONG\r\n");
    let mut c = s.raw();
    assert_eq!(c.read(), b"-ERR max number of clients reached\r\n");
}

#[test]
fn shutdown_and_sigterm_exit_cleanly() {
    let mut s = Server::start();
    let mut c = s.raw();
    c.send(b"SHUTDOWN NOSAVE\r\n");
    assert_eq!(s.wait_exit(), Some(0));
    assert!(s.log().contains("ready to exit, bye bye"));

    let mut s = Server::start();
    let pid = s.pid() as i32;
    // Safety: signalling our own child process.
    unsafe { libc_kill(pid) };
    assert_eq!(s.wait_exit(), Some(0));
    let log = s.log();
    // In the signal handler's own format, as Redis writes it, then the shutdown.
    let line = log
        .lines()
        .find(|l| l.ends_with("Received SIGTERM scheduling shutdown..."))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.starts_with(&format!("{pid}:signal-handler (")), "{line}");
    assert!(log.contains("# User requested shutdown..."), "{log}");
}

unsafe fn libc_kill(pid: i32) {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    kill(pid, 15);
}

#[test]
fn config_rewrite_keeps_comments_and_updates_values() {
    let dir = std::env::temp_dir().join(format!("ferrodis-rw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("test.conf");
    std::fs::write(&conf, "# my settings\nhz 10\nmaxmemory 0\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args([
            conf.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--logfile",
            dir.join("log").to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let stream = wait_for("listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    drop(stream);
    let mut r = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("hz")
        .arg("42")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut r).unwrap();
    let text = std::fs::read_to_string(&conf).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.starts_with("# my settings\nhz 42\n"), "{text}");
    assert!(text.contains("maxmemory-policy allkeys-lru"), "{text}");
}

#[test]
fn binds_ipv4_and_ipv6_loopback_and_writes_pidfile() {
    let s = Server::start_with(&["--bind", "127.0.0.1 -::1", "--pidfile", "ferrodis-test.pid"]);
    let pid = std::fs::read_to_string(s.dir.join("ferrodis-test.pid")).unwrap_or_default();
    assert_eq!(pid.trim(), s.pid().to_string());
    if let Ok(mut v6) = std::net::TcpStream::connect(("::1", s.port)) {
        use std::io::{BufRead, Read, Write};
        v6.write_all(b"PING\r\n").unwrap();
        let mut b = [0u8; 7];
        v6.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"+PONG\r\n");
        // IPv6 addresses are bracketed, as Redis gives them.
        v6.write_all(b"CLIENT INFO\r\n").unwrap();
        let mut r = std::io::BufReader::new(v6);
        let mut head = String::new();
        r.read_line(&mut head).unwrap();
        let len: usize = head.trim_end().trim_start_matches('$').parse().unwrap();
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).unwrap();
        let info = String::from_utf8(body).unwrap();
        assert!(info.contains(" addr=[::1]:"), "{info}");
        assert!(info.contains(&format!(" laddr=[::1]:{} ", s.port)), "{info}");
    }
}

/// Idle clients are closed after `timeout` seconds, but not those that wait by
/// design: blocked on a key, held by CLIENT PAUSE, or subscribed.
#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = Server::start_with(&["--timeout", "1", "--hz", "50"]);
    let mut blocked = s.raw();
    blocked.send_cmd(&[b"BLPOP", b"l", b"0"]);
    let mut sub = s.raw();
    cmd!(sub, "SUBSCRIBE", "ch");
    let mut admin = s.raw();
    cmd!(admin, "CLIENT", "PAUSE", "100000", "WRITE");
    let mut paused = s.raw();
    paused.send_cmd(&[b"SET", b"k", b"v"]);
    wait_for("both to wait", Duration::from_secs(5), || {
        let info = String::from_utf8(cmd!(admin, "INFO", "clients")).unwrap();
        info.contains("blocked_clients:2\r\n").then_some(())
    });
    let list = String::from_utf8(cmd!(admin, "CLIENT", "LIST")).unwrap();
    assert_eq!(list.matches("flags=b ").count(), 2, "{list}");
    // The last to go quiet: once the server closes it, the others were idle longer.
    let mut idle = s.raw();
    assert_eq!(cmd!(idle, "PING"), b"+PONG\r\n");
    idle.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(idle.closed());
    let mut c = s.raw();
    assert_eq!(cmd!(c, "CLIENT", "UNPAUSE"), b"+OK\r\n");
    assert_eq!(paused.read(), b"+OK\r\n");
    assert_eq!(cmd!(c, "RPUSH", "l", "x"), b":1\r\n");
    assert_eq!(blocked.read(), b"*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
    assert_eq!(cmd!(c, "PUBLISH", "ch", "m"), b":1\r\n");
    assert_eq!(sub.read(), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n");
}

/// Starts ferrodis daemonized, logging to `dir` (made here), with `extra`
/// arguments; a connection to it once it listens.
fn start_daemon(dir: &std::path::Path, extra: &[&str]) -> std::net::TcpStream {
    std::fs::create_dir_all(dir).unwrap();
    let port = crate::harness::free_port();
    let status = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--daemonize", "yes"])
        .args(["--logfile", dir.join("log").to_str().unwrap()])
        .args(extra)
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
}

/// SHUTDOWN NOSAVE over `c`; returns once process `pid` is gone.
fn shutdown_daemon(mut c: std::net::TcpStream, pid: &str) {
    use std::io::{Read, Write};
    c.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    let _ = c.read_to_end(&mut Vec::new());
    wait_for("daemon exit", Duration::from_secs(20), || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
}

#[test]
fn daemonize_detaches_and_writes_pidfile() {
    let dir = std::env::temp_dir().join(format!("ferrodis-daemon-{}", std::process::id()));
    let pidfile = dir.join("d.pid");
    let c = start_daemon(&dir, &["--pidfile", pidfile.to_str().unwrap()]);
    let pid: i32 = wait_for("pidfile", Duration::from_secs(20), || {
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    });
    shutdown_daemon(c, &pid.to_string());
    assert!(!pidfile.exists(), "pidfile removed on shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A daemon started without a pidfile writes Redis's default one.
#[test]
fn a_daemon_without_pidfile_uses_the_default_one() {
    let default = std::path::Path::new("/var/run/redis.pid");
    // Never touch the file of a server already running here.
    if default.exists() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferrodis-daemon2-{}", std::process::id()));
    let mut c = start_daemon(&dir, &[]);
    use std::io::{Read, Write};
    c.write_all(b"CONFIG GET pidfile\r\nINFO server\r\n").unwrap();
    let mut got = Vec::new();
    let info = wait_for("replies", Duration::from_secs(10), || {
        let mut b = [0u8; 8192];
        let n = c.read(&mut b).unwrap();
        got.extend_from_slice(&b[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        text.contains("tcp_port").then_some(text)
    });
    assert!(
        info.starts_with("*2\r\n$7\r\npidfile\r\n$18\r\n/var/run/redis.pid\r\n"),
        "{info}"
    );
    let pid = info
        .split("process_id:")
        .nth(1)
        .and_then(|s| s.split("\r\n").next())
        .unwrap();
    // Where the file can be written (as root, say), it holds the pid until shutdown.
    let written = std::fs::read_to_string(default).ok();
    if let Some(w) = &written {
        assert_eq!(w.trim(), pid);
    }
    shutdown_daemon(c, pid);
    assert!(!default.exists(), "pidfile removed on shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_port_rebinds_and_rolls_back_on_failure() {
    let s = Server::start();
    let mut c = s.raw();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    assert_eq!(
        cmd!(c, "CONFIG", "SET", "port", &busy_port),
        b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port\r\n"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", s.port)).is_ok(),
        "old port still served"
    );
    let fresh = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(cmd!(c, "CONFIG", "SET", "port", fresh.to_string()), b"+OK\r\n");
    let mut n = wait_for("new port", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", fresh)).ok()
    });
    use std::io::{Read, Write};
    n.write_all(b"PING\r\n").unwrap();
    let mut b = [0u8; 7];
    n.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"+PONG\r\n");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err(),
        "old port closed"
    );
}

#[test]
fn rename_command_and_alias_names() {
    let s = Server::start_with(&[
        "--rename-command",
        "flushdb",
        "wipe",
        "--shutdown-on-sigint",
        "force now nosave",
    ]);
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "FLUSHDB"),
        b"-ERR unknown command 'FLUSHDB', with args beginning with: \r\n"
    );
    assert_eq!(cmd!(c, "WIPE"), b"+OK\r\n");
    // Multi-word enums are shown in Redis's order; aliases answer CONFIG GET too.
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "shutdown-on-sigint"),
        b"*2\r\n$18\r\nshutdown-on-sigint\r\n$16\r\nnosave now force\r\n"
    );
    let r = String::from_utf8(cmd!(c, "CONFIG", "GET", "*of")).unwrap();
    assert!(r.contains("replicaof") && r.contains("slaveof"), "{r}");
}

#[test]
fn argv_errors_name_the_option_like_redis() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--port", "6379", "6380"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("'port \"6379\" \"6380\"'") && err.contains("wrong number of arguments"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--shutdown-on-sigint"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("argument(s) must be one of the following"), "{err}");
}

#[test]
fn latencystats_follow_the_configured_percentiles() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "a", "b");
    let info = String::from_utf8(cmd!(c, "INFO", "latencystats")).unwrap();
    let line = info
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_set:"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("p50=") && line.contains(",p99=") && line.contains(",p99.9="),
        "{info}"
    );
    assert_eq!(
        cmd!(
            c,
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0.0 50.0 100.0"
        ),
        b"+OK\r\n"
    );
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "latency-tracking-info-percentiles"),
        b"*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$8\r\n0 50 100\r\n"
    );
    let info = String::from_utf8(cmd!(c, "INFO", "latencystats")).unwrap();
    assert!(info.contains("latency_percentiles_usec_set:p0="), "{info}");
    let bad = String::from_utf8(cmd!(c, "CONFIG", "SET", "latency-tracking-info-percentiles", "101")).unwrap();
    assert!(bad.starts_with("-ERR CONFIG SET failed"), "{bad}");
    cmd!(c, "CONFIG", "RESETSTAT");
    let info = String::from_utf8(cmd!(c, "INFO", "latencystats")).unwrap();
    assert!(!info.contains("usec_set:"), "{info}");
}

#[test]
fn review_regressions() {
    let s = Server::start_with(&["--requirepass", "pw"]);
    // HTTP sent at the port (cross-protocol scripting): dropped without a reply.
    let mut http = s.raw();
    http.send(b"POST / HTTP/1.1\r\nHost: localhost\r\n\r\nFLUSHALL\r\n");
    assert!(http.closed());
    let mut c = s.raw();
    let mut other = s.raw();
    assert_eq!(cmd!(c, "AUTH", "pw"), b"+OK\r\n");
    // A NUL inside a multi-word config value ends it (used to loop forever).
    assert_eq!(cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "K\0E"), b"+OK\r\n");
    // Removing the password applies to connections that never authenticated.
    assert_eq!(cmd!(c, "CONFIG", "SET", "requirepass", ""), b"+OK\r\n");
    assert_eq!(cmd!(other, "PING"), b"+PONG\r\n");
    assert_eq!(cmd!(c, "SET", "k", "v", "PXAT", "4102444800600"), b"+OK\r\n");
    assert_eq!(cmd!(c, "EXPIRETIME", "k"), b":4102444801\r\n");
    assert_eq!(cmd!(c, "SET", "k", "v", "EX", "10", "EX", "20"), b"+OK\r\n");
    assert_eq!(cmd!(c, "TTL", "k"), b":20\r\n");
    assert_eq!(
        cmd!(c, "SET", "k", "v", "EX", "10", "PX", "20"),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        cmd!(c, "MOVE", "k", "3000000000"),
        b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(cmd!(c, "INCRBYFLOAT", "f", "3"), b"$1\r\n3\r\n");
    assert_eq!(cmd!(c, "OBJECT", "ENCODING", "f"), b"$6\r\nembstr\r\n");
    assert_eq!(
        cmd!(c, "COMMAND", "GETKEYS", "PING", "a", "b"),
        b"-ERR The command has no key arguments\r\n"
    );
}

#[test]
fn slowlog_keeps_slow_commands_with_secrets_redacted() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SLOWLOG", "LEN"), b":0\r\n");
    assert_eq!(cmd!(c, "CONFIG", "SET", "slowlog-log-slower-than", "0"), b"+OK\r\n");
    cmd!(c, "CLIENT", "SETNAME", "me");
    cmd!(c, "CONFIG", "SET", "requirepass", "hunter2");
    cmd!(c, "AUTH", "hunter2");
    cmd!(c, "CONFIG", "SET", "requirepass", "");
    let log = String::from_utf8(cmd!(c, "SLOWLOG", "GET", "3")).unwrap();
    assert!(log.starts_with("*3\r\n"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
    assert!(log.contains("$4\r\nAUTH\r\n$10\r\n(redacted)\r\n"), "{log}");
    assert!(log.contains("$2\r\nme\r\n"), "{log}");
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut argv: Vec<&[u8]> = vec![b"SADD", b"s"];
    argv.extend(many.iter().map(|s| s.as_bytes()));
    c.cmd(&argv);
    let log = String::from_utf8(cmd!(c, "SLOWLOG", "GET", "1")).unwrap();
    assert!(
        log.contains("*32\r\n") && log.contains("... (11 more arguments)"),
        "{log}"
    );
    assert_eq!(
        cmd!(c, "SLOWLOG", "GET", "-2"),
        b"-ERR count should be greater than or equal to -1\r\n"
    );
    assert_eq!(cmd!(c, "SLOWLOG", "RESET"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SLOWLOG", "LEN"), b":1\r\n");
}

#[test]
fn latency_monitor_records_slow_events() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "LATENCY", "LATEST"), b"*0\r\n");
    cmd!(c, "CONFIG", "SET", "latency-monitor-threshold", "50");
    cmd!(c, "DEBUG", "SLEEP", "0.1");
    let latest = String::from_utf8(cmd!(c, "LATENCY", "LATEST")).unwrap();
    assert!(latest.starts_with("*1\r\n*4\r\n$7\r\ncommand\r\n"), "{latest}");
    let history = String::from_utf8(cmd!(c, "LATENCY", "HISTORY", "command")).unwrap();
    assert!(history.starts_with("*1\r\n*2\r\n"), "{history}");
    let histo = String::from_utf8(cmd!(c, "LATENCY", "HISTOGRAM", "debug")).unwrap();
    assert!(
        histo.contains("$5\r\ndebug\r\n") && histo.contains("$5\r\ncalls\r\n:1\r\n"),
        "{histo}"
    );
    assert_eq!(cmd!(c, "LATENCY", "RESET", "nothing"), b":0\r\n");
    assert_eq!(cmd!(c, "LATENCY", "RESET"), b":1\r\n");
    assert_eq!(cmd!(c, "LATENCY", "LATEST"), b"*0\r\n");
}

/// DEBUG reads its numbers as Redis's debug.c does, with strtod and atoi and no checks:
/// hiredis probes for DEBUG SLEEP with the argument "0\r\n" and wants +OK.
#[test]
fn debug_reads_numbers_loosely_as_redis_does() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DEBUG", "SLEEP", "0\r\n"), b"+OK\r\n");
    assert_eq!(cmd!(c, "DEBUG", "SLEEP", "soon"), b"+OK\r\n");
    let t = std::time::Instant::now();
    assert_eq!(cmd!(c, "DEBUG", "SLEEP", "0.3s"), b"+OK\r\n");
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
    // "00" is off for atoi; a key set to expire then stays until looked up.
    assert_eq!(cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "00"), b"+OK\r\n");
    assert_eq!(cmd!(c, "PSETEX", "k", "1", "v"), b"+OK\r\n");
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_millis(400) {
        assert_eq!(cmd!(c, "DBSIZE"), b":1\r\n");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "1x"), b"+OK\r\n");
    let t = std::time::Instant::now();
    while cmd!(c, "DBSIZE") != b":0\r\n" {
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "never expired");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_client_closing_right_after_partial_input_is_dropped() {
    let s = Server::start();
    let mut admin = s.raw();
    for _ in 0..10 {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        let mut req = b"*3\r\n".to_vec();
        req.extend_from_slice(b"$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n");
        req.extend_from_slice(&vec![b'x'; 50_000]);
        std::io::Write::write_all(&mut c, &req).unwrap();
        drop(c);
    }
    wait_for("dead clients to be closed", Duration::from_secs(5), || {
        let info = String::from_utf8(cmd!(admin, "INFO", "clients")).unwrap();
        info.contains("connected_clients:1\r\n").then_some(())
    });
}

#[test]
fn client_pause_holds_writes_until_unpause() {
    let s = Server::start();
    let mut admin = s.raw();
    let mut w = s.raw();
    cmd!(admin, "SET", "ttl", "v", "PX", "1");
    assert_eq!(cmd!(admin, "CLIENT", "PAUSE", "100000", "WRITE"), b"+OK\r\n");
    // Reads still run; a write waits, unanswered.
    assert_eq!(cmd!(w, "GET", "nokey"), b"$-1\r\n");
    w.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    wait_for("the write to wait", Duration::from_secs(5), || {
        let info = String::from_utf8(cmd!(admin, "INFO", "clients")).unwrap();
        info.contains("blocked_clients:1\r\n").then_some(())
    });
    assert_eq!(cmd!(admin, "EXISTS", "k"), b":0\r\n");
    // An expired key reads as gone but is not deleted while paused.
    wait_for("the key's TTL to pass", Duration::from_secs(5), || {
        (cmd!(admin, "GET", "ttl") == b"$-1\r\n").then_some(())
    });
    let stats = String::from_utf8(cmd!(admin, "INFO", "stats")).unwrap();
    assert!(stats.contains("expired_keys:0\r\n"), "{stats}");
    assert_eq!(
        cmd!(admin, "CLIENT", "PAUSE", "10", "SOME"),
        b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(cmd!(admin, "CLIENT", "UNPAUSE"), b"+OK\r\n");
    assert_eq!(w.read(), b"+OK\r\n");
    assert_eq!(cmd!(admin, "GET", "k"), b"$1\r\nv\r\n");
    assert_eq!(cmd!(admin, "GET", "ttl"), b"$-1\r\n");
    let stats = String::from_utf8(cmd!(admin, "INFO", "stats")).unwrap();
    assert!(stats.contains("expired_keys:1\r\n"), "{stats}");
}

#[test]
fn module_lolwut_and_restore_asking() {
    let s = Server::start();
    let mut c = s.raw();
    // Listing modules is allowed; loading them is what enable-module-command guards.
    assert_eq!(cmd!(c, "MODULE", "LIST"), b"*0\r\n");
    let refused = String::from_utf8(cmd!(c, "MODULE", "LOAD", "/nonexistent.so")).unwrap();
    assert!(
        refused.starts_with("-ERR MODULE command not allowed. If the enable-module-command option"),
        "{refused}"
    );
    assert!(cmd!(c, "MODULE", "HELP").starts_with(b"*"));
    let s2 = Server::start_with(&["--enable-module-command", "yes"]);
    let mut m = s2.raw();
    assert_eq!(cmd!(m, "MODULE", "LIST"), b"*0\r\n");
    assert_eq!(
        cmd!(m, "MODULE", "LOAD", "/nonexistent.so"),
        b"-ERR Error loading the extension. Please check the server logs.\r\n"
    );
    let art = String::from_utf8(cmd!(c, "LOLWUT")).unwrap();
    assert!(art.contains("Redis ver. 7.0.15"), "{art}");
    // The current edition ignores its arguments; editions 5 and 6 take integers.
    for args in [
        &["5", "6", "7", "8"][..],
        &["VERSION"],
        &["VERSION", "5", "1", "2", "3"],
        &["VERSION", "6", "10", "2"],
    ] {
        let mut argv: Vec<&[u8]> = vec![b"LOLWUT"];
        argv.extend(args.iter().map(|a| a.as_bytes()));
        let art = String::from_utf8(c.cmd(&argv)).unwrap();
        assert!(art.contains("Redis ver. 7.0.15"), "{args:?}: {art}");
    }
    assert_eq!(
        cmd!(c, "LOLWUT", "VERSION", "5", "wide"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        cmd!(c, "LOLWUT", "VERSION", "x", "1"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert!(cmd!(c, "LOLWUT", "VERSION", "7", "wide").starts_with(b"$"));
    cmd!(c, "SET", "src", "hello");
    let dump = cmd!(c, "DUMP", "src");
    let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
    assert_eq!(c.cmd(&[b"RESTORE-ASKING", b"dst", b"0", payload]), b"+OK\r\n");
    assert_eq!(cmd!(c, "GET", "dst"), b"$5\r\nhello\r\n");
}

/// CPU time of the event-loop thread (the process's main thread), from schedstat.
fn loop_cpu(pid: u32) -> Duration {
    let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
    Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
}

#[test]
fn busy_poll_window_ends_when_traffic_stops() {
    let s = Server::start_with(&["--busy-poll-us", "10000"]);
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "CONFIG", "GET", "busy-poll-us"),
        b"*2\r\n$12\r\nbusy-poll-us\r\n$5\r\n10000\r\n"
    );
    assert_eq!(
        cmd!(c, "CONFIG", "SET", "busy-poll-us", "10001"),
        b"-ERR CONFIG SET failed (possibly related to argument 'busy-poll-us') - argument must be between 0 and 10000 inclusive\r\n"
    );
    for _ in 0..200 {
        assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
    }
    // After its last request the loop polls for at most 10 ms, then sleeps: over an
    // idle half second it uses a small fraction of the window (a loop that kept
    // polling would use all of it).
    let from = loop_cpu(s.pid());
    std::thread::sleep(Duration::from_millis(500));
    let used = loop_cpu(s.pid()) - from;
    assert!(used < Duration::from_millis(100), "idle loop used {used:?} of CPU");
    // Without the window the server answers the same.
    assert_eq!(cmd!(c, "CONFIG", "SET", "busy-poll-us", "0"), b"+OK\r\n");
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

/// `ps` shows the title from `proc-title-template` (by default the program and its
/// listening address), updated by CONFIG SET; a bad template is refused.
#[test]
#[cfg(target_os = "linux")]
fn process_title_follows_the_template() {
    let s = Server::start();
    let title = || {
        let raw = std::fs::read(format!("/proc/{}/cmdline", s.pid())).unwrap();
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        String::from_utf8_lossy(&raw[..end]).into_owned()
    };
    let program = env!("CARGO_BIN_EXE_ferrodis");
    assert_eq!(title(), format!("{program} 127.0.0.1:{}", s.port));
    let mut c = s.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proc-title-template")
        .arg("cache {{ {port} {title} {config-file}")
        .query(&mut c)
        .unwrap();
    assert_eq!(title(), format!("cache {{ {} {program} -", s.port));
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proc-title-template")
        .arg("{invalid-var}")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(err.to_string().contains("template format is invalid"), "{err}");
    assert_eq!(title(), format!("cache {{ {} {program} -", s.port));
}

fn oom_score(pid: u32) -> i32 {
    std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn oom_score_adj_follows_the_role_and_is_restored_when_turned_off() {
    // Ported from tests/unit/oom-score-adj.tcl.
    let s = Server::start();
    let mut c = s.raw();
    let base = oom_score(s.pid());
    assert_eq!(
        cmd!(
            c,
            "CONFIG",
            "SET",
            "oom-score-adj-values",
            "10 20 30",
            "oom-score-adj",
            "yes"
        ),
        b"+OK\r\n"
    );
    assert_eq!(oom_score(s.pid()), base + 10);
    assert_eq!(cmd!(c, "CONFIG", "SET", "oom-score-adj-values", "15 20 30"), b"+OK\r\n");
    assert_eq!(oom_score(s.pid()), base + 15);
    assert_eq!(cmd!(c, "REPLICAOF", "127.0.0.1", "1"), b"+OK\r\n");
    assert_eq!(oom_score(s.pid()), base + 20);
    assert_eq!(cmd!(c, "REPLICAOF", "NO", "ONE"), b"+OK\r\n");
    assert_eq!(oom_score(s.pid()), base + 15);
    // The save child takes the third value.
    cmd!(c, "SET", "k", "v");
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "1000000");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    wait_for("the save child's score", Duration::from_secs(10), || {
        let child = *s.children().first()?;
        (std::fs::read_to_string(format!("/proc/{child}/oom_score_adj"))
            .ok()?
            .trim()
            == (base + 30).to_string())
        .then_some(())
    });
    assert_eq!(cmd!(c, "CONFIG", "SET", "oom-score-adj", "absolute"), b"+OK\r\n");
    assert_eq!(oom_score(s.pid()), 15);
    assert_eq!(cmd!(c, "CONFIG", "SET", "oom-score-adj", "no"), b"+OK\r\n");
    assert_eq!(oom_score(s.pid()), base);
    let err = cmd!(c, "CONFIG", "SET", "oom-score-adj-values", "2001 0 0");
    assert!(err.starts_with(b"-ERR") && String::from_utf8_lossy(&err).contains("between -2000 and 2000"));
}

#[test]
fn idle_clients_reply_buffers_shrink_and_busy_ones_keep_16k() {
    // Ported from tests/unit/replybufsize.tcl.
    let s = Server::start();
    let mut c = s.raw();
    let rbs = |c: &mut crate::harness::Raw| -> usize {
        let list = String::from_utf8_lossy(&cmd!(c, "CLIENT", "LIST")).into_owned();
        let line = list.lines().find(|l| l.contains("name=watched")).unwrap().to_string();
        let field = line.split(' ').find_map(|f| f.strip_prefix("rbs=")).unwrap();
        field.parse().unwrap()
    };
    let info = |c: &mut crate::harness::Raw, field: &str| -> u64 {
        let info = String::from_utf8_lossy(&cmd!(c, "INFO", "stats")).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix(field).map(|v| v.trim().parse().unwrap()))
            .unwrap()
    };
    let mut w = s.raw();
    cmd!(w, "CLIENT", "SETNAME", "watched");
    assert_eq!(rbs(&mut c), 16384, "a new client's buffer, as Redis sizes it first");
    // Idle, the cron sizes it after its use: 1 KB at least.
    wait_for("the new client's buffer to shrink", Duration::from_secs(10), || {
        (1024..2048).contains(&rbs(&mut c)).then_some(())
    });
    cmd!(c, "SET", "big", "x".repeat(32768));
    // One reply bigger than the buffer grows it for its batch only (the cron may have
    // doubled it once since).
    assert_eq!(cmd!(w, "GET", "big").len(), 32768 + 10);
    assert!(rbs(&mut c) <= 2048, "the buffer after one big reply");
    // A client its replies keep filling has its buffer doubled by the cron, to 16 KB.
    assert_eq!(cmd!(c, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never"), b"+OK\r\n");
    wait_for("the busy client's buffer to grow", Duration::from_secs(10), || {
        assert_eq!(cmd!(w, "GET", "big").len(), 32768 + 10);
        (rbs(&mut c) == 16384).then_some(())
    });
    assert!(info(&mut c, "reply_buffer_expands:") >= 4);
    // Once idle, it is shrunk back when its peak is forgotten.
    assert_eq!(cmd!(c, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"), b"+OK\r\n");
    wait_for("the idle client's buffer to shrink", Duration::from_secs(10), || {
        (1024..2048).contains(&rbs(&mut c)).then_some(())
    });
    assert!(info(&mut c, "reply_buffer_shrinks:") >= 1);
    assert_eq!(cmd!(c, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset"), b"+OK\r\n");
}

#[test]
fn a_fatal_signal_logs_a_crash_report_and_removes_the_pidfile() {
    // Ported from tests/integration/logging.tcl "Crash report generated on DEBUG
    // SEGFAULT" and "... on SIGABRT".
    let dir = crate::harness::temp_dir();
    let pidfile = dir.join("pid");
    let mut s = Server::start_in(dir, &["--pidfile", pidfile.to_str().unwrap()]);
    assert!(pidfile.exists());
    let mut c = s.raw();
    c.send(b"DEBUG SEGFAULT\r\n");
    assert_eq!(s.wait_exit(), None, "killed by the signal itself");
    let log = s.log();
    assert!(log.contains("crashed by signal: 11"), "{log}");
    assert!(log.contains("Accessing address: 0x"), "{log}");
    assert!(log.contains("------ STACK TRACE ------"), "{log}");
    assert!(log.contains("BUG REPORT END"), "{log}");
    assert!(!pidfile.exists());

    let mut s = Server::start();
    std::process::Command::new("kill")
        .args(["-ABRT", &s.pid().to_string()])
        .status()
        .unwrap();
    assert_eq!(s.wait_exit(), None);
    let log = s.log();
    assert!(log.contains("crashed by signal: 6"), "{log}");
    assert!(log.contains("Killed by PID: "), "{log}");
}

#[test]
fn the_watchdog_logs_the_stack_of_a_long_iteration() {
    let s = Server::start_with(&["--watchdog-period", "200"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DEBUG", "SLEEP", "1"), b"+OK\r\n");
    let log = s.log();
    assert!(log.contains("--- WATCHDOG TIMER EXPIRED ---"), "{log}");
    assert!(log.contains("Backtrace:"), "{log}");
    // Turned off, a long iteration logs nothing more.
    assert_eq!(cmd!(c, "CONFIG", "SET", "watchdog-period", "0"), b"+OK\r\n");
    let before = s.log().matches("WATCHDOG TIMER EXPIRED").count();
    assert_eq!(cmd!(c, "DEBUG", "SLEEP", "0.5"), b"+OK\r\n");
    assert_eq!(s.log().matches("WATCHDOG TIMER EXPIRED").count(), before);
}

/// Under a systemd unit of Type=notify (`supervised systemd`, or `auto` with
/// $NOTIFY_SOCKET set), the server tells the manager it is loading, then ready, then
/// stopping, on the socket named by $NOTIFY_SOCKET (a path, or `@name` for an
/// abstract socket), and does not daemonize even when asked to.
#[test]
fn a_server_supervised_by_systemd_reports_ready_and_stopping() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let abstract_name = format!("ferrodis-notify-{}", std::process::id());
    for (mode, path_socket) in [("systemd", true), ("auto", false)] {
        let dir = crate::harness::temp_dir();
        let (sock, target) = if path_socket {
            let path = dir.join("notify");
            (UnixDatagram::bind(&path).unwrap(), path.display().to_string())
        } else {
            let addr = SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
            (UnixDatagram::bind_addr(&addr).unwrap(), format!("@{abstract_name}"))
        };
        sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut s = Server::start_env_in(
            env!("CARGO_BIN_EXE_ferrodis"),
            dir,
            &["--supervised", mode, "--daemonize", "yes"],
            &[("NOTIFY_SOCKET", target.as_str())],
        );
        let next = || {
            let mut buf = [0u8; 512];
            let n = sock.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        assert_eq!(next(), "STATUS=ferrodis is loading...\n", "{mode}");
        assert_eq!(next(), "STATUS=Ready to accept connections\n", "{mode}");
        assert_eq!(next(), "READY=1\n", "{mode}");
        let mut c = s.raw();
        let info = String::from_utf8_lossy(&cmd!(c, "INFO", "server")).into_owned();
        assert!(info.contains("process_supervised:systemd\r\n"), "{info}");
        // Not daemonized: the process we started is the server.
        assert!(info.contains(&format!("process_id:{}\r\n", s.pid())), "{info}");
        c.send(b"SHUTDOWN NOSAVE\r\n");
        assert_eq!(next(), "STOPPING=1\n", "{mode}");
        assert_eq!(s.wait_exit(), Some(0));
        assert!(s.log().contains("Supervised by systemd"), "{}", s.log());
    }
}

/// Unsupervised (the default), INFO says so and nothing is sent even with
/// $NOTIFY_SOCKET set.
#[test]
fn a_server_not_supervised_sends_nothing() {
    use std::os::unix::net::UnixDatagram;
    let dir = crate::harness::temp_dir();
    let path = dir.join("notify");
    let sock = UnixDatagram::bind(&path).unwrap();
    let s = Server::start_env_in(
        env!("CARGO_BIN_EXE_ferrodis"),
        dir,
        &[],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    let mut c = s.raw();
    let info = String::from_utf8_lossy(&cmd!(c, "INFO", "server")).into_owned();
    assert!(info.contains("process_supervised:no\r\n"), "{info}");
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    assert!(sock.recv(&mut buf).is_err(), "a message was sent");
}

/// Under a syscall filter like the one the stock Debian/Ubuntu systemd unit sets
/// (`SystemCallFilter=~@resources`: the process is killed on setpriority,
/// sched_setaffinity and the like), the server makes no such call: here a filter kills
/// it on any of them, and a big UNLINK, freed on the background thread, leaves it
/// serving.
#[test]
fn a_syscall_filter_on_resources_does_not_kill_the_server() {
    use std::os::unix::process::CommandExt;
    fn kill_on_resources(cmd: &mut Command) {
        // systemd's @resources set.
        let banned = [
            libc::SYS_ioprio_set,
            libc::SYS_mbind,
            libc::SYS_migrate_pages,
            libc::SYS_move_pages,
            libc::SYS_sched_setaffinity,
            libc::SYS_sched_setattr,
            libc::SYS_sched_setparam,
            libc::SYS_sched_setscheduler,
            libc::SYS_set_mempolicy,
            libc::SYS_setpriority,
            libc::SYS_setrlimit,
        ];
        // BPF over seccomp_data (nr at offset 0): load the number, one jump to "kill"
        // per banned call, else allow.
        let n = banned.len();
        let mut filter = vec![libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        for (i, nr) in banned.iter().enumerate() {
            let to_kill = (n - i) as u8;
            filter.push(libc::sock_filter {
                code: 0x15,
                jt: to_kill,
                jf: 0,
                k: *nr as u32,
            });
        }
        filter.push(libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        });
        filter.push(libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x8000_0000,
        });
        let install = move || -> std::io::Result<()> {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            // Safety: prctl on the child between fork and exec, with a filter program
            // that outlives the call.
            unsafe {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(libc::PR_SET_SECCOMP, 2, &prog as *const libc::sock_fprog) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        };
        // Safety: the closure only makes async-signal-safe prctl calls.
        unsafe { cmd.pre_exec(install) };
    }
    let s = Server::start_custom_in(
        env!("CARGO_BIN_EXE_ferrodis"),
        crate::harness::temp_dir(),
        &[],
        &kill_on_resources,
    );
    let mut c = s.raw();
    let members: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"big"];
    args.extend(members.iter().map(|m| m.as_bytes()));
    assert_eq!(c.cmd(&args), b":2000\r\n");
    assert_eq!(cmd!(c, "UNLINK", "big"), b":1\r\n");
    wait_for("the set to be freed in the background", Duration::from_secs(10), || {
        let info = String::from_utf8_lossy(&cmd!(c, "INFO", "memory")).into_owned();
        info.contains("lazyfreed_objects:1\r\n").then_some(())
    });
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

#[test]
fn admin_replies_are_redis_s_to_the_byte() {
    let s = Server::start();
    let mut c = s.raw();
    let help = String::from_utf8(cmd!(c, "OBJECT", "HELP")).unwrap();
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"), "{help}");
    assert_eq!(
        cmd!(c, "SELECT", "abc"),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        cmd!(c, "SELECT", "99999999999"),
        b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(cmd!(c, "SELECT", "16"), b"-ERR DB index is out of range\r\n");
    // hz is stored clamped to 1..=500.
    cmd!(c, "CONFIG", "SET", "hz", "100000");
    assert_eq!(cmd!(c, "CONFIG", "GET", "hz"), b"*2\r\n$2\r\nhz\r\n$3\r\n500\r\n");
    cmd!(c, "CONFIG", "SET", "hz", "0");
    assert_eq!(cmd!(c, "CONFIG", "GET", "hz"), b"*2\r\n$2\r\nhz\r\n$1\r\n1\r\n");
    cmd!(c, "SET", "s", "x");
    assert_eq!(
        cmd!(c, "MEMORY", "USAGE", "s", "SAMPLES", "-1"),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        cmd!(c, "PUBSUB", "CHANNELS", "*", "x"),
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(cmd!(c, "COMMAND", "INFO", "bogus"), b"*1\r\n$-1\r\n");
    assert!(cmd!(c, "DEBUG", "JMAP").starts_with(b"-ERR unknown subcommand"));
    let before = String::from_utf8(cmd!(c, "INFO", "replication")).unwrap();
    assert_eq!(cmd!(c, "DEBUG", "CHANGE-REPL-ID"), b"+OK\r\n");
    let after = String::from_utf8(cmd!(c, "INFO", "replication")).unwrap();
    let id = |s: &str| s.lines().find(|l| l.starts_with("master_replid:")).unwrap().to_string();
    assert_ne!(id(&before), id(&after));
}

/// Subcommands named like commands stay subcommands (LATENCY RESET queues in MULTI, it
/// is not RESET), a container named alone is found and refused by its arity (ACL
/// DRYRUN), COMMAND GETKEYS refuses arguments that name no key, RESP3 COMMAND INFO gives
/// key specs as a set and no subcommands as an empty set, and a big reply is held at its
/// size (so maxmemory-clients does not count it twice).
#[test]
fn command_lookup_and_reply_corners_match_redis() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(c, "LATENCY", "RESET", "nosuch"), b"+QUEUED\r\n");
    assert_eq!(cmd!(c, "EXEC"), b"*1\r\n:0\r\n");
    assert_eq!(cmd!(c, "ACL", "SETUSER", "u1", "on", "nopass", "+get"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "ACL", "DRYRUN", "u1", "OBJECT"),
        b"-ERR wrong number of arguments for 'object' command\r\n"
    );
    assert_eq!(
        cmd!(c, "ACL", "DRYRUN", "u1", "OBJECT", "FOO"),
        b"-ERR Command 'OBJECT' not found\r\n"
    );
    assert_eq!(
        cmd!(c, "COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "5", "a"),
        b"-ERR Invalid arguments specified for command\r\n"
    );
    assert_eq!(cmd!(c, "COMMAND", "GETKEYS", "EVAL", "return 1", "0", "x"), b"*0\r\n");
    cmd!(c, "HELLO", "3");
    let info = cmd!(c, "COMMAND", "INFO", "GET");
    let want = b"~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n";
    assert!(
        info.windows(want.len()).any(|w| w == want),
        "{}",
        String::from_utf8_lossy(&info)
    );
    assert!(info.ends_with(b"~0\r\n"), "{}", String::from_utf8_lossy(&info));
    cmd!(c, "HELLO", "2");
    assert_eq!(cmd!(c, "CONFIG", "SET", "maxmemory-clients", "700000"), b"+OK\r\n");
    let big = vec![b'x'; 400_000];
    assert_eq!(cmd!(c, "SET", "big", &big), b"+OK\r\n");
    let got = cmd!(c, "GET", "big");
    assert_eq!(got.len(), 400_000 + 11);
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

/// A client a command unblocks runs the input it sent while blocked before that
/// command's reply is written (Redis runs unblocked clients first in beforeSleep): a
/// pipelined CLIENT KILL of the writer closes it before its reply goes out, with or
/// without maxmemory-clients (which measures clients as their replies are written).
#[test]
fn unblocked_clients_run_their_pending_input_before_replies_are_written() {
    for limit in ["0", "1gb"] {
        let s = Server::start_with(&["--maxmemory-clients", limit]);
        let (mut c0, mut c1, mut watch) = (s.raw(), s.raw(), s.raw());
        let client_id = |c: &mut crate::harness::Raw| {
            let reply = String::from_utf8(cmd!(c, "CLIENT", "ID")).unwrap();
            reply.trim_start_matches(':').trim().to_string()
        };
        let (id, c0_id) = (client_id(&mut c1), client_id(&mut c0));
        c0.send(b"BZPOPMAX z 0\r\n");
        wait_for("the pop to block", Duration::from_secs(5), || {
            let info = String::from_utf8(cmd!(watch, "INFO", "clients")).unwrap();
            info.contains("blocked_clients:1").then_some(())
        });
        c0.send(format!("PING\r\nCLIENT KILL ID {id}\r\n").as_bytes());
        // The server has read what the blocked client sent.
        wait_for("the pipelined commands to arrive", Duration::from_secs(5), || {
            let list = String::from_utf8(cmd!(watch, "CLIENT", "LIST", "ID", &c0_id)).unwrap();
            (!list.contains(" qbuf=0 ")).then_some(())
        });
        c1.send(b"ZADD z 1 a\r\n");
        assert_eq!(c1.read_until_closed(), b"", "maxmemory-clients {limit}");
        let want = b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n+PONG\r\n:1\r\n";
        assert_eq!(c0.read_bytes(want.len()), want);
    }
}
