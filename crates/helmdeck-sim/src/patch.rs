//! PATCH semantics: JSON merge patch, JSON patch, strategic merge patch (with the merge keys
//! of the built-in types and the `$patch`, `$setElementOrder`, `$retainKeys`,
//! `$deleteFromPrimitiveList` directives) and server-side apply's field sets.

use serde_json::{Map, Value, json};

/// RFC 7386.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// RFC 6902.
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be a list of operations")?;
    let mut doc = target.clone();
    for op in ops {
        let path = op["path"].as_str().ok_or("operation without path")?;
        match op["op"].as_str().unwrap_or_default() {
            "add" => add(&mut doc, path, op["value"].clone())?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, op["value"].clone())?;
            }
            "move" => {
                let from = op["from"].as_str().ok_or("move without from")?;
                let v = remove(&mut doc, from)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let from = op["from"].as_str().ok_or("copy without from")?;
                let v = doc
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| format!("path {from} not found"))?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&op["value"]) {
                    return Err(format!("test operation at {path} failed"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(doc)
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    let idx = path
        .rfind('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    let last = path[idx + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..idx].to_string(), last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => {
            m.insert(last, v);
            Ok(())
        }
        Some(Value::Array(a)) => {
            if last == "-" {
                a.push(v);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid index {last:?}"))?;
            if i > a.len() {
                return Err(format!("index {i} out of range"));
            }
            a.insert(i, v);
            Ok(())
        }
        _ => Err(format!("path {parent:?} not found")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(&parent) {
        Some(Value::Object(m)) => m
            .remove(&last)
            .ok_or_else(|| format!("path {path:?} not found")),
        Some(Value::Array(a)) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid index {last:?}"))?;
            if i >= a.len() {
                return Err(format!("index {i} out of range"));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!("path {path:?} not found")),
    }
}

/// The merge key of a list field of the built-in types (`patchMergeKey`).
pub fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                Some("containerPort")
            } else {
                Some("port")
            }
        }
        _ => None,
    }
}

/// Server-side apply's list-map keys (`x-kubernetes-list-map-keys` in the OpenAPI), where they
/// differ from strategic merge's one `patchMergeKey`: container and service ports are keyed by
/// number and protocol, so a TCP and a UDP port of the same number are two entries.
fn list_keys(field: &str, items: &[Value], ssa: bool) -> Option<Vec<&'static str>> {
    match (field, ssa) {
        ("ports", true) => Some(if items.iter().any(|i| i.get("containerPort").is_some()) {
            vec!["containerPort", "protocol"]
        } else {
            vec!["port", "protocol"]
        }),
        _ => merge_key(field, items).map(|k| vec![k]),
    }
}

/// An item's identity under `keys`; a missing protocol is TCP, the API's default.
fn identity(item: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| match item.get(*k) {
            Some(v) => Some((k.to_string(), v.clone())),
            None if *k == "protocol" => Some((k.to_string(), json!("TCP"))),
            None => None,
        })
        .collect()
}

/// Lists of scalars merged as sets (`patchStrategy: merge`).
fn primitive_merge_list(field: &str) -> bool {
    field == "finalizers"
}

/// Strategic merge patch of the built-in types.
pub fn strategic_merge(orig: &Value, patch: &Value) -> Result<Value, String> {
    Ok(smp(orig, patch, false).unwrap_or(Value::Null))
}

/// Server-side apply's merge of an applied configuration into the live object: strategic
/// merge, with lists matched by their list-map keys.
pub fn apply_merge(live: &Value, applied: &Value) -> Result<Value, String> {
    Ok(smp(live, applied, true).unwrap_or(Value::Null))
}

fn smp(orig: &Value, patch: &Value, ssa: bool) -> Option<Value> {
    let Value::Object(p) = patch else {
        return Some(patch.clone());
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut m = p.clone();
            m.remove("$patch");
            return Some(Value::Object(m));
        }
        Some("delete") => return None,
        _ => {}
    }
    let mut out = match orig {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
    for (k, pv) in p {
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            if let Some(a) = pv.as_array() {
                orders.push((field.to_string(), a.clone()));
            }
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(del)) = (out.get_mut(field), pv.as_array()) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if k == "$patch" || k == "$retainKeys" {
            continue;
        }
        if pv.is_null() {
            out.remove(k);
            continue;
        }
        let current = out.get(k).cloned().unwrap_or(Value::Null);
        let merged = match (pv, &current) {
            (Value::Array(items), Value::Array(cur)) => {
                if let Some(keys) = list_keys(k, items, ssa).or_else(|| list_keys(k, cur, ssa)) {
                    Some(merge_list(cur, items, &keys, ssa))
                } else if primitive_merge_list(k) {
                    let mut all = cur.clone();
                    for i in items {
                        if !all.contains(i) {
                            all.push(i.clone());
                        }
                    }
                    Some(Value::Array(all))
                } else {
                    Some(Value::Array(strip_list_directives(items)))
                }
            }
            (Value::Array(items), _) => Some(Value::Array(strip_list_directives(items))),
            (Value::Object(_), _) => smp(&current, pv, ssa),
            _ => Some(pv.clone()),
        };
        match merged {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => {
                out.remove(k);
            }
        }
    }
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (field, order) in orders {
        if let Some(Value::Array(list)) = out.get_mut(&field) {
            reorder(list, &order, merge_key(&field, &order));
        }
    }
    Some(Value::Object(out))
}

