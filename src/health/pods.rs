//! Pod health as pure functions of a snapshot: one row per pod, one per component, a release
//! roll-up by the worst-state rule, and findings with a next step.

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Event;

use crate::observed::podview::PodView as Pod;
use serde::Serialize;

use super::{Finding, Severity, Subject};
use crate::observed::Snapshot;

/// A component's or a release's state, best first; a roll-up takes the worst of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ready,
    Updating,
    Degraded,
    Unavailable,
    Missing,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Updating => "updating",
            State::Degraded => "degraded",
            State::Unavailable => "unavailable",
            State::Missing => "missing",
        }
    }
}

/// Why a pod is not serving, when it is stuck rather than starting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodRow {
    pub name: String,
    pub namespace: String,
    pub component: String,
    pub phase: String,
    pub ready: u32,
    pub containers: u32,
    pub restarts: u32,
    pub age_secs: u64,
    pub node: String,
    /// The last container termination (e.g. `OOMKilled`, `Error (exit 1)`).
    pub last_termination: Option<String>,
    /// CrashLoopBackOff, ImagePullBackOff, Unschedulable, … — a pod that will not get ready
    /// by itself.
    pub problem: Option<Problem>,
    /// A finished Job pod: not expected to be ready.
    pub completed: bool,
    /// Its requests and limits, which its usage is a share of.
    #[serde(skip)]
    pub sized: crate::observed::podview::Sized,
}

impl PodRow {
    pub fn is_ready(&self) -> bool {
        self.containers > 0 && self.ready == self.containers && self.phase == "Running"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentRow {
    pub name: String,
    pub state: State,
    pub ready: u32,
    /// Replicas the workload asks for (pods seen, when no workload is known).
    pub desired: u32,
    pub pods: u32,
    pub restarts: u32,
}

/// Role words several sub-charts share (bitnami's PostgreSQL `role: master`, Redis
/// `component: master`, ingress-nginx `component: controller`): as a component name they would
/// merge unrelated services, so the chart's name label names the component instead.
const SHARED_ROLES: [&str; 9] = [
    "master",
    "primary",
    "replica",
    "slave",
    "controller",
    "server",
    "leader",
    "follower",
    "node",
];

/// The component a pod belongs to: the chart's `role` label, else the common label.
pub fn component_of(labels: Option<&BTreeMap<String, String>>) -> String {
    // The ClickHouse operator labels its hosts by installation, not by role.
    if labels.is_some_and(|l| l.contains_key("clickhouse.altinity.com/chi")) {
        return "clickhouse".into();
    }
    let Some(l) = labels else {
        return "other".into();
    };
    let role = l
        .get("role")
        .or_else(|| l.get("app.kubernetes.io/component"));
    let name = l.get("app.kubernetes.io/name").or_else(|| l.get("app"));
    match (role, name) {
        (Some(r), Some(n)) if SHARED_ROLES.contains(&r.as_str()) => {
            // `posthog-redis` of release `posthog` is the redis component.
            let release = l
                .get("app.kubernetes.io/instance")
                .or_else(|| l.get("release"));
            release
                .and_then(|r| n.strip_prefix(r.as_str())?.strip_prefix('-'))
                .filter(|rest| !rest.is_empty())
                .unwrap_or(n)
                .to_string()
        }
        (Some(r), _) => r.clone(),
        (None, Some(n)) => n.clone(),
        (None, None) => "other".into(),
    }
}

const STUCK_WAITING: [&str; 6] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
    "RunContainerError",
];

fn age(ts: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>, now: SystemTime) -> u64 {
    ts.and_then(|t| {
        let secs = t.0.as_second();
        let then = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
        now.duration_since(then).ok()
    })
    .map(|d| d.as_secs())
    .unwrap_or(0)
}

/// The newest FailedScheduling event for a pod, which explains a Pending pod.
fn scheduling_problem(pod: &str, ns: &str, events: &[std::sync::Arc<Event>]) -> Option<Problem> {
    events
        .iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(pod)
                && e.involved_object.namespace.as_deref() == Some(ns)
                && e.reason.as_deref() == Some("FailedScheduling")
        })
        .max_by_key(|e| {
            e.last_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
                .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
                .unwrap_or(0)
        })
        .map(|e| Problem {
            reason: "Unschedulable".into(),
            message: e.message.clone().unwrap_or_default(),
        })
}

