//! Controllers that make workloads behave: deployments roll out through replica sets,
//! stateful sets create ordered pods and their claims, jobs run pods to completion, claims
//! bind to provisioned volumes, services get endpoints, and a scheduler plus a kubelet move
//! pods through Pending → ContainerCreating → Running → Ready on a scaled clock.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::SimState;
use super::scenario::Scenario;
use super::selectors::LabelSelector;
use super::store::{Gr, Store, WriteOpts, now_rfc3339};

fn gr(group: &str, plural: &str) -> Gr {
    (group.to_string(), plural.to_string())
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn ns_of(v: &Value) -> String {
    v["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn uid_of(v: &Value) -> String {
    v["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn owned_by(v: &Value, uid: &str) -> bool {
    v["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|r| r.iter().any(|o| o["uid"] == uid && o["controller"] == true))
}

fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    })
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn is_terminal(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

fn hash_of(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    let h = s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    // Pod-template hashes use a safe alphabet, like the real ones.
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = h;
    (0..10)
        .map(|_| {
            let c = ALPHA[(n % ALPHA.len() as u64) as usize] as char;
            n /= ALPHA.len() as u64;
            c
        })
        .collect()
}

fn suffix(seed: &str, n: u64) -> String {
    hash_of(&json!([seed, n]))[..5].to_string()
}

/// `25%` or `1` against a total; percentages round up for surge, down for unavailable.
fn int_or_percent(v: &Value, total: i64, round_up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) if s.ends_with('%') => {
            let p: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
            let x = p * total as f64 / 100.0;
            if round_up {
                x.ceil() as i64
            } else {
                x.floor() as i64
            }
        }
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// What the kubelet remembers about a pod between reconciles.
#[derive(Debug, Clone)]
pub struct PodClock {
    pub scheduled: Instant,
    pub running: Option<Instant>,
    pub last_crash: Option<Instant>,
}

/// Controller state kept outside the API objects.
#[derive(Default)]
pub struct ControllerState {
    pub clocks: HashMap<String, PodClock>,
    pub next_pod_ip: u32,
    pub warned: HashSet<String>,
    /// Pods that reached Ready and have nothing left to do (skipped until they change).
    pub steady: HashSet<String>,
    /// Earliest time a pod will change on its own; the loop sleeps until then.
    pub next_wake: Option<Instant>,
    /// The Endpoints this controller made (namespace, name): removed with their Service, as
    /// the endpoints controller does; Endpoints a user wrote are never touched.
    pub endpoints: HashSet<(String, String)>,
}

impl ControllerState {
    fn wake_at(&mut self, t: Instant) {
        self.next_wake = Some(self.next_wake.map_or(t, |w| w.min(t)));
    }
}

/// Runs every controller once over the current state.
pub fn reconcile(state: &SimState, cs: &mut ControllerState) {
    let Ok(mut store) = state.store.lock() else {
        return;
    };
    cs.next_wake = None;
    let scenarios = &state.options.scenarios;
    crate::clickhouse::reconcile(&mut store);
    deployments(&mut store);
    replicasets(&mut store);
    statefulsets(&mut store);
    daemonsets(&mut store);
    jobs(&mut store);
    claims(&mut store);
    schedule(&mut store, cs);
    kubelet(&mut store, cs, state, scenarios);
    jobs(&mut store);
    replicasets(&mut store);
    deployments(&mut store);
    statefulsets(&mut store);
    daemonsets(&mut store);
    services(&mut store, cs);
    ingresses(&mut store);
}

fn list(store: &Store, g: &Gr) -> Vec<Value> {
    store.iter_gr(g, None).cloned().collect()
}

fn pods_owned(store: &Store, ns: &str, uid: &str) -> Vec<Value> {
    store
        .iter_gr(&gr("", "pods"), Some(ns))
        .filter(|p| owned_by(p, uid))
        .cloned()
        .collect()
}

/// A StatefulSet adopts the pods its selector matches that no controller owns and whose names
/// are its ordinals, as the real controller claims orphans (after `delete --cascade=orphan`
/// and a re-create, the pods and their claims carry on under the new StatefulSet).
fn adopt_orphans(store: &mut Store, s: &Value) {
    let (ns, name, uid) = (ns_of(s), name_of(s), uid_of(s));
    let Some(selector) = s["spec"]["selector"]["matchLabels"].as_object().cloned() else {
        return;
    };
    let pods_gr = gr("", "pods");
    let orphans: Vec<Value> = store
        .iter_gr(&pods_gr, Some(&ns))
        .filter(|p| {
            let free = !p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["controller"] == true));
            let matches = selector
                .iter()
                .all(|(k, v)| &p["metadata"]["labels"][k] == v);
            let ordinal = name_of(p)
                .strip_prefix(&format!("{name}-"))
                .is_some_and(|o| o.parse::<u32>().is_ok());
            free && matches && ordinal && p["metadata"]["deletionTimestamp"].is_null()
        })
        .cloned()
        .collect();
    for mut p in orphans {
        let pname = name_of(&p);
        let owner = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name,
            "uid": uid, "controller": true, "blockOwnerDeletion": true});
        match p["metadata"]["ownerReferences"].as_array_mut() {
            Some(refs) => refs.push(owner),
            None => p["metadata"]["ownerReferences"] = json!([owner]),
        }
        store.put_raw(&pods_gr, &ns, &pname, p);
    }
}

fn template_without_hash(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
    }
    t
}

