//! The replica's side of a link to its master, from the connection to the first byte
//! of the stream, driven by socket events like any client so the server keeps
//! answering meanwhile: connect, PING, then AUTH, REPLCONF and PSYNC pipelined, then
//! either the stream goes on (+CONTINUE) or a snapshot is received and loaded
//! (+FULLRESYNC). Redis compat: replication.c connectWithMaster, syncWithMaster,
//! readSyncBulkPayload.
use std::io;
use std::net::ToSocketAddrs;

use mio::Interest;

use super::client::{Client, Conn};
use super::repl::LinkState;
use super::Server;
use crate::clock;
use crate::persist::aof::cat_command;
use crate::util::fs::Source;

/// Where a link stands until the master's stream flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The TCP connection is being made.
    Connecting,
    /// PING sent.
    PingReply,
    /// AUTH and REPLCONF replies still to read (PSYNC is sent after them).
    Replies(usize),
    PsyncReply,
    /// +FULLRESYNC id offset read; the snapshot's `$<len>` line comes next.
    PayloadLen(String, u64),
    Payload(String, u64, usize),
    /// A streamed snapshot, ended by the 40-byte mark its `$EOF:<mark>` line gave.
    PayloadEof(String, u64, Vec<u8>),
}

/// A handshake's state, on the client that carries the link.
#[derive(Debug)]
pub struct Handshake {
    pub step: Step,
    /// The db the master's stream had selected, when PSYNC asked to continue.
    pub resume_db: Option<usize>,
    /// Whether the pipelined replies include AUTH's (its error is fatal).
    pub auth_sent: bool,
    /// Where the snapshot goes as it arrives, unless it is loaded from memory
    /// (repl-diskless-load).
    pub file: Option<TransferFile>,
}

/// A snapshot being received to disk, as Redis does unless `repl-diskless-load` says
/// otherwise: the link's buffer holds no more than one read of it, and once whole the
/// file becomes `dbfilename` (a replica restarted later loads its master's data and
/// history from it). Removed if the transfer does not complete.
/// Redis compat: replication.c readSyncBulkPayload (repl_transfer_tmpfile).
pub struct TransferFile {
    file: std::fs::File,
    path: String,
    /// Payload bytes written so far.
    written: u64,
    /// Bytes written back to the disk so far (see `sync_range`).
    synced: u64,
    /// Renamed into place: nothing to remove.
    kept: bool,
}

impl std::fmt::Debug for TransferFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransferFile({}, {} bytes)", self.path, self.written)
    }
}

impl Drop for TransferFile {
    fn drop(&mut self) {
        if !self.kept {
            crate::util::fs::bg_unlink(self.path.clone().into());
        }
    }
}

/// Written back every this many bytes while a snapshot arrives, so that the final
/// fsync has little left. Redis compat: REPL_MAX_WRITTEN_BEFORE_FSYNC.
const SYNC_EVERY: u64 = 8 << 20;

/// Bytes read per call while a snapshot arrives.
const PAYLOAD_CHUNK: usize = 1 << 20;

