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
    pub fn spawn(path: &Path) -> io::Result<ChildWriter> {
        let mut child = writer_command(path)?
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
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

/// The child's side: stdin to `path`, then fsync. Exit status 0 only when all of it
/// reached the disk.
pub fn run(path: &str, oom_score: Option<&str>) -> ExitCode {
    if let Some(v) = oom_score.and_then(|v| v.parse::<i32>().ok()) {
        crate::server::oom::write_own(v);
    }
    let path = resolve(Path::new(path), std::process::id());
    let res = (|| -> io::Result<()> {
        let mut f = std::fs::File::create(&path)?;
        let mut input = io::stdin().lock();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            f.write_all(buf.get(..n).unwrap_or_default())?;
        }
        f.sync_all()
    })();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Write error writing {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}
