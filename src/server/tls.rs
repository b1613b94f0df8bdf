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

    /// The server context of cluster bus links: a peer must present a certificate
    /// our CAs signed. None without CAs.
    pub fn bus_server(&self) -> Option<Arc<ServerConfig>> {
        self.yes.clone()
    }

    /// The client context of the links we open (to masters, to cluster nodes).
    pub fn bus_client(&self) -> Option<Arc<ClientConfig>> {
        self.client.clone()
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
    if (auth != "no" || cfg.yes("tls-cluster") || cfg.yes("tls-replication")) && ca_file.is_none() && ca_dir.is_none() {
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
    let key = load_key(&key_file, set(cfg, "tls-key-file-pass").as_deref())
        .map_err(|e| format!("Failed to load private key: {key_file}: {e}"))?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..ring::default_provider()
    });
    // The CAs, for webpki and for peers' version 1 certificates.
    let roots = match (&ca_file, &ca_dir) {
        (None, None) => None,
        _ => {
            let (roots, cas) = load_roots(ca_file.as_deref(), ca_dir.as_deref())
                .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
            let v1 = V1Certs {
                cas,
                algs: provider.signature_verification_algorithms,
            };
            Some((Arc::new(roots), Arc::new(v1)))
        }
    };
    let server_key =
        certified(certs, key, &provider).map_err(|e| format!("Failed to load private key: {key_file}: {e}"))?;
    let session_timeout = cfg.int("tls-session-cache-timeout").max(0) as u64;
    let sessions: Arc<dyn rustls::server::StoresServerSessions> = match cfg.yes("tls-session-caching") {
        // Redis compat: 0 is no limit (OpenSSL's SSL_CTX_sess_set_cache_size).
        true => Arc::new(SessionCache::new(
            match cfg.int("tls-session-cache-size") {
                0 => usize::MAX,
                n => n as usize,
            },
            session_timeout,
        )),
        false => Arc::new(NoServerSessionStorage {}),
    };
    // Resumed TLS 1.3 sessions (and TLS 1.2 ones of clients that take tickets) come
    // back with a ticket we encrypted, as OpenSSL's do: the cache then holds only
    // TLS 1.2 sessions resumed by id, not two entries for every connection made.
    let ticketer = match cfg.yes("tls-session-caching") {
        true => Some(Arc::new(ExpiringTickets {
            inner: ring::Ticketer::new().map_err(|e| format!("Failed to configure TLS: {e}"))?,
            timeout: session_timeout,
        }) as Arc<dyn rustls::server::ProducesTickets>),
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
        let Some((roots, v1)) = &roots else {
            return Ok(None);
        };
        let b = WebPkiClientVerifier::builder_with_provider(Arc::clone(roots), Arc::clone(&provider));
        let b = if optional { b.allow_unauthenticated() } else { b };
        let inner = b
            .build()
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
        Ok(Some(Arc::new(V1Client {
            inner,
            v1: Arc::clone(v1),
        })))
    };
    let (yes, optional) = match verifier(false)? {
        Some(v) => (Some(make(Some(v))?), Some(make(verifier(true)?)?)),
        None => (None, None),
    };
    // Our side of a link to a master: its own certificate when given, else the
    // server's. Redis compat: tls.c createSSLContext (client context).
    let client = match &roots {
        None => None,
        Some((roots, v1)) => {
            let ours = match (set(cfg, "tls-client-cert-file"), set(cfg, "tls-client-key-file")) {
                (Some(c), Some(k)) => {
                    let certs = CertificateDer::pem_file_iter(&c)
                        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| format!("Failed to load certificate: {c}: {e}"))?;
                    let key = load_key(&k, set(cfg, "tls-client-key-file-pass").as_deref())
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
                .with_custom_certificate_verifier(Arc::new(AnyName(inner, Arc::clone(v1))))
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

/// Reads the private key of a PEM file, decrypting it with `pass` when it is
/// encrypted: PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2), or OpenSSL's older PEM
/// encryption of an RSA or EC key ("Proc-Type: 4,ENCRYPTED" and "DEK-Info" headers).
/// Redis compat: tls.c hands tls-key-file-pass to OpenSSL's password callback.
fn load_key(path: &str, pass: Option<&str>) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let Some((label, headers, der)) = pem_key_section(&text)? else {
        return PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| e.to_string());
    };
    let dek = headers.iter().find(|(k, _)| *k == "DEK-Info").map(|(_, v)| *v);
    if label != "ENCRYPTED PRIVATE KEY" && dek.is_none() {
        return PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| e.to_string());
    }
    let pass = pass.ok_or("the key is encrypted and no password is configured")?;
    let wrong = || "bad decrypt (wrong password?)".to_string();
    match (label, dek) {
        ("ENCRYPTED PRIVATE KEY", _) => {
            let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| e.to_string())?;
            let plain = info.decrypt(pass).map_err(|_| wrong())?;
            Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
        }
        ("RSA PRIVATE KEY", Some(dek)) => Ok(PrivateKeyDer::Pkcs1(
            legacy_decrypt(dek, pass.as_bytes(), &der).ok_or_else(wrong)?.into(),
        )),
        ("EC PRIVATE KEY", Some(dek)) => Ok(PrivateKeyDer::Sec1(
            legacy_decrypt(dek, pass.as_bytes(), &der).ok_or_else(wrong)?.into(),
        )),
        _ => Err(format!("unsupported encrypted key type {label}")),
    }
}

