//! Replication over TCP: a replica syncs the master's dataset, then follows its writes
//! (including stream consumer-group effects), refuses writes of its own, answers
//! INFO/ROLE, and WAIT counts its acknowledgements; REPLICAOF NO ONE makes it a master.
use std::time::Duration;

use crate::cmd;
use crate::harness::{info_u64, wait_for, Server};

fn info_field(c: &mut crate::harness::Raw, field: &str) -> String {
    section_field(c, "replication", field)
}

/// INFO stats: full and partial resynchronizations served.
fn stat(c: &mut crate::harness::Raw, field: &str) -> String {
    section_field(c, "stats", field)
}

fn section_field(c: &mut crate::harness::Raw, section: &str, field: &str) -> String {
    let info = String::from_utf8_lossy(&cmd!(c, "INFO", section)).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

/// Starts ferrodis as a replica of `m`.
fn replica_of(m: &Server) -> Server {
    Server::start_with(&["--replicaof", "127.0.0.1", &m.port.to_string()])
}

/// Polls the replica until `args` answers `want`.
fn wait_reply(c: &mut crate::harness::Raw, args: &[&str], want: &[u8]) {
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    wait_for("replica to catch up", Duration::from_secs(10), || {
        (c.cmd(&argv) == want).then_some(())
    });
}

/// Polls until the replica has applied everything the master produced.
fn wait_offsets(mc: &mut crate::harness::Raw, rc: &mut crate::harness::Raw) {
    wait_for("offsets", Duration::from_secs(10), || {
        (info_field(mc, "master_repl_offset") == info_field(rc, "slave_repl_offset")).then_some(())
    });
}

#[test]
fn replica_syncs_follows_and_refuses_writes() {
    let m = Server::start();
    let mut mc = m.raw();
    cmd!(mc, "SET", "before", "1");
    cmd!(mc, "XADD", "s", "1-1", "f", "v");
    cmd!(mc, "XGROUP", "CREATE", "s", "g", "0");
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_reply(&mut rc, &["GET", "before"], b"$1\r\n1\r\n");
    assert_eq!(info_field(&mut rc, "role"), "slave");
    // PUBLISH reaches the replica's subscribers, from inside MULTI too.
    let mut sub = r.raw();
    cmd!(sub, "SUBSCRIBE", "news");
    cmd!(mc, "MULTI");
    cmd!(mc, "PUBLISH", "news", "hello");
    cmd!(mc, "EXEC");
    assert_eq!(sub.read(), b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    assert_eq!(info_field(&mut rc, "master_link_status"), "up");
    // Writes after the sync, in another db too, arrive in order.
    cmd!(mc, "INCR", "before");
    cmd!(mc, "SELECT", "3");
    cmd!(mc, "SET", "in3", "x");
    cmd!(mc, "SELECT", "0");
    cmd!(mc, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">");
    wait_reply(&mut rc, &["GET", "before"], b"$1\r\n2\r\n");
    cmd!(rc, "SELECT", "3");
    assert_eq!(cmd!(rc, "GET", "in3"), b"$1\r\nx\r\n");
    cmd!(rc, "SELECT", "0");
    wait_for("pending entry on the replica", Duration::from_secs(10), || {
        let p = cmd!(rc, "XPENDING", "s", "g");
        p.starts_with(b"*4\r\n:1\r\n").then_some(())
    });
    assert_eq!(
        cmd!(rc, "SET", "x", "1"),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(cmd!(mc, "WAIT", "1", "5000"), b":1\r\n");
    assert_eq!(info_field(&mut mc, "connected_slaves"), "1");
    let replicas = String::from_utf8_lossy(&cmd!(mc, "CLIENT", "LIST", "TYPE", "replica")).into_owned();
    assert_eq!(replicas.matches("flags=S ").count(), 1, "{replicas}");
    let normal = String::from_utf8_lossy(&cmd!(mc, "CLIENT", "LIST", "TYPE", "normal")).into_owned();
    assert!(!normal.contains("flags=S "), "{normal}");
    let role = cmd!(mc, "ROLE");
    assert!(
        role.starts_with(b"*3\r\n$6\r\nmaster\r\n"),
        "{}",
        String::from_utf8_lossy(&role)
    );
    // Offsets meet once the replica acked everything.
    wait_offsets(&mut mc, &mut rc);
    assert_eq!(cmd!(rc, "REPLICAOF", "NO", "ONE"), b"+OK\r\n");
    assert_eq!(cmd!(rc, "SET", "x", "1"), b"+OK\r\n");
    assert_eq!(info_field(&mut rc, "role"), "master");
}

#[test]
fn stale_replica_and_min_replicas() {
    let s = Server::start();
    let mut c = s.raw();
    cmd!(c, "CONFIG", "SET", "min-replicas-to-write", "1");
    assert_eq!(
        cmd!(c, "SET", "k", "v"),
        b"-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    cmd!(c, "CONFIG", "SET", "min-replicas-to-write", "0");
    cmd!(c, "CONFIG", "SET", "replica-serve-stale-data", "no");
    // Port 1 refuses connections: the link stays down.
    assert_eq!(cmd!(c, "REPLICAOF", "127.0.0.1", "1"), b"+OK\r\n");
    assert_eq!(
        cmd!(c, "GET", "k"),
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    );
    assert!(cmd!(c, "INFO", "replication").starts_with(b"$"));
    assert_eq!(cmd!(c, "REPLICAOF", "NO", "ONE"), b"+OK\r\n");
    assert_eq!(cmd!(c, "GET", "k"), b"$-1\r\n");
}

/// A ferrodis replica of a real redis-server, and a redis-server replica of ferrodis.
#[test]
#[ignore]
fn replication_works_both_ways_with_redis() {
    let f = Server::start();
    let mut fc = f.raw();
    cmd!(fc, "SET", "from", "ferrodis");
    cmd!(fc, "XADD", "s", "5-5", "a", "b");
    let r = Server::start_reference();
    let mut rc = r.raw();
    cmd!(rc, "REPLICAOF", "127.0.0.1", f.port.to_string());
    wait_reply(&mut rc, &["GET", "from"], b"$8\r\nferrodis\r\n");
    cmd!(fc, "HSET", "h", "f", "v");
    wait_reply(&mut rc, &["HGET", "h", "f"], b"$1\r\nv\r\n");
    assert_eq!(cmd!(rc, "DEBUG", "DIGEST"), cmd!(fc, "DEBUG", "DIGEST"));

    let r2 = Server::start_reference();
    let mut r2c = r2.raw();
    cmd!(r2c, "SET", "from", "redis");
    let f2 = replica_of(&r2);
    let mut f2c = f2.raw();
    wait_reply(&mut f2c, &["GET", "from"], b"$5\r\nredis\r\n");
    cmd!(r2c, "RPUSH", "l", "1", "2");
    wait_reply(&mut f2c, &["LLEN", "l"], b":2\r\n");
    assert_eq!(cmd!(f2c, "DEBUG", "DIGEST"), cmd!(r2c, "DEBUG", "DIGEST"));
}

/// FAILOVER between ferrodis and a real redis-server, each way: the roles swap with
/// a partial resync and the data stays the same.
#[test]
#[ignore]
fn failover_works_both_ways_with_redis() {
    let f = Server::start();
    let mut fc = f.raw();
    cmd!(fc, "SET", "k", "1");
    let r = Server::start_reference();
    let mut rc = r.raw();
    cmd!(rc, "REPLICAOF", "127.0.0.1", f.port.to_string());
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n1\r\n");
    let failover = |from: &mut crate::harness::Raw, to: &Server| {
        assert_eq!(
            cmd!(from, "FAILOVER", "TO", "127.0.0.1", to.port.to_string()),
            b"+OK\r\n"
        );
        wait_for("the failover to end", Duration::from_secs(10), || {
            (info_field(from, "master_failover_state") == "no-failover" && info_field(from, "role") == "slave")
                .then_some(())
        });
    };
    wait_for("the replica to be online", Duration::from_secs(10), || {
        info_field(&mut fc, "slave0").contains("state=online").then_some(())
    });
    failover(&mut fc, &r);
    assert_eq!(info_field(&mut rc, "role"), "master");
    assert_eq!(stat(&mut rc, "sync_partial_ok"), "1");
    cmd!(rc, "SET", "k", "2");
    wait_reply(&mut fc, &["GET", "k"], b"$1\r\n2\r\n");
    failover(&mut rc, &f);
    assert_eq!(info_field(&mut fc, "role"), "master");
    assert_eq!(stat(&mut fc, "sync_partial_ok"), "1");
    cmd!(fc, "SET", "k", "3");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n3\r\n");
    assert_eq!(cmd!(rc, "DEBUG", "DIGEST"), cmd!(fc, "DEBUG", "DIGEST"));
}

#[test]
fn a_replica_leaves_expiry_to_its_master() {
    let m = Server::start();
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "SET-ACTIVE-EXPIRE", "0"), b"+OK\r\n");
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_reply(&mut rc, &["PING"], b"+PONG\r\n");
    wait_for("the link", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    cmd!(mc, "SET", "k", "v", "PX", "50");
    wait_reply(&mut rc, &["DBSIZE"], b":1\r\n");
    // Past its TTL the key reads as gone on the replica, but stays there...
    wait_reply(&mut rc, &["EXISTS", "k"], b":0\r\n");
    assert_eq!(cmd!(rc, "GET", "k"), b"$-1\r\n");
    assert_eq!(cmd!(rc, "DBSIZE"), b":1\r\n");
    // ...until the master expires it and sends the DEL.
    assert_eq!(cmd!(mc, "GET", "k"), b"$-1\r\n");
    wait_reply(&mut rc, &["DBSIZE"], b":0\r\n");
    // A writable replica expires the keys its own clients gave a TTL.
    cmd!(rc, "CONFIG", "SET", "replica-read-only", "no");
    cmd!(rc, "SET", "local", "v", "PX", "20");
    wait_for("the replica's own key to expire", Duration::from_secs(5), || {
        (cmd!(rc, "DBSIZE") == b":0\r\n").then_some(())
    });
}

/// A replica under its maxmemory keeps every key its master sends (it neither
/// evicts nor refuses them), until told to obey maxmemory itself.
#[test]
fn a_replica_leaves_evictions_to_its_master() {
    let m = Server::start();
    let mut mc = m.raw();
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_for("the link", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    cmd!(rc, "CONFIG", "SET", "maxmemory-policy", "allkeys-random");
    cmd!(rc, "CONFIG", "SET", "maxmemory", "1");
    for i in 0..100 {
        cmd!(mc, "SET", format!("k{i}"), "v");
    }
    wait_offsets(&mut mc, &mut rc);
    assert_eq!(cmd!(rc, "DBSIZE"), b":100\r\n");
    assert_eq!(stat(&mut rc, "evicted_keys"), "0");
    cmd!(rc, "CONFIG", "SET", "replica-ignore-maxmemory", "no");
    wait_reply(&mut rc, &["DBSIZE"], b":0\r\n");
}

/// The first replica starts a backlog and a new history; once no replica has been
/// connected for repl-backlog-ttl seconds, the master frees its backlog.
#[test]
fn a_master_frees_its_backlog_without_replicas() {
    let m = Server::start_with(&["--repl-backlog-ttl", "1"]);
    let mut mc = m.raw();
    assert_eq!(info_field(&mut mc, "repl_backlog_active"), "0");
    let before = info_field(&mut mc, "master_replid");
    let mut r = replica_of(&m);
    let mut rc = r.raw();
    wait_for("the link", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    assert_eq!(info_field(&mut mc, "repl_backlog_active"), "1");
    let during = info_field(&mut mc, "master_replid");
    assert_ne!(during, before);
    r.kill9();
    wait_for("the backlog to go", Duration::from_secs(10), || {
        (info_field(&mut mc, "repl_backlog_active") == "0").then_some(())
    });
    assert_ne!(info_field(&mut mc, "master_replid"), during);
    assert!(m
        .log()
        .contains("Replication backlog freed after 1 seconds without connected replicas."));
}

/// A replica that loses its link asks to continue where its data ends (PSYNC with
/// the master's id and its offset + 1), and the master sends only what it missed,
/// into the db the stream had selected.
#[test]
fn a_lost_link_resumes_with_a_partial_resync() {
    let m = Server::start();
    let mut mc = m.raw();
    let r = replica_of(&m);
    let mut rc = r.raw();
    cmd!(mc, "SELECT", "5");
    cmd!(mc, "SET", "a", "1");
    cmd!(rc, "SELECT", "5");
    wait_reply(&mut rc, &["GET", "a"], b"$1\r\n1\r\n");
    assert_eq!(stat(&mut mc, "sync_full"), "1");
    assert_eq!(cmd!(rc, "CLIENT", "KILL", "TYPE", "master"), b":1\r\n");
    // Written while the link is down; the stream selected db 5 before it.
    cmd!(mc, "SET", "b", "2");
    cmd!(mc, "MULTI");
    cmd!(mc, "INCR", "a");
    cmd!(mc, "INCR", "a");
    cmd!(mc, "EXEC");
    wait_reply(&mut rc, &["GET", "b"], b"$1\r\n2\r\n");
    wait_reply(&mut rc, &["GET", "a"], b"$1\r\n3\r\n");
    assert_eq!(stat(&mut mc, "sync_full"), "1");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), "1");
    assert_eq!(stat(&mut mc, "sync_partial_err"), "0");
    wait_offsets(&mut mc, &mut rc);
    cmd!(rc, "SELECT", "0");
    assert_eq!(cmd!(rc, "DBSIZE"), b":0\r\n");
    // Both sides log it in Redis's words; the replica reconnects at once.
    let log = r.log();
    for line in [
        "# Connection with master lost.",
        "* Caching the disconnected master state.",
        &format!("* Reconnecting to MASTER 127.0.0.1:{}", m.port),
    ] {
        assert!(log.contains(line), "{line}\n{log}");
    }
    let log = m.log();
    let name = format!("127.0.0.1:{}", r.port);
    for line in [
        format!("* Replica {name} asks for synchronization"),
        format!("# Connection with replica {name} lost."),
        format!("* Partial resynchronization request from {name} accepted. Sending "),
    ] {
        assert!(log.contains(&line), "{line}\n{log}");
    }
}

/// A replica passes its master's stream on unchanged, so a chain shares ids and
/// offsets; promoted, it keeps the old history as its second one, and its own
/// replica resumes with a partial resync instead of copying everything again.
#[test]
fn a_chain_shares_offsets_and_survives_a_promotion() {
    let m = Server::start();
    let mut mc = m.raw();
    let r1 = replica_of(&m);
    let mut r1c = r1.raw();
    let r2 = replica_of(&r1);
    let mut r2c = r2.raw();
    cmd!(mc, "SELECT", "2");
    cmd!(mc, "SET", "k", "v");
    cmd!(r2c, "SELECT", "2");
    wait_reply(&mut r2c, &["GET", "k"], b"$1\r\nv\r\n");
    let m_id = info_field(&mut mc, "master_replid");
    wait_for("the chain's offsets to meet", Duration::from_secs(10), || {
        let off = info_field(&mut mc, "master_repl_offset");
        (info_field(&mut r1c, "master_repl_offset") == off && info_field(&mut r2c, "master_repl_offset") == off)
            .then_some(())
    });
    assert_eq!(info_field(&mut r1c, "master_replid"), m_id);
    assert_eq!(info_field(&mut r2c, "master_replid"), m_id);
    // Only the top master makes a stream; r1 passes m's on, so r1 never full-synced r2
    // but once.
    assert_eq!(stat(&mut r1c, "sync_full"), "1");
    assert_eq!(cmd!(r1c, "REPLICAOF", "NO", "ONE"), b"+OK\r\n");
    assert_eq!(info_field(&mut r1c, "master_replid2"), m_id);
    assert_ne!(info_field(&mut r1c, "master_replid"), m_id);
    cmd!(r1c, "SELECT", "2");
    cmd!(r1c, "SET", "after", "1");
    wait_reply(&mut r2c, &["GET", "after"], b"$1\r\n1\r\n");
    assert_eq!(stat(&mut r1c, "sync_full"), "1");
    assert_eq!(stat(&mut r1c, "sync_partial_ok"), "1");
    let r1_id = info_field(&mut r1c, "master_replid");
    wait_for("r2 to follow r1's new history", Duration::from_secs(10), || {
        (info_field(&mut r2c, "master_replid") == r1_id).then_some(())
    });
}

/// A master that accepts the connection and never answers: the replica goes on
/// serving its clients during the handshake (ROLE says so), and gives the link up
/// after repl-timeout to try again.
#[test]
fn a_silent_master_does_not_freeze_the_replica() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for s in listener.incoming().take(2) {
            conns.push(s);
        }
        conns.len()
    });
    let r = Server::start_with(&["--replicaof", "127.0.0.1", &port, "--repl-timeout", "2"]);
    let mut rc = r.raw();
    wait_for("the handshake to start", Duration::from_secs(10), || {
        let role = cmd!(rc, "ROLE");
        role.windows(9).any(|w| w == b"handshake").then_some(())
    });
    let t = std::time::Instant::now();
    assert_eq!(cmd!(rc, "PING"), b"+PONG\r\n");
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(info_field(&mut rc, "master_link_status"), "down");
    wait_for("the handshake to time out", Duration::from_secs(15), || {
        r.log().contains("Timeout connecting to the MASTER...").then_some(())
    });
    // It connects again.
    assert_eq!(held.join().unwrap(), 2);
}

