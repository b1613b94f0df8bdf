//! The static catalogue of every directive redis-server 7.0 accepts in redis.conf, on the
//! command line or through CONFIG: name, deprecated alias, value kind, the default exactly as
//! CONFIG GET prints it, and behaviour flags. Sorted by name (tests enforce it) so lookups
//! can binary-search. Facts re-derived from Redis 7.0.15 `src/config.c` and a live server.

use super::{Directive, Kind, DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED, SENSITIVE, STARTUP_ONLY};

// Bounds of the C integer types Redis stores some settings in.
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;

// Word lists. The numbers are Redis's internal codes for each word. Where two words share a
// code (oom-score-adj yes/relative) the earlier one is the name CONFIG GET reports, so order
// matters. Redis compat: src/config.c (the configEnum tables) and src/server.h.

const ACL_PUBSUB_DEFAULT: &[(&str, i64)] = &[("allchannels", 8), ("resetchannels", 0)];

const APPENDFSYNC: &[(&str, i64)] = &[("everysec", 2), ("always", 1), ("no", 0)];

const ENDPOINT_TYPE: &[(&str, i64)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];

const LOGLEVEL: &[(&str, i64)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];

// Low bits: 1 = approximated LRU, 2 = LFU, 4 = any key (not only keys with a TTL);
// the byte above them tells the policies apart.
const MAXMEMORY_POLICY: &[(&str, i64)] = &[
    ("volatile-lru", 1),
    ("volatile-lfu", 258),
    ("volatile-random", 768),
    ("volatile-ttl", 512),
    ("allkeys-lru", 1029),
    ("allkeys-lfu", 1286),
    ("allkeys-random", 1540),
    ("noeviction", 1792),
];

const OOM_SCORE_ADJ: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];

const PROPAGATION_ERROR: &[(&str, i64)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

// Shared by enable-protected-configs, enable-debug-command and enable-module-command.
const PROTECTED_ACTION: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("local", 2)];

const DISKLESS_LOAD: &[(&str, i64)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];

const SANITIZE_PAYLOAD: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("clients", 2)];

// Bit flags; "default" (0) means no flag. Redis also refuses save together with nosave.
const SHUTDOWN_ON_SIGNAL: &[(&str, i64)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];

const SUPERVISED: &[(&str, i64)] = &[("upstart", 3), ("systemd", 2), ("auto", 1), ("no", 0)];

// Values are the syslog(3) facility codes on Linux.
const SYSLOG_FACILITY: &[(&str, i64)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];

const TLS_AUTH_CLIENTS: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("optional", 2)];

