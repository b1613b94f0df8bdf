//! The append-only file on the server side: feeding propagated commands into a buffer,
//! writing it before any reply leaves (and fsyncing first under `appendfsync always`,
//! once per loop iteration for every client served), the background fsync of
//! `everysec`, BGREWRITEAOF with the multi-part manifest (new incr file at the start,
//! new base at the end, old files become history and are deleted), loading at startup,
//! turning the AOF on and off at run time, and DEBUG LOADAOF.
//! Redis compat: aof.c.
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use tracing::{info, warn};

use super::client::{Client, Conn};
use super::persist::SavePurpose;
use super::{call, Server};
use crate::clock;
use crate::persist::aof::{self as fmt, CmdReader, Manifest, ReadError};
use crate::persist::child::WriteError;
use crate::persist::snapshot::Target;
use crate::util::fs::{bg_unlink, fsync_dir};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofState {
    Off,
    On,
    /// Turned on at run time: the first rewrite must finish before the AOF counts.
    WaitRewrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

/// A running rewrite: the background snapshot in `rdb.bg` writes the new base (an RDB
/// file or commands) into a temp file.
pub struct Rewrite {
    start_secs: i64,
    tmp: String,
    rdb: bool,
    /// The writer child's pid.
    pid: u32,
}

/// How loading the AOF files went. Redis compat: aof.c AOF_OK ... AOF_TRUNCATED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

pub struct Aof {
    pub state: AofState,
    /// Set while the files are replayed: nothing is propagated then.
    pub loading: bool,
    pub manifest: Manifest,
    /// Commands fed since the last write to the file.
    pub buf: Vec<u8>,
    file: Option<File>,
    selected_db: Option<usize>,
    cur_ts: i64,
    pub current_size: u64,
    pub base_size: u64,
    last_incr_size: u64,
    last_incr_fsync_offset: u64,
    last_fsync: i64,
    fsync_job: Option<JoinHandle<()>>,
    pub rewrite: Option<Rewrite>,
    pub rewrite_scheduled: bool,
    pub rewrites: u64,
    pub consecutive_failures: u32,
    pub last_rewrite_ok: bool,
    pub last_rewrite_secs: i64,
    pub last_write_ok: bool,
    pub last_write_err: String,
    pub fsync: Fsync,
    pub timestamps: bool,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds slept before each write (a test hook).
    pub flush_sleep_us: u64,
    next_delay_minutes: i64,
    next_rewrite_time: i64,
    /// Background saves started (BGSAVE and rewrites), for INFO total_forks.
    pub forks: u64,
    /// Bytes the last rewrite's snapshot had to serialize ahead because of writes.
    pub last_cow_size: u64,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            state: AofState::Off,
            loading: false,
            manifest: Manifest::default(),
            buf: Vec::new(),
            file: None,
            selected_db: None,
            cur_ts: 0,
            current_size: 0,
            base_size: 0,
            last_incr_size: 0,
            last_incr_fsync_offset: 0,
            last_fsync: 0,
            fsync_job: None,
            rewrite: None,
            rewrite_scheduled: false,
            rewrites: 0,
            consecutive_failures: 0,
            last_rewrite_ok: true,
            last_rewrite_secs: -1,
            last_write_ok: true,
            last_write_err: String::new(),
            fsync: Fsync::EverySec,
            timestamps: false,
            flush_sleep_us: 0,
            next_delay_minutes: 0,
            next_rewrite_time: 0,
            forks: 0,
            last_cow_size: 0,
        }
    }
}

/// A failure already reported in the log (the caller only decides what happens next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged;

pub use crate::util::os_err;

/// Redis compat: aof.c AOF_REWRITE_LIMITE_THRESHOLD / _MAX_MINUTES.
const REWRITE_LIMIT_THRESHOLD: u32 = 3;
const REWRITE_LIMIT_MAX_MINUTES: i64 = 60;

impl Aof {
    /// Whether fed commands are kept: AOF on, or turned on and its first rewrite running.
    pub fn accepts_writes(&self) -> bool {
        self.state == AofState::On || (self.state == AofState::WaitRewrite && self.rewrite.is_some())
    }

