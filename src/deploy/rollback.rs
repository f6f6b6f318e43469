//! Rolling a release back to one of its revisions, under the release lock, recorded in the
//! audit log.

use serde::Serialize;
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

/// One revision as helm records it: chart label (`posthog-30.46.0`) and app version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Revision {
    pub revision: u64,
    pub chart: String,
    pub app_version: String,
}

/// A rollback planned as an upgrade is: from which revision to which, the chart's notes the
/// versions crossed (backwards), what stays as the newer app left it, and whether the person
/// types the release's name to go on (across a chart major or an app minor).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RollbackPlan {
    pub release: String,
    pub namespace: String,
    pub from: Revision,
    pub to: Revision,
    /// The notes of the chart versions between, newest first: what is being undone.
    pub notes: Vec<crate::chart::upgrade_notes::Note>,
    /// What helm does not roll back.
    pub stays: Vec<String>,
    pub type_the_name: bool,
}

/// Plans rolling `release` back to `revision` (none: the last deployed before the current)
/// from its history; the first reason it cannot is the error.
pub fn plan_rollback(
    hist: &[crate::helm::driver::HistoryEntry],
    release: &str,
    namespace: &str,
    revision: Option<u64>,
) -> Result<RollbackPlan, Outcome> {
    let Some(cur) = hist.last() else {
        return Err(Outcome::BadInput {
            message: format!(
                "release {release} not found in namespace {namespace} (`helm list -A` lists releases)"
            ),
        });
    };
    let Some(revision) = revision.or_else(|| default_rollback_target(hist)) else {
        return Err(Outcome::BadInput {
            message: format!("no earlier deployed revision of {release} to roll back to"),
        });
    };
    // helm keeps a bounded history (--history-max): say which revisions there are before
    // helm answers "release has no 99 version".
    let Some(to) = hist.iter().find(|h| h.revision == revision) else {
        let have: Vec<String> = hist.iter().map(|h| h.revision.to_string()).collect();
        return Err(Outcome::BadInput {
            message: format!(
                "release {release} in {namespace} has no revision {revision}; it has {} (`helmdeck history` shows them)",
                have.join(", ")
            ),
        });
    };
    let rev = |h: &crate::helm::driver::HistoryEntry| Revision {
        revision: h.revision,
        chart: h.chart.clone(),
        app_version: h.app_version.clone(),
    };
    let (from, to) = (rev(cur), rev(to));
    let split = crate::chart::upgrade_notes::split_chart_label;
    let mut notes = Vec::new();
    let mut crosses_major = false;
    if let (Some((name, newer)), Some((_, older))) = (split(&from.chart), split(&to.chart)) {
        crosses_major = major(newer) != major(older);
        if let Some(book) = crate::chart::upgrade_notes::for_chart(name) {
            notes = book.crossed(older, newer).into_iter().cloned().collect();
            notes.reverse();
        }
    }
    let app_minor = |v: &str| {
        let mut it = v.trim_start_matches('v').split('.');
        (it.next().map(str::to_string), it.next().map(str::to_string))
    };
    let type_the_name = crosses_major || app_minor(&from.app_version) != app_minor(&to.app_version);
    let mut stays = vec![
        "helm rolls back the Kubernetes objects only: the data on the release's volumes stays as the newer version left it".to_string(),
    ];
    let migrations: Vec<String> = notes
        .iter()
        .filter_map(|n| n.requires.as_ref())
        .flat_map(|r| r.migrations.clone())
        .collect();
    if !migrations.is_empty() {
        stays.push(format!(
            "async migrations {} stay applied (an older app may refuse to start on them)",
            migrations.join(", ")
        ));
    }
    if split(&from.chart).is_some_and(|(n, _)| n == "posthog") {
        stays.push(
            "database schema changes (PostgreSQL, ClickHouse) and Kafka topics the newer app made stay".into(),
        );
    }
    Ok(RollbackPlan {
        release: release.to_string(),
        namespace: namespace.to_string(),
        from,
        to,
        notes,
        stays,
        type_the_name,
    })
}

fn major(version: &str) -> Option<u64> {
    version.split('.').next()?.parse().ok()
}

impl RollbackPlan {
    /// The question both front ends ask.
    pub fn question(&self) -> String {
        let app = |a: &str| {
            if a.is_empty() {
                "?".to_string()
            } else {
                a.to_string()
            }
        };
        format!(
            "Roll {} in {} back from revision {} (chart {}, app {}) to revision {} (chart {}, app {})?",
            self.release,
            self.namespace,
            self.from.revision,
            self.from.chart,
            app(&self.from.app_version),
            self.to.revision,
            self.to.chart,
            app(&self.to.app_version)
        )
    }

