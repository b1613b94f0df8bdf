//! Redis's compact blobs as they appear inside RDB values: listpack (encode and fully
//! validating decode), ziplist and zipmap (decode only: Redis 7.0 no longer writes them)
//! and intset (both ways). Decoders take untrusted bytes and check every length, offset
//! and count; integers come out as their decimal strings, as Redis reads them.
//! Redis compat: listpack.c, ziplist.c, zipmap.c, intset.c.
use crate::util::num;

/// Redis compat: listpack.c LP_HDR_SIZE and LP_EOF.
const LP_HDR: usize = 6;
const LP_EOF: u8 = 0xFF;
/// Header count meaning "unknown, walk to count" (listpack.c LP_HDR_NUMELE_UNKNOWN).
const LP_COUNT_UNKNOWN: u16 = u16::MAX;

/// Builds a Redis listpack.
pub struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// The backlen bytes of an entry of `l` bytes (encoding + data), written so a reader
/// walking backwards finds the length. Redis compat: listpack.c lpEncodeBacklen.
#[inline]
fn put_backlen(out: &mut Vec<u8>, l: usize) {
    if l < 128 {
        out.push(l as u8);
        return;
    }
    let (tmp, n) = backlen(l);
    out.extend_from_slice(tmp.get(..n).unwrap_or_default());
}

/// The backlen bytes of `put_backlen`, and how many of them there are.
#[inline]
fn backlen(l: usize) -> ([u8; 5], usize) {
    let mut tmp = [0u8; 5];
    let n = backlen_size(l);
    // Most significant group first; every byte but the first has the high bit set.
    for (i, t) in tmp.iter_mut().take(n).enumerate() {
        let shift = 7 * (n - 1 - i);
        let group = ((l >> shift) & 127) as u8;
        *t = if i == 0 { group } else { group | 128 };
    }
    (tmp, n)
}

#[inline]
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// A canonical integer in the range listpack may store as one (lpStringToInt64).
fn lp_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    num::parse_i64(s)
}

impl LpWriter {
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    /// An empty listpack with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        let mut buf = Vec::with_capacity(cap.max(LP_HDR + 1));
        buf.extend_from_slice(&[0u8; LP_HDR]);
        LpWriter { buf, count: 0 }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the listpack would take now (header, entries, terminator).
    pub fn bytes_len(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends an element, stored as an integer when it is one (like lpAppend).
    #[inline]
    pub fn push(&mut self, s: &[u8]) {
        self.push_within(s, s)
    }

    /// `push` of the element at the start of `within` (at least `s` long): an element of
    /// up to 16 bytes that is no integer (most of a list's) is copied from there in one
    /// fixed-size move when `within` is long enough, which beats a call to copy a few
    /// bytes (a list's elements come out of its node buffers with more bytes after them).
    #[inline(always)]
    pub fn push_within(&mut self, s: &[u8], within: &[u8]) {
        let n = s.len();
        if n <= 16 && !s.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') {
            if let Some(c) = within.first_chunk::<16>() {
                // Header, 16 bytes from the element on cut back to its n, backlen (2 + n < 128).
                let start = self.buf.len();
                self.buf.reserve(18);
                self.buf.push(0x80 | n as u8);
                self.buf.extend_from_slice(c);
                self.buf.truncate(start + 1 + n);
                self.buf.push(n as u8 + 1);
                self.count += 1;
                return;
            }
        }
        self.push_any(s)
    }

