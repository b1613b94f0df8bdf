//! Active defragmentation (`activedefrag yes`). Once a second the cron compares the
//! allocator's active and allocated bytes; past `active-defrag-threshold-lower` percent
//! and `active-defrag-ignore-bytes`, a pass walks every database by scan cursor and
//! offers each block to the allocator, which moves it out of sparse slabs so that they
//! empty and go back. Each cron tick works for a share of the tick between
//! `active-defrag-cycle-min` and `-max` percent of the CPU, interpolated from the
//! fragmentation. Values of more than `active-defrag-max-scan-fields` elements are
//! done in steps of their own, so no tick stalls on one big key. No pass runs while a
//! snapshot of the data is being written. Redis compat: defrag.c activeDefragCycle,
//! computeDefragCycles.
use tracing::debug;

use super::Server;
use crate::clock;
use crate::db::defrag::KeyCounts;
use crate::db::value::DefragAt;
use crate::ds::defrag::Defrag;

/// Elements a big value's step visits between clock checks.
const LATER_STEP: usize = 128;

#[derive(Default)]
pub struct DefragState {
    /// The CPU percentage of the pass under way, 0 when none runs (INFO
    /// active_defrag_running).
    pub running: i64,
    /// The database being walked (None: the pass has not started one).
    db: Option<usize>,
    /// The key table's scan cursor within it (the TTL index holds no blocks), and
    /// whether the walk of the table ended.
    cursor: u64,
    keys_walked: bool,
    /// Big values of the current database left for steps of their own, and where the
    /// first one's walk stands.
    later: Vec<Vec<u8>>,
    later_at: Option<DefragAt>,
    /// When the fragmentation was last looked at (ms).
    last_check_ms: i64,
    /// Start of the pass (µs) and hits then, for the log line at its end.
    pass_start_us: u64,
    pass_start_hits: u64,
    /// INFO stats counters.
    pub blocks: Defrag,
    pub keys: KeyCounts,
    pub total_ms: u64,
    /// When the current run began (µs), for current_active_defrag_time.
    run_start_us: Option<u64>,
}

impl DefragState {
    /// Milliseconds the current run has taken so far (0 when none runs).
    pub fn current_ms(&self) -> u64 {
        self.run_start_us
            .map_or(0, |s| clock::mono_us().saturating_sub(s) / 1000)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&mut self) {
        self.blocks = Defrag::default();
        self.keys = KeyCounts::default();
        self.total_ms = 0;
    }

    /// Forgets the pass under way (a later one starts from the first database).
    fn abandon(&mut self) {
        self.running = 0;
        self.db = None;
        self.cursor = 0;
        self.keys_walked = false;
        self.later.clear();
        self.later_at = None;
    }

    /// Keeps the run-time counters in step with `running`.
    fn update_metrics(&mut self) {
        match (self.running > 0, self.run_start_us) {
            (true, None) => self.run_start_us = Some(clock::mono_us()),
            (false, Some(_)) => {
                self.total_ms += self.current_ms();
                self.run_start_us = None;
            }
            _ => {}
        }
    }
}

/// The allocator's fragmentation: (percent over the allocated bytes, bytes).
/// Redis compat: defrag.c getAllocatorFragmentation.
fn fragmentation() -> (f64, u64) {
    let (allocated, active, _) = crate::cmd::info::allocator_stats();
    if allocated == 0 {
        return (0.0, 0);
    }
    (
        active as f64 / allocated as f64 * 100.0 - 100.0,
        active.saturating_sub(allocated),
    )
}

impl Server {
    /// Starts a pass, or makes the one under way more aggressive, when the
    /// fragmentation calls for it. Redis compat: defrag.c computeDefragCycles.
    fn defrag_decide(&mut self) {
        let (pct, bytes) = fragmentation();
        let lower = self.cfg.int("active-defrag-threshold-lower") as f64;
        let upper = self.cfg.int("active-defrag-threshold-upper") as f64;
        if self.defrag.running == 0 && (pct < lower || bytes < self.cfg.int("active-defrag-ignore-bytes").max(0) as u64)
        {
            return;
        }
        let (cmin, cmax) = (
            self.cfg.int("active-defrag-cycle-min"),
            self.cfg.int("active-defrag-cycle-max"),
        );
        let cpu = if upper > lower {
            cmin as f64 + (pct - lower) * (cmax - cmin) as f64 / (upper - lower)
        } else {
            cmax as f64
        };
        let cpu = (cpu as i64).clamp(cmin.min(cmax), cmax.max(cmin));
        if cpu > self.defrag.running {
            self.defrag.running = cpu;
            debug!("Starting active defrag, frag={pct:.0}%, frag_bytes={bytes}, cpu={cpu}%");
        }
    }

