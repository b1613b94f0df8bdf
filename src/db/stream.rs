//! Stream: the value of a stream key. The entry log (`ds::stream`) plus the metadata
//! Redis 7.0 keeps beside it (last generated id, first live id, largest deleted id,
//! entries ever added) and the consumer groups with their pending entries lists.
//! Invariant: a group's PEL and its consumers' PELs hold the same ids; each PEL entry
//! names the consumer whose PEL holds it. Redis compat: stream.h, t_stream.c.
use std::collections::{BTreeMap, BTreeSet};

pub use crate::ds::stream::{Entry, NodeLimits, StreamId, StreamLog, Trim};

/// A group's `entries_read` when it is not known (Redis compat: SCG_INVALID_ENTRIES_READ).
pub const ENTRIES_READ_INVALID: i64 = -1;

#[derive(Clone, Default)]
pub struct Stream {
    pub log: StreamLog,
    /// The largest id ever generated or set (XSETID).
    pub last_id: StreamId,
    /// The first live entry's id, 0-0 when empty.
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    /// Groups by name, in name order (as Redis's radix tree lists them).
    pub groups: BTreeMap<Vec<u8>, Group>,
}

#[derive(Clone)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

/// A delivered, not yet acknowledged entry.
#[derive(Clone)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Vec<u8>,
}

#[derive(Clone)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

impl Consumer {
    pub fn new(now_ms: i64) -> Self {
        Consumer {
            seen_time: now_ms,
            pel: BTreeSet::new(),
        }
    }
}

impl Stream {
    /// Active defragmentation of the consumer groups' records (the entry log is walked
    /// apart, in steps: `StreamLog::defrag_step`).
    pub fn defrag_groups(&mut self, d: &mut crate::ds::defrag::Defrag) {
        for g in self.groups.values_mut() {
            for nack in g.pel.values_mut() {
                d.vec(&mut nack.consumer);
            }
        }
    }
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Removes `id` from the group PEL and its owner's PEL; whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Gives the pending entry `id` to `consumer` (which must exist), returning its NACK.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8]) -> Option<&mut Nack> {
        let n = self.pel.get_mut(&id)?;
        if n.consumer != consumer {
            if let Some(old) = self.consumers.get_mut(&n.consumer) {
                old.pel.remove(&id);
            }
            n.consumer = consumer.to_vec();
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        self.pel.get_mut(&id)
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn del_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Records a delivery of `id` to `consumer` (created by the caller): a new PEL entry,
    /// or an existing one moved to this consumer with its count reset, as XREADGROUP does.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: i64) {
        let fresh = Nack {
            delivery_time: now_ms,
            delivery_count: 1,
            consumer: consumer.to_vec(),
        };
        if let Some(old) = self.pel.insert(id, fresh) {
            if old.consumer != consumer {
                if let Some(c) = self.consumers.get_mut(&old.consumer) {
                    c.pel.remove(&id);
                }
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    pub fn mem_usage(&self) -> usize {
        let nack = std::mem::size_of::<(StreamId, Nack)>() + 16;
        let pel: usize = self.pel.values().map(|n| nack + n.consumer.capacity()).sum();
        let cons: usize = self
            .consumers
            .iter()
            .map(|(k, c)| k.capacity() + 48 + c.pel.len() * (std::mem::size_of::<StreamId>() + 8))
            .sum();
        std::mem::size_of::<Group>() + pel + cons
    }
}

impl Stream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> u64 {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// The id `*` generates at `now_ms`. None when the stream's last id is the largest.
    /// Redis compat: streamNextID.
    pub fn next_auto_id(&self, now_ms: i64) -> Option<StreamId> {
        let ms = now_ms.max(0) as u64;
        if ms > self.last_id.ms {
            Some(StreamId::new(ms, 0))
        } else {
            self.last_id.next()
        }
    }

    /// Appends an entry with an id already checked to be greater than `last_id`.
    pub fn add(&mut self, id: StreamId, pairs: &[(&[u8], &[u8])], lim: NodeLimits) {
        self.log.append(id, pairs, lim);
        self.last_id = id;
        self.entries_added += 1;
        if self.log.len() == 1 {
            self.first_id = id;
        }
    }

    fn refresh_first(&mut self) {
        self.first_id = self.log.first().map(|e| e.id).unwrap_or_default();
    }

    /// Trims as Redis's streamTrim; returns the number of entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let n = self.log.trim(how, approx, limit);
        if n > 0 {
            self.refresh_first();
        }
        n
    }

    /// Deletes the entries `ids` (XDEL); returns how many existed.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut n = 0;
        let mut first = false;
        for &id in ids {
            if self.log.delete(id) {
                first |= id == self.first_id;
                if id > self.max_deleted {
                    self.max_deleted = id;
                }
                n += 1;
            }
        }
        if n > 0 && (first || self.log.is_empty()) {
            self.refresh_first();
        }
        n
    }

    /// The last live entry's id, 0-0 when empty. Redis compat: streamLastValidID.
    pub fn last_valid_id(&self) -> StreamId {
        self.log.last().map(|e| e.id).unwrap_or_default()
    }

    /// Whether a deleted entry may lie in `[start, +inf)`. Redis compat: streamRangeHasTombstones.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.log.is_empty() || self.max_deleted == StreamId::MIN || self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// The read counter of `id` (entries from the first ever added up to it), or
    /// ENTRIES_READ_INVALID when fragmentation makes it unknowable.
    /// Redis compat: streamEstimateDistanceFromFirstEverEntry.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        let added = self.entries_added as i64;
        let len = self.len() as i64;
        if len == 0 && id <= self.last_id {
            return added;
        }
        if id == self.last_id {
            return added;
        }
        if id > self.last_id {
            return ENTRIES_READ_INVALID;
        }
        if self.max_deleted == StreamId::MIN || self.max_deleted < self.first_id {
            if id < self.first_id {
                return added - len;
            }
            if id == self.first_id {
                return added - len + 1;
            }
        }
        ENTRIES_READ_INVALID
    }

