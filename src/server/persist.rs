//! Snapshots on the server side: SAVE (synchronous), BGSAVE (serialized here, written and
//! fsynced by a background thread), the `save` points checked by cron, loading the RDB
//! file at startup and for DEBUG RELOAD, and the counters INFO persistence reports.
//! Redis compat: rdb.c (rdbSave, rdbSaveBackground, backgroundSaveDoneHandler, rdbLoad).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tracing::{info, warn};

use super::Server;
use crate::clock;
use crate::persist::rdb::file::{self, LoadStats, SaveOpts};

/// A background save: the writer thread and what it snapshot.
pub struct BgSave {
    handle: JoinHandle<Result<(), String>>,
    /// Set to abort: the writer then drops its temp file instead of renaming it.
    cancel: Arc<AtomicBool>,
    start_ms: i64,
    /// `dirty` when the snapshot was taken: changes after it are still unsaved.
    dirty_at_start: u64,
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
        }
    }
}

impl RdbState {
    /// Seconds the running BGSAVE has taken so far, or -1.
    pub fn bg_elapsed_secs(&self) -> i64 {
        self.bg.as_ref().map_or(-1, |b| (clock::now_ms() - b.start_ms) / 1000)
    }
}

/// Redis compat: server.h CONFIG_BGSAVE_RETRY_DELAY.
const BGSAVE_RETRY_DELAY: i64 = 5;

impl Server {
    fn cfg_yes(&self, name: &str) -> bool {
        self.cfg.get(name).is_some_and(|v| v == "yes")
    }

    pub fn dbfilename(&self) -> String {
        self.cfg.get("dbfilename").unwrap_or("dump.rdb").to_string()
    }

