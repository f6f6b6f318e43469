//! Live cluster state for the panes and `helmdeck check`: one follower (list, then watch)
//! per kind, scoped to a namespace. Watchers reconnect on their own after errors and keep the
//! last known state meanwhile; each reports whether it is live, so the UI can say how fresh
//! what it shows is.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Service};

use super::follow::{Cache, Follow, Progress};
use crate::observed::podview::PodView;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Resource;
use kube::api::Api;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use crate::observed::{Connection, Snapshot};

/// Which objects to watch.
#[derive(Debug, Clone)]
pub struct Scope {
    /// None: every namespace.
    pub namespace: Option<String>,
    /// Pods, events and their workloads.
    pub pods: bool,
    /// Claims, volumes and storage classes.
    pub disks: bool,
}

impl Scope {
    pub fn everything(namespace: Option<String>) -> Scope {
        Scope {
            namespace,
            pods: true,
            disks: true,
        }
    }
}

const KINDS: usize = 9;
const KIND_NAMES: [&str; KINDS] = [
    "pods",
    "persistentvolumeclaims",
    "persistentvolumes",
    "storageclasses",
    "events",
    "jobs",
    "deployments",
    "statefulsets",
    "services",
];

fn keep<K>(_: &mut K) {}

/// Annotations are not read; on big clusters they are a good part of what is left. A decoded
/// pod's spec and status keep the room their lists grew into and the holes left between them
/// by what decoding skipped; a copy of the two is packed. At 100,000 pods that was 55 MB of
/// `check --pods -A`'s 440 (measured with and without, /usr/bin/time's peak RSS).
fn trim_pod(p: &mut PodView) {
    p.metadata.annotations = None;
    p.spec = p.spec.clone();
    p.status = p.status.clone();
}

/// Watchers one part of the program runs and lends to another: the app lends its own to the
/// engine, so an install it runs follows the rollout and verifies from the same stores the
/// dashboard shows instead of listing and watching everything a second time. Compared by
/// identity.
#[derive(Clone)]
pub struct SharedWatch {
    scope: Scope,
    watch: Arc<ClusterWatch>,
    /// How many times a borrower read it instead of starting its own.
    borrowed: Arc<std::sync::atomic::AtomicUsize>,
}

impl SharedWatch {
    pub fn new(watch: ClusterWatch, scope: Scope) -> SharedWatch {
        SharedWatch {
            scope,
            watch: Arc::new(watch),
            borrowed: Arc::default(),
        }
    }

    /// The watchers, for their owner.
    pub fn get(&self) -> &ClusterWatch {
        &self.watch
    }

    /// The watchers, when they cover `namespace` with what is asked (pods, disks).
    pub fn lend(&self, namespace: &str, pods: bool, disks: bool) -> Option<Arc<ClusterWatch>> {
        let s = &self.scope;
        let covers = s.namespace.as_deref().is_none_or(|n| n == namespace)
            && (s.pods || !pods)
            && (s.disks || !disks);
        covers.then(|| {
            self.borrowed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.watch.clone()
        })
    }

