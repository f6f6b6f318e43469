//! What flows between the app and the tasks that work for it: the messages the UI task
//! receives (keys, cluster snapshots, the engine's events and answers) and the effects it asks
//! the runtime to carry out, with what they carry. Screens and the runtime both name these; no
//! screen is named here.

use std::path::PathBuf;
use std::time::SystemTime;

use crossterm::event::KeyEvent;
use serde_json::{Map, Value};

use crate::cluster::probe::ProbeRecord;
use crate::cluster::releases::ReleaseInfo;
use crate::cluster::watch::{Connection, Snapshot};
use crate::deploy::{self, Outcome};
use crate::profile::Profile;

/// What the runtime should do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Start the campaign for this intent: each stop is planned (preflight, render, diff)
    /// and waits for `Apply`.
    Plan(Box<deploy::Intent>),
    /// Apply exactly the plan the user saw (the campaign waiting on it goes on).
    Apply(Box<PlanTicket>),
    /// Answer a question the campaign waits on.
    Answer(Reply, deploy::Answer),
    /// Roll back as planned (to the plan's revision, only while the release is at its
    /// `from`).
    Rollback(Box<crate::deploy::RollbackPlan>),
    /// Follow the helm an earlier helmdeck left running for this release, if one is.
    Reattach {
        release: String,
        namespace: String,
    },
    SwitchNamespace(String),
    SwitchContext(String),
    RefreshReleases,
    /// List the releases of every kubeconfig context, each on its own deadline
    /// (`Msg::Contexts`, then one `Msg::ContextReleases` per context as it answers).
    ReadEveryContext,
    /// List a chart repository's versions for the version picker.
    Versions {
        repo: String,
        chart: String,
    },
    /// Read a release's revisions for the rollback picker.
    History {
        release: String,
        namespace: String,
    },
    ProbeNow,
    /// Probe with these settings from now on (the judging profile changed).
    ProbeSettings(Box<crate::profile::IngestionSettings>),
    Logs {
        namespace: String,
        pod: String,
    },
    /// Suspend the UI and run $EDITOR on this file.
    Edit(PathBuf),
    /// List the namespaces or the kubeconfig's contexts for a picker.
    ListChoices(PickWhat),
    /// Read a pod's logs (of one container) or its YAML.
    PodText {
        kind: TextKind,
        namespace: String,
        pod: String,
        container: Option<String>,
        /// The previous (crashed) container's logs, as `kubectl logs --previous`.
        previous: bool,
    },
    /// Ask the detached helm (this pid) to give up: it cancels its wait and, with
    /// rollback-on-failure, rolls the release back.
    StopHelm {
        pid: u32,
    },
    /// Delete a pod; its controller replaces it.
    DeletePod {
        namespace: String,
        pod: String,
    },
    /// Kill the detached helm (this pid), which did not stop when asked.
    KillHelm {
        pid: u32,
    },
    /// Forward a local port to a pod or a Service (`shift-f`).
    PortForward {
        namespace: String,
        to: crate::cluster::forward::ForwardTo,
    },
    /// Render the wizard's values review (it may fetch the chart); `Msg::Reviewed` answers.
    Review(Box<ReviewJob>),
}

