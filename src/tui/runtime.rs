//! The app's side of the engine: campaigns and rollbacks run on their own tasks, their events
//! and questions reach the UI as messages, and the UI's answers come back on the reply each
//! question carries. Nothing here holds the app's state.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::Launch;
use super::messages::{self as app, Effect, Msg, PlanTicket};
use super::screens::wizard;
use crate::cluster::Target;
use crate::cluster::probe::{self, ProbeTiming, Transport};
use crate::cluster::watch::{ClusterWatch, Scope, SharedWatch};
use crate::deploy;
use crate::profile::IngestionSettings;

/// What effects need to know of the app: the release and namespace it shows and the probe
/// settings of the profile that judges it (the root reads them off the app).
pub(super) struct Focus {
    pub namespace: String,
    pub release: String,
    pub probe: IngestionSettings,
}

/// Forwards engine events to the app until the engine drops its sender.
fn forward(tx: &UnboundedSender<Msg>) -> (UnboundedSender<deploy::Event>, JoinHandle<()>) {
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let tx = tx.clone();
    let fwd = tokio::spawn(async move {
        while let Some(e) = erx.recv().await {
            let _ = tx.send(Msg::Engine(e));
        }
    });
    (etx, fwd)
}

/// Runs the walkthrough's campaign: the answers are kept as a private draft first, so nothing
/// typed is lost if anything fails; then stop by stop, each plan shown and waited on.
pub fn spawn_campaign(intent: deploy::Intent, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut pilot = AppPilot {
            tx: tx.clone(),
            said: None,
        };
        let outcome = async {
            save_draft(&intent).map_err(deploy::Outcome::bad_input)?;
            let campaign = deploy::Campaign::prepare(intent, false).await?;
            Ok::<_, deploy::Outcome>(campaign.run(&mut pilot).await)
        }
        .await
        .unwrap_or_else(|o| o);
        // An end no stage reported (a way that is blocked, a bad draft) is the plan's answer;
        // a no came from the user, who knows.
        if pilot.said.as_ref() != Some(&outcome) && outcome != deploy::Outcome::Declined {
            let _ = tx.send(Msg::PlanDone(Err(outcome)));
        }
    });
}

/// The app's side of a campaign: each stage's events and outcome as messages, and each
/// question as a message carrying the reply the campaign waits on.
struct AppPilot {
    tx: UnboundedSender<Msg>,
    /// The last outcome a message reported.
    said: Option<deploy::Outcome>,
}

impl AppPilot {
    async fn wait(
        &self,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<deploy::Answer>,
    ) -> deploy::Answer {
        // Every reply dropped unanswered is a no.
        rx.recv().await.unwrap_or(deploy::Answer::No)
    }
}

impl deploy::Pilot for AppPilot {
    fn path(&mut self, _path: &crate::chart::upgrade_path::UpgradePath) {
        // The walkthrough's Notes step showed it before the campaign started.
    }

