//! Server administration: CONFIG, COMMAND, DEBUG, SHUTDOWN, TIME, LASTSAVE.
use super::error::{self, CmdError, CmdResult};
use super::keyspace::help;
use super::spec::*;
use super::{table, Args, Ctx};
use crate::db::idle_ms;
use crate::server::ShutdownReq;
use crate::util::glob::glob_match;

const G: &str = "server";

fn config_get(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let pairs = ctx.srv.cfg.get_matching(a.rest(2));
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() % 2 != 0 {
        return Err(error::SYNTAX);
    }
    let pairs: Vec<(String, String)> = a
        .rest(2)
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(p[0]).into_owned(),
                String::from_utf8_lossy(p[1]).into_owned(),
            )
        })
        .collect();
    let local = ctx.client().is_some_and(|c| c.is_local());
    let p = ctx.srv.cfg.enable_protected_configs.as_str();
    let protected_ok = p == "yes" || (p == "local" && local);
    // Redis compat: config.c DENY_LOADING_CONFIG: while a dataset loads these cannot
    // change (the answer is -LOADING, before any other error).
    if ctx.srv.loading.is_some()
        && pairs
            .iter()
            .any(|(n, _)| ["appendonly", "repl-diskless-load", "dir"].contains(&n.to_ascii_lowercase().as_str()))
    {
        return Err(CmdError::new("LOADING Redis is loading the dataset in memory"));
    }
    let (old_port, old_binds) = (ctx.srv.cfg.port, ctx.srv.cfg.bind.clone());
    let old_tls_port = ctx.srv.tls_port();
    let changed = ctx.srv.cfg.set_many(&pairs, protected_ok).map_err(CmdError::owned)?;
    // Redis compat: config.c applyTlsCfg / applyTLSPort.
    let tls = changed
        .names()
        .find(|n| n.starts_with("tls-") && *n != "tls-auth-clients");
    if let Some(arg) = tls {
        if !ctx.srv.tls_reconfigure() {
            ctx.srv.cfg.restore(changed);
            return Err(CmdError::owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{arg}') - Unable to update TLS configuration. Check server logs."
            )));
        }
    }
    let new_tls_port = ctx.srv.tls_port();
    if ctx.srv.cfg.port != old_port || new_tls_port != old_tls_port || ctx.srv.cfg.bind != old_binds {
        if let Err(e) = ctx.srv.rebind(old_port, old_tls_port, &old_binds) {
            let new_port = ctx.srv.cfg.port;
            let port_named = changed.names().any(|n| n == "port");
            ctx.srv.cfg.restore(changed);
            let (arg, why) = if new_tls_port != old_tls_port && new_port == old_port {
                ("tls-port", "Unable to listen on this port")
            } else if new_port != old_port || port_named {
                ("port", "Unable to listen on this port")
            } else {
                ("bind", "Failed to bind to specified addresses.")
            };
            tracing::warn!("Failed applying new configuration: {e}. Restoring previous settings.");
            return Err(CmdError::owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{arg}') - {why}"
            )));
        }
    }
    if changed.names().any(|n| n.starts_with("oom-score-adj")) && !ctx.srv.oom_adjust() {
        ctx.srv.cfg.restore(changed);
        ctx.srv.oom_adjust();
        return Err(CmdError::new(
            "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj') - Failed to set current oom_score_adj. Check server logs.",
        ));
    }
    for name in changed.names() {
        apply(ctx, name);
    }
    ctx.out.ok();
    Ok(())
}

/// Runtime side effects of a changed directive.
fn apply(ctx: &mut Ctx, name: &str) {
    let cfg = &ctx.srv.cfg;
    match name {
        "loglevel" => crate::log::set_level(cfg.loglevel),
        "logfile" => crate::log::set_file(&cfg.logfile),
        "hz" => ctx.srv.hz = cfg.hz,
        // Redis compat: config.c updateClusterAnnouncedPort and friends: our own
        // entry changes at once (gossip carries it from there).
        n if n.starts_with("cluster-") => ctx.srv.cluster_refresh_settings(),
        "crash-log-enabled" => crate::crash::set_report(cfg.yes("crash-log-enabled")),
        // Off at once; on from the next cron run.
        "watchdog-period" if cfg.int("watchdog-period") == 0 => crate::crash::watchdog(0),
        "appendonly" => {
            if cfg.yes("appendonly") {
                let _ = ctx.srv.aof_start();
            } else {
                ctx.srv.aof_stop();
            }
        }
        "appendfsync" | "aof-timestamp-enabled" => ctx.srv.aof_sync_config(),
        "requirepass" => {
            let pass = cfg.requirepass.clone();
            ctx.srv.acl.set_requirepass(pass.as_deref());
        }
        "aof-disable-auto-gc" => ctx.srv.aof_del_history(),
        // Redis compat: the title follows the template and the listening address.
        "proc-title-template" | "port" | "tls-port" | "bind" => cfg.show_proc_title(),
        // A size under the minimum is raised to it (CONFIG GET shows it), and a
        // smaller backlog is trimmed to it. Redis compat: resizeReplicationBacklog.
        "repl-backlog-size" => {
            if cfg.int("repl-backlog-size") < crate::config::MIN_BACKLOG {
                let _ = ctx
                    .srv
                    .cfg
                    .set("repl-backlog-size", &[crate::config::MIN_BACKLOG.to_string()]);
            }
            ctx.srv.repl_trim(crate::server::repl::TRIM_BLOCKS);
        }
        "maxmemory-clients" => {
            ctx.srv.recount_clients_mem();
            ctx.srv.evict_clients();
        }
        "maxmemory" => {
            let used = crate::alloc::used_memory();
            if cfg.maxmemory > 0 && cfg.maxmemory < used {
                tracing::warn!("WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", cfg.maxmemory, used);
            }
            // Redis compat: config.c updateMaxmemory: evictions run from the event
            // loop (startEvictionTimeProc), not inside this command.
            ctx.srv.evict_pending = true;
            ctx.srv.recount_clients_mem();
            ctx.srv.evict_clients();
        }
        _ => {}
    }
}

