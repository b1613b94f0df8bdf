//! Stream commands: XADD and trimming, range reads, XREAD/XREADGROUP (blocking too),
//! consumer groups (XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM), XINFO and XSETID.
//! Consumer-group effects propagate as the idempotent commands Redis emits (XCLAIM
//! ... FORCE JUSTID LASTID, XGROUP SETID/CREATECONSUMER). Redis compat: t_stream.c.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx, Look};
use crate::db::stream::{Consumer, Entry, Group, Nack, NodeLimits, Stream, StreamId, Trim, ENTRIES_READ_INVALID};
use crate::db::{Db, Obj, Value};
use crate::resp::ReplyBuf;
use crate::server::blocking::TimeoutReply;
use crate::util::num;

const G: &str = "stream";

const INVALID_ID: CmdError = CmdError::new("ERR Invalid stream ID specified as stream command argument");
const BAD_START: CmdError = CmdError::new("ERR invalid start ID for the interval");
const BAD_END: CmdError = CmdError::new("ERR invalid end ID for the interval");
const NOT_STREAM: &str = "stream";
/// Largest total of field and value bytes in one entry (Redis compat: STREAM_LISTPACK_MAX_SIZE).
const ENTRY_MAX_BYTES: usize = 1 << 30;
/// COUNT of a served blocked XREAD/XREADGROUP that gave none (Redis compat: XREAD_BLOCKED_DEFAULT_COUNT).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

impl Obj {
    pub fn stream(&self) -> Option<&Stream> {
        match self.heap() {
            Some(Value::Stream(s)) => Some(s),
            _ => None,
        }
    }

    pub fn stream_mut(&mut self) -> Option<&mut Stream> {
        match self.heap_mut() {
            Some(Value::Stream(s)) => Some(s),
            _ => None,
        }
    }
}

/// An unsigned decimal as Redis's string2ull takes it.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = num::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Parses `ms-seq`, `ms` (seq = `missing_seq`), and unless `strict` also `-` and `+`.
/// With `seq_auto`, `ms-*` is accepted and reported as Ok((id, false)).
/// Redis compat: streamGenericParseIDOrReply.
fn parse_id_ext(s: &[u8], missing_seq: u64, strict: bool, seq_auto: bool) -> Result<(StreamId, bool), CmdError> {
    if s.len() > 127 {
        return Err(INVALID_ID);
    }
    match s {
        b"-" | b"+" if strict => return Err(INVALID_ID),
        b"-" => return Ok((StreamId::MIN, true)),
        b"+" => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms, seq) = match s.iter().position(|&c| c == b'-') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let ms = parse_u64(ms).ok_or(INVALID_ID)?;
    match seq {
        None => Ok((StreamId::new(ms, missing_seq), true)),
        Some(b"*") if seq_auto => Ok((StreamId::new(ms, 0), false)),
        Some(q) => Ok((StreamId::new(ms, parse_u64(q).ok_or(INVALID_ID)?), true)),
    }
}

fn parse_id(s: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    parse_id_ext(s, missing_seq, false, false).map(|r| r.0)
}

fn parse_strict_id(s: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    parse_id_ext(s, missing_seq, true, false).map(|r| r.0)
}