pub fn pod_row(p: &Pod, events: &[std::sync::Arc<Event>], now: SystemTime) -> PodRow {
    let name = p.metadata.name.clone().unwrap_or_default();
    let namespace = p.metadata.namespace.clone().unwrap_or_default();
    let status = p.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    let cs: &[_] = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let declared = p.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0) as u32;
    let containers = declared.max(cs.len() as u32);
    let ready = cs.iter().filter(|c| c.ready).count() as u32;
    let restarts = cs.iter().map(|c| c.restart_count.max(0) as u32).sum();
    // A container that restarts keeps its last end in lastState; one that never restarts
    // (a Job's, restartPolicy Never) ends in state.
    let last_termination = cs.iter().find_map(|c| {
        let t = c
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .or_else(|| c.state.as_ref()?.terminated.as_ref())?;
        let reason = t.reason.clone().unwrap_or_else(|| "Terminated".into());
        Some(if reason == "OOMKilled" || t.exit_code == 0 {
            reason
        } else {
            format!("{reason} (exit {})", t.exit_code)
        })
    });
    let mut problem = cs.iter().find_map(|c| {
        let w = c.state.as_ref()?.waiting.as_ref()?;
        let reason = w.reason.clone()?;
        STUCK_WAITING.contains(&reason.as_str()).then(|| Problem {
            reason,
            message: w.message.clone().unwrap_or_default(),
        })
    });
    if problem.is_none() && phase == "Pending" {
        let unscheduled = status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
            c.iter().any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
        });
        problem = scheduling_problem(&name, &namespace, events).or_else(|| {
            unscheduled.then(|| Problem {
                reason: "Unschedulable".into(),
                message: String::new(),
            })
        });
    }
    if problem.is_none() && last_termination.as_deref() == Some("OOMKilled") && ready < containers {
        problem = Some(Problem {
            reason: "OOMKilled".into(),
            message: "the container ran out of memory".into(),
        });
    }
    PodRow {
        sized: p.sized(),
        component: component_of(p.metadata.labels.as_ref()),
        completed: phase == "Succeeded",
        node: p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default(),
        age_secs: age(p.metadata.creation_timestamp.as_ref(), now),
        name,
        namespace,
        phase,
        ready,
        containers,
        restarts,
        last_termination,
        problem,
    }
}

/// Pods of a release (`release` or `app.kubernetes.io/instance` label), or every pod.
pub fn belongs(labels: Option<&BTreeMap<String, String>>, release: Option<&str>) -> bool {
    match release {
        None => true,
        Some(r) => labels.is_some_and(|l| {
            l.get("release").map(String::as_str) == Some(r)
                || l.get("app.kubernetes.io/instance").map(String::as_str) == Some(r)
        }),
    }
}

/// What counts as the release's: pods with its labels, and pods of the workloads helm made for
/// it (every object helm creates carries its `meta.helm.sh/release-name` annotation — the
/// vendor chart's clickhouse-operator Deployment has no other mark) or whose template carries
/// its labels, and the ClickHouse operator's hosts (the vendor chart names its installation
/// `posthog` whatever the release is called, and the operator labels its pods by installation
/// only). Counting a pod too many can fail a check; missing one could call a release ready
/// while its database crash-loops.
pub struct Members<'a> {
    release: Option<&'a str>,
    /// (kind, namespace, name) of the release's Deployments and StatefulSets.
    workloads: std::collections::HashSet<(&'static str, String, String)>,
}