    /// Appends one propagated command (with SELECT and a timestamp annotation as needed).
    /// Redis compat: aof.c feedAppendOnlyFile.
    pub fn feed<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        if !self.accepts_writes() || self.loading {
            return;
        }
        if self.timestamps {
            let now = clock::now_ms() / 1000;
            if self.cur_ts < now {
                self.cur_ts = now;
                let _ = write!(self.buf, "#TS:{now}\r\n");
            }
        }
        if self.selected_db != Some(db) {
            let id = db.to_string();
            fmt::cat_command(&mut self.buf, &[b"SELECT".as_slice(), id.as_bytes()]);
            self.selected_db = Some(db);
        }
        fmt::cat_command(&mut self.buf, argv);
    }

    /// Whether the buffer or an owed fsync must be dealt with before a reply is sent.
    #[inline]
    pub fn owes_write(&self) -> bool {
        !self.buf.is_empty() || (self.fsync == Fsync::Always && self.last_incr_fsync_offset != self.last_incr_size)
    }

    fn fsync_in_progress(&mut self) -> bool {
        match &self.fsync_job {
            Some(h) if !h.is_finished() => true,
            Some(_) => {
                if let Some(h) = self.fsync_job.take() {
                    let _ = h.join();
                }
                false
            }
            None => false,
        }
    }

    /// A rewrite failed: reported in INFO and counted towards the retry limit.
    fn rewrite_failed(&mut self) {
        self.last_rewrite_ok = false;
        self.consecutive_failures += 1;
    }

    /// Redis compat: aof.c aofRewriteLimited.
    fn rewrite_limited(&mut self) -> bool {
        if self.consecutive_failures < REWRITE_LIMIT_THRESHOLD {
            self.next_delay_minutes = 0;
            self.next_rewrite_time = 0;
            return false;
        }
        let now = clock::now_ms() / 1000;
        if self.next_rewrite_time != 0 {
            if now < self.next_rewrite_time {
                return true;
            }
            self.next_rewrite_time = 0;
            return false;
        }
        self.next_delay_minutes = if self.next_delay_minutes == 0 {
            1
        } else {
            (self.next_delay_minutes * 2).min(REWRITE_LIMIT_MAX_MINUTES)
        };
        self.next_rewrite_time = now + self.next_delay_minutes * 60;
        warn!(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
            self.next_delay_minutes
        );
        true
    }
}

impl Server {
    pub fn aof_filename(&self) -> String {
        self.cfg.get("appendfilename").unwrap_or("appendonly.aof").to_string()
    }

    fn aof_dir(&self) -> PathBuf {
        PathBuf::from(self.cfg.get("appenddirname").unwrap_or("appendonlydir"))
    }

    /// The incr file a newly enabled AOF writes until its first rewrite succeeds.
    fn temp_incr_name(&self) -> String {
        format!("{}{}{}", fmt::TEMP_PREFIX, self.aof_filename(), fmt::INCR_SUFFIX)
    }

    fn aof_path(&self, name: &str) -> PathBuf {
        self.aof_dir().join(name)
    }

    /// Copies the AOF directives the write path reads into `Aof`.
    pub fn aof_sync_config(&mut self) {
        self.aof.fsync = match self.cfg.get("appendfsync") {
            Some("always") => Fsync::Always,
            Some("no") => Fsync::No,
            _ => Fsync::EverySec,
        };
        self.aof.timestamps = self.cfg.yes("aof-timestamp-enabled");
    }

    pub fn has_active_child(&self) -> bool {
        self.rdb.bg.is_some() || self.aof.rewrite.is_some()
    }

