//! Rolling a release back to one of its revisions, under the release lock, recorded in the
//! audit log.

use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use super::{Event, Outcome, Step, StepState, audit, send, step};
use crate::cluster::Target;
use crate::helm::driver::Helm;

/// The revision a rollback goes to by default: the last one deployed before the current.
pub fn default_rollback_target(hist: &[crate::helm::driver::HistoryEntry]) -> Option<u64> {
    let cur = hist.last()?.revision;
    hist.iter()
        .rev()
        .find(|h| h.revision < cur && h.status.ran())
        .map(|h| h.revision)
}

/// Which release to roll back to which revision (`None`: [`default_rollback_target`]).
pub struct RollbackRequest<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub revision: Option<u64>,
    pub timeout_secs: u64,
}

/// Rolls a release back under the release lock, recorded in the audit log, helm's output
/// streamed as events.
pub async fn rollback(
    helm: &Helm,
    req: &RollbackRequest<'_>,
    data_dir: &std::path::Path,
    target: &Target,
    tx: UnboundedSender<Event>,
) -> Outcome {
    let RollbackRequest {
        release,
        namespace,
        revision,
        timeout_secs,
    } = *req;
    let _lock = match audit::ReleaseLock::acquire(data_dir, &target.scope_key(), namespace, release)
    {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    let hist = match helm.history(release, namespace).await {
        Ok(h) => h,
        Err(e) => return e.into(),
    };
    if hist.is_empty() {
        return Outcome::BadInput {
            message: format!(
                "release {release} not found in namespace {namespace} (`helm list -A` lists releases)"
            ),
        };
    }
    let Some(revision) = revision.or_else(|| default_rollback_target(&hist)) else {
        return Outcome::BadInput {
            message: format!("no earlier deployed revision of {release} to roll back to"),
        };
    };
    // helm keeps a bounded history (--history-max): say which revisions there are before
    // helm answers "release has no 99 version".
    if !hist.iter().any(|h| h.revision == revision) {
        let have: Vec<String> = hist.iter().map(|h| h.revision.to_string()).collect();
        return Outcome::BadInput {
            message: format!(
                "release {release} in {namespace} has no revision {revision}; it has {} (`helmdeck history` shows them)",
                have.join(", ")
            ),
        };
    }
    step(&tx, Step::Apply, StepState::Running, "helm rollback");
    let audit = audit::AuditLog::new(data_dir);
    let _ = audit.append(json!({"phase": "rollback", "release": release, "namespace": namespace, "cluster": target.server(), "revision": revision}));
    let args = helm.rollback_args(release, namespace, Some(revision), timeout_secs);
    // Detached as installs and upgrades are: a Ctrl-C in the terminal reaches helmdeck, not a
    // helm half-way through its rollback (which would leave the release pending-rollback).
    let log_dir = data_dir.join("runs").join(namespace).join(release);
    let result = helm
        .run_detached(
            &args,
            &log_dir,
            |pid, log| {
                send(
                    &tx,
                    Event::HelmStarted {
                        pid,
                        log: log.display().to_string(),
                    },
                )
            },
            |l| {
                send(
                    &tx,
                    Event::HelmOutput {
                        line: l.to_string(),
                    },
                )
            },
        )
        .await;
    let outcome = match result {
        Ok(_) => {
            step(
                &tx,
                Step::Apply,
                StepState::Done,
                format!("rolled back to revision {revision}"),
            );
            let now = helm
                .history(release, namespace)
                .await
                .ok()
                .and_then(|h| h.last().map(|e| e.revision))
                .unwrap_or(0);
            Outcome::Applied { revision: now }
        }
        Err(e) => {
            step(&tx, Step::Apply, StepState::Failed, e.message.clone());
            let (mut message, mut fix) = (e.message, e.fix);
            // A helm stopped mid-way leaves the release pending-rollback: say so and how to
            // finish it (helm rollback is what takes a release out of a pending state).
            let after = helm.history(release, namespace).await.unwrap_or_default();
            if let Some(last) = after.last().filter(|h| h.status.is_pending()) {
                message.push_str(&format!(
                    "; the release is left {} (revision {})",
                    last.status, last.revision
                ));
                fix = format!(
                    "helmdeck rollback {revision} --release {release} -n {namespace} runs the rollback again"
                );
            }
            Outcome::Failed {
                kind: e.kind,
                message,
                fix,
                rolled_back: false,
            }
        }
    };
    let _ = audit.append(json!({"phase": "outcome", "action": "rollback", "release": release, "namespace": namespace, "cluster": target.server(), "revision": revision, "outcome": outcome}));
    outcome
}
