//! The entry log of a stream: a deque of nodes in id order, each keyed by its master id (the id
//! of its first appended entry) and holding one `Vec<u8>` with the master field names and its
//! entries in id order. Nodes are added at the tail and trimmed at the head, both O(1); a seek is a
//! binary search over the master ids. A stream of one node costs one slot, not a B-tree leaf.
//! Invariants: ids strictly increase across the whole log; deleted entries stay flagged in their node
//! until the node is dropped; each node tracks the byte size it would have as a Redis listpack, so node
//! boundaries (and therefore approximate trimming) match redis-server exactly.

use std::borrow::Cow;
#[cfg(test)]
use std::collections::BTreeMap;
use std::collections::{vec_deque, VecDeque};
use std::fmt;

use crate::util::mem::alloc_size;
use crate::util::num::parse_i64;

// ---------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------

/// A stream entry id `ms-seq`; the derived order is the stream order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The id right after this one (the sequence carries into ms); None at MAX.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId::new(self.ms, seq)),
            None => Some(StreamId::new(self.ms.checked_add(1)?, 0)),
        }
    }

    /// The id right before this one; None at MIN.
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId::new(self.ms, seq)),
            None => Some(StreamId::new(self.ms.checked_sub(1)?, u64::MAX)),
        }
    }

    /// 128-bit big endian (ms then seq), so byte order is id order.
    // Redis compat: t_stream.c streamEncodeID (the radix tree key and the RDB node key).
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let (ms, seq) = out.split_at_mut(8);
        ms.copy_from_slice(&self.ms.to_be_bytes());
        seq.copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    /// Inverse of [`StreamId::to_be_bytes`]; None unless `b` is exactly 16 bytes.
    pub fn from_be_bytes(b: &[u8]) -> Option<StreamId> {
        let b: &[u8; 16] = b.try_into().ok()?;
        let (ms, seq) = b.split_at(8);
        Some(StreamId::new(
            u64::from_be_bytes(ms.try_into().ok()?),
            u64::from_be_bytes(seq.try_into().ok()?),
        ))
    }

    /// Appends `ms-seq` in decimal.
    pub fn write(self, out: &mut Vec<u8>) {
        write_u64(self.ms, out);
        out.push(b'-');
        write_u64(self.seq, out);
    }

    pub fn to_vec(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(41);
        self.write(&mut v);
        v
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

fn write_u64(mut v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    loop {
        pos -= 1;
        if let Some(d) = buf.get_mut(pos) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || pos == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(pos..).unwrap_or_default());
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

/// A trimming strategy: keep at most N entries, or drop entries with ids below an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

// ---------------------------------------------------------------------------------------
// Byte encoding of a node
// ---------------------------------------------------------------------------------------
//
// Node buffer: varint(#master fields), the master fields (varint length + bytes), then entries.
// Entry: tag byte, id delta from the previous entry (the master id for the first), for entries
// that do not reuse the master fields the pair count, the strings (varint length + bytes: values
// only when the master fields are reused, else field, value, ...), and finally the entry's byte
// length written backwards (low 7-bit group last, high bit = "more groups before") so a reverse
// walk can hop from entry end to entry start. Ids are deltas from the previous entry rather than
// from the master so the common cases (next sequence, next millisecond) need no bytes at all, and
// every delta form is invertible, which is what lets the reverse walk recover ids.

/// Tag bit: the entry is deleted (a tombstone kept until its node goes).
const F_DELETED: u8 = 1;
/// Tag bit: the entry's field names are the master fields (only values are stored).
const F_SAME: u8 = 2;
const MODE_MASK: u8 = 0x0c;
/// Same ms, seq + 1.
const M_NEXT: u8 = 0;
/// Same id as the previous one (only the first entry when it is the master id).
const M_SAME: u8 = 4;
/// ms + varint, same seq.
const M_MS: u8 = 8;
/// ms + varint, seq + zigzag varint (wrapping).
const M_GEN: u8 = 12;
/// Pair counts 1..=15 of entries with their own fields live in the tag's high nibble.
const NPAIRS_SHIFT: u32 = 4;

/// Redis refuses nodes (listpacks) bigger than this; it is also the node size when unlimited.
// Redis compat: stream.h STREAM_LISTPACK_MAX_SIZE.
const LP_MAX_SIZE: usize = 1 << 30;

#[inline]
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Most varints (lengths of short strings, small deltas) are one byte: that case is
/// inlined where they are read, the rest is a call.
#[inline(always)]
fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let b = *buf.get(*pos)?;
    *pos += 1;
    if b < 0x80 {
        return Some(u64::from(b));
    }
    get_varint_rest(buf, pos, b)
}

/// `get_varint` past a first byte `b` of at least 0x80.
#[inline(never)]
fn get_varint_rest(buf: &[u8], pos: &mut usize, b: u8) -> Option<u64> {
    let mut v = u64::from(b & 0x7f);
    let mut shift = 7u32;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[inline]
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    super::put_bytes(out, s);
}

#[inline]
fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let n = usize::try_from(get_varint(buf, pos)?).ok()?;
    let end = pos.checked_add(n)?;
    let s = buf.get(*pos..end)?;
    *pos = end;
    Some(s)
}

#[inline]
fn skip_str(buf: &[u8], pos: &mut usize) -> Option<()> {
    let n = usize::try_from(get_varint(buf, pos)?).ok()?;
    let end = pos.checked_add(n)?;
    if end > buf.len() {
        return None;
    }
    *pos = end;
    Some(())
}

/// Writes `v` so that it can be read backwards from the byte after it.
fn put_backlen(out: &mut Vec<u8>, v: u64) {
    let n = varint_len(v);
    for i in (0..n).rev() {
        let group = (v >> (7 * i)) as u8 & 0x7f;
        out.push(if i + 1 < n { group | 0x80 } else { group });
    }
}

/// Reads a backwards length ending right before `end`: (value, bytes used).
#[inline]
fn get_backlen(buf: &[u8], end: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    let mut i = 0usize;
    loop {
        let b = *buf.get(end.checked_sub(i + 1)?)?;
        v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        i += 1;
        if b < 0x80 {
            return Some((v, i));
        }
        if i >= 10 {
            return None;
        }
    }
}

/// How an entry's id follows from the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delta {
    Next,
    Same,
    Ms(u64),
    Gen(u64, u64),
}

impl Delta {
    fn between(prev: StreamId, id: StreamId) -> Delta {
        if id == prev {
            Delta::Same
        } else if id.ms == prev.ms && prev.seq.checked_add(1) == Some(id.seq) {
            Delta::Next
        } else if id.seq == prev.seq {
            Delta::Ms(id.ms.wrapping_sub(prev.ms))
        } else {
            Delta::Gen(id.ms.wrapping_sub(prev.ms), id.seq.wrapping_sub(prev.seq))
        }
    }

    #[inline]
    fn apply(self, prev: StreamId) -> StreamId {
        match self {
            Delta::Next => StreamId::new(prev.ms, prev.seq.wrapping_add(1)),
            Delta::Same => prev,
            Delta::Ms(d) => StreamId::new(prev.ms.wrapping_add(d), prev.seq),
            Delta::Gen(m, s) => StreamId::new(prev.ms.wrapping_add(m), prev.seq.wrapping_add(s)),
        }
    }

    #[inline]
    fn unapply(self, id: StreamId) -> StreamId {
        match self {
            Delta::Next => StreamId::new(id.ms, id.seq.wrapping_sub(1)),
            Delta::Same => id,
            Delta::Ms(d) => StreamId::new(id.ms.wrapping_sub(d), id.seq),
            Delta::Gen(m, s) => StreamId::new(id.ms.wrapping_sub(m), id.seq.wrapping_sub(s)),
        }
    }
}

/// Zigzag so that small negative sequence steps (a new millisecond) stay one or two bytes.
fn zigzag(v: u64) -> u64 {
    let s = v as i64;
    ((s << 1) ^ (s >> 63)) as u64
}

fn unzigzag(z: u64) -> u64 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

/// The strings of one entry, as nodes take them in: field, value pairs, or the same in
/// another layout (a file's listpack elements, see `NodeLoad::push`).
pub trait EntryStrs {
    /// Number of field, value pairs.
    fn pairs(&self) -> usize;
    /// Calls `f` on each string in order (field, value, field, ...), or on the values alone.
    fn each(&self, values_only: bool, f: impl FnMut(&[u8]));
    /// Whether field `i` is `name`.
    fn field_is(&self, i: usize, name: &[u8]) -> bool;
}

impl<F: AsRef<[u8]>> EntryStrs for [(F, F)] {
    fn pairs(&self) -> usize {
        self.len()
    }

    fn each(&self, values_only: bool, mut f: impl FnMut(&[u8])) {
        for (k, v) in self {
            if !values_only {
                f(k.as_ref());
            }
            f(v.as_ref());
        }
    }

    fn field_is(&self, i: usize, name: &[u8]) -> bool {
        self.get(i).is_some_and(|(k, _)| k.as_ref() == name)
    }
}

/// Appends one entry.
fn encode_entry<E: EntryStrs + ?Sized>(out: &mut Vec<u8>, deleted: bool, delta: Delta, same: bool, e: &E) {
    let start = out.len();
    let np = e.pairs();
    let mut tag = match delta {
        Delta::Next => M_NEXT,
        Delta::Same => M_SAME,
        Delta::Ms(_) => M_MS,
        Delta::Gen(..) => M_GEN,
    };
    if deleted {
        tag |= F_DELETED;
    }
    let inline_np = !same && (1..=15).contains(&np);
    if same {
        tag |= F_SAME;
    } else if inline_np {
        tag |= (np as u8) << NPAIRS_SHIFT;
    }
    out.push(tag);
    match delta {
        Delta::Ms(d) => put_varint(out, d),
        Delta::Gen(m, s) => {
            put_varint(out, m);
            put_varint(out, zigzag(s));
        }
        Delta::Next | Delta::Same => {}
    }
    if !same && !inline_np {
        put_varint(out, np as u64);
    }
    e.each(same, |s| put_str(out, s));
    let body = out.len() - start;
    put_backlen(out, body as u64);
}

/// An entry as decoded from a node buffer (positions are offsets into that buffer).
#[derive(Clone, Copy, Debug)]
struct Raw {
    tag: u8,
    delta: Delta,
    /// First entry byte (the tag).
    start: usize,
    /// First string of the entry.
    body: usize,
    /// Number of field/value pairs.
    n: usize,
    /// Just past the entry's backwards length.
    end: usize,
}

impl Raw {
    #[inline]
    fn deleted(&self) -> bool {
        self.tag & F_DELETED != 0
    }

    #[inline]
    fn same(&self) -> bool {
        self.tag & F_SAME != 0
    }
}

/// Decodes the entry starting at `p`; None if the bytes there are not a whole entry.
#[inline]
fn decode_at(buf: &[u8], p: usize, nfields: usize) -> Option<Raw> {
    decode_with(buf, p, nfields, |_| {})
}

