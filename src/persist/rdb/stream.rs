//! Streams in RDB files and DUMP payloads: each node of the entry log as the listpack
//! Redis keeps in its radix tree (master entry, delta-encoded ids, same-fields
//! compression, tombstones), then the metadata and consumer groups with their PELs.
//! Reading validates everything a crafted file could get wrong. Redis compat: rdb.c
//! (RDB_TYPE_STREAM_LISTPACKS and _2), t_stream.c streamValidateListpackIntegrity.
use std::collections::BTreeMap;

use super::blob::{self, Elem, ElemBytes, LpWriter};
use super::prim::{Reader, Writer};
use super::{ty, RdbError};
use crate::db::stream::{Consumer, Group, Nack, Stream, StreamId, ENTRIES_READ_INVALID};
use crate::ds::stream::{EntryStrs, NodeView};

/// Entry flags inside a node. Redis compat: stream.h STREAM_ITEM_FLAG_*.
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

fn corrupt(what: &str) -> RdbError {
    RdbError::corrupt(what.to_string())
}

fn write_id(w: &mut Writer, id: StreamId) {
    w.len(id.ms);
    w.len(id.seq);
}

/// One node as the listpack Redis keeps (its size is known: the node tracks it).
fn write_node(w: &mut Writer, lp: &mut LpWriter, node: NodeView<'_>) {
    let master = node.master_id();
    w.string(&master.to_be_bytes());
    lp.clear();
    lp.reserve(node.redis_bytes() as usize);
    lp.push_int(node.live() as i64);
    lp.push_int(node.deleted() as i64);
    lp.push_int(node.master_fields().count() as i64);
    for f in node.master_fields() {
        lp.push(f);
    }
    lp.push_int(0);
    node.for_each_entry(|id, deleted, same, pairs| {
        let flags = if deleted { FLAG_DELETED } else { 0 } | if same { FLAG_SAMEFIELDS } else { 0 };
        lp.push_int(flags);
        lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
        let n = pairs.len() as i64;
        if same {
            for (_, v) in pairs {
                lp.push_within(v, node.tail_of(v));
            }
            lp.push_int(n + 3);
        } else {
            lp.push_int(n);
            for (f, v) in pairs {
                lp.push_within(f, node.tail_of(f));
                lp.push_within(v, node.tail_of(v));
            }
            lp.push_int(2 * n + 4);
        }
    });
    w.string(lp.finished());
}

/// Writes a stream (the body of an RDB_TYPE_STREAM_LISTPACKS_2 value), handing the
/// writer to `spill` after each node (see `value::write_value_spilling`).
pub fn write(w: &mut Writer, s: &Stream, spill: &mut impl FnMut(&mut Writer)) {
    w.len(s.log.node_count() as u64);
    super::value::LP_SCRATCH.with_borrow_mut(|lp| {
        for node in s.log.nodes() {
            write_node(w, lp, node);
            spill(w);
        }
        lp.trim(super::value::SCRATCH_BYTES);
    });
    w.len(s.len());
    write_id(w, s.last_id);
    write_id(w, s.first_id);
    write_id(w, s.max_deleted);
    w.len(s.entries_added);
    w.len(s.groups.len() as u64);
    for (name, g) in &s.groups {
        w.string(name);
        write_id(w, g.last_id);
        w.len(g.entries_read as u64);
        w.len(g.pel.len() as u64);
        for (id, n) in &g.pel {
            w.bytes(&id.to_be_bytes());
            w.millis(n.delivery_time);
            w.len(n.delivery_count);
        }
        w.len(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            w.string(cname);
            w.millis(c.seen_time);
            w.len(c.pel.len() as u64);
            for id in &c.pel {
                w.bytes(&id.to_be_bytes());
            }
        }
    }
}

fn elem_int(e: Option<&Elem>) -> Result<i64, RdbError> {
    match e {
        Some(Elem::Int(v)) => Ok(*v),
        Some(Elem::Str(s)) => crate::util::num::parse_i64(s).ok_or_else(|| corrupt(LP_BAD)),
        None => Err(corrupt(LP_BAD)),
    }
}

