//! IntSet: the compact encoding of small all-integer sets. One byte buffer
//! `[width: u8][len: u32 LE][values: width bytes LE each]`, values distinct and strictly
//! ascending, width in {2, 4, 8} and wide enough for every value. The width grows when
//! a wider value arrives and never shrinks (Redis compat: intset.c). Bytes from
//! untrusted sources enter only through `IntSet::from_bytes` / `IntSetRef::parse`.
use rand::Rng;

use super::ByteStore;

/// Header: width byte, then the element count.
const HDR: usize = 5;

/// The smallest width (bytes) that holds `v`.
#[inline]
fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// The value at `idx` of a buffer of `w`-byte values, sign-extended.
#[inline]
fn read(buf: &[u8], w: usize, idx: usize) -> Option<i64> {
    let off = idx.checked_mul(w)?.checked_add(HDR)?;
    let b = buf.get(off..off.checked_add(w)?)?;
    match w {
        2 => Some(i16::from_le_bytes(b.try_into().ok()?) as i64),
        4 => Some(i32::from_le_bytes(b.try_into().ok()?) as i64),
        8 => Some(i64::from_le_bytes(b.try_into().ok()?)),
        _ => None,
    }
}

/// `v` in `w` bytes: the low bytes of two's complement, which `read` sign-extends back.
#[inline]
fn encode(v: i64, w: usize) -> impl Iterator<Item = u8> {
    v.to_le_bytes().into_iter().take(w)
}

/// A read view of intset bytes (inside a keyspace entry or an owned `IntSet`).
#[derive(Clone, Copy, Debug)]
pub struct IntSetRef<'a>(&'a [u8]);

impl<'a> IntSetRef<'a> {
    /// Bytes known to be a valid intset (produced by `IntSet`). Reads never panic even
    /// if they are not: they just see fewer (or garbage) elements.
    pub fn new(b: &'a [u8]) -> Self {
        IntSetRef(b)
    }

    /// Checks the structure of untrusted bytes: known width, length matching the buffer
    /// exactly, values strictly ascending (Redis compat: intset.c intsetValidateIntegrity).
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        let r = IntSetRef(b);
        let w = r.width();
        if !matches!(w, 2 | 4 | 8) {
            return None;
        }
        let n = r.header_len()?;
        if n.checked_mul(w)?.checked_add(HDR)? != b.len() {
            return None;
        }
        let mut prev: Option<i64> = None;
        for v in r.iter() {
            if prev.is_some_and(|p| p >= v) {
                return None;
            }
            prev = Some(v);
        }
        Some(r)
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Bytes per value (2, 4 or 8 in a valid intset).
    pub fn width(&self) -> usize {
        self.0.first().copied().unwrap_or(0) as usize
    }

    fn header_len(&self) -> Option<usize> {
        let h = self.0.get(1..HDR)?;
        Some(u32::from_le_bytes(h.try_into().ok()?) as usize)
    }

    /// The element count (clamped to what the buffer holds, for untrusted views).
    pub fn len(&self) -> usize {
        let w = self.width();
        if !matches!(w, 2 | 4 | 8) {
            return 0;
        }
        let room = self.0.len().saturating_sub(HDR) / w;
        self.header_len().unwrap_or(0).min(room)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `idx`-th smallest member.
    pub fn get(&self, idx: usize) -> Option<i64> {
        if idx >= self.len() {
            return None;
        }
        read(self.0, self.width(), idx)
    }

    /// Like `slice::binary_search`: `Ok(index)` of `v`, or `Err(index)` where it would go.
    pub fn search(&self, v: i64) -> Result<usize, usize> {
        let n = self.len();
        let w = self.width();
        let at = |i: usize| read(self.0, w, i).unwrap_or(i64::MAX);
        if n == 0 {
            return Err(0);
        }
        // Out-of-range values (including every value too wide for this width) and
        // appends of ascending runs are answered without a search
        // (Redis compat: intset.c intsetSearch).
        if v > at(n - 1) {
            return Err(n);
        }
        if v < at(0) {
            return Err(0);
        }
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match at(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        self.search(v).is_ok()
    }

    /// Members in ascending order (`.rev()` for descending).
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            buf: self.0,
            w: self.width(),
            front: 0,
            back: self.len(),
        }
    }

    /// A uniformly random member (Redis compat: intset.c intsetRandom).
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<i64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.get(rng.random_range(0..n))
    }

    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    pub fn max(&self) -> Option<i64> {
        self.get(self.len().checked_sub(1)?)
    }
}

