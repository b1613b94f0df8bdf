//! CmdError: every error reply text a handler can produce lives here, as Redis 7.0
//! words them. Handlers return `Err(CmdError)`; the dispatcher writes it.
use std::borrow::Cow;

/// The text is bytes: Redis formats a client's bytes into some errors as they are
/// (an unknown command's name), and they need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, [u8]>);

pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    /// An error with its full text (including the code, e.g. "ERR ...").
    pub const fn new(s: &'static str) -> Self {
        CmdError(Cow::Borrowed(s.as_bytes()))
    }

    /// `ERR <text>`.
    pub fn err(s: impl Into<String>) -> Self {
        CmdError(Cow::Owned(format!("ERR {}", s.into()).into_bytes()))
    }

    pub fn owned(s: String) -> Self {
        CmdError(Cow::Owned(s.into_bytes()))
    }

    /// `<before><arg><after>`, the client's `arg` cut as C's `%.<max>s` prints it.
    pub fn quoting(before: &str, arg: &[u8], max: usize, after: &str) -> Self {
        CmdError(Cow::Owned(
            [before.as_bytes(), c_str(arg, max), after.as_bytes()].concat(),
        ))
    }

    /// The full text as the reply carries it.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text for a log line or a message built around it.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

/// A client's bytes as C's `%.<max>s` prints them: up to a NUL, at most `max` bytes.
/// Redis compat: the sdscatprintf/addReplyErrorFormat calls that quote arguments.
pub fn c_str(b: &[u8], max: usize) -> &[u8] {
    let end = b.iter().take(max).position(|&c| c == 0).unwrap_or(b.len().min(max));
    b.get(..end).unwrap_or_default()
}

pub const WRONGTYPE: CmdError = CmdError::new("WRONGTYPE Operation against a key holding the wrong kind of value");
pub const NOT_INT: CmdError = CmdError::new("ERR value is not an integer or out of range");
pub const NOT_FLOAT: CmdError = CmdError::new("ERR value is not a valid float");
pub const SYNTAX: CmdError = CmdError::new("ERR syntax error");
pub const NO_SUCH_KEY: CmdError = CmdError::new("ERR no such key");
pub const OVERFLOW: CmdError = CmdError::new("ERR increment or decrement would overflow");
pub const INCR_NAN: CmdError = CmdError::new("ERR increment would produce NaN or Infinity");
pub const DB_INDEX: CmdError = CmdError::new("ERR DB index is out of range");
pub const SAME_OBJECT: CmdError = CmdError::new("ERR source and destination objects are the same");
pub const STRING_TOO_LONG: CmdError = CmdError::new("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
pub const OFFSET_RANGE: CmdError = CmdError::new("ERR offset is out of range");
pub const INVALID_EXPIRE: &str = "invalid expire time in";
pub const NOT_POSITIVE: CmdError = CmdError::new("ERR value is out of range, must be positive");
pub const NOAUTH: CmdError = CmdError::new("NOAUTH Authentication required.");
pub const WRONGPASS: CmdError = CmdError::new("WRONGPASS invalid username-password pair or user is disabled.");
pub const NO_PASSWORD: CmdError = CmdError::new("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
pub const CLIENT_NOT_FOUND: CmdError = CmdError::new("ERR No such client");
pub const NOPROTO: CmdError = CmdError::new("NOPROTO unsupported protocol version");
pub const DANGEROUS_NAME: CmdError =
    CmdError::new("ERR Client names cannot contain spaces, newlines or special characters.");
pub const OOM: CmdError = CmdError::new("OOM command not allowed when used memory > 'maxmemory'.");
pub const NUMKEYS: CmdError = CmdError::new("ERR numkeys should be greater than 0");
pub const COUNT_POSITIVE: CmdError = CmdError::new("ERR count should be greater than 0");
pub const TIMEOUT_NEG: CmdError = CmdError::new("ERR timeout is negative");
pub const TIMEOUT_INVALID: CmdError = CmdError::new("ERR timeout is not an integer or out of range");

/// `ERR wrong number of arguments for '<name>' command`.
pub fn arity(name: &str) -> CmdError {
    CmdError::owned(format!("ERR wrong number of arguments for '{name}' command"))
}

pub fn invalid_expire(cmd: &str) -> CmdError {
    CmdError::owned(format!("ERR {INVALID_EXPIRE} '{cmd}' command"))
}

/// Redis compat: networking.c addReplySubcommandSyntaxError.
pub fn subcommand_syntax(sub: &[u8], container: &str) -> CmdError {
    let after = format!("'. Try {} HELP.", container.to_ascii_uppercase());
    CmdError::quoting(
        "ERR unknown subcommand or wrong number of arguments for '",
        sub,
        128,
        &after,
    )
}

pub fn unknown_subcommand(sub: &[u8], container: &str) -> CmdError {
    let after = format!("'. Try {} HELP.", container.to_ascii_uppercase());
    CmdError::quoting("ERR unknown subcommand '", sub, 128, &after)
}

// Persistence (SAVE, BGSAVE, DUMP, RESTORE, DEBUG RELOAD). Redis compat: rdb.c, cluster.c.
pub const BGSAVE_RUNNING: CmdError = CmdError::new("ERR Background save already in progress");
pub const GENERIC_ERR: CmdError = CmdError::new("ERR");
pub const BUSYKEY: CmdError = CmdError::new("BUSYKEY Target key name already exists.");
pub const DUMP_PAYLOAD: CmdError = CmdError::new("ERR DUMP payload version or checksum are wrong");
pub const BAD_DATA: CmdError = CmdError::new("ERR Bad data format");
pub const BAD_TTL: CmdError = CmdError::new("ERR Invalid TTL value, must be >= 0");
pub const BAD_IDLETIME: CmdError = CmdError::new("ERR Invalid IDLETIME value, must be >= 0");
pub const BAD_FREQ: CmdError = CmdError::new("ERR Invalid FREQ value, must be >= 0 and <= 255");
pub const RELOAD_OPTS: CmdError =
    CmdError::new("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
pub const RELOAD_LOAD: CmdError = CmdError::new("ERR Error trying to load the RDB dump");
pub const MISCONF: CmdError = CmdError::new("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.");