    #[inline(never)]
    fn push_any(&mut self, s: &[u8]) {
        match lp_int(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        if (0..=127).contains(&v) {
            // The 7-bit form and its backlen (1) in one store.
            self.buf.extend_from_slice(&[v as u8, 1]);
            self.count += 1;
            return;
        }
        let start = self.buf.len();
        let b = &mut self.buf;
        if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            b.push(0xC0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(w) = i32::try_from(v) {
            b.push(0xF3);
            b.extend_from_slice(&w.to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l);
        self.count += 1;
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// Room for `bytes` more bytes.
    pub fn reserve(&mut self, bytes: usize) {
        self.buf.reserve(bytes);
    }

    /// Empties the listpack, keeping its buffer.
    pub fn clear(&mut self) {
        self.buf.truncate(LP_HDR);
        self.count = 0;
    }

    /// Gives back the buffer's memory past `max` bytes (after a big listpack).
    pub fn trim(&mut self, max: usize) {
        if self.buf.capacity() > max {
            self.buf = Vec::with_capacity(max);
            self.buf.extend_from_slice(&[0u8; LP_HDR]);
            self.count = 0;
        }
    }

    /// The finished listpack's bytes, the writer left to be cleared and reused.
    pub fn finished(&mut self) -> &[u8] {
        self.seal();
        &self.buf
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.seal();
        self.buf
    }

    /// Adds the terminator and fills in the header.
    fn seal(&mut self) {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        let count = if self.count < LP_COUNT_UNKNOWN as usize {
            self.count as u16
        } else {
            LP_COUNT_UNKNOWN
        };
        if let Some(h) = self.buf.get_mut(..LP_HDR) {
            h[..4].copy_from_slice(&total.to_le_bytes());
            h[4..6].copy_from_slice(&count.to_le_bytes());
        }
    }
}

/// One decoded element: a string or an integer.
#[derive(Debug, Clone, PartialEq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    /// The element's bytes, an integer's digits written into `buf` (no allocation).
    pub fn bytes<'b>(&'b self, buf: &'b mut [u8; 24]) -> &'b [u8] {
        match self {
            Elem::Str(s) => s,
            Elem::Int(v) => num::i64_digits(*v, buf),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes(&mut [0u8; 24]).to_vec()
    }
}

/// An element's bytes, owned where they are an integer's digits: a value to keep
/// beside others without a buffer shared between them.
pub enum ElemBytes<'a> {
    Str(&'a [u8]),
    /// Digits written at the end of the array, from this offset.
    Int([u8; 24], u8),
}

impl<'a> From<&Elem<'a>> for ElemBytes<'a> {
    fn from(e: &Elem<'a>) -> Self {
        match e {
            Elem::Str(s) => ElemBytes::Str(s),
            Elem::Int(v) => {
                let mut buf = [0u8; 24];
                let n = num::i64_digits(*v, &mut buf).len();
                ElemBytes::Int(buf, (24 - n) as u8)
            }
        }
    }
}

impl AsRef<[u8]> for ElemBytes<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            ElemBytes::Str(s) => s,
            ElemBytes::Int(buf, at) => buf.get(*at as usize..).unwrap_or_default(),
        }
    }
}

/// Every element as bytes: strings where they lie, integers' digits written one after
/// another into `digits` (one buffer rather than an allocation each).
pub fn elem_bytes<'a>(elems: &[Elem<'a>], digits: &'a mut Vec<u8>) -> Vec<&'a [u8]> {
    elem_bytes_where(elems, digits, |_| true)
}

/// `elem_bytes` of the elements whose index `wanted` accepts; the others are empty.
pub fn elem_bytes_where<'a>(
    elems: &[Elem<'a>],
    digits: &'a mut Vec<u8>,
    wanted: impl Fn(usize) -> bool,
) -> Vec<&'a [u8]> {
    digits.clear();
    let spans: Vec<(usize, usize)> = elems
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Elem::Int(_) if !wanted(i) => (0, 0),
            Elem::Str(_) => (0, 0),
            Elem::Int(_) => {
                let at = digits.len();
                digits.extend_from_slice(e.bytes(&mut [0u8; 24]));
                (at, digits.len())
            }
        })
        .collect();
    let digits: &'a Vec<u8> = digits;
    elems
        .iter()
        .zip(spans)
        .enumerate()
        .map(|(i, (e, (a, b)))| match e {
            Elem::Str(_) if !wanted(i) => &[][..],
            Elem::Str(s) => *s,
            Elem::Int(_) => digits.get(a..b).unwrap_or_default(),
        })
        .collect()
}

fn le_uint(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64)
}

