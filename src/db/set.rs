//! Set values: integer-only small sets are an intset packed in the keyspace entry
//! (`intset`), other small sets a listpack of their members packed there too, larger ones
//! a `Dict` of members. Redis 7.0 keeps every set of strings in a hash table, so the
//! packed ones are reported as `hashtable` too: they are what Redis 7.2 calls `listpack`
//! sets, with its default limits. `SetMut` edits the packed forms where they lie in the
//! entry, converting once a member is not a canonical integer (intset), or a limit is
//! passed (never back). Redis compat: t_set.c.
use std::borrow::Cow;

use rand::Rng;

use super::obj::{Enc, Obj, PackedMut};
use super::value::{Limits, Value, ValueRef};
use crate::ds::dash::DashKey;
use crate::ds::dict::Dict;
use crate::ds::ibytes::IBytes;
use crate::ds::intset::{IntSet, IntSetRef};
use crate::ds::listpack::{Lp, LpRef};
use crate::util::num;

/// The most members a packed set of strings holds (Redis 7.2's default
/// `set-max-listpack-entries`).
pub const PACKED_MAX_ENTRIES: usize = 128;
/// The longest member a packed set of strings holds (Redis 7.2's default
/// `set-max-listpack-value`).
pub const PACKED_MAX_VALUE: usize = 64;

/// The longest decimal form of an intset member (`-9223372036854775808`).
pub const INT_DIGITS_MAX: usize = 20;

/// Whether `n` members, none longer than `longest` bytes, make a packed set.
#[inline]
pub fn packs(n: usize, longest: usize) -> bool {
    n <= PACKED_MAX_ENTRIES && longest <= PACKED_MAX_VALUE
}

/// A packed set of `members`, which must be distinct and fit (`packs`).
pub fn packed_set(key: &[u8], members: &[&[u8]]) -> Obj {
    Lp::with_encoded(members, |lp| Obj::new_inline(key, lp, Enc::SetLp))
}

/// The decimal form of an intset member.
pub fn digits(v: i64) -> Vec<u8> {
    let mut b = Vec::with_capacity(INT_DIGITS_MAX);
    num::fmt_i64(v, &mut b);
    b
}

/// The listpack of a packed set of the integers `vals` (distinct), handed to `f`.
pub fn with_packed_ints<R>(vals: &[i64], f: impl FnOnce(&[u8]) -> R) -> R {
    let digits: Vec<Vec<u8>> = vals.iter().map(|&v| digits(v)).collect();
    let members: Vec<&[u8]> = digits.iter().map(|b| b.as_slice()).collect();
    Lp::with_encoded(&members, f)
}

/// A member of a set in a dict: up to 15 bytes inside its table node (see `IBytes`).
#[derive(Clone, PartialEq, Eq)]
pub struct Member(IBytes);

impl Member {
    /// Active defragmentation of its block, if it has one.
    pub fn defrag(&mut self, d: &mut crate::ds::defrag::Defrag) {
        self.0.defrag(d);
    }

    pub fn new(b: &[u8]) -> Self {
        Member(IBytes::new(b))
    }

    /// A member taking over `b`'s block (unless it fits inline).
    pub fn from_vec(b: Vec<u8>) -> Self {
        Member(IBytes::from_vec(b))
    }

    pub fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Bytes of its own block (0 when inline: the node holds it).
    pub fn mem_usage(&self) -> usize {
        self.0.heap_bytes()
    }
}

impl DashKey for Member {
    #[inline]
    fn key(&self) -> &[u8] {
        self.0.as_bytes()
    }

    #[inline]
    fn key_addr(&self) -> Option<*const u8> {
        self.0.block_addr()
    }
}

/// The integer a member is stored as in an intset, if it is canonical. Redis compat:
/// object.c isSdsRepresentableAsLongLong.
#[inline]
pub fn as_int(m: &[u8]) -> Option<i64> {
    if m.len() > 20 {
        return None;
    }
    num::parse_i64(m)
}

fn int_bytes<'x>(v: i64) -> Cow<'x, [u8]> {
    Cow::Owned(digits(v))
}

/// A new empty intset, as Redis starts computed sets (t_set.c createIntsetObject); the
/// first non-integer member converts it.
pub fn new_intset(key: &[u8]) -> Obj {
    Obj::new_inline(key, IntSet::new().as_bytes(), Enc::IntSet)
}

