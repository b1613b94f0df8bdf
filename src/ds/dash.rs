//! DashTable: an extendible-hashing table. A directory of 2^G slots points at
//! fixed-size segments; a full segment splits alone (bounded work, no global rehash).
//! Invariant: an entry's (bucket, slot) position never changes once placed (a split
//! keeps it too), so SCAN cursors of the form (segment prefix, bucket) return every
//! entry that was present for the whole scan at least once (Redis's SCAN guarantee).
use ahash::RandomState;
use rand::Rng;

/// Slots per bucket. A bucket is 8 tag bytes + 8 pointer-sized slots.
const SLOTS: usize = 8;
/// Buckets per segment (a power of two).
const BUCKETS: usize = 128;
/// An entry lives in its home bucket or one of the next PROBE-1 buckets (wrapping).
/// Entries never move once placed, so lookups scan up to the segment's largest
/// displacement in use; a segment splits only when a whole window is full.
const PROBE: usize = 8;
/// Buckets of a segment a snapshot walk saves at once (`snap_save_part`).
pub const SNAP_PART: usize = 32;
const BUCKET_BITS: u32 = 7;
/// Segments never get deeper than this; past it, overflow goes to the segment stash.
const MAX_DEPTH: u32 = 32;

/// Anything stored in a DashTable exposes the key it is hashed by.
pub trait DashKey {
    fn key(&self) -> &[u8];

    /// Where the entry's key lives when it is out of line (for [`DashTable::prefetch_entries`]).
    fn key_addr(&self) -> Option<*const u8> {
        None
    }

    /// The hash the entry was placed by, when it holds it (an index of hashes placed by
    /// another table's hasher); else the table hashes `key()`.
    fn stored_hash(&self) -> Option<u64> {
        None
    }
}

struct Bucket<T> {
    tags: [u8; SLOTS],
    /// The top 32 hash bits of each entry: a split decides where an entry goes
    /// from these alone, without touching (and cache-missing on) the entry itself.
    hi: [u32; SLOTS],
    slots: [Option<T>; SLOTS],
}

impl<T> Bucket<T> {
    fn new() -> Self {
        Self {
            tags: [0; SLOTS],
            hi: [0; SLOTS],
            slots: std::array::from_fn(|_| None),
        }
    }

    /// Whether slot `s` may hold an entry of hash `h`: its tag and top bits match
    /// (a false match once in about 2^30 for a table of a million keys, where a tag
    /// alone matches one slot in 256 and costs a cache miss on the entry's key).
    #[inline]
    fn may_hold(&self, s: usize, h: u64) -> bool {
        self.tags[s] == tag_of(h) && self.hi[s] == (h >> 32) as u32
    }

    fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(|s| s.is_none())
    }
}

struct Segment<T> {
    depth: u32,
    len: usize,
    /// Per home bucket: the largest displacement of an entry hashed to it (lookups
    /// of a key scan only that far). Never decreases until the segment splits.
    disp: [u8; BUCKETS],
    buckets: Box<[Bucket<T>]>,
    /// Entries that fit nowhere even at MAX_DEPTH (only with pathological hashes).
    stash: Vec<T>,
    /// Snapshot marks: bit b set when bucket b was saved (bit BUCKETS: the stash). A
    /// split copies them: entries keep their bucket, so each half of an unsaved bucket
    /// holds only entries of the snapshot.
    saved: u128,
    stash_saved: bool,
}

impl<T> Segment<T> {
    fn new(depth: u32) -> Self {
        Self {
            depth,
            len: 0,
            disp: [0; BUCKETS],
            buckets: (0..BUCKETS).map(|_| Bucket::new()).collect(),
            stash: Vec::new(),
            saved: 0,
            stash_saved: false,
        }
    }
}

/// Where an entry sits: segment, bucket, slot (slot == SLOTS + i means stash[i]).
/// Valid until the table is next modified.
#[derive(Clone, Copy, Debug)]
pub struct Pos {
    seg: usize,
    bucket: usize,
    slot: usize,
}