/// Plays a master's side of the handshake on `s` up to PSYNC, answered with a full
/// resync whose payload is EOF-marked (the mark never comes).
fn fake_master_handshake(s: &mut std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Write};
    let mut r = BufReader::new(s.try_clone().unwrap());
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let n: usize = line.trim_end().trim_start_matches('*').parse().unwrap();
        let mut argv = Vec::new();
        for _ in 0..n {
            let mut len = String::new();
            r.read_line(&mut len).unwrap();
            let mut arg = String::new();
            r.read_line(&mut arg).unwrap();
            argv.push(arg.trim_end().to_ascii_uppercase());
        }
        match argv.first().map(String::as_str) {
            Some("PING") => s.write_all(b"+PONG\r\n").unwrap(),
            Some("PSYNC") => {
                let id = "f".repeat(40);
                let mark = "m".repeat(40);
                write!(s, "+FULLRESYNC {id} 0\r\n$EOF:{mark}\r\n").unwrap();
                return;
            }
            _ => s.write_all(b"+OK\r\n").unwrap(),
        }
    }
}

/// A master that closes its link in the middle of a snapshot, more than one read's
/// worth of it still unread: the replica reads on to the end of the data, sees the
/// close, and connects again. (The close raises no event of its own once reported.)
#[test]
fn a_replica_sees_its_master_close_behind_unread_payload() {
    use std::io::Write;
    use std::sync::mpsc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (sent_tx, sent_rx) = mpsc::channel::<u64>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (back_tx, back_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        fake_master_handshake(&mut s);
        let chunk = vec![b'x'; 1 << 20];
        // Enough data for the replica's receive buffer to grow well past 2 MB.
        for _ in 0..32 {
            s.write_all(&chunk).unwrap();
        }
        sent_tx.send(32 << 20).unwrap();
        go_rx.recv().unwrap();
        // While the replica sleeps: three and a half reads' worth, then the close.
        for _ in 0..3 {
            s.write_all(&chunk).unwrap();
        }
        s.write_all(&chunk[..1 << 19]).unwrap();
        drop(s);
        if listener.accept().is_ok() {
            let _ = back_tx.send(());
        }
    });
    let r = Server::start_with(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = r.raw();
    let sent = sent_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    wait_for(
        "the replica to read the payload so far",
        Duration::from_secs(20),
        || (info_u64(&mut rc, "replication", "master_sync_read_bytes") == sent).then_some(()),
    );
    let mut sleeper = r.raw();
    sleeper.send(b"DEBUG SLEEP 0.5\r\n");
    go_tx.send(()).unwrap();
    assert_eq!(sleeper.read(), b"+OK\r\n");
    back_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the replica did not see the master close the link");
    assert!(r.log().contains("Master closed the connection"));
}

