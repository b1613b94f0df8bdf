//! The event loop: one mio Poll over the listeners, every client, a signal source and
//! a waker. Reads until WouldBlock, runs every complete command in the query buffer,
//! writes the replies once per batch; cron runs every 1000/hz ms.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mio::net::{TcpListener, UnixListener};
use mio::{Events, Interest, Poll, Registry, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use tracing::{debug, info, warn};

use super::client::{Client, Conn};
use super::{call, Server, ShutdownReq};
use crate::clock;
use crate::resp::parse::{Limits, Parsed};

const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
/// Wakes the loop when a streamed snapshot has bytes for replicas.
pub const WAKER_TOKEN: Token = Token(usize::MAX - 2);
const LISTENER_BASE: usize = usize::MAX - 64;
use super::cluster::bus::{LINK_BASE as CLUSTER_LINK_BASE, LISTENER_BASE as CLUSTER_LISTENER_BASE};
const READ_CHUNK: usize = 16 * 1024;

pub enum Listener {
    Tcp(TcpListener),
    /// `tls-port`: its clients speak TLS.
    Tls(TcpListener),
    Unix(UnixListener),
}

/// Shared (`Rc`) between the loop and the server, so that long work inside a command
/// (loading, a busy script) can run the loop once without returning to it.
pub struct Reactor {
    poll: RefCell<Poll>,
    registry: Registry,
    signals: RefCell<Signals>,
}

/// The DENIED reply of protected mode. Redis compat: networking.c.
const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

fn bind_tcp(addr: &str, port: u16, backlog: i32) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let ip: IpAddr = match addr {
        "*" => IpAddr::from([0u8, 0, 0, 0]),
        "::*" => IpAddr::from([0u16; 8]),
        a => a
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "Name or service not known"))?,
    };
    let sa = SocketAddr::new(ip, port);
    let sock = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    if sa.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.bind(&sa.into())?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    Ok(TcpListener::from_std(sock.into()))
}

/// Opens the TCP listeners for `port` on `binds` (TLS ones when `tls`). Addresses
/// prefixed with '-' are skipped when unavailable. Err: the message to report.
fn bind_all(port: u16, binds: &[String], backlog: i32, tls: bool) -> Result<Vec<(Listener, String)>, String> {
    let mut out = Vec::new();
    if port == 0 {
        return Ok(out);
    }
    // An empty bind list (bind "") listens on no TCP address at all.
    for b in binds {
        let (optional, addr) = match b.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, b.as_str()),
        };
        match bind_tcp(addr, port, backlog) {
            Ok(l) if tls => out.push((Listener::Tls(l), format!("{addr}:{port}"))),
            Ok(l) => out.push((Listener::Tcp(l), format!("{addr}:{port}"))),
            Err(e) => {
                let unsupported = matches!(
                    e.raw_os_error(),
                    Some(libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)
                );
                if optional && unsupported {
                    continue;
                }
                warn!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: bind: {}",
                    crate::util::os_err(&e)
                );
                let kind = if tls { "TLS" } else { "TCP" };
                return Err(format!("Failed listening on port {port} ({kind}), aborting."));
            }
        }
    }
    Ok(out)
}

impl Server {
    fn register_listeners(&mut self) -> io::Result<()> {
        let Some(reg) = self.registry.as_ref() else {
            return Ok(());
        };
        for (i, (l, _)) in self.listeners.iter_mut().enumerate() {
            let t = Token(LISTENER_BASE + i);
            match l {
                Listener::Tcp(l) | Listener::Tls(l) => reg.register(l, t, Interest::READABLE)?,
                Listener::Unix(l) => reg.register(l, t, Interest::READABLE)?,
            }
        }
        Ok(())
    }

    /// Re-opens the TCP and TLS listeners after CONFIG SET port/tls-port/bind. On
    /// failure the previous ports and addresses are listened on again and Err says why.
    pub fn rebind(&mut self, old_port: u16, old_tls_port: u16, old_binds: &[String]) -> Result<(), String> {
        if let Some(reg) = self.registry.as_ref() {
            for (l, _) in self.listeners.iter_mut() {
                let _ = match l {
                    Listener::Tcp(l) | Listener::Tls(l) => reg.deregister(l),
                    Listener::Unix(l) => reg.deregister(l),
                };
            }
        }
        // Close the old TCP sockets first: the new set may reuse an address.
        let unix: Vec<(Listener, String)> = std::mem::take(&mut self.listeners)
            .into_iter()
            .filter(|(l, _)| matches!(l, Listener::Unix(_)))
            .collect();
        let backlog = self.cfg.tcp_backlog;
        let both = |port: u16, tls_port: u16, binds: &[String]| {
            let mut l = bind_all(port, binds, backlog, false)?;
            l.extend(bind_all(tls_port, binds, backlog, true)?);
            Ok::<_, String>(l)
        };
        let (result, tcp) = match both(self.cfg.port, self.tls_port(), &self.cfg.bind) {
            Ok(t) => (Ok(()), t),
            Err(e) => (Err(e), both(old_port, old_tls_port, old_binds).unwrap_or_default()),
        };
        self.listeners = tcp;
        self.listeners.extend(unix);
        let _ = self.register_listeners();
        if result.is_ok() {
            self.tcp_port = self.cfg.port;
        }
        result
    }

