//! Fork-less point-in-time snapshot (BGSAVE; the AOF rewrite base is the same file):
//! the main thread serializes the keyspace a slice at a time, and a segment about to be
//! written first (`db::snap`), into chunks sent over a bounded channel to a writer
//! thread that LZF-compresses, checksums, writes, fsyncs and renames the file. Memory
//! overhead is bounded by the channel plus a capped backlog of chunks forced out by writes.
//! A value saved in steps goes out piece by piece as it is made, one at a time: while it
//! does, the output of everything else waits behind it (`SaveProgress::streaming`).
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::child::{ChildWriter, WriteError};
use std::time::{Duration, Instant};

use super::aof;
use super::rdb::file::{saves_stamps, write_entry, write_entry_head, write_header, Form, SaveOpts};
use super::rdb::op;
use super::rdb::prim::{encode_deferred, Writer};
use super::rdb::value::{saved_in_place, saved_in_steps, value_begin, value_pin, value_step, write_value, Resume};
use crate::db::snap::SnapSink;
use crate::db::{Db, Obj};
use crate::util::crc64::Crc64;

/// A chunk is handed on once its raw bytes pass this.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks in flight between the main thread and the writer.
const QUEUE_CHUNKS: usize = 8;
/// Chunks forced out by writes may queue up to this on the main thread before a write
/// waits for the writer (a pause bounded by the disk, keeping memory bounded).
const BACKLOG_BYTES: usize = 4 * 1024 * 1024;

/// Serialized bytes and the spans of their strings still to compress.
type Part = (Vec<u8>, Vec<(usize, usize)>);

/// Serialized entries; strings that may compress are still raw (see `Writer::deferred`).
struct Chunk {
    /// Written in order. One but for a value saved in steps, kept in pieces of about
    /// CHUNK_BYTES (no buffer grows by copying) and handed on whole.
    parts: Vec<Part>,
    keys: u64,
    /// The snapshot could not be completed: the writer fails the save.
    failed: bool,
    /// The last piece of a value going out as it is made: once it is sent, other
    /// sinks may send again (see `SaveProgress::streaming`).
    ends_stream: bool,
}

impl Chunk {
    fn new(parts: Vec<Part>, keys: u64, failed: bool) -> Chunk {
        Chunk {
            parts,
            keys,
            failed,
            ends_stream: false,
        }
    }

    fn len(&self) -> usize {
        self.parts.iter().map(|(b, _)| b.len()).sum()
    }
}

/// The bytes of a deferred writer so far, which goes on empty.
fn take_part(w: &mut Writer) -> Part {
    let spans = w.deferred.replace(Vec::new()).unwrap_or_default();
    (std::mem::take(&mut w.buf), spans)
}

enum Msg {
    Chunk(Chunk),
    /// Everything was sent: write the trailer and install the file.
    End,
}

/// The sink of one db: RDB-encodes its entries into chunks (each starting with
/// SELECTDB, so chunks of different dbs may interleave) and sends them on.
/// How far a snapshot got, shared with the writer thread (INFO current_save_keys_*,
/// current_cow_size).
#[derive(Default, Debug)]
pub struct SaveProgress {
    pub keys_total: u64,
    /// Keys the writer has handed to the file.
    pub keys_written: AtomicU64,
    /// Bytes saved ahead of the walk because writes were about to change them.
    pub forced_bytes: AtomicU64,
    /// The sink whose value saved in steps goes out piece by piece as it is made (its
    /// db id + 1; 0: none). The bytes of an entry must not be split by other output,
    /// so every other sink holds its output back until that value is complete.
    /// Main thread only.
    pub streaming: AtomicUsize,
}

struct DbSink {
    id: usize,
    progress: Arc<SaveProgress>,
    bytes: u64,
    opts: SaveOpts,
    w: Writer,
    keys: u64,
    tx: SyncSender<Msg>,
    backlog: VecDeque<Chunk>,
    backlog_bytes: usize,
    /// 0 under `rdb-key-save-delay`: every segment is its own chunk, so the save advances
    /// key by key like Redis's child does.
    chunk_bytes: usize,
    /// False under `rdb-key-save-delay`: that hook slows the writer on purpose, and the
    /// main thread must never wait for it.
    may_wait: bool,
    /// The writer stopped (failed or aborted): output is dropped.
    dead: bool,
    /// Values being saved in steps, by key, each in buffers of its own until it is
    /// complete or it goes out as it is made (`stream`).
    parts: Vec<(Box<[u8]>, Piece)>,
    /// The key of the value of `parts` whose pieces go out as they are made, holding
    /// `SaveProgress::streaming`: one value at a time, so that memory holds a few
    /// pieces of it rather than all of it.
    stream: Option<Box<[u8]>>,
    /// Output made while `stream` is under way: it goes out after that value.
    held: VecDeque<Chunk>,
}

/// A value being saved in steps: the pieces written, the one being written, and where
/// its value goes on.
struct Piece {
    done: Vec<Part>,
    w: Writer,
    at: Resume,
}

impl Piece {
    fn into_chunk(mut self) -> Chunk {
        self.done.push(take_part(&mut self.w));
        Chunk::new(self.done, 1, false)
    }
}

impl DbSink {
    fn seal(&mut self) {
        if self.w.buf.is_empty() {
            return;
        }
        let part = take_part(&mut self.w);
        let keys = std::mem::take(&mut self.keys);
        self.queue(Chunk::new(vec![part], keys, false));
    }

    fn queue(&mut self, c: Chunk) {
        if self.stream.is_some() {
            self.held.push_back(c);
            return;
        }
        self.push_backlog(c);
    }

    /// Queues `c` to be sent, whatever is streaming (see `queue`).
    fn push_backlog(&mut self, c: Chunk) {
        self.backlog_bytes += c.len();
        self.backlog.push_back(c);
    }

    fn gate(&self) -> usize {
        self.progress.streaming.load(Ordering::Relaxed)
    }

    /// Sends the finished pieces of the value of `key` on at once when it may go out
    /// as it is made (it does already, or no value does); else they stay in `p`.
    fn stream_out(&mut self, key: &[u8], p: &mut Piece) {
        if self.stream.as_deref() != Some(key) {
            if self.stream.is_some() || self.gate() != 0 {
                return;
            }
            self.progress.streaming.store(self.id + 1, Ordering::Relaxed);
            self.stream = Some(key.into());
        }
        for part in std::mem::take(&mut p.done) {
            self.push_backlog(Chunk::new(vec![part], 0, false));
        }
    }

