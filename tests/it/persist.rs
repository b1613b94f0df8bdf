//! Persistence end to end: SAVE/BGSAVE/SHUTDOWN write dump.rdb, a restart loads it back
//! with TTLs, DEBUG RELOAD round-trips, DUMP/RESTORE and their errors (corrupt payloads
//! answer errors, never crash the server); BGSAVE saves the dataset as it was when it
//! started, whatever is written meanwhile.
use std::time::Duration;

use crate::cmd;
use crate::harness::{temp_dir, wait_for, Raw, Server};

/// Every type in every encoding, small and big, some with TTLs.
pub fn populate(c: &mut Raw) {
    assert_eq!(cmd!(c, "SET", "str:int", "12345"), b"+OK\r\n");
    cmd!(c, "SET", "str:emb", "hello");
    cmd!(c, "SET", "str:raw", "x".repeat(500));
    cmd!(c, "SET", "str:comp", "abcdefgh".repeat(200));
    cmd!(c, "SET", "str:ttl", "v", "PX", "100000000");
    cmd!(c, "RPUSH", "list:small", "a", "1", "-7", "b");
    for i in 0..2000 {
        cmd!(c, "RPUSH", "list:big", format!("element-{i}"), i.to_string());
    }
    cmd!(c, "RPUSH", "list:big", "y".repeat(10000));
    cmd!(c, "SADD", "set:int", "1", "2", "-3", "70000", "5000000000");
    cmd!(c, "SADD", "set:str", "a", "b", "c");
    for i in 0..600 {
        cmd!(c, "SADD", "set:bigint", i.to_string());
        cmd!(c, "SADD", "set:big", format!("m{i}"));
    }
    cmd!(c, "ZADD", "zset:small", "1", "a", "2.5", "b", "-inf", "c", "3", "12");
    for i in 0..300 {
        cmd!(c, "ZADD", "zset:big", format!("{}", i as f64 / 7.0), format!("m{i}"));
    }
    cmd!(c, "ZADD", "zset:long", "1", "z".repeat(100));
    cmd!(c, "HSET", "hash:small", "f", "v", "n", "42");
    for i in 0..700 {
        cmd!(c, "HSET", "hash:big", format!("f{i}"), format!("v{i}"));
    }
    cmd!(c, "HSET", "hash:long", "f", "w".repeat(100));
    cmd!(c, "PEXPIRE", "hash:small", "50000000");
    cmd!(c, "XADD", "stream:small", "1-1", "f", "v", "n", "7");
    cmd!(c, "XADD", "stream:small", "1-2", "other", "fields");
    cmd!(c, "XGROUP", "CREATE", "stream:small", "g", "0");
    cmd!(
        c,
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "1",
        "STREAMS",
        "stream:small",
        ">"
    );
    cmd!(c, "XGROUP", "CREATECONSUMER", "stream:small", "g", "bob");
    for i in 0..500 {
        cmd!(
            c,
            "XADD",
            "stream:big",
            format!("{}-{}", 1000 + i / 3, i % 3),
            "f",
            i.to_string(),
            "g",
            "x".repeat(i % 70)
        );
    }
    cmd!(c, "XDEL", "stream:big", "1001-1", "1100-2");
    cmd!(c, "XADD", "stream:empty", "MAXLEN", "0", "5-5", "a", "b");
    cmd!(c, "SELECT", "3");
    cmd!(c, "SET", "db3", "three");
    cmd!(c, "SELECT", "0");
}

pub const KEYS: &[&str] = &[
    "str:int",
    "str:emb",
    "str:raw",
    "str:comp",
    "str:ttl",
    "list:small",
    "list:big",
    "set:int",
    "set:str",
    "set:bigint",
    "set:big",
    "zset:small",
    "zset:big",
    "zset:long",
    "hash:small",
    "hash:big",
    "hash:long",
    "stream:small",
    "stream:big",
    "stream:empty",
];

/// What DEBUG DIGEST leaves out of streams: ids, counters and consumer groups.
pub fn stream_state(c: &mut Raw) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for k in ["stream:small", "stream:big", "stream:empty"] {
        v.push(cmd!(c, "XINFO", "GROUPS", k));
        let info = cmd!(c, "XINFO", "STREAM", k);
        // Everything but radix-tree-nodes, an internal detail of Redis's tree.
        let text = String::from_utf8_lossy(&info).into_owned();
        let mut lines: Vec<&str> = text.split("\r\n").collect();
        if let Some(i) = lines.iter().position(|l| *l == "radix-tree-nodes") {
            lines.remove(i + 1);
        }
        v.push(lines.join("\n").into_bytes());
    }
    v.push(cmd!(c, "XPENDING", "stream:small", "g"));
    v
}

