//! List commands: pushes and pops at both ends, index and range access, LPOS, LMOVE,
//! LMPOP and the blocking forms (which wait on empty keys, see server::blocking).
//! Every list is a `QuickList`; a list left empty is deleted. Redis compat: t_list.c.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{parse_mpop, parse_timeout, Args, Ctx, Look, TimeoutReply};
use crate::db::{Obj, Value};
use crate::ds::quicklist::QuickList;
use crate::resp::ReplyBuf;

const G: &str = "list";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    Head,
    Tail,
}

fn parse_end(a: &Args, i: usize) -> Result<End, CmdError> {
    if a.is(i, "left") {
        Ok(End::Head)
    } else if a.is(i, "right") {
        Ok(End::Tail)
    } else {
        Err(error::SYNTAX)
    }
}

/// Read access (a counted lookup), with the reply buffer: Ok(None) when absent,
/// WRONGTYPE when not a list.
fn read_list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<(Option<&'a QuickList>, &'a mut ReplyBuf), CmdError> {
    let (o, out, _) = ctx.read_parts(key, Look::Read);
    Ok((list_of(o)?, out))
}

/// The list `o` holds: Ok(None) when absent, WRONGTYPE when not a list.
fn list_of(o: Option<&Obj>) -> Result<Option<&QuickList>, CmdError> {
    match o {
        None => Ok(None),
        Some(o) => match o.heap() {
            Some(Value::List(l)) => Ok(Some(l)),
            _ => Err(error::WRONGTYPE),
        },
    }
}

/// Write access: Ok(None) when absent, WRONGTYPE when not a list.
fn write_list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut QuickList>, CmdError> {
    let now = ctx.now_ms;
    match ctx.db().get_mut(key, now) {
        None => Ok(None),
        Some(o) => match o.heap_mut() {
            Some(Value::List(l)) => Ok(Some(l)),
            _ => Err(error::WRONGTYPE),
        },
    }
}

/// Type check without touching LRU: Ok(true) when a list exists, Ok(false) when absent.
fn check_list(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    let now = ctx.now_ms;
    match ctx.db().peek(key, now) {
        None => Ok(false),
        Some(o) if matches!(o.heap(), Some(Value::List(_))) => Ok(true),
        Some(_) => Err(error::WRONGTYPE),
    }
}

fn new_list(ctx: &Ctx, key: &[u8]) -> Obj {
    Obj::new_value(key, Value::List(ctx.limits().new_list()))
}

/// Deletes `key` if its list is empty (after pops and removals).
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let now = ctx.now_ms;
    let empty = matches!(ctx.db().peek(key, now).and_then(|o| o.heap()), Some(Value::List(l)) if l.is_empty());
    if empty {
        ctx.db().remove(key);
        ctx.signal(key, "del");
    }
}

/// Pushes values to a list, creating it unless `only_existing`. Returns the new
/// length (0 when the key is absent and `only_existing`).
fn push_values(ctx: &mut Ctx, key: &[u8], vals: &[&[u8]], end: End, only_existing: bool) -> Result<usize, CmdError> {
    if !check_list(ctx, key)? {
        if only_existing {
            return Ok(0);
        }
        let o = new_list(ctx, key);
        let now = ctx.now_ms;
        ctx.db().add(o, now);
    }
    let Some(l) = write_list(ctx, key)? else {
        return Ok(0);
    };
    for v in vals {
        match end {
            End::Head => l.push_front(v),
            End::Tail => l.push_back(v),
        }
    }
    let n = l.len();
    // Redis compat: t_list.c pushGenericCommand: one change per element.
    ctx.modified_n(key, if end == End::Head { "lpush" } else { "rpush" }, vals.len());
    Ok(n)
}

