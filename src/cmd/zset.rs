//! Sorted-set commands: ZADD/ZINCRBY, scores and ranks, the ZRANGE family (by rank, score
//! or lex, forward or reversed, ZRANGESTORE), range removal and counting. Pops (blocking
//! too) and ZRANDMEMBER live in `pop`, the multi-key algebra (ZUNION/ZINTER/ZDIFF and
//! their STORE forms, ZINTERCARD) in `algebra`. A sorted set left empty is deleted.
//! Redis compat: t_zset.c.
mod algebra;
mod pop;

use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx, Look};
use crate::db::zset::{new_zset, LexBound, ScoreBound, ZSetRef};
use crate::db::{Db, Obj};
use crate::resp::ReplyBuf;
use crate::util::num;

const G: &str = "sorted-set";
const Z: u64 = ACL_SORTEDSET;

pub(super) const RANGE_NOT_FLOAT: CmdError = CmdError::new("ERR min or max is not a float");
pub(super) const RANGE_NOT_LEX: CmdError = CmdError::new("ERR min or max not valid string range item");
const NAN_RESULT: CmdError = CmdError::new("ERR resulting score is not a number (NaN)");

// ---------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------

/// Read lookup (counted, see `Ctx::read_parts`): Ok(None) when absent, WRONGTYPE when
/// the key is not a sorted set. Also hands back the reply buffer, which is borrowed
/// apart from the keyspace so a handler can stream from the set straight into it.
fn read<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Result<(Option<ZSetRef<'a>>, &'a mut ReplyBuf), CmdError> {
    match ctx.read_parts(key, Look::Read) {
        (None, out, _) => Ok((None, out)),
        (Some(o), out, _) => match o.zset() {
            Some(z) => Ok((Some(z), out)),
            None => Err(error::WRONGTYPE),
        },
    }
}

/// Write lookup: Ok(None) when absent, WRONGTYPE when not a sorted set.
fn write<'a>(db: &'a mut Db, now: i64, key: &[u8]) -> Result<Option<&'a mut Obj>, CmdError> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(o) if o.zset().is_some() => Ok(Some(o)),
        Some(_) => Err(error::WRONGTYPE),
    }
}

/// Deletes `key` if its sorted set is empty; true when it did.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let now = ctx.now_ms;
    let empty = ctx
        .db()
        .peek(key, now)
        .and_then(|o| o.zset())
        .is_some_and(|z| z.is_empty());
    if empty {
        ctx.db().remove(key);
        ctx.signal(key, "del");
    }
    empty
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// A whole argument read as C's strtod reads it: leading white space skipped, an empty
/// string is 0, overflow gives ±inf and underflow 0 (no range error), NaN is refused.
/// Redis compat: t_zset.c zslParseRange calls strtod directly, not string2d.
fn strtod_whole(s: &[u8]) -> Option<f64> {
    // The argument is a C string there: it ends at the first NUL.
    let s = match s.iter().position(|&b| b == 0) {
        Some(i) => s.get(..i).unwrap_or_default(),
        None => s,
    };
    if s.is_empty() {
        return Some(0.0);
    }
    let t = strip_c_space(s);
    if t.is_empty() {
        return None;
    }
    if let Some(v) = num::parse_f64(t) {
        return Some(v);
    }
    // parse_f64 refuses values out of double range; strtod clamps them instead.
    let txt = std::str::from_utf8(t).ok()?;
    if txt
        .bytes()
        .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E'))
    {
        return None;
    }
    txt.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// Skips what C's isspace() calls white space.
fn strip_c_space(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    s.get(n..).unwrap_or_default()
}

/// A score range bound: `(` makes it exclusive; "-inf"/"+inf" are infinities.
pub(super) fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let (s, exclusive) = match arg.split_first() {
        Some((b'(', rest)) => (rest, true),
        _ => (arg, false),
    };
    strtod_whole(s).map(|value| ScoreBound { value, exclusive })
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), CmdError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(RANGE_NOT_FLOAT),
    }
}

