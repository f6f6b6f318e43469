//! The interactive app. The UI task owns [`app::App`]; Kubernetes watchers, the ingestion
//! probe and the deploy engine run on their own tasks and send it messages. It redraws when
//! something changed or the clock ticks, never while waiting on the network.
//!
//! One module per screen — `home`, `wizard`, `run`, `dashboard`, `rollback` — holds that
//! screen's state, how keys and messages change it, and how it is drawn; `app` routes
//! messages and keys to them, `view` draws the frame around them.

pub mod app;
mod dashboard;
mod home;
pub mod keymap;
pub mod line_edit;
mod pod_text;
mod rollback;
mod run;
pub mod runtime;
pub mod theme;
pub mod view;
pub mod wizard;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::cluster::Target;
use crate::cluster::probe::{self, ProbeTiming, Transport};
use crate::cluster::watch::{ClusterWatch, Scope};
use crate::deploy::{self, exit};
use crate::profile::IngestionSettings;
use app::{App, Effect, Msg, Options};

/// A `:ctx` switch's clients, tagged with the switch it answers.
type Connected = (u64, String, Result<Clients, String>);

/// How the app was asked to start.
pub struct Launch {
    pub target: Target,
    pub namespace: String,
    pub release: String,
    pub readonly: bool,
    pub profile: Option<String>,
    /// A project API key for the probe when the profile's sources have none (the demo).
    pub probe_key: Option<String>,
}

/// A log file in the data directory: the TUI owns the terminal, so nothing else may print.
#[derive(Clone)]
struct Log(Option<PathBuf>);

impl Log {
    fn line(&self, s: &str) {
        if let Some(p) = &self.0
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
        {
            let _ = writeln!(f, "{} {s}", crate::time::now_rfc3339());
        }
    }
}

/// Runs the app until the user quits; returns the exit code.
pub async fn run(launch: Launch) -> i32 {
    let log_path = crate::dirs::data_dir().map(|d| {
        let _ = crate::private_files::private_dir(&d);
        d.join("tui.log")
    });
    let log = Log(log_path.clone());
    log.line("starting");
    let profiles =
        match crate::profile::ProfileSet::load(crate::profile::user_profile_dir().as_deref()) {
            Ok(s) => s.iter().cloned().collect::<Vec<_>>(),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        };
    let context = match launch.target.config().await {
        Ok(_) => current_context_name(&launch.target),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::UNREACHABLE;
        }
    };
    let opts = Options {
        tls_unverified: launch.target.entries().is_some_and(|e| e.insecure),
        simulated: launch.target.is_simulated(),
        scope: launch.target.scope_key(),
        context,
        namespace: launch.namespace.clone(),
        release: launch.release.clone(),
        readonly: launch.readonly,
        profile: launch.profile.clone(),
        // Asking helm its version takes ~80 ms: it is found after the first frame.
        helm: Ok(String::new()),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        log_file: log_path.clone(),
    };
    let mut app = App::new(opts, profiles, SystemTime::now());

    // The panic hook: ratatui's restores the terminal first, then ours says where the log is.
    let where_log = log_path.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(p) = &where_log {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| writeln!(f, "panic: {info}"));
            eprintln!(
                "helmdeck crashed; the terminal was restored. Log: {}",
                p.display()
            );
        }
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
        prev(info);
    }));
    let mut terminal = ratatui::init();
    // Pasted text arrives whole (one event), not as keys that could trigger commands.
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste);
    let code = event_loop(&mut terminal, &mut app, &launch, &log).await;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    ratatui::restore();
    let _ = std::panic::take_hook();
    if let Some(note) = &app.farewell {
        eprintln!("{note}");
    }
    log.line("stopped");
    code
}

fn current_context_name(t: &Target) -> String {
    let kc = t.read_kubeconfig().ok();
    t.context
        .clone()
        .or_else(|| kc.and_then(|k| k.current_context))
        .unwrap_or_else(|| "default".into())
}

