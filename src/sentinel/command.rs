//! The SENTINEL command, and the INFO, ROLE and PUBLISH that Sentinel mode has in
//! place of the data server's. Redis compat: sentinel.c sentinelCommand and after.
use std::fmt::Write as _;

use super::{
    executable, now_ms, resolve, At, LogLevel, Sentinel, Timing, FAILOVER_IN_PROGRESS, FORCE_FAILOVER, FO_NONE,
    FO_RECONF_SLAVES, FO_SELECT_SLAVE, FO_SEND_SLAVEOF_NOONE, FO_UPDATE_CONFIG, FO_WAIT_PROMOTION, FO_WAIT_START,
    HELLO_CHANNEL, MASTER, MASTER_DOWN, O_DOWN, PROMOTED, RECONF_DONE, RECONF_INPROG, RECONF_SENT, SCRIPT_KILL_SENT,
    SIM_CRASH_AFTER_ELECTION, SIM_CRASH_AFTER_PROMOTION, SLAVE, S_DOWN,
};
use crate::cmd::spec::*;
use crate::cmd::{Args, CmdError, CmdResult, CommandSpec, Ctx};
use crate::server::Server;

const G: &str = "sentinel";

/// The names of the top-level commands Sentinel mode has, besides its own.
/// Redis compat: the commands flagged SENTINEL in Redis 7.0's command table.
pub const SHARED: &[&str] = &[
    "acl",
    "auth",
    "client",
    "command",
    "hello",
    "ping",
    "psubscribe",
    "punsubscribe",
    "shutdown",
    "subscribe",
    "unsubscribe",
];

const NOT_SENTINEL: CmdError = CmdError::new("ERR This instance is not a Sentinel");

fn sentinel_of<'a>(ctx: &'a mut Ctx) -> Result<&'a mut Sentinel, CmdError> {
    ctx.srv.sentinel.as_deref_mut().ok_or(NOT_SENTINEL)
}

/// The Sentinel state with the reactor's registry (for commands that close links).
fn sentinel_and_registry(srv: &mut Server) -> Result<(&mut Sentinel, &mio::Registry), CmdError> {
    match (srv.sentinel.as_deref_mut(), srv.registry.as_ref()) {
        (Some(s), Some(reg)) => Ok((s, reg)),
        _ => Err(NOT_SENTINEL),
    }
}

fn master_or_err(s: &Sentinel, name: &[u8]) -> Result<usize, CmdError> {
    s.master_index(&String::from_utf8_lossy(name))
        .ok_or(CmdError::new("ERR No such master with that name"))
}

