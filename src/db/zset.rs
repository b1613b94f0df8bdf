//! Sorted-set values: small ones are a listpack packed in the keyspace entry
//! (`listpack`: member, score (`LpScore`), ... in (score, member) order), large ones a
//! member→score `Dict` plus a ranked `ZTree` (`skiplist`). Both answer the same rank- and
//! range-based queries; `ZSetMut` converts past Redis's limits (never back).
use std::cmp::Ordering;

use rand::Rng;

use super::obj::{Enc, Obj, PackedMut};
use super::value::{Limits, Value, ValueRef};
use crate::ds::dash::DashKey;
use crate::ds::dict::Dict;
use crate::ds::ibytes::IBytes;
use crate::ds::listpack::{Lp, LpIter, LpRef};
use crate::ds::ztree::ZTree;
pub use crate::ds::ztree::{LexBound, ScoreBound};

/// A member and its score in one allocation: `[score: f64 LE][member]`, inside its table
/// node when the member is at most 7 bytes (see `IBytes`).
#[derive(Clone, PartialEq)]
pub struct ZMember(IBytes);

impl ZMember {
    /// Active defragmentation of its block, if it has one.
    pub fn defrag(&mut self, d: &mut crate::ds::defrag::Defrag) {
        self.0.defrag(d);
    }

    fn new(member: &[u8], score: f64) -> Self {
        ZMember(IBytes::concat(&[&score.to_le_bytes(), member]))
    }

    pub fn member(&self) -> &[u8] {
        self.0.as_bytes().get(8..).unwrap_or_default()
    }

    pub fn score(&self) -> f64 {
        match self.0.as_bytes().get(..8).map(<[u8; 8]>::try_from) {
            Some(Ok(a)) => f64::from_le_bytes(a),
            _ => 0.0,
        }
    }

    /// Writes the score alone (the tree may point at the member after it).
    fn set_score(&mut self, s: f64) {
        if let Some(h) = self.0.prefix_mut(8).get_mut(..8) {
            h.copy_from_slice(&s.to_le_bytes());
        }
    }
}

impl DashKey for ZMember {
    #[inline]
    fn key(&self) -> &[u8] {
        self.member()
    }
}

/// Whole-number scores below this magnitude are kept as integers in a listpack (exact in an
/// f64, and at most 7 bytes).
const LP_INT_SCORE_LIMIT: f64 = (1u64 << 53) as f64;

/// Powers of ten exact in an f64, for the decimal form of listpack scores.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A listpack score entry, by its bytes:
/// - 8 bytes: the f64 itself;
/// - 2 to 6 bytes ending in a 0 byte whose previous byte is below 0x80 (an integer written
///   with one byte more than it needs, which the integer form never is): a decimal, the
///   little-endian `p = m << 5 | negative << 4 | k` standing for `±m / 10^k` (k in 1..=15);
/// - fewer than 8 bytes otherwise: a whole number as a little-endian two's complement
///   integer of that many bytes (none: 0).
#[inline]
fn decode_score(b: &[u8]) -> f64 {
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return f64::from_le_bytes(a);
    }
    let n = b.len();
    let Some(&last) = b.last() else {
        return 0.0;
    };
    // Assembled in a register (a copy into an array and one wide load of it stalls).
    let mut u = 0u64;
    for (j, &x) in b.iter().take(7).enumerate() {
        u |= u64::from(x) << (8 * j);
    }
    let unused = 64 - 8 * n.min(7) as u32;
    let i = ((u << unused) as i64) >> unused;
    if last == 0 && n >= 2 && b.get(n - 2).is_some_and(|&x| x < 0x80) {
        let p = i as u64;
        let k = (p & 15) as usize;
        let v = (p >> 5) as f64 / POW10.get(k).copied().unwrap_or(1.0);
        return if p & 16 != 0 { -v } else { v };
    }
    i as f64
}

/// A score as the listpack encoding keeps it (see `decode_score`): whole numbers in as few
/// bytes as hold them, as Redis's listpack keeps them as integers (game scores, timestamps
/// and geohashes take 1 to 7 bytes instead of 8), and short decimals (ratings, prices,
/// halves: 4.7, 19.99, 148.5) in 2 to 6 bytes, where Redis keeps their text. Redis compat:
/// t_zset.c zzlInsertAt stores a whole-number score as an integer, so -0 comes back as 0
/// there (the skiplist encoding keeps the sign).
struct LpScore([u8; 8], usize);

