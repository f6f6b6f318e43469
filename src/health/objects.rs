//! The release's objects of one kind as `kubectl get` prints them, for the app's `:deploy`,
//! `:sts`, `:svc`, `:pvc`, `:events` and `:jobs` views: pure rows from the watchers' snapshot,
//! each with the pods it leads to, so a view drills down without asking the cluster again.

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Serialize;

use super::pods::{Members, State};
use crate::observed::Snapshot;
use crate::observed::podview::PodView;
use crate::time::short_age;

/// The kinds a `:` command lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Deployments,
    StatefulSets,
    Services,
    Claims,
    Events,
    Jobs,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 6] = [
        ObjectKind::Deployments,
        ObjectKind::StatefulSets,
        ObjectKind::Services,
        ObjectKind::Claims,
        ObjectKind::Events,
        ObjectKind::Jobs,
    ];

    /// The view's title, as k9s names it.
    pub fn title(self) -> &'static str {
        match self {
            ObjectKind::Deployments => "deployments",
            ObjectKind::StatefulSets => "statefulsets",
            ObjectKind::Services => "services",
            ObjectKind::Claims => "persistentvolumeclaims",
            ObjectKind::Events => "events",
            ObjectKind::Jobs => "jobs",
        }
    }

    /// kubectl's short name, which `:` accepts and rows are named with (`deploy/web`).
    pub fn short(self) -> &'static str {
        match self {
            ObjectKind::Deployments => "deploy",
            ObjectKind::StatefulSets => "sts",
            ObjectKind::Services => "svc",
            ObjectKind::Claims => "pvc",
            ObjectKind::Events => "events",
            ObjectKind::Jobs => "job",
        }
    }

    /// `kubectl get`'s columns for the kind.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            ObjectKind::Deployments => &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            ObjectKind::StatefulSets => &["NAME", "READY", "AGE"],
            ObjectKind::Services => &[
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
            ],
            ObjectKind::Claims => &[
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "ACCESS MODES",
                "STORAGECLASS",
                "AGE",
            ],
            ObjectKind::Events => &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            ObjectKind::Jobs => &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        }
    }
}

/// One object as a row of its kind's columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectRow {
    pub namespace: String,
    pub name: String,
    /// One per header.
    pub cells: Vec<String>,
    pub state: State,
    /// Where Enter leads.
    pub drill: Drill,
}

/// What a row opens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Drill {
    /// The pods it runs or selects, by name.
    Pods(Vec<String>),
    /// The Disks pane at this claim.
    Claim(String),
    /// A pod's details (an event about a pod).
    Pod(String),
    Nothing,
}

/// The release's objects of `kind`, as `kubectl get` sorts them (by name; events oldest
/// first, as they happened).
pub fn object_rows(
    snap: &Snapshot,
    release: Option<&str>,
    kind: ObjectKind,
    now: SystemTime,
) -> Vec<ObjectRow> {
    let members = Members::of(snap, release);
    let age = |m: &ObjectMeta| age_of(m.creation_timestamp.as_ref(), now);
    let mut rows: Vec<ObjectRow> = match kind {
        ObjectKind::Deployments => snap
            .deployments
            .iter()
            .filter(|d| members.workload("Deployment", &d.metadata))
            .map(|d| {
                let want = d.spec.replicas.unwrap_or(1);
                let st = d.status.clone().unwrap_or_default();
                let ready = st.ready_replicas.unwrap_or(0);
                let name = d.metadata.name.clone().unwrap_or_default();
                row(
                    &d.metadata,
                    vec![
                        name.clone(),
                        format!("{ready}/{want}"),
                        st.updated_replicas.unwrap_or(0).to_string(),
                        st.available_replicas.unwrap_or(0).to_string(),
                        age(&d.metadata),
                    ],
                    replicas_state(ready, want),
                    Drill::Pods(owned_pods(snap, &d.metadata, |p| replica_set_of(p, &name))),
                )
            })
            .collect(),
        ObjectKind::StatefulSets => snap
            .statefulsets
            .iter()
            .filter(|s| members.workload("StatefulSet", &s.metadata))
            .map(|s| {
                let want = s.spec.replicas.unwrap_or(1);
                let ready = s
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0);
                let name = s.metadata.name.clone().unwrap_or_default();
                row(
                    &s.metadata,
                    vec![name.clone(), format!("{ready}/{want}"), age(&s.metadata)],
                    replicas_state(ready, want),
                    Drill::Pods(owned_pods(snap, &s.metadata, |p| {
                        owner_named(p, "StatefulSet", &name)
                    })),
                )
            })
            .collect(),
        ObjectKind::Services => service_rows(snap, release, now),
        ObjectKind::Claims => claim_rows(snap, &members, release, now),
        ObjectKind::Events => {
            let others: Vec<(ObjectKind, Vec<ObjectRow>)> = ObjectKind::ALL
                .into_iter()
                .filter(|k| *k != ObjectKind::Events)
                .map(|k| (k, object_rows(snap, release, k, now)))
                .collect();
            return event_rows(snap, &members, release, &others, now);
        }
        ObjectKind::Jobs => job_rows(snap, release, now),
    };
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    rows
}

