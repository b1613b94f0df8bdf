//! The append-only file end to end: acknowledged writes survive a kill -9, commands whose
//! effect depends on time or chance are replayed as their result (PEXPIREAT, SREM, SET
//! KEEPTTL), BGREWRITEAOF moves to a new base and incr file, truncated and malformed
//! files are handled like Redis, and the AOF can be switched on at run time.
use std::time::Duration;

use crate::cmd;
use crate::harness::{wait_for, Raw, Server};
use crate::persist::{digest, populate};

const AOF: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

fn manifest(s: &Server) -> String {
    std::fs::read_to_string(s.dir.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default()
}

fn info(c: &mut Raw, field: &str) -> String {
    let text = String::from_utf8_lossy(&cmd!(c, "INFO", "persistence")).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

fn wait_rewrite(c: &mut Raw) {
    wait_for("rewrite to finish", Duration::from_secs(20), || {
        (info(c, "aof_rewrite_in_progress") == "0").then_some(())
    });
}

fn int(reply: &[u8]) -> i64 {
    String::from_utf8_lossy(reply)
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn acknowledged_writes_survive_kill9() {
    let mut s = Server::start_with(AOF);
    let mut c = s.raw();
    populate(&mut c);
    assert_eq!(
        manifest(&s),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let before = digest(&mut c);
    s.kill9();
    let s2 = Server::start_in(s.copy_dir(), AOF);
    let mut c2 = s2.raw();
    assert_eq!(digest(&mut c2), before);
    let log = s2.log();
    assert!(
        log.contains("DB loaded from incr file appendonly.aof.1.incr.aof"),
        "{log}"
    );
    // The base written at start says what it is (AUX aof-base), as Redis's do.
    assert!(log.contains("RDB is base AOF"), "{log}");
    assert!(
        log.contains("Opening AOF incr file appendonly.aof.1.incr.aof on server start"),
        "{log}"
    );
}

#[test]
fn relative_and_random_commands_replay_as_their_results() {
    let mut s = Server::start_with(AOF);
    let mut c = s.raw();
    cmd!(c, "SET", "k", "v");
    cmd!(c, "EXPIRE", "k", "1000");
    cmd!(c, "SET", "s", "v", "EX", "2000");
    cmd!(c, "SETEX", "x", "3000", "v");
    cmd!(c, "SADD", "set", "a", "b", "c", "d", "e", "f");
    cmd!(c, "SPOP", "set");
    cmd!(c, "SPOP", "set", "2");
    cmd!(c, "INCRBYFLOAT", "f", "1.5");
    cmd!(c, "HINCRBYFLOAT", "h", "f", "2.25");
    cmd!(c, "SET", "gone", "1");
    cmd!(c, "PEXPIREAT", "gone", "1000");
    let expire_at = int(&cmd!(c, "PEXPIRETIME", "k"));
    let before = digest(&mut c);
    let text = std::fs::read_to_string(s.dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    assert!(text.contains("PEXPIREAT\r\n$1\r\nk\r\n"), "{text}");
    assert!(text.contains("SET\r\n$1\r\ns\r\n$1\r\nv\r\n$4\r\nPXAT"), "{text}");
    assert!(text.contains("SREM"), "{text}");
    assert!(!text.contains("SPOP") && !text.contains("spop"), "{text}");
    assert!(text.contains("KEEPTTL"), "{text}");
    assert!(text.contains("HSET\r\n$1\r\nh\r\n$1\r\nf\r\n$4\r\n2.25"), "{text}");
    assert!(text.contains("DEL\r\n$4\r\ngone"), "{text}");
    // A second later the replayed TTL must still end at the same moment.
    std::thread::sleep(Duration::from_millis(1100));
    s.kill9();
    let s2 = Server::start_in(s.copy_dir(), AOF);
    let mut c2 = s2.raw();
    assert_eq!(digest(&mut c2), before);
    assert_eq!(int(&cmd!(c2, "PEXPIRETIME", "k")), expire_at);
}

/// The commands of an incr file, each as its arguments joined by spaces.
fn incr_commands(s: &Server) -> Vec<String> {
    let data = std::fs::read(s.dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&data);
    let mut lines = text.split("\r\n");
    let mut cmds = Vec::new();
    while let Some(head) = lines.next() {
        let Some(n) = head.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let args: Vec<&str> = (0..n).filter_map(|_| lines.nth(1)).collect();
        cmds.push(args.join(" "));
    }
    cmds
}

/// Commands Redis logs in another form are logged in that form, argument for argument:
/// what a Redis replica or redis-check-aof reads from us is what Redis would have written.
#[test]
fn commands_are_logged_in_the_form_redis_logs_them() {
    let s = Server::start_with(AOF);
    let mut c = s.raw();
    let mut b = s.raw();
    cmd!(c, "GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo");
    cmd!(c, "ZADD", "z", "1", "a", "2", "b", "3", "c");
    cmd!(c, "ZPOPMIN", "z");
    cmd!(c, "ZPOPMAX", "z", "5");
    cmd!(c, "SET", "s", "v", "GET");
    cmd!(c, "SET", "s", "w", "XX", "PXAT", "99999999999999");
    cmd!(c, "CONFIG", "SET", "lazyfree-lazy-user-del", "yes");
    cmd!(c, "GETDEL", "s");
    cmd!(c, "CONFIG", "SET", "lazyfree-lazy-server-del", "yes");
    cmd!(c, "SADD", "st", "a", "b");
    cmd!(c, "SPOP", "st", "5");
    cmd!(c, "SADD", "sp", "a", "b", "c");
    let popped = String::from_utf8(cmd!(c, "SPOP", "sp", "2")).unwrap();
    let popped: Vec<&str> = popped.split("\r\n").filter(|l| ["a", "b", "c"].contains(l)).collect();
    cmd!(c, "XADD", "x", "1-1", "f", "v");
    cmd!(c, "XADD", "x", "1-2", "f", "v");
    cmd!(c, "XGROUP", "CREATE", "x", "g", "0");
    cmd!(c, "XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "x", ">");
    b.send_cmd(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"RIGHT", b"0"]);
    wait_for("BLMOVE to block", Duration::from_secs(5), || {
        crate::harness::info_u64(&mut c, "clients", "blocked_clients")
            .eq(&1)
            .then_some(())
    });
    cmd!(c, "RPUSH", "src", "e");
    assert_eq!(b.read(), b"$1\r\ne\r\n");
    cmd!(b, "BLMOVE", "dst", "src", "RIGHT", "LEFT", "0");
    b.send_cmd(&[b"BZPOPMIN", b"zz", b"0"]);
    wait_for("BZPOPMIN to block", Duration::from_secs(5), || {
        crate::harness::info_u64(&mut c, "clients", "blocked_clients")
            .eq(&1)
            .then_some(())
    });
    cmd!(c, "ZADD", "zz", "1", "m");
    assert!(b.read().starts_with(b"*3\r\n"));
    let got: Vec<String> = incr_commands(&s)
        .into_iter()
        .map(|c| {
            // The delivery times of XCLAIM are the clock's.
            let mut w: Vec<&str> = c.split(' ').collect();
            if w.first() == Some(&"XCLAIM") && w.len() > 7 {
                w[7] = "T";
            }
            w.join(" ")
        })
        .collect();
    let srem = |i: usize| format!("SREM sp {}", popped[i]);
    let want = [
        "SELECT 0",
        "zadd g NX 3479099956230698 Palermo",
        "ZADD z 1 a 2 b 3 c",
        "ZPOPMIN z",
        "ZPOPMAX z 5",
        "SET s v",
        "SET s w PXAT 99999999999999",
        "UNLINK s",
        "SADD st a b",
        "DEL st",
        "SADD sp a b c",
        "MULTI",
        &srem(0),
        &srem(1),
        "EXEC",
        "XADD x 1-1 f v",
        "XADD x 1-2 f v",
        "XGROUP CREATE x g 0",
        "MULTI",
        "XCLAIM x g c 0 1-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
        "XCLAIM x g c 0 1-2 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 1-2",
        "EXEC",
        "RPUSH src e",
        "LMOVE src dst left right",
        "LMOVE dst src RIGHT LEFT",
        "ZADD zz 1 m",
        "ZPOPMIN zz",
    ];
    assert_eq!(got, want);
}

#[test]
fn expired_keys_are_deleted_in_the_aof_before_the_command_that_found_them() {
    let mut s = Server::start_with(AOF);
    let mut c = s.raw();
    cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    cmd!(c, "SET", "k", "old", "PX", "50");
    // The first PTTL after the TTL passed finds it expired (and deletes it).
    wait_for("ttl to pass", Duration::from_secs(5), || {
        std::thread::sleep(Duration::from_millis(10));
        (cmd!(c, "PTTL", "k") == b":-2\r\n").then_some(())
    });
    // The AOF got a DEL, then this APPEND: replayed in that order the key survives.
    assert_eq!(cmd!(c, "APPEND", "k", "new"), b":3\r\n");
    s.kill9();
    let s2 = Server::start_in(s.copy_dir(), AOF);
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "GET", "k"), b"$3\r\nnew\r\n");
}

#[test]
fn bgrewriteaof_starts_a_new_base_and_incr() {
    let s = Server::start_with(AOF);
    let mut c = s.raw();
    populate(&mut c);
    assert_eq!(
        cmd!(c, "BGREWRITEAOF"),
        b"+Background append only file rewriting started\r\n"
    );
    wait_rewrite(&mut c);
    cmd!(c, "SET", "after", "1");
    assert_eq!(
        manifest(&s),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(s
        .log()
        .contains("Successfully created the temporary AOF base file temp-rewriteaof-bg-"));
    wait_for("history files to go", Duration::from_secs(5), || {
        (!s.dir.join("appendonlydir/appendonly.aof.1.incr.aof").exists()).then_some(())
    });
    assert_eq!(info(&mut c, "aof_rewrites"), "1");
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    let d1 = digest(&mut c);
    assert_eq!(cmd!(c, "DEBUG", "LOADAOF"), b"+OK\r\n");
    assert_eq!(digest(&mut c), d1);
    // The same with a base written as commands.
    cmd!(c, "CONFIG", "SET", "aof-use-rdb-preamble", "no");
    cmd!(c, "BGREWRITEAOF");
    wait_rewrite(&mut c);
    assert!(s.dir.join("appendonlydir/appendonly.aof.3.base.aof").exists());
    assert_eq!(cmd!(c, "DEBUG", "LOADAOF"), b"+OK\r\n");
    assert_eq!(digest(&mut c), d1);
    // A second one while the first runs is refused, like Redis (the delay hook keeps
    // the first one running).
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "1000000");
    assert_eq!(
        cmd!(c, "BGREWRITEAOF"),
        b"+Background append only file rewriting started\r\n"
    );
    assert_eq!(
        cmd!(c, "BGREWRITEAOF"),
        b"-ERR Background append only file rewriting already in progress\r\n"
    );
    // A BGSAVE meanwhile is refused too, unless scheduled.
    assert!(cmd!(c, "BGSAVE").starts_with(b"-ERR Another child process is active (AOF?)"));
    assert_eq!(cmd!(c, "BGSAVE", "SCHEDULE"), b"+Background saving scheduled\r\n");
}

/// A base written as commands (`aof-use-rdb-preamble no`) is made a slice at a time,
/// as an RDB one is: clients are served while it is written, no copy of the dataset
/// is held meanwhile, and the base is the dataset as it was when the rewrite began.
#[test]
fn a_base_of_commands_is_written_in_the_background_without_a_copy() {
    let s = Server::start_with(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut c = s.raw().patient(60);
    let value = vec![b'v'; 2000];
    for i in 0..20_000 {
        cmd!(c, "SET", format!("k:{i}"), &value);
    }
    let used = |c: &mut Raw| -> i64 {
        let text = String::from_utf8_lossy(&cmd!(c, "INFO", "memory")).into_owned();
        let line = text.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap();
        line.trim().parse().unwrap()
    };
    let before = used(&mut c);
    // 100 us a key: the rewrite takes about two seconds.
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "100");
    assert_eq!(
        cmd!(c, "BGREWRITEAOF"),
        b"+Background append only file rewriting started\r\n"
    );
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "1");
    assert_eq!(cmd!(c, "SET", "k:0", "changed"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SET", "new", "1"), b"+OK\r\n");
    let grown = used(&mut c) - before;
    assert!(grown < 16 << 20, "used_memory grew by {grown} bytes during the rewrite");
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "1");
    wait_rewrite(&mut c);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "ok");
    let base = std::fs::read(s.dir.join("appendonlydir/appendonly.aof.2.base.aof")).unwrap();
    assert!(base.starts_with(b"*2\r\n$6\r\nSELECT\r\n"), "{:?}", &base[..20]);
    assert!(!base.windows(7).any(|w| w == b"changed"));
    let d = digest(&mut c);
    assert_eq!(cmd!(c, "DEBUG", "LOADAOF"), b"+OK\r\n");
    assert_eq!(digest(&mut c), d);
    assert_eq!(cmd!(c, "GET", "k:0"), b"$7\r\nchanged\r\n");
}

#[test]
fn a_killed_rewrite_child_fails_the_rewrite_and_keeps_the_incr_files() {
    let s = Server::start_with(AOF);
    let mut c = s.raw();
    cmd!(c, "SET", "k", "v");
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "100000000");
    cmd!(c, "BGREWRITEAOF");
    assert_eq!(info(&mut c, "aof_rewrite_in_progress"), "1");
    let child = wait_for("the writer child", Duration::from_secs(5), || {
        let out = std::process::Command::new("pgrep")
            .args(["-P", &s.pid().to_string()])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .parse::<i32>()
            .ok()
    });
    std::process::Command::new("kill")
        .args(["-9", &child.to_string()])
        .status()
        .unwrap();
    wait_rewrite(&mut c);
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "err");
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "1");
    cmd!(c, "SET", "k2", "v2");
    assert_eq!(
        manifest(&s),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let d = digest(&mut c);
    assert_eq!(cmd!(c, "DEBUG", "LOADAOF"), b"+OK\r\n");
    assert_eq!(digest(&mut c), d);
}

