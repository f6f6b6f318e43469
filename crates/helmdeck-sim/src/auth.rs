//! Who is calling, as a real API server decides it: the cluster's certificate authority and
//! serving certificate, and the credentials it accepts — a static bearer token, a client
//! certificate it signed, or a token an exec credential plugin minted, which expires. Anything
//! else gets 401; a read-only user gets 403 for writes, each with the Status body a real server
//! sends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use ring::rand::SecureRandom;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use serde_json::{Value, json};

use super::errors::ApiError;

/// What the kubeconfig the simulator writes carries for its user.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Credential {
    /// No authentication: every request is the cluster admin (plain HTTP's default).
    #[default]
    None,
    /// A static bearer token.
    Token,
    /// A client certificate signed by the cluster's CA.
    ClientCert,
    /// An exec credential plugin: `command args…` prints an ExecCredential whose token
    /// expires after [`AuthOptions::token_ttl`].
    Exec { command: PathBuf, args: Vec<String> },
}

impl std::str::FromStr for Credential {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Credential::None),
            "token" => Ok(Credential::Token),
            "cert" | "client-cert" => Ok(Credential::ClientCert),
            "exec" => Ok(Credential::Exec {
                command: PathBuf::new(),
                args: Vec::new(),
            }),
            other => Err(format!(
                "unknown credential {other:?}; known: none, token, cert, exec"
            )),
        }
    }
}

/// How the cluster authenticates.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// Serve HTTPS with a certificate from the cluster's own CA.
    pub tls: bool,
    pub credential: Credential,
    /// How long a token from the exec plugin lives.
    pub token_ttl: Duration,
    /// The user may read everything and change nothing.
    pub readonly: bool,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            tls: false,
            credential: Credential::None,
            token_ttl: Duration::from_secs(900),
            readonly: false,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    pub readonly: bool,
}

/// The user the kubeconfig names, by rights.
pub fn user_name(readonly: bool) -> &'static str {
    if readonly {
        "helmdeck-viewer"
    } else {
        "helmdeck-admin"
    }
}

impl Identity {
    fn of(user: &str, readonly: bool) -> Identity {
        let mut groups = vec!["system:authenticated".to_string()];
        if !readonly {
            groups.insert(0, "system:masters".to_string());
        }
        Identity {
            user: user.to_string(),
            groups,
            readonly,
        }
    }

    /// The admin of a cluster without authentication.
    pub fn anonymous_admin() -> Identity {
        Identity::of("helmdeck-sim", false)
    }

