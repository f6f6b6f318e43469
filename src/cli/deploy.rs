//! `install`, `upgrade`, `plan`, `status`, `history`, `rollback`: drive the deploy engine and
//! render its events (indicatif on a terminal, plain lines otherwise, JSON on request).

use super::outln;
use std::io::{IsTerminal, Write};

use serde_json::json;

use super::render::CliError;
use super::{DeployArgs, Output, ReleaseArgs, ReleaseTarget, RollbackArgs, exit, runtime};
use crate::cluster::Target;
use crate::verdict::Verdict;
use tokio::sync::mpsc::UnboundedSender;

use crate::deploy::{self, Action, Event, Intent, Outcome, StepState};
use crate::helm::driver::Helm;

fn helm_for(t: &ReleaseTarget) -> Result<Helm, CliError> {
    let bin = crate::helm::find_helm().map_err(|e| CliError {
        code: exit::BAD_INPUT,
        message: e.to_string(),
    })?;
    Ok(Helm::new(
        bin,
        target(t).kubeconfig_path(),
        t.context.clone(),
    ))
}

fn target(t: &ReleaseTarget) -> Target {
    Target {
        kubeconfig: t.kubeconfig.clone(),
        context: t.context.clone(),
    }
}

/// Connects with kube-rs before helm runs, so a refused credential or an untrusted server is
/// told in one sentence naming the kubeconfig entry, not in helm's words.
fn reach(rt: &tokio::runtime::Runtime, t: &ReleaseTarget) -> Result<(), CliError> {
    let target = target(t);
    super::warn_insecure(&target);
    rt.block_on(target.connect())
        .map(|_| ())
        .map_err(|e| CliError {
            code: exit::UNREACHABLE,
            message: e.to_string(),
        })
}

fn data_dir() -> Result<std::path::PathBuf, CliError> {
    crate::dirs::data_dir().ok_or_else(|| CliError {
        code: exit::FAILED,
        message: "no data directory: set HELMDECK_DATA_DIR".into(),
    })
}

fn fail(e: CliError) -> i32 {
    eprintln!("error: {}", e.message);
    e.code
}

