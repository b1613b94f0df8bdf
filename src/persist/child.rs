//! The background writer process: snapshot bytes are piped to a child (this binary,
//! started with `--background-writer <file>`) that writes and fsyncs the file. The
//! child is exec'd, not forked: it shares no memory with the server, so the dataset is
//! never copied on write, yet operators and tools see a save child like Redis's (and can
//! stop a save by killing it).
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The hidden command-line flag that turns the binary into a writer:
/// `--background-writer <path> [<oom score>]`.
pub const FLAG: &str = "--background-writer";

/// Set in a writer's environment when it should flush as it goes.
const AUTOSYNC_ENV: &str = "FERRODIS_WRITER_AUTOSYNC";

/// How much a writer writes between two flushes to disk. Redis compat: server.h
/// REDIS_AUTOSYNC_BYTES.
const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;

/// In a writer's path, stands for the writer's own pid (Redis names a save child's
/// temp file after the child: `temp-<pid>.rdb`).
pub const PID_MARK: &str = "{pid}";

/// `path` with `PID_MARK` replaced by `pid`.
pub fn resolve(path: &Path, pid: u32) -> PathBuf {
    PathBuf::from(path.to_string_lossy().replace(PID_MARK, &pid.to_string()))
}

/// How a background write ended, when not with success.
#[derive(Debug)]
pub enum WriteError {
    /// The child was killed by this signal.
    Signal(i32),
    Failed(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Signal(sig) => write!(f, "terminated by signal {sig}"),
            WriteError::Failed(e) => f.write_str(e),
        }
    }
}

pub struct ChildWriter {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The file written (`PID_MARK` resolved).
    path: PathBuf,
}

impl ChildWriter {
    /// Starts a writer for `path` (relative paths are from the server's directory).
    /// `autosync`: the writer flushes the file to disk as it goes, every
    /// `AUTOSYNC_BYTES` (rdb-save-incremental-fsync, aof-rewrite-incremental-fsync),
    /// so that the kernel never holds the whole file as dirty pages.
    pub fn spawn(path: &Path, autosync: bool) -> io::Result<ChildWriter> {
        let mut cmd = writer_command(path)?;
        if autosync {
            cmd.env(AUTOSYNC_ENV, "1");
        } else {
            cmd.env_remove(AUTOSYNC_ENV);
        }
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
        let stdin = child.stdin.take();
        if let Some(pipe) = &stdin {
            widen_pipe(pipe);
        }
        let path = resolve(path, child.id());
        Ok(ChildWriter { child, stdin, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child has exited already (e.g. it was killed).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        let Some(w) = self.stdin.as_mut() else {
            return Err(WriteError::Failed("writer closed".into()));
        };
        match w.write_all(data) {
            Ok(()) => Ok(()),
            // A dead child: its exit status says why.
            Err(_) => Err(self
                .finish()
                .err()
                .unwrap_or(WriteError::Failed("writer exited early".into()))),
        }
    }

    /// Ends the input and waits for the child; Ok when the file is written and synced.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        drop(self.stdin.take());
        let st = self.child.wait().map_err(|e| WriteError::Failed(e.to_string()))?;
        if let Some(sig) = st.signal() {
            return Err(WriteError::Signal(sig));
        }
        if st.success() {
            Ok(())
        } else {
            Err(WriteError::Failed(format!(
                "writer exited with status {}",
                st.code().unwrap_or(-1)
            )))
        }
    }

    /// Sleeps `us` microseconds (the `rdb-key-save-delay` test hook), waking early when
    /// `cancel` is set (the aborter unparks the thread) or the child dies: killed from
    /// outside, the save fails with its signal.
    pub fn pause(&mut self, us: u64, cancel: &AtomicBool) -> Result<(), WriteError> {
        if sleep_unless(us, cancel, || self.exited()) {
            return self.finish();
        }
        Ok(())
    }

    /// Stops the child the way Redis stops its save child (SIGUSR1: not an error).
    pub fn stop(&mut self) {
        // Safety: kill(2) on our own child's pid, which `wait` has not reaped yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGUSR1);
        }
    }
}

/// Sleeps `us` microseconds, waking early when `cancel` is set (the aborter unparks the
/// thread) or `died()`; true when `died()` ended it.
pub fn sleep_unless(us: u64, cancel: &AtomicBool, mut died: impl FnMut() -> bool) -> bool {
    if us == 0 {
        return false;
    }
    let end = Instant::now().checked_add(Duration::from_micros(us));
    while !cancel.load(Ordering::Acquire) {
        if died() {
            return true;
        }
        let left = match end {
            Some(end) => end.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(1),
        };
        if left.is_zero() {
            return false;
        }
        std::thread::park_timeout(left.min(Duration::from_millis(10)));
    }
    false
}

/// Bytes a writer's pipe holds: a whole snapshot chunk and more, so that handing one
/// over wakes the child once rather than once per 64 KB (the default size), each wake
/// a cross-CPU interrupt that the serving thread's CPU may have to take.
const PIPE_BYTES: i32 = 1 << 20;

