//! Replication commands: SYNC/PSYNC and REPLCONF (spoken by replicas), REPLICAOF
//! (SLAVEOF), ROLE and WAIT. Redis compat: replication.c.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::server::blocking::TimeoutReply;
use crate::server::fullsync::RdbFilter;
use crate::util::num;

const G: &str = "server";

/// Checks before a client becomes a replica. A full resync's payload must come
/// first: the stream from its snapshot on is held in the output buffer (and copied to
/// replicas sharing the snapshot). A filtered snapshot is always streamed, so it needs
/// a replica that takes EOF-marked payloads. Redis compat: replication.c syncCommand.
fn can_sync(ctx: &mut Ctx) -> CmdResult {
    let unsent = ctx.out.len() > ctx.client().map_or(0, |c| c.sent);
    if unsent || ctx.client().is_some_and(|c| c.sealed.pending() > 0) {
        return Err(CmdError::new("ERR SYNC and PSYNC are invalid with pending output"));
    }
    if ctx
        .client()
        .is_some_and(|c| c.replconf.filter.any() && !c.replconf.capa_eof)
    {
        return Err(CmdError::new("ERR Filtered replica requires EOF capability"));
    }
    Ok(())
}

/// Replicas do not sync with a master handing over its role, nor with a replica
/// whose own link is not up (it has no history to offer: it may be about to load
/// another). Redis compat: replication.c syncCommand.
fn not_failing_over(ctx: &mut Ctx) -> CmdResult {
    if ctx.srv.failover.is_some() {
        return Err(CmdError::new("NOMASTERLINK Can't SYNC while failing over"));
    }
    if ctx
        .srv
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.state != crate::server::repl::LinkState::Connected)
    {
        return Err(CmdError::new(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    Ok(())
}

/// The calling client as CLIENT LIST shows it, for the role-change log lines.
/// Redis compat: replication.c replicaofCommand (catClientInfoString).
fn caller_line(ctx: &mut Ctx) -> String {
    ctx.client()
        .map(|c| c.info_line(crate::clock::now_ms()))
        .unwrap_or_default()
}

/// Redis compat: replication.c syncCommand.
fn log_sync_request(ctx: &mut Ctx) {
    tracing::info!("Replica {} asks for synchronization", ctx.srv.replica_name_of(ctx.cid));
}

fn sync(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    if ctx.client().is_some_and(|c| c.replica.is_some()) {
        return Ok(());
    }
    not_failing_over(ctx)?;
    can_sync(ctx)?;
    log_sync_request(ctx);
    let cid = ctx.cid;
    ctx.srv.repl_attach(cid, ctx.out, None);
    ctx.no_propagate();
    Ok(())
}

fn psync(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if ctx.client().is_some_and(|c| c.replica.is_some()) {
        return Ok(());
    }
    // Our master hands its role over to us: we become the master, and it continues
    // as our replica from where it is. Redis compat: replication.c syncCommand.
    if a.len() > 3 && a.is(3, "failover") {
        tracing::warn!("Failover request received for replid {}.", a.str(1));
        if ctx.srv.repl.master.is_none() {
            return Err(CmdError::new("ERR PSYNC FAILOVER can't be sent to a master."));
        }
        if a.at(1) != ctx.srv.repl.replid.as_bytes() {
            return Err(CmdError::new("ERR PSYNC FAILOVER replid must match my replid."));
        }
        let _ = ctx.srv.cfg.set("replicaof", &[]);
        ctx.srv.repl_drop_master();
        tracing::info!("MASTER MODE enabled (failover request from '{}')", caller_line(ctx));
    }
    not_failing_over(ctx)?;
    can_sync(ctx)?;
    log_sync_request(ctx);
    if num::parse_i64(a.at(2)).is_none() {
        let name = ctx.srv.replica_name_of(ctx.cid);
        tracing::warn!("Replica {name} asks for synchronization but with a wrong offset");
        return Err(error::NOT_INT);
    }
    let cid = ctx.cid;
    ctx.srv.repl_attach(cid, ctx.out, Some((a.at(1), a.at(2))));
    ctx.no_propagate();
    Ok(())
}

fn replconf(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() % 2 == 0 {
        return Err(error::SYNTAX);
    }
    let mut j = 1;
    while j + 1 < a.len() {
        let v = a.at(j + 1);
        if a.is(j, "listening-port") {
            let port = num::parse_i64(v)
                .filter(|p| (0..=65535).contains(p))
                .ok_or(error::NOT_INT)?;
            if let Some(c) = ctx.client() {
                c.replconf.port = port as u16;
            }
        } else if a.is(j, "ack") {
            // Acks come from replicas and get no reply.
            if let Some(off) = num::parse_i64(v).filter(|&o| o >= 0) {
                let cid = ctx.cid;
                ctx.srv.repl_ack(cid, off as u64);
            }
            return Ok(());
        } else if a.is(j, "getack") {
            // The one command of the master that gets an answer.
            if ctx.client().is_some_and(|c| c.is_master) {
                let ack = ctx.srv.repl_ack_command();
                ctx.out.raw(&ack);
            }
            return Ok(());
        } else if a.is(j, "capa") {
            if v.eq_ignore_ascii_case(b"eof") {
                if let Some(c) = ctx.client() {
                    c.replconf.capa_eof = true;
                }
            }
        } else if a.is(j, "rdb-only") {
            let on = match num::parse_i64(v) {
                Some(n @ 0..=1) => n == 1,
                Some(_) => return Err(CmdError::new("ERR value is out of range, value must between 0 and 1")),
                None => return Err(error::NOT_INT),
            };
            if let Some(c) = ctx.client() {
                c.replconf.rdb_only = on;
            }
        } else if a.is(j, "rdb-filter-only") {
            let filter = RdbFilter::parse(v).map_err(CmdError::owned)?;
            if let Some(c) = ctx.client() {
                c.replconf.filter = filter;
            }
        } else if a.is(j, "ip-address") {
            // Redis compat: NET_HOST_STR_LEN.
            if v.len() >= 256 {
                return Err(CmdError::owned(format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    v.len()
                )));
            }
            if let Some(c) = ctx.client() {
                c.announced_ip = Some(String::from_utf8_lossy(v).into_owned());
            }
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(a.at(j))
            )));
        }
        j += 2;
    }
    ctx.out.ok();
    Ok(())
}