const LP_BAD: &str = "Stream listpack integrity check failed.";

/// One entry's strings where they lie among a node listpack's elements.
struct LpEntry<'s, 'a> {
    /// The node's master fields.
    fields: &'s [Elem<'a>],
    /// Its values when it reuses the master fields (`same`), else field, value, ...
    strs: &'s [Elem<'a>],
    same: bool,
}

impl EntryStrs for LpEntry<'_, '_> {
    fn pairs(&self) -> usize {
        if self.same {
            self.strs.len()
        } else {
            self.strs.len() / 2
        }
    }

    fn each(&self, values_only: bool, mut f: impl FnMut(&[u8])) {
        let mut digits = [0u8; 24];
        for (i, s) in self.strs.iter().enumerate() {
            if self.same {
                if !values_only {
                    if let Some(k) = self.fields.get(i) {
                        f(k.bytes(&mut digits));
                    }
                }
            } else if values_only && i % 2 == 0 {
                continue;
            }
            f(s.bytes(&mut digits));
        }
    }

    fn field_is(&self, i: usize, name: &[u8]) -> bool {
        let field = if self.same {
            self.fields.get(i)
        } else {
            self.strs.get(2 * i)
        };
        field.is_some_and(|k| k.bytes(&mut [0u8; 24]) == name)
    }
}

/// Decodes one node listpack into the log, entry by entry. Redis compat:
/// streamValidateListpackIntegrity (deep).
fn read_node(s: &mut Stream, master: StreamId, lp: &[u8]) -> Result<(), RdbError> {
    let elems = blob::listpack_decode(lp).ok_or_else(|| corrupt(LP_BAD))?;
    if elems.is_empty() {
        return Err(corrupt("Empty listpack inside stream"));
    }
    let live = elem_int(elems.first())?;
    let deleted = elem_int(elems.get(1))?;
    let nmaster = elem_int(elems.get(2))?;
    if live < 0 || deleted < 0 || nmaster < 0 || nmaster as usize > elems.len() {
        return Err(corrupt(LP_BAD));
    }
    let nmaster = nmaster as usize;
    let fields = elems.get(3..3 + nmaster).ok_or_else(|| corrupt(LP_BAD))?;
    let field_bytes: Vec<ElemBytes<'_>> = fields.iter().map(ElemBytes::from).collect();
    let mut p = 3 + nmaster;
    if elem_int(elems.get(p))? != 0 {
        return Err(corrupt(LP_BAD));
    }
    p += 1;
    let invalid = |why: &str| RdbError::corrupt(format!("Stream node invalid: {why}"));
    let mut node = s
        .log
        .begin_node(master, &field_bytes, Some(lp.len() as u64))
        .map_err(invalid)?;
    let total = live.checked_add(deleted).ok_or_else(|| corrupt(LP_BAD))?;
    let mut seen_live = 0i64;
    for _ in 0..total {
        let flags = elem_int(elems.get(p))?;
        let ms = master.ms.wrapping_add(elem_int(elems.get(p + 1))? as u64);
        let seq = master.seq.wrapping_add(elem_int(elems.get(p + 2))? as u64);
        p += 3;
        let same = flags & FLAG_SAMEFIELDS != 0;
        let strings = if same {
            nmaster
        } else {
            let n = elem_int(elems.get(p))?;
            p += 1;
            if n < 0 || n as usize > elems.len() {
                return Err(corrupt(LP_BAD));
            }
            2 * n as usize
        };
        let at = p;
        p += strings;
        if p > elems.len() || elem_int(elems.get(p))? != strings as i64 + 3 + i64::from(!same) {
            return Err(corrupt(LP_BAD));
        }
        p += 1;
        let strs = elems.get(at..at + strings).ok_or_else(|| corrupt(LP_BAD))?;
        let is_deleted = flags & FLAG_DELETED != 0;
        seen_live += i64::from(!is_deleted);
        let entry = LpEntry { fields, strs, same };
        node.push(StreamId::new(ms, seq), is_deleted, same, &entry)
            .map_err(invalid)?;
    }
    if p != elems.len() || seen_live != live {
        return Err(corrupt(LP_BAD));
    }
    s.log.end_node(node).map_err(invalid)
}

