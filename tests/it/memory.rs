//! maxmemory over TCP: used_memory tracks the dataset, allkeys-lru keeps memory under
//! the limit and evicts keys not recently used, volatile-* only touch keys with a TTL,
//! noeviction answers -OOM to commands that may grow memory (and to anything queued in
//! MULTI) while reads still work, evictions fire `evicted` events and count in INFO,
//! and OBJECT FREQ reports the LFU counter. Cases follow tests/unit/maxmemory.tcl.
use std::io::Write;

use crate::cmd;
use std::time::Duration;

use crate::harness::{info_u64 as info_field, wait_for, Server};

#[test]
fn eviction_keeps_memory_and_hot_keys() {
    let s = Server::start();
    let mut c = s.raw();
    let used = info_field(&mut c, "memory", "used_memory");
    let limit = used + 2 * 1024 * 1024;
    cmd!(c, "CONFIG", "SET", "maxmemory", limit.to_string());
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    cmd!(c, "CONFIG", "SET", "maxmemory-samples", "10");
    let val = "v".repeat(1000);
    for i in 0..10_000 {
        cmd!(c, "SET", format!("k{i}"), val.as_str());
    }
    assert!(info_field(&mut c, "memory", "used_memory") <= limit + 4096);
    assert!(info_field(&mut c, "stats", "evicted_keys") > 5000);
    // The LRU clock ticks in seconds, so within this test only LFU can tell the key
    // read all along from the others.
    cmd!(c, "FLUSHALL");
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
    cmd!(c, "SET", "hot", val.as_str());
    for i in 0..10_000 {
        cmd!(c, "SET", format!("k{i}"), val.as_str());
        if i % 20 == 0 {
            cmd!(c, "GET", "hot");
        }
    }
    assert!(info_field(&mut c, "memory", "used_memory") <= limit + 4096);
    assert_eq!(
        &cmd!(c, "EXISTS", "hot"),
        b":1\r\n",
        "a key read all along survives LFU eviction"
    );
}

#[test]
fn volatile_policy_and_noeviction_refuse_writes() {
    let s = Server::start();
    let mut c = s.raw();
    let used = info_field(&mut c, "memory", "used_memory");
    cmd!(c, "CONFIG", "SET", "maxmemory", (used + 512 * 1024).to_string());
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "volatile-ttl");
    let val = "v".repeat(1000);
    let mut oom = false;
    for i in 0..2000 {
        let r = cmd!(c, "SET", format!("p{i}"), val.as_str());
        if r.starts_with(b"-OOM") {
            assert_eq!(r, b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            oom = true;
            break;
        }
    }
    assert!(oom, "volatile-ttl cannot evict keys without a TTL");
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), 0);
    // Reads and deletes still work; queued commands are refused too.
    assert_eq!(&cmd!(c, "GET", "p0")[..5], b"$1000");
    assert_eq!(cmd!(c, "MULTI"), b"+OK\r\n");
    assert!(cmd!(c, "GET", "p0").starts_with(b"-OOM"));
    assert_eq!(&cmd!(c, "EXEC")[..10], b"-EXECABORT");
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "noeviction");
    assert!(cmd!(c, "LPUSH", "l", "x").starts_with(b"-OOM"));
    cmd!(c, "CONFIG", "SET", "maxmemory", "0");
    assert_eq!(cmd!(c, "LPUSH", "l", "x"), b":1\r\n");
}

