//! Sentinel mode: three Sentinels find a master's replica and each other, agree the
//! master is down when it dies, elect a leader, promote the replica and tell
//! subscribers and their config files.
use std::process::Command;
use std::time::Duration;

use crate::harness::{temp_dir, wait_for, Server};

fn start_sentinel(conf: &str) -> Server {
    let dir = temp_dir();
    let path = dir.join("sentinel.conf");
    std::fs::write(&path, conf).unwrap();
    Server::start_custom_in(env!("CARGO_BIN_EXE_ferrodis"), dir, &[], &|c: &mut Command| {
        c.arg(&path).arg("--sentinel");
    })
}

fn sentinel_cmd<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd("SENTINEL");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query(c)
}

/// A field of `SENTINEL MASTER <name>` (a flat list of names and values).
fn master_field(c: &mut redis::Connection, field: &str) -> Option<String> {
    let v: Vec<String> = sentinel_cmd(c, &["MASTER", "mymaster"]).ok()?;
    v.chunks(2).find(|kv| kv[0] == field).map(|kv| kv[1].clone())
}

#[test]
fn sentinels_discover_each_other_and_fail_over_a_dead_master() {
    let mut master = Server::start();
    let replica = Server::start_with(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let mut rc = replica.client();
    wait_for("the replica's link", Duration::from_secs(20), || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut rc).ok()?;
        info.contains("master_link_status:up").then_some(())
    });
    let conf = format!(
        "sentinel monitor mymaster 127.0.0.1 {} 2\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\n",
        master.port
    );
    let sentinels: Vec<Server> = (0..3).map(|_| start_sentinel(&conf)).collect();
    let mut s0 = sentinels[0].client();
    let role: (String, Vec<String>) = redis::cmd("ROLE").query(&mut s0).unwrap();
    assert_eq!(role, ("sentinel".to_string(), vec!["mymaster".to_string()]));
    let addr: (String, u16) = sentinel_cmd(&mut s0, &["GET-MASTER-ADDR-BY-NAME", "mymaster"]).unwrap();
    assert_eq!(addr, ("127.0.0.1".to_string(), master.port));
    let unknown: redis::Value = sentinel_cmd(&mut s0, &["GET-MASTER-ADDR-BY-NAME", "nope"]).unwrap();
    assert_eq!(unknown, redis::Value::Nil);
    let err = sentinel_cmd::<String>(&mut s0, &["MASTER", "nope"]).unwrap_err();
    assert!(err.to_string().contains("No such master with that name"), "{err}");
    // Data commands do not exist here.
    let err = redis::cmd("GET").arg("k").query::<String>(&mut s0).unwrap_err();
    assert!(err.to_string().contains("unknown command"), "{err}");
    for s in &sentinels {
        let mut c = s.client();
        wait_for("the replica and the other Sentinels", Duration::from_secs(30), || {
            (master_field(&mut c, "num-slaves")? == "1" && master_field(&mut c, "num-other-sentinels")? == "2")
                .then_some(())
        });
    }
    // Events are logged as Redis logs them, under Sentinel's role letter.
    let log = sentinels[0].log();
    let monitor = ":X ";
    assert!(
        log.lines().any(|l| l.contains(monitor)
            && l.contains(&format!(
                "# +monitor master mymaster 127.0.0.1 {} quorum 2",
                master.port
            ))),
        "{log}"
    );
    let quorum: String = sentinel_cmd(&mut s0, &["CKQUORUM", "mymaster"]).unwrap();
    assert_eq!(
        quorum,
        "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
    );

    let mut sub = sentinels[1].client();
    let mut ps = sub.as_pubsub();
    ps.subscribe("+switch-master").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let old = master.port;
    master.kill9();
    let msg: String = ps.get_message().unwrap().get_payload().unwrap();
    assert_eq!(msg, format!("mymaster 127.0.0.1 {old} 127.0.0.1 {}", replica.port));
    for s in &sentinels {
        let mut c = s.client();
        wait_for("the new master's address", Duration::from_secs(30), || {
            let a: (String, u16) = sentinel_cmd(&mut c, &["GET-MASTER-ADDR-BY-NAME", "mymaster"]).ok()?;
            (a.1 == replica.port).then_some(())
        });
    }
    // The promotion killed the replica's normal clients (ours too), as Redis's does.
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut replica.client())
        .unwrap();
    assert!(info.contains("role:master"), "{info}");
    // The state is in each Sentinel's config file, with the id it picked.
    let text = std::fs::read_to_string(sentinels[0].dir.join("sentinel.conf")).unwrap();
    assert!(
        text.contains(&format!("sentinel monitor mymaster 127.0.0.1 {} 2", replica.port)),
        "{text}"
    );
    assert!(
        text.contains(&format!("sentinel known-replica mymaster 127.0.0.1 {old}")),
        "{text}"
    );
    let id: String = sentinel_cmd(&mut s0, &["MYID"]).unwrap();
    assert!(text.contains(&format!("sentinel myid {id}")), "{text}");
    assert_eq!(text.matches("sentinel known-sentinel mymaster").count(), 2, "{text}");
    // Epoch events name no instance; a Sentinel logs no data-node lines.
    let log = sentinels[0].log();
    assert!(log.lines().any(|l| l.ends_with("# +new-epoch 1")), "{log}");
    assert!(
        !log.contains("Server initialized") && !log.contains("Ready to accept"),
        "{log}"
    );
}

#[test]
fn a_sentinel_needs_a_config_file_it_can_write() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
        .args(["--sentinel", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Sentinel needs config file on disk to save state. Exiting..."),
        "{text}"
    );
    // Run as redis-sentinel, a bad sentinel line is a config error with its line.
    let dir = temp_dir();
    let link = dir.join("redis-sentinel");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ferrodis"), &link).unwrap();
    let conf = dir.join("s.conf");
    std::fs::write(&conf, "port 0\nsentinel parallel-syncs nope 1\n").unwrap();
    let out = Command::new(&link).arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        err.contains("at line 2") && err.contains("No such master with specified name."),
        "{err}"
    );
}