    /// How many times the watchers were lent.
    pub fn borrowed(&self) -> usize {
        self.borrowed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::fmt::Debug for SharedWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWatch")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SharedWatch {
    fn eq(&self, o: &SharedWatch) -> bool {
        Arc::ptr_eq(&self.watch, &o.watch)
    }
}

/// The running watchers. Dropping it stops them.
pub struct ClusterWatch {
    pods: Cache<PodView>,
    pvcs: Cache<PersistentVolumeClaim>,
    pvs: Cache<PersistentVolume>,
    storage_classes: Cache<StorageClass>,
    events: Cache<Event>,
    jobs: Cache<Job>,
    deployments: Cache<Deployment>,
    statefulsets: Cache<StatefulSet>,
    services: Cache<Service>,
    state: watch::Receiver<[Connection; KINDS]>,
    changes: watch::Receiver<u64>,
    cancel: CancellationToken,
}

impl Drop for ClusterWatch {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Shared {
    state: watch::Sender<[Connection; KINDS]>,
    changes: watch::Sender<u64>,
    cancel: CancellationToken,
}

impl Shared {
    /// Records how a kind's watcher is doing. Only a real change bumps `changes`: a watch
    /// re-opened on a quiet cluster (every window, per kind) or a failure already shown must
    /// not make the app rebuild its views.
    fn report(&self, index: usize, p: Progress) {
        let changed = match p {
            // Live once the first full list has landed, or once the server answers again.
            Progress::Listed | Progress::Watching => {
                let flipped = self.state.send_if_modified(|s| {
                    let was = s[index] != Connection::Live;
                    s[index] = Connection::Live;
                    was
                });
                flipped || matches!(p, Progress::Listed)
            }
            Progress::Changed => true,
            Progress::Failed(reason) => self.state.send_if_modified(|s| match &s[index] {
                Connection::Reconnecting { .. } => false,
                _ => {
                    s[index] = Connection::Reconnecting {
                        since: SystemTime::now(),
                        reason: short(&reason),
                    };
                    true
                }
            }),
        };
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
    }
}

fn api<K>(client: &kube::Client, scope: &Scope, namespaced: bool) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match (&scope.namespace, namespaced) {
        (Some(ns), true) => Api::namespaced(client.clone(), ns),
        _ => Api::all(client.clone()),
    }
}

fn spawn_kind<K>(
    api: Api<K>,
    index: usize,
    shared: Arc<Shared>,
    wanted: bool,
    trim: fn(&mut K),
) -> Cache<K>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let cache = Cache::default();
    if !wanted {
        shared.state.send_modify(|s| s[index] = Connection::Live);
        return cache;
    }
    let follow = Follow {
        api,
        page: 500,
        window: super::WATCH_WINDOW_SECS,
        trim,
    };
    let reader = cache.clone();
    tokio::spawn(async move {
        let report = |p: Progress| shared.report(index, p);
        tokio::select! {
            _ = follow.run(cache, report) => {}
            _ = shared.cancel.cancelled() => {}
        }
    });
    reader
}

fn short(s: &str) -> String {
    let s = s.lines().next().unwrap_or_default();
    if s.len() > 120 {
        format!("{}…", &s[..s.floor_char_boundary(120)])
    } else {
        s.to_string()
    }
}

/// How often a quiet cluster is asked whether it still answers.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Keeps the connection state honest in both directions. A watch on a server that stopped
/// answering hears nothing, which looks like a quiet cluster: so while every watcher is live,
/// the server is asked for its version every few seconds, and one that does not answer within
/// the request timeout marks every watcher stale at once (the watches themselves notice only
/// after their window). A resumed watch yields nothing until something changes, so recovery
/// is seen the same way: once the server answers, the watchers are live again.
async fn keep_honest(client: kube::Client, shared: Arc<Shared>) {
    let mut st = shared.state.subscribe();
    loop {
        let broken = st
            .borrow_and_update()
            .iter()
            .any(|c| matches!(c, Connection::Reconnecting { .. }));
        if broken {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                _ = shared.cancel.cancelled() => return,
            }
            if answers(&client).await.is_ok() {
                shared.state.send_modify(|s| {
                    for c in s.iter_mut() {
                        if matches!(c, Connection::Reconnecting { .. }) {
                            *c = Connection::Live;
                        }
                    }
                });
                shared.changes.send_modify(|n| *n += 1);
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT) => {}
            r = st.changed() => if r.is_err() { return } else { continue },
            _ = shared.cancel.cancelled() => return,
        }
        let all_live = st.borrow().iter().all(|c| *c == Connection::Live);
        if !all_live {
            continue;
        }
        if let Err(reason) = answers(&client).await {
            shared.state.send_modify(|s| {
                for c in s.iter_mut() {
                    if *c == Connection::Live {
                        *c = Connection::Reconnecting {
                            since: SystemTime::now(),
                            reason: reason.clone(),
                        };
                    }
                }
            });
            shared.changes.send_modify(|n| *n += 1);
        }
    }
}

/// Whether the API server answers within the request timeout. A refusal (401, 403, …) is an
/// answer: only silence and a broken connection count against it.
async fn answers(client: &kube::Client) -> Result<(), String> {
    let wait = super::request_timeout();
    match tokio::time::timeout(wait, client.apiserver_version()).await {
        Err(_) => Err(format!(
            "the API server did not answer within {} s",
            wait.as_secs()
        )),
        Ok(Err(kube::Error::Api(_))) | Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(short(&e.to_string())),
    }
}