/// Messages from the terminal and the background tasks.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): it goes into the field or prompt.
    Paste(String),
    Tick(SystemTime),
    Snapshot(Box<Snapshot>, Connection),
    Releases(Result<Vec<ReleaseInfo>, String>),
    Probe(Box<ProbeRecord>),
    /// The namespace's pod usage from metrics-server, or why there is none.
    Usage(Result<Vec<crate::observed::PodUsage>, String>),
    /// The claims' usage from their nodes' kubelets, and the nodes that could not be read.
    Volumes(Vec<crate::cluster::disk_usage::ClaimUsage>, Vec<String>),
    Engine(deploy::Event),
    /// A helm run left going by an earlier helmdeck, now followed (or why there is none).
    Reattached(Result<Box<crate::helm::runs::LiveRun>, String>),
    PlanDone(Result<Box<PlanTicket>, Outcome>),
    /// The campaign plans this stop (a later one reopens the walkthrough).
    Planning(deploy::StopAt),
    /// The campaign asks for a later stop's manual steps before planning it.
    Acknowledge(Box<AckRequest>),
    /// A values review rendered (its id, then the review or why the values do not render).
    Reviewed(u64, Result<Review, String>),
    ApplyDone(Outcome),
    Logs(String, Vec<String>),
    Edited,
    /// A port-forward listening (where, to what), or why it could not start.
    Forwarding(Result<crate::cluster::forward::Forwarding, String>),
    /// A pod delete asked for: done, or why not.
    PodDeleted(String, Result<(), String>),
    /// The helm version found, or how to get helm.
    Helm(Result<String, String>),
    /// A release's revisions, oldest first.
    History(String, String, Result<Vec<ReleaseInfo>, String>),
    /// A `:ctx` switch connected (the app now shows that cluster) or failed (it stays).
    /// A `:ctx` switch finished: whether its TLS is unverified, or why it failed.
    ContextSwitched(String, Result<Switched, String>),
    /// The kubeconfig's contexts, whose releases are being read (or why there are none).
    Contexts(Result<Vec<String>, String>),
    /// One context's releases, or why they could not be listed within its deadline.
    ContextReleases(String, Result<Vec<ReleaseInfo>, String>),
    /// The namespaces or contexts to pick from.
    Choices(PickWhat, Result<Vec<String>, String>),
    /// A pod's text: (lines, the pod's containers), or why it could not be read.
    PodText(String, TextKind, Result<(Vec<String>, Vec<String>), String>),
    /// The chart repository's versions for the upgrade walkthrough, with the cluster's
    /// Kubernetes version when it answered.
    Versions(Result<(crate::chart::repo::Listing, Option<String>), String>),
}

/// What a successful `:ctx` switch tells the app about the cluster it now shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Switched {
    pub tls_unverified: bool,
    pub simulated: bool,
    pub scope: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickWhat {
    Namespace,
    Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Logs,
    Yaml,
}

/// A stop's plan the campaign computed and waits on: applying it answers the campaign's
/// question with yes, and the campaign applies exactly this plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTicket {
    pub id: u64,
    pub plan: deploy::Plan,
    pub stop: deploy::StopAt,
    pub reply: Reply,
}

/// The answer a campaign waits for. Dropped unanswered (the wizard closed, the plan
/// replaced), it is a no: the campaign ends without applying anything more.
#[derive(Debug, Clone)]
pub struct Reply(Option<tokio::sync::mpsc::UnboundedSender<deploy::Answer>>);

impl Reply {
    pub fn new(tx: tokio::sync::mpsc::UnboundedSender<deploy::Answer>) -> Reply {
        Reply(Some(tx))
    }

    /// A reply nobody waits for (tests, and plans shown without a campaign).
    pub fn none() -> Reply {
        Reply(None)
    }

    pub fn send(&self, a: deploy::Answer) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(a);
        }
    }
}

impl PartialEq for Reply {
    fn eq(&self, o: &Reply) -> bool {
        match (&self.0, &o.0) {
            (Some(a), Some(b)) => a.same_channel(b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// A campaign's manual steps for a later stop, to acknowledge before it is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct AckRequest {
    pub stop: deploy::StopAt,
    pub steps: Vec<String>,
    pub reply: Reply,
}

/// What a values review needs, taken from the wizard when it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewJob {
    pub id: u64,
    pub values: deploy::ValuesIntent,
    pub profile: Option<Profile>,
    pub release: String,
    /// The release's current values (upgrades start from them; empty for an install).
    pub current: Map<String, Value>,
}

/// The rendered review: the chart as shown and each leaf with the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub chart_label: String,
    pub lines: Vec<ReviewLine>,
}

/// One line of the values review: the value and the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewLine {
    pub path: String,
    pub value: String,
    pub layer: String,
}