fn read_id(r: &mut Reader) -> Result<StreamId, RdbError> {
    let ms = r.len()?;
    let seq = r.len()?;
    Ok(StreamId::new(ms, seq))
}

fn read_raw_id(r: &mut Reader) -> Result<StreamId, RdbError> {
    StreamId::from_be_bytes(r.take(16)?).ok_or(RdbError::Short)
}

/// Reads a stream value of RDB type `t` (15 or 19).
pub fn read(r: &mut Reader, t: u8) -> Result<Stream, RdbError> {
    let mut s = Stream::new();
    let nodes = r.len()?;
    for _ in 0..nodes {
        let key = r.string()?;
        let master = StreamId::from_be_bytes(&key)
            .ok_or_else(|| corrupt("Stream node key entry is not the size of a stream ID"))?;
        let lp = r.string()?;
        read_node(&mut s, master, &lp)?;
    }
    let length = r.len()?;
    if length != s.len() {
        return Err(corrupt("Stream length inconsistent with rax entries"));
    }
    s.last_id = read_id(r)?;
    if t == ty::STREAM_LISTPACKS_2 {
        s.first_id = read_id(r)?;
        s.max_deleted = read_id(r)?;
        s.entries_added = r.len()?;
    } else {
        s.entries_added = s.len();
        s.first_id = s.log.first().map(|e| e.id).unwrap_or_default();
    }
    if s.last_valid_id() > s.last_id {
        return Err(corrupt("Stream last id is smaller than its last entry"));
    }
    let ngroups = r.len()?;
    for _ in 0..ngroups {
        let name = r.string()?;
        let last = read_id(r)?;
        let read = if t == ty::STREAM_LISTPACKS_2 {
            r.len()? as i64
        } else {
            s.estimate_distance(last)
        };
        if read < ENTRIES_READ_INVALID {
            return Err(corrupt("Stream cgroup offset is invalid"));
        }
        if s.groups.contains_key(&name) {
            return Err(RdbError::corrupt(format!(
                "Duplicated consumer group name {}",
                String::from_utf8_lossy(&name)
            )));
        }
        let mut g = Group::new(last, read);
        let npel = r.len()?;
        let mut pel: BTreeMap<StreamId, (i64, u64)> = BTreeMap::new();
        for _ in 0..npel {
            let id = read_raw_id(r)?;
            let time = r.i64_le()?;
            let count = r.len()?;
            if pel.insert(id, (time, count)).is_some() {
                return Err(corrupt("Duplicated global PEL entry loading stream consumer group"));
            }
        }
        let ncons = r.len()?;
        for _ in 0..ncons {
            let cname = r.string()?;
            let seen = r.i64_le()?;
            if g.consumers.contains_key(&cname) {
                return Err(corrupt("Duplicate stream consumer detected."));
            }
            let mut c = Consumer::new(seen);
            let n = r.len()?;
            for _ in 0..n {
                let id = read_raw_id(r)?;
                let Some(&(time, count)) = pel.get(&id) else {
                    return Err(corrupt("Consumer entry not found in group global PEL"));
                };
                if g.pel.contains_key(&id) || !c.pel.insert(id) {
                    return Err(corrupt(
                        "Duplicated consumer PEL entry  loading a stream consumer group",
                    ));
                }
                g.pel.insert(
                    id,
                    Nack {
                        delivery_time: time,
                        delivery_count: count,
                        consumer: cname.clone(),
                    },
                );
            }
            g.consumers.insert(cname, c);
        }
        if g.pel.len() != pel.len() {
            return Err(corrupt("Stream CG PEL entry without consumer"));
        }
        s.groups.insert(name, g);
    }
    Ok(s)
}
