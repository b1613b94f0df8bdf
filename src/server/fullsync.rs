//! A master's full resynchronizations. A replica that cannot continue its history
//! waits for a background snapshot, taken a slice at a time like BGSAVE's, so the
//! event loop never stops for it. With `repl-diskless-sync` and replicas that take
//! EOF-marked payloads (`REPLCONF capa eof`), the snapshot is streamed to every replica
//! waiting for it, once the first has waited `repl-diskless-sync-delay` seconds or
//! `repl-diskless-sync-max-replicas` are waiting; otherwise it is saved to
//! `dbfilename` and the file is sent. The stream from the snapshot on is held in each
//! replica's output buffer (within its output limits) until its payload is through,
//! and, after an EOF-marked payload, until its first ACK: the replica must find the
//! end mark at the end of what it read. Redis compat: replication.c syncCommand,
//! replicationStartPendingFork, startBgsaveForReplication, updateSlavesWaitingBgsave,
//! rdbPipeReadHandler.
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use tracing::{info, warn};

use super::persist::SavePurpose;
use super::Server;
use crate::clock;
use crate::persist::snapshot::Target;

/// Where a replica stands in its synchronization. Redis compat: SLAVE_STATE_*.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncState {
    /// Waiting for a snapshot to be started for it.
    WaitStart,
    /// Its snapshot is being taken.
    WaitEnd,
    /// Its payload is being sent.
    SendBulk,
    #[default]
    Online,
}

impl SyncState {
    /// The name INFO gives it.
    pub fn info_name(self) -> &'static str {
        match self {
            SyncState::WaitStart | SyncState::WaitEnd => "wait_bgsave",
            SyncState::SendBulk => "send_bulk",
            SyncState::Online => "online",
        }
    }
}

/// What a replica asked for with REPLCONF before it synced.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplConf {
    /// `listening-port`, for INFO and ROLE.
    pub port: u16,
    /// `capa eof`: it takes EOF-marked (streamed) snapshots.
    pub capa_eof: bool,
    /// `rdb-only 1`: it wants the snapshot alone, not the stream after it (redis-cli
    /// --rdb); it is closed once its payload is through.
    pub rdb_only: bool,
    /// `rdb-filter-only`: parts of the dataset its snapshot leaves out.
    pub filter: RdbFilter,
}

/// Parts of a snapshot a replica does not want. Only replicas asking for the same
/// parts share a snapshot, and a filtered one is always streamed (the RDB file must
/// keep the whole dataset). Redis compat: SLAVE_REQ_RDB_EXCLUDE_*.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RdbFilter {
    pub no_data: bool,
    pub no_functions: bool,
}

impl RdbFilter {
    /// `rdb-filter-only <filters>`: only the parts named are kept ("functions" is the
    /// one part that can be named; none keeps nothing). Err: the reply's text.
    /// Redis compat: replication.c replconfCommand.
    pub fn parse(v: &[u8]) -> Result<RdbFilter, String> {
        let words = crate::resp::parse::split_args(v).ok_or("ERR Missing rdb-filter-only values")?;
        let mut f = RdbFilter {
            no_data: true,
            no_functions: true,
        };
        for w in words {
            if w.eq_ignore_ascii_case(b"functions") {
                f.no_functions = false;
            } else {
                return Err(format!(
                    "ERR Unsupported rdb-filter-only option: {}",
                    String::from_utf8_lossy(&w)
                ));
            }
        }
        Ok(f)
    }

    pub fn any(self) -> bool {
        self.no_data || self.no_functions
    }
}

/// Bytes read from the snapshot file per refill.
const FILE_CHUNK: usize = 64 * 1024;
/// A streamed snapshot goes on only while every replica has less than this queued:
/// the slowest sets the pace, and memory stays bounded.
const PUMP_LIMIT: usize = 1 << 20;
/// Chunks in flight from the snapshot's writer thread.
const STREAM_CHUNKS: usize = 4;

/// A full resync's payload on its way to one replica: written before its other output.
#[derive(Default)]
pub struct Bulk {
    buf: Vec<u8>,
    pos: usize,
    /// The snapshot file and the bytes of it still to read.
    file: Option<(File, u64)>,
    /// Nothing more will be added.
    last: bool,
}

