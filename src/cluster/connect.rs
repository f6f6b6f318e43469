//! Why a connection to the cluster failed, in one sentence that names the kubeconfig entry to
//! fix: an untrusted server certificate, credentials the server refused (and why: a wrong
//! token, an expired client certificate), an exec credential plugin that is missing, fails or
//! prints garbage, or a right the user lacks — never a stack of library errors.

use std::error::Error as StdError;
use std::path::PathBuf;

use kube::config::Kubeconfig;

use super::ClusterError;

/// What the kubeconfig's chosen context says, for messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entries {
    /// The kubeconfig file (or "the kubeconfig" when merged from several).
    pub file: String,
    pub context: String,
    pub cluster: String,
    pub user: String,
    pub server: String,
    /// `insecure-skip-tls-verify: true`: the server's certificate is not checked.
    pub insecure: bool,
    pub credential: CredentialKind,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum CredentialKind {
    #[default]
    None,
    Token,
    ClientCert {
        /// Expiry of the client certificate, when it could be read from the kubeconfig.
        not_after: Option<String>,
        expired: bool,
    },
    Exec {
        command: String,
    },
    Other,
}

/// Reads the entries the target's context uses; `None` when the kubeconfig cannot be read
/// (that error is reported where the client is built).
pub fn entries(kubeconfig: Option<&PathBuf>, context: Option<&str>) -> Option<Entries> {
    let (kc, file) = match kubeconfig {
        Some(p) => (Kubeconfig::read_from(p).ok()?, p.display().to_string()),
        None => {
            let file = std::env::var_os("KUBECONFIG")
                .and_then(|v| std::env::split_paths(&v).next())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.kube/config".into());
            (Kubeconfig::read().ok()?, file)
        }
    };
    let context_name = context
        .map(str::to_string)
        .or_else(|| kc.current_context.clone())?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == context_name)?
        .context
        .clone()?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.clone())
        .unwrap_or_default();
    let user_name = ctx.user.clone().unwrap_or_default();
    let auth = kc
        .auth_infos
        .iter()
        .find(|a| a.name == user_name)
        .and_then(|a| a.auth_info.clone())
        .unwrap_or_default();
    let credential = if let Some(exec) = &auth.exec {
        CredentialKind::Exec {
            command: exec.command.clone().unwrap_or_default(),
        }
    } else if auth.client_certificate_data.is_some() || auth.client_certificate.is_some() {
        let pem = match (&auth.client_certificate_data, &auth.client_certificate) {
            (Some(d), _) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(d.trim())
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).to_string())
            }
            // Bounded as kube-rs's own read is made to be (`Target::check_named_files`): a
            // device here would otherwise be read until memory runs out.
            (None, Some(path)) => crate::limits::read_bytes(std::path::Path::new(path), 1 << 20)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).to_string()),
            _ => None,
        };
        let not_after = pem.as_deref().and_then(certificate_not_after);
        let now = k8s_openapi::jiff::Timestamp::now();
        CredentialKind::ClientCert {
            expired: not_after.is_some_and(|t| t <= now),
            not_after: not_after.map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        }
    } else if auth.token.is_some() || auth.token_file.is_some() {
        CredentialKind::Token
    } else if auth.auth_provider.is_some() || auth.username.is_some() {
        CredentialKind::Other
    } else {
        CredentialKind::None
    };
    Some(Entries {
        file,
        context: context_name,
        cluster: ctx.cluster.clone(),
        user: user_name,
        server: cluster.server.unwrap_or_default(),
        insecure: cluster.insecure_skip_tls_verify.unwrap_or(false),
        credential,
    })
}

