//! Set values: integer-only small sets are an intset packed in the keyspace entry
//! (`intset`), others a `Dict` of members (`hashtable`). `SetMut` edits the intset where it
//! lies in the entry, converting once a member is not a canonical integer or the intset
//! limit is passed (never back). Redis compat: t_set.c.
use std::borrow::Cow;

use rand::Rng;

use super::obj::{Enc, Obj, PackedMut};
use super::value::{Limits, Value, ValueRef};
use crate::ds::dash::DashKey;
use crate::ds::dict::Dict;
use crate::ds::intset::{IntSet, IntSetRef};
use crate::util::num;

#[derive(Clone, PartialEq, Eq)]
pub struct Member(Box<[u8]>);

impl Member {
    /// Active defragmentation of its one block.
    pub fn defrag(&mut self, d: &mut crate::ds::defrag::Defrag) {
        d.slice(&mut self.0);
    }

    pub fn new(b: &[u8]) -> Self {
        Member(b.into())
    }

    /// A member taking over `b`'s block.
    pub fn from_vec(b: Vec<u8>) -> Self {
        Member(b.into_boxed_slice())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn mem_usage(&self) -> usize {
        self.0.len()
    }
}

impl DashKey for Member {
    #[inline]
    fn key(&self) -> &[u8] {
        &self.0
    }

    #[inline]
    fn key_addr(&self) -> Option<*const u8> {
        Some(self.0.as_ptr())
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
    Cow::Owned(v.to_string().into_bytes())
}

/// A new empty intset, as Redis starts computed sets (t_set.c createIntsetObject); the
/// first non-integer member converts it.
pub fn new_intset(key: &[u8]) -> Obj {
    Obj::new_inline(key, IntSet::new().as_bytes(), Enc::IntSet)
}

/// A set holding `members`, in the encoding Redis would end up with after adding them
/// one by one to an empty intset: intset while every member is an integer and within
/// the limit, else hashtable.
pub fn set_from<'m>(key: &[u8], members: impl IntoIterator<Item = &'m [u8]>, lim: &Limits) -> Obj {
    let mut o = new_intset(key);
    if let Some(mut s) = o.set_mut(lim) {
        for m in members {
            s.add(m);
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
    } else {
        Obj::new_value(key, Value::Set(Dict::new()))
    }
}

#[derive(Clone, Copy)]
pub enum SetRef<'a> {
    Int(IntSetRef<'a>),
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
            SetRef::Dict(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetRef::Int(s) => as_int(m).is_some_and(|v| s.contains(v)),
            SetRef::Dict(d) => d.contains(m),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'a, [u8]>> + 'a> {
        match *self {
            SetRef::Int(s) => {
                let v: Vec<i64> = s.iter().collect();
                Box::new(v.into_iter().map(int_bytes))
            }
            SetRef::Dict(d) => Box::new(d.iter().map(|m| Cow::Borrowed(m.bytes()))),
        }
    }

    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<Cow<'a, [u8]>> {
        match *self {
            SetRef::Int(s) => s.random(rng).map(int_bytes),
            SetRef::Dict(d) => d.fair_random(rng).map(|m| Cow::Borrowed(m.bytes())),
        }
    }

    pub fn is_intset(&self) -> bool {
        matches!(self, SetRef::Int(_))
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
            Enc::IntSet => {}
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

    /// The intset, edited in place; None once the set is a dict.
    fn ints(&mut self) -> Option<IntSet<PackedMut<'_>>> {
        self.obj.packed_mut(Enc::IntSet).map(IntSet::in_place)
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

    /// Converts to the dict encoding. Redis compat: t_set.c setTypeConvert.
    pub fn convert(&mut self) {
        let Some(SetRef::Int(ints)) = self.view() else {
            return;
        };
        // Presized like Redis's dictExpand in setTypeConvert: no rehash while filling.
        let mut d = Dict::with_capacity(ints.len());
        for v in ints.iter() {
            d.insert_new(Member::new(v.to_string().as_bytes()));
        }
        self.obj.set_heap(Value::Set(d));
    }

    /// Adds a member; true when it is new.
    pub fn add(&mut self, m: &[u8]) -> bool {
        let max = intset_max(&self.lim);
        if let Some(mut ints) = self.ints() {
            match as_int(m) {
                Some(v) => {
                    if !ints.insert(v) {
                        return false;
                    }
                    if ints.len() > max {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        let h = crate::ds::dict::hash_bytes(m);
        match self.dict() {
            Some(d) if d.get_hashed(h, m).is_none() => {
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
}