    async fn acknowledge(&mut self, at: &deploy::StopAt, steps: &[String]) -> deploy::Answer {
        let (reply, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = self.tx.send(Msg::Acknowledge(Box::new(app::AckRequest {
            stop: at.clone(),
            steps: steps.to_vec(),
            reply: app::Reply::new(reply),
        })));
        self.wait(&mut rx).await
    }

    async fn plan(
        &mut self,
        at: &deploy::StopAt,
        work: impl AsyncFnOnce(
            &UnboundedSender<deploy::Event>,
        ) -> Result<deploy::PlannedDeploy, deploy::Outcome>,
    ) -> Result<deploy::PlannedDeploy, deploy::Outcome> {
        let _ = self.tx.send(Msg::Planning(at.clone()));
        let (etx, fwd) = forward(&self.tx);
        let planned = work(&etx).await;
        drop(etx);
        let _ = fwd.await;
        if let Err(o) = &planned {
            self.said = Some(o.clone());
            let _ = self.tx.send(Msg::PlanDone(Err(o.clone())));
        }
        planned
    }

    async fn confirm(&mut self, at: &deploy::StopAt, plan: &deploy::Plan) -> deploy::Answer {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let (reply, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = self.tx.send(Msg::PlanDone(Ok(Box::new(PlanTicket {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            plan: plan.clone(),
            stop: at.clone(),
            reply: app::Reply::new(reply),
        }))));
        self.wait(&mut rx).await
    }

    async fn apply(
        &mut self,
        _at: &deploy::StopAt,
        work: impl AsyncFnOnce(&UnboundedSender<deploy::Event>) -> deploy::Outcome,
    ) -> deploy::Outcome {
        let (etx, fwd) = forward(&self.tx);
        let o = work(&etx).await;
        drop(etx);
        let _ = fwd.await;
        self.said = Some(o.clone());
        let _ = self.tx.send(Msg::ApplyDone(o.clone()));
        o
    }

    fn stopped(&mut self, _at: &deploy::StopAt, _outcome: &deploy::Outcome) {
        // The run screen shows the outcome; the walkthrough kept for the next stop goes.
    }
}

/// The claims' usage from the kubelets of the nodes their pods run on, every 15 s as the pod
/// usage (the kubelet measures volumes about once a minute; asking sooner shows a filling
/// disk's growth sooner).
fn spawn_volume_usage(
    client: kube::Client,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    shared: SharedWatch,
) -> tokio::task::JoinHandle<()> {
    use crate::cluster::disk_usage;
    tokio::spawn(async move {
        loop {
            let nodes = disk_usage::nodes_of(&shared.get().snapshot());
            let every = if nodes.is_empty() {
                2
            } else {
                let (usage, unread) = disk_usage::read(&client, &nodes).await;
                if tx.send(Msg::Volumes(usage, unread)).is_err() {
                    return;
                }
                15
            };
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    })
}

fn save_draft(intent: &deploy::Intent) -> Result<(), String> {
    let data_dir = crate::dirs::data_dir().ok_or("no data directory: set HELMDECK_DATA_DIR")?;
    let draft = data_dir
        .join("drafts")
        .join(intent.target.scope_key())
        .join(format!(
            "{}-{}-answers.yaml",
            intent.namespace, intent.release
        ));
    let answers = intent
        .values
        .answers
        .as_ref()
        .map(|a| a.given.clone())
        .unwrap_or_default();
    let yaml =
        serde_yaml::to_string(&serde_json::Value::Object(answers)).map_err(|e| e.to_string())?;
    crate::private_files::private_file(&draft, yaml.as_bytes()).map_err(|e| e.to_string())
}

/// Finds the helm an earlier helmdeck left running for the release and follows it to its end.
fn spawn_reattach(
    release: String,
    namespace: String,
    target: Target,
    watch: Option<SharedWatch>,
    tx: UnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        let run = crate::dirs::data_dir().and_then(|d| {
            crate::helm::runs::find(
                &d,
                &namespace,
                &release,
                target.kubeconfig_path().as_deref(),
                target.context.as_deref(),
            )
        });
        let (Some(run), Ok(bin)) = (run, crate::helm::find_helm()) else {
            let _ = tx.send(Msg::Reattached(Err(format!(
                "no install, upgrade or rollback in this session, and no helm started by helmdeck is running for {release} in {namespace}"
            ))));
            return;
        };
        let _ = tx.send(Msg::Reattached(Ok(Box::new(run.clone()))));
        let helm =
            crate::helm::driver::Helm::new(bin, target.kubeconfig_path(), target.context.clone());
        let (etx, fwd) = forward(&tx);
        let o = deploy::reattach(&run, &helm, &target, watch, &etx).await;
        drop(etx);
        let _ = fwd.await;
        let _ = tx.send(Msg::ApplyDone(o));
    });
}

pub fn spawn_rollback(
    plan: deploy::RollbackPlan,
    target: Target,
    watch: Option<SharedWatch>,
    tx: UnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        let outcome = match (crate::helm::find_helm(), crate::dirs::data_dir()) {
            (Ok(bin), Some(data)) => {
                let helm = crate::helm::driver::Helm::new(
                    bin,
                    target.kubeconfig_path(),
                    target.context.clone(),
                );
                let (etx, fwd) = forward(&tx);
                let o = deploy::rollback(
                    &helm,
                    &deploy::RollbackRequest {
                        release: &plan.release,
                        namespace: &plan.namespace,
                        revision: plan.to.revision,
                        from: plan.from.revision,
                        timeout_secs: deploy::DEFAULT_TIMEOUT_SECS,
                        watch,
                    },
                    &data,
                    &target,
                    etx,
                )
                .await;
                let _ = fwd.await;
                o
            }
            (Err(e), _) => deploy::Outcome::BadInput {
                message: e.to_string(),
            },
            (_, None) => deploy::Outcome::BadInput {
                message: "no data directory".into(),
            },
        };
        let _ = tx.send(Msg::ApplyDone(outcome));
    });
}

