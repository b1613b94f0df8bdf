//! RDB values: the writer picks the type Redis 7.0 writes for our current encoding; the
//! reader accepts every value type Redis 7.0 loads and rebuilds it in our encodings with
//! the configured limits, converting like Redis does on load (a listpack past the entry
//! limit becomes a hashtable). Empty collections read as `None` (Redis skips them).
//! Redis compat: rdb.c rdbSaveObject, rdbLoadObject.
use std::borrow::Cow;
use std::collections::HashSet;

use super::blob::{self, Elem, LpWriter};
use super::prim::{self, Reader, Writer};
use super::{ty, RdbError};
use crate::db::hash::{HashRef, Pair};
use crate::db::set::{
    as_int, digits, intset_max, packed_set, packs, set_from, with_packed_ints, Member, INT_DIGITS_MAX,
};
use crate::db::zset::{cmp_elem, zset_from_sorted, ZSetRef};
use crate::db::{Enc, Limits, Obj, Value, ValueRef};
use crate::ds::dict::Dict;
use crate::ds::intset::IntSet;
use crate::ds::listpack::Lp;
use crate::ds::quicklist::QuickList;
use crate::util::num;

/// Redis compat: quicklist.h QUICKLIST_NODE_CONTAINER_PLAIN / _PACKED.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;
/// Node byte limits for fill -1..-5 and the count-fill safety limit (quicklist.c).
const NODE_SIZES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SIZE_SAFETY_LIMIT: usize = 8192;

/// The RDB type byte Redis 7.0 writes for this entry.
pub fn type_of(o: &Obj) -> u8 {
    match (o.enc(), o.value()) {
        (Enc::HashLp, _) => ty::HASH_LISTPACK,
        (Enc::ZsetLp, _) => ty::ZSET_LISTPACK,
        (Enc::IntSet, _) => ty::SET_INTSET,
        (_, ValueRef::Str(_)) => ty::STRING,
        (_, ValueRef::List(_)) => ty::LIST_QUICKLIST_2,
        (_, ValueRef::Set(_)) => ty::SET,
        (_, ValueRef::ZSet(_)) => ty::ZSET_2,
        (_, ValueRef::Hash(_)) => ty::HASH,
        (_, ValueRef::Stream(_)) => ty::STREAM_LISTPACKS_2,
    }
}

/// The whole number a score is written as in a listpack zset, if it is one. Redis compat:
/// util.c d2string.
fn score_int(v: f64) -> Option<i64> {
    let whole = v.is_finite() && v > -(i64::MAX as f64) / 2.0 && v < (i64::MAX as f64) / 2.0 && v == (v as i64) as f64;
    (whole && v != 0.0).then_some(v as i64)
}

/// Appends a score's text as a listpack zset stores it. Redis compat: util.c d2string.
fn score_text(v: f64, b: &mut Vec<u8>) {
    if v == 0.0 {
        b.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if let Some(i) = score_int(v) {
        num::fmt_i64(i, b);
    } else {
        num::fmt_f64(v, b);
    }
}

/// Appends a packed zset's pairs to `lp` (a whole score straight as the integer its text
/// would be stored as).
fn push_zset_pairs<'a>(lp: &mut LpWriter, pairs: impl Iterator<Item = (&'a [u8], f64)>) {
    let mut text = Vec::with_capacity(32);
    for (m, s) in pairs {
        lp.push(m);
        match score_int(s) {
            Some(i) => lp.push_int(i),
            None => {
                text.clear();
                score_text(s, &mut text);
                lp.push(&text);
            }
        }
    }
}

/// Writes the value of `o` (without the type byte).
pub fn write_value(w: &mut Writer, o: &Obj) {
    write_value_inner(w, o, &mut |_| {}, false)
}

/// `write_value`, handing the writer to `spill` between the parts of a value (a
/// stream's or a big list's nodes, a dict's elements), so that what is written so far
/// can go on before the rest is made: a big value then never sits whole in one buffer.
/// A string goes whole. A list big enough to be saved in steps is written as BGSAVE's
/// steps write it, as the nodes we keep (their number known up front), rather than cut
/// again at Redis's limits (whose count is known only at the end).
pub fn write_value_spilling(w: &mut Writer, o: &Obj, spill: &mut impl FnMut(&mut Writer)) {
    write_value_inner(w, o, spill, true)
}

fn write_value_inner(w: &mut Writer, o: &Obj, spill: &mut impl FnMut(&mut Writer), spill_lists: bool) {
    match o.value() {
        ValueRef::Str(s) => w.string(s),
        ValueRef::List(l) if spill_lists && saved_in_steps(o) => {
            w.len(l.node_count() as u64);
            l.for_each_node(|plain, elems| {
                write_node(w, plain, elems);
                spill(w);
            });
        }
        ValueRef::List(l) => write_list(w, l),
        ValueRef::Set(s) => match s {
            crate::db::set::SetRef::Int(is) => {
                // Redis's layout but for the width, which is a u32 there.
                let b = is.as_bytes();
                let mut out = Vec::with_capacity(b.len() + 3);
                out.extend_from_slice(&(is.width() as u32).to_le_bytes());
                out.extend_from_slice(b.get(1..).unwrap_or_default());
                w.string(&out);
            }
            crate::db::set::SetRef::Lp(_) | crate::db::set::SetRef::Dict(_) => {
                w.len(s.len() as u64);
                for m in s.iter() {
                    w.string(&m);
                    spill(w);
                }
            }
        },
        ValueRef::Hash(HashRef::Lp(l)) => write_listpack(w, |lp| {
            let mut it = l.iter();
            while let Some((e, tail)) = it.next_with_tail() {
                lp.push_within(e, tail);
            }
        }),
        ValueRef::Hash(h) => {
            w.len(h.len() as u64);
            for (f, v) in h.iter() {
                w.string(f);
                w.string(v);
                spill(w);
            }
        }
        ValueRef::Stream(s) => super::stream::write(w, s, spill),
        ValueRef::ZSet(z) => match z {
            ZSetRef::Lp(_) => write_listpack(w, |lp| push_zset_pairs(lp, z.iter_from(0))),
            ZSetRef::Full(_) => {
                // Highest first, like Redis: loading then inserts at the skiplist head.
                w.len(z.len() as u64);
                for (m, s) in z.iter_rev_from(z.len().saturating_sub(1), usize::MAX) {
                    w.string(m);
                    w.binary_double(s);
                    spill(w);
                }
            }
        },
    }
}

/// Elements (or KB of a string) a value needs to be saved in steps (see `value_begin`):
/// the amount one step saves.
pub const STEP: usize = 4096;

/// Where the save of a value in steps stands. Lists, sets and hashes keep their own
/// place (`QuickList::snap_begin`, `Dict::snap_begin`); a sorted set is written by rank
/// until `value_pin`, then by its dict.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    InPlace,
    /// Sorted-set elements written so far, highest first.
    ZSetRank(usize),
    /// A sorted set's dict hands out the rest: the elements below this score and member
    /// (the last one written by rank).
    ZSetBelow(f64, Box<[u8]>),
    /// String bytes written so far.
    Str(usize),
}