/// Sign-extends the low `bits` bits of `u`.
fn sign_extend(u: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// Decodes and validates a whole listpack: header size, every entry's encoding and
/// backlen, the terminator, and the header count. Redis compat: lpValidateIntegrity
/// (deep) and lpValidateNext.
pub fn listpack_decode(b: &[u8]) -> Option<Vec<Elem<'_>>> {
    let hdr = b.get(..LP_HDR)?;
    let total = u32::from_le_bytes(hdr.get(..4)?.try_into().ok()?) as usize;
    let count = u16::from_le_bytes(hdr.get(4..6)?.try_into().ok()?);
    if total != b.len() || b.last() != Some(&LP_EOF) || b.len() < LP_HDR + 1 {
        return None;
    }
    let end = b.len() - 1;
    let mut out = Vec::with_capacity((count as usize).min(b.len() / 2));
    let mut p = LP_HDR;
    while p < end {
        let first = *b.get(p)?;
        let (elem, enc_len) = match first {
            0x00..=0x7F => (Elem::Int(first as i64), 1),
            0x80..=0xBF => {
                let n = (first & 0x3f) as usize;
                (Elem::Str(b.get(p + 1..p + 1 + n)?), 1 + n)
            }
            0xC0..=0xDF => {
                let u = (((first & 0x1f) as u64) << 8) | *b.get(p + 1)? as u64;
                (Elem::Int(sign_extend(u, 13)), 2)
            }
            0xE0..=0xEF => {
                let n = (((first & 0x0f) as usize) << 8) | *b.get(p + 1)? as usize;
                (Elem::Str(b.get(p + 2..(p + 2).checked_add(n)?)?), 2 + n)
            }
            0xF0 => {
                let n = le_uint(b.get(p + 1..p + 5)?) as usize;
                (Elem::Str(b.get(p + 5..(p + 5).checked_add(n)?)?), 5 + n)
            }
            0xF1 => (Elem::Int(sign_extend(le_uint(b.get(p + 1..p + 3)?), 16)), 3),
            0xF2 => (Elem::Int(sign_extend(le_uint(b.get(p + 1..p + 4)?), 24)), 4),
            0xF3 => (Elem::Int(sign_extend(le_uint(b.get(p + 1..p + 5)?), 32)), 5),
            0xF4 => (Elem::Int(le_uint(b.get(p + 1..p + 9)?) as i64), 9),
            _ => return None,
        };
        let bl_start = p.checked_add(enc_len)?;
        let next = if enc_len < 128 {
            // One backlen byte (most entries): no slice compare.
            (b.get(bl_start) == Some(&(enc_len as u8))).then_some(bl_start + 1)?
        } else {
            let (expect, bl) = backlen(enc_len);
            let next = bl_start.checked_add(bl)?;
            (b.get(bl_start..next)? == expect.get(..bl)?).then_some(next)?
        };
        if next > end {
            return None;
        }
        out.push(elem);
        p = next;
    }
    if p != end || (count != LP_COUNT_UNKNOWN && count as usize != out.len()) {
        return None;
    }
    Some(out)
}