/// A lex range bound: `[x` inclusive, `(x` exclusive, `-` and `+` the open ends.
/// Redis compat: t_zset.c zslParseLexRangeItem.
pub(super) fn parse_lex_bound(arg: &[u8]) -> Option<LexBound<'_>> {
    match arg.split_first()? {
        (b'+', []) => Some(LexBound::PosInf),
        (b'-', []) => Some(LexBound::NegInf),
        (b'(', rest) => Some(LexBound::Excl(rest)),
        (b'[', rest) => Some(LexBound::Incl(rest)),
        _ => None,
    }
}

fn parse_lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<(LexBound<'a>, LexBound<'a>), CmdError> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(RANGE_NOT_LEX),
    }
}

/// Clamps a rank range given with Redis's negative-from-the-end indexes to
/// `start..=end` within `len`; None when it selects nothing.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

/// Writes members, with their scores when asked: one flat array in RESP2, an array of
/// [member, score] pairs in RESP3 (an order-keeping map).
pub(super) fn reply_members<'a, I>(out: &mut ReplyBuf, items: I, withscores: bool)
where
    I: ExactSizeIterator<Item = (&'a [u8], f64)>,
{
    let n = items.len();
    out.array(if withscores && !out.resp3 { n * 2 } else { n });
    for (m, s) in items {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// ZADD / ZINCRBY
// ---------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What ZADD did to the set.
#[derive(Default)]
struct AddOutcome {
    added: usize,
    updated: usize,
    processed: usize,
    /// The last score set (ZADD INCR / ZINCRBY reply).
    score: f64,
}

/// Applies ZADD's rules to one member. Redis compat: t_zset.c zsetAdd.
fn add_one(z: &mut crate::db::zset::ZSetMut<'_>, f: AddFlags, m: &[u8], mut s: f64, out: &mut AddOutcome) {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return;
            }
            if f.incr {
                s += cur;
            }
            if (f.lt && s >= cur) || (f.gt && s <= cur) {
                return;
            }
            out.processed += 1;
            out.score = s;
            if s != cur {
                z.update(m, s);
                out.updated += 1;
            }
        }
        None if !f.xx => {
            z.insert(m, s);
            out.added += 1;
            out.processed += 1;
            out.score = s;
        }
        None => {}
    }
}

