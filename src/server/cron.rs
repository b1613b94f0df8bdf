//! Periodic work, run every 1000/hz ms from the reactor: the active expire cycle
//! (bounded to a share of each tick), idle client timeouts, instantaneous metric
//! samples, query buffer trimming; and the shutdown sequence.
use tracing::{info, warn};

use super::{Server, ShutdownReq};
use crate::clock;
use crate::db::expire;

/// Samples kept for the instantaneous metrics (Redis compat: STATS_METRIC_SAMPLES).
const SAMPLES: usize = 16;

impl Server {
    pub fn cron(&mut self) {
        let now = clock::now_ms();
        // Redis compat: expire.c: no key expires during CLIENT PAUSE, and a replica
        // waits for its master's DELs.
        if self.active_expire && self.pause_check(now).is_none() {
            if self.repl.master.is_none() {
                self.active_expire_cycle(now);
            } else {
                self.expire_replica_keys(now);
            }
            self.propagate_background_deletions();
        }
        self.after_writes(None);
        if self.tracking.clients > 0 {
            self.tracking_limit();
        }
        self.clients_cron(now);
        self.recount_clients_mem();
        self.evict_clients();
        self.bgsave_poll(false);
        self.aof_cron();
        self.save_points_cron();
        self.repl_cron();
        crate::cmd::migrate::close_timed_out(&mut self.migrate_cache, now / 1000);
        // Forked debugging sessions that ended are reaped.
        self.scripts.ldb_children.retain(|&pid| {
            let mut status = 0;
            // Safety: waits without blocking for a child this process forked.
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 }
        });
        let s = &mut self.stats;
        s.samples.push((now, s.total_commands, s.net_input, s.net_output));
        if s.samples.len() > SAMPLES {
            s.samples.remove(0);
        }
    }

    /// On a replica, expires the keys its own clients wrote once their TTL passes.
    /// Redis compat: expire.c expireSlaveKeys.
    fn expire_replica_keys(&mut self, now: i64) {
        if self.replica_written.is_empty() {
            return;
        }
        for (db, key) in std::mem::take(&mut self.replica_written) {
            let Some(d) = self.dbs.get_mut(db) else { continue };
            match d.get_expire(&key) {
                Some(at) if at <= now => {
                    d.keep_expired = false;
                    let _ = d.peek(&key, now);
                    d.keep_expired = true;
                }
                Some(_) => {
                    self.replica_written.insert((db, key));
                }
                None => {}
            }
        }
    }

    /// Runs the active expire cycle within 25% of a cron tick (scaled by effort).
    /// Redis compat: expire.c ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC.
    fn active_expire_cycle(&mut self, now: i64) {
        let effort = self.cfg.active_expire_effort.max(1) as u64;
        let perc = 25 + 2 * (effort - 1);
        let budget_us = 1_000_000 * perc / self.hz.max(1) as u64 / 100;
        let start = clock::mono_us();
        let mut next = self.expire_next_db;
        let st = expire::cycle(&mut self.dbs, &mut next, now, || clock::mono_us() - start > budget_us);
        self.expire_next_db = next;
        if st.timed_out {
            self.stats.expire_cycle_timeouts += 1;
        }
        if st.sampled > 0 {
            let perc = st.expired as f64 / st.sampled as f64;
            self.stats.expired_stale_perc = perc * 0.05 + self.stats.expired_stale_perc * 0.95;
        }
        let elapsed_ms = (clock::mono_us() - start) / 1000;
        self.stats.expire_cycle_cpu_ms += elapsed_ms;
        self.latency_sample("expire-cycle", elapsed_ms);
    }

    fn clients_cron(&mut self, now: i64) {
        let timeout = self.cfg.timeout as i64 * 1000;
        let mut idle = Vec::new();
        for (cid, c) in self.clients.iter_mut() {
            if timeout > 0 && now - c.last_interaction_ms > timeout && c.pending_output() == 0 {
                idle.push(cid);
            }
            // Redis compat: server.c clientsCronResizeQueryBuffer: a query buffer wasting
            // more than 4 KB is trimmed to its content when the client has been idle over
            // 2 s, or down to the recent peak when it is over 32 KB and twice that peak.
            let (len, cap) = (c.query.len(), c.query.capacity());
            let bulk = c.parser.pending_bulk().unwrap_or(0);
            if cap - len > 4 * 1024 {
                if now - c.last_interaction_ms > 2000 {
                    c.query.shrink_to_fit();
                } else if cap > 32 * 1024 && cap / 2 > c.query_peak {
                    c.query.shrink_to(len.max(c.query_peak).max(bulk));
                }
            }
            // Likewise the argument table of a past huge command (e.g. SADD of 100K members).
            if !c.parser.in_progress() && c.parser.args.capacity() > 1024 {
                c.parser.args = Vec::new();
            }
            c.query_peak = c.query.len().max(bulk);
        }
        for cid in idle {
            info!("Closing idle client");
            self.close_client_async(cid);
        }
        // Soft output-buffer limits are about time: look again at clients over one.
        let over: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| c.obuf_soft_since.is_some())
            .map(|(cid, _)| cid)
            .collect();
        for cid in over {
            self.check_obuf_limits(cid, now);
        }
    }

    /// (ops/sec, input kbps, output kbps) over the recent samples.
    pub fn instantaneous(&self) -> (u64, f64, f64) {
        let s = &self.stats.samples;
        match (s.first(), s.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                let dt = (b.0 - a.0) as f64 / 1000.0;
                (
                    ((b.1 - a.1) as f64 / dt) as u64,
                    (b.2 - a.2) as f64 / dt / 1024.0,
                    (b.3 - a.3) as f64 / dt / 1024.0,
                )
            }
            _ => (0, 0.0, 0.0),
        }
    }

    /// Runs the shutdown sequence; true when the process may exit.
    pub fn prepare_shutdown(&mut self, req: ShutdownReq) -> bool {
        let save = req.save.unwrap_or(!self.cfg.save_params.is_empty());
        // Redis compat: server.c prepareForShutdown kills a saving child (its temp file
        // goes with it) so that it cannot overwrite the final save.
        if self.bgsave_in_progress() {
            warn!("There is a child saving an .rdb. Killing it!");
            self.abort_bgsave();
        }
        self.aof_shutdown();
        if save {
            // Redis compat: server.c prepareForShutdown.
            info!("Saving the final RDB snapshot before exiting.");
            if self.save_sync().is_err() {
                if req.force {
                    warn!("Error trying to save the DB. Exit anyway.");
                } else {
                    warn!("Error trying to save the DB, can't exit.");
                    return false;
                }
            }
        }
        if !self.cfg.pidfile.is_empty() && (self.cfg.daemonize || self.pidfile_written) {
            info!("Removing the pid file.");
            let _ = std::fs::remove_file(&self.cfg.pidfile);
        }
        self.close_listeners();
        true
    }
}
