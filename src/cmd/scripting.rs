//! Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO, SCRIPT LOAD/EXISTS/FLUSH/KILL,
//! FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL, FCALL FCALL_RO. The Lua side
//! lives in crate::script. Scripts' writes propagate as they happen (effects
//! replication); EVAL/FCALL themselves never do. Redis compat: eval.c, functions.c.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::persist::rdb::{op, prim};
use crate::script::{self, functions, Target};
use crate::server::Server;

const G: &str = "scripting";

/// The flags the dispatcher applies to EVAL/FCALL: a script that declared flags is
/// gated by them instead of the command's. Redis compat: eval.c evalGetCommandFlags,
/// functions.c fcallGetCommandFlags.
pub fn command_flags(srv: &Server, spec: &CommandSpec, argv: &[&[u8]]) -> u64 {
    let f = spec.flags;
    match spec.name {
        "eval" | "eval_ro" | "evalsha" | "evalsha_ro" => {
            let body = argv.get(1).copied().unwrap_or_default();
            let sha = if spec.name.starts_with("evalsha") {
                if body.len() != 40 {
                    return f;
                }
                script::sha_key(body)
            } else {
                std::borrow::Cow::Owned(srv.scripts.eval_sha(body))
            };
            let flags = match srv.scripts.cache.get(sha.as_ref()) {
                Some(s) => s.flags,
                None if spec.name.starts_with("evalsha") => return f,
                None => match script::shebang_flags(body) {
                    Ok((fl, _)) => fl,
                    Err(_) => return f,
                },
            };
            script::script_cmd_flags(f, flags)
        }
        "fcall" | "fcall_ro" => match srv.scripts.functions.function(argv.get(1).copied().unwrap_or_default()) {
            Some(func) => script::script_cmd_flags(f, func.flags),
            None => f,
        },
        _ => f,
    }
}

/// Parses numkeys at argv[2]; `bad` is the error for a non-integer.
fn numkeys(a: &Args, bad: CmdError) -> Result<usize, CmdError> {
    let n = a.i64(2).map_err(|_| bad)?;
    if n > a.len() as i64 - 3 {
        return Err(CmdError::new("ERR Number of keys can't be greater than number of args"));
    }
    if n < 0 {
        return Err(CmdError::new("ERR Number of keys can't be negative"));
    }
    Ok(n as usize)
}

fn feed_monitors(ctx: &mut Ctx, a: &Args) {
    if !ctx.srv.monitors.is_empty() {
        let (cid, db) = (ctx.cid, ctx.db);
        let cur = crate::server::pubsub::Current {
            cid,
            out: &mut *ctx.out,
        };
        ctx.srv.feed_monitors(Some(cur), cid, db, a.argv);
    }
}

const NOSCRIPT_ERR: CmdError = CmdError::new("NOSCRIPT No matching script. Please use EVAL.");

fn eval_generic(ctx: &mut Ctx, a: &Args, evalsha: bool, ro: bool) -> CmdResult {
    match ctx.client().and_then(|c| c.ldb) {
        None => eval_run(ctx, a, evalsha, ro),
        Some(_) if evalsha => Err(CmdError::new("ERR Please use EVAL instead of EVALSHA for debugging")),
        Some(sync) => eval_debugged(ctx, a, ro, sync),
    }
}

/// EVAL in the Lua debugger, on the client's socket: in a forked child whose
/// changes are thrown away, or (SYNC) in this process, blocking everyone else. The
/// connection closes when the session ends. Redis compat: eval.c
/// evalGenericCommandWithDebugging.
fn eval_debugged(ctx: &mut Ctx, a: &Args, ro: bool, sync: bool) -> CmdResult {
    let Some(fd) = ctx.client().map(|c| c.conn.fd()) else {
        return Ok(());
    };
    let cid = ctx.cid;
    if sync {
        tracing::warn!("Redis synchronous debugging eval session started");
    } else {
        // Safety: the child only runs this script, writes to the socket and exits
        // with _exit, touching no lock another thread may have held.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            return Err(CmdError::owned(format!(
                "ERR Fork() failed: can't run EVAL in debugging mode: {e}"
            )));
        }
        if pid > 0 {
            ctx.srv.scripts.ldb_children.push(pid);
            if let Some(c) = ctx.client() {
                c.ldb = None;
            }
            ctx.srv.close_client_async(cid);
            return Ok(());
        }
        tracing::warn!("Redis forked for debugging eval");
    }
    script::ldb::start(fd, a.at(1), ctx.now_ms);
    let res = eval_run(ctx, a, false, ro);
    script::ldb::end();
    if let Some(c) = ctx.client() {
        c.ldb = None;
        c.close_after_reply = true;
    }
    if !sync {
        if let Err(e) = &res {
            ctx.out.error_bytes(e.bytes());
        }
        script::ldb::write_all(fd, &ctx.out.to_bytes());
        tracing::warn!("Lua debugging session child exiting");
        // Safety: ends the forked child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    tracing::warn!("Redis synchronous debugging eval session ended");
    res
}