/// `decode_at`, handing `each` the entry's strings in order as they are passed (values
/// only when it reuses the master fields, else field, value, ...).
#[inline]
fn decode_with<'a>(buf: &'a [u8], p: usize, nfields: usize, mut each: impl FnMut(&'a [u8])) -> Option<Raw> {
    let mut pos = p;
    let tag = *buf.get(pos)?;
    pos += 1;
    let delta = match tag & MODE_MASK {
        M_NEXT => Delta::Next,
        M_SAME => Delta::Same,
        M_MS => Delta::Ms(get_varint(buf, &mut pos)?),
        _ => {
            let m = get_varint(buf, &mut pos)?;
            Delta::Gen(m, unzigzag(get_varint(buf, &mut pos)?))
        }
    };
    let same = tag & F_SAME != 0;
    let n = if same {
        nfields
    } else {
        match tag >> NPAIRS_SHIFT {
            0 => usize::try_from(get_varint(buf, &mut pos)?).ok()?,
            k => usize::from(k),
        }
    };
    let body = pos;
    let strings = if same { n } else { n.checked_mul(2)? };
    for _ in 0..strings {
        each(get_str(buf, &mut pos)?);
    }
    let end = pos.checked_add(varint_len((pos - p) as u64))?;
    if end > buf.len() {
        return None;
    }
    Some(Raw {
        tag,
        delta,
        start: p,
        body,
        n,
        end,
    })
}

/// The master part of a node buffer.
#[derive(Clone, Copy)]
struct Hdr {
    nfields: usize,
    /// Offset of the first master field.
    fields: usize,
    /// Offset of the first entry.
    end: usize,
}

fn header(buf: &[u8]) -> Option<Hdr> {
    let mut pos = 0;
    let nfields = usize::try_from(get_varint(buf, &mut pos)?).ok()?;
    let fields = pos;
    for _ in 0..nfields {
        skip_str(buf, &mut pos)?;
    }
    Some(Hdr {
        nfields,
        fields,
        end: pos,
    })
}

// ---------------------------------------------------------------------------------------
// Redis listpack sizes (node boundaries only; nothing is encoded that way)
// ---------------------------------------------------------------------------------------

/// Bytes of an integer element, backlen included (integer encodings are at most 9 bytes).
// Redis compat: listpack.c lpEncodeIntegerGetType.
fn lp_int(v: i64) -> u64 {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    };
    enc + 1
}

// Redis compat: listpack.c lpEncodeBacklen.
fn lp_backlen(l: u64) -> u64 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes of a string element; strings that are strict int64s are stored as integers.
// Redis compat: listpack.c lpEncodeGetType (lpStringToInt64 accepts what string2ll does).
fn lp_str(s: &[u8]) -> u64 {
    if let Some(v) = parse_i64(s) {
        return lp_int(v);
    }
    let l = s.len() as u64;
    let enc = if l < 64 {
        1 + l
    } else if l < 4096 {
        2 + l
    } else {
        5 + l
    };
    enc + lp_backlen(enc)
}

fn lp_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Listpack bytes of one entry in Redis's stream node layout.
// Redis compat: t_stream.c streamAppendItem (flags, ms-diff, seq-diff, [num-fields], strings,
// lp-count with lp-count = fields + values + the fixed elements, excluding itself).
fn lp_entry<E: EntryStrs + ?Sized>(master: StreamId, id: StreamId, same: bool, e: &E) -> u64 {
    let n = lp_count(e.pairs());
    // Flags are 0..=3: one byte plus its backlen, whatever the deleted bit says.
    let mut size = 2 + lp_int(id.ms.wrapping_sub(master.ms) as i64) + lp_int(id.seq.wrapping_sub(master.seq) as i64);
    e.each(same, |s| size += lp_str(s));
    if same {
        size += lp_int(n.saturating_add(3));
    } else {
        size += lp_int(n);
        size += lp_int(n.saturating_mul(2).saturating_add(4));
    }
    size
}

// ---------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct Node {
    buf: Vec<u8>,
    /// Id of the last entry, live or deleted (the reverse walk starts from it).
    last: StreamId,
    /// Redis listpack bytes of this node, less the master's live and deleted counters.
    lp_rest: u64,
    live: u32,
    deleted: u32,
}

impl Node {
    /// A node with the given master fields and no entries yet.
    fn empty<'f>(master: StreamId, fields: impl ExactSizeIterator<Item = &'f [u8]> + Clone) -> Node {
        let cap = fields.clone().map(|f| f.len() + 1).sum::<usize>() + 16;
        Node::empty_in(Vec::with_capacity(cap), master, fields)
    }

    /// `empty`, built in `buf` (cleared first).
    fn empty_in<'f>(mut buf: Vec<u8>, master: StreamId, fields: impl ExactSizeIterator<Item = &'f [u8]>) -> Node {
        buf.clear();
        put_varint(&mut buf, fields.len() as u64);
        // Redis: 6-byte header, EOF byte, #fields, the fields, the 0 terminator of the master entry.
        let mut lp_rest = 7 + lp_int(lp_count(fields.len())) + lp_int(0);
        for f in fields {
            put_str(&mut buf, f);
            lp_rest += lp_str(f);
        }
        Node {
            buf,
            last: master,
            lp_rest,
            live: 0,
            deleted: 0,
        }
    }

    // Redis compat: t_stream.c streamAppendItem reads the size with lpBytes.
    fn lp_bytes(&self) -> u64 {
        self.lp_rest + lp_int(i64::from(self.live)) + lp_int(i64::from(self.deleted))
    }

    fn total(&self) -> u64 {
        u64::from(self.live) + u64::from(self.deleted)
    }

    /// Whether `pairs` has exactly the master field names, in order.
    fn same_fields<E: EntryStrs + ?Sized>(&self, e: &E) -> bool {
        let Some(h) = header(&self.buf) else {
            return false;
        };
        if h.nfields != e.pairs() {
            return false;
        }
        let mut pos = h.fields;
        (0..h.nfields).all(|i| get_str(&self.buf, &mut pos).is_some_and(|f| e.field_is(i, f)))
    }

    /// Appends an entry after `self.last`.
    fn push(&mut self, master: StreamId, id: StreamId, deleted: bool, pairs: &[(&[u8], &[u8])]) {
        let same = self.same_fields(pairs);
        self.push_same(master, id, deleted, pairs, same);
    }

    /// `push`, with `same` the result of `same_fields(pairs)`.
    fn push_same<E: EntryStrs + ?Sized>(
        &mut self,
        master: StreamId,
        id: StreamId,
        deleted: bool,
        pairs: &E,
        same: bool,
    ) {
        self.lp_rest += lp_entry(master, id, same, pairs);
        self.push_uncounted(id, deleted, pairs, same);
    }

    /// `push_same` without adding the entry's listpack bytes (the caller knows the total).
    fn push_uncounted<E: EntryStrs + ?Sized>(&mut self, id: StreamId, deleted: bool, pairs: &E, same: bool) {
        encode_entry(&mut self.buf, deleted, Delta::between(self.last, id), same, pairs);
        if deleted {
            self.deleted = self.deleted.saturating_add(1);
        } else {
            self.live = self.live.saturating_add(1);
        }
        self.last = id;
    }
}

/// Forward walk over one node's entries.
#[derive(Clone)]
struct Fwd<'a> {
    buf: &'a [u8],
    fields: usize,
    nfields: usize,
    pos: usize,
    prev: StreamId,
}

impl<'a> Fwd<'a> {
    fn new(master: StreamId, node: &'a Node) -> Self {
        match header(&node.buf) {
            Some(h) => Fwd {
                buf: &node.buf,
                fields: h.fields,
                nfields: h.nfields,
                pos: h.end,
                prev: master,
            },
            None => Fwd {
                buf: &[],
                fields: 0,
                nfields: 0,
                pos: 0,
                prev: master,
            },
        }
    }

    #[inline]
    fn next(&mut self) -> Option<(StreamId, Raw)> {
        if self.pos >= self.buf.len() {
            return None;
        }
        match decode_at(self.buf, self.pos, self.nfields) {
            Some(r) => {
                let id = r.delta.apply(self.prev);
                self.prev = id;
                self.pos = r.end;
                Some((id, r))
            }
            None => {
                // A damaged node ends here.
                self.pos = self.buf.len();
                None
            }
        }
    }

    fn entry(&self, id: StreamId, r: &Raw) -> Entry<'a> {
        Entry {
            id,
            buf: self.buf,
            fields: self.fields,
            body: r.body,
            n: r.n,
            same: r.same(),
        }
    }
}

/// Backward walk over one node's entries, from its last entry.
struct Rev<'a> {
    buf: &'a [u8],
    fields: usize,
    nfields: usize,
    hdr_end: usize,
    /// End of the next entry to yield (entries before it remain).
    end: usize,
    /// Id of the entry that ends at `end`.
    id: StreamId,
}

impl<'a> Rev<'a> {
    fn new(node: &'a Node) -> Self {
        match header(&node.buf) {
            Some(h) => Rev {
                buf: &node.buf,
                fields: h.fields,
                nfields: h.nfields,
                hdr_end: h.end,
                end: node.buf.len(),
                id: node.last,
            },
            None => Rev {
                buf: &[],
                fields: 0,
                nfields: 0,
                hdr_end: 0,
                end: 0,
                id: node.last,
            },
        }
    }

    #[inline]
    fn prev(&mut self) -> Option<(StreamId, Raw)> {
        if self.end <= self.hdr_end {
            return None;
        }
        let found = (|| {
            let (len, bl) = get_backlen(self.buf, self.end)?;
            let start = self.end.checked_sub(bl)?.checked_sub(usize::try_from(len).ok()?)?;
            if start < self.hdr_end {
                return None;
            }
            let r = decode_at(self.buf, start, self.nfields)?;
            (r.end == self.end).then_some(r)
        })();
        match found {
            Some(r) => {
                let id = self.id;
                self.id = r.delta.unapply(id);
                self.end = r.start;
                Some((id, r))
            }
            None => {
                self.end = self.hdr_end;
                None
            }
        }
    }

    fn entry(&self, id: StreamId, r: &Raw) -> Entry<'a> {
        Entry {
            id,
            buf: self.buf,
            fields: self.fields,
            body: r.body,
            n: r.n,
            same: r.same(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Public read views
// ---------------------------------------------------------------------------------------

/// A live entry as read from the log (borrowed; no allocation).
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub id: StreamId,
    buf: &'a [u8],
    /// Offset of the first master field (used when `same`).
    fields: usize,
    body: usize,
    n: usize,
    same: bool,
}

impl<'a> Entry<'a> {
    pub fn num_pairs(&self) -> usize {
        self.n
    }

    /// Field, value pairs in order.
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs {
            buf: self.buf,
            field: self.fields,
            pos: self.body,
            left: self.n,
            same: self.same,
        }
    }
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<_> = self
            .pairs()
            .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v)))
            .collect();
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("pairs", &pairs)
            .finish()
    }
}