impl ClusterWatch {
    /// Starts a watcher per kind on the current tokio runtime. The client should be a
    /// [`Target::watch_client`](super::Target::watch_client): a request client's read
    /// deadline would cut quiet watches short.
    pub fn start(client: &kube::Client, scope: Scope) -> ClusterWatch {
        let (state_tx, state) = watch::channel(std::array::from_fn(|_| Connection::Connecting));
        let (changes_tx, changes) = watch::channel(0u64);
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            state: state_tx,
            changes: changes_tx,
            cancel: cancel.clone(),
        });
        let s = &scope;
        tokio::spawn(keep_honest(client.clone(), shared.clone()));
        ClusterWatch {
            pods: spawn_kind(
                api::<PodView>(client, s, true),
                0,
                shared.clone(),
                s.pods,
                trim_pod,
            ),
            pvcs: spawn_kind(
                api::<PersistentVolumeClaim>(client, s, true),
                1,
                shared.clone(),
                s.disks,
                keep,
            ),
            pvs: spawn_kind(
                Api::<PersistentVolume>::all(client.clone()),
                2,
                shared.clone(),
                s.disks,
                keep,
            ),
            storage_classes: spawn_kind(
                Api::<StorageClass>::all(client.clone()),
                3,
                shared.clone(),
                s.disks,
                keep,
            ),
            events: spawn_kind(
                api::<Event>(client, s, true),
                4,
                shared.clone(),
                s.pods,
                keep,
            ),
            jobs: spawn_kind(api::<Job>(client, s, true), 5, shared.clone(), s.pods, keep),
            deployments: spawn_kind(
                api::<Deployment>(client, s, true),
                6,
                shared.clone(),
                s.pods,
                keep,
            ),
            statefulsets: spawn_kind(
                api::<StatefulSet>(client, s, true),
                7,
                shared.clone(),
                s.pods,
                keep,
            ),
            services: spawn_kind(api::<Service>(client, s, true), 8, shared, s.pods, keep),
            state,
            changes,
            cancel,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            pods: self.pods.state(),
            pvcs: self.pvcs.state(),
            pvs: self.pvs.state(),
            storage_classes: self.storage_classes.state(),
            events: self.events.state(),
            jobs: self.jobs.state(),
            deployments: self.deployments.state(),
            statefulsets: self.statefulsets.state(),
            services: self.services.state(),
        }
    }

    /// The worst connection state across the watchers, naming the kind when not live.
    pub fn connection(&self) -> (Connection, Option<&'static str>) {
        let s = self.state.borrow();
        let (i, c) = s
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| c.rank())
            .map(|(i, c)| (i, c.clone()))
            .unwrap_or((0, Connection::Connecting));
        let kind = (c != Connection::Live).then_some(KIND_NAMES[i]);
        (c, kind)
    }

    /// Bumps whenever anything changes; the UI redraws on it.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Waits until every watcher has listed once, or the deadline passes; returns whether
    /// they all did.
    pub async fn synced(&self, within: Duration) -> bool {
        let mut st = self.state.clone();
        tokio::time::timeout(
            within,
            st.wait_for(|s| s.iter().all(|c| *c == Connection::Live)),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_changes_the_view_bumps_changes() {
        let (state, _s) = watch::channel(std::array::from_fn(|_| Connection::Connecting));
        let (changes, seen) = watch::channel(0u64);
        let shared = Shared {
            state,
            changes,
            cancel: CancellationToken::new(),
        };
        let bumps = |p: Progress| {
            let before = *seen.borrow();
            shared.report(0, p);
            *seen.borrow() - before
        };
        assert_eq!(bumps(Progress::Listed), 1, "a full list replaces the data");
        assert_eq!(
            bumps(Progress::Watching),
            0,
            "a re-opened watch changes nothing"
        );
        assert_eq!(bumps(Progress::Changed), 1);
        assert_eq!(
            bumps(Progress::Failed("gone".into())),
            1,
            "now reconnecting"
        );
        assert_eq!(bumps(Progress::Failed("gone".into())), 0, "already shown");
        assert_eq!(bumps(Progress::Watching), 1, "live again");
        assert_eq!(bumps(Progress::Watching), 0);
    }
}