/// A key's TTL lives in its entry, with only the key's hash in the index of keys
/// with one: a TTL costs a small string key under 30 bytes (about 53 when the index
/// held a copy of each key; Redis spends about 40). Volatile eviction finds the keys
/// with a TTL through that index, and a reload keeps every time.
#[test]
fn a_ttl_costs_a_key_few_bytes_and_volatile_eviction_finds_it() {
    let s = Server::start();
    let mut con = s.client();
    let mut c = s.raw();
    const N: u64 = 20_000;
    let mut fill = |ttl: bool| {
        let base = info_field(&mut c, "memory", "used_memory");
        let mut p = redis::pipe();
        for i in 0..N {
            // Values of every length up to 32, so allocation size classes average out.
            let set = p.cmd("SET").arg(format!("key:{i}")).arg("v".repeat(i as usize % 33));
            if ttl {
                set.arg("EX").arg(1000 + i);
            }
            set.ignore();
        }
        p.query::<()>(&mut con).unwrap();
        let used = info_field(&mut c, "memory", "used_memory") - base;
        cmd!(c, "FLUSHALL");
        used
    };
    let plain = fill(false);
    let with_ttl = fill(true);
    let per_key = (with_ttl as f64 - plain as f64) / N as f64;
    assert!(per_key < 30.0, "a TTL costs {per_key:.1} bytes a key");

    let mut p = redis::pipe();
    for i in 0..N {
        p.cmd("SET").arg(format!("plain:{i}")).arg("v".repeat(100)).ignore();
        p.cmd("SET")
            .arg(format!("ttl:{i}"))
            .arg("v".repeat(100))
            .arg("PXAT")
            .arg(4_000_000_000_000u64 + i)
            .ignore();
    }
    p.query::<()>(&mut con).unwrap();
    assert_eq!(cmd!(c, "DEBUG", "RELOAD"), b"+OK\r\n");
    assert_eq!(cmd!(c, "PEXPIRETIME", "ttl:7"), b":4000000000007\r\n");
    assert_eq!(cmd!(c, "PEXPIRETIME", "plain:7"), b":-1\r\n");
    let used = info_field(&mut c, "memory", "used_memory");
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "volatile-lru");
    let limit = used - 1024 * 1024;
    cmd!(c, "CONFIG", "SET", "maxmemory", limit.to_string());
    assert_eq!(cmd!(c, "SET", "one-more", "v"), b"+OK\r\n");
    // Eviction goes on in time-bounded slices after the command that began it.
    wait_for("eviction to reach the limit", Duration::from_secs(10), || {
        (info_field(&mut c, "memory", "used_memory") <= limit).then_some(())
    });
    cmd!(c, "CONFIG", "SET", "maxmemory", "0");
    let evicted = info_field(&mut c, "stats", "evicted_keys");
    assert!(evicted > 100, "{evicted}");
    let keyspace = String::from_utf8(cmd!(c, "INFO", "keyspace")).unwrap();
    let want = format!("db0:keys={},expires={},", 2 * N + 1 - evicted, N - evicted);
    assert!(keyspace.contains(&want), "{keyspace}");
    for i in (0..N).step_by(997) {
        assert_eq!(
            cmd!(c, "EXISTS", format!("plain:{i}")),
            b":1\r\n",
            "only keys with a TTL go"
        );
    }
}

#[test]
fn evicted_event_and_lfu_counter() {
    let s = Server::start();
    let mut c = s.raw();
    let mut sub = s.raw();
    cmd!(c, "CONFIG", "SET", "notify-keyspace-events", "Ee");
    cmd!(sub, "PSUBSCRIBE", "*");
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
    cmd!(c, "SET", "foo", "bar");
    for _ in 0..100 {
        cmd!(c, "GET", "foo");
    }
    let freq = String::from_utf8(cmd!(c, "OBJECT", "FREQ", "foo")).unwrap();
    let f: u64 = freq.trim_start_matches(':').trim().parse().unwrap();
    assert!(f > 5 && f < 255, "{f}");
    cmd!(c, "CONFIG", "SET", "maxmemory", "1");
    assert_eq!(
        sub.read(),
        b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$22\r\n__keyevent@0__:evicted\r\n$3\r\nfoo\r\n"
    );
    cmd!(c, "CONFIG", "SET", "maxmemory", "0");
}

#[test]
fn maxmemory_clients_evicts_the_biggest_clients() {
    // Ported from tests/unit/client-eviction.tcl "client evicted due to large query buf"
    // and "client no-evict on".
    let s = Server::start_with(&["--maxmemory-clients", "1mb"]);
    let mut c = s.raw();
    assert_eq!(cmd!(c, "CLIENT", "NO-EVICT", "on"), b"+OK\r\n");
    let mut big = s.raw();
    // Most of an argument of 2 MB: the query buffer alone passes the limit. The server
    // may drop the connection while this is still being written.
    let _ = big.s.write_all(b"*1\r\n$2000000\r\n");
    let _ = big.s.write_all(&vec![b'v'; 1_500_000]);
    // Closed: an end of stream, or a reset (the server closed with input unread).
    let mut tmp = [0u8; 1024];
    let gone = loop {
        match std::io::Read::read(&mut big.s, &mut tmp) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) => break e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    };
    assert!(gone);
    let info = String::from_utf8_lossy(&cmd!(c, "INFO", "stats")).into_owned();
    assert!(info.contains("evicted_clients:1\r\n"), "{info}");
    // The exempt client may hold more than the limit.
    c.send(b"*1\r\n$2000000\r\n");
    c.send(&vec![b'v'; 1_500_000]);
    let mut other = s.raw();
    let list = String::from_utf8_lossy(&cmd!(other, "CLIENT", "LIST")).into_owned();
    assert!(list.contains("flags=e"), "{list}");
}