/// The `notAfter` of the first certificate in a PEM text: a minimal DER walk to the
/// validity of the TBSCertificate (RFC 5280 §4.1).
pub fn certificate_not_after(pem: &str) -> Option<k8s_openapi::jiff::Timestamp> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    // (tag, content, rest) of one DER element.
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)?;
        let (len, head) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return None;
            }
            let len = b
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |acc, x| (acc << 8) | *x as usize);
            (len, 2 + n)
        };
        let content = b.get(head..head + len)?;
        Some((tag, content, &b[head + len..]))
    }
    let (_, cert, _) = tlv(&der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    let (_, _, rest) = tlv(rest)?; // serial
    let (_, _, rest) = tlv(rest)?; // signature algorithm
    let (_, _, rest) = tlv(rest)?; // issuer
    let (_, validity, _) = tlv(rest)?;
    let (_, _, after) = tlv(validity)?; // notBefore
    let (tag, t, _) = tlv(after)?;
    let t = std::str::from_utf8(t).ok()?.trim_end_matches('Z');
    let full = match tag {
        // UTCTime: YYMMDDHHMMSS, years 50–99 are 19xx.
        0x17 if t.len() == 12 => {
            let yy: u32 = t[..2].parse().ok()?;
            format!("{}{}", if yy >= 50 { "19" } else { "20" }, t)
        }
        0x18 if t.len() == 14 => t.to_string(),
        _ => return None,
    };
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &full[..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    );
    iso.parse().ok()
}

/// Every message in an error's chain, the inner error of I/O errors included (their
/// `source()` skips it).
fn chain(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        out.push(err.to_string());
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            out.push(inner.to_string());
        }
        cur = err.source();
    }
    out
}

fn find<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(t) = inner.downcast_ref::<T>()
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// Who asked, as a failure names them: the kubeconfig's entries, its user and its file.
struct Who<'a> {
    en: &'a Entries,
    user: String,
    file: String,
}

/// One clear failure for an error from building a client or from its first request.
pub fn diagnose(e: &(dyn StdError + 'static), entries: Option<&Entries>) -> ClusterError {
    let e_default = Entries::default();
    let en = entries.unwrap_or(&e_default);
    let who = Who {
        en,
        user: if en.user.is_empty() {
            "(none)".to_string()
        } else {
            format!("{:?}", en.user)
        },
        file: if en.file.is_empty() {
            "the kubeconfig".to_string()
        } else {
            en.file.clone()
        },
    };
    if let Some(auth) = find::<kube::client::AuthError>(e) {
        return exec_failure(auth, &who);
    }
    let status = find::<kube::core::Status>(e).or_else(|| match e.downcast_ref::<kube::Error>() {
        Some(kube::Error::Api(s)) => Some(s.as_ref()),
        _ => None,
    });
    if let Some(refused) = status.and_then(|s| refusal(s, &who)) {
        return refused;
    }
    if let Some(tls) = tls_failure(e, &who) {
        return tls;
    }
    transport_failure(e, en)
}

/// The exec credential plugin could not give a token.
fn exec_failure(auth: &kube::client::AuthError, w: &Who) -> ClusterError {
    let (en, user, file) = (w.en, &w.user, &w.file);
    let command = match &en.credential {
        CredentialKind::Exec { command } => command.clone(),
        _ => "the exec plugin".into(),
    };
    use kube::client::AuthError as A;
    let why = match auth {
        A::AuthExecStart(io) if io.kind() == std::io::ErrorKind::NotFound => {
            format!("the exec credential plugin `{command}` is not installed (not found on PATH)")
        }
        A::AuthExecStart(io) => {
            format!("the exec credential plugin `{command}` could not start: {io}")
        }
        A::AuthExecRun { out, .. } => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            format!(
                "the exec credential plugin `{command}` failed ({}){}",
                out.status,
                if first.is_empty() {
                    String::new()
                } else {
                    format!(": {first}")
                }
            )
        }
        A::AuthExecParse(_) | A::ExecPluginFailed | A::UnrefreshableTokenResponse => format!(
            "the exec credential plugin `{command}` printed something that is not a client.authentication.k8s.io ExecCredential"
        ),
        other => format!("the credentials could not be prepared: {other}"),
    };
    ClusterError::Credentials {
        why,
        fix: format!(
            "fix the `exec` of user {user} in {file} (install the plugin, or log in with the provider's CLI so it can mint a token)"
        ),
    }
}

