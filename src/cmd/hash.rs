//! Hash commands: field reads and writes, counters, HRANDFIELD and HSCAN. Small hashes
//! stay a listpack inside the entry until Redis's limits are passed (db::hash); a hash
//! left empty is deleted. Redis compat: t_hash.c.
use rand::rngs::SmallRng;
use rand::Rng;

use super::error::{self, CmdError, CmdResult};
use super::set::{collection_scan, note_write, reply_limit, ScanKind, COUNT_RANGE};
use super::spec::*;
use super::{Args, Ctx, Look};
use crate::db::hash::{new_hash, HashMut, HashRef};
use crate::db::Obj;
use crate::resp::ReplyBuf;
use crate::util::num;

const G: &str = "hash";

const NOT_INT_VALUE: CmdError = CmdError::new("ERR hash value is not an integer");
const NOT_FLOAT_VALUE: CmdError = CmdError::new("ERR hash value is not a float");
const NAN_OR_INF: CmdError = CmdError::new("ERR value is NaN or Infinity");
const OUT_OF_RANGE: CmdError = CmdError::new("ERR value is out of range");

type HashRead<'c> = (Option<HashRef<'c>>, &'c mut ReplyBuf, &'c mut SmallRng);

/// The hash at `key` for reading (hit/miss counted): None when absent.
fn read_hash<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<HashRead<'c>, CmdError> {
    let (o, out, rng) = ctx.read_parts(key, Look::Read);
    match o {
        None => Ok((None, out, rng)),
        Some(o) => Ok((Some(o.hash().ok_or(error::WRONGTYPE)?), out, rng)),
    }
}

/// Runs `f` on the hash at `key` for writing. An absent key is created (when `create`)
/// only if `f` succeeds and leaves it non-empty; a hash `f` empties is deleted.
/// Ok(None): the key is absent and `create` is false. The bool is true when the key
/// was deleted.
fn edit_hash<R>(
    ctx: &mut Ctx,
    key: &[u8],
    create: bool,
    f: impl FnOnce(&mut HashMut<'_>) -> Result<R, CmdError>,
) -> Result<Option<(R, bool)>, CmdError> {
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let db = ctx.db();
    if let Some(o) = db.get_mut(key, now) {
        let mut h = o.hash_mut(&lim).ok_or(error::WRONGTYPE)?;
        let r = f(&mut h)?;
        let empty = h.is_empty();
        if empty {
            db.remove(key);
        }
        return Ok(Some((r, empty)));
    }
    if !create {
        return Ok(None);
    }
    let mut o: Obj = new_hash(key);
    let r = match o.hash_mut(&lim) {
        Some(mut h) => f(&mut h)?,
        None => return Err(error::WRONGTYPE),
    };
    if o.hash().is_some_and(|h| !h.is_empty()) {
        db.add(o, now);
    }
    Ok(Some((r, false)))
}

fn hset_generic(ctx: &mut Ctx, a: &Args, name: &str) -> Result<usize, CmdError> {
    if a.len() % 2 == 1 {
        return Err(error::arity(name));
    }
    let pairs = a.rest(2);
    let created = edit_hash(ctx, a.at(1), true, |h| {
        // Redis compat: t_hash.c hashTypeTryConversion looks at every argument first.
        h.try_conversion(pairs);
        let mut created = 0;
        for p in pairs.chunks_exact(2) {
            if let [f, v] = p {
                created += usize::from(h.set(f, v));
            }
        }
        Ok(created)
    })?
    .map(|(n, _)| n)
    .unwrap_or(0);
    note_write(ctx, a.at(1), "hset", false, pairs.len() / 2);
    Ok(created)
}

fn hset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let n = hset_generic(ctx, a, "hset")?;
    ctx.out.int(n as i64);
    Ok(())
}

fn hmset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    hset_generic(ctx, a, "hmset")?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let (field, value) = (a.at(2), a.at(3));
    let set = edit_hash(ctx, a.at(1), true, |h| {
        if h.get(field).is_some() {
            return Ok(false);
        }
        h.try_conversion(&[field, value]);
        h.set(field, value);
        Ok(true)
    })?
    .is_some_and(|(s, _)| s);
    if set {
        note_write(ctx, a.at(1), "hset", false, 1);
    }
    ctx.out.int(set as i64);
    Ok(())
}