impl Bulk {
    fn push(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes queued in memory.
    fn queued(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Everything was written.
    pub fn finished(&self) -> bool {
        self.last && self.file.is_none() && self.pos >= self.buf.len()
    }

    /// The next bytes to write (read from the file when the buffer is through); empty
    /// when there is nothing for now.
    pub fn pending(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if let Some((f, left)) = self.file.as_mut() {
                let n = (*left).min(FILE_CHUNK as u64) as usize;
                self.buf.resize(n, 0);
                f.read_exact(&mut self.buf)?;
                *left -= n as u64;
                if *left == 0 {
                    self.file = None;
                }
            }
        }
        Ok(self.buf.get(self.pos..).unwrap_or_default())
    }

    pub fn consumed(&mut self, n: usize) {
        self.pos += n;
    }
}

/// A snapshot streamed to replicas.
pub struct Transfer {
    /// From the writer thread (None once dropped, which stops it).
    pub rx: Option<Receiver<Vec<u8>>>,
    /// Ends the payload (it has no length up front).
    mark: String,
    pub replicas: Vec<usize>,
}

impl Server {
    /// A replica (already in the list, waiting) needs a full copy.
    pub(super) fn repl_full_sync(&mut self, cid: usize) {
        let conf = self.clients.get(cid).map(|c| c.replconf).unwrap_or_default();
        if let Some(c) = self.clients.get_mut(cid) {
            c.bulk = Some(Box::default());
            c.repl_hold = true;
        }
        let running = self.rdb.bg.as_ref().map(|b| b.purpose.clone());
        // A snapshot to disk already taken for replicas serves this one too if it
        // asked for the same parts: it gets a copy of the stream held for one of
        // them. Redis compat: syncCommand, case 1.
        let peer = (running == Some(SavePurpose::Rdb))
            .then(|| {
                self.repl.replicas.iter().copied().find(|&r| {
                    r != cid
                        && self.clients.get(r).is_some_and(|c| {
                            c.replconf.filter == conf.filter
                                && (!c.replconf.rdb_only || conf.rdb_only)
                                && c.replica
                                    .as_ref()
                                    .is_some_and(|i| i.state == SyncState::WaitEnd && !i.eof_payload)
                        })
                })
            })
            .flatten();
        if let Some(peer) = peer {
            let held = self.clients.get(peer).and_then(|c| c.repl_pos);
            let offset = self
                .clients
                .get(peer)
                .and_then(|c| c.replica.as_ref())
                .map(|r| r.start_offset)
                .unwrap_or(0);
            self.repl_sync_started(cid, offset, None);
            if let Some(c) = self.clients.get_mut(cid).filter(|_| !conf.rdb_only) {
                c.repl_pos = held;
            }
            info!("Waiting for end of BGSAVE for SYNC");
        } else if let Some(p) = running {
            if p == SavePurpose::ReplSocket {
                info!("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
            } else {
                info!("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
            }
        } else if self.aof.rewrite.is_some() {
            info!("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed");
        } else if self.cfg.yes("repl-diskless-sync") && conf.capa_eof && self.cfg.int("repl-diskless-sync-delay") > 0 {
            info!("Delay next BGSAVE for diskless SYNC");
        } else {
            self.repl_start_sync(conf.filter);
        }
    }

    /// Replicas in `state`, with the parts of a snapshot they want.
    pub(super) fn waiting_replicas(&self, state: SyncState) -> Vec<(usize, ReplConf)> {
        self.repl
            .replicas
            .iter()
            .filter_map(|&cid| {
                let c = self.clients.get(cid)?;
                c.replica.as_ref().filter(|r| r.state == state)?;
                Some((cid, c.replconf))
            })
            .collect()
    }

    /// Cron: starts the snapshot replicas wait for when nothing else runs in the
    /// background; a diskless one after the delay, unless enough replicas wait. The
    /// first replica waiting decides which parts it has: those asking for others wait
    /// for the next. Redis compat: replication.c replicationCron.
    pub fn repl_start_pending(&mut self) {
        if self.has_active_child() {
            return;
        }
        let waiting = self.waiting_replicas(SyncState::WaitStart);
        let Some(&(_, first)) = waiting.first() else {
            return;
        };
        let now = clock::now_ms();
        let mut count = 0;
        let mut idle = 0;
        for (cid, conf) in waiting {
            if conf.filter == first.filter {
                count += 1;
                if let Some(r) = self.clients.get(cid).and_then(|c| c.replica.as_ref()) {
                    idle = idle.max((now - r.wait_since_ms) / 1000);
                }
            }
        }
        let max = self.cfg.int("repl-diskless-sync-max-replicas");
        let enough = max > 0 && count >= max;
        if self.cfg.yes("repl-diskless-sync") && !enough && idle < self.cfg.int("repl-diskless-sync-delay") {
            return;
        }
        self.repl_start_sync(first.filter);
    }

    /// Starts a snapshot for every replica waiting for one with `filter`: to their
    /// sockets if they all take streamed payloads and `repl-diskless-sync` is on or
    /// the snapshot is filtered, else to the RDB file. Redis compat: replication.c
    /// startBgsaveForReplication.
    fn repl_start_sync(&mut self, filter: RdbFilter) {
        let waiting: Vec<(usize, ReplConf)> = self
            .waiting_replicas(SyncState::WaitStart)
            .into_iter()
            .filter(|(_, conf)| conf.filter == filter)
            .collect();
        if waiting.is_empty() {
            return;
        }
        let socket = (self.cfg.yes("repl-diskless-sync") || filter.any()) && waiting.iter().all(|(_, c)| c.capa_eof);
        let waiting: Vec<usize> = waiting.into_iter().map(|(cid, _)| cid).collect();
        info!(
            "Starting BGSAVE for SYNC with target: {}",
            if socket { "replicas sockets" } else { "disk" }
        );
        let started = if socket {
            let waker = self.repl_waker();
            let (tx, rx) = sync_channel(STREAM_CHUNKS);
            waker
                .and_then(|w| self.snapshot_start(SavePurpose::ReplSocket, Target::Stream(tx, w), filter))
                .map(|pid| {
                    info!("Background RDB transfer started by pid {pid}");
                    Some(rx)
                })
        } else {
            let target = self.rdb_target();
            self.snapshot_start(SavePurpose::Rdb, target, filter).map(|pid| {
                info!("Background saving started by pid {pid}");
                None
            })
        };
        match started {
            Ok(rx) => {
                self.aof.forks += 1;
                // The stream held from here selects its db first.
                self.repl.sel_db = None;
                let mark = rx.is_some().then(super::repl::new_replid);
                let offset = self.repl.offset;
                for &cid in &waiting {
                    self.repl_sync_started(cid, offset, mark.as_deref());
                }
                if let (Some(rx), Some(mark)) = (rx, mark) {
                    self.repl.transfer = Some(Transfer {
                        rx: Some(rx),
                        mark,
                        replicas: waiting,
                    });
                }
            }
            Err(e) => {
                warn!("BGSAVE for replication failed: {e}");
                for cid in waiting {
                    self.repl_sync_failed(cid, "BGSAVE failed, replication can't continue");
                }
            }
        }
    }

    /// A replica's snapshot was taken at `offset`: it gets +FULLRESYNC (for PSYNC) and,
    /// for a streamed payload, the line that gives its end mark.
    fn repl_sync_started(&mut self, cid: usize, offset: u64, mark: Option<&str>) {
        let replid = self.repl.replid.clone();
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        let Some(r) = c.replica.as_mut() else {
            return;
        };
        r.state = SyncState::WaitEnd;
        r.eof_payload = mark.is_some();
        r.start_offset = offset;
        let psync = r.psync;
        if let Some(b) = c.bulk.as_mut() {
            if psync {
                b.push(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            if let Some(mark) = mark {
                b.push(format!("$EOF:{mark}\r\n").as_bytes());
            }
        }
        self.queue_output(cid, &[]);
    }

    /// Drops a replica whose synchronization cannot go on. One still waiting for its
    /// snapshot to start holds nothing yet and is told `why`; one whose snapshot was
    /// taken is closed with the stream it held. Redis compat: replication.c
    /// startBgsaveForReplication, updateSlavesWaitingBgsave.
    fn repl_sync_failed(&mut self, cid: usize, why: &str) {
        warn!("SYNC failed: {why}");
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        c.bulk = None;
        c.repl_hold = false;
        if c.replica.as_ref().is_some_and(|r| r.state == SyncState::WaitStart) {
            c.push_output(format!("-ERR {why}\r\n").as_bytes());
            c.close_after_reply = true;
            self.queue_output(cid, &[]);
        } else {
            c.discard_buffers();
            self.close_client_async(cid);
        }
    }

    /// The loop's waker, made once: the writer thread of a streamed snapshot wakes
    /// the loop with it.
    fn repl_waker(&mut self) -> Result<Arc<mio::Waker>, String> {
        if let Some(w) = &self.repl.waker {
            return Ok(w.clone());
        }
        let reg = self.registry.as_ref().ok_or("no event loop")?;
        let w = Arc::new(mio::Waker::new(reg, super::reactor::WAKER_TOKEN).map_err(|e| e.to_string())?);
        self.repl.waker = Some(w.clone());
        Ok(w)
    }

    /// Hands streamed snapshot bytes to the replicas of the transfer while each has
    /// room. Redis compat: replication.c rdbPipeReadHandler.
    pub fn repl_pump(&mut self) {
        self.repl_pump_upto(PUMP_LIMIT);
    }

    fn repl_pump_upto(&mut self, limit: usize) {
        let Some(t) = self.repl.transfer.as_mut() else {
            return;
        };
        let Some(rx) = t.rx.as_ref() else {
            return;
        };
        loop {
            let full = t.replicas.iter().any(|&cid| {
                self.clients
                    .get(cid)
                    .and_then(|c| c.bulk.as_ref())
                    .map_or(0, |b| b.queued())
                    >= limit
            });
            if full {
                return;
            }
            let Ok(chunk) = rx.try_recv() else {
                return;
            };
            for &cid in &t.replicas {
                if let Some(c) = self.clients.get_mut(cid) {
                    if let Some(b) = c.bulk.as_mut() {
                        b.push(&chunk);
                    }
                    if !c.pending_write {
                        c.pending_write = true;
                        self.pending_writes.push(cid);
                    }
                }
            }
        }
    }

    /// A replica closed: a transfer without replicas left is stopped.
    pub(super) fn repl_transfer_forget(&mut self, cid: usize) {
        let Some(t) = self.repl.transfer.as_mut() else {
            return;
        };
        t.replicas.retain(|&r| r != cid);
        if t.replicas.is_empty() {
            warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
            self.abort_bgsave();
        }
    }

    /// The snapshot full syncs waited for ended (`socket`: a streamed one), well or
    /// not. Redis compat: replication.c updateSlavesWaitingBgsave.
    pub(super) fn repl_snapshot_done(&mut self, ok: bool, socket: bool) {
        if socket {
            if ok {
                // What the writer handed over last goes before the end mark.
                self.repl_pump_upto(usize::MAX);
            }
            let Some(t) = self.repl.transfer.take() else {
                return;
            };
            if !ok {
                for cid in t.replicas {
                    self.repl_sync_failed(cid, "BGSAVE failed, replication can't continue");
                }
                return;
            }
            warn!(
                "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
                t.replicas.len()
            );
            for &cid in &t.replicas {
                self.repl_bulk_last(cid, t.mark.as_bytes(), None);
            }
            return;
        }
        let waiting: Vec<usize> = self
            .waiting_replicas(SyncState::WaitEnd)
            .into_iter()
            .map(|(cid, _)| cid)
            .filter(|&cid| {
                self.clients
                    .get(cid)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(|r| !r.eof_payload)
            })
            .collect();
        for cid in waiting {
            if !ok {
                self.repl_sync_failed(cid, "BGSAVE failed, replication can't continue");
                continue;
            }
            let path = PathBuf::from(self.dbfilename());
            match File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f))) {
                Ok((len, f)) => {
                    let head = format!("${len}\r\n");
                    self.repl_bulk_last(cid, head.as_bytes(), Some((f, len)));
                }
                Err(e) => {
                    warn!("SYNC failed. Can't open/stat DB after BGSAVE: {e}");
                    self.repl_sync_failed(cid, "can't open the snapshot");
                }
            }
        }
    }

    /// The last of a replica's payload: `bytes`, then the file if any.
    fn repl_bulk_last(&mut self, cid: usize, bytes: &[u8], file: Option<(File, u64)>) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        if let Some(b) = c.bulk.as_mut() {
            b.push(bytes);
            b.file = file.filter(|f| f.1 > 0);
            b.last = true;
        }
        if let Some(r) = c.replica.as_mut() {
            r.state = SyncState::SendBulk;
        }
        self.queue_output(cid, &[]);
    }

