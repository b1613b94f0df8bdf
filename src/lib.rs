//! ferrodis: a drop-in replacement for redis-server 7.0.
//!
//! Module map (see DESIGN.md §3):
//! - `config`: directive table, redis.conf/argv parsing, CONFIG semantics.
//! - `log`, `clock`: Redis-format logging; the only readers of time.
//! - `server`: the mio reactor, clients, the dispatcher (`call`) and cron.
//! - `resp`: request parser and reply encoder (RESP2/RESP3).
//! - `cmd`: command table and one file per command family.
//! - `db`: databases (entries, expiry, lazy free); `ds`: protocol-free data structures.
//! - `util`: number parsing/formatting and glob matching.
pub mod alloc;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod crash;
pub mod db;
pub mod ds;
pub mod log;
pub mod persist;
pub mod resp;
pub mod script;
pub mod sentinel;
pub mod server;
pub mod util;

/// The Redis version we are compatible with (INFO redis_version, HELLO).
pub const REDIS_VERSION: &str = "7.0.15";
