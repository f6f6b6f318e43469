//! The controllers, driven directly: what `helm --wait` and `kubectl rollout status` wait for.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ControllerState, reconcile};
use crate::store::WriteOpts;
use crate::{Scenario, SimOptions, SimState};

fn cluster(scenarios: Vec<Scenario>) -> SimState {
    let state = SimState::new(
        SimOptions {
            time_factor: 0.0,
            scenarios,
            ..Default::default()
        },
        "127.0.0.1:0".into(),
    );
    create(
        &state,
        "v1",
        "Namespace",
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}),
    );
    state
}

fn create(state: &SimState, api: &str, kind: &str, ns: &str, obj: Value) {
    let mut s = state.store.lock().expect("store");
    let t = s.type_for_kind(api, kind).expect("type");
    s.create(&t, ns, obj, &WriteOpts::default())
        .expect("create");
}

fn get(state: &SimState, api: &str, kind: &str, ns: &str, name: &str) -> Value {
    let s = state.store.lock().expect("store");
    let t = s.type_for_kind(api, kind).expect("type");
    s.get(&t, ns, name).expect("get")
}

fn pods(state: &SimState, ns: &str) -> Vec<Value> {
    let s = state.store.lock().expect("store");
    s.iter_gr(&(String::new(), "pods".into()), Some(ns))
        .map(std::borrow::Cow::into_owned)
        .collect()
}

/// Reconciles until `done` holds, failing after a deadline (the clocks run at time factor 0).
fn reconcile_until(state: &SimState, what: &str, done: impl Fn(&SimState) -> bool) {
    let mut cs = ControllerState::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(state) {
        assert!(Instant::now() < deadline, "never reached: {what}");
        reconcile(state, &mut cs);
        if let Some(w) = cs.next_wake {
            std::thread::park_timeout(w.saturating_duration_since(Instant::now()));
        }
    }
}