    /// A group's lag, None when it cannot be known. Redis compat: streamReplyWithCGLag.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != ENTRIES_READ_INVALID && !self.has_tombstones_from(g.last_id) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        (read != ENTRIES_READ_INVALID).then(|| self.entries_added as i64 - read)
    }

    /// Moves a group's last delivered id forward to `id`, keeping its read counter.
    /// Redis compat: the group update in streamReplyWithRange.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != ENTRIES_READ_INVALID && !self.has_tombstones_from(id) {
            g.entries_read += 1;
        } else if self.entries_added > 0 {
            g.entries_read = self.estimate_distance(id);
        }
        g.last_id = id;
    }

    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Stream>()
            + self.log.mem_usage()
            + self
                .groups
                .iter()
                .map(|(k, g)| k.capacity() + 32 + g.mem_usage())
                .sum::<usize>()
    }

    /// Entries plus PEL entries: decides whether freeing is worth a thread.
    pub fn weight(&self) -> usize {
        self.log.node_count()
            + self
                .groups
                .values()
                .map(|g| g.pel.len() + g.consumers.len())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: NodeLimits = NodeLimits {
        max_bytes: 4096,
        max_entries: 100,
    };

    fn add(s: &mut Stream, ms: u64) {
        s.add(StreamId::new(ms, 0), &[(b"f", b"v")], LIM);
    }

    #[test]
    fn first_id_and_tombstones_follow_deletes() {
        let mut s = Stream::new();
        for ms in 1..=5 {
            add(&mut s, ms);
        }
        assert_eq!(s.first_id, StreamId::new(1, 0));
        assert_eq!(s.delete(&[StreamId::new(1, 0), StreamId::new(9, 0)]), 1);
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted, StreamId::new(1, 0));
        // The only tombstone is before the first entry: none ahead.
        assert!(!s.has_tombstones_from(StreamId::MIN));
        s.delete(&[StreamId::new(3, 0)]);
        assert!(s.has_tombstones_from(StreamId::new(2, 0)));
        assert!(!s.has_tombstones_from(StreamId::new(4, 0)));
        assert_eq!(s.last_valid_id(), StreamId::new(5, 0));
    }

    #[test]
    fn lag_and_distance_like_redis() {
        let mut s = Stream::new();
        let g = Group::new(StreamId::MIN, ENTRIES_READ_INVALID);
        assert_eq!(s.lag(&g), Some(0));
        for ms in 1..=5 {
            add(&mut s, ms);
        }
        // Before the first entry, no tombstones: 0 read, lag 5.
        assert_eq!(s.lag(&g), Some(5));
        let mut g = Group::new(StreamId::MIN, 0);
        s.advance_group(&mut g, StreamId::new(1, 0));
        s.advance_group(&mut g, StreamId::new(2, 0));
        assert_eq!(g.entries_read, 2);
        assert_eq!(s.lag(&g), Some(3));
        s.delete(&[StreamId::new(4, 0)]);
        // A tombstone ahead: the counter is estimated, and unknown mid-stream.
        assert_eq!(s.lag(&g), None);
        // Reading past an entry with a tombstone ahead loses the count ...
        s.advance_group(&mut g, StreamId::new(3, 0));
        assert_eq!(g.entries_read, ENTRIES_READ_INVALID);
        // ... which the last entry's id recovers.
        s.advance_group(&mut g, StreamId::new(5, 0));
        assert_eq!(g.entries_read, 5);
        assert_eq!(s.lag(&g), Some(0));
        assert_eq!(s.estimate_distance(StreamId::new(6, 0)), ENTRIES_READ_INVALID);
    }

    #[test]
    fn pel_ownership_moves_between_consumers() {
        let mut g = Group::new(StreamId::MIN, 0);
        g.consumers.insert(b"a".to_vec(), Consumer::new(0));
        g.consumers.insert(b"b".to_vec(), Consumer::new(0));
        let id = StreamId::new(1, 0);
        g.deliver(id, b"a", 10);
        assert!(g.consumers[&b"a".to_vec()].pel.contains(&id));
        g.deliver(id, b"b", 20);
        assert!(!g.consumers[&b"a".to_vec()].pel.contains(&id));
        assert!(g.consumers[&b"b".to_vec()].pel.contains(&id));
        assert!(g.assign(id, b"a").is_some());
        assert_eq!(g.pel[&id].consumer, b"a");
        assert!(g.consumers[&b"b".to_vec()].pel.is_empty());
        assert_eq!(g.del_consumer(b"a"), Some(1));
        assert!(g.pel.is_empty());
        assert!(!g.ack(id));
    }

    #[test]
    fn auto_ids_never_go_back() {
        let mut s = Stream::new();
        assert_eq!(s.next_auto_id(100), Some(StreamId::new(100, 0)));
        s.last_id = StreamId::new(200, 5);
        assert_eq!(s.next_auto_id(100), Some(StreamId::new(200, 6)));
        s.last_id = StreamId::MAX;
        assert_eq!(s.next_auto_id(100), None);
    }
}