fn strip_list_directives(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| i.get("$patch").is_none())
        .cloned()
        .collect()
}

fn merge_list(cur: &[Value], items: &[Value], keys: &[&str], ssa: bool) -> Value {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(strip_list_directives(items));
    }
    let mut out: Vec<Value> = cur.to_vec();
    for item in items {
        let id = identity(item, keys);
        let pos = (!id.is_empty())
            .then(|| out.iter().position(|o| identity(o, keys) == id))
            .flatten();
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = pos {
                out.remove(i);
            }
            continue;
        }
        match pos {
            Some(i) => {
                if let Some(v) = smp(&out[i], item, ssa) {
                    out[i] = v;
                }
            }
            None => {
                if let Some(v) = smp(&Value::Null, item, ssa) {
                    out.push(v);
                }
            }
        }
    }
    Value::Array(out)
}

fn reorder(list: &mut [Value], order: &[Value], key: Option<&str>) {
    let ident = |v: &Value| match key {
        Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
        None => v.clone(),
    };
    let wanted: Vec<Value> = order.iter().map(ident).collect();
    list.sort_by_key(|item| {
        let id = ident(item);
        wanted.iter().position(|w| *w == id).unwrap_or(usize::MAX)
    });
}

/// Server-side apply's field set (FieldsV1) of an applied object.
pub fn field_set(v: &Value) -> Value {
    fn walk(v: &Value, field: &str) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, child) in m {
                    out.insert(format!("f:{k}"), walk(child, k));
                }
                Value::Object(out)
            }
            Value::Array(items) => match list_keys(field, items, true) {
                Some(keys) if items.iter().all(|i| i.get(keys[0]).is_some()) => {
                    let mut out = Map::new();
                    for i in items {
                        let id = Value::Object(identity(i, &keys)).to_string();
                        out.insert(format!("k:{id}"), walk(i, ""));
                    }
                    Value::Object(out)
                }
                _ => Value::Object(Map::new()),
            },
            _ => Value::Object(Map::new()),
        }
    }
    let mut fs = walk(v, "");
    if let Value::Object(m) = &mut fs {
        m.remove("f:apiVersion");
        m.remove("f:kind");
        if let Some(Value::Object(meta)) = m.get_mut("f:metadata") {
            meta.remove("f:name");
            meta.remove("f:namespace");
        }
    }
    fs
}

/// Removes from `live` what `old` owned and `new` no longer does.
pub fn remove_dropped(live: &mut Value, old: &Value, new: &Value) {
    let (Some(old), Some(new_m)) = (old.as_object(), new.as_object()) else {
        return;
    };
    for (k, old_child) in old {
        let new_child = new_m.get(k);
        if let Some(field) = k.strip_prefix("f:") {
            match new_child {
                None => {
                    if let Value::Object(m) = live {
                        m.remove(field);
                    }
                }
                Some(nc) => {
                    if let Some(child) = live.get_mut(field) {
                        remove_dropped(child, old_child, nc);
                    }
                }
            }
        } else if let Some(id) = k.strip_prefix("k:") {
            let Ok(Value::Object(idm)) = serde_json::from_str::<Value>(id) else {
                continue;
            };
            let Some(Value::Array(items)) = Some(&mut *live) else {
                continue;
            };
            let matches = |i: &Value| idm.iter().all(|(ik, iv)| i.get(ik) == Some(iv));
            match new_child {
                None => items.retain(|i| !matches(i)),
                Some(nc) => {
                    for i in items.iter_mut().filter(|i| matches(i)) {
                        remove_dropped(i, old_child, nc);
                    }
                }
            }
        }
    }
}

/// Leaf paths of a field set, for conflict checks (`spec.replicas`, …).
pub fn field_paths(fs: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(m) = fs.as_object() {
        if m.is_empty() && !prefix.is_empty() {
            out.push(prefix.to_string());
        }
        for (k, v) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            field_paths(v, &p, out);
        }
    }
}

