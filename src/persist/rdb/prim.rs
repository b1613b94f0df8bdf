//! RDB primitives: the length encoding (6/14/32/64 bits), strings (raw, integer-encoded,
//! LZF-compressed), binary and text doubles, and millisecond times. `Reader` walks an
//! untrusted byte slice and never reads, allocates or trusts a length beyond what is left.
//! Redis compat: rdb.c (rdbSaveLen, rdbSaveRawString, rdbGenericLoadStringObject ...).
use std::borrow::Cow;

use super::RdbError;
use crate::util::num;

pub const ENC_INT8: u8 = 0;
pub const ENC_INT16: u8 = 1;
pub const ENC_INT32: u8 = 2;
pub const ENC_LZF: u8 = 3;

/// Appends RDB primitives to a byte buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
    /// Try LZF on strings over 20 bytes (`rdbcompression`).
    pub compress: bool,
    /// Deferred mode: strings that may compress are copied raw (no length prefix) and
    /// their (offset, length) recorded here; `encode_deferred` finishes them later, so
    /// the LZF work can run on another thread.
    pub deferred: Option<Vec<(usize, usize)>>,
    /// Where strings are compressed before they are appended (reused).
    lzf: Vec<u8>,
}

/// Room `Writer::lzf` keeps between strings.
const LZF_KEPT: usize = 64 << 10;

/// The bytes of length `n` as `Writer::len` writes them, and how many there are.
pub fn len_bytes(n: u64) -> ([u8; 9], usize) {
    let mut b = [0u8; 9];
    let k = if n < 1 << 6 {
        b[0] = n as u8;
        1
    } else if n < 1 << 14 {
        b[0] = ((n >> 8) as u8) | 0x40;
        b[1] = n as u8;
        2
    } else if n <= u32::MAX as u64 {
        b[0] = 0x80;
        b[1..5].copy_from_slice(&(n as u32).to_be_bytes());
        5
    } else {
        b[0] = 0x81;
        b[1..9].copy_from_slice(&n.to_be_bytes());
        9
    };
    (b, k)
}

impl Writer {
    pub fn new(compress: bool) -> Self {
        Writer {
            buf: Vec::new(),
            compress,
            deferred: None,
            lzf: Vec::new(),
        }
    }

    /// A writer in deferred mode (see `deferred`).
    pub fn new_deferred(compress: bool) -> Self {
        Writer {
            buf: Vec::new(),
            compress,
            deferred: Some(Vec::new()),
            lzf: Vec::new(),
        }
    }

    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Redis compat: rdb.c rdbSaveLen.
    pub fn len(&mut self, n: u64) {
        let (b, k) = len_bytes(n);
        self.buf.extend_from_slice(b.get(..k).unwrap_or_default());
    }

    /// Writes the length `n` over the `reserved` bytes at `at` (held for a count known
    /// only once what follows was written), moving what follows when its encoding is
    /// shorter or longer.
    pub fn patch_len(&mut self, at: usize, reserved: usize, n: u64) {
        let (b, k) = len_bytes(n);
        let end = at.saturating_add(reserved).min(self.buf.len());
        self.buf
            .splice(at.min(end)..end, b.get(..k).unwrap_or_default().iter().copied());
        if let Some(d) = self.deferred.as_mut() {
            for (off, _) in d.iter_mut().filter(|(off, _)| *off >= end) {
                *off = *off + k - (end - at);
            }
        }
    }

