//! Running under a service manager (`supervised`): systemd units of `Type=notify`
//! wait for `READY=1` on `$NOTIFY_SOCKET` before they count the service as started
//! (the stock Debian/Ubuntu unit runs the server with `--supervised systemd`), and
//! show the `STATUS=` lines in `systemctl status`; upstart waits for the process to
//! stop itself. A supervised server never daemonizes. Redis compat: server.c
//! redisIsSupervised, redisCommunicateSystemd.
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    No = 0,
    Upstart = 1,
    Systemd = 2,
}

/// The supervision in effect, once `setup` found it.
static MODE: AtomicU8 = AtomicU8::new(Mode::No as u8);

pub fn mode() -> Mode {
    match MODE.load(Ordering::Relaxed) {
        1 => Mode::Upstart,
        2 => Mode::Systemd,
        _ => Mode::No,
    }
}

/// INFO `process_supervised`.
pub fn info_name() -> &'static str {
    match mode() {
        Mode::No => "no",
        Mode::Upstart => "upstart",
        Mode::Systemd => "systemd",
    }
}

/// A log line `setup` could not write yet (it runs before logging starts, because
/// whether to daemonize depends on it): (is a warning, text).
pub type Pending = (bool, String);

/// Sets up the supervision `supervised` asks for (`auto`: upstart if `$UPSTART_JOB`
/// is set, else systemd if `$NOTIFY_SOCKET` is). Upstart: the process stops itself
/// (SIGSTOP) to say it is up. Systemd: a first status is sent; if it cannot be, the
/// server runs unsupervised. Returns whether it is supervised, and the lines to log.
pub fn setup(supervised: &str) -> (bool, Vec<Pending>) {
    let mut log = Vec::new();
    let wanted = match supervised {
        "upstart" => Mode::Upstart,
        "systemd" => Mode::Systemd,
        "auto" if std::env::var_os("UPSTART_JOB").is_some() => Mode::Upstart,
        "auto" if std::env::var_os("NOTIFY_SOCKET").is_some() => Mode::Systemd,
        _ => Mode::No,
    };
    let ok = match wanted {
        Mode::No => false,
        Mode::Upstart if std::env::var_os("UPSTART_JOB").is_none() => {
            log.push((
                true,
                "upstart supervision requested, but UPSTART_JOB not found!".to_owned(),
            ));
            false
        }
        Mode::Upstart => {
            log.push((
                false,
                "supervised by upstart, will stop to signal readiness.".to_owned(),
            ));
            // Safety: raise(3) on our own process; upstart resumes it.
            unsafe { libc::raise(libc::SIGSTOP) };
            // No other thread exists yet to read the environment.
            std::env::remove_var("UPSTART_JOB");
            true
        }
        Mode::Systemd => match send("STATUS=ferrodis is loading...\n") {
            Ok(()) => {
                log.push((
                    false,
                    "Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.".to_owned(),
                ));
                true
            }
            Err(e) => {
                log.push((true, e));
                false
            }
        },
    };
    if ok {
        MODE.store(wanted as u8, Ordering::Relaxed);
    }
    (ok, log)
}

/// Sends one `sd_notify` message (`READY=1\n`, `STATUS=...\n`, `STOPPING=1\n`) when
/// supervised by systemd; a failure is logged, never fatal.
pub fn notify(msg: &str) {
    if mode() != Mode::Systemd {
        return;
    }
    if let Err(e) = send(msg) {
        tracing::warn!("{e}");
    }
}

/// One datagram to `$NOTIFY_SOCKET`: a path, or `@name` for an abstract socket.
fn send(msg: &str) -> Result<(), String> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Err("systemd supervision error: NOTIFY_SOCKET not found!".to_owned());
    };
    let err = |e: std::io::Error| format!("systemd supervision error: sd_notify: {e}");
    let sock = UnixDatagram::unbound().map_err(err)?;
    let addr = match target.as_bytes().strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(&target),
    }
    .map_err(err)?;
    sock.send_to_addr(msg.as_bytes(), &addr).map(|_| ()).map_err(err)
}

/// True when a seccomp filter is on this process (`Seccomp: 2` in /proc/self/status),
/// as systemd's `SystemCallFilter=` sets one: the stock Debian/Ubuntu unit kills the
/// service on any call of `@resources` (setpriority, sched_setaffinity, ...), so
/// optional tuning calls of that kind are skipped then. (glibc's getrlimit and
/// setrlimit go through prlimit64, which such filters leave alone.)
pub fn syscalls_filtered() -> bool {
    static FILTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FILTERED.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Seccomp:"))
                .is_some_and(|v| v.trim() != "0")
        })
    })
}
