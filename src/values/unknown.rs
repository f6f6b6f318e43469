//! Keys the user sets that the chart does not have. helm ignores them silently, so a typo
//! (`clickhouse.persistance.size`) or a key from another chart version quietly does nothing;
//! helmdeck names each one, who set it, and the nearest key the chart does have.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One key the chart's values do not have.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownKey {
    /// Dotted path as `--set` writes it.
    pub path: String,
    /// The nearest key the chart has at the same place, when one is close.
    pub nearest: Option<String>,
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn nearest<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<String> {
    let lower = key.to_ascii_lowercase();
    known
        .map(|k| (distance(&lower, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

/// The keys of `user` that `defaults` (the chart's values with its subcharts', as helm
/// coalesces them) does not have. Below an empty map, a scalar or a list in the defaults any
/// key is accepted (free-form maps such as `podAnnotations: {}`), and so is all of `global`.
pub fn unknown_keys(defaults: &Map<String, Value>, user: &Map<String, Value>) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    walk(defaults, user, "", &mut out);
    out
}

/// "Did you mean" is worked out for this many unknown keys: each costs an edit distance to
/// every key beside it, and a file of thousands of unknown keys is no typo.
const SUGGESTIONS: usize = 200;

/// Every value path the chart's templates and its subcharts' read, qualified by subchart
/// (`postgresql.persistence.storageClass`), with whether it is read whole.
pub fn template_refs(chart: &crate::chart::Chart) -> BTreeMap<String, bool> {
    TemplateRefs::of(chart).joined()
}

/// Each chart's template value paths with its subchart prefix, not yet joined: taken from the
/// chart as loaded (a subchart its condition turns off still reads its values) and joined
/// only when some key is unknown, which most renders never need (joining the vendor chart's
/// was a fourteenth of rendering it).
pub struct TemplateRefs(Vec<(String, std::sync::Arc<BTreeMap<String, bool>>)>);

impl TemplateRefs {
    pub fn of(chart: &crate::chart::Chart) -> TemplateRefs {
        fn gather(
            chart: &crate::chart::Chart,
            prefix: String,
            out: &mut Vec<(String, std::sync::Arc<BTreeMap<String, bool>>)>,
        ) {
            for d in &chart.dependencies {
                gather(d, super::join_path(&prefix, d.name()), out);
            }
            out.push((prefix, chart.value_refs.clone()));
        }
        let mut out = Vec::new();
        gather(chart, String::new(), &mut out);
        TemplateRefs(out)
    }

    pub fn joined(&self) -> BTreeMap<String, bool> {
        let mut out = BTreeMap::new();
        for (prefix, refs) in &self.0 {
            for (p, whole) in refs.iter() {
                // A dotted reference is already a path when nothing in it needs escaping and
                // it has no leading empty segment: joined in one go.
                let path = if p.contains('\\') || p.starts_with('.') {
                    p.split('.')
                        .fold(prefix.clone(), |at, seg| super::join_path(&at, seg))
                } else if prefix.is_empty() {
                    p.clone()
                } else {
                    format!("{prefix}.{p}")
                };
                let e = out.entry(path).or_insert(false);
                *e |= *whole;
            }
        }
        out
    }
}

/// Whether a template reads `path`: exactly, below it, or a whole value above it.
pub fn read_by_templates(refs: &BTreeMap<String, bool>, path: &str) -> bool {
    let below = format!("{path}.");
    // Exactly, or a reference below it: the first reference at or after `path.`.
    refs.contains_key(path)
        || refs
            .range(below.clone()..)
            .next()
            .is_some_and(|(r, _)| r.starts_with(&below))
        // A value above it read whole: one lookup per ancestor.
        || path
            .match_indices('.')
            .any(|(i, _)| refs.get(&path[..i]) == Some(&true))
}

fn walk(
    defaults: &Map<String, Value>,
    user: &Map<String, Value>,
    at: &str,
    out: &mut Vec<UnknownKey>,
) {
    for (k, v) in user {
        let path = super::join_path(at, k);
        if at.is_empty() && k == "global" {
            continue;
        }
        match defaults.get(k) {
            None => {
                let nearest = (out.len() < SUGGESTIONS)
                    .then(|| nearest(k, defaults.keys()).map(|n| super::join_path(at, &n)))
                    .flatten();
                out.push(UnknownKey {
                    path: path.clone(),
                    nearest,
                })
            }
            Some(Value::Object(d)) if !d.is_empty() => {
                if let Value::Object(u) = v {
                    walk(d, u, &path, out);
                }
            }
            // Free-form below here.
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-go join gives what joining segment by segment gives, and the segment-wise join
    /// still takes what it must (escapes, leading empty segments).
    #[test]
    fn template_paths_join_as_segment_by_segment() {
        let refs: BTreeMap<String, bool> = [
            ("image.tag", true),
            ("a..b", false),
            (".lead", false),
            ("back\\slash.x", true),
            ("plain", false),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let refs = std::sync::Arc::new(refs);
        let t = TemplateRefs(vec![
            (String::new(), refs.clone()),
            ("kafka".to_string(), refs.clone()),
        ]);
        let by_segment = |prefix: &str, p: &str| {
            p.split('.').fold(prefix.to_string(), |at, seg| {
                crate::values::join_path(&at, seg)
            })
        };
        let mut want = BTreeMap::new();
        for prefix in ["", "kafka"] {
            for (p, w) in refs.iter() {
                *want.entry(by_segment(prefix, p)).or_insert(false) |= *w;
            }
        }
        assert_eq!(t.joined(), want);
        assert!(want.contains_key("kafka.image.tag") && want.contains_key("lead"));
        assert_eq!(crate::values::join_path("a", "b.c"), "a.b\\.c");
        assert_eq!(crate::values::escape_key("x\\y"), "x\\\\y");
    }
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("a map")
    }

    #[test]
    fn typos_and_keys_from_elsewhere_are_found_free_form_maps_are_not() {
        let defaults = map(json!({
            "clickhouse": {"persistence": {"size": "20Gi", "storageClass": null}, "enabled": true},
            "web": {"podAnnotations": {}, "replicacount": 1},
            "cloud": "private",
            "global": {"storageClass": ""},
        }));
        let user = map(json!({
            "clickhouse": {"persistance": {"size": "40Gi"}, "enabled": false},
            "web": {"podAnnotations": {"a": "b"}, "replicaCount": 2},
            "customStorageClass": {"enabled": true},
            "global": {"anything": 1},
            "cloud": "aws",
        }));
        let found = unknown_keys(&defaults, &user);
        assert_eq!(
            found,
            vec![
                UnknownKey {
                    path: "clickhouse.persistance".into(),
                    nearest: Some("clickhouse.persistence".into())
                },
                UnknownKey {
                    path: "web.replicaCount".into(),
                    nearest: Some("web.replicacount".into())
                },
                UnknownKey {
                    path: "customStorageClass".into(),
                    nearest: None
                },
            ]
        );
    }
}