fn deployment(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

fn available(state: &SimState) -> bool {
    let d = get(state, "apps/v1", "Deployment", "app", "web");
    d["status"]["availableReplicas"] == 2
        && d["status"]["updatedReplicas"] == 2
        && d["status"]["observedGeneration"] == d["metadata"]["generation"]
}

#[test]
fn a_deployment_rolls_out_to_ready_pods_through_a_replicaset() {
    let state = cluster(Vec::new());
    create(&state, "apps/v1", "Deployment", "app", deployment("web:1"));
    reconcile_until(&state, "deployment available", available);
    let ready: Vec<Value> = pods(&state, "app")
        .into_iter()
        .filter(|p| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .collect();
    assert_eq!(ready.len(), 2);
    for p in &ready {
        assert!(
            p["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        );
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    }
}

#[test]
fn a_new_template_replaces_every_pod() {
    let state = cluster(Vec::new());
    create(&state, "apps/v1", "Deployment", "app", deployment("web:1"));
    reconcile_until(&state, "first rollout", available);
    {
        let mut s = state.store.lock().expect("store");
        let t = s.type_for_kind("apps/v1", "Deployment").expect("type");
        s.patch(
            &t,
            "app",
            "web",
            "application/strategic-merge-patch+json",
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}),
            false,
            &WriteOpts::default(),
        )
        .expect("patch");
    }
    reconcile_until(&state, "second rollout", |s| {
        available(s)
            && pods(s, "app").iter().all(|p| {
                p["spec"]["containers"][0]["image"] == "web:2"
                    || p["metadata"]["deletionTimestamp"].is_string()
            })
    });
}

#[test]
fn a_crashlooping_role_never_becomes_ready() {
    let state = cluster(vec!["crashloop:web".parse().expect("scenario")]);
    let mut d = deployment("web:1");
    d["spec"]["template"]["metadata"]["labels"]["role"] = json!("web");
    d["spec"]["selector"]["matchLabels"]["role"] = json!("web");
    create(&state, "apps/v1", "Deployment", "app", d);
    reconcile_until(&state, "a restart", |s| {
        pods(s, "app").iter().any(|p| {
            p["status"]["containerStatuses"][0]["restartCount"]
                .as_u64()
                .is_some_and(|n| n >= 1)
        })
    });
    let d = get(&state, "apps/v1", "Deployment", "app", "web");
    assert_ne!(d["status"]["availableReplicas"], 2);
}

#[test]
fn a_job_completes_and_records_success() {
    let state = cluster(Vec::new());
    create(
        &state,
        "batch/v1",
        "Job",
        "app",
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "app"},
               "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "x"}]}}}}),
    );
    reconcile_until(&state, "job complete", |s| {
        get(s, "batch/v1", "Job", "app", "migrate")["status"]["succeeded"] == 1
    });
    let job = get(&state, "batch/v1", "Job", "app", "migrate");
    assert!(
        job["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Complete" && c["status"] == "True"),
        "{job}"
    );
}

fn events_for(state: &SimState, ns: &str, reason: &str) -> Vec<String> {
    let s = state.store.lock().expect("store");
    s.iter_gr(&(String::new(), "events".into()), Some(ns))
        .filter(|e| e["reason"] == reason)
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn waiting_reason(state: &SimState, name: &str) -> String {
    get(state, "v1", "Pod", "app", name)["status"]["containerStatuses"][0]["state"]["waiting"]
        ["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_pod_waits_for_the_secret_it_mounts_and_the_configmap_it_reads_then_starts() {
    let state = cluster(vec![]);
    let pod = |name: &str, spec: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "app"},
               "spec": spec})
    };
    create(
        &state,
        "v1",
        "Pod",
        "app",
        pod(
            "mounts",
            json!({"containers": [{"name": "c", "image": "busybox:1",
                "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]}],
                "volumes": [{"name": "creds", "secret": {"secretName": "db"}},
                            {"name": "maybe", "secret": {"secretName": "nope", "optional": true}}]}),
        ),
    );
    create(
        &state,
        "v1",
        "Pod",
        "app",
        pod(
            "reads",
            json!({"containers": [{"name": "c", "image": "busybox:1",
                "envFrom": [{"configMapRef": {"name": "settings"}}]}]}),
        ),
    );
    reconcile_until(&state, "both pods blocked", |s| {
        waiting_reason(s, "mounts") == "ContainerCreating"
            && waiting_reason(s, "reads") == "CreateContainerConfigError"
            && !events_for(s, "app", "FailedMount").is_empty()
    });
    assert_eq!(
        events_for(&state, "app", "FailedMount"),
        ["MountVolume.SetUp failed for volume \"creds\" : secret \"db\" not found"]
    );
    assert_eq!(
        events_for(&state, "app", "Failed"),
        ["Error: configmap \"settings\" not found"]
    );
    create(
        &state,
        "v1",
        "Secret",
        "app",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {}}),
    );
    create(
        &state,
        "v1",
        "ConfigMap",
        "app",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}),
    );
    reconcile_until(&state, "both pods ready once what they need exists", |s| {
        ["mounts", "reads"].iter().all(|n| {
            get(s, "v1", "Pod", "app", n)["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
    });
}

#[test]
fn new_namespaces_get_a_default_service_account_the_root_ca_and_pods_the_token_volume() {
    let state = cluster(vec![]);
    let sa = get(&state, "v1", "ServiceAccount", "app", "default");
    assert_eq!(sa["metadata"]["name"], "default");
    let ca = get(&state, "v1", "ConfigMap", "app", "kube-root-ca.crt");
    assert_eq!(ca["data"]["ca.crt"], state.authority.ca_pem.as_str());
    create(
        &state,
        "v1",
        "Pod",
        "app",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}),
    );
    create(
        &state,
        "v1",
        "Pod",
        "app",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quiet"},
               "spec": {"automountServiceAccountToken": false,
                        "containers": [{"name": "c", "image": "busybox:1"}]}}),
    );
    let p = get(&state, "v1", "Pod", "app", "p");
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    let volume = &p["spec"]["volumes"][0];
    assert!(
        volume["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("kube-api-access-")),
        "{volume}"
    );
    assert_eq!(
        p["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        "/var/run/secrets/kubernetes.io/serviceaccount"
    );
    // A list the pod does not have is left out, as the API server omits it, not written null.
    assert!(
        p["spec"]
            .as_object()
            .is_some_and(|s| !s.contains_key("initContainers")),
        "{p}"
    );
    let quiet = get(&state, "v1", "Pod", "app", "quiet");
    assert!(quiet["spec"]["volumes"].is_null(), "{quiet}");
}

fn resize(state: &SimState, name: &str, size: &str) -> Result<Value, crate::errors::ApiError> {
    let mut s = state.store.lock().expect("store");
    let t = s
        .type_for_kind("v1", "PersistentVolumeClaim")
        .expect("type");
    s.patch(
        &t,
        "app",
        name,
        "application/merge-patch+json",
        &json!({"spec": {"resources": {"requests": {"storage": size}}}}),
        false,
        &WriteOpts::default(),
    )
}

/// Volumes as each CSI driver writes them: provenance on every one; the class's parameters
/// copied only by Azure Disk (EBS and PD record format options, never `encrypted`).
#[test]
fn provisioned_volumes_carry_their_provisioner_and_only_azure_disk_copies_the_parameters() {
    let state = cluster(vec![]);
    for (name, driver, params) in [
        (
            "ebs",
            "ebs.csi.aws.com",
            json!({"encrypted": "true", "type": "gp3"}),
        ),
        (
            "azure",
            "disk.csi.azure.com",
            json!({"skuName": "Premium_LRS", "diskEncryptionSetID": "/des"}),
        ),
    ] {
        create(
            &state,
            "storage.k8s.io/v1",
            "StorageClass",
            "",
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
                   "provisioner": driver, "parameters": params}),
        );
        create(
            &state,
            "v1",
            "PersistentVolumeClaim",
            "app",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                   "spec": {"storageClassName": name, "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}}),
        );
    }
    let volume = |s: &SimState, n: &str| {
        let claim = get(s, "v1", "PersistentVolumeClaim", "app", n);
        let pv = claim["spec"]["volumeName"].as_str()?.to_string();
        Some(get(s, "v1", "PersistentVolume", "", &pv))
    };
    reconcile_until(&state, "both claims bound", |s| {
        volume(s, "ebs").is_some() && volume(s, "azure").is_some()
    });
    let ebs = volume(&state, "ebs").expect("bound");
    assert_eq!(
        ebs["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"],
        "ebs.csi.aws.com"
    );
    assert!(
        ebs["spec"]["csi"]["volumeAttributes"]["encrypted"].is_null(),
        "{ebs}"
    );
    let azure = volume(&state, "azure").expect("bound");
    assert_eq!(
        azure["spec"]["csi"]["volumeAttributes"]["diskEncryptionSetID"],
        "/des"
    );
}