/// Writes the state of one instance as a map. Redis compat: addReplySentinelRedisInstance.
fn reply_instance(ctx: &mut Ctx, s: &Sentinel, at: At) {
    let Some(ri) = s.ri(at) else { return };
    let now = now_ms();
    let out = &mut *ctx.out;
    let d = out.begin_deferred(b'%');
    let mut n = 0;
    let mut kv = |out: &mut crate::resp::ReplyBuf, k: &str, v: &str| {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
        n += 1;
    };
    kv(out, "name", &ri.name);
    kv(out, "ip", s.announce(&ri.addr));
    kv(out, "port", &ri.addr.port.to_string());
    kv(out, "runid", ri.runid.as_deref().unwrap_or(""));
    let mut flags: Vec<&str> = Vec::new();
    for (bit, name) in [
        (S_DOWN, "s_down"),
        (O_DOWN, "o_down"),
        (MASTER, "master"),
        (SLAVE, "slave"),
        (super::SENTINEL, "sentinel"),
    ] {
        if ri.flags & bit != 0 {
            flags.push(name);
        }
    }
    if ri.link.disconnected {
        flags.push("disconnected");
    }
    for (bit, name) in [
        (MASTER_DOWN, "master_down"),
        (FAILOVER_IN_PROGRESS, "failover_in_progress"),
        (PROMOTED, "promoted"),
        (RECONF_SENT, "reconf_sent"),
        (RECONF_INPROG, "reconf_inprog"),
        (RECONF_DONE, "reconf_done"),
        (FORCE_FAILOVER, "force_failover"),
        (SCRIPT_KILL_SENT, "script_kill_sent"),
    ] {
        if ri.flags & bit != 0 {
            flags.push(name);
        }
    }
    kv(out, "flags", &flags.join(","));
    kv(out, "link-pending-commands", &ri.link.pending.to_string());
    kv(out, "link-refcount", "1");
    let ms = &s.masters[at.master()];
    if ri.flags & FAILOVER_IN_PROGRESS != 0 {
        let st = match ms.failover_state {
            FO_NONE => "none",
            FO_WAIT_START => "wait_start",
            FO_SELECT_SLAVE => "select_slave",
            FO_SEND_SLAVEOF_NOONE => "send_slaveof_noone",
            FO_WAIT_PROMOTION => "wait_promotion",
            FO_RECONF_SLAVES => "reconf_slaves",
            FO_UPDATE_CONFIG => "update_config",
            _ => "unknown",
        };
        kv(out, "failover-state", st);
    }
    let since = |t: i64| if t != 0 { now - t } else { 0 };
    kv(out, "last-ping-sent", &since(ri.link.act_ping_time).to_string());
    kv(out, "last-ok-ping-reply", &(now - ri.link.last_avail_time).to_string());
    kv(out, "last-ping-reply", &(now - ri.link.last_pong_time).to_string());
    if ri.flags & S_DOWN != 0 {
        kv(out, "s-down-time", &(now - ri.s_down_since).to_string());
    }
    if ri.flags & O_DOWN != 0 {
        kv(out, "o-down-time", &(now - ri.o_down_since).to_string());
    }
    kv(out, "down-after-milliseconds", &ri.down_after.to_string());
    if ri.flags & (MASTER | SLAVE) != 0 {
        kv(out, "info-refresh", &since(ri.info_refresh).to_string());
        kv(
            out,
            "role-reported",
            if ri.role_reported == MASTER { "master" } else { "slave" },
        );
        kv(out, "role-reported-time", &(now - ri.role_reported_time).to_string());
    }
    if ri.flags & MASTER != 0 {
        kv(out, "config-epoch", &ms.config_epoch.to_string());
        kv(out, "num-slaves", &ms.slaves.len().to_string());
        kv(out, "num-other-sentinels", &ms.sentinels.len().to_string());
        kv(out, "quorum", &ms.quorum.to_string());
        kv(out, "failover-timeout", &ms.failover_timeout.to_string());
        kv(out, "parallel-syncs", &ms.parallel_syncs.to_string());
        if let Some(p) = &ms.notification_script {
            kv(out, "notification-script", p);
        }
        if let Some(p) = &ms.client_reconfig_script {
            kv(out, "client-reconfig-script", p);
        }
    }
    if ri.flags & SLAVE != 0 {
        kv(out, "master-link-down-time", &ri.master_link_down_time.to_string());
        kv(
            out,
            "master-link-status",
            if ri.slave_master_link_up { "ok" } else { "err" },
        );
        kv(out, "master-host", ri.slave_master_host.as_deref().unwrap_or("?"));
        kv(out, "master-port", &ri.slave_master_port.to_string());
        kv(out, "slave-priority", &ri.slave_priority.to_string());
        kv(out, "slave-repl-offset", &ri.slave_repl_offset.to_string());
        kv(out, "replica-announced", &ri.replica_announced.to_string());
    }
    if ri.flags & super::SENTINEL != 0 {
        kv(out, "last-hello-message", &(now - ri.last_hello_time).to_string());
        kv(out, "voted-leader", ri.leader.as_deref().unwrap_or("?"));
        kv(out, "voted-leader-epoch", &ri.leader_epoch.to_string());
    }
    out.end_deferred(d, n);
}

/// A list of instances; replicas that asked not to be announced are left out.
fn reply_list(ctx: &mut Ctx, s: &Sentinel, list: Vec<At>) {
    let shown: Vec<At> = list
        .into_iter()
        .filter(|&at| {
            s.ri(at)
                .is_some_and(|ri| ri.flags & SLAVE == 0 || ri.replica_announced != 0)
        })
        .collect();
    // Redis compat: sentinel.c addReplyDictOfRedisInstances writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.array(shown.len());
    for at in shown {
        reply_instance(ctx, s, at);
    }
}

/// Runs `f` with the Sentinel state taken out of the server, so replies can be
/// written while reading it.
fn with_sentinel<R>(ctx: &mut Ctx, f: impl FnOnce(&mut Ctx, &mut Sentinel) -> R) -> Result<R, CmdError> {
    let mut s = ctx.srv.sentinel.take().ok_or(NOT_SENTINEL)?;
    let r = f(ctx, &mut s);
    ctx.srv.sentinel = Some(s);
    Ok(r)
}

fn masters(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    with_sentinel(ctx, |ctx, s| {
        let list = (0..s.masters.len()).map(At::Master).collect();
        reply_list(ctx, s, list)
    })
}

fn master(ctx: &mut Ctx, a: &Args) -> CmdResult {
    with_sentinel(ctx, |ctx, s| {
        let m = master_or_err(s, a.at(2))?;
        reply_instance(ctx, s, At::Master(m));
        Ok(())
    })?
}

/// The replicas (or the other Sentinels) of the named master.
fn children(ctx: &mut Ctx, a: &Args, sentinels: bool) -> CmdResult {
    with_sentinel(ctx, |ctx, s| {
        let m = master_or_err(s, a.at(2))?;
        let list = if sentinels {
            (0..s.masters[m].sentinels.len()).map(|i| At::Sentinel(m, i)).collect()
        } else {
            (0..s.masters[m].slaves.len()).map(|i| At::Slave(m, i)).collect()
        };
        reply_list(ctx, s, list);
        Ok(())
    })?
}

fn replicas(ctx: &mut Ctx, a: &Args) -> CmdResult {
    children(ctx, a, false)
}