impl<'a> Members<'a> {
    pub fn of(snap: &Snapshot, release: Option<&'a str>) -> Members<'a> {
        let mut workloads_of_release = std::collections::HashSet::new();
        if let Some(r) = release {
            let ours = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                        template: Option<&BTreeMap<String, String>>| {
                meta.annotations
                    .as_ref()
                    .and_then(|a| a.get("meta.helm.sh/release-name"))
                    .map(String::as_str)
                    == Some(r)
                    || belongs(template, release)
                    || meta
                        .labels
                        .as_ref()
                        .is_some_and(|l| l.contains_key("clickhouse.altinity.com/chi"))
            };
            for (kind, meta, template, _) in workloads(snap) {
                let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
                if ours(meta, labels) {
                    let (ns, name) = ns_name(meta);
                    workloads_of_release.insert((kind, ns, name));
                }
            }
        }
        Members {
            release,
            workloads: workloads_of_release,
        }
    }

    pub fn pod(&self, p: &Pod) -> bool {
        let labels = p.metadata.labels.as_ref();
        if self.release.is_none()
            || belongs(labels, self.release)
            || labels.is_some_and(|l| l.contains_key("clickhouse.altinity.com/chi"))
        {
            return true;
        }
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let hash = labels.and_then(|l| l.get("pod-template-hash"));
        p.metadata.owner_references.iter().flatten().any(|o| {
            let owner = match o.kind.as_str() {
                // A ReplicaSet is named after its Deployment and the pod template's hash.
                "ReplicaSet" => hash
                    .and_then(|h| o.name.strip_suffix(h.as_str())?.strip_suffix('-'))
                    .map(|d| ("Deployment", d)),
                "StatefulSet" => Some(("StatefulSet", o.name.as_str())),
                _ => None,
            };
            owner.is_some_and(|(kind, name)| {
                self.workloads
                    .contains(&(kind, ns.clone(), name.to_string()))
            })
        })
    }

    pub fn workload(
        &self,
        kind: &'static str,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    ) -> bool {
        let (ns, name) = ns_name(meta);
        self.release.is_none() || self.workloads.contains(&(kind, ns, name))
    }
}

fn ns_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Whether an image reference names a moving tag: `:latest`, or no tag and no digest (which
/// the runtime reads as `:latest`).
pub fn moving_tag(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

/// The release's running images that name a moving tag, each with the components that run it, in a
/// stable order: whatever the tag points to on the day a pod starts is what runs.
pub fn unpinned_images(snap: &Snapshot, members: &Members) -> Vec<(String, Vec<String>)> {
    let mut by_image: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for p in snap.pods.iter().filter(|p| members.pod(p)) {
        // The images the kubelet reports running (the pod view keeps no spec images).
        let statuses = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref());
        for c in statuses.into_iter().flatten() {
            if moving_tag(&c.image) {
                by_image
                    .entry(c.image.clone())
                    .or_default()
                    .insert(component_of(p.metadata.labels.as_ref()));
            }
        }
    }
    by_image
        .into_iter()
        .map(|(i, c)| (i, c.into_iter().collect()))
        .collect()
}

/// One row per pod, in a stable order (component, then name).
pub fn pod_rows(snap: &Snapshot, members: &Members, now: SystemTime) -> Vec<PodRow> {
    let mut rows: Vec<PodRow> = snap
        .pods
        .iter()
        .filter(|p| members.pod(p))
        .map(|p| pod_row(p, &snap.events, now))
        .collect();
    // Names are unique within a namespace, so no two rows tie.
    rows.sort_unstable_by(|a, b| {
        (&a.namespace, &a.component, &a.name).cmp(&(&b.namespace, &b.component, &b.name))
    });
    rows
}

/// Replicas each component's workloads ask for.
fn desired(snap: &Snapshot, members: &Members) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for (kind, meta, template, replicas) in workloads(snap) {
        if members.workload(kind, meta) {
            let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
            *out.entry(component_of(labels)).or_default() += replicas.unwrap_or(1).max(0) as u32;
        }
    }
    out
}

/// The Deployments and StatefulSets of a snapshot: kind, metadata, pod template, replicas.
fn workloads(
    snap: &Snapshot,
) -> impl Iterator<
    Item = (
        &'static str,
        &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        &k8s_openapi::api::core::v1::PodTemplateSpec,
        Option<i32>,
    ),
> {
    let deployments = snap
        .deployments
        .iter()
        .map(|d| ("Deployment", &d.metadata, &d.spec.template, d.spec.replicas));
    let sets = snap.statefulsets.iter().map(|s| {
        (
            "StatefulSet",
            &s.metadata,
            &s.spec.template,
            s.spec.replicas,
        )
    });
    deployments.chain(sets)
}

/// The state of one component from its pods and the replicas wanted.
pub fn component_state(pods: &[&PodRow], desired: u32) -> State {
    let live: Vec<&&PodRow> = pods.iter().filter(|p| !p.completed).collect();
    let ready = live.iter().filter(|p| p.is_ready()).count() as u32;
    let stuck = live.iter().any(|p| p.problem.is_some());
    if desired > 0 && live.is_empty() {
        return State::Missing;
    }
    match (stuck, ready) {
        (true, 0) => State::Unavailable,
        (true, _) => State::Degraded,
        (false, r) if r >= desired.max(1) && r as usize == live.len() => State::Ready,
        (false, _) => State::Updating,
    }
}

pub fn components(snap: &Snapshot, rows: &[PodRow], members: &Members) -> Vec<ComponentRow> {
    let wanted = desired(snap, members);
    let mut by: BTreeMap<String, Vec<&PodRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.completed) {
        by.entry(r.component.clone()).or_default().push(r);
    }
    for name in wanted.keys() {
        by.entry(name.clone()).or_default();
    }
    by.into_iter()
        .map(|(name, pods)| {
            let desired = wanted.get(&name).copied().unwrap_or(pods.len() as u32);
            ComponentRow {
                state: component_state(&pods, desired),
                ready: pods.iter().filter(|p| p.is_ready()).count() as u32,
                pods: pods.len() as u32,
                restarts: pods.iter().map(|p| p.restarts).sum(),
                desired,
                name,
            }
        })
        .collect()
}

