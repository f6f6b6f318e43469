//! Applying a plan: exactly its values, under the release lock, recorded in the audit log
//! before anything is applied; then the rollout followed and the release verified.

use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use super::verify::{Following, is_the_stack};
use super::{
    Action, DeployRequest, Event, Outcome, Plan, PlannedDeploy, Step, StepState, audit, objects,
    resize, send, step,
};
use crate::cluster::{
    self,
    watch::{ClusterWatch, Scope},
};

/// Applies exactly `plan` with helm, under the release lock, recorded in the audit log before
/// anything is applied. Refuses, applying nothing, when the plan's checks failed or the release
/// moved since the plan was made.
pub async fn apply(planned: &PlannedDeploy, tx: &UnboundedSender<Event>) -> Outcome {
    let (req, plan) = (&planned.request, &planned.plan);
    let failed = plan.failed();
    if !failed.is_empty() {
        return Outcome::PreflightFailed { failed };
    }
    let scope = req.target.scope_key();
    let _lock =
        match audit::ReleaseLock::acquire(&req.data_dir, &scope, &req.namespace, &req.release) {
            Ok(l) => l,
            Err(e) => return e.into(),
        };
    step(tx, Step::Confirm, StepState::Done, "");
    if let Err(o) = same_chart(planned) {
        step(tx, Step::Apply, StepState::Failed, "the chart changed");
        return o;
    }
    let history = match req.helm.history(&req.release, &req.namespace).await {
        Ok(h) => h,
        Err(e) => return e.into(),
    };
    let now = history.last().map(|h| h.revision);
    if now != plan.based_on {
        let was =
            |r: Option<u64>| r.map_or("not installed".to_string(), |r| format!("revision {r}"));
        let by = history
            .last()
            .map(|h| format!(" ({}: {})", h.status, h.description))
            .unwrap_or_default();
        step(tx, Step::Apply, StepState::Failed, "the release moved");
        return Outcome::Busy {
            message: format!(
                "{} in {} changed since the plan was made: the plan was for {}, the release is now at {}{by}. Nothing was applied; plan again to see what applying would change now",
                req.release,
                req.namespace,
                was(plan.based_on),
                was(now),
            ),
        };
    }
    let client = match req.target.connect().await {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Unreachable {
                message: e.to_string(),
            };
        }
    };

    let audit = audit::AuditLog::new(&req.data_dir);
    let (values_file, base_record) = match record_start(req, plan, &planned.chart_sha256, &audit) {
        Ok(started) => started,
        Err(o) => return o,
    };
    if let Err(outcome) = before_the_chart(req, plan, &client, &audit, tx).await {
        let mut end = base_record.clone();
        end["phase"] = json!("outcome");
        end["outcome"] = json!(outcome);
        let _ = audit.append(end);
        return outcome;
    }
    step(
        tx,
        Step::Apply,
        StepState::Running,
        format!("helm {}", req.helm.bin.version),
    );
    let (watch_client, follow) = start_following(&req.following(), &client, tx).await;
    let args = req.helm.upgrade_install_args(
        &req.release,
        &req.chart_path,
        &req.namespace,
        &values_file,
        req.timeout_secs,
        req.rollback_on_failure,
        false,
    );
    let log_dir = crate::helm::runs::log_dir(&req.data_dir, &req.namespace, &req.release);
    let operation = match req.action {
        Action::Install => "install",
        Action::Upgrade => "upgrade",
    };
    let helm_run = req.helm.run_detached(
        operation,
        &args,
        &log_dir,
        |pid, log| {
            send(
                tx,
                Event::HelmStarted {
                    pid,
                    log: log.display().to_string(),
                },
            )
        },
        |l| {
            send(
                tx,
                Event::HelmOutput {
                    line: l.to_string(),
                },
            )
        },
    );
    // helm's --timeout bounds its wait, not a request the API server never answers (helm has
    // no request timeout): past its own deadline (twice, when a failure is rolled back with
    // a wait of its own) and three request timeouts more, say so, and keep waiting —
    // killing helm here would leave the release pending for certain.
    let overdue = std::time::Duration::from_secs(
        req.timeout_secs * if req.rollback_on_failure { 2 } else { 1 },
    ) + 3 * crate::deadlines::request_timeout();
    let mut helm_run = std::pin::pin!(helm_run);
    let result = tokio::select! {
        r = &mut helm_run => r,
        _ = tokio::time::sleep(overdue) => {
            send(
                tx,
                Event::Notice {
                    message: format!(
                        "helm has run {} s, past its own --timeout of {} s: the API server may have stopped answering (helm has no request timeout of its own). Ctrl-C twice (in the app: s) asks helm to give up; `helmdeck status` shows the release",
                        overdue.as_secs(),
                        req.timeout_secs
                    ),
                },
            );
            helm_run.await
        }
    };
    follow.abort();
    let outcome = match result {
        Ok(out_text) => after_helm(req, &out_text, &watch_client, tx).await,
        Err(e) => after_failure(req, plan, e, tx).await,
    };
    let mut end = base_record;
    end["phase"] = json!("outcome");
    end["outcome"] = serde_json::to_value(&outcome).unwrap_or_default();
    let _ = audit.append(end);
    outcome
}