/// What the event loop does after an effect.
pub(super) enum Next {
    Go,
    Quit,
    /// Hand the terminal to $EDITOR for this file (only the loop owns the terminal).
    Edit(std::path::PathBuf),
}

/// A `:ctx` switch's clients, tagged with the switch it answers.
pub(super) type Connected = (u64, String, Result<Clients, String>);

/// Carries out the app's effects: the cluster's clients and background workers for the
/// context shown, and the tasks effects start. Each result comes back as a message.
pub(super) struct Runtime {
    tx: UnboundedSender<Msg>,
    target: Target,
    /// Built once per context: every effect shares them (kube clients clone cheaply).
    kube: Result<Clients, String>,
    workers: Option<Workers>,
    connected_tx: UnboundedSender<Connected>,
    /// The newest `:ctx` switch: only its answer counts.
    connecting: u64,
    probe_key: Option<probe::ProbeKeys>,
}

impl Runtime {
    /// Connects to the launch's cluster and starts its workers (a failure is the app's
    /// message), and finds helm off the UI.
    /// Returns why the cluster could not be reached, for the app to say.
    pub(super) async fn start(
        launch: &Launch,
        focus: Focus,
        tx: UnboundedSender<Msg>,
    ) -> (
        Runtime,
        tokio::sync::mpsc::UnboundedReceiver<Connected>,
        Option<String>,
    ) {
        let target = launch.target.clone();
        let kube = clients(&target).await;
        let (workers, unreachable) = match kube.clone() {
            Ok(c) => (
                Some(start_workers(
                    c,
                    focus.namespace,
                    focus.release,
                    launch.probe_key.clone(),
                    focus.probe,
                    tx.clone(),
                )),
                None,
            ),
            Err(e) => (None, Some(e)),
        };
        {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let h = crate::helm::find_helm().map(|h| h.version).map_err(|_| {
                    "run scripts/get-helm, put helm on PATH, or set HELMDECK_HELM".to_string()
                });
                let _ = tx.send(Msg::Helm(h));
            });
        }
        let (connected_tx, connected_rx) = tokio::sync::mpsc::unbounded_channel();
        let rt = Runtime {
            tx,
            target,
            kube,
            workers,
            connected_tx,
            connecting: 0,
            probe_key: launch.probe_key.clone(),
        };
        (rt, connected_rx, unreachable)
    }

    /// A `:ctx` switch connected or failed: the message for the app, none for an older
    /// switch (the old cluster stays until the newest connects).
    pub(super) fn connected(&mut self, c: Connected, focus: Focus) -> Option<Msg> {
        let (generation, ctx, result) = c;
        if generation != self.connecting {
            return None;
        }
        Some(match result {
            Ok(c) => {
                self.target.context = Some(ctx.clone());
                self.kube = Ok(c.clone());
                self.workers = Some(start_workers(
                    c,
                    focus.namespace,
                    focus.release,
                    self.probe_key.clone(),
                    focus.probe,
                    self.tx.clone(),
                ));
                Msg::ContextSwitched(
                    ctx,
                    Ok(app::Switched {
                        tls_unverified: self.target.entries().is_some_and(|e| e.insecure),
                        simulated: self.target.is_simulated(),
                        scope: self.target.scope_key(),
                    }),
                )
            }
            Err(e) => Msg::ContextSwitched(ctx, Err(e)),
        })
    }

    pub(super) fn execute(&mut self, e: Effect, focus: &Focus) -> Next {
        match e {
            Effect::Quit => return Next::Quit,
            Effect::SwitchNamespace(ns) => {
                self.workers = None;
                if let Ok(c) = self.kube.clone() {
                    self.workers = Some(start_workers(
                        c,
                        ns,
                        focus.release.clone(),
                        self.probe_key.clone(),
                        focus.probe.clone(),
                        self.tx.clone(),
                    ));
                }
                if let Some(w) = &self.workers {
                    w.probe_now.notify_one();
                }
            }
            Effect::SwitchContext(ctx) => {
                // Connecting can take as long as the cluster takes to answer: off the UI.
                self.connecting += 1;
                let (generation, done) = (self.connecting, self.connected_tx.clone());
                let mut next = self.target.clone();
                next.context = Some(ctx.clone());
                tokio::spawn(async move {
                    let _ = done.send((generation, ctx, clients(&next).await));
                });
            }
            Effect::Review(job) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let r = wizard::review(&job).map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Reviewed(job.id, r));
                });
            }
            Effect::RefreshReleases => {
                if let Ok(Clients {
                    api: c, entries, ..
                }) = self.kube.clone()
                {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        let r = list_releases(&c, entries.as_ref()).await;
                        let _ = tx.send(Msg::Releases(r));
                    });
                }
            }
            Effect::ReadEveryContext => self.read_every_context(),
            Effect::Versions { repo, chart } => self.versions(repo, chart),
            Effect::History { release, namespace } => {
                if let Ok(Clients { api: c, .. }) = self.kube.clone() {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        let r = crate::cluster::releases::history(&c, &namespace, &release)
                            .await
                            .map_err(|e| e.to_string());
                        let _ = tx.send(Msg::History(release, namespace, r));
                    });
                }
            }
            Effect::ProbeSettings(settings) => {
                if let Some(w) = &self.workers {
                    w.probe_settings.send_replace(*settings);
                }
            }
            Effect::ProbeNow => {
                if let Some(w) = &self.workers {
                    w.probe_now.notify_one();
                }
            }
            Effect::Logs { namespace, pod } => {
                if let Ok(Clients { api: c, .. }) = self.kube.clone() {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        let lines = crate::cluster::log_tail(&c, &namespace, &pod, 100)
                            .await
                            .unwrap_or_else(|e| vec![format!("(no logs: {e})")]);
                        let _ = tx.send(Msg::Logs(pod, lines));
                    });
                }
            }
            Effect::Plan(mut intent) => {
                intent.target = self.target.clone();
                // The engine follows the rollout and verifies from the dashboard's watchers.
                intent.watch = self.workers.as_ref().map(|w| w.watch.clone());
                spawn_campaign(*intent, self.tx.clone());
            }
            Effect::Apply(ticket) => ticket.reply.send(deploy::Answer::Yes),
            Effect::Answer(reply, answer) => reply.send(answer),
            Effect::Reattach { release, namespace } => {
                let watch = self.workers.as_ref().map(|w| w.watch.clone());
                spawn_reattach(
                    release,
                    namespace,
                    self.target.clone(),
                    watch,
                    self.tx.clone(),
                );
            }
            Effect::Rollback(plan) => {
                // Followed and verified from the dashboard's watchers, as an upgrade is.
                let watch = self.workers.as_ref().map(|w| w.watch.clone());
                spawn_rollback(*plan, self.target.clone(), watch, self.tx.clone());
            }
            Effect::ListChoices(what) => self.list_choices(what),
            Effect::PodText {
                kind,
                namespace,
                pod,
                container,
                previous,
            } => {
                if let Ok(Clients { api: c, .. }) = self.kube.clone() {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        let result =
                            read_pod_text(c, &namespace, &pod, kind, container, previous).await;
                        let _ = tx.send(Msg::PodText(pod, kind, result));
                    });
                }
            }
            Effect::StopHelm { pid } => {
                if let Err(e) = crate::helm::driver::Helm::interrupt(pid) {
                    let _ = self.tx.send(Msg::Engine(crate::deploy::Event::Notice {
                        message: format!("cannot stop helm (pid {pid}): {e}"),
                    }));
                }
            }
            Effect::DeletePod { namespace, pod } => self.delete_pod(namespace, pod),
            Effect::PortForward { namespace, to } => self.port_forward(namespace, to),
            Effect::KillHelm { pid } => {
                if let Err(e) = crate::helm::driver::Helm::kill(pid) {
                    let _ = self.tx.send(Msg::Engine(crate::deploy::Event::Notice {
                        message: format!("cannot kill helm (pid {pid}): {e}"),
                    }));
                }
            }
            Effect::Edit(path) => return Next::Edit(path),
        }
        Next::Go
    }

    /// Deletes a pod (ctrl-k); its controller makes a new one.
    fn delete_pod(&self, namespace: String, pod: String) {
        let Ok(Clients { api, entries, .. }) = self.kube.clone() else {
            return;
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
                kube::Api::namespaced(api, &namespace);
            let r = pods
                .delete(&pod, &kube::api::DeleteParams::default())
                .await
                .map(|_| ())
                .map_err(|e| crate::cluster::connect::diagnose(&e, entries.as_ref()).to_string());
            let _ = tx.send(Msg::PodDeleted(pod, r));
        });
    }

    /// Forwards a local port (shift-f) through the watch client, which has no read deadline.
    fn port_forward(&self, namespace: String, to: crate::cluster::forward::ForwardTo) {
        let Ok(Clients { watch, .. }) = self.kube.clone() else {
            return;
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let r = crate::cluster::forward::start(watch, &namespace, &to)
                .await
                .map_err(|e| e.to_string());
            let _ = tx.send(Msg::Forwarding(r));
        });
    }

    /// The repository's versions for the version picker, with the cluster's Kubernetes.
    fn versions(&self, repo: String, chart: String) {
        let tx = self.tx.clone();
        let client = self.kube.clone().ok().map(|c| c.api);
        tokio::spawn(async move {
            let r = crate::chart::repo::versions(&repo, &chart, &crate::dirs::cache_dir())
                .await
                .map_err(|e| e.to_string());
            let server = match client {
                Some(c) => c
                    .apiserver_version()
                    .await
                    .ok()
                    .map(|v| v.git_version.trim_start_matches('v').to_string()),
                None => None,
            };
            let _ = tx.send(Msg::Versions(r.map(|l| (l, server))));
        });
    }

    /// Every context's releases, each read on its own task and deadline: one that does not
    /// answer is reported when its deadline passes, while the others are shown as they come.
    fn read_every_context(&self) {
        let (tx, target) = (self.tx.clone(), self.target.clone());
        tokio::spawn(async move {
            let names = match target.context_names() {
                Ok(names) => names,
                Err(e) => {
                    let _ = tx.send(Msg::Contexts(Err(e.to_string())));
                    return;
                }
            };
            let _ = tx.send(Msg::Contexts(Ok(names.clone())));
            // Connecting and listing are each one request; a server that accepts and never
            // answers is given both.
            let deadline = crate::deadlines::request_timeout() * 2;
            for name in names {
                let (tx, mut t) = (tx.clone(), target.clone());
                t.context = Some(name.clone());
                tokio::spawn(async move {
                    let read = async {
                        let c = t.client().await.map_err(|e| e.to_string())?;
                        list_releases(&c, t.entries().as_ref()).await
                    };
                    let r = tokio::time::timeout(deadline, read)
                        .await
                        .unwrap_or_else(|_| {
                            Err(format!("no answer within {} s", deadline.as_secs()))
                        });
                    let _ = tx.send(Msg::ContextReleases(name, r));
                });
            }
        });
    }

    /// The namespaces or the kubeconfig's contexts for a picker.
    fn list_choices(&self, what: app::PickWhat) {
        let tx = self.tx.clone();
        let (client, target) = (self.kube.clone(), self.target.clone());
        tokio::spawn(async move {
            let result = match what {
                app::PickWhat::Namespace => match client {
                    Ok(Clients { api: c, .. }) => {
                        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(c);
                        api.list(&Default::default())
                            .await
                            .map(|l| {
                                l.items
                                    .into_iter()
                                    .filter_map(|n| n.metadata.name)
                                    .collect()
                            })
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e),
                },
                app::PickWhat::Context => target.context_names().map_err(|e| e.to_string()),
            };
            let _ = tx.send(Msg::Choices(what, result));
        });
    }
}

