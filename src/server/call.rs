//! The dispatcher: looks a command up and applies every gate in Redis's order
//! (unknown command, arity, protected, auth, ...) before calling its handler, then
//! does the bookkeeping every command shares (stats, reply mode, last command).
use super::client::ReplyMode;
use super::Server;
use crate::clock;
use crate::cmd::{self, error, spec, Args, CmdError, Ctx};
use crate::resp::ReplyBuf;

/// The stats slot of command `id`.
pub fn stat(srv: &mut Server, id: usize) -> &mut super::CmdStat {
    if srv.stats.cmd.len() <= id {
        srv.stats
            .cmd
            .resize(cmd::table().specs.len().max(id + 1), Default::default());
    }
    &mut srv.stats.cmd[id]
}

fn reject(srv: &mut Server, cid: usize, argv: &[&[u8]], out: &mut ReplyBuf, e: &CmdError, id: Option<usize>) {
    if let Some(id) = id {
        stat(srv, id).rejected += 1;
    }
    // Redis compat: multi.c flagTransaction: a rejected command aborts the transaction.
    if let Some(m) = srv.clients.get_mut(cid).and_then(|c| c.multi.as_mut()) {
        m.failed = true;
    }
    // Redis compat: server.c rejectCommand: a rejected EXEC discards the transaction, if
    // any, and the watched keys, and says why (execCommandAbort), in or out of MULTI.
    let is_exec = id
        .and_then(|i| cmd::table().specs.get(i))
        .is_some_and(|s| s.name == "exec");
    if is_exec {
        if let Some(c) = srv.clients.get_mut(cid) {
            c.multi = None;
        }
        srv.unwatch_all(cid);
        // The gates whose text Redis formats (arity, "no permission", ...) give it
        // without the ERR code, which the plain reply adds.
        let why = e.bytes().strip_prefix(b"ERR ").unwrap_or(e.bytes());
        let mut text = b"EXECABORT Transaction discarded because of: ".to_vec();
        text.extend_from_slice(why);
        count_error(srv, &text);
        out.error_bytes(&text);
        // Redis compat: multi.c execCommandAbort shows the refused EXEC to MONITOR
        // clients.
        if !srv.monitors.is_empty() {
            let db = srv.clients.get(cid).map_or(0, |c| c.db);
            srv.feed_monitors(Some(super::pubsub::Current { cid, out }), cid, db, argv);
        }
        return;
    }
    write_error(srv, out, e);
}

/// Writes an error reply and counts it in INFO errorstats.
pub fn write_error(srv: &mut Server, out: &mut ReplyBuf, e: &CmdError) {
    count_error(srv, e.bytes());
    out.error_bytes(e.bytes());
}

/// Counts an error reply in INFO errorstats and total_error_replies.
/// Counts an error reply under its code: the first word when a space ends it within the
/// first 31 bytes, else ERR (a script's `{err='bad'}` counts as ERR). Redis compat:
/// networking.c afterErrorReply.
pub fn count_error(srv: &mut Server, text: &[u8]) {
    let code = match text.iter().take(31).position(|&c| c == b' ') {
        Some(i) => &text[..i],
        None => b"ERR",
    };
    srv.stats.total_error_replies += 1;
    match srv.stats.errors.get_mut(code) {
        Some(n) => *n += 1,
        None => {
            // Redis compat: server.c caps distinct error codes at 128.
            if srv.stats.errors.len() < 128 {
                srv.stats.errors.insert(code.to_vec(), 1);
            }
        }
    }
}

/// Redis compat: server.c processCommand, which prints the name and arguments with
/// `%.128s` and `%.*s`: bytes as they came, up to a NUL, the arguments 128 bytes in all.
fn unknown_command(argv: &[&[u8]]) -> CmdError {
    let mut args = Vec::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        args.push(b'\'');
        args.extend_from_slice(error::c_str(a, 128 - (args.len() - 1)));
        args.extend_from_slice(b"' ");
    }
    let mut t = b"ERR unknown command '".to_vec();
    t.extend_from_slice(error::c_str(argv.first().copied().unwrap_or_default(), 128));
    t.extend_from_slice(b"', with args beginning with: ");
    t.extend_from_slice(&args);
    CmdError(std::borrow::Cow::Owned(t))
}

