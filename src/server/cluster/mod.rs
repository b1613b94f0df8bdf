//! Cluster mode (`cluster-enabled yes`): this node's view of the cluster (nodes,
//! slot owners, epochs), its `cluster-config-file`, the routing of commands by hash
//! slot (MOVED, ASK, CROSSSLOT, CLUSTERDOWN) and the cluster bus (`bus`), which speaks
//! Redis 7.0's binary protocol so ferrodis and redis-server nodes can form one cluster.
//! Redis compat: cluster.c.
pub mod bus;
pub mod elect;
pub mod msg;
pub mod route;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;

use slab::Slab;
use tracing::warn;

pub use msg::{Name, SlotBits, NAMELEN, SLOTS, SLOT_BYTES};

/// Node flags. Redis compat: cluster.h CLUSTER_NODE_*.
pub const MASTER: u16 = 1;
pub const SLAVE: u16 = 2;
pub const PFAIL: u16 = 4;
pub const FAIL: u16 = 8;
pub const MYSELF: u16 = 16;
pub const HANDSHAKE: u16 = 32;
pub const NOADDR: u16 = 64;
pub const MEET: u16 = 128;
pub const MIGRATE_TO: u16 = 256;
pub const NOFAILOVER: u16 = 512;

/// No node (in the slot tables).
pub const NONE: u32 = u32::MAX;

/// Work left for before the loop sleeps. Redis compat: CLUSTER_TODO_*.
pub const TODO_HANDLE_FAILOVER: u8 = 1;
pub const TODO_UPDATE_STATE: u8 = 2;
pub const TODO_SAVE_CONFIG: u8 = 4;
pub const TODO_FSYNC_CONFIG: u8 = 8;
pub const TODO_HANDLE_MANUALFAILOVER: u8 = 16;

/// How long a forgotten node may not be re-added by gossip (seconds).
/// Redis compat: CLUSTER_BLACKLIST_TTL.
pub const BLACKLIST_TTL_S: i64 = 60;
const FAIL_REPORT_VALIDITY_MULT: i64 = 2;
pub const FAIL_UNDO_TIME_MULT: i64 = 2;
pub const MF_TIMEOUT: i64 = 5000;
pub const MF_PAUSE_MULT: i64 = 2;
const MAX_REJOIN_DELAY: i64 = 5000;
const MIN_REJOIN_DELAY: i64 = 500;
const WRITABLE_DELAY: i64 = 2000;

const FLAG_NAMES: [(u16, &str); 8] = [
    (MYSELF, "myself"),
    (MASTER, "master"),
    (SLAVE, "slave"),
    (PFAIL, "fail?"),
    (FAIL, "fail"),
    (HANDSHAKE, "handshake"),
    (NOADDR, "noaddr"),
    (NOFAILOVER, "nofailover"),
];

pub struct Node {
    pub name: Name,
    pub flags: u16,
    /// When this node entry was created (handshakes time out from it).
    pub ctime: i64,
    pub config_epoch: u64,
    pub slots: Box<SlotBits>,
    pub numslots: u32,
    pub slaves: Vec<usize>,
    pub slaveof: Option<usize>,
    /// When our unanswered PING went out (0: none), when its PONG came back, when any
    /// data came from it, when it was flagged FAIL, when we last voted for one of its
    /// replicas.
    pub ping_sent: i64,
    pub pong_received: i64,
    pub data_received: i64,
    pub fail_time: i64,
    pub voted_time: i64,
    pub repl_offset_time: i64,
    pub orphaned_time: i64,
    pub repl_offset: u64,
    pub ip: String,
    pub port: u16,
    pub pport: u16,
    pub cport: u16,
    pub hostname: String,
    /// Our link to it, and its link to us.
    pub link: Option<usize>,
    pub inbound_link: Option<usize>,
    /// Masters that told us this node is unreachable: (reporter, when).
    pub fail_reports: Vec<(usize, i64)>,
}