/// The background tasks tied to one cluster and namespace; dropped on `:ns` / `:ctx`.
struct Workers {
    tasks: Vec<JoinHandle<()>>,
    /// The namespace's watchers, which the dashboard reads and the engine borrows.
    watch: SharedWatch,
    probe_now: Arc<tokio::sync::Notify>,
    /// The probe's settings, from the profile that judges the release (the app decides).
    probe_settings: tokio::sync::watch::Sender<IngestionSettings>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn start_workers(
    clients: Clients,
    namespace: String,
    release: String,
    probe_key: Option<probe::ProbeKeys>,
    settings: IngestionSettings,
    tx: UnboundedSender<Msg>,
) -> Workers {
    let Clients {
        api: client,
        watch: watch_client,
        probe: probe_client,
        entries,
    } = clients;
    let probe_now = Arc::new(tokio::sync::Notify::new());
    let (probe_settings, mut settings_rx) = tokio::sync::watch::channel(settings);
    let mut tasks = Vec::new();
    // Watchers → snapshots, coalesced so a burst of changes is one redraw.
    // "" is every namespace (`ALL_NAMESPACES`).
    let all = namespace.is_empty();
    let scope = Scope::everything((!all).then(|| namespace.clone()));
    let watch = SharedWatch::new(ClusterWatch::start(&watch_client, scope.clone()), scope);
    {
        let (shared, tx) = (watch.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            let w = shared.get();
            let mut changes = w.changes();
            loop {
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                let (c, _) = w.connection();
                if tx.send(Msg::Snapshot(Box::new(w.snapshot()), c)).is_err() {
                    return;
                }
            }
        }));
    }
    // Releases, from their storage Secrets (no helm needed).
    {
        let (client, tx) = (client.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let r = list_releases(&client, entries.as_ref()).await;
                if tx.send(Msg::Releases(r)).is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }));
    }
    // Pod usage from metrics-server, as often as it measures (k9s's habit); a cluster
    // without it is asked again now and then, in case it is installed.
    {
        let (client, tx, ns) = (client.clone(), tx.clone(), namespace.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let r = crate::cluster::metrics::pod_usage(&client, &ns)
                    .await
                    .map_err(|e| e.to_string());
                let every = if r.is_ok() { 15 } else { 60 };
                if tx.send(Msg::Usage(r)).is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(every)).await;
            }
        }));
    }
    tasks.push(spawn_volume_usage(
        client.clone(),
        tx.clone(),
        watch.clone(),
    ));
    // The ingestion probe, every interval or on demand; none across every namespace, where
    // no release is focused.
    if !all {
        let (ns, tx, now) = (namespace, tx, probe_now.clone());
        tasks.push(tokio::spawn(async move {
            let mut settings = settings_rx.borrow_and_update().clone();
            let mut transport = probe_transport(&settings, &probe_client, &ns, &release).await;
            loop {
                now.notified().await;
                if settings_rx.has_changed().unwrap_or(false) {
                    settings = settings_rx.borrow_and_update().clone();
                    transport = probe_transport(&settings, &probe_client, &ns, &release).await;
                }
                let key = match probe::resolve_key(
                    settings.project_api_key.as_ref(),
                    Some(&probe_client),
                    &ns,
                )
                .await
                {
                    Some(k) => Some(k),
                    None => probe_key.as_ref().map(|k| k.project.clone()),
                };
                // The events API answers only a personal key: without one, arrival is not
                // looked for and the pane says so.
                let personal = match probe::resolve_key(
                    settings.personal_api_key.as_ref(),
                    Some(&probe_client),
                    &ns,
                )
                .await
                {
                    Some(k) => Some(k),
                    None => probe_key.as_ref().map(|k| k.personal.clone()),
                };
                let rec = probe::probe(
                    &transport,
                    key.as_deref(),
                    personal.as_deref(),
                    &ProbeTiming::from(&settings),
                )
                .await;
                if tx.send(Msg::Probe(Box::new(rec))).is_err() {
                    return;
                }
                let n = now.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(settings.interval_seconds)).await;
                    n.notify_one();
                });
            }
        }));
    }
    Workers {
        tasks,
        watch,
        probe_now,
        probe_settings,
    }
}

