//! Redis 7 multi-part AOF, protocol-free: the manifest (one base file, history files,
//! incr files in sequence order), commands as RESP arrays, a streaming reader for AOF
//! files (annotations skipped, truncation told apart from bad format) and the base file
//! written as commands when `aof-use-rdb-preamble` is off.
//! Redis compat: aof.c (aofInfoFormat, aofLoadManifestFromFile, loadSingleAppendOnlyFile,
//! rewriteAppendOnlyFileRio).
use std::io::{self, BufRead, Read, Write};

use crate::db::{Db, Obj, ValueRef};
use crate::util::num;

pub const BASE_SUFFIX: &str = ".base";
pub const INCR_SUFFIX: &str = ".incr";
pub const RDB_EXT: &str = ".rdb";
pub const AOF_EXT: &str = ".aof";
pub const MANIFEST_SUFFIX: &str = ".manifest";
pub const TEMP_PREFIX: &str = "temp-";

/// Redis compat: aof.c AOF_REWRITE_ITEMS_PER_CMD.
const ITEMS_PER_CMD: usize = 64;
/// Redis compat: aof.c MANIFEST_MAX_LINE.
const MANIFEST_MAX_LINE: usize = 1024;
/// Redis compat: server.h AOF_ANNOTATION_LINE_MAX_LEN (lines longer are read in pieces).
const LINE_MAX: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Base,
    Hist,
    Incr,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::Hist => 'h',
            FileKind::Incr => 'i',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: i64,
    pub kind: FileKind,
}

/// What the manifest lists, plus the sequence counters new names are made from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    /// Newest first, like Redis writes them.
    pub history: Vec<AofFile>,
    /// In sequence order; the last one is being appended to.
    pub incrs: Vec<AofFile>,
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Redis compat: sds.c sdsneedsrepr.
fn needs_repr(s: &str) -> bool {
    s.bytes()
        .any(|c| matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 7 | 8) || !c.is_ascii_graphic())
}

impl Manifest {
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// The manifest file's text: base, then history, then incr files.
    pub fn format(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let all = self.base.iter().chain(self.history.iter()).chain(self.incrs.iter());
        for f in all {
            out.extend_from_slice(b"file ");
            if needs_repr(&f.name) {
                crate::util::repr::cat_repr(&mut out, f.name.as_bytes());
            } else {
                out.extend_from_slice(f.name.as_bytes());
            }
            let _ = writeln!(out, " seq {} type {}", f.seq, f.kind.letter());
        }
        out
    }