fn row(meta: &ObjectMeta, cells: Vec<String>, state: State, drill: Drill) -> ObjectRow {
    ObjectRow {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        cells,
        state,
        drill,
    }
}

fn age_of(t: Option<&Time>, now: SystemTime) -> String {
    let Some(t) = t else {
        return "<unknown>".into();
    };
    let then = SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(t.0.as_second().max(0).unsigned_abs());
    short_age(now.duration_since(then).unwrap_or_default().as_secs())
}

fn replicas_state(ready: i32, want: i32) -> State {
    match (ready, want) {
        (r, w) if r >= w => State::Ready,
        (0, _) => State::Unavailable,
        _ => State::Degraded,
    }
}

/// Whether helm made the object for `release` (its annotation or the release's labels).
fn of_release(meta: &ObjectMeta, release: Option<&str>) -> bool {
    let Some(r) = release else { return true };
    meta.annotations
        .as_ref()
        .and_then(|a| a.get("meta.helm.sh/release-name"))
        .is_some_and(|n| n == r)
        || super::pods::belongs(meta.labels.as_ref(), release)
}

fn owner_named(p: &PodView, kind: &str, name: &str) -> bool {
    p.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == kind && o.name == name)
}

/// A Deployment's pods: owned by one of its ReplicaSets (named after it and the template
/// hash the pod carries).
fn replica_set_of(p: &PodView, deployment: &str) -> bool {
    let hash = p
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"));
    p.metadata.owner_references.iter().flatten().any(|o| {
        o.kind == "ReplicaSet" && hash.is_some_and(|h| o.name == format!("{deployment}-{h}"))
    })
}

fn owned_pods(snap: &Snapshot, meta: &ObjectMeta, owned: impl Fn(&PodView) -> bool) -> Vec<String> {
    let mut names: Vec<String> = snap
        .pods
        .iter()
        .filter(|p| p.metadata.namespace == meta.namespace && owned(p))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    names
}