    /// Closes every listening socket (and removes the Unix socket files) so that a
    /// server on its way out refuses new connections. Redis compat: server.c
    /// closeListeningSockets. Leaving it to the process exit is not enough: the
    /// kernel may close a client's socket first, and that client, seeing EOF,
    /// could connect again before the listener goes.
    pub fn close_listeners(&mut self) {
        for (l, name) in self.listeners.drain(..) {
            if let Listener::Unix(_) = l {
                let _ = std::fs::remove_file(&name);
            }
        }
    }
}

impl Reactor {
    /// Binds every configured address. Err: the fatal message to log before exiting.
    pub fn new(srv: &mut Server) -> Result<Reactor, String> {
        let poll = Poll::new().map_err(|e| e.to_string())?;
        srv.registry = Some(poll.registry().try_clone().map_err(|e| e.to_string())?);
        let mut listeners = bind_all(srv.cfg.port, &srv.cfg.bind, srv.cfg.tcp_backlog, false)?;
        if srv.tls_wanted() {
            srv.tls = Some(Box::new(
                super::tls::configure(&srv.cfg).ok_or("Failed to configure TLS. Check logs for more info.")?,
            ));
        }
        listeners.extend(bind_all(srv.tls_port(), &srv.cfg.bind, srv.cfg.tcp_backlog, true)?);
        if !srv.cfg.unixsocket.is_empty() {
            let path = srv.cfg.unixsocket.clone();
            let _ = std::fs::remove_file(&path);
            match UnixListener::bind(&path) {
                Ok(l) => {
                    let perm = srv.cfg.unixsocketperm;
                    if perm != 0 {
                        use std::os::unix::fs::PermissionsExt;
                        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm));
                    }
                    listeners.push((Listener::Unix(l), path));
                }
                Err(e) => return Err(format!("Failed opening Unix socket: {e}")),
            }
        }
        if listeners.is_empty() {
            return Err("Configured to not listen anywhere, exiting.".into());
        }
        srv.listeners = listeners;
        srv.register_listeners().map_err(|e| e.to_string())?;
        srv.tcp_port = srv.cfg.port;
        if srv.cfg.yes("cluster-enabled") {
            srv.cluster_init()?;
        }
        let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| e.to_string())?;
        poll.registry()
            .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)
            .map_err(|e| e.to_string())?;
        let registry = poll.registry().try_clone().map_err(|e| e.to_string())?;
        Ok(Reactor {
            poll: RefCell::new(poll),
            registry,
            signals: RefCell::new(signals),
        })
    }

    /// Runs until a shutdown completes.
    pub fn run(&self, srv: &mut Server) {
        let mut events = Events::with_capacity(1024);
        let mut next_cron = clock::mono_us();
        // Set while a background snapshot runs: the longest the loop may sleep.
        let mut snap_wait: Option<Duration> = None;
        // Until when the loop polls instead of sleeping (see `wait`).
        let mut busy_until = 0;
        loop {
            let now = clock::mono_us();
            let wait = next_cron.saturating_sub(now);
            let wait = match srv.next_block_timeout(clock::now_ms()) {
                Some(ms) => wait.min(ms as u64 * 1000),
                None => wait,
            };
            let timeout = if srv.pending_close.is_empty() && srv.pending_reads.is_empty() && !srv.evict_pending {
                Duration::from_micros(wait)
            } else {
                Duration::ZERO
            };
            let timeout = snap_wait.map_or(timeout, |w| timeout.min(w));
            self.wait(&mut events, timeout, busy_until);
            let busy_from = clock::mono_us();
            // The thread's CPU time is a system call: read only when it can be logged.
            let debug = crate::log::enabled(crate::config::LogLevel::Debug);
            let cpu_from = if debug { clock::thread_cpu_us() } else { 0 };
            let (cmds_from, in_from, reads_from) = (srv.stats.total_commands, srv.stats.net_input, srv.stats.io_reads);
            take_events(srv, &events);
            while let Some((t, r, w)) = srv.ready.pop_front() {
                self.dispatch(srv, t, r, w);
                // A client closed by another's doing (evicted for maxmemory-clients,
                // killed) is gone before the next one runs a command that would list
                // it. Redis compat: evictClients and CLIENT KILL free synchronously.
                if !srv.pending_close.is_empty() {
                    close_pending(srv, &self.registry);
                }
            }
            srv.pending_reads.begin_pass();
            while let Some(cid) = srv.pending_reads.next_in_pass() {
                on_readable(srv, &self.registry, cid);
            }
            if !srv.blocking.timeouts.is_empty() {
                srv.expire_blocked(clock::now_ms());
            }
            // Clients just unblocked: send what they got, then run their pending input.
            while !srv.blocking.unblocked.is_empty() {
                let list = std::mem::take(&mut srv.blocking.unblocked);
                for cid in list {
                    process_input(srv, cid);
                    flush_client(srv, &self.registry, cid);
                }
            }
            // Clients those commands killed go before the replies still queued for
            // them are written.
            if !srv.pending_close.is_empty() {
                close_pending(srv, &self.registry);
            }
            // A slice of a background snapshot between events.
            snap_wait = srv.snapshot_step(events.is_empty());
            if clock::mono_us() >= next_cron {
                if !srv.cron_paused {
                    srv.cron();
                }
                next_cron = clock::mono_us() + 1_000_000 / srv.hz.max(1) as u64;
            }
            if srv.evict_pending {
                srv.evict_pending = !srv.aof.loading && srv.perform_evictions() == super::evict::Evicted::Running;
            }
            srv.tracking_broadcast();
            if srv.repl.transfer.is_some() {
                srv.repl_pump();
            }
            // Subscribers that received messages (and invalidations).
            for cid in std::mem::take(&mut srv.pending_writes) {
                if let Some(c) = srv.clients.get_mut(cid) {
                    c.pending_write = false;
                }
                flush_client(srv, &self.registry, cid);
            }
            evict_clients_now(srv, &self.registry);
            self.before_sleep(srv);
            let done = clock::mono_us();
            if !events.is_empty() {
                busy_until = done + srv.cfg.busy_poll_us;
            }
            let busy = done - busy_from;
            if debug && busy > 5000 {
                let cpu = clock::thread_cpu_us().saturating_sub(cpu_from);
                debug!(
                    "Slow event loop iteration: {busy} us ({cpu} us on CPU, {} events, {} commands, {} bytes in {} reads)",
                    events.iter().count(),
                    srv.stats.total_commands - cmds_from,
                    srv.stats.net_input - in_from,
                    srv.stats.io_reads - reads_from
                );
            }
            // A signal's shutdown is cron work (DEBUG PAUSE-CRON holds it back).
            // Redis compat: server.c serverCron.
            if let Some(req) = srv.shutdown.filter(|r| r.client.is_some() || !srv.cron_paused) {
                srv.shutdown = None;
                if srv.shutdown_requested(req) {
                    return;
                }
            }
            if srv.shutdown_wait.is_some() && srv.shutdown_cron() {
                return;
            }
        }
    }

    /// Waits for events, at most `timeout`. Until `busy_until` (a little after the
    /// last iteration that served clients) it polls without sleeping: under load the
    /// next request usually comes within microseconds, and a thread asleep in
    /// epoll_wait costs every writer a wake-up (an inter-processor interrupt, dear
    /// on virtual machines) and the request the time to schedule us back. An idle
    /// server never polls; a busy one spends at most `busy-poll-us` after its last
    /// request. Redis has no equivalent (it always sleeps).
    fn wait(&self, events: &mut Events, timeout: Duration, busy_until: u64) {
        let mut poll = self.poll.borrow_mut();
        let report = |r: io::Result<()>| {
            if let Err(e) = r {
                if e.kind() != io::ErrorKind::Interrupted {
                    warn!("poll error: {e}");
                }
            }
        };
        let mut now = clock::mono_us();
        let deadline = now.saturating_add(timeout.as_micros() as u64);
        if !timeout.is_zero() {
            while now < busy_until.min(deadline) {
                report(poll.poll(events, Some(Duration::ZERO)));
                if !events.is_empty() {
                    return;
                }
                std::hint::spin_loop();
                now = clock::mono_us();
            }
        }
        let left = Duration::from_micros(deadline.saturating_sub(now));
        report(poll.poll(events, Some(left)));
    }

    /// One pass over ready events while a command is still running (loading, a busy
    /// script): accepts, reads and answers other clients (the gates reply -LOADING or
    /// -BUSY), writes pending output. The running client is left alone, no cron runs.
    /// Redis compat: networking.c processEventsWhileBlocked.
    pub fn run_blocked(&self, srv: &mut Server) {
        let mut events = Events::with_capacity(256);
        for round in 0..4 {
            if round > 0 || srv.ready.is_empty() {
                events.clear();
                if let Err(e) = self.poll.borrow_mut().poll(&mut events, Some(Duration::ZERO)) {
                    if e.kind() != io::ErrorKind::Interrupted {
                        warn!("poll error: {e}");
                    }
                }
                take_events(srv, &events);
            }
            let mut idle = srv.ready.is_empty();
            let mut read_later = Vec::new();
            while let Some((t, r, w)) = srv.ready.pop_front() {
                if t < CLUSTER_LINK_BASE && srv.clients.get(t).is_some_and(|c| c.executing) {
                    // Its command is the one running: read it afterwards.
                    if r {
                        read_later.push(t);
                    }
                    continue;
                }
                self.dispatch(srv, t, r, w);
            }
            // Clients with more input than one read took (no new edge comes for it).
            srv.pending_reads.begin_pass();
            while let Some(cid) = srv.pending_reads.next_in_pass() {
                if srv.clients.get(cid).is_some_and(|c| c.executing) {
                    read_later.push(cid);
                    continue;
                }
                idle = false;
                on_readable(srv, &self.registry, cid);
            }
            for cid in read_later {
                srv.pending_reads.push(cid);
            }
            // Without new events the pass still writes what is queued (once): a reply
            // made just before the long operation started, its client waiting for it.
            if idle && round > 0 {
                break;
            }
            // A shutdown asked for now happens below, before anything else is
            // answered or accepted.
            if srv.shutdown.is_some() && (srv.loading.is_some() || srv.scripts.timedout) {
                break;
            }
            // The running client's output waits in the queue until it returns.
            let mut write_later = Vec::new();
            for cid in std::mem::take(&mut srv.pending_writes) {
                if srv.clients.get(cid).is_some_and(|c| c.executing) {
                    write_later.push(cid);
                    continue;
                }
                if let Some(c) = srv.clients.get_mut(cid) {
                    c.pending_write = false;
                }
                flush_client(srv, &self.registry, cid);
            }
            srv.pending_writes.extend(write_later);
            evict_clients_now(srv, &self.registry);
            self.before_sleep(srv);
            if idle {
                break;
            }
        }
        // Redis compat: server.c whileBlockedCron: a shutdown asked for while loading
        // happens now, without saving.
        if let Some(mut req) = srv.shutdown.filter(|_| srv.loading.is_some() || srv.scripts.timedout) {
            warn!("User requested shutdown...");
            req.save = Some(false);
            if srv.prepare_shutdown(req) {
                warn!("{}", srv.exit_line());
                std::process::exit(0);
            }
            srv.shutdown = None;
        }
    }

    /// Handles one ready event.
    fn dispatch(&self, srv: &mut Server, t: usize, readable: bool, writable: bool) {
        if t == SIGNAL_TOKEN.0 {
            self.on_signals(srv);
        } else if t == WAKER_TOKEN.0 {
            srv.repl_pump();
        } else if t >= LISTENER_BASE {
            self.accept(srv, t - LISTENER_BASE);
        } else if t >= CLUSTER_LISTENER_BASE {
            srv.cluster_accept(t - CLUSTER_LISTENER_BASE);
        } else if t >= crate::sentinel::link::LINK_BASE {
            srv.sentinel_link_io(t - crate::sentinel::link::LINK_BASE);
        } else if t >= CLUSTER_LINK_BASE {
            srv.cluster_link_io(t - CLUSTER_LINK_BASE, readable, writable);
        } else if srv.clients.get(t).is_some_and(|c| c.handshake.is_some()) {
            srv.repl_handshake_io(t);
        } else if srv.clients.get(t).is_some_and(|c| c.is_internal()) {
            // An event of a client closed meanwhile, whose slot a script's client took.
        } else {
            if readable {
                on_readable(srv, &self.registry, t);
            }
            if writable {
                flush_client(srv, &self.registry, t);
            }
        }
    }

    fn on_signals(&self, srv: &mut Server) {
        let sigs: Vec<i32> = self.signals.borrow_mut().pending().collect();
        for sig in sigs {
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            // Redis compat: server.c sigShutdownHandler (its lines have the signal
            // handler's own format).
            if (srv.shutdown.is_some() || srv.shutdown_wait.is_some()) && sig == SIGINT {
                crate::log::write_from_handler("You insist... exiting now.");
                std::process::exit(1);
            }
            if srv.loading.is_some() {
                crate::log::write_from_handler("Received shutdown signal during loading, scheduling shutdown.");
            } else {
                crate::log::write_from_handler(&format!("Received {name} scheduling shutdown..."));
            }
            // Redis compat: server.c serverCron (shutdown-on-sigint/-sigterm).
            let flags = srv
                .cfg
                .get(if sig == SIGINT {
                    "shutdown-on-sigint"
                } else {
                    "shutdown-on-sigterm"
                })
                .unwrap_or_default()
                .to_string();
            let has = |f: &str| flags.split_whitespace().any(|w| w == f);
            srv.shutdown = Some(ShutdownReq {
                client: None,
                save: if has("nosave") {
                    Some(false)
                } else if has("save") {
                    Some(true)
                } else {
                    None
                },
                now: has("now"),
                force: has("force"),
            });
        }
    }

    fn accept(&self, srv: &mut Server, li: usize) {
        loop {
            let Some((l, name)) = srv.listeners.get(li) else {
                return;
            };
            let is_tls = matches!(l, Listener::Tls(_));
            let (conn, addr, laddr, unix) = match l {
                Listener::Tcp(l) | Listener::Tls(l) => match l.accept() {
                    Ok((s, peer)) => {
                        let _ = s.set_nodelay(true);
                        let local = s.local_addr().map(fmt_addr).unwrap_or_default();
                        set_keepalive(&s, srv.cfg.tcp_keepalive);
                        let conn = if is_tls {
                            let auth = srv.cfg.get("tls-auth-clients").unwrap_or("yes");
                            let Some(tls) = srv.tls.as_ref().and_then(|t| t.accept(auth)) else {
                                continue;
                            };
                            Conn::Tls(Box::new(super::tls::TlsStream::new(s, tls)))
                        } else {
                            Conn::Tcp(s)
                        };
                        (conn, fmt_addr(peer), local, false)
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e)
                        if e.kind() == io::ErrorKind::ConnectionAborted || e.kind() == io::ErrorKind::Interrupted =>
                    {
                        continue
                    }
                    Err(e) => {
                        warn!("Accepting client connection: {e}");
                        return;
                    }
                },
                Listener::Unix(l) => match l.accept() {
                    Ok((s, _)) => (Conn::Unix(s), name.clone(), name.clone(), true),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) => {
                        warn!("Accepting client connection: {e}");
                        return;
                    }
                },
            };
            let mut conn = conn;
            srv.stats.total_connections += 1;
            if srv.clients.len() >= srv.cfg.maxclients {
                let _ = conn.write(b"-ERR max number of clients reached\r\n");
                srv.stats.rejected_connections += 1;
                continue;
            }
            if srv.cfg.protected_mode && srv.acl.default_user().nopass && !unix && !is_loopback(&addr) {
                let _ = conn.write(DENIED.as_bytes());
                srv.stats.rejected_connections += 1;
                continue;
            }
            let id = srv.next_client_id;
            srv.next_client_id += 1;
            let now = clock::now_ms();
            let auth = srv.acl.default_logs_in();
            let entry = srv.clients.vacant_entry();
            let cid = entry.key();
            let mut c = Client::new(id, conn, addr, laddr, unix, now, auth);
            // Writability is only watched while output is pending (see flush_client).
            let interest = Interest::READABLE;
            let r = match c.conn.source() {
                Some(s) => self.registry.register(s, Token(cid), interest),
                None => Ok(()),
            };
            if r.is_err() {
                continue;
            }
            debug!("Accepted {}", c.addr);
            entry.insert(c);
        }
    }

    fn before_sleep(&self, srv: &mut Server) {
        // What replicas wrote through may be freed, faster than while feeding.
        // Redis compat: server.c beforeSleep (incrementalTrimReplicationBacklog).
        srv.repl_trim(10 * super::repl::TRIM_BLOCKS);
        // Not while paused: the GETACK would move the stream replicas must catch up
        // with; it goes out once the pause ends. Redis compat: server.c beforeSleep.
        if srv.pause_check(clock::now_ms()).is_none() {
            srv.repl_send_getack();
        }
        srv.cluster_before_sleep();
        close_pending(srv, &self.registry);
    }
}