pub fn digest(c: &mut Raw) -> Vec<u8> {
    let d = cmd!(c, "DEBUG", "DIGEST");
    assert_eq!(d.len(), 43, "{}", String::from_utf8_lossy(&d));
    d
}

pub fn encodings(c: &mut Raw) -> Vec<Vec<u8>> {
    KEYS.iter().map(|k| cmd!(c, "OBJECT", "ENCODING", k)).collect()
}

fn info_field(c: &mut Raw, field: &str) -> String {
    let info = String::from_utf8_lossy(&cmd!(c, "INFO", "persistence")).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn save_then_restart_reloads_everything_with_ttls() {
    let s = Server::start();
    let mut c = s.raw();
    populate(&mut c);
    let before = digest(&mut c);
    let enc = encodings(&mut c);
    let streams = stream_state(&mut c);
    assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    let dir = temp_dir();
    std::fs::copy(s.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    let s2 = Server::start_in(dir, &[]);
    let mut c2 = s2.raw();
    assert_eq!(digest(&mut c2), before);
    assert_eq!(encodings(&mut c2), enc);
    assert_eq!(stream_state(&mut c2), streams);
    let ttl = String::from_utf8_lossy(&cmd!(c2, "PTTL", "str:ttl")).into_owned();
    let ttl: i64 = ttl.trim_start_matches(':').trim().parse().unwrap();
    assert!(ttl > 99_000_000 && ttl <= 100_000_000, "{ttl}");
    assert_eq!(cmd!(c2, "TTL", "str:emb"), b":-1\r\n");
    let log = s2.log();
    assert!(
        log.contains("Done loading RDB, keys loaded: 21, keys expired: 0."),
        "{log}"
    );
    assert!(log.contains("DB loaded from disk:"), "{log}");
    assert_eq!(info_field(&mut c2, "rdb_last_load_keys_loaded"), "21");
}

#[test]
fn expired_keys_are_skipped_on_load() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "keep", "1");
    cmd!(c, "SET", "gone", "1", "PX", "300");
    cmd!(c, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
    let dir = temp_dir();
    std::fs::copy(s.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    // Wait until the TTL has certainly passed, then load.
    wait_for("ttl to pass", Duration::from_secs(5), || {
        (cmd!(c, "PTTL", "gone") == b":-2\r\n").then_some(())
    });
    let s2 = Server::start_in(dir, &[]);
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "DBSIZE"), b":1\r\n");
    assert!(s2.log().contains("keys loaded: 1, keys expired: 1."), "{}", s2.log());
}