    /// An integer as the shortest integer-encoded string, if it fits 32 bits.
    /// Redis compat: rdb.c rdbEncodeInteger.
    fn int_enc(&mut self, v: i64) -> bool {
        if let Ok(b) = i8::try_from(v) {
            self.buf.extend_from_slice(&[0xC0 | ENC_INT8, b as u8]);
        } else if let Ok(s) = i16::try_from(v) {
            self.buf.push(0xC0 | ENC_INT16);
            self.buf.extend_from_slice(&s.to_le_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.buf.push(0xC0 | ENC_INT32);
            self.buf.extend_from_slice(&w.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// A string, integer-encoded when it is a short canonical integer, LZF-compressed when
    /// enabled and it saves at least 4 bytes. Redis compat: rdb.c rdbSaveRawString.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = num::parse_i64(s) {
                if self.int_enc(v) {
                    return;
                }
            }
        }
        if self.compress && s.len() > 20 {
            if let Some(d) = self.deferred.as_mut() {
                d.push((self.buf.len(), s.len()));
                self.buf.extend_from_slice(s);
                return;
            }
            // Worth it only when it saves at least 4 bytes (rdbSaveLzfStringObject).
            if crate::util::lzf::compress_into(s, s.len() - 4, &mut self.lzf) {
                self.buf.push(0xC0 | ENC_LZF);
                self.len(self.lzf.len() as u64);
                self.len(s.len() as u64);
                self.buf.extend_from_slice(&self.lzf);
                if self.lzf.capacity() > LZF_KEPT {
                    self.lzf = Vec::new();
                }
                return;
            }
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    /// The head of a string longer than 20 bytes whose bytes the caller appends next
    /// (with `bytes`): the same output as `string` in a deferred writer or without
    /// compression (a direct writer would leave it uncompressed, which loads the same).
    pub fn raw_string_head(&mut self, n: usize) {
        debug_assert!(n > 20);
        if let (true, Some(d)) = (self.compress, self.deferred.as_mut()) {
            d.push((self.buf.len(), n));
            return;
        }
        self.len(n as u64);
    }

    /// An integer value saved as a string (set members, list elements held as numbers).
    pub fn int_string(&mut self, v: i64) {
        if !self.int_enc(v) {
            let mut b = Vec::with_capacity(20);
            num::fmt_i64(v, &mut b);
            self.len(b.len() as u64);
            self.buf.extend_from_slice(&b);
        }
    }

    pub fn binary_double(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn millis(&mut self, ms: i64) {
        self.buf.extend_from_slice(&ms.to_le_bytes());
    }
}

/// Turns the output of a deferred writer (`raw` with its `spans`) into final RDB bytes
/// appended to `out` (which compresses). False if a span lies outside `raw`.
pub fn encode_deferred(raw: &[u8], spans: &[(usize, usize)], out: &mut Writer) -> bool {
    let mut at = 0;
    for &(start, len) in spans {
        let (Some(plain), Some(s)) = (raw.get(at..start), raw.get(start..start.saturating_add(len))) else {
            return false;
        };
        out.bytes(plain);
        out.string(s);
        at = start + len;
    }
    match raw.get(at..) {
        Some(rest) => {
            out.bytes(rest);
            true
        }
        None => false,
    }
}

/// Reads RDB primitives from an untrusted slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
}

/// What a length prefix may announce instead of a length.
pub enum LenOrEnc {
    Len(u64),
    Enc(u8),
}

/// The largest expansion LZF allows: a 2-byte back reference yields up to 264 bytes.
const LZF_MAX_RATIO: usize = 132;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> &'a [u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self.pos.checked_add(n).ok_or(RdbError::Short)?;
        let s = self.buf.get(self.pos..end).ok_or(RdbError::Short)?;
        self.pos = end;
        Ok(s)
    }

    pub fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        self.take(N)?.try_into().map_err(|_| RdbError::Short)
    }

