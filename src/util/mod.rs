//! Protocol-free helpers shared by every layer: Redis-exact number parsing/formatting and
//! glob matching. Imports nothing else from the crate.

pub mod bits;
pub mod crc64;
pub mod geohash;
pub mod glob;
pub mod ld;
pub mod lzf;
pub mod mem;
pub mod num;
pub mod repr;