/// Iterator over an entry's field, value pairs.
#[derive(Clone)]
pub struct Pairs<'a> {
    buf: &'a [u8],
    /// Next master field (entries reusing the master fields).
    field: usize,
    /// Next string of the entry itself.
    pos: usize,
    left: usize,
    same: bool,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let f = if self.same {
            get_str(self.buf, &mut self.field)
        } else {
            get_str(self.buf, &mut self.pos)
        };
        match (f, get_str(self.buf, &mut self.pos)) {
            (Some(f), Some(v)) => {
                self.left -= 1;
                Some((f, v))
            }
            _ => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// Live entries with ids in a range, ascending (see [`StreamLog::range`]).
#[derive(Default)]
pub struct Range<'a> {
    nodes: vec_deque::Iter<'a, (StreamId, Node)>,
    cur: Option<Fwd<'a>>,
    start: StreamId,
    end: StreamId,
    done: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            if let Some(c) = &mut self.cur {
                while let Some((id, r)) = c.next() {
                    if id > self.end {
                        self.done = true;
                        return None;
                    }
                    if id >= self.start && !r.deleted() {
                        return Some(c.entry(id, &r));
                    }
                }
            }
            match self.nodes.next() {
                Some((k, node)) => {
                    self.cur = (node.live > 0 && node.last >= self.start).then(|| Fwd::new(*k, node));
                }
                None => self.done = true,
            }
        }
        None
    }
}

/// Live entries with ids in a range, descending (see [`StreamLog::range_rev`]).
#[derive(Default)]
pub struct RangeRev<'a> {
    nodes: vec_deque::Iter<'a, (StreamId, Node)>,
    cur: Option<Rev<'a>>,
    start: StreamId,
    end: StreamId,
    done: bool,
}

impl<'a> Iterator for RangeRev<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            if let Some(c) = &mut self.cur {
                while let Some((id, r)) = c.prev() {
                    if id < self.start {
                        self.done = true;
                        return None;
                    }
                    if id <= self.end && !r.deleted() {
                        return Some(c.entry(id, &r));
                    }
                }
            }
            match self.nodes.next_back() {
                Some((_, node)) if node.last < self.start => self.done = true,
                Some((_, node)) => self.cur = (node.live > 0).then(|| Rev::new(node)),
                None => self.done = true,
            }
        }
        None
    }
}

/// An entry as stored in a file: every entry carries its pairs (fields included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry<'a> {
    pub id: StreamId,
    pub deleted: bool,
    /// Borrowed when the entries of a node share one array of pairs (a loaded node).
    pub pairs: Cow<'a, [(&'a [u8], &'a [u8])]>,
}

/// One node of the log, for the RDB writer.
#[derive(Clone, Copy)]
pub struct NodeView<'a> {
    master: StreamId,
    node: &'a Node,
}

impl<'a> NodeView<'a> {
    pub fn master_id(&self) -> StreamId {
        self.master
    }

    pub fn master_fields(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf: &'a [u8] = &self.node.buf;
        let (mut pos, n) = header(buf).map_or((0, 0), |h| (h.fields, h.nfields));
        (0..n).map_while(move |_| get_str(buf, &mut pos))
    }

    pub fn live(&self) -> u64 {
        u64::from(self.node.live)
    }

    pub fn deleted(&self) -> u64 {
        u64::from(self.node.deleted)
    }

    /// The node's bytes from where `s` starts to the end (`s` itself when it does not lie in
    /// the node): room to move a short string in a fixed-size chunk.
    pub fn tail_of(&self, s: &'a [u8]) -> &'a [u8] {
        let buf: &'a [u8] = &self.node.buf;
        let off = (s.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        // In range, the offset puts the tail at the very address of `s`.
        buf.get(off..).filter(|t| t.len() >= s.len()).unwrap_or(s)
    }

    /// Bytes this node would take as a Redis listpack (what Redis's MEMORY USAGE samples).
    pub fn redis_bytes(&self) -> u64 {
        self.node.lp_bytes()
    }

    /// All entries of the node in order, deleted ones included, with whether each reuses the
    /// master fields (SAMEFIELDS).
    pub fn entries(&self) -> impl Iterator<Item = (RawEntry<'a>, bool)> + 'a {
        let mut c = Fwd::new(self.master, self.node);
        std::iter::from_fn(move || {
            let (id, r) = c.next()?;
            let pairs = Cow::Owned(c.entry(id, &r).pairs().collect());
            Some((
                RawEntry {
                    id,
                    deleted: r.deleted(),
                    pairs,
                },
                r.same(),
            ))
        })
    }

    /// Calls `f` on every entry of the node in order, deleted ones included: its id,
    /// whether it is deleted, whether it reuses the master fields (SAMEFIELDS), and its
    /// pairs (in one buffer reused from entry to entry).
    pub fn for_each_entry(&self, mut f: impl FnMut(StreamId, bool, bool, &[(&'a [u8], &'a [u8])])) {
        let buf: &'a [u8] = &self.node.buf;
        let Some(h) = header(buf) else {
            return;
        };
        // Each string is read once: the walk hands them over as it passes them.
        let masters: Vec<&'a [u8]> = self.master_fields().collect();
        let (mut strs, mut pairs) = (Vec::new(), Vec::new());
        let (mut pos, mut prev) = (h.end, self.master);
        while pos < buf.len() {
            strs.clear();
            let Some(r) = decode_with(buf, pos, h.nfields, |s| strs.push(s)) else {
                return;
            };
            let id = r.delta.apply(prev);
            (prev, pos) = (id, r.end);
            pairs.clear();
            if r.same() {
                pairs.extend(masters.iter().copied().zip(strs.iter().copied()));
            } else {
                pairs.extend(strs.chunks_exact(2).filter_map(|c| match c {
                    [f, v] => Some((*f, *v)),
                    _ => None,
                }));
            }
            f(id, r.deleted(), r.same(), &pairs);
        }
    }
}

/// Every node in id order (see [`StreamLog::nodes`]).
pub struct Nodes<'a>(vec_deque::Iter<'a, (StreamId, Node)>);

impl<'a> Iterator for Nodes<'a> {
    type Item = NodeView<'a>;

    fn next(&mut self) -> Option<NodeView<'a>> {
        self.0.next().map(|(k, node)| NodeView { master: *k, node })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// Nodes of the compressed trie of sorted, distinct, equally long `keys` below a state
/// `depth` bytes deep (the state's own node included).
fn trie_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return 0;
    };
    if depth >= 16 {
        return 1;
    }
    // Sorted keys: the common prefix of all is that of the first and the last.
    let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if common > 0 {
        // A compressed node for the chain, then the state after it.
        return 1 + trie_nodes(keys, depth + common);
    }
    // A branching node, then each byte's subtree.
    let mut n = 1;
    let mut rest = keys;
    while let Some(k) = rest.first() {
        let run = rest.iter().take_while(|x| x[depth] == k[depth]).count();
        let (group, tail) = rest.split_at(run);
        n += trie_nodes(group, depth + 1);
        rest = tail;
    }
    n
}

// ---------------------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------------------

/// Room kept in `NODE_SCRATCH` between loads.
const NODE_SCRATCH_MAX: usize = 64 << 10;

thread_local! {
    /// The buffer a node read from a file is built in (one, reused).
    static NODE_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A stream's entries: nodes with their master ids in id order, plus the live entry count.
#[derive(Clone, Default)]
pub struct StreamLog {
    nodes: VecDeque<(StreamId, Node)>,
    len: u64,
}

impl fmt::Debug for StreamLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamLog")
            .field("len", &self.len)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl StreamLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Live entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Nodes whose master id is at most `id`: the index of the node that may hold `id` plus one.
    fn upto(&self, id: StreamId) -> usize {
        self.nodes.partition_point(|(k, _)| *k <= id)
    }

    /// Index of the node that may hold `id`: the last one whose master id is at most `id`.
    fn seek(&self, id: StreamId) -> Option<usize> {
        self.upto(id).checked_sub(1)
    }

    /// Adds a node after every other one. A log's first node gets a deque of exactly one slot:
    /// most streams never get a second.
    fn push_back(&mut self, master: StreamId, node: Node) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
        self.nodes.push_back((master, node));
    }

    /// Active defragmentation of the nodes after master id `after` (all when None), up
    /// to `budget` of them; returns the last one done when more are left.
    pub fn defrag_step(
        &mut self,
        after: Option<StreamId>,
        budget: usize,
        d: &mut super::defrag::Defrag,
    ) -> Option<StreamId> {
        let from = after.map_or(0, |id| self.upto(id));
        let mut last = None;
        for (n, (id, node)) in self.nodes.range_mut(from..).enumerate() {
            if n == budget {
                return last;
            }
            d.vec(&mut node.buf);
            last = Some(*id);
        }
        None
    }

