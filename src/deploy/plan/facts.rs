//! The first stage: the cluster as it is (facts, the release's history, rights, room), and
//! the reasons to stop before anything is rendered (no release to upgrade, another operator's
//! helm at work).

use tokio::sync::mpsc::UnboundedSender;

use crate::cluster;
use crate::deploy::{Action, DeployRequest, Event, Outcome, Step, StepState, audit, send, step};
use crate::helm::driver::HistoryEntry;
use crate::observed::ClusterFacts;

/// What the later stages read of the cluster.
pub(super) struct Gathered {
    pub client: kube::Client,
    pub facts: ClusterFacts,
    /// The release's latest revision; none before a first install.
    pub current: Option<HistoryEntry>,
    /// How to recover the release when a helm run left it stuck.
    pub way_back: Option<String>,
}

pub(super) async fn gather(
    req: &DeployRequest,
    tx: &UnboundedSender<Event>,
) -> Result<Gathered, Outcome> {
    let audit = audit::AuditLog::new(&req.data_dir);
    for u in audit.unfinished_for(&req.target.server(), &req.namespace, &req.release) {
        send(
            tx,
            Event::Notice {
                message: format!(
                    "an earlier {} of {} in {} (started {}) never recorded an outcome: it was cut short; check `helmdeck status`",
                    u["action"].as_str().unwrap_or("run"),
                    u["release"].as_str().unwrap_or("?"),
                    u["namespace"].as_str().unwrap_or("?"),
                    u["time"].as_str().unwrap_or("?")
                ),
            },
        );
    }

    if req.chart.name() == crate::chart::BUNDLED_CHART {
        send(
            tx,
            Event::Notice {
                message: format!(
                    "chart: the bundled {} {}, a stand-in for the vendor's chart (real clusters get posthog from its repository; --version or --repo picks it here too)",
                    req.chart.name(),
                    req.chart.metadata.version
                ),
            },
        );
    }
    step(tx, Step::Preflight, StepState::Running, "");
    let unreachable = |e: &dyn std::fmt::Display| {
        step(
            tx,
            Step::Preflight,
            StepState::Failed,
            "cannot reach the cluster",
        );
        Outcome::Unreachable {
            message: e.to_string(),
        }
    };
    let client = req.target.connect().await.map_err(|e| unreachable(&e))?;
    let mut facts = cluster::gather(&req.target, &client)
        .await
        .map_err(|e| unreachable(&e))?;
    facts.denied = cluster::denied(&client, &req.namespace).await;
    let history = req.helm.history(&req.release, &req.namespace).await?;
    let current = history.last().cloned();
    if current.is_none() {
        // Every pod's requests, for a first install's room check; an upgrade replaces pods
        // that already hold theirs. A namespace-scoped user may not read them all: then room
        // is not judged.
        facts.room = cluster::room::free(&client).await.ok();
    }
    if req.action == Action::Upgrade && current.is_none() {
        return Err(Outcome::bad_input(format!(
            "release {} does not exist in namespace {}: use `helmdeck install`",
            req.release, req.namespace
        )));
    }
    // A helm helmdeck started on this machine for this release still runs: in progress.
    if current.as_ref().is_some_and(|c| c.status.is_pending())
        && let Some(run) = crate::helm::runs::find(
            &req.data_dir,
            &req.namespace,
            &req.release,
            req.helm.kubeconfig.as_deref(),
            req.helm.context.as_deref(),
        )
    {
        return Err(Outcome::Busy {
            message: format!(
                "{} in {} is in progress: {}\n  fix: wait for it (in the app, `o` follows it and `s` stops it), then run again",
                req.release,
                req.namespace,
                run.describe()
            ),
        });
    }
    // A pending revision younger than a helm timeout is most likely another operator's helm
    // still at work (helm records no heartbeat; its revision's time is what the cluster
    // shows): that is "busy", not "stuck", whoever's data directory this is.
    let ended_here = crate::helm::runs::last_ended(
        &req.data_dir,
        &req.namespace,
        &req.release,
        req.helm.kubeconfig.as_deref(),
        req.helm.context.as_deref(),
    );
    if let (Some(cur), Some(age)) = (
        current.as_ref(),
        super::super::recovery::pending_elsewhere(&history, ended_here.as_ref()),
    ) && age < req.timeout_secs
    {
        return Err(Outcome::Busy {
            message: format!(
                "another operation is in progress on {} in {}: revision {} has been {} for {age} s (another operator's helm, most likely)\n  fix: wait for it (helm gives up after its --timeout), then run again; `helmdeck status -n {}` says when it is done, or in {} s whether it was left stuck and the way back",
                req.release,
                req.namespace,
                cur.revision,
                cur.status,
                req.namespace,
                req.timeout_secs - age,
            ),
        });
    }
    Ok(Gathered {
        client,
        facts,
        way_back: super::super::recovery::way_back(&history, &req.release, &req.namespace),
        current,
    })
}
