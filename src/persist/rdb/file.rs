//! Whole RDB files: serializing every db (magic, AUX fields, SELECTDB + RESIZEDB, keys
//! with their expire times, EOF, CRC64) and loading one back with all the opcodes Redis
//! 7.0 writes, checksum verification and expired keys skipped (master behaviour).
//! Files are written to `temp-<pid>.rdb`, fsynced, then renamed over the target.
//! Redis compat: rdb.c rdbSaveRio, rdbSaveInfoAuxFields, rdbLoadRio, rdbSave.
use std::path::Path;

use super::prim::{Reader, Writer};
use super::value::{read_value, type_of, write_value, write_value_spilling};
use super::{op, RdbError, RDB_VERSION};
use crate::db::evict::{Lfu, Policy};
use crate::db::{Db, Limits, Obj};
use crate::persist::child::SyncedFile;
use crate::util::crc64::Crc64;

/// What goes into the AUX header and how values are written.
#[derive(Clone)]
pub struct SaveOpts {
    /// Unix seconds (AUX ctime).
    pub ctime: i64,
    /// Allocated bytes (AUX used-mem).
    pub used_mem: u64,
    /// `rdbcompression`.
    pub compress: bool,
    /// `rdbchecksum`: when off the trailer is zero, which loaders accept unchecked.
    pub checksum: bool,
    /// `rdb-save-incremental-fsync`: a background save flushes the file as it goes.
    pub autosync: bool,
    /// Our version string for AUX redis-ver (the Redis version we speak).
    pub redis_ver: &'static str,
    /// The eviction policy: LRU policies save each key's idle time, LFU ones its counter.
    pub policy: crate::db::evict::Policy,
    /// Unix ms "now", for idle times and counter decay.
    pub now_ms: i64,
    pub lfu: crate::db::evict::Lfu,
    /// Function library codes, saved as FUNCTION2 records after the AUX fields.
    pub functions: Vec<Vec<u8>>,
    /// Replication history the data is at: (id, offset, the stream's selected db).
    pub repl: Option<(String, u64, usize)>,
    /// Save the keys (false: the header, AUX fields and functions alone).
    pub data: bool,
    /// The base of an AOF (AUX aof-base).
    pub aof_base: bool,
    /// An RDB file, or an AOF base of commands.
    pub form: Form,
}

/// What a save writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    /// An RDB file.
    Rdb,
    /// An AOF base of commands (`aof-use-rdb-preamble no`), starting with the
    /// timestamp annotation of these Unix seconds when given (`aof-timestamp-enabled`).
    Commands(Option<i64>),
}

fn aux(w: &mut Writer, k: &str, v: &[u8]) {
    w.byte(op::AUX);
    w.string(k.as_bytes());
    w.string(v);
}

fn aux_int(w: &mut Writer, k: &str, v: i64) {
    aux(w, k, v.to_string().as_bytes());
}

/// The magic and the AUX fields that open a file.
pub fn write_header(w: &mut Writer, o: &SaveOpts) {
    w.bytes(format!("REDIS{RDB_VERSION:04}").as_bytes());
    aux(w, "redis-ver", o.redis_ver.as_bytes());
    aux_int(w, "redis-bits", 64);
    aux_int(w, "ctime", o.ctime);
    aux_int(w, "used-mem", o.used_mem as i64);
    // Redis compat: rdb.c rdbSaveInfoAuxFields.
    if let Some((id, offset, db)) = &o.repl {
        aux_int(w, "repl-stream-db", *db as i64);
        aux(w, "repl-id", id.as_bytes());
        aux_int(w, "repl-offset", *offset as i64);
    }
    aux_int(w, "aof-base", o.aof_base as i64);
    // Redis compat: rdb.c rdbSaveFunctions (7.0: the library code only).
    for code in &o.functions {
        w.byte(op::FUNCTION2);
        w.string(code);
    }
}

/// One key with its expire time and, under LRU/LFU policies, its idle time or counter.
/// Redis compat: rdb.c rdbSaveKeyValuePair.
pub fn write_entry(w: &mut Writer, obj: &crate::db::Obj, expire_at: Option<i64>, o: &SaveOpts) {
    write_entry_head(w, obj, expire_at, o);
    write_value(w, obj);
}