impl LpScore {
    #[inline]
    fn new(s: f64) -> Self {
        if s.fract() == 0.0 && s.abs() < LP_INT_SCORE_LIMIT {
            let i = s as i64;
            // The fewest low bytes that sign-extend back to i (none for 0).
            let sext = |n: u32| if n == 0 { 0 } else { (i << (64 - 8 * n)) >> (64 - 8 * n) };
            let n = (0..8).find(|&n| sext(n) == i).unwrap_or(8);
            return LpScore(i.to_le_bytes(), n as usize);
        }
        if let Some(e) = Self::decimal(s) {
            return e;
        }
        LpScore(s.to_le_bytes(), 8)
    }

    /// The decimal form of a fractional score, when one of at most 6 bytes gives it back
    /// exactly: the first k whose `round(|s| * 10^k) / 10^k` is |s| (both operands exact, so
    /// the quotient is the f64 nearest the decimal, as parsing its text gives).
    fn decimal(s: f64) -> Option<Self> {
        if !s.is_finite() {
            return None;
        }
        let a = s.abs();
        for (k, &p) in POW10.iter().enumerate().skip(1) {
            let x = a * p;
            if x >= LP_INT_SCORE_LIMIT {
                return None;
            }
            let m = (x + 0.5) as u64 as f64;
            // Only a product within a few units in the last place of a whole number can
            // be one (the division confirms it).
            if (x - m).abs() <= x * 1e-15 && m / p == a {
                let v = (m as u64) << 5 | u64::from(s < 0.0) << 4 | k as u64;
                // Payload bytes keeping the top bit of the last one clear, then the 0 byte.
                let n = (64 - v.leading_zeros() as usize) / 8 + 2;
                // 7 would save one byte for a division on every read: not worth it.
                return (n <= 6).then(|| LpScore(v.to_le_bytes(), n));
            }
        }
        None
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        self.0.get(..self.1).unwrap_or_default()
    }
}

/// (score, member) order. Scores are never NaN.
#[inline]
pub fn cmp_elem(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

fn score_ge_min(s: f64, min: &ScoreBound) -> bool {
    if min.exclusive {
        s > min.value
    } else {
        s >= min.value
    }
}

fn score_le_max(s: f64, max: &ScoreBound) -> bool {
    if max.exclusive {
        s < max.value
    } else {
        s <= max.value
    }
}

fn lex_ge_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Incl(b) => m >= *b,
        LexBound::Excl(b) => m > *b,
    }
}

fn lex_le_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Incl(b) => m <= *b,
        LexBound::Excl(b) => m < *b,
    }
}

/// A large sorted set: each member once, in `dict` with its score; `tree` orders them and
/// points at the bytes of the members longer than `ztree::INLINE` in their `ZMember` blocks.
/// Those blocks are only freed by removing the pair from both, and only moved by active
/// defragmentation, which repoints the tree; everything that changes the set goes through
/// here.
#[derive(Default)]
pub struct ZSetFull {
    dict: Dict<ZMember>,
    tree: ZTree,
}

// A member kept inline in its `ZMember` (score and member within `ibytes::INLINE`) is short
// enough for the tree to keep a copy: the tree never points into a table node, which moves.
const _: () = assert!(crate::ds::ibytes::INLINE - 8 <= crate::ds::ztree::INLINE);

impl Clone for ZSetFull {
    fn clone(&self) -> Self {
        // The copy's tree points at the copy's members.
        let mut z = ZSetFull::default();
        z.dict.reserve(self.len());
        for (s, m) in self.tree.iter() {
            z.insert(m, s);
        }
        z
    }
}

impl ZSetFull {
    /// The member table (member to score).
    pub fn dict(&self) -> &Dict<ZMember> {
        &self.dict
    }

    /// The ranked order.
    pub fn tree(&self) -> &ZTree {
        &self.tree
    }

    /// A point-in-time save of the members from now (see `Dict::snap_begin`).
    pub fn snap_begin(&mut self) {
        self.dict.snap_begin();
    }

    pub fn in_snap(&self) -> bool {
        self.dict.in_snap()
    }

    /// Hands out about `min` more members of the save (see `Dict::snap_step`).
    pub fn snap_step<F: FnMut(&ZMember)>(&mut self, min: usize, f: F) -> bool {
        self.dict.snap_step(min, f)
    }