/// Decodes and validates a whole ziplist: header, prevlen chain, tail offset, count.
/// Redis compat: ziplist.c ziplistValidateIntegrity (deep) and zipEntrySafe.
pub fn ziplist_decode(b: &[u8]) -> Option<Vec<Elem<'_>>> {
    const HDR: usize = 10;
    let total = le_uint(b.get(..4)?) as usize;
    let tail = le_uint(b.get(4..8)?) as usize;
    let count = le_uint(b.get(8..10)?) as usize;
    // An empty ziplist's tail is the terminator itself; otherwise the last entry is checked below.
    if total != b.len() || b.last() != Some(&0xFF) || tail > b.len() - 1 || tail < HDR {
        return None;
    }
    let end = b.len() - 1;
    let mut out = Vec::with_capacity(count.min(b.len() / 2));
    let mut p = HDR;
    let mut prev_len = 0usize;
    let mut last_start = None;
    while p < end {
        let (plen, ph) = match *b.get(p)? {
            0xFE => (le_uint(b.get(p + 1..p + 5)?) as usize, 5),
            0xFF => return None,
            x => (x as usize, 1),
        };
        if plen != prev_len {
            return None;
        }
        let e = p + ph;
        let enc = *b.get(e)?;
        let (hdr_len, data_len, elem): (usize, usize, Option<Elem>) = match enc >> 6 {
            0 => (1, (enc & 0x3f) as usize, None),
            1 => (2, (((enc & 0x3f) as usize) << 8) | *b.get(e + 1)? as usize, None),
            2 => {
                // Only the top two bits select the 32-bit length form (ZIP_ENTRY_ENCODING).
                let n = u32::from_be_bytes(b.get(e + 1..e + 5)?.try_into().ok()?) as usize;
                (5, n, None)
            }
            _ => match enc {
                0xC0 => (1, 2, Some(Elem::Int(sign_extend(le_uint(b.get(e + 1..e + 3)?), 16)))),
                0xD0 => (1, 4, Some(Elem::Int(sign_extend(le_uint(b.get(e + 1..e + 5)?), 32)))),
                0xE0 => (1, 8, Some(Elem::Int(le_uint(b.get(e + 1..e + 9)?) as i64))),
                0xF0 => (1, 3, Some(Elem::Int(sign_extend(le_uint(b.get(e + 1..e + 4)?), 24)))),
                0xFE => (1, 1, Some(Elem::Int(*b.get(e + 1)? as i8 as i64))),
                0xF1..=0xFD => (1, 0, Some(Elem::Int((enc & 0x0f) as i64 - 1))),
                _ => return None,
            },
        };
        let data = e.checked_add(hdr_len)?;
        let next = data.checked_add(data_len)?;
        if next > end {
            return None;
        }
        let elem = match elem {
            Some(x) => x,
            None => Elem::Str(b.get(data..next)?),
        };
        out.push(elem);
        last_start = Some(p);
        prev_len = next - p;
        p = next;
    }
    if p != end {
        return None;
    }
    match last_start {
        Some(ls) if ls != tail => return None,
        None if tail != HDR => return None,
        _ => {}
    }
    if count != u16::MAX as usize && count != out.len() {
        return None;
    }
    Some(out)
}

/// Decodes and validates a zipmap into (field, value) pairs.
/// Redis compat: zipmap.c zipmapValidateIntegrity.
pub fn zipmap_decode(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    const BIGLEN: u8 = 254;
    const END: u8 = 255;
    let declared = *b.first()?;
    let mut p = 1usize;
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> Option<usize> {
        let x = *b.get(*p)?;
        if x < BIGLEN {
            *p += 1;
            Some(x as usize)
        } else if x == BIGLEN {
            let n = le_uint(b.get(*p + 1..*p + 5)?) as usize;
            *p += 5;
            Some(n)
        } else {
            None
        }
    };
    loop {
        if *b.get(p)? == END {
            p += 1;
            break;
        }
        let klen = read_len(&mut p)?;
        let key = b.get(p..p.checked_add(klen)?)?;
        p += klen;
        let vlen = read_len(&mut p)?;
        let free = *b.get(p)? as usize;
        p += 1;
        let val = b.get(p..p.checked_add(vlen)?)?;
        p = p.checked_add(vlen)?.checked_add(free)?;
        out.push((key, val));
    }
    if p != b.len() || (declared < BIGLEN && declared as usize != out.len()) || out.is_empty() {
        return None;
    }
    Some(out)
}