/// Reads a value at a field-set path (`f:spec.f:replicas`, `k:{…}` elements).
pub fn value_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in split_fs_path(path) {
        if let Some(f) = seg.strip_prefix("f:") {
            cur = cur.get(f)?;
        } else if let Some(id) = seg.strip_prefix("k:") {
            let idm: Map<String, Value> = serde_json::from_str(id).ok()?;
            cur = cur
                .as_array()?
                .iter()
                .find(|i| idm.iter().all(|(k, v)| i.get(k) == Some(v)))?;
        } else {
            return None;
        }
    }
    Some(cur)
}

/// Takes a leaf out of a field set (a forced apply moves its ownership), pruning the branches
/// it leaves empty.
pub fn remove_field_path(fs: &mut Value, path: &str) {
    fn remove(node: &mut Value, segs: &[String]) -> bool {
        let Some((first, rest)) = segs.split_first() else {
            return false;
        };
        let Some(m) = node.as_object_mut() else {
            return false;
        };
        if rest.is_empty() {
            m.remove(first.as_str());
        } else if let Some(child) = m.get_mut(first.as_str())
            && remove(child, rest)
        {
            m.remove(first.as_str());
        }
        m.is_empty()
    }
    remove(fs, &split_fs_path(path));
}

fn split_fs_path(path: &str) -> Vec<String> {
    // Segments start with "f:" or "k:" after a dot; k: segments hold JSON with dots inside.
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in path.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            '.' if depth == 0 && (cur.starts_with("f:") || cur.starts_with("k:")) => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategic_merge_by_name_with_order_and_delete() {
        let orig = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}});
        let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "2"}]}});
        let out = strategic_merge(&orig, &patch).unwrap();
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "1"}, {"name": "a", "image": "2"}])
        );
        let del = json!({"spec": {"containers": [{"name": "b", "$patch": "delete"}]}});
        let out = strategic_merge(&orig, &del).unwrap();
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "a", "image": "1"}])
        );
    }

    #[test]
    fn merge_and_json_patch() {
        let t = json!({"a": 1, "b": {"c": 2}});
        assert_eq!(
            merge_patch(&t, &json!({"a": null, "b": {"d": 3}})),
            json!({"b": {"c": 2, "d": 3}})
        );
        let p = json!([{"op": "replace", "path": "/a", "value": 5}, {"op": "add", "path": "/l", "value": [1]},
                       {"op": "add", "path": "/l/-", "value": 2}]);
        assert_eq!(
            json_patch(&t, &p).unwrap(),
            json!({"a": 5, "b": {"c": 2}, "l": [1, 2]})
        );
        assert!(json_patch(&t, &json!([{"op": "test", "path": "/a", "value": 9}])).is_err());
    }

    #[test]
    fn apply_drops_fields_no_longer_applied() {
        let first =
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"x": "1", "y": "2"}});
        let second = json!({"metadata": {"labels": {"a": "1"}}, "data": {"x": "1"}});
        let mut live = first.clone();
        live["data"]["other"] = json!("kept");
        remove_dropped(&mut live, &field_set(&first), &field_set(&second));
        assert_eq!(live["data"], json!({"x": "1", "other": "kept"}));
        assert_eq!(live["metadata"]["labels"], json!({"a": "1"}));
    }

    #[test]
    fn apply_keys_ports_by_number_and_protocol() {
        let live = json!({"ports": [{"name": "gossip-tcp", "containerPort": 9094, "protocol": "TCP"},
                                    {"name": "gossip-udp", "containerPort": 9094, "protocol": "UDP"}]});
        let applied = json!({"ports": [{"name": "gossip-tcp", "containerPort": 9094},
                                       {"name": "gossip-udp", "containerPort": 9094, "protocol": "UDP"}]});
        let out = apply_merge(&live, &applied).unwrap();
        assert_eq!(out, live, "two ports stay two");
        let fs = field_set(&applied);
        let keys: Vec<&String> = fs["f:ports"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            vec![
                r#"k:{"containerPort":9094,"protocol":"TCP"}"#,
                r#"k:{"containerPort":9094,"protocol":"UDP"}"#
            ]
        );
        // Strategic merge patch keeps Kubernetes' one-key behaviour for ports.
        let smp = strategic_merge(
            &live,
            &json!({"ports": [{"containerPort": 9094, "name": "x"}]}),
        )
        .unwrap();
        assert_eq!(smp["ports"][0]["name"], "x");
    }
}
