//! The cluster bus: a listener on the bus port, one outbound link to every known
//! node and the inbound links they open to us, carrying `msg` messages. Handshakes,
//! gossip, failure detection, slot ownership and elections happen here.
//! Redis compat: cluster.c (clusterCron, clusterProcessPacket, clusterSendPing and
//! their helpers).
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use mio::{Interest, Token};
use rand::seq::SliceRandom;
use rand::Rng;
use tracing::{debug, info, warn};

use super::msg::{self, Body, Gossip, Header, Msg, Name};
use super::*;
use crate::clock;
use crate::server::client::Conn;
use crate::server::tls::TlsStream;
use crate::server::Server;

/// Tokens of bus links start here; bus listeners sit just below the client listeners.
pub const LINK_BASE: usize = usize::MAX / 2;
pub const LISTENER_BASE: usize = usize::MAX - 96;

pub struct Link {
    /// TCP, or TLS with `tls-cluster`.
    pub stream: Conn,
    pub node: Option<usize>,
    pub inbound: bool,
    pub ctime: i64,
    /// An outbound link whose connect has completed.
    pub connected: bool,
    pub sndbuf: Vec<u8>,
    pub rcvbuf: Vec<u8>,
    /// The peer's address (an inbound link's is how we learn a node's IP).
    pub peer_ip: String,
    pub local_ip: String,
    pub want_write: bool,
    /// Messages read and written (CLUSTER LINKS events).
    pub events: u64,
}

fn now_ms() -> i64 {
    clock::now_ms()
}

/// An IP as Redis writes it (no brackets, no port).
fn ip_of(a: io::Result<SocketAddr>) -> String {
    a.map(|a| a.ip().to_string()).unwrap_or_default()
}

impl Server {
    fn cl(&mut self) -> Option<&mut Cluster> {
        self.cluster.as_deref_mut()
    }

    /// The cluster state with the reactor's registry (two fields borrowed apart).
    fn cl_reg(&mut self) -> Option<(&mut Cluster, &mio::Registry)> {
        Some((self.cluster.as_deref_mut()?, self.registry.as_ref()?))
    }

    /// Reads the cluster settings from the configuration.
    pub fn cluster_settings(&self) -> Settings {
        let c = &self.cfg;
        // Redis compat: cluster.c deriveAnnouncedPorts. With tls-cluster the port we
        // announce is the TLS one, the plaintext one goes beside it.
        let tls = c.yes("tls-cluster");
        let port = if tls { self.tls_port() } else { self.cfg.port };
        let cport = match c.int("cluster-port") {
            0 => port.wrapping_add(10000),
            p => p as u16,
        };
        let (announce, announce_tls) = (
            c.int("cluster-announce-port") as u16,
            c.int("cluster-announce-tls-port") as u16,
        );
        let (announce_port, pport) = match (tls, announce_tls) {
            (true, 0) => (announce, self.cfg.port),
            (true, t) => (t, announce),
            (false, _) => (announce, 0),
        };
        Settings {
            node_timeout: c.int("cluster-node-timeout"),
            announce_ip: c.get("cluster-announce-ip").unwrap_or("").to_string(),
            announce_hostname: c.get("cluster-announce-hostname").unwrap_or("").to_string(),
            announce_port,
            announce_bus_port: c.int("cluster-announce-bus-port") as u16,
            port,
            pport,
            bus_port: cport,
            tls,
            require_full_coverage: c.yes("cluster-require-full-coverage"),
            allow_reads_when_down: c.yes("cluster-allow-reads-when-down"),
            allow_pubsubshard_when_down: c.yes("cluster-allow-pubsubshard-when-down"),
            allow_replica_migration: c.yes("cluster-allow-replica-migration"),
            migration_barrier: c.int("cluster-migration-barrier"),
            replica_validity_factor: c.int("cluster-replica-validity-factor"),
            replica_no_failover: c.yes("cluster-replica-no-failover"),
            endpoint_type: match c.get("cluster-preferred-endpoint-type") {
                Some("hostname") => 1,
                Some("unknown-endpoint") => 2,
                _ => 0,
            },
            repl_ping_period_ms: c.int("repl-ping-replica-period") * 1000,
            link_sendbuf_limit: c.int("cluster-link-sendbuf-limit").max(0) as u64,
        }
    }

    /// Applies the settings and what they say about ourselves (announced ports,
    /// hostname). Redis compat: clusterUpdateMyselfAnnouncedPorts, clusterUpdateMyselfHostname.
    pub fn cluster_refresh_settings(&mut self) {
        let s = self.cluster_settings();
        let offset = self.repl.offset;
        let Some(cl) = self.cl() else { return };
        let me = cl.myself;
        let node = &mut cl.nodes[me];
        node.port = if s.announce_port != 0 { s.announce_port } else { s.port };
        node.pport = s.pport;
        node.cport = if s.announce_bus_port != 0 {
            s.announce_bus_port
        } else {
            s.bus_port
        };
        let mut save = false;
        // Redis compat: cluster.c clusterUpdateMyselfFlags.
        let nofailover = if s.replica_no_failover { NOFAILOVER } else { 0 };
        if node.flags & NOFAILOVER != nofailover {
            node.flags = (node.flags & !NOFAILOVER) | nofailover;
            save = true;
        }
        if node.hostname != s.announce_hostname {
            node.hostname = s.announce_hostname.clone();
            save = true;
        }
        if !s.announce_ip.is_empty() && node.ip != s.announce_ip {
            node.ip = s.announce_ip.clone();
            save = true;
        }
        cl.settings = s;
        cl.repl_offset = offset;
        if save {
            cl.do_before_sleep(TODO_SAVE_CONFIG);
        }
    }

    /// Starts cluster mode: loads or creates the node config and opens the bus port.
    /// Err: the fatal message. Redis compat: cluster.c clusterInit.
    pub fn cluster_init(&mut self) -> Result<(), String> {
        let file = self.cfg.get("cluster-config-file").unwrap_or("nodes.conf").to_string();
        let port = if self.cfg.yes("tls-cluster") {
            self.tls_port()
        } else {
            self.cfg.port
        };
        if self.cfg.int("cluster-port") == 0 && port > 55535 {
            return Err("Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.".into());
        }
        let mut cl = Cluster::open(std::path::PathBuf::from(file), now_ms())?;
        let s = self.cluster_settings();
        let binds = if self.cfg.bind.is_empty() {
            vec!["*".to_string(), "-::*".to_string()]
        } else {
            self.cfg.bind.clone()
        };
        for b in &binds {
            let optional = b.starts_with('-');
            let addr = b.trim_start_matches('-');
            let ip: IpAddr = match addr {
                "*" => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                "::*" => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                a => match a.parse() {
                    Ok(ip) => ip,
                    Err(_) => continue,
                },
            };
            let sa = SocketAddr::new(ip, s.bus_port);
            let l =
                socket2::Socket::new(socket2::Domain::for_address(sa), socket2::Type::STREAM, None).and_then(|sock| {
                    sock.set_reuse_address(true)?;
                    if sa.is_ipv6() {
                        sock.set_only_v6(true)?;
                    }
                    sock.bind(&sa.into())?;
                    sock.listen(511)?;
                    sock.set_nonblocking(true)?;
                    Ok(mio::net::TcpListener::from_std(sock.into()))
                });
            match l {
                Ok(l) => cl.listeners.push(l),
                Err(e) if optional || (addr == "::*" && !binds.iter().all(|b| b.contains("::"))) => {
                    debug!("Cluster bus not listening on {addr}: {e}");
                }
                Err(e) => {
                    return Err(format!(
                        "Warning: Could not create server TCP listening socket {addr}:{}: {e}",
                        s.bus_port
                    ))
                }
            }
        }
        if cl.listeners.is_empty() {
            return Err("Failed listening on port (cluster), aborting.".into());
        }
        if let Some(reg) = self.registry.as_ref() {
            for (i, l) in cl.listeners.iter_mut().enumerate() {
                reg.register(l, Token(LISTENER_BASE + i), Interest::READABLE)
                    .map_err(|e| e.to_string())?;
            }
        }
        // A fresh node starts as master (a replica's master link is set up by cron).
        cl.settings = s;
        self.cluster = Some(Box::new(cl));
        self.cluster_refresh_settings();
        if let Some(cl) = self.cl() {
            if let Err(e) = cl.save_config(true) {
                return Err(format!("Fatal: can't update cluster config file: {e}"));
            }
        }
        Ok(())
    }

