//! ReplyBuf: the per-client output buffer and the one place RESP2 and RESP3 differ.
//! Appends encoded replies to a byte vector; the reactor flushes it once per read batch.
//! Deferred lengths (replies whose element count is known only at the end) are
//! patched in by `end_deferred`.
//!
//! A client's buffer is `chunked`: a reply past CHUNK bytes is cut into chunks as it
//! is written instead of growing one vector, which would copy it again at every
//! doubling and hold the old and the new copy at once (an LRANGE of a million small
//! elements took twice Redis's time and 1.5 times its memory that way). Positions
//! (`len`, marks, deferred headers, push ranges) count from the first chunk.
use std::borrow::Cow;

use crate::util::mem::{alloc_size, shrink_if_loose};
use crate::util::num::{fmt_f64, fmt_f64_resp3, fmt_i64};

#[derive(Debug, Default)]
pub struct ReplyBuf {
    /// The bytes after the full chunks (all of them, for a buffer not `chunked`).
    /// Code that reads or cuts a client's buffer goes through `len`, `tail_from`,
    /// `truncate` and `take_chunks`, which see the chunks too.
    pub buf: Vec<u8>,
    /// Full chunks written before `buf`, oldest first, their total length and the
    /// memory they take.
    chunks: Vec<Vec<u8>>,
    chunks_len: usize,
    chunks_mem: usize,
    /// Cuts output into chunks as it grows (see the module's comment).
    chunked: bool,
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

/// Past this many bytes, a buffer not chunked grows to what it needs (see
/// `room_for_bulk`) rather than doubling.
const BIG_REPLY: usize = 1 << 20;
/// Room a big bulk string leaves after itself for the rest of the reply.
const BULK_TAIL: usize = 16 << 10;
/// Room a chunk holding a big bulk string leaves at least after it.
const BIG_TAIL: usize = 1 << 10;
/// Size of the chunks a chunked buffer is cut into (an allocator size class: an odd
/// size just over it would cost the next class up).
pub const CHUNK: usize = 64 << 10;

impl ReplyBuf {
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer cut into chunks as it grows (see the module's comment).
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// Makes room for `n` more bytes in `buf` (every write asks first).
    #[inline]
    fn room(&mut self, n: usize) {
        if self.buf.capacity() - self.buf.len() < n {
            self.grow(n);
        }
    }

    #[cold]
    fn grow(&mut self, n: usize) {
        if !self.chunked {
            self.room_for_bulk(n);
            return;
        }
        let len = self.buf.len();
        if len + n <= CHUNK {
            let want = (self.buf.capacity() * 2).max(len + n).min(CHUNK);
            self.buf.reserve_exact(want - len);
            return;
        }
        // A big bulk string gets a chunk of its own size, with the room its allocation
        // size class leaves (and at least BIG_TAIL) for what follows.
        if len < CHUNK / 4 {
            // Little output before it is copied rather than left as a chunk mostly empty.
            self.buf.reserve_exact(alloc_size(len + n + BIG_TAIL) - len);
            return;
        }
        let cap = if n + BIG_TAIL > CHUNK {
            alloc_size(n + BIG_TAIL)
        } else {
            CHUNK
        };
        let mut full = std::mem::replace(&mut self.buf, Vec::with_capacity(cap));
        shrink_if_loose(&mut full);
        self.chunks_len += full.len();
        self.chunks_mem += alloc_size(full.capacity());
        self.chunks.push(full);
    }

    /// Room for `n` more bytes in a buffer not chunked. Once it would pass BIG_REPLY,
    /// it grows to what it needs plus a little room for what follows, or a quarter
    /// more if that is larger (many big strings still grow it geometrically), instead
    /// of doubling: a 512 MB value followed by a few small
    /// ones (MGET) would otherwise hold 1 GB, counted against maxmemory-clients and the
    /// output buffer limits, and copy 512 MB once more.
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
        self.chunks_len + self.buf.len()
    }

    /// Memory the output takes.
    pub fn memory(&self) -> usize {
        alloc_size(self.buf.capacity()) + self.chunks_mem
    }