    pub fn snap_end(&mut self) {
        self.dict.snap_end();
    }

    /// Active defragmentation of the member table from bucket `pos` (see `Dict::defrag_step`):
    /// a block the tree points at is moved through the tree, which then points at its new
    /// place (Redis compat: defrag.c activeDefragZsetEntry).
    pub fn defrag_dict_step(&mut self, pos: usize, budget: usize, d: &mut crate::ds::defrag::Defrag) -> Option<usize> {
        let ZSetFull { dict, tree } = self;
        dict.defrag_step(pos, budget, d, |m, d| {
            let slot = tree.slot(m.score(), m.member());
            m.defrag(d);
            if let Some(slot) = slot {
                // Safety: the member's bytes, moved whole (or not at all) to a block `m`
                // keeps as it kept the old one.
                unsafe { slot.point_at(m.member()) };
            }
        })
    }

    /// Active defragmentation of the tree's nodes.
    pub fn defrag_tree(&mut self, d: &mut crate::ds::defrag::Defrag) {
        self.tree.defrag(d);
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Heap bytes, members' own blocks estimated from `samples` of them (0: all; see
    /// `Value::mem_usage_sampled`).
    pub fn mem_usage_sampled(&self, samples: usize) -> usize {
        let members = super::value::sampled(self.len(), samples, self.dict.iter().map(|m| m.0.heap_bytes()));
        self.dict.mem_usage() + members + self.tree.mem_usage()
    }

    /// Moves a resize of its member table along (see `Dict::rehash_steps`).
    pub fn rehash_steps(&mut self, steps: usize) {
        self.dict.rehash_steps(steps);
    }

    fn insert(&mut self, m: &[u8], s: f64) {
        // The look-up that found it absent, then the add: each moves a resize along,
        // as Redis's dictFind and dictAdd do (t_zset.c zsetAdd).
        self.dict.rehash_steps(1);
        let e = ZMember::new(m, s);
        // Safety: a member longer than ztree::INLINE is in `e`'s block (see the assertion
        // after `ZSetFull`), which moves into the dict with `e` and stays there, unchanged
        // but for its score, until `remove` or `remove_rank_range` takes the pair out of the
        // tree first or with it.
        unsafe { self.tree.insert(s, e.member()) };
        self.dict.insert_new(e);
    }
}

/// A new empty sorted set, in the encoding a first member of `mlen` bytes calls for.
/// Redis compat: t_zset.c zsetTypeCreate.
pub fn new_zset(key: &[u8], size_hint: usize, mlen: usize, lim: &Limits) -> Obj {
    if lim.zset_entries == 0 || size_hint > lim.zset_entries || mlen > lim.zset_value {
        Obj::new_value(key, Value::ZSet(ZSetFull::default()))
    } else {
        Obj::new_inline(key, Lp::new().as_bytes(), Enc::ZsetLp)
    }
}

/// A sorted set holding `items` (already in (score, member) order, members distinct),
/// in the encoding its size and longest member call for. Redis compat: t_zset.c
/// zsetConvertToListpackIfNeeded after ZUNIONSTORE and friends.
pub fn zset_from_sorted<M: AsRef<[u8]>>(key: &[u8], items: &[(M, f64)], lim: &Limits) -> Obj {
    let longest = items.iter().map(|(m, _)| m.as_ref().len()).max().unwrap_or(0);
    if items.len() <= lim.zset_entries && longest <= lim.zset_value {
        let pairs = |push: &mut dyn FnMut(&[u8])| {
            for (m, s) in items {
                push(m.as_ref());
                push(LpScore::new(*s).bytes());
            }
        };
        return Lp::with_built(items.len() * 2, pairs, |lp| Obj::new_inline(key, lp, Enc::ZsetLp));
    }
    let mut z = ZSetFull::default();
    z.dict.reserve(items.len());
    for (m, s) in items {
        z.insert(m.as_ref(), *s);
    }
    Obj::new_value(key, Value::ZSet(z))
}

#[derive(Clone, Copy)]
pub enum ZSetRef<'a> {
    Lp(LpRef<'a>),
    Full(&'a ZSetFull),
}

/// Listpack pairs as (member, score), from the first (listpacks walk forward only).
fn lp_pairs(l: LpRef<'_>) -> LpPairs<'_> {
    LpPairs(l.iter())
}

/// Listpack pairs from rank `r` (the ones before skipped without decoding their scores).
fn lp_pairs_from(l: LpRef<'_>, r: usize) -> LpPairs<'_> {
    let mut it = l.iter();
    if let Some(k) = r.checked_mul(2).and_then(|k| k.checked_sub(1)) {
        it.nth(k);
    }
    LpPairs(it)
}

struct LpPairs<'a>(LpIter<'a>);

impl<'a> LpPairs<'a> {
    /// Byte offset of the next pair.
    fn offset(&self) -> usize {
        self.0.offset()
    }
}

impl<'a> Iterator for LpPairs<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let m = self.0.next()?;
        let s = self.0.next()?;
        Some((m, decode_score(s)))
    }
}

impl<'a> ZSetRef<'a> {
    pub fn len(&self) -> usize {
        match self {
            ZSetRef::Lp(l) => l.len() / 2,
            ZSetRef::Full(z) => z.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_packed(&self) -> bool {
        matches!(self, ZSetRef::Lp(_))
    }

    /// Whether its member table is being resized (a look-up should move it along).
    pub fn rehashing(&self) -> bool {
        matches!(self, ZSetRef::Full(z) if z.dict.is_rehashing())
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match *self {
            ZSetRef::Lp(l) => l.find_pair(m).map(|p| decode_score(p.value)),
            ZSetRef::Full(z) => z.dict.get(m).map(|e| e.score()),
        }
    }

    /// 0-based ascending rank of a member.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match *self {
            ZSetRef::Lp(l) => lp_pairs(l).position(|(x, _)| x == m),
            ZSetRef::Full(z) => {
                let s = z.dict.get(m)?.score();
                z.tree.rank(s, m)
            }
        }
    }

