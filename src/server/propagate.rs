//! Propagation: the writes of one execution unit (a command, an EXEC, a served blocked
//! command, an expiry or eviction) as commands, in the order they happened, handed to
//! the AOF. A unit that propagates more than one command is wrapped in MULTI/EXEC so a
//! reader replays it all or nothing. Nothing is built while no one consumes it.
//! Redis compat: server.c alsoPropagate, propagatePendingCommands, db.c propagateDeletion.
use super::Server;

#[derive(Default)]
pub struct Propagation {
    /// Whether writes are being propagated at all (the AOF is on and not loading).
    pub on: bool,
    /// Commands of the current unit.
    pub ops: Vec<Op>,
    /// Nesting of `call::execute` (EXEC runs its commands inside its own call).
    pub depth: u32,
    /// The top-level command may touch arbitrary keys: its unit is not wrapped.
    pub no_wrap: bool,
}

/// Where a propagated command goes (bits).
pub const TO_AOF: u8 = 1;
pub const TO_REPL: u8 = 2;
pub const TO_ALL: u8 = TO_AOF | TO_REPL;

/// One propagated command of the current unit.
pub struct Op {
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
    /// `TO_AOF`, `TO_REPL` or both.
    pub to: u8,
}

/// The command a deletion is logged as: UNLINK when that kind of deletion is lazy.
/// Redis compat: db.c propagateDeletion.
pub fn deletion_cmd(lazy: bool) -> &'static [u8] {
    if lazy {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

/// How a command that changed the dataset is propagated (set by the command).
#[derive(Default)]
pub enum PropagateAs {
    /// As the client sent it.
    #[default]
    Verbatim,
    /// As another command (e.g. EXPIRE as PEXPIREAT, SPOP as SREM).
    Replace(Vec<Vec<u8>>),
    /// Not at all (what it did was propagated otherwise, or nothing needs replaying).
    Nothing,
    /// As sent, even if the dataset did not change (FLUSHDB of an empty db).
    Forced,
    /// As sent, to replicas only, whether or not the dataset changed (PUBLISH).
    ReplOnly,
}

impl Server {
    /// Turns propagation on or off to match the AOF state; the dbs then record (or
    /// stop recording) the keys they expire.
    pub fn sync_propagation(&mut self) {
        let on = self.live_targets() != 0;
        if on == self.prop.on {
            return;
        }
        self.prop.on = on;
        for d in &mut self.dbs {
            d.expired_to_propagate = if on { Some(Vec::new()) } else { None };
        }
        if !on {
            self.prop.ops.clear();
        }
    }

    /// The targets that take propagated commands now: the AOF (on and not loading),
    /// replicas (or the backlog).
    fn live_targets(&self) -> u8 {
        let mut live = 0;
        if self.aof.accepts_writes() && !self.aof.loading {
            live |= TO_AOF;
        }
        if self.repl.feeding() {
            live |= TO_REPL;
        }
        live
    }

    /// Queues a command of the current unit.
    pub fn also_propagate(&mut self, db: usize, argv: Vec<Vec<u8>>) {
        self.propagate_to(db, argv, TO_ALL);
    }

    /// Queues a command of the current unit for some targets only; nothing is queued
    /// for a target that is off, so it does not count toward the MULTI/EXEC wrapping.
    /// Redis compat: server.c alsoPropagate, shouldPropagate.
    pub fn propagate_to(&mut self, db: usize, argv: Vec<Vec<u8>>, to: u8) {
        if self.prop.on && to & self.live_targets() != 0 {
            self.prop.ops.push(Op { db, argv, to });
        }
    }

    /// Queues the deletion of `key` (expired or evicted) as DEL, or UNLINK when that
    /// kind of deletion is lazy.
    pub fn propagate_deletion(&mut self, db: usize, key: Vec<u8>, lazy: bool) {
        self.also_propagate(db, vec![deletion_cmd(lazy).to_vec(), key]);
    }

    /// Queues a DEL for every key the dbs expired since the last call.
    pub fn propagate_expired(&mut self) {
        if !self.prop.on {
            return;
        }
        let lazy = self.cfg.lazyfree_lazy_expire;
        for db in 0..self.dbs.len() {
            let keys = match self.dbs.get_mut(db).and_then(|d| d.expired_to_propagate.as_mut()) {
                Some(v) if !v.is_empty() => std::mem::take(v),
                _ => continue,
            };
            for k in keys {
                self.propagate_deletion(db, k, lazy);
            }
        }
    }

    /// Ends a unit: its commands go to the AOF, wrapped in MULTI/EXEC when several.
    pub fn propagate_pending(&mut self) {
        if self.prop.ops.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.prop.ops);
        // Redis compat: server.c propagatePendingCommands, CMD_TOUCHES_ARBITRARY_KEYS.
        let wrap = ops.len() > 1 && !std::mem::take(&mut self.prop.no_wrap);
        let first_db = ops.first().map(|o| o.db).unwrap_or(0);
        if wrap {
            self.feed_one(first_db, &[b"MULTI".to_vec()], TO_ALL);
        }
        for op in &ops {
            self.feed_one(op.db, &op.argv, op.to);
        }
        if wrap {
            let last_db = ops.last().map(|o| o.db).unwrap_or(first_db);
            self.feed_one(last_db, &[b"EXEC".to_vec()], TO_ALL);
        }
    }

    /// Propagates expiries and evictions made outside any command (cron), each key on
    /// its own.
    pub fn propagate_background_deletions(&mut self) {
        if !self.prop.on {
            return;
        }
        self.propagate_expired();
        for op in std::mem::take(&mut self.prop.ops) {
            self.feed_one(op.db, &op.argv, op.to);
        }
    }

    /// One propagated command to the AOF and/or the replication stream.
    pub fn feed_one(&mut self, db: usize, argv: &[Vec<u8>], to: u8) {
        if to & TO_AOF != 0 {
            self.aof.feed(db, argv);
        }
        if to & TO_REPL != 0 {
            self.repl_feed(db, argv);
        }
    }
}
