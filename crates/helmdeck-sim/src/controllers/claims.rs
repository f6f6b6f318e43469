//! Claims bound to volumes the class's provisioner makes (or to a matching PV), grown when
//! the class allows expansion.

use super::*;

pub(super) fn default_class(store: &Store) -> Option<Value> {
    store
        .iter_gr(&gr("storage.k8s.io", "storageclasses"), None)
        .find(|sc| {
            sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        })
        .map(std::borrow::Cow::into_owned)
}

pub(super) fn claims(store: &mut Store, scenarios: &[crate::scenario::Scenario]) {
    for pvc in list(store, &gr("", "persistentvolumeclaims")) {
        let wants_volume = pvc["spec"]["volumeName"]
            .as_str()
            .is_some_and(|v| !v.is_empty());
        if pvc["status"]["phase"] == "Bound" {
            expand(store, &pvc);
        } else if wants_volume || pvc["spec"]["storageClassName"] == "" {
            bind_static(store, &pvc);
        } else {
            let name = pvc["metadata"]["name"].as_str().unwrap_or_default();
            let restored = scenarios
                .iter()
                .any(|s| matches!(s, crate::scenario::Scenario::RestoredVolume(c) if c == name));
            provision(store, &pvc, restored);
        }
    }
    release_volumes(store);
    unprotect_deleted(store);
}

/// Expansion: a bound claim asking for more grows its volume when the class allows it, then
/// its file system once a pod restarts.
fn expand(store: &mut Store, pvc: &Value) {
    let pvc_gr = gr("", "persistentvolumeclaims");
    let pv_gr = gr("", "persistentvolumes");
    let (ns, name) = (ns_of(pvc), name_of(pvc));
    let request = pvc["spec"]["resources"]["requests"]["storage"].clone();
    if pvc["status"]["capacity"]["storage"] == request {
        return;
    }
    let class = pvc["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let sc = store.get_gr(&gr("storage.k8s.io", "storageclasses"), "", &class);
    let bigger = crate::quantity::milli(request.as_str().unwrap_or("0")).unwrap_or(0)
        > crate::quantity::milli(pvc["status"]["capacity"]["storage"].as_str().unwrap_or("0"))
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
            if let Some(mut pv) = store.get_gr(&pv_gr, "", &pv_name) {
                pv["spec"]["capacity"]["storage"] = request.clone();
                store.put_raw(&pv_gr, "", &pv_name, pv);
            }
            st["conditions"] = json!([{"type": "FileSystemResizePending", "status": "True",
                "lastProbeTime": null, "lastTransitionTime": now_rfc3339(),
                "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node."}]);
            store.set_status(&pvc_gr, &ns, &name, st);
            store.record_event(
                pvc,
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
                pvc,
                "Normal",
                "FileSystemResizeSuccessful",
                "MountVolume.NodeExpandVolume succeeded",
            );
        }
    }
}

/// Static binding, the PV controller's first resort: a claim that names its volume, or asks
/// for no class (""), binds to an existing volume that is free (or already reserved for it)
/// and big enough; "" never provisions a new one.
fn bind_static(store: &mut Store, pvc: &Value) {
    let pvc_gr = gr("", "persistentvolumeclaims");
    let pv_gr = gr("", "persistentvolumes");
    let (ns, name) = (ns_of(pvc), name_of(pvc));
    let request = pvc["spec"]["resources"]["requests"]["storage"].clone();
    let wants = pvc["spec"]["volumeName"]
        .as_str()
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let size = |q: &Value| crate::quantity::milli(q.as_str().unwrap_or("0")).unwrap_or(0);
    let class = pvc["spec"]["storageClassName"].as_str().unwrap_or("");
    let fits = |pv: &Value| {
        let cr = &pv["spec"]["claimRef"];
        let free = cr.is_null() || (cr["name"] == name.as_str() && cr["namespace"] == ns.as_str());
        let class_ok = pv["spec"]["storageClassName"].as_str().unwrap_or("") == class;
        free && class_ok && size(&pv["spec"]["capacity"]["storage"]) >= size(&request)
    };
    let found = list(store, &pv_gr).into_iter().find(|pv| match &wants {
        Some(v) => name_of(pv) == *v && fits(pv),
        None => fits(pv) && pv["status"]["phase"] != "Bound",
    });
    let Some(mut pv) = found else {
        store.record_event(
            pvc,
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        );
        return;
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
        bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    }
    bound["metadata"]["finalizers"] = json!(["kubernetes.io/pvc-protection"]);
    store.put_raw(&pvc_gr, &ns, &name, bound);
    store.set_status(&pvc_gr, &ns, &name, json!({"phase": "Bound", "accessModes": pvc["spec"]["accessModes"], "capacity": {"storage": capacity}}));
}

/// Dynamic provisioning: a volume from the claim's class (or the default one), made when the
/// class binds at once or a scheduled pod uses the claim.
/// A volume from the claim's class, as its CSI driver writes it; `restored`: a volume made
/// outside the class instead (a backup restored, a retained volume bound again), which carries
/// no `pv.kubernetes.io/provisioned-by`.
fn provision(store: &mut Store, pvc: &Value, restored: bool) {
    let pvc_gr = gr("", "persistentvolumeclaims");
    let pv_gr = gr("", "persistentvolumes");
    let (ns, name) = (ns_of(pvc), name_of(pvc));
    let request = pvc["spec"]["resources"]["requests"]["storage"].clone();
    let sc = match pvc["spec"]["storageClassName"].as_str() {
        Some(c) => store.get_gr(&gr("storage.k8s.io", "storageclasses"), "", c),
        None => default_class(store),
    };
    let Some(sc) = sc else {
        store.record_event(
            pvc,
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        );
        return;
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
            return;
        }
    }
    let class_name = name_of(&sc);
    let pv_name = format!("pvc-{}", uid_of(pvc));
    let provisioner = sc["provisioner"].as_str().unwrap_or_default().to_string();
    // Azure Disk records the class's parameters on the volume; EBS and PD record none of them
    // (their attributes are the driver's own: shared/REFERENCE.md, "Disk encryption").
    let mut attrs = match provisioner.as_str() {
        "disk.csi.azure.com" if sc["parameters"].is_object() => sc["parameters"].clone(),
        _ => json!({}),
    };
    attrs["storage.kubernetes.io/csiProvisionerIdentity"] = json!(format!("sim-{provisioner}"));
    let annotations = match restored {
        true => json!({}),
        false => json!({"pv.kubernetes.io/provisioned-by": provisioner}),
    };
    let pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "annotations": annotations,
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
    if !store.has(&pv_gr, "", &pv_name)
        && store
            .create_system(("v1", "PersistentVolume"), "", pv)
            .is_err()
    {
        return;
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
        pvc,
        "Normal",
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume {pv_name}"),
    );
}

/// Claims deleted while bound: the volume goes per its reclaim policy.
fn release_volumes(store: &mut Store) {
    let pvc_gr = gr("", "persistentvolumeclaims");
    let pv_gr = gr("", "persistentvolumes");
    for pv in list(store, &pv_gr) {
        let cr = &pv["spec"]["claimRef"];
        if cr.is_null() || pv["status"]["phase"] != "Bound" {
            continue;
        }
        let exists = store
            .peek_gr(
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
}

/// Claims being deleted lose their protection finalizer once no pod uses them.
fn unprotect_deleted(store: &mut Store) {
    let pvc_gr = gr("", "persistentvolumeclaims");
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