fn deployments(store: &mut Store) {
    let rs_gr = gr("apps", "replicasets");
    for d in list(store, &gr("apps", "deployments")) {
        if !d["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let (ns, name, uid) = (ns_of(&d), name_of(&d), uid_of(&d));
        let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let template = d["spec"]["template"].clone();
        let hash = hash_of(&template_without_hash(&template));
        let owned: Vec<Value> = store
            .iter_gr(&rs_gr, Some(&ns))
            .filter(|r| owned_by(r, &uid))
            .cloned()
            .collect();
        let mut new_rs = owned
            .iter()
            .find(|r| {
                template_without_hash(&r["spec"]["template"]) == template_without_hash(&template)
            })
            .cloned();
        let revision = owned
            .iter()
            .filter_map(|r| {
                r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()?
                    .parse::<i64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        let recreate = d["spec"]["strategy"]["type"] == "Recreate";
        let surge = if recreate {
            0
        } else {
            int_or_percent(
                &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
                desired,
                true,
            )
        };
        let mut unavailable = if recreate {
            desired
        } else {
            int_or_percent(
                &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
                desired,
                false,
            )
        };
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        let olds: Vec<Value> = owned
            .iter()
            .filter(|r| new_rs.as_ref().is_none_or(|n| uid_of(n) != uid_of(r)))
            .cloned()
            .collect();
        let old_total: i64 = olds
            .iter()
            .map(|r| r["spec"]["replicas"].as_i64().unwrap_or(0))
            .sum();
        if new_rs.is_none() {
            let rs_name = format!("{name}-{}", &hash[..10]);
            let mut t = template.clone();
            t["metadata"]["labels"]["pod-template-hash"] = json!(&hash[..10]);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(&hash[..10]);
            let start = if recreate {
                if old_total > 0 { 0 } else { desired }
            } else {
                (desired + surge - old_total).clamp(0, desired)
            };
            let mut labels = t["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            let rs = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns, "labels": labels,
                    "annotations": {"deployment.kubernetes.io/revision": (revision + 1).to_string(),
                                    "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                                    "deployment.kubernetes.io/max-replicas": (desired + surge).to_string()},
                    "ownerReferences": [owner_ref(&d)]},
                "spec": {"replicas": start, "selector": selector, "template": t,
                         "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0)},
            });
            match store.create_system(("apps/v1", "ReplicaSet"), &ns, rs) {
                Ok(created) => {
                    store.record_event(
                        &d,
                        "Normal",
                        "ScalingReplicaSet",
                        &format!(
                            "Scaled up replica set {} from 0 to {start}",
                            name_of(&created)
                        ),
                    );
                    new_rs = Some(created);
                }
                Err(_) => continue,
            }
        }
        let Some(new_rs) = new_rs else { continue };
        let new_name = name_of(&new_rs);
        let new_spec = new_rs["spec"]["replicas"].as_i64().unwrap_or(0);
        let new_available = new_rs["status"]["availableReplicas"].as_i64().unwrap_or(0);
        // Scale up the new replica set within maxSurge.
        let target_new = if recreate {
            if old_total > 0
                || olds
                    .iter()
                    .any(|r| r["status"]["replicas"].as_i64().unwrap_or(0) > 0)
            {
                0
            } else {
                desired
            }
        } else {
            let allowed = desired + surge - old_total - new_spec;
            (new_spec + allowed.max(0))
                .min(desired)
                .max(if new_spec > desired {
                    desired
                } else {
                    new_spec.min(desired)
                })
        };
        if target_new != new_spec {
            let mut r = new_rs.clone();
            r["spec"]["replicas"] = json!(target_new);
            r["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                json!(desired.to_string());
            let updated = store.put_raw(&rs_gr, &ns, &new_name, r);
            let verb = if target_new > new_spec { "up" } else { "down" };
            store.record_event(
                &d,
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled {verb} replica set {new_name} from {new_spec} to {target_new}"),
            );
            let _ = updated;
        }
        // Scale down old replica sets as far as availability allows.
        let old_available: i64 = olds
            .iter()
            .map(|r| r["status"]["availableReplicas"].as_i64().unwrap_or(0))
            .sum();
        let min_available = desired - unavailable;
        let mut can_remove = if recreate {
            old_total
        } else {
            (old_available + new_available - min_available).max(0)
        };
        for old in &olds {
            let spec = old["spec"]["replicas"].as_i64().unwrap_or(0);
            if spec == 0 || can_remove == 0 {
                continue;
            }
            // Old pods that are not available can always go.
            let unavailable_old = spec - old["status"]["availableReplicas"].as_i64().unwrap_or(0);
            let cut = (can_remove + unavailable_old.max(0)).min(spec);
            let mut r = old.clone();
            r["spec"]["replicas"] = json!(spec - cut);
            store.put_raw(&rs_gr, &ns, &name_of(old), r);
            store.record_event(
                &d,
                "Normal",
                "ScalingReplicaSet",
                &format!(
                    "Scaled down replica set {} from {spec} to {}",
                    name_of(old),
                    spec - cut
                ),
            );
            can_remove -= cut.min(can_remove);
        }
        // Status from the replica sets.
        let all: Vec<Value> = store
            .iter_gr(&rs_gr, Some(&ns))
            .filter(|r| owned_by(r, &uid))
            .cloned()
            .collect();
        let sum = |f: &str| -> i64 {
            all.iter()
                .map(|r| r["status"][f].as_i64().unwrap_or(0))
                .sum()
        };
        let cur_new = all
            .iter()
            .find(|r| name_of(r) == new_name)
            .cloned()
            .unwrap_or(new_rs.clone());
        let updated = cur_new["status"]["replicas"].as_i64().unwrap_or(0);
        let (replicas, ready, available) = (
            sum("replicas"),
            sum("readyReplicas"),
            sum("availableReplicas"),
        );
        let old_left: i64 = all
            .iter()
            .filter(|r| name_of(r) != new_name)
            .map(|r| r["status"]["replicas"].as_i64().unwrap_or(0))
            .sum();
        let complete = updated >= desired
            && old_left == 0
            && cur_new["status"]["availableReplicas"].as_i64().unwrap_or(0) >= desired
            && replicas == desired;
        let old_conds = d["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let cond = |t: &str, status: &str, reason: &str, msg: String| {
            let prev = old_conds.iter().find(|c| c["type"] == t);
            let transition = match prev {
                Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
                _ => json!(now_rfc3339()),
            };
            let update = match prev {
                Some(p) if p["status"] == status && p["reason"] == reason => {
                    p["lastUpdateTime"].clone()
                }
                _ => json!(now_rfc3339()),
            };
            json!({"type": t, "status": status, "reason": reason, "message": msg, "lastTransitionTime": transition, "lastUpdateTime": update})
        };
        let available_ok = available >= desired - unavailable;
        let mut status = json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": available, "unavailableReplicas": (replicas - available).max(0),
            "conditions": [
                if available_ok {
                    cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into())
                } else {
                    cond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.".into())
                },
                if complete {
                    cond("Progressing", "True", "NewReplicaSetAvailable", format!("ReplicaSet \"{new_name}\" has successfully progressed."))
                } else {
                    cond("Progressing", "True", "ReplicaSetUpdated", format!("ReplicaSet \"{new_name}\" is progressing."))
                },
            ],
        });
        for k in [
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            "updatedReplicas",
        ] {
            if status[k] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(k);
            }
        }
        let rev = cur_new["metadata"]["annotations"]["deployment.kubernetes.io/revision"].clone();
        if d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] != rev {
            let mut nd = d.clone();
            nd["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = rev;
            store.put_raw(&gr("apps", "deployments"), &ns, &name, nd);
        }
        store.set_status(&gr("apps", "deployments"), &ns, &name, status);
    }
}

fn new_pod_from_template(owner: &Value, template: &Value, name: String, ns: &str) -> Value {
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(name);
    meta["namespace"] = json!(ns);
    meta["ownerReferences"] = json!([owner_ref(owner)]);
    if let Some(m) = meta.as_object_mut() {
        m.remove("creationTimestamp");
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]})
}

fn replicasets(store: &mut Store) {
    let rs_gr = gr("apps", "replicasets");
    for rs in list(store, &rs_gr) {
        let (ns, name, uid) = (ns_of(&rs), name_of(&rs), uid_of(&rs));
        let want = rs["spec"]["replicas"].as_i64().unwrap_or(1);
        let mut pods: Vec<Value> = pods_owned(store, &ns, &uid)
            .into_iter()
            .filter(|p| !is_terminal(p))
            .collect();
        let mut n = pods.len() as i64;
        let mut seq = 0u64;
        while n < want {
            seq += 1;
            let pod_name = format!("{name}-{}", suffix(&uid, store.current_rv() + seq));
            let pod = new_pod_from_template(&rs, &rs["spec"]["template"], pod_name.clone(), &ns);
            if store.create_system(("v1", "Pod"), &ns, pod).is_ok() {
                store.record_event(
                    &rs,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {pod_name}"),
                );
                n += 1;
            } else {
                break;
            }
        }
        if n > want {
            // Remove not-ready pods first, then the newest.
            pods.sort_by_key(|p| {
                (
                    is_ready(p),
                    std::cmp::Reverse(
                        p["metadata"]["creationTimestamp"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    ),
                )
            });
            for p in pods.iter().take((n - want) as usize) {
                store.delete_system(("v1", "Pod"), &ns, &name_of(p));
                store.record_event(
                    &rs,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", name_of(p)),
                );
            }
        }
        let pods: Vec<Value> = pods_owned(store, &ns, &uid)
            .into_iter()
            .filter(|p| !is_terminal(p))
            .collect();
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let mut status = json!({
            "replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"],
        });
        for k in ["readyReplicas", "availableReplicas", "fullyLabeledReplicas"] {
            if status[k] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(k);
            }
        }
        store.set_status(&rs_gr, &ns, &name, status);
    }
}