    /// Accepts connections on bus listener `i`.
    pub fn cluster_accept(&mut self, i: usize) {
        // With tls-cluster a peer must present a certificate our CAs signed.
        // Redis compat: cluster.c clusterAcceptHandler (TLS_CLIENT_AUTH_YES).
        let tls = match self.cfg.yes("tls-cluster") {
            true => Some(self.tls.as_deref().and_then(|t| t.bus_server())),
            false => None,
        };
        let Some((cl, reg)) = self.cl_reg() else { return };
        loop {
            let Some(l) = cl.listeners.get(i) else { return };
            match l.accept() {
                Ok((mut s, peer)) => {
                    let _ = s.set_nodelay(true);
                    let local = ip_of(s.local_addr());
                    let id = cl.links.vacant_key();
                    if reg.register(&mut s, Token(LINK_BASE + id), Interest::READABLE).is_err() {
                        continue;
                    }
                    let stream = match &tls {
                        None => Conn::Tcp(s),
                        Some(Some(cfg)) => match rustls::ServerConnection::new(Arc::clone(cfg)) {
                            Ok(c) => Conn::Tls(Box::new(TlsStream::new(s, rustls::Connection::Server(c)))),
                            Err(_) => {
                                let _ = reg.deregister(&mut s);
                                continue;
                            }
                        },
                        Some(None) => {
                            // No context that checks certificates: nobody may join.
                            let _ = reg.deregister(&mut s);
                            continue;
                        }
                    };
                    debug!("Accepting cluster node connection from {}:{}", peer.ip(), peer.port());
                    cl.links.insert(Link {
                        stream,
                        node: None,
                        inbound: true,
                        ctime: now_ms(),
                        connected: true,
                        sndbuf: Vec::new(),
                        rcvbuf: Vec::new(),
                        peer_ip: peer.ip().to_string(),
                        local_ip: local,
                        want_write: false,
                        events: 0,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("Error accepting cluster node: {e}");
                    return;
                }
            }
        }
    }

    /// Frees a link and forgets it on its node. Redis compat: freeClusterLink.
    pub fn cluster_free_link(&mut self, id: usize) {
        let Some((cl, reg)) = self.cl_reg() else { return };
        let Some(mut link) = cl.links.try_remove(id) else {
            return;
        };
        if let Some(src) = link.stream.source() {
            let _ = reg.deregister(src);
        }
        if let Some(n) = link.node.and_then(|n| cl.nodes.get_mut(n)) {
            if n.link == Some(id) {
                n.link = None;
            }
            if n.inbound_link == Some(id) {
                n.inbound_link = None;
            }
        }
    }

    /// Removes a node, with its links. Redis compat: clusterDelNode.
    pub fn cluster_del_node(&mut self, n: usize) {
        let links = match self.cl() {
            Some(cl) => cl.del_node(n),
            None => return,
        };
        for l in links {
            self.cluster_free_link(l);
        }
    }

    /// Queues `buf` on a link and writes what the socket takes now.
    fn cluster_send(&mut self, id: usize, buf: &[u8]) {
        let Some(cl) = self.cl() else { return };
        let ty = u16::from_be_bytes([buf[12], buf[13]]) as usize;
        let Some(link) = cl.links.get_mut(id) else { return };
        link.sndbuf.extend_from_slice(buf);
        link.events += 1;
        if ty < msg::TYPES {
            cl.sent[ty] += 1;
        }
        let Some(link) = cl.links.get_mut(id) else { return };
        if link.connected && !link.want_write {
            let failed = flush(link);
            if failed {
                self.cluster_free_link(id);
                return;
            }
            let Some((cl, reg)) = self.cl_reg() else { return };
            let Some(link) = cl.links.get_mut(id) else { return };
            want_writable(link, id, reg);
        }
    }

    pub(super) fn cluster_header_pub(&self, ty: u16) -> Option<Header> {
        self.cluster_header(ty)
    }

    pub(super) fn cluster_send_pub(&mut self, id: usize, buf: &[u8]) {
        self.cluster_send(id, buf)
    }

    pub(super) fn cluster_broadcast_pub(&mut self, buf: &[u8]) {
        self.cluster_broadcast(buf)
    }

    /// Handles readiness of bus link `id`.
    pub fn cluster_link_io(&mut self, id: usize, readable: bool, writable: bool) {
        let Some((cl, reg)) = self.cl_reg() else { return };
        let Some(link) = cl.links.get_mut(id) else { return };
        if !link.connected {
            if !writable && !readable {
                return;
            }
            // The outcome of a non-blocking connect.
            let Some(tcp) = link.stream.tcp_mut() else { return };
            let err = tcp.take_error().ok().flatten();
            if err.is_some() || tcp.peer_addr().is_err() {
                let node = link.node.and_then(|n| cl.nodes.get(n));
                if let Some(n) = node {
                    debug!(
                        "Connection with Node {} at {}:{} failed: {}",
                        n.name_str(),
                        n.ip,
                        n.cport,
                        err.map(|e| e.to_string()).unwrap_or_else(|| "not connected".into())
                    );
                }
                self.cluster_free_link(id);
                return;
            }
            link.connected = true;
            link.local_ip = link.stream.tcp_mut().map(|t| ip_of(t.local_addr())).unwrap_or_default();
            let Some(n) = link.node else { return };
            // A MEET to a node we were told to meet, else a PING; an earlier ping
            // still unanswered keeps its time.
            let (old_ping, meet) = match cl.nodes.get(n) {
                Some(node) => (node.ping_sent, node.flags & MEET != 0),
                None => return,
            };
            self.cluster_send_ping(id, if meet { msg::MEET } else { msg::PING });
            if let Some(node) = self.cl().and_then(|cl| cl.nodes.get_mut(n)) {
                if old_ping != 0 {
                    node.ping_sent = old_ping;
                }
                node.flags &= !MEET;
            }
            return;
        }
        if writable {
            let failed = flush(link);
            if failed {
                self.cluster_free_link(id);
                return;
            }
            if link.sndbuf.is_empty() && !link.stream.holds_output() && link.want_write {
                link.want_write = false;
                if let Some(src) = link.stream.source() {
                    let _ = reg.reregister(src, Token(LINK_BASE + id), Interest::READABLE);
                }
            }
        }
        if !readable {
            return;
        }
        let mut closed = false;
        loop {
            let Some(link) = self.cl().and_then(|cl| cl.links.get_mut(id)) else {
                return;
            };
            match link.stream.read_append(&mut link.rcvbuf, 16 * 1024, None) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            // Whole messages as they complete.
            loop {
                let Some(link) = self.cl().and_then(|cl| cl.links.get_mut(id)) else {
                    return;
                };
                if link.rcvbuf.len() < 8 {
                    break;
                }
                let Some(len) = msg::announced_len(&link.rcvbuf[..8]) else {
                    warn!("Bad message length or signature received from Cluster bus.");
                    self.cluster_free_link(id);
                    return;
                };
                if link.rcvbuf.len() < len {
                    break;
                }
                let rest = link.rcvbuf.split_off(len);
                let whole = std::mem::replace(&mut link.rcvbuf, rest);
                link.events += 1;
                if !self.cluster_process(id, &whole) {
                    return;
                }
            }
        }
        if closed {
            self.cluster_free_link(id);
            return;
        }
        // A TLS session may hold handshake output the socket did not take.
        let Some((cl, reg)) = self.cl_reg() else { return };
        if let Some(link) = cl.links.get_mut(id) {
            want_writable(link, id, reg);
        }
    }

    /// The replication offset we announce: a replica in a full resync has none (its
    /// old data is going away). Redis compat: replication.c replicationGetSlaveOffset.
    pub fn cluster_repl_offset(&self) -> u64 {
        match self.repl.master.as_ref() {
            Some(m) if self.loading.is_some() || m.state == crate::server::repl::LinkState::Transfer => 0,
            _ => self.repl.offset,
        }
    }

    /// The header of a message from us. Redis compat: clusterBuildMessageHdr.
    fn cluster_header(&self, ty: u16) -> Option<Header> {
        let cl = self.cluster.as_deref()?;
        let me = cl.me();
        let master = cl.nodes.get(cl.my_master()).unwrap_or(me);
        let mut h = Header::new(ty, me.name);
        h.myip = cl.settings.announce_ip.clone();
        h.port = me.port;
        h.pport = me.pport;
        h.cport = me.cport;
        h.myslots.copy_from_slice(&master.slots[..]);
        h.slaveof = me
            .slaveof
            .filter(|_| me.is_slave())
            .and_then(|m| cl.nodes.get(m))
            .map(|m| m.name);
        h.flags = me.flags;
        h.state = if cl.ok { 0 } else { 1 };
        h.current_epoch = cl.current_epoch;
        h.config_epoch = master.config_epoch;
        h.offset = self.cluster_repl_offset();
        if me.is_master() && cl.mf_end != 0 {
            h.mflags[0] |= msg::MF_PAUSED;
        }
        Some(h)
    }

    fn gossip_entry(n: &Node) -> Gossip {
        Gossip {
            name: n.name,
            ping_sent: (n.ping_sent / 1000) as u32,
            pong_received: (n.pong_received / 1000) as u32,
            ip: n.ip.clone(),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
        }
    }

    /// Sends a PING, PONG or MEET with gossip about some other nodes and about every
    /// node we suspect. Redis compat: cluster.c clusterSendPing.
    pub fn cluster_send_ping(&mut self, link_id: usize, ty: u16) {
        let now = now_ms();
        let Some(h) = self.cluster_header(ty) else { return };
        let Some(cl) = self.cl() else { return };
        cl.pings_sent += 1;
        let round = cl.pings_sent;
        let Some(link) = cl.links.get(link_id) else { return };
        if !link.inbound && ty == msg::PING {
            if let Some(n) = link.node.and_then(|n| cl.nodes.get_mut(n)) {
                n.ping_sent = now;
            }
        }
        let total = cl.nodes.len();
        let mut fresh = total.saturating_sub(2);
        let wanted = (total / 10).max(3).min(fresh);
        let mut ids: Vec<usize> = cl.nodes.iter().map(|(i, _)| i).collect();
        ids.shuffle(&mut rand::rng());
        let mut gossip = Vec::new();
        let mut tries = wanted * 3;
        let mut i = 0;
        while fresh > 0 && gossip.len() < wanted && tries > 0 && i < ids.len() {
            tries -= 1;
            let id = ids[i];
            i += 1;
            let n = &cl.nodes[id];
            if id == cl.myself || n.flags & PFAIL != 0 {
                continue;
            }
            if n.flags & (HANDSHAKE | NOADDR) != 0 || (n.link.is_none() && n.numslots == 0) {
                fresh -= 1;
                continue;
            }
            if cl.last_in_gossip.get(&id) == Some(&round) {
                continue;
            }
            gossip.push(Self::gossip_entry(n));
            cl.last_in_gossip.insert(id, round);
            fresh -= 1;
        }
        for (_, n) in cl.nodes.iter() {
            if n.flags & PFAIL != 0 && n.flags & (HANDSHAKE | NOADDR) == 0 {
                gossip.push(Self::gossip_entry(n));
            }
        }
        let hostname = Some(cl.me().hostname.clone());
        let buf = msg::encode(&h, &Body::Ping { gossip, hostname });
        self.cluster_send(link_id, &buf);
    }

    /// Sends a message to every node we have a link to (but ourselves and nodes in
    /// handshake). Redis compat: clusterBroadcastMessage.
    fn cluster_broadcast(&mut self, buf: &[u8]) {
        let Some(cl) = self.cl() else { return };
        let links: Vec<usize> = cl
            .nodes
            .iter()
            .filter(|(i, n)| *i != cl.myself && n.flags & HANDSHAKE == 0)
            .filter_map(|(_, n)| n.link)
            .collect();
        for l in links {
            self.cluster_send(l, buf);
        }
    }

    /// PONGs to every node (or to our shard's replicas only).
    pub fn cluster_broadcast_pong(&mut self, local_slaves_only: bool) {
        let Some(cl) = self.cl() else { return };
        let me = cl.myself;
        let my_master = cl.me().slaveof;
        let links: Vec<usize> = cl
            .nodes
            .iter()
            .filter(|(i, n)| *i != me && n.flags & HANDSHAKE == 0)
            .filter(|(_, n)| {
                !local_slaves_only
                    || (n.is_slave() && n.slaveof.is_some() && (n.slaveof == Some(me) || n.slaveof == my_master))
            })
            .filter_map(|(_, n)| n.link)
            .collect();
        for l in links {
            self.cluster_send_ping(l, msg::PONG);
        }
    }

    fn cluster_send_fail(&mut self, name: Name) {
        let Some(h) = self.cluster_header(msg::FAIL) else {
            return;
        };
        let buf = msg::encode(&h, &Body::Fail(name));
        self.cluster_broadcast(&buf);
    }

    /// Tells a node with an old view that `n` owns the slots it claims. Redis compat:
    /// clusterSendUpdate.
    fn cluster_send_update(&mut self, link: Option<usize>, n: usize) {
        let Some(link) = link else { return };
        let Some(h) = self.cluster_header(msg::UPDATE) else {
            return;
        };
        let Some(node) = self.cluster.as_deref().and_then(|cl| cl.nodes.get(n)) else {
            return;
        };
        let body = Body::Update {
            config_epoch: node.config_epoch,
            name: node.name,
            slots: node.slots.clone(),
        };
        let buf = msg::encode(&h, &body);
        self.cluster_send(link, &buf);
    }

    /// Sends a message published here to the other nodes: every node for PUBLISH,
    /// our shard for SPUBLISH. Redis compat: clusterPropagatePublish(Shard).
    pub fn cluster_publish(&mut self, channel: &[u8], message: &[u8], shard: bool) {
        let ty = if shard { msg::PUBLISHSHARD } else { msg::PUBLISH };
        let Some(h) = self.cluster_header(ty) else { return };
        let buf = msg::encode(
            &h,
            &Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            },
        );
        if !shard {
            self.cluster_broadcast(&buf);
            return;
        }
        let Some(cl) = self.cl() else { return };
        let links: Vec<usize> = cl
            .shard_of(cl.myself)
            .into_iter()
            .filter(|&n| n != cl.myself)
            .filter_map(|n| cl.nodes.get(n).and_then(|n| n.link))
            .collect();
        for l in links {
            self.cluster_send(l, &buf);
        }
    }

    /// Starts meeting a node at `ip:port` (bus port `cport`). Some(false): already
    /// under way. None: an invalid address. Redis compat: clusterStartHandshake.
    pub fn cluster_start_handshake(&mut self, ip: &str, port: i64, cport: i64) -> Option<bool> {
        let ip: IpAddr = ip.parse().ok()?;
        if !(1..=65535).contains(&port) || !(1..=65535).contains(&cport) {
            return None;
        }
        let ip = ip.to_string();
        let cl = self.cl()?;
        let busy = cl.nodes.iter().any(|(_, n)| {
            n.in_handshake() && n.ip.eq_ignore_ascii_case(&ip) && n.port as i64 == port && n.cport as i64 == cport
        });
        if busy {
            return Some(false);
        }
        let mut n = Node::new(random_name(), HANDSHAKE | MEET, now_ms());
        n.ip = ip;
        n.port = port as u16;
        n.cport = cport as u16;
        cl.add_node(n);
        Some(true)
    }

    /// Handles one whole message read from link `id`. False: the link is gone.
    /// Redis compat: cluster.c clusterProcessPacket.
    fn cluster_process(&mut self, id: usize, buf: &[u8]) -> bool {
        let now = now_ms();
        let ty = u16::from_be_bytes([buf[12], buf[13]]);
        if let Some(cl) = self.cl() {
            if (ty as usize) < msg::TYPES {
                cl.received[ty as usize] += 1;
            }
        }
        if self.cluster.as_deref().is_some_and(|cl| cl.drop_filter == ty as i64) {
            warn!("Dropping packet that matches debug drop filter");
            return true;
        }
        let m = match msg::decode(buf) {
            Ok(m) => m,
            Err(msg::Refused::Version) => return true,
            Err(msg::Refused::Length(t, got, want)) => {
                warn!(
                    "Received invalid {} packet of length {got} but expected length {want}",
                    type_name(t)
                );
                return true;
            }
            Err(msg::Refused::Extension(t, len)) => {
                warn!(
                    "Received invalid {} packet with extension data that exceeds total packet length ({len})",
                    type_name(t)
                );
                return true;
            }
        };
        let Msg { hdr, body } = m;
        let Some(cl) = self.cl() else { return false };
        let Some(link) = cl.links.get(id) else { return false };
        let inbound = link.inbound;
        let link_node = link.node;
        let peer_ip = link.peer_ip.clone();
        let local_ip = link.local_ip.clone();
        // The sender, if we know it. Redis compat: getNodeFromLinkAndMsg.
        let sender = match link_node {
            Some(n) if cl.nodes.get(n).is_some_and(|n| !n.in_handshake()) => Some(n),
            _ => {
                let s = cl.by_name.get(&hdr.sender).copied();
                if let (Some(s), None) = (s, link_node) {
                    // An inbound link from a node we know: remember it (dropping an
                    // older one).
                    if let Some(old) = cl.nodes[s].inbound_link.filter(|&l| l != id) {
                        if let Some(l) = cl.links.get_mut(old) {
                            l.node = None;
                        }
                        self.cluster_free_link(old);
                    }
                    let Some(cl) = self.cl() else { return false };
                    cl.nodes[s].inbound_link = Some(id);
                    if let Some(l) = cl.links.get_mut(id) {
                        l.node = Some(s);
                    }
                }
                s
            }
        };
        let Some(cl) = self.cl() else { return false };
        let mut sender_config_epoch = 0;
        let mut sender_current_epoch = 0;
        if let Some(s) = sender {
            cl.nodes[s].data_received = now;
        }
        if let Some(s) = sender.filter(|&s| !cl.nodes[s].in_handshake()) {
            sender_current_epoch = hdr.current_epoch;
            sender_config_epoch = hdr.config_epoch;
            if sender_current_epoch > cl.current_epoch {
                cl.current_epoch = sender_current_epoch;
            }
            if sender_config_epoch > cl.nodes[s].config_epoch {
                cl.nodes[s].config_epoch = sender_config_epoch;
                cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
            }
            cl.nodes[s].repl_offset = hdr.offset;
            cl.nodes[s].repl_offset_time = now;
            let me = cl.me();
            if cl.mf_end != 0
                && me.is_slave()
                && me.slaveof == Some(s)
                && hdr.mflags[0] & msg::MF_PAUSED != 0
                && cl.mf_master_offset == -1
            {
                cl.mf_master_offset = hdr.offset as i64;
                cl.do_before_sleep(TODO_HANDLE_MANUALFAILOVER);
                warn!(
                    "Received replication offset for paused master manual failover: {}",
                    cl.mf_master_offset
                );
            }
        }
        let is_ping = matches!(ty, msg::PING | msg::PONG | msg::MEET);
        if ty == msg::PING || ty == msg::MEET {
            // Our own address, as the nodes that reach us see it.
            if (ty == msg::MEET || cl.me().ip.is_empty())
                && cl.settings.announce_ip.is_empty()
                && !local_ip.is_empty()
                && cl.me().ip != local_ip
            {
                cl.me_mut().ip = local_ip.clone();
                warn!("IP address for this node updated to {local_ip}");
                cl.do_before_sleep(TODO_SAVE_CONFIG);
            }
            if sender.is_none() && ty == msg::MEET {
                let mut n = Node::new(random_name(), HANDSHAKE, now);
                n.ip = if hdr.myip.is_empty() {
                    peer_ip.clone()
                } else {
                    hdr.myip.clone()
                };
                n.port = hdr.port;
                n.pport = hdr.pport;
                n.cport = hdr.cport;
                cl.add_node(n);
                cl.do_before_sleep(TODO_SAVE_CONFIG);
                if let Body::Ping { gossip, .. } = &body {
                    self.cluster_process_gossip(None, gossip, now);
                }
            }
            self.cluster_send_ping(id, msg::PONG);
        }
        let Some(cl) = self.cl() else { return false };
        if is_ping {
            if !inbound {
                let Some(ln) = link_node else { return true };
                if cl.nodes.get(ln).is_some_and(|n| n.in_handshake()) {
                    if let Some(s) = sender {
                        // We knew this node already: update its address, drop the
                        // handshake entry (and this link with it).
                        debug!(
                            "Handshake: we already know node {}, updating the address if needed.",
                            cl.nodes[s].name_str()
                        );
                        if self.cluster_update_address(s, id, &hdr, &peer_ip) {
                            if let Some(cl) = self.cl() {
                                cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
                            }
                        }
                        self.cluster_del_node(ln);
                        return false;
                    }
                    cl.rename_node(ln, hdr.sender);
                    debug!("Handshake with node {} completed.", cl.nodes[ln].name_str());
                    let n = &mut cl.nodes[ln];
                    n.flags &= !HANDSHAKE;
                    n.flags |= hdr.flags & (MASTER | SLAVE);
                    cl.do_before_sleep(TODO_SAVE_CONFIG);
                } else if cl.nodes.get(ln).is_some_and(|n| n.name != hdr.sender) {
                    debug!("PONG contains mismatching sender ID.");
                    if let Some(n) = cl.nodes.get_mut(ln) {
                        n.flags |= NOADDR;
                        n.ip.clear();
                        n.port = 0;
                        n.pport = 0;
                        n.cport = 0;
                    }
                    cl.do_before_sleep(TODO_SAVE_CONFIG);
                    self.cluster_free_link(id);
                    return false;
                }
            }
            let Some(cl) = self.cl() else { return false };
            // The handshake may just have made the sender known.
            let sender = sender.or_else(|| {
                link_node.filter(|&n| {
                    cl.nodes
                        .get(n)
                        .is_some_and(|n| !n.in_handshake() && n.name == hdr.sender)
                })
            });
            if let Some(s) = sender {
                let n = &mut cl.nodes[s];
                n.flags = (n.flags & !NOFAILOVER) | (hdr.flags & NOFAILOVER);
            }
            if let Some(s) = sender.filter(|_| ty == msg::PING) {
                if !cl.nodes[s].in_handshake() && self.cluster_update_address(s, id, &hdr, &peer_ip) {
                    if let Some(cl) = self.cl() {
                        cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
                    }
                }
            }
            let Some(cl) = self.cl() else { return false };
            if !inbound && ty == msg::PONG {
                if let Some(ln) = link_node.filter(|&n| cl.nodes.contains(n)) {
                    let n = &mut cl.nodes[ln];
                    n.pong_received = now;
                    n.ping_sent = 0;
                    if n.timed_out() {
                        n.flags &= !PFAIL;
                        cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
                    } else if n.failed() {
                        self.cluster_clear_failure_if_needed(ln, now);
                    }
                }
            }
            let Some(cl) = self.cl() else { return false };
            // Role changes.
            if let Some(s) = sender {
                match hdr.slaveof {
                    None => cl.set_node_as_master(s),
                    Some(mname) => {
                        let master = cl.by_name.get(&mname).copied();
                        if cl.nodes[s].is_master() {
                            cl.del_node_slots(s);
                            let n = &mut cl.nodes[s];
                            n.flags &= !(MASTER | MIGRATE_TO);
                            n.flags |= SLAVE;
                            cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
                        }
                        if let Some(m) = master {
                            if cl.nodes[s].slaveof != Some(m) {
                                if let Some(old) = cl.nodes[s].slaveof {
                                    cl.remove_slave(old, s);
                                }
                                cl.add_slave(m, s);
                                cl.nodes[s].slaveof = Some(m);
                                cl.do_before_sleep(TODO_SAVE_CONFIG);
                            }
                        }
                    }
                }
            }
            // Slot ownership.
            let mut dirty = false;
            if let Some(s) = sender {
                let sm = if cl.nodes[s].is_master() {
                    Some(s)
                } else {
                    cl.nodes[s].slaveof
                };
                if let Some(sm) = sm.and_then(|m| cl.nodes.get(m)) {
                    dirty = sm.slots[..] != hdr.myslots[..];
                }
            }
            if let Some(s) = sender {
                if cl.nodes[s].is_master() && dirty {
                    self.cluster_update_slots_with(s, sender_config_epoch, &hdr.myslots);
                }
            }
            let Some(cl) = self.cl() else { return false };
            if let Some(s) = sender.filter(|_| dirty) {
                let mut stale_about = None;
                for j in 0..SLOTS {
                    if !msg::bit(&hdr.myslots, j) {
                        continue;
                    }
                    let owner = cl.slots[j];
                    if owner == s as u32 || owner == NONE || msg::bit(&cl.owner_not_claiming, j) {
                        continue;
                    }
                    if cl.node(owner).is_some_and(|o| o.config_epoch > sender_config_epoch) {
                        debug!(
                            "Node {} has old slots configuration, sending an UPDATE message",
                            cl.nodes[s].name_str()
                        );
                        stale_about = Some(owner as usize);
                        break;
                    }
                }
                if let Some(o) = stale_about {
                    let link = cl.nodes[s].link;
                    self.cluster_send_update(link, o);
                }
            }
            let Some(cl) = self.cl() else { return false };
            if let Some(s) = sender {
                if cl.i_am_master() && cl.nodes[s].is_master() && sender_config_epoch == cl.me().config_epoch {
                    self.cluster_epoch_collision(s);
                }
                if let Body::Ping { gossip, hostname } = &body {
                    self.cluster_process_gossip(Some(s), gossip, now);
                    if let Some(cl) = self.cl() {
                        let h = hostname.clone().unwrap_or_default();
                        if cl.nodes.get(s).is_some_and(|n| n.hostname != h) {
                            cl.nodes[s].hostname = h;
                            cl.do_before_sleep(TODO_SAVE_CONFIG);
                        }
                    }
                }
            }
            return self.cl().is_some_and(|cl| cl.links.contains(id));
        }
        match (ty, body) {
            (msg::FAIL, Body::Fail(about)) => {
                let Some(s) = sender else {
                    info!(
                        "Ignoring FAIL message from unknown node {} about {}",
                        String::from_utf8_lossy(&hdr.sender),
                        String::from_utf8_lossy(&about)
                    );
                    return true;
                };
                let _ = s;
                if let Some(f) = cl.by_name.get(&about).copied() {
                    let n = &mut cl.nodes[f];
                    if n.flags & (FAIL | MYSELF) == 0 {
                        info!(
                            "FAIL message received from {} about {}",
                            String::from_utf8_lossy(&hdr.sender),
                            String::from_utf8_lossy(&about)
                        );
                        n.flags |= FAIL;
                        n.fail_time = now;
                        n.flags &= !PFAIL;
                        cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
                    }
                }
            }
            (msg::PUBLISH | msg::PUBLISHSHARD, Body::Publish { channel, message }) => {
                if sender.is_some() {
                    self.publish(None, &channel, &message, ty == msg::PUBLISHSHARD);
                }
            }
            (msg::AUTH_REQUEST, _) => {
                if let Some(s) = sender {
                    self.cluster_vote_if_needed(s, &hdr, now);
                }
            }
            (msg::AUTH_ACK, _) => {
                if let Some(s) = sender {
                    let n = &cl.nodes[s];
                    if n.is_master() && n.numslots > 0 && sender_current_epoch >= cl.failover_auth_epoch {
                        cl.failover_auth_count += 1;
                        cl.do_before_sleep(TODO_HANDLE_FAILOVER);
                    }
                }
            }
            (msg::MFSTART, _) => {
                let Some(s) = sender.filter(|&s| cl.nodes[s].slaveof == Some(cl.myself)) else {
                    return true;
                };
                cl.mf_end = now + MF_TIMEOUT;
                cl.mf_slave = Some(s);
                cl.mf_master_offset = -1;
                cl.mf_can_start = false;
                warn!("Manual failover requested by replica {}.", cl.nodes[s].name_str());
                self.pause_clients(
                    crate::server::pause::PausePurpose::Failover,
                    false,
                    now + MF_TIMEOUT * MF_PAUSE_MULT,
                );
                self.cluster_send_ping(id, msg::PING);
            }
            (
                msg::UPDATE,
                Body::Update {
                    config_epoch,
                    name,
                    slots,
                },
            ) => {
                if sender.is_none() {
                    return true;
                }
                let Some(n) = cl.by_name.get(&name).copied() else {
                    return true;
                };
                if cl.nodes[n].config_epoch >= config_epoch {
                    return true;
                }
                if cl.nodes[n].is_slave() {
                    cl.set_node_as_master(n);
                }
                cl.nodes[n].config_epoch = config_epoch;
                cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
                self.cluster_update_slots_with(n, config_epoch, &slots);
            }
            (msg::MODULE, _) => {}
            _ => warn!("Received unknown packet type: {ty}"),
        }
        self.cl().is_some_and(|cl| cl.links.contains(id))
    }

    /// A node's address from a message on one of its inbound links. True: changed.
    /// Redis compat: nodeUpdateAddressIfNeeded.
    fn cluster_update_address(&mut self, n: usize, link: usize, hdr: &Header, peer_ip: &str) -> bool {
        let Some(cl) = self.cl() else { return false };
        let node = &cl.nodes[n];
        if node.link == Some(link) {
            return false;
        }
        let ip = if hdr.myip.is_empty() {
            peer_ip.to_string()
        } else {
            hdr.myip.clone()
        };
        if node.port == hdr.port && node.cport == hdr.cport && node.pport == hdr.pport && node.ip == ip {
            return false;
        }
        let old = node.link;
        let node = &mut cl.nodes[n];
        node.ip = ip;
        node.port = hdr.port;
        node.pport = hdr.pport;
        node.cport = hdr.cport;
        node.flags &= !NOADDR;
        warn!(
            "Address updated for node {}, now {}:{}",
            node.name_str(),
            node.ip,
            node.port
        );
        let follow = cl.me().is_slave() && cl.me().slaveof == Some(n);
        let (ip, port) = (cl.nodes[n].ip.clone(), cl.nodes[n].port);
        if let Some(l) = old {
            self.cluster_free_link(l);
        }
        if follow {
            self.repl_set_master(ip, port, true);
        }
        true
    }

    /// Gossip about other nodes: failure reports, fresher pong times, new nodes.
    /// Redis compat: clusterProcessGossipSection.
    fn cluster_process_gossip(&mut self, sender: Option<usize>, gossip: &[Gossip], now: i64) {
        for g in gossip {
            let Some(cl) = self.cl() else { return };
            match cl.by_name.get(&g.name).copied() {
                Some(n) => {
                    if let Some(s) = sender.filter(|&s| cl.nodes[s].is_master() && n != cl.myself) {
                        if g.flags & (FAIL | PFAIL) != 0 {
                            if cl.add_failure_report(n, s, now) {
                                debug!(
                                    "Node {} reported node {} as not reachable.",
                                    cl.nodes[s].name_str(),
                                    cl.nodes[n].name_str()
                                );
                            }
                            self.cluster_mark_failing_if_needed(n, now);
                        } else if cl.del_failure_report(n, s, now) {
                            debug!(
                                "Node {} reported node {} is back online.",
                                cl.nodes[s].name_str(),
                                cl.nodes[n].name_str()
                            );
                        }
                    }
                    let Some(cl) = self.cl() else { return };
                    if g.flags & (FAIL | PFAIL) == 0 && cl.nodes[n].ping_sent == 0 && cl.failure_reports(n, now) == 0 {
                        let pong = g.pong_received as i64 * 1000;
                        if pong <= now + 500 && pong > cl.nodes[n].pong_received {
                            cl.nodes[n].pong_received = pong;
                        }
                    }
                    let node = &cl.nodes[n];
                    if node.flags & (FAIL | PFAIL) != 0
                        && g.flags & NOADDR == 0
                        && g.flags & (FAIL | PFAIL) == 0
                        && (!node.ip.eq_ignore_ascii_case(&g.ip) || node.port != g.port || node.cport != g.cport)
                    {
                        let old = node.link;
                        let node = &mut cl.nodes[n];
                        node.ip = g.ip.clone();
                        node.port = g.port;
                        node.pport = g.pport;
                        node.cport = g.cport;
                        node.flags &= !NOADDR;
                        if let Some(l) = old {
                            self.cluster_free_link(l);
                        }
                    }
                }
                None => {
                    let now_s = now / 1000;
                    if sender.is_some() && g.flags & NOADDR == 0 && !cl.blacklisted(&g.name, now_s) {
                        let mut node = Node::new(g.name, g.flags & !(MYSELF | PFAIL | FAIL), now);
                        node.ip = g.ip.clone();
                        node.port = g.port;
                        node.pport = g.pport;
                        node.cport = g.cport;
                        cl.add_node(node);
                    }
                }
            }
        }
    }

    /// Flags a suspected node FAIL once a majority of masters agree. Redis compat:
    /// markNodeAsFailingIfNeeded.
    fn cluster_mark_failing_if_needed(&mut self, n: usize, now: i64) {
        let Some(cl) = self.cl() else { return };
        let quorum = cl.size / 2 + 1;
        if !cl.nodes[n].timed_out() || cl.nodes[n].failed() {
            return;
        }
        let mut failures = cl.failure_reports(n, now);
        if cl.i_am_master() {
            failures += 1;
        }
        if failures < quorum {
            return;
        }
        info!("Marking node {} as failing (quorum reached).", cl.nodes[n].name_str());
        let node = &mut cl.nodes[n];
        node.flags &= !PFAIL;
        node.flags |= FAIL;
        node.fail_time = now;
        let name = node.name;
        cl.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
        self.cluster_send_fail(name);
    }

    /// A FAIL node we reach again. Redis compat: clearNodeFailureIfNeeded.
    fn cluster_clear_failure_if_needed(&mut self, n: usize, now: i64) {
        let Some(cl) = self.cl() else { return };
        let timeout = cl.settings.node_timeout;
        let node = &mut cl.nodes[n];
        if node.is_slave() || node.numslots == 0 {
            info!(
                "Clear FAIL state for node {}: {} is reachable again.",
                node.name_str(),
                if node.is_slave() {
                    "replica"
                } else {
                    "master without slots"
                }
            );
            node.flags &= !FAIL;
            cl.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
            return;
        }
        if node.is_master() && node.numslots > 0 && now - node.fail_time > timeout * FAIL_UNDO_TIME_MULT {
            info!(
                "Clear FAIL state for node {}: is reachable again and nobody is serving its slots after some time.",
                node.name_str()
            );
            node.flags &= !FAIL;
            cl.do_before_sleep(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
        }
    }

    /// Two masters with one config epoch: the one with the smaller name takes a new
    /// epoch. Redis compat: clusterHandleConfigEpochCollision.
    fn cluster_epoch_collision(&mut self, sender: usize) {
        let Some(cl) = self.cl() else { return };
        if cl.nodes[sender].config_epoch != cl.me().config_epoch || !cl.nodes[sender].is_master() || !cl.i_am_master() {
            return;
        }
        if cl.nodes[sender].name <= cl.me().name {
            return;
        }
        cl.current_epoch += 1;
        let e = cl.current_epoch;
        cl.me_mut().config_epoch = e;
        cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
        debug!(
            "WARNING: configEpoch collision with node {}. configEpoch set to {e}",
            cl.nodes[sender].name_str()
        );
    }

    /// Takes the slots a master claims with a newer config epoch than their owners'.
    /// Redis compat: clusterUpdateSlotsConfigWith.
    pub fn cluster_update_slots_with(&mut self, sender: usize, epoch: u64, slots: &SlotBits) {
        let Some(cl) = self.cl() else { return };
        if sender == cl.myself {
            warn!("Discarding UPDATE message about myself.");
            return;
        }
        let curmaster = cl.my_master();
        let mut newmaster = None;
        let mut dirty_slots = Vec::new();
        let (mut sender_slots, mut migrated_ours) = (0, 0);
        for j in 0..SLOTS {
            if msg::bit(slots, j) {
                sender_slots += 1;
                if cl.slots[j] == sender as u32 {
                    msg::set_bit(&mut cl.owner_not_claiming, j, false);
                    continue;
                }
                if cl.importing[j] != NONE {
                    continue;
                }
                let owner = cl.slots[j];
                let unclaimed = owner == NONE || msg::bit(&cl.owner_not_claiming, j);
                if unclaimed || cl.node(owner).is_some_and(|o| o.config_epoch < epoch) {
                    if owner == cl.myself as u32 {
                        dirty_slots.push(j);
                    }
                    if owner == curmaster as u32 {
                        newmaster = Some(sender);
                        migrated_ours += 1;
                    }
                    cl.del_slot(j);
                    cl.add_slot(sender, j);
                    cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
                }
            } else if cl.slots[j] == sender as u32 {
                msg::set_bit(&mut cl.owner_not_claiming, j, true);
            }
        }
        let grandmaster = cl
            .me()
            .slaveof
            .and_then(|m| cl.nodes.get(m))
            .and_then(|m| m.slaveof.filter(|_| m.is_slave()))
            .filter(|&g| g != cl.myself);
        if newmaster.is_some()
            && cl.nodes[curmaster].numslots == 0
            && (cl.settings.allow_replica_migration || sender_slots == migrated_ours)
        {
            warn!(
                "Configuration change detected. Reconfiguring myself as a replica of {}",
                cl.nodes[sender].name_str()
            );
            self.cluster_set_master(sender);
        } else if let Some(g) = grandmaster {
            warn!(
                "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {}",
                cl.nodes[g].name_str()
            );
            self.cluster_set_master(g);
        } else if !dirty_slots.is_empty() {
            for j in dirty_slots {
                self.cluster_del_keys_in_slot(j as u16);
            }
        }
        if let Some(cl) = self.cl() {
            cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
        }
    }

    /// Makes us a replica of `n`. Redis compat: clusterSetMaster.
    pub fn cluster_set_master(&mut self, n: usize) {
        let Some(cl) = self.cl() else { return };
        if n == cl.myself {
            return;
        }
        let me = cl.myself;
        if cl.me().is_master() {
            let m = cl.me_mut();
            m.flags &= !(MASTER | MIGRATE_TO);
            m.flags |= SLAVE;
            cl.close_all_slots();
        } else if let Some(old) = cl.me().slaveof {
            cl.remove_slave(old, me);
        }
        cl.me_mut().slaveof = Some(n);
        cl.add_slave(n, me);
        cl.mf_end = 0;
        cl.mf_slave = None;
        cl.mf_master_offset = -1;
        cl.mf_can_start = false;
        let (ip, port, has_addr) = (cl.nodes[n].ip.clone(), cl.nodes[n].port, cl.nodes[n].has_addr());
        cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
        if has_addr && !ip.is_empty() {
            self.repl_set_master(ip, port, true);
        }
    }

    /// Deletes the keys of a slot we no longer serve. Redis compat: delKeysInSlot.
    pub fn cluster_del_keys_in_slot(&mut self, slot: u16) -> usize {
        let keys = self.cluster_keys_in_slot(slot, usize::MAX);
        let now = clock::now_ms();
        for k in &keys {
            if self.dbs.first_mut().is_some_and(|d| d.remove(k)) {
                self.dirty += 1;
                self.key_changed(0, k, None);
                self.notify(None, crate::config::notify::NOTIFY_GENERIC, "del", k, 0);
                if self.prop.on {
                    self.feed_one(0, &[b"DEL".to_vec(), k.clone()], crate::server::propagate::TO_ALL);
                }
            }
        }
        let _ = now;
        keys.len()
    }

    /// Up to `max` keys of db 0 in `slot`.
    pub fn cluster_keys_in_slot(&mut self, slot: u16, max: usize) -> Vec<Vec<u8>> {
        let now = clock::now_ms();
        self.dbs
            .first_mut()
            .map_or_else(Vec::new, |db| db.keys_in_slot(slot, max, now))
    }

    pub fn cluster_count_keys_in_slot(&mut self, slot: u16) -> usize {
        let now = clock::now_ms();
        self.dbs.first_mut().map_or(0, |db| db.keys_in_slot_count(slot, now))
    }

    /// After loading data: keys of slots nobody serves make the slots ours; keys of
    /// another node's slots put them in importing state. Err: keys outside db 0.
    /// Redis compat: cluster.c verifyClusterConfigWithData.
    pub fn cluster_verify_data(&mut self) -> Result<(), String> {
        if self.cluster.as_deref().is_none_or(|cl| cl.me().is_slave()) {
            return Ok(());
        }
        if self.dbs.iter().skip(1).any(|d| !d.is_empty()) {
            return Err("You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.".into());
        }
        let mut used = vec![false; SLOTS];
        if let Some(db) = self.dbs.first() {
            for o in db.iter() {
                used[key_slot(o.key()) as usize] = true;
            }
        }
        let Some(cl) = self.cl() else { return Ok(()) };
        let me = cl.myself;
        let mut changed = false;
        for (j, _) in used.iter().enumerate().filter(|(_, u)| **u) {
            if cl.slots[j] == me as u32 || cl.importing[j] != NONE {
                continue;
            }
            changed = true;
            if cl.slots[j] == NONE {
                warn!("I have keys for unassigned slot {j}. Taking responsibility for it.");
                cl.add_slot(me, j);
            } else {
                warn!("I have keys for slot {j}, but the slot is assigned to another node. Setting it to importing state.");
                cl.importing[j] = cl.slots[j];
            }
        }
        if changed {
            cl.save_config(true)
                .map_err(|e| format!("Fatal: can't update cluster config file: {e}"))?;
        }
        Ok(())
    }

    /// Periodic work, ten times a second. Redis compat: cluster.c clusterCron.
    pub fn cluster_cron(&mut self) {
        if self.cluster.is_none() {
            return;
        }
        self.cluster_refresh_settings();
        let now = now_ms();
        // With tls-cluster, links we open speak TLS (None inside: no usable context).
        let tls = match self.cfg.yes("tls-cluster") {
            true => Some(self.tls.as_deref().and_then(|t| t.bus_client())),
            false => None,
        };
        let Some(cl) = self.cl() else { return };
        cl.iteration += 1;
        let handshake_timeout = cl.settings.node_timeout.max(1000);
        let timeout = cl.settings.node_timeout;
        cl.pfail_nodes = 0;
        let ids: Vec<usize> = cl.nodes.iter().map(|(i, _)| i).collect();
        for &n in &ids {
            let Some(cl) = self.cl() else { return };
            let Some(node) = cl.nodes.get(n) else { continue };
            if node.flags & (MYSELF | NOADDR) != 0 {
                continue;
            }
            if node.flags & PFAIL != 0 {
                cl.pfail_nodes += 1;
            }
            if node.in_handshake() && now - node.ctime > handshake_timeout {
                self.cluster_del_node(n);
                continue;
            }
            // A link over its send buffer limit is dropped.
            let limit = cl.settings.link_sendbuf_limit;
            if limit > 0 {
                let over: Vec<usize> = [node.link, node.inbound_link]
                    .into_iter()
                    .flatten()
                    .filter(|&l| cl.links.get(l).is_some_and(|l| l.sndbuf.len() as u64 > limit))
                    .collect();
                for l in over {
                    if let Some(cl) = self.cl() {
                        cl.links_buffer_limit_exceeded += 1;
                    }
                    self.cluster_free_link(l);
                }
            }
            let Some((cl, reg)) = self.cl_reg() else { return };
            let Some(node) = cl.nodes.get(n) else { continue };
            if node.link.is_none() {
                let addr = node.ip.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, node.cport));
                let connected = addr.and_then(|a| mio::net::TcpStream::connect(a).ok());
                match connected {
                    Some(mut s) => {
                        let _ = s.set_nodelay(true);
                        let id = cl.links.vacant_key();
                        let ok = reg
                            .register(&mut s, Token(LINK_BASE + id), Interest::READABLE | Interest::WRITABLE)
                            .is_ok();
                        let stream = match &tls {
                            None => Some(Conn::Tcp(s)),
                            Some(cfg) => {
                                let name = rustls::pki_types::ServerName::try_from(node.ip.clone()).ok();
                                let c = cfg
                                    .as_ref()
                                    .zip(name)
                                    .and_then(|(cfg, name)| rustls::ClientConnection::new(Arc::clone(cfg), name).ok());
                                match c {
                                    Some(c) => {
                                        Some(Conn::Tls(Box::new(TlsStream::new(s, rustls::Connection::Client(c)))))
                                    }
                                    None => {
                                        let _ = reg.deregister(&mut s);
                                        None
                                    }
                                }
                            }
                        };
                        if let (true, Some(stream)) = (ok, stream) {
                            cl.links.insert(Link {
                                stream,
                                node: Some(n),
                                inbound: false,
                                ctime: now,
                                connected: false,
                                sndbuf: Vec::new(),
                                rcvbuf: Vec::new(),
                                peer_ip: String::new(),
                                local_ip: String::new(),
                                want_write: false,
                                events: 0,
                            });
                            cl.nodes[n].link = Some(id);
                        }
                    }
                    None => {
                        let node = &mut cl.nodes[n];
                        if node.ping_sent == 0 {
                            node.ping_sent = now;
                        }
                    }
                }
            }
        }
        let Some(cl) = self.cl() else { return };
        // Every second, a PING to one of five random nodes: the one heard from longest ago.
        if cl.iteration % 10 == 0 {
            let ids: Vec<usize> = cl.nodes.iter().map(|(i, _)| i).collect();
            let mut best: Option<(usize, i64)> = None;
            let mut rng = rand::rng();
            for _ in 0..5 {
                let Some(&n) = ids.get(rng.random_range(0..ids.len().max(1))) else {
                    break;
                };
                let node = &cl.nodes[n];
                if node.link.is_none() || node.ping_sent != 0 || node.flags & (MYSELF | HANDSHAKE) != 0 {
                    continue;
                }
                if best.is_none_or(|(_, p)| p > node.pong_received) {
                    best = Some((n, node.pong_received));
                }
            }
            if let Some(l) = best.and_then(|(n, _)| cl.nodes[n].link) {
                self.cluster_send_ping(l, msg::PING);
            }
        }
        let Some(cl) = self.cl() else { return };
        let mut update_state = false;
        let (mut orphaned, mut max_slaves, mut this_slaves) = (0, 0, 0);
        let ids: Vec<usize> = cl.nodes.iter().map(|(i, _)| i).collect();
        for n in ids {
            let now = now_ms();
            let Some(cl) = self.cl() else { return };
            let Some(node) = cl.nodes.get(n) else { continue };
            if node.flags & (MYSELF | NOADDR | HANDSHAKE) != 0 {
                continue;
            }
            if cl.me().is_slave() && node.is_master() && !node.failed() {
                let ok = node
                    .slaves
                    .iter()
                    .filter(|&&s| cl.nodes.get(s).is_some_and(|s| !s.failed()))
                    .count();
                if ok == 0 && node.numslots > 0 && node.flags & MIGRATE_TO != 0 {
                    orphaned += 1;
                }
                max_slaves = max_slaves.max(ok);
                if cl.me().slaveof == Some(n) {
                    this_slaves = ok;
                }
            }
            let ping_delay = now - node.ping_sent;
            let data_delay = now - node.data_received;
            if let Some(l) = node.link {
                let link_age = cl.links.get(l).map_or(0, |l| now - l.ctime);
                if link_age > timeout && node.ping_sent != 0 && ping_delay > timeout / 2 && data_delay > timeout / 2 {
                    self.cluster_free_link(l);
                }
            }
            let Some(cl) = self.cl() else { return };
            let node = &cl.nodes[n];
            if let Some(l) = node.link {
                if node.ping_sent == 0 && now - node.pong_received > timeout / 2 {
                    self.cluster_send_ping(l, msg::PING);
                    continue;
                }
                if cl.mf_end != 0 && cl.i_am_master() && cl.mf_slave == Some(n) {
                    self.cluster_send_ping(l, msg::PING);
                    continue;
                }
            }
            if node.ping_sent == 0 {
                continue;
            }
            let delay = ping_delay.min(data_delay);
            if delay > timeout && node.flags & (PFAIL | FAIL) == 0 {
                debug!("*** NODE {} possibly failing", node.name_str());
                cl.nodes[n].flags |= PFAIL;
                update_state = true;
            }
        }
        let Some(cl) = self.cluster.as_deref() else { return };
        // A replica whose replication is not set up follows its master.
        let me = cl.me();
        let follow = me
            .slaveof
            .filter(|_| me.is_slave())
            .and_then(|m| cl.nodes.get(m))
            .filter(|m| m.has_addr() && !m.ip.is_empty())
            .map(|m| (m.ip.clone(), m.port));
        if let Some((ip, port)) = follow.filter(|_| self.repl.master.is_none()) {
            self.repl_set_master(ip, port, true);
        }
        self.cluster_manual_failover_timeout(now);
        let Some(cl) = self.cl() else { return };
        if cl.me().is_slave() {
            self.cluster_handle_manual_failover();
            self.cluster_handle_failover();
            let Some(cl) = self.cl() else { return };
            if orphaned > 0 && max_slaves >= 2 && this_slaves == max_slaves && cl.settings.allow_replica_migration {
                self.cluster_replica_migration(max_slaves);
            }
        }
        // The slot index goes once a minute passes without a slot query.
        if let Some(db) = self.dbs.first_mut() {
            db.drop_idle_slot_index(now - 60_000);
        }
        let Some(cl) = self.cl() else { return };
        if update_state || !cl.ok {
            cl.update_state(now_ms());
        }
        self.cluster_redirect_blocked();
    }