#[test]
fn claims_grow_only_when_their_class_allows_it_and_never_shrink() {
    let state = cluster(vec![]);
    for (name, expand) in [("grow", true), ("fixed", false)] {
        create(
            &state,
            "storage.k8s.io/v1",
            "StorageClass",
            "",
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
                   "provisioner": "ebs.csi.aws.com", "allowVolumeExpansion": expand}),
        );
        create(
            &state,
            "v1",
            "PersistentVolumeClaim",
            "app",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                   "spec": {"storageClassName": name, "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}}),
        );
    }
    let bound = |s: &SimState, n: &str| {
        get(s, "v1", "PersistentVolumeClaim", "app", n)["status"]["phase"] == "Bound"
    };
    reconcile_until(&state, "both claims bound", |s| {
        bound(s, "grow") && bound(s, "fixed")
    });

    resize(&state, "grow", "5Gi").expect("an expandable class grows");
    let mut cs = ControllerState::default();
    reconcile(&state, &mut cs);
    let pvc = get(&state, "v1", "PersistentVolumeClaim", "app", "grow");
    assert_eq!(
        pvc["status"]["conditions"][0]["type"],
        "FileSystemResizePending"
    );
    assert_eq!(pvc["status"]["capacity"]["storage"], "1Gi", "not yet");
    reconcile_until(&state, "the file system grew", |s| {
        get(s, "v1", "PersistentVolumeClaim", "app", "grow")["status"]["capacity"]["storage"]
            == "5Gi"
    });
    assert!(
        get(&state, "v1", "PersistentVolumeClaim", "app", "grow")["status"]["conditions"].is_null()
    );

    let e = resize(&state, "fixed", "5Gi").expect_err("a fixed class refuses");
    assert_eq!(e.code, 403);
    assert!(
        e.message
            .contains("storageclass that provisions the pvc must support resize"),
        "{}",
        e.message
    );
    let e = resize(&state, "grow", "2Gi").expect_err("no shrinking");
    assert_eq!(e.code, 422);
    assert!(
        e.message.contains("can not be less than previous value"),
        "{}",
        e.message
    );
}

fn statefulset(size: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "app"},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}]}})
}