fn protected_allowed(setting: &str, local: bool) -> bool {
    setting == "yes" || (setting == "local" && local)
}

/// The arguments MONITOR and the slow log may show: secrets are replaced. Redis
/// compat: the redactClientCommandArgument calls of AUTH, HELLO's AUTH, ACL SETUSER,
/// CONFIG SET of sensitive directives and MIGRATE's AUTH/AUTH2.
fn redact<'a>(srv: &Server, full_name: &str, argv: &[&'a [u8]]) -> Vec<&'a [u8]> {
    const HIDDEN: &[u8] = b"(redacted)";
    let mut v = argv.to_vec();
    match full_name {
        "auth" => v.iter_mut().skip(1).for_each(|a| *a = HIDDEN),
        "acl|setuser" => v.iter_mut().skip(2).for_each(|a| *a = HIDDEN),
        "hello" => {
            if let Some(i) = v.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
                v.iter_mut().skip(i + 1).take(2).for_each(|a| *a = HIDDEN);
            }
        }
        "config|set" => {
            let mut i = 2;
            while i + 1 < v.len() {
                let name = String::from_utf8_lossy(v[i]);
                if srv
                    .cfg
                    .directive(&name)
                    .is_some_and(|d| d.flags & crate::config::SENSITIVE != 0)
                {
                    v[i + 1] = HIDDEN;
                }
                i += 2;
            }
        }
        "migrate" => {
            let mut i = 6;
            while i < v.len() {
                if v[i].eq_ignore_ascii_case(b"keys") {
                    break;
                }
                let n = if v[i].eq_ignore_ascii_case(b"auth") {
                    1
                } else if v[i].eq_ignore_ascii_case(b"auth2") {
                    2
                } else {
                    0
                };
                v.iter_mut().skip(i + 1).take(n).for_each(|a| *a = HIDDEN);
                i += n + 1;
            }
        }
        _ => {}
    }
    v
}

/// The error text writes get while the server cannot persist, if any. Redis compat:
/// server.c writeCommandsDeniedByDiskError / writeCommandsGetDiskErrorMessage.
pub fn disk_error(srv: &Server) -> Option<String> {
    if srv.aof.loading {
        return None;
    }
    if !srv.rdb.last_bgsave_ok && !srv.cfg.save_params.is_empty() && srv.cfg.yes("stop-writes-on-bgsave-error") {
        return Some(error::MISCONF.text().to_string());
    }
    if !srv.aof.last_write_ok && srv.aof.state != super::aof::AofState::Off {
        return Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            srv.aof.last_write_err
        ));
    }
    None
}

