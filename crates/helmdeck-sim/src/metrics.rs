//! `metrics.k8s.io/v1beta1`, as metrics-server serves it through the aggregator: PodMetrics
//! and NodeMetrics, read-only (get and list; anything else is refused as metrics-server
//! refuses it), CPU in nanocores and memory in KiB as metrics-server writes them.
//!
//! The usage is a model, not a measurement: each running container uses a share of what it
//! requests that drifts slowly (a fixed share would hide a frozen pane), a container without
//! requests a little; the events pods (`role: events`, capture) add CPU for each event a
//! second the namespace captures; a limit caps usage, as the kernel's throttling and the
//! OOM killer do. A node's usage is its pods' plus the system's. Served where metrics-server
//! runs: the k3s flavour (k3s ships it) and the `metrics-server` scenario; elsewhere the API
//! is absent, as on a cluster without it, and its chart can be installed.

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::Store;

/// CPU (cores) an events pod spends per event a second: the model's only load knob.
pub const CORES_PER_EVENT_PER_SECOND: f64 = 0.002;
/// What a container without requests uses.
const IDLE_CORES: f64 = 0.005;
const IDLE_BYTES: f64 = 48.0 * 1024.0 * 1024.0;
/// The node's own daemons (kubelet, runtime), on top of its pods.
const SYSTEM_CORES: f64 = 0.1;
const SYSTEM_BYTES: f64 = 512.0 * 1024.0 * 1024.0;
/// The window metrics-server reports usage over.
const WINDOW: &str = "15s";

pub const GROUP: &str = "metrics.k8s.io";

/// A share between `low` and `high` that drifts with time, different for every container.
fn drift(key: &str, now_secs: u64, low: f64, high: f64) -> f64 {
    let seed = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // A slow wave per container: a period of a few minutes, its phase from the name.
    let period = 180.0 + (seed % 120) as f64;
    let phase = (seed >> 8) as f64 / u64::MAX as f64 * std::f64::consts::TAU;
    let wave = ((now_secs as f64 / period) * std::f64::consts::TAU + phase).sin();
    low + (high - low) * (wave + 1.0) / 2.0
}

fn quantity(resources: &Value, which: &str, name: &str) -> Option<f64> {
    resources[which][name]
        .as_str()
        .and_then(crate::quantity::milli)
        .map(|m| m as f64 / 1000.0)
}

/// One container's usage: (cores, bytes).
fn container_usage(pod_key: &str, c: &Value, load_cores: f64, now: u64) -> (f64, f64) {
    let r = &c["resources"];
    let key = format!("{pod_key}/{}", c["name"].as_str().unwrap_or_default());
    let cpu = quantity(r, "requests", "cpu")
        .map_or(IDLE_CORES, |req| req * drift(&key, now, 0.2, 0.6))
        + load_cores;
    let mem = quantity(r, "requests", "memory").map_or(IDLE_BYTES, |req| {
        req * drift(&format!("{key}/mem"), now, 0.45, 0.8)
    });
    let cpu = quantity(r, "limits", "cpu").map_or(cpu, |l| cpu.min(l));
    let mem = quantity(r, "limits", "memory").map_or(mem, |l| mem.min(l * 0.95));
    (cpu, mem)
}

/// The containers that run now: metrics-server has no metrics for the others, and none for
/// a pod none of whose containers runs.
fn running(pod: &Value) -> Vec<&Value> {
    let statuses = pod["status"]["containerStatuses"].as_array();
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            statuses
                .into_iter()
                .flatten()
                .any(|s| s["name"] == c["name"] && s["state"]["running"].is_object())
        })
        .collect()
}

/// A pod's PodMetrics, or None when nothing in it runs.
fn pod_metrics(pod: &Value, rate_of: &dyn Fn(&str) -> (f64, usize), now: u64) -> Option<Value> {
    let containers = running(pod);
    if containers.is_empty() {
        return None;
    }
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let load = if pod["metadata"]["labels"]["role"] == "events" {
        let (rate, pods) = rate_of(ns);
        rate * CORES_PER_EVENT_PER_SECOND / pods.max(1) as f64 / containers.len() as f64
    } else {
        0.0
    };
    let key = format!("{ns}/{name}");
    let usage: Vec<Value> = containers
        .iter()
        .map(|c| {
            let (cpu, mem) = container_usage(&key, c, load, now);
            json!({"name": c["name"], "usage": usage_json(cpu, mem)})
        })
        .collect();
    Some(json!({
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name, "namespace": ns,
                     "labels": pod["metadata"]["labels"],
                     "creationTimestamp": crate::store::rfc3339(now)},
        "timestamp": crate::store::rfc3339(now),
        "window": WINDOW,
        "containers": usage,
    }))
}

