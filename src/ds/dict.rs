//! Dict: the chained hash table behind large hashes, sets and sorted-set member maps.
//! Power-of-two bucket arrays of singly linked chains (bucket = hash & mask), one
//! process-wide ahash seed. Resizes are incremental like Redis: while `rehash` is set,
//! buckets of `table` below `rehash.next` are empty and everything else may be in
//! either table; every write moves a couple of buckets across. `len` counts both tables.
use ahash::RandomState;
use rand::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use super::dash::DashKey;

/// Size of the first bucket array (Redis compat: dict.h DICT_HT_INITIAL_SIZE).
const INITIAL_BUCKETS: usize = 4;
/// Grow when len > buckets; shrink after a removal leaves less than this percentage
/// of the buckets' count (Redis compat: server.h HASHTABLE_MIN_FILL, htNeedsResize).
const MIN_FILL_PERCENT: usize = 10;
/// Non-empty buckets a rehash step moves (Redis compat: dict.c _dictRehashStep).
/// The shapes DEBUG HTSTATS-KEY shows mid-resize depend on it.
const REHASH_MOVES: usize = 1;
/// A rehash step gives up after this many empty buckets so a write stays O(1)
/// even in a sparse table (Redis compat: dict.c dictRehash empty_visits).
const REHASH_EMPTY_VISITS: usize = 10 * REHASH_MOVES;
/// Elements sampled by `fair_random` (Redis compat: dict.c GETFAIR_NUM_ENTRIES).
const FAIR_SAMPLE: usize = 15;
/// Random bucket probes before `random` falls back to a linear walk; only a
/// pathologically sparse table (mid-rehash after mass deletes) ever gets there.
const RANDOM_PROBES: usize = 64;
/// While a background save or rewrite runs, tables avoid resizing: no shrinking,
/// growing only past FORCE_RESIZE_RATIO elements per bucket, and a resize already
/// under way advances only if the two sizes differ by that ratio. Redis does it so
/// that its fork child shares more pages; a fork-less save gains nothing from it,
/// but the tables' shapes (DEBUG HTSTATS-KEY) follow Redis's. Redis compat: dict.c
/// dict_can_resize (DICT_RESIZE_AVOID).
static RESIZE_AVOID: AtomicBool = AtomicBool::new(false);
const FORCE_RESIZE_RATIO: usize = 5;

/// Sets the resize policy of every Dict (see RESIZE_AVOID): the server calls it with
/// whether a background save or rewrite is running.
pub fn set_resize_avoid(avoid: bool) {
    RESIZE_AVOID.store(avoid, Ordering::Relaxed);
}

fn resize_avoided() -> bool {
    RESIZE_AVOID.load(Ordering::Relaxed)
}

/// Chain-length histogram buckets in `TableStats` (Redis compat: dict.c DICT_STATS_VECTLEN).
pub const STATS_VECTLEN: usize = 50;

type Link<T> = Option<Box<Node<T>>>;

/// One allocation per element: the element and the next link (like Redis's dictEntry).
struct Node<T> {
    elem: T,
    next: Link<T>,
    /// The element's full hash: chain walks skip other keys without touching their
    /// bytes (a cache miss each), and rehashing never hashes a key again. Free in
    /// memory for the element types used here (the node stays in the 32-byte class).
    hash: u64,
}

/// The table being filled while a resize is in progress.
struct Rehash<T> {
    to: Box<[Link<T>]>,
    /// Buckets of the old table below this index have been moved to `to`.
    next: usize,
    /// Elements still in the old table: the resize ends when none are left, even
    /// before `next` reaches its end (Redis compat: dict.c dictRehash, ht_used[0]).
    left: usize,
}

/// A separately chained hash table of elements keyed by `DashKey::key`.
/// 32 bytes; an empty Dict owns no heap memory.
pub struct Dict<T> {
    /// The only table, or the old one while `rehash` is set. Empty until the first insert.
    table: Box<[Link<T>]>,
    len: usize,
    /// Boxed so the common (not resizing) case costs one pointer in the struct.
    rehash: Option<Box<Rehash<T>>>,
    /// A point-in-time save of the contents under way (see `snap_begin`).
    snap: Option<Box<DictSnap<T>>>,
}

/// A save of a dict's contents as they were at `snap_begin`, handed out a few buckets
/// at a time while writes go on. Every write first copies the buckets it may touch if
/// the save has not passed them yet, and resizes do not move elements meanwhile, so
/// a bucket not saved yet holds exactly what it held at the start.
struct DictSnap<T> {
    /// Bucket counts of the table and of the resize target (0: none) at the start;
    /// a target made later holds only newer elements.
    t0: usize,
    t1: usize,
    /// Saved buckets, counting the table's, then the target's.
    saved: Vec<u64>,
    /// The next bucket the save hands out.
    next: usize,
    /// Copies of buckets saved ahead of the walk, still to hand out.
    pre: Vec<T>,
    /// Every bucket was walked or copied: the dict works as usual again.
    walked: bool,
    copy: fn(&T) -> T,
}

impl<T> DictSnap<T> {
    /// Marks bucket `i` saved; false if it was already.
    fn claim(&mut self, i: usize) -> bool {
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        match self.saved.get_mut(w) {
            Some(x) if *x & bit == 0 => {
                *x |= bit;
                true
            }
            _ => false,
        }
    }
}

/// Shape of one bucket array, for DEBUG HTSTATS-KEY (Redis compat: dict.c dictGetStats).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableStats {
    pub size: usize,
    pub used: usize,
    /// Non-empty buckets.
    pub slots: usize,
    pub max_chain: usize,
    /// `chains[n]`: buckets with a chain of length n (the last entry counts all longer ones).
    pub chains: [usize; STATS_VECTLEN],
}

/// The text of DEBUG HTSTATS-KEY for `stats` (the main table, then the rehashing
/// target if any; no "[Dictionary HT]" line, which only DEBUG HTSTATS prints).
/// Redis compat: dict.c dictGetStats / _dictGetStatsHt.
pub fn format_stats(stats: &[TableStats]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for (i, t) in stats.iter().enumerate() {
        let name = if i == 0 { "main hash table" } else { "rehashing target" };
        if t.used == 0 {
            let _ = writeln!(
                s,
                "Hash table {i} stats ({name}):\nNo stats available for empty dictionaries"
            );
            continue;
        }
        // Every element is in exactly one chain: the counted and computed averages agree.
        let total = t.used;
        let slots = t.slots.max(1) as f32;
        let _ = write!(
            s,
            "Hash table {i} stats ({name}):\n table size: {}\n number of elements: {}\n different slots: {}\n max chain length: {}\n avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n Chain length distribution:\n",
            t.size,
            t.used,
            t.slots,
            t.max_chain,
            total as f32 / slots,
            t.used as f32 / slots
        );
        for (n, &c) in t.chains.iter().enumerate().take(STATS_VECTLEN - 1) {
            if c > 0 {
                let _ = writeln!(s, "   {n}: {c} ({:.2}%)", c as f32 / t.size.max(1) as f32 * 100.0);
            }
        }
    }
    s
}

static HASHER: OnceLock<RandomState> = OnceLock::new();

/// The process-wide keyed hash every Dict uses (random seed chosen on first use).
#[inline]
pub fn hash_bytes(key: &[u8]) -> u64 {
    HASHER.get_or_init(RandomState::new).hash_one(key)
}

fn empty_table<T>(n: usize) -> Box<[Link<T>]> {
    std::iter::repeat_with(|| None).take(n).collect()
}

#[inline]
fn slot_of(h: u64, buckets: usize) -> usize {
    // buckets is a power of two (or 0, where the wrapped mask makes every lookup miss).
    (h as usize) & buckets.wrapping_sub(1)
}

/// The SCAN cursor after `v` in a table of mask `m`: the bits under `m` incremented
/// counting from the most significant one (Redis compat: dict.c dictScan).
pub fn scan_next(v: u64, m: u64) -> u64 {
    ((v | !m).reverse_bits().wrapping_add(1)).reverse_bits()
}

/// Buckets of a table that `n` inserts made from empty (Redis compat: dict.c
/// _dictExpandIfNeeded, DICT_HT_INITIAL_SIZE). A key of hash `h` is in bucket
/// `h & (buckets - 1)`.
pub fn buckets_after_inserts(n: usize) -> usize {
    n.next_power_of_two().max(INITIAL_BUCKETS)
}

