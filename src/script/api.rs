//! The `redis` table scripts see (call, pcall, error_reply, status_reply, sha1hex, log,
//! setresp, set_repl, ...), the replacement `pcall`, `math.random`, the run context those
//! functions reach the server through, and the RESP ⇄ Lua conversions.
//! Redis compat: script_lua.c, script.c scriptCall.
//!
//! C functions here may raise Lua errors (a longjmp): they only do so after every Rust
//! value with a destructor is gone (the work happens in helpers that return first).
// Every unsafe fn here has one contract: `l` is a valid lua_State of this thread.
#![allow(clippy::missing_safety_doc)]
use std::cell::Cell;
use std::ffi::{c_int, CStr};

use mlua::ffi::{self, lua_State};

use super::vm::{push_bytes, push_error, raise_msg, set_field_fn, set_field_num, to_bytes};
use crate::cmd::{self, spec};
use crate::resp::ReplyBuf;
use crate::server::{call, Server};

// Script run flags. Redis compat: script.h SCRIPT_*.
pub const RUN_WRITE_DIRTY: u32 = 1 << 0;
pub const RUN_KILLED: u32 = 1 << 3;
pub const RUN_READ_ONLY: u32 = 1 << 5;
pub const RUN_ALLOW_OOM: u32 = 1 << 6;
pub const RUN_EVAL_MODE: u32 = 1 << 7;
/// Cluster mode: the script may use keys of several slots.
pub const RUN_ALLOW_CROSS_SLOT: u32 = 1 << 8;

pub const PROPAGATE_AOF: i64 = 1;
pub const PROPAGATE_REPL: i64 = 2;

/// What the `redis` functions need while a script runs.
pub struct RunCtx {
    pub srv: *mut Server,
    /// The client that sent EVAL/FCALL.
    pub caller: usize,
    /// The script's own client (its commands run as it).
    pub client: usize,
    pub flags: u32,
    pub repl: i64,
    pub resp3: bool,
    /// Memory was over maxmemory when the script started.
    pub oom_at_start: bool,
    /// Cluster mode: the slot of the keys the script declared or used first.
    pub slot: Option<u16>,
}

thread_local! {
    static RUN: Cell<*mut RunCtx> = const { Cell::new(std::ptr::null_mut()) };
    /// Set while FUNCTION LOAD runs a library's code: where register_function puts
    /// what it registers.
    static LOADING: Cell<*mut Vec<super::functions::Registered>> = const { Cell::new(std::ptr::null_mut()) };
    /// redisLrand48 state (48-bit LCG). Redis compat: rand.c.
    static RAND48: Cell<u64> = const { Cell::new(0x1234_ABCD_330E) };
}

/// Installs `ctx` for the duration of `f` (scripts do not nest).
pub fn with_run<R>(ctx: &mut RunCtx, f: impl FnOnce() -> R) -> R {
    let prev = RUN.with(|r| r.replace(ctx as *mut RunCtx));
    let out = f();
    RUN.with(|r| r.set(prev));
    out
}

pub fn with_loading<R>(sink: &mut Vec<super::functions::Registered>, f: impl FnOnce() -> R) -> R {
    let prev = LOADING.with(|r| r.replace(sink as *mut _));
    let out = f();
    LOADING.with(|r| r.set(prev));
    out
}

fn run_ctx() -> *mut RunCtx {
    RUN.with(|r| r.get())
}

/// The context of the script running now.
pub fn run_ctx_ref<'a>() -> Option<&'a RunCtx> {
    // Safety: the pointer is set only while `with_run` holds the context alive.
    unsafe { run_ctx().as_ref() }
}

/// Whether a script is running now.
pub fn script_running() -> bool {
    !run_ctx().is_null()
}

// --- registration ---------------------------------------------------------------------

pub unsafe fn register_log(l: *mut lua_State) {
    set_field_fn(l, c"log", redis_log);
    set_field_num(l, c"LOG_DEBUG", 0.0);
    set_field_num(l, c"LOG_VERBOSE", 1.0);
    set_field_num(l, c"LOG_NOTICE", 2.0);
    set_field_num(l, c"LOG_WARNING", 3.0);
}

