//! Snapshots on the server side: SAVE (synchronous), background snapshots (BGSAVE and
//! save points: `persist::snapshot`, stepped from the event loop), loading the RDB file
//! at startup and for DEBUG RELOAD, and the counters INFO persistence reports.
//! Redis compat: rdb.c (rdbSave, rdbSaveBackground, backgroundSaveDoneHandler, rdbLoad).
use std::path::PathBuf;
use std::time::Duration;

use tracing::{info, warn};

use super::fullsync::RdbFilter;
use super::Server;
use crate::clock;
use crate::persist::child::WriteError;
use crate::persist::rdb::file::{self, Form, LoadStats, SaveOpts};
use crate::persist::rdb::RdbError;
use crate::persist::snapshot::{Progress, Snapshot, Target};
use crate::util::fs::Source;

/// Main-thread work per event-loop iteration while a snapshot walks the keyspace: a
/// command arriving meanwhile waits at most about this long.
const SLICE: Duration = Duration::from_micros(80);
/// While clients keep the loop busy, the walk takes at most this share (percent) of
/// the main thread, so that it adds little latency; an idle loop walks flat out. The
/// save takes longer, like Redis's child does while the parent keeps serving (with 50
/// clients writing, 2M keys take about as long as Redis's fork does on two cores).
const WALK_SHARE: u64 = 12;
/// A loop without events for this long counts as idle: the walk goes flat out. Short
/// gaps between a busy loop's events do not count: walking through them takes CPU the
/// clients and the writer thread need then.
const QUIET_US: u64 = 10_000;

/// What a background snapshot is for: decides what happens once its file is complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavePurpose {
    /// BGSAVE or a save point: the file is `dbfilename`.
    Rdb,
    /// The new base of an AOF rewrite (installed by the AOF code).
    AofBase,
    /// A diskless full resynchronization: streamed to the replicas (`fullsync`).
    ReplSocket,
}

/// A background snapshot in progress (at most one at a time, like Redis's one child).
pub struct BgSave {
    snap: Snapshot,
    pub purpose: SavePurpose,
    start_ms: i64,
    /// `dirty` when the snapshot was taken: changes after it are still unsaved.
    dirty_at_start: u64,
    /// Monotonic µs before which a busy loop takes no further walk slice.
    next_slice_us: u64,
    /// Monotonic µs of the last loop iteration that had events.
    last_busy_us: u64,
}

/// Persistence state and counters (INFO persistence).
pub struct RdbState {
    pub bg: Option<BgSave>,
    pub saves: u64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_secs: i64,
    /// Unix seconds of the last BGSAVE attempt (failed saves are retried after a delay).
    pub last_bgsave_try: i64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// BGSAVE SCHEDULE asked while another background job ran.
    pub scheduled: bool,
    /// Bytes the last RDB save had to serialize ahead of time because writes came.
    pub last_cow_size: u64,
}

impl Default for RdbState {
    fn default() -> Self {
        RdbState {
            bg: None,
            saves: 0,
            last_bgsave_ok: true,
            last_bgsave_secs: -1,
            last_bgsave_try: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            scheduled: false,
            last_cow_size: 0,
        }
    }
}

impl RdbState {
    /// Seconds the running BGSAVE has taken so far, or -1.
    pub fn bg_elapsed_secs(&self) -> i64 {
        match &self.bg {
            Some(b) if b.purpose == SavePurpose::Rdb => (clock::now_ms() - b.start_ms) / 1000,
            _ => -1,
        }
    }

    /// (bytes saved ahead because of writes, keys written, keys in all, percent) of the
    /// running background snapshot: Redis's current_cow_size / current_save_keys_* /
    /// current_fork_perc.
    pub fn progress(&self) -> (u64, u64, u64, f64) {
        let Some(b) = &self.bg else {
            return (0, 0, 0, 0.0);
        };
        let p = b.snap.progress();
        let written = p.keys_written.load(std::sync::atomic::Ordering::Relaxed);
        let perc = if p.keys_total > 0 {
            written as f64 * 100.0 / p.keys_total as f64
        } else {
            0.0
        };
        (
            p.forced_bytes.load(std::sync::atomic::Ordering::Relaxed),
            written,
            p.keys_total,
            perc,
        )
    }

