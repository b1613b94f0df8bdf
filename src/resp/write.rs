//! ReplyBuf: the per-client output buffer and the one place RESP2 and RESP3 differ.
//! Appends encoded replies to a byte vector; the reactor flushes it once per read batch.
//! Deferred lengths (replies whose element count is known only at the end) are
//! patched in by `end_deferred`.
use crate::util::num::{fmt_f64, fmt_f64_resp3, fmt_i64};

#[derive(Debug, Default)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    pub resp3: bool,
    /// Byte ranges of RESP3 push messages written while `track_pushes` is set: they
    /// reach the client even when CLIENT REPLY OFF drops the command's own reply.
    pub pushes: Vec<(usize, usize)>,
    pub track_pushes: bool,
    /// Where the first reply of deferred length written since this was last reset (the
    /// start of a top-level command) began: output-buffer limits count from there in full.
    pub deferred_from: Option<usize>,
}

/// A reply whose length is written later: remembers where its header goes.
#[derive(Debug, Clone, Copy)]
pub struct Deferred {
    at: usize,
    kind: u8,
}

/// Past this many bytes, a bulk string grows the buffer to what it needs (see
/// `room_for_bulk`) rather than doubling it.
const BIG_REPLY: usize = 1 << 20;
/// Room a big bulk string leaves after itself for the rest of the reply.
const BULK_TAIL: usize = 16 << 10;

impl ReplyBuf {
    pub fn new() -> Self {
        Self::default()
    }

    /// One reservation for a bulk string's header, bytes and CRLF (`n`). Once the
    /// buffer would pass BIG_REPLY, it grows to what it needs plus a little room for
    /// what follows, or a quarter more if that is larger (many big strings still grow
    /// it geometrically), instead of doubling: a 512 MB value followed by a few small
    /// ones (MGET) would otherwise hold 1 GB, counted against maxmemory-clients and the
    /// output buffer limits, and copy 512 MB once more.
    #[inline]
    fn room_for_bulk(&mut self, n: usize) {
        let len = self.buf.len();
        if self.buf.capacity() - len >= n {
            return;
        }
        if len + n < BIG_REPLY {
            self.buf.reserve(n);
            return;
        }
        let want = (len + n + BULK_TAIL).max(len + len / 4);
        self.buf.reserve_exact(want - len);
    }

