//! Config: the directive registry (`table`), the redis.conf / argv parser, and the
//! CONFIG GET/SET semantics. Every value is kept in the canonical text CONFIG GET
//! shows; the typed fields the server reads on hot paths are refreshed after each change.
pub mod notify;
pub mod table;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::resp::parse::split_args;
use crate::util::glob::glob_match;
pub use table::DIRECTIVES;

/// How a directive's value is parsed and shown.
pub enum Kind {
    Bool,
    Int { min: i64, max: i64 },
    Mem { min: i64, max: i64 },
    Percent { min: i64, max: i64 },
    Enum(&'static [(&'static str, i64)]),
    Flags(&'static [(&'static str, i64)]),
    Str,
    Special,
}
/// The smallest backlog kept, whatever `repl-backlog-size` says.
/// Redis compat: CONFIG_REPL_BACKLOG_MIN_SIZE.
pub const MIN_BACKLOG: i64 = 16 * 1024;

pub const IMMUTABLE: u32 = 1;
pub const PROTECTED: u32 = 2;
pub const SENSITIVE: u32 = 4;
pub const HIDDEN: u32 = 8;
pub const MULTI_ARG: u32 = 16;
pub const DENY_LOADING: u32 = 32;
pub const STARTUP_ONLY: u32 = 64;

pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    pub flags: u32,
}

/// Directives accepted for compatibility whose behaviour is not implemented yet:
/// setting them to a non-default value logs one warning.
const NOT_IMPLEMENTED: &[&str] = &["io-threads", "loadmodule"];

/// Replication settings, parsed once. Redis compat: config.c defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplConfig {
    pub read_only: bool,
    pub serve_stale: bool,
    pub min_replicas: i64,
    pub max_lag_secs: i64,
    pub backlog_size: usize,
    pub ping_period_secs: i64,
    pub timeout_secs: u64,
}

impl Default for ReplConfig {
    fn default() -> Self {
        ReplConfig {
            read_only: true,
            serve_stale: true,
            min_replicas: 0,
            max_lag_secs: 10,
            backlog_size: 1 << 20,
            ping_period_secs: 10,
            timeout_secs: 60,
        }
    }
}

#[derive(Debug)]
pub struct ConfigError {
    pub line: usize,
    pub text: String,
    pub msg: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
    Nothing = 4,
}

/// Output buffer limit of one client class (bytes, bytes, seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

#[derive(Debug)]
pub struct Config {
    vals: Vec<String>,
    /// Directive names and aliases, lowercase (a lowercase name is looked up as it is).
    index: HashMap<&'static str, usize, ahash::RandomState>,
    /// Absolute path of the config file, if one was given (CONFIG REWRITE target).
    pub file: Option<PathBuf>,
    /// One line per directive that is accepted but does nothing yet.
    pub warnings: Vec<String>,
    /// rename-command pairs (lowercase original, new name; "" disables the command).
    pub renames: Vec<(String, String)>,
    /// `user` lines: the name, then its ACL rules.
    pub users: Vec<Vec<String>>,
    /// In Sentinel mode: the `sentinel` lines (line number, text, words after
    /// `sentinel`), applied once the whole file is read.
    pub sentinel_lines: Vec<(usize, String, Vec<String>)>,
    save_seen_in_file: bool,
    // Typed views, refreshed by `refresh_one` when their directive changes.
    pub port: u16,
    pub bind: Vec<String>,
    pub unixsocket: String,
    pub unixsocketperm: u32,
    pub hz: u32,
    /// Microseconds the event loop keeps polling after busy work before it sleeps.
    pub busy_poll_us: u64,
    pub databases: usize,
    pub maxclients: usize,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: i32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub requirepass: Option<Vec<u8>>,
    pub loglevel: LogLevel,
    pub logfile: String,
    pub daemonize: bool,
    pub pidfile: String,
    pub protected_mode: bool,
    pub always_show_logo: bool,
    pub maxmemory: u64,
    pub save_params: Vec<(u64, u64)>,
    pub obuf_limits: [ObufLimit; 3],
    pub hll_sparse_max_bytes: usize,
    pub maxmemory_policy: crate::db::evict::Policy,
    pub maxmemory_samples: usize,
    pub eviction_tenacity: u64,
    pub lfu: crate::db::evict::Lfu,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    /// replica-ignore-maxmemory: a replica leaves evictions to its master.
    pub replica_ignore_maxmemory: bool,
    pub lazyfree_lazy_server_del: bool,
    /// Replication settings read on every write or propagated command.
    pub repl: ReplConfig,
    /// notify-keyspace-events as NOTIFY_* bits.
    pub notify_flags: u32,
    pub enable_debug_command: String,
    pub enable_protected_configs: String,
    pub dynamic_hz: bool,
    pub active_expire_effort: i64,
    pub lazyfree_lazy_user_flush: bool,
    pub lazyfree_lazy_user_del: bool,
    pub latency_tracking: bool,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    /// Milliseconds; 0 turns the latency monitor off.
    pub latency_monitor_threshold: u64,
    pub tracking_table_max_keys: usize,
    pub latency_percentiles: Vec<f64>,
    /// Collection encoding thresholds.
    pub limits: crate::db::Limits,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Parses a memory value: digits with an optional unit (b, k, kb, m, mb, g, gb).
/// Redis compat: util.c memtoull.
pub fn parse_memory(s: &str) -> Option<i64> {
    let s = s.to_ascii_lowercase();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // No digits read as 0 ("", "kb"), as strtoull reads them. Redis compat:
    // util.c memtoull.
    if num.is_empty() {
        return Some(0);
    }
    num.parse::<i64>().ok()?.checked_mul(mul)
}

fn parse_int(s: &str) -> Option<i64> {
    crate::util::num::parse_i64(s.as_bytes())
}

/// Normalizes notify-keyspace-events flags: parsed to classes and printed back with
/// every class kept (CONFIG GET shows fewer, see `shown`).
fn normalize_events(s: &str) -> Option<String> {
    notify::parse(s).map(notify::flags_to_letters)
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// The directives one CONFIG SET changed, in argument order, each with its value
/// before.
#[derive(Debug)]
pub struct Changed(Vec<(usize, String)>);

impl Changed {
    /// The canonical names of the changed directives.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().filter_map(|(i, _)| DIRECTIVES.get(*i).map(|d| d.name))
    }
}

static EMPTY: String = String::new();

impl Config {
    pub fn new() -> Self {
        let mut index = HashMap::with_hasher(ahash::RandomState::new());
        for (i, d) in DIRECTIVES.iter().enumerate() {
            index.insert(d.name, i);
            if let Some(a) = d.alias {
                index.insert(a, i);
            }
        }
        let mut c = Config {
            vals: DIRECTIVES.iter().map(|d| d.default.to_string()).collect(),
            index,
            file: None,
            warnings: Vec::new(),
            renames: Vec::new(),
            users: Vec::new(),
            sentinel_lines: Vec::new(),
            save_seen_in_file: false,
            port: 6379,
            bind: Vec::new(),
            unixsocket: String::new(),
            unixsocketperm: 0,
            hz: 10,
            busy_poll_us: 50,
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            requirepass: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            daemonize: false,
            pidfile: String::new(),
            protected_mode: true,
            always_show_logo: false,
            maxmemory: 0,
            save_params: Vec::new(),
            obuf_limits: [ObufLimit::default(); 3],
            notify_flags: 0,
            hll_sparse_max_bytes: 3000,
            maxmemory_policy: crate::db::evict::Policy::NoEviction,
            maxmemory_samples: 5,
            eviction_tenacity: 10,
            lfu: crate::db::evict::Lfu {
                log_factor: 10,
                decay_time: 1,
            },
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            replica_ignore_maxmemory: true,
            lazyfree_lazy_server_del: false,
            repl: ReplConfig::default(),
            enable_debug_command: "no".into(),
            enable_protected_configs: "no".into(),
            dynamic_hz: true,
            active_expire_effort: 1,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_user_del: false,
            latency_tracking: true,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            tracking_table_max_keys: 1_000_000,
            latency_percentiles: Vec::new(),
            limits: Default::default(),
        };
        if let (Some(i), Ok(cwd)) = (c.lookup("dir"), std::env::current_dir()) {
            c.vals[i] = cwd.display().to_string();
        }
        c.refresh();
        c
    }