fn sentinels(ctx: &mut Ctx, a: &Args) -> CmdResult {
    children(ctx, a, true)
}

fn myid(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let id = sentinel_of(ctx)?.myid.clone();
    ctx.out.bulk(id.as_bytes());
    Ok(())
}

fn is_master_down_by_addr(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let port = a.i64(3)?;
    let req_epoch = a.i64(4)?;
    let (ip, runid) = (a.str(2), a.str(5));
    let s = sentinel_of(ctx)?;
    let m = s.make_addr(&ip, port, true).ok().and_then(|probe| {
        s.masters
            .iter()
            .position(|ms| ms.ri.flags & MASTER != 0 && ms.ri.addr.same(&probe))
    });
    let down = !s.tilt && m.is_some_and(|m| s.masters[m].ri.flags & S_DOWN != 0);
    let (leader, epoch) = match m {
        Some(m) if runid != "*" => s.vote_leader(m, req_epoch as u64, &runid),
        _ => (None, 0),
    };
    ctx.out.array(3);
    ctx.out.int(down as i64);
    ctx.out.bulk(leader.as_deref().unwrap_or("*").as_bytes());
    ctx.out.int(epoch as i64);
    ctx.srv.sentinel_after();
    Ok(())
}

fn reset(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let pattern = a.at(2).to_vec();
    let srv = &mut *ctx.srv;
    let (s, reg) = sentinel_and_registry(srv)?;
    let mut n = 0;
    for m in 0..s.masters.len() {
        if crate::util::glob::glob_match(&pattern, s.masters[m].ri.name.as_bytes(), false) {
            s.reset_master(reg, m, true, true);
            n += 1;
        }
    }
    ctx.out.int(n);
    ctx.srv.sentinel_after();
    Ok(())
}

fn get_master_addr_by_name(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let name = a.str(2);
    let s = sentinel_of(ctx)?;
    let addr = s
        .master_index(&name)
        .and_then(|m| s.current_master_addr(m))
        .map(|addr| (s.announce(addr).to_string(), addr.port));
    match addr {
        None => ctx.out.null_array(),
        Some((host, port)) => {
            ctx.out.array(2);
            ctx.out.bulk(host.as_bytes());
            ctx.out.bulk(port.to_string().as_bytes());
        }
    }
    Ok(())
}

fn failover(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let s = sentinel_of(ctx)?;
    let m = master_or_err(s, a.at(2))?;
    if s.masters[m].ri.flags & FAILOVER_IN_PROGRESS != 0 {
        return Err(CmdError::new("INPROG Failover already in progress"));
    }
    if s.select_slave(m, now_ms()).is_none() {
        return Err(CmdError::new("NOGOODSLAVE No suitable replica to promote"));
    }
    tracing::warn!("Executing user requested FAILOVER of '{}'", s.masters[m].ri.name);
    s.start_failover(m);
    s.masters[m].ri.flags |= FORCE_FAILOVER;
    ctx.out.ok();
    ctx.srv.sentinel_after();
    Ok(())
}

fn pending_scripts(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let now = now_ms();
    let rows: Vec<(Vec<String>, bool, i64, u32)> = sentinel_of(ctx)?
        .scripts
        .iter()
        .map(|s| {
            (
                s.argv.clone(),
                s.child.is_some(),
                if s.child.is_some() {
                    now - s.start_time
                } else {
                    s.start_time - now
                },
                s.retry,
            )
        })
        .collect();
    ctx.out.array(rows.len());
    for (argv, running, t, retry) in rows {
        ctx.out.map(5);
        ctx.out.bulk(b"argv");
        ctx.out.array(argv.len());
        for w in &argv {
            ctx.out.bulk(w.as_bytes());
        }
        ctx.out.bulk(b"flags");
        ctx.out.bulk(if running { b"running".as_slice() } else { b"scheduled" });
        ctx.out.bulk(b"pid");
        ctx.out.bulk(b"0");
        ctx.out
            .bulk(if running { b"run-time".as_slice() } else { b"run-delay" });
        ctx.out.bulk(t.max(0).to_string().as_bytes());
        ctx.out.bulk(b"retry-num");
        ctx.out.bulk(retry.to_string().as_bytes());
    }
    Ok(())
}

/// Rewrites the config file; the reply for commands that change it.
fn flush_and_reply(ctx: &mut Ctx) -> CmdResult {
    if let Some(s) = ctx.srv.sentinel.as_deref_mut() {
        s.flush = false;
    }
    let ok = ctx.srv.sentinel_flush_config();
    ctx.srv.sentinel_after();
    if ok {
        ctx.out.ok();
        Ok(())
    } else {
        Err(CmdError::new("ERR Failed to save config file. Check server logs."))
    }
}

