//! Db: one logical database: the key table, the index of keys with a TTL, lazy expiry
//! on every lookup and LRU touch. An entry holds its own expire time (one probe reads
//! both); the index holds only the keyspace hash of each key with one, for the active
//! expire cycle, volatile eviction and counting. Invariant: the index holds hash `h`
//! as many times as the key table has entries with a TTL whose key hashes to `h`; an
//! expired key is never returned by a lookup.
pub mod defrag;
pub mod evict;
pub mod expire;
pub mod hash;
pub mod lazyfree;
pub mod obj;
pub mod set;
pub mod snap;
pub mod stream;
pub mod value;
pub mod zset;

use rand::Rng;
use std::collections::HashMap;

use crate::ds::dash::{DashKey, DashTable};
use crate::resp::parse::Ahead;
use hash::HashRef;
pub use obj::{Enc, Obj};
use set::SetRef;
pub use value::{Limits, Value, ValueRef};

/// A db's tables after a flush, freed when this is dropped (here or on the background
/// thread): the entries in table order, each entry's block and value loaded a few
/// entries ahead (a plain drop waits on every one in turn), then the TTL index.
pub struct Flushed(DashTable<Obj>, DashTable<ExpireEntry>);

impl Drop for Flushed {
    fn drop(&mut self) {
        obj::loaded_ahead(std::mem::take(&mut self.0).into_entries()).for_each(drop);
        drop(std::mem::take(&mut self.1));
    }
}

/// An entry of the TTL index: the keyspace hash of a key with a TTL, as its own key
/// (little endian). Hashes of keys that collide in all 64 bits are held once per key.
pub struct ExpireEntry([u8; 8]);

impl ExpireEntry {
    fn new(h: u64) -> Self {
        ExpireEntry(h.to_le_bytes())
    }

    /// The keyspace hash of the key(s) this entry stands for.
    pub fn hash(&self) -> u64 {
        u64::from_le_bytes(self.0)
    }
}

impl DashKey for ExpireEntry {
    #[inline]
    fn key(&self) -> &[u8] {
        &self.0
    }

    #[inline]
    fn stored_hash(&self) -> Option<u64> {
        Some(self.hash())
    }
}

/// Redis compat: the LRU clock is in seconds, 24 bits wide (server.h LRU_CLOCK_MAX).
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

#[inline]
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Idle milliseconds of an entry whose LRU stamp is `lru`.
pub fn idle_ms(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    let secs = if clock >= lru {
        clock - lru
    } else {
        (LRU_CLOCK_MAX - lru) + clock
    };
    secs as u64 * 1000
}

/// What `Db::events` records.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DbEvent {
    Expired,
    New,
}

/// How many requests of a pipelined batch [`Db::prefetch_keys`] loads ahead.
pub const PREFETCH_BATCH: usize = 16;

