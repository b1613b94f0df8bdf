//! Hash values: small hashes are a listpack packed in the keyspace entry (`listpack`),
//! large ones a `Dict` of one-allocation field/value pairs (`hashtable`). `HashRef` reads
//! either; `HashMut` edits the listpack where it lies in the entry, converting to the dict
//! once Redis's limits are passed (never back).
use rand::Rng;

use super::obj::{Enc, Obj, PackedMut};
use super::value::{Limits, Value, ValueRef};
use crate::ds::dash::DashKey;
use crate::ds::dict::Dict;
use crate::ds::ibytes::IBytes;
use crate::ds::listpack::{Lp, LpRef};

/// One field and its value in a single allocation: `[field len][field][value]`, the length
/// in one byte under 255, else 0xFF and a u32 LE (most fields are short, and the three bytes
/// saved often put the pair in a smaller allocator class).
/// Up to 15 bytes of it (header included) live inside its table node (see `IBytes`).
#[derive(Clone, PartialEq, Eq)]
pub struct Pair(IBytes);

/// Field-length byte announcing a 4-byte length.
const LONG_FIELD: u8 = 0xFF;

impl Pair {
    /// Active defragmentation of its block, if it has one.
    pub fn defrag(&mut self, d: &mut crate::ds::defrag::Defrag) {
        self.0.defrag(d);
    }

    pub fn new(field: &[u8], value: &[u8]) -> Self {
        let n = field.len();
        if n < usize::from(LONG_FIELD) {
            Pair(IBytes::concat(&[&[n as u8], field, value]))
        } else {
            let mut head = [LONG_FIELD; 5];
            head[1..].copy_from_slice(&(n as u32).to_le_bytes());
            Pair(IBytes::concat(&[&head, field, value]))
        }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// (where the field starts, its length).
    #[inline]
    fn field_at(&self) -> (usize, usize) {
        let b = self.bytes();
        match b.first() {
            Some(&LONG_FIELD) => match b.get(1..5) {
                Some(h) => (5, u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize),
                None => (5, 0),
            },
            Some(&n) => (1, usize::from(n)),
            None => (0, 0),
        }
    }

    pub fn field(&self) -> &[u8] {
        let (at, n) = self.field_at();
        self.bytes().get(at..at + n).unwrap_or_default()
    }

    pub fn value(&self) -> &[u8] {
        let (at, n) = self.field_at();
        self.bytes().get(at + n..).unwrap_or_default()
    }

    /// Bytes of its own block (0 when inline: the node holds it).
    pub fn mem_usage(&self) -> usize {
        self.0.heap_bytes()
    }
}

impl DashKey for Pair {
    #[inline]
    fn key(&self) -> &[u8] {
        self.field()
    }

    #[inline]
    fn key_addr(&self) -> Option<*const u8> {
        self.0.block_addr()
    }
}

/// Largest listpack Redis lets a write grow (listpack.c LISTPACK_MAX_SAFETY_SIZE).
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// An empty hash listpack, as new hash keys start.
pub fn new_hash(key: &[u8]) -> Obj {
    Obj::new_inline(key, Lp::new().as_bytes(), Enc::HashLp)
}

#[derive(Clone, Copy)]
pub enum HashRef<'a> {
    Lp(LpRef<'a>),
    Dict(&'a Dict<Pair>),
}

impl<'a> HashRef<'a> {
    pub fn len(&self) -> usize {
        match self {
            HashRef::Lp(l) => l.len() / 2,
            HashRef::Dict(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&'a [u8]> {
        match *self {
            HashRef::Lp(l) => l.find_pair(field).map(|p| p.value),
            HashRef::Dict(d) => d.get(field).map(|p| p.value()),
        }
    }

    /// Every (field, value), in storage order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        match *self {
            HashRef::Lp(l) => {
                let mut it = l.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            HashRef::Dict(d) => Box::new(d.iter().map(|p| (p.field(), p.value()))),
        }
    }

    /// A random (field, value).
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<(&'a [u8], &'a [u8])> {
        match *self {
            HashRef::Lp(l) => {
                let n = l.len() / 2;
                if n == 0 {
                    return None;
                }
                let i = rng.random_range(0..n);
                let mut it = l.iter().skip(i * 2);
                Some((it.next()?, it.next()?))
            }
            HashRef::Dict(d) => d.fair_random(rng).map(|p| (p.field(), p.value())),
        }
    }

    pub fn is_packed(&self) -> bool {
        matches!(self, HashRef::Lp(_))
    }

    /// Whether its table is being resized (a look-up should move it along).
    pub fn rehashing(&self) -> bool {
        matches!(self, HashRef::Dict(d) if d.is_rehashing())
    }
}

pub struct HashMut<'a> {
    obj: &'a mut Obj,
    lim: Limits,
}

impl Obj {
    /// Edit access to a hash entry; None if the entry is not a hash.
    pub fn hash_mut(&mut self, lim: &Limits) -> Option<HashMut<'_>> {
        match self.enc() {
            Enc::HashLp => {}
            Enc::Heap if matches!(self.heap(), Some(Value::Hash(_))) => {}
            _ => return None,
        }
        Some(HashMut { obj: self, lim: *lim })
    }

    pub fn hash(&self) -> Option<HashRef<'_>> {
        match self.value() {
            ValueRef::Hash(h) => Some(h),
            _ => None,
        }
    }
}