#[test]
fn bgsave_writes_the_file_and_reports_in_info() {
    let s = Server::start();
    let mut c = s.raw();
    populate(&mut c);
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    wait_for("bgsave to finish", Duration::from_secs(20), || {
        (info_field(&mut c, "rdb_bgsave_in_progress") == "0").then_some(())
    });
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(s.dir.join("dump.rdb").exists());
    assert!(s.log().contains("Background saving terminated with success"));
    assert_eq!(cmd!(c, "BGSAVE", "x"), b"-ERR syntax error\r\n");
    let out = std::process::Command::new("redis-check-rdb")
        .arg(s.dir.join("dump.rdb"))
        .output();
    if let Ok(out) = out {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn sigterm_and_shutdown_save_when_save_points_exist() {
    let mut s = Server::start_with(&["--save", "900 1"]);
    let mut c = s.raw();
    cmd!(c, "SET", "a", "1");
    unsafe { libc::kill(s.pid() as i32, libc::SIGTERM) };
    assert_eq!(s.wait_exit(), Some(0));
    let log = s.log();
    assert!(log.contains("Saving the final RDB snapshot before exiting."), "{log}");
    assert!(log.contains("DB saved on disk"), "{log}");
    assert!(s.dir.join("dump.rdb").exists());

    let mut s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "a", "1");
    c.send(b"SHUTDOWN SAVE\r\n");
    assert_eq!(s.wait_exit(), Some(0));
    assert!(s.dir.join("dump.rdb").exists());
}

/// Changes toward save points are counted as Redis counts them: one per element pushed,
/// popped, added or removed, one for a move or a rename, none for the deletion of a
/// collection a counted write emptied, nor for an LTRIM that removed nothing.
#[test]
fn changes_toward_save_points_are_counted_per_element() {
    let s = Server::start_with(&["--save", ""]);
    let mut c = s.raw();
    let steps: [(&[&str], u64); 12] = [
        (&["RPUSH", "l", "a", "b", "c"], 3),
        (&["LPOP", "l", "2"], 2),
        (&["ZADD", "z", "1", "a", "2", "b"], 2),
        (&["ZADD", "z", "1", "a", "5", "b"], 1),
        (&["ZPOPMIN", "z", "5"], 2),
        (&["LMOVE", "l", "l2", "LEFT", "RIGHT"], 1),
        (&["RENAME", "l2", "l3"], 1),
        (&["LTRIM", "l3", "0", "-1"], 0),
        (&["MOVE", "l3", "1"], 1),
        (&["SADD", "s", "a", "b"], 2),
        (&["SPOP", "s", "5"], 2),
        (&["GEOADD", "g", "1", "1", "p", "2", "2", "q"], 2),
    ];
    for (args, want) in steps {
        let before: u64 = info_field(&mut c, "rdb_changes_since_last_save").parse().unwrap();
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        c.cmd(&argv);
        let after: u64 = info_field(&mut c, "rdb_changes_since_last_save").parse().unwrap();
        assert_eq!(after - before, want, "{args:?}");
    }
}

#[test]
fn debug_reload_keeps_the_dataset() {
    let s = Server::start();
    let mut c = s.raw();
    populate(&mut c);
    let before = digest(&mut c);
    let enc = encodings(&mut c);
    assert_eq!(cmd!(c, "DEBUG", "RELOAD"), b"+OK\r\n");
    assert_eq!(digest(&mut c), before);
    assert_eq!(encodings(&mut c), enc);
    cmd!(c, "SET", "extra", "1");
    assert_eq!(cmd!(c, "DEBUG", "RELOAD", "NOSAVE"), b"+OK\r\n");
    assert_eq!(digest(&mut c), before);
    assert_eq!(
        cmd!(c, "DEBUG", "RELOAD", "BOGUS"),
        b"-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
    );
}

#[test]
fn dump_restore_round_trips_every_type() {
    let s = Server::start();
    let mut c = s.raw();
    populate(&mut c);
    for k in KEYS {
        let dv = cmd!(c, "DEBUG", "DIGEST-VALUE", k);
        let enc = cmd!(c, "OBJECT", "ENCODING", k);
        let payload = cmd!(c, "DUMP", k);
        let body = &payload[payload.iter().position(|&b| b == b'\n').unwrap() + 1..payload.len() - 2];
        let copy = format!("{k}:copy");
        // Keys with a TTL keep one (the digest mixes in whether there is an expire).
        let pttl = String::from_utf8_lossy(&cmd!(c, "PTTL", k)).into_owned();
        let ttl = pttl.trim_start_matches(':').trim().replace("-1", "0");
        assert_eq!(cmd!(c, "RESTORE", copy, ttl, body), b"+OK\r\n", "{k}");
        assert_eq!(cmd!(c, "DEBUG", "DIGEST-VALUE", copy), dv, "{k}");
        assert_eq!(cmd!(c, "OBJECT", "ENCODING", copy), enc, "{k}");
        assert_eq!(
            cmd!(c, "RESTORE", copy, "0", body),
            b"-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(cmd!(c, "RESTORE", copy, ttl, body, "REPLACE"), b"+OK\r\n");
    }
    assert_eq!(cmd!(c, "DUMP", "nosuchkey"), b"$-1\r\n");
}

#[test]
fn restore_options_and_errors() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "k", "value");
    let payload = cmd!(c, "DUMP", "k");
    let body = payload[payload.iter().position(|&b| b == b'\n').unwrap() + 1..payload.len() - 2].to_vec();
    assert_eq!(cmd!(c, "RESTORE", "t", "5000", body), b"+OK\r\n");
    let pttl = String::from_utf8_lossy(&cmd!(c, "PTTL", "t")).into_owned();
    let pttl: i64 = pttl.trim_start_matches(':').trim().parse().unwrap();
    assert!(pttl > 4000 && pttl <= 5000, "{pttl}");
    assert_eq!(cmd!(c, "RESTORE", "abs", "1", body, "ABSTTL"), b"+OK\r\n");
    assert_eq!(cmd!(c, "EXISTS", "abs"), b":0\r\n");
    assert_eq!(cmd!(c, "RESTORE", "idle", "0", body, "IDLETIME", "1000"), b"+OK\r\n");
    let idle = String::from_utf8_lossy(&cmd!(c, "OBJECT", "IDLETIME", "idle")).into_owned();
    let idle: i64 = idle.trim_start_matches(':').trim().parse().unwrap();
    assert!((1000..1010).contains(&idle), "{idle}");
    assert_eq!(
        cmd!(c, "RESTORE", "x", "-1", body),
        b"-ERR Invalid TTL value, must be >= 0\r\n"
    );
    assert_eq!(
        cmd!(c, "RESTORE", "x", "a", body),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(cmd!(c, "RESTORE", "x", "0", body, "FOO"), b"-ERR syntax error\r\n");
    assert_eq!(
        cmd!(c, "RESTORE", "x", "0", body, "IDLETIME", "-1"),
        b"-ERR Invalid IDLETIME value, must be >= 0\r\n"
    );
    assert_eq!(
        cmd!(c, "RESTORE", "x", "0", body, "FREQ", "256"),
        b"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
    );
    let wrong = b"-ERR DUMP payload version or checksum are wrong\r\n";
    assert_eq!(cmd!(c, "RESTORE", "x", "0", "short"), wrong);
    let mut bad = body.clone();
    bad[3] ^= 1;
    assert_eq!(cmd!(c, "RESTORE", "x", "0", bad), wrong);
    let mut newer = body.clone();
    let n = newer.len();
    newer[n - 10] = 11;
    assert_eq!(cmd!(c, "RESTORE", "x", "0", newer), wrong);
    // A valid checksum over garbage: the value itself is refused.
    for garbage in [
        &[0x12u8, 0x05, 0xff][..],
        &[0x10, 0x03, 1, 2, 3],
        &[0x63],
        &[0x0b, 0x00],
        &[0x0f, 0x00],
    ] {
        let mut p = garbage.to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64_jones(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            cmd!(c, "RESTORE", "x", "0", p),
            b"-ERR Bad data format\r\n",
            "{garbage:?}"
        );
    }
    // DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: only the version is checked.
    let mut zero_crc = body.clone();
    let n = zero_crc.len();
    zero_crc[n - 8..].fill(0);
    assert_eq!(cmd!(c, "RESTORE", "skip", "0", zero_crc), wrong);
    assert_eq!(cmd!(c, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"), b"+OK\r\n");
    assert_eq!(cmd!(c, "RESTORE", "skip", "0", zero_crc), b"+OK\r\n");
    assert_eq!(cmd!(c, "GET", "skip"), b"$5\r\nvalue\r\n");
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

/// CRC-64/Jones, bit by bit (reflected polynomial 0x95ac9329ac4bc9b5), for forging payloads.
fn crc64_jones(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac9329ac4bc9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[test]
fn corrupt_rdb_file_stops_startup() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "SET", "a", "1");
    cmd!(c, "SAVE");
    let dir = temp_dir();
    let mut data = std::fs::read(s.dir.join("dump.rdb")).unwrap();
    let n = data.len();
    data[n - 3] ^= 0xff;
    std::fs::write(dir.join("dump.rdb"), &data).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RDB CRC error"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_moves_copies_and_reports_target_errors() {
    let a = Server::start();
    let b = Server::start();
    let mut ca = a.raw();
    let mut cb = b.raw();
    let port = b.port.to_string();
    populate(&mut ca);
    let dv = cmd!(ca, "DEBUG", "DIGEST-VALUE", "zset:big");
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "zset:big", "0", "5000"),
        b"+OK\r\n"
    );
    assert_eq!(cmd!(ca, "EXISTS", "zset:big"), b":0\r\n");
    assert_eq!(cmd!(cb, "DEBUG", "DIGEST-VALUE", "zset:big"), dv);
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "str:int", "2", "5000", "COPY"),
        b"+OK\r\n"
    );
    assert_eq!(cmd!(ca, "EXISTS", "str:int"), b":1\r\n");
    cmd!(cb, "SELECT", "2");
    assert_eq!(cmd!(cb, "GET", "str:int"), b"$5\r\n12345\r\n");
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "str:int", "2", "5000"),
        b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "str:int", "2", "5000", "REPLACE"),
        b"+OK\r\n"
    );
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "nosuch", "0", "5000"),
        b"+NOKEY\r\n"
    );
    assert_eq!(
        cmd!(
            ca,
            "MIGRATE",
            "127.0.0.1",
            port,
            "",
            "0",
            "5000",
            "KEYS",
            "set:int",
            "set:str",
            "nosuch"
        ),
        b"+OK\r\n"
    );
    cmd!(cb, "SELECT", "0");
    assert_eq!(cmd!(cb, "EXISTS", "set:int", "set:str"), b":2\r\n");
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "x", "0", "5000", "KEYS", "a"),
        b"-ERR When using MIGRATE KEYS option, the key argument must be set to the empty string\r\n"
    );
    let info = String::from_utf8_lossy(&cmd!(ca, "INFO", "stats")).into_owned();
    assert!(info.contains("migrate_cached_sockets:1"), "{info}");
    drop(b);
    assert_eq!(
        cmd!(ca, "MIGRATE", "127.0.0.1", port, "list:big", "0", "1000"),
        b"-IOERR error or timeout connecting to the client\r\n"
    );
    assert_eq!(cmd!(ca, "EXISTS", "list:big"), b":1\r\n");
}