/// Whether `o` is big enough to be saved over several steps rather than at once.
pub fn saved_in_steps(o: &Obj) -> bool {
    match o.value() {
        ValueRef::Str(s) => s.len() > STEP * 1024,
        ValueRef::List(l) => l.len() > STEP,
        ValueRef::Set(crate::db::set::SetRef::Dict(d)) => d.len() > STEP,
        ValueRef::Hash(HashRef::Dict(d)) => d.len() > STEP,
        ValueRef::ZSet(z @ ZSetRef::Full(_)) => z.len() > STEP,
        _ => false,
    }
}

/// Whether a value saved in steps keeps what is left to save as it was at its
/// start while it is written to (a list's nodes, a set's or hash's dict, once begun; a
/// sorted set's dict, once pinned), so that writes need not wait for the rest of it.
pub fn saved_in_place(o: &Obj) -> bool {
    matches!(
        o.heap(),
        Some(Value::List(_) | Value::Set(_) | Value::Hash(_) | Value::ZSet(_))
    )
}

/// Abandons the save in steps of `o` (see `value_begin`).
pub fn value_abandon(o: &mut Obj) {
    match o.heap_mut() {
        Some(Value::List(l)) => l.snap_end(),
        Some(Value::Set(d)) => d.snap_end(),
        Some(Value::Hash(d)) => d.snap_end(),
        Some(Value::ZSet(z)) => z.snap_end(),
        _ => {}
    }
}

/// Writes what comes before the elements of `o` (its length), and where to go on. The
/// value is written as by `write_value`, but for a list, whose nodes are our own nodes
/// (so their number is known up front) rather than nodes cut again at Redis's limits,
/// and a sorted set pinned (`value_pin`), whose rest comes in its dict's order. None:
/// `o` is not of a kind saved in steps. A list or dict starts a save of its own, ended by
/// the last step or by `value_abandon`.
pub fn value_begin(w: &mut Writer, o: &mut Obj) -> Option<Resume> {
    if let ValueRef::Str(s) = o.value() {
        if s.len() <= 20 {
            return None;
        }
        w.raw_string_head(s.len());
        // Its bytes go in one buffer (it may be compressed whole).
        w.buf.reserve_exact(s.len());
        return Some(Resume::Str(0));
    }
    let n = match o.heap_mut()? {
        Value::List(l) => {
            l.snap_begin();
            l.node_count()
        }
        Value::Set(d) => {
            d.snap_begin();
            d.len()
        }
        Value::Hash(d) => {
            d.snap_begin();
            d.len()
        }
        Value::ZSet(z) => {
            // By rank, as `write_value` writes it, until a write pins it.
            w.len(z.len() as u64);
            return Some(Resume::ZSetRank(0));
        }
        _ => return None,
    };
    w.len(n as u64);
    Some(Resume::InPlace)
}

/// Before the first write to `o` while it is saved in steps: from now on what is left
/// to save stays as it is now. A sorted set, written by rank so far (the fastest walk,
/// and the order Redis loads fastest), goes on with its dict's save of the elements
/// below the last one written.
pub fn value_pin(o: &mut Obj, at: &mut Resume) {
    let Resume::ZSetRank(done) = *at else {
        return;
    };
    let Some(Value::ZSet(z)) = o.heap_mut() else {
        return;
    };
    let last = z.len().checked_sub(done).filter(|_| done > 0);
    let last = last.and_then(|r| z.tree().iter_from(r).next());
    *at = match last {
        Some((s, m)) => Resume::ZSetBelow(s, m.into()),
        None => Resume::InPlace,
    };
    z.snap_begin();
}

/// Writes about `budget` more elements of `o` (whole list nodes and dict buckets).
/// Some(true) once the value is complete. None: `o` is not the value begun (it changed
/// between steps, which the snapshot's guards rule out).
pub fn value_step(w: &mut Writer, o: &mut Obj, at: &mut Resume, budget: usize) -> Option<bool> {
    let budget = budget.max(1);
    match *at {
        Resume::Str(i) => {
            let ValueRef::Str(s) = o.value() else {
                return None;
            };
            let end = i.saturating_add(budget.saturating_mul(1024)).min(s.len());
            w.bytes(s.get(i..end)?);
            *at = Resume::Str(end);
            return Some(end == s.len());
        }
        Resume::ZSetRank(done) => {
            // Highest first, as `write_value` writes them.
            let ValueRef::ZSet(z @ ZSetRef::Full(_)) = o.value() else {
                return None;
            };
            let len = z.len();
            let Some(top) = len.checked_sub(done + 1) else {
                return Some(true);
            };
            let mut n = 0;
            for (m, sc) in z.iter_rev_from(top, budget) {
                w.string(m);
                w.binary_double(sc);
                n += 1;
            }
            *at = Resume::ZSetRank(done + n);
            return Some(done + n >= len);
        }
        Resume::InPlace | Resume::ZSetBelow(..) => {}
    }
    let below = match at {
        Resume::ZSetBelow(s, m) => Some((*s, &**m)),
        _ => None,
    };
    let done = match o.heap_mut()? {
        Value::List(l) if l.in_snap() => l.snap_step(budget, |plain, elems| write_node(w, plain, elems))?,
        Value::Set(d) if d.in_snap() => d.snap_step(budget, |m| w.string(m.bytes())),
        Value::Hash(d) if d.in_snap() => d.snap_step(budget, |p| {
            w.string(p.field());
            w.string(p.value());
        }),
        Value::ZSet(z) if z.in_snap() => z.snap_step(budget, |e| {
            if below.is_none_or(|(s, m)| cmp_elem(e.score(), e.member(), s, m).is_lt()) {
                w.string(e.member());
                w.binary_double(e.score());
            }
        }),
        _ => return None,
    };
    if done {
        value_abandon(o);
    }
    Some(done)
}

/// One list node as a quicklist container.
fn write_node<'a>(w: &mut Writer, plain: bool, elems: impl Iterator<Item = std::borrow::Cow<'a, [u8]>>) {
    if plain {
        for e in elems {
            w.len(CONTAINER_PLAIN);
            w.string(&e);
        }
    } else {
        w.len(CONTAINER_PACKED);
        write_listpack(w, |lp| elems.for_each(|e| lp.push(&e)));
    }
}

/// Writes the listpack `fill` builds, as one string, building it in `LP_SCRATCH`.
fn write_listpack(w: &mut Writer, fill: impl FnOnce(&mut LpWriter)) {
    LP_SCRATCH.with_borrow_mut(|lp| {
        lp.clear();
        fill(lp);
        w.string(lp.finished());
        lp.trim(SCRATCH_BYTES);
    });
}

/// A packed node holding the listpack `lp`, which is then emptied for the next one.
fn write_packed(w: &mut Writer, lp: &mut LpWriter) {
    w.len(CONTAINER_PACKED);
    w.string(lp.finished());
    lp.clear();
}