/// The ControllerRevision of a StatefulSet's or DaemonSet's current template, as their
/// controllers keep one per template (what `kubectl rollout history` and `undo` read): named
/// after the hash, labelled like the pods, numbered after the owner's newest.
fn record_revision(store: &mut Store, owner: &Value, name: &str) {
    let ns = ns_of(owner);
    let cr_gr = gr("apps", "controllerrevisions");
    if store.get_gr(&cr_gr, &ns, name).is_some() {
        return;
    }
    let uid = uid_of(owner);
    let newest = store
        .iter_gr(&cr_gr, Some(&ns))
        .filter(|c| owned_by(c, &uid))
        .filter_map(|c| c["revision"].as_i64())
        .max()
        .unwrap_or(0);
    let mut labels = owner["spec"]["template"]["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    let hash = name.rsplit('-').next().unwrap_or(name);
    labels["controller-revision-hash"] = json!(hash);
    let mut template = owner["spec"]["template"].clone();
    template["$patch"] = json!("replace");
    let cr = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": [owner_ref(owner)]},
        "data": {"spec": {"template": template}}, "revision": newest + 1});
    let _ = store.create_system(("apps/v1", "ControllerRevision"), &ns, cr);
}

fn statefulsets(store: &mut Store) {
    let sts_gr = gr("apps", "statefulsets");
    for s in list(store, &sts_gr) {
        if !s["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let (ns, name, uid) = (ns_of(&s), name_of(&s), uid_of(&s));
        let want = s["spec"]["replicas"].as_i64().unwrap_or(1);
        let revision = format!("{name}-{}", &hash_of(&s["spec"]["template"])[..10]);
        record_revision(store, &s, &revision);
        adopt_orphans(store, &s);
        let parallel = s["spec"]["podManagementPolicy"] == "Parallel";
        let pods = pods_owned(store, &ns, &uid);
        let by_ord: HashMap<i64, Value> = pods
            .iter()
            .filter_map(|p| {
                let n = name_of(p);
                let ord: i64 = n.rsplit('-').next()?.parse().ok()?;
                Some((ord, p.clone()))
            })
            .collect();
        // Claims for every ordinal, from the templates.
        for i in 0..want {
            if let Some(vcts) = s["spec"]["volumeClaimTemplates"].as_array() {
                for t in vcts {
                    let claim = format!("{}-{name}-{i}", name_of(t));
                    if store
                        .get_gr(&gr("", "persistentvolumeclaims"), &ns, &claim)
                        .is_none()
                    {
                        let mut labels = t["metadata"]["labels"].clone();
                        if !labels.is_object() {
                            labels = json!({});
                        }
                        for (k, v) in s["spec"]["selector"]["matchLabels"]
                            .as_object()
                            .cloned()
                            .unwrap_or_default()
                        {
                            labels[k] = v;
                        }
                        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                            "metadata": {"name": claim, "namespace": ns, "labels": labels},
                            "spec": t["spec"]});
                        if store
                            .create_system(("v1", "PersistentVolumeClaim"), &ns, pvc)
                            .is_ok()
                        {
                            store.record_event(&s, "Normal", "SuccessfulCreate", &format!("create Claim {claim} Pod {name}-{i} in StatefulSet {name} success"));
                        }
                    }
                }
            }
        }
        // Create missing pods in order (or all at once when Parallel).
        for i in 0..want {
            if by_ord.contains_key(&i) {
                continue;
            }
            let predecessors_ready = (0..i).all(|j| by_ord.get(&j).is_some_and(is_ready));
            if !parallel && !predecessors_ready {
                break;
            }
            let pod_name = format!("{name}-{i}");
            let mut pod = new_pod_from_template(&s, &s["spec"]["template"], pod_name.clone(), &ns);
            pod["metadata"]["labels"]["controller-revision-hash"] = json!(revision);
            pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
            pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] = json!(i.to_string());
            pod["spec"]["hostname"] = json!(pod_name);
            pod["spec"]["subdomain"] = s["spec"]["serviceName"].clone();
            let mut volumes = pod["spec"]["volumes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for t in s["spec"]["volumeClaimTemplates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let vname = name_of(&t);
                volumes.retain(|v| v["name"] != vname.as_str());
                volumes.push(json!({"name": vname, "persistentVolumeClaim": {"claimName": format!("{vname}-{name}-{i}")}}));
            }
            if !volumes.is_empty() {
                pod["spec"]["volumes"] = Value::Array(volumes);
            }
            if store.create_system(("v1", "Pod"), &ns, pod).is_ok() {
                store.record_event(
                    &s,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("create Pod {pod_name} in StatefulSet {name} successful"),
                );
            }
            if !parallel {
                break;
            }
        }
        // Scale down from the highest ordinal; roll updates from the highest ordinal too.
        let partition = s["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
            .as_i64()
            .unwrap_or(0);
        let rolling = s["spec"]["updateStrategy"]["type"] != "OnDelete";
        let pods = pods_owned(store, &ns, &uid);
        let all_ready = pods.iter().all(is_ready) && pods.len() as i64 >= want;
        let mut ords: Vec<(i64, Value)> = pods
            .iter()
            .filter_map(|p| {
                Some((
                    name_of(p).rsplit('-').next()?.parse::<i64>().ok()?,
                    p.clone(),
                ))
            })
            .collect();
        ords.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
        for (ord, p) in &ords {
            if *ord >= want {
                store.delete_system(("v1", "Pod"), &ns, &name_of(p));
                store.record_event(
                    &s,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("delete Pod {} in StatefulSet {name} successful", name_of(p)),
                );
                break;
            }
        }
        if rolling
            && all_ready
            && let Some((_, p)) = ords.iter().find(|(o, p)| {
                *o >= partition
                    && *o < want
                    && p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str()
            })
        {
            store.delete_system(("v1", "Pod"), &ns, &name_of(p));
            store.record_event(
                &s,
                "Normal",
                "SuccessfulDelete",
                &format!("delete Pod {} in StatefulSet {name} successful", name_of(p)),
            );
        }
        let pods = pods_owned(store, &ns, &uid);
        let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
        let updated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
            .count() as i64;
        let current_rev = if updated >= want && pods.len() as i64 == want {
            revision.clone()
        } else {
            s["status"]["currentRevision"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| revision.clone())
        };
        let current = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == current_rev.as_str())
            .count() as i64;
        let mut status = json!({
            "observedGeneration": s["metadata"]["generation"], "replicas": pods.len(),
            "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": current,
            "updatedReplicas": updated, "currentRevision": current_rev, "updateRevision": revision,
            "collisionCount": 0,
        });
        for k in [
            "readyReplicas",
            "availableReplicas",
            "currentReplicas",
            "updatedReplicas",
        ] {
            if status[k] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(k);
            }
        }
        store.set_status(&sts_gr, &ns, &name, status);
    }
}

fn daemonsets(store: &mut Store) {
    let ds_gr = gr("apps", "daemonsets");
    let nodes: Vec<String> = store.iter_gr(&gr("", "nodes"), None).map(name_of).collect();
    for d in list(store, &ds_gr) {
        let (ns, name, uid) = (ns_of(&d), name_of(&d), uid_of(&d));
        let revision = hash_of(&d["spec"]["template"])[..10].to_string();
        record_revision(store, &d, &format!("{name}-{revision}"));
        let pods = pods_owned(store, &ns, &uid);
        for node in &nodes {
            let on_node: Vec<&Value> = pods
                .iter()
                .filter(|p| p["spec"]["nodeName"] == node.as_str())
                .collect();
            if on_node.is_empty() {
                let pod_name = format!("{name}-{}", suffix(&uid, store.current_rv()));
                let mut pod =
                    new_pod_from_template(&d, &d["spec"]["template"], pod_name.clone(), &ns);
                pod["spec"]["nodeName"] = json!(node);
                pod["metadata"]["labels"]["controller-revision-hash"] = json!(revision);
                if store.create_system(("v1", "Pod"), &ns, pod).is_ok() {
                    store.record_event(
                        &d,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created pod: {pod_name}"),
                    );
                }
            } else if let Some(old) = on_node
                .iter()
                .find(|p| p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str())
            {
                store.delete_system(("v1", "Pod"), &ns, &name_of(old));
            }
        }
        let pods = pods_owned(store, &ns, &uid);
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let updated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
            .count();
        let status = json!({
            "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": pods.len(),
            "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
            "numberMisscheduled": 0, "observedGeneration": d["metadata"]["generation"],
            "numberUnavailable": nodes.len().saturating_sub(ready),
        });
        store.set_status(&ds_gr, &ns, &name, status);
    }
}

