//! QuickList: every list (Redis's `quicklist` encoding). A `VecDeque` of nodes; a packed node is one
//! buffer `[free gap][entry]*`, each entry `[len: LEB128][bytes][len: LEB128 reversed]` so it walks
//! both ways, and the gap makes pushes and pops at either end O(1) amortized. A plain node is one raw
//! element at least the packed threshold long. Invariants: no node is empty; `len` is the sum of the
//! node counts; a packed node holding two or more entries was within the fill limit when it grew.
//!
//! With a compression depth d (`list-compress-depth`), the d nodes at each end stay raw and every
//! packed node between them is kept LZF-compressed when that saves enough (Redis compat:
//! quicklist.c __quicklistCompress). Operations decompress a node before touching it and
//! `settle` compresses again whatever they left raw between the ends.
use std::borrow::Cow;
use std::collections::{vec_deque, VecDeque};
use std::fmt;
use std::iter::{FusedIterator, Rev};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Elements at least this long get a plain node of their own (Redis compat: quicklist.c).
const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(DEFAULT_PACKED_THRESHOLD);

/// Node byte limits for fill -1..-5 (Redis compat: quicklist.c, 4 KB doubling to 64 KB).
const SIZE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A count-limited node is also kept under this many bytes (Redis compat: quicklist.c SIZE_SAFETY_LIMIT).
const SAFETY_LIMIT: usize = 8192;
/// Fill is clamped to -5..=FILL_MAX (Redis compat: quicklist.c quicklistSetFill).
const FILL_MIN: i32 = -5;
const FILL_MAX: i32 = (1 << 15) - 1;
/// Smallest buffer a packed node allocates: tiny lists stay in one small allocation.
const MIN_CAP: usize = 16;
/// Free bytes a node may keep beyond its payload size before a deletion shrinks it.
const SHRINK_SLACK: usize = 64;
/// Nodes under this many bytes are never compressed, and compression must save more than
/// `MIN_COMPRESS_IMPROVE` bytes (Redis compat: quicklist.c MIN_COMPRESS_BYTES, MIN_COMPRESS_IMPROVE).
const MIN_COMPRESS_BYTES: usize = 48;
const MIN_COMPRESS_IMPROVE: usize = 8;

use crate::util::mem::alloc_size;

fn is_large(n: usize) -> bool {
    n >= PACKED_THRESHOLD.load(Ordering::Relaxed)
}

#[inline]
fn varint_len(n: usize) -> usize {
    ((usize::BITS - (n | 1).leading_zeros()) as usize).div_ceil(7)
}

/// Bytes an element of length `n` takes inside a packed node.
#[inline]
fn entry_size(n: usize) -> usize {
    n.saturating_add(2 * varint_len(n))
}

/// LEB128 encoding of `n` (low 7 bits first, high bit = more follows).
#[inline]
fn leb(mut n: usize) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    if n < 0x80 {
        // Elements under 128 bytes, nearly all of them: one byte.
        out[0] = n as u8;
        return (out, 1);
    }
    let mut l = 0;
    for b in out.iter_mut() {
        l += 1;
        if n < 0x80 {
            *b = n as u8;
            break;
        }
        *b = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
    }
    (out, l)
}

/// The entry starting at `off`: (payload start, payload end, next entry).
#[inline]
fn read_fwd(buf: &[u8], off: usize) -> Option<(usize, usize, usize)> {
    let first = *buf.get(off)?;
    if first < 0x80 {
        // Elements under 128 bytes: one length byte each side.
        let end = off + 1 + first as usize;
        return (end < buf.len()).then_some((off + 1, end, end + 1));
    }
    let mut n = 0usize;
    let mut shift = 0u32;
    let mut p = off;
    loop {
        let b = *buf.get(p)?;
        p += 1;
        n |= ((b & 0x7f) as usize).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift >= usize::BITS {
            return None;
        }
    }
    let end = p.checked_add(n)?;
    let next = end.checked_add(p - off)?;
    (next <= buf.len()).then_some((p, end, next))
}

/// The entry ending at `end`: (entry start, payload start, payload end). The trailer is the header's
/// bytes in reverse, so the low 7 bits come first when reading backwards.
#[inline]
fn read_back(buf: &[u8], end: usize) -> Option<(usize, usize, usize)> {
    let last = *buf.get(end.checked_sub(1)?)?;
    if last < 0x80 {
        let start = end.checked_sub(2 + last as usize)?;
        return Some((start, start + 1, end - 1));
    }
    let mut n = 0usize;
    let mut shift = 0u32;
    let mut p = end;
    loop {
        p = p.checked_sub(1)?;
        let b = *buf.get(p)?;
        n |= ((b & 0x7f) as usize).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift >= usize::BITS {
            return None;
        }
    }
    let payload = p.checked_sub(n)?;
    let start = payload.checked_sub(end - p)?;
    Some((start, payload, p))
}

/// What a splice writes into the hole it opens.
#[derive(Clone, Copy)]
enum Ins<'a> {
    Nothing,
    /// One element, encoded as an entry.
    Entry(&'a [u8]),
    /// Already-encoded entries (a neighbour being merged in).
    Raw(&'a [u8]),
}

impl Ins<'_> {
    fn size(self) -> usize {
        match self {
            Ins::Nothing => 0,
            Ins::Entry(v) => entry_size(v.len()),
            Ins::Raw(r) => r.len(),
        }
    }

    /// Writes into `dst`, which is exactly `size()` bytes.
    fn write(self, dst: &mut [u8]) {
        match self {
            Ins::Nothing => {}
            Ins::Raw(r) => {
                if dst.len() == r.len() {
                    dst.copy_from_slice(r);
                }
            }
            Ins::Entry(v) => {
                let (h, hl) = leb(v.len());
                let hdr = h.get(..hl).unwrap_or_default();
                let Some((a, rest)) = dst.split_at_mut_checked(hl) else {
                    return;
                };
                a.copy_from_slice(hdr);
                let Some((b, c)) = rest.split_at_mut_checked(v.len()) else {
                    return;
                };
                b.copy_from_slice(v);
                for (d, s) in c.iter_mut().zip(hdr.iter().rev()) {
                    *d = *s;
                }
            }
        }
    }
}

/// Per-node limits derived from the fill setting.
#[derive(Clone, Copy, Debug)]
struct Limits {
    bytes: usize,
    count: usize,
}

impl Limits {
    // Redis compat: quicklist.c _quicklistNodeAllowInsert (negative fill: a byte budget; positive:
    // an entry count, also bounded by SIZE_SAFETY_LIMIT; 0 behaves like 1).
    fn of(fill: i32) -> Self {
        if fill < 0 {
            let i = (fill.unsigned_abs() as usize).saturating_sub(1);
            let bytes = SIZE_LIMITS
                .get(i)
                .or(SIZE_LIMITS.last())
                .copied()
                .unwrap_or(SAFETY_LIMIT);
            Limits {
                bytes,
                count: usize::MAX,
            }
        } else {
            Limits {
                bytes: SAFETY_LIMIT,
                count: fill.max(1) as usize,
            }
        }
    }

    /// Whether one more entry of `esz` bytes may go into `n` (never a compressed one).
    fn fits(&self, n: &Node, esz: usize) -> bool {
        !n.plain && n.zlen == 0 && n.count() < self.count && n.used().saturating_add(esz) <= self.bytes
    }

    /// Whether adjacent `a` and `b` should become one node. Only well below the limit (3/4 of it),
    /// so an insert that splits a full node and a delete next to it do not merge and split in turn.
    fn merge_ok(&self, a: &Node, b: &Node) -> bool {
        !a.plain
            && !b.plain
            && a.used() + b.used() <= self.bytes - self.bytes / 4
            && a.count() + b.count() <= self.count - self.count / 4
    }

    /// The capacity a node may grow to while holding `need` bytes.
    fn cap(&self, need: usize) -> usize {
        self.bytes.max(need)
    }
}

/// Capacity for a node buffer rebuilt to hold `need` payload bytes: keep `cap` when that leaves
/// plenty of room (at least half the payload), else grow to the smallest allocator size class
/// holding `need` above `cap` (classes are 12.5-25% apart, so growth stays geometric, and a node
/// carries no more slack than an exactly reallocated listpack), but not past `cap_limit` unless
/// a single entry needs it.
fn rebuild_cap(need: usize, used: usize, cap: usize, cap_limit: usize) -> usize {
    if cap >= need && (cap - need) * 2 >= used {
        return cap;
    }
    let want = need.max(cap + 1).max(MIN_CAP);
    let want = if need <= cap_limit { want.min(cap_limit) } else { need };
    alloc_size(want).max(need)
}

struct Node {
    /// Packed: `start` free bytes, then the entries. Plain: the element itself (`start` is 0).
    /// Compressed: the LZF form of the entries (`start` is 0).
    buf: Vec<u8>,
    start: usize,
    count: u32,
    /// Compressed: the entries' length before compression. 0: raw.
    zlen: u32,
    /// The payload length at which compressing last saved too little (0: never): tried again
    /// only once the node has changed size.
    ztried: u32,
    plain: bool,
}

impl Clone for Node {
    /// Copies the payload only: a clone carries no free gap.
    fn clone(&self) -> Self {
        Node {
            buf: self.data().to_vec(),
            start: 0,
            count: self.count,
            zlen: self.zlen,
            ztried: self.ztried,
            plain: self.plain,
        }
    }
}

impl Node {
    fn packed(v: &[u8]) -> Self {
        Self::packed_with_room(v, 0)
    }

    /// A packed node of `v` with room for `more` bytes of entries after it.
    fn packed_with_room(v: &[u8], more: usize) -> Self {
        let esz = entry_size(v.len());
        let mut buf = Vec::with_capacity(alloc_size(esz.saturating_add(more).max(MIN_CAP)));
        buf.resize(esz, 0);
        Ins::Entry(v).write(&mut buf);
        Node {
            buf,
            start: 0,
            count: 1,
            zlen: 0,
            ztried: 0,
            plain: false,
        }
    }

    fn plain(v: &[u8]) -> Self {
        Node {
            buf: v.to_vec(),
            start: 0,
            count: 1,
            zlen: 0,
            ztried: 0,
            plain: true,
        }
    }

    fn for_value(v: &[u8]) -> Self {
        if is_large(v.len()) {
            Self::plain(v)
        } else {
            Self::packed(v)
        }
    }

    #[inline]
    fn count(&self) -> usize {
        self.count as usize
    }

    /// Payload bytes (entries, or the plain element), before compression.
    #[inline]
    fn used(&self) -> usize {
        if self.zlen > 0 {
            return self.zlen as usize;
        }
        self.buf.len().saturating_sub(self.start)
    }

    /// The entries of a compressed node, decompressed (the payload of a raw one, copied).
    fn thawed(&self) -> Vec<u8> {
        if self.zlen == 0 {
            return self.data().to_vec();
        }
        crate::util::lzf::decompress(&self.buf, self.zlen as usize).unwrap_or_default()
    }

    /// A raw copy of this node (for reading a compressed node through `&self`).
    fn thawed_node(&self) -> Node {
        Node {
            buf: self.thawed(),
            start: 0,
            count: self.count,
            zlen: 0,
            ztried: 0,
            plain: self.plain,
        }
    }

    /// Decompresses in place.
    fn thaw(&mut self) {
        if self.zlen > 0 {
            self.buf = self.thawed();
            self.start = 0;
            self.zlen = 0;
        }
    }

