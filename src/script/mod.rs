//! Lua scripting: EVAL scripts (a cache of bodies by SHA1, compiled into one Lua state)
//! and functions (libraries loaded into a second state). Both run through `run_function`,
//! which sets up the run context, calls into Lua and turns the result into the reply.
//! Redis compat: eval.c, script.c, script_lua.c, functions.c, function_lua.c.
pub mod api;
pub mod functions;
pub mod ldb;
pub mod libs;
pub mod structlib;
pub mod vm;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::c_int;

use mlua::ffi;

use crate::resp::ReplyBuf;
use crate::server::Server;
use vm::Vm;

// Script flags. Redis compat: script.h SCRIPT_FLAG_*.
pub const FLAG_NO_WRITES: u64 = 1 << 0;
pub const FLAG_ALLOW_OOM: u64 = 1 << 1;
pub const FLAG_ALLOW_STALE: u64 = 1 << 2;
pub const FLAG_NO_CLUSTER: u64 = 1 << 3;
pub const FLAG_EVAL_COMPAT: u64 = 1 << 4;
pub const FLAG_ALLOW_CROSS_SLOT: u64 = 1 << 5;

/// Flag names in the order FUNCTION LIST shows them.
pub const FLAG_NAMES: &[(u64, &str)] = &[
    (FLAG_NO_WRITES, "no-writes"),
    (FLAG_ALLOW_OOM, "allow-oom"),
    (FLAG_ALLOW_STALE, "allow-stale"),
    (FLAG_NO_CLUSTER, "no-cluster"),
    (FLAG_ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
];

pub struct Script {
    pub body: Vec<u8>,
    pub flags: u64,
    /// The compiled function in the EVAL state's registry.
    pub func: c_int,
}

#[derive(Default)]
pub struct Scripts {
    /// The EVAL state, created on first use.
    pub eval: Option<Vm>,
    /// Lowercase hex SHA1 -> script.
    pub cache: HashMap<String, Script, ahash::RandomState>,
    pub cache_mem: usize,
    gc_count: u32,
    /// The last EVAL body hashed and its SHA1: the dispatcher (for the script's flags)
    /// and EVAL itself both need it for the same command.
    last_sha: std::cell::RefCell<Option<(Vec<u8>, String)>>,
    /// The scripts' client between runs.
    spare_client: Option<Box<crate::server::Client>>,
    /// The running script's name buffer between runs.
    name_buf: String,
    pub functions: functions::Functions,
    /// Name of the script or function running now (FUNCTION STATS).
    pub running: Option<Running>,
    /// The running script passed `busy-reply-threshold`: other clients get -BUSY.
    pub timedout: bool,
    /// SCRIPT KILL / FUNCTION KILL asked the running script to stop.
    pub killed: bool,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript` commands (a test hook).
    pub allow_noscript: bool,
    /// Processes running forked debugging sessions (reaped by the cron).
    pub ldb_children: Vec<i32>,
}

impl Scripts {
    /// The -BUSY error for commands sent while a script is timed out.
    /// Redis compat: server.c shared.slowevalerr / slowscripterr.
    pub fn busy_error(&self) -> &'static str {
        if self.running.as_ref().is_some_and(|r| r.eval) {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        }
    }
}

/// The count hook of a running script: past `busy-reply-threshold` the server serves
/// other clients between instructions, and a kill request ends the script with an
/// error pcall cannot swallow. Redis compat: script.c scriptInterrupt, script_lua.c
/// luaMaskCountHook.
unsafe extern "C-unwind" fn interrupt_hook(l: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    let Some(rc) = api::run_ctx_ref() else {
        return;
    };
    // Safety: the run context's server pointer is live for the whole script run.
    let srv = unsafe { &mut *rc.srv };
    if !srv.scripts.timedout {
        let threshold = srv
            .cfg
            .get("busy-reply-threshold")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(5000);
        let Some(run) = srv.scripts.running.as_ref() else {
            return;
        };
        let elapsed = crate::clock::now_ms() - run.start_ms;
        if threshold <= 0 || elapsed < threshold {
            return;
        }
        tracing::warn!(
            "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
            if run.eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
            run.name
        );
        srv.scripts.timedout = true;
    }
    srv.process_events_while_blocked();
    if srv.scripts.killed {
        tracing::warn!("Lua script killed by user with SCRIPT KILL.");
        // Every line from now on raises again: pcall cannot keep the script alive.
        unsafe {
            ffi::lua_sethook(l, Some(interrupt_hook), ffi::LUA_MASKLINE, 0);
            vm::push_error(l, b"Script killed by user with SCRIPT KILL...");
            ffi::lua_error(l);
        }
    }
}

pub struct Running {
    pub name: String,
    pub argv: Vec<Vec<u8>>,
    pub start_ms: i64,
    pub eval: bool,
}

/// The cache key of an EVALSHA argument: lowercase, borrowed when it already is.
pub fn sha_key(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) if !s.bytes().any(|c| c.is_ascii_uppercase()) => Cow::Borrowed(s),
        _ => Cow::Owned(String::from_utf8_lossy(b).to_ascii_lowercase()),
    }
}

pub fn sha1hex(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}

/// Parses a script's `#!lua flags=...` line: the flags and the shebang's length (the
/// newline stays so line numbers do not move). No shebang: EVAL compatibility mode.
/// Redis compat: eval.c evalExtractShebangFlags.
pub fn shebang_flags(body: &[u8]) -> Result<(u64, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((FLAG_EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let parts = crate::resp::parse::split_args(body.get(..end).unwrap_or_default()).unwrap_or_default();
    let Some(first) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if first != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(first)
        ));
    }
    let mut flags = 0;
    for p in parts.iter().skip(1) {
        let Some(list) = p.strip_prefix(b"flags=") else {
            return Err(format!("Unknown lua shebang option: {}", String::from_utf8_lossy(p)));
        };
        // Redis compat: sdssplitlen on "," (an empty list yields no flags).
        if list.is_empty() {
            continue;
        }
        for f in list.split(|&c| c == b',') {
            match FLAG_NAMES.iter().find(|(_, n)| n.as_bytes() == f) {
                Some((bit, _)) => flags |= bit,
                None => {
                    return Err(format!(
                        "Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(f)
                    ))
                }
            }
        }
    }
    Ok((flags, end))
}

/// Command flags for a script with `script_flags`: declared flags replace the command's
/// write/denyoom/stale. Redis compat: script.c scriptFlagsToCmdFlags.
pub fn script_cmd_flags(cmd_flags: u64, script_flags: u64) -> u64 {
    use crate::cmd::spec::{DENYOOM, MAY_REPLICATE, STALE, WRITE};
    if script_flags & FLAG_EVAL_COMPAT != 0 {
        return cmd_flags;
    }
    let mut f = cmd_flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
    if script_flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES) == 0 {
        f |= DENYOOM;
    }
    if script_flags & FLAG_NO_WRITES == 0 {
        f |= WRITE;
    }
    if script_flags & FLAG_ALLOW_STALE != 0 {
        f |= STALE;
    }
    f
}