#[test]
fn flushall_saves_with_save_points_and_aborts_a_running_bgsave() {
    // Ported from tests/unit/other.tcl "FLUSHALL should reset the dirty counter to 0 if
    // we enable save" and tests/integration/rdb.tcl "Test FLUSHALL aborts bgsave".
    let s = Server::start();
    let mut c = s.raw();
    for i in 0..1000 {
        cmd!(c, "SET", format!("k{i}"), "v");
    }
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "100000");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    assert_eq!(cmd!(c, "BGSAVE"), b"-ERR Background save already in progress\r\n");
    assert_eq!(cmd!(c, "SAVE"), b"-ERR Background save already in progress\r\n");
    assert_eq!(cmd!(c, "FLUSHALL"), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "0");
    assert!(!s.dir.join("dump.rdb").exists());
    let dirty: u64 = info_field(&mut c, "rdb_changes_since_last_save").parse().unwrap();
    assert!(dirty > 999, "{dirty}");
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "0");
    cmd!(c, "CONFIG", "SET", "save", "3600 1");
    cmd!(c, "SET", "key", "value");
    assert_eq!(cmd!(c, "FLUSHALL"), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(s.dir.join("dump.rdb").exists());
}

#[test]
fn failed_saves_deny_writes_and_block_shutdown() {
    // A directory where dump.rdb should go makes the final rename fail.
    let s = Server::start_with(&["--save", "900 1"]);
    std::fs::create_dir(s.dir.join("dump.rdb")).unwrap();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SET", "x", "1"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SAVE"), b"-ERR\r\n");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    wait_for("bgsave to finish", Duration::from_secs(20), || {
        (info_field(&mut c, "rdb_bgsave_in_progress") == "0").then_some(())
    });
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = cmd!(c, "SET", "x", "2");
    assert!(
        misconf.starts_with(b"-MISCONF Redis is configured to save RDB snapshots"),
        "{misconf:?}"
    );
    assert_eq!(cmd!(c, "GET", "x"), b"$1\r\n1\r\n");
    assert_eq!(cmd!(c, "SHUTDOWN"), b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert!(s.log().contains("Error trying to save the DB, can't exit."));
    std::fs::remove_dir(s.dir.join("dump.rdb")).unwrap();
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    wait_for("bgsave to finish", Duration::from_secs(20), || {
        (info_field(&mut c, "rdb_bgsave_in_progress") == "0").then_some(())
    });
    assert_eq!(cmd!(c, "SET", "x", "2"), b"+OK\r\n");
}