    /// Compresses in place when that saves enough (packed nodes only; plain ones hold a single
    /// huge element that is read whole).
    fn freeze(&mut self) {
        let used = self.used();
        if self.plain || self.zlen > 0 || used < MIN_COMPRESS_BYTES || self.ztried as usize == used {
            return;
        }
        let Ok(raw_len) = u32::try_from(used) else {
            return;
        };
        match crate::util::lzf::compress(self.data(), used - MIN_COMPRESS_IMPROVE - 1) {
            Some(z) => {
                self.buf = z.into_boxed_slice().into_vec();
                self.start = 0;
                self.zlen = raw_len;
            }
            None => self.ztried = raw_len,
        }
    }

    #[inline]
    fn data(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Offset in `buf` of entry `k` (k == count gives the end), walking from the nearer end.
    fn offset_of(&self, k: usize) -> usize {
        let n = self.count();
        if self.plain {
            return if k == 0 { 0 } else { self.buf.len() };
        }
        if k <= n / 2 {
            let mut off = self.start;
            for _ in 0..k {
                match read_fwd(&self.buf, off) {
                    Some((_, _, next)) => off = next,
                    None => break,
                }
            }
            off
        } else {
            let mut off = self.buf.len();
            for _ in k..n {
                match read_back(&self.buf, off) {
                    Some((s, _, _)) => off = s,
                    None => break,
                }
            }
            off
        }
    }

    /// Byte range of entries `k..k + n`.
    fn span(&self, k: usize, n: usize) -> (usize, usize) {
        let a = self.offset_of(k);
        let rest = self.count().saturating_sub(k + n);
        if n <= rest {
            let mut b = a;
            for _ in 0..n {
                match read_fwd(&self.buf, b) {
                    Some((_, _, next)) => b = next,
                    None => break,
                }
            }
            (a, b)
        } else {
            (a, self.offset_of(k + n))
        }
    }

    fn get(&self, k: usize) -> Option<&[u8]> {
        if k >= self.count() {
            return None;
        }
        if self.plain {
            return Some(&self.buf);
        }
        let (ps, pe, _) = read_fwd(&self.buf, self.offset_of(k))?;
        self.buf.get(ps..pe)
    }

    /// Replaces bytes `a..b` (entry boundaries within the payload) with `ins`, moving whichever side
    /// of the hole is shorter, using free room on either side before reallocating. The count is the
    /// caller's business.
    fn splice(&mut self, a: usize, b: usize, ins: Ins<'_>, cap_limit: usize) {
        let len = self.buf.len();
        let start = self.start;
        if !(start <= a && a <= b && b <= len) {
            return;
        }
        let new = ins.size();
        let old = b - a;
        let (pre, suf) = (a - start, len - b);
        let at = if new <= old {
            let d = old - new;
            if pre < suf {
                self.buf.copy_within(start..a, start + d);
                self.start += d;
                a + d
            } else {
                self.buf.copy_within(b..len, b - d);
                self.buf.truncate(len - d);
                a
            }
        } else {
            let g = new - old;
            let tail_room = self.buf.capacity() - len;
            // Prefer moving the shorter side; moving the longer one is still fine in the middle of
            // the node, but never for a push at an end (that would be O(node) per push).
            if start >= g && (pre <= suf || (suf > 0 && tail_room < g)) {
                self.buf.copy_within(start..a, start - g);
                self.start -= g;
                a - g
            } else if tail_room >= g && (suf <= pre || pre > 0) {
                self.buf.resize(len + g, 0);
                self.buf.copy_within(b..len, b + g);
                a
            } else {
                self.rebuild(a, b, new, cap_limit)
            }
        };
        if let Some(dst) = self.buf.get_mut(at..at + new) {
            ins.write(dst);
        }
    }

    /// Copies the payload into a fresh buffer with the hole `a..b` replaced by `new` zero bytes,
    /// returning where they are. All free room goes to the front when inserting at the front (a
    /// node being pushed at its head), else to the back.
    fn rebuild(&mut self, a: usize, b: usize, new: usize, cap_limit: usize) -> usize {
        let used = self.used();
        let need = used - (b - a) + new;
        let cap = rebuild_cap(need, used, self.buf.capacity(), cap_limit);
        let mut nb = Vec::with_capacity(cap);
        let gap = if a == self.start && b < self.buf.len() {
            nb.capacity() - need
        } else {
            0
        };
        nb.resize(gap, 0);
        nb.extend_from_slice(self.buf.get(self.start..a).unwrap_or_default());
        let at = nb.len();
        nb.resize(at + new, 0);
        nb.extend_from_slice(self.buf.get(b..).unwrap_or_default());
        self.buf = nb;
        self.start = gap;
        at
    }

    /// Whether making room for `esz` bytes at one end is amortized O(1): free room is already
    /// there, or a rebuild grows the buffer (geometrically, or once up to the limit) or leaves half
    /// the payload's size free. Otherwise the node is at its limit and nearly full, and the list
    /// starts a new node rather than compacting this one on every push.
    fn cheap_room(&self, esz: usize, front: bool, cap_limit: usize) -> bool {
        let len = self.buf.len();
        let cap = self.buf.capacity();
        if (front && self.start >= esz) || (!front && cap - len >= esz) {
            return true;
        }
        let used = self.used();
        let need = used + esz;
        let newcap = rebuild_cap(need, used, cap, cap_limit);
        newcap > cap || (newcap - need) * 2 >= used
    }

    fn push_back(&mut self, v: &[u8], cap_limit: usize) {
        let len = self.buf.len();
        if self.buf.capacity() - len >= entry_size(v.len()) {
            // The common case: room at the tail, append without zero-filling first.
            let (h, hl) = leb(v.len());
            let hdr = h.get(..hl).unwrap_or_default();
            self.buf.extend_from_slice(hdr);
            self.buf.extend_from_slice(v);
            self.buf.extend(hdr.iter().rev());
        } else {
            self.splice(len, len, Ins::Entry(v), cap_limit);
        }
        self.count += 1;
    }

    /// Appends `v` (under 128 bytes) if it is within `lim` and the buffer's room; false
    /// (nothing done) if not.
    #[inline]
    fn append_short(&mut self, v: &[u8], lim: &Limits) -> bool {
        let esz = v.len() + 2;
        if !lim.fits(self, esz) || self.buf.capacity() - self.buf.len() < esz {
            return false;
        }
        let n = v.len() as u8;
        self.buf.push(n);
        self.buf.extend_from_slice(v);
        self.buf.push(n);
        self.count += 1;
        true
    }

    fn push_front(&mut self, v: &[u8], cap_limit: usize) {
        let s = self.start;
        self.splice(s, s, Ins::Entry(v), cap_limit);
        self.count += 1;
    }

    /// Inserts `v` before entry `k` (k == count appends).
    fn insert_at(&mut self, k: usize, v: &[u8], cap_limit: usize) {
        let off = self.offset_of(k);
        self.splice(off, off, Ins::Entry(v), cap_limit);
        self.count += 1;
    }

    /// Removes entries `k..k + n` (the node keeps at least one).
    fn remove(&mut self, k: usize, n: usize) {
        let (a, b) = self.span(k, n);
        let at_edge = a == self.start || b == self.buf.len();
        if a == self.start {
            self.start = b;
        } else {
            self.splice(a, b, Ins::Nothing, 0);
        }
        self.count = self.count.saturating_sub(n as u32);
        self.maybe_shrink(!at_edge);
    }

    fn pop_front(&mut self) -> Option<Vec<u8>> {
        let (ps, pe, next) = read_fwd(&self.buf, self.start)?;
        let v = self.buf.get(ps..pe)?.to_vec();
        self.start = next;
        self.count = self.count.saturating_sub(1);
        self.maybe_shrink(false);
        Some(v)
    }

    fn pop_back(&mut self) -> Option<Vec<u8>> {
        let (s, ps, pe) = read_back(&self.buf, self.buf.len())?;
        let v = self.buf.get(ps..pe)?.to_vec();
        self.buf.truncate(s);
        self.count = self.count.saturating_sub(1);
        self.maybe_shrink(false);
        Some(v)
    }

    /// The element of a single-entry node, taking the buffer itself when plain.
    fn into_only(self) -> Option<Vec<u8>> {
        if self.plain {
            return Some(self.buf);
        }
        let (ps, pe, _) = read_fwd(&self.buf, self.start)?;
        self.buf.get(ps..pe).map(<[u8]>::to_vec)
    }

    /// Moves entries `k..` into a new node.
    fn split_off(&mut self, k: usize) -> Node {
        let off = self.offset_of(k);
        let tail = self.buf.get(off..).unwrap_or_default();
        let mut buf = Vec::with_capacity(alloc_size(tail.len().max(MIN_CAP)));
        buf.extend_from_slice(tail);
        let right = Node {
            buf,
            start: 0,
            count: self.count.saturating_sub(k as u32),
            zlen: 0,
            ztried: 0,
            plain: false,
        };
        self.buf.truncate(off);
        self.count = k as u32;
        self.maybe_shrink(true);
        right
    }

    /// After deletions: give memory back once the buffer is over twice the payload (`tight`: one
    /// and a half times). Pops use the loose rule so that they stay O(1) amortized (the payload
    /// halved since the buffer was sized); edits inside the node, which already move O(node) bytes,
    /// use the tight one (which stays clear of allocator size-class rounding, at most 1.25x).
    fn maybe_shrink(&mut self, tight: bool) {
        let used = self.used();
        let keep = if tight { used + used / 2 } else { 2 * used };
        if !self.plain && self.count > 0 && self.buf.capacity() > keep + SHRINK_SLACK {
            self.compact(alloc_size(used.max(MIN_CAP)));
        }
    }

    /// A node the list stops growing: drop the free room (one copy per node).
    fn seal(&mut self) {
        let used = self.used();
        if !self.plain && self.zlen == 0 && (self.start > 0 || self.buf.capacity() > alloc_size(used.max(MIN_CAP))) {
            self.compact(alloc_size(used.max(MIN_CAP)));
        }
    }

    fn compact(&mut self, cap: usize) {
        let mut nb = Vec::with_capacity(cap);
        nb.extend_from_slice(self.data());
        self.buf = nb;
        self.start = 0;
    }

    /// Removes up to `quota` entries equal to `v`, the first ones or (from_tail) the last ones.
    fn remove_matching(&mut self, v: &[u8], quota: usize, from_tail: bool) -> usize {
        let matches = |buf: &[u8], ps: usize, pe: usize| pe - ps == v.len() && buf.get(ps..pe) == Some(v);
        // From the tail: count this node's matches, then delete all but the first `skip`.
        let mut skip = 0;
        if from_tail {
            let (mut off, mut total) = (self.start, 0usize);
            while let Some((ps, pe, next)) = read_fwd(&self.buf, off) {
                total += usize::from(matches(&self.buf, ps, pe));
                off = next;
            }
            skip = total.saturating_sub(quota);
        }
        let len = self.buf.len();
        let (mut r, mut w, mut run) = (self.start, self.start, self.start);
        let mut deleted = 0;
        while deleted < quota {
            let Some((ps, pe, next)) = read_fwd(&self.buf, r) else {
                break;
            };
            if matches(&self.buf, ps, pe) {
                if skip > 0 {
                    skip -= 1;
                } else {
                    // Close the kept run before this entry: slide it down to `w`.
                    if w != run {
                        self.buf.copy_within(run..r, w);
                    }
                    w += r - run;
                    run = next;
                    deleted += 1;
                }
            }
            r = next;
        }
        if deleted > 0 {
            if w != run {
                self.buf.copy_within(run..len, w);
            }
            self.buf.truncate(w + (len - run));
            self.count = self.count.saturating_sub(deleted as u32);
            self.maybe_shrink(true);
        }
        deleted
    }
}

/// A Redis list: a deque of compact nodes (see the module docs).
pub struct QuickList {
    nodes: VecDeque<Node>,
    len: usize,
    fill: i32,
    /// Nodes kept raw at each end when compressing (0: no compression).
    depth: u16,
    /// A point-in-time save of the nodes under way (see `snap_begin`).
    snap: Option<Box<ListSnap>>,
}

/// A save of a list's nodes as they were at `snap_begin`, handed out a few nodes at a
/// time while writes go on. Every write first copies the nodes it may change, merge or
/// remove if the save has not handed them out yet (and adds or removes nodes only among
/// those), so a node the save still reads from the list holds what it held at the start.
struct ListSnap {
    /// Nodes still to hand out that the list holds unchanged: (place in the save, index
    /// in the list now), both ascending.
    live: VecDeque<(usize, usize)>,
    /// Copies of nodes taken before a write touched them, and their places in the save
    /// (ascending).
    copies: VecDeque<Node>,
    copy_at: VecDeque<usize>,
}

impl Clone for QuickList {
    /// The contents (a save under way stays with the original).
    fn clone(&self) -> Self {
        QuickList {
            nodes: self.nodes.clone(),
            len: self.len,
            fill: self.fill,
            depth: self.depth,
            snap: None,
        }
    }
}

impl Default for QuickList {
    fn default() -> Self {
        Self::new(-2)
    }
}

impl PartialEq for QuickList {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for QuickList {}

impl fmt::Debug for QuickList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(&e).into_owned()))
            .finish()
    }
}