    /// The output from position `from` on (copied only if it spans chunks).
    pub fn tail_from(&self, from: usize) -> Cow<'_, [u8]> {
        if from >= self.chunks_len {
            return Cow::Borrowed(self.buf.get(from - self.chunks_len..).unwrap_or_default());
        }
        let mut v = Vec::with_capacity(self.len() - from);
        self.copy_range(from, self.len(), &mut v);
        Cow::Owned(v)
    }

    /// Appends the output between positions `from` and `to` to `into`.
    fn copy_range(&self, from: usize, to: usize, into: &mut Vec<u8>) {
        let mut at = 0;
        for part in self.chunks.iter().chain(std::iter::once(&self.buf)) {
            let (s, e) = (from.max(at), to.min(at + part.len()));
            if s < e {
                into.extend_from_slice(part.get(s - at..e - at).unwrap_or_default());
            }
            at += part.len();
        }
    }

    /// The length of the line (CRLF included) at position `from`, if it ends within
    /// `max` bytes; 0 if not.
    pub fn line_len_at(&self, from: usize, max: usize) -> usize {
        let mut head = Vec::with_capacity(max);
        self.copy_range(from, (from + max).min(self.len()), &mut head);
        head.windows(2).position(|w| w == b"\r\n").map_or(0, |i| i + 2)
    }

    /// Drops the output from position `mark` on.
    pub fn truncate(&mut self, mark: usize) {
        while mark < self.chunks_len {
            let Some(last) = self.chunks.pop() else { break };
            self.chunks_len -= last.len();
            self.chunks_mem -= alloc_size(last.capacity());
            self.buf = last;
        }
        self.buf.truncate(mark.saturating_sub(self.chunks_len));
    }