/// A big value in a reply with small ones after it (MGET) takes about its own size in
/// the client's output, not twice it: under `maxmemory-clients 48mb` a 30 MB value
/// reaches the client that asked for it, as with Redis.
#[test]
fn a_big_value_in_a_reply_takes_about_its_size() {
    let s = Server::start_with(&["--maxmemory-clients", "48mb"]);
    let mut c = s.raw();
    // The writer is not counted (its query buffer held the 30 MB argument).
    assert_eq!(cmd!(c, "CLIENT", "NO-EVICT", "on"), b"+OK\r\n");
    let big = vec![b'v'; 30 << 20];
    assert_eq!(c.cmd(&[b"SET", b"big", &big]), b"+OK\r\n");
    cmd!(c, "SET", "small", "s");
    let mut r = s.raw();
    r.send_cmd(&[b"MGET", b"big", b"small", b"small"]);
    let mut want = format!("*3\r\n${}\r\n", big.len()).into_bytes();
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n$1\r\ns\r\n$1\r\ns\r\n");
    let mut got = Vec::with_capacity(want.len());
    let mut tmp = vec![0u8; 1 << 20];
    while got.len() < want.len() {
        match std::io::Read::read(&mut r.s, &mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&tmp[..n]),
        }
    }
    assert!(got == want, "{} of {} bytes", got.len(), want.len());
    assert_eq!(info_field(&mut c, "stats", "evicted_clients"), 0);
}

#[test]
fn a_client_evicted_for_its_argument_is_gone_before_the_next_command() {
    // Ported from tests/unit/client-eviction.tcl "client evicted due to percentage of
    // maxmemory": a big argument counts whole from its first bytes, and the client it
    // evicts is not listed by the next command anyone runs.
    let s = Server::start();
    let limit = 6 * 1024 * 1024 * 7 / 100;
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "maxmemory", "6mb");
    cmd!(c, "CONFIG", "SET", "maxmemory-clients", "7%");
    for i in 0..100 {
        let mut big = s.raw();
        let name = format!("big{i}");
        cmd!(big, "CLIENT", "SETNAME", name.as_str());
        let mut req = format!("*1\r\n${limit}\r\n").into_bytes();
        req.resize(req.len() + limit, b'v');
        // The server may drop the connection while this is still being written.
        let _ = big.s.write_all(&req);
        let list = String::from_utf8_lossy(&cmd!(c, "CLIENT", "LIST")).into_owned();
        assert!(!list.contains(&format!("name={name} ")), "{list}");
    }
    let info = String::from_utf8_lossy(&cmd!(c, "INFO", "stats")).into_owned();
    assert!(info.contains("evicted_clients:100\r\n"), "{info}");
}

#[test]
fn invalidation_messages_to_tracking_clients_do_not_feed_eviction() {
    // Ported from tests/unit/maxmemory.tcl "client tracking don't cause eviction
    // feedback loop": every evicted key sends an invalidation to ten clients, which
    // costs more than the key freed; once written to their sockets that memory must be
    // back, or each eviction round triggers a bigger one.
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    cmd!(c, "CONFIG", "SET", "maxmemory-eviction-tenacity", "100");
    let mut trackers: Vec<_> = (0..10).map(|_| s.raw()).collect();
    for t in &mut trackers {
        cmd!(t, "HELLO", "3");
        assert_eq!(cmd!(t, "CLIENT", "TRACKING", "on"), b"+OK\r\n");
    }
    for j in 0..300 {
        let key = format!("{j}{}", "x".repeat(1000));
        cmd!(c, "SET", key.as_str(), "x");
        for t in &mut trackers {
            assert_eq!(cmd!(t, "GET", key.as_str()), b"$1\r\nx\r\n");
        }
    }
    let used = info_field(&mut c, "memory", "used_memory");
    cmd!(c, "CONFIG", "SET", "maxmemory", (used - 40_000).to_string());
    let evicted = info_field(&mut c, "stats", "evicted_keys");
    let dbsize: u64 = String::from_utf8(cmd!(c, "DBSIZE")).unwrap()[1..]
        .trim()
        .parse()
        .unwrap();
    assert!((200..=300).contains(&dbsize), "{dbsize} keys left");
    assert!((10..=50).contains(&evicted), "{evicted} keys evicted");
    for t in &mut trackers {
        assert!(t.read().starts_with(b">2\r\n$10\r\ninvalidate\r\n"));
    }
}