pub unsafe fn register_version(l: *mut lua_State) {
    set_field_num(l, c"REDIS_VERSION_NUM", 0x07000f as f64);
    super::vm::set_field_bytes(l, c"REDIS_VERSION", b"7.0.15");
}

/// The global `redis` table.
pub unsafe fn register_redis(l: *mut lua_State, functions: bool) {
    ffi::lua_createtable(l, 0, 32);
    set_field_fn(l, c"call", redis_call);
    set_field_fn(l, c"pcall", redis_pcall);
    register_log(l);
    register_version(l);
    set_field_fn(l, c"setresp", redis_setresp);
    set_field_fn(l, c"sha1hex", redis_sha1hex);
    set_field_fn(l, c"error_reply", redis_error_reply);
    set_field_fn(l, c"status_reply", redis_status_reply);
    set_field_fn(l, c"set_repl", redis_set_repl);
    set_field_num(l, c"REPL_NONE", 0.0);
    set_field_num(l, c"REPL_AOF", PROPAGATE_AOF as f64);
    set_field_num(l, c"REPL_SLAVE", PROPAGATE_REPL as f64);
    set_field_num(l, c"REPL_REPLICA", PROPAGATE_REPL as f64);
    set_field_num(l, c"REPL_ALL", (PROPAGATE_AOF | PROPAGATE_REPL) as f64);
    set_field_fn(l, c"acl_check_cmd", redis_acl_check_cmd);
    if !functions {
        set_field_fn(l, c"breakpoint", redis_breakpoint);
        set_field_fn(l, c"debug", redis_debug);
        set_field_fn(l, c"replicate_commands", redis_replicate_commands);
    }
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());
}

// --- redis.call / redis.pcall ----------------------------------------------------------

/// Pushes the error table for `msg` and raises it.
unsafe fn raise_error_table(l: *mut lua_State, msg: &'static [u8]) -> ! {
    push_error(l, msg);
    ffi::lua_error(l)
}

unsafe extern "C-unwind" fn redis_call(l: *mut lua_State) -> c_int {
    if call_generic(l) {
        ffi::lua_error(l)
    }
    1
}

unsafe extern "C-unwind" fn redis_pcall(l: *mut lua_State) -> c_int {
    call_generic(l);
    1
}

/// Runs the command in the arguments and pushes its reply (or an error table).
/// Returns whether the pushed value is an error (redis.call raises it).
unsafe fn call_generic(l: *mut lua_State) -> bool {
    let rc = run_ctx();
    if rc.is_null() {
        push_error(l, b"redis.call/pcall can only be called inside a script invocation");
        return true;
    }
    let argv = match args_to_argv(l) {
        Ok(v) => v,
        Err(msg) => {
            if super::ldb::enabled() {
                super::ldb::log_error(msg);
            }
            push_error(l, msg);
            return true;
        }
    };
    ffi::lua_settop(l, 0);
    let debugging = super::ldb::enabled();
    if debugging {
        super::ldb::log_command(&argv);
    }
    // Safety: the run context outlives the script run (with_run); the server is not
    // otherwise borrowed while Lua runs (the handler waits for the call to return).
    let rc = &mut *rc;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_command(rc, &argv)));
    match res {
        Ok(Ok(reply)) => {
            if debugging {
                super::ldb::log_reply(&reply);
            }
            let is_err = reply.first() == Some(&b'-');
            let mut pos = 0;
            if ffi::lua_checkstack(l, 8) == 0 || !resp_to_lua(l, &reply, &mut pos, 0) {
                ffi::lua_settop(l, 0);
                push_error(l, b"reached lua stack limit");
                return true;
            }
            is_err
        }
        Ok(Err(e)) => {
            if debugging {
                super::ldb::log_error(&e);
            }
            push_error(l, &e);
            mark_no_stats(l);
            true
        }
        Err(_) => {
            push_error(l, b"ERR internal error while executing the command");
            true
        }
    }
}

/// Marks the error table at the top as already counted in errorstats.
unsafe fn mark_no_stats(l: *mut lua_State) {
    ffi::lua_pushboolean(l, 1);
    ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
}