/// While the replica loads its master's snapshot it keeps answering: -LOADING to
/// data commands, INFO with `loading:1`; then it serves the data.
#[test]
fn a_replica_answers_while_it_loads_the_snapshot() {
    let m = Server::start();
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "500"), b"+OK\r\n");
    let r = Server::start_with(&[
        "--key-load-delay",
        "2000",
        "--loading-process-events-interval-bytes",
        "1024",
    ]);
    let mut rc = r.raw();
    assert_eq!(cmd!(rc, "REPLICAOF", "127.0.0.1", &m.port.to_string()), b"+OK\r\n");
    wait_for("the replica to load", Duration::from_secs(10), || {
        let info = String::from_utf8_lossy(&cmd!(rc, "INFO", "persistence")).into_owned();
        info.contains("loading:1\r\n").then_some(())
    });
    assert_eq!(
        cmd!(rc, "GET", "key:1"),
        b"-LOADING Redis is loading the dataset in memory\r\n"
    );
    wait_reply(&mut rc, &["DBSIZE"], b":500\r\n");
    assert_eq!(info_field(&mut rc, "master_link_status"), "up");
    // The master names the replica by its listening port, as Redis does.
    let log = m.log();
    let name = format!("127.0.0.1:{}", r.port);
    assert!(log.contains(&format!(
        "Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"
    )));
    assert!(log.contains(&format!("Synchronization with replica {name} succeeded")));
}

