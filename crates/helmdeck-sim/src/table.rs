//! Server-side printing: `kubectl get` asks for a `meta.k8s.io/v1` Table and prints the
//! columns the server chooses. The columns follow kube-apiserver's printers
//! (kubernetes/pkg/printers/internalversion/printers.go) for the kinds users list most; every
//! other kind gets NAME and AGE, as a real server gives custom resources without printer
//! columns.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::resources::ResourceType;

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(q: Option<&str>) -> Include {
        match q {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

pub(super) fn col(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
}

fn columns(kind: &str) -> Vec<Value> {
    if let Some(c) = super::table_kinds::columns(kind) {
        return c;
    }
    let s = |n: &str| col(n, "string", 0);
    let w = |n: &str| col(n, "string", 1);
    let i = |n: &str| col(n, "integer", 0);
    match kind {
        "Pod" => vec![
            s("Name"),
            s("Ready"),
            s("Status"),
            s("Restarts"),
            s("Age"),
            w("IP"),
            w("Node"),
            w("Nominated Node"),
            w("Readiness Gates"),
        ],
        "Deployment" => vec![
            s("Name"),
            s("Ready"),
            i("Up-to-date"),
            i("Available"),
            s("Age"),
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        "ReplicaSet" => vec![
            s("Name"),
            i("Desired"),
            i("Current"),
            i("Ready"),
            s("Age"),
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        "StatefulSet" => vec![
            s("Name"),
            s("Ready"),
            s("Age"),
            w("Containers"),
            w("Images"),
        ],
        "DaemonSet" => vec![
            s("Name"),
            i("Desired"),
            i("Current"),
            i("Ready"),
            i("Up-to-date"),
            i("Available"),
            s("Node Selector"),
            s("Age"),
        ],
        "Job" => vec![
            s("Name"),
            s("Status"),
            s("Completions"),
            s("Duration"),
            s("Age"),
        ],
        "Service" => vec![
            s("Name"),
            s("Type"),
            s("Cluster-IP"),
            s("External-IP"),
            s("Port(s)"),
            s("Age"),
            w("Selector"),
        ],
        "Namespace" => vec![s("Name"), s("Status"), s("Age")],
        "Node" => vec![
            s("Name"),
            s("Status"),
            s("Roles"),
            s("Age"),
            s("Version"),
            w("Internal-IP"),
            w("External-IP"),
            w("OS-Image"),
            w("Kernel-Version"),
            w("Container-Runtime"),
        ],
        "PersistentVolumeClaim" => vec![
            s("Name"),
            s("Status"),
            s("Volume"),
            s("Capacity"),
            s("Access Modes"),
            s("StorageClass"),
            s("VolumeAttributesClass"),
            s("Age"),
        ],
        "ConfigMap" => vec![s("Name"), i("Data"), s("Age")],
        "Secret" => vec![s("Name"), s("Type"), i("Data"), s("Age")],
        _ => vec![s("Name"), s("Age")],
    }
}

/// How long ago, as kubectl prints durations (`45s`, `12m`, `3h`, `5d`).
pub fn age(ts: &Value, now: u64) -> String {
    let Some(t) = ts.as_str().and_then(parse_rfc3339) else {
        return "<unknown>".into();
    };
    let secs = now.saturating_sub(t);
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// Seconds since the epoch of `2026-11-25T16:38:41Z`.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

fn count(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn containers_and_images(template_spec: &Value) -> (String, String) {
    let cs: Vec<&Value> = template_spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let names: Vec<&str> = cs.iter().filter_map(|c| c["name"].as_str()).collect();
    let images: Vec<&str> = cs.iter().filter_map(|c| c["image"].as_str()).collect();
    (names.join(","), images.join(","))
}

fn selector(sel: &Value) -> String {
    let labels = sel["matchLabels"].as_object().or(sel.as_object());
    let mut out: Vec<String> = labels
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "matchLabels" && k.as_str() != "matchExpressions")
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    out.sort();
    if out.is_empty() {
        "<none>".into()
    } else {
        out.join(",")
    }
}

/// A pod's STATUS as kubectl shows it: the waiting or terminated reason of a container when
/// there is one, else the phase; Terminating once it is being deleted.
fn pod_status(p: &Value) -> String {
    if p["metadata"]["deletionTimestamp"].is_string() {
        return "Terminating".into();
    }
    let mut reason = p["status"]["reason"]
        .as_str()
        .or(p["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_string();
    for c in p["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(r) = c["state"]["waiting"]["reason"].as_str() {
            reason = r.to_string();
        } else if let Some(r) = c["state"]["terminated"]["reason"].as_str() {
            reason = r.to_string();
        }
    }
    reason
}

fn cells(o: &Value, kind: &str, now: u64) -> Vec<Value> {
    if let Some(c) = super::table_kinds::cells(o, kind, now) {
        return c;
    }
    let name = json!(o["metadata"]["name"]);
    let age = json!(age(&o["metadata"]["creationTimestamp"], now));
    let (st, sp) = (&o["status"], &o["spec"]);
    let none = |v: &Value| json!(v.as_str().filter(|s| !s.is_empty()).unwrap_or("<none>"));
    match kind {
        "Pod" => pod_cells(o, name, age),
        "Deployment" => {
            let (c, i) = containers_and_images(&sp["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    count(&st["readyReplicas"]),
                    sp["replicas"].as_i64().unwrap_or(1)
                )),
                json!(count(&st["updatedReplicas"])),
                json!(count(&st["availableReplicas"])),
                age,
                json!(c),
                json!(i),
                json!(selector(&sp["selector"])),
            ]
        }
        "ReplicaSet" => {
            let (c, i) = containers_and_images(&sp["template"]["spec"]);
            vec![
                name,
                json!(sp["replicas"].as_i64().unwrap_or(1)),
                json!(count(&st["replicas"])),
                json!(count(&st["readyReplicas"])),
                age,
                json!(c),
                json!(i),
                json!(selector(&sp["selector"])),
            ]
        }
        "StatefulSet" => {
            let (c, i) = containers_and_images(&sp["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    count(&st["readyReplicas"]),
                    sp["replicas"].as_i64().unwrap_or(1)
                )),
                age,
                json!(c),
                json!(i),
            ]
        }
        "DaemonSet" => vec![
            name,
            json!(count(&st["desiredNumberScheduled"])),
            json!(count(&st["currentNumberScheduled"])),
            json!(count(&st["numberReady"])),
            json!(count(&st["updatedNumberScheduled"])),
            json!(count(&st["numberAvailable"])),
            json!(selector(&sp["template"]["spec"]["nodeSelector"])),
            age,
        ],
        "Job" => job_cells(o, name, age, now),
        "Service" => service_cells(o, name, age),
        "Namespace" => vec![name, json!(st["phase"].as_str().unwrap_or("Active")), age],
        "Node" => {
            let ready = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let address = |ty: &str| {
                st["addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["type"] == ty)
                    .map_or(json!("<none>"), |a| none(&a["address"]))
            };
            let roles: Vec<&str> = o["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
                .filter(|r| !r.is_empty())
                .collect();
            let unknown =
                |v: &Value| json!(v.as_str().filter(|s| !s.is_empty()).unwrap_or("<unknown>"));
            let info = &st["nodeInfo"];
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!(if roles.is_empty() {
                    "<none>".to_string()
                } else {
                    roles.join(",")
                }),
                age,
                none(&info["kubeletVersion"]),
                address("InternalIP"),
                address("ExternalIP"),
                unknown(&info["osImage"]),
                unknown(&info["kernelVersion"]),
                unknown(&info["containerRuntimeVersion"]),
            ]
        }
        "PersistentVolumeClaim" => vec![
            name,
            json!(st["phase"].as_str().unwrap_or("Pending")),
            json!(sp["volumeName"].as_str().unwrap_or("")),
            json!(st["capacity"]["storage"].as_str().unwrap_or("")),
            json!(
                st["accessModes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| match m.as_str()? {
                        "ReadWriteOnce" => Some("RWO"),
                        "ReadOnlyMany" => Some("ROX"),
                        "ReadWriteMany" => Some("RWX"),
                        "ReadWriteOncePod" => Some("RWOP"),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            none(&sp["storageClassName"]),
            json!("<unset>"),
            age,
        ],
        "ConfigMap" => vec![
            name,
            json!(
                o["data"].as_object().map_or(0, |m| m.len())
                    + o["binaryData"].as_object().map_or(0, |m| m.len())
            ),
            age,
        ],
        "Secret" => vec![
            name,
            json!(o["type"].as_str().unwrap_or("Opaque")),
            json!(o["data"].as_object().map_or(0, |m| m.len())),
            age,
        ],
        _ => vec![name, age],
    }
}

/// A Pod's columns after NAME, as kubectl prints them.
fn pod_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (st, sp) = (&o["status"], &o["spec"]);
    let none = |v: &Value| json!(v.as_str().filter(|s| !s.is_empty()).unwrap_or("<none>"));
    let cs: Vec<&Value> = st["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let total = sp["containers"].as_array().map_or(0, Vec::len);
    let ready = cs.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = cs.iter().map(|c| count(&c["restartCount"])).sum();
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(pod_status(o)),
        json!(restarts.to_string()),
        age,
        none(&st["podIP"]),
        none(&sp["nodeName"]),
        none(&st["nominatedNodeName"]),
        json!("<none>"),
    ]
}

/// A Job's columns after NAME, as kubectl prints them.
fn job_cells(o: &Value, name: Value, age: Value, now: u64) -> Vec<Value> {
    let (st, sp) = (&o["status"], &o["spec"]);
    let done = st["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["status"] == "True")
        .and_then(|c| c["type"].as_str())
        .unwrap_or("Running");
    vec![
        name,
        json!(done),
        json!(format!(
            "{}/{}",
            count(&st["succeeded"]),
            sp["completions"].as_i64().unwrap_or(1)
        )),
        json!(match (
            st["startTime"].as_str().and_then(parse_rfc3339),
            st["completionTime"].as_str().and_then(parse_rfc3339)
        ) {
            (Some(a), Some(b)) => format!("{}s", b.saturating_sub(a)),
            (Some(a), None) => format!("{}s", now.saturating_sub(a)),
            _ => String::new(),
        }),
        age,
    ]
}

/// A Service's columns after NAME, as kubectl prints them.
fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (st, sp) = (&o["status"], &o["spec"]);
    let none = |v: &Value| json!(v.as_str().filter(|s| !s.is_empty()).unwrap_or("<none>"));
    let ports: Vec<String> = sp["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) => format!("{}:{np}/{proto}", count(&p["port"])),
                None => format!("{}/{proto}", count(&p["port"])),
            }
        })
        .collect();
    let external: Vec<String> = st["loadBalancer"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
        .map(str::to_string)
        .collect();
    let ty = sp["type"].as_str().unwrap_or("ClusterIP");
    vec![
        name,
        json!(ty),
        none(&sp["clusterIP"]),
        json!(if !external.is_empty() {
            external.join(",")
        } else if ty == "LoadBalancer" {
            "<pending>".into()
        } else {
            "<none>".to_string()
        }),
        json!(if ports.is_empty() {
            "<none>".into()
        } else {
            ports.join(",")
        }),
        age,
        json!(selector(&sp["selector"])),
    ]
}

/// The Table a `kubectl get` of these objects receives.
/// `printer` is a custom resource type's `additionalPrinterColumns` (empty for the others).
pub fn table(
    rt: &ResourceType,
    printer: &[Value],
    items: &[Value],
    include: Include,
    list_meta: Value,
) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let cells = if printer.is_empty() {
                cells(o, &rt.kind, now)
            } else {
                super::table_kinds::custom_cells(o, printer)
            };
            let mut row = json!({"cells": cells});
            match include {
                Include::None => {}
                Include::Metadata => {
                    row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                           "metadata": o["metadata"]})
                }
                Include::Object => row["object"] = o.clone(),
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
           "columnDefinitions": if printer.is_empty() { columns(&rt.kind) } else { super::table_kinds::custom_columns(printer) },
           "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = parse_rfc3339("2026-11-25T16:38:41Z").unwrap();
        assert_eq!(age(&json!("2026-11-25T16:38:11Z"), now), "30s");
        assert_eq!(age(&json!("2026-11-25T16:18:41Z"), now), "20m");
        assert_eq!(age(&json!("2026-11-25T10:38:41Z"), now), "6h");
        assert_eq!(age(&json!("2026-11-20T16:38:41Z"), now), "5d");
        assert_eq!(parse_rfc3339("1970-01-02T00:00:00Z"), Some(86_400));
    }

    #[test]
    fn a_crashing_pod_shows_its_reason_ready_count_and_restarts() {
        let pod = json!({"metadata": {"name": "web-1", "creationTimestamp": "2026-11-25T16:38:11Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let c = cells(&pod, "Pod", parse_rfc3339("2026-11-25T16:38:41Z").unwrap());
        assert_eq!(
            &c[..5],
            &[
                json!("web-1"),
                json!("1/2"),
                json!("CrashLoopBackOff"),
                json!("4"),
                json!("30s")
            ]
        );
    }
}