/// Runs one command from client `cid`, writing its reply to `out`.
pub fn execute(srv: &mut Server, cid: usize, argv: &[&[u8]], out: &mut ReplyBuf) {
    // CLIENT REPLY OFF/SKIP silence every reply, rejections included; a pending SKIP
    // is used up by whatever command comes next.
    let Some(c) = srv.clients.get_mut(cid) else {
        return;
    };
    out.pushes.clear();
    if c.reply_mode == ReplyMode::SkipNext {
        c.reply_mode = ReplyMode::Skip;
    }
    let mode = c.reply_mode;
    let subscribed = c.subs.is_some();
    let mark = out.len();
    let silent = matches!(mode, ReplyMode::Off | ReplyMode::Skip);
    out.track_pushes = silent;
    let top = srv.prop.depth == 0;
    if top {
        out.deferred_from = None;
    }
    let prev_current = if top { srv.tracking.current.replace(cid) } else { None };
    srv.prop.depth += 1;
    dispatch(srv, cid, argv, out);
    srv.prop.depth -= 1;
    if srv.prop.depth == 0 && !srv.prop.ops.is_empty() {
        // The unit ends here (a top-level command, or EXEC with all it ran). Blocked
        // clients this served propagate as units of their own, after it.
        srv.propagate_pending();
    }
    if top {
        // Redis compat: networking.c resetClient: ASKING covers the next command only
        // (or a whole transaction).
        if srv.cluster.is_some() && !argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"asking")) {
            if let Some(c) = srv.clients.get_mut(cid) {
                if c.multi.is_none() {
                    c.cluster_asking = false;
                }
            }
        }
        // Invalidations this client caused for itself come after its reply.
        srv.tracking_flush_pending(cid, out);
        srv.tracking.current = prev_current;
        // Redis compat: networking.c resetClient: CLIENT CACHING applies to the next
        // command (or transaction) only.
        if let Some(c) = srv.clients.get_mut(cid) {
            if let Some(t) = c.tracking.as_mut() {
                if c.multi.is_none() && !argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"client")) {
                    t.caching = false;
                }
            }
        }
    }
    out.track_pushes = false;
    // Redis compat: networking.c closeClientOnOutputBufferLimitReached, checked as the
    // reply grows (here: after each command, and inside commands with huge replies).
    // Growth is tracked whatever the client's class: limits apply to what grows while
    // it is in a class that has them.
    if let Some(c) = srv.clients.get(cid) {
        let pending = out.len().saturating_sub(c.sent) + c.sealed.pending() + c.reply.buf.len();
        // Redis puts a reply of deferred length, and all after it, in reply blocks,
        // bypassing the client's own buffer; the length itself gets a node of its
        // own, of its exact size (networking.c addReplyDeferredLen, setDeferredReply).
        let (head, blocks) = out.deferred_from.map_or((0, 0), |d| {
            let from = d.max(c.sent).min(out.len());
            let head = out.line_len_at(from, 32);
            (head, out.len() - from - head)
        });
        let used = c.obuf_counted(pending - head - blocks) + head + super::client::reply_blocks(blocks);
        if srv.check_obuf_grown(cid, used, clock::now_ms(), Some(subscribed)) {
            out.clear();
        }
    }
    if !srv.blocking.waiting.is_empty() && !srv.in_exec {
        srv.serve_ready_keys();
    }
    if let Some(c) = srv.clients.get_mut(cid) {
        if matches!(mode, ReplyMode::Off | ReplyMode::Skip) {
            // CLIENT REPLY ON must still answer +OK, which it writes after switching.
            if c.reply_mode == mode {
                out.truncate_keeping_pushes(mark);
            }
            if c.reply_mode == ReplyMode::Skip {
                c.reply_mode = ReplyMode::On;
            }
        }
    }
}

fn dispatch(srv: &mut Server, cid: usize, argv: &[&[u8]], out: &mut ReplyBuf) {
    let first = argv.first().copied().unwrap_or_default();
    if first.eq_ignore_ascii_case(b"post") || first.eq_ignore_ascii_case(b"host:") {
        // Redis compat: server.c securityWarningCommand. An HTTP request sent to us
        // (cross-protocol scripting) gets no reply: the connection is dropped.
        tracing::warn!("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.");
        srv.close_client_async(cid);
        return;
    }
    if !srv.cfg.renames.is_empty() {
        execute_renamed(srv, cid, argv, out);
    } else {
        execute_as(srv, cid, argv, argv, out);
    }
}

/// rename-command: the new name runs the original command, the old name is unknown.
fn execute_renamed(srv: &mut Server, cid: usize, argv: &[&[u8]], out: &mut ReplyBuf) {
    let name = String::from_utf8_lossy(argv.first().copied().unwrap_or_default()).to_ascii_lowercase();
    let target = srv
        .cfg
        .renames
        .iter()
        .find(|(_, to)| !to.is_empty() && to.eq_ignore_ascii_case(&name));
    if let Some((from, _)) = target {
        let from = from.clone().into_bytes();
        let mut v: Vec<&[u8]> = argv.to_vec();
        if let Some(first) = v.first_mut() {
            *first = &from;
        }
        execute_as(srv, cid, &v, argv, out);
    } else if srv.cfg.lookup_rename(&name).is_some() {
        reject(srv, cid, argv, out, &unknown_command(argv), None);
    } else {
        execute_as(srv, cid, argv, argv, out);
    }
}

