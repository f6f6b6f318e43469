//! Volume usage as each node's kubelet measures it, read through the API server's node
//! proxy: `GET /api/v1/nodes/NODE/proxy/stats/summary` (the kubelet's Summary API,
//! kubernetes/kubelet `pkg/apis/stats/v1alpha1`: per pod, `volume[]` with `usedBytes`,
//! `capacityBytes`, `availableBytes`, `time` and, for a claim, `pvcRef`). It needs `get` on
//! `nodes/proxy`, which read-only roles often lack: the refusal is reported as such.

use serde::Deserialize;

use crate::health::fill::{History, Sample, epoch_ms};

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    pods: Vec<PodStats>,
}

#[derive(Deserialize)]
struct PodStats {
    #[serde(default)]
    volume: Vec<VolumeStats>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VolumeStats {
    #[serde(default)]
    time: Option<String>,
    used_bytes: Option<u64>,
    capacity_bytes: Option<u64>,
    #[serde(default)]
    pvc_ref: Option<PvcRef>,
}

#[derive(Deserialize)]
struct PvcRef {
    name: String,
    namespace: String,
}

/// One claim's measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimUsage {
    pub namespace: String,
    pub claim: String,
    pub sample: Sample,
}

fn parse(body: &[u8], now_ms: u64) -> Result<Vec<ClaimUsage>, String> {
    let s: Summary =
        serde_json::from_slice(body).map_err(|e| format!("not a kubelet summary: {e}"))?;
    Ok(s.pods
        .into_iter()
        .flat_map(|p| p.volume)
        .filter_map(|v| {
            let r = v.pvc_ref?;
            let at_ms = v
                .time
                .as_deref()
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond().max(0) as u64)
                .unwrap_or(now_ms);
            Some(ClaimUsage {
                namespace: r.namespace,
                claim: r.name,
                sample: Sample {
                    at_ms,
                    used: v.used_bytes?,
                    capacity: v.capacity_bytes?,
                },
            })
        })
        .collect())
}

/// Each node's claims' usage, the nodes read concurrently; what could not be read, per node.
pub async fn read(client: &kube::Client, nodes: &[String]) -> (Vec<ClaimUsage>, Vec<String>) {
    let now_ms = epoch_ms(std::time::SystemTime::now());
    let reads = nodes.iter().map(|node| async move {
        let path = format!("/api/v1/nodes/{node}/proxy/stats/summary");
        let req = http::Request::get(&path)
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        let text = match client.request_text(req).await {
            Ok(t) => t,
            Err(kube::Error::Api(s)) if s.code == 403 => {
                return Err(format!(
                    "node {node}: volume usage needs `get` on nodes/proxy, which this user lacks ({})",
                    s.message
                ));
            }
            Err(kube::Error::Api(s)) => return Err(format!("node {node}: {}", s.message)),
            Err(e) => return Err(format!("node {node}: {e}")),
        };
        parse(text.as_bytes(), now_ms).map_err(|e| format!("node {node}: {e}"))
    });
    let mut usage = Vec::new();
    let mut errors = Vec::new();
    for r in futures::future::join_all(reads).await {
        match r {
            Ok(u) => usage.extend(u),
            Err(e) => errors.push(e),
        }
    }
    (usage, errors)
}

/// Adds the measurements to the history.
pub fn record(history: &mut History, usage: &[ClaimUsage]) {
    for u in usage {
        history.record(&u.namespace, &u.claim, u.sample);
    }
}

#[derive(Deserialize)]
struct PodList {
    #[serde(default)]
    items: Vec<crate::observed::podview::PodView>,
}

/// The namespace's pods (every namespace's for None), as far as finding their claims' nodes
/// needs: for a `check --disks` that watches no pods.
pub async fn list_pods(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<Vec<std::sync::Arc<crate::observed::podview::PodView>>, kube::Error> {
    let path = match namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/pods"),
        None => "/api/v1/pods".to_string(),
    };
    let req = http::Request::get(&path)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    let list: PodList = client.request(req).await?;
    Ok(list.items.into_iter().map(std::sync::Arc::new).collect())
}

/// The nodes running the pods that mount the snapshot's claims (the kubelets to ask).
pub fn nodes_of(snap: &crate::observed::Snapshot) -> Vec<String> {
    let claims: std::collections::HashSet<(&str, &str)> = snap
        .pvcs
        .iter()
        .map(|c| {
            (
                c.metadata.namespace.as_deref().unwrap_or_default(),
                c.metadata.name.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let mut nodes: Vec<String> = snap
        .pods
        .iter()
        .filter_map(|p| {
            let ns = p.metadata.namespace.as_deref().unwrap_or_default();
            let spec = p.spec.as_ref()?;
            spec.claims
                .iter()
                .any(|c| claims.contains(&(ns, c.as_str())))
                .then(|| spec.node_name.clone())
                .flatten()
        })
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_gives_each_claims_usage_at_the_kubelets_time() {
        let body = br#"{"node": {"nodeName": "n1"}, "pods": [
            {"podRef": {"name": "kafka-0", "namespace": "ph"}, "volume": [
                {"time": "2026-12-03T10:00:00Z", "availableBytes": 6, "capacityBytes": 10, "usedBytes": 4,
                 "name": "data", "pvcRef": {"name": "data-kafka-0", "namespace": "ph"}},
                {"time": "2026-12-03T10:00:00Z", "usedBytes": 1, "capacityBytes": 2, "name": "tmp"}]},
            {"podRef": {"name": "web", "namespace": "ph"}}]}"#;
        let u = parse(body, 7).unwrap();
        assert_eq!(
            u,
            vec![ClaimUsage {
                namespace: "ph".into(),
                claim: "data-kafka-0".into(),
                sample: Sample {
                    at_ms: 1_796_292_000_000,
                    used: 4,
                    capacity: 10
                }
            }]
        );
        assert!(
            parse(b"<html>", 7)
                .unwrap_err()
                .starts_with("not a kubelet summary")
        );
    }
}