    /// Drops all the output (push marks aside).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.chunks_len = 0;
        self.chunks_mem = 0;
        self.buf.clear();
    }

    /// Takes the full chunks out, oldest first: what is left is `buf`, and positions
    /// count from its start again.
    pub fn take_chunks(&mut self) -> Vec<Vec<u8>> {
        self.chunks_len = 0;
        self.chunks_mem = 0;
        std::mem::take(&mut self.chunks)
    }

    /// All the output in one vector (copied if it spans chunks).
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        self.tail_from(0)
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
        let from = self.len();
        self.raw(&held.to_bytes());
        if self.track_pushes {
            self.pushes
                .extend(held.pushes.iter().map(|&(s, e)| (s + from, e + from)));
        }
    }

    /// Records that `buf[from..]` is a push message (see `pushes`).
    pub fn mark_push(&mut self, from: usize) {
        if self.track_pushes {
            self.pushes.push((from, self.len()));
        }
    }

    /// Drops everything written since `mark` except push messages.
    pub fn truncate_keeping_pushes(&mut self, mark: usize) {
        let pushes = std::mem::take(&mut self.pushes);
        let mut kept = Vec::new();
        for &(s, e) in pushes.iter().filter(|(s, _)| *s >= mark) {
            self.copy_range(s, e, &mut kept);
        }
        self.truncate(mark);
        self.raw(&kept);
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        self.room(24);
        self.buf.push(prefix);
        fmt_i64(n, &mut self.buf);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`-style status. The text must not contain CR/LF.
    pub fn simple(&mut self, s: &str) {
        self.simple_bytes(s.as_bytes());
    }

    pub fn simple_bytes(&mut self, s: &[u8]) {
        self.room(s.len() + 3);
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.raw(b"+OK\r\n");
    }

    /// An error reply. `s` is the full text including the code (`ERR ...`,
    /// `WRONGTYPE ...`); newlines are replaced by spaces so the protocol stays valid.
    pub fn error(&mut self, s: &str) {
        self.error_bytes(s.as_bytes());
    }

    /// [`Self::error`] for a text that need not be UTF-8 (scripts' errors are bytes).
    pub fn error_bytes(&mut self, s: &[u8]) {
        self.room(s.len() + 3);
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
        self.room(b.len() + 24);
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
        self.raw(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.raw(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
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
            self.room(40);
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
            self.room(text.len() + 3);
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
            self.raw(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim text (`=` in RESP3 with a 3-letter format), a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8], fmt: &str) {
        if self.resp3 {
            self.header(b'=', (text.len() + 4) as i64);
            self.room(text.len() + fmt.len() + 3);
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
        self.note_deferred(self.len());
    }

    fn note_deferred(&mut self, at: usize) {
        self.deferred_from = Some(self.deferred_from.map_or(at, |f| f.min(at)));
    }

    /// Starts an array (kind b'*'), map (b'%') or set (b'~') whose length is unknown.
    pub fn begin_deferred(&mut self, kind: u8) -> Deferred {
        Deferred { at: self.len(), kind }
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
        let at = d.at.min(self.len());
        if at >= self.chunks_len {
            let at = at - self.chunks_len;
            self.buf.splice(at..at, head);
            return;
        }
        // In a full chunk: the chunk grows by the header, and what follows moves on.
        let mut start = 0;
        for chunk in &mut self.chunks {
            if at <= start + chunk.len() {
                let at = at - start;
                self.chunks_mem -= alloc_size(chunk.capacity());
                chunk.splice(at..at, head.iter().copied());
                self.chunks_len += head.len();
                self.chunks_mem += alloc_size(chunk.capacity());
                return;
            }
            start += chunk.len();
        }
    }

    /// Raw pre-encoded protocol bytes.
    #[inline]
    pub fn raw(&mut self, b: &[u8]) {
        self.room(b.len());
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

    /// A chunked buffer cuts a long reply into chunks of about CHUNK bytes, and every
    /// position-based operation sees the bytes a single vector would hold.
    #[test]
    fn a_chunked_buffer_reads_and_cuts_like_one_vector() {
        let mut flat = ReplyBuf::new();
        let mut r = ReplyBuf::new().chunked();
        for b in [&mut flat, &mut r] {
            b.bulk(&[b'a'; 100]);
            let d = b.begin_deferred(b'*');
            for i in 0..20_000 {
                b.bulk_i64(i);
            }
            b.bulk(&vec![b'z'; 3 * CHUNK]);
            b.end_deferred(d, 20_001);
        }
        assert!(r.chunks.len() >= 3, "{} chunks", r.chunks.len());
        assert!(r.chunks.iter().all(|c| c.capacity() <= 3 * CHUNK + BULK_TAIL + 24));
        assert_eq!(r.len(), flat.len());
        assert_eq!(&*r.to_bytes(), &flat.buf[..]);
        for at in [0, 106, CHUNK - 1, CHUNK + 7, 2 * CHUNK, r.len() - 5] {
            assert_eq!(&*r.tail_from(at), &flat.buf[at..], "tail from {at}");
            let line = flat.buf[at..].windows(2).position(|w| w == b"\r\n").map(|i| i + 2);
            assert_eq!(r.line_len_at(at, 32), line.filter(|&l| l <= 32).unwrap_or(0));
        }
        // Cut back into a chunk, then written on.
        let mark = CHUNK + 1000;
        r.truncate(mark);
        flat.buf.truncate(mark);
        r.simple("OK");
        flat.simple("OK");
        assert_eq!(&*r.to_bytes(), &flat.buf[..]);
        r.clear();
        assert!(r.is_empty() && r.chunks.is_empty());
    }

    /// CLIENT REPLY OFF keeps only push messages, wherever the chunks cut them.
    #[test]
    fn pushes_survive_a_truncation_across_chunks() {
        let mut r = ReplyBuf::new().chunked();
        r.track_pushes = true;
        r.simple("kept");
        let mark = r.len();
        let from = r.len();
        r.push(2);
        r.bulk(&vec![b'p'; CHUNK]);
        r.bulk(b"x");
        r.mark_push(from);
        let push: Vec<u8> = r.tail_from(from).into_owned();
        r.bulk(&vec![b'd'; 2 * CHUNK]);
        r.truncate_keeping_pushes(mark);
        let mut want = b"+kept\r\n".to_vec();
        want.extend_from_slice(&push);
        assert_eq!(&*r.to_bytes(), &want[..]);
    }
}