/// A set holding `members`, in the encoding adding them one by one to an empty intset
/// ends with: intset while every member is an integer and within the limit, else packed
/// while they fit, else a dict.
pub fn set_from<'m>(key: &[u8], members: impl IntoIterator<Item = &'m [u8]>, lim: &Limits) -> Obj {
    let mut o = new_intset(key);
    if let Some(mut s) = o.set_mut(lim) {
        for m in members {
            s.add(m);
        }
    }
    o
}

/// `set_from` for members known to be distinct: packed and dict sets then skip the
/// look-up each add makes (a packed set's is a scan).
pub fn set_from_unique<'m>(key: &[u8], members: impl IntoIterator<Item = &'m [u8]>, lim: &Limits) -> Obj {
    let mut o = new_intset(key);
    if let Some(mut s) = o.set_mut(lim) {
        for m in members {
            s.add_checked(m, false);
        }
    }
    o
}

/// The intset size limit in effect. Redis compat: t_set.c setTypeAdd caps it at 2^30.
pub fn intset_max(lim: &Limits) -> usize {
    lim.set_intset_entries.min(1 << 30)
}

/// A new empty set in the encoding its first member calls for.
pub fn new_set(key: &[u8], first: &[u8], lim: &Limits) -> Obj {
    if as_int(first).is_some() && lim.set_intset_entries > 0 {
        Obj::new_inline(key, IntSet::new().as_bytes(), Enc::IntSet)
    } else if packs(1, first.len()) {
        Obj::new_inline(key, Lp::new().as_bytes(), Enc::SetLp)
    } else {
        Obj::new_value(key, Value::Set(Dict::new()))
    }
}

#[derive(Clone, Copy)]
pub enum SetRef<'a> {
    Int(IntSetRef<'a>),
    /// Members in the order they were added.
    Lp(LpRef<'a>),
    Dict(&'a Dict<Member>),
}

impl<'a> SetRef<'a> {
    /// Whether its table is being resized (a look-up should move it along).
    pub fn rehashing(&self) -> bool {
        matches!(self, SetRef::Dict(d) if d.is_rehashing())
    }

    pub fn len(&self) -> usize {
        match self {
            SetRef::Int(s) => s.len(),
            SetRef::Lp(l) => l.len(),
            SetRef::Dict(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetRef::Int(s) => as_int(m).is_some_and(|v| s.contains(v)),
            SetRef::Lp(l) => l.find_offset(m, 1).is_some(),
            SetRef::Dict(d) => d.contains(m),
        }
    }

    /// Whether each of `ms` is a member (SMISMEMBER). A packed set is walked once for
    /// several of them, not once each: an entry is compared only with the members whose
    /// length and last byte fall in the same of 64 classes.
    pub fn contains_each(&self, ms: &[&[u8]]) -> Vec<bool> {
        let SetRef::Lp(l) = self else {
            return ms.iter().map(|m| self.contains(m)).collect();
        };
        if ms.len() < 4 {
            return ms.iter().map(|m| self.contains(m)).collect();
        }
        let class = |m: &[u8]| (m.len() as u32 * 7 + m.last().map_or(0, |&b| u32::from(b))) % 64;
        let classes: Vec<u32> = ms.iter().map(|m| class(m)).collect();
        let seen = classes.iter().fold(0u64, |acc, &c| acc | 1 << c);
        let mut found = vec![false; ms.len()];
        let mut left = ms.len();
        for e in l.iter() {
            let c = class(e);
            if seen & 1 << c == 0 {
                continue;
            }
            for ((m, &mc), f) in ms.iter().zip(&classes).zip(found.iter_mut()) {
                if mc == c && !*f && *m == e {
                    *f = true;
                    left -= 1;
                }
            }
            if left == 0 {
                break;
            }
        }
        found
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'a, [u8]>> + 'a> {
        match *self {
            SetRef::Int(s) => {
                let v: Vec<i64> = s.iter().collect();
                Box::new(v.into_iter().map(int_bytes))
            }
            SetRef::Lp(l) => Box::new(l.iter().map(Cow::Borrowed)),
            SetRef::Dict(d) => Box::new(d.iter().map(|m| Cow::Borrowed(m.bytes()))),
        }
    }

    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<Cow<'a, [u8]>> {
        match *self {
            SetRef::Int(s) => s.random(rng).map(int_bytes),
            SetRef::Lp(l) => {
                let n = l.len();
                (n > 0)
                    .then(|| l.get(rng.random_range(0..n)))
                    .flatten()
                    .map(Cow::Borrowed)
            }
            SetRef::Dict(d) => d.fair_random(rng).map(|m| Cow::Borrowed(m.bytes())),
        }
    }

    pub fn is_intset(&self) -> bool {
        matches!(self, SetRef::Int(_))
    }

    /// This set readied for `probes` membership tests (see `SetProbe`).
    pub fn probe(self, probes: usize) -> SetProbe<'a> {
        match self {
            SetRef::Lp(l) if l.len() >= PROBE_INDEX_MIN && probes >= PROBE_INDEX_MIN => {
                SetProbe::Indexed(Buckets::new(l.len(), l.iter()))
            }
            s => SetProbe::Direct(s),
        }
    }
}

/// Sizes (members, and tests to make) from which a packed set is indexed for tests.
const PROBE_INDEX_MIN: usize = 16;

/// A set to test many members against (SINTER, SDIFF): a packed set of more than a few
/// members is indexed first, so a test is a look-up instead of a scan of the listpack
/// (tests of a packed set against another cost O(n*m) otherwise).
pub enum SetProbe<'a> {
    Direct(SetRef<'a>),
    Indexed(Buckets<'a>),
}

impl SetProbe<'_> {
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetProbe::Direct(s) => s.contains(m),
            SetProbe::Indexed(b) => b.contains(m),
        }
    }
}

