//! The StatefulSet controller: ordered pods and their claims from the claim templates, rolled
//! by partition, revisions recorded.

use super::*;

pub(super) fn statefulsets(store: &mut Store) {
    for s in list(store, &gr("apps", "statefulsets")) {
        if s["metadata"]["deletionTimestamp"].is_null() {
            reconcile_set(store, &s);
        }
    }
}

/// The pods of a set by ordinal.
fn by_ordinal(pods: &[Value]) -> Vec<(i64, Value)> {
    pods.iter()
        .filter_map(|p| {
            Some((
                name_of(p).rsplit('-').next()?.parse::<i64>().ok()?,
                p.clone(),
            ))
        })
        .collect()
}

/// One StatefulSet's step: its revision recorded, claims and pods made in order, the
/// highest ordinal removed or rolled, and its status written.
fn reconcile_set(store: &mut Store, s: &Value) {
    let name = name_of(s);
    let want = s["spec"]["replicas"].as_i64().unwrap_or(1);
    let revision = format!("{name}-{}", &hash_of(&s["spec"]["template"])[..10]);
    record_revision(store, s, &revision);
    adopt_orphans(store, s);
    make_claims(store, s, want);
    make_pods(store, s, want, &revision);
    remove_or_roll(store, s, want, &revision);
    write_status(store, s, want, &revision);
}

/// Claims for every ordinal, from the templates.
fn make_claims(store: &mut Store, s: &Value, want: i64) {
    let (ns, name) = (ns_of(s), name_of(s));
    // Claims for every ordinal, from the templates.
    for i in 0..want {
        if let Some(vcts) = s["spec"]["volumeClaimTemplates"].as_array() {
            for t in vcts {
                let claim = format!("{}-{name}-{i}", name_of(t));
                if store
                    .peek_gr(&gr("", "persistentvolumeclaims"), &ns, &claim)
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
                        store.record_event(
                            s,
                            "Normal",
                            "SuccessfulCreate",
                            &format!(
                                "create Claim {claim} Pod {name}-{i} in StatefulSet {name} success"
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Missing pods, in order (or all at once when Parallel).
fn make_pods(store: &mut Store, s: &Value, want: i64, revision: &str) {
    let (ns, name, uid) = (ns_of(s), name_of(s), uid_of(s));
    let parallel = s["spec"]["podManagementPolicy"] == "Parallel";
    let by_ord: HashMap<i64, Value> = by_ordinal(&pods_owned(store, &ns, &uid))
        .into_iter()
        .collect();
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
        let mut pod = new_pod_from_template(s, &s["spec"]["template"], pod_name.clone(), &ns);
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
                s,
                "Normal",
                "SuccessfulCreate",
                &format!("create Pod {pod_name} in StatefulSet {name} successful"),
            );
        }
        if !parallel {
            break;
        }
    }
}

/// Scale down from the highest ordinal; roll updates from the highest ordinal too.
fn remove_or_roll(store: &mut Store, s: &Value, want: i64, revision: &str) {
    let (ns, name, uid) = (ns_of(s), name_of(s), uid_of(s));
    // Scale down from the highest ordinal; roll updates from the highest ordinal too.
    let partition = s["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
        .as_i64()
        .unwrap_or(0);
    let rolling = s["spec"]["updateStrategy"]["type"] != "OnDelete";
    let pods = pods_owned(store, &ns, &uid);
    let all_ready = pods.iter().all(is_ready) && pods.len() as i64 >= want;
    let mut ords = by_ordinal(&pods);
    ords.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
    for (ord, p) in &ords {
        if *ord >= want {
            store.delete_system(("v1", "Pod"), &ns, &name_of(p));
            store.record_event(
                s,
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
                && p["metadata"]["labels"]["controller-revision-hash"] != revision
        })
    {
        store.delete_system(("v1", "Pod"), &ns, &name_of(p));
        store.record_event(
            s,
            "Normal",
            "SuccessfulDelete",
            &format!("delete Pod {} in StatefulSet {name} successful", name_of(p)),
        );
    }
}

/// The set's status: replicas ready, current and updated, and its revisions.
fn write_status(store: &mut Store, s: &Value, want: i64, revision: &str) {
    let (ns, name, uid) = (ns_of(s), name_of(s), uid_of(s));
    let pods = pods_owned(store, &ns, &uid);
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let updated = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision)
        .count() as i64;
    let current_rev = if updated >= want && pods.len() as i64 == want {
        revision.to_string()
    } else {
        s["status"]["currentRevision"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| revision.to_string())
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
    store.set_status(&gr("apps", "statefulsets"), &ns, &name, status);
}