    /// The plan as a person reads it: the notes undone, then what does not roll back.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.notes.is_empty() {
            out.push(format!(
                "undoes the chart's changes of {}",
                self.notes
                    .iter()
                    .map(|n| n.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.extend(
            self.stays
                .iter()
                .map(|s| format!("does not roll back: {s}")),
        );
        if self.type_the_name {
            out.push(format!(
                "this crosses a chart major or an app minor: type the release name ({}) to go on",
                self.release
            ));
        }
        out
    }
}

/// Which release to roll back to which revision, from which (the plan's: refused when the
/// release has moved since), with the watchers lent by the front end.
pub struct RollbackRequest<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub revision: u64,
    /// The revision the plan was made on.
    pub from: u64,
    pub timeout_secs: u64,
    pub watch: Option<crate::cluster::watch::SharedWatch>,
}

/// Rolls a release back under the release lock, recorded in the audit log, helm's output
/// streamed as events, the target revision's pods and jobs followed, then verified.
pub async fn rollback(
    helm: &Helm,
    req: &RollbackRequest<'_>,
    data_dir: &std::path::Path,
    target: &Target,
    tx: UnboundedSender<Event>,
) -> Outcome {
    let (release, namespace, revision) = (req.release, req.namespace, req.revision);
    let _lock = match audit::ReleaseLock::acquire(data_dir, &target.scope_key(), namespace, release)
    {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    let hist = match helm.history(release, namespace).await {
        Ok(h) => h,
        Err(e) => return e.into(),
    };
    let plan = match plan_rollback(&hist, release, namespace, Some(revision)) {
        Ok(p) => p,
        Err(o) => return o,
    };
    // Judged under the profile the release was installed with; the stack's ingestion too.
    let profile = profile_of(helm, release, namespace).await;
    let rule = profile
        .as_ref()
        .map(|p| p.storage.encryption)
        .unwrap_or(crate::profile::EncryptionRule::NotRequired);
    let stack = crate::chart::upgrade_notes::split_chart_label(&plan.to.chart)
        .is_some_and(|(name, _)| super::verify::is_the_stack(name));
    let f = super::verify::Following {
        target,
        namespace,
        release,
        watch: req.watch.as_ref(),
        probe: stack.then(|| crate::cluster::probe::settings_for(profile.as_ref())),
    };
    let now = hist.last().map(|h| h.revision).unwrap_or(0);
    if now != req.from {
        return Outcome::Busy {
            message: format!(
                "release {release} is at revision {now}, not {} as when the rollback was planned: nothing was rolled back\n  fix: look at `helmdeck history --release {release} -n {namespace}`, then plan the rollback again",
                req.from
            ),
        };
    }
    let client = target.connect().await.ok();
    let following = match &client {
        Some(c) => Some(super::apply::start_following(&f, c, &tx).await),
        None => None,
    };
    step(&tx, Step::Apply, StepState::Running, "helm rollback");
    let audit = audit::AuditLog::new(data_dir);
    let _ = audit.append(json!({"phase": "rollback", "release": release, "namespace": namespace, "cluster": target.server(), "revision": revision}));
    let args = helm.rollback_args(release, namespace, Some(revision), req.timeout_secs);
    // Detached as installs and upgrades are: a Ctrl-C in the terminal reaches helmdeck, not a
    // helm half-way through its rollback (which would leave the release pending-rollback).
    let log_dir = crate::helm::runs::log_dir(data_dir, namespace, release);
    let result = helm
        .run_detached(
            "rollback",
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
            step(
                &tx,
                Step::Rollout,
                StepState::Done,
                "every resource ready (helm --wait)",
            );
            let now = helm
                .history(release, namespace)
                .await
                .ok()
                .and_then(|h| h.last().map(|e| e.revision))
                .unwrap_or(0);
            match (&following, &client) {
                (Some((watch_client, _)), Some(_)) => {
                    super::verify::verify(&f, rule, watch_client, now, &tx).await
                }
                _ => {
                    step(
                        &tx,
                        Step::Verify,
                        StepState::Failed,
                        "the cluster could not be read",
                    );
                    Outcome::Unverified {
                        revision: now,
                        failed: vec!["the cluster could not be read to verify".into()],
                    }
                }
            }
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
    if let Some((_, f)) = following {
        f.abort();
    }
    let _ = audit.append(json!({"phase": "outcome", "action": "rollback", "release": release, "namespace": namespace, "cluster": target.server(), "revision": revision, "outcome": outcome}));
    outcome
}

/// The profile the release was installed with (its `cloud` value), which `check` judges it
/// under; none when it names none.
pub(super) async fn profile_of(
    helm: &Helm,
    release: &str,
    namespace: &str,
) -> Option<crate::profile::Profile> {
    let values = helm
        .get_values(release, namespace)
        .await
        .unwrap_or_default();
    let name = crate::profile::profile_for_cloud(&values)?;
    let set =
        crate::profile::ProfileSet::load(crate::profile::user_profile_dir().as_deref()).ok()?;
    set.get(name).ok().cloned()
}