/// Grows the pipe to `PIPE_BYTES` where the system allows it (/proc/sys/fs/pipe-max-size);
/// a smaller pipe only costs more wakeups.
fn widen_pipe(pipe: &ChildStdin) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl(2) on a pipe descriptor we own; failure leaves the pipe as it was.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
}

#[cfg(not(test))]
fn writer_command(path: &Path) -> io::Result<Command> {
    let mut c = Command::new(std::env::current_exe()?);
    c.arg(FLAG).arg(path);
    if let Some(score) = crate::server::oom::child_score() {
        c.arg(score.to_string());
    }
    Ok(c)
}

/// Unit tests run inside the test binary, which has no writer mode: dd does the same
/// (its shell's pid, which `exec` keeps, stands for `PID_MARK`).
#[cfg(test)]
fn writer_command(path: &Path) -> io::Result<Command> {
    let p = path.to_string_lossy().replace(PID_MARK, "$$");
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!("exec dd \"of={p}\" conv=fsync status=none"));
    Ok(c)
}

/// Starts writing out the file's last whole `AUTOSYNC_BYTES` up to `upto`, and waits
/// for the part before it: at most two such parts are ever dirty.
/// Redis compat: rio.c rioFileWrite (sync_file_range).
fn flush_behind(f: &std::fs::File, upto: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = f.as_raw_fd();
    let chunk = AUTOSYNC_BYTES as i64;
    let end = upto as i64;
    // SAFETY: sync_file_range(2) on an open descriptor we own, over written ranges.
    let rc = unsafe { libc::sync_file_range(fd, end - chunk, chunk, libc::SYNC_FILE_RANGE_WRITE) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    if end >= 2 * chunk {
        let wait = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: as above.
        if unsafe { libc::sync_file_range(fd, end - 2 * chunk, chunk, wait) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A file written front to back and made durable: with `autosync`, each whole
/// `AUTOSYNC_BYTES` written goes to disk as the next is written (Redis's
/// `rdb-save-incremental-fsync`), so the final fsync has little left to wait for.
pub struct SyncedFile {
    f: std::fs::File,
    written: u64,
    autosync: bool,
}

impl SyncedFile {
    pub fn new(f: std::fs::File, autosync: bool) -> SyncedFile {
        SyncedFile {
            f,
            written: 0,
            autosync,
        }
    }

    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.f.write_all(data)?;
        let before = self.written;
        self.written += data.len() as u64;
        if self.autosync && self.written / AUTOSYNC_BYTES > before / AUTOSYNC_BYTES {
            flush_behind(&self.f, self.written / AUTOSYNC_BYTES * AUTOSYNC_BYTES)?;
        }
        Ok(())
    }

    /// Everything written reaches the disk.
    pub fn finish(&mut self) -> io::Result<()> {
        self.f.sync_all()
    }
}

/// Whether the process that started this one has exited (we were handed to another).
fn orphaned(parent: libc::pid_t) -> bool {
    // SAFETY: getppid(2) cannot fail.
    unsafe { libc::getppid() != parent }
}

/// The child's side: stdin to `path`, then fsync. Exit status 0 only when all of it
/// reached the disk.
pub fn run(path: &str, oom_score: Option<&str>) -> ExitCode {
    if let Some(v) = oom_score.and_then(|v| v.parse::<i32>().ok()) {
        crate::server::oom::write_own(v);
    }
    let path = resolve(Path::new(path), std::process::id());
    // SAFETY: getppid(2) cannot fail.
    let parent = unsafe { libc::getppid() };
    let res = (|| -> io::Result<()> {
        let autosync = std::env::var_os(AUTOSYNC_ENV).is_some();
        let mut f = SyncedFile::new(std::fs::File::create(&path)?, autosync);
        let mut input = io::stdin().lock();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            f.write(buf.get(..n).unwrap_or_default())?;
        }
        // The input ends when the server closes it, or when it dies: then nobody
        // will ever rename the file, and a partial one is only litter. (A dying
        // process closes its files before its children are handed to another parent,
        // hence the second look once the file is on disk.)
        let wanted = || match orphaned(parent) {
            true => Err(io::Error::other("the server exited")),
            false => Ok(()),
        };
        wanted()?;
        f.finish()?;
        wanted()
    })();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if orphaned(parent) => {
            let _ = std::fs::remove_file(&path);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("Write error writing {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushing_behind_covers_written_parts_only() {
        let dir = std::env::temp_dir().join(format!("ferrodis-autosync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let mut f = std::fs::File::create(&path).unwrap();
        let part = vec![7u8; AUTOSYNC_BYTES as usize];
        f.write_all(&part).unwrap();
        flush_behind(&f, AUTOSYNC_BYTES).unwrap();
        f.write_all(&part).unwrap();
        flush_behind(&f, 2 * AUTOSYNC_BYTES).unwrap();
        // A negative range is refused: the offsets above were checked.
        assert!(flush_behind(&f, 0).is_err());
        drop(f);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * AUTOSYNC_BYTES);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
