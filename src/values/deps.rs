//! Subchart processing as Helm does it before rendering: aliases, tags and conditions decide
//! which subcharts are enabled, then `import-values` copies child values into the parent.

use serde_json::{Map, Value};

use super::coalesce::{HelmMajor, Warnings, coalesce, coalesce_tables, trim_nil_values};
use crate::chart::{Chart, version_matches};

/// `ProcessDependenciesWithMerge`: returns the chart with disabled subcharts removed and
/// import-values applied to its defaults.
pub fn process_dependencies(
    chart: Chart,
    user: &Map<String, Value>,
    major: HelmMajor,
    warn: &mut Warnings,
) -> Result<Chart, super::coalesce::NotAMapping> {
    let mut c = chart;
    process_enabled(&mut c, user, "", major, warn)?;
    process_import_values(&mut c, major, warn)?;
    Ok(c)
}

fn process_enabled(
    c: &mut Chart,
    v: &Map<String, Value>,
    path: &str,
    major: HelmMajor,
    warn: &mut Warnings,
) -> Result<(), super::coalesce::NotAMapping> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let mut deps: Vec<Chart> = Vec::new();
    // Which loaded chart each requirement takes; a chart is copied only when two
    // requirements (aliases) take it, else moved: copying every subchart's values was most
    // of this step on the vendor's chart.
    let found: Vec<Option<usize>> = c
        .metadata
        .dependencies
        .iter()
        .map(|req| {
            c.dependencies.iter().position(|d| {
                d.name() == req.name && version_matches(&req.version, &d.metadata.version)
            })
        })
        .collect();
    let mut pool: Vec<Option<Chart>> = std::mem::take(&mut c.dependencies)
        .into_iter()
        .map(Some)
        .collect();
    // Charts in charts/ that Chart.yaml does not mention are always kept.
    for slot in pool.iter_mut() {
        let declared = slot.as_ref().is_some_and(|existing| {
            c.metadata.dependencies.iter().any(|r| {
                r.name == existing.name() && version_matches(&r.version, &existing.metadata.version)
            })
        });
        if !declared {
            deps.extend(slot.take());
        }
    }
    for (n, req) in c.metadata.dependencies.iter_mut().enumerate() {
        if let Some(i) = found[n] {
            let last_use = !found[n + 1..].contains(&Some(i));
            let taken = if last_use {
                pool[i].take()
            } else {
                pool[i].clone()
            };
            if let Some(mut copy) = taken {
                if !req.alias.is_empty() {
                    copy.metadata.name = req.alias.clone();
                }
                deps.push(copy);
            }
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
        req.enabled = true;
    }
    c.dependencies = deps;

    let mut cvals = below_root(c, v, path);
    coalesce(c, &mut cvals, "", false, major, warn)?;

    // Tags first, then conditions, which win.
    if let Some(Value::Object(tags)) = cvals.get("tags") {
        for r in c.metadata.dependencies.iter_mut() {
            let (mut has_true, mut has_false) = (false, false);
            for t in &r.tags {
                match tags.get(t) {
                    Some(Value::Bool(true)) => has_true = true,
                    Some(Value::Bool(false)) => has_false = true,
                    Some(_) => warn.push(format!(
                        "Warning: Tag '{t}' for chart {} returned non-bool value",
                        r.name
                    )),
                    None => {}
                }
            }
            r.enabled = has_true || !has_false;
        }
    }
    for r in c.metadata.dependencies.iter_mut() {
        for cond in r.condition.trim().split(',') {
            let cond = cond.trim();
            if cond.is_empty() {
                continue;
            }
            match path_value(&cvals, &format!("{path}{cond}")) {
                Some(Value::Bool(b)) => {
                    r.enabled = *b;
                    break;
                }
                Some(_) => warn.push(format!(
                    "Warning: Condition path '{cond}' for chart {} returned non-bool value",
                    r.name
                )),
                None => {}
            }
        }
    }
    let disabled: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !disabled.contains(&d.metadata.name));
    c.metadata
        .dependencies
        .retain(|r| !disabled.contains(&r.name));
    for sub in c.dependencies.iter_mut() {
        let sub_path = format!("{path}{}.", sub.metadata.name);
        process_enabled(sub, &cvals, &sub_path, major, warn)?;
    }
    Ok(())
}