    /// The value going out as it is made ends with `last` (its last piece, or the
    /// failure of the save): the output held behind it follows, and other sinks may
    /// send again once `last` is sent.
    fn end_stream(&mut self, mut last: Chunk) {
        self.stream = None;
        last.ends_stream = true;
        for c in std::iter::once(last).chain(std::mem::take(&mut self.held)) {
            self.push_backlog(c);
        }
    }

    /// Waiting for another sink's value going out as it is made.
    fn gate_blocked(&self) -> bool {
        let gate = self.gate();
        gate != 0 && gate != self.id + 1
    }

    fn open_gate(&mut self) {
        if self.gate() == self.id + 1 {
            self.progress.streaming.store(0, Ordering::Relaxed);
        }
    }

    /// A writer holding SELECTDB for this db, for an entry handed on by itself.
    fn piece_writer(&self) -> Writer {
        let mut w = Writer::new_deferred(self.opts.compress);
        w.byte(op::SELECTDB);
        w.len(self.id as u64);
        w
    }

    fn queue_piece(&mut self, mut w: Writer) {
        let part = take_part(&mut w);
        self.queue(Chunk::new(vec![part], 1, false));
    }

    /// Sends queued chunks while the channel takes them; when full, waits only while the
    /// backlog is over `wait_above`. True when nothing is left queued. Sends nothing
    /// while another sink's value goes out as it is made: nothing may come between
    /// its pieces.
    fn pump(&mut self, wait_above: Option<usize>) -> bool {
        if self.gate_blocked() {
            return self.backlog.is_empty();
        }
        while let Some(c) = self.backlog.pop_front() {
            if self.dead {
                self.backlog.clear();
                break;
            }
            let (n, ends) = (c.len(), c.ends_stream);
            match self.tx.try_send(Msg::Chunk(c)) {
                Ok(()) => {}
                Err(TrySendError::Disconnected(_)) => self.dead = true,
                Err(TrySendError::Full(m)) => {
                    if wait_above.is_some_and(|lim| self.backlog_bytes > lim) {
                        if self.tx.send(m).is_err() {
                            self.dead = true;
                        }
                    } else {
                        if let Msg::Chunk(c) = m {
                            self.backlog.push_front(c);
                        }
                        return false;
                    }
                }
            }
            self.backlog_bytes -= n;
            if ends {
                self.open_gate();
            }
        }
        if self.dead {
            self.open_gate();
        }
        self.backlog_bytes = 0;
        true
    }
}

impl SnapSink for DbSink {
    fn entry(&mut self, o: &Obj, expire_at: Option<i64>) {
        if self.dead {
            return;
        }
        let rdb = self.opts.form == Form::Rdb;
        if self.w.buf.is_empty() {
            if rdb {
                self.w.byte(op::SELECTDB);
                self.w.len(self.id as u64);
            } else {
                aof::select_command(&mut self.w.buf, self.id);
            }
        }
        let before = self.w.buf.len();
        if rdb {
            write_entry(&mut self.w, o, expire_at, &self.opts);
        } else {
            aof::entry_commands(&mut self.w.buf, o, expire_at);
        }
        self.bytes += (self.w.buf.len() - before) as u64;
        self.keys += 1;
    }

    fn in_parts(&self, o: &Obj) -> bool {
        // A base of commands writes each value whole.
        self.opts.form == Form::Rdb && saved_in_steps(o)
    }

    fn saves_in_place(&self, o: &Obj) -> bool {
        saved_in_place(o)
    }

    fn part(&mut self, o: &mut Obj, expire_at: Option<i64>, budget: usize) -> bool {
        let i = self.parts.iter().position(|(k, _)| **k == *o.key());
        if self.dead {
            if let Some(i) = i {
                self.parts.swap_remove(i);
            }
            if self.stream.as_deref() == Some(o.key()) {
                self.stream = None;
                self.open_gate();
            }
            return true;
        }
        let mut p = match i {
            Some(i) => self.parts.swap_remove(i).1,
            None => {
                let mut w = self.piece_writer();
                write_entry_head(&mut w, o, expire_at, &self.opts);
                let Some(at) = value_begin(&mut w, o) else {
                    write_value(&mut w, o);
                    self.bytes += w.buf.len() as u64;
                    self.queue_piece(w);
                    return true;
                };
                self.bytes += w.buf.len() as u64;
                Piece {
                    done: Vec::new(),
                    w,
                    at,
                }
            }
        };
        if budget == 0 {
            self.parts.push((o.key().into(), p));
            return false;
        }
        let before = p.w.buf.len();
        let res = value_step(&mut p.w, o, &mut p.at, budget);
        self.bytes += (p.w.buf.len() - before) as u64;
        match res {
            Some(false) => {
                // A string's bytes stay in one buffer (it may be compressed whole).
                if p.w.buf.len() >= CHUNK_BYTES && !matches!(p.at, Resume::Str(_)) {
                    p.done.push(take_part(&mut p.w));
                    self.stream_out(o.key(), &mut p);
                }
                self.parts.push((o.key().into(), p));
                false
            }
            Some(true) => {
                let c = p.into_chunk();
                if self.stream.as_deref() == Some(o.key()) {
                    self.end_stream(c);
                } else {
                    self.queue(c);
                }
                true
            }
            None => {
                self.fail();
                true
            }
        }
    }

    fn pin(&mut self, o: &mut Obj, expire_at: Option<i64>) {
        if !self.part(o, expire_at, 0) {
            if let Some((_, p)) = self.parts.iter_mut().find(|(k, _)| **k == *o.key()) {
                value_pin(o, &mut p.at);
            }
        }
    }

    fn rekey(&mut self, from: &[u8], to: &[u8]) {
        if let Some((k, _)) = self.parts.iter_mut().find(|(k, _)| **k == *from) {
            *k = to.into();
        }
        if self.stream.as_deref() == Some(from) {
            self.stream = Some(to.into());
        }
    }

