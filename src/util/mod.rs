//! Protocol-free helpers shared by every layer: Redis-exact number parsing/formatting and
//! glob matching. Imports nothing else from the crate.

pub mod bits;
pub mod crc64;
pub mod fs;
pub mod geohash;
pub mod glob;
pub mod ld;
pub mod lzf;
pub mod mem;
pub mod net;
pub mod num;
pub mod pqsort;
pub mod proctitle;
pub mod repr;
pub mod slot;
pub mod supervise;

/// An OS error the way strerror(3) says it (the text Redis logs), without Rust's
/// "(os error N)" suffix.
pub fn os_err(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or_default().to_string(),
        None => s,
    }
}

/// The bytes C code sees of `b`: those before its first NUL.
#[must_use]
pub fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(end) => &b[..end],
        None => b,
    }
}

/// The delay of the `key-load-delay` test hook, per key loaded: a positive
/// value sleeps that many microseconds; a negative one -N sleeps one microsecond
/// once in N calls, on average (a fraction of a microsecond each).
/// Redis compat: debug.c debugDelay.
pub fn debug_delay(usec: i64) {
    let us = if usec < 0 {
        u64::from(rand::random::<u64>() % usec.unsigned_abs() == 0)
    } else {
        usec as u64
    };
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
}
