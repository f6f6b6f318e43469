//! The ReplicaSet controller: as many pods as replicas, owned by the set.

use super::*;

pub(super) fn replicasets(store: &mut Store) {
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
