//! Each node's free room, read from the cluster: allocatable less what the pods placed on it
//! request (the arithmetic is `health::room`'s).

use kube::api::{Api, DynamicObject, ListParams};
use kube::core::ApiResource;

use crate::health::room::pod_request;
use crate::observed::Amount;
use crate::quantity::{parse_bytes, parse_cpu};

/// Each schedulable node's free room: allocatable less the requests of the pods placed on it
/// that have not finished. Read page by page, so a large cluster's pods are never all in
/// memory at once.
pub async fn free(client: &kube::Client) -> Result<Vec<(String, Amount)>, kube::Error> {
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let nodes = nodes.list(&ListParams::default()).await?.items;
    let mut room: Vec<(String, Amount)> = nodes
        .iter()
        .filter(|n| {
            !n.spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false)
        })
        .map(|n| {
            let a = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
            let get = |k: &str| a.and_then(|a| a.get(k)).map(|q| q.0.as_str());
            (
                n.metadata.name.clone().unwrap_or_default(),
                Amount {
                    cpu: get("cpu").and_then(parse_cpu).unwrap_or(0.0),
                    memory: get("memory").and_then(parse_bytes).unwrap_or(0.0),
                },
            )
        })
        .collect();
    let pods: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
    );
    let mut params = ListParams::default()
        .fields("status.phase!=Succeeded,status.phase!=Failed")
        .limit(500);
    loop {
        let page = pods.list(&params).await?;
        for p in &page.items {
            let spec = &p.data["spec"];
            let Some(node) = spec["nodeName"].as_str() else {
                continue;
            };
            if let Some((_, r)) = room.iter_mut().find(|(n, _)| n == node) {
                let used = pod_request(spec);
                r.cpu -= used.cpu;
                r.memory -= used.memory;
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => params = params.continue_token(&c),
            None => break,
        }
    }
    Ok(room)
}