    /// Whether an RDB save (not an AOF rewrite) runs in the background, to a file or
    /// to replicas.
    pub fn saving(&self) -> bool {
        self.bg.as_ref().is_some_and(|b| b.purpose != SavePurpose::AofBase)
    }

    /// The running background snapshot's writer process (0: none).
    pub fn child_pid(&self) -> u32 {
        self.bg.as_ref().map_or(0, |b| b.snap.pid())
    }
}

/// A mapped file being loaded gives back the pages it parsed every this many bytes.
const RELEASE_EVERY: usize = 4 << 20;

/// Gives back the pages of a mapped file parsed up to `pos`, every RELEASE_EVERY bytes.
fn release_parsed(src: Source, pos: usize, released: &mut usize) {
    if pos - *released >= RELEASE_EVERY {
        src.release_before(pos);
        *released = pos;
    }
}

/// A load's outcome, unless its file was cut short while it was read (its tail then
/// read as zeros): that is a short file, whatever the parser made of the zeros.
fn checked_load<T>(src: Source, res: Result<T, RdbError>) -> Result<T, String> {
    if src.cut_short() {
        warn!("The RDB file was truncated by another process while it was being loaded");
        return Err(RdbError::Short.log_line(0));
    }
    res.map_err(|e| e.log_line(0))
}

/// Redis compat: server.h CONFIG_BGSAVE_RETRY_DELAY.
const BGSAVE_RETRY_DELAY: i64 = 5;

/// A replication history read from an RDB file: (id, offset, selected db), and the
/// keys (by db) it held that had expired.
pub type LoadedHistory = ((String, u64, usize), Vec<(usize, Vec<u8>)>);

impl Server {
    pub fn dbfilename(&self) -> String {
        self.cfg.get("dbfilename").unwrap_or("dump.rdb").to_string()
    }

    /// An AOF base's: marked as one (AUX aof-base), synced as its own setting says.
    pub(super) fn aof_base_opts(&self) -> SaveOpts {
        SaveOpts {
            autosync: self.cfg.yes("aof-rewrite-incremental-fsync"),
            aof_base: true,
            form: match self.cfg.yes("aof-use-rdb-preamble") {
                true => Form::Rdb,
                false => Form::Commands(self.aof.timestamps.then(|| clock::now_ms() / 1000)),
            },
            ..self.save_opts()
        }
    }

    fn save_opts(&self) -> SaveOpts {
        SaveOpts {
            ctime: clock::now_ms() / 1000,
            used_mem: crate::cmd::info::used_memory(),
            compress: self.cfg.yes("rdbcompression"),
            checksum: self.cfg.yes("rdbchecksum"),
            autosync: self.cfg.yes("rdb-save-incremental-fsync"),
            redis_ver: crate::REDIS_VERSION,
            policy: self.cfg.maxmemory_policy,
            now_ms: clock::now_ms(),
            lfu: self.cfg.lfu,
            functions: self.scripts.functions.codes(),
            repl: self.repl_history(),
            data: true,
            aof_base: false,
            form: Form::Rdb,
        }
    }

    /// Redis compat: the rdb-key-save-delay test hook: microseconds per key saved.
    pub fn key_save_delay_us(&self) -> u64 {
        self.cfg
            .get("rdb-key-save-delay")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    }

    /// The hook as the time a background save of the whole dataset is held back.
    pub fn save_delay_us(&self) -> u64 {
        let keys: u64 = self.dbs.iter().map(|d| d.len() as u64).sum();
        self.key_save_delay_us().saturating_mul(keys)
    }

    /// Loads RDB bytes (an AOF base or preamble) into the dbs, keeping expired keys;
    /// returns where the RDB part ends.
    pub fn load_rdb_bytes(&mut self, src: Source) -> Result<usize, String> {
        self.sync_access_mode();
        let lim = self.cfg.limits;
        let verify = self.cfg.yes("rdbchecksum");
        let mut released = 0;
        let mut on_key = |pos: usize| release_parsed(src, pos, &mut released);
        let st = file::load_with(
            src.bytes(),
            &mut self.dbs,
            clock::now_ms(),
            &lim,
            verify,
            true,
            &mut on_key,
        );
        let st = checked_load(src, st)?;
        log_loaded(&st);
        let _ = self.load_functions(&st.functions, true);
        Ok(st.end)
    }