fn chain<T>(b: &Link<T>) -> impl Iterator<Item = &T> {
    chain_nodes(b).map(|n| &n.elem)
}

fn chain_nodes<T>(b: &Link<T>) -> impl Iterator<Item = &Node<T>> {
    std::iter::successors(b.as_deref(), |n| n.next.as_deref())
}

#[inline]
fn find_in<'a, T: DashKey>(b: Option<&'a Link<T>>, h: u64, key: &[u8]) -> Option<&'a T> {
    let mut cur = b?.as_deref();
    while let Some(n) = cur {
        if n.hash == h && n.elem.key() == key {
            return Some(&n.elem);
        }
        cur = n.next.as_deref();
    }
    None
}

#[inline]
fn find_in_mut<'a, T: DashKey>(b: Option<&'a mut Link<T>>, h: u64, key: &[u8]) -> Option<&'a mut T> {
    let mut cur = b?.as_deref_mut();
    while let Some(n) = cur {
        if n.hash == h && n.elem.key() == key {
            return Some(&mut n.elem);
        }
        cur = n.next.as_deref_mut();
    }
    None
}

/// Unlinks and returns the element with `key` from a chain.
fn unlink<T: DashKey>(b: Option<&mut Link<T>>, h: u64, key: &[u8]) -> Option<T> {
    let mut link = b?;
    while link.as_ref().is_some_and(|n| n.hash != h || n.elem.key() != key) {
        link = &mut link.as_mut()?.next;
    }
    let node = link.take()?;
    let Node { elem, next, .. } = *node;
    *link = next;
    Some(elem)
}

/// Frees a chain node by node: the derived drop would recurse once per node.
fn drop_chain<T>(mut cur: Link<T>) {
    while let Some(mut n) = cur {
        cur = n.next.take();
    }
}

/// Frees every chain, the first node of each loaded a few buckets ahead (a chain's
/// drop otherwise waits on each node's block in turn).
fn drop_table<T>(t: &mut [Link<T>]) {
    let head = |b: &Link<T>| {
        if let Some(n) = b {
            crate::util::mem::prefetch(&**n);
        }
    };
    t.iter().take(HEADS_AHEAD).for_each(head);
    for i in 0..t.len() {
        if let Some(b) = t.get(i + HEADS_AHEAD) {
            head(b);
        }
        if let Some(b) = t.get_mut(i) {
            drop_chain(b.take());
        }
    }
}

/// Bucket `i` counting the table's buckets, then the resize target's.
fn flat_bucket<'a, T>(table: &'a [Link<T>], rehash: Option<&'a Rehash<T>>, i: usize) -> Option<&'a Link<T>> {
    match i.checked_sub(table.len()) {
        None => table.get(i),
        Some(j) => rehash.and_then(|r| r.to.get(j)),
    }
}

/// Clones chains bucket by bucket, keeping chain order (so a clone scans identically).
fn clone_table<T: Clone>(src: &[Link<T>], dst: &mut [Link<T>]) {
    for (s, d) in src.iter().zip(dst.iter_mut()) {
        let mut tail = d;
        for n0 in chain_nodes(s) {
            let n = tail.insert(Box::new(Node {
                elem: n0.elem.clone(),
                next: None,
                hash: n0.hash,
            }));
            tail = &mut n.next;
        }
    }
}

/// The n-th element of a chain, n uniform over its length.
fn random_in_chain<'a, T, R: Rng>(b: &'a Link<T>, rng: &mut R) -> Option<&'a T> {
    let n = chain(b).count();
    if n == 0 {
        return None;
    }
    chain(b).nth(rng.random_range(0..n))
}

use crate::util::mem::alloc_size;

fn table_stats<T>(t: &[Link<T>], skip_below: usize) -> TableStats {
    let mut s = TableStats {
        size: t.len(),
        used: 0,
        slots: 0,
        max_chain: 0,
        chains: [0; STATS_VECTLEN],
    };
    for b in t.iter().skip(skip_below) {
        let n = chain(b).count();
        s.used += n;
        if n > 0 {
            s.slots += 1;
        }
        s.max_chain = s.max_chain.max(n);
        if let Some(c) = s.chains.get_mut(n.min(STATS_VECTLEN - 1)) {
            *c += 1;
        }
    }
    // Already-moved buckets of an old table are empty.
    if let Some(c) = s.chains.first_mut() {
        *c += skip_below.min(t.len());
    }
    s
}

impl<T: DashKey> Default for Dict<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Dict<T> {
    /// Starts loading the start of its table (ahead of a walk or a drop).
    #[inline]
    pub fn prefetch_table(&self) {
        if let Some(b) = self.table.first() {
            crate::util::mem::prefetch(b);
        }
    }

    /// Starts loading the first nodes of the chains in its first buckets (reads the
    /// table: best once `prefetch_table` is done).
    #[inline]
    pub fn prefetch_heads(&self) {
        self.table
            .iter()
            .take(HEADS_AHEAD)
            .flatten()
            .for_each(|n| crate::util::mem::prefetch(&**n));
    }
}

/// Buckets whose first nodes are loaded ahead of a drop.
const HEADS_AHEAD: usize = 8;

impl<T> Drop for Dict<T> {
    fn drop(&mut self) {
        drop_table(&mut self.table);
        if let Some(r) = self.rehash.as_mut() {
            drop_table(&mut r.to);
        }
    }
}

impl<T: DashKey + Clone> Clone for Dict<T> {
    fn clone(&self) -> Self {
        // Built in place inside `out`, so a panicking T::clone frees what was cloned so far.
        let mut out = Dict::new();
        out.table = empty_table(self.table.len());
        clone_table(&self.table, &mut out.table);
        if let Some(r) = &self.rehash {
            let mut to = empty_table(r.to.len());
            clone_table(&r.to, &mut to);
            out.rehash = Some(Box::new(Rehash {
                to,
                next: r.next,
                left: r.left,
            }));
        }
        out.len = self.len;
        out
    }
}

impl<T: DashKey + std::fmt::Debug> std::fmt::Debug for Dict<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: DashKey> Dict<T> {
    /// An empty dict; allocates nothing until the first insert.
    pub fn new() -> Self {
        Self {
            table: Box::default(),
            len: 0,
            rehash: None,
            snap: None,
        }
    }

