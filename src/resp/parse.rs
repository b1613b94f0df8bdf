//! Incremental request parser: multibulk (`*N\r\n$L\r\n...`) and inline commands.
//! Arguments of multibulk requests are byte ranges into the caller's query buffer
//! (zero copy); the parser keeps its progress across reads so a request that arrives
//! in many pieces is never re-scanned. Nothing here allocates a client-declared length.
use crate::util::num::parse_i64;

/// Redis compat: networking.c PROTO_INLINE_MAX_SIZE.
pub const INLINE_MAX: usize = 64 * 1024;
const UNAUTH_MAX_ARGS: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    InvalidMbulkLen,
    UnauthMbulkLen,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLen,
    UnauthBulkLen,
}

impl ProtocolError {
    /// The error reply text (without the leading '-' and CRLF); the byte found where
    /// `$` was expected is sent as it came (Redis formats it with `%c`).
    pub fn reply(&self) -> Vec<u8> {
        let s = match self {
            Self::TooBigInline => "too big inline request",
            Self::UnbalancedQuotes => "unbalanced quotes in request",
            Self::TooBigMbulkCount => "too big mbulk count string",
            Self::InvalidMbulkLen => "invalid multibulk length",
            Self::UnauthMbulkLen => "unauthenticated multibulk length",
            Self::TooBigBulkCount => "too big bulk count string",
            Self::ExpectedDollar(c) => return [b"ERR Protocol error: expected '$', got '", &[*c][..], b"'"].concat(),
            Self::InvalidBulkLen => "invalid bulk length",
            Self::UnauthBulkLen => "unauthenticated bulk length",
        };
        format!("ERR Protocol error: {s}").into_bytes()
    }

    /// The short reason Redis writes to its log.
    pub fn log_reason(&self) -> &'static str {
        match self {
            Self::TooBigInline => "too big inline request",
            Self::UnbalancedQuotes => "unbalanced quotes in inline request",
            Self::TooBigMbulkCount => "too big mbulk count string",
            Self::InvalidMbulkLen => "invalid mbulk count",
            Self::UnauthMbulkLen => "unauth mbulk count",
            Self::TooBigBulkCount => "too big bulk count string",
            Self::ExpectedDollar(_) => "expected $ but got something else",
            Self::InvalidBulkLen => "invalid bulk length",
            Self::UnauthBulkLen => "unauth bulk length",
        }
    }
}

/// What one call to [`Parser::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete multibulk command; its arguments are in `Parser::args` as ranges.
    Multibulk,
    /// A complete inline command, arguments owned (inline is for humans; rare).
    Inline(Vec<Vec<u8>>),
    /// A request with zero arguments (empty line, `*0`): consumed, nothing to run.
    Empty,
    /// More bytes are needed.
    Incomplete,
}

#[derive(Debug, Default)]
pub struct Parser {
    /// Argument ranges of the multibulk request being parsed / just parsed.
    pub args: Vec<(usize, usize)>,
    /// Arguments still expected by the current multibulk request (0: between requests).
    remaining: usize,
    /// Length of the bulk whose header was read, payload pending.
    bulk: Option<usize>,
    /// Total bytes of argument payload so far (for the query buffer accounting).
    pub arg_bytes: usize,
}

pub struct Limits {
    pub max_bulk: i64,
    pub auth_required: bool,
}

/// Where `byte` first is in `buf` from `from`, searched as C's strchr searches a
/// string: a NUL ends the search. Redis compat: networking.c finds a request's line
/// ends with strchr, so a line with a NUL before its end waits for more input (a TLS
/// hello sent to a plain port waits for its timeout instead of drawing an error
/// reply) until it outgrows the limit.
fn find(buf: &[u8], from: usize, byte: u8) -> Option<usize> {
    let at = buf.get(from..)?.iter().position(|&b| b == byte || b == 0)? + from;
    (buf.get(at) == Some(&byte)).then_some(at)
}

