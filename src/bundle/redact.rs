//! Taking secrets out of what a bundle holds. Two passes: where a secret sits is known by its
//! structure (a Secret's data, a value under a secret-looking key, a secret-named env var, a
//! credential in a URL or a `password=` pair in text); each one found is also remembered, and
//! a last pass removes every remembered value from every file, wherever else it was copied
//! (a log line, an event message, a rendered manifest).

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;

use crate::secret_keys::is_secret_key;

/// What stands in for a removed secret.
pub const REDACTED: &str = "[REDACTED]";

/// Remembered values shorter than this are removed where they stand but not searched for
/// elsewhere: a short value ("true", "5432") would wipe out ordinary text.
const MIN_SEARCHED: usize = 6;

/// The secrets seen so far.
#[derive(Debug, Default)]
pub struct Redactor {
    known: BTreeSet<String>,
    /// Values everyone can read (a chart's default password): still replaced where they
    /// stand, never searched for, since they are no secret and are often ordinary words.
    public: BTreeSet<String>,
}

impl Redactor {
    /// Remembers a secret value (and each of its lines, for multi-line ones like keys).
    pub fn learn(&mut self, value: &str) {
        let v = value.trim();
        if v.chars().count() >= MIN_SEARCHED && v != REDACTED {
            self.known.insert(v.to_string());
            if v.contains('\n') {
                for line in v.lines() {
                    self.learn(line);
                }
            }
        }
    }

    /// How many secret values are remembered.
    pub fn known(&self) -> usize {
        self.known.difference(&self.public).count()
    }

    /// A chart's defaults: the strings under its secret-looking keys are public.
    pub fn public_defaults(&mut self, v: &Value) {
        let mut r = Redactor::default();
        r.values(&mut v.clone());
        self.public.extend(r.known);
    }

    /// Values (helm's user values, a chart's defaults, an audit record): every string under a
    /// secret-looking key is replaced and remembered.
    pub fn values(&mut self, v: &mut Value) {
        self.walk(v, false);
    }

