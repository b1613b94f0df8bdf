//! Wire protocol: multibulk, inline, pipelining, protocol errors, RESP3.
//! Several cases follow tests/unit/protocol.tcl of the Redis suite.
use crate::cmd;
use crate::harness::{wait_for, Raw, Server};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn inline_and_multibulk_pipelined() {
    let s = Server::start();
    let mut c = s.raw();
    c.send(b"SET a 1\r\nGET a\r\n*2\r\n$4\r\nECHO\r\n$3\r\nx\ny\r\nPING\n");
    assert_eq!(c.read(), b"+OK\r\n");
    assert_eq!(c.read(), b"$1\r\n1\r\n");
    assert_eq!(c.read(), b"$3\r\nx\ny\r\n");
    assert_eq!(c.read(), b"+PONG\r\n");
}

#[test]
fn request_split_across_many_writes() {
    let s = Server::start();
    let mut c = s.raw();
    let req = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n";
    for b in req.chunks(3) {
        c.send(b);
        c.s.flush().unwrap();
    }
    assert_eq!(c.read(), b"+OK\r\n");
    assert_eq!(cmd!(c, "GET", "key"), b"$10\r\n0123456789\r\n");
}

use std::io::Write;

#[test]
fn protocol_errors_reply_then_close() {
    // protocol.tcl: "Out of range multibulk length", "Wrong multibulk payload header",
    // "Negative multibulk payload length", "Unbalanced number of quotes".
    let cases: &[(&[u8], &[u8])] = &[
        (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
        ),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"*20\r\n$99999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    let s = Server::start();
    for (req, want) in cases {
        let mut c = s.raw();
        c.send(req);
        assert_eq!(&c.read(), want, "request {:?}", String::from_utf8_lossy(req));
        assert!(c.closed());
    }
    // The server keeps serving everyone else.
    let mut c = s.raw();
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

#[test]
fn too_big_inline_request() {
    let s = Server::start();
    let mut c = s.raw();
    c.send(&vec![b'a'; 70_000]);
    assert_eq!(c.read(), b"-ERR Protocol error: too big inline request\r\n");
    assert!(c.closed());
}

#[test]
fn tls_hello_to_the_plain_port_waits_without_a_reply() {
    // An inline line whose newline comes after a NUL never ends (Redis finds the
    // newline as a C string), so a TLS client on the plain port sees a timeout, not
    // bytes it would take for a broken TLS reply; past the inline limit it is an error.
    let s = Server::start();
    let mut c = s.raw();
    let mut hello = vec![0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03];
    hello.extend((0..200u8).map(|i| i.wrapping_mul(37)));
    assert!(hello.contains(&b'\n'));
    c.send(&hello);
    let mut other = s.raw();
    let qbuf = format!("qbuf={} ", hello.len());
    wait_for("the hello in a query buffer", Duration::from_secs(10), || {
        let list = cmd!(other, "CLIENT", "LIST");
        String::from_utf8_lossy(&list).contains(&qbuf).then_some(())
    });
    c.s.set_nonblocking(true).unwrap();
    let mut tmp = [0u8; 64];
    let err = std::io::Read::read(&mut c.s, &mut tmp).expect_err("no reply to a line that never ends");
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    c.s.set_nonblocking(false).unwrap();
    c.send(&vec![b'\n'; 70_000]);
    assert_eq!(c.read(), b"-ERR Protocol error: too big inline request\r\n");
    assert!(c.closed());
    assert_eq!(cmd!(other, "PING"), b"+PONG\r\n");
}

#[test]
fn empty_requests_are_ignored() {
    let s = Server::start();
    let mut c = s.raw();
    c.send(b"\r\n\r\n*0\r\n*-1\r\nPING\r\n");
    assert_eq!(c.read(), b"+PONG\r\n");
}

#[test]
fn hello_switches_to_resp3() {
    let s = Server::start();
    let mut c = s.raw();
    let r = cmd!(c, "HELLO", "3");
    assert!(
        r.starts_with(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    assert_eq!(cmd!(c, "GET", "nokey"), b"_\r\n");
    assert_eq!(cmd!(c, "DEBUG", "PROTOCOL", "double"), b",3.141\r\n");
    assert_eq!(cmd!(c, "HELLO", "4"), b"-NOPROTO unsupported protocol version\r\n");
    assert_eq!(cmd!(c, "HELLO", "2").first(), Some(&b'*'));
    assert_eq!(cmd!(c, "GET", "nokey"), b"$-1\r\n");
}

#[test]
fn unknown_command_and_arity_errors() {
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(
        cmd!(c, "FOO", "a", "b"),
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(cmd!(c, "GET"), b"-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(
        cmd!(c, "CONFIG", "GET"),
        b"-ERR wrong number of arguments for 'config|get' command\r\n"
    );
    assert_eq!(
        cmd!(c, "CONFIG", "FOO"),
        b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    // A client's bytes are quoted as C's %s prints them: as they came (not UTF-8
    // here), up to a NUL, within 128 bytes.
    assert_eq!(
        c.cmd(&[b"GE\xcbT", b"a\0b", b"\xff"]),
        b"-ERR unknown command 'GE\xcbT', with args beginning with: 'a' '\xff' \r\n"
    );
    let long = [b'\xe9'; 100];
    let mut want = b"-ERR unknown command 'X', with args beginning with: '".to_vec();
    want.extend_from_slice(&long);
    want.extend_from_slice(b"' '");
    want.extend_from_slice(&long[..25]);
    want.extend_from_slice(b"' \r\n");
    assert_eq!(c.cmd(&[b"X", &long, &long, b"third"]), want);
    assert_eq!(
        c.cmd(&[b"CONFIG", b"\xfe\0x"]),
        b"-ERR unknown subcommand '\xfe'. Try CONFIG HELP.\r\n"
    );
    assert_eq!(
        c.cmd(&[b"HELLO", b"2", b"\x9f+0\0z"]),
        b"-ERR Syntax error in HELLO option '\x9f+0'\r\n"
    );
    let mut p = s.raw();
    p.send(b"*2\r\n$4\r\nECHO\r\n\xb43\r\nabc\r\n");
    assert_eq!(p.read(), b"-ERR Protocol error: expected '$', got '\xb4'\r\n");
}

#[test]
fn big_pipeline_with_big_values() {
    let s = Server::start();
    let mut c = s.raw();
    let v = vec![b'x'; 200_000];
    let mut req = Vec::new();
    for i in 0..50 {
        let k = format!("k{i}");
        req.extend(format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n", k.len(), k, v.len()).bytes());
        req.extend_from_slice(&v);
        req.extend_from_slice(b"\r\n");
    }
    c.send(&req);
    for _ in 0..50 {
        assert_eq!(c.read(), b"+OK\r\n");
    }
    let mut r = redis::cmd("STRLEN");
    r.arg("k49");
    let n: usize = r.query(&mut s.client()).unwrap();
    assert_eq!(n, 200_000);
}

#[test]
fn big_replies_to_a_slow_reader_arrive_whole() {
    // 20 x 4 MB replies overflow the socket buffers: the server must keep the rest
    // and resume when the socket drains, while still serving other clients.
    let s = Server::start();
    let mut c = s.raw();
    let v = vec![b'v'; 4 << 20];
    assert_eq!(cmd!(c, "SET", "big", &v), b"+OK\r\n");
    c.send(&b"GET big\r\n".repeat(20));
    let mut other = s.raw();
    assert_eq!(cmd!(other, "PING"), b"+PONG\r\n");
    for _ in 0..20 {
        let r = c.read();
        assert_eq!(r.len(), v.len() + 12);
        assert!(r.starts_with(b"$4194304\r\nvvvv"));
    }
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

/// A reply of unknown length (KEYS) after other output of the same batch: its length
/// lands in front of it even once the output has been cut into chunks.
#[test]
fn a_deferred_length_lands_in_front_of_a_long_reply() {
    let s = Server::start();
    let mut c = s.raw();
    let big = vec![b'b'; 50_000];
    assert_eq!(cmd!(c, "SET", "big", &big), b"+OK\r\n");
    assert_eq!(cmd!(c, "DEBUG", "POPULATE", "20000", "k"), b"+OK\r\n");
    c.send(b"GET big\r\nKEYS k:*\r\nPING\r\n");
    assert_eq!(c.read().len(), big.len() + 10);
    let keys = c.read();
    assert!(
        keys.starts_with(b"*20000\r\n$"),
        "{:?}",
        String::from_utf8_lossy(&keys[..20])
    );
    let mut got: Vec<&[u8]> = keys
        .split(|&b| b == b'\n')
        .skip(2)
        .step_by(2)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    got.sort();
    let mut want: Vec<Vec<u8>> = (0..20_000).map(|i| format!("k:{i}").into_bytes()).collect();
    want.sort();
    assert!(got.iter().eq(want.iter()), "{} keys", got.len());
    assert_eq!(c.read(), b"+PONG\r\n");
}

#[test]
fn a_client_that_writes_everything_before_reading_is_served() {
    // 200k pipelined GETs (2.6 MB of requests, ~23 MB of replies) written before
    // reading a byte: the server must keep reading and buffering, or both sides block.
    let s = Server::start();
    let mut c = s.raw();
    assert_eq!(cmd!(c, "SET", "k", vec![b'x'; 100]), b"+OK\r\n");
    c.s.set_write_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    c.send(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".repeat(200_000));
    for _ in 0..200_000 {
        assert_eq!(c.read().len(), 100 + 8);
    }
}

#[test]
fn garbage_from_many_clients_never_takes_the_server_down() {
    let s = Server::start();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..100 {
        let mut c = s.raw();
        let mut junk = Vec::new();
        for _ in 0..(64 + round * 16) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bias towards protocol characters so the parser goes deep.
            let pick = b"*$\r\n0123456789-\"' \x00abcSETGET";
            junk.push(if x % 4 == 0 {
                (x >> 16) as u8
            } else {
                pick[(x % pick.len() as u64) as usize]
            });
        }
        c.send(&junk);
        let _ = c.closed_or_idle();
    }
    let mut c = s.raw();
    assert_eq!(cmd!(c, "PING"), b"+PONG\r\n");
}

/// A client streaming a pipeline faster than the server runs it gets a bounded read
/// per loop iteration, however long it streams: the others are served between its
/// reads. Measured as the commands run between two requests of a second client.
#[test]
fn streaming_client_does_not_starve_others() {
    let srv = Server::start();
    let mut loader = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let writer = std::thread::spawn(move || {
        let batch = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".repeat(4096);
        // Up to 35 MB, until the test has its samples.
        for _ in 0..300 {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            loader.write_all(&batch).unwrap();
        }
        loader
    });
    let mut probe = srv.raw();
    let processed = |probe: &mut Raw| -> u64 {
        let info = probe.cmd(&[b"INFO", b"stats"]);
        let info = String::from_utf8_lossy(&info).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    // Let the stream run long enough for a backlog to build, then sample.
    wait_for("the stream to start", Duration::from_secs(10), || {
        (processed(&mut probe) > 300_000).then_some(())
    });
    let mut least = u64::MAX;
    for _ in 0..40 {
        let a = processed(&mut probe);
        let b = processed(&mut probe);
        least = least.min(b - a);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(writer.join().unwrap());
    // Two 16 KB reads of 29-byte requests are about 1130 commands, and the two
    // requests are one iteration apart at best; a socket read until it is empty
    // would give tens of thousands.
    assert!(
        least < 4_000,
        "{least} commands ran between two requests of another client"
    );
}
