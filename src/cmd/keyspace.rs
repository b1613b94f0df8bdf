//! Generic keyspace commands: existence, deletion, renaming, copying, TTLs, KEYS and
//! SCAN, OBJECT, and the db-level commands (SELECT, MOVE, SWAPDB, FLUSHDB, FLUSHALL).
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx, Look};
use crate::db::{idle_ms, lazyfree, Obj};
use crate::util::glob::glob_match;
use crate::util::num;

const G: &str = "generic";

fn del_generic(ctx: &mut Ctx, a: &Args, lazy: bool) -> CmdResult {
    let now = ctx.now_ms;
    let mut n = 0;
    for k in a.rest(1) {
        if !ctx.db().exists(k, now) {
            continue;
        }
        let free = |o| {
            if lazy {
                lazyfree_value(o);
            }
        };
        if ctx.db().delete(k, free) {
            n += 1;
            ctx.modified(k, "del");
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// Frees a removed value in the background when it is expensive to free.
fn lazyfree_value(o: Obj) {
    // Redis compat: lazyfree.c LAZYFREE_THRESHOLD: more than 64 allocations to free.
    if o.heap()
        .is_some_and(|v| v.weight() > 64 || matches!(v, crate::db::Value::Str(s) if s.len() > 64 * 1024))
    {
        lazyfree::drop_later(o);
    }
}

fn del(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let lazy = ctx.srv.cfg.lazyfree_lazy_user_del;
    del_generic(ctx, a, lazy)
}

fn unlink(ctx: &mut Ctx, a: &Args) -> CmdResult {
    del_generic(ctx, a, true)
}

fn exists(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let n = a.rest(1).iter().filter(|k| ctx.read_exists(k)).count();
    ctx.out.int(n as i64);
    Ok(())
}

fn touch(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let n = a.rest(1).iter().filter(|k| ctx.read_key(k).is_some()).count();
    ctx.out.int(n as i64);
    Ok(())
}

fn type_(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let t = ctx
        .read_parts(a.at(1), Look::NoTouch)
        .0
        .map(|o| o.type_name())
        .unwrap_or("none");
    ctx.out.simple(t);
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, a: &Args, nx: bool) -> CmdResult {
    let (src, dst) = (a.at(1), a.at(2));
    let now = ctx.now_ms;
    if !ctx.db().exists(src, now) {
        return Err(error::NO_SUCH_KEY);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    let db = ctx.db();
    if db.exists(dst, now) {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        db.remove(dst);
    }
    if !db.rename(src, dst, now) {
        return Err(error::NO_SUCH_KEY);
    }
    // One change (Redis compat: db.c renameGenericCommand).
    ctx.modified(src, "rename_from");
    ctx.signal(dst, "rename_to");
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx, a: &Args) -> CmdResult {
    rename_generic(ctx, a, false)
}

fn renamenx(ctx: &mut Ctx, a: &Args) -> CmdResult {
    rename_generic(ctx, a, true)
}

/// Parses a db index argument the way MOVE/COPY do.
fn db_arg(ctx: &Ctx, v: &[u8]) -> Result<usize, CmdError> {
    let id = num::parse_i64(v).ok_or(error::NOT_INT)?;
    // Redis compat: object.c getIntFromObjectOrReply.
    if id < i32::MIN as i64 || id > i32::MAX as i64 {
        return Err(CmdError::new(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if id < 0 || id as usize >= ctx.srv.dbs.len() {
        return Err(error::DB_INDEX);
    }
    Ok(id as usize)
}

fn copy(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (src, dst) = (a.at(1), a.at(2));
    let mut target = ctx.db;
    let mut replace = false;
    let mut j = 3;
    while j < a.len() {
        if a.is(j, "replace") {
            replace = true;
        } else if a.is(j, "db") && j + 1 < a.len() {
            target = db_arg(ctx, a.at(j + 1))?;
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    if ctx.srv.cluster.is_some() && (ctx.db != 0 || target != 0) {
        return Err(CmdError::new(
            "ERR Copying to another database is not allowed in cluster mode",
        ));
    }
    if src == dst && target == ctx.db {
        return Err(error::SAME_OBJECT);
    }
    let now = ctx.now_ms;
    let Some(o) = ctx.read_key(src) else {
        ctx.out.int(0);
        return Ok(());
    };
    let copy = o.clone_as(dst);
    let ttl = ctx.srv.dbs[ctx.db].get_expire(src);
    let tdb = &mut ctx.srv.dbs[target];
    if tdb.exists(dst, now) {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        tdb.remove(dst);
    }
    tdb.add(copy, now);
    if let Some(at) = ttl {
        tdb.set_expire(dst, at);
    }
    ctx.modified_in(target, dst, "copy_to");
    ctx.out.int(1);
    Ok(())
}

fn move_(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if ctx.srv.cluster.is_some() {
        return Err(CmdError::new("ERR MOVE is not allowed in cluster mode"));
    }
    let key = a.at(1);
    let target = db_arg(ctx, a.at(2))?;
    if target == ctx.db {
        return Err(error::SAME_OBJECT);
    }
    let now = ctx.now_ms;
    if !ctx.db().exists(key, now) || ctx.srv.dbs[target].exists(key, now) {
        ctx.out.int(0);
        return Ok(());
    }
    // The entry moves with its TTL.
    let Some(o) = ctx.db().take(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    ctx.srv.dbs[target].add(o, now);
    // One change toward save points, though two dbs are touched. Redis compat: db.c
    // moveCommand (server.dirty++ once).
    ctx.modified(key, "move_from");
    let cid = ctx.cid;
    ctx.srv.key_changed(target, key, Some(cid));
    ctx.notify_in(target, key, "move_to");
    ctx.out.int(1);
    Ok(())
}

fn keys(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let pat = a.at(1);
    let all = pat == b"*";
    let now = ctx.now_ms;
    let db = &ctx.srv.dbs[ctx.db];
    let d = ctx.out.begin_deferred(b'*');
    let mut n = 0;
    for o in db.iter() {
        let k = o.key();
        if (all || glob_match(pat, k, false)) && o.expire_at().is_none_or(|at| at > now) {
            ctx.out.bulk(k);
            n += 1;
        }
    }
    ctx.out.end_deferred(d, n);
    Ok(())
}

/// SCAN's cursor/MATCH/COUNT/TYPE parsing, shared with the collection SCANs.
pub struct ScanOpts<'a> {
    pub cursor: u64,
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_: Option<&'a [u8]>,
}

/// Redis compat: db.c parseScanCursorOrReply reads the cursor with strtoul.
pub fn parse_cursor(v: &[u8]) -> Result<u64, CmdError> {
    super::set::parse_scan_cursor(v).ok_or(CmdError::new("ERR invalid cursor"))
}

pub fn parse_scan<'a>(a: &Args<'a>, cursor_at: usize, allow_type: bool) -> Result<ScanOpts<'a>, CmdError> {
    let cursor = parse_cursor(a.at(cursor_at))?;
    let mut o = ScanOpts {
        cursor,
        pattern: None,
        count: 10,
        type_: None,
    };
    let mut j = cursor_at + 1;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "count") && more {
            let c = a.i64(j + 1)?;
            if c < 1 {
                return Err(error::SYNTAX);
            }
            o.count = c as usize;
        } else if a.is(j, "match") && more {
            let p = a.at(j + 1);
            o.pattern = if p == b"*" { None } else { Some(p) };
        } else if a.is(j, "type") && more && allow_type {
            o.type_ = Some(a.at(j + 1));
        } else {
            return Err(error::SYNTAX);
        }
        j += 2;
    }
    Ok(o)
}

fn scan(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_scan(a, 1, true)?;
    let now = ctx.now_ms;
    let db = &mut ctx.srv.dbs[ctx.db];
    let mut found: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut cursor = o.cursor;
    // Like Redis, visit about COUNT keys, counted before MATCH filters them (COUNT is
    // the work a call does), in a bounded number of steps when the table is sparse.
    let mut steps = 0usize;
    let mut visited = 0usize;
    loop {
        cursor = db.scan_step(cursor, |e| {
            visited += 1;
            let k = e.key();
            if o.pattern.is_some_and(|p| !glob_match(p, k, false)) {
                return;
            }
            let type_ok = o.type_.is_none_or(|t| t.eq_ignore_ascii_case(e.type_name().as_bytes()));
            found.push((k.to_vec(), type_ok));
        });
        steps += 1;
        if cursor == 0 || visited >= o.count || steps >= o.count.saturating_mul(10).max(256) {
            break;
        }
    }
    // Expired keys are dropped (and deleted). With TYPE, each key is checked by a
    // lookup for reading, whatever its type: it counts a keyspace hit or miss, and a
    // miss raises `keymiss`. Redis compat: db.c scanGenericCommand step 3.
    let mut kept = Vec::with_capacity(found.len());
    for (k, type_ok) in found {
        let live = if o.type_.is_some() {
            ctx.read_exists(&k)
        } else {
            ctx.srv.dbs[ctx.db].exists(&k, now)
        };
        if live && type_ok {
            kept.push(k);
        }
    }
    let found = kept;
    ctx.out.array(2);
    let mut c = Vec::new();
    num::fmt_i64(cursor as i64, &mut c);
    if cursor > i64::MAX as u64 {
        c = cursor.to_string().into_bytes();
    }
    ctx.out.bulk(&c);
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    let srv = &mut *ctx.srv;
    match srv.dbs[ctx.db].random_key(&mut srv.rng, now) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT. Redis compat: expire.c expireGenericCommand.
fn expire_generic(ctx: &mut Ctx, a: &Args, relative: bool, secs: bool) -> CmdResult {
    let key = a.at(1);
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for j in 3..a.len() {
        if a.is(j, "nx") {
            nx = true;
        } else if a.is(j, "xx") {
            xx = true;
        } else if a.is(j, "gt") {
            gt = true;
        } else if a.is(j, "lt") {
            lt = true;
        } else {
            return Err(CmdError::owned(format!("ERR Unsupported option {}", a.str(j))));
        }
    }
    // Redis compat: expire.c parseExtendedExpireArgumentsOrReply.
    if nx && (xx || gt || lt) {
        return Err(CmdError::new(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::new(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let name = ctx.cmd.name;
    let mut when = a.i64(2)?;
    if secs {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(error::invalid_expire(name));
        }
        when *= 1000;
    }
    if relative {
        when = when
            .checked_add(ctx.now_ms)
            .ok_or_else(|| error::invalid_expire(name))?;
    }
    let now = ctx.now_ms;
    if !ctx.db().exists(key, now) {
        ctx.out.int(0);
        return Ok(());
    }
    let cur = ctx.db().get_expire(key);
    let blocked = (nx && cur.is_some())
        || (xx && cur.is_none())
        || (gt && cur.is_none_or(|c| when <= c))
        || (lt && cur.is_some_and(|c| when >= c));
    let ok = !blocked;
    if !ok {
        ctx.out.int(0);
        return Ok(());
    }
    // Redis compat: expire.c checkAlreadyExpired: while loading, a past time is set
    // like any other (the key is then expired, not deleted, until loading ends).
    if when <= now && !ctx.srv.aof.loading {
        ctx.db().remove(key);
        ctx.modified(key, "del");
        if ctx.propagating() {
            // Redis compat: expire.c expireGenericCommand replicates the deletion.
            let cmd = crate::server::propagate::deletion_cmd(ctx.srv.cfg.lazyfree_lazy_expire);
            ctx.propagate_as(&[cmd, key]);
        }
    } else {
        ctx.db().set_expire(key, when);
        // Redis compat: expire.c replies before announcing the new TTL.
        ctx.hold_own_events();
        ctx.modified(key, "expire");
        if ctx.propagating() {
            // A relative TTL replayed later would last longer: the absolute time goes out.
            let mut v: Vec<Vec<u8>> = a.argv.iter().map(|x| x.to_vec()).collect();
            v[0] = b"PEXPIREAT".to_vec();
            v[2] = when.to_string().into_bytes();
            ctx.propagate_as(&v);
        }
    }
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(ctx, a, true, true)
}

fn pexpire(ctx: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(ctx, a, true, false)
}

fn expireat(ctx: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(ctx, a, false, true)
}

fn pexpireat(ctx: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(ctx, a, false, false)
}

/// TTL family: remaining (relative) or absolute time, in seconds or ms.
fn ttl_generic(ctx: &mut Ctx, a: &Args, ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.now_ms;
    let key = a.at(1);
    if ctx.read_parts(key, Look::NoTouch).0.is_none() {
        ctx.out.int(-2);
        return Ok(());
    }
    let Some(at) = ctx.db().get_expire(key) else {
        ctx.out.int(-1);
        return Ok(());
    };
    let v = if absolute { at } else { (at - now).max(0) };
    let v = if ms {
        v
    } else if absolute {
        // Redis compat: expire.c ttlGenericCommand rounds to the nearest second.
        (at + 500) / 1000
    } else {
        (v + 500) / 1000
    };
    ctx.out.int(v);
    Ok(())
}

fn ttl(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(ctx, a, false, false)
}

fn pttl(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(ctx, a, true, false)
}

fn expiretime(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(ctx, a, false, true)
}

fn pexpiretime(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(ctx, a, true, true)
}

fn persist(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    let key = a.at(1);
    let done = ctx.db().exists(key, now) && ctx.db().persist(key);
    if done {
        ctx.modified(key, "persist");
    }
    ctx.out.int(done as i64);
    Ok(())
}

fn object_encoding(ctx: &mut Ctx, a: &Args) -> CmdResult {
    match ctx.read_parts(a.at(2), Look::Quiet) {
        (Some(o), out, _) => out.bulk(o.encoding_name().as_bytes()),
        (None, out, _) => out.null(),
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let p = ctx.srv.cfg.maxmemory_policy;
    use crate::db::evict::Policy;
    let stamps = ctx.srv.cfg.maxmemory > 0
        && matches!(
            p,
            Policy::AllLru | Policy::VolatileLru | Policy::AllLfu | Policy::VolatileLfu
        );
    match ctx.read_parts(a.at(2), Look::Quiet) {
        // Redis compat: small integers are shared objects there (OBJ_SHARED_REFCOUNT).
        (Some(o), out, _) => {
            // With maxmemory and an LRU/LFU policy every key needs its own stamp, so
            // Redis stops sharing integers (server.c createStringObjectFromLongLong).
            let shared = !stamps
                && !o.own_int()
                && o.encoding_name() == "int"
                && o.as_str()
                    .and_then(num::parse_i64)
                    .is_some_and(|v| (0..10000).contains(&v));
            out.int(if shared { i32::MAX as i64 } else { 1 });
        }
        (None, out, _) => out.null(),
    }
    Ok(())
}

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.srv.cfg.maxmemory_policy.is_lfu()
}

fn object_idletime(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    let lfu = lfu_policy(ctx);
    let Some(o) = ctx.read_parts(a.at(2), Look::Quiet).0 else {
        ctx.out.null();
        return Ok(());
    };
    let lru = o.lru();
    if lfu {
        return Err(CmdError::new("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    ctx.out.int((idle_ms(lru, now) / 1000) as i64);
    Ok(())
}

fn object_freq(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    let lfu = lfu_policy(ctx);
    let Some(o) = ctx.read_parts(a.at(2), Look::Quiet).0 else {
        ctx.out.null();
        return Ok(());
    };
    let stamp = o.lru();
    let v = ctx.srv.cfg.lfu.decayed(stamp, now);
    if !lfu {
        return Err(CmdError::new("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    ctx.out.int(v as i64);
    Ok(())
}

/// Writes a HELP reply: the title line, then one line per entry, then the HELP line.
pub fn help(ctx: &mut Ctx, name: &str, lines: &[&str]) {
    let mut all = vec![format!(
        "{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )];
    all.extend(lines.iter().map(|s| s.to_string()));
    all.push("HELP".into());
    // Redis compat: networking.c addReplyHelp.
    all.push("    Prints this help.".into());
    ctx.out.mark_deferred();
    ctx.out.array(all.len());
    for l in &all {
        ctx.out.simple(l);
    }
}

fn object_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

fn select(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Redis compat: db.c selectCommand reads an int first (object.c
    // getIntFromObjectOrReply).
    let id = num::parse_i64(a.at(1)).ok_or(error::NOT_INT)?;
    if i32::try_from(id).is_err() {
        return Err(CmdError::new(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if ctx.srv.cluster.is_some() && id != 0 {
        return Err(CmdError::new("ERR SELECT is not allowed in cluster mode"));
    }
    if id < 0 || id as usize >= ctx.srv.dbs.len() {
        return Err(error::DB_INDEX);
    }
    ctx.db = id as usize;
    if let Some(c) = ctx.client() {
        c.db = id as usize;
    }
    ctx.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if ctx.srv.cluster.is_some() {
        return Err(CmdError::new("ERR SWAPDB is not allowed in cluster mode"));
    }
    let p = |v: &[u8], e: &'static str| {
        num::parse_i64(v)
            .filter(|v| *v >= i32::MIN as i64 && *v <= i32::MAX as i64)
            .ok_or(CmdError::new(e))
    };
    let x = p(a.at(1), "ERR invalid first DB index")?;
    let y = p(a.at(2), "ERR invalid second DB index")?;
    let n = ctx.srv.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return Err(error::DB_INDEX);
    }
    let (x, y) = (x as usize, y as usize);
    if x != y {
        ctx.srv.touch_watched_db(x, Some(y));
        ctx.srv.touch_watched_db(y, Some(x));
        let (lo, hi) = (x.min(y), x.max(y));
        let (l, r) = ctx.srv.dbs.split_at_mut(hi);
        if let (Some(a), Some(b)) = (l.get_mut(lo), r.first_mut()) {
            a.swap_contents(b);
        }
        ctx.dirty(1);
        // Clients blocked in either db may now find their keys.
        ctx.srv.signal_db(x);
        ctx.srv.signal_db(y);
    }
    ctx.out.ok();
    Ok(())
}

fn dbsize(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// Parses the optional ASYNC|SYNC of FLUSHDB/FLUSHALL: Some(true) async.
fn flush_mode(ctx: &Ctx, a: &Args) -> Result<bool, CmdError> {
    match a.len() {
        1 => Ok(ctx.srv.cfg.lazyfree_lazy_user_flush),
        2 if a.is(1, "async") => Ok(true),
        2 if a.is(1, "sync") => Ok(false),
        _ => Err(error::SYNTAX),
    }
}

pub fn flush_db(ctx: &mut Ctx, idx: usize, lazy: bool) -> u64 {
    let Some(db) = ctx.srv.dbs.get_mut(idx) else {
        return 0;
    };
    let n = db.len() as u64;
    let old = db.flush();
    if lazy {
        lazyfree::drop_later(old);
    }
    // Stream group readers blocked here learn that their key is gone.
    ctx.srv.signal_db(idx);
    n
}

fn flushdb(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let lazy = flush_mode(ctx, a)?;
    ctx.srv.touch_watched_db(ctx.db, None);
    ctx.srv.tracking_flush();
    let n = flush_db(ctx, ctx.db, lazy);
    ctx.dirty(n);
    // Redis compat: db.c flushdbCommand: replicated even when the db was empty.
    ctx.force_propagate();
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let lazy = flush_mode(ctx, a)?;
    // Redis compat: db.c flushAllDataAndResetRDB: a running BGSAVE is aborted (first
    // here, so that the flush does not save the old contents for nothing) and, with
    // save points set, the now empty dataset is saved at once (resetting the counter).
    ctx.srv.kill_bgsave();
    let mut n = 0;
    for i in 0..ctx.srv.dbs.len() {
        ctx.srv.touch_watched_db(i, None);
        n += flush_db(ctx, i, lazy);
    }
    ctx.srv.tracking_flush();
    // Redis compat: db.c flushallCommand counts at least one change.
    ctx.dirty(n + 1);
    // flushallCommand replicates it even if everything was empty already.
    if !ctx.srv.cfg.save_params.is_empty() {
        let _ = ctx.srv.save_sync();
    }
    ctx.force_propagate();
    ctx.out.ok();
    Ok(())
}

const RO: u32 = KS_RO;
const RM: u32 = KS_RM | KS_DELETE;

const OBJECT_SUBS: &[CommandSpec] = &[
    cmd("encoding", 3, READONLY, ACL_KEYSPACE, object_encoding)
        .tips(&["nondeterministic_output"])
        .keys(2, 2, 1, RO)
        .doc(G, "2.2.3", "O(1)", "Returns the internal encoding of a value."),
    cmd("freq", 3, READONLY, ACL_KEYSPACE, object_freq)
        .tips(&["nondeterministic_output"])
        .keys(2, 2, 1, RO)
        .doc(
            G,
            "4.0.0",
            "O(1)",
            "Returns the logarithmic access frequency counter of a value.",
        ),
    cmd("help", 2, LOADING | STALE, ACL_KEYSPACE, object_help).doc(G, "6.2.0", "O(1)", "Lists the OBJECT subcommands."),
    cmd("idletime", 3, READONLY, ACL_KEYSPACE, object_idletime)
        .tips(&["nondeterministic_output"])
        .keys(2, 2, 1, RO)
        .doc(
            G,
            "2.2.3",
            "O(1)",
            "Returns the seconds since a value was last accessed.",
        ),
    cmd("refcount", 3, READONLY, ACL_KEYSPACE, object_refcount)
        .tips(&["nondeterministic_output"])
        .keys(2, 2, 1, RO)
        .doc(G, "2.2.3", "O(1)", "Returns the reference count of a value."),
];

pub const COMMANDS: &[CommandSpec] = &[
    cmd("del", -2, WRITE, ACL_KEYSPACE, del)
        .tips(TIPS_MULTI_SHARD_SUM).keys(1, -1, 1, RM).doc(G, "1.0.0", "O(N) where N is the number of keys that will be removed.", "Deletes one or more keys."),
    cmd("unlink", -2, WRITE | FAST, ACL_KEYSPACE, unlink)
        .tips(TIPS_MULTI_SHARD_SUM).keys(1, -1, 1, RM).doc(G, "4.0.0", "O(1) for each key removed regardless of its size.", "Deletes keys, freeing big values in the background."),
    cmd("exists", -2, READONLY | FAST, ACL_KEYSPACE, exists)
        .tips(TIPS_MULTI_SHARD_SUM).keys(1, -1, 1, RO).doc(G, "1.0.0", "O(N) where N is the number of keys to check.", "Counts how many of the given keys exist."),
    cmd("touch", -2, READONLY | FAST, ACL_KEYSPACE, touch)
        .tips(TIPS_MULTI_SHARD_SUM).keys(1, -1, 1, RO).doc(G, "3.2.1", "O(N) where N is the number of keys that will be touched.", "Updates the last access time of keys and counts the existing ones."),
    cmd("type", 2, READONLY | FAST, ACL_KEYSPACE, type_).keys(1, 1, 1, RO).doc(G, "1.0.0", "O(1)", "Returns the type of the value at a key."),
    cmd("rename", 3, WRITE, ACL_KEYSPACE, rename)
        .specs(RENAME_SPECS).keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE).other_keys(KS_OW | KS_UPDATE).doc(G, "1.0.0", "O(1)", "Renames a key, overwriting the destination."),
    cmd("renamenx", 3, WRITE | FAST, ACL_KEYSPACE, renamenx)
        .specs(RENAMENX_SPECS).keys(1, 2, 1, KS_RW | KS_ACCESS | KS_DELETE).other_keys(KS_OW | KS_INSERT).doc(G, "1.0.0", "O(1)", "Renames a key only when the new name is free."),
    cmd("copy", -3, WRITE | DENYOOM, ACL_KEYSPACE, copy)
        .specs(COPY_SPECS).keys(1, 2, 1, KS_RO | KS_ACCESS).other_keys(KS_OW | KS_UPDATE).doc(G, "6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "Copies the value of a key to another key."),
    cmd("move", 3, WRITE | FAST, ACL_KEYSPACE, move_).keys(1, 1, 1, KS_RW | KS_ACCESS | KS_UPDATE).doc(G, "1.0.0", "O(1)", "Moves a key to another database."),
    cmd("keys", 2, READONLY, ACL_KEYSPACE | ACL_DANGEROUS, keys).doc(G, "1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "Returns every key name matching a pattern.").tips(&["request_policy:all_shards", "nondeterministic_output_order"]),
    cmd("scan", -2, READONLY | TOUCHES_ARBITRARY_KEYS, ACL_KEYSPACE, scan).doc(G, "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Iterates over the key names of the database.").tips(&["nondeterministic_output", "request_policy:special"]),
    cmd("randomkey", 1, READONLY | TOUCHES_ARBITRARY_KEYS, ACL_KEYSPACE, randomkey).doc(G, "1.0.0", "O(1)", "Returns a random key name.").tips(&["request_policy:all_shards", "nondeterministic_output"]),
    cmd("expire", -3, WRITE | FAST, ACL_KEYSPACE, expire).keys(1, 1, 1, KS_RW | KS_UPDATE).doc(G, "1.0.0", "O(1)", "Sets a key's time to live in seconds."),
    cmd("pexpire", -3, WRITE | FAST, ACL_KEYSPACE, pexpire).keys(1, 1, 1, KS_RW | KS_UPDATE).doc(G, "2.6.0", "O(1)", "Sets a key's time to live in milliseconds."),
    cmd("expireat", -3, WRITE | FAST, ACL_KEYSPACE, expireat).keys(1, 1, 1, KS_RW | KS_UPDATE).doc(G, "1.2.0", "O(1)", "Sets a key's expiry to a unix time in seconds."),
    cmd("pexpireat", -3, WRITE | FAST, ACL_KEYSPACE, pexpireat).keys(1, 1, 1, KS_RW | KS_UPDATE).doc(G, "2.6.0", "O(1)", "Sets a key's expiry to a unix time in milliseconds."),
    cmd("ttl", 2, READONLY | FAST, ACL_KEYSPACE, ttl)
        .tips(&["nondeterministic_output"]).keys(1, 1, 1, KS_RO | KS_ACCESS).doc(G, "1.0.0", "O(1)", "Returns a key's remaining time to live in seconds."),
    cmd("pttl", 2, READONLY | FAST, ACL_KEYSPACE, pttl)
        .tips(&["nondeterministic_output"]).keys(1, 1, 1, KS_RO | KS_ACCESS).doc(G, "2.6.0", "O(1)", "Returns a key's remaining time to live in milliseconds."),
    cmd("expiretime", 2, READONLY | FAST, ACL_KEYSPACE, expiretime).keys(1, 1, 1, KS_RO | KS_ACCESS).doc(G, "7.0.0", "O(1)", "Returns a key's expiry as a unix time in seconds."),
    cmd("pexpiretime", 2, READONLY | FAST, ACL_KEYSPACE, pexpiretime).keys(1, 1, 1, KS_RO | KS_ACCESS).doc(G, "7.0.0", "O(1)", "Returns a key's expiry as a unix time in milliseconds."),
    cmd("persist", 2, WRITE | FAST, ACL_KEYSPACE, persist).keys(1, 1, 1, KS_RW | KS_UPDATE).doc(G, "2.2.0", "O(1)", "Removes a key's expiry."),
    crate::cmd::spec::container("object", 0, OBJECT_SUBS).doc(G, "2.2.3", "Depends on subcommand.", "A container for object introspection commands."),
    cmd("select", 2, LOADING | STALE | FAST, ACL_CONNECTION, select).doc("connection", "1.0.0", "O(1)", "Changes the selected database."),
    cmd("swapdb", 3, WRITE | FAST, ACL_KEYSPACE | ACL_DANGEROUS, swapdb).doc("server", "4.0.0", "O(N) where N is the count of clients watching or blocking on keys from both databases.", "Swaps two databases."),
    cmd("dbsize", 1, READONLY | FAST, ACL_KEYSPACE, dbsize).doc("server", "1.0.0", "O(1)", "Returns the number of keys in the database.").tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    cmd("flushdb", -1, WRITE, ACL_KEYSPACE | ACL_DANGEROUS, flushdb).doc("server", "1.0.0", "O(N) where N is the number of keys in the selected database", "Removes every key of the selected database.").tips(TIPS_ALL_SHARDS_OK),
    cmd("flushall", -1, WRITE, ACL_KEYSPACE | ACL_DANGEROUS, flushall).doc("server", "1.0.0", "O(N) where N is the total number of keys in all databases", "Removes every key of every database.").tips(TIPS_ALL_SHARDS_OK),
];