/// Room kept in `LP_SCRATCH` between uses: a node of any fill up to -3 (16 KB).
pub(super) const SCRATCH_BYTES: usize = 16 << 10;

thread_local! {
    /// The listpack a list or stream node is encoded in before it is written (one buffer,
    /// reused).
    pub(super) static LP_SCRATCH: std::cell::RefCell<LpWriter> = std::cell::RefCell::new(LpWriter::with_capacity(SCRATCH_BYTES));
}

/// A list as quicklist nodes: listpacks cut at the fill limit, plain nodes for elements
/// at least the packed threshold long. Redis compat: rdb.c (RDB_TYPE_LIST_QUICKLIST_2).
/// Nodes are written as they are cut; their count, known at the end, is written in
/// front of them (in the room our own node count suggests, moved if it differs).
fn write_list(w: &mut Writer, l: &QuickList) {
    let fill = l.fill();
    let plain_at = QuickList::packed_threshold();
    let at = w.buf.len();
    let reserved = prim::len_bytes(l.node_count() as u64).1;
    w.buf.resize(at + reserved, 0);
    let mut nodes = 0u64;
    LP_SCRATCH.with_borrow_mut(|cur| {
        cur.clear();
        let flush = |cur: &mut LpWriter, w: &mut Writer| {
            if cur.is_empty() {
                return 0;
            }
            write_packed(w, cur);
            1
        };
        let mut it = l.iter();
        while let Some((e, within)) = it.next_with_tail() {
            if e.len() >= plain_at {
                nodes += flush(cur, w) + 1;
                w.len(CONTAINER_PLAIN);
                w.string(&e);
                continue;
            }
            let grow = e.len() + 11;
            let full = if fill < 0 {
                let idx = (fill.unsigned_abs() as usize).clamp(1, 5) - 1;
                cur.bytes_len() + grow > NODE_SIZES.get(idx).copied().unwrap_or(8192)
            } else {
                cur.len() >= fill as usize || cur.bytes_len() + grow > SIZE_SAFETY_LIMIT
            };
            if full {
                nodes += flush(cur, w);
            }
            cur.push_within(&e, within);
        }
        nodes += flush(cur, w);
        cur.trim(SCRATCH_BYTES);
    });
    w.patch_len(at, reserved, nodes);
}

fn bad(what: &str) -> RdbError {
    RdbError::corrupt(format!("{what} integrity check failed."))
}

/// Reads a value of RDB type `t` for `key`. `Ok(None)`: an empty collection, which Redis
/// skips when loading and refuses in RESTORE.
pub fn read_value(r: &mut Reader, t: u8, key: &[u8], lim: &Limits) -> Result<Option<Obj>, RdbError> {
    let o = match t {
        ty::STRING => Obj::new_str(key, &r.string()?),
        ty::LIST => {
            let n = r.count()?;
            let mut l = lim.new_list();
            for _ in 0..n {
                l.push_back(&r.string()?);
            }
            return Ok(list_obj(key, l));
        }
        ty::LIST_QUICKLIST | ty::LIST_QUICKLIST_2 => {
            let n = r.count()?;
            let mut l = lim.new_list();
            let mut app = l.appender();
            for node in 0..n {
                let container = if t == ty::LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    CONTAINER_PACKED
                };
                if container != CONTAINER_PLAIN && container != CONTAINER_PACKED {
                    return Err(bad("Quicklist"));
                }
                let data = r.string()?;
                if data.is_empty() {
                    return Err(RdbError::corrupt("Empty quicklist node"));
                }
                if container == CONTAINER_PLAIN {
                    app.push(&data, 0);
                    continue;
                }
                let elems = if t == ty::LIST_QUICKLIST_2 {
                    blob::listpack_decode(&data).ok_or_else(|| bad("Listpack"))?
                } else {
                    blob::ziplist_decode(&data).ok_or_else(|| bad("Ziplist"))?
                };
                // Nodes are made with room for what follows: more nodes, or the rest
                // of this one (its average element size times the elements left).
                let per = data.len() / elems.len().max(1);
                let mut left = elems.len();
                let mut digits = [0u8; 24];
                for e in elems {
                    left -= 1;
                    let more = if node + 1 < n { usize::MAX } else { per * left };
                    app.push(e.bytes(&mut digits), more);
                }
            }
            return Ok(list_obj(key, l));
        }
        ty::LIST_ZIPLIST => {
            let data = r.string()?;
            let elems = blob::ziplist_decode(&data).ok_or_else(|| bad("List ziplist"))?;
            let mut l = lim.new_list();
            let mut digits = [0u8; 24];
            for e in elems {
                l.push_back(e.bytes(&mut digits));
            }
            return Ok(list_obj(key, l));
        }
        ty::SET => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            // Borrowed from the input where they are stored as they are.
            let mut members = Vec::with_capacity(r.cap_hint(n));
            for _ in 0..n {
                members.push(r.string_cow()?);
            }
            let dup = || RdbError::corrupt("Duplicate set members detected");
            if n <= intset_max(lim) && members.iter().all(|m| as_int(m).is_some()) {
                let o = set_from(key, members.iter().map(|m| &m[..]), lim);
                if o.set().map(|s| s.len()) != Some(n) {
                    return Err(dup());
                }
                o
            } else if packs(n, members.iter().map(|m| m.len()).max().unwrap_or(0)) {
                let ms: Vec<&[u8]> = members.iter().map(|m| &m[..]).collect();
                if has_duplicate(ms.iter().copied(), n) {
                    return Err(dup());
                }
                packed_set(key, &ms)
            } else {
                // What adding them one by one would end with; decoded members' blocks
                // are kept.
                let mut d = Dict::with_capacity(n);
                for m in members {
                    let m = match m {
                        Cow::Borrowed(b) => Member::new(b),
                        Cow::Owned(v) => Member::from_vec(v),
                    };
                    if d.insert(m).is_some() {
                        return Err(dup());
                    }
                }
                Obj::new_value(key, Value::Set(d))
            }
        }
        ty::SET_INTSET => {
            let data = r.string()?;
            let vals = blob::intset_decode(&data).ok_or_else(|| bad("Intset"))?;
            if vals.len() <= intset_max(lim) {
                let mut is = IntSet::new();
                for v in vals {
                    is.insert(v);
                }
                Obj::new_inline(key, is.as_bytes(), Enc::IntSet)
            } else if packs(vals.len(), INT_DIGITS_MAX) {
                with_packed_ints(&vals, |lp| Obj::new_inline(key, lp, Enc::SetLp))
            } else {
                let mut d = Dict::with_capacity(vals.len());
                for v in vals {
                    d.insert_new(Member::from_vec(digits(v)));
                }
                Obj::new_value(key, Value::Set(d))
            }
        }
        ty::ZSET | ty::ZSET_2 => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            let mut items: Vec<(Vec<u8>, f64)> = Vec::with_capacity(r.cap_hint(n));
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == ty::ZSET_2 {
                    r.binary_double()?
                } else {
                    r.text_double()?
                };
                if s.is_nan() {
                    return Err(RdbError::corrupt("Zset with NAN score detected"));
                }
                items.push((m, s));
            }
            zset_obj(key, items, lim, false)?
        }
        ty::ZSET_ZIPLIST | ty::ZSET_LISTPACK => {
            let data = r.string()?;
            let elems = if t == ty::ZSET_LISTPACK {
                blob::listpack_decode(&data).ok_or_else(|| bad("Zset listpack"))?
            } else {
                blob::ziplist_decode(&data).ok_or_else(|| bad("Zset ziplist"))?
            };
            if elems.len() % 2 != 0 {
                return Err(bad("Zset listpack"));
            }
            let mut items = Vec::with_capacity(elems.len() / 2);
            for e in elems.chunks_exact(2) {
                let score = match e.get(1) {
                    Some(Elem::Int(v)) => *v as f64,
                    Some(Elem::Str(b)) => num::parse_f64(b).ok_or_else(|| bad("Zset listpack"))?,
                    None => return Err(bad("Zset listpack")),
                };
                if score.is_nan() {
                    return Err(RdbError::corrupt("Zset with NAN score detected"));
                }
                let member = e.first().map_or(blob::ElemBytes::Str(&[]), blob::ElemBytes::from);
                items.push((member, score));
            }
            if items.is_empty() {
                return Ok(None);
            }
            zset_obj(key, items, lim, true)?
        }
        ty::HASH => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            let mut pairs = Vec::with_capacity(r.cap_hint(n));
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                pairs.push((f, v));
            }
            let packed = n <= lim.hash_entries
                && pairs
                    .iter()
                    .all(|(f, v)| f.len() <= lim.hash_value && v.len() <= lim.hash_value);
            hash_obj(
                key,
                &flat_pairs(&pairs),
                packed,
                ("Hash with dup elements", "Duplicate hash fields detected"),
            )?
        }
        ty::HASH_ZIPMAP => {
            let data = r.string()?;
            let kv = blob::zipmap_decode(&data).ok_or_else(|| bad("Zipmap"))?;
            let longest = kv.iter().map(|(f, v)| f.len().max(v.len())).max().unwrap_or(0);
            let packed = kv.len() <= lim.hash_entries && longest <= lim.hash_value;
            let dup = "Hash zipmap with dup elements";
            hash_obj(key, &flat_pairs(&kv), packed, (dup, dup))?
        }
        ty::HASH_ZIPLIST | ty::HASH_LISTPACK => {
            let data = r.string()?;
            let elems = if t == ty::HASH_LISTPACK {
                blob::listpack_decode(&data).ok_or_else(|| bad("Hash listpack"))?
            } else {
                blob::ziplist_decode(&data).ok_or_else(|| bad("Hash ziplist"))?
            };
            if elems.len() % 2 != 0 {
                return Err(bad("Hash listpack"));
            }
            if elems.is_empty() {
                return Ok(None);
            }
            let mut digits = Vec::new();
            let vals = blob::elem_bytes(&elems, &mut digits);
            let packed = vals.len() / 2 <= lim.hash_entries;
            let dup = if t == ty::HASH_LISTPACK {
                ("Hash listpack integrity check failed.", "listpack with dup elements")
            } else {
                (
                    "Hash ziplist integrity check failed.",
                    "Hash ziplist integrity check failed.",
                )
            };
            hash_obj(key, &vals, packed, dup)?
        }
        ty::STREAM_LISTPACKS | ty::STREAM_LISTPACKS_2 => {
            Obj::new_value(key, Value::Stream(Box::new(super::stream::read(r, t)?)))
        }
        ty::MODULE_PRE_GA | ty::MODULE_2 => {
            return Err(RdbError::Unsupported("Module values are not supported".into()))
        }
        _ => return Err(RdbError::corrupt(format!("Unknown RDB encoding type {t}"))),
    };
    Ok(Some(o))
}

