//! Set commands (membership, random picks, the algebra and its STORE forms, SSCAN) and
//! the collection SCANs shared with hashes and sorted sets. Integer-only small sets stay
//! an intset until Redis's limit is passed (db::set); a set left empty is deleted.
//! Redis compat: t_set.c, db.c scanGenericCommand.
use std::borrow::Cow;
use std::collections::HashSet;

use rand::rngs::SmallRng;
use rand::Rng;

use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx, Look};
use crate::db::hash::HashRef;
use crate::db::set::{new_set, set_from, set_from_unique, SetMut, SetRef};
use crate::db::zset::ZSetRef;
use crate::db::{Obj, ValueRef};
use crate::ds::dash::DashKey;
use crate::ds::dict::{self, Dict};
use crate::resp::ReplyBuf;
use crate::util::glob::glob_match;
use crate::util::num;

const G: &str = "set";

const TOO_MANY_KEYS: CmdError = CmdError::new("ERR Number of keys can't be greater than number of args");
const INVALID_CURSOR: CmdError = CmdError::new("ERR invalid cursor");
const LIMIT_NEG: CmdError = CmdError::new("ERR LIMIT can't be negative");
pub(super) const COUNT_RANGE: CmdError =
    CmdError::new("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");

/// Records a write: `event` on `key`, then `del` when the write emptied and deleted it.
/// The dirty counter ends up `dirty` higher, as Redis counts (one per element changed).
pub(super) fn note_write(ctx: &mut Ctx, key: &[u8], event: &str, removed: bool, dirty: usize) {
    ctx.modified_n(key, event, dirty.max(1));
    if removed {
        ctx.signal(key, "del");
    }
}

/// Reply bytes past which a reply of client-chosen length is abandoned and the client
/// dropped: the normal class's hard output limit (which counts what is past the client's
/// own reply buffer), or 1 GiB when that is unlimited.
pub(super) fn reply_limit(ctx: &Ctx) -> usize {
    match ctx.srv.cfg.obuf_limits.first() {
        Some(l) if l.hard > 0 => l.hard as usize + crate::server::client::REPLY_STATIC_BYTES,
        _ => 1 << 30,
    }
}

/// The set at `key` for reading: Ok(None) when absent.
fn read_set<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<(Option<SetRef<'c>>, &'c mut ReplyBuf, &'c mut SmallRng), CmdError> {
    let (o, out, rng) = ctx.read_parts(key, Look::Read);
    match o {
        None => Ok((None, out, rng)),
        Some(o) => Ok((Some(o.set().ok_or(error::WRONGTYPE)?), out, rng)),
    }
}

