//! RESP wire protocol: the incremental request parser (`parse`) and the reply
//! encoder (`write`). Protocol-free of the rest of the server: imports only `util`.
pub mod parse;
pub mod write;

pub use parse::{Parsed, Parser, ProtocolError};
pub use write::ReplyBuf;
