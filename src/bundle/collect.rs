//! Reading what a bundle holds from a live cluster: lists (paged, as kubectl pages them), the
//! release's stored revisions and each container's last log lines. Only reads: a bundle is
//! made on clusters that are already in trouble.

use futures::StreamExt;
use serde_json::Value;

use super::{Gathered, LogTail, Skipped};

/// Cluster-scoped kinds: (file stem, list path).
const CLUSTER_KINDS: [(&str, &str); 6] = [
    ("namespaces", "/api/v1/namespaces"),
    ("nodes", "/api/v1/nodes"),
    ("persistentvolumes", "/api/v1/persistentvolumes"),
    ("storageclasses", "/apis/storage.k8s.io/v1/storageclasses"),
    (
        "ingressclasses",
        "/apis/networking.k8s.io/v1/ingressclasses",
    ),
    (
        "customresourcedefinitions",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ),
];

/// Namespaced kinds: (file stem, API prefix). Secrets are read for their names, types and
/// keys and to learn the values to take out of everything else; their data never leaves.
const NAMESPACED_KINDS: [(&str, &str); 15] = [
    ("pods", "/api/v1"),
    ("events", "/api/v1"),
    ("persistentvolumeclaims", "/api/v1"),
    ("services", "/api/v1"),
    ("endpoints", "/api/v1"),
    ("configmaps", "/api/v1"),
    ("secrets", "/api/v1"),
    ("serviceaccounts", "/api/v1"),
    ("deployments", "/apis/apps/v1"),
    ("statefulsets", "/apis/apps/v1"),
    ("replicasets", "/apis/apps/v1"),
    ("daemonsets", "/apis/apps/v1"),
    ("jobs", "/apis/batch/v1"),
    ("cronjobs", "/apis/batch/v1"),
    ("ingresses", "/apis/networking.k8s.io/v1"),
];

/// Containers whose logs are read at once.
const LOGS_AT_ONCE: usize = 8;

async fn get(client: &kube::Client, path: &str) -> Result<Value, kube::Error> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request::<Value>(req).await
}

/// Every item of a list, 500 at a time, each with its `apiVersion` and `kind` (lists leave
/// them out of their items).
async fn list_all(client: &kube::Client, path: &str) -> Result<Vec<Value>, kube::Error> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let mut url = format!("{path}?limit=500");
        if !token.is_empty() {
            url.push_str("&continue=");
            url.push_str(&percent(&token));
        }
        let page = get(client, &url).await?;
        let api = page["apiVersion"].as_str().unwrap_or("v1").to_string();
        let kind = page["kind"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches("List")
            .to_string();
        for mut item in page["items"].as_array().cloned().unwrap_or_default() {
            item["apiVersion"] = Value::String(api.clone());
            item["kind"] = Value::String(kind.clone());
            if let Some(m) = item["metadata"].as_object_mut() {
                // Bookkeeping a replay rebuilds; it is most of a big object's bytes.
                m.remove("managedFields");
            }
            out.push(item);
        }
        token = page["metadata"]["continue"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if token.is_empty() {
            return Ok(out);
        }
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Why a read failed, in the API server's words when it gave some.
fn why(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        e => e.to_string(),
    }
}

/// Everything a bundle holds about `namespace` and `release`, read from the cluster. A kind
/// that cannot be read (forbidden to this user, not served) is noted in `skipped`; only the
/// server's version being unreadable ends it.
pub async fn gather(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    log_lines: u32,
) -> Result<Gathered, kube::Error> {
    let version = get(client, "/version").await?;
    let mut g = Gathered {
        version,
        ..Default::default()
    };
    for (stem, path) in CLUSTER_KINDS {
        match list_all(client, path).await {
            Ok(mut items) => {
                if stem == "persistentvolumes" {
                    // The namespace's volumes only: others are other people's.
                    items.retain(|pv| pv["spec"]["claimRef"]["namespace"] == namespace);
                }
                g.cluster.push((stem, items));
            }
            Err(e) => g.skipped.push(Skipped {
                what: stem.to_string(),
                why: why(&e),
            }),
        }
    }
    for (stem, prefix) in NAMESPACED_KINDS {
        match list_all(client, &format!("{prefix}/namespaces/{namespace}/{stem}")).await {
            Ok(items) => g.namespaced.push((stem, items)),
            Err(e) => g.skipped.push(Skipped {
                what: format!("{stem} in {namespace}"),
                why: why(&e),
            }),
        }
    }
    g.releases = g
        .namespaced
        .iter()
        .filter(|(stem, _)| *stem == "secrets")
        .flat_map(|(_, items)| items)
        .filter(|s| s["type"] == "helm.sh/release.v1" && s["metadata"]["labels"]["name"] == release)
        .filter_map(|s| {
            let b64 = s["data"]["release"].as_str()?;
            let raw =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).ok()?;
            crate::cluster::releases::decode(&raw)
        })
        .collect();
    g.releases
        .sort_by_key(|r| r["version"].as_u64().unwrap_or_default());
    g.logs = logs(client, namespace, &g, log_lines).await;
    g.node_stats = node_stats(client, namespace, &mut g.skipped).await;
    Ok(g)
}