impl Scripts {
    pub fn eval_vm(&mut self) -> Option<&Vm> {
        if self.eval.is_none() {
            self.eval = Vm::new(false);
        }
        self.eval.as_ref()
    }

    /// Compiles `body` into the EVAL state (once per SHA1) and caches it. Returns the
    /// SHA1, or the error reply text.
    /// SHA1 of an EVAL body (remembered for the next call with the same body).
    pub fn eval_sha(&self, body: &[u8]) -> String {
        let mut memo = self.last_sha.borrow_mut();
        if let Some((b, sha)) = memo.as_ref() {
            if b.as_slice() == body {
                return sha.clone();
            }
        }
        let sha = sha1hex(body);
        if body.len() <= 4096 {
            *memo = Some((body.to_vec(), sha.clone()));
        }
        sha
    }

    pub fn create_eval(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = self.eval_sha(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, shebang_len) = shebang_flags(body).map_err(|e| format!("ERR {e}"))?;
        let Some(vm) = self.eval_vm() else {
            return Err("ERR Lua state could not be created".into());
        };
        let l = vm.l;
        let code = body.get(shebang_len..).unwrap_or_default();
        // Safety: valid state; loadbuffer only compiles.
        unsafe {
            if ffi::luaL_loadbuffer(l, code.as_ptr() as *const _, code.len(), c"@user_script".as_ptr()) != 0 {
                let msg = vm::to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
                ffi::lua_pop(l, 1);
                return Err(format!(
                    "ERR Error compiling script (new function): {}",
                    msg.unwrap_or_default()
                ));
            }
        }
        // Safety: the compiled chunk is on top of the stack.
        let func = unsafe { ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX) };
        self.cache_mem += cached_script_size(body.len());
        self.cache.insert(
            sha.clone(),
            Script {
                body: body.to_vec(),
                flags,
                func,
            },
        );
        Ok(sha)
    }

    /// The EVAL state's heap (0 before the first script).
    pub fn eval_vm_memory(&self) -> u64 {
        self.eval.as_ref().map_or(0, Vm::memory)
    }

    /// The script cache: each script's strings and entry, and the table's slots
    /// (INFO used_memory_scripts_eval, MEMORY STATS lua.caches). Redis compat: eval.c
    /// evalScriptsMemory.
    pub fn eval_caches_memory(&self) -> u64 {
        (self.cache_mem + table_slots(self.cache.len()) * 8) as u64
    }

    /// SCRIPT FLUSH: a new EVAL state and an empty cache.
    pub fn flush_eval(&mut self) {
        self.eval = None;
        self.cache.clear();
        self.cache_mem = 0;
    }
}