#[test]
fn lfu_counters_and_idle_times_survive_a_restart() {
    for (policy, opt, val, query) in [
        ("allkeys-lfu", "FREQ", "100", "FREQ"),
        ("allkeys-lru", "IDLETIME", "1000", "IDLETIME"),
    ] {
        let s = Server::start_with(&["--maxmemory-policy", policy]);
        let mut c = s.raw();
        cmd!(c, "SET", "k", "v");
        let p = cmd!(c, "DUMP", "k");
        let body = p[p.iter().position(|&b| b == b'\n').unwrap() + 1..p.len() - 2].to_vec();
        assert_eq!(cmd!(c, "RESTORE", "r", "0", body, opt, val), b"+OK\r\n");
        assert_eq!(
            cmd!(c, "OBJECT", query, "r"),
            format!(":{val}\r\n").into_bytes(),
            "{policy}"
        );
        assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
        let dir = temp_dir();
        std::fs::copy(s.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
        let s2 = Server::start_in(dir, &["--maxmemory-policy", policy]);
        let mut c2 = s2.raw();
        let got = String::from_utf8_lossy(&cmd!(c2, "OBJECT", query, "r")).into_owned();
        let got: u64 = got.trim_start_matches(':').trim().parse().unwrap();
        let want: u64 = val.parse().unwrap();
        assert!(got >= want && got <= want + 2, "{policy}: {got}");
    }
}

#[test]
fn bgsave_is_a_point_in_time_snapshot_despite_writes_during_the_save() {
    let s = Server::start();
    let mut c = s.raw();
    populate(&mut c);
    // Enough keys for many table segments; some with TTLs.
    assert_eq!(cmd!(c, "DEBUG", "POPULATE", "30000", "key", "20"), b"+OK\r\n");
    for i in (0..30000).step_by(11) {
        cmd!(c, "PEXPIRE", format!("key:{i}"), "900000000");
    }
    // Values big enough to be saved over several steps.
    let fill = "for i = 1, 10000 do redis.call('hset', 'hash:huge', 'f' .. i, i) \
                redis.call('sadd', 'set:huge', 'm' .. i) redis.call('zadd', 'zset:huge', i, 'z' .. i) \
                redis.call('rpush', 'list:huge', 'e' .. i) end return 1";
    assert_eq!(cmd!(c, "EVAL", fill, "0"), b":1\r\n");
    let before = digest(&mut c);
    // The writer sleeps 50 us per key, so the save (and its walk, paced by the writer)
    // lasts well over a second while the writes below go in.
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "50");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    for i in 0..3000 {
        match i % 6 {
            0 => cmd!(c, "SET", format!("key:{}", i * 7), "overwritten"),
            1 => cmd!(c, "DEL", format!("key:{}", i * 7)),
            2 => cmd!(c, "SET", format!("fresh:{i}"), "new"),
            3 => cmd!(c, "EXPIRE", format!("key:{}", i * 7), "100"),
            4 => cmd!(c, "PERSIST", format!("key:{}", i * 11)),
            _ => cmd!(c, "APPEND", format!("key:{}", i * 5), "more"),
        };
    }
    for i in 0..2000 {
        match i % 8 {
            0 => cmd!(
                c,
                "HSET",
                "hash:huge",
                format!("f{}", i * 3),
                "changed",
                format!("new{i}"),
                "x"
            ),
            1 => cmd!(c, "HDEL", "hash:huge", format!("f{}", i * 5)),
            2 => cmd!(c, "SADD", "set:huge", format!("new{i}")),
            3 => cmd!(c, "SREM", "set:huge", format!("m{}", i * 5)),
            4 => cmd!(c, "PEXPIRE", "hash:huge", format!("{}", 900_000_000 + i)),
            5 => cmd!(c, "ZADD", "zset:huge", "-1", format!("z{}", i * 5)),
            6 => cmd!(c, "LPUSH", "list:huge", "pushed"),
            _ => cmd!(c, "SPOP", "set:huge"),
        };
    }
    cmd!(c, "RENAME", "set:huge", "set:renamed");
    cmd!(c, "SADD", "set:renamed", "after-rename");
    cmd!(c, "RENAME", "set:renamed", "set:twice");
    // Over a big value the save has yet to finish.
    cmd!(c, "RENAME", "hash:huge", "list:huge");
    // Deleted and overwritten while being saved: the save keeps the old values.
    cmd!(c, "DEL", "zset:huge");
    cmd!(c, "ZADD", "zset:huge", "1", "new");
    cmd!(c, "SET", "list:huge", "overwritten");
    cmd!(c, "RPUSH", "list:big", "pushed");
    cmd!(c, "HSET", "hash:big", "f0", "changed");
    cmd!(c, "RENAME", "str:raw", "str:renamed");
    cmd!(c, "MOVE", "set:big", "5");
    cmd!(c, "SELECT", "3");
    cmd!(c, "SET", "db3", "changed");
    cmd!(c, "SELECT", "0");
    // The writes above all ran while the save was in progress.
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    assert_ne!(digest(&mut c), before);
    wait_for("the BGSAVE to finish", Duration::from_secs(60), || {
        (info_field(&mut c, "rdb_bgsave_in_progress") == "0").then_some(())
    });
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "0");
    assert_eq!(cmd!(c, "DEBUG", "RELOAD", "NOSAVE"), b"+OK\r\n");
    assert_eq!(digest(&mut c), before);
}