    /// Parses a manifest file. Err carries Redis's message and, when a line was at
    /// fault, its number and text.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let mut maxseq = 0i64;
        let mut linenum = 0usize;
        let mut rest = text;
        if rest.is_empty() {
            return Err(ManifestError::new("Found an empty AOF manifest", None));
        }
        while !rest.is_empty() {
            let end = rest.iter().position(|&c| c == b'\n');
            let (raw, next) = match end {
                Some(e) => (
                    rest.get(..e + 1).unwrap_or_default(),
                    rest.get(e + 1..).unwrap_or_default(),
                ),
                None => (rest, &[][..]),
            };
            rest = next;
            linenum += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            let line = String::from_utf8_lossy(raw)
                .trim_matches([' ', '\t', '\r', '\n'])
                .to_string();
            let at = Some((linenum, line.clone()));
            if raw.len() > MANIFEST_MAX_LINE || end.is_none() {
                return Err(ManifestError::new("The AOF manifest file contains too long line", None));
            }
            if line.is_empty() {
                return Err(ManifestError::new("Invalid AOF manifest file format", at));
            }
            let argv = crate::resp::parse::split_args(line.as_bytes()).unwrap_or_default();
            if argv.len() < 6 || argv.len() % 2 != 0 {
                return Err(ManifestError::new("Invalid AOF manifest file format", at));
            }
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in argv.chunks(2) {
                let (k, v) = (&pair[0], &pair[1]);
                if k.eq_ignore_ascii_case(b"file") {
                    let n = String::from_utf8_lossy(v).into_owned();
                    if n.contains('/') {
                        return Err(ManifestError::new("File can't be a path, just a filename", at));
                    }
                    name = Some(n);
                } else if k.eq_ignore_ascii_case(b"seq") {
                    seq = num::atoi_prefix(v);
                } else if k.eq_ignore_ascii_case(b"type") {
                    kind = v.first().copied();
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return Err(ManifestError::new("Invalid AOF manifest file format", at));
            };
            if name.is_empty() || seq == 0 {
                return Err(ManifestError::new("Invalid AOF manifest file format", at));
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err(ManifestError::new("Found duplicate base file information", at));
                    }
                    m.base_seq = seq;
                    m.base = Some(AofFile {
                        name,
                        seq,
                        kind: FileKind::Base,
                    });
                }
                b'h' => m.history.push(AofFile {
                    name,
                    seq,
                    kind: FileKind::Hist,
                }),
                b'i' => {
                    if seq <= maxseq {
                        return Err(ManifestError::new("Found a non-monotonic sequence number", at));
                    }
                    maxseq = seq;
                    m.incr_seq = seq;
                    m.incrs.push(AofFile {
                        name,
                        seq,
                        kind: FileKind::Incr,
                    });
                }
                _ => return Err(ManifestError::new("Unknown AOF file type", at)),
            }
        }
        Ok(m)
    }

    /// Names a new base file (`<name>.<seq>.base.rdb|aof`) and turns the current one
    /// into history.
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut b) = self.base.take() {
            b.kind = FileKind::Hist;
            self.history.insert(0, b);
        }
        self.base_seq += 1;
        let ext = if rdb { RDB_EXT } else { AOF_EXT };
        let name = format!("{filename}.{}{BASE_SUFFIX}{ext}", self.base_seq);
        self.base = Some(AofFile {
            name: name.clone(),
            seq: self.base_seq,
            kind: FileKind::Base,
        });
        name
    }

    /// Adds a new incr file (`<name>.<seq>.incr.aof`) at the end.
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{filename}.{}{INCR_SUFFIX}{AOF_EXT}", self.incr_seq);
        self.incrs.push(AofFile {
            name: name.clone(),
            seq: self.incr_seq,
            kind: FileKind::Incr,
        });
        name
    }

    /// After a rewrite: every incr file but the last (`keep_last`: the one being
    /// written) becomes history.
    pub fn incrs_to_history(&mut self, keep_last: bool) {
        let keep = if keep_last { self.incrs.pop() } else { None };
        for mut f in std::mem::take(&mut self.incrs) {
            f.kind = FileKind::Hist;
            self.history.insert(0, f);
        }
        self.incrs.extend(keep);
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub msg: &'static str,
    /// Line number and its trimmed text.
    pub line: Option<(usize, String)>,
}

impl ManifestError {
    fn new(msg: &'static str, line: Option<(usize, String)>) -> Self {
        ManifestError { msg, line }
    }
}