    pub fn with_capacity(cap: usize) -> Self {
        Self {
            buf: Vec::with_capacity(cap),
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// A buffer for output held back from this one (same protocol and push tracking).
    pub fn held_for(&self) -> ReplyBuf {
        ReplyBuf {
            resp3: self.resp3,
            track_pushes: self.track_pushes,
            ..ReplyBuf::default()
        }
    }

    /// Appends what `held` (see `held_for`) collected, its push marks included.
    pub fn append_held(&mut self, held: ReplyBuf) {
        let from = self.buf.len();
        self.buf.extend_from_slice(&held.buf);
        if self.track_pushes {
            self.pushes
                .extend(held.pushes.iter().map(|&(s, e)| (s + from, e + from)));
        }
    }

    /// Records that `buf[from..]` is a push message (see `pushes`).
    pub fn mark_push(&mut self, from: usize) {
        if self.track_pushes {
            self.pushes.push((from, self.buf.len()));
        }
    }

    /// Drops everything written since `mark` except push messages.
    pub fn truncate_keeping_pushes(&mut self, mark: usize) {
        let pushes = std::mem::take(&mut self.pushes);
        let kept: Vec<u8> = pushes
            .iter()
            .filter(|(s, _)| *s >= mark)
            .filter_map(|&(s, e)| self.buf.get(s..e))
            .flatten()
            .copied()
            .collect();
        self.buf.truncate(mark);
        self.buf.extend_from_slice(&kept);
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        fmt_i64(n, &mut self.buf);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`-style status. The text must not contain CR/LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn simple_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// An error reply. `s` is the full text including the code (`ERR ...`,
    /// `WRONGTYPE ...`); newlines are replaced by spaces so the protocol stays valid.
    pub fn error(&mut self, s: &str) {
        self.error_bytes(s.as_bytes());
    }

    /// [`Self::error`] for a text that need not be UTF-8 (scripts' errors are bytes).
    pub fn error_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'-');
        let start = self.buf.len();
        self.buf.extend_from_slice(s);
        for b in &mut self.buf[start..] {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, b: &[u8]) {
        self.room_for_bulk(b.len() + 24);
        self.header(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = Vec::with_capacity(24);
        fmt_i64(n, &mut tmp);
        self.bulk(&tmp);
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// An out-of-band push (`>` in RESP3, an array in RESP2).
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// A double: RESP3 `,` type, or a bulk string in RESP2.
    pub fn double(&mut self, d: f64) {
        if self.resp3 {
            self.buf.push(b',');
            fmt_f64_resp3(d, &mut self.buf);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            let mut tmp = Vec::with_capacity(32);
            fmt_f64(d, &mut tmp);
            self.bulk(&tmp);
        }
    }

    /// A number already written in human form (`17` digits, no exponent): the RESP3
    /// double type, or a bulk string in RESP2 (Redis's addReplyHumanLongDouble).
    pub fn human_double(&mut self, text: &[u8]) {
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A boolean: RESP3 `#t/#f`, or the integer 1/0 in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim text (`=` in RESP3 with a 3-letter format), a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8], fmt: &str) {
        if self.resp3 {
            self.header(b'=', (text.len() + 4) as i64);
            self.buf.extend_from_slice(fmt.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// An array of bulk strings.
    pub fn bulks<'a, I: IntoIterator<Item = &'a [u8]>>(&mut self, items: I)
    where
        I::IntoIter: ExactSizeIterator,
    {
        let it = items.into_iter();
        self.array(it.len());
        for b in it {
            self.bulk(b);
        }
    }

    /// Records that a reply Redis writes with a deferred length starts here (we may
    /// know its length up front): see `deferred_from`.
    pub fn mark_deferred(&mut self) {
        self.note_deferred(self.buf.len());
    }

    fn note_deferred(&mut self, at: usize) {
        self.deferred_from = Some(self.deferred_from.map_or(at, |f| f.min(at)));
    }

    /// Starts an array (kind b'*'), map (b'%') or set (b'~') whose length is unknown.
    pub fn begin_deferred(&mut self, kind: u8) -> Deferred {
        Deferred {
            at: self.buf.len(),
            kind,
        }
    }

    /// Writes the header of a deferred reply now that `n` elements (pairs for maps)
    /// follow it.
    pub fn end_deferred(&mut self, d: Deferred, n: usize) {
        self.note_deferred(d.at);
        let mut head = Vec::with_capacity(16);
        let (prefix, count) = match d.kind {
            b'%' if self.resp3 => (b'%', n),
            b'%' => (b'*', 2 * n),
            b'~' if self.resp3 => (b'~', n),
            _ => (b'*', n),
        };
        head.push(prefix);
        fmt_i64(count as i64, &mut head);
        head.extend_from_slice(b"\r\n");
        let at = d.at.min(self.buf.len());
        self.buf.splice(at..at, head);
    }

    /// Raw pre-encoded protocol bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_differ_only_where_they_should() {
        let mut r = ReplyBuf::new();
        r.null();
        r.map(1);
        r.double(1.5);
        r.boolean(true);
        assert_eq!(r.buf, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        let mut r = ReplyBuf {
            resp3: true,
            ..Default::default()
        };
        r.null();
        r.map(1);
        r.double(1.5);
        r.boolean(true);
        assert_eq!(r.buf, b"_\r\n%1\r\n,1.5\r\n#t\r\n");
    }

    #[test]
    fn deferred_lengths_and_errors() {
        let mut r = ReplyBuf::new();
        r.int(7);
        let d = r.begin_deferred(b'*');
        r.bulk(b"a");
        r.bulk(b"b");
        r.end_deferred(d, 2);
        r.error("ERR bad\r\nthing");
        assert_eq!(r.buf, b":7\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n-ERR bad  thing\r\n");
    }

    /// A big bulk string and small ones after it take about their size, not twice it;
    /// many big ones still grow the buffer geometrically.
    #[test]
    fn big_bulk_strings_grow_the_buffer_to_about_their_size() {
        let big = vec![b'x'; 8 << 20];
        let mut r = ReplyBuf::with_capacity(1024);
        r.array(4);
        r.null();
        r.bulk(&big);
        r.bulk(b"small");
        r.bulk(b"small");
        assert!(r.buf.capacity() < big.len() + 2 * BULK_TAIL, "{}", r.buf.capacity());
        let mut grows = 0;
        for _ in 0..64 {
            let cap = r.buf.capacity();
            r.bulk(&big[..1 << 20]);
            grows += usize::from(r.buf.capacity() != cap);
        }
        assert!(grows < 20, "{grows} reallocations");
        assert!(r.buf.capacity() < r.buf.len() + r.buf.len() / 4 + 2 * BULK_TAIL);
    }
}