#[test]
fn shutdown_stops_a_running_bgsave_and_leaves_no_temp_file() {
    // Redis compat: server.c prepareForShutdown kills the saving child.
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "DEBUG", "POPULATE", "2000");
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "100000");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    c.send(b"SHUTDOWN NOSAVE\r\n");
    wait_for("the server to exit", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", s.port))
            .is_err()
            .then_some(())
    });
    let left: Vec<_> = std::fs::read_dir(&s.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rdb"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A new directory holding the dump.rdb of `keys` keys of 100 bytes (DEBUG POPULATE).
fn populated_dump_dir(keys: &str) -> std::path::PathBuf {
    let s = Server::start();
    let mut c = s.raw().patient(120);
    assert_eq!(cmd!(c, "DEBUG", "POPULATE", keys, "key", "100"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
    let dir = temp_dir();
    std::fs::copy(s.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    dir
}

#[test]
fn clients_are_answered_loading_while_the_dataset_loads() {
    // Ported from tests/integration/rdb.tcl "client freed during loading".
    let dir = populated_dump_dir("20000");
    // 20000 keys at 100 us each: about two seconds of loading.
    let s2 = Server::start_no_wait(
        dir,
        &[
            "--key-load-delay",
            "100",
            "--loading-process-events-interval-bytes",
            "1024",
        ],
    );
    wait_for("the listener", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", s2.port)).ok()
    });
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "PING"), b"-LOADING Redis is loading the dataset in memory\r\n");
    let info = String::from_utf8_lossy(&cmd!(c2, "INFO", "persistence")).into_owned();
    assert!(
        info.contains("loading:1\r\n") && info.contains("loading_total_bytes:"),
        "{info}"
    );
    // A client that leaves while loading is gone before loading ends.
    let mut c3 = s2.raw();
    assert!(cmd!(c3, "PING").starts_with(b"-LOADING"));
    drop(c3);
    wait_for("loading to end", Duration::from_secs(30), || {
        (cmd!(c2, "PING") == b"+PONG\r\n").then_some(())
    });
    assert_eq!(cmd!(c2, "DBSIZE"), b":20000\r\n");
    let info = String::from_utf8_lossy(&cmd!(c2, "INFO", "clients")).into_owned();
    assert!(info.contains("connected_clients:1\r\n"), "{info}");
}

#[test]
fn bgsave_writes_a_temp_file_named_after_its_child_and_shutdown_removes_it() {
    // Ported from tests/unit/shutdown.tcl "Temp rdb will be deleted if we use bg_unlink
    // when shutdown": operators find the file of a running save by the save child's pid.
    let mut s = Server::start();
    let mut c = s.raw();
    for i in 0..20 {
        cmd!(c, "SET", i.to_string(), "v");
    }
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "100000");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    let temp = wait_for("the save child's temp file", Duration::from_secs(10), || {
        s.children()
            .into_iter()
            .map(|p| s.dir.join(format!("temp-{p}.rdb")))
            .find(|f| f.exists())
    });
    c.send(b"SHUTDOWN NOSAVE\r\n");
    assert_eq!(s.wait_exit(), Some(0));
    assert!(!temp.exists(), "{temp:?} left behind");
}