/// Every directive, sorted by name (byte order).
///
/// Notes for the parser in `mod.rs`:
/// - Aliases are older spellings (slave*, *ziplist*, lua-time-limit); CONFIG GET `*` lists
///   them too, each with its target's value.
/// - STARTUP_ONLY entries are not settings at all: they act while the file is read and are
///   unknown to CONFIG. The three retired 6.x names take exactly one word and are ignored.
/// - A MULTI_ARG setting given as one non-empty word is split on spaces first (so
///   `--save "900 1"` works); STARTUP_ONLY directives take their words as given.
/// - `tls-*` exist only in Redis builds with TLS (the Debian/Ubuntu packages have it).
/// - Lines holding a `.` in the name are module settings and never reach this table.
#[rustfmt::skip]
pub static DIRECTIVES: &[Directive] = &[
    Directive { name: "acl-pubsub-default", alias: None, kind: Kind::Enum(ACL_PUBSUB_DEFAULT), default: "resetchannels", flags: 0 },
    Directive { name: "aclfile", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "acllog-max-len", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "128", flags: 0 },
    Directive { name: "active-defrag-cycle-max", alias: None, kind: Kind::Int { min: 1, max: 99 }, default: "25", flags: 0 },
    Directive { name: "active-defrag-cycle-min", alias: None, kind: Kind::Int { min: 1, max: 99 }, default: "1", flags: 0 },
    Directive { name: "active-defrag-ignore-bytes", alias: None, kind: Kind::Mem { min: 1, max: i64::MAX }, default: "104857600", flags: 0 },
    Directive { name: "active-defrag-max-scan-fields", alias: None, kind: Kind::Int { min: 1, max: i64::MAX }, default: "1000", flags: 0 },
    Directive { name: "active-defrag-threshold-lower", alias: None, kind: Kind::Int { min: 0, max: 1000 }, default: "10", flags: 0 },
    Directive { name: "active-defrag-threshold-upper", alias: None, kind: Kind::Int { min: 0, max: 1000 }, default: "100", flags: 0 },
    Directive { name: "active-expire-effort", alias: None, kind: Kind::Int { min: 1, max: 10 }, default: "1", flags: 0 },
    Directive { name: "activedefrag", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "activerehashing", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "always-show-logo", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Directive { name: "aof-disable-auto-gc", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "aof-load-truncated", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "aof-rewrite-incremental-fsync", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "aof-timestamp-enabled", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "aof-use-rdb-preamble", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "aof_rewrite_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "appenddirname", alias: None, kind: Kind::Str, default: "appendonlydir", flags: IMMUTABLE },
    Directive { name: "appendfilename", alias: None, kind: Kind::Str, default: "appendonly.aof", flags: IMMUTABLE },
    Directive { name: "appendfsync", alias: None, kind: Kind::Enum(APPENDFSYNC), default: "everysec", flags: 0 },
    Directive { name: "appendonly", alias: None, kind: Kind::Bool, default: "no", flags: DENY_LOADING },
    Directive { name: "auto-aof-rewrite-min-size", alias: None, kind: Kind::Mem { min: 0, max: i64::MAX }, default: "67108864", flags: 0 },
    Directive { name: "auto-aof-rewrite-percentage", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "100", flags: 0 },
    Directive { name: "bgsave_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "bind", alias: None, kind: Kind::Special, default: "* -::*", flags: MULTI_ARG },
    Directive { name: "bind-source-addr", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "bio_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "busy-poll-us", alias: None, kind: Kind::Int { min: 0, max: 10000 }, default: "50", flags: 0 }, // ferrodis: see Reactor::wait
    Directive { name: "busy-reply-threshold", alias: Some("lua-time-limit"), kind: Kind::Int { min: 0, max: i64::MAX }, default: "5000", flags: 0 },
    Directive { name: "client-output-buffer-limit", alias: None, kind: Kind::Special, default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", flags: MULTI_ARG },
    Directive { name: "client-query-buffer-limit", alias: None, kind: Kind::Mem { min: 1024 * 1024, max: i64::MAX }, default: "1073741824", flags: 0 },
    Directive { name: "cluster-allow-pubsubshard-when-down", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "cluster-allow-reads-when-down", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "cluster-allow-replica-migration", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "cluster-announce-bus-port", alias: None, kind: Kind::Int { min: 0, max: 65535 }, default: "0", flags: 0 },
    Directive { name: "cluster-announce-hostname", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "cluster-announce-ip", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "cluster-announce-port", alias: None, kind: Kind::Int { min: 0, max: 65535 }, default: "0", flags: 0 },
    Directive { name: "cluster-announce-tls-port", alias: None, kind: Kind::Int { min: 0, max: 65535 }, default: "0", flags: 0 },
    Directive { name: "cluster-config-file", alias: None, kind: Kind::Str, default: "nodes.conf", flags: IMMUTABLE },
    Directive { name: "cluster-enabled", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Directive { name: "cluster-link-sendbuf-limit", alias: None, kind: Kind::Mem { min: 0, max: i64::MAX }, default: "0", flags: 0 },
    Directive { name: "cluster-migration-barrier", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "1", flags: 0 },
    Directive { name: "cluster-node-timeout", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "15000", flags: 0 },
    Directive { name: "cluster-port", alias: None, kind: Kind::Int { min: 0, max: 65535 }, default: "0", flags: IMMUTABLE },
    Directive { name: "cluster-preferred-endpoint-type", alias: None, kind: Kind::Enum(ENDPOINT_TYPE), default: "ip", flags: 0 },
    Directive { name: "cluster-replica-no-failover", alias: Some("cluster-slave-no-failover"), kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "cluster-replica-validity-factor", alias: Some("cluster-slave-validity-factor"), kind: Kind::Int { min: 0, max: INT_MAX }, default: "10", flags: 0 },
    Directive { name: "cluster-require-full-coverage", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "crash-log-enabled", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "crash-memcheck-enabled", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "daemonize", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Directive { name: "databases", alias: None, kind: Kind::Int { min: 1, max: INT_MAX }, default: "16", flags: IMMUTABLE },
    Directive { name: "dbfilename", alias: None, kind: Kind::Str, default: "dump.rdb", flags: PROTECTED },
    Directive { name: "dir", alias: None, kind: Kind::Special, default: "./", flags: PROTECTED | DENY_LOADING }, // CONFIG GET shows the absolute working directory
    Directive { name: "disable-thp", alias: None, kind: Kind::Bool, default: "yes", flags: IMMUTABLE },
    Directive { name: "dynamic-hz", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "enable-debug-command", alias: None, kind: Kind::Enum(PROTECTED_ACTION), default: "no", flags: IMMUTABLE },
    Directive { name: "enable-module-command", alias: None, kind: Kind::Enum(PROTECTED_ACTION), default: "no", flags: IMMUTABLE },
    Directive { name: "enable-protected-configs", alias: None, kind: Kind::Enum(PROTECTED_ACTION), default: "no", flags: IMMUTABLE },
    Directive { name: "hash-max-listpack-entries", alias: Some("hash-max-ziplist-entries"), kind: Kind::Int { min: 0, max: i64::MAX }, default: "512", flags: 0 },
    Directive { name: "hash-max-listpack-value", alias: Some("hash-max-ziplist-value"), kind: Kind::Mem { min: 0, max: i64::MAX }, default: "64", flags: 0 },
    Directive { name: "hll-sparse-max-bytes", alias: None, kind: Kind::Mem { min: 0, max: i64::MAX }, default: "3000", flags: 0 },
    Directive { name: "hz", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "10", flags: 0 },
    Directive { name: "ignore-warnings", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "include", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY }, // splices another file in place
    Directive { name: "io-threads", alias: None, kind: Kind::Int { min: 1, max: 128 }, default: "1", flags: IMMUTABLE },
    Directive { name: "io-threads-do-reads", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Directive { name: "jemalloc-bg-thread", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "key-load-delay", alias: None, kind: Kind::Int { min: INT_MIN, max: INT_MAX }, default: "0", flags: HIDDEN }, // test hook
    Directive { name: "latency-monitor-threshold", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "0", flags: 0 },
    Directive { name: "latency-tracking", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "latency-tracking-info-percentiles", alias: None, kind: Kind::Special, default: "50 99 99.9", flags: MULTI_ARG },
    Directive { name: "lazyfree-lazy-eviction", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "lazyfree-lazy-expire", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "lazyfree-lazy-server-del", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "lazyfree-lazy-user-del", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "lazyfree-lazy-user-flush", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "lfu-decay-time", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "1", flags: 0 },
    Directive { name: "lfu-log-factor", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "10", flags: 0 },
    Directive { name: "list-compress-depth", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "0", flags: 0 },
    Directive { name: "list-max-listpack-size", alias: Some("list-max-ziplist-size"), kind: Kind::Int { min: INT_MIN, max: INT_MAX }, default: "-2", flags: 0 },
    Directive { name: "list-max-ziplist-entries", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY }, // retired in 7.0: one argument, accepted and ignored
    Directive { name: "list-max-ziplist-value", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY }, // retired in 7.0: one argument, accepted and ignored
    Directive { name: "loading-process-events-interval-bytes", alias: None, kind: Kind::Int { min: 1024, max: INT_MAX }, default: "2097152", flags: HIDDEN }, // test hook
    Directive { name: "loadmodule", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY | MULTI_ARG },
    Directive { name: "logfile", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "loglevel", alias: None, kind: Kind::Enum(LOGLEVEL), default: "notice", flags: 0 },
    Directive { name: "lua-replicate-commands", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY }, // retired in 7.0: one argument, accepted and ignored
    Directive { name: "masterauth", alias: None, kind: Kind::Str, default: "", flags: SENSITIVE },
    Directive { name: "masteruser", alias: None, kind: Kind::Str, default: "", flags: SENSITIVE },
    Directive { name: "maxclients", alias: None, kind: Kind::Int { min: 1, max: UINT_MAX }, default: "10000", flags: 0 },
    Directive { name: "maxmemory", alias: None, kind: Kind::Mem { min: 0, max: i64::MAX }, default: "0", flags: 0 },
    Directive { name: "maxmemory-clients", alias: None, kind: Kind::Percent { min: -100, max: i64::MAX }, default: "0", flags: 0 },
    Directive { name: "maxmemory-eviction-tenacity", alias: None, kind: Kind::Int { min: 0, max: 100 }, default: "10", flags: 0 },
    Directive { name: "maxmemory-policy", alias: None, kind: Kind::Enum(MAXMEMORY_POLICY), default: "noeviction", flags: 0 },
    Directive { name: "maxmemory-samples", alias: None, kind: Kind::Int { min: 1, max: INT_MAX }, default: "5", flags: 0 },
    Directive { name: "min-replicas-max-lag", alias: Some("min-slaves-max-lag"), kind: Kind::Int { min: 0, max: INT_MAX }, default: "10", flags: 0 },
    Directive { name: "min-replicas-to-write", alias: Some("min-slaves-to-write"), kind: Kind::Int { min: 0, max: INT_MAX }, default: "0", flags: 0 },
    Directive { name: "no-appendfsync-on-rewrite", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "notify-keyspace-events", alias: None, kind: Kind::Special, default: "", flags: 0 },
    Directive { name: "oom-score-adj", alias: None, kind: Kind::Enum(OOM_SCORE_ADJ), default: "no", flags: 0 },
    Directive { name: "oom-score-adj-values", alias: None, kind: Kind::Special, default: "0 200 800", flags: MULTI_ARG },
    Directive { name: "pidfile", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "port", alias: None, kind: Kind::Int { min: 0, max: 65535 }, default: "6379", flags: 0 },
    Directive { name: "proc-title-template", alias: None, kind: Kind::Str, default: "{title} {listen-addr} {server-mode}", flags: 0 },
    Directive { name: "propagation-error-behavior", alias: None, kind: Kind::Enum(PROPAGATION_ERROR), default: "ignore", flags: 0 },
    Directive { name: "protected-mode", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "proto-max-bulk-len", alias: None, kind: Kind::Mem { min: 1024 * 1024, max: i64::MAX }, default: "536870912", flags: 0 },
    Directive { name: "rdb-del-sync-files", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "rdb-key-save-delay", alias: None, kind: Kind::Int { min: INT_MIN, max: INT_MAX }, default: "0", flags: HIDDEN }, // test hook
    Directive { name: "rdb-save-incremental-fsync", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "rdbchecksum", alias: None, kind: Kind::Bool, default: "yes", flags: IMMUTABLE },
    Directive { name: "rdbcompression", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "rename-command", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY | MULTI_ARG },
    Directive { name: "repl-backlog-size", alias: None, kind: Kind::Mem { min: 1, max: i64::MAX }, default: "1048576", flags: 0 },
    Directive { name: "repl-backlog-ttl", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "3600", flags: 0 },
    Directive { name: "repl-disable-tcp-nodelay", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "repl-diskless-load", alias: None, kind: Kind::Enum(DISKLESS_LOAD), default: "disabled", flags: DENY_LOADING },
    Directive { name: "repl-diskless-sync", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "repl-diskless-sync-delay", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "5", flags: 0 },
    Directive { name: "repl-diskless-sync-max-replicas", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "0", flags: 0 },
    Directive { name: "repl-ping-replica-period", alias: Some("repl-ping-slave-period"), kind: Kind::Int { min: 1, max: INT_MAX }, default: "10", flags: 0 },
    Directive { name: "repl-timeout", alias: None, kind: Kind::Int { min: 1, max: INT_MAX }, default: "60", flags: 0 },
    Directive { name: "replica-announce-ip", alias: Some("slave-announce-ip"), kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "replica-announce-port", alias: Some("slave-announce-port"), kind: Kind::Int { min: 0, max: 65535 }, default: "0", flags: 0 },
    Directive { name: "replica-announced", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "replica-ignore-disk-write-errors", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "replica-ignore-maxmemory", alias: Some("slave-ignore-maxmemory"), kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "replica-lazy-flush", alias: Some("slave-lazy-flush"), kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "replica-priority", alias: Some("slave-priority"), kind: Kind::Int { min: 0, max: INT_MAX }, default: "100", flags: 0 },
    Directive { name: "replica-read-only", alias: Some("slave-read-only"), kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "replica-serve-stale-data", alias: Some("slave-serve-stale-data"), kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "replicaof", alias: Some("slaveof"), kind: Kind::Special, default: "", flags: IMMUTABLE | MULTI_ARG },
    Directive { name: "requirepass", alias: None, kind: Kind::Str, default: "", flags: SENSITIVE },
    Directive { name: "sanitize-dump-payload", alias: None, kind: Kind::Enum(SANITIZE_PAYLOAD), default: "no", flags: 0 },
    Directive { name: "save", alias: None, kind: Kind::Special, default: "3600 1 300 100 60 10000", flags: MULTI_ARG },
    Directive { name: "sentinel", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY | MULTI_ARG }, // only valid in sentinel mode
    Directive { name: "server_cpulist", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "set-max-intset-entries", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "512", flags: 0 },
    Directive { name: "set-proc-title", alias: None, kind: Kind::Bool, default: "yes", flags: IMMUTABLE },
    Directive { name: "shutdown-on-sigint", alias: None, kind: Kind::Flags(SHUTDOWN_ON_SIGNAL), default: "default", flags: MULTI_ARG },
    Directive { name: "shutdown-on-sigterm", alias: None, kind: Kind::Flags(SHUTDOWN_ON_SIGNAL), default: "default", flags: MULTI_ARG },
    Directive { name: "shutdown-timeout", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "10", flags: 0 },
    Directive { name: "slowlog-log-slower-than", alias: None, kind: Kind::Int { min: -1, max: i64::MAX }, default: "10000", flags: 0 },
    Directive { name: "slowlog-max-len", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "128", flags: 0 },
    Directive { name: "socket-mark-id", alias: None, kind: Kind::Int { min: 0, max: UINT_MAX }, default: "0", flags: IMMUTABLE },
    Directive { name: "stop-writes-on-bgsave-error", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "stream-node-max-bytes", alias: None, kind: Kind::Mem { min: 0, max: i64::MAX }, default: "4096", flags: 0 },
    Directive { name: "stream-node-max-entries", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "100", flags: 0 },
    Directive { name: "supervised", alias: None, kind: Kind::Enum(SUPERVISED), default: "no", flags: IMMUTABLE },
    Directive { name: "syslog-enabled", alias: None, kind: Kind::Bool, default: "no", flags: IMMUTABLE },
    Directive { name: "syslog-facility", alias: None, kind: Kind::Enum(SYSLOG_FACILITY), default: "local0", flags: IMMUTABLE },
    Directive { name: "syslog-ident", alias: None, kind: Kind::Str, default: "redis", flags: IMMUTABLE },
    Directive { name: "tcp-backlog", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "511", flags: IMMUTABLE },
    Directive { name: "tcp-keepalive", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "300", flags: 0 },
    Directive { name: "timeout", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "0", flags: 0 },
    Directive { name: "tls-auth-clients", alias: None, kind: Kind::Enum(TLS_AUTH_CLIENTS), default: "yes", flags: 0 },
    Directive { name: "tls-ca-cert-dir", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-ca-cert-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-cert-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-ciphers", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-ciphersuites", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-client-cert-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-client-key-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-client-key-file-pass", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-cluster", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "tls-dh-params-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-key-file", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-key-file-pass", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-port", alias: None, kind: Kind::Int { min: 0, max: 65535 }, default: "0", flags: 0 },
    Directive { name: "tls-prefer-server-ciphers", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "tls-protocols", alias: None, kind: Kind::Str, default: "", flags: 0 },
    Directive { name: "tls-replication", alias: None, kind: Kind::Bool, default: "no", flags: 0 },
    Directive { name: "tls-session-cache-size", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "20480", flags: 0 },
    Directive { name: "tls-session-cache-timeout", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "300", flags: 0 },
    Directive { name: "tls-session-caching", alias: None, kind: Kind::Bool, default: "yes", flags: 0 },
    Directive { name: "tracking-table-max-keys", alias: None, kind: Kind::Int { min: 0, max: i64::MAX }, default: "1000000", flags: 0 },
    Directive { name: "unixsocket", alias: None, kind: Kind::Str, default: "", flags: IMMUTABLE },
    Directive { name: "unixsocketperm", alias: None, kind: Kind::Special, default: "0", flags: IMMUTABLE }, // octal digits, 0..=0o777
    Directive { name: "use-exit-on-panic", alias: None, kind: Kind::Bool, default: "no", flags: HIDDEN }, // test hook
    Directive { name: "user", alias: None, kind: Kind::Special, default: "", flags: STARTUP_ONLY | MULTI_ARG },
    Directive { name: "watchdog-period", alias: None, kind: Kind::Int { min: 0, max: INT_MAX }, default: "0", flags: HIDDEN }, // debugging aid
    Directive { name: "zset-max-listpack-entries", alias: Some("zset-max-ziplist-entries"), kind: Kind::Int { min: 0, max: i64::MAX }, default: "128", flags: 0 },
    Directive { name: "zset-max-listpack-value", alias: Some("zset-max-ziplist-value"), kind: Kind::Mem { min: 0, max: i64::MAX }, default: "64", flags: 0 },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn in_range(name: &str, default: &str, min: i64, max: i64) {
        let parsed = default.parse::<i64>();
        assert!(parsed.is_ok(), "{name}: default {default:?} is not an integer");
        assert!(min <= max, "{name}: empty range");
        if let Ok(v) = parsed {
            assert!((min..=max).contains(&v), "{name}: default {v} outside {min}..={max}");
        }
    }

    fn word_in(name: &str, word: &str, list: &[(&str, i64)]) {
        assert!(
            list.iter().any(|(w, _)| *w == word),
            "{name}: {word:?} is not one of its words"
        );
    }

    #[test]
    fn names_are_unique_and_sorted() {
        for pair in DIRECTIVES.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} !< {}", pair[0].name, pair[1].name);
        }
    }

    #[test]
    fn names_are_lowercase_words() {
        for d in DIRECTIVES {
            let ok = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            };
            assert!(ok(d.name), "bad name {:?}", d.name);
            if let Some(a) = d.alias {
                assert!(ok(a), "bad alias {a:?}");
            }
        }
    }

    #[test]
    fn aliases_are_unique_and_never_a_name() {
        let names: HashSet<&str> = DIRECTIVES.iter().map(|d| d.name).collect();
        let mut seen = HashSet::new();
        for d in DIRECTIVES {
            if let Some(a) = d.alias {
                assert!(!names.contains(a), "alias {a} is also a name");
                assert!(seen.insert(a), "alias {a} used twice");
            }
        }
        assert_eq!(seen.len(), 19);
    }

    #[test]
    fn defaults_fit_their_kind() {
        for d in DIRECTIVES {
            match d.kind {
                Kind::Bool => assert!(
                    d.default == "yes" || d.default == "no",
                    "{}: bool default {:?}",
                    d.name,
                    d.default
                ),
                Kind::Int { min, max } | Kind::Mem { min, max } | Kind::Percent { min, max } => {
                    in_range(d.name, d.default, min, max)
                }
                Kind::Enum(list) => word_in(d.name, d.default, list),
                Kind::Flags(list) => {
                    for w in d.default.split(' ') {
                        word_in(d.name, w, list);
                    }
                }
                Kind::Str | Kind::Special => {}
            }
        }
    }

    #[test]
    fn word_lists_have_no_duplicate_words() {
        for d in DIRECTIVES {
            if let Kind::Enum(list) | Kind::Flags(list) = d.kind {
                let words: HashSet<&str> = list.iter().map(|(w, _)| *w).collect();
                assert_eq!(words.len(), list.len(), "{}: repeated word", d.name);
            }
        }
    }

    #[test]
    fn flag_combinations_make_sense() {
        for d in DIRECTIVES {
            if d.flags & STARTUP_ONLY != 0 {
                assert!(matches!(d.kind, Kind::Special), "{}: startup-only but typed", d.name);
                assert!(d.flags & (IMMUTABLE | PROTECTED | HIDDEN) == 0, "{}", d.name);
            }
            if d.flags & MULTI_ARG != 0 {
                assert!(
                    matches!(d.kind, Kind::Special | Kind::Flags(_)),
                    "{}: several words but a one-word kind",
                    d.name
                );
            }
            if matches!(d.kind, Kind::Flags(_)) {
                assert!(d.flags & MULTI_ARG != 0, "{}: flags need MULTI_ARG", d.name);
            }
        }
    }

    #[test]
    fn spot_checks() {
        let get = |n: &str| DIRECTIVES.iter().find(|d| d.name == n);
        let default = |n: &str| get(n).map(|d| d.default);
        assert_eq!(default("save"), Some("3600 1 300 100 60 10000"));
        assert_eq!(default("bind"), Some("* -::*"));
        assert_eq!(default("dbfilename"), Some("dump.rdb"));
        assert_eq!(default("loglevel"), Some("notice"));
        assert_eq!(default("maxmemory-policy"), Some("noeviction"));
        assert_eq!(get("replicaof").and_then(|d| d.alias), Some("slaveof"));
        assert_eq!(
            get("busy-reply-threshold").and_then(|d| d.alias),
            Some("lua-time-limit")
        );
        assert_eq!(get("requirepass").map(|d| d.flags), Some(SENSITIVE));
        assert_eq!(get("dir").map(|d| d.flags), Some(PROTECTED | DENY_LOADING));
        assert!(get("maxmemory").is_some_and(|d| matches!(d.kind, Kind::Mem { min: 0, .. })));
        assert!(get("port").is_some_and(|d| matches!(d.kind, Kind::Int { min: 0, max: 65535 })));
        assert!(get("include").is_some_and(|d| d.flags == STARTUP_ONLY));
        // Redis 7.0's directives and ferrodis's busy-poll-us.
        assert_eq!(DIRECTIVES.len(), 187);
    }
}
