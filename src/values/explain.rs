//! Printing rendered values: YAML or JSON, optionally annotated with each leaf's layer.

use serde_json::{Map, Value};

use super::{Rendered, join_path, redact};

/// How a render is printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintOptions {
    pub explain: bool,
    pub show_secrets: bool,
}

/// The values as YAML; with `explain`, each leaf line ends with `# <layer> (overrode <layer>)`.
pub fn to_yaml(r: &Rendered, opts: PrintOptions) -> String {
    if !opts.explain {
        return plain_yaml(&r.values, opts.show_secrets);
    }
    let values = visible(r, opts);
    let mut out = String::new();
    emit_map(r, &values, "", 0, &mut out);
    out
}

pub fn to_json(r: &Rendered, opts: PrintOptions) -> String {
    let values = visible(r, opts);
    if !opts.explain {
        return serde_json::to_string_pretty(&values).unwrap_or_default();
    }
    let prov: serde_json::Map<String, Value> = r
        .provenance
        .iter()
        .map(|(path, p)| {
            (
                path.clone(),
                serde_json::json!({
                    "layer": r.layers[p.layer].label(),
                    "overrode": p.overrode.map(|o| r.layers[o].label()),
                }),
            )
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({"values": values, "provenance": prov}))
        .unwrap_or_default()
}

fn visible(r: &Rendered, opts: PrintOptions) -> Map<String, Value> {
    if opts.show_secrets {
        r.values.clone()
    } else {
        redact::redact(&r.values)
    }
}

/// One top-level entry, borrowed: serialized as a one-entry map.
struct Entry<'a>(&'a str, &'a Value);

impl serde::Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// The values as serde_yaml writes the whole map, redacted unless `show_secrets`. serde_yaml
/// writes each top-level entry of a block mapping on its own, so the entries are redacted
/// and written apart, by two threads taking turns, and joined in order: printing was a sixth
/// of rendering the vendor's chart.
fn plain_yaml(values: &Map<String, Value>, show_secrets: bool) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    if values.is_empty() {
        return "{}\n".into();
    }
    let entries: Vec<(&String, &Value)> = values.iter().collect();
    let one = |i: usize| {
        let (k, v) = entries[i];
        let text = if show_secrets {
            serde_yaml::to_string(&Entry(k, v))
        } else {
            serde_yaml::to_string(&Entry(k, &redact::redact_entry(values, k, v)))
        };
        text.unwrap_or_default()
    };
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= entries.len() {
                return done;
            }
            done.push((i, one(i)));
        }
    };
    let mut parts: Vec<Option<String>> = vec![None; entries.len()];
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .stack_size(crate::limits::DEEP_STACK)
            .spawn_scoped(s, work);
        for (i, t) in work() {
            parts[i] = Some(t);
        }
        if let Some(theirs) = helper.ok().and_then(|h| h.join().ok()) {
            for (i, t) in theirs {
                parts[i] = Some(t);
            }
        }
    });
    // An entry the helper took and did not finish (it could not start, or it panicked).
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.unwrap_or_else(|| one(i)))
        .collect()
}

