//! Logging in Redis's line format: `pid:role dd Mon yyyy hh:mm:ss.mmm <lvl> message`,
//! lvl one of `. - * #` (debug, verbose, notice, warning). A `tracing` layer writes
//! each event to stdout or the `logfile` (opened per line, so rotation just works).
//! The level and target can change at runtime (CONFIG SET loglevel/logfile). With
//! `syslog-enabled yes`, each message also goes to syslog(3).
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::config::LogLevel;

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Notice as u8);
static FILE: Mutex<String> = Mutex::new(String::new());
static ROLE: AtomicU8 = AtomicU8::new(b'M');
static SYSLOG: AtomicBool = AtomicBool::new(false);

/// Sends every message from now on to syslog too, as `ident` with `facility` (a
/// syslog(3) facility code). Redis compat: server.c initServer (openlog).
pub fn open_syslog(ident: &str, facility: i64) {
    let Ok(ident) = std::ffi::CString::new(ident) else {
        return;
    };
    // openlog keeps the pointer: the name lives as long as the process.
    let ident: &'static std::ffi::CStr = Box::leak(ident.into_boxed_c_str());
    // SAFETY: `ident` is a NUL-terminated string that is never freed.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT,
            facility as i32,
        )
    };
    SYSLOG.store(true, Ordering::Relaxed);
}

/// Whether messages also go to syslog.
pub fn syslog_enabled() -> bool {
    SYSLOG.load(Ordering::Relaxed)
}

fn to_syslog(lvl: LogLevel, msg: &str) {
    let prio = match lvl {
        LogLevel::Debug => libc::LOG_DEBUG,
        LogLevel::Verbose => libc::LOG_INFO,
        LogLevel::Notice => libc::LOG_NOTICE,
        _ => libc::LOG_WARNING,
    };
    let Ok(text) = std::ffi::CString::new(msg.replace('\0', "\\0")) else {
        return;
    };
    // SAFETY: a constant format taking one NUL-terminated string argument.
    unsafe { libc::syslog(prio, c"%s".as_ptr(), text.as_ptr()) };
}

pub fn set_level(l: LogLevel) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

pub fn set_file(path: &str) {
    crate::crash::set_log_path(path);
    if let Ok(mut f) = FILE.lock() {
        *f = path.to_string();
    }
}

/// The role letter of log lines: M (main), C (child/background), S (replica), X (Sentinel).
pub fn set_role(c: u8) {
    ROLE.store(c, Ordering::Relaxed);
}

fn redis_level(l: &Level) -> LogLevel {
    match *l {
        Level::TRACE => LogLevel::Debug,
        Level::DEBUG => LogLevel::Verbose,
        Level::INFO => LogLevel::Notice,
        _ => LogLevel::Warning,
    }
}

/// True when a message of this level would be written.
pub fn enabled(l: LogLevel) -> bool {
    (l as u8) >= LEVEL.load(Ordering::Relaxed) && LEVEL.load(Ordering::Relaxed) != LogLevel::Nothing as u8
}

struct Msg(String);
impl Visit for Msg {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            let _ = write!(self.0, "{v:?}");
        }
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        if f.name() == "message" {
            self.0.push_str(v);
        }
    }
}

struct RedisFormat;

impl<S: Subscriber> Layer<S> for RedisFormat {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let lvl = redis_level(event.metadata().level());
        if !enabled(lvl) {
            return;
        }
        let mut m = Msg(String::new());
        event.record(&mut m);
        write_line(lvl, &m.0);
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date from days since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, (m - 1) as usize, d)
}

/// `dd Mon yyyy hh:mm:ss.mmm` in UTC.
pub fn timestamp(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    let _ = write_timestamp(&mut s, ms);
    s
}

/// `timestamp` into any writer, without allocating (the crash handler uses it).
pub fn write_timestamp(w: &mut impl std::fmt::Write, ms: i64) -> std::fmt::Result {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    write!(
        w,
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS.get(mo).unwrap_or(&"Jan"),
        y,
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms.rem_euclid(1000)
    )
}

/// The role letter of log lines now.
pub fn role() -> u8 {
    ROLE.load(Ordering::Relaxed)
}

/// Writes one formatted line (also used directly before tracing is set up).
pub fn write_line(lvl: LogLevel, msg: &str) {
    let c = match lvl {
        LogLevel::Debug => '.',
        LogLevel::Verbose => '-',
        LogLevel::Notice => '*',
        _ => '#',
    };
    let line = format!(
        "{}:{} {} {} {}\n",
        std::process::id(),
        ROLE.load(Ordering::Relaxed) as char,
        timestamp(crate::clock::now_ms()),
        c,
        msg
    );
    write_raw(&line);
    if syslog_enabled() {
        to_syslog(lvl, msg);
    }
}

/// A line as Redis's signal handlers write it: `pid:signal-handler (unix time) msg`,
/// never to syslog. Redis compat: server.c serverLogFromHandler.
pub fn write_from_handler(msg: &str) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    write_raw(&format!("{}:signal-handler ({secs}) {msg}\n", std::process::id()));
}

/// Writes text as is (the logo), to the log file or stdout.
pub fn write_raw(text: &str) {
    let path = FILE.lock().map(|f| f.clone()).unwrap_or_default();
    if path.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    } else if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = f.write_all(text.as_bytes());
    }
}

/// Installs the tracing subscriber. Safe to call more than once (later calls no-op).
pub fn init(level: LogLevel, file: &str) {
    set_level(level);
    set_file(file);
    let _ = tracing_subscriber::registry().with(RedisFormat).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_format() {
        // 2026-11-21 14:56:07.089 UTC
        assert_eq!(timestamp(1_795_272_967_089), "21 Nov 2026 14:56:07.089");
        assert_eq!(timestamp(0), "01 Jan 1970 00:00:00.000");
    }
}
