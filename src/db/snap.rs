//! The point-in-time snapshot hook of one Db. While a snapshot runs, the key table is
//! serialized a quarter segment at a time by `snap_walk`, and a write first serializes
//! the bucket it is about to touch (`snap_guard`: one bucket of at most 8 entries, or
//! an insert's probe window). Invariant: an unsaved bucket holds exactly entries of the
//! dataset at the start (see `DashTable::snap_clear`).
//!
//! A value too big to save in one go (`SnapSink::in_parts`) is queued (by the walk, or
//! by a guard saving its bucket) and saved over several steps, looked up by key each
//! time, or owned by the snapshot once its key was deleted or its value replaced
//! (`snap_guard_adopt`, `snap_adopt`); RENAME within the db takes its queued entry
//! along (`snap_guard_rename`). A removal that hands the value on elsewhere (MOVE)
//! first saves the rest of it; so does a write to its elements or TTL, but for values
//! that keep their own save (`SnapSink::saves_in_place`: lists, sets, hashes and sorted
//! sets, which copy what a write is about to change), which are begun instead and then
//! let writes go on at once.
//!
//! Whole-db changes do not wait for the walk: SWAPDB swaps the snapshot with the tables
//! (each snapshot writes under its own db id, so it follows the contents it saves), and
//! FLUSHDB retires the tables into the snapshot, which walks them to the end and then
//! frees them off the main thread.
use std::collections::VecDeque;

use super::{Db, Obj, ValueRef};
use crate::ds::dash::DashTable;

/// Where serialized entries go (the RDB encoder of `persist::snapshot`).
pub trait SnapSink: Send {
    /// One entry, with its absolute expire time in ms.
    fn entry(&mut self, o: &Obj, expire_at: Option<i64>);
    /// A consistent point to hand bytes on (after a bucket or a segment). `may_wait`:
    /// the sink may wait for its writer to bound memory (a write is about to touch the
    /// data, or the db is being finished); a walk step never waits. False when output
    /// is backed up (the walk should pause).
    fn segment_done(&mut self, may_wait: bool) -> bool;
    /// Hands queued output on (`seal`: the partial chunk too), without waiting unless
    /// `wait`. True when nothing is left queued; without `seal`, also when what is left
    /// waits for another sink's value (`streaming`), not for the writer.
    fn flush(&mut self, seal: bool, wait: bool) -> bool;
    /// Whether `o` is saved over several steps (`part`) rather than by `entry`.
    fn in_parts(&self, o: &Obj) -> bool;
    /// Whether `o`, saved in parts, keeps what is left to save as it was once begun,
    /// whatever is written to its elements.
    fn saves_in_place(&self, o: &Obj) -> bool;
    /// Saves more of `o` (beginning it if it is not under way yet): about `budget`
    /// elements (0: only begin; `usize::MAX`: all the rest). True once the entry is
    /// complete (its output is handed on as one piece).
    fn part(&mut self, o: &mut Obj, expire_at: Option<i64>, budget: usize) -> bool;
    /// Begins `o` (`part` with budget 0) and keeps what is left of it as it is now: a
    /// write is about to touch a value `saves_in_place`.
    fn pin(&mut self, o: &mut Obj, expire_at: Option<i64>);
    /// A value under way (`part`) is now under the key `to` (RENAME within the db).
    fn rekey(&mut self, from: &[u8], to: &[u8]);
    /// The snapshot cannot be completed (a value queued for `part` is gone): the save
    /// must fail.
    fn fail(&mut self);
    /// Entries saved so far, encoded size in bytes.
    fn bytes(&self) -> u64;
    /// `bytes` were saved ahead of the walk because a write was about to touch them
    /// (the snapshot's counterpart of copy-on-write, reported like it).
    fn note_forced(&mut self, bytes: u64);
    /// Whether a value of this sink goes out piece by piece as it is made (or its last
    /// pieces are not sent yet): the output of every other sink waits for it, so its
    /// walk goes first.
    fn streaming(&self) -> bool;
    /// Serialized bytes held until a value saved in steps is complete: its own pieces,
    /// or output waiting behind another value going out.
    fn held_bytes(&self) -> usize;
}

