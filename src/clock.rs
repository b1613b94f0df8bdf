//! The only reader of time. Wall-clock (unix) time in ms/us for TTLs and INFO, and a
//! monotonic microsecond clock for durations (latency, budgets, timeouts).
use std::sync::OnceLock;

/// Unix time in milliseconds.
#[inline]
pub fn now_ms() -> i64 {
    (now_us() / 1000) as i64
}

/// Unix time in microseconds. Read for every command (twice: its time and its
/// duration), so where the kernel itself keeps time with the CPU's invariant time
/// stamp counter, this is the counter scaled against CLOCK_REALTIME (about half the
/// cost of the vDSO call on the machines measured); see `tsc`.
#[inline]
pub fn now_us() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(us) = tsc::wall_us() {
        return us;
    }
    realtime_us()
}

fn realtime_us() -> u64 {
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

/// Wall-clock time from the time stamp counter. A reading is the counter's ticks since
/// a base (a counter value paired with CLOCK_REALTIME) times the tick length; the base
/// is re-taken from the real clock at least every [`tsc::REBASE_US`], so a clock step
/// (settimeofday, NTP) shows within that time, and the tick length is measured
/// against CLOCK_MONOTONIC between bases, so it follows NTP's slewing. Used only when
/// the kernel's own clocksource is `tsc` (the kernel then vouches that the counter is
/// invariant and synchronised across CPUs); a counter found below its base (reset
/// by a suspend) makes a new base at once.
#[cfg(target_arch = "x86_64")]
mod tsc {
    use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering};
    use std::sync::{Mutex, Once};

    /// How long a base is used before the real clock is read again.
    pub const REBASE_US: u64 = 50_000;

    /// 0: not yet decided, 1: in use, 2: not usable here.
    static STATE: AtomicU8 = AtomicU8::new(0);
    /// Seqlock over the base: odd while a writer updates it.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    static BASE_TICKS: AtomicU64 = AtomicU64::new(0);
    static BASE_US: AtomicU64 = AtomicU64::new(0);
    /// Microseconds per tick (f64 bits).
    static US_PER_TICK: AtomicU64 = AtomicU64::new(0);
    /// Ticks after the base when it is due to be re-taken.
    static REBASE_TICKS: AtomicU64 = AtomicU64::new(0);
    /// The (counter, CLOCK_MONOTONIC ns) pair the next tick length is measured from.
    static ANCHOR: Mutex<Option<(u64, u64)>> = Mutex::new(None);

    #[inline]
    fn ticks() -> u64 {
        // Safety: RDTSC has no memory effects; x86_64 always has it.
        unsafe { std::arch::x86_64::_rdtsc() }
    }

    fn mono_ns() -> u64 {
        let ts = super::read(libc::CLOCK_MONOTONIC);
        ts.tv_sec.max(0) as u64 * 1_000_000_000 + ts.tv_nsec.max(0) as u64
    }

    /// A counter value and CLOCK_MONOTONIC read together: the clock read bracketed by
    /// two counter reads, the tightest bracket of a few tries.
    fn pair() -> (u64, u64) {
        let mut best = (0, 0, u64::MAX);
        for _ in 0..8 {
            let a = ticks();
            let m = mono_ns();
            let b = ticks();
            let width = b.wrapping_sub(a);
            if width < best.2 {
                best = (a + width / 2, m, width);
            }
        }
        (best.0, best.1)
    }

    fn usable() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|s| s.trim() == "tsc")
    }

    /// Takes a new base (a counter value and CLOCK_REALTIME) and, when at least
    /// 10 ms passed since the last measure, a new tick length, measured against
    /// CLOCK_MONOTONIC over that interval (so it follows NTP's slewing, which both
    /// clocks share). With `first`, measures over a millisecond to start with. A
    /// counter that went back (a suspend that reset it) restarts the measure.
    fn rebase(first: bool) {
        let Ok(mut anchor) = ANCHOR.try_lock() else {
            return;
        };
        // About once a second, check the kernel still trusts the counter (its
        // watchdog switches clocksource when it finds it unstable).
        static REBASES: AtomicU64 = AtomicU64::new(0);
        if !first && REBASES.fetch_add(1, Ordering::Relaxed) % (1_000_000 / REBASE_US) == 0 && !usable() {
            STATE.store(2, Ordering::Relaxed);
            return;
        }
        let (mut t, mut m) = pair();
        let (t0, m0) = match *anchor {
            Some((t0, m0)) if t > t0 && m > m0 => (t0, m0),
            _ => {
                *anchor = Some((t, m));
                (t, m)
            }
        };
        if first {
            while m.saturating_sub(m0) < 1_000_000 {
                std::hint::spin_loop();
                (t, m) = pair();
            }
        }
        let mut us_per_tick = f64::from_bits(US_PER_TICK.load(Ordering::Relaxed));
        if t > t0 && (first || m.saturating_sub(m0) >= 10_000_000) {
            us_per_tick = (m - m0) as f64 / 1000.0 / (t - t0) as f64;
            *anchor = Some((t, m));
        }
        if !(us_per_tick > 0.0 && us_per_tick.is_finite()) {
            return;
        }
        let wall = super::realtime_us();
        let t = ticks();
        SEQ.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        BASE_TICKS.store(t, Ordering::Relaxed);
        BASE_US.store(wall, Ordering::Relaxed);
        US_PER_TICK.store(us_per_tick.to_bits(), Ordering::Relaxed);
        REBASE_TICKS.store((REBASE_US as f64 / us_per_tick) as u64, Ordering::Relaxed);
        SEQ.fetch_add(1, Ordering::Release);
    }

    /// Unix microseconds, or None where the counter is not used.
    #[inline]
    pub fn wall_us() -> Option<u64> {
        if STATE.load(Ordering::Relaxed) != 1 {
            // The first caller measures (1 ms); callers meanwhile wait for it.
            static INIT: Once = Once::new();
            INIT.call_once(|| {
                if usable() {
                    rebase(true);
                }
                let on = SEQ.load(Ordering::Acquire) != 0;
                STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            });
            if STATE.load(Ordering::Relaxed) != 1 {
                return None;
            }
        }
        // A writer holds the seqlock for a few stores; a reader that keeps finding
        // it taken (a fork that copied it mid-update) reads the real clock instead.
        for _ in 0..64 {
            let s = SEQ.load(Ordering::Acquire);
            let base = BASE_TICKS.load(Ordering::Relaxed);
            let base_us = BASE_US.load(Ordering::Relaxed);
            let rate = f64::from_bits(US_PER_TICK.load(Ordering::Relaxed));
            let due = REBASE_TICKS.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if s & 1 == 1 || SEQ.load(Ordering::Relaxed) != s {
                std::hint::spin_loop();
                continue;
            }
            let now = ticks();
            if now < base || now - base > due {
                rebase(false);
                // Another thread may hold the lock: the real clock is right in any case.
                return Some(super::realtime_us());
            }
            return Some(base_us + ((now - base) as f64 * rate) as u64);
        }
        Some(super::realtime_us())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_us_follows_the_real_clock() {
        // Over a quarter second (several rebases), every reading stays within a
        // millisecond of CLOCK_REALTIME read right around it, and time never goes
        // back by more than that.
        let end = mono_us() + 250_000;
        let mut last = 0;
        let mut n = 0u64;
        while mono_us() < end {
            let before = realtime_us();
            let t = now_us();
            let after = realtime_us();
            assert!(t + 1000 >= before && t <= after + 1000, "{before} {t} {after}");
            assert!(t + 1000 >= last, "went back from {last} to {t}");
            last = t;
            n += 1;
        }
        assert!(n > 1000);
    }
}
