//! Secret redaction: values under keys that look secret print as a short hash, so output,
//! diffs and the audit log can be shared without leaking credentials but still show change.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Key fragments that mark a value as secret (compared without case, `-` or `_`).
const SECRET_MARKERS: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "dsn",
    "apikey",
    "privatekey",
    "accesskey",
];

/// Whether one key looks like it holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| k.contains(m)) || k == "key" || k.ends_with("key")
}

/// Whether a dotted path has a secret-looking segment.
pub fn is_secret_path(path: &str) -> bool {
    super::split_path(path).iter().any(|s| is_secret_key(s))
}

/// `<redacted:sha256:8 hex>` of the value's text.
pub fn redaction(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("<redacted:sha256:{hex}>")
}

/// A copy with every non-null leaf under a secret-looking key replaced by its redaction.
pub fn redact(m: &Map<String, Value>) -> Map<String, Value> {
    fn walk(v: &Value, secret: bool) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), walk(v, secret || is_secret_key(k))))
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
    match walk(&Value::Object(m.clone()), false) {
        Value::Object(m) => m,
        _ => Map::new(),
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
        assert!(r["secrets"]["a"].as_str().unwrap().starts_with("<redacted"));
        assert_eq!(
            redaction(&json!("hunter2")).len(),
            "<redacted:sha256:>".len() + 8
        );
    }
}
