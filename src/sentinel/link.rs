//! Sentinel's outgoing connections: a command link to every monitored master,
//! replica and peer Sentinel, and a Pub/Sub link to masters and replicas for the
//! hello channel. Each is a non-blocking TCP socket on the reactor (tokens from
//! `LINK_BASE`), with its replies matched in order to what was asked.
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};

use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::server::client::Conn;

/// Tokens of Sentinel links (a range no client, listener or cluster link uses).
pub const LINK_BASE: usize = usize::MAX / 4 * 3;

/// What to do with the reply to a command sent on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cb {
    Discard,
    Ping,
    Info,
    Publish,
    IsMasterDown,
    /// The Pub/Sub link's subscription and its messages.
    Hello,
}

/// A reply as read from a monitored instance (RESP2).
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Status(s) | Reply::Error(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Deepest nesting accepted in a reply (Sentinel reads flat replies only).
const MAX_DEPTH: usize = 8;

/// A reply that breaks the protocol (the link is dropped).
#[derive(Debug, PartialEq, Eq)]
pub struct BadReply;

/// Parses one whole reply at the start of `buf`: the reply and its length, None when
/// more bytes are needed, Err on a protocol error.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, BadReply> {
    parse_at(buf, 0, 0)
}

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply, usize)>, BadReply> {
    if depth > MAX_DEPTH {
        return Err(BadReply);
    }
    let Some(rest) = buf.get(pos..) else { return Ok(None) };
    let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") else {
        return if rest.len() > 64 * 1024 {
            Err(BadReply)
        } else {
            Ok(None)
        };
    };
    let Some((&kind, line)) = rest[..nl].split_first() else {
        return Err(BadReply);
    };
    let text = || String::from_utf8_lossy(line).into_owned();
    let next = pos + nl + 2;
    let num = || crate::util::num::parse_i64(line).ok_or(BadReply);
    match kind {
        b'+' => Ok(Some((Reply::Status(text()), next))),
        b'-' => Ok(Some((Reply::Error(text()), next))),
        b':' => Ok(Some((Reply::Int(num()?), next))),
        b'$' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Bulk(None), next)));
            }
            let n = usize::try_from(n).map_err(|_| BadReply)?;
            if n > 512 * 1024 * 1024 {
                return Err(BadReply);
            }
            let end = next.checked_add(n).ok_or(BadReply)?;
            match buf.get(end..end + 2) {
                None => Ok(None),
                Some(b"\r\n") => Ok(Some((Reply::Bulk(Some(buf[next..end].to_vec())), end + 2))),
                Some(_) => Err(BadReply),
            }
        }
        b'*' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Array(None), next)));
            }
            let mut items = Vec::new();
            let mut at = next;
            for _ in 0..n {
                match parse_at(buf, at, depth + 1)? {
                    Some((r, to)) => {
                        items.push(r);
                        at = to;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        _ => Err(BadReply),
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(argv: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// How links are opened: the source address (`bind-source-addr`) and, with
/// `tls-replication yes`, TLS (None inside: no client context to use).
#[derive(Clone, Default)]
pub struct Dial {
    pub source: String,
    pub tls: Option<Option<std::sync::Arc<rustls::ClientConfig>>>,
}

/// One connection of an instance's link.
pub struct Socket {
    pub conn: Conn,
    /// Id of the instance it belongs to.
    pub owner: u64,
    pub pubsub: bool,
    pub connected: bool,
    pub sndbuf: Vec<u8>,
    pub rcvbuf: Vec<u8>,
    pub pending: VecDeque<Cb>,
}

/// The sockets of every link, by token.
#[derive(Default)]
pub struct Sockets {
    pub all: Slab<Socket>,
}

/// What came of readiness on a socket.
pub enum Io {
    /// Replies read, with what each answers.
    Replies(Vec<(Cb, Reply)>),
    /// The connection failed or was closed (replies read before it first).
    Closed(Vec<(Cb, Reply)>, String),
}

impl Sockets {
    /// Starts a non-blocking connect to `ip:port` (from `how.source`, over TLS when
    /// `how.tls` says so); the socket's key.
    pub fn connect(
        &mut self,
        reg: &Registry,
        ip: &str,
        port: u16,
        owner: u64,
        pubsub: bool,
        how: &Dial,
    ) -> Result<usize, String> {
        let addr: IpAddr = ip.parse().map_err(|_| format!("invalid address '{ip}'"))?;
        let std = crate::util::net::connect_nonblocking(SocketAddr::new(addr, port), &how.source)
            .map_err(|e| crate::util::os_err(&e))?;
        let mut s = mio::net::TcpStream::from_std(std);
        let _ = s.set_nodelay(true);
        let tls = match &how.tls {
            None => None,
            Some(None) => return Err("Failed to initialize TLS".into()),
            Some(Some(cfg)) => {
                let name = rustls::pki_types::ServerName::try_from(ip.to_string()).map_err(|e| e.to_string())?;
                let c = rustls::ClientConnection::new(std::sync::Arc::clone(cfg), name).map_err(|e| e.to_string())?;
                Some(rustls::Connection::Client(c))
            }
        };
        let id = self.all.vacant_key();
        reg.register(&mut s, Token(LINK_BASE + id), Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| e.to_string())?;
        let conn = match tls {
            Some(t) => Conn::Tls(Box::new(crate::server::tls::TlsStream::new(s, t))),
            None => Conn::Tcp(s),
        };
        self.all.insert(Socket {
            conn,
            owner,
            pubsub,
            connected: false,
            sndbuf: Vec::new(),
            rcvbuf: Vec::new(),
            pending: VecDeque::new(),
        });
        Ok(id)
    }

    pub fn close(&mut self, reg: &Registry, id: usize) {
        if let Some(mut s) = self.all.try_remove(id) {
            if let Some(src) = s.conn.source() {
                let _ = reg.deregister(src);
            }
        }
    }

    /// Queues a command; written at once when the socket is connected.
    pub fn send(&mut self, id: usize, argv: &[&[u8]], cb: Cb) -> bool {
        let Some(s) = self.all.get_mut(id) else { return false };
        encode(argv, &mut s.sndbuf);
        // A subscription is answered on the Pub/Sub side (as hiredis keeps it).
        if cb != Cb::Hello {
            s.pending.push_back(cb);
        }
        if s.connected {
            return flush(s).is_ok();
        }
        true
    }

    /// Handles readiness of socket `id`.
    pub fn io(&mut self, id: usize) -> Io {
        let Some(s) = self.all.get_mut(id) else {
            return Io::Replies(Vec::new());
        };
        if !s.connected {
            let Some(tcp) = s.conn.tcp_mut() else {
                return Io::Closed(Vec::new(), "no socket".into());
            };
            if let Ok(Some(e)) | Err(e) = tcp.take_error() {
                return Io::Closed(Vec::new(), e.to_string());
            }
            match tcp.peer_addr() {
                Ok(_) => s.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Io::Replies(Vec::new()),
                Err(e) => return Io::Closed(Vec::new(), e.to_string()),
            }
        }
        if let Err(e) = flush(s) {
            return Io::Closed(Vec::new(), e.to_string());
        }
        let mut closed = None;
        loop {
            match s.conn.read_append(&mut s.rcvbuf, 16 * 1024, None) {
                Ok(0) => {
                    closed = Some("Server closed the connection".to_string());
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    closed = Some(e.to_string());
                    break;
                }
            }
        }
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            match parse_reply(&s.rcvbuf[at..]) {
                Ok(Some((r, n))) => {
                    at += n;
                    // What answers no command is a Pub/Sub message, or an error the
                    // server sent before closing (max clients, a refused subscription
                    // on a link that is not authenticated): the link is dropped then,
                    // as hiredis does.
                    let cb = match s.pending.pop_front() {
                        Some(cb) => cb,
                        None if matches!(r, Reply::Error(_)) => {
                            closed = Some(r.text().unwrap_or_default());
                            break;
                        }
                        None => Cb::Hello,
                    };
                    out.push((cb, r));
                }
                Ok(None) => break,
                Err(BadReply) => {
                    closed = Some("Protocol error".into());
                    break;
                }
            }
        }
        s.rcvbuf.drain(..at);
        match closed {
            Some(why) => Io::Closed(out, why),
            None => Io::Replies(out),
        }
    }

    pub fn local_ip(&mut self, id: usize) -> Option<String> {
        let s = self.all.get_mut(id)?;
        let a = s.conn.tcp_mut()?.local_addr().ok()?;
        Some(match a.ip() {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(|v| v.to_string())
                .unwrap_or_else(|| v6.to_string()),
            ip => ip.to_string(),
        })
    }
}

fn flush(s: &mut Socket) -> io::Result<()> {
    while !s.sndbuf.is_empty() {
        match s.conn.write(&s.sndbuf) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
            Ok(n) => {
                s.sndbuf.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // An encrypted stream may still hold records the socket did not take.
    match s.conn.drain() {
        Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_whole_or_wait_for_more() {
        let buf = b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n:5\r\n+PONG\r\n";
        let (r, n) = parse_reply(buf).unwrap().unwrap();
        assert_eq!(
            r,
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"message".to_vec())),
                Reply::Bulk(Some(b"c".to_vec())),
                Reply::Int(5)
            ]))
        );
        assert_eq!(parse_reply(&buf[n..]).unwrap().unwrap().0, Reply::Status("PONG".into()));
        for cut in 0..n {
            assert_eq!(parse_reply(&buf[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse_reply(b"?x\r\n").is_err());
        assert!(parse_reply(b"$3\r\nabcde").is_err());
        assert_eq!(parse_reply(b"$-1\r\n").unwrap().unwrap().0, Reply::Bulk(None));
    }
}
