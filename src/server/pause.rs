//! CLIENT PAUSE: until it ends, commands that may write or replicate (WRITE) or all
//! commands (ALL) wait, unanswered, and keys are not expired (they only read as
//! gone), so a replica can catch up for a failover. Redis compat: networking.c
//! pauseClients, server.c processCommand's BLOCKED_POSTPONE.
use super::Server;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// ALL rather than WRITE.
    pub all: bool,
    /// Unix ms when it ends.
    pub end_ms: i64,
}

/// Who paused: each keeps its own pause, and ending one leaves the others in force.
/// Redis compat: server.h pause_purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PausePurpose {
    /// CLIENT PAUSE.
    Command = 0,
    /// SHUTDOWN waiting for replicas.
    Shutdown = 1,
    /// FAILOVER waiting for its target.
    Failover = 2,
}

impl Server {
    /// Starts or extends `purpose`'s pause: the stricter type and the later end win.
    pub fn pause_clients(&mut self, purpose: PausePurpose, all: bool, end_ms: i64) {
        let slot = &mut self.pauses[purpose as usize];
        *slot = Some(match *slot {
            Some(p) => Pause {
                all: p.all || all,
                end_ms: p.end_ms.max(end_ms),
            },
            None => Pause { all, end_ms },
        });
        self.update_pause(crate::clock::now_ms());
    }

    /// Ends `purpose`'s pause; the others stay in force.
    pub fn unpause_clients(&mut self, purpose: PausePurpose) {
        self.pauses[purpose as usize] = None;
        self.update_pause(crate::clock::now_ms());
    }

    /// The pause in force, ending the pauses whose time has come first.
    pub fn pause_check(&mut self, now_ms: i64) -> Option<Pause> {
        if self.pause.is_some_and(|p| p.end_ms < now_ms) {
            self.update_pause(now_ms);
        }
        self.pause
    }

    /// The pause in force: the strictest type of those not ended, until the latest
    /// end among the pauses of that type. When it gets less strict, expiry resumes
    /// (if nothing pauses) and the waiting clients run their commands again, in the
    /// order they arrived (they may be paused again).
    /// Redis compat: networking.c updateClientPauseTypeAndEndTime.
    fn update_pause(&mut self, now_ms: i64) {
        for p in &mut self.pauses {
            if p.is_some_and(|p| p.end_ms < now_ms) {
                *p = None;
            }
        }
        let old = self.pause;
        let all = self.pauses.iter().flatten().any(|p| p.all);
        self.pause = self
            .pauses
            .iter()
            .flatten()
            .filter(|p| p.all == all)
            .map(|p| p.end_ms)
            .max()
            .map(|end_ms| Pause { all, end_ms });
        self.sync_expiry_mode();
        let lowered = match (old, self.pause) {
            (Some(_), None) => true,
            (Some(o), Some(n)) => o.all && !n.all,
            _ => false,
        };
        if lowered {
            self.run_postponed();
        }
    }

    fn run_postponed(&mut self) {
        for cid in std::mem::take(&mut self.postponed) {
            let Some(c) = self.clients.get_mut(cid) else { continue };
            let Some(argv) = c.postponed.take() else { continue };
            // The command goes back in front of the unread input, to be run (and
            // perhaps paused again) like any other.
            let mut req = Vec::new();
            crate::persist::aof::cat_command(&mut req, &argv);
            let rest = c.query.get(c.qpos..).unwrap_or_default();
            req.extend_from_slice(rest);
            c.query = req;
            c.qpos = 0;
            self.blocking.unblocked.push(cid);
        }
    }

    /// Whether expired keys are deleted when found: not during a pause, nor on a
    /// replica, whose keys expire by the master's DELs (they read as gone to its
    /// clients meanwhile). Redis compat: db.c expireIfNeeded.
    pub fn sync_expiry_mode(&mut self) {
        let keep = self.pause.is_some() || self.repl.master.is_some();
        for db in &mut self.dbs {
            db.keep_expired = keep;
        }
    }

    /// Makes `cid` wait for the end of the pause with `argv`.
    pub fn postpone(&mut self, cid: usize, argv: &[&[u8]]) {
        if let Some(c) = self.clients.get_mut(cid) {
            c.postponed = Some(argv.iter().map(|a| a.to_vec()).collect());
            self.postponed.push(cid);
        }
    }
}