fn push_generic(ctx: &mut Ctx, a: &Args, end: End, only_existing: bool) -> CmdResult {
    ctx.hold_own_events();
    let n = push_values(ctx, a.at(1), a.rest(2), end, only_existing)?;
    ctx.out.int(n as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx, a: &Args) -> CmdResult {
    push_generic(ctx, a, End::Head, false)
}

fn rpush(ctx: &mut Ctx, a: &Args) -> CmdResult {
    push_generic(ctx, a, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, a: &Args) -> CmdResult {
    push_generic(ctx, a, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, a: &Args) -> CmdResult {
    push_generic(ctx, a, End::Tail, true)
}

/// Pops up to `count` values from one end (in pop order).
fn pop_values(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Result<Vec<Vec<u8>>, CmdError> {
    let out = take_values(ctx, key, end, count)?;
    if !out.is_empty() {
        announce_pop(ctx, key, end);
        // Redis compat: t_list.c listPopRangeAndReplyWithKey: one change per element.
        ctx.dirty(out.len() as u64 - 1);
    }
    Ok(out)
}

/// The pop's event, and the key's deletion if that emptied it.
fn announce_pop(ctx: &mut Ctx, key: &[u8], end: End) {
    ctx.modified(key, if end == End::Head { "lpop" } else { "rpop" });
    drop_if_empty(ctx, key);
}

/// `pop_values` without its events (the caller announces them).
fn take_values(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Result<Vec<Vec<u8>>, CmdError> {
    let Some(l) = write_list(ctx, key)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(count.min(l.len()).min(1024));
    while out.len() < count {
        let v = match end {
            End::Head => l.pop_front(),
            End::Tail => l.pop_back(),
        };
        match v {
            Some(v) => out.push(v),
            None => break,
        }
    }
    Ok(out)
}

fn pop_generic(ctx: &mut Ctx, a: &Args, end: End) -> CmdResult {
    ctx.hold_own_events();
    if a.len() > 3 {
        return Err(error::arity(ctx.cmd.name));
    }
    let count = if a.len() == 3 {
        // Redis compat: t_list.c getPositiveLongFromObjectOrReply: one message for
        // negatives and for what is not a number.
        let c = crate::util::num::parse_i64(a.at(2))
            .filter(|&c| c >= 0)
            .ok_or(error::NOT_POSITIVE)?;
        Some(c as usize)
    } else {
        None
    };
    let key = a.at(1);
    if !check_list(ctx, key)? {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    match count {
        None => {
            let v = pop_values(ctx, key, end, 1)?;
            match v.first() {
                Some(v) => ctx.out.bulk(v),
                None => ctx.out.null(),
            }
        }
        Some(c) => {
            let v = pop_values(ctx, key, end, c)?;
            ctx.out.bulks(v.iter().map(|x| x.as_slice()));
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    pop_generic(ctx, a, End::Head)
}

fn rpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    pop_generic(ctx, a, End::Tail)
}

fn llen(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (l, out) = read_list(ctx, a.at(1))?;
    out.int(l.map_or(0, |l| l.len()) as i64);
    Ok(())
}

/// Normalizes a Redis [start, end] range over `len` elements; None when empty.
fn norm_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { start + len } else { start };
    let mut e = if end < 0 { end + len } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

fn lrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (start, end) = (a.i64(2)?, a.i64(3)?);
    let (Some(l), out) = read_list(ctx, a.at(1))? else {
        ctx.out.array(0);
        return Ok(());
    };
    match norm_range(start, end, l.len()) {
        None => out.array(0),
        Some((s, e)) => {
            let n = e - s + 1;
            out.array(n);
            for v in l.iter_from(s).take(n) {
                out.bulk(v.as_ref());
            }
        }
    }
    Ok(())
}

fn lindex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // The key and its type are checked before the index (Redis compat: t_list.c).
    let (Some(l), out) = read_list(ctx, a.at(1))? else {
        ctx.out.null();
        return Ok(());
    };
    let idx = a.i64(2)?;
    let len = l.len() as i64;
    let i = if idx < 0 { idx + len } else { idx };
    match (0..len).contains(&i).then(|| l.get(i as usize)).flatten() {
        Some(v) => out.bulk(v.as_ref()),
        None => out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let key = a.at(1);
    let Some(l) = write_list(ctx, key)? else {
        return Err(error::NO_SUCH_KEY);
    };
    let idx = a.i64(2)?;
    let len = l.len() as i64;
    let i = if idx < 0 { idx + len } else { idx };
    if !(0..len).contains(&i) || !l.set(i as usize, a.at(3)) {
        return Err(CmdError::new("ERR index out of range"));
    }
    ctx.modified(key, "lset");
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let after = if a.is(2, "after") {
        true
    } else if a.is(2, "before") {
        false
    } else {
        return Err(error::SYNTAX);
    };
    let key = a.at(1);
    let (pivot, val) = (a.at(3), a.at(4));
    let Some(l) = write_list(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(pos) = l.iter().position(|e| e.as_ref() == pivot) else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.insert(if after { pos + 1 } else { pos }, val);
    let n = l.len();
    ctx.modified(key, "linsert");
    ctx.out.int(n as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let count = a.i64(2)?;
    let key = a.at(1);
    let Some(l) = write_list(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let n = l.remove_matching(a.at(3), count);
    if n > 0 {
        ctx.modified_n(key, "lrem", n);
        drop_if_empty(ctx, key);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (start, end) = (a.i64(2)?, a.i64(3)?);
    let key = a.at(1);
    let Some(l) = write_list(ctx, key)? else {
        ctx.out.ok();
        return Ok(());
    };
    let before = l.len();
    match norm_range(start, end, l.len()) {
        Some((s, e)) => l.trim(s, e),
        None => l.remove_range(0, l.len()),
    }
    let removed = before - l.len();
    // Redis compat: t_list.c ltrimCommand: the key is signalled and the event sent
    // whatever was removed, but only removals count as changes (and are replicated).
    ctx.signal(key, "ltrim");
    ctx.dirty(removed as u64);
    drop_if_empty(ctx, key);
    ctx.out.ok();
    Ok(())
}

/// A positive count option. Redis compat: object.c getPositiveLongFromObjectOrReply
/// with a custom message used for both parse and range errors.
fn positive(a: &Args, i: usize, msg: &'static str) -> Result<i64, CmdError> {
    match crate::util::num::parse_i64(a.at(i)) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(CmdError::new(msg)),
    }
}

fn lpos(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "rank") && more {
            rank = a.i64(j + 1)?;
            if rank == 0 {
                return Err(CmdError::new("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if a.is(j, "count") && more {
            count = Some(positive(a, j + 1, "ERR COUNT can't be negative")?);
        } else if a.is(j, "maxlen") && more {
            maxlen = positive(a, j + 1, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(error::SYNTAX);
        }
        j += 2;
    }
    let ele = a.at(2);
    let (Some(l), _) = read_list(ctx, a.at(1))? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = l.len();
    let from_tail = rank < 0;
    // Redis compat: t_list.c negates the rank in C arithmetic, where -LONG_MIN stays
    // LONG_MIN: every match then qualifies, and COUNT never ends the walk.
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let limit = if maxlen == 0 { len } else { (maxlen as usize).min(len) };
    let mut found: Vec<usize> = Vec::new();
    let mut matches: i64 = 0;
    let mut visit = |i: usize, e: &[u8]| -> bool {
        if e == ele {
            matches += 1;
            if matches >= rank {
                found.push(i);
                match count {
                    None => return false,
                    Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => return false,
                    _ => {}
                }
            }
        }
        true
    };
    if from_tail {
        if len > 0 {
            for (k, e) in l.iter_rev_from(len - 1).take(limit).enumerate() {
                if !visit(len - 1 - k, e.as_ref()) {
                    break;
                }
            }
        }
    } else {
        for (k, e) in l.iter().take(limit).enumerate() {
            if !visit(k, e.as_ref()) {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            // Redis compat: t_list.c lposCommand writes a deferred length.
            ctx.out.mark_deferred();
            ctx.out.array(found.len());
            for i in found {
                ctx.out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => ctx.out.int(i as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

/// Moves one element from `src` to `dst`; Ok(None) when src is absent or empty.
/// Both types are checked before anything changes. Redis compat: t_list.c lmoveGenericCommand.
fn move_one(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> Result<Option<Vec<u8>>, CmdError> {
    if !check_list(ctx, src)? {
        return Ok(None);
    }
    check_list(ctx, dst)?;
    if src == dst {
        let Some(l) = write_list(ctx, src)? else {
            return Ok(None);
        };
        let v = match from {
            End::Head => l.pop_front(),
            End::Tail => l.pop_back(),
        };
        let Some(v) = v else { return Ok(None) };
        match to {
            End::Head => l.push_front(&v),
            End::Tail => l.push_back(&v),
        }
        // One change for the move (Redis compat: t_list.c lmoveGenericCommand).
        ctx.modified(dst, if to == End::Head { "lpush" } else { "rpush" });
        ctx.hold_own_events();
        ctx.signal(src, if from == End::Head { "lpop" } else { "rpop" });
        return Ok(Some(v));
    }
    // The push is announced before the pop (and the source's deletion).
    let popped = take_values(ctx, src, from, 1)?;
    let Some(v) = popped.into_iter().next() else {
        return Ok(None);
    };
    push_values(ctx, dst, &[&v], to, false)?;
    // Redis compat: t_list.c lmoveHandlePush replies with the value after announcing
    // the push, and lmoveGenericCommand announces the pop after that: one change for
    // the move.
    ctx.hold_own_events();
    ctx.signal(src, if from == End::Head { "lpop" } else { "rpop" });
    drop_if_empty(ctx, src);
    Ok(Some(v))
}

fn lmove(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (from, to) = (parse_end(a, 3)?, parse_end(a, 4)?);
    match move_one(ctx, a.at(1), a.at(2), from, to)? {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn rpoplpush(ctx: &mut Ctx, a: &Args) -> CmdResult {
    match move_one(ctx, a.at(1), a.at(2), End::Tail, End::Head)? {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn blocking_move(ctx: &mut Ctx, a: &Args, from: End, to: End, timeout_at: usize) -> CmdResult {
    let deadline = parse_timeout(a.at(timeout_at), ctx.now_ms)?;
    let (src, dst) = (a.at(1), a.at(2));
    match move_one(ctx, src, dst, from, to)? {
        Some(v) => {
            // Redis compat: t_list.c blmoveGenericCommand, serveClientBlockedOnList:
            // replicated as the non-blocking form, with the ends as sent, or spelled
            // `left`/`right` when a push served it.
            if a.is(0, "brpoplpush") {
                ctx.propagate_as(&[&b"RPOPLPUSH"[..], src, dst]);
            } else if ctx.srv.blocking.rerun == Some(ctx.cid) {
                let end = |e: End| {
                    if e == End::Head {
                        b"left".as_slice()
                    } else {
                        b"right".as_slice()
                    }
                };
                ctx.propagate_as(&[&b"LMOVE"[..], src, dst, end(from), end(to)]);
            } else {
                ctx.propagate_as(&[&b"LMOVE"[..], src, dst, a.at(3), a.at(4)]);
            }
            ctx.out.bulk(&v)
        }
        None if !ctx.may_block() => ctx.out.null(),
        // Redis compat: blocked.c replyToBlockedClientTimedOut: a null array for every
        // list, zset and stream wait, BLMOVE's included.
        None => ctx.block(&[src], deadline, TimeoutReply::NullArray, "list"),
    }
    Ok(())
}

fn blmove(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (from, to) = (parse_end(a, 3)?, parse_end(a, 4)?);
    blocking_move(ctx, a, from, to, 5)
}

fn brpoplpush(ctx: &mut Ctx, a: &Args) -> CmdResult {
    blocking_move(ctx, a, End::Tail, End::Head, 3)
}

/// The pop command a blocking or multi-key pop from `end` replicates as.
fn end_pop(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

/// The first key of `keys` holding a non-empty list (WRONGTYPE stops the search).
fn first_nonempty<'k>(ctx: &mut Ctx, keys: &[&'k [u8]]) -> Result<Option<&'k [u8]>, CmdError> {
    for &k in keys {
        let now = ctx.now_ms;
        if list_of(ctx.db().get(k, now))?.is_some_and(|l| !l.is_empty()) {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

fn blocking_pop(ctx: &mut Ctx, a: &Args, end: End) -> CmdResult {
    let deadline = parse_timeout(a.at(a.len() - 1), ctx.now_ms)?;
    let keys = a.argv.get(1..a.len() - 1).unwrap_or_default();
    match first_nonempty(ctx, keys)? {
        Some(k) => {
            // Redis compat: t_list.c blockingPopGenericCommand and
            // serveClientBlockedOnList reply, then announce the pop.
            ctx.hold_own_events();
            let v = pop_values(ctx, k, end, 1)?;
            ctx.propagate_as(&[end_pop(end), k]);
            ctx.out.array(2);
            ctx.out.bulk(k);
            ctx.out.bulk(v.first().map(|v| v.as_slice()).unwrap_or_default());
        }
        None if !ctx.may_block() => ctx.out.null_array(),
        None => ctx.block(keys, deadline, TimeoutReply::NullArray, "list"),
    }
    Ok(())
}

fn blpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    blocking_pop(ctx, a, End::Head)
}

fn brpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    blocking_pop(ctx, a, End::Tail)
}

/// Parsed LMPOP/BLMPOP arguments.
struct MPop<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: usize,
}

fn parse_list_mpop<'a>(a: &Args<'a>, numkeys_at: usize) -> Result<MPop<'a>, CmdError> {
    let m = parse_mpop(a, numkeys_at, ["left", "right"])?;
    Ok(MPop {
        keys: m.keys,
        end: if m.first_end { End::Head } else { End::Tail },
        count: m.count,
    })
}

/// Pops from the first non-empty key and replies [key, [elements]]; false if none.
fn mpop_serve(ctx: &mut Ctx, m: &MPop) -> Result<bool, CmdError> {
    let Some(k) = first_nonempty(ctx, m.keys)? else {
        return Ok(false);
    };
    let v = pop_values(ctx, k, m.end, m.count)?;
    let n = v.len().to_string();
    ctx.propagate_as(&[end_pop(m.end), k, n.as_bytes()]);
    ctx.out.array(2);
    ctx.out.bulk(k);
    ctx.out.bulks(v.iter().map(|x| x.as_slice()));
    Ok(true)
}

fn lmpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let m = parse_list_mpop(a, 1)?;
    if !mpop_serve(ctx, &m)? {
        ctx.out.null_array();
    }
    Ok(())
}

fn blmpop(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.hold_own_events();
    let m = parse_list_mpop(a, 2)?;
    let deadline = parse_timeout(a.at(1), ctx.now_ms)?;
    if !mpop_serve(ctx, &m)? {
        if ctx.may_block() {
            ctx.block(m.keys, deadline, TimeoutReply::NullArray, "list");
        } else {
            ctx.out.null_array();
        }
    }
    Ok(())
}

const W: u64 = WRITE | DENYOOM | FAST;
const L: u64 = ACL_LIST;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("lpush", -3, W, L, lpush)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(G, "1.0.0", "O(1) for each element added", "Prepends one or more elements to a list, creating it if needed."),
    cmd("rpush", -3, W, L, rpush)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(G, "1.0.0", "O(1) for each element added", "Appends one or more elements to a list, creating it if needed."),
    cmd("lpushx", -3, W, L, lpushx)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(G, "2.2.0", "O(1) for each element added", "Prepends elements to a list only when it exists."),
    cmd("rpushx", -3, W, L, rpushx)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(G, "2.2.0", "O(1) for each element added", "Appends elements to a list only when it exists."),
    cmd("lpop", -2, WRITE | FAST, L, lpop)
        .keys(1, 1, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "1.0.0", "O(N) where N is the number of elements returned", "Removes and returns the first elements of a list."),
    cmd("rpop", -2, WRITE | FAST, L, rpop)
        .keys(1, 1, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "1.0.0", "O(N) where N is the number of elements returned", "Removes and returns the last elements of a list."),
    cmd("llen", 2, READONLY | FAST, L, llen).keys(1, 1, 1, KS_RO).doc(G, "1.0.0", "O(1)", "Returns the length of a list."),
    cmd("lrange", 4, READONLY, L, lrange)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "1.0.0", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", "Returns a range of elements of a list."),
    cmd("lindex", 3, READONLY, L, lindex)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "1.0.0", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", "Returns an element of a list by its index."),
    cmd("lset", 4, WRITE | DENYOOM, L, lset)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(G, "1.0.0", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", "Sets the value of an element of a list by its index."),
    cmd("linsert", 5, WRITE | DENYOOM, L, linsert)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(G, "2.2.0", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", "Inserts an element before or after another element of a list."),
    cmd("lrem", 4, WRITE, L, lrem)
        .keys(1, 1, 1, KS_RW | KS_DELETE)
        .doc(G, "1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", "Removes elements equal to a value from a list."),
    cmd("ltrim", 4, WRITE, L, ltrim)
        .keys(1, 1, 1, KS_RW | KS_DELETE)
        .doc(G, "1.0.0", "O(N) where N is the number of elements to be removed by the operation.", "Keeps only a range of elements of a list."),
    cmd("lpos", -3, READONLY, L, lpos)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "6.0.6", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", "Returns the index of matching elements of a list."),
    cmd("lmove", 5, WRITE | DENYOOM, L, lmove)
        .specs(MOVE_SPECS)
        .keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .other_keys(KS_RW | KS_INSERT)
        .doc(G, "6.2.0", "O(1)", "Moves an element from one list to another and returns it."),
    cmd("rpoplpush", 3, WRITE | DENYOOM, L, rpoplpush)
        .specs(MOVE_SPECS)
        .keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .other_keys(KS_RW | KS_INSERT)
        .doc(G, "1.2.0", "O(1)", "Moves the last element of a list to the head of another and returns it."),
    cmd("lmpop", -4, WRITE | MOVABLE_KEYS, L, lmpop)
        .specs(POP_NUMKEYS_1)
        .keys_with(keys_numkeys_1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Pops elements from the first non-empty list of several."),
    cmd("blpop", -3, WRITE | BLOCKING | NOSCRIPT, L, blpop)
        .keys(1, -2, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "2.0.0", "O(N) where N is the number of provided keys.", "Pops the first element of the first non-empty list, blocking until one is available."),
    cmd("brpop", -3, WRITE | BLOCKING | NOSCRIPT, L, brpop)
        .keys(1, -2, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "2.0.0", "O(N) where N is the number of provided keys.", "Pops the last element of the first non-empty list, blocking until one is available."),
    cmd("blmove", 6, WRITE | DENYOOM | BLOCKING | NOSCRIPT, L, blmove)
        .specs(MOVE_SPECS)
        .keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .other_keys(KS_RW | KS_INSERT)
        .doc(G, "6.2.0", "O(1)", "Moves an element between lists, blocking until the source has one."),
    cmd("brpoplpush", 4, WRITE | DENYOOM | BLOCKING | NOSCRIPT, L, brpoplpush)
        .specs(MOVE_SPECS)
        .keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .other_keys(KS_RW | KS_INSERT)
        .doc(G, "2.2.0", "O(1)", "Moves the last element of a list to the head of another, blocking until there is one."),
    cmd("blmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, L, blmpop)
        .specs(POP_NUMKEYS_2)
        .keys_with(keys_numkeys_2, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Pops elements from the first non-empty list of several, blocking until one is available."),
];

#[cfg(test)]
mod tests {
    use super::norm_range;

    #[test]
    fn ranges_normalize_like_redis() {
        assert_eq!(norm_range(0, -1, 3), Some((0, 2)));
        assert_eq!(norm_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(norm_range(2, 1, 3), None);
        assert_eq!(norm_range(3, 5, 3), None);
        assert_eq!(norm_range(0, 0, 0), None);
        assert_eq!(norm_range(-1, -1, 3), Some((2, 2)));
    }
}
