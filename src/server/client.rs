//! Client: one connection's socket, query buffer, parser state, reply buffer and the
//! per-connection settings commands change (db, RESP version, name, auth, reply mode).
use std::io::{self, Write};

use mio::net::{TcpStream, UnixStream};

use crate::resp::{Parser, ReplyBuf};
use crate::util::mem::{alloc_size, shrink_if_loose};

/// A new client's reply buffer, and the least an idle one is shrunk to.
/// Redis compat: PROTO_REPLY_MIN_BYTES.
pub const REPLY_MIN_BYTES: usize = 1024;
/// The most a reply buffer keeps between batches (bigger replies grow it for the
/// batch only). Redis compat: PROTO_REPLY_CHUNK_BYTES.
pub const REPLY_CHUNK_BYTES: usize = 16 * 1024;

pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// A client of `tls-port`.
    Tls(Box<super::tls::TlsStream>),
    /// No socket: the client that replays the AOF. Its output is discarded.
    None,
}

impl Conn {
    /// Reads up to `want` bytes appended to `buf`, without zero-filling the space first.
    /// `upto`: the end of a big argument being read; the buffer is sized to it exactly,
    /// so the argument costs its size (not up to twice that) and arrives in as few
    /// reads as the socket allows.
    pub fn read_append(&mut self, buf: &mut Vec<u8>, want: usize, upto: Option<usize>) -> io::Result<usize> {
        if let Conn::Tls(t) = self {
            buf.reserve(want);
            let at = buf.len();
            buf.resize(at + want, 0);
            let r = t.read(buf.get_mut(at..).unwrap_or_default());
            buf.truncate(at + *r.as_ref().unwrap_or(&0));
            return r;
        }
        match upto {
            // Room for the whole argument at once, so that it is read in as few calls
            // as the socket allows. Redis compat: networking.c processMultibulkBuffer
            // (sdsMakeRoomForNonGreedy for arguments of 32 KB and more).
            Some(end) if buf.capacity() - buf.len() < want => {
                buf.reserve_exact(end.max(buf.len() + want) - buf.len());
            }
            _ => buf.reserve(want),
        }
        let spare = buf.spare_capacity_mut();
        let n = want.min(spare.len());
        // Safety: read(2) writes at most `n` bytes into the spare capacity we own; only
        // the bytes it reports as written are then counted as initialized.
        let r = unsafe { libc::read(self.fd(), spare.as_mut_ptr() as *mut libc::c_void, n) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let r = r as usize;
        // Safety: the first `r` spare bytes were just initialized by read(2).
        unsafe { buf.set_len(buf.len() + r) };
        Ok(r)
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            Conn::Tls(t) => t.write(buf),
            Conn::None => Ok(buf.len()),
        }
    }

    /// Writes from several buffers in one call (an encrypted stream: from the first).
    pub fn write_vectored(&mut self, bufs: &[io::IoSlice]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write_vectored(bufs),
            Conn::Unix(s) => s.write_vectored(bufs),
            Conn::Tls(t) => t.write(bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..])),
            Conn::None => Ok(bufs.iter().map(|b| b.len()).sum()),
        }
    }

    /// Sends what an encrypted stream still holds. Ok(true): nothing left (always,
    /// for a plain socket: its writes go straight to the kernel).
    pub fn drain(&mut self) -> io::Result<bool> {
        match self {
            Conn::Tls(t) => t.drain(),
            _ => Ok(true),
        }
    }

    /// Whether an encrypted stream holds output the socket has not taken yet.
    /// A socket without TLS (what a TLS cluster gives plaintext ports to).
    pub fn is_plain(&self) -> bool {
        matches!(self, Conn::Tcp(_) | Conn::Unix(_))
    }

    pub fn holds_output(&self) -> bool {
        matches!(self, Conn::Tls(t) if t.holds_output())
    }

    /// Memory the connection itself holds (a TLS session's).
    pub fn memory(&self) -> usize {
        match self {
            Conn::Tls(_) => super::tls::SESSION_BYTES,
            _ => 0,
        }
    }

    /// The TCP socket under a TCP or TLS connection.
    pub fn tcp_mut(&mut self) -> Option<&mut TcpStream> {
        match self {
            Conn::Tcp(s) => Some(s),
            Conn::Tls(t) => Some(&mut t.sock),
            _ => None,
        }
    }

    /// The socket to register with the reactor.
    pub fn source(&mut self) -> Option<&mut dyn mio::event::Source> {
        match self {
            Conn::Tcp(s) => Some(s),
            Conn::Unix(s) => Some(s),
            Conn::Tls(t) => Some(&mut t.sock),
            Conn::None => None,
        }
    }

    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Conn::Tcp(s) => s.as_raw_fd(),
            Conn::Unix(s) => s.as_raw_fd(),
            Conn::Tls(t) => t.sock.as_raw_fd(),
            Conn::None => -1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the current command's reply (set from SkipNext when it starts).
    Skip,
}