    /// Loads the function libraries a file carried; with `replace` same-named ones are
    /// replaced, else one that exists fails the load (Redis compat: rdb.c
    /// rdbFunctionLoad).
    fn load_functions(&mut self, codes: &[Vec<u8>], replace: bool) -> Result<(), String> {
        for code in codes {
            if let Err(e) = self.scripts.functions.load(code, replace) {
                tracing::warn!("Failed loading library from RDB: {e}");
                if !replace {
                    return Err(format!("Failed loading library from RDB: {e}"));
                }
            }
        }
        Ok(())
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.rdb.saving()
    }

    /// SAVE: writes the snapshot now. Redis compat: rdb.c rdbSave.
    pub fn save_sync(&mut self) -> Result<(), String> {
        let o = self.save_opts();
        let tmp = format!("temp-{}.rdb", std::process::id());
        match file::write_file(&tmp, &self.dbfilename(), o.autosync, |out| {
            file::serialize_to(&self.dbs, &o, out)
        }) {
            Ok(()) => {
                info!("DB saved on disk");
                self.dirty = 0;
                self.lastsave = clock::now_ms() / 1000;
                self.rdb.last_bgsave_ok = true;
                Ok(())
            }
            Err(e) => {
                // Redis compat: a failed foreground save leaves the status as it was.
                warn!("{e}");
                Err(e)
            }
        }
    }

    /// BGSAVE: a point-in-time snapshot of the dataset as it is now, saved to
    /// `dbfilename` in the background. Err when a snapshot is running already.
    pub fn bgsave_start(&mut self) -> Result<(), &'static str> {
        if self.rdb.saving() {
            return Err("ERR Background save already in progress");
        }
        if self.aof.rewrite.is_some() {
            return Err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        self.rdb.last_bgsave_try = clock::now_ms() / 1000;
        match self.snapshot_start(SavePurpose::Rdb, self.rdb_target(), RdbFilter::default()) {
            Ok(pid) => {
                info!("Background saving started by pid {pid}");
                self.aof.forks += 1;
                Ok(())
            }
            Err(e) => {
                warn!("Can't save in background: {e}");
                self.rdb.last_bgsave_ok = false;
                Err("ERR")
            }
        }
    }

    /// Where BGSAVE writes: a temp file renamed to `dbfilename` when complete.
    pub(super) fn rdb_target(&self) -> Target {
        Target::File {
            tmp: PathBuf::from(format!("temp-{}.rdb", crate::persist::child::PID_MARK)),
            dest: Some(PathBuf::from(self.dbfilename())),
        }
    }

    /// Starts a background snapshot of the dataset as it is now, to `target` (paths
    /// relative to `dir`); `bgsave_poll` then finishes according to `purpose`. Err
    /// when one is running or the writer thread cannot start.
    pub fn snapshot_start(&mut self, purpose: SavePurpose, target: Target, filter: RdbFilter) -> Result<u32, String> {
        if self.rdb.bg.is_some() {
            return Err("Background save already in progress".into());
        }
        let per_key = self.key_save_delay_us();
        let mut opts = if purpose == SavePurpose::AofBase {
            self.aof_base_opts()
        } else {
            self.save_opts()
        };
        opts.data = !filter.no_data;
        if filter.no_functions {
            opts.functions.clear();
        }
        let snap = Snapshot::start(&mut self.dbs, &opts, target, per_key)?;
        let pid = snap.pid();
        self.rdb.bg = Some(BgSave {
            snap,
            purpose,
            start_ms: clock::now_ms(),
            dirty_at_start: self.dirty,
            next_slice_us: 0,
            last_busy_us: clock::mono_us(),
        });
        Ok(pid)
    }