/// The members of a packed set sorted by bucket (a counting sort into at least twice
/// as many buckets as members, by a hash of their length and three of their bytes):
/// cheaper to build than a hash table for the hundred-odd members of a packed set, and
/// a test compares with the one or two members of a bucket.
pub struct Buckets<'a> {
    members: Vec<&'a [u8]>,
    /// Where each bucket's members start in `members`, and the end of the last.
    starts: Vec<u32>,
    bits: u32,
}

impl<'a> Buckets<'a> {
    fn new(n: usize, members: impl Iterator<Item = &'a [u8]> + Clone) -> Self {
        let bits = (2 * n).next_power_of_two().trailing_zeros().clamp(1, 24);
        let mut starts = vec![0u32; (1 << bits) + 1];
        for m in members.clone() {
            if let Some(c) = starts.get_mut(Self::bucket(m, bits) + 1) {
                *c += 1;
            }
        }
        for i in 1..starts.len() {
            let before = starts.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = starts.get_mut(i) {
                *c += before;
            }
        }
        let mut next = starts.clone();
        let mut sorted: Vec<&[u8]> = vec![&[]; n];
        for m in members {
            if let Some(at) = next.get_mut(Self::bucket(m, bits)) {
                if let Some(slot) = sorted.get_mut(*at as usize) {
                    *slot = m;
                }
                *at += 1;
            }
        }
        Buckets {
            members: sorted,
            starts,
            bits,
        }
    }

    #[inline]
    fn bucket(m: &[u8], bits: u32) -> usize {
        let n = m.len();
        let at = |i: usize| m.get(i).map_or(0, |&b| u32::from(b));
        let k = at(0) ^ (at(n / 2) << 8) ^ (at(n.wrapping_sub(1)) << 16) ^ ((n as u32) << 24);
        (k.wrapping_mul(0x9e37_79b1) >> (32 - bits)) as usize
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        let b = Self::bucket(m, self.bits);
        let (Some(&from), Some(&to)) = (self.starts.get(b), self.starts.get(b + 1)) else {
            return false;
        };
        self.members
            .get(from as usize..to as usize)
            .is_some_and(|ms| ms.contains(&m))
    }
}

pub struct SetMut<'a> {
    obj: &'a mut Obj,
    lim: Limits,
}

impl Obj {
    /// Edit access to a set entry; None if the entry is not a set.
    pub fn set_mut(&mut self, lim: &Limits) -> Option<SetMut<'_>> {
        match self.enc() {
            Enc::IntSet | Enc::SetLp => {}
            Enc::Heap if matches!(self.heap(), Some(Value::Set(_))) => {}
            _ => return None,
        }
        Some(SetMut { obj: self, lim: *lim })
    }

    pub fn set(&self) -> Option<SetRef<'_>> {
        match self.value() {
            ValueRef::Set(s) => Some(s),
            _ => None,
        }
    }
}

