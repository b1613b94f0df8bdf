//! Server: all state owned by the main thread (dbs, clients, config, stats) and the
//! process-level pieces around it. `reactor` runs the event loop, `call` dispatches
//! commands, `cron` does periodic work. The only module that names mio.
pub mod acl;
pub mod aof;
pub mod blocking;
pub mod call;
pub mod client;
pub mod clients_mem;
pub mod cluster;
pub mod cron;
pub mod defrag;
pub mod evict;
pub mod failover;
pub mod fullsync;
pub mod handshake;
pub mod latency;
pub mod oom;
pub mod pause;
pub mod persist;
pub mod propagate;
pub mod pubsub;
pub mod reactor;
pub mod repl;
pub mod replbuf;
pub mod tls;
pub mod tracking;
pub mod users;

use std::collections::HashMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use slab::Slab;

use crate::clock;
use crate::config::Config;
use crate::db::Db;
pub use client::Client;

/// Per-command counters for INFO commandstats.
#[derive(Default, Clone, Copy, Debug)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// The counters behind the instantaneous metrics, at one cron run.
#[derive(Default, Debug, Clone, Copy)]
pub struct Sample {
    pub ms: i64,
    pub commands: u64,
    pub net_input: u64,
    pub net_output: u64,
    pub net_repl_input: u64,
    pub net_repl_output: u64,
}

#[derive(Default, Debug)]
pub struct Stats {
    /// total_error_replies when the last command finished (failed_calls).
    pub err_prev: u64,
    /// The running command replied an error that was not counted again.
    pub uncounted_failure: bool,
    pub total_connections: u64,
    pub total_commands: u64,
    pub rejected_connections: u64,
    /// Full resynchronizations served, partial ones accepted, and PSYNCs naming a
    /// history point that could not be continued (sync_full, sync_partial_ok/err).
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub net_input: u64,
    pub net_output: u64,
    /// Bytes of replication: read from our master (its stream and snapshot), written
    /// to our replicas (their stream and snapshots). Not in net_input/net_output.
    pub net_repl_input: u64,
    pub net_repl_output: u64,
    pub expired_stale_perc: f64,
    pub expire_cycle_cpu_ms: u64,
    pub expire_cycle_timeouts: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub io_reads: u64,
    pub io_writes: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub evicted_keys: u64,
    pub evicted_clients: u64,
    /// Idle clients' reply buffers shrunk, busy clients' grown (clients cron).
    pub reply_buffer_shrinks: u64,
    pub reply_buffer_expands: u64,
    /// Indexed by command id (see `cmd::Table::specs`); grown on demand.
    pub cmd: Vec<CmdStat>,
    /// Per command id: call latency in nanoseconds (INFO latencystats).
    pub latency: Vec<Option<crate::ds::histogram::Histogram>>,
    pub errors: HashMap<Vec<u8>, u64>,
    /// Samples of the counters for the instantaneous metrics.
    pub samples: Vec<Sample>,
}

/// What SHUTDOWN / a signal asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReq {
    /// The client that asked (SHUTDOWN); it and later callers (`shutdown_callers`)
    /// are told when the shutdown fails.
    pub client: Option<usize>,
    pub save: Option<bool>,
    pub now: bool,
    pub force: bool,
}

/// Default of `Server::reply_peak_reset_ms`. Redis compat: REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME.
pub const REPLY_PEAK_RESET_MS: i64 = 5000;

