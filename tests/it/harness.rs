//! Starts the real binary on a free port with a temporary --dir and gives tests raw
//! RESP and `redis` crate connections. Waits by polling with a deadline, never sleeps.
#![allow(dead_code)]
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn temp_dir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("ferrodis-it-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A numeric INFO field of `section`; panics when it is missing.
pub fn info_u64(c: &mut Raw, section: &str, field: &str) -> u64 {
    let r = String::from_utf8(c.cmd(&[b"INFO", section.as_bytes()])).unwrap();
    let line = r.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
    line.split(':').nth(1).unwrap().trim().parse().unwrap()
}

/// used_memory per item (of `n`) once `fill` has added them through one pipeline, and
/// again after DEBUG RELOAD has loaded them from a file: (built, loaded).
pub fn bytes_per_item(s: &Server, n: u64, mut fill: impl FnMut(&mut redis::Pipeline, u64)) -> (u64, u64) {
    let mut con = s.client();
    let mut c = s.raw();
    let base = info_u64(&mut c, "memory", "used_memory");
    let mut p = redis::pipe();
    for i in 0..n {
        fill(&mut p, i);
    }
    p.query::<()>(&mut con).unwrap();
    let built = (info_u64(&mut c, "memory", "used_memory") - base) / n;
    assert_eq!(c.cmd(&[b"DEBUG", b"RELOAD"]), b"+OK\r\n");
    (built, (info_u64(&mut c, "memory", "used_memory") - base) / n)
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(5));
    }
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        Self::start_program(env!("CARGO_BIN_EXE_ferrodis"), extra)
    }

    /// A real `redis-server` from PATH with the same options, for side-by-side checks.
    pub fn start_reference() -> Server {
        Self::start_program("redis-server", &["--appendonly", "no"])
    }

    fn start_program(program: &str, extra: &[&str]) -> Server {
        Self::start_program_in(program, temp_dir(), extra)
    }

    /// Starts ferrodis in an existing directory (e.g. one holding a dump.rdb to load);
    /// the directory is removed when the server is dropped.
    pub fn start_in(dir: PathBuf, extra: &[&str]) -> Server {
        Self::start_program_in(env!("CARGO_BIN_EXE_ferrodis"), dir, extra)
    }

    /// Starts a real `redis-server` in an existing directory.
    pub fn start_reference_in(dir: PathBuf, extra: &[&str]) -> Server {
        let mut args = vec!["--appendonly", "no"];
        args.extend_from_slice(extra);
        Self::start_program_in("redis-server", dir, &args)
    }

    /// Starts `program` on a free port. The port is only free when we looked: another
    /// test's server may take it first, and then ours cannot bind and exits (while a
    /// connect would reach the other one). So readiness is read from our own server's
    /// log, and a server that exited is retried on a new port.
    pub fn start_program_in(program: &str, dir: PathBuf, extra: &[&str]) -> Server {
        Self::start_env_in(program, dir, extra, &[])
    }

    /// `start_program_in` with these variables added to the server's environment.
    pub fn start_env_in(program: &str, dir: PathBuf, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_custom_in(program, dir, extra, &|c: &mut Command| {
            c.envs(env.iter().copied());
        })
    }

    /// `start_program_in` with `prep` applied to the command before it is spawned.
    pub fn start_custom_in(program: &str, dir: PathBuf, extra: &[&str], prep: &dyn Fn(&mut Command)) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let _ = std::fs::remove_file(dir.join("log"));
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--dir".into(),
                dir.display().to_string(),
                "--save".into(),
                "".into(),
                "--enable-debug-command".into(),
                "yes".into(),
                // A full resync starts at once rather than after waiting for more replicas.
                "--repl-diskless-sync-delay".into(),
                "0".into(),
                "--logfile".into(),
                dir.join("log").display().to_string(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let mut cmd = Command::new(program);
            prep(&mut cmd);
            let child = cmd
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // A server that never gets ready is not left running by the panic.
            let mut guard = KillOnDrop(Some(child));
            let log = dir.join("log");
            let ready = wait_for("server to start or exit", Duration::from_secs(20), || {
                if guard.0.as_mut()?.try_wait().unwrap().is_some() {
                    return Some(false);
                }
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                // A Sentinel, like Redis's, logs its id instead.
                (text.contains("Ready to accept connections") || text.contains("Sentinel ID is")).then_some(true)
            });
            if ready {
                let child = guard.0.take().expect("the child just polled");
                let s = Server { port, dir, child };
                wait_for("server to accept connections", Duration::from_secs(20), || {
                    TcpStream::connect(("127.0.0.1", s.port)).ok()
                });
                return s;
            }
        }
        panic!("{program} did not start on any of 5 free ports");
    }

    /// Starts ferrodis in `dir` without waiting for it to be ready: for a start that
    /// must fail (see `wait_exit` and `log`), or to talk to it while it loads.
    pub fn start_no_wait(dir: PathBuf, extra: &[&str]) -> Server {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--dir".into(),
            dir.display().to_string(),
            "--save".into(),
            "".into(),
            "--logfile".into(),
            dir.join("log").display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(env!("CARGO_BIN_EXE_ferrodis"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Server { port, dir, child }
    }

    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw { s, buf: Vec::new() }
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Waits for the process to exit by itself; returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let child = &mut self.child;
        wait_for("server exit", Duration::from_secs(20), || child.try_wait().unwrap()).code()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The pids of the server's child processes (its background writers).
    pub fn children(&self) -> Vec<u32> {
        let pid = self.pid();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Kills the process with SIGKILL (a crash: nothing is flushed) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A copy of the server's directory (its files as they are now), for another
    /// server to start in.
    pub fn copy_dir(&self) -> PathBuf {
        let to = temp_dir();
        copy_tree(&self.dir, &to);
        to
    }
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&e.path(), &dst);
        } else if e.file_name() != "log" {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows the end of each of its servers' logs (the test's
        // output is printed only when it fails).
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of the log of the server on port {} ---", self.port);
            tail.iter().rev().for_each(|l| eprintln!("{l}"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw connection: send bytes, read exactly one RESP reply back as bytes.
/// A child process killed (and reaped) when dropped, unless taken out first.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
}

/// Length of the first complete RESP value in `b`, if complete.
fn value_len(b: &[u8]) -> Option<usize> {
    let nl = b.windows(2).position(|w| w == b"\r\n")?;
    // Simple lines may hold any bytes (script errors do); lengths are ASCII.
    let head = std::str::from_utf8(&b[1..nl]).unwrap_or("");
    let after = nl + 2;
    match b[0] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (b.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = head.parse().ok()?;
            let n = if b[0] == b'%' || b[0] == b'|' { n * 2 } else { n };
            let mut pos = after;
            for _ in 0..n.max(0) {
                pos += value_len(&b[pos..])?;
            }
            Some(pos)
        }
        _ => None,
    }
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Sends a command as a multibulk request, and reads its reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_cmd(args);
        self.read()
    }

    /// Sends a command as a multibulk request.
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend(format!("${}\r\n", a.len()).bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.send(&req);
    }

    /// Reads one complete reply.
    pub fn read(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = value_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            self.fill();
        }
    }

    /// Reads exactly `n` bytes, whatever they hold (for replies that carry other
    /// messages inside them).
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    /// Appends what one read gets; the connection must still be open.
    fn fill(&mut self) {
        let mut tmp = [0u8; 65536];
        let n = self.s.read(&mut tmp).unwrap();
        assert!(
            n > 0,
            "connection closed; got so far: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        self.buf.extend_from_slice(&tmp[..n]);
    }

    /// The same connection, waiting up to `secs` for each reply (for commands whose
    /// time grows with the machine's load, such as populating and saving a big dataset).
    pub fn patient(self, secs: u64) -> Raw {
        self.s.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
        self
    }

    /// Drains whatever the server sends for a moment; true if it closed the connection.
    pub fn closed_or_idle(&mut self) -> bool {
        self.s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut tmp = [0u8; 4096];
        let closed = loop {
            match self.s.read(&mut tmp) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(_) => break false,
            }
        };
        self.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        closed
    }

    /// Everything the server sends until it closes the connection.
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        assert!(self.closed(), "the server kept the connection open");
        std::mem::take(&mut self.buf)
    }

    /// True when the server closed the connection (after any pending bytes).
    pub fn closed(&mut self) -> bool {
        let mut tmp = [0u8; 1024];
        loop {
            match self.s.read(&mut tmp) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => return false,
            }
        }
    }
}

/// Shorthand: `cmd!(raw, "SET", "a", "1")`.
#[macro_export]
macro_rules! cmd {
    ($c:expr, $($a:expr),+) => { $c.cmd(&[$(AsRef::<[u8]>::as_ref(&$a)),+]) };
}