fn strerror(code: i32) -> String {
    crate::util::os_err(&std::io::Error::from_raw_os_error(code))
}

fn mallctl_str(ctx: &mut Ctx, name: &[u8], value: Option<&[u8]>) -> CmdResult {
    use std::ffi::{c_char, c_void, CStr, CString};
    let name = CString::new(name).map_err(|_| CmdError::new("ERR Invalid argument"))?;
    let mut old: *const c_char = std::ptr::null();
    let mut sz = std::mem::size_of::<*const c_char>();
    // Safety: `old` and `sz` describe a pointer-sized buffer; jemalloc refuses (EINVAL)
    // a control whose value is not a string pointer.
    let rret = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            (&mut old as *mut *const c_char).cast::<c_void>(),
            &mut sz,
            std::ptr::null_mut(),
            0,
        )
    };
    if rret != 0 && !(rret == libc::EPERM && value.is_some()) {
        return Err(CmdError::owned(format!("ERR {}", strerror(rret))));
    }
    let mut wret = 0;
    if let Some(v) = value {
        let val = CString::new(v).map_err(|_| CmdError::new("ERR Invalid argument"))?;
        let mut ptr = val.as_ptr();
        // Safety: a void control gets no buffer at all; otherwise the new value is a
        // pointer to a NUL-terminated string that outlives the call.
        wret = unsafe {
            if v == b"VOID" {
                tikv_jemalloc_sys::mallctl(
                    name.as_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    0,
                )
            } else {
                tikv_jemalloc_sys::mallctl(
                    name.as_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    (&mut ptr as *mut *const c_char).cast::<c_void>(),
                    std::mem::size_of::<*const c_char>(),
                )
            }
        };
    }
    if rret == 0 && !old.is_null() {
        // Safety: jemalloc returned a pointer to one of its NUL-terminated strings.
        let s = unsafe { CStr::from_ptr(old) }.to_bytes().to_vec();
        ctx.out.bulk(&s);
    } else if wret != 0 {
        return Err(CmdError::owned(format!("ERR {}", strerror(wret))));
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.srv.stats = Default::default();
    ctx.srv.defrag.reset_stats();
    ctx.srv.peak_memory = 0;
    crate::db::lazyfree::reset_freed();
    for db in &mut ctx.srv.dbs {
        db.expired_count = 0;
    }
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let users = ctx.srv.acl_config_lines();
    match ctx.srv.cfg.rewrite(&users) {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
            Ok(())
        }
        Err(e) if ctx.srv.cfg.file.is_none() => Err(CmdError::err(e)),
        Err(e) => Err(CmdError::owned(format!("ERR Rewriting config file: {e}"))),
    }
}

fn config_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