/// Snapshot progress of one Db.
pub struct DbSnap {
    /// The next segment (by index) the walk saves, and its next bucket.
    next_seg: usize,
    next_bucket: usize,
    /// Every segment was walked and every queued value saved: nothing unsaved is left.
    walked: bool,
    /// Every segment was walked (queued values may be left).
    segs_done: bool,
    /// Big values the walk met, saved in steps from the front (see the module comment).
    queued: VecDeque<Queued>,
    /// Reads must save first too: their LRU/LFU touch changes the saved IDLE/FREQ.
    stamps: bool,
    sink: Box<dyn SnapSink>,
    /// The tables the db held before a FLUSHDB: the walk goes on over them, and the
    /// db's live tables (created after the snapshot started) are not part of it.
    retired: Option<Box<Retired>>,
}

type Retired = DashTable<Obj>;

/// A value queued to be saved in steps: by its key in the table, or owned once its key
/// was deleted or its value replaced (begun by then: the TTL is written).
enum Queued {
    Key(Box<[u8]>),
    Owned(Obj),
}

impl Queued {
    fn is_key(&self, key: &[u8]) -> bool {
        matches!(self, Queued::Key(k) if **k == *key)
    }
}

impl Db {
    /// Starts a snapshot of this db into `sink`. `stamps`: the file saves LRU idle times
    /// or LFU counters, so reads (which touch them) count as writes.
    pub fn snap_attach(&mut self, sink: Box<dyn SnapSink>, stamps: bool) {
        self.keys.snap_clear();
        self.snap = Some(Box::new(DbSnap {
            next_seg: 0,
            next_bucket: 0,
            walked: self.keys.is_empty(),
            segs_done: false,
            queued: VecDeque::new(),
            stamps,
            sink,
            retired: None,
        }));
    }

    /// Ends the snapshot of this db (finished or aborted), returning its sink. Tables
    /// retired by a FLUSHDB are freed off the main thread.
    pub fn snap_detach(&mut self) -> Option<Box<dyn SnapSink>> {
        let mut s = self.snap.take()?;
        let keys = match s.retired.as_deref_mut() {
            Some(k) => k,
            None => &mut self.keys,
        };
        for q in std::mem::take(&mut s.queued) {
            match q {
                Queued::Key(key) => {
                    if let Some(o) = keys.get_mut_hashed(keys.hash(&key), &key) {
                        crate::persist::rdb::value::value_abandon(o);
                    }
                }
                Queued::Owned(o) => super::lazyfree::drop_later(o),
            }
        }
        if let Some(r) = s.retired {
            super::lazyfree::drop_later(r);
        }
        Some(s.sink)
    }

    /// FLUSHDB while the walk has not ended: the snapshot keeps the tables it has yet
    /// to save and the db gets empty ones. False when there is nothing to keep (no
    /// snapshot, the walk ended, or the live tables are not part of it already).
    pub(super) fn snap_retire(&mut self) -> bool {
        let Some(s) = self.snap.as_mut() else {
            return false;
        };
        if s.walked || s.retired.is_some() {
            return false;
        }
        s.retired = Some(Box::new(self.keys.take()));
        drop(self.expires.take());
        true
    }