fn jobs(store: &mut Store) {
    let job_gr = gr("batch", "jobs");
    for j in list(store, &job_gr) {
        let (ns, name, uid) = (ns_of(&j), name_of(&j), uid_of(&j));
        let conds = j["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let finished = conds
            .iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True");
        if finished || j["spec"]["suspend"] == true {
            continue;
        }
        let completions = j["spec"]["completions"].as_i64().unwrap_or(1);
        let parallelism = j["spec"]["parallelism"].as_i64().unwrap_or(1);
        let backoff = j["spec"]["backoffLimit"].as_i64().unwrap_or(6);
        let pods = pods_owned(store, &ns, &uid);
        let succeeded = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .count() as i64;
        let failed = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Failed")
            .count() as i64;
        let active = pods.iter().filter(|p| !is_terminal(p)).count() as i64;
        let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
        let start = j["status"]["startTime"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(now_rfc3339);
        let now = now_rfc3339();
        let mut status = json!({"startTime": start, "active": active, "succeeded": succeeded, "failed": failed,
                                "ready": ready, "terminating": 0, "uncountedTerminatedPods": {}});
        if succeeded >= completions {
            status["completionTime"] = json!(now);
            status["active"] = json!(0);
            status["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
            ]);
            store.record_event(&j, "Normal", "Completed", "Job completed");
            // What the job's program made, for the well-known helpers charts run as hooks.
            for (manager, out) in super::workload::job_outputs(&j) {
                if let Some(t) = store.type_for_kind("v1", "Secret") {
                    let opts = WriteOpts {
                        field_manager: Some(manager.into()),
                        ..Default::default()
                    };
                    let _ = store.create(&t, &ns, out, &opts);
                }
            }
        } else if failed > backoff {
            status["active"] = json!(0);
            status["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
            ]);
            for p in pods.iter().filter(|p| !is_terminal(p)) {
                store.delete_system(("v1", "Pod"), &ns, &name_of(p));
            }
            store.record_event(
                &j,
                "Warning",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            );
        } else if active < parallelism && succeeded + active < completions {
            let pod_name = format!(
                "{name}-{}",
                suffix(
                    &uid,
                    (succeeded + failed + active) as u64 + store.current_rv()
                )
            );
            let pod = new_pod_from_template(&j, &j["spec"]["template"], pod_name.clone(), &ns);
            if store.create_system(("v1", "Pod"), &ns, pod).is_ok() {
                store.record_event(
                    &j,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {pod_name}"),
                );
                status["active"] = json!(active + 1);
            }
        }
        store.set_status(&job_gr, &ns, &name, status);
    }
}

fn default_class(store: &Store) -> Option<Value> {
    store
        .iter_gr(&gr("storage.k8s.io", "storageclasses"), None)
        .find(|sc| {
            sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        })
        .cloned()
}