/// Closes the clients queued for closing, but for one whose command is still running
/// (closed once it returns).
fn close_pending(srv: &mut Server, reg: &Registry) {
    let mut later = Vec::new();
    while let Some(cid) = srv.pending_close.pop() {
        // A client whose command is still running is closed once it returns.
        if srv.clients.get(cid).is_some_and(|c| c.executing) {
            later.push(cid);
            continue;
        }
        srv.unblock_client(cid);
        srv.repl_forget_client(cid);
        srv.unwatch_all(cid);
        srv.unsubscribe_all(cid);
        srv.disable_tracking(cid);
        srv.monitors.retain(|&m| m != cid);
        srv.forget_client_mem(cid);
        srv.shutdown_forget_client(cid);
        // Its slot is reused by the next client (or a script's): nothing queued for
        // it may apply to that one.
        srv.pending_reads.forget(cid);
        if let Some(mut c) = srv.clients.try_remove(cid) {
            if c.pending_write {
                srv.pending_writes.retain(|&w| w != cid);
            }
            // Best effort: deliver what was queued (e.g. an error) before closing,
            // unless the client is dropped for its output buffer size.
            if !c.drop_output {
                srv.aof_before_reply();
                let _ = c.flush();
            }
            if let Some(s) = c.conn.source() {
                let _ = reg.deregister(s);
            }
        }
    }
    srv.pending_close.extend(later);
}

