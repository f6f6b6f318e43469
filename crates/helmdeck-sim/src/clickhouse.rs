//! The part of the Altinity ClickHouse operator the vendor's chart relies on: a
//! `ClickHouseInstallation` becomes, per cluster, shard and replica, a one-pod StatefulSet
//! `chi-<installation>-<cluster>-<shard>-<replica>` built from the pod and volume claim
//! templates it names, a Service per host and the installation's `clickhouse-<installation>`
//! Service; its status says how far that got (shared/REFERENCE.md names the objects). The
//! operator's own Deployment is not consulted: the resource is enough.

use serde_json::{Value, json};

use crate::store::Store;

const GROUP: &str = "clickhouse.altinity.com";
const CHI_LABEL: &str = "clickhouse.altinity.com/chi";

fn gr(group: &str, plural: &str) -> (String, String) {
    (group.to_string(), plural.to_string())
}

fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|t| t["name"] == name)
}

/// The objects one installation asks for, in creation order.
pub fn desired(chi: &Value) -> Vec<Value> {
    let name = chi["metadata"]["name"].as_str().unwrap_or_default();
    let ns = chi["metadata"]["namespace"].as_str().unwrap_or_default();
    let owner = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClickHouseInstallation",
        "name": name, "uid": chi["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true});
    let templates = &chi["spec"]["templates"];
    let defaults = &chi["spec"]["defaults"]["templates"];
    let mut out = Vec::new();
    let clusters = chi["spec"]["configuration"]["clusters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &clusters {
        let cluster = c["name"].as_str().unwrap_or("cluster");
        let pick = |key: &str| {
            c["templates"][key]
                .as_str()
                .or_else(|| defaults[key].as_str())
                .map(str::to_string)
        };
        let pod = pick("podTemplate")
            .and_then(|t| named(&templates["podTemplates"], &t).cloned())
            .unwrap_or(json!({}));
        let vct = pick("dataVolumeClaimTemplate")
            .and_then(|t| named(&templates["volumeClaimTemplates"], &t).cloned());
        let shards = c["layout"]["shardsCount"].as_u64().unwrap_or(1);
        let replicas = c["layout"]["replicasCount"].as_u64().unwrap_or(1);
        for s in 0..shards {
            for r in 0..replicas {
                let host = format!("chi-{name}-{cluster}-{s}-{r}");
                let labels = json!({CHI_LABEL: name, "clickhouse.altinity.com/cluster": cluster,
                    "clickhouse.altinity.com/shard": s.to_string(),
                    "clickhouse.altinity.com/replica": r.to_string(),
                    "clickhouse.altinity.com/app": "chop"});
                let mut pod_spec = pod["spec"].clone();
                if !pod_spec.is_object() {
                    pod_spec = json!({"containers": [{"name": "clickhouse",
                        "image": "clickhouse/clickhouse-server"}]});
                }
                let mut sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": {"name": host, "namespace": ns, "labels": labels,
                                 "ownerReferences": [owner]},
                    "spec": {"replicas": 1, "serviceName": host,
                             "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels}, "spec": pod_spec}}});
                if let Some(v) = &vct {
                    sts["spec"]["volumeClaimTemplates"] = json!([{
                        "metadata": {"name": v["name"]}, "spec": v["spec"]}]);
                }
                out.push(sts);
                out.push(json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": host, "namespace": ns, "labels": labels,
                                 "ownerReferences": [owner]},
                    "spec": {"clusterIP": "None", "selector": labels,
                             "ports": [{"name": "http", "port": 8123}, {"name": "tcp", "port": 9000},
                                       {"name": "interserver", "port": 9009}]}}));
            }
        }
    }
    let service_spec = templates["serviceTemplates"]
        .as_array()
        .and_then(|a| a.first())
        .map(|t| t["spec"].clone())
        .filter(Value::is_object)
        .unwrap_or(
            json!({"ports": [{"name": "http", "port": 8123}, {"name": "tcp", "port": 9000}]}),
        );
    let mut spec = service_spec;
    spec["selector"] = json!({CHI_LABEL: name});
    out.push(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("clickhouse-{name}"), "namespace": ns,
                     "labels": {CHI_LABEL: name}, "ownerReferences": [owner]},
        "spec": spec}));
    out
}