/// Runs `argv` (as looked up); `shown` is what the client sent, for error texts.
fn execute_as(srv: &mut Server, cid: usize, argv: &[&[u8]], shown: &[&[u8]], out: &mut ReplyBuf) {
    let table = cmd::table();
    let found = table.lookup_id(argv).and_then(|i| Some((i, *table.specs.get(i)?)));
    // The client's last command (CLIENT LIST `cmd=`, the client info of ACL LOG) is the
    // one it sent last, even if it is then refused; the commands EXEC runs leave it
    // at EXEC. Redis compat: server.c processCommand.
    if !srv.in_exec {
        if let Some(c) = srv.clients.get_mut(cid) {
            c.last_cmd = found.map_or("NULL", |(id, spec)| {
                table.names.get(id).map_or(spec.name, |s| s.as_str())
            });
        }
    }
    let Some((id, spec)) = found else {
        let e = match table.get(argv.first().copied().unwrap_or_default()) {
            Some(c) if !c.subcommands.is_empty() && argv.len() >= 2 => {
                error::unknown_subcommand(argv.get(1).copied().unwrap_or_default(), c.name)
            }
            Some(c) => error::arity(c.name),
            None => unknown_command(shown),
        };
        reject(srv, cid, argv, out, &e, None);
        return;
    };
    // The full name: a subcommand's plain name may be a command's (LATENCY RESET is
    // not RESET).
    let cname = table.names.get(id).map_or(spec.name, |s| s.as_str());
    let argc = argv.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        let e = error::arity(table.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name));
        reject(srv, cid, argv, out, &e, Some(id));
        return;
    }
    let Some(client) = srv.clients.get(cid) else {
        return;
    };
    // The master link and the AOF loader run anything (Redis gives them no user).
    let superuser = client.is_master || client.is_internal();
    let authenticated = client.authenticated || srv.acl.default_logs_in();
    if spec.flags & spec::PROTECTED != 0 {
        // DEBUG, or a MODULE subcommand: each is opened by its own directive.
        let full = table.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name);
        let top = full.split('|').next().unwrap_or(full);
        let opt = if top == "debug" {
            "enable-debug-command"
        } else {
            "enable-module-command"
        };
        if !protected_allowed(srv.cfg.get(opt).unwrap_or("no"), client.is_local()) {
            let which = top.to_ascii_uppercase();
            let e = CmdError::owned(format!("ERR {which} command not allowed. If the {opt} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."));
            reject(srv, cid, argv, out, &e, Some(id));
            return;
        }
    }
    if !authenticated && spec.flags & spec::NO_AUTH == 0 {
        reject(srv, cid, argv, out, &error::NOAUTH, Some(id));
        return;
    }
    if spec.flags & spec::NO_MULTI != 0 && srv.clients.get(cid).is_some_and(|c| c.multi.is_some()) {
        let e = CmdError::new("ERR Command not allowed inside a transaction");
        reject(srv, cid, argv, out, &e, Some(id));
        return;
    }
    // Redis compat: server.c processCommand; multi.c execCommand checks again, as
    // the rules may have changed since the command was queued.
    if !superuser {
        let context = srv.in_exec.then_some(super::acl::LogContext::Multi);
        if let Err(d) = srv.acl_check(cid, id, spec, argv, context) {
            let text = if srv.in_exec {
                format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}", d.exec_reason())
            } else {
                d.noperm(table.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name))
            };
            reject(srv, cid, argv, out, &CmdError::owned(text), Some(id));
            return;
        }
    }
    // The command's flags, a script's own flags applied (EVAL/FCALL).
    let flags = crate::cmd::scripting::command_flags(srv, spec, argv);
    // Redis compat: server.c processCommand: in cluster mode, a command whose keys
    // this node does not serve is redirected (not for our master or the AOF).
    if srv.cluster.is_some() && !superuser && !srv.in_exec {
        let write = flags & spec::WRITE != 0;
        match srv.cluster_route(cid, spec, argv, write, clock::now_ms()) {
            Ok(slot) => {
                if let Some(cl) = srv.cluster.as_deref_mut() {
                    cl.cmd_slot = slot;
                }
            }
            Err(r) => {
                let plain = srv.clients.get(cid).is_some_and(|c| c.conn.is_plain());
                let text = srv.cluster.as_deref().map(|cl| r.text(cl, plain)).unwrap_or_default();
                if cname == "exec" {
                    if srv.clients.get_mut(cid).is_some_and(|c| c.multi.take().is_some()) {
                        srv.unwatch_all(cid);
                    }
                    stat(srv, id).rejected += 1;
                    write_error(srv, out, &CmdError::owned(text));
                } else {
                    reject(srv, cid, argv, out, &CmdError::owned(text), Some(id));
                }
                return;
            }
        }
    }
    // Redis compat: server.c processCommand: while a dataset loads, only commands
    // flagged for it run.
    let refused = match &srv.loading {
        Some(l) if l.asynchronous => spec.flags & spec::NO_ASYNC_LOADING != 0,
        Some(_) => spec.flags & spec::LOADING == 0,
        None => false,
    };
    if refused && !srv.clients.get(cid).is_some_and(|c| c.is_internal()) {
        reject(
            srv,
            cid,
            argv,
            out,
            &CmdError::new("LOADING Redis is loading the dataset in memory"),
            Some(id),
        );
        return;
    }
    // Redis compat: server.c processCommand: while a script runs past its time limit,
    // other clients may only stop it (or the server).
    if srv.scripts.timedout
        && spec.flags & spec::ALLOW_BUSY == 0
        && !srv.clients.get(cid).is_some_and(|c| c.is_internal())
    {
        let e = srv.scripts.busy_error();
        reject(srv, cid, argv, out, &CmdError::new(e), Some(id));
        return;
    }
    // Entries store key lengths in 32 bits; only reachable with proto-max-bulk-len > 4 GB.
    if srv.cfg.proto_max_bulk_len > u32::MAX as i64
        && spec
            .key_positions(argv)
            .iter()
            .any(|&p| argv.get(p).is_some_and(|k| k.len() > u32::MAX as usize))
    {
        reject(srv, cid, argv, out, &CmdError::new("ERR key is too long"), Some(id));
        return;
    }
    // Redis compat: server.c processCommand: with maxmemory, evict first; if memory is
    // still over the limit, refuse commands that may grow it (EXEC of a transaction
    // holding one included), and anything queued inside MULTI. Commands EXEC runs
    // were checked when queued.
    let top = srv.prop.depth == 1;
    if top {
        srv.pre_command_oom = false;
    }
    if top && !srv.aof.loading && !srv.evict_clients_before_command(cid, out) {
        return;
    }
    if top && srv.cfg.maxmemory > 0 && !srv.aof.loading {
        let state = srv.perform_evictions();
        srv.pre_command_oom = state == super::evict::Evicted::Fail;
        srv.evict_pending = state == super::evict::Evicted::Running;
        let Some(client) = srv.clients.get_mut(cid) else {
            return;
        };
        let in_multi = client.multi.as_ref();
        let denyoom = flags & spec::DENYOOM != 0
            || (cname == "exec" && in_multi.is_some_and(|m| m.denyoom))
            || (in_multi.is_some() && !matches!(cname, "exec" | "discard" | "quit" | "reset"));
        // Invalidations of evicted keys go before the reply. Redis compat: server.c
        // processCommand, trackingHandlePendingKeyInvalidations.
        srv.tracking_flush_pending(cid, out);
        if state == super::evict::Evicted::Fail && denyoom {
            reject(srv, cid, argv, out, &error::OOM, Some(id));
            return;
        }
    }
    // Redis compat: server.c writeCommandsDeniedByDiskError: after a failed save, with
    // save points and stop-writes-on-bgsave-error set, writes (and PING) are refused.
    if (flags & spec::WRITE != 0 || cname == "ping")
        && !srv.aof.loading
        && !srv.rdb.last_bgsave_ok
        && !srv.cfg.save_params.is_empty()
        && srv.cfg.yes("stop-writes-on-bgsave-error")
    {
        reject(srv, cid, argv, out, &error::MISCONF, Some(id));
        return;
    }
    // Redis compat: server.c writeCommandsDeniedByDiskError: after a failed AOF write,
    // writes are refused until a write succeeds again.
    if flags & spec::WRITE != 0 && !srv.aof.last_write_ok && srv.aof.state != super::aof::AofState::Off {
        let e = CmdError::owned(format!(
            "MISCONF Errors writing to the AOF file: {}",
            srv.aof.last_write_err
        ));
        reject(srv, cid, argv, out, &e, Some(id));
        return;
    }
    // Redis compat: server.c processCommand: a read-only replica refuses writes from
    // anyone but its master; a master short of good replicas (min-replicas-to-write)
    // refuses them too. Commands inside EXEC were checked when queued.
    let is_write = flags & spec::WRITE != 0
        || (cname == "exec"
            && srv
                .clients
                .get(cid)
                .and_then(|c| c.multi.as_ref())
                .is_some_and(|m| m.write));
    if is_write && !srv.in_exec && !srv.clients.get(cid).is_some_and(|c| c.is_master || c.is_internal()) {
        if srv.repl.master.is_some() && srv.cfg.repl.read_only {
            let e = CmdError::new("READONLY You can't write against a read only replica.");
            reject(srv, cid, argv, out, &e, Some(id));
            return;
        }
        if srv.repl.master.is_none() && !srv.enough_good_replicas() {
            reject(
                srv,
                cid,
                argv,
                out,
                &CmdError::new("NOREPLICAS Not enough good replicas to write."),
                Some(id),
            );
            return;
        }
    }
    let Some(client) = srv.clients.get_mut(cid) else {
        return;
    };
    // Redis compat: server.c processCommand: a RESP2 connection in pub/sub mode can
    // only (un)subscribe, ping, quit and reset (EXEC runs its queue whatever it holds).
    if client.subs.is_some()
        && !client.resp3
        && !srv.in_exec
        && !matches!(
            spec.name,
            "subscribe"
                | "psubscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "punsubscribe"
                | "sunsubscribe"
                | "ping"
                | "quit"
                | "reset"
        )
    {
        let name = table.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name);
        let e = CmdError::owned(format!("ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"));
        reject(srv, cid, argv, out, &e, Some(id));
        return;
    }
    // Redis compat: server.c processCommand: a replica cut off from its master with
    // replica-serve-stale-data no only runs commands flagged for it.
    let no_stale = flags & spec::STALE == 0
        || (cname == "exec"
            && srv
                .clients
                .get(cid)
                .and_then(|c| c.multi.as_ref())
                .is_some_and(|m| m.no_stale));
    if no_stale && !srv.in_exec && srv.repl_stale() && !srv.clients.get(cid).is_some_and(|c| c.is_master) {
        let e = CmdError::new("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        reject(srv, cid, argv, out, &e, Some(id));
        return;
    }
    // Redis compat: server.c processCommand: a replica's connection only acks and
    // pings; commands on the data are refused (and the error drops it). A MONITOR
    // connection, flagged as a replica in Redis, is refused them too.
    if flags & (spec::WRITE | spec::READONLY | spec::MAY_REPLICATE) != 0
        && srv.clients.get(cid).is_some_and(|c| c.replica.is_some() || c.monitor)
    {
        reject(
            srv,
            cid,
            argv,
            out,
            &CmdError::new("ERR Replica can't interact with the keyspace"),
            Some(id),
        );
        return;
    }
    // Redis compat: server.c processCommand: during CLIENT PAUSE the command waits,
    // unanswered, for its end (all commands, or those that may write or replicate;
    // never a replica's, nor those EXEC runs).
    if srv.pause.is_some() && !srv.in_exec {
        if let Some(p) = srv.pause_check(clock::now_ms()) {
            let c = srv.clients.get(cid);
            let may_replicate = flags & (spec::WRITE | spec::MAY_REPLICATE) != 0
                || (cname == "exec" && c.and_then(|c| c.multi.as_ref()).is_some_and(|m| m.may_replicate));
            if c.is_none_or(|c| c.replica.is_none()) && (p.all || may_replicate) {
                srv.postpone(cid, argv);
                return;
            }
        }
    }
    let Some(handler) = spec.handler else { return };
    // Redis compat: server.c processCommand: the tracking table is kept within its
    // limit before each command (not each one EXEC runs).
    if srv.tracking.clients > 0 && srv.prop.depth == 1 {
        srv.tracking_limit();
        srv.tracking_flush_pending(cid, out);
    }
    let Some(client) = srv.clients.get_mut(cid) else {
        return;
    };
    if let Some(m) = client.multi.as_mut() {
        if !matches!(cname, "exec" | "discard" | "multi" | "watch" | "quit" | "reset") {
            m.queue.push(argv.iter().map(|a| a.to_vec()).collect());
            m.denyoom |= flags & spec::DENYOOM != 0;
            m.write |= flags & spec::WRITE != 0;
            m.may_replicate |= flags & (spec::WRITE | spec::MAY_REPLICATE) != 0;
            m.no_stale |= flags & spec::STALE == 0;
            out.simple("QUEUED");
            return;
        }
    }
    if srv.prop.depth == 1 {
        srv.prop.no_wrap = spec.flags & spec::TOUCHES_ARBITRARY_KEYS != 0;
    }
    run(srv, cid, argv, out, id, spec, handler);
}

