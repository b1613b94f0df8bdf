//! The integration suite: every file starts the real ferrodis binary on a free port
//! and talks to it over TCP, with raw RESP bytes and with the `redis` crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod harness;

mod acl;
mod aof;
mod bitmaps;
mod cluster;
mod hashes;
mod hll_geo;
mod interop;
mod keyspace;
mod lists;
mod memory;
mod persist;
mod protocol;
mod pubsub;
mod replication;
mod scripting;
mod sentinel;
mod server;
mod sets;
mod sort;
mod streams;
mod strings;
mod tls;
mod tracking;
mod zsets;
