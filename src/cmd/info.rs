//! INFO: every section with Redis's field names. Fields for subsystems that land
//! later (persistence, replication) are present with honest idle values.
use std::fmt::Write as _;

use super::error::CmdResult;
use super::spec::*;
use super::{table, Args, Ctx};
use crate::server::aof::AofState;
use crate::server::Server;

const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];
/// Sections of a plain INFO (and "default"). Redis compat: server.c genInfoSectionDict.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else if n < 1024.0f64.powi(4) {
        format!("{:.2}G", n / 1024.0f64.powi(3))
    } else {
        format!("{:.2}T", n / 1024.0f64.powi(4))
    }
}

pub use crate::alloc::used_memory;

/// Allocator statistics: (allocated, active, resident).
pub fn allocator_stats() -> (u64, u64, u64) {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    let a = stats::allocated::read().unwrap_or(0) as u64;
    let c = stats::active::read().unwrap_or(0) as u64;
    let r = stats::resident::read().unwrap_or(0) as u64;
    (a, c, r)
}

/// Figures that cost system calls to read (the process RSS, the allocator's totals),
/// sampled by the cron every 100 ms with used_memory beside them, for INFO memory and
/// MEMORY STATS to read. Redis compat: server.c cronUpdateMemoryStats.
#[derive(Default, Clone, Copy)]
pub struct MemSample {
    /// When it was taken (0: never).
    pub at_ms: i64,
    pub used: u64,
    pub rss: u64,
    pub alloc: u64,
    pub active: u64,
    pub resident: u64,
}

impl MemSample {
    /// How old a sample the cron lets INFO read.
    pub const PERIOD_MS: i64 = 100;

    pub fn take(now_ms: i64) -> MemSample {
        let (alloc, active, resident) = allocator_stats();
        MemSample {
            at_ms: now_ms,
            used: used_memory(),
            rss: rss_bytes(),
            alloc,
            active,
            resident,
        }
    }
}

/// The memory accounting INFO memory and MEMORY STATS share.
pub struct MemFigures {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    /// used_memory when `rss` was sampled: the fragmentation ratio compares the two.
    pub sampled_used: u64,
    pub rss: u64,
    pub alloc: u64,
    pub active: u64,
    pub resident: u64,
    pub backlog: u64,
    pub replicas: u64,
    pub normal: u64,
    pub aof: u64,
    /// The script cache (used_memory_scripts_eval).
    pub scripts: u64,
    /// The function libraries (used_memory_functions).
    pub functions: u64,
    /// Each database with keys: its id, and the memory of its key table and TTL index.
    pub tables: Vec<(usize, (usize, usize))>,
}

impl MemFigures {
    /// Also raises the recorded peak.
    pub fn take(srv: &mut Server) -> MemFigures {
        if srv.mem_sample.at_ms == 0 {
            srv.mem_sample = MemSample::take(crate::clock::now_ms());
        }
        let MemSample {
            used: sampled_used,
            rss,
            alloc,
            active,
            resident,
            ..
        } = srv.mem_sample;
        let used = used_memory();
        let peak = srv.peak_memory.max(used);
        srv.peak_memory = peak;
        MemFigures {
            used,
            peak,
            startup: srv.startup_memory.min(used),
            sampled_used,
            rss,
            alloc,
            active,
            resident,
            backlog: srv.backlog_bytes(),
            replicas: srv.replica_output_bytes(),
            normal: srv
                .clients
                .iter()
                .filter(|(_, c)| c.replica.is_none() && !c.is_internal())
                .map(|(_, c)| c.memory())
                .sum::<usize>() as u64,
            aof: srv.aof.buf.capacity() as u64,
            scripts: srv.scripts.eval_caches_memory(),
            functions: srv.scripts.functions.caches_memory(),
            tables: srv
                .dbs
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.is_empty())
                .map(|(i, d)| (i, d.table_bytes()))
                .collect(),
        }
    }

    /// Memory that is not the dataset: what the server had at startup, buffers,
    /// caches and the keyspace tables. Redis compat: object.c getMemoryOverheadData.
    pub fn overhead(&self) -> u64 {
        let tables: u64 = self.tables.iter().map(|(_, (k, e))| (k + e) as u64).sum();
        self.startup + self.backlog + self.replicas + self.normal + self.aof + self.scripts + self.functions + tables
    }
}

/// `a / b`, 0 when b is 0.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn rusage(who: i32) -> (f64, f64) {
    // Safety: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

/// The machine's memory, read once (Redis compat: server.c initServer reads it at
/// startup).
fn total_system_memory() -> u64 {
    static TOTAL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        let s = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    })
}