fn zadd_generic(ctx: &mut Ctx, a: &Args, mut f: AddFlags) -> CmdResult {
    ctx.hold_own_events();
    let key = a.at(1);
    let mut idx = 2;
    while idx < a.len() {
        let flag = if a.is(idx, "nx") {
            &mut f.nx
        } else if a.is(idx, "xx") {
            &mut f.xx
        } else if a.is(idx, "ch") {
            &mut f.ch
        } else if a.is(idx, "incr") {
            &mut f.incr
        } else if a.is(idx, "gt") {
            &mut f.gt
        } else if a.is(idx, "lt") {
            &mut f.lt
        } else {
            break;
        };
        *flag = true;
        idx += 1;
    }
    let rest = a.rest(idx);
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(error::SYNTAX);
    }
    if f.nx && f.xx {
        return Err(CmdError::new(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::new(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(CmdError::new(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    // Every score is checked before anything is written: all or nothing.
    let mut pairs = Vec::with_capacity((rest.len() / 2).min(1024));
    for i in (idx..a.len()).step_by(2) {
        pairs.push((a.f64(i)?, a.at(i + 1)));
    }
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let mut res = AddOutcome::default();
    match write(ctx.db(), now, key)? {
        Some(o) => {
            // The only way to reach NaN: adding -inf to +inf (or the reverse), which
            // must fail before anything is written.
            if let (true, Some(&(inc, m))) = (f.incr, pairs.first()) {
                if o.zset()
                    .and_then(|z| z.score(m))
                    .is_some_and(|cur| (cur + inc).is_nan())
                {
                    return Err(NAN_RESULT);
                }
            }
            if let Some(mut z) = o.zset_mut(&lim) {
                for &(s, m) in &pairs {
                    add_one(&mut z, f, m, s, &mut res);
                }
            }
        }
        None if f.xx => {}
        None => {
            let first = pairs.first().map(|p| p.1.len()).unwrap_or(0);
            let mut o = new_zset(key, 0, first, &lim);
            if let Some(mut z) = o.zset_mut(&lim) {
                for &(s, m) in &pairs {
                    add_one(&mut z, f, m, s, &mut res);
                }
            }
            ctx.db().add(o, now);
        }
    }
    if res.added + res.updated > 0 {
        // Redis compat: t_zset.c zaddGenericCommand: server.dirty += added + updated.
        ctx.modified_n(key, if f.incr { "zincr" } else { "zadd" }, res.added + res.updated);
    }
    if f.incr {
        if res.processed > 0 {
            ctx.out.double(res.score);
        } else {
            ctx.out.null();
        }
    } else {
        let n = if f.ch { res.added + res.updated } else { res.added };
        ctx.out.int(n as i64);
    }
    Ok(())
}

pub(super) fn zadd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zadd_generic(ctx, a, AddFlags::default())
}

fn zincrby(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    zadd_generic(
        ctx,
        a,
        AddFlags {
            incr: true,
            ..AddFlags::default()
        },
    )
}

// ---------------------------------------------------------------------------------------
// Removal
// ---------------------------------------------------------------------------------------

fn zrem(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.at(1);
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let mut deleted = 0;
    if let Some(o) = write(ctx.db(), now, key)? {
        if let Some(mut z) = o.zset_mut(&lim) {
            for m in a.rest(2) {
                if z.remove(m).is_some() {
                    deleted += 1;
                }
                if z.is_empty() {
                    break;
                }
            }
        }
    }
    if deleted > 0 {
        ctx.modified_n(key, "zrem", deleted);
        drop_if_empty(ctx, key);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

fn zremrange_generic(ctx: &mut Ctx, a: &Args, kind: RangeKind) -> CmdResult {
    let key = a.at(1);
    let (mut ranks, mut scores, mut lex) = (None, None, None);
    match kind {
        RangeKind::Rank => ranks = Some((a.i64(2)?, a.i64(3)?)),
        RangeKind::Score => scores = Some(parse_score_range(a.at(2), a.at(3))?),
        RangeKind::Lex => lex = Some(parse_lex_range(a.at(2), a.at(3))?),
    }
    let lim = ctx.limits();
    let now = ctx.now_ms;
    let Some(o) = write(ctx.db(), now, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(view) = o.zset() else {
        ctx.out.int(0);
        return Ok(());
    };
    let span = if let Some((s, e)) = ranks {
        rank_range(s, e, view.len())
    } else {
        let (s, e) = if let Some((min, max)) = &scores {
            view.score_range(min, max)
        } else if let Some((min, max)) = &lex {
            view.lex_range_to_remove(min, max)
        } else {
            (0, 0)
        };
        (e > s).then(|| (s, e - 1))
    };
    let deleted = match (span, o.zset_mut(&lim)) {
        (Some((s, e)), Some(mut z)) => z.remove_rank_range(s, e),
        _ => 0,
    };
    if deleted > 0 {
        let event = match kind {
            RangeKind::Rank => "zremrangebyrank",
            RangeKind::Score => "zremrangebyscore",
            RangeKind::Lex => "zremrangebylex",
        };
        ctx.modified_n(key, event, deleted);
        drop_if_empty(ctx, key);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zremrange_generic(ctx, a, RangeKind::Rank)
}

fn zremrangebyscore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zremrange_generic(ctx, a, RangeKind::Score)
}

fn zremrangebylex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zremrange_generic(ctx, a, RangeKind::Lex)
}

// ---------------------------------------------------------------------------------------
// Point reads and counts
// ---------------------------------------------------------------------------------------

fn zcard(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (z, out) = read(ctx, a.at(1))?;
    out.int(z.map_or(0, |z| z.len()) as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (z, out) = read(ctx, a.at(1))?;
    let step = z.is_some_and(|z| z.rehashing());
    match z.and_then(|z| z.score(a.at(2))) {
        Some(s) => out.double(s),
        None => out.null(),
    }
    super::step_after_lookups(ctx, step, a.at(1), 1)
}

fn zmscore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (z, out) = read(ctx, a.at(1))?;
    let step = z.is_some_and(|z| z.rehashing());
    let members = a.rest(2);
    out.array(members.len());
    for m in members {
        match z.and_then(|z| z.score(m)) {
            Some(s) => out.double(s),
            None => out.null(),
        }
    }
    super::step_after_lookups(ctx, step, a.at(1), members.len())
}

fn zrank_generic(ctx: &mut Ctx, a: &Args, rev: bool) -> CmdResult {
    let (z, out) = read(ctx, a.at(1))?;
    let step = z.is_some_and(|z| z.rehashing());
    let rank = z.and_then(|z| z.rank(a.at(2)).map(|r| if rev { z.len() - 1 - r } else { r }));
    match rank {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    super::step_after_lookups(ctx, step, a.at(1), 1)
}

fn zrank(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrank_generic(ctx, a, false)
}

fn zrevrank(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrank_generic(ctx, a, true)
}

fn zcount(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (min, max) = parse_score_range(a.at(2), a.at(3))?;
    let (z, out) = read(ctx, a.at(1))?;
    let n = z.map_or(0, |z| {
        let (s, e) = z.score_range(&min, &max);
        e - s
    });
    out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (min, max) = parse_lex_range(a.at(2), a.at(3))?;
    let (z, out) = read(ctx, a.at(1))?;
    let n = z.map_or(0, |z| {
        let (s, e) = z.lex_range(&min, &max, false);
        e - s
    });
    out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The ZRANGE family
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// A parsed range query: which elements, in which order, how many.
enum Query<'a> {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound<'a>, LexBound<'a>),
}

/// The ranks a query selects, as (first rank, count, reversed). Ranks count from the
/// lowest element; a reversed selection walks down from `first`.
fn select(z: &ZSetRef<'_>, q: &Query<'_>, rev: bool, offset: i64, limit: i64) -> Option<(usize, usize)> {
    let len = z.len();
    if let Query::Rank(s, e) = *q {
        let (s, e) = rank_range(s, e, len)?;
        let n = e - s + 1;
        return Some((if rev { len - 1 - s } else { s }, n));
    }
    let (lo, hi) = match q {
        Query::Score(min, max) => z.score_range(min, max),
        Query::Lex(min, max) => z.lex_range(min, max, rev),
        Query::Rank(..) => (0, 0),
    };
    // Redis compat: t_zset.c walks `offset` steps from the first match with a signed
    // counter, so a negative offset walks off the end and selects nothing.
    if offset < 0 {
        return None;
    }
    let avail = (hi - lo).checked_sub(offset as usize).filter(|&n| n > 0)?;
    // A negative limit means no limit.
    let n = if limit < 0 { avail } else { avail.min(limit as usize) };
    if n == 0 {
        return None;
    }
    let first = if rev {
        hi - 1 - offset as usize
    } else {
        lo + offset as usize
    };
    Some((first, n))
}

/// Elements `first`, and the `n - 1` after it in the walk direction.
fn walk<'a>(z: &ZSetRef<'a>, first: usize, n: usize, rev: bool) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
    if rev {
        z.iter_rev_from(first, n)
    } else {
        Box::new(z.iter_from(first).take(n))
    }
}

/// ZRANGE, ZRANGESTORE and the legacy range commands. `src` is the index of the source
/// key; `store` the destination of ZRANGESTORE. Redis compat: t_zset.c
/// zrangeGenericCommand (option order, error precedence).
fn zrange_generic(
    ctx: &mut Ctx,
    a: &Args,
    src: usize,
    store: Option<&[u8]>,
    kind: Option<RangeKind>,
    mut dir: Dir,
) -> CmdResult {
    let mut kind_opt = kind;
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = src + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if store.is_none() && a.is(j, "withscores") {
            withscores = true;
        } else if a.is(j, "limit") && left >= 2 {
            offset = a.i64(j + 1)?;
            limit = a.i64(j + 2)?;
            j += 2;
        } else if dir == Dir::Auto && a.is(j, "rev") {
            dir = Dir::Reverse;
        } else if kind.is_none() && kind_opt.is_none() && a.is(j, "bylex") {
            kind_opt = Some(RangeKind::Lex);
        } else if kind.is_none() && kind_opt.is_none() && a.is(j, "byscore") {
            kind_opt = Some(RangeKind::Score);
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let kind = kind_opt.unwrap_or(RangeKind::Rank);
    let rev = dir == Dir::Reverse;
    // Redis compat: `limit != -1` is how LIMIT's presence is detected there, so
    // "LIMIT 0 -1" passes with a rank range.
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::new(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Score and lex ranges are given as max, min when reversed.
    let (mut lo, mut hi) = (src + 1, src + 2);
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let q = match kind {
        RangeKind::Rank => Query::Rank(a.i64(lo)?, a.i64(hi)?),
        RangeKind::Score => {
            let (min, max) = parse_score_range(a.at(lo), a.at(hi))?;
            Query::Score(min, max)
        }
        RangeKind::Lex => {
            let (min, max) = parse_lex_range(a.at(lo), a.at(hi))?;
            Query::Lex(min, max)
        }
    };
    let key = a.at(src);
    let Some(dst) = store else {
        let (z, out) = read(ctx, key)?;
        if z.is_some() && kind != RangeKind::Rank {
            // Redis compat: t_zset.c zrangeResultBeginClient writes a deferred length
            // for score and lex ranges.
            out.mark_deferred();
        }
        let sel = z
            .as_ref()
            .and_then(|z| select(z, &q, rev, offset, limit).map(|s| (z, s)));
        match sel {
            None => out.array(0),
            Some((z, (first, n))) => {
                let items: Vec<(&[u8], f64)> = walk(z, first, n, rev).collect();
                reply_members(out, items.into_iter(), withscores);
            }
        }
        return Ok(());
    };
    // ZRANGESTORE: build the destination apart, then put it in place.
    let lim = ctx.limits();
    let built = {
        let (z, _) = read(ctx, key)?;
        match z
            .as_ref()
            .and_then(|z| select(z, &q, rev, offset, limit).map(|s| (z, s)))
        {
            None => None,
            Some((z, (first, n))) => {
                // Redis compat: t_zset.c zrangeResultBeginStore sizes the destination from
                // the rank count, and starts score and lex results as a listpack.
                let hint = if kind == RangeKind::Rank { n } else { 0 };
                let mut o = new_zset(dst, hint, 0, &lim);
                if let Some(mut zm) = o.zset_mut(&lim) {
                    for (m, s) in walk(z, first, n, rev) {
                        zm.insert(m, s);
                    }
                }
                Some((o, n))
            }
        }
    };
    store_result(ctx, dst, built, "zrangestore");
    Ok(())
}

/// Puts a computed sorted set at `dst` (replacing whatever was there, TTL included) and
/// replies its size; an empty result deletes `dst` instead.
pub(super) fn store_result(ctx: &mut Ctx, dst: &[u8], built: Option<(Obj, usize)>, event: &str) {
    match built {
        Some((o, n)) if n > 0 => {
            // One change (Redis compat: t_zset.c zunionInterDiffGenericCommand).
            ctx.store_value(dst, o, event, 1);
            ctx.out.int(n as i64);
        }
        _ => {
            // A key past its TTL but not yet expired is deleted as well (Redis compat:
            // db.c dbDelete does not look at TTLs).
            if ctx.db().remove(dst) {
                ctx.modified(dst, "del");
            }
            ctx.out.int(0);
        }
    }
}

fn zrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, None, Dir::Auto)
}

fn zrangestore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    zrange_generic(ctx, a, 2, Some(a.at(1)), None, Dir::Auto)
}

fn zrevrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, Some(RangeKind::Rank), Dir::Reverse)
}

fn zrangebyscore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, Some(RangeKind::Score), Dir::Forward)
}