fn replicaof(ctx: &mut Ctx, a: &Args) -> CmdResult {
    // Redis compat: replication.c replicaofCommand: a cluster node follows the master
    // the cluster gives it.
    if ctx.srv.cluster.is_some() {
        return Err(CmdError::new("ERR REPLICAOF not allowed in cluster mode."));
    }
    if ctx.srv.failover.is_some() {
        return Err(CmdError::new("ERR REPLICAOF not allowed while failing over."));
    }
    if a.is(1, "no") && a.is(2, "one") {
        if ctx.srv.repl.master.is_some() {
            // CONFIG GET and CONFIG REWRITE show the current master.
            let _ = ctx.srv.cfg.set("replicaof", &[]);
            ctx.srv.repl_drop_master();
            tracing::info!("MASTER MODE enabled (user request from '{}')", caller_line(ctx));
        }
        ctx.out.ok();
        return Ok(());
    }
    let port = num::parse_i64(a.at(2))
        .filter(|p| (0..=65535).contains(p))
        .ok_or(CmdError::new("ERR Invalid master port"))? as u16;
    let host = a.str(1);
    if ctx
        .srv
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.host == host && m.port == port)
    {
        tracing::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
        ctx.out.simple("OK Already connected to specified master");
        return Ok(());
    }
    let _ = ctx.srv.cfg.set("replicaof", &[host.clone(), port.to_string()]);
    ctx.srv.repl_set_master(host.clone(), port, true);
    tracing::info!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        caller_line(ctx)
    );
    ctx.srv.sync_propagation();
    ctx.out.ok();
    Ok(())
}

fn role(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let srv = &*ctx.srv;
    match &srv.repl.master {
        Some(m) => {
            ctx.out.array(5);
            ctx.out.bulk(b"slave");
            ctx.out.bulk(m.host.as_bytes());
            ctx.out.int(m.port as i64);
            // Redis compat: replication.c roleCommand.
            use crate::server::repl::LinkState;
            ctx.out.bulk(match m.state {
                LinkState::Connect => b"connect".as_slice(),
                LinkState::Connecting => b"connecting",
                LinkState::Handshake => b"handshake",
                LinkState::Transfer => b"sync",
                LinkState::Connected => b"connected",
            });
            ctx.out.int(srv.repl.offset as i64);
        }
        None => {
            let reps: Vec<(String, u16, u64)> = srv
                .repl
                .replicas
                .iter()
                .filter_map(|&cid| srv.clients.get(cid))
                .filter(|c| {
                    c.replica
                        .as_ref()
                        .is_some_and(|r| r.state == crate::server::fullsync::SyncState::Online)
                })
                .map(|c| {
                    let r = c.replica.clone().unwrap_or_default();
                    let ip = c.replica_ip().to_string();
                    (ip, r.listening_port, r.ack_offset)
                })
                .collect();
            let off = srv.repl.offset;
            ctx.out.array(3);
            ctx.out.bulk(b"master");
            ctx.out.int(off as i64);
            // Redis compat: replication.c roleCommand writes a deferred length.
            ctx.out.mark_deferred();
            ctx.out.array(reps.len());
            for (ip, port, off) in reps {
                ctx.out.array(3);
                ctx.out.bulk(ip.as_bytes());
                ctx.out.bulk(port.to_string().as_bytes());
                ctx.out.bulk(off.to_string().as_bytes());
            }
        }
    }
    Ok(())
}