/// Output Redis keeps in a client's own reply buffer before it starts a list of reply
/// blocks of this size each (networking.c, PROTO_REPLY_CHUNK_BYTES).
pub const REPLY_STATIC_BYTES: usize = 16 * 1024;

/// Bytes the reply blocks holding `n` bytes of output take: whole blocks of
/// REPLY_STATIC_BYTES, as Redis counts allocated block sizes (networking.c
/// _addReplyProtoToList).
pub fn reply_blocks(n: usize) -> usize {
    n.div_ceil(REPLY_STATIC_BYTES) * REPLY_STATIC_BYTES
}

/// A client's output older than its reply buffer, in chunks (see `Client::sealed`).
#[derive(Debug, Default)]
pub struct Sealed {
    chunks: std::collections::VecDeque<Vec<u8>>,
    /// Bytes the chunks hold, and the memory they take (as the allocator sizes them).
    bytes: usize,
    mem: usize,
    /// Bytes of the front chunk already written.
    sent: usize,
}

impl Sealed {
    /// Appends a chunk; one with much room to spare gives it back first.
    pub fn push(&mut self, mut chunk: Vec<u8>) {
        shrink_if_loose(&mut chunk);
        self.bytes += chunk.len();
        self.mem += alloc_size(chunk.capacity());
        self.chunks.push_back(chunk);
    }

    /// Bytes not written yet.
    pub fn pending(&self) -> usize {
        self.bytes - self.sent
    }

    /// Memory the chunks take until written (a chunk is freed once all written).
    pub fn memory(&self) -> usize {
        self.mem + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
    }

    /// Writes from the front chunks, up to IOV of them in one call; returns the bytes
    /// written (0 only once all were).
    fn write_to(&mut self, conn: &mut Conn) -> io::Result<usize> {
        const IOV: usize = 64;
        let mut iov = [io::IoSlice::new(&[]); IOV];
        let mut want = 0;
        for (i, chunk) in self.chunks.iter().take(IOV).enumerate() {
            let from = if i == 0 { self.sent } else { 0 };
            iov[i] = io::IoSlice::new(chunk.get(from..).unwrap_or_default());
            want += iov[i].len();
        }
        let n = if want == 0 {
            0
        } else {
            conn.write_vectored(&iov[..self.chunks.len().min(IOV)])?
        };
        if n == 0 && want > 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let mut left = n;
        while let Some(front) = self.chunks.front() {
            let rest = front.len() - self.sent;
            if left < rest {
                self.sent += left;
                break;
            }
            left -= rest;
            self.bytes -= front.len();
            self.mem -= alloc_size(front.capacity());
            self.sent = 0;
            self.chunks.pop_front();
        }
        Ok(n)
    }
}

