//! Sentinel's timer: links kept up, PING/INFO/hello sent on their periods, replies
//! read, subjective and objective down states, the leader election and the failover
//! state machine. Redis compat: sentinel.c, from sentinelReconnectInstance to
//! sentinelTimer.
use mio::Registry;
use rand::Rng;

use super::link::{Cb, Io, Reply};
use super::*;

const MAX_PENDING_COMMANDS: i64 = 100;
const MAX_DESYNC: i64 = 1000;

/// What the timer needs from the server around it.
pub struct Env {
    /// The port others reach this Sentinel on (hello messages).
    pub port: u16,
    /// `requirepass`: used with peer Sentinels when no sentinel-pass is set.
    pub requirepass: Option<String>,
    pub dial: super::link::Dial,
}

fn rand_desync() -> i64 {
    rand::rng().random_range(0..MAX_DESYNC)
}

impl Sentinel {
    // ---------------------------------------------------------------- links

    /// Closes one connection of an instance's link.
    pub fn close_conn(&mut self, reg: &Registry, at: At, pubsub: bool) {
        let Some(ri) = self.ri_mut(at) else { return };
        let id = if pubsub { ri.link.pc.take() } else { ri.link.cc.take() };
        if !pubsub && id.is_some() {
            ri.link.pending = 0;
        }
        if id.is_some() {
            ri.link.disconnected = true;
        }
        if let Some(id) = id {
            self.sockets.close(reg, id);
        }
    }

    pub fn close_links(&mut self, reg: &Registry, at: At) {
        self.close_conn(reg, at, false);
        self.close_conn(reg, at, true);
    }

    /// Closes the connections of every instance of master `m` and forgets them.
    pub fn close_master_links(&mut self, reg: &Registry, m: usize, sentinels_too: bool) {
        let Some(ms) = self.masters.get(m) else { return };
        let (ns, nn) = (ms.slaves.len(), ms.sentinels.len());
        self.close_links(reg, At::Master(m));
        for i in 0..ns {
            self.close_links(reg, At::Slave(m, i));
        }
        if sentinels_too {
            for i in 0..nn {
                self.close_links(reg, At::Sentinel(m, i));
            }
        }
    }

    /// Sends a command on an instance's command (or Pub/Sub) connection.
    fn send(&mut self, at: At, pubsub: bool, argv: &[&str], cb: Cb) -> bool {
        let m = at.master();
        let mut words: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        if let Some(first) = words.first_mut() {
            *first = self.map_cmd(m, first).to_string();
        }
        let Some(ri) = self.ri_mut(at) else { return false };
        let Some(sock) = (if pubsub { ri.link.pc } else { ri.link.cc }) else {
            return false;
        };
        if !pubsub {
            ri.link.pending += 1;
        }
        let bytes: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        self.sockets.send(sock, &bytes, cb)
    }

    /// AUTH with the credentials for this kind of instance.
    /// Redis compat: sentinel.c sentinelSendAuthIfNeeded.
    fn send_auth(&mut self, at: At, pubsub: bool, env: &Env) {
        let (pass, user) = match at {
            At::Master(m) | At::Slave(m, _) => {
                let ms = &self.masters[m];
                (ms.auth_pass.clone(), ms.auth_user.clone())
            }
            At::Sentinel(..) => match &self.pass {
                Some(p) => (Some(p.clone()), self.user.clone()),
                None => (env.requirepass.clone(), None),
            },
        };
        match (pass, user) {
            (Some(p), None) => {
                self.send(at, pubsub, &["AUTH", &p], Cb::Discard);
            }
            (Some(p), Some(u)) => {
                self.send(at, pubsub, &["AUTH", &u, &p], Cb::Discard);
            }
            _ => {}
        }
    }

    /// Connects the missing connections of an instance's link.
    /// Redis compat: sentinel.c sentinelReconnectInstance.
    fn reconnect(&mut self, reg: &Registry, at: At, env: &Env, now: i64) {
        let resolve = self.resolve_hostnames;
        let ping_period = self.t.ping_period;
        let Some(ri) = self.ri_mut(at) else { return };
        if !ri.link.disconnected || ri.addr.port == 0 {
            return;
        }
        if now - ri.link.last_reconn_time < ping_period {
            return;
        }
        ri.link.last_reconn_time = now;
        let is_data = ri.flags & (MASTER | SLAVE) != 0;
        if ri.link.cc.is_none() {
            if resolve {
                if let Some(ip) = super::resolve(&ri.addr.host, true) {
                    ri.addr.ip = ip;
                }
            }
            if self.open_conn(reg, at, false, env, now) {
                self.send_ping(at, now);
            }
        }
        if is_data && self.ri(at).is_some_and(|ri| ri.link.pc.is_none()) && self.open_conn(reg, at, true, env, now) {
            self.send(at, true, &["SUBSCRIBE", HELLO_CHANNEL], Cb::Hello);
        }
        let Some(ri) = self.ri_mut(at) else { return };
        if ri.link.cc.is_some() && (ri.flags & SENTINEL != 0 || ri.link.pc.is_some()) {
            ri.link.disconnected = false;
        }
    }

    /// Opens the command (or Pub/Sub) connection of an instance's link, authenticates
    /// and names it. False, with a debug event, when the connect fails at once.
    fn open_conn(&mut self, reg: &Registry, at: At, pubsub: bool, env: &Env, now: i64) -> bool {
        let Some(ri) = self.ri(at) else { return false };
        let (ip, port, owner) = (ri.addr.ip.clone(), ri.addr.port, ri.id);
        let kind = if pubsub { "pubsub" } else { "cmd" };
        let id = match self.sockets.connect(reg, &ip, port, owner, pubsub, &env.dial) {
            Ok(id) => id,
            Err(e) => {
                self.event(
                    LogLevel::Debug,
                    &format!("-{kind}-link-reconnection"),
                    Some(at),
                    &format!("#{e}"),
                );
                return false;
            }
        };
        let Some(ri) = self.ri_mut(at) else {
            self.sockets.close(reg, id);
            return false;
        };
        if pubsub {
            ri.link.pc = Some(id);
            ri.link.pc_conn_time = now;
            ri.link.pc_last_activity = now;
        } else {
            ri.link.cc = Some(id);
            ri.link.pending = 0;
            ri.link.cc_conn_time = now;
        }
        self.send_auth(at, pubsub, env);
        let name = format!("sentinel-{}-{kind}", self.myid.get(..8).unwrap_or(&self.myid));
        self.send(at, pubsub, &["CLIENT", "SETNAME", &name], Cb::Discard);
        true
    }

    fn send_ping(&mut self, at: At, now: i64) -> bool {
        if !self.send(at, false, &["PING"], Cb::Ping) {
            return false;
        }
        if let Some(ri) = self.ri_mut(at) {
            ri.link.last_ping_time = now;
            if ri.link.act_ping_time == 0 {
                ri.link.act_ping_time = now;
            }
        }
        true
    }