/// Reads `<number>\r\n` at `pos` (the bytes after a `*` or `$`), as the parser
/// does: the number and the position after the line. None when incomplete or not
/// a number of zero or more.
fn peek_len(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let cr = find(buf, pos, b'\r')?;
    let n = buf.get(pos..cr).and_then(parse_i64).filter(|&n| n >= 0)?;
    (buf.get(cr + 1) == Some(&b'\n')).then_some((n as usize, cr + 2))
}

/// What [`peek_keys`] saw of one request: byte ranges of its second argument (the
/// first key of most commands) and of its third (for most commands on a hash or a
/// set, the field or member), if it has one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ahead {
    pub key: (usize, usize),
    pub arg: Option<(usize, usize)>,
}

/// Arguments longer than this are not looked ahead at: hashing them for a prefetch
/// costs more than the cache misses it saves, and long second arguments are mostly
/// not keys (ECHO, PUBLISH's message, AUTH's password).
const PEEK_MAX_ARG: usize = 256;

/// Looks ahead over the whole multibulk requests in `buf[pos..]`, at most
/// `out.len()` of them, without parsing them for real: for each one with a second
/// argument of at most PEEK_MAX_ARG bytes it stores an [`Ahead`] in `out`. Returns
/// how many it stored and the position after the last request it went over. It
/// stops at the first request that is incomplete or not plainly well formed; the
/// real parser judges those.
pub fn peek_keys(buf: &[u8], mut pos: usize, out: &mut [Ahead]) -> (usize, usize) {
    let mut found = 0;
    for _ in 0..out.len() {
        if buf.get(pos) != Some(&b'*') {
            break;
        }
        let Some((argc, mut p)) = peek_len(buf, pos + 1) else {
            break;
        };
        let mut key = None;
        let mut arg = None;
        let mut whole = true;
        for i in 0..argc {
            let Some((len, start)) = (buf.get(p) == Some(&b'$')).then(|| peek_len(buf, p + 1)).flatten() else {
                whole = false;
                break;
            };
            let end = start.saturating_add(len);
            if end.saturating_add(2) > buf.len() {
                whole = false;
                break;
            }
            if i == 1 && len <= PEEK_MAX_ARG {
                key = Some((start, end));
            } else if i == 2 && len <= PEEK_MAX_ARG {
                arg = Some((start, end));
            }
            p = end + 2;
        }
        if !whole {
            break;
        }
        pos = p;
        if let (Some(key), Some(slot)) = (key, out.get_mut(found)) {
            *slot = Ahead { key, arg };
            found += 1;
        }
    }
    (found, pos)
}

impl Parser {
    /// True while a multibulk request is partly parsed.
    pub fn in_progress(&self) -> bool {
        self.remaining > 0
    }

