//! Discovery and OpenAPI documents, built from the served types.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::kube_version::{KubeVersion, compare_versions};
use super::resources::ResourceType;

pub fn version(kv: KubeVersion) -> Value {
    json!({
        "major": "1", "minor": kv.minor.to_string(), "gitVersion": kv.git_version(), "gitCommit": "helmdeck-sim",
        "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.24.4",
        "compiler": "gc", "platform": "linux/amd64",
    })
}

pub fn core_versions(addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
}

fn groups(types: &[ResourceType]) -> BTreeMap<String, Vec<String>> {
    let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        let vs = g.entry(t.group.clone()).or_default();
        if !vs.contains(&t.version) {
            vs.push(t.version.clone());
        }
    }
    for vs in g.values_mut() {
        // Preferred first: GA over beta, higher over lower.
        vs.sort_by(|a, b| compare_versions(a, b));
    }
    g
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

pub fn group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = groups(types)
        .iter()
        .map(|(n, vs)| group_json(n, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(types: &[ResourceType], name: &str) -> Option<Value> {
    groups(types).get(name).map(|vs| {
        let mut g = group_json(name, vs);
        g["kind"] = json!("APIGroup");
        g["apiVersion"] = json!("v1");
        g
    })
}

pub fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let rs: Vec<Value> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .flat_map(ResourceType::discovery)
        .collect();
    if rs.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}),
    )
}

fn gv_path(t: &ResourceType) -> String {
    if t.group.is_empty() {
        format!("api/{}", t.version)
    } else {
        format!("apis/{}/{}", t.group, t.version)
    }
}

/// `/openapi/v3`: one entry per group-version.
pub fn openapi_root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let p = gv_path(t);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={:016X}", hash(&p, types))}),
        );
    }
    json!({"paths": paths})
}

fn hash(p: &str, types: &[ResourceType]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for t in types.iter().filter(|t| gv_path(t) == p) {
        for b in t.plural.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// `/openapi/v3/<gv>`: schema-less documents whose `patch` operations carry the GVK and a
/// `fieldValidation` parameter, so clients leave validation to the server.
pub fn openapi_gv(types: &[ResourceType], gv: &str, kv: KubeVersion) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for t in types.iter().filter(|t| gv_path(t) == gv) {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let base = if t.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("/{gv}/{}/{{name}}", t.plural)
        };
        let params = json!([
            {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}},
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
        ]);
        let op = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", t.kind),
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            })
        };
        paths.insert(base, json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}));
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": kv.git_version()},
        "paths": paths,
    }))
}

/// kube-apiserver's APIService priorities (group, then version within it), as
/// kubernetes/cmd/kube-apiserver/app/aggregator.go merges them over
/// pkg/controlplane/apiserver/aggregator.go's generic ones. A group-version not listed gets no
/// APIService, as there.
const PRIORITIES: &[(&str, &str, i64, i64)] = &[
    ("", "v1", 18000, 1),
    ("apps", "v1", 17800, 15),
    ("events.k8s.io", "v1", 17750, 15),
    ("authentication.k8s.io", "v1", 17700, 15),
    ("authorization.k8s.io", "v1", 17600, 15),
    ("autoscaling", "v1", 17500, 15),
    ("autoscaling", "v2", 17500, 30),
    ("batch", "v1", 17400, 15),
    ("certificates.k8s.io", "v1", 17300, 15),
    ("networking.k8s.io", "v1", 17200, 15),
    ("policy", "v1", 17100, 15),
    ("rbac.authorization.k8s.io", "v1", 17000, 15),
    ("storage.k8s.io", "v1", 16800, 15),
    ("apiextensions.k8s.io", "v1", 16700, 15),
    ("admissionregistration.k8s.io", "v1", 16700, 15),
    ("scheduling.k8s.io", "v1", 16600, 15),
    ("coordination.k8s.io", "v1", 16500, 15),
    ("node.k8s.io", "v1", 16300, 15),
    ("discovery.k8s.io", "v1", 16200, 15),
    ("flowcontrol.apiserver.k8s.io", "v1", 16100, 21),
];

/// The APIServices the aggregator registers at start for the built-in group-versions served
/// (`v1.`, `v1.apps`, …): local, so always Available.
pub fn builtin_apiservices(types: &[ResourceType], now: &str) -> Vec<Value> {
    PRIORITIES
        .iter()
        .filter(|(g, v, _, _)| types.iter().any(|t| t.group == *g && t.version == *v))
        .map(|(g, v, group_priority, version_priority)| {
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                   "metadata": {"name": format!("{v}.{g}"),
                                "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
                   "spec": {"group": g, "version": v, "groupPriorityMinimum": group_priority,
                            "versionPriority": version_priority},
                   "status": {"conditions": [{"type": "Available", "status": "True",
                       "lastTransitionTime": now, "reason": "Local",
                       "message": "Local APIServices are always available"}]}})
        })
        .collect()
}