    pub fn u32_le(&mut self) -> Result<u32, RdbError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn i64_le(&mut self) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Redis compat: rdb.c rdbLoadLenByRef.
    pub fn len_or_enc(&mut self) -> Result<LenOrEnc, RdbError> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => LenOrEnc::Len((b & 0x3f) as u64),
            1 => LenOrEnc::Len((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            3 => LenOrEnc::Enc(b & 0x3f),
            _ => match b {
                0x80 => LenOrEnc::Len(u32::from_be_bytes(self.array()?) as u64),
                0x81 => LenOrEnc::Len(u64::from_be_bytes(self.array()?)),
                _ => {
                    return Err(RdbError::corrupt(format!(
                        "Unknown length encoding {b} in rdbLoadLen()"
                    )))
                }
            },
        })
    }

    pub fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_enc()? {
            LenOrEnc::Len(n) => Ok(n),
            LenOrEnc::Enc(_) => Err(RdbError::corrupt("Unexpected encoded length")),
        }
    }

    /// A length that must also fit in memory: at most what the input still holds
    /// times `per`, so a forged count cannot make us reserve more than the data backs.
    pub fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        usize::try_from(n).map_err(|_| RdbError::corrupt("Length out of range"))
    }

    /// Capacity hint for `n` items each taking at least one input byte.
    pub fn cap_hint(&self, n: usize) -> usize {
        n.min(self.remaining())
    }

    /// A string in any of its encodings. Redis compat: rdb.c rdbGenericLoadStringObject.
    pub fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        self.string_cow().map(Cow::into_owned)
    }

    /// `string`, borrowed from the input when it is stored as it is.
    pub fn string_cow(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        match self.len_or_enc()? {
            LenOrEnc::Len(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Short)?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            LenOrEnc::Enc(ENC_INT8) => Ok(Cow::Owned(int_bytes(self.byte()? as i8 as i64))),
            LenOrEnc::Enc(ENC_INT16) => Ok(Cow::Owned(int_bytes(i16::from_le_bytes(self.array()?) as i64))),
            LenOrEnc::Enc(ENC_INT32) => Ok(Cow::Owned(int_bytes(i32::from_le_bytes(self.array()?) as i64))),
            LenOrEnc::Enc(ENC_LZF) => {
                let clen = self.count()?;
                let len = self.count()?;
                let data = self.take(clen)?;
                if len == 0 || len > clen.saturating_mul(LZF_MAX_RATIO) {
                    return Err(RdbError::corrupt("Invalid LZF compressed string"));
                }
                crate::util::lzf::decompress(data, len)
                    .map(Cow::Owned)
                    .ok_or_else(|| RdbError::corrupt("Invalid LZF compressed string"))
            }
            LenOrEnc::Enc(e) => Err(RdbError::corrupt(format!("Unknown RDB string encoding type {e}"))),
        }
    }

    pub fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// The old text double: a length byte (253 nan, 254 +inf, 255 -inf) then ASCII.
    /// Redis compat: rdb.c rdbLoadDoubleValue.
    pub fn text_double(&mut self) -> Result<f64, RdbError> {
        let n = self.byte()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let s = self.take(n as usize)?;
                num::parse_f64(s)
                    .or_else(|| std::str::from_utf8(s).ok().and_then(|t| t.trim().parse().ok()))
                    .ok_or_else(|| RdbError::corrupt("Invalid double value"))
            }
        }
    }
}

fn int_bytes(v: i64) -> Vec<u8> {
    let mut b = Vec::with_capacity(20);
    num::fmt_i64(v, &mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_strings_encode_like_direct_ones() {
        let items: [&[u8]; 6] = [
            b"12",
            b"short",
            &[b'a'; 300],
            b"abcdefghijklmnopqrstuvwxyz0123",
            &[7u8; 21],
            b"-5",
        ];
        let mut direct = Writer::new(true);
        let mut deferred = Writer::new_deferred(true);
        for w in [&mut direct, &mut deferred] {
            for s in items {
                w.byte(0xAA);
                w.string(s);
                w.len(s.len() as u64);
            }
        }
        let spans = deferred.deferred.take().unwrap();
        assert_eq!(spans.len(), 3);
        let mut out = Writer::new(true);
        assert!(encode_deferred(&deferred.buf, &spans, &mut out));
        assert_eq!(out.buf, direct.buf);
        assert!(!encode_deferred(b"abc", &[(2, 5)], &mut Writer::new(true)));
    }

    #[test]
    fn lengths_round_trip_at_every_width() {
        for n in [
            0u64,
            63,
            64,
            16383,
            16384,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut w = Writer::new(false);
            w.len(n);
            let mut r = Reader::new(&w.buf);
            assert_eq!(r.len().unwrap(), n);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn strings_round_trip_in_every_encoding() {
        let long = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabc".to_vec();
        for s in [
            &b""[..],
            b"0",
            b"-128",
            b"127",
            b"-32768",
            b"2147483647",
            b"-2147483648",
            b"2147483648",
            b"007",
            b"+1",
            b"hello",
            &long,
        ] {
            for compress in [false, true] {
                let mut w = Writer::new(compress);
                w.string(s);
                let mut r = Reader::new(&w.buf);
                assert_eq!(r.string().unwrap(), s, "{:?}", String::from_utf8_lossy(s));
                assert!(r.is_empty());
            }
        }
        let mut w = Writer::new(true);
        w.string(&long);
        assert_eq!(w.buf.first(), Some(&0xC3));
        let mut w = Writer::new(false);
        w.string(b"-100");
        assert_eq!(w.buf, [0xC0, 0x9C]);
    }

    #[test]
    fn forged_lzf_lengths_are_refused() {
        // clen 1, len 1 GB: must not allocate the announced size.
        let buf = [0xC3, 0x01, 0x80, 0x40, 0, 0, 0, 0x00];
        assert!(Reader::new(&buf).string().is_err());
        assert!(Reader::new(&[0x80, 0xff, 0xff, 0xff, 0xff]).string().is_err());
    }
}