/// What one cached script counts as: its SHA string, its body (a string object that
/// holds its bytes inline up to 44 of them) and its table entry. Redis compat: eval.c
/// luaCreateFunction.
fn cached_script_size(body: usize) -> usize {
    let body = if body <= 44 {
        crate::util::mem::alloc_size(16 + 3 + body + 1) - 16
    } else {
        sds_size(body)
    };
    sds_size(40) + body + 24 + 16
}

/// What a Redis string of `len` bytes takes: its header (sized by `len`), the bytes and
/// a terminator, in an allocator size class. Redis compat: sds.c sdsReqType.
pub fn sds_size(len: usize) -> usize {
    let header = match len {
        0..=255 => 3,
        256..=65535 => 5,
        _ => 9,
    };
    crate::util::mem::alloc_size(header + len + 1)
}

/// The slots of a Redis dict holding `n` entries: none when empty, else a power of two
/// of at least 4 and at least `n`. Redis compat: dict.c _dictExpandIfNeeded.
pub fn table_slots(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        n.next_power_of_two().max(4)
    }
}

/// Why a script could not start, as the caller's error reply.
pub type PrepError = String;

/// Checks a script may run now. Redis compat: script.c scriptPrepareForRun.
pub fn prepare(srv: &Server, caller: usize, script_flags: u64, ro: bool) -> Result<(), PrepError> {
    let stale = srv.repl_stale();
    if script_flags & FLAG_EVAL_COMPAT != 0 {
        if stale {
            return Err("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.".into());
        }
        return Ok(());
    }
    if script_flags & FLAG_NO_CLUSTER != 0 && srv.cluster.is_some() {
        return Err("ERR Can not run script on cluster, 'no-cluster' flag is set.".into());
    }
    if stale && script_flags & FLAG_ALLOW_STALE == 0 {
        return Err("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.".into());
    }
    let obey = srv.clients.get(caller).is_some_and(|c| c.is_master || c.is_internal());
    if script_flags & FLAG_NO_WRITES == 0 {
        if srv.repl.master.is_some() && srv.cfg.repl.read_only && !obey {
            return Err("READONLY Can not run script with write flag on readonly replica".into());
        }
        if let Some(e) = crate::server::call::disk_error(srv).filter(|_| !obey) {
            let e = if e.starts_with("MISCONF Redis is configured to save RDB") {
                "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".to_string()
            } else {
                format!("MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: {}", srv.aof.last_write_err)
            };
            return Err(e);
        }
        if ro {
            return Err("ERR Can not execute a script with write flag using *_ro command.".into());
        }
        if srv.repl.master.is_none() && !srv.enough_good_replicas() {
            return Err("NOREPLICAS Not enough good replicas to write.".into());
        }
    }
    if srv.pre_command_oom && srv.cfg.maxmemory > 0 && script_flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES) == 0 {
        return Err(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'".into(),
        );
    }
    Ok(())
}