    /// Ascending from rank `r`.
    pub fn iter_from(&self, r: usize) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            ZSetRef::Lp(l) => Box::new(lp_pairs_from(l, r)),
            ZSetRef::Full(z) => Box::new(z.tree.iter_from(r).map(|(s, m)| (m, s))),
        }
    }

    /// Descending from rank `r` (ranks count from the lowest), at most `n` elements.
    pub fn iter_rev_from(&self, r: usize, n: usize) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            ZSetRef::Lp(l) => {
                // Listpacks walk forward only: the ranks wanted are collected, then reversed.
                let r = r.min((l.len() / 2).saturating_sub(1));
                let lo = (r + 1).saturating_sub(n);
                let pairs: Vec<_> = lp_pairs_from(l, lo).take(r + 1 - lo).collect();
                Box::new(pairs.into_iter().rev())
            }
            ZSetRef::Full(z) => Box::new(z.tree.iter_rev_from(r).map(|(s, m)| (m, s)).take(n)),
        }
    }

    pub fn get_by_rank(&self, r: usize) -> Option<(&'a [u8], f64)> {
        self.iter_from(r).next()
    }

    /// Rank of the first element with score in range of `min`; len() if none.
    pub fn first_in_score(&self, min: &ScoreBound) -> usize {
        match *self {
            ZSetRef::Lp(l) => lp_pairs(l)
                .position(|(_, s)| score_ge_min(s, min))
                .unwrap_or(l.len() / 2),
            ZSetRef::Full(z) => z.tree.first_in_score(ScoreBound {
                value: min.value,
                exclusive: min.exclusive,
            }),
        }
    }

    /// Number of elements with score within `max`.
    pub fn count_le_score(&self, max: &ScoreBound) -> usize {
        match *self {
            // Every score is within an inclusive +inf (a top-N read's usual bound): no walk.
            ZSetRef::Lp(l) if max.value == f64::INFINITY && !max.exclusive => l.len() / 2,
            ZSetRef::Lp(l) => lp_pairs(l).take_while(|(_, s)| score_le_max(*s, max)).count(),
            ZSetRef::Full(z) => z.tree.count_le_score(ScoreBound {
                value: max.value,
                exclusive: max.exclusive,
            }),
        }
    }

    pub fn first_in_lex(&self, min: &LexBound) -> usize {
        match *self {
            ZSetRef::Lp(l) => lp_pairs(l).position(|(m, _)| lex_ge_min(m, min)).unwrap_or(l.len() / 2),
            ZSetRef::Full(z) => z.tree.first_in_lex(min),
        }
    }

    pub fn count_le_lex(&self, max: &LexBound) -> usize {
        match *self {
            ZSetRef::Lp(l) => lp_pairs(l).take_while(|(m, _)| lex_le_max(m, max)).count(),
            ZSetRef::Full(z) => z.tree.count_le_lex(max),
        }
    }

    /// Rank range [start, end) of elements within score bounds.
    pub fn score_range(&self, min: &ScoreBound, max: &ScoreBound) -> (usize, usize) {
        let s = self.first_in_score(min);
        let e = self.count_le_score(max);
        (s, e.max(s))
    }

    /// Rank range [start, end) of elements within lex bounds, for a walk up (or down,
    /// `rev`). Members are in lex order only when their scores are equal; otherwise
    /// (an unspecified result) this gives what Redis's listpack walks give: nothing
    /// unless the last member is >= min and the first <= max; then up from the first
    /// member >= min while members are <= max, or down from the last member <= max
    /// while members are >= min. Redis compat: t_zset.c zzlIsInLexRange,
    /// zzlFirstInLexRange, zzlLastInLexRange.
    pub fn lex_range(&self, min: &LexBound, max: &LexBound, rev: bool) -> (usize, usize) {
        let n = self.len();
        let (Some((first, _)), Some((last, _))) = (self.get_by_rank(0), self.get_by_rank(n.saturating_sub(1))) else {
            return (0, 0);
        };
        if !lex_ge_min(last, min) || !lex_le_max(first, max) {
            return (0, 0);
        }
        match *self {
            ZSetRef::Lp(l) if rev => {
                let members: Vec<&[u8]> = lp_pairs(l).map(|(m, _)| m).collect();
                let Some(e) = members.iter().rposition(|m| lex_le_max(m, max)) else {
                    return (0, 0);
                };
                let run = members
                    .get(..=e)
                    .unwrap_or_default()
                    .iter()
                    .rev()
                    .take_while(|m| lex_ge_min(m, min))
                    .count();
                (e + 1 - run, e + 1)
            }
            ZSetRef::Lp(l) => {
                let s = self.first_in_lex(min);
                (
                    s,
                    s + lp_pairs(l).skip(s).take_while(|(m, _)| lex_le_max(m, max)).count(),
                )
            }
            ZSetRef::Full(_) => self.lex_span(min, max),
        }
    }

    /// The rank range ZREMRANGEBYLEX removes: `lex_range`'s for a listpack; a skiplist
    /// has no first/last member check and, when its first member is >= min, removes
    /// from there while members are <= max (a walk as long as what it removes).
    /// Redis compat: t_zset.c zzlDeleteRangeByLex, zslDeleteRangeByLex.
    pub fn lex_range_to_remove(&self, min: &LexBound, max: &LexBound) -> (usize, usize) {
        match self {
            ZSetRef::Lp(_) => self.lex_range(min, max, false),
            ZSetRef::Full(_) if self.get_by_rank(0).is_some_and(|(m, _)| lex_ge_min(m, min)) => {
                (0, self.iter_from(0).take_while(|(m, _)| lex_le_max(m, max)).count())
            }
            ZSetRef::Full(_) => self.lex_span(min, max),
        }
    }

    fn lex_span(&self, min: &LexBound, max: &LexBound) -> (usize, usize) {
        let s = self.first_in_lex(min);
        (s, self.count_le_lex(max).max(s))
    }

    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<(&'a [u8], f64)> {
        match *self {
            ZSetRef::Lp(l) => {
                let n = l.len() / 2;
                if n == 0 {
                    return None;
                }
                self.get_by_rank(rng.random_range(0..n))
            }
            ZSetRef::Full(z) => z.dict.fair_random(rng).map(|e| (e.member(), e.score())),
        }
    }

    /// Every (member, score) in storage order (hash order for full sets): for SCAN-like
    /// walks and copies where order does not matter.
    pub fn iter_any(&self) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            ZSetRef::Lp(l) => Box::new(lp_pairs(l)),
            ZSetRef::Full(z) => Box::new(z.dict.iter().map(|e| (e.member(), e.score()))),
        }
    }
}