/// MEMORY STATS gives Redis's fields in Redis's order, with a section per database
/// that has keys, and figures that add up.
#[test]
fn memory_usage_estimates_big_collections_from_samples() {
    let s = Server::start();
    let mut c = s.client();
    let mut usage = |key: &str, samples: Option<i64>| -> i64 {
        let mut q = redis::cmd("MEMORY");
        q.arg("USAGE").arg(key);
        if let Some(n) = samples {
            q.arg("SAMPLES").arg(n);
        }
        q.query(&mut c).unwrap()
    };
    let mut r = s.client();
    // 999 values of 20 bytes and one of 100 KB: only a look at every element (SAMPLES 0)
    // counts the big one once; five or one samples scale what they saw up to 1,000.
    for (key, kind) in [("h", "HSET"), ("s", "SADD"), ("z", "ZADD")] {
        for i in 0..999 {
            let v = format!("{i:020}");
            let mut q = redis::cmd(kind);
            q.arg(key);
            match kind {
                "HSET" => q.arg(format!("f{i}")).arg(v),
                "SADD" => q.arg(v),
                _ => q.arg(i).arg(v),
            };
            let _: () = q.query(&mut r).unwrap();
        }
        let big = "x".repeat(100_000);
        let mut q = redis::cmd(kind);
        q.arg(key);
        match kind {
            "HSET" => q.arg("big").arg(&big),
            "SADD" => q.arg(&big),
            _ => q.arg(1000).arg(&big),
        };
        let _: () = q.query(&mut r).unwrap();
        let all = usage(key, Some(0));
        assert!((100_000..400_000).contains(&all), "{key}: {all}");
        let one = usage(key, Some(1));
        assert_ne!(one, all, "{key}");
        if key != "z" {
            // (A sorted set's ranked tree, walked whole, holds a second copy of each member.)
            let between = (100_000..=10_000_000).contains(&one);
            assert!(!between, "{key}: one sample gave {one}, all {all}");
        }
        assert_eq!(usage(key, None), usage(key, Some(5)), "{key}");
    }
}

#[test]
fn memory_stats_has_redis_fields() {
    let s = Server::start();
    let mut c = s.client();
    for i in 0..1000 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg("v").query(&mut c).unwrap();
    }
    let _: () = redis::cmd("EXPIRE").arg("k1").arg(100).query(&mut c).unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("other").arg("v").query(&mut c).unwrap();
    let v: Vec<redis::Value> = redis::cmd("MEMORY").arg("STATS").query(&mut c).unwrap();
    let name = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("{other:?}"),
    };
    let names: Vec<String> = v.iter().step_by(2).map(name).collect();
    let expected = "peak.allocated total.allocated startup.allocated replication.backlog clients.slaves \
        clients.normal cluster.links aof.buffer lua.caches functions.caches db.0 db.3 overhead.total \
        keys.count keys.bytes-per-key dataset.bytes dataset.percentage peak.percentage allocator.allocated \
        allocator.active allocator.resident allocator-fragmentation.ratio allocator-fragmentation.bytes \
        allocator-rss.ratio allocator-rss.bytes rss-overhead.ratio rss-overhead.bytes fragmentation \
        fragmentation.bytes";
    assert_eq!(names.join(" "), expected);
    let field = |n: &str| v[names.iter().position(|x| x == n).unwrap() * 2 + 1].clone();
    let int = |n: &str| match field(n) {
        redis::Value::Int(i) => i,
        other => panic!("{n}: {other:?}"),
    };
    assert_eq!(int("keys.count"), 1001);
    assert!(int("total.allocated") >= int("startup.allocated"));
    assert!(int("overhead.total") > int("startup.allocated"));
    assert_eq!(int("dataset.bytes"), int("total.allocated") - int("overhead.total"));
    let redis::Value::Array(db0) = field("db.0") else {
        panic!()
    };
    let db0: Vec<String> = db0
        .iter()
        .map(|x| match x {
            redis::Value::Int(i) => i.to_string(),
            other => name(other),
        })
        .collect();
    assert_eq!(db0[0], "overhead.hashtable.main");
    assert_eq!(db0[2], "overhead.hashtable.expires");
    // Both tables of db 0 hold something: its keys, and one expiry.
    assert!(db0[1] != "0" && db0[3] != "0", "{db0:?}");
    let pct = name(&field("dataset.percentage")).parse::<f64>().unwrap();
    assert!(pct > 0.0 && pct <= 100.0, "{pct}");
    // INFO's overhead is the same account: more than the startup memory once the
    // keyspace tables hold keys.
    let info: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let get = |f: &str| -> i64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{f}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    assert!(get("used_memory_overhead") > get("used_memory_startup"), "{info}");
    assert_eq!(
        get("used_memory_dataset"),
        get("used_memory") - get("used_memory_overhead")
    );
    // The allocator's own report.
    let report: String = redis::cmd("MEMORY").arg("MALLOC-STATS").query(&mut c).unwrap();
    assert!(report.starts_with("___ Begin jemalloc statistics ___"), "{report}");
    assert!(report.contains("Allocated: "), "{report}");
}