/// An entry up to its value: expire time, LRU/LFU stamp, type and key.
pub fn write_entry_head(w: &mut Writer, obj: &crate::db::Obj, expire_at: Option<i64>, o: &SaveOpts) {
    if let Some(at) = expire_at {
        w.byte(op::EXPIRETIME_MS);
        w.millis(at);
    }
    // Redis compat: rdb.c rdbSaveKeyValuePair (MAXMEMORY_FLAG_LRU / _LFU).
    if o.policy.is_lfu() {
        w.byte(op::FREQ);
        w.byte(o.lfu.decayed(obj.lru(), o.now_ms).min(255) as u8);
    } else if saves_idle(o.policy) {
        w.byte(op::IDLE);
        w.len(crate::db::idle_ms(obj.lru(), o.now_ms) / 1000);
    }
    w.byte(type_of(obj));
    w.string(obj.key());
}

fn saves_idle(p: Policy) -> bool {
    matches!(p, Policy::AllLru | Policy::VolatileLru)
}

/// Whether entries carry their LRU idle time or LFU counter under this policy.
pub fn saves_stamps(p: Policy) -> bool {
    p.is_lfu() || saves_idle(p)
}

/// The whole file as bytes.
pub fn serialize(dbs: &[Db], o: &SaveOpts) -> Vec<u8> {
    let mut data = Vec::new();
    let _ = serialize_to(dbs, o, &mut |piece: &[u8]| {
        data.extend_from_slice(piece);
        Ok(())
    });
    data
}

/// Bytes of the file `serialize_to` gathers before handing them on.
const PIECE_BYTES: usize = 1 << 20;