/// `ip:port`, `[ip]:port` for IPv6, as CLIENT LIST, CLIENT KILL ADDR and the logs
/// give it. Redis compat: anet.c anetFormatAddr.
fn fmt_addr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => format!("{}:{}", v.ip(), v.port()),
        SocketAddr::V6(v) => match v.ip().to_ipv4_mapped() {
            Some(ip4) => format!("{}:{}", ip4, v.port()),
            None => format!("[{}]:{}", v.ip(), v.port()),
        },
    }
}

fn is_loopback(addr: &str) -> bool {
    addr.starts_with("127.") || addr.starts_with("[::1]:")
}

fn set_keepalive(s: &mio::net::TcpStream, secs: u64) {
    if secs == 0 {
        return;
    }
    let sock = socket2::SockRef::from(s);
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs))
        .with_interval(Duration::from_secs((secs / 3).max(1)));
    let _ = sock.set_tcp_keepalive(&ka);
}

/// Hands polled events over through the server: a command that runs the loop from
/// inside (see `Reactor::run_blocked`) takes the ones not processed yet, which
/// edge-triggered polling would not report again. A peer that closed right after its
/// last bytes raises no new edge either, so its client is read again until a read
/// sees the end of its data.
fn take_events(srv: &mut Server, events: &Events) {
    srv.ready.extend(events.iter().map(|ev| {
        let r = ev.is_readable() || ev.is_read_closed() || ev.is_error();
        (ev.token().0, r, ev.is_writable())
    }));
    for ev in events.iter() {
        let t = ev.token().0;
        if ev.is_read_closed() && t < CLUSTER_LINK_BASE {
            if let Some(c) = srv.clients.get_mut(t) {
                c.peer_closed = true;
            }
            srv.pending_reads.push(t);
        }
    }
}