/// The replica lines of the master's INFO.
fn replica_states(c: &mut crate::harness::Raw) -> Vec<String> {
    let info = String::from_utf8_lossy(&cmd!(c, "INFO", "replication")).into_owned();
    info.lines()
        .filter(|l| l.starts_with("slave") && l.contains("state="))
        .filter_map(|l| l.split(',').find_map(|f| f.strip_prefix("state=")).map(str::to_string))
        .collect()
}

/// A full resync to disk is a background snapshot: the master keeps serving while it
/// is taken, the writes made meanwhile reach the replica after the file, and the file
/// is the master's `dbfilename`.
#[test]
fn a_full_resync_to_disk_does_not_stop_the_master() {
    let m = Server::start_with(&["--repl-diskless-sync", "no", "--rdb-key-save-delay", "200"]);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "10000"), b"+OK\r\n");
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_for("the snapshot to start", Duration::from_secs(10), || {
        (replica_states(&mut mc) == ["wait_bgsave"]).then_some(())
    });
    let t = std::time::Instant::now();
    assert_eq!(cmd!(mc, "SET", "during", "1"), b"+OK\r\n");
    assert_eq!(cmd!(mc, "DEL", "key:7"), b":1\r\n");
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(section_field(&mut mc, "persistence", "rdb_bgsave_in_progress"), "1");
    // Not online yet: WAIT counts it only once it is.
    assert_eq!(cmd!(mc, "WAIT", "1", "1"), b":0\r\n");
    wait_reply(&mut rc, &["GET", "during"], b"$1\r\n1\r\n");
    assert_eq!(cmd!(rc, "DBSIZE"), b":10000\r\n");
    assert_eq!(replica_states(&mut mc), ["online"]);
    assert!(m.dir.join("dump.rdb").exists());
    assert!(m.log().contains("Starting BGSAVE for SYNC with target: disk"));
}

/// A master that streams one snapshot to two replicas, waiting (up to a minute) for
/// the second.
const DISKLESS_FOR_TWO: [&str; 6] = [
    "--repl-diskless-sync",
    "yes",
    "--repl-diskless-sync-delay",
    "60",
    "--repl-diskless-sync-max-replicas",
    "2",
];

