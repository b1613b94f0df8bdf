//! Crash reports and the software watchdog, written from signal handlers.
//!
//! A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) logs a bug report: the
//! signal, the faulting address or the sender, and the stack of the thread that got
//! it; then the pidfile is removed and the process dies of the same signal (so a core
//! dump is still taken where enabled). A SIGBUS from reading a mapped file that was
//! cut short while being loaded is not a crash: see `util::fs::Mapped`. The watchdog
//! (`watchdog-period`) logs the main thread's stack when one event-loop iteration
//! outlasts the period.
//!
//! Everything here runs in a signal handler: no allocation, no locks. Lines are
//! formatted into a stack buffer and written with write(2); frames come from glibc's
//! backtrace(3) and are printed by backtrace_symbols_fd(3) (binary and offset per
//! frame: `addr2line -e ferrodis <offset>` names them). Redis compat: debug.c
//! sigsegvHandler, logStackTrace, watchdogSignalHandler.
use std::ffi::{c_char, c_int, c_void, CString};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// The log file (NUL-terminated; null: stdout) and the pidfile, for the handlers.
/// Replaced strings are leaked: a handler may be reading them.
static LOG_PATH: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());
static PIDFILE: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());
/// `crash-log-enabled`: when off, a fatal signal just kills the process.
static REPORT: AtomicBool = AtomicBool::new(true);

fn store_path(slot: &AtomicPtr<c_char>, path: &str) {
    let p = match CString::new(path) {
        Ok(c) if !path.is_empty() => c.into_raw(),
        _ => std::ptr::null_mut(),
    };
    slot.store(p, Ordering::Release);
}

pub fn set_log_path(path: &str) {
    store_path(&LOG_PATH, path);
}

pub fn set_pidfile(path: &str) {
    store_path(&PIDFILE, path);
}

pub fn set_report(on: bool) {
    REPORT.store(on, Ordering::Relaxed);
}

/// One log line at a time, formatted on the stack.
struct Out {
    fd: c_int,
    buf: [u8; 1024],
    len: usize,
}

impl std::fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Out {
    fn open() -> Out {
        let path = LOG_PATH.load(Ordering::Acquire);
        let fd = if path.is_null() {
            1
        } else {
            // Safety: a NUL-terminated string that is never freed.
            let fd = unsafe { libc::open(path, libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT, 0o644) };
            if fd < 0 {
                1
            } else {
                fd
            }
        };
        Out {
            fd,
            buf: [0; 1024],
            len: 0,
        }
    }