/// The values in a private file for helm, and the audit log's start record (returned as the
/// base of the outcome's), written before anything is applied.
/// The chart helm is about to read is the one the plan rendered.
fn same_chart(planned: &PlannedDeploy) -> Result<(), Outcome> {
    let path = &planned.request.chart_path;
    match crate::chart::digest::digest(path) {
        Ok(now) if now == planned.chart_sha256 => Ok(()),
        Ok(_) => Err(Outcome::Busy {
            message: format!(
                "the chart at {} changed since the plan was made. Nothing was applied; plan again to see what applying would change now",
                path.display()
            ),
        }),
        Err(e) => Err(Outcome::local(
            format!("cannot read the chart {}: {e}", path.display()),
            "check the chart path; nothing was applied",
        )),
    }
}

fn record_start(
    req: &DeployRequest,
    plan: &Plan,
    chart_sha256: &str,
    audit: &audit::AuditLog,
) -> Result<(std::path::PathBuf, serde_json::Value), Outcome> {
    let values_json = serde_json::to_vec_pretty(&plan.values).unwrap_or_default();
    let values_file = req
        .data_dir
        .join("applied")
        .join(&req.namespace)
        .join(&req.release)
        .join(format!("{}.json", crate::time::now_for_file_name()));
    if let Err(e) = crate::private_files::private_file(&values_file, &values_json) {
        return Err(Outcome::local(
            e,
            "check the data directory (HELMDECK_DATA_DIR)",
        ));
    }
    if let Some(dir) = values_file.parent() {
        audit::keep_newest(dir, audit::APPLIED_KEPT);
    }
    let mut base_record = plan.record(&req.target);
    base_record["chart_sha256"] = json!(chart_sha256);
    let mut start = base_record.clone();
    start["phase"] = json!("start");
    start["values_file"] = json!(values_file.display().to_string());
    start["diff"] = json!(
        plan.changes
            .iter()
            .map(|c| format!("{} {}", c.op, c.path))
            .collect::<Vec<_>>()
    );
    start["resize"] = json!(resize::lines(&plan.resize));
    start["objects"] = json!(
        plan.objects
            .iter()
            .map(|c| format!("{} {}", c.op, c.label()))
            .collect::<Vec<_>>()
    );
    if let Err(e) = audit.append(start) {
        return Err(Outcome::local(e, "check the data directory"));
    }
    Ok((values_file, base_record))
}

/// What helmdeck applies before helm runs: the profile's objects (server-side apply) and the
/// guided disk resize. An error stops the apply: the chart was not applied.
async fn before_the_chart(
    req: &DeployRequest,
    plan: &Plan,
    client: &kube::Client,
    audit: &audit::AuditLog,
    tx: &UnboundedSender<Event>,
) -> Result<(), Outcome> {
    if plan.objects.iter().any(|c| c.op != "unchanged") {
        match objects::apply(client, &plan.objects, &req.namespace).await {
            Ok(done) => send(
                tx,
                Event::Notice {
                    message: format!("applied {} (server-side apply)", done.join(", ")),
                },
            ),
            Err(e) => {
                step(tx, Step::Apply, StepState::Failed, e.to_string());
                return Err(Outcome::local(
                    format!("{e}; the chart was not applied"),
                    "fix the object in the profile, or the rights to apply it, and run again",
                ));
            }
        }
    }
    if !plan.resize.is_empty() {
        for l in resize::lines(&plan.resize) {
            send(
                tx,
                Event::Notice {
                    message: format!("disk resize: {l}"),
                },
            );
        }
        let wait = std::time::Duration::from_secs(req.timeout_secs);
        if let Err(outcome) =
            resize::run(client, &req.namespace, &plan.resize, wait, audit, tx).await
        {
            step(
                tx,
                Step::Apply,
                StepState::Failed,
                "the disk resize stopped",
            );
            return Err(outcome);
        }
    }
    Ok(())
}