/// The allocator's active bytes over its allocated bytes (INFO allocator_frag_ratio,
/// unrounded).
fn allocator_frag(c: &mut crate::harness::Raw) -> f64 {
    let active = info_field(c, "memory", "allocator_active") as f64;
    active / info_field(c, "memory", "allocator_allocated") as f64
}

/// CONFIG SET of each (name, value), each answered +OK.
fn config_set_each(c: &mut crate::harness::Raw, settings: &[(&str, &str)]) {
    for (k, v) in settings {
        assert_eq!(cmd!(c, "CONFIG", "SET", k, v), b"+OK\r\n");
    }
}

#[test]
fn active_defrag_gives_back_sparse_slabs_and_keeps_every_value() {
    let s = Server::start_with(&["--hz", "100"]);
    let mut con = s.client();
    let mut c = s.raw();
    // Big values of every kind, walked in steps of their own (more elements than
    // active-defrag-max-scan-fields), with their blocks interleaved with strings.
    cmd!(c, "CONFIG", "SET", "list-max-listpack-size", "4");
    cmd!(c, "CONFIG", "SET", "stream-node-max-entries", "4");
    let val = "x".repeat(150);
    let mut p = redis::pipe();
    for i in 0..120_000 {
        p.cmd("SET").arg(format!("k{i}")).arg(&val).ignore();
        if i % 40 == 0 {
            let m = format!("member:{i}:{}", "m".repeat(40));
            p.cmd("HSET").arg("hash").arg(&m).arg(i).ignore();
            p.cmd("RPUSH").arg("list").arg(&m).ignore();
            p.cmd("ZADD").arg("zset").arg(i).arg(&m).ignore();
            p.cmd("SADD").arg("set").arg(&m).ignore();
            p.cmd("XADD")
                .arg("stream")
                .arg(format!("{}-1", i + 1))
                .arg("f")
                .arg(&m)
                .ignore();
            p.cmd("SET").arg(format!("ttl{i}")).arg(&m).arg("EX").arg(1000).ignore();
        }
    }
    p.query::<()>(&mut con).unwrap();
    let mut p = redis::pipe();
    for i in (0..120_000).step_by(2) {
        p.cmd("DEL").arg(format!("k{i}")).ignore();
    }
    p.query::<()>(&mut con).unwrap();
    let digest = cmd!(c, "DEBUG", "DIGEST");
    // INFO's allocator figures are sampled every 100 ms, as Redis's are.
    let before = wait_for(
        "deleting every other string to leave slabs half empty",
        Duration::from_secs(5),
        || Some(allocator_frag(&mut c)).filter(|&f| f > 1.3),
    );

    config_set_each(
        &mut c,
        &[
            ("active-defrag-ignore-bytes", "1mb"),
            ("active-defrag-threshold-lower", "5"),
            ("active-defrag-cycle-min", "50"),
            ("active-defrag-cycle-max", "75"),
            ("active-defrag-max-scan-fields", "100"),
            ("activedefrag", "yes"),
        ],
    );
    wait_for("a defrag pass to start", Duration::from_secs(10), || {
        (info_field(&mut c, "memory", "active_defrag_running") > 0).then_some(())
    });
    wait_for("the defrag passes to end", Duration::from_secs(60), || {
        (info_field(&mut c, "memory", "active_defrag_running") == 0).then_some(())
    });
    wait_for(
        &format!("fragmentation {before:.2} to fall under 1.1"),
        Duration::from_secs(5),
        || Some(allocator_frag(&mut c)).filter(|&f| f < 1.1),
    );
    assert!(info_field(&mut c, "stats", "active_defrag_hits") > 10_000);
    assert!(info_field(&mut c, "stats", "active_defrag_key_hits") > 1_000);
    assert_eq!(cmd!(c, "DEBUG", "DIGEST"), digest, "moving blocks changes no value");
    assert_eq!(
        cmd!(c, "GET", "k1"),
        format!("${}\r\n{val}\r\n", val.len()).into_bytes()
    );
    let ttl = String::from_utf8(cmd!(c, "TTL", "ttl40")).unwrap();
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
    assert!((900..=1000).contains(&ttl), "the expiry table survives: {ttl}");
    assert_eq!(cmd!(c, "XLEN", "stream"), b":3000\r\n");
    // Turned off mid-way or not, the counters stay and the pass is forgotten.
    assert_eq!(cmd!(c, "CONFIG", "SET", "activedefrag", "no"), b"+OK\r\n");
    assert_eq!(cmd!(c, "CONFIG", "RESETSTAT"), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "stats", "active_defrag_hits"), 0);
}