/// The call's arguments as a command argv: numbers as %.17g, strings as they are.
unsafe fn args_to_argv(l: *mut lua_State) -> Result<Vec<Vec<u8>>, &'static [u8]> {
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        return Err(b"Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(argc as usize);
    for j in 1..=argc {
        match ffi::lua_type(l, j) {
            ffi::LUA_TNUMBER => {
                let mut s = Vec::with_capacity(24);
                crate::util::num::fmt_f64(ffi::lua_tonumber(l, j), &mut s);
                argv.push(s);
            }
            ffi::LUA_TSTRING => argv.push(to_bytes(l, j).unwrap_or_default().to_vec()),
            _ => return Err(b"Lua redis lib command arguments must be strings or integers"),
        }
    }
    Ok(argv)
}

/// Checks and runs one command for the script. Ok: the reply bytes; Err: the error
/// text of a command refused before running. Redis compat: script.c scriptCall.
fn run_command(rc: &mut RunCtx, argv: &[Vec<u8>]) -> Result<Vec<u8>, Vec<u8>> {
    // Safety: see call_generic.
    let srv = unsafe { &mut *rc.srv };
    let v: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let table = cmd::table();
    let found = table.lookup_id(&v).and_then(|i| Some((i, *table.specs.get(i)?)));
    let argc = v.len() as i32;
    let Some((id, spec)) = found else {
        call::count_error(srv, b"ERR Unknown Redis command called from script");
        return Err(b"Unknown Redis command called from script".to_vec());
    };
    let reject = |srv: &mut Server, msg: &[u8]| -> Result<Vec<u8>, Vec<u8>> {
        call::stat(srv, id).rejected += 1;
        let text = match msg.strip_prefix(b"-") {
            Some(t) => t.to_vec(),
            None => [&b"ERR "[..], msg].concat(),
        };
        call::count_error(srv, &text);
        srv.stats.err_prev = srv.stats.total_error_replies;
        Err(msg.to_vec())
    };
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        return reject(srv, b"Wrong number of args calling Redis command from script");
    }
    if spec.flags & spec::NOSCRIPT != 0 && !srv.scripts.allow_noscript {
        return reject(srv, b"This Redis command is not allowed from script");
    }
    if rc.flags & RUN_READ_ONLY != 0 && spec.flags & (spec::WRITE | spec::MAY_REPLICATE) != 0 {
        return reject(srv, b"Write commands are not allowed from read-only scripts.");
    }
    // Redis compat: script.c scriptVerifyAllowStale.
    if spec.flags & spec::STALE == 0 && srv.repl_stale() {
        return reject(srv, b"Can not execute the command on a stale replica. The command must be either a read-only command or marked with the allow-stale flag.");
    }
    // Redis compat: script.c scriptVerifyACL: the caller's user, logged as "lua".
    if let Err(d) = srv.acl_check(rc.caller, id, spec, &v, Some(crate::server::acl::LogContext::Lua)) {
        let msg = format!("The user executing the script {}", d.script_text());
        return reject(srv, msg.as_bytes());
    }
    // Redis compat: script.c scriptVerifyWriteCommandAllow: until the script has
    // written, a write may still be refused for the server's state.
    if spec.flags & spec::WRITE != 0 && rc.flags & RUN_WRITE_DIRTY == 0 {
        let obey = srv
            .clients
            .get(rc.caller)
            .is_some_and(|c| c.is_master || c.is_internal());
        if srv.repl.master.is_some() && srv.cfg.repl.read_only && !obey {
            return reject(srv, b"-READONLY You can't write against a read only replica.");
        }
        if let Some(e) = call::disk_error(srv) {
            let mut m = b"-".to_vec();
            m.extend_from_slice(e.as_bytes());
            return reject(srv, &m);
        }
        if !srv.enough_good_replicas() {
            return reject(srv, b"-NOREPLICAS Not enough good replicas to write.");
        }
    }
    if rc.flags & RUN_ALLOW_OOM == 0
        && srv.cfg.maxmemory > 0
        && rc.flags & RUN_WRITE_DIRTY == 0
        && rc.oom_at_start
        && spec.flags & spec::DENYOOM != 0
    {
        let mut m = b"-".to_vec();
        m.extend_from_slice(cmd::error::OOM.bytes());
        return reject(srv, &m);
    }
    // Redis compat: script.c scriptVerifyClusterState.
    let obey = srv
        .clients
        .get(rc.caller)
        .is_some_and(|c| c.is_master || c.is_internal());
    if srv.cluster.is_some() && !obey {
        let flags = srv
            .clients
            .get(rc.caller)
            .map(|c| (c.cluster_readonly, c.cluster_asking))
            .unwrap_or_default();
        if let Some(c) = srv.clients.get_mut(rc.client) {
            (c.cluster_readonly, c.cluster_asking) = flags;
        }
        use crate::server::cluster::route::Redirect;
        let write = spec.flags & spec::WRITE != 0;
        match srv.cluster_route(rc.client, spec, &v, write, crate::clock::now_ms()) {
            Err(Redirect::DownReadOnly) => {
                return reject(
                    srv,
                    b"Script attempted to execute a write command while the cluster is down and readonly",
                )
            }
            Err(Redirect::Down) => {
                return reject(srv, b"Script attempted to execute a command while the cluster is down")
            }
            Err(_) => return reject(srv, b"Script attempted to access a non local key in a cluster node"),
            Ok(Some(slot)) if rc.flags & RUN_ALLOW_CROSS_SLOT == 0 => match rc.slot {
                None => rc.slot = Some(slot),
                Some(s) if s != slot => {
                    return reject(
                        srv,
                        b"Script attempted to access keys that do not hash to the same slot",
                    )
                }
                _ => {}
            },
            Ok(_) => {}
        }
    }
    if spec.flags & spec::WRITE != 0 {
        rc.flags |= RUN_WRITE_DIRTY;
    }
    // The script's client runs as the caller's user (SORT's ACL check reads it).
    let user = srv.clients.get(rc.caller).map(|c| c.user).unwrap_or_default();
    if let Some(c) = srv.clients.get_mut(rc.client) {
        c.user = user;
    }
    let mut out = ReplyBuf::new();
    out.resp3 = rc.resp3;
    let before = srv.prop.ops.len();
    call::execute_from_script(srv, rc.client, &v, &mut out, id, spec);
    // redis.set_repl: what the script's commands propagate is limited to its targets.
    if rc.repl != PROPAGATE_AOF | PROPAGATE_REPL {
        let keep = rc.repl as u8;
        let mut tail = srv.prop.ops.split_off(before.min(srv.prop.ops.len()));
        tail.retain_mut(|op| {
            op.to &= keep;
            op.to != 0
        });
        srv.prop.ops.extend(tail);
    }
    Ok(out.buf)
}