/// helm is done and every resource ready: the revision it made, then the Verify step.
async fn after_helm(
    req: &DeployRequest,
    out_text: &str,
    watch_client: &kube::Client,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    step(tx, Step::Apply, StepState::Done, "");
    step(
        tx,
        Step::Rollout,
        StepState::Done,
        "every resource ready (helm --wait)",
    );
    // helm prints the revision it made; asking it again costs a process.
    let printed = out_text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("REVISION:")
            .and_then(|r| r.trim().parse::<u64>().ok())
    });
    let revision = match printed {
        Some(r) => r,
        None => req
            .helm
            .history(&req.release, &req.namespace)
            .await
            .ok()
            .and_then(|h| h.last().map(|e| e.revision))
            .unwrap_or(0),
    };
    // The keys the wizard was given, now that the namespace exists: before Verify reads them.
    if !req.secrets.is_empty() {
        match objects::store_secrets(watch_client, &req.namespace, &req.secrets).await {
            Ok(done) => {
                let _ = audit::AuditLog::new(&req.data_dir).append(json!({"phase": "secrets", "release": req.release, "namespace": req.namespace, "stored": done}));
                send(
                    tx,
                    Event::Notice {
                        message: format!("stored {} (the value is not shown)", done.join(", ")),
                    },
                );
            }
            Err(e) => send(
                tx,
                Event::Notice {
                    message: format!("{e}: Verify goes on without it; create it yourself"),
                },
            ),
        }
    }
    if req.verify {
        let rule = req
            .profile
            .as_ref()
            .map(|p| p.storage.encryption)
            .unwrap_or(crate::profile::EncryptionRule::NotRequired);
        super::verify::verify(&req.following(), rule, watch_client, revision, tx).await
    } else {
        step(tx, Step::Verify, StepState::Skipped, "--no-verify");
        Outcome::Applied {
            revision,
            not_verified: Vec::new(),
        }
    }
}

/// helm failed: whether it rolled the release back, and the state it left the release in
/// (with the way back) when it was stopped mid-way.
async fn after_failure(
    req: &DeployRequest,
    plan: &Plan,
    e: crate::helm::driver::HelmFailure,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    step(tx, Step::Apply, StepState::Failed, e.message.clone());
    let after = match req.helm.history(&req.release, &req.namespace).await {
        Ok(h) => h,
        // The cluster went away while helm ran: whatever helm's last words (often its wait's
        // deadline), the failure is the cluster's, and the release's state is unknown.
        Err(now) if now.kind == crate::helm::driver::FailureKind::ClusterUnreachable => {
            return Outcome::Unreachable {
                message: format!(
                    "the cluster stopped answering while helm ran ({}); helm said: {}\n  fix: nothing can say where the release was left until the API server answers again; then `helmdeck status --release {} -n {}` says, with the way back",
                    now.message.trim(),
                    e.message.trim(),
                    req.release,
                    req.namespace
                ),
            };
        }
        Err(_) => Vec::new(),
    };
    // helm refused because another operation holds the release: the pending revision is that
    // operation's, not this run's, and a rollback would undo someone else's change.
    if e.kind == crate::helm::driver::FailureKind::AnotherOperationInProgress {
        let theirs = after
            .last()
            .filter(|h| h.status.is_pending() || Some(h.revision) > plan.based_on)
            .map(|h| {
                format!(
                    "; revision {} ({}, {}, {}) is that operation's: this run created nothing",
                    h.revision, h.status, h.updated, h.description
                )
            })
            .unwrap_or_default();
        return Outcome::Busy {
            message: format!("{}{theirs}\n  fix: {}", e.message, e.fix),
        };
    }
    // "Rolled back" only when helm applied something and undid it: it says so ("…
    // has been uninstalled / rolled back due to atomic / rollback-on-failure being
    // set", helm 3 and 4), or a revision newer than the plan's is a rollback. A chart
    // helm refused before applying anything is not "rolled back".
    let said = e.message.contains("has been uninstalled due to")
        || e.message.contains("has been rolled back due to");
    let newer_rollback = after.last().is_some_and(|h| {
        Some(h.revision) > plan.based_on && h.description.to_ascii_lowercase().contains("rollback")
    });
    let undone = req.rollback_on_failure && (said || newer_rollback);
    let mut o = Outcome::from(e);
    if let Outcome::Failed {
        rolled_back,
        message,
        fix,
        ..
    } = &mut o
    {
        *rolled_back = undone;
        // helm killed (or cut off) mid-way leaves the release pending: say so, and
        // how to get it back, rather than only helm's last words.
        if let (Some(last), Some(way_back)) = (
            after.last(),
            super::recovery::way_back(&after, &req.release, &req.namespace),
        ) {
            message.push_str(&format!(
                "; the release is left {} (revision {}), and helm will refuse to touch it until it is recovered",
                last.status, last.revision
            ));
            *fix = way_back;
        }
    }
    o
}