pub struct Server {
    pub cfg: Config,
    /// Users and the ACL log.
    pub acl: acl::Acl,
    pub slowlog: latency::SlowLog,
    /// The pause in force (see `pause`), each purpose's, and the clients waiting for
    /// its end.
    pub pause: Option<pause::Pause>,
    pub pauses: [Option<pause::Pause>; 3],
    /// A FAILOVER under way.
    pub failover: Option<failover::Failover>,
    pub postponed: Vec<usize>,
    /// On a writable replica: keys its own clients changed, which it expires itself.
    pub replica_written: std::collections::HashSet<(usize, Vec<u8>)>,
    pub latency: latency::LatencyMonitor,
    pub dbs: Vec<Db>,
    /// Active defragmentation's pass and counters.
    pub defrag: defrag::DefragState,
    /// The last tick `while_blocked_cron` ran for (ms).
    pub blocked_last_cron: i64,
    pub clients: Slab<Client>,
    pub stats: Stats,
    pub rng: SmallRng,
    pub run_id: String,
    pub start_ms: i64,
    pub start_mono_us: u64,
    pub next_client_id: u64,
    /// Changes since the last save.
    pub dirty: u64,
    pub lastsave: i64,
    pub shutdown: Option<ShutdownReq>,
    /// A shutdown waiting for replicas to catch up (`shutdown-timeout`).
    pub shutdown_wait: Option<cron::ShutdownWait>,
    /// SHUTDOWN callers not yet handed to the shutdown under way.
    pub shutdown_callers: Vec<usize>,
    pub active_expire: bool,
    pub expire_next_db: usize,
    /// Clients whose socket may hold more input (read budget exhausted).
    pub pending_reads: reactor::ReadQueue,
    /// Clients to close before the next poll.
    pub pending_close: Vec<usize>,
    pub executable: String,
    pub hz: u32,
    /// How often a client's reply-buffer peak is forgotten (ms; negative: never), and
    /// whether the clients cron resizes reply buffers at all (DEBUG REPLYBUFFER).
    pub reply_peak_reset_ms: i64,
    pub reply_resizing: bool,
    /// This process's OOM score before `oom-score-adj` changed it (None: unchanged).
    pub oom_base: Option<i32>,
    /// Actual listening TCP port (0 when not listening on TCP).
    pub tcp_port: u16,
    pub peak_memory: u64,
    /// RSS and allocator totals, sampled by the cron (see `MemSample`).
    pub mem_sample: crate::cmd::info::MemSample,
    /// Listening sockets (TCP ones are replaced by CONFIG SET port/bind).
    pub listeners: Vec<(reactor::Listener, String)>,
    /// The TLS contexts, once `tls-port` was set.
    pub tls: Option<Box<tls::TlsContexts>>,
    /// The reactor's registry, for (re)registering listeners.
    pub registry: Option<mio::Registry>,
    pub pidfile_written: bool,
    /// Allocated bytes right after startup (INFO used_memory_startup).
    pub startup_memory: u64,
    pub blocking: blocking::Blocking,
    /// WATCHed keys: (db, key) -> clients watching it.
    pub watched: HashMap<(usize, Vec<u8>), Vec<crate::cmd::multi::Watcher>>,
    /// True while EXEC runs its queue (blocking commands do not block).
    pub in_exec: bool,
    pub pubsub: pubsub::PubSub,
    /// Client-side caching: who read what.
    pub tracking: tracking::Tracking,
    /// Clients that got output from other clients' commands (messages), to flush.
    pub pending_writes: Vec<usize>,
    /// Clients in MONITOR mode.
    pub monitors: Vec<usize>,
    /// Whether the dbs record (expired, new) keys (see `sync_db_event_collection`).
    pub db_events: (bool, bool),
    /// While a command runs: the keyspace notifications its own connection gets, held
    /// until its reply is written (see `Server::notify`).
    pub own_events: Option<crate::resp::ReplyBuf>,
    /// Snapshot state and counters.
    pub rdb: persist::RdbState,
    /// MIGRATE's cached connections, by "host:port".
    pub migrate_cache: HashMap<String, crate::cmd::migrate::CachedSocket>,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE does not check payload CRCs.
    pub skip_checksum_validation: bool,
    /// Eviction candidates kept between rounds, and the db random eviction tries next.
    pub evict_pool: crate::db::evict::Pool,
    pub evict_next_db: usize,
    pub aof: aof::Aof,
    pub prop: propagate::Propagation,
    pub repl: repl::Repl,
    pub clients_mem: clients_mem::ClientsMem,
    /// The event loop, once running (see `process_events_while_blocked`).
    pub reactor: Option<std::rc::Rc<reactor::Reactor>>,
    /// Ready events of the current loop iteration not handled yet: (token, readable,
    /// writable).
    pub ready: std::collections::VecDeque<(usize, bool, bool)>,
    /// A dataset is being loaded (startup, DEBUG RELOAD): commands without the
    /// `loading` flag get -LOADING.
    pub loading: Option<Loading>,
    /// EVAL scripts and function libraries.
    pub scripts: crate::script::Scripts,
    /// While a script runs: its start time, the logical time of every command it runs.
    pub script_time_ms: Option<i64>,
    /// Memory was over maxmemory when the current command was accepted (scripts check
    /// it before their first write). Redis compat: server.pre_command_oom_state.
    pub pre_command_oom: bool,
    /// Evictions are under way between commands (a lowered maxmemory, or a command's
    /// eviction that ran out of time). Redis compat: evict.c evictionTimeProc.
    pub evict_pending: bool,
    /// DEBUG PAUSE-CRON: the periodic tasks do not run.
    pub cron_paused: bool,
    /// Cluster mode's state (`cluster-enabled yes`).
    pub cluster: Option<Box<cluster::Cluster>>,
    /// Sentinel mode's state (None for a data server).
    pub sentinel: Option<Box<crate::sentinel::Sentinel>>,
    /// When the cluster's periodic work last ran (unix ms).
    pub cluster_cron_ms: i64,
}

/// Progress of a load, for INFO.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loading {
    pub start_secs: i64,
    pub total_bytes: u64,
    pub loaded_bytes: u64,
    /// `loaded_bytes` when events were last processed.
    pub events_at: u64,
    /// The old dataset keeps being served meanwhile (INFO async_loading; only
    /// commands flagged no-async-loading are refused). Redis compat: server.async_loading.
    pub asynchronous: bool,
    /// Started by a master's snapshot arriving (ended when its link drops).
    pub from_link: bool,
}