/// The table of a big hash or set, for [`Db::prefetch_keys`].
#[derive(Clone, Copy)]
enum Inner<'a> {
    Hash(&'a crate::ds::dict::Dict<hash::Pair>),
    Set(&'a crate::ds::dict::Dict<set::Member>),
}

#[derive(Default)]
pub struct Db {
    pub id: usize,
    keys: DashTable<Obj>,
    /// The TTL index (see the module comment); placed by the keyspace hash.
    expires: DashTable<ExpireEntry>,
    /// Keys removed because their TTL passed (lazily or actively), for INFO.
    pub expired_count: u64,
    /// Cursor of the active expire cycle over `expires`.
    pub expire_cursor: u64,
    /// Average TTL estimate of sampled keys (ms), for INFO keyspace.
    pub avg_ttl: i64,
    /// Keys expired or created since the server last drained this (keyspace events,
    /// WATCH), recorded only while `collect_expired` / `collect_new` ask for them.
    pub events: Vec<(DbEvent, Vec<u8>)>,
    pub collect_expired: bool,
    pub collect_new: bool,
    /// Keys deleted by expiry since the server last took them, recorded while writes
    /// are propagated (the AOF gets a DEL for each, before the command that found them).
    pub expired_to_propagate: Option<Vec<Vec<u8>>>,
    /// Under an LFU maxmemory policy, accesses bump a counter instead of the LRU clock.
    pub lfu: Option<evict::Lfu>,
    /// When false, lookups never delete expired keys (DEBUG SET-ACTIVE-EXPIRE keeps
    /// lazy expiry on; this is for loading and replicas).
    pub lazy_expire: bool,
    /// During CLIENT PAUSE expired keys read as gone but stay (Redis compat: db.c
    /// expireIfNeeded with clients paused).
    pub keep_expired: bool,
    /// A running point-in-time snapshot (see `snap`): every change checks it first.
    snap: Option<Box<snap::DbSnap>>,
    /// Cluster mode: the keys of each hash slot (see `SlotIndex`), while in use.
    slot_index: Option<Box<SlotIndex>>,
}

/// A hasher that passes through a hash already computed (the keyspace's own).
#[derive(Default, Clone, Copy)]
pub struct PassHasher(u64);

impl std::hash::Hasher for PassHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type PassBuild = std::hash::BuildHasherDefault<PassHasher>;

/// The keys of every hash slot, as the keyspace hashes of the keys (a count per
/// hash, as two keys may share one): 37 bytes a key measured on a million keys,
/// but only while it exists (Redis spends 16 a key on its per-slot key lists all
/// the time). Built by one pass over
/// the keyspace when first asked for
/// (CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT, a slot changing owner), then kept up to
/// date by every insert and removal until dropped (unused for a while).
pub struct SlotIndex {
    slots: Vec<HashMap<u64, u32, PassBuild>>,
    counts: Vec<u32>,
    pub used_ms: i64,
}

impl SlotIndex {
    fn note(&mut self, h: u64, key: &[u8], add: bool) {
        let slot = crate::util::slot::key_slot(key) as usize;
        let (Some(m), Some(c)) = (self.slots.get_mut(slot), self.counts.get_mut(slot)) else {
            return;
        };
        if add {
            *m.entry(h).or_insert(0) += 1;
            *c += 1;
        } else if let Some(n) = m.get_mut(&h) {
            *n -= 1;
            if *n == 0 {
                m.remove(&h);
            }
            *c = c.saturating_sub(1);
        }
    }
}

impl Db {
    pub fn new(id: usize) -> Self {
        Db {
            id,
            keys: DashTable::with_hasher(ahash::RandomState::new()),
            expires: DashTable::new(),
            lazy_expire: true,
            ..Default::default()
        }
    }

    /// The memory of the key table and of the TTL index themselves (MEMORY STATS's
    /// `overhead.hashtable.main` and `.expires`).
    pub fn table_bytes(&self) -> (usize, usize) {
        (self.keys.table_bytes(), self.expires.table_bytes())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Notes in the TTL index that a key of hash `h` got a TTL.
    fn index_ttl(&mut self, h: u64) {
        self.expires.insert_new(h, ExpireEntry::new(h));
    }

    /// Notes in the TTL index that a key of hash `h` lost its TTL (or is gone).
    fn unindex_ttl(&mut self, h: u64) {
        self.expires.remove_hashed(h, &h.to_le_bytes());
    }

    /// Calls `f` on each entry with a TTL of a key hashing to `h` (an index entry).
    pub(crate) fn for_each_ttl_of(&self, h: u64, mut f: impl FnMut(&Obj, i64)) {
        self.keys.for_each_hashed(h, |o| {
            if let Some(at) = o.expire_at() {
                f(o, at)
            }
        });
    }

    #[inline]
    fn slot_note(&mut self, h: u64, key: &[u8], add: bool) {
        if let Some(ix) = self.slot_index.as_mut() {
            ix.note(h, key, add);
        }
    }

    /// The slot index, built now if needed.
    fn slot_index(&mut self, now_ms: i64) -> &mut SlotIndex {
        let keys = &self.keys;
        let ix = self.slot_index.get_or_insert_with(|| {
            let mut ix = Box::new(SlotIndex {
                slots: (0..crate::util::slot::SLOTS).map(|_| HashMap::default()).collect(),
                counts: vec![0; crate::util::slot::SLOTS],
                used_ms: now_ms,
            });
            for o in keys.iter() {
                ix.note(keys.hash(o.key()), o.key(), true);
            }
            ix
        });
        ix.used_ms = now_ms;
        ix
    }

    /// How many keys hash to `slot` (expired ones not yet removed included, as in
    /// Redis). Redis compat: cluster.c countKeysInSlot.
    pub fn keys_in_slot_count(&mut self, slot: u16, now_ms: i64) -> usize {
        self.slot_index(now_ms).counts.get(slot as usize).copied().unwrap_or(0) as usize
    }

    /// Up to `max` keys that hash to `slot`.
    pub fn keys_in_slot(&mut self, slot: u16, max: usize, now_ms: i64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.slot_index(now_ms);
        let Some(ix) = self.slot_index.as_ref() else { return out };
        let Some(m) = ix.slots.get(slot as usize) else {
            return out;
        };
        for &h in m.keys() {
            if out.len() >= max {
                break;
            }
            self.keys.for_each_hashed(h, |o| {
                if out.len() < max && crate::util::slot::key_slot(o.key()) == slot {
                    out.push(o.key().to_vec());
                }
            });
        }
        out
    }

    /// Drops the slot index if unused since `before_ms`.
    pub fn drop_idle_slot_index(&mut self, before_ms: i64) {
        if self.slot_index.as_ref().is_some_and(|ix| ix.used_ms < before_ms) {
            self.slot_index = None;
        }
    }

    /// Deletes `key` if its TTL has passed; true when it was deleted (or is absent).
    fn expire_if_needed(&mut self, h: u64, key: &[u8], now_ms: i64) -> bool {
        let Some(o) = self.keys.get_hashed(h, key) else {
            return true;
        };
        if !self.lazy_expire {
            return false;
        }
        match o.expire_at() {
            Some(at) if at <= now_ms && self.keep_expired => true,
            Some(at) if at <= now_ms => {
                self.drop_expired(h, key);
                true
            }
            _ => false,
        }
    }

    /// Deletes `key` (hash `h`), whose TTL passed.
    fn drop_expired(&mut self, h: u64, key: &[u8]) {
        self.delete_hashed(h, key, drop);
        self.note_expired(key);
    }

    fn note_expired(&mut self, key: &[u8]) {
        self.expired_count += 1;
        if self.collect_expired {
            self.events.push((DbEvent::Expired, key.to_vec()));
        }
        if let Some(v) = self.expired_to_propagate.as_mut() {
            v.push(key.to_vec());
        }
    }

    /// Looks a key up for reading; touches its LRU stamp.
    #[inline]
    pub fn get(&mut self, key: &[u8], now_ms: i64) -> Option<&Obj> {
        self.lookup(key, now_ms, false).map(|o| &*o)
    }

    /// Looks a key up without touching LRU (OBJECT, TYPE-less introspection).
    pub fn peek(&mut self, key: &[u8], now_ms: i64) -> Option<&Obj> {
        let h = self.keys.hash(key);
        if self.expire_if_needed(h, key, now_ms) {
            return None;
        }
        self.keys.get_hashed(h, key)
    }

    /// `peek` for a caller holding other entries of this db: a key past its TTL reads
    /// as missing but stays (a `peek` or lookup of it before has deleted it if it may).
    pub fn peek_ref(&self, key: &[u8], now_ms: i64) -> Option<&Obj> {
        let o = self.keys.get_hashed(self.keys.hash(key), key)?;
        match o.expire_at() {
            Some(at) if self.lazy_expire && at <= now_ms => None,
            _ => Some(o),
        }
    }

    /// Starts loading what the requests of a pipelined batch (`reqs`, byte ranges
    /// of `buf`) will touch: the table buckets of all their keys first, then the
    /// entries those point at; then, where a key holds a hash or a set in a table,
    /// the chain of the field or member that follows the key, a step at a time.
    /// On tables bigger than the cache each lookup costs two or three cache misses;
    /// issued together for a batch they overlap instead of adding up.
    pub fn prefetch_keys(&self, buf: &[u8], reqs: &[Ahead]) {
        let n = reqs.len().min(PREFETCH_BATCH);
        let reqs = reqs.get(..n).unwrap_or_default();
        let bytes = |(s, e): (usize, usize)| buf.get(s..e).unwrap_or_default();
        let mut hs = [0u64; PREFETCH_BATCH];
        for (h, r) in hs.iter_mut().zip(reqs) {
            *h = self.keys.hash(bytes(r.key));
            self.keys.prefetch_bucket(*h);
        }
        for &h in hs.iter().take(n) {
            self.keys.prefetch_entries(h);
        }
        let mut inner: [Option<(Inner, u64)>; PREFETCH_BATCH] = [None; PREFETCH_BATCH];
        for ((slot, r), &h) in inner.iter_mut().zip(reqs).zip(&hs) {
            let Some(arg) = r.arg else { continue };
            let dict = match self.keys.get_hashed(h, bytes(r.key)).map(|o| o.value()) {
                Some(ValueRef::Hash(HashRef::Dict(d))) => Inner::Hash(d),
                Some(ValueRef::Set(SetRef::Dict(d))) => Inner::Set(d),
                _ => continue,
            };
            *slot = Some((dict, crate::ds::dict::hash_bytes(bytes(arg))));
        }
        for step in 0..3 {
            for (d, h) in inner.iter().flatten() {
                match d {
                    Inner::Hash(d) => d.prefetch_step(step, *h),
                    Inner::Set(d) => d.prefetch_step(step, *h),
                }
            }
        }
    }

    /// Moves the incremental resize of the hash or set at `key` along, as a random
    /// read does in Redis (Redis compat: dict.c dictGetFairRandomKey ->
    /// dictGetSomeKeys steps the rehash min(GETFAIR_NUM_ENTRIES, size) times). The
    /// content does not change.
    pub fn rehash_value(&mut self, key: &[u8]) {
        const STEPS: usize = 15;
        self.rehash_value_by(key, STEPS, true);
    }

    /// Moves the incremental resize of the hash, set or sorted set at `key` along by
    /// one step per look-up a read made, as Redis's dictFind does. The content does not
    /// change.
    pub fn rehash_after_lookups(&mut self, key: &[u8], lookups: usize) {
        self.rehash_value_by(key, lookups, false);
    }

    /// `steps` resize steps (at most the size, when `capped`) of the table of the value
    /// at `key`.
    fn rehash_value_by(&mut self, key: &[u8], steps: usize, capped: bool) {
        let h = self.keys.hash(key);
        // A value being saved in steps holds its elements where they are (see `snap`).
        self.snap_guard_elems(h, key);
        let n = |len: usize| if capped { steps.min(len) } else { steps };
        match self.keys.get_mut_hashed(h, key).and_then(|o| o.heap_mut()) {
            Some(Value::Set(d)) => d.rehash_steps(n(d.len())),
            Some(Value::Hash(d)) => d.rehash_steps(n(d.len())),
            Some(Value::ZSet(z)) => z.rehash_steps(n(z.len())),
            _ => {}
        }
    }

    /// Looks a key up for writing; touches its LRU stamp. One table probe.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Obj> {
        self.lookup(key, now_ms, true)
    }

    #[inline]
    fn lookup(&mut self, key: &[u8], now_ms: i64, write: bool) -> Option<&mut Obj> {
        let h = self.keys.hash(key);
        if write {
            self.snap_guard_elems(h, key);
        } else {
            self.snap_guard_read(h, key);
        }
        let pos = self.keys.find(h, key)?;
        let at = self.keys.at(pos)?.expire_at();
        if self.lazy_expire && at.is_some_and(|at| at <= now_ms) {
            if self.keep_expired {
                return None;
            }
            self.drop_expired(h, key);
            return None;
        }
        let o = self.keys.at_mut(pos)?;
        let stamp = match self.lfu {
            None => lru_clock(now_ms),
            Some(l) => l.touch(o.lru(), now_ms),
        };
        o.set_lru(stamp);
        Some(o)
    }

    /// Whether `key` is in the table, expired or not (no lazy expiry).
    pub fn contains_raw(&self, key: &[u8]) -> bool {
        let h = self.keys.hash(key);
        self.keys.get_hashed(h, key).is_some()
    }

    pub fn exists(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.peek(key, now_ms).is_some()
    }

    /// Stores `o` under its key, replacing any previous value. `o` keeps the TTL it
    /// carries (a renamed or moved entry); else the old value's TTL is dropped unless
    /// `keep_ttl` (an already expired old value keeps none). Returns whether a live
    /// key was replaced. One table probe.
    pub fn set(&mut self, mut o: Obj, keep_ttl: bool, now_ms: i64) -> bool {
        let h = self.keys.hash(o.key());
        self.snap_guard_adopt(h, o.key());
        o.set_lru(evict::fresh_stamp(self.lfu, now_ms));
        let Some(pos) = self.keys.find(h, o.key()) else {
            self.insert_absent(h, o);
            return false;
        };
        let Some(old) = self.keys.at(pos) else {
            return false;
        };
        // Redis compat: db.c dbSetValue keeps the access counter of an overwritten key
        // under LFU.
        if self.lfu.is_some() {
            o.set_lru(old.lru());
        }
        let old_at = old.expire_at();
        let live = old_at.is_none_or(|at| at > now_ms || !self.lazy_expire);
        if !o.has_expire() && keep_ttl && live {
            o.set_expire_at(old_at);
        }
        match (old_at.is_some(), o.has_expire()) {
            (true, false) => self.unindex_ttl(h),
            (false, true) => self.index_ttl(h),
            _ => {}
        }
        if !live {
            self.note_expired(o.key());
        }
        if let Some(slot) = self.keys.at_mut(pos) {
            let old = std::mem::replace(slot, o);
            drop(self.snap_adopt(old));
        }
        live
    }

    /// Loading: starts fetching the table segment of `key` into the cache (while its
    /// value is read), and the TTL index's for a key with a TTL, and returns the key's
    /// hash for `load_prefetch` and `load_add`.
    pub fn load_hash(&self, key: &[u8], ttl: bool) -> u64 {
        let h = self.keys.hash(key);
        self.keys.prefetch_segment(h);
        if ttl {
            self.expires.prefetch_segment(h);
        }
        h
    }

    /// Loading: starts fetching the table bucket of hash `h` (its segment fetched by
    /// `load_hash`), and the TTL index's for a key with a TTL, to be added once the
    /// next entry was read.
    pub fn load_prefetch(&self, h: u64, ttl: bool) {
        self.keys.prefetch_bucket(h);
        if ttl {
            self.expires.prefetch_bucket(h);
        }
    }

    /// Loading: adds `o` (its key's hash `h`) with its saved LRU stamp (else a fresh
    /// one) and TTL, in one probe of each table. Gives `o` back when its key is there
    /// already.
    pub fn load_add(
        &mut self,
        h: u64,
        mut o: Obj,
        lru: Option<u32>,
        expire_at: Option<i64>,
        now_ms: i64,
    ) -> Result<(), Obj> {
        self.snap_guard_adopt(h, o.key());
        if self.keys.find(h, o.key()).is_some() {
            return Err(o);
        }
        o.set_lru(lru.unwrap_or_else(|| evict::fresh_stamp(self.lfu, now_ms)));
        o.set_expire_at(expire_at);
        self.insert_absent(h, o);
        Ok(())
    }

    /// Puts `o` (hash `h`) into the key table, its key known to be absent, noting the
    /// new key for its observers (and its TTL in the index).
    fn insert_absent(&mut self, h: u64, o: Obj) {
        if o.has_expire() {
            self.index_ttl(h);
        }
        if self.collect_new {
            self.events.push((DbEvent::New, o.key().to_vec()));
        }
        if let Some(ix) = self.slot_index.as_mut() {
            ix.note(h, o.key(), true);
        }
        self.keys.insert_new(h, o);
    }

    /// Adds a key known to be absent (after a failed lookup).
    pub fn add(&mut self, o: Obj, now_ms: i64) {
        self.set(o, false, now_ms);
    }

    /// Sets the LRU stamp of a key without other effects (loading, RESTORE IDLETIME/FREQ).
    pub fn set_lru_of(&mut self, key: &[u8], lru: u32) {
        let h = self.keys.hash(key);
        self.snap_guard_elems(h, key);
        if let Some(o) = self.keys.get_mut_hashed(h, key) {
            o.set_lru(lru);
        }
    }

    /// Deletes a key (and its TTL), handing its value to `free` unless a snapshot
    /// under way keeps it. False if the key is absent. Does not check expiry: callers
    /// look up first.
    pub fn delete(&mut self, key: &[u8], free: impl FnOnce(Obj)) -> bool {
        self.delete_hashed(self.keys.hash(key), key, free)
    }

    fn delete_hashed(&mut self, h: u64, key: &[u8], free: impl FnOnce(Obj)) -> bool {
        self.snap_guard_adopt(h, key);
        let Some(o) = self.unlink(h, key) else {
            return false;
        };
        if let Some(o) = self.snap_adopt(o) {
            free(o);
        }
        true
    }

    /// Takes a key and its TTL out of the tables (a snapshot guard came first).
    fn unlink(&mut self, h: u64, key: &[u8]) -> Option<Obj> {
        let o = self.keys.remove_hashed(h, key)?;
        if o.has_expire() {
            self.unindex_ttl(h);
        }
        self.slot_note(h, key, false);
        Some(o)
    }

    /// Renames `src` to `dst` (absent) within this db, with its TTL; false if `src` is
    /// absent. A snapshot under way saving the value in steps follows it to its new
    /// name. Does not check expiry: callers look up first.
    pub fn rename(&mut self, src: &[u8], dst: &[u8], now_ms: i64) -> bool {
        let h = self.keys.hash(src);
        let follow = self.snap.is_some() && self.snap_guard_rename(h, src, dst);
        let Some(o) = self.unlink(h, src) else {
            return false;
        };
        self.add(o.rekey(dst), now_ms);
        if follow {
            self.snap_rekey(src, dst);
        }
        true
    }

    /// Deletes a key (and its TTL), freeing its value here unless a snapshot under way
    /// keeps it. False if the key is absent. Does not check expiry: callers look up
    /// first.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.delete(key, drop)
    }

    /// Removes a key and hands its entry on, TTL included (to move it elsewhere). Does
    /// not check expiry: callers look up first.
    pub fn take(&mut self, key: &[u8]) -> Option<Obj> {
        let h = self.keys.hash(key);
        self.snap_guard(h, key);
        self.unlink(h, key)
    }

    /// Sets the absolute expire time of an existing key. False if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> bool {
        let h = self.keys.hash(key);
        self.snap_guard_elems(h, key);
        let Some(o) = self.keys.get_mut_hashed(h, key) else {
            return false;
        };
        let had = o.has_expire();
        o.set_expire_at(Some(at_ms));
        if !had {
            self.index_ttl(h);
        }
        true
    }

    /// The absolute expire time of a key, if it has one (no expiry check).
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.keys.get(key)?.expire_at()
    }

    /// Removes the TTL of a key; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let h = self.keys.hash(key);
        self.snap_guard_elems(h, key);
        let Some(o) = self.keys.get_mut_hashed(h, key) else {
            return false;
        };
        if !o.has_expire() {
            return false;
        }
        o.set_expire_at(None);
        self.unindex_ttl(h);
        true
    }

    /// Empties the db, returning the old tables so they can be dropped elsewhere. A
    /// running snapshot that has yet to save them keeps them instead (and empty tables
    /// are returned).
    pub fn flush(&mut self) -> Flushed {
        self.expire_cursor = 0;
        self.avg_ttl = 0;
        self.slot_index = None;
        if self.snap_retire() {
            return Flushed(Default::default(), Default::default());
        }
        Flushed(self.keys.take(), self.expires.take())
    }

    /// Swaps contents with another db (SWAPDB); ids stay. Running snapshots go with
    /// the contents they save.
    pub fn swap_contents(&mut self, other: &mut Db) {
        self.snap_swap(other);
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.avg_ttl, &mut other.avg_ttl);
        std::mem::swap(&mut self.slot_index, &mut other.slot_index);
        self.expire_cursor = 0;
        other.expire_cursor = 0;
    }

    /// A random non-expired key. Each expired key sampled is deleted, so this ends;
    /// with lazy expiry off (nothing gets deleted) it gives up after a bounded search.
    pub fn random_key<R: Rng>(&mut self, rng: &mut R, now_ms: i64) -> Option<Vec<u8>> {
        let tries = if self.lazy_expire { self.len() + 1 } else { 100 };
        for _ in 0..tries {
            let k = self.keys.random(rng)?.key().to_vec();
            if self.peek(&k, now_ms).is_some() {
                return Some(k);
            }
        }
        None
    }

    /// A random entry of the table (expired or not), for eviction sampling.
    pub fn random_entry<R: Rng>(&self, rng: &mut R) -> Option<&Obj> {
        self.keys.random(rng)
    }

    /// A random entry with a TTL, for volatile eviction sampling.
    pub fn random_expire<R: Rng>(&self, rng: &mut R) -> Option<&Obj> {
        self.ttl_entry(self.expires.random(rng)?.hash())
    }

    /// An entry with a TTL whose key hashes to `h` (what a TTL index entry names).
    pub(crate) fn ttl_entry(&self, h: u64) -> Option<&Obj> {
        self.keys.find_hashed(h, |o| o.has_expire())
    }

    /// One SCAN step over the key table (no expiry check: callers filter).
    pub fn scan_step<F: FnMut(&Obj)>(&self, cursor: u64, f: F) -> u64 {
        self.keys.scan_step(cursor, f)
    }

    /// The entry of a key without expiry checks or LRU touch (DEBUG DIGEST-VALUE).
    pub fn iter_key(&self, key: &[u8]) -> Option<&Obj> {
        let h = self.keys.hash(key);
        self.keys.get_hashed(h, key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Obj> {
        self.keys.iter()
    }

    /// `iter` for a walk that reads every entry and its value (a save), with what it
    /// reads loaded a few entries ahead (`obj::loaded_ahead`).
    pub fn iter_prefetched(&self) -> impl Iterator<Item = &Obj> {
        obj::loaded_ahead(self.keys.iter())
    }

    /// True when the key exists and its TTL has passed (without deleting it).
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.get_expire(key).is_some_and(|at| at <= now_ms)
    }

    /// The TTL index, for the active expire cycle's walk.
    pub(crate) fn expires_table(&self) -> &DashTable<ExpireEntry> {
        &self.expires
    }

    /// Deletes a key because its TTL passed (active cycle).
    pub(crate) fn expire_now(&mut self, key: &[u8]) {
        if self.delete(key, drop) {
            self.note_expired(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_index_follows_inserts_removals_and_expiry() {
        use crate::util::slot::key_slot;
        let mut db = Db::new(0);
        for i in 0..1000 {
            db.add(Obj::new_str(format!("{{t}}{i}").as_bytes(), b"v"), 1000);
        }
        db.add(Obj::new_str(b"other", b"v"), 1000);
        let slot = key_slot(b"t");
        assert_eq!(db.keys_in_slot_count(slot, 1000), 1000);
        assert_eq!(db.keys_in_slot(slot, 10, 1000).len(), 10);
        // Kept up to date once built: new keys, removals, lazy expiry.
        db.add(Obj::new_str(b"{t}new", b"v"), 1000);
        db.remove(b"{t}0");
        assert!(db.set_expire(b"{t}1", 1500));
        assert!(db.get(b"{t}1", 2000).is_none());
        assert_eq!(db.keys_in_slot_count(slot, 2000), 999);
        let all = db.keys_in_slot(slot, usize::MAX, 2000);
        assert_eq!(all.len(), 999);
        assert!(all.iter().all(|k| key_slot(k) == slot) && all.contains(&b"{t}new".to_vec()));
        assert_eq!(db.keys_in_slot(key_slot(b"other"), 5, 2000), vec![b"other".to_vec()]);
        // Dropped when idle, rebuilt on demand.
        db.drop_idle_slot_index(3000);
        db.remove(b"{t}2");
        assert_eq!(db.keys_in_slot_count(slot, 4000), 998);
        db.flush();
        assert_eq!(db.keys_in_slot_count(slot, 4000), 0);
    }

    #[test]
    fn a_flush_empties_both_tables_and_hands_over_every_entry() {
        let mut db = Db::new(0);
        for i in 0..5000 {
            let k = format!("k{i}");
            db.add(Obj::new_str(k.as_bytes(), b"v"), 0);
            if i % 2 == 0 {
                db.set_expire(k.as_bytes(), 10_000);
            }
        }
        let old = db.flush();
        assert_eq!((old.0.len(), old.1.len()), (5000, 2500));
        assert_eq!((db.len(), db.expires_len()), (0, 0));
        // A key made again after the flush has no TTL of its old self.
        db.add(Obj::new_str(b"k0", b"v"), 0);
        assert_eq!(db.get_expire(b"k0"), None);
        drop(old);
        assert_eq!(db.len(), 1);
    }

    #[test]
    fn lazy_expiry_hides_and_deletes() {
        let mut db = Db::new(0);
        db.add(Obj::new_str(b"a", b"1"), 1000);
        assert!(db.set_expire(b"a", 2000));
        assert_eq!(db.get_expire(b"a"), Some(2000));
        assert!(db.get(b"a", 1999).is_some());
        assert!(db.get(b"a", 2000).is_none());
        assert_eq!((db.len(), db.expires_len(), db.expired_count), (0, 0, 1));
    }

    #[test]
    fn ttls_survive_table_growth() {
        // The TTL index is placed by the key table's hashes, and must split by them too
        // (an expire table hashed with a seed of its own once lost TTLs on splits).
        let mut db = Db::new(0);
        for i in 0..20_000 {
            let k = format!("k{i}");
            db.add(Obj::new_str(k.as_bytes(), b"v"), 0);
            db.set_expire(k.as_bytes(), 1000 + i);
        }
        for i in 0..20_000 {
            assert_eq!(db.get_expire(format!("k{i}").as_bytes()), Some(1000 + i));
        }
        assert!(db.get(b"k5", 2000).is_none());
        assert!(db.remove(b"k6"));
        assert_eq!((db.len(), db.expires_len()), (19_998, 19_998));
    }

    /// Every key with a TTL, with its time, from the key table; and checks that the
    /// index counts exactly those (by hash).
    fn ttls_checked(db: &Db) -> HashMap<Vec<u8>, i64> {
        let ttls: HashMap<Vec<u8>, i64> = db
            .iter()
            .filter_map(|o| Some((o.key().to_vec(), o.expire_at()?)))
            .collect();
        let mut want: HashMap<u64, usize> = HashMap::new();
        for k in ttls.keys() {
            *want.entry(db.keys.hash(k)).or_default() += 1;
        }
        let mut got: HashMap<u64, usize> = HashMap::new();
        for e in db.expires.iter() {
            *got.entry(e.hash()).or_default() += 1;
        }
        assert_eq!(got, want);
        ttls
    }

    #[test]
    fn the_ttl_index_follows_every_change_and_the_cycle_finds_every_stale_key() {
        use rand::rngs::SmallRng;
        use rand::SeedableRng;
        let mut rng = SmallRng::seed_from_u64(11);
        let mut db = Db::new(0);
        let mut model: HashMap<Vec<u8>, Option<i64>> = HashMap::new();
        for step in 0..40_000 {
            let k = format!("k{}", rng.random_range(0..3000)).into_bytes();
            let at = 1000 + rng.random_range(0..2000);
            let there = model.contains_key(&k);
            match rng.random_range(0..8) {
                0 | 1 => {
                    let keep = rng.random_bool(0.5);
                    db.set(Obj::new_str(&k, b"v"), keep, 0);
                    let old = model.get(&k).copied().flatten();
                    model.insert(k, old.filter(|_| keep));
                }
                2 | 3 if there => {
                    assert!(db.set_expire(&k, at));
                    model.insert(k, Some(at));
                }
                4 if there => {
                    assert_eq!(db.persist(&k), model.insert(k, None).flatten().is_some());
                }
                5 if there => {
                    let dst = format!("r{}", rng.random_range(0..3000)).into_bytes();
                    db.remove(&dst);
                    model.remove(&dst);
                    assert!(db.rename(&k, &dst, 0));
                    let ttl = model.remove(&k).flatten();
                    model.insert(dst, ttl);
                }
                6 if there => {
                    // Out and back in (MOVE, DEBUG RELOAD MERGE): the TTL goes along.
                    let o = db.take(&k).expect("present");
                    db.add(o, 0);
                }
                7 if there => {
                    assert!(db.remove(&k));
                    model.remove(&k);
                }
                _ => {}
            }
            if step % 5000 == 0 {
                let want: HashMap<Vec<u8>, i64> = model.iter().filter_map(|(k, v)| Some((k.clone(), (*v)?))).collect();
                assert_eq!(ttls_checked(&db), want, "step {step}");
            }
        }
        let live_after = |now: i64| model.values().filter(|t| t.is_none_or(|t| t > now)).count();
        let mut dbs = vec![db];
        let mut next = 0;
        for _ in 0..500 {
            expire::cycle(&mut dbs, &mut next, 2000, || false);
        }
        assert_eq!(dbs[0].len(), live_after(2000));
        assert!(ttls_checked(&dbs[0]).values().all(|&at| at > 2000));
        let sampled = dbs[0].random_expire(&mut rng).and_then(|o| o.expire_at());
        assert!(sampled.is_some_and(|at| at > 2000));
    }

    #[test]
    fn set_drops_ttl_unless_kept() {
        let mut db = Db::new(0);
        db.add(Obj::new_str(b"a", b"1"), 0);
        db.set_expire(b"a", 5000);
        db.set(Obj::new_str(b"a", b"2"), true, 0);
        assert_eq!(db.get_expire(b"a"), Some(5000));
        db.set(Obj::new_str(b"a", b"3"), false, 0);
        assert_eq!(db.get_expire(b"a"), None);
        assert_eq!(db.expires_len(), 0);
        db.set_expire(b"a", 5000);
        assert!(db.persist(b"a"));
        assert!(!db.persist(b"a"));
        db.set_expire(b"a", 5000);
        assert!(db.remove(b"a"));
        assert_eq!(db.expires_len(), 0);
    }
}