    fn fail(&mut self) {
        self.parts.clear();
        let mut w = self.piece_writer();
        let c = Chunk::new(vec![take_part(&mut w)], 1, true);
        if self.stream.is_some() {
            self.end_stream(c);
        } else {
            self.queue(c);
        }
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn note_forced(&mut self, bytes: u64) {
        self.progress.forced_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn streaming(&self) -> bool {
        self.gate() == self.id + 1
    }

    fn held_bytes(&self) -> usize {
        let pieces = self
            .parts
            .iter()
            .map(|(_, p)| p.done.iter().map(|d| d.0.len()).sum::<usize>() + p.w.buf.len());
        pieces.sum::<usize>() + self.held.iter().map(Chunk::len).sum::<usize>()
    }

    fn segment_done(&mut self, may_wait: bool) -> bool {
        if self.w.buf.len() >= self.chunk_bytes {
            self.seal();
        }
        let wait = (may_wait && self.may_wait).then_some(BACKLOG_BYTES);
        // Output waiting for another sink's value is not the writer being behind.
        self.pump(wait) || self.gate_blocked()
    }

    fn flush(&mut self, seal: bool, wait: bool) -> bool {
        if seal {
            self.seal();
        }
        self.pump(wait.then_some(0)) || (!seal && self.gate_blocked())
    }
}

/// The db a snapshot step walks (see `Snapshot::step`).
fn next_to_walk(dbs: &mut [Db]) -> Option<&mut Db> {
    let i = dbs.iter().position(|d| d.snap_streaming() && !d.snap_walked());
    let i = i.or_else(|| dbs.iter().position(|d| !d.snap_walked()))?;
    dbs.get_mut(i)
}

/// What a snapshot needs next from the event loop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Progress {
    /// More to serialize and room for it: step again right away.
    Busy,
    /// The writer is behind: step again soon.
    Blocked,
    /// Everything was handed over (or the writer stopped): wait for `writer_done`.
    Writing,
}

/// A running snapshot: the writer thread and the walk position over the dbs.
pub struct Snapshot {
    tx: Option<SyncSender<Msg>>,
    handle: JoinHandle<Result<(), WriteError>>,
    /// The writer child's pid (0: no child, the snapshot is streamed).
    pid: u32,
    progress: Arc<SaveProgress>,
    cancel: Arc<AtomicBool>,
    end_sent: bool,
}

impl Snapshot {
    /// Starts a snapshot of `dbs` as they are now, written to `target`.
    /// `key_delay_us`: the `rdb-key-save-delay` test hook (the writer sleeps that long
    /// per key).
    pub fn start(dbs: &mut [Db], opts: &SaveOpts, target: Target, key_delay_us: u64) -> Result<Snapshot, String> {
        let (tx, rx) = sync_channel(QUEUE_CHUNKS);
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let rdb = opts.form == Form::Rdb;
        let checksum = opts.checksum && rdb;
        let (out, tmp, dest) = match target {
            Target::File { tmp, dest } => {
                let child = ChildWriter::spawn(&tmp, opts.autosync)
                    .map_err(|e| format!("Can't save in background: fork: {e}"))?;
                let tmp = child.path().to_path_buf();
                (Out::Child(child), Some(tmp), dest)
            }
            Target::Stream(tx, waker) => (Out::Stream(tx, waker), None, None),
        };
        let pid = out.pid();
        let progress = Arc::new(SaveProgress {
            keys_total: if opts.data {
                dbs.iter().map(|d| d.len() as u64).sum()
            } else {
                0
            },
            ..Default::default()
        });
        let prog = progress.clone();
        let handle = std::thread::Builder::new()
            .name("rdb-save".into())
            .spawn(move || {
                let job = WriteJob {
                    tmp,
                    dest,
                    rdb,
                    checksum,
                    key_delay_us,
                };
                write_file(rx, out, &job, &flag, &prog)
            })
            .map_err(|e| e.to_string())?;
        let mut w = Writer::new_deferred(opts.compress);
        match opts.form {
            Form::Rdb => write_header(&mut w, opts),
            Form::Commands(ts) => aof::commands_head(&mut w.buf, &opts.functions, ts),
        }
        // The channel is empty: this cannot block.
        let _ = tx.send(Msg::Chunk(Chunk::new(vec![take_part(&mut w)], 0, false)));
        let stamps = saves_stamps(opts.policy);
        for db in dbs.iter_mut().filter(|d| opts.data && !d.is_empty()) {
            let sink = DbSink {
                id: db.id,
                progress: progress.clone(),
                bytes: 0,
                opts: opts.clone(),
                w: Writer::new_deferred(opts.compress),
                keys: 0,
                tx: tx.clone(),
                backlog: VecDeque::new(),
                backlog_bytes: 0,
                chunk_bytes: if key_delay_us > 0 { 0 } else { CHUNK_BYTES },
                may_wait: key_delay_us == 0,
                dead: false,
                parts: Vec::new(),
                stream: None,
                held: VecDeque::new(),
            };
            db.snap_attach(Box::new(sink), stamps);
        }
        Ok(Snapshot {
            tx: Some(tx),
            handle,
            pid,
            progress,
            cancel,
            end_sent: false,
        })
    }

    /// One slice of work, about `budget` long (whole quarter segments, so a huge value
    /// may take longer). Never waits for the writer.
    pub fn step(&mut self, dbs: &mut [Db], budget: Duration) -> Progress {
        if self.end_sent || self.handle.is_finished() {
            return Progress::Writing;
        }
        let start = Instant::now();
        let mut backed_up = false;
        for db in dbs.iter_mut() {
            if let Some(s) = db.snap_sink() {
                backed_up |= !s.flush(false, false);
            }
        }
        // The db whose value is going out piece by piece (every other db's output
        // waits for it), else the first db left to walk, looked up each time: SWAPDB
        // moves a walk to another db, possibly one already passed.
        while let Some(db) = next_to_walk(dbs) {
            if backed_up {
                return Progress::Blocked;
            }
            if !db.snap_walk(|| start.elapsed() >= budget, false) {
                return if start.elapsed() >= budget {
                    Progress::Busy
                } else {
                    Progress::Blocked
                };
            }
            if start.elapsed() >= budget {
                return Progress::Busy;
            }
        }
        for db in dbs.iter_mut() {
            if let Some(s) = db.snap_sink() {
                backed_up |= !s.flush(true, false);
            }
        }
        if backed_up {
            return Progress::Blocked;
        }
        dbs.iter_mut().for_each(|d| drop(d.snap_detach()));
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(Msg::End) {
                return Progress::Blocked;
            }
        }
        self.end_sent = true;
        self.tx = None;
        Progress::Writing
    }

