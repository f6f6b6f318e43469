//! Which keys hold secrets: one rule for every output that must not show them (values,
//! diffs, the audit log, YAML and schema errors, pod YAML). Imports nothing, so the YAML
//! reader below every other module can use it.

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
