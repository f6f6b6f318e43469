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

mod claims;
pub mod cronjobs;
mod daemonsets;
mod deployments;
mod jobs;
mod kubelet;
mod replicasets;
mod scheduler;
mod services;
mod statefulsets;

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
    /// The clock CronJobs' schedules run on (set on the first round).
    clock: Option<cronjobs::SimClock>,
    /// Scans that found nothing to do, with the last write of the types they read then.
    quiet: HashMap<&'static str, u64>,
    /// The ingress-nginx controllers among the pods, as of the pods' last write.
    nginx: Option<(u64, Vec<crate::ingress::Nginx>)>,
    /// Pods whose volume is full: they crash-loop until it has room again.
    pub disk_full: HashSet<String>,
}

/// The latest write to any of these types.
fn stamp(store: &Store, types: &[Gr]) -> u64 {
    types.iter().map(|t| store.last_write(t)).max().unwrap_or(0)
}

impl ControllerState {
    /// Whether the scan `what` would again find nothing: none of what it reads (`stamp`) was
    /// written since it last found nothing.
    fn quiet(&self, what: &'static str, stamp: u64) -> bool {
        self.quiet.get(what) == Some(&stamp)
    }

    /// Remembers whether the scan `what` found nothing to do as of `stamp`.
    fn settle(&mut self, what: &'static str, stamp: u64, idle: bool) {
        if idle {
            self.quiet.insert(what, stamp);
        } else {
            self.quiet.remove(what);
        }
    }

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
    let clock = cs
        .clock
        .take()
        .unwrap_or_else(|| cronjobs::SimClock::new(state.options.time_factor));
    cronjobs::cronjobs(&mut store, cs, &clock);
    cs.clock = Some(clock);
    deployments::deployments(&mut store);
    replicasets::replicasets(&mut store);
    statefulsets::statefulsets(&mut store);
    daemonsets::daemonsets(&mut store);
    jobs::jobs(&mut store);
    claims::claims(&mut store, scenarios);
    scheduler::schedule(&mut store, cs);
    kubelet::kubelet(&mut store, cs, state, scenarios);
    jobs::jobs(&mut store);
    replicasets::replicasets(&mut store);
    deployments::deployments(&mut store);
    statefulsets::statefulsets(&mut store);
    daemonsets::daemonsets(&mut store);
    services::services(
        &mut store,
        cs,
        state.options.flavor,
        scenarios.contains(&crate::Scenario::AwsLoadBalancerController),
    );
    services::ingresses(&mut store, cs);
}

fn list(store: &Store, g: &Gr) -> Vec<Value> {
    store
        .iter_gr(g, None)
        .map(std::borrow::Cow::into_owned)
        .collect()
}

fn pods_owned(store: &Store, ns: &str, uid: &str) -> Vec<Value> {
    store
        .iter_gr(&gr("", "pods"), Some(ns))
        .filter(|p| owned_by(p, uid))
        .map(std::borrow::Cow::into_owned)
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
        .map(std::borrow::Cow::into_owned)
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

/// The ControllerRevision of a StatefulSet's or DaemonSet's current template, as their
/// controllers keep one per template (what `kubectl rollout history` and `undo` read): named
/// after the hash, labelled like the pods, numbered after the owner's newest.
fn record_revision(store: &mut Store, owner: &Value, name: &str) {
    let ns = ns_of(owner);
    let cr_gr = gr("apps", "controllerrevisions");
    if store.has(&cr_gr, &ns, name) {
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

/// What `crashloop:ROLE` and `image-pull-error:ROLE` match a pod by: the stack's `role` label,
/// else the common `app.kubernetes.io/component` label, else `clickhouse` for the ClickHouse
/// operator's hosts (labelled by installation only), so every component of the vendor's chart
/// can be made to fail.
pub fn scenario_role(labels: &Value) -> String {
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
mod tests;