/// One scalar as serde_yaml writes it. Plain words, integers, booleans and null are written
/// directly: a serializer per scalar was a fifth of rendering the vendor's chart.
fn scalar_yaml(v: &Value) -> String {
    match v {
        Value::Null => "null\n".into(),
        Value::Bool(b) => format!("{b}\n"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("{n}\n"),
        Value::String(s) if plain_word(s) => format!("{s}\n"),
        _ => serde_yaml::to_string(v).unwrap_or_default(),
    }
}

/// A string YAML reads back as the same string without quotes: a letter, then letters,
/// digits, `-`, `_`, `.` or `/`, and none of the words YAML 1.1 or 1.2 read as something else.
fn plain_word(s: &str) -> bool {
    const SPECIAL: [&str; 14] = [
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf", "infinity", "e",
        "ee",
    ];
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !SPECIAL.contains(&s.to_ascii_lowercase().as_str())
}

fn comment(r: &Rendered, path: &str) -> String {
    match r.provenance.get(path) {
        Some(p) => match p.overrode {
            Some(o) => format!(
                "  # {} (overrode {})",
                r.layers[p.layer].label(),
                r.layers[o].label()
            ),
            None => format!("  # {}", r.layers[p.layer].label()),
        },
        None => String::new(),
    }
}

fn emit_map(r: &Rendered, m: &Map<String, Value>, prefix: &str, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in m {
        let path = join_path(prefix, k);
        let key = scalar_yaml(&Value::String(k.clone()));
        let key = key.trim_end();
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}{key}:\n"));
                emit_map(r, inner, &path, indent + 2, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(&format!("{pad}{key}:{}\n", comment(r, &path)));
                for line in scalar_yaml(v).lines() {
                    out.push_str(&format!("{pad}  {line}\n"));
                }
            }
            leaf => {
                let text = scalar_yaml(leaf);
                let mut lines = text.lines();
                let first = lines.next().unwrap_or("");
                out.push_str(&format!("{pad}{key}: {first}{}\n", comment(r, &path)));
                for line in lines {
                    out.push_str(&format!("{pad}  {line}\n"));
                }
            }
        }
    }
}

#[cfg(test)]
mod scalar_tests {
    use super::*;

    /// Entry by entry, on two threads, is the whole map as serde_yaml writes it: folded long
    /// lines, block scalars, nested sequences, empty collections and quoted words included.
    #[test]
    fn the_entries_written_apart_are_the_whole() {
        let long = "a long line of words ".repeat(8);
        let m = serde_json::json!({
            "a": {"b": [1, {"c": "x", "d": []}], "e": {}},
            "long": long,
            "deep": {"deeper": {"deepest": {"long": long, "list": [long, "y"]}}},
            "multi": "line one\nline two\n",
            "trailing": "ends with space ",
            "quoted": ["yes", "on", "1.0", "", "~", "- dash", "#hash", "a: b"],
            "nested": [[1, 2], [], [{"k": "v"}]],
            "password": "hunter2",
            "env": [{"name": "SECRET_KEY", "value": "s3cret"}],
        });
        let m = m.as_object().unwrap();
        assert_eq!(plain_yaml(m, true), serde_yaml::to_string(m).unwrap());
        let redacted = redact::redact(m);
        assert_eq!(
            plain_yaml(m, false),
            serde_yaml::to_string(&redacted).unwrap()
        );
        assert!(!plain_yaml(m, false).contains("hunter2"));
        assert_eq!(
            plain_yaml(&Map::new(), false),
            serde_yaml::to_string(&Map::new()).unwrap()
        );
    }

    #[test]
    fn the_fast_scalars_are_what_serde_yaml_writes() {
        let words = [
            "posthog",
            "gp3-encrypted",
            "a_b",
            "x.y/z",
            "Yes",
            "NO",
            "on",
            "Off",
            "TRUE",
            "null",
            "Null",
            "NaN",
            "inf",
            "Infinity",
            "e",
            "E",
            "ee",
            "y",
            "N",
            "e10",
            "E5",
            "x1",
            "v1.2.3",
            "ClusterIP",
            "kafka.default.svc",
            "latest",
            "IfNotPresent",
            "a-",
            "b.",
            "c/",
        ];
        for w in words {
            let v = Value::String(w.into());
            assert_eq!(scalar_yaml(&v), serde_yaml::to_string(&v).unwrap(), "{w:?}");
        }
        for v in [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(0),
            serde_json::json!(-42),
            serde_json::json!(u64::MAX),
            serde_json::json!(1.5),
        ] {
            assert_eq!(scalar_yaml(&v), serde_yaml::to_string(&v).unwrap(), "{v}");
        }
    }
}
