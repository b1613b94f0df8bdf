//! String commands: GET/SET and friends, counters, ranges and LCS. Small values live
//! inline in the entry (`int`/`embstr`), larger or edited ones on the heap (`raw`).
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx, Look};
use crate::db::{Enc, Obj, ValueRef};
use crate::resp::ReplyBuf;
use crate::util::num;

const G: &str = "string";

/// Reads a string key (a counted lookup for reading): Ok(None) if absent,
/// Err(WRONGTYPE) if not a string.
fn get_str<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a [u8]>, CmdError> {
    str_of(ctx.read_key(key))
}

/// `get_str` for a command about to write the key: a lookup for writing, not counted.
fn get_str_to_write<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a [u8]>, CmdError> {
    let now = ctx.now_ms;
    str_of(ctx.db().get(key, now))
}

/// The string at `key` (a counted lookup for reading) and the reply buffer, borrowed
/// together so that the value is replied from where it lies.
fn str_and_out<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<(Option<&'a [u8]>, &'a mut ReplyBuf), CmdError> {
    let (o, out, _) = ctx.read_parts(key, Look::Read);
    Ok((str_of(o)?, out))
}

/// Replies the string at `key`, or a null; whether there was one.
fn reply_str(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    let (v, out) = str_and_out(ctx, key)?;
    match v {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
    Ok(v.is_some())
}

fn str_of(o: Option<&Obj>) -> Result<Option<&[u8]>, CmdError> {
    match o {
        None => Ok(None),
        Some(o) => match o.value() {
            ValueRef::Str(s) => Ok(Some(s)),
            _ => Err(error::WRONGTYPE),
        },
    }
}

fn get(ctx: &mut Ctx, a: &Args) -> CmdResult {
    reply_str(ctx, a.at(1))?;
    Ok(())
}

/// Expire options shared by SET and GETEX.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// The expire option named by argument `j` (EX, PX, EXAT, PXAT), if it is one.
fn expire_unit(a: &Args, j: usize) -> Option<Unit> {
    [
        ("ex", Unit::Ex),
        ("px", Unit::Px),
        ("exat", Unit::ExAt),
        ("pxat", Unit::PxAt),
    ]
    .into_iter()
    .find(|(w, _)| a.is(j, w))
    .map(|(_, u)| u)
}

/// Validates an expire argument and returns the absolute unix time in ms.
/// Redis compat: t_string.c getExpireMillisecondsOrReply.
pub fn expire_at(v: &[u8], unit: Unit, now: i64, cmd: &str) -> Result<i64, CmdError> {
    let mut ms = num::parse_i64(v).ok_or(error::NOT_INT)?;
    let secs = matches!(unit, Unit::Ex | Unit::ExAt);
    if ms <= 0 || (secs && ms > i64::MAX / 1000) {
        return Err(error::invalid_expire(cmd));
    }
    if secs {
        ms *= 1000;
    }
    if matches!(unit, Unit::Ex | Unit::Px) {
        ms = ms.checked_add(now).ok_or_else(|| error::invalid_expire(cmd))?;
    }
    if ms <= 0 {
        return Err(error::invalid_expire(cmd));
    }
    Ok(ms)
}

fn set(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (mut nx, mut xx, mut getf, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(Unit, &[u8])> = None;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "nx") && !xx {
            nx = true;
        } else if a.is(j, "xx") && !nx {
            xx = true;
        } else if a.is(j, "get") {
            getf = true;
        } else if a.is(j, "keepttl") && expire.is_none() {
            keepttl = true;
        } else if let Some(u) = expire_unit(a, j).filter(|u| !keepttl && expire.is_none_or(|(e, _)| e == *u) && more) {
            expire = Some((u, a.at(j + 1)));
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let at = match expire {
        Some((u, v)) => Some(expire_at(v, u, ctx.now_ms, "set")?),
        None => None,
    };
    let key = a.at(1);
    if getf {
        reply_str(ctx, key)?;
    }
    let now = ctx.now_ms;
    let found = (nx || xx) && ctx.db().exists(key, now);
    if (nx && found) || (xx && !found) {
        if !getf {
            ctx.out.null();
        }
        return Ok(());
    }
    set_key(ctx, key, a.at(2), keepttl, at);
    // Redis compat: t_string.c setGenericCommand: with an expire, as `SET key value PXAT
    // ms`; without one, as sent but for GET.
    match at {
        Some(at) => propagate_set_pxat(ctx, key, a.at(2), at),
        None if getf && ctx.propagating() => {
            let argv: Vec<&[u8]> = a
                .argv
                .iter()
                .enumerate()
                .filter(|&(i, v)| i < 3 || !v.eq_ignore_ascii_case(b"get"))
                .map(|(_, v)| *v)
                .collect();
            ctx.propagate_as(&argv);
        }
        _ => {}
    }
    if !getf {
        ctx.out.ok();
    }
    Ok(())
}

/// A SET with any expire option goes out as `SET key value PXAT ms`.
/// Redis compat: t_string.c setGenericCommand.
fn propagate_set_pxat(ctx: &mut Ctx, key: &[u8], val: &[u8], at: i64) {
    if ctx.propagating() {
        let ms = at.to_string();
        ctx.propagate_as(&[b"SET".as_slice(), key, val, b"PXAT", ms.as_bytes()]);
    }
}

/// Stores a string value (dropping the old TTL unless `keepttl`), then an expire, each
/// with its event ("set", then "expire"). Redis compat: t_string.c setGenericCommand.
fn set_key(ctx: &mut Ctx, key: &[u8], val: &[u8], keepttl: bool, at: Option<i64>) {
    let now = ctx.now_ms;
    let db = ctx.db();
    db.set(Obj::new_str(key, val), keepttl, now);
    if let Some(at) = at {
        db.set_expire(key, at);
    }
    ctx.modified(key, "set");
    if at.is_some() {
        ctx.notify(key, "expire");
    }
}

fn setnx(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    if ctx.db().exists(a.at(1), now) {
        ctx.out.int(0);
    } else {
        set_key(ctx, a.at(1), a.at(2), false, None);
        ctx.out.int(1);
    }
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, a: &Args, unit: Unit, name: &str) -> CmdResult {
    let at = expire_at(a.at(2), unit, ctx.now_ms, name)?;
    set_key(ctx, a.at(1), a.at(3), false, Some(at));
    propagate_set_pxat(ctx, a.at(1), a.at(3), at);
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    setex_generic(ctx, a, Unit::Ex, "setex")
}

fn psetex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    setex_generic(ctx, a, Unit::Px, "psetex")
}

fn getset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    reply_str(ctx, a.at(1))?;
    set_key(ctx, a.at(1), a.at(2), false, None);
    // Redis compat: t_string.c getsetCommand: replicated as SET.
    ctx.propagate_as(&[&b"SET"[..], a.at(1), a.at(2)]);
    Ok(())
}

