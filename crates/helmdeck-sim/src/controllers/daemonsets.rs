//! The DaemonSet controller: a pod per node.

use super::*;

pub(super) fn daemonsets(store: &mut Store) {
    let ds_gr = gr("apps", "daemonsets");
    let nodes: Vec<String> = store
        .iter_gr(&gr("", "nodes"), None)
        .map(|n| name_of(&n))
        .collect();
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
