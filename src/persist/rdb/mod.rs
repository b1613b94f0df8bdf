//! RDB version 10, as Redis 7.0 writes and reads it: primitives (`prim`), Redis's compact
//! blobs (`blob`), values (`value`: also the body of DUMP payloads) and whole files
//! (`file`). Every input is untrusted: errors, never panics or garbage.
pub mod blob;
pub mod file;
pub mod prim;
pub mod stream;
pub mod value;

use std::fmt;

/// Redis compat: rdb.h RDB_VERSION (7.0).
pub const RDB_VERSION: u16 = 10;

/// Value types. Redis compat: rdb.h RDB_TYPE_*.
pub mod ty {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// File opcodes. Redis compat: rdb.h RDB_OPCODE_*.
pub mod op {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

#[derive(Debug)]
pub enum RdbError {
    /// The input ended inside a value.
    Short,
    /// Structurally wrong input (the text says what).
    Corrupt(String),
    /// Valid Redis data we do not implement yet (streams, modules, functions).
    Unsupported(String),
    Io(std::io::Error),
}

impl RdbError {
    pub fn corrupt(s: impl Into<String>) -> Self {
        RdbError::Corrupt(s.into())
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbError::Short => write!(f, "Unexpected EOF reading RDB file"),
            RdbError::Corrupt(s) | RdbError::Unsupported(s) => write!(f, "{s}"),
            RdbError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl RdbError {
    /// The log line Redis writes for this failure. Redis compat: rdb.c rdbReportError,
    /// rdbReportReadError.
    pub fn log_line(&self, offset: usize) -> String {
        match self {
            RdbError::Short => "Short read or OOM loading DB. Unrecoverable error, aborting now.".into(),
            RdbError::Corrupt(r) => {
                format!("Internal error in RDB reading offset {offset}, function at rdb.c:0 -> {r}")
            }
            RdbError::Unsupported(r) => r.clone(),
            RdbError::Io(e) => format!("Fatal error loading the DB: {e}. Exiting."),
        }
    }
}

impl From<std::io::Error> for RdbError {
    fn from(e: std::io::Error) -> Self {
        RdbError::Io(e)
    }
}