/// A server killed during a save takes its save with it: the save child, left with
/// input that ends early and nobody to rename its file, removes the file and exits.
#[test]
fn a_save_child_outliving_its_server_removes_its_temp_file() {
    let mut s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DEBUG", "POPULATE", "2000"), b"+OK\r\n");
    cmd!(c, "CONFIG", "SET", "rdb-key-save-delay", "10000");
    assert_eq!(cmd!(c, "BGSAVE"), b"+Background saving started\r\n");
    let (child, temp) = wait_for("the save child's temp file", Duration::from_secs(10), || {
        s.children()
            .into_iter()
            .map(|p| (p, s.dir.join(format!("temp-{p}.rdb"))))
            .find(|(_, f)| f.exists())
    });
    s.kill9();
    // Gone, or a zombie nobody reaps.
    wait_for("the save child to exit", Duration::from_secs(20), || {
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start().chars().next();
        matches!(state, None | Some('Z' | 'X')).then_some(())
    });
    assert!(!temp.exists(), "{temp:?} left behind");
    assert!(!s.dir.join("dump.rdb").exists());
}

/// A file cut short in place by another program while it is mapped for loading makes
/// reads past its new end fault; the load fails as on a short file and the server
/// serves on.
#[test]
fn an_rdb_file_truncated_while_it_loads_fails_the_load_not_the_server() {
    let dir = populated_dump_dir("20000");
    let s2 = Server::start_in(dir, &[]);
    let mut c1 = s2.raw();
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c1, "DBSIZE"), b":20000\r\n");
    cmd!(c1, "CONFIG", "SET", "key-load-delay", "100");
    cmd!(c1, "CONFIG", "SET", "loading-process-events-interval-bytes", "1024");
    c1.send(b"DEBUG RELOAD NOSAVE\r\n");
    wait_for("the reload to start", Duration::from_secs(10), || {
        let info = cmd!(c2, "INFO", "persistence");
        String::from_utf8_lossy(&info).contains("loading:1\r\n").then_some(())
    });
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(s2.dir.join("dump.rdb"))
        .unwrap();
    f.set_len(4096).unwrap();
    assert_eq!(c1.read(), b"-ERR Error trying to load the RDB dump\r\n");
    assert_eq!(cmd!(c2, "SET", "k", "v"), b"+OK\r\n");
    assert_eq!(cmd!(c2, "GET", "k"), b"$1\r\nv\r\n");
    let log = s2.log();
    assert!(log.contains("truncated by another process"), "{log}");
}