fn eval_run(ctx: &mut Ctx, a: &Args, evalsha: bool, ro: bool) -> CmdResult {
    feed_monitors(ctx, a);
    ctx.no_propagate();
    if evalsha && a.at(1).len() != 40 {
        return Err(NOSCRIPT_ERR);
    }
    let nk = numkeys(a, error::NOT_INT)?;
    let sha = if evalsha {
        let sha = script::sha_key(a.at(1));
        if !ctx.srv.scripts.cache.contains_key(sha.as_ref()) {
            return Err(NOSCRIPT_ERR);
        }
        sha
    } else {
        std::borrow::Cow::Owned(ctx.srv.scripts.create_eval(a.at(1)).map_err(CmdError::owned)?)
    };
    let (flags, func) = ctx
        .srv
        .scripts
        .cache
        .get(sha.as_ref())
        .map(|s| (s.flags, s.func))
        .unwrap_or((0, 0));
    script::prepare(ctx.srv, ctx.cid, flags, ro).map_err(CmdError::owned)?;
    let keys = a.argv.get(3..3 + nk).unwrap_or_default();
    let args = a.rest(3 + nk);
    let (cid, db) = (ctx.cid, ctx.db);
    script::run_function(
        ctx.srv,
        cid,
        ctx.out,
        Target::Eval(func),
        &sha,
        flags,
        ro,
        keys,
        args,
        a.argv,
        db,
    );
    Ok(())
}

fn eval(ctx: &mut Ctx, a: &Args) -> CmdResult {
    eval_generic(ctx, a, false, false)
}

fn eval_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    eval_generic(ctx, a, false, true)
}

fn evalsha(ctx: &mut Ctx, a: &Args) -> CmdResult {
    eval_generic(ctx, a, true, false)
}

fn evalsha_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    eval_generic(ctx, a, true, true)
}

