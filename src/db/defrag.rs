//! Active defragmentation of one database: its key table walked by scan cursor (the TTL
//! index holds no blocks), small values in full with their entries, big values in
//! steps of their own.
//! Redis compat: defrag.c defragScanCallback, defragKey, defragLaterStep.
use super::value::DefragAt;
use super::Db;
use crate::ds::defrag::Defrag;

/// What a key-table step found.
#[derive(Default, Debug, Clone, Copy)]
pub struct KeyCounts {
    /// Keys of which at least one block moved (INFO active_defrag_key_hits).
    pub hits: u64,
    /// Keys of which no block moved.
    pub misses: u64,
    /// Keys visited.
    pub scanned: u64,
}

impl Db {
    /// Whether the tables may be walked now: not while a point-in-time snapshot of
    /// them is being written.
    pub fn defrag_allowed(&self) -> bool {
        self.snap.is_none()
    }

    /// Defragments the entries at `cursor` of the key table, and the values of those
    /// holding at most `max_fields` elements; the keys of bigger ones are pushed to
    /// `later` (see [`Db::defrag_value_step`]). Returns the next cursor, 0 when done.
    pub fn defrag_keys_step(
        &mut self,
        cursor: u64,
        d: &mut Defrag,
        max_fields: usize,
        later: &mut Vec<Vec<u8>>,
        counts: &mut KeyCounts,
    ) -> u64 {
        self.keys.scan_step_mut(cursor, |o| {
            let before = d.hits;
            o.defrag(d);
            if let Some(v) = o.heap_mut() {
                if v.weight() > max_fields {
                    later.push(o.key().to_vec());
                } else {
                    let mut at = Some(DefragAt::Pos(0));
                    while let Some(a) = at {
                        at = v.defrag_step(a, usize::MAX, d);
                    }
                }
            }
            counts.scanned += 1;
            if d.hits > before {
                counts.hits += 1;
            } else {
                counts.misses += 1;
            }
        })
    }

    /// One step of a big value's defragmentation, from `at`, over about `budget`
    /// elements: where to go on, or None when done (or when the key is gone or no
    /// longer a big value).
    pub fn defrag_value_step(&mut self, key: &[u8], at: DefragAt, budget: usize, d: &mut Defrag) -> Option<DefragAt> {
        self.keys.get_mut(key)?.heap_mut()?.defrag_step(at, budget, d)
    }
}