/// The profile's public URL, else the service proxy (a public URL that cannot be used falls
/// back to the proxy; `helmdeck check` reports it).
async fn probe_transport(
    settings: &IngestionSettings,
    client: &kube::Client,
    ns: &str,
    release: &str,
) -> Transport {
    match probe::transport_for(settings, None, false, client.clone(), ns, release).await {
        Ok(t) => t,
        Err(_) => Transport::proxy(client.clone(), ns, release).await,
    }
}

/// A pod's logs (the last 500 lines of one container) or its YAML (without managedFields,
/// as `kubectl get -o yaml` shows by default), with the pod's container names.
async fn read_pod_text(
    c: kube::Client,
    namespace: &str,
    pod: &str,
    kind: app::TextKind,
    container: Option<String>,
    previous: bool,
) -> Result<(Vec<String>, Vec<String>), String> {
    let api: Api<Pod> = Api::namespaced(c, namespace);
    let p = api.get(pod).await.map_err(|e| e.to_string())?;
    let containers: Vec<String> = p
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    match kind {
        app::TextKind::Logs => {
            let text = api
                .logs(
                    pod,
                    &LogParams {
                        container,
                        tail_lines: Some(500),
                        previous,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok((text.lines().map(str::to_string).collect(), containers))
        }
        app::TextKind::Yaml => {
            let mut p = p;
            p.metadata.managed_fields = None;
            let mut v = serde_json::to_value(&p).map_err(|e| e.to_string())?;
            // Literal env values under secret-looking names stay off the screen, as they stay
            // out of every other output.
            for kind in ["containers", "initContainers"] {
                for c in v["spec"][kind].as_array_mut().into_iter().flatten() {
                    for e in c["env"].as_array_mut().into_iter().flatten() {
                        let secret = e["name"]
                            .as_str()
                            .is_some_and(crate::values::redact::is_secret_key);
                        if secret && e.get("value").is_some_and(|x| !x.is_null()) {
                            e["value"] =
                                serde_json::json!(crate::values::redact::redaction(&e["value"]));
                        }
                    }
                }
            }
            let yaml = serde_yaml::to_string(&v).map_err(|e| e.to_string())?;
            Ok((yaml.lines().map(str::to_string).collect(), containers))
        }
    }
}

pub(super) fn describe_effect(e: &Effect) -> String {
    match e {
        Effect::Plan(i) => format!(
            "plan {:?} {} in {} (profile {})",
            i.action,
            i.release,
            i.namespace,
            i.values.profile.as_deref().unwrap_or("none")
        ),
        Effect::Apply(t) => format!(
            "apply plan {} of {} in {} (based on revision {:?})",
            t.id, t.plan.release, t.plan.namespace, t.plan.based_on
        ),
        other => format!("{other:?}"),
    }
}

/// One cluster's clients: requests, watches (whose reads may wait a whole watch window) and
/// the ingestion probe (which must see a 503 at once).
#[derive(Clone)]
pub(super) struct Clients {
    api: kube::Client,
    watch: kube::Client,
    probe: kube::Client,
    /// The kubeconfig entries behind them, so a failed request is explained (server, cause,
    /// what to try) as the CLI explains it.
    entries: Option<crate::cluster::connect::Entries>,
}

async fn clients(t: &Target) -> Result<Clients, String> {
    Ok(Clients {
        api: t.client().await.map_err(|e| e.to_string())?,
        watch: t.watch_client().await.map_err(|e| e.to_string())?,
        probe: t.probe_client().await.map_err(|e| e.to_string())?,
        entries: t.entries(),
    })
}

/// The releases in the cluster, or why they cannot be listed in the CLI's words.
async fn list_releases(
    client: &kube::Client,
    entries: Option<&crate::cluster::connect::Entries>,
) -> Result<Vec<crate::cluster::releases::ReleaseInfo>, String> {
    crate::cluster::releases::list(client, None)
        .await
        .map_err(|e| crate::cluster::connect::diagnose(&e, entries).to_string())
}