/// Creates what every installation asks for and reports its progress in its status.
pub fn reconcile(store: &mut Store) {
    let chi_gr = gr(GROUP, "clickhouseinstallations");
    let sts_gr = gr("apps", "statefulsets");
    let chis: Vec<Value> = store.iter_gr(&chi_gr, None).cloned().collect();
    for chi in chis {
        if !chi["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let ns = chi["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = chi["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let want = desired(&chi);
        let mut hosts = 0;
        let mut ready = 0;
        for obj in &want {
            let kind = obj["kind"].as_str().unwrap_or_default();
            let obj_name = obj["metadata"]["name"].as_str().unwrap_or_default();
            let (api, g) = match kind {
                "StatefulSet" => (("apps/v1", "StatefulSet"), sts_gr.clone()),
                _ => (("v1", "Service"), gr("", "services")),
            };
            match store.get_gr(&g, &ns, obj_name).cloned() {
                None => {
                    let _ = store.create_system(api, &ns, obj.clone());
                }
                Some(live) if kind == "StatefulSet" => {
                    hosts += 1;
                    if live["status"]["readyReplicas"].as_i64() == Some(1) {
                        ready += 1;
                    }
                    // A changed pod template rolls the host, as the operator does.
                    if live["spec"]["template"] != obj["spec"]["template"] {
                        let mut next = live.clone();
                        next["spec"]["template"] = obj["spec"]["template"].clone();
                        let generation = live["metadata"]["generation"].as_i64().unwrap_or(1);
                        next["metadata"]["generation"] = json!(generation + 1);
                        store.put_raw(&g, &ns, obj_name, next);
                    }
                }
                Some(_) => {}
            }
        }
        let status = json!({
            "status": if hosts > 0 && ready == hosts { "Completed" } else { "InProgress" },
            "hosts": hosts, "hostsCompleted": ready,
            "clusters": chi["spec"]["configuration"]["clusters"].as_array().map_or(0, Vec::len),
        });
        store.set_status(&chi_gr, &ns, &name, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installation_becomes_a_statefulset_per_host_with_its_claim_template() {
        let chi = json!({"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation",
            "metadata": {"name": "posthog", "namespace": "ph", "uid": "u1"},
            "spec": {"configuration": {"clusters": [{"name": "posthog",
                        "layout": {"shardsCount": 1, "replicasCount": 2},
                        "templates": {"podTemplate": "pod", "dataVolumeClaimTemplate": "data"}}]},
                     "templates": {"podTemplates": [{"name": "pod", "spec": {"containers": [{"name": "clickhouse", "image": "clickhouse/clickhouse-server:23.9"}]}}],
                                   "volumeClaimTemplates": [{"name": "data", "spec": {"storageClassName": "gp3",
                                        "resources": {"requests": {"storage": "20Gi"}}}}]}}});
        let objs = desired(&chi);
        let sts: Vec<&Value> = objs.iter().filter(|o| o["kind"] == "StatefulSet").collect();
        let names: Vec<&str> = sts
            .iter()
            .map(|s| s["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["chi-posthog-posthog-0-0", "chi-posthog-posthog-0-1"]
        );
        assert_eq!(
            sts[0]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "data"
        );
        assert_eq!(
            sts[0]["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
            "gp3"
        );
        assert_eq!(
            sts[0]["metadata"]["ownerReferences"][0]["kind"],
            "ClickHouseInstallation"
        );
        assert!(
            objs.iter()
                .any(|o| o["kind"] == "Service" && o["metadata"]["name"] == "clickhouse-posthog")
        );
    }
}