// --- RESP -> Lua ----------------------------------------------------------------------

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<(u8, &'a [u8])> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    let kind = *rest.first()?;
    let body = rest.get(1..end)?;
    *pos += end + 2;
    Some((kind, body))
}

fn bulk<'a>(buf: &'a [u8], pos: &mut usize, len: &[u8]) -> Option<&'a [u8]> {
    let n = crate::util::num::parse_i64(len)?;
    let n = usize::try_from(n).ok()?;
    let s = buf.get(*pos..pos.checked_add(n)?)?;
    *pos += n + 2;
    Some(s)
}

/// Pushes the reply at `buf[*pos..]` as a Lua value; false when the stack cannot grow
/// or the reply is malformed. Redis compat: script_lua.c redisProtocolToLuaType_*.
unsafe fn resp_to_lua(l: *mut lua_State, buf: &[u8], pos: &mut usize, depth: u32) -> bool {
    if depth > 1000 || ffi::lua_checkstack(l, 5) == 0 {
        return false;
    }
    let Some((kind, body)) = line(buf, pos) else {
        return false;
    };
    let count = |b: &[u8]| crate::util::num::parse_i64(b).unwrap_or(-1);
    match kind {
        b':' => ffi::lua_pushnumber(l, count(body) as f64),
        b'$' | b'=' if count(body) < 0 => ffi::lua_pushboolean(l, 0),
        b'$' => {
            let Some(s) = bulk(buf, pos, body) else { return false };
            push_bytes(l, s);
        }
        b'=' => {
            let Some(s) = bulk(buf, pos, body) else { return false };
            let (fmt, text) = (s.get(..3).unwrap_or_default(), s.get(4..).unwrap_or_default());
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_createtable(l, 0, 2);
            super::vm::set_field_bytes(l, c"string", text);
            super::vm::set_field_bytes(l, c"format", fmt);
            ffi::lua_setfield(l, -2, c"verbatim_string".as_ptr());
        }
        b'+' => {
            ffi::lua_createtable(l, 0, 1);
            super::vm::set_field_bytes(l, c"ok", body);
        }
        b'-' => {
            let mut e = b"-".to_vec();
            e.extend_from_slice(body);
            push_error(l, &e);
            mark_no_stats(l);
        }
        b'*' | b'>' if count(body) < 0 => ffi::lua_pushboolean(l, 0),
        b'*' | b'>' => {
            let n = count(body);
            ffi::lua_createtable(l, n.clamp(0, 1024) as c_int, 0);
            for j in 1..=n {
                ffi::lua_pushnumber(l, j as f64);
                if !resp_to_lua(l, buf, pos, depth + 1) {
                    return false;
                }
                ffi::lua_settable(l, -3);
            }
        }
        b'%' | b'~' => {
            let n = count(body).max(0);
            ffi::lua_createtable(l, 0, 1);
            // Not presized: grown one key at a time, as Redis grows it, the table's
            // layout, so the order pairs() walks it in, is the one scripts see in Redis.
            ffi::lua_createtable(l, 0, 0);
            for _ in 0..n {
                if !resp_to_lua(l, buf, pos, depth + 1) {
                    return false;
                }
                if kind == b'%' {
                    if !resp_to_lua(l, buf, pos, depth + 1) {
                        return false;
                    }
                } else {
                    ffi::lua_pushboolean(l, 1);
                }
                ffi::lua_settable(l, -3);
            }
            let key = if kind == b'%' { c"map" } else { c"set" };
            ffi::lua_setfield(l, -2, key.as_ptr());
        }
        b'|' => {
            // Attributes are not shown to scripts: skip them, then read the reply.
            let n = count(body).max(0);
            let top = ffi::lua_gettop(l);
            for _ in 0..n * 2 {
                if !resp_to_lua(l, buf, pos, depth + 1) {
                    return false;
                }
                ffi::lua_settop(l, top);
            }
            return resp_to_lua(l, buf, pos, depth + 1);
        }
        b'_' => ffi::lua_pushnil(l),
        b'#' => ffi::lua_pushboolean(l, (body == b"t") as c_int),
        b',' => {
            let d = std::str::from_utf8(body)
                .ok()
                .and_then(|s| match s {
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    _ => s.parse::<f64>().ok(),
                })
                .unwrap_or(f64::NAN);
            ffi::lua_createtable(l, 0, 1);
            set_field_num(l, c"double", d);
        }
        b'(' => {
            ffi::lua_createtable(l, 0, 1);
            super::vm::set_field_bytes(l, c"big_number", body);
        }
        _ => return false,
    }
    true
}