impl Server {
    /// The `tls-port` listened on (0: none).
    pub fn tls_port(&self) -> u16 {
        self.cfg.int("tls-port") as u16
    }

    /// Whether TLS is in use: a TLS port, or links to a master or cluster nodes over TLS.
    pub fn tls_wanted(&self) -> bool {
        self.tls_port() != 0 || self.cfg.yes("tls-replication") || self.cfg.yes("tls-cluster")
    }

    /// Rebuilds the TLS contexts after CONFIG SET of a `tls-*` directive, when TLS is
    /// in use. false: the configuration is unusable (logged; the old contexts stay).
    /// Redis compat: config.c applyTlsCfg.
    pub fn tls_reconfigure(&mut self) -> bool {
        if !self.tls_wanted() {
            return true;
        }
        match tls::configure(&self.cfg) {
            Some(t) => {
                self.tls = Some(Box::new(t));
                true
            }
            None => false,
        }
    }

    pub fn new(cfg: Config) -> Self {
        let n = cfg.databases;
        let mut rng = SmallRng::from_os_rng();
        let run_id: String = (0..40)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
            .collect();
        let now = clock::now_ms();
        let hz = cfg.hz;
        let mut acl = acl::Acl::default();
        acl.set_requirepass(cfg.requirepass.as_deref());
        Server {
            acl,
            slowlog: Default::default(),
            pause: None,
            pauses: [None; 3],
            failover: None,
            postponed: Vec::new(),
            replica_written: Default::default(),
            latency: Default::default(),
            dbs: (0..n).map(Db::new).collect(),
            defrag: Default::default(),
            blocked_last_cron: 0,
            cfg,
            clients: Slab::new(),
            stats: Stats::default(),
            rng,
            run_id,
            start_ms: now,
            start_mono_us: clock::mono_us(),
            next_client_id: 1,
            dirty: 0,
            lastsave: now / 1000,
            shutdown: None,
            shutdown_wait: None,
            shutdown_callers: Vec::new(),
            active_expire: true,
            expire_next_db: 0,
            pending_close: Vec::new(),
            pending_reads: Default::default(),
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            hz,
            reply_peak_reset_ms: REPLY_PEAK_RESET_MS,
            reply_resizing: true,
            oom_base: None,
            tcp_port: 0,
            peak_memory: 0,
            mem_sample: Default::default(),
            listeners: Vec::new(),
            tls: None,
            registry: None,
            pidfile_written: false,
            startup_memory: 0,
            blocking: Default::default(),
            watched: HashMap::new(),
            in_exec: false,
            pubsub: Default::default(),
            tracking: Default::default(),
            pending_writes: Vec::new(),
            monitors: Vec::new(),
            db_events: (false, false),
            own_events: None,
            rdb: Default::default(),
            migrate_cache: HashMap::new(),
            skip_checksum_validation: false,
            evict_pool: Default::default(),
            evict_next_db: 0,
            aof: Default::default(),
            prop: Default::default(),
            repl: Default::default(),
            clients_mem: Default::default(),
            reactor: None,
            ready: Default::default(),
            loading: None,
            scripts: Default::default(),
            script_time_ms: None,
            pre_command_oom: false,
            evict_pending: false,
            cron_paused: false,
            cluster: None,
            sentinel: None,
            cluster_cron_ms: 0,
        }
    }

    /// Marks a client to be closed before the next poll.
    pub fn close_client_async(&mut self, cid: usize) {
        if let Some(c) = self.clients.get_mut(cid) {
            if !c.close_asap {
                c.close_asap = true;
                self.pending_close.push(cid);
            }
        }
    }

    /// Whether connections must authenticate (requirepass set).
    /// Serves other clients once while a long operation runs on the main thread.
    pub fn process_events_while_blocked(&mut self) {
        if let Some(r) = self.reactor.clone() {
            r.run_blocked(self);
        }
        if self.loading.is_some() {
            self.while_blocked_cron();
        }
    }

    /// Whether a client must still log in (the default user has a password or is off).
    /// Redis compat: networking.c authRequired.
    pub fn auth_required(&self, cid: usize) -> bool {
        !self.acl.default_logs_in() && !self.clients.get(cid).is_some_and(|c| c.authenticated)
    }

    /// The last line before the process exits. Redis compat: server.c
    /// finishShutdown ("Sentinel" in Sentinel mode).
    pub fn exit_line(&self) -> &'static str {
        if self.sentinel.is_some() {
            "Sentinel is now ready to exit, bye bye..."
        } else {
            "ferrodis is now ready to exit, bye bye..."
        }
    }

    pub fn uptime_secs(&self) -> u64 {
        (clock::mono_us() - self.start_mono_us) / 1_000_000
    }
}