    /// Parses the next request starting at `*pos`, advancing `*pos` past what was
    /// consumed. On error the caller replies with the error and closes the client.
    pub fn next(&mut self, buf: &[u8], pos: &mut usize, lim: &Limits) -> Result<Parsed, ProtocolError> {
        if self.remaining == 0 {
            self.args.clear();
            self.arg_bytes = 0;
            let Some(&first) = buf.get(*pos) else {
                return Ok(Parsed::Incomplete);
            };
            if first != b'*' {
                return self.parse_inline(buf, pos);
            }
            // Redis compat: networking.c processMultibulkBuffer looks for '\r'.
            let Some(cr) = find(buf, *pos, b'\r') else {
                if buf.len() - *pos > INLINE_MAX {
                    return Err(ProtocolError::TooBigMbulkCount);
                }
                return Ok(Parsed::Incomplete);
            };
            if cr + 1 >= buf.len() {
                return Ok(Parsed::Incomplete);
            }
            let n = buf
                .get(*pos + 1..cr)
                .and_then(parse_i64)
                .filter(|&n| n <= i32::MAX as i64)
                .ok_or(ProtocolError::InvalidMbulkLen)?;
            if n > UNAUTH_MAX_ARGS && lim.auth_required {
                return Err(ProtocolError::UnauthMbulkLen);
            }
            *pos = cr + 2;
            if n <= 0 {
                return Ok(Parsed::Empty);
            }
            self.remaining = n as usize;
            self.bulk = None;
        }
        while self.remaining > 0 {
            let len = match self.bulk {
                Some(l) => l,
                None => {
                    let Some(cr) = find(buf, *pos, b'\r') else {
                        if buf.len() - *pos > INLINE_MAX {
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(Parsed::Incomplete);
                    };
                    if cr + 1 >= buf.len() {
                        return Ok(Parsed::Incomplete);
                    }
                    let c = buf.get(*pos).copied().unwrap_or(0);
                    if c != b'$' {
                        return Err(ProtocolError::ExpectedDollar(c));
                    }
                    let l = buf
                        .get(*pos + 1..cr)
                        .and_then(parse_i64)
                        .filter(|&l| l >= 0 && l <= lim.max_bulk)
                        .ok_or(ProtocolError::InvalidBulkLen)?;
                    if l > UNAUTH_MAX_BULK && lim.auth_required {
                        return Err(ProtocolError::UnauthBulkLen);
                    }
                    *pos = cr + 2;
                    self.bulk = Some(l as usize);
                    l as usize
                }
            };
            // Redis compat: the two bytes after the payload are skipped unchecked.
            if buf.len() - *pos < len + 2 {
                return Ok(Parsed::Incomplete);
            }
            self.args.push((*pos, *pos + len));
            self.arg_bytes += len;
            *pos += len + 2;
            self.bulk = None;
            self.remaining -= 1;
        }
        Ok(Parsed::Multibulk)
    }

    /// The query buffer lost its first `by` bytes: shift stored ranges.
    pub fn rebase(&mut self, by: usize) {
        for r in &mut self.args {
            r.0 = r.0.saturating_sub(by);
            r.1 = r.1.saturating_sub(by);
        }
    }

    /// Bytes still needed to finish the current bulk payload, if one is pending
    /// (lets the reader size its next read for big arguments).
    pub fn pending_bulk(&self) -> Option<usize> {
        self.bulk
    }
}

impl Parser {
    /// Inline request: one line, arguments split like redis-cli. Lines without quotes
    /// (the common telnet/PING case) become ranges into `buf`, with no allocation.
    fn parse_inline(&mut self, buf: &[u8], pos: &mut usize) -> Result<Parsed, ProtocolError> {
        let Some(nl) = find(buf, *pos, b'\n') else {
            if buf.len() - *pos > INLINE_MAX {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Parsed::Incomplete);
        };
        let mut end = nl;
        if end > *pos && buf.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        let start = *pos;
        let line = buf.get(start..end).unwrap_or_default();
        if !line.iter().any(|&c| c == b'"' || c == b'\'') {
            let is_space = |c: u8| c.is_ascii_whitespace() || c == 0x0b;
            let ends = |c: u8| matches!(c, b' ' | b'\n' | b'\r' | b'\t');
            let mut i = 0;
            while i < line.len() {
                while line.get(i).is_some_and(|&c| is_space(c)) {
                    i += 1;
                }
                if i >= line.len() {
                    break;
                }
                let t = i;
                while line.get(i).is_some_and(|&c| !ends(c)) {
                    i += 1;
                }
                self.args.push((start + t, start + i));
                self.arg_bytes += i - t;
            }
            *pos = nl + 1;
            return Ok(if self.args.is_empty() {
                Parsed::Empty
            } else {
                Parsed::Multibulk
            });
        }
        let args = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
        *pos = nl + 1;
        if args.is_empty() {
            Ok(Parsed::Empty)
        } else {
            Ok(Parsed::Inline(args))
        }
    }
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments with redis-cli quoting rules: whitespace separates,
/// "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' take \'.
/// A closing quote must be followed by whitespace or the end. None: unbalanced quotes.
/// Redis compat: sds.c sdssplitargs.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Redis compat: sdssplitargs reads a C string, so a NUL ends the input.
    let line = match line.iter().position(|&c| c == 0) {
        Some(z) => line.get(..z).unwrap_or_default(),
        None => line,
    };
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| line.get(i).copied();
    loop {
        while at(i).is_some_and(|c| c.is_ascii_whitespace() || c == 0x0b) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            let c = at(i);
            if inq {
                match c {
                    None => return None,
                    Some(b'\\')
                        if at(i + 1) == Some(b'x')
                            && at(i + 2).and_then(hex_val).is_some()
                            && at(i + 3).and_then(hex_val).is_some() =>
                    {
                        let h = at(i + 2).and_then(hex_val).unwrap_or(0);
                        let l = at(i + 3).and_then(hex_val).unwrap_or(0);
                        cur.push(h * 16 + l);
                        i += 3;
                    }
                    Some(b'\\') if at(i + 1).is_some() => {
                        i += 1;
                        let e = at(i).unwrap_or(0);
                        cur.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        // The closing quote must be followed by a space or nothing.
                        if at(i + 1).is_some_and(|n| !(n.is_ascii_whitespace() || n == 0x0b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(ch) => cur.push(ch),
                }
            } else if insq {
                match c {
                    None => return None,
                    Some(b'\\') if at(i + 1) == Some(b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(i + 1).is_some_and(|n| !(n.is_ascii_whitespace() || n == 0x0b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(ch) => cur.push(ch),
                }
            } else {
                match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(ch) => cur.push(ch),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits {
        max_bulk: 512 * 1024 * 1024,
        auth_required: false,
    };

    fn all(buf: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut p = Parser::default();
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match p.next(buf, &mut pos, &LIM).unwrap() {
                Parsed::Multibulk => out.push(p.args.iter().map(|&(s, e)| buf[s..e].to_vec()).collect()),
                Parsed::Inline(a) => out.push(a),
                Parsed::Empty => {}
                Parsed::Incomplete => return out,
            }
        }
    }

    #[test]
    fn multibulk_and_pipelining() {
        let r = all(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(r, vec![vec![b"GET".to_vec(), b"a".to_vec()], vec![b"PING".to_vec()]]);
    }

    #[test]
    fn byte_by_byte_is_the_same() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n";
        let mut p = Parser::default();
        let mut pos = 0;
        let mut got = Vec::new();
        for n in 1..=full.len() {
            let buf = &full[..n];
            loop {
                match p.next(buf, &mut pos, &LIM).unwrap() {
                    Parsed::Multibulk => got.push(p.args.len()),
                    Parsed::Inline(a) => got.push(a.len() + 100),
                    Parsed::Empty => {}
                    Parsed::Incomplete => break,
                }
            }
        }
        // An unquoted inline line is returned as ranges, like a multibulk request.
        assert_eq!(got, vec![3, 1]);
    }

    #[test]
    fn peek_keys_sees_whole_requests_only() {
        let buf = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$2\r\nbc\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$5\r\nxy";
        let mut out = [Ahead::default(); 8];
        let (n, end) = peek_keys(buf, 0, &mut out);
        assert_eq!(n, 2);
        assert_eq!(&buf[out[0].key.0..out[0].key.1], b"a");
        assert_eq!(out[0].arg, None);
        assert_eq!(&buf[out[1].key.0..out[1].key.1], b"bc");
        assert_eq!(out[1].arg.map(|(s, e)| &buf[s..e]), Some(&b"v"[..]));
        assert_eq!(&buf[end..end + 4], b"*2\r\n");
        // The limit counts requests, keyed or not.
        let (n, end) = peek_keys(buf, 0, &mut out[..1]);
        assert_eq!((n, end), (0, 14));
        // Inline requests and malformed lengths stop the look-ahead.
        assert_eq!(peek_keys(b"GET a\r\n", 0, &mut out), (0, 0));
        assert_eq!(peek_keys(b"*2\r\n$-1\r\n", 0, &mut out), (0, 0));
        assert_eq!(peek_keys(b"*2\r\n$99999999999999999999\r\n", 0, &mut out), (0, 0));
        // Long arguments are gone over but not kept: an ECHO of 300 bytes, then a SET
        // of a 300-byte value.
        let long = "x".repeat(300);
        let buf = format!("*2\r\n$4\r\nECHO\r\n$300\r\n{long}\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$300\r\n{long}\r\n");
        let (n, end) = peek_keys(buf.as_bytes(), 0, &mut out);
        assert_eq!((n, end), (1, buf.len()));
        assert_eq!(&buf.as_bytes()[out[0].key.0..out[0].key.1], b"k");
        assert_eq!(out[0].arg, None);
    }

    #[test]
    fn errors() {
        let mut p = Parser::default();
        let e = |b: &[u8]| {
            let mut p = Parser::default();
            let mut pos = 0;
            p.next(b, &mut pos, &LIM).unwrap_err()
        };
        assert_eq!(e(b"*x\r\n"), ProtocolError::InvalidMbulkLen);
        assert_eq!(e(b"*3000000000\r\n"), ProtocolError::InvalidMbulkLen);
        assert_eq!(e(b"*1\r\n+foo\r\n"), ProtocolError::ExpectedDollar(b'+'));
        assert_eq!(e(b"*1\r\n$-1\r\n"), ProtocolError::InvalidBulkLen);
        assert_eq!(e(b"*1\r\n$9999999999\r\n"), ProtocolError::InvalidBulkLen);
        assert_eq!(e(b"set \"a\r\n"), ProtocolError::UnbalancedQuotes);
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(e(&big), ProtocolError::TooBigInline);
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(e(&big), ProtocolError::TooBigMbulkCount);
        let mut pos = 0;
        let lim = Limits {
            max_bulk: 100,
            auth_required: true,
        };
        assert_eq!(
            p.next(b"*11\r\n", &mut pos, &lim).unwrap_err(),
            ProtocolError::UnauthMbulkLen
        );
        assert_eq!(
            ProtocolError::ExpectedDollar(b'x').reply(),
            b"ERR Protocol error: expected '$', got 'x'"
        );
        // A byte that is not UTF-8 is sent as it came, as `%c` prints it.
        assert_eq!(
            ProtocolError::ExpectedDollar(0xb4).reply(),
            b"ERR Protocol error: expected '$', got '\xb4'"
        );
    }

    #[test]
    fn inline_line_with_a_nul_never_ends() {
        // As strchr in networking.c: the newline after a NUL is never found, so the
        // request waits (no loop, no reply) until it outgrows the inline limit.
        assert_eq!(all(b"PING\r\nECHO a\0b\r\nPING\r\n"), vec![vec![b"PING".to_vec()]]);
        assert!(all(b"\0PING\r\n").is_empty());
        let mut big = b"\x16\x03\x01\0\r\n".to_vec();
        big.resize(INLINE_MAX + 1, b'\n');
        let (mut p, mut pos) = (Parser::default(), 0);
        assert!(matches!(p.next(&big, &mut pos, &LIM), Err(ProtocolError::TooBigInline)));
        // A quoted line is split the same way: its NUL also hides the newline.
        assert!(all(b"SET k \"a\0\"\r\n").is_empty());
        // So does a multibulk header line: its `\r` is not found past a NUL.
        assert!(all(b"*1\0\r\n$4\r\nPING\r\n").is_empty());
        assert!(all(b"*1\r\n$4\0\r\nPING\r\n").is_empty());
        let mut big = b"*1\r\n$4\0".to_vec();
        big.resize(INLINE_MAX + 10, b'\r');
        let (mut p, mut pos) = (Parser::default(), 0);
        assert!(matches!(
            p.next(&big, &mut pos, &LIM),
            Err(ProtocolError::TooBigBulkCount)
        ));
        // A NUL inside a bulk payload is data, as always.
        assert_eq!(all(b"*1\r\n$2\r\n\0\r\r\n"), vec![vec![b"\0\r".to_vec()]]);
    }

    #[test]
    fn empty_requests() {
        assert!(all(b"*0\r\n*-1\r\n\r\n  \n").is_empty());
    }

    #[test]
    fn inline_quoting() {
        let r = all(b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n");
        assert_eq!(
            r,
            vec![vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]]
        );
        assert_eq!(split_args(b"\"foo\"bar"), None);
        assert_eq!(split_args(b"'foo"), None);
    }

    #[test]
    fn declared_lengths_are_not_allocated_up_front() {
        let mut p = Parser::default();
        let mut pos = 0;
        let buf = b"*1000000\r\n$536870000\r\nabc";
        assert_eq!(p.next(buf, &mut pos, &LIM).unwrap(), Parsed::Incomplete);
        assert!(p.args.capacity() < 1024, "reserved {}", p.args.capacity());
        assert_eq!(p.pending_bulk(), Some(536_870_000));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let mut ahead = [Ahead::default(); 8];
            let (n, end) = peek_keys(&bytes, 0, &mut ahead);
            proptest::prop_assert!(end <= bytes.len());
            for a in &ahead[..n] {
                for (s, e) in std::iter::once(a.key).chain(a.arg) {
                    proptest::prop_assert!(s <= e && e <= end);
                }
            }
            let mut p = Parser::default();
            let mut pos = 0;
            for _ in 0..64 {
                match p.next(&bytes, &mut pos, &LIM) {
                    Ok(Parsed::Incomplete) | Err(_) => break,
                    Ok(Parsed::Multibulk) => {
                        for &(s, e) in &p.args {
                            proptest::prop_assert!(s <= e && e <= bytes.len());
                        }
                    }
                    Ok(_) => {}
                }
                proptest::prop_assert!(pos <= bytes.len());
            }
        }

        #[test]
        fn truncated_requests_are_incomplete_then_whole(
            args in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 1..6),
            cut in 0usize..400,
        ) {
            let mut req = format!("*{}\r\n", args.len()).into_bytes();
            for a in &args {
                req.extend(format!("${}\r\n", a.len()).bytes());
                req.extend_from_slice(a);
                req.extend_from_slice(b"\r\n");
            }
            let cut = cut.min(req.len() - 1);
            let mut p = Parser::default();
            let mut pos = 0;
            proptest::prop_assert_eq!(p.next(&req[..cut], &mut pos, &LIM).unwrap(), Parsed::Incomplete);
            proptest::prop_assert_eq!(p.next(&req, &mut pos, &LIM).unwrap(), Parsed::Multibulk);
            let got: Vec<Vec<u8>> = p.args.iter().map(|&(s, e)| req[s..e].to_vec()).collect();
            proptest::prop_assert_eq!(got, args);
            proptest::prop_assert_eq!(pos, req.len());
        }

        #[test]
        fn peeked_keys_are_the_parsers_second_and_third_arguments(
            reqs in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12), 1..4),
                1..12,
            ),
            cut in 0usize..600,
        ) {
            let mut buf = Vec::new();
            for args in &reqs {
                buf.extend(format!("*{}\r\n", args.len()).bytes());
                for a in args {
                    buf.extend(format!("${}\r\n", a.len()).bytes());
                    buf.extend_from_slice(a);
                    buf.extend_from_slice(b"\r\n");
                }
            }
            buf.truncate(cut.min(buf.len()));
            let mut want = Vec::new();
            let mut want_end = 0;
            let mut p = Parser::default();
            let mut pos = 0;
            while want_end < buf.len() {
                match p.next(&buf, &mut pos, &LIM).unwrap() {
                    Parsed::Multibulk => {
                        if let Some(&(s, e)) = p.args.get(1) {
                            let arg = p.args.get(2).map(|&(s, e)| buf[s..e].to_vec());
                            want.push((buf[s..e].to_vec(), arg));
                        }
                        want_end = pos;
                    }
                    _ => break,
                }
            }
            let mut ahead = [Ahead::default(); 16];
            let (n, end) = peek_keys(&buf, 0, &mut ahead);
            let got: Vec<(Vec<u8>, Option<Vec<u8>>)> = ahead[..n]
                .iter()
                .map(|a| (buf[a.key.0..a.key.1].to_vec(), a.arg.map(|(s, e)| buf[s..e].to_vec())))
                .collect();
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(end, want_end);
        }
    }
}