fn monitor_cmd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let quorum = crate::util::num::parse_i64(a.at(5)).ok_or(CmdError::new("ERR Invalid quorum"))?;
    let port = crate::util::num::parse_i64(a.at(4)).ok_or(CmdError::new("ERR Invalid port"))?;
    if quorum <= 0 {
        return Err(CmdError::new("ERR Quorum must be 1 or greater."));
    }
    let (name, host) = (a.str(2), a.str(3));
    let s = sentinel_of(ctx)?;
    if resolve(&host, s.resolve_hostnames).is_none() {
        return Err(CmdError::new("ERR Invalid IP address or hostname specified"));
    }
    let m = s
        .add_master(&name, &host, port, quorum)
        .map_err(|e| CmdError::owned(format!("ERR {}", e.text(MASTER))))?;
    flush_and_reply(ctx)?;
    let s = sentinel_of(ctx)?;
    let q = s.masters[m].quorum;
    s.event(
        LogLevel::Warning,
        "+monitor",
        Some(At::Master(m)),
        &format!("quorum {q}"),
    );
    ctx.srv.sentinel_after();
    Ok(())
}

fn flushconfig(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    flush_and_reply(ctx)
}

fn remove(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let srv = &mut *ctx.srv;
    let (s, reg) = sentinel_and_registry(srv)?;
    let m = master_or_err(s, a.at(2))?;
    s.event(LogLevel::Warning, "-monitor", Some(At::Master(m)), "");
    s.close_master_links(reg, m, true);
    s.masters.remove(m);
    flush_and_reply(ctx)
}

fn ckquorum(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let s = sentinel_of(ctx)?;
    let m = master_or_err(s, a.at(2))?;
    let ms = &s.masters[m];
    let voters = ms.sentinels.len() as i64 + 1;
    let usable = 1 + ms.sentinels.iter().filter(|x| x.flags & (S_DOWN | O_DOWN) == 0).count() as i64;
    let noquorum = usable < ms.quorum;
    let noauth = usable < voters / 2 + 1;
    if !noquorum && !noauth {
        ctx.out.simple(&format!(
            "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
        ));
        return Ok(());
    }
    let mut e = format!("NOQUORUM {usable} usable Sentinels. ");
    if noquorum {
        e.push_str("Not enough available Sentinels to reach the specified quorum for this master");
    }
    if noauth {
        if noquorum {
            e.push_str(". ");
        }
        e.push_str("Not enough available Sentinels to reach the majority and authorize a failover");
    }
    Err(CmdError::owned(e))
}

fn set(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let srv = &mut *ctx.srv;
    let (s, reg) = sentinel_and_registry(srv)?;
    let m = master_or_err(s, a.at(2))?;
    let mut changes = 0;
    let mut err: Option<CmdError> = None;
    let mut j = 3;
    while j < a.len() {
        let opt = a.str(j).to_ascii_lowercase();
        let more = a.len() - 1 - j;
        let old_j = j;
        let mut redacted = false;
        let badfmt = |j: usize| {
            CmdError::owned(format!(
                "ERR Invalid argument '{}' for SENTINEL SET '{}'",
                a.str(j),
                a.str(old_j)
            ))
        };
        let num = |j: usize| crate::util::num::parse_i64(a.at(j));
        match opt.as_str() {
            "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum" if more > 0 => {
                j += 1;
                let Some(v) = num(j).filter(|&v| v > 0) else {
                    err = Some(badfmt(j));
                    break;
                };
                let ms = &mut s.masters[m];
                match opt.as_str() {
                    "down-after-milliseconds" => s.set_down_after(m, v),
                    "failover-timeout" => ms.failover_timeout = v,
                    "parallel-syncs" => ms.parallel_syncs = v,
                    _ => ms.quorum = v,
                }
            }
            "master-reboot-down-after-period" if more > 0 => {
                j += 1;
                let Some(v) = num(j).filter(|&v| v >= 0) else {
                    err = Some(badfmt(j));
                    break;
                };
                s.masters[m].master_reboot_down_after = v;
            }
            "notification-script" | "client-reconfig-script" if more > 0 => {
                j += 1;
                let v = a.str(j);
                if s.deny_scripts_reconfig {
                    err = Some(CmdError::new("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration"));
                    break;
                }
                if !v.is_empty() && !executable(&v) {
                    err = Some(CmdError::new(if opt == "notification-script" {
                        "ERR Notification script seems non existing or non executable"
                    } else {
                        "ERR Client reconfiguration script seems non existing or non executable"
                    }));
                    break;
                }
                let v = (!v.is_empty()).then_some(v);
                if opt == "notification-script" {
                    s.masters[m].notification_script = v;
                } else {
                    s.masters[m].client_reconfig_script = v;
                }
            }
            "auth-pass" | "auth-user" if more > 0 => {
                j += 1;
                let v = a.str(j);
                let v = (!v.is_empty()).then_some(v);
                if opt == "auth-pass" {
                    s.masters[m].auth_pass = v;
                    redacted = true;
                } else {
                    s.masters[m].auth_user = v;
                }
                s.close_master_links(reg, m, false);
            }
            "rename-command" if more > 1 => {
                let (old, new) = (a.str(j + 1), a.str(j + 2));
                j += 2;
                if old.is_empty() || new.is_empty() {
                    err = Some(badfmt(if new.is_empty() { j } else { j - 1 }));
                    break;
                }
                let ms = &mut s.masters[m];
                ms.renamed.retain(|(o, _)| !o.eq_ignore_ascii_case(&old));
                if !old.eq_ignore_ascii_case(&new) {
                    ms.renamed.push((old, new));
                }
            }
            _ => {
                err = Some(CmdError::owned(format!(
                    "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                    a.str(j)
                )));
                break;
            }
        }
        changes += 1;
        let words: Vec<String> = (old_j..=j)
            .map(|k| {
                if redacted && k > old_j {
                    "******".to_string()
                } else {
                    a.str(k)
                }
            })
            .collect();
        let text = if words.len() <= 3 {
            words.join(" ")
        } else {
            words[0].clone()
        };
        s.event(LogLevel::Warning, "+set", Some(At::Master(m)), &text);
        j += 1;
    }
    if let Some(e) = err {
        if changes > 0 {
            ctx.srv.sentinel_flush_config();
        }
        ctx.srv.sentinel_after();
        return Err(e);
    }
    if changes > 0 {
        return flush_and_reply(ctx);
    }
    Ok(())
}