/// Runs `f` on the set at `key` for writing. When absent and `create` gives a first
/// member, a set in that member's encoding is made and kept if `f` leaves it non-empty.
/// A set `f` empties is deleted. Ok(None): absent and not created; the bool is true
/// when the key was deleted.
fn edit_set<R>(
    ctx: &mut Ctx,
    key: &[u8],
    create: Option<&[u8]>,
    f: impl FnOnce(&mut SetMut<'_>, &mut SmallRng) -> R,
) -> Result<Option<(R, bool)>, CmdError> {
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let srv = &mut *ctx.srv;
    let rng = &mut srv.rng;
    let Some(db) = srv.dbs.get_mut(ctx.db) else {
        return Ok(None);
    };
    if let Some(o) = db.get_mut(key, now) {
        let mut s = o.set_mut(&lim).ok_or(error::WRONGTYPE)?;
        let r = f(&mut s, rng);
        let empty = s.is_empty();
        if empty {
            db.remove(key);
        }
        return Ok(Some((r, empty)));
    }
    let Some(first) = create else {
        return Ok(None);
    };
    let mut o = new_set(key, first, &lim);
    let r = match o.set_mut(&lim) {
        Some(mut s) => f(&mut s, rng),
        None => return Err(error::WRONGTYPE),
    };
    if o.set().is_some_and(|s| !s.is_empty()) {
        db.add(o, now);
    }
    Ok(Some((r, false)))
}

fn sadd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let members = a.rest(2);
    let added = edit_set(ctx, a.at(1), Some(a.at(2)), |s, _| {
        members.iter().filter(|m| s.add(m)).count()
    })?
    .map(|(n, _)| n)
    .unwrap_or(0);
    if added > 0 {
        note_write(ctx, a.at(1), "sadd", false, added);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let members = a.rest(2);
    let (n, removed) = edit_set(ctx, a.at(1), None, |s, _| {
        let mut n = 0;
        for m in members {
            if s.remove(m) {
                n += 1;
                if s.is_empty() {
                    break;
                }
            }
        }
        n
    })?
    .unwrap_or((0, false));
    if n > 0 {
        note_write(ctx, a.at(1), "srem", removed, n);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// lookupKeyWrite for a type check: None when absent, else whether it is a set.
fn set_check(ctx: &mut Ctx, key: &[u8]) -> Option<bool> {
    let now = ctx.now_ms;
    ctx.db().get_mut(key, now).map(|o| o.set().is_some())
}

fn smove(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (src, dst, m) = (a.at(1), a.at(2), a.at(3));
    let src_kind = set_check(ctx, src);
    let dst_kind = set_check(ctx, dst);
    // Redis compat: t_set.c smoveCommand answers 0 for a missing source before any
    // type check.
    let Some(src_is_set) = src_kind else {
        ctx.out.int(0);
        return Ok(());
    };
    if !src_is_set || dst_kind == Some(false) {
        return Err(error::WRONGTYPE);
    }
    if src == dst {
        let now = ctx.now_ms;
        let is = ctx
            .db()
            .get(src, now)
            .and_then(|o| o.set())
            .is_some_and(|s| s.contains(m));
        ctx.out.int(is as i64);
        return Ok(());
    }
    let (gone, src_removed) = edit_set(ctx, src, None, |s, _| s.remove(m))?.unwrap_or((false, false));
    if !gone {
        ctx.out.int(0);
        return Ok(());
    }
    note_write(ctx, src, "srem", src_removed, 1);
    let added = edit_set(ctx, dst, Some(m), |s, _| s.add(m))?.is_some_and(|(x, _)| x);
    if added {
        note_write(ctx, dst, "sadd", false, 1);
    }
    ctx.out.int(1);
    Ok(())
}

fn sismember(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let m = a.at(2);
    let (s, out, _) = read_set(ctx, a.at(1))?;
    let step = s.is_some_and(|s| s.rehashing());
    out.int(s.is_some_and(|s| s.contains(m)) as i64);
    super::step_after_lookups(ctx, step, a.at(1), 1)
}

fn smismember(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (s, out, _) = read_set(ctx, a.at(1))?;
    let step = s.is_some_and(|s| s.rehashing());
    let ms = a.rest(2);
    out.array(ms.len());
    match s {
        Some(s) => s.contains_each(ms).into_iter().for_each(|f| out.int(i64::from(f))),
        None => ms.iter().for_each(|_| out.int(0)),
    }
    super::step_after_lookups(ctx, step, a.at(1), ms.len())
}

fn scard(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (s, out, _) = read_set(ctx, a.at(1))?;
    out.int(s.map(|s| s.len()).unwrap_or(0) as i64);
    Ok(())
}

fn spop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 3 {
        return spop_count(ctx, a);
    }
    if a.len() > 3 {
        return Err(error::SYNTAX);
    }
    let key = a.at(1);
    match edit_set(ctx, key, None, |s, rng| s.pop(rng))? {
        Some((Some(m), removed)) => {
            // Redis compat: t_set.c spopCommand announces the pop, replies, then
            // announces the set's deletion.
            ctx.modified(key, "spop");
            ctx.hold_own_events();
            if removed {
                ctx.signal(key, "del");
            }
            // Redis compat: t_set.c spopCommand: the random pick is replayed as SREM.
            ctx.propagate_as(&[b"SREM".as_slice(), key, &m]);
            ctx.out.bulk(&m);
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

/// Redis compat: t_set.c SPOP_MOVE_STRATEGY_MUL.
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

fn spop_count(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let count = match num::parse_i64(a.at(2)) {
        Some(c) if c >= 0 => c as u64,
        _ => return Err(error::NOT_POSITIVE),
    };
    let key = a.at(1);
    let mut members = ctx.propagating().then(Vec::new);
    if let Some((popped, deleted)) = spop_reply(ctx, key, count, members.as_mut())? {
        note_write(ctx, key, "spop", deleted, popped);
        // Redis compat: t_set.c spopWithCountCommand (7.0): the whole set goes as DEL
        // (whether or not it is freed lazily), a part of it as one SREM per member.
        if deleted {
            ctx.propagate_as(&[b"DEL".as_slice(), key]);
        } else if let Some(ms) = members {
            for m in &ms {
                ctx.also_propagate(&[b"SREM".as_slice(), key, m]);
            }
            ctx.no_propagate();
        }
    }
    Ok(())
}

/// Pops `count` members and replies them; Some((popped, key deleted)) when any were.
/// With `collect`, the popped members are also kept there (for propagation).
fn spop_reply(
    ctx: &mut Ctx,
    key: &[u8],
    count: u64,
    mut collect: Option<&mut Vec<Vec<u8>>>,
) -> Result<Option<(usize, bool)>, CmdError> {
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let srv = &mut *ctx.srv;
    let rng = &mut srv.rng;
    let out = &mut *ctx.out;
    let Some(db) = srv.dbs.get_mut(ctx.db) else {
        return Ok(None);
    };
    let Some(o) = db.get_mut(key, now) else {
        out.set(0);
        return Ok(None);
    };
    let Some(mut s) = o.set_mut(&lim) else {
        return Err(error::WRONGTYPE);
    };
    if count == 0 {
        out.set(0);
        return Ok(None);
    }
    let size = s.len() as u64;
    let popped = count.min(size) as usize;
    let mut deleted = false;
    if count >= size {
        // CASE 1: everything goes. Redis replies it through SUNION's code, whose lookup
        // for reading counts a keyspace hit (t_set.c spopWithCountCommand).
        srv.stats.keyspace_hits += 1;
        if let Some(v) = s.view() {
            out.set(v.len());
            for m in v.iter() {
                out.bulk(&m);
            }
        }
        db.remove(key);
        deleted = true;
    } else if (size - count) * SPOP_MOVE_STRATEGY_MUL > count {
        // CASE 2: a few of many: pop them one by one.
        out.set(popped);
        for _ in 0..popped {
            if let Some(m) = s.pop(rng) {
                out.bulk(&m);
                if let Some(c) = collect.as_mut() {
                    c.push(m.to_vec());
                }
            }
        }
    } else {
        // CASE 3: most of the set: pick the few that stay into a new set and hand
        // out what is left of the old one.
        let mut keep = Vec::with_capacity((size - count) as usize);
        for _ in count..size {
            if let Some(m) = s.pop(rng) {
                keep.push(m);
            }
        }
        out.set(popped);
        if let Some(v) = s.view() {
            for m in v.iter() {
                out.bulk(&m);
                if let Some(c) = collect.as_mut() {
                    c.push(m.to_vec());
                }
            }
        }
        let n = set_from(key, keep.iter().map(|m| m.as_slice()), &lim);
        db.set(n, true, now);
    }
    Ok(Some((popped, deleted)))
}

/// Redis compat: t_set.c SRANDMEMBER_SUB_STRATEGY_MUL.
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;

fn srandmember(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.db().rehash_value(a.at(1));
    if a.len() == 3 {
        return srandmember_count(ctx, a);
    }
    if a.len() > 3 {
        return Err(error::SYNTAX);
    }
    let (s, out, rng) = read_set(ctx, a.at(1))?;
    match s.and_then(|s| s.random(rng)) {
        Some(m) => out.bulk(&m),
        None => out.null(),
    }
    Ok(())
}

fn srandmember_count(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let l = a.i64(2)?;
    if l == i64::MIN {
        return Err(COUNT_RANGE);
    }
    let limit = reply_limit(ctx);
    let (s, out, rng) = read_set(ctx, a.at(1))?;
    let Some(s) = s else {
        out.array(0);
        return Ok(());
    };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let size = s.len() as u64;
    // CASE 1: repeats allowed (or a single pick).
    if !uniq || count == 1 {
        out.array(count as usize);
        // A packed set's members are found by walking it: walk it once.
        let packed: Vec<Cow<[u8]>> = match s {
            SetRef::Lp(_) => s.iter().collect(),
            _ => Vec::new(),
        };
        for i in 0..count {
            let pick = match packed.len() {
                0 => s.random(rng),
                n => packed.get(rng.random_range(0..n)).cloned(),
            };
            if let Some(m) = pick {
                out.bulk(&m);
            }
            // Past the output limit the client is dropped after this command (see
            // server::call): stop producing a reply nobody will get.
            if i % 1024 == 1023 && out.len() > limit {
                break;
            }
        }
        return Ok(());
    }
    // CASE 2: at least the whole set.
    if count >= size {
        out.array(size as usize);
        for m in s.iter() {
            out.bulk(&m);
        }
        return Ok(());
    }
    let n = count as usize;
    out.array(n);
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // CASE 3: most of the set: drop random members from a copy.
        let mut all: Vec<Cow<[u8]>> = s.iter().collect();
        while all.len() > n {
            let i = rng.random_range(0..all.len());
            all.swap_remove(i);
        }
        for m in &all {
            out.bulk(m);
        }
    } else {
        // CASE 4: a few of many: random picks until enough distinct ones.
        let mut seen: std::collections::HashSet<Cow<[u8]>> = std::collections::HashSet::with_capacity(n);
        while seen.len() < n {
            let Some(m) = s.random(rng) else {
                break;
            };
            if !seen.contains(&m) {
                out.bulk(&m);
                seen.insert(m);
            }
        }
    }
    Ok(())
}

/// Looks every key up once (lookupKeyRead), failing on the first non-set. Returns each
/// key's cardinality, None for a missing key.
fn lookup_sets(ctx: &mut Ctx, keys: &[&[u8]]) -> Result<Vec<Option<usize>>, CmdError> {
    let mut sizes = Vec::with_capacity(keys.len());
    for k in keys {
        let (o, _, _) = ctx.read_parts(k, Look::Read);
        sizes.push(match o {
            None => None,
            Some(o) => Some(o.set().ok_or(error::WRONGTYPE)?.len()),
        });
    }
    Ok(sizes)
}

/// A set already looked up (no LRU touch, no stats).
fn peek_set<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<SetRef<'c>> {
    let now = ctx.now_ms;
    ctx.srv.dbs.get_mut(ctx.db)?.peek(key, now)?.set()
}

/// The members of `first`, borrowed from it, that every one of `others` has (`keep`),
/// or that none of them has; a missing set has no members. Each set is readied for the
/// tests left to make against it (`SetRef::probe`).
fn sieve<'d>(
    first: Option<SetRef<'d>>,
    others: impl Iterator<Item = Option<SetRef<'d>>>,
    keep: bool,
) -> Vec<Cow<'d, [u8]>> {
    let mut cand: Vec<Cow<[u8]>> = first.map(|s| s.iter().collect()).unwrap_or_default();
    for s in others {
        if cand.is_empty() {
            break;
        }
        match s {
            Some(s) => {
                let s = s.probe(cand.len());
                cand.retain(|m| s.contains(m) == keep);
            }
            None if keep => cand.clear(),
            None => {}
        }
    }
    cand
}

/// Stores a computed set at `dst` (replacing whatever was there, TTL dropped), or
/// deletes `dst` when the result is empty; replies the cardinality.
fn store_result(ctx: &mut Ctx, dst: &[u8], res: Obj, event: &str) {
    let n = res.set().map(|s| s.len()).unwrap_or(0);
    if n > 0 {
        ctx.store_value(dst, res, event, 1);
    } else if ctx.db().remove(dst) {
        // Past its TTL or not (Redis compat: db.c dbDelete does not look at TTLs).
        ctx.modified(dst, "del");
    }
    ctx.out.int(n as i64);
}

fn reply_set(out: &mut ReplyBuf, s: Option<SetRef>) {
    let Some(s) = s else {
        out.set(0);
        return;
    };
    out.set(s.len());
    match s {
        SetRef::Int(ints) => {
            // Digits on the stack: no allocation per member.
            let mut buf = [0u8; 24];
            for v in ints.iter() {
                out.bulk(num::i64_digits(v, &mut buf));
            }
        }
        SetRef::Lp(_) | SetRef::Dict(_) => {
            for m in s.iter() {
                out.bulk(&m);
            }
        }
    }
}

/// SINTER, SMEMBERS, SINTERCARD (`card`, `limit` 0 = none) and SINTERSTORE (`dst`).
/// Redis compat: t_set.c sinterGenericCommand.
fn sinter_generic(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, card: bool, limit: u64) -> CmdResult {
    let sizes = lookup_sets(ctx, keys)?;
    let empty = sizes.iter().any(|s| s.is_none());
    if empty {
        if let Some(dst) = dst {
            let lim = ctx.limits();
            store_result(ctx, dst, set_from(dst, std::iter::empty(), &lim), "sinterstore");
        } else if card {
            ctx.out.int(0);
        } else {
            ctx.out.set(0);
        }
        return Ok(());
    }
    // Redis deletes the destination before replying when a source is missing, and
    // replies before storing or deleting otherwise.
    if dst.is_some() {
        ctx.hold_own_events();
    } else if !card {
        // Redis compat: t_set.c sinterGenericCommand writes a deferred length.
        ctx.out.mark_deferred();
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| sizes.get(i).copied().flatten().unwrap_or(0));
    let Some(first) = order.first().and_then(|&i| keys.get(i)).copied() else {
        return Ok(());
    };
    let others: Vec<&[u8]> = order
        .iter()
        .skip(1)
        .filter_map(|&i| keys.get(i).copied())
        .filter(|k| *k != first)
        .collect();
    if others.is_empty() && dst.is_none() && !card {
        // SMEMBERS and friends: stream the one set.
        let now = ctx.now_ms;
        let s = ctx
            .srv
            .dbs
            .get_mut(ctx.db)
            .and_then(|d| d.peek(first, now))
            .and_then(|o| o.set());
        reply_set(ctx.out, s);
        return Ok(());
    }
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let Some(db) = ctx.srv.dbs.get(ctx.db) else {
        return Ok(());
    };
    let set = |k: &[u8]| db.peek_ref(k, now).and_then(|o| o.set());
    if card {
        // Counted as met, stopping at the limit: nothing is gathered.
        let first = set(first);
        let probes = first.map_or(0, |s| s.len());
        let others: Vec<_> = others.iter().filter_map(|k| set(k)).map(|s| s.probe(probes)).collect();
        let mut n = 0u64;
        for m in first.iter().flat_map(|s| s.iter()) {
            if others.iter().all(|s| s.contains(&m)) {
                n += 1;
                if n == limit {
                    break;
                }
            }
        }
        ctx.out.int(n as i64);
        return Ok(());
    }
    // Members of the smallest set that every other has.
    let cand = sieve(set(first), others.iter().map(|k| set(k)), true);
    if let Some(dst) = dst {
        let res = set_from_unique(dst, cand.iter().map(|m| &**m), &lim);
        drop(cand);
        store_result(ctx, dst, res, "sinterstore");
    } else {
        ctx.out.set(cand.len());
        for m in &cand {
            ctx.out.bulk(m);
        }
    }
    Ok(())
}

fn sinter(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sinter_generic(ctx, a.rest(1), None, false, 0)
}

fn smembers(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sinter_generic(ctx, a.rest(1), None, false, 0)
}

fn sinterstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sinter_generic(ctx, a.rest(2), Some(a.at(1)), false, 0)
}