    /// One slice of a running snapshot, from the event loop (`idle`: its last poll
    /// brought no events). Returns how long the loop may sleep at most before calling
    /// again (None: no snapshot).
    pub fn snapshot_step(&mut self, idle: bool) -> Option<Duration> {
        let bg = self.rdb.bg.as_mut()?;
        let start = clock::mono_us();
        if !idle {
            bg.last_busy_us = start;
            if start < bg.next_slice_us {
                return Some(Duration::from_micros(bg.next_slice_us - start));
            }
        }
        let quiet = start.saturating_sub(bg.last_busy_us) >= QUIET_US;
        let progress = bg.snap.step(&mut self.dbs, SLICE);
        let spent = clock::mono_us().saturating_sub(start);
        let pause = spent * (100 - WALK_SHARE) / WALK_SHARE;
        bg.next_slice_us = start + spent + pause;
        match progress {
            // The next slice follows at once, unless the poll in between brings events.
            Progress::Busy if quiet => Some(Duration::ZERO),
            Progress::Busy => Some(Duration::from_micros(pause)),
            Progress::Blocked => Some(Duration::from_millis(1)),
            Progress::Writing => {
                self.bgsave_poll(false);
                self.rdb.bg.as_ref().map(|_| Duration::from_millis(10))
            }
        }
    }

    /// Collects a finished background snapshot (`wait`: finishes it now, synchronously).
    /// Redis compat: rdb.c backgroundSaveDoneHandlerDisk.
    pub fn bgsave_poll(&mut self, wait: bool) {
        let Some(bg) = self.rdb.bg.as_mut() else {
            return;
        };
        if wait {
            bg.snap.run_to_end(&mut self.dbs);
        } else if !bg.snap.writer_done() {
            return;
        }
        let Some(bg) = self.rdb.bg.take() else {
            return;
        };
        let cow = bg
            .snap
            .progress()
            .forced_bytes
            .load(std::sync::atomic::Ordering::Relaxed);
        let res = bg.snap.join(&mut self.dbs);
        let now = clock::now_ms();
        match bg.purpose {
            SavePurpose::Rdb => {
                let ok = res.is_ok();
                self.rdb.last_bgsave_secs = (now - bg.start_ms) / 1000;
                self.rdb.last_cow_size = cow;
                match res {
                    Ok(()) => {
                        info!("DB saved on disk");
                        info!("Background saving terminated with success");
                        self.dirty = self.dirty.saturating_sub(bg.dirty_at_start);
                        self.lastsave = now / 1000;
                        self.rdb.last_bgsave_ok = true;
                    }
                    Err(WriteError::Signal(sig)) => {
                        warn!("Background saving terminated by signal {sig}");
                        // Redis compat: rdb.c: SIGUSR1 is how a save is stopped on purpose.
                        if sig != libc::SIGUSR1 {
                            self.rdb.last_bgsave_ok = false;
                        }
                    }
                    Err(e) => {
                        warn!("{e}");
                        warn!("Background saving error");
                        self.rdb.last_bgsave_ok = false;
                    }
                }
                self.repl_snapshot_done(ok, false);
            }
            SavePurpose::ReplSocket => {
                // Redis compat: rdb.c backgroundSaveDoneHandlerSocket.
                match &res {
                    Ok(()) => info!("Background RDB transfer terminated with success"),
                    Err(WriteError::Signal(sig)) => warn!("Background transfer terminated by signal {sig}"),
                    Err(_) => warn!("Background transfer error"),
                }
                self.repl_snapshot_done(res.is_ok(), true)
            }
            SavePurpose::AofBase => {
                self.aof.last_cow_size = cow;
                self.aof_rewrite_finish(res);
            }
        }
    }

    /// Aborts a running background snapshot (FLUSHALL, SHUTDOWN): its file is not
    /// installed and the save status is left as it was, like Redis killing the child
    /// with SIGUSR1. Redis compat: rdb.c killRDBChild.
    pub fn kill_bgsave(&mut self) {
        if self.abort_bgsave() {
            warn!("Background saving terminated by signal 10");
        }
    }