/// With diskless sync, replicas arriving within the delay share one snapshot, streamed
/// to their sockets (nothing is written to disk), and each continues with the writes
/// made while it was taken.
#[test]
fn a_diskless_full_resync_serves_the_replicas_that_wait_together() {
    let m = Server::start_with(&DISKLESS_FOR_TWO);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "20000"), b"+OK\r\n");
    let r1 = replica_of(&m);
    wait_for("the first replica to wait", Duration::from_secs(10), || {
        (replica_states(&mut mc) == ["wait_bgsave"]).then_some(())
    });
    // One replica of the two: the transfer waits (for up to the delay).
    assert_eq!(section_field(&mut mc, "persistence", "rdb_bgsave_in_progress"), "0");
    assert_eq!(cmd!(mc, "SET", "before-second", "1"), b"+OK\r\n");
    let r2 = replica_of(&m);
    let mut c1 = r1.raw();
    let mut c2 = r2.raw();
    cmd!(mc, "SET", "after", "2");
    for c in [&mut c1, &mut c2] {
        wait_reply(c, &["GET", "after"], b"$1\r\n2\r\n");
        assert_eq!(cmd!(c, "DBSIZE"), b":20002\r\n");
    }
    wait_for("both online", Duration::from_secs(10), || {
        (replica_states(&mut mc) == ["online", "online"]).then_some(())
    });
    let log = m.log();
    assert_eq!(
        log.matches("Starting BGSAVE for SYNC with target: replicas sockets")
            .count(),
        1,
        "{log}"
    );
    assert!(!m.dir.join("dump.rdb").exists());
    let digest = cmd!(mc, "DEBUG", "DIGEST");
    assert_eq!(cmd!(c1, "DEBUG", "DIGEST"), digest);
    assert_eq!(cmd!(c2, "DEBUG", "DIGEST"), digest);
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// SHUTDOWN waits (up to shutdown-timeout) for replicas to acknowledge every write,
/// with writes paused and the caller blocked; SHUTDOWN ABORT ends the wait.
#[test]
fn shutdown_waits_for_replicas_to_catch_up() {
    let mut m = Server::start_with(&["--shutdown-timeout", "60"]);
    let mut mc = m.raw();
    let r = replica_of(&m);
    let mut rc = r.raw();
    cmd!(mc, "SET", "k", "1");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n1\r\n");
    wait_for("the replica's ack", Duration::from_secs(10), || {
        (cmd!(mc, "WAIT", "1", "100") == b":1\r\n").then_some(())
    });
    signal(r.pid(), "-STOP");
    cmd!(mc, "INCR", "k");
    let mut caller = m.raw();
    caller.send(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    wait_for("the shutdown to wait", Duration::from_secs(10), || {
        (!section_field(&mut mc, "server", "shutdown_in_milliseconds").is_empty()).then_some(())
    });
    assert_eq!(section_field(&mut mc, "clients", "blocked_clients"), "1");
    // Aborted: the caller is told, writes go on.
    assert_eq!(cmd!(mc, "SHUTDOWN", "ABORT"), b"+OK\r\n");
    assert_eq!(caller.read(), b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert_eq!(cmd!(mc, "INCR", "k"), b":3\r\n");
    // Again, and the replica comes back: the master exits once it has everything.
    caller.send(b"*1\r\n$8\r\nSHUTDOWN\r\n");
    wait_for("the shutdown to wait", Duration::from_secs(10), || {
        (!section_field(&mut mc, "server", "shutdown_in_milliseconds").is_empty()).then_some(())
    });
    signal(r.pid(), "-CONT");
    assert_eq!(m.wait_exit(), Some(0));
    assert_eq!(cmd!(rc, "GET", "k"), b"$1\r\n3\r\n");
    assert!(m.log().contains("1 of 1 replicas are in sync when shutting down."));
}

#[test]
fn a_replica_connects_from_bind_source_addr() {
    // Ported from tests/unit/networking.tcl "CONFIG SET bind-source-addr".
    let m = Server::start_with(&["--protected-mode", "no"]);
    let mut mc = m.raw();
    let r = Server::start();
    let mut rc = r.raw();
    assert_eq!(cmd!(rc, "CONFIG", "SET", "bind-source-addr", "127.0.0.2"), b"+OK\r\n");
    cmd!(rc, "REPLICAOF", "127.0.0.1", m.port.to_string());
    wait_for("the link", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    let slave0 = info_field(&mut mc, "slave0");
    assert!(slave0.contains("ip=127.0.0.2,"), "{slave0}");
}

/// `repl-diskless-load swapdb`: the old data survives a transfer that fails. A
/// snapshot of another history is "loading" from its first byte (-LOADING); one that
/// continues our history is loaded in the background, the old data served meanwhile.
#[test]
fn swapdb_keeps_the_old_data_until_the_new_is_loaded() {
    let m = Server::start_with(&["--rdb-key-save-delay", "2000"]);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "1000", "master"), b"+OK\r\n");
    let r = Server::start_with(&["--repl-diskless-load", "swapdb", "--replica-read-only", "no"]);
    let mut rc = r.raw();
    cmd!(rc, "SET", "mykey", "myvalue");
    cmd!(rc, "REPLICAOF", "127.0.0.1", m.port.to_string());
    let persistence = |c: &mut crate::harness::Raw, f: &str| section_field(c, "persistence", f);
    wait_for("the replica to load", Duration::from_secs(10), || {
        (persistence(&mut rc, "loading") == "1").then_some(())
    });
    assert_eq!(persistence(&mut rc, "async_loading"), "0");
    assert!(cmd!(rc, "GET", "mykey").starts_with(b"-LOADING"));
    // The master drops the link: the old data is back.
    cmd!(mc, "CONFIG", "SET", "repl-diskless-sync-delay", "5");
    assert_eq!(cmd!(mc, "CLIENT", "KILL", "TYPE", "replica"), b":1\r\n");
    wait_for("the load to stop", Duration::from_secs(10), || {
        (persistence(&mut rc, "loading") == "0").then_some(())
    });
    assert_eq!(cmd!(rc, "GET", "mykey"), b"$7\r\nmyvalue\r\n");
    assert_eq!(cmd!(rc, "DBSIZE"), b":1\r\n");
    // Once through, the master's data replaces it.
    cmd!(
        mc,
        "CONFIG",
        "SET",
        "rdb-key-save-delay",
        "0",
        "repl-diskless-sync-delay",
        "0"
    );
    wait_for("the link", Duration::from_secs(20), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    assert_eq!(cmd!(rc, "DBSIZE"), b":1000\r\n");

    // The same history again (a backlog too small to continue): async loading.
    cmd!(rc, "SET", "mykey", "myvalue");
    cmd!(
        mc,
        "CONFIG",
        "SET",
        "repl-backlog-size",
        "16384",
        "rdb-key-save-delay",
        "2000"
    );
    cmd!(mc, "MULTI");
    cmd!(mc, "CLIENT", "KILL", "TYPE", "replica");
    for i in 0..10 {
        cmd!(mc, "SET", format!("big{i}"), "A".repeat(16384));
    }
    cmd!(mc, "EXEC");
    wait_for("async loading", Duration::from_secs(10), || {
        (persistence(&mut rc, "async_loading") == "1").then_some(())
    });
    assert_eq!(persistence(&mut rc, "loading"), "0");
    assert_eq!(cmd!(rc, "GET", "mykey"), b"$7\r\nmyvalue\r\n");
    assert!(cmd!(rc, "REPLICAOF", "NO", "ONE").starts_with(b"-LOADING"));
    cmd!(mc, "CONFIG", "SET", "rdb-key-save-delay", "0");
    wait_for("the swap", Duration::from_secs(20), || {
        (cmd!(rc, "DBSIZE") == b":1010\r\n").then_some(())
    });
    assert_eq!(cmd!(rc, "GET", "mykey"), b"$-1\r\n");
    assert_eq!(persistence(&mut rc, "async_loading"), "0");
}

#[test]
fn a_replica_connection_cannot_touch_the_keyspace() {
    // Ported from tests/integration/replication.tcl "replica do not write the reply to
    // the replication link - PSYNC".
    let m = Server::start();
    let mut c = m.raw();
    c.send(b"PSYNC replicationid -1\r\n");
    wait_for("the full resync", Duration::from_secs(10), || {
        let r = c.read();
        String::from_utf8_lossy(&r).contains("+FULLRESYNC").then_some(())
    });
    c.send(b"GET foo\r\n");
    wait_for("the replica to be dropped", Duration::from_secs(10), || {
        c.closed().then_some(())
    });
    let log = m.log();
    assert!(
        log.contains("Replica generated a reply to command 'get', disconnecting it"),
        "{log}"
    );
    assert!(log.contains("== CRITICAL == This master is sending an error to its replica: 'ERR Replica can't interact with the keyspace'"), "{log}");
    let mut other = m.raw();
    assert_eq!(cmd!(other, "PING"), b"+PONG\r\n");
}

/// `redis-cli --functions-rdb`: a replica asking for the functions alone gets a
/// streamed snapshot holding no keys (even with `repl-diskless-sync no`: the RDB file
/// keeps the whole dataset), no stream after it, and is closed once it is through.
#[test]
fn a_filtered_snapshot_holds_the_functions_alone() {
    let m = Server::start_with(&["--repl-diskless-sync", "no"]);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "SET", "mykey", "myvalue"), b"+OK\r\n");
    let lib = "#!lua name=mylib\nredis.register_function('myfunc', function() return 1 end)";
    assert_eq!(cmd!(mc, "FUNCTION", "LOAD", lib), b"$5\r\nmylib\r\n");
    let mut c = m.raw();
    assert_eq!(
        cmd!(c, "REPLCONF", "rdb-filter-only", "functions keys"),
        b"-ERR Unsupported rdb-filter-only option: keys\r\n"
    );
    assert_eq!(
        cmd!(c, "REPLCONF", "rdb-filter-only", "\"functions"),
        b"-ERR Missing rdb-filter-only values\r\n"
    );
    assert_eq!(cmd!(c, "REPLCONF", "rdb-filter-only", "functions"), b"+OK\r\n");
    assert_eq!(cmd!(c, "SYNC"), b"-ERR Filtered replica requires EOF capability\r\n");
    assert_eq!(cmd!(c, "REPLCONF", "capa", "eof", "rdb-only", "1"), b"+OK\r\n");
    c.send(b"SYNC\r\n");
    // Written after the snapshot: a replica wanting the snapshot alone never sees it.
    assert_eq!(cmd!(mc, "SET", "later", "1"), b"+OK\r\n");
    let got = c.read_until_closed();
    let got = &got[got.iter().position(|&b| b != b'\n').unwrap()..];
    assert!(got.starts_with(b"$EOF:"), "{:?}", String::from_utf8_lossy(got));
    let mark = &got[5..45];
    let payload = &got[47..got.len() - 40];
    assert_eq!(&got[got.len() - 40..], mark);
    assert!(payload.starts_with(b"REDIS"));
    assert!(!payload.windows(5).any(|w| w == b"mykey" || w == b"later"));
    assert!(
        !m.dir.join("dump.rdb").exists(),
        "a filtered snapshot went to the RDB file"
    );
    // The payload is a valid RDB file: functions, no keys.
    let dir = crate::harness::temp_dir();
    std::fs::write(dir.join("dump.rdb"), payload).unwrap();
    let s = Server::start_in(dir, &[]);
    let mut sc = s.raw();
    assert_eq!(cmd!(sc, "DBSIZE"), b":0\r\n");
    assert_eq!(cmd!(sc, "FCALL", "myfunc", "0"), b":1\r\n");
    assert!(m.log().contains("rdb only replica"), "{}", m.log());
    assert_eq!(info_field(&mut mc, "connected_slaves"), "0");
}