    /// The whole dataset as RDB bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let opts = SaveOpts {
            ctime: clock::now_ms() / 1000,
            used_mem: crate::cmd::info::used_memory(),
            compress: self.cfg_yes("rdbcompression"),
            checksum: self.cfg_yes("rdbchecksum"),
            redis_ver: crate::REDIS_VERSION,
            policy: self.cfg.maxmemory_policy,
            now_ms: clock::now_ms(),
            lfu: self.cfg.lfu,
        };
        file::serialize(&self.dbs, &opts)
    }

    /// Redis compat: the rdb-key-save-delay test hook (microseconds per key saved), as
    /// the time a background save of the current dataset is held back.
    pub fn save_delay(&self) -> std::time::Duration {
        let per_key = self
            .cfg
            .get("rdb-key-save-delay")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let keys: u64 = self.dbs.iter().map(|d| d.len() as u64).sum();
        std::time::Duration::from_micros(per_key.saturating_mul(keys))
    }

    /// Loads RDB bytes (an AOF base or preamble) into the dbs, keeping expired keys;
    /// returns where the RDB part ends.
    pub fn load_rdb_bytes(&mut self, data: &[u8]) -> Result<usize, String> {
        self.sync_access_mode();
        let lim = self.cfg.limits;
        let verify = self.cfg_yes("rdbchecksum");
        file::load_with(data, &mut self.dbs, clock::now_ms(), &lim, verify, true)
            .map(|st| st.end)
            .map_err(|e| e.log_line(0))
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.rdb.bg.is_some()
    }

    /// SAVE: writes the snapshot now. Redis compat: rdb.c rdbSave.
    pub fn save_sync(&mut self) -> Result<(), String> {
        let data = self.snapshot();
        let tmp = format!("temp-{}.rdb", std::process::id());
        match file::write_file(&tmp, &self.dbfilename(), &data, None) {
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

    /// BGSAVE: snapshot now, write in the background. Err when one is running already.
    pub fn bgsave_start(&mut self) -> Result<(), &'static str> {
        if self.rdb.bg.is_some() {
            return Err("ERR Background save already in progress");
        }
        if self.aof.rewrite.is_some() {
            return Err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        let now = clock::now_ms();
        self.rdb.last_bgsave_try = now / 1000;
        let data = self.snapshot();
        let name = self.dbfilename();
        let tmp = format!("temp-bg-{}.rdb", std::process::id());
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let delay = self.save_delay();
        let spawned = std::thread::Builder::new().name("rdb-save".into()).spawn(move || {
            let end = std::time::Instant::now() + delay;
            while std::time::Instant::now() < end && !flag.load(Ordering::Acquire) {
                std::thread::park_timeout(std::time::Duration::from_millis(10));
            }
            file::write_file(&tmp, &name, &data, Some(&flag))
        });
        match spawned {
            Ok(handle) => {
                info!("Background saving started");
                self.aof.forks += 1;
                self.rdb.bg = Some(BgSave {
                    handle,
                    cancel,
                    start_ms: now,
                    dirty_at_start: self.dirty,
                });
                Ok(())
            }
            Err(e) => {
                warn!("Can't save in background: {e}");
                self.rdb.last_bgsave_ok = false;
                Err("ERR")
            }
        }
    }

    /// Collects a finished background save (or waits for it with `wait`).
    /// Redis compat: rdb.c backgroundSaveDoneHandlerDisk.
    pub fn bgsave_poll(&mut self, wait: bool) {
        let finished = self.rdb.bg.as_ref().is_some_and(|b| wait || b.handle.is_finished());
        if !finished {
            return;
        }
        let Some(bg) = self.rdb.bg.take() else {
            return;
        };
        let res = bg
            .handle
            .join()
            .unwrap_or_else(|_| Err("the save thread failed".into()));
        let now = clock::now_ms();
        self.rdb.last_bgsave_secs = (now - bg.start_ms) / 1000;
        match res {
            Ok(()) => {
                info!("DB saved on disk");
                info!("Background saving terminated with success");
                self.dirty = self.dirty.saturating_sub(bg.dirty_at_start);
                self.lastsave = now / 1000;
                self.rdb.last_bgsave_ok = true;
            }
            Err(e) => {
                warn!("{e}");
                warn!("Background saving error");
                self.rdb.last_bgsave_ok = false;
            }
        }
    }

    /// Aborts a running BGSAVE (FLUSHALL): its file is not installed and the save
    /// status is left as it was, like Redis killing the child with SIGUSR1.
    /// Redis compat: rdb.c killRDBChild.
    pub fn kill_bgsave(&mut self) {
        if let Some(bg) = self.rdb.bg.take() {
            bg.cancel.store(true, Ordering::Release);
            let _ = bg.handle.join();
            warn!("Background saving terminated by signal 10");
        }
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
        // Loaded keys get stamps in the mode the policy needs (saved LFU counters included).
        self.sync_access_mode();
        let name = self.dbfilename();
        let data = match std::fs::read(&name) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::persist::rdb::RdbError::Io(e).log_line(0)),
        };
        let now = clock::now_ms();
        let lim = self.cfg.limits;
        let verify = self.cfg_yes("rdbchecksum");
        let st = if merge {
            // Keys already present are replaced (DEBUG RELOAD MERGE NOFLUSH).
            let mut fresh: Vec<crate::db::Db> = (0..self.dbs.len()).map(crate::db::Db::new).collect();
            let lfu = self.dbs.first().and_then(|d| d.lfu);
            fresh.iter_mut().for_each(|d| d.lfu = lfu);
            let st = file::load(&data, &mut fresh, now, &lim, verify).map_err(|e| e.log_line(0))?;
            for (dst, src) in self.dbs.iter_mut().zip(fresh.iter_mut()) {
                let keys: Vec<Vec<u8>> = src.iter().map(|o| o.key().to_vec()).collect();
                for k in keys {
                    let at = src.get_expire(&k);
                    if let Some(o) = src.remove(&k) {
                        dst.set(o, false, now);
                        if let Some(at) = at {
                            dst.set_expire(&k, at);
                        }
                    }
                }
            }
            st
        } else {
            file::load(&data, &mut self.dbs, now, &lim, verify).map_err(|e| e.log_line(0))?
        };
        self.rdb.last_load_keys_loaded = st.keys_loaded;
        self.rdb.last_load_keys_expired = st.keys_expired;
        Ok(Some(st))
    }

    /// Startup load with Redis's log lines; Err means the server must exit.
    /// Redis compat: server.c loadDataFromDisk, rdb.c rdbLoadRio.
    pub fn load_at_startup(&mut self) -> Result<(), String> {
        let start = clock::mono_us();
        match self.load_rdb(false) {
            Ok(Some(st)) => {
                if let Some(v) = &st.redis_ver {
                    info!("Loading RDB produced by version {v}");
                }
                if let Some(ct) = st.ctime {
                    info!("RDB age {} seconds", (clock::now_ms() / 1000 - ct).max(0));
                }
                if let Some(m) = st.used_mem {
                    info!("RDB memory usage when created {:.2} Mb", m as f64 / (1024.0 * 1024.0));
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
                let secs = (clock::mono_us() - start) as f64 / 1e6;
                info!("DB loaded from disk: {secs:.3} seconds");
                Ok(())
            }
            Ok(None) => Ok(()),
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