fn sintercard(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let numkeys = match num::parse_i64(a.at(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(error::NUMKEYS),
    };
    if numkeys > (a.len() - 2) as u64 {
        return Err(TOO_MANY_KEYS);
    }
    let nk = numkeys as usize;
    let mut limit = 0u64;
    let mut j = 2 + nk;
    while j < a.len() {
        if a.is(j, "limit") && j + 1 < a.len() {
            limit = match num::parse_i64(a.at(j + 1)) {
                Some(l) if l >= 0 => l as u64,
                _ => return Err(LIMIT_NEG),
            };
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let keys = a.argv.get(2..2 + nk).unwrap_or_default();
    sinter_generic(ctx, keys, None, true, limit)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// SUNION, SDIFF and their STORE forms. Redis compat: t_set.c sunionDiffGenericCommand.
fn sunion_diff(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, op: Op) -> CmdResult {
    let sizes = lookup_sets(ctx, keys)?;
    let lim = ctx.limits();
    let first = keys.first().copied().unwrap_or_default();
    let first_size = sizes.first().copied().flatten();
    let sameset = first_size.is_some() && keys.iter().skip(1).any(|k| *k == first);
    let mut res = set_from(dst.unwrap_or_default(), std::iter::empty(), &lim);
    match op {
        Op::Union => {
            // Members gathered without duplicates first (borrowed from their sets), so
            // that the result is built with no look-up per member.
            let now = ctx.now_ms;
            if let Some(db) = ctx.srv.dbs.get(ctx.db) {
                let total = sizes.iter().flatten().sum::<usize>();
                let mut seen = HashSet::with_capacity_and_hasher(total, ahash::RandomState::new());
                for s in keys.iter().filter_map(|k| db.peek_ref(k, now).and_then(|o| o.set())) {
                    seen.extend(s.iter());
                }
                res = set_from_unique(dst.unwrap_or_default(), seen.iter().map(|m: &Cow<[u8]>| &**m), &lim);
            }
        }
        Op::Diff if sameset => {}
        Op::Diff => {
            if let Some(n0) = first_size {
                // Redis compat: pick the algorithm that should do less work.
                let present = sizes.iter().flatten().count();
                let total: usize = sizes.iter().flatten().sum();
                let algo_one = (n0 * present / 2) <= total;
                if algo_one {
                    // Check each member of the first set against the others, larger
                    // sets first so duplicates are found sooner.
                    let mut rest: Vec<(usize, &[u8])> = keys
                        .iter()
                        .zip(&sizes)
                        .skip(1)
                        .filter_map(|(k, s)| s.map(|n| (n, *k)))
                        .collect();
                    rest.sort_by_key(|r| std::cmp::Reverse(r.0));
                    let now = ctx.now_ms;
                    if let Some(db) = ctx.srv.dbs.get(ctx.db) {
                        let set = |k: &[u8]| db.peek_ref(k, now).and_then(|o| o.set());
                        let cand = sieve(set(first), rest.iter().map(|&(_, k)| set(k)), false);
                        res = set_from_unique(dst.unwrap_or_default(), cand.iter().map(|m| &**m), &lim);
                    }
                } else {
                    // Add the first set, then remove every member of the others.
                    let mut left = 0usize;
                    for (j, k) in keys.iter().enumerate() {
                        let Some(s) = peek_set(ctx, k) else {
                            continue;
                        };
                        if let Some(mut r) = res.set_mut(&lim) {
                            for m in s.iter() {
                                if j == 0 {
                                    r.add(&m);
                                } else {
                                    r.remove(&m);
                                }
                            }
                            left = r.len();
                        }
                        if left == 0 {
                            break;
                        }
                    }
                }
            }
        }
    }
    match dst {
        Some(dst) => {
            let event = if op == Op::Union { "sunionstore" } else { "sdiffstore" };
            store_result(ctx, dst, res, event);
        }
        None => reply_set(ctx.out, res.set()),
    }
    Ok(())
}

fn sunion(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sunion_diff(ctx, a.rest(1), None, Op::Union)
}

fn sunionstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    sunion_diff(ctx, a.rest(2), Some(a.at(1)), Op::Union)
}

fn sdiff(ctx: &mut Ctx, a: &Args) -> CmdResult {
    sunion_diff(ctx, a.rest(1), None, Op::Diff)
}

fn sdiffstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    sunion_diff(ctx, a.rest(2), Some(a.at(1)), Op::Diff)
}

/// Which collection a SCAN variant walks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ScanKind {
    Hash,
    Set,
    ZSet,
}

/// One SCAN call over a dict: buckets until `count` elements were seen (counted before
/// any MATCH filter, as Redis does) or ten times that many buckets were visited.
fn scan_dict<T: DashKey>(d: &Dict<T>, mut cursor: u64, count: usize, mut visit: impl FnMut(&T) -> usize) -> u64 {
    let mut seen = 0usize;
    let mut budget = count.saturating_mul(10);
    loop {
        cursor = d.scan_step(cursor, |e| seen += visit(e));
        if cursor == 0 || budget == 0 || seen >= count {
            return cursor;
        }
        budget -= 1;
    }
}

/// One SCAN call over a packed set of strings as over the hash table Redis 7.0 keeps
/// every such set in: members go to the bucket their hash picks in a table of the size
/// that many inserts give a `Dict`, and buckets are visited in cursor order until `count`
/// members were seen or ten times that many buckets were visited (see `scan_dict`). So a
/// client paging with COUNT gets pages, and a cursor keeps its meaning if the set turns
/// into a `Dict` between calls.
fn scan_packed_set<'v>(
    members: impl Iterator<Item = &'v [u8]>,
    mut cursor: u64,
    count: usize,
    mut visit: impl FnMut(&'v [u8]),
) -> u64 {
    let mut by_hash: Vec<(u64, &[u8])> = members.map(|m| (dict::hash_bytes(m), m)).collect();
    let mask = dict::buckets_after_inserts(by_hash.len()) as u64 - 1;
    by_hash.sort_by_key(|e| e.0 & mask);
    let mut seen = 0usize;
    let mut budget = count.saturating_mul(10);
    loop {
        let b = cursor & mask;
        let from = by_hash.partition_point(|e| e.0 & mask < b);
        for &(_, m) in by_hash
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|e| e.0 & mask == b)
        {
            visit(m);
            seen += 1;
        }
        cursor = dict::scan_next(cursor, mask);
        if cursor == 0 || budget == 0 || seen >= count {
            return cursor;
        }
        budget -= 1;
    }
}