    /// Stops a running background snapshot without a word (the replicas waiting for
    /// it are dropped); true if one ran.
    pub(super) fn abort_bgsave(&mut self) -> bool {
        if !self.rdb.saving() {
            return false;
        }
        let Some(bg) = self.rdb.bg.take() else {
            return false;
        };
        let socket = bg.purpose == SavePurpose::ReplSocket;
        // A streamed snapshot's writer may wait on its receiver: drop that first.
        if let Some(t) = self.repl.transfer.as_mut() {
            t.rx = None;
        }
        bg.snap.abort(&mut self.dbs);
        self.repl_snapshot_done(false, socket);
        true
    }

    /// Stops the running background snapshot whatever it is for; its outcome (an error
    /// by SIGUSR1) is returned, not handled.
    pub(super) fn abort_snapshot(&mut self) -> Option<Result<(), WriteError>> {
        let bg = self.rdb.bg.take()?;
        bg.snap.abort(&mut self.dbs);
        Some(Err(WriteError::Signal(libc::SIGUSR1)))
    }

    /// Starts a BGSAVE when a `save <seconds> <changes>` point is reached.
    /// Redis compat: server.c serverCron.
    pub fn save_points_cron(&mut self) {
        if self.has_active_child() {
            return;
        }
        let now = clock::now_ms() / 1000;
        let retry_ok = now - self.rdb.last_bgsave_try > BGSAVE_RETRY_DELAY || self.rdb.last_bgsave_ok;
        // Redis compat: server.c serverCron starts a BGSAVE SCHEDULE'd while a rewrite ran.
        if self.rdb.scheduled && retry_ok {
            self.rdb.scheduled = false;
            if self.bgsave_start().is_ok() {
                self.rdb.saves += 1;
            }
            return;
        }
        let hit = self
            .cfg
            .save_params
            .iter()
            .find(|(secs, changes)| self.dirty >= *changes && now - self.lastsave > *secs as i64 && retry_ok)
            .copied();
        if let Some((secs, changes)) = hit {
            info!("{changes} changes in {secs} seconds. Saving...");
            let _ = self.bgsave_start();
        }
    }

