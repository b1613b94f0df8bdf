//! Persistence, protocol-free: the RDB codec and file format (`rdb`), the fork-less
//! background snapshot (`snapshot`), the multi-part AOF format (`aof`) and the writer
//! child process (`child`). Imports only `db`, `ds` and `util`; the server drives
//! saving and loading.
pub mod aof;
pub mod child;
pub mod rdb;
pub mod snapshot;