/// Runs a command a script sent (the script did its own checks). Redis compat:
/// script.c scriptCall -> call().
pub fn execute_from_script(
    srv: &mut Server,
    cid: usize,
    argv: &[&[u8]],
    out: &mut ReplyBuf,
    id: usize,
    spec: &'static spec::CommandSpec,
) {
    if let Some(handler) = spec.handler {
        run(srv, cid, argv, out, id, spec, handler);
    }
}

/// Calls the handler and does the bookkeeping: propagation, monitors, blocking, stats.
fn run(
    srv: &mut Server,
    cid: usize,
    argv: &[&[u8]],
    out: &mut ReplyBuf,
    id: usize,
    spec: &'static spec::CommandSpec,
    handler: spec::Handler,
) {
    let table = cmd::table();
    let Some(client) = srv.clients.get_mut(cid) else {
        return;
    };
    let db = client.db;
    client.cmds += 1;
    // Redis compat: server.c updateDictResizePolicy. Only commands change tables, so
    // this is the one place: it also sees a save a command just before started (e.g.
    // BGSAVE earlier in the same MULTI).
    crate::ds::dict::set_resize_avoid(srv.has_active_child());
    let start = clock::now_us();
    let now_ms = srv.script_time_ms.unwrap_or((start / 1000) as i64);
    // Keyspace events this command holds back for its own connection (see
    // `Ctx::hold_own_events`) follow its reply; inside EXEC, each command's follow
    // its own reply.
    let outer_held = srv.own_events.take();
    let mut ctx = Ctx {
        srv,
        cid,
        out,
        now_ms,
        db,
        cmd: spec,
        block: None,
        prop: Default::default(),
    };
    let dirty_before = ctx.srv.dirty;
    // Redis compat: server.c incrCommandStatsOnError: the command failed if error
    // replies were counted after the last command it ran finished, or one was
    // given without being counted (a script error a command already counted).
    ctx.srv.stats.err_prev = ctx.srv.stats.total_error_replies;
    let outer_uncounted = std::mem::replace(&mut ctx.srv.stats.uncounted_failure, false);
    let args = Args { argv };
    // A handler bug must cost one reply, not the server.
    let res = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut ctx, &args))) {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!("Internal error while executing '{}'", spec.name);
            Err(CmdError::new("ERR internal error while executing the command"))
        }
    };
    let Ctx {
        srv,
        out,
        block,
        db: db_now,
        prop,
        ..
    } = ctx;
    // Redis compat: server.c call: a tracking client remembers the keys it read (for a
    // read-only script, only the commands it runs count).
    if spec.flags & spec::READONLY != 0
        && srv.tracking_reader(cid)
        && !matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
    {
        srv.tracking_remember(cid, spec, argv);
    }
    if srv.prop.on {
        // Keys found expired go first: they were gone before this command ran.
        srv.propagate_expired();
        // Redis compat: server.c call: a command that changed the dataset propagates
        // (EXEC propagates what it ran instead; DEBUG and other admin commands never).
        let forced = matches!(
            prop,
            super::propagate::PropagateAs::Forced | super::propagate::PropagateAs::ReplOnly
        );
        if (forced || srv.dirty != dirty_before)
            && spec.flags & (spec::WRITE | spec::MAY_REPLICATE) != 0
            && spec.name != "exec"
        {
            use super::propagate::{PropagateAs, TO_ALL, TO_REPL};
            match prop {
                PropagateAs::Verbatim | PropagateAs::Forced | PropagateAs::ReplOnly => {
                    let to = if matches!(prop, PropagateAs::ReplOnly) {
                        TO_REPL
                    } else {
                        TO_ALL
                    };
                    srv.propagate_to(db, argv.iter().map(|a| a.to_vec()).collect(), to);
                }
                PropagateAs::Replace(v) => srv.also_propagate(db, v),
                PropagateAs::Nothing => {}
            }
        }
    }
    srv.after_writes(Some(super::pubsub::Current { cid, out: &mut *out }));
    // The reply is complete before the command is shown to MONITOR clients (the
    // connection may be one).
    if let Err(e) = &res {
        write_error(srv, out, e);
    }
    if let Some(held) = std::mem::replace(&mut srv.own_events, outer_held) {
        out.append_held(held);
    }
    // Redis compat: server.c call: commands that ran are shown to MONITOR clients,
    // except administrative ones; a served blocked command was shown when it first ran.
    if !srv.monitors.is_empty()
        && !srv.aof.loading
        && spec.flags & (spec::ADMIN | spec::SKIP_MONITOR) == 0
        && srv.blocking.rerun != Some(cid)
    {
        let full = table.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name);
        let shown = redact(srv, full, argv);
        srv.feed_monitors(
            Some(super::pubsub::Current { cid, out: &mut *out }),
            cid,
            db_now,
            &shown,
        );
    }
    // Redis compat: server.c call and blocked.c updateStatsOnUnblock: a command that
    // blocks is counted as a call when it first runs; serving it later adds only its
    // failure, latency and slow log entry.
    let blocked = block.is_some();
    let rerun = srv.blocking.rerun == Some(cid);
    if let Some(req) = block {
        // A replayed AOF never blocks: the dataset it ran on had what it needed.
        if !srv.aof.loading {
            srv.block_client(cid, db, req, argv);
        }
    }
    let took = clock::now_us().saturating_sub(start);
    // Redis compat: server.c call with CMD_CALL_SLOWLOG: commands clients run (not
    // those of scripts or of the AOF) feed the latency monitor and, once not
    // blocked, the slow log.
    if !srv.aof.loading && !crate::script::api::script_running() {
        let event = if spec.flags & spec::FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        srv.latency_sample(event, took / 1000);
        if !blocked && spec.flags & spec::SKIP_SLOWLOG == 0 && srv.slowlog_wants(took) {
            let full = table.names.get(id).map(|s| s.as_str()).unwrap_or(spec.name);
            // A served blocked command ran narrowed to the key that was ready; Redis's
            // entry shows it as sent.
            let sent = srv.blocking.sent_argv.take().filter(|_| rerun);
            let sent: Option<Vec<&[u8]>> = sent.as_ref().map(|v| v.iter().map(|a| a.as_slice()).collect());
            let shown = redact(srv, full, sent.as_deref().unwrap_or(argv));
            srv.slowlog_push(cid, &shown, took);
        }
    }
    if !rerun {
        srv.stats.total_commands += 1;
    }
    if srv.cfg.latency_tracking && !blocked {
        let lat = &mut srv.stats.latency;
        if lat.len() <= id {
            lat.resize_with(cmd::table().specs.len().max(id + 1), || None);
        }
        if let Some(slot) = lat.get_mut(id) {
            slot.get_or_insert_with(Default::default).record(took * 1000);
        }
    }
    let failed = srv.stats.total_error_replies > srv.stats.err_prev
        || std::mem::replace(&mut srv.stats.uncounted_failure, outer_uncounted);
    srv.stats.err_prev = srv.stats.total_error_replies;
    let st = stat(srv, id);
    if !rerun {
        st.calls += 1;
    }
    st.usec += took;
    if failed {
        st.failed += 1;
    }
}
