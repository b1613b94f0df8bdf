//! maxmemory: before each command (and when the limit is lowered) keys are evicted by
//! the configured policy until used memory is back under the limit; DENYOOM commands
//! are refused while it cannot be. Redis compat: evict.c performEvictions.
use super::pubsub::NOTIFY_EVICTED;
use super::Server;
use crate::clock;
use crate::db::evict::{Lfu, Policy};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evicted {
    /// Under the limit (or no limit).
    Ok,
    /// Still over the limit, out of time for this round; more next time.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

/// How long one eviction round may run. Redis compat: evict.c evictionTimeLimitUs.
fn time_limit_us(tenacity: u64) -> u64 {
    if tenacity <= 10 {
        50 * tenacity
    } else if tenacity < 100 {
        (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64
    } else {
        u64::MAX
    }
}

impl Server {
    /// Keeps the dbs' access stamps in the mode the policy needs (LRU clock or LFU
    /// counter). Cheap when nothing changed.
    pub fn sync_access_mode(&mut self) {
        let want: Option<Lfu> = self.cfg.maxmemory_policy.is_lfu().then_some(self.cfg.lfu);
        if self.dbs.first().is_some_and(|d| d.lfu != want) {
            for d in &mut self.dbs {
                d.lfu = want;
            }
        }
    }

    /// The replication buffer's memory beyond the backlog's size (each replica's
    /// own buffers are small beside it): what replicas cost on top of the backlog.
    /// Redis compat: object.c getMemoryOverheadData (mh->clients_slaves).
    pub fn replica_output_bytes(&self) -> u64 {
        let mem = self.repl.buf.mem() as u64;
        let size = self.cfg.repl.backlog_size as u64;
        if !self.repl.replicas.is_empty() && mem > size {
            mem - size
        } else {
            0
        }
    }

    /// The backlog's share of the replication buffer (mem_replication_backlog).
    pub fn backlog_bytes(&self) -> u64 {
        self.repl.buf.mem() as u64 - self.replica_output_bytes()
    }

    /// Memory that maxmemory does not count: the replication buffer beyond the
    /// backlog size (whatever held it, even replicas gone but not yet trimmed) and
    /// the AOF buffer, which would otherwise grow with every eviction they propagate.
    /// Redis compat: evict.c freeMemoryGetNotCountedMemory.
    pub fn mem_not_counted_for_evict(&self) -> u64 {
        let size = self.cfg.repl.backlog_size as u64;
        let blocks = size / super::replbuf::MIN_BLOCK as u64 + 1;
        let counted = size + blocks * super::replbuf::BLOCK_OVERHEAD as u64;
        let mut n = (self.repl.buf.mem() as u64).saturating_sub(counted);
        if self.aof.state != super::aof::AofState::Off {
            n += self.aof.buf.capacity() as u64;
        }
        n
    }

    /// Evicts keys until used memory is under maxmemory. Redis compat: evict.c.
    pub fn perform_evictions(&mut self) -> Evicted {
        let max = self.cfg.maxmemory;
        if max == 0 {
            return Evicted::Ok;
        }
        // A replica is its master's copy: it evicts nothing unless told to (and so
        // refuses nothing for memory). A pause keeps the dataset (and the replication
        // stream) still: no evictions either. Redis compat: evict.c
        // isSafeToPerformEvictions.
        if (self.repl.master.is_some() && self.cfg.replica_ignore_maxmemory)
            || self.pause_check(clock::now_ms()).is_some()
        {
            return Evicted::Ok;
        }
        let used = crate::alloc::used_memory().saturating_sub(self.mem_not_counted_for_evict());
        if used <= max {
            return Evicted::Ok;
        }
        let policy = self.cfg.maxmemory_policy;
        if policy == Policy::NoEviction {
            return Evicted::Fail;
        }
        self.sync_access_mode();
        let to_free = used - max;
        let start = clock::mono_us();
        let limit = time_limit_us(self.cfg.eviction_tenacity);
        let mut freed = 0u64;
        let mut n = 0u64;
        // Redis compat: evict.c performEvictions' eviction-cycle and eviction-del
        // latency events.
        let cycle_done = |srv: &mut Server, st: Evicted| {
            srv.latency_sample("eviction-cycle", (clock::mono_us() - start) / 1000);
            st
        };
        while freed < to_free {
            let Some((db, key)) = self.pick_victim(policy) else {
                return cycle_done(self, Evicted::Fail);
            };
            let before = crate::alloc::used_memory();
            let del_start = clock::mono_us();
            let Some(o) = self.dbs.get_mut(db).and_then(|d| d.take(&key)) else {
                continue;
            };
            drop(o);
            self.latency_sample("eviction-del", (clock::mono_us() - del_start) / 1000);
            freed += before.saturating_sub(crate::alloc::used_memory());
            self.stats.evicted_keys += 1;
            self.dirty += 1;
            if self.prop.on {
                // Redis compat: evict.c performEvictions propagates each deletion alone.
                let cmd = super::propagate::deletion_cmd(self.cfg.lazyfree_lazy_eviction);
                self.feed_one(db, &[cmd.to_vec(), key.clone()], super::propagate::TO_ALL);
            }
            self.key_changed(db, &key, None);
            self.notify(None, NOTIFY_EVICTED, "evicted", &key, db);
            n += 1;
            if n % 16 == 0 && clock::mono_us() - start > limit {
                return cycle_done(self, Evicted::Running);
            }
        }
        cycle_done(self, Evicted::Ok)
    }

    /// The next key to evict: a random one, or the best of the pool after sampling
    /// every db.
    fn pick_victim(&mut self, policy: Policy) -> Option<(usize, Vec<u8>)> {
        let ndb = self.dbs.len();
        if policy.is_random() {
            for i in 0..ndb {
                let db = (self.evict_next_db + i) % ndb;
                let d = self.dbs.get(db)?;
                let o = if policy.volatile_only() {
                    d.random_expire(&mut self.rng)
                } else {
                    d.random_entry(&mut self.rng)
                };
                if let Some(o) = o {
                    self.evict_next_db = (db + 1) % ndb;
                    return Some((db, o.key().to_vec()));
                }
            }
            return None;
        }
        let now = clock::now_ms();
        let samples = self.cfg.maxmemory_samples;
        let lfu = self.cfg.lfu;
        loop {
            let mut pool = std::mem::take(&mut self.evict_pool);
            let mut any = false;
            for d in &self.dbs {
                let size = if policy.volatile_only() {
                    d.expires_len()
                } else {
                    d.len()
                };
                if size > 0 {
                    any = true;
                    d.sample_into(&mut pool, policy, lfu, samples, now, &mut self.rng);
                }
            }
            if !any {
                self.evict_pool = pool;
                return None;
            }
            // The best candidate still present wins; stale entries are dropped.
            while let Some(c) = pool.pop_best() {
                if self.dbs.get(c.db).is_some_and(|d| d.contains_raw(&c.key)) {
                    self.evict_pool = pool;
                    return Some((c.db, c.key));
                }
            }
            self.evict_pool = pool;
        }
    }
}
