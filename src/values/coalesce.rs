//! Helm's value coalescing: user values over chart defaults, subchart sections, `global`,
//! and the null-deletes-a-key rule, with the one behaviour that differs between Helm 3 and 4.

use serde_json::{Map, Value};

use crate::chart::Chart;

pub use crate::helm::HelmMajor;

/// Something Helm would print as a warning while coalescing (kept for `--explain`).
pub type Warnings = Vec<String>;

/// `mergeMaps` from Helm's CLI: how `-f` files are combined before anything else.
pub fn merge_maps(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge_maps(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// A subchart's values that are not a mapping: helm's "type mismatch" refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "type mismatch on {subchart}: the values for subchart {subchart} must be a mapping, found {found}"
)]
pub struct NotAMapping {
    pub subchart: String,
    pub found: &'static str,
}

/// `CoalesceValues` (merge = false) and `MergeValues` (merge = true).
pub fn coalesce(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
    major: HelmMajor,
    warn: &mut Warnings,
) -> Result<(), NotAMapping> {
    coalesce_values(chart, dest, prefix, merge, major, warn);
    coalesce_deps(chart, dest, prefix, merge, major, warn)
}

fn concat(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce_deps(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
    major: HelmMajor,
    warn: &mut Warnings,
) -> Result<(), NotAMapping> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        match dest.get(&name) {
            None => {
                dest.insert(name.clone(), Value::Object(Map::new()));
            }
            Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(NotAMapping {
                    subchart: name,
                    found: crate::yaml::kind_name(other),
                });
            }
        }
        let parent_global = dest.get("global").cloned();
        let sub_prefix = concat(prefix, chart.name());
        let Some(Value::Object(dv)) = dest.get_mut(&name) else {
            continue;
        };
        coalesce_globals(dv, parent_global.as_ref(), &sub_prefix, major, warn);
        coalesce(sub, dv, &sub_prefix, merge, major, warn)?;
    }
    Ok(())
}

fn coalesce_globals(
    dest: &mut Map<String, Value>,
    src_global: Option<&Value>,
    prefix: &str,
    major: HelmMajor,
    warn: &mut Warnings,
) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            warn.push(
                "warning: skipping globals because destination global is not a table.".into(),
            );
            return;
        }
    };
    let sg = match src_global {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            warn.push("warning: skipping globals because source global is not a table.".into());
            return;
        }
    };
    for (key, val) in sg {
        match val {
            Value::Object(vv) => {
                let mut vv = vv;
                match dg.get(&key) {
                    None => {
                        dg.insert(key, Value::Object(vv));
                    }
                    Some(Value::Object(destv)) => {
                        let sub_prefix = concat(prefix, &key);
                        coalesce_tables(&mut vv, destv.clone(), &sub_prefix, true, major, warn);
                        dg.insert(key, Value::Object(vv));
                    }
                    Some(_) => warn.push(format!(
                        "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                    )),
                }
            }
            val => {
                if matches!(dg.get(&key), Some(Value::Object(_))) {
                    warn.push(format!("key {key} is table. Skipping"));
                } else {
                    dg.insert(key, val);
                }
            }
        }
    }
    dest.insert("global".into(), Value::Object(dg));
}

fn coalesce_values(
    chart: &Chart,
    v: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
    major: HelmMajor,
    warn: &mut Warnings,
) {
    let sub_prefix = concat(prefix, chart.name());
    // Keep the chart's key order for display; user-only keys follow.
    let mut out = Map::new();
    for (key, val) in &chart.values {
        match v.remove(key) {
            Some(Value::Null) if !merge => {}
            Some(Value::Object(mut dest)) => {
                match val {
                    Value::Object(src) => {
                        let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                        coalesce_tables(
                            &mut dest,
                            src.clone(),
                            &concat(&sub_prefix, key),
                            merge,
                            major,
                            warn,
                        );
                    }
                    Value::Null => {}
                    _ => warn.push(format!(
                        "warning: skipped value for {sub_prefix}.{key}: Not a table."
                    )),
                }
                out.insert(key.clone(), Value::Object(dest));
            }
            Some(user) => {
                out.insert(key.clone(), user);
            }
            None => {
                out.insert(key.clone(), val.clone());
            }
        }
    }
    for (k, val) in std::mem::take(v) {
        out.insert(k, val);
    }
    *v = out;
}

/// `coalesceTablesFullKey`: `dst` (user) wins over `src` (defaults).
pub fn coalesce_tables(
    dst: &mut Map<String, Value>,
    mut src: Map<String, Value>,
    prefix: &str,
    merge: bool,
    major: HelmMajor,
    warn: &mut Warnings,
) {
    let src_non_nil: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    if major == HelmMajor::V4 {
        for (k, v) in dst.iter() {
            if v.is_null() {
                src.insert(k.clone(), Value::Null);
            }
        }
    }
    let order: Vec<String> = src.keys().cloned().collect();
    for (key, val) in src {
        let full = concat(prefix, &key);
        let nullify = match major {
            HelmMajor::V3 => true,
            HelmMajor::V4 => src_non_nil.contains(&key),
        };
        match dst.get_mut(&key) {
            Some(Value::Null) if !merge && nullify => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(dv) => match (dv, val) {
                (Value::Object(d), Value::Object(s)) => {
                    coalesce_tables(d, s, &full, merge, major, warn);
                }
                (_, s @ Value::Object(_)) => warn.push(format!(
                    "warning: cannot overwrite table with non table for {full} ({s})"
                )),
                (Value::Object(_), s) if !s.is_null() => warn.push(format!(
                    "warning: destination for {full} is a table. Ignoring non-table value ({s})"
                )),
                _ => {}
            },
        }
    }
    // Defaults' key order first, for display; user-only keys keep theirs after.
    let mut ordered = Map::new();
    for k in &order {
        if let Some(v) = dst.remove(k) {
            ordered.insert(k.clone(), v);
        }
    }
    ordered.append(dst);
    *dst = ordered;
}

/// Removes nulls the way Helm's `trimNilValues` does before import-values.
pub fn trim_nil_values(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        if let Value::Object(inner) = v {
            trim_nil_values(inner);
        }
    }
}
