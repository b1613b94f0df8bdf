//! The only reader of time. Wall-clock (unix) time in ms/us for TTLs and INFO, and a
//! monotonic microsecond clock for durations (latency, budgets, timeouts).
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds.
#[inline]
pub fn now_ms() -> i64 {
    (now_us() / 1000) as i64
}

/// Unix time in microseconds.
#[inline]
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn origin() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

/// Microseconds on a monotonic clock since the process started.
#[inline]
pub fn mono_us() -> u64 {
    origin().elapsed().as_micros() as u64
}

/// CPU time consumed by the calling thread, in microseconds (tells a slow stretch of
/// work apart from time the thread spent descheduled).
pub fn thread_cpu_us() -> u64 {
    // Safety: clock_gettime fills the timespec we pass.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}
