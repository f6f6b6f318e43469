//! Secret redaction: values under keys that look secret print as a short hash, so output,
//! diffs and the audit log can be shared without leaking credentials but still show change.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::secret_keys::is_secret_key;

/// Whether a dotted path has a secret-looking segment.
pub fn is_secret_path(path: &str) -> bool {
    super::split_path(path).iter().any(|s| is_secret_key(s))
}

/// `<redacted:sha256:8 hex>`: an HMAC-SHA-256 of the value's text under this installation's
/// key, so two outputs here show whether a secret changed while nobody can look a digest up
/// (an unkeyed hash of `postgres` would be the same everywhere).
pub fn redaction(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let digest = hmac_sha256(installation_key(), text.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("<redacted:sha256:{hex}>")
}

/// The keyed digest of `bytes` in full hex: what the audit records of the values applied, so
/// two runs here compare while nobody can test a guess at a password against the log.
pub fn keyed_hex(bytes: &[u8]) -> String {
    hmac_sha256(installation_key(), bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HMAC (RFC 2104) with SHA-256.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The redaction key: 32 random bytes kept 0600 in the data directory (made on first use);
/// a key for this process alone when there is no data directory to keep it in.
fn installation_key() -> &'static [u8] {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        // Unit tests keep nothing in the user's data directory.
        let path = if cfg!(test) {
            None
        } else {
            crate::dirs::data_dir().map(|d| d.join("redaction.key"))
        };
        if let Some(p) = &path
            && let Ok(text) = std::fs::read_to_string(p)
            && let Some(key) = from_hex(text.trim())
            && key.len() == 32
        {
            return key;
        }
        let key = random_bytes();
        if let Some(p) = &path {
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let _ = crate::private_files::private_file(p, hex.as_bytes());
        }
        key
    })
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn random_bytes() -> Vec<u8> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .is_ok()
    {
        return key;
    }
    // No /dev/urandom: std's per-process random hasher keys, mixed with the time.
    use std::hash::{BuildHasher, Hasher};
    for chunk in key.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
    }
    key
}

/// A copy with every non-null leaf under a secret-looking key replaced by its redaction.
pub fn redact(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (k.clone(), redact_entry(m, k, v)))
        .collect()
}

/// One entry of `parent`, redacted as [`redact`] of the whole would redact it: the entries of
/// a map can be redacted apart (and in parallel).
pub fn redact_entry(parent: &Map<String, Value>, k: &str, v: &Value) -> Value {
    walk(v, entry_secret(parent, k, false))
}

/// Whether `k` of `m` holds a secret: under one already, by its own name, or as the `value` of
/// an env entry (`{name: SECRET_KEY, value: …}`) whose name says so.
fn entry_secret(m: &Map<String, Value>, k: &str, secret: bool) -> bool {
    let named_secret = || {
        m.get("name")
            .and_then(Value::as_str)
            .is_some_and(is_secret_key)
    };
    secret || is_secret_key(k) || (k == "value" && named_secret())
}

fn walk(v: &Value, secret: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), walk(v, entry_secret(m, k, secret))))
                .collect(),
        ),
        Value::Array(a) if secret && !a.is_empty() => Value::String(redaction(v)),
        Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, secret)).collect()),
        Value::Null => Value::Null,
        Value::String(s) if s.is_empty() => Value::String(String::new()),
        other if secret => Value::String(redaction(other)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_hashed_others_kept() {
        let m = json!({"postgresql": {"postgresqlPassword": "hunter2", "host": "db"},
                       "email": {"apiKey": "k"}, "kmsKeyId": "arn", "secrets": {"a": 1}});
        let r = redact(m.as_object().unwrap());
        let s = serde_json::to_string(&r).unwrap();
        assert!(!s.contains("hunter2"));
        assert!(
            r["postgresql"]["postgresqlPassword"]
                .as_str()
                .unwrap()
                .starts_with("<redacted:sha256:")
        );
        assert_eq!(r["postgresql"]["host"], json!("db"));
        assert_eq!(r["kmsKeyId"], json!("arn"));
        let env = json!({"web": {"env": [{"name": "SECRET_KEY", "value": "s3"}, {"name": "SITE_URL", "value": "u"}]}});
        let re = redact(env.as_object().unwrap());
        assert!(
            re["web"]["env"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("<redacted")
        );
        assert_eq!(re["web"]["env"][0]["name"], json!("SECRET_KEY"));
        assert_eq!(re["web"]["env"][1]["value"], json!("u"));
        assert!(r["secrets"]["a"].as_str().unwrap().starts_with("<redacted"));
        assert_eq!(
            redaction(&json!("hunter2")).len(),
            "<redacted:sha256:>".len() + 8
        );
    }

    #[test]
    fn the_digest_is_keyed_so_it_cannot_be_looked_up() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The unkeyed digest of "postgres" everyone can compute is not what is shown.
        assert_ne!(redaction(&json!("postgres")), "<redacted:sha256:a942b37c>");
        assert_eq!(redaction(&json!("postgres")), redaction(&json!("postgres")));
    }
}