/// A range bound: `(id` is exclusive. Redis compat: streamParseIntervalIDOrReply.
fn parse_interval(s: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, CmdError> {
    if s.len() > 1 && s.first() == Some(&b'(') {
        let id = parse_strict_id(&s[1..], missing_seq)?;
        return if start {
            id.next().ok_or(BAD_START)
        } else {
            id.prev().ok_or(BAD_END)
        };
    }
    parse_id(s, missing_seq)
}

fn parse_ll(s: &[u8]) -> Result<i64, CmdError> {
    num::parse_i64(s).ok_or(error::NOT_INT)
}

fn parse_ll_msg(s: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    num::parse_i64(s).ok_or(CmdError::new(msg))
}

fn write_id(out: &mut ReplyBuf, id: StreamId) {
    let mut b = Vec::with_capacity(44);
    id.write(&mut b);
    out.bulk(&b);
}

fn reply_entry(out: &mut ReplyBuf, e: &Entry<'_>) {
    out.array(2);
    write_id(out, e.id);
    out.array(e.num_pairs() * 2);
    for (f, v) in e.pairs() {
        out.bulk(f);
        out.bulk(v);
    }
}

fn nogroup(key: &[u8], group: &[u8], suffix: &str) -> CmdError {
    CmdError::owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{suffix}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::owned(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

/// The stream at `key` for reading (hit/miss counted).
fn read_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<(Option<&'c Stream>, &'c mut ReplyBuf), CmdError> {
    let (o, out, _) = ctx.read_parts(key, Look::Read);
    match o {
        None => Ok((None, out)),
        Some(o) => Ok((Some(o.stream().ok_or(error::WRONGTYPE)?), out)),
    }
}

/// The stream at `key` for writing, None when absent.
fn write_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c mut Stream>, CmdError> {
    let now = ctx.now_ms;
    match ctx.srv.dbs[ctx.db].get_mut(key, now) {
        None => Ok(None),
        Some(o) => Ok(Some(o.stream_mut().ok_or(error::WRONGTYPE)?)),
    }
}

fn node_limits(ctx: &Ctx) -> NodeLimits {
    let lim = ctx.limits();
    let max_bytes = if lim.stream_max_bytes == 0 || lim.stream_max_bytes > ENTRY_MAX_BYTES {
        ENTRY_MAX_BYTES
    } else {
        lim.stream_max_bytes
    };
    NodeLimits {
        max_bytes,
        max_entries: lim.stream_max_entries,
    }
}

/// Parsed trimming options of XADD and XTRIM. Redis compat: streamParseAddOrTrimArgsOrReply.
#[derive(Default)]
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    limit: u64,
    /// argv index of the MAXLEN/MINID threshold (the `~`/`=` is right before it when given).
    arg_at: usize,
    no_mkstream: bool,
    /// XADD: the id argument's index, the id and whether its sequence was given.
    id_at: usize,
    id: Option<(StreamId, bool)>,
}

fn parse_trim_args(ctx: &Ctx, a: &Args, xadd: bool) -> Result<TrimArgs, CmdError> {
    let mut t = TrimArgs::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = a.at(i);
        if xadd && opt == b"*" {
            break;
        } else if (a.is(i, "maxlen") || a.is(i, "minid")) && more > 0 {
            if t.how.is_some() {
                return Err(CmdError::new(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let maxlen = a.is(i, "maxlen");
            t.approx = false;
            let next = a.at(i + 1);
            if more >= 2 && next == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let v = a.at(i + 1);
            t.how = Some(if maxlen {
                let n = parse_ll(v)?;
                if n < 0 {
                    return Err(CmdError::new("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(v, 0)?)
            });
            i += 1;
            t.arg_at = i;
        } else if a.is(i, "limit") && more > 0 {
            let n = parse_ll(a.at(i + 1))?;
            if n < 0 {
                return Err(CmdError::new("ERR The LIMIT argument must be >= 0."));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && a.is(i, "nomkstream") {
            t.no_mkstream = true;
        } else if xadd {
            t.id = Some(parse_id_ext(opt, 0, true, true)?);
            break;
        } else {
            return Err(error::SYNTAX);
        }
        i += 1;
    }
    t.id_at = i;
    if t.limit > 0 && t.how.is_none() {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && t.how.is_none() {
        return Err(CmdError::new(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if ctx.srv.aof.loading {
        // Replayed commands carry the exact threshold they reached.
        t.limit = 0;
    } else if limit_given {
        if !t.approx {
            return Err(CmdError::new(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if t.approx {
        let n = 100u64.saturating_mul(ctx.limits().stream_max_entries as u64);
        t.limit = if n == 0 { 10000 } else { n.min(1_000_000) };
    } else {
        t.limit = 0;
    }
    Ok(t)
}

/// The argv an approximate trim propagates as: `=` and the threshold it reached.
/// Redis compat: streamRewriteApproxSpecifier, streamRewriteTrimArgument.
fn rewrite_trim(argv: &mut [Vec<u8>], t: &TrimArgs, s: &Stream) {
    if let Some(x) = argv.get_mut(t.arg_at - 1) {
        *x = b"=".to_vec();
    }
    let v = match t.how {
        Some(Trim::MaxLen(_)) => s.len().to_string().into_bytes(),
        _ => s.log.first().map(|e| e.id).unwrap_or(StreamId::MAX).to_vec(),
    };
    if let Some(x) = argv.get_mut(t.arg_at) {
        *x = v;
    }
}

fn owned_argv(a: &Args) -> Vec<Vec<u8>> {
    a.argv.iter().map(|x| x.to_vec()).collect()
}

fn xadd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let t = parse_trim_args(ctx, a, true)?;
    let field_at = t.id_at + 1;
    let nf = a.len().saturating_sub(field_at);
    if nf < 2 || nf % 2 == 1 {
        return Err(error::arity("xadd"));
    }
    if let Some((id, true)) = t.id {
        if id == StreamId::MIN {
            return Err(CmdError::new("ERR The ID specified in XADD must be greater than 0-0"));
        }
    }
    let key = a.at(1);
    let now = ctx.now_ms;
    let lim = node_limits(ctx);
    let db = &mut ctx.srv.dbs[ctx.db];
    match db.get_mut(key, now) {
        Some(o) if o.stream().is_none() => return Err(error::WRONGTYPE),
        Some(_) => {}
        None if t.no_mkstream => {
            ctx.out.null();
            return Ok(());
        }
        None => db.add(Obj::new_value(key, Value::Stream(Box::default())), now),
    }
    let Some(s) = db.get_mut(key, now).and_then(|o| o.stream_mut()) else {
        return Err(error::WRONGTYPE);
    };
    if s.last_id == StreamId::MAX {
        return Err(CmdError::new(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    const SMALLER: CmdError =
        CmdError::new("ERR The ID specified in XADD is equal or smaller than the target stream top item");
    let id = match t.id {
        Some((id, true)) => id,
        // `ms-*` after `ms-18446744073709551615`: Redis 7.0 fails the append without
        // saying why, and XADD reports it as too large. Redis compat: t_stream.c
        // streamAppendItem (no errno for this case) and xaddCommand.
        Some((id, false)) if id.ms == s.last_id.ms => s
            .last_id
            .next()
            .filter(|n| n.ms == id.ms)
            .ok_or(CmdError::new("ERR Elements are too large to be stored"))?,
        Some((id, false)) => id,
        None => s.next_auto_id(now).ok_or(SMALLER)?,
    };
    if id <= s.last_id {
        return Err(SMALLER);
    }
    let fields = a.rest(field_at);
    if fields.iter().map(|f| f.len()).sum::<usize>() > ENTRY_MAX_BYTES {
        return Err(CmdError::new("ERR Elements are too large to be stored"));
    }
    let pairs: Vec<(&[u8], &[u8])> = fields.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    s.add(id, &pairs, lim);
    let mut trimmed = 0;
    let mut prop: Option<Vec<Vec<u8>>> = None;
    if let Some(how) = t.how {
        trimmed = s.trim(how, t.approx, t.limit);
        if t.approx {
            let mut v = owned_argv(a);
            rewrite_trim(&mut v, &t, s);
            prop = Some(v);
        }
    }
    let id_text = id.to_vec();
    // Redis replies, then announces the entry and the trim (a stream created here is
    // announced before the reply).
    ctx.hold_own_events();
    ctx.modified(key, "xadd");
    if trimmed > 0 {
        ctx.notify(key, "xtrim");
    }
    ctx.out.bulk(&id_text);
    if !matches!(t.id, Some((_, true))) {
        let v = prop.get_or_insert_with(|| owned_argv(a));
        if let Some(x) = v.get_mut(t.id_at) {
            *x = id_text;
        }
    }
    if let Some(v) = prop {
        ctx.propagate_as(&v);
    }
    Ok(())
}

fn xtrim(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let t = parse_trim_args(ctx, a, false)?;
    let key = a.at(1);
    let Some(s) = write_stream(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(how) = t.how else {
        return Err(error::SYNTAX);
    };
    let n = s.trim(how, t.approx, t.limit);
    let mut prop = None;
    if n > 0 && t.approx {
        let mut v = owned_argv(a);
        rewrite_trim(&mut v, &t, s);
        prop = Some(v);
    }
    if n > 0 {
        ctx.modified(key, "xtrim");
        ctx.dirty(n - 1);
        if let Some(v) = prop {
            ctx.propagate_as(&v);
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn xrange_generic(ctx: &mut Ctx, a: &Args, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev { (a.at(3), a.at(2)) } else { (a.at(2), a.at(3)) };
    let start = parse_interval(start_arg, 0, true)?;
    let end = parse_interval(end_arg, u64::MAX, false)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if a.is(j, "count") && j + 1 < a.len() {
            count = parse_ll(a.at(j + 1))?.max(0);
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let (s, out) = read_stream(ctx, a.at(1))?;
    let Some(s) = s else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.null_array();
        return Ok(());
    }
    let limit = if count < 0 { usize::MAX } else { count as usize };
    reply_range(out, s, start, end, limit, rev);
    Ok(())
}

/// Replies the entries in [start, end] (at most `limit`) as an array.
fn reply_range(out: &mut ReplyBuf, s: &Stream, start: StreamId, end: StreamId, limit: usize, rev: bool) -> usize {
    if start > end {
        out.array(0);
        return 0;
    }
    let d = out.begin_deferred(b'*');
    let mut n = 0;
    if rev {
        for e in s.log.range_rev(start, end).take(limit) {
            reply_entry(out, &e);
            n += 1;
        }
    } else {
        for e in s.log.range(start, end).take(limit) {
            reply_entry(out, &e);
            n += 1;
        }
    }
    out.end_deferred(d, n);
    n
}

fn xrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xrange_generic(ctx, a, false)
}

fn xrevrange(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xrange_generic(ctx, a, true)
}

fn xlen(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (s, out) = read_stream(ctx, a.at(1))?;
    out.int(s.map_or(0, |s| s.len() as i64));
    Ok(())
}

fn xdel(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.at(1);
    // The key and its type first, then every id before any is deleted (Redis compat:
    // t_stream.c xdelCommand).
    let Some(s) = write_stream(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let ids: Vec<StreamId> = a
        .rest(2)
        .iter()
        .map(|x| parse_strict_id(x, 0))
        .collect::<Result<_, _>>()?;
    let n = s.delete(&ids);
    if n > 0 {
        ctx.modified(key, "xdel");
        ctx.dirty(n - 1);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// XREAD/XREADGROUP arguments.
struct ReadArgs<'a> {
    block: Option<i64>,
    count: usize,
    keys: &'a [&'a [u8]],
    ids: &'a [&'a [u8]],
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
    /// argv index of the first id.
    ids_at: usize,
}

fn parse_read_args<'a>(ctx: &Ctx, a: &Args<'a>, group_cmd: bool) -> Result<ReadArgs<'a>, CmdError> {
    let mut r = ReadArgs {
        block: None,
        count: 0,
        keys: &[],
        ids: &[],
        group: None,
        noack: false,
        ids_at: 0,
    };
    let mut streams_at = 0;
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        if a.is(i, "block") && more > 0 {
            if ctx.srv.script_time_ms.is_some() {
                return Err(CmdError::owned(format!(
                    "ERR {} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(a.at(0))
                )));
            }
            i += 1;
            let ms = parse_ll_msg(a.at(i), "ERR timeout is not an integer or out of range")?;
            if ms < 0 {
                return Err(error::TIMEOUT_NEG);
            }
            let at = if ms == 0 {
                0
            } else if ms > i64::MAX - ctx.now_ms {
                return Err(CmdError::new("ERR timeout is out of range"));
            } else {
                ctx.now_ms + ms
            };
            r.block = Some(at);
        } else if a.is(i, "count") && more > 0 {
            i += 1;
            r.count = parse_ll(a.at(i))?.max(0) as usize;
        } else if a.is(i, "streams") && more > 0 {
            streams_at = i + 1;
            let n = a.len() - streams_at;
            if n % 2 != 0 {
                return Err(CmdError::new(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            let half = n / 2;
            r.keys = a.argv.get(streams_at..streams_at + half).unwrap_or_default();
            r.ids = a.argv.get(streams_at + half..).unwrap_or_default();
            r.ids_at = streams_at + half;
            break;
        } else if a.is(i, "group") && more >= 2 {
            if !group_cmd {
                return Err(CmdError::new(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((a.at(i + 1), a.at(i + 2)));
            i += 2;
        } else if a.is(i, "noack") {
            if !group_cmd {
                return Err(CmdError::new(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(error::SYNTAX);
        }
        i += 1;
    }
    if streams_at == 0 {
        return Err(error::SYNTAX);
    }
    if group_cmd && r.group.is_none() {
        return Err(CmdError::new("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// What to read from one stream.
#[derive(Clone, Copy)]
enum ReadFrom {
    /// Entries after this id.
    After(StreamId),
    /// XREADGROUP `>`: entries never delivered to the group.
    New,
}

fn xread_generic(ctx: &mut Ctx, a: &Args, group_cmd: bool) -> CmdResult {
    let r = parse_read_args(ctx, a, group_cmd)?;
    let rerun = ctx.srv.blocking.rerun == Some(ctx.cid);
    // This command's effects go out as XCLAIM/XGROUP commands, never as itself.
    ctx.no_propagate();
    let now = ctx.now_ms;
    let mut from = Vec::with_capacity(r.keys.len());
    let mut dollar = false;
    // Redis compat: t_stream.c xreadCommand looks each key up for reading once to
    // resolve the ids (stopping at the first error), and once more to serve; a
    // blocked client served later is not counted again.
    for (&key, &idarg) in r.keys.iter().zip(r.ids) {
        let o = if rerun {
            ctx.srv.dbs[ctx.db].get(key, now)
        } else {
            ctx.read_key(key)
        };
        if rerun && group_cmd && o.is_none_or(|o| o.stream().is_none()) {
            return Err(CmdError::new("UNBLOCKED the stream key no longer exists"));
        }
        let s = match o.map(|o| o.stream()) {
            Some(Some(s)) => Some(s),
            // A blocked XREAD keeps waiting while its key holds something else.
            Some(None) if !rerun => return Err(error::WRONGTYPE),
            _ => None,
        };
        if let Some((g, _)) = r.group {
            if s.and_then(|s| s.groups.get(g)).is_none() {
                if rerun {
                    return Err(CmdError::new(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    ));
                }
                return Err(nogroup(key, g, " in XREADGROUP with GROUP option"));
            }
        }
        if idarg == b"$" {
            if group_cmd {
                return Err(CmdError::new("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            dollar = true;
            from.push(ReadFrom::After(s.map(|s| s.last_id).unwrap_or_default()));
        } else if idarg == b">" {
            if !group_cmd {
                return Err(CmdError::new("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            from.push(ReadFrom::New);
        } else {
            from.push(ReadFrom::After(parse_strict_id(idarg, 0)?));
        }
    }
    let count = if r.count == 0 && rerun {
        BLOCKED_DEFAULT_COUNT
    } else {
        r.count
    };
    let limit = if count == 0 { usize::MAX } else { count };
    if !rerun {
        for &key in r.keys {
            ctx.read_key(key);
        }
    }
    // RESP3: a map of key -> entries; RESP2: an array of [key, entries] pairs.
    let d = ctx.out.begin_deferred(if ctx.out.resp3 { b'%' } else { b'*' });
    let mut served = 0;
    for (&key, &f) in r.keys.iter().zip(&from) {
        let n = match r.group {
            Some((g, consumer)) => serve_group(ctx, key, g, consumer, f, limit, r.noack)?,
            None => serve_plain(ctx, key, f, limit),
        };
        served += n as usize;
    }
    if served > 0 {
        ctx.out.end_deferred(d, served);
        return Ok(());
    }
    match r.block {
        Some(deadline) if ctx.may_block() => {
            ctx.block(r.keys, deadline, TimeoutReply::NullArray, NOT_STREAM);
            if dollar {
                // `$` means "after the last id when the command first ran".
                let mut v = owned_argv(a);
                for (k, f) in from.iter().enumerate() {
                    if let (ReadFrom::After(id), Some(x)) = (f, v.get_mut(r.ids_at + k)) {
                        *x = id.to_vec();
                    }
                }
                if let Some(b) = ctx.block.as_mut() {
                    b.argv = Some(v);
                }
            }
        }
        _ => ctx.out.null_array(),
    }
    Ok(())
}

/// XREAD on one stream: replies [key, entries] when there is something after the id.
fn serve_plain(ctx: &mut Ctx, key: &[u8], f: ReadFrom, limit: usize) -> bool {
    let ReadFrom::After(after) = f else {
        return false;
    };
    let now = ctx.now_ms;
    let Some(s) = ctx.srv.dbs[ctx.db].get(key, now).and_then(|o| o.stream()) else {
        return false;
    };
    if s.is_empty() || s.last_valid_id() <= after {
        return false;
    }
    let Some(start) = after.next() else {
        return false;
    };
    let out = &mut *ctx.out;
    if !out.resp3 {
        out.array(2);
    }
    out.bulk(key);
    reply_range(out, s, start, StreamId::MAX, limit, false);
    true
}

/// XREADGROUP on one stream: new entries (`>`) or the consumer's own history.
fn serve_group(
    ctx: &mut Ctx,
    key: &[u8],
    gname: &[u8],
    cname: &[u8],
    f: ReadFrom,
    limit: usize,
    noack: bool,
) -> Result<bool, CmdError> {
    let now = ctx.now_ms;
    let db = ctx.db;
    let Some(s) = ctx.srv.dbs[db].get_mut(key, now).and_then(|o| o.stream_mut()) else {
        return Ok(false);
    };
    let Some(g) = s.groups.get(gname) else {
        return Ok(false);
    };
    let start = match f {
        ReadFrom::After(id) => id.next(),
        ReadFrom::New => {
            if s.is_empty() || s.last_valid_id() <= g.last_id {
                return Ok(false);
            }
            g.last_id.next()
        }
    };
    let history = matches!(f, ReadFrom::After(_));
    // Take the stream out of the keyspace borrow: groups and entries change together.
    let mut groups = std::mem::take(&mut s.groups);
    let Some(g) = groups.get_mut(gname) else {
        s.groups = groups;
        return Ok(false);
    };
    let created = touch_consumer(g, cname, now);
    let out = &mut *ctx.out;
    if !out.resp3 {
        out.array(2);
    }
    out.bulk(key);
    // Each delivered id, with the group's last id once it was delivered.
    let mut claims: Vec<(StreamId, StreamId)> = Vec::new();
    let mut last_advanced = false;
    match start {
        None => out.array(0),
        Some(start) if history => {
            let ids: Vec<StreamId> = g
                .consumers
                .get(cname)
                .map(|c| c.pel.range(start..).take(limit).copied().collect())
                .unwrap_or_default();
            out.array(ids.len());
            for id in ids {
                match s.log.get(id) {
                    Some(e) => {
                        reply_entry(out, &e);
                        if let Some(n) = g.pel.get_mut(&id) {
                            n.delivery_time = now;
                            n.delivery_count += 1;
                        }
                    }
                    None => {
                        out.array(2);
                        write_id(out, id);
                        out.null_array();
                    }
                }
            }
        }
        Some(start) => {
            let d = out.begin_deferred(b'*');
            let mut n = 0;
            let s: &Stream = s;
            for e in s.log.range(start, StreamId::MAX).take(limit) {
                if e.id > g.last_id {
                    s.advance_group(g, e.id);
                    last_advanced = true;
                }
                reply_entry(out, &e);
                if !noack {
                    g.deliver(e.id, cname, now);
                    claims.push((e.id, g.last_id));
                }
                n += 1;
            }
            out.end_deferred(d, n);
        }
    }
    let (glast, gread) = (g.last_id, g.entries_read);
    let nacks: Vec<(StreamId, i64, u64, StreamId)> = claims
        .iter()
        .filter_map(|(id, last)| g.pel.get(id).map(|n| (*id, n.delivery_time, n.delivery_count, *last)))
        .collect();
    s.groups = groups;
    note_consumer_created(ctx, key, created);
    if created && noack {
        ctx.also_propagate(&[&b"XGROUP"[..], b"CREATECONSUMER", key, gname, cname]);
    }
    // Redis compat: t_stream.c streamReplyWithRange: LASTID is the group's last id
    // as each entry is delivered.
    for (id, time, count, last) in nacks {
        propagate_claim(ctx, key, gname, cname, id, time, count, last);
    }
    if noack && last_advanced {
        propagate_setid(ctx, key, gname, glast, gread);
    }
    ctx.dirty(1);
    Ok(true)
}

/// Redis compat: streamPropagateXCLAIM.
#[allow(clippy::too_many_arguments)]
fn propagate_claim(
    ctx: &mut Ctx,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    time: i64,
    count: u64,
    last: StreamId,
) {
    if !ctx.propagating() {
        return;
    }
    let argv: Vec<Vec<u8>> = vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.to_vec(),
        b"TIME".to_vec(),
        time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_vec(),
    ];
    ctx.also_propagate(&argv);
}

/// Redis compat: streamPropagateGroupID.
fn propagate_setid(ctx: &mut Ctx, key: &[u8], group: &[u8], last: StreamId, read: i64) {
    if !ctx.propagating() {
        return;
    }
    let argv: Vec<Vec<u8>> = vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        last.to_vec(),
        b"ENTRIESREAD".to_vec(),
        read.to_string().into_bytes(),
    ];
    ctx.also_propagate(&argv);
}

fn xread(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xread_generic(ctx, a, false)
}

fn xreadgroup(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xread_generic(ctx, a, true)
}

/// The parts of XGROUP every subcommand but HELP shares: options, key and group lookup.
/// Redis compat: xgroupCommand's preamble.
struct GroupArgs {
    mkstream: bool,
    entries_read: i64,
}

fn xgroup_prepare(ctx: &mut Ctx, a: &Args, sub: &str) -> Result<GroupArgs, CmdError> {
    let mut g = GroupArgs {
        mkstream: false,
        entries_read: ENTRIES_READ_INVALID,
    };
    let create = sub == "create";
    let setid = sub == "setid";
    let mut i = 5;
    while i < a.len() {
        if create && a.is(i, "mkstream") {
            g.mkstream = true;
            i += 1;
        } else if (create || setid) && a.is(i, "entriesread") && i + 1 < a.len() {
            let n = parse_ll(a.at(i + 1))?;
            if n < 0 && n != ENTRIES_READ_INVALID {
                return Err(CmdError::new("ERR value for ENTRIESREAD must be positive or -1"));
            }
            g.entries_read = n;
            i += 2;
        } else {
            return Err(error::subcommand_syntax(a.at(1), "xgroup"));
        }
    }
    let (key, gname) = (a.at(2), a.at(3));
    let exists = write_stream(ctx, key)?.map(|s| s.groups.contains_key(gname));
    if !g.mkstream {
        match exists {
            None => return Err(CmdError::new("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")),
            Some(false) if matches!(sub, "setid" | "createconsumer" | "delconsumer") => {
                return Err(nogroup_for_key(gname, key))
            }
            _ => {}
        }
    }
    Ok(g)
}

fn xgroup_create(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let g = xgroup_prepare(ctx, a, "create")?;
    if a.len() > 8 {
        return Err(error::subcommand_syntax(a.at(1), "xgroup"));
    }
    let (key, gname) = (a.at(2), a.at(3));
    let last = write_stream(ctx, key)?.map(|s| s.last_id);
    let id = if a.at(4) == b"$" {
        last.unwrap_or_default()
    } else {
        parse_strict_id(a.at(4), 0)?
    };
    let now = ctx.now_ms;
    if last.is_none() {
        ctx.srv.dbs[ctx.db].add(Obj::new_value(key, Value::Stream(Box::default())), now);
        ctx.srv.key_changed(ctx.db, key, Some(ctx.cid));
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Err(error::WRONGTYPE);
    };
    if s.groups.contains_key(gname) {
        return Err(CmdError::new("BUSYGROUP Consumer Group name already exists"));
    }
    s.groups.insert(gname.to_vec(), Group::new(id, g.entries_read));
    // Redis replies, then announces the group (a stream MKSTREAM created is announced
    // before the reply).
    ctx.hold_own_events();
    ctx.dirty(1);
    ctx.notify(key, "xgroup-create");
    ctx.out.ok();
    Ok(())
}

fn xgroup_setid(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let g = xgroup_prepare(ctx, a, "setid")?;
    if a.len() != 5 && a.len() != 7 {
        return Err(error::subcommand_syntax(a.at(1), "xgroup"));
    }
    let (key, gname) = (a.at(2), a.at(3));
    let Some(s) = write_stream(ctx, key)? else {
        return Err(error::WRONGTYPE);
    };
    let id = if a.at(4) == b"$" {
        s.last_id
    } else {
        parse_id(a.at(4), 0)?
    };
    if let Some(grp) = s.groups.get_mut(gname) {
        grp.last_id = id;
        grp.entries_read = g.entries_read;
    }
    ctx.out.ok();
    ctx.dirty(1);
    ctx.notify(key, "xgroup-setid");
    Ok(())
}

fn xgroup_destroy(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xgroup_prepare(ctx, a, "destroy")?;
    let (key, gname) = (a.at(2), a.at(3));
    let removed = write_stream(ctx, key)?.is_some_and(|s| s.groups.remove(gname).is_some());
    if removed {
        ctx.out.int(1);
        ctx.dirty(1);
        ctx.notify(key, "xgroup-destroy");
        // Clients blocked reading this group get -NOGROUP.
        ctx.srv.signal_key(ctx.db, key);
    } else {
        ctx.out.int(0);
    }
    Ok(())
}

fn xgroup_createconsumer(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xgroup_prepare(ctx, a, "createconsumer")?;
    let (key, gname, cname) = (a.at(2), a.at(3), a.at(4));
    let now = ctx.now_ms;
    let created = match write_stream(ctx, key)?.and_then(|s| s.groups.get_mut(gname)) {
        Some(g) if !g.consumers.contains_key(cname) => {
            g.consumers.insert(cname.to_vec(), Consumer::new(now));
            true
        }
        _ => false,
    };
    note_consumer_created(ctx, key, created);
    ctx.out.int(created as i64);
    Ok(())
}

fn xgroup_delconsumer(ctx: &mut Ctx, a: &Args) -> CmdResult {
    xgroup_prepare(ctx, a, "delconsumer")?;
    let (key, gname, cname) = (a.at(2), a.at(3), a.at(4));
    let pending = write_stream(ctx, key)?
        .and_then(|s| s.groups.get_mut(gname))
        .and_then(|g| g.del_consumer(cname));
    if pending.is_some() {
        ctx.dirty(1);
        ctx.notify(key, "xgroup-delconsumer");
    }
    ctx.out.int(pending.unwrap_or(0) as i64);
    Ok(())
}

fn xgroup_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    super::keyspace::help(
        ctx,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

fn xsetid(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let id = parse_strict_id(a.at(2), 0)?;
    let mut added: i64 = -1;
    let mut max_del = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if a.is(i, "entriesadded") && more > 0 {
            added = parse_ll(a.at(i + 1))?;
            if added < 0 {
                return Err(CmdError::new("ERR entries_added must be positive"));
            }
        } else if a.is(i, "maxdeletedid") && more > 0 {
            max_del = parse_strict_id(a.at(i + 1), 0)?;
            if id < max_del {
                return Err(CmdError::new(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(error::SYNTAX);
        }
        i += 2;
    }
    let key = a.at(1);
    let Some(s) = write_stream(ctx, key)? else {
        return Err(error::NO_SUCH_KEY);
    };
    if !s.is_empty() {
        if id < s.last_valid_id() {
            return Err(CmdError::new(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if added != -1 && s.len() > added as u64 {
            return Err(CmdError::new(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if added != -1 {
        s.entries_added = added as u64;
    }
    if max_del != StreamId::MIN {
        s.max_deleted = max_del;
    }
    ctx.out.ok();
    ctx.modified(key, "xsetid");
    Ok(())
}

/// The stream at `key` holding group `gname`, for writing, or Redis's NOGROUP error.
fn group_stream<'c>(db: &'c mut Db, now: i64, key: &[u8], gname: &[u8]) -> Result<&'c mut Stream, CmdError> {
    match db.get_mut(key, now) {
        Some(o) => match o.stream_mut() {
            Some(s) if s.groups.contains_key(gname) => Ok(s),
            Some(_) => Err(nogroup(key, gname, "")),
            None => Err(error::WRONGTYPE),
        },
        None => Err(nogroup(key, gname, "")),
    }
}

fn xack(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (key, gname) = (a.at(1), a.at(2));
    // Redis compat: t_stream.c looks the key up for reading first, whatever follows.
    ctx.read_key(key);
    let has_group = match write_stream(ctx, key)? {
        Some(s) => s.groups.contains_key(gname),
        None => false,
    };
    if !has_group {
        ctx.out.int(0);
        return Ok(());
    }
    let ids: Vec<StreamId> = a
        .rest(3)
        .iter()
        .map(|x| parse_strict_id(x, 0))
        .collect::<Result<_, _>>()?;
    let s = group_stream(&mut ctx.srv.dbs[ctx.db], ctx.now_ms, key, gname)?;
    let mut n = 0u64;
    if let Some(g) = s.groups.get_mut(gname) {
        for id in ids {
            n += g.ack(id) as u64;
        }
    }
    ctx.dirty(n);
    ctx.out.int(n as i64);
    Ok(())
}

fn xpending(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (key, gname) = (a.at(1), a.at(2));
    let justinfo = a.len() == 3;
    if a.len() != 3 && (a.len() < 6 || a.len() > 9) {
        return Err(error::SYNTAX);
    }
    let mut range = None;
    let mut consumer: Option<&[u8]> = None;
    let mut minidle = 0i64;
    if a.len() >= 6 {
        let mut at = 3;
        if a.is(3, "idle") {
            minidle = parse_ll(a.at(4))?;
            if a.len() < 8 {
                return Err(error::SYNTAX);
            }
            at += 2;
        }
        let count = parse_ll(a.at(at + 2))?.max(0) as usize;
        let start = parse_interval(a.at(at), 0, true)?;
        let end = parse_interval(a.at(at + 1), u64::MAX, false)?;
        if at + 3 < a.len() {
            consumer = Some(a.at(at + 3));
        }
        range = Some((start, end, count));
    }
    let now = ctx.now_ms;
    let (s, out) = read_stream(ctx, key)?;
    let Some(g) = s.and_then(|s| s.groups.get(gname)) else {
        return Err(nogroup(key, gname, ""));
    };
    let Some((start, end, count)) = range.filter(|_| !justinfo) else {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(&first), Some(&last)) => {
                write_id(out, first);
                write_id(out, last);
                let owners: Vec<(&Vec<u8>, usize)> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .map(|(n, c)| (n, c.pel.len()))
                    .collect();
                out.array(owners.len());
                for (name, n) in owners {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_i64(n as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) if start <= end => Box::new(c.pel.range(start..=end).copied()),
            Some(_) => Box::new(std::iter::empty()),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None if start <= end => Box::new(g.pel.range(start..=end).map(|(k, _)| *k)),
        None => Box::new(std::iter::empty()),
    };
    let d = out.begin_deferred(b'*');
    let mut n = 0;
    for id in ids {
        if n >= count {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if minidle > 0 && now - nack.delivery_time < minidle {
            continue;
        }
        n += 1;
        out.array(4);
        write_id(out, id);
        out.bulk(&nack.consumer);
        out.int((now - nack.delivery_time).max(0));
        out.int(nack.delivery_count as i64);
    }
    out.end_deferred(d, n);
    Ok(())
}

/// Creates consumer `name` in the group if needed (dirty and notified as Redis does);
/// refreshes its seen time otherwise. Whether it was created.
fn touch_consumer(g: &mut Group, name: &[u8], now: i64) -> bool {
    match g.consumers.get_mut(name) {
        Some(c) => {
            c.seen_time = now;
            false
        }
        None => {
            g.consumers.insert(name.to_vec(), Consumer::new(now));
            true
        }
    }
}

fn xclaim(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (key, gname, cname) = (a.at(1), a.at(2), a.at(3));
    // Redis compat: t_stream.c looks the key up for reading first, whatever follows.
    ctx.read_key(key);
    group_stream(&mut ctx.srv.dbs[ctx.db], ctx.now_ms, key, gname)?;
    let minidle = parse_ll_msg(a.at(4), "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match parse_strict_id(a.at(j), 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now_ms;
    let (mut force, mut justid) = (false, false);
    let mut retry: i64 = -1;
    let mut time: i64 = -1;
    let mut last = StreamId::MIN;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "force") {
            force = true;
        } else if a.is(j, "justid") {
            justid = true;
        } else if a.is(j, "idle") && more > 0 {
            j += 1;
            time = now - parse_ll_msg(a.at(j), "ERR Invalid IDLE option argument for XCLAIM")?;
        } else if a.is(j, "time") && more > 0 {
            j += 1;
            time = parse_ll_msg(a.at(j), "ERR Invalid TIME option argument for XCLAIM")?;
        } else if a.is(j, "retrycount") && more > 0 {
            j += 1;
            retry = parse_ll_msg(a.at(j), "ERR Invalid RETRYCOUNT option argument for XCLAIM")?;
        } else if a.is(j, "lastid") && more > 0 {
            j += 1;
            last = parse_strict_id(a.at(j), 0)?;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(a.at(j))
            )));
        }
        j += 1;
    }
    let time = if time < 0 || time > now { now } else { time };
    ctx.no_propagate();
    let s = group_stream(&mut ctx.srv.dbs[ctx.db], ctx.now_ms, key, gname)?;
    let mut groups = std::mem::take(&mut s.groups);
    let Some(g) = groups.get_mut(gname) else {
        s.groups = groups;
        return Err(nogroup(key, gname, ""));
    };
    let mut prop_last = false;
    if last > g.last_id {
        g.last_id = last;
        prop_last = true;
    }
    let out = &mut *ctx.out;
    let d = out.begin_deferred(b'*');
    let mut n = 0;
    let mut created = false;
    // (id, owner, time, count): every PEL change, to propagate.
    let mut changes: Vec<PelChange> = Vec::new();
    for id in ids {
        let exists = s.log.get(id).is_some();
        if !exists {
            if let Some(nack) = g.pel.get(&id) {
                changes.push((id, nack.consumer.clone(), nack.delivery_time, nack.delivery_count));
                g.ack(id);
            }
            continue;
        }
        let fresh = !g.pel.contains_key(&id);
        if fresh {
            if !force {
                continue;
            }
        } else if minidle > 0 {
            if let Some(nack) = g.pel.get(&id) {
                if now - nack.delivery_time < minidle {
                    continue;
                }
            }
        }
        created |= touch_consumer(g, cname, now);
        if fresh {
            g.pel.insert(
                id,
                Nack {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: cname.to_vec(),
                },
            );
        }
        let Some(nack) = g.assign(id, cname) else { continue };
        nack.delivery_time = time;
        if retry >= 0 {
            nack.delivery_count = retry as u64;
        } else if !justid {
            nack.delivery_count += 1;
        }
        changes.push((id, cname.to_vec(), nack.delivery_time, nack.delivery_count));
        if justid {
            write_id(out, id);
        } else if let Some(e) = s.log.get(id) {
            reply_entry(out, &e);
        }
        n += 1;
    }
    out.end_deferred(d, n);
    let (glast, gread) = (g.last_id, g.entries_read);
    s.groups = groups;
    let any = !changes.is_empty();
    finish_claims(ctx, key, gname, created, changes, glast);
    if prop_last && !any {
        ctx.dirty(1);
        propagate_setid(ctx, key, gname, glast, gread);
    }
    Ok(())
}

fn xautoclaim(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (key, gname, cname) = (a.at(1), a.at(2), a.at(3));
    // Redis compat: t_stream.c looks the key up for reading first, whatever follows.
    ctx.read_key(key);
    let minidle = parse_ll_msg(a.at(4), "ERR Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let start = parse_interval(a.at(5), 0, true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "count") && more > 0 {
            // Redis compat: LONG_MAX / max(sizeof(streamID), attempts factor 10).
            let max = i64::MAX / 16;
            count = match num::parse_i64(a.at(j + 1)) {
                Some(c) if (1..=max).contains(&c) => c,
                _ => return Err(CmdError::new("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if a.is(j, "justid") {
            justid = true;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let now = ctx.now_ms;
    ctx.no_propagate();
    let s = group_stream(&mut ctx.srv.dbs[ctx.db], ctx.now_ms, key, gname)?;
    let mut groups = std::mem::take(&mut s.groups);
    let Some(g) = groups.get_mut(gname) else {
        s.groups = groups;
        return Err(nogroup(key, gname, ""));
    };
    let mut attempts = count.saturating_mul(10);
    let mut left = count;
    let out = &mut *ctx.out;
    out.array(3);
    let mut body = ReplyBuf::new();
    body.resp3 = out.resp3;
    let mut n = 0;
    let mut deleted = Vec::new();
    let mut created = false;
    let mut changes: Vec<PelChange> = Vec::new();
    let mut cursor = start;
    let next: Option<StreamId>;
    loop {
        let Some((id, owner, dtime, dcount)) = g
            .pel
            .range(cursor..)
            .next()
            .map(|(&id, n)| (id, n.consumer.clone(), n.delivery_time, n.delivery_count))
        else {
            next = None;
            break;
        };
        if attempts == 0 || left == 0 {
            next = Some(id);
            break;
        }
        attempts -= 1;
        cursor = match id.next() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        if s.log.get(id).is_none() {
            changes.push((id, owner, dtime, dcount));
            g.ack(id);
            deleted.push(id);
            left -= 1;
        } else if minidle > 0 && now - dtime < minidle {
            // Not idle long enough.
        } else {
            created |= touch_consumer(g, cname, now);
            if let Some(nack) = g.assign(id, cname) {
                nack.delivery_time = now;
                if !justid {
                    nack.delivery_count += 1;
                }
                changes.push((id, cname.to_vec(), nack.delivery_time, nack.delivery_count));
            }
            if justid {
                write_id(&mut body, id);
            } else if let Some(e) = s.log.get(id) {
                reply_entry(&mut body, &e);
            }
            n += 1;
            left -= 1;
        }
        if id == StreamId::MAX {
            next = None;
            break;
        }
    }
    write_id(out, next.unwrap_or_default());
    out.array(n);
    out.raw(&body.buf);
    out.array(deleted.len());
    for id in deleted {
        write_id(out, id);
    }
    let glast = g.last_id;
    s.groups = groups;
    finish_claims(ctx, key, gname, created, changes, glast);
    Ok(())
}

/// A PEL change made by XCLAIM/XAUTOCLAIM: (id, owner, delivery time, delivery count).
type PelChange = (StreamId, Vec<u8>, i64, u64);

/// Accounts for what a claim did: the consumer it created, and each PEL change as the
/// XCLAIM that reproduces it.
fn finish_claims(ctx: &mut Ctx, key: &[u8], gname: &[u8], created: bool, changes: Vec<PelChange>, last: StreamId) {
    note_consumer_created(ctx, key, created);
    for (id, owner, t, c) in changes {
        ctx.dirty(1);
        propagate_claim(ctx, key, gname, &owner, id, t, c, last);
    }
}

/// A consumer created as a side effect counts as a change and is announced.
fn note_consumer_created(ctx: &mut Ctx, key: &[u8], created: bool) {
    if created {
        ctx.dirty(1);
        ctx.notify(key, "xgroup-createconsumer");
    }
}

/// The stream at `key` for XINFO (absent: "no such key").
fn info_stream<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<(&'c Stream, &'c mut ReplyBuf), CmdError> {
    match read_stream(ctx, key)? {
        (Some(s), out) => Ok((s, out)),
        (None, _) => Err(error::NO_SUCH_KEY),
    }
}

fn reply_lag(out: &mut ReplyBuf, s: &Stream, g: &Group) {
    match s.lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

fn reply_entries_read(out: &mut ReplyBuf, g: &Group) {
    if g.entries_read == ENTRIES_READ_INVALID {
        out.null();
    } else {
        out.int(g.entries_read);
    }
}

fn xinfo_consumers(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (key, gname) = (a.at(2), a.at(3));
    let now = ctx.now_ms;
    let (s, out) = info_stream(ctx, key)?;
    let g = s.groups.get(gname).ok_or_else(|| nogroup_for_key(gname, key))?;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pel.len() as i64);
        out.bulk(b"idle");
        out.int((now - c.seen_time).max(0));
    }
    Ok(())
}

fn xinfo_groups(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (s, out) = info_stream(ctx, a.at(2))?;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        write_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, s, g);
    }
    Ok(())
}

fn xinfo_stream(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Redis compat: t_stream.c xinfoCommand looks the key up before reading FULL.
    let (s, out) = info_stream(ctx, a.at(2))?;
    let opts = a.rest(3);
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !a.is(3, "full") {
            return Err(error::subcommand_syntax(a.at(1), "xinfo"));
        }
        full = true;
        if opts.len() == 3 {
            if !a.is(4, "count") {
                return Err(error::subcommand_syntax(a.at(1), "xinfo"));
            }
            count = parse_ll(a.at(5))?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let limit = if count == 0 { usize::MAX } else { count as usize };
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.log.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.log.radix_nodes() as i64);
    out.bulk(b"last-generated-id");
    write_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    write_id(out, s.max_deleted);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    write_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        out.bulk(b"first-entry");
        match s.log.first() {
            Some(e) => reply_entry(out, &e),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match s.log.last() {
            Some(e) => reply_entry(out, &e),
            None => out.null(),
        }
        return Ok(());
    }
    out.bulk(b"entries");
    reply_range(out, s, StreamId::MIN, StreamId::MAX, limit, false);
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        write_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let shown = g.pel.len().min(limit);
        out.array(shown);
        for (id, nack) in g.pel.iter().take(shown) {
            out.array(4);
            write_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let shown = c.pel.len().min(limit);
            out.array(shown);
            for id in c.pel.iter().take(shown) {
                let (t, n) = g.pel.get(id).map_or((0, 0), |x| (x.delivery_time, x.delivery_count));
                out.array(3);
                write_id(out, *id);
                out.int(t);
                out.int(n as i64);
            }
        }
    }
    Ok(())
}

fn xinfo_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    super::keyspace::help(
        ctx,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

/// XREAD/XREADGROUP keys: half of what follows STREAMS. Redis compat: xreadGetKeys.
pub fn keys_xread(argv: &[&[u8]]) -> Vec<usize> {
    let Some(at) = argv
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, a)| a.eq_ignore_ascii_case(b"streams"))
        .map(|(i, _)| i + 1)
    else {
        return Vec::new();
    };
    let n = argv.len().saturating_sub(at);
    if n % 2 != 0 {
        return Vec::new();
    }
    (at..at + n / 2).collect()
}

const S: u64 = ACL_STREAM;

const XGROUP_SUBS: &[CommandSpec] = &[
    cmd("create", -5, WRITE | DENYOOM, S, xgroup_create)
        .keys(2, 2, 1, KS_RW | KS_INSERT)
        .doc(G, "5.0.0", "O(1)", "Creates a consumer group."),
    cmd("createconsumer", 5, WRITE | DENYOOM, S, xgroup_createconsumer)
        .keys(2, 2, 1, KS_RW | KS_INSERT)
        .doc(G, "6.2.0", "O(1)", "Creates a consumer in a consumer group."),
    cmd("delconsumer", 5, WRITE, S, xgroup_delconsumer)
        .keys(2, 2, 1, KS_RW | KS_DELETE)
        .doc(G, "5.0.0", "O(1)", "Deletes a consumer from a consumer group."),
    cmd("destroy", 4, WRITE, S, xgroup_destroy)
        .keys(2, 2, 1, KS_RW | KS_DELETE)
        .doc(
            G,
            "5.0.0",
            "O(N) where N is the number of entries in the group's pending entries list (PEL).",
            "Destroys a consumer group.",
        ),
    cmd("help", 2, LOADING | STALE, S, xgroup_help).doc(G, "5.0.0", "O(1)", "Lists the XGROUP subcommands."),
    cmd("setid", -5, WRITE, S, xgroup_setid)
        .keys(2, 2, 1, KS_RW | KS_UPDATE)
        .doc(G, "5.0.0", "O(1)", "Sets the last-delivered ID of a consumer group."),
];

const XINFO_SUBS: &[CommandSpec] = &[
    cmd("consumers", 4, READONLY, S, xinfo_consumers)
        .keys(2, 2, 1, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "O(1)", "Lists the consumers in a consumer group.")
        .tips(&["nondeterministic_output"]),
    cmd("groups", 3, READONLY, S, xinfo_groups)
        .keys(2, 2, 1, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "O(1)", "Lists the consumer groups of a stream."),
    cmd("help", 2, LOADING | STALE, S, xinfo_help).doc(G, "5.0.0", "O(1)", "Lists the XINFO subcommands."),
    cmd("stream", -3, READONLY, S, xinfo_stream)
        .keys(2, 2, 1, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "O(1)", "Returns information about a stream."),
];

pub const COMMANDS: &[CommandSpec] = &[
    cmd("xadd", -5, WRITE | DENYOOM | FAST, S, xadd)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(G, "5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "Appends a new entry to a stream.")
        .tips(&["nondeterministic_output"]),
    cmd("xrange", -4, READONLY, S, xrange)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Returns the entries of a stream within a range of IDs."),
    cmd("xrevrange", -4, READONLY, S, xrevrange)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Returns the entries of a stream within a range of IDs, in reverse order."),
    cmd("xlen", 2, READONLY | FAST, S, xlen).keys(1, 1, 1, KS_RO).doc(G, "5.0.0", "O(1)", "Returns the number of entries in a stream."),
    cmd("xread", -4, READONLY | BLOCKING | MOVABLE_KEYS, S, xread)
        .specs(XREAD_SPECS)
        .keys_with(keys_xread, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise."),
    cmd("xreadgroup", -7, WRITE | BLOCKING | MOVABLE_KEYS, S, xreadgroup)
        .specs(XREADGROUP_SPECS)
        .keys_with(keys_xread, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise."),
    cmd("xdel", -3, WRITE | FAST, S, xdel)
        .keys(1, 1, 1, KS_RW | KS_DELETE)
        .doc(G, "5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size.", "Returns the number of messages after removing them from a stream."),
    cmd("xtrim", -4, WRITE, S, xtrim)
        .keys(1, 1, 1, KS_RW | KS_DELETE)
        .doc(G, "5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "Deletes messages from the beginning of a stream.")
        .tips(&["nondeterministic_output"]),
    crate::cmd::spec::container("xgroup", 0, XGROUP_SUBS).doc(G, "5.0.0", "Depends on subcommand.", "A container for consumer groups commands."),
    cmd("xack", -4, WRITE | FAST, S, xack)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(G, "5.0.0", "O(1) for each message ID processed.", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream."),
    cmd("xpending", -3, READONLY, S, xpending)
        .keys(1, 1, 1, KS_RO | KS_ACCESS)
        .doc(G, "5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "Returns the information and entries from a stream consumer group's pending entries list.")
        .tips(&["nondeterministic_output"]),
    cmd("xclaim", -6, WRITE | FAST, S, xclaim)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(G, "5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group.", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.")
        .tips(&["nondeterministic_output"]),
    cmd("xautoclaim", -6, WRITE | FAST, S, xautoclaim)
        .keys(1, 1, 1, KS_RW | KS_DELETE)
        .doc(G, "6.2.0", "O(1) if COUNT is small.", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.")
        .tips(&["nondeterministic_output"]),
    crate::cmd::spec::container("xinfo", 0, XINFO_SUBS).doc(G, "5.0.0", "Depends on subcommand.", "A container for stream introspection commands."),
    cmd("xsetid", -3, WRITE | DENYOOM | FAST, S, xsetid)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(G, "5.0.0", "O(1)", "An internal command for replicating stream values."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!(parse_id(b"5", 0).unwrap(), StreamId::new(5, 0));
        assert_eq!(parse_id(b"5", u64::MAX).unwrap(), StreamId::new(5, u64::MAX));
        assert_eq!(parse_id(b"5-3", 0).unwrap(), StreamId::new(5, 3));
        assert_eq!(parse_id(b"-", 0).unwrap(), StreamId::MIN);
        assert_eq!(parse_id(b"+", 0).unwrap(), StreamId::MAX);
        assert!(parse_strict_id(b"-", 0).is_err());
        assert!(parse_id(b"5-x", 0).is_err());
        assert!(parse_id(b"-5", 0).is_err());
        assert!(parse_id(b"", 0).is_err());
        assert!(parse_id(b"18446744073709551616", 0).is_err());
        assert_eq!(
            parse_id(b"18446744073709551615-1", 0).unwrap(),
            StreamId::new(u64::MAX, 1)
        );
        assert_eq!(
            parse_id_ext(b"7-*", 0, true, true).unwrap(),
            (StreamId::new(7, 0), false)
        );
        assert!(parse_id_ext(b"7-*", 0, true, false).is_err());
        assert_eq!(parse_interval(b"(5-0", 0, true).unwrap(), StreamId::new(5, 1));
        assert_eq!(parse_interval(b"(5-0", 0, false).unwrap(), StreamId::new(4, u64::MAX));
        assert_eq!(parse_interval(b"(0-0", 0, false), Err(BAD_END));
        assert!(parse_interval(b"(-", 0, true).is_err());
    }

    #[test]
    fn xread_keys_are_the_first_half_after_streams() {
        let argv: Vec<&[u8]> = vec![b"xread", b"count", b"1", b"streams", b"a", b"b", b"0", b"0"];
        assert_eq!(keys_xread(&argv), vec![4, 5]);
        let argv: Vec<&[u8]> = vec![b"xread", b"streams", b"a", b"b", b"0"];
        assert!(keys_xread(&argv).is_empty());
    }
}