fn config(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.is(2, "set") && a.len() == 5 {
        return config_set(ctx, a);
    }
    if a.is(2, "get") && a.len() == 4 {
        return config_get(ctx, a);
    }
    Err(CmdError::new(
        "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.",
    ))
}

fn config_set(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (opt, val) = (a.str(3), a.str(4));
    let srv = &mut *ctx.srv;
    let (s, reg) = sentinel_and_registry(srv)?;
    let bad = || CmdError::owned(format!("ERR Invalid value '{val}' to SENTINEL CONFIG SET '{opt}'"));
    let yn = || super::yes_no(&val).ok_or_else(bad);
    let mut drop = false;
    match opt.to_ascii_lowercase().as_str() {
        "resolve-hostnames" => s.resolve_hostnames = yn()?,
        "announce-hostnames" => s.announce_hostnames = yn()?,
        "announce-ip" => s.announce_ip = Some(val.clone()),
        "announce-port" => {
            let p = crate::util::num::parse_i64(val.as_bytes())
                .filter(|p| (0..=65535).contains(p))
                .ok_or_else(bad)?;
            s.announce_port = p as u16;
        }
        "sentinel-user" => {
            s.user = (!val.is_empty()).then(|| val.clone());
            drop = true;
        }
        "sentinel-pass" => {
            s.pass = (!val.is_empty()).then(|| val.clone());
            drop = true;
        }
        _ => {
            return Err(CmdError::owned(format!(
                "ERR Invalid argument '{opt}' to SENTINEL CONFIG SET"
            )))
        }
    }
    if drop {
        for m in 0..s.masters.len() {
            for i in 0..s.masters[m].sentinels.len() {
                s.close_links(reg, At::Sentinel(m, i));
            }
        }
    }
    flush_and_reply(ctx)
}