fn list_obj(key: &[u8], l: QuickList) -> Option<Obj> {
    (!l.is_empty()).then(|| Obj::new_value(key, Value::List(l)))
}

/// A sorted set from unordered pairs. `from_packed`: the source was a listpack/ziplist,
/// which stays a listpack unless the entry limit is passed (no member length check), as
/// Redis converts on load; otherwise both limits apply (zsetConvert after ZSET_2).
fn zset_obj<M: AsRef<[u8]>>(
    key: &[u8],
    mut items: Vec<(M, f64)>,
    lim: &Limits,
    from_packed: bool,
) -> Result<Obj, RdbError> {
    // Saved sets come in order already (Redis's listpacks and skiplists both keep it).
    let order = |a: &(M, f64), b: &(M, f64)| cmp_elem(a.1, a.0.as_ref(), b.1, b.0.as_ref());
    if !items.is_sorted_by(|a, b| order(a, b).is_le()) {
        items.sort_by(order);
    }
    if has_duplicate(items.iter().map(|(m, _)| m.as_ref()), items.len()) {
        return Err(RdbError::corrupt("Duplicate zset fields detected"));
    }
    let mut l = *lim;
    if from_packed && items.len() <= lim.zset_entries {
        l.zset_value = usize::MAX;
    }
    Ok(zset_from_sorted(key, &items, &l))
}

/// Whether the `n` byte strings of `it` hold one twice: compared pairwise when few (as
/// in the small collections most keys hold), else through a hash set.
fn has_duplicate<'a>(it: impl Iterator<Item = &'a [u8]> + Clone, n: usize) -> bool {
    if n <= 16 {
        // Length and last byte first: most pairs differ there, without a call to compare.
        let same = |a: &[u8], b: &[u8]| a.len() == b.len() && a.last() == b.last() && a == b;
        return it
            .clone()
            .enumerate()
            .any(|(i, a)| it.clone().skip(i + 1).any(|b| same(a, b)));
    }
    let mut seen = HashSet::with_capacity_and_hasher(n, ahash::RandomState::new());
    it.into_iter().any(|m| !seen.insert(m))
}

/// Pairs as one list of slices (field, value, field, value ...).
fn flat_pairs<T: AsRef<[u8]>>(pairs: &[(T, T)]) -> Vec<&[u8]> {
    pairs.iter().flat_map(|(f, v)| [f.as_ref(), v.as_ref()]).collect()
}

