//! The interactive app. The UI task owns [`app::App`]; Kubernetes watchers, the ingestion
//! probe and the deploy engine run on their own tasks and send it messages. It redraws when
//! something changed or the clock ticks, never while waiting on the network.

pub mod app;
pub mod keymap;
pub mod theme;
pub mod view;

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
use crate::deploy;
use app::{App, Effect, Msg, OpSpec, Options};

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
                return crate::cli::exit::BAD_INPUT;
            }
        };
    let chart = crate::assets::bundled_chart_dir()
        .ok()
        .and_then(|d| crate::chart::Chart::load(&d).ok());
    let context = match launch.target.config().await {
        Ok(_) => current_context_name(&launch.target),
        Err(e) => {
            eprintln!("error: {e}");
            return crate::cli::exit::UNREACHABLE;
        }
    };
    let opts = Options {
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
    let mut app = App::new(opts, profiles, chart, SystemTime::now());

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
        prev(info);
    }));
    let mut terminal = ratatui::init();
    let code = event_loop(&mut terminal, &mut app, &launch, &log).await;
    ratatui::restore();
    let _ = std::panic::take_hook();
    log.line("stopped");
    code
}

fn current_context_name(t: &Target) -> String {
    let kc = match t.kubeconfig_path() {
        Some(p) => kube::config::Kubeconfig::read_from(p).ok(),
        None => kube::config::Kubeconfig::read().ok(),
    };
    t.context
        .clone()
        .or_else(|| kc.and_then(|k| k.current_context))
        .unwrap_or_else(|| "default".into())
}

/// The background tasks tied to one cluster and namespace; dropped on `:ns` / `:ctx`.
struct Workers {
    tasks: Vec<JoinHandle<()>>,
    probe_now: Arc<tokio::sync::Notify>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn start_workers(
    client: kube::Client,
    probe_client: kube::Client,
    namespace: String,
    release: String,
    probe_key: Option<String>,
    tx: UnboundedSender<Msg>,
) -> Workers {
    let probe_now = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    // Watchers → snapshots, coalesced so a burst of changes is one redraw.
    {
        let (client, ns, tx) = (client.clone(), namespace.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            let w = ClusterWatch::start(&client, Scope::everything(Some(ns)));
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
            let transport = Transport::proxy(probe_client.clone(), &ns, &release).await;
            let settings = crate::profile::IngestionSettings {
                interval_seconds: 15,
                timeout_seconds: 20,
                ..Default::default()
            };
            let key_source = crate::profile::KeySource {
                secret: Some(crate::profile::SecretKeyRef {
                    name: "posthog-helmdeck-probe".into(),
                    key: "project-api-key".into(),
                }),
                env: Some("HELMDECK_PROJECT_API_KEY".into()),
            };
            loop {
                now.notified().await;
                let key =
                    match probe::resolve_key(Some(&key_source), Some(&probe_client), &ns).await {
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
    Workers { tasks, probe_now }
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
        Ok((c, p)) => Some(start_workers(
            c,
            p,
            app.opts.namespace.clone(),
            app.opts.release.clone(),
            launch.probe_key.clone(),
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
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let panic_for_test = std::env::var_os("HELMDECK_TUI_PANIC_AFTER_FIRST_FRAME").is_some();
    let mut dirty = true;
    loop {
        if dirty {
            if let Err(e) = terminal.draw(|f| view::draw(f, app)) {
                log.line(&format!("draw failed: {e}"));
                return crate::cli::exit::FAILED;
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
                Some(Ok(_)) => continue,
                Some(Err(e)) => { log.line(&format!("terminal: {e}")); return crate::cli::exit::FAILED }
                None => return crate::cli::exit::OK,
            },
            m = rx.recv() => match m { Some(m) => m, None => continue },
            _ = tick.tick() => Msg::Tick(SystemTime::now()),
        };
        // Ticks only redraw screens that show a clock or ages.
        let is_tick = matches!(msg, Msg::Tick(_));
        let effects = app.update(msg);
        dirty |= !is_tick || app.screen != app::Screen::Home;
        for e in effects {
            log.line(&format!("effect: {}", describe_effect(&e)));
            match e {
                Effect::Quit => return crate::cli::exit::OK,
                Effect::SwitchNamespace(ns) => {
                    workers = None;
                    if let Ok((c, p)) = kube.clone() {
                        workers = Some(start_workers(
                            c,
                            p,
                            ns,
                            app.opts.release.clone(),
                            launch.probe_key.clone(),
                            tx.clone(),
                        ));
                    }
                    if let Some(w) = &workers {
                        w.probe_now.notify_one();
                    }
                }
                Effect::SwitchContext(ctx) => {
                    workers = None;
                    target.context = Some(ctx);
                    kube = clients(&target).await;
                    match kube.clone() {
                        Ok((c, p)) => {
                            workers = Some(start_workers(
                                c,
                                p,
                                app.opts.namespace.clone(),
                                app.opts.release.clone(),
                                launch.probe_key.clone(),
                                tx.clone(),
                            ))
                        }
                        Err(e) => app.message = Some(e),
                    }
                }
                Effect::RefreshReleases => {
                    if let Ok((c, _)) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let r = crate::cluster::releases::list(&c, None)
                                .await
                                .map_err(|e| e.to_string());
                            let _ = tx.send(Msg::Releases(r));
                        });
                    }
                }
                Effect::History { release, namespace } => {
                    if let Ok((c, _)) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let r = crate::cluster::releases::history(&c, &namespace, &release)
                                .await
                                .map_err(|e| e.to_string());
                            let _ = tx.send(Msg::History(release, namespace, r));
                        });
                    }
                }
                Effect::ProbeNow => {
                    if let Some(w) = &workers {
                        w.probe_now.notify_one();
                    }
                }
                Effect::Logs { namespace, pod } => {
                    if let Ok((c, _)) = kube.clone() {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let api: Api<Pod> = Api::namespaced(c, &namespace);
                            let lines = match api
                                .logs(
                                    &pod,
                                    &LogParams {
                                        tail_lines: Some(20),
                                        ..Default::default()
                                    },
                                )
                                .await
                            {
                                Ok(t) => t.lines().map(str::to_string).collect(),
                                Err(e) => vec![format!("(no logs: {e})")],
                            };
                            let _ = tx.send(Msg::Logs(pod, lines));
                        });
                    }
                }
                Effect::Plan(spec) | Effect::Apply(spec) => {
                    spawn_engine(spec, target.clone(), tx.clone());
                }
                Effect::Rollback {
                    release,
                    namespace,
                    revision,
                } => {
                    spawn_rollback(release, namespace, revision, target.clone(), tx.clone());
                }
                Effect::Edit(path) => {
                    edit(terminal, &path, log);
                    let _ = tx.send(Msg::Edited);
                }
            }
        }
        if app.quit {
            return crate::cli::exit::OK;
        }
    }
}