fn time(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let us = crate::clock::now_us();
    ctx.out.array(2);
    ctx.out.bulk_i64((us / 1_000_000) as i64);
    ctx.out.bulk_i64((us % 1_000_000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.int(ctx.srv.lastsave);
    Ok(())
}

fn shutdown(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut req = ShutdownReq::default();
    for j in 1..a.len() {
        if a.is(j, "nosave") && req.save.is_none() {
            req.save = Some(false);
        } else if a.is(j, "save") && req.save.is_none() {
            req.save = Some(true);
        } else if a.is(j, "now") {
            req.now = true;
        } else if a.is(j, "force") {
            req.force = true;
        } else if a.is(j, "abort") && a.len() == 2 {
            if !ctx.srv.shutdown_abort() {
                return Err(CmdError::new("ERR No shutdown in progress."));
            }
            ctx.out.ok();
            return Ok(());
        } else {
            return Err(error::SYNTAX);
        }
    }
    // Redis compat: db.c shutdownCommand: a timed-out script allows only NOSAVE.
    if ctx.srv.scripts.timedout && req.save != Some(false) {
        return Err(CmdError::new(ctx.srv.scripts.busy_error()));
    }
    if !req.now && !ctx.may_block() && !ctx.srv.scripts.timedout {
        return Err(CmdError::new(
            "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client",
        ));
    }
    req.client = Some(ctx.cid);
    // The caller waits for the outcome: the process exits, or an error.
    if ctx.may_block() && !ctx.srv.scripts.timedout {
        ctx.block(&[], 0, crate::server::blocking::TimeoutReply::NullBulk, "shutdown");
    }
    ctx.srv.shutdown_callers.push(ctx.cid);
    // A second caller in the same loop iteration waits for the first one's outcome.
    if ctx.srv.shutdown.is_none() {
        ctx.srv.shutdown = Some(req);
    }
    Ok(())
}

/// One key spec as COMMAND INFO gives it. Redis compat: server.c addReplyCommandKeySpecs.
fn key_spec_reply(ctx: &mut Ctx, s: &KeySpec) {
    let kf: Vec<&str> = KS_NAMES
        .iter()
        .filter(|(f, _)| s.flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    ctx.out.map(3);
    ctx.out.bulk(b"flags");
    ctx.out.set(kf.len());
    for f in kf {
        ctx.out.simple(f);
    }
    ctx.out.bulk(b"begin_search");
    ctx.out.map(2);
    ctx.out.bulk(b"type");
    match s.begin {
        Begin::Index(pos) => {
            ctx.out.bulk(b"index");
            ctx.out.bulk(b"spec");
            ctx.out.map(1);
            ctx.out.bulk(b"index");
            ctx.out.int(pos as i64);
        }
        Begin::Keyword(word, from) => {
            ctx.out.bulk(b"keyword");
            ctx.out.bulk(b"spec");
            ctx.out.map(2);
            ctx.out.bulk(b"keyword");
            ctx.out.bulk(word.as_bytes());
            ctx.out.bulk(b"startfrom");
            ctx.out.int(from as i64);
        }
        Begin::Unknown => {
            ctx.out.bulk(b"unknown");
            ctx.out.bulk(b"spec");
            ctx.out.map(0);
        }
    }
    ctx.out.bulk(b"find_keys");
    ctx.out.map(2);
    ctx.out.bulk(b"type");
    let fields: [(&[u8], i32); 3] = match s.find {
        Find::Range(last, step, limit) => {
            ctx.out.bulk(b"range");
            [(b"lastkey", last), (b"keystep", step), (b"limit", limit)]
        }
        Find::Keynum(idx, first, step) => {
            ctx.out.bulk(b"keynum");
            [(b"keynumidx", idx), (b"firstkey", first), (b"keystep", step)]
        }
        Find::Unknown => {
            ctx.out.bulk(b"unknown");
            ctx.out.bulk(b"spec");
            ctx.out.map(0);
            return;
        }
    };
    ctx.out.bulk(b"spec");
    ctx.out.map(3);
    for (name, v) in fields {
        ctx.out.bulk(name);
        ctx.out.int(v as i64);
    }
}

fn command_info_one(ctx: &mut Ctx, c: &'static CommandSpec, full: &str) {
    let flags: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(f, _)| c.flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    let acl = c.acl_categories();
    let cats: Vec<String> = ACL_NAMES
        .iter()
        .filter(|(f, _)| acl & f != 0)
        .map(|(_, n)| format!("@{n}"))
        .collect();
    ctx.out.array(10);
    ctx.out.bulk(full.as_bytes());
    ctx.out.int(c.arity as i64);
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.simple(f);
    }
    // Key specs: the command's own, else one made from its key range.
    let made;
    let specs: &[KeySpec] = if !c.specs.is_empty() {
        c.specs
    } else if c.keys.first > 0 {
        let KeyRange { first, last, step } = c.keys;
        made = [ks(
            c.key_flags,
            Begin::Index(first),
            Find::Range(if last < 0 { last } else { last - first }, step, 0),
        )];
        &made
    } else {
        &[]
    };
    let range = if c.specs.is_empty() {
        c.keys
    } else {
        legacy_range(c.specs)
    };
    ctx.out.int(range.first as i64);
    ctx.out.int(range.last as i64);
    ctx.out.int(range.step as i64);
    // Redis compat: acl.c addReplyCommandCategories writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.set(cats.len());
    for cat in &cats {
        ctx.out.simple(cat);
    }
    // Tips are bulk strings. Redis compat: server.c addReplyCommandTips.
    ctx.out.set(c.tips.len());
    for t in c.tips {
        ctx.out.bulk(t.as_bytes());
    }
    // Key specs are a set; subcommands an array, or an empty set when there are none.
    // Redis compat: server.c addReplyCommandKeySpecs, addReplyCommandSubCommands.
    ctx.out.set(specs.len());
    for s in specs {
        key_spec_reply(ctx, s);
    }
    if c.subcommands.is_empty() {
        ctx.out.set(0);
    } else {
        ctx.out.array(c.subcommands.len());
    }
    for s in c.subcommands {
        command_info_one(ctx, s, &format!("{}|{}", c.name, s.name));
    }
}

fn command(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let t = table();
    ctx.out.array(t.all.len());
    for c in &t.all {
        command_info_one(ctx, c, c.name);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.int(table().all.len() as i64);
    Ok(())
}

/// Finds a command by "name" or "container|sub".
fn find(name: &[u8]) -> Option<(&'static CommandSpec, String)> {
    let s = String::from_utf8_lossy(name).to_ascii_lowercase();
    match s.split_once('|') {
        Some((p, sub)) => {
            let c = table().get(p.as_bytes())?;
            let sc = c.subcommands.iter().find(|x| x.name == sub)?;
            Some((sc, format!("{}|{}", c.name, sc.name)))
        }
        None => table().get(s.as_bytes()).map(|c| (c, c.name.to_string())),
    }
}

fn command_info(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 2 {
        return command(ctx, a);
    }
    ctx.out.array(a.len() - 2);
    for n in a.rest(2) {
        match find(n) {
            Some((c, full)) => command_info_one(ctx, c, &full),
            // Redis compat: server.c commandInfoCommand (addReplyNull).
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn doc_one(ctx: &mut Ctx, c: &'static CommandSpec, full: &str) {
    let docs = super::docs::docs(full);
    ctx.out.bulk(full.as_bytes());
    let n =
        3 + !c.complexity.is_empty() as usize + docs.map_or(0, |d| d.fields()) + (!c.subcommands.is_empty()) as usize;
    ctx.out.map(n);
    ctx.out.bulk(b"summary");
    ctx.out.bulk(c.summary.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(c.since.as_bytes());
    ctx.out.bulk(b"group");
    ctx.out.bulk(c.group.as_bytes());
    if !c.complexity.is_empty() {
        ctx.out.bulk(b"complexity");
        ctx.out.bulk(c.complexity.as_bytes());
    }
    if let Some(d) = docs {
        d.reply_flags(ctx);
        d.reply_args(ctx);
    }
    if !c.subcommands.is_empty() {
        ctx.out.bulk(b"subcommands");
        ctx.out.map(c.subcommands.len());
        for s in c.subcommands {
            doc_one(ctx, s, &format!("{}|{}", c.name, s.name));
        }
    }
}

fn command_docs(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let t = table();
    if a.len() == 2 {
        ctx.out.map(t.all.len());
        for c in &t.all {
            doc_one(ctx, c, c.name);
        }
        return Ok(());
    }
    let found: Vec<_> = a.rest(2).iter().filter_map(|n| find(n)).collect();
    // Redis compat: server.c commandDocsCommand writes a deferred length for named commands.
    ctx.out.mark_deferred();
    ctx.out.map(found.len());
    for (c, full) in found {
        doc_one(ctx, c, &full);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut names = Vec::new();
    for c in &table().all {
        names.push(c.name.to_string());
        for s in c.subcommands {
            names.push(format!("{}|{}", c.name, s.name));
        }
    }
    if a.len() > 2 {
        if a.len() != 5 || !a.is(2, "filterby") {
            return Err(error::SYNTAX);
        }
        let v = a.at(4);
        if a.is(3, "pattern") {
            names.retain(|n| glob_match(v, n.as_bytes(), true));
        } else if a.is(3, "aclcat") {
            let cat = ACL_NAMES
                .iter()
                .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(v))
                .map(|(f, _)| *f);
            names.retain(|n| match (cat, find(n.as_bytes())) {
                (Some(f), Some((c, _))) => c.acl_categories() & f != 0,
                _ => false,
            });
        } else if a.is(3, "module") {
            names.clear();
        } else {
            return Err(error::SYNTAX);
        }
    }
    // Redis compat: server.c commandListCommand writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn command_getkeys(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let argv = a.rest(2);
    let Some(c) = table().lookup(argv) else {
        return Err(CmdError::new("ERR Invalid command specified"));
    };
    // Redis compat: server.c getKeysSubcommandImpl checks for keys before arity.
    if !c.has_keys() {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    let argc = argv.len() as i32;
    if (c.arity > 0 && c.arity != argc) || argc < -c.arity {
        return Err(CmdError::new("ERR Invalid number of arguments specified for command"));
    }
    let refs = c.key_refs(argv);
    // No key found where one must be: the arguments are wrong (ZUNIONSTORE d 5 a).
    if refs.is_empty() && c.flags & crate::cmd::spec::NO_MANDATORY_KEYS == 0 {
        return Err(CmdError::new("ERR Invalid arguments specified for command"));
    }
    let withflags = a.is(1, "getkeysandflags");
    ctx.out.array(refs.len());
    for (p, flags) in refs {
        let k = argv.get(p).copied().unwrap_or_default();
        if withflags {
            let kf: Vec<&str> = KS_NAMES
                .iter()
                .filter(|(f, _)| flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            ctx.out.array(2);
            ctx.out.bulk(k);
            ctx.out.set(kf.len());
            for f in kf {
                ctx.out.simple(f);
            }
        } else {
            ctx.out.bulk(k);
        }
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

/// A DEBUG switch as debug.c reads it, with atoi: "0", "00", "x" and "" are off.
fn atoi_flag(v: &[u8]) -> bool {
    crate::util::num::atoi_prefix(v) != 0
}

fn debug(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let sub = a.str(1).to_ascii_lowercase();
    let now = ctx.now_ms;
    match sub.as_str() {
        "help" => {
            help(
                ctx,
                "DEBUG",
                &[
                    "DIGEST",
                    "    Output a hex signature representing the current DB content.",
                    "DIGEST-VALUE <key> [<key> ...]",
                    "    Output a hex signature of the values of all the specified keys.",
                    "OBJECT <key>",
                    "    Show low level info about the key and associated value.",
                    "PROTOCOL <type>",
                    "    Reply with a test value of the specified type.",
                    "RELOAD",
                    "    Save the dataset and load it back.",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Setting it to 0 disables expiring keys in background when they are not",
                    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                    "    default.",
                    "SLEEP <seconds>",
                    "    Stop the server for <seconds>. Decimals allowed.",
                ],
            );
        }
        "sleep" if a.len() == 3 => {
            // Redis compat: debug.c reads the time with strtod and no checks, so "0\r\n"
            // (hiredis's probe) is 0 and garbage is 0.
            let secs = crate::util::num::strtod(a.at(2)).0;
            if secs > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
            }
            ctx.out.ok();
        }
        "set-active-expire" if a.len() == 3 => {
            ctx.srv.active_expire = atoi_flag(a.at(2));
            ctx.out.ok();
        }
        "object" if a.len() == 3 => {
            let compress = ctx.srv.cfg.yes("rdbcompression");
            // Redis compat: debug.c looks the key up raw: a logically expired key that
            // is still stored is shown (and not deleted).
            let Some(o) = ctx.db().iter_key(a.at(2)) else {
                return Err(error::NO_SUCH_KEY);
            };
            let mut line = format!(
                "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                o as *const _,
                o.encoding_name(),
                serialized_len(o, compress),
                o.lru(),
                idle_ms(o.lru(), now) / 1000
            );
            if let crate::db::ValueRef::List(l) = o.value() {
                // Redis compat: debug.c adds the quicklist's shape.
                let nodes = l.node_count();
                line.push_str(&format!(
                    " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
                    l.len() as f64 / nodes.max(1) as f64,
                    l.fill(),
                    u8::from(l.depth() != 0),
                    l.uncompressed_size()
                ));
            }
            ctx.out.simple(&line);
        }
        "protocol" if a.len() == 3 => debug_protocol(ctx, a)?,
        "digest" if a.len() == 2 => {
            let d = super::digest::dataset_digest(&ctx.srv.dbs);
            ctx.out.simple(&super::digest::hex(&d));
        }
        "digest-value" => {
            ctx.out.array(a.len() - 2);
            for k in a.rest(2) {
                // Redis compat: debug.c looks the key up raw (logically expired keys too).
                let db = &ctx.srv.dbs[ctx.db];
                let mut d = [0u8; 20];
                if let Some(o) = db.iter_key(k) {
                    super::digest::object_digest(&mut d, o, o.has_expire());
                }
                ctx.out.simple(&super::digest::hex(&d));
            }
        }
        "populate" if (3..=5).contains(&a.len()) => {
            let n = a.i64(2)?;
            if n < 0 {
                return Err(error::NOT_POSITIVE);
            }
            let prefix = if a.len() >= 4 {
                a.at(3).to_vec()
            } else {
                b"key".to_vec()
            };
            let size = if a.len() == 5 {
                let s = a.i64(4)?;
                if s < 0 {
                    return Err(error::NOT_POSITIVE);
                }
                Some(s as usize)
            } else {
                None
            };
            // Redis compat: debug.c populate: keys prefix:N with value "value:N",
            // padded with zero bytes or cut to `size`; existing keys are left alone.
            for i in 0..n {
                let mut key = prefix.clone();
                key.push(b':');
                crate::util::num::fmt_i64(i, &mut key);
                if ctx.db().exists(&key, now) {
                    continue;
                }
                let mut val = b"value:".to_vec();
                crate::util::num::fmt_i64(i, &mut val);
                if let Some(s) = size {
                    val.resize(s, 0);
                }
                ctx.db().add(crate::db::Obj::new_str(&key, &val), now);
                ctx.dirty(1);
            }
            ctx.out.ok();
        }
        "config-rewrite-force-all" if a.len() == 2 => {
            let users = ctx.srv.acl_config_lines();
            ctx.srv
                .cfg
                .rewrite_all(&users)
                .map_err(|e| CmdError::owned(format!("ERR CONFIG-REWRITE-FORCE-ALL failed: {e}")))?;
            ctx.out.ok();
        }
        "quicklist-packed-threshold" if a.len() == 3 => {
            // Redis compat: quicklist.c quicklistisSetPackedThreshold (0 restores 1 GB).
            let sz = crate::config::parse_memory(&a.str(2)).filter(|v| (0..=(1i64 << 32) - (1 << 20)).contains(v));
            match sz {
                Some(v) => {
                    crate::ds::quicklist::QuickList::set_packed_threshold(if v == 0 { 1 << 30 } else { v as usize });
                    ctx.out.ok();
                }
                None => {
                    return Err(CmdError::new(
                        "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
                    ))
                }
            }
        }
        "listpack" | "quicklist" if a.len() >= 3 => {
            let Some(o) = ctx.db().peek(a.at(2), now) else {
                return Err(error::NO_SUCH_KEY);
            };
            let enc = o.encoding_name();
            if enc != sub {
                return Err(CmdError::owned(format!("ERR Not a {sub} encoded object.")));
            }
            ctx.out.simple(&format!(
                "{}{} structure printed on stdout",
                &sub[..1].to_ascii_uppercase(),
                &sub[1..]
            ));
        }
        "htstats-key" if a.len() == 3 => {
            let lim = ctx.limits();
            // Looked up for writing without touching it, as debug.c's dictFind.
            let Some(lru) = ctx.db().peek(a.at(2), now).map(|o| o.lru()) else {
                return Err(error::NO_SUCH_KEY);
            };
            let Some(o) = ctx.db().get_mut(a.at(2), now) else {
                return Err(error::NO_SUCH_KEY);
            };
            o.set_lru(lru);
            // A packed set of strings is reported as a hash table: it becomes one here.
            if o.enc() == crate::db::Enc::SetLp {
                if let Some(mut s) = o.set_mut(&lim) {
                    s.convert();
                }
            }
            let stats = match o.heap() {
                Some(crate::db::Value::Hash(d)) => d.stats(),
                Some(crate::db::Value::Set(d)) => d.stats(),
                Some(crate::db::Value::ZSet(z)) => z.dict().stats(),
                _ => {
                    return Err(CmdError::new(
                        "ERR The value stored at the specified key is not represented using an hash table",
                    ))
                }
            };
            let text = crate::ds::dict::format_stats(&stats);
            ctx.out.verbatim(text.as_bytes(), "txt");
        }
        "reload" => debug_reload(ctx, a)?,
        "loadaof" => {
            ctx.srv.debug_loadaof();
            ctx.out.ok();
        }
        "aof-flush-sleep" if a.len() == 3 => {
            ctx.srv.aof.flush_sleep_us = crate::util::num::atoi_prefix(a.at(2)).clamp(0, i32::MAX.into()) as u64;
            ctx.out.ok();
        }
        "set-skip-checksum-validation" if a.len() == 3 => {
            ctx.srv.skip_checksum_validation = atoi_flag(a.at(2));
            ctx.out.ok();
        }
        "set-disable-deny-scripts" if a.len() == 3 => {
            ctx.srv.scripts.allow_noscript = atoi_flag(a.at(2));
            ctx.out.ok();
        }
        // Sends a command to the replicas only (tests of replica divergence).
        // Redis compat: debug.c DEBUG REPLICATE.
        "replicate" if a.len() >= 3 => {
            let argv: Vec<Vec<u8>> = a.rest(2).iter().map(|x| x.to_vec()).collect();
            let db = ctx.db;
            ctx.srv.propagate_to(db, argv, crate::server::propagate::TO_REPL);
            ctx.out.ok();
        }
        "pause-cron" if a.len() == 3 => {
            ctx.srv.cron_paused = atoi_flag(a.at(2));
            ctx.out.ok();
        }
        // Reads a jemalloc control (integer-valued ones). Redis compat: debug.c mallctl.
        "mallctl" if a.len() == 3 => {
            let mut name = a.at(2).to_vec();
            name.push(0);
            // Safety: the name is NUL-terminated and each read names the width it asks
            // for; jemalloc refuses (EINVAL) a width that does not match the control.
            let v = unsafe {
                tikv_jemalloc_ctl::raw::read::<u64>(&name)
                    .or_else(|_| tikv_jemalloc_ctl::raw::read::<u32>(&name).map(u64::from))
                    .or_else(|_| tikv_jemalloc_ctl::raw::read::<u8>(&name).map(u64::from))
            };
            match v {
                Ok(v) => ctx.out.int(v as i64),
                Err(e) => return Err(CmdError::owned(format!("ERR {e}"))),
            }
        }
        // Reads (and with a value, writes) a string jemalloc control; VOID calls a
        // control that takes nothing. Redis compat: debug.c mallctl_string.
        "mallctl-str" if a.len() >= 3 => {
            return mallctl_str(ctx, a.at(2), a.argv.get(3).copied());
        }
        // Redis compat: debug.c "replybuffer" (the clients cron's reply-buffer sizing).
        "replybuffer" if a.len() == 4 => {
            match (a.str(2).to_ascii_lowercase().as_str(), a.str(3).to_ascii_lowercase()) {
                ("peak-reset-time", v) if v == "never" => ctx.srv.reply_peak_reset_ms = -1,
                ("peak-reset-time", v) if v == "reset" => {
                    ctx.srv.reply_peak_reset_ms = crate::server::REPLY_PEAK_RESET_MS
                }
                ("peak-reset-time", _) => ctx.srv.reply_peak_reset_ms = a.i64(3)?,
                ("resizing", _) => ctx.srv.reply_resizing = atoi_flag(a.at(3)),
                _ => return Err(error::subcommand_syntax(a.at(1), "DEBUG")),
            }
            ctx.out.ok();
        }
        // Redis compat: debug.c "drop-cluster-packet-filter <type>": bus messages of
        // that type are dropped as they arrive (-1: none).
        "drop-cluster-packet-filter" if a.len() == 3 => {
            let t = a.i64(2)?;
            if let Some(cl) = ctx.srv.cluster.as_deref_mut() {
                cl.drop_filter = t;
            }
            ctx.out.ok();
        }
        // Redis compat: debug.c "clusterlink kill to|from|all <node-id>".
        "clusterlink" if a.len() == 5 && a.is(2, "kill") => {
            let Some(cl) = ctx.srv.cluster.as_deref() else {
                return Err(CmdError::new(
                    "ERR Debug option only available for cluster mode enabled setup!",
                ));
            };
            let Some(n) = cl.lookup(a.at(4)).and_then(|n| cl.nodes.get(n)) else {
                return Err(CmdError::owned(format!("ERR Unknown node {}", a.str(4))));
            };
            let links = if a.is(3, "from") {
                vec![n.inbound_link]
            } else if a.is(3, "to") {
                vec![n.link]
            } else if a.is(3, "all") {
                vec![n.link, n.inbound_link]
            } else {
                return Err(CmdError::owned(format!("ERR Unknown direction {}", a.str(3))));
            };
            for l in links.into_iter().flatten() {
                ctx.srv.cluster_free_link(l);
            }
            ctx.out.ok();
        }
        "segfault" => crate::crash::segfault(),
        // Redis compat: debug.c: a new replication id, and no second one.
        "change-repl-id" if a.len() == 2 => {
            tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            let r = &mut ctx.srv.repl;
            r.replid = crate::server::repl::new_replid();
            r.replid2 = crate::server::repl::NO_REPLID.into();
            r.second_offset = -1;
            ctx.out.ok();
        }
        "log" if a.len() == 3 => {
            tracing::warn!("DEBUG LOG: {}", a.str(2));
            ctx.out.ok();
        }
        "error" if a.len() == 3 => {
            return Err(CmdError::owned(a.str(2)));
        }
        _ => {
            return Err(error::subcommand_syntax(a.at(1), "DEBUG"));
        }
    }
    Ok(())
}

/// Bytes the value takes in an RDB file. Redis compat: rdb.c rdbSavedObjectLen.
fn serialized_len(o: &crate::db::Obj, compress: bool) -> usize {
    let mut w = crate::persist::rdb::prim::Writer::new(compress);
    crate::persist::rdb::value::write_value(&mut w, o);
    w.buf.len()
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset, load the file back.
/// Redis compat: debug.c.
fn debug_reload(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (mut flush, mut save, mut merge) = (true, true, false);
    for j in 2..a.len() {
        if a.is(j, "merge") {
            merge = true;
        } else if a.is(j, "noflush") {
            flush = false;
        } else if a.is(j, "nosave") {
            save = false;
        } else {
            return Err(error::RELOAD_OPTS);
        }
    }
    if save && ctx.srv.save_sync().is_err() {
        return Err(error::GENERIC_ERR);
    }
    if flush {
        // Freed here, as Redis's emptyData does: freed on the background thread while
        // the file loads, the two contend for the allocator and the load takes twice
        // as long.
        for db in &mut ctx.srv.dbs {
            drop(db.flush());
        }
        // Redis compat: debug.c "reload" empties functions too (emptyData).
        ctx.srv.scripts.functions.flush();
    }
    // Without MERGE a key already present is an error, like Redis's duplicate-key check.
    match ctx.srv.load_rdb(merge) {
        Ok(_) => {
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            tracing::warn!("{e}");
            Err(error::RELOAD_LOAD)
        }
    }
}

fn debug_protocol(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let o = &mut *ctx.out;
    match a.str(2).to_ascii_lowercase().as_str() {
        "string" => o.bulk(b"Hello World"),
        "integer" => o.int(12345),
        #[allow(clippy::approx_constant)] // Redis compat: debug.c replies exactly 3.141
        "double" => o.double(3.141),
        "bignum" => {
            if o.resp3 {
                o.raw(b"(1234567999999999999999999999999999999\r\n");
            } else {
                o.bulk(b"1234567999999999999999999999999999999");
            }
        }
        "null" => o.null(),
        "array" => {
            o.array(3);
            (0..3).for_each(|i| o.int(i));
        }
        "set" => {
            o.set(3);
            (0..3).for_each(|i| o.int(i));
        }
        "map" => {
            o.map(3);
            for i in 0..3 {
                o.int(i);
                o.boolean(i == 1);
            }
        }
        "attrib" => {
            if o.resp3 {
                o.raw(b"|1\r\n");
                o.bulk(b"key-popularity");
                o.array(2);
                o.bulk(b"key:123");
                o.int(90);
            }
            o.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !o.resp3 {
                return Err(CmdError::new("ERR RESP2 is not supported by this command"));
            }
            o.push(2);
            o.bulk(b"server-cpu-usage");
            o.int(42);
            o.bulk(b"Some real reply following the push reply");
        }
        "true" => o.boolean(true),
        "false" => o.boolean(false),
        "verbatim" => o.verbatim(b"This is a verbatim\nstring", "txt"),
        _ => return Err(CmdError::new("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")),
    }
    Ok(())
}

fn memory_usage(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() != 3 && !(a.len() == 5 && a.is(3, "samples")) {
        return Err(error::SYNTAX);
    }
    // Redis compat: object.c memoryCommand: five samples unless told, 0 for all, and a
    // negative count is a syntax error.
    let samples = if a.len() == 5 { a.i64(4)? } else { 5 };
    if samples < 0 {
        return Err(error::SYNTAX);
    }
    let samples = usize::try_from(samples).unwrap_or(usize::MAX);
    let now = ctx.now_ms;
    match ctx.db().peek(a.at(2), now) {
        // The entry's block, its heap value, and its table slot.
        Some(o) => {
            let n = o.mem_usage_sampled(samples) + 16;
            ctx.out.int(n as i64);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// MEMORY STATS: where the memory goes, in Redis's fields and order. The keyspace
/// tables' own memory is each database's overhead. Redis compat: object.c
/// memoryCommand (getMemoryOverheadData).
fn memory_stats(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    use crate::cmd::info::{ratio, MemFigures};
    let m = MemFigures::take(ctx.srv);
    let keys: u64 = ctx.srv.dbs.iter().map(|d| d.len() as u64).sum();
    let overhead = m.overhead();
    let net = m.used.saturating_sub(m.startup);
    let dataset = m.used.saturating_sub(overhead);
    ctx.out.map(27 + m.tables.len());
    for (k, v) in [
        ("peak.allocated", m.peak),
        ("total.allocated", m.used),
        ("startup.allocated", m.startup),
        ("replication.backlog", m.backlog),
        ("clients.slaves", m.replicas),
        ("clients.normal", m.normal),
        ("cluster.links", 0),
        ("aof.buffer", m.aof),
        ("lua.caches", m.scripts),
        ("functions.caches", m.functions),
    ] {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v as i64);
    }
    for &(i, (main, expires)) in &m.tables {
        ctx.out.bulk(format!("db.{i}").as_bytes());
        ctx.out.map(3);
        for (k, v) in [
            ("overhead.hashtable.main", main),
            ("overhead.hashtable.expires", expires),
            ("overhead.hashtable.slot-to-keys", 0),
        ] {
            ctx.out.bulk(k.as_bytes());
            ctx.out.int(v as i64);
        }
    }
    let per_key = net.checked_div(keys).unwrap_or(0);
    for (k, v) in [
        ("overhead.total", overhead),
        ("keys.count", keys),
        ("keys.bytes-per-key", per_key),
        ("dataset.bytes", dataset),
    ] {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v as i64);
    }
    ctx.out.bulk(b"dataset.percentage");
    ctx.out.double(ratio(dataset, net) * 100.0);
    ctx.out.bulk(b"peak.percentage");
    ctx.out.double(ratio(m.used, m.peak) * 100.0);
    for (k, v) in [
        ("allocator.allocated", m.alloc),
        ("allocator.active", m.active),
        ("allocator.resident", m.resident),
    ] {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v as i64);
    }
    // Ratios with the bytes between the two figures.
    for (name, a, b) in [
        ("allocator-fragmentation", m.active, m.alloc),
        ("allocator-rss", m.resident, m.active),
        ("rss-overhead", m.rss, m.resident),
    ] {
        ctx.out.bulk(format!("{name}.ratio").as_bytes());
        ctx.out.double(ratio(a, b));
        ctx.out.bulk(format!("{name}.bytes").as_bytes());
        ctx.out.int(a as i64 - b as i64);
    }
    ctx.out.bulk(b"fragmentation");
    ctx.out.double(ratio(m.rss, m.sampled_used));
    ctx.out.bulk(b"fragmentation.bytes");
    ctx.out.int(m.rss as i64 - m.sampled_used as i64);
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.verbatim(b"No memory problems detected.", "txt");
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.verbatim(crate::alloc::stats_report().as_bytes(), "txt");
    Ok(())
}

fn memory_purge(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

fn memory_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

const MEMORY_SUBS: &[CommandSpec] = &[
    cmd("doctor", 2, 0, 0, memory_doctor)
        .tips(TIPS_SHARDS_REPORT)
        .doc(G, "4.0.0", "O(1)", "Reports memory problems."),
    cmd("help", 2, LOADING | STALE, 0, memory_help).doc(G, "4.0.0", "O(1)", "Lists the MEMORY subcommands."),
    cmd("malloc-stats", 2, 0, 0, memory_malloc_stats)
        .tips(TIPS_SHARDS_REPORT)
        .doc(
            G,
            "4.0.0",
            "Depends on how much memory is allocated, could be slow",
            "Returns allocator statistics.",
        ),
    cmd("purge", 2, 0, 0, memory_purge).tips(TIPS_ALL_SHARDS_OK).doc(
        G,
        "4.0.0",
        "Depends on how much memory is allocated, could be slow",
        "Asks the allocator to release memory.",
    ),
    cmd("stats", 2, 0, 0, memory_stats).tips(TIPS_SHARDS_REPORT).doc(
        G,
        "4.0.0",
        "O(1)",
        "Returns details about memory usage.",
    ),
    cmd("usage", -3, READONLY, 0, memory_usage).keys(2, 2, 1, KS_RO).doc(
        G,
        "4.0.0",
        "O(N) where N is the number of samples.",
        "Estimates the memory usage of a key.",
    ),
];

const CONFIG_SUBS: &[CommandSpec] = &[
    cmd("get", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, config_get).doc(
        G,
        "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Returns the values of configuration parameters.",
    ),
    cmd("help", 2, LOADING | STALE, 0, config_help).doc(G, "5.0.0", "O(1)", "Lists the CONFIG subcommands."),
    cmd("resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, config_resetstat).doc(
        G,
        "2.0.0",
        "O(1)",
        "Resets the server's statistics.",
    ),
    cmd("rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, config_rewrite).doc(
        G,
        "2.8.0",
        "O(1)",
        "Writes the current configuration back to the config file.",
    ),
    cmd("set", -4, ADMIN | NOSCRIPT | LOADING | STALE, 0, config_set)
        .tips(TIPS_ALL_NODES_OK)
        .doc(
            G,
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "Sets configuration parameters at runtime.",
        ),
];

const COMMAND_SUBS: &[CommandSpec] = &[
    cmd("count", 2, LOADING | STALE, ACL_CONNECTION, command_count).doc(
        G,
        "2.8.13",
        "O(1)",
        "Returns the number of commands.",
    ),
    cmd("docs", -2, LOADING | STALE, ACL_CONNECTION, command_docs)
        .tips(&["nondeterministic_output_order"])
        .doc(
            G,
            "7.0.0",
            "O(N) where N is the number of commands to look up",
            "Returns documentary information about commands.",
        ),
    cmd("getkeys", -4, LOADING | STALE, ACL_CONNECTION, command_getkeys).doc(
        G,
        "2.8.13",
        "O(N) where N is the number of arguments to the command",
        "Extracts the key names from an arbitrary command.",
    ),
    cmd("getkeysandflags", -4, LOADING | STALE, ACL_CONNECTION, command_getkeys).doc(
        G,
        "7.0.0",
        "O(N) where N is the number of arguments to the command",
        "Extracts the key names and access flags from an arbitrary command.",
    ),
    cmd("help", 2, LOADING | STALE, ACL_CONNECTION, command_help).doc(
        G,
        "5.0.0",
        "O(1)",
        "Lists the COMMAND subcommands.",
    ),
    cmd("info", -2, LOADING | STALE, ACL_CONNECTION, command_info)
        .tips(&["nondeterministic_output_order"])
        .doc(
            G,
            "2.8.13",
            "O(N) where N is the number of commands to look up",
            "Returns information about commands.",
        ),
    cmd("list", -2, LOADING | STALE, ACL_CONNECTION, command_list)
        .tips(&["nondeterministic_output_order"])
        .doc(
            G,
            "7.0.0",
            "O(N) where N is the total number of Redis commands",
            "Lists command names.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[
    crate::cmd::spec::container("config", 0, CONFIG_SUBS).doc(
        G,
        "2.0.0",
        "Depends on subcommand.",
        "A container for server configuration commands.",
    ),
    CommandSpec {
        arity: -1,
        handler: Some(command),
        subcommands: COMMAND_SUBS,
        flags: LOADING | STALE,
        acl: ACL_CONNECTION,
        ..crate::cmd::spec::container("command", ACL_CONNECTION, COMMAND_SUBS)
    }
    .tips(&["nondeterministic_output_order"])
    .doc(
        G,
        "2.8.13",
        "O(N) where N is the total number of Redis commands",
        "Returns detailed information about all commands.",
    ),
    crate::cmd::spec::container("memory", 0, MEMORY_SUBS).doc(
        G,
        "4.0.0",
        "Depends on subcommand.",
        "A container for memory diagnostics commands.",
    ),
    cmd("time", 1, LOADING | STALE | FAST, 0, time)
        .doc(G, "2.6.0", "O(1)", "Returns the server time.")
        .tips(&["nondeterministic_output"]),
    cmd(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        ACL_ADMIN | ACL_DANGEROUS,
        lastsave,
    )
    .doc(G, "1.0.0", "O(1)", "Returns the unix time of the last successful save.")
    .tips(&["nondeterministic_output"]),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        0,
        shutdown,
    )
    .doc(
        G,
        "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        "Saves if configured, then stops the server.",
    ),
    cmd("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED, 0, debug).doc(
        G,
        "1.0.0",
        "Depends on subcommand.",
        "A container for debugging commands.",
    ),
];
