//! Protocol-free data structures the keyspace is built on.
pub mod dash;
pub mod histogram;