    /// PUBLISHes our hello to an instance. Redis compat: sentinel.c sentinelSendHello.
    fn send_hello(&mut self, at: At, env: &Env) -> bool {
        let m = at.master();
        let Some(ri) = self.ri(at) else { return false };
        if ri.link.disconnected {
            return false;
        }
        let Some(cc) = ri.link.cc else { return false };
        let ip = match &self.announce_ip {
            Some(ip) => ip.clone(),
            None => match self.sockets.local_ip(cc) {
                Some(ip) => ip,
                None => return false,
            },
        };
        let port = if self.announce_port != 0 {
            self.announce_port
        } else {
            env.port
        };
        let ms = &self.masters[m];
        let Some(maddr) = self.current_master_addr(m) else {
            return false;
        };
        let payload = format!(
            "{ip},{port},{},{},{},{},{},{}",
            self.myid,
            self.current_epoch,
            ms.ri.name,
            self.announce(maddr),
            maddr.port,
            ms.config_epoch
        );
        self.send(at, false, &["PUBLISH", HELLO_CHANNEL, &payload], Cb::Publish)
    }

    /// Makes every instance of master `m` get a hello soon.
    pub fn force_hello(&mut self, m: usize) {
        let p = self.t.publish_period + 1;
        let Some(ms) = self.masters.get_mut(m) else { return };
        for ri in std::iter::once(&mut ms.ri)
            .chain(ms.slaves.iter_mut())
            .chain(ms.sentinels.iter_mut())
        {
            if ri.last_pub_time >= p {
                ri.last_pub_time -= p;
            }
        }
    }

    /// PING, INFO and hello on their periods. Redis compat: sentinelSendPeriodicCommands.
    fn periodic(&mut self, at: At, env: &Env, now: i64) {
        let m = at.master();
        let master_flags = self.masters[m].ri.flags;
        let t = self.t;
        let Some(ri) = self.ri(at) else { return };
        if ri.link.disconnected || ri.link.pending >= MAX_PENDING_COMMANDS {
            return;
        }
        let info_period = if ri.flags & SLAVE != 0
            && (master_flags & (O_DOWN | FAILOVER_IN_PROGRESS) != 0 || ri.master_link_down_time != 0)
        {
            1000
        } else {
            t.info_period
        };
        let ping_period = ri.down_after.min(t.ping_period);
        let want_info = ri.flags & SENTINEL == 0 && (ri.info_refresh == 0 || now - ri.info_refresh > info_period);
        let want_ping = now - ri.link.last_pong_time > ping_period && now - ri.link.last_ping_time > ping_period / 2;
        let want_hello = now - ri.last_pub_time > t.publish_period;
        if want_info {
            self.send(at, false, &["INFO"], Cb::Info);
        }
        if want_ping {
            self.send_ping(at, now);
        }
        if want_hello {
            self.send_hello(at, env);
        }
    }

    // ---------------------------------------------------------------- replies

    /// Readiness on a link socket.
    pub fn link_io(&mut self, reg: &Registry, sock: usize) {
        let Some(owner) = self.sockets.all.get(sock).map(|s| (s.owner, s.pubsub)) else {
            return;
        };
        let io = self.sockets.io(sock);
        let (replies, closed) = match io {
            Io::Replies(r) => (r, None),
            Io::Closed(r, why) => (r, Some(why)),
        };
        for (cb, r) in replies {
            // The instance may have gone (or moved) with an earlier reply.
            let Some(at) = self.find(owner.0) else { break };
            self.on_reply(reg, at, owner.1, cb, r);
        }
        if closed.is_some() {
            if let Some(at) = self.find(owner.0) {
                let ri = self.ri(at);
                let still = ri.is_some_and(|ri| {
                    if owner.1 {
                        ri.link.pc == Some(sock)
                    } else {
                        ri.link.cc == Some(sock)
                    }
                });
                if still {
                    self.close_conn(reg, at, owner.1);
                    return;
                }
            }
            self.sockets.close(reg, sock);
        }
    }

    fn on_reply(&mut self, reg: &Registry, at: At, pubsub: bool, cb: Cb, r: Reply) {
        let now = now_ms();
        if !pubsub && cb != Cb::Hello {
            if let Some(ri) = self.ri_mut(at) {
                ri.link.pending = (ri.link.pending - 1).max(0);
            }
        }
        match cb {
            Cb::Discard => {}
            Cb::Info => {
                if let Reply::Bulk(Some(b)) = r {
                    let text = String::from_utf8_lossy(&b).into_owned();
                    self.refresh_info(at, &text, now);
                }
            }
            Cb::Ping => self.on_pong(at, &r, now),
            Cb::Publish => {
                if !matches!(r, Reply::Error(_)) {
                    if let Some(ri) = self.ri_mut(at) {
                        ri.last_pub_time = now;
                    }
                }
            }
            Cb::IsMasterDown => self.on_is_master_down(at, &r, now),
            Cb::Hello => {
                if let Some(ri) = self.ri_mut(at) {
                    ri.link.pc_last_activity = now;
                }
                let Reply::Array(Some(items)) = r else { return };
                let [Reply::Bulk(Some(kind)), Reply::Bulk(Some(_)), Reply::Bulk(Some(msg))] = items.as_slice() else {
                    return;
                };
                if kind.as_slice() != b"message" {
                    return;
                }
                let msg = String::from_utf8_lossy(msg).into_owned();
                if msg.contains(&self.myid) {
                    return;
                }
                self.process_hello(reg, &msg);
            }
        }
    }

    fn on_pong(&mut self, at: At, r: &Reply, now: i64) {
        let Some(ri) = self.ri_mut(at) else { return };
        let text = match r {
            Reply::Status(s) | Reply::Error(s) => s.clone(),
            _ => {
                ri.link.last_pong_time = now;
                return;
            }
        };
        if text.starts_with("PONG") || text.starts_with("LOADING") || text.starts_with("MASTERDOWN") {
            ri.link.last_avail_time = now;
            ri.link.act_ping_time = 0;
            if ri.flags & MASTER_REBOOT != 0 && text.starts_with("PONG") {
                ri.flags &= !MASTER_REBOOT;
            }
        } else if text.starts_with("BUSY") && ri.flags & S_DOWN != 0 && ri.flags & SCRIPT_KILL_SENT == 0 {
            ri.flags |= SCRIPT_KILL_SENT;
            self.send(at, false, &["SCRIPT", "KILL"], Cb::Discard);
        }
        if let Some(ri) = self.ri_mut(at) {
            ri.link.last_pong_time = now;
        }
    }

