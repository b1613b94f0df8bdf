//! Pops from either end (ZPOPMIN/ZPOPMAX, ZMPOP and the blocking BZPOPMIN/BZPOPMAX/
//! BZMPOP, which wait on empty keys, see server::blocking) and ZRANDMEMBER.
//! Redis compat: t_zset.c genericZpopCommand, zmpopGenericCommand, zrandmemberCommand.
use std::collections::HashSet;

use rand::Rng;

use super::{read, write};
use crate::cmd::error::{self, CmdError, CmdResult};
use crate::cmd::{parse_timeout, Args, Ctx, TimeoutReply};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Min,
    Max,
}

/// How a pop reply is shaped (Redis has four: with or without the key, flat or nested).
#[derive(Clone, Copy)]
struct Shape {
    /// Lead with the key's name (blocking pops, ZMPOP).
    emit_key: bool,
    /// [member, score] pairs instead of one flat list.
    nested: bool,
}

/// How a pop is replicated. Redis compat: t_zset.c genericZpopCommand (ZMPOP),
/// blockingGenericZpopCommand.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replicate {
    /// As sent (ZPOPMIN/ZPOPMAX, with the count asked for if any).
    AsSent,
    /// As ZPOPMIN/ZPOPMAX of the key (BZPOPMIN/BZPOPMAX).
    Bare,
    /// As ZPOPMIN/ZPOPMAX of the key with the count popped (ZMPOP, BZMPOP).
    Counted,
}

/// Pops up to `count` elements from the first of `keys` that exists. Ok(false) when
/// none exists (nothing replied). `count == 0` replies an empty array once a key is
/// found. Redis compat: t_zset.c genericZpopCommand.
fn pop_first(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    end: End,
    count: usize,
    shape: Shape,
    rep: Replicate,
) -> Result<bool, CmdError> {
    let now = ctx.now_ms;
    let lim = ctx.limits();
    let mut found = None;
    for &k in keys {
        if write(ctx.db(), now, k)?.is_some() {
            found = Some(k);
            break;
        }
    }
    let Some(key) = found else {
        return Ok(false);
    };
    if count == 0 {
        ctx.out.array(0);
        return Ok(true);
    }
    let mut popped: Vec<(Vec<u8>, f64)> = Vec::new();
    if let Some(o) = write(ctx.db(), now, key)? {
        if let Some(z) = o.zset() {
            let len = z.len();
            let n = count.min(len);
            popped.reserve(n);
            let it: Box<dyn Iterator<Item = (&[u8], f64)>> = match end {
                End::Min => z.iter_from(0),
                End::Max => z.iter_rev_from(len.saturating_sub(1), n),
            };
            popped.extend(it.take(n).map(|(m, s)| (m.to_vec(), s)));
            if let (true, Some(mut zm)) = (n > 0, o.zset_mut(&lim)) {
                match end {
                    End::Min => zm.remove_rank_range(0, n - 1),
                    End::Max => zm.remove_rank_range(len - n, len - 1),
                };
            }
        }
    }
    let name = if end == End::Min { "zpopmin" } else { "zpopmax" };
    let n = popped.len();
    if ctx.propagating() {
        let name = if end == End::Min { "ZPOPMIN" } else { "ZPOPMAX" };
        match rep {
            Replicate::AsSent => {}
            Replicate::Bare => ctx.propagate_as(&[name.as_bytes(), key]),
            Replicate::Counted => {
                let c = n.to_string();
                ctx.propagate_as(&[name.as_bytes(), key, c.as_bytes()]);
            }
        }
    }
    let out = &mut *ctx.out;
    match (shape.emit_key, shape.nested) {
        (false, false) => out.array(n * 2),
        (false, true) => out.array(n),
        (true, false) => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        (true, true) => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    // Redis announces the pop as it removes the first element, after the reply's
    // header, so a connection watching its own events finds that event inside the
    // reply; the "del" of an emptied key follows the reply. One change per element
    // (Redis compat: t_zset.c genericZpopCommand).
    ctx.modified_n(key, name, n);
    let out = &mut *ctx.out;
    for (m, s) in &popped {
        if shape.nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
    super::drop_if_empty(ctx, key);
    Ok(true)
}

fn zpop_generic(ctx: &mut Ctx, a: &Args, end: End) -> CmdResult {
    if a.len() > 3 {
        return Err(error::SYNTAX);
    }
    let count = if a.len() == 3 {
        Some(a.i64(2).ok().filter(|&c| c >= 0).ok_or(error::NOT_POSITIVE)? as usize)
    } else {
        None
    };
    // RESP3 nests the pairs only when a count was given.
    let shape = Shape {
        emit_key: false,
        nested: ctx.out.resp3 && count.is_some(),
    };
    if !pop_first(ctx, &[a.at(1)], end, count.unwrap_or(1), shape, Replicate::AsSent)? {
        ctx.out.array(0);
    }
    Ok(())
}

pub(super) fn zpopmin(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zpop_generic(ctx, a, End::Min)
}

pub(super) fn zpopmax(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zpop_generic(ctx, a, End::Max)
}

/// Pops from the first non-empty key, or blocks on all of them. Redis compat: t_zset.c
/// blockingGenericZpopCommand (the timeout is checked first).
fn block_pop(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    timeout: &[u8],
    end: End,
    count: usize,
    shape: Shape,
    rep: Replicate,
) -> CmdResult {
    let deadline = parse_timeout(timeout, ctx.now_ms)?;
    if pop_first(ctx, keys, end, count, shape, rep)? {
        return Ok(());
    }
    if ctx.may_block() {
        ctx.block(keys, deadline, TimeoutReply::NullArray, "zset");
    } else {
        ctx.out.null_array();
    }
    Ok(())
}

fn bzpop_generic(ctx: &mut Ctx, a: &Args, end: End) -> CmdResult {
    let keys = a.argv.get(1..a.len() - 1).unwrap_or_default();
    let shape = Shape {
        emit_key: true,
        nested: false,
    };
    block_pop(ctx, keys, a.at(a.len() - 1), end, 1, shape, Replicate::Bare)
}

pub(super) fn bzpopmin(ctx: &mut Ctx, a: &Args) -> CmdResult {
    bzpop_generic(ctx, a, End::Min)
}

pub(super) fn bzpopmax(ctx: &mut Ctx, a: &Args) -> CmdResult {
    bzpop_generic(ctx, a, End::Max)
}

/// ZMPOP / BZMPOP: numkeys at `nk`, then the keys, MIN|MAX and an optional COUNT.
fn zmpop_generic(ctx: &mut Ctx, a: &Args, nk: usize, blocking: bool) -> CmdResult {
    let m = crate::cmd::parse_mpop(a, nk, ["min", "max"])?;
    let (keys, count) = (m.keys, m.count);
    let end = if m.first_end { End::Min } else { End::Max };
    let shape = Shape {
        emit_key: true,
        nested: true,
    };
    if blocking {
        return block_pop(ctx, keys, a.at(1), end, count, shape, Replicate::Counted);
    }
    if !pop_first(ctx, keys, end, count, shape, Replicate::Counted)? {
        ctx.out.null_array();
    }
    Ok(())
}

pub(super) fn zmpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zmpop_generic(ctx, a, 1, false)
}

pub(super) fn bzmpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    zmpop_generic(ctx, a, 2, true)
}