/// Clients to read again in this loop iteration, each at most once. Queued once per
/// read that filled its budget, a client also read for a new event would otherwise
/// be queued twice, read twice in the next iteration and queued twice again, one
/// more read per iteration each time it has an event, until single iterations ran
/// tens of thousands of its commands while everyone else waited.
#[derive(Default)]
pub struct ReadQueue {
    ids: Vec<usize>,
    /// Indexed by client id (slab key): whether it is in `ids`.
    queued: Vec<bool>,
    /// The pass under way (see `begin_pass`): those not read yet, in order.
    pass: VecDeque<usize>,
}

impl ReadQueue {
    pub fn push(&mut self, cid: usize) {
        if self.queued.len() <= cid {
            self.queued.resize(cid + 1, false);
        }
        if let Some(q) = self.queued.get_mut(cid) {
            if !*q {
                *q = true;
                self.ids.push(cid);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Everyone queued, in order; reading them may queue them again.
    pub fn take(&mut self) -> Vec<usize> {
        for &cid in &self.ids {
            if let Some(q) = self.queued.get_mut(cid) {
                *q = false;
            }
        }
        std::mem::take(&mut self.ids)
    }

    /// Moves everyone queued to the pass that `next_in_pass` hands out, after those of
    /// a pass under way: a long command run by one of them serves the rest (see
    /// `Reactor::run_blocked`), which no new edge would announce.
    pub fn begin_pass(&mut self) {
        let ids = self.take();
        self.pass.extend(ids);
    }

    pub fn next_in_pass(&mut self) -> Option<usize> {
        self.pass.pop_front()
    }

    /// A client closed: drops it from the queue and the pass.
    pub fn forget(&mut self, cid: usize) {
        if let Some(q) = self.queued.get_mut(cid).filter(|q| **q) {
            *q = false;
            self.ids.retain(|&c| c != cid);
        }
        self.pass.retain(|&c| c != cid);
    }
}

/// Reads everything available, running complete commands as they arrive.
/// Reads per readiness event before yielding to other clients (fairness: a client
/// streaming a huge pipeline must not starve the rest).
const READS_PER_EVENT: usize = 1;

fn on_readable(srv: &mut Server, reg: &Registry, cid: usize) {
    // A script's or the AOF loader's client has no socket to read.
    if srv.clients.get(cid).is_none_or(|c| c.is_internal()) {
        return;
    }
    if srv.clients.get(cid).is_some_and(|c| c.handshake.is_some()) {
        srv.repl_handshake_io(cid);
        return;
    }
    for round in 0.. {
        if round == READS_PER_EVENT {
            // More may be waiting but no new edge will come: revisit after the others.
            srv.pending_reads.push(cid);
            break;
        }
        let Some(c) = srv.clients.get_mut(cid) else {
            return;
        };
        if c.close_asap {
            return;
        }
        let (want, upto) = match c.parser.pending_bulk() {
            // A big argument is coming: read it in larger pieces (still bounded), into a
            // buffer that grows no further than its end.
            // (`qpos` is where its payload starts.)
            Some(b) if b > READ_CHUNK => {
                let end = c.qpos + b + 2;
                (end.saturating_sub(c.query.len()).clamp(1, 1024 * 1024), Some(end))
            }
            // As much as the buffer has room for once it holds 16 KB or more (made
            // room for 16 KB, growing by doubling): a pipeline of 10 KB values is read
            // a few commands a call, and answered a few replies a write. Redis compat:
            // networking.c readQueryFromClient ("read as much as possible"). Not for
            // TLS, whose reads zero the room they are given first.
            _ if c.query.capacity() >= READ_CHUNK && !matches!(c.conn, Conn::Tls(_)) => {
                c.query.reserve(READ_CHUNK);
                (c.query.capacity() - c.query.len(), None)
            }
            _ => (READ_CHUNK, None),
        };
        let r = c.conn.read_append(&mut c.query, want, upto);
        match r {
            Ok(0) => {
                debug!("Client closed connection id={} addr={} laddr={}", c.id, c.addr, c.laddr);
                srv.close_client_async(cid);
                return;
            }
            Ok(n) => {
                c.tot_in += n as u64;
                c.last_interaction_ms = clock::now_ms();
                // Redis compat: networking.c readQueryFromClient.
                if c.is_master {
                    srv.stats.net_repl_input += n as u64;
                } else {
                    srv.stats.net_input += n as u64;
                }
                srv.stats.io_reads += 1;
                process_input(srv, cid);
                if let Some(c) = srv.clients.get_mut(cid) {
                    c.reserve_big_arg();
                }
                // Replies are written before the client is measured (Redis evicts in
                // beforeSleep, after handling pending writes), so a big reply on its
                // way out does not count; what it sent in does, at once. But clients
                // its commands unblocked run their pending input before any reply is
                // written (Redis compat: beforeSleep runs processUnblockedClients
                // first): then it is written and measured at the end of the iteration.
                if srv.clients_mem.limit > 0 && srv.blocking.unblocked.is_empty() {
                    flush_client(srv, reg, cid);
                    srv.update_client_mem(cid);
                    srv.evict_clients();
                }
                let limit = srv.cfg.client_query_buffer_limit;
                if let Some(c) = srv.clients.get_mut(cid) {
                    let qlen = c.query.len() - c.qpos.min(c.query.len());
                    // Parsed arguments cost their payload plus their range entry.
                    let held = qlen + c.parser.arg_bytes + c.parser.args.len() * 16;
                    if held > limit && limit > 0 {
                        warn!(
                            "Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})",
                            c.info_line(clock::now_ms()),
                            String::from_utf8_lossy(c.query.get(..64.min(c.query.len())).unwrap_or_default())
                        );
                        srv.stats.client_qbuf_limit_disconnections += 1;
                        srv.close_client_async(cid);
                        return;
                    }
                    if c.pending_output() > 64 * 1024 {
                        flush_client(srv, reg, cid);
                    }
                }
                // A short read drained the socket; later data raises a new edge, but a
                // closed peer's end of data raises none.
                if n < want {
                    if srv.clients.get(cid).is_some_and(|c| c.peer_closed) {
                        srv.pending_reads.push(cid);
                    }
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                debug!("Reading from client: {e}");
                srv.close_client_async(cid);
                return;
            }
        }
    }
    // Replies wait for the end of the loop iteration, like Redis's
    // handleClientsWithPendingWrites: one AOF write (and fsync) then covers every
    // client served in it, and a client reading replies is woken once per burst of
    // them rather than once per client served before it.
    if let Some(c) = srv.clients.get_mut(cid) {
        if (c.pending_output() > 0 || c.conn.holds_output()) && !c.pending_write {
            c.pending_write = true;
            srv.pending_writes.push(cid);
        }
    }
}

/// Runs every complete request in the client's query buffer.
pub fn process_input(srv: &mut Server, cid: usize) {
    let Some(c) = srv.clients.get_mut(cid) else {
        return;
    };
    // CLIENT LIST reports the buffer as it stands while its commands run.
    c.qbuf_view = (c.query.len(), c.query.capacity() - c.query.len());
    c.executing = true;
    let query = std::mem::take(&mut c.query);
    let mut parser = std::mem::take(&mut c.parser);
    let mut out = c.detach_reply();
    let mut pos = c.qpos;
    // Invariant kept by the compaction below: a partly parsed request starts at 0.
    let mut start = if parser.in_progress() { 0 } else { c.qpos };
    let max_bulk = srv.cfg.proto_max_bulk_len;
    let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
    let mut ahead = [crate::resp::parse::Ahead::default(); crate::db::PREFETCH_BATCH];
    let mut prefetched_to = pos;
    while let Some(c) = srv.clients.get(cid) {
        if c.close_asap || c.close_after_reply {
            pos = query.len();
            break;
        }
        if c.blocked.is_some() || c.postponed.is_some() {
            break;
        }
        let lim = Limits {
            max_bulk,
            auth_required: !c.authenticated && !srv.acl.default_logs_in(),
        };
        if !parser.in_progress() {
            start = pos;
            // A pipelined batch: load the keys of the next requests into the cache
            // together (see Db::prefetch_keys).
            if pos >= prefetched_to {
                let (n, end) = crate::resp::parse::peek_keys(&query, pos, &mut ahead);
                prefetched_to = end;
                if n > 1 {
                    if let Some(db) = srv.dbs.get(c.db) {
                        db.prefetch_keys(&query, &ahead[..n]);
                    }
                }
            }
        }
        match parser.next(&query, &mut pos, &lim) {
            Ok(Parsed::Multibulk) => {
                argv.clear();
                argv.extend(parser.args.iter().map(|&(s, e)| query.get(s..e).unwrap_or_default()));
                let (from_master, to_replica) = (c.is_master, c.replica.is_some());
                let mark = out.len();
                // Redis compat: db.c expireIfNeeded: the master's commands find its
                // keys alive until the master itself deletes them.
                if from_master {
                    srv.dbs.iter_mut().for_each(|d| d.lazy_expire = false);
                }
                execute_checked(srv, cid, &argv, &mut out);
                if from_master {
                    srv.dbs.iter_mut().for_each(|d| d.lazy_expire = true);
                    link_error(srv, &out.tail_from(mark), &argv, "replica", "master");
                }
                if from_master || to_replica {
                    // Replies to our master (but the ack it asked for) and to our
                    // replicas are not sent. The master's stream counts in our offset.
                    if !argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"replconf")) {
                        out.truncate(mark);
                    }
                    // A command CLIENT PAUSE holds back counts once it runs; a
                    // transaction, once its EXEC has run (a link lost before that
                    // resumes from its MULTI). Redis compat: networking.c
                    // commandProcessed.
                    let (postponed, in_multi) = srv
                        .clients
                        .get(cid)
                        .map_or((false, false), |c| (c.postponed.is_some(), c.multi.is_some()));
                    if from_master && !postponed {
                        let bytes = query.get(start..pos).unwrap_or_default();
                        if in_multi {
                            srv.repl.master_multi.extend_from_slice(bytes);
                        } else {
                            let queued = std::mem::take(&mut srv.repl.master_multi);
                            srv.repl_proxy(&queued);
                            srv.repl_proxy(bytes);
                        }
                    }
                }
                start = pos;
            }
            Ok(Parsed::Inline(owned)) => {
                let v: Vec<&[u8]> = owned.iter().map(|a| a.as_slice()).collect();
                execute_checked(srv, cid, &v, &mut out);
                start = pos;
            }
            Ok(Parsed::Empty) => {
                // A replica's empty line says it is alive (it sends them while loading
                // its snapshot). Redis compat: networking.c processInlineBuffer.
                if let Some(r) = srv.clients.get_mut(cid).and_then(|c| c.replica.as_mut()) {
                    r.ack_ms = clock::now_ms();
                }
                start = pos;
            }
            Ok(Parsed::Incomplete) => break,
            Err(e) => {
                out.error_bytes(&e.reply());
                if let Some(c) = srv.clients.get_mut(cid) {
                    debug!(
                        "Protocol error ({}) from client: {}",
                        e.log_reason(),
                        c.info_line(clock::now_ms())
                    );
                    c.close_after_reply = true;
                }
                pos = query.len();
                start = pos;
                parser = Default::default();
                break;
            }
        }
    }
    let Some(c) = srv.clients.get_mut(cid) else {
        return;
    };
    c.executing = false;
    c.resp3 = out.resp3;
    c.reattach_reply(out);
    c.qbuf_view = (0, 0);
    c.query = query;
    c.parser = parser;
    c.query_peak = c.query_peak.max(c.query.len());
    // Compact: drop fully consumed bytes, keeping a partly parsed request.
    if start >= c.query.len() {
        c.query.clear();
        c.qpos = 0;
        c.parser.rebase(0);
    } else if start > 0 {
        c.query.drain(..start);
        c.qpos = pos - start;
        c.parser.rebase(start);
    } else {
        c.qpos = pos;
    }
}

/// Runs a client's command. A replica's commands must not answer (the reply would go
/// into its replication stream): one that does is dropped, without the reply.
/// Redis compat: networking.c prepareClientToWrite / _addReplyToBufferOrList.
fn execute_checked(srv: &mut Server, cid: usize, argv: &[&[u8]], out: &mut crate::resp::ReplyBuf) {
    let replica = srv.clients.get(cid).is_some_and(|c| c.replica.is_some());
    let before = out.len();
    call::execute(srv, cid, argv, out);
    if replica && out.len() > before {
        if let Some(c) = srv.clients.get(cid) {
            warn!(
                "Replica generated a reply to command '{}', disconnecting it: {}",
                command_name(argv),
                c.info_line(clock::now_ms())
            );
        }
        link_error(srv, &out.tail_from(before), argv, "master", "replica");
        out.truncate(before);
        srv.close_client_async(cid);
    }
}

/// The table's name for the command `argv` calls (`<unknown>` when none).
fn command_name(argv: &[&[u8]]) -> &'static str {
    let table = crate::cmd::table();
    table
        .lookup_id(argv)
        .and_then(|id| table.names.get(id))
        .map_or("<unknown>", |n| n.as_str())
}

/// An error reply between a master and its replica means their datasets may have
/// diverged: logged, and counted. Redis compat: networking.c afterErrorReply.
fn link_error(srv: &mut Server, reply: &[u8], argv: &[&[u8]], from: &str, to: &str) {
    let Some(err) = reply.strip_prefix(b"-") else {
        return;
    };
    let err = err.split(|&b| b == b'\r').next().unwrap_or_default();
    warn!(
        "== CRITICAL == This {from} is sending an error to its {to}: '{}' after processing the command '{}'",
        String::from_utf8_lossy(err),
        command_name(argv)
    );
    srv.stats.unexpected_error_replies += 1;
}

/// Writes a client's pending output; closes it when done if asked to.
pub fn flush_client(srv: &mut Server, reg: &Registry, cid: usize) {
    let Some(c) = srv.clients.get_mut(cid) else {
        return;
    };
    // A replica's stream comes from the shared replication buffer, after its own
    // output; not while held back, nor once it is being closed.
    let stream = c.repl_pos.is_some_and(|p| p < srv.repl.buf.next_offset()) && !c.repl_hold && !c.close_asap;
    if c.pending_output() == 0 && c.bulk.is_none() && !stream && !c.conn.holds_output() {
        if c.close_after_reply && !c.close_asap {
            srv.close_client_async(cid);
        }
        return;
    }
    srv.aof_before_reply();
    let Some(c) = srv.clients.get_mut(cid) else {
        return;
    };
    let before = c.tot_out;
    let res = match c.flush() {
        Ok(true) if stream => c.write_stream(&srv.repl.buf),
        res => res,
    };
    let written = c.tot_out - before;
    // What went out frees reply blocks: limits are next checked when output grows.
    if c.replica.is_none() {
        c.obuf_seen = c.obuf_counted(c.pending_output());
    }
    // Redis compat: networking.c writeToClient (stat_net_repl_output_bytes).
    if c.replica.is_some() {
        srv.stats.net_repl_output += written;
    } else {
        srv.stats.net_output += written;
    }
    srv.stats.io_writes += 1;
    match res {
        Ok(done) => {
            // Watch writability only while a reply is stuck in the socket buffer.
            if done == c.want_write {
                c.want_write = !done;
                let i = if done {
                    Interest::READABLE
                } else {
                    Interest::READABLE | Interest::WRITABLE
                };
                if let Some(s) = c.conn.source() {
                    let _ = reg.reregister(s, Token(cid), i);
                }
            }
            // Redis compat: replication.c rdbPipeWriteHandler (repl_last_partial_write).
            if let (Some(r), true) = (c.replica.as_mut(), c.bulk.is_some()) {
                if done {
                    r.partial_write_ms = 0;
                } else if written > 0 || r.partial_write_ms == 0 {
                    r.partial_write_ms = clock::now_ms();
                }
            }
            let sent = c.bulk.as_ref().is_some_and(|b| b.finished());
            let held = c.repl_hold;
            let replica = c.replica.is_some();
            if done && c.close_after_reply {
                srv.close_client_async(cid);
            }
            // Other clients' limits are checked as their output grows, and by cron.
            if replica && (!done || held) {
                srv.check_obuf_limits(cid, clock::now_ms());
            }
            if sent {
                srv.repl_bulk_sent(cid);
            }
            if srv.clients_mem.limit > 0 {
                srv.update_client_mem(cid);
            }
        }
        Err(_) => srv.close_client_async(cid),
    }
}

/// Redis compat: server.c beforeSleep: after pending writes, clients over
/// maxmemory-clients are evicted, and gone before the next command runs.
fn evict_clients_now(srv: &mut Server, reg: &Registry) {
    if srv.clients_mem.limit > 0 {
        srv.evict_clients();
        if !srv.pending_close.is_empty() {
            close_pending(srv, reg);
        }
    }
}

pub fn log_ready(srv: &Server) {
    let unix = srv.listeners.iter().any(|(l, _)| matches!(l, Listener::Unix(_)));
    if srv.listeners.iter().any(|(l, _)| matches!(l, Listener::Tcp(_))) {
        info!("Ready to accept connections tcp");
    }
    if srv.listeners.iter().any(|(l, _)| matches!(l, Listener::Tls(_))) {
        info!("Ready to accept connections tls");
    }
    if unix {
        info!("Ready to accept connections unix");
    }
}

#[cfg(test)]
mod tests {
    use super::ReadQueue;

    #[test]
    fn read_queue_holds_each_client_once() {
        let mut q = ReadQueue::default();
        assert!(q.is_empty());
        // Queued by a read that filled its budget, then by the read of a new event.
        q.push(3);
        q.push(0);
        q.push(3);
        assert_eq!(q.take(), vec![3, 0]);
        assert!(q.is_empty());
        // Reading them queues them again, once each, however often they are read.
        for _ in 0..5 {
            q.push(3);
            q.push(3);
            assert_eq!(q.take(), vec![3]);
        }
        q.push(7);
        assert_eq!(q.take(), vec![7]);
    }
}