/// The copy of `v` a subchart's level coalesces into. Helm copies the whole tree at every
/// level; below the root only some top-level keys can matter: `tags`, the subchart's own
/// section (every condition below reads under it), `global`, and each key that coalescing
/// this chart or a chart below it writes (their values' keys and their subcharts' names).
/// Every other key would come out as it went in, unread: copying them was most of this step
/// on the vendor's chart.
fn below_root(c: &Chart, v: &Map<String, Value>, path: &str) -> Map<String, Value> {
    fn touched<'a>(c: &'a Chart, out: &mut std::collections::HashSet<&'a str>) {
        out.extend(c.values.keys().map(String::as_str));
        for d in &c.dependencies {
            out.insert(d.name());
            touched(d, out);
        }
    }
    if path.is_empty() {
        return v.clone();
    }
    let own = path.split('.').next().unwrap_or_default();
    let mut keep: std::collections::HashSet<&str> = ["tags", "global", own].into();
    touched(c, &mut keep);
    v.iter()
        .filter(|(k, _)| keep.contains(k.as_str()))
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect()
}

/// `Values.PathValue`: a non-table value at a dotted path.
fn path_value<'a>(v: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop()?;
    let mut cur = v;
    for p in parts {
        match cur.get(p) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    match cur.get(last) {
        Some(Value::Object(_)) | None => None,
        Some(x) => Some(x),
    }
}

fn table<'a>(v: &'a Map<String, Value>, path: &str) -> Option<&'a Map<String, Value>> {
    let mut cur = v;
    for p in path.split('.') {
        match cur.get(p) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

fn path_to_map(path: &str, data: Map<String, Value>) -> Map<String, Value> {
    if path == "." {
        return data;
    }
    let mut out = Value::Object(data);
    for p in path.split('.').rev() {
        if p.is_empty() {
            continue;
        }
        let mut m = Map::new();
        m.insert(p.to_string(), out);
        out = Value::Object(m);
    }
    match out {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn process_import_values(
    c: &mut Chart,
    major: HelmMajor,
    warn: &mut Warnings,
) -> Result<(), super::coalesce::NotAMapping> {
    for d in c.dependencies.iter_mut() {
        process_import_values(d, major, warn)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    // With merge semantics, as `ProcessDependenciesWithMerge` does.
    let merge = true;
    let mut cvals = Map::new();
    coalesce(c, &mut cvals, "", merge, major, warn)?;
    let mut b = Map::new();
    for r in &c.metadata.dependencies {
        for iv in &r.import_values {
            match iv {
                Value::Object(m) => {
                    let child = m.get("child").and_then(Value::as_str).unwrap_or("");
                    let parent = m.get("parent").and_then(Value::as_str).unwrap_or("");
                    match table(&cvals, &format!("{}.{child}", r.name)) {
                        Some(t) => {
                            let add = path_to_map(parent, t.clone());
                            coalesce_tables(&mut b, add, "", merge, major, warn);
                        }
                        None => warn.push(format!(
                            "Warning: ImportValues missing table from chart {}: {child}",
                            r.name
                        )),
                    }
                }
                Value::String(s) => match table(&cvals, &format!("{}.exports.{s}", r.name)) {
                    Some(t) => coalesce_tables(&mut b, t.clone(), "", merge, major, warn),
                    None => warn.push(format!("Warning: ImportValues missing table: exports.{s}")),
                },
                _ => {}
            }
        }
    }
    if !merge {
        trim_nil_values(&mut cvals);
    }
    coalesce_tables(&mut cvals, b, "", merge, major, warn);
    c.values = cvals;
    Ok(())
}
