//! Replication. As a master: SYNC/PSYNC answer with a full resynchronization (the
//! dataset as an RDB payload, then every propagated write as it happens) or, when the
//! replica's id and offset are still in the backlog, a partial one; replicas
//! acknowledge offsets (REPLCONF ACK), which WAIT and INFO report. As a replica: cron
//! starts the link to the master, whose handshake runs on socket events (see
//! `handshake`), then the master is served like a client whose replies are dropped;
//! its stream is passed on unchanged to our own replicas. Redis compat: replication.c.
use super::fullsync::SyncState;
use super::persist::SavePurpose;
use super::replbuf::ReplBuffer;
use super::Server;
use crate::clock;
use crate::persist::aof::cat_command;

/// A replica's view of its master link. Redis compat: server.h REPL_STATE_*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Down: cron connects again.
    Connect,
    /// The TCP connection is being made.
    Connecting,
    /// PING, AUTH, REPLCONF and PSYNC exchanged.
    Handshake,
    /// The master's snapshot arriving.
    Transfer,
    Connected,
}

pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// The client serving the master's stream, once connected.
    pub cid: Option<usize>,
    pub last_io_ms: i64,
    pub down_since_ms: i64,
    pub last_attempt_ms: i64,
    pub last_ack_ms: i64,
    /// Our data is the master's history up to `Repl::offset` of `Repl::replid`, with
    /// the stream's selected db: the next link asks to continue from there (PSYNC
    /// replid offset+1) rather than for a full copy. Redis compat: replication.c
    /// replicationCacheMaster.
    pub cached_db: Option<usize>,
}

/// What a master keeps about a connected replica (on its client).
#[derive(Clone, Debug, Default)]
pub struct ReplicaInfo {
    pub listening_port: u16,
    pub ack_offset: u64,
    pub ack_ms: i64,
    pub state: super::fullsync::SyncState,
    /// Asked with PSYNC (a full resync starts with +FULLRESYNC), not SYNC.
    pub psync: bool,
    /// Its payload is EOF-marked (streamed): the stream waits for its first ACK.
    pub eof_payload: bool,
    /// When it started waiting for a snapshot.
    pub wait_since_ms: i64,
    /// The offset its snapshot was taken at.
    pub start_offset: u64,
    /// While a streamed snapshot is stuck in its socket: when a write last made
    /// progress without getting through (0: nothing stuck). Redis compat:
    /// client.repl_last_partial_write.
    pub partial_write_ms: i64,
}

pub struct Repl {
    pub replid: String,
    /// The history we continued before `replid` (a replica promoted, or following a
    /// master whose id changed), valid up to `second_offset`: replicas of that history
    /// can still resume. Redis compat: server.replid2, second_replid_offset.
    pub replid2: String,
    pub second_offset: i64,
    /// Bytes of replication stream produced (master) or applied (replica).
    pub offset: u64,
    /// The stream held for the backlog and every replica's output (see `replbuf`).
    pub buf: ReplBuffer,
    pub backlog_on: bool,
    pub replicas: Vec<usize>,
    /// The db the stream last selected (None: the next write selects).
    pub(super) sel_db: Option<usize>,
    last_ping_ms: i64,
    pub master: Option<MasterLink>,
    /// WAIT callers: (client, offset to reach, replicas wanted).
    pub waiters: Vec<(usize, u64, usize)>,
    /// A GETACK is due before the loop sleeps (a WAIT is pending).
    pub get_ack: bool,
    /// The master's stream of the transaction being queued: it joins our history
    /// once its EXEC has run.
    pub master_multi: Vec<u8>,
    /// A snapshot being streamed to replicas (diskless sync).
    pub transfer: Option<super::fullsync::Transfer>,
    pub waker: Option<std::sync::Arc<mio::Waker>>,
    last_keepalive_ms: i64,
    /// Since when no replica is connected (ms). Redis compat: repl_no_slaves_since.
    pub no_replicas_since_ms: i64,
}

/// Blocks freed per trimming step. Redis compat: REPL_BACKLOG_TRIM_BLOCKS_PER_CALL.
pub const TRIM_BLOCKS: usize = 64;

pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

