//! The ferrodis binary: `ferrodis [configfile|-] [--directive value ...]`, exactly like
//! redis-server. Parses the config, daemonizes if asked, logs the startup lines,
//! binds, runs the reactor until shutdown.
use std::process::ExitCode;

use ferrodis::config::{Config, LogLevel};
use ferrodis::server::reactor::{self, Reactor};
use ferrodis::server::Server;
use ferrodis::{log, REDIS_VERSION};
use tracing::{info, warn};

#[global_allocator]
static ALLOC: ferrodis::alloc::Counting = ferrodis::alloc::Counting;

/// jemalloc options read at startup: return freed pages to the OS from jemalloc's own
/// background thread instead of inside the event loop's allocations (like Redis's
/// jemalloc-bg-thread yes), so big frees never stall the loop.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8; 23] = b"background_thread:true\0";

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn usage() {
    eprintln!(
        "Usage: ./ferrodis [/path/to/redis.conf] [options] [-]\n       ./ferrodis - (read config from stdin)\n       ./ferrodis -v or --version\n       ./ferrodis -h or --help\n\nExamples:\n       ./ferrodis (run the server with default conf)\n       echo 'maxmemory 128mb' | ./ferrodis -\n       ./ferrodis /etc/redis/6379.conf\n       ./ferrodis --port 7777\n       ./ferrodis /etc/myredis.conf --loglevel verbose -\n       ./ferrodis /etc/myredis.conf --loglevel verbose\n"
    );
}

fn daemonize() {
    // Safety: called before any thread is started; the child continues alone.
    unsafe {
        match libc::fork() {
            -1 => return,
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd != -1 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// Lets maxclients connections (plus some for files) be open at once, like Redis's
/// adjustOpenFilesLimit; lowers nothing and only logs when it cannot raise.
fn raise_open_files(maxclients: usize) {
    let want = (maxclients + 32) as libc::rlim_t;
    // Safety: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= want {
            return;
        }
        let target = libc::rlimit {
            rlim_cur: want.min(lim.rlim_max.max(want)),
            rlim_max: lim.rlim_max.max(want),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &target) != 0 {
            let soft = libc::rlimit {
                rlim_cur: want.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &soft) != 0 || soft.rlim_cur < want {
                warn!(
                    "You requested maxclients of {maxclients} requiring at least {want} max file descriptors; the open files limit could only be set to {}.",
                    soft.rlim_cur.max(lim.rlim_cur)
                );
            }
        }
    }
}

/// With transparent huge pages on for every process ("always"), turns them off for
/// this one when `disable-thp` says so (a huge page makes a small write fault in 2 MB),
/// or warns. Redis compat: server.c linuxMemoryWarnings (its THP part).
fn disable_thp(disable: bool) {
    let Ok(mode) = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled") else {
        return;
    };
    if !mode.contains("[always]") {
        return;
    }
    // Safety: prctl with integer arguments only.
    if disable && unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0 {
        return;
    }
    warn!("WARNING You have Transparent Huge Pages (THP) support enabled in your kernel. This will create latency and memory usage issues with ferrodis. To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, and add it to your /etc/rc.local in order to retain the setting after a reboot. ferrodis must be restarted after THP is disabled (set to 'madvise' or 'never').");
}

fn logo(port: u16, pid: u32, mode: &str) -> String {
    format!(
        "\n     ______                     _ _\n    |  ____|__ _ __ _ __ ___   __| (_)___     ferrodis {VERSION} (Redis {REDIS_VERSION} compatible) 64 bit\n    | |__ / _ \\ '__| '__/ _ \\ / _` | / __|\n    |  __|  __/ |  | | | (_) | (_| | \\__ \\    Running in {mode} mode\n    |_|   \\___|_|  |_|  \\___/ \\__,_|_|___/    Port: {port}\n                                               PID: {pid}\n\n"
    )
}

