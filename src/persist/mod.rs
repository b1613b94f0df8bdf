//! Persistence: the RDB codec and file format (`rdb`) and the fork-less background
//! snapshot (`snapshot`), protocol-free. Imports only `db`, `ds` and `util`; the server
//! drives saving and loading.
pub mod rdb;
pub mod snapshot;
