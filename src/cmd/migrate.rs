//! MIGRATE: moves (or copies) keys to another server by sending it RESTORE commands with
//! DUMP payloads over a blocking connection, cached per host:port for 10 seconds like
//! Redis. The call blocks the event loop for at most `timeout` per step, as in Redis.
//! Redis compat: cluster.c migrateCommand, migrateGetSocket.
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::error::{self, CmdError, CmdResult};
use super::persist::dump_payload;
use super::spec::*;
use super::{Args, Ctx};

const G: &str = "generic";
/// Redis compat: cluster.c MIGRATE_SOCKET_CACHE_ITEMS / MIGRATE_SOCKET_CACHE_TTL.
const CACHE_ITEMS: usize = 64;
const CACHE_TTL_SECS: i64 = 10;

/// A connection to the target: TLS when the cluster speaks it (`tls-cluster`).
/// Redis compat: cluster.c migrateGetSocket.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn set_timeouts(&self, d: Duration) {
        let s = match self {
            Stream::Tcp(s) => s,
            Stream::Tls(t) => &t.sock,
        };
        let _ = s.set_write_timeout(Some(d));
        let _ = s.set_read_timeout(Some(d));
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

pub struct CachedSocket {
    stream: Stream,
    /// The db the target has selected on this connection, -1 when unknown.
    last_dbid: i64,
    last_use: i64,
}

/// Closes cached connections unused for longer than the TTL (from cron).
pub fn close_timed_out(cache: &mut std::collections::HashMap<String, CachedSocket>, now_secs: i64) {
    cache.retain(|_, cs| now_secs - cs.last_use <= CACHE_TTL_SECS);
}

fn ioerr(reading: bool) -> CmdError {
    CmdError::owned(format!(
        "IOERR error or timeout {} to target instance",
        if reading { "reading" } else { "writing" }
    ))
}

/// Reads one reply line (up to 1 KB, like connSyncReadLine); None on error or timeout.
fn read_line(s: &mut impl Read) -> Result<Vec<u8>, std::io::Error> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        if s.read(&mut b)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if b[0] == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
        if line.len() < 1024 {
            line.push(b[0]);
        }
    }
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn get_socket<'a>(
    ctx: &'a mut Ctx,
    name: &str,
    host: &str,
    port: &str,
    timeout: Duration,
) -> Option<&'a mut CachedSocket> {
    let now = ctx.now_ms / 1000;
    if !ctx.srv.migrate_cache.contains_key(name) {
        let cache = &mut ctx.srv.migrate_cache;
        if cache.len() >= CACHE_ITEMS {
            if let Some(k) = cache.keys().next().cloned() {
                cache.remove(&k);
            }
        }
        let addr = format!("{host}:{}", port.parse::<u16>().unwrap_or(0));
        let stream = addr.to_socket_addrs().ok().and_then(|mut a| a.next()).and_then(|a| {
            let source = ctx.srv.cfg.get("bind-source-addr").unwrap_or_default();
            crate::util::net::connect_timeout(a, source, timeout).ok()
        })?;
        let _ = stream.set_nodelay(true);
        let stream = match ctx.srv.cfg.yes("tls-cluster") {
            false => Stream::Tcp(stream),
            true => {
                let cfg = ctx.srv.tls.as_deref().and_then(|t| t.bus_client())?;
                let name = rustls::pki_types::ServerName::try_from(host.to_string()).ok()?;
                let conn = rustls::ClientConnection::new(cfg, name).ok()?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(conn, stream)))
            }
        };
        ctx.srv.migrate_cache.insert(
            name.to_string(),
            CachedSocket {
                stream,
                last_dbid: -1,
                last_use: now,
            },
        );
    }
    let cs = ctx.srv.migrate_cache.get_mut(name)?;
    cs.last_use = now;
    Some(cs)
}

