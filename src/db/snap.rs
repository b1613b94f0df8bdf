//! The point-in-time snapshot hook of one Db. While a snapshot runs, the key table is
//! serialized one segment at a time, in hash-prefix order, by `snap_walk`; a write about
//! to touch a segment not serialized yet serializes that segment first (`snap_guard`).
//! Invariant: a prefix is "done" when below the walk cursor or inside a forced range;
//! done segments may change freely, pending ones never change (nor split) until saved.
use std::collections::BTreeMap;

use super::{Db, Obj};
use crate::ds::dash::PREFIX_END;

/// Where serialized entries go (the RDB encoder of `persist::snapshot`).
pub trait SnapSink: Send {
    /// One entry, with its absolute expire time in ms.
    fn entry(&mut self, o: &Obj, expire_at: Option<i64>);
    /// A whole segment was written: a consistent point to hand bytes on. `may_wait`:
    /// the sink may wait for its writer to bound memory (a write is about to touch the
    /// segment, or the db is being finished); a walk step never waits. False when
    /// output is backed up (the walk should pause).
    fn segment_done(&mut self, may_wait: bool) -> bool;
    /// Hands queued output on (`seal`: the partial chunk too), without waiting unless
    /// `wait`. True when nothing is left queued.
    fn flush(&mut self, seal: bool, wait: bool) -> bool;
}

/// Snapshot progress of one Db.
pub struct DbSnap {
    /// Every prefix below this is serialized.
    cursor: u64,
    /// Serialized ranges at or past the cursor: start -> end (disjoint).
    forced: BTreeMap<u64, u64>,
    /// Reads must save first too: their LRU/LFU touch changes the saved IDLE/FREQ.
    stamps: bool,
    sink: Box<dyn SnapSink>,
}

impl DbSnap {
    fn is_done(&self, prefix: u64) -> bool {
        prefix < self.cursor
            || self
                .forced
                .range(..=prefix)
                .next_back()
                .is_some_and(|(_, &e)| prefix < e)
    }
}

impl Db {
    /// Starts a snapshot of this db into `sink`. `stamps`: the file saves LRU idle times
    /// or LFU counters, so reads (which touch them) count as writes.
    pub fn snap_attach(&mut self, sink: Box<dyn SnapSink>, stamps: bool) {
        let cursor = if self.keys.is_empty() { PREFIX_END } else { 0 };
        self.snap = Some(Box::new(DbSnap {
            cursor,
            forced: BTreeMap::new(),
            stamps,
            sink,
        }));
    }

    /// Ends the snapshot of this db (finished or aborted), returning its sink.
    pub fn snap_detach(&mut self) -> Option<Box<dyn SnapSink>> {
        self.snap.take().map(|s| s.sink)
    }

    pub fn snap_sink(&mut self) -> Option<&mut (dyn SnapSink + 'static)> {
        self.snap.as_mut().map(|s| &mut *s.sink)
    }

    /// True when every segment was serialized (or no snapshot is attached).
    pub fn snap_walked(&self) -> bool {
        self.snap.as_ref().is_none_or(|s| s.cursor >= PREFIX_END)
    }

    /// Serializes segments from the walk cursor until the walk ends (true), the sink
    /// is backed up or `over_budget` says so (false). Checks the budget per segment.
    /// `wait`: the sink may wait for its writer (see `SnapSink::segment_done`).
    pub fn snap_walk(&mut self, mut over_budget: impl FnMut() -> bool, wait: bool) -> bool {
        loop {
            let Some(s) = self.snap.as_mut() else {
                return true;
            };
            // Skip ranges that writes forced out already.
            while let Some((&a, &b)) = s.forced.first_key_value() {
                if a > s.cursor {
                    break;
                }
                s.cursor = s.cursor.max(b);
                s.forced.pop_first();
            }
            if s.cursor >= PREFIX_END {
                return true;
            }
            let h = s.cursor << 32;
            let (_, end) = self.keys.segment_span(h);
            let room = self.snap_segment(h, wait);
            if let Some(s) = self.snap.as_mut() {
                s.cursor = end;
            }
            if !room || over_budget() {
                return self.snap_walked();
            }
        }
    }

    /// Serializes everything not saved yet (before a whole-db change: FLUSHDB, SWAPDB).
    pub fn snap_finish(&mut self) {
        if self.snap.is_some() {
            while !self.snap_walk(|| false, true) {}
        }
    }

    /// Called before any change to the key with hash `h` (or its TTL, or its entry's
    /// position): one branch when no snapshot runs.
    #[inline]
    pub(super) fn snap_guard(&mut self, h: u64) {
        if self.snap.is_some() {
            self.snap_touch(h);
        }
    }

    /// Like `snap_guard`, for reads that only touch the LRU/LFU stamp.
    #[inline]
    pub(super) fn snap_guard_read(&mut self, h: u64) {
        if self.snap.as_ref().is_some_and(|s| s.stamps) {
            self.snap_touch(h);
        }
    }

    #[cold]
    fn snap_touch(&mut self, h: u64) {
        let Some(s) = self.snap.as_mut() else {
            return;
        };
        if s.is_done(h >> 32) {
            return;
        }
        let (a, b) = self.keys.segment_span(h);
        s.forced.insert(a, b);
        self.snap_segment(h, true);
    }

    /// Writes the segment holding `h` to the sink; returns the sink's room flag.
    fn snap_segment(&mut self, h: u64, may_wait: bool) -> bool {
        let Some(s) = self.snap.as_mut() else {
            return true;
        };
        for o in self.keys.segment_entries(h) {
            let at = if o.has_expire() {
                let kh = self.keys.hash(o.key());
                self.expires.get_hashed(kh, o.key()).map(|e| e.at)
            } else {
                None
            };
            s.sink.entry(o, at);
        }
        s.sink.segment_done(may_wait)
    }
}
