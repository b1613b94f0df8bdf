//! TLS for client connections (`tls-port`): the server contexts built from the
//! `tls-*` directives, and the stream a TLS client's bytes go through.
//!
//! Redis compat: tls.c. Contexts are built whole or not at all: a bad file or value
//! leaves the running contexts untouched (CONFIG SET fails, startup aborts). rustls
//! speaks TLS 1.2 and 1.3 only, with ECDHE key exchange (so `tls-dh-params-file`
//! is not needed), and ciphers are named as IANA and OpenSSL name them.
use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection, SupportedCipherSuite,
};
use tracing::warn;

use crate::config::Config;

/// Server contexts, one per `tls-auth-clients` value a connection may be accepted
/// under (the directive is read at each accept, as Redis reads it).
pub struct TlsContexts {
    /// For our own connections to a master (`tls-replication`).
    client: Option<Arc<ClientConfig>>,
    no: Arc<ServerConfig>,
    /// None when no CA is configured (only `tls-auth-clients no` is possible then).
    yes: Option<Arc<ServerConfig>>,
    optional: Option<Arc<ServerConfig>>,
}

impl TlsContexts {
    /// A server side session for a connection accepted now.
    pub fn accept(&self, auth: &str) -> Option<Connection> {
        let cfg = match auth {
            "yes" => self.yes.as_ref()?,
            "optional" => self.optional.as_ref()?,
            _ => &self.no,
        };
        ServerConnection::new(Arc::clone(cfg)).ok().map(Connection::Server)
    }

    /// A client side session to `host` (a name or an address, checked against the
    /// peer's certificate as OpenSSL checks it: the CA only, not the name).
    pub fn connect(&self, host: &str) -> Result<Connection, String> {
        let cfg = self
            .client
            .as_ref()
            .ok_or("TLS replication needs tls-ca-cert-file or tls-ca-cert-dir")?;
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
        ClientConnection::new(Arc::clone(cfg), name)
            .map(Connection::Client)
            .map_err(|e| e.to_string())
    }
}