// --- Lua -> RESP ----------------------------------------------------------------------

/// What a script returned, as read from the Lua stack, written to the caller.
/// `script_resp3` is the protocol the script selected (booleans depend on it).
/// Redis compat: script_lua.c luaReplyToRedisReply.
pub unsafe fn lua_to_reply(
    l: *mut lua_State,
    out: &mut ReplyBuf,
    script_resp3: bool,
    errors: &mut Vec<(Vec<u8>, bool)>,
) {
    lua_to_reply_at(l, out, script_resp3, errors, 0);
}

unsafe fn raw_field(l: *mut lua_State, key: &CStr) -> c_int {
    ffi::lua_pushstring(l, key.as_ptr());
    ffi::lua_rawget(l, -2);
    ffi::lua_type(l, -1)
}

/// Reads the error fields of the error table at the top.
/// (message, source, line, already counted in errorstats)
pub type ErrInfo = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>, bool);

pub unsafe fn error_info(l: *mut lua_State) -> ErrInfo {
    let get = |key: &CStr| -> Option<Vec<u8>> {
        ffi::lua_getfield(l, -1, key.as_ptr());
        // Redis copies these as C strings: a NUL ends them.
        let v = if ffi::lua_isstring(l, -1) != 0 {
            to_bytes(l, -1).map(|b| crate::util::c_str(b).to_vec())
        } else {
            None
        };
        ffi::lua_pop(l, 1);
        v
    };
    let msg = get(c"err").unwrap_or_default();
    let source = get(c"source");
    let line = get(c"line");
    ffi::lua_getfield(l, -1, c"ignore_error_stats_update".as_ptr());
    let ignore = ffi::lua_type(l, -1) == ffi::LUA_TBOOLEAN && ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_pop(l, 1);
    (msg, source, line, ignore)
}