impl DeployRequest {
    fn following(&self) -> Following<'_> {
        Following {
            target: &self.target,
            namespace: &self.namespace,
            release: &self.release,
            watch: self.watch.as_ref(),
            probe: is_the_stack(self.chart.name())
                .then(|| crate::cluster::probe::settings_for(self.profile.as_ref())),
        }
    }
}

/// Starts following the rollout while helm runs: from the front end's watchers when it lent
/// them, else from our own, on a client whose reads may wait out a quiet watch window.
pub(super) async fn start_following(
    f: &Following<'_>,
    client: &kube::Client,
    tx: &UnboundedSender<Event>,
) -> (kube::Client, tokio::task::JoinHandle<()>) {
    let watch_client = f
        .target
        .watch_client()
        .await
        .unwrap_or_else(|_| client.clone());
    let lent = f.watch.and_then(|w| w.lend(f.namespace, true, false));
    let follow = tokio::spawn(follow_rollout(
        watch_client.clone(),
        lent,
        f.namespace.to_string(),
        f.release.to_string(),
        tx.clone(),
    ));
    (watch_client, follow)
}

/// Pods ready of expected while helm waits, from the shared watchers and the same pod
/// analyser the dashboard uses (not by polling helm), sent when the cluster changes.
async fn follow_rollout(
    client: kube::Client,
    lent: Option<std::sync::Arc<ClusterWatch>>,
    ns: String,
    release: String,
    tx: UnboundedSender<Event>,
) {
    let ns_of_watch = ns.clone();
    let watch = lent.unwrap_or_else(|| {
        std::sync::Arc::new(ClusterWatch::start(
            &client,
            Scope {
                namespace: Some(ns),
                pods: true,
                disks: false,
            },
        ))
    });
    let mut changes = watch.changes();
    let mut last = None;
    let mut named: Option<String> = None;
    let mut told: Vec<Option<String>> = Vec::new();
    while changes.changed().await.is_ok() {
        let snap = watch.snapshot();
        let report =
            crate::health::pods_report(&snap, Some(&release), std::time::SystemTime::now());
        // Said once per failing component (a Job's retries fail alike); a pod the rollback
        // already removed has nothing more to say.
        let component = |pod: &str| {
            report
                .pods
                .iter()
                .find(|r| r.name == pod)
                .map(|r| r.component.clone())
        };
        if let Some(f) = crate::health::pods::failing_pod(&report.findings, named.as_deref()) {
            let pod = f.subject.pod().unwrap_or_default().to_string();
            let part = component(&pod);
            if named.as_deref() != Some(pod.as_str()) && !told.contains(&part) {
                named = Some(pod.clone());
                told.push(part);
                match cluster::log_tail(&client, &ns_of_watch, &pod, 8).await {
                    Err(cluster::LogsError::Gone) => {}
                    logs => send(
                        &tx,
                        Event::PodProblem {
                            events: crate::health::pods::pod_events(&snap, &pod),
                            logs: logs.unwrap_or_else(|e| vec![format!("(no logs: {e})")]),
                            finding: f.message.clone(),
                            next_step: f.next_step.clone(),
                            pod,
                        },
                    ),
                }
            }
        }
        let p = crate::health::rollout_progress(&report, &snap, &release);
        if last == Some(p) {
            continue;
        }
        last = Some(p);
        send(
            &tx,
            Event::Progress {
                pods_ready: p.pods_ready,
                pods_expected: p.pods_expected,
                jobs_done: p.jobs_done,
                jobs_expected: p.jobs_expected,
            },
        );
    }
}