fn migrate(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<&[u8]>, &[u8])> = None;
    let mut first_key = 3;
    let mut num_keys = 1;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "copy") {
            copy = true;
        } else if a.is(j, "replace") {
            replace = true;
        } else if a.is(j, "auth") {
            if more == 0 {
                return Err(error::SYNTAX);
            }
            auth = Some((None, a.at(j + 1)));
            j += 1;
        } else if a.is(j, "auth2") {
            if more < 2 {
                return Err(error::SYNTAX);
            }
            auth = Some((Some(a.at(j + 1)), a.at(j + 2)));
            j += 2;
        } else if a.is(j, "keys") {
            if !a.at(3).is_empty() {
                return Err(CmdError::new(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = j + 1;
            num_keys = a.len() - j - 1;
            break;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    let mut timeout = a.i64(5)?;
    let dbid = a.i64(4)?;
    if timeout <= 0 {
        timeout = 1000;
    }
    let now = ctx.now_ms;
    let mut keys: Vec<&[u8]> = Vec::new();
    for k in a.rest(first_key).iter().take(num_keys) {
        if ctx.read_key(k).is_some() {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let (host, port) = (a.str(1), a.str(2));
    let name = format!("{host}:{port}");
    let dur = Duration::from_millis(timeout as u64);
    let compress = ctx.srv.cfg.get("rdbcompression").is_some_and(|v| v == "yes");
    let mut may_retry = true;
    let cluster = ctx.srv.cluster.is_some();
    loop {
        let Some(cs) = get_socket(ctx, &name, &host, &port, dur) else {
            return Err(CmdError::new("IOERR error or timeout connecting to the client"));
        };
        let last_dbid = cs.last_dbid;
        let mut req = Vec::new();
        if let Some((user, pass)) = auth {
            req.extend_from_slice(if user.is_some() { b"*3\r\n" } else { b"*2\r\n" });
            bulk(&mut req, b"AUTH");
            if let Some(u) = user {
                bulk(&mut req, u);
            }
            bulk(&mut req, pass);
        }
        let select = last_dbid != dbid;
        if select {
            req.extend_from_slice(b"*2\r\n");
            bulk(&mut req, b"SELECT");
            bulk(&mut req, dbid.to_string().as_bytes());
        }
        let mut sent: Vec<&[u8]> = Vec::new();
        for &k in &keys {
            let db = &mut ctx.srv.dbs[ctx.db];
            let mut ttl = 0;
            if let Some(at) = db.get_expire(k) {
                ttl = at - now;
                if ttl < 0 {
                    continue;
                }
                ttl = ttl.max(1);
            }
            let Some(o) = db.peek(k, now) else {
                continue;
            };
            let payload = dump_payload(o, compress);
            req.extend_from_slice(if replace { b"*5\r\n" } else { b"*4\r\n" });
            // Redis compat: cluster.c migrateCommand: a cluster target may be importing
            // the slot, which only RESTORE-ASKING may write.
            bulk(&mut req, if cluster { b"RESTORE-ASKING" } else { b"RESTORE" });
            bulk(&mut req, k);
            bulk(&mut req, ttl.to_string().as_bytes());
            bulk(&mut req, &payload);
            if replace {
                bulk(&mut req, b"REPLACE");
            }
            sent.push(k);
        }
        let Some(cs) = ctx.srv.migrate_cache.get_mut(&name) else {
            return Err(ioerr(false));
        };
        let s = &mut cs.stream;
        s.set_timeouts(dur);
        // Each step below may fail on a stale cached socket: reconnect once, unless timed out.
        let mut fail = |ctx: &mut Ctx, reading: bool, e: &std::io::Error| -> Option<CmdError> {
            ctx.srv.migrate_cache.remove(&name);
            let timed_out = matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
            if may_retry && !timed_out {
                may_retry = false;
                return None;
            }
            Some(ioerr(reading))
        };
        if let Err(e) = s.write_all(&req) {
            match fail(ctx, false, &e) {
                Some(err) => return Err(err),
                None => continue,
            }
        }
        let mut first_err: Option<Vec<u8>> = None;
        let mut prelude = Vec::new();
        let mut read_err = None;
        for _ in 0..(auth.is_some() as usize + select as usize) {
            match read_line(s) {
                Ok(l) => prelude.push(l),
                Err(e) => {
                    read_err = Some(e);
                    break;
                }
            }
        }
        let mut replies = Vec::new();
        if read_err.is_none() {
            for _ in 0..sent.len() {
                match read_line(s) {
                    Ok(l) => replies.push(l),
                    Err(e) => {
                        read_err = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = read_err.as_ref() {
            if replies.is_empty() {
                match fail(ctx, true, e) {
                    Some(err) => return Err(err),
                    None => continue,
                }
            }
        }
        for l in prelude.iter() {
            if l.first() == Some(&b'-') && first_err.is_none() {
                first_err = Some(l.clone());
            }
        }
        // An AUTH or SELECT error fails every key; otherwise each RESTORE reply counts alone.
        let prelude_failed = first_err.is_some();
        let mut deleted: Vec<&[u8]> = vec![b"DEL"];
        for (i, r) in replies.iter().enumerate() {
            let failed = prelude_failed || r.first() == Some(&b'-');
            if failed {
                if first_err.is_none() {
                    first_err = Some(r.clone());
                }
            } else if !copy {
                if let Some(k) = sent.get(i) {
                    ctx.db().remove(k);
                    ctx.modified(k, "del");
                    deleted.push(k);
                }
            }
        }
        // Redis compat: cluster.c migrateCommand: replicas and the AOF get a DEL of
        // the keys that left (replaying MIGRATE itself would move them again).
        if deleted.len() > 1 {
            ctx.propagate_as(&deleted);
        }
        if read_err.is_some() {
            ctx.srv.migrate_cache.remove(&name);
            if first_err.is_none() {
                return Err(ioerr(true));
            }
        }
        if let Some(e) = first_err {
            if let Some(cs) = ctx.srv.migrate_cache.get_mut(&name) {
                cs.last_dbid = -1;
            }
            return Err(CmdError::owned(format!(
                "ERR Target instance replied with error: {}",
                String::from_utf8_lossy(e.get(1..).unwrap_or_default())
            )));
        }
        if let Some(cs) = ctx.srv.migrate_cache.get_mut(&name) {
            cs.last_dbid = dbid;
        }
        ctx.out.ok();
        return Ok(());
    }
}

/// MIGRATE's keys: argument 3, or everything after KEYS when it is empty.
/// Redis compat: db.c migrateGetKeys.
/// The key argument, or the keys after KEYS (skipping AUTH and AUTH2 credentials).
/// Redis compat: db.c migrateGetKeys.
pub fn keys_migrate(argv: &[&[u8]]) -> Vec<usize> {
    let mut i = 6;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"keys") {
            if argv.get(3).is_some_and(|k| !k.is_empty()) {
                return Vec::new();
            }
            return (i + 1..argv.len()).collect();
        }
        if a.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        }
        i += 1;
    }
    vec![3]
}

pub const COMMANDS: &[CommandSpec] = &[cmd("migrate", -6, WRITE | MOVABLE_KEYS, ACL_KEYSPACE | ACL_DANGEROUS, migrate)
        .specs(MIGRATE_SPECS)
    .keys_with(keys_migrate, KS_RW | KS_ACCESS | KS_DELETE)
    .doc(G, "2.6.0", "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.", "Atomically transfers a key from one Redis instance to another.")
    .tips(&["nondeterministic_output"])];