fn set(cfg: &Config, name: &str) -> Option<String> {
    cfg.get(name).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Builds the contexts from the configuration. None: unusable (logged as Redis
/// logs it).
pub fn configure(cfg: &Config) -> Option<TlsContexts> {
    build(cfg).map_err(|msg| warn!("{msg}")).ok()
}

fn build(cfg: &Config) -> Result<TlsContexts, String> {
    let cert_file = set(cfg, "tls-cert-file").ok_or("No tls-cert-file configured!")?;
    let key_file = set(cfg, "tls-key-file").ok_or("No tls-key-file configured!")?;
    let (ca_file, ca_dir) = (set(cfg, "tls-ca-cert-file"), set(cfg, "tls-ca-cert-dir"));
    let auth = cfg.get("tls-auth-clients").unwrap_or("yes");
    if auth != "no" && ca_file.is_none() && ca_dir.is_none() {
        return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!".into());
    }
    let versions = protocols(cfg.get("tls-protocols").unwrap_or(""))?;
    let suites = cipher_suites(
        cfg.get("tls-ciphers").unwrap_or(""),
        cfg.get("tls-ciphersuites").unwrap_or(""),
    )?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("Failed to load certificate: {cert_file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("Failed to load certificate: {cert_file}: no certificate found"));
    }
    let key = PrivateKeyDer::from_pem_file(&key_file).map_err(|e| {
        let why = if set(cfg, "tls-key-file-pass").is_some() {
            format!("{e} (encrypted keys are not supported: give the key unencrypted)")
        } else {
            e.to_string()
        };
        format!("Failed to load private key: {key_file}: {why}")
    })?;
    let roots = match (&ca_file, &ca_dir) {
        (None, None) => None,
        _ => Some(Arc::new(load_roots(ca_file.as_deref(), ca_dir.as_deref()).map_err(
            |e| format!("Failed to configure CA certificate(s) file/directory: {e}"),
        )?)),
    };
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..ring::default_provider()
    });
    let server_key =
        certified(certs, key, &provider).map_err(|e| format!("Failed to load private key: {key_file}: {e}"))?;
    let sessions: Arc<dyn rustls::server::StoresServerSessions> = match cfg.yes("tls-session-caching") {
        // Redis compat: 0 is no limit (OpenSSL's SSL_CTX_sess_set_cache_size).
        true => Arc::new(SessionCache::new(match cfg.int("tls-session-cache-size") {
            0 => usize::MAX,
            n => n as usize,
        })),
        false => Arc::new(NoServerSessionStorage {}),
    };
    // Resumed TLS 1.3 sessions (and TLS 1.2 ones of clients that take tickets) come
    // back with a ticket we encrypted, as OpenSSL's do: the cache then holds only
    // TLS 1.2 sessions resumed by id, not two entries for every connection made.
    let ticketer = match cfg.yes("tls-session-caching") {
        true => Some(ring::Ticketer::new().map_err(|e| format!("Failed to configure TLS: {e}"))?),
        false => None,
    };
    let prefer_server = cfg.yes("tls-prefer-server-ciphers");
    let make = |verifier: Option<Arc<dyn ClientCertVerifier>>| -> Result<Arc<ServerConfig>, String> {
        let b = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| format!("Failed to configure TLS: {e}"))?;
        let b = match verifier {
            Some(v) => b.with_client_cert_verifier(v),
            None => b.with_no_client_auth(),
        };
        let mut c = b.with_cert_resolver(Arc::new(SingleCertAndKey::from(server_key.clone())));
        c.session_storage = Arc::clone(&sessions);
        if let Some(t) = &ticketer {
            c.ticketer = Arc::clone(t);
        }
        c.ignore_client_order = prefer_server;
        Ok(Arc::new(c))
    };
    let verifier = |optional: bool| -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
        let Some(roots) = &roots else {
            return Ok(None);
        };
        let b = WebPkiClientVerifier::builder_with_provider(Arc::clone(roots), Arc::clone(&provider));
        let b = if optional { b.allow_unauthenticated() } else { b };
        b.build()
            .map(Some)
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))
    };
    let (yes, optional) = match verifier(false)? {
        Some(v) => (Some(make(Some(v))?), Some(make(verifier(true)?)?)),
        None => (None, None),
    };
    // Our side of a link to a master: its own certificate when given, else the
    // server's. Redis compat: tls.c createSSLContext (client context).
    let client = match &roots {
        None => None,
        Some(roots) => {
            let ours = match (set(cfg, "tls-client-cert-file"), set(cfg, "tls-client-key-file")) {
                (Some(c), Some(k)) => {
                    let certs = CertificateDer::pem_file_iter(&c)
                        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| format!("Failed to load certificate: {c}: {e}"))?;
                    let key = PrivateKeyDer::from_pem_file(&k)
                        .map_err(|e| format!("Failed to load private key: {k}: {e}"))?;
                    certified(certs, key, &provider).map_err(|e| format!("Failed to load private key: {k}: {e}"))?
                }
                _ => server_key.clone(),
            };
            let inner =
                rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::clone(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
            let c = ClientConfig::builder_with_provider(Arc::clone(&provider))
                .with_protocol_versions(&versions)
                .map_err(|e| format!("Failed to configure TLS: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(inner)))
                .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(ours)));
            Some(Arc::new(c))
        }
    };
    Ok(TlsContexts {
        client,
        no: make(None)?,
        yes,
        optional,
    })
}

/// Sessions resumable by id (TLS 1.2 clients without tickets), oldest dropped first
/// beyond `limit`. Grows with use: rustls's own cache reserves room for its whole
/// limit up front (2.4 MB at Redis's default of 20480).
type Sessions = (
    std::collections::HashMap<Vec<u8>, Vec<u8>>,
    std::collections::VecDeque<Vec<u8>>,
);

#[derive(Debug)]
struct SessionCache {
    limit: usize,
    inner: std::sync::Mutex<Sessions>,
}

impl SessionCache {
    fn new(limit: usize) -> Self {
        SessionCache {
            limit,
            inner: std::sync::Mutex::new(Default::default()),
        }
    }
}

impl rustls::server::StoresServerSessions for SessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Ok(mut g) = self.inner.lock() else {
            return false;
        };
        let (map, order) = &mut *g;
        if map.insert(key.clone(), value).is_none() {
            order.push_back(key);
        }
        while map.len() > self.limit {
            match order.pop_front() {
                Some(old) => map.remove(&old),
                None => break,
            };
        }
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.inner.lock().ok()?.0.get(key).cloned()
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut g = self.inner.lock().ok()?;
        let v = g.0.remove(key)?;
        g.1.retain(|k| k.as_slice() != key);
        Some(v)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// A certificate chain with its key, checked to match. The check compares the key's
