//! Pod usage from `metrics.k8s.io` (metrics-server), as `kubectl top pod` reads it. A
//! cluster without metrics-server answers 404 (or 503 while its APIService is unavailable):
//! the pods pane then says so and shows no usage columns.

use serde::Deserialize;

use crate::observed::PodUsage;

#[derive(Deserialize)]
struct PodMetricsList {
    #[serde(default)]
    items: Vec<PodMetrics>,
}

#[derive(Deserialize)]
struct PodMetrics {
    metadata: kube::api::ObjectMeta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Deserialize)]
struct ContainerMetrics {
    usage: Usage,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    cpu: String,
    #[serde(default)]
    memory: String,
}

/// Why there is no usage to show.
#[derive(Debug, Clone, PartialEq)]
pub enum UsageError {
    /// The cluster has no metrics-server.
    NotServed,
    /// Its APIService is registered but metrics-server does not answer.
    Unavailable,
    Other(String),
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsageError::NotServed => f.write_str("metrics.k8s.io not served (no metrics-server)"),
            UsageError::Unavailable => f.write_str("metrics-server unavailable"),
            UsageError::Other(e) => f.write_str(e),
        }
    }
}

/// The namespace's pods' usage, or why there is none.
pub async fn pod_usage(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<PodUsage>, UsageError> {
    // "" asks for every namespace's pods.
    let path = if namespace.is_empty() {
        "/apis/metrics.k8s.io/v1beta1/pods".to_string()
    } else {
        format!("/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods")
    };
    let req = http::Request::get(&path)
        .body(Vec::new())
        .map_err(|e| UsageError::Other(e.to_string()))?;
    let list: PodMetricsList = match client.request(req).await {
        Ok(l) => l,
        Err(kube::Error::Api(s)) if s.code == 404 => return Err(UsageError::NotServed),
        Err(kube::Error::Api(s)) if s.code == 503 => return Err(UsageError::Unavailable),
        Err(kube::Error::Api(s)) => return Err(UsageError::Other(s.message)),
        Err(e) => return Err(UsageError::Other(e.to_string())),
    };
    Ok(list
        .items
        .into_iter()
        .map(|m| PodUsage {
            namespace: m.metadata.namespace.unwrap_or_default(),
            name: m.metadata.name.unwrap_or_default(),
            cpu: m
                .containers
                .iter()
                .filter_map(|c| crate::quantity::parse_cpu(&c.usage.cpu))
                .sum(),
            memory: m
                .containers
                .iter()
                .filter_map(|c| crate::quantity::parse_bytes(&c.usage.memory))
                .sum(),
        })
        .collect())
}