    /// One cron tick of active defragmentation. Redis compat: defrag.c activeDefragCycle.
    pub fn defrag_cycle(&mut self) {
        if !self.cfg.yes("activedefrag") {
            if self.defrag.running > 0 {
                self.defrag.abandon();
            }
            self.defrag.update_metrics();
            return;
        }
        // Moving blocks under a snapshot being written would only cost it copies.
        if self.has_active_child() || !self.dbs.iter().all(|d| d.defrag_allowed()) {
            return;
        }
        let now = clock::now_ms();
        if now - self.defrag.last_check_ms >= 1000 {
            self.defrag.last_check_ms = now;
            self.defrag_decide();
        }
        if self.defrag.running == 0 {
            self.defrag.update_metrics();
            return;
        }
        let start = clock::mono_us();
        let limit = (1_000_000 * self.defrag.running as u64 / self.hz.max(1) as u64 / 100).max(1);
        let end = start + limit;
        let max_fields = self.cfg.int("active-defrag-max-scan-fields").max(1) as usize;
        let mut d = Defrag::default();
        let mut keys = KeyCounts::default();
        loop {
            if self.defrag_work(&mut d, &mut keys, max_fields, end) {
                break;
            }
            // Every database is done: the rest, then the pass ends.
            for s in self.scripts.cache.values_mut() {
                d.vec(&mut s.body);
            }
            let (pct, bytes) = fragmentation();
            let hits = self.defrag.blocks.hits + d.hits;
            debug!(
                "Active defrag done in {}ms, reallocated={}, frag={pct:.0}%, frag_bytes={bytes}",
                clock::mono_us().saturating_sub(self.defrag.pass_start_us) / 1000,
                hits.saturating_sub(self.defrag.pass_start_hits)
            );
            self.defrag.abandon();
            // Another pass right away if it is still needed.
            self.defrag_decide();
            if self.defrag.running == 0 || clock::mono_us() >= end {
                break;
            }
        }
        self.defrag.blocks.hits += d.hits;
        self.defrag.blocks.misses += d.misses;
        self.defrag.keys.hits += keys.hits;
        self.defrag.keys.misses += keys.misses;
        let ms = clock::mono_us().saturating_sub(start) / 1000;
        self.latency_sample("active-defrag-cycle", ms);
        self.defrag.update_metrics();
    }

    /// Walks the databases until `end` (µs) or the end of a database. True when the
    /// tick is over, false when the last database is done.
    fn defrag_work(&mut self, d: &mut Defrag, keys: &mut KeyCounts, max_fields: usize, end: u64) -> bool {
        let st = &mut self.defrag;
        let mut checked = (d.seen(), keys.scanned, 0u32);
        loop {
            let Some(db) = st.db else {
                st.db = Some(0);
                st.cursor = 0;
                st.keys_walked = false;
                st.pass_start_us = clock::mono_us();
                st.pass_start_hits = st.blocks.hits + d.hits;
                continue;
            };
            let Some(dbr) = self.dbs.get_mut(db) else {
                return false;
            };
            if let Some(key) = st.later.first() {
                let at = st.later_at.unwrap_or(DefragAt::Pos(0));
                st.later_at = dbr.defrag_value_step(key, at, LATER_STEP, d);
                if st.later_at.is_none() {
                    st.later.remove(0);
                }
                if clock::mono_us() >= end {
                    return true;
                }
                continue;
            }
            if st.keys_walked {
                // A database done (its big values too) ends the tick; the pass ends at
                // the next one past the last database.
                st.keys_walked = false;
                st.db = Some(db + 1);
                return true;
            }
            st.cursor = dbr.defrag_keys_step(st.cursor, d, max_fields, &mut st.later, keys);
            st.keys_walked = st.cursor == 0;
            // The clock is read once in 16 steps, or after 512 blocks or 64 keys.
            checked.2 += 1;
            if checked.2 > 16 || d.seen() - checked.0 > 512 || keys.scanned - checked.1 > 64 {
                if clock::mono_us() >= end {
                    return true;
                }
                checked = (d.seen(), keys.scanned, 0);
            }
        }
    }

    /// Work of the periodic tasks that must go on while a long load keeps the event
    /// loop from running: active defragmentation, catching up on the ticks missed.
    /// Redis compat: server.c whileBlockedCron.
    pub fn while_blocked_cron(&mut self) {
        let now = clock::now_ms();
        if self.blocked_last_cron >= now {
            return;
        }
        let start = clock::mono_us();
        let step = 1000 / self.hz.max(1) as i64;
        if self.blocked_last_cron < now - 1000 {
            self.blocked_last_cron = now - step;
        }
        while self.blocked_last_cron < now {
            self.defrag_cycle();
            self.blocked_last_cron += step;
        }
        let ms = clock::mono_us().saturating_sub(start) / 1000;
        self.latency_sample("while-blocked-cron", ms);
    }
}