impl QuickList {
    /// Starts loading its first nodes' headers (ahead of a walk or a drop).
    #[inline]
    pub fn prefetch_nodes(&self) {
        if let Some(n) = self.nodes.as_slices().0.first() {
            crate::util::mem::prefetch(n);
        }
    }

    /// An empty list; `fill` is `list-max-listpack-size`.
    pub fn new(fill: i32) -> Self {
        Self::with_depth(fill, 0)
    }

    /// An empty list compressing all but `depth` nodes at each end (`list-compress-depth`,
    /// clamped to 65535 as Redis clamps it).
    pub fn with_depth(fill: i32, depth: i64) -> Self {
        QuickList {
            nodes: VecDeque::new(),
            len: 0,
            fill: fill.clamp(FILL_MIN, FILL_MAX),
            depth: depth.clamp(0, u16::MAX.into()) as u16,
            snap: None,
        }
    }

    /// Changes the fill limit; existing nodes are left as they are.
    pub fn set_fill(&mut self, fill: i32) {
        self.fill = fill.clamp(FILL_MIN, FILL_MAX);
    }

    pub fn fill(&self) -> i32 {
        self.fill
    }

    /// Sets the process-wide size from which elements get a plain node (0 restores the 1 GB
    /// default, Redis compat: quicklist.c quicklistisSetPackedThreshold).
    pub fn set_packed_threshold(t: usize) {
        let t = if t == 0 { DEFAULT_PACKED_THRESHOLD } else { t };
        PACKED_THRESHOLD.store(t, Ordering::Relaxed);
    }

    pub fn packed_threshold() -> usize {
        PACKED_THRESHOLD.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Active defragmentation of the nodes from index `pos` on, up to `budget` of them;
    /// returns where to go on, or None when done (see `Dict::defrag_step`).
    pub fn defrag_step(&mut self, pos: usize, budget: usize, d: &mut super::defrag::Defrag) -> Option<usize> {
        if pos == 0 && std::mem::size_of::<Node>() * self.nodes.capacity() <= 4096 {
            // A small deque's buffer: through a Vec, which reuses it both ways.
            let mut v: Vec<Node> = std::mem::take(&mut self.nodes).into();
            d.vec(&mut v);
            self.nodes = v.into();
        }
        let end = pos.saturating_add(budget).min(self.nodes.len());
        for n in self.nodes.range_mut(pos.min(end)..end) {
            d.vec(&mut n.buf);
        }
        (end < self.nodes.len()).then_some(end)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The compression depth the list was made with (0: none).
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Bytes of the nodes' entries before compression (DEBUG OBJECT's ql_uncompressed_size).
    pub fn uncompressed_size(&self) -> usize {
        self.nodes.iter().map(Node::used).sum()
    }

    pub fn clear(&mut self) {
        self.guarded(Self::all_nodes, Self::clear_inner)
    }

    pub fn push_back(&mut self, v: &[u8]) {
        self.guarded(Self::last_node, |l| l.push_back_inner(v))
    }

    pub fn push_front(&mut self, v: &[u8]) {
        self.guarded(|_| (0, 0), |l| l.push_front_inner(v))
    }

    /// `push_back` of one of several elements arriving together (a list being loaded):
    /// about `more` bytes of elements follow it, so a node it starts is made with room
    /// for them rather than grown as they come.
    pub fn push_back_before(&mut self, v: &[u8], more: usize) {
        self.guarded(Self::last_node, |l| l.push_back_sized(v, more))
    }

    /// Appends elements arriving in order (a list being loaded) with `push_back_before`,
    /// the node limits looked up once.
    pub fn appender(&mut self) -> Appender<'_> {
        let lim = self.limits();
        let large = PACKED_THRESHOLD.load(Ordering::Relaxed);
        Appender { list: self, lim, large }
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.guarded(|_| (0, 0), Self::pop_front_inner)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.guarded(Self::last_node, Self::pop_back_inner)
    }

    /// Replaces element `idx`; false if out of range.
    pub fn set(&mut self, idx: usize, v: &[u8]) -> bool {
        // In place, merged with its neighbours, or removed and inserted again (which may
        // shift it by one node).
        self.guarded(|l| l.around(idx, 2, 2), |l| l.set_inner(idx, v))
    }

    /// Inserts `v` before element `idx`; `idx >= len` appends.
    pub fn insert(&mut self, idx: usize, v: &[u8]) {
        // The node split, its neighbours merged with the halves.
        self.guarded(|l| l.around(idx, 1, 1), |l| l.insert_inner(idx, v))
    }

    /// Removes `count` elements from `start` (clamped to the list).
    pub fn remove_range(&mut self, start: usize, count: usize) {
        self.guarded(
            |l| {
                let last = start.saturating_add(count.saturating_sub(1));
                let (a, _) = l.around(start, 1, 0);
                let (_, b) = l.around(last.min(l.len.saturating_sub(1)), 0, 1);
                (a, b)
            },
            |l| l.remove_range_inner(start, count),
        )
    }