/// Decodes and validates a Redis intset (`[encoding: u32 LE][length: u32 LE][values]`,
/// strictly ascending). Redis compat: intset.c intsetValidateIntegrity (deep).
pub fn intset_decode(b: &[u8]) -> Option<Vec<i64>> {
    let w = le_uint(b.get(..4)?) as usize;
    let n = le_uint(b.get(4..8)?) as usize;
    if !matches!(w, 2 | 4 | 8) || n.checked_mul(w)?.checked_add(8)? != b.len() || n == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for c in b.get(8..)?.chunks_exact(w) {
        let v = sign_extend(le_uint(c), (w * 8) as u32);
        if out.last().is_some_and(|&l| l >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

/// Encodes ascending distinct integers as a Redis intset of width `w` (2, 4 or 8).
#[cfg(test)]
pub fn intset_encode(w: usize, vals: impl ExactSizeIterator<Item = i64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + w * vals.len());
    out.extend_from_slice(&(w as u32).to_le_bytes());
    out.extend_from_slice(&(vals.len() as u32).to_le_bytes());
    for v in vals {
        out.extend_from_slice(v.to_le_bytes().get(..w).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_pushed_from_within_a_longer_buffer_is_encoded_alone() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let (mut fast, mut slow) = (LpWriter::new(), LpWriter::new());
        for _ in 0..20_000 {
            let n = rng.random_range(0..40);
            let after = rng.random_range(0..40);
            let buf: Vec<u8> = (0..n + after)
                .map(|_| *b"-0123abc:".get(rng.random_range(0..9)).unwrap())
                .collect();
            fast.push_within(&buf[..n], &buf);
            slow.push_any(&buf[..n]);
        }
        assert_eq!(fast.len(), 20_000);
        assert_eq!(fast.finished(), slow.finished());
    }

    #[test]
    fn listpack_round_trips_every_encoding() {
        let big = vec![b'x'; 5000];
        let mid = vec![b'y'; 100];
        let ints: [i64; 12] = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            40000,
            -8388608,
            1 << 31,
            i64::MIN,
        ];
        let mut w = LpWriter::new();
        for v in ints {
            w.push_int(v);
        }
        w.push(b"hello");
        w.push(&mid);
        w.push(&big);
        w.push(b"");
        w.push(b"007");
        let bytes = w.finish();
        let d = listpack_decode(&bytes).unwrap();
        assert_eq!(d.len(), 17);
        for (i, v) in ints.iter().enumerate() {
            assert_eq!(d[i], Elem::Int(*v));
        }
        assert_eq!(d[12], Elem::Str(b"hello"));
        assert_eq!(d[13], Elem::Str(&mid));
        assert_eq!(d[14], Elem::Str(&big));
        assert_eq!(d[16], Elem::Str(b"007"));
        // An empty ziplist (header, terminator) decodes to nothing.
        let empty = [11u8, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xFF];
        assert_eq!(ziplist_decode(&empty).unwrap(), vec![]);
        // A known Redis listpack: RPUSH l a 1 (total 14 bytes, 2 elements).
        let redis = [14, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xFF];
        assert!(listpack_decode(&redis).is_none(), "wrong total must fail");
        let redis = [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xFF];
        assert_eq!(listpack_decode(&redis).unwrap(), vec![Elem::Str(b"a"), Elem::Int(1)]);
    }

    #[test]
    fn backlen_widths() {
        for l in [1usize, 127, 128, 16382, 16383, 2097150, 2097151] {
            let mut v = Vec::new();
            put_backlen(&mut v, l);
            assert_eq!(v.len(), backlen_size(l));
        }
    }

    #[test]
    fn ziplist_and_zipmap_decode() {
        // Ziplist of "a", 5 (immediate), 300 (int16): built by hand like ziplist.c.
        let mut z = vec![0u8; 10];
        let e1 = [0u8, 0x01, b'a'];
        let e2 = [3u8, 0xF6];
        let e3 = [2u8, 0xC0, 0x2C, 0x01];
        z.extend_from_slice(&e1);
        z.extend_from_slice(&e2);
        let tail = z.len();
        z.extend_from_slice(&e3);
        z.push(0xFF);
        let total = z.len() as u32;
        z[..4].copy_from_slice(&total.to_le_bytes());
        z[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        z[8..10].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(
            ziplist_decode(&z).unwrap(),
            vec![Elem::Str(b"a"), Elem::Int(5), Elem::Int(300)]
        );
        z[4] ^= 1;
        assert!(ziplist_decode(&z).is_none());
        let zm = [1u8, 1, b'f', 2, 1, b'v', b'w', 0, 0xFF];
        assert_eq!(zipmap_decode(&zm).unwrap(), vec![(&b"f"[..], &b"vw"[..])]);
        assert!(zipmap_decode(&zm[..8]).is_none());
    }

    #[test]
    fn intset_round_trip() {
        let b = intset_encode(4, [-70000i64, 1, 70000].into_iter());
        assert_eq!(intset_decode(&b).unwrap(), vec![-70000, 1, 70000]);
        let b = intset_encode(2, [3i64, 1].into_iter());
        assert!(intset_decode(&b).is_none());
    }
}