/// Members moved by active defragmentation (a big sorted set's, which its ranked tree
/// points at, and a big set's) are freed once and found where they went: the set stays
/// whole, its members' scores answer, and the server lives on.
#[test]
fn members_moved_by_active_defrag_stay_whole() {
    let s = Server::start_with(&["--hz", "100"]);
    let mut con = s.client();
    let mut c = s.raw();
    let member = |n: u32| format!("member:{n:08}:padding-padding");
    let mut p = redis::pipe();
    for n in 0..200_000u32 {
        p.cmd("ZADD").arg("z").arg(n).arg(member(n)).ignore();
        p.cmd("SADD").arg("s").arg(member(n)).ignore();
        p.cmd("SET").arg(format!("k{n}")).arg("v".repeat(40)).ignore();
    }
    p.query::<()>(&mut con).unwrap();
    let mut p = redis::pipe();
    for n in (1..200_000u32).step_by(2) {
        p.cmd("ZREM").arg("z").arg(member(n)).ignore();
        p.cmd("SREM").arg("s").arg(member(n)).ignore();
        p.cmd("DEL").arg(format!("k{n}")).ignore();
    }
    p.query::<()>(&mut con).unwrap();
    config_set_each(
        &mut c,
        &[
            ("active-defrag-ignore-bytes", "1mb"),
            ("active-defrag-threshold-lower", "5"),
            ("active-defrag-cycle-min", "50"),
            ("active-defrag-cycle-max", "90"),
            ("activedefrag", "yes"),
        ],
    );
    wait_for("50,000 blocks moved", Duration::from_secs(60), || {
        (info_field(&mut c, "stats", "active_defrag_hits") > 50_000).then_some(())
    });
    assert_eq!(cmd!(c, "CONFIG", "SET", "activedefrag", "no"), b"+OK\r\n");
    let all: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("z")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .unwrap();
    assert_eq!(all.len(), 100_000);
    for (i, (m, sc)) in all.iter().enumerate() {
        assert_eq!((m.as_str(), *sc), (member(2 * i as u32).as_str(), (2 * i) as f64));
    }
    let mut p = redis::pipe();
    for n in (0..200_000u32).step_by(2) {
        p.cmd("ZSCORE").arg("z").arg(member(n));
        p.cmd("SISMEMBER").arg("s").arg(member(n));
    }
    let got: Vec<(f64, bool)> = p.query(&mut con).unwrap();
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, &(sc, here))| sc == (2 * i) as f64 && here));
    // Moved members change like any others.
    assert_eq!(
        cmd!(c, "ZINCRBY", "z", "-1000000", member(199_998)),
        b"$7\r\n-800002\r\n"
    );
    assert_eq!(
        cmd!(c, "ZRANGE", "z", "0", "0"),
        format!("*1\r\n$31\r\n{}\r\n", member(199_998)).into_bytes()
    );
}

