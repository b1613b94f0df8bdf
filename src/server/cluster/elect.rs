//! Replica promotion: automatic failover when a master is FAIL (an election among
//! the masters, one vote per epoch), manual failover (CLUSTER FAILOVER), and replica
//! migration to orphaned masters. Redis compat: cluster.c clusterHandleSlaveFailover,
//! clusterSendFailoverAuthIfNeeded, clusterFailoverReplaceYourMaster,
//! clusterHandleManualFailover, clusterHandleSlaveMigration.
use rand::Rng;
use tracing::warn;

use super::msg::{self, Body, Header};
use super::*;
use crate::clock;
use crate::server::pause::PausePurpose;
use crate::server::Server;

const CANT_NONE: u8 = 0;
const CANT_DATA_AGE: u8 = 1;
const CANT_WAITING_DELAY: u8 = 2;
const CANT_EXPIRED: u8 = 3;
const CANT_WAITING_VOTES: u8 = 4;
const CANT_RELOG_PERIOD_S: i64 = 60 * 5;
const SLAVE_MIGRATION_DELAY: i64 = 5000;

impl Server {
    /// Our replication offset as a replica (what we applied of our master's stream).
    fn cluster_my_offset(&self) -> u64 {
        self.cluster_repl_offset()
    }

    /// Votes for a replica asking to replace its failed master, once per epoch.
    pub(super) fn cluster_vote_if_needed(&mut self, node: usize, req: &Header, now: i64) {
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        if cl.me().is_slave() || cl.me().numslots == 0 {
            return;
        }
        let name = cl.nodes[node].name_str().to_string();
        if req.current_epoch < cl.current_epoch {
            warn!(
                "Failover auth denied to {name}: reqEpoch ({}) < curEpoch({})",
                req.current_epoch, cl.current_epoch
            );
            return;
        }
        if cl.last_vote_epoch == cl.current_epoch {
            warn!(
                "Failover auth denied to {name}: already voted for epoch {}",
                cl.current_epoch
            );
            return;
        }
        let force = req.mflags[0] & msg::MF_FORCEACK != 0;
        let master = cl.nodes[node].slaveof.filter(|&m| cl.nodes.contains(m));
        if cl.nodes[node].is_master() {
            warn!("Failover auth denied to {name}: it is a master node");
            return;
        }
        let Some(master) = master else {
            warn!("Failover auth denied to {name}: I don't know its master");
            return;
        };
        if !cl.nodes[master].failed() && !force {
            warn!("Failover auth denied to {name}: its master is up");
            return;
        }
        let timeout = cl.settings.node_timeout;
        let since = now - cl.nodes[master].voted_time;
        if since < timeout * 2 {
            warn!(
                "Failover auth denied to {name}: can't vote about this master before {} milliseconds",
                timeout * 2 - since
            );
            return;
        }
        for j in 0..SLOTS {
            if !msg::bit(&req.myslots, j) {
                continue;
            }
            let owner = cl.slots[j];
            if owner == NONE || msg::bit(&cl.owner_not_claiming, j) {
                continue;
            }
            let e = cl.node(owner).map_or(0, |o| o.config_epoch);
            if e > req.config_epoch {
                warn!(
                    "Failover auth denied to {name}: slot {j} epoch ({e}) > reqEpoch ({})",
                    req.config_epoch
                );
                return;
            }
        }
        cl.last_vote_epoch = cl.current_epoch;
        cl.nodes[master].voted_time = now;
        cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
        let epoch = cl.current_epoch;
        let link = cl.nodes[node].link;
        if let (Some(l), Some(h)) = (link, self.cluster_header_pub(msg::AUTH_ACK)) {
            let buf = msg::encode(&h, &Body::None);
            self.cluster_send_pub(l, &buf);
        }
        warn!("Failover auth granted to {name} for epoch {epoch}");
    }

    /// How many replicas of our master have a better offset than ours.
    fn cluster_slave_rank(&self) -> usize {
        let Some(cl) = self.cluster.as_deref() else { return 0 };
        let Some(m) = cl.me().slaveof.and_then(|m| cl.nodes.get(m)) else {
            return 0;
        };
        let mine = self.cluster_my_offset();
        m.slaves
            .iter()
            .filter(|&&s| s != cl.myself)
            .filter_map(|&s| cl.nodes.get(s))
            .filter(|s| s.flags & NOFAILOVER == 0 && s.repl_offset > mine)
            .count()
    }

    fn cluster_log_cant_failover(&mut self, reason: u8) {
        let now_s = clock::now_ms() / 1000;
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        if reason == cl.cant_failover_reason && now_s - cl.lastlog_time < CANT_RELOG_PERIOD_S {
            return;
        }
        cl.cant_failover_reason = reason;
        // Right after the master fails this is expected: no need to say it.
        let quiet = cl.settings.node_timeout + 5000;
        if let Some(m) = cl.me().slaveof.and_then(|m| cl.nodes.get(m)) {
            if m.failed() && clock::now_ms() - m.fail_time < quiet {
                return;
            }
        }
        let text = match reason {
            CANT_DATA_AGE => "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.",
            CANT_WAITING_DELAY => "Waiting the delay before I can start a new failover.",
            CANT_EXPIRED => "Failover attempt expired.",
            CANT_WAITING_VOTES => "Waiting for votes, but majority still not reached.",
            _ => "Unknown reason code.",
        };
        cl.lastlog_time = now_s;
        warn!("Currently unable to failover: {text}");
    }