    /// An empty dict with buckets for `n` elements (RDB loading knows the size up front).
    pub fn with_capacity(n: usize) -> Self {
        let mut d = Self::new();
        d.reserve(n);
        d
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bucket count of the table new elements go to (the target table while resizing).
    pub fn buckets(&self) -> usize {
        match &self.rehash {
            Some(r) => r.to.len(),
            None => self.table.len(),
        }
    }

    /// True while a resize is moving elements from the old table to the new one.
    pub fn is_rehashing(&self) -> bool {
        self.rehash.is_some()
    }

    /// Per-table shape: the main table, then the target table while resizing
    /// (Redis compat: debug.c HTSTATS-KEY prints ht[0] and ht[1]). O(buckets + len).
    pub fn stats(&self) -> Vec<TableStats> {
        match &self.rehash {
            Some(r) => vec![table_stats(&self.table, r.next), table_stats(&r.to, 0)],
            None => vec![table_stats(&self.table, 0)],
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.get_hashed(hash_bytes(key), key)
    }

    /// One step of loading what a lookup of hash `h` will read, for a batch of
    /// lookups whose cache misses should overlap (see `Db::prefetch_keys`): step 0
    /// the bucket slot, 1 the first node of the chain, 2 the element's bytes when
    /// that node's hash matches (else the next node). Each step reads only what
    /// the previous one loaded.
    pub fn prefetch_step(&self, step: u8, h: u64) {
        use crate::util::mem::prefetch;
        let tables = std::iter::once(&self.table).chain(self.rehash.as_ref().map(|r| &r.to));
        for t in tables {
            let i = slot_of(h, t.len());
            match step {
                0 => {
                    if i < t.len() {
                        prefetch(t.as_ptr().wrapping_add(i));
                    }
                }
                1 => {
                    if let Some(Some(n)) = t.get(i) {
                        prefetch(&**n as *const Node<T>);
                    }
                }
                _ => {
                    if let Some(Some(n)) = t.get(i) {
                        if n.hash == h {
                            if let Some(p) = n.elem.key_addr() {
                                prefetch(p);
                            }
                        } else if let Some(next) = &n.next {
                            prefetch(&**next as *const Node<T>);
                        }
                    }
                }
            }
        }
    }

    /// Moves an incremental resize along by up to `steps` steps, as a random read
    /// does in Redis (dict.c dictGetSomeKeys and dictGetRandomKey step the rehash).
    pub fn rehash_steps(&mut self, steps: usize) {
        if self.snap_holds() {
            return;
        }
        for _ in 0..steps {
            if self.rehash.is_none() {
                break;
            }
            self.rehash_step();
        }
    }

    /// `get` with `h == hash_bytes(key)` already computed.
    #[inline]
    pub fn get_hashed(&self, h: u64, key: &[u8]) -> Option<&T> {
        if let Some(r) = &self.rehash {
            let i = slot_of(h, self.table.len());
            if i >= r.next {
                if let Some(e) = find_in(self.table.get(i), h, key) {
                    return Some(e);
                }
            }
            return find_in(r.to.get(slot_of(h, r.to.len())), h, key);
        }
        find_in(self.table.get(slot_of(h, self.table.len())), h, key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        self.get_mut_hashed(hash_bytes(key), key)
    }

    /// `get_mut` with `h == hash_bytes(key)` already computed. Advances a pending resize.
    pub fn get_mut_hashed(&mut self, h: u64, key: &[u8]) -> Option<&mut T> {
        self.snap_touch(h);
        self.rehash_step();
        self.find_mut(h, key)
    }

    fn find_mut(&mut self, h: u64, key: &[u8]) -> Option<&mut T> {
        let table = &mut self.table;
        if let Some(r) = self.rehash.as_deref_mut() {
            let i = slot_of(h, table.len());
            if i >= r.next {
                if let Some(e) = find_in_mut(table.get_mut(i), h, key) {
                    return Some(e);
                }
            }
            return find_in_mut(r.to.get_mut(slot_of(h, r.to.len())), h, key);
        }
        let i = slot_of(h, table.len());
        find_in_mut(table.get_mut(i), h, key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `e`, replacing and returning an element with the same key.
    pub fn insert(&mut self, e: T) -> Option<T> {
        let h = hash_bytes(e.key());
        self.insert_hashed(h, e)
    }

    /// `insert` with `h == hash_bytes(e.key())` already computed.
    pub fn insert_hashed(&mut self, h: u64, e: T) -> Option<T> {
        self.snap_touch(h);
        self.rehash_step();
        if let Some(old) = self.find_mut(h, e.key()) {
            return Some(std::mem::replace(old, e));
        }
        self.push(h, e);
        None
    }

    /// Inserts an element whose key the caller knows is absent (skips the lookup;
    /// a duplicate would make the older one unreachable until the newer is removed).
    pub fn insert_new(&mut self, e: T) {
        let h = hash_bytes(e.key());
        self.insert_new_hashed(h, e);
    }

    /// `insert_new` with `h == hash_bytes(e.key())` already computed.
    pub fn insert_new_hashed(&mut self, h: u64, e: T) {
        self.snap_touch(h);
        self.rehash_step();
        self.push(h, e);
    }

    /// Links a new element at the head of its chain (recent elements are likely
    /// hot; Redis compat: dict.c dictAddRaw), then grows if the table is full.
    fn push(&mut self, h: u64, e: T) {
        if self.table.is_empty() {
            self.table = empty_table(INITIAL_BUCKETS);
        }
        let t: &mut [Link<T>] = match self.rehash.as_deref_mut() {
            Some(r) => &mut r.to,
            None => &mut self.table,
        };
        let i = slot_of(h, t.len());
        if let Some(b) = t.get_mut(i) {
            let next = b.take();
            *b = Some(Box::new(Node { elem: e, next, hash: h }));
            self.len += 1;
        }
        self.grow_if_full();
    }

    /// Starts doubling once len > buckets (Redis compat: dict.c _dictExpandIfNeeded).
    /// Inserts made while a shrink was under way can overshoot more than that.
    fn grow_if_full(&mut self) {
        let size = self.table.len();
        // Redis checks before adding: `len - 1` is the count it sees.
        let full = if resize_avoided() && size > 0 {
            self.len.saturating_sub(1) / size > FORCE_RESIZE_RATIO
        } else {
            self.len > size
        };
        if self.rehash.is_none() && full {
            self.resize(size.saturating_mul(2).max(self.len.next_power_of_two()));
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        self.remove_hashed(hash_bytes(key), key)
    }

    /// `remove` with `h == hash_bytes(key)` already computed. May start a shrink.
    pub fn remove_hashed(&mut self, h: u64, key: &[u8]) -> Option<T> {
        self.snap_touch(h);
        self.rehash_step();
        let table = &mut self.table;
        let i = slot_of(h, table.len());
        let e = match self.rehash.as_deref_mut() {
            Some(r) => {
                let old = if i >= r.next {
                    unlink(table.get_mut(i), h, key)
                } else {
                    None
                };
                match old {
                    Some(e) => {
                        r.left = r.left.saturating_sub(1);
                        Some(e)
                    }
                    None => unlink(r.to.get_mut(slot_of(h, r.to.len())), h, key),
                }
            }
            None => unlink(table.get_mut(i), h, key),
        }?;
        self.len -= 1;
        self.shrink_if_sparse();
        self.grow_if_full();
        Some(e)
    }

    /// Redis compat: server.c htNeedsResize (collections shrink right after deletes).
    fn shrink_if_sparse(&mut self) {
        let size = self.table.len();
        let sparse = self.len.saturating_mul(100) / size.max(1) < MIN_FILL_PERCENT;
        if self.rehash.is_none() && size > INITIAL_BUCKETS && sparse && !resize_avoided() {
            self.resize(self.len.next_power_of_two().max(INITIAL_BUCKETS));
        }
    }

    /// Makes room for `additional` more elements without further growth. A non-empty
    /// dict moves to the bigger table incrementally, like any other resize.
    pub fn reserve(&mut self, additional: usize) {
        let Some(want) = self.len.checked_add(additional) else {
            return;
        };
        if want <= self.buckets() {
            return;
        }
        let Some(size) = want.checked_next_power_of_two() else {
            return;
        };
        self.finish_rehash();
        self.resize(size.max(INITIAL_BUCKETS));
    }

    /// Starts moving to a table of `size` buckets (a power of two). Not resizing now.
    fn resize(&mut self, size: usize) {
        if self.len == 0 {
            self.snap_copy_all();
            drop_table(&mut self.table);
            self.table = empty_table(size);
            return;
        }
        self.rehash = Some(Box::new(Rehash {
            to: empty_table(size),
            next: 0,
            left: self.len,
        }));
    }

    /// Moves a couple of non-empty buckets of the old table (looking at no more than
    /// a few empty ones), and swaps tables when the old one is drained.
    fn rehash_step(&mut self) {
        if self.snap_holds() {
            return;
        }
        if let Some(r) = &self.rehash {
            let (from, to) = (self.table.len().max(1), r.to.len().max(1));
            if resize_avoided() && from.max(to) / from.min(to) < FORCE_RESIZE_RATIO {
                return;
            }
        }
        self.rehash_step_now();
    }

    /// One rehash step whatever the resize policy.
    fn rehash_step_now(&mut self) {
        let Some(r) = self.rehash.as_deref_mut() else {
            return;
        };
        let mut empty = 0;
        let mut moved = 0;
        while let Some(b) = self.table.get_mut(r.next).filter(|_| r.left > 0) {
            r.next += 1;
            let mut cur = b.take();
            if cur.is_none() {
                empty += 1;
                if empty >= REHASH_EMPTY_VISITS {
                    break;
                }
                continue;
            }
            let size = r.to.len();
            while let Some(mut n) = cur {
                cur = n.next.take();
                if let Some(dst) = r.to.get_mut(slot_of(n.hash, size)) {
                    n.next = dst.take();
                    *dst = Some(n);
                }
                r.left = r.left.saturating_sub(1);
            }
            moved += 1;
            if moved >= REHASH_MOVES || r.left == 0 {
                break;
            }
        }
        if r.left == 0 || r.next >= self.table.len() {
            let shrunk = r.to.len() < self.table.len();
            self.table = std::mem::take(&mut r.to);
            self.rehash = None;
            self.grow_if_full();
            // Removals during a shrink may leave the new table sparse too. (No
            // such check after a grow: it would undo `reserve`.)
            if shrunk {
                self.shrink_if_sparse();
            }
        }
    }

    /// Completes any resize at once.
    fn finish_rehash(&mut self) {
        self.snap_copy_all();
        while self.rehash.is_some() {
            self.rehash_step_now();
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let to: &[Link<T>] = match &self.rehash {
            Some(r) => &r.to,
            None => &[],
        };
        self.table.iter().chain(to.iter()).flat_map(chain)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.snap_copy_all();
        let to: &mut [Link<T>] = match self.rehash.as_deref_mut() {
            Some(r) => &mut r.to,
            None => &mut [],
        };
        self.table
            .iter_mut()
            .chain(to.iter_mut())
            .flat_map(|b| ChainMut { cur: b.as_deref_mut() })
    }

    /// Removes every element, yielding them; elements not consumed are dropped with
    /// the iterator. The dict is empty (and owns no memory) right away.
    pub fn drain(&mut self) -> Drain<T> {
        self.snap_copy_all();
        let snap = self.snap.take();
        let dict = std::mem::take(self);
        self.snap = snap;
        Drain { dict, pos: 0 }
    }

    /// A random element: random non-empty bucket, then a random element of its chain.
    /// Elements in short chains are likelier (Redis compat: dict.c dictGetRandomKey).
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let (to, start): (&[Link<T>], usize) = match &self.rehash {
            Some(r) => (&r.to, r.next.min(self.table.len())),
            None => (&[], 0),
        };
        let total = self.table.len() + to.len();
        if start >= total {
            return None;
        }
        let bucket = |i: usize| match i.checked_sub(self.table.len()) {
            None => self.table.get(i),
            Some(j) => to.get(j),
        };
        for _ in 0..RANDOM_PROBES {
            if let Some(b) = bucket(rng.random_range(start..total)).filter(|b| b.is_some()) {
                return random_in_chain(b, rng);
            }
        }
        // Sparse table: walk from a random bucket so this still ends in O(buckets).
        let span = total - start;
        let first = rng.random_range(0..span);
        (0..span)
            .filter_map(|k| bucket(start + (first + k) % span))
            .find(|b| b.is_some())
            .and_then(|b| random_in_chain(b, rng))
    }

    /// Up to `count` distinct elements from a few random runs of consecutive buckets:
    /// cheap, not uniform, and may return fewer than asked for
    /// (Redis compat: dict.c dictGetSomeKeys).
    pub fn sample<R: Rng>(&self, rng: &mut R, count: usize) -> Vec<&T> {
        let count = count.min(self.len);
        let mut out = Vec::with_capacity(count);
        if count == 0 {
            return out;
        }
        let (to, skip): (&[Link<T>], usize) = match &self.rehash {
            Some(r) => (&r.to, r.next),
            None => (&[], 0),
        };
        let mask = self.table.len().max(to.len()).wrapping_sub(1);
        let mut i = (rng.random::<u64>() as usize) & mask;
        let mut empty_run = 0;
        let mut seen = 0usize;
        let mut steps = count.saturating_mul(10);
        while steps > 0 {
            steps -= 1;
            let old = if i >= skip { self.table.get(i) } else { None };
            for b in [old, to.get(i)].into_iter().flatten() {
                if b.is_none() {
                    empty_run += 1;
                    // A long empty run: jump elsewhere rather than crawl through it.
                    if empty_run >= 5 && empty_run > count {
                        i = (rng.random::<u64>() as usize) & mask;
                        empty_run = 0;
                    }
                    continue;
                }
                empty_run = 0;
                // A chain is taken whole, by reservoir sampling once `count` are
                // held, so the end of a long chain can be picked too (Redis compat:
                // dict.c dictGetSomeKeys).
                for e in chain(b) {
                    if out.len() < count {
                        out.push(e);
                    } else {
                        let r = rng.random_range(0..=seen);
                        if let Some(slot) = out.get_mut(r) {
                            *slot = e;
                        }
                    }
                    seen += 1;
                }
                if out.len() == count {
                    return out;
                }
            }
            i = i.wrapping_add(1) & mask;
        }
        out
    }

    /// A random element picked among a sample of several buckets, which evens out the
    /// chain-length bias of `random` (Redis compat: dict.c dictGetFairRandomKey).
    pub fn fair_random<R: Rng>(&self, rng: &mut R) -> Option<&T> {
        let s = self.sample(rng, FAIR_SAMPLE);
        if s.is_empty() {
            return self.random(rng);
        }
        s.get(rng.random_range(0..s.len())).copied()
    }

    /// One SCAN step: calls `f` on every element of the bucket(s) at `cursor` and
    /// returns the next cursor (0 when done). The cursor counts up in bit-reversed
    /// order over the mask bits, so buckets already visited stay visited when the
    /// table doubles or halves between calls: every element present for the whole
    /// scan is returned at least once; some may come twice (Redis compat: dict.c dictScan).
    pub fn scan_step<F: FnMut(&T)>(&self, cursor: u64, mut f: F) -> u64 {
        let mut visit = |b: Option<&Link<T>>| {
            if let Some(b) = b {
                chain(b).for_each(&mut f);
            }
        };
        let mut v = cursor;
        match &self.rehash {
            None => {
                if self.table.is_empty() {
                    return 0;
                }
                let m = (self.table.len() - 1) as u64;
                visit(self.table.get((v & m) as usize));
                scan_next(v, m)
            }
            Some(r) => {
                // Visit the small table's bucket, then every bucket of the large
                // table that it expands to (same low bits, all values of the rest).
                let (small, large) = if self.table.len() <= r.to.len() {
                    (&*self.table, &*r.to)
                } else {
                    (&*r.to, &*self.table)
                };
                let m0 = (small.len() as u64).wrapping_sub(1);
                let m1 = (large.len() as u64).wrapping_sub(1);
                visit(small.get((v & m0) as usize));
                loop {
                    visit(large.get((v & m1) as usize));
                    v = scan_next(v, m1);
                    if v & (m0 ^ m1) == 0 {
                        return v;
                    }
                }
            }
        }
    }

    /// Starts a point-in-time save of the contents (see `DictSnap`): `snap_step` then
    /// hands out exactly the elements present now, each once, whatever is written
    /// meanwhile. Until it has walked every bucket, resizes started meanwhile move no
    /// elements.
    pub fn snap_begin(&mut self)
    where
        T: Clone,
    {
        let t0 = self.table.len();
        let t1 = self.rehash.as_ref().map_or(0, |r| r.to.len());
        self.snap = Some(Box::new(DictSnap {
            t0,
            t1,
            saved: vec![0; (t0 + t1).div_ceil(64)],
            next: 0,
            pre: Vec::new(),
            walked: self.len == 0,
            copy: T::clone,
        }));
    }

    /// Ends the save (done or abandoned).
    pub fn snap_end(&mut self) {
        self.snap = None;
    }

    /// Whether a save begun by `snap_begin` is under way.
    pub fn in_snap(&self) -> bool {
        self.snap.is_some()
    }

    /// Hands out at least `min` more elements of the save (whole buckets, then the
    /// copies made ahead of the walk); true once every element was handed out (or no
    /// save is under way).
    pub fn snap_step<F: FnMut(&T)>(&mut self, min: usize, mut f: F) -> bool {
        let Some(s) = self.snap.as_deref_mut() else {
            return true;
        };
        let mut seen = 0;
        while !s.walked && seen < min {
            let i = s.next;
            if i >= s.t0 + s.t1 {
                s.walked = true;
                break;
            }
            s.next += 1;
            if !s.claim(i) {
                continue;
            }
            for e in flat_bucket(&self.table, self.rehash.as_deref(), i)
                .into_iter()
                .flat_map(chain)
            {
                f(e);
                seen += 1;
            }
        }
        while seen < min {
            let Some(e) = s.pre.pop() else {
                break;
            };
            f(&e);
            seen += 1;
        }
        s.walked && s.pre.is_empty()
    }

    /// True while a save has buckets left to walk: elements must stay where they are.
    #[inline]
    fn snap_holds(&self) -> bool {
        self.snap.as_ref().is_some_and(|s| !s.walked)
    }

    /// Before a write to an element of hash `h`: copies the buckets it may be in (or
    /// go to) if the save has not passed them.
    #[inline]
    fn snap_touch(&mut self, h: u64) {
        if self.snap_holds() {
            self.snap_copy(h);
        }
    }

    #[cold]
    fn snap_copy(&mut self, h: u64) {
        let Some(s) = self.snap.as_deref() else {
            return;
        };
        let (t0, t1) = (s.t0, s.t1);
        if t0 > 0 {
            self.snap_copy_bucket(slot_of(h, t0));
        }
        if t1 > 0 {
            self.snap_copy_bucket(t0 + slot_of(h, t1));
        }
    }

    fn snap_copy_bucket(&mut self, i: usize) {
        let Some(s) = self.snap.as_deref_mut() else {
            return;
        };
        if !s.claim(i) {
            return;
        }
        let b = flat_bucket(&self.table, self.rehash.as_deref(), i);
        let copy = s.copy;
        s.pre.extend(b.into_iter().flat_map(chain).map(copy));
    }

    /// Before a change to every element or to the tables themselves: copies whatever
    /// the save has yet to walk, which then needs the tables no more.
    fn snap_copy_all(&mut self) {
        if !self.snap_holds() {
            return;
        }
        let n = self.snap.as_ref().map_or(0, |s| s.t0 + s.t1);
        for i in 0..n {
            self.snap_copy_bucket(i);
        }
        if let Some(s) = self.snap.as_deref_mut() {
            s.walked = true;
        }
    }

    /// Active defragmentation from bucket `pos` (counting the old table's buckets, then
    /// the new one's while resizing) until about `budget` elements were visited: each
    /// node is offered to `d`, then `f` handles what the element owns. Returns where to
    /// go on, or None when the walk is done. A resize between calls only makes a walk
    /// miss or revisit some buckets, which is harmless here.
    pub fn defrag_step<F>(
        &mut self,
        pos: usize,
        budget: usize,
        d: &mut super::defrag::Defrag,
        mut f: F,
    ) -> Option<usize>
    where
        F: FnMut(&mut T, &mut super::defrag::Defrag),
    {
        if pos == 0 {
            d.slice(&mut self.table);
            if let Some(r) = self.rehash.as_mut() {
                d.boxed(r);
                d.slice(&mut r.to);
            }
        }
        let first = self.table.len();
        let mut i = pos;
        let mut seen = 0;
        loop {
            let bucket = match i.checked_sub(first) {
                None => self.table.get_mut(i),
                Some(j) => self.rehash.as_mut().and_then(|r| r.to.get_mut(j)),
            };
            let mut link = bucket?;
            while let Some(node) = link {
                d.boxed(node);
                f(&mut node.elem, d);
                seen += 1;
                link = &mut node.next;
            }
            i += 1;
            if seen >= budget {
                return Some(i);
            }
        }
    }

    /// Approximate heap bytes of the bucket arrays and nodes, excluding what T owns.
    pub fn mem_usage(&self) -> usize {
        let link = std::mem::size_of::<Link<T>>();
        let mut n = alloc_size(self.table.len() * link);
        if let Some(r) = &self.rehash {
            n += alloc_size(std::mem::size_of::<Rehash<T>>()) + alloc_size(r.to.len() * link);
        }
        n + self.len * alloc_size(std::mem::size_of::<Node<T>>())
    }

    /// Drops every element and frees the tables.
    pub fn clear(&mut self) {
        drop(self.drain());
    }
}

struct ChainMut<'a, T> {
    cur: Option<&'a mut Node<T>>,
}

impl<'a, T> Iterator for ChainMut<'a, T> {
    type Item = &'a mut T;

    fn next(&mut self) -> Option<&'a mut T> {
        let Node { elem, next, .. } = self.cur.take()?;
        self.cur = next.as_deref_mut();
        Some(elem)
    }
}

/// Owning iterator from `Dict::drain` / `into_iter`.
pub struct Drain<T> {
    dict: Dict<T>,
    /// Bucket index over the old table, then the target table.
    pos: usize,
}

impl<T> Iterator for Drain<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            let old = self.dict.table.len();
            let b = match self.pos.checked_sub(old) {
                None => self.dict.table.get_mut(self.pos),
                Some(j) => self.dict.rehash.as_deref_mut().and_then(|r| r.to.get_mut(j)),
            }?;
            if let Some(n) = b.take() {
                let Node { elem, next, .. } = *n;
                *b = next;
                self.dict.len -= 1;
                return Some(elem);
            }
            self.pos += 1;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.dict.len, Some(self.dict.len))
    }
}

impl<T> ExactSizeIterator for Drain<T> {}

impl<T: DashKey> IntoIterator for Dict<T> {
    type Item = T;
    type IntoIter = Drain<T>;