/// The whole file, handed to `out` a piece of about a megabyte at a time (a value
/// bigger than that in one piece): saving a dataset takes no copy of it in memory.
/// Stops at `out`'s first error.
pub fn serialize_to(
    dbs: &[Db],
    o: &SaveOpts,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Form::Commands(ts) = o.form {
        return crate::persist::aof::write_commands(&mut Sink(out), dbs, &o.functions, ts);
    }
    let mut w = Writer::new(o.compress);
    let mut crc = Crc64::default();
    let mut hand_on = |w: &mut Writer| {
        if o.checksum {
            crc.update(&w.buf);
        }
        let res = out(&w.buf);
        w.buf.clear();
        res
    };
    write_header(&mut w, o);
    for db in dbs {
        if db.is_empty() || !o.data {
            continue;
        }
        w.byte(op::SELECTDB);
        w.len(db.id as u64);
        w.byte(op::RESIZEDB);
        w.len(db.len() as u64);
        w.len(db.expires_len() as u64);
        for obj in db.iter_prefetched() {
            write_entry_head(&mut w, obj, obj.expire_at(), o);
            let mut failed = None;
            write_value_spilling(&mut w, obj, &mut |w| {
                if w.buf.len() < PIECE_BYTES {
                    return;
                }
                if failed.is_some() {
                    w.buf.clear();
                } else if let Err(e) = hand_on(w) {
                    failed = Some(e);
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            if w.buf.len() >= PIECE_BYTES {
                hand_on(&mut w)?;
            }
        }
    }
    w.byte(op::EOF);
    hand_on(&mut w)?;
    let sum = if o.checksum { crc.value() } else { 0 };
    out(&sum.to_le_bytes())
}

/// `std::io::Write` over a function taking each piece.
struct Sink<'a>(&'a mut dyn FnMut(&[u8]) -> std::io::Result<()>);

impl std::io::Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (self.0)(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the file `fill` makes to `tmp` (`temp-<pid>.rdb`) in the working directory
/// (the configured `dir`), fsyncs it, and renames it to `filename`, so a crash never
/// leaves a half file there. `fill` hands its bytes on as it makes them; with
/// `autosync` they are flushed to disk as they go (`rdb-save-incremental-fsync`).
pub fn write_file(
    tmp: &str,
    filename: &str,
    autosync: bool,
    fill: impl FnOnce(&mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<(), String> {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let f = std::fs::File::create(tmp)
        .map_err(|e| format!("Failed opening the temp RDB file {tmp} (in server root dir {cwd}) for saving: {e}"))?;
    let mut f = SyncedFile::new(f, autosync);
    let res = fill(&mut |piece| f.write(piece)).and_then(|()| f.finish());
    if let Err(e) = res {
        let _ = std::fs::remove_file(tmp);
        return Err(format!("Write error saving DB on disk: {e}"));
    }
    install(Path::new(tmp), Path::new(filename))
}

/// Renames a complete, fsynced `tmp` over `dest` and syncs the directory entry; on
/// failure the temp file is removed.
pub fn install(tmp: &Path, dest: &Path) -> Result<(), String> {
    if let Err(e) = std::fs::rename(tmp, dest) {
        let _ = std::fs::remove_file(tmp);
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        return Err(format!(
            "Error moving temp DB file {} on the final destination {} (in server root dir {cwd}): {e}",
            tmp.display(),
            dest.display()
        ));
    }
    // The rename itself must survive a crash: sync the directory entry too.
    let _ = crate::util::fs::fsync_dir(crate::util::fs::parent_dir(dest));
    Ok(())
}

#[derive(Default, Debug)]
pub struct LoadStats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub empty_skipped: u64,
    pub redis_ver: Option<String>,
    pub ctime: Option<i64>,
    pub used_mem: Option<i64>,
    /// AUX aof-base set: the file is an AOF's base.
    pub aof_base: bool,
    /// Offset just past the file's checksum (an AOF may go on after it).
    pub end: usize,
    /// Function library codes (FUNCTION2 records), for the caller to load.
    pub functions: Vec<Vec<u8>>,
    /// AUX repl-id, repl-offset and repl-stream-db.
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    pub repl_stream_db: Option<i64>,
    /// Keys skipped as expired, by db, when the file records a replication history:
    /// a master that resumes it tells its replicas they are gone.
    pub expired: Vec<(usize, Vec<u8>)>,
}

impl LoadStats {
    /// The replication history the file's data is at, when the file names all of it.
    /// Redis compat: server.c loadDataFromDisk (rsi_is_valid).
    pub fn repl_history(&self) -> Option<(String, u64, usize)> {
        let id = self.repl_id.as_ref().filter(|id| id.len() == 40)?;
        let offset = u64::try_from(self.repl_offset?).ok()?;
        let db = usize::try_from(self.repl_stream_db?).ok()?;
        Some((id.clone(), offset, db))
    }
}

/// Loads a whole file into `dbs` (which should be empty). Keys whose expire time is
/// before `now_ms` are skipped. `verify`: check the CRC64 trailer unless it is zero.
pub fn load(data: &[u8], dbs: &mut [Db], now_ms: i64, lim: &Limits, verify: bool) -> Result<LoadStats, RdbError> {
    load_with(data, dbs, now_ms, lim, verify, false, &mut |_| {})
}

/// Bytes parsed between two updates of a load's running checksum.
const CRC_STEP: usize = 64 * 1024;

/// [`load`], optionally keeping keys whose expire time has passed (an AOF base is
/// loaded like that: they expire afterwards, as commands would have left them).
/// `on_key` runs after each key with the offset reached (progress, serving events).
pub fn load_with(
    data: &[u8],
    dbs: &mut [Db],
    now_ms: i64,
    lim: &Limits,
    verify: bool,
    keep_expired: bool,
    on_key: &mut dyn FnMut(usize),
) -> Result<LoadStats, RdbError> {
    let mut r = Reader::new(data);
    let magic = r
        .take(9)
        .map_err(|_| RdbError::corrupt("Short read or OOM loading DB"))?;
    if magic.get(..5) != Some(b"REDIS") {
        return Err(RdbError::corrupt("Wrong signature trying to load DB from file"));
    }
    let ver = std::str::from_utf8(magic.get(5..).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    if !(1..=RDB_VERSION).contains(&ver) {
        return Err(RdbError::corrupt(format!("Can't handle RDB format version {ver}")));
    }
    let mut st = LoadStats::default();
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let mut lru_idle: Option<u64> = None;
    let mut lfu_freq: Option<u8> = None;
    // The checksum follows the parse, over bytes just read (still in cache, and in
    // memory when the caller gives pages back behind `on_key`'s offset).
    let mut crc = crate::util::crc64::Crc64::default();
    let mut crc_pos = 0;
    // Each entry is added to its table once the next one was read (see `Pending`).
    let mut pending: Option<Pending> = None;
    loop {
        let t = r.byte()?;
        match t {
            op::EXPIRETIME => {
                expire = Some(r.u32_le()? as i64 * 1000);
                continue;
            }
            op::EXPIRETIME_MS => {
                expire = Some(r.i64_le()?);
                continue;
            }
            op::FREQ => {
                lfu_freq = Some(r.byte()?);
                continue;
            }
            op::IDLE => {
                lru_idle = Some(r.len()?);
                continue;
            }
            op::EOF => break,
            op::SELECTDB => {
                let id = r.count()?;
                if id >= dbs.len() {
                    return Err(RdbError::corrupt(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                        dbs.len()
                    )));
                }
                db = id;
                continue;
            }
            op::RESIZEDB => {
                r.len()?;
                r.len()?;
                continue;
            }
            op::AUX => {
                let k = r.string()?;
                let v = r.string()?;
                let text = String::from_utf8_lossy(&v).into_owned();
                match k.as_slice() {
                    b"redis-ver" => st.redis_ver = Some(text),
                    b"ctime" => st.ctime = text.parse().ok(),
                    b"used-mem" => st.used_mem = text.parse().ok(),
                    b"aof-base" => st.aof_base = text.parse::<i64>().is_ok_and(|v| v != 0),
                    b"repl-id" => st.repl_id = Some(text),
                    b"repl-offset" => st.repl_offset = text.parse().ok(),
                    b"repl-stream-db" => st.repl_stream_db = text.parse().ok(),
                    _ => {}
                }
                continue;
            }
            op::MODULE_AUX => {
                return Err(RdbError::Unsupported(
                    "The RDB file contains AUX module data I can't load: no matching module".into(),
                ))
            }
            op::FUNCTION2 => {
                st.functions.push(r.string()?);
                continue;
            }
            op::FUNCTION_PRE_GA => {
                return Err(RdbError::Unsupported(
                    "The RDB file contains functions, which are not supported yet".into(),
                ))
            }
            _ => {}
        }
        let key = r.string()?;
        // The key's table segment and bucket are most often cache misses: the segment
        // comes in while the value is read, the bucket while the next entry is.
        let h = dbs.get(db).map(|d| d.load_hash(&key, expire.is_some()));
        let val = read_value(&mut r, t, &key, lim)?;
        let (at, idle, freq) = (expire.take(), lru_idle.take(), lfu_freq.take());
        let Some(obj) = val else {
            // Redis compat: rdb.c rdbLoadRio logs the first ten.
            if st.empty_skipped < 10 {
                tracing::warn!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key));
            }
            st.empty_skipped += 1;
            continue;
        };
        if !keep_expired && at.is_some_and(|at| at < now_ms) {
            st.keys_expired += 1;
            if st.repl_id.is_some() {
                st.expired.push((db, key));
            }
            continue;
        }
        let (Some(d), Some(h)) = (dbs.get(db), h) else {
            return Err(RdbError::corrupt("Bad db index"));
        };
        let lru = saved_lru(idle, freq, d.lfu.is_some(), now_ms);
        d.load_prefetch(h, at.is_some());
        if let Some(prev) = pending.replace(Pending { db, h, obj, lru, at }) {
            prev.add(dbs, now_ms)?;
        }
        st.keys_loaded += 1;
        if verify && r.pos - crc_pos >= CRC_STEP {
            crc.update(r.consumed().get(crc_pos..).unwrap_or_default());
            crc_pos = r.pos;
        }
        on_key(r.pos);
    }
    if let Some(last) = pending.take() {
        last.add(dbs, now_ms)?;
    }
    if ver >= 5 {
        let expected = r.i64_le()? as u64;
        if verify && expected != 0 {
            crc.update(r.consumed().get(crc_pos..r.pos - 8).unwrap_or_default());
            let got = crc.value();
            if got != expected {
                tracing::warn!("Wrong RDB checksum expected: ({expected:x}) got ({got:x}). Aborting now.");
                return Err(RdbError::corrupt("RDB CRC error"));
            }
        }
    }
    st.end = r.pos;
    Ok(st)
}

/// A loaded entry waiting to be added to its db while the next one is read, so that
/// the cache miss on its table bucket (prefetched) is not waited for.
struct Pending {
    db: usize,
    h: u64,
    obj: Obj,
    lru: Option<u32>,
    at: Option<i64>,
}

impl Pending {
    fn add(self, dbs: &mut [Db], now_ms: i64) -> Result<(), RdbError> {
        let Some(d) = dbs.get_mut(self.db) else {
            return Err(RdbError::corrupt("Bad db index"));
        };
        d.load_add(self.h, self.obj, self.lru, self.at, now_ms).map_err(|o| {
            RdbError::corrupt(format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(o.key()),
                self.db
            ))
        })
    }
}

/// The LRU stamp a loaded (or RESTOREd) key starts with: under an LFU policy its saved
/// counter, under LRU its saved idle time; None keeps the fresh stamp.
/// Redis compat: object.c objectSetLRUOrLFU.
pub fn saved_lru(idle: Option<u64>, freq: Option<u8>, lfu: bool, now_ms: i64) -> Option<u32> {
    if lfu {
        return freq.map(|f| (Lfu::new_stamp(now_ms) & !0xff) | f as u32);
    }
    idle.map(|secs| {
        let clock = crate::db::lru_clock(now_ms) as u64;
        let max = crate::db::LRU_CLOCK_MAX as u64 + 1;
        ((clock + max - secs % max) % max) as u32
    })
}
