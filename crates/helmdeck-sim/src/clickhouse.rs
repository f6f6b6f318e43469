//! The part of the Altinity ClickHouse operator the vendor's chart relies on: a
//! `ClickHouseInstallation` becomes, per cluster, shard and replica, a one-pod StatefulSet
//! `chi-<installation>-<cluster>-<shard>-<replica>` built from the pod and volume claim
//! templates it names, with its Services; its status says how far that got.
//!
//! Names, labels, selectors and Service specs follow the operator's own rules (Altinity/
//! clickhouse-operator; the vendor's chart runs 0.19.0, whose labels and names are those of
//! 50e8d04, read here): `pkg/model/chi/namer/patterns.go` and `name.go` (object
//! names, a template's `generateName` with macros), `pkg/model/common/tags/labeler/selector.go`
//! and `labels.go` (the installation, cluster, shard and host scopes, `…/Service` and `…/ready`),
//! `pkg/model/chi/creator/service.go` (the installation's Service: from the root service
//! templates, else headless on 8123/9000; a cluster's only from its `clusterServiceTemplate`; a
//! host's from its replica service template, else headless with not-ready addresses published)
//! and `type_status.go` (the status fields); the order Services are reconciled in is 0.19.0's
//! (`pkg/controller/chi/worker.go`). The operator's own Deployment is not consulted:
//! the resource is enough. Not modelled: shard Services, config maps, PodDisruptionBudgets and
//! the finalizer.

use serde_json::{Map, Value, json};

use crate::store::Store;

const GROUP: &str = "clickhouse.altinity.com";
const CHI_LABEL: &str = "clickhouse.altinity.com/chi";

fn gr(group: &str, plural: &str) -> (String, String) {
    (group.to_string(), plural.to_string())
}

fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|t| t["name"] == name)
}

/// `clickhouse.altinity.com/<key>`.
fn label(key: &str) -> String {
    format!("{GROUP}/{key}")
}

/// The labels that select an object of a scope: the installation's (namespace, app, chi), a
/// cluster's (+ cluster), a host's (+ shard, replica). The operator never adds the
/// installation's own labels to a selector.
fn scope(
    ns: &str,
    chi: &str,
    cluster: Option<&str>,
    host: Option<(u64, u64)>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(label("namespace"), json!(ns));
    m.insert(label("app"), json!("chop"));
    m.insert(CHI_LABEL.into(), json!(chi));
    if let Some(c) = cluster {
        m.insert(label("cluster"), json!(c));
    }
    if let Some((shard, replica)) = host {
        m.insert(label("shard"), json!(shard.to_string()));
        m.insert(label("replica"), json!(replica.to_string()));
    }
    m
}

