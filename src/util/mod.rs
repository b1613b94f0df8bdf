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
