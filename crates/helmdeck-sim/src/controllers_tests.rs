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
        .cloned()
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