    /// Reads an instance's INFO. Redis compat: sentinel.c sentinelRefreshInstanceInfo.
    fn refresh_info(&mut self, at: At, info: &str, now: i64) {
        let m = at.master();
        let mut role = 0u32;
        let mut new_slaves: Vec<(String, i64)> = Vec::new();
        let mut reboot = false;
        {
            let reboot_period = self.masters[m].master_reboot_down_after;
            let Some(ri) = self.ri_mut(at) else { return };
            ri.info = Some(info.to_string());
            ri.master_link_down_time = 0;
            let atoi = |s: &str| crate::util::num::atoi_prefix(s.as_bytes());
            for l in info.split("\r\n") {
                if let Some(id) = l.strip_prefix("run_id:").and_then(|v| v.get(..40)) {
                    match &ri.runid {
                        None => ri.runid = Some(id.to_string()),
                        Some(old) if old != id => {
                            reboot = true;
                            if ri.flags & MASTER != 0 && reboot_period != 0 {
                                ri.flags |= MASTER_REBOOT;
                                ri.master_reboot_since = now;
                            }
                            ri.runid = Some(id.to_string());
                        }
                        _ => {}
                    }
                }
                let b = l.as_bytes();
                if ri.flags & MASTER != 0 && l.len() >= 7 && l.starts_with("slave") && b[5].is_ascii_digit() {
                    let Some((_, v)) = l.split_once(':') else { continue };
                    let (ip, port) = if l.contains("ip=") {
                        let field = |k: &str| v.split(',').find_map(|kv| kv.strip_prefix(k)).map(|s| s.to_string());
                        match (field("ip="), field("port=")) {
                            (Some(ip), Some(port)) => (ip, port),
                            _ => continue,
                        }
                    } else {
                        let mut it = v.split(',');
                        match (it.next(), it.next(), it.next()) {
                            (Some(ip), Some(port), Some(_)) => (ip.to_string(), port.to_string()),
                            _ => continue,
                        }
                    };
                    new_slaves.push((ip, atoi(&port)));
                }
                if let Some(v) = l.strip_prefix("master_link_down_since_seconds:") {
                    ri.master_link_down_time = atoi(v).saturating_mul(1000);
                }
                if l.starts_with("role:master") {
                    role = MASTER;
                } else if l.starts_with("role:slave") {
                    role = SLAVE;
                }
                if role == SLAVE {
                    if let Some(v) = l.strip_prefix("master_host:") {
                        if !ri
                            .slave_master_host
                            .as_deref()
                            .is_some_and(|h| h.eq_ignore_ascii_case(v))
                        {
                            ri.slave_master_host = Some(v.to_string());
                            ri.slave_conf_change_time = now;
                        }
                    }
                    if let Some(v) = l.strip_prefix("master_port:") {
                        let p = atoi(v);
                        if ri.slave_master_port != p {
                            ri.slave_master_port = p;
                            ri.slave_conf_change_time = now;
                        }
                    }
                    if let Some(v) = l.strip_prefix("master_link_status:") {
                        ri.slave_master_link_up = v.eq_ignore_ascii_case("up");
                    }
                    if let Some(v) = l.strip_prefix("slave_priority:") {
                        ri.slave_priority = atoi(v);
                    }
                    if let Some(v) = l.strip_prefix("slave_repl_offset:") {
                        ri.slave_repl_offset = v.trim().parse().unwrap_or(0);
                    }
                    if let Some(v) = l.strip_prefix("replica_announced:") {
                        ri.replica_announced = atoi(v);
                    }
                }
            }
            ri.info_refresh = now;
        }
        if reboot {
            self.event(LogLevel::Notice, "+reboot", Some(at), "");
        }
        for (ip, port) in new_slaves {
            let known = self
                .make_addr(&ip, port, false)
                .ok()
                .map(|a| self.announce_with_port(&a))
                .is_some_and(|key| self.masters[m].slaves.iter().any(|s| s.name == key));
            if !known {
                if let Ok(i) = self.add_slave(m, &ip, port) {
                    self.event(LogLevel::Notice, "+slave", Some(At::Slave(m, i)), "");
                    self.flush = true;
                }
            }
        }
        let Some(ri) = self.ri_mut(at) else { return };
        if role != ri.role_reported {
            ri.role_reported_time = now;
            ri.role_reported = role;
            if role == SLAVE {
                ri.slave_conf_change_time = now;
            }
            let coherent = ri.flags & (MASTER | SLAVE) == role;
            let what = if role == MASTER { "master" } else { "slave" };
            self.event(
                LogLevel::Verbose,
                if coherent { "+role-change" } else { "-role-change" },
                Some(at),
                &format!("new reported role is {what}"),
            );
        }
        if self.tilt {
            return;
        }
        let At::Slave(_, si) = at else { return };
        let (flags, role_time, conf_time, smhost, smport, link_up, id) = {
            let s = &self.masters[m].slaves[si];
            (
                s.flags,
                s.role_reported_time,
                s.slave_conf_change_time,
                s.slave_master_host.clone(),
                s.slave_master_port,
                s.slave_master_link_up,
                s.id,
            )
        };
        let mflags = self.masters[m].ri.flags;
        let fstate = self.masters[m].failover_state;
        if role == MASTER {
            if flags & PROMOTED != 0 && mflags & FAILOVER_IN_PROGRESS != 0 && fstate == FO_WAIT_PROMOTION {
                let ms = &mut self.masters[m];
                ms.config_epoch = ms.failover_epoch;
                ms.failover_state = FO_RECONF_SLAVES;
                ms.failover_state_change_time = now;
                self.flush = true;
                self.event(LogLevel::Warning, "+promoted-slave", Some(at), "");
                if self.simfailure & SIM_CRASH_AFTER_PROMOTION != 0 {
                    sim_crash();
                }
                self.event(
                    LogLevel::Warning,
                    "+failover-state-reconf-slaves",
                    Some(At::Master(m)),
                    "",
                );
                let from = self.masters[m].ri.addr.clone();
                let to = self.masters[m].slaves[si].addr.clone();
                self.reconfig_script(m, "leader", "start", &from, &to);
                self.force_hello(m);
            } else {
                let wait = self.t.publish_period * 4;
                if flags & PROMOTED == 0
                    && self.master_looks_sane(m, now)
                    && no_down_for(&self.masters[m].slaves[si], wait, now)
                    && now - role_time > wait
                {
                    let maddr = self.masters[m].ri.addr.clone();
                    if self.send_slaveof(at, Some(&maddr)) {
                        self.event(LogLevel::Notice, "+convert-to-slave", Some(at), "");
                    }
                }
            }
        }
        let maddr = self.masters[m].ri.addr.clone();
        if role == SLAVE
            && (smport != maddr.port as i64 || !smhost.as_deref().is_some_and(|h| self.addr_is_host(&maddr, h)))
        {
            let wait = self.masters[m].failover_timeout;
            if self.master_looks_sane(m, now)
                && no_down_for(&self.masters[m].slaves[si], wait, now)
                && now - conf_time > wait
                && self.send_slaveof(at, Some(&maddr))
            {
                self.event(LogLevel::Notice, "+fix-slave-config", Some(at), "");
            }
        }
        if role == SLAVE && flags & (RECONF_SENT | RECONF_INPROG) != 0 {
            let promoted = self.masters[m]
                .promoted
                .and_then(|p| self.masters[m].slaves.iter().find(|s| s.id == p))
                .map(|s| s.addr.clone());
            let Some(paddr) = promoted else { return };
            if flags & RECONF_SENT != 0
                && smhost.as_deref().is_some_and(|h| self.addr_is_host(&paddr, h))
                && smport == paddr.port as i64
            {
                if let Some(s) = self.masters[m].slaves.iter_mut().find(|s| s.id == id) {
                    s.flags = (s.flags & !RECONF_SENT) | RECONF_INPROG;
                }
                self.event(LogLevel::Notice, "+slave-reconf-inprog", Some(at), "");
            }
            let flags = self.masters[m].slaves[si].flags;
            if flags & RECONF_INPROG != 0 && link_up {
                let s = &mut self.masters[m].slaves[si];
                s.flags = (s.flags & !RECONF_INPROG) | RECONF_DONE;
                self.event(LogLevel::Notice, "+slave-reconf-done", Some(at), "");
            }
        }
    }