#[test]
fn appendonly_can_be_turned_on_at_run_time() {
    let s = Server::start();
    let mut c = s.raw();
    populate(&mut c);
    let d = digest(&mut c);
    assert_eq!(cmd!(c, "CONFIG", "SET", "appendonly", "yes"), b"+OK\r\n");
    wait_rewrite(&mut c);
    assert_eq!(info(&mut c, "aof_enabled"), "1");
    assert_eq!(
        manifest(&s),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    cmd!(c, "SET", "new", "1");
    let d2 = digest(&mut c);
    assert_ne!(d, d2);
    assert_eq!(cmd!(c, "DEBUG", "LOADAOF"), b"+OK\r\n");
    assert_eq!(digest(&mut c), d2);
    assert_eq!(cmd!(c, "CONFIG", "SET", "appendonly", "no"), b"+OK\r\n");
    assert_eq!(info(&mut c, "aof_enabled"), "0");
}

fn write_aof(dir: &std::path::Path, incr: &[u8]) {
    std::fs::create_dir_all(dir.join("appendonlydir")).unwrap();
    std::fs::write(
        dir.join("appendonlydir/appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(dir.join("appendonlydir/appendonly.aof.1.incr.aof"), incr).unwrap();
}

const SET_FOO: &[u8] = b"*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$5\r\nhello\r\n";

#[test]
fn a_truncated_aof_loads_its_complete_commands_when_allowed() {
    let dir = crate::harness::temp_dir();
    let mut data = SET_FOO.to_vec();
    data.extend_from_slice(b"*2\r\n$4\r\nincr\r\n$1\r\n");
    write_aof(&dir, &data);
    let s = Server::start_in(dir, &["--appendonly", "yes", "--aof-load-truncated", "yes"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "GET", "foo"), b"$5\r\nhello\r\n");
    assert!(s
        .log()
        .contains("!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"));
    // The file was cut back to the last complete command.
    let len = std::fs::metadata(s.dir.join("appendonlydir/appendonly.aof.1.incr.aof"))
        .unwrap()
        .len();
    assert!(len >= SET_FOO.len() as u64, "{len}");
}

#[test]
fn a_truncated_or_malformed_aof_stops_the_server_with_redis_messages() {
    let dir = crate::harness::temp_dir();
    let mut data = SET_FOO.to_vec();
    data.extend_from_slice(b"*1\r\n$5\r\nmul");
    write_aof(&dir, &data);
    let mut s = Server::start_no_wait(dir.clone(), &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert_eq!(s.wait_exit(), Some(1));
    assert!(
        s.log()
            .contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"),
        "{}",
        s.log()
    );

    let dir = crate::harness::temp_dir();
    let mut data = SET_FOO.to_vec();
    data.extend_from_slice(b"!!!");
    write_aof(&dir, &data);
    let mut s = Server::start_no_wait(dir, &["--appendonly", "yes"]);
    assert_eq!(s.wait_exit(), Some(1));
    assert!(
        s.log()
            .contains("Bad file format reading the append only file appendonly.aof.1.incr.aof"),
        "{}",
        s.log()
    );

    let dir = crate::harness::temp_dir();
    let mut data = SET_FOO.to_vec();
    data.extend_from_slice(b"*3\r\n$3\r\nbla\r\n$3\r\nfoo\r\n$5\r\nhello\r\n");
    write_aof(&dir, &data);
    let mut s = Server::start_no_wait(dir, &["--appendonly", "yes"]);
    assert_eq!(s.wait_exit(), Some(1));
    assert!(
        s.log().contains("Unknown command 'bla' reading the append only file"),
        "{}",
        s.log()
    );
}

#[test]
fn an_unfinished_multi_is_reverted() {
    let dir = crate::harness::temp_dir();
    let mut data = SET_FOO.to_vec();
    data.extend_from_slice(b"*1\r\n$5\r\nmulti\r\n*3\r\n$3\r\nset\r\n$3\r\nbar\r\n$5\r\nworld\r\n");
    write_aof(&dir, &data);
    let s = Server::start_in(dir, &["--appendonly", "yes", "--aof-load-truncated", "yes"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "GET", "foo"), b"$5\r\nhello\r\n");
    assert_eq!(cmd!(c, "GET", "bar"), b"$-1\r\n");
    assert!(s
        .log()
        .contains("Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof"));
    let len = std::fs::metadata(s.dir.join("appendonlydir/appendonly.aof.1.incr.aof"))
        .unwrap()
        .len();
    assert_eq!(len, SET_FOO.len() as u64);
}

#[test]
fn a_broken_manifest_stops_the_server() {
    let dir = crate::harness::temp_dir();
    std::fs::create_dir_all(dir.join("appendonlydir")).unwrap();
    std::fs::write(
        dir.join("appendonlydir/appendonly.aof.manifest"),
        "file a seq 2 type i\nfile b seq 1 type i\n",
    )
    .unwrap();
    let mut s = Server::start_no_wait(dir, &["--appendonly", "yes"]);
    assert_eq!(s.wait_exit(), Some(1));
    assert!(s.log().contains("Found a non-monotonic sequence number"), "{}", s.log());
}

#[test]
fn transactions_are_replayed_whole() {
    let mut s = Server::start_with(AOF);
    let mut c = s.raw();
    cmd!(c, "MULTI");
    cmd!(c, "INCR", "a");
    cmd!(c, "SELECT", "2");
    cmd!(c, "INCR", "b");
    assert_eq!(cmd!(c, "EXEC"), b"*3\r\n:1\r\n+OK\r\n:1\r\n");
    cmd!(c, "FLUSHDB");
    let text = std::fs::read_to_string(s.dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    assert!(text.contains("MULTI") && text.contains("EXEC"), "{text}");
    s.kill9();
    let s2 = Server::start_in(s.copy_dir(), AOF);
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "GET", "a"), b"$1\r\n1\r\n");
    cmd!(c2, "SELECT", "2");
    assert_eq!(cmd!(c2, "DBSIZE"), b":0\r\n");
}

#[test]
fn a_migrate_is_logged_as_the_deletion_of_the_keys_that_left() {
    let s = Server::start_with(AOF);
    let target = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "a", "1");
    cmd!(c, "SET", "b", "2");
    cmd!(c, "SET", "kept", "3");
    let port = target.port.to_string();
    let r = cmd!(c, "MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS", "a", "b");
    assert_eq!(r, b"+OK\r\n");
    let r = cmd!(c, "MIGRATE", "127.0.0.1", &port, "kept", "0", "5000", "COPY");
    assert_eq!(r, b"+OK\r\n");
    let text = std::fs::read_to_string(s.dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    assert!(text.contains("*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("migrate"), "{text}");
    // Replayed, the file leaves the keys gone (and never moves anything again).
    let s2 = Server::start_in(s.copy_dir(), AOF);
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "EXISTS", "a", "b", "kept"), b":1\r\n");
}
