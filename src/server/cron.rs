//! Periodic work, run every 1000/hz ms from the reactor: the active expire cycle
//! (bounded to a share of each tick), idle client timeouts, instantaneous metric
//! samples, query buffer trimming; and the shutdown sequence.
use tracing::{info, warn};

use super::pause::PausePurpose;
use super::{Server, ShutdownReq};
use crate::clock;
use crate::db::expire;

/// INFO's instantaneous_* metrics.
#[derive(Default, Debug, Clone, Copy)]
pub struct Instantaneous {
    pub ops: u64,
    pub input_kbps: f64,
    pub output_kbps: f64,
    pub repl_input_kbps: f64,
    pub repl_output_kbps: f64,
}

/// Samples kept for the instantaneous metrics (Redis compat: STATS_METRIC_SAMPLES).
const SAMPLES: usize = 16;

impl Server {
    pub fn cron(&mut self) {
        let now = clock::now_ms();
        // Redis compat: server.c serverCron re-arms the watchdog each run, with a
        // period of at least two cron intervals.
        let wd = self.cfg.int("watchdog-period");
        let wd = if wd > 0 {
            wd.max(2000 / self.hz.max(1) as i64)
        } else {
            0
        };
        crate::crash::watchdog(wd.min(i32::MAX as i64) as i32);
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
        if now - self.mem_sample.at_ms >= crate::cmd::info::MemSample::PERIOD_MS {
            self.mem_sample = crate::cmd::info::MemSample::take(now);
        }
        self.defrag_cycle();
        self.after_writes(None);
        if self.sentinel.is_some() {
            self.sentinel_timer();
        }
        // Redis compat: server.c serverCron runs clusterCron every 100 ms.
        if self.cluster.is_some() && now - self.cluster_cron_ms >= 100 {
            self.cluster_cron_ms = now;
            self.cluster_cron();
        }
        if self.tracking.clients > 0 {
            self.tracking_limit();
        }
        self.clients_cron(now);
        self.recount_clients_mem();
        self.evict_clients();
        self.bgsave_poll(false);
        self.aof_cron();
        self.save_points_cron();
        self.failover_cron();
        self.repl_cron();
        crate::cmd::migrate::close_timed_out(&mut self.migrate_cache, now / 1000);
        // Forked debugging sessions that ended are reaped.
        self.scripts.ldb_children.retain(|&pid| {
            let mut status = 0;
            // Safety: waits without blocking for a child this process forked.
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 }
        });
        let s = &mut self.stats;
        s.samples.push(super::Sample {
            ms: now,
            commands: s.total_commands,
            net_input: s.net_input,
            net_output: s.net_output,
            net_repl_input: s.net_repl_input,
            net_repl_output: s.net_repl_output,
        });
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
        let timeout = self.cfg.timeout as i64;
        let mut idle = Vec::new();
        for (cid, c) in self.clients.iter_mut() {
            // Redis compat: timeout.c clientsCronHandleTimeout: replicas, monitors, the
            // master, blocked or paused clients and subscribers never time out; the
            // idle time counts whole seconds of the clock.
            if timeout > 0
                && now / 1000 - c.last_interaction_ms / 1000 > timeout
                && c.pending_output() == 0
                && !c.waits_by_design()
            {
                idle.push(cid);
            }
            // Redis compat: server.c clientsCronResizeQueryBuffer: a query buffer wasting
            // more than 4 KB is trimmed to its content when the client has been idle over
            // 2 s, or down to the recent peak when it is over 32 KB and twice that peak.
            let (len, cap) = (c.query.len(), c.query.capacity());
            // A big argument being read keeps room up to its end (its payload starts
            // at `qpos`, after the request's first arguments).
            let bulk = c.parser.pending_bulk().map_or(0, |b| c.qpos + b + 2);
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
            match c.resize_reply_buffer(now, self.reply_peak_reset_ms, self.reply_resizing) {
                std::cmp::Ordering::Less => self.stats.reply_buffer_shrinks += 1,
                std::cmp::Ordering::Greater => self.stats.reply_buffer_expands += 1,
                std::cmp::Ordering::Equal => {}
            }
        }
        for cid in idle {
            info!("Closing idle client");
            self.close_client_async(cid);
        }
        // Output-buffer limits are checked as output grows, and here for every client
        // with output pending: soft limits are about time, and a client's class (so its
        // limits) may have changed since its output grew. Redis compat: server.c
        // clientsCron (closeClientOnOutputBufferLimitReached).
        let over: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| c.obuf_soft_since.is_some() || c.pending_output() > 0)
            .map(|(cid, _)| cid)
            .collect();
        for cid in over {
            self.check_obuf_limits(cid, now);
        }
    }

    /// Ops/sec and the kbps of each traffic counter over the recent samples.
    pub fn instantaneous(&self) -> Instantaneous {
        let s = &self.stats.samples;
        match (s.first(), s.last()) {
            (Some(a), Some(b)) if b.ms > a.ms => {
                let dt = (b.ms - a.ms) as f64 / 1000.0;
                let kbps = |x: u64, y: u64| (y - x) as f64 / dt / 1024.0;
                Instantaneous {
                    ops: ((b.commands - a.commands) as f64 / dt) as u64,
                    input_kbps: kbps(a.net_input, b.net_input),
                    output_kbps: kbps(a.net_output, b.net_output),
                    repl_input_kbps: kbps(a.net_repl_input, b.net_repl_input),
                    repl_output_kbps: kbps(a.net_repl_output, b.net_repl_output),
                }
            }
            _ => Instantaneous::default(),
        }
    }

    /// A shutdown asked for (SHUTDOWN, a signal): true when the process may exit now.
    /// Unless NOW, replicas behind our offset get up to `shutdown-timeout` seconds to
    /// catch up, with writes paused and the callers blocked; `shutdown_cron` then ends
    /// it. Redis compat: server.c prepareForShutdown.
    pub fn shutdown_requested(&mut self, req: ShutdownReq) -> bool {
        let callers = std::mem::take(&mut self.shutdown_callers);
        if let Some(w) = self.shutdown_wait.as_mut() {
            // Already waiting: these callers wait for the same end.
            w.callers.extend(callers);
            return false;
        }
        warn!("User requested shutdown...");
        crate::util::supervise::notify("STOPPING=1\n");
        let timeout = self.cfg.int("shutdown-timeout");
        if !req.now && timeout > 0 && !self.replicas_in_sync() {
            let now = crate::clock::now_ms();
            if self.pause.is_none() {
                self.repl_send_getack();
            }
            self.shutdown_wait = Some(ShutdownWait {
                deadline_ms: now + timeout * 1000,
                req,
                callers,
            });
            self.pause_clients(PausePurpose::Shutdown, false, i64::MAX);
            info!("Waiting for replicas before shutting down.");
            return false;
        }
        if self.finish_shutdown(req) {
            return true;
        }
        self.shutdown_failed(callers);
        false
    }

    /// Every replica has acknowledged our offset.
    fn replicas_in_sync(&self) -> bool {
        self.repl.replicas.iter().all(|&cid| {
            self.clients
                .get(cid)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|r| r.ack_offset == self.repl.offset)
        })
    }

    /// A waiting shutdown goes on once the replicas are in sync or its time is up;
    /// true when the process may exit.
    pub fn shutdown_cron(&mut self) -> bool {
        let Some(w) = self.shutdown_wait.as_ref() else {
            return false;
        };
        if crate::clock::now_ms() < w.deadline_ms && !self.replicas_in_sync() {
            return false;
        }
        let Some(w) = self.shutdown_wait.take() else {
            return false;
        };
        if self.finish_shutdown(w.req) {
            return true;
        }
        self.shutdown_cancel(w);
        false
    }

    /// SHUTDOWN ABORT: false when no shutdown is in progress.
    pub fn shutdown_abort(&mut self) -> bool {
        if let Some(w) = self.shutdown_wait.take() {
            self.shutdown_cancel(w);
        } else if self.shutdown.take().is_some() {
            let callers = std::mem::take(&mut self.shutdown_callers);
            self.shutdown_failed(callers);
        } else {
            return false;
        }
        info!("Shutdown manually aborted.");
        true
    }

    /// Writes resume as they were and the callers are told it failed.
    fn shutdown_cancel(&mut self, w: ShutdownWait) {
        self.unpause_clients(PausePurpose::Shutdown);
        self.shutdown_failed(w.callers);
    }

    /// Redis compat: blocked.c replyToClientsBlockedOnShutdown.
    fn shutdown_failed(&mut self, callers: Vec<usize>) {
        const ERR: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
        for cid in callers {
            if self.clients.get(cid).is_some_and(|c| c.blocked.is_some()) {
                self.unblock_error(cid, ERR);
            } else if self.clients.contains(cid) {
                // A caller that could not block (SHUTDOWN NOW in a transaction).
                self.queue_output(cid, format!("-{ERR}\r\n").as_bytes());
            }
        }
    }

    /// The shutdown's last steps, after the wait for replicas: true when the process
    /// may exit. Redis compat: server.c finishShutdown.
    fn finish_shutdown(&mut self, req: ShutdownReq) -> bool {
        let mut lagging = 0;
        for &cid in &self.repl.replicas {
            let Some(c) = self.clients.get(cid) else { continue };
            let Some(r) = c.replica.as_ref() else { continue };
            if r.ack_offset != self.repl.offset {
                lagging += 1;
                let lag = if r.state == super::fullsync::SyncState::Online {
                    (crate::clock::now_ms() - r.ack_ms) / 1000
                } else {
                    0
                };
                warn!(
                    "Lagging replica {} reported offset {} behind master, lag={lag}, state={}.",
                    c.addr,
                    self.repl.offset.saturating_sub(r.ack_offset),
                    r.state.info_name()
                );
            }
        }
        let n = self.repl.replicas.len();
        if n > 0 {
            info!("{} of {n} replicas are in sync when shutting down.", n - lagging);
        }
        self.prepare_shutdown(req)
    }

    /// Runs the shutdown sequence; true when the process may exit.
    pub fn prepare_shutdown(&mut self, req: ShutdownReq) -> bool {
        // A Sentinel keeps no dataset. Redis compat: server.c prepareForShutdown.
        let save = self.sentinel.is_none() && req.save.unwrap_or(!self.cfg.save_params.is_empty());
        // Redis compat: server.c prepareForShutdown kills a saving child (its temp file
        // goes with it) so that it cannot overwrite the final save.
        let failed = || {
            warn!("Errors trying to shut down the server. Check the logs for more information.");
            false
        };
        // The AOF just turned on holds nothing until its first rewrite is done.
        if self.aof.state == super::aof::AofState::WaitRewrite && self.aof.rewrite.is_some() {
            if req.force {
                warn!("Writing initial AOF. Exit anyway.");
            } else {
                warn!("Writing initial AOF, can't exit.");
                return failed();
            }
        }
        if self.bgsave_in_progress() {
            warn!("There is a child saving an .rdb. Killing it!");
            self.abort_bgsave();
        }
        self.aof_shutdown();
        if save {
            // Redis compat: server.c prepareForShutdown.
            info!("Saving the final RDB snapshot before exiting.");
            crate::util::supervise::notify("STATUS=Saving the final RDB snapshot\n");
            if self.save_sync().is_err() {
                if req.force {
                    warn!("Error trying to save the DB. Exit anyway.");
                } else {
                    warn!("Error trying to save the DB, can't exit.");
                    crate::util::supervise::notify("STATUS=Error trying to save the DB, can't exit.\n");
                    return failed();
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

impl Server {
    /// A client going away is no longer told how a shutdown ends (its slot may soon
    /// be another client's).
    pub fn shutdown_forget_client(&mut self, cid: usize) {
        self.shutdown_callers.retain(|&c| c != cid);
        if let Some(w) = self.shutdown_wait.as_mut() {
            w.callers.retain(|&c| c != cid);
            if w.req.client == Some(cid) {
                w.req.client = None;
            }
        }
        if let Some(r) = self.shutdown.as_mut().filter(|r| r.client == Some(cid)) {
            r.client = None;
        }
    }
}

/// A shutdown waiting for replicas.
pub struct ShutdownWait {
    pub deadline_ms: i64,
    req: ShutdownReq,
    /// The SHUTDOWN callers, blocked until it ends.
    callers: Vec<usize>,
}