    /// SWAPDB: each snapshot follows the tables it saves (see the module comment).
    pub(super) fn snap_swap(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.snap, &mut other.snap);
    }

    pub fn snap_sink(&mut self) -> Option<&mut (dyn SnapSink + 'static)> {
        self.snap.as_mut().map(|s| &mut *s.sink)
    }

    /// Whether this db's snapshot has a value going out piece by piece
    /// (`SnapSink::streaming`).
    pub fn snap_streaming(&self) -> bool {
        self.snap.as_ref().is_some_and(|s| s.sink.streaming())
    }

    /// True when every segment was serialized (or no snapshot is attached).
    pub fn snap_walked(&self) -> bool {
        self.snap.as_ref().is_none_or(|s| s.walked)
    }

    /// Serializes segments until the walk ends (true), the sink is backed up or
    /// `over_budget` says so (false). Checks the budget per quarter segment. `wait`:
    /// the sink may wait for its writer (see `SnapSink::segment_done`).
    pub fn snap_walk(&mut self, mut over_budget: impl FnMut() -> bool, wait: bool) -> bool {
        loop {
            let Some(s) = self.snap.as_mut() else {
                return true;
            };
            if s.walked {
                return true;
            }
            let keys = match s.retired.as_deref_mut() {
                Some(k) => k,
                None => &mut self.keys,
            };
            let sink = &mut s.sink;
            if let Some(q) = s.queued.front_mut() {
                let done = match q {
                    Queued::Key(key) => match keys.get_mut_hashed(keys.hash(key), key) {
                        Some(o) => sink.part(o, o.expire_at(), PART_STEP),
                        None => {
                            sink.fail();
                            true
                        }
                    },
                    Queued::Owned(o) => sink.part(o, None, PART_STEP),
                };
                if done {
                    if let Some(Queued::Owned(o)) = s.queued.pop_front() {
                        super::lazyfree::drop_later(o);
                    }
                }
            } else if s.segs_done {
                s.walked = true;
                return true;
            } else {
                // Splits append segments, so the walk ends at the current last one.
                let mut touched = 0u8;
                let queued = &mut s.queued;
                let done = keys.snap_save_part(
                    s.next_seg,
                    s.next_bucket,
                    |o| touched ^= warm(o),
                    |o| save_or_queue(&mut **sink, queued, o),
                );
                std::hint::black_box(touched);
                match done {
                    None => {
                        s.segs_done = true;
                        continue;
                    }
                    Some(true) => (s.next_seg, s.next_bucket) = (s.next_seg + 1, 0),
                    Some(false) => s.next_bucket += crate::ds::dash::SNAP_PART,
                }
            }
            if !s.sink.segment_done(wait) || over_budget() {
                return false;
            }
        }
    }

    /// Serializes everything not saved yet (ending a snapshot at once).
    pub fn snap_finish(&mut self) {
        while !self.snap_walk(|| false, true) {}
    }

    /// Called before any change to `key` (hash `h`): its value, its TTL, its presence.
    /// One branch when no snapshot runs.
    #[inline]
    pub(super) fn snap_guard(&mut self, h: u64, key: &[u8]) {
        if self.snap.is_some() {
            self.snap_touch(h, key, Touch::Whole);
        }
    }

    /// Like `snap_guard`, before the value of `key` is removed or replaced and then
    /// handed to `snap_adopt` (which must follow).
    #[inline]
    pub(super) fn snap_guard_adopt(&mut self, h: u64, key: &[u8]) {
        if self.snap.is_some() {
            self.snap_touch(h, key, Touch::Adopt);
        }
    }

    /// After `snap_guard_adopt`: the snapshot keeps `o` if it has yet to save the rest
    /// of it; otherwise `o` is given back to be freed.
    pub(super) fn snap_adopt(&mut self, o: Obj) -> Option<Obj> {
        let Some(s) = self.snap.as_mut().filter(|s| s.retired.is_none()) else {
            return Some(o);
        };
        match s.queued.iter_mut().find(|q| q.is_key(o.key())) {
            Some(q) => {
                *q = Queued::Owned(o);
                None
            }
            None => Some(o),
        }
    }

    /// Before RENAME moves `src` (hash `h`) to `dst` within this db. A value saved in
    /// steps is begun under its old name (TTL and stamp written) and then followed to
    /// `dst` by `snap_rekey`: true in that case. When a value the snapshot owns has
    /// `dst`'s name already (its pieces are found by name), the rest is saved first.
    pub(super) fn snap_guard_rename(&mut self, h: u64, src: &[u8], dst: &[u8]) -> bool {
        let Some(s) = self.snap.as_ref().filter(|s| !s.walked && s.retired.is_none()) else {
            return false;
        };
        let clash = s
            .queued
            .iter()
            .any(|q| matches!(q, Queued::Owned(o) if *o.key() == *dst));
        self.snap_touch(h, src, if clash { Touch::Whole } else { Touch::Stamp });
        !clash
            && self
                .snap
                .as_ref()
                .is_some_and(|s| s.queued.iter().any(|q| q.is_key(src)))
    }

    /// After `snap_guard_rename` returned true and the value was moved to `dst`.
    pub(super) fn snap_rekey(&mut self, src: &[u8], dst: &[u8]) {
        if let Some(s) = self.snap.as_mut() {
            if let Some(q) = s.queued.iter_mut().find(|q| q.is_key(src)) {
                *q = Queued::Key(dst.into());
                s.sink.rekey(src, dst);
            }
        }
    }

    /// Like `snap_guard`, before a change that leaves the key with its value: a write
    /// to its elements, or a new TTL (saved with the entry's head, which a value saved
    /// in steps writes first).
    #[inline]
    pub(super) fn snap_guard_elems(&mut self, h: u64, key: &[u8]) {
        if self.snap.is_some() {
            self.snap_touch(h, key, Touch::Elems);
        }
    }

    /// Before a read, which changes nothing the snapshot keeps but the LRU/LFU stamp
    /// (saved only under a policy that uses it).
    #[inline]
    pub(super) fn snap_guard_read(&mut self, h: u64, key: &[u8]) {
        if self.snap.as_ref().is_some_and(|s| s.stamps) {
            self.snap_touch(h, key, Touch::Stamp);
        }
    }

    #[cold]
    fn snap_touch(&mut self, h: u64, key: &[u8], touch: Touch) {
        let Some(s) = self.snap.as_mut() else {
            return;
        };
        if s.walked || s.retired.is_some() {
            return;
        }
        let sink = &mut s.sink;
        let queued = &mut s.queued;
        let before = sink.bytes();
        let mut keep = |o: &Obj| save_or_queue(&mut **sink, queued, o);
        if !self.keys.snap_save_key(h, key, &mut keep) {
            // An insert: it may land anywhere in its probe window (or the stash).
            self.keys.snap_save_window(h, &mut keep);
        }
        if let Some(i) = s.queued.iter().position(|q| q.is_key(key)) {
            let sink = &mut s.sink;
            match self.keys.get_mut_hashed(h, key) {
                // Begun (if it was not), it keeps its own save from now on.
                Some(o) if touch == Touch::Elems && sink.saves_in_place(o) => {
                    sink.pin(o, o.expire_at());
                }
                // Begun (its TTL and stamp written): the rest is saved in steps, from
                // the keyspace (a read leaves it as it is) or owned by the snapshot.
                Some(o) if matches!(touch, Touch::Stamp | Touch::Adopt) => {
                    if sink.part(o, o.expire_at(), 0) {
                        s.queued.remove(i);
                    }
                }
                // About to change: the rest of it is saved first.
                Some(o) => {
                    sink.part(o, o.expire_at(), usize::MAX);
                    s.queued.remove(i);
                }
                None => {
                    sink.fail();
                    s.queued.remove(i);
                }
            }
        }
        let forced = s.sink.bytes() - before;
        if forced > 0 {
            s.sink.note_forced(forced);
        }
        s.sink.segment_done(true);
    }
}

/// What a guarded change does to the key (see `snap_touch`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Touch {
    /// A write to its elements or TTL.
    Elems,
    /// The key is removed (its value handed on).
    Whole,
    /// Its value is deleted or replaced, and offered to `snap_adopt`.
    Adopt,
    /// A read: only its LRU/LFU stamp changes (or a RENAME the snapshot follows).
    Stamp,
}

/// Elements a step of a value saved in parts saves.
const PART_STEP: usize = 4096;

/// Saves `o`, or queues it when it is saved in steps.
fn save_or_queue(sink: &mut dyn SnapSink, queued: &mut VecDeque<Queued>, o: &Obj) {
    if sink.in_parts(o) {
        queued.push_back(Queued::Key(o.key().into()));
    } else {
        sink.entry(o, o.expire_at());
    }
}

/// A cheap read of an entry's header, value pointer and first value byte, to pull them
/// into the cache ahead of serializing (see `DashTable::snap_save_part`).
fn warm(o: &Obj) -> u8 {
    let v = match o.value() {
        ValueRef::Str(s) => s.first().copied().unwrap_or(0),
        _ => 1,
    };
    v ^ o.has_expire() as u8
}
