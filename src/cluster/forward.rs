//! `shift-f`: a local port forwarded to a pod's port through the API server (kube-rs
//! port-forward over WebSocket), as `kubectl port-forward` does. A Service is forwarded as
//! kubectl forwards it: to one of its ready pods, on the container port its target names.
//! Each local connection gets its own port-forward session.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;
use tokio::net::TcpListener;

/// What to forward to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardTo {
    Pod(String),
    Service(String),
}

/// A forward that listens: where, and to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    pub local: std::net::SocketAddr,
    /// `svc/posthog-web:8000 → pod/posthog-web-…:8000`.
    pub to: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("{0}")]
    Cluster(String),
    #[error("{what} has no port to forward")]
    NoPort { what: String },
    #[error("no ready pod behind svc/{0}: nothing to forward to")]
    NoPod(String),
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
}

fn cluster(e: kube::Error) -> ForwardError {
    ForwardError::Cluster(e.to_string())
}

/// The pod and its port a target leads to, and how to say it.
async fn resolve(
    client: &kube::Client,
    namespace: &str,
    to: &ForwardTo,
) -> Result<(String, u16, String), ForwardError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let container_port = |pod: &Pod, wanted: Option<&IntOrString>| -> Option<u16> {
        let ports = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten());
        let found = match wanted {
            Some(IntOrString::Int(n)) => return u16::try_from(*n).ok(),
            Some(IntOrString::String(name)) => {
                ports.clone().find(|p| p.name.as_deref() == Some(name))
            }
            None => ports.clone().next(),
        };
        found.and_then(|p| u16::try_from(p.container_port).ok())
    };
    match to {
        ForwardTo::Pod(name) => {
            let pod = pods.get(name).await.map_err(cluster)?;
            let port = container_port(&pod, None).ok_or_else(|| ForwardError::NoPort {
                what: format!("pod/{name}"),
            })?;
            Ok((name.clone(), port, format!("pod/{name}:{port}")))
        }
        ForwardTo::Service(name) => {
            let svc: Service = Api::namespaced(client.clone(), namespace)
                .get(name)
                .await
                .map_err(cluster)?;
            let spec = svc.spec.unwrap_or_default();
            let sp = spec.ports.iter().flatten().next().cloned().ok_or_else(|| {
                ForwardError::NoPort {
                    what: format!("svc/{name}"),
                }
            })?;
            let selector = spec
                .selector
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            if selector.is_empty() {
                return Err(ForwardError::NoPod(name.clone()));
            }
            let listed = pods
                .list(&kube::api::ListParams::default().labels(&selector))
                .await
                .map_err(cluster)?;
            let ready = listed.items.into_iter().find(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            });
            let pod = ready.ok_or_else(|| ForwardError::NoPod(name.clone()))?;
            let target = sp.target_port.clone().unwrap_or(IntOrString::Int(sp.port));
            let port = container_port(&pod, Some(&target)).ok_or_else(|| ForwardError::NoPort {
                what: format!("svc/{name}"),
            })?;
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            Ok((
                pod_name.clone(),
                port,
                format!("svc/{name}:{} → pod/{pod_name}:{port}", sp.port),
            ))
        }
    }
}

/// Listens on 127.0.0.1 (the pod's port number when free, else any) and forwards every
/// connection until the program ends. The client must have no read deadline: a forwarded
/// connection may be quiet for long.
pub async fn start(
    client: kube::Client,
    namespace: &str,
    to: &ForwardTo,
) -> Result<Forwarding, ForwardError> {
    let (pod, port, said) = resolve(&client, namespace, to).await?;
    let listener = match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(_) => TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(ForwardError::Listen)?,
    };
    let local = listener.local_addr().map_err(ForwardError::Listen)?;
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (pods, pod) = (pods.clone(), pod.clone());
            tokio::spawn(async move {
                let Ok(mut pf) = pods.portforward(&pod, &[port]).await else {
                    return;
                };
                if let Some(mut upstream) = pf.take_stream(port) {
                    let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
                }
                pf.abort();
            });
        }
    });
    Ok(Forwarding { local, to: said })
}
