//! The one engine installs and upgrades go through, for the CLI and the TUI alike. Two calls:
//! [`plan`] (preflight → render → diff, nothing applied) and [`apply`] (exactly that plan →
//! follow the rollout), with the front end's confirmation between them. Progress and results
//! are a stream of typed events; callers only render them.

mod apply;
pub mod audit;
pub mod campaign;
pub mod intent;
pub mod migrations;
pub mod names;
pub mod objects;
pub mod outcome;
pub mod ownership;
pub mod plan;
mod reattach;
pub mod recovery;
pub mod resize;
mod rollback;
pub mod stops;
mod verify;

pub use apply::apply;
pub use plan::diff::{KindDiff, ValueChange, manifest_diff, values_diff};
pub use plan::{Deployed, Plan, PlannedDeploy, UpgradeNotes, plan};
pub use reattach::reattach;
pub use rollback::{
    Revision, RollbackPlan, RollbackRequest, default_rollback_target, plan_rollback, rollback,
};
pub use verify::verify_checks;

pub use campaign::{Answer, Campaign, Pilot, StopAt};
pub use intent::{Answers, DEFAULT_TIMEOUT_SECS, Intent, SkipStop, ValuesIntent};
pub use outcome::{Outcome, exit};

use std::path::PathBuf;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::chart::Chart;
use crate::cluster::Target;
use crate::helm::driver::Helm;
use crate::profile::Profile;
use crate::values::RenderRequest;
use crate::verdict::Check;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Install,
    Upgrade,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Preflight,
    Render,
    Diff,
    Confirm,
    Apply,
    Rollout,
    Verify,
    /// The async migrations a stop exists for, waited on before the next stop.
    Migrations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    Running,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Step {
        step: Step,
        state: StepState,
        detail: String,
    },
    Check(Check),
    ValuesDiff {
        changes: Vec<ValueChange>,
    },
    /// Live release against the server-side dry run, per kind (upgrades).
    ManifestDiff {
        kinds: Vec<KindDiff>,
    },
    /// helm is running as its own process: it keeps going if helmdeck stops.
    HelmStarted {
        pid: u32,
        /// Where its error output goes.
        log: String,
    },
    HelmOutput {
        line: String,
    },
    Progress {
        pods_ready: usize,
        pods_expected: usize,
        jobs_done: usize,
        jobs_expected: usize,
    },
    Notice {
        message: String,
    },
    /// A pod of the release is failing while helm waits (the same finding the dashboard
    /// shows), with its latest events and log lines: said the moment it is evident, not when
    /// helm's timeout ends — and kept, since a rollback deletes the pod.
    PodProblem {
        pod: String,
        finding: String,
        next_step: String,
        events: Vec<String>,
        logs: Vec<String>,
    },
    /// The chart's notes for the versions an upgrade crosses (see [`UpgradeNotes`]).
    UpgradeNotes(UpgradeNotes),
}

/// Everything an install, upgrade or plan needs.
pub struct DeployRequest {
    pub action: Action,
    pub release: String,
    pub namespace: String,
    pub target: Target,
    pub profile: Option<Profile>,
    pub chart: Chart,
    pub chart_path: PathBuf,
    pub request: RenderRequest,
    pub helm: Helm,
    pub timeout_secs: u64,
    pub rollback_on_failure: bool,
    /// Check the release's pods and disks under the profile's rules after helm is done.
    pub verify: bool,
    /// Grow StatefulSets' claims the documented way instead of refusing the upgrade.
    pub resize_disks: bool,
    pub data_dir: PathBuf,
    /// Watchers already running on the cluster, lent by the front end (see [`Intent::watch`]).
    pub watch: Option<crate::cluster::watch::SharedWatch>,
    /// The app version a migration stop runs instead of the chart's own.
    pub app_pin: Option<String>,
    /// Secrets' keys to store in the release's namespace once helm is done.
    pub secrets: Vec<(crate::profile::SecretKeyRef, crate::profile::Hidden)>,
}

fn send(tx: &UnboundedSender<Event>, e: Event) {
    let _ = tx.send(e);
}

fn step(tx: &UnboundedSender<Event>, step: Step, state: StepState, detail: impl Into<String>) {
    send(
        tx,
        Event::Step {
            step,
            state,
            detail: detail.into(),
        },
    );
}