#[test]
fn a_statefulset_recreated_after_an_orphaning_delete_adopts_its_pods() {
    let state = cluster(vec![]);
    create(&state, "apps/v1", "StatefulSet", "app", statefulset("1Gi"));
    reconcile_until(&state, "db-0 running", |s| {
        pods(s, "app")
            .iter()
            .any(|p| p["status"]["phase"] == "Running")
    });
    let first_uid = pods(&state, "app")[0]["metadata"]["uid"].clone();
    {
        let mut s = state.store.lock().expect("store");
        let t = s.type_for_kind("apps/v1", "StatefulSet").expect("type");
        s.delete(
            &t,
            "app",
            "db",
            crate::store::Propagation::Orphan,
            &WriteOpts::default(),
        )
        .expect("delete");
    }
    reconcile_until(&state, "the pod orphaned", |s| {
        pods(s, "app").iter().all(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_none_or(Vec::is_empty)
        })
    });
    create(&state, "apps/v1", "StatefulSet", "app", statefulset("2Gi"));
    reconcile_until(&state, "the new StatefulSet ready", |s| {
        get(s, "apps/v1", "StatefulSet", "app", "db")["status"]["readyReplicas"] == 1
    });
    let owner = &pods(&state, "app")[0]["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "StatefulSet");
    assert_eq!(owner["controller"], true);
    // The same pod (no duplicate ordinal), now owned by the new StatefulSet.
    let all = pods(&state, "app");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["metadata"]["uid"], first_uid);
}

/// A scan that found nothing is skipped while nothing it reads is written, and runs again
/// at the next write: a pod created after quiet rounds is still scheduled and started.
#[test]
fn quiet_scans_are_skipped_until_what_they_read_is_written() {
    let state = cluster(Vec::new());
    let mut cs = ControllerState::default();
    reconcile(&state, &mut cs);
    reconcile(&state, &mut cs);
    let pods_at = state
        .store
        .lock()
        .expect("store")
        .last_write(&(String::new(), "pods".into()));
    for scan in ["scheduler", "kubelet", "ephemeral"] {
        assert!(
            cs.quiet.contains_key(scan),
            "{scan} found nothing: {:?}",
            cs.quiet
        );
    }
    assert!(cs.quiet("kubelet", pods_at));
    create(
        &state,
        "v1",
        "Pod",
        "app",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "late", "namespace": "app"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    );
    // The same controller state, quiet until now, must see the new pod.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&state, "v1", "Pod", "app", "late")["status"]["phase"] != "Running" {
        assert!(Instant::now() < deadline, "the late pod never ran");
        reconcile(&state, &mut cs);
        if let Some(w) = cs.next_wake {
            std::thread::park_timeout(w.saturating_duration_since(Instant::now()));
        }
    }
    assert_ne!(
        get(&state, "v1", "Pod", "app", "late")["spec"]["nodeName"],
        Value::Null
    );
}

/// A `disk-filling` role's volume fills (the clock at time factor 0 fills it at once): the
/// kubelet's summary reports it full and its pod crash-loops with Kafka's own error.
#[test]
fn a_full_kafka_volume_is_reported_by_the_summary_and_crash_loops_its_broker() {
    let state = cluster(vec![Scenario::DiskFilling {
        role: "kafka".into(),
        mb_per_minute: 100,
        from_percent: 0,
    }]);
    let mut set = statefulset("1Gi");
    set["spec"]["template"]["metadata"]["labels"]["role"] = json!("kafka");
    create(&state, "apps/v1", "StatefulSet", "app", set);
    let waiting = |s: &SimState| {
        pods(s, "app").first().map(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    };
    reconcile_until(&state, "db-0 crash-loops", |s| {
        waiting(s).as_deref() == Some("CrashLoopBackOff")
    });
    let logs = state.logs.lock().expect("logs");
    let previous = &logs[&(
        "app".to_string(),
        "db-0".to_string(),
        "db".to_string(),
        true,
    )];
    assert!(
        previous
            .iter()
            .any(|l| l == "java.io.IOException: No space left on device"),
        "{previous:?}"
    );
    drop(logs);
    let node = pods(&state, "app")[0]["spec"]["nodeName"]
        .as_str()
        .expect("scheduled")
        .to_string();
    let store = state.store.lock().expect("store");
    // The kubelet reports only running pods' volumes: the broker runs between crashes.
    let summary = crate::volumes::summary(&state, &store, &node).expect("summary");
    let volumes: Vec<&Value> = summary["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .flat_map(|p| p["volume"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(volumes.len(), 1, "{summary}");
    let v = volumes[0];
    assert_eq!(
        v["pvcRef"],
        json!({"name": "data-db-0", "namespace": "app"})
    );
    assert_eq!(v["name"], "data");
    assert_eq!(v["capacityBytes"], 1_073_741_824u64);
    assert_eq!(v["usedBytes"], v["capacityBytes"]);
    assert_eq!(v["availableBytes"], 0);
    assert!(crate::volumes::summary(&state, &store, "nowhere").is_err());
}