    /// Becomes the master of our master's slots. Redis compat:
    /// clusterFailoverReplaceYourMaster.
    pub fn cluster_replace_master(&mut self) {
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        let Some(old) = cl.me().slaveof.filter(|_| cl.me().is_slave()) else {
            return;
        };
        let me = cl.myself;
        cl.set_node_as_master(me);
        for j in 0..SLOTS {
            if cl.nodes.get(old).is_some_and(|o| msg::bit(&o.slots, j)) {
                cl.del_slot(j);
                cl.add_slot(me, j);
            }
        }
        self.repl_drop_master();
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        cl.update_state(clock::now_ms());
        if let Err(e) = cl.save_config(true) {
            warn!("Fatal: can't update cluster config file: {e}");
            std::process::exit(1);
        }
        self.cluster_broadcast_pong(false);
        self.cluster_reset_manual_failover();
    }

    pub fn cluster_reset_manual_failover(&mut self) {
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        let paused = cl.mf_slave.is_some();
        cl.mf_end = 0;
        cl.mf_can_start = false;
        cl.mf_slave = None;
        cl.mf_master_offset = -1;
        if paused {
            self.unpause_clients(PausePurpose::Failover);
        }
    }

    pub(super) fn cluster_manual_failover_timeout(&mut self, now: i64) {
        let Some(cl) = self.cluster.as_deref() else { return };
        if cl.mf_end != 0 && cl.mf_end < now {
            warn!("Manual failover timed out.");
            self.cluster_reset_manual_failover();
        }
    }

    pub(super) fn cluster_handle_manual_failover(&mut self) {
        let mine = self.cluster_my_offset() as i64;
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        if cl.mf_end == 0 || cl.mf_can_start || cl.mf_master_offset == -1 {
            return;
        }
        if cl.mf_master_offset == mine {
            cl.mf_can_start = true;
            warn!("All master replication stream processed, manual failover can start.");
            cl.do_before_sleep(TODO_HANDLE_FAILOVER);
            return;
        }
        cl.do_before_sleep(TODO_HANDLE_MANUALFAILOVER);
    }