/// Appends one command as a RESP array of bulk strings.
pub fn cat_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.push(b'*');
    num::fmt_i64(argv.len() as i64, out);
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        num::fmt_i64(a.len() as i64, out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Why reading commands stopped before the end.
#[derive(Debug)]
pub enum ReadError {
    /// The file ends inside a command.
    Truncated,
    /// Not the AOF format.
    Format,
    Io(io::Error),
}

/// Reads commands from an AOF file one at a time; `valid_up_to` is the offset just
/// after the last complete command.
pub struct CmdReader<R> {
    r: R,
    pos: u64,
    pub valid_up_to: u64,
}

impl<R: BufRead> CmdReader<R> {
    pub fn new(r: R, start: u64) -> Self {
        CmdReader {
            r,
            pos: start,
            valid_up_to: start,
        }
    }

    /// One line, at most LINE_MAX bytes (like fgets); None at end of file.
    fn line(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        let mut buf = Vec::new();
        let n = (&mut self.r)
            .take(LINE_MAX as u64 - 1)
            .read_until(b'\n', &mut buf)
            .map_err(ReadError::Io)?;
        self.pos += n as u64;
        Ok(if n == 0 { None } else { Some(buf) })
    }

    /// The next command; Ok(None) at a clean end of file.
    pub fn next_command(&mut self) -> Result<Option<Vec<Vec<u8>>>, ReadError> {
        let head = loop {
            match self.line()? {
                None => return Ok(None),
                Some(l) if l.first() == Some(&b'#') => {
                    // An annotation: skip it, continuing a line longer than one read.
                    let mut last = l;
                    while last.last() != Some(&b'\n') {
                        match self.line()? {
                            Some(more) => last = more,
                            None => break,
                        }
                    }
                    self.valid_up_to = self.pos;
                }
                Some(l) => break l,
            }
        };
        if head.first() != Some(&b'*') {
            return Err(ReadError::Format);
        }
        if head.len() == 1 {
            return Err(ReadError::Truncated);
        }
        let argc = num::atoi_prefix(head.get(1..).unwrap_or_default());
        if argc < 1 {
            return Err(ReadError::Format);
        }
        let mut argv = Vec::with_capacity((argc as usize).min(1024));
        for _ in 0..argc {
            let Some(l) = self.line()? else {
                return Err(ReadError::Truncated);
            };
            if l.first() != Some(&b'$') {
                return Err(ReadError::Format);
            }
            let len = num::atoi_prefix(l.get(1..).unwrap_or_default()).max(0) as u64;
            // Grows as bytes arrive: a huge length in a short file allocates nothing.
            let mut arg = Vec::new();
            let got = (&mut self.r).take(len).read_to_end(&mut arg).map_err(ReadError::Io)?;
            self.pos += got as u64;
            if (got as u64) < len {
                return Err(ReadError::Truncated);
            }
            let mut crlf = [0u8; 2];
            let got = read_full(&mut self.r, &mut crlf).map_err(ReadError::Io)?;
            self.pos += got as u64;
            if got < 2 {
                return Err(ReadError::Truncated);
            }
            argv.push(arg);
        }
        Ok(Some(argv))
    }

    /// Marks everything read so far as complete commands.
    pub fn commit(&mut self) {
        self.valid_up_to = self.pos;
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Writes every db as commands (SELECT, then SET / RPUSH / SADD / ZADD / HMSET in
/// batches, PEXPIREAT), the base file format when `aof-use-rdb-preamble` is off.
/// `ts`: the timestamp annotation to start with (`aof-timestamp-enabled`).
pub fn write_commands<W: Write>(w: &mut W, dbs: &[Db], functions: &[Vec<u8>], ts: Option<i64>) -> io::Result<()> {
    let mut out = Vec::with_capacity(64 * 1024);
    commands_head(&mut out, functions, ts);
    for db in dbs {
        if db.is_empty() {
            continue;
        }
        select_command(&mut out, db.id);
        for o in db.iter_prefetched() {
            entry_commands(&mut out, o, o.expire_at());
            if out.len() >= 64 * 1024 {
                w.write_all(&out)?;
                out.clear();
            }
        }
    }
    w.write_all(&out)
}

/// What a base of commands starts with: the timestamp annotation, then the function
/// libraries, so that replayed FCALLs find them. Redis compat: aof.c rewriteFunctions.
pub fn commands_head(out: &mut Vec<u8>, functions: &[Vec<u8>], ts: Option<i64>) {
    if let Some(ts) = ts {
        let _ = write!(out, "#TS:{ts}\r\n");
    }
    for code in functions {
        cat_command(out, &[b"FUNCTION".as_slice(), b"LOAD", code]);
    }
}

/// SELECT of db `id`.
pub fn select_command(out: &mut Vec<u8>, id: usize) {
    cat_command(out, &[b"SELECT".as_slice(), id.to_string().as_bytes()]);
}

/// The commands that rebuild entry `o`, with its expire time.
/// Redis compat: aof.c rewriteAppendOnlyFileRio.
pub fn entry_commands(out: &mut Vec<u8>, o: &Obj, expire_at: Option<i64>) {
    let key = o.key();
    match o.value() {
        ValueRef::Str(s) => cat_command(out, &[b"SET".as_slice(), key, s]),
        ValueRef::List(l) => {
            let items: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
            batches(out, b"RPUSH", key, items.iter().map(|e| vec![e.clone()]));
        }
        ValueRef::Set(s) => {
            let items: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            batches(out, b"SADD", key, items.into_iter().map(|m| vec![m]));
        }
        ValueRef::ZSet(z) => {
            let mut nbuf = Vec::new();
            let items: Vec<Vec<Vec<u8>>> = z
                .iter_any()
                .map(|(m, score)| {
                    nbuf.clear();
                    num::fmt_f64(score, &mut nbuf);
                    vec![nbuf.clone(), m.to_vec()]
                })
                .collect();
            batches(out, b"ZADD", key, items.into_iter());
        }
        ValueRef::Hash(h) => {
            let items: Vec<Vec<Vec<u8>>> = h.iter().map(|(f, v)| vec![f.to_vec(), v.to_vec()]).collect();
            batches(out, b"HMSET", key, items.into_iter());
        }
        ValueRef::Stream(s) => write_stream(out, key, s),
    }
    if let Some(at) = expire_at {
        cat_command(out, &[b"PEXPIREAT".as_slice(), key, at.to_string().as_bytes()]);
    }
}

/// A stream as the commands that rebuild it: entries, ids and counters, groups with
/// their pending entries and consumers. Redis compat: aof.c rewriteStreamObject.
fn write_stream(out: &mut Vec<u8>, key: &[u8], s: &crate::db::stream::Stream) {
    use crate::db::stream::StreamId;
    let mut argv: Vec<Vec<u8>> = Vec::new();
    if s.is_empty() {
        cat_command(out, &[&b"XADD"[..], key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
    }
    for e in s.log.range(StreamId::MIN, StreamId::MAX) {
        argv.clear();
        argv.push(b"XADD".to_vec());
        argv.push(key.to_vec());
        argv.push(e.id.to_vec());
        for (f, v) in e.pairs() {
            argv.push(f.to_vec());
            argv.push(v.to_vec());
        }
        cat_command(out, &argv);
    }
    let setid = vec![
        b"XSETID".to_vec(),
        key.to_vec(),
        s.last_id.to_vec(),
        b"ENTRIESADDED".to_vec(),
        s.entries_added.to_string().into_bytes(),
        b"MAXDELETEDID".to_vec(),
        s.max_deleted.to_vec(),
    ];
    cat_command(out, &setid);
    for (name, g) in &s.groups {
        let create = vec![
            b"XGROUP".to_vec(),
            b"CREATE".to_vec(),
            key.to_vec(),
            name.clone(),
            g.last_id.to_vec(),
            b"ENTRIESREAD".to_vec(),
            g.entries_read.to_string().into_bytes(),
        ];
        cat_command(out, &create);
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                let cc = vec![
                    b"XGROUP".to_vec(),
                    b"CREATECONSUMER".to_vec(),
                    key.to_vec(),
                    name.clone(),
                    cname.clone(),
                ];
                cat_command(out, &cc);
                continue;
            }
            for id in &c.pel {
                let (t, n) = g.pel.get(id).map_or((0, 0), |x| (x.delivery_time, x.delivery_count));
                let claim = vec![
                    b"XCLAIM".to_vec(),
                    key.to_vec(),
                    name.clone(),
                    cname.clone(),
                    b"0".to_vec(),
                    id.to_vec(),
                    b"TIME".to_vec(),
                    t.to_string().into_bytes(),
                    b"RETRYCOUNT".to_vec(),
                    n.to_string().into_bytes(),
                    b"JUSTID".to_vec(),
                    b"FORCE".to_vec(),
                ];
                cat_command(out, &claim);
            }
        }
    }
}

/// `CMD key item...` commands of at most ITEMS_PER_CMD items each.
fn batches<I: Iterator<Item = Vec<Vec<u8>>>>(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], items: I) {
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let mut n = 0;
    for item in items {
        if n == 0 {
            argv.clear();
            argv.push(cmd.to_vec());
            argv.push(key.to_vec());
        }
        argv.extend(item);
        n += 1;
        if n == ITEMS_PER_CMD {
            cat_command(out, &argv);
            n = 0;
        }
    }
    if n > 0 {
        cat_command(out, &argv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_quoting() {
        let mut m = Manifest::default();
        let b = m.new_base(" file seq \n\n.aof ", true);
        assert_eq!(b, " file seq \n\n.aof .1.base.rdb");
        m.new_incr(" file seq \n\n.aof ");
        let text = m.format();
        assert_eq!(
            String::from_utf8_lossy(&text),
            "file \" file seq \\n\\n.aof .1.base.rdb\" seq 1 type b\nfile \" file seq \\n\\n.aof .1.incr.aof\" seq 1 type i\n"
        );
        assert_eq!(Manifest::parse(&text).unwrap(), m);
    }

    #[test]
    fn manifest_errors_match_redis() {
        let e = |t: &str| Manifest::parse(t.as_bytes()).unwrap_err().msg;
        assert_eq!(e(""), "Found an empty AOF manifest");
        assert_eq!(
            e("file a seq 1 type i\n\nfile b seq 2 type i\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            e("file a seq 2 type i\nfile b seq 1 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            e("file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(e("file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(e("file a seq 1 typo i\n"), "Invalid AOF manifest file format");
        assert_eq!(e("file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(e("file a seq 1 type i x\n"), "Invalid AOF manifest file format");
        assert_eq!(e("file a/b seq 1 type i\n"), "File can't be a path, just a filename");
        let long = format!("file {} seq 1 type i\n", "x".repeat(1100));
        assert_eq!(e(&long), "The AOF manifest file contains too long line");
        // Comments are skipped; extra key/value pairs are allowed.
        let m = Manifest::parse(b"# c\nfile a seq 1 type b new v\nfile c seq 3 type i\n").unwrap();
        assert_eq!(m.base_seq, 1);
        assert_eq!(m.incr_seq, 3);
    }

    #[test]
    fn rewrite_marks_history() {
        let mut m = Manifest::default();
        m.new_base("a", true);
        m.new_incr("a");
        m.new_incr("a");
        m.new_base("a", true);
        m.incrs_to_history(true);
        assert_eq!(
            String::from_utf8_lossy(&m.format()),
            "file a.2.base.rdb seq 2 type b\nfile a.1.incr.aof seq 1 type h\nfile a.1.base.rdb seq 1 type h\nfile a.2.incr.aof seq 2 type i\n"
        );
    }

    fn read_all(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ReadError>, u64) {
        let mut r = CmdReader::new(data, 0);
        let mut v = Vec::new();
        loop {
            match r.next_command() {
                Ok(Some(c)) => {
                    v.push(c);
                    r.commit();
                }
                Ok(None) => return (v, None, r.valid_up_to),
                Err(e) => return (v, Some(e), r.valid_up_to),
            }
        }
    }

    #[test]
    fn reader_handles_annotations_truncation_and_bad_format() {
        let mut f = Vec::new();
        f.extend_from_slice(b"#TS:1628217470\r\n");
        cat_command(&mut f, &["set", "foo", "bar"]);
        let one = f.len() as u64;
        cat_command(&mut f, &["incr", "x"]);
        let (cmds, err, _) = read_all(&f);
        assert_eq!(cmds.len(), 2);
        assert!(err.is_none());
        let (cmds, err, valid) = read_all(&f[..f.len() - 1]);
        assert_eq!(cmds.len(), 1);
        assert!(matches!(err, Some(ReadError::Truncated)));
        assert_eq!(valid, one);
        let mut bad = f.clone();
        bad.extend_from_slice(b"!!!");
        assert!(matches!(read_all(&bad).1, Some(ReadError::Format)));
        // A huge length in a short file is a truncation, not an allocation.
        assert!(matches!(
            read_all(b"*1\r\n$999999999999\r\nab").1,
            Some(ReadError::Truncated)
        ));
        assert!(matches!(read_all(b"*").1, Some(ReadError::Truncated)));
        assert!(matches!(read_all(b"*0\r\n").1, Some(ReadError::Format)));
    }

    #[test]
    fn reader_never_panics_on_garbage() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut base = Vec::new();
        cat_command(&mut base, &["rpush", "l", "a", "b"]);
        for _ in 0..2000 {
            let mut f = base.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..f.len());
                f[i] = rng.random();
            }
            let _ = read_all(&f);
        }
    }
}