fn usage_json(cores: f64, bytes: f64) -> Value {
    json!({
        "cpu": format!("{}n", (cores * 1e9).round() as u64),
        "memory": format!("{}Ki", (bytes / 1024.0).round() as u64),
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request's answer: one object (`name`) or a list, for `plural` `pods` or `nodes`.
pub fn serve(
    store: &Store,
    rate: &dyn Fn(&str) -> f64,
    plural: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
) -> Result<Value, ApiError> {
    let now = now_secs();
    let pods_rt = store
        .find_type("", "v1", "pods")
        .ok_or_else(|| ApiError::new(500, "InternalError", "pods are not served"))?;
    let everything = LabelSelector::default();
    let any_field = FieldSelector::default();
    let (all_pods, _) = store.list_refs(&pods_rt, None, &everything, &any_field)?;
    let all_pods: Vec<Value> = all_pods
        .into_iter()
        .map(|p| p.read(false).into_owned())
        .collect();
    // Capture load is shared by the namespace's running events pods.
    let rate_of = |ns: &str| {
        let pods = all_pods
            .iter()
            .filter(|p| {
                p["metadata"]["namespace"] == ns && p["metadata"]["labels"]["role"] == "events"
            })
            .filter(|p| !running(p).is_empty())
            .count();
        (rate(ns), pods)
    };
    let items: Vec<Value> = match plural {
        "pods" => {
            let (pods, _) = store.list_refs(&pods_rt, namespace, labels, fields)?;
            pods.into_iter()
                .map(|p| p.read(false).into_owned())
                .filter(|p| name.is_none_or(|n| p["metadata"]["name"] == n))
                .filter_map(|p| pod_metrics(&p, &rate_of, now))
                .collect()
        }
        _ => {
            let nodes_rt = store
                .find_type("", "v1", "nodes")
                .ok_or_else(|| ApiError::new(500, "InternalError", "nodes are not served"))?;
            let (nodes, _) = store.list_refs(&nodes_rt, None, labels, fields)?;
            nodes
                .into_iter()
                .map(|n| n.read(false).into_owned())
                .filter(|n| name.is_none_or(|want| n["metadata"]["name"] == want))
                .map(|n| node_metrics(&n, &all_pods, &rate_of, now))
                .collect()
        }
    };
    let kind = if plural == "pods" {
        "PodMetrics"
    } else {
        "NodeMetrics"
    };
    match name {
        Some(n) => items.into_iter().next().ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                format!("{plural}.{GROUP} \"{n}\" not found"),
            )
        }),
        None => Ok(json!({
            "kind": format!("{kind}List"),
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {},
            "items": items,
        })),
    }
}

fn node_metrics(
    node: &Value,
    pods: &[Value],
    rate_of: &dyn Fn(&str) -> (f64, usize),
    now: u64,
) -> Value {
    let name = node["metadata"]["name"].as_str().unwrap_or_default();
    let (mut cpu, mut mem) = (SYSTEM_CORES, SYSTEM_BYTES);
    for p in pods.iter().filter(|p| p["spec"]["nodeName"] == name) {
        for c in pod_metrics(p, rate_of, now)
            .iter()
            .flat_map(|m| m["containers"].as_array().cloned().unwrap_or_default())
        {
            let u = &c["usage"];
            cpu += u["cpu"]
                .as_str()
                .and_then(crate::quantity::milli)
                .map_or(0.0, |m| m as f64 / 1000.0);
            mem += u["memory"]
                .as_str()
                .and_then(crate::quantity::milli)
                .map_or(0.0, |m| m as f64 / 1000.0);
        }
    }
    json!({
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name, "labels": node["metadata"]["labels"],
                     "creationTimestamp": crate::store::rfc3339(now)},
        "timestamp": crate::store::rfc3339(now),
        "window": WINDOW,
        "usage": usage_json(cpu, mem),
    })
}

/// metrics-server's APIService, as its manifest registers it (`v1beta1.metrics.k8s.io`,
/// backed by `kube-system/metrics-server`).
pub fn apiservice(now: &str) -> Value {
    json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
           "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": {"k8s-app": "metrics-server"}},
           "spec": {"group": GROUP, "version": "v1beta1",
                    "service": {"name": "metrics-server", "namespace": "kube-system", "port": 443},
                    "groupPriorityMinimum": 100, "versionPriority": 100,
                    "insecureSkipTLSVerify": true},
           "status": {"conditions": [{"type": "Available", "status": "True",
               "lastTransitionTime": now, "reason": "Passed", "message": "all checks passed"}]}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(role: &str, cpu: &str, limit: Option<&str>, running: bool) -> Value {
        let mut res = json!({"requests": {"cpu": cpu, "memory": "1Gi"}});
        if let Some(l) = limit {
            res["limits"] = json!({"cpu": l});
        }
        json!({"metadata": {"name": format!("{role}-1"), "namespace": "ph", "labels": {"role": role}},
               "spec": {"nodeName": "n1", "containers": [{"name": "app", "resources": res}]},
               "status": {"containerStatuses": [{"name": "app",
                   "state": if running { json!({"running": {}}) } else { json!({"waiting": {}}) }}]}})
    }

    fn cores(m: &Value) -> f64 {
        let cpu = m["containers"][0]["usage"]["cpu"].as_str().unwrap();
        cpu.trim_end_matches('n').parse::<f64>().unwrap() / 1e9
    }

    #[test]
    fn usage_follows_requests_load_and_limits() {
        let idle = |_: &str| (0.0, 1);
        let busy = |_: &str| (500.0, 1);
        let web = pod_metrics(&pod("web", "1", None, true), &idle, 1000).unwrap();
        assert!((0.2..=0.6).contains(&cores(&web)), "{web}");
        let quiet = pod_metrics(&pod("events", "1", None, true), &idle, 1000).unwrap();
        let loaded = pod_metrics(&pod("events", "1", None, true), &busy, 1000).unwrap();
        assert!(
            (cores(&loaded) - cores(&quiet) - 1.0).abs() < 1e-6,
            "500 events/s add a core"
        );
        let capped = pod_metrics(&pod("events", "1", Some("1200m"), true), &busy, 1000).unwrap();
        assert!((cores(&capped) - 1.2).abs() < 1e-6, "{capped}");
        assert!(pod_metrics(&pod("web", "1", None, false), &idle, 1000).is_none());
        assert_eq!(
            web["containers"][0]["usage"]["memory"]
                .as_str()
                .map(|m| m.ends_with("Ki")),
            Some(true)
        );
    }
}