pub fn new_replid() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl Default for Repl {
    fn default() -> Self {
        Repl {
            replid: new_replid(),
            offset: 0,
            buf: ReplBuffer::default(),
            backlog_on: false,
            replicas: Vec::new(),
            sel_db: None,
            last_ping_ms: 0,
            master: None,
            waiters: Vec::new(),
            get_ack: false,
            master_multi: Vec::new(),
            replid2: NO_REPLID.into(),
            second_offset: -1,
            transfer: None,
            waker: None,
            last_keepalive_ms: 0,
            no_replicas_since_ms: clock::now_ms(),
        }
    }
}

impl Repl {
    /// Whether writes must be turned into a replication stream: on a master with a
    /// backlog or replicas. A replica passes on its master's stream instead.
    pub fn feeding(&self) -> bool {
        self.master.is_none() && (self.backlog_on || !self.replicas.is_empty())
    }

    /// Starts a new history, keeping the current one as the second: its replicas can
    /// resume up to here. Redis compat: replication.c shiftReplicationId.
    pub(crate) fn shift_replid(&mut self, new_id: String) {
        self.replid2 = std::mem::replace(&mut self.replid, new_id);
        self.second_offset = self.offset as i64 + 1;
    }

    /// Whether PSYNC `id` `off` continues a history we hold in the backlog.
    fn can_continue(&self, id: &[u8], off: u64) -> bool {
        let ours = id == self.replid.as_bytes() || (id == self.replid2.as_bytes() && off as i64 <= self.second_offset);
        self.backlog_on && ours && self.buf.holds(off)
    }

    /// Forgets the second history. Redis compat: replication.c clearReplicationId2.
    pub(crate) fn clear_replid2(&mut self) {
        self.replid2 = NO_REPLID.into();
        self.second_offset = -1;
    }

    /// Starts an empty backlog at the current offset.
    pub(crate) fn reset_backlog(&mut self) {
        self.backlog_on = true;
        self.buf = ReplBuffer::new(self.offset + 1);
    }

    pub fn backlog_first_byte(&self) -> u64 {
        if self.backlog_on {
            self.buf.first_byte()
        } else {
            0
        }
    }
}

impl Server {
    /// Appends propagated commands to the replication stream.
    pub fn repl_feed<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        if !self.repl.feeding() {
            return;
        }
        let mut buf = Vec::with_capacity(64);
        if self.repl.sel_db != Some(db) {
            cat_command(&mut buf, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
            self.repl.sel_db = Some(db);
        }
        cat_command(&mut buf, argv);
        self.repl_feed_raw(&buf);
    }

    /// Stream a master makes itself (commands, PINGs, GETACKs); a replica makes none.
    /// Redis compat: replication.c replicationFeedSlaves.
    fn repl_feed_raw(&mut self, buf: &[u8]) {
        if self.repl.master.is_none() {
            self.repl_append(buf);
        }
    }

    /// Our master's stream, as it was applied: it extends our history byte for byte,
    /// so our replicas see the same ids and offsets as our master's would.
    /// Redis compat: replication.c replicationFeedStreamFromMasterStream.
    pub fn repl_proxy(&mut self, buf: &[u8]) {
        if !buf.is_empty() {
            self.repl_append(buf);
        }
    }

