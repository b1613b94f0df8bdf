//! The only reader of time. Wall-clock (unix) time in ms/us for TTLs and INFO, and a
//! monotonic microsecond clock for durations (latency, budgets, timeouts).
use std::sync::OnceLock;

/// Unix time in milliseconds.
#[inline]
pub fn now_ms() -> i64 {
    (now_us() / 1000) as i64
}

/// Unix time in microseconds.
#[inline]
pub fn now_us() -> u64 {
    micros(read(libc::CLOCK_REALTIME))
}

#[inline]
fn micros(ts: libc::timespec) -> u64 {
    ts.tv_sec.max(0) as u64 * 1_000_000 + ts.tv_nsec.max(0) as u64 / 1000
}

/// One clock_gettime (a vDSO call for these clocks), without the checked arithmetic of
/// SystemTime/Instant: time is read for every command.
#[inline]
fn read(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // Safety: clock_gettime fills the timespec we pass; these clocks always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}

fn raw_mono_us() -> u64 {
    micros(read(libc::CLOCK_MONOTONIC))
}

fn origin() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(raw_mono_us)
}

/// Microseconds on a monotonic clock since the process started.
#[inline]
pub fn mono_us() -> u64 {
    raw_mono_us().saturating_sub(origin())
}

/// CPU time consumed by the calling thread, in microseconds (tells a slow stretch of
/// work apart from time the thread spent descheduled).
pub fn thread_cpu_us() -> u64 {
    micros(read(libc::CLOCK_THREAD_CPUTIME_ID))
}