/// The first private key section of a PEM text: its label, its headers and its bytes.
#[allow(clippy::type_complexity)]
fn pem_key_section(text: &str) -> Result<Option<(&str, Vec<(&str, &str)>, Vec<u8>)>, String> {
    use base64ct::Encoding;
    const LABELS: [&str; 4] = [
        "ENCRYPTED PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "PRIVATE KEY",
    ];
    let mut lines = text.lines().map(str::trim);
    let Some(label) = lines.by_ref().find_map(|l| {
        let l = l.strip_prefix("-----BEGIN ")?.strip_suffix("-----")?;
        LABELS.contains(&l).then_some(l)
    }) else {
        return Ok(None);
    };
    let (mut headers, mut body) = (Vec::new(), String::new());
    for l in lines {
        if l.starts_with("-----END ") {
            let der = base64ct::Base64::decode_vec(&body).map_err(|_| "bad base64 in the key")?;
            return Ok(Some((label, headers, der)));
        }
        match l.split_once(':') {
            Some((k, v)) if body.is_empty() => headers.push((k.trim(), v.trim())),
            _ => body.push_str(l),
        }
    }
    Err("no end line after the key".into())
}

/// Decrypts OpenSSL's older PEM encryption: the key is derived from the password
/// and the first 8 bytes of the IV by MD5 (EVP_BytesToKey, one round), then the
/// cipher named by the DEK-Info header runs in CBC mode with PKCS#7 padding. None:
/// an unknown cipher, a malformed header, or the padding of a wrong password.
fn legacy_decrypt(dek: &str, pass: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    use cbc::cipher::{block_padding::Pkcs7, BlockCipher, BlockDecryptMut, KeyInit, KeyIvInit};
    use md5::Digest;
    let (cipher, iv_hex) = dek.split_once(',')?;
    let iv_hex = iv_hex.trim();
    if iv_hex.len() % 2 != 0 || iv_hex.len() < 16 {
        return None;
    }
    let iv = (0..iv_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(iv_hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Option<Vec<u8>>
    where
        C: BlockCipher + BlockDecryptMut + KeyInit,
    {
        let d = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
        d.decrypt_padded_vec_mut::<Pkcs7>(data).ok()
    }
    type Decrypt = fn(&[u8], &[u8], &[u8]) -> Option<Vec<u8>>;
    let (key_len, decrypt): (usize, Decrypt) = match cipher {
        "AES-128-CBC" => (16, cbc_decrypt::<aes::Aes128>),
        "AES-192-CBC" => (24, cbc_decrypt::<aes::Aes192>),
        "AES-256-CBC" => (32, cbc_decrypt::<aes::Aes256>),
        "DES-EDE3-CBC" => (24, cbc_decrypt::<des::TdesEde3>),
        _ => return None,
    };
    let mut key = Vec::with_capacity(key_len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut h = md5::Md5::new();
        h.update(&prev);
        h.update(pass);
        h.update(&iv[..8]);
        prev = h.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(key_len);
    decrypt(&key, &iv, data)
}

/// Sessions resumable by id (TLS 1.2 clients without tickets) with the second they
/// were stored, oldest dropped first beyond `limit`. Grows with use: rustls's own
/// cache reserves room for its whole limit up front (2.4 MB at Redis's default of
/// 20480).
type Sessions = (
    std::collections::HashMap<Vec<u8>, (Vec<u8>, u64)>,
    std::collections::VecDeque<Vec<u8>>,
);

fn now_secs() -> u64 {
    crate::clock::now_ms().max(0) as u64 / 1000
}

/// Whether a session stored at `at` may still resume under `timeout` seconds
/// (`tls-session-cache-timeout`; 0 lets none resume, as OpenSSL's timeout does).
fn fresh(at: u64, timeout: u64) -> bool {
    now_secs().saturating_sub(at) < timeout
}

#[derive(Debug)]
struct SessionCache {
    limit: usize,
    timeout: u64,
    inner: std::sync::Mutex<Sessions>,
}

impl SessionCache {
    fn new(limit: usize, timeout: u64) -> Self {
        SessionCache {
            limit,
            timeout,
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
        if map.insert(key.clone(), (value, now_secs())).is_none() {
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
        let g = self.inner.lock().ok()?;
        let (v, at) = g.0.get(key)?;
        fresh(*at, self.timeout).then(|| v.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut g = self.inner.lock().ok()?;
        let (v, at) = g.0.remove(key)?;
        g.1.retain(|k| k.as_slice() != key);
        fresh(at, self.timeout).then_some(v)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Session tickets that resume only within `tls-session-cache-timeout` of their
/// issue, as OpenSSL's do: the issue time travels inside the encrypted ticket
/// (rustls itself only rotates its ticket keys every six hours).
#[derive(Debug)]
struct ExpiringTickets {
    inner: Arc<dyn rustls::server::ProducesTickets>,
    timeout: u64,
}

impl rustls::server::ProducesTickets for ExpiringTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    fn lifetime(&self) -> u32 {
        self.timeout.min(u32::MAX as u64) as u32
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut v = Vec::with_capacity(8 + plain.len());
        v.extend_from_slice(&now_secs().to_be_bytes());
        v.extend_from_slice(plain);
        self.inner.encrypt(&v)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.inner.decrypt(cipher)?;
        let (at, rest) = plain.split_at_checked(8)?;
        let at = u64::from_be_bytes(at.try_into().ok()?);
        fresh(at, self.timeout).then(|| rest.to_vec())
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
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>, Arc<V1Certs>);

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
            Err(e) => self
                .1
                .verify_cert(end_entity, now, e)
                .map(|_| rustls::client::danger::ServerCertVerified::assertion()),
            ok => ok,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls12_signature(message, cert, dss)
            .or_else(|e| self.1.verify_signature(message, cert, dss, false, e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls13_signature(message, cert, dss)
            .or_else(|e| self.1.verify_signature(message, cert, dss, true, e))
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Client certificates checked by webpki, or as version 1 certificates.
#[derive(Debug)]
struct V1Client {
    inner: Arc<dyn ClientCertVerifier>,
    v1: Arc<V1Certs>,
}

impl ClientCertVerifier for V1Client {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
            .or_else(|e| {
                self.v1
                    .verify_cert(end_entity, now, e)
                    .map(|_| rustls::server::danger::ClientCertVerified::assertion())
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, cert, dss)
            .or_else(|e| self.v1.verify_signature(message, cert, dss, false, e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, cert, dss)
            .or_else(|e| self.v1.verify_signature(message, cert, dss, true, e))
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Peers' X.509 version 1 certificates, which webpki refuses and OpenSSL takes
/// (Redis's utils/gen-test-certs.sh makes its generic `redis.crt` so): one is good
/// when it is within its validity period and signed by one of our CAs directly,
/// that CA being within its own. Version 1 has no extensions, so there is no key
/// usage or constraint to check. Every other certificate keeps webpki's verdict.
#[derive(Debug)]
struct V1Certs {
    cas: Vec<CertificateDer<'static>>,
    algs: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl V1Certs {
    /// The certificate parsed, when it is a version 1 one.
    fn parse<'a>(cert: &'a CertificateDer<'_>) -> Option<x509_parser::certificate::X509Certificate<'a>> {
        use x509_parser::prelude::{FromDer, X509Certificate, X509Version};
        let (_, c) = X509Certificate::from_der(cert.as_ref()).ok()?;
        (c.version() == X509Version::V1).then_some(c)
    }

    /// Ok when `cert` is a good version 1 certificate; else `webpki_err`, what webpki
    /// said of it.
    fn verify_cert(
        &self,
        cert: &CertificateDer<'_>,
        now: rustls::pki_types::UnixTime,
        webpki_err: rustls::Error,
    ) -> Result<(), rustls::Error> {
        use rustls::{CertificateError, Error};
        use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate};
        let Some(c) = Self::parse(cert) else {
            return Err(webpki_err);
        };
        let at = ASN1Time::from_timestamp(now.as_secs().min(i64::MAX as u64) as i64)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if !c.validity().is_valid_at(at) {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        let signed = self.cas.iter().any(|ca| {
            let Ok((_, ca)) = X509Certificate::from_der(ca.as_ref()) else {
                return false;
            };
            ca.subject().as_raw() == c.issuer().as_raw()
                && ca.validity().is_valid_at(at)
                && c.verify_signature(Some(ca.public_key())).is_ok()
        });
        match signed {
            true => Ok(()),
            false => Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
    }

    /// Checks a handshake signature made with the key of a version 1 certificate;
    /// `webpki_err` for any other certificate.
    fn verify_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
        tls13: bool,
        webpki_err: rustls::Error,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        use rustls::{CertificateError, Error};
        let Some(c) = Self::parse(cert) else {
            return Err(webpki_err);
        };
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(c.public_key().raw);
        if tls13 {
            return rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, &self.algs);
        }
        // TLS 1.2 names a scheme that may map to several algorithms: any one will do.
        let key = webpki::RawPublicKeyEntity::try_from(&spki)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let good = self
            .algs
            .mapping
            .iter()
            .filter(|(scheme, _)| *scheme == dss.scheme)
            .flat_map(|(_, algs)| algs.iter())
            .any(|alg| key.verify_signature(*alg, message, dss.signature()).is_ok());
        match good {
            true => Ok(rustls::client::danger::HandshakeSignatureValid::assertion()),
            false => Err(Error::InvalidCertificate(CertificateError::BadSignature)),
        }
    }
}

/// The CA certificates of a file and of every certificate file in a directory (the
/// directory's files may have any name, not only OpenSSL's hashed ones).
fn load_roots(file: Option<&str>, dir: Option<&str>) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
    let mut roots = RootCertStore::empty();
    let mut cas = Vec::new();
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
            roots.add(c.clone()).map_err(|e| format!("{}: {e}", path.display()))?;
            cas.push(c);
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
    Ok((roots, cas))
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

    fn fixture(name: &str) -> String {
        format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    /// The public half of a loaded key, as the signing provider sees it.
    fn public(key: PrivateKeyDer<'static>) -> Vec<u8> {
        let k = ring::default_provider()
            .key_provider
            .load_private_key(key)
            .expect("a usable key");
        k.public_key().expect("a public key").to_vec()
    }

    /// Keys OpenSSL encrypted (PKCS#8 with PBES2, and its older PEM encryption with
    /// AES and 3DES) load with their password, and not with another or none.
    #[test]
    fn encrypted_keys_load_with_their_password() {
        let plain = public(load_key(&fixture("ec.pem"), None).unwrap());
        for f in ["ec-pkcs8-aes256.pem", "ec-legacy-aes128.pem"] {
            assert_eq!(public(load_key(&fixture(f), Some("1234")).unwrap()), plain, "{f}");
        }
        let rsa = load_key(&fixture("rsa-legacy-des3.pem"), Some("1234")).unwrap();
        assert!(matches!(rsa, PrivateKeyDer::Pkcs1(_)));
        public(rsa);
        for f in ["ec-pkcs8-aes256.pem", "ec-legacy-aes128.pem", "rsa-legacy-des3.pem"] {
            let none = load_key(&fixture(f), None).map(|_| ()).unwrap_err();
            assert!(none.contains("encrypted"), "{f}: {none}");
            // A wrong password fails the padding check, or very rarely passes it and
            // leaves bytes that are no key.
            let wrong = load_key(&fixture(f), Some("12345")).map(public);
            assert!(wrong.is_err(), "{f}");
        }
        // An unencrypted key ignores a password given anyway.
        assert_eq!(public(load_key(&fixture("ec.pem"), Some("1234")).unwrap()), plain);
    }

    fn cert(name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(fixture(name)).unwrap()
    }

    /// A version 1 certificate is good when our CA signed it and it is in its
    /// validity period; another is left to webpki's verdict.
    #[test]
    fn version_1_certificates_are_checked_against_the_cas() {
        use rustls::{CertificateError, Error};
        let v1 = V1Certs {
            cas: vec![cert("v1-ca.crt")],
            algs: ring::default_provider().signature_verification_algorithms,
        };
        let now = rustls::pki_types::UnixTime::now();
        let webpki = || Error::General("webpki".into());
        assert_eq!(v1.verify_cert(&cert("v1.crt"), now, webpki()), Ok(()));
        // The same names, signed by another CA.
        assert_eq!(
            v1.verify_cert(&cert("v1-other-ca.crt"), now, webpki()),
            Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
        );
        // The CA's own certificate is version 3: not ours to judge.
        assert_eq!(v1.verify_cert(&cert("v1-ca.crt"), now, webpki()), Err(webpki()));
        let later = rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(200 * 365 * 86400));
        assert_eq!(
            v1.verify_cert(&cert("v1.crt"), later, webpki()),
            Err(Error::InvalidCertificate(CertificateError::Expired))
        );
        let none = V1Certs {
            cas: vec![],
            algs: v1.algs,
        };
        assert!(none.verify_cert(&cert("v1.crt"), now, webpki()).is_err());
    }

    #[test]
    fn legacy_headers_are_checked() {
        assert!(legacy_decrypt("AES-128-CBC,00", b"p", &[0; 16]).is_none());
        assert!(legacy_decrypt("BF-CBC,0011223344556677", b"p", &[0; 8]).is_none());
        assert!(
            legacy_decrypt("AES-128-CBC,0011223344556677", b"p", &[0; 16]).is_none(),
            "8 byte IV for AES"
        );
        assert!(legacy_decrypt("AES-128-CBC,zz112233445566778899aabbccddeeff", b"p", &[0; 16]).is_none());
    }

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