// ---------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------

/// The most elements one ZRANDMEMBER with a negative count may return: the reply is
/// built in memory, and an absurd count must not exhaust it.
const RANDOM_REPLY_MAX: u64 = 1 << 26;

/// Redis compat: t_zset.c ZRANDMEMBER_SUB_STRATEGY_MUL.
const SUB_STRATEGY_MUL: usize = 3;

pub(super) fn zrandmember(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() < 3 {
        let (z, out) = read(ctx, a.at(1))?;
        match z.and_then(|z| z.random(&mut rand::rng())) {
            Some((m, _)) => out.bulk(m),
            None => out.null(),
        }
        return Ok(());
    }
    let l = a.i64(2)?;
    if l == i64::MIN {
        return Err(CmdError::new(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if a.len() > 4 || (a.len() == 4 && !a.is(3, "withscores")) {
        return Err(error::SYNTAX);
    }
    let withscores = a.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::new("ERR value is out of range"));
    }
    let (z, out) = read(ctx, a.at(1))?;
    let Some(z) = z else {
        out.array(0);
        return Ok(());
    };
    if l < 0 && l.unsigned_abs() > RANDOM_REPLY_MAX {
        return Err(CmdError::new("ERR value is out of range"));
    }
    let count = l.unsigned_abs() as usize;
    let mut rng = rand::rng();
    let pairs = |out: &mut crate::resp::ReplyBuf, n: usize| out.array(if withscores && !out.resp3 { n * 2 } else { n });
    let one = |out: &mut crate::resp::ReplyBuf, m: &[u8], s: f64| {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(s);
        }
    };
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    // A listpack is unpacked once instead of once per draw.
    let packed: Vec<(&[u8], f64)> = if z.is_packed() {
        z.iter_from(0).collect()
    } else {
        Vec::new()
    };
    let mut draw = || -> Option<(&[u8], f64)> {
        if z.is_packed() {
            packed.get(rng.random_range(0..packed.len().max(1))).copied()
        } else {
            z.random(&mut rng)
        }
    };
    // Repeats allowed (negative count), or a single pick: independent draws.
    if l < 0 || count == 1 {
        pairs(out, count);
        for _ in 0..count {
            if let Some((m, s)) = draw() {
                one(out, m, s);
            }
        }
        return Ok(());
    }
    let size = z.len();
    // The whole set.
    if count >= size {
        pairs(out, size);
        for (m, s) in z.iter_any() {
            one(out, m, s);
        }
        return Ok(());
    }
    pairs(out, count);
    if count * SUB_STRATEGY_MUL > size {
        // Close to the whole set: drop random elements until `count` are left.
        let mut all: Vec<(&[u8], f64)> = z.iter_any().collect();
        let mut rng = rand::rng();
        while all.len() > count {
            let i = rng.random_range(0..all.len());
            all.swap_remove(i);
        }
        for (m, s) in all {
            one(out, m, s);
        }
        return Ok(());
    }
    // Far fewer than the set holds: draw until `count` distinct members are seen.
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
    while seen.len() < count {
        if let Some((m, s)) = draw() {
            if seen.insert(m) {
                one(out, m, s);
            }
        }
    }
    Ok(())
}