fn getdel(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if reply_str(ctx, a.at(1))? {
        ctx.db().remove(a.at(1));
        ctx.modified(a.at(1), "del");
        // Redis compat: t_string.c getdelCommand: replicated as DEL, or as UNLINK when
        // user deletions are lazy.
        let cmd = crate::server::propagate::deletion_cmd(ctx.srv.cfg.lazyfree_lazy_user_del);
        ctx.propagate_as(&[cmd, a.at(1)]);
    }
    Ok(())
}

fn getex(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut expire: Option<(Unit, &[u8])> = None;
    let mut persist = false;
    let mut j = 2;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "persist") && expire.is_none() {
            persist = true;
        } else if let Some(u) = expire_unit(a, j).filter(|u| !persist && expire.is_none_or(|(e, _)| e == *u) && more) {
            expire = Some((u, a.at(j + 1)));
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let key = a.at(1);
    let now = ctx.now_ms;
    // Redis compat: t_string.c getexCommand: the key's lookup and type check come
    // first, then the expire time's check, then the value's reply (from where it lies).
    let at = expire.map(|(u, raw)| expire_at(raw, u, now, "getex")).transpose();
    let (v, out) = str_and_out(ctx, key)?;
    let Some(v) = v else {
        out.null();
        return Ok(());
    };
    let at = at?;
    out.bulk(v);
    match (at, expire) {
        (Some(at), Some((Unit::ExAt | Unit::PxAt, _))) if at <= now => {
            ctx.db().remove(key);
            ctx.modified(key, "del");
            if ctx.propagating() {
                let cmd = crate::server::propagate::deletion_cmd(ctx.srv.cfg.lazyfree_lazy_expire);
                ctx.propagate_as(&[cmd, key]);
            }
        }
        (Some(at), _) => {
            ctx.db().set_expire(key, at);
            ctx.modified(key, "expire");
            // Redis compat: t_string.c getexCommand propagates PEXPIREAT / PERSIST.
            let ms = at.to_string();
            ctx.propagate_as(&[b"PEXPIREAT".as_slice(), key, ms.as_bytes()]);
        }
        _ => {
            if persist && ctx.db().persist(key) {
                ctx.modified(key, "persist");
                ctx.propagate_as(&[b"PERSIST".as_slice(), key]);
            }
        }
    }
    Ok(())
}