    /// A replica of a FAIL master (or asked to by CLUSTER FAILOVER) runs for its
    /// master's slots. Redis compat: clusterHandleSlaveFailover.
    pub(super) fn cluster_handle_failover(&mut self) {
        let now = clock::now_ms();
        let (connected_idle, down_since) = match self.repl.master.as_ref() {
            Some(m) if m.state == crate::server::repl::LinkState::Connected => (
                Some(
                    m.cid
                        .and_then(|c| self.clients.get(c))
                        .map_or(0, |c| (now - c.last_interaction_ms).max(0)),
                ),
                0,
            ),
            Some(m) => (None, m.down_since_ms),
            None => (None, now),
        };
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        cl.todo &= !TODO_HANDLE_FAILOVER;
        let auth_age = now - cl.failover_auth_time;
        let quorum = cl.size / 2 + 1;
        let manual = cl.mf_end != 0 && cl.mf_can_start;
        let timeout = cl.settings.node_timeout;
        let auth_timeout = (timeout * 2).max(2000);
        let retry = auth_timeout * 2;
        let me = cl.me();
        let master = me.slaveof.filter(|_| me.is_slave()).and_then(|m| cl.nodes.get(m));
        let Some(master) = master else {
            cl.cant_failover_reason = CANT_NONE;
            return;
        };
        if (!manual && (!master.failed() || cl.settings.replica_no_failover)) || master.numslots == 0 {
            cl.cant_failover_reason = CANT_NONE;
            return;
        }
        let mut data_age = match connected_idle {
            Some(idle) => idle / 1000 * 1000,
            None => (now - down_since) / 1000 * 1000,
        };
        if data_age > timeout {
            data_age -= timeout;
        }
        let factor = cl.settings.replica_validity_factor;
        if factor > 0 && data_age > cl.settings.repl_ping_period_ms + timeout * factor && !manual {
            self.cluster_log_cant_failover(CANT_DATA_AGE);
            return;
        }
        if auth_age > retry {
            let rank = self.cluster_slave_rank();
            let Some(cl) = self.cluster.as_deref_mut() else { return };
            cl.failover_auth_time = now + 500 + rand::rng().random_range(0..500) + rank as i64 * 1000;
            cl.failover_auth_count = 0;
            cl.failover_auth_sent = false;
            cl.failover_auth_rank = rank;
            if cl.mf_end != 0 {
                cl.failover_auth_time = now;
                cl.failover_auth_rank = 0;
                cl.do_before_sleep(TODO_HANDLE_FAILOVER);
            }
            warn!(
                "Start of election delayed for {} milliseconds (rank #{}, offset {}).",
                cl.failover_auth_time - now,
                cl.failover_auth_rank,
                self.repl.offset
            );
            self.cluster_broadcast_pong(true);
            return;
        }
        if !cl.failover_auth_sent && cl.mf_end == 0 {
            let rank = self.cluster_slave_rank();
            let Some(cl) = self.cluster.as_deref_mut() else { return };
            if rank > cl.failover_auth_rank {
                let added = (rank - cl.failover_auth_rank) as i64 * 1000;
                cl.failover_auth_time += added;
                cl.failover_auth_rank = rank;
                warn!("Replica rank updated to #{rank}, added {added} milliseconds of delay.");
            }
        }
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        if now < cl.failover_auth_time {
            self.cluster_log_cant_failover(CANT_WAITING_DELAY);
            return;
        }
        if auth_age > auth_timeout {
            self.cluster_log_cant_failover(CANT_EXPIRED);
            return;
        }
        if !cl.failover_auth_sent {
            cl.current_epoch += 1;
            cl.failover_auth_epoch = cl.current_epoch;
            warn!("Starting a failover election for epoch {}.", cl.current_epoch);
            let force = cl.mf_end != 0;
            cl.failover_auth_sent = true;
            cl.do_before_sleep(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
            if let Some(mut h) = self.cluster_header_pub(msg::AUTH_REQUEST) {
                if force {
                    h.mflags[0] |= msg::MF_FORCEACK;
                }
                let buf = msg::encode(&h, &Body::None);
                self.cluster_broadcast_pub(&buf);
            }
            return;
        }
        if cl.failover_auth_count >= quorum {
            warn!("Failover election won: I'm the new master.");
            if cl.me().config_epoch < cl.failover_auth_epoch {
                let e = cl.failover_auth_epoch;
                cl.me_mut().config_epoch = e;
                warn!("configEpoch set to {e} after successful failover");
            }
            self.cluster_replace_master();
        } else {
            self.cluster_log_cant_failover(CANT_WAITING_VOTES);
        }
    }

    /// A replica of a master with spare replicas moves to an orphaned master.
    /// Redis compat: clusterHandleSlaveMigration.
    pub(super) fn cluster_replica_migration(&mut self, max_slaves: usize) {
        let now = clock::now_ms();
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        if !cl.ok {
            return;
        }
        let Some(mymaster) = cl.me().slaveof.filter(|&m| cl.nodes.contains(m)) else {
            return;
        };
        let ok_slaves = |cl: &Cluster, m: usize| {
            cl.nodes[m]
                .slaves
                .iter()
                .filter(|&&s| cl.nodes.get(s).is_some_and(|s| !s.failed() && !s.timed_out()))
                .count()
        };
        if ok_slaves(cl, mymaster) as i64 <= cl.settings.migration_barrier {
            return;
        }
        let mut candidate = cl.myself;
        let mut target = None;
        let ids: Vec<usize> = cl.nodes.iter().map(|(i, _)| i).collect();
        for n in ids {
            let node = &cl.nodes[n];
            let oks = if node.is_master() {
                node.slaves
                    .iter()
                    .filter(|&&s| cl.nodes.get(s).is_some_and(|s| !s.failed()))
                    .count()
            } else {
                0
            };
            let orphaned = !node.is_slave() && !node.failed() && node.flags & MIGRATE_TO != 0 && oks == 0;
            if orphaned {
                if target.is_none() && node.numslots > 0 {
                    target = Some(n);
                }
                if cl.nodes[n].orphaned_time == 0 {
                    cl.nodes[n].orphaned_time = now;
                }
            } else {
                cl.nodes[n].orphaned_time = 0;
            }
            if oks == max_slaves {
                for &s in &cl.nodes[n].slaves {
                    if cl.nodes.get(s).is_some_and(|s| s.name < cl.nodes[candidate].name) {
                        candidate = s;
                    }
                }
            }
        }
        if let Some(t) = target {
            if candidate == cl.myself && now - cl.nodes[t].orphaned_time > SLAVE_MIGRATION_DELAY {
                warn!("Migrating to orphaned master {}", cl.nodes[t].name_str());
                self.cluster_set_master(t);
            }
        }
    }

    /// CLUSTER FAILOVER [FORCE|TAKEOVER] once checked.
    pub fn cluster_start_manual_failover(&mut self, force: bool, takeover: bool) {
        self.cluster_reset_manual_failover();
        let now = clock::now_ms();
        let Some(cl) = self.cluster.as_deref_mut() else { return };
        cl.mf_end = now + MF_TIMEOUT;
        if takeover {
            warn!("Taking over the master (user request).");
            cl.bump_epoch_without_consensus();
            self.cluster_replace_master();
        } else if force {
            warn!("Forced failover user request accepted.");
            cl.mf_can_start = true;
        } else {
            warn!("Manual failover user request accepted.");
            let link = cl.me().slaveof.and_then(|m| cl.nodes.get(m)).and_then(|m| m.link);
            if let (Some(l), Some(h)) = (link, self.cluster_header_pub(msg::MFSTART)) {
                let buf = msg::encode(&h, &Body::None);
                self.cluster_send_pub(l, &buf);
            }
        }
    }
}