impl Node {
    pub fn new(name: Name, flags: u16, now: i64) -> Node {
        Node {
            name,
            flags,
            ctime: now,
            config_epoch: 0,
            slots: Box::new([0; SLOT_BYTES]),
            numslots: 0,
            slaves: Vec::new(),
            slaveof: None,
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            fail_time: 0,
            voted_time: 0,
            repl_offset_time: 0,
            orphaned_time: 0,
            repl_offset: 0,
            ip: String::new(),
            port: 0,
            pport: 0,
            cport: 0,
            hostname: String::new(),
            link: None,
            inbound_link: None,
            fail_reports: Vec::new(),
        }
    }
    pub fn is_master(&self) -> bool {
        self.flags & MASTER != 0
    }
    pub fn is_slave(&self) -> bool {
        self.flags & SLAVE != 0
    }
    pub fn failed(&self) -> bool {
        self.flags & FAIL != 0
    }
    pub fn timed_out(&self) -> bool {
        self.flags & PFAIL != 0
    }
    pub fn in_handshake(&self) -> bool {
        self.flags & HANDSHAKE != 0
    }
    pub fn has_addr(&self) -> bool {
        self.flags & NOADDR == 0
    }
    pub fn name_str(&self) -> &str {
        std::str::from_utf8(&self.name).unwrap_or("")
    }
}

/// Settings the cluster reads often, refreshed from the configuration by cron.
#[derive(Clone, Default)]
pub struct Settings {
    pub node_timeout: i64,
    pub announce_ip: String,
    pub announce_hostname: String,
    pub announce_port: u16,
    pub announce_bus_port: u16,
    pub port: u16,
    /// The plaintext port we announce beside a TLS one (`tls-cluster`); 0: none.
    pub pport: u16,
    pub bus_port: u16,
    /// `tls-cluster`: the bus speaks TLS, and `port` is the TLS port.
    pub tls: bool,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    pub allow_pubsubshard_when_down: bool,
    pub allow_replica_migration: bool,
    pub migration_barrier: i64,
    pub replica_validity_factor: i64,
    pub replica_no_failover: bool,
    /// 0 ip, 1 hostname, 2 unknown-endpoint.
    pub endpoint_type: u8,
    pub repl_ping_period_ms: i64,
    pub link_sendbuf_limit: u64,
}

pub struct Cluster {
    pub nodes: Slab<Node>,
    pub by_name: HashMap<Name, usize>,
    pub myself: usize,
    /// Owner, migration target and import source of every slot (`NONE`: none).
    pub slots: Vec<u32>,
    pub migrating: Vec<u32>,
    pub importing: Vec<u32>,
    /// Slots whose owner stopped claiming them (only its replicas may still).
    pub owner_not_claiming: Box<SlotBits>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    pub ok: bool,
    /// Masters serving at least one slot.
    pub size: usize,
    pub todo: u8,
    pub sent: [u64; msg::TYPES],
    pub received: [u64; msg::TYPES],
    pub links_buffer_limit_exceeded: u64,
    /// Forgotten nodes, until when they stay forgotten (unix seconds).
    pub blacklist: HashMap<Name, i64>,
    pub links: Slab<bus::Link>,
    pub listeners: Vec<mio::net::TcpListener>,
    pub path: std::path::PathBuf,
    /// Holds the exclusive lock on the config file while we run.
    lock: Option<std::fs::File>,
    pub settings: Settings,
    pub pfail_nodes: usize,
    pub iteration: u64,
    pub pings_sent: u64,
    /// When each node last went into a PING's gossip (by `pings_sent`).
    pub last_in_gossip: HashMap<usize, u64>,
    pub first_update_ms: i64,
    pub among_minority_ms: i64,
    /// Our replication offset (master: produced; replica: applied).
    pub repl_offset: u64,
    /// The slot of the keys of the command running (scripts may only use that one).
    pub cmd_slot: Option<u16>,
    /// DEBUG DROP-CLUSTER-PACKET-FILTER: the message type dropped on arrival (-1: none).
    pub drop_filter: i64,
    /// Slots our shard stopped serving whose shard channels are still to be dropped.
    pub lost_channel_slots: Vec<u16>,
    // Replica elections. Redis compat: clusterState failover_auth_*.
    pub failover_auth_time: i64,
    pub failover_auth_count: usize,
    pub failover_auth_sent: bool,
    pub failover_auth_rank: usize,
    pub failover_auth_epoch: u64,
    pub cant_failover_reason: u8,
    pub lastlog_time: i64,
    // Manual failover. Redis compat: clusterState mf_*.
    pub mf_end: i64,
    pub mf_slave: Option<usize>,
    pub mf_master_offset: i64,
    pub mf_can_start: bool,
}