    /// May this caller do `verb`? A read-only user reads and asks access reviews only.
    pub fn may(&self, verb: &str) -> bool {
        !self.readonly || matches!(verb, "get" | "list" | "watch")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot make the cluster's certificates: {0}")]
    Certificates(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

struct IssuedCert {
    user: String,
    readonly: bool,
    not_after: u64,
}

/// The cluster's CA, serving certificate and credentials.
pub struct Authority {
    options: AuthOptions,
    pub ca_pem: String,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    static_token: String,
    token_key: [u8; 32],
    issued: Mutex<HashMap<Vec<u8>, IssuedCert>>,
    /// Exec tokens that authenticated a request, and requests refused with 401: what tests
    /// read to see a token renewed without a failure.
    exec_tokens: Mutex<std::collections::HashSet<String>>,
    refused: std::sync::atomic::AtomicU64,
}

/// What the authority has seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuthStats {
    /// Distinct exec-plugin tokens that were accepted.
    pub exec_tokens: usize,
    /// Requests answered 401.
    pub refused: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system's random source failing leaves zeros: only a test cluster's secrets weaken.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn cert_err(e: rcgen::Error) -> AuthError {
    AuthError::Certificates(e.to_string())
}

fn at(secs: u64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

impl Authority {
    pub fn new(options: AuthOptions) -> Result<Authority, AuthError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "helmdeck-sim-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = now_secs();
        ca_params.not_before = at(now.saturating_sub(3600));
        ca_params.not_after = at(now + 10 * 365 * 86_400);
        let ca_key = KeyPair::generate().map_err(cert_err)?;
        let ca_pem = ca_params.self_signed(&ca_key).map_err(cert_err)?.pem();
        Ok(Authority {
            options,
            ca_pem,
            ca_params,
            ca_key,
            static_token: format!("hds-{}", hex(&random::<16>())),
            token_key: random::<32>(),
            issued: Mutex::new(HashMap::new()),
            exec_tokens: Mutex::new(Default::default()),
            refused: Default::default(),
        })
    }

    pub fn stats(&self) -> AuthStats {
        AuthStats {
            exec_tokens: self.exec_tokens.lock().map(|t| t.len()).unwrap_or(0),
            refused: self.refused.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub fn options(&self) -> &AuthOptions {
        &self.options
    }

    /// Does every request need a credential?
    pub fn required(&self) -> bool {
        self.options.credential != Credential::None
    }

    pub fn static_token(&self) -> &str {
        &self.static_token
    }

    /// The key exec tokens are signed with, for the credential plugin.
    pub fn token_key_hex(&self) -> String {
        hex(&self.token_key)
    }

    fn sign(&self, params: &CertificateParams) -> Result<(String, Vec<u8>, KeyPair), AuthError> {
        let key = KeyPair::generate().map_err(cert_err)?;
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
        Ok((cert.pem(), cert.der().to_vec(), key))
    }

    /// The serving certificate for 127.0.0.1 and localhost, as rustls wants it.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, AuthError> {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .map_err(cert_err)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = now_secs();
        params.not_before = at(now.saturating_sub(3600));
        params.not_after = at(now + 365 * 86_400);
        let (_, der, key) = self.sign(&params)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AnyClientCert {
            algorithms: provider.signature_verification_algorithms,
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AuthError::Certificates(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(der)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(|e| AuthError::Certificates(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// A client certificate (PEM certificate, PEM key) for `user`, valid until `not_after`
    /// (seconds since the epoch; a past time makes an expired certificate).
    pub fn issue_client_cert(
        &self,
        user: &str,
        readonly: bool,
        not_after: u64,
    ) -> Result<(String, String), AuthError> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, user);
        if !readonly {
            params
                .distinguished_name
                .push(DnType::OrganizationName, "system:masters");
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = at(not_after.min(now_secs()).saturating_sub(3600));
        params.not_after = at(not_after);
        let (pem, der, key) = self.sign(&params)?;
        if let Ok(mut issued) = self.issued.lock() {
            issued.insert(
                der,
                IssuedCert {
                    user: user.to_string(),
                    readonly,
                    not_after,
                },
            );
        }
        Ok((pem, key.serialize_pem()))
    }

    /// Who a request is from: its bearer token, else its client certificate.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        peer_cert: Option<&[u8]>,
    ) -> Result<Identity, ApiError> {
        let who = self.identify(authorization, peer_cert);
        if who.is_err() {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        who
    }

    fn identify(
        &self,
        authorization: Option<&str>,
        peer_cert: Option<&[u8]>,
    ) -> Result<Identity, ApiError> {
        if !self.required() {
            return Ok(Identity::anonymous_admin());
        }
        let readonly = self.options.readonly;
        if let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")) {
            let token = token.trim();
            if token == self.static_token {
                return Ok(Identity::of(user_name(readonly), readonly));
            }
            if let Some((user, readonly)) = verify_token(&self.token_key, token, now_secs()) {
                if let Ok(mut seen) = self.exec_tokens.lock() {
                    seen.insert(token.to_string());
                }
                return Ok(Identity::of(&user, readonly));
            }
            return Err(unauthorized());
        }
        if let Some(der) = peer_cert
            && let Ok(issued) = self.issued.lock()
            && let Some(c) = issued.get(der)
            && c.not_after > now_secs()
        {
            return Ok(Identity::of(&c.user, c.readonly));
        }
        Err(unauthorized())
    }
}

/// A real server's answer to a request without valid credentials.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

/// A real server's answer to a request the caller has no right to make.
pub fn forbidden(
    who: &Identity,
    verb: &str,
    group: &str,
    plural: &str,
    name: Option<&str>,
    namespace: &str,
) -> ApiError {
    let what = match name {
        Some(n) => format!("{plural} {n:?}"),
        None => plural.to_string(),
    };
    let scope = if namespace.is_empty() {
        " at the cluster scope".to_string()
    } else {
        format!(" in the namespace {namespace:?}")
    };
    let mut e = ApiError::new(
        403,
        "Forbidden",
        format!(
            "{what} is forbidden: User {:?} cannot {verb} resource {plural:?} in API group {group:?}{scope}",
            who.user
        ),
    );
    e.details = json!({"name": name.unwrap_or_default(), "group": group, "kind": plural});
    e
}

/// A token for `user` that expires `ttl` from now, signed with `key`: what the exec plugin
/// hands out. Returns the token and its expiry (seconds since the epoch).
pub fn mint_token(key: &[u8], user: &str, readonly: bool, ttl: Duration) -> (String, u64) {
    let expiry = now_secs() + ttl.as_secs();
    let body = format!("{user}.{}.{expiry}", u8::from(readonly));
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        body.as_bytes(),
    );
    (format!("hdx.{body}.{}", hex(tag.as_ref())), expiry)
}

fn verify_token(key: &[u8], token: &str, now: u64) -> Option<(String, bool)> {
    let rest = token.strip_prefix("hdx.")?;
    let (body, tag) = rest.rsplit_once('.')?;
    let tag = unhex(tag)?;
    ring::hmac::verify(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        body.as_bytes(),
        &tag,
    )
    .ok()?;
    let mut parts = body.rsplitn(3, '.');
    let expiry: u64 = parts.next()?.parse().ok()?;
    let readonly = parts.next()? == "1";
    let user = parts.next()?;
    (expiry > now).then(|| (user.to_string(), readonly))
}

/// `helmdeck sim credential`: the ExecCredential an exec plugin prints, from the key file the
/// simulator wrote beside its kubeconfig.
pub fn exec_credential(key_file: &Path, readonly: bool, ttl: Duration) -> Result<String, String> {
    let text = std::fs::read_to_string(key_file)
        .map_err(|e| format!("cannot read the token key {}: {e}", key_file.display()))?;
    let key = unhex(text.trim())
        .filter(|k| k.len() == 32)
        .ok_or_else(|| format!("{} holds no token key", key_file.display()))?;
    let (token, expiry) = mint_token(&key, user_name(readonly), readonly, ttl);
    // The client is told a little less than the server allows, as `aws eks get-token` reports
    // 14 minutes for a 15-minute token (aws-iam-authenticator, pkg/token): a request sent just
    // before the reported expiry still arrives while the token is good.
    let cushion = (ttl.as_secs() / 4).min(60);
    Ok(json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": super::store::rfc3339(expiry - cushion)},
    })
    .to_string())
}

/// The access reviews a caller asks about itself, answered for who it is.
pub fn review_for(who: &Identity, mut obj: Value) -> Value {
    let user = json!({"username": who.user, "groups": who.groups});
    match obj["kind"].as_str().unwrap_or_default() {
        "SelfSubjectAccessReview" => {
            let verb = obj["spec"]["resourceAttributes"]["verb"]
                .as_str()
                .unwrap_or("get")
                .to_string();
            let allowed = who.may(&verb);
            // RBAC denies without a reason when no rule matches.
            obj["status"] = json!({"allowed": allowed});
        }
        "SelfSubjectRulesReview" if who.readonly => {
            obj["status"]["resourceRules"] = json!([{"verbs": ["get", "list", "watch"], "apiGroups": ["*"], "resources": ["*"]}]);
        }
        "SelfSubjectReview" => obj["status"] = json!({"userInfo": user}),
        _ => {}
    }
    obj
}

/// The verb a request is, as RBAC names it.
pub fn verb(method: &hyper::Method, named: bool, watch: bool) -> &'static str {
    match *method {
        hyper::Method::GET if watch => "watch",
        hyper::Method::GET if named => "get",
        hyper::Method::GET => "list",
        hyper::Method::POST => "create",
        hyper::Method::PUT => "update",
        hyper::Method::PATCH => "patch",
        hyper::Method::DELETE if named => "delete",
        hyper::Method::DELETE => "deletecollection",
        _ => "get",
    }
}

/// Asks for a client certificate and takes any the client proves it holds; whether the
/// certificate is one the cluster issued is judged per request (so an expired or foreign
/// certificate gets 401, as from a real server, not a failed handshake).
#[derive(Debug)]
struct AnyClientCert {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::server::danger::ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Writes a private file (0600): keys and tokens.
pub fn write_private(path: &Path, text: &str) -> Result<(), AuthError> {
    let err = |source| AuthError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(credential: Credential, readonly: bool) -> Authority {
        Authority::new(AuthOptions {
            tls: true,
            credential,
            readonly,
            ..Default::default()
        })
        .expect("authority")
    }

    #[test]
    fn tokens_authenticate_until_they_expire_and_forgeries_never() {
        let a = authority(Credential::Token, false);
        let bearer = format!("Bearer {}", a.static_token());
        assert_eq!(
            a.authenticate(Some(&bearer), None).expect("static").user,
            "helmdeck-admin"
        );
        assert_eq!(a.authenticate(None, None).unwrap_err().code, 401);
        assert_eq!(
            a.authenticate(Some("Bearer nope"), None).unwrap_err().code,
            401
        );
        let key = unhex(&a.token_key_hex()).expect("hex");
        let (t, expiry) = mint_token(&key, "helmdeck-admin", false, Duration::from_secs(60));
        assert!(a.authenticate(Some(&format!("Bearer {t}")), None).is_ok());
        assert_eq!(
            verify_token(&key, &t, expiry),
            None,
            "expired at its expiry"
        );
        let forged = t.replace(".0.", ".1.");
        assert_eq!(verify_token(&key, &forged, 0), None);
        let (other, _) = mint_token(&[7u8; 32], "helmdeck-admin", false, Duration::from_secs(60));
        assert_eq!(verify_token(&key, &other, 0), None);
    }

    #[test]
    fn issued_client_certificates_authenticate_and_expired_ones_do_not() {
        let a = authority(Credential::ClientCert, false);
        let (pem, _key) = a
            .issue_client_cert("alice", true, now_secs() + 600)
            .expect("cert");
        let der = {
            use base64::Engine;
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("pem")
        };
        let who = a.authenticate(None, Some(&der)).expect("issued");
        assert_eq!((who.user.as_str(), who.readonly), ("alice", true));
        assert!(!who.may("create") && who.may("watch"));
        let (old, _) = a.issue_client_cert("bob", false, 1_000).expect("cert");
        assert!(old.contains("BEGIN CERTIFICATE"));
        assert_eq!(
            a.authenticate(None, Some(b"not issued")).unwrap_err().code,
            401
        );
    }

    #[test]
    fn forbidden_reads_as_a_real_server_writes_it() {
        let who = Identity::of("helmdeck-viewer", true);
        let e = forbidden(&who, "create", "", "secrets", None, "default");
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "secrets is forbidden: User \"helmdeck-viewer\" cannot create resource \"secrets\" in API group \"\" in the namespace \"default\""
        );
    }
}