fn claims(store: &mut Store) {
    let pvc_gr = gr("", "persistentvolumeclaims");
    let pv_gr = gr("", "persistentvolumes");
    for pvc in list(store, &pvc_gr) {
        let (ns, name) = (ns_of(&pvc), name_of(&pvc));
        let request = pvc["spec"]["resources"]["requests"]["storage"].clone();
        if pvc["status"]["phase"] == "Bound" {
            // Expansion: grow the volume when the class allows it.
            if pvc["status"]["capacity"]["storage"] != request {
                let class = pvc["spec"]["storageClassName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let sc = store
                    .get_gr(&gr("storage.k8s.io", "storageclasses"), "", &class)
                    .cloned();
                let bigger = crate::quantity::milli(request.as_str().unwrap_or("0")).unwrap_or(0)
                    > crate::quantity::milli(
                        pvc["status"]["capacity"]["storage"].as_str().unwrap_or("0"),
                    )
                    .unwrap_or(0);
                if bigger && sc.is_some_and(|sc| sc["allowVolumeExpansion"] == true) {
                    let pending = pvc["status"]["conditions"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["type"] == "FileSystemResizePending"));
                    let mut st = pvc["status"].clone();
                    if !pending {
                        // First the volume grows; the file system follows on the node.
                        let pv_name = pvc["spec"]["volumeName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        if let Some(mut pv) = store.get_gr(&pv_gr, "", &pv_name).cloned() {
                            pv["spec"]["capacity"]["storage"] = request.clone();
                            store.put_raw(&pv_gr, "", &pv_name, pv);
                        }
                        st["conditions"] = json!([{"type": "FileSystemResizePending", "status": "True",
                            "lastProbeTime": null, "lastTransitionTime": now_rfc3339(),
                            "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node."}]);
                        store.set_status(&pvc_gr, &ns, &name, st);
                        store.record_event(
                            &pvc,
                            "Normal",
                            "ExternalExpanding",
                            "waiting for an external controller to expand this PVC",
                        );
                    } else {
                        st["capacity"]["storage"] = request.clone();
                        if let Some(m) = st.as_object_mut() {
                            m.remove("conditions");
                        }
                        store.set_status(&pvc_gr, &ns, &name, st);
                        store.record_event(
                            &pvc,
                            "Normal",
                            "FileSystemResizeSuccessful",
                            "MountVolume.NodeExpandVolume succeeded",
                        );
                    }
                }
            }
            continue;
        }
        // Static binding, the PV controller's first resort: a claim that names its volume, or
        // asks for no class (""), binds to an existing volume that is free (or already
        // reserved for it) and big enough; "" never provisions a new one.
        let wants = pvc["spec"]["volumeName"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        if wants.is_some() || pvc["spec"]["storageClassName"] == "" {
            let size = |q: &Value| crate::quantity::milli(q.as_str().unwrap_or("0")).unwrap_or(0);
            let class = pvc["spec"]["storageClassName"].as_str().unwrap_or("");
            let fits = |pv: &Value| {
                let cr = &pv["spec"]["claimRef"];
                let free =
                    cr.is_null() || (cr["name"] == name.as_str() && cr["namespace"] == ns.as_str());
                let class_ok = pv["spec"]["storageClassName"].as_str().unwrap_or("") == class;
                free && class_ok && size(&pv["spec"]["capacity"]["storage"]) >= size(&request)
            };
            let found = list(store, &pv_gr).into_iter().find(|pv| match &wants {
                Some(v) => name_of(pv) == *v && fits(pv),
                None => fits(pv) && pv["status"]["phase"] != "Bound",
            });
            let Some(mut pv) = found else {
                store.record_event(
                    &pvc,
                    "Normal",
                    "FailedBinding",
                    "no persistent volumes available for this claim and no storage class is set",
                );
                continue;
            };
            let pv_name = name_of(&pv);
            pv["spec"]["claimRef"] = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "name": name, "namespace": ns, "uid": pvc["metadata"]["uid"],
                "resourceVersion": pvc["metadata"]["resourceVersion"]});
            let capacity = pv["spec"]["capacity"]["storage"].clone();
            store.put_raw(&pv_gr, "", &pv_name, pv);
            store.set_status(&pv_gr, "", &pv_name, json!({"phase": "Bound"}));
            let mut bound = pvc.clone();
            bound["spec"]["volumeName"] = json!(pv_name);
            bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
            if wants.is_none() {
                bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] =
                    json!("yes");
            }
            bound["metadata"]["finalizers"] = json!(["kubernetes.io/pvc-protection"]);
            store.put_raw(&pvc_gr, &ns, &name, bound);
            store.set_status(&pvc_gr, &ns, &name, json!({"phase": "Bound", "accessModes": pvc["spec"]["accessModes"], "capacity": {"storage": capacity}}));
            continue;
        }
        let sc = match pvc["spec"]["storageClassName"].as_str() {
            Some(c) => store
                .get_gr(&gr("storage.k8s.io", "storageclasses"), "", c)
                .cloned(),
            None => default_class(store),
        };
        let Some(sc) = sc else {
            store.record_event(
                &pvc,
                "Normal",
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
            );
            continue;
        };
        if sc["volumeBindingMode"] == "WaitForFirstConsumer" {
            let used = store.iter_gr(&gr("", "pods"), Some(&ns)).any(|p| {
                !p["spec"]["nodeName"].is_null()
                    && p["spec"]["volumes"].as_array().is_some_and(|vs| {
                        vs.iter()
                            .any(|v| v["persistentVolumeClaim"]["claimName"] == name.as_str())
                    })
            });
            if !used {
                continue;
            }
        }
        let class_name = name_of(&sc);
        let pv_name = format!("pvc-{}", uid_of(&pvc));
        let provisioner = sc["provisioner"].as_str().unwrap_or_default().to_string();
        let mut attrs = sc["parameters"].clone();
        if !attrs.is_object() {
            attrs = json!({});
        }
        attrs["storage.kubernetes.io/csiProvisionerIdentity"] = json!(format!("sim-{provisioner}"));
        let pv = json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner},
                         "finalizers": ["kubernetes.io/pv-protection"]},
            "spec": {
                "capacity": {"storage": request},
                "accessModes": pvc["spec"]["accessModes"],
                "persistentVolumeReclaimPolicy": sc["reclaimPolicy"].as_str().unwrap_or("Delete"),
                "storageClassName": class_name,
                "volumeMode": pvc["spec"]["volumeMode"],
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name, "namespace": ns, "uid": pvc["metadata"]["uid"], "resourceVersion": pvc["metadata"]["resourceVersion"]},
                "csi": {"driver": provisioner, "volumeHandle": format!("vol-{}", &hash_of(&json!(pv_name))[..10]), "fsType": "ext4", "volumeAttributes": attrs},
            },
        });
        if store.get_gr(&pv_gr, "", &pv_name).is_none()
            && store
                .create_system(("v1", "PersistentVolume"), "", pv)
                .is_err()
        {
            continue;
        }
        store.set_status(&pv_gr, "", &pv_name, json!({"phase": "Bound"}));
        let mut bound = pvc.clone();
        bound["spec"]["volumeName"] = json!(pv_name);
        bound["spec"]["storageClassName"] = json!(class_name);
        bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
        bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        bound["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] =
            json!(provisioner);
        bound["metadata"]["finalizers"] = json!(["kubernetes.io/pvc-protection"]);
        store.put_raw(&pvc_gr, &ns, &name, bound);
        store.set_status(&pvc_gr, &ns, &name, json!({"phase": "Bound", "accessModes": pvc["spec"]["accessModes"], "capacity": {"storage": request}}));
        store.record_event(
            &pvc,
            "Normal",
            "ProvisioningSucceeded",
            &format!("Successfully provisioned volume {pv_name}"),
        );
    }
    // Claims deleted while bound: the volume goes per its reclaim policy.
    for pv in list(store, &pv_gr) {
        let cr = &pv["spec"]["claimRef"];
        if cr.is_null() || pv["status"]["phase"] != "Bound" {
            continue;
        }
        let exists = store
            .get_gr(
                &pvc_gr,
                cr["namespace"].as_str().unwrap_or_default(),
                cr["name"].as_str().unwrap_or_default(),
            )
            .is_some();
        if !exists {
            let pv_name = name_of(&pv);
            if pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" {
                let mut p = pv.clone();
                p["metadata"]["finalizers"] = json!([]);
                store.put_raw(&pv_gr, "", &pv_name, p);
                store.delete_system(("v1", "PersistentVolume"), "", &pv_name);
            } else {
                store.set_status(&pv_gr, "", &pv_name, json!({"phase": "Released"}));
            }
        }
    }
    // Claims being deleted lose their protection finalizer once no pod uses them.
    for pvc in list(store, &pvc_gr) {
        if pvc["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let (ns, name) = (ns_of(&pvc), name_of(&pvc));
        let used = store.iter_gr(&gr("", "pods"), Some(&ns)).any(|p| {
            p["spec"]["volumes"].as_array().is_some_and(|vs| {
                vs.iter()
                    .any(|v| v["persistentVolumeClaim"]["claimName"] == name.as_str())
            })
        });
        if !used && let Some(rt) = store.type_for_kind("v1", "PersistentVolumeClaim") {
            let mut p = pvc.clone();
            p["metadata"]["finalizers"] = json!([]);
            let _ = store.update(&rt, &ns, &name, p, false, &Default::default());
        }
    }
}

/// A quantity in whole units (cores, bytes) for the scheduler's sums.
fn units(q: &str) -> Option<f64> {
    crate::quantity::milli(q).map(|m| m as f64 / 1000.0)
}

fn requests(pod: &Value) -> (f64, f64) {
    let mut cpu = 0.0;
    let mut mem = 0.0;
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let r = &c["resources"]["requests"];
        cpu += r["cpu"].as_str().and_then(units).unwrap_or(0.0);
        mem += r["memory"].as_str().and_then(units).unwrap_or(0.0);
    }
    (cpu, mem)
}

fn schedule(store: &mut Store, cs: &mut ControllerState) {
    let pods_gr = gr("", "pods");
    let pending: Vec<Value> = store
        .iter_gr(&pods_gr, None)
        .filter(|p| p["spec"]["nodeName"].is_null() || p["spec"]["nodeName"] == "")
        .cloned()
        .collect();
    if pending.is_empty() {
        return;
    }
    let nodes: Vec<Value> = store.iter_gr(&gr("", "nodes"), None).cloned().collect();
    let mut used: HashMap<String, (f64, f64)> = HashMap::new();
    for p in store.iter_gr(&pods_gr, None) {
        if let Some(n) = p["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())
            && !is_terminal(p)
        {
            let (c, m) = requests(p);
            let e = used.entry(n.to_string()).or_default();
            e.0 += c;
            e.1 += m;
        }
    }
    for pod in pending {
        let (ns, name) = (ns_of(&pod), name_of(&pod));
        let (cpu, mem) = requests(&pod);
        let mut fits = Vec::new();
        let (mut no_cpu, mut no_mem) = (0, 0);
        for n in &nodes {
            if n["spec"]["unschedulable"] == true {
                continue;
            }
            let alloc = &n["status"]["allocatable"];
            let acpu = alloc["cpu"].as_str().and_then(units).unwrap_or(0.0);
            let amem = alloc["memory"].as_str().and_then(units).unwrap_or(0.0);
            let u = used.get(&name_of(n)).copied().unwrap_or_default();
            let cpu_ok = u.0 + cpu <= acpu + 1e-9;
            let mem_ok = u.1 + mem <= amem + 1.0;
            if !cpu_ok {
                no_cpu += 1;
            }
            if !mem_ok {
                no_mem += 1;
            }
            if cpu_ok && mem_ok {
                fits.push((name_of(n), acpu - u.0));
            }
        }
        // Least-allocated first, like the default scoring.
        fits.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        match fits.first() {
            Some((node, _)) => {
                let e = used.entry(node.clone()).or_default();
                e.0 += cpu;
                e.1 += mem;
                let mut p = pod.clone();
                p["spec"]["nodeName"] = json!(node);
                let p = store.put_raw(&pods_gr, &ns, &name, p);
                let mut st = p["status"].clone();
                st["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}]);
                store.set_status(&pods_gr, &ns, &name, st);
                store.record_event(
                    &p,
                    "Normal",
                    "Scheduled",
                    &format!("Successfully assigned {ns}/{name} to {node}"),
                );
                cs.clocks.insert(
                    uid_of(&p),
                    PodClock {
                        scheduled: Instant::now(),
                        running: None,
                        last_crash: None,
                    },
                );
            }
            None => {
                let key = format!("unsched/{}", uid_of(&pod));
                let mut reasons = Vec::new();
                if no_cpu > 0 {
                    reasons.push(format!("{no_cpu} Insufficient cpu"));
                }
                if no_mem > 0 {
                    reasons.push(format!("{no_mem} Insufficient memory"));
                }
                let msg = format!(
                    "0/{} nodes are available: {}. preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
                    nodes.len(),
                    reasons.join(", "),
                    nodes.len(),
                    nodes.len()
                );
                if cs.warned.insert(key) {
                    let mut st = pod["status"].clone();
                    st["phase"] = json!("Pending");
                    st["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg, "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}]);
                    store.set_status(&pods_gr, &ns, &name, st);
                    store.record_event(&pod, "Warning", "FailedScheduling", &msg);
                }
            }
        }
    }
}