/// The release's state: the worst of its components (missing when there are none).
pub fn rollup(components: &[ComponentRow]) -> State {
    components
        .iter()
        .map(|c| c.state)
        .max()
        .unwrap_or(State::Missing)
}

fn next_step(row: &PodRow, p: &Problem) -> String {
    let (ns, name) = (&row.namespace, &row.name);
    match p.reason.as_str() {
        "CrashLoopBackOff" | "RunContainerError" => format!(
            "read why it exits: kubectl logs -n {ns} {name} --previous; then kubectl describe pod -n {ns} {name}"
        ),
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => format!(
            "check the image name and tag ({}.image / image.tag) and registry credentials (imagePullSecrets): kubectl describe pod -n {ns} {name}",
            row.component
        ),
        "OOMKilled" => format!(
            "raise the memory limit ({}.resources.limits.memory) or find the leak",
            row.component
        ),
        "Unschedulable" => "no node has room: add nodes or larger ones, or lower the resource requests (kubectl describe pod shows which resource is short)".into(),
        "CreateContainerConfigError" => format!(
            "a referenced ConfigMap or Secret is missing: kubectl describe pod -n {ns} {name}"
        ),
        _ => format!("kubectl describe pod -n {ns} {name}"),
    }
}

/// What needs attention, most severe first.
pub fn findings(rows: &[PodRow], components: &[ComponentRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in components {
        if c.state == State::Missing {
            out.push(Finding {
                severity: Severity::Critical,
                subject: Subject::Component(c.name.clone()),
                message: format!("{} wants {} pod(s) and has none", c.name, c.desired),
                next_step:
                    "kubectl get events --sort-by=.lastTimestamp shows why no pod was created"
                        .into(),
            });
        }
    }
    for r in rows {
        if let Some(p) = &r.problem {
            let severity = if components
                .iter()
                .any(|c| c.name == r.component && c.state == State::Unavailable)
            {
                Severity::Critical
            } else {
                Severity::Error
            };
            let detail = if p.message.is_empty() {
                String::new()
            } else {
                format!(": {}", p.message)
            };
            let restarts = if r.restarts > 0 {
                format!(" ({} restarts", r.restarts)
                    + &r.last_termination
                        .as_ref()
                        .map(|t| format!(", last: {t})"))
                        .unwrap_or_else(|| ")".into())
            } else {
                String::new()
            };
            out.push(Finding {
                severity,
                subject: Subject::Pod(r.name.clone()),
                message: format!("{}{restarts}{detail}", p.reason),
                next_step: next_step(r, p),
            });
        } else if r.restarts >= 2 && !r.completed {
            out.push(Finding {
                severity: Severity::Warning,
                subject: Subject::Pod(r.name.clone()),
                message: format!(
                    "restarted {} times{}",
                    r.restarts,
                    r.last_termination
                        .as_ref()
                        .map(|t| format!(" (last: {t})"))
                        .unwrap_or_default()
                ),
                next_step: format!("kubectl logs -n {} {} --previous", r.namespace, r.name),
            });
        } else if r.phase == "Failed" {
            out.push(Finding {
                severity: Severity::Error,
                subject: Subject::Pod(r.name.clone()),
                message: format!(
                    "failed{}",
                    r.last_termination
                        .as_ref()
                        .map(|t| format!(": {t}"))
                        .unwrap_or_default()
                ),
                next_step: format!("kubectl logs -n {} {}", r.namespace, r.name),
            });
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// The failing pod a run names as its cause: the one already named while it still fails (so
/// the cause does not jump between pods as their order changes), else the worst.
pub fn failing_pod<'a>(findings: &'a [Finding], named: Option<&str>) -> Option<&'a Finding> {
    let failing = |f: &&Finding| f.subject.pod().is_some() && f.severity >= Severity::Error;
    findings
        .iter()
        .filter(failing)
        .find(|f| named.is_some_and(|n| f.subject.pod() == Some(n)))
        .or_else(|| findings.iter().find(failing))
}

/// A pod's latest events (newest first, at most five), as `kubectl describe` lists them.
pub fn pod_events(snap: &Snapshot, pod: &str) -> Vec<String> {
    snap.events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(pod))
        .rev()
        .take(5)
        .map(|e| {
            format!(
                "{} {}: {}",
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> std::sync::Arc<Pod> {
        std::sync::Arc::new(serde_json::from_value(v).unwrap())
    }

    fn running(name: &str, role: &str, ready: bool, restarts: i32) -> std::sync::Arc<Pod> {
        pod(json!({
            "metadata": {"name": name, "namespace": "ph", "labels": {"role": role, "release": "ph"}},
            "spec": {"containers": [{"name": "c"}], "nodeName": "n1"},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "ready": ready, "restartCount": restarts, "image": "i:1", "imageID": "",
                "state": {"running": {}}
            }]}
        }))
    }

    #[test]
    fn latest_or_untagged_images_are_moving_tags_digests_and_versions_are_not() {
        for i in [
            "posthog/posthog:latest",
            "posthog/posthog",
            "registry:5000/app",
            "docker.io/library/redis:latest",
        ] {
            assert!(moving_tag(i), "{i}");
        }
        for i in [
            "posthog/posthog:release-1.43.0",
            "registry:5000/app:1.2",
            "app@sha256:ab",
            "app:latest@sha256:ab",
        ] {
            assert!(!moving_tag(i), "{i}");
        }
    }

    #[test]
    fn the_releases_latest_images_are_named_with_their_components() {
        let with_image = |name: &str, role: &str, image: &str| {
            pod(json!({
                "metadata": {"name": name, "namespace": "ph", "labels": {"role": role, "release": "ph"}},
                "status": {"phase": "Running", "containerStatuses": [{
                    "name": "c", "ready": true, "restartCount": 0, "image": image, "imageID": ""
                }]}
            }))
        };
        let snap = Snapshot {
            pods: vec![
                with_image("web-1", "web", "posthog/posthog:latest"),
                with_image("worker-1", "worker", "posthog/posthog:latest"),
                with_image("redis-0", "redis", "bitnami/redis:6.2.7"),
            ],
            ..Default::default()
        };
        let members = Members::of(&snap, Some("ph"));
        assert_eq!(
            unpinned_images(&snap, &members),
            [(
                "posthog/posthog:latest".to_string(),
                vec!["web".to_string(), "worker".to_string()]
            )]
        );
        let c = crate::health::image_check(&crate::health::pods_report(
            &snap,
            Some("ph"),
            SystemTime::now(),
        ))
        .expect("a warning");
        assert_eq!(c.verdict, crate::verdict::Verdict::Warn);
        assert!(
            c.message.contains("posthog/posthog:latest (web, worker)"),
            "{}",
            c.message
        );
        let pinned = Snapshot {
            pods: vec![with_image("web-1", "web", "posthog/posthog:release-1.43.0")],
            ..Default::default()
        };
        assert!(
            crate::health::image_check(&crate::health::pods_report(
                &pinned,
                Some("ph"),
                SystemTime::now()
            ))
            .is_none()
        );
    }

    #[test]
    fn rollout_progress_counts_wanted_replicas_and_the_releases_jobs() {
        let deploy: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ph"},
            "spec": {"replicas": 2, "selector": {},
                     "template": {"metadata": {"labels": {"role": "web", "release": "ph"}}}}
        }))
        .unwrap();
        let job =
            |name: &str,
             release: &str,
             succeeded: i32|
             -> std::sync::Arc<k8s_openapi::api::batch::v1::Job> {
                std::sync::Arc::new(serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ph", "labels": {"release": release}},
                "status": {"succeeded": succeeded}
            })).unwrap())
            };
        let snap = Snapshot {
            pods: vec![running("web-1", "web", true, 0)],
            deployments: vec![std::sync::Arc::new(deploy)],
            jobs: vec![job("migrate", "ph", 1), job("other", "not-ph", 0)],
            ..Default::default()
        };
        let report = crate::health::pods_report(&snap, Some("ph"), SystemTime::now());
        let p = crate::health::rollout_progress(&report, &snap, "ph");
        assert_eq!(
            (p.pods_ready, p.pods_expected, p.jobs_done, p.jobs_expected),
            (1, 2, 1, 1)
        );
        assert_ne!(
            p.state,
            State::Ready,
            "one of two replicas is not ready yet"
        );
    }

    #[test]
    fn worst_state_wins_and_crashloop_is_named() {
        let crash = pod(json!({
            "metadata": {"name": "web-1", "namespace": "ph", "labels": {"role": "web", "release": "ph"}},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "ready": false, "restartCount": 5, "image": "i:1", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}
            }]}
        }));
        let snap = Snapshot {
            pods: vec![crash, running("events-1", "events", true, 0)],
            ..Default::default()
        };
        let members = Members::of(&snap, Some("ph"));
        let rows = pod_rows(&snap, &members, SystemTime::now());
        let comps = components(&snap, &rows, &members);
        assert_eq!(
            comps.iter().find(|c| c.name == "web").unwrap().state,
            State::Unavailable
        );
        assert_eq!(
            comps.iter().find(|c| c.name == "events").unwrap().state,
            State::Ready
        );
        assert_eq!(rollup(&comps), State::Unavailable);
        let f = findings(&rows, &comps);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(
            f[0].message
                .starts_with("CrashLoopBackOff (5 restarts, last: Error (exit 1))"),
            "{}",
            f[0].message
        );
        assert!(f[0].next_step.contains("--previous"));
    }

    #[test]
    fn one_bad_replica_of_two_is_degraded_and_none_is_missing() {
        let bad = pod(json!({
            "metadata": {"name": "w-2", "namespace": "ph", "labels": {"role": "worker"}},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "c", "ready": false, "restartCount": 0, "image": "i:1", "imageID": "",
                "state": {"waiting": {"reason": "ImagePullBackOff"}}
            }]}
        }));
        let rows: Vec<PodRow> = [running("w-1", "worker", true, 0), bad]
            .iter()
            .map(|p| pod_row(p, &[], SystemTime::now()))
            .collect();
        let refs: Vec<&PodRow> = rows.iter().collect();
        assert_eq!(component_state(&refs, 2), State::Degraded);
        assert_eq!(component_state(&[], 1), State::Missing);
        let starting: Vec<PodRow> = [running("w-1", "worker", false, 0)]
            .iter()
            .map(|p| pod_row(p, &[], SystemTime::now()))
            .collect();
        assert_eq!(
            component_state(&starting.iter().collect::<Vec<_>>(), 1),
            State::Updating
        );
    }

    #[test]
    fn pending_pod_takes_its_reason_from_the_scheduler_event() {
        let p = pod(json!({
            "metadata": {"name": "ch-0", "namespace": "ph", "labels": {"role": "clickhouse"}},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending"}
        }));
        let e: std::sync::Arc<Event> = std::sync::Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "ch-0.1", "namespace": "ph"},
                "involvedObject": {"kind": "Pod", "name": "ch-0", "namespace": "ph"},
                "reason": "FailedScheduling",
                "message": "0/3 nodes are available: 3 Insufficient cpu."
            }))
            .unwrap(),
        );
        let row = pod_row(&p, &[e], SystemTime::now());
        let pr = row.problem.unwrap();
        assert_eq!(pr.reason, "Unschedulable");
        assert!(pr.message.contains("Insufficient cpu"));
    }

    #[test]
    fn shared_role_words_give_way_to_the_charts_name() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let of = |pairs: &[(&str, &str)]| component_of(Some(&labels(pairs)));
        // The vendor's own pods: their role.
        assert_eq!(of(&[("app", "posthog"), ("role", "web")]), "web");
        // bitnami PostgreSQL 8 and Redis 16, and ingress-nginx, as the vendor chart renders them.
        assert_eq!(
            of(&[
                ("app", "posthog-postgresql"),
                ("role", "master"),
                ("release", "posthog")
            ]),
            "postgresql"
        );
        assert_eq!(
            of(&[
                ("app.kubernetes.io/component", "master"),
                ("app.kubernetes.io/instance", "posthog"),
                ("app.kubernetes.io/name", "posthog-redis"),
            ]),
            "redis"
        );
        assert_eq!(
            of(&[
                ("app.kubernetes.io/component", "controller"),
                ("app.kubernetes.io/instance", "posthog"),
                ("app.kubernetes.io/name", "ingress-nginx"),
            ]),
            "ingress-nginx"
        );
        assert_eq!(of(&[("app", "clickhouse-operator")]), "clickhouse-operator");
        assert_eq!(
            of(&[("clickhouse.altinity.com/chi", "posthog")]),
            "clickhouse"
        );
        // A shared word with nothing better stays.
        assert_eq!(of(&[("role", "master")]), "master");
        assert_eq!(component_of(None), "other");
    }

    #[test]
    fn the_named_failing_pod_stays_named_while_it_fails() {
        let f = |severity, subject: &str| Finding {
            severity,
            subject: match subject.split_once(' ') {
                Some(("pod", n)) => Subject::Pod(n.into()),
                Some((_, n)) => Subject::Component(n.into()),
                None => Subject::Component(subject.into()),
            },
            message: String::new(),
            next_step: String::new(),
        };
        let findings = [
            f(Severity::Critical, "component web"),
            f(Severity::Critical, "pod web-2"),
            f(Severity::Error, "pod worker-1"),
            f(Severity::Warning, "pod events-1"),
        ];
        let subject = |named| failing_pod(&findings, named).map(|x| x.subject.to_string());
        assert_eq!(subject(None).as_deref(), Some("pod web-2"));
        assert_eq!(subject(Some("worker-1")).as_deref(), Some("pod worker-1"));
        // A warning is not a failure; a pod no longer failing gives way to the worst.
        assert_eq!(subject(Some("events-1")).as_deref(), Some("pod web-2"));
        assert_eq!(subject(Some("gone-1")).as_deref(), Some("pod web-2"));
        assert_eq!(failing_pod(&findings[3..], None), None);
    }
}