    /// LREM semantics: count > 0 removes up to count equal elements from the head, < 0 from the tail, 0 all. Returns the number removed.
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        self.guarded(Self::all_nodes, |l| l.remove_matching_inner(v, count))
    }

    /// Runs `op`, a write that changes, merges or removes only nodes `a..=b` (as `range`
    /// gives them, asked only while a save is under way) and adds nodes only among them.
    #[inline]
    fn guarded<R>(&mut self, range: impl FnOnce(&Self) -> (usize, usize), op: impl FnOnce(&mut Self) -> R) -> R {
        if self.snap.is_none() {
            return op(self);
        }
        let (a, b) = range(self);
        self.snap_copy(a, b);
        let before = self.nodes.len();
        let r = op(self);
        self.snap_shift(b, before);
        r
    }

    fn all_nodes(&self) -> (usize, usize) {
        (0, self.nodes.len())
    }

    fn last_node(&self) -> (usize, usize) {
        let n = self.nodes.len().saturating_sub(1);
        (n, n)
    }

    /// The nodes from `before` nodes ahead of element `idx`'s to `after` nodes past it
    /// (the last node when `idx` is past the end).
    fn around(&self, idx: usize, before: usize, after: usize) -> (usize, usize) {
        let ni = self
            .locate(idx)
            .map_or(self.nodes.len().saturating_sub(1), |(ni, _)| ni);
        (ni.saturating_sub(before), ni.saturating_add(after))
    }

    /// Starts a point-in-time save of the nodes (see `ListSnap`): `snap_step` then hands
    /// out exactly the nodes present now, in order, whatever is written meanwhile.
    pub fn snap_begin(&mut self) {
        self.snap = Some(Box::new(ListSnap {
            live: (0..self.nodes.len()).map(|i| (i, i)).collect(),
            copies: VecDeque::new(),
            copy_at: VecDeque::new(),
        }));
    }

    /// Ends the save (done or abandoned).
    pub fn snap_end(&mut self) {
        self.snap = None;
    }

    /// Hands out every node, in order, as `f(plain, elements)`.
    pub fn for_each_node(&self, mut f: impl FnMut(bool, Iter<'_>)) {
        for ni in 0..self.nodes.len() {
            if let Some((plain, it)) = node_elems(&self.nodes, ni) {
                f(plain, it);
            }
        }
    }

    /// Whether a save begun by `snap_begin` is under way.
    pub fn in_snap(&self) -> bool {
        self.snap.is_some()
    }

    /// Hands out whole nodes of the save, as `f(plain, elements)`, until at least `min`
    /// elements were; Some(true) once every node was handed out (or no save is under
    /// way). None: a node the save counted on is gone (a write went unguarded).
    pub fn snap_step(&mut self, min: usize, mut f: impl FnMut(bool, Iter<'_>)) -> Option<bool> {
        let Some(s) = self.snap.as_deref_mut() else {
            return Some(true);
        };
        let mut seen = 0;
        while seen < min {
            let copy_next = s.copy_at.front().copied();
            let from_list = match s.live.front() {
                Some(&(at, _)) => copy_next.is_none_or(|c| at < c),
                None if copy_next.is_some() => false,
                None => break,
            };
            if from_list {
                let (_, i) = s.live.pop_front()?;
                let (plain, it) = node_elems(&self.nodes, i)?;
                seen += it.len();
                f(plain, it);
            } else {
                let (plain, it) = node_elems(&s.copies, 0)?;
                seen += it.len();
                f(plain, it);
                s.copies.pop_front();
                s.copy_at.pop_front();
            }
        }
        Some(s.live.is_empty() && s.copy_at.is_empty())
    }

    /// Before a write to nodes `a..=b`: copies those the save has yet to hand out.
    #[cold]
    fn snap_copy(&mut self, a: usize, b: usize) {
        let Some(s) = self.snap.as_deref_mut() else {
            return;
        };
        let lo = s.live.partition_point(|&(_, i)| i < a);
        let hi = s.live.partition_point(|&(_, i)| i <= b);
        if lo >= hi {
            return;
        }
        let nodes = &self.nodes;
        let new: Vec<(usize, Node)> = s
            .live
            .drain(lo..hi)
            .filter_map(|(at, i)| Some((at, nodes.get(i)?.clone())))
            .collect();
        // Copies made earlier that come after the first new one are merged in by place.
        let first = new.first().map_or(usize::MAX, |&(at, _)| at);
        let from = s.copy_at.partition_point(|&c| c < first);
        let later = s.copy_at.split_off(from).into_iter().zip(s.copies.split_off(from));
        let mut new = new.into_iter().peekable();
        let mut push = |(at, n): (usize, Node)| {
            s.copy_at.push_back(at);
            s.copies.push_back(n);
        };
        for (at, n) in later {
            while let Some(e) = new.next_if(|&(nat, _)| nat < at) {
                push(e);
            }
            push((at, n));
        }
        new.for_each(push);
    }

    /// After a write to nodes `a..=b` (see `guarded`) that left the list with a
    /// different number of nodes than `before`: the nodes past `b` moved by as many.
    fn snap_shift(&mut self, b: usize, before: usize) {
        let after = self.nodes.len();
        let Some(s) = self.snap.as_deref_mut().filter(|_| after != before) else {
            return;
        };
        let from = s.live.partition_point(|&(_, i)| i <= b);
        for (_, i) in s.live.range_mut(from..) {
            *i = (*i + after).saturating_sub(before);
        }
    }

    fn clear_inner(&mut self) {
        self.nodes = VecDeque::new();
        self.len = 0;
    }

    fn limits(&self) -> Limits {
        Limits::of(self.fill)
    }

    /// Most lists hold one node: start the node deque at capacity 1, not the default 4.
    fn reserve_node(&mut self) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
    }

    /// After nodes went away: give back the node deque's memory once it is mostly empty.
    fn shrink_nodes(&mut self) {
        if self.nodes.capacity() > 4 * self.nodes.len() + 4 {
            self.nodes.shrink_to(2 * self.nodes.len());
        }
    }

    fn push_back_inner(&mut self, v: &[u8]) {
        self.push_back_sized(v, 0);
    }

    /// `push_back_inner`, a new node made with room for `more` bytes of entries (within
    /// the node size limit) rather than grown entry by entry.
    fn push_back_sized(&mut self, v: &[u8], more: usize) {
        self.len += 1;
        let lim = self.limits();
        if let Some(tail) = self.nodes.back_mut() {
            if !is_large(v.len()) {
                let esz = entry_size(v.len());
                if lim.fits(tail, esz) && tail.cheap_room(esz, false, lim.bytes) {
                    tail.push_back(v, lim.bytes);
                    return;
                }
            }
            tail.seal();
        }
        self.reserve_node();
        let node = if more > 0 && !is_large(v.len()) {
            // What the node may take on: its byte limit, or for a count limit that
            // many entries of this size.
            let esz = entry_size(v.len());
            let cap = lim.bytes.min(lim.count.saturating_sub(1).saturating_mul(esz));
            Node::packed_with_room(v, more.min(cap.saturating_sub(esz)))
        } else {
            Node::for_value(v)
        };
        self.nodes.push_back(node);
        self.settle(1, 0);
    }

    fn push_front_inner(&mut self, v: &[u8]) {
        self.len += 1;
        if !is_large(v.len()) {
            let lim = self.limits();
            let esz = entry_size(v.len());
            if let Some(head) = self.nodes.front_mut() {
                if lim.fits(head, esz) && head.cheap_room(esz, true, lim.bytes) {
                    head.push_front(v, lim.bytes);
                    return;
                }
                head.seal();
            }
        }
        self.reserve_node();
        self.nodes.push_front(Node::for_value(v));
        self.settle(1, 0);
    }

    fn pop_front_inner(&mut self) -> Option<Vec<u8>> {
        let head = self.nodes.front_mut()?;
        head.thaw();
        let v = if head.count == 1 {
            let v = self.nodes.pop_front()?.into_only();
            self.shrink_nodes();
            self.settle(1, 0);
            v
        } else {
            head.pop_front()
        }?;
        self.len -= 1;
        Some(v)
    }

    fn pop_back_inner(&mut self) -> Option<Vec<u8>> {
        let tail = self.nodes.back_mut()?;
        tail.thaw();
        let v = if tail.count == 1 {
            let v = self.nodes.pop_back()?.into_only();
            self.shrink_nodes();
            self.settle(1, 0);
            v
        } else {
            tail.pop_back()
        }?;
        self.len -= 1;
        Some(v)
    }

    /// (node index, entry within the node) of element `idx`, walking node counts from the nearer end.
    fn locate(&self, idx: usize) -> Option<(usize, usize)> {
        if idx >= self.len {
            return None;
        }
        if idx < self.len / 2 {
            let mut acc = 0;
            for (i, n) in self.nodes.iter().enumerate() {
                let c = n.count();
                if idx < acc + c {
                    return Some((i, idx - acc));
                }
                acc += c;
            }
        } else {
            let mut acc = self.len;
            for (i, n) in self.nodes.iter().enumerate().rev() {
                acc = acc.checked_sub(n.count())?;
                if idx >= acc {
                    return Some((i, idx - acc));
                }
            }
        }
        None
    }

    pub fn get(&self, idx: usize) -> Option<Cow<'_, [u8]>> {
        let (ni, k) = self.locate(idx)?;
        let node = self.nodes.get(ni)?;
        if node.zlen > 0 {
            return node.thawed_node().get(k).map(|e| Cow::Owned(e.to_vec()));
        }
        node.get(k).map(Cow::Borrowed)
    }

    /// Decompresses node `i` (if it is compressed) before an operation touches it.
    fn thaw(&mut self, i: usize) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.thaw();
        }
    }

    /// Restores the compression layout after an operation: the `depth` nodes at each end raw
    /// (nodes may have slid into or out of the ends), the nodes that slid just inside the ends
    /// and the touched nodes `lo..=hi` compressed. Redis compat: quicklist.c __quicklistCompress.
    fn settle(&mut self, lo: usize, hi: usize) {
        let d = usize::from(self.depth);
        if d == 0 {
            return;
        }
        let n = self.nodes.len();
        let head = d.min(n);
        for i in (0..head).chain(n.saturating_sub(d).max(head)..n) {
            self.thaw(i);
        }
        if n <= 2 * d {
            return;
        }
        // The interior is d..n - d; an operation moves at most two nodes across each of its edges.
        let (a, b) = (d, n - d);
        let inner = (a..(a + 2).min(b)).chain(b.saturating_sub(2).max(a)..b);
        let touched = lo.max(a)..hi.saturating_add(1).min(b);
        for i in inner.chain(touched) {
            if let Some(node) = self.nodes.get_mut(i) {
                node.freeze();
            }
        }
    }

    fn set_inner(&mut self, idx: usize, v: &[u8]) -> bool {
        let Some((ni, k)) = self.locate(idx) else {
            return false;
        };
        let lim = self.limits();
        let large = is_large(v.len());
        self.thaw(ni);
        let Some(node) = self.nodes.get_mut(ni) else {
            return false;
        };
        if node.plain && large {
            *node = Node::plain(v);
            self.settle(ni, ni);
            return true;
        }
        if !node.plain && !large {
            // Redis compat: quicklist.c quicklistReplaceEntry (in place when the node still fits).
            let (a, b) = node.span(k, 1);
            let new_used = node.used() - (b - a) + entry_size(v.len());
            if node.count == 1 || new_used <= lim.bytes {
                node.splice(a, b, Ins::Entry(v), lim.cap(new_used));
                node.maybe_shrink(true);
                self.merge_range(ni.saturating_sub(1), ni, lim);
                self.settle(ni.saturating_sub(1), ni);
                return true;
            }
        }
        self.remove_range_inner(idx, 1);
        self.insert_inner(idx, v);
        true
    }

    fn insert_inner(&mut self, idx: usize, v: &[u8]) {
        if idx == 0 {
            return self.push_front_inner(v);
        }
        let Some((ni, k)) = self.locate(idx) else {
            return self.push_back_inner(v);
        };
        if let Some(prev) = ni.checked_sub(1).filter(|_| k == 0) {
            self.thaw(prev);
        }
        self.thaw(ni);
        self.insert_raw(ni, k, v);
        self.settle(ni.saturating_sub(1), ni + 2);
    }

    /// `insert` at entry `k` of node `ni`, with the nodes it may touch raw.
    fn insert_raw(&mut self, ni: usize, k: usize, v: &[u8]) {
        let lim = self.limits();
        let large = is_large(v.len());
        let esz = entry_size(v.len());
        self.len += 1;
        if k == 0 {
            // Between two nodes (idx > 0, so there is one before): the previous node's tail, this
            // node's head, or a new node in between.
            if !large {
                if let Some(prev) = ni.checked_sub(1).and_then(|p| self.nodes.get_mut(p)) {
                    if lim.fits(prev, esz) {
                        prev.push_back(v, lim.bytes);
                        return;
                    }
                }
                if let Some(cur) = self.nodes.get_mut(ni) {
                    if lim.fits(cur, esz) {
                        cur.push_front(v, lim.bytes);
                        return;
                    }
                }
            }
            self.nodes.insert(ni, Node::for_value(v));
            return;
        }
        let Some(node) = self.nodes.get_mut(ni) else {
            return;
        };
        if !large && lim.fits(node, esz) {
            node.insert_at(k, v, lim.bytes);
            return;
        }
        // Redis compat: quicklist.c _quicklistInsert (a full node splits at the insertion point).
        let mut right = node.split_off(k);
        if !large && lim.fits(node, esz) {
            node.push_back(v, lim.bytes);
        } else if !large && lim.fits(&right, esz) {
            right.push_front(v, lim.bytes);
        } else {
            self.nodes.insert(ni + 1, Node::for_value(v));
            self.nodes.insert(ni + 2, right);
            self.merge_range(ni.saturating_sub(1), ni + 2, lim);
            return;
        }
        self.nodes.insert(ni + 1, right);
        self.merge_range(ni.saturating_sub(1), ni + 1, lim);
    }

    /// Merges node `i` with node `i + 1` if they are both small; true if it did.
    fn try_merge(&mut self, i: usize, lim: Limits) -> bool {
        let (Some(a), Some(b)) = (self.nodes.get(i), self.nodes.get(i + 1)) else {
            return false;
        };
        if !lim.merge_ok(a, b) {
            return false;
        }
        let a_bigger = a.used() >= b.used();
        self.thaw(i);
        self.thaw(i + 1);
        // Copy the smaller payload into the bigger node.
        if a_bigger {
            let Some(b) = self.nodes.remove(i + 1) else {
                return false;
            };
            if let Some(a) = self.nodes.get_mut(i) {
                let len = a.buf.len();
                a.splice(len, len, Ins::Raw(b.data()), lim.bytes);
                a.count += b.count;
            }
        } else {
            let Some(a) = self.nodes.remove(i) else {
                return false;
            };
            if let Some(b) = self.nodes.get_mut(i) {
                let s = b.start;
                b.splice(s, s, Ins::Raw(a.data()), lim.bytes);
                b.count += a.count;
            }
        }
        true
    }

    /// Tries merging each adjacent pair (i, i + 1) for i in lo..=hi (a list region just edited).
    // Redis compat: quicklist.c _quicklistMergeNodes (neighbours of an edited node).
    fn merge_range(&mut self, lo: usize, mut hi: usize, lim: Limits) {
        let mut i = lo;
        while i <= hi && i + 1 < self.nodes.len() {
            if self.try_merge(i, lim) {
                hi = hi.saturating_sub(1);
            } else {
                i += 1;
            }
        }
    }

    fn remove_range_inner(&mut self, start: usize, count: usize) {
        if start >= self.len || count == 0 {
            return;
        }
        let count = count.min(self.len - start);
        if count == self.len {
            self.clear_inner();
            return;
        }
        let Some((first, k)) = self.locate(start) else {
            return;
        };
        let lim = self.limits();
        let mut rem = count;
        let mut ni = first;
        self.thaw(ni);
        if let Some(node) = self.nodes.get_mut(ni) {
            let c = node.count();
            let take = rem.min(c - k);
            if take < c {
                node.remove(k, take);
                rem -= take;
                if k > 0 {
                    ni += 1;
                }
            }
        }
        let mut j = ni;
        while rem > 0 {
            match self.nodes.get(j) {
                Some(n) if n.count() <= rem => {
                    rem -= n.count();
                    j += 1;
                }
                _ => break,
            }
        }
        if j > ni {
            self.nodes.drain(ni..j);
            self.shrink_nodes();
        }
        if rem > 0 {
            self.thaw(ni);
            if let Some(node) = self.nodes.get_mut(ni) {
                node.remove(0, rem);
            }
        }
        self.len -= count;
        self.merge_range(first.saturating_sub(1), ni, lim);
        self.settle(first.saturating_sub(1), ni + 1);
    }

    /// Keeps only [start, end] (inclusive, already-normalized non-negative indexes); empty if start > end.
    pub fn trim(&mut self, start: usize, end: usize) {
        if start > end || start >= self.len {
            self.clear();
            return;
        }
        let end = end.min(self.len - 1);
        self.remove_range(end + 1, self.len - end - 1);
        self.remove_range(0, start);
    }

    fn remove_matching_inner(&mut self, v: &[u8], count: i64) -> usize {
        let quota = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let from_tail = count < 0;
        let n = self.nodes.len();
        let (mut removed, mut emptied) = (0usize, 0usize);
        let (mut lo, mut hi) = (usize::MAX, 0usize);
        for step in 0..n {
            if removed >= quota {
                break;
            }
            let i = if from_tail { n - 1 - step } else { step };
            self.thaw(i);
            let Some(node) = self.nodes.get_mut(i) else {
                break;
            };
            let d = if node.plain {
                if node.buf == v {
                    node.count = 0;
                    1
                } else {
                    0
                }
            } else {
                node.remove_matching(v, quota - removed, from_tail)
            };
            if d > 0 {
                removed += d;
                lo = lo.min(i);
                hi = hi.max(i);
                if node.count == 0 {
                    emptied += 1;
                }
            }
        }
        if removed == 0 {
            self.settle(0, usize::MAX);
            return 0;
        }
        if emptied > 0 {
            self.nodes.retain(|n| n.count > 0);
            self.shrink_nodes();
        }
        self.len -= removed;
        // Emptied nodes all lay in lo..=hi, so the edited region now ends at hi - emptied.
        let lim = self.limits();
        self.merge_range(lo.saturating_sub(1), hi.saturating_sub(emptied), lim);
        // Every node the walk went through was decompressed.
        self.settle(0, usize::MAX);
        removed
    }

    /// Elements from `idx` to the tail (empty if `idx >= len`).
    pub fn iter_from(&self, idx: usize) -> Iter<'_> {
        let mut it = Iter {
            nodes: self.nodes.range(0..0),
            buf: &[],
            plain: false,
            off: 0,
            cold: Vec::new(),
            cold_off: 0,
            remaining: 0,
        };
        let Some((ni, node, k)) = self.locate(idx).and_then(|(ni, k)| Some((ni, self.nodes.get(ni)?, k))) else {
            return it;
        };
        (it.nodes, it.remaining) = (self.nodes.range(ni + 1..), self.len - idx);
        if node.zlen > 0 {
            let t = node.thawed_node();
            it.cold_off = t.offset_of(k);
            it.cold = t.buf;
        } else {
            (it.buf, it.plain, it.off) = (&node.buf, node.plain, node.offset_of(k));
        }
        it
    }

    /// Elements from `idx` back to the head (empty if `idx >= len`).
    pub fn iter_rev_from(&self, idx: usize) -> RevIter<'_> {
        let mut it = RevIter {
            nodes: self.nodes.range(0..0).rev(),
            buf: &[],
            start: 0,
            plain: false,
            end: 0,
            cold: Vec::new(),
            cold_end: 0,
            remaining: 0,
        };
        let Some((ni, node, k)) = self.locate(idx).and_then(|(ni, k)| Some((ni, self.nodes.get(ni)?, k))) else {
            return it;
        };
        (it.nodes, it.remaining) = (self.nodes.range(..ni).rev(), idx + 1);
        if node.zlen > 0 {
            let t = node.thawed_node();
            it.cold_end = t.offset_of(k + 1);
            it.cold = t.buf;
        } else {
            (it.buf, it.start, it.plain) = (&node.buf, node.start, node.plain);
            it.end = node.offset_of(k + 1);
        }
        it
    }

    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Heap bytes owned (node deque and node buffers, rounded to allocator size classes).
    pub fn mem_usage(&self) -> usize {
        alloc_size(self.nodes.capacity() * std::mem::size_of::<Node>())
            + self.nodes.iter().map(|n| alloc_size(n.buf.capacity())).sum::<usize>()
    }
}

