//! Interop with the real Redis tools (`redis-cli`, `redis-benchmark`). Ignored in a
//! plain `cargo test` (the tools may be absent); `.ci/run` installs them and runs these.
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cmd;
use crate::harness::{info_u64, wait_for, Server};

#[test]
#[ignore]
fn redis_cli_commands_and_pipe() {
    let s = Server::start();
    let port = s.port.to_string();
    let out = Command::new("redis-cli")
        .args(["-p", &port, "SET", "a", "hello"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let mut child = Command::new("redis-cli")
        .args(["-p", &port, "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!(
            "*3\r\n$3\r\nSET\r\n${}\r\nk{i}\r\n$1\r\nv\r\n",
            format!("k{i}").len()
        ));
    }
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 1000"), "{text}");
    let mut c = s.raw();
    assert_eq!(cmd!(c, "DBSIZE"), b":1001\r\n");
}

#[test]
#[ignore]
fn redis_benchmark_runs_without_errors() {
    let s = Server::start();
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &s.port.to_string(),
            "-t",
            "ping,set,get,incr,mset",
            "-P",
            "16",
            "-q",
            "-n",
            "20000",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for t in ["PING_INLINE", "SET", "GET", "INCR", "MSET"] {
        assert!(text.contains(t), "{t} missing in {text}");
    }
    assert!(!text.to_lowercase().contains("error"), "{text}");
}

/// A deterministic xorshift stream (tests must be reproducible).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Sends the same command to both servers and returns both replies.
fn both(a: &mut crate::harness::Raw, b: &mut crate::harness::Raw, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
    (a.cmd(args), b.cmd(args))
}

#[test]
#[ignore]
fn hll_bytes_and_counts_match_redis() {
    let ours = Server::start();
    let theirs = Server::start_reference();
    let (mut a, mut b) = (ours.raw(), theirs.raw());
    let mut rng = Rng(0x2545f4914f6cdd1d);
    // 1,000,000 elements in PFADDs of 1,000; after each, PFCOUNT and the raw bytes.
    for batch in 0..1000 {
        let elems: Vec<String> = (0..1000).map(|_| format!("el:{}", rng.next() % 5_000_000)).collect();
        let mut args: Vec<&[u8]> = vec![b"PFADD", b"hll"];
        args.extend(elems.iter().map(|e| e.as_bytes()));
        let (x, y) = both(&mut a, &mut b, &args);
        assert_eq!(x, y, "PFADD reply, batch {batch}");
        let (x, y) = both(&mut a, &mut b, &[b"PFCOUNT", b"hll"]);
        assert_eq!(x, y, "PFCOUNT, batch {batch}");
        let (x, y) = both(&mut a, &mut b, &[b"GET", b"hll"]);
        assert!(x == y, "HLL bytes differ after batch {batch}");
    }
    // Small HLLs stay sparse: their bytes must match too, then merged.
    for k in 0..50 {
        let key = format!("small{k}");
        for _ in 0..(k * 7) {
            let e = format!("{}", rng.next());
            both(&mut a, &mut b, &[b"PFADD", key.as_bytes(), e.as_bytes()]);
        }
        let (x, y) = both(&mut a, &mut b, &[b"GET", key.as_bytes()]);
        assert_eq!(x, y, "sparse bytes of {key}");
    }
    let (x, y) = both(
        &mut a,
        &mut b,
        &[b"PFMERGE", b"merged", b"small3", b"small40", b"small49"],
    );
    assert_eq!(x, y);
    let (x, y) = both(&mut a, &mut b, &[b"GET", b"merged"]);
    assert_eq!(x, y, "merged bytes");
    let (x, y) = both(&mut a, &mut b, &[b"PFCOUNT", b"small1", b"small20", b"hll"]);
    assert_eq!(x, y, "multi-key PFCOUNT");
}

#[test]
#[ignore]
fn geo_scores_hashes_and_positions_match_redis() {
    let ours = Server::start();
    let theirs = Server::start_reference();
    let (mut a, mut b) = (ours.raw(), theirs.raw());
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut names = Vec::new();
    for chunk in 0..100 {
        let mut args: Vec<Vec<u8>> = vec![b"GEOADD".to_vec(), b"pts".to_vec()];
        for i in 0..100 {
            let lon = rng.unit() * 360.0 - 180.0;
            let lat = rng.unit() * 170.10225756 - 85.05112878;
            let name = format!("p{}", chunk * 100 + i);
            args.push(format!("{lon:.9}").into_bytes());
            args.push(format!("{lat:.9}").into_bytes());
            args.push(name.clone().into_bytes());
            names.push(name);
        }
        let refs: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
        let (x, y) = both(&mut a, &mut b, &refs);
        assert_eq!(x, y, "GEOADD reply");
    }
    let (x, y) = both(&mut a, &mut b, &[b"ZRANGE", b"pts", b"0", b"-1", b"WITHSCORES"]);
    assert!(x == y, "scores differ");
    for chunk in names.chunks(500) {
        for cmd in [b"GEOHASH".as_slice(), b"GEOPOS".as_slice()] {
            let mut args: Vec<&[u8]> = vec![cmd, b"pts"];
            args.extend(chunk.iter().map(|n| n.as_bytes()));
            let (x, y) = both(&mut a, &mut b, &args);
            assert!(x == y, "{} differs", String::from_utf8_lossy(cmd));
        }
    }
    // Searches return the same members, distances and order.
    for _ in 0..200 {
        let lon = format!("{:.6}", rng.unit() * 360.0 - 180.0);
        let lat = format!("{:.6}", rng.unit() * 150.0 - 75.0);
        let radius = format!("{}", 1 + rng.next() % 3000);
        let args: [&[u8]; 10] = [
            b"GEOSEARCH",
            b"pts",
            b"FROMLONLAT",
            lon.as_bytes(),
            lat.as_bytes(),
            b"BYRADIUS",
            radius.as_bytes(),
            b"km",
            b"ASC",
            b"WITHDIST",
        ];
        let (x, y) = both(&mut a, &mut b, &args);
        assert!(x == y, "GEOSEARCH around {lon},{lat} r={radius}km differs");
    }
}

/// Same dataset (every type and encoding, small and big, with TTLs) written by a real
/// redis-server: ferrodis loads its dump.rdb with the same DEBUG DIGEST and encodings.
#[test]
#[ignore]
fn redis_rdb_loads_in_ferrodis_with_the_same_digest() {
    use crate::persist::{digest, encodings, populate, stream_state};
    let r = Server::start_reference();
    let mut rc = r.raw();
    populate(&mut rc);
    let want = digest(&mut rc);
    let enc = encodings(&mut rc);
    let streams = stream_state(&mut rc);
    assert_eq!(cmd!(rc, "SAVE"), b"+OK\r\n");
    let dir = crate::harness::temp_dir();
    std::fs::copy(r.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    let f = Server::start_in(dir, &[]);
    let mut fc = f.raw();
    assert_eq!(digest(&mut fc), want);
    assert_eq!(encodings(&mut fc), enc);
    assert_eq!(stream_state(&mut fc), streams);
    // DUMP payloads cross over too.
    for k in crate::persist::KEYS {
        let p = cmd!(rc, "DUMP", k);
        let body = &p[p.iter().position(|&b| b == b'\n').unwrap() + 1..p.len() - 2];
        assert_eq!(cmd!(fc, "RESTORE", format!("{k}:r"), "0", body), b"+OK\r\n", "{k}");
    }
}

/// The reverse: ferrodis's dump.rdb passes redis-check-rdb and loads in redis-server
/// with the same digest.
#[test]
#[ignore]
fn ferrodis_rdb_loads_in_redis_with_the_same_digest() {
    use crate::persist::{digest, encodings, populate, stream_state};
    let f = Server::start();
    let mut fc = f.raw();
    populate(&mut fc);
    let want = digest(&mut fc);
    let enc = encodings(&mut fc);
    let streams = stream_state(&mut fc);
    assert_eq!(cmd!(fc, "SAVE"), b"+OK\r\n");
    let check = Command::new("redis-check-rdb")
        .arg(f.dir.join("dump.rdb"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && text.contains("RDB looks OK!"), "{text}");
    let dir = crate::harness::temp_dir();
    std::fs::copy(f.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
    let r = Server::start_reference_in(dir, &[]);
    let mut rc = r.raw();
    assert_eq!(digest(&mut rc), want);
    assert_eq!(encodings(&mut rc), enc);
    assert_eq!(stream_state(&mut rc), streams);
    for k in crate::persist::KEYS {
        let p = cmd!(fc, "DUMP", k);
        let body = &p[p.iter().position(|&b| b == b'\n').unwrap() + 1..p.len() - 2];
        assert_eq!(cmd!(rc, "RESTORE", format!("{k}:f"), "0", body), b"+OK\r\n", "{k}");
    }
}

/// Writes to an AOF-enabled server: the whole dataset, a rewrite, then more commands
/// that propagate as something else (so the files hold a base and an incr part).
fn aof_workload(c: &mut crate::harness::Raw) {
    crate::persist::populate(c);
    assert!(cmd!(c, "BGREWRITEAOF").starts_with(b"+Background append only file rewriting"));
    wait_for("rewrite", Duration::from_secs(20), || {
        let info = String::from_utf8_lossy(&cmd!(c, "INFO", "persistence")).into_owned();
        info.contains("aof_rewrite_in_progress:0").then_some(())
    });
    cmd!(c, "SADD", "after:set", "a", "b", "c", "d");
    cmd!(c, "SPOP", "after:set");
    cmd!(c, "EXPIRE", "str:emb", "5000");
    cmd!(c, "INCRBYFLOAT", "after:f", "3.5");
    cmd!(c, "SET", "after:ex", "v", "EX", "9000");
    cmd!(c, "MULTI");
    cmd!(c, "LPUSH", "after:l", "x");
    cmd!(c, "SELECT", "5");
    cmd!(c, "INCR", "after:n");
    cmd!(c, "EXEC");
    cmd!(c, "SELECT", "0");
}

/// ferrodis's multi-part AOF (RDB and command bases) passes redis-check-aof and loads
/// in redis-server with the same digest; Redis's loads in ferrodis the same way.
#[test]
#[ignore]
fn aof_directories_interchange_with_redis() {
    use crate::persist::digest;
    for preamble in ["yes", "no"] {
        let opts = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
        let f = Server::start_with(&opts);
        let mut fc = f.raw();
        aof_workload(&mut fc);
        let want = digest(&mut fc);
        let streams = crate::persist::stream_state(&mut fc);
        let check = Command::new("redis-check-aof")
            .arg(f.dir.join("appendonlydir/appendonly.aof.manifest"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&check.stdout);
        assert!(text.contains("All AOF files and manifest are valid"), "{text}");
        let r = Server::start_reference_in(f.copy_dir(), &opts);
        let mut rc = r.raw();
        assert_eq!(digest(&mut rc), want, "ferrodis AOF in redis, preamble {preamble}");
        assert_eq!(crate::persist::stream_state(&mut rc), streams);

        let r = Server::start_reference_in(crate::harness::temp_dir(), &opts);
        let mut rc = r.raw();
        aof_workload(&mut rc);
        let want = digest(&mut rc);
        let streams = crate::persist::stream_state(&mut rc);
        // With appendfsync everysec Redis may hold its AOF buffer back while a
        // background fsync is slow, after replying: wait until it is in the file.
        wait_for("redis's AOF buffer written", Duration::from_secs(20), || {
            let written = info_u64(&mut rc, "persistence", "aof_buffer_length") == 0
                && info_u64(&mut rc, "persistence", "aof_pending_bio_fsync") == 0;
            written.then_some(())
        });
        let f = Server::start_in(r.copy_dir(), &opts);
        let mut fc = f.raw();
        assert_eq!(digest(&mut fc), want, "redis AOF in ferrodis, preamble {preamble}");
        assert_eq!(crate::persist::stream_state(&mut fc), streams);
    }
}

/// The same names with the same descriptions on both servers; every difference listed.
fn assert_same_entries(
    ours: &std::collections::BTreeMap<String, String>,
    redis: &std::collections::BTreeMap<String, String>,
) {
    assert_eq!(ours.keys().collect::<Vec<_>>(), redis.keys().collect::<Vec<_>>());
    let differ: Vec<String> = ours
        .iter()
        .filter(|(k, v)| redis.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}:\n  ours   {v}\n  redis  {}", redis[k]))
        .collect();
    assert!(differ.is_empty(), "{} differ:\n{}", differ.len(), differ.join("\n"));
}

/// A COMMAND reply, canonical: flag, category and tip sets sorted, key spec notes
/// (prose) left out.
fn command_tree(v: &redis::Value) -> String {
    use redis::Value;
    match v {
        Value::Array(items) => {
            let items = match items.first() {
                Some(Value::BulkString(b)) if b == b"notes" => &items[2..],
                _ => &items[..],
            };
            let mut parts: Vec<String> = items.iter().map(command_tree).collect();
            if !items.is_empty() && items.iter().all(|i| matches!(i, Value::SimpleString(_))) {
                parts.sort();
            }
            format!("[{}]", parts.join(","))
        }
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => format!("+{s}"),
        Value::Int(i) => i.to_string(),
        Value::Nil => "nil".into(),
        other => format!("{other:?}"),
    }
}

/// Every command, subcommand, arity, flag, key position, ACL category, tip and key
/// spec COMMAND reports is Redis's: cluster clients and proxies route by them.
#[test]
#[ignore]
fn command_table_matches_redis() {
    let ours = Server::start();
    let theirs = Server::start_reference();
    let entries = |s: &Server| -> std::collections::BTreeMap<String, String> {
        let v: redis::Value = redis::cmd("COMMAND").query(&mut s.client()).unwrap();
        let redis::Value::Array(cmds) = v else { panic!("{v:?}") };
        let mut out = std::collections::BTreeMap::new();
        let mut todo = cmds;
        while let Some(c) = todo.pop() {
            let redis::Value::Array(mut fields) = c else { panic!() };
            // The subcommands are entries of their own.
            if let Some(redis::Value::Array(subs)) = fields.pop() {
                todo.extend(subs);
            }
            let name = command_tree(&fields[0]);
            out.insert(name, command_tree(&redis::Value::Array(fields)));
        }
        out
    };
    let (a, b) = (entries(&ours), entries(&theirs));
    assert_same_entries(&a, &b);
}

/// COMMAND DOCS as `name -> fields`, subcommands as entries of their own, the prose
/// (summary, complexity, history, replaced_by) left out: what tools read from it is
/// the group, the versions, the doc flags and the argument trees.
fn docs_entries(s: &Server) -> std::collections::BTreeMap<String, String> {
    use redis::Value;
    fn walk(pairs: &[Value], out: &mut std::collections::BTreeMap<String, String>) {
        for p in pairs.chunks(2) {
            let (Value::BulkString(name), Value::Array(fields)) = (&p[0], &p[1]) else {
                panic!("{p:?}")
            };
            let mut kept = Vec::new();
            for f in fields.chunks(2) {
                let key = command_tree(&f[0]);
                match key.as_str() {
                    "summary" | "complexity" | "history" | "replaced_by" => {}
                    "subcommands" => {
                        let Value::Array(subs) = &f[1] else { panic!() };
                        walk(subs, out);
                    }
                    _ => kept.push(format!("{key}={}", command_tree(&f[1]))),
                }
            }
            out.insert(String::from_utf8_lossy(name).into_owned(), kept.join(" "));
        }
    }
    let v: Value = redis::cmd("COMMAND").arg("DOCS").query(&mut s.client()).unwrap();
    let Value::Array(pairs) = v else { panic!("{v:?}") };
    let mut out = std::collections::BTreeMap::new();
    walk(&pairs, &mut out);
    out
}

/// Every command's group, versions, doc flags and arguments in COMMAND DOCS are
/// Redis's: redis-cli builds its help and hints from them.
#[test]
#[ignore]
fn command_docs_match_redis() {
    let ours = Server::start();
    let theirs = Server::start_reference();
    let (a, b) = (docs_entries(&ours), docs_entries(&theirs));
    assert_same_entries(&a, &b);
    assert!(a["set"].contains("KEEPTTL"), "{}", a["set"]);
}

/// `redis-cli help @group` prints the same commands with the same arguments for
/// either server (the summaries are our own words).
#[test]
#[ignore]
fn redis_cli_help_matches_redis() {
    let ours = Server::start();
    let theirs = Server::start_reference();
    let help = |s: &Server, group: &str| -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &s.port.to_string(), "help", &format!("@{group}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .filter(|l| !l.contains("summary:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for group in [
        "generic",
        "string",
        "list",
        "set",
        "sorted-set",
        "hash",
        "pubsub",
        "transactions",
        "connection",
        "server",
        "scripting",
        "hyperloglog",
        "cluster",
        "geo",
        "stream",
        "bitmap",
    ] {
        let (a, b) = (help(&ours, group), help(&theirs, group));
        assert!(a.lines().count() > 3, "{group}: {a}");
        assert_eq!(a, b, "redis-cli help @{group}");
    }
}
