//! Connection commands: PING, ECHO, QUIT, RESET, AUTH, HELLO and CLIENT.
use super::error::{self, CmdError, CmdResult};
use super::keyspace::help;
use super::spec::*;
use super::{Args, Ctx};
use crate::server::client::ReplyMode;
use crate::server::pause::PausePurpose;
use crate::util::num;

const G: &str = "connection";

fn ping(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Redis compat: server.c pingCommand: a RESP2 subscriber gets ["pong", arg].
    let subscribed = ctx.client().is_some_and(|c| c.subs.is_some());
    if subscribed && !ctx.out.resp3 && a.len() <= 2 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(if a.len() == 2 { a.at(1) } else { b"" });
        return Ok(());
    }
    match a.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(a.at(1)),
        _ => return Err(error::arity("ping")),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, a: &Args) -> CmdResult {
    ctx.out.bulk(a.at(1));
    Ok(())
}

fn quit(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.ok();
    if let Some(c) = ctx.client() {
        c.close_after_reply = true;
    }
    Ok(())
}

fn reset(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.db = 0;
    ctx.out.resp3 = false;
    if let Some(c) = ctx.client() {
        c.resp3 = false;
        c.db = 0;
        c.name = None;
        c.reply_mode = ReplyMode::On;
        c.multi = None;
    }
    let cid = ctx.cid;
    ctx.srv.set_client_default_user(cid);
    ctx.srv.unwatch_all(cid);
    ctx.srv.unsubscribe_all(cid);
    ctx.srv.disable_tracking(cid);
    ctx.srv.monitors.retain(|&m| m != cid);
    if let Some(c) = ctx.client() {
        c.monitor = false;
    }
    ctx.out.simple("RESET");
    Ok(())
}

/// Logs the connection in; Err is the reply. A failure goes to the ACL log under
/// `cmd_name` (the command as the client typed it).
fn check_auth(ctx: &mut Ctx, user: &[u8], pass: &[u8], cmd_name: &[u8]) -> CmdResult {
    if ctx.srv.authenticate(ctx.cid, user, pass, cmd_name) {
        Ok(())
    } else {
        Err(error::WRONGPASS)
    }
}

fn auth(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(error::SYNTAX);
    }
    if a.len() == 2 && ctx.srv.acl.default_user().nopass {
        return Err(error::NO_PASSWORD);
    }
    let (user, pass) = if a.len() == 3 {
        (a.at(1), a.at(2))
    } else {
        (b"default".as_slice(), a.at(1))
    };
    check_auth(ctx, user, pass, a.at(0))?;
    ctx.out.ok();
    Ok(())
}

fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut ver = None;
    let mut j = 1;
    if a.len() >= 2 {
        let v =
            num::parse_i64(a.at(1)).ok_or(CmdError::new("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(error::NOPROTO);
        }
        ver = Some(v);
        j = 2;
    }
    // Options take effect one by one, in order: an AUTH that fails, or a bad name,
    // stops there, after what came before it. Redis compat: networking.c helloCommand.
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "auth") && left >= 2 {
            check_auth(ctx, a.at(j + 1), a.at(j + 2), a.at(0))?;
            j += 3;
        } else if a.is(j, "setname") && left >= 1 {
            let n = a.at(j + 1);
            if !valid_name(n) {
                return Err(error::DANGEROUS_NAME);
            }
            if let Some(c) = ctx.client() {
                c.name = if n.is_empty() { None } else { Some(n.to_vec()) };
            }
            j += 2;
        } else {
            return Err(CmdError::quoting(
                "ERR Syntax error in HELLO option '",
                a.at(j),
                usize::MAX,
                "'",
            ));
        }
    }
    if !ctx.client().is_some_and(|c| c.authenticated) {
        return Err(CmdError::new("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(v) = ver {
        ctx.out.resp3 = v == 3;
        if let Some(c) = ctx.client() {
            c.resp3 = v == 3;
        }
    }
    let id = ctx.client().map(|c| c.id).unwrap_or(0);
    let proto = if ctx.out.resp3 { 3 } else { 2 };
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(proto);
    ctx.out.bulk(b"id");
    ctx.out.int(id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

fn client_id(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let id = ctx.client().map(|c| c.id).unwrap_or(0);
    ctx.out.int(id as i64);
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]. Redis compat: networking.c clientCommand.
/// CLIENT PAUSE timeout [WRITE|ALL]. Redis compat: networking.c clientCommand.
fn client_pause(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() > 4 {
        return Err(error::subcommand_syntax(a.at(1), "CLIENT"));
    }
    let all = if a.len() == 4 {
        if a.is(3, "write") {
            false
        } else if a.is(3, "all") {
            true
        } else {
            return Err(CmdError::new("ERR CLIENT PAUSE mode must be WRITE or ALL"));
        }
    } else {
        true
    };
    let ms = num::parse_i64(a.at(2)).ok_or(error::TIMEOUT_INVALID)?;
    if ms < 0 {
        return Err(error::TIMEOUT_NEG);
    }
    let end = ctx.now_ms.saturating_add(ms);
    ctx.srv.pause_clients(PausePurpose::Command, all, end);
    ctx.out.ok();
    Ok(())
}

fn client_unpause(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.srv.unpause_clients(PausePurpose::Command);
    ctx.out.ok();
    Ok(())
}

fn client_unblock(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let id = a.i64(2)?;
    let error = if a.len() == 4 {
        if a.is(3, "error") {
            true
        } else if a.is(3, "timeout") {
            false
        } else {
            return Err(CmdError::new("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"));
        }
    } else {
        false
    };
    let target = ctx
        .srv
        .clients
        .iter()
        .find(|(_, c)| c.id as i64 == id && c.blocked.is_some())
        .map(|(cid, _)| cid);
    match target {
        Some(cid) => {
            ctx.srv.client_unblock(cid, error);
            ctx.out.int(1);
        }
        None => ctx.out.int(0),
    }
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
/// Redis compat: networking.c clientCommand "tracking".
fn client_tracking(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut o = crate::server::tracking::TrackingOpts {
        redirect: None,
        bcast: false,
        optin: false,
        optout: false,
        noloop: false,
        prefixes: Vec::new(),
    };
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "redirect") && more {
            j += 1;
            if o.redirect.is_some() {
                return Err(CmdError::new("ERR A client can only redirect to a single other client"));
            }
            let id = a.i64(j)?;
            let target = ctx
                .srv
                .clients
                .iter()
                .find(|(_, c)| c.id as i64 == id && !matches!(c.conn, crate::server::client::Conn::None))
                .map(|(cid, _)| cid);
            match target {
                Some(cid) => o.redirect = Some((id as u64, cid)),
                None => return Err(CmdError::new("ERR The client ID you want redirect to does not exist")),
            }
        } else if a.is(j, "bcast") {
            o.bcast = true;
        } else if a.is(j, "optin") {
            o.optin = true;
        } else if a.is(j, "optout") {
            o.optout = true;
        } else if a.is(j, "noloop") {
            o.noloop = true;
        } else if a.is(j, "prefix") && more {
            j += 1;
            o.prefixes.push(a.at(j).to_vec());
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let cid = ctx.cid;
    if a.is(2, "on") {
        if !o.bcast && !o.prefixes.is_empty() {
            return Err(CmdError::new("ERR PREFIX option requires BCAST mode to be enabled"));
        }
        let cur = ctx.client().and_then(|c| c.tracking.as_deref());
        if cur.is_some_and(|t| t.bcast != o.bcast) {
            return Err(CmdError::new("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
        }
        if o.bcast && (o.optin || o.optout) {
            return Err(CmdError::new("ERR OPTIN and OPTOUT are not compatible with BCAST"));
        }
        if o.optin && o.optout {
            return Err(CmdError::new("ERR You can't specify both OPTIN mode and OPTOUT mode"));
        }
        if cur.is_some_and(|t| (o.optin && t.optout) || (o.optout && t.optin)) {
            return Err(CmdError::new("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
        }
        ctx.srv.enable_tracking(cid, o).map_err(CmdError::owned)?;
    } else if a.is(2, "off") {
        ctx.srv.disable_tracking(cid);
    } else {
        return Err(error::SYNTAX);
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN/OPTOUT).
fn client_caching(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let Some(t) = ctx.client().and_then(|c| c.tracking.as_mut()) else {
        return Err(CmdError::new("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    };
    if a.is(2, "yes") {
        if !t.optin {
            return Err(CmdError::new(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if a.is(2, "no") {
        if !t.optout {
            return Err(CmdError::new(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(error::SYNTAX);
    }
    t.caching = true;
    ctx.out.ok();
    Ok(())
}

fn client_getredir(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let r = ctx
        .client()
        .and_then(|c| c.tracking.as_ref())
        .map(|t| t.redirect as i64)
        .unwrap_or(-1);
    ctx.out.int(r);
    Ok(())
}

fn client_trackinginfo(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let t = ctx.client().and_then(|c| c.tracking.as_deref());
    let mut flags: Vec<&str> = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        let marks = [
            (t.bcast, "bcast"),
            (t.optin, "optin"),
            (t.optin && t.caching, "caching-yes"),
            (t.optout, "optout"),
            (t.optout && t.caching, "caching-no"),
            (t.noloop, "noloop"),
            (t.broken_redir, "broken_redirect"),
        ];
        flags.extend(marks.iter().filter(|m| m.0).map(|m| m.1));
    }
    let redirect = t.map(|t| t.redirect as i64).unwrap_or(-1);
    let prefixes: Vec<Vec<u8>> = t.map(|t| t.prefixes.iter().cloned().collect()).unwrap_or_default();
    let out = &mut ctx.out;
    out.map(3);
    out.bulk(b"flags");
    // Redis compat: networking.c writes the flags with a deferred length.
    out.mark_deferred();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(redirect);
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in prefixes {
        out.bulk(&p);
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let n = a.at(2);
    if !valid_name(n) {
        return Err(error::DANGEROUS_NAME);
    }
    if let Some(c) = ctx.client() {
        c.name = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    match ctx.client().and_then(|c| c.name.clone()) {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// A TYPE argument of CLIENT LIST/KILL, as `Client::class` names it.
fn client_class(a: &Args, j: usize) -> Result<&'static str, CmdError> {
    match a.str(j).to_ascii_lowercase().as_str() {
        "normal" => Ok("normal"),
        "master" => Ok("master"),
        "replica" | "slave" => Ok("replica"),
        "pubsub" => Ok("pubsub"),
        _ => Err(CmdError::owned(format!("ERR Unknown client type '{}'", a.str(j)))),
    }
}

fn client_list(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut class = None;
    let mut j = 2;
    while j < a.len() {
        if a.is(j, "type") && j + 1 < a.len() {
            class = Some(client_class(a, j + 1)?);
            j += 2;
        } else if a.is(j, "id") && j + 1 < a.len() {
            let mut v = Vec::new();
            for x in a.rest(j + 1) {
                match num::parse_i64(x) {
                    Some(id) if id > 0 => v.push(id as u64),
                    _ => return Err(CmdError::new("ERR Invalid client ID")),
                }
            }
            ids = Some(v);
            j = a.len();
        } else {
            return Err(error::SYNTAX);
        }
    }
    let now = ctx.now_ms;
    let mut s = String::new();
    for (_, c) in ctx.srv.clients.iter() {
        if c.freed || ids.as_ref().is_some_and(|v| !v.contains(&c.id)) || class.is_some_and(|k| c.class() != k) {
            continue;
        }
        s.push_str(&c.info_line(now));
        s.push('\n');
    }
    ctx.out.verbatim(s.as_bytes(), "txt");
    Ok(())
}

fn client_info(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let now = ctx.now_ms;
    let line = ctx.client().map(|c| c.info_line(now)).unwrap_or_default() + "\n";
    ctx.out.verbatim(line.as_bytes(), "txt");
    Ok(())
}

fn client_kill(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Old form: CLIENT KILL addr:port.
    if a.len() == 3 {
        let addr = a.str(2);
        let target = ctx.srv.clients.iter().find(|(_, c)| c.addr == addr).map(|(k, _)| k);
        let Some(t) = target else {
            return Err(error::CLIENT_NOT_FOUND);
        };
        kill(ctx, t);
        ctx.out.ok();
        return Ok(());
    }
    let (mut id, mut addr, mut laddr, mut skipme, mut ctype, mut user) = (None, None, None, true, None, None);
    let mut j = 2;
    while j < a.len() {
        if j + 1 >= a.len() {
            return Err(error::SYNTAX);
        }
        let v = a.at(j + 1);
        if a.is(j, "id") {
            id = Some(
                num::parse_i64(v)
                    .filter(|x| *x > 0)
                    .ok_or(CmdError::new("ERR client-id should be greater than 0"))? as u64,
            );
        } else if a.is(j, "addr") {
            addr = Some(a.str(j + 1));
        } else if a.is(j, "laddr") {
            laddr = Some(a.str(j + 1));
        } else if a.is(j, "skipme") {
            skipme = if a.is(j + 1, "yes") {
                true
            } else if a.is(j + 1, "no") {
                false
            } else {
                return Err(error::SYNTAX);
            };
        } else if a.is(j, "type") {
            ctype = Some(client_class(a, j + 1)?);
        } else if a.is(j, "user") {
            user = Some(
                ctx.srv
                    .acl
                    .id_of(a.at(j + 1))
                    .ok_or_else(|| CmdError::owned(format!("ERR No such user '{}'", a.str(j + 1))))?,
            );
        } else {
            return Err(error::SYNTAX);
        }
        j += 2;
    }
    let me = ctx.cid;
    let targets: Vec<usize> = ctx
        .srv
        .clients
        .iter()
        .filter(|(k, c)| {
            id.is_none_or(|i| c.id == i)
                && addr.as_ref().is_none_or(|x| &c.addr == x)
                && laddr.as_ref().is_none_or(|x| &c.laddr == x)
                && ctype.is_none_or(|t| c.class() == t)
                && user.is_none_or(|u| c.user == u)
                && !c.freed
                && !(skipme && *k == me)
        })
        .map(|(k, _)| k)
        .collect();
    for &t in &targets {
        kill(ctx, t);
    }
    ctx.out.int(targets.len() as i64);
    Ok(())
}

fn kill(ctx: &mut Ctx, cid: usize) {
    if cid == ctx.cid {
        // Reply first, then close (Redis closes the caller after the reply).
        if let Some(c) = ctx.client() {
            c.close_after_reply = true;
        }
    } else {
        // Replication forgets the link now, as Redis frees the client at once: a
        // master link killed inside MULTI before a long command is down from here
        // (its down time counts toward the replica's data age). The socket closes
        // after the command, without what was queued for it (Redis frees another
        // client at once, pending replies and all).
        ctx.srv.repl_forget_client(cid);
        if let Some(c) = ctx.srv.clients.get_mut(cid) {
            c.discard_buffers();
        }
        ctx.srv.close_client_async(cid);
    }
}

fn client_reply(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mode = if a.is(2, "on") {
        ReplyMode::On
    } else if a.is(2, "off") {
        ReplyMode::Off
    } else if a.is(2, "skip") {
        ReplyMode::SkipNext
    } else {
        return Err(error::SYNTAX);
    };
    if let Some(c) = ctx.client() {
        // Redis compat: networking.c ignores SKIP while replies are OFF.
        if !(mode == ReplyMode::SkipNext && c.reply_mode == ReplyMode::Off) {
            c.reply_mode = mode;
        }
    }
    if mode == ReplyMode::On {
        ctx.out.ok();
    }
    Ok(())
}

fn client_no_evict(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let on = if a.is(2, "on") {
        true
    } else if a.is(2, "off") {
        false
    } else {
        return Err(error::SYNTAX);
    };
    if let Some(c) = ctx.client() {
        c.no_evict = on;
    }
    let cid = ctx.cid;
    ctx.srv.update_client_mem(cid);
    ctx.out.ok();
    Ok(())
}

fn client_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Track (YES, in OPTIN mode) or skip (NO, in OPTOUT mode) the keys of the next command.",
            "GETNAME",
            "    Return the name of the current connection.",
            "GETREDIR",
            "    Return the id of the client tracking invalidations are redirected to.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix>]",
            "         [PREFIX <prefix> ...] [OPTIN] [OPTOUT] [NOLOOP]",
            "    Turn client-side caching invalidations on or off for this connection.",
            "TRACKINGINFO",
            "    Show this connection's tracking settings.",
        ],
    );
    Ok(())
}

const CLIENT_SUBS: &[CommandSpec] = &[
    cmd("caching", 3, NOSCRIPT | LOADING | STALE, ACL_CONNECTION, client_caching).doc(
        G,
        "6.0.0",
        "O(1)",
        "Instructs the server whether to track the keys in the next request.",
    ),
    cmd(
        "getredir",
        2,
        NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_getredir,
    )
    .doc(
        G,
        "6.0.0",
        "O(1)",
        "Returns the client ID to which the connection's tracking notifications are redirected.",
    ),
    cmd(
        "tracking",
        -3,
        NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_tracking,
    )
    .doc(
        G,
        "6.0.0",
        "O(1). Some options may introduce additional complexity.",
        "Controls server-assisted client-side caching for the connection.",
    ),
    cmd(
        "trackinginfo",
        2,
        NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_trackinginfo,
    )
    .doc(
        G,
        "6.2.0",
        "O(1)",
        "Returns information about server-assisted client-side caching for the connection.",
    ),
    cmd("getname", 2, NOSCRIPT | LOADING | STALE, ACL_CONNECTION, client_getname).doc(
        G,
        "2.6.9",
        "O(1)",
        "Returns the name of the connection.",
    ),
    cmd("help", 2, LOADING | STALE, ACL_CONNECTION, client_help).doc(
        G,
        "5.0.0",
        "O(1)",
        "Lists the CLIENT subcommands.",
    ),
    cmd(
        "pause",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_pause,
    )
    .doc(
        G,
        "2.9.50",
        "O(1)",
        "Suspends commands that may write (WRITE) or all commands for a number of milliseconds.",
    ),
    cmd(
        "unpause",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_unpause,
    )
    .doc(
        G,
        "6.2.0",
        "O(N) Where N is the number of paused clients",
        "Resumes the commands CLIENT PAUSE suspended.",
    ),
    cmd(
        "unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_unblock,
    )
    .doc(
        G,
        "5.0.0",
        "O(log N) where N is the number of client connections",
        "Unblocks a client blocked by a blocking command from a different connection.",
    ),
    cmd("id", 2, NOSCRIPT | LOADING | STALE, ACL_CONNECTION, client_id).doc(
        G,
        "5.0.0",
        "O(1)",
        "Returns the unique id of the connection.",
    ),
    cmd("info", 2, NOSCRIPT | LOADING | STALE, ACL_CONNECTION, client_info)
        .doc(G, "6.2.0", "O(1)", "Returns information about the connection.")
        .tips(&["nondeterministic_output"]),
    cmd(
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_kill,
    )
    .doc(
        G,
        "2.4.0",
        "O(N) where N is the number of client connections",
        "Closes connections matching a filter.",
    ),
    cmd(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_list,
    )
    .doc(
        G,
        "2.4.0",
        "O(N) where N is the number of client connections",
        "Lists open connections.",
    )
    .tips(&["nondeterministic_output"]),
    cmd(
        "no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        ACL_CONNECTION,
        client_no_evict,
    )
    .doc(
        G,
        "7.0.0",
        "O(1)",
        "Sets whether the connection is exempt from client eviction.",
    ),
    cmd("reply", 3, NOSCRIPT | LOADING | STALE, ACL_CONNECTION, client_reply).doc(
        G,
        "3.2.0",
        "O(1)",
        "Turns the replies to this connection on, off, or off for one command.",
    ),
    cmd("setname", 3, NOSCRIPT | LOADING | STALE, ACL_CONNECTION, client_setname).doc(
        G,
        "2.6.9",
        "O(1)",
        "Sets the name of the connection.",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    cmd("ping", -1, FAST | SENTINEL, ACL_CONNECTION, ping)
        .tips(TIPS_ALL_SHARDS_OK)
        .doc(G, "1.0.0", "O(1)", "Answers PONG, or echoes its argument."),
    cmd("echo", 2, FAST | LOADING | STALE, ACL_CONNECTION, echo).doc(G, "1.0.0", "O(1)", "Returns its argument."),
    cmd(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        ACL_CONNECTION,
        quit,
    )
    .doc(G, "1.0.0", "O(1)", "Closes the connection after replying."),
    cmd(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        ACL_CONNECTION,
        reset,
    )
    .doc(G, "6.2.0", "O(1)", "Resets the connection to its initial state."),
    cmd(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        ACL_CONNECTION,
        auth,
    )
    .doc(
        G,
        "1.0.0",
        "O(N) where N is the number of passwords defined for the user",
        "Authenticates the connection.",
    ),
    cmd(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        ACL_CONNECTION,
        hello,
    )
    .doc(
        G,
        "6.0.0",
        "O(1)",
        "Negotiates the protocol version, optionally authenticating and naming the connection.",
    ),
    crate::cmd::spec::container("client", 0, CLIENT_SUBS).doc(
        G,
        "2.4.0",
        "Depends on subcommand.",
        "A container for connection management commands.",
    ),
];