    fn master_looks_sane(&self, m: usize, now: i64) -> bool {
        let ri = &self.masters[m].ri;
        ri.flags & MASTER != 0
            && ri.role_reported == MASTER
            && ri.flags & (S_DOWN | O_DOWN) == 0
            && now - ri.info_refresh < self.t.info_period * 2
    }

    /// Processes a hello message (from the Pub/Sub link or a peer's PUBLISH).
    /// Redis compat: sentinel.c sentinelProcessHelloMessage.
    pub fn process_hello(&mut self, reg: &Registry, hello: &str) {
        let tok: Vec<&str> = hello.split(',').collect();
        if tok.len() != 8 {
            return;
        }
        let Some(m) = self.master_index(tok[4]) else { return };
        let atoi = |s: &str| crate::util::num::atoi_prefix(s.as_bytes());
        let (ip, port, runid) = (tok[0], atoi(tok[1]), tok[2]);
        let current_epoch = tok[3].parse::<u64>().unwrap_or(0);
        let master_port = atoi(tok[6]);
        let master_config_epoch = tok[7].parse::<u64>().unwrap_or(0);
        let probe = self.make_addr(ip, port, true).ok();
        let found = probe.as_ref().and_then(|a| {
            self.masters[m]
                .sentinels
                .iter()
                .position(|s| s.runid.as_deref() == Some(runid) && s.addr.same(a))
        });
        let mut si = found;
        if found.is_none() {
            // The same Sentinel at another address is replaced; another Sentinel
            // at this address is dropped everywhere.
            let before = self.masters[m].sentinels.len();
            self.remove_sentinels_by_runid(reg, m, runid);
            let removed = before != self.masters[m].sentinels.len();
            if removed {
                self.event(
                    LogLevel::Notice,
                    "+sentinel-address-switch",
                    Some(At::Master(m)),
                    &format!("ip {ip} port {port} for {runid}"),
                );
            } else if let Some(a) = &probe {
                if let Some(other) = self.masters[m].sentinels.iter().position(|s| s.addr.same(a)) {
                    self.event(
                        LogLevel::Notice,
                        "+sentinel-invalid-addr",
                        Some(At::Sentinel(m, other)),
                        "",
                    );
                    if let Some(old) = self.masters[m].sentinels[other].runid.clone() {
                        for mm in 0..self.masters.len() {
                            self.remove_sentinels_by_runid(reg, mm, &old);
                        }
                    }
                }
            }
            if let Ok(i) = self.add_sentinel(m, runid, ip, port) {
                if !removed {
                    self.event(LogLevel::Notice, "+sentinel", Some(At::Sentinel(m, i)), "");
                }
                if removed {
                    // Its address changed for every master it is known in.
                    let addr = self.masters[m].sentinels[i].addr.clone();
                    for mm in 0..self.masters.len() {
                        let Some(j) = self.masters[mm]
                            .sentinels
                            .iter()
                            .position(|s| s.runid.as_deref() == Some(runid))
                        else {
                            continue;
                        };
                        if mm != m {
                            self.close_links(reg, At::Sentinel(mm, j));
                            self.masters[mm].sentinels[j].addr = addr.clone();
                        }
                    }
                }
                self.flush = true;
                si = Some(i);
            }
        }
        self.raise_epoch(m, current_epoch);
        let Some(si) = si else { return };
        if self.masters[m].config_epoch < master_config_epoch {
            self.masters[m].config_epoch = master_config_epoch;
            let maddr = self.masters[m].ri.addr.clone();
            if master_port != maddr.port as i64 || !self.addr_is_host(&maddr, tok[5]) {
                self.event(LogLevel::Warning, "+config-update-from", Some(At::Sentinel(m, si)), "");
                let name = self.masters[m].ri.name.clone();
                let from = self.announce(&maddr).to_string();
                self.event_raw(
                    LogLevel::Warning,
                    "+switch-master",
                    Some(At::Master(m)),
                    format!("{name} {from} {} {} {master_port}", maddr.port, tok[5]),
                );
                if self.reset_master_and_change_address(reg, m, tok[5], master_port) {
                    let to = self.masters[m].ri.addr.clone();
                    self.reconfig_script(m, "observer", "start", &maddr, &to);
                }
            }
        }
        if let Some(s) = self
            .masters
            .get_mut(m)
            .and_then(|ms| ms.sentinels.iter_mut().find(|s| s.runid.as_deref() == Some(runid)))
        {
            s.last_hello_time = now_ms();
        }
    }

    fn remove_sentinels_by_runid(&mut self, reg: &Registry, m: usize, runid: &str) {
        while let Some(i) = self.masters[m]
            .sentinels
            .iter()
            .position(|s| s.runid.as_deref() == Some(runid))
        {
            self.close_links(reg, At::Sentinel(m, i));
            self.masters[m].sentinels.remove(i);
        }
    }

    fn on_is_master_down(&mut self, at: At, r: &Reply, now: i64) {
        let Reply::Array(Some(items)) = r else { return };
        let [Reply::Int(down), Reply::Bulk(Some(leader)), Reply::Int(epoch)] = items.as_slice() else {
            return;
        };
        let leader = String::from_utf8_lossy(leader).into_owned();
        let Some(ri) = self.ri_mut(at) else { return };
        ri.last_master_down_reply_time = now;
        if *down == 1 {
            ri.flags |= MASTER_DOWN;
        } else {
            ri.flags &= !MASTER_DOWN;
        }
        if leader != "*" {
            if ri.leader_epoch as i64 != *epoch {
                tracing::warn!("{} voted for {} {}", ri.name, leader, epoch);
            }
            ri.leader = Some(leader);
            ri.leader_epoch = *epoch as u64;
        }
    }

    // ---------------------------------------------------------------- acting

    /// Forgets what was learnt of master `m` (replicas, optionally Sentinels, flags,
    /// failover) and reconnects. Redis compat: sentinel.c sentinelResetMaster.
    pub fn reset_master(&mut self, reg: &Registry, m: usize, sentinels_too: bool, event: bool) {
        self.close_master_links(reg, m, sentinels_too);
        let now = now_ms();
        let ms = &mut self.masters[m];
        ms.slaves.clear();
        if sentinels_too {
            ms.sentinels.clear();
        }
        ms.ri.flags &= MASTER;
        ms.ri.leader = None;
        ms.failover_state = FO_NONE;
        ms.failover_state_change_time = 0;
        ms.failover_start_time = 0;
        ms.promoted = None;
        ms.ri.runid = None;
        ms.ri.slave_master_host = None;
        ms.ri.link.act_ping_time = now;
        ms.ri.link.last_ping_time = 0;
        ms.ri.link.last_avail_time = now;
        ms.ri.link.last_pong_time = now;
        ms.ri.role_reported_time = now;
        ms.ri.role_reported = MASTER;
        if event {
            self.event(LogLevel::Warning, "+reset-master", Some(At::Master(m)), "");
        }
    }

