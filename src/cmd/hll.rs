//! HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST. An HLL is a plain
//! string in Redis's exact byte layout (ds::hll), so its bytes move freely between
//! ferrodis and Redis with GET/SET.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::db::{Obj, ValueRef};
use crate::ds::hll::{self, HllError, Registers};

const G: &str = "hyperloglog";

fn hll_err(e: HllError) -> CmdError {
    CmdError::new(e.reply())
}

/// A string key's bytes for an HLL read (a counted lookup for reading): Ok(None) when
/// absent; WRONGTYPE for other types, Redis's HLL error for strings that are not HLLs.
fn read_hll<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a [u8]>, CmdError> {
    hll_of(ctx.read_key(key))
}

/// The bytes of `o` if it is an HLL (see `read_hll`).
fn hll_of(o: Option<&Obj>) -> Result<Option<&[u8]>, CmdError> {
    match o.map(|o| o.value()) {
        None => Ok(None),
        Some(ValueRef::Str(s)) => {
            hll::validate(s).map_err(hll_err)?;
            Ok(Some(s))
        }
        Some(_) => Err(error::WRONGTYPE),
    }
}

/// Runs `f` on a stored value's bytes for an in-place HLL edit, after checking it is a
/// valid HLL (WRONGTYPE / Redis's HLL error otherwise). The value becomes `raw`, as
/// Redis's dbUnshareStringValue makes it, and stays inline while small (`Obj::edit_str`).
fn edit_stored<R>(o: &mut Obj, f: impl FnOnce(&mut Vec<u8>) -> R) -> Result<R, CmdError> {
    match o.value() {
        ValueRef::Str(s) => hll::validate(s).map_err(hll_err)?,
        _ => return Err(error::WRONGTYPE),
    }
    o.edit_str(f).ok_or(error::WRONGTYPE)
}

/// Runs `f` on the HLL at `key` for in-place edits, creating it empty (sparse) when
/// absent; one lookup when it exists. Returns `f`'s result and whether it was created.
fn edit_hll<R>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&mut Vec<u8>) -> Result<R, CmdError>,
) -> Result<(R, bool), CmdError> {
    let now = ctx.now_ms;
    let db = &mut ctx.srv.dbs[ctx.db];
    if let Some(o) = db.get_mut(key, now) {
        return Ok((edit_stored(o, f)??, false));
    }
    let mut h = hll::new_sparse();
    hll::invalidate_cache(&mut h);
    // Redis compat: hyperloglog.c creates the key before adding, so it stays even when
    // an add then fails.
    let r = f(&mut h);
    db.add(Obj::new_raw(key, &h), now);
    Ok((r?, true))
}

/// Runs `f` on the stored HLL at `key` for in-place edits (the cached count, PFDEBUG
/// conversions): Ok(None) when absent. One lookup.
fn edit_existing<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Vec<u8>) -> R) -> Result<Option<R>, CmdError> {
    let now = ctx.now_ms;
    ctx.db().get_mut(key, now).map(|o| edit_stored(o, f)).transpose()
}

fn sparse_max(ctx: &Ctx) -> usize {
    ctx.srv.cfg.hll_sparse_max_bytes
}

fn pfadd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.at(1);
    let max = sparse_max(ctx);
    let (added, created) = edit_hll(ctx, key, |h| {
        let mut n = 0u64;
        for e in a.rest(2) {
            // Redis compat: hyperloglog.c pfaddCommand replies the error at once,
            // without signalling the (possibly partial) change.
            n += hll::add(h, e, max).map_err(hll_err)? as u64;
        }
        Ok(n)
    })?;
    // Creating the key counts as an update, even with no elements.
    let updated = added + created as u64;
    if updated > 0 {
        ctx.modified(key, "pfadd");
        ctx.dirty(updated - 1);
    }
    ctx.out.int((updated > 0) as i64);
    Ok(())
}