    fn flush(&mut self) {
        let mut off = 0;
        while off < self.len {
            // Safety: writes initialized bytes of our own buffer.
            let n = unsafe { libc::write(self.fd, self.buf[off..].as_ptr().cast(), self.len - off) };
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        self.len = 0;
    }

    /// A warning line in the log's usual format.
    fn line(&mut self, args: std::fmt::Arguments) {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // Safety: clock_gettime fills the struct we own.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        let ms = ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000;
        // Safety: getpid cannot fail.
        let _ = write!(self, "{}:{} ", unsafe { libc::getpid() }, crate::log::role() as char);
        let _ = crate::log::write_timestamp(self, ms);
        let _ = write!(self, " # ");
        let _ = self.write_fmt(args);
        let _ = self.write_str("\n");
        self.flush();
    }

    fn raw(&mut self, s: &str) {
        let _ = self.write_str(s);
        self.flush();
    }

    fn close(self) {
        if self.fd != 1 {
            // Safety: a descriptor `open` opened.
            unsafe { libc::close(self.fd) };
        }
    }

    /// The stack of the thread running the handler.
    fn stack_trace(&mut self) {
        self.raw("\n------ STACK TRACE ------\n(frames are binary(+offset): `addr2line -f -C -e <binary> <offset>` names them)\n\nBacktrace:\n");
        let mut frames = [std::ptr::null_mut::<c_void>(); 100];
        // Safety: glibc fills at most `frames.len()` entries; backtrace_symbols_fd writes
        // to the descriptor without allocating.
        unsafe {
            let n = libc::backtrace(frames.as_mut_ptr(), frames.len() as c_int);
            libc::backtrace_symbols_fd(frames.as_ptr(), n, self.fd);
        }
    }
}

extern "C" fn on_fatal(sig: c_int, info: *mut libc::siginfo_t, _uc: *mut c_void) {
    // Safety: the kernel passes a valid siginfo to an SA_SIGINFO handler; si_addr is
    // set for SIGBUS.
    if sig == libc::SIGBUS && crate::util::fs::recover_mapped_fault(unsafe { (*info).si_addr() } as usize) {
        // A file being loaded was cut short under its mapping: the read goes on with
        // zeros and the loader reports the file as short. SA_RESETHAND took the
        // handler down on entry; put it back.
        install(sig, on_fatal, FATAL_FLAGS);
        return;
    }
    if REPORT.load(Ordering::Relaxed) {
        let mut o = Out::open();
        o.raw("\n\n=== ferrodis BUG REPORT START: Cut & paste starting from here ===\n");
        // Safety: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let info = unsafe { &*info };
        o.line(format_args!(
            "ferrodis {} crashed by signal: {}, si_code: {}",
            env!("CARGO_PKG_VERSION"),
            sig,
            info.si_code
        ));
        if sig == libc::SIGSEGV || sig == libc::SIGBUS {
            // Safety: si_addr is set for these signals.
            o.line(format_args!("Accessing address: {:p}", unsafe { info.si_addr() }));
        }
        if info.si_code == libc::SI_USER || info.si_code == libc::SI_TKILL {
            // Safety: a signal sent by kill(2)/tgkill(2) carries the sender.
            let (pid, uid) = unsafe { (info.si_pid(), info.si_uid()) };
            o.line(format_args!("Killed by PID: {pid}, UID: {uid}"));
        }
        o.stack_trace();
        o.raw("\n=== ferrodis BUG REPORT END. Make sure to include from START to END. ===\n\n");
        o.close();
    }
    let pidfile = PIDFILE.load(Ordering::Acquire);
    // Safety: unlink of a NUL-terminated path; then the default action for `sig`
    // (SA_RESETHAND restored it) ends the process as the signal would have.
    unsafe {
        if !pidfile.is_null() {
            libc::unlink(pidfile);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

extern "C" fn on_watchdog(_sig: c_int, _info: *mut libc::siginfo_t, _uc: *mut c_void) {
    let mut o = Out::open();
    o.line(format_args!("\n--- WATCHDOG TIMER EXPIRED ---"));
    o.stack_trace();
    o.line(format_args!("--------\n"));
    o.close();
}

fn install(sig: c_int, handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void), flags: c_int) {
    // Safety: a zeroed sigaction with our handler; the handlers only make
    // async-signal-safe calls.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as usize;
        sa.sa_flags = libc::SA_SIGINFO | flags;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

const FATAL_FLAGS: c_int = libc::SA_NODEFER | libc::SA_RESETHAND | libc::SA_ONSTACK;

/// Installs the crash handlers (once, at startup).
pub fn init() {
    // glibc loads its unwinder on the first backtrace(3): do it now, not in a handler.
    let mut frames = [std::ptr::null_mut::<c_void>(); 4];
    // Safety: fills at most 4 entries.
    unsafe { libc::backtrace(frames.as_mut_ptr(), 4) };
    for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGABRT] {
        install(sig, on_fatal, FATAL_FLAGS);
    }
}

/// The watchdog's timer (valid once `TIMER_MADE`) and the period it was armed with.
static TIMER: AtomicUsize = AtomicUsize::new(0);
static TIMER_MADE: AtomicBool = AtomicBool::new(false);
static ARMED_MS: AtomicI32 = AtomicI32::new(0);

/// Cron: (re)arms the watchdog to fire in `period_ms` unless armed again before;
/// 0 disarms it. The signal goes to the calling thread (the event loop).
pub fn watchdog(period_ms: i32) {
    if period_ms <= 0 {
        if ARMED_MS.swap(0, Ordering::Relaxed) != 0 {
            set_timer(0);
        }
        return;
    }
    if !TIMER_MADE.load(Ordering::Relaxed) {
        install(libc::SIGALRM, on_watchdog, libc::SA_RESTART | libc::SA_ONSTACK);
        // Safety: timer_create with a zeroed sigevent naming this thread; the id is
        // kept for the life of the process.
        unsafe {
            let mut sev: libc::sigevent = std::mem::zeroed();
            sev.sigev_notify = libc::SIGEV_THREAD_ID;
            sev.sigev_signo = libc::SIGALRM;
            sev.sigev_notify_thread_id = libc::gettid();
            let mut id: libc::timer_t = std::ptr::null_mut();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut id) != 0 {
                return;
            }
            TIMER.store(id as usize, Ordering::Relaxed);
            TIMER_MADE.store(true, Ordering::Relaxed);
        }
        tracing::warn!(
            "Watchdog is enabled: the stack is logged when one event loop iteration lasts over {period_ms} ms."
        );
    }
    ARMED_MS.store(period_ms, Ordering::Relaxed);
    set_timer(period_ms);
}

fn set_timer(ms: i32) {
    if !TIMER_MADE.load(Ordering::Relaxed) {
        return;
    }
    let id = TIMER.load(Ordering::Relaxed);
    let it = libc::itimerspec {
        it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
        it_value: libc::timespec {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_nsec: ((ms % 1000) as libc::c_long) * 1_000_000,
        },
    };
    // Safety: a timer this module created.
    unsafe { libc::timer_settime(id as libc::timer_t, 0, &it, std::ptr::null_mut()) };
}

/// DEBUG SEGFAULT: a real invalid write (to a read-only page), so the crash report
/// shows what a memory fault looks like.
pub fn segfault() -> ! {
    // Safety: deliberately faults; if the mapping fails, SIGSEGV is raised instead.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p != libc::MAP_FAILED {
            std::ptr::write_volatile(p.cast::<u8>(), b'x');
        }
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort()
}