    /// A replica's payload is through: it is online, and its stream flows (after a
    /// streamed payload, from its first ACK). One that wanted the snapshot alone is
    /// closed. Redis compat: replication.c replicaPutOnline.
    pub fn repl_bulk_sent(&mut self, cid: usize) {
        let Some(c) = self.clients.get_mut(cid) else {
            return;
        };
        c.bulk = None;
        let name = c.replica_name();
        if c.replconf.rdb_only {
            info!("RDB transfer completed, rdb only replica ({name}) should be disconnected asap");
            self.close_client_async(cid);
            return;
        }
        let Some(r) = c.replica.as_mut() else {
            return;
        };
        r.state = SyncState::Online;
        r.ack_ms = clock::now_ms();
        if r.eof_payload {
            info!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming");
            info!("Synchronization with replica {name} succeeded");
        } else {
            c.repl_hold = false;
            info!("Synchronization with replica {name} succeeded");
            self.queue_output(cid, &[]);
        }
    }

    /// Cron: an empty line to replicas waiting for their snapshot (not during a
    /// streamed one, whose bytes must not be mixed with others).
    pub(super) fn repl_keepalive(&mut self) {
        for cid in self.repl.replicas.clone() {
            let Some(c) = self.clients.get_mut(cid) else {
                continue;
            };
            let Some(r) = c.replica.as_ref() else {
                continue;
            };
            let presync = r.state == SyncState::WaitStart || (r.state == SyncState::WaitEnd && !r.eof_payload);
            if presync {
                if let Some(b) = c.bulk.as_mut() {
                    b.push(b"\n");
                }
                self.queue_output(cid, &[]);
            }
        }
    }
}
