//! What a plan changes: the values (leaf by leaf, secrets redacted, with the layer that set
//! each) and, for upgrades, the objects per kind.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::values::{self, redact};

/// One leaf of the values that changes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueChange {
    pub path: String,
    /// `+` added, `-` removed, `~` changed.
    pub op: char,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub layer: Option<String>,
    /// The value set (or removed) is the chart's own default: the change is in the values
    /// handed to helm, not in what the chart renders (a wizard answer left as it was offered).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_default: bool,
}

impl ValueChange {
    /// ` = the chart's default` when the change restates it, for the diff's lines.
    pub fn default_note(&self) -> &'static str {
        if self.as_default {
            "  = the chart's default"
        } else {
            ""
        }
    }
}

/// The values diff between two user-value maps, secrets redacted; a value added or removed
/// that equals the chart's default (`defaults`) is marked so.
pub fn values_diff(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    defaults: &Map<String, Value>,
    provenance: &dyn Fn(&str) -> Option<String>,
) -> Vec<ValueChange> {
    let flat = |m: &Map<String, Value>| {
        let mut out = std::collections::BTreeMap::new();
        values::for_each_leaf(&redact::redact(m), &mut |p, v| {
            out.insert(p.to_string(), v.clone());
        });
        out
    };
    let (a, b, d) = (flat(old), flat(new), flat(defaults));
    let mut changes = Vec::new();
    for (p, v) in &b {
        match a.get(p) {
            None => changes.push(ValueChange {
                path: p.clone(),
                op: '+',
                old: None,
                new: Some(v.clone()),
                layer: provenance(p),
                as_default: d.get(p) == Some(v),
            }),
            Some(o) if o != v => changes.push(ValueChange {
                path: p.clone(),
                op: '~',
                old: Some(o.clone()),
                new: Some(v.clone()),
                layer: provenance(p),
                as_default: false,
            }),
            _ => {}
        }
    }
    for (p, v) in &a {
        if !b.contains_key(p) {
            changes.push(ValueChange {
                path: p.clone(),
                op: '-',
                old: Some(v.clone()),
                new: None,
                layer: None,
                as_default: d.get(p) == Some(v),
            });
        }
    }
    changes
}

/// What an upgrade changes in one kind of object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindDiff {
    pub kind: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// The manifest diff between the live release and the upgrade, summarised per kind.
pub fn manifest_diff(live: &[Value], desired: &[Value]) -> Vec<KindDiff> {
    use std::collections::BTreeMap;
    let key = |v: &Value| {
        (
            v["kind"].as_str().unwrap_or("?").to_string(),
            v["metadata"]["name"].as_str().unwrap_or("?").to_string(),
        )
    };
    let index = |objs: &[Value]| -> BTreeMap<(String, String), Value> {
        objs.iter().map(|o| (key(o), o.clone())).collect()
    };
    let (a, b) = (index(live), index(desired));
    let mut kinds: BTreeMap<String, KindDiff> = BTreeMap::new();
    let mut push = |kind: &str, which: u8, name: &str| {
        let d = kinds.entry(kind.to_string()).or_insert_with(|| KindDiff {
            kind: kind.to_string(),
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
        });
        match which {
            0 => d.added.push(name.to_string()),
            1 => d.changed.push(name.to_string()),
            _ => d.removed.push(name.to_string()),
        }
    };
    for ((kind, name), obj) in &b {
        match a.get(&(kind.clone(), name.clone())) {
            None => push(kind, 0, name),
            Some(old) if old != obj => push(kind, 1, name),
            _ => {}
        }
    }
    for (kind, name) in a.keys() {
        if !b.contains_key(&(kind.clone(), name.clone())) {
            push(kind, 2, name);
        }
    }
    kinds.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::super::manifest::parse_manifest;
    use super::*;
    use serde_json::json;

    /// An answer left as the chart offers it is a change in the values helm gets, marked as
    /// restating the default so a reader can skip it.
    #[test]
    fn values_diff_marks_what_only_restates_the_charts_default() {
        let map = |v: Value| v.as_object().cloned().unwrap();
        let defaults = map(
            json!({"clickhouse": {"persistence": {"size": "20Gi"}}, "web": {"replicacount": 1}}),
        );
        let old = map(json!({"web": {"replicacount": 1}, "cloud": "aws"}));
        let new = map(json!({"clickhouse": {"persistence": {"size": "20Gi"}}, "cloud": "gcp"}));
        let changes = values_diff(&old, &new, &defaults, &|_| None);
        let by = |p: &str| changes.iter().find(|c| c.path == p).unwrap();
        assert!(by("clickhouse.persistence.size").as_default);
        assert!(
            by("web.replicacount").as_default,
            "removing a default changes nothing"
        );
        assert!(!by("cloud").as_default);
        assert_eq!(by("cloud").op, '~');
    }

    #[test]
    fn summarises_per_kind() {
        let live = parse_manifest(
            "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n---\nkind: ConfigMap\nmetadata: {name: old}\n",
        );
        let new = parse_manifest(
            "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n---\nkind: Service\nmetadata: {name: web}\n",
        );
        let d = manifest_diff(&live, &new);
        let get = |k: &str| d.iter().find(|x| x.kind == k).unwrap().clone();
        assert_eq!(get("Deployment").changed, vec!["web"]);
        assert_eq!(get("Service").added, vec!["web"]);
        assert_eq!(get("ConfigMap").removed, vec!["old"]);
    }
}