/// By default a replica receives its master's snapshot to disk (not into memory):
/// the file becomes its dbfilename, so restarted it loads its master's data and
/// history from there and continues with a partial resync.
#[test]
fn a_snapshot_received_to_disk_becomes_the_replicas_rdb_file() {
    let m = Server::start();
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "1000"), b"+OK\r\n");
    let mut r = replica_of(&m);
    let mut rc = r.raw();
    wait_reply(&mut rc, &["DBSIZE"], b":1000\r\n");
    let log = r.log();
    assert!(log.contains("from master with EOF to disk"), "{log}");
    // A replica's log lines carry its role letter.
    assert!(
        log.lines()
            .any(|l| l.contains(":S ") && l.contains("MASTER <-> REPLICA sync")),
        "{log}"
    );
    let files: Vec<String> = std::fs::read_dir(&r.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f == "dump.rdb"), "{files:?}");
    assert!(!files.iter().any(|f| f.starts_with("temp-")), "{files:?}");
    // Only the stream carries this one.
    cmd!(mc, "SET", "after", "1");
    wait_reply(&mut rc, &["GET", "after"], b"$1\r\n1\r\n");
    r.kill9();
    let r = Server::start_in(r.copy_dir(), &["--replicaof", "127.0.0.1", &m.port.to_string()]);
    let mut rc = r.raw();
    wait_reply(&mut rc, &["GET", "after"], b"$1\r\n1\r\n");
    assert_eq!(cmd!(rc, "DBSIZE"), b":1001\r\n");
    assert_eq!(stat(&mut mc, "sync_full"), "1");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), "1");
    // A snapshot of known length (from the master's disk) takes the same way.
    assert_eq!(cmd!(mc, "CONFIG", "SET", "repl-diskless-sync", "no"), b"+OK\r\n");
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_reply(&mut rc, &["DBSIZE"], b":1001\r\n");
    let log = r.log();
    assert!(log.contains("bytes from master to disk"), "{log}");
    assert!(r.dir.join("dump.rdb").exists());
}

/// While a snapshot arrives, INFO says how much of it (a streamed one has no known
/// size: -1).
#[test]
fn info_shows_a_snapshot_transfer_in_progress() {
    let m = Server::start_with(&["--rdb-key-save-delay", "2000"]);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "1000"), b"+OK\r\n");
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_for("the transfer", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_sync_in_progress") == "1").then_some(())
    });
    assert_eq!(info_field(&mut rc, "master_sync_total_bytes"), "-1");
    assert!(info_field(&mut rc, "master_sync_read_bytes").parse::<u64>().is_ok());
    assert_eq!(info_field(&mut rc, "master_link_status"), "down");
    wait_reply(&mut rc, &["DBSIZE"], b":1000\r\n");
    assert_eq!(info_field(&mut rc, "master_sync_in_progress"), "0");
    assert_eq!(info_field(&mut rc, "master_sync_total_bytes"), "");
}

/// FAILOVER hands the master's role to a replica without a full resync: writes pause
/// until the replica has everything, then the two swap roles and the old master
/// continues the stream as a replica. Cases follow tests/integration/failover.tcl.
#[test]
fn failover_swaps_roles_with_a_caught_up_replica() {
    let m = Server::start();
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "FAILOVER"), b"-ERR FAILOVER requires connected replicas.\r\n");
    let r = replica_of(&m);
    let mut rc = r.raw();
    cmd!(mc, "SET", "k", "1");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n1\r\n");
    let port = r.port.to_string();
    assert_eq!(
        cmd!(mc, "FAILOVER", "TO", "127.0.0.1", port.as_str(), "FORCE"),
        b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
    );
    assert_eq!(
        cmd!(mc, "FAILOVER", "TO", "127.0.0.9", port.as_str()),
        b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n"
    );
    assert_eq!(
        cmd!(rc, "FAILOVER"),
        b"-ERR FAILOVER is not valid when server is a replica.\r\n"
    );
    assert_eq!(cmd!(mc, "FAILOVER", "ABORT"), b"-ERR No failover in progress.\r\n");
    assert_eq!(cmd!(mc, "FAILOVER", "TO", "127.0.0.1", port.as_str()), b"+OK\r\n");
    wait_for("the failover to end", Duration::from_secs(10), || {
        (info_field(&mut mc, "master_failover_state") == "no-failover").then_some(())
    });
    assert_eq!(info_field(&mut mc, "role"), "slave");
    assert_eq!(info_field(&mut rc, "role"), "master");
    assert_eq!(stat(&mut rc, "sync_partial_ok"), "1");
    assert_eq!(stat(&mut rc, "sync_full"), "0");
    // Writes go to the new master and reach the old one.
    cmd!(rc, "SET", "k", "2");
    wait_reply(&mut mc, &["GET", "k"], b"$1\r\n2\r\n");
    assert!(m.log().contains("is synced, failing over."));
    let replicaof = String::from_utf8_lossy(&cmd!(mc, "CONFIG", "GET", "replicaof")).into_owned();
    assert!(replicaof.contains(&format!("127.0.0.1 {}", r.port)), "{replicaof}");
    // A failover to a replica that cannot catch up waits, with writes paused, until
    // aborted by hand.
    signal(m.pid(), "-STOP");
    cmd!(rc, "SET", "k", "3");
    assert_eq!(cmd!(rc, "FAILOVER", "TIMEOUT", "60000"), b"+OK\r\n");
    assert_eq!(info_field(&mut rc, "master_failover_state"), "waiting-for-sync");
    assert_eq!(cmd!(rc, "GET", "k"), b"$1\r\n3\r\n");
    assert_eq!(
        cmd!(rc, "REPLICAOF", "NO", "ONE"),
        b"-ERR REPLICAOF not allowed while failing over.\r\n"
    );
    let mut writer = r.raw();
    writer.send(b"SET k 4\r\n");
    assert!(!writer.closed_or_idle(), "the write waits");
    // A CLIENT PAUSE and the failover's pause end each on their own.
    assert_eq!(cmd!(rc, "CLIENT", "PAUSE", "60000", "WRITE"), b"+OK\r\n");
    assert_eq!(cmd!(rc, "CLIENT", "UNPAUSE"), b"+OK\r\n");
    assert!(!writer.closed_or_idle(), "the write waits for the failover");
    assert_eq!(cmd!(rc, "CLIENT", "PAUSE", "60000", "WRITE"), b"+OK\r\n");
    assert_eq!(cmd!(rc, "FAILOVER", "ABORT"), b"+OK\r\n");
    assert!(!writer.closed_or_idle(), "the write waits for CLIENT UNPAUSE");
    assert_eq!(cmd!(rc, "CLIENT", "UNPAUSE"), b"+OK\r\n");
    assert_eq!(writer.read(), b"+OK\r\n");
    assert_eq!(info_field(&mut rc, "master_failover_state"), "no-failover");
    assert_eq!(info_field(&mut rc, "role"), "master");
    signal(m.pid(), "-CONT");
    wait_reply(&mut mc, &["GET", "k"], b"$1\r\n4\r\n");
}