    /// Deferred work before the loop sleeps. Redis compat: clusterBeforeSleep.
    pub fn cluster_before_sleep(&mut self) {
        let Some(cl) = self.cl() else { return };
        if !cl.lost_channel_slots.is_empty() {
            let slots = std::mem::take(&mut cl.lost_channel_slots);
            self.drop_shard_channels_in_slots(&slots);
        }
        let Some(cl) = self.cl() else { return };
        let todo = cl.todo;
        cl.todo = 0;
        if todo & TODO_HANDLE_MANUALFAILOVER != 0 {
            if cl.me().is_slave() {
                self.cluster_handle_manual_failover();
                self.cluster_handle_failover();
            }
        } else if todo & TODO_HANDLE_FAILOVER != 0 {
            self.cluster_handle_failover();
        }
        let Some(cl) = self.cl() else { return };
        if todo & TODO_UPDATE_STATE != 0 {
            cl.update_state(now_ms());
        }
        let Some(cl) = self.cl() else { return };
        if todo & TODO_SAVE_CONFIG != 0 {
            if let Err(e) = cl.save_config(todo & TODO_FSYNC_CONFIG != 0) {
                warn!("Fatal: can't update cluster config file: {e}");
                std::process::exit(1);
            }
        }
    }

    /// CLUSTER LINKS: one map per link.
    pub fn cluster_links_reply(&self, out: &mut crate::resp::ReplyBuf) {
        let Some(cl) = self.cluster.as_deref() else { return };
        // Node by node, our link to it and then its link to us, as Redis lists them.
        let links: Vec<(&Link, &Node)> = cl
            .nodes
            .iter()
            .flat_map(|(_, n)| [n.link, n.inbound_link].into_iter().flatten().map(move |l| (l, n)))
            .filter_map(|(l, n)| Some((cl.links.get(l)?, n)))
            .collect();
        // Redis compat: cluster.c addReplyClusterLinksDescription writes a deferred length.
        out.mark_deferred();
        out.array(links.len());
        for (l, n) in links {
            out.map(6);
            out.bulk(b"direction");
            out.bulk(if l.inbound { b"from" } else { b"to" });
            out.bulk(b"node");
            out.bulk(&n.name);
            out.bulk(b"create-time");
            out.int(l.ctime);
            out.bulk(b"events");
            out.bulk(if l.want_write { b"rw" } else { b"r" });
            out.bulk(b"send-buffer-allocated");
            out.int(l.sndbuf.capacity() as i64);
            out.bulk(b"send-buffer-used");
            out.int(l.sndbuf.len() as i64);
        }
    }
}

/// Writes what the socket takes. True: the link failed.
fn flush(link: &mut Link) -> bool {
    while !link.sndbuf.is_empty() {
        match link.stream.write(&link.sndbuf) {
            Ok(0) => return true,
            Ok(n) => {
                link.sndbuf.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
    link.stream.drain().is_err()
}

/// Asks for writability while the link has output the socket has not taken.
fn want_writable(link: &mut Link, id: usize, reg: &mio::Registry) {
    if !link.want_write && (!link.sndbuf.is_empty() || link.stream.holds_output()) {
        link.want_write = true;
        if let Some(src) = link.stream.source() {
            let _ = reg.reregister(src, Token(LINK_BASE + id), Interest::READABLE | Interest::WRITABLE);
        }
    }
}

fn type_name(t: u16) -> &'static str {
    msg::TYPE_NAMES.get(t as usize).copied().unwrap_or("unknown")
}
