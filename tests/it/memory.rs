//! maxmemory over TCP: used_memory tracks the dataset, allkeys-lru keeps memory under
//! the limit and evicts keys not recently used, volatile-* only touch keys with a TTL,
//! noeviction answers -OOM to commands that may grow memory (and to anything queued in
//! MULTI) while reads still work, evictions fire `evicted` events and count in INFO,
//! and OBJECT FREQ reports the LFU counter. Cases follow tests/unit/maxmemory.tcl.
use std::io::Write;

use crate::cmd;
use crate::harness::Server;

fn info_field(c: &mut crate::harness::Raw, section: &str, field: &str) -> u64 {
    let r = String::from_utf8(cmd!(c, "INFO", section)).unwrap();
    let line = r.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
    line.split(':').nth(1).unwrap().trim().parse().unwrap()
}

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