/// The background tasks tied to one cluster and namespace; dropped on `:ns` / `:ctx`.
struct Workers {
    tasks: Vec<JoinHandle<()>>,
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
    probe_key: Option<String>,
    settings: IngestionSettings,
    tx: UnboundedSender<Msg>,
) -> Workers {
    let Clients {
        api: client,
        watch: watch_client,
        probe: probe_client,
    } = clients;
    let probe_now = Arc::new(tokio::sync::Notify::new());
    let (probe_settings, mut settings_rx) = tokio::sync::watch::channel(settings);
    let mut tasks = Vec::new();
    // Watchers → snapshots, coalesced so a burst of changes is one redraw.
    {
        let (ns, tx) = (namespace.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            let w = ClusterWatch::start(&watch_client, Scope::everything(Some(ns)));
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
                let r = crate::cluster::releases::list(&client, None)
                    .await
                    .map_err(|e| e.to_string());
                if tx.send(Msg::Releases(r)).is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }));
    }
    // The ingestion probe, every interval or on demand.
    {
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
                    None => probe_key.clone(),
                };
                let rec = probe::probe(
                    &transport,
                    key.as_deref(),
                    None,
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

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    launch: &Launch,
    log: &Log,
) -> i32 {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let mut target = launch.target.clone();
    // Built once per context: every effect below shares them (kube clients clone cheaply).
    let mut kube = clients(&target).await;
    let mut workers = match kube.clone() {
        Ok(c) => Some(start_workers(
            c,
            app.opts.namespace.clone(),
            app.opts.release.clone(),
            launch.probe_key.clone(),
            probe::settings_for(app.dashboard_profile()),
            tx.clone(),
        )),
        Err(e) => {
            app.message = Some(e);
            None
        }
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
    let mut events = crossterm::event::EventStream::new();
    let (connected_tx, mut connected_rx) = tokio::sync::mpsc::unbounded_channel::<Connected>();
    let mut connecting = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let panic_for_test = std::env::var_os("HELMDECK_TUI_PANIC_AFTER_FIRST_FRAME").is_some();
    let mut dirty = true;
    loop {
        if dirty {
            if let Err(e) = terminal.draw(|f| view::draw(f, app)) {
                log.line(&format!("draw failed: {e}"));
                return exit::FAILED;
            }
            dirty = false;
            // For the crash-safety test: a panic with the terminal in raw mode.
            if panic_for_test {
                panic!("injected panic (HELMDECK_TUI_PANIC_AFTER_FIRST_FRAME)");
            }
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k))) if k.kind == crossterm::event::KeyEventKind::Press => Msg::Key(k),
                Some(Ok(crossterm::event::Event::Resize(..))) => { dirty = true; continue }
                Some(Ok(crossterm::event::Event::Paste(text))) => Msg::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => { log.line(&format!("terminal: {e}")); return exit::FAILED }
                None => return exit::OK,
            },
            m = rx.recv() => match m { Some(m) => m, None => continue },
            c = connected_rx.recv() => match c {
                // Only the newest `:ctx` counts; the old cluster stays until it connects.
                Some((generation, ctx, result)) if generation == connecting => match result {
                    Ok(c) => {
                        target.context = Some(ctx.clone());
                        kube = Ok(c.clone());
                        workers = Some(start_workers(
                            c,
                            app.opts.namespace.clone(),
                            app.opts.release.clone(),
                            launch.probe_key.clone(),
                            probe::settings_for(app.dashboard_profile()),
                            tx.clone(),
                        ));
                        Msg::ContextSwitched(
                            ctx,
                            Ok(app::Switched {
                                tls_unverified: target.entries().is_some_and(|e| e.insecure),
                                simulated: target.is_simulated(),
                                scope: target.scope_key(),
                            }),
                        )
                    }
                    Err(e) => Msg::ContextSwitched(ctx, Err(e)),
                },
                _ => continue,
            },
            _ = tick.tick() => Msg::Tick(SystemTime::now()),
        };
        // Ticks only redraw screens that show a clock or ages.
        let is_tick = matches!(msg, Msg::Tick(_));
        let effects = app.update(msg);
        dirty |= !is_tick || app.screen != app::Screen::Home;
        for e in effects {
            log.line(&format!("effect: {}", describe_effect(&e)));
            match e {
                Effect::Quit => return exit::OK,
                Effect::SwitchNamespace(ns) => {
                    workers = None;
                    if let Ok(c) = kube.clone() {
                        workers = Some(start_workers(
                            c,
                            ns,
                            app.opts.release.clone(),
                            launch.probe_key.clone(),
                            probe::settings_for(app.dashboard_profile()),
                            tx.clone(),
                        ));
                    }
                    if let Some(w) = &workers {
                        w.probe_now.notify_one();
                    }
                }
                Effect::SwitchContext(ctx) => {
                    // Connecting can take as long as the cluster takes to answer: off the UI.
                    connecting += 1;
                    let (generation, done) = (connecting, connected_tx.clone());
                    let mut next = target.clone();
                    next.context = Some(ctx.clone());
                    tokio::spawn(async move {
                        let _ = done.send((generation, ctx, clients(&next).await));
                    });
                }
                Effect::Review(job) => {
                    let tx = tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let r = wizard::review(&job);
                        let _ = tx.send(Msg::Reviewed(job.id, r));
                    });
                }
                Effect::RefreshReleases => {
                    if let Ok(Clients { api: c, .. }) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let r = crate::cluster::releases::list(&c, None)
                                .await
                                .map_err(|e| e.to_string());
                            let _ = tx.send(Msg::Releases(r));
                        });
                    }
                }
                Effect::Versions { repo, chart } => {
                    let tx = tx.clone();
                    let client = kube.clone().ok().map(|c| c.api);
                    tokio::spawn(async move {
                        let r =
                            crate::chart::repo::versions(&repo, &chart, &crate::dirs::cache_dir())
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
                Effect::History { release, namespace } => {
                    if let Ok(Clients { api: c, .. }) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let r = crate::cluster::releases::history(&c, &namespace, &release)
                                .await
                                .map_err(|e| e.to_string());
                            let _ = tx.send(Msg::History(release, namespace, r));
                        });
                    }
                }
                Effect::ProbeSettings(settings) => {
                    if let Some(w) = &workers {
                        w.probe_settings.send_replace(*settings);
                    }
                }
                Effect::ProbeNow => {
                    if let Some(w) = &workers {
                        w.probe_now.notify_one();
                    }
                }
                Effect::Logs { namespace, pod } => {
                    if let Ok(Clients { api: c, .. }) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let lines = crate::cluster::log_tail(&c, &namespace, &pod, 100)
                                .await
                                .unwrap_or_else(|e| vec![format!("(no logs: {e})")]);
                            let _ = tx.send(Msg::Logs(pod, lines));
                        });
                    }
                }
                Effect::Plan(mut intent) => {
                    intent.target = target.clone();
                    runtime::spawn_campaign(*intent, tx.clone());
                }
                Effect::Apply(ticket) => ticket.reply.send(deploy::Answer::Yes),
                Effect::Answer(reply, answer) => reply.send(answer),
                Effect::Rollback {
                    release,
                    namespace,
                    revision,
                } => {
                    runtime::spawn_rollback(
                        release,
                        namespace,
                        revision,
                        target.clone(),
                        tx.clone(),
                    );
                }
                Effect::ListChoices(what) => {
                    let tx = tx.clone();
                    let (client, target) = (kube.clone(), target.clone());
                    tokio::spawn(async move {
                        let result = match what {
                            app::PickWhat::Namespace => match client {
                                Ok(Clients { api: c, .. }) => {
                                    let api: Api<k8s_openapi::api::core::v1::Namespace> =
                                        Api::all(c);
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
                            app::PickWhat::Context => target
                                .read_kubeconfig()
                                .map(|k| k.contexts.into_iter().map(|c| c.name).collect())
                                .map_err(|e| e.to_string()),
                        };
                        let _ = tx.send(Msg::Choices(what, result));
                    });
                }
                Effect::PodText {
                    kind,
                    namespace,
                    pod,
                    container,
                } => {
                    if let Ok(Clients { api: c, .. }) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let result = read_pod_text(c, &namespace, &pod, kind, container).await;
                            let _ = tx.send(Msg::PodText(pod, kind, result));
                        });
                    }
                }
                Effect::StopHelm { pid } => {
                    if let Err(e) = crate::helm::driver::Helm::interrupt(pid) {
                        let _ = tx.send(Msg::Engine(crate::deploy::Event::Notice {
                            message: format!("cannot stop helm (pid {pid}): {e}"),
                        }));
                    }
                }
                Effect::KillHelm { pid } => {
                    if let Err(e) = crate::helm::driver::Helm::kill(pid) {
                        let _ = tx.send(Msg::Engine(crate::deploy::Event::Notice {
                            message: format!("cannot kill helm (pid {pid}): {e}"),
                        }));
                    }
                }
                Effect::Edit(path) => {
                    // The input reader stops while the editor owns the terminal, so no
                    // keystroke meant for the editor reaches the app.
                    drop(events);
                    edit(terminal, &path, log);
                    events = crossterm::event::EventStream::new();
                    let _ = tx.send(Msg::Edited);
                }
            }
        }
        if app.quit {
            return exit::OK;
        }
    }
}

