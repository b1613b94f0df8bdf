//! Persistence commands: SAVE, BGSAVE, DUMP, RESTORE. The snapshot machinery lives in
//! server::persist, the format in persist::rdb; DUMP payloads are one RDB value plus the
//! RDB version (u16 LE) and a CRC64 (LE) of everything before it. Redis compat: rdb.c,
//! cluster.c (dumpCommand, restoreCommand, verifyDumpPayload).
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::persist::rdb::file::saved_lru;
use crate::persist::rdb::prim::{Reader, Writer};
use crate::persist::rdb::value::{read_value, type_of, write_value};
use crate::persist::rdb::RDB_VERSION;
use crate::util::crc64::crc64;

const G: &str = "server";
const GK: &str = "generic";

fn save(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    if ctx.srv.bgsave_in_progress() {
        return Err(error::BGSAVE_RUNNING);
    }
    ctx.srv.rdb.saves += 1;
    ctx.srv.save_sync().map_err(|_| error::GENERIC_ERR)?;
    ctx.out.ok();
    Ok(())
}

fn bgsave(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // SCHEDULE only matters while another child runs (AOF rewrite); we have none.
    if a.len() > 1 && !(a.len() == 2 && a.is(1, "schedule")) {
        return Err(error::SYNTAX);
    }
    if ctx.srv.bgsave_in_progress() {
        return Err(error::BGSAVE_RUNNING);
    }
    // Redis compat: rdb.c bgsaveCommand: while a rewrite runs (or inside EXEC) a save
    // can only be scheduled.
    if ctx.srv.has_active_child() || ctx.srv.in_exec {
        if a.len() == 2 || ctx.srv.in_exec {
            ctx.srv.rdb.scheduled = true;
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::new("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."));
    }
    ctx.srv.bgsave_start().map_err(|_| error::GENERIC_ERR)?;
    ctx.srv.rdb.saves += 1;
    ctx.out.simple("Background saving started");
    Ok(())
}

fn bgrewriteaof(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    match ctx.srv.bgrewriteaof() {
        Ok(msg) => {
            ctx.out.simple(msg);
            Ok(())
        }
        Err(e) => Err(CmdError::new(e)),
    }
}

/// The DUMP payload of one entry. Redis compat: cluster.c createDumpPayload.
pub fn dump_payload(o: &crate::db::Obj, compress: bool) -> Vec<u8> {
    let mut w = Writer::new(compress);
    w.byte(type_of(o));
    write_value(&mut w, o);
    w.bytes(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&w.buf);
    w.bytes(&crc.to_le_bytes());
    w.buf
}

/// The value part of a payload whose version and checksum are right.
/// Redis compat: cluster.c verifyDumpPayload.
fn verify_payload(p: &[u8], skip_checksum: bool) -> Option<&[u8]> {
    let body_len = p.len().checked_sub(10)?;
    let ver = u16::from_le_bytes([*p.get(body_len)?, *p.get(body_len + 1)?]);
    if ver > RDB_VERSION {
        return None;
    }
    if skip_checksum {
        return p.get(..body_len);
    }
    let crc = u64::from_le_bytes(p.get(body_len + 2..)?.try_into().ok()?);
    (crc64(p.get(..body_len + 2)?) == crc)
        .then(|| p.get(..body_len))
        .flatten()
}

