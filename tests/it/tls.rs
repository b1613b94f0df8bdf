//! TLS: clients of `tls-port` (with and without client certificates, as
//! `tls-auth-clients` asks), a client that does not speak TLS, CONFIG SET of the
//! TLS files, and a replica linked to its master over TLS (`tls-replication`).
//! Certificates are made for each test by a throwaway CA.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::harness::{free_port, temp_dir, wait_for, Server};

/// A CA, a server certificate (also good as a client's: both key usages), and
/// the PEM files of each in `dir`.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn new() -> Certs {
        Certs::with_key(KeyPair::generate().unwrap())
    }

    /// The server certificate is for `key`.
    fn with_key(key: KeyPair) -> Certs {
        let dir = temp_dir();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let cert = leaf.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
        std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        Certs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The directives of a TLS server on `tls_port`.
    fn args(&self, tls_port: u16) -> Vec<String> {
        [
            "--tls-port".to_string(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            self.path("server.crt"),
            "--tls-key-file".into(),
            self.path("server.key"),
            "--tls-ca-cert-file".into(),
            self.path("ca.crt"),
        ]
        .to_vec()
    }

    /// A TLS client: trusts the CA; presents the certificate when `with_cert`.
    fn connect(
        &self,
        port: u16,
        with_cert: bool,
    ) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
        let cfg = self.client_config(rustls::DEFAULT_VERSIONS, with_cert);
        let conn = rustls::ClientConnection::new(cfg, ServerName::try_from("localhost").unwrap()).unwrap();
        let sock = TcpStream::connect(("127.0.0.1", port))?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut s = rustls::StreamOwned::new(conn, sock);
        // Drive the handshake now, so that a refused one fails here.
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock)?;
        }
        Ok(s)
    }

    /// A client configuration that trusts the CA, speaks `versions`, and presents
    /// the certificate when `with_cert`. Its sessions are kept for resumption.
    fn client_config(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        with_cert: bool,
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(self.dir.join("ca.crt")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let b = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
        let cfg = if with_cert {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(self.dir.join("server.crt"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_file(self.dir.join("server.key")).unwrap();
            b.with_client_auth_cert(certs, key).unwrap()
        } else {
            b.with_no_client_auth()
        };
        Arc::new(cfg)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends one command and reads until `want` bytes of reply arrived.
fn roundtrip(s: &mut impl ReadWrite, args: &[&[u8]], want: usize) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    s.write_all(&out).unwrap();
    s.flush().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.len() < want {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    got
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn start(certs: &Certs, extra: &[&str]) -> (Server, u16) {
    let tls_port = free_port();
    let mut args = certs.args(tls_port);
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let s = Server::start_with(&argv);
    (s, tls_port)
}

#[test]
fn a_tls_client_is_served_like_any_other() {
    let certs = Certs::new();
    let (srv, tls_port) = start(&certs, &[]);
    // Logged after the line the harness waits for ("... tcp").
    wait_for("the tls ready line", Duration::from_secs(10), || {
        srv.log().contains("Ready to accept connections tls").then_some(())
    });
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
    // A value bigger than any record or write chunk, both ways.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(roundtrip(&mut s, &[b"SET", b"big", &big], 5), b"+OK\r\n");
    let header = format!("${}\r\n", big.len());
    let reply = roundtrip(&mut s, &[b"GET", b"big"], header.len() + big.len() + 2);
    assert_eq!(&reply[..header.len()], header.as_bytes());
    assert!(reply[header.len()..header.len() + big.len()] == big[..]);
    // A pipeline: every reply, in order.
    let mut pipe = Vec::new();
    for i in 0..2000 {
        pipe.extend_from_slice(format!("*2\r\n$4\r\nINCR\r\n$1\r\n{}\r\n", i % 10).as_bytes());
    }
    s.write_all(&pipe).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.iter().filter(|&&b| b == b'\n').count() < 2000 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        got.ends_with(b":200\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got[got.len() - 20..])
    );
    // The same data over the plain port.
    let mut c = srv.raw();
    assert_eq!(crate::cmd!(c, "STRLEN", "big"), b":3000000\r\n");
}

#[test]
fn tls_auth_clients_decides_whether_a_certificate_is_needed() {
    let certs = Certs::new();
    let (srv, tls_port) = start(&certs, &[]);
    // Default `yes`: no certificate, no session.
    let refused = certs
        .connect(tls_port, false)
        .and_then(|mut s| s.write_all(b"PING\r\n").and_then(|_| s.read(&mut [0u8; 16])));
    assert!(!matches!(refused, Ok(n) if n > 0), "{refused:?}");
    let mut c = srv.raw();
    assert_eq!(
        crate::cmd!(c, "CONFIG", "SET", "tls-auth-clients", "optional"),
        b"+OK\r\n"
    );
    let mut s = certs.connect(tls_port, false).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
}

#[test]
fn a_plain_client_on_the_tls_port_gets_no_reply_and_others_go_on() {
    let certs = Certs::new();
    let (srv, tls_port) = start(&certs, &[]);
    let mut plain = TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    plain.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    // Closed (or reset) without a byte a RESP client could take for a reply.
    match plain.read(&mut buf) {
        Ok(n) => assert_eq!(n, 0, "{:?}", &buf[..n]),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    let mut c = srv.raw();
    assert_eq!(crate::cmd!(c, "PING"), b"+PONG\r\n");
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
}

#[test]
fn a_command_followed_by_close_notify_in_one_write_is_run_and_the_server_goes_on() {
    let certs = Certs::new();
    let (srv, tls_port) = start(&certs, &[]);
    let mut s = certs.connect(tls_port, true).unwrap();
    // The command and the end of the session reach the server in one read.
    s.conn
        .writer()
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        .unwrap();
    s.conn.send_close_notify();
    while s.conn.wants_write() {
        s.conn.write_tls(&mut s.sock).unwrap();
    }
    let mut c = srv.raw();
    wait_for("the command to run", Duration::from_secs(10), || {
        (crate::cmd!(c, "GET", "k") == b"$1\r\nv\r\n").then_some(())
    });
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
}

#[test]
fn config_set_of_a_bad_tls_file_fails_and_keeps_the_old_context() {
    let certs = Certs::new();
    let (srv, tls_port) = start(&certs, &[]);
    let mut c = srv.raw();
    let missing = certs.path("missing.crt");
    let r = crate::cmd!(c, "CONFIG", "SET", "tls-cert-file", missing.as_str());
    assert_eq!(
        String::from_utf8_lossy(&r),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs.\r\n"
    );
    let r = crate::cmd!(c, "CONFIG", "GET", "tls-cert-file");
    assert!(String::from_utf8_lossy(&r).contains("server.crt"));
    assert!(srv.log().contains("Failed to load certificate"));
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
    // Moving the TLS port listens on the new one.
    let other = free_port();
    assert_eq!(
        crate::cmd!(c, "CONFIG", "SET", "tls-port", other.to_string().as_str()),
        b"+OK\r\n"
    );
    let mut s = certs.connect(other, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
}

#[test]
fn a_server_without_its_certificate_refuses_to_start() {
    let certs = Certs::new();
    let dir = temp_dir();
    let port = free_port().to_string();
    let key = certs.path("server.key");
    let mut srv = Server::start_no_wait(
        dir,
        &["--tls-port", &port, "--tls-key-file", &key, "--tls-auth-clients", "no"],
    );
    assert_eq!(srv.wait_exit(), Some(1));
    let log = srv.log();
    assert!(log.contains("No tls-cert-file configured!"), "{log}");
    assert!(
        log.contains("Failed to configure TLS. Check logs for more info."),
        "{log}"
    );
}

#[test]
fn a_replica_follows_its_master_over_tls() {
    let certs = Certs::new();
    let (_master, master_tls) = start(&certs, &[]);
    let mut m = certs.connect(master_tls, true).unwrap();
    assert_eq!(roundtrip(&mut m, &[b"SET", b"before", b"1"], 5), b"+OK\r\n");
    let (replica, _) = start(&certs, &["--tls-replication", "yes"]);
    let mut r = replica.raw();
    let port = master_tls.to_string();
    assert_eq!(crate::cmd!(r, "REPLICAOF", "127.0.0.1", port.as_str()), b"+OK\r\n");
    wait_for("the full sync over TLS", Duration::from_secs(20), || {
        (crate::cmd!(r, "GET", "before") == b"$1\r\n1\r\n").then_some(())
    });
    assert_eq!(roundtrip(&mut m, &[b"SET", b"after", b"2"], 5), b"+OK\r\n");
    wait_for("the stream over TLS", Duration::from_secs(20), || {
        (crate::cmd!(r, "GET", "after") == b"$1\r\n2\r\n").then_some(())
    });
    let info = String::from_utf8_lossy(&crate::cmd!(r, "INFO", "replication")).into_owned();
    assert!(info.contains("master_link_status:up"), "{info}");
}

/// A key file OpenSSL encrypted loads with tls-key-file-pass, at startup and by
/// CONFIG SET, and not without it.
#[test]
fn an_encrypted_key_is_read_with_its_password() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let plain = std::fs::read_to_string(data.join("ec.pem")).unwrap();
    let certs = Certs::with_key(KeyPair::from_pem(&plain).unwrap());
    for f in ["ec-pkcs8-aes256.pem", "ec-legacy-aes128.pem"] {
        std::fs::copy(data.join(f), certs.dir.join(f)).unwrap();
    }
    let (srv, tls_port) = start(&certs, &[]);
    let mut c = srv.raw();
    let pkcs8 = certs.path("ec-pkcs8-aes256.pem");
    let r = crate::cmd!(c, "CONFIG", "SET", "tls-key-file", pkcs8.as_str());
    assert!(String::from_utf8_lossy(&r).contains("Unable to update TLS configuration"));
    assert!(srv.log().contains("Failed to load private key"));
    assert_eq!(crate::cmd!(c, "CONFIG", "SET", "tls-key-file-pass", "1234"), b"+OK\r\n");
    assert_eq!(
        crate::cmd!(c, "CONFIG", "SET", "tls-key-file", pkcs8.as_str()),
        b"+OK\r\n"
    );
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
    drop(srv);

    let legacy = certs.path("ec-legacy-aes128.pem");
    let (srv, tls_port) = start(&certs, &["--tls-key-file", &legacy, "--tls-key-file-pass", "1234"]);
    let mut s = certs.connect(tls_port, true).unwrap();
    assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
    drop(srv);
}

/// Version 1 certificates (what Redis's utils/gen-test-certs.sh makes its generic
/// `redis.crt`) are taken from peers as OpenSSL takes them: a replica and its master
/// both presenting one link up, over TLS 1.2 and 1.3.
#[test]
fn peers_with_version_1_certificates_link_up() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let path = |f: &str| data.join(f).display().to_string();
    for protocols in ["TLSv1.2", "TLSv1.3"] {
        let args = |tls_port: u16| -> Vec<String> {
            let mut v: Vec<String> = vec!["--tls-port".into(), tls_port.to_string()];
            for (k, f) in [
                ("--tls-cert-file", "v1.crt"),
                ("--tls-key-file", "v1.key"),
                ("--tls-ca-cert-file", "v1-ca.crt"),
            ] {
                v.push(k.into());
                v.push(path(f));
            }
            v.extend([
                "--tls-protocols".into(),
                protocols.into(),
                "--tls-replication".into(),
                "yes".into(),
            ]);
            v
        };
        let master_tls = free_port();
        let margs = args(master_tls);
        let master = Server::start_with(&margs.iter().map(String::as_str).collect::<Vec<_>>());
        let mut m = master.raw();
        assert_eq!(crate::cmd!(m, "SET", "k", "v"), b"+OK\r\n");
        let rargs = args(free_port());
        let replica = Server::start_with(&rargs.iter().map(String::as_str).collect::<Vec<_>>());
        let mut r = replica.raw();
        let port = master_tls.to_string();
        assert_eq!(crate::cmd!(r, "REPLICAOF", "127.0.0.1", port.as_str()), b"+OK\r\n");
        wait_for("the sync over TLS", Duration::from_secs(20), || {
            (crate::cmd!(r, "GET", "k") == b"$1\r\nv\r\n").then_some(())
        });
        let info = String::from_utf8_lossy(&crate::cmd!(m, "INFO", "replication")).into_owned();
        assert!(info.contains("connected_slaves:1"), "{protocols}: {info}");
    }
}

/// With `tls-cluster yes` the cluster bus speaks TLS: two nodes meet and link up,
/// a TLS client is given the nodes' TLS ports and a plaintext one their plaintext
/// ports (CLUSTER NODES, SHARDS).
#[test]
fn a_tls_cluster_bus_links_nodes_and_plain_clients_see_plain_ports() {
    let certs = Certs::new();
    let start_node = || {
        let (tls_port, bus) = (free_port(), free_port());
        let mut args = certs.args(tls_port);
        let bus_s = bus.to_string();
        args.extend(
            [
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "1000",
                "--cluster-port",
                &bus_s,
                "--tls-cluster",
                "yes",
            ]
            .map(String::from),
        );
        let srv = Server::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>());
        (srv, tls_port, bus)
    };
    let (a, a_tls, _) = start_node();
    let (b, b_tls, b_bus) = start_node();
    let mut ca = a.raw();
    let (tls_s, bus_s) = (b_tls.to_string(), b_bus.to_string());
    assert_eq!(
        crate::cmd!(ca, "CLUSTER", "MEET", "127.0.0.1", tls_s.as_str(), bus_s.as_str()),
        b"+OK\r\n"
    );
    let mut cb = b.raw();
    wait_for("both nodes linked over TLS", Duration::from_secs(20), || {
        let linked = |c: &mut crate::harness::Raw| {
            let t = String::from_utf8_lossy(&crate::cmd!(c, "CLUSTER", "NODES")).into_owned();
            t.matches(" connected").count() == 2 && !t.contains("handshake") && !t.contains("noaddr")
        };
        (linked(&mut ca) && linked(&mut cb)).then_some(())
    });
    let plain = String::from_utf8_lossy(&crate::cmd!(ca, "CLUSTER", "NODES")).into_owned();
    assert!(plain.contains(&format!("127.0.0.1:{}@{b_bus}", b.port)), "{plain}");
    let mut s = certs.connect(a_tls, true).unwrap();
    // A bulk reply: its length line first, then as many bytes as it gives.
    let mut got = roundtrip(&mut s, &[b"CLUSTER", b"NODES"], 1);
    let mut buf = [0u8; 4096];
    let total = loop {
        if let Some(end) = got.windows(2).position(|w| w == b"\r\n") {
            let len: usize = String::from_utf8_lossy(&got[1..end]).parse().unwrap();
            break end + 2 + len + 2;
        }
        let n = s.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    };
    while got.len() < total {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
    }
    let over_tls = String::from_utf8_lossy(&got).into_owned();
    assert!(over_tls.contains(&format!("127.0.0.1:{b_tls}@{b_bus}")), "{over_tls}");
    let shards = String::from_utf8_lossy(&crate::cmd!(cb, "CLUSTER", "SHARDS")).into_owned();
    assert!(
        shards.contains("tls-port") && shards.contains(&format!(":{b_tls}\r\n")),
        "{shards}"
    );
}

/// MIGRATE reaches its target over TLS when `tls-cluster` says the cluster speaks it.
#[test]
fn migrate_speaks_tls_with_tls_cluster() {
    let certs = Certs::new();
    let (a, _) = start(&certs, &["--tls-cluster", "yes"]);
    let (b, b_tls) = start(&certs, &[]);
    let mut ca = a.raw();
    assert_eq!(crate::cmd!(ca, "SET", "k", "v"), b"+OK\r\n");
    let port = b_tls.to_string();
    assert_eq!(
        crate::cmd!(ca, "MIGRATE", "127.0.0.1", port.as_str(), "k", "0", "5000"),
        b"+OK\r\n"
    );
    assert_eq!(crate::cmd!(ca, "EXISTS", "k"), b":0\r\n");
    let mut cb = b.raw();
    assert_eq!(crate::cmd!(cb, "GET", "k"), b"$1\r\nv\r\n");
}

/// A session resumes (a TLS 1.3 ticket; a TLS 1.2 ticket or id) within
/// tls-session-cache-timeout, and not once it has passed (0: never).
#[test]
fn sessions_resume_within_the_cache_timeout() {
    let certs = Certs::new();
    for (timeout, versions, resumed) in [
        ("300", &[&rustls::version::TLS13][..], true),
        ("300", &[&rustls::version::TLS12][..], true),
        ("0", &[&rustls::version::TLS13][..], false),
        ("0", &[&rustls::version::TLS12][..], false),
    ] {
        let (_srv, port) = start(
            &certs,
            &["--tls-auth-clients", "no", "--tls-session-cache-timeout", timeout],
        );
        let cfg = certs.client_config(versions, false);
        let mut kinds = Vec::new();
        for _ in 0..2 {
            let conn =
                rustls::ClientConnection::new(Arc::clone(&cfg), ServerName::try_from("localhost").unwrap()).unwrap();
            let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut s = rustls::StreamOwned::new(conn, sock);
            // The reply comes after any ticket, so the ticket is stored by then.
            assert_eq!(roundtrip(&mut s, &[b"PING"], 7), b"+PONG\r\n");
            kinds.push(s.conn.handshake_kind());
        }
        let want = if resumed {
            rustls::HandshakeKind::Resumed
        } else {
            rustls::HandshakeKind::Full
        };
        assert_eq!(kinds[1], Some(want), "timeout {timeout}, {versions:?}");
    }
}