impl HashMut<'_> {
    fn dict(&mut self) -> Option<&mut Dict<Pair>> {
        match self.obj.heap_mut() {
            Some(Value::Hash(d)) => Some(d),
            _ => None,
        }
    }

    /// The listpack, edited in place; None once the hash is a dict.
    fn packed(&mut self) -> Option<Lp<PackedMut<'_>>> {
        self.obj.packed_mut(Enc::HashLp).map(Lp::in_place)
    }

    pub fn view(&self) -> Option<HashRef<'_>> {
        self.obj.hash()
    }

    pub fn len(&self) -> usize {
        self.view().map(|h| h.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.view()?.get(field)
    }

    /// Converts to the dict encoding. Redis compat: t_hash.c hashTypeConvertListpack.
    pub fn convert(&mut self) {
        let Some(HashRef::Lp(lp)) = self.view() else {
            return;
        };
        // Presized like Redis (hashTypeConvertListpack): no rehash while filling.
        let mut d = Dict::with_capacity(lp.len() / 2);
        let mut it = lp.iter();
        while let (Some(f), Some(v)) = (it.next(), it.next()) {
            d.insert(Pair::new(f, v));
        }
        self.obj.set_heap(Value::Hash(d));
    }

    /// Converts to the dict before a write of `args` (fields and values) when one of
    /// them is longer than the value limit or the listpack would pass its safety size.
    /// Redis compat: t_hash.c hashTypeTryConversion (checked on the arguments up front).
    pub fn try_conversion(&mut self, args: &[&[u8]]) {
        let Some(HashRef::Lp(lp)) = self.view() else {
            return;
        };
        let mut sum = 0usize;
        for a in args {
            if a.len() > self.lim.hash_value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(a.len());
        }
        if lp.bytes().len().saturating_add(sum) > LISTPACK_MAX_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Sets a field; true when it is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let lim = self.lim;
        if self.obj.enc() == Enc::HashLp && (field.len() > lim.hash_value || value.len() > lim.hash_value) {
            self.convert();
        }
        if let Some(mut lp) = self.packed() {
            let new = match lp.view().find_pair(field).map(|p| p.value_at) {
                Some(v) => {
                    lp.replace_at(v, value);
                    false
                }
                None => {
                    let end = lp.as_bytes().len();
                    lp.insert_at(end, &[field, value]);
                    true
                }
            };
            if lp.len() / 2 > lim.hash_entries {
                self.convert();
            }
            return new;
        }
        // A look-up, then an add for a new field: each moves a resize along, as
        // Redis's dictFind and dictAdd do (t_hash.c hashTypeSet).
        let Some(d) = self.dict() else {
            return false;
        };
        let h = crate::ds::dict::hash_bytes(field);
        if let Some(p) = d.get_mut_hashed(h, field) {
            *p = Pair::new(field, value);
            return false;
        }
        d.insert_new_hashed(h, Pair::new(field, value));
        true
    }

    /// Deletes a field; true when it existed.
    pub fn del(&mut self, field: &[u8]) -> bool {
        if let Some(mut lp) = self.packed() {
            let Some((start, end)) = lp.view().find_pair(field).map(|p| (p.start, p.end)) else {
                return false;
            };
            lp.remove_span(start, end, 2);
            return true;
        }
        self.dict().is_some_and(|d| d.remove(field).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_fields_of_every_length() {
        for n in [0, 1, 254, 255, 256, 70_000] {
            let f = vec![b'f'; n];
            for v in [&b""[..], b"v", &[0xFF; 300]] {
                let p = Pair::new(&f, v);
                assert_eq!((p.field(), p.value()), (&f[..], v));
                let size = if n < 255 { 1 } else { 5 } + n + v.len();
                // Up to 15 bytes are held inline (no block of their own).
                assert_eq!(p.mem_usage(), if size <= 15 { 0 } else { size });
            }
        }
    }

    #[test]
    fn converts_past_limits_and_reads_alike() {
        let lim = Limits {
            hash_entries: 4,
            ..Limits::default()
        };
        let mut o = new_hash(b"h");
        {
            let mut h = o.hash_mut(&lim).unwrap();
            assert!(h.set(b"a", b"1"));
            assert!(!h.set(b"a", b"2"));
            assert!(h.set(b"b", b"3"));
        }
        assert_eq!(o.encoding_name(), "listpack");
        assert_eq!(o.hash().unwrap().get(b"a"), Some(&b"2"[..]));
        {
            let mut h = o.hash_mut(&lim).unwrap();
            for f in [b"c", b"d", b"e"] {
                h.set(f, b"x");
            }
            assert!(h.del(b"b"));
            assert!(!h.del(b"zz"));
        }
        assert_eq!(o.encoding_name(), "hashtable");
        let h = o.hash().unwrap();
        assert_eq!((h.len(), h.get(b"a"), h.get(b"b")), (4, Some(&b"2"[..]), None));
        let mut big = new_hash(b"h2");
        big.hash_mut(&lim).unwrap().set(b"f", &[b'v'; 65]);
        assert_eq!(big.encoding_name(), "hashtable");
    }
}