/// The kubelet's summary of each node the namespace's claims are mounted on, the namespace's
/// pods only (other namespaces' are other people's).
async fn node_stats(
    client: &kube::Client,
    namespace: &str,
    skipped: &mut Vec<Skipped>,
) -> Vec<(String, Value)> {
    let pods = match crate::cluster::disk_usage::list_pods(client, Some(namespace)).await {
        Ok(p) => p,
        Err(e) => {
            skipped.push(Skipped {
                what: "node stats".into(),
                why: why(&e),
            });
            return Vec::new();
        }
    };
    let mut nodes: Vec<String> = pods
        .iter()
        .filter_map(|p| {
            let spec = p.spec.as_ref()?;
            (!spec.claims.is_empty()).then(|| spec.node_name.clone())?
        })
        .collect();
    nodes.sort();
    nodes.dedup();
    let mut out = Vec::new();
    for node in nodes {
        match get(client, &format!("/api/v1/nodes/{node}/proxy/stats/summary")).await {
            Ok(mut summary) => {
                if let Some(pods) = summary["pods"].as_array_mut() {
                    pods.retain(|p| p["podRef"]["namespace"] == namespace);
                }
                out.push((node, summary));
            }
            Err(e) => skipped.push(Skipped {
                what: format!("node stats of {node}"),
                why: why(&e),
            }),
        }
    }
    out
}

/// The last `lines` lines of every container (and of its previous run when it restarted).
async fn logs(client: &kube::Client, namespace: &str, g: &Gathered, lines: u32) -> Vec<LogTail> {
    let mut wanted = Vec::new();
    for pod in g.objects("pods") {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let statuses = pod["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .chain(pod["status"]["initContainerStatuses"].as_array())
            .flatten();
        for c in statuses {
            let container = c["name"].as_str().unwrap_or_default();
            wanted.push((name.to_string(), container.to_string(), false));
            if c["restartCount"].as_u64().unwrap_or(0) > 0 {
                wanted.push((name.to_string(), container.to_string(), true));
            }
        }
    }
    futures::stream::iter(wanted)
        .map(|(pod, container, previous)| async move {
            let path = format!(
                "/api/v1/namespaces/{namespace}/pods/{pod}/log?container={container}&tailLines={lines}{}",
                if previous { "&previous=true" } else { "" }
            );
            let req = http::Request::get(path).body(Vec::new()).ok()?;
            // A container that never started has no log; that is what its status says.
            let text = client.request_text(req).await.ok()?;
            Some(LogTail {
                namespace: namespace.to_string(),
                pod,
                container,
                previous,
                lines: text.lines().map(str::to_string).collect(),
            })
        })
        .buffer_unordered(LOGS_AT_ONCE)
        .filter_map(|x| async move { x })
        .collect()
        .await
}