/// Renders one engine event for a person.
fn describe(e: &Event) -> Option<String> {
    Some(match e {
        Event::Step {
            step,
            state,
            detail,
        } => {
            let mark = match state {
                StepState::Running => "…",
                StepState::Done => "✓",
                StepState::Failed => "✗",
                StepState::Skipped => "-",
            };
            if *state == StepState::Running && detail.is_empty() {
                return None;
            }
            // Why a step failed is the outcome's message, printed last: once is enough.
            if *state == StepState::Failed {
                return Some(format!("{mark} {step:?}"));
            }
            format!("{mark} {step:?} {detail}").trim_end().to_string()
        }
        Event::UpgradeNotes(u) => {
            let mut l = crate::chart::upgrade_notes::lines(
                &u.from,
                &u.to,
                &u.notes,
                &u.migrations,
                &u.removed_in_use,
            );
            if !u.end_of_support.is_empty() {
                l.push(format!("  note: {}", u.end_of_support));
            }
            l.join("\n")
        }
        Event::Check(c) => {
            let v = match c.verdict {
                Verdict::Pass => "pass",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            if c.fix.is_empty() {
                format!("  [{v}] {}: {}", c.id, c.message)
            } else {
                format!("  [{v}] {}: {}\n         fix: {}", c.id, c.message, c.fix)
            }
        }
        Event::ValuesDiff { changes } => {
            if changes.is_empty() {
                "  values: no change".to_string()
            } else {
                changes
                    .iter()
                    .map(|c| {
                        let show = |v: &Option<serde_json::Value>| {
                            v.as_ref().map(|v| v.to_string()).unwrap_or_default()
                        };
                        let layer = c
                            .layer
                            .as_ref()
                            .map(|l| format!("  ({l})"))
                            .unwrap_or_default();
                        let same = c.default_note();
                        match c.op {
                            '+' => format!("  + {}: {}{layer}{same}", c.path, show(&c.new)),
                            '-' => format!("  - {}: {}{same}", c.path, show(&c.old)),
                            _ => format!(
                                "  ~ {}: {} → {}{layer}",
                                c.path,
                                show(&c.old),
                                show(&c.new)
                            ),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        Event::ManifestDiff { kinds } => {
            if kinds.is_empty() {
                "  manifest: no object changes".to_string()
            } else {
                std::iter::once("  manifest (live release → upgrade):".to_string())
                    .chain(kinds.iter().map(|k| {
                        let names: Vec<String> = k
                            .added
                            .iter()
                            .map(|n| format!("+{n}"))
                            .chain(k.changed.iter().map(|n| format!("~{n}")))
                            .chain(k.removed.iter().map(|n| format!("-{n}")))
                            .collect();
                        format!(
                            "    {}: +{} ~{} -{} ({})",
                            k.kind,
                            k.added.len(),
                            k.changed.len(),
                            k.removed.len(),
                            names.join(", ")
                        )
                    }))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        Event::HelmStarted { pid, log } => format!("  helm started (pid {pid}; its errors: {log})"),
        Event::HelmOutput { line } => format!("  helm: {line}"),
        Event::Progress { .. } => return None,
        Event::Notice { message } => format!("! {message}"),
        Event::PodProblem {
            pod,
            finding,
            next_step,
            events,
            logs,
        } => std::iter::once(format!(
            "! pod {pod} is failing while helm waits: {finding}"
        ))
        // Warnings only: a failing pod's Normal events (pulled, started) tell nothing.
        .chain(
            events
                .iter()
                .filter(|e| !e.starts_with("Normal "))
                .map(|e| format!("    event: {e}")),
        )
        .chain(logs.iter().map(|l| format!("    log: {l}")))
        .chain([format!("    next: {next_step}")])
        .collect::<Vec<_>>()
        .join("\n"),
    })
}

/// Prints engine events while `work` runs (a spinner on a terminal, plain lines otherwise,
/// nothing with JSON output) and returns its result with the events it sent. The bar is gone
/// when this returns, so a prompt after it is never drawn over.
async fn with_progress<T>(
    json_out: bool,
    work: impl AsyncFnOnce(&UnboundedSender<Event>) -> T,
) -> (T, Vec<Event>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = async move {
        let bar = (!json_out && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        let started = std::time::Instant::now();
        let mut events = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let (
                Some(b),
                Event::Progress {
                    pods_ready,
                    pods_expected,
                    jobs_done,
                    jobs_expected,
                },
            ) = (&bar, &ev)
            {
                b.set_message(format!(
                    "pods ready {pods_ready}/{pods_expected}, jobs {jobs_done}/{jobs_expected}, {}s",
                    started.elapsed().as_secs()
                ));
            }
            if !json_out && let Some(text) = describe(&ev) {
                match &bar {
                    Some(b) => b.println(text),
                    None => eprintln!("{text}"),
                }
            }
            events.push(ev);
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        events
    };
    let run = async move {
        let r = work(&tx).await;
        drop(tx);
        r
    };
    tokio::join!(run, printer)
}

/// What stopping helm does to the release, for the Ctrl-C notes.
#[derive(Clone, Copy)]
enum Stopping {
    /// An install or upgrade with rollback on failure: helm undoes it.
    RollsBack,
    /// A rollback, or an apply with --no-rollback: nothing undoes it.
    LeavesPending,
}

impl Stopping {
    fn then(self) -> &'static str {
        match self {
            Stopping::RollsBack => "it rolls the release back",
            Stopping::LeavesPending => {
                "the release is then left as helm leaves it (pending), and helmdeck says how to recover it"
            }
        }
    }

    fn waiting(self) -> &'static str {
        match self {
            Stopping::RollsBack => "waiting for it to roll the release back",
            Stopping::LeavesPending => "waiting for it to stop",
        }
    }
}

/// [`with_progress`] for an apply, which Ctrl-C (or SIGTERM) does not cut short: helm runs
/// in its own process group and would carry on alone, leaving the release pending and the
/// lock held. The first signal says what helm is doing and keeps reporting while helm
/// finishes or rolls back; the second asks helm to give up (it rolls the release back), and
/// the outcome and the release's state are reported as usual.
async fn with_progress_interruptible<T>(
    json_out: bool,
    stopping: Stopping,
    work: impl AsyncFnOnce(&UnboundedSender<Event>) -> T,
) -> (T, Vec<Event>) {
    let helm_pid = std::sync::Arc::new(std::sync::Mutex::new(None::<u32>));
    let stop_on_start = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
    let (fwd_tx, mut fwd_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    // Watches the engine's events for helm's pid on their way to the printer.
    let (pid, stop) = (helm_pid.clone(), stop_on_start.clone());
    let run = with_progress(json_out, async move |tx: &UnboundedSender<Event>| {
        let relay = {
            let tx = tx.clone();
            async move {
                while let Some(ev) = fwd_rx.recv().await {
                    if let Event::HelmStarted { pid: p, .. } = &ev {
                        if let Ok(mut g) = pid.lock() {
                            *g = Some(*p);
                        }
                        if stop.load(std::sync::atomic::Ordering::SeqCst) {
                            let _ = crate::helm::driver::Helm::interrupt(*p);
                        }
                    }
                    let _ = tx.send(ev);
                }
            }
        };
        let work = async move {
            let r = work(&fwd_tx).await;
            drop(fwd_tx);
            r
        };
        let (r, ()) = tokio::join!(work, relay);
        let _ = done_tx.send(true);
        r
    });
    let signals = async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut count = 0;
        loop {
            #[cfg(unix)]
            let terminated = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let terminated = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminated => {}
                _ = done_rx.changed() => return,
            }
            count += 1;
            let pid = helm_pid.lock().ok().and_then(|g| *g);
            match (count, pid) {
                (1, Some(p)) => eprintln!(
                    "interrupted: helm (pid {p}) keeps going and finishes or rolls back by itself; helmdeck keeps reporting. Ctrl-C again stops helm now: {}",
                    stopping.then()
                ),
                (1, None) => eprintln!(
                    "interrupted: helm has not started yet; Ctrl-C again stops it as soon as it does"
                ),
                (2, Some(p)) => match crate::helm::driver::Helm::interrupt(p) {
                    Ok(()) => eprintln!(
                        "stopping: asked helm (pid {p}) to give up; {}. Ctrl-C a third time kills helm if it does not stop",
                        stopping.waiting()
                    ),
                    Err(e) => eprintln!("cannot stop helm (pid {p}): {e}"),
                },
                (_, Some(p)) => match crate::helm::driver::Helm::kill(p) {
                    Ok(()) => eprintln!(
                        "killing helm (pid {p}): the release is left as helm left it; its state and the way back follow"
                    ),
                    Err(e) => eprintln!("cannot kill helm (pid {p}): {e}"),
                },
                (_, None) => {
                    stop_on_start.store(true, std::sync::atomic::Ordering::SeqCst);
                    eprintln!("stopping: helm will be asked to give up as soon as it starts");
                }
            }
        }
    };
    let (r, ()) = tokio::join!(run, signals);
    r
}

/// Asks on the terminal, off the runtime's threads; anything but yes is no.
async fn ask(question: String) -> bool {
    matches!(
        read_answer(format!("{question} [y/N] ")).await.trim(),
        "y" | "Y" | "yes"
    )
}

/// Asks the person to type `expected` (a release's name) to go on.
async fn ask_typed(question: String, expected: &str) -> bool {
    read_answer(format!("{question} ")).await.trim() == expected
}

/// One line from the terminal after `prompt`.
async fn read_answer(prompt: String) -> String {
    // A thread of its own, not the runtime's blocking pool: after a Ctrl-C at the question
    // the runtime would wait for the read to finish before the process could exit.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.await.unwrap_or_default()
}

/// Runs `work` unless Ctrl-C or SIGTERM comes first (then None, and `work` is dropped: a
/// helm it ran for the plan is killed with it, its values file removed). Used before
/// anything is applied, where stopping leaves nothing behind.
async fn unless_interrupted<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    #[cfg(unix)]
    let terminated = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut t) => {
                t.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminated = std::future::pending::<()>();
    tokio::select! {
        r = work => Some(r),
        _ = tokio::signal::ctrl_c() => None,
        _ = terminated => None,
    }
}

/// The CLI's side of a campaign: the way and each stage's events printed, questions asked on
/// the terminal (or answered by `--yes`), Ctrl-C handled as each stage allows.
struct CliPilot {
    json_out: bool,
    yes: bool,
    no_rollback: bool,
    /// Every event, for `--output json`.
    events: Vec<Event>,
}

impl deploy::Pilot for CliPilot {
    fn path(&mut self, path: &crate::chart::upgrade_path::UpgradePath) {
        if !self.json_out {
            eprintln!("{}", path.lines().join("\n"));
        }
    }

    async fn acknowledge(&mut self, at: &deploy::StopAt, steps: &[String]) -> deploy::Answer {
        if self.yes {
            // The way printed them; --yes stands for having done them.
            return deploy::Answer::Yes;
        }
        let list: Vec<String> = steps.iter().map(|s| format!("  - {s}")).collect();
        let question = format!(
            "Before {}, these steps are done by hand:\n{}\nAre they done?",
            at.label(),
            list.join("\n")
        );
        answer(unless_interrupted(ask(question)).await)
    }

    async fn plan(
        &mut self,
        at: &deploy::StopAt,
        work: impl AsyncFnOnce(&UnboundedSender<Event>) -> Result<deploy::PlannedDeploy, Outcome>,
    ) -> Result<deploy::PlannedDeploy, Outcome> {
        if at.one_of_several() && !self.json_out {
            eprintln!("— {} —", at.label());
        }
        let Some((planned, more)) = unless_interrupted(with_progress(self.json_out, work)).await
        else {
            return Err(Outcome::Interrupted {
                during: "while planning".into(),
            });
        };
        self.events.extend(more);
        planned
    }

    async fn confirm(&mut self, at: &deploy::StopAt, plan: &deploy::Plan) -> deploy::Answer {
        if self.yes {
            return deploy::Answer::Yes;
        }
        answer(unless_interrupted(ask(plan.question(at))).await)
    }

    async fn apply(
        &mut self,
        _at: &deploy::StopAt,
        work: impl AsyncFnOnce(&UnboundedSender<Event>) -> Outcome,
    ) -> Outcome {
        let stop = if self.no_rollback {
            Stopping::LeavesPending
        } else {
            Stopping::RollsBack
        };
        let (o, more) = with_progress_interruptible(self.json_out, stop, work).await;
        self.events.extend(more);
        o
    }

    fn stopped(&mut self, at: &deploy::StopAt, _outcome: &Outcome) {
        if !self.json_out {
            eprintln!(
                "stopped at {}: the release stays where this stop left it",
                at.label()
            );
        }
    }
}

/// A terminal answer as the campaign takes it (None: Ctrl-C at the question).
fn answer(said: Option<bool>) -> deploy::Answer {
    match said {
        Some(true) => deploy::Answer::Yes,
        Some(false) => deploy::Answer::No,
        None => {
            eprintln!();
            deploy::Answer::Interrupted
        }
    }
}

/// `install`, `upgrade` and `plan`: plan, ask, apply exactly that plan.
pub fn deploy(action: Action, plan_only: bool, args: DeployArgs) -> i32 {
    // An upgrade reads the release's own profile; an install or plan needs one named.
    let no_profile = args.values.profile.is_none() && action == Action::Install;
    let values = match super::values_intent(&args.values) {
        // A cluster is named: the profile's vendor chart, unless it is the simulated one.
        Ok(v) => crate::deploy::ValuesIntent {
            stand_in: false,
            ..v
        },
        Err(e) => return fail(e),
    };
    let intent = Intent {
        values,
        timeout_secs: args.wait.timeout,
        rollback_on_failure: !args.no_rollback,
        verify: !args.no_verify,
        resize_disks: args.resize_disks,
        skip: args
            .skip_stop
            .clone()
            .zip(args.reason.clone())
            .map(|(version, reason)| crate::deploy::intent::SkipStop { version, reason }),
        ..Intent::new(
            action,
            &args.target.release,
            &args.target.namespace,
            target(&args.target),
        )
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !plan_only && !args.yes && !interactive {
        return fail(CliError::bad_input(
            "not a terminal: pass --yes to apply without confirmation",
        ));
    }
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // The cluster first: an unreachable one is the answer before any chart is fetched.
    if let Err(e) = reach(&rt, &args.target) {
        return fail(e);
    }
    let json_out = args.target.output == Output::Json;
    let mut pilot = CliPilot {
        json_out,
        yes: args.yes,
        no_rollback: args.no_rollback,
        events: Vec::new(),
    };
    let (outcome, path) = rt.block_on(async {
        let campaign = match deploy::Campaign::prepare(intent, plan_only).await {
            Ok(c) => c,
            Err(o) => return (o, None),
        };
        let outcome = campaign.run(&mut pilot).await;
        let stops = campaign.stops();
        if plan_only && stops.len() > 1 && !json_out && outcome == Outcome::Planned {
            eprintln!(
                "(the later stops are planned when the release reaches them: their diff depends on this one)"
            );
        }
        (outcome, campaign.path().cloned())
    });
    let events = pilot.events;
    if json_out {
        let doc = json!({"outcome": outcome, "path": path, "events": events});
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        eprintln!("{outcome}");
        if no_profile && matches!(outcome, Outcome::BadInput { .. }) {
            eprintln!("  hint: {}", no_profile_hint(&rt, &args.target));
        }
    }
    outcome.exit_code()
}

/// What to do without a profile: the one the cluster's nodes point to, when they do.
fn no_profile_hint(rt: &tokio::runtime::Runtime, t: &ReleaseTarget) -> String {
    let detected = rt.block_on(async {
        let client = target(t).client().await.ok()?;
        let ids = crate::cluster::provider_ids(&client).await;
        crate::profile::detect::from_provider_ids(ids.iter().map(String::as_str))
    });
    match detected {
        Some(d) => format!(
            "no --profile was given, so nothing set the cloud the chart runs on; the nodes run on {} ({}): pass --profile {} (`helmdeck profiles list` shows them)",
            d.profile, d.provider_id, d.profile
        ),
        None => "no --profile was given, so nothing set the cloud the chart runs on: name it with --profile (`helmdeck profiles list` shows them)".into(),
    }
}

pub fn status(args: ReleaseArgs) -> i32 {
    let t = &args.target;
    let helm = match helm_for(t) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Err(e) = reach(&rt, t) {
        return fail(e);
    }
    let hist = match rt.block_on(helm.history(&t.release, &t.namespace)) {
        Ok(h) => h,
        Err(e) => {
            let o = Outcome::from(e);
            eprintln!("{o}");
            return o.exit_code();
        }
    };
    let find_live = || {
        let dir = data_dir().ok()?;
        crate::helm::runs::find(
            &dir,
            &t.namespace,
            &t.release,
            helm.kubeconfig.as_deref(),
            helm.context.as_deref(),
        )
    };
    let Some(cur) = hist.last() else {
        // A first install helmdeck started here may not have stored its release yet.
        if let Some(run) = find_live() {
            let advice = format!(
                "in progress: {} (its output: {}); helm has not stored the release yet; `helmdeck` (the app) follows it with `o` and stops it with `s`",
                run.describe(),
                run.err_log.display()
            );
            if t.output == Output::Json {
                outln!("{}", serde_json::to_string_pretty(&json!({"release": t.release, "namespace": t.namespace, "current": null, "stuck": false, "in_progress": run, "advice": advice})).unwrap_or_default());
            } else {
                outln!("release:   {} (namespace {})", t.release, t.namespace);
                outln!("progress:  {advice}");
            }
            return exit::BUSY;
        }
        eprintln!(
            "error: release {} not found in namespace {}",
            t.release, t.namespace
        );
        return exit::BAD_INPUT;
    };
    // A pending release whose helm helmdeck started here is still running is in progress,
    // not stuck.
    let live = cur.status.is_pending().then(find_live).flatten();
    // A helm killed mid-way leaves pending-*, or uninstalling when it was undoing a failed
    // first install.
    // A young pending revision no helm of ours runs is most likely another operator's helm
    // at work (helm keeps no heartbeat): the way back is given only for once it is known gone.
    let ended_here = data_dir().ok().and_then(|dir| {
        crate::helm::runs::last_ended(
            &dir,
            &t.namespace,
            &t.release,
            helm.kubeconfig.as_deref(),
            helm.context.as_deref(),
        )
    });
    let elsewhere = deploy::recovery::pending_elsewhere(&hist, ended_here.as_ref())
        .filter(|age| live.is_none() && *age < deploy::DEFAULT_TIMEOUT_SECS);
    let stuck = cur.status.is_stuck() && live.is_none() && elsewhere.is_none();
    let way_back = deploy::recovery::way_back(&hist, &t.release, &t.namespace).unwrap_or_default();
    let advice = if let Some(run) = &live {
        format!(
            "in progress: {} (its output: {}); `helmdeck` (the app) follows it with `o` and stops it with `s`",
            run.describe(),
            run.err_log.display()
        )
    } else if let Some(age) = elsewhere {
        format!(
            "{} for {age} s, and no helm started here runs it: most likely another operator's helm at work. Wait for it (helm gives up after its --timeout; helmdeck's is {} s); only once that helm is known to be gone: {way_back}",
            cur.status,
            deploy::DEFAULT_TIMEOUT_SECS
        )
    } else if stuck {
        format!("stuck in {}: {way_back}", cur.status)
    } else {
        String::new()
    };
    let in_progress = match (&live, elsewhere) {
        (Some(run), _) => json!(run),
        (None, Some(age)) => json!({"elsewhere": true, "pending_for_secs": age}),
        (None, None) => json!(null),
    };
    if t.output == Output::Json {
        outln!("{}", serde_json::to_string_pretty(&json!({"release": t.release, "namespace": t.namespace, "current": cur, "stuck": stuck, "in_progress": in_progress, "advice": advice})).unwrap_or_default());
    } else {
        outln!("release:   {} (namespace {})", t.release, t.namespace);
        outln!("revision:  {}", cur.revision);
        outln!("status:    {}", cur.status);
        outln!("chart:     {} (app {})", cur.chart, cur.app_version);
        outln!("updated:   {}", cur.updated);
        if live.is_some() || elsewhere.is_some() {
            outln!("progress:  {advice}");
        } else if stuck {
            outln!("problem:   {advice}");
        }
    }
    if stuck || live.is_some() || elsewhere.is_some() {
        exit::BUSY
    } else {
        exit::OK
    }
}

pub fn history(args: ReleaseArgs) -> i32 {
    let t = &args.target;
    let helm = match helm_for(t) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Err(e) = reach(&rt, t) {
        return fail(e);
    }
    match rt.block_on(helm.history(&t.release, &t.namespace)) {
        // As `status` says it (helm's own history fails on it too).
        Ok(h) if h.is_empty() => {
            eprintln!(
                "error: release {} not found in namespace {}",
                t.release, t.namespace
            );
            exit::BAD_INPUT
        }
        Ok(h) if t.output == Output::Json => {
            outln!("{}", serde_json::to_string_pretty(&h).unwrap_or_default());
            exit::OK
        }
        Ok(h) => {
            outln!(
                "{:<9} {:<17} {:<22} {:<10} DESCRIPTION",
                "REVISION",
                "STATUS",
                "CHART",
                "APP"
            );
            for e in h {
                outln!(
                    "{:<9} {:<17} {:<22} {:<10} {}",
                    e.revision,
                    e.status,
                    e.chart,
                    e.app_version,
                    e.description
                );
            }
            exit::OK
        }
        Err(e) => {
            let o = Outcome::from(e);
            eprintln!("{o}");
            o.exit_code()
        }
    }
}

pub fn rollback(args: RollbackArgs) -> i32 {
    let t = &args.target;
    let helm = match helm_for(t) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let data_dir = match data_dir() {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return fail(CliError::bad_input(
            "not a terminal: pass --yes to roll back without confirmation",
        ));
    }
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Err(e) = reach(&rt, t) {
        return fail(e);
    }
    rt.block_on(async {
        // Planned as an upgrade is: the versions from and to, what does not roll back, and
        // the release's name typed across a chart major or an app minor.
        let plan = match helm.history(&t.release, &t.namespace).await {
            Ok(h) => deploy::plan_rollback(&h, &t.release, &t.namespace, args.revision),
            Err(e) => Err(Outcome::from(e)),
        };
        let plan = match plan {
            Ok(p) => p,
            Err(o) => {
                eprintln!("{o}");
                return o.exit_code();
            }
        };
        eprintln!("{}", plan.question().trim_end_matches('?'));
        for l in plan.lines() {
            eprintln!("  {l}");
        }
        if !args.yes {
            let asked = async {
                if plan.type_the_name {
                    ask_typed(
                        format!("Type {} to roll it back:", plan.release),
                        &plan.release,
                    )
                    .await
                } else {
                    ask(plan.question()).await
                }
            };
            match unless_interrupted(asked).await {
                Some(true) => {}
                Some(false) => {
                    eprintln!("not rolled back");
                    return exit::FAILED;
                }
                None => {
                    eprintln!(
                        "\n{}",
                        Outcome::Interrupted {
                            during: "at the question".into()
                        }
                    );
                    return exit::INTERRUPTED;
                }
            }
        }
        // Ctrl-C as during an install: helm (detached) finishes the rollback; twice asks it
        // to give up; three times kills it.
        let (outcome, _) =
            with_progress_interruptible(false, Stopping::LeavesPending, async |tx| {
                deploy::rollback(
                    &helm,
                    &deploy::RollbackRequest {
                        release: &t.release,
                        namespace: &t.namespace,
                        revision: plan.to.revision,
                        from: plan.from.revision,
                        timeout_secs: args.wait.timeout,
                        watch: None,
                    },
                    &data_dir,
                    &target(t),
                    tx.clone(),
                )
                .await
            })
            .await;
        match &outcome {
            Outcome::Applied { revision, .. } => {
                eprintln!("done: rolled back (now revision {revision})")
            }
            other => eprintln!("{other}"),
        }
        outcome.exit_code()
    })
}