    /// The new name of a renamed command, if `name` was renamed.
    pub fn lookup_rename(&self, name: &str) -> Option<&str> {
        self.renames
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(name))
            .map(|(_, t)| t.as_str())
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.index.get(lower(name).as_str()).copied()
        } else {
            self.index.get(name).copied()
        }
    }

    pub fn directive(&self, name: &str) -> Option<&'static Directive> {
        self.lookup(name).and_then(|i| DIRECTIVES.get(i))
    }

    /// The canonical value of a directive as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.lookup(name).and_then(|i| self.vals.get(i)).map(|s| s.as_str())
    }

    /// CONFIG GET for several patterns: (name, value) pairs, each name once (in any
    /// case). A name given whole is answered under that name as it was spelled, a
    /// pattern's matches under their own. Redis compat: config.c configGetCommand.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(Cow<'static, str>, String)> {
        let mut out: Vec<(Cow<'static, str>, String)> = Vec::new();
        let seen = |out: &[(Cow<str>, String)], n: &str| out.iter().any(|(o, _)| o.eq_ignore_ascii_case(n));
        for p in patterns {
            let is_glob = p.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
            if !is_glob {
                // One name (or alias): looked up, not matched against every directive.
                let name = std::str::from_utf8(p).ok();
                let found = name.and_then(|n| self.lookup(n).map(|i| (n, i)));
                if let Some((n, i)) = found {
                    if DIRECTIVES.get(i).is_some_and(|d| d.flags & STARTUP_ONLY == 0) && !seen(&out, n) {
                        out.push((Cow::Owned(n.to_string()), self.shown(i)));
                    }
                }
                continue;
            }
            for (i, d) in DIRECTIVES.iter().enumerate() {
                if d.flags & STARTUP_ONLY != 0 {
                    continue;
                }
                // Redis compat: an alias is a config name of its own for CONFIG GET.
                let names = [Some(d.name), d.alias];
                for n in names.into_iter().flatten() {
                    let hit = d.flags & HIDDEN == 0 && glob_match(p, n.as_bytes(), true);
                    if hit && !seen(&out, n) {
                        out.push((Cow::Borrowed(n), self.shown(i)));
                    }
                }
            }
        }
        out
    }

    /// Validates and canonicalizes a new value for directive `i`. Err: Redis's
    /// reason text (what follows " - " in the CONFIG SET error).
    fn canonical(&self, i: usize, args: &[String]) -> Result<String, String> {
        let d = DIRECTIVES.get(i).ok_or_else(|| "unknown".to_string())?;
        let one = || -> Result<&str, String> {
            if args.len() == 1 {
                Ok(args[0].as_str())
            } else {
                Err("wrong number of arguments".into())
            }
        };
        match &d.kind {
            Kind::Bool => match lower(one()?).as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Int { min, max } => {
                let s = one()?;
                let v = parse_int(s).ok_or("argument couldn't be parsed into an integer")?;
                if v < *min || v > *max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                Ok(v.to_string())
            }
            Kind::Mem { min, max } => {
                let v = parse_memory(one()?).ok_or("argument must be a memory value")?;
                if v < *min || v > *max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                Ok(v.to_string())
            }
            Kind::Percent { min, max } => {
                let s = one()?;
                if let Some(p) = s.strip_suffix('%') {
                    let v = parse_int(p)
                        .filter(|v| *v >= 0)
                        .ok_or("argument must be a memory or percent value")?;
                    if v > 100 {
                        return Err("percentage argument must be less or equal to 100".into());
                    }
                    return Ok(format!("{v}%"));
                }
                let v = parse_memory(s).ok_or("argument must be a memory or percent value")?;
                if v < *min || v > *max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                Ok(v.to_string())
            }
            Kind::Enum(list) | Kind::Flags(list) => {
                let words: Vec<String> = args
                    .iter()
                    .flat_map(|a| a.split_whitespace().map(lower).collect::<Vec<_>>())
                    .collect();
                let multi = matches!(d.kind, Kind::Flags(_));
                let ok = !words.is_empty()
                    && (multi || words.len() == 1)
                    && words.iter().all(|w| list.iter().any(|(n, _)| n == w));
                if !ok {
                    let names: Vec<&str> = list.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        names.join(", ")
                    ));
                }
                if multi {
                    // Shown in the table's order, like Redis.
                    let ordered: Vec<&str> = list
                        .iter()
                        .map(|(n, _)| *n)
                        .filter(|n| words.iter().any(|w| w == n))
                        .collect();
                    return Ok(ordered.join(" "));
                }
                Ok(words.join(" "))
            }
            // Redis compat: server.c validateProcTitleTemplate (expanded with an empty
            // title, the result must not be empty).
            Kind::Str if d.name == "proc-title-template" => match self.proc_title(one()?, "") {
                Some(s) if !s.is_empty() => Ok(one()?.to_string()),
                _ => Err("template format is invalid or contains unknown variables".into()),
            },
            // Redis compat: config.c isValidAnnouncedHostname.
            Kind::Str if d.name == "cluster-announce-hostname" => {
                let h = one()?;
                if h.len() >= 256 {
                    Err("Hostnames must be less than 256 characters".into())
                } else if !h.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
                    Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into())
                } else {
                    Ok(h.to_string())
                }
            }
            Kind::Str => Ok(one()?.to_string()),
            Kind::Special => self.canonical_special(d.name, args),
        }
    }

    fn canonical_special(&self, name: &str, args: &[String]) -> Result<String, String> {
        let joined = args.join(" ");
        match name {
            "save" => {
                let words: Vec<&str> = joined.split_whitespace().collect();
                if words.len() % 2 != 0 {
                    return Err("Invalid save parameters".into());
                }
                for w in &words {
                    if parse_int(w).is_none_or(|v| v < 0) {
                        return Err("Invalid save parameters".into());
                    }
                }
                Ok(words.join(" "))
            }
            "notify-keyspace-events" => {
                normalize_events(&joined).ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
            }
            "client-output-buffer-limit" => {
                let words: Vec<&str> = joined.split_whitespace().collect();
                if words.len() % 4 != 0 {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut lim = self.obuf_limits;
                for g in words.chunks(4) {
                    let class = match lower(g[0]).as_str() {
                        "normal" => 0,
                        "slave" | "replica" => 1,
                        "pubsub" => 2,
                        _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
                    };
                    let hard = parse_memory(g[1]);
                    let soft = parse_memory(g[2]);
                    let secs = parse_int(g[3]);
                    match (hard, soft, secs) {
                        (Some(h), Some(s), Some(t)) if h >= 0 && s >= 0 && t >= 0 => {
                            lim[class] = ObufLimit {
                                hard: h as u64,
                                soft: s as u64,
                                soft_secs: t as u64,
                            };
                        }
                        _ => {
                            return Err(
                                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
                            )
                        }
                    }
                }
                Ok(fmt_obuf(&lim))
            }
            "oom-score-adj-values" => {
                let words: Vec<&str> = joined.split_whitespace().collect();
                if words.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                for w in &words {
                    if parse_int(w).is_none_or(|v| !(-2000..=2000).contains(&v)) {
                        return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into());
                    }
                }
                Ok(words.join(" "))
            }
            "latency-tracking-info-percentiles" => {
                let mut shown = Vec::new();
                for w in joined.split_whitespace() {
                    let v = crate::util::num::parse_f64(w.as_bytes())
                        .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                    if !(0.0..=100.0).contains(&v) {
                        return Err(
                            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into(),
                        );
                    }
                    shown.push(trim_float(v));
                }
                Ok(shown.join(" "))
            }
            "bind" => {
                let words: Vec<&str> = joined.split_whitespace().collect();
                if words.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                Ok(words.join(" "))
            }
            "unixsocketperm" => {
                let s = args.first().map(|s| s.as_str()).unwrap_or("");
                let v = i64::from_str_radix(s, 8)
                    .map_err(|_| "argument couldn't be parsed as an octal number".to_string())?;
                if !(0..=0o777).contains(&v) {
                    return Err("argument must be between 0 and 777 inclusive".into());
                }
                Ok(format!("{v:o}"))
            }
            "dir" => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                let p = Path::new(&args[0]);
                std::env::set_current_dir(p).map_err(|e| e.to_string())?;
                Ok(std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|_| args[0].clone()))
            }
            _ => Ok(joined),
        }
    }

    /// `template` expanded for this configuration, with `title` for `{title}`; None if
    /// it is malformed or names an unknown variable.
    /// Redis compat: server.c redisProcTitleGetVariable.
    pub fn proc_title(&self, template: &str, title: &str) -> Option<String> {
        crate::util::proctitle::expand(template, |name| {
            Some(match name {
                "title" => title.to_string(),
                "listen-addr" if self.listen_port() != 0 => {
                    format!(
                        "{}:{}",
                        self.bind.first().map_or("*", |b| b.as_str()),
                        self.listen_port()
                    )
                }
                "listen-addr" => format!("unixsocket:{}", self.unixsocket),
                "server-mode" if self.yes("cluster-enabled") => "[cluster]".into(),
                "server-mode" if crate::cmd::sentinel_mode() => "[sentinel]".into(),
                "server-mode" => String::new(),
                "config-file" => self.file.as_ref().map_or("-".into(), |f| f.display().to_string()),
                "port" => self.port.to_string(),
                "tls-port" => self.int("tls-port").to_string(),
                "unixsocket" => self.unixsocket.clone(),
                _ => return None,
            })
        })
    }

    /// Shows this configuration's process title, when `set-proc-title` is on.
    /// The port the logo, INFO and the process title give: `port`, or `tls-port`
    /// when only TLS is listened on. Redis compat: server.c.
    pub fn listen_port(&self) -> u16 {
        if self.port != 0 {
            self.port
        } else {
            self.int("tls-port") as u16
        }
    }

    pub fn show_proc_title(&self) {
        if !self.yes("set-proc-title") {
            return;
        }
        if let Some(t) = self.proc_title(self.val("proc-title-template"), &crate::util::proctitle::argv0()) {
            crate::util::proctitle::set(&t);
        }
    }

    /// Sets a directive (from CONFIG SET or startup). Err: the reason text.
    pub fn set(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let i = self.lookup(name).ok_or("unknown")?;
        let v = self.canonical(i, args)?;
        if let Some(slot) = self.vals.get_mut(i) {
            *slot = v;
        }
        self.refresh_one(i);
        Ok(())
    }

    /// CONFIG SET of several pairs, all or nothing. Ok: the directives changed and
    /// their values before (for [`Config::restore`]). Err: the full error reply.
    pub fn set_many(&mut self, pairs: &[(String, String)], protected_ok: bool) -> Result<Changed, String> {
        // One pass in argument order; the first refusal is the one reported. Redis
        // compat: config.c configSetCommand.
        // An alias is a directive of its own here: naming both is no duplicate (the
        // later value wins), naming one twice is: each directive is kept with whether
        // its alias named it.
        let mut named: Vec<(usize, bool)> = Vec::with_capacity(pairs.len());
        for (n, _) in pairs {
            let refusal = match self.lookup(n) {
                Some(i) if DIRECTIVES.get(i).is_some_and(|d| d.flags & STARTUP_ONLY == 0) => {
                    let d = &DIRECTIVES[i];
                    if d.flags & IMMUTABLE != 0 {
                        Some("can't set immutable config")
                    } else if d.flags & PROTECTED != 0 && !protected_ok {
                        Some("can't set protected config")
                    } else {
                        let key = (i, !n.eq_ignore_ascii_case(d.name));
                        if named.contains(&key) {
                            Some("duplicate parameter")
                        } else {
                            named.push(key);
                            None
                        }
                    }
                }
                _ => {
                    return Err(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{n}'"
                    ))
                }
            };
            if let Some(why) = refusal {
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{n}') - {why}"
                ));
            }
        }
        // The old values of the named directives only (an alias and its name may both
        // be named: restored last to first, the value before either wins).
        let mut old = Changed(Vec::with_capacity(named.len()));
        for (k, &(i, _)) in named.iter().enumerate() {
            let d = &DIRECTIVES[i];
            let split;
            let args: &[String] = if matches!(d.kind, Kind::Special) || d.flags & MULTI_ARG != 0 {
                split = split_args(pairs[k].1.as_bytes())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| String::from_utf8_lossy(&a).into_owned())
                    .collect::<Vec<_>>();
                if split.is_empty() {
                    std::slice::from_ref(&EMPTY)
                } else {
                    &split
                }
            } else {
                std::slice::from_ref(&pairs[k].1)
            };
            match self.canonical(i, args) {
                Ok(v) => old.0.push((i, std::mem::replace(&mut self.vals[i], v))),
                Err(e) => {
                    self.restore(old);
                    // An alias is named as such. Redis compat: config.c configSetCommand.
                    return Err(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - {e}",
                        lower(&pairs[k].0)
                    ));
                }
            }
            self.refresh_one(i);
        }
        Ok(old)
    }

    /// Puts back the values a [`Config::set_many`] replaced.
    pub fn restore(&mut self, old: Changed) {
        for (i, v) in old.0.into_iter().rev() {
            if let Some(slot) = self.vals.get_mut(i) {
                *slot = v;
                self.refresh_one(i);
            }
        }
    }

    fn val(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// An enum directive's value as its code (0 when unknown).
    pub fn enum_code(&self, name: &str) -> i64 {
        let v = self.val(name);
        match self.lookup(name).and_then(|i| DIRECTIVES.get(i)).map(|d| &d.kind) {
            Some(Kind::Enum(list)) => list.iter().find(|(n, _)| *n == v).map_or(0, |(_, c)| *c),
            _ => 0,
        }
    }

    /// A directive's value as an integer (0 when it is not one).
    pub fn int(&self, name: &str) -> i64 {
        self.val(name).parse().unwrap_or(0)
    }

    /// Whether a yes/no directive is on.
    pub fn yes(&self, name: &str) -> bool {
        self.val(name) == "yes"
    }

    /// Recomputes every typed field from the canonical values.
    fn refresh(&mut self) {
        for i in 0..DIRECTIVES.len() {
            self.refresh_one(i);
        }
    }

    /// Recomputes the typed field that directive `i` feeds, if any (a CONFIG SET
    /// touches only what it changed, as Redis's apply functions do).
    fn refresh_one(&mut self, i: usize) {
        let Some(d) = DIRECTIVES.get(i) else { return };
        let v = self.vals[i].as_str();
        let int = || v.parse::<i64>().unwrap_or(0);
        let yes = v == "yes";
        match d.name {
            "port" => self.port = int().clamp(0, 65535) as u16,
            "bind" => self.bind = v.split_whitespace().map(String::from).collect(),
            "unixsocket" => self.unixsocket = v.to_string(),
            "unixsocketperm" => self.unixsocketperm = u32::from_str_radix(v, 8).unwrap_or(0),
            "hz" => {
                self.hz = int().clamp(1, 500) as u32;
                // Redis compat: config.c updateHZ stores the clamped value (CONFIG GET
                // shows it).
                self.vals[i] = self.hz.to_string();
            }
            "busy-poll-us" => self.busy_poll_us = int().clamp(0, 10_000) as u64,
            "databases" => self.databases = int().max(1) as usize,
            "maxclients" => self.maxclients = int().max(1) as usize,
            "timeout" => self.timeout = int().max(0) as u64,
            "tcp-keepalive" => self.tcp_keepalive = int().max(0) as u64,
            "tcp-backlog" => self.tcp_backlog = int().clamp(0, i32::MAX as i64) as i32,
            "proto-max-bulk-len" => self.proto_max_bulk_len = int(),
            "client-query-buffer-limit" => self.client_query_buffer_limit = int().max(0) as usize,
            "requirepass" => self.requirepass = (!v.is_empty()).then(|| v.as_bytes().to_vec()),
            "loglevel" => {
                self.loglevel = match v {
                    "debug" => LogLevel::Debug,
                    "verbose" => LogLevel::Verbose,
                    "warning" => LogLevel::Warning,
                    "nothing" => LogLevel::Nothing,
                    _ => LogLevel::Notice,
                }
            }
            "logfile" => self.logfile = v.to_string(),
            "daemonize" => self.daemonize = yes,
            "pidfile" => self.pidfile = v.to_string(),
            "protected-mode" => self.protected_mode = yes,
            "always-show-logo" => self.always_show_logo = yes,
            "maxmemory" => self.maxmemory = int().max(0) as u64,
            "hash-max-listpack-entries" => self.limits.hash_entries = int().max(0) as usize,
            "hash-max-listpack-value" => self.limits.hash_value = int().max(0) as usize,
            "set-max-intset-entries" => self.limits.set_intset_entries = int().max(0) as usize,
            "zset-max-listpack-entries" => self.limits.zset_entries = int().max(0) as usize,
            "zset-max-listpack-value" => self.limits.zset_value = int().max(0) as usize,
            "list-max-listpack-size" => self.limits.list_fill = int().clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            "list-compress-depth" => self.limits.list_depth = int(),
            "stream-node-max-bytes" => self.limits.stream_max_bytes = int().max(0) as usize,
            "stream-node-max-entries" => self.limits.stream_max_entries = int().max(0) as usize,
            "save" => {
                let w: Vec<u64> = v.split_whitespace().filter_map(|s| s.parse().ok()).collect();
                self.save_params = w.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect();
            }
            "client-output-buffer-limit" => {
                let ob: Vec<&str> = v.split_whitespace().collect();
                for g in ob.chunks(4) {
                    if g.len() != 4 {
                        continue;
                    }
                    let class = match g[0] {
                        "normal" => 0,
                        "slave" | "replica" => 1,
                        _ => 2,
                    };
                    self.obuf_limits[class] = ObufLimit {
                        hard: g[1].parse().unwrap_or(0),
                        soft: g[2].parse().unwrap_or(0),
                        soft_secs: g[3].parse().unwrap_or(0),
                    };
                }
            }
            "hll-sparse-max-bytes" => self.hll_sparse_max_bytes = int().max(0) as usize,
            "maxmemory-policy" => self.maxmemory_policy = crate::db::evict::Policy::parse(v),
            "maxmemory-samples" => self.maxmemory_samples = int().clamp(1, 64) as usize,
            "maxmemory-eviction-tenacity" => self.eviction_tenacity = int().clamp(0, 100) as u64,
            "lfu-log-factor" => self.lfu.log_factor = int().clamp(0, i32::MAX as i64) as u32,
            "lfu-decay-time" => self.lfu.decay_time = int().clamp(0, i32::MAX as i64) as u32,
            "lazyfree-lazy-eviction" => self.lazyfree_lazy_eviction = yes,
            "lazyfree-lazy-expire" => self.lazyfree_lazy_expire = yes,
            "replica-ignore-maxmemory" => self.replica_ignore_maxmemory = yes,
            "lazyfree-lazy-server-del" => self.lazyfree_lazy_server_del = yes,
            "replica-read-only" => self.repl.read_only = yes,
            "replica-serve-stale-data" => self.repl.serve_stale = yes,
            "min-replicas-to-write" => self.repl.min_replicas = int().max(0),
            "min-replicas-max-lag" => self.repl.max_lag_secs = int().max(0),
            "repl-backlog-size" => self.repl.backlog_size = int().max(MIN_BACKLOG) as usize,
            "repl-ping-replica-period" => self.repl.ping_period_secs = int().max(1),
            "repl-timeout" => self.repl.timeout_secs = int().max(1) as u64,
            "notify-keyspace-events" => self.notify_flags = notify::parse_flags(v),
            "enable-debug-command" => self.enable_debug_command = v.to_string(),
            "enable-protected-configs" => self.enable_protected_configs = v.to_string(),
            "dynamic-hz" => self.dynamic_hz = yes,
            "active-expire-effort" => self.active_expire_effort = int().clamp(1, 10),
            "lazyfree-lazy-user-flush" => self.lazyfree_lazy_user_flush = yes,
            "lazyfree-lazy-user-del" => self.lazyfree_lazy_user_del = yes,
            "latency-tracking" => self.latency_tracking = yes,
            "slowlog-log-slower-than" => self.slowlog_log_slower_than = int(),
            "slowlog-max-len" => self.slowlog_max_len = int().max(0) as usize,
            "latency-monitor-threshold" => self.latency_monitor_threshold = int().max(0) as u64,
            "tracking-table-max-keys" => self.tracking_table_max_keys = int().max(0) as usize,
            "latency-tracking-info-percentiles" => {
                self.latency_percentiles = v.split_whitespace().filter_map(|w| w.parse().ok()).collect()
            }
            _ => {}
        }
    }

    /// The words of a lone non-empty argument of a many-argument directive, split as a
    /// line is (so `"900 1"` gives two, `"''"` one empty); None to keep `args` as they are.
    /// Redis compat: config.c loadServerConfigFromString, MULTI_ARG_CONFIG.
    fn split_single_arg(args: &[String]) -> Option<Vec<String>> {
        let [one] = args else { return None };
        if one.is_empty() {
            return None;
        }
        let words = split_args(one.as_bytes())?;
        Some(words.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect())
    }

    /// Loads configuration text (a file's contents, then the argv options).
    /// `depth` bounds `include` recursion.
    pub fn load_str(&mut self, text: &str, depth: usize) -> Result<(), ConfigError> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |msg: &str| ConfigError {
                line: n + 1,
                text: line.to_string(),
                msg: msg.to_string(),
            };
            let Some(argv) = split_args(line.as_bytes()) else {
                return Err(err("Unbalanced quotes in configuration line"));
            };
            let argv: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            let Some(name) = argv.first().map(|s| lower(s)) else {
                continue;
            };
            let args = &argv[1..];
            match name.as_str() {
                "include" if args.len() == 1 => {
                    if depth > 16 {
                        return Err(err("Too many nested includes"));
                    }
                    let body = std::fs::read_to_string(&args[0])
                        .map_err(|e| err(&format!("Fatal error, can't open config file '{}': {e}", args[0])))?;
                    self.load_str(&body, depth + 1)?;
                    continue;
                }
                "save" => {
                    // `--save "''"` (a script's quoted empty value) is split once more.
                    let split = Self::split_single_arg(args);
                    let args = split.as_deref().unwrap_or(args);
                    // The first `save` line replaces the defaults; later ones add points.
                    let mut all = args.to_vec();
                    if self.save_seen_in_file && !(args.len() == 1 && args[0].is_empty()) {
                        all.insert(0, self.val("save").to_string());
                    }
                    self.save_seen_in_file = true;
                    let all: Vec<String> = all.into_iter().filter(|s| !s.is_empty()).collect();
                    let joined = if all.is_empty() { vec![String::new()] } else { all };
                    self.set("save", &joined).map_err(|e| err(&e))?;
                    continue;
                }
                _ => {}
            }
            let Some(i) = self.lookup(&name) else {
                return Err(err("Bad directive or wrong number of arguments"));
            };
            let d = &DIRECTIVES[i];
            // One argument of a many-argument directive is split at spaces (`--replicaof
            // "host port"` on the command line). Redis compat: config.c
            // loadServerConfigFromString.
            let split = if d.flags & MULTI_ARG != 0 {
                Self::split_single_arg(args)
            } else {
                None
            };
            let args = split.as_deref().unwrap_or(args);
            let multi = d.flags & MULTI_ARG != 0 || matches!(d.kind, Kind::Special | Kind::Flags(_));
            // Multi-word enums run their own check on an empty value (Redis compat).
            if (args.is_empty() && !matches!(d.kind, Kind::Flags(_))) || (!multi && args.len() != 1) {
                return Err(err("wrong number of arguments"));
            }
            if d.name == "user" {
                // Redis compat: acl.c ACLAppendUserForLoading (rules are checked when
                // the users are created at startup).
                if self.users.iter().any(|u| u.first() == args.first()) {
                    return Err(err(
                        "Duplicate user found. A user can only be defined once in config files",
                    ));
                }
                self.users.push(args.to_vec());
                continue;
            }
            if d.name == "rename-command" {
                let [from, to] = args else {
                    return Err(err("wrong number of arguments"));
                };
                if self.lookup_rename(from).is_some() {
                    return Err(err("Unable to rename command: already renamed"));
                }
                self.renames.push((from.to_ascii_lowercase(), to.clone()));
                continue;
            }
            if d.name == "replicaof" {
                let valid = matches!(args, [h, p] if h.eq_ignore_ascii_case("no") && p.eq_ignore_ascii_case("one"))
                    || matches!(args, [_, p] if parse_int(p).is_some_and(|v| (0..=65535).contains(&v)));
                if args.len() != 2 {
                    return Err(err("wrong number of arguments"));
                }
                if !valid {
                    return Err(err("Invalid master port"));
                }
            }
            // Redis compat: config.c queues sentinel's lines in sentinel mode and
            // refuses them outside it.
            if d.name == "sentinel" {
                if !crate::cmd::sentinel_mode() {
                    return Err(err("sentinel directive while not in sentinel mode"));
                }
                self.sentinel_lines.push((n + 1, line.to_string(), args.to_vec()));
                continue;
            }
            if NOT_IMPLEMENTED.contains(&d.name) {
                let given = args.join(" ");
                if given != d.default && !(given == "no" && d.default.is_empty()) {
                    self.warnings.push(format!(
                        "'{}' is accepted but not implemented by this version; ignored",
                        d.name
                    ));
                }
                if d.flags & STARTUP_ONLY == 0 {
                    self.set(&name, args).map_err(|e| err(&e))?;
                }
                continue;
            }
            if d.flags & STARTUP_ONLY != 0 {
                self.warnings.push(format!(
                    "'{}' is accepted but not implemented by this version; ignored",
                    d.name
                ));
                continue;
            }
            self.set(&name, args).map_err(|e| err(&e))?;
        }
        Ok(())
    }

    /// Builds the configuration from `ferrodis [file|-] [--name value ...]` arguments.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        Self::from_args_with(args, &[])
    }

    /// The same, over other defaults (Sentinel mode's port and protected-mode).
    pub fn from_args_with(args: &[String], defaults: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut cfg = Config::new();
        for (name, v) in defaults {
            cfg.set(name, &[v.to_string()]).map_err(|msg| ConfigError {
                line: 0,
                text: String::new(),
                msg,
            })?;
        }
        let mut text = String::new();
        let mut j = 0;
        if let Some(first) = args.first() {
            if !first.starts_with('-') {
                let path = std::fs::canonicalize(first).unwrap_or_else(|_| PathBuf::from(first));
                let body = std::fs::read_to_string(first).map_err(|e| ConfigError {
                    line: 0,
                    text: String::new(),
                    msg: format!("Fatal error, can't open config file '{}': {e}", path.display()),
                })?;
                text.push_str(&body);
                text.push('\n');
                cfg.file = Some(path);
                j = 1;
            }
        }
        let mut options = String::new();
        let mut have_value = true;
        while j < args.len() {
            let a = &args[j];
            if a == "-" && (j == 0 || j == args.len() - 1) {
                let mut body = String::new();
                use std::io::Read;
                let _ = std::io::stdin().read_to_string(&mut body);
                text.push_str(&body);
                text.push('\n');
            } else if have_value && a.starts_with("--") {
                if !options.is_empty() {
                    options.push('\n');
                }
                options.push_str(&a[2..]);
                options.push(' ');
                let words = split_args(a.as_bytes()).map(|w| w.len()).unwrap_or(1);
                have_value = words != 1;
                if words == 1 && a.eq_ignore_ascii_case("--save") {
                    let next_is_opt = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
                    if next_is_opt || j + 1 == args.len() {
                        options.push_str("\"\"");
                        have_value = true;
                    }
                }
            } else {
                options.push_str(&repr(a));
                options.push(' ');
                have_value = true;
            }
            j += 1;
        }
        text.push_str(&options);
        cfg.load_str(&text, 0)?;
        Ok(cfg)
    }

    /// CONFIG REWRITE: rewrites the config file keeping comments and unknown lines,
    /// replacing each directive we know with its current value, appending new ones.
    /// CONFIG REWRITE; `users` are the `user` lines describing the ACL users now.
    pub fn rewrite(&self, users: &[String]) -> Result<(), String> {
        self.rewrite_with(false, users, None)
    }

    /// CONFIG REWRITE that also writes every directive still at its default.
    pub fn rewrite_all(&self, users: &[String]) -> Result<(), String> {
        self.rewrite_with(true, users, None)
    }

    /// The rewrite of a Sentinel's config file: `sentinel` lines are `(key, line,
    /// force)`, key being the line's first two words. Each takes the place of the next
    /// old line with its key; old lines left over go; new ones left over are appended
    /// (those not forced only when they were in the file). Redis compat: config.c
    /// rewriteConfigRewriteLine as sentinel.c rewriteConfigSentinelOption uses it.
    pub fn rewrite_sentinel(&self, users: &[String], lines: &[(String, String, bool)]) -> Result<(), String> {
        self.rewrite_with(false, users, Some(lines))
    }

    fn rewrite_with(
        &self,
        force_all: bool,
        users: &[String],
        sentinel: Option<&[(String, String, bool)]>,
    ) -> Result<(), String> {
        let path = self
            .file
            .as_ref()
            .ok_or("The server is running without a config file")?;
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let mut out = Vec::new();
        let mut done = vec![false; DIRECTIVES.len()];
        let mut users_done = false;
        let mut sentinel_used = vec![false; sentinel.map_or(0, |l| l.len())];
        for line in old.lines() {
            let t = line.trim();
            let name = t.split_whitespace().next().map(lower);
            if let (Some(new), false, Some("sentinel")) = (sentinel, t.starts_with('#'), name.as_deref()) {
                let key: Vec<String> = t.split_whitespace().take(2).map(lower).collect();
                let key = key.join(" ");
                let known = SENTINEL_KEYS.contains(&key.as_str());
                match new
                    .iter()
                    .enumerate()
                    .position(|(i, (k, _, _))| *k == key && !sentinel_used[i])
                {
                    Some(i) => {
                        sentinel_used[i] = true;
                        out.push(new[i].1.clone());
                    }
                    None if known => {}
                    None => out.push(line.to_string()),
                }
                continue;
            }
            // Redis compat: config.c rewriteConfigUserOption: the users now, where
            // the first `user` line was.
            if !t.starts_with('#') && name.as_deref() == Some("user") {
                if !users_done {
                    out.extend(users.iter().cloned());
                    users_done = true;
                }
                continue;
            }
            let idx = if t.starts_with('#') {
                None
            } else {
                name.and_then(|n| self.lookup(&n))
            };
            match idx {
                Some(i) if DIRECTIVES[i].flags & STARTUP_ONLY == 0 => {
                    if !done[i] {
                        done[i] = true;
                        if let Some(l) = self.rewrite_line(i) {
                            out.push(l);
                        }
                    }
                }
                _ => out.push(line.to_string()),
            }
        }
        for (i, d) in DIRECTIVES.iter().enumerate() {
            if done[i] || d.flags & STARTUP_ONLY != 0 || (!force_all && self.vals[i] == d.default) {
                continue;
            }
            if let Some(l) = self.rewrite_line(i) {
                out.push(l);
            }
        }
        if !users_done {
            out.extend(users.iter().cloned());
        }
        for (i, (_, line, force)) in sentinel.unwrap_or_default().iter().enumerate() {
            if !sentinel_used[i] && *force {
                out.push(line.clone());
            }
        }
        let body = out.join("\n") + "\n";
        let tmp = path.with_extension("rewrite.tmp");
        std::fs::write(&tmp, body).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    }

    /// A directive's value as CONFIG GET and CONFIG REWRITE print it. Only
    /// notify-keyspace-events differs from what is kept: 'A' hides 'n' there,
    /// though new-key events stay on. Redis compat: notify.c
    /// keyspaceEventsFlagsToString.
    fn shown(&self, i: usize) -> String {
        let v = self.vals.get(i).cloned().unwrap_or_default();
        match DIRECTIVES.get(i) {
            Some(d) if d.name == "notify-keyspace-events" => notify::flags_to_string(notify::parse_flags(&v)),
            _ => v,
        }
    }

    fn rewrite_line(&self, i: usize) -> Option<String> {
        let d = DIRECTIVES.get(i)?;
        let v = &self.shown(i);
        if d.name == "save" {
            if v.is_empty() {
                return Some("save \"\"".into());
            }
            let w: Vec<&str> = v.split_whitespace().collect();
            return Some(
                w.chunks(2)
                    .map(|c| format!("save {}", c.join(" ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        if d.name == "replicaof" && v.is_empty() {
            // Not a replica: Redis writes no line at all.
            return None;
        }
        if matches!(d.kind, Kind::Special) || d.flags & MULTI_ARG != 0 {
            return Some(format!(
                "{} {}",
                d.name,
                if v.is_empty() { "\"\"".to_string() } else { v.clone() }
            ));
        }
        Some(format!("{} {}", d.name, quote(v)))
    }
}

/// The `sentinel` lines a Sentinel's rewrite owns: old ones it does not write again go.
const SENTINEL_KEYS: &[&str] = &[
    "sentinel myid",
    "sentinel deny-scripts-reconfig",
    "sentinel resolve-hostnames",
    "sentinel announce-hostnames",
    "sentinel monitor",
    "sentinel down-after-milliseconds",
    "sentinel failover-timeout",
    "sentinel parallel-syncs",
    "sentinel notification-script",
    "sentinel client-reconfig-script",
    "sentinel auth-pass",
    "sentinel auth-user",
    "sentinel config-epoch",
    "sentinel leader-epoch",
    "sentinel known-replica",
    // The older name of known-replica (every replica is written back as known-replica).
    "sentinel known-slave",
    "sentinel known-sentinel",
    "sentinel rename-command",
    "sentinel master-reboot-down-after-period",
    "sentinel current-epoch",
    "sentinel announce-ip",
    "sentinel announce-port",
    "sentinel sentinel-user",
    "sentinel sentinel-pass",
];

fn fmt_obuf(l: &[ObufLimit; 3]) -> String {
    let names = ["normal", "slave", "pubsub"];
    names
        .iter()
        .zip(l.iter())
        .map(|(n, x)| format!("{n} {} {} {}", x.hard, x.soft, x.soft_secs))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `%f` without trailing zeros (and without a trailing '.'), as Redis shows percentiles.
pub fn trim_float(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn repr(s: &str) -> String {
    crate::util::repr::repr(s.as_bytes())
}

/// Quotes a value for a config line only if it needs it (empty, spaces, quotes).
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        s.to_string()
    } else {
        repr(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn argv_options_and_file_lines() {
        let c = Config::from_args(&args(&["--port", "7000", "--save", "--hz", "20", "--maxmemory", "1mb"])).unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.hz, 20);
        assert!(c.save_params.is_empty());
        assert_eq!(c.maxmemory, 1024 * 1024);
        // A script's `--save \'\'` reaches the server as two quote characters: one
        // word, split again like a line, so an empty schedule (redis-server starts).
        let c = Config::from_args(&args(&["--save", "''", "--port", "7001"])).unwrap();
        assert!(c.save_params.is_empty());
        assert_eq!(c.port, 7001);
        let c = Config::from_args(&args(&["--save", "900 1 60 100"])).unwrap();
        assert_eq!(c.save_params, vec![(900, 1), (60, 100)]);
        let mut c = Config::new();
        c.load_str("save 900 1\nsave 60 100\n", 0).unwrap();
        assert_eq!(c.save_params, vec![(900, 1), (60, 100)]);
        let e = c.load_str("\n\nnosuchthing 1\n", 0).unwrap_err();
        assert_eq!(
            (e.line, e.msg.as_str()),
            (3, "Bad directive or wrong number of arguments")
        );
    }

    /// A value other than the default for every directive a generic rule can make.
    fn another_value(d: &Directive) -> Option<String> {
        let special = [
            ("save", "100 10 5 1"),
            ("client-output-buffer-limit", "normal 1mb 512kb 30 replica 2mb 1mb 60"),
            ("bind", "127.0.0.1 ::1"),
            ("notify-keyspace-events", "KEA"),
            ("latency-tracking-info-percentiles", "50 99.9"),
            ("unixsocketperm", "700"),
        ];
        if let Some((_, v)) = special.iter().find(|(n, _)| *n == d.name) {
            return Some(v.to_string());
        }
        match d.kind {
            Kind::Bool => Some(if d.default == "yes" { "no" } else { "yes" }.into()),
            Kind::Int { min, max } | Kind::Mem { min, max } | Kind::Percent { min, max } => {
                let v = d.default.parse::<i64>().ok()?;
                Some(if v < max { v + 1 } else { min }.to_string())
            }
            Kind::Enum(list) | Kind::Flags(list) => list.iter().map(|(w, _)| w.to_string()).find(|w| *w != d.default),
            Kind::Str => Some("other".into()),
            Kind::Special => None,
        }
    }

    #[test]
    fn setting_one_directive_refreshes_what_a_full_refresh_would() {
        // The typed fields, from `port` on (the text values and the index before them).
        let typed = |c: &Config| {
            let s = format!("{c:?}");
            s[s.find(", port: ").expect("typed fields")..].to_string()
        };
        let mut c = Config::new();
        let (mut set, mut feeding) = (0, Vec::new());
        for d in DIRECTIVES {
            let Some(v) = another_value(d) else { continue };
            let before = typed(&c);
            if c.set(d.name, &[v]).is_ok() {
                set += 1;
                if typed(&c) != before {
                    feeding.push(d.name);
                }
                let mut full = Config::new();
                full.vals.clone_from(&c.vals);
                full.refresh();
                assert_eq!(typed(&c), typed(&full), "after setting {}", d.name);
            }
        }
        assert!(set > 150, "only {set} directives set");
        // Every directive with a typed view changed it (one left out of `refresh_one`
        // would change nothing).
        assert_eq!(feeding.len(), 62, "{feeding:?}");
    }

    #[test]
    fn a_refused_or_undone_config_set_leaves_every_value_as_it_was() {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let mut c = Config::new();
        let before = format!("{c:?}");
        // The third value is refused: the two before it are put back.
        let err = c
            .set_many(&pairs(&[("hz", "50"), ("maxmemory", "1mb"), ("port", "x")]), true)
            .unwrap_err();
        assert!(err.contains("'port'"), "{err}");
        assert_eq!(format!("{c:?}"), before);
        // Accepted, then undone (as when a new port cannot be bound), through an alias
        // named after its own directive.
        let changed = c
            .set_many(
                &pairs(&[
                    ("hz", "50"),
                    ("zset-max-listpack-value", "1"),
                    ("ZSET-max-ziplist-value", "7"),
                ]),
                true,
            )
            .unwrap();
        assert_eq!(
            changed.names().collect::<Vec<_>>(),
            ["hz", "zset-max-listpack-value", "zset-max-listpack-value"]
        );
        assert_eq!((c.hz, c.get("zset-max-listpack-value")), (50, Some("7")));
        c.restore(changed);
        assert_eq!(format!("{c:?}"), before);
    }

    #[test]
    fn config_set_errors_match_redis() {
        let mut c = Config::new();
        let p = |a: &str, b: &str| vec![(a.to_string(), b.to_string())];
        assert_eq!(
            c.set_many(&p("maxmemory", "lots"), true).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(
            c.set_many(&p("nope", "1"), true).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nope'"
        );
        assert!(c.set_many(&p("hz", "100"), true).is_ok());
        assert_eq!(c.hz, 100);
        assert_eq!(c.get("notify-keyspace-events"), Some(""));
        // 'A' leaves out key misses (shown after K and E) and new keys (shown only
        // among single classes), as Redis prints them.
        for (set, shown) in [
            ("KEA", "AKE"),
            ("KEAmn", "AKEm"),
            ("AKEn", "AKE"),
            ("Em", "Em"),
            ("nd", "dn"),
            ("tKE", "tKE"),
        ] {
            c.set_many(&p("notify-keyspace-events", set), true).unwrap();
            let got = c.get_matching(&[b"notify-keyspace-events"]);
            assert_eq!(got, vec![("notify-keyspace-events".into(), shown.to_string())], "{set}");
            // What is shown leaves 'n' out; what is on keeps it.
            assert_eq!(c.notify_flags & notify::NOTIFY_NEW != 0, set.contains('n'), "{set}");
        }
        // The first refusal in argument order is the one reported.
        let two = |a: &str, b: &str| vec![(a.to_string(), "1".to_string()), (b.to_string(), "1".to_string())];
        assert_eq!(
            c.set_many(&two("io-threads", "nosuch"), true).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'io-threads') - can't set immutable config"
        );
        assert_eq!(
            c.set_many(&two("nosuch", "io-threads"), true).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        );
        assert_eq!(
            c.set_many(&two("hz", "HZ"), true).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        let pair =
            |a: &str, x: &str, b: &str, y: &str| vec![(a.to_string(), x.to_string()), (b.to_string(), y.to_string())];
        c.set_many(
            &pair("zset-max-listpack-value", "1", "zset-max-ziplist-value", "64"),
            true,
        )
        .unwrap();
        assert_eq!(c.get("zset-max-listpack-value"), Some("64"));
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("1K"), Some(1000));
        assert_eq!(parse_memory("2GB"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("kb"), Some(0));
        assert_eq!(parse_memory("1x"), None);
    }
}