/// Sentinel's state from its config lines; it needs a config file it can write.
/// Redis compat: sentinel.c sentinelCheckConfigFile, loadSentinelConfigFromQueue.
fn start_sentinel(cfg: &Config) -> Result<Box<ferrodis::sentinel::Sentinel>, ExitCode> {
    let Some(path) = cfg.file.as_ref() else {
        warn!("Sentinel needs config file on disk to save state. Exiting...");
        return Err(ExitCode::from(1));
    };
    if let Err(e) = std::fs::OpenOptions::new().append(true).open(path) {
        warn!(
            "Sentinel config file {} is not writable: {e}. Exiting...",
            path.display()
        );
        return Err(ExitCode::from(1));
    }
    let mut s = Box::new(ferrodis::sentinel::Sentinel::new());
    if let Err((line, text, msg)) = s.load_config(&cfg.sentinel_lines) {
        eprintln!("\n*** FATAL CONFIG FILE ERROR (ferrodis {VERSION}) ***");
        eprintln!("Reading the configuration file, at line {line}");
        eprintln!(">>> '{text}'");
        eprintln!("{msg}");
        return Err(ExitCode::from(1));
    }
    Ok(s)
}

/// A Sentinel that has no id yet picks one and saves it; every monitored master gets
/// its +monitor event. Redis compat: sentinel.c sentinelIsRunning.
fn sentinel_is_running(srv: &mut Server) {
    let Some(s) = srv.sentinel.as_deref_mut() else { return };
    if s.myid.is_empty() {
        s.myid = ferrodis::server::repl::new_replid();
        srv.sentinel_flush_config();
    }
    let Some(s) = srv.sentinel.as_deref_mut() else { return };
    warn!("Sentinel ID is {}", s.myid);
    for m in 0..s.masters.len() {
        let q = s.masters[m].quorum;
        s.event(
            LogLevel::Warning,
            "+monitor",
            Some(ferrodis::sentinel::At::Master(m)),
            &format!("quorum {q}"),
        );
    }
    srv.sentinel_after();
}