/// A pod's logs (the last 500 lines of one container) or its YAML (without managedFields,
/// as `kubectl get -o yaml` shows by default), with the pod's container names.
async fn read_pod_text(
    c: kube::Client,
    namespace: &str,
    pod: &str,
    kind: pod_text::TextKind,
    container: Option<String>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let api: Api<Pod> = Api::namespaced(c, namespace);
    let p = api.get(pod).await.map_err(|e| e.to_string())?;
    let containers: Vec<String> = p
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    match kind {
        pod_text::TextKind::Logs => {
            let text = api
                .logs(
                    pod,
                    &LogParams {
                        container,
                        tail_lines: Some(500),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok((text.lines().map(str::to_string).collect(), containers))
        }
        pod_text::TextKind::Yaml => {
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

fn describe_effect(e: &Effect) -> String {
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
struct Clients {
    api: kube::Client,
    watch: kube::Client,
    probe: kube::Client,
}

async fn clients(t: &Target) -> Result<Clients, String> {
    Ok(Clients {
        api: t.client().await.map_err(|e| e.to_string())?,
        watch: t.watch_client().await.map_err(|e| e.to_string())?,
        probe: t.probe_client().await.map_err(|e| e.to_string())?,
    })
}

/// Runs $EDITOR (argv, no shell) on an overrides file, with the terminal handed over.
fn edit(terminal: &mut ratatui::DefaultTerminal, path: &std::path::Path, log: &Log) {
    if !path.exists() {
        let _ = crate::private_files::private_file(
            path,
            b"# Helm values applied above the profile and your answers.\n# Example:\n# web:\n#   replicacount: 2\n",
        );
    }
    ratatui::restore();
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut parts = editor.split_whitespace();
    let status = match parts.next() {
        Some(bin) => std::process::Command::new(bin)
            .args(parts)
            .arg(path)
            .status(),
        None => Err(std::io::Error::other("EDITOR is empty")),
    };
    if let Err(e) = status {
        log.line(&format!("editor {editor}: {e}"));
    }
    *terminal = ratatui::init();
    let _ = terminal.clear();
}