    fn ensure_aof_dir(&self) -> Result<(), Logged> {
        let dir = self.aof_dir();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            warn!("Can't open or create append-only dir {}: {}", dir.display(), os_err(&e));
            return Err(Logged);
        }
        Ok(())
    }

    /// Writes the manifest: temp file, fsync, rename, fsync of the directory.
    /// Redis compat: aof.c writeAofManifestFile.
    fn persist_manifest(&self, m: &Manifest) -> Result<(), Logged> {
        let name = format!("{}{}", self.aof_filename(), fmt::MANIFEST_SUFFIX);
        let tmp = format!("{}{}", fmt::TEMP_PREFIX, name);
        let (path, tmp_path) = (self.aof_path(&name), self.aof_path(&tmp));
        let res = (|| -> Result<(), String> {
            let mut f = File::create(&tmp_path)
                .map_err(|e| format!("Can't open the AOF manifest file {tmp}: {}", os_err(&e)))?;
            f.write_all(&m.format()).map_err(|e| {
                format!(
                    "Error trying to write the temporary AOF manifest file {tmp}: {}",
                    os_err(&e)
                )
            })?;
            f.sync_all()
                .map_err(|e| format!("Fail to fsync the temp AOF file {tmp}: {}.", os_err(&e)))?;
            std::fs::rename(&tmp_path, &path).map_err(|e| {
                format!(
                    "Error trying to rename the temporary AOF manifest file {tmp} into {name}: {}",
                    os_err(&e)
                )
            })?;
            fsync_dir(&self.aof_dir())
                .map_err(|e| format!("Fail to fsync AOF directory {}: {}.", path.display(), os_err(&e)))
        })();
        res.map_err(|e| {
            warn!("{e}");
            Logged
        })
    }

    /// Reads the manifest if the AOF directory has one. Err: the server must exit.
    /// Redis compat: aof.c aofLoadManifestFromDisk.
    pub fn aof_load_manifest(&mut self) -> Result<(), Logged> {
        self.aof.manifest = Manifest::default();
        let path = self.aof_path(&format!("{}{}", self.aof_filename(), fmt::MANIFEST_SUFFIX));
        if !self.aof_dir().is_dir() || !path.exists() {
            return Ok(());
        }
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => {
                warn!(
                    "Fatal error: can't open the AOF manifest file {} for reading: {}",
                    path.display(),
                    os_err(&e)
                );
                return Err(Logged);
            }
        };
        match Manifest::parse(&text) {
            Ok(m) => {
                self.aof.manifest = m;
                Ok(())
            }
            Err(e) => {
                warn!("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
                if let Some((n, line)) = &e.line {
                    warn!("Reading the manifest file, at line {n}\n");
                    warn!(">>> '{line}'\n");
                }
                warn!("{}\n", e.msg);
                Err(Logged)
            }
        }
    }

    /// Moves a pre-7.0 single AOF into the directory as the base of a new manifest.
    /// Redis compat: aof.c aofUpgradePrepare.
    fn aof_upgrade(&mut self) -> Result<(), Logged> {
        let name = self.aof_filename();
        self.ensure_aof_dir()?;
        let mut m = self.aof.manifest.clone();
        m.base = Some(fmt::AofFile {
            name: name.clone(),
            seq: 1,
            kind: fmt::FileKind::Base,
        });
        m.base_seq = 1;
        self.persist_manifest(&m)?;
        self.aof.manifest = m;
        if let Err(e) = std::fs::rename(&name, self.aof_path(&name)) {
            warn!(
                "Error trying to move the old AOF file {name} into dir {}: {}",
                self.aof_dir().display(),
                os_err(&e)
            );
            return Err(Logged);
        }
        info!(
            "Successfully migrated an old-style AOF file ({name}) into the AOF directory ({}).",
            self.aof_dir().display()
        );
        Ok(())
    }

    fn aof_file_size(&self, name: &str) -> Result<u64, Loaded> {
        match std::fs::metadata(self.aof_path(name)) {
            Ok(m) => Ok(m.len()),
            Err(e) => {
                warn!("Unable to obtain the AOF file {name} length. stat: {}", os_err(&e));
                Err(if e.kind() == io::ErrorKind::NotFound {
                    Loaded::NotExist
                } else {
                    Loaded::OpenErr
                })
            }
        }
    }

    /// Loads the base and incr files the manifest lists. Redis compat: aof.c
    /// loadAppendOnlyFiles.
    pub fn aof_load_files(&mut self) -> Loaded {
        let name = self.aof_filename();
        if Path::new(&name).exists() {
            let m = &self.aof.manifest;
            let upgrade = !self.aof_dir().is_dir()
                || m.is_empty()
                || (m.incrs.is_empty()
                    && m.base.as_ref().is_some_and(|b| b.name == name)
                    && !self.aof_path(&name).exists());
            if upgrade && self.aof_upgrade().is_err() {
                return Loaded::Failed;
            }
        }
        if self.aof.manifest.is_empty() {
            return Loaded::NotExist;
        }
        let files: Vec<String> = self
            .aof
            .manifest
            .base
            .iter()
            .chain(self.aof.manifest.incrs.iter())
            .map(|f| f.name.clone())
            .collect();
        let mut total = 0u64;
        for f in &files {
            match self.aof_file_size(f) {
                Ok(n) => total += n,
                Err(Loaded::NotExist) => return Loaded::Failed,
                Err(e) => return e,
            }
        }
        if total == 0 {
            return Loaded::Empty;
        }
        let has_base = self.aof.manifest.base.is_some();
        let mut base_size = 0;
        let mut ret = Loaded::Ok;
        self.loading = Some(super::Loading {
            start_secs: clock::now_ms() / 1000,
            total_bytes: total,
            ..Default::default()
        });
        self.aof.loading = true;
        self.sync_propagation();
        // Redis compat: db.c keyIsExpired: nothing expires while loading, so commands
        // replay on the keys as they were written.
        let lazy: Vec<bool> = self.dbs.iter().map(|d| d.lazy_expire).collect();
        self.dbs.iter_mut().for_each(|d| d.lazy_expire = false);
        for (i, f) in files.iter().enumerate() {
            let last = i + 1 == files.len();
            let is_base = has_base && i == 0;
            if is_base {
                base_size = self.aof_file_size(f).unwrap_or(0);
            }
            let start = clock::mono_us();
            ret = self.aof_load_one(f);
            if ret == Loaded::Ok || (ret == Loaded::Truncated && last) {
                let kind = if is_base { "base" } else { "incr" };
                let secs = (clock::mono_us() - start) as f64 / 1e6;
                info!("DB loaded from {kind} file {f}: {secs:.3} seconds");
            }
            if !is_base && ret == Loaded::Empty {
                ret = Loaded::Ok;
            }
            if ret == Loaded::Truncated && !last {
                ret = Loaded::Failed;
                warn!("Fatal error: the truncated file is not the last file");
            }
            if matches!(ret, Loaded::OpenErr | Loaded::Failed) {
                break;
            }
        }
        self.aof.loading = false;
        self.loading = None;
        self.dbs.iter_mut().zip(lazy).for_each(|(d, l)| d.lazy_expire = l);
        self.sync_propagation();
        if matches!(ret, Loaded::Ok | Loaded::Truncated | Loaded::Empty) {
            self.aof.current_size = total;
            self.aof.base_size = base_size;
        }
        ret
    }

    /// Replays one file (RDB base or preamble first when it starts with "REDIS").
    /// Redis compat: aof.c loadSingleAppendOnlyFile.
    fn aof_load_one(&mut self, name: &str) -> Loaded {
        let path = self.aof_path(name);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                if std::fs::metadata(&path).is_ok() || e.kind() != io::ErrorKind::NotFound {
                    warn!(
                        "Fatal error: can't open the append log file {name} for reading: {}",
                        os_err(&e)
                    );
                    return Loaded::OpenErr;
                }
                warn!("The append log file {name} doesn't exist: {}", os_err(&e));
                return Loaded::NotExist;
            }
        };
        if file.metadata().is_ok_and(|m| m.len() == 0) {
            return Loaded::Empty;
        }
        let mut sig = [0u8; 5];
        let is_rdb = file.read_exact(&mut sig).is_ok() && &sig == b"REDIS";
        let now = clock::now_ms();
        let cid = self.clients.insert(Client::new(
            u64::MAX,
            Conn::None,
            String::new(),
            String::new(),
            false,
            now,
            true,
        ));
        let ret = if is_rdb {
            let old_style = name == self.aof_filename();
            if old_style {
                info!("Reading RDB preamble from AOF file...");
            } else {
                info!("Reading RDB base file on AOF loading...");
            }
            match crate::util::fs::Mapped::open(&path) {
                Err(e) => {
                    warn!(
                        "Unrecoverable error reading the append only file {name}: {}",
                        os_err(&e)
                    );
                    Loaded::Failed
                }
                Ok(map) => match self.load_rdb_bytes(crate::util::fs::Source::Mapped(&map)) {
                    Err(e) => {
                        warn!("{e}");
                        if old_style {
                            warn!("Error reading the RDB preamble of the AOF file {name}, AOF loading aborted");
                        } else {
                            warn!("Error reading the RDB base file {name}, AOF loading aborted");
                        }
                        Loaded::Failed
                    }
                    Ok(end) => {
                        if old_style {
                            info!("Reading the remaining AOF tail...");
                        }
                        let tail = map.as_slice().get(end..).unwrap_or_default();
                        let reader = CmdReader::new(tail, end as u64);
                        self.aof_replay(cid, name, &path, reader)
                    }
                },
            }
        } else if let Err(e) = file.seek(SeekFrom::Start(0)) {
            warn!(
                "Unrecoverable error reading the append only file {name}: {}",
                os_err(&e)
            );
            Loaded::Failed
        } else {
            let reader = CmdReader::new(BufReader::with_capacity(64 * 1024, file), 0);
            self.aof_replay(cid, name, &path, reader)
        };
        self.clients.try_remove(cid);
        ret
    }

    /// Runs every command of an AOF (in the fake client `cid`).
    fn aof_replay<R: io::BufRead>(&mut self, cid: usize, name: &str, path: &Path, mut r: CmdReader<R>) -> Loaded {
        let mut out = crate::resp::ReplyBuf::default();
        let mut valid_before_multi = 0;
        let mut loops = 0u64;
        let table = crate::cmd::table();
        let key_delay = self.cfg.int("key-load-delay");
        let err = loop {
            match r.next_command() {
                Ok(Some(argv)) => {
                    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                    let Some(id) = table.lookup_id(&refs) else {
                        warn!(
                            "Unknown command '{}' reading the append only file {name}",
                            String::from_utf8_lossy(refs.first().copied().unwrap_or_default())
                        );
                        return Loaded::Failed;
                    };
                    if table.specs.get(id).is_some_and(|s| s.name == "multi") {
                        valid_before_multi = r.valid_up_to;
                    }
                    call::execute(self, cid, &refs, &mut out);
                    out.clear();
                    r.commit();
                    if key_delay != 0 {
                        crate::util::debug_delay(key_delay);
                    }
                    loops += 1;
                    // Redis compat: aof.c loadSingleAppendOnlyFile serves clients (with
                    // -LOADING) every 1024 commands.
                    if loops % 1024 == 0 {
                        self.process_events_while_blocked();
                    }
                }
                Ok(None) => {
                    if self.clients.get(cid).is_some_and(|c| c.multi.is_some()) {
                        warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                        r.valid_up_to = valid_before_multi;
                        break ReadError::Truncated;
                    }
                    return Loaded::Ok;
                }
                Err(e) => break e,
            }
        };
        match err {
            ReadError::Io(e) => {
                warn!(
                    "Unrecoverable error reading the append only file {name}: {}",
                    os_err(&e)
                );
                Loaded::Failed
            }
            ReadError::Format => {
                warn!("Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>");
                Loaded::Failed
            }
            ReadError::Truncated => {
                if self.cfg.yes("aof-load-truncated") {
                    let at = r.valid_up_to;
                    warn!("!!! Warning: short read while loading the AOF file {name}!!!");
                    warn!("!!! Truncating the AOF {name} at offset {at} !!!");
                    match OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(at)) {
                        Ok(()) => {
                            warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                            return Loaded::Truncated;
                        }
                        Err(e) => warn!("Error truncating the AOF file {name}: {}", os_err(&e)),
                    }
                }
                warn!("Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.");
                Loaded::Failed
            }
        }
    }

    /// After loading at startup with the AOF on: creates the base when starting empty,
    /// opens the last incr file (or a new one) and persists the manifest.
    /// Redis compat: aof.c aofOpenIfNeededOnServerStart.
    pub fn aof_open_on_start(&mut self) -> Result<(), Logged> {
        if self.aof.state != AofState::On {
            return Ok(());
        }
        self.ensure_aof_dir()?;
        let name = self.aof_filename();
        let had_incr = !self.aof.manifest.incrs.is_empty();
        if self.aof.manifest.base.is_none() && !had_incr {
            let rdb = self.cfg.yes("aof-use-rdb-preamble");
            let base = self.aof.manifest.new_base(&name, rdb);
            let tmp = format!("temp-rewriteaof-{}.aof", std::process::id());
            let dest = self.aof_path(&base).to_string_lossy().into_owned();
            let autosync = self.cfg.yes("aof-rewrite-incremental-fsync");
            let res = crate::persist::rdb::file::write_file(&tmp, &dest, autosync, |out| {
                crate::persist::rdb::file::serialize_to(&self.dbs, &self.aof_base_opts(), out)
            });
            if let Err(e) = res {
                warn!("{e}");
                return Err(Logged);
            }
            info!("Creating AOF base file {base} on server start");
        }
        let incr = match self.aof.manifest.incrs.last() {
            Some(f) => f.name.clone(),
            None => self.aof.manifest.new_incr(&name),
        };
        let f = OpenOptions::new().append(true).create(true).open(self.aof_path(&incr));
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                warn!("Can't open the append-only file {incr}: {}", os_err(&e));
                return Err(Logged);
            }
        };
        let m = self.aof.manifest.clone();
        self.persist_manifest(&m)?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.aof.file = Some(f);
        self.aof.last_incr_size = size;
        self.aof.last_incr_fsync_offset = size;
        if had_incr {
            info!("Opening AOF incr file {incr} on server start");
        } else {
            info!("Creating AOF incr file {incr} on server start");
        }
        Ok(())
    }

    /// Deletes history files (unless `aof-disable-auto-gc`) and persists the manifest.
    /// Redis compat: aof.c aofDelHistoryFiles.
    pub fn aof_del_history(&mut self) {
        if self.cfg.yes("aof-disable-auto-gc") || self.aof.manifest.history.is_empty() {
            return;
        }
        for f in std::mem::take(&mut self.aof.manifest.history) {
            info!("Removing the history file {} in the background", f.name);
            bg_unlink(self.aof_path(&f.name));
        }
        let m = self.aof.manifest.clone();
        let _ = self.persist_manifest(&m);
    }

    /// Startup: loads the dataset from the AOF when it is on (else the RDB), then opens
    /// the AOF for appending. Err: the server must exit.
    /// Redis compat: server.c main (aofLoadManifestFromDisk, loadDataFromDisk, ...).
    pub fn load_data_at_startup(&mut self) -> Result<(), Logged> {
        self.aof_sync_config();
        if self.cfg.yes("appendonly") {
            self.aof.state = AofState::On;
        }
        self.aof_load_manifest()?;
        let from_aof = self.aof.state == AofState::On;
        if from_aof {
            let start = clock::mono_us();
            let ret = self.aof_load_files();
            if matches!(ret, Loaded::Failed | Loaded::OpenErr) {
                return Err(Logged);
            }
            if ret != Loaded::NotExist {
                let secs = (clock::mono_us() - start) as f64 / 1e6;
                info!("DB loaded from append only file: {secs:.3} seconds");
            }
        }
        let history = if from_aof {
            None
        } else {
            self.load_at_startup().map_err(|_| Logged)?
        };
        self.aof_open_on_start()?;
        self.aof_del_history();
        // `replicaof host port` in the config, or a cluster replica's master in
        // nodes.conf: the link is made by cron, and the history loaded is the one it
        // continues. Redis compat: server.c loadDataFromDisk (iAmMaster).
        let master = self.cfg.get("replicaof").unwrap_or_default().to_string();
        let mut it = master.split_whitespace();
        let cluster_master = self.cluster.as_deref().and_then(|cl| {
            let me = cl.me();
            let m = me.slaveof.filter(|_| me.is_slave()).and_then(|m| cl.nodes.get(m))?;
            (!m.ip.is_empty()).then(|| (m.ip.clone(), m.port))
        });
        if let Some((host, port)) = cluster_master {
            self.repl_set_master(host, port, false);
        } else if let (Some(host), Some(port)) = (it.next(), it.next().and_then(|p| p.parse::<u16>().ok())) {
            self.repl_set_master(host.to_string(), port, false);
        }
        if let Some(h) = history {
            self.repl_restore_history(h);
        }
        self.sync_propagation();
        Ok(())
    }

    /// Writes (and, as the policy says, fsyncs) the buffer. Redis compat: aof.c
    /// flushAppendOnlyFile.
    pub fn aof_flush(&mut self, force: bool) {
        let _ = force;
        let now = clock::now_ms() / 1000;
        let a = &mut self.aof;
        if a.buf.is_empty() {
            let owed = a.last_incr_fsync_offset != a.last_incr_size;
            let due = match a.fsync {
                Fsync::EverySec => owed && now > a.last_fsync && !a.fsync_in_progress(),
                Fsync::Always => owed,
                Fsync::No => false,
            };
            if !due {
                return;
            }
        } else {
            let Some(f) = a.file.as_mut() else {
                a.buf.clear();
                return;
            };
            if a.flush_sleep_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(a.flush_sleep_us));
            }
            match f.write_all(&a.buf) {
                Ok(()) => {
                    if !a.last_write_ok {
                        warn!("AOF write error looks solved, Redis can write again.");
                        a.last_write_ok = true;
                    }
                    a.current_size += a.buf.len() as u64;
                    a.last_incr_size += a.buf.len() as u64;
                    if a.buf.capacity() > 4000 {
                        a.buf = Vec::new();
                    } else {
                        a.buf.clear();
                    }
                }
                Err(e) => {
                    // A partial write is undone so the file never holds half a command.
                    let _ = f.set_len(a.last_incr_size);
                    if a.last_write_ok {
                        warn!("Error writing to the AOF file: {}", os_err(&e));
                    }
                    if a.fsync == Fsync::Always {
                        warn!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                        std::process::exit(1);
                    }
                    a.last_write_ok = false;
                    a.last_write_err = os_err(&e);
                    return;
                }
            }
        }
        if self.cfg.yes("no-appendfsync-on-rewrite") && self.has_active_child() {
            return;
        }
        let a = &mut self.aof;
        match a.fsync {
            Fsync::Always => {
                if let Some(f) = a.file.as_ref() {
                    if let Err(e) = f.sync_data() {
                        warn!(
                            "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                            os_err(&e)
                        );
                        std::process::exit(1);
                    }
                }
                a.last_incr_fsync_offset = a.last_incr_size;
                a.last_fsync = now;
            }
            Fsync::EverySec if now > a.last_fsync => {
                if !a.fsync_in_progress() {
                    if let Some(f) = a.file.as_ref().and_then(|f| f.try_clone().ok()) {
                        a.fsync_job = std::thread::Builder::new()
                            .name("aof-fsync".into())
                            .spawn(move || {
                                let _ = f.sync_data();
                            })
                            .ok();
                    }
                    a.last_incr_fsync_offset = a.last_incr_size;
                }
                a.last_fsync = now;
            }
            _ => {}
        }
    }

    /// Called before any reply is written: what the reply acknowledges reaches the file
    /// first (and the disk first, under `appendfsync always`).
    #[inline]
    pub fn aof_before_reply(&mut self) {
        if self.aof.state != AofState::Off && self.aof.owes_write() {
            self.aof_flush(false);
        }
    }

    /// Switches appends to a new incr file (a temp one while waiting for the first
    /// rewrite). Redis compat: aof.c openNewIncrAofForAppend.
    fn open_new_incr(&mut self) -> Result<(), Logged> {
        if self.aof.state == AofState::Off {
            return Ok(());
        }
        let name = self.aof_filename();
        let mut temp_m = None;
        let new_name = if self.aof.state == AofState::WaitRewrite {
            self.temp_incr_name()
        } else {
            let mut m = self.aof.manifest.clone();
            let n = m.new_incr(&name);
            temp_m = Some(m);
            n
        };
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.aof_path(&new_name));
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                warn!("Can't open the append-only file {new_name}: {}", os_err(&e));
                return Err(Logged);
            }
        };
        if let Some(m) = &temp_m {
            self.persist_manifest(m)?;
        }
        info!("Creating AOF incr file {new_name} on background rewrite");
        if let Some(old) = self.aof.file.take() {
            // The old file is fsynced (and closed) off the main thread.
            let _ = std::thread::Builder::new().name("aof-close".into()).spawn(move || {
                let _ = old.sync_data();
            });
            self.aof.last_fsync = clock::now_ms() / 1000;
        }
        self.aof.file = Some(f);
        self.aof.last_incr_size = 0;
        self.aof.last_incr_fsync_offset = 0;
        if let Some(m) = temp_m {
            self.aof.manifest = m;
        }
        Ok(())
    }

    /// BGREWRITEAOF: a new incr file takes the writes from now on while a thread writes
    /// the dataset as it is now into the new base. Redis compat: aof.c
    /// rewriteAppendOnlyFileBackground.
    pub fn aof_rewrite_start(&mut self) -> Result<(), Logged> {
        if self.has_active_child() {
            return Err(Logged);
        }
        if self.ensure_aof_dir().is_err() {
            self.aof.last_rewrite_ok = false;
            return Err(Logged);
        }
        self.aof.selected_db = None;
        self.aof_flush(true);
        if self.open_new_incr().is_err() {
            self.aof.last_rewrite_ok = false;
            return Err(Logged);
        }
        self.aof.rewrites += 1;
        self.aof.forks += 1;
        let rdb = self.cfg.yes("aof-use-rdb-preamble");
        let tmp = format!("temp-rewriteaof-bg-{}.aof", std::process::id());
        // The point-in-time snapshot: walked a slice at a time, never all at once.
        let target = Target::File {
            tmp: PathBuf::from(&tmp),
            dest: None,
        };
        let pid = match self.snapshot_start(SavePurpose::AofBase, target, Default::default()) {
            Ok(pid) => pid,
            Err(e) => {
                self.aof.last_rewrite_ok = false;
                warn!("Can't rewrite append only file in background: {e}");
                return Err(Logged);
            }
        };
        info!("Background append only file rewriting started by pid {pid}");
        self.aof.rewrite_scheduled = false;
        self.aof.rewrite = Some(Rewrite {
            start_secs: clock::now_ms() / 1000,
            tmp,
            rdb,
            pid,
        });
        self.sync_propagation();
        Ok(())
    }

    /// Seconds the running rewrite has taken, or -1.
    pub fn aof_rewrite_elapsed(&self) -> i64 {
        self.aof
            .rewrite
            .as_ref()
            .map_or(-1, |r| clock::now_ms() / 1000 - r.start_secs)
    }

    /// A rewrite ended with `res`: installs the new base or counts the failure.
    /// Redis compat: aof.c backgroundRewriteDoneHandler.
    pub fn aof_rewrite_finish(&mut self, res: Result<(), WriteError>) {
        let Some(Rewrite {
            start_secs, tmp, rdb, ..
        }) = self.aof.rewrite.take()
        else {
            return;
        };
        match res {
            Ok(()) => self.aof_rewrite_install(&tmp, rdb),
            Err(WriteError::Signal(sig)) => {
                // Redis compat: a child stopped with SIGUSR1 (by us) is not an error.
                if sig != libc::SIGUSR1 {
                    self.aof.rewrite_failed();
                }
                warn!("Background AOF rewrite terminated by signal {sig}");
            }
            Err(WriteError::Failed(e)) => {
                warn!("{e}");
                self.aof.rewrite_failed();
                warn!("Background AOF rewrite terminated with error");
            }
        }
        let _ = std::fs::remove_file(&tmp);
        self.aof.last_rewrite_secs = clock::now_ms() / 1000 - start_secs;
        // Redis compat: aof.c backgroundRewriteDoneHandler: until a rewrite succeeds, a
        // newly enabled AOF drops what it buffered and keeps trying.
        if self.aof.state == AofState::WaitRewrite {
            self.aof.buf.clear();
            self.aof.file = None;
            let tmp = self.temp_incr_name();
            info!("Removing the temp incr aof file {tmp} in the background");
            bg_unlink(self.aof_path(&tmp));
            self.aof.rewrite_scheduled = true;
        }
        self.sync_propagation();
    }

    fn aof_rewrite_install(&mut self, tmp_base: &str, rdb: bool) {
        // Redis compat: aof.c rewriteAppendOnlyFile (the child's line once its file is
        // written and synced).
        info!("Successfully created the temporary AOF base file {tmp_base}");
        info!("Background AOF rewrite terminated with success");
        let name = self.aof_filename();
        let mut m = self.aof.manifest.clone();
        let base = m.new_base(&name, rdb);
        let base_path = self.aof_path(&base);
        let fail = |srv: &mut Server| srv.aof.rewrite_failed();
        if let Err(e) = std::fs::rename(tmp_base, &base_path) {
            warn!(
                "Error trying to rename the temporary AOF base file {} into {}: {}",
                tmp_base,
                base_path.display(),
                os_err(&e)
            );
            return fail(self);
        }
        info!("Successfully renamed the temporary AOF base file {tmp_base} into {base}");
        let mut new_incr = None;
        if self.aof.state == AofState::WaitRewrite {
            let tmp = self.temp_incr_name();
            let incr = m.new_incr(&name);
            if let Err(e) = std::fs::rename(self.aof_path(&tmp), self.aof_path(&incr)) {
                warn!(
                    "Error trying to rename the temporary AOF incr file {} into {}: {}",
                    self.aof_path(&tmp).display(),
                    self.aof_path(&incr).display(),
                    os_err(&e)
                );
                bg_unlink(base_path);
                return fail(self);
            }
            info!("Successfully renamed the temporary AOF incr file {tmp} into {incr}");
            new_incr = Some(incr);
        }
        m.incrs_to_history(self.aof.file.is_some());
        if self.persist_manifest(&m).is_err() {
            bg_unlink(base_path);
            if let Some(i) = new_incr {
                bg_unlink(self.aof_path(&i));
            }
            return fail(self);
        }
        self.aof.manifest = m;
        if self.aof.state != AofState::Off {
            let base_len = std::fs::metadata(&base_path).map(|m| m.len()).unwrap_or(0);
            self.aof.current_size = base_len + self.aof.last_incr_size;
            self.aof.base_size = self.aof.current_size;
        }
        self.aof_del_history();
        self.aof.last_rewrite_ok = true;
        self.aof.consecutive_failures = 0;
        info!("Background AOF rewrite finished successfully");
        if self.aof.state == AofState::WaitRewrite {
            self.aof.state = AofState::On;
        }
    }

    /// Stops a running rewrite; its temp file is removed. Redis compat: aof.c
    /// killAppendOnlyChild.
    pub fn aof_kill_rewrite(&mut self) {
        let Some(rw) = self.aof.rewrite.as_ref() else {
            return;
        };
        info!("Killing running AOF rewrite child: {}", rw.pid);
        if let Some(res) = self.abort_snapshot() {
            self.aof_rewrite_finish(res);
        }
    }

    /// CONFIG SET appendonly yes. Redis compat: aof.c startAppendOnly.
    pub fn aof_start(&mut self) -> Result<(), Logged> {
        if self.aof.state != AofState::Off {
            return Ok(());
        }
        self.aof.state = AofState::WaitRewrite;
        if self.rdb.bg.is_some() {
            self.aof.rewrite_scheduled = true;
            warn!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        } else if self.in_exec {
            self.aof.rewrite_scheduled = true;
            warn!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        } else {
            if self.aof.rewrite.is_some() {
                warn!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                self.aof_kill_rewrite();
            }
            if self.aof_rewrite_start().is_err() {
                self.aof.state = AofState::Off;
                warn!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
                self.sync_propagation();
                return Err(Logged);
            }
        }
        self.aof.last_fsync = clock::now_ms() / 1000;
        if !self.aof.last_write_ok {
            warn!("AOF reopen, just ignore the last error.");
            self.aof.last_write_ok = true;
        }
        self.sync_propagation();
        Ok(())
    }

    /// CONFIG SET appendonly no. Redis compat: aof.c stopAppendOnly.
    pub fn aof_stop(&mut self) {
        if self.aof.state == AofState::Off {
            return;
        }
        self.aof_flush(true);
        if let Some(f) = self.aof.file.take() {
            if let Err(e) = f.sync_data() {
                warn!("Fail to fsync the AOF file: {}", os_err(&e));
            }
        }
        self.aof.selected_db = None;
        self.aof.state = AofState::Off;
        self.aof.rewrite_scheduled = false;
        self.aof.last_incr_size = 0;
        self.aof.last_incr_fsync_offset = 0;
        self.aof_kill_rewrite();
        self.aof.buf.clear();
        self.sync_propagation();
    }

    /// BGREWRITEAOF. Redis compat: aof.c bgrewriteaofCommand.
    pub fn bgrewriteaof(&mut self) -> Result<&'static str, &'static str> {
        if self.aof.rewrite.is_some() {
            Err("ERR Background append only file rewriting already in progress")
        } else if self.has_active_child() || self.in_exec {
            self.aof.rewrite_scheduled = true;
            self.aof.consecutive_failures = 0;
            Ok("Background append only file rewriting scheduled")
        } else if self.aof_rewrite_start().is_ok() {
            Ok("Background append only file rewriting started")
        } else {
            Err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
        }
    }

    /// Periodic AOF work: starting a scheduled or automatic rewrite (a finished one is
    /// collected with its snapshot, by `bgsave_poll`), the everysec fsync. Redis
    /// compat: server.c serverCron.
    pub fn aof_cron(&mut self) {
        if !self.has_active_child() && self.aof.rewrite_scheduled && !self.aof.rewrite_limited() {
            let _ = self.aof_rewrite_start();
        }
        let perc = self
            .cfg
            .get("auto-aof-rewrite-percentage")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let min = self
            .cfg
            .get("auto-aof-rewrite-min-size")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if self.aof.state == AofState::On && !self.has_active_child() && perc > 0 && self.aof.current_size > min {
            let base = self.aof.base_size.max(1);
            let growth = (self.aof.current_size * 100 / base).saturating_sub(100);
            if growth >= perc && !self.aof.rewrite_limited() {
                info!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.aof_rewrite_start();
            }
        }
        if self.aof.state != AofState::Off {
            self.aof_flush(false);
        }
    }

    /// DEBUG LOADAOF: the dataset is emptied and read back from the AOF files (with
    /// the manifest read again from disk). Like Redis, a failed load ends the process.
    /// Redis compat: debug.c "loadaof".
    pub fn debug_loadaof(&mut self) {
        if self.aof.state != AofState::Off {
            self.aof_flush(true);
        }
        for d in &mut self.dbs {
            let _ = d.flush();
        }
        if self.aof_load_manifest().is_err() {
            std::process::exit(1);
        }
        self.aof_del_history();
        match self.aof_load_files() {
            Loaded::Ok | Loaded::Empty | Loaded::NotExist | Loaded::Truncated => {}
            _ => std::process::exit(1),
        }
        self.dirty = 0;
        warn!("Append Only File loaded by DEBUG LOADAOF");
    }

    /// Shutdown: what is buffered is written and synced. Redis compat: server.c
    /// prepareForShutdown.
    pub fn aof_shutdown(&mut self) {
        self.aof_kill_rewrite();
        if self.aof.state != AofState::Off {
            info!("Calling fsync() on the AOF file.");
            self.aof_flush(true);
            if let Some(f) = self.aof.file.as_ref() {
                let _ = f.sync_data();
            }
        }
    }
}