/// The elements of node `ni` of `nodes` and whether it is a plain node.
fn node_elems(nodes: &VecDeque<Node>, ni: usize) -> Option<(bool, Iter<'_>)> {
    let node = nodes.get(ni)?;
    let it = Iter {
        nodes: nodes.range(ni..=ni),
        buf: &[],
        plain: false,
        off: 0,
        cold: Vec::new(),
        cold_off: 0,
        remaining: node.count as usize,
    };
    Some((node.plain, it))
}

/// See `QuickList::appender`.
pub struct Appender<'a> {
    list: &'a mut QuickList,
    lim: Limits,
    large: usize,
}

impl Appender<'_> {
    /// `push_back_before(v, more)`. A short element that fits the last node's room goes
    /// straight in, as `push_back_sized` would put it.
    #[inline]
    pub fn push(&mut self, v: &[u8], more: usize) {
        let l = &mut *self.list;
        if v.len() < 0x80 && v.len() < self.large && l.snap.is_none() {
            if let Some(tail) = l.nodes.back_mut() {
                if tail.append_short(v, &self.lim) {
                    l.len += 1;
                    return;
                }
            }
        }
        l.push_back_before(v, more);
    }
}

/// Forward iterator over a `QuickList` (see `QuickList::iter_from`).
pub struct Iter<'a> {
    nodes: vec_deque::Iter<'a, Node>,
    /// The current node's buffer (empty once done) and whether it is plain.
    buf: &'a [u8],
    plain: bool,
    /// Offset of the next entry in `buf`.
    off: usize,
    /// A compressed node being read: its entries decompressed, and the next one's offset.
    cold: Vec<u8>,
    cold_off: usize,
    remaining: usize,
}

impl<'a> Iter<'a> {
    /// `next`, with the rest of the node's buffer from the element's first byte when the
    /// element is borrowed from it (more bytes may follow the element there, which a writer
    /// may copy in one fixed-size move), else the element alone.
    #[inline]
    pub fn next_with_tail(&mut self) -> Option<(Cow<'a, [u8]>, &'a [u8])> {
        if let Some(&first) = self.buf.get(self.off) {
            let ps = self.off + 1;
            let pe = ps + first as usize;
            if first < 0x80 && !self.plain && pe < self.buf.len() {
                self.remaining = self.remaining.saturating_sub(1);
                self.off = pe + 1;
                let tail = self.buf.get(ps..).unwrap_or_default();
                return Some((Cow::Borrowed(tail.get(..first as usize).unwrap_or_default()), tail));
            }
        }
        match self.next()? {
            Cow::Borrowed(e) => Some((Cow::Borrowed(e), e)),
            Cow::Owned(e) => Some((Cow::Owned(e), &[])),
        }
    }

    /// Entries with multi-byte lengths, plain nodes, and damaged buffers (which end the iteration).
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Cow<'a, [u8]>> {
        let buf = self.buf;
        let item = if self.plain {
            self.off = buf.len();
            Some(buf)
        } else {
            read_fwd(buf, self.off).and_then(|(ps, pe, next)| {
                self.off = next;
                buf.get(ps..pe)
            })
        };
        if item.is_none() {
            self.buf = &[];
            self.nodes.by_ref().for_each(drop);
        }
        item.map(Cow::Borrowed)
    }

    /// The next entry of a decompressed node (a copy: the buffer is the iterator's own).
    #[inline(never)]
    fn next_cold(&mut self) -> Option<Cow<'a, [u8]>> {
        self.remaining = self.remaining.saturating_sub(1);
        let item = read_fwd(&self.cold, self.cold_off).and_then(|(ps, pe, next)| {
            self.cold_off = next;
            self.cold.get(ps..pe)
        });
        let item = item.map(|e| Cow::Owned(e.to_vec()));
        if item.is_none() {
            (self.cold, self.cold_off) = (Vec::new(), 0);
            self.nodes.by_ref().for_each(drop);
        }
        item
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Cow<'a, [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(&first) = self.buf.get(self.off) {
                self.remaining = self.remaining.saturating_sub(1);
                if first < 0x80 && !self.plain {
                    let ps = self.off + 1;
                    let pe = ps + first as usize;
                    if pe < self.buf.len() {
                        self.off = pe + 1;
                        return self.buf.get(ps..pe).map(Cow::Borrowed);
                    }
                }
                return self.next_slow();
            }
            if self.cold_off < self.cold.len() {
                return self.next_cold();
            }
            let node = self.nodes.next()?;
            if node.zlen > 0 {
                (self.buf, self.off) = (&[], 0);
                (self.cold, self.cold_off) = (node.thawed(), 0);
                continue;
            }
            self.buf = &node.buf;
            self.plain = node.plain;
            self.off = node.start;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

/// Backward iterator over a `QuickList` (see `QuickList::iter_rev_from`).
pub struct RevIter<'a> {
    nodes: Rev<vec_deque::Iter<'a, Node>>,
    /// The current node's buffer (empty once done), its payload start and whether it is plain.
    buf: &'a [u8],
    start: usize,
    plain: bool,
    /// Offset just past the next entry in `buf`.
    end: usize,
    /// A compressed node being read: its entries decompressed, and the end of the next one.
    cold: Vec<u8>,
    cold_end: usize,
    remaining: usize,
}

impl<'a> RevIter<'a> {
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Cow<'a, [u8]>> {
        let buf = self.buf;
        let item = if self.plain {
            self.end = 0;
            Some(buf)
        } else {
            read_back(buf, self.end).and_then(|(s, ps, pe)| {
                self.end = s;
                buf.get(ps..pe)
            })
        };
        if item.is_none() {
            (self.buf, self.end, self.start) = (&[], 0, 0);
            self.nodes.by_ref().for_each(drop);
        }
        item.map(Cow::Borrowed)
    }

    #[inline(never)]
    fn next_cold(&mut self) -> Option<Cow<'a, [u8]>> {
        self.remaining = self.remaining.saturating_sub(1);
        let item = read_back(&self.cold, self.cold_end).and_then(|(s, ps, pe)| {
            self.cold_end = s;
            self.cold.get(ps..pe)
        });
        let item = item.map(|e| Cow::Owned(e.to_vec()));
        if item.is_none() {
            (self.cold, self.cold_end) = (Vec::new(), 0);
            self.nodes.by_ref().for_each(drop);
        }
        item
    }
}

