//! Following a helm run an earlier helmdeck started and left going (the app quit with "leave
//! helm running"): its output from the start of its log, the rollout from the watchers, until
//! its process ends; then the release's history says how it ended, and a deployed release is
//! verified as after any run.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::verify::{Following, is_the_stack};
use super::{Event, Outcome, Step, StepState, send, step};
use crate::cluster::Target;
use crate::cluster::watch::SharedWatch;
use crate::helm::driver::{FailureKind, Helm, Tail};
use crate::helm::runs::LiveRun;
use crate::release_status::ReleaseStatus;

pub async fn reattach(
    run: &LiveRun,
    helm: &Helm,
    target: &Target,
    watch: Option<SharedWatch>,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    let (release, namespace) = (run.release.as_str(), run.namespace.as_str());
    send(
        tx,
        Event::HelmStarted {
            pid: run.pid,
            log: run.err_log.display().to_string(),
        },
    );
    step(
        tx,
        Step::Apply,
        StepState::Running,
        format!("following {}", run.describe()),
    );
    let profile = super::rollback::profile_of(helm, release, namespace).await;
    let chart = helm
        .history(release, namespace)
        .await
        .ok()
        .and_then(|h| h.last().map(|e| e.chart.clone()))
        .unwrap_or_default();
    let stack = crate::chart::upgrade_notes::split_chart_label(&chart)
        .is_some_and(|(name, _)| is_the_stack(name));
    let f = Following {
        target,
        namespace,
        release,
        watch: watch.as_ref(),
        probe: stack.then(|| crate::cluster::probe::settings_for(profile.as_ref())),
    };
    let client = target.connect().await.ok();
    let following = match &client {
        Some(c) => Some(super::apply::start_following(&f, c, tx).await),
        None => None,
    };
    // Its output so far, then as it comes, until its process is gone.
    let (mut out, mut err) = (Tail::new(&run.out_log), Tail::new(&run.err_log));
    let mut lines: Vec<String> = Vec::new();
    let mut on_line = |l: &str| {
        lines.push(l.to_string());
        send(
            tx,
            Event::HelmOutput {
                line: l.to_string(),
            },
        );
    };
    loop {
        out.read(&mut on_line);
        err.read(&mut on_line);
        if !run.alive() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    out.read(&mut on_line);
    err.read(&mut on_line);
    let hist = helm.history(release, namespace).await.unwrap_or_default();
    let outcome = match hist.last() {
        Some(h) if h.status == ReleaseStatus::Deployed => {
            step(
                tx,
                Step::Apply,
                StepState::Done,
                format!("helm {} finished", run.operation),
            );
            step(
                tx,
                Step::Rollout,
                StepState::Done,
                "every resource ready (helm --wait)",
            );
            match (&following, &client) {
                (Some((watch_client, _)), Some(_)) => {
                    let rule = profile
                        .as_ref()
                        .map(|p| p.storage.encryption)
                        .unwrap_or(crate::profile::EncryptionRule::NotRequired);
                    super::verify::verify(&f, rule, watch_client, h.revision, tx).await
                }
                _ => Outcome::Unverified {
                    revision: h.revision,
                    failed: vec!["the cluster could not be read to verify".into()],
                },
            }
        }
        last => {
            let state = last
                .map(|h| format!("{} (revision {})", h.status, h.revision))
                .unwrap_or_else(|| "gone".into());
            let said = lines
                .iter()
                .rev()
                .find(|l| l.starts_with("Error"))
                .cloned()
                .unwrap_or_default();
            let message = format!(
                "helm {} ended and left the release {state}{}",
                run.operation,
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            );
            step(tx, Step::Apply, StepState::Failed, message.clone());
            Outcome::Failed {
                kind: FailureKind::Other,
                message,
                fix: format!(
                    "`helmdeck status --release {release} -n {namespace}` says how to recover it"
                ),
                rolled_back: false,
            }
        }
    };
    if let Some((_, follow)) = following {
        follow.abort();
    }
    outcome
}
