//! Cluster mode: nodes meet over the cluster bus, share slot ownership, redirect
//! clients (MOVED, ASK, CROSSSLOT), migrate slots, and promote a replica when its
//! master fails. The interop test mixes ferrodis and redis-server nodes in one cluster.
use std::time::Duration;

use crate::cmd;
use crate::harness::{free_port, wait_for, Raw, Server};

const WAIT: Duration = Duration::from_secs(30);

/// A cluster node: the server and its bus port.
struct Node {
    srv: Server,
    bus: u16,
}

fn start_node(program: Option<&str>) -> Node {
    let bus = free_port();
    let bus_s = bus.to_string();
    let args = [
        "--cluster-enabled",
        "yes",
        "--cluster-node-timeout",
        "1000",
        "--cluster-port",
        &bus_s,
    ];
    let srv = match program {
        None => Server::start_with(&args),
        Some(p) => Server::start_program_in(p, crate::harness::temp_dir(), &args),
    };
    Node { srv, bus }
}

fn text(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

fn cluster_info(c: &mut Raw, field: &str) -> String {
    let t = text(cmd!(c, "CLUSTER", "INFO"));
    t.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn myid(c: &mut Raw) -> String {
    let r = text(cmd!(c, "CLUSTER", "MYID"));
    r.lines().nth(1).unwrap().to_string()
}

/// Meets every node from the first, gives masters equal slot ranges, attaches the
/// rest as replicas (round robin), and waits until every node sees an ok cluster.
fn form(nodes: &[Node], masters: usize) {
    let mut c0 = nodes[0].srv.raw();
    for n in &nodes[1..] {
        let r = cmd!(
            c0,
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            n.srv.port.to_string(),
            n.bus.to_string()
        );
        assert_eq!(r, b"+OK\r\n");
    }
    let per = 16384 / masters;
    for (i, n) in nodes.iter().take(masters).enumerate() {
        let first = i * per;
        let last = if i + 1 == masters { 16383 } else { first + per - 1 };
        let mut c = n.srv.raw();
        assert_eq!(
            cmd!(c, "CLUSTER", "ADDSLOTSRANGE", first.to_string(), last.to_string()),
            b"+OK\r\n"
        );
    }
    let total = nodes.len().to_string();
    for n in nodes {
        let mut c = n.srv.raw();
        wait_for("every node known", WAIT, || {
            (cluster_info(&mut c, "cluster_known_nodes") == total).then_some(())
        });
    }
    for (i, n) in nodes.iter().enumerate().skip(masters) {
        let master = &nodes[i % masters];
        let id = myid(&mut master.srv.raw());
        let mut c = n.srv.raw();
        assert_eq!(cmd!(c, "CLUSTER", "REPLICATE", &id), b"+OK\r\n");
        let mut m = master.srv.raw();
        let mine = myid(&mut c);
        wait_for("the master lists its replica", WAIT, || {
            text(cmd!(m, "CLUSTER", "REPLICAS", &id)).contains(&mine).then_some(())
        });
    }
    for n in nodes {
        let mut c = n.srv.raw();
        wait_for("cluster_state ok", WAIT, || {
            (cluster_info(&mut c, "cluster_state") == "ok").then_some(())
        });
    }
}

#[test]
fn three_masters_share_the_slots_and_redirect_clients() {
    let nodes: Vec<Node> = (0..3).map(|_| start_node(None)).collect();
    form(&nodes, 3);
    let mut c0 = nodes[0].srv.raw();
    assert_eq!(cmd!(c0, "CLUSTER", "KEYSLOT", "foo"), b":12182\r\n");
    assert_eq!(
        cmd!(c0, "CLUSTER", "KEYSLOT", "{user}.a"),
        cmd!(c0, "CLUSTER", "KEYSLOT", "user")
    );
    assert_eq!(cluster_info(&mut c0, "cluster_size"), "3");
    // foo's slot is the third node's.
    let owner = nodes[2].srv.port;
    assert_eq!(
        text(cmd!(c0, "SET", "foo", "bar")),
        format!("-MOVED 12182 127.0.0.1:{owner}\r\n")
    );
    let mut c2 = nodes[2].srv.raw();
    assert_eq!(cmd!(c2, "SET", "foo", "bar"), b"+OK\r\n");
    assert_eq!(cmd!(c2, "GET", "foo"), b"$3\r\nbar\r\n");
    assert_eq!(
        cmd!(c2, "MSET", "foo", "1", "bar", "2"),
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(cmd!(c2, "MSET", "{foo}a", "1", "{foo}b", "2"), b"+OK\r\n");
    assert_eq!(cmd!(c2, "CLUSTER", "COUNTKEYSINSLOT", "12182"), b":3\r\n");
    assert_eq!(
        cmd!(c2, "SELECT", "1"),
        b"-ERR SELECT is not allowed in cluster mode\r\n"
    );
    // Scripts: declared keys route the call; undeclared ones must stay in its slot.
    let script = "#!lua\nredis.call('set', KEYS[1], '1')\nreturn redis.call('get', KEYS[1])";
    assert_eq!(cmd!(c2, "EVAL", script, "1", "{foo}x"), b"$1\r\n1\r\n");
    let script = "#!lua\nreturn redis.call('get', 'a')";
    let r = text(cmd!(c2, "EVAL", script, "1", "{foo}x"));
    assert!(
        r.starts_with("-ERR Script attempted to access keys that do not hash to the same slot"),
        "{r}"
    );
    assert_eq!(
        cmd!(c2, "EVAL", "#!lua flags=no-cluster\nreturn 1", "0"),
        b"-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n"
    );
    // A command of a transaction is redirected as it is queued, which aborts it.
    assert_eq!(cmd!(c0, "MULTI"), b"+OK\r\n");
    assert!(text(cmd!(c0, "GET", "foo")).starts_with("-MOVED 12182 "));
    assert_eq!(
        cmd!(c0, "EXEC"),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Every node agrees on the map, and the map is saved in nodes.conf.
    let slots = cmd!(c0, "CLUSTER", "SLOTS");
    for n in &nodes[1..] {
        assert_eq!(cmd!(n.srv.raw(), "CLUSTER", "SLOTS"), slots);
    }
    let conf = std::fs::read_to_string(nodes[0].srv.dir.join("nodes.conf")).unwrap();
    assert_eq!(conf.lines().count(), 4, "{conf}");
    assert!(
        conf.contains("myself,master") && conf.contains("vars currentEpoch"),
        "{conf}"
    );
    assert_eq!(
        cmd!(c0, "INFO", "cluster"),
        b"$30\r\n# Cluster\r\ncluster_enabled:1\r\n\r\n"
    );
    // SORT may not read keys of other slots through patterns; a constant BY is fine.
    cmd!(c2, "RPUSH", "{foo}l", "2", "1");
    assert_eq!(
        cmd!(c2, "SORT", "{foo}l", "BY", "{foo}w_*"),
        b"-ERR BY option of SORT denied in Cluster mode.\r\n"
    );
    assert_eq!(
        cmd!(c2, "SORT", "{foo}l", "GET", "#"),
        b"-ERR GET option of SORT denied in Cluster mode.\r\n"
    );
    assert_eq!(
        cmd!(c2, "SORT", "{foo}l", "BY", "nosort"),
        b"*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    );
    // CLUSTER LINKS lists, node by node, our link to it and then its link to us.
    let mut rc = nodes[0].srv.client();
    let links: Vec<Vec<(String, redis::Value)>> = wait_for("two links with each peer", Duration::from_secs(10), || {
        let links: Vec<Vec<(String, redis::Value)>> = redis::cmd("CLUSTER").arg("LINKS").query(&mut rc).unwrap();
        (links.len() == 4).then_some(links)
    });
    let field = |l: &Vec<(String, redis::Value)>, name: &str| -> String {
        let v = &l.iter().find(|(k, _)| k == name).unwrap().1;
        redis::from_redis_value(v).unwrap()
    };
    for pair in links.chunks(2) {
        assert_eq!(field(&pair[0], "direction"), "to");
        assert_eq!(field(&pair[1], "direction"), "from");
        assert_eq!(field(&pair[0], "node"), field(&pair[1], "node"));
    }
}

#[test]
fn a_slot_moves_with_ask_redirects_and_migrate() {
    let nodes: Vec<Node> = (0..2).map(|_| start_node(None)).collect();
    form(&nodes, 2);
    // foo (12182) is on the second node; move its slot to the first.
    let (mut src, mut dst) = (nodes[1].srv.raw(), nodes[0].srv.raw());
    let (src_id, dst_id) = (myid(&mut src), myid(&mut dst));
    assert_eq!(cmd!(src, "SET", "foo", "1"), b"+OK\r\n");
    assert_eq!(
        cmd!(dst, "CLUSTER", "SETSLOT", "12182", "IMPORTING", &src_id),
        b"+OK\r\n"
    );
    assert_eq!(
        cmd!(src, "CLUSTER", "SETSLOT", "12182", "MIGRATING", &dst_id),
        b"+OK\r\n"
    );
    // A key still here is served here; a missing one is asked for at the target.
    assert_eq!(cmd!(src, "GET", "foo"), b"$1\r\n1\r\n");
    let port = nodes[0].srv.port;
    assert_eq!(
        text(cmd!(src, "GET", "{foo}new")),
        format!("-ASK 12182 127.0.0.1:{port}\r\n")
    );
    // The target takes the key only from a client that says ASKING, once.
    assert!(text(cmd!(dst, "SET", "{foo}new", "2")).starts_with("-MOVED 12182 "));
    assert_eq!(cmd!(dst, "ASKING"), b"+OK\r\n");
    assert_eq!(cmd!(dst, "SET", "{foo}new", "2"), b"+OK\r\n");
    assert!(text(cmd!(dst, "GET", "{foo}new")).starts_with("-MOVED 12182 "));
    assert_eq!(
        cmd!(src, "CLUSTER", "GETKEYSINSLOT", "12182", "10"),
        b"*1\r\n$3\r\nfoo\r\n"
    );
    let r = cmd!(
        src,
        "MIGRATE",
        "127.0.0.1",
        port.to_string(),
        "",
        "0",
        "5000",
        "KEYS",
        "foo"
    );
    assert_eq!(r, b"+OK\r\n");
    // A subscriber to a shard channel of the slot is told when the slot leaves.
    let mut sub = nodes[1].srv.raw();
    assert_eq!(
        cmd!(sub, "SSUBSCRIBE", "{foo}ch"),
        b"*3\r\n$10\r\nssubscribe\r\n$7\r\n{foo}ch\r\n:1\r\n"
    );
    assert_eq!(cmd!(dst, "CLUSTER", "SETSLOT", "12182", "NODE", &dst_id), b"+OK\r\n");
    assert_eq!(cmd!(src, "CLUSTER", "SETSLOT", "12182", "NODE", &dst_id), b"+OK\r\n");
    assert_eq!(sub.read(), b"*3\r\n$12\r\nsunsubscribe\r\n$7\r\n{foo}ch\r\n:0\r\n");
    assert_eq!(cmd!(dst, "GET", "foo"), b"$1\r\n1\r\n");
    assert_eq!(
        text(cmd!(src, "GET", "foo")),
        format!("-MOVED 12182 127.0.0.1:{port}\r\n")
    );
    // The new owner's claim reaches the other node by gossip too (epoch bumped).
    let mut other = nodes[1].srv.raw();
    wait_for("the move is agreed", WAIT, || {
        (cmd!(other, "CLUSTER", "SLOTS") == cmd!(dst, "CLUSTER", "SLOTS")).then_some(())
    });
}

#[test]
fn a_replica_takes_over_when_its_master_dies() {
    let mut nodes: Vec<Node> = (0..4).map(|_| start_node(None)).collect();
    form(&nodes, 3);
    // The replica (node 3) follows node 0, which owns slot 0..5460 ("bar" is 5061).
    let mut m = nodes[0].srv.raw();
    assert_eq!(cmd!(m, "SET", "bar", "kept"), b"+OK\r\n");
    let mut r = nodes[3].srv.raw();
    wait_for("the replica has the write", WAIT, || {
        cmd!(r, "READONLY");
        (cmd!(r, "GET", "bar") == b"$4\r\nkept\r\n").then_some(())
    });
    let old = myid(&mut m);
    nodes[0].srv.kill9();
    let mut c1 = nodes[1].srv.raw();
    wait_for("the replica is promoted", WAIT, || {
        let t = text(cmd!(c1, "CLUSTER", "NODES"));
        let promoted = t.lines().any(|l| {
            l.contains(&format!(":{}@", nodes[3].srv.port)) && l.contains(" master ") && l.ends_with("0-5460")
        });
        (promoted && cluster_info(&mut c1, "cluster_state") == "ok").then_some(())
    });
    assert!(text(cmd!(c1, "CLUSTER", "NODES"))
        .lines()
        .any(|l| l.starts_with(&old) && l.contains("fail")));
    let mut r = nodes[3].srv.raw();
    assert_eq!(cmd!(r, "GET", "bar"), b"$4\r\nkept\r\n");
    assert_eq!(cmd!(r, "SET", "bar", "new"), b"+OK\r\n");
    assert!(nodes[3]
        .srv
        .log()
        .contains("Failover election won: I'm the new master."));
}

#[test]
fn cluster_commands_answer_disabled_without_cluster_mode() {
    let s = Server::start();
    let mut c = s.raw();
    let e = b"-ERR This instance has cluster support disabled\r\n";
    assert_eq!(cmd!(c, "CLUSTER", "INFO"), e);
    assert_eq!(cmd!(c, "READONLY"), e);
    assert_eq!(cmd!(c, "ASKING"), e);
    assert_eq!(
        cmd!(c, "INFO", "cluster"),
        b"$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
}

/// ferrodis and redis-server nodes in one cluster: they meet, agree on slots, and a
/// redis-server replica of a ferrodis master wins the election when it dies.
#[test]
#[ignore = "needs redis-server; run by .ci/run"]
fn ferrodis_and_redis_nodes_form_one_cluster() {
    let mut nodes = vec![
        start_node(None),
        start_node(Some("redis-server")),
        start_node(None),
        start_node(Some("redis-server")),
    ];
    form(&nodes, 3);
    let mut c = nodes[1].srv.raw();
    let slots = cmd!(c, "CLUSTER", "SLOTS");
    for n in &nodes {
        assert_eq!(cmd!(n.srv.raw(), "CLUSTER", "SLOTS"), slots);
    }
    let mut m = nodes[0].srv.raw();
    assert_eq!(cmd!(m, "SET", "bar", "kept"), b"+OK\r\n");
    let mut r = nodes[3].srv.raw();
    wait_for("the redis replica has the write", WAIT, || {
        cmd!(r, "READONLY");
        (cmd!(r, "GET", "bar") == b"$4\r\nkept\r\n").then_some(())
    });
    nodes[0].srv.kill9();
    wait_for("the redis replica is promoted", WAIT, || {
        let t = text(cmd!(c, "CLUSTER", "NODES"));
        let promoted = t.lines().any(|l| {
            l.contains(&format!(":{}@", nodes[3].srv.port)) && l.contains(" master ") && l.ends_with("0-5460")
        });
        (promoted && cluster_info(&mut c, "cluster_state") == "ok").then_some(())
    });
    let mut f = nodes[2].srv.raw();
    wait_for("the ferrodis node agrees", WAIT, || {
        (cmd!(f, "CLUSTER", "SLOTS") == cmd!(c, "CLUSTER", "SLOTS")).then_some(())
    });
}