fn hget(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let field = a.at(2);
    let (h, out, _) = read_hash(ctx, a.at(1))?;
    let step = h.is_some_and(|h| h.rehashing());
    match h.and_then(|h| h.get(field)) {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
    super::step_after_lookups(ctx, step, a.at(1), 1)
}

fn hmget(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (h, out, _) = read_hash(ctx, a.at(1))?;
    let step = h.is_some_and(|h| h.rehashing());
    let fields = a.rest(2);
    out.array(fields.len());
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    super::step_after_lookups(ctx, step, a.at(1), fields.len())
}

fn hdel(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let fields = a.rest(2);
    let r = edit_hash(ctx, a.at(1), false, |h| {
        let mut n = 0;
        for f in fields {
            if h.del(f) {
                n += 1;
                // Redis compat: t_hash.c hdelCommand stops once the hash is empty.
                if h.is_empty() {
                    break;
                }
            }
        }
        Ok(n)
    })?;
    let (n, removed) = r.unwrap_or((0, false));
    if n > 0 {
        note_write(ctx, a.at(1), "hdel", removed, n);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (h, out, _) = read_hash(ctx, a.at(1))?;
    out.int(h.map(|h| h.len()).unwrap_or(0) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let field = a.at(2);
    let (h, out, _) = read_hash(ctx, a.at(1))?;
    let step = h.is_some_and(|h| h.rehashing());
    out.int(h.and_then(|h| h.get(field)).map(|v| v.len()).unwrap_or(0) as i64);
    super::step_after_lookups(ctx, step, a.at(1), 1)
}

fn hexists(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let field = a.at(2);
    let (h, out, _) = read_hash(ctx, a.at(1))?;
    let step = h.is_some_and(|h| h.rehashing());
    out.int(h.is_some_and(|h| h.get(field).is_some()) as i64);
    super::step_after_lookups(ctx, step, a.at(1), 1)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Keys,
    Vals,
    Both,
}

fn getall_generic(ctx: &mut Ctx, a: &Args, part: Part) -> CmdResult {
    let (h, out, _) = read_hash(ctx, a.at(1))?;
    let n = h.map(|h| h.len()).unwrap_or(0);
    if part == Part::Both {
        out.map(n);
    } else {
        out.array(n);
    }
    let Some(h) = h else {
        return Ok(());
    };
    for (f, v) in h.iter() {
        if part != Part::Vals {
            out.bulk(f);
        }
        if part != Part::Keys {
            out.bulk(v);
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx, a: &Args) -> CmdResult {
    getall_generic(ctx, a, Part::Keys)
}

fn hvals(ctx: &mut Ctx, a: &Args) -> CmdResult {
    getall_generic(ctx, a, Part::Vals)
}

fn hgetall(ctx: &mut Ctx, a: &Args) -> CmdResult {
    getall_generic(ctx, a, Part::Both)
}

fn hincrby(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let incr = a.i64(3)?;
    let field = a.at(2);
    let r = edit_hash(ctx, a.at(1), true, |h| {
        let cur = match h.get(field) {
            Some(v) => num::parse_i64(v).ok_or(NOT_INT_VALUE)?,
            None => 0,
        };
        let new = cur.checked_add(incr).ok_or(error::OVERFLOW)?;
        let mut buf = Vec::with_capacity(24);
        num::fmt_i64(new, &mut buf);
        h.set(field, &buf);
        Ok(new)
    })?;
    let new = r.map(|(n, _)| n).unwrap_or(0);
    note_write(ctx, a.at(1), "hincrby", false, 1);
    ctx.out.int(new);
    Ok(())
}

/// True when `s` spells an infinity (as strtold reads it), which Redis refuses as an
/// increment; a finite literal too large for a double is still a valid long double.
fn is_inf_literal(s: &[u8]) -> bool {
    let t = s.strip_prefix(b"+").or_else(|| s.strip_prefix(b"-")).unwrap_or(s);
    t.eq_ignore_ascii_case(b"inf") || t.eq_ignore_ascii_case(b"infinity")
}

fn hincrbyfloat(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let incr = a.at(3);
    num::parse_long_double(incr).ok_or(error::NOT_FLOAT)?;
    if is_inf_literal(incr) {
        return Err(NAN_OR_INF);
    }
    let field = a.at(2);
    let r = edit_hash(ctx, a.at(1), true, |h| {
        let cur = match h.get(field) {
            Some(v) => {
                num::parse_long_double(v).ok_or(NOT_FLOAT_VALUE)?;
                v.to_vec()
            }
            None => b"0".to_vec(),
        };
        // Redis compat: t_hash.c adds in long double and prints with ld2string HUMAN.
        let buf = crate::util::ld::add(&cur, incr).map_err(|e| match e {
            crate::util::ld::LdError::NotFloat => NOT_FLOAT_VALUE,
            crate::util::ld::LdError::NotFinite => error::INCR_NAN,
        })?;
        h.set(field, &buf);
        Ok(buf)
    })?;
    let buf = r.map(|(b, _)| b).unwrap_or_default();
    note_write(ctx, a.at(1), "hincrbyfloat", false, 1);
    // Redis compat: t_hash.c hincrbyfloatCommand replicates the result as HSET.
    ctx.propagate_as(&[b"HSET".as_slice(), a.at(1), field, &buf]);
    ctx.out.bulk(&buf);
    Ok(())
}

/// Redis compat: t_hash.c HRANDFIELD_SUB_STRATEGY_MUL.
const SUB_STRATEGY_MUL: u64 = 3;

/// Writes one HRANDFIELD element: RESP3 nests field/value pairs.
fn rand_reply(out: &mut ReplyBuf, withvalues: bool, f: &[u8], v: &[u8]) {
    if withvalues && out.resp3 {
        out.array(2);
    }
    out.bulk(f);
    if withvalues {
        out.bulk(v);
    }
}

fn hrandfield(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.db().rehash_value(a.at(1));
    if a.len() < 3 {
        let (h, out, rng) = read_hash(ctx, a.at(1))?;
        match h.and_then(|h| h.random(rng)) {
            Some((f, _)) => out.bulk(f),
            None => out.null(),
        }
        return Ok(());
    }
    let l = a.i64(2)?;
    if l == i64::MIN {
        return Err(COUNT_RANGE);
    }
    if a.len() > 4 || (a.len() == 4 && !a.is(3, "withvalues")) {
        return Err(error::SYNTAX);
    }
    let withvalues = a.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(OUT_OF_RANGE);
    }
    hrandfield_count(ctx, a, l, withvalues)
}

fn hrandfield_count(ctx: &mut Ctx, a: &Args, l: i64, withvalues: bool) -> CmdResult {
    // Cut short past the output limit: the client is then dropped after this command
    // (see server::call).
    let limit = reply_limit(ctx);
    hrandfield_reply(ctx, a, l, withvalues, limit)?;
    Ok(())
}

/// Writes HRANDFIELD's reply for a count; true when it was cut short at `limit` bytes.
fn hrandfield_reply(ctx: &mut Ctx, a: &Args, l: i64, withvalues: bool, limit: usize) -> Result<bool, CmdError> {
    let (o, out, rng) = ctx.read_parts(a.at(1), Look::Read);
    let Some(o) = o else {
        out.array(0);
        return Ok(false);
    };
    let h = o.hash().ok_or(error::WRONGTYPE)?;
    let size = h.len() as u64;
    let uniq = l >= 0;
    let count = l.unsigned_abs();
    if count == 0 {
        out.array(0);
        return Ok(false);
    }
    let per = if withvalues && !out.resp3 { 2 } else { 1 };
    let mut overflow = false;
    // CASE 1: repeats allowed (or a single pick): sample with replacement.
    if !uniq || count == 1 {
        out.array((count as usize).saturating_mul(per));
        match h {
            HashRef::Lp(_) => {
                let all: Vec<(&[u8], &[u8])> = h.iter().collect();
                if all.is_empty() {
                    return Ok(false);
                }
                for i in 0..count {
                    if let Some(&(f, v)) = all.get(rng.random_range(0..all.len())) {
                        rand_reply(out, withvalues, f, v);
                    }
                    if i % 1024 == 1023 && out.len() > limit {
                        overflow = true;
                        break;
                    }
                }
            }
            HashRef::Dict(_) => {
                for i in 0..count {
                    if let Some((f, v)) = h.random(rng) {
                        rand_reply(out, withvalues, f, v);
                    }
                    if i % 1024 == 1023 && out.len() > limit {
                        overflow = true;
                        break;
                    }
                }
            }
        }
        return Ok(overflow);
    }
    let n = count.min(size) as usize;
    out.array(n.saturating_mul(per));
    // CASE 2: asked for at least everything: the whole hash.
    if count >= size {
        for (f, v) in h.iter() {
            rand_reply(out, withvalues, f, v);
        }
        return Ok(false);
    }
    // CASE 3: most of the hash: drop random elements from a copy.
    if count * SUB_STRATEGY_MUL > size {
        let mut all: Vec<(&[u8], &[u8])> = h.iter().collect();
        while all.len() > n {
            let i = rng.random_range(0..all.len());
            all.swap_remove(i);
        }
        for (f, v) in all {
            rand_reply(out, withvalues, f, v);
        }
        return Ok(false);
    }
    // CASE 4: a few of many.
    match h {
        HashRef::Lp(_) => {
            // Selection sampling over the listpack: distinct, in listpack order.
            let mut need = n;
            let mut left = size as usize;
            for (f, v) in h.iter() {
                if need == 0 {
                    break;
                }
                if rng.random_range(0..left) < need {
                    rand_reply(out, withvalues, f, v);
                    need -= 1;
                }
                left -= 1;
            }
        }
        HashRef::Dict(_) => {
            let mut seen = std::collections::HashSet::with_capacity(n);
            while seen.len() < n {
                let Some((f, v)) = h.random(rng) else {
                    break;
                };
                if seen.insert(f) {
                    rand_reply(out, withvalues, f, v);
                }
            }
        }
    }
    Ok(false)
}

fn hscan(ctx: &mut Ctx, a: &Args) -> CmdResult {
    collection_scan(ctx, a, ScanKind::Hash)
}

const RW_UPD: u32 = KS_RW | KS_UPDATE;
const RW_AU: u32 = KS_RW | KS_ACCESS | KS_UPDATE;
const RO_A: u32 = KS_RO | KS_ACCESS;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("hset", -4, WRITE | DENYOOM | FAST, ACL_HASH, hset).keys(1, 1, 1, RW_UPD).doc(
        G,
        "2.0.0",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        "Sets fields of a hash, creating it if needed; replies how many fields were new.",
    ),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, ACL_HASH, hsetnx).keys(1, 1, 1, KS_RW | KS_INSERT).doc(
        G,
        "2.0.0",
        "O(1)",
        "Sets a hash field only when it does not exist yet.",
    ),
    cmd("hget", 3, READONLY | FAST, ACL_HASH, hget).keys(1, 1, 1, RO_A).doc(
        G,
        "2.0.0",
        "O(1)",
        "Returns the value of a hash field.",
    ),
    cmd("hmget", -3, READONLY | FAST, ACL_HASH, hmget).keys(1, 1, 1, RO_A).doc(
        G,
        "2.0.0",
        "O(N) where N is the number of fields being requested.",
        "Returns the values of several hash fields.",
    ),
    cmd("hmset", -4, WRITE | DENYOOM | FAST, ACL_HASH, hmset).keys(1, 1, 1, RW_UPD).doc(
        G,
        "2.0.0",
        "O(N) where N is the number of fields being set.",
        "Sets fields of a hash (deprecated: HSET takes several pairs).",
    ),
    cmd("hdel", -3, WRITE | FAST, ACL_HASH, hdel).keys(1, 1, 1, KS_RW | KS_DELETE).doc(
        G,
        "2.0.0",
        "O(N) where N is the number of fields to be removed.",
        "Deletes hash fields; the hash goes when its last field does.",
    ),
    cmd("hlen", 2, READONLY | FAST, ACL_HASH, hlen).keys(1, 1, 1, KS_RO).doc(
        G,
        "2.0.0",
        "O(1)",
        "Returns the number of fields of a hash.",
    ),
    cmd("hstrlen", 3, READONLY | FAST, ACL_HASH, hstrlen).keys(1, 1, 1, KS_RO).doc(
        G,
        "3.2.0",
        "O(1)",
        "Returns the length of a hash field's value.",
    ),
    cmd("hexists", 3, READONLY | FAST, ACL_HASH, hexists).keys(1, 1, 1, KS_RO).doc(
        G,
        "2.0.0",
        "O(1)",
        "Tells whether a hash field exists.",
    ),
    cmd("hkeys", 2, READONLY, ACL_HASH, hkeys)
        .keys(1, 1, 1, RO_A)
        .doc(G, "2.0.0", "O(N) where N is the size of the hash.", "Returns every field name of a hash.")
        .tips(&["nondeterministic_output_order"]),
    cmd("hvals", 2, READONLY, ACL_HASH, hvals)
        .keys(1, 1, 1, RO_A)
        .doc(G, "2.0.0", "O(N) where N is the size of the hash.", "Returns every value of a hash.")
        .tips(&["nondeterministic_output_order"]),
    cmd("hgetall", 2, READONLY, ACL_HASH, hgetall)
        .keys(1, 1, 1, RO_A)
        .doc(G, "2.0.0", "O(N) where N is the size of the hash.", "Returns every field and value of a hash.")
        .tips(&["nondeterministic_output_order"]),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST, ACL_HASH, hincrby).keys(1, 1, 1, RW_AU).doc(
        G,
        "2.0.0",
        "O(1)",
        "Adds an integer to a hash field's value.",
    ),
    cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, ACL_HASH, hincrbyfloat).keys(1, 1, 1, RW_AU).doc(
        G,
        "2.6.0",
        "O(1)",
        "Adds a floating point number to a hash field's value.",
    ),
    cmd("hrandfield", -2, READONLY, ACL_HASH, hrandfield)
        .keys(1, 1, 1, RO_A)
        .doc(
            G,
            "6.2.0",
            "O(N) where N is the number of fields returned",
            "Returns random fields of a hash, optionally with their values.",
        )
        .tips(&["nondeterministic_output"]),
    cmd("hscan", -3, READONLY, ACL_HASH, hscan)
        .keys(1, 1, 1, RO_A)
        .doc(
            G,
            "2.8.0",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
            "Iterates over the fields and values of a hash.",
        )
        .tips(&["nondeterministic_output"]),
];