/// A reply of many small elements is cut into chunks as it is written: the client
/// holds about the reply's size (CLIENT LIST tot-mem), not the spare room of a buffer
/// grown by doubling, and the reply arrives whole.
#[test]
fn a_reply_of_many_small_elements_takes_about_its_size() {
    let s = Server::start();
    let mut c = s.raw();
    let v = vec![b'e'; 100];
    let mut push: Vec<&[u8]> = vec![b"RPUSH", b"l"];
    push.extend(std::iter::repeat_n(&v[..], 1000));
    for _ in 0..300 {
        c.cmd(&push);
    }
    let mut want = b"*300000\r\n".to_vec();
    for _ in 0..300_000 {
        want.extend_from_slice(b"$100\r\n");
        want.extend_from_slice(&v);
        want.extend_from_slice(b"\r\n");
    }
    let mut r = s.raw();
    cmd!(r, "CLIENT", "SETNAME", "reader");
    r.send_cmd(&[b"LRANGE", b"l", b"0", b"-1"]);
    let mem: usize = wait_for("the reply to be queued", Duration::from_secs(10), || {
        let list = String::from_utf8_lossy(&cmd!(c, "CLIENT", "LIST")).into_owned();
        let line = list
            .lines()
            .find(|l| l.contains(" name=reader ") && l.contains(" cmd=lrange "))?;
        line.split(' ').find_map(|f| f.strip_prefix("tot-mem="))?.parse().ok()
    });
    assert!(
        mem < want.len() + want.len() / 32,
        "{mem} bytes held for {} bytes",
        want.len()
    );
    assert!(r.read_bytes(want.len()) == want);
}

/// A client whose pipelined commands pile up output is measured before each of them,
/// and evicted once over `maxmemory-clients` before keys are: its output never pushes
/// the dataset out. Redis compat: processCommand evicts clients before keys.
#[test]
fn a_pipeline_piling_up_output_evicts_its_client_before_any_key() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "CLIENT", "NO-EVICT", "on");
    for i in 0..20 {
        cmd!(c, "SETRANGE", format!("k{i}"), "100000", "x");
    }
    let used = info_field(&mut c, "memory", "used_memory");
    cmd!(c, "CONFIG", "SET", "maxmemory", (used + (2 << 20)).to_string());
    cmd!(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    cmd!(c, "CONFIG", "SET", "maxmemory-clients", "1mb");
    let mut r = s.raw();
    // Not read: 30 replies of 100 KB stay in the server once the socket is full.
    r.send(&b"GET k1\r\n".repeat(2000));
    wait_for("the reader to be evicted", Duration::from_secs(10), || {
        (info_field(&mut c, "stats", "evicted_clients") > 0).then_some(())
    });
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), 0);
    assert_eq!(cmd!(c, "DBSIZE"), b":20\r\n");
}

/// Under `maxmemory-clients`, a client is measured before each of its commands: that
/// costs the same however much its transaction has queued (100,000 commands: 0.13 s
/// in a release build; re-counting the queue each time took 15 s).
#[test]
fn a_long_transaction_queues_in_linear_time_under_maxmemory_clients() {
    let s = Server::start_with(&["--maxmemory-clients", "500mb"]);
    let mut c = s.raw();
    let n = 100_000;
    let mut req = b"MULTI\r\n".to_vec();
    req.extend_from_slice(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".repeat(n));
    req.extend_from_slice(b"EXEC\r\n");
    let start = std::time::Instant::now();
    c.send(&req);
    let mut want = b"+OK\r\n".to_vec();
    want.extend_from_slice(&b"+QUEUED\r\n".repeat(n));
    want.extend_from_slice(format!("*{n}\r\n").as_bytes());
    want.extend_from_slice(&b"+OK\r\n".repeat(n));
    assert!(c.read_bytes(want.len()) == want);
    assert!(start.elapsed() < Duration::from_secs(8), "{:?}", start.elapsed());
}