/// Loading a file costs the dataset, not the dataset plus a copy of the file: the
/// process's peak memory at startup stays well under the resident size plus the file.
#[test]
fn loading_an_rdb_file_does_not_hold_a_copy_of_it() {
    let dir = populated_dump_dir("1000000");
    let file = std::fs::metadata(dir.join("dump.rdb")).unwrap().len() / 1024;
    assert!(file > 20_000, "{file} KB");
    let s2 = Server::start_in(dir, &[]);
    let mut c2 = s2.raw();
    assert_eq!(cmd!(c2, "DBSIZE"), b":1000000\r\n");
    let (peak, now) = (status_kb(s2.pid(), "VmHWM:"), status_kb(s2.pid(), "VmRSS:"));
    assert!(peak - now < file / 3, "peak {peak} KB, now {now} KB, file {file} KB");
}

/// A field of /proc/PID/status, in KB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// SAVE (and so SHUTDOWN's save) writes the file as it makes it: a dataset is never
/// held twice in memory while it is saved, however big it is.
#[test]
fn a_foreground_save_does_not_hold_a_copy_of_the_file() {
    let s = Server::start();
    let mut c = s.raw().patient(120);
    // Values that LZF cannot shrink: the file is about as big as the data.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..300 {
        let v: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(cmd!(c, "SET", format!("big:{i}"), v), b"+OK\r\n");
    }
    assert_eq!(cmd!(c, "DEBUG", "POPULATE", "200000", "key", "100"), b"+OK\r\n");
    let before = status_kb(s.pid(), "VmRSS:");
    // Writing 5 resets the peak to the current resident size.
    std::fs::write(format!("/proc/{}/clear_refs", s.pid()), "5").unwrap();
    assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
    let file = std::fs::metadata(s.dir.join("dump.rdb")).unwrap().len() / 1024;
    assert!(file > 30_000, "{file} KB");
    let peak = status_kb(s.pid(), "VmHWM:");
    assert!(
        peak - before < file / 4,
        "peak {peak} KB, before {before} KB, file {file} KB"
    );
    // And the file is whole: a restart loads every key back.
    let dir = temp_dir();
    std::fs::copy(s.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    let s2 = Server::start_in(dir, &[]);
    assert_eq!(cmd!(s2.raw(), "DBSIZE"), b":200300\r\n");
}

/// SAVE hands a big stream, list, hash, set or sorted set on a piece at a time as it
/// makes it (after each stream or list node, each dict element): the value never sits
/// whole in a buffer, and the file, checksummed across the pieces, loads back the same.
#[test]
fn big_values_are_saved_a_piece_at_a_time() {
    let s = Server::start();
    let mut c = s.raw().patient(120);
    let fill = "for i = 1, tonumber(ARGV[1]) do local h = redis.sha1hex(tostring(i)) \
        redis.call('XADD', 's', '*', 'h', h, 'n', i) redis.call('RPUSH', 'l', h) \
        if i <= 30000 then redis.call('HSET', 'h', h, i) redis.call('SADD', 'set', h) \
        redis.call('ZADD', 'z', i, h) end end return redis.call('XLEN', 's')";
    assert_eq!(cmd!(c, "EVAL", fill, "0", "250000"), b":250000\r\n");
    let kb = |c: &mut Raw, key: &str| {
        let usage = cmd!(c, "MEMORY", "USAGE", key);
        String::from_utf8_lossy(&usage[1..]).trim().parse::<u64>().unwrap() / 1024
    };
    let (stream_kb, list_kb) = (kb(&mut c, "s"), kb(&mut c, "l"));
    assert!(stream_kb > 10_000 && list_kb > 10_000, "{stream_kb} KB, {list_kb} KB");
    let digest = cmd!(c, "DEBUG", "DIGEST");
    let before = status_kb(s.pid(), "VmRSS:");
    std::fs::write(format!("/proc/{}/clear_refs", s.pid()), "5").unwrap();
    assert_eq!(cmd!(c, "SAVE"), b"+OK\r\n");
    let peak = status_kb(s.pid(), "VmHWM:");
    assert!(
        peak - before < stream_kb.min(list_kb) / 2,
        "peak {peak} KB, before {before} KB, stream {stream_kb} KB, list {list_kb} KB"
    );
    let dir = temp_dir();
    std::fs::copy(s.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    let s2 = Server::start_in(dir, &[]);
    let mut c2 = s2.raw().patient(60);
    assert_eq!(cmd!(c2, "DEBUG", "DIGEST"), digest);
    assert_eq!(cmd!(c2, "HLEN", "h"), b":30000\r\n");
    assert_eq!(cmd!(c2, "XLEN", "s"), b":250000\r\n");
    assert_eq!(cmd!(c2, "LINDEX", "l", "-1"), cmd!(c, "LINDEX", "l", "-1"));
}