    /// Moves master `m` to a new address, keeping its replicas (and the old address as
    /// one). Redis compat: sentinel.c sentinelResetMasterAndChangeAddress.
    pub fn reset_master_and_change_address(&mut self, reg: &Registry, m: usize, host: &str, port: i64) -> bool {
        let Ok(newaddr) = self.make_addr(host, port, false) else {
            return false;
        };
        let ms = &self.masters[m];
        let mut keep: Vec<Addr> = ms
            .slaves
            .iter()
            .filter(|s| !s.addr.same(&newaddr))
            .map(|s| s.addr.clone())
            .collect();
        if !newaddr.same(&ms.ri.addr) {
            keep.push(ms.ri.addr.clone());
        }
        self.reset_master(reg, m, false, false);
        let ms = &mut self.masters[m];
        ms.ri.addr = newaddr;
        ms.ri.o_down_since = 0;
        ms.ri.s_down_since = 0;
        for a in keep {
            if let Ok(i) = self.add_slave(m, &a.host, a.port as i64) {
                self.event(LogLevel::Notice, "+slave", Some(At::Slave(m, i)), "");
            }
        }
        self.flush = true;
        true
    }

    /// SLAVEOF (or SLAVEOF NO ONE) in a transaction with CONFIG REWRITE and the
    /// killing of normal and Pub/Sub clients. Redis compat: sentinelSendSlaveOf.
    pub fn send_slaveof(&mut self, at: At, to: Option<&Addr>) -> bool {
        let (host, port) = match to {
            Some(a) => (self.announce(a).to_string(), a.port.to_string()),
            None => ("NO".to_string(), "ONE".to_string()),
        };
        if !self.send(at, false, &["MULTI"], Cb::Discard) {
            return false;
        }
        self.send(at, false, &["SLAVEOF", &host, &port], Cb::Discard);
        self.send(at, false, &["CONFIG", "REWRITE"], Cb::Discard);
        self.send(at, false, &["CLIENT", "KILL", "TYPE", "normal"], Cb::Discard);
        self.send(at, false, &["CLIENT", "KILL", "TYPE", "pubsub"], Cb::Discard);
        self.send(at, false, &["EXEC"], Cb::Discard)
    }

    /// Redis compat: sentinel.c sentinelCheckSubjectivelyDown.
    fn check_sdown(&mut self, reg: &Registry, at: At, now: i64) {
        let t = self.t;
        let Some(ri) = self.ri(at) else { return };
        let elapsed = if ri.link.act_ping_time != 0 {
            now - ri.link.act_ping_time
        } else if ri.link.disconnected {
            now - ri.link.last_avail_time
        } else {
            0
        };
        let l = ri.link.clone();
        if l.cc.is_some()
            && now - l.cc_conn_time > t.min_link_reconnect_period
            && l.act_ping_time != 0
            && now - l.act_ping_time > ri.down_after / 2
            && now - l.last_pong_time > ri.down_after / 2
        {
            self.close_conn(reg, at, false);
        }
        if l.pc.is_some()
            && now - l.pc_conn_time > t.min_link_reconnect_period
            && now - l.pc_last_activity > t.publish_period * 3
        {
            self.close_conn(reg, at, true);
        }
        let reboot_period = self.masters[at.master()].master_reboot_down_after;
        let Some(ri) = self.ri_mut(at) else { return };
        let down = elapsed > ri.down_after
            || (ri.flags & MASTER != 0
                && ri.role_reported == SLAVE
                && now - ri.role_reported_time > ri.down_after + t.info_period * 2)
            || (ri.flags & MASTER_REBOOT != 0 && now - ri.master_reboot_since > reboot_period);
        if down {
            if ri.flags & S_DOWN == 0 {
                ri.s_down_since = now;
                ri.flags |= S_DOWN;
                self.event(LogLevel::Warning, "+sdown", Some(at), "");
            }
        } else if ri.flags & S_DOWN != 0 {
            ri.flags &= !(S_DOWN | SCRIPT_KILL_SENT);
            self.event(LogLevel::Warning, "-sdown", Some(at), "");
        }
    }

    /// Redis compat: sentinel.c sentinelCheckObjectivelyDown.
    fn check_odown(&mut self, m: usize, now: i64) {
        let ms = &self.masters[m];
        let mut quorum = 0;
        let mut odown = false;
        if ms.ri.flags & S_DOWN != 0 {
            quorum = 1 + ms.sentinels.iter().filter(|s| s.flags & MASTER_DOWN != 0).count() as i64;
            odown = quorum >= ms.quorum;
        }
        let q = ms.quorum;
        let ms = &mut self.masters[m];
        if odown {
            if ms.ri.flags & O_DOWN == 0 {
                ms.ri.flags |= O_DOWN;
                ms.ri.o_down_since = now;
                self.event(
                    LogLevel::Warning,
                    "+odown",
                    Some(At::Master(m)),
                    &format!("#quorum {quorum}/{q}"),
                );
            }
        } else if ms.ri.flags & O_DOWN != 0 {
            ms.ri.flags &= !O_DOWN;
            self.event(LogLevel::Warning, "-odown", Some(At::Master(m)), "");
        }
    }

    /// Asks the other Sentinels whether they see master `m` down (and for their vote
    /// once a failover started). Redis compat: sentinelAskMasterStateToOtherSentinels.
    fn ask_others(&mut self, m: usize, forced: bool, now: i64) {
        let ask = self.t.ask_period;
        let (mflags, fstate, maddr) = {
            let ms = &self.masters[m];
            (ms.ri.flags, ms.failover_state, ms.ri.addr.clone())
        };
        let host = self.announce(&maddr).to_string();
        let epoch = self.current_epoch.to_string();
        let runid = if fstate > FO_NONE {
            self.myid.clone()
        } else {
            "*".into()
        };
        for i in 0..self.masters[m].sentinels.len() {
            let s = &mut self.masters[m].sentinels[i];
            let elapsed = now - s.last_master_down_reply_time;
            if elapsed > ask * 5 {
                s.flags &= !MASTER_DOWN;
                s.leader = None;
            }
            if mflags & S_DOWN == 0 || s.link.disconnected {
                continue;
            }
            if !forced && now - s.last_master_down_reply_time < ask {
                continue;
            }
            self.send(
                At::Sentinel(m, i),
                false,
                &[
                    "SENTINEL",
                    "is-master-down-by-addr",
                    &host,
                    &maddr.port.to_string(),
                    &epoch,
                    &runid,
                ],
                Cb::IsMasterDown,
            );
        }
    }

    /// Adopts a newer epoch seen about master `m` (saved, and a +new-epoch event).
    fn raise_epoch(&mut self, m: usize, epoch: u64) {
        if epoch > self.current_epoch {
            self.current_epoch = epoch;
            self.flush = true;
            // Redis compat: sentinel.c (these events name no instance).
            self.event_raw(LogLevel::Warning, "+new-epoch", Some(At::Master(m)), epoch.to_string());
        }
    }