    /// Number of nodes (XINFO radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes of the radix tree Redis keeps the node ids in (XINFO radix-tree-nodes):
    /// the compressed trie of the 16-byte big-endian ids, one node per branching
    /// point, per chain of single-child bytes and per key end, and the root.
    /// Redis compat: rax.c's node layout, without storing the tree.
    pub fn radix_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self
            .nodes
            .iter()
            .map(|(id, _)| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&id.ms.to_be_bytes());
                k[8..].copy_from_slice(&id.seq.to_be_bytes());
                k
            })
            .collect();
        if keys.is_empty() {
            return 1;
        }
        trie_nodes(&keys, 0)
    }

    /// Heap bytes owned: node buffers and the deque's slots, rounded to allocator size classes.
    pub fn mem_usage(&self) -> usize {
        let bufs: usize = self.nodes.iter().map(|(_, n)| alloc_size(n.buf.capacity())).sum();
        let slots = self.nodes.capacity() * std::mem::size_of::<(StreamId, Node)>();
        bufs + if slots == 0 { 0 } else { alloc_size(slots) }
    }

    /// Appends an entry. The caller guarantees `id` is greater than every id ever appended and
    /// `pairs` is non-empty; an id not above the log's last id, or no pairs, is ignored.
    pub fn append(&mut self, id: StreamId, pairs: &[(&[u8], &[u8])], lim: NodeLimits) {
        if pairs.is_empty() {
            return;
        }
        // Redis compat: t_stream.c streamAppendItem (when the tail node is full, and SAMEFIELDS).
        let max_bytes = if lim.max_bytes == 0 || lim.max_bytes > LP_MAX_SIZE {
            LP_MAX_SIZE
        } else {
            lim.max_bytes
        } as u64;
        if let Some((master, node)) = self.nodes.back_mut() {
            let master = *master;
            if id <= node.last {
                return;
            }
            let payload: u64 = pairs.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum();
            let full = node.lp_bytes().saturating_add(payload) >= max_bytes
                || (lim.max_entries != 0 && node.total() >= lim.max_entries as u64);
            if !full {
                node.push(master, id, false, pairs);
                self.len += 1;
                return;
            }
            // The node is closed for good: give back the growth slack (Redis: lpShrinkToFit).
            node.buf.shrink_to_fit();
        }
        let mut node = Node::empty(id, pairs.iter().map(|(f, _)| *f));
        node.push(id, id, false, pairs);
        self.push_back(id, node);
        self.len += 1;
    }

    /// The live entry with this id.
    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        let (k, node) = self.nodes.get(self.seek(id)?)?;
        if node.live == 0 || id > node.last {
            return None;
        }
        let mut c = Fwd::new(*k, node);
        while let Some((eid, r)) = c.next() {
            if eid >= id {
                return (eid == id && !r.deleted()).then(|| c.entry(eid, &r));
            }
        }
        None
    }

    /// The first live entry.
    pub fn first(&self) -> Option<Entry<'_>> {
        self.range(StreamId::MIN, StreamId::MAX).next()
    }

    /// The last live entry.
    pub fn last(&self) -> Option<Entry<'_>> {
        self.range_rev(StreamId::MIN, StreamId::MAX).next()
    }

    /// Live entries with `start <= id <= end`, ascending. Seeks to the node holding `start` in
    /// O(log nodes), then walks that node from its head (as Redis does).
    pub fn range(&self, start: StreamId, end: StreamId) -> Range<'_> {
        if start > end {
            return Range::default();
        }
        let from = self.seek(start).unwrap_or(0);
        Range {
            nodes: self.nodes.range(from..self.upto(end)),
            cur: None,
            start,
            end,
            done: false,
        }
    }

    /// Live entries with `start <= id <= end`, descending. Seeks to the node holding `end` in
    /// O(log nodes), then walks it backwards from its tail.
    pub fn range_rev(&self, start: StreamId, end: StreamId) -> RangeRev<'_> {
        if start > end {
            return RangeRev::default();
        }
        RangeRev {
            nodes: self.nodes.range(..self.upto(end)),
            cur: None,
            start,
            end,
            done: false,
        }
    }

    /// Marks one live entry deleted; a node left without live entries is dropped. False if absent.
    // Redis compat: t_stream.c streamIteratorRemoveEntry.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(at) = self.seek(id) else {
            return false;
        };
        let Some((key, node)) = self.nodes.get_mut(at) else {
            return false;
        };
        let key = *key;
        if node.live == 0 || id > node.last {
            return false;
        }
        let mut found = None;
        let mut c = Fwd::new(key, node);
        while let Some((eid, r)) = c.next() {
            if eid >= id {
                if eid == id && !r.deleted() {
                    found = Some(r.start);
                }
                break;
            }
        }
        let Some(pos) = found else {
            return false;
        };
        self.len -= 1;
        if node.live <= 1 {
            self.nodes.remove(at);
            self.shrink();
        } else {
            if let Some(tag) = node.buf.get_mut(pos) {
                *tag |= F_DELETED;
            }
            node.live -= 1;
            node.deleted = node.deleted.saturating_add(1);
        }
        true
    }

    /// Trims from the head; returns the number of live entries removed. `limit` (0 = none) caps
    /// the work in entries; `approx` removes whole nodes only. A partially trimmed node stays even
    /// if no live entry is left in it (possible with MinId when its last entry is a tombstone).
    // Redis compat: t_stream.c streamTrim.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        loop {
            if let Trim::MaxLen(n) = how {
                if self.len <= n {
                    break;
                }
            }
            let Some((master, node)) = self.nodes.front_mut() else {
                break;
            };
            let master = *master;
            let entries = u64::from(node.live);
            if limit != 0 && removed.saturating_add(entries) > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(n) => self.len.saturating_sub(entries) >= n,
                Trim::MinId(m) => node.last < m,
            };
            if whole {
                self.nodes.pop_front();
                self.len = self.len.saturating_sub(entries);
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            let Some(h) = header(&node.buf) else {
                break;
            };
            let (mut pos, mut prev) = (h.end, master);
            while let Some(r) = decode_at(&node.buf, pos, h.nfields) {
                let id = r.delta.apply(prev);
                let stop = match how {
                    Trim::MaxLen(n) => self.len <= n,
                    Trim::MinId(m) => id >= m,
                };
                if stop || node.live == 0 {
                    break;
                }
                if !r.deleted() {
                    if let Some(tag) = node.buf.get_mut(pos) {
                        *tag |= F_DELETED;
                    }
                    node.live -= 1;
                    node.deleted = node.deleted.saturating_add(1);
                    self.len -= 1;
                    removed += 1;
                }
                prev = id;
                pos = r.end;
            }
            break;
        }
        self.shrink();
        removed
    }

    /// Gives back deque slots when at most a quarter are in use.
    fn shrink(&mut self) {
        let (len, cap) = (self.nodes.len(), self.nodes.capacity());
        if cap > 4 && len * 4 <= cap {
            self.nodes.shrink_to(len * 2);
        }
    }

    /// Every node in id order, for the RDB writer.
    pub fn nodes(&self) -> Nodes<'_> {
        Nodes(self.nodes.iter())
    }

    /// Adds a node read from a file: its master fields and its entries in order, deleted ones
    /// included (every entry with its own pairs; those equal to the master fields are stored as
    /// SAMEFIELDS), and the bytes of the listpack it was read from when there was one (Redis
    /// keeps that listpack as it is: its size decides when the node is full). On error the log
    /// is unchanged. A node whose entries are all deleted is accepted: Redis's exact MINID
    /// trim can leave one, and its RDB files hold it.
    pub fn push_node(
        &mut self,
        master: StreamId,
        master_fields: &[&[u8]],
        entries: &[RawEntry<'_>],
        lp_bytes: Option<u64>,
    ) -> Result<(), &'static str> {
        let mut load = self.begin_node(master, master_fields, lp_bytes)?;
        for e in entries {
            load.push(e.id, e.deleted, false, &e.pairs[..])?;
        }
        self.end_node(load)
    }

    /// Starts a node read from a file, entries to follow one at a time (`NodeLoad::push`), then
    /// `end_node`; the checks and `lp_bytes` are `push_node`'s. It is built in a buffer kept
    /// from node to node.
    pub fn begin_node<F: AsRef<[u8]>>(
        &self,
        master: StreamId,
        master_fields: &[F],
        lp_bytes: Option<u64>,
    ) -> Result<NodeLoad, &'static str> {
        if master_fields.is_empty() {
            return Err("stream node without master fields");
        }
        if let Some((_, last)) = self.nodes.back() {
            if master <= last.last {
                return Err("stream node ids overlap the previous node");
            }
        }
        let buf = NODE_SCRATCH.with_borrow_mut(std::mem::take);
        Ok(NodeLoad {
            master,
            lp_bytes,
            node: Node::empty_in(buf, master, master_fields.iter().map(AsRef::as_ref)),
        })
    }

    /// Adds a node `begin_node` started, copied once at its exact size. On error the log is
    /// unchanged.
    pub fn end_node(&mut self, load: NodeLoad) -> Result<(), &'static str> {
        let NodeLoad {
            master,
            lp_bytes,
            mut node,
        } = load;
        let empty = node.total() == 0;
        if !empty {
            if let Some(total) = lp_bytes {
                let counters = lp_int(i64::from(node.live)) + lp_int(i64::from(node.deleted));
                node.lp_rest = total.saturating_sub(counters);
            }
        }
        let exact = if empty {
            Vec::new()
        } else {
            node.buf.as_slice().to_vec()
        };
        let scratch = std::mem::replace(&mut node.buf, exact);
        if scratch.capacity() <= NODE_SCRATCH_MAX {
            NODE_SCRATCH.with_borrow_mut(|s| *s = scratch);
        }
        if empty {
            return Err("empty stream node");
        }
        self.len += u64::from(node.live);
        self.push_back(master, node);
        Ok(())
    }
}

/// A node being read from a file (see `StreamLog::begin_node`).
pub struct NodeLoad {
    master: StreamId,
    /// The node's size as a Redis listpack, when it was read from one.
    lp_bytes: Option<u64>,
    node: Node,
}