impl SetMut<'_> {
    fn dict(&mut self) -> Option<&mut Dict<Member>> {
        match self.obj.heap_mut() {
            Some(Value::Set(d)) => Some(d),
            _ => None,
        }
    }

    /// The intset, edited in place; None once the set is not one.
    fn ints(&mut self) -> Option<IntSet<PackedMut<'_>>> {
        self.obj.packed_mut(Enc::IntSet).map(IntSet::in_place)
    }

    /// The packed set of strings, edited in place; None when the set is not one.
    fn packed(&mut self) -> Option<Lp<PackedMut<'_>>> {
        self.obj.packed_mut(Enc::SetLp).map(Lp::in_place)
    }

    pub fn view(&self) -> Option<SetRef<'_>> {
        self.obj.set()
    }

    pub fn len(&self) -> usize {
        self.view().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.view().is_some_and(|s| s.contains(m))
    }

    /// Converts to the dict encoding, presized so that filling it resizes nothing: to
    /// the intset's size as Redis 7.0's setTypeConvert does, to one more than a packed
    /// set's (the member whose add converts it). Redis compat: t_set.c.
    pub fn convert(&mut self) {
        let d = match self.view() {
            Some(SetRef::Int(ints)) => {
                let mut d = Dict::with_capacity(ints.len());
                for v in ints.iter() {
                    d.insert_new(Member::from_vec(digits(v)));
                }
                d
            }
            Some(SetRef::Lp(l)) => {
                let mut d = Dict::with_capacity(l.len() + 1);
                for m in l.iter() {
                    d.insert_new(Member::new(m));
                }
                d
            }
            _ => return,
        };
        self.obj.set_heap(Value::Set(d));
    }

    /// Leaves the intset for a set of `n` members, the longest `longest` bytes: packed
    /// when they fit, else the dict.
    fn convert_ints(&mut self, n: usize, longest: usize) {
        let Some(SetRef::Int(ints)) = self.view() else {
            return;
        };
        if !packs(n, longest) {
            return self.convert();
        }
        let vals: Vec<i64> = ints.iter().collect();
        with_packed_ints(&vals, |lp| self.obj.set_packed(Enc::SetLp, lp));
    }

    /// Adds a member; true when it is new.
    pub fn add(&mut self, m: &[u8]) -> bool {
        self.add_checked(m, true)
    }

    /// `add`; without `check` the caller knows `m` is not a member (packed and dict
    /// sets skip their look-up).
    fn add_checked(&mut self, m: &[u8], check: bool) -> bool {
        let max = intset_max(&self.lim);
        if let Some(mut ints) = self.ints() {
            match as_int(m) {
                Some(v) => {
                    if !ints.insert(v) {
                        return false;
                    }
                    let n = ints.len();
                    if n > max {
                        self.convert_ints(n, INT_DIGITS_MAX);
                    }
                    return true;
                }
                None => {
                    let n = ints.len() + 1;
                    self.convert_ints(n, m.len().max(INT_DIGITS_MAX));
                }
            }
        }
        if let Some(mut lp) = self.packed() {
            if check && lp.view().find_offset(m, 1).is_some() {
                return false;
            }
            if packs(lp.len() + 1, m.len()) {
                lp.push(m);
                return true;
            }
            self.convert();
        }
        let h = crate::ds::dict::hash_bytes(m);
        match self.dict() {
            Some(d) if !check || d.get_hashed(h, m).is_none() => {
                d.insert_new_hashed(h, Member::new(m));
                true
            }
            _ => false,
        }
    }

    /// Removes a member; true when it was present.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        if let Some(mut ints) = self.ints() {
            return as_int(m).is_some_and(|v| ints.remove(v));
        }
        if let Some(mut lp) = self.packed() {
            let Some(at) = lp.view().find_offset(m, 1) else {
                return false;
            };
            let Some((_, end)) = lp.view().entry(at) else {
                return false;
            };
            lp.remove_span(at, end, 1);
            return true;
        }
        self.dict().is_some_and(|d| d.remove(m).is_some())
    }

    /// Removes and returns a random member.
    pub fn pop<R: Rng>(&mut self, rng: &mut R) -> Option<Vec<u8>> {
        let m = self.view()?.random(rng)?.into_owned();
        self.remove(&m);
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_find_every_member_and_nothing_else() {
        for n in [1usize, 2, 16, 100, 128] {
            let owned: Vec<Vec<u8>> = (0..n)
                .map(|i| match i % 4 {
                    0 => Vec::new(),
                    1 => format!("member:{i}").into_bytes(),
                    2 => vec![b'x'; i],
                    _ => format!("{i}").into_bytes(),
                })
                .collect();
            let ms: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            let b = Buckets::new(ms.len(), ms.iter().copied());
            assert!(ms.iter().all(|m| b.contains(m)), "n={n}");
            for other in [&b"member:"[..], b"nope", &[b'x'; 300], b"-1", &[0u8]] {
                assert_eq!(b.contains(other), ms.contains(&other), "n={n}");
            }
        }
    }

    #[test]
    fn intset_until_a_string_or_the_limit() {
        let lim = Limits {
            set_intset_entries: 3,
            ..Limits::default()
        };
        let mut o = new_set(b"s", b"1", &lim);
        {
            let mut s = o.set_mut(&lim).unwrap();
            assert!(s.add(b"1"));
            assert!(!s.add(b"1"));
            assert!(s.add(b"-5"));
        }
        assert_eq!(o.encoding_name(), "intset");
        assert!(o.set().unwrap().contains(b"-5"));
        assert!(!o.set().unwrap().contains(b"05"));
        {
            let mut s = o.set_mut(&lim).unwrap();
            assert!(s.add(b"7"));
            assert!(s.add(b"8"));
        }
        assert_eq!(o.encoding_name(), "hashtable");
        let mut o2 = new_set(b"s2", b"a", &lim);
        assert_eq!(o2.encoding_name(), "hashtable");
        assert!(o2.set_mut(&lim).unwrap().add(b"a"));
        let mut o3 = new_set(b"s3", b"1", &lim);
        {
            let mut s = o3.set_mut(&lim).unwrap();
            s.add(b"1");
            s.add(b"x");
            assert!(s.remove(b"1"));
        }
        assert_eq!((o3.encoding_name(), o3.set().unwrap().len()), ("hashtable", 1));
    }

    fn members(o: &Obj) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = o.set().unwrap().iter().map(|m| m.into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn small_sets_of_strings_are_packed_until_a_limit_and_never_again() {
        let lim = Limits::default();
        let mut o = new_set(b"s", b"m0", &lim);
        let mut want = Vec::new();
        for i in 0..PACKED_MAX_ENTRIES {
            let m = format!("m{i}").into_bytes();
            assert!(o.set_mut(&lim).unwrap().add(&m));
            assert!(!o.set_mut(&lim).unwrap().add(&m));
            want.push(m);
        }
        want.sort();
        assert_eq!((o.enc(), o.encoding_name()), (Enc::SetLp, "hashtable"));
        assert_eq!(members(&o), want);
        let view = o.set().unwrap();
        assert!(view.contains(b"m77") && !view.contains(b"m") && !view.contains(b"m1000"));
        let mut rng = rand::rng();
        assert!((0..50).all(|_| view.random(&mut rng).is_some_and(|m| view.contains(&m))));
        {
            let mut s = o.set_mut(&lim).unwrap();
            assert!(s.remove(b"m5") && !s.remove(b"m5") && !s.remove(b"zz"));
            assert!(s.add(b"m5"));
            assert!(s.add(b"one-more"));
        }
        assert_eq!((o.enc(), o.set().unwrap().len()), (Enc::Heap, PACKED_MAX_ENTRIES + 1));
        // Emptied down to one member it stays a table, as Redis never converts back.
        for m in &want {
            o.set_mut(&lim).unwrap().remove(m);
        }
        assert_eq!((o.enc(), members(&o)), (Enc::Heap, vec![b"one-more".to_vec()]));
        // A member past the length limit converts at once, and starts no packed set.
        let long = vec![b'x'; PACKED_MAX_VALUE + 1];
        let mut p = new_set(b"p", b"a", &lim);
        p.set_mut(&lim).unwrap().add(b"a");
        p.set_mut(&lim).unwrap().add(&long);
        assert_eq!((p.enc(), members(&p)), (Enc::Heap, vec![b"a".to_vec(), long.clone()]));
        assert_eq!(new_set(b"q", &long, &lim).enc(), Enc::Heap);
    }

    #[test]
    fn an_intset_leaves_for_a_packed_set_when_its_members_fit() {
        let small = Limits {
            set_intset_entries: 3,
            ..Limits::default()
        };
        let o = set_from(b"s", [&b"1"[..], b"2", b"3", b"-4"], &small);
        assert_eq!(o.enc(), Enc::SetLp);
        assert_eq!(members(&o), [&b"-4"[..], b"1", b"2", b"3"].map(|m| m.to_vec()));
        let o = set_from(b"s", [&b"1"[..], b"x"], &Limits::default());
        assert_eq!((o.enc(), members(&o)), (Enc::SetLp, vec![b"1".to_vec(), b"x".to_vec()]));
        let ints: Vec<Vec<u8>> = (0..=PACKED_MAX_ENTRIES).map(|i| i.to_string().into_bytes()).collect();
        let o = set_from(b"s", ints.iter().map(|m| m.as_slice()), &small);
        assert_eq!((o.enc(), o.set().unwrap().len()), (Enc::Heap, PACKED_MAX_ENTRIES + 1));
        let o = set_from(b"s", [&b"1"[..], &[b'y'; PACKED_MAX_VALUE + 1]], &Limits::default());
        assert_eq!(o.enc(), Enc::Heap);
    }
}