    fn walk(&mut self, v: &mut Value, secret: bool) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    self.walk(x, secret || is_secret_key(k));
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.walk(x, secret)),
            Value::String(s) if secret => {
                self.learn(s);
                *s = REDACTED.to_string();
            }
            Value::String(s) => {
                let clean = self.text(s);
                if clean != *s {
                    *s = clean;
                }
            }
            _ => {}
        }
    }

    /// One Kubernetes object as recorded: a Secret keeps its keys with empty values; a
    /// ConfigMap's secret-looking entries go, and credentials inside its files; a secret-named
    /// env var's value goes wherever a pod template holds one.
    pub fn object(&mut self, o: &mut Value) {
        match o["kind"].as_str() {
            Some("Secret") => self.secret(o),
            Some("ConfigMap") => self.config_map(o),
            _ => {}
        }
        self.env(o);
        // Annotations carry whole copies of objects (last-applied-configuration).
        if let Some(a) = o["metadata"]["annotations"].as_object_mut() {
            for (k, v) in a.iter_mut() {
                if let Value::String(s) = v {
                    if is_secret_key(k) {
                        self.learn(s);
                        *s = REDACTED.to_string();
                    } else if k == "kubectl.kubernetes.io/last-applied-configuration" {
                        *s = REDACTED.to_string();
                    }
                }
            }
        }
    }

    fn secret(&mut self, o: &mut Value) {
        if let Some(d) = o["data"].as_object_mut() {
            for v in d.values_mut() {
                if let Some(b) = v.as_str() {
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                        .and_then(|x| String::from_utf8(x).ok());
                    if let Some(text) = raw {
                        self.learn(&text);
                    }
                    self.learn(b);
                }
                // Empty, not a marker: data must stay base64 for every client that reads it.
                *v = Value::String(String::new());
            }
        }
        if let Some(d) = o["stringData"].as_object_mut() {
            for v in d.values_mut() {
                if let Some(s) = v.as_str() {
                    self.learn(s);
                }
                *v = Value::String(String::new());
            }
        }
        o["metadata"]["annotations"]["helmdeck.dev/redacted"] =
            Value::String("every value of data".into());
    }

    fn config_map(&mut self, o: &mut Value) {
        if let Some(d) = o["data"].as_object_mut() {
            for (k, v) in d.iter_mut() {
                let Value::String(s) = v else { continue };
                if is_secret_key(k) {
                    self.learn(s);
                    *s = REDACTED.to_string();
                } else {
                    *s = self.text(s);
                }
            }
        }
        if let Some(d) = o["binaryData"].as_object_mut() {
            for v in d.values_mut() {
                *v = Value::String(String::new());
            }
        }
    }

    /// Every `env` list anywhere in the object (pods, pod templates, jobs in cron jobs).
    fn env(&mut self, v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "env"
                        && let Some(list) = x.as_array_mut()
                    {
                        for e in list {
                            let name = e["name"].as_str().unwrap_or_default().to_string();
                            if let Some(Value::String(s)) = e.get_mut("value") {
                                if is_secret_key(&name) {
                                    self.learn(s);
                                    *s = REDACTED.to_string();
                                } else {
                                    *s = self.text(s);
                                }
                            }
                        }
                    } else {
                        self.env(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.env(x)),
            _ => {}
        }
    }

    /// A rendered manifest (several YAML documents): each object redacted as [`Self::object`].
    pub fn manifest(&mut self, text: &str) -> String {
        let mut out = Vec::new();
        for doc in text.split("\n---") {
            let body = doc.trim_start_matches('-').trim();
            if body.is_empty() {
                continue;
            }
            match serde_yaml::from_str::<Value>(body) {
                Ok(mut v) if v.is_object() => {
                    self.object(&mut v);
                    out.push(serde_yaml::to_string(&v).unwrap_or_default());
                }
                // Not an object (a comment-only document): kept, credentials in it taken out.
                _ => out.push(self.text(body)),
            }
        }
        out.join("---\n")
    }

    /// Free text (a log line, a config file): a URL's password and the value of every
    /// `KEY=VALUE` or `KEY: VALUE` whose key looks secret, each remembered.
    pub fn text(&mut self, s: &str) -> String {
        let s = self.url_passwords(s);
        self.pairs(&s)
    }

    fn url_passwords(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find("://") {
            let (head, tail) = rest.split_at(at + 3);
            out.push_str(head);
            let end = tail
                .find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'' | '?' | '#'))
                .unwrap_or(tail.len());
            let authority = &tail[..end];
            match authority.rfind('@').and_then(|a| {
                let userinfo = &authority[..a];
                userinfo.find(':').map(|c| (c, a))
            }) {
                Some((colon, a)) if a > colon + 1 => {
                    let password = &authority[colon + 1..a];
                    self.learn(password);
                    out.push_str(&authority[..=colon]);
                    out.push_str(REDACTED);
                    out.push_str(&authority[a..]);
                }
                _ => out.push_str(authority),
            }
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }

    fn pairs(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let bytes = s.as_bytes();
        while i < s.len() {
            let c = bytes[i];
            if c != b'=' && c != b':' {
                let ch = s[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
                continue;
            }
            // The key: the word just before, without its quotes.
            let before = out.trim_end_matches(['"', '\'']).trim_end();
            let key_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .map(|p| p + 1)
                .unwrap_or(0);
            let key = before[key_start..]
                .rsplit('.')
                .next()
                .unwrap_or("")
                .to_string();
            out.push(c as char);
            i += 1;
            // `://` and `::` are not pairs.
            if (c == b':' && s[i..].starts_with([':', '/']))
                || key.is_empty()
                || !is_secret_key(&key)
            {
                continue;
            }
            let ws = s[i..].len() - s[i..].trim_start_matches([' ', '\t']).len();
            out.push_str(&s[i..i + ws]);
            i += ws;
            let quote = s[i..].chars().next().filter(|q| *q == '"' || *q == '\'');
            if let Some(q) = quote {
                out.push(q);
                i += 1;
            }
            let end = s[i..]
                .find(|x: char| match quote {
                    Some(q) => x == q,
                    None => x.is_whitespace() || matches!(x, ',' | ';' | '&' | '}' | ']' | '"'),
                })
                .map(|e| i + e)
                .unwrap_or(s.len());
            let value = &s[i..end];
            if value.is_empty() || value.starts_with(['{', '[']) || value == REDACTED {
                continue;
            }
            self.learn(value);
            out.push_str(REDACTED);
            i = end;
        }
        out
    }

    /// The last pass: every remembered value, longest first, out of one file's text.
    pub fn scrub(&self, text: &str) -> String {
        let mut known: Vec<&String> = self.known.difference(&self.public).collect();
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        let mut out = text.to_string();
        for k in known {
            if out.contains(k.as_str()) {
                out = out.replace(k.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_and_url_passwords_go_and_are_remembered() {
        let mut r = Redactor::default();
        let line = r.text(
            "connecting to postgres://posthog:hunter2pw@db:5432/posthog with DATABASE_PASSWORD=s3cretvalue, \"api_token\": \"tok-123456\" at 12:30",
        );
        assert_eq!(
            line,
            "connecting to postgres://posthog:[REDACTED]@db:5432/posthog with DATABASE_PASSWORD=[REDACTED], \"api_token\": \"[REDACTED]\" at 12:30"
        );
        assert_eq!(
            r.scrub("later: s3cretvalue and hunter2pw and tok-123456"),
            "later: [REDACTED] and [REDACTED] and [REDACTED]"
        );
        // Ordinary pairs stay.
        assert_eq!(r.text("level=info host: db"), "level=info host: db");
    }

    #[test]
    fn objects_keep_their_shape_and_lose_their_secrets() {
        let mut r = Redactor::default();
        let mut s = json!({"kind": "Secret", "metadata": {"name": "db"},
            "data": {"password": base64::engine::general_purpose::STANDARD.encode("canary-secret-1")}});
        r.object(&mut s);
        assert_eq!(s["data"]["password"], "");
        let mut pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a",
            "env": [{"name": "SENTRY_DSN", "value": "https://abc@sentry.io/1"}, {"name": "MODE", "value": "canary-secret-1 leaked"},
                    {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}});
        r.object(&mut pod);
        let env = &pod["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], REDACTED);
        assert_eq!(env[2]["valueFrom"]["secretKeyRef"]["key"], "password");
        let text = r.scrub(&pod.to_string());
        assert!(!text.contains("canary-secret-1"), "{text}");
        let mut cm = json!({"kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"REDIS_PASSWORD": "canary-cm-2", "app.ini": "[db]\npassword = canary-cm-3\nhost = db\n"}});
        r.object(&mut cm);
        assert_eq!(cm["data"]["REDIS_PASSWORD"], REDACTED);
        assert_eq!(
            cm["data"]["app.ini"],
            "[db]\npassword = [REDACTED]\nhost = db\n"
        );
    }

    #[test]
    fn values_under_secret_keys_go_and_short_ones_are_not_searched_for() {
        let mut r = Redactor::default();
        let mut v = json!({"postgresql": {"postgresqlPassword": "pw", "host": "db"},
            "email": {"smtp": {"password": "canary-values-9"}}});
        r.values(&mut v);
        assert_eq!(v["postgresql"]["postgresqlPassword"], REDACTED);
        assert_eq!(v["postgresql"]["host"], "db");
        assert_eq!(r.known(), 1);
        assert_eq!(r.scrub("pw canary-values-9"), "pw [REDACTED]");
        // A chart's default password is no secret: left in ordinary text.
        r.public_defaults(&json!({"postgresqlPassword": "postgres"}));
        let mut v = json!({"postgresqlPassword": "postgres"});
        r.values(&mut v);
        assert_eq!(v["postgresqlPassword"], REDACTED);
        assert_eq!(r.scrub("role postgresql"), "role postgresql");
    }

    #[test]
    fn a_manifest_keeps_its_documents() {
        let mut r = Redactor::default();
        let m = r.manifest(
            "---\n# Source: a/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: Y2FuYXJ5LW1hbmlmZXN0\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n",
        );
        assert_eq!(m.matches("kind:").count(), 2, "{m}");
        assert!(!m.contains("Y2FuYXJ5LW1hbmlmZXN0"));
        assert_eq!(r.scrub("canary-manifest"), REDACTED);
    }
}