    /// Adds to our history: the offset, and the replication buffer, from which every
    /// replica fed the stream is written.
    fn repl_append(&mut self, buf: &[u8]) {
        let first = self.repl.offset + 1;
        self.repl.offset += buf.len() as u64;
        if !self.repl.backlog_on {
            return;
        }
        let size = self.cfg.repl.backlog_size;
        let added = self.repl.buf.append(buf, size);
        let now = clock::now_ms();
        for i in 0..self.repl.replicas.len() {
            let Some(&cid) = self.repl.replicas.get(i) else {
                continue;
            };
            let Some(c) = self.clients.get_mut(cid) else {
                continue;
            };
            // A replica whose snapshot is still to be taken gets the stream from
            // there; one that wants the snapshot alone never gets it.
            // Redis compat: replication.c canFeedReplicaReplBuffer.
            if c.close_asap
                || c.replconf.rdb_only
                || c.replica.as_ref().is_some_and(|r| r.state == SyncState::WaitStart)
            {
                continue;
            }
            c.repl_pos.get_or_insert(first);
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(cid);
            }
            // Limits are checked as the stream takes a new block.
            // Redis compat: replication.c feedReplicationBuffer.
            if added {
                self.check_obuf_limits(cid, now);
            }
        }
        if added {
            self.repl_trim(TRIM_BLOCKS);
        }
    }

    /// Frees what no replica needs of the replication buffer beyond the backlog
    /// size, `max_blocks` blocks at most (freeing is spread over loop iterations).
    /// Redis compat: replication.c incrementalTrimReplicationBacklog.
    pub fn repl_trim(&mut self, max_blocks: usize) {
        let size = self.cfg.repl.backlog_size;
        if !self.repl.buf.over(size) {
            return;
        }
        let keep = self
            .repl
            .replicas
            .iter()
            .filter_map(|&cid| self.clients.get(cid))
            .filter(|c| !c.close_asap)
            .filter_map(|c| c.repl_pos)
            .min()
            .unwrap_or(u64::MAX);
        self.repl.buf.trim(keep, size, max_blocks);
    }

    /// Memory a replica keeps in the replication buffer (counted in its output).
    pub fn repl_held(&self, c: &super::Client) -> usize {
        c.repl_pos.map_or(0, |p| self.repl.buf.mem_from(p))
    }

    /// Appends `bytes` to a client's output, to be written before the loop sleeps.
    /// A client being closed gets nothing more (a replica killed inside a
    /// transaction must not receive the transaction's writes).
    pub(super) fn queue_output(&mut self, cid: usize, bytes: &[u8]) {
        if let Some(c) = self.clients.get_mut(cid).filter(|c| !c.close_asap) {
            c.push_output(bytes);
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(cid);
            }
        }
    }

    /// SYNC / PSYNC from client `cid`: a partial resync writes +CONTINUE and the
    /// missing bytes to `out`; a full one waits for a snapshot (see `fullsync`). The
    /// client becomes a replica either way. Redis compat: replication.c syncCommand.
    pub fn repl_attach(&mut self, cid: usize, out: &mut crate::resp::ReplyBuf, psync: Option<(&[u8], &[u8])>) {
        let partial = psync.and_then(|(id, off)| self.try_partial(cid, id, off));
        if partial.is_none() && !self.repl.backlog_on {
            // No history is held: a new one starts. Redis compat: replication.c
            // syncCommand.
            self.repl.replid = new_replid();
            self.repl.clear_replid2();
            self.repl.reset_backlog();
            tracing::info!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.repl.replid,
                self.repl.replid2
            );
        }
        let now = clock::now_ms();
        if let Some(c) = self.clients.get_mut(cid) {
            c.replica = Some(ReplicaInfo {
                listening_port: c.replconf.port,
                ack_offset: 0,
                ack_ms: now,
                state: if partial.is_some() {
                    SyncState::Online
                } else {
                    SyncState::WaitStart
                },
                psync: psync.is_some(),
                eof_payload: false,
                wait_since_ms: now,
                start_offset: 0,
                partial_write_ms: 0,
            });
        }
        if !self.repl.replicas.contains(&cid) {
            self.repl.replicas.push(cid);
        }
        // The first PING follows a whole period after a replica arrives.
        self.repl.last_ping_ms = now;
        if let Some(off) = partial {
            self.stats.sync_partial_ok += 1;
            out.simple(&format!("CONTINUE {}", self.repl.replid));
            if let Some(c) = self.clients.get_mut(cid) {
                c.repl_pos = Some(off);
                if !c.pending_write {
                    c.pending_write = true;
                    self.pending_writes.push(cid);
                }
            }
            let name = self.replica_name_of(cid);
            tracing::info!(
                "Partial resynchronization request from {name} accepted. Sending {} bytes of backlog starting from offset {off}.",
                self.repl.buf.next_offset() - off
            );
        } else {
            // Redis compat: replication.c syncCommand ("?" asks for a full resync).
            if psync.is_some_and(|(id, _)| !id.starts_with(b"?")) {
                self.stats.sync_partial_err += 1;
            }
            self.stats.sync_full += 1;
            self.repl_full_sync(cid);
        }
        self.sync_propagation();
    }

    /// How the logs name replica `cid`. Redis compat: replication.c
    /// replicationGetSlaveName.
    pub fn replica_name_of(&self, cid: usize) -> String {
        self.clients.get(cid).map(|c| c.replica_name()).unwrap_or_default()
    }

    /// The offset replica `cid` may continue from with PSYNC `id` `off`, if any; why
    /// not is logged. Redis compat: replication.c masterTryPartialResynchronization.
    fn try_partial(&self, cid: usize, id: &[u8], off: &[u8]) -> Option<u64> {
        let off: i64 = std::str::from_utf8(off).ok()?.parse().ok()?;
        let r = &self.repl;
        let name = || self.replica_name_of(cid);
        let (main, second) = (id == r.replid.as_bytes(), id == r.replid2.as_bytes());
        if !main && (!second || off > r.second_offset) {
            if id.starts_with(b"?") {
                tracing::info!("Full resync requested by replica {}", name());
            } else if !second {
                tracing::info!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    String::from_utf8_lossy(id),
                    r.replid,
                    r.replid2
                );
            } else {
                tracing::info!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {off}, but I can reply up to {}",
                    r.second_offset
                );
            }
            return None;
        }
        let ok = u64::try_from(off).ok().filter(|&o| r.can_continue(id, o));
        if ok.is_none() {
            tracing::info!(
                "Unable to partial resync with replica {} for lack of backlog (Replica request was: {off}).",
                name()
            );
            if off > r.offset as i64 {
                tracing::warn!(
                    "Warning: replica {} tried to PSYNC with an offset that is greater than the master replication offset.",
                    name()
                );
            }
        }
        ok
    }

    /// A closed client leaves the replica list (or was the master link).
    pub fn repl_forget_client(&mut self, cid: usize) {
        if let Some(i) = self.repl.replicas.iter().position(|&c| c == cid) {
            self.repl.replicas.remove(i);
            let name = self.replica_name_of(cid);
            tracing::warn!("Connection with replica {name} lost.");
            if self.repl.replicas.is_empty() {
                self.repl.no_replicas_since_ms = clock::now_ms();
            }
            // A snapshot to disk that only replicas waited for is not worth finishing
            // once none waits: it would hold memory and delay the next full sync.
            // Save points make it worth keeping. Redis compat: networking.c freeClient.
            let waited = self
                .clients
                .get(cid)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|r| r.state == SyncState::WaitEnd);
            if waited
                && self.cfg.save_params.is_empty()
                && self.rdb.bg.as_ref().is_some_and(|b| b.purpose == SavePurpose::Rdb)
                && self.waiting_replicas(SyncState::WaitEnd).is_empty()
            {
                self.kill_bgsave();
            }
            self.repl_transfer_forget(cid);
            self.sync_propagation();
        }
        self.repl.waiters.retain(|w| w.0 != cid);
        if self
            .clients
            .get(cid)
            .is_some_and(|c| c.is_master && c.handshake.is_some())
        {
            self.transfer_abort();
        }
        let mut reconnect = false;
        if let Some(m) = self.repl.master.as_mut() {
            if m.cid == Some(cid) {
                m.cid = None;
                // A link lost during its handshake leaves the data's history as it was.
                if m.state == LinkState::Connected {
                    m.cached_db = self.clients.get(cid).map(|c| c.db);
                    m.down_since_ms = clock::now_ms();
                    tracing::warn!("Connection with master lost.");
                    tracing::info!("Caching the disconnected master state.");
                    reconnect = true;
                }
                self.repl.master_multi.clear();
                m.state = LinkState::Connect;
            }
        }
        // At once rather than at the next cron: the master's backlog may not keep what
        // we miss for long. Redis compat: replication.c replicationHandleMasterDisconnection.
        if reconnect {
            self.repl_connect_now("Reconnecting");
        }
    }

    /// Connects to our master now (not at the next cron), logging `verb` ("Connecting",
    /// "Reconnecting") first.
    fn repl_connect_now(&mut self, verb: &str) {
        let Some(m) = self.repl.master.as_mut() else {
            return;
        };
        m.last_attempt_ms = clock::now_ms();
        let (host, port) = (m.host.clone(), m.port);
        tracing::info!("{verb} to MASTER {host}:{port}");
        if let Err(e) = self.repl_connect(&host, port) {
            tracing::warn!("Unable to connect to MASTER: {e}");
        }
    }

    /// REPLCONF ACK from a replica: records its offset and serves WAIT callers.
    pub fn repl_ack(&mut self, cid: usize, offset: u64) {
        let mut release = false;
        if let Some(c) = self.clients.get_mut(cid) {
            if let Some(r) = c.replica.as_mut() {
                r.ack_offset = r.ack_offset.max(offset);
                r.ack_ms = clock::now_ms();
                // A streamed payload's replica has found its end: the stream may follow.
                release = r.state == SyncState::Online && c.repl_hold;
            }
            if release {
                c.repl_hold = false;
            }
        }
        if release {
            self.queue_output(cid, &[]);
        }
        self.serve_waiters();
    }

    /// A replica whose master link is down, set not to serve stale data.
    pub fn repl_stale(&self) -> bool {
        !self.cfg.repl.serve_stale
            && self
                .repl
                .master
                .as_ref()
                .is_some_and(|m| m.state != LinkState::Connected)
    }

    /// min-replicas-to-write: whether enough replicas acked within min-replicas-max-lag.
    pub fn enough_good_replicas(&self) -> bool {
        let want = self.cfg.repl.min_replicas;
        if want == 0 {
            return true;
        }
        let lag = self.cfg.repl.max_lag_secs;
        let now = clock::now_ms();
        let good = self
            .repl
            .replicas
            .iter()
            .filter_map(|&cid| self.clients.get(cid)?.replica.as_ref())
            .filter(|r| r.state == SyncState::Online && (now - r.ack_ms) / 1000 <= lag)
            .count();
        good as i64 >= want
    }

    /// Replicas that acknowledged at least `offset`.
    pub fn replicas_acked(&self, offset: u64) -> usize {
        self.repl
            .replicas
            .iter()
            .filter(|&&cid| {
                self.clients
                    .get(cid)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(|r| r.state == SyncState::Online && r.ack_offset >= offset)
            })
            .count()
    }

    fn serve_waiters(&mut self) {
        let waiters = std::mem::take(&mut self.repl.waiters);
        for (cid, target, want) in waiters {
            let n = self.replicas_acked(target);
            if n < want {
                self.repl.waiters.push((cid, target, want));
                continue;
            }
            if self.unblock_client(cid).is_some() {
                if let Some(c) = self.clients.get_mut(cid) {
                    c.reply.int(n as i64);
                }
            }
        }
    }

    /// Asks every replica for its offset (REPLCONF GETACK *), for WAIT.
    pub fn repl_send_getack(&mut self) {
        if !std::mem::take(&mut self.repl.get_ack) || self.repl.replicas.is_empty() {
            return;
        }
        let mut buf = Vec::new();
        cat_command(&mut buf, &[b"REPLCONF".as_slice(), b"GETACK", b"*"]);
        self.repl_feed_raw(&buf);
    }

    /// REPLICAOF host port: forgets any current master and connects to this one.
    /// `resume`: the data may continue the new master's history (REPLICAOF at run
    /// time; not `replicaof` read at startup, where the data carries no history).
    /// A master offers its own history; a replica, its old master's.
    /// Redis compat: replication.c replicationSetMaster.
    pub fn repl_set_master(&mut self, host: String, port: u16, resume: bool) {
        let cached_db = match self.repl.master.take() {
            None => {
                if resume {
                    // Redis compat: replication.c replicationCacheMasterUsingMyself.
                    tracing::info!("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
                }
                Some(0)
            }
            Some(old) => match old.cid {
                Some(cid) => {
                    let db = self.clients.get(cid).map(|c| c.db);
                    self.close_client_async(cid);
                    db
                }
                None => old.cached_db,
            },
        };
        self.replica_written.clear();
        self.repl.master_multi.clear();
        self.repl.master = Some(MasterLink {
            host,
            port,
            state: LinkState::Connect,
            cid: None,
            last_io_ms: 0,
            down_since_ms: clock::now_ms(),
            last_attempt_ms: 0,
            last_ack_ms: 0,
            cached_db: cached_db.filter(|_| resume),
        });
        self.sync_expiry_mode();
        self.oom_adjust();
        crate::log::set_role(b'S');
        // Not at the next cron. Redis compat: replication.c replicationSetMaster.
        if resume {
            self.repl_connect_now("Connecting");
        }
        // Our replicas stay: they follow our history, which a partial resync with the
        // new master continues. They are dropped when it does not (a new id, or a
        // snapshot to load). Redis compat: replication.c replicationSetMaster.
    }

    /// The history our data is at, for an RDB file: a master's once it keeps a
    /// backlog, a replica's (through its link, or the one it lost).
    /// Redis compat: rdb.c rdbPopulateSaveInfo.
    pub fn repl_history(&self) -> Option<(String, u64, usize)> {
        let db = match &self.repl.master {
            None if self.repl.backlog_on => self.repl.sel_db.unwrap_or(0),
            None => return None,
            Some(m) => match m.cid.and_then(|cid| self.clients.get(cid)) {
                Some(c) => c.db,
                None => m.cached_db?,
            },
        };
        Some((self.repl.replid.clone(), self.repl.offset, db))
    }

    /// After loading a file that recorded its history: a replica resumes it with its
    /// master; a master keeps it as its second history, so that its replicas resume.
    /// Redis compat: server.c loadDataFromDisk.
    /// A master then tells them about the keys the file held that had expired.
    pub fn repl_restore_history(&mut self, ((id, offset, db), expired): super::persist::LoadedHistory) {
        if let Some(m) = self.repl.master.as_mut() {
            self.repl.replid = id;
            self.repl.offset = offset;
            m.cached_db = Some(db);
        } else {
            self.repl.replid2 = id;
            self.repl.second_offset = offset as i64 + 1;
            self.repl.offset = offset;
            self.repl.reset_backlog();
            // Redis compat: rdb.c rdbLoadRio (RDBFLAGS_FEED_REPL).
            let cmd: &[u8] = if self.cfg.lazyfree_lazy_expire {
                b"UNLINK"
            } else {
                b"DEL"
            };
            for (db, key) in expired {
                self.repl_feed(db, &[cmd, key.as_slice()]);
            }
        }
    }

    /// Closes every replica's link at once, dropping what was queued for it: it must
    /// not receive any stream of the history that follows (it resumes from where it
    /// is, if it can). Redis compat: replication.c disconnectSlaves (freeClient).
    pub(crate) fn disconnect_replicas(&mut self) {
        for cid in std::mem::take(&mut self.repl.replicas) {
            if let Some(c) = self.clients.get_mut(cid) {
                c.discard_buffers();
            }
            self.close_client_async(cid);
        }
        self.sync_propagation();
    }

    /// REPLICAOF NO ONE: keeps the data, becomes a master with a new history.
    pub fn repl_drop_master(&mut self) {
        crate::log::set_role(b'M');
        // The backlog's time without replicas starts now.
        self.repl.no_replicas_since_ms = clock::now_ms();
        if let Some(m) = self.repl.master.take() {
            if let Some(cid) = m.cid {
                self.close_client_async(cid);
            }
            // Redis compat: replication.c replicationUnsetMaster (freeing the link
            // caches it, then the cache is dropped).
            if m.state == LinkState::Connected {
                tracing::warn!("Connection with master lost.");
                tracing::info!("Caching the disconnected master state.");
            }
            if m.state == LinkState::Connected || m.cached_db.is_some() {
                tracing::info!("Discarding previously cached master state.");
            }
            // Our replicas (and our old master's) can resume from the history we
            // have followed so far. Redis compat: replication.c replicationUnsetMaster.
            self.repl.shift_replid(new_replid());
            tracing::warn!(
                "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
                self.repl.replid2,
                self.repl.second_offset,
                self.repl.replid
            );
            self.repl.sel_db = None;
            self.repl.master_multi.clear();
            self.disconnect_replicas();
        }
        self.replica_written.clear();
        self.sync_expiry_mode();
        self.oom_adjust();
    }

    /// Disconnects replicas that went silent for `repl-timeout`: online ones that
    /// stopped acknowledging (not those synced with SYNC, which never do), and those
    /// a streamed snapshot has been stuck on (everyone else's transfer waits for
    /// them). A replica fed from the RDB file holds up no one, so waits as long as it
    /// takes. Redis compat: replication.c replicationCron.
    fn repl_drop_timedout(&mut self, now: i64) {
        let timeout = self.cfg.repl.timeout_secs as i64;
        // Whole seconds, as Redis counts: a second's acknowledgement never times out
        // a timeout of one.
        let silent = |since: i64| now / 1000 - since / 1000 > timeout;
        let streaming = self
            .repl
            .transfer
            .as_ref()
            .map(|t| t.replicas.as_slice())
            .unwrap_or_default();
        let mut gone = Vec::new();
        for &cid in &self.repl.replicas {
            let Some((c, r)) = self.clients.get(cid).and_then(|c| Some((c, c.replica.as_ref()?))) else {
                continue;
            };
            if r.state == SyncState::Online && r.psync && silent(r.ack_ms) {
                tracing::warn!("Disconnecting timedout replica (streaming sync): {}", c.replica_name());
                gone.push(cid);
            } else if streaming.contains(&cid) && r.partial_write_ms != 0 && silent(r.partial_write_ms) {
                tracing::warn!("Disconnecting timedout replica (full sync): {}", c.replica_name());
                gone.push(cid);
            }
        }
        for cid in gone {
            self.close_client_async(cid);
        }
    }

    /// While our master's snapshot loads, an empty line a second tells the master we
    /// are still here (it takes it as an acknowledgement). Redis compat:
    /// replication.c replicationSendNewlineToMaster.
    pub fn repl_newline_to_master(&mut self) {
        let now = clock::now_ms();
        let Some(m) = self.repl.master.as_mut() else {
            return;
        };
        if m.state != LinkState::Transfer || now - m.last_ack_ms < 1000 {
            return;
        }
        m.last_ack_ms = now;
        // Written directly, never in the middle of queued output; non-blocking: a full
        // socket buffer skips this one.
        if let Some(c) = m
            .cid
            .and_then(|cid| self.clients.get_mut(cid))
            .filter(|c| c.pending_output() == 0)
        {
            let _ = c.conn.write(b"\n");
        }
    }

    /// A master without replicas for repl-backlog-ttl seconds frees its backlog; the
    /// next replica starts a new history. A replica keeps its backlog: it may be
    /// promoted. Redis compat: replication.c replicationCron.
    fn repl_free_idle_backlog(&mut self, now: i64) {
        let ttl = self.cfg.int("repl-backlog-ttl");
        if !self.repl.replicas.is_empty() || ttl <= 0 || !self.repl.backlog_on || self.repl.master.is_some() {
            return;
        }
        if now / 1000 - self.repl.no_replicas_since_ms / 1000 > ttl {
            self.repl.replid = new_replid();
            self.repl.clear_replid2();
            self.repl.backlog_on = false;
            self.repl.buf = ReplBuffer::new(self.repl.offset + 1);
            tracing::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
        }
    }

    /// Cron work: pings replicas, acks the master, (re)connects to it.
    pub fn repl_cron(&mut self) {
        let now = clock::now_ms();
        // Replicas waiting for a snapshot get an empty line a second: they keep the
        // link up. Redis compat: replication.c replicationCron.
        if now - self.repl.last_keepalive_ms >= 1000 {
            self.repl.last_keepalive_ms = now;
            self.repl_keepalive();
        }
        self.repl_start_pending();
        self.repl_drop_timedout(now);
        self.repl_free_idle_backlog(now);
        let period = self.cfg.repl.ping_period_secs;
        // Not while failing over: the replicas must be able to catch up with a
        // stream that does not move. Redis compat: replication.c replicationCron.
        if !self.repl.replicas.is_empty()
            && self.repl.master.is_none()
            && self.failover.is_none()
            && now - self.repl.last_ping_ms >= period * 1000
        {
            self.repl.last_ping_ms = now;
            let mut buf = Vec::new();
            cat_command(&mut buf, &[b"PING".as_slice()]);
            self.repl_feed_raw(&buf);
        }
        let Some(m) = self.repl.master.as_mut() else {
            return;
        };
        let timeout_ms = self.cfg.repl.timeout_secs as i64 * 1000;
        match m.state {
            LinkState::Connected => {
                // Redis compat: replication.c replicationCron (a silent master).
                let silent = m
                    .cid
                    .and_then(|cid| self.clients.get(cid))
                    .is_some_and(|c| now / 1000 - c.last_interaction_ms / 1000 > timeout_ms / 1000);
                if silent {
                    tracing::warn!("MASTER timeout: no data nor PING received...");
                    if let Some(cid) = m.cid {
                        self.close_client_async(cid);
                    }
                    return;
                }
                if now - m.last_ack_ms >= 1000 {
                    m.last_ack_ms = now;
                    if let Some(cid) = m.cid {
                        self.repl_send_ack(cid);
                    }
                }
            }
            LinkState::Connect => {
                if now - m.last_attempt_ms < 1000 {
                    return;
                }
                self.repl_connect_now("Connecting");
            }
            // Redis compat: replication.c replicationCron (the repl-timeout checks).
            LinkState::Connecting | LinkState::Handshake | LinkState::Transfer => {
                if now - m.last_io_ms > timeout_ms {
                    if m.state == LinkState::Transfer {
                        tracing::warn!("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                    } else {
                        tracing::warn!("Timeout connecting to the MASTER...");
                    }
                    if let Some(cid) = m.cid {
                        self.close_client_async(cid);
                    }
                }
            }
        }
    }

    /// REPLCONF ACK <offset>, as sent to the master.
    pub fn repl_ack_command(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        cat_command(
            &mut buf,
            &[b"REPLCONF".as_slice(), b"ACK", self.repl.offset.to_string().as_bytes()],
        );
        buf
    }

    /// Sends REPLCONF ACK <offset> to the master.
    pub fn repl_send_ack(&mut self, cid: usize) {
        let buf = self.repl_ack_command();
        self.queue_output(cid, &buf);
    }

    /// Bytes of the master's stream read but not applied yet: unparsed input and a
    /// command CLIENT PAUSE holds back (slave_read_repl_offset counts them).
    fn master_unapplied_bytes(&self, cid: Option<usize>) -> u64 {
        let Some(c) = cid.and_then(|cid| self.clients.get(cid)) else {
            return 0;
        };
        let held = c.postponed.as_ref().map_or(0, |argv| {
            let mut b = Vec::new();
            cat_command(&mut b, argv);
            b.len()
        });
        (c.query.len().saturating_sub(c.qpos) + held) as u64
    }

    /// The `# Replication` section of INFO.
    pub fn repl_info(&self) -> String {
        let now = clock::now_ms();
        let mut s = String::from("# Replication\r\n");
        match &self.repl.master {
            Some(m) => {
                let up = m.state == LinkState::Connected;
                s += &format!(
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                    m.host,
                    m.port,
                    if up { "up" } else { "down" },
                    match m.cid.and_then(|cid| self.clients.get(cid)) {
                        Some(c) if up => (now - c.last_interaction_ms).max(0) / 1000,
                        _ => -1,
                    },
                    u8::from(m.state == LinkState::Transfer),
                    self.repl.offset + self.master_unapplied_bytes(m.cid),
                    self.repl.offset
                );
                // Redis compat: server.c genRedisInfoString (REPL_STATE_TRANSFER).
                if m.state == LinkState::Transfer {
                    let (total, read) = self.transfer_progress(m.cid).unwrap_or((0, 0));
                    let perc = if total > 0 {
                        read as f64 * 100.0 / total as f64
                    } else {
                        0.0
                    };
                    s += &format!(
                        "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                        total - read as i64,
                        (now - m.last_io_ms).max(0) / 1000
                    );
                }
                if !up {
                    s += &format!("master_link_down_since_seconds:{}\r\n", (now - m.down_since_ms) / 1000);
                }
                s += &format!(
                    "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                    self.cfg.int("replica-priority"),
                    u8::from(self.cfg.repl.read_only),
                    u8::from(self.cfg.yes("replica-announced"))
                );
            }
            None => s += "role:master\r\n",
        }
        s += &format!("connected_slaves:{}\r\n", self.repl.replicas.len());
        for (i, &cid) in self.repl.replicas.iter().enumerate() {
            if let Some(c) = self.clients.get(cid) {
                let r = c.replica.clone().unwrap_or_default();
                let ip = c.replica_ip();
                s += &format!(
                    "slave{i}:ip={ip},port={},state={},offset={},lag={}\r\n",
                    r.listening_port,
                    r.state.info_name(),
                    r.ack_offset,
                    (now - r.ack_ms).max(0) / 1000
                );
            }
        }
        s += &format!(
            "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
            self.failover_state_name(),
            self.repl.replid,
            self.repl.replid2,
            self.repl.offset,
            self.repl.second_offset,
            u8::from(self.repl.backlog_on),
            self.cfg.repl.backlog_size,
            self.repl.backlog_first_byte(),
            self.repl.buf.histlen()
        );
        s
    }
}
