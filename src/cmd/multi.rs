//! Transactions: MULTI queues commands (the dispatcher does the queueing, see
//! server::call), EXEC runs them back to back, DISCARD drops them; WATCH makes EXEC
//! fail when a watched key was written since. Blocking commands inside EXEC do not
//! block; clients blocked on keys the transaction fed are served after it ends.
//! Redis compat: multi.c.
use super::error::{CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::server::call;
use crate::server::Server;

const G: &str = "transactions";

/// Per-client transaction state.
#[derive(Default)]
pub struct MultiState {
    /// Commands queued since MULTI.
    pub queue: Vec<Vec<Vec<u8>>>,
    /// A queued command was rejected (EXEC answers EXECABORT).
    pub failed: bool,
}

impl Server {
    /// Marks every client watching `key` in `db` as having its transaction invalidated.
    #[inline]
    pub fn touch_watched(&mut self, db: usize, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(cids) = self.watched.get(&(db, key.to_vec())) {
            for &cid in cids {
                if let Some(c) = self.clients.get_mut(cid) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Invalidates every watcher of keys in `db` (all dbs when None) that exist there
    /// (FLUSHDB, FLUSHALL, SWAPDB).
    pub fn touch_watched_db(&mut self, db: Option<usize>) {
        let keys: Vec<(usize, Vec<u8>)> = self
            .watched
            .keys()
            .filter(|(d, _)| db.is_none_or(|x| x == *d))
            .cloned()
            .collect();
        for (d, k) in keys {
            self.touch_watched(d, &k);
        }
    }

    /// Forgets every key a client watches.
    pub fn unwatch_all(&mut self, cid: usize) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        c.dirty_cas = false;
        for k in std::mem::take(&mut c.watched) {
            if let Some(v) = self.watched.get_mut(&k) {
                v.retain(|&x| x != cid);
                if v.is_empty() {
                    self.watched.remove(&k);
                }
            }
        }
    }
}

fn multi(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let Some(c) = ctx.client() else { return Ok(()) };
    if c.multi.is_some() {
        return Err(CmdError::new("ERR MULTI calls can not be nested"));
    }
    c.multi = Some(Box::default());
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let Some(c) = ctx.client() else { return Ok(()) };
    if c.multi.take().is_none() {
        return Err(CmdError::new("ERR DISCARD without MULTI"));
    }
    let cid = ctx.cid;
    ctx.srv.unwatch_all(cid);
    ctx.out.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let cid = ctx.cid;
    let Some(c) = ctx.client() else { return Ok(()) };
    let Some(state) = c.multi.take() else {
        return Err(CmdError::new("ERR EXEC without MULTI"));
    };
    let dirty = c.dirty_cas;
    ctx.srv.unwatch_all(cid);
    if state.failed {
        return Err(CmdError::new(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if dirty {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(state.queue.len());
    let was = std::mem::replace(&mut ctx.srv.in_exec, true);
    for argv in &state.queue {
        let v: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        call::execute(ctx.srv, cid, &v, ctx.out);
    }
    ctx.srv.in_exec = was;
    Ok(())
}

fn watch(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let cid = ctx.cid;
    let db = ctx.db;
    if ctx.client().is_some_and(|c| c.multi.is_some()) {
        return Err(CmdError::new("ERR WATCH inside MULTI is not allowed"));
    }
    for k in a.rest(1) {
        let key = (db, k.to_vec());
        let Some(c) = ctx.srv.clients.get_mut(cid) else { break };
        if c.watched.contains(&key) {
            continue;
        }
        c.watched.push(key.clone());
        ctx.srv.watched.entry(key).or_default().push(cid);
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    let cid = ctx.cid;
    ctx.srv.unwatch_all(cid);
    ctx.out.ok();
    Ok(())
}

const F: u64 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("multi", 1, F, ACL_TRANSACTION, multi).doc(G, "1.2.0", "O(1)", "Starts a transaction."),
    cmd(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        ACL_TRANSACTION,
        exec,
    )
    .doc(
        G,
        "1.2.0",
        "Depends on commands in the transaction",
        "Executes all commands in a transaction.",
    ),
    cmd("discard", 1, F, ACL_TRANSACTION, discard).doc(
        G,
        "2.0.0",
        "O(N), when N is the number of queued commands",
        "Discards a transaction.",
    ),
    cmd("watch", -2, F, ACL_TRANSACTION, watch).keys(1, -1, 1, KS_RO).doc(
        G,
        "2.2.0",
        "O(1) for every key.",
        "Monitors changes to keys to determine the execution of a transaction.",
    ),
    cmd("unwatch", 1, F, ACL_TRANSACTION, unwatch).doc(
        G,
        "2.2.0",
        "O(1)",
        "Forgets about watched keys of a transaction.",
    ),
];