/// A status or big-number text as one RESP line: CR and LF become spaces.
fn one_line(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

unsafe fn lua_to_reply_at(
    l: *mut lua_State,
    out: &mut ReplyBuf,
    resp3: bool,
    errors: &mut Vec<(Vec<u8>, bool)>,
    depth: u32,
) {
    if depth > 2000 || ffi::lua_checkstack(l, 4) == 0 {
        let e = "ERR reached lua stack limit";
        out.error(e);
        errors.push((e.into(), false));
        ffi::lua_pop(l, 1);
        return;
    }
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => out.bulk(to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(l, -1) != 0;
            if resp3 {
                out.boolean(b);
            } else if b {
                out.int(1);
            } else {
                out.null();
            }
        }
        ffi::LUA_TNUMBER => out.int(crate::util::num::c_cast_i64(ffi::lua_tonumber(l, -1))),
        ffi::LUA_TTABLE => {
            if raw_field(l, c"err") == ffi::LUA_TSTRING {
                ffi::lua_pop(l, 1);
                let (msg, _, _, ignore) = error_info(l);
                out.error_bytes(&msg);
                errors.push((msg.to_vec(), ignore));
                ffi::lua_pop(l, 1);
                return;
            }
            ffi::lua_pop(l, 1);
            if raw_field(l, c"ok") == ffi::LUA_TSTRING {
                let s = one_line(crate::util::c_str(to_bytes(l, -1).unwrap_or_default()));
                out.simple_bytes(&s);
                ffi::lua_pop(l, 2);
                return;
            }
            ffi::lua_pop(l, 1);
            if raw_field(l, c"double") == ffi::LUA_TNUMBER {
                out.double(ffi::lua_tonumber(l, -1));
                ffi::lua_pop(l, 2);
                return;
            }
            ffi::lua_pop(l, 1);
            if raw_field(l, c"big_number") == ffi::LUA_TSTRING {
                let s = one_line(to_bytes(l, -1).unwrap_or_default());
                if out.resp3 {
                    out.raw(b"(");
                    out.raw(&s);
                    out.raw(b"\r\n");
                } else {
                    out.bulk(&s);
                }
                ffi::lua_pop(l, 2);
                return;
            }
            ffi::lua_pop(l, 1);
            if raw_field(l, c"verbatim_string") == ffi::LUA_TTABLE {
                // Each field is read with the verbatim table on top (raw_field indexes
                // the value just below the key it pushes).
                let fmt =
                    (raw_field(l, c"format") == ffi::LUA_TSTRING).then(|| to_bytes(l, -1).unwrap_or_default().to_vec());
                ffi::lua_pop(l, 1);
                if let Some(fmt) = fmt {
                    if raw_field(l, c"string") == ffi::LUA_TSTRING {
                        let s = to_bytes(l, -1).unwrap_or_default();
                        let fmt = String::from_utf8_lossy(fmt.get(..3).unwrap_or(&fmt)).into_owned();
                        out.verbatim(s, &fmt);
                        ffi::lua_pop(l, 3);
                        return;
                    }
                    ffi::lua_pop(l, 1);
                }
            }
            ffi::lua_pop(l, 1);
            if raw_field(l, c"map") == ffi::LUA_TTABLE {
                let d = out.begin_deferred(b'%');
                let mut n = 0;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    lua_to_reply_at(l, out, resp3, errors, depth + 1);
                    lua_to_reply_at(l, out, resp3, errors, depth + 1);
                    n += 1;
                }
                out.end_deferred(d, n);
                ffi::lua_pop(l, 2);
                return;
            }
            ffi::lua_pop(l, 1);
            if raw_field(l, c"set") == ffi::LUA_TTABLE {
                let d = out.begin_deferred(b'~');
                let mut n = 0;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pop(l, 1);
                    ffi::lua_pushvalue(l, -1);
                    lua_to_reply_at(l, out, resp3, errors, depth + 1);
                    n += 1;
                }
                out.end_deferred(d, n);
                ffi::lua_pop(l, 2);
                return;
            }
            ffi::lua_pop(l, 1);
            let d = out.begin_deferred(b'*');
            let mut n = 0;
            let mut j = 1;
            loop {
                ffi::lua_pushnumber(l, j as f64);
                j += 1;
                ffi::lua_rawget(l, -2);
                if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                    ffi::lua_pop(l, 1);
                    break;
                }
                lua_to_reply_at(l, out, resp3, errors, depth + 1);
                n += 1;
            }
            out.end_deferred(d, n);
        }
        _ => out.null(),
    }
    ffi::lua_pop(l, 1);
}