fn zrevrangebyscore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, Some(RangeKind::Score), Dir::Reverse)
}

fn zrangebylex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, Some(RangeKind::Lex), Dir::Forward)
}

fn zrevrangebylex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, Some(RangeKind::Lex), Dir::Reverse)
}

// ---------------------------------------------------------------------------------------
// Multi-key algebra (see `algebra`)
// ---------------------------------------------------------------------------------------

fn zunion(ctx: &mut Ctx, a: &Args) -> CmdResult {
    algebra::algebra(ctx, a, None, 1, algebra::Op::Union, false)
}

fn zinter(ctx: &mut Ctx, a: &Args) -> CmdResult {
    algebra::algebra(ctx, a, None, 1, algebra::Op::Inter, false)
}

fn zdiff(ctx: &mut Ctx, a: &Args) -> CmdResult {
    algebra::algebra(ctx, a, None, 1, algebra::Op::Diff, false)
}

fn zintercard(ctx: &mut Ctx, a: &Args) -> CmdResult {
    algebra::algebra(ctx, a, None, 1, algebra::Op::Inter, true)
}

fn zunionstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    algebra::algebra(ctx, a, Some(a.at(1)), 2, algebra::Op::Union, false)
}

fn zinterstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    algebra::algebra(ctx, a, Some(a.at(1)), 2, algebra::Op::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    algebra::algebra(ctx, a, Some(a.at(1)), 2, algebra::Op::Diff, false)
}

