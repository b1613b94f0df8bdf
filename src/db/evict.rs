//! Approximated LRU/LFU like Redis's: the 32-bit stamp of each entry holds either the
//! LRU clock (seconds) or, under an LFU policy, a decaying logarithmic access counter
//! (low 8 bits) and the minute it was last decremented (16 bits above). Eviction keeps
//! a small pool of the best candidates seen across samples. Redis compat: evict.c.
use std::cell::Cell;

use super::{idle_ms, lru_clock, Db, Obj};

/// Redis compat: server.h LFU_INIT_VAL, the counter of a new key.
pub const LFU_INIT_VAL: u32 = 5;
/// Redis compat: evict.c EVPOOL_SIZE.
pub const POOL_SIZE: usize = 16;

/// LFU parameters (lfu-log-factor, lfu-decay-time in minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lfu {
    pub log_factor: u32,
    pub decay_time: u32,
}

fn minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xffff
}

/// A cheap per-thread random number in [0, 1) for the counter's coin flips.
fn coin() -> f64 {
    thread_local!(static S: Cell<u64> = const { Cell::new(0x9e37_79b9_7f4a_7c15) });
    S.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

impl Lfu {
    /// The stamp of a newly created key.
    pub fn new_stamp(now_ms: i64) -> u32 {
        (minutes(now_ms) << 8) | LFU_INIT_VAL
    }

    /// The counter after decay: one step per `decay_time` minutes since the last
    /// decrement. Redis compat: evict.c LFUDecrAndReturn.
    pub fn decayed(self, stamp: u32, now_ms: i64) -> u32 {
        let ldt = stamp >> 8;
        let counter = stamp & 0xff;
        let now = minutes(now_ms);
        let elapsed = if now >= ldt { now - ldt } else { 65535 - ldt + now };
        let periods = elapsed.checked_div(self.decay_time).unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// The stamp after an access: decay, then a logarithmic increment (less likely the
    /// higher the counter). Redis compat: evict.c updateLFU / LFULogIncr.
    pub fn touch(self, stamp: u32, now_ms: i64) -> u32 {
        let mut counter = self.decayed(stamp, now_ms);
        if counter < 255 {
            let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
            let p = 1.0 / (base * self.log_factor as f64 + 1.0);
            if coin() < p {
                counter += 1;
            }
        }
        (minutes(now_ms) << 8) | counter
    }
}

/// Which keys eviction may pick and how it ranks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllLru,
    VolatileLru,
    AllLfu,
    VolatileLfu,
    AllRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    pub fn parse(s: &str) -> Policy {
        match s {
            "allkeys-lru" => Policy::AllLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllLfu | Policy::VolatileLfu)
    }

    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl
        )
    }

    pub fn is_random(self) -> bool {
        matches!(self, Policy::AllRandom | Policy::VolatileRandom)
    }
}

/// A candidate: higher `score` is evicted first.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub score: u64,
    pub db: usize,
    pub key: Vec<u8>,
}

/// The best candidates seen so far, sorted by ascending score (the last is evicted
/// next). Redis compat: evict.c evictionPoolPopulate.
#[derive(Default)]
pub struct Pool {
    pub items: Vec<Candidate>,
}

impl Pool {
    /// Whether a candidate of `score` would enter the pool (unless there already).
    pub fn takes(&self, score: u64) -> bool {
        self.items.len() < POOL_SIZE || self.items.first().is_some_and(|f| score > f.score)
    }

    pub fn offer(&mut self, c: Candidate) {
        if !self.takes(c.score) || self.items.iter().any(|x| x.db == c.db && x.key == c.key) {
            return;
        }
        let pos = self.items.partition_point(|x| x.score < c.score);
        self.items.insert(pos, c);
        if self.items.len() > POOL_SIZE {
            self.items.remove(0);
        }
    }

    pub fn pop_best(&mut self) -> Option<Candidate> {
        self.items.pop()
    }
}

impl Db {
    /// Samples `n` keys (all keys, or only those with a TTL) into `pool`, ranked for
    /// `policy`.
    pub fn sample_into<R: rand::Rng>(
        &self,
        pool: &mut Pool,
        policy: Policy,
        lfu: Lfu,
        n: usize,
        now_ms: i64,
        rng: &mut R,
    ) {
        for o in self.sample_entries(rng, n, policy.volatile_only()) {
            let score = match policy {
                Policy::VolatileTtl => u64::MAX - o.expire_at().unwrap_or(0).max(0) as u64,
                p if p.is_lfu() => 255 - lfu.decayed(o.lru(), now_ms) as u64,
                _ => idle_ms(o.lru(), now_ms),
            };
            // Redis compat: evict.c evictionPoolPopulate reads the sampled entry's
            // stamp; the key is copied only for a candidate the pool takes.
            if pool.takes(score) {
                pool.offer(Candidate {
                    score,
                    db: self.id,
                    key: o.key().to_vec(),
                });
            }
        }
    }

    /// `n` random entries (with a TTL, when `volatile`), each loaded ahead of being
    /// read (see `DashTable::random_many`): their cache misses overlap instead of
    /// adding up.
    fn sample_entries<R: rand::Rng>(&self, rng: &mut R, n: usize, volatile: bool) -> Vec<&Obj> {
        let mut out = Vec::with_capacity(n);
        if volatile {
            let mut ix = Vec::with_capacity(n);
            self.expires.random_many(rng, n, &mut ix);
            for e in &ix {
                self.keys.prefetch_bucket(e.hash());
            }
            for e in &ix {
                self.keys.prefetch_entries(e.hash());
            }
            out.extend(ix.iter().filter_map(|e| self.ttl_entry(e.hash())));
        } else {
            self.keys.random_many(rng, n, &mut out);
        }
        for o in &out {
            o.prefetch();
        }
        out
    }
}

/// The LRU stamp of a key created or accessed now, under `lfu` (None: LRU).
pub fn fresh_stamp(lfu: Option<Lfu>, now_ms: i64) -> u32 {
    match lfu {
        Some(_) => Lfu::new_stamp(now_ms),
        None => lru_clock(now_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let l = Lfu {
            log_factor: 10,
            decay_time: 1,
        };
        let now = 1_000_000_000;
        let mut s = Lfu::new_stamp(now);
        for _ in 0..1000 {
            s = l.touch(s, now);
        }
        let c = s & 0xff;
        assert!(c > 10 && c < 60, "{c}");
        // Three minutes later with a one-minute decay: three steps down.
        assert_eq!(l.decayed(s, now + 180_000), c - 3);
    }

    #[test]
    fn pool_keeps_the_best() {
        let mut p = Pool::default();
        for i in 0..40u64 {
            p.offer(Candidate {
                score: (i * 7919) % 101,
                db: 0,
                key: vec![i as u8],
            });
        }
        assert_eq!(p.items.len(), POOL_SIZE);
        assert_eq!(p.pop_best().map(|c| c.score), Some(100));
    }
}