pub struct Client {
    pub id: u64,
    pub conn: Conn,
    pub addr: String,
    pub laddr: String,
    pub unix: bool,
    pub name: Option<Vec<u8>>,
    pub db: usize,
    pub authenticated: bool,
    /// Id of the ACL user the connection runs as.
    pub user: usize,
    /// That user's name (CLIENT LIST).
    pub user_name: String,
    /// Closed at once for everyone else (ACL revoked its channels): gone from CLIENT
    /// LIST before its socket is.
    pub freed: bool,
    /// SCRIPT DEBUG: the next EVAL runs in the debugger, forked (false) or in this
    /// process (true, SYNC).
    pub ldb: Option<bool>,
    /// The command waiting for the end of CLIENT PAUSE.
    pub postponed: Option<Vec<Vec<u8>>>,
    pub query: Vec<u8>,
    pub qpos: usize,
    /// Peak query buffer size since the last cron check (to shrink idle buffers).
    pub query_peak: usize,
    pub parser: Parser,
    pub reply: ReplyBuf,
    /// Most bytes the reply buffer held at once since `reply_peak_since_ms` (CLIENT
    /// LIST rbp; the clients cron sizes the buffer after it).
    pub reply_peak: usize,
    pub reply_peak_since_ms: i64,
    /// The capacity the reply buffer keeps between batches, sized by the clients cron
    /// after `reply_peak`; what a burst grew past it is freed once written. Output past
    /// it is what output-buffer limits count. Redis compat: the client's static buffer
    /// (buf_usable_size) beside its reply list, 16 KB until the cron first sizes it
    /// (the buffer itself starts smaller and grows to it as needed).
    pub reply_size: usize,
    /// Bytes of `reply.buf` already written to the socket.
    pub sent: usize,
    pub close_after_reply: bool,
    /// Its commands are running (the loop may be re-entered meanwhile: see
    /// `Reactor::run_blocked`); its socket is left alone until they return.
    pub executing: bool,
    /// Closed at the next opportunity (killed, protocol error written, I/O error).
    pub close_asap: bool,
    pub reply_mode: ReplyMode,
    pub ctime_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: &'static str,
    pub no_evict: bool,
    /// Its size as last counted towards `maxmemory-clients` (0: not counted).
    pub mem_counted: usize,
    /// Its size but for its output, as last measured in full (see
    /// `Server::update_client_mem`).
    pub mem_static: usize,
    pub tot_in: u64,
    pub tot_out: u64,
    pub cmds: u64,
    /// RESP3 negotiated (HELLO 3); mirrored into the reply buffer while a batch runs.
    pub resp3: bool,
    /// WRITABLE interest is registered (output is waiting for socket space).
    pub want_write: bool,
    /// (length, free) of the query buffer while it is detached for processing.
    pub qbuf_view: (usize, usize),
    /// Set while the client waits in a blocking command.
    pub blocked: Option<Box<super::blocking::BlockState>>,
    /// Set between MULTI and EXEC/DISCARD.
    pub multi: Option<Box<crate::cmd::multi::MultiState>>,
    /// A watched key was written: the next EXEC fails.
    pub dirty_cas: bool,
    pub watched: Vec<(usize, Vec<u8>)>,
    /// Subscriptions; None when the client has none (not in pub/sub mode).
    pub subs: Option<Box<super::pubsub::Subs>>,
    /// CLIENT TRACKING state, while on.
    pub tracking: Option<Box<super::tracking::ClientTracking>>,
    /// Queued in `Server::pending_writes` (output arrived from another client).
    pub pending_write: bool,
    /// The peer shut down its side: read until the end of its data is seen, since
    /// no new event will come.
    pub peer_closed: bool,
    /// When pending output first passed the soft output buffer limit.
    pub obuf_soft_since: Option<i64>,
    /// Counted output (`obuf_counted`) when last looked at: limits are checked as it
    /// grows, when Redis would take a new reply block.
    pub obuf_seen: usize,
    /// Receives MONITOR output.
    pub monitor: bool,
    /// Output older than `reply`, sealed into chunks while it piled up (messages to a
    /// slow subscriber, a big reply): a backlog never needs one big buffer that must
    /// double to grow.
    pub sealed: Sealed,
    /// The reply buffer is out while the client's commands run (`reply` is a
    /// placeholder meanwhile; see `detach_reply`).
    pub detached: bool,
    /// Closed for passing its output buffer limit: pending output is thrown away.
    pub drop_output: bool,
    /// The link to our master: its commands run, their replies are dropped.
    pub is_master: bool,
    /// Cluster mode: READONLY (reads of our master's slots served here) and ASKING
    /// (the next command may use a slot being imported).
    pub cluster_readonly: bool,
    pub cluster_asking: bool,
    /// Set while this link to our master is in its handshake (see `handshake`).
    pub handshake: Option<Box<super::handshake::Handshake>>,
    /// Set once the client synced as our replica.
    pub replica: Option<super::repl::ReplicaInfo>,
    /// What REPLCONF said before the client synced as a replica.
    pub replconf: super::fullsync::ReplConf,
    /// The address a replica announced (`REPLCONF ip-address`), shown instead of
    /// its peer address. Redis compat: client.slave_addr.
    pub announced_ip: Option<String>,
    /// A full resync's payload, written before any other output (see `fullsync`).
    pub bulk: Option<Box<super::fullsync::Bulk>>,
    /// A replica's stream is held back (its payload is not through yet).
    pub repl_hold: bool,
    /// A replica fed the stream: the offset of the next byte of it to write, from
    /// the shared replication buffer (None: nothing fed yet).
    pub repl_pos: Option<u64>,
    /// What it keeps in use of that buffer, as last measured (CLIENT LIST omem).
    pub repl_held: usize,
}

