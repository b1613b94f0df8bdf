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

impl Server {
    /// Starts or extends a pause: the stricter type and the later end win.
    pub fn pause_clients(&mut self, all: bool, end_ms: i64) {
        let p = match self.pause {
            Some(p) => Pause {
                all: p.all || all,
                end_ms: p.end_ms.max(end_ms),
            },
            None => Pause { all, end_ms },
        };
        self.pause = Some(p);
        self.sync_expiry_mode();
        self.pause_check(crate::clock::now_ms());
    }

    /// The pause in force, ending it first if its time has come.
    pub fn pause_check(&mut self, now_ms: i64) -> Option<Pause> {
        if self.pause.is_some_and(|p| p.end_ms < now_ms) {
            self.unpause_clients();
        }
        self.pause
    }

    /// Ends the pause: expiry resumes and the waiting clients run their commands
    /// again, in the order they arrived.
    pub fn unpause_clients(&mut self) {
        // A failover's write pause lasts until the failover ends, whatever other
        // pause ends meanwhile. Redis compat: PAUSE_DURING_FAILOVER.
        self.pause = self.failover.is_some().then_some(Pause {
            all: false,
            end_ms: i64::MAX,
        });
        self.sync_expiry_mode();
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