/// A random node name: 40 lowercase hex characters, like a replication id.
pub fn random_name() -> Name {
    let mut n = [b'0'; NAMELEN];
    let id = crate::server::repl::new_replid();
    let len = id.len().min(NAMELEN);
    n[..len].copy_from_slice(&id.as_bytes()[..len]);
    n
}

/// A name given by a client, if it has the right length.
pub fn parse_name(b: &[u8]) -> Option<Name> {
    b.try_into().ok()
}

pub use crate::util::slot::key_slot;

impl Cluster {
    /// A cluster with only ourselves in it.
    fn with_myself(path: std::path::PathBuf, now: i64) -> Cluster {
        let mut nodes = Slab::new();
        let name = random_name();
        let myself = nodes.insert(Node::new(name, MYSELF | MASTER, now));
        let mut by_name = HashMap::new();
        by_name.insert(name, myself);
        Cluster {
            nodes,
            by_name,
            myself,
            slots: vec![NONE; SLOTS],
            migrating: vec![NONE; SLOTS],
            importing: vec![NONE; SLOTS],
            owner_not_claiming: Box::new([0; SLOT_BYTES]),
            current_epoch: 0,
            last_vote_epoch: 0,
            ok: false,
            size: 1,
            todo: 0,
            sent: [0; msg::TYPES],
            received: [0; msg::TYPES],
            links_buffer_limit_exceeded: 0,
            blacklist: HashMap::new(),
            links: Slab::new(),
            listeners: Vec::new(),
            path,
            lock: None,
            settings: Settings::default(),
            pfail_nodes: 0,
            iteration: 0,
            pings_sent: 0,
            last_in_gossip: HashMap::new(),
            first_update_ms: 0,
            among_minority_ms: 0,
            repl_offset: 0,
            cmd_slot: None,
            drop_filter: -1,
            lost_channel_slots: Vec::new(),
            failover_auth_time: 0,
            failover_auth_count: 0,
            failover_auth_sent: false,
            failover_auth_rank: 0,
            failover_auth_epoch: 0,
            cant_failover_reason: 0,
            lastlog_time: 0,
            mf_end: 0,
            mf_slave: None,
            mf_master_offset: -1,
            mf_can_start: false,
        }
    }

    pub fn me(&self) -> &Node {
        &self.nodes[self.myself]
    }