fn pfcount(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 2 {
        // The cardinality of the union; no key is changed.
        let mut regs = Registers::new();
        for k in a.rest(1) {
            if let Some(h) = read_hll(ctx, k)? {
                regs.merge(h).map_err(hll_err)?;
            }
        }
        ctx.out.int(regs.count() as i64);
        return Ok(());
    }
    // One lookup, for writing as the cached cardinality may change, counted as Redis's
    // lookup for reading.
    let key = a.at(1);
    let counted = match edit_existing(ctx, key, |h| hll::count_cached(h)) {
        Ok(None) => {
            ctx.count_lookup(key, false, true);
            ctx.out.int(0);
            return Ok(());
        }
        Ok(Some(r)) => r.map_err(hll_err),
        Err(e) => Err(e),
    };
    ctx.hit(true);
    let (card, cache_written) = counted?;
    if cache_written {
        // The cached cardinality is part of the value: a write, without an event.
        let db = ctx.db;
        ctx.srv.dirty += 1;
        ctx.srv.key_changed(db, key, Some(ctx.cid));
    }
    ctx.out.int(card as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut regs = Registers::new();
    for k in a.rest(1) {
        if let Some(h) = read_hll(ctx, k)? {
            regs.merge(h).map_err(hll_err)?;
        }
    }
    let key = a.at(1);
    let max = sparse_max(ctx);
    edit_hll(ctx, key, |h| regs.write_into(h, max).map_err(hll_err))?;
    ctx.modified(key, "pfadd");
    ctx.out.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let sub = String::from_utf8_lossy(a.at(1)).into_owned();
    let key = a.at(2);
    let missing = CmdError::new("ERR The specified key does not exist");
    let now = ctx.now_ms;
    if hll_of(ctx.db().get(key, now))?.is_none() {
        return Err(missing);
    }
    let lower = sub.to_ascii_lowercase();
    if !matches!(lower.as_str(), "getreg" | "decode" | "encoding" | "todense") {
        return Err(CmdError::owned(format!("ERR Unknown PFDEBUG subcommand '{sub}'")));
    }
    if a.len() != 3 {
        return Err(CmdError::owned(format!(
            "ERR Wrong number of arguments for the '{sub}' subcommand"
        )));
    }
    let sub = lower.as_str();
    let reply = edit_existing(ctx, key, |h| -> Result<DebugReply, HllError> {
        Ok(match sub {
            "getreg" => DebugReply::Registers(hll::to_dense(h)?, hll::registers(h)?),
            "decode" => DebugReply::Text(hll::decode_sparse(h)?),
            "encoding" => DebugReply::Name(hll::encoding_name(h)?),
            _ => DebugReply::Dense(hll::to_dense(h)?),
        })
    })?
    .ok_or(missing)?
    .map_err(hll_err)?;
    match reply {
        DebugReply::Registers(converted, regs) => {
            ctx.dirty(converted as u64);
            ctx.out.array(regs.len());
            for r in regs {
                ctx.out.int(r as i64);
            }
        }
        DebugReply::Text(text) => ctx.out.bulk(text.as_bytes()),
        DebugReply::Name(name) => ctx.out.simple(name),
        DebugReply::Dense(converted) => {
            ctx.dirty(converted as u64);
            ctx.out.int(converted as i64);
        }
    }
    Ok(())
}

/// What a PFDEBUG subcommand answers; `bool`: whether the HLL was made dense.
enum DebugReply {
    Registers(bool, Vec<u8>),
    Text(String),
    Name(&'static str),
    Dense(bool),
}

fn pfselftest(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    hll::selftest(sparse_max(ctx)).map_err(CmdError::owned)?;
    ctx.out.ok();
    Ok(())
}

pub const COMMANDS: &[CommandSpec] = &[
    cmd("pfadd", -2, WRITE | DENYOOM | FAST, ACL_HYPERLOGLOG, pfadd)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(G, "2.8.9", "O(1) to add every element.", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist."),
    cmd("pfcount", -2, READONLY | MAY_REPLICATE, ACL_HYPERLOGLOG, pfcount)
        .keys(1, -1, 1, KS_RW | KS_ACCESS)
        .doc(G, "2.8.9", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s)."),
    cmd("pfmerge", -2, WRITE | DENYOOM, ACL_HYPERLOGLOG, pfmerge)
        .specs(PFMERGE_SPECS)
        .keys(1, -1, 1, KS_RW | KS_ACCESS | KS_INSERT)
        .other_keys(KS_RO | KS_ACCESS)
        .doc(G, "2.8.9", "O(N) to merge N HyperLogLogs, but with high constant times.", "Merges one or more HyperLogLog values into a single key."),
    cmd("pfdebug", 3, WRITE | DENYOOM | ADMIN, ACL_HYPERLOGLOG, pfdebug)
        .keys(2, 2, 1, KS_RW | KS_ACCESS)
        .doc(G, "2.8.9", "N/A", "Internal commands for debugging HyperLogLog values."),
    cmd("pfselftest", 1, ADMIN, ACL_HYPERLOGLOG, pfselftest)
        .doc(G, "2.8.9", "N/A", "An internal command for testing HyperLogLog values."),
];