impl NodeLoad {
    /// Appends an entry: its id above the previous one's (at least the master id for the
    /// first), at least one pair. `same` says the file marked it as reusing the master fields
    /// (its pairs' fields are then those); an entry whose fields equal them is stored so too.
    /// Without a listpack size for the node (see `begin_node`) each entry's is added up.
    pub fn push<E: EntryStrs + ?Sized>(
        &mut self,
        id: StreamId,
        deleted: bool,
        same: bool,
        pairs: &E,
    ) -> Result<(), &'static str> {
        let node = &mut self.node;
        if node.total() == 0 {
            if id < self.master {
                return Err("stream entry id below its node's master id");
            }
        } else if id <= node.last {
            return Err("stream entry ids not increasing");
        }
        if pairs.pairs() == 0 {
            return Err("stream entry without fields");
        }
        if node.total() >= u64::from(u32::MAX) {
            return Err("stream node too big");
        }
        let same = same || node.same_fields(pairs);
        if self.lp_bytes.is_some() {
            node.push_uncounted(id, deleted, pairs, same);
        } else {
            node.push_same(self.master, id, deleted, pairs, same);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    type OwnedPairs = Vec<(Vec<u8>, Vec<u8>)>;
    type Model = BTreeMap<StreamId, OwnedPairs>;
    /// Per node limit setting: (master ms, master seq, Redis listpack bytes) of every node.
    type Boundaries = [(usize, &'static [(u64, u64, u64)])];

    const LIM100: NodeLimits = NodeLimits {
        max_bytes: 4096,
        max_entries: 100,
    };

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn lim(max_bytes: usize, max_entries: usize) -> NodeLimits {
        NodeLimits { max_bytes, max_entries }
    }

    fn owned(e: Entry<'_>) -> (StreamId, OwnedPairs) {
        (e.id, e.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
    }

    fn fill(log: &mut StreamLog, n: u64, l: NodeLimits) {
        for i in 1..=n {
            log.append(id(i, 0), &[(b"xitem", b"v")], l);
        }
    }

    /// Structural checks: counts, order, node bounds, Redis sizes recomputed from scratch.
    fn check(log: &StreamLog) {
        let mut live = 0;
        let mut prev_last: Option<StreamId> = None;
        for nv in log.nodes() {
            let node = nv.node;
            let h = header(&node.buf).unwrap();
            let fields: Vec<&[u8]> = nv.master_fields().collect();
            assert_eq!(fields.len(), h.nfields);
            let mut rest = 7 + lp_int(fields.len() as i64) + lp_int(0) + fields.iter().map(|f| lp_str(f)).sum::<u64>();
            let (mut l, mut d) = (0, 0);
            let mut last = None;
            let mut ids = Vec::new();
            for (e, same) in nv.entries() {
                assert!(e.id >= nv.master_id());
                assert!(last.is_none_or(|p| e.id > p));
                assert_eq!(same, e.pairs.iter().map(|p| p.0).eq(fields.iter().copied()));
                rest += lp_entry(nv.master_id(), e.id, same, &e.pairs[..]);
                if e.deleted {
                    d += 1;
                } else {
                    l += 1;
                }
                last = Some(e.id);
                ids.push((e.id, e.deleted));
            }
            assert_eq!((l, d), (nv.live(), nv.deleted()));
            assert_eq!(rest, node.lp_rest);
            assert_eq!(last, Some(node.last));
            assert!(prev_last.is_none_or(|p| nv.master_id() > p));
            prev_last = last;
            // The backward walk sees the same entries.
            let mut rev = Vec::new();
            let mut r = Rev::new(node);
            while let Some((i, raw)) = r.prev() {
                rev.push((i, raw.deleted()));
            }
            rev.reverse();
            assert_eq!(rev, ids);
            live += l;
        }
        assert_eq!(live, log.len());
    }

    #[test]
    fn id_edges() {
        assert_eq!(StreamId::MIN.prev(), None);
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(id(0, 1).prev(), Some(StreamId::MIN));
        assert_eq!(id(1, 0).prev(), Some(id(0, u64::MAX)));
        assert_eq!(id(0, u64::MAX).next(), Some(id(1, 0)));
        assert_eq!(id(u64::MAX, u64::MAX - 1).next(), Some(StreamId::MAX));
        assert_eq!(StreamId::MAX.prev(), Some(id(u64::MAX, u64::MAX - 1)));
        for x in [StreamId::MIN, id(0, 1), id(1, 0), id(0x0102, 0x0304), StreamId::MAX] {
            let b = x.to_be_bytes();
            assert_eq!(StreamId::from_be_bytes(&b), Some(x));
        }
        assert_eq!(
            id(0x0102, 0x0304).to_be_bytes(),
            [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4]
        );
        assert_eq!(StreamId::from_be_bytes(&[0; 15]), None);
        assert_eq!(StreamId::from_be_bytes(&[0; 17]), None);
        assert!(id(1, 0) > id(0, u64::MAX));
        assert_eq!(id(0, 1).to_vec(), b"0-1");
        assert_eq!(id(1234567, 0).to_vec(), b"1234567-0");
        assert_eq!(StreamId::MAX.to_vec(), b"18446744073709551615-18446744073709551615");
        assert_eq!(StreamId::MAX.to_string(), "18446744073709551615-18446744073709551615");
    }

    #[test]
    fn edge_ids_in_the_log() {
        let mut log = StreamLog::new();
        let ids = [
            id(0, 1),
            id(0, 2),
            id(0, u64::MAX),
            id(1, 0),
            id(1, 5),
            id(7, 3),
            id(u64::MAX - 1, u64::MAX),
            id(u64::MAX, 0),
            StreamId::MAX,
        ];
        for (i, &x) in ids.iter().enumerate() {
            let v = format!("{i}");
            log.append(x, &[(b"f", v.as_bytes())], lim(0, 4));
        }
        check(&log);
        assert_eq!(log.len(), ids.len() as u64);
        let got: Vec<StreamId> = log.range(StreamId::MIN, StreamId::MAX).map(|e| e.id).collect();
        assert_eq!(got, ids);
        let got: Vec<StreamId> = log.range_rev(StreamId::MIN, StreamId::MAX).map(|e| e.id).collect();
        assert_eq!(got, ids.iter().rev().copied().collect::<Vec<_>>());
        for (i, &x) in ids.iter().enumerate() {
            let e = log.get(x).unwrap();
            assert_eq!(e.pairs().next().unwrap().1, format!("{i}").as_bytes());
        }
        assert!(log.get(StreamId::MIN).is_none());
        assert!(log.get(id(0, 3)).is_none());
        assert_eq!(log.first().unwrap().id, id(0, 1));
        assert_eq!(log.last().unwrap().id, StreamId::MAX);
        // Appending at or below the last id is refused.
        log.append(StreamId::MAX, &[(b"f", b"x")], LIM100);
        assert_eq!(log.len(), ids.len() as u64);
        assert!(log.delete(StreamId::MAX));
        assert_eq!(log.last().unwrap().id, id(u64::MAX, 0));
        assert_eq!(log.range(StreamId::MAX, StreamId::MAX).count(), 0);
        assert_eq!(log.range(id(5, 0), id(4, 0)).count(), 0);
        assert_eq!(log.range_rev(id(5, 0), id(4, 0)).count(), 0);
        check(&log);
        // A log starting at the master id 0-0 (allowed for nodes read from files).
        let mut log = StreamLog::new();
        log.append(StreamId::MIN, &[(b"f", b"v")], LIM100);
        assert_eq!(log.first().unwrap().id, StreamId::MIN);
        assert_eq!(log.last().unwrap().id, StreamId::MIN);
    }

    #[test]
    fn entries_with_own_fields_and_many_pairs() {
        let mut log = StreamLog::new();
        let big = vec![b'x'; 70_000];
        let many: Vec<(Vec<u8>, Vec<u8>)> = (0..40).map(|i| (format!("k{i}").into_bytes(), vec![b'v'; i])).collect();
        let many_ref: Vec<(&[u8], &[u8])> = many.iter().map(|(f, v)| (&f[..], &v[..])).collect();
        log.append(id(1, 0), &[(b"a", b"1"), (b"b", b"2")], LIM100);
        log.append(id(1, 1), &[(b"a", b"3"), (b"b", b"4")], LIM100);
        log.append(id(1, 2), &[(b"b", b"3"), (b"a", b"4")], LIM100);
        log.append(id(1, 3), &[(b"a", b"")], LIM100);
        log.append(id(2, 3), &many_ref, lim(0, 0));
        log.append(id(3, 0), &[(b"", &big[..])], lim(0, 0));
        check(&log);
        let all: Vec<_> = log.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[2].1,
            vec![(b"b".to_vec(), b"3".to_vec()), (b"a".to_vec(), b"4".to_vec())]
        );
        assert_eq!(all[3].1, vec![(b"a".to_vec(), Vec::new())]);
        assert_eq!(all[4].1, many);
        assert_eq!(all[5].1, vec![(Vec::new(), big.clone())]);
        assert_eq!(log.get(id(2, 3)).unwrap().num_pairs(), 40);
        let rev: Vec<_> = log.range_rev(StreamId::MIN, StreamId::MAX).map(owned).collect();
        assert_eq!(rev, all.iter().rev().cloned().collect::<Vec<_>>());
        let same: Vec<bool> = log.nodes().flat_map(|n| n.entries().map(|(_, s)| s)).collect();
        assert_eq!(same, [true, true, false, false, false, false]);
    }

    #[test]
    fn redis_listpack_sizes_by_hand() {
        // One entry `f v` whose id is the master id:
        //   header 6 + EOF 1
        //   master: count 1 (1+1), deleted 0 (1+1), #fields 1 (1+1), "f" (1+1 +1), terminator 0 (1+1) = 11
        //   entry: flags 2 (1+1), ms-diff 0 (1+1), seq-diff 0 (1+1), "v" (1+1 +1), lp-count 4 (1+1) = 11
        let mut log = StreamLog::new();
        log.append(id(5, 0), &[(b"f", b"v")], LIM100);
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 29);
        // Same fields, id 5-1: flags 2, ms 0, seq 1 (2 each), "v" 3, lp-count 4 (2) = 11.
        log.append(id(5, 1), &[(b"f", b"v")], LIM100);
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 40);
        // Own fields `g 123` at 6-0: flags 0 (2), ms 1 (2), seq 0 (2), #fields 1 (2), "g" 3,
        // "123" as the integer 123 (1+1), lp-count 1*2+4 = 6 (2) = 15.
        log.append(id(6, 0), &[(b"g", b"123")], LIM100);
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 55);
        // `f -5000` at 6-1: 16-bit int (3+1); seq-diff 1, ms-diff 1: 2+2+2+4+2 = 12.
        log.append(id(6, 1), &[(b"f", b"-5000")], LIM100);
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 67);
        // `f <100 bytes>` at 7-0: string 2+100 + backlen 1 = 103; 2+2+2+103+2 = 111.
        log.append(id(7, 0), &[(b"f", &[b'a'; 100][..])], LIM100);
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 178);
        // `f <200 bytes>`: 2+200 + backlen 2 = 204; 2+2+2+204+2 = 212.
        log.append(id(7, 1), &[(b"f", &[b'a'; 200][..])], LIM100);
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 390);
        // Deleting one: count 5 (2 bytes), deleted 1 (2 bytes): unchanged.
        assert!(log.delete(id(7, 1)));
        assert_eq!(log.nodes().next().unwrap().redis_bytes(), 390);
        // Element sizes.
        assert_eq!(
            [
                0i64,
                127,
                128,
                -1,
                -4096,
                4095,
                4096,
                -4097,
                32767,
                32768,
                -8388608,
                8388608,
                i32::MIN as i64,
                1 << 31
            ]
            .map(lp_int),
            [2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 10]
        );
        let s = |n: usize| lp_str(&vec![b'a'; n]);
        assert_eq!(
            [s(0), s(63), s(64), s(125), s(126), s(4095), s(4096)],
            [2, 65, 67, 128, 130, 4099, 4103]
        );
        assert_eq!(s(16377), 16382 + 2);
        assert_eq!(s(16378), 16383 + 3);
        assert_eq!(
            [
                &b"0"[..],
                b"-0",
                b"007",
                b"+1",
                b"9223372036854775807",
                b"9223372036854775808",
                b"-9223372036854775808"
            ]
            .map(lp_str),
            [2, 4, 5, 4, 10, 21, 10]
        );
    }

    #[test]
    fn counters_change_listpack_size() {
        let mut log = StreamLog::new();
        for i in 0..200 {
            log.append(id(1, i), &[(b"f", b"v")], lim(0, 0));
        }
        // 7 + master (count 200: 2+1, deleted 0: 2, #fields 2, "f" 3, 0: 2) + 200 * 11, and the
        // seq-diffs from 128 on take 2+1 bytes (72 entries).
        assert_eq!(
            log.nodes().next().unwrap().redis_bytes(),
            7 + 3 + 2 + 2 + 3 + 2 + 200 * 11 + 72
        );
        for i in 0..130 {
            assert!(log.delete(id(1, i)));
        }
        // count 70 (1+1), deleted 130 (2+1).
        assert_eq!(
            log.nodes().next().unwrap().redis_bytes(),
            7 + 2 + 3 + 2 + 3 + 2 + 200 * 11 + 72
        );
        check(&log);
    }

    #[test]
    fn node_split_by_entries_and_bytes() {
        let mut log = StreamLog::new();
        for i in 0..10 {
            log.append(id(i, 0), &[(b"f", b"v")], lim(0, 3));
        }
        let masters: Vec<StreamId> = log.nodes().map(|n| n.master_id()).collect();
        assert_eq!(masters, [id(0, 0), id(3, 0), id(6, 0), id(9, 0)]);
        // Deleted entries count toward max entries.
        let mut log = StreamLog::new();
        log.append(id(1, 0), &[(b"f", b"v")], lim(0, 3));
        log.append(id(2, 0), &[(b"f", b"v")], lim(0, 3));
        assert!(log.delete(id(2, 0)));
        log.append(id(3, 0), &[(b"f", b"v")], lim(0, 3));
        log.append(id(4, 0), &[(b"f", b"v")], lim(0, 3));
        assert_eq!(log.node_count(), 2);
        // By bytes: 29 for the first `f v`, +11 each; full when size + 2 >= 60, i.e. at 62.
        let mut log = StreamLog::new();
        for i in 0..10 {
            log.append(id(1, i), &[(b"f", b"v")], lim(60, 0));
        }
        let masters: Vec<StreamId> = log.nodes().map(|n| n.master_id()).collect();
        assert_eq!(masters, [id(1, 0), id(1, 4), id(1, 8)]);
        let sizes: Vec<u64> = log.nodes().map(|n| n.redis_bytes()).collect();
        assert_eq!(sizes, [62, 62, 40]);
        // The threshold is >=: at max 62 the fourth entry still fits (51 + 2 < 62).
        let mut log = StreamLog::new();
        for i in 0..5 {
            log.append(id(1, i), &[(b"f", b"v")], lim(53, 0));
        }
        assert_eq!(log.node_count(), 2);
        let mut log = StreamLog::new();
        for i in 0..5 {
            log.append(id(1, i), &[(b"f", b"v")], lim(54, 0));
        }
        assert_eq!(log.nodes().next().unwrap().live(), 4);
        // An entry bigger than the limit goes alone into a new node, and the next one too.
        let mut log = StreamLog::new();
        log.append(id(1, 0), &[(b"f", b"v")], lim(100, 0));
        log.append(id(1, 1), &[(b"f", &[b'x'; 200][..])], lim(100, 0));
        log.append(id(1, 2), &[(b"f", b"v")], lim(100, 0));
        assert_eq!(log.node_count(), 3);
        // 0 and above 1 GiB mean 1 GiB.
        let mut log = StreamLog::new();
        for i in 0..1000 {
            log.append(id(1, i), &[(b"f", b"v")], lim(0, 0));
            log.append(id(2, i), &[(b"f", b"v")], lim(usize::MAX, 0));
        }
        assert_eq!(log.node_count(), 1);
        check(&log);
    }

    /// Node boundaries and listpack sizes recorded from redis-server 7.0.15 (DUMP payloads) for a
    /// mixed workload: stream-node-max-bytes 300, stream-node-max-entries 0/7.
    #[test]
    fn node_boundaries_match_redis() {
        for (max_entries, want) in REDIS_BOUNDARIES {
            let mut log = StreamLog::new();
            redis_workload(&mut log, lim(300, *max_entries));
            check(&log);
            let got: Vec<(u64, u64, u64)> = log
                .nodes()
                .map(|n| (n.master_id().ms, n.master_id().seq, n.redis_bytes()))
                .collect();
            assert_eq!(&got[..], *want, "max_entries {max_entries}");
            // XLEN in redis-server after the same commands.
            assert_eq!(log.len(), 257);
        }
    }

    /// The workload behind REDIS_BOUNDARIES (the same ids and pairs were sent to redis-server).
    fn redis_workload(log: &mut StreamLog, l: NodeLimits) {
        let mut rng = SmallRng::seed_from_u64(2024);
        let mut cur = id(1000, 0);
        for i in 0..300u64 {
            cur = match rng.random_range(0..4) {
                0 => id(cur.ms, cur.seq + 1),
                1 => id(cur.ms + rng.random_range(1..300), 0),
                2 => id(cur.ms + 1, rng.random_range(0..100_000)),
                _ => id(cur.ms, cur.seq + rng.random_range(1..10_000)),
            };
            let pairs = workload_pairs(&mut rng, i);
            let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
            log.append(cur, &refs, l);
            if i % 7 == 3 {
                let victim = log
                    .range(StreamId::MIN, StreamId::MAX)
                    .nth(rng.random_range(0..log.len() as usize));
                if let Some(v) = victim.map(|e| e.id) {
                    log.delete(v);
                }
            }
        }
    }

    fn workload_pairs(rng: &mut SmallRng, i: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let value = |rng: &mut SmallRng| -> Vec<u8> {
            match rng.random_range(0..6) {
                0 => format!("{}", rng.random_range(-100_000i64..100_000)).into_bytes(),
                1 => format!("{}", rng.random::<i64>()).into_bytes(),
                2 => vec![b'z'; rng.random_range(0..80)],
                3 => format!("0{}", rng.random_range(0..100)).into_bytes(),
                _ => format!("v{i}").into_bytes(),
            }
        };
        match rng.random_range(0..3) {
            0 => vec![(b"f".to_vec(), value(rng))],
            1 => vec![(b"f".to_vec(), value(rng)), (b"g".to_vec(), value(rng))],
            _ => vec![(format!("{}", rng.random_range(0..200)).into_bytes(), value(rng))],
        }
    }

    #[rustfmt::skip]
    const REDIS_BOUNDARIES: &Boundaries = &[
        (0, &[
            (1001, 29490, 237), (1002, 57015, 234), (1300, 2011, 299), (1517, 7121, 300), (1822, 16916, 297),
            (2130, 16034, 306), (2848, 0, 280), (3245, 0, 280), (3596, 79478, 282), (3776, 17486, 292),
            (4748, 0, 293), (5359, 863, 301), (5870, 1, 258), (6220, 15519, 312), (6617, 64968, 294),
            (6830, 46192, 305), (7058, 42700, 244), (7598, 94319, 251), (7878, 9380, 302), (7881, 13074, 285),
            (8010, 20399, 314), (8656, 0, 302), (8686, 13184, 308), (8846, 0, 304), (10017, 4777, 274),
            (10402, 37300, 297), (10765, 0, 244), (11130, 0, 296), (11301, 1, 302), (11505, 0, 306),
            (11512, 21120, 308), (12013, 71703, 306), (12208, 9165, 303), (12749, 84447, 231),
        ]),
        (7, &[
            (1001, 29490, 237), (1002, 57015, 213), (1300, 0, 289), (1516, 56661, 240), (1822, 5672, 144),
            (1823, 86064, 260), (2130, 16034, 306), (2848, 0, 255), (2980, 22820, 291), (3596, 79477, 205),
            (3775, 2825, 194), (4457, 0, 227), (4748, 2, 168), (5358, 3447, 182), (5582, 0, 243),
            (5871, 86727, 199), (6220, 8172, 261), (6616, 26321, 291), (6828, 1, 164), (6895, 0, 227),
            (7323, 0, 167), (7598, 94319, 251), (7878, 9380, 263), (7881, 13072, 160), (8010, 8436, 294),
            (8191, 0, 192), (8374, 41110, 192), (8686, 0, 236), (8688, 41334, 219), (8846, 1, 176), (9307, 1, 175),
            (10117, 1, 225), (10402, 37300, 275), (10655, 88966, 202), (11048, 48999, 295), (11241, 77712, 245),
            (11344, 49092, 181), (11506, 33578, 203), (11510, 70182, 189), (11939, 0, 257), (12015, 34648, 264),
            (12235, 2, 178), (12459, 55866, 181), (12751, 32421, 142),
        ]),
    ];

    #[test]
    fn delete_then_ranges() {
        let mut log = StreamLog::new();
        for i in 0..50 {
            log.append(id(i / 10, i % 10), &[(b"f", format!("{i}").as_bytes())], lim(0, 8));
        }
        for i in (0..50).step_by(3) {
            assert!(log.delete(id(i / 10, i % 10)));
            assert!(!log.delete(id(i / 10, i % 10)));
        }
        assert!(!log.delete(id(9, 9)));
        assert!(!log.delete(id(0, 10)));
        check(&log);
        let want: Vec<u64> = (0..50).filter(|i| i % 3 != 0).collect();
        let got: Vec<u64> = log
            .range(StreamId::MIN, StreamId::MAX)
            .map(|e| e.id.ms * 10 + e.id.seq)
            .collect();
        assert_eq!(got, want);
        let got: Vec<u64> = log
            .range_rev(StreamId::MIN, StreamId::MAX)
            .map(|e| e.id.ms * 10 + e.id.seq)
            .collect();
        assert_eq!(got, want.iter().rev().copied().collect::<Vec<_>>());
        let got: Vec<u64> = log.range(id(1, 3), id(3, 3)).map(|e| e.id.ms * 10 + e.id.seq).collect();
        assert_eq!(got, [13, 14, 16, 17, 19, 20, 22, 23, 25, 26, 28, 29, 31, 32]);
        let got: Vec<u64> = log
            .range_rev(id(1, 3), id(3, 3))
            .map(|e| e.id.ms * 10 + e.id.seq)
            .collect();
        assert_eq!(got, [32, 31, 29, 28, 26, 25, 23, 22, 20, 19, 17, 16, 14, 13]);
        assert_eq!(log.first().unwrap().id, id(0, 1));
        assert_eq!(log.last().unwrap().id, id(4, 9));
        assert!(log.get(id(0, 3)).is_none());
        assert_eq!(log.get(id(0, 4)).unwrap().pairs().next().unwrap().1, b"4");
        // Emptying a node drops it.
        let before = log.node_count();
        for i in 0..8 {
            log.delete(id(0, i));
        }
        assert_eq!(log.node_count(), before - 1);
        assert_eq!(log.first().unwrap().id, id(0, 8));
        // Deleting everything leaves nothing.
        for i in 0..50 {
            log.delete(id(i / 10, i % 10));
        }
        assert!(log.is_empty());
        assert_eq!(log.node_count(), 0);
        assert!(log.first().is_none() && log.last().is_none());
        check(&log);
    }

    #[test]
    fn append_after_deleting_the_tail_node_reuses_the_previous_one() {
        // Redis appends to whatever node is last, even one that was closed for entries.
        let mut log = StreamLog::new();
        fill(&mut log, 5, lim(0, 3));
        assert_eq!(log.node_count(), 2);
        assert!(log.delete(id(4, 0)) && log.delete(id(5, 0)));
        assert_eq!(log.node_count(), 1);
        log.append(id(6, 0), &[(b"xitem", b"v")], lim(0, 4));
        assert_eq!(log.node_count(), 1);
        assert_eq!(log.nodes().next().unwrap().live(), 4);
        check(&log);
    }

    #[test]
    fn trim_upstream_cases() {
        // XADD MAXLEN ~ 555 after each of 1000 appends, nodes of 100 -> 600.
        let mut log = StreamLog::new();
        for i in 1..=1000u64 {
            let f: &[u8] = if i % 10 == 0 { b"yitem" } else { b"xitem" };
            log.append(id(i, 0), &[(f, format!("{i}").as_bytes())], lim(0, 100));
            log.trim(Trim::MaxLen(555), true, 100 * 100);
        }
        assert_eq!(log.len(), 600);
        check(&log);
        // Once after 1000 appends -> 600 as well.
        let mut log = StreamLog::new();
        fill(&mut log, 1000, lim(0, 100));
        assert_eq!(log.trim(Trim::MaxLen(555), true, 10_000), 400);
        assert_eq!(log.len(), 600);
        // XTRIM MAXLEN 666, = 555, ~ 444 -> 500, ~ 400 -> 400.
        let mut log = StreamLog::new();
        fill(&mut log, 1000, lim(0, 100));
        assert_eq!(log.trim(Trim::MaxLen(666), false, 0), 334);
        assert_eq!(log.len(), 666);
        assert_eq!(log.trim(Trim::MaxLen(555), false, 0), 111);
        assert_eq!(log.len(), 555);
        check(&log);
        assert_eq!(log.first().unwrap().id, id(446, 0));
        log.trim(Trim::MaxLen(444), true, 10_000);
        assert_eq!(log.len(), 500);
        log.trim(Trim::MaxLen(400), true, 10_000);
        assert_eq!(log.len(), 400);
        check(&log);
        // Nodes of 10, 100 entries, XADD + MAXLEN ~ 55 LIMIT 30 -> 71, again -> 62.
        let mut log = StreamLog::new();
        fill(&mut log, 100, lim(0, 10));
        log.append(id(101, 0), &[(b"xitem", b"v")], lim(0, 10));
        log.trim(Trim::MaxLen(55), true, 30);
        assert_eq!(log.len(), 71);
        log.append(id(102, 0), &[(b"xitem", b"v")], lim(0, 10));
        log.trim(Trim::MaxLen(55), true, 30);
        assert_eq!(log.len(), 62);
        // Nodes of 1, 102 entries, MAXLEN ~ 1 with the default limit 100 -> 2; exact -> 1.
        let mut log = StreamLog::new();
        fill(&mut log, 102, lim(0, 1));
        assert_eq!(log.trim(Trim::MaxLen(1), true, 100), 100);
        assert_eq!(log.len(), 2);
        let mut log = StreamLog::new();
        fill(&mut log, 102, lim(0, 1));
        assert_eq!(log.trim(Trim::MaxLen(1), false, 0), 101);
        assert_eq!(log.len(), 1);
        // Nodes of 2, 3 entries, MAXLEN ~ 0 LIMIT 1 -> 0, LIMIT 2 -> 2.
        let mut log = StreamLog::new();
        fill(&mut log, 3, lim(0, 2));
        assert_eq!(log.trim(Trim::MaxLen(0), true, 1), 0);
        assert_eq!(log.trim(Trim::MaxLen(0), true, 2), 2);
        assert_eq!(log.len(), 1);
        // 4 entries in one node of 100, MAXLEN ~ 0 LIMIT 1 -> nothing.
        let mut log = StreamLog::new();
        fill(&mut log, 4, LIM100);
        assert_eq!(log.trim(Trim::MaxLen(0), true, 1), 0);
        assert_eq!(log.len(), 4);
        // Already short enough.
        assert_eq!(log.trim(Trim::MaxLen(4), false, 0), 0);
        assert_eq!(log.trim(Trim::MaxLen(0), false, 0), 4);
        assert!(log.is_empty());
        assert_eq!(log.node_count(), 0);
        check(&log);
    }

    #[test]
    fn trim_by_min_id() {
        let mut log = StreamLog::new();
        fill(&mut log, 100, lim(0, 10));
        // Approx: nodes whose last id < 35-0 go (1..=30).
        assert_eq!(log.trim(Trim::MinId(id(35, 0)), true, 0), 30);
        assert_eq!(log.first().unwrap().id, id(31, 0));
        // Approx with a node ending exactly at the min id: 31..=40 stays.
        assert_eq!(log.trim(Trim::MinId(id(40, 0)), true, 0), 0);
        assert_eq!(log.trim(Trim::MinId(id(40, 1)), true, 0), 10);
        // Limit counts live entries of whole nodes.
        assert_eq!(log.trim(Trim::MinId(id(80, 0)), true, 25), 20);
        assert_eq!(log.first().unwrap().id, id(61, 0));
        // Exact: whole nodes then a partial one.
        assert_eq!(log.trim(Trim::MinId(id(75, 0)), false, 0), 14);
        assert_eq!(log.first().unwrap().id, id(75, 0));
        assert_eq!(log.node_count(), 3);
        check(&log);
        // Exact with tombstones: skipped, not counted.
        assert!(log.delete(id(76, 0)));
        assert_eq!(log.trim(Trim::MinId(id(78, 0)), false, 0), 2);
        assert_eq!(log.first().unwrap().id, id(78, 0));
        assert_eq!(log.len(), 23);
        // MinId at MIN removes nothing.
        assert_eq!(log.trim(Trim::MinId(StreamId::MIN), false, 0), 0);
        check(&log);
    }

    #[test]
    fn exact_min_id_trim_can_leave_a_node_with_only_tombstones() {
        // Redis keeps such a node (its last entry, a tombstone, is not below the min id).
        let mut log = StreamLog::new();
        fill(&mut log, 3, LIM100);
        assert!(log.delete(id(3, 0)));
        assert_eq!(log.trim(Trim::MinId(id(3, 0)), false, 0), 2);
        assert_eq!(log.len(), 0);
        assert_eq!(log.node_count(), 1);
        let nv = log.nodes().next().unwrap();
        assert_eq!((nv.live(), nv.deleted()), (0, 3));
        // DUMP in redis-server shows this 55-byte listpack: master 15 bytes, 3 entries of 11.
        assert_eq!(nv.redis_bytes(), 55);
        assert!(log.first().is_none() && log.last().is_none());
        assert_eq!(log.range(StreamId::MIN, StreamId::MAX).count(), 0);
        assert_eq!(log.range_rev(StreamId::MIN, StreamId::MAX).count(), 0);
        assert!(log.get(id(1, 0)).is_none());
        assert!(!log.delete(id(1, 0)));
        check(&log);
        // It round-trips through nodes()/push_node.
        let copy = copy_via_nodes(&log);
        assert_eq!(copy.node_count(), 1);
        // It is still the tail: the next append goes into it.
        log.append(id(4, 0), &[(b"xitem", b"v")], LIM100);
        assert_eq!(log.node_count(), 1);
        assert_eq!(log.first().unwrap().id, id(4, 0));
        // A later trim removes it whole (MaxLen: len - 0 >= n).
        let mut log2 = copy;
        log2.append(id(10, 0), &[(b"xitem", b"v")], lim(0, 3));
        assert_eq!(log2.node_count(), 2);
        assert_eq!(log2.trim(Trim::MaxLen(0), true, 0), 1);
        assert_eq!(log2.node_count(), 0);
        check(&log);
    }

    #[test]
    fn trim_limit_applies_before_exact_trimming_too() {
        // Redis checks the limit before deciding how to trim a node.
        let mut log = StreamLog::new();
        fill(&mut log, 10, LIM100);
        assert_eq!(log.trim(Trim::MaxLen(5), false, 3), 0);
        assert_eq!(log.trim(Trim::MaxLen(5), false, 10), 5);
        assert_eq!(log.len(), 5);
    }

    fn copy_via_nodes(log: &StreamLog) -> StreamLog {
        let mut out = StreamLog::new();
        for nv in log.nodes() {
            let fields: Vec<&[u8]> = nv.master_fields().collect();
            let entries: Vec<RawEntry<'_>> = nv.entries().map(|(e, _)| e).collect();
            out.push_node(nv.master_id(), &fields, &entries, None).unwrap();
        }
        out
    }

    #[test]
    fn push_node_round_trip() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut log = StreamLog::new();
        for i in 0..2000u64 {
            let pairs = workload_pairs(&mut rng, i);
            let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
            log.append(id(i / 3, i % 3), &refs, lim(500, 50));
            if rng.random_range(0..4) == 0 {
                log.delete(id(rng.random_range(0..=i) / 3, rng.random_range(0..3)));
            }
        }
        let copy = copy_via_nodes(&log);
        check(&copy);
        assert_eq!(copy.len(), log.len());
        let a: Vec<_> = log.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
        let b: Vec<_> = copy.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
        assert_eq!(a, b);
        let na: Vec<_> = log
            .nodes()
            .map(|n| {
                (
                    n.master_id(),
                    n.live(),
                    n.deleted(),
                    n.redis_bytes(),
                    n.entries().collect::<Vec<_>>(),
                )
            })
            .collect();
        let nb: Vec<_> = copy
            .nodes()
            .map(|n| {
                (
                    n.master_id(),
                    n.live(),
                    n.deleted(),
                    n.redis_bytes(),
                    n.entries().collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(na, nb);
        let ba: Vec<&Vec<u8>> = log.nodes.iter().map(|(_, n)| &n.buf).collect();
        let bb: Vec<&Vec<u8>> = copy.nodes.iter().map(|(_, n)| &n.buf).collect();
        assert_eq!(ba, bb);
    }

    #[test]
    fn push_node_validation() {
        let e = |ms: u64, deleted: bool| RawEntry {
            id: id(ms, 0),
            deleted,
            pairs: vec![(&b"f"[..], &b"v"[..])].into(),
        };
        let f: &[&[u8]] = &[b"f"];
        let mut log = StreamLog::new();
        assert!(log.push_node(id(1, 0), &[], &[e(1, false)], None).is_err());
        assert!(log.push_node(id(1, 0), f, &[], None).is_err());
        assert!(log.push_node(id(2, 0), f, &[e(1, false)], None).is_err());
        assert!(log.push_node(id(1, 0), f, &[e(2, false), e(2, false)], None).is_err());
        assert!(log.push_node(id(1, 0), f, &[e(3, false), e(2, false)], None).is_err());
        let empty = RawEntry {
            id: id(5, 0),
            deleted: false,
            pairs: Vec::new().into(),
        };
        assert!(log.push_node(id(1, 0), f, &[e(1, false), empty], None).is_err());
        assert_eq!((log.len(), log.node_count()), (0, 0));
        // The master id may be below the first entry; master fields may differ from the first's.
        log.push_node(id(1, 0), &[b"a", b"b"], &[e(2, true), e(3, false)], None)
            .unwrap();
        assert_eq!((log.len(), log.node_count()), (1, 1));
        assert_eq!(log.first().unwrap().id, id(3, 0));
        let same: Vec<bool> = log.nodes().next().unwrap().entries().map(|(_, s)| s).collect();
        assert_eq!(same, [false, false]);
        // Later nodes must start after every id in the log.
        assert!(log.push_node(id(3, 0), f, &[e(4, false)], None).is_err());
        assert!(log.push_node(id(4, 0), f, &[e(3, false)], None).is_err());
        log.push_node(id(4, 0), f, &[e(4, false), e(5, true)], None).unwrap();
        assert_eq!(log.trim(Trim::MaxLen(0), false, 0), 2);
        check(&log);
        // A node that is all tombstones is kept (Redis writes those).
        log.push_node(id(9, 0), f, &[e(9, true)], None).unwrap();
        assert_eq!((log.len(), log.node_count()), (0, 1));
        check(&log);
    }

    #[test]
    fn randomized_against_a_model() {
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        let limits = [
            lim(0, 0),
            lim(0, 1),
            lim(0, 5),
            lim(120, 0),
            lim(300, 10),
            lim(4096, 100),
        ];
        for l in limits {
            let mut log = StreamLog::new();
            let mut model = Model::new();
            let mut last = id(rng.random_range(0..3), rng.random_range(0..3));
            let mut first_append = true;
            for step in 0..6000 {
                match rng.random_range(0..100) {
                    0..=54 => {
                        let next = if first_append {
                            first_append = false;
                            last
                        } else {
                            match rng.random_range(0..5) {
                                0 => last.next().unwrap(),
                                1 => id(last.ms + rng.random_range(1..1000), 0),
                                2 => id(last.ms + 1, rng.random::<u64>()),
                                3 => id(last.ms, last.seq + rng.random_range(1..1_000_000)),
                                _ => id(last.ms + rng.random_range(0..3), last.seq.wrapping_add(1)),
                            }
                        };
                        if next <= last && !model.is_empty() {
                            continue;
                        }
                        last = next;
                        let pairs = workload_pairs(&mut rng, step);
                        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
                        log.append(next, &refs, l);
                        model.insert(next, pairs);
                    }
                    55..=69 => {
                        let target = pick(&mut rng, &model, last);
                        assert_eq!(log.delete(target), model.remove(&target).is_some());
                    }
                    70..=73 => {
                        let n = rng.random_range(0..=model.len() as u64 + 2);
                        let approx = rng.random_bool(0.5);
                        let before = log.len();
                        let removed = log.trim(Trim::MaxLen(n), approx, 0);
                        assert_eq!(before - removed, log.len());
                        if !approx {
                            assert_eq!(log.len(), n.min(before));
                        } else {
                            assert!(log.len() >= n.min(before));
                        }
                        while model.len() as u64 > log.len() {
                            model.pop_first();
                        }
                    }
                    74..=76 => {
                        let m = pick(&mut rng, &model, last);
                        let approx = rng.random_bool(0.5);
                        let removed = log.trim(Trim::MinId(m), approx, 0);
                        let below = model.range(..m).count() as u64;
                        if !approx {
                            assert_eq!(removed, below);
                        }
                        assert!(removed <= below);
                        for _ in 0..removed {
                            model.pop_first();
                        }
                    }
                    77..=86 => {
                        let a = pick(&mut rng, &model, last);
                        let b = pick(&mut rng, &model, last);
                        let (s, e) = if rng.random_bool(0.9) {
                            (a.min(b), a.max(b))
                        } else {
                            (a, b)
                        };
                        let want: Vec<_> = if s <= e {
                            model.range(s..=e).map(|(k, v)| (*k, v.clone())).collect()
                        } else {
                            Vec::new()
                        };
                        let got: Vec<_> = log.range(s, e).map(owned).collect();
                        assert_eq!(got, want);
                        let got: Vec<_> = log.range_rev(s, e).map(owned).collect();
                        assert_eq!(got, want.into_iter().rev().collect::<Vec<_>>());
                        let take: Vec<StreamId> = log.range_rev(s, e).take(3).map(|e| e.id).collect();
                        assert_eq!(
                            take,
                            model
                                .range(s..=e.max(s))
                                .rev()
                                .take(3)
                                .map(|(k, _)| *k)
                                .filter(|_| s <= e)
                                .collect::<Vec<_>>()
                        );
                    }
                    87..=94 => {
                        let k = pick(&mut rng, &model, last);
                        assert_eq!(log.get(k).map(owned), model.get(&k).map(|v| (k, v.clone())));
                    }
                    _ => {
                        assert_eq!(
                            log.first().map(owned),
                            model.first_key_value().map(|(k, v)| (*k, v.clone()))
                        );
                        assert_eq!(
                            log.last().map(owned),
                            model.last_key_value().map(|(k, v)| (*k, v.clone()))
                        );
                    }
                }
                assert_eq!(log.len(), model.len() as u64);
                assert_eq!(log.is_empty(), model.is_empty());
                if step % 500 == 0 {
                    check(&log);
                }
            }
            check(&log);
            let all: Vec<_> = log.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
            assert_eq!(all, model.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>());
            let copy = copy_via_nodes(&log);
            let all2: Vec<_> = copy.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
            assert_eq!(all, all2);
            let cl = log.clone();
            assert_eq!(cl.range(StreamId::MIN, StreamId::MAX).count(), all.len());
        }
    }

    /// An id that is in the model, next to one, or anywhere.
    fn pick(rng: &mut SmallRng, model: &Model, last: StreamId) -> StreamId {
        let r = rng.random_range(0..10);
        if !model.is_empty() && r < 7 {
            let k = *model.keys().nth(rng.random_range(0..model.len())).unwrap();
            match r {
                0 => k.prev().unwrap_or(k),
                1 => k.next().unwrap_or(k),
                _ => k,
            }
        } else if r < 9 {
            id(rng.random_range(0..=last.ms.saturating_add(1)), rng.random_range(0..4))
        } else {
            [StreamId::MIN, StreamId::MAX, last][rng.random_range(0..3)]
        }
    }

    #[test]
    fn damaged_buffers_never_panic() {
        let mut rng = SmallRng::seed_from_u64(99);
        for round in 0..400 {
            let mut log = StreamLog::new();
            for i in 0..40u64 {
                let pairs = workload_pairs(&mut rng, i);
                let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
                log.append(id(i / 4, i % 4), &refs, lim(0, 16));
            }
            for (_, node) in log.nodes.iter_mut() {
                match round % 3 {
                    0 => {
                        let cut = rng.random_range(0..=node.buf.len());
                        node.buf.truncate(cut);
                    }
                    1 => {
                        for _ in 0..4 {
                            let p = rng.random_range(0..node.buf.len());
                            node.buf[p] = rng.random();
                        }
                    }
                    _ => {
                        let n = rng.random_range(0..64);
                        node.buf = (0..n).map(|_| rng.random()).collect();
                    }
                }
            }
            let _ = log
                .range(StreamId::MIN, StreamId::MAX)
                .map(|e| e.pairs().count())
                .sum::<usize>();
            let _ = log
                .range_rev(StreamId::MIN, StreamId::MAX)
                .map(|e| e.pairs().count())
                .sum::<usize>();
            let _ = log.first().map(|e| e.pairs().count());
            let _ = log.last().map(|e| e.pairs().count());
            for nv in log.nodes() {
                let _ = nv.master_fields().count();
                let _ = nv.entries().count();
            }
            for i in 0..12 {
                let _ = log.get(id(i, 1));
                log.delete(id(i, 2));
            }
            log.append(id(100, 0), &[(b"f", b"v")], lim(0, 16));
            log.trim(Trim::MinId(id(5, 0)), false, 0);
            log.trim(Trim::MaxLen(3), false, 0);
        }
    }

    #[test]
    fn strings_of_every_short_length_are_copied_whole() {
        let src: Vec<u8> = (1..=40u8).collect();
        for n in 0..=40 {
            let mut out = vec![0xee; 3];
            put_str(&mut out, &src[..n]);
            out.push(0xdd);
            let mut pos = 3;
            assert_eq!(get_str(&out, &mut pos), Some(&src[..n]));
            assert_eq!(&out[..3], &[0xee; 3]);
            assert_eq!(out.get(pos..), Some(&[0xdd][..]), "n={n}");
        }
    }

    #[test]
    fn varints_and_backlens() {
        for v in [0u64, 1, 127, 128, 300, 16383, 16384, 1 << 35, u64::MAX] {
            let mut b = vec![0xaa];
            put_varint(&mut b, v);
            assert_eq!(b.len() - 1, varint_len(v));
            let mut pos = 1;
            assert_eq!(get_varint(&b, &mut pos), Some(v));
            assert_eq!(pos, b.len());
            let mut b = vec![0xaa];
            put_backlen(&mut b, v);
            assert_eq!(get_backlen(&b, b.len()), Some((v, varint_len(v))));
        }
        for v in [0u64, 1, u64::MAX, 99u64.wrapping_neg(), 1 << 63] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(99u64.wrapping_neg()), 197);
        assert_eq!(get_varint(&[0xff; 11], &mut 0), None);
        assert_eq!(get_backlen(&[0xff; 11], 11), None);
        assert_eq!(get_backlen(&[0x81], 1), None);
    }

    #[test]
    fn typical_entry_costs_four_bytes() {
        // `f v` with the next sequence: tag, "v" (length + byte), backwards length.
        let mut log = StreamLog::new();
        log.append(id(1, 0), &[(b"f", b"v")], LIM100);
        let a = log.nodes[0].1.buf.len();
        log.append(id(1, 1), &[(b"f", b"v")], LIM100);
        let b = log.nodes[0].1.buf.len();
        assert_eq!(b - a, 4);
        // The next millisecond at seq 0 after seq 1: ms + 1, seq - 1 (zigzag 1): 2 more bytes.
        log.append(id(2, 0), &[(b"f", b"v")], LIM100);
        assert_eq!(log.nodes[0].1.buf.len() - b, 6);
    }

    /// 1M entries `XADD s * f v` at ~100K/s (100 per millisecond), default node limits.
    #[test]
    fn memory_per_entry() {
        let mut log = StreamLog::new();
        let n = 1_000_000u64;
        let base = 1_700_000_000_000u64;
        for i in 0..n {
            log.append(id(base + i / 100, i % 100), &[(b"f", b"v")], LIM100);
        }
        assert_eq!(log.len(), n);
        let per = log.mem_usage() as f64 / n as f64;
        eprintln!("stream log: {per:.2} bytes per entry, {} nodes", log.node_count());
        assert!(per <= 8.0, "{per} bytes per entry");
        let tail: Vec<StreamId> = log
            .range_rev(StreamId::MIN, StreamId::MAX)
            .take(2)
            .map(|e| e.id)
            .collect();
        assert_eq!(tail, [id(base + 9999, 99), id(base + 9999, 98)]);
        assert_eq!(log.range(id(base + 5000, 50), StreamId::MAX).take(100).count(), 100);
    }

    #[test]
    fn a_defrag_walk_in_steps_reaches_every_node() {
        let mut log = StreamLog::new();
        fill(&mut log, 1000, lim(4096, 10));
        let mut m = crate::ds::defrag::Defrag::default();
        let (mut after, mut steps) = (None, 0);
        loop {
            steps += 1;
            match log.defrag_step(after, 3, &mut m) {
                Some(id) => after = Some(id),
                None => break,
            }
        }
        assert_eq!(steps, log.node_count().div_ceil(3));
    }

    #[test]
    fn radix_nodes_are_those_of_redis_rax() {
        let one = lim(4096, 1);
        let mut log = StreamLog::new();
        assert_eq!(log.radix_nodes(), 1);
        log.append(id(1, 1), &[(b"f", b"v")], one);
        // A compressed node of 16 bytes, then the key's node.
        assert_eq!(log.radix_nodes(), 2);
        log.append(id(1, 2), &[(b"f", b"v")], one);
        // 15 shared bytes, a branch on the last, two key nodes.
        assert_eq!(log.radix_nodes(), 4);
        log.append(id(1 << 40, 0), &[(b"f", b"v")], one);
        // A root chain of 2 bytes and a branch; below it a chain of 12 bytes, the
        // branch on the last byte and two keys; and a chain of 13 bytes and its key
        // (redis-server 7.0 reports 8 for these ids).
        assert_eq!(log.radix_nodes(), 8);
    }
}
