//! Protocol-free data structures the keyspace is built on.
pub mod dash;
pub mod defrag;
pub mod dict;
pub mod histogram;
pub mod hll;
pub mod intset;
pub mod listpack;
pub mod quicklist;
pub mod stream;
pub mod ztree;