fn describe_effect(e: &Effect) -> String {
    match e {
        Effect::Plan(s) | Effect::Apply(s) => format!(
            "{:?} {} in {} (profile {})",
            s.action, s.release, s.namespace, s.profile
        ),
        other => format!("{other:?}"),
    }
}

async fn clients(t: &Target) -> Result<(kube::Client, kube::Client), String> {
    let c = t.client().await.map_err(|e| e.to_string())?;
    let p = t.probe_client().await.map_err(|e| e.to_string())?;
    Ok((c, p))
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

fn spawn_engine(spec: OpSpec, target: Target, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let plan = spec.action == deploy::Action::Plan;
        let done = |o| {
            if plan {
                Msg::PlanDone(o)
            } else {
                Msg::ApplyDone(o)
            }
        };
        let outcome = match build_request(&spec, &target) {
            Ok(req) => {
                let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
                let fwd = {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(e) = erx.recv().await {
                            let _ = tx.send(Msg::Engine(e));
                        }
                    })
                };
                // The user confirmed in the app before an apply; a plan never asks.
                let o = deploy::run(req, |_| true, etx).await;
                let _ = fwd.await;
                o
            }
            Err(o) => o,
        };
        let _ = tx.send(done(outcome));
    });
}

/// The engine's request from the wizard's choices; the answers are kept as a private draft
/// file so nothing typed is lost if anything fails.
fn build_request(spec: &OpSpec, target: &Target) -> Result<deploy::DeployRequest, deploy::Outcome> {
    let bad = |m: String| deploy::Outcome::BadInput { message: m };
    let data_dir = crate::dirs::data_dir()
        .ok_or_else(|| bad("no data directory: set HELMDECK_DATA_DIR".into()))?;
    let draft = data_dir
        .join("drafts")
        .join(format!("{}-{}-answers.yaml", spec.namespace, spec.release));
    let yaml = serde_yaml::to_string(&serde_json::Value::Object(spec.answers.clone()))
        .map_err(|e| bad(e.to_string()))?;
    crate::private_files::private_file(&draft, yaml.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let args = crate::cli::ValuesArgs {
        profile: Some(spec.profile.clone()),
        answers: Some(draft),
        values: spec.overrides.iter().cloned().collect(),
        ..Default::default()
    };
    let prepared = crate::cli::prepare_values(&args).map_err(|e| bad(e.message))?;
    let bin = crate::helm::find_helm().map_err(|e| bad(e.to_string()))?;
    let helm =
        crate::helm::driver::Helm::new(bin, target.kubeconfig_path(), target.context.clone());
    let mut request = prepared.request;
    request.major = helm.major();
    Ok(deploy::DeployRequest {
        action: spec.action,
        release: spec.release.clone(),
        namespace: spec.namespace.clone(),
        target: target.clone(),
        profile: prepared.profile,
        chart: prepared.chart,
        chart_path: prepared.chart_path,
        request,
        helm,
        timeout_secs: 900,
        rollback_on_failure: true,
        data_dir,
    })
}

fn spawn_rollback(
    release: String,
    namespace: String,
    revision: Option<u64>,
    target: Target,
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
                let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
                let fwd = {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(e) = erx.recv().await {
                            let _ = tx.send(Msg::Engine(e));
                        }
                    })
                };
                let o =
                    deploy::rollback(&helm, &release, &namespace, revision, 600, &data, etx).await;
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