    pub fn me_mut(&mut self) -> &mut Node {
        let m = self.myself;
        &mut self.nodes[m]
    }

    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        self.by_name.get(&parse_name(name)?).copied()
    }

    pub fn node(&self, id: u32) -> Option<&Node> {
        if id == NONE {
            None
        } else {
            self.nodes.get(id as usize)
        }
    }

    pub fn i_am_master(&self) -> bool {
        self.me().is_master()
    }

    /// The master whose slots we serve: ourselves, or our master.
    pub fn my_master(&self) -> usize {
        match self.me().slaveof {
            Some(m) if self.me().is_slave() => m,
            _ => self.myself,
        }
    }

    pub fn do_before_sleep(&mut self, flags: u8) {
        self.todo |= flags;
    }

    pub fn add_node(&mut self, node: Node) -> usize {
        let name = node.name;
        let id = self.nodes.insert(node);
        self.by_name.insert(name, id);
        id
    }

    /// Gives slot `j` to `n`; false if someone owns it.
    pub fn add_slot(&mut self, n: usize, j: usize) -> bool {
        if self.slots[j] != NONE {
            return false;
        }
        let node = &mut self.nodes[n];
        if !msg::bit(&node.slots, j) {
            msg::set_bit(&mut node.slots, j, true);
            node.numslots += 1;
        }
        self.slots[j] = n as u32;
        true
    }

    /// Makes slot `j` unowned; false if it was.
    pub fn del_slot(&mut self, j: usize) -> bool {
        let owner = self.slots[j];
        if owner == NONE {
            return false;
        }
        // Our shard stops serving it: its shard channels go (before the loop sleeps).
        if owner as usize == self.my_master() {
            self.lost_channel_slots.push(j as u16);
        }
        if let Some(node) = self.nodes.get_mut(owner as usize) {
            if msg::bit(&node.slots, j) {
                msg::set_bit(&mut node.slots, j, false);
                node.numslots -= 1;
            }
        }
        self.slots[j] = NONE;
        msg::set_bit(&mut self.owner_not_claiming, j, false);
        true
    }

    /// Unassigns every slot of node `n`; returns how many.
    pub fn del_node_slots(&mut self, n: usize) -> usize {
        let mut k = 0;
        for j in 0..SLOTS {
            if self.slots[j] == n as u32 {
                self.del_slot(j);
                k += 1;
            }
        }
        k
    }

    pub fn add_slave(&mut self, master: usize, slave: usize) {
        if let Some(m) = self.nodes.get_mut(master) {
            if !m.slaves.contains(&slave) {
                m.slaves.push(slave);
            }
            m.flags |= MIGRATE_TO;
        }
    }

    pub fn remove_slave(&mut self, master: usize, slave: usize) {
        if let Some(m) = self.nodes.get_mut(master) {
            m.slaves.retain(|&s| s != slave);
            if m.slaves.is_empty() {
                m.flags &= !MIGRATE_TO;
            }
        }
    }

    /// Flags `n` as a master. Redis compat: cluster.c clusterSetNodeAsMaster.
    pub fn set_node_as_master(&mut self, n: usize) {
        if self.nodes[n].is_master() {
            return;
        }
        if let Some(m) = self.nodes[n].slaveof {
            self.remove_slave(m, n);
            if n != self.myself {
                self.nodes[n].flags |= MIGRATE_TO;
            }
        }
        let node = &mut self.nodes[n];
        node.flags &= !SLAVE;
        node.flags |= MASTER;
        node.slaveof = None;
        self.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
    }

    /// Removes a node and everything that points at it. Redis compat: cluster.c
    /// clusterDelNode, freeClusterNode.
    pub fn del_node(&mut self, n: usize) -> Vec<usize> {
        for j in 0..SLOTS {
            if self.importing[j] == n as u32 {
                self.importing[j] = NONE;
            }
            if self.migrating[j] == n as u32 {
                self.migrating[j] = NONE;
            }
            if self.slots[j] == n as u32 {
                self.slots[j] = NONE;
            }
        }
        for (_, other) in self.nodes.iter_mut() {
            other.fail_reports.retain(|&(r, _)| r != n);
        }
        let Some(node) = self.nodes.try_remove(n) else {
            return Vec::new();
        };
        for s in &node.slaves {
            if let Some(s) = self.nodes.get_mut(*s) {
                s.slaveof = None;
            }
        }
        if let Some(m) = node.slaveof.filter(|_| node.is_slave()) {
            self.remove_slave(m, n);
        }
        if self.by_name.get(&node.name) == Some(&n) {
            self.by_name.remove(&node.name);
        }
        self.last_in_gossip.remove(&n);
        if self.mf_slave == Some(n) {
            self.mf_slave = None;
        }
        // The caller frees these links.
        node.link.into_iter().chain(node.inbound_link).collect()
    }

    pub fn rename_node(&mut self, n: usize, name: Name) {
        let old = self.nodes[n].name;
        if self.by_name.get(&old) == Some(&n) {
            self.by_name.remove(&old);
        }
        self.nodes[n].name = name;
        self.by_name.insert(name, n);
    }

    /// Adds (or refreshes) `reporter`'s report that `n` is failing.
    pub fn add_failure_report(&mut self, n: usize, reporter: usize, now: i64) -> bool {
        let node = &mut self.nodes[n];
        if let Some(r) = node.fail_reports.iter_mut().find(|r| r.0 == reporter) {
            r.1 = now;
            return false;
        }
        node.fail_reports.push((reporter, now));
        true
    }

    pub fn del_failure_report(&mut self, n: usize, reporter: usize, now: i64) -> bool {
        self.clean_failure_reports(n, now);
        let node = &mut self.nodes[n];
        let before = node.fail_reports.len();
        node.fail_reports.retain(|r| r.0 != reporter);
        node.fail_reports.len() != before
    }

    fn clean_failure_reports(&mut self, n: usize, now: i64) {
        let max_age = self.settings.node_timeout * FAIL_REPORT_VALIDITY_MULT;
        self.nodes[n].fail_reports.retain(|r| now - r.1 <= max_age);
    }

    pub fn failure_reports(&mut self, n: usize, now: i64) -> usize {
        self.clean_failure_reports(n, now);
        self.nodes[n].fail_reports.len()
    }

    /// The highest config epoch known. Redis compat: clusterGetMaxEpoch.
    pub fn max_epoch(&self) -> u64 {
        self.nodes
            .iter()
            .map(|(_, n)| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
    }

    /// Gives ourselves a config epoch greater than any other (when ours is not the
    /// only highest already). Redis compat: clusterBumpConfigEpochWithoutConsensus.
    pub fn bump_epoch_without_consensus(&mut self) -> bool {
        let max = self.max_epoch();
        let me = self.me().config_epoch;
        if me == 0 || me != max {
            self.current_epoch += 1;
            let e = self.current_epoch;
            self.me_mut().config_epoch = e;
            self.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
            warn!("New configEpoch set to {e}");
            true
        } else {
            false
        }
    }

    /// Recomputes whether the cluster is up. Redis compat: cluster.c clusterUpdateState.
    pub fn update_state(&mut self, now: i64) {
        self.todo &= !TODO_UPDATE_STATE;
        if self.first_update_ms == 0 {
            self.first_update_ms = now;
        }
        if self.i_am_master() && !self.ok && now - self.first_update_ms < WRITABLE_DELAY {
            return;
        }
        let mut new_ok = true;
        if self.settings.require_full_coverage {
            new_ok = self.slots.iter().all(|&o| self.node(o).is_some_and(|n| !n.failed()));
        }
        let mut reachable = 0;
        self.size = 0;
        for (_, n) in self.nodes.iter() {
            if n.is_master() && n.numslots > 0 {
                self.size += 1;
                if n.flags & (FAIL | PFAIL) == 0 {
                    reachable += 1;
                }
            }
        }
        if reachable < self.size / 2 + 1 {
            new_ok = false;
            self.among_minority_ms = now;
        }
        if new_ok != self.ok {
            let rejoin = self.settings.node_timeout.clamp(MIN_REJOIN_DELAY, MAX_REJOIN_DELAY);
            if new_ok && self.i_am_master() && now - self.among_minority_ms < rejoin {
                return;
            }
            warn!("Cluster state changed: {}", if new_ok { "ok" } else { "fail" });
            self.ok = new_ok;
        }
    }

    /// The address clients are sent to for node `n` in MOVED/ASK and CLUSTER SHARDS:
    /// its IP, its hostname ("?" when it has none), or nothing (unknown-endpoint).
    /// Redis compat: cluster.c getPreferredEndpoint.
    pub fn endpoint(&self, n: &Node) -> String {
        match self.settings.endpoint_type {
            0 => n.ip.clone(),
            1 if !n.hostname.is_empty() => n.hostname.clone(),
            1 => "?".into(),
            _ => String::new(),
        }
    }

    /// The epoch shown for a node: a replica shows its master's.
    fn node_epoch(&self, n: &Node) -> u64 {
        match n.slaveof.and_then(|m| self.nodes.get(m)) {
            Some(m) if n.is_slave() => m.config_epoch,
            _ => n.config_epoch,
        }
    }

    /// The port of node `n` given to a client: with tls-cluster, a client not on
    /// TLS (`plain`) gets the plaintext port when the node announced one.
    pub fn shown_port(&self, n: &Node, plain: bool) -> u16 {
        if plain && self.settings.tls && n.pport != 0 {
            n.pport
        } else {
            n.port
        }
    }

    /// One line of CLUSTER NODES (and of the config file), without its newline;
    /// `plain` as for `shown_port`. Redis compat: cluster.c clusterGenNodeDescription.
    pub fn describe(&self, id: usize, plain: bool) -> String {
        let n = &self.nodes[id];
        let mut s = String::with_capacity(128);
        s.push_str(n.name_str());
        let _ = write!(s, " {}:{}@{}", n.ip, self.shown_port(n, plain), n.cport);
        if !n.hostname.is_empty() {
            let _ = write!(s, ",{}", n.hostname);
        }
        s.push(' ');
        let flags: Vec<&str> = FLAG_NAMES
            .iter()
            .filter(|(f, _)| n.flags & f != 0)
            .map(|(_, name)| *name)
            .collect();
        s.push_str(&if flags.is_empty() {
            "noflags".to_string()
        } else {
            flags.join(",")
        });
        match n.slaveof.and_then(|m| self.nodes.get(m)) {
            Some(m) => {
                s.push(' ');
                s.push_str(m.name_str());
            }
            None => s.push_str(" -"),
        }
        let connected = n.link.is_some() || n.flags & MYSELF != 0;
        let _ = write!(
            s,
            " {} {} {} {}",
            n.ping_sent,
            n.pong_received,
            self.node_epoch(n),
            if connected { "connected" } else { "disconnected" }
        );
        for (a, b) in slot_ranges(&n.slots) {
            if a == b {
                let _ = write!(s, " {a}");
            } else {
                let _ = write!(s, " {a}-{b}");
            }
        }
        if n.flags & MYSELF != 0 {
            for j in 0..SLOTS {
                if let Some(t) = self.node(self.migrating[j]) {
                    let _ = write!(s, " [{j}->-{}]", t.name_str());
                } else if let Some(f) = self.node(self.importing[j]) {
                    let _ = write!(s, " [{j}-<-{}]", f.name_str());
                }
            }
        }
        s
    }

    /// CLUSTER NODES: every node but those filtered out by `skip` flags.
    pub fn describe_all(&self, skip: u16, plain: bool) -> String {
        let mut s = String::new();
        for (id, n) in self.nodes.iter() {
            if n.flags & skip != 0 {
                continue;
            }
            s.push_str(&self.describe(id, plain));
            s.push('\n');
        }
        s
    }

    /// Writes the config file (in place: the file stays locked by this process).
    /// Redis compat: cluster.c clusterSaveConfig.
    pub fn save_config(&mut self, fsync: bool) -> std::io::Result<()> {
        self.todo &= !(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
        let mut text = self.describe_all(HANDSHAKE, false);
        let _ = writeln!(
            text,
            "vars currentEpoch {} lastVoteEpoch {}",
            self.current_epoch, self.last_vote_epoch
        );
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        f.write_all(text.as_bytes())?;
        f.set_len(text.len() as u64)?;
        if fsync {
            f.sync_all()?;
        }
        Ok(())
    }

    /// Loads the config file; Ok(false) when there is none. Redis compat: cluster.c
    /// clusterLoadConfig.
    fn load_config(&mut self, now: i64) -> Result<bool, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(format!(
                    "Loading the cluster node config from {}: {e}",
                    self.path.display()
                ))
            }
        };
        if text.trim().is_empty() {
            return Ok(false);
        }
        // Start from nothing: the file names every node, ourselves included.
        self.nodes.clear();
        self.by_name.clear();
        let mut myself = None;
        let corrupt = |line: &str| format!("Unrecoverable error: corrupted cluster config file \"{line}\".");
        for line in text.lines() {
            let argv: Vec<&str> = line.split_whitespace().collect();
            if argv.is_empty() {
                continue;
            }
            if argv[0] == "vars" {
                let mut i = 1;
                while i + 1 < argv.len() {
                    let v = argv[i + 1].parse::<u64>().unwrap_or(0);
                    match argv[i] {
                        "currentEpoch" => self.current_epoch = v,
                        "lastVoteEpoch" => self.last_vote_epoch = v,
                        other => warn!("Skipping unknown cluster config variable '{other}'"),
                    }
                    i += 2;
                }
                continue;
            }
            if argv.len() < 8 {
                return Err(corrupt(line));
            }
            let name = parse_name(argv[0].as_bytes()).ok_or_else(|| corrupt(line))?;
            let n = match self.by_name.get(&name) {
                Some(&n) => n,
                None => self.add_node(Node::new(name, 0, now)),
            };
            let (addr, hostname) = match argv[1].split_once(',') {
                Some((a, h)) => (a, h.to_string()),
                None => (argv[1], String::new()),
            };
            let (hostport, cport) = match addr.split_once('@') {
                Some((hp, c)) => (hp, c.parse::<u16>().ok()),
                None => (addr, None),
            };
            let (ip, port) = hostport.rsplit_once(':').ok_or_else(|| corrupt(line))?;
            let port: u16 = port.parse().map_err(|_| corrupt(line))?;
            {
                let node = &mut self.nodes[n];
                node.ip = ip.to_string();
                node.port = port;
                node.cport = cport.unwrap_or(port.wrapping_add(10000));
                node.hostname = hostname;
            }
            for f in argv[2].split(',') {
                let node = &mut self.nodes[n];
                match f {
                    "myself" => {
                        node.flags |= MYSELF;
                        myself = Some(n);
                    }
                    "master" => node.flags |= MASTER,
                    "slave" => node.flags |= SLAVE,
                    "fail?" => node.flags |= PFAIL,
                    "fail" => {
                        node.flags |= FAIL;
                        node.fail_time = now;
                    }
                    "handshake" => node.flags |= HANDSHAKE,
                    "noaddr" => node.flags |= NOADDR,
                    "nofailover" => node.flags |= NOFAILOVER,
                    "noflags" => {}
                    _ => return Err(format!("Unknown flag in redis cluster config file: {f}")),
                }
            }
            if argv[3] != "-" {
                let mname = parse_name(argv[3].as_bytes()).ok_or_else(|| corrupt(line))?;
                let m = match self.by_name.get(&mname) {
                    Some(&m) => m,
                    None => self.add_node(Node::new(mname, 0, now)),
                };
                self.nodes[n].slaveof = Some(m);
                self.add_slave(m, n);
            }
            let node = &mut self.nodes[n];
            if argv[4].parse::<i64>().unwrap_or(0) != 0 {
                node.ping_sent = now;
            }
            if argv[5].parse::<i64>().unwrap_or(0) != 0 {
                node.pong_received = now;
            }
            node.config_epoch = argv[6].parse().map_err(|_| corrupt(line))?;
            for s in &argv[8..] {
                if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                    let (slot, dir, other) = if let Some((a, b)) = inner.split_once("->-") {
                        (a, true, b)
                    } else if let Some((a, b)) = inner.split_once("-<-") {
                        (a, false, b)
                    } else {
                        return Err(corrupt(line));
                    };
                    let slot: usize = slot.parse().ok().filter(|&j| j < SLOTS).ok_or_else(|| corrupt(line))?;
                    let oname = parse_name(other.as_bytes()).ok_or_else(|| corrupt(line))?;
                    let o = match self.by_name.get(&oname) {
                        Some(&o) => o,
                        None => self.add_node(Node::new(oname, 0, now)),
                    };
                    if dir {
                        self.migrating[slot] = o as u32;
                    } else {
                        self.importing[slot] = o as u32;
                    }
                    continue;
                }
                let (a, b) = match s.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (*s, *s),
                };
                let a: usize = a.parse().map_err(|_| corrupt(line))?;
                let b: usize = b.parse().map_err(|_| corrupt(line))?;
                if a > b || b >= SLOTS {
                    return Err(corrupt(line));
                }
                for j in a..=b {
                    self.add_slot(n, j);
                }
            }
        }
        let Some(me) = myself else {
            return Err("Unrecoverable error: corrupted cluster config file \"myself\" node not found.".into());
        };
        self.myself = me;
        self.current_epoch = self.current_epoch.max(self.max_epoch());
        Ok(true)
    }

    /// Opens (or creates) the cluster state from `path`, locking the file.
    pub fn open(path: std::path::PathBuf, now: i64) -> Result<Cluster, String> {
        let mut cl = Cluster::with_myself(path, now);
        let loaded = cl.load_config(now)?;
        if !loaded {
            tracing::info!("No cluster configuration found, I'm {}", cl.me().name_str());
            cl.save_config(true)
                .map_err(|e| format!("Fatal: can't update cluster config file: {e}"))?;
        } else {
            tracing::info!("Node configuration loaded, I'm {:.40}", cl.me().name_str());
        }
        cl.lock_config()?;
        Ok(cl)
    }

    /// Takes an exclusive lock on the config file, so two nodes never share it.
    /// Redis compat: cluster.c clusterLockConfig.
    fn lock_config(&mut self) -> Result<(), String> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| format!("Can't open {} in order to acquire a lock: {e}", self.path.display()))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == -1 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return Err(format!("Sorry, the cluster configuration file {} is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files.", self.path.display()));
            }
            return Err(format!("Impossible to lock {}: {e}", self.path.display()));
        }
        self.lock = Some(f);
        Ok(())
    }

    /// Blacklist a node name for a while (CLUSTER FORGET).
    pub fn blacklist_add(&mut self, name: Name, now_s: i64) {
        self.blacklist.retain(|_, &mut exp| exp >= now_s);
        self.blacklist.insert(name, now_s + BLACKLIST_TTL_S);
    }

    pub fn blacklisted(&mut self, name: &Name, now_s: i64) -> bool {
        self.blacklist.retain(|_, &mut exp| exp >= now_s);
        self.blacklist.contains_key(name)
    }

    /// Closes every open slot migration or import. Redis compat: clusterCloseAllSlots.
    pub fn close_all_slots(&mut self) {
        self.migrating.iter_mut().for_each(|s| *s = NONE);
        self.importing.iter_mut().for_each(|s| *s = NONE);
    }

    /// The nodes holding the slots of `n`'s shard: its master first, then replicas.
    pub fn shard_of(&self, n: usize) -> Vec<usize> {
        let master = match self.nodes[n].slaveof {
            Some(m) if self.nodes[n].is_slave() => m,
            _ => n,
        };
        let mut v = vec![master];
        if let Some(m) = self.nodes.get(master) {
            v.extend(m.slaves.iter().copied());
        }
        v
    }
}