fn scaled(state: &SimState, secs: f64) -> Duration {
    Duration::from_secs_f64((secs * state.options.time_factor).max(0.0))
}

fn container_statuses(
    pod: &Value,
    ready: bool,
    state_of: &dyn Fn(&Value) -> Value,
    restarts: i64,
    last: &Value,
) -> Value {
    Value::Array(
        pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                json!({
                    "name": c["name"], "image": c["image"], "imageID": format!("docker.io/{}@sha256:{}", c["image"].as_str().unwrap_or_default(), hash_of(&c["image"])),
                    "containerID": format!("containerd://{}", hash_of(&json!([pod["metadata"]["uid"], c["name"]]))),
                    "ready": ready, "started": ready || state_of(c).get("running").is_some(), "restartCount": restarts,
                    "state": state_of(c), "lastState": last,
                })
            })
            .collect(),
    )
}

/// What keeps a pod's containers from being made, as the kubelet reports it.
enum Missing {
    /// A volume's Secret or ConfigMap is missing: ContainerCreating with FailedMount events.
    Mount { volume: String, what: String },
    /// An `env`/`envFrom` reference is missing: CreateContainerConfigError.
    Config { what: String },
}

/// The first Secret, ConfigMap or key a pod needs (not marked optional) that does not exist.
fn missing_reference(store: &Store, ns: &str, pod: &Value) -> Option<Missing> {
    let exists = |plural: &str, name: &str| store.get_gr(&gr("", plural), ns, name).cloned();
    let not_optional = |r: &Value| r["optional"] != true;
    let spec = &pod["spec"];
    for v in spec["volumes"].as_array().into_iter().flatten() {
        let volume = v["name"].as_str().unwrap_or_default().to_string();
        let mut refs: Vec<(&str, &Value, &str)> = Vec::new();
        if v["secret"].is_object() {
            refs.push(("secret", &v["secret"], "secretName"));
        }
        if v["configMap"].is_object() {
            refs.push(("configmap", &v["configMap"], "name"));
        }
        for src in v["projected"]["sources"].as_array().into_iter().flatten() {
            if src["secret"].is_object() {
                refs.push(("secret", &src["secret"], "name"));
            }
            if src["configMap"].is_object() {
                refs.push(("configmap", &src["configMap"], "name"));
            }
        }
        for (kind, r, key) in refs {
            let name = r[key].as_str().unwrap_or_default();
            let plural = if kind == "secret" {
                "secrets"
            } else {
                "configmaps"
            };
            if not_optional(r) && !name.is_empty() && exists(plural, name).is_none() {
                return Some(Missing::Mount {
                    volume,
                    what: format!("{kind} {name:?} not found"),
                });
            }
        }
    }
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for from in c["envFrom"].as_array().into_iter().flatten() {
                for (field, kind, plural) in [
                    ("configMapRef", "configmap", "configmaps"),
                    ("secretRef", "secret", "secrets"),
                ] {
                    let r = &from[field];
                    if let Some(name) = r["name"].as_str()
                        && not_optional(r)
                        && exists(plural, name).is_none()
                    {
                        return Some(Missing::Config {
                            what: format!("{kind} {name:?} not found"),
                        });
                    }
                }
            }
            for e in c["env"].as_array().into_iter().flatten() {
                for (field, kind, plural, data) in [
                    ("configMapKeyRef", "configmap", "configmaps", "data"),
                    ("secretKeyRef", "secret", "secrets", "data"),
                ] {
                    let r = &e["valueFrom"][field];
                    let (Some(name), Some(key)) = (r["name"].as_str(), r["key"].as_str()) else {
                        continue;
                    };
                    if !not_optional(r) {
                        continue;
                    }
                    match exists(plural, name) {
                        None => {
                            return Some(Missing::Config {
                                what: format!("{kind} {name:?} not found"),
                            });
                        }
                        Some(o)
                            if o[data].get(key).is_none()
                                && o["binaryData"].get(key).is_none()
                                && o["stringData"].get(key).is_none() =>
                        {
                            return Some(Missing::Config {
                                what: format!(
                                    "couldn't find key {key} in {} {ns}/{name}",
                                    if kind == "secret" {
                                        "Secret"
                                    } else {
                                        "ConfigMap"
                                    }
                                ),
                            });
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    None
}

fn kubelet(store: &mut Store, cs: &mut ControllerState, state: &SimState, scenarios: &[Scenario]) {
    let pods_gr = gr("", "pods");
    let now = Instant::now();
    // Pods created already running (scale scenarios, restored state) are left alone: found
    // without copying them.
    let mut already_running = Vec::new();
    let candidates: Vec<Value> = store
        .iter_gr(&pods_gr, None)
        .filter(|p| {
            let uid = p["metadata"]["uid"].as_str().unwrap_or_default();
            let waiting = p["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
                && !is_terminal(p)
                && !cs.steady.contains(uid);
            if waiting && is_ready(p) && !cs.clocks.contains_key(uid) {
                already_running.push(uid.to_string());
                return false;
            }
            waiting
        })
        .cloned()
        .collect();
    cs.steady.extend(already_running);
    for pod in candidates {
        let (ns, name, uid) = (ns_of(&pod), name_of(&pod), uid_of(&pod));
        let role = scenario_role(&pod["metadata"]["labels"]);
        let clock = cs
            .clocks
            .entry(uid.clone())
            .or_insert(PodClock {
                scheduled: now,
                running: None,
                last_crash: None,
            })
            .clone();
        // Volumes must be bound before containers start.
        let unbound = pod["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| {
                v["persistentVolumeClaim"]["claimName"]
                    .as_str()
                    .is_some_and(|c| {
                        store
                            .get_gr(&gr("", "persistentvolumeclaims"), &ns, c)
                            .is_none_or(|pvc| pvc["status"]["phase"] != "Bound")
                    })
            });
        let node = pod["spec"]["nodeName"].clone();
        let host_ip = format!(
            "192.168.49.{}",
            2 + node
                .as_str()
                .and_then(|n| n.rsplit('-').next()?.parse::<u32>().ok())
                .unwrap_or(1)
        );
        let pod_ip = pod["status"]["podIP"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                cs.next_pod_ip += 1;
                format!(
                    "10.244.{}.{}",
                    (cs.next_pod_ip >> 8) & 0xff,
                    cs.next_pod_ip & 0xff
                )
            });
        let start_time = pod["status"]["startTime"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(now_rfc3339);
        let base_conds = |ready: bool, init: bool| {
            let t = now_rfc3339();
            json!([
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "Initialized", "status": if init { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "Ready", "status": if ready { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "ContainersReady", "status": if ready { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
            ])
        };
        let keep_transition = |new: Value| -> Value {
            // Keep lastTransitionTime of unchanged conditions, so statuses settle.
            let old = pod["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Value::Array(
                new.as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let mut c = c.clone();
                        if let Some(o) = old
                            .iter()
                            .find(|o| o["type"] == c["type"] && o["status"] == c["status"])
                        {
                            c["lastTransitionTime"] = o["lastTransitionTime"].clone();
                        }
                        c
                    })
                    .collect(),
            )
        };
        let init_statuses = Value::Array(
            pod["spec"]["initContainers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "restartCount": 0, "started": false,
                                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start_time, "finishedAt": start_time}}}))
                .collect(),
        );
        let mut status = json!({
            "phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": start_time,
            "qosClass": if pod["spec"]["containers"].as_array().into_iter().flatten().any(|c| c["resources"]["requests"].is_object()) { "Burstable" } else { "BestEffort" },
        });
        if !init_statuses.as_array().is_none_or(Vec::is_empty) {
            status["initContainerStatuses"] = init_statuses;
        }
        if unbound {
            let waiting = |_: &Value| json!({"waiting": {"reason": "ContainerCreating"}});
            status["conditions"] = keep_transition(base_conds(false, false));
            status["containerStatuses"] = container_statuses(&pod, false, &waiting, 0, &json!({}));
            store.set_status(&pods_gr, &ns, &name, status);
            continue;
        }
        match missing_reference(store, &ns, &pod) {
            Some(Missing::Mount { volume, what }) => {
                let message = format!("MountVolume.SetUp failed for volume {volume:?} : {what}");
                if cs.warned.insert(format!("{uid}/{message}")) {
                    store.record_event(&pod, "Warning", "FailedMount", &message);
                }
                let waiting = |_: &Value| json!({"waiting": {"reason": "ContainerCreating"}});
                status["conditions"] = keep_transition(base_conds(false, false));
                status["containerStatuses"] =
                    container_statuses(&pod, false, &waiting, 0, &json!({}));
                store.set_status(&pods_gr, &ns, &name, status);
                continue;
            }
            Some(Missing::Config { what }) => {
                if cs.warned.insert(format!("{uid}/{what}")) {
                    store.record_event(&pod, "Warning", "Failed", &format!("Error: {what}"));
                }
                let waiting = |_: &Value| json!({"waiting": {"reason": "CreateContainerConfigError", "message": what}});
                status["conditions"] = keep_transition(base_conds(false, true));
                status["containerStatuses"] =
                    container_statuses(&pod, false, &waiting, 0, &json!({}));
                store.set_status(&pods_gr, &ns, &name, status);
                continue;
            }
            None => {}
        }
        let image_error = scenarios
            .iter()
            .any(|s| matches!(s, Scenario::ImagePullError(r) if *r == role));
        let crashloop = scenarios
            .iter()
            .any(|s| matches!(s, Scenario::Crashloop(r) if *r == role));
        let failing_job = role == "migrate"
            && scenarios
                .iter()
                .any(|s| matches!(s, Scenario::FailingMigration));
        let create_at = clock.scheduled + scaled(state, 2.0);
        if now < create_at {
            cs.wake_at(create_at);
            let waiting = |_: &Value| json!({"waiting": {"reason": "ContainerCreating"}});
            status["conditions"] = keep_transition(base_conds(false, true));
            status["containerStatuses"] = container_statuses(&pod, false, &waiting, 0, &json!({}));
            if pod["status"]["containerStatuses"].is_null() {
                for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                    store.record_event(
                        &pod,
                        "Normal",
                        "Pulling",
                        &format!(
                            "Pulling image \"{}\"",
                            c["image"].as_str().unwrap_or_default()
                        ),
                    );
                }
            }
            store.set_status(&pods_gr, &ns, &name, status);
            continue;
        }
        if image_error {
            let first = pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                != "ErrImagePull"
                && pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    != "ImagePullBackOff";
            let reason = if first {
                "ErrImagePull"
            } else {
                "ImagePullBackOff"
            };
            let waiting = |c: &Value| json!({"waiting": {"reason": reason, "message": format!("Back-off pulling image \"{}\"", c["image"].as_str().unwrap_or_default())}});
            status["conditions"] = keep_transition(base_conds(false, true));
            status["containerStatuses"] = container_statuses(&pod, false, &waiting, 0, &json!({}));
            status["podIP"] = json!(pod_ip);
            status["podIPs"] = json!([{"ip": pod_ip}]);
            if first {
                for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                    let img = c["image"].as_str().unwrap_or_default();
                    store.record_event(&pod, "Warning", "Failed", &format!("Failed to pull image \"{img}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{img}\": not found"));
                    store.record_event(&pod, "Warning", "Failed", "Error: ErrImagePull");
                }
                cs.wake_at(now + scaled(state, 5.0));
            } else {
                store.record_event(&pod, "Normal", "BackOff", "Back-off pulling image");
            }
            store.set_status(&pods_gr, &ns, &name, status);
            continue;
        }
        let running_since = match clock.running {
            Some(t) => t,
            None => {
                if let Some(c) = cs.clocks.get_mut(&uid) {
                    c.running = Some(now);
                }
                for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                    let cname = c["name"].as_str().unwrap_or_default();
                    store.record_event(
                        &pod,
                        "Normal",
                        "Pulled",
                        &format!(
                            "Container image \"{}\" already present on machine",
                            c["image"].as_str().unwrap_or_default()
                        ),
                    );
                    store.record_event(
                        &pod,
                        "Normal",
                        "Created",
                        &format!("Created container: {cname}"),
                    );
                    store.record_event(
                        &pod,
                        "Normal",
                        "Started",
                        &format!("Started container {cname}"),
                    );
                    state.append_log(
                        &ns,
                        &name,
                        cname,
                        false,
                        &format!(
                            "{} starting {cname} ({})",
                            now_rfc3339(),
                            c["image"].as_str().unwrap_or_default()
                        ),
                    );
                }
                now
            }
        };
        let started_at = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(now_rfc3339);
        let job_pod = pod["spec"]["restartPolicy"] != "Always";
        status["podIP"] = json!(pod_ip);
        status["podIPs"] = json!([{"ip": pod_ip}]);
        if job_pod {
            let done_at = running_since + scaled(state, 3.0);
            if now < done_at {
                cs.wake_at(done_at);
                let running = |_: &Value| json!({"running": {"startedAt": started_at}});
                status["phase"] = json!("Running");
                status["conditions"] = keep_transition(base_conds(true, true));
                status["containerStatuses"] =
                    container_statuses(&pod, true, &running, 0, &json!({}));
                store.set_status(&pods_gr, &ns, &name, status);
                continue;
            }
            let (code, reason) = if failing_job {
                (1, "Error")
            } else {
                (0, "Completed")
            };
            let finished = now_rfc3339();
            let term = |_: &Value| json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": started_at, "finishedAt": finished}});
            status["phase"] = json!(if failing_job { "Failed" } else { "Succeeded" });
            status["conditions"] = keep_transition(base_conds(false, true));
            status["containerStatuses"] = container_statuses(&pod, false, &term, 0, &json!({}));
            for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                let cname = c["name"].as_str().unwrap_or_default();
                let line = if failing_job {
                    "django.db.utils.OperationalError: could not translate host name to address; migration failed"
                } else {
                    "Operations to perform: apply all migrations. Running migrations: OK"
                };
                state.append_log(&ns, &name, cname, false, line);
            }
            store.set_status(&pods_gr, &ns, &name, status);
            cs.clocks.remove(&uid);
            continue;
        }
        if crashloop {
            let restarts = pod["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0);
            let crash_at = clock.last_crash.unwrap_or(running_since) + scaled(state, 4.0);
            if now >= crash_at {
                let finished = now_rfc3339();
                let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started_at, "finishedAt": finished}});
                let waiting = |c: &Value| json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 10s restarting failed container={} pod={name}", c["name"].as_str().unwrap_or_default())}});
                status["phase"] = json!("Running");
                status["conditions"] = keep_transition(base_conds(false, true));
                status["containerStatuses"] =
                    container_statuses(&pod, false, &waiting, restarts + 1, &last);
                for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                    let cname = c["name"].as_str().unwrap_or_default();
                    state.append_log(&ns, &name, cname, true, "Traceback (most recent call last): django.core.exceptions.ImproperlyConfigured: connection refused");
                }
                store.record_event(
                    &pod,
                    "Warning",
                    "BackOff",
                    "Back-off restarting failed container",
                );
                store.set_status(&pods_gr, &ns, &name, status);
                if let Some(c) = cs.clocks.get_mut(&uid) {
                    c.last_crash = Some(now);
                }
                cs.wake_at(now + scaled(state, 4.0));
            } else {
                cs.wake_at(crash_at);
                if pod["status"]["phase"] != "Running" {
                    let running = |_: &Value| json!({"running": {"startedAt": started_at}});
                    status["phase"] = json!("Running");
                    status["conditions"] = keep_transition(base_conds(false, true));
                    status["containerStatuses"] =
                        container_statuses(&pod, false, &running, restarts, &json!({}));
                    store.set_status(&pods_gr, &ns, &name, status);
                }
            }
            continue;
        }
        let delay = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                c["readinessProbe"]["initialDelaySeconds"]
                    .as_f64()
                    .unwrap_or(0.0)
            })
            .fold(0.0, f64::max);
        let ready_at = running_since + scaled(state, delay.max(1.0));
        let ready = now >= ready_at;
        if !ready {
            cs.wake_at(ready_at);
        }
        let running = |_: &Value| json!({"running": {"startedAt": started_at}});
        status["phase"] = json!("Running");
        status["conditions"] = keep_transition(base_conds(ready, true));
        status["containerStatuses"] = container_statuses(&pod, ready, &running, 0, &json!({}));
        store.set_status(&pods_gr, &ns, &name, status);
        if ready {
            cs.steady.insert(uid.clone());
            cs.clocks.remove(&uid);
        }
    }
}