impl Client {
    pub fn new(id: u64, conn: Conn, addr: String, laddr: String, unix: bool, now_ms: i64, auth: bool) -> Self {
        Client {
            id,
            conn,
            addr,
            laddr,
            unix,
            name: None,
            db: 0,
            authenticated: auth,
            user: crate::server::acl::DEFAULT_USER,
            user_name: "default".into(),
            freed: false,
            ldb: None,
            postponed: None,
            query: Vec::new(),
            qpos: 0,
            query_peak: 0,
            parser: Parser::default(),
            reply: ReplyBuf::with_capacity(REPLY_MIN_BYTES).chunked(),
            reply_peak: 0,
            reply_peak_since_ms: now_ms,
            reply_size: REPLY_CHUNK_BYTES,
            sent: 0,
            close_after_reply: false,
            executing: false,
            close_asap: false,
            reply_mode: ReplyMode::On,
            ctime_ms: now_ms,
            last_interaction_ms: now_ms,
            last_cmd: "NULL",
            no_evict: false,
            mem_counted: 0,
            mem_static: 0,
            tot_in: 0,
            tot_out: 0,
            cmds: 0,
            resp3: false,
            want_write: false,
            qbuf_view: (0, 0),
            blocked: None,
            multi: None,
            dirty_cas: false,
            watched: Vec::new(),
            subs: None,
            tracking: None,
            pending_write: false,
            peer_closed: false,
            obuf_soft_since: None,
            obuf_seen: 0,
            monitor: false,
            sealed: Sealed::default(),
            detached: false,
            drop_output: false,
            is_master: false,
            cluster_readonly: false,
            cluster_asking: false,
            handshake: None,
            replica: None,
            replconf: Default::default(),
            announced_ip: None,
            bulk: None,
            repl_hold: false,
            repl_pos: None,
            repl_held: 0,
        }
    }

    /// Takes the reply buffer out so commands can write to it while the server is
    /// borrowed mutably; `reattach_reply` puts it back.
    pub fn detach_reply(&mut self) -> ReplyBuf {
        self.detached = true;
        std::mem::replace(&mut self.reply, ReplyBuf::new())
    }

    /// A client being dropped without its output: frees its buffers now rather than
    /// when the connection is closed, so the memory counts as released at once.
    /// Redis compat: evictClients frees the client synchronously.
    pub fn discard_buffers(&mut self) {
        self.drop_output = true;
        self.sealed = Sealed::default();
        if !self.detached && !self.executing {
            self.reply.buf = Vec::new();
            self.sent = 0;
        }
    }

    /// Puts back a reply buffer detached while the client's commands ran. Output that
    /// reached the client meanwhile through the placeholder (messages published by
    /// someone else's command) follows it.
    pub fn reattach_reply(&mut self, mut out: ReplyBuf) {
        self.detached = false;
        if self.drop_output {
            out.clear();
            self.sent = 0;
            self.sealed = Sealed::default();
        }
        if out.len() > out.buf.len() {
            // Full chunks of a big reply join the sealed ones, without what was sent.
            self.reply_peak = self.reply_peak.max(out.len());
            for mut chunk in out.take_chunks() {
                let skip = self.sent.min(chunk.len());
                self.sent -= skip;
                if skip == chunk.len() {
                    continue;
                }
                chunk.drain(..skip);
                self.sealed.push(chunk);
            }
        }
        let extra = std::mem::replace(&mut self.reply, ReplyBuf::new());
        if !extra.buf.is_empty() {
            out.buf.extend_from_slice(&extra.buf);
        }
        self.reply = out;
    }