/// Replicas share one copy of the replication stream with the backlog: two replicas
/// waiting for a snapshot hold the stream written meanwhile once between them; a
/// replica gone frees nothing the other still needs, and what it needs is kept past
/// `repl-backlog-size`, so a replica that left before it resumes from there with a
/// partial resync. Once no replica needs it, it is freed down to the backlog size.
/// A replica whose own link is not up refuses to serve one (NOMASTERLINK).
#[test]
fn replicas_share_one_replication_buffer_that_outgrows_the_backlog() {
    let m = Server::start_with(&[
        "--repl-diskless-sync",
        "no",
        "--repl-backlog-size",
        "16384",
        "--client-output-buffer-limit",
        "replica 0 0 0",
    ]);
    let mut mc = m.raw();
    let a = replica_of(&m);
    let mut ac = a.raw();
    cmd!(mc, "SET", "k", "v");
    wait_reply(&mut ac, &["GET", "k"], b"$1\r\nv\r\n");
    wait_offsets(&mut mc, &mut ac);
    // Snapshots take forever from now on: B and C wait for theirs, and the stream
    // written meanwhile is held for them.
    let pairs: Vec<String> = (0..100).flat_map(|i| [format!("key:{i}"), i.to_string()]).collect();
    let mut mset: Vec<&[u8]> = vec![b"MSET"];
    mset.extend(pairs.iter().map(|p| p.as_bytes()));
    assert_eq!(mc.cmd(&mset), b"+OK\r\n");
    cmd!(mc, "CONFIG", "SET", "rdb-key-save-delay", "1000000");
    let b = replica_of(&m);
    let c = replica_of(&m);
    wait_for("both to wait for the snapshot", Duration::from_secs(10), || {
        (replica_states(&mut mc) == ["online", "wait_bgsave", "wait_bgsave"]).then_some(())
    });
    // A turns to B, which refuses it (its own link is not up): A keeps its data and
    // its place in the master's history.
    cmd!(ac, "REPLICAOF", "127.0.0.1", &b.port.to_string());
    wait_for("B to refuse A", Duration::from_secs(10), || {
        a.log().contains("NOMASTERLINK").then_some(())
    });
    assert_eq!(info_u64(&mut mc, "replication", "connected_slaves"), 2);
    assert_eq!(cmd!(ac, "GET", "k"), b"$1\r\nv\r\n");

    let used_before = info_u64(&mut mc, "memory", "used_memory");
    let value = "x".repeat(30_000);
    for i in 0..64 {
        cmd!(mc, "SET", &format!("big:{i}"), &value);
    }
    let written = 64 * value.len() as u64;
    let shared = info_u64(&mut mc, "memory", "mem_total_replication_buffers");
    // One copy of the stream, for both replicas and the backlog.
    assert!(shared > written && shared < written + written / 2, "{shared}");
    let grown = info_u64(&mut mc, "memory", "used_memory") - used_before;
    assert!(
        grown < 2 * written + written / 2,
        "{grown} for {written} written, {shared} shared"
    );
    assert!(info_u64(&mut mc, "replication", "repl_backlog_histlen") > written);

    // C goes: B still needs all of it.
    drop(c);
    wait_for("C to be gone", Duration::from_secs(10), || {
        (info_u64(&mut mc, "replication", "connected_slaves") == 1).then_some(())
    });
    assert_eq!(info_u64(&mut mc, "memory", "mem_total_replication_buffers"), shared);

    // A comes back: what B holds is far beyond the backlog size, and A resumes from it.
    cmd!(ac, "REPLICAOF", "127.0.0.1", &m.port.to_string());
    wait_reply(&mut ac, &["EXISTS", "big:63"], b":1\r\n");
    wait_offsets(&mut mc, &mut ac);
    assert_eq!(stat(&mut mc, "sync_partial_ok"), "1");
    assert_eq!(cmd!(ac, "DEBUG", "DIGEST"), cmd!(mc, "DEBUG", "DIGEST"));

    // B goes: nothing holds the buffer past the backlog any more.
    drop(b);
    wait_for("the buffer to shrink", Duration::from_secs(10), || {
        let mem = info_u64(&mut mc, "memory", "mem_total_replication_buffers");
        (mem < 64 * 1024).then_some(())
    });
    let histlen = info_u64(&mut mc, "replication", "repl_backlog_histlen");
    assert!((16384..64 * 1024).contains(&histlen), "{histlen}");
    // A partial resync within the backlog still works.
    cmd!(mc, "SET", "after", "1");
    assert_eq!(cmd!(ac, "CLIENT", "KILL", "TYPE", "master"), b":1\r\n");
    cmd!(mc, "SET", "after", "2");
    wait_reply(&mut ac, &["GET", "after"], b"$1\r\n2\r\n");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), "2");
}

/// Replication traffic is counted apart from the clients' (INFO stats
/// total_net_repl_input_bytes and total_net_repl_output_bytes), on both sides.
#[test]
fn replication_traffic_is_counted_apart_from_clients() {
    let m = Server::start();
    let mut mc = m.raw();
    let r = replica_of(&m);
    let mut rc = r.raw();
    // After the full sync: a value written before it would travel inside the
    // snapshot, compressed (a run of one byte shrinks to about 1 KB).
    wait_for("the link to be up", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    cmd!(mc, "SET", "big", &"x".repeat(100_000));
    wait_reply(&mut rc, &["STRLEN", "big"], b":100000\r\n");
    wait_offsets(&mut mc, &mut rc);
    let repl_out = info_u64(&mut mc, "stats", "total_net_repl_output_bytes");
    let out = info_u64(&mut mc, "stats", "total_net_output_bytes");
    assert!(repl_out > 100_000 && out < 50_000, "{repl_out} {out}");
    let repl_in = info_u64(&mut rc, "stats", "total_net_repl_input_bytes");
    let input = info_u64(&mut rc, "stats", "total_net_input_bytes");
    assert!(repl_in > 100_000 && input < 50_000, "{repl_in} {input}");
}

/// A snapshot to disk that only replicas waited for is stopped once the last of them
/// leaves (it would only hold memory and delay the next one), unless save points make
/// it worth finishing.
#[test]
fn a_snapshot_no_replica_waits_for_is_stopped() {
    let m = Server::start_with(&["--repl-diskless-sync", "no", "--rdb-key-save-delay", "1000000"]);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "10"), b"+OK\r\n");
    let saving = |mc: &mut crate::harness::Raw| section_field(mc, "persistence", "rdb_bgsave_in_progress");
    let replicas = |mc: &mut crate::harness::Raw| info_u64(mc, "replication", "connected_slaves");
    let mut r1 = m.raw();
    let mut r2 = m.raw();
    r1.send(b"SYNC\r\n");
    r2.send(b"SYNC\r\n");
    wait_for("both to wait for the snapshot", Duration::from_secs(10), || {
        (replica_states(&mut mc) == ["wait_bgsave", "wait_bgsave"] && saving(&mut mc) == "1").then_some(())
    });
    // One replica still waits: the snapshot goes on.
    drop(r1);
    wait_for("the first to be gone", Duration::from_secs(10), || {
        (replicas(&mut mc) == 1).then_some(())
    });
    assert_eq!(saving(&mut mc), "1");
    drop(r2);
    wait_for("the snapshot to stop", Duration::from_secs(5), || {
        (saving(&mut mc) == "0").then_some(())
    });
    assert!(m.log().contains("Background saving terminated by signal 10"));
    assert_eq!(section_field(&mut mc, "persistence", "rdb_last_bgsave_status"), "ok");
    assert!(!m.dir.join("dump.rdb").exists());

    // Save points: the data is worth saving anyway.
    cmd!(mc, "CONFIG", "SET", "save", "900 1");
    let mut r3 = m.raw();
    r3.send(b"SYNC\r\n");
    wait_for("the snapshot to start", Duration::from_secs(10), || {
        (saving(&mut mc) == "1").then_some(())
    });
    drop(r3);
    wait_for("the replica to be gone", Duration::from_secs(10), || {
        (replicas(&mut mc) == 0).then_some(())
    });
    assert_eq!(saving(&mut mc), "1");
}

