//! Outgoing TCP connections from a chosen source address (`bind-source-addr`).
//! Redis compat: anet.c anetTcpGenericConnect with a source address.
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// A socket for `to`, bound to `source` (an IP address; empty: the kernel chooses).
fn socket_from(to: &SocketAddr, source: &str) -> io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(*to), Type::STREAM, None)?;
    if !source.is_empty() {
        let ip: std::net::IpAddr = source
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad source address"))?;
        sock.bind(&SocketAddr::new(ip, 0).into())?;
    }
    Ok(sock)
}

/// Starts a non-blocking connection (completion is reported as writability).
pub fn connect_nonblocking(to: SocketAddr, source: &str) -> io::Result<TcpStream> {
    let sock = socket_from(&to, source)?;
    sock.set_nonblocking(true)?;
    match sock.connect(&to.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(sock.into())
}

/// A blocking connection, given up after `timeout`.
pub fn connect_timeout(to: SocketAddr, source: &str, timeout: Duration) -> io::Result<TcpStream> {
    let sock = socket_from(&to, source)?;
    sock.connect_timeout(&to.into(), timeout)?;
    Ok(sock.into())
}