/// A SCAN cursor as C's strtoul reads it: optional sign (a negative value wraps
/// around), decimal digits, nothing after them, no leading space, no overflow; the
/// empty string is cursor 0. Redis compat: db.c parseScanCursorOrReply.
pub(super) fn parse_scan_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..).unwrap_or_default()),
        Some(b'+') => (false, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    };
    if digits.is_empty() {
        // strtoul consumes nothing: only an empty argument ends where it stopped.
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// COUNT and MATCH of a collection SCAN (TYPE is for the keyspace only).
/// Redis compat: db.c scanGenericCommand.
fn parse_scan_options<'a>(a: &Args<'a>) -> Result<(usize, Option<&'a [u8]>), CmdError> {
    let o = super::keyspace::parse_scan(a, 2, false)?;
    Ok((o.count, o.pattern))
}

/// One SCAN call over a collection value: the next cursor and the elements to reply
/// (flat pairs for hashes and sorted sets), filtered by `pat` on fields/members.
fn scan_value<'v>(v: ValueRef<'v>, cursor: u64, count: usize, pat: Option<&[u8]>) -> (u64, Vec<Cow<'v, [u8]>>) {
    let keep = |k: &[u8]| pat.is_none_or(|p| glob_match(p, k, false));
    let mut items: Vec<Cow<[u8]>> = Vec::new();
    let mut next = 0u64;
    let pairs_count = count.saturating_mul(2);
    match v {
        ValueRef::Set(SetRef::Int(s)) => {
            for x in s.iter() {
                let m = x.to_string().into_bytes();
                if keep(&m) {
                    items.push(Cow::Owned(m));
                }
            }
        }
        ValueRef::Set(SetRef::Lp(l)) => {
            next = scan_packed_set(l.iter(), cursor, count, |m| {
                if keep(m) {
                    items.push(Cow::Borrowed(m));
                }
            });
        }
        ValueRef::Set(SetRef::Dict(d)) => {
            next = scan_dict(d, cursor, count, |m| {
                if keep(m.bytes()) {
                    items.push(Cow::Owned(m.bytes().to_vec()));
                }
                1
            });
        }
        ValueRef::Hash(h) => match h {
            HashRef::Dict(d) => {
                next = scan_dict(d, cursor, pairs_count, |p| {
                    if keep(p.field()) {
                        items.push(Cow::Owned(p.field().to_vec()));
                        items.push(Cow::Owned(p.value().to_vec()));
                    }
                    2
                });
            }
            HashRef::Lp(_) => {
                for (f, val) in h.iter() {
                    if keep(f) {
                        items.push(Cow::Borrowed(f));
                        items.push(Cow::Borrowed(val));
                    }
                }
            }
        },
        ValueRef::ZSet(z) => {
            let score = |s: f64| {
                let mut b = Vec::with_capacity(24);
                num::fmt_f64(s, &mut b);
                Cow::Owned(b)
            };
            match z {
                ZSetRef::Full(full) => {
                    next = scan_dict(full.dict(), cursor, pairs_count, |e| {
                        if keep(e.member()) {
                            items.push(Cow::Owned(e.member().to_vec()));
                            items.push(score(e.score()));
                        }
                        2
                    });
                }
                ZSetRef::Lp(_) => {
                    for (m, s) in z.iter_from(0) {
                        if keep(m) {
                            items.push(Cow::Borrowed(m));
                            items.push(score(s));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    (next, items)
}

/// HSCAN, SSCAN and ZSCAN. Compact encodings Redis 7.0 has (listpack hashes and sorted
/// sets, intsets) are returned whole with cursor 0; dicts and packed sets of strings
/// (`scan_packed_set`) are walked with a reverse-binary cursor. Hashes and sorted sets reply
/// flat field/value (member/score) pairs, scores as `%.17g` strings.
/// Redis compat: db.c scanGenericCommand (cursor, then key, then type, then options).
pub(super) fn collection_scan(ctx: &mut Ctx, a: &Args, kind: ScanKind) -> CmdResult {
    let cursor = parse_scan_cursor(a.at(2)).ok_or(INVALID_CURSOR)?;
    let (o, out, _) = ctx.read_parts(a.at(1), Look::Read);
    let Some(o) = o else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let v = o.value();
    let ok = matches!(
        (kind, v),
        (ScanKind::Hash, ValueRef::Hash(_)) | (ScanKind::Set, ValueRef::Set(_)) | (ScanKind::ZSet, ValueRef::ZSet(_))
    );
    if !ok {
        return Err(error::WRONGTYPE);
    }
    let (count, pattern) = parse_scan_options(a)?;
    let (next, items) = scan_value(v, cursor, count, pattern);
    out.array(2);
    let mut c = Vec::with_capacity(24);
    if next > i64::MAX as u64 {
        c = next.to_string().into_bytes();
    } else {
        num::fmt_i64(next as i64, &mut c);
    }
    out.bulk(&c);
    out.array(items.len());
    for i in &items {
        out.bulk(i);
    }
    Ok(())
}

fn sscan(ctx: &mut Ctx, a: &Args) -> CmdResult {
    collection_scan(ctx, a, ScanKind::Set)
}

fn zscan(ctx: &mut Ctx, a: &Args) -> CmdResult {
    collection_scan(ctx, a, ScanKind::ZSet)
}

const RO_A: u32 = KS_RO | KS_ACCESS;
const SCAN_COMPLEXITY: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..";

pub const COMMANDS: &[CommandSpec] = &[
    cmd("sadd", -3, WRITE | DENYOOM | FAST, ACL_SET, sadd).keys(1, 1, 1, KS_RW | KS_INSERT).doc(
        G,
        "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "Adds members to a set, creating it if needed; replies how many were new.",
    ),
    cmd("srem", -3, WRITE | FAST, ACL_SET, srem).keys(1, 1, 1, KS_RW | KS_DELETE).doc(
        G,
        "1.0.0",
        "O(N) where N is the number of members to be removed.",
        "Removes members from a set; the set goes when its last member does.",
    ),
    cmd("smembers", 2, READONLY, ACL_SET, smembers)
        .keys(1, 1, 1, RO_A)
        .doc(G, "1.0.0", "O(N) where N is the set cardinality.", "Returns every member of a set.")
        .tips(&["nondeterministic_output_order"]),
    cmd("sismember", 3, READONLY | FAST, ACL_SET, sismember).keys(1, 1, 1, KS_RO).doc(
        G,
        "1.0.0",
        "O(1)",
        "Tells whether a value is a member of a set.",
    ),
    cmd("smismember", -3, READONLY | FAST, ACL_SET, smismember).keys(1, 1, 1, RO_A).doc(
        G,
        "6.2.0",
        "O(N) where N is the number of elements being checked for membership",
        "Tells, for each of several values, whether it is a member of a set.",
    ),
    cmd("scard", 2, READONLY | FAST, ACL_SET, scard).keys(1, 1, 1, KS_RO).doc(
        G,
        "1.0.0",
        "O(1)",
        "Returns the number of members of a set.",
    ),
    cmd("spop", -2, WRITE | FAST, ACL_SET, spop)
        .keys(1, 1, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(
            G,
            "1.0.0",
            "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
            "Removes and returns random members of a set.",
        )
        .tips(&["nondeterministic_output"]),
    cmd("srandmember", -2, READONLY, ACL_SET, srandmember)
        .keys(1, 1, 1, RO_A)
        .doc(
            G,
            "1.0.0",
            "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
            "Returns random members of a set, distinct for a positive count, possibly repeated for a negative one.",
        )
        .tips(&["nondeterministic_output"]),
    cmd("smove", 4, WRITE | FAST, ACL_SET, smove)
        .specs(MOVE_SPECS).keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE).other_keys(KS_RW | KS_INSERT).doc(
        G,
        "1.0.0",
        "O(1)",
        "Moves a member from one set to another.",
    ),
    cmd("sinter", -2, READONLY, ACL_SET, sinter)
        .keys(1, -1, 1, RO_A)
        .doc(
            G,
            "1.0.0",
            "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            "Returns the intersection of sets.",
        )
        .tips(&["nondeterministic_output_order"]),
    cmd("sintercard", -3, READONLY | MOVABLE_KEYS, ACL_SET, sintercard)
        .specs(READ_NUMKEYS).keys_with(keys_numkeys_1, KS_RO | KS_ACCESS).doc(
        G,
        "7.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "Returns the size of the intersection of sets, optionally stopping at a limit.",
    ),
    cmd("sunion", -2, READONLY, ACL_SET, sunion)
        .keys(1, -1, 1, RO_A)
        .doc(
            G,
            "1.0.0",
            "O(N) where N is the total number of elements in all given sets.",
            "Returns the union of sets.",
        )
        .tips(&["nondeterministic_output_order"]),
    cmd("sdiff", -2, READONLY, ACL_SET, sdiff)
        .keys(1, -1, 1, RO_A)
        .doc(
            G,
            "1.0.0",
            "O(N) where N is the total number of elements in all given sets.",
            "Returns the members of the first set that are in none of the others.",
        )
        .tips(&["nondeterministic_output_order"]),
    cmd("sinterstore", -3, WRITE | DENYOOM, ACL_SET, sinterstore)
        .specs(SINTERSTORE_SPECS)
        .keys(1, -1, 1, KS_RW | KS_UPDATE)
        .other_keys(KS_RO | KS_ACCESS)
        .doc(
            G,
            "1.0.0",
            "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            "Stores the intersection of sets in a key.",
        ),
    cmd("sunionstore", -3, WRITE | DENYOOM, ACL_SET, sunionstore)
        .specs(STORE_FROM_REST)
        .keys(1, -1, 1, KS_OW | KS_UPDATE)
        .other_keys(KS_RO | KS_ACCESS)
        .doc(
            G,
            "1.0.0",
            "O(N) where N is the total number of elements in all given sets.",
            "Stores the union of sets in a key.",
        ),
    cmd("sdiffstore", -3, WRITE | DENYOOM, ACL_SET, sdiffstore)
        .specs(STORE_FROM_REST)
        .keys(1, -1, 1, KS_OW | KS_UPDATE)
        .other_keys(KS_RO | KS_ACCESS)
        .doc(
            G,
            "1.0.0",
            "O(N) where N is the total number of elements in all given sets.",
            "Stores the difference of sets in a key.",
        ),
    cmd("sscan", -3, READONLY, ACL_SET, sscan)
        .keys(1, 1, 1, RO_A)
        .doc(G, "2.8.0", SCAN_COMPLEXITY, "Iterates over the members of a set.")
        .tips(&["nondeterministic_output"]),
    cmd("zscan", -3, READONLY, ACL_SORTEDSET, zscan)
        .keys(1, 1, 1, RO_A)
        .doc("sorted-set", "2.8.0", SCAN_COMPLEXITY, "Iterates over the members and scores of a sorted set.")
        .tips(&["nondeterministic_output"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::zset::new_zset;
    use crate::db::Limits;
    use std::collections::HashMap;

    fn zset(n: usize) -> Obj {
        let lim = Limits::default();
        let mut o = new_zset(b"z", n, 8, &lim);
        {
            let mut z = o.zset_mut(&lim).unwrap();
            for i in 0..n {
                z.insert(format!("key:{i}").as_bytes(), i as f64);
            }
        }
        o
    }

    /// Runs a whole SCAN iteration; returns member -> score text and the call count.
    fn scan_all(o: &Obj, count: usize, pat: Option<&[u8]>) -> (HashMap<Vec<u8>, Vec<u8>>, usize) {
        let mut seen = HashMap::new();
        let (mut cursor, mut calls) = (0u64, 0);
        loop {
            let (next, items) = scan_value(o.value(), cursor, count, pat);
            calls += 1;
            for p in items.chunks(2) {
                seen.insert(p[0].to_vec(), p[1].to_vec());
            }
            cursor = next;
            if cursor == 0 {
                return (seen, calls);
            }
        }
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+7"), Some(7));
        assert_eq!(parse_scan_cursor(b"007"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"-0"), Some(0));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"x",
            b"-",
            b"+",
            b"0x10",
            b"1.0",
        ] {
            assert_eq!(parse_scan_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn zscan_listpack_is_one_call_with_scores() {
        // Ported from tests/unit/scan.tcl "ZSCAN with encoding listpack".
        let o = zset(30);
        assert_eq!(o.encoding_name(), "listpack");
        let (seen, calls) = scan_all(&o, 10, None);
        assert_eq!((seen.len(), calls), (30, 1));
        assert_eq!(seen[&b"key:7"[..]], b"7");
    }

    #[test]
    fn zscan_skiplist_walks_the_dict() {
        // Ported from tests/unit/scan.tcl "ZSCAN with encoding skiplist".
        let o = zset(1000);
        assert_eq!(o.encoding_name(), "skiplist");
        let (seen, calls) = scan_all(&o, 10, None);
        assert_eq!(seen.len(), 1000);
        assert!(calls > 1);
        for (m, s) in &seen {
            assert_eq!(m, format!("key:{}", String::from_utf8_lossy(s)).as_bytes());
        }
        let (seen, _) = scan_all(&o, 100, Some(b"key:1??"));
        assert_eq!(seen.len(), 100);
    }

    #[test]
    fn zscan_scores_keep_full_precision() {
        // Ported from tests/unit/scan.tcl "ZSCAN scores: regression test for issue #2175".
        let lim = Limits::default();
        let mut o = new_zset(b"z", 500, 3, &lim);
        {
            let mut z = o.zset_mut(&lim).unwrap();
            // The smallest subnormals: printed with every digit %.17g gives.
            let tiny: f64 = "9.8813129168249309e-323".parse().unwrap();
            for i in 0..500 {
                z.insert(i.to_string().as_bytes(), tiny);
                z.insert(b"x", 1.5);
            }
        }
        let (seen, _) = scan_all(&o, 1000, None);
        assert_eq!(seen[&b"0"[..]], b"9.8813129168249309e-323");
        assert_eq!(seen[&b"x"[..]], b"1.5");
    }
}