fn config_get(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let pattern = a.at(3).to_vec();
    let s = sentinel_of(ctx)?;
    let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
    let all = [
        ("resolve-hostnames", yn(s.resolve_hostnames)),
        ("announce-hostnames", yn(s.announce_hostnames)),
        ("announce-ip", s.announce_ip.clone().unwrap_or_default()),
        ("announce-port", s.announce_port.to_string()),
        ("sentinel-user", s.user.clone().unwrap_or_default()),
        ("sentinel-pass", s.pass.clone().unwrap_or_default()),
    ];
    let hits: Vec<_> = all
        .into_iter()
        .filter(|(k, _)| crate::util::glob::glob_match(&pattern, k.as_bytes(), true))
        .collect();
    // Redis compat: sentinel.c sentinelConfigGetCommand writes a deferred length.
    ctx.out.mark_deferred();
    ctx.out.map(hits.len());
    for (k, v) in hits {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn info_cache(ctx: &mut Ctx, a: &Args) -> CmdResult {
    with_sentinel(ctx, |ctx, s| {
        let now = now_ms();
        let picked: Vec<usize> = if a.len() > 2 {
            let mut v = Vec::new();
            for name in a.rest(2) {
                if let Some(m) = s.master_index(&String::from_utf8_lossy(name)) {
                    if !v.contains(&m) {
                        v.push(m);
                    }
                }
            }
            v
        } else {
            (0..s.masters.len()).collect()
        };
        let out = &mut *ctx.out;
        out.array(picked.len() * 2);
        for m in picked {
            let ms = &s.masters[m];
            out.bulk(ms.ri.name.as_bytes());
            out.array(ms.slaves.len() + 1);
            for ri in std::iter::once(&ms.ri).chain(ms.slaves.iter()) {
                out.array(2);
                out.int(if ms.ri.info_refresh != 0 {
                    now - ri.info_refresh
                } else {
                    0
                });
                match &ri.info {
                    Some(i) => out.bulk(i.as_bytes()),
                    None => out.null(),
                }
            }
        }
    })
}

fn simulate_failure(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let s = sentinel_of(ctx)?;
    s.simfailure = 0;
    for w in a.rest(2) {
        if w.eq_ignore_ascii_case(b"crash-after-election") {
            s.simfailure |= SIM_CRASH_AFTER_ELECTION;
            tracing::warn!(
                "Failure simulation: this Sentinel will crash after being successfully elected as failover leader"
            );
        } else if w.eq_ignore_ascii_case(b"crash-after-promotion") {
            s.simfailure |= SIM_CRASH_AFTER_PROMOTION;
            tracing::warn!(
                "Failure simulation: this Sentinel will crash after promoting the selected replica to master"
            );
        } else if w.eq_ignore_ascii_case(b"help") {
            ctx.out.array(2);
            ctx.out.bulk(b"crash-after-election");
            ctx.out.bulk(b"crash-after-promotion");
            return Ok(());
        } else {
            return Err(CmdError::new("ERR Unknown failure simulation specified"));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn debug(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let s = sentinel_of(ctx)?;
    if a.len() == 2 {
        let mut t = s.t;
        ctx.out.map(Timing::NAMES.len());
        for name in Timing::NAMES {
            ctx.out.bulk(name.to_ascii_uppercase().as_bytes());
            ctx.out.bulk(t.field(name).map_or(0, |v| *v).to_string().as_bytes());
        }
        return Ok(());
    }
    let mut j = 2;
    while j < a.len() {
        let opt = a.str(j);
        let more = a.len() - 1 - j;
        let lower = opt.to_ascii_lowercase();
        let Some(field) = s.t.field(&lower).filter(|_| more > 0) else {
            return Err(CmdError::owned(format!(
                "ERR Unknown option or number of arguments for SENTINEL DEBUG '{opt}'"
            )));
        };
        j += 1;
        match crate::util::num::parse_i64(a.at(j)).filter(|&v| v > 0) {
            Some(v) => *field = v,
            None => {
                return Err(CmdError::owned(format!(
                    "ERR Invalid argument '{}' for SENTINEL DEBUG '{opt}'",
                    a.str(j)
                )))
            }
        }
        j += 1;
    }
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    crate::cmd::keyspace::help(
        ctx,
        "SENTINEL",
        &[
            "[<arg> ...]",
            "CKQUORUM <master-name>",
            "    Check if the current Sentinel configuration is able to reach the quorum",
            "    needed to failover a master and the majority needed to authorize the",
            "    failover.",
            "CONFIG SET <param> <value>",
            "    Set a global Sentinel configuration parameter.",
            "CONFIG GET <param>",
            "    Get global Sentinel configuration parameter.",
            "DEBUG [<param> <value> ...]",
            "    Show a list of configurable time parameters and their values (milliseconds).",
            "    Or update current configurable parameters values (one or more).",
            "GET-MASTER-ADDR-BY-NAME <master-name>",
            "    Return the ip and port number of the master with that name.",
            "FAILOVER <master-name>",
            "    Manually failover a master node without asking for agreement from other",
            "    Sentinels",
            "FLUSHCONFIG",
            "    Force Sentinel to rewrite its configuration on disk, including the current",
            "    Sentinel state.",
            "INFO-CACHE <master-name>",
            "    Return last cached INFO output from masters and all its replicas.",
            "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
            "    Check if the master specified by ip:port is down from current Sentinel's",
            "    point of view.",
            "MASTER <master-name>",
            "    Show the state and info of the specified master.",
            "MASTERS",
            "    Show a list of monitored masters and their state.",
            "MONITOR <name> <ip> <port> <quorum>",
            "    Start monitoring a new master with the specified name, ip, port and quorum.",
            "MYID",
            "    Return the ID of the Sentinel instance.",
            "PENDING-SCRIPTS",
            "    Get pending scripts information.",
            "REMOVE <master-name>",
            "    Remove master from Sentinel's monitor list.",
            "REPLICAS <master-name>",
            "    Show a list of replicas for this master and their state.",
            "RESET <pattern>",
            "    Reset masters for specific master name matching this pattern.",
            "SENTINELS <master-name>",
            "    Show a list of Sentinel instances for this master and their state.",
            "SET <master-name> <option> <value> [<option> <value> ...]",
            "    Set configuration parameters for certain masters.",
            "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
            "    Simulate a Sentinel crash.",
        ],
    );
    Ok(())
}

/// INFO in Sentinel mode: the server, clients, cpu and stats sections, and Sentinel's.
/// Redis compat: sentinel.c sentinelInfoCommand.
fn info(ctx: &mut Ctx, a: &Args) -> CmdResult {
    const SECTIONS: [&str; 5] = ["server", "clients", "cpu", "stats", "sentinel"];
    let asked: Vec<String> = a
        .rest(1)
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let all = asked.is_empty()
        || asked
            .iter()
            .any(|s| matches!(s.as_str(), "all" | "default" | "everything"));
    let want: Vec<&str> = SECTIONS
        .iter()
        .copied()
        .filter(|s| all || asked.iter().any(|x| x == s))
        .collect();
    let base: Vec<String> = want
        .iter()
        .filter(|s| **s != "sentinel")
        .map(|s| s.to_string())
        .collect();
    let mut info = if base.is_empty() {
        Vec::new()
    } else {
        crate::cmd::info::info_string(ctx.srv, &base)
    };
    let mut text = String::new();
    if want.contains(&"sentinel") {
        let s = sentinel_of(ctx)?;
        if !info.is_empty() {
            text.push_str("\r\n");
        }
        let running = s.scripts.iter().filter(|x| x.child.is_some()).count();
        let _ = write!(
            text,
            "# Sentinel\r\nsentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\nsentinel_running_scripts:{}\r\nsentinel_scripts_queue_length:{}\r\nsentinel_simulate_failure_flags:{}\r\n",
            s.masters.len(),
            s.tilt as u8,
            if s.tilt { (now_ms() - s.tilt_start) / 1000 } else { -1 },
            running,
            s.scripts.len() - running,
            s.simfailure
        );
        for (i, ms) in s.masters.iter().enumerate() {
            let status = if ms.ri.flags & O_DOWN != 0 {
                "odown"
            } else if ms.ri.flags & S_DOWN != 0 {
                "sdown"
            } else {
                "ok"
            };
            let _ = write!(
                text,
                "master{i}:name={},status={status},address={}:{},slaves={},sentinels={}\r\n",
                ms.ri.name,
                s.announce(&ms.ri.addr),
                ms.ri.addr.port,
                ms.slaves.len(),
                ms.sentinels.len() + 1
            );
        }
    }
    info.extend_from_slice(text.as_bytes());
    ctx.out.verbatim(&info, "txt");
    Ok(())
}

/// ROLE in Sentinel mode: `sentinel` and the names of the monitored masters.
fn role(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let names: Vec<String> = sentinel_of(ctx)?.masters.iter().map(|m| m.ri.name.clone()).collect();
    ctx.out.array(2);
    ctx.out.bulk(b"sentinel");
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// PUBLISH in Sentinel mode takes hello messages from peers only.
fn publish(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.at(1) != HELLO_CHANNEL.as_bytes() {
        return Err(CmdError::new(
            "ERR Only HELLO messages are accepted by Sentinel instances.",
        ));
    }
    let msg = a.str(2);
    let srv = &mut *ctx.srv;
    if let (Some(s), Some(reg)) = (srv.sentinel.as_deref_mut(), srv.registry.as_ref()) {
        s.process_hello(reg, &msg);
    }
    ctx.out.int(1);
    ctx.srv.sentinel_after();
    Ok(())
}

const A: u64 = ADMIN | SENTINEL | ONLY_SENTINEL;

const SUBS: &[CommandSpec] = &[
    cmd("ckquorum", 3, A, 0, ckquorum).doc(G, "2.8.4", "O(1)", "Checks for a Sentinel quorum."),
    cmd("config", -3, A, 0, config).doc(G, "6.2.0", "O(1)", "Configures Sentinel."),
    cmd("debug", -2, A, 0, debug).doc(
        G,
        "7.0.0",
        "O(N) where N is the number of configurable parameters",
        "Lists or updates the current configurable parameters.",
    ),
    cmd("failover", 3, A, 0, failover).doc(G, "2.8.4", "O(1)", "Forces a failover."),
    cmd("flushconfig", 2, A, 0, flushconfig).doc(G, "2.8.4", "O(1)", "Rewrites the configuration file."),
    cmd("get-master-addr-by-name", 3, A, 0, get_master_addr_by_name).doc(
        G,
        "2.8.4",
        "O(1)",
        "Returns the port and address of a master.",
    ),
    cmd("help", 2, LOADING | STALE | SENTINEL | ONLY_SENTINEL, 0, help).doc(
        G,
        "6.2.0",
        "O(1)",
        "Lists the SENTINEL subcommands.",
    ),
    cmd("info-cache", -3, A, 0, info_cache).doc(
        G,
        "3.2.0",
        "O(N) where N is the number of instances",
        "Returns the cached INFO replies from the deployment's instances.",
    ),
    cmd("is-master-down-by-addr", 6, A, 0, is_master_down_by_addr).doc(
        G,
        "2.8.4",
        "O(1)",
        "Determines whether a master is down.",
    ),
    cmd("master", 3, A, 0, master).doc(G, "2.8.4", "O(1)", "Returns the state of a master."),
    cmd("masters", 2, A, 0, masters).doc(
        G,
        "2.8.4",
        "O(N) where N is the number of masters",
        "Returns a list of monitored masters.",
    ),
    cmd("monitor", 6, A, 0, monitor_cmd).doc(G, "2.8.4", "O(1)", "Starts monitoring."),
    cmd("myid", 2, A, 0, myid).doc(G, "6.2.0", "O(1)", "Returns the Sentinel instance ID."),
    cmd("pending-scripts", 2, A, 0, pending_scripts).doc(
        G,
        "2.8.4",
        "O(N)",
        "Returns information about pending scripts.",
    ),
    cmd("remove", 3, A, 0, remove).doc(G, "2.8.4", "O(1)", "Stops monitoring."),
    cmd("replicas", 3, A, 0, replicas).doc(
        G,
        "5.0.0",
        "O(N) where N is the number of replicas",
        "Returns a list of the monitored replicas.",
    ),
    cmd("reset", 3, A, 0, reset).doc(
        G,
        "2.8.4",
        "O(N) where N is the number of monitored masters",
        "Resets masters by name matching a pattern.",
    ),
    cmd("sentinels", 3, A, 0, sentinels).doc(
        G,
        "2.8.4",
        "O(N) where N is the number of Sentinels",
        "Returns a list of Sentinel instances.",
    ),
    cmd("set", -5, A, 0, set).doc(G, "2.8.4", "O(1)", "Changes the configuration of a monitored master."),
    cmd("simulate-failure", -3, A, 0, simulate_failure).doc(G, "3.2.0", "O(1)", "Simulates failover scenarios."),
    cmd("slaves", 3, A, 0, replicas).doc(
        G,
        "2.8.0",
        "O(N) where N is the number of replicas",
        "Returns a list of the monitored replicas.",
    ),
];

/// Sentinel mode's own commands; they take the place of the data server's of the
/// same name.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        flags: A,
        ..container("sentinel", 0, SUBS).doc(G, "2.8.4", "Depends on subcommand.", "A container for Sentinel commands.")
    },
    cmd("info", -1, LOADING | STALE | SENTINEL, ACL_DANGEROUS, info).doc(
        "server",
        "1.0.0",
        "O(1)",
        "Returns information and statistics about the server.",
    ),
    cmd("role", 1, NOSCRIPT | LOADING | STALE | FAST | SENTINEL, ACL_ADMIN | ACL_DANGEROUS, role).doc(
        "server",
        "2.8.12",
        "O(1)",
        "Returns the replication role.",
    ),
    cmd(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE | SENTINEL,
        ACL_PUBSUB,
        publish,
    )
    .doc("pubsub", "2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "Posts a message to a channel."),
];

impl Server {
    /// Rewrites the config file with Sentinel's state. False (and a log line) when the
    /// file cannot be written. Redis compat: sentinel.c sentinelFlushConfig.
    pub fn sentinel_flush_config(&mut self) -> bool {
        let Some(s) = self.sentinel.as_deref() else {
            return false;
        };
        let lines = s.config_lines();
        let users = self.acl_config_lines();
        match self.cfg.rewrite_sentinel(&users, &lines) {
            Ok(()) => {
                tracing::info!("Sentinel new configuration saved on disk");
                true
            }
            Err(e) => {
                tracing::warn!("WARNING: Sentinel was not able to save the new configuration on disk!!!: {e}");
                false
            }
        }
    }

    /// After Sentinel work: its events go to subscribers, and a changed state to the
    /// config file.
    pub fn sentinel_after(&mut self) {
        let Some(s) = self.sentinel.as_deref_mut() else { return };
        let events = std::mem::take(&mut s.events);
        let flush = std::mem::replace(&mut s.flush, false);
        for e in events {
            self.publish(None, e.ty.as_bytes(), e.msg.as_bytes(), false);
        }
        if flush {
            self.sentinel_flush_config();
        }
    }

    /// The Sentinel timer, from the server cron; its period is drawn anew each time
    /// (10 to 19 runs a second) so that Sentinels started together drift apart.
    pub fn sentinel_timer(&mut self) {
        let tls = self.cfg.yes("tls-replication");
        let tls_port = self.cfg.int("tls-port");
        let env = super::monitor::Env {
            // Redis compat: sentinel.c sentinelSendHello announces the TLS port then.
            port: if tls && tls_port > 0 {
                tls_port as u16
            } else {
                self.cfg.port
            },
            requirepass: self
                .cfg
                .requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            // Redis compat: sentinel.c instanceLinkNegotiateTLS (with tls-replication).
            dial: super::link::Dial {
                source: self.cfg.get("bind-source-addr").unwrap_or_default().to_string(),
                tls: tls.then(|| self.tls.as_deref().and_then(|t| t.bus_client())),
            },
        };
        if let (Some(s), Some(reg)) = (self.sentinel.as_deref_mut(), self.registry.as_ref()) {
            s.timer(reg, &env);
        }
        self.sentinel_after();
        use rand::Rng;
        self.hz = 10 + self.rng.random_range(0..10);
    }

    /// Readiness on a Sentinel link socket.
    pub fn sentinel_link_io(&mut self, sock: usize) {
        if let (Some(s), Some(reg)) = (self.sentinel.as_deref_mut(), self.registry.as_ref()) {
            s.link_io(reg, sock);
        }
        self.sentinel_after();
    }
}