    /// Votes for `runid` as leader of `req_epoch` unless a vote was given for it
    /// already; the vote and its epoch. Redis compat: sentinel.c sentinelVoteLeader.
    pub fn vote_leader(&mut self, m: usize, req_epoch: u64, runid: &str) -> (Option<String>, u64) {
        self.raise_epoch(m, req_epoch);
        let ce = self.current_epoch;
        let myid = self.myid.clone();
        let ms = &mut self.masters[m];
        if ms.ri.leader_epoch < req_epoch && ce <= req_epoch {
            ms.ri.leader = Some(runid.to_string());
            ms.ri.leader_epoch = ce;
            self.flush = true;
            self.event_raw(
                LogLevel::Warning,
                "+vote-for-leader",
                Some(At::Master(m)),
                format!("{runid} {ce}"),
            );
            if !runid.eq_ignore_ascii_case(&myid) {
                self.masters[m].failover_start_time = now_ms() + rand_desync();
            }
        }
        let ms = &self.masters[m];
        (ms.ri.leader.clone(), ms.ri.leader_epoch)
    }

    /// The leader of `epoch` if one has a majority and the quorum.
    /// Redis compat: sentinel.c sentinelGetLeader.
    fn get_leader(&mut self, m: usize, epoch: u64) -> Option<String> {
        let ce = self.current_epoch;
        let ms = &self.masters[m];
        let voters = ms.sentinels.len() + 1;
        let mut counts: Vec<(String, usize)> = Vec::new();
        let incr = |counts: &mut Vec<(String, usize)>, id: &str| -> usize {
            match counts.iter_mut().find(|(k, _)| k == id) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((id.to_string(), 1));
                    1
                }
            }
        };
        for s in &ms.sentinels {
            if let (Some(l), true) = (&s.leader, s.leader_epoch == ce) {
                incr(&mut counts, l);
            }
        }
        let mut winner: Option<String> = None;
        let mut max = 0;
        for (k, n) in &counts {
            if *n > max {
                max = *n;
                winner = Some(k.clone());
            }
        }
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(m, epoch, &candidate);
        if let (Some(v), true) = (&myvote, leader_epoch == epoch) {
            let n = incr(&mut counts, v);
            if n > max {
                max = n;
                winner = Some(v.clone());
            }
        }
        let quorum = self.masters[m].quorum;
        if max < voters / 2 + 1 || (max as i64) < quorum {
            return None;
        }
        winner
    }

    /// Starts a failover of master `m`. Redis compat: sentinel.c sentinelStartFailover.
    pub fn start_failover(&mut self, m: usize) {
        self.current_epoch += 1;
        let now = now_ms();
        let ce = self.current_epoch;
        let ms = &mut self.masters[m];
        ms.failover_state = FO_WAIT_START;
        ms.ri.flags |= FAILOVER_IN_PROGRESS;
        ms.failover_epoch = ce;
        self.event_raw(LogLevel::Warning, "+new-epoch", Some(At::Master(m)), ce.to_string());
        self.event(LogLevel::Warning, "+try-failover", Some(At::Master(m)), "");
        let ms = &mut self.masters[m];
        ms.failover_start_time = now + rand_desync();
        ms.failover_state_change_time = now;
    }

    fn start_failover_if_needed(&mut self, m: usize, now: i64) -> bool {
        let ms = &mut self.masters[m];
        if ms.ri.flags & O_DOWN == 0 || ms.ri.flags & FAILOVER_IN_PROGRESS != 0 {
            return false;
        }
        if now - ms.failover_start_time < ms.failover_timeout * 2 {
            if ms.failover_delay_logged != ms.failover_start_time {
                ms.failover_delay_logged = ms.failover_start_time;
                let at = (ms.failover_start_time + ms.failover_timeout * 2) / 1000;
                tracing::warn!("Next failover delay: I will not start a failover before {}", ctime(at));
            }
            return false;
        }
        self.start_failover(m);
        true
    }

    /// The best replica to promote, if any is fit. Redis compat: sentinelSelectSlave.
    pub fn select_slave(&self, m: usize, now: i64) -> Option<u64> {
        let ms = &self.masters[m];
        let t = self.t;
        let mut max_down = 0;
        if ms.ri.flags & S_DOWN != 0 {
            max_down += now - ms.ri.s_down_since;
        }
        max_down += ms.ri.down_after * 10;
        let validity = if ms.ri.flags & S_DOWN != 0 {
            t.ping_period * 5
        } else {
            t.info_period * 3
        };
        let mut fit: Vec<&Inst> = ms
            .slaves
            .iter()
            .filter(|s| {
                s.flags & (S_DOWN | O_DOWN) == 0
                    && !s.link.disconnected
                    && now - s.link.last_avail_time <= t.ping_period * 5
                    && s.slave_priority != 0
                    && now - s.info_refresh <= validity
                    && s.master_link_down_time <= max_down
            })
            .collect();
        fit.sort_by(|a, b| {
            a.slave_priority
                .cmp(&b.slave_priority)
                .then(b.slave_repl_offset.cmp(&a.slave_repl_offset))
                .then_with(|| match (&a.runid, &b.runid) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, _) => std::cmp::Ordering::Greater,
                    (_, None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                })
        });
        fit.first().map(|s| s.id)
    }

    fn abort_failover(&mut self, m: usize) {
        let ms = &mut self.masters[m];
        ms.ri.flags &= !(FAILOVER_IN_PROGRESS | FORCE_FAILOVER);
        ms.failover_state = FO_NONE;
        ms.failover_state_change_time = now_ms();
        if let Some(p) = ms.promoted.take() {
            if let Some(s) = ms.slaves.iter_mut().find(|s| s.id == p) {
                s.flags &= !PROMOTED;
            }
        }
    }

    fn promoted_at(&self, m: usize) -> Option<At> {
        let p = self.masters[m].promoted?;
        self.masters[m]
            .slaves
            .iter()
            .position(|s| s.id == p)
            .map(|i| At::Slave(m, i))
    }

    /// One step of master `m`'s failover. Redis compat: sentinelFailoverStateMachine.
    fn failover_step(&mut self, m: usize, now: i64) {
        let ms = &self.masters[m];
        if ms.ri.flags & FAILOVER_IN_PROGRESS == 0 {
            return;
        }
        let master = Some(At::Master(m));
        match ms.failover_state {
            FO_WAIT_START => {
                let epoch = ms.failover_epoch;
                let leader = self.get_leader(m, epoch);
                let is_leader = leader.is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
                let ms = &self.masters[m];
                if !is_leader && ms.ri.flags & FORCE_FAILOVER == 0 {
                    let timeout = self.t.election_timeout.min(ms.failover_timeout);
                    if now - ms.failover_start_time > timeout {
                        self.event(LogLevel::Warning, "-failover-abort-not-elected", master, "");
                        self.abort_failover(m);
                    }
                    return;
                }
                self.event(LogLevel::Warning, "+elected-leader", master, "");
                if self.simfailure & SIM_CRASH_AFTER_ELECTION != 0 {
                    sim_crash();
                }
                let ms = &mut self.masters[m];
                ms.failover_state = FO_SELECT_SLAVE;
                ms.failover_state_change_time = now;
                self.event(LogLevel::Warning, "+failover-state-select-slave", master, "");
            }
            FO_SELECT_SLAVE => match self.select_slave(m, now) {
                None => {
                    self.event(LogLevel::Warning, "-failover-abort-no-good-slave", master, "");
                    self.abort_failover(m);
                }
                Some(id) => {
                    let ms = &mut self.masters[m];
                    let Some(i) = ms.slaves.iter().position(|s| s.id == id) else {
                        return;
                    };
                    self.event(LogLevel::Warning, "+selected-slave", Some(At::Slave(m, i)), "");
                    let ms = &mut self.masters[m];
                    ms.slaves[i].flags |= PROMOTED;
                    ms.promoted = Some(id);
                    ms.failover_state = FO_SEND_SLAVEOF_NOONE;
                    ms.failover_state_change_time = now;
                    self.event(
                        LogLevel::Notice,
                        "+failover-state-send-slaveof-noone",
                        Some(At::Slave(m, i)),
                        "",
                    );
                }
            },
            FO_SEND_SLAVEOF_NOONE => {
                let Some(p) = self.promoted_at(m) else {
                    self.abort_failover(m);
                    return;
                };
                let ms = &self.masters[m];
                if self.ri(p).is_none_or(|s| s.link.disconnected) {
                    if now - ms.failover_state_change_time > ms.failover_timeout {
                        self.event(LogLevel::Warning, "-failover-abort-slave-timeout", master, "");
                        self.abort_failover(m);
                    }
                    return;
                }
                if !self.send_slaveof(p, None) {
                    return;
                }
                self.event(LogLevel::Notice, "+failover-state-wait-promotion", Some(p), "");
                let ms = &mut self.masters[m];
                ms.failover_state = FO_WAIT_PROMOTION;
                ms.failover_state_change_time = now;
            }
            FO_WAIT_PROMOTION if now - ms.failover_state_change_time > ms.failover_timeout => {
                self.event(LogLevel::Warning, "-failover-abort-slave-timeout", master, "");
                self.abort_failover(m);
            }
            FO_RECONF_SLAVES => self.reconf_next_slave(m, now),
            _ => {}
        }
    }

    /// Points the next replicas (up to parallel-syncs at a time) at the promoted one.
    /// Redis compat: sentinel.c sentinelFailoverReconfNextSlave.
    fn reconf_next_slave(&mut self, m: usize, now: i64) {
        let Some(p) = self.promoted_at(m) else { return };
        let paddr = self.ri(p).map(|s| s.addr.clone()).unwrap_or_default();
        let mut in_progress = self.masters[m]
            .slaves
            .iter()
            .filter(|s| s.flags & (RECONF_SENT | RECONF_INPROG) != 0)
            .count() as i64;
        let timeout = self.t.slave_reconf_timeout;
        for i in 0..self.masters[m].slaves.len() {
            if in_progress >= self.masters[m].parallel_syncs {
                break;
            }
            let s = &mut self.masters[m].slaves[i];
            if s.flags & (PROMOTED | RECONF_DONE) != 0 {
                continue;
            }
            if s.flags & RECONF_SENT != 0 && now - s.slave_reconf_sent_time > timeout {
                s.flags = (s.flags & !RECONF_SENT) | RECONF_DONE;
                self.event(
                    LogLevel::Notice,
                    "-slave-reconf-sent-timeout",
                    Some(At::Slave(m, i)),
                    "",
                );
            }
            let s = &self.masters[m].slaves[i];
            if s.flags & (RECONF_SENT | RECONF_INPROG) != 0 || s.link.disconnected {
                continue;
            }
            if self.send_slaveof(At::Slave(m, i), Some(&paddr)) {
                let s = &mut self.masters[m].slaves[i];
                s.flags |= RECONF_SENT;
                s.slave_reconf_sent_time = now;
                self.event(LogLevel::Notice, "+slave-reconf-sent", Some(At::Slave(m, i)), "");
                in_progress += 1;
            }
        }
        self.detect_failover_end(m, now);
    }

    /// Redis compat: sentinel.c sentinelFailoverDetectEnd.
    fn detect_failover_end(&mut self, m: usize, now: i64) {
        let Some(p) = self.promoted_at(m) else { return };
        if self.ri(p).is_none_or(|s| s.flags & S_DOWN != 0) {
            return;
        }
        let ms = &self.masters[m];
        let elapsed = now - ms.failover_state_change_time;
        let mut not_reconfigured = ms
            .slaves
            .iter()
            .filter(|s| s.flags & (PROMOTED | RECONF_DONE) == 0 && s.flags & S_DOWN == 0)
            .count();
        let mut timeout = false;
        if elapsed > ms.failover_timeout {
            not_reconfigured = 0;
            timeout = true;
            self.event(LogLevel::Warning, "+failover-end-for-timeout", Some(At::Master(m)), "");
        }
        if not_reconfigured == 0 {
            self.event(LogLevel::Warning, "+failover-end", Some(At::Master(m)), "");
            let ms = &mut self.masters[m];
            ms.failover_state = FO_UPDATE_CONFIG;
            ms.failover_state_change_time = now;
        }
        if timeout {
            let paddr = self.ri(p).map(|s| s.addr.clone()).unwrap_or_default();
            for i in 0..self.masters[m].slaves.len() {
                let s = &self.masters[m].slaves[i];
                if s.flags & (PROMOTED | RECONF_DONE | RECONF_SENT) != 0 || s.link.disconnected {
                    continue;
                }
                if self.send_slaveof(At::Slave(m, i), Some(&paddr)) {
                    self.masters[m].slaves[i].flags |= RECONF_SENT;
                    self.event(LogLevel::Notice, "+slave-reconf-sent-be", Some(At::Slave(m, i)), "");
                }
            }
        }
    }

    /// The failover ended: the promoted replica becomes the monitored master.
    /// Redis compat: sentinel.c sentinelFailoverSwitchToPromotedSlave.
    fn switch_to_promoted(&mut self, reg: &Registry, m: usize) {
        let old = self.masters[m].ri.addr.clone();
        let new = self
            .promoted_at(m)
            .and_then(|p| self.ri(p))
            .map(|s| s.addr.clone())
            .unwrap_or_else(|| old.clone());
        let name = self.masters[m].ri.name.clone();
        let msg = format!(
            "{name} {} {} {} {}",
            self.announce(&old),
            old.port,
            self.announce(&new),
            new.port
        );
        self.event_raw(LogLevel::Warning, "+switch-master", Some(At::Master(m)), msg);
        self.reset_master_and_change_address(reg, m, &new.host, new.port as i64);
    }

    /// Monitoring and acting for one instance. Redis compat: sentinelHandleRedisInstance.
    fn handle(&mut self, reg: &Registry, at: At, env: &Env, now: i64) {
        self.reconnect(reg, at, env, now);
        self.periodic(at, env, now);
        if self.tilt {
            if now - self.tilt_start < self.t.tilt_period {
                return;
            }
            self.tilt = false;
            self.event_raw(LogLevel::Warning, "-tilt", None, "#tilt mode exited".into());
        }
        self.check_sdown(reg, at, now);
        if let At::Master(m) = at {
            self.check_odown(m, now);
            if self.start_failover_if_needed(m, now) {
                self.ask_others(m, true, now);
            }
            self.failover_step(m, now);
            self.ask_others(m, false, now);
        }
    }

    /// The Sentinel timer, run from the server cron. Redis compat: sentinelTimer.
    pub fn timer(&mut self, reg: &Registry, env: &Env) {
        let now = now_ms();
        let delta = now - self.previous_time;
        if delta < 0 || delta > self.t.tilt_trigger {
            self.tilt = true;
            self.tilt_start = now;
            self.event_raw(LogLevel::Warning, "+tilt", None, "#tilt mode entered".into());
        }
        self.previous_time = now_ms();
        let mut switch = None;
        for m in 0..self.masters.len() {
            self.handle(reg, At::Master(m), env, now);
            let mut i = 0;
            while i < self.masters.get(m).map_or(0, |ms| ms.slaves.len()) {
                self.handle(reg, At::Slave(m, i), env, now);
                i += 1;
            }
            let mut i = 0;
            while i < self.masters.get(m).map_or(0, |ms| ms.sentinels.len()) {
                self.handle(reg, At::Sentinel(m, i), env, now);
                i += 1;
            }
            if self
                .masters
                .get(m)
                .is_some_and(|ms| ms.failover_state == FO_UPDATE_CONFIG)
            {
                switch = Some(m);
            }
        }
        if let Some(m) = switch {
            self.switch_to_promoted(reg, m);
        }
        self.run_scripts(now);
    }

    // ---------------------------------------------------------------- scripts

    fn reconfig_script(&mut self, m: usize, role: &str, state: &str, from: &Addr, to: &Addr) {
        let Some(path) = self.masters[m].client_reconfig_script.clone() else {
            return;
        };
        let argv = vec![
            path,
            self.masters[m].ri.name.clone(),
            role.to_string(),
            state.to_string(),
            self.announce(from).to_string(),
            from.port.to_string(),
            self.announce(to).to_string(),
            to.port.to_string(),
        ];
        self.schedule_script(argv);
    }

    /// Starts queued scripts (16 at most at once), reaps finished ones, retries the
    /// failed and kills the overdue. Redis compat: sentinelRunPendingScripts and the
    /// functions after it.
    fn run_scripts(&mut self, now: i64) {
        const MAX_RUNNING: usize = 16;
        const MAX_RETRY: u32 = 10;
        let (max_runtime, retry_delay) = (self.t.script_max_runtime, self.t.script_retry_delay);
        let mut done = Vec::new();
        for (i, s) in self.scripts.iter_mut().enumerate() {
            let Some(child) = s.child.as_mut() else { continue };
            match child.try_wait() {
                Ok(Some(st)) => {
                    let code = st.code();
                    s.child = None;
                    s.pid = None;
                    // Exit code 1 (or a signal) asks for a retry, as in Redis.
                    if (code == Some(1) || code.is_none()) && s.retry < MAX_RETRY {
                        s.retry += 1;
                        s.start_time = now + retry_delay * (1 << (s.retry - 1).min(10));
                    } else {
                        done.push(i);
                    }
                }
                Ok(None) if now - s.start_time > max_runtime => {
                    let _ = child.kill();
                    tracing::warn!("-script-timeout {} {}", s.argv[0], child.id());
                }
                _ => {}
            }
        }
        for i in done.into_iter().rev() {
            self.scripts.remove(i);
        }
        let mut running = self.scripts.iter().filter(|s| s.child.is_some()).count();
        for s in self.scripts.iter_mut() {
            if running >= MAX_RUNNING {
                break;
            }
            if s.child.is_some() || s.start_time > now {
                continue;
            }
            s.start_time = now;
            match std::process::Command::new(&s.argv[0]).args(&s.argv[1..]).spawn() {
                Ok(c) => {
                    s.pid = Some(c.id());
                    s.child = Some(c);
                    running += 1;
                    tracing::debug!("+script-child {}", s.pid.unwrap_or(0));
                }
                Err(e) => {
                    tracing::warn!("-script-error {} {e}", s.argv[0]);
                    s.retry = MAX_RETRY;
                }
            }
        }
        self.scripts.retain(|s| s.child.is_some() || s.retry < MAX_RETRY);
    }
}