/// Builds the INFO text for the requested section names (lowercase). Bytes: error
/// codes in errorstats are whatever the error replies began with.
pub fn info_string(srv: &mut Server, args: &[String]) -> Vec<u8> {
    let mut want: Vec<&str> = Vec::new();
    if args.is_empty() {
        want.extend(DEFAULT);
    }
    for a in args {
        match a.as_str() {
            "default" => want.extend(DEFAULT),
            "all" => want.extend(SECTIONS.iter().filter(|s| **s != "modules")),
            "everything" => want.extend(SECTIONS),
            s => {
                if let Some(x) = SECTIONS.iter().find(|x| **x == s) {
                    want.push(x);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut text = String::new();
    for s in SECTIONS {
        if !want.contains(s) {
            continue;
        }
        if !out.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        if *s == "errorstats" {
            errorstats(srv, &mut out);
            continue;
        }
        text.clear();
        section(srv, s, &mut text);
        out.extend_from_slice(text.as_bytes());
    }
    out
}

/// One line per error code, in byte order. Redis compat: server.c genRedisInfoString
/// (a rax of codes) and getSafeInfoString (':' and line ends become '_').
fn errorstats(srv: &Server, out: &mut Vec<u8>) {
    out.extend_from_slice(b"# Errorstats\r\n");
    let mut rows: Vec<_> = srv.stats.errors.iter().collect();
    rows.sort();
    for (code, n) in rows {
        out.extend_from_slice(b"errorstat_");
        out.extend(
            code.iter()
                .map(|&c| if matches!(c, b':' | b'\r' | b'\n') { b'_' } else { c }),
        );
        out.extend_from_slice(format!(":count={n}\r\n").as_bytes());
    }
}

fn section(srv: &mut Server, name: &str, o: &mut String) {
    let now_us = crate::clock::now_us();
    match name {
        "server" => {
            let up = srv.uptime_secs();
            let _ = write!(
                o,
                "# Server\r\nredis_version:{}\r\nferrodis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:{}\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                crate::REDIS_VERSION,
                env!("CARGO_PKG_VERSION"),
                if srv.sentinel.is_some() {
                    "sentinel"
                } else if srv.cluster.is_some() {
                    "cluster"
                } else {
                    "standalone"
                },
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                crate::util::supervise::info_name(),
                srv.run_id,
                srv.cfg.listen_port(),
                now_us,
                up,
                up / 86400,
                srv.hz,
                srv.cfg.hz,
                crate::db::lru_clock((now_us / 1000) as i64),
                srv.executable,
                srv.cfg.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            );
            if let Some(w) = &srv.shutdown_wait {
                let _ = write!(
                    o,
                    "shutdown_in_milliseconds:{}\r\n",
                    w.deadline_ms - (now_us / 1000) as i64
                );
            }
        }
        "clients" => {
            let maxin = srv.clients.iter().map(|(_, c)| c.query.capacity()).max().unwrap_or(0);
            let maxout = srv
                .clients
                .iter()
                .map(|(_, c)| c.reply.buf.capacity())
                .max()
                .unwrap_or(0);
            let _ = write!(
                o,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
                // Redis compat: server.c genRedisInfoString counts replicas apart.
                srv.clients.len().saturating_sub(srv.repl.replicas.len()),
                srv.cfg.maxclients,
                maxin,
                maxout,
                srv.blocking.count + srv.postponed.len(),
                srv.tracking.clients,
                srv.blocking.timeouts.len()
            );
        }
        "memory" => {
            let m = MemFigures::take(srv);
            let MemFigures {
                used,
                peak,
                startup,
                rss,
                alloc,
                active,
                resident,
                backlog,
                replicas,
                normal,
                aof,
                scripts,
                functions,
                ..
            } = m;
            let vm_eval = srv.scripts.eval_vm_memory();
            let vm_functions = srv.scripts.functions.vm_memory();
            let overhead = m.overhead().min(used);
            let dataset = used.saturating_sub(overhead);
            let sysmem = total_system_memory();
            let policy = srv.cfg.get("maxmemory-policy").unwrap_or("noeviction").to_string();
            let pct = |a: u64, b: u64| {
                if b == 0 {
                    0.0
                } else {
                    a as f64 * 100.0 / b as f64
                }
            };
            let _ = write!(
                o,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:{startup}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{alloc}\r\nallocator_active:{active}\r\nallocator_resident:{resident}\r\ntotal_system_memory:{sysmem}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:{vm_eval}\r\nused_memory_vm_eval:{vm_eval}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{scripts}\r\nnumber_of_cached_scripts:{}\r\nnumber_of_functions:{}\r\nnumber_of_libraries:{}\r\nused_memory_vm_functions:{vm_functions}\r\nused_memory_vm_total:{}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:{functions}\r\nused_memory_scripts:{}\r\nused_memory_scripts_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{policy}\r\nallocator_frag_ratio:{:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:{:.2}\r\nrss_overhead_bytes:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:{}\r\nmem_replication_backlog:{}\r\nmem_total_replication_buffers:{}\r\nmem_clients_slaves:{}\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:{}\r\nmem_allocator:jemalloc-5.3.0\r\nactive_defrag_running:{}\r\nlazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
                human_bytes(used),
                human_bytes(rss),
                human_bytes(peak),
                pct(used, peak),
                pct(dataset, used.saturating_sub(startup).max(1)),
                human_bytes(sysmem),
                human_bytes(vm_eval),
                srv.scripts.cache.len(),
                srv.scripts.functions.function_count(),
                srv.scripts.functions.libs.len(),
                vm_eval + vm_functions,
                human_bytes(vm_eval + vm_functions),
                scripts + functions,
                human_bytes(scripts + functions),
                srv.cfg.maxmemory,
                human_bytes(srv.cfg.maxmemory),
                ratio(active, alloc),
                active as i64 - alloc as i64,
                ratio(resident, active),
                resident as i64 - active as i64,
                ratio(rss, resident),
                rss as i64 - resident as i64,
                ratio(rss, m.sampled_used),
                rss as i64 - m.sampled_used as i64,
                srv.mem_not_counted_for_evict(),
                backlog,
                srv.repl.buf.mem(),
                replicas,
                normal,
                aof,
                srv.defrag.running,
                crate::db::lazyfree::pending(),
                crate::db::lazyfree::freed(),
            );
        }
        "persistence" => {
            let (cow, done, total, perc) = srv.rdb.progress();
            let loading = srv.loading.is_some_and(|l| !l.asynchronous) as u8;
            let async_loading = srv.loading.is_some_and(|l| l.asynchronous) as u8;
            let loading_info = match srv.loading {
                Some(l) if !l.asynchronous => {
                    let perc = if l.total_bytes > 0 {
                        l.loaded_bytes as f64 * 100.0 / l.total_bytes as f64
                    } else {
                        0.0
                    };
                    let elapsed = (crate::clock::now_ms() / 1000 - l.start_secs).max(0) as u64;
                    let eta = if l.loaded_bytes > 0 && elapsed > 0 {
                        (l.total_bytes - l.loaded_bytes.min(l.total_bytes)) / (l.loaded_bytes / elapsed).max(1)
                    } else {
                        1
                    };
                    format!(
                        "loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
                        l.start_secs, l.total_bytes, l.loaded_bytes
                    )
                }
                _ => String::new(),
            };
            let _ = write!(
                o,
                "# Persistence\r\nloading:{loading}\r\n{loading_info}async_loading:{async_loading}\r\ncurrent_cow_peak:{cow}\r\ncurrent_cow_size:{cow}\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:{perc:.2}\r\ncurrent_save_keys_processed:{done}\r\ncurrent_save_keys_total:{total}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:{}\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                srv.dirty,
                srv.rdb.saving() as u8,
                srv.lastsave,
                if srv.rdb.last_bgsave_ok { "ok" } else { "err" },
                srv.rdb.last_bgsave_secs,
                srv.rdb.bg_elapsed_secs(),
                srv.rdb.saves,
                srv.rdb.last_cow_size,
                srv.rdb.last_load_keys_expired,
                srv.rdb.last_load_keys_loaded,
                (srv.aof.state != AofState::Off) as u8,
                srv.aof.rewrite.is_some() as u8,
                srv.aof.rewrite_scheduled as u8,
                srv.aof.last_rewrite_secs,
                srv.aof_rewrite_elapsed(),
                if srv.aof.last_rewrite_ok { "ok" } else { "err" },
                srv.aof.rewrites,
                srv.aof.consecutive_failures,
                if srv.aof.last_write_ok { "ok" } else { "err" },
                srv.aof.last_cow_size,
            );
            if srv.aof.state != AofState::Off {
                let _ = write!(
                    o,
                    "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                    srv.aof.current_size,
                    srv.aof.base_size,
                    srv.aof.rewrite_scheduled as u8,
                    srv.aof.buf.len(),
                );
            }
        }
        "stats" => {
            let st = &srv.stats;
            let expired: u64 = srv.dbs.iter().map(|d| d.expired_count).sum();
            let inst = srv.instantaneous();
            let (ops, kin, kout) = (inst.ops, inst.input_kbps, inst.output_kbps);
            let (krin, krout) = (inst.repl_input_kbps, inst.repl_output_kbps);
            let migrate = srv.migrate_cache.len();
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{ops}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:{}\r\ntotal_net_repl_output_bytes:{}\r\ninstantaneous_input_kbps:{kin:.2}\r\ninstantaneous_output_kbps:{kout:.2}\r\ninstantaneous_input_repl_kbps:{krin:.2}\r\ninstantaneous_output_repl_kbps:{krout:.2}\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{expired}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:{}\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:{}\r\nmigrate_cached_sockets:{migrate}\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:{}\r\nactive_defrag_misses:{}\r\nactive_defrag_key_hits:{}\r\nactive_defrag_key_misses:{}\r\ntotal_active_defrag_time:{}\r\ncurrent_active_defrag_time:{}\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:{}\r\nreply_buffer_expands:{}\r\n",
                st.total_connections,
                st.total_commands,
                st.net_input,
                st.net_output,
                st.net_repl_input,
                st.net_repl_output,
                st.rejected_connections,
                st.sync_full,
                st.sync_partial_ok,
                st.sync_partial_err,
                st.expired_stale_perc,
                st.expire_cycle_timeouts,
                st.expire_cycle_cpu_ms,
                st.evicted_keys,
                st.evicted_clients,
                st.keyspace_hits,
                st.keyspace_misses,
                srv.pubsub.channels.len(),
                srv.pubsub.patterns.len(),
                srv.pubsub.shard.len(),
                srv.aof.forks,
                srv.defrag.blocks.hits,
                srv.defrag.blocks.misses,
                srv.defrag.keys.hits,
                srv.defrag.keys.misses,
                srv.defrag.total_ms,
                srv.defrag.current_ms(),
                srv.tracking.total_keys(),
                srv.tracking.total_items(),
                srv.tracking.total_prefixes(),
                st.unexpected_error_replies,
                st.total_error_replies,
                st.io_reads,
                st.io_writes,
                st.reply_buffer_shrinks,
                st.reply_buffer_expands,
            );
        }
        "replication" => o.push_str(&srv.repl_info()),
        "cpu" => {
            let (ss, su) = rusage(libc::RUSAGE_SELF);
            let (cs, cu) = rusage(libc::RUSAGE_CHILDREN);
            let (ts, tu) = rusage(libc::RUSAGE_THREAD);
            let _ = write!(
                o,
                "# CPU\r\nused_cpu_sys:{ss:.6}\r\nused_cpu_user:{su:.6}\r\nused_cpu_sys_children:{cs:.6}\r\nused_cpu_user_children:{cu:.6}\r\nused_cpu_sys_main_thread:{ts:.6}\r\nused_cpu_user_main_thread:{tu:.6}\r\n"
            );
        }
        "modules" => o.push_str("# Modules\r\n"),
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            let t = table();
            let mut rows: Vec<(&str, crate::server::CmdStat)> = srv
                .stats
                .cmd
                .iter()
                .enumerate()
                .filter(|(_, st)| st.calls > 0 || st.rejected > 0 || st.failed > 0)
                .filter_map(|(id, st)| Some((t.names.get(id)?.as_str(), *st)))
                .collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for (n, st) in rows {
                let per = if st.calls == 0 {
                    0.0
                } else {
                    st.usec as f64 / st.calls as f64
                };
                let _ = write!(
                    o,
                    "cmdstat_{n}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                    st.calls, st.usec, st.rejected, st.failed
                );
            }
        }
        "latencystats" => {
            o.push_str("# Latencystats\r\n");
            let t = table();
            let mut rows: Vec<(&str, &crate::ds::histogram::Histogram)> = srv
                .stats
                .latency
                .iter()
                .enumerate()
                .filter_map(|(id, h)| Some((t.names.get(id)?.as_str(), h.as_ref()?)))
                .filter(|(_, h)| h.total() > 0)
                .collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for (name, h) in rows {
                let parts: Vec<String> = srv
                    .cfg
                    .latency_percentiles
                    .iter()
                    .map(|p| {
                        format!(
                            "p{}={:.3}",
                            crate::config::trim_float(*p),
                            h.percentile(*p) as f64 / 1000.0
                        )
                    })
                    .collect();
                let _ = write!(o, "latency_percentiles_usec_{name}:{}\r\n", parts.join(","));
            }
        }
        "cluster" => {
            let _ = write!(o, "# Cluster\r\ncluster_enabled:{}\r\n", srv.cluster.is_some() as u8);
        }
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for (i, db) in srv.dbs.iter().enumerate() {
                if db.is_empty() {
                    continue;
                }
                let _ = write!(
                    o,
                    "db{i}:keys={},expires={},avg_ttl={}\r\n",
                    db.len(),
                    db.expires_len(),
                    db.avg_ttl
                );
            }
        }
        _ => {}
    }
}

fn info(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let args: Vec<String> = a
        .rest(1)
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let s = info_string(ctx.srv, &args);
    ctx.out.verbatim(&s, "txt");
    Ok(())
}

pub const COMMANDS: &[CommandSpec] = &[cmd("info", -1, LOADING | STALE | SENTINEL, ACL_DANGEROUS, info)
    .doc(
        "server",
        "1.0.0",
        "O(1)",
        "Returns information and statistics about the server.",
    )
    .tips(TIPS_SHARDS_REPORT)];