/// The API server answered 401 or 403: who was refused and why.
fn refusal(status: &kube::core::Status, w: &Who) -> Option<ClusterError> {
    let (en, user, file) = (w.en, &w.user, &w.file);
    if status.code == 401 {
        let why = match &en.credential {
            CredentialKind::Token => "its bearer token is wrong, revoked or expired".to_string(),
            CredentialKind::ClientCert { expired: true, not_after } => format!(
                "its client certificate expired on {}",
                not_after.as_deref().unwrap_or("?")
            ),
            CredentialKind::ClientCert { .. } => {
                "its client certificate is not one this cluster accepts (signed by another CA, or revoked)".to_string()
            }
            CredentialKind::Exec { command } => {
                format!("the token from the exec plugin `{command}` was refused")
            }
            CredentialKind::None => "it carries no credentials".to_string(),
            CredentialKind::Other => "its credentials were refused".to_string(),
        };
        return Some(ClusterError::Credentials {
            why: format!(
                "the API server {} refused user {user} (401 Unauthorized): {why}",
                en.server
            ),
            fix: format!(
                "renew the credentials of user {user} in {file} (managed clouds: the provider's `update-kubeconfig` / `get-credentials`)"
            ),
        });
    }
    (status.code == 403).then(|| ClusterError::Forbidden {
        message: status.message.clone(),
        fix: format!(
            "use a user with the rights this needs (user {user} in {file}), or --readonly to only look"
        ),
    })
}

/// The TLS handshake failed: an untrusted or expired certificate, or one for another name.
fn tls_failure(e: &(dyn StdError + 'static), w: &Who) -> Option<ClusterError> {
    let (en, file) = (w.en, &w.file);
    let all = chain(e).join(" | ");
    let tls = find::<rustls::Error>(e);
    let untrusted = matches!(
        tls,
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature
        ))
    ) || all.contains("UnknownIssuer")
        || all.contains("BadSignature");
    if untrusted {
        return Some(ClusterError::UntrustedServer {
            why: format!(
                "the certificate of {} is not signed by the CA that cluster {:?} names",
                en.server, en.cluster
            ),
            fix: format!(
                "put the cluster's CA in `certificate-authority-data` of cluster {:?} in {file} (managed clouds: re-run the provider's `update-kubeconfig` / `get-credentials`); `insecure-skip-tls-verify` only for a throwaway cluster",
                en.cluster
            ),
        });
    }
    if let Some(tls) = tls {
        let why = match tls {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired) => {
                "its serving certificate has expired".to_string()
            }
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName) => {
                "its certificate is not for that address".to_string()
            }
            other => other.to_string(),
        };
        return Some(ClusterError::UntrustedServer {
            why: format!("the TLS connection to {} failed: {why}", en.server),
            fix: format!(
                "check `server` and `certificate-authority-data` of cluster {:?} in {file}",
                en.cluster
            ),
        });
    }
    None
}

/// Nothing usable came back: the kubeconfig, our deadline, or a server that is not there.
fn transport_failure(e: &(dyn StdError + 'static), en: &Entries) -> ClusterError {
    let texts = chain(e);
    if let Some(ke) = e.downcast_ref::<kube::Error>()
        && matches!(
            ke,
            kube::Error::InferKubeconfig(_) | kube::Error::InferConfig(_)
        )
    {
        return ClusterError::Config(ke.to_string());
    }
    // A deadline of ours passed: with a connection, the server went silent.
    if let Some(io) = find::<std::io::Error>(e)
        && io.kind() == std::io::ErrorKind::TimedOut
    {
        let wait = super::request_timeout();
        if texts.iter().any(|t| t.contains("client error (Connect)")) {
            return ClusterError::Unreachable(format!(
                "{}: no connection within {} s; --request-timeout (or {}) sets the wait",
                en.server,
                wait.as_secs(),
                super::REQUEST_TIMEOUT_ENV
            ));
        }
        return super::silent_server(&en.server, wait);
    }
    // Refused, reset, timed out, DNS: the server is not there.
    let last = texts
        .iter()
        .rev()
        .find(|t| !t.is_empty())
        .cloned()
        .unwrap_or_default();
    ClusterError::Unreachable(if en.server.is_empty() {
        last
    } else {
        format!("{}: {last}", en.server)
    })
}