fn no_down_for(ri: &Inst, ms: i64, now: i64) -> bool {
    let recent = ri.s_down_since.max(ri.o_down_since);
    recent == 0 || now - recent > ms
}

fn sim_crash() -> ! {
    tracing::warn!("Sentinel CRASH because of SENTINEL simulate-failure");
    std::process::exit(99);
}

/// A unix time as ctime(3) writes it, without the newline.
fn ctime(secs: i64) -> String {
    let t = secs as libc::time_t;
    let mut buf = [0 as libc::c_char; 32];
    // Safety: ctime_r writes at most 26 bytes into the 32-byte buffer.
    let p = unsafe { libc::ctime_r(&t, buf.as_mut_ptr()) };
    if p.is_null() {
        return secs.to_string();
    }
    // Safety: ctime_r wrote a NUL-terminated string into buf.
    let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    s.to_string_lossy().trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_info_and_hello_text_is_read_without_panics() {
        let poll = mio::Poll::new().unwrap();
        let reg = poll.registry();
        let mut s = Sentinel::new();
        s.myid = "€".repeat(13) + "x";
        let m = s.add_master("m", "127.0.0.1", 7000, 1).unwrap();
        let now = now_ms();
        let infos = [
            "run_id:€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€\r\nrole:master\r\nslave0:ip=,port=\r\nslave1:\r\nslave2:a,b\r\nslave3:ip=127.0.0.1,port=7001,state=online\r\n",
            "role:slave\r\nmaster_host:€\r\nmaster_port:-99999999999999999999\r\nslave_repl_offset:x\r\nmaster_link_down_since_seconds:9223372036854775807\r\n",
            "",
            "\r\n\r\nrole:",
        ];
        for text in infos {
            s.refresh_info(At::Master(m), text, now);
        }
        assert_eq!(
            s.masters[m].slaves.len(),
            1,
            "only the replica with an address is added"
        );
        s.refresh_info(At::Slave(m, 0), infos[1], now);
        for hello in [
            "",
            ",,,,,,,",
            "1.2.3.4,x,id,99999999999999999999999,m,€,1,2",
            "127.0.0.1,26379,abcd,5,m,127.0.0.1,7000,0",
            "127.0.0.1,26379,abcd,5,m,127.0.0.1,7002,9",
        ] {
            s.process_hello(reg, hello);
        }
        assert_eq!(s.current_epoch, 5);
        assert_eq!(s.masters[m].ri.addr.port, 7002, "a newer config epoch moves the master");
        // A hello with a port that is not a number still names a Sentinel (port 0:
        // never connected), as in Redis.
        assert_eq!(s.masters[m].sentinels.len(), 2);
    }
}