fn main() -> ExitCode {
    // This thread runs the keyspace: its allocations are counted without a locked add.
    ferrodis::alloc::own_counter();
    let args: Vec<String> = std::env::args().skip(1).collect();
    ferrodis::util::proctitle::init();
    if let Some(a) = args.first() {
        if args.len() == 1 && (a == "-v" || a == "--version") {
            // The Redis version comes first, where scripts and client test harnesses
            // read it (the first number, or the text after " v="), as from redis-server.
            println!(
                "ferrodis server v={REDIS_VERSION} sha=00000000:0 malloc=jemalloc bits=64 ferrodis_version={VERSION}"
            );
            return ExitCode::SUCCESS;
        }
        if (2..=3).contains(&args.len()) && a == ferrodis::persist::child::FLAG {
            return ferrodis::persist::child::run(&args[1], args.get(2).map(|s| s.as_str()));
        }
        if args.len() == 1 && (a == "-h" || a == "--help") {
            usage();
            return ExitCode::SUCCESS;
        }
    }
    // Sentinel mode: the binary run as redis-sentinel, or --sentinel among the
    // arguments (a flag without a value). Redis compat: server.c checkForSentinelMode.
    let argv0 = std::env::args().next().unwrap_or_default();
    let as_sentinel = std::path::Path::new(&argv0)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("redis-sentinel"))
        || args.iter().any(|a| a == "--sentinel");
    let args: Vec<String> = args.into_iter().filter(|a| a != "--sentinel").collect();
    if as_sentinel {
        ferrodis::cmd::set_sentinel_mode();
        log::set_role(b'X');
    }
    let defaults: &[(&str, &str)] = if as_sentinel {
        &[("port", "26379"), ("protected-mode", "no")]
    } else {
        &[]
    };
    let mut cfg = match Config::from_args_with(&args, defaults) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\n*** FATAL CONFIG FILE ERROR (ferrodis {VERSION}) ***");
            if e.line > 0 {
                eprintln!("Reading the configuration file, at line {}", e.line);
                eprintln!(">>> '{}'", e.text);
            }
            eprintln!("{}", e.msg);
            return ExitCode::from(1);
        }
    };
    if !cfg.logfile.is_empty() {
        if let Err(e) = std::fs::OpenOptions::new().create(true).append(true).open(&cfg.logfile) {
            eprintln!("\n*** FATAL CONFIG FILE ERROR (ferrodis {VERSION}) ***\nCan't open the log file: {e}");
            return ExitCode::from(1);
        }
    }
    let (supervised, pending) = ferrodis::util::supervise::setup(cfg.get("supervised").unwrap_or("no"));
    if cfg.daemonize && !supervised {
        // A daemon always leaves its pid somewhere: Redis's default file unless told
        // otherwise. Redis compat: server.c createPidFile.
        if cfg.pidfile.is_empty() {
            let default = "/var/run/redis.pid".to_string();
            let _ = cfg.set("pidfile", std::slice::from_ref(&default));
            cfg.pidfile = default;
        }
        daemonize();
    }
    log::init(cfg.loglevel, &cfg.logfile);
    if cfg.yes("syslog-enabled") {
        log::open_syslog(
            cfg.get("syslog-ident").unwrap_or("redis"),
            cfg.enum_code("syslog-facility"),
        );
    }
    for (warning, line) in pending {
        if warning {
            warn!("{line}");
        } else {
            info!("{line}");
        }
    }
    let pid = std::process::id();
    warn!("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    warn!("ferrodis version={VERSION}, redis_version={REDIS_VERSION}, bits=64, pid={pid}, just started");
    if cfg.file.is_none() && args.is_empty() {
        warn!("Warning: no config file specified, using the default config. In order to specify a config file use ferrodis /path/to/redis.conf");
    } else {
        warn!("Configuration loaded");
    }
    for w in &cfg.warnings {
        warn!("{w}");
    }
    let sentinel = if as_sentinel {
        match start_sentinel(&cfg) {
            Ok(s) => Some(s),
            Err(code) => return code,
        }
    } else {
        None
    };
    raise_open_files(cfg.maxclients);
    ferrodis::crash::set_report(cfg.yes("crash-log-enabled"));
    ferrodis::crash::init();
    let mut srv = Server::new(cfg);
    srv.sentinel = sentinel;
    srv.oom_adjust();
    if let Err(e) = srv.load_users_at_startup() {
        warn!("{e}");
        return ExitCode::from(1);
    }
    let pidfile = srv.cfg.pidfile.clone();
    if !pidfile.is_empty() {
        if std::fs::write(&pidfile, format!("{pid}\n")).is_ok() {
            srv.pidfile_written = true;
            ferrodis::crash::set_pidfile(&pidfile);
        } else {
            warn!("Failed to write PID file: {pidfile}");
        }
    }
    let reactor = match Reactor::new(&mut srv) {
        Ok(r) => r,
        Err(e) => {
            warn!("{e}");
            return ExitCode::from(1);
        }
    };
    srv.cfg.show_proc_title();
    let mode = if srv.sentinel.is_some() {
        "sentinel"
    } else if srv.cluster.is_some() {
        "cluster"
    } else {
        "standalone"
    };
    // Redis compat: server.c redisAsciiArt: the logo goes to a terminal (not to a
    // log file or syslog), or anywhere when always-show-logo says so.
    let to_tty = !log::syslog_enabled() && srv.cfg.logfile.is_empty() && unsafe { libc::isatty(1) } == 1;
    if srv.cfg.always_show_logo || to_tty {
        log::write_raw(&logo(srv.cfg.listen_port(), pid, mode));
    } else {
        info!("Running mode={mode}, port={}.", srv.cfg.listen_port());
    }
    let reactor = std::rc::Rc::new(reactor);
    srv.reactor = Some(reactor.clone());
    // Redis compat: server.c main (a Sentinel logs neither line).
    if srv.sentinel.is_none() {
        warn!("Server initialized");
    }
    disable_thp(srv.cfg.yes("disable-thp"));
    if srv.sentinel.is_some() {
        sentinel_is_running(&mut srv);
    } else if srv.load_data_at_startup().is_err() {
        return ExitCode::from(1);
    }
    if let Err(e) = srv.cluster_verify_data() {
        warn!("{e}");
        return ExitCode::from(1);
    }
    srv.startup_memory = ferrodis::cmd::info::used_memory();
    if srv.sentinel.is_none() {
        reactor::log_ready(&srv);
    }
    ferrodis::util::supervise::notify(if srv.repl.master.is_none() {
        "STATUS=Ready to accept connections\n"
    } else {
        "STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n"
    });
    ferrodis::util::supervise::notify("READY=1\n");
    reactor.run(&mut srv);
    if log::enabled(LogLevel::Warning) {
        warn!("{}", srv.exit_line());
    }
    // The dataset is not freed value by value: the system takes the process's memory
    // back at once, where freeing a big dataset would hold the exit for seconds.
    std::mem::forget(std::mem::take(&mut srv.dbs));
    ExitCode::SUCCESS
}