// --- the rest of the API ----------------------------------------------------------------

/// pcall that hands back the message of Redis error tables instead of the table.
/// Redis compat: script_lua.c luaRedisPcall.
pub unsafe extern "C-unwind" fn lua_pcall_compat(l: *mut lua_State) -> c_int {
    let argc = ffi::lua_gettop(l);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
        ffi::lua_remove(l, 1);
        if ffi::lua_istable(l, -1) != 0 {
            ffi::lua_getfield(l, -1, c"err".as_ptr());
            if ffi::lua_isstring(l, -1) != 0 {
                ffi::lua_replace(l, -2);
            } else {
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_pushboolean(l, 0);
        ffi::lua_insert(l, 1);
    }
    ffi::lua_gettop(l)
}

unsafe extern "C-unwind" fn redis_sha1hex(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        raise_error_table(l, b"wrong number of arguments");
    }
    let hex = {
        let s = to_bytes(l, 1).unwrap_or_default();
        sha1_smol::Sha1::from(s).digest().to_string()
    };
    push_bytes(l, hex.as_bytes());
    drop(hex);
    1
}

unsafe extern "C-unwind" fn redis_error_reply(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error(l, b"wrong number or type of arguments");
        return 1;
    }
    let mut e = Vec::new();
    let s = to_bytes(l, -1).unwrap_or_default();
    if s.first() != Some(&b'-') {
        e.push(b'-');
    }
    e.extend_from_slice(s);
    push_error(l, &e);
    1
}

unsafe extern "C-unwind" fn redis_status_reply(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error(l, b"wrong number or type of arguments");
        return 1;
    }
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushvalue(l, -2);
    ffi::lua_setfield(l, -2, c"ok".as_ptr());
    1
}

unsafe extern "C-unwind" fn redis_set_repl(l: *mut lua_State) -> c_int {
    let rc = run_ctx();
    if rc.is_null() {
        raise_error_table(l, b"redis.set_repl can only be called inside a script invocation");
    }
    if ffi::lua_gettop(l) != 1 {
        raise_error_table(l, b"redis.set_repl() requires two arguments.");
    }
    let flags = ffi::lua_tonumber(l, -1) as i64;
    if flags & !(PROPAGATE_AOF | PROPAGATE_REPL) != 0 {
        raise_error_table(
            l,
            b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        );
    }
    (*rc).repl = flags;
    0
}

unsafe extern "C-unwind" fn redis_setresp(l: *mut lua_State) -> c_int {
    let rc = run_ctx();
    if rc.is_null() {
        raise_error_table(l, b"redis.setresp can only be called inside a script invocation");
    }
    if ffi::lua_gettop(l) != 1 {
        raise_error_table(l, b"redis.setresp() requires one argument.");
    }
    let resp = ffi::lua_tonumber(l, 1) as i64;
    if resp != 2 && resp != 3 {
        raise_error_table(l, b"RESP version must be 2 or 3.");
    }
    (*rc).resp3 = resp == 3;
    0
}

unsafe extern "C-unwind" fn redis_acl_check_cmd(l: *mut lua_State) -> c_int {
    if run_ctx().is_null() {
        raise_error_table(l, b"redis.acl_check_cmd can only be called inside a script invocation");
    }
    // Safety: see call_generic.
    let rc = &*run_ctx();
    let srv = &*rc.srv;
    let found = match args_to_argv(l) {
        Err(msg) => Err(msg),
        Ok(argv) => {
            let v: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let t = cmd::table();
            Ok(t.lookup_id(&v)
                .and_then(|id| Some((id, *t.specs.get(id)?)))
                .map(|(id, spec)| {
                    let user = srv.clients.get(rc.caller).map(|c| c.user).unwrap_or_default();
                    srv.acl.user(user).check(id, spec, &v).is_ok()
                }))
        }
    };
    match found {
        Err(msg) => raise_error_table(l, msg),
        Ok(None) => raise_error_table(l, b"Invalid command passed to redis.acl_check_cmd()"),
        Ok(Some(ok)) => {
            ffi::lua_pushboolean(l, ok as c_int);
            1
        }
    }
}

