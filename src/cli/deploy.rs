//! `install`, `upgrade`, `plan`, `status`, `history`, `rollback`: drive the deploy engine and
//! render its events (indicatif on a terminal, plain lines otherwise, JSON on request).

use std::io::{IsTerminal, Write};

use serde_json::json;

use super::render::{CliError, prepare};
use super::{DeployArgs, Output, ReleaseArgs, ReleaseTarget, exit, runtime};
use crate::cluster::Target;
use crate::cluster::preflight::Verdict;
use crate::deploy::{self, Action, Event, Outcome, StepState};
use crate::helm::driver::{FailureKind, Helm};

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
            format!("{mark} {step:?} {detail}").trim_end().to_string()
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
                        match c.op {
                            '+' => format!("  + {}: {}{layer}", c.path, show(&c.new)),
                            '-' => format!("  - {}: {}", c.path, show(&c.old)),
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
        Event::HelmOutput { line } => format!("  helm: {line}"),
        Event::Progress { .. } => return None,
        Event::Notice { message } => format!("! {message}"),
    })
}

pub fn deploy(action: Action, args: DeployArgs) -> i32 {
    let prepared = match prepare(&args.values) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let helm = match helm_for(&args.target) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let data_dir = match data_dir() {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let mut request = prepared.request;
    request.major = helm.major();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if action != Action::Plan && !args.yes && !interactive {
        return fail(CliError::bad_input(
            "not a terminal: pass --yes to apply without confirmation",
        ));
    }
    let req = deploy::DeployRequest {
        action,
        release: args.target.release.clone(),
        namespace: args.target.namespace.clone(),
        target: target(&args.target),
        profile: prepared.profile,
        chart: prepared.chart,
        chart_path: prepared.chart_path,
        request,
        helm,
        timeout_secs: args.target.timeout,
        rollback_on_failure: !args.no_rollback,
        data_dir,
    };
    let rt = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let json_out = args.target.output == Output::Json;
    let yes = args.yes;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = rt.block_on(async move {
        let bar = (!json_out && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        let started = std::time::Instant::now();
        let engine = tokio::spawn(deploy::run(
            req,
            move |_changes| {
                if yes {
                    return true;
                }
                eprint!("Apply these changes? [y/N] ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes")
            },
            tx,
        ));
        let mut events = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let (Some(b), Event::Progress { pods_ready, pods_expected, jobs_done, jobs_expected }) = (&bar, &ev) {
                b.set_message(format!(
                    "pods ready {pods_ready}/{pods_expected}, jobs {jobs_done}/{jobs_expected}, {}s",
                    started.elapsed().as_secs()
                ));
            }
            if !json_out
                && let Some(text) = describe(&ev) {
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
        let outcome = engine.await.unwrap_or(Outcome::Failed {
            kind: FailureKind::Other,
            message: "the engine stopped unexpectedly".into(),
            fix: String::new(),
            rolled_back: false,
        });
        (outcome, events)
    });
    let (outcome, events) = outcome;
    if json_out {
        let doc = json!({"outcome": outcome, "events": events});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        eprintln!("{}", outcome_text(&outcome));
    }
    outcome.exit_code()
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Applied { revision } => format!("done: revision {revision} deployed"),
        Outcome::Planned => "plan complete: nothing was applied".into(),
        Outcome::Declined => "not applied".into(),
        Outcome::PreflightFailed { failed } => format!(
            "preflight failed ({} check(s)): nothing was applied",
            failed.len()
        ),
        Outcome::Failed {
            kind,
            message,
            fix,
            rolled_back,
        } => format!(
            "failed ({kind:?}){}: {message}\n  fix: {fix}",
            if *rolled_back { ", rolled back" } else { "" }
        ),
        Outcome::BadInput { message } => format!("error: {message}"),
        Outcome::Unreachable { message } => format!("error: {message}"),
        Outcome::Busy { message } => format!("error: {message}"),
    }
}

fn failure_code(kind: FailureKind) -> i32 {
    match kind {
        FailureKind::ClusterUnreachable => exit::UNREACHABLE,
        FailureKind::AnotherOperationInProgress => exit::BUSY,
        FailureKind::ReleaseNotFound => exit::BAD_INPUT,
        _ => exit::FAILED,
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
    let hist = match rt.block_on(helm.history(&t.release, &t.namespace)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return failure_code(e.kind);
        }
    };
    let Some(cur) = hist.last() else {
        eprintln!(
            "error: release {} not found in namespace {}",
            t.release, t.namespace
        );
        return exit::BAD_INPUT;
    };
    let stuck = cur.status.starts_with("pending-");
    let last_deployed = hist
        .iter()
        .rev()
        .find(|h| h.status == "deployed" || h.status == "superseded")
        .map(|h| h.revision);
    let advice = if stuck {
        match last_deployed {
            Some(r) => format!(
                "stuck in {}: run `helmdeck rollback {r} --release {} -n {}`",
                cur.status, t.release, t.namespace
            ),
            None => format!(
                "stuck in {} and never deployed: uninstall it (`helm uninstall {} -n {}`) and install again",
                cur.status, t.release, t.namespace
            ),
        }
    } else {
        String::new()
    };
    if t.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&json!({"release": t.release, "namespace": t.namespace, "current": cur, "stuck": stuck, "advice": advice})).unwrap_or_default());
    } else {
        println!("release:   {} (namespace {})", t.release, t.namespace);
        println!("revision:  {}", cur.revision);
        println!("status:    {}", cur.status);
        println!("chart:     {} (app {})", cur.chart, cur.app_version);
        println!("updated:   {}", cur.updated);
        if stuck {
            println!("problem:   {advice}");
        }
    }
    if stuck { exit::BUSY } else { exit::OK }
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
    match rt.block_on(helm.history(&t.release, &t.namespace)) {
        Ok(h) if t.output == Output::Json => {
            println!("{}", serde_json::to_string_pretty(&h).unwrap_or_default());
            exit::OK
        }
        Ok(h) => {
            println!(
                "{:<9} {:<17} {:<22} {:<10} DESCRIPTION",
                "REVISION", "STATUS", "CHART", "APP"
            );
            for e in h {
                println!(
                    "{:<9} {:<17} {:<22} {:<10} {}",
                    e.revision, e.status, e.chart, e.app_version, e.description
                );
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            failure_code(e.kind)
        }
    }
}

pub fn rollback(args: ReleaseArgs) -> i32 {
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
    rt.block_on(async {
        if !args.yes {
            let what = match args.revision {
                Some(r) => format!("revision {r}"),
                None => "the last deployed revision".into(),
            };
            eprint!("Roll {} back to {what}? [y/N] ", t.release);
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() || !matches!(line.trim(), "y" | "yes")
            {
                eprintln!("not rolled back");
                return exit::FAILED;
            }
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let printer = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                match ev {
                    Event::HelmOutput { line } => eprintln!("  helm: {line}"),
                    other => {
                        if let Some(text) = describe(&other) {
                            eprintln!("{text}");
                        }
                    }
                }
            }
        });
        let outcome = deploy::rollback(
            &helm,
            &t.release,
            &t.namespace,
            args.revision,
            t.timeout,
            &data_dir,
            tx,
        )
        .await;
        let _ = printer.await;
        match &outcome {
            Outcome::Applied { revision } => {
                eprintln!("done: rolled back (now revision {revision})")
            }
            other => eprintln!("{}", outcome_text(other)),
        }
        outcome.exit_code()
    })
}