/// A hash of the fields and values in `vals` (field, value, field, value ...). `dup`:
/// what a duplicate field is reported as, when kept packed and when converted (Redis
/// detects them in different places depending on the source encoding).
fn hash_obj(key: &[u8], vals: &[&[u8]], packed: bool, dup: (&str, &str)) -> Result<Obj, RdbError> {
    let n = vals.len() / 2;
    if packed {
        if has_duplicate(vals.iter().step_by(2).copied(), n) {
            return Err(RdbError::corrupt(dup.0));
        }
        return Ok(Lp::with_encoded(vals, |lp| Obj::new_inline(key, lp, Enc::HashLp)));
    }
    let mut d = Dict::with_capacity(n);
    for p in vals.chunks_exact(2) {
        if let [f, v] = p {
            if d.insert(Pair::new(f, v)).is_some() {
                return Err(RdbError::corrupt(dup.1));
            }
        }
    }
    Ok(Obj::new_value(key, Value::Hash(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::persist::rdb::file::{load, serialize, Form, SaveOpts};

    fn lim() -> Limits {
        Limits::default()
    }

    /// Every type in every encoding, small and big.
    fn sample_db() -> Db {
        let l = lim();
        let mut db = Db::new(0);
        db.add(Obj::new_str(b"int", b"12345"), 0);
        db.add(Obj::new_str(b"neg", b"-9223372036854775808"), 0);
        db.add(Obj::new_str(b"emb", b"hello"), 0);
        db.add(Obj::new_str(b"raw", &b"abc".repeat(100)), 0);
        db.add(Obj::new_str(b"empty", b""), 0);
        let mut ql = QuickList::new(l.list_fill);
        for i in 0..5000 {
            ql.push_back(format!("elem-{i}").as_bytes());
        }
        ql.push_back(&vec![b'z'; 20000]);
        db.add(Obj::new_value(b"biglist", Value::List(ql)), 0);
        let mut ql = QuickList::new(l.list_fill);
        ql.push_back(b"1");
        ql.push_back(b"a");
        db.add(Obj::new_value(b"list", Value::List(ql)), 0);
        let ints: Vec<Vec<u8>> = (0..10).map(|i| (i * 70000 - 3).to_string().into_bytes()).collect();
        db.add(set_from(b"intset", ints.iter().map(|v| v.as_slice()), &l), 0);
        db.add(set_from(b"set", [&b"a"[..], b"b", b"1"], &l), 0);
        let many: Vec<Vec<u8>> = (0..1000).map(|i| i.to_string().into_bytes()).collect();
        db.add(set_from(b"bigintset", many.iter().map(|v| v.as_slice()), &l), 0);
        let small: Vec<(Vec<u8>, f64)> = vec![
            (b"a".to_vec(), 1.0),
            (b"b".to_vec(), 1.5),
            (b"c".to_vec(), f64::INFINITY),
        ];
        db.add(zset_from_sorted(b"zlp", &small, &l), 0);
        let mut big: Vec<(Vec<u8>, f64)> = (0..300)
            .map(|i| (format!("m{i}").into_bytes(), i as f64 / 3.0))
            .collect();
        big.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
        db.add(zset_from_sorted(b"zsl", &big, &l), 0);
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = vec![(b"f".to_vec(), b"1".to_vec()), (b"g".to_vec(), b"x".to_vec())];
        db.add(hash_obj(b"hlp", &flat_pairs(&pairs), true, ("", "")).unwrap(), 0);
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..600)
            .map(|i| (format!("f{i}").into_bytes(), vec![b'v'; i % 100]))
            .collect();
        db.add(hash_obj(b"hht", &flat_pairs(&pairs), false, ("", "")).unwrap(), 0);
        db.add(sample_stream(b"stream"), 0);
        db.add(Obj::new_value(b"emptystream", Value::Stream(Box::default())), 0);
        db.set_expire(b"emb", 10_000_000);
        db
    }

    /// A stream over several nodes, with tombstones, mixed field sets and a group with
    /// pending entries and an idle consumer.
    fn sample_stream(key: &[u8]) -> Obj {
        use crate::db::stream::{Consumer, Group, NodeLimits, Stream, StreamId};
        let lim = NodeLimits {
            max_bytes: 4096,
            max_entries: 7,
        };
        let mut s = Stream::new();
        for i in 1..=40u64 {
            let v = format!("{}", i * 1000);
            let pairs: Vec<(&[u8], &[u8])> = if i % 5 == 0 {
                vec![(b"other", v.as_bytes())]
            } else {
                vec![(b"f", v.as_bytes()), (b"g", b"text")]
            };
            s.add(StreamId::new(i, i % 3), &pairs, lim);
        }
        s.delete(&[StreamId::new(3, 0), StreamId::new(8, 2), StreamId::new(9, 0)]);
        s.last_id = StreamId::new(99, 9);
        let mut g = Group::new(StreamId::new(5, 2), 5);
        g.consumers.insert(b"alice".to_vec(), Consumer::new(1234));
        g.consumers.insert(b"idle".to_vec(), Consumer::new(99));
        g.deliver(StreamId::new(4, 1), b"alice", 777);
        g.deliver(StreamId::new(5, 2), b"alice", 778);
        s.groups.insert(b"grp".to_vec(), g);
        s.groups.insert(b"empty".to_vec(), Group::new(StreamId::MIN, -1));
        Obj::new_value(key, Value::Stream(Box::new(s)))
    }

    /// A stream's entries, metadata and groups as comparable lines.
    fn stream_canon(s: &crate::db::stream::Stream) -> Vec<Vec<u8>> {
        use crate::db::stream::StreamId;
        let mut v: Vec<Vec<u8>> = s
            .log
            .range(StreamId::MIN, StreamId::MAX)
            .map(|e| format!("{} {:?}", e.id, e.pairs().collect::<Vec<_>>()).into_bytes())
            .collect();
        v.push(format!("{} {} {} {}", s.last_id, s.first_id, s.max_deleted, s.entries_added).into_bytes());
        for (name, g) in &s.groups {
            let pel: Vec<_> = g
                .pel
                .iter()
                .map(|(id, n)| (*id, n.delivery_time, n.delivery_count, n.consumer.clone()))
                .collect();
            let cons: Vec<_> = g
                .consumers
                .iter()
                .map(|(n, c)| (n.clone(), c.seen_time, c.pel.clone()))
                .collect();
            v.push(format!("{name:?} {} {} {pel:?} {cons:?}", g.last_id, g.entries_read).into_bytes());
        }
        v
    }

    /// Each key's encoding, canonical contents (unordered types sorted) and expire time.
    type Canon = (Vec<u8>, String, Vec<Vec<u8>>, Option<i64>);

    fn dump_of(db: &Db) -> Vec<Canon> {
        let mut v: Vec<_> = db
            .iter()
            .map(|o| {
                let mut items: Vec<Vec<u8>> = match o.value() {
                    ValueRef::Str(s) => vec![s.to_vec()],
                    ValueRef::List(l) => l.iter().map(|e| e.into_owned()).collect(),
                    ValueRef::Set(s) => s.iter().map(|e| e.into_owned()).collect(),
                    ValueRef::Hash(h) => h.iter().map(|(f, v)| [f, b"=", v].concat()).collect(),
                    ValueRef::ZSet(z) => z.iter_from(0).map(|(m, s)| [m, &s.to_le_bytes()].concat()).collect(),
                    ValueRef::Stream(s) => stream_canon(s),
                };
                if matches!(o.value(), ValueRef::Set(_) | ValueRef::Hash(_)) {
                    items.sort();
                }
                (
                    o.key().to_vec(),
                    o.encoding_name().to_string(),
                    items,
                    db.get_expire(o.key()),
                )
            })
            .collect();
        v.sort();
        v
    }

    fn opts(compress: bool) -> SaveOpts {
        SaveOpts {
            ctime: 1,
            used_mem: 2,
            compress,
            checksum: true,
            autosync: false,
            redis_ver: "7.0.15",
            policy: crate::db::evict::Policy::NoEviction,
            now_ms: 0,
            lfu: crate::db::evict::Lfu {
                log_factor: 10,
                decay_time: 1,
            },
            functions: Vec::new(),
            repl: None,
            data: true,
            aof_base: false,
            form: Form::Rdb,
        }
    }

    #[test]
    fn packed_values_are_written_in_redis_layouts() {
        let l = lim();
        for vals in [
            vec![-3i64, 7, 300],
            vec![-70_000, 1, 70_000],
            vec![i64::MIN, 0, 1 << 40],
        ] {
            let members: Vec<Vec<u8>> = vals.iter().map(|v| v.to_string().into_bytes()).collect();
            let o = set_from(b"s", members.iter().map(|m| m.as_slice()), &l);
            let ValueRef::Set(crate::db::set::SetRef::Int(is)) = o.value() else {
                panic!("not an intset")
            };
            let (mut ours, mut want) = (Writer::new(false), Writer::new(false));
            write_value(&mut ours, &o);
            want.string(&blob::intset_encode(is.width(), vals.iter().copied()));
            assert_eq!(ours.buf, want.buf, "{vals:?}");
        }
        let fields: [&[u8]; 6] = [b"f", b"12", b"a-much-longer-field-name", b"-5", b"", b"v"];
        let o = hash_obj(b"h", &fields, true, ("", "")).unwrap();
        let (mut ours, mut want) = (Writer::new(false), Writer::new(false));
        write_value(&mut ours, &o);
        let mut lp = LpWriter::new();
        fields.iter().for_each(|f| lp.push(f));
        want.string(&lp.finish());
        assert_eq!(ours.buf, want.buf);
    }

    #[test]
    fn every_type_round_trips_through_a_file() {
        let db = sample_db();
        for compress in [false, true] {
            let bytes = serialize(std::slice::from_ref(&db), &opts(compress));
            let mut dbs = vec![Db::new(0), Db::new(1)];
            let st = load(&bytes, &mut dbs, 0, &lim(), true).unwrap();
            assert_eq!(st.keys_loaded as usize, db.len());
            assert!(dump_of(&db) == dump_of(&dbs[0]), "contents differ after a round trip");
            assert_eq!(dbs[0].get_expire(b"emb"), Some(10_000_000));
            // Expired on load: skipped.
            let mut dbs = vec![Db::new(0)];
            let st = load(&bytes, &mut dbs, 20_000_000, &lim(), true).unwrap();
            assert_eq!((st.keys_expired, dbs[0].len()), (1, db.len() - 1));
        }
    }

    /// Every value written in steps of a few elements reads back as the value, in every
    /// encoding (compressed list nodes too), with and without string compression.
    #[test]
    fn values_written_in_steps_read_back_whole() {
        let mut db = sample_db();
        let mut ql = QuickList::with_depth(-1, 1);
        for i in 0..3000 {
            ql.push_back(format!("compressed-node-element-{}", i % 50).as_bytes());
        }
        db.add(Obj::new_value(b"coldlist", Value::List(ql)), 0);
        db.add(Obj::new_str(b"long", &b"0123456789abcdef".repeat(5000)), 0);
        for (compress, budget) in [(false, 1), (true, 3), (true, 1000)] {
            let mut back = Db::new(0);
            let mut steps = 0;
            for o in db.iter() {
                let o = &mut o.clone_as(o.key());
                let mut w = Writer::new_deferred(compress);
                w.byte(type_of(o));
                if let Some(mut at) = value_begin(&mut w, o) {
                    while !value_step(&mut w, o, &mut at, budget).unwrap() {
                        steps += 1;
                    }
                } else {
                    write_value(&mut w, o);
                }
                if let Some(v) = read_back(w, o.key(), compress) {
                    back.add(v, 0);
                }
            }
            back.set_expire(b"emb", 10_000_000);
            assert!(budget > 100 || steps > 500, "{steps}");
            assert!(dump_of(&db) == dump_of(&back), "compress {compress}, budget {budget}");
        }
    }

    /// Writes between the steps of a value saved in steps (each pinning it first, as the
    /// snapshot does) leave the file holding the value as it was at its start.
    #[test]
    fn values_written_in_steps_despite_writes_between_steps() {
        let l = lim();
        let db = sample_db();
        for budget in [1, 7, 100] {
            let mut back = Db::new(0);
            let mut writes = 0;
            for o in db.iter() {
                let o = &mut o.clone_as(o.key());
                let mut w = Writer::new_deferred(false);
                w.byte(type_of(o));
                let Some(mut at) = value_begin(&mut w, o) else {
                    write_value(&mut w, o);
                    if let Some(v) = read_back(w, o.key(), false) {
                        back.add(v, 0);
                    }
                    continue;
                };
                let mut step = 0u32;
                while !value_step(&mut w, o, &mut at, budget).unwrap() {
                    step += 1;
                    if step < 3 {
                        continue;
                    }
                    value_pin(o, &mut at);
                    let e = format!("written-{step}");
                    if let Some(mut z) = o.zset_mut(&l) {
                        let old = format!("m{}", step * 3 % 200);
                        z.remove(old.as_bytes());
                        z.insert(e.as_bytes(), f64::from(step % 5));
                        z.insert(format!("m{}", step * 7 % 200).as_bytes(), -f64::from(step));
                    } else if let Some(mut h) = o.hash_mut(&l) {
                        h.set(e.as_bytes(), b"v");
                    } else if let Some(mut st) = o.set_mut(&l) {
                        st.add(e.as_bytes());
                    } else if let Some(Value::List(q)) = o.heap_mut() {
                        q.push_front(e.as_bytes());
                        let mid = q.len() / 2;
                        q.set(mid, e.as_bytes());
                        drop(q.pop_back());
                    } else {
                        continue;
                    }
                    writes += 1;
                }
                if let Some(v) = read_back(w, o.key(), false) {
                    back.add(v, 0);
                }
            }
            back.set_expire(b"emb", 10_000_000);
            assert!(writes > 5, "{writes}");
            assert!(dump_of(&db) == dump_of(&back), "budget {budget}");
        }
    }

    /// A list's node count is written after its nodes: whether it takes the room our own
    /// node count suggested or less or more, direct and deferred writers agree, the
    /// node count is the number of nodes written, and the list reads back whole.
    #[test]
    fn lists_write_their_node_count_after_their_nodes() {
        use crate::ds::quicklist::QuickList;
        // (our fill, the fill saved with, elements): the same room, less (1, -2) and more.
        let cases: [(i32, i32, usize); 7] = [
            (-2, -2, 1),
            (-2, -2, 63),
            (-2, -2, 200),
            (-2, -2, 40_000),
            (1, -2, 100),
            (100, 2, 300),
            (-5, 1, 100),
        ];
        for (ours, saved, n) in cases {
            let mut l = QuickList::new(ours);
            for i in 0..n {
                let e = if i % 3 == 0 {
                    i.to_string()
                } else {
                    format!("element:{i}:{}", "x".repeat(i % 40))
                };
                l.push_back(e.as_bytes());
            }
            l.set_fill(saved);
            let mut direct = Writer::new(true);
            let mut deferred = Writer::new_deferred(true);
            direct.bytes(b"head");
            deferred.bytes(b"head");
            write_list(&mut direct, &l);
            write_list(&mut deferred, &l);
            direct.string(b"a string after it, long enough to be compressed");
            deferred.string(b"a string after it, long enough to be compressed");
            let spans = deferred.deferred.take().unwrap();
            let mut out = Writer::new(true);
            assert!(super::super::prim::encode_deferred(&deferred.buf, &spans, &mut out));
            assert!(out.buf == direct.buf, "fill {ours}/{saved}, {n} elements");
            let mut r = Reader::new(&direct.buf[4..]);
            let nodes = r.len().unwrap();
            let mut back = lim().new_list();
            for _ in 0..nodes {
                assert_eq!(r.len().unwrap(), CONTAINER_PACKED);
                let lp = r.string().unwrap();
                let mut digits = [0u8; 24];
                for e in blob::listpack_decode(&lp).unwrap() {
                    back.push_back(e.bytes(&mut digits));
                }
            }
            assert_eq!(r.string().unwrap(), b"a string after it, long enough to be compressed");
            assert!(back.iter().eq(l.iter()), "fill {ours}/{saved}, {n} elements");
            if saved == 1 {
                assert_eq!(nodes as usize, n);
            }
        }
    }

    /// The value a deferred writer holds, read back (None: an empty one).
    fn read_back(mut w: Writer, key: &[u8], compress: bool) -> Option<Obj> {
        let spans = w.deferred.take().unwrap();
        let mut out = Writer::new(compress);
        assert!(super::super::prim::encode_deferred(&w.buf, &spans, &mut out));
        let mut r = Reader::new(&out.buf);
        let t = r.byte().unwrap();
        read_value(&mut r, t, key, &lim()).unwrap()
    }

    /// A ZSET_LISTPACK value holding `pairs` (member, score text) in the order given.
    fn zset_listpack(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut lp = blob::LpWriter::new();
        for (m, s) in pairs {
            lp.push(m.as_bytes());
            lp.push(s.as_bytes());
        }
        let mut w = Writer::new(false);
        w.string(&lp.finish());
        w.buf
    }

    fn zset_pairs(o: &Obj) -> Vec<(Vec<u8>, f64)> {
        let ValueRef::ZSet(z) = o.value() else {
            panic!("not a zset")
        };
        z.iter_from(0).map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn packed_zsets_load_in_order_whatever_order_they_were_saved_in() {
        let sorted = [("a", "1"), ("c", "1"), ("b", "2.5"), ("7", "3"), ("z", "1e3")];
        let want: Vec<(Vec<u8>, f64)> = [("a", 1.0), ("c", 1.0), ("b", 2.5), ("7", 3.0), ("z", 1000.0)]
            .iter()
            .map(|&(m, s)| (m.as_bytes().to_vec(), s))
            .collect();
        let shuffled = [sorted[3], sorted[0], sorted[4], sorted[2], sorted[1]];
        for pairs in [&sorted, &shuffled] {
            let bytes = zset_listpack(pairs);
            let o = read_value(&mut Reader::new(&bytes), ty::ZSET_LISTPACK, b"z", &lim())
                .unwrap()
                .unwrap();
            assert_eq!(o.encoding_name(), "listpack");
            assert_eq!(zset_pairs(&o), want);
            // The same bytes as the set built from its sorted pairs.
            assert_eq!(o.payload(), zset_from_sorted(b"z", &want, &lim()).payload());
        }
        let dup = zset_listpack(&[("a", "1"), ("b", "2"), ("a", "3")]);
        assert!(read_value(&mut Reader::new(&dup), ty::ZSET_LISTPACK, b"z", &lim()).is_err());
    }

    #[test]
    fn encodings_follow_the_limits_on_load() {
        let db = sample_db();
        let bytes = serialize(std::slice::from_ref(&db), &opts(true));
        let small = Limits {
            hash_entries: 1,
            set_intset_entries: 2,
            zset_entries: 1,
            ..lim()
        };
        let mut dbs = vec![Db::new(0)];
        load(&bytes, &mut dbs, 0, &small, true).unwrap();
        for (k, enc) in [
            ("hlp", "hashtable"),
            ("intset", "hashtable"),
            ("zlp", "skiplist"),
            ("list", "quicklist"),
        ] {
            assert_eq!(dbs[0].peek(k.as_bytes(), 0).unwrap().encoding_name(), enc, "{k}");
        }
    }

    #[test]
    fn checksum_and_truncation_are_detected() {
        let db = sample_db();
        let mut bytes = serialize(std::slice::from_ref(&db), &opts(true));
        for cut in [0, 5, 9, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut dbs = vec![Db::new(0)];
            assert!(load(&bytes[..cut], &mut dbs, 0, &lim(), true).is_err(), "cut {cut}");
        }
        let n = bytes.len();
        bytes[n - 20] ^= 0x55;
        let mut dbs = vec![Db::new(0)];
        assert!(load(&bytes, &mut dbs, 0, &lim(), true).is_err());
    }

    #[test]
    fn duplicates_are_found_among_few_and_many() {
        for n in [2usize, 3, 16, 17, 200] {
            let mut v: Vec<Vec<u8>> = (0..n).map(|i| format!("m{i}").into_bytes()).collect();
            assert!(!has_duplicate(v.iter().map(|m| m.as_slice()), n), "{n}");
            v[n - 1] = v[n / 2 - 1].clone();
            assert!(has_duplicate(v.iter().map(|m| m.as_slice()), n), "{n}");
        }
    }

    #[test]
    fn saved_sets_load_in_the_encoding_adding_their_members_gives() {
        let set_bytes = |members: &[&str]| {
            let mut w = Writer::new(false);
            w.len(members.len() as u64);
            members.iter().for_each(|m| w.string(m.as_bytes()));
            w.buf
        };
        let small = Limits {
            set_intset_entries: 3,
            ..lim()
        };
        let many: Vec<String> = (0..129).map(|i| format!("m{i}")).collect();
        let many: Vec<&str> = many.iter().map(|m| m.as_str()).collect();
        let long = "x".repeat(65);
        let ints: Vec<String> = (0..129).map(|i| i.to_string()).collect();
        let ints: Vec<&str> = ints.iter().map(|m| m.as_str()).collect();
        let normal = lim();
        for (members, l, enc, packed) in [
            (&["1", "2", "3"][..], &small, "intset", true),
            (&["1", "2", "3", "4"], &small, "hashtable", true),
            (&["1", "x", "3"], &small, "hashtable", true),
            (&["x", "1"], &small, "hashtable", true),
            (&["01", "2"], &small, "hashtable", true),
            (&many[..128], &normal, "hashtable", true),
            (&many, &normal, "hashtable", false),
            (&["a", long.as_str()], &normal, "hashtable", false),
            (&ints[..128], &small, "hashtable", true),
            (&ints, &small, "hashtable", false),
        ] {
            let o = read_value(&mut Reader::new(&set_bytes(members)), ty::SET, b"s", l)
                .unwrap()
                .unwrap();
            assert_eq!(o.encoding_name(), enc, "{members:?}");
            let added = set_from(b"s", members.iter().map(|m| m.as_bytes()), l);
            assert_eq!(o.enc(), added.enc(), "{members:?}");
            assert_eq!(o.enc() != Enc::Heap, packed, "{members:?}");
            let ValueRef::Set(s) = o.value() else {
                panic!("not a set")
            };
            let mut got: Vec<Vec<u8>> = s.iter().map(|m| m.into_owned()).collect();
            got.sort();
            let mut want: Vec<Vec<u8>> = members.iter().map(|m| m.as_bytes().to_vec()).collect();
            want.sort();
            assert_eq!(got, want);
        }
        // Intsets past the limit: packed while they fit, as adding a member would leave them.
        for (n, enc) in [(3usize, Enc::IntSet), (5, Enc::SetLp), (129, Enc::Heap)] {
            let mut w = Writer::new(false);
            w.string(&blob::intset_encode(2, (0..n as i32).map(i64::from)));
            let o = read_value(&mut Reader::new(&w.buf), ty::SET_INTSET, b"s", &small)
                .unwrap()
                .unwrap();
            assert_eq!((o.enc(), o.set().map(|s| s.len())), (enc, Some(n)));
            assert!(o.set().is_some_and(|s| s.contains(b"2") && !s.contains(b"x")));
        }
        for members in [
            &["1", "2", "1"][..],
            &["a", "b", "a"],
            &["1", "a", "1"],
            &["a", "b", "c", "d", "e", "b"],
        ] {
            let e = read_value(&mut Reader::new(&set_bytes(members)), ty::SET, b"s", &small).err();
            assert!(
                e.is_some_and(|e| e.to_string().contains("Duplicate set members")),
                "{members:?}"
            );
        }
    }

    /// A key found twice in one db fails the load, whether its copies follow each other
    /// or not (entries are added to their tables one entry late); the same key in two
    /// dbs is two keys.
    #[test]
    fn a_key_saved_twice_in_one_db_fails_the_load() {
        let one = |key: &[u8], id: usize| {
            let mut db = Db::new(id);
            db.add(Obj::new_str(key, b"value"), 0);
            db
        };
        // The bytes of the entry: between the RESIZEDB sizes and EOF, without checksum.
        let file = |dbs: &[Db]| {
            let o = SaveOpts {
                checksum: false,
                ..opts(false)
            };
            serialize(dbs, &o)
        };
        let base = file(&[one(b"k", 0)]);
        let entry_of = |key: &[u8]| {
            let f = file(&[one(key, 0)]);
            let at = f
                .windows(key.len() + 1)
                .rposition(|w| w[0] as usize == key.len() && w[1..] == *key)
                .unwrap()
                - 1;
            f[at..f.len() - 9].to_vec()
        };
        let head = &base[..base.len() - 9 - entry_of(b"k").len()];
        let tail = &base[base.len() - 9..];
        for keys in [&[&b"k"[..], b"k"][..], &[b"k", b"m", b"k"], &[b"a", b"b", b"c", b"b"]] {
            let mut f = head.to_vec();
            keys.iter().for_each(|k| f.extend(entry_of(k)));
            f.extend_from_slice(tail);
            let mut dbs = vec![Db::new(0)];
            let err = load(&f, &mut dbs, 0, &lim(), true).unwrap_err();
            let dup = keys
                .iter()
                .rev()
                .find(|k| keys.iter().filter(|o| o == k).count() > 1)
                .unwrap();
            let want = format!("RDB has duplicated key '{}' in DB 0", String::from_utf8_lossy(dup));
            assert!(matches!(&err, RdbError::Corrupt(t) if *t == want), "{err:?}");
        }
        let mut dbs = vec![Db::new(0), Db::new(1)];
        let st = load(&file(&[one(b"k", 0), one(b"k", 1)]), &mut dbs, 0, &lim(), true).unwrap();
        assert_eq!((st.keys_loaded, dbs[0].len(), dbs[1].len()), (2, 1, 1));
    }

    #[test]
    fn corrupt_input_never_panics() {
        use rand::{Rng, SeedableRng};
        let db = sample_db();
        let mut w = Writer::new(false);
        let mut payloads = Vec::new();
        for o in db.iter() {
            w.buf.clear();
            w.byte(type_of(o));
            write_value(&mut w, o);
            payloads.push(w.buf.clone());
        }
        // Old encodings too, as far as we can build them here.
        payloads.push(vec![ty::HASH_ZIPMAP, 9, 1, 1, b'f', 2, 1, b'v', b'w', 0, 0xFF]);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let mut p = payloads[rng.random_range(0..payloads.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                let i = rng.random_range(0..p.len());
                match rng.random_range(0..3) {
                    0 => p[i] = rng.random(),
                    1 => p[i] ^= 1 << rng.random_range(0..8),
                    _ => p.truncate(i.max(1)),
                }
            }
            let mut r = Reader::new(&p);
            if let Ok(t) = r.byte() {
                let _ = read_value(&mut r, t, b"k", &lim());
            }
        }
        let file = serialize(std::slice::from_ref(&db), &opts(true));
        for _ in 0..300 {
            let mut f = file.clone();
            let i = rng.random_range(0..f.len());
            f[i] = rng.random();
            let mut dbs = vec![Db::new(0)];
            let _ = load(&f, &mut dbs, 0, &lim(), false);
        }
    }

    #[test]
    fn scores_print_like_d2string() {
        let text = |v| {
            let mut b = Vec::new();
            score_text(v, &mut b);
            b
        };
        assert_eq!(text(1.0), b"1");
        assert_eq!(text(-0.0), b"-0");
        assert_eq!(text(1.5), b"1.5");
        assert_eq!(text(f64::NEG_INFINITY), b"-inf");
        assert_eq!(text(1e300), b"1.0000000000000001e+300");
        // Whole scores go in as the integers their text would be parsed back to.
        for v in [
            1.0,
            -7.0,
            0.0,
            -0.0,
            1.5,
            4e18,
            5e18,
            -5e18,
            1e300,
            f64::INFINITY,
            123456789.0,
        ] {
            let (mut direct, mut parsed) = (LpWriter::new(), LpWriter::new());
            push_zset_pairs(&mut direct, [(&b"m"[..], v)].into_iter());
            parsed.push(b"m");
            parsed.push(&text(v));
            assert_eq!(direct.finish(), parsed.finish(), "{v}");
        }
    }
}