/// A scope's labels: the selector's, the installation's own labels on top when given (as
/// `appendCRProvidedLabels` does for objects; never for selectors), and any extra (the Service
/// kind, ready).
fn labels(selector: &Map<String, Value>, own: Option<&Value>, extra: &[(&str, &str)]) -> Value {
    let mut m = selector.clone();
    if let Some(own) = own.and_then(|chi| chi["metadata"]["labels"].as_object()) {
        m.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for (k, v) in extra {
        m.insert(label(k), json!(v));
    }
    Value::Object(m)
}

/// A name pattern with the operator's macros filled in.
fn expand(pattern: &str, ns: &str, chi: &str, cluster: &str, host: Option<(u64, u64)>) -> String {
    let mut out = pattern
        .replace("{chi}", chi)
        .replace("{namespace}", ns)
        .replace("{cluster}", cluster);
    if let Some((s, r)) = host {
        out = out
            .replace("{shard}", &s.to_string())
            .replace("{replica}", &r.to_string())
            .replace("{host}", &format!("{s}-{r}"));
    }
    out
}

/// A Service from one of the installation's service templates: its metadata and spec, with
/// the operator's name, namespace, owner, labels and selector laid over them.
fn service_from_template(
    template: &Value,
    name: String,
    ns: &str,
    owner: &Value,
    labels: Value,
    selector: Value,
) -> Value {
    let mut meta = template["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut merged = meta
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    merged.extend(labels.as_object().cloned().unwrap_or_default());
    meta.insert("labels".into(), Value::Object(merged));
    meta.insert("name".into(), json!(name));
    meta.insert("namespace".into(), json!(ns));
    meta.insert("ownerReferences".into(), json!([owner]));
    let mut spec = template["spec"].as_object().cloned().unwrap_or_default();
    let mut sel = spec
        .get("selector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    sel.extend(selector.as_object().cloned().unwrap_or_default());
    spec.insert("selector".into(), Value::Object(sel));
    json!({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec})
}

/// The objects one installation asks for, in creation order.
pub fn desired(chi: &Value) -> Vec<Value> {
    let name = chi["metadata"]["name"].as_str().unwrap_or_default();
    let ns = chi["metadata"]["namespace"].as_str().unwrap_or_default();
    let owner = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClickHouseInstallation",
        "name": name, "uid": chi["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true});
    let templates = &chi["spec"]["templates"];
    let defaults = &chi["spec"]["defaults"]["templates"];
    let service_template = |t: &str| named(&templates["serviceTemplates"], t).cloned();
    let mut out = Vec::new();
    // The installation's Service: one per root service template, else the default, headless.
    let select = scope(ns, name, None, None);
    let cr_labels = labels(&select, Some(chi), &[("Service", "chi")]);
    let cr_selector = labels(&select, None, &[("ready", "yes")]);
    let roots: Vec<Value> = defaults["serviceTemplate"]
        .as_str()
        .into_iter()
        .chain(
            defaults["serviceTemplates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .filter_map(service_template)
        .collect();
    if roots.is_empty() {
        out.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("clickhouse-{name}"), "namespace": ns,
                         "labels": cr_labels, "ownerReferences": [owner]},
            "spec": {"clusterIP": "None", "type": "ClusterIP", "selector": cr_selector,
                     "ports": [{"name": "http", "port": 8123, "protocol": "TCP", "targetPort": "http"},
                               {"name": "tcp", "port": 9000, "protocol": "TCP", "targetPort": "tcp"}]}}));
    }
    for t in roots {
        let svc_name = expand(
            t["generateName"].as_str().unwrap_or("clickhouse-{chi}"),
            ns,
            name,
            "",
            None,
        );
        out.push(service_from_template(
            &t,
            svc_name,
            ns,
            &owner,
            cr_labels.clone(),
            cr_selector.clone(),
        ));
    }
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
        let replica_service = pick("replicaServiceTemplate").and_then(|t| service_template(&t));
        let shards = c["layout"]["shardsCount"].as_u64().unwrap_or(1);
        let replicas = c["layout"]["replicasCount"].as_u64().unwrap_or(1);
        for s in 0..shards {
            for r in 0..replicas {
                let host = format!("chi-{name}-{cluster}-{s}-{r}");
                let select = scope(ns, name, Some(cluster), Some((s, r)));
                let sts_labels = labels(&select, Some(chi), &[]);
                let pod_labels = labels(&select, Some(chi), &[("ready", "yes")]);
                let mut pod_spec = pod["spec"].clone();
                if !pod_spec.is_object() {
                    pod_spec = json!({"containers": [{"name": "clickhouse",
                        "image": "clickhouse/clickhouse-server"}]});
                }
                let mut sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": {"name": host, "namespace": ns, "labels": sts_labels,
                                 "ownerReferences": [owner]},
                    "spec": {"replicas": 1, "serviceName": host,
                             "selector": {"matchLabels": select},
                             "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec}}});
                if let Some(v) = &vct {
                    sts["spec"]["volumeClaimTemplates"] = json!([{
                        "metadata": {"name": v["name"], "labels": labels(&select, Some(chi), &[])},
                        "spec": v["spec"]}]);
                }
                out.push(sts);
                let host_labels = labels(&select, Some(chi), &[("Service", "host")]);
                out.push(match &replica_service {
                    Some(t) => {
                        let svc_name = t["generateName"]
                            .as_str()
                            .map(|p| expand(p, ns, name, cluster, Some((s, r))))
                            .unwrap_or_else(|| host.clone());
                        service_from_template(t, svc_name, ns, &owner, host_labels, Value::Object(select.clone()))
                    }
                    None => json!({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": host, "namespace": ns, "labels": host_labels,
                                     "ownerReferences": [owner]},
                        "spec": {"clusterIP": "None", "type": "ClusterIP",
                                 "publishNotReadyAddresses": true, "selector": select,
                                 "ports": [{"name": "http", "port": 8123}, {"name": "tcp", "port": 9000},
                                           {"name": "interserver", "port": 9009}]}}),
                });
            }
        }
        // A cluster's Service exists only when its templates name one.
        if let Some(t) = c["templates"]["clusterServiceTemplate"]
            .as_str()
            .and_then(service_template)
        {
            let select = scope(ns, name, Some(cluster), None);
            let svc_name = expand(
                t["generateName"]
                    .as_str()
                    .unwrap_or("cluster-{chi}-{cluster}"),
                ns,
                name,
                cluster,
                None,
            );
            out.push(service_from_template(
                &t,
                svc_name,
                ns,
                &owner,
                labels(&select, Some(chi), &[("Service", "cluster")]),
                labels(&select, None, &[("ready", "yes")]),
            ));
        }
    }
    // The installation's Service is reconciled first and the clusters' after it (0.19.0's
    // `reconcileCHIAuxObjectsPreliminary`, then `reconcileCluster`): where a cluster's Service
    // takes the installation's name (the vendor's chart names both `clickhouse-<release>`), the
    // cluster's is what stays.
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Value> = out
        .into_iter()
        .rev()
        .filter(|o| seen.insert((o["kind"].clone(), o["metadata"]["name"].clone())))
        .collect();
    kept.reverse();
    kept
}