    /// Memory this client holds: buffers, queued transaction, watched keys and
    /// subscriptions (CLIENT LIST tot-mem; what `maxmemory-clients` limits).
    /// Redis compat: networking.c getClientMemoryUsage.
    pub fn memory(&self) -> usize {
        let multi = self.multi.as_ref().map_or(0, |m| {
            m.queue
                .iter()
                .map(|argv| argv.iter().map(|a| a.capacity() + 24).sum::<usize>() + 24)
                .sum::<usize>()
        });
        let watched: usize = self.watched.iter().map(|(_, k)| k.capacity() + 48).sum();
        let subs = self.subs.as_ref().map_or(0, |s| s.memory());
        let tracking = self.tracking.as_ref().map_or(0, |t| {
            std::mem::size_of::<super::tracking::ClientTracking>()
                + t.prefixes.iter().map(|p| p.capacity() + 48).sum::<usize>()
        });
        alloc_size(self.query.capacity())
            + self.output_memory()
            + self.parser.args.capacity() * 16
            + multi
            + watched
            + subs
            + tracking
            + self.conn.memory()
            + std::mem::size_of::<Client>()
    }

    /// The client's class for CLIENT LIST/KILL TYPE: "master", "replica", "pubsub" or
    /// "normal". Redis compat: networking.c getClientType.
    pub fn class(&self) -> &'static str {
        if self.is_master {
            "master"
        } else if self.replica.is_some() {
            "replica"
        } else if self.subs.is_some() {
            "pubsub"
        } else {
            "normal"
        }
    }

    /// Memory held by the client's output: the reply buffer and the unsent chunks.
    pub fn output_memory(&self) -> usize {
        self.repl_held + alloc_size(self.reply.buf.capacity()) + self.sealed.memory()
    }

    /// Whether `maxmemory-clients` may disconnect it: not a replica nor our master.
    /// Redis compat: networking.c clientEvictionAllowed.
    pub fn evictable(&self) -> bool {
        self.replica.is_none() && !self.is_master
    }

    /// A client without a socket (the AOF loader, a script's client).
    pub fn is_internal(&self) -> bool {
        matches!(self.conn, Conn::None)
    }

    pub fn pending_output(&self) -> usize {
        self.sealed.pending() + self.reply.buf.len().saturating_sub(self.sent)
    }

    /// Of `pending` bytes of output, what Redis's list of reply blocks would take
    /// rather than the client's own buffer: what output-buffer limits and CLIENT LIST's
    /// `omem` count. A replica's stream is counted whole (it never goes through that
    /// buffer). Redis compat: networking.c getClientOutputBufferMemoryUsage.
    pub fn obuf_counted(&self, pending: usize) -> usize {
        if self.replica.is_some() {
            return pending;
        }
        reply_blocks(pending.saturating_sub(self.reply_size.min(REPLY_STATIC_BYTES)))
    }

    /// Appends output produced outside the client's own commands (pub/sub messages,
    /// MONITOR lines), sealing the buffer into a chunk once it holds 64 KB unsent.
    pub fn push_output(&mut self, bytes: &[u8]) {
        use crate::resp::write::CHUNK;
        // A placeholder (see `detach_reply`) is merged back as a whole.
        if self.detached || self.reply.buf.len() + bytes.len() < CHUNK {
            self.reply.buf.extend_from_slice(bytes);
            return;
        }
        // Chunks are filled to exactly CHUNK bytes, an allocator size class: an odd
        // size just over it would cost the next class up (25% more).
        let mut rest = bytes;
        loop {
            let take = CHUNK.saturating_sub(self.reply.buf.len()).min(rest.len());
            self.reply.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.reply.buf.len() < CHUNK {
                break;
            }
            let mut chunk = std::mem::replace(&mut self.reply.buf, Vec::with_capacity(CHUNK));
            if self.sent > 0 {
                chunk.drain(..self.sent);
                self.sent = 0;
            }
            self.sealed.push(chunk);
        }
    }

    /// Makes room in the query buffer for the whole of a big argument as soon as its
    /// length is known, so it is read in as few calls as the socket allows and the
    /// client's memory (maxmemory-clients) counts it from its first bytes.
    /// Redis compat: networking.c processMultibulkBuffer (sdsMakeRoomForNonGreedy for
    /// arguments of PROTO_MBULK_BIG_ARG bytes and more).
    pub fn reserve_big_arg(&mut self) {
        const BIG_ARG: usize = 32 * 1024;
        if let Some(b) = self.parser.pending_bulk().filter(|&b| b >= BIG_ARG) {
            let end = self.qpos + b + 2;
            if self.query.capacity() < end {
                // Room that cannot be had now is made as the bytes arrive instead.
                let _ = self.query.try_reserve_exact(end - self.query.len());
            }
        }
    }

    /// Sizes the reply buffer after its recent peak: halved-or-more waste shrinks it
    /// (not under REPLY_MIN_BYTES), a buffer its replies fill grows (doubling, up to
    /// REPLY_CHUNK_BYTES). Returns how the capacity changed (Less: shrunk); then
    /// forgets the peak every `reset_ms` (negative: never).
    /// Redis compat: server.c clientsCronResizeOutputBuffer.
    pub fn resize_reply_buffer(&mut self, now_ms: i64, reset_ms: i64, enabled: bool) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        if !enabled || self.detached || self.executing {
            return Ordering::Equal;
        }
        let cap = self.reply_size;
        let want = if cap / 2 >= REPLY_MIN_BYTES && self.reply_peak < cap / 2 {
            REPLY_MIN_BYTES.max(self.reply_peak + 1)
        } else if cap < REPLY_CHUNK_BYTES && self.reply_peak >= cap {
            REPLY_CHUNK_BYTES.min(cap * 2)
        } else {
            cap
        };
        if reset_ms >= 0 && now_ms - self.reply_peak_since_ms >= reset_ms {
            self.reply_peak = self.reply.buf.len();
            self.reply_peak_since_ms = now_ms;
        }
        self.reply_size = want;
        // A buffer holding more than the new size is cut to it once written (flush).
        if self.reply.buf.capacity() != want && self.reply.buf.len() <= want {
            let mut buf = Vec::with_capacity(want);
            buf.extend_from_slice(&self.reply.buf);
            self.reply.buf = buf;
        }
        want.cmp(&cap)
    }

    /// Writes as much pending output as the socket takes. Ok(true): all written (or
    /// all that may be written now).
    pub fn flush(&mut self) -> io::Result<bool> {
        if let Some(b) = self.bulk.as_mut() {
            loop {
                let chunk = b.pending()?;
                if chunk.is_empty() {
                    break;
                }
                match self.conn.write(chunk) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        b.consumed(n);
                        self.tot_out += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        if self.repl_hold {
            return self.conn.drain();
        }
        // Sealed chunks hold older output than `reply`.
        while !self.sealed.chunks.is_empty() {
            match self.sealed.write_to(&mut self.conn) {
                Ok(n) => self.tot_out += n as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        while self.sent < self.reply.buf.len() {
            let chunk = self.reply.buf.get(self.sent..).unwrap_or_default();
            match self.conn.write(chunk) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.sent += n;
                    self.tot_out += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // A client that never fully drains would otherwise make the buffer
                    // grow forever behind `sent`: drop the written prefix once it is at
                    // least half the buffer (amortized: each byte moves at most once).
                    if self.sent >= 64 * 1024 && self.sent * 2 >= self.reply.buf.len() {
                        self.reply.buf.drain(..self.sent);
                        self.sent = 0;
                    }
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.reply_peak = self.reply_peak.max(self.reply.buf.len());
        self.reply.buf.clear();
        self.sent = 0;
        // What a burst grew the buffer past its kept size is freed once written, so the
        // memory it took comes back at once (maxmemory counts it). Redis compat: the
        // reply list's nodes are freed as they are written, the static buffer stays.
        // Not replaced by a buffer of the kept size: a client whose replies had been
        // small would then hold more than before the burst (ten tracking clients sent
        // a burst of invalidations by an eviction took 160 KB more, and the next
        // command evicted again for it); the next reply sizes it.
        if self.reply.buf.capacity() > self.reply_size {
            self.reply.buf = Vec::new();
        }
        self.conn.drain()
    }

    /// Writes a replica's stream from the shared replication buffer, from its
    /// position on, as far as the socket takes. Ok(true): all written. A position
    /// the buffer no longer holds is an error (the replica cannot be served).
    pub fn write_stream(&mut self, buf: &super::replbuf::ReplBuffer) -> io::Result<bool> {
        let Some(mut pos) = self.repl_pos else {
            return Ok(true);
        };
        if !buf.holds(pos) {
            return Err(io::ErrorKind::InvalidData.into());
        }
        let res = loop {
            let chunk = buf.chunk_from(pos);
            if chunk.is_empty() {
                break self.conn.drain();
            }
            match self.conn.write(chunk) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    pos += n as u64;
                    self.tot_out += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        self.repl_pos = Some(pos);
        self.repl_held = buf.mem_from(pos);
        res
    }

    /// The peer's address without its port (None: no port in it).
    pub fn ip(&self) -> Option<&str> {
        let ip = self.addr.rsplit_once(':')?.0;
        Some(ip.strip_prefix('[').and_then(|ip| ip.strip_suffix(']')).unwrap_or(ip))
    }

    /// A replica's address for INFO and ROLE: the one it announced, else its peer's.
    pub fn replica_ip(&self) -> &str {
        match &self.announced_ip {
            Some(ip) => ip,
            None => self.ip().unwrap_or(&self.addr),
        }
    }

    /// A replica as logs name it: `ip:port`, where it listens.
    /// Redis compat: replication.c replicationGetSlaveName.
    pub fn replica_name(&self) -> String {
        let ip = self.replica_ip();
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        match self.replconf.port {
            0 => format!("{ip}:<unknown-replica-port>"),
            port => format!("{ip}:{port}"),
        }
    }

    /// Connected over a Unix socket or from a loopback address.
    pub fn is_local(&self) -> bool {
        self.unix || self.addr.starts_with("127.") || self.addr.starts_with("[::1]:")
    }

    /// One `CLIENT LIST` / `CLIENT INFO` line (without the trailing newline).
    /// `ip:port` (`path:0` on a Unix socket). Redis compat: networking.c getClientPeerId.
    pub fn peer_id(&self) -> String {
        if self.unix {
            format!("{}:0", self.laddr)
        } else {
            self.addr.clone()
        }
    }

    /// Whether the client may stay silent indefinitely: a replica or monitor, our
    /// master, a client blocked or paused, or a subscriber.
    pub fn waits_by_design(&self) -> bool {
        self.replica.is_some()
            || self.monitor
            || self.is_master
            || self.blocked.is_some()
            || self.postponed.is_some()
            || self.subs.is_some()
    }

    pub fn info_line(&self, now_ms: i64) -> String {
        let name = self
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let pending = self.pending_output();
        let obl = if self.replica.is_some() {
            0
        } else {
            pending.min(self.reply_size.min(REPLY_STATIC_BYTES))
        };
        let listed = self.obuf_counted(pending);
        // Redis compat: networking.c catClientInfoString, letters in its order.
        let mut flags = String::new();
        let tracking = self.tracking.as_ref();
        for (on, letter) in [
            (self.monitor, 'O'),
            (self.replica.is_some(), 'S'),
            (self.is_master, 'M'),
            (self.subs.is_some(), 'P'),
            (self.multi.is_some(), 'x'),
            // A client held by CLIENT PAUSE is blocked too.
            (self.blocked.is_some() || self.postponed.is_some(), 'b'),
            (tracking.is_some(), 't'),
            (tracking.is_some_and(|t| t.broken_redir), 'R'),
            (tracking.is_some_and(|t| t.bcast), 'B'),
            (self.dirty_cas, 'd'),
            (self.close_after_reply, 'c'),
            (self.close_asap, 'A'),
            (self.unix, 'U'),
            (self.cluster_readonly, 'r'),
            (self.no_evict, 'e'),
        ] {
            if on {
                flags.push(letter);
            }
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let (addr, laddr) = if self.unix {
            (format!("{}:0", self.laddr), self.laddr.clone())
        } else {
            (self.addr.clone(), self.laddr.clone())
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
            self.id,
            addr,
            laddr,
            self.conn.fd(),
            name,
            (now_ms - self.ctime_ms).max(0) / 1000,
            (now_ms - self.last_interaction_ms).max(0) / 1000,
            flags,
            self.db,
            self.subs.as_ref().map(|s| s.channels.len()).unwrap_or(0),
            self.subs.as_ref().map(|s| s.patterns.len()).unwrap_or(0),
            self.subs.as_ref().map(|s| s.shard.len()).unwrap_or(0),
            self.multi.as_ref().map(|m| m.queue.len() as i64).unwrap_or(-1),
            self.query.len().saturating_sub(self.qpos).max(self.qbuf_view.0),
            self.query.capacity().saturating_sub(self.query.len()).max(self.qbuf_view.1),
            self.parser.arg_bytes,
            self.reply_size,
            self.reply_peak,
            obl,
            listed.div_ceil(REPLY_STATIC_BYTES),
            listed + self.repl_held,
            self.memory(),
            self.last_cmd,
            self.user_name,
            self.tracking.as_ref().map(|t| t.redirect as i64).unwrap_or(-1),
            if self.resp3 { 3 } else { 2 },
        )
    }
}
