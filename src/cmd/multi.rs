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
    /// A queued command may grow memory (EXEC is refused when out of memory).
    pub denyoom: bool,
    /// A queued command writes (EXEC is refused without enough good replicas).
    pub write: bool,
    /// A queued command may not run on a stale replica.
    pub no_stale: bool,
    /// A queued command may write or replicate (EXEC waits out CLIENT PAUSE WRITE).
    pub may_replicate: bool,
}

impl Server {
    /// A write to `key` in `db`: watchers' next EXEC fails. A key that was already
    /// expired when watched and is now deleted counts as unchanged. Redis compat:
    /// multi.c touchWatchedKey.
    #[inline]
    pub fn touch_watched(&mut self, db: usize, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        let Some(list) = self.watched.get_mut(&(db, key.to_vec())) else {
            return;
        };
        let gone = self.dbs.get(db).is_none_or(|d| !d.contains_raw(key));
        let mut dirty = Vec::new();
        for w in list.iter_mut() {
            if w.expired && gone {
                w.expired = false;
                continue;
            }
            dirty.push(w.cid);
        }
        for cid in dirty {
            if let Some(c) = self.clients.get_mut(cid) {
                c.dirty_cas = true;
            }
        }
    }

    /// FLUSHDB/FLUSHALL empty `emptied`; SWAPDB also puts `replaced_with`'s keys in its
    /// place. Called before the change: watchers of keys that exist (and are not just
    /// stale ones that stay stale or go away) get their EXEC failed. Redis compat:
    /// multi.c touchAllWatchedKeysInDb.
    pub fn touch_watched_db(&mut self, emptied: usize, replaced_with: Option<usize>) {
        if self.watched.is_empty() {
            return;
        }
        let now = crate::clock::now_ms();
        let keys: Vec<Vec<u8>> = self
            .watched
            .keys()
            .filter(|(d, _)| *d == emptied)
            .map(|(_, k)| k.clone())
            .collect();
        let mut dirty = Vec::new();
        for key in keys {
            let in_emptied = self.dbs.get(emptied).is_some_and(|d| d.contains_raw(&key));
            let other = replaced_with.and_then(|r| self.dbs.get(r));
            let in_other = other.is_some_and(|d| d.contains_raw(&key));
            if !in_emptied && !in_other {
                continue;
            }
            let other_stale = other.is_some_and(|d| d.is_expired(&key, now));
            let Some(list) = self.watched.get_mut(&(emptied, key)) else {
                continue;
            };
            for w in list.iter_mut() {
                if w.expired {
                    if !in_other {
                        // A stale key now deleted: no logical change.
                        w.expired = false;
                        continue;
                    }
                    if other_stale {
                        continue;
                    }
                } else if !in_emptied && other_stale {
                    // A missing key replaced by a stale one is still missing.
                    w.expired = true;
                    continue;
                }
                dirty.push(w.cid);
            }
        }
        for cid in dirty {
            if let Some(c) = self.clients.get_mut(cid) {
                c.dirty_cas = true;
            }
        }
    }

    /// Whether a key the client watched (live at the time) has expired since. Redis
    /// compat: multi.c isWatchedKeyExpired.
    fn watched_key_expired(&self, cid: usize) -> bool {
        let now = crate::clock::now_ms();
        let Some(c) = self.clients.get(cid) else {
            return false;
        };
        c.watched.iter().any(|k| {
            let was_stale = self
                .watched
                .get(k)
                .and_then(|l| l.iter().find(|w| w.cid == cid))
                .is_some_and(|w| w.expired);
            !was_stale && self.dbs.get(k.0).is_some_and(|d| d.is_expired(&k.1, now))
        })
    }

    /// Forgets every key a client watches.
    pub fn unwatch_all(&mut self, cid: usize) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        c.dirty_cas = false;
        for k in std::mem::take(&mut c.watched) {
            if let Some(v) = self.watched.get_mut(&k) {
                v.retain(|w| w.cid != cid);
                if v.is_empty() {
                    self.watched.remove(&k);
                }
            }
        }
    }
}

/// One client's watch of one key.
pub struct Watcher {
    pub cid: usize,
    /// The key was already expired (but not deleted) when watched.
    pub expired: bool,
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
    let dirty = c.dirty_cas || ctx.srv.watched_key_expired(cid);
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
        let now = ctx.now_ms;
        let expired = ctx.srv.dbs.get(db).is_some_and(|d| d.is_expired(k, now));
        ctx.srv.watched.entry(key).or_default().push(Watcher { cid, expired });
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
