//! Persistence: the RDB codec and file format (`rdb`), protocol-free. Imports only
//! `db`, `ds` and `util`; the server drives saving and loading.
pub mod aof;
pub mod child;
pub mod rdb;