pub struct DashTable<T> {
    dir: Vec<u32>,
    /// Boxed so that growing this vector moves pointers, not segment headers.
    #[allow(clippy::vec_box)]
    segs: Vec<Box<Segment<T>>>,
    global_depth: u32,
    len: usize,
    hasher: RandomState,
}

#[inline]
fn tag_of(h: u64) -> u8 {
    h as u8
}

#[inline]
fn bucket_of(h: u64) -> usize {
    ((h >> 8) as usize) & (BUCKETS - 1)
}

impl<T: DashKey> Default for DashTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DashKey> DashTable<T> {
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    pub fn with_hasher(hasher: RandomState) -> Self {
        Self {
            dir: vec![0],
            segs: vec![Box::new(Segment::new(0))],
            global_depth: 0,
            len: 0,
            hasher,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the table itself holds: its directory, segments and slots (not what its
    /// entries point to).
    pub fn table_bytes(&self) -> usize {
        use std::mem::size_of;
        let segs: usize = self
            .segs
            .iter()
            .map(|s| {
                size_of::<Segment<T>>() + s.buckets.len() * size_of::<Bucket<T>>() + s.stash.capacity() * size_of::<T>()
            })
            .sum();
        self.dir.capacity() * size_of::<u32>() + self.segs.capacity() * size_of::<usize>() + segs
    }

    /// Slots allocated (for INFO-style accounting and load factor).
    pub fn capacity(&self) -> usize {
        self.segs.len() * BUCKETS * SLOTS
    }

    pub fn segments(&self) -> usize {
        self.segs.len()
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn seg_index(&self, h: u64) -> usize {
        let i = if self.global_depth == 0 {
            0
        } else {
            (h >> (64 - self.global_depth)) as usize
        };
        self.dir.get(i).copied().unwrap_or(0) as usize
    }

    /// Starts loading the header of the segment of hash `h` into the cache: the step
    /// before [`Self::prefetch_bucket`] (which reads it) when there is time for two.
    #[inline]
    pub fn prefetch_segment(&self, h: u64) {
        if let Some(seg) = self.segs.get(self.seg_index(h)) {
            crate::util::mem::prefetch(&**seg as *const Segment<T>);
        }
    }

    /// Starts loading the home bucket of hash `h` into the cache. Lookups are bound
    /// by cache misses on big tables: prefetching the buckets of a batch of keys
    /// first lets their misses overlap instead of coming one after the other.
    #[inline]
    pub fn prefetch_bucket(&self, h: u64) {
        if let Some(seg) = self.segs.get(self.seg_index(h)) {
            let b0 = bucket_of(h);
            crate::util::mem::prefetch(seg.disp.as_ptr().wrapping_add(b0));
            // A bucket spans two or three cache lines.
            let b = seg.buckets.as_ptr().wrapping_add(b0).cast::<u8>();
            let size = std::mem::size_of::<Bucket<T>>();
            crate::util::mem::prefetch(b);
            crate::util::mem::prefetch(b.wrapping_add(64.min(size - 1)));
            crate::util::mem::prefetch(b.wrapping_add(size - 1));
        }
    }

    /// The second step after [`Self::prefetch_bucket`]: starts loading the entries of
    /// the home bucket whose tag matches `h` (reads the bucket, so call it once the
    /// bucket had time to arrive).
    #[inline]
    pub fn prefetch_entries(&self, h: u64) {
        let Some(seg) = self.segs.get(self.seg_index(h)) else {
            return;
        };
        let Some(b) = seg.buckets.get(bucket_of(h)) else {
            return;
        };
        for s in 0..SLOTS {
            if b.may_hold(s, h) {
                if let Some(p) = b.slots[s].as_ref().and_then(|e| e.key_addr()) {
                    crate::util::mem::prefetch(p);
                }
            }
        }
    }

    /// Finds the position of `key` (hash `h`).
    pub fn find(&self, h: u64, key: &[u8]) -> Option<Pos> {
        let si = self.seg_index(h);
        let seg = self.segs.get(si)?;
        let b0 = bucket_of(h);
        let reach = seg.disp.get(b0).copied().unwrap_or(0) as usize;
        for d in 0..=reach {
            let bi = (b0 + d) & (BUCKETS - 1);
            let b = &seg.buckets[bi];
            for s in 0..SLOTS {
                if b.may_hold(s, h) {
                    if let Some(e) = &b.slots[s] {
                        if e.key() == key {
                            return Some(Pos {
                                seg: si,
                                bucket: bi,
                                slot: s,
                            });
                        }
                    }
                }
            }
        }
        seg.stash.iter().position(|e| e.key() == key).map(|i| Pos {
            seg: si,
            bucket: 0,
            slot: SLOTS + i,
        })
    }

    /// Calls `f` on every entry whose key hashes to `h` (the entries a hash names,
    /// for indexes that keep hashes instead of keys).
    pub fn for_each_hashed(&self, h: u64, mut f: impl FnMut(&T)) {
        self.find_hashed(h, |e| {
            f(e);
            false
        });
    }

    /// The first entry whose key hashes to `h` and that `pred` accepts.
    pub fn find_hashed(&self, h: u64, mut pred: impl FnMut(&T) -> bool) -> Option<&T> {
        let si = self.seg_index(h);
        let seg = self.segs.get(si)?;
        let b0 = bucket_of(h);
        let reach = seg.disp.get(b0).copied().unwrap_or(0) as usize;
        let mut named = |e: &T| self.hash(e.key()) == h && pred(e);
        for d in 0..=reach {
            let b = &seg.buckets[(b0 + d) & (BUCKETS - 1)];
            for s in 0..SLOTS {
                if b.may_hold(s, h) {
                    if let Some(e) = b.slots[s].as_ref().filter(|e| named(e)) {
                        return Some(e);
                    }
                }
            }
        }
        seg.stash.iter().find(|e| named(e))
    }

    pub fn at(&self, p: Pos) -> Option<&T> {
        let seg = self.segs.get(p.seg)?;
        if p.slot >= SLOTS {
            seg.stash.get(p.slot - SLOTS)
        } else {
            seg.buckets.get(p.bucket)?.slots.get(p.slot)?.as_ref()
        }
    }

    pub fn at_mut(&mut self, p: Pos) -> Option<&mut T> {
        let seg = self.segs.get_mut(p.seg)?;
        if p.slot >= SLOTS {
            seg.stash.get_mut(p.slot - SLOTS)
        } else {
            seg.buckets.get_mut(p.bucket)?.slots.get_mut(p.slot)?.as_mut()
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        let h = self.hash(key);
        self.get_hashed(h, key)
    }

    pub fn get_hashed(&self, h: u64, key: &[u8]) -> Option<&T> {
        self.find(h, key).and_then(|p| self.at(p))
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let h = self.hash(key);
        self.get_mut_hashed(h, key)
    }

    pub fn get_mut_hashed(&mut self, h: u64, key: &[u8]) -> Option<&mut T> {
        let p = self.find(h, key)?;
        self.at_mut(p)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Inserts or replaces; returns the previous entry with the same key.
    pub fn insert(&mut self, e: T) -> Option<T> {
        let h = self.hash(e.key());
        self.insert_hashed(h, e)
    }

    pub fn insert_hashed(&mut self, h: u64, e: T) -> Option<T> {
        if let Some(p) = self.find(h, e.key()) {
            let slot = self.at_mut(p)?;
            return Some(std::mem::replace(slot, e));
        }
        self.insert_new(h, e);
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, h: u64, e: T) {
        let mut e = e;
        loop {
            match self.try_place(h, e) {
                Ok(()) => {
                    self.len += 1;
                    return;
                }
                Err(back) => {
                    e = back;
                    let si = self.seg_index(h);
                    if !self.split(si, h) {
                        // Cannot split further: keep it in the stash.
                        if let Some(seg) = self.segs.get_mut(si) {
                            seg.stash.push(e);
                            seg.len += 1;
                            self.len += 1;
                        }
                        return;
                    }
                }
            }
        }
    }

    fn try_place(&mut self, h: u64, e: T) -> Result<(), T> {
        let si = self.seg_index(h);
        let Some(seg) = self.segs.get_mut(si) else {
            return Err(e);
        };
        let b0 = bucket_of(h);
        for d in 0..PROBE {
            let b = &mut seg.buckets[(b0 + d) & (BUCKETS - 1)];
            if let Some(s) = b.free_slot() {
                b.tags[s] = tag_of(h);
                b.hi[s] = (h >> 32) as u32;
                b.slots[s] = Some(e);
                seg.len += 1;
                if let Some(m) = seg.disp.get_mut(b0) {
                    *m = (*m).max(d as u8);
                }
                return Ok(());
            }
        }
        Err(e)
    }

    /// Splits segment `si` in two by the next hash bit, doubling the directory
    /// if needed. Entries keep their bucket and slot. False when too deep.
    /// `h` is the hash of any key of the segment (locates its directory range).
    fn split(&mut self, si: usize, h: u64) -> bool {
        let depth = match self.segs.get(si) {
            Some(s) => s.depth,
            None => return false,
        };
        if depth >= MAX_DEPTH {
            return false;
        }
        if depth == self.global_depth {
            let mut nd = Vec::with_capacity(self.dir.len() * 2);
            for &d in &self.dir {
                nd.push(d);
                nd.push(d);
            }
            self.dir = nd;
            self.global_depth += 1;
        }
        let new_index = self.segs.len();
        let mut fresh = Box::new(Segment::new(depth + 1));
        if let Some(s) = self.segs.get(si) {
            fresh.disp = s.disp;
            fresh.saved = s.saved;
            fresh.stash_saved = s.stash_saved;
        }
        let bit = 63 - depth;
        let hasher = &self.hasher;
        let Some(old) = self.segs.get_mut(si) else {
            return false;
        };
        old.depth = depth + 1;
        // depth < MAX_DEPTH = 32, so the deciding bit is within the stored top bits.
        let hi_bit = 31 - depth;
        for (bi, b) in old.buckets.iter_mut().enumerate() {
            for s in 0..SLOTS {
                let moves = b.slots[s].is_some() && (b.hi[s] >> hi_bit) & 1 == 1;
                if moves {
                    fresh.buckets[bi].slots[s] = b.slots[s].take();
                    fresh.buckets[bi].tags[s] = b.tags[s];
                    fresh.buckets[bi].hi[s] = b.hi[s];
                    fresh.len += 1;
                    old.len -= 1;
                }
            }
        }
        let stash = std::mem::take(&mut old.stash);
        for e in stash {
            let h = e.stored_hash().unwrap_or_else(|| hasher.hash_one(e.key()));
            if (h >> bit) & 1 == 1 {
                fresh.stash.push(e);
                fresh.len += 1;
                old.len -= 1;
            } else {
                old.stash.push(e);
            }
        }
        self.segs.push(fresh);
        // Directory slots of the old segment whose next bit is 1 now point to the new one.
        // The segment owned a contiguous run of 2^(G-depth) directory slots; the
        // upper half of that run now points to the new segment.
        let g = self.global_depth;
        let di = (h >> (64 - g)) as usize;
        let span = 1usize << (g - depth);
        let start = di & !(span - 1);
        if let Some(run) = self.dir.get_mut(start + span / 2..start + span) {
            run.fill(new_index as u32);
        }
        true
    }

    /// Snapshot support: marks every bucket unsaved. While a snapshot runs, the caller
    /// saves a bucket (`snap_save_*`) before changing anything in it, and walks the
    /// segments by index (`snap_save_part`); splits append segments whose marks are
    /// inherited, so a walk up to `segments()` sees every entry present at the start
    /// exactly once.
    pub fn snap_clear(&mut self) {
        for s in &mut self.segs {
            s.saved = 0;
            s.stash_saved = false;
        }
    }

    /// Saves (calls `f` on every entry of) the bucket holding `key`, unless saved
    /// already. False when the key is absent.
    pub fn snap_save_key<F: FnMut(&T)>(&mut self, h: u64, key: &[u8], mut f: F) -> bool {
        let Some(p) = self.find(h, key) else {
            return false;
        };
        if let Some(seg) = self.segs.get_mut(p.seg) {
            if p.slot >= SLOTS {
                save_stash(seg, &mut f);
            } else {
                save_bucket(seg, p.bucket, &mut f);
            }
        }
        true
    }

    /// Saves every bucket an insert of hash `h` may land in (its probe window and the
    /// stash), unless saved already.
    pub fn snap_save_window<F: FnMut(&T)>(&mut self, h: u64, mut f: F) {
        let si = self.seg_index(h);
        let b0 = bucket_of(h);
        if let Some(seg) = self.segs.get_mut(si) {
            for d in 0..PROBE {
                save_bucket(seg, (b0 + d) & (BUCKETS - 1), &mut f);
            }
            save_stash(seg, &mut f);
        }
    }

    /// Saves every unsaved bucket of segment `si` among `SNAP_PART` buckets from
    /// `from`, and its stash with the last of them: a walk takes a segment in parts,
    /// so that a step can end at a finer grain. None when there is no such segment;
    /// Some(true) when that part was the segment's last.
    /// `warm` first sees every entry of the part: touching each entry's memory in a
    /// loop without dependencies lets the CPU overlap the cache misses, which the
    /// serializing pass (a long dependent chain per entry) cannot.
    pub fn snap_save_part<W: FnMut(&T), F: FnMut(&T)>(
        &mut self,
        si: usize,
        from: usize,
        warm: W,
        mut f: F,
    ) -> Option<bool> {
        let seg = self.segs.get_mut(si)?;
        let end = (from + SNAP_PART).min(BUCKETS);
        let part = seg.buckets.get(from..end).unwrap_or_default();
        part.iter()
            .enumerate()
            .filter(|(b, _)| seg.saved & (1u128 << (from + b)) == 0)
            .flat_map(|(_, bk)| bk.slots.iter().flatten())
            .for_each(warm);
        for b in from..end {
            save_bucket(seg, b, &mut f);
        }
        let last = end == BUCKETS;
        if last {
            save_stash(seg, &mut f);
        }
        Some(last)
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let h = self.hash(key);
        self.remove_hashed(h, key)
    }

    pub fn remove_hashed(&mut self, h: u64, key: &[u8]) -> Option<T> {
        let p = self.find(h, key)?;
        let seg = self.segs.get_mut(p.seg)?;
        let e = if p.slot >= SLOTS {
            let i = p.slot - SLOTS;
            if i < seg.stash.len() {
                Some(seg.stash.swap_remove(i))
            } else {
                None
            }
        } else {
            let b = seg.buckets.get_mut(p.bucket)?;
            b.tags[p.slot] = 0;
            b.slots[p.slot].take()
        };
        if e.is_some() {
            seg.len -= 1;
            self.len -= 1;
        }
        e
    }

    /// Removes everything, returning the old table (so the caller may drop it
    /// elsewhere, e.g. on a background thread).
    pub fn take(&mut self) -> DashTable<T> {
        let fresh = DashTable::with_hasher(self.hasher.clone());
        std::mem::replace(self, fresh)
    }

    /// Every entry, moved out (in `iter`'s order).
    pub fn into_entries(self) -> impl Iterator<Item = T> {
        self.segs.into_iter().flat_map(|s| {
            let Segment { buckets, stash, .. } = *s;
            buckets
                .into_vec()
                .into_iter()
                .flat_map(|b| b.slots.into_iter().flatten())
                .chain(stash)
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.segs.iter().flat_map(|s| {
            s.buckets
                .iter()
                .flat_map(|b| b.slots.iter().filter_map(|e| e.as_ref()))
                .chain(s.stash.iter())
        })
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.segs.iter_mut().flat_map(|s| {
            s.buckets
                .iter_mut()
                .flat_map(|b| b.slots.iter_mut().filter_map(|e| e.as_mut()))
                .chain(s.stash.iter_mut())
        })
    }

    /// Visits one bucket (and, at a segment's last bucket, its stash) at `cursor`,
    /// calling `f` on every entry, and returns the next cursor (0 when done).
    /// Cursor layout: segment prefix (top 32 hash bits) << 7 | bucket.
    pub fn scan_step<F: FnMut(&T)>(&self, cursor: u64, mut f: F) -> u64 {
        let (si, bucket, next) = self.scan_at(cursor);
        let Some(seg) = self.segs.get(si) else {
            return 0;
        };
        if let Some(b) = seg.buckets.get(bucket) {
            b.slots.iter().flatten().for_each(&mut f);
        }
        if bucket + 1 == BUCKETS {
            seg.stash.iter().for_each(&mut f);
        }
        next
    }

    /// `scan_step` with mutable entries (which must keep their keys).
    pub fn scan_step_mut<F: FnMut(&mut T)>(&mut self, cursor: u64, mut f: F) -> u64 {
        let (si, bucket, next) = self.scan_at(cursor);
        let Some(seg) = self.segs.get_mut(si) else {
            return 0;
        };
        if let Some(b) = seg.buckets.get_mut(bucket) {
            b.slots.iter_mut().flatten().for_each(&mut f);
        }
        if bucket + 1 == BUCKETS {
            seg.stash.iter_mut().for_each(&mut f);
        }
        next
    }

    /// The segment and bucket a scan visits at `cursor`, and the cursor after it.
    fn scan_at(&self, cursor: u64) -> (usize, usize, u64) {
        let prefix = (cursor >> BUCKET_BITS) as u32 as u64;
        let bucket = (cursor as usize) & (BUCKETS - 1);
        let di = if self.global_depth == 0 {
            0
        } else {
            (prefix >> (32 - self.global_depth)) as usize
        };
        let si = self.dir.get(di).copied().unwrap_or(0) as usize;
        if bucket + 1 < BUCKETS {
            return (
                si,
                bucket,
                ((cursor >> BUCKET_BITS) << BUCKET_BITS) | (bucket as u64 + 1),
            );
        }
        let depth = self.segs.get(si).map_or(0, |s| s.depth);
        let span = 1u64 << (32 - depth.min(32));
        let start = prefix & !(span - 1);
        let next = start + span;
        (si, bucket, if next >= 1u64 << 32 { 0 } else { next << BUCKET_BITS })
    }

    /// A random entry, or None when empty: random slots of random segments until one
    /// is taken, so every entry is about equally likely (walking on from a random
    /// slot instead would favour the entries after long runs of empty slots). A
    /// table so sparse that this keeps missing picks the k-th entry instead.
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let cap = BUCKETS * SLOTS;
        for _ in 0..RANDOM_TRIES {
            let seg = self.segs.get(rng.random_range(0..self.segs.len()))?;
            if seg.len == 0 {
                continue;
            }
            let p = rng.random_range(0..cap + seg.stash.len());
            if p >= cap {
                return seg.stash.get(p - cap);
            }
            if let Some(e) = seg.buckets[p / SLOTS].slots[p % SLOTS].as_ref() {
                return Some(e);
            }
        }
        let k = rng.random_range(0..self.len);
        self.iter().nth(k)
    }
}

impl<T: DashKey> DashTable<T> {
    /// `n` entries drawn as `random` draws one (into `out`; fewer only when the table
    /// is nearly empty), with the slots of a round of draws loaded together: their
    /// cache misses overlap instead of adding up. A draw may repeat an entry.
    pub fn random_many<'a, R: Rng>(&'a self, rng: &mut R, n: usize, out: &mut Vec<&'a T>) {
        const ROUND: usize = 16;
        let cap = BUCKETS * SLOTS;
        let want = out.len() + n;
        if self.len == 0 {
            return;
        }
        for _ in 0..64 {
            let k = (want - out.len()).min(ROUND);
            if k == 0 {
                return;
            }
            let mut picks = [(0usize, 0usize); ROUND];
            for pick in picks.iter_mut().take(k) {
                *pick = (rng.random_range(0..self.segs.len()), rng.random_range(0..cap));
                if let Some(seg) = self.segs.get(pick.0) {
                    crate::util::mem::prefetch(&seg.buckets[pick.1 / SLOTS].slots[pick.1 % SLOTS] as *const Option<T>);
                }
            }
            for &(si, p) in picks.iter().take(k) {
                let slot = self
                    .segs
                    .get(si)
                    .and_then(|seg| seg.buckets[p / SLOTS].slots[p % SLOTS].as_ref());
                out.extend(slot);
            }
        }
        while out.len() < want {
            let Some(e) = self.random(rng) else { return };
            out.push(e);
        }
    }
}

/// Slots `DashTable::random` samples before it counts its way to an entry.
const RANDOM_TRIES: usize = 4096;

fn save_bucket<T, F: FnMut(&T)>(seg: &mut Segment<T>, b: usize, f: &mut F) {
    let bit = 1u128 << b;
    if seg.saved & bit != 0 {
        return;
    }
    seg.saved |= bit;
    if let Some(bk) = seg.buckets.get(b) {
        bk.slots.iter().flatten().for_each(f);
    }
}

fn save_stash<T, F: FnMut(&T)>(seg: &mut Segment<T>, f: &mut F) {
    if !seg.stash_saved {
        seg.stash_saved = true;
        seg.stash.iter().for_each(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[derive(Debug, PartialEq)]
    struct E(Vec<u8>, u32);
    impl DashKey for E {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    fn k(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn random_many_draws_every_entry_and_only_entries() {
        use rand::rngs::SmallRng;
        use rand::SeedableRng;
        let mut rng = SmallRng::seed_from_u64(5);
        let mut t: DashTable<E> = DashTable::new();
        let mut out = Vec::new();
        t.random_many(&mut rng, 5, &mut out);
        assert!(out.is_empty());
        for i in 0..3 {
            t.insert(E(k(i), i));
        }
        let mut few = Vec::new();
        t.random_many(&mut rng, 5, &mut few);
        assert_eq!(few.len(), 5, "a nearly empty table still gives what was asked");
        for i in 3..5000 {
            t.insert(E(k(i), i));
        }
        for i in (0..5000).step_by(2) {
            t.remove(&k(i));
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for _ in 0..20_000 {
            out.clear();
            t.random_many(&mut rng, 5, &mut out);
            assert_eq!(out.len(), 5);
            for e in &out {
                assert_eq!(e.1 % 2, 1, "removed entries are never drawn");
                seen.insert(e.1);
            }
        }
        assert_eq!(seen.len(), 2500, "100,000 draws over 2,500 entries reach every one");
    }

    #[test]
    fn insert_get_remove_many() {
        let mut t = DashTable::new();
        for i in 0..50_000 {
            assert!(t.insert(E(k(i), i)).is_none());
        }
        assert_eq!(t.len(), 50_000);
        for i in 0..50_000 {
            assert_eq!(t.get(&k(i)).map(|e| e.1), Some(i));
        }
        assert_eq!(t.insert(E(k(7), 70)).map(|e| e.1), Some(7));
        assert_eq!(t.get(&k(7)).map(|e| e.1), Some(70));
        for i in (0..50_000).step_by(2) {
            assert!(t.remove(&k(i)).is_some());
        }
        assert_eq!(t.len(), 25_000);
        assert!(t.get(&k(2)).is_none());
        assert!(t.get(&k(3)).is_some());
        assert_eq!(t.iter().count(), 25_000);
        // load factor: keep the table reasonably dense
        let lf = 50_000.0 / t.capacity() as f64;
        assert!(lf > 0.5, "load factor {lf}");
    }

    #[test]
    fn scan_sees_every_stable_entry_while_growing() {
        let mut t = DashTable::new();
        for i in 0..2_000 {
            t.insert(E(k(i), i));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut next_new = 1_000_000;
        loop {
            cursor = t.scan_step(cursor, |e| {
                seen.insert(e.1);
            });
            // grow the table between steps (forces splits mid-scan)
            for _ in 0..20 {
                t.insert(E(k(next_new), next_new));
                next_new += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..2_000 {
            assert!(seen.contains(&i), "missed {i}");
        }
    }

    #[test]
    fn snapshot_marks_save_each_starting_entry_once_across_splits() {
        let mut t = DashTable::new();
        for i in 0..5_000 {
            t.insert(E(k(i), i));
        }
        t.snap_clear();
        let mut saved: Vec<u32> = Vec::new();
        let (mut si, mut from) = (0, 0);
        let mut next = 1_000_000;
        loop {
            // Inserts (forcing splits) save their window first; removals their bucket.
            for _ in 0..40 {
                let h = t.hash(&k(next));
                t.snap_save_window(h, |e| saved.push(e.1));
                t.insert(E(k(next), next));
                next += 1;
            }
            let victim = k(si as u32 * 7);
            let h = t.hash(&victim);
            t.snap_save_key(h, &victim, |e| saved.push(e.1));
            t.remove(&victim);
            match t.snap_save_part(si, from, |_| {}, |e| saved.push(e.1)) {
                None => break,
                Some(true) => (si, from) = (si + 1, 0),
                Some(false) => from += SNAP_PART,
            }
        }
        saved.sort_unstable();
        assert_eq!(saved, (0..5_000).collect::<Vec<_>>());
    }

    #[test]
    fn random_picks_each_entry_alike() {
        let mut rng = rand::rng();
        // Two keys, many times over with fresh hash seeds: neither may be starved by
        // its place in the table.
        for _ in 0..20 {
            let mut t = DashTable::new();
            t.insert(E(k(1), 1));
            t.insert(E(k(2), 2));
            let ones = (0..400).filter(|_| t.random(&mut rng).map(|e| e.1) == Some(1)).count();
            assert!((120..=280).contains(&ones), "{ones} of 400");
        }
        let mut t = DashTable::new();
        for i in 0..10_000 {
            t.insert(E(k(i), i));
        }
        for i in 0..9_990 {
            t.remove(&k(i));
        }
        let seen: HashSet<u32> = (0..2_000).filter_map(|_| t.random(&mut rng).map(|e| e.1)).collect();
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn random_and_take() {
        let mut t = DashTable::new();
        let mut rng = rand::rng();
        assert!(t.random(&mut rng).is_none());
        t.insert(E(k(1), 1));
        assert_eq!(t.random(&mut rng).map(|e| e.1), Some(1));
        let old = t.take();
        assert_eq!(old.len(), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn into_entries_moves_out_every_entry_in_walk_order() {
        let mut t = DashTable::new();
        for i in 0..20_000 {
            t.insert(E(k(i), i));
        }
        let walked: Vec<u32> = t.iter().map(|e| e.1).collect();
        let moved: Vec<u32> = t.into_entries().map(|e| e.1).collect();
        assert_eq!(moved.len(), 20_000);
        assert_eq!(moved, walked);
    }
}