/// Creates what every installation asks for and reports its progress in its status.
pub fn reconcile(store: &mut Store) {
    let chi_gr = gr(GROUP, "clickhouseinstallations");
    let sts_gr = gr("apps", "statefulsets");
    let chis: Vec<Value> = store
        .iter_gr(&chi_gr, None)
        .map(std::borrow::Cow::into_owned)
        .collect();
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
            match store.get_gr(&g, &ns, obj_name) {
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
                Some(live) => {
                    // The operator keeps its Services as their templates say (an upgrade that
                    // changes a template's type changes the Service).
                    let mut next = live.clone();
                    for field in ["type", "selector", "ports"] {
                        if !obj["spec"][field].is_null() {
                            next["spec"][field] = obj["spec"][field].clone();
                        }
                    }
                    next["metadata"]["labels"] = obj["metadata"]["labels"].clone();
                    if next != live {
                        store.put_raw(&g, &ns, obj_name, next);
                    }
                }
            }
        }
        let fqdns: Vec<String> = want
            .iter()
            .filter(|o| o["kind"] == "StatefulSet")
            .filter_map(|o| o["metadata"]["name"].as_str())
            .map(|h| format!("{h}.{ns}.svc.cluster.local"))
            .collect();
        let clusters = chi["spec"]["configuration"]["clusters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let layout = |k: &str| {
            clusters
                .iter()
                .map(|c| c["layout"][k].as_u64().unwrap_or(1))
                .collect::<Vec<_>>()
        };
        let shards: u64 = layout("shardsCount").iter().sum();
        let status = json!({
            "status": if hosts > 0 && ready == hosts { "Completed" } else { "InProgress" },
            "hosts": hosts, "hostsCompleted": ready,
            "clusters": clusters.len(),
            "shards": shards,
            "replicas": layout("replicasCount").iter().max().copied().unwrap_or(1),
            "endpoint": format!("clickhouse-{name}.{ns}.svc.cluster.local"),
            "fqdns": fqdns,
            "pods": want.iter().filter(|o| o["kind"] == "StatefulSet")
                .filter_map(|o| o["metadata"]["name"].as_str()).map(|h| format!("{h}-0")).collect::<Vec<_>>(),
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

    /// The vendor chart's installation (30.46.0's shape): a cluster service template with a
    /// `generateName` and a type, no root service template.
    fn vendors() -> Value {
        json!({"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation",
            "metadata": {"name": "posthog", "namespace": "ph", "uid": "u1"},
            "spec": {"configuration": {"clusters": [{"name": "posthog",
                        "layout": {"shardsCount": 1, "replicasCount": 1},
                        "templates": {"podTemplate": "pod-template",
                                      "clusterServiceTemplate": "service-template"}}]},
                     "templates": {"podTemplates": [{"name": "pod-template", "spec": {"containers": [{"name": "clickhouse", "image": "clickhouse/clickhouse-server:23.9"}]}}],
                                   "serviceTemplates": [{"name": "service-template",
                                        "generateName": "clickhouse-posthog",
                                        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 8123}, {"name": "tcp", "port": 9000}]}}]}}})
    }

    fn object<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
        objs.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {objs:#?}"))
    }

    #[test]
    fn objects_carry_the_operators_labels_per_scope() {
        let objs = desired(&vendors());
        let sts = object(&objs, "StatefulSet", "chi-posthog-posthog-0-0");
        for (k, v) in [
            ("namespace", "ph"),
            ("app", "chop"),
            ("chi", "posthog"),
            ("cluster", "posthog"),
            ("shard", "0"),
            ("replica", "0"),
        ] {
            let key = format!("clickhouse.altinity.com/{k}");
            assert_eq!(sts["metadata"]["labels"][&key], v, "{key}");
            assert_eq!(sts["spec"]["selector"]["matchLabels"][&key], v, "{key}");
            assert_eq!(
                sts["spec"]["template"]["metadata"]["labels"][&key], v,
                "{key}"
            );
        }
        // Pods are labelled ready; the selector does not ask for it.
        assert_eq!(
            sts["spec"]["template"]["metadata"]["labels"]["clickhouse.altinity.com/ready"],
            "yes"
        );
        assert!(sts["spec"]["selector"]["matchLabels"]["clickhouse.altinity.com/ready"].is_null());
        let service_kind = |name: &str| {
            object(&objs, "Service", name)["metadata"]["labels"]["clickhouse.altinity.com/Service"]
                .clone()
        };
        // The vendor's cluster Service takes the installation's name; it is the one that stays.
        assert_eq!(service_kind("clickhouse-posthog"), "cluster");
        assert_eq!(service_kind("chi-posthog-posthog-0-0"), "host");
        let services = objs.iter().filter(|o| o["kind"] == "Service").count();
        assert_eq!(services, 2, "one object per name");
    }

    #[test]
    fn each_service_gets_its_own_templates_type_and_name() {
        let objs = desired(&vendors());
        // The cluster's template: its generateName and type, selecting the cluster's ready pods.
        let cluster = object(&objs, "Service", "clickhouse-posthog");
        assert_eq!(cluster["spec"]["type"], "LoadBalancer");
        assert_eq!(
            cluster["spec"]["selector"]["clickhouse.altinity.com/cluster"],
            "posthog"
        );
        assert_eq!(
            cluster["spec"]["selector"]["clickhouse.altinity.com/ready"],
            "yes"
        );
        // Under another name, the installation's own Service is the operator's default:
        // headless.
        let mut renamed = vendors();
        renamed["spec"]["templates"]["serviceTemplates"][0]["generateName"] = json!("ch-{cluster}");
        let objs2 = desired(&renamed);
        let root = object(&objs2, "Service", "clickhouse-posthog");
        assert_eq!(root["spec"]["clusterIP"], "None");
        assert_eq!(root["spec"]["type"], "ClusterIP");
        assert_eq!(
            root["metadata"]["labels"]["clickhouse.altinity.com/Service"],
            "chi"
        );
        assert_eq!(
            object(&objs2, "Service", "ch-posthog")["spec"]["type"],
            "LoadBalancer"
        );
        // A host's: headless, publishing not-ready addresses.
        let host = object(&objs, "Service", "chi-posthog-posthog-0-0");
        assert_eq!(host["spec"]["publishNotReadyAddresses"], true);
        // Named as a root template, the same template makes the installation's Service.
        let mut chi = vendors();
        chi["spec"]["defaults"] = json!({"templates": {"serviceTemplate": "service-template"}});
        chi["spec"]["configuration"]["clusters"][0]["templates"]
            .as_object_mut()
            .unwrap()
            .remove("clusterServiceTemplate");
        chi["spec"]["templates"]["serviceTemplates"][0]["generateName"] = json!("ch-{chi}");
        let objs = desired(&chi);
        let root = object(&objs, "Service", "ch-posthog");
        assert_eq!(root["spec"]["type"], "LoadBalancer");
        assert_eq!(
            root["metadata"]["labels"]["clickhouse.altinity.com/Service"],
            "chi"
        );
        assert!(
            !objs
                .iter()
                .any(|o| o["metadata"]["name"] == "clickhouse-posthog")
        );
    }
}