fn mget(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.out.array(a.len() - 1);
    for k in a.rest(1) {
        match ctx.read_parts(k, Look::Read) {
            (Some(o), out, _) => match o.as_str() {
                Some(s) => out.bulk(s),
                None => out.null(),
            },
            (None, out, _) => out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, a: &Args, nx: bool) -> CmdResult {
    if a.len() % 2 == 0 {
        return Err(error::arity(ctx.cmd.name));
    }
    let now = ctx.now_ms;
    if nx {
        for p in a.rest(1).chunks(2) {
            if ctx.db().exists(p[0], now) {
                ctx.out.int(0);
                return Ok(());
            }
        }
    }
    for p in a.rest(1).chunks(2) {
        if let [k, v] = p {
            set_key(ctx, k, v, false, None);
        }
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    mset_generic(ctx, a, false)
}

fn msetnx(ctx: &mut Ctx, a: &Args) -> CmdResult {
    mset_generic(ctx, a, true)
}

/// Refuses results longer than proto-max-bulk-len. Redis compat: t_string.c
/// checkStringLength (also catches offset + length overflowing).
fn check_len(ctx: &Ctx, base: usize, add: usize) -> CmdResult {
    match base.checked_add(add) {
        Some(t) if t as u64 <= ctx.srv.cfg.proto_max_bulk_len.max(0) as u64 => Ok(()),
        _ => Err(error::STRING_TOO_LONG),
    }
}

fn append(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.at(1);
    let add = a.at(2);
    let cur = get_str_to_write(ctx, key)?.map(|s| s.len());
    let len = match cur {
        None => {
            let now = ctx.now_ms;
            ctx.db().set(Obj::new_str(key, add), false, now);
            ctx.modified(key, "append");
            add.len()
        }
        Some(l) => {
            check_len(ctx, l, add.len())?;
            let now = ctx.now_ms;
            let o = ctx.db().get_mut(key, now).ok_or(error::NO_SUCH_KEY)?;
            let s = o.make_raw().ok_or(error::WRONGTYPE)?;
            s.extend_from_slice(add);
            let n = s.len();
            ctx.modified(key, "append");
            n
        }
    };
    ctx.out.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let n = get_str(ctx, a.at(1))?.map(|s| s.len()).unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

/// Adds `by` to the integer at `key` and replies with the result.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let now = ctx.now_ms;
    let mut digits = [0u8; 24];
    let db = &mut ctx.srv.dbs[ctx.db];
    let v = match db.get_mut(key, now) {
        Some(o) => {
            let cur = o.as_str().ok_or(error::WRONGTYPE)?;
            let cur = num::parse_i64(cur).ok_or(error::NOT_INT)?;
            let v = cur.checked_add(by).ok_or(error::OVERFLOW)?;
            o.set_inline(num::i64_digits(v, &mut digits), Enc::Int);
            v
        }
        None => {
            db.add(Obj::new_inline(key, num::i64_digits(by, &mut digits), Enc::Int), now);
            by
        }
    };
    ctx.modified(key, "incrby");
    ctx.out.int(v);
    Ok(())
}

fn incr(ctx: &mut Ctx, a: &Args) -> CmdResult {
    incr_by(ctx, a.at(1), 1)
}

fn decr(ctx: &mut Ctx, a: &Args) -> CmdResult {
    incr_by(ctx, a.at(1), -1)
}

fn incrby(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let by = a.i64(2)?;
    incr_by(ctx, a.at(1), by)
}

fn decrby(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let by = a.i64(2)?;
    if by == i64::MIN {
        return Err(CmdError::new("ERR decrement would overflow"));
    }
    incr_by(ctx, a.at(1), -by)
}

fn incrbyfloat(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.at(1);
    let cur = match get_str_to_write(ctx, key)? {
        None => b"0".to_vec(),
        Some(s) => {
            num::parse_long_double(s).ok_or(error::NOT_FLOAT)?;
            s.to_vec()
        }
    };
    num::parse_long_double(a.at(2)).ok_or(error::NOT_FLOAT)?;
    // Redis compat: t_string.c adds in long double and prints with ld2string HUMAN.
    let buf = crate::util::ld::add(&cur, a.at(2)).map_err(|e| match e {
        crate::util::ld::LdError::NotFloat => error::NOT_FLOAT,
        crate::util::ld::LdError::NotFinite => error::INCR_NAN,
    })?;
    let now = ctx.now_ms;
    let db = ctx.db();
    // Redis compat: the result is a plain string object (embstr/raw), never `int`.
    match db.get_mut(key, now) {
        Some(o) if buf.len() <= crate::db::obj::EMBSTR_MAX => o.set_inline(&buf, Enc::Embstr),
        Some(o) => o.set_str(&buf),
        None if buf.len() <= crate::db::obj::EMBSTR_MAX => db.add(Obj::new_inline(key, &buf, Enc::Embstr), now),
        None => db.add(Obj::new_str(key, &buf), now),
    }
    ctx.modified(key, "incrbyfloat");
    // Redis compat: t_string.c incrbyfloatCommand: the result, not the float math, is
    // replayed (platforms may round differently).
    ctx.propagate_as(&[b"SET".as_slice(), key, &buf, b"KEEPTTL"]);
    ctx.out.bulk(&buf);
    Ok(())
}

fn getrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut start = a.i64(2)?;
    let mut end = a.i64(3)?;
    let (s, out) = str_and_out(ctx, a.at(1))?;
    let Some(s) = s else {
        out.bulk(b"");
        return Ok(());
    };
    let len = s.len() as i64;
    // Redis compat: t_string.c getrangeCommand.
    if start < 0 && end < 0 && start > end {
        out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        out.bulk(b"");
    } else {
        out.bulk(s.get(start as usize..=end as usize).unwrap_or_default());
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.at(1);
    let offset = a.i64(2)?;
    let val = a.at(3);
    if offset < 0 {
        return Err(error::OFFSET_RANGE);
    }
    let cur = get_str_to_write(ctx, key)?.map(|s| s.len());
    let offset = offset as usize;
    match cur {
        None => {
            if val.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_len(ctx, offset, val.len())?;
            let mut v = vec![0u8; offset + val.len()];
            v[offset..].copy_from_slice(val);
            let now = ctx.now_ms;
            ctx.db().add(Obj::new_value(key, crate::db::Value::Str(v)), now);
            ctx.modified(key, "setrange");
            ctx.out.int((offset + val.len()) as i64);
        }
        Some(l) => {
            if val.is_empty() {
                ctx.out.int(l as i64);
                return Ok(());
            }
            check_len(ctx, offset, val.len())?;
            let now = ctx.now_ms;
            let o = ctx.db().get_mut(key, now).ok_or(error::NO_SUCH_KEY)?;
            let s = o.make_raw().ok_or(error::WRONGTYPE)?;
            if s.len() < offset + val.len() {
                s.resize(offset + val.len(), 0);
            }
            s[offset..offset + val.len()].copy_from_slice(val);
            let n = s.len();
            ctx.modified(key, "setrange");
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

fn lcs(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Both keys are looked up and their types checked before the options are read
    // (Redis compat: t_string.c lcsCommand); their values are read where they lie.
    let found_a = ctx.read_key(a.at(1)).map(|o| o.as_str().is_some());
    let found_b = ctx.read_key(a.at(2)).map(|o| o.as_str().is_some());
    if found_a == Some(false) || found_b == Some(false) {
        return Err(CmdError::new("ERR The specified keys must contain string values"));
    }
    let (mut getlen, mut getidx, mut withlen, mut minlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < a.len() {
        if a.is(j, "idx") {
            getidx = true;
        } else if a.is(j, "len") {
            getlen = true;
        } else if a.is(j, "withmatchlen") {
            withlen = true;
        } else if a.is(j, "minmatchlen") && j + 1 < a.len() {
            minlen = a.i64(j + 1)?.max(0);
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    if getlen && getidx {
        return Err(CmdError::new(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let max = ctx.srv.cfg.proto_max_bulk_len as u64;
    let db = ctx.srv.dbs.get(ctx.db);
    let value = |found: Option<bool>, key: &[u8]| match found {
        Some(true) => db
            .and_then(|d| d.iter_key(key))
            .and_then(|o| o.as_str())
            .unwrap_or_default(),
        _ => &[],
    };
    let (x, y) = (value(found_a, a.at(1)), value(found_b, a.at(2)));
    let out = &mut *ctx.out;
    let (al, bl) = (x.len(), y.len());
    let cells = (al as u64 + 1) * (bl as u64 + 1);
    if cells.saturating_mul(4) > max {
        return Err(CmdError::new(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let w = bl + 1;
    let mut t: Vec<u32> = Vec::new();
    if t.try_reserve_exact(cells as usize).is_err() {
        return Err(CmdError::new(
            "ERR Insufficient memory, failed allocating transient memory for LCS",
        ));
    }
    t.resize(cells as usize, 0);
    // Row by row, each from the one above it (diagonal and up) and its own left cell.
    for (i, &xi) in x.iter().enumerate() {
        let (above, rest) = t.split_at_mut((i + 1) * w);
        let prev = above.get(i * w..).unwrap_or_default();
        let cur = rest.get_mut(1..w).unwrap_or_default();
        let mut left = 0u32;
        for ((c, (&diag, &up)), &yk) in cur.iter_mut().zip(prev.iter().zip(prev.iter().skip(1))).zip(y) {
            left = if xi == yk { diag + 1 } else { up.max(left) };
            *c = left;
        }
    }
    let total = t[al * w + bl];
    if getlen {
        out.int(total as i64);
        return Ok(());
    }
    // Walk back from the end, collecting the string and the matching ranges.
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<[i64; 5]> = Vec::new();
    let (mut i, mut k) = (al, bl);
    let mut cur: Option<(usize, usize, usize, usize)> = None; // a_start,a_end,b_start,b_end
    while i > 0 && k > 0 {
        let mut emit = false;
        if x[i - 1] == y[k - 1] {
            result[idx - 1] = x[i - 1];
            match cur {
                None => cur = Some((i - 1, i - 1, k - 1, k - 1)),
                Some((as_, ae, bs, be)) => {
                    if as_ == i && bs == k {
                        cur = Some((as_ - 1, ae, bs - 1, be));
                    } else {
                        emit = true;
                    }
                }
            }
            if let Some((as_, _, bs, _)) = cur {
                if as_ == 0 || bs == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            k -= 1;
        } else {
            if t[(i - 1) * w + k] > t[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if cur.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some((as_, ae, bs, be)) = cur {
                let mlen = (ae - as_ + 1) as i64;
                if minlen == 0 || mlen >= minlen {
                    ranges.push([as_ as i64, ae as i64, bs as i64, be as i64, mlen]);
                }
            }
            cur = None;
        }
    }
    if !getidx {
        out.bulk(&result);
        return Ok(());
    }
    out.map(2);
    out.bulk(b"matches");
    // Redis compat: t_string.c lcsCommand writes a deferred length.
    out.mark_deferred();
    out.array(ranges.len());
    for r in &ranges {
        out.array(if withlen { 3 } else { 2 });
        out.array(2);
        out.int(r[0]);
        out.int(r[1]);
        out.array(2);
        out.int(r[2]);
        out.int(r[3]);
        if withlen {
            out.int(r[4]);
        }
    }
    out.bulk(b"len");
    out.int(total as i64);
    Ok(())
}

const RW: u32 = KS_RW | KS_ACCESS | KS_UPDATE;
const RO: u32 = KS_RO | KS_ACCESS;
const OW: u32 = KS_OW | KS_UPDATE;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("get", 2, READONLY | FAST, ACL_STRING, get).keys(1, 1, 1, RO).doc(
        G,
        "1.0.0",
        "O(1)",
        "Returns the string value of a key.",
    ),
    cmd("set", -3, WRITE | DENYOOM, ACL_STRING, set)
        .keys(1, 1, 1, RW | KS_VARIABLE_FLAGS)
        .key_refs_with(refs_set)
        .doc(
            G,
            "1.0.0",
            "O(1)",
            "Sets the string value of a key, with options for conditions, expiry and returning the old value.",
        ),
    cmd("setnx", 3, WRITE | DENYOOM | FAST, ACL_STRING, setnx)
        .keys(1, 1, 1, KS_OW | KS_INSERT)
        .doc(G, "1.0.0", "O(1)", "Sets a key only when it does not exist."),
    cmd("setex", 4, WRITE | DENYOOM, ACL_STRING, setex)
        .keys(1, 1, 1, OW)
        .doc(G, "2.0.0", "O(1)", "Sets a key with a time to live in seconds."),
    cmd("psetex", 4, WRITE | DENYOOM, ACL_STRING, psetex)
        .keys(1, 1, 1, OW)
        .doc(G, "2.6.0", "O(1)", "Sets a key with a time to live in milliseconds."),
    cmd("getset", 3, WRITE | DENYOOM | FAST, ACL_STRING, getset)
        .keys(1, 1, 1, RW)
        .doc(G, "1.0.0", "O(1)", "Sets a key and returns its previous string value."),
    cmd("getdel", 2, WRITE | FAST, ACL_STRING, getdel)
        .keys(1, 1, 1, KS_RW | KS_ACCESS | KS_DELETE)
        .doc(G, "6.2.0", "O(1)", "Returns a key's string value and deletes the key."),
    cmd("getex", -2, WRITE | FAST, ACL_STRING, getex).keys(1, 1, 1, RW).doc(
        G,
        "6.2.0",
        "O(1)",
        "Returns a key's string value and changes or removes its expiry.",
    ),
    cmd("mget", -2, READONLY | FAST, ACL_STRING, mget)
        .tips(&["request_policy:multi_shard"])
        .keys(1, -1, 1, RO)
        .doc(
            G,
            "1.0.0",
            "O(N) where N is the number of keys to retrieve.",
            "Returns the string values of several keys.",
        ),
    cmd("mset", -3, WRITE | DENYOOM, ACL_STRING, mset)
        .tips(&["request_policy:multi_shard", "response_policy:all_succeeded"])
        .keys(1, -1, 2, OW)
        .doc(
            G,
            "1.0.1",
            "O(N) where N is the number of keys to set.",
            "Sets several keys to string values.",
        ),
    cmd("msetnx", -3, WRITE | DENYOOM, ACL_STRING, msetnx)
        .tips(&["request_policy:multi_shard", "response_policy:agg_min"])
        .keys(1, -1, 2, KS_OW | KS_INSERT)
        .doc(
            G,
            "1.0.1",
            "O(N) where N is the number of keys to set.",
            "Sets several keys only when none of them exists.",
        ),
    cmd("append", 3, WRITE | DENYOOM | FAST, ACL_STRING, append)
        .keys(1, 1, 1, KS_RW | KS_INSERT)
        .doc(
            G,
            "2.0.0",
            "O(1)",
            "Appends bytes to a key's string value, creating it if needed.",
        ),
    cmd("strlen", 2, READONLY | FAST, ACL_STRING, strlen)
        .keys(1, 1, 1, KS_RO)
        .doc(G, "2.2.0", "O(1)", "Returns the length of a key's string value."),
    cmd("incr", 2, WRITE | DENYOOM | FAST, ACL_STRING, incr)
        .keys(1, 1, 1, RW)
        .doc(G, "1.0.0", "O(1)", "Adds one to a key's integer value."),
    cmd("decr", 2, WRITE | DENYOOM | FAST, ACL_STRING, decr)
        .keys(1, 1, 1, RW)
        .doc(G, "1.0.0", "O(1)", "Subtracts one from a key's integer value."),
    cmd("incrby", 3, WRITE | DENYOOM | FAST, ACL_STRING, incrby)
        .keys(1, 1, 1, RW)
        .doc(G, "1.0.0", "O(1)", "Adds an integer to a key's integer value."),
    cmd("decrby", 3, WRITE | DENYOOM | FAST, ACL_STRING, decrby)
        .keys(1, 1, 1, RW)
        .doc(G, "1.0.0", "O(1)", "Subtracts an integer from a key's integer value."),
    cmd("incrbyfloat", 3, WRITE | DENYOOM | FAST, ACL_STRING, incrbyfloat)
        .keys(1, 1, 1, RW)
        .doc(
            G,
            "2.6.0",
            "O(1)",
            "Adds a floating point number to a key's numeric value.",
        ),
    cmd("getrange", 4, READONLY, ACL_STRING, getrange)
        .keys(1, 1, 1, RO)
        .doc(
            G,
            "2.4.0",
            "O(N) where N is the length of the returned string.",
            "Returns a substring of a key's string value.",
        ),
    cmd("substr", 4, READONLY, ACL_STRING, getrange).keys(1, 1, 1, RO).doc(
        G,
        "1.0.0",
        "O(N) where N is the length of the returned string.",
        "Returns a substring of a key's string value (old name of GETRANGE).",
    ),
    cmd("setrange", 4, WRITE | DENYOOM, ACL_STRING, setrange)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(
            G,
            "2.2.0",
            "O(1), not counting the time taken to copy the new string in place.",
            "Overwrites part of a key's string value at an offset, padding with zero bytes.",
        ),
    cmd("lcs", -3, READONLY, ACL_STRING, lcs).keys(1, 2, 1, RO).doc(
        G,
        "7.0.0",
        "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        "Finds the longest common subsequence of two string values.",
    ),
];
