//! The deployment controller: a ReplicaSet per pod template, rolled out within maxSurge and
//! maxUnavailable, old ones scaled down, revisions and conditions as kube-controller-manager
//! keeps them.

use super::*;

pub(super) fn deployments(store: &mut Store) {
    for d in list(store, &gr("apps", "deployments")) {
        if d["metadata"]["deletionTimestamp"].is_null() {
            rollout(store, &d);
        }
    }
}

/// How a deployment replaces its pods: all at once, or rolling within maxSurge and
/// maxUnavailable.
struct Strategy {
    recreate: bool,
    surge: i64,
    unavailable: i64,
}

impl Strategy {
    fn of(d: &Value, desired: i64) -> Strategy {
        let recreate = d["spec"]["strategy"]["type"] == "Recreate";
        let rolling = &d["spec"]["strategy"]["rollingUpdate"];
        let surge = if recreate {
            0
        } else {
            int_or_percent(&rolling["maxSurge"], desired, true)
        };
        let mut unavailable = if recreate {
            desired
        } else {
            int_or_percent(&rolling["maxUnavailable"], desired, false)
        };
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        Strategy {
            recreate,
            surge,
            unavailable,
        }
    }
}

fn replicas(r: &Value, field: &str) -> i64 {
    r[field]["replicas"].as_i64().unwrap_or(0)
}

/// One deployment's step: its ReplicaSet for the current template made, scaled up, the old
/// ones scaled down, and its status and revision written.
fn rollout(store: &mut Store, d: &Value) {
    let rs_gr = gr("apps", "replicasets");
    let (ns, uid) = (ns_of(d), uid_of(d));
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let template = d["spec"]["template"].clone();
    let owned: Vec<Value> = store
        .iter_gr(&rs_gr, Some(&ns))
        .filter(|r| owned_by(r, &uid))
        .map(std::borrow::Cow::into_owned)
        .collect();
    let new_rs = owned
        .iter()
        .find(|r| template_without_hash(&r["spec"]["template"]) == template_without_hash(&template))
        .cloned();
    let strategy = Strategy::of(d, desired);
    let olds: Vec<Value> = owned
        .iter()
        .filter(|r| new_rs.as_ref().is_none_or(|n| uid_of(n) != uid_of(r)))
        .cloned()
        .collect();
    let old_total: i64 = olds.iter().map(|r| replicas(r, "spec")).sum();
    let new_rs = match new_rs {
        Some(r) => r,
        None => {
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
            let Some(r) = new_replica_set(store, d, desired, &strategy, old_total, revision) else {
                return;
            };
            r
        }
    };
    scale_up(store, d, &new_rs, desired, &strategy, &olds, old_total);
    let new_available = new_rs["status"]["availableReplicas"].as_i64().unwrap_or(0);
    scale_down(
        store,
        d,
        &olds,
        new_available,
        desired,
        &strategy,
        old_total,
    );
    write_status(store, d, &new_rs, desired, strategy.unavailable);
}

/// The ReplicaSet for the deployment's current template, started as large as the strategy
/// allows.
fn new_replica_set(
    store: &mut Store,
    d: &Value,
    desired: i64,
    strategy: &Strategy,
    old_total: i64,
    revision: i64,
) -> Option<Value> {
    let (ns, name) = (ns_of(d), name_of(d));
    let template = d["spec"]["template"].clone();
    let hash = hash_of(&template_without_hash(&template));
    let rs_name = format!("{name}-{}", &hash[..10]);
    let mut t = template;
    t["metadata"]["labels"]["pod-template-hash"] = json!(&hash[..10]);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(&hash[..10]);
    let start = if strategy.recreate {
        if old_total > 0 { 0 } else { desired }
    } else {
        (desired + strategy.surge - old_total).clamp(0, desired)
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
                            "deployment.kubernetes.io/max-replicas": (desired + strategy.surge).to_string()},
            "ownerReferences": [owner_ref(d)]},
        "spec": {"replicas": start, "selector": selector, "template": t,
                 "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0)},
    });
    let created = store
        .create_system(("apps/v1", "ReplicaSet"), &ns, rs)
        .ok()?;
    store.record_event(
        d,
        "Normal",
        "ScalingReplicaSet",
        &format!(
            "Scaled up replica set {} from 0 to {start}",
            name_of(&created)
        ),
    );
    Some(created)
}

/// Scales the new ReplicaSet up within maxSurge (Recreate: once the old pods are gone).
fn scale_up(
    store: &mut Store,
    d: &Value,
    new_rs: &Value,
    desired: i64,
    strategy: &Strategy,
    olds: &[Value],
    old_total: i64,
) {
    let new_name = name_of(new_rs);
    let new_spec = replicas(new_rs, "spec");
    let target_new = if strategy.recreate {
        if old_total > 0 || olds.iter().any(|r| replicas(r, "status") > 0) {
            0
        } else {
            desired
        }
    } else {
        let allowed = desired + strategy.surge - old_total - new_spec;
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
        store.put_raw(&gr("apps", "replicasets"), &ns_of(d), &new_name, r);
        let verb = if target_new > new_spec { "up" } else { "down" };
        store.record_event(
            d,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled {verb} replica set {new_name} from {new_spec} to {target_new}"),
        );
    }
}

/// Scales the old ReplicaSets down as far as availability allows.
fn scale_down(
    store: &mut Store,
    d: &Value,
    olds: &[Value],
    new_available: i64,
    desired: i64,
    strategy: &Strategy,
    old_total: i64,
) {
    let old_available: i64 = olds
        .iter()
        .map(|r| r["status"]["availableReplicas"].as_i64().unwrap_or(0))
        .sum();
    let min_available = desired - strategy.unavailable;
    let mut can_remove = if strategy.recreate {
        old_total
    } else {
        (old_available + new_available - min_available).max(0)
    };
    for old in olds {
        let spec = replicas(old, "spec");
        if spec == 0 || can_remove == 0 {
            continue;
        }
        // Old pods that are not available can always go.
        let unavailable_old = spec - old["status"]["availableReplicas"].as_i64().unwrap_or(0);
        let cut = (can_remove + unavailable_old.max(0)).min(spec);
        let mut r = old.clone();
        r["spec"]["replicas"] = json!(spec - cut);
        store.put_raw(&gr("apps", "replicasets"), &ns_of(d), &name_of(old), r);
        store.record_event(
            d,
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
}

/// The deployment's status from its ReplicaSets, with Available and Progressing as
/// kube-controller-manager words them, and the revision of the new ReplicaSet.
fn write_status(store: &mut Store, d: &Value, new_rs: &Value, desired: i64, unavailable: i64) {
    let (ns, name, uid) = (ns_of(d), name_of(d), uid_of(d));
    let new_name = name_of(new_rs);
    let all: Vec<Value> = store
        .iter_gr(&gr("apps", "replicasets"), Some(&ns))
        .filter(|r| owned_by(r, &uid))
        .map(std::borrow::Cow::into_owned)
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
    let updated = replicas(&cur_new, "status");
    let (total, ready, available) = (
        sum("replicas"),
        sum("readyReplicas"),
        sum("availableReplicas"),
    );
    let old_left: i64 = all
        .iter()
        .filter(|r| name_of(r) != new_name)
        .map(|r| replicas(r, "status"))
        .sum();
    let complete = updated >= desired
        && old_left == 0
        && cur_new["status"]["availableReplicas"].as_i64().unwrap_or(0) >= desired
        && total == desired;
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
        "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
        "availableReplicas": available, "unavailableReplicas": (total - available).max(0),
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