    fn into_iter(self) -> Drain<T> {
        Drain { dict: self, pos: 0 }
    }
}

impl<T: DashKey> Extend<T> for Dict<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for e in iter {
            self.insert(e);
        }
    }
}

impl<T: DashKey> FromIterator<T> for Dict<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut d = Dict::new();
        d.extend(iter);
        d
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::hash_map::Entry;
    use std::collections::{HashMap, HashSet};
    use std::rc::Rc;

    #[derive(Clone, Debug, PartialEq)]
    struct E(Vec<u8>, u32);
    impl DashKey for E {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    fn k(i: u32) -> Vec<u8> {
        format!("k{i}").into_bytes()
    }

    fn e(i: u32) -> E {
        E(k(i), i)
    }

    /// A save begun at any point (mid-resize too) hands out exactly the elements of
    /// that moment, each once, while inserts, updates, removals, grows, shrinks, random
    /// reads' rehash steps, clears and reserves go on between its steps.
    #[test]
    fn snap_hands_out_the_contents_at_its_start() {
        use rand::Rng;
        for seed in 0..40u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut d: Dict<E> = Dict::new();
            let n = rng.random_range(0..3000u32);
            for i in 0..n {
                d.insert(e(i));
            }
            // Some removals so that a shrink may be under way at the start.
            for i in 0..rng.random_range(0..n.max(1)) {
                d.remove(&k(i * 3 % n.max(1)));
            }
            let mut at_start: Vec<(Vec<u8>, u32)> = d.iter().map(|x| (x.0.clone(), x.1)).collect();
            at_start.sort();
            d.snap_begin();
            assert!(d.in_snap());
            let mut out = Vec::new();
            let mut fresh = 100_000u32;
            loop {
                let done = d.snap_step(rng.random_range(1..50), |x| out.push((x.0.clone(), x.1)));
                if done {
                    break;
                }
                for _ in 0..rng.random_range(0..40) {
                    let i = rng.random_range(0..n.max(1) + 200);
                    match rng.random_range(0..100) {
                        0..30 => {
                            fresh += 1;
                            d.insert(E(k(fresh), fresh));
                        }
                        30..50 => {
                            d.insert(E(k(i), 7));
                        }
                        50..75 => {
                            d.remove(&k(i));
                        }
                        75..85 => {
                            if let Some(x) = d.get_mut(&k(i)) {
                                x.1 += 1;
                            }
                        }
                        85..95 => d.rehash_steps(15),
                        95..98 => {
                            d.iter_mut().take(3).for_each(|x| x.1 += 1);
                        }
                        98 => d.reserve(rng.random_range(0..5000)),
                        _ => d.clear(),
                    }
                }
                check(&d);
            }
            d.snap_end();
            out.sort();
            assert!(
                out == at_start,
                "seed {seed}: {} handed out, {} at start",
                out.len(),
                at_start.len()
            );
        }
    }

    #[test]
    fn prefetch_steps_leave_the_dict_as_it_was() {
        let mut d: Dict<E> = Dict::new();
        for step in 0..4 {
            d.prefetch_step(step, 12345);
        }
        let mut saw_rehash = false;
        for i in 0..2000 {
            d.insert(e(i));
            saw_rehash |= d.is_rehashing();
            for step in 0..4 {
                d.prefetch_step(step, hash_bytes(&k(i)));
                d.prefetch_step(step, hash_bytes(&k(i + 1)));
            }
        }
        assert!(saw_rehash);
        check(&d);
        assert_eq!(d.len(), 2000);
        assert!((0..2000).all(|i| d.get(&k(i)) == Some(&e(i))));
    }

    /// Structural invariants: every element sits in the bucket its hash selects,
    /// moved buckets are empty, len matches, no resize is due that was skipped.
    fn check<T: DashKey>(d: &Dict<T>) {
        let mut n = 0;
        let skip = d.rehash.as_ref().map_or(0, |r| r.next);
        for (i, b) in d.table.iter().enumerate() {
            if i < skip {
                assert!(b.is_none(), "moved bucket {i} not empty");
            }
            for x in chain(b) {
                assert_eq!(slot_of(hash_bytes(x.key()), d.table.len()), i);
                n += 1;
            }
        }
        if let Some(r) = &d.rehash {
            assert!(r.to.len().is_power_of_two());
            assert!(r.next < d.table.len());
            assert_eq!(r.left, n, "elements left in the old table");
            for (i, b) in r.to.iter().enumerate() {
                for x in chain(b) {
                    assert_eq!(slot_of(hash_bytes(x.key()), r.to.len()), i);
                    n += 1;
                }
            }
        }
        assert_eq!(n, d.len());
        assert!(d.table.is_empty() || d.table.len().is_power_of_two());
        assert!(d.table.is_empty() || d.table.len() >= INITIAL_BUCKETS);
        if d.rehash.is_none() && !d.table.is_empty() {
            // A table never stays full: push grows right away.
            assert!(d.len() <= d.table.len());
        }
    }

    /// `n` elements, part way through a resize (whatever the random seed does to chains).
    fn mid_rehash(n: u32) -> Dict<E> {
        let mut d: Dict<E> = (0..n).map(e).collect();
        finish(&mut d);
        d.reserve(d.buckets());
        // A step covers at most REHASH_MOVES + REHASH_EMPTY_VISITS buckets.
        for _ in 0..d.table.len() / 32 {
            assert!(d.get_mut(b"absent").is_none());
        }
        assert!(d.is_rehashing());
        check(&d);
        d
    }

    fn finish<T: DashKey>(d: &mut Dict<T>) {
        d.finish_rehash();
        assert!(!d.is_rehashing());
    }

    #[test]
    fn struct_is_small_and_empty_dict_allocates_nothing() {
        // Table, length, and the resize and save states boxed apart.
        assert!(std::mem::size_of::<Dict<E>>() <= 40);
        assert_eq!(std::mem::size_of::<Link<E>>(), 8);
        let mut d: Dict<E> = Dict::new();
        assert_eq!(d.buckets(), 0);
        assert_eq!(d.mem_usage(), 0);
        assert!(d.is_empty());
        assert!(d.get(b"x").is_none());
        assert!(d.get_mut(b"x").is_none());
        assert!(d.remove(b"x").is_none());
        assert!(!d.contains(b""));
        let mut rng = SmallRng::seed_from_u64(1);
        assert!(d.random(&mut rng).is_none());
        assert!(d.fair_random(&mut rng).is_none());
        assert!(d.sample(&mut rng, 5).is_empty());
        assert_eq!(d.scan_step(0, |_| panic!("empty")), 0);
        assert_eq!(d.scan_step(12345, |_| panic!("empty")), 0);
        assert_eq!(d.iter().count(), 0);
        assert_eq!(d.iter_mut().count(), 0);
        assert_eq!(d.drain().count(), 0);
        d.clear();
        assert_eq!(d.stats(), vec![table_stats::<E>(&[], 0)]);
        let c = d.clone();
        assert!(c.is_empty() && c.buckets() == 0);
        let d2: Dict<E> = Dict::default();
        assert_eq!(d2.buckets(), 0);
        let d3: Dict<E> = Dict::with_capacity(0);
        assert_eq!(d3.buckets(), 0);
    }

    #[test]
    fn basic_insert_get_replace_remove() {
        let mut d = Dict::new();
        assert!(d.insert(e(1)).is_none());
        assert_eq!(d.buckets(), INITIAL_BUCKETS);
        assert_eq!(d.get(&k(1)), Some(&e(1)));
        assert_eq!(d.insert(E(k(1), 10)), Some(e(1)));
        assert_eq!(d.len(), 1);
        assert_eq!(d.get(&k(1)).map(|x| x.1), Some(10));
        d.get_mut(&k(1)).unwrap().1 = 11;
        assert_eq!(d.get(&k(1)).map(|x| x.1), Some(11));
        d.insert_new(e(2));
        assert!(d.contains(&k(2)));
        assert_eq!(d.remove(&k(1)).map(|x| x.1), Some(11));
        assert!(d.remove(&k(1)).is_none());
        assert_eq!(d.len(), 1);
        // The empty key is a key like any other.
        d.insert(E(Vec::new(), 7));
        assert_eq!(d.get(b"").map(|x| x.1), Some(7));
        assert_eq!(d.len(), 2);
        let h = hash_bytes(b"");
        assert_eq!(h, hash_bytes(b""));
        assert_eq!(d.get_hashed(h, b"").map(|x| x.1), Some(7));
        assert_eq!(d.remove_hashed(h, b"").map(|x| x.1), Some(7));
        check(&d);
    }

    #[test]
    fn grows_by_doubling_and_shrinks_after_removals() {
        let mut d = Dict::new();
        for i in 0..4 {
            d.insert(e(i));
        }
        assert_eq!((d.buckets(), d.is_rehashing()), (4, false));
        d.insert(e(4));
        assert_eq!(d.buckets(), 8);
        for i in 5..10_000 {
            d.insert(e(i));
            check(&d);
        }
        finish(&mut d);
        assert_eq!(d.buckets(), 16384);
        for i in 0..10_000 {
            assert_eq!(d.get(&k(i)).map(|x| x.1), Some(i));
        }
        // Down to 1638 elements, under 10% of 16384 buckets: shrink to the smallest
        // power of two >= len.
        for i in 1639..10_000 {
            assert!(d.remove(&k(i)).is_some());
        }
        assert_eq!(d.buckets(), 16384);
        d.remove(&k(1638));
        assert_eq!((d.buckets(), d.is_rehashing()), (2048, true));
        check(&d);
        for i in 0..1638 {
            d.remove(&k(i));
            check(&d);
        }
        assert!(d.is_empty());
        finish(&mut d);
        assert_eq!(d.buckets(), INITIAL_BUCKETS);
        d.clear();
        assert_eq!((d.buckets(), d.mem_usage()), (0, 0));
    }

    #[test]
    fn rehash_completes_before_the_next_resize_is_due() {
        let mut d = Dict::new();
        for i in 0..100_000 {
            d.insert_new(e(i));
            // Each write moves at least one bucket: an N-bucket table is drained
            // by the N inserts that it takes to fill the doubled one, so a grow is
            // never held back by a rehash still under way.
            assert!(d.len() <= d.buckets());
        }
        check(&d);
        let mut rng = SmallRng::seed_from_u64(3);
        let mut keys: Vec<u32> = (0..100_000).collect();
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.random_range(0..=i));
        }
        for (n, i) in keys.iter().enumerate() {
            assert_eq!(d.remove(&k(*i)).map(|x| x.1), Some(*i));
            if n % 997 == 0 {
                check(&d);
            }
        }
        check(&d);
        assert!(d.is_empty());
        // Removals outpaced the last shrink; completing it shrinks again, all the way.
        finish(&mut d);
        assert_eq!(d.buckets(), INITIAL_BUCKETS);
    }

    #[test]
    fn reserve_and_with_capacity() {
        let mut d = Dict::with_capacity(1000);
        assert_eq!((d.buckets(), d.is_rehashing()), (1024, false));
        for i in 0..1000 {
            d.insert_new(e(i));
        }
        assert_eq!((d.buckets(), d.is_rehashing()), (1024, false));
        d.reserve(5000);
        assert_eq!((d.buckets(), d.is_rehashing()), (8192, true));
        check(&d);
        // A second reserve mid-rehash completes the first one.
        d.reserve(20_000);
        assert_eq!(d.buckets(), 32768);
        check(&d);
        d.reserve(usize::MAX);
        assert_eq!(d.buckets(), 32768);
        assert_eq!(d.iter().count(), 1000);
        for i in 0..1000 {
            assert!(d.contains(&k(i)));
        }
    }

    #[test]
    fn model_test_against_hashmap() {
        let mut rng = SmallRng::seed_from_u64(0xd1c7);
        let mut d: Dict<E> = Dict::new();
        let mut m: HashMap<Vec<u8>, u32> = HashMap::new();
        // Key space and phase flips so the table repeatedly grows and shrinks.
        for round in 0..40_000u32 {
            let growing = (round / 5000) % 2 == 0;
            let space = if round % 3 == 0 { 50 } else { 3000 };
            let key = k(rng.random_range(0..space));
            match rng.random_range(0..10) {
                0..=3 if growing => {
                    let v = rng.random();
                    assert_eq!(d.insert(E(key.clone(), v)).map(|x| x.1), m.insert(key, v));
                }
                0 | 1 => {
                    if let Entry::Vacant(slot) = m.entry(key.clone()) {
                        let v = rng.random();
                        d.insert_new(E(key, v));
                        slot.insert(v);
                    }
                }
                2..=5 => {
                    assert_eq!(d.remove(&key).map(|x| x.1), m.remove(&key));
                }
                6 => {
                    let got = d.get_mut(&key).map(|x| {
                        x.1 = x.1.wrapping_add(1);
                        x.1
                    });
                    let want = m.get_mut(&key).map(|v| {
                        *v = v.wrapping_add(1);
                        *v
                    });
                    assert_eq!(got, want);
                }
                7 => assert_eq!(d.contains(&key), m.contains_key(&key)),
                _ => assert_eq!(d.get(&key).map(|x| x.1), m.get(&key).copied()),
            }
            assert_eq!(d.len(), m.len());
            if round % 500 == 0 {
                check(&d);
                let got: HashMap<Vec<u8>, u32> = d.iter().map(|x| (x.0.clone(), x.1)).collect();
                assert_eq!(got, m);
                assert_eq!(d.iter().count(), m.len());
            }
        }
        check(&d);
    }

    /// Scans the whole dict with `mutate` run between steps; returns what was seen.
    fn scan_all(d: &mut Dict<E>, mut mutate: impl FnMut(&mut Dict<E>)) -> HashMap<u32, usize> {
        let mut seen = HashMap::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = d.scan_step(cursor, |x| *seen.entry(x.1).or_insert(0) += 1);
            steps += 1;
            assert!(steps < 10_000_000, "scan does not terminate");
            if cursor == 0 {
                return seen;
            }
            mutate(d);
        }
    }

    #[test]
    fn scan_without_changes_returns_each_element_once() {
        for n in [1u32, 3, 4, 5, 100, 5000] {
            let mut d = mid_rehash(n);
            // Mid-rehash tables too: both tables are consulted.
            let seen = scan_all(&mut d, |_| {});
            assert_eq!(seen.len(), n as usize);
            assert!(seen.values().all(|&c| c == 1), "duplicates at n={n} while rehashing");
            finish(&mut d);
            let seen = scan_all(&mut d, |_| {});
            assert_eq!(seen.len(), n as usize);
            assert!(seen.values().all(|&c| c == 1), "duplicates at n={n}");
        }
    }

    #[test]
    fn scan_guarantee_while_growing() {
        // A cursor advances by one bucket of the current table per step, so a scan
        // only ends if the table grows slower than that: a few inserts per step.
        for (start, per_step) in [(2u32, 2u32), (4, 1), (10, 1), (100, 1), (1000, 2), (3, 3)] {
            let mut d: Dict<E> = (0..start).map(e).collect();
            let mut next_new = 1_000_000;
            let before = d.buckets();
            let mut saw_rehash = false;
            let seen = scan_all(&mut d, |d| {
                for _ in 0..per_step {
                    d.insert(e(next_new));
                    next_new += 1;
                }
                saw_rehash |= d.is_rehashing();
            });
            assert!(saw_rehash, "no resize during the scan (start {start})");
            assert!(
                d.buckets() >= 2 * before,
                "table did not grow ({before} -> {})",
                d.buckets()
            );
            for i in 0..start {
                assert!(seen.contains_key(&i), "missed {i} (start {start}, per step {per_step})");
            }
            check(&d);
        }
    }

    #[test]
    fn scan_guarantee_while_shrinking() {
        for (total, keep, per_step) in [(20_000u32, 50u32, 30usize), (5000, 500, 3), (3000, 10, 500)] {
            let mut d: Dict<E> = (0..total).map(e).collect();
            finish(&mut d);
            let before = d.buckets();
            // Elements >= keep are deleted during the scan; those below must be seen.
            let mut doomed: Vec<u32> = (keep..total).collect();
            let seen = scan_all(&mut d, |d| {
                for _ in 0..per_step {
                    if let Some(i) = doomed.pop() {
                        assert!(d.remove(&k(i)).is_some());
                    }
                }
            });
            assert!(
                d.buckets() * 8 <= before,
                "table did not shrink ({} -> {})",
                before,
                d.buckets()
            );
            for i in 0..keep {
                assert!(seen.contains_key(&i), "missed {i} (total {total}, keep {keep})");
            }
            check(&d);
        }
    }

    #[test]
    fn scan_guarantee_under_random_churn() {
        let mut rng = SmallRng::seed_from_u64(99);
        for trial in 0..20 {
            let stable: u32 = rng.random_range(1..400);
            let mut d: Dict<E> = (0..stable).map(e).collect();
            let mut extra: Vec<u32> = Vec::new();
            let mut next_new = 1_000_000;
            let grow_bias = rng.random_range(0..3);
            // Bounded growth, or the scan would chase an ever larger table.
            let cap = rng.random_range(1..3000);
            let seen = scan_all(&mut d, |d| {
                for _ in 0..rng.random_range(0..60) {
                    let grow = rng.random_range(0..3) < grow_bias || extra.is_empty();
                    if grow && extra.len() < cap {
                        d.insert(e(next_new));
                        extra.push(next_new);
                        next_new += 1;
                    } else if !extra.is_empty() {
                        let j = rng.random_range(0..extra.len());
                        let victim = extra.swap_remove(j);
                        assert!(d.remove(&k(victim)).is_some());
                    }
                }
            });
            for i in 0..stable {
                assert!(seen.contains_key(&i), "trial {trial}: missed {i}");
            }
            check(&d);
        }
    }

    #[test]
    fn random_reaches_every_element() {
        let mut rng = SmallRng::seed_from_u64(5);
        for n in [1u32, 2, 7, 50] {
            let mut d = mid_rehash(n);
            for rehashing in [true, false] {
                if !rehashing {
                    finish(&mut d);
                }
                let mut a = HashSet::new();
                let mut b = HashSet::new();
                for _ in 0..(n * 200) {
                    a.insert(d.random(&mut rng).unwrap().1);
                    b.insert(d.fair_random(&mut rng).unwrap().1);
                }
                assert_eq!(a.len(), n as usize);
                assert_eq!(b.len(), n as usize);
            }
        }
    }

    #[test]
    fn random_in_sparse_rehashing_table_terminates() {
        let mut d: Dict<E> = (0..5000).map(e).collect();
        finish(&mut d);
        d.reserve(1 << 16);
        assert!(d.is_rehashing());
        // Delete all but one through the back door (no rehash steps, no shrink).
        let keep = 4321;
        for i in 0..5000 {
            if i != keep {
                let h = hash_bytes(&k(i));
                let r = d.rehash.as_deref_mut().unwrap();
                let b = d.table.get_mut(slot_of(h, d.table.len())).unwrap();
                if unlink(Some(b), h, &k(i)).is_none() {
                    unlink(r.to.get_mut(slot_of(h, r.to.len())), h, &k(i)).unwrap();
                } else {
                    r.left -= 1;
                }
                d.len -= 1;
            }
        }
        check(&d);
        let mut rng = SmallRng::seed_from_u64(8);
        for _ in 0..20 {
            assert_eq!(d.random(&mut rng).map(|x| x.1), Some(keep));
            assert_eq!(d.fair_random(&mut rng).map(|x| x.1), Some(keep));
        }
    }

    #[test]
    fn sample_returns_distinct_elements() {
        let mut rng = SmallRng::seed_from_u64(11);
        let mut d = mid_rehash(1000);
        for _ in 0..2 {
            for count in [1usize, 5, 20, 999, 1000, 5000] {
                let s = d.sample(&mut rng, count);
                // Small counts get few probes and may come back empty (fair_random
                // then falls back to random); big ones cannot miss every bucket.
                assert!(count < 20 || !s.is_empty());
                assert!(s.len() <= count.min(1000));
                let distinct: HashSet<u32> = s.iter().map(|x| x.1).collect();
                assert_eq!(distinct.len(), s.len());
            }
            finish(&mut d);
        }
        // Fair random is much less biased than bucket-then-chain picking is allowed to be:
        // every element turns up within a generous number of draws.
        let mut seen = HashSet::new();
        for _ in 0..200_000 {
            seen.insert(d.fair_random(&mut rng).unwrap().1);
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn iter_mut_drain_into_iter_extend() {
        let mut d = mid_rehash(300);
        assert!(d.is_rehashing());
        for x in d.iter_mut() {
            x.1 += 1000;
        }
        let mut vals: Vec<u32> = d.iter().map(|x| x.1).collect();
        vals.sort_unstable();
        assert_eq!(vals, (1000..1300).collect::<Vec<_>>());
        let c = d.clone();
        let mut dr = d.drain();
        assert_eq!(dr.len(), 300);
        let firsts: Vec<E> = dr.by_ref().take(10).collect();
        assert_eq!(dr.len(), 290);
        drop(dr);
        assert_eq!(firsts.len(), 10);
        assert!(d.is_empty());
        assert_eq!((d.buckets(), d.mem_usage()), (0, 0));
        d.insert(e(1));
        assert_eq!(d.len(), 1);
        let mut all: Vec<u32> = c.into_iter().map(|x| x.1).collect();
        all.sort_unstable();
        assert_eq!(all, (1000..1300).collect::<Vec<_>>());
        d.extend((0..10).map(e));
        assert_eq!(d.len(), 10);
        check(&d);
    }

    #[test]
    fn clone_is_deep_and_identical_in_shape() {
        let mut d = mid_rehash(777);
        assert!(d.is_rehashing());
        let c = d.clone();
        check(&c);
        assert_eq!(c.stats(), d.stats());
        let order = |d: &Dict<E>| d.iter().map(|x| x.1).collect::<Vec<_>>();
        assert_eq!(order(&c), order(&d));
        d.get_mut(&k(5)).unwrap().1 = 0;
        d.remove(&k(6));
        assert_eq!(c.get(&k(5)).map(|x| x.1), Some(5));
        assert!(c.contains(&k(6)));
        assert_eq!(c.len(), 777);
    }

    #[test]
    fn elements_are_dropped_exactly_once() {
        #[derive(Clone)]
        struct R(Vec<u8>, #[allow(dead_code)] Rc<()>);
        impl DashKey for R {
            fn key(&self) -> &[u8] {
                &self.0
            }
        }
        let token = Rc::new(());
        {
            let mut d = Dict::new();
            for i in 0..2000 {
                d.insert(R(k(i), token.clone()));
            }
            d.insert(R(k(1), token.clone()));
            for i in 0..500 {
                d.remove(&k(i));
            }
            let c = d.clone();
            assert_eq!(Rc::strong_count(&token), 1 + 2 * 1500);
            let _ = d.drain().take(3).count();
            assert_eq!(Rc::strong_count(&token), 1 + 1500);
            let mut c2 = c.clone();
            c2.clear();
            assert_eq!(Rc::strong_count(&token), 1 + 1500);
        }
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn a_resize_ends_once_the_old_table_is_empty() {
        // Three elements near the start of a 4096-bucket table, then a shrink: it
        // ends when they have moved, not after walking all 4096 buckets (Redis
        // compat: dict.c dictRehash checks ht_used[0]).
        let mut d: Dict<E> = Dict::new();
        d.reserve(4096);
        let near: Vec<u32> = (0..)
            .filter(|&i| slot_of(hash_bytes(&k(i)), 4096) < 100)
            .take(3)
            .collect();
        for &i in &near {
            d.insert(e(i));
        }
        assert_eq!((d.buckets(), d.is_rehashing()), (4096, false));
        d.resize(8);
        check(&d);
        let mut steps = 0;
        while d.is_rehashing() {
            d.rehash_steps(1);
            steps += 1;
        }
        assert!(steps <= 13, "{steps} steps");
        assert_eq!(d.buckets(), 8);
        assert!(near.iter().all(|&i| d.get(&k(i)) == Some(&e(i))));
        check(&d);
    }

    /// A dict whose `n` elements all sit in bucket `at` of `buckets` (built by hand:
    /// their hashes do not choose that bucket).
    fn one_chain(n: u32, buckets: usize, at: usize) -> Dict<E> {
        let mut d: Dict<E> = Dict::new();
        d.table = empty_table(buckets);
        for i in 0..n {
            let next = d.table[at].take();
            d.table[at] = Some(Box::new(Node {
                elem: e(i),
                next,
                hash: hash_bytes(&k(i)),
            }));
        }
        d.len = n as usize;
        d
    }

    /// One chain of 200 elements among 512 buckets (what removing the first part of
    /// a SCAN leaves after a shrink): fair_random must reach its tail too.
    #[test]
    fn fair_random_reaches_the_end_of_a_long_chain() {
        let n = 200u32;
        let mut d = one_chain(n, 512, 7);
        let mut rng = SmallRng::seed_from_u64(5);
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            seen.insert(d.fair_random(&mut rng).unwrap().1);
        }
        assert_eq!(seen.len(), n as usize);
        // Let drop see a table whose chains hash where they sit.
        d.clear();
    }

    /// A chain far longer than any real one (forced by building the table by hand):
    /// drop, clone, drain and remove must not recurse per node.
    #[test]
    fn huge_chain_does_not_overflow_the_stack() {
        let n = 300_000u32;
        let mut d = one_chain(n, 1, 0);
        assert_eq!(d.get(&k(0)).map(|x| x.1), Some(0));
        assert_eq!(d.stats()[0].max_chain, n as usize);
        let c = d.clone();
        let mut c2 = c.clone();
        assert_eq!(c2.remove(&k(0)).map(|x| x.1), Some(0));
        drop(c);
        let _ = c2.drain().take(1).count();
        d.clear();
        let mut d2: Dict<E> = Dict::new();
        d2.table = empty_table(1);
        for i in 0..n {
            let next = d2.table[0].take();
            d2.table[0] = Some(Box::new(Node {
                elem: e(i),
                next,
                hash: hash_bytes(&k(i)),
            }));
        }
        d2.len = n as usize;
        drop(d2);
    }

    #[test]
    fn stats_and_mem_usage() {
        let mut d = mid_rehash(100);
        let st = d.stats();
        assert_eq!(st.len(), 2);
        assert_eq!(st.iter().map(|s| s.used).sum::<usize>(), 100);
        for s in &st {
            assert_eq!(s.chains.iter().sum::<usize>(), s.size);
            assert!(s.slots <= s.size && s.max_chain <= s.used);
        }
        finish(&mut d);
        let st = d.stats();
        assert_eq!(st.len(), 1);
        // mid_rehash reserved room for len + 128 buckets' worth.
        assert_eq!((st[0].size, st[0].used), (256, 100));
        let node = alloc_size(std::mem::size_of::<Node<E>>());
        assert_eq!(d.mem_usage(), 256 * 8 + 100 * node);
        assert_eq!(node, 48); // Vec (24) + u32 + link, in the 48-byte class
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(24), 32);
        assert_eq!(alloc_size(129), 160);
        assert_eq!(alloc_size(4096), 4096);
        assert_eq!(alloc_size(4097), 5120);
    }

    #[test]
    fn a_defrag_walk_in_steps_visits_every_element_once_even_mid_resize() {
        let mut d: Dict<E> = Dict::new();
        for i in 0..3000 {
            d.insert(e(i));
        }
        // Mid-resize walks cover both tables.
        while !d.is_rehashing() {
            let n = d.len() as u32;
            d.insert(e(n));
        }
        let mut seen = HashSet::new();
        let mut m = crate::ds::defrag::Defrag::default();
        let (mut pos, mut steps) = (0, 0);
        loop {
            let next = d.defrag_step(pos, 7, &mut m, |x, _| assert!(seen.insert(x.1), "visited twice"));
            steps += 1;
            match next {
                Some(p) => pos = p,
                None => break,
            }
        }
        assert_eq!(seen.len(), d.len());
        assert!(steps > d.len() / 8, "each step stops near its budget");
    }
}