/// Iterator over an intset's members, ascending from the front.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    buf: &'a [u8],
    w: usize,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    #[inline]
    fn next(&mut self) -> Option<i64> {
        if self.front >= self.back {
            return None;
        }
        let v = read(self.buf, self.w, self.front);
        self.front += 1;
        v
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<i64> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<i64> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        read(self.buf, self.w, self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// An editable intset; `IntSet` alone owns its bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IntSet<S: ByteStore = Vec<u8>> {
    buf: S,
}

impl Default for IntSet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for IntSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<i64> for IntSet {
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> Self {
        let mut s = IntSet::new();
        for v in iter {
            s.insert(v);
        }
        s
    }
}

impl IntSet {
    /// An empty set of 2-byte width (Redis compat: intset.c intsetNew).
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(HDR);
        buf.push(2);
        buf.extend_from_slice(&0u32.to_le_bytes());
        IntSet { buf }
    }

    /// Adopts bytes after checking their structure (untrusted input, e.g. RDB).
    /// A width wider than needed is accepted: sets never downgrade.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Self> {
        IntSetRef::parse(&buf)?;
        Some(IntSet { buf })
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

impl<S: ByteStore> IntSet<S> {
    /// Edits bytes known to be a valid intset where they are.
    pub fn in_place(buf: S) -> Self {
        IntSet { buf }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buf.bytes()
    }

    pub fn view(&self) -> IntSetRef<'_> {
        IntSetRef(self.buf.bytes())
    }

    pub fn len(&self) -> usize {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn width(&self) -> usize {
        self.view().width()
    }

    pub fn contains(&self, v: i64) -> bool {
        self.view().contains(v)
    }

    fn set_len(&mut self, n: usize) {
        if let Some(h) = self.buf.bytes_mut().get_mut(1..HDR) {
            h.copy_from_slice(&(n as u32).to_le_bytes());
        }
    }

    /// Adds `v`; false if it was already there (or the set is at its u32 count limit).
    pub fn insert(&mut self, v: i64) -> bool {
        let n = self.len();
        if n >= u32::MAX as usize {
            return false;
        }
        let w = self.width();
        let need = width_for(v);
        if need > w {
            self.upgrade_and_add(v, need);
            return true;
        }
        let Err(pos) = self.view().search(v) else {
            return false;
        };
        let off = HDR + pos * w;
        if off > self.as_bytes().len() {
            return false;
        }
        for (d, s) in self.buf.splice_gap(off, off, w).iter_mut().zip(encode(v, w)) {
            *d = s;
        }
        self.set_len(n + 1);
        true
    }

    /// Rewrites every member at width `need` and adds `v`, which (being too wide for
    /// the old width) is below or above all of them (Redis compat: intset.c intsetUpgradeAndAdd).
    fn upgrade_and_add(&mut self, v: i64, need: usize) {
        let n = self.len();
        let mut buf = Vec::with_capacity(HDR + (n + 1) * need);
        buf.push(need as u8);
        buf.extend_from_slice(&((n + 1) as u32).to_le_bytes());
        if v < 0 {
            buf.extend(encode(v, need));
        }
        for x in self.iter() {
            buf.extend(encode(x, need));
        }
        if v >= 0 {
            buf.extend(encode(v, need));
        }
        let old = self.as_bytes().len();
        self.buf.splice_gap(0, old, buf.len()).copy_from_slice(&buf);
    }

    /// Removes `v`; false if absent. The width stays as it is.
    pub fn remove(&mut self, v: i64) -> bool {
        let Ok(pos) = self.view().search(v) else {
            return false;
        };
        let n = self.len();
        let w = self.width();
        let off = HDR + pos * w;
        if off + w > self.as_bytes().len() {
            return false;
        }
        self.buf.splice_gap(off, off + w, 0);
        self.set_len(n - 1);
        true
    }

    /// The `idx`-th smallest member.
    pub fn get(&self, idx: usize) -> Option<i64> {
        self.view().get(idx)
    }

    pub fn iter(&self) -> Iter<'_> {
        self.view().iter()
    }

    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<i64> {
        self.view().random(rng)
    }

    pub fn min(&self) -> Option<i64> {
        self.view().min()
    }

    pub fn max(&self) -> Option<i64> {
        self.view().max()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::{BTreeSet, HashSet};

    fn bytes(w: u8, vals: &[i64]) -> Vec<u8> {
        let mut b = vec![w];
        b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for v in vals {
            b.extend(encode(*v, w as usize));
        }
        b
    }

    #[test]
    fn empty_set() {
        let s = IntSet::new();
        assert_eq!(s.as_bytes(), &[2, 0, 0, 0, 0]);
        assert!(s.is_empty());
        assert_eq!((s.len(), s.width()), (0, 2));
        assert_eq!((s.min(), s.max(), s.get(0)), (None, None, None));
        assert!(!s.contains(0));
        assert_eq!(s.iter().next(), None);
        assert_eq!(s.iter().next_back(), None);
        let mut rng = SmallRng::seed_from_u64(1);
        assert_eq!(s.random(&mut rng), None);
        assert_eq!(IntSet::default(), s);
        assert_eq!(format!("{s:?}"), "{}");
        let mut s = s;
        assert!(!s.remove(0));
        assert!(!s.remove(i64::MAX));
        assert_eq!(s.view().search(5), Err(0));
    }

    #[test]
    fn layout_is_width_len_then_little_endian_values() {
        let mut s = IntSet::new();
        assert!(s.insert(1));
        assert!(s.insert(-2));
        assert!(!s.insert(1));
        assert_eq!(s.as_bytes(), &[2, 2, 0, 0, 0, 0xfe, 0xff, 1, 0]);
        assert!(s.insert(70_000));
        assert_eq!(
            s.as_bytes(),
            &[4, 3, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0x70, 0x11, 0x01, 0x00]
        );
        assert_eq!(IntSet::from_bytes(s.as_bytes().to_vec()), Some(s.clone()));
        assert_eq!(s.into_bytes().len(), HDR + 3 * 4);
    }

    #[test]
    fn widths_upgrade_at_the_boundaries_and_never_downgrade() {
        let cases: [(i64, usize); 8] = [
            (i16::MAX as i64, 2),
            (i16::MIN as i64, 2),
            (i16::MAX as i64 + 1, 4),
            (i16::MIN as i64 - 1, 4),
            (i32::MAX as i64, 4),
            (i32::MIN as i64, 4),
            (i32::MAX as i64 + 1, 8),
            (i32::MIN as i64 - 1, 8),
        ];
        for (v, w) in cases {
            assert_eq!(width_for(v), w, "{v}");
            let mut s: IntSet = [0, 1, -1].into_iter().collect();
            assert!(s.insert(v));
            assert_eq!(s.width(), w, "{v}");
            assert!(s.contains(v) && s.contains(0) && s.contains(-1) && s.contains(1));
            // The new value went to the right end.
            if v < 0 {
                assert_eq!(s.min(), Some(v));
            } else {
                assert_eq!(s.max(), Some(v));
            }
            assert!(s.remove(v));
            assert_eq!(s.width(), w, "no downgrade");
            assert_eq!(s.iter().collect::<Vec<_>>(), vec![-1, 0, 1]);
            assert!(IntSet::from_bytes(s.as_bytes().to_vec()).is_some());
        }
        let mut s = IntSet::new();
        assert!(s.insert(i64::MAX));
        assert!(s.insert(i64::MIN));
        assert!(s.insert(0));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, 0, i64::MAX]);
        assert_eq!(s.iter().rev().collect::<Vec<_>>(), vec![i64::MAX, 0, i64::MIN]);
        // Values wider than the current width are absent without a search.
        let s: IntSet = [1, 2, 3].into_iter().collect();
        assert!(!s.contains(1 << 40));
        assert!(!s.contains(-(1 << 40)));
        assert_eq!(s.view().search(1 << 40), Err(3));
        assert_eq!(s.view().search(-(1 << 40)), Err(0));
    }

    #[test]
    fn model_test_against_btreeset() {
        let mut rng = SmallRng::seed_from_u64(0x1275e7);
        for round in 0..6 {
            let mut s = IntSet::new();
            let mut m = BTreeSet::new();
            // Later rounds draw from wider ranges, so upgrades happen mid-run.
            let span: i64 = [50, 1000, 40_000, 1 << 20, 1 << 40, i64::MAX][round];
            for op in 0..4000 {
                let v = if rng.random_range(0..10) == 0 {
                    rng.random::<i64>()
                } else {
                    rng.random_range(-span..=span.saturating_sub(1)) / (1 + rng.random_range(0..3) * 1000)
                };
                match rng.random_range(0..5) {
                    0..=2 => assert_eq!(s.insert(v), m.insert(v)),
                    3 => {
                        // Remove something present when possible.
                        let target = if m.is_empty() || rng.random() {
                            v
                        } else {
                            *m.iter().nth(rng.random_range(0..m.len())).unwrap()
                        };
                        assert_eq!(s.remove(target), m.remove(&target));
                    }
                    _ => assert_eq!(s.contains(v), m.contains(&v)),
                }
                assert_eq!(s.len(), m.len());
                assert!(s.width() >= m.iter().map(|&x| width_for(x)).max().unwrap_or(2));
                if op % 200 == 0 {
                    let got: Vec<i64> = s.iter().collect();
                    let want: Vec<i64> = m.iter().copied().collect();
                    assert_eq!(got, want);
                    let mut rev: Vec<i64> = s.iter().rev().collect();
                    rev.reverse();
                    assert_eq!(rev, want);
                    for (i, x) in want.iter().enumerate() {
                        assert_eq!(s.get(i), Some(*x));
                        assert_eq!(s.view().search(*x), Ok(i));
                    }
                    assert_eq!(s.get(want.len()), None);
                    assert_eq!(s.min(), m.first().copied());
                    assert_eq!(s.max(), m.last().copied());
                    assert_eq!(s.as_bytes().len(), HDR + s.len() * s.width());
                    assert_eq!(IntSet::from_bytes(s.as_bytes().to_vec()).as_ref(), Some(&s));
                }
            }
        }
    }

    #[test]
    fn iterator_is_double_ended_and_exact() {
        let s: IntSet = (0..10).collect();
        let mut it = s.iter();
        assert_eq!(it.len(), 10);
        assert_eq!(it.next(), Some(0));
        assert_eq!(it.next_back(), Some(9));
        assert_eq!(it.len(), 8);
        assert_eq!(it.nth(2), Some(3));
        assert_eq!(it.clone().collect::<Vec<_>>(), vec![4, 5, 6, 7, 8]);
        assert_eq!(it.nth(100), None);
        assert_eq!(it.next_back(), None);
        assert_eq!(s.view().iter().rev().step_by(3).collect::<Vec<_>>(), vec![9, 6, 3, 0]);
    }

    #[test]
    fn random_is_a_member_and_reaches_all() {
        let mut rng = SmallRng::seed_from_u64(3);
        let s: IntSet = [-70_000, -5, 0, 3, 1 << 33].into_iter().collect();
        let mut seen = HashSet::new();
        for _ in 0..500 {
            let v = s.random(&mut rng).unwrap();
            assert!(s.contains(v));
            seen.insert(v);
        }
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn from_bytes_validates() {
        assert!(IntSet::from_bytes(bytes(2, &[])).is_some());
        assert!(IntSet::from_bytes(bytes(2, &[-3, 0, 7])).is_some());
        // Non-minimal width is legal (after removals a set keeps its width).
        let wide = IntSet::from_bytes(bytes(8, &[1, 2])).unwrap();
        assert_eq!((wide.width(), wide.len(), wide.max()), (8, 2, Some(2)));
        assert!(IntSet::from_bytes(Vec::new()).is_none());
        assert!(IntSet::from_bytes(vec![2, 0, 0, 0]).is_none());
        for w in [0u8, 1, 3, 5, 16, 255] {
            let mut b = bytes(2, &[]);
            b[0] = w;
            assert!(IntSet::from_bytes(b).is_none(), "width {w}");
        }
        // Count and length disagree.
        let mut b = bytes(4, &[1, 2, 3]);
        b.push(0);
        assert!(IntSet::from_bytes(b).is_none());
        let mut b = bytes(4, &[1, 2, 3]);
        b.pop();
        assert!(IntSet::from_bytes(b).is_none());
        let mut b = bytes(2, &[1]);
        b[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(IntSet::from_bytes(b).is_none());
        // Order and distinctness.
        assert!(IntSet::from_bytes(bytes(2, &[2, 1])).is_none());
        assert!(IntSet::from_bytes(bytes(8, &[5, 5])).is_none());
        assert!(IntSet::from_bytes(bytes(4, &[-1, 0, 0])).is_none());
        assert!(IntSetRef::parse(&bytes(8, &[i64::MIN, i64::MAX])).is_some());
    }

    #[test]
    fn garbage_views_do_not_panic() {
        let mut rng = SmallRng::seed_from_u64(9);
        for _ in 0..3000 {
            let n = rng.random_range(0..40);
            let mut b: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            if let Some(w) = b.first_mut() {
                *w = [2, 4, 8, rng.random()][rng.random_range(0..4)];
            }
            let r = IntSetRef::new(&b);
            let n = r.len();
            assert!(n <= b.len());
            assert_eq!(r.iter().count(), n);
            assert_eq!(r.iter().rev().count(), n);
            let _ = (r.min(), r.max(), r.get(3), r.contains(rng.random()), r.random(&mut rng));
            let _ = r.search(rng.random());
            let _ = r.is_empty();
            if let Some(p) = IntSetRef::parse(&b) {
                let v: Vec<i64> = p.iter().collect();
                assert!(v.windows(2).all(|x| x[0] < x[1]));
                // A valid set stays valid through edits.
                let mut s = IntSet::from_bytes(b.clone()).unwrap();
                s.insert(rng.random());
                s.remove(v.first().copied().unwrap_or(0));
                assert!(IntSetRef::parse(s.as_bytes()).is_some());
            }
        }
    }
}