    /// Serializes and hands over everything left, waiting for the writer as needed.
    pub fn run_to_end(&mut self, dbs: &mut [Db]) {
        if self.end_sent {
            return;
        }
        // A value going out piece by piece first: every other db's output waits for it.
        if let Some(db) = dbs.iter_mut().find(|d| d.snap_streaming()) {
            db.snap_finish();
            if let Some(s) = db.snap_sink() {
                s.flush(true, true);
            }
        }
        for db in dbs.iter_mut() {
            db.snap_finish();
            if let Some(s) = db.snap_sink() {
                s.flush(true, true);
            }
            drop(db.snap_detach());
        }
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::End);
        }
        self.end_sent = true;
    }

    /// The writer child's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn progress(&self) -> &SaveProgress {
        &self.progress
    }

    /// True once the writer thread has ended (file installed, failed or aborted).
    pub fn writer_done(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the writer and returns its outcome.
    pub fn join(mut self, dbs: &mut [Db]) -> Result<(), WriteError> {
        dbs.iter_mut().for_each(|d| drop(d.snap_detach()));
        self.tx = None;
        self.handle
            .join()
            .unwrap_or_else(|_| Err(WriteError::Failed("the save thread failed".into())))
    }

    /// Stops the snapshot: the temp file is removed and the target left as it was.
    pub fn abort(self, dbs: &mut [Db]) {
        self.cancel.store(true, Ordering::Release);
        self.handle.thread().unpark();
        let _ = self.join(dbs);
    }
}

/// Where a snapshot goes.
pub enum Target {
    /// A file written by a writer child process to `tmp`, then renamed to `dest`.
    File { tmp: PathBuf, dest: Option<PathBuf> },
    /// The bytes themselves, handed to the main thread (woken by the waker) for
    /// replicas: a diskless transfer. A dropped receiver ends the snapshot.
    Stream(SyncSender<Vec<u8>>, Arc<mio::Waker>),
}

/// The writer thread's output.
enum Out {
    Child(ChildWriter),
    Stream(SyncSender<Vec<u8>>, Arc<mio::Waker>),
}