fn wait(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if ctx.srv.repl.master.is_some() {
        return Err(CmdError::new("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let want = num::parse_i64(a.at(1)).ok_or(error::NOT_INT)?.max(0) as usize;
    let ms = num::parse_i64(a.at(2)).ok_or(error::TIMEOUT_INVALID)?;
    if ms < 0 {
        return Err(error::TIMEOUT_NEG);
    }
    let target = ctx.srv.repl.offset;
    let n = ctx.srv.replicas_acked(target);
    if n >= want || !ctx.may_block() {
        ctx.out.int(n as i64);
        return Ok(());
    }
    let deadline = if ms == 0 { 0 } else { ctx.now_ms + ms };
    ctx.block(&[], deadline, TimeoutReply::Acks(target), "wait");
    ctx.srv.repl.waiters.push((ctx.cid, target, want));
    ctx.srv.repl.get_ack = true;
    Ok(())
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: see server::failover.
/// Redis compat: replication.c failoverCommand.
fn failover(ctx: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 2 && a.is(1, "abort") {
        if ctx.srv.failover.is_none() {
            return Err(CmdError::new("ERR No failover in progress."));
        }
        ctx.srv.failover_abort("Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let (mut timeout, mut force, mut target) = (0i64, false, None::<(String, i64)>);
    let mut j = 1;
    while j < a.len() {
        if a.is(j, "timeout") && j + 1 < a.len() && timeout == 0 {
            timeout = num::parse_i64(a.at(j + 1)).ok_or(error::NOT_INT)?;
            if timeout <= 0 {
                return Err(CmdError::new("ERR FAILOVER timeout must be greater than 0"));
            }
            j += 2;
        } else if a.is(j, "to") && j + 2 < a.len() && target.is_none() {
            let port = num::parse_i64(a.at(j + 2)).ok_or(error::NOT_INT)?;
            target = Some((a.str(j + 1).to_string(), port));
            j += 3;
        } else if a.is(j, "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
    }
    if ctx.srv.failover.is_some() {
        return Err(CmdError::new("ERR FAILOVER already in progress."));
    }
    if ctx.srv.repl.master.is_some() {
        return Err(CmdError::new("ERR FAILOVER is not valid when server is a replica."));
    }
    if ctx.srv.repl.replicas.is_empty() {
        return Err(CmdError::new("ERR FAILOVER requires connected replicas."));
    }
    if force && (timeout == 0 || target.is_none()) {
        return Err(CmdError::new(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    let target = match target {
        Some((host, port)) => {
            let cid = u16::try_from(port)
                .ok()
                .and_then(|p| ctx.srv.find_replica(&host, p))
                .ok_or(CmdError::new("ERR FAILOVER target HOST and PORT is not a replica."))?;
            let online = ctx
                .srv
                .clients
                .get(cid)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|r| r.state == crate::server::fullsync::SyncState::Online);
            if !online {
                return Err(CmdError::new("ERR FAILOVER target replica is not online."));
            }
            Some((host, port as u16))
        }
        None => None,
    };
    ctx.srv.failover_start(target, (timeout > 0).then_some(timeout), force);
    ctx.out.ok();
    Ok(())
}

const A: u64 = ACL_ADMIN | ACL_DANGEROUS;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("sync", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, A, sync).doc(G, "1.0.0", "", "An internal command used in replication."),
    cmd("psync", -3, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, A, psync).doc(G, "2.8.0", "", "An internal command used in replication."),
    cmd("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, A, replconf).doc(G, "3.0.0", "O(1)", "An internal command for configuring the replication stream."),
    cmd("replicaof", 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, A, replicaof).doc(G, "5.0.0", "O(1)", "Configures a server as replica of another, or promotes it to a master."),
    cmd("slaveof", 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, A, replicaof).doc(G, "1.0.0", "O(1)", "Sets a Redis server as a replica of another, or promotes it to being a master."),
    cmd("failover", -1, ADMIN | NOSCRIPT | STALE, A, failover).doc(G, "6.2.0", "O(1)", "Starts a coordinated failover from a server to one of its replicas."),
    cmd("role", 1, NOSCRIPT | LOADING | STALE | FAST, ACL_ADMIN | ACL_DANGEROUS, role).doc(G, "2.8.12", "O(1)", "Returns the replication role."),
    cmd("wait", 3, NOSCRIPT, ACL_CONNECTION, wait).doc("generic", "3.0.0", "O(1)", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.").tips(&["request_policy:all_shards", "response_policy:agg_min"]),
];