fn line_at(buf: &[u8], pos: usize) -> Option<(String, usize)> {
    let rest = buf.get(pos..)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let line = rest.get(..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((String::from_utf8_lossy(line).into_owned(), pos + nl + 1))
}

impl Server {
    /// Cron: starts a connection to the master (without waiting for it).
    pub fn repl_connect(&mut self, host: &str, port: u16) -> Result<(), String> {
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("no address")?;
        let source = self.cfg.get("bind-source-addr").unwrap_or_default();
        let stream = crate::util::net::connect_nonblocking(addr, source).map_err(|e| crate::util::os_err(&e))?;
        let mut stream = mio::net::TcpStream::from_std(stream);
        let _ = stream.set_nodelay(true);
        // Redis compat: replication.c connectWithMaster (connCreateTLS when
        // tls-replication is on).
        let tls = match (self.cfg.yes("tls-replication"), self.tls.as_ref()) {
            (false, _) => None,
            (true, Some(t)) => Some(t.connect(host)?),
            (true, None) => return Err("TLS is not configured".into()),
        };
        let id = self.next_client_id;
        self.next_client_id += 1;
        let now = clock::now_ms();
        let entry = self.clients.vacant_entry();
        let cid = entry.key();
        if let Some(reg) = self.registry.as_ref() {
            reg.register(&mut stream, mio::Token(cid), Interest::READABLE | Interest::WRITABLE)
                .map_err(|e| e.to_string())?;
        }
        let conn = match tls {
            Some(tls) => Conn::Tls(Box::new(super::tls::TlsStream::new(stream, tls))),
            None => Conn::Tcp(stream),
        };
        let mut c = Client::new(id, conn, format!("{host}:{port}"), String::new(), false, now, true);
        c.is_master = true;
        c.handshake = Some(Box::new(Handshake {
            step: Step::Connecting,
            resume_db: None,
            auth_sent: false,
            file: None,
        }));
        entry.insert(c);
        if let Some(m) = self.repl.master.as_mut() {
            m.cid = Some(cid);
            m.state = LinkState::Connecting;
            m.last_io_ms = now;
        }
        tracing::info!("MASTER <-> REPLICA sync started");
        Ok(())
    }

    /// A socket event on a link still in its handshake.
    pub fn repl_handshake_io(&mut self, cid: usize) {
        if let Err(e) = self.handshake_advance(cid) {
            tracing::warn!("{e}");
            self.close_client_async(cid);
        }
    }

    fn handshake_advance(&mut self, cid: usize) -> Result<(), String> {
        let Some(c) = self.clients.get_mut(cid) else {
            return Ok(());
        };
        if c.close_asap {
            return Ok(());
        }
        if c.handshake.as_ref().is_some_and(|h| h.step == Step::Connecting) {
            // A TLS link says its hello as soon as it is connected.
            let interest = if c.conn.holds_output() {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let Some(s) = c.conn.tcp_mut() else {
                return Ok(());
            };
            if let Ok(Some(e)) | Err(e) = s.take_error() {
                return Err(format!("Error condition on socket for SYNC: {e}"));
            }
            match s.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(()),
                Err(e) => return Err(format!("Error condition on socket for SYNC: {e}")),
            }
            tracing::info!("Non blocking connect for SYNC fired the event.");
            if let Some(reg) = self.registry.as_ref() {
                let _ = reg.reregister(s, mio::Token(cid), interest);
            }
            self.handshake_send(cid, &[&[b"PING".as_slice()]])?;
            self.handshake_set(cid, Step::PingReply);
            return Ok(());
        }
        // What an encrypted link still holds for the master (its handshake).
        c.conn
            .drain()
            .map_err(|e| format!("Error condition on socket for SYNC: {e}"))?;
        // One read per event (a snapshot in large pieces), like any client: a full
        // read comes back through the read queue, so clients are served in between.
        let want = match c
            .handshake
            .as_ref()
            .map(|h| (&h.step, h.file.as_ref().map_or(0, |f| f.written)))
        {
            Some((Step::Payload(_, _, len), written)) => len
                .saturating_sub(written as usize)
                .saturating_add(c.qpos)
                .saturating_sub(c.query.len())
                .clamp(16 * 1024, PAYLOAD_CHUNK),
            Some((Step::PayloadEof(..), _)) => PAYLOAD_CHUNK,
            _ => 16 * 1024,
        };
        let mut eof = false;
        match c.conn.read_append(&mut c.query, want, None) {
            Ok(0) => eof = true,
            Ok(n) => {
                c.tot_in += n as u64;
                self.stats.net_repl_input += n as u64;
                // A full read may have left more; a short one drained the socket, and
                // if the master has closed, its end of data raises no new edge.
                if n == want || c.peer_closed {
                    self.pending_reads.push(cid);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.pending_reads.push(cid),
            Err(e) => return Err(format!("Error condition on socket for SYNC: {e}")),
        }
        if let Some(m) = self.repl.master.as_mut() {
            m.last_io_ms = clock::now_ms();
        }
        if let (Some(l), Some(c)) = (self.loading.as_mut(), self.clients.get(cid)) {
            if l.from_link {
                l.loaded_bytes = c.query.len().saturating_sub(c.qpos) as u64;
            }
        }
        while self.handshake_step(cid)? {}
        if eof && self.clients.get(cid).is_some_and(|c| c.handshake.is_some()) {
            return Err("Master closed the connection during the handshake".into());
        }
        Ok(())
    }

    fn handshake_set(&mut self, cid: usize, step: Step) {
        let state = match step {
            Step::Connecting => LinkState::Connecting,
            Step::PayloadLen(..) | Step::Payload(..) | Step::PayloadEof(..) => LinkState::Transfer,
            _ => LinkState::Handshake,
        };
        if let Some(h) = self.clients.get_mut(cid).and_then(|c| c.handshake.as_mut()) {
            h.step = step;
        }
        if let Some(m) = self.repl.master.as_mut() {
            m.state = state;
        }
    }

    fn handshake_send(&mut self, cid: usize, cmds: &[&[&[u8]]]) -> Result<(), String> {
        let mut buf = Vec::new();
        for argv in cmds {
            cat_command(&mut buf, argv);
        }
        let Some(c) = self.clients.get_mut(cid) else {
            return Ok(());
        };
        // A few hundred bytes to a socket that just connected: the kernel takes them.
        let mut at = 0;
        while at < buf.len() {
            match c.conn.write(buf.get(at..).unwrap_or_default()) {
                Ok(0) => return Err("Error condition on socket for SYNC: connection closed".into()),
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("Error condition on socket for SYNC: {e}")),
            }
        }
        Ok(())
    }

    /// Consumes one reply (or the snapshot) from the buffer. Ok(true): go on.
    fn handshake_step(&mut self, cid: usize) -> Result<bool, String> {
        let Some(c) = self.clients.get_mut(cid) else {
            return Ok(false);
        };
        let Some(h) = c.handshake.as_ref() else {
            return Ok(false);
        };
        let step = h.step.clone();
        if let Step::Payload(id, offset, len) = step {
            if h.file.is_some() {
                return self.payload_to_file(cid, id, offset, len, None);
            }
            let start = c.qpos;
            let end = start.saturating_add(len);
            if c.query.len() < end {
                return Ok(false);
            }
            let mut data = std::mem::take(&mut c.query);
            let rest = data.split_off(end);
            data.drain(..start);
            self.handshake_load(cid, id, offset, Source::Bytes(&data), rest)?;
            return Ok(false);
        }
        if let Step::PayloadEof(id, offset, mark) = step {
            if h.file.is_some() {
                return self.payload_to_file(cid, id, offset, 0, Some(&mark));
            }
            // The master sends nothing after the mark until we ACK.
            let start = c.qpos;
            if c.query.len() < start + mark.len() || !c.query.ends_with(&mark) {
                return Ok(false);
            }
            let mut data = std::mem::take(&mut c.query);
            data.truncate(data.len() - mark.len());
            data.drain(..start);
            self.handshake_load(cid, id, offset, Source::Bytes(&data), Vec::new())?;
            return Ok(false);
        }
        let Some((line, next)) = line_at(&c.query, c.qpos) else {
            return Ok(false);
        };
        c.qpos = next;
        // The master keeps a waiting link alive with empty lines.
        if line.is_empty() {
            return Ok(true);
        }
        match step {
            Step::PingReply => {
                if line.starts_with('-') && !line.starts_with("-NOAUTH") && !line.starts_with("-NOPERM") {
                    return Err(format!("Error reply to PING from master: '{line}'"));
                }
                tracing::info!("Master replied to PING, replication can continue...");
                self.handshake_request(cid)?;
            }
            Step::Replies(left) => {
                let auth = self
                    .clients
                    .get(cid)
                    .and_then(|c| c.handshake.as_ref())
                    .is_some_and(|h| h.auth_sent);
                if auth && line.starts_with('-') {
                    return Err(format!("Unable to AUTH to MASTER: {line}"));
                }
                if let Some(h) = self.clients.get_mut(cid).and_then(|c| c.handshake.as_mut()) {
                    h.auth_sent = false;
                }
                if left > 1 {
                    self.handshake_set(cid, Step::Replies(left - 1));
                } else {
                    // PSYNC waits for the replies before it: a master refuses it while
                    // output to the link is pending.
                    self.handshake_psync(cid)?;
                }
            }
            Step::PsyncReply => {
                // A failover is done once the target answers PSYNC as a master.
                // Redis compat: replication.c syncWithMaster.
                if self.failover_in_progress() {
                    if line.starts_with("+CONTINUE") || line.starts_with("+FULLRESYNC") {
                        self.failover_clear();
                    } else {
                        self.failover_abort("Failover target rejected psync request");
                        return Err(format!("Unexpected reply to PSYNC from master: {line}"));
                    }
                }
                let resume_db = self
                    .clients
                    .get(cid)
                    .and_then(|c| c.handshake.as_ref())
                    .and_then(|h| h.resume_db);
                let mut parts = line.split(' ');
                match parts.next() {
                    // The master still has what follows our data: the stream goes on
                    // from there, into the db it had selected. Redis compat:
                    // replication.c slaveTryPartialResynchronization.
                    Some("+CONTINUE") if resume_db.is_some() => {
                        if let Some(id) = parts.next().filter(|id| id.len() == 40 && *id != self.repl.replid) {
                            tracing::info!("Master replication ID changed to {id}");
                            self.repl.shift_replid(id.to_string());
                            self.disconnect_replicas();
                        }
                        tracing::info!("Successful partial resynchronization with master.");
                        tracing::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
                        crate::util::supervise::notify("STATUS=MASTER <-> REPLICA sync: Partial Resynchronization accepted. Ready to accept connections in read-write mode.\n");
                        let rest = self.take_unread(cid);
                        self.repl_link_up(cid, resume_db.unwrap_or(0), rest);
                        return Ok(false);
                    }
                    Some("+FULLRESYNC") => {
                        let id = parts.next().unwrap_or_default().to_string();
                        let offset: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                        tracing::info!("Full resync from master: {id}:{offset}");
                        self.handshake_set(cid, Step::PayloadLen(id, offset));
                    }
                    // A replica of a replica whose own link is down, or a master
                    // loading its data: tried again later, our history kept.
                    Some("-NOMASTERLINK" | "-LOADING") => {
                        return Err(format!(
                            "Master is currently unable to PSYNC but should be in the future: {line}"
                        ))
                    }
                    _ => return Err(format!("Unexpected reply to PSYNC from master: {line}")),
                }
            }
            Step::PayloadLen(id, offset) if line.starts_with("$EOF:") => {
                let mark = line.get(5..).unwrap_or_default().as_bytes().to_vec();
                if mark.len() != 40 {
                    return Err(format!("Bad EOF mark from MASTER: '{line}'"));
                }
                let to = self.transfer_begin(cid, &id, 0)?;
                tracing::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {to}");
                self.discard_cached_master(cid);
                self.handshake_set(cid, Step::PayloadEof(id, offset, mark));
            }
            Step::PayloadLen(id, offset) => {
                let len: usize = line
                    .strip_prefix('$')
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"))?;
                let to = self.transfer_begin(cid, &id, len as u64)?;
                tracing::info!("MASTER <-> REPLICA sync: receiving {len} bytes from master {to}");
                self.discard_cached_master(cid);
                self.handshake_set(cid, Step::Payload(id, offset, len));
            }
            Step::Connecting | Step::Payload(..) | Step::PayloadEof(..) => return Ok(false),
        }
        Ok(true)
    }

    /// After the PING reply: AUTH and REPLCONF in one write.
    fn handshake_request(&mut self, cid: usize) -> Result<(), String> {
        let auth = self.cfg.get("masterauth").unwrap_or_default().to_string();
        let user = self.cfg.get("masteruser").unwrap_or_default().to_string();
        // Redis compat: replication.c syncWithMaster (the announced address, for
        // replicas behind NAT or port forwarding).
        let port = match self.cfg.int("replica-announce-port") {
            0 if self.cfg.yes("tls-replication") => self.tls_port().to_string(),
            0 => self.tcp_port.to_string(),
            p => p.to_string(),
        };
        let ip = self.cfg.get("replica-announce-ip").unwrap_or_default().to_string();
        let mut cmds: Vec<Vec<&[u8]>> = Vec::new();
        if !auth.is_empty() {
            if user.is_empty() {
                cmds.push(vec![b"AUTH", auth.as_bytes()]);
            } else {
                cmds.push(vec![b"AUTH", user.as_bytes(), auth.as_bytes()]);
            }
        }
        cmds.push(vec![b"REPLCONF", b"listening-port", port.as_bytes()]);
        if !ip.is_empty() {
            cmds.push(vec![b"REPLCONF", b"ip-address", ip.as_bytes()]);
        }
        cmds.push(vec![b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
        let argvs: Vec<&[&[u8]]> = cmds.iter().map(|v| v.as_slice()).collect();
        self.handshake_send(cid, &argvs)?;
        let replies = cmds.len();
        if let Some(h) = self.clients.get_mut(cid).and_then(|c| c.handshake.as_mut()) {
            h.auth_sent = !auth.is_empty();
        }
        self.handshake_set(cid, Step::Replies(replies));
        Ok(())
    }

    /// A full copy is coming: the history we asked to continue is given up.
    /// Redis compat: replication.c replicationDiscardCachedMaster.
    fn discard_cached_master(&mut self, cid: usize) {
        let cached = self
            .clients
            .get(cid)
            .and_then(|c| c.handshake.as_ref())
            .is_some_and(|h| h.resume_db.is_some());
        if cached {
            tracing::info!("Discarding previously cached master state.");
        }
    }

    /// PSYNC: to continue our data's history if it has one, else for a full copy.
    fn handshake_psync(&mut self, cid: usize) -> Result<(), String> {
        let resume_db = self.repl.master.as_ref().and_then(|m| m.cached_db);
        let next = (self.repl.offset + 1).to_string();
        let replid = self.repl.replid.clone();
        // A failing-over master asks its target to take over. Redis compat:
        // replication.c slaveTryPartialResynchronization.
        let failover: &[&[u8]] = if self.failover_in_progress() {
            &[b"FAILOVER"]
        } else {
            &[]
        };
        let mut argv: Vec<&[u8]> = vec![b"PSYNC"];
        if resume_db.is_some() {
            tracing::info!("Trying a partial resynchronization (request {replid}:{next}).");
            argv.extend([replid.as_bytes(), next.as_bytes()]);
        } else {
            tracing::info!("Partial resynchronization not possible (no cached master)");
            argv.extend([b"?".as_slice(), b"-1"]);
        }
        argv.extend_from_slice(failover);
        self.handshake_send(cid, &[&argv])?;
        if let Some(h) = self.clients.get_mut(cid).and_then(|c| c.handshake.as_mut()) {
            h.resume_db = resume_db;
        }
        self.handshake_set(cid, Step::PsyncReply);
        Ok(())
    }

    /// A snapshot starts to arrive, to a file (see `TransferFile`) or, as
    /// `repl-diskless-load` asks, into memory: then our data stays as it is until all
    /// of it is here, but what clients see meanwhile follows Redis's loading from the
    /// socket: `swapdb` serves the old data throughout when the snapshot continues the
    /// history we have (async loading), and otherwise (and `on-empty-db` with no keys)
    /// answers -LOADING from now on. Returns where it goes, for the log.
    /// Redis compat: replication.c readSyncBulkPayload, useDisklessLoad.
    fn transfer_begin(&mut self, cid: usize, id: &str, len: u64) -> Result<&'static str, String> {
        let asynchronous = match self.cfg.get("repl-diskless-load").unwrap_or_default() {
            "swapdb" => id == self.repl.replid,
            "on-empty-db" if self.dbs.iter().all(|d| d.is_empty()) => false,
            _ => {
                let path = format!("temp-{}.{}.rdb", clock::now_ms() / 1000, std::process::id());
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|e| {
                        format!(
                            "Opening the temp file needed for MASTER <-> REPLICA synchronization: {}",
                            crate::util::os_err(&e)
                        )
                    })?;
                if let Some(h) = self.clients.get_mut(cid).and_then(|c| c.handshake.as_mut()) {
                    h.file = Some(TransferFile {
                        file,
                        path,
                        written: 0,
                        synced: 0,
                        kept: false,
                    });
                }
                return Ok("to disk");
            }
        };
        self.loading = Some(super::Loading {
            start_secs: clock::now_ms() / 1000,
            total_bytes: len,
            asynchronous,
            from_link: true,
            ..Default::default()
        });
        tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        Ok("to parser")
    }

    /// Moves the snapshot's bytes read so far into its file (`len` of them, or up to
    /// `mark`, whose bytes stay in the buffer until the mark is seen); once whole, the
    /// file is loaded. Ok(false): wait for more.
    fn payload_to_file(
        &mut self,
        cid: usize,
        id: String,
        offset: u64,
        len: usize,
        mark: Option<&[u8]>,
    ) -> Result<bool, String> {
        let Some(c) = self.clients.get_mut(cid) else {
            return Ok(false);
        };
        let Some(f) = c.handshake.as_mut().and_then(|h| h.file.as_mut()) else {
            return Ok(false);
        };
        let buffered = c.query.get(c.qpos..).unwrap_or_default();
        let (take, done) = match mark {
            None => {
                let left = len.saturating_sub(f.written as usize);
                (left.min(buffered.len()), left <= buffered.len())
            }
            Some(m) if buffered.len() >= m.len() && buffered.ends_with(m) => (buffered.len() - m.len(), true),
            Some(m) => (buffered.len().saturating_sub(m.len()), false),
        };
        use std::io::Write;
        f.file
            .write_all(buffered.get(..take).unwrap_or_default())
            .map_err(|e| {
                format!(
                    "Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {}",
                    crate::util::os_err(&e)
                )
            })?;
        f.written += take as u64;
        if f.written - f.synced >= SYNC_EVERY {
            crate::util::fs::sync_range(&f.file, f.synced, f.written - f.synced);
            f.synced = f.written;
        }
        c.qpos += take;
        if mark.is_some() && done {
            c.qpos = c.query.len();
        }
        // Only the bytes not in the file stay buffered.
        c.query.drain(..c.qpos);
        c.qpos = 0;
        if !done {
            return Ok(false);
        }
        let rest = std::mem::take(&mut c.query);
        self.handshake_load_file(cid, id, offset, rest)?;
        Ok(false)
    }

    /// The snapshot's file is whole: it becomes `dbfilename` (a background save that
    /// would replace it is stopped first) and is loaded.
    fn handshake_load_file(&mut self, cid: usize, id: String, offset: u64, rest: Vec<u8>) -> Result<(), String> {
        let Some(mut f) = self
            .clients
            .get_mut(cid)
            .and_then(|c| c.handshake.as_mut())
            .and_then(|h| h.file.take())
        else {
            return Ok(());
        };
        f.file.sync_all().map_err(|e| {
            format!(
                "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {}",
                crate::util::os_err(&e)
            )
        })?;
        if self.rdb.saving() {
            tracing::info!(
                "Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process {} and removing its temp file to avoid any race",
                self.rdb.child_pid()
            );
            self.kill_bgsave();
        }
        let dest = self.dbfilename();
        std::fs::rename(&f.path, &dest).map_err(|e| {
            format!(
                "Failed trying to rename the temp DB into {dest} in MASTER <-> REPLICA synchronization: {}",
                crate::util::os_err(&e)
            )
        })?;
        f.kept = true;
        drop(f);
        let dest = std::path::PathBuf::from(dest);
        crate::util::fs::fsync_dir(crate::util::fs::parent_dir(&dest)).map_err(|e| {
            format!(
                "Failed trying to sync DB directory {} in MASTER <-> REPLICA synchronization: {}",
                dest.display(),
                crate::util::os_err(&e)
            )
        })?;
        let loaded = match crate::util::fs::Mapped::open(&dest) {
            Ok(map) => self.handshake_load(cid, id, offset, Source::Mapped(&map), rest),
            Err(e) => Err(format!(
                "Failed trying to load the MASTER synchronization DB from disk: {}",
                crate::util::os_err(&e)
            )),
        };
        if self.cfg.yes("rdb-del-sync-files")
            && self.cfg.save_params.is_empty()
            && self.aof.state == super::aof::AofState::Off
        {
            tracing::info!("Removing the RDB file obtained from the master. This replica has persistence disabled");
            crate::util::fs::bg_unlink(dest);
        }
        loaded
    }

    /// (payload size, or -1 when it ends with a mark; bytes of it read) of the
    /// snapshot arriving on link `cid`, for INFO.
    pub fn transfer_progress(&self, cid: Option<usize>) -> Option<(i64, u64)> {
        let c = self.clients.get(cid?)?;
        let h = c.handshake.as_ref()?;
        let buffered = c.query.len().saturating_sub(c.qpos) as u64;
        let read = h.file.as_ref().map_or(0, |f| f.written) + buffered;
        match &h.step {
            Step::Payload(_, _, len) => Some((*len as i64, read)),
            Step::PayloadEof(..) => Some((-1, read)),
            _ => Some((0, 0)),
        }
    }

    /// The link carrying a snapshot dropped: the old data is served again.
    pub fn transfer_abort(&mut self) {
        if let Some(l) = self.loading.filter(|l| l.from_link) {
            tracing::warn!(
                "Internal error in RDB reading offset {}: the master's snapshot ended early (link lost); the old data is kept",
                l.loaded_bytes
            );
            self.loading = None;
        }
    }

    /// The snapshot arrived: it replaces our data, which then follows the master's
    /// history `id` from `offset`, starting with `rest`.
    fn handshake_load(
        &mut self,
        cid: usize,
        id: String,
        offset: u64,
        src: Source,
        rest: Vec<u8>,
    ) -> Result<(), String> {
        if let Some(c) = self.clients.get_mut(cid) {
            c.query.clear();
            c.qpos = 0;
            // Events served while it loads must leave this link alone: its next
            // bytes stay in the socket until the stream starts.
            c.executing = true;
        }
        let swap = self.cfg.get("repl-diskless-load") == Some("swapdb");
        let loaded = self.repl_load_snapshot(src, swap);
        if let Some(c) = self.clients.get_mut(cid) {
            c.executing = false;
        }
        loaded?;
        self.repl.replid = id;
        self.repl.offset = offset;
        self.repl.clear_replid2();
        self.repl.reset_backlog();
        self.disconnect_replicas();
        // The first ACK tells the master the stream may start (after a streamed
        // snapshot, it waits for it).
        self.repl_send_ack(cid);
        self.repl_link_up(cid, 0, rest);
        Ok(())
    }

    /// The buffered bytes past what the handshake read.
    fn take_unread(&mut self, cid: usize) -> Vec<u8> {
        let Some(c) = self.clients.get_mut(cid) else {
            return Vec::new();
        };
        let rest = c.query.get(c.qpos..).unwrap_or_default().to_vec();
        c.query.clear();
        c.qpos = 0;
        rest
    }

    /// The master's snapshot replaces the dataset. With `swap`, the old data stays
    /// until the new is loaded (and stays if it cannot be).
    fn repl_load_snapshot(&mut self, src: Source, swap: bool) -> Result<(), String> {
        if !swap {
            tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
            for i in 0..self.dbs.len() {
                if let Some(db) = self.dbs.get_mut(i) {
                    crate::db::lazyfree::drop_later(db.flush());
                }
                self.signal_db(i);
            }
        }
        self.scripts.functions.flush();
        if !self.loading.is_some_and(|l| l.from_link) {
            tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        }
        let res = self.load_rdb_data(src, false);
        if swap {
            for i in 0..self.dbs.len() {
                self.signal_db(i);
            }
            if res.is_ok() {
                tracing::info!("MASTER <-> REPLICA sync: Swapping the loaded data in");
            } else {
                tracing::warn!("Failed trying to load the MASTER synchronization DB from socket, the old data is kept");
            }
        }
        res?;
        tracing::info!("MASTER <-> REPLICA sync: Finished with success");
        crate::util::supervise::notify(
            "STATUS=MASTER <-> REPLICA sync: Finished with success. Ready to accept connections in read-write mode.\n",
        );
        Ok(())
    }

    /// The handshake is over: the link's client now applies the master's stream,
    /// starting with `rest`, in db `db`.
    fn repl_link_up(&mut self, cid: usize, db: usize, rest: Vec<u8>) {
        let now = clock::now_ms();
        if let Some(c) = self.clients.get_mut(cid) {
            c.handshake = None;
            c.db = db;
            c.query = rest;
            c.qpos = 0;
        }
        if let Some(m) = self.repl.master.as_mut() {
            m.cached_db = None;
            m.state = LinkState::Connected;
            m.last_io_ms = now;
            m.last_ack_ms = now;
        }
        self.sync_propagation();
        // Bytes that came with the last reply raise no socket event of their own.
        super::reactor::process_input(self, cid);
    }
}