fn dump(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let compress = ctx.srv.cfg.get("rdbcompression").is_some_and(|v| v == "yes");
    let payload = ctx.read_key(a.at(1)).map(|o| dump_payload(o, compress));
    match payload {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
    Ok(())
}

fn restore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < a.len() {
        let more = a.len() - j - 1;
        if a.is(j, "replace") {
            replace = true;
        } else if a.is(j, "absttl") {
            absttl = true;
        } else if a.is(j, "idletime") && more >= 1 && freq.is_none() {
            let v = a.i64(j + 1)?;
            if v < 0 {
                return Err(error::BAD_IDLETIME);
            }
            idle = Some(v);
            j += 1;
        } else if a.is(j, "freq") && more >= 1 && idle.is_none() {
            let v = a.i64(j + 1)?;
            if !(0..=255).contains(&v) {
                return Err(error::BAD_FREQ);
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let key = a.at(1);
    let now = ctx.now_ms;
    if !replace && ctx.db().exists(key, now) {
        return Err(error::BUSYKEY);
    }
    let mut ttl = a.i64(2)?;
    if ttl < 0 {
        return Err(error::BAD_TTL);
    }
    let body = verify_payload(a.at(3), ctx.srv.skip_checksum_validation).ok_or(error::DUMP_PAYLOAD)?;
    let lim = ctx.limits();
    let mut r = Reader::new(body);
    let obj = match r.byte().map(|t| read_value(&mut r, t, key, &lim)) {
        Ok(Ok(Some(o))) => o,
        Ok(Err(e)) | Err(e) => {
            // Redis compat: rdb.c rdbReportError logs a RESTORE failure at verbose level.
            tracing::debug!("{}", e.log_line(0));
            return Err(error::BAD_DATA);
        }
        Ok(Ok(None)) => return Err(error::BAD_DATA),
    };
    let deleted = replace && ctx.db().remove(key);
    if ttl > 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    if ttl > 0 && ttl <= now {
        // Already expired: nothing is created (the old value, if replaced, is gone).
        if deleted {
            ctx.modified(key, "del");
            ctx.propagate_as(&[b"DEL".as_slice(), key]);
        }
        ctx.out.ok();
        return Ok(());
    }
    ctx.db().add(obj, now);
    if ttl > 0 {
        ctx.db().set_expire(key, ttl);
        // Redis compat: cluster.c restoreCommand propagates the TTL as absolute time.
        if !absttl && ctx.propagating() {
            let mut v: Vec<Vec<u8>> = a.argv.iter().map(|x| x.to_vec()).collect();
            v[2] = ttl.to_string().into_bytes();
            v.push(b"ABSTTL".to_vec());
            ctx.propagate_as(&v);
        }
    }
    let lfu = ctx.srv.cfg.maxmemory_policy.is_lfu();
    let lru = saved_lru(idle.map(|v| v as u64), freq.map(|f| f as u8), lfu, now);
    if let Some(l) = lru {
        ctx.db().set_lru_of(key, l);
    }
    ctx.modified(key, "restore");
    ctx.out.ok();
    Ok(())
}

pub const COMMANDS: &[CommandSpec] = &[
    cmd("save", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, ACL_ADMIN | ACL_DANGEROUS, save)
        .doc(G, "1.0.0", "O(N) where N is the total number of keys in all databases", "Synchronously saves the database(s) to disk."),
    cmd("bgsave", -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, ACL_ADMIN | ACL_DANGEROUS, bgsave)
        .doc(G, "1.0.0", "O(N) where N is the total number of keys in all databases", "Asynchronously saves the database(s) to disk."),
    cmd("bgrewriteaof", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, ACL_ADMIN | ACL_DANGEROUS, bgrewriteaof)
        .doc(G, "1.0.0", "O(1)", "Asynchronously rewrites the append-only file to disk."),
    cmd("dump", 2, READONLY, ACL_KEYSPACE, dump)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(GK, "2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", "Returns a serialized representation of the value stored at a key.")
        .tips(&["nondeterministic_output"]),
    cmd("restore", -4, WRITE | DENYOOM, ACL_KEYSPACE | ACL_DANGEROUS, restore)
        .keys(1, 1, 1, KS_OW | KS_UPDATE)
        .doc(GK, "2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "Creates a key from the serialized representation of a value."),
    // What a cluster node sends during a slot migration; without cluster mode, RESTORE.
    cmd("restore-asking", -4, WRITE | DENYOOM | ASKING, ACL_KEYSPACE | ACL_DANGEROUS, restore)
        .keys(1, 1, 1, KS_OW | KS_UPDATE)
        .doc("server", "3.0.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size.", "An internal command for migrating keys in a cluster."),
];