fn services(store: &mut Store, cs: &mut ControllerState) {
    let svc_gr = gr("", "services");
    let ep_gr = gr("", "endpoints");
    let gone: Vec<(String, String)> = cs
        .endpoints
        .iter()
        .filter(|(ns, name)| store.get_gr(&svc_gr, ns, name).is_none())
        .cloned()
        .collect();
    for (ns, name) in gone {
        store.delete_system(("v1", "Endpoints"), &ns, &name);
        cs.endpoints.remove(&(ns, name));
    }
    // Only what endpoints need: a full copy of every pod would be the sim's largest
    // allocation at scale.
    let slim = |p: &Value| {
        json!({"metadata": {"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"],
                            "uid": p["metadata"]["uid"], "labels": p["metadata"]["labels"]},
               "spec": {"nodeName": p["spec"]["nodeName"]},
               "status": {"podIP": p["status"]["podIP"], "phase": p["status"]["phase"],
                          "conditions": p["status"]["conditions"]}})
    };
    let pods: Vec<Value> = store
        .iter_gr(&gr("", "pods"), None)
        .filter(|p| !p["status"]["podIP"].is_null())
        .map(slim)
        .collect();
    for svc in list(store, &svc_gr) {
        let (ns, name) = (ns_of(&svc), name_of(&svc));
        let Some(sel) = svc["spec"]["selector"]
            .as_object()
            .filter(|m| !m.is_empty())
        else {
            continue;
        };
        let selector = LabelSelector::from_object(&json!({"matchLabels": sel}));
        let matching: Vec<&Value> = pods
            .iter()
            .filter(|p| ns_of(p) == ns && selector.matches(p) && !is_terminal(p))
            .collect();
        let addr = |p: &Value| json!({"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"], "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}});
        let ready: Vec<Value> = matching
            .iter()
            .filter(|p| is_ready(p))
            .map(|p| addr(p))
            .collect();
        let not_ready: Vec<Value> = matching
            .iter()
            .filter(|p| !is_ready(p))
            .map(|p| addr(p))
            .collect();
        let ports: Vec<Value> = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| json!({"name": p["name"], "port": p["targetPort"].as_i64().or(p["port"].as_i64()), "protocol": p["protocol"]}))
            .collect();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        let subsets = if ready.is_empty() && not_ready.is_empty() {
            json!([])
        } else {
            json!([subset])
        };
        let ep = json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns, "labels": svc["metadata"]["labels"]},
            "subsets": subsets});
        match store.get_gr(&ep_gr, &ns, &name).cloned() {
            None => {
                if store.create_system(("v1", "Endpoints"), &ns, ep).is_ok() {
                    cs.endpoints.insert((ns.clone(), name.clone()));
                }
            }
            Some(old) if old["subsets"] != ep["subsets"] => {
                let mut o = old;
                o["subsets"] = ep["subsets"].clone();
                store.put_raw(&ep_gr, &ns, &name, o);
            }
            Some(_) => {}
        }
        let es_gr = gr("discovery.k8s.io", "endpointslices");
        let es_name = format!("{name}-{}", &hash_of(&json!(name))[..5]);
        let endpoints: Vec<Value> = matching
            .iter()
            .map(|p| json!({"addresses": [p["status"]["podIP"]], "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": false},
                            "nodeName": p["spec"]["nodeName"], "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}}))
            .collect();
        let es_ports: Vec<Value> = ports.clone();
        match store.get_gr(&es_gr, &ns, &es_name).cloned() {
            None => {
                let es = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": es_name, "namespace": ns, "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                                 "ownerReferences": [owner_ref(&svc)]},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": es_ports});
                let _ = store.create_system(("discovery.k8s.io/v1", "EndpointSlice"), &ns, es);
            }
            Some(old) if old["endpoints"] != json!(endpoints) => {
                let mut o = old;
                o["endpoints"] = json!(endpoints);
                store.put_raw(&es_gr, &ns, &es_name, o);
            }
            Some(_) => {}
        }
        if svc["spec"]["type"] == "LoadBalancer"
            && svc["status"]["loadBalancer"]["ingress"].is_null()
        {
            let ip = format!("172.18.255.{}", 200 + (hash_of(&json!(name)).len() % 50));
            store.set_status(
                &svc_gr,
                &ns,
                &name,
                json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}),
            );
        }
    }
}