unsafe extern "C-unwind" fn redis_log(l: *mut lua_State) -> c_int {
    let argc = ffi::lua_gettop(l);
    if argc < 2 {
        raise_error_table(l, b"redis.log() requires two arguments or more.");
    }
    if ffi::lua_isnumber(l, 1) == 0 {
        raise_error_table(l, b"First argument must be a number (log level).");
    }
    let level = ffi::lua_tonumber(l, 1) as i64;
    if !(0..=3).contains(&level) {
        raise_error_table(l, b"Invalid debug level.");
    }
    let mut msg = Vec::new();
    for j in 2..=argc {
        if let Some(s) = to_bytes(l, j) {
            if j != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(s);
        }
    }
    let text = String::from_utf8_lossy(&msg);
    match level {
        0 | 1 => tracing::debug!("{text}"),
        2 => tracing::info!("{text}"),
        _ => tracing::warn!("{text}"),
    }
    0
}

unsafe extern "C-unwind" fn redis_breakpoint(l: *mut lua_State) -> c_int {
    ffi::lua_pushboolean(l, super::ldb::breakpoint() as c_int);
    1
}

unsafe extern "C-unwind" fn redis_debug(l: *mut lua_State) -> c_int {
    super::ldb::debug(l);
    0
}

unsafe extern "C-unwind" fn redis_replicate_commands(l: *mut lua_State) -> c_int {
    // Scripts always replicate their effects (Redis 7).
    ffi::lua_pushboolean(l, 1);
    1
}

fn lrand48() -> i32 {
    RAND48.with(|s| {
        let x = s.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xFFFF_FFFF_FFFF;
        s.set(x);
        (x >> 17) as i32
    })
}

fn srand48(seed: i32) {
    let seed = seed as u32 as u64;
    RAND48.with(|s| s.set(((seed << 16) | 0x330E) & 0xFFFF_FFFF_FFFF));
}

/// math.random with Redis's own generator (same sequence on every platform).
/// Redis compat: script_lua.c redis_math_random.
pub unsafe extern "C-unwind" fn math_random(l: *mut lua_State) -> c_int {
    if run_ctx().is_null() {
        raise_msg(l, b"math.random can only be called inside a script invocation");
    }
    const MAX: i64 = i32::MAX as i64;
    let r = (lrand48() as i64 % MAX) as f64 / MAX as f64;
    match ffi::lua_gettop(l) {
        0 => ffi::lua_pushnumber(l, r),
        1 => {
            let u = ffi::luaL_checkinteger(l, 1) as i32;
            if u < 1 {
                ffi::luaL_argerror(l, 1, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = ffi::luaL_checkinteger(l, 1) as i32;
            let u = ffi::luaL_checkinteger(l, 2) as i32;
            if lo > u {
                ffi::luaL_argerror(l, 2, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * (u as f64 - lo as f64 + 1.0)).floor() + lo as f64);
        }
        _ => raise_msg(l, b"wrong number of arguments"),
    }
    1
}

pub unsafe extern "C-unwind" fn math_randomseed(l: *mut lua_State) -> c_int {
    if run_ctx().is_null() {
        raise_msg(l, b"math.randomseed can only be called inside a script invocation");
    }
    srand48(ffi::luaL_checkinteger(l, 1) as i32);
    0
}

/// redis.register_function, available while FUNCTION LOAD runs a library.
/// Redis compat: function_lua.c luaRegisterFunction.
pub unsafe extern "C-unwind" fn register_function(l: *mut lua_State) -> c_int {
    let sink = LOADING.with(|r| r.get());
    if sink.is_null() {
        raise_error_table(
            l,
            b"redis.register_function can only be called on FUNCTION LOAD command",
        );
    }
    let err = super::functions::read_registration(l, &mut *sink);
    if let Some(e) = err {
        push_error(l, e.as_bytes());
        drop(e);
        ffi::lua_error(l);
    }
    0
}