/// public half with the certificate's bytes rather than parsing the certificate, so
/// that version 1 certificates (what `openssl x509 -req` makes without extensions),
/// which OpenSSL serves, are served too.
fn certified(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let signing = provider.key_provider.load_private_key(key).map_err(|e| e.to_string())?;
    let ck = CertifiedKey::new(certs, signing);
    if let (Some(spki), Some(cert)) = (ck.key.public_key(), ck.cert.first()) {
        let spki = spki.as_ref();
        if !cert.as_ref().windows(spki.len()).any(|w| w == spki) {
            return Err("key values mismatch".into());
        }
    }
    Ok(ck)
}

/// Checks a master's certificate chain against our CAs but not its name, as Redis
/// (OpenSSL with SSL_VERIFY_PEER and no host check) does.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // webpki checks the name last: the chain is good.
            Err(Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The CA certificates of a file and of every certificate file in a directory (the
/// directory's files may have any name, not only OpenSSL's hashed ones).
fn load_roots(file: Option<&str>, dir: Option<&str>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut add = |path: &std::path::Path, strict: bool| -> Result<(), String> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", path.display()));
        let certs = match certs {
            Ok(c) => c,
            Err(_) if !strict => return Ok(()),
            Err(e) => return Err(e),
        };
        if strict && certs.is_empty() {
            return Err(format!("{}: no certificate found", path.display()));
        }
        for c in certs {
            roots.add(c).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    };
    if let Some(f) = file {
        add(std::path::Path::new(f), true)?;
    }
    if let Some(d) = dir {
        let entries = std::fs::read_dir(d).map_err(|e| format!("{d}: {e}"))?;
        for e in entries.flatten() {
            if e.path().is_file() {
                add(&e.path(), false)?;
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificate found".into());
    }
    Ok(roots)
}

/// `tls-protocols`: Redis's names, any case. TLSv1 and TLSv1.1 are accepted and
/// left out with a warning (rustls does not speak them). Default: 1.2 and 1.3.
fn protocols(s: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if s.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut out = Vec::new();
    for t in s.split(' ').filter(|t| !t.is_empty()) {
        match t.to_ascii_lowercase().as_str() {
            "tlsv1" | "tlsv1.1" => warn!("{t} is specified in tls-protocols but not supported: left out"),
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            _ => return Err(
                "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
                    .into(),
            ),
        }
    }
    if out.is_empty() {
        return Err("None of the tls-protocols given is supported: use TLSv1.2 or TLSv1.3".into());
    }
    Ok(out)
}

/// OpenSSL's names of the TLS 1.2 suites rustls has.
const OPENSSL_NAMES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    ("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The suites `tls-ciphers` (TLS 1.2, an OpenSSL cipher list) and `tls-ciphersuites`
/// (TLS 1.3, colon separated) allow. A list naming none of our suites (only
/// OpenSSL's group keywords such as HIGH or DEFAULT, or exclusions) keeps every
/// suite of that version; a list naming only suites we lack is an error, as OpenSSL
/// fails a list that matches nothing.
fn cipher_suites(ciphers: &str, suites13: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let all = ring::DEFAULT_CIPHER_SUITES;
    // rustls names TLS 1.3 suites TLS13_*; IANA and OpenSSL name them TLS_*.
    let name_of = |s: &SupportedCipherSuite| s.suite().as_str().unwrap_or("").replace("TLS13_", "TLS_");
    let pick = |list: &str, v13: bool, what: &str| -> Result<Vec<SupportedCipherSuite>, String> {
        let of_version: Vec<SupportedCipherSuite> = all
            .iter()
            .copied()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)) == v13)
            .collect();
        let mut chosen = Vec::new();
        let mut named = false;
        for tok in list.split([':', ',', ' ']).filter(|t| !t.is_empty()) {
            // Exclusions, group keywords (HIGH, kEECDH+AESGCM), strength ordering.
            if tok.starts_with(['!', '-', '+', '@']) || tok.contains('+') || !tok.contains(['-', '_']) {
                continue;
            }
            named = true;
            let iana = OPENSSL_NAMES
                .iter()
                .find(|(o, _)| o.eq_ignore_ascii_case(tok))
                .map_or(tok, |(_, i)| i);
            if let Some(s) = of_version.iter().find(|s| name_of(s).eq_ignore_ascii_case(iana)) {
                if !chosen.iter().any(|c: &SupportedCipherSuite| c.suite() == s.suite()) {
                    chosen.push(*s);
                }
            }
        }
        match (named, chosen.is_empty()) {
            (false, _) => Ok(of_version),
            (true, true) => Err(format!("Failed to configure {what}: {list}")),
            (true, false) => Ok(chosen),
        }
    };
    let mut out = pick(suites13, true, "ciphersuites")?;
    out.extend(pick(ciphers, false, "ciphers")?);
    Ok(out)
}

/// A TLS client's socket and session.
pub struct TlsStream {
    pub sock: TcpStream,
    pub tls: Connection,
    /// The session failed: nothing more is sent (not even the alert rustls queued
    /// for a peer that does not speak TLS).
    failed: bool,
}

/// What a TLS session holds beyond the client's own buffers (its record buffers
/// and keys), counted in the client's memory: measured as used_memory per open
/// idle connection minus what CLIENT LIST counted for it.
pub const SESSION_BYTES: usize = 11 * 1024;

/// Plaintext accepted per write call (one record): bounds what the session holds
/// encrypted but unsent, which client memory accounting does not see.
const WRITE_CHUNK: usize = 16 * 1024;

impl TlsStream {
    pub fn new(sock: TcpStream, tls: Connection) -> Self {
        TlsStream {
            sock,
            tls,
            failed: false,
        }
    }

    /// Whether the session holds output the socket has not taken yet.
    pub fn holds_output(&self) -> bool {
        !self.failed && self.tls.wants_write()
    }

    /// Sends the encrypted bytes the session holds. Ok(true): all sent.
    pub fn drain(&mut self) -> io::Result<bool> {
        while self.holds_output() {
            match self.tls.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Reads up to `out.len()` plaintext bytes. Fewer than asked (or WouldBlock)
    /// only once the socket is drained, so that edge-triggered readiness is not
    /// missed; Ok(0) at the end of the stream.
    pub fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        loop {
            if got < out.len() {
                match self.tls.reader().read(out.get_mut(got..).unwrap_or_default()) {
                    // The peer's close_notify: what was read goes first, the end
                    // next time.
                    Ok(0) => return Ok(got),
                    Ok(n) => {
                        got += n;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if got == 0 => return Err(e),
                    Err(_) => return Ok(got),
                }
            }
            if got == out.len() {
                return Ok(got);
            }
            match self.tls.read_tls(&mut self.sock) {
                Ok(0) => {
                    // The peer closed: what was read goes first, the end next time.
                    return Ok(got);
                }
                Ok(_) => {
                    if let Err(e) = self.tls.process_new_packets() {
                        // The alert, if the socket takes it; none to a peer that does
                        // not speak TLS at all (OpenSSL sends none either: such a
                        // client sees the connection reset, not bytes it would take
                        // for a reply).
                        if !matches!(e, rustls::Error::InvalidMessage(_)) {
                            let _ = self.drain();
                        }
                        self.failed = true;
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                    // Handshake messages, session tickets, alerts.
                    self.drain()?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => return Ok(got),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Encrypts up to WRITE_CHUNK bytes of `buf` and sends what the socket takes.
    /// WouldBlock while earlier output is still unsent (but for the handshake's:
    /// what is written meanwhile waits in the session for its end).
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.drain()? && !self.tls.is_handshaking() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self
            .tls
            .writer()
            .write(buf.get(..buf.len().min(WRITE_CHUNK)).unwrap_or_default())?;
        self.drain()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_follow_redis_names() {
        assert_eq!(protocols("").map(|v| v.len()), Ok(2));
        assert_eq!(protocols("TLSv1.2").map(|v| v.len()), Ok(1));
        assert_eq!(protocols("tlsv1.2 TLSv1.3").map(|v| v.len()), Ok(2));
        assert!(protocols("TLSv1.1").is_err());
        assert!(protocols("SSLv3").is_err());
    }

    #[test]
    fn cipher_lists_take_openssl_and_iana_names() {
        let n = |c: &str, s: &str| cipher_suites(c, s).map(|v| v.len());
        let all = ring::DEFAULT_CIPHER_SUITES.len();
        assert_eq!(n("", ""), Ok(all));
        assert_eq!(n("DEFAULT:!MEDIUM", ""), Ok(all));
        assert_eq!(n("ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256"), Ok(2));
        assert_eq!(
            n("", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"),
            Ok(all - 1)
        );
        assert!(n("DES-CBC3-SHA", "").is_err());
    }
}