    /// Loads `dbfilename` into the (empty) dbs. Ok(None) when there is no file.
    pub fn load_rdb(&mut self, merge: bool) -> Result<Option<LoadStats>, String> {
        let name = self.dbfilename();
        let map = match crate::util::fs::Mapped::open(std::path::Path::new(&name)) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::persist::rdb::RdbError::Io(e).log_line(0)),
        };
        self.load_rdb_data(Source::Mapped(&map), merge).map(Some)
    }

    /// Loads a whole RDB payload into fresh tables while serving other clients
    /// (they get -LOADING), then swaps them in (or merges them, for DEBUG RELOAD
    /// MERGE). Redis compat: rdb.c rdbLoadRio with processEventsWhileBlocked.
    pub fn load_rdb_data(&mut self, src: Source, merge: bool) -> Result<LoadStats, String> {
        let data = src.bytes();
        // Loaded keys get stamps in the mode the policy needs (saved LFU counters included).
        self.sync_access_mode();
        let now = clock::now_ms();
        let lim = self.cfg.limits;
        let verify = self.cfg.yes("rdbchecksum");
        // Redis compat: rdb.c rdbLoadRio: only a master drops keys that expired; a
        // replica keeps them until its master's DELs arrive.
        let keep_expired = !self.i_am_master();
        // Loaded into separate tables, so that other clients can be served meanwhile
        // (they get -LOADING); then swapped in.
        let mut fresh: Vec<crate::db::Db> = (0..self.dbs.len()).map(crate::db::Db::new).collect();
        let lfu = self.dbs.first().and_then(|d| d.lfu);
        fresh.iter_mut().for_each(|d| d.lfu = lfu);
        let interval = self
            .cfg
            .get("loading-process-events-interval-bytes")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(2 << 20)
            .max(1024);
        let key_delay = self
            .cfg
            .get("key-load-delay")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        // A master's snapshot may be loaded in the background (swapdb, same history).
        let asynchronous = self.loading.is_some_and(|l| l.asynchronous);
        self.loading = Some(super::Loading {
            start_secs: now / 1000,
            total_bytes: data.len() as u64,
            asynchronous,
            ..Default::default()
        });
        let mut released = 0;
        let mut on_key = |pos: usize| {
            release_parsed(src, pos, &mut released);
            if key_delay != 0 {
                crate::util::debug_delay(key_delay);
            }
            let Some(l) = self.loading.as_mut() else {
                return;
            };
            l.loaded_bytes = pos as u64;
            if l.loaded_bytes - l.events_at >= interval {
                l.events_at = l.loaded_bytes;
                self.repl_newline_to_master();
                self.process_events_while_blocked();
            }
        };
        let res = file::load_with(data, &mut fresh, now, &lim, verify, keep_expired, &mut on_key);
        self.loading = None;
        let st = checked_load(src, res)?;
        log_loaded(&st);
        self.load_functions(&st.functions, merge)?;
        let st = if merge {
            // Keys already present are replaced (DEBUG RELOAD MERGE NOFLUSH).
            for (dst, src) in self.dbs.iter_mut().zip(fresh.iter_mut()) {
                let keys: Vec<Vec<u8>> = src.iter().map(|o| o.key().to_vec()).collect();
                for k in keys {
                    // Each entry moves with its TTL.
                    if let Some(o) = src.take(&k) {
                        dst.set(o, false, now);
                    }
                }
            }
            st
        } else {
            for (dst, src) in self.dbs.iter_mut().zip(fresh.iter_mut()) {
                dst.swap_contents(src);
            }
            st
        };
        self.rdb.last_load_keys_loaded = st.keys_loaded;
        self.rdb.last_load_keys_expired = st.keys_expired;
        Ok(st)
    }

    /// Whether this server is a master: in cluster mode by its node's role, else by
    /// having no master (configured or current). Redis compat: server.c iAmMaster.
    pub fn i_am_master(&self) -> bool {
        match self.cluster.as_deref() {
            Some(cl) => cl.i_am_master(),
            None => self.repl.master.is_none() && self.cfg.get("replicaof").is_none_or(|r| r.trim().is_empty()),
        }
    }

    /// Startup load with Redis's log lines; Err means the server must exit.
    /// Redis compat: server.c loadDataFromDisk, rdb.c rdbLoadRio.
    /// Returns the replication history the file recorded, if any, with the keys it
    /// held that had expired.
    pub fn load_at_startup(&mut self) -> Result<Option<LoadedHistory>, String> {
        let start = clock::mono_us();
        match self.load_rdb(false) {
            Ok(Some(st)) => {
                let secs = (clock::mono_us() - start) as f64 / 1e6;
                info!("DB loaded from disk: {secs:.3} seconds");
                let history = st.repl_history();
                Ok(history.map(|h| (h, st.expired)))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                warn!("{e}");
                if !e.starts_with("Fatal error loading") {
                    // Redis compat: rdb.c rdbCheckThenExit runs the redis-check-rdb report.
                    warn!("Checking RDB file {}", self.dbfilename());
                    warn!("--- RDB ERROR DETECTED ---");
                    warn!("[offset 0] {e}");
                    warn!("Terminating server after rdb file reading failure.");
                }
                Err(e)
            }
        }
    }
}

/// What every load of an RDB payload logs (at startup, DEBUG RELOAD, from a master,
/// an AOF's base). Redis compat: rdb.c rdbLoadRio.
fn log_loaded(st: &LoadStats) {
    if let Some(v) = &st.redis_ver {
        info!("Loading RDB produced by version {v}");
    }
    if let Some(ct) = st.ctime {
        info!("RDB age {} seconds", (clock::now_ms() / 1000 - ct).max(0));
    }
    if let Some(m) = st.used_mem {
        info!("RDB memory usage when created {:.2} Mb", m as f64 / (1024.0 * 1024.0));
    }
    if st.aof_base {
        info!("RDB is base AOF");
    }
    if st.empty_skipped > 0 {
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
            st.keys_loaded, st.keys_expired, st.empty_skipped
        );
    } else {
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            st.keys_loaded, st.keys_expired
        );
    }
}