fn service_rows(snap: &Snapshot, release: Option<&str>, now: SystemTime) -> Vec<ObjectRow> {
    snap.services
        .iter()
        .filter(|s| of_release(&s.metadata, release))
        .map(|s| {
            let spec = s.spec.clone().unwrap_or_default();
            let selector: BTreeMap<String, String> = spec.selector.clone().unwrap_or_default();
            let external = s
                .status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .map(|i| {
                    i.iter()
                        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|e| !e.is_empty());
            let ty = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
            let external = match (external, ty.as_str()) {
                (Some(e), _) => e,
                (None, "LoadBalancer") => "<pending>".into(),
                (None, _) => "<none>".into(),
            };
            let ports = spec
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
                    match p.node_port {
                        Some(n) => format!("{}:{n}/{proto}", p.port),
                        None => format!("{}/{proto}", p.port),
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            let pods = if selector.is_empty() {
                Vec::new()
            } else {
                owned_pods(snap, &s.metadata, |p| {
                    let labels = p.metadata.labels.as_ref();
                    selector
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                })
            };
            let waiting = external == "<pending>";
            row(
                &s.metadata,
                vec![
                    s.metadata.name.clone().unwrap_or_default(),
                    ty,
                    spec.cluster_ip.clone().unwrap_or_else(|| "<none>".into()),
                    external,
                    if ports.is_empty() {
                        "<none>".into()
                    } else {
                        ports
                    },
                    age_of(s.metadata.creation_timestamp.as_ref(), now),
                ],
                if waiting {
                    State::Updating
                } else {
                    State::Ready
                },
                Drill::Pods(pods),
            )
        })
        .collect()
}

/// The claims the release's pods mount, and those labelled with the release (a
/// StatefulSet's claims outlive its pods).
fn claim_rows(
    snap: &Snapshot,
    members: &Members,
    release: Option<&str>,
    now: SystemTime,
) -> Vec<ObjectRow> {
    let mounted: std::collections::HashSet<(&str, &str)> = snap
        .pods
        .iter()
        .filter(|p| members.pod(p))
        .flat_map(|p| {
            let ns = p.metadata.namespace.as_deref().unwrap_or_default();
            p.spec
                .iter()
                .flat_map(|s| s.claims.iter())
                .map(move |c| (ns, c.as_str()))
        })
        .collect();
    snap.pvcs
        .iter()
        .filter(|c| {
            let key = (
                c.metadata.namespace.as_deref().unwrap_or_default(),
                c.metadata.name.as_deref().unwrap_or_default(),
            );
            release.is_none() || mounted.contains(&key) || of_release(&c.metadata, release)
        })
        .map(|c| {
            let spec = c.spec.clone().unwrap_or_default();
            let status = c.status.clone().unwrap_or_default();
            let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
            let capacity = status
                .capacity
                .as_ref()
                .and_then(|c| c.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default();
            let modes = spec
                .access_modes
                .iter()
                .flatten()
                .map(|m| match m.as_str() {
                    "ReadWriteOnce" => "RWO",
                    "ReadOnlyMany" => "ROX",
                    "ReadWriteMany" => "RWX",
                    "ReadWriteOncePod" => "RWOP",
                    other => other,
                })
                .collect::<Vec<_>>()
                .join(",");
            let state = match phase.as_str() {
                "Bound" => State::Ready,
                "Lost" => State::Unavailable,
                _ => State::Updating,
            };
            let name = c.metadata.name.clone().unwrap_or_default();
            row(
                &c.metadata,
                vec![
                    name.clone(),
                    phase,
                    spec.volume_name.clone().unwrap_or_default(),
                    capacity,
                    modes,
                    spec.storage_class_name.clone().unwrap_or_default(),
                    age_of(c.metadata.creation_timestamp.as_ref(), now),
                ],
                state,
                Drill::Claim(name),
            )
        })
        .collect()
}

fn job_rows(snap: &Snapshot, release: Option<&str>, now: SystemTime) -> Vec<ObjectRow> {
    snap.jobs
        .iter()
        .filter(|j| of_release(&j.metadata, release))
        .map(|j| {
            let want = j.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
            let st = j.status.clone().unwrap_or_default();
            let done = st.succeeded.unwrap_or(0);
            let condition = |ty: &str| {
                st.conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == ty && c.status == "True")
            };
            let (status, state) = if condition("Failed") {
                ("Failed", State::Unavailable)
            } else if condition("Complete") {
                ("Complete", State::Ready)
            } else {
                ("Running", State::Updating)
            };
            let secs = |t: &Option<Time>| t.as_ref().map(|t| t.0.as_second());
            let duration = match (secs(&st.start_time), secs(&st.completion_time)) {
                (Some(a), Some(b)) => short_age((b - a).max(0).unsigned_abs()),
                (Some(_), None) => age_of(st.start_time.as_ref(), now),
                _ => String::new(),
            };
            let name = j.metadata.name.clone().unwrap_or_default();
            row(
                &j.metadata,
                vec![
                    name.clone(),
                    status.into(),
                    format!("{done}/{want}"),
                    duration,
                    age_of(j.metadata.creation_timestamp.as_ref(), now),
                ],
                state,
                Drill::Pods(owned_pods(snap, &j.metadata, |p| {
                    owner_named(p, "Job", &name)
                })),
            )
        })
        .collect()
}

/// Every resource view's rows at once, in `ObjectKind::ALL`'s order: the events view's filter
/// reuses the other kinds' rows instead of listing them again.
pub fn all_object_rows(
    snap: &Snapshot,
    release: Option<&str>,
    now: SystemTime,
) -> Vec<(ObjectKind, Vec<ObjectRow>)> {
    let mut all: Vec<(ObjectKind, Vec<ObjectRow>)> = ObjectKind::ALL
        .into_iter()
        .filter(|k| *k != ObjectKind::Events)
        .map(|k| (k, object_rows(snap, release, k, now)))
        .collect();
    let members = Members::of(snap, release);
    let events = event_rows(snap, &members, release, &all, now);
    all.push((ObjectKind::Events, events));
    all.sort_by_key(|(k, _)| ObjectKind::ALL.iter().position(|a| a == k));
    all
}

/// Events about the release's pods, workloads, claims, Services and Jobs, oldest first.
fn event_rows(
    snap: &Snapshot,
    members: &Members,
    release: Option<&str>,
    others: &[(ObjectKind, Vec<ObjectRow>)],
    now: SystemTime,
) -> Vec<ObjectRow> {
    let ours: std::collections::HashSet<(String, String)> = if release.is_some() {
        let names = others.iter().flat_map(|(k, rows)| {
            rows.iter()
                .map(move |r| (kind_name(*k).to_string(), r.name.clone()))
        });
        let pods = snap
            .pods
            .iter()
            .filter(|p| members.pod(p))
            .filter_map(|p| Some(("Pod".to_string(), p.metadata.name.clone()?)));
        names.chain(pods).collect()
    } else {
        Default::default()
    };
    let mut events: Vec<_> = snap
        .events
        .iter()
        .filter(|e| {
            let o = &e.involved_object;
            release.is_none()
                || ours.contains(&(
                    o.kind.clone().unwrap_or_default(),
                    o.name.clone().unwrap_or_default(),
                ))
        })
        .collect();
    let when = |e: &k8s_openapi::api::core::v1::Event| {
        e.last_timestamp
            .as_ref()
            .or(e.first_timestamp.as_ref())
            .map(|t| t.0.as_second())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
            .or_else(|| {
                e.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.as_second())
            })
            .unwrap_or(0)
    };
    events.sort_by_key(|e| when(e));
    events
        .into_iter()
        .map(|e| {
            let o = &e.involved_object;
            let kind = o.kind.clone().unwrap_or_default();
            let name = o.name.clone().unwrap_or_default();
            let warning = e.type_.as_deref() == Some("Warning");
            let seen = Time(k8s_openapi::jiff::Timestamp::from_second(when(e)).unwrap_or_default());
            ObjectRow {
                namespace: e.metadata.namespace.clone().unwrap_or_default(),
                name: e.metadata.name.clone().unwrap_or_default(),
                cells: vec![
                    age_of(Some(&seen), now),
                    e.type_.clone().unwrap_or_default(),
                    e.reason.clone().unwrap_or_default(),
                    format!("{}/{name}", kind.to_lowercase()),
                    e.message.clone().unwrap_or_default(),
                ],
                state: if warning {
                    State::Degraded
                } else {
                    State::Ready
                },
                drill: if kind == "Pod" {
                    Drill::Pod(name)
                } else {
                    Drill::Nothing
                },
            }
        })
        .collect()
}

/// The `kind` an event's involved object names for rows of this view.
fn kind_name(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::Deployments => "Deployment",
        ObjectKind::StatefulSets => "StatefulSet",
        ObjectKind::Services => "Service",
        ObjectKind::Claims => "PersistentVolumeClaim",
        ObjectKind::Events => "Event",
        ObjectKind::Jobs => "Job",
    }
}
