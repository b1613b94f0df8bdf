//! FAILOVER: a master hands its role to one of its replicas without losing a write.
//! Writes are paused; once the target (or any replica) has acknowledged everything,
//! the master becomes a replica of it and asks it, with `PSYNC <id> <offset>
//! FAILOVER`, to become the master and continue the stream it has. A timeout aborts
//! (or, with FORCE, fails over anyway); FAILOVER ABORT ends it by hand.
//! Redis compat: replication.c failoverCommand, updateFailoverStatus.
use super::fullsync::SyncState;
use super::Server;
use crate::clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverState {
    /// Writes paused until a replica has every byte of the stream.
    WaitForSync,
    /// Following the target, whose PSYNC FAILOVER reply is awaited.
    InProgress,
}

#[derive(Clone, Debug)]
pub struct Failover {
    pub state: FailoverState,
    /// The replica to hand over to (host, listening port); None: the first to catch up.
    pub target: Option<(String, u16)>,
    /// Unix ms after which a replica still behind aborts it (or, `force`, not).
    pub end_ms: Option<i64>,
    pub force: bool,
}

impl Server {
    /// INFO's master_failover_state.
    pub fn failover_state_name(&self) -> &'static str {
        match self.failover.as_ref().map(|f| f.state) {
            None => "no-failover",
            Some(FailoverState::WaitForSync) => "waiting-for-sync",
            Some(FailoverState::InProgress) => "failover-in-progress",
        }
    }

    /// Where replica `cid` takes connections: its address and listening port.
    fn replica_address(&self, cid: usize) -> Option<(&str, u16)> {
        let c = self.clients.get(cid)?;
        Some((c.replica_ip(), c.replica.as_ref()?.listening_port))
    }

    /// The connected replica at `host` listening on `port`.
    pub fn find_replica(&self, host: &str, port: u16) -> Option<usize> {
        self.repl.replicas.iter().copied().find(|&cid| {
            self.replica_address(cid)
                .is_some_and(|(h, p)| p == port && h.eq_ignore_ascii_case(host))
        })
    }

    /// Starts a failover (the command's checks passed): pauses writes.
    pub fn failover_start(&mut self, target: Option<(String, u16)>, timeout_ms: Option<i64>, force: bool) {
        match &target {
            Some((h, p)) => tracing::info!("FAILOVER requested to {h}:{p}."),
            None => tracing::info!("FAILOVER requested to any replica."),
        }
        self.failover = Some(Failover {
            state: FailoverState::WaitForSync,
            target,
            end_ms: timeout_ms.map(|t| clock::now_ms().saturating_add(t)),
            force,
        });
        self.pause_clients(super::pause::PausePurpose::Failover, false, i64::MAX);
    }

    /// Ends a failover that succeeded or was aborted: writes resume.
    pub fn failover_clear(&mut self) {
        if self.failover.take().is_some() {
            self.unpause_clients(super::pause::PausePurpose::Failover);
        }
    }

    /// Gives up a failover; if we already follow the target, we are a master again.
    pub fn failover_abort(&mut self, reason: &str) {
        let Some(f) = self.failover.clone() else {
            return;
        };
        match &f.target {
            Some((h, p)) => tracing::info!("FAILOVER to {h}:{p} aborted: {reason}"),
            None => tracing::info!("FAILOVER to any replica aborted: {reason}"),
        }
        if f.state == FailoverState::InProgress {
            let _ = self.cfg.set("replicaof", &[]);
            self.repl_drop_master();
        }
        self.failover_clear();
    }

    /// Cron: times a waiting failover out, or starts it once a replica caught up.
    pub fn failover_cron(&mut self) {
        let Some(f) = self.failover.clone().filter(|f| f.state == FailoverState::WaitForSync) else {
            return;
        };
        if f.end_ms.is_some_and(|end| end <= clock::now_ms()) {
            match f.target.filter(|_| f.force) {
                Some((host, port)) => {
                    tracing::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                    self.failover_to(host, port);
                }
                None => self.failover_abort("Replica never caught up before timeout"),
            }
            return;
        }
        let offset = self.repl.offset;
        let caught_up = |srv: &Server, cid: usize| {
            srv.clients
                .get(cid)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|r| r.state == SyncState::Online && r.ack_offset == offset)
        };
        let target = match f.target {
            Some((host, port)) => self
                .find_replica(&host, port)
                .filter(|&cid| caught_up(self, cid))
                .map(|_| (host, port)),
            None => self
                .repl
                .replicas
                .iter()
                .copied()
                .find(|&cid| caught_up(self, cid))
                .and_then(|cid| self.replica_address(cid))
                .map(|(ip, port)| (ip.to_string(), port)),
        };
        if let Some((host, port)) = target {
            tracing::info!("Failover target {host}:{port} is synced, failing over.");
            self.failover_to(host, port);
        }
    }

    /// Becomes a replica of the target; the handshake's PSYNC asks it to take over.
    fn failover_to(&mut self, host: String, port: u16) {
        if let Some(f) = self.failover.as_mut() {
            f.state = FailoverState::InProgress;
            f.target = Some((host.clone(), port));
        }
        // CONFIG GET/REWRITE show the new master, as after REPLICAOF.
        let _ = self.cfg.set("replicaof", &[host.clone(), port.to_string()]);
        self.repl_set_master(host, port, true);
        self.sync_propagation();
    }

    /// Whether our PSYNC must carry FAILOVER.
    pub fn failover_in_progress(&self) -> bool {
        self.failover
            .as_ref()
            .is_some_and(|f| f.state == FailoverState::InProgress)
    }
}