const W: u64 = WRITE;
const R: u64 = READONLY;
const RO_ACCESS: u32 = KS_RO | KS_ACCESS;
const RW_DELETE: u32 = KS_RW | KS_DELETE;
const POP_KEYS: u32 = KS_RW | KS_ACCESS | KS_DELETE;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("zadd", -4, W | DENYOOM | FAST, Z, zadd).keys(1, 1, 1, KS_RW | KS_UPDATE).doc(
        G,
        "1.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "Adds members to a sorted set or updates their scores, creating the set if needed.",
    ),
    cmd("zincrby", 4, W | DENYOOM | FAST, Z, zincrby)
        .keys(1, 1, 1, KS_RW | KS_ACCESS | KS_UPDATE)
        .doc(G, "1.2.0", "O(log(N)) where N is the number of elements in the sorted set.", "Adds to the score of a member of a sorted set."),
    cmd("zrem", -3, W | FAST, Z, zrem).keys(1, 1, 1, RW_DELETE).doc(
        G,
        "1.2.0",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        "Removes members from a sorted set.",
    ),
    cmd("zremrangebyrank", 4, W, Z, zremrangebyrank).keys(1, 1, 1, RW_DELETE).doc(
        G,
        "2.0.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "Removes the members of a sorted set within a range of ranks.",
    ),
    cmd("zremrangebyscore", 4, W, Z, zremrangebyscore).keys(1, 1, 1, RW_DELETE).doc(
        G,
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "Removes the members of a sorted set within a range of scores.",
    ),
    cmd("zremrangebylex", 4, W, Z, zremrangebylex).keys(1, 1, 1, RW_DELETE).doc(
        G,
        "2.8.9",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "Removes the members of a sorted set within a lexicographical range.",
    ),
    cmd("zcard", 2, R | FAST, Z, zcard).keys(1, 1, 1, KS_RO).doc(G, "1.2.0", "O(1)", "Returns the number of members of a sorted set."),
    cmd("zscore", 3, R | FAST, Z, zscore).keys(1, 1, 1, RO_ACCESS).doc(G, "1.2.0", "O(1)", "Returns the score of a member of a sorted set."),
    cmd("zmscore", -3, R | FAST, Z, zmscore).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "6.2.0",
        "O(N) where N is the number of members being requested.",
        "Returns the scores of several members of a sorted set.",
    ),
    cmd("zrank", 3, R | FAST, Z, zrank)
        .keys(1, 1, 1, RO_ACCESS)
        .doc(G, "2.0.0", "O(log(N))", "Returns the rank of a member of a sorted set, lowest score first."),
    cmd("zrevrank", 3, R | FAST, Z, zrevrank)
        .keys(1, 1, 1, RO_ACCESS)
        .doc(G, "2.0.0", "O(log(N))", "Returns the rank of a member of a sorted set, highest score first."),
    cmd("zcount", 4, R | FAST, Z, zcount).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "2.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Counts the members of a sorted set within a range of scores.",
    ),
    cmd("zlexcount", 4, R | FAST, Z, zlexcount).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "2.8.9",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Counts the members of a sorted set within a lexicographical range.",
    ),
    cmd("zrange", -4, R, Z, zrange).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        "Returns members of a sorted set by rank, score or lexicographical range.",
    ),
    cmd("zrangestore", -5, W | DENYOOM, Z, zrangestore)
        .specs(STORE_FROM_ONE).keys(1, 2, 1, KS_OW | KS_UPDATE).other_keys(KS_RO | KS_ACCESS).doc(
        G,
        "6.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
        "Stores a range of a sorted set in another key.",
    ),
    cmd("zrevrange", -4, R, Z, zrevrange).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        "Returns members of a sorted set by rank, highest score first.",
    ),
    cmd("zrangebyscore", -4, R, Z, zrangebyscore).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "1.0.5",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members of a sorted set within a range of scores.",
    ),
    cmd("zrevrangebyscore", -4, R, Z, zrevrangebyscore).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "2.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members of a sorted set within a range of scores, highest first.",
    ),
    cmd("zrangebylex", -4, R, Z, zrangebylex).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "2.8.9",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members of a sorted set within a lexicographical range.",
    ),
    cmd("zrevrangebylex", -4, R, Z, zrevrangebylex).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "2.8.9",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members of a sorted set within a lexicographical range, highest first.",
    ),
    cmd("zunion", -3, R | MOVABLE_KEYS, Z, zunion)
        .specs(READ_NUMKEYS).keys_with(keys_numkeys_1, KS_RO | KS_ACCESS).doc(
        G,
        "6.2.0",
        "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        "Returns the union of sorted sets.",
    ),
    cmd("zinter", -3, R | MOVABLE_KEYS, Z, zinter)
        .specs(READ_NUMKEYS).keys_with(keys_numkeys_1, KS_RO | KS_ACCESS).doc(
        G,
        "6.2.0",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        "Returns the intersection of sorted sets.",
    ),
    cmd("zintercard", -3, R | MOVABLE_KEYS, Z, zintercard)
        .specs(READ_NUMKEYS).keys_with(keys_numkeys_1, KS_RO | KS_ACCESS).doc(
        G,
        "7.0.0",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        "Returns the size of the intersection of sorted sets.",
    ),
    cmd("zdiff", -3, R | MOVABLE_KEYS, Z, zdiff)
        .specs(READ_NUMKEYS).keys_with(keys_numkeys_1, KS_RO | KS_ACCESS).doc(
        G,
        "6.2.0",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        "Returns the members of a sorted set missing from the others.",
    ),
    cmd("zunionstore", -4, W | DENYOOM | MOVABLE_KEYS, Z, zunionstore)
        .specs(STORE_FROM_NUMKEYS).keys_with(keys_store_numkeys, KS_OW | KS_UPDATE).other_keys(KS_RO | KS_ACCESS).doc(
        G,
        "2.0.0",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        "Stores the union of sorted sets in a key.",
    ),
    cmd("zinterstore", -4, W | DENYOOM | MOVABLE_KEYS, Z, zinterstore)
        .specs(STORE_FROM_NUMKEYS).keys_with(keys_store_numkeys, KS_OW | KS_UPDATE).other_keys(KS_RO | KS_ACCESS).doc(
        G,
        "2.0.0",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        "Stores the intersection of sorted sets in a key.",
    ),
    cmd("zdiffstore", -4, W | DENYOOM | MOVABLE_KEYS, Z, zdiffstore)
        .specs(STORE_FROM_NUMKEYS).keys_with(keys_store_numkeys, KS_OW | KS_UPDATE).other_keys(KS_RO | KS_ACCESS).doc(
        G,
        "6.2.0",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        "Stores the members of a sorted set missing from the others in a key.",
    ),
    cmd("zpopmin", -2, W | FAST, Z, pop::zpopmin).keys(1, 1, 1, POP_KEYS).doc(
        G,
        "5.0.0",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Removes and returns the lowest-scoring members of a sorted set.",
    ),
    cmd("zpopmax", -2, W | FAST, Z, pop::zpopmax).keys(1, 1, 1, POP_KEYS).doc(
        G,
        "5.0.0",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Removes and returns the highest-scoring members of a sorted set.",
    ),
    cmd("bzpopmin", -3, W | NOSCRIPT | FAST | BLOCKING, Z, pop::bzpopmin).keys(1, -2, 1, POP_KEYS).doc(
        G,
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Pops the lowest-scoring member of the first non-empty sorted set, blocking until there is one.",
    ),
    cmd("bzpopmax", -3, W | NOSCRIPT | FAST | BLOCKING, Z, pop::bzpopmax).keys(1, -2, 1, POP_KEYS).doc(
        G,
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Pops the highest-scoring member of the first non-empty sorted set, blocking until there is one.",
    ),
    cmd("zmpop", -4, W | MOVABLE_KEYS, Z, pop::zmpop)
        .specs(POP_NUMKEYS_1).keys_with(keys_numkeys_1, KS_RW | KS_ACCESS | KS_DELETE).doc(
        G,
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Pops members from the first non-empty sorted set of several.",
    ),
    cmd("bzmpop", -5, W | BLOCKING | MOVABLE_KEYS, Z, pop::bzmpop)
        .specs(POP_NUMKEYS_2).keys_with(keys_numkeys_2, KS_RW | KS_ACCESS | KS_DELETE).doc(
        G,
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Pops members from the first non-empty sorted set of several, blocking until there is one.",
    ),
    cmd("zrandmember", -2, R, Z, pop::zrandmember)
        .tips(&["nondeterministic_output"]).keys(1, 1, 1, RO_ACCESS).doc(
        G,
        "6.2.0",
        "O(N) where N is the number of elements returned",
        "Returns random members of a sorted set.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(s: &str) -> Option<(f64, bool)> {
        parse_score_bound(s.as_bytes()).map(|b| (b.value, b.exclusive))
    }

    #[test]
    fn score_bounds_read_like_strtod() {
        assert_eq!(bound("1.5"), Some((1.5, false)));
        assert_eq!(bound("(2"), Some((2.0, true)));
        assert_eq!(bound("-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(bound("(+inf"), Some((f64::INFINITY, true)));
        assert_eq!(bound("infinity"), Some((f64::INFINITY, false)));
        assert_eq!(bound(""), Some((0.0, false)));
        assert_eq!(bound("("), Some((0.0, true)));
        assert_eq!(bound(" \t7"), Some((7.0, false)));
        assert_eq!(bound("1e400"), Some((f64::INFINITY, false)));
        assert_eq!(bound("-1e400"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(bound("1e-400"), Some((0.0, false)));
        assert_eq!(bound("0x10"), Some((16.0, false)));
        assert_eq!(bound("3\0junk"), Some((3.0, false)));
        for bad in ["nan", "(nan", "-nan", "x", "1x", "5 ", "1e", " ", "[1", "((1", "."] {
            assert_eq!(bound(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lex_bounds() {
        assert!(matches!(parse_lex_bound(b"-"), Some(LexBound::NegInf)));
        assert!(matches!(parse_lex_bound(b"+"), Some(LexBound::PosInf)));
        assert!(matches!(parse_lex_bound(b"[a"), Some(LexBound::Incl(b"a"))));
        assert!(matches!(parse_lex_bound(b"("), Some(LexBound::Excl(b""))));
        for bad in [&b""[..], b"a", b"+a", b"-a", b"1"] {
            assert!(parse_lex_bound(bad).is_none());
        }
    }

    #[test]
    fn rank_ranges_clamp_like_redis() {
        assert_eq!(rank_range(0, -1, 4), Some((0, 3)));
        assert_eq!(rank_range(-5, 2, 4), Some((0, 2)));
        assert_eq!(rank_range(5, -1, 4), None);
        assert_eq!(rank_range(1, -5, 4), None);
        assert_eq!(rank_range(1, 100, 4), Some((1, 3)));
        assert_eq!(rank_range(0, 0, 0), None);
        assert_eq!(rank_range(i64::MIN, i64::MAX, 2), Some((0, 1)));
    }
}