impl Out {
    fn pid(&self) -> u32 {
        match self {
            Out::Child(c) => c.pid(),
            Out::Stream(..) => 0,
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        match self {
            Out::Child(c) => c.write(data),
            Out::Stream(tx, waker) => {
                tx.send(data.to_vec())
                    .map_err(|_| WriteError::Failed("the transfer ended".into()))?;
                let _ = waker.wake();
                Ok(())
            }
        }
    }

    fn pause(&mut self, us: u64, cancel: &AtomicBool) -> Result<(), WriteError> {
        match self {
            Out::Child(c) => c.pause(us, cancel),
            Out::Stream(..) => {
                super::child::sleep_unless(us, cancel, || false);
                Ok(())
            }
        }
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        match self {
            Out::Child(c) => c.finish(),
            Out::Stream(_, waker) => {
                let _ = waker.wake();
                Ok(())
            }
        }
    }

    fn stop(&mut self) {
        if let Out::Child(c) = self {
            c.stop();
        }
    }
}

/// Where and how the writer thread writes.
struct WriteJob {
    tmp: Option<PathBuf>,
    dest: Option<PathBuf>,
    /// An RDB file, which ends with EOF and its checksum (else a base of commands).
    rdb: bool,
    checksum: bool,
    key_delay_us: u64,
}

/// The writer thread: chunks in, piped to the writer child (which writes and fsyncs);
/// the file is installed only after End and the child's success.
fn write_file(
    rx: Receiver<Msg>,
    mut child: Out,
    job: &WriteJob,
    cancel: &AtomicBool,
    progress: &SaveProgress,
) -> Result<(), WriteError> {
    let (tmp, dest) = (job.tmp.as_deref(), job.dest.as_deref());
    let mut res = write_chunks(&rx, &mut child, cancel, job, progress);
    if res.is_ok() && cancel.load(Ordering::Acquire) {
        res = Err(WriteError::Failed("Background saving aborted".into()));
    }
    match res {
        Ok(()) => res = child.finish(),
        Err(_) => {
            // Redis compat: a save stopped on purpose ends with SIGUSR1.
            child.stop();
            let st = child.finish();
            if cancel.load(Ordering::Acquire) {
                res = st.and(Err(WriteError::Signal(libc::SIGUSR1)));
            }
        }
    }
    if let Err(e) = res {
        if let Some(tmp) = tmp {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    match (tmp, dest) {
        (Some(tmp), Some(dest)) => super::rdb::file::install(tmp, dest).map_err(WriteError::Failed),
        _ => Ok(()),
    }
}

fn write_chunks(
    rx: &Receiver<Msg>,
    child: &mut Out,
    cancel: &AtomicBool,
    job: &WriteJob,
    progress: &SaveProgress,
) -> Result<(), WriteError> {
    let (checksum, key_delay_us) = (job.checksum, job.key_delay_us);
    let aborted = || WriteError::Failed("Background saving aborted".into());
    let mut crc = Crc64::default();
    let mut out = Writer::new(true);
    loop {
        // A closed channel without End: the snapshot was dropped.
        let msg = rx.recv().map_err(|_| aborted())?;
        if cancel.load(Ordering::Acquire) {
            return Err(aborted());
        }
        match msg {
            Msg::Chunk(c) => {
                if c.failed {
                    return Err(WriteError::Failed(
                        "Internal error: a value changed while it was saved".into(),
                    ));
                }
                for (buf, spans) in &c.parts {
                    let bytes = if spans.is_empty() {
                        buf
                    } else {
                        out.buf.clear();
                        if !encode_deferred(buf, spans, &mut out) {
                            return Err(WriteError::Failed("Internal error encoding the snapshot".into()));
                        }
                        &out.buf
                    };
                    if checksum {
                        crc.update(bytes);
                    }
                    child.write(bytes)?;
                }
                progress.keys_written.fetch_add(c.keys, Ordering::Relaxed);
                child.pause(c.keys.saturating_mul(key_delay_us), cancel)?;
            }
            Msg::End if !job.rdb => return Ok(()),
            Msg::End => {
                let mut tail = vec![op::EOF];
                let sum = if checksum {
                    crc.update(&tail);
                    crc.value()
                } else {
                    0
                };
                tail.extend_from_slice(&sum.to_le_bytes());
                return child.write(&tail);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::db::evict::{Lfu, Policy};
    use crate::db::{Limits, Value, ValueRef};
    use crate::persist::rdb::file::load;
    use crate::persist::rdb::value::type_of;

    /// Per db: key -> (type byte and elements, sets and hashes sorted; expire time).
    type Model = Vec<BTreeMap<Vec<u8>, ((u8, Vec<Vec<u8>>), Option<i64>)>>;

    fn canon(o: &Obj) -> (u8, Vec<Vec<u8>>) {
        let mut elems: Vec<Vec<u8>> = match o.value() {
            ValueRef::Str(s) => vec![s.to_vec()],
            ValueRef::List(l) => return (type_of(o), l.iter().map(|e| e.into_owned()).collect()),
            ValueRef::Set(s) => s.iter().map(|e| e.into_owned()).collect(),
            ValueRef::Hash(h) => h.iter().map(|(f, v)| [f, b"=", v].concat()).collect(),
            ValueRef::ZSet(z) => {
                return (
                    type_of(o),
                    z.iter_from(0).map(|(m, sc)| [m, &sc.to_le_bytes()].concat()).collect(),
                )
            }
            ValueRef::Stream(_) => unreachable!("no streams in these tests"),
        };
        elems.sort();
        (type_of(o), elems)
    }

    fn model(dbs: &[Db]) -> Model {
        dbs.iter()
            .map(|db| {
                db.iter()
                    .map(|o| (o.key().to_vec(), (canon(o), db.get_expire(o.key()))))
                    .collect()
            })
            .collect()
    }

    /// The model of the file at `dest`, loaded into `n` dbs.
    fn file_model(dest: &std::path::Path, n: usize) -> Model {
        let mut loaded: Vec<Db> = (0..n).map(Db::new).collect();
        load(&std::fs::read(dest).unwrap(), &mut loaded, 0, &Limits::default(), true).unwrap();
        model(&loaded)
    }

    /// Keys of values big enough to be saved in steps (see `big_values`).
    const BIG: [&[u8]; 5] = [b"big:list", b"big:set", b"big:hash", b"big:zset", b"big:str"];

    /// One big value of each kind saved in steps, in `db`.
    fn big_values(db: &mut Db, n: usize) {
        let lim = Limits::default();
        let mut l = crate::ds::quicklist::QuickList::new(-2);
        let mut set = crate::ds::dict::Dict::new();
        let mut hash = crate::ds::dict::Dict::new();
        let mut zs = Vec::new();
        for i in 0..n {
            let e = format!("elem-{i}-{}", "y".repeat(i % 30));
            l.push_back(e.as_bytes());
            set.insert(crate::db::set::Member::new(e.as_bytes()));
            hash.insert(crate::db::hash::Pair::new(e.as_bytes(), format!("{i}").as_bytes()));
            zs.push((e.into_bytes(), (i % 1000) as f64 / 7.0));
        }
        zs.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        db.add(Obj::new_value(BIG[0], Value::List(l)), 0);
        db.add(Obj::new_value(BIG[1], Value::Set(set)), 0);
        db.add(Obj::new_value(BIG[2], Value::Hash(hash)), 0);
        db.add(crate::db::zset::zset_from_sorted(BIG[3], &zs, &lim), 0);
        let text: Vec<u8> = (0..n * 1200).map(|i| b"abcdefghij"[(i * 7 + i / 13) % 10]).collect();
        db.add(Obj::new_value(BIG[4], Value::Str(text)), 0);
        for k in BIG {
            assert!(saved_in_steps(db.get(k, 0).unwrap()), "{}", String::from_utf8_lossy(k));
        }
        db.set_expire(BIG[1], 9_000);
    }

    /// A change to one of the big values (or its key).
    fn change_big(db: &mut Db, rng: &mut SmallRng) {
        let lim = Limits::default();
        let k = BIG[rng.random_range(0..BIG.len())];
        match rng.random_range(0..12) {
            0 => {
                db.remove(k);
            }
            10 => {
                db.delete(k, drop);
            }
            11 => {
                db.set(Obj::new_str(k, b"replaced"), rng.random_bool(0.5), 0);
            }
            1 => {
                db.set_expire(k, 7_000);
            }
            2 => db.rehash_value(k),
            _ => {
                let Some(o) = db.get_mut(k, 0) else { return };
                let e = format!("changed-{}", rng.random_range(0..1_000_000u32));
                if let Some(mut s) = o.set_mut(&lim) {
                    s.add(e.as_bytes());
                } else if let Some(mut h) = o.hash_mut(&lim) {
                    h.set(e.as_bytes(), b"new");
                } else if let Some(mut z) = o.zset_mut(&lim) {
                    if rng.random_bool(0.5) {
                        z.insert(e.as_bytes(), -1.0);
                    } else {
                        z.remove(format!("elem-{}-", rng.random_range(0..20_000)).as_bytes());
                    }
                } else if let Some(Value::List(l)) = o.heap_mut() {
                    let at = rng.random_range(0..l.len().max(1));
                    match rng.random_range(0..6) {
                        0 => l.push_front(e.as_bytes()),
                        1 => l.push_back(e.as_bytes()),
                        2 => drop(l.pop_front()),
                        3 => drop(l.set(at, e.as_bytes())),
                        4 => l.insert(at, e.as_bytes()),
                        _ => l.remove_range(at, rng.random_range(1..500)),
                    }
                } else {
                    o.set_str(e.as_bytes());
                }
            }
        }
    }

    fn opts(compress: bool) -> SaveOpts {
        SaveOpts {
            ctime: 0,
            used_mem: 0,
            compress,
            checksum: true,
            autosync: false,
            redis_ver: crate::REDIS_VERSION,
            policy: Policy::NoEviction,
            now_ms: 0,
            lfu: Lfu {
                log_factor: 10,
                decay_time: 1,
            },
            functions: Vec::new(),
            repl: None,
            data: true,
            aof_base: false,
            form: Form::Rdb,
        }
    }

    fn file_target(dir: &std::path::Path, dest: &std::path::Path) -> Target {
        Target::File {
            tmp: dir.join("temp.rdb"),
            dest: Some(dest.to_path_buf()),
        }
    }

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    /// Four dbs: a big one (many segments, splits under inserts), a medium one, an
    /// empty one and a small one; some keys carry TTLs in the (logical) past.
    fn dataset() -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..4).map(Db::new).collect();
        for (d, n) in [(0usize, 30_000u32), (1, 3_000), (3, 50)] {
            for i in 0..n {
                let v = format!("value-{i}-{}", "x".repeat(i as usize % 40));
                dbs[d].add(Obj::new_str(&key(i), v.as_bytes()), 0);
                if i % 7 == 0 {
                    dbs[d].set_expire(&key(i), 1_000 + i as i64);
                }
            }
        }
        dbs
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferrodis-snap-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Random writes of every kind interleaved with snapshot slices of random length:
    /// the file holds exactly the dataset as it was when the snapshot started.
    fn writes_during_snapshot(seed: u64, compress: bool) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut dbs = dataset();
        big_values(&mut dbs[1], 5_000 + seed as usize * 3_000);
        if seed % 2 == 1 {
            // Two dbs with values going out piece by piece, which swaps move around.
            big_values(&mut dbs[3], 12_000);
        }
        let before = model(&dbs);
        let dir = temp_dir(&format!("{seed}-{compress}"));
        let dest = dir.join("dump.rdb");
        let mut snap = Snapshot::start(&mut dbs, &opts(compress), file_target(&dir, &dest), 0).unwrap();
        let mut fresh = 0u32;
        let mut steps = 0;
        loop {
            for _ in 0..rng.random_range(0..60) {
                let d = [0, 0, 0, 1, 2, 3][rng.random_range(0..6)];
                let k = key(rng.random_range(0..40_000));
                if rng.random_range(0..800) == 0 {
                    let x = rng.random_range(1..4);
                    let y = rng.random_range(0..x);
                    let (a, b) = dbs.split_at_mut(x);
                    a[y].swap_contents(&mut b[0]);
                    continue;
                }
                if rng.random_range(0..1500) == 0 {
                    drop(dbs[d].flush());
                    continue;
                }
                let db = &mut dbs[d];
                if rng.random_range(0..40) == 0 {
                    change_big(db, &mut rng);
                    continue;
                }
                match rng.random_range(0..100) {
                    0..30 => {
                        db.set(Obj::new_str(&k, b"overwritten"), rng.random_bool(0.5), 0);
                    }
                    30..45 => {
                        db.remove(&k);
                    }
                    45..55 => {
                        db.set_expire(&k, 5_000);
                    }
                    55..60 => {
                        db.persist(&k);
                    }
                    60..70 => {
                        if let Some(o) = db.get_mut(&k, 0) {
                            o.set_str(b"changed in place");
                        }
                    }
                    // Lazy expiry: keys whose TTL is at most 1500 go.
                    70..78 => {
                        db.get(&k, 1_500);
                    }
                    78..82 => {
                        db.random_key(&mut rng, 1_500);
                    }
                    82..86 => {
                        if db.is_expired(&k, 1_500) {
                            db.expire_now(&k);
                        }
                    }
                    _ => {
                        fresh += 1;
                        db.add(Obj::new_str(format!("new:{fresh}").as_bytes(), b"inserted"), 0);
                    }
                }
            }
            steps += 1;
            let budget = Duration::from_micros(rng.random_range(1..300));
            if snap.step(&mut dbs, budget) == Progress::Writing {
                break;
            }
        }
        snap.join(&mut dbs).unwrap();
        assert!(steps > 3, "the snapshot ran in {steps} steps");
        assert!(dbs.iter().all(|d| d.snap_walked()));
        assert!(
            file_model(&dest, 4) == before,
            "seed {seed}: the file is not the dataset at start"
        );
        assert!(model(&dbs) != before);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_is_the_dataset_at_start_despite_writes() {
        for seed in 0..6 {
            writes_during_snapshot(seed, seed % 2 == 0);
        }
    }

    /// Big values are saved over several steps, and changes to them between steps (to
    /// the one under way, to ones queued behind it, in either db, which swap now and
    /// then) keep the file at the dataset at start.
    #[test]
    fn big_values_saved_in_steps_despite_changes() {
        for seed in 0..4u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut dbs: Vec<Db> = (0..2).map(Db::new).collect();
            big_values(&mut dbs[0], 20_000);
            big_values(&mut dbs[1], 30_000);
            for i in 0..100 {
                dbs[0].add(Obj::new_str(&key(i), b"small"), 0);
                dbs[1].add(Obj::new_str(&key(i), b"small"), 0);
            }
            let before = model(&dbs);
            let dir = temp_dir(&format!("big-{seed}"));
            let dest = dir.join("dump.rdb");
            let mut snap = Snapshot::start(&mut dbs, &opts(seed % 2 == 0), file_target(&dir, &dest), 0).unwrap();
            let mut steps = 0;
            while snap.step(&mut dbs, Duration::ZERO) != Progress::Writing {
                steps += 1;
                if rng.random_range(0..40) == 0 {
                    let (a, b) = dbs.split_at_mut(1);
                    a[0].swap_contents(&mut b[0]);
                }
                if rng.random_range(0..4) == 0 {
                    let d = rng.random_range(0..2);
                    change_big(&mut dbs[d], &mut rng);
                }
            }
            snap.join(&mut dbs).unwrap();
            assert!(steps > 10, "seed {seed}: {steps} steps");
            assert!(
                file_model(&dest, 2) == before,
                "seed {seed}: the file is not the dataset at start"
            );
            assert!(model(&dbs) != before);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// A big value goes out piece by piece as it is made, not held whole until it is
    /// complete; writes to other dbs meanwhile wait behind it, and the file is the
    /// dataset at start.
    #[test]
    fn a_big_value_goes_out_as_it_is_made() {
        let mut dbs: Vec<Db> = (0..2).map(Db::new).collect();
        let mut l = crate::ds::quicklist::QuickList::new(-2);
        for i in 0..300_000 {
            l.push_back(format!("element:{i}:{}", "z".repeat(i % 20)).as_bytes());
        }
        dbs[0].add(Obj::new_value(b"big", Value::List(l)), 0);
        for i in 0..2_000 {
            dbs[1].add(Obj::new_str(&key(i), b"small"), 0);
        }
        let before = model(&dbs);
        let dir = temp_dir("goes-out");
        let dest = dir.join("dump.rdb");
        let mut snap = Snapshot::start(&mut dbs, &opts(false), file_target(&dir, &dest), 0).unwrap();
        let (mut most, mut streamed) = (0, false);
        let mut i = 0;
        while snap.step(&mut dbs, Duration::ZERO) != Progress::Writing {
            streamed |= dbs[0].snap_streaming();
            most = most.max(
                dbs.iter_mut()
                    .filter_map(|d| d.snap_sink().map(|s| s.held_bytes()))
                    .sum(),
            );
            i += 1;
            dbs[1].set(Obj::new_str(&key(i % 2_000), b"changed"), false, 0);
        }
        snap.join(&mut dbs).unwrap();
        assert!(streamed);
        assert!(most < 2 * CHUNK_BYTES, "{most} bytes held");
        assert!(file_model(&dest, 2) == before, "the file is not the dataset at start");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Runs `snap` to its end; its file must be `before`, the dataset at its start.
    fn finish_as_at_start(
        mut snap: Snapshot,
        dbs: &mut [Db],
        before: &Model,
        dir: &std::path::Path,
        dest: &std::path::Path,
    ) {
        while snap.step(dbs, Duration::from_micros(200)) != Progress::Writing {}
        snap.join(dbs).unwrap();
        assert!(file_model(dest, 4) == *before, "the file is not the dataset at start");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The dataset with big values of every kind in db 0, its model, and a save of it
    /// under `policy` into `name`'s scratch dir, begun by one step.
    fn save_big_values(name: &str, policy: Policy) -> (Vec<Db>, Model, PathBuf, PathBuf, Snapshot) {
        let mut dbs = dataset();
        big_values(&mut dbs[0], 20_000);
        let before = model(&dbs);
        let dir = temp_dir(name);
        let dest = dir.join("dump.rdb");
        let o = SaveOpts { policy, ..opts(false) };
        let mut snap = Snapshot::start(&mut dbs, &o, file_target(&dir, &dest), 0).unwrap();
        assert!(snap.step(&mut dbs, Duration::ZERO) != Progress::Writing);
        (dbs, before, dir, dest, snap)
    }

    /// Bytes of db 0 the save has serialized so far.
    fn saved0(dbs: &mut [Db]) -> u64 {
        dbs[0].snap_sink().map_or(0, |s| s.bytes())
    }

    /// Checks that next to nothing of db 0 was serialized on the spot since `at`
    /// (`saved0` then).
    fn assert_little_saved_since(dbs: &mut [Db], at: u64, what: &str) {
        let forced = saved0(dbs) - at;
        assert!(forced < 20_000, "{what}: {forced} bytes saved on the spot");
    }

    /// A write to a big list, set, hash or sorted set during a save serializes nothing
    /// of it on the spot (the value copies what the write touches), and the file is
    /// still the dataset at start.
    #[test]
    fn writes_to_big_values_do_not_wait_for_their_save() {
        let lim = Limits::default();
        let (mut dbs, before, dir, dest, mut snap) = save_big_values("in-place", Policy::NoEviction);
        for round in 0..50 {
            let at = saved0(&mut dbs);
            let e = format!("written-{round}");
            dbs[0]
                .get_mut(BIG[1], 0)
                .unwrap()
                .set_mut(&lim)
                .unwrap()
                .add(e.as_bytes());
            dbs[0]
                .get_mut(BIG[2], 0)
                .unwrap()
                .hash_mut(&lim)
                .unwrap()
                .set(b"elem-7-yyyyyyy", e.as_bytes());
            dbs[0].set_expire(BIG[2], 5_000 + round);
            let z = dbs[0].get_mut(BIG[3], 0).unwrap();
            z.zset_mut(&lim).unwrap().insert(e.as_bytes(), round as f64);
            let Some(Value::List(l)) = dbs[0].get_mut(BIG[0], 0).unwrap().heap_mut() else {
                panic!("not a list")
            };
            let mid = l.len() / 2;
            l.push_front(e.as_bytes());
            l.set(mid, e.as_bytes());
            drop(l.pop_back());
            assert_little_saved_since(&mut dbs, at, &format!("round {round}"));
            snap.step(&mut dbs, Duration::ZERO);
        }
        finish_as_at_start(snap, &mut dbs, &before, &dir, &dest);
    }

    /// Deleting, replacing or expiring big values during a save serializes nothing of
    /// them on the spot (the snapshot keeps them), whatever comes under their keys
    /// next, and the file is still the dataset at start.
    #[test]
    fn deleting_big_values_does_not_wait_for_their_save() {
        let lim = Limits::default();
        let (mut dbs, before, dir, dest, mut snap) = save_big_values("adopt", Policy::NoEviction);
        let at = saved0(&mut dbs);
        assert!(dbs[0].delete(BIG[0], drop));
        dbs[0].set(Obj::new_str(BIG[1], b"replaced"), false, 0);
        dbs[0].set_expire(BIG[2], 1);
        assert!(dbs[0].get(BIG[2], 2).is_none(), "expired on access");
        dbs[0].expire_now(BIG[3]);
        assert!(dbs[0].delete(BIG[4], drop));
        assert_little_saved_since(&mut dbs, at, "these changes");
        // New values under the same keys are not part of the save, and take writes.
        let mut l = crate::ds::quicklist::QuickList::new(-2);
        l.push_back(b"new");
        dbs[0].add(Obj::new_value(BIG[0], Value::List(l)), 0);
        dbs[0].add(
            crate::db::zset::zset_from_sorted(BIG[3], &[(b"m".to_vec(), 1.0)], &lim),
            0,
        );
        for round in 0..20 {
            let e = format!("after-{round}");
            if let Some(Value::List(l)) = dbs[0].get_mut(BIG[0], 0).unwrap().heap_mut() {
                l.push_front(e.as_bytes());
            }
            dbs[0]
                .get_mut(BIG[3], 0)
                .unwrap()
                .zset_mut(&lim)
                .unwrap()
                .insert(e.as_bytes(), 2.0);
            snap.step(&mut dbs, Duration::ZERO);
        }
        finish_as_at_start(snap, &mut dbs, &before, &dir, &dest);
    }

    /// Renaming big values during a save serializes nothing of them on the spot: the
    /// save follows them to their new names, through writes, renames and deletes
    /// there, and the file is still the dataset at start (also when one is renamed
    /// over another that the save owns already, which saves the rest of it first).
    #[test]
    fn renaming_big_values_does_not_wait_for_their_save() {
        let lim = Limits::default();
        let (mut dbs, before, dir, dest, mut snap) = save_big_values("rename", Policy::NoEviction);
        let at = saved0(&mut dbs);
        for (i, key) in BIG.iter().enumerate() {
            assert!(dbs[0].rename(key, format!("renamed:{i}").as_bytes(), 0));
            assert!(dbs[0].get(key, 0).is_none());
        }
        assert_little_saved_since(&mut dbs, at, "these changes");
        snap.step(&mut dbs, Duration::ZERO);
        let at = saved0(&mut dbs);
        dbs[0]
            .get_mut(b"renamed:1", 0)
            .unwrap()
            .set_mut(&lim)
            .unwrap()
            .add(b"new");
        dbs[0].set_expire(b"renamed:1", 5_000);
        let z = dbs[0].get_mut(b"renamed:3", 0).unwrap();
        z.zset_mut(&lim).unwrap().insert(b"new", 1.0);
        assert!(dbs[0].rename(b"renamed:0", b"again", 0));
        assert!(dbs[0].remove(b"renamed:2"));
        assert_little_saved_since(&mut dbs, at, "these changes");
        snap.step(&mut dbs, Duration::ZERO);
        assert!(dbs[0].remove(b"again"));
        assert!(dbs[0].rename(b"renamed:4", b"again", 0));
        finish_as_at_start(snap, &mut dbs, &before, &dir, &dest);
    }

    /// Reading big values during a save that keeps LRU idle times serializes nothing
    /// of them on the spot (their idle times are written first), and the file is
    /// still the dataset at start.
    #[test]
    fn reading_big_values_does_not_wait_for_their_save() {
        let (mut dbs, before, dir, dest, mut snap) = save_big_values("read", Policy::AllLru);
        for round in 0..20 {
            let at = saved0(&mut dbs);
            for key in BIG {
                assert!(dbs[0].get(key, 0).is_some());
            }
            assert_little_saved_since(&mut dbs, at, &format!("round {round}"));
            snap.step(&mut dbs, Duration::ZERO);
        }
        finish_as_at_start(snap, &mut dbs, &before, &dir, &dest);
    }

    /// FLUSHDB and SWAPDB right after the start serialize nothing on the spot: the walk
    /// follows the contents, and what is written to the dbs afterwards stays out.
    #[test]
    fn flush_and_swap_do_not_wait_for_the_walk() {
        let mut dbs = dataset();
        let before = model(&dbs);
        let dir = temp_dir("flush-swap");
        let dest = dir.join("dump.rdb");
        let mut snap = Snapshot::start(&mut dbs, &opts(false), file_target(&dir, &dest), 0).unwrap();
        let saved = |dbs: &mut [Db]| -> u64 { dbs.iter_mut().filter_map(|d| d.snap_sink().map(|s| s.bytes())).sum() };
        assert!(snap.step(&mut dbs, Duration::ZERO) != Progress::Writing);
        let at_start = saved(&mut dbs);
        assert!(at_start < 1_000_000, "{at_start}");
        drop(dbs[0].flush());
        {
            let (a, b) = dbs.split_at_mut(2);
            a[1].swap_contents(&mut b[0]); // db 1 (unwalked) with the empty db 2
        }
        {
            let (a, b) = dbs.split_at_mut(3);
            a[0].swap_contents(&mut b[0]); // db 0 (flushed) with db 3
        }
        drop(dbs[2].flush()); // db 1's old contents, now in db 2
        assert_eq!(saved(&mut dbs), at_start, "nothing was serialized on the spot");
        assert!(dbs.iter().all(|d| d.is_empty() || d.id == 0));
        for (d, i) in [(0usize, 1u32), (1, 2), (2, 3), (3, 4)] {
            dbs[d].add(Obj::new_str(&key(100_000 + i), b"after"), 0);
        }
        finish_as_at_start(snap, &mut dbs, &before, &dir, &dest);
    }

    #[test]
    fn file_matches_a_synchronous_save_without_writes() {
        let mut dbs = dataset();
        let dir = temp_dir("sync");
        let dest = dir.join("dump.rdb");
        let o = opts(true);
        let mut snap = Snapshot::start(&mut dbs, &o, file_target(&dir, &dest), 0).unwrap();
        snap.run_to_end(&mut dbs);
        snap.join(&mut dbs).unwrap();
        let data = std::fs::read(&dest).unwrap();
        let mut a: Vec<Db> = (0..4).map(Db::new).collect();
        load(&data, &mut a, 0, &Limits::default(), true).unwrap();
        let mut b: Vec<Db> = (0..4).map(Db::new).collect();
        load(
            &super::super::rdb::file::serialize(&dbs, &o),
            &mut b,
            0,
            &Limits::default(),
            true,
        )
        .unwrap();
        assert!(model(&a) == model(&b));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn abort_leaves_no_file_and_detaches() {
        let mut dbs = dataset();
        let dir = temp_dir("abort");
        let dest = dir.join("dump.rdb");
        // A slow writer (the key delay hook) keeps the save running.
        let mut snap = Snapshot::start(&mut dbs, &opts(true), file_target(&dir, &dest), 1000).unwrap();
        snap.step(&mut dbs, Duration::from_millis(1));
        dbs[0].remove(&key(1));
        snap.abort(&mut dbs);
        assert!(!dest.exists());
        assert!(!dir.join("temp.rdb").exists());
        assert!(dbs.iter().all(|d| d.snap_walked()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
