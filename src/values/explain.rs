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
    let values = visible(r, opts);
    if !opts.explain {
        return scalar_yaml(&Value::Object(values));
    }
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

fn scalar_yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default()
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