pub struct ZSetMut<'a> {
    obj: &'a mut Obj,
    lim: Limits,
}

impl Obj {
    /// Edit access to a sorted-set entry; None if the entry is not a sorted set.
    pub fn zset_mut(&mut self, lim: &Limits) -> Option<ZSetMut<'_>> {
        match self.enc() {
            Enc::ZsetLp => {}
            Enc::Heap if matches!(self.heap(), Some(Value::ZSet(_))) => {}
            _ => return None,
        }
        Some(ZSetMut { obj: self, lim: *lim })
    }

    pub fn zset(&self) -> Option<ZSetRef<'_>> {
        match self.value() {
            ValueRef::ZSet(z) => Some(z),
            _ => None,
        }
    }
}

impl ZSetMut<'_> {
    fn full(&mut self) -> Option<&mut ZSetFull> {
        match self.obj.heap_mut() {
            Some(Value::ZSet(z)) => Some(z),
            _ => None,
        }
    }

    /// The listpack, edited in place; None once the set is a skiplist.
    fn packed(&mut self) -> Option<Lp<PackedMut<'_>>> {
        self.obj.packed_mut(Enc::ZsetLp).map(Lp::in_place)
    }

    fn is_packed(&self) -> bool {
        self.obj.enc() == Enc::ZsetLp
    }

    pub fn view(&self) -> Option<ZSetRef<'_>> {
        self.obj.zset()
    }

    pub fn len(&self) -> usize {
        self.view().map(|z| z.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.view()?.score(m)
    }

    /// Converts to the skiplist encoding. Redis compat: t_zset.c zsetConvert.
    pub fn convert(&mut self) {
        let Some(ZSetRef::Lp(lp)) = self.view() else {
            return;
        };
        let mut z = ZSetFull::default();
        for (m, s) in lp_pairs(lp) {
            z.insert(m, s);
        }
        self.obj.set_heap(Value::ZSet(z));
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, m: &[u8], s: f64) {
        if self.is_packed() && (m.len() > self.lim.zset_value || self.len() + 1 > self.lim.zset_entries) {
            self.convert();
        }
        if let Some(mut lp) = self.packed() {
            // The first pair ordered after (s, m), or the end.
            let mut pairs = lp_pairs(lp.view());
            let mut at = pairs.offset();
            while let Some((x, xs)) = pairs.next() {
                if cmp_elem(xs, x, s, m) == Ordering::Greater {
                    break;
                }
                at = pairs.offset();
            }
            lp.insert_at(at, &[m, LpScore::new(s).bytes()]);
            return;
        }
        if let Some(z) = self.full() {
            z.insert(m, s);
        }
    }

    /// Changes the score of a present member.
    pub fn update(&mut self, m: &[u8], new: f64) {
        if self.is_packed() {
            self.remove(m);
            self.insert(m, new);
            return;
        }
        if let Some(z) = self.full() {
            if let Some(e) = z.dict.get_mut(m) {
                let old = e.score();
                e.set_score(new);
                z.tree.update_score(old, m, new);
            }
        }
    }

    /// Removes a member, returning its score.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        if let Some(mut lp) = self.packed() {
            let (start, s, end) = lp
                .view()
                .find_pair(m)
                .map(|p| (p.start, decode_score(p.value), p.end))?;
            lp.remove_span(start, end, 2);
            return Some(s);
        }
        let z = self.full()?;
        let e = z.dict.remove(m)?;
        z.tree.remove(e.score(), m);
        Some(e.score())
    }

    /// Removes ranks start..=end (ascending, clamped by the caller), returning how many.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        if end < start {
            return 0;
        }
        if let Some(mut lp) = self.packed() {
            let n = (end - start + 1).min((lp.len() / 2).saturating_sub(start));
            lp.remove(start * 2, n * 2);
            return n;
        }
        let Some(z) = self.full() else {
            return 0;
        };
        let mut n = 0;
        let ZSetFull { dict, tree } = z;
        tree.remove_rank_range(start, end, |_, m| {
            dict.remove(m);
            n += 1;
        });
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(z: ZSetRef<'_>) -> Vec<(Vec<u8>, f64)> {
        z.iter_from(0).map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn listpack_scores_round_trip_in_few_bytes() {
        let lim = (1i64 << 53) - 1;
        let mut cases: Vec<(f64, usize)> = vec![(0.0, 0), (-0.0, 0), (1.0, 1), (-1.0, 1), (127.0, 1), (128.0, 2)];
        cases.extend([
            (-128.0, 1),
            (-129.0, 2),
            (32767.0, 2),
            (32768.0, 3),
            (1_700_000_000.0, 4),
        ]);
        cases.extend([
            (lim as f64, 7),
            (-lim as f64, 7),
            ((1i64 << 53) as f64, 8),
            (0.1, 2),
            (1.5, 3),
            (-2.25, 3),
            (19.99, 4),
            (-148.5, 4),
            (0.000_000_000_000_001, 2),
            (1_700_000_000.5, 6),
            (1_700_000_000.123, 8),
            (1_700_000.123, 6),
            (1_700_000_000.123_456, 8),
            (0.1 + 0.2, 8),
        ]);
        cases.extend([
            (f64::INFINITY, 8),
            (f64::NEG_INFINITY, 8),
            (1e300, 8),
            (5e-324, 8),
            (1e-16, 8),
        ]);
        for (s, n) in cases {
            let e = LpScore::new(s);
            assert_eq!(e.bytes().len(), n, "{s}");
            let back = decode_score(e.bytes());
            assert_eq!(back.to_bits(), if s == 0.0 { 0 } else { s.to_bits() }, "{s}");
        }
        for i in -70_000i64..70_000 {
            assert_eq!(decode_score(LpScore::new(i as f64).bytes()), i as f64);
            // Decimals with 1 to 15 places, as their text parses.
            for k in [1, 2, 3, 7, 15] {
                let d: f64 = format!("{}e-{k}", i * 7 + 3).parse().unwrap();
                assert_eq!(decode_score(LpScore::new(d).bytes()).to_bits(), d.to_bits(), "{d}");
            }
        }
        let mut rng = rand::rng();
        for _ in 0..200_000 {
            let d = f64::from_bits(rng.random::<u64>());
            if !d.is_nan() {
                let back = decode_score(LpScore::new(d).bytes());
                assert_eq!(back.to_bits(), if d == 0.0 { 0 } else { d.to_bits() }, "{d}");
            }
        }
    }

    #[test]
    fn only_the_skiplist_keeps_the_sign_of_a_zero_score() {
        let tiny = Limits {
            zset_entries: 0,
            ..Limits::default()
        };
        let lim = Limits::default();
        let mut a = new_zset(b"a", 0, 1, &lim);
        let mut b = new_zset(b"b", 0, 1, &tiny);
        for o in [&mut a, &mut b] {
            o.zset_mut(&lim).unwrap().insert(b"m", -0.0);
        }
        let sign = |o: &Obj| o.zset().unwrap().score(b"m").unwrap().is_sign_negative();
        assert!(!sign(&a));
        assert!(sign(&b));
        let items = [(b"m".to_vec(), -0.0)];
        assert!(!sign(&zset_from_sorted(b"c", &items, &lim)));
        assert!(sign(&zset_from_sorted(b"d", &items, &tiny)));
    }

    #[test]
    fn both_encodings_answer_alike() {
        let small = Limits::default();
        let tiny = Limits {
            zset_entries: 0,
            ..Limits::default()
        };
        let mut a = new_zset(b"a", 0, 1, &small);
        let mut b = new_zset(b"b", 0, 1, &tiny);
        assert_eq!((a.encoding_name(), b.encoding_name()), ("listpack", "skiplist"));
        for o in [&mut a, &mut b] {
            let lim = Limits::default();
            let mut z = o.zset_mut(&lim).unwrap();
            for (m, s) in [("c", 2.0), ("a", 2.0), ("b", 1.0), ("d", f64::INFINITY), ("e", -1.5)] {
                z.insert(m.as_bytes(), s);
            }
            z.update(b"e", 3.0);
            // An inclusive +inf bound counts every member, an exclusive one all but
            // those at +inf.
            let inf = |exclusive| ScoreBound {
                value: f64::INFINITY,
                exclusive,
            };
            let v = z.view().unwrap();
            assert_eq!((v.count_le_score(&inf(false)), v.count_le_score(&inf(true))), (5, 4));
            assert_eq!(z.remove(b"d"), Some(f64::INFINITY));
            assert_eq!(z.remove(b"zz"), None);
        }
        let (za, zb) = (a.zset().unwrap(), b.zset().unwrap());
        assert_eq!(members(za), members(zb));
        let names: Vec<_> = members(za).into_iter().map(|(m, _)| m).collect();
        assert_eq!(names, vec![b"b".to_vec(), b"a".to_vec(), b"c".to_vec(), b"e".to_vec()]);
        for z in [za, zb] {
            assert_eq!(z.rank(b"c"), Some(2));
            let min = ScoreBound {
                value: 2.0,
                exclusive: false,
            };
            let max = ScoreBound {
                value: 3.0,
                exclusive: true,
            };
            assert_eq!(z.score_range(&min, &max), (1, 3));
            let rev: Vec<_> = z.iter_rev_from(2, usize::MAX).map(|(m, _)| m.to_vec()).collect();
            assert_eq!(rev, vec![b"c".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        }
        for o in [&mut a, &mut b] {
            let lim = Limits::default();
            assert_eq!(o.zset_mut(&lim).unwrap().remove_rank_range(1, 2), 2);
        }
        assert_eq!(members(a.zset().unwrap()), members(b.zset().unwrap()));
        assert_eq!(a.zset().unwrap().len(), 2);
    }

    /// A large set keeps each member once (its tree points at the member table's copy):
    /// arguments freed after every call, scores changed, members removed one by one and by
    /// rank, a copy changed apart from its original; all against a model.
    #[test]
    fn a_large_set_keeps_each_member_once() {
        use rand::SeedableRng;
        let tiny = Limits {
            zset_entries: 0,
            ..Limits::default()
        };
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        let mut o = new_zset(b"z", 0, 1, &tiny);
        let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
        let name = |i: u32| -> Vec<u8> {
            match i % 3 {
                0 => format!("{i}").into_bytes(),
                1 => format!("user:session:{i:012}:abcdefghijklmnop").into_bytes(),
                _ => format!("m{i}").repeat(1 + (i % 7) as usize).into_bytes(),
            }
        };
        let check = |o: &Obj, model: &std::collections::BTreeMap<Vec<u8>, f64>| {
            let mut want: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
            want.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
            let z = o.zset().unwrap();
            assert_eq!(members(z), want);
            for (m, s) in &want {
                assert_eq!(z.score(m), Some(*s));
            }
        };
        for step in 0..20_000u32 {
            let m = name(rng.random_range(0..3000));
            let mut z = o.zset_mut(&tiny).unwrap();
            match rng.random_range(0..10) {
                0..5 if !model.contains_key(&m) => {
                    let s = rng.random_range(0..50) as f64;
                    z.insert(&m.clone(), s);
                    model.insert(m, s);
                }
                0..7 if model.contains_key(&m) => {
                    let s = rng.random_range(0..50) as f64;
                    z.update(&m.clone(), s);
                    model.insert(m, s);
                }
                0..9 => assert_eq!(z.remove(&m.clone()), model.remove(&m)),
                _ => {
                    let start = rng.random_range(0..model.len().max(1));
                    let end = start + rng.random_range(0..4);
                    let mut order: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
                    order.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
                    let end = end.min(order.len().saturating_sub(1));
                    let gone = z.remove_rank_range(start, end);
                    for (m, _) in order.iter().skip(start).take(gone) {
                        model.remove(m);
                    }
                }
            }
            if step % 2000 == 0 {
                check(&o, &model);
            }
        }
        check(&o, &model);
        let Some(Value::ZSet(full)) = o.heap() else {
            panic!("not a skiplist")
        };
        let copy = full.clone();
        let copy_model = model.clone();
        let mut z = o.zset_mut(&tiny).unwrap();
        for m in copy_model.keys() {
            z.remove(m);
        }
        drop(o);
        let mut c = Obj::new_value(b"c", Value::ZSet(copy));
        check(&c, &copy_model);
        let first = copy_model.keys().next().cloned().unwrap();
        c.zset_mut(&tiny).unwrap().update(&first, -1.0);
        assert_eq!(
            c.zset().unwrap().iter_from(0).next().map(|(m, _)| m.to_vec()),
            Some(first)
        );
        // The tree holds no member bytes of its own: 100-byte members cost it about 20 bytes
        // each, 30 in leaves filled in random order.
        let mut big = new_zset(b"big", 0, 1, &tiny);
        let mut z = big.zset_mut(&tiny).unwrap();
        for i in 0..20_000u32 {
            z.insert(
                format!("{:0100}", i.wrapping_mul(2_654_435_761)).as_bytes(),
                f64::from(i % 100),
            );
        }
        let Some(Value::ZSet(full)) = big.heap() else {
            panic!("not a skiplist")
        };
        let per = full.tree().mem_usage() / full.len();
        assert!(per < 32, "{per} bytes a member");
    }
}