impl<'a> Iterator for RevIter<'a> {
    type Item = Cow<'a, [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.end > self.start {
                self.remaining = self.remaining.saturating_sub(1);
                if let Some(&last) = self.buf.get(self.end - 1) {
                    let pe = self.end - 1;
                    if last < 0x80 && !self.plain && pe >= self.start + 1 + last as usize {
                        let ps = pe - last as usize;
                        self.end = ps - 1;
                        return self.buf.get(ps..pe).map(Cow::Borrowed);
                    }
                }
                return self.next_slow();
            }
            if self.cold_end > 0 {
                return self.next_cold();
            }
            let node = self.nodes.next()?;
            if node.zlen > 0 {
                (self.buf, self.start, self.end) = (&[], 0, 0);
                self.cold = node.thawed();
                self.cold_end = self.cold.len();
                continue;
            }
            (self.buf, self.start, self.plain, self.end) = (&node.buf, node.start, node.plain, node.buf.len());
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for RevIter<'_> {}
impl FusedIterator for RevIter<'_> {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use std::sync::{Mutex, MutexGuard};

    /// The packed threshold is process-wide: tests that depend on it (all of them, through node
    /// layout checks) run one at a time.
    static LOCK: Mutex<()> = Mutex::new(());

    fn lock() -> MutexGuard<'static, ()> {
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Restores the default threshold even if the test fails.
    struct Threshold;
    impl Threshold {
        fn set(t: usize) -> Self {
            QuickList::set_packed_threshold(t);
            Threshold
        }
    }
    impl Drop for Threshold {
        fn drop(&mut self) {
            QuickList::set_packed_threshold(0);
        }
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn items(q: &QuickList) -> Vec<Vec<u8>> {
        q.iter().map(|e| e.into_owned()).collect()
    }

    /// Structural invariants; `fill_holds` also checks every multi-entry node against the limits.
    fn check(q: &QuickList, fill_holds: bool) {
        let lim = q.limits();
        let mut total = 0;
        let (d, len) = (usize::from(q.depth), q.nodes.len());
        for (i, n) in q.nodes.iter().enumerate() {
            let at_end = i < d || i + d >= len;
            if at_end || d == 0 {
                assert_eq!(n.zlen, 0, "node {i} of {len} is compressed (depth {d})");
            } else {
                assert!(
                    n.plain || n.zlen > 0 || n.used() < MIN_COMPRESS_BYTES || n.ztried as usize == n.used(),
                    "node {i} of {len} is left raw (depth {d}, {} bytes)",
                    n.used()
                );
            }
            let thawed;
            let n = if n.zlen > 0 {
                assert!(n.buf.len() + MIN_COMPRESS_IMPROVE < n.used());
                assert_eq!(n.buf.capacity(), n.buf.len());
                thawed = n.thawed_node();
                assert_eq!(thawed.buf.len(), n.used());
                &thawed
            } else {
                n
            };
            assert!(n.count > 0, "empty node {i}");
            assert!(n.start <= n.buf.len());
            total += n.count();
            if n.plain {
                assert_eq!(n.count, 1);
                assert_eq!(n.start, 0);
                assert!(!n.buf.is_empty());
                continue;
            }
            let (mut off, mut c) = (n.start, 0);
            while off < n.buf.len() {
                let (_, _, next) = read_fwd(&n.buf, off).expect("forward walk");
                off = next;
                c += 1;
            }
            assert_eq!(off, n.buf.len());
            assert_eq!(c, n.count(), "node {i} count");
            let (mut end, mut c) = (n.buf.len(), 0);
            while end > n.start {
                let (s, _, _) = read_back(&n.buf, end).expect("backward walk");
                end = s;
                c += 1;
            }
            assert_eq!(end, n.start);
            assert_eq!(c, n.count());
            if fill_holds && n.count > 1 {
                assert!(n.used() <= lim.bytes, "node {i} has {} bytes", n.used());
                assert!(n.count() <= lim.count, "node {i} has {} entries", n.count());
            }
            // Memory: free room stays proportionate to the payload.
            assert!(
                n.buf.capacity() <= 3 * n.used() + 2 * SHRINK_SLACK,
                "node {i}: capacity {} for {} bytes",
                n.buf.capacity(),
                n.used()
            );
        }
        assert_eq!(total, q.len());
    }

    fn gen(rng: &mut SmallRng) -> Vec<u8> {
        match rng.random_range(0..100) {
            0..5 => Vec::new(),
            5..45 => rng.random_range(0..20u32).to_string().into_bytes(),
            45..70 => {
                let n = rng.random_range(1..20);
                (0..n).map(|_| rng.random_range(b'a'..b'e')).collect()
            }
            70..92 => vec![b'a' + rng.random_range(0..3u8); 50],
            92..98 => vec![b'x'; rng.random_range(120..300)],
            _ => vec![b'L' + rng.random_range(0..2u8); 10 * 1024],
        }
    }

    fn model_remove_matching(m: &mut VecDeque<Vec<u8>>, v: &[u8], count: i64) -> usize {
        let quota = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut removed = 0;
        if count >= 0 {
            let mut i = 0;
            while i < m.len() && removed < quota {
                if m[i] == v {
                    m.remove(i);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
        } else {
            let mut i = m.len();
            while i > 0 && removed < quota {
                i -= 1;
                if m[i] == v {
                    m.remove(i);
                    removed += 1;
                }
            }
        }
        removed
    }

    fn compare_all(q: &QuickList, m: &VecDeque<Vec<u8>>) {
        assert_eq!(q.len(), m.len());
        assert!(q.iter().eq(m.iter().map(|e| Cow::Borrowed(e.as_slice()))));
        assert!(q
            .iter_rev_from(q.len().wrapping_sub(1))
            .eq(m.iter().rev().map(|e| Cow::Borrowed(e.as_slice()))));
    }

    /// Random operations against a `VecDeque` model.
    fn run_model(fill: i32, seed: u64, ops: usize, fill_holds: bool) {
        run_model_compressed(fill, 0, seed, ops, fill_holds)
    }

    fn run_model_compressed(fill: i32, depth: i64, seed: u64, ops: usize, fill_holds: bool) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut q = QuickList::with_depth(fill, depth);
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        let mut zipped_seen = 0;
        let mut snaps = Snaps::default();
        for step in 0..ops {
            snaps.step(&mut q, &m, &mut rng);
            let len = m.len();
            // Phases with a target size (tens to thousands of elements): while below the target most
            // deletions turn into insertions, above it most insertions turn into pops.
            let target = [30, 400, 1500, 3000][(step / 2500) % 4];
            let mut op = rng.random_range(0..100);
            let deletes = (30..46).contains(&op) || (64..76).contains(&op);
            let inserts = op < 30 || (46..56).contains(&op);
            if len < target && deletes && rng.random_bool(0.8) {
                op = rng.random_range(0..30);
            } else if len > target && inserts && rng.random_bool(0.8) {
                op = rng.random_range(30..46);
            }
            match op {
                0..15 => {
                    let v = gen(&mut rng);
                    q.push_back(&v);
                    m.push_back(v);
                }
                15..30 => {
                    let v = gen(&mut rng);
                    q.push_front(&v);
                    m.push_front(v);
                }
                30..38 => assert_eq!(q.pop_front(), m.pop_front()),
                38..46 => assert_eq!(q.pop_back(), m.pop_back()),
                46..56 => {
                    let v = gen(&mut rng);
                    let i = rng.random_range(0..=len + 1);
                    q.insert(i, &v);
                    m.insert(i.min(len), v);
                }
                56..64 => {
                    let v = gen(&mut rng);
                    let i = rng.random_range(0..len + 2);
                    let ok = q.set(i, &v);
                    assert_eq!(ok, i < len);
                    if ok {
                        m[i] = v;
                    }
                }
                64..68 => {
                    let s = rng.random_range(0..len + 2);
                    let c = if rng.random_bool(0.1) {
                        rng.random_range(0..3000)
                    } else {
                        rng.random_range(0..60)
                    };
                    q.remove_range(s, c);
                    if s < len {
                        m.drain(s..(s + c).min(len));
                    }
                }
                68..70 => {
                    let (s, e) = if rng.random_bool(0.1) || len == 0 {
                        (rng.random_range(0..len + 3), rng.random_range(0..len + 3))
                    } else {
                        let s = rng.random_range(0..=len / 8);
                        (s, (len - 1).saturating_sub(rng.random_range(0..=len / 8)))
                    };
                    q.trim(s, e);
                    if s > e || s >= len {
                        m.clear();
                    } else {
                        let e = e.min(len - 1);
                        m.truncate(e + 1);
                        m.drain(..s);
                    }
                }
                70..76 => {
                    let v = if len > 0 && rng.random_bool(0.8) {
                        m[rng.random_range(0..len)].clone()
                    } else {
                        gen(&mut rng)
                    };
                    let c = rng.random_range(-3..=3);
                    let c = if rng.random_bool(0.05) { c * 1000 } else { c };
                    assert_eq!(
                        q.remove_matching(&v, c),
                        model_remove_matching(&mut m, &v, c),
                        "step {step}"
                    );
                }
                76..88 => {
                    let i = rng.random_range(0..len + 2);
                    assert_eq!(q.get(i).map(|e| e.into_owned()), m.get(i).cloned());
                }
                88..94 => {
                    let i = rng.random_range(0..len + 2);
                    let n = rng.random_range(0..400);
                    let it = q.iter_from(i);
                    assert_eq!(it.len(), len.saturating_sub(i));
                    let got: Vec<Vec<u8>> = it.take(n).map(|e| e.into_owned()).collect();
                    let want: Vec<Vec<u8>> = m.iter().skip(i).take(n).cloned().collect();
                    assert_eq!(got, want, "iter_from({i}) step {step}");
                }
                _ => {
                    let i = rng.random_range(0..len + 2);
                    let n = rng.random_range(0..400);
                    let it = q.iter_rev_from(i);
                    assert_eq!(it.len(), if i < len { i + 1 } else { 0 });
                    let got: Vec<Vec<u8>> = it.take(n).map(|e| e.into_owned()).collect();
                    let want: Vec<Vec<u8>> = if i < len {
                        m.iter().take(i + 1).rev().take(n).cloned().collect()
                    } else {
                        Vec::new()
                    };
                    assert_eq!(got, want, "iter_rev_from({i}) step {step}");
                }
            }
            assert_eq!(q.len(), m.len(), "step {step} op {op}");
            if step % 53 == 0 {
                check(&q, fill_holds);
                compare_all(&q, &m);
                zipped_seen += q.nodes.iter().filter(|n| n.zlen > 0).count();
            }
        }
        check(&q, fill_holds);
        compare_all(&q, &m);
        assert_eq!(zipped_seen > 0, depth > 0, "{zipped_seen} compressed nodes seen");
        assert!(snaps.done > 2, "{} saves completed", snaps.done);
    }

    /// Point-in-time saves taken at random moments of a model run and handed out a few
    /// nodes at a time between its operations: each must give the list as it was at its
    /// start, node for node.
    #[derive(Default)]
    struct Snaps {
        /// The elements and node count at the start, and what was handed out so far.
        want: Option<(Vec<Vec<u8>>, usize)>,
        got: Vec<Vec<u8>>,
        nodes: usize,
        done: usize,
    }

    impl Snaps {
        fn step(&mut self, q: &mut QuickList, m: &VecDeque<Vec<u8>>, rng: &mut SmallRng) {
            let Some((want, want_nodes)) = &self.want else {
                if rng.random_bool(0.002) {
                    q.snap_begin();
                    self.want = Some((m.iter().cloned().collect(), q.node_count()));
                }
                return;
            };
            if !rng.random_bool(0.1) {
                return;
            }
            let (got, nodes) = (&mut self.got, &mut self.nodes);
            let done = q.snap_step(rng.random_range(1..200), |plain, it| {
                let before = got.len();
                got.extend(it.map(|e| e.into_owned()));
                assert!(!plain || got.len() == before + 1);
                *nodes += 1;
            });
            if done == Some(true) {
                assert_eq!(got, want);
                assert_eq!(nodes, want_nodes);
                q.snap_end();
                (self.want, self.done) = (None, self.done + 1);
                (self.got, self.nodes) = (Vec::new(), 0);
            } else {
                assert_eq!(done, Some(false));
            }
        }
    }

    /// Elements pushed with the size of what follows make the nodes pushing them one
    /// by one makes, each allocated once within its limit rather than grown.
    #[test]
    fn pushes_told_what_follows_make_the_same_nodes_allocated_once() {
        let _g = lock();
        for fill in [-2, -1, 5, 1] {
            let elems: Vec<Vec<u8>> = (0..3000)
                .map(|i| format!("element:{i}:{}", "x".repeat(i % 30)).into_bytes())
                .collect();
            let mut one = QuickList::new(fill);
            let mut told = QuickList::new(fill);
            let total: usize = elems.iter().map(|e| entry_size(e.len())).sum();
            let mut left = total;
            for e in &elems {
                one.push_back(e);
                left -= entry_size(e.len());
                told.push_back_before(e, left);
            }
            check(&told, true);
            assert!(told.iter().eq(one.iter()), "fill {fill}");
            let counts = |q: &QuickList| q.nodes.iter().map(|n| n.count).collect::<Vec<_>>();
            assert_eq!(counts(&told), counts(&one), "fill {fill}");
            let lim = told.limits();
            for n in &told.nodes {
                let most = lim.bytes.min(lim.count.saturating_mul(entry_size(70)));
                assert!(
                    n.buf.capacity() <= alloc_size(most.max(MIN_CAP)),
                    "fill {fill}: {}",
                    n.buf.capacity()
                );
            }
            assert!(told.mem_usage() <= one.mem_usage(), "fill {fill}");
        }
    }

    /// An appender makes the nodes `push_back_before` makes, whatever the element sizes,
    /// compression depth and packed threshold.
    #[test]
    fn an_appender_builds_what_pushes_told_what_follows_build() {
        let _g = lock();
        let shape = |q: &QuickList| {
            let nodes = q.nodes.iter();
            nodes
                .map(|n| (n.count, n.start, n.buf.len(), n.buf.capacity(), n.zlen, n.plain))
                .collect::<Vec<_>>()
        };
        for (threshold, fill, depth) in [(None, -2, 0), (None, 5, 1), (Some(100), -1, 2), (Some(10), 3, 0)] {
            if let Some(t) = threshold {
                QuickList::set_packed_threshold(t);
            }
            let elems: Vec<Vec<u8>> = (0..3000)
                .map(|i| vec![b'a' + (i % 7) as u8; if i % 41 == 0 { 300 } else { i % 140 }])
                .collect();
            let mut told = QuickList::with_depth(fill, depth);
            let mut appended = QuickList::with_depth(fill, depth);
            let mut app = appended.appender();
            let mut left: usize = elems.iter().map(|e| entry_size(e.len())).sum();
            for e in &elems {
                left -= entry_size(e.len());
                told.push_back_before(e, left);
                app.push(e, left);
            }
            QuickList::set_packed_threshold(DEFAULT_PACKED_THRESHOLD);
            check(&appended, true);
            assert!(appended.iter().eq(elems.iter().map(|e| Cow::Borrowed(e.as_slice()))));
            assert_eq!(shape(&appended), shape(&told), "fill {fill} depth {depth}");
        }
    }

    #[test]
    fn model_count_fills() {
        let _g = lock();
        for (i, fill) in [1, 2, 3, 5, 0, 16, 128].into_iter().enumerate() {
            run_model(fill, 0x5eed + i as u64, 20_000, true);
        }
    }

    #[test]
    fn model_size_fills() {
        let _g = lock();
        for (i, fill) in [-1, -2, -3, -5].into_iter().enumerate() {
            run_model(fill, 0xfeed + i as u64, 30_000, true);
        }
    }

    #[test]
    fn model_with_compressed_nodes() {
        let _g = lock();
        for (i, (fill, depth)) in [(-2, 1), (-1, 2), (8, 1), (3, 4), (-3, 1)].into_iter().enumerate() {
            run_model_compressed(fill, depth, 0xc0de + i as u64, 20_000, true);
        }
        let _t = Threshold::set(40);
        run_model_compressed(-2, 1, 0xc0fe, 20_000, true);
    }

    #[test]
    fn interior_nodes_are_compressed_and_read_back() {
        let _g = lock();
        let mut q = QuickList::with_depth(-2, 1);
        let mut raw = QuickList::new(-2);
        for i in 0..20_000 {
            let v = format!("job:{i:08}:payload={{\"queue\":\"default\",\"retry\":true}}");
            q.push_back(v.as_bytes());
            raw.push_back(v.as_bytes());
        }
        check(&q, true);
        let zipped = q.nodes.iter().filter(|n| n.zlen > 0).count();
        assert_eq!(zipped, q.node_count() - 2, "all but the two end nodes");
        assert!(
            q.mem_usage() * 3 < raw.mem_usage(),
            "{} against {}",
            q.mem_usage(),
            raw.mem_usage()
        );
        assert_eq!(q, raw);
        assert_eq!(q.get(10_000), raw.get(10_000));
        assert!(q.iter_rev_from(12_345).eq(raw.iter_rev_from(12_345)));
        // Popping down to a few nodes leaves every node raw.
        while q.node_count() > 2 {
            q.pop_back();
        }
        check(&q, true);
        assert!(q.nodes.iter().all(|n| n.zlen == 0));
    }

    #[test]
    fn incompressible_nodes_are_tried_once() {
        let _g = lock();
        let mut rng = SmallRng::seed_from_u64(3);
        let mut q = QuickList::with_depth(-2, 1);
        for _ in 0..2000 {
            let v: Vec<u8> = (0..64).map(|_| rng.random()).collect();
            q.push_back(&v);
        }
        check(&q, true);
        assert!(q.nodes.iter().all(|n| n.zlen == 0));
        assert!(q
            .nodes
            .iter()
            .skip(1)
            .rev()
            .skip(1)
            .all(|n| n.ztried as usize == n.used()));
    }

    #[test]
    fn model_with_plain_nodes() {
        let _g = lock();
        let _t = Threshold::set(40);
        for (i, fill) in [-2, 2, 5].into_iter().enumerate() {
            run_model(fill, 0xbead + i as u64, 20_000, true);
        }
    }

    /// A longer sweep over many seeds: `cargo test --release -- --ignored`.
    #[test]
    #[ignore]
    fn model_many_seeds() {
        let _g = lock();
        for seed in 0..300u64 {
            let fill = [1, 2, 3, 5, 16, -1, -2, -5][seed as usize % 8];
            run_model(fill, seed, 20_000, true);
        }
        for seed in 0..60u64 {
            run_model_compressed([8, -2, -1][seed as usize % 3], 1 + seed as i64 % 3, seed, 20_000, true);
        }
        let _t = Threshold::set(40);
        for seed in 0..60u64 {
            run_model([2, -2, -1][seed as usize % 3], seed, 20_000, true);
        }
    }

    #[test]
    fn model_with_fill_changes() {
        let _g = lock();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut q = QuickList::new(-2);
        let mut m = VecDeque::new();
        for round in 0..40 {
            q.set_fill([-1, -2, 3, 1, -5, 64][round % 6]);
            for _ in 0..500 {
                let v = gen(&mut rng);
                let i = rng.random_range(0..=m.len());
                q.insert(i, &v);
                m.insert(i, v);
                if rng.random_bool(0.3) {
                    let i = rng.random_range(0..m.len());
                    q.remove_range(i, 3);
                    m.drain(i..(i + 3).min(m.len()));
                }
            }
            check(&q, false);
            compare_all(&q, &m);
        }
    }

    #[test]
    fn empty_list_edges() {
        let _g = lock();
        let mut q = QuickList::new(-2);
        assert!(q.is_empty());
        assert_eq!(q.node_count(), 0);
        assert_eq!(q.pop_front(), None);
        assert_eq!(q.pop_back(), None);
        assert_eq!(q.get(0), None);
        assert!(!q.set(0, b"x"));
        q.remove_range(0, 10);
        q.trim(0, 5);
        assert_eq!(q.remove_matching(b"x", 0), 0);
        assert_eq!(q.iter().count(), 0);
        assert_eq!(q.iter_from(3).count(), 0);
        assert_eq!(q.iter_rev_from(0).count(), 0);
        assert_eq!(q.mem_usage(), 0);
        q.insert(5, b"a"); // past the end appends
        q.insert(0, b"b");
        assert_eq!(items(&q), vec![b("b"), b("a")]);
        q.push_back(b"");
        assert_eq!(q.get(2).as_deref(), Some(&b""[..]));
        assert_eq!(q.pop_back(), Some(Vec::new()));
        q.trim(1, 0); // start > end empties
        assert!(q.is_empty());
        assert_eq!(q.node_count(), 0);
        assert_eq!(format!("{:?}", QuickList::default()), "[]");
    }

    #[test]
    fn push_pop_order_and_get() {
        let _g = lock();
        let mut q = QuickList::new(-2);
        for i in 0..5000 {
            q.push_back(i.to_string().as_bytes());
        }
        for i in 0..5000 {
            q.push_front(format!("f{i}").as_bytes());
        }
        assert_eq!(q.len(), 10_000);
        check(&q, true);
        assert_eq!(q.get(0).as_deref(), Some(&b"f4999"[..]));
        assert_eq!(q.get(4999).as_deref(), Some(&b"f0"[..]));
        assert_eq!(q.get(5000).as_deref(), Some(&b"0"[..]));
        assert_eq!(q.get(9999).as_deref(), Some(&b"4999"[..]));
        assert_eq!(q.get(10_000), None);
        for i in 0..5000 {
            assert_eq!(q.pop_back(), Some(format!("{}", 4999 - i).into_bytes()));
        }
        for i in 0..5000 {
            assert_eq!(q.pop_back(), Some(format!("f{i}").into_bytes()));
        }
        assert!(q.is_empty());
        assert_eq!(q.node_count(), 0);
    }

    #[test]
    fn fill_limits_shape_nodes() {
        let _g = lock();
        let mut q = QuickList::new(3);
        for i in 0..10 {
            q.push_back(&[i]);
        }
        assert_eq!(q.node_count(), 4);
        for fill in [0, 1] {
            let mut q = QuickList::new(fill);
            for i in 0..10 {
                q.push_front(&[i]);
            }
            assert_eq!(q.node_count(), 10);
        }
        // -1: 4 KB nodes; 1000 entries of 22 bytes need at least 6 nodes, and nodes are mostly full.
        let mut q = QuickList::new(-1);
        for _ in 0..1000 {
            q.push_back(&[7u8; 20]);
        }
        check(&q, true);
        assert!((6..=7).contains(&q.node_count()), "{} nodes", q.node_count());
        // Out-of-range fills clamp like Redis.
        assert_eq!(QuickList::new(-100).fill(), -5);
        assert_eq!(QuickList::new(i32::MAX).fill(), FILL_MAX);
        // A count fill still stops at 8 KB per node.
        let mut q = QuickList::new(1000);
        for _ in 0..1000 {
            q.push_back(&[1u8; 100]);
        }
        check(&q, true);
        assert!(q.node_count() >= 1000 * 102 / SAFETY_LIMIT);
    }

    #[test]
    fn oversized_elements_get_their_own_node() {
        let _g = lock();
        let big = vec![b'z'; 10 * 1024];
        let mut q = QuickList::new(-2);
        q.push_back(b"a");
        q.push_back(&big);
        q.push_back(b"b");
        assert_eq!(q.node_count(), 3);
        q.insert(1, b"c"); // joins the tail of the first node
        q.insert(3, b"d"); // joins the head of the last node
        assert_eq!(q.node_count(), 3);
        assert_eq!(items(&q), vec![b("a"), b("c"), big.clone(), b("d"), b("b")]);
        // Replacing the oversized one in place; growing a small one past the limit moves it out.
        assert!(q.set(2, b"small"));
        assert!(q.set(0, &big));
        assert_eq!(items(&q), vec![big.clone(), b("c"), b("small"), b("d"), b("b")]);
        check(&q, true);
        assert_eq!(q.remove_matching(&big, 0), 1);
        assert_eq!(items(&q), vec![b("c"), b("small"), b("d"), b("b")]);
        check(&q, true);
    }

    #[test]
    fn plain_nodes_above_threshold() {
        let _g = lock();
        let _t = Threshold::set(100);
        assert_eq!(QuickList::packed_threshold(), 100);
        let big = vec![b'p'; 100];
        let mut q = QuickList::new(-2);
        for i in 0..10u8 {
            q.push_back(&[i]);
        }
        q.insert(5, &big); // splits the node around a plain one
        assert_eq!(q.node_count(), 3);
        assert!(q.nodes[1].plain);
        assert_eq!(q.get(5).as_deref(), Some(&big[..]));
        q.push_front(&big);
        q.push_back(&big);
        assert_eq!(q.node_count(), 5);
        check(&q, true);
        assert_eq!(q.pop_front(), Some(big.clone()));
        assert_eq!(q.pop_back(), Some(big.clone()));
        // plain -> small, small -> plain, plain -> plain
        assert!(q.set(5, b"s"));
        assert!(q.nodes.iter().all(|n| !n.plain));
        assert!(q.set(0, &big));
        assert!(q.nodes[0].plain);
        let bigger = vec![b'q'; 300];
        assert!(q.set(0, &bigger));
        assert_eq!(q.get(0).as_deref(), Some(&bigger[..]));
        check(&q, true);
        assert_eq!(q.remove_matching(&bigger, -1), 1);
        assert_eq!(q.len(), 10);
        let want: Vec<Vec<u8>> = (1..11u8)
            .map(|i| if i == 5 { b("s") } else { vec![i - u8::from(i > 5)] })
            .collect();
        assert_eq!(items(&q), want);
        check(&q, true);
        // 0 restores the default.
        QuickList::set_packed_threshold(0);
        assert_eq!(QuickList::packed_threshold(), DEFAULT_PACKED_THRESHOLD);
    }

    #[test]
    fn remove_matching_directions() {
        let _g = lock();
        for fill in [2, -2] {
            let mut q = QuickList::new(fill);
            let mut m = VecDeque::new();
            for i in 0..60 {
                let v = if i % 3 == 0 { b("x") } else { i.to_string().into_bytes() };
                q.push_back(&v);
                m.push_back(v);
            }
            for c in [2, -2, 5, -5, 0, 3] {
                assert_eq!(q.remove_matching(b"x", c), model_remove_matching(&mut m, b"x", c));
                compare_all(&q, &m);
                check(&q, true);
            }
            assert_eq!(q.remove_matching(b"x", 0), 0);
            assert_eq!(q.remove_matching(b"1", i64::MIN), 1);
            assert_eq!(q.remove_matching(b"", 0), 0);
        }
        // Every element matches: the list empties completely.
        let mut q = QuickList::new(-2);
        for _ in 0..5000 {
            q.push_back(b"same");
        }
        assert_eq!(q.remove_matching(b"same", 0), 5000);
        assert!(q.is_empty());
        assert_eq!(q.node_count(), 0);
    }

    #[test]
    fn iterators_from_every_index() {
        let _g = lock();
        for fill in [2, -1] {
            let mut q = QuickList::new(fill);
            let m: Vec<Vec<u8>> = (0..300)
                .map(|i: u32| i.to_string().repeat(i as usize % 7).into_bytes())
                .collect();
            for v in &m {
                q.push_back(v);
            }
            for i in 0..m.len() {
                assert!(q.iter_from(i).eq(m[i..].iter().map(|e| Cow::Borrowed(e.as_slice()))));
                assert!(q
                    .iter_rev_from(i)
                    .eq(m[..=i].iter().rev().map(|e| Cow::Borrowed(e.as_slice()))));
                assert_eq!(q.get(i).as_deref(), Some(m[i].as_slice()));
            }
            let mut it = q.iter_from(298);
            assert_eq!(it.len(), 2);
            it.next();
            it.next();
            assert!(it.next().is_none());
            assert!(it.next().is_none());
        }
    }

    #[test]
    fn insert_splits_full_nodes_at_every_position() {
        let _g = lock();
        for pos in 0..=8 {
            let mut q = QuickList::new(4);
            for i in 0..8u8 {
                q.push_back(&[i]);
            }
            assert_eq!(q.node_count(), 2);
            q.insert(pos, b"new");
            let mut want: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i]).collect();
            want.insert(pos, b("new"));
            assert_eq!(items(&q), want, "pos {pos}");
            check(&q, true);
        }
    }

    #[test]
    fn entry_lengths_around_varint_boundaries() {
        let _g = lock();
        let mut q = QuickList::new(-5);
        let lens = [0, 1, 126, 127, 128, 129, 16_383, 16_384, 16_385, 70_000];
        for &n in &lens {
            q.push_back(&vec![b'v'; n]);
            q.push_front(&vec![b'w'; n]);
        }
        check(&q, true);
        for (i, &n) in lens.iter().enumerate() {
            assert_eq!(q.get(lens.len() + i).map(|e| e.len()), Some(n));
            assert_eq!(q.get(lens.len() - 1 - i).map(|e| e.len()), Some(n));
        }
        for n in [0usize, 1, 127, 128, 16_383, 16_384, 1 << 21, usize::MAX] {
            let (h, l) = leb(n);
            assert_eq!(l, varint_len(n));
            let mut buf = h[..l].to_vec();
            buf.extend(h[..l].iter().rev());
            // An entry with a fake payload length is rejected, never read out of bounds.
            assert_eq!(read_fwd(&buf, 0).is_some(), n == 0);
        }
    }

    #[test]
    fn remove_range_and_trim() {
        let _g = lock();
        let mut q = QuickList::new(3);
        for i in 0..20u8 {
            q.push_back(&[i]);
        }
        q.remove_range(2, 7); // spans partial, whole and partial nodes
        q.remove_range(100, 1);
        q.remove_range(10, 100); // clamps
        let want: Vec<Vec<u8>> = [0u8, 1, 9, 10, 11, 12, 13, 14, 15, 16]
            .iter()
            .map(|&i| vec![i])
            .collect();
        assert_eq!(items(&q), want);
        check(&q, true);
        q.trim(2, 100);
        assert_eq!(q.len(), 8);
        q.trim(1, 3);
        assert_eq!(items(&q), vec![vec![10], vec![11], vec![12]]);
        q.trim(5, 9);
        assert!(q.is_empty());
        assert_eq!(q.node_count(), 0);
    }

    #[test]
    fn deletions_merge_nodes() {
        let _g = lock();
        let mut q = QuickList::new(-2);
        for i in 0..50_000 {
            q.push_back(if i % 10 == 0 { b"keep-0123" } else { b"drop-0123" });
        }
        let before = q.node_count();
        assert_eq!(q.remove_matching(b"drop-0123", 0), 45_000);
        check(&q, true);
        // 5000 entries of 11 bytes = 55 KB: without merging this would stay at `before` nodes.
        assert!(q.node_count() <= 12, "{} nodes (was {before})", q.node_count());
        // Many small middle range removals merge too.
        let mut q = QuickList::new(5);
        for i in 0..10_000u32 {
            q.push_back(&i.to_le_bytes());
        }
        for i in 0..1000 {
            q.remove_range(i * 2 + 1, 8);
        }
        check(&q, true);
        assert_eq!(q.len(), 2000);
        assert!(q.node_count() <= 2000 * 2 / 3, "{} nodes", q.node_count());
    }

    #[test]
    fn queue_and_stack_patterns_stay_compact() {
        let _g = lock();
        let mut q = QuickList::new(-2);
        for i in 0..500u32 {
            q.push_back(&i.to_le_bytes());
        }
        for i in 500..200_000u32 {
            q.push_back(&i.to_le_bytes());
            assert_eq!(q.pop_front(), Some((i - 500).to_le_bytes().to_vec()));
        }
        check(&q, true);
        assert!(q.node_count() <= 2);
        assert!(q.mem_usage() < 8 * 1024 + 4096, "{}", q.mem_usage());
        for i in 0..200_000u32 {
            q.push_front(&i.to_le_bytes());
            assert_eq!(q.pop_back().map(|v| v.len()), Some(4));
        }
        check(&q, true);
        assert_eq!(q.len(), 500);
        // Draining frees memory as it goes.
        let mut q = QuickList::new(-2);
        for i in 0..100_000u32 {
            q.push_front(&i.to_le_bytes());
        }
        while q.len() > 10 {
            q.pop_front();
        }
        check(&q, true);
        assert!(q.mem_usage() < 1024, "{}", q.mem_usage());
    }

    #[test]
    fn memory_per_element() {
        let _g = lock();
        let n = 1_000_000;
        for (fill, push_front) in [(-2, false), (-2, true), (128, false)] {
            let mut q = QuickList::new(fill);
            for i in 0..n {
                let v = format!("val:{:06}", i % 1_000_000);
                if push_front {
                    q.push_front(v.as_bytes());
                } else {
                    q.push_back(v.as_bytes());
                }
            }
            let per = q.mem_usage() as f64 / n as f64;
            assert!(per < 13.0, "fill {fill} front {push_front}: {per:.2} B/element");
        }
        // A one-element list is small too.
        let mut q = QuickList::new(-2);
        q.push_back(b"hello");
        assert!(q.mem_usage() <= 48 + 16, "{}", q.mem_usage());
    }

    #[test]
    fn clone_and_eq() {
        let _g = lock();
        let mut a = QuickList::new(-2);
        let mut b2 = QuickList::new(2);
        for i in 0..1000u32 {
            a.push_back(&i.to_be_bytes());
            b2.push_front(&(999 - i).to_be_bytes());
        }
        a.pop_front();
        a.push_front(&0u32.to_be_bytes());
        assert_eq!(a, b2); // same elements, different node layout
        let c = a.clone();
        assert_eq!(c, a);
        check(&c, true);
        let mut d = c.clone();
        d.set(500, b"changed");
        assert_ne!(d, c);
        d.set(500, &500u32.to_be_bytes());
        assert_eq!(d, c);
        d.pop_back();
        assert_ne!(d, c);
    }

    #[test]
    fn a_defrag_walk_in_steps_reaches_every_node() {
        let mut l = QuickList::new(4);
        for i in 0..1000 {
            l.push_back(format!("{i}").as_bytes());
        }
        let mut m = crate::ds::defrag::Defrag::default();
        let (mut pos, mut steps) = (0, 0);
        while let Some(p) = l.defrag_step(pos, 9, &mut m) {
            assert_eq!(p, pos + 9);
            pos = p;
            steps += 1;
        }
        assert_eq!(steps + 1, l.node_count().div_ceil(9));
        assert_eq!(l.len(), 1000);
    }
}