/// Which Lua function to call.
pub enum Target {
    /// An EVAL script: its registry reference; KEYS/ARGV become globals.
    Eval(c_int),
    /// A function: its registry reference; KEYS/ARGV are its two arguments.
    Function(c_int),
}

/// Runs a compiled script or function for client `cid` and writes its reply to `out`.
/// `name` names it in error messages (the SHA1 or the function name).
#[allow(clippy::too_many_arguments)]
pub fn run_function(
    srv: &mut Server,
    cid: usize,
    out: &mut ReplyBuf,
    target: Target,
    name: &str,
    script_flags: u64,
    ro: bool,
    keys: &[&[u8]],
    args: &[&[u8]],
    argv_all: &[&[u8]],
    db: usize,
) {
    let is_eval = matches!(target, Target::Eval(_));
    let l = match if is_eval {
        srv.scripts.eval_vm().map(|v| v.l)
    } else {
        srv.scripts.functions.vm().map(|v| v.l)
    } {
        Some(l) => l,
        None => {
            out.error("ERR Lua state could not be created");
            return;
        }
    };
    let mut flags = if is_eval { api::RUN_EVAL_MODE } else { 0 };
    if ro || (script_flags & FLAG_EVAL_COMPAT == 0 && script_flags & FLAG_NO_WRITES != 0) {
        flags |= api::RUN_READ_ONLY;
    }
    if script_flags & FLAG_EVAL_COMPAT == 0 && script_flags & FLAG_ALLOW_OOM != 0 {
        flags |= api::RUN_ALLOW_OOM;
    }
    if script_flags & (FLAG_EVAL_COMPAT | FLAG_ALLOW_CROSS_SLOT) != 0 {
        flags |= api::RUN_ALLOW_CROSS_SLOT;
    }
    // The script's own client: its db starts as the caller's, its commands are shown
    // to MONITOR as coming from "lua".
    let now = crate::clock::now_ms();
    // One client serves every run (kept between runs), not built anew each time.
    let mut client = srv.scripts.spare_client.take().map(|b| *b).unwrap_or_else(|| {
        crate::server::Client::new(
            u64::MAX,
            crate::server::client::Conn::None,
            "lua".into(),
            String::new(),
            false,
            now,
            true,
        )
    });
    client.db = db;
    client.reply.clear();
    client.sent = 0;
    let script_cid = srv.clients.insert(client);
    let mut rc = api::RunCtx {
        srv: srv as *mut Server,
        caller: cid,
        client: script_cid,
        flags,
        repl: api::PROPAGATE_AOF | api::PROPAGATE_REPL,
        resp3: false,
        oom_at_start: srv.pre_command_oom,
        slot: srv.cluster.as_deref().and_then(|c| c.cmd_slot),
    };
    // The name buffer is reused from run to run.
    let mut name_buf = std::mem::take(&mut srv.scripts.name_buf);
    name_buf.clear();
    name_buf.push_str(name);
    srv.scripts.running = Some(Running {
        name: name_buf,
        // Only FUNCTION STATS shows it, and only for functions (an EVAL makes it -BUSY).
        argv: if is_eval {
            Vec::new()
        } else {
            argv_all.iter().map(|a| a.to_vec()).collect()
        },
        start_ms: now,
        eval: is_eval,
    });
    // A tracking caller's read-only script commands make it track the declared keys.
    let tracks = srv
        .clients
        .get(cid)
        .and_then(|c| c.tracking.as_ref())
        .is_some_and(|t| !t.bcast);
    let prev_script = std::mem::replace(
        &mut srv.tracking.script,
        tracks.then(|| crate::server::tracking::ScriptRead {
            client: script_cid,
            caller: cid,
            keys: keys.iter().map(|k| k.to_vec()).collect(),
        }),
    );
    let was_in_exec = std::mem::replace(&mut srv.in_exec, true);
    let prev_time = srv.script_time_ms.replace(now);
    let mut errors: Vec<(Vec<u8>, bool)> = Vec::new();
    // Safety: `l` is the state owned by srv.scripts, which is not replaced while the
    // script runs (SCRIPT FLUSH / FUNCTION FLUSH are refused from scripts); the Server
    // is reached only through the run context until `with_run` returns.
    api::with_run(&mut rc, || unsafe {
        let top = ffi::lua_gettop(l);
        if ffi::lua_checkstack(l, 8) == 0 {
            return;
        }
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, vm::ERR_HANDLER.as_ptr());
        let handler = ffi::lua_gettop(l);
        match target {
            Target::Eval(r) | Target::Function(r) => {
                ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, r);
            }
        }
        let push_array = |items: &[&[u8]]| {
            ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
            for (i, it) in items.iter().enumerate() {
                vm::push_bytes(l, it);
                ffi::lua_rawseti_(l, -2, i as c_int + 1);
            }
        };
        let nargs = if is_eval {
            push_array(keys);
            vm::set_global_unprotected(l, c"KEYS");
            push_array(args);
            vm::set_global_unprotected(l, c"ARGV");
            0
        } else {
            push_array(keys);
            push_array(args);
            2
        };
        // Redis compat: script_lua.c: the busy check runs every 100000 instructions.
        if ldb::active() {
            ffi::lua_sethook(l, Some(ldb::line_hook), ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT, 100_000);
        } else {
            ffi::lua_sethook(l, Some(interrupt_hook), ffi::LUA_MASKCOUNT, 100_000);
        }
        let err = ffi::lua_pcall(l, nargs, 1, handler);
        ffi::lua_sethook(l, None, 0, 0);
        let rc = api::run_ctx_ref();
        if err != 0 {
            // The texts are C strings to Redis: bytes, up to a NUL ("%.100s": 100 bytes).
            if ffi::lua_istable(l, -1) == 0 {
                let msg = vm::to_bytes(l, -1).map_or(&b"execution failure"[..], crate::util::c_str);
                let mut e = format!("ERR Error running script {name}, ").into_bytes();
                e.extend_from_slice(&msg[..msg.len().min(100)]);
                out.error_bytes(&e);
                errors.push((e, false));
            } else {
                let (mut e, source, line, ignore) = api::error_info(l);
                if let (Some(s), Some(li)) = (source, line) {
                    e.extend_from_slice(format!(" script: {name}, on ").as_bytes());
                    e.extend_from_slice(&s);
                    e.push(b':');
                    e.extend_from_slice(&li);
                    e.push(b'.');
                }
                out.error_bytes(&e);
                errors.push((e, ignore));
            }
        } else {
            api::lua_to_reply(l, out, rc.map(|r| r.resp3).unwrap_or(false), &mut errors);
        }
        ffi::lua_settop(l, top);
    });
    srv.script_time_ms = prev_time;
    srv.in_exec = was_in_exec;
    srv.tracking.script = prev_script;
    if let Some(r) = srv.scripts.running.take() {
        srv.scripts.name_buf = r.name;
    }
    srv.scripts.timedout = false;
    srv.scripts.killed = false;
    if let Some(c) = srv.clients.try_remove(script_cid) {
        // A client in an unusual state (it should never be) is not reused.
        if c.multi.is_none() && c.watched.is_empty() && c.subs.is_none() {
            srv.scripts.spare_client = Some(Box::new(c));
        }
    }
    for (e, ignore) in errors {
        srv.stats.uncounted_failure |= ignore;
        if !ignore {
            crate::server::call::count_error(srv, &e);
        }
    }
    // Redis compat: script_lua.c: a GC step every 50 calls keeps full cycles away.
    srv.scripts.gc_count += 1;
    if srv.scripts.gc_count >= 50 {
        srv.scripts.gc_count = 0;
        // Safety: valid state, no script running.
        unsafe { ffi::lua_gc(l, ffi::LUA_GCSTEP, 50) };
    }
}