/// An Ingress gets an address once a controller serves its class (named, or the default).
fn ingresses(store: &mut Store) {
    let ing_gr = gr("networking.k8s.io", "ingresses");
    let classes = list(store, &gr("networking.k8s.io", "ingressclasses"));
    let served = |ing: &Value| crate::ingress::served(ing, &classes);
    for ing in list(store, &ing_gr) {
        if ing["status"]["loadBalancer"]["ingress"].is_null() && served(&ing) {
            store.set_status(
                &ing_gr,
                &ns_of(&ing),
                &name_of(&ing),
                json!({"loadBalancer": {"ingress": [{"ip": "172.18.255.100"}]}}),
            );
        }
    }
}

/// What `crashloop:ROLE` and `image-pull-error:ROLE` match a pod by: the stack's `role` label,
/// else the common `app.kubernetes.io/component` label, else `clickhouse` for the ClickHouse
/// operator's hosts (labelled by installation only), so every component of the vendor's chart
/// can be made to fail.
fn scenario_role(labels: &Value) -> String {
    if labels["clickhouse.altinity.com/chi"].is_string() {
        return "clickhouse".into();
    }
    labels["role"]
        .as_str()
        .or(labels["app.kubernetes.io/component"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
#[path = "controllers_tests.rs"]
mod tests;