/// A replica that stops acknowledging is disconnected after repl-timeout, and resumes
/// its place in the stream when it comes back.
#[test]
fn a_silent_replica_is_dropped_after_repl_timeout() {
    let m = Server::start_with(&["--repl-timeout", "2", "--repl-ping-replica-period", "1"]);
    let mut mc = m.raw();
    let r = Server::start_with(&["--replicaof", "127.0.0.1", &m.port.to_string(), "--repl-timeout", "2"]);
    let mut rc = r.raw();
    cmd!(mc, "SET", "k", "1");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n1\r\n");
    signal(r.pid(), "-STOP");
    let t = std::time::Instant::now();
    let line = format!("Disconnecting timedout replica (streaming sync): 127.0.0.1:{}", r.port);
    wait_for("the replica to be dropped", Duration::from_secs(15), || {
        m.log().contains(&line).then_some(())
    });
    assert!(t.elapsed() >= Duration::from_millis(1500), "{:?}", t.elapsed());
    assert_eq!(info_u64(&mut mc, "replication", "connected_slaves"), 0);
    cmd!(mc, "SET", "k", "2");
    signal(r.pid(), "-CONT");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n2\r\n");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), "1");
}

/// A replica whose master goes silent (no data, no PING) for repl-timeout drops the
/// link and connects again, resuming where it was.
#[test]
fn a_silent_master_is_dropped_after_repl_timeout() {
    let m = Server::start_with(&["--repl-ping-replica-period", "1"]);
    let mut mc = m.raw();
    let r = Server::start_with(&["--replicaof", "127.0.0.1", &m.port.to_string(), "--repl-timeout", "2"]);
    let mut rc = r.raw();
    cmd!(mc, "SET", "k", "1");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n1\r\n");
    // Pings every second keep an idle link up for longer than the timeout.
    let from = info_u64(&mut rc, "replication", "slave_repl_offset");
    wait_for("four pings", Duration::from_secs(15), || {
        assert_eq!(info_field(&mut rc, "master_link_status"), "up");
        (info_u64(&mut rc, "replication", "slave_repl_offset") >= from + 4 * 14).then_some(())
    });
    assert!(!r.log().contains("MASTER timeout"));
    signal(m.pid(), "-STOP");
    wait_for("the master to be dropped", Duration::from_secs(15), || {
        r.log()
            .contains("MASTER timeout: no data nor PING received...")
            .then_some(())
    });
    assert_eq!(info_field(&mut rc, "master_link_status"), "down");
    signal(m.pid(), "-CONT");
    cmd!(mc, "SET", "k", "2");
    wait_reply(&mut rc, &["GET", "k"], b"$1\r\n2\r\n");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), "1");
}

/// A streamed snapshot stuck on a replica that does not read for repl-timeout drops
/// that replica, and the one that reads gets the rest.
#[test]
fn a_replica_stuck_in_a_streamed_snapshot_is_dropped() {
    let m = Server::start_with(
        &[
            &DISKLESS_FOR_TWO[..],
            &["--rdbcompression", "no", "--repl-timeout", "2"],
        ]
        .concat(),
    );
    let mut mc = m.raw();
    // Far more than the socket buffers take.
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "20000", "key", "1000"), b"+OK\r\n");
    let mut stuck = m.raw();
    assert_eq!(cmd!(stuck, "REPLCONF", "capa", "eof"), b"+OK\r\n");
    stuck.send(b"PSYNC ? -1\r\n");
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_for("the stuck replica to be dropped", Duration::from_secs(20), || {
        m.log()
            .contains("Disconnecting timedout replica (full sync): 127.0.0.1:<unknown-replica-port>")
            .then_some(())
    });
    wait_reply(&mut rc, &["DBSIZE"], b":20000\r\n");
    assert!(m
        .log()
        .contains("Diskless rdb transfer, done reading from pipe, 1 replicas still up."));
    assert_eq!(cmd!(rc, "DEBUG", "DIGEST"), cmd!(mc, "DEBUG", "DIGEST"));
}

/// While a replica loads a snapshot for longer than repl-timeout it tells its master
/// it is alive (an empty line a second), so the master keeps it.
#[test]
fn a_replica_loading_a_long_snapshot_is_kept() {
    let m = Server::start_with(&["--repl-diskless-sync", "no", "--repl-timeout", "2"]);
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "DEBUG", "POPULATE", "4000"), b"+OK\r\n");
    let r = Server::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &m.port.to_string(),
        "--key-load-delay",
        "1000",
        "--loading-process-events-interval-bytes",
        "1024",
    ]);
    let mut rc = r.raw();
    wait_for("the replica to load", Duration::from_secs(30), || {
        (cmd!(rc, "DBSIZE") == b":4000\r\n").then_some(())
    });
    wait_offsets(&mut mc, &mut rc);
    let log = m.log();
    assert!(!log.contains("timedout"), "{log}");
    assert_eq!(stat(&mut mc, "sync_full"), "1");
}

/// A replica announces the address and port its master shows (behind NAT or port
/// forwarding), and INFO shows its priority and whether it is announced.
#[test]
fn a_replica_announces_its_address() {
    let m = Server::start();
    let mut mc = m.raw();
    let r = Server::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &m.port.to_string(),
        "--replica-announce-ip",
        "10.9.8.7",
        "--replica-announce-port",
        "7777",
        "--replica-priority",
        "42",
        "--replica-announced",
        "no",
    ]);
    let mut rc = r.raw();
    wait_for("the replica online", Duration::from_secs(10), || {
        (replica_states(&mut mc) == ["online"]).then_some(())
    });
    let info = String::from_utf8_lossy(&cmd!(mc, "INFO", "replication")).into_owned();
    assert!(info.contains("slave0:ip=10.9.8.7,port=7777,state=online"), "{info}");
    let role = String::from_utf8_lossy(&cmd!(mc, "ROLE")).into_owned();
    assert!(role.contains("$8\r\n10.9.8.7\r\n$4\r\n7777\r\n"), "{role}");
    assert_eq!(info_field(&mut rc, "slave_priority"), "42");
    assert_eq!(info_field(&mut rc, "replica_announced"), "0");
    let long = "a".repeat(256);
    assert_eq!(
        cmd!(mc, "REPLCONF", "ip-address", &long),
        b"-ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes\r\n"
    );
}

/// CLIENT KILL of the master link inside MULTI takes the link down when it runs,
/// not when the transaction ends: the time a long command after it takes counts as
/// link down time (what a cluster replica's data age, and so its right to fail
/// over, is judged by).
#[test]
fn a_master_link_killed_inside_multi_is_down_from_the_kill() {
    let m = Server::start();
    let r = replica_of(&m);
    let mut rc = r.raw();
    wait_for("the link", Duration::from_secs(10), || {
        (info_field(&mut rc, "master_link_status") == "up").then_some(())
    });
    // The master then serves nobody, so the replica cannot link again.
    let mut mc = m.raw();
    assert_eq!(cmd!(mc, "CLIENT", "PAUSE", "20000", "ALL"), b"+OK\r\n");
    assert_eq!(cmd!(rc, "MULTI"), b"+OK\r\n");
    assert_eq!(cmd!(rc, "CLIENT", "KILL", "TYPE", "master"), b"+QUEUED\r\n");
    assert_eq!(cmd!(rc, "DEBUG", "SLEEP", "2"), b"+QUEUED\r\n");
    assert_eq!(cmd!(rc, "EXEC"), b"*2\r\n:1\r\n+OK\r\n");
    assert_eq!(info_field(&mut rc, "master_link_status"), "down");
    let down: u64 = info_field(&mut rc, "master_link_down_since_seconds").parse().unwrap();
    assert!(down >= 2, "down for {down} s");
}