/// The (first, last) runs of set bits in a slot bitmap.
pub fn slot_ranges(bits: &SlotBits) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut start = None;
    for j in 0..SLOTS {
        let on = msg::bit(bits, j);
        match (on, start) {
            (true, None) => start = Some(j),
            (false, Some(s)) => {
                v.push((s, j - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        v.push((s, SLOTS - 1));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_slots_match_redis() {
        // Values from Redis's CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"key9184688"), 10923);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // An empty tag hashes the whole key; only the first tag counts.
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    #[test]
    fn the_config_file_round_trips() {
        let dir = std::env::temp_dir().join(format!("ferrodis-cl-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("nodes.conf");
        let _ = std::fs::remove_file(&path);
        let mut a = Cluster::with_myself(path.clone(), 1);
        for j in 0..100 {
            a.add_slot(a.myself, j);
        }
        a.add_slot(a.myself, 200);
        let other = a.add_node(Node::new(random_name(), MASTER, 1));
        a.nodes[other].ip = "127.0.0.1".into();
        a.nodes[other].port = 7001;
        a.nodes[other].cport = 17001;
        a.migrating[5] = other as u32;
        a.current_epoch = 7;
        a.me_mut().config_epoch = 3;
        a.save_config(false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(" 0-99 200 [5->-"), "{text}");
        assert!(text.ends_with("vars currentEpoch 7 lastVoteEpoch 0\n"), "{text}");
        let mut b = Cluster::with_myself(path.clone(), 1);
        assert!(b.load_config(1).unwrap());
        assert_eq!(b.me().name, a.me().name);
        assert_eq!(b.me().numslots, 101);
        assert_eq!(b.current_epoch, 7);
        assert_eq!(b.me().config_epoch, 3);
        assert_eq!(b.node(b.migrating[5]).map(|n| n.port), Some(7001));
        assert_eq!(b.describe_all(0, false), a.describe_all(0, false));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn slot_ranges_are_runs() {
        let mut bits = [0u8; SLOT_BYTES];
        for j in [0, 1, 2, 10, 16383] {
            msg::set_bit(&mut bits, j, true);
        }
        assert_eq!(slot_ranges(&bits), vec![(0, 2), (10, 10), (16383, 16383)]);
    }
}