fn script_load(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let sha = ctx.srv.scripts.create_eval(a.at(2)).map_err(CmdError::owned)?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let rest = a.rest(2);
    ctx.out.array(rest.len());
    for s in rest {
        let sha = String::from_utf8_lossy(s).to_ascii_lowercase();
        let found = ctx.srv.scripts.cache.contains_key(&sha);
        ctx.out.int(found as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if !(a.len() == 2 || (a.len() == 3 && (a.is(2, "sync") || a.is(2, "async")))) {
        return Err(CmdError::new("ERR SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    ctx.srv.scripts.flush_eval();
    ctx.out.ok();
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL, served while a timed-out script runs.
/// Redis compat: script.c scriptKill.
fn kill(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let is_eval = a.is(0, "script");
    let Some(run) = ctx.srv.scripts.running.as_ref() else {
        return Err(CmdError::new("NOTBUSY No scripts in execution right now."));
    };
    let wrote = crate::script::api::run_ctx_ref().is_some_and(|rc| rc.flags & crate::script::api::RUN_WRITE_DIRTY != 0);
    if wrote {
        return Err(CmdError::new("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
    }
    if is_eval != run.eval {
        return Err(CmdError::new(ctx.srv.scripts.busy_error()));
    }
    ctx.srv.scripts.killed = true;
    ctx.out.ok();
    Ok(())
}

/// SCRIPT DEBUG YES|SYNC|NO: whether this connection's next EVAL runs in the Lua
/// debugger. Redis compat: eval.c scriptCommand.
fn script_debug(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if ctx.client().is_some_and(|c| c.multi.is_some()) {
        return Err(CmdError::new("ERR SCRIPT DEBUG must be called outside MULTI"));
    }
    let mode = if a.is(2, "no") {
        None
    } else if a.is(2, "yes") {
        Some(false)
    } else if a.is(2, "sync") {
        Some(true)
    } else {
        return Err(CmdError::new("ERR Use SCRIPT DEBUG YES/SYNC/NO"));
    };
    if let Some(c) = ctx.client() {
        c.ldb = mode;
    }
    ctx.out.ok();
    Ok(())
}

fn script_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    super::keyspace::help(
        ctx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

// --- functions --------------------------------------------------------------------------

fn fcall_generic(ctx: &mut Ctx, a: &Args, ro: bool) -> CmdResult {
    feed_monitors(ctx, a);
    ctx.no_propagate();
    let Some(f) = ctx.srv.scripts.functions.function(a.at(1)) else {
        return Err(CmdError::new("ERR Function not found"));
    };
    let (fref, flags, name) = (f.fref, f.flags, f.name.clone());
    let nk = numkeys(a, CmdError::new("ERR Bad number of keys provided"))?;
    script::prepare(ctx.srv, ctx.cid, flags, ro).map_err(CmdError::owned)?;
    let keys = a.argv.get(3..3 + nk).unwrap_or_default();
    let args = a.rest(3 + nk);
    let (cid, db) = (ctx.cid, ctx.db);
    script::run_function(
        ctx.srv,
        cid,
        ctx.out,
        Target::Function(fref),
        &name,
        flags,
        ro,
        keys,
        args,
        a.argv,
        db,
    );
    Ok(())
}

fn fcall(ctx: &mut Ctx, a: &Args) -> CmdResult {
    fcall_generic(ctx, a, false)
}

fn fcall_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    fcall_generic(ctx, a, true)
}

fn function_load(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < a.len() - 1 {
        if a.is(i, "replace") {
            replace = true;
            i += 1;
            continue;
        }
        return Err(CmdError::owned(format!("ERR Unknown option given: {}", a.str(i))));
    }
    if i >= a.len() {
        return Err(CmdError::new("ERR Function code is missing"));
    }
    let name = ctx
        .srv
        .scripts
        .functions
        .load(a.at(i), replace)
        .map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    ctx.dirty(1);
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_list(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < a.len() {
        if !with_code && a.is(i, "withcode") {
            with_code = true;
        } else if pattern.is_none() && a.is(i, "libraryname") {
            if i >= a.len() - 1 {
                return Err(CmdError::new("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(a.at(i));
        } else {
            return Err(CmdError::owned(format!("ERR Unknown argument {}", a.str(i))));
        }
        i += 1;
    }
    let libs: Vec<&functions::Library> = ctx
        .srv
        .scripts
        .functions
        .libs
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    // Redis compat: functions.c functionListCommand writes a deferred length.
    out.mark_deferred();
    out.array(libs.len());
    for lib in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in lib.functions.values() {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.desc {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = script::FLAG_NAMES
                .iter()
                .filter(|(b, _)| f.flags & b != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_delete(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let name = a.str(2);
    if !ctx.srv.scripts.functions.delete(&name) {
        return Err(CmdError::new("ERR Library not found"));
    }
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(crate::cmd::error::subcommand_syntax(a.at(1), "FUNCTION"));
    }
    if !(a.len() == 2 || (a.len() == 3 && (a.is(2, "sync") || a.is(2, "async")))) {
        return Err(CmdError::new("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"));
    }
    ctx.srv.scripts.functions.flush();
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

/// The FUNCTION DUMP payload: one FUNCTION2 record (the library code) per library, the
/// RDB version and a CRC64. Redis compat: functions.c functionDumpCommand, rdb.c
/// rdbSaveFunctions.
pub fn dump_payload(codes: &[Vec<u8>]) -> Vec<u8> {
    let mut w = prim::Writer::new(true);
    for c in codes {
        w.byte(op::FUNCTION2);
        w.string(c);
    }
    let mut buf = w.buf;
    buf.extend_from_slice(&[crate::persist::rdb::RDB_VERSION as u8, 0]);
    let crc = crate::util::crc64::crc64(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

fn function_dump(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let codes = ctx.srv.scripts.functions.codes();
    ctx.out.bulk(&dump_payload(&codes));
    Ok(())
}

fn function_restore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let mut policy = Policy::Append;
    if a.len() > 4 {
        return Err(crate::cmd::error::subcommand_syntax(a.at(1), "FUNCTION"));
    }
    if a.len() > 3 {
        policy = if a.is(3, "flush") {
            Policy::Flush
        } else if a.is(3, "append") {
            Policy::Append
        } else if a.is(3, "replace") {
            Policy::Replace
        } else {
            return Err(CmdError::new(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        };
    }
    let payload = a.at(2);
    let bad = CmdError::new("ERR DUMP payload version or checksum are wrong");
    if payload.len() < 10 {
        return Err(bad);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| bad.clone())?);
    let skip_crc = ctx.srv.skip_checksum_validation;
    if ver > crate::persist::rdb::RDB_VERSION
        || (!skip_crc && crc != 0 && crc != crate::util::crc64::crc64(&payload[..payload.len() - 8]))
    {
        return Err(bad);
    }
    let mut r = prim::Reader::new(body);
    let mut codes = Vec::new();
    while !r.is_empty() {
        let t = r.byte().map_err(|_| CmdError::new("ERR can not read data type"))?;
        if t != op::FUNCTION2 {
            return Err(CmdError::new("ERR given type is not a function"));
        }
        let code = r
            .string()
            .map_err(|_| CmdError::new("ERR failed loading the given functions payload"))?;
        codes.push(code);
    }
    // Load into a scratch set first: nothing changes unless every library loads.
    let mut fresh = functions::Functions::default();
    for c in &codes {
        fresh.load(c, false).map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    }
    let cur = &mut ctx.srv.scripts.functions;
    match policy {
        Policy::Flush => {
            cur.flush();
        }
        Policy::Append => {
            for lib in fresh.libs.values() {
                if cur.libs.contains_key(&lib.name) {
                    return Err(CmdError::owned(format!("ERR Library {} already exists", lib.name)));
                }
                if let Some(f) = lib
                    .functions
                    .keys()
                    .find(|f| cur.index.contains_key(&f.to_ascii_lowercase()))
                {
                    return Err(CmdError::owned(format!("ERR Function {f} already exists")));
                }
            }
        }
        Policy::Replace => {
            for lib in fresh.libs.values() {
                if let Some(f) = lib.functions.keys().find(|f| {
                    cur.index
                        .get(&f.to_ascii_lowercase())
                        .is_some_and(|owner| *owner != lib.name)
                }) {
                    return Err(CmdError::owned(format!("ERR Function {f} already exists")));
                }
            }
        }
    }
    for c in &codes {
        cur.load(c, true).map_err(|e| CmdError::owned(format!("ERR {e}")))?;
    }
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

/// Redis compat: functions.c functionStatsCommand (an EVAL running makes it -BUSY).
fn function_stats(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    if ctx.srv.scripts.running.as_ref().is_some_and(|r| r.eval) {
        return Err(CmdError::new(ctx.srv.scripts.busy_error()));
    }
    let nlibs = ctx.srv.scripts.functions.libs.len();
    let nfuncs = ctx.srv.scripts.functions.function_count();
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match ctx.srv.scripts.running.as_ref() {
        None => out.null(),
        Some(r) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(r.name.as_bytes());
            out.bulk(b"command");
            out.array(r.argv.len());
            for a in &r.argv {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(now - r.start_ms);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(nlibs as i64);
    out.bulk(b"functions_count");
    out.int(nfuncs as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    super::keyspace::help(
        ctx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

const EVAL_F: u64 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE | MOVABLE_KEYS;
const EVAL_RO_F: u64 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLE_KEYS;

const SCRIPT_SUBS: &[CommandSpec] = &[
    cmd("load", 3, NOSCRIPT | STALE, ACL_SCRIPTING, script_load)
        .tips(TIPS_ALL_NODES_OK)
        .doc(
            G,
            "2.6.0",
            "O(N) with N being the length in bytes of the script body.",
            "Loads a server-side Lua script to the script cache.",
        ),
    cmd("exists", -3, NOSCRIPT, ACL_SCRIPTING, script_exists)
        .tips(&["request_policy:all_shards", "response_policy:agg_logical_and"])
        .doc(
            G,
            "2.6.0",
            "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
            "Determines whether server-side Lua scripts exist in the script cache.",
        ),
    cmd("flush", -2, NOSCRIPT, ACL_SCRIPTING, script_flush)
        .tips(TIPS_ALL_NODES_OK)
        .doc(
            G,
            "2.6.0",
            "O(N) with N being the number of scripts in cache",
            "Removes all server-side Lua scripts from the script cache.",
        ),
    cmd("kill", 2, NOSCRIPT | ALLOW_BUSY, ACL_SCRIPTING, kill)
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
        .doc(
            G,
            "2.6.0",
            "O(1)",
            "Terminates a server-side Lua script during execution.",
        ),
    cmd("debug", 3, NOSCRIPT, ACL_SCRIPTING, script_debug).doc(
        G,
        "3.2.0",
        "O(1)",
        "Sets the debug mode of server-side Lua scripts.",
    ),
    cmd("help", 2, LOADING | STALE, ACL_SCRIPTING, script_help).doc(
        G,
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
];

const FUNCTION_SUBS: &[CommandSpec] = &[
    cmd("load", -3, WRITE | DENYOOM | NOSCRIPT, ACL_SCRIPTING, function_load)
        .tips(TIPS_ALL_SHARDS_OK)
        .doc(
            G,
            "7.0.0",
            "O(1) (considering compilation time is redundant)",
            "Creates a library.",
        ),
    cmd("list", -2, NOSCRIPT, ACL_SCRIPTING, function_list)
        .tips(&["nondeterministic_output_order"])
        .doc(
            G,
            "7.0.0",
            "O(N) where N is the number of functions",
            "Returns information about all libraries.",
        ),
    cmd("delete", 3, WRITE | NOSCRIPT, ACL_SCRIPTING, function_delete)
        .tips(TIPS_ALL_SHARDS_OK)
        .doc(G, "7.0.0", "O(1)", "Deletes a library and its functions."),
    cmd("flush", -2, WRITE | NOSCRIPT, ACL_SCRIPTING, function_flush)
        .tips(TIPS_ALL_SHARDS_OK)
        .doc(
            G,
            "7.0.0",
            "O(N) where N is the number of functions deleted",
            "Deletes all libraries and functions.",
        ),
    cmd("dump", 2, NOSCRIPT, ACL_SCRIPTING, function_dump).doc(
        G,
        "7.0.0",
        "O(N) where N is the number of functions",
        "Dumps all libraries into a serialized binary payload.",
    ),
    cmd(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        ACL_SCRIPTING,
        function_restore,
    )
    .tips(TIPS_ALL_SHARDS_OK)
    .doc(
        G,
        "7.0.0",
        "O(N) where N is the number of functions on the payload",
        "Restores all libraries from a payload.",
    ),
    cmd("stats", 2, NOSCRIPT | ALLOW_BUSY, ACL_SCRIPTING, function_stats)
        .tips(TIPS_SHARDS_REPORT)
        .doc(
            G,
            "7.0.0",
            "O(1)",
            "Returns information about a function during execution.",
        ),
    cmd("kill", 2, NOSCRIPT | ALLOW_BUSY, ACL_SCRIPTING, kill)
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
        .doc(G, "7.0.0", "O(1)", "Terminates a function during execution."),
    cmd("help", 2, LOADING | STALE, ACL_SCRIPTING, function_help).doc(
        G,
        "7.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    cmd("eval", -3, EVAL_F, ACL_SCRIPTING, eval)
        .specs(SCRIPT_RW)
        .keys_with(keys_numkeys_2, KS_RW | KS_ACCESS | KS_UPDATE)
        .doc(
            G,
            "2.6.0",
            "Depends on the script that is executed.",
            "Executes a server-side Lua script.",
        ),
    cmd("evalsha", -3, EVAL_F, ACL_SCRIPTING, evalsha)
        .specs(SCRIPT_RW)
        .keys_with(keys_numkeys_2, KS_RW | KS_ACCESS | KS_UPDATE)
        .doc(
            G,
            "2.6.0",
            "Depends on the script that is executed.",
            "Executes a server-side Lua script by SHA1 digest.",
        ),
    cmd("eval_ro", -3, EVAL_RO_F, ACL_SCRIPTING, eval_ro)
        .specs(SCRIPT_RO)
        .keys_with(keys_numkeys_2, KS_RO | KS_ACCESS)
        .doc(
            G,
            "7.0.0",
            "Depends on the script that is executed.",
            "Executes a read-only server-side Lua script.",
        ),
    cmd("evalsha_ro", -3, EVAL_RO_F, ACL_SCRIPTING, evalsha_ro)
        .specs(SCRIPT_RO)
        .keys_with(keys_numkeys_2, KS_RO | KS_ACCESS)
        .doc(
            G,
            "7.0.0",
            "Depends on the script that is executed.",
            "Executes a read-only server-side Lua script by SHA1 digest.",
        ),
    cmd("fcall", -3, EVAL_F, ACL_SCRIPTING, fcall)
        .specs(SCRIPT_RW)
        .keys_with(keys_numkeys_2, KS_RW | KS_ACCESS | KS_UPDATE)
        .doc(
            G,
            "7.0.0",
            "Depends on the function that is executed.",
            "Invokes a function.",
        ),
    cmd("fcall_ro", -3, EVAL_RO_F, ACL_SCRIPTING, fcall_ro)
        .specs(SCRIPT_RO)
        .keys_with(keys_numkeys_2, KS_RO | KS_ACCESS)
        .doc(
            G,
            "7.0.0",
            "Depends on the function that is executed.",
            "Invokes a read-only function.",
        ),
    container("script", 0, SCRIPT_SUBS).doc(
        G,
        "2.6.0",
        "Depends on subcommand.",
        "A container for Lua scripts management commands.",
    ),
    container("function", 0, FUNCTION_SUBS).doc(
        G,
        "7.0.0",
        "Depends on subcommand.",
        "A container for function commands.",
    ),
];
