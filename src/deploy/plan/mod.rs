//! Planning as stages: the cluster's facts, the release's values and the notes crossed, the
//! objects helmdeck applies before the chart, the render, the checks against what helm would
//! apply, then the diff. Nothing is applied; the result holds everything [`super::apply`]
//! needs.

mod cluster_objects;
pub mod diff;
mod facts;
mod load_balancer;
mod manifest;
pub(crate) use manifest::parse_manifest;
mod notes;
pub mod pin;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::{
    Action, DeployRequest, Event, Outcome, Step, StepState, audit, objects, resize, send, step,
};
use crate::cluster::Target;
use crate::verdict::{Check, Verdict};
use diff::{KindDiff, ValueChange, values_diff};

/// What [`apply`] will do, computed by [`plan`] and shown to the user before they confirm.
/// Applying it hands helm exactly these values, and only while the release is still at the
/// revision the plan was computed against.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Plan {
    pub action: Action,
    pub release: String,
    pub namespace: String,
    pub chart: String,
    pub chart_version: String,
    /// The app version the chart deploys (its appVersion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// What the release runs now; none for an install.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Deployed>,
    pub profile: Option<String>,
    /// The user-supplied values helm will receive (chart defaults are helm's own).
    #[serde(skip)]
    pub values: Map<String, Value>,
    pub values_sha256: String,
    pub changes: Vec<ValueChange>,
    /// Live release against the server-side dry run, per kind (upgrades).
    pub manifest: Option<Vec<KindDiff>>,
    pub checks: Vec<Check>,
    /// The release's revision the plan was computed against; none when it is not installed.
    pub based_on: Option<u64>,
    /// The chart's upgrade notes for the versions this upgrade crosses, and the value keys
    /// they migrated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeNotes>,
    /// The profile's own cluster objects, applied before the chart.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<objects::ObjectChange>,
    /// Claims to grow, and StatefulSets to recreate, before the upgrade (`--resize-disks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resize: Vec<resize::SetResize>,
    /// The app image tag helmdeck set, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<pin::AppPin>,
}

/// A release's deployed revision as helm records it: its chart (`name-version`) and app version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Deployed {
    pub chart: String,
    pub app_version: String,
}

/// What an upgrade across chart versions must know: the notes crossed, the keys moved on the
/// release's values, and keys still set that the chart no longer reads.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UpgradeNotes {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub end_of_support: String,
    pub notes: Vec<crate::chart::upgrade_notes::Note>,
    pub migrations: Vec<crate::chart::upgrade_notes::Migration>,
    pub removed_in_use: Vec<String>,
}

impl Plan {
    /// The question before applying it: the release, the chart and app versions from and to,
    /// the stop of several, and how many values change. Both front ends ask it.
    pub fn question(&self, at: &super::StopAt) -> String {
        let chart = format!("{}-{}", self.chart, self.chart_version);
        let app = self.app_version.as_deref().unwrap_or("?");
        let what = match &self.from {
            Some(d) => format!(
                "Upgrade {} in {}: chart {} → {chart}, app {} → {app}",
                self.release,
                self.namespace,
                d.chart,
                if d.app_version.is_empty() {
                    "?"
                } else {
                    &d.app_version
                }
            ),
            None => format!(
                "Install {} in {}: chart {chart}, app {app}",
                self.release, self.namespace
            ),
        };
        let stop = if at.one_of_several() {
            format!(", stop {} of {}", at.index + 1, at.total)
        } else {
            String::new()
        };
        format!(
            "{what}{stop}; {} value change(s). Apply with helm?",
            self.changes.len()
        )
    }

    /// The checks that block applying, by message.
    pub fn failed(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.message.clone())
            .collect()
    }

    pub(crate) fn record(&self, target: &Target) -> Value {
        json!({
            "run": format!("{}-{}", std::process::id(), self.values_sha256.get(..12).unwrap_or_default()),
            "action": self.action, "release": self.release, "namespace": self.namespace,
            "context": target.context, "cluster": target.server(), "profile": self.profile, "chart": self.chart,
            "chart_version": self.chart_version, "values_sha256": self.values_sha256,
            "based_on": self.based_on,
            // Renamed keys moved on the release's values, as the chart's notes asked.
            "migrations": self.upgrade.as_ref().map(|u| &u.migrations),
        })
    }
}

/// Preflight, render and diff; nothing is applied. Fails with the outcome to report when the
/// cluster cannot be asked, the input is bad or a preflight check fails (the checks are sent
/// as events either way, so the user sees why).
pub async fn plan(
    request: DeployRequest,
    tx: &UnboundedSender<Event>,
) -> Result<PlannedDeploy, Outcome> {
    let plan = plan_for(&request, tx).await?;
    let chart_sha256 = crate::chart::digest::digest(&request.chart_path).map_err(|e| {
        Outcome::local(
            format!(
                "cannot read the chart {}: {e}",
                request.chart_path.display()
            ),
            "check the chart path",
        )
    })?;
    Ok(PlannedDeploy {
        request,
        plan,
        chart_sha256,
    })
}

/// Sets the app image's tag for this plan (see [`pin`]) and says so.
fn pin_the_app(
    req: &DeployRequest,
    request: &mut crate::values::RenderRequest,
    current: &Option<crate::helm::driver::HistoryEntry>,
    tx: &UnboundedSender<Event>,
) -> Option<pin::AppPin> {
    let book = crate::chart::upgrade_notes::for_chart(req.chart.name());
    let from_app = current.as_ref().map(|c| c.app_version.as_str());
    match pin::decide(
        book.as_ref(),
        &req.chart,
        request,
        from_app,
        req.app_pin.as_deref(),
    ) {
        pin::Pinned::Pin(p) => {
            pin::apply(request, &p);
            send(
                tx,
                Event::Notice {
                    message: format!("app pinned: {} {} ({})", p.key, p.tag, p.why),
                },
            );
            Some(p)
        }
        pin::Pinned::Theirs(what) => {
            send(
                tx,
                Event::Notice {
                    message: format!("app image: yours ({what}); helmdeck does not pin it"),
                },
            );
            None
        }
        pin::Pinned::Nothing => None,
    }
}

/// A plan with the request it was computed from and the chart as it was read: [`apply`] takes
/// nothing else, so what is applied is what was shown. The plan holds the release's revision it
/// was based on; apply refuses when either moved.
pub struct PlannedDeploy {
    pub request: DeployRequest,
    pub plan: Plan,
    /// The chart's digest on disk when it was planned (helm reads it again from that path).
    pub chart_sha256: String,
}

async fn plan_for(req: &DeployRequest, tx: &UnboundedSender<Event>) -> Result<Plan, Outcome> {
    let facts::Gathered {
        client,
        mut facts,
        current,
        way_back,
    } = facts::gather(req, tx).await?;
    let notes::Previous {
        mut request,
        values: previous_values,
        upgrade,
    } = notes::previous_and_notes(req, &current, tx).await?;
    let pin = pin_the_app(req, &mut request, &current, tx);
    load_balancer::for_the_cluster(
        &mut request,
        req.profile.as_ref().map(|p| p.provider.as_str()),
        facts
            .mutating_webhooks
            .iter()
            .any(|w| w == crate::health::preflight::AWS_LBC_SERVICE_WEBHOOK),
        current.is_none(),
        tx,
    );
    let (mut object_checks, object_changes) =
        cluster_objects::profile_objects_and_crds(req, &client, &current, &mut facts).await;
    if current.is_some() {
        object_checks
            .extend(pin::live_images(&client, &req.namespace, &req.release, pin.as_ref()).await);
    }
    step(tx, Step::Render, StepState::Running, "");
    let rendered = match request.render(&req.chart) {
        Ok(r) => r,
        Err(e) => {
            step(tx, Step::Render, StepState::Failed, e.to_string());
            return Err(Outcome::bad_input(e));
        }
    };
    step(
        tx,
        Step::Render,
        StepState::Done,
        format!(
            "{} values from {} layers",
            rendered.provenance.len(),
            rendered.layers.len()
        ),
    );

    let manifest::Judged {
        checks,
        manifest,
        resize: resize_sets,
    } = manifest::judge(
        req,
        &client,
        &facts,
        &current,
        way_back.as_deref(),
        &rendered,
        object_checks,
    )
    .await;
    for c in &checks {
        send(tx, Event::Check(c.clone()));
    }
    let values_json = serde_json::to_vec_pretty(&rendered.user_values).unwrap_or_default();
    let prov = |p: &str| {
        rendered
            .provenance
            .get(p)
            .map(|x| rendered.layers[x.layer].label())
    };
    let plan = Plan {
        action: req.action,
        release: req.release.clone(),
        namespace: req.namespace.clone(),
        chart: req.chart.name().to_string(),
        chart_version: req.chart.metadata.version.clone(),
        app_version: pin
            .as_ref()
            .map(|p| p.app.clone())
            .or_else(|| req.chart.metadata.app_version.clone()),
        from: current.as_ref().map(|c| Deployed {
            chart: c.chart.clone(),
            app_version: c.app_version.clone(),
        }),
        profile: req.profile.as_ref().map(|p| p.name.clone()),
        // Keyed like every redaction: an unkeyed digest of values holding a weak password
        // could be tested against guesses.
        values_sha256: crate::values::redact::keyed_hex(&values_json),
        changes: values_diff(
            &previous_values,
            &rendered.user_values,
            &req.chart.values,
            &prov,
        ),
        values: rendered.user_values.clone(),
        manifest,
        checks,
        based_on: current.as_ref().map(|c| c.revision),
        upgrade,
        objects: object_changes,
        resize: resize_sets,
        pin,
    };
    let failed = plan.failed();
    if !failed.is_empty() {
        step(
            tx,
            Step::Preflight,
            StepState::Failed,
            format!("{} check(s) failed", failed.len()),
        );
        let mut r = plan.record(&req.target);
        r["phase"] = json!("refused");
        r["outcome"] = json!({"outcome": "preflight-failed", "failed": failed});
        let _ = audit::AuditLog::new(&req.data_dir).append(r);
        return Err(Outcome::PreflightFailed { failed });
    }
    step(tx, Step::Preflight, StepState::Done, "");

    step(tx, Step::Diff, StepState::Running, "");
    send(
        tx,
        Event::ValuesDiff {
            changes: plan.changes.clone(),
        },
    );
    if let Some(kinds) = &plan.manifest {
        send(
            tx,
            Event::ManifestDiff {
                kinds: kinds.clone(),
            },
        );
    }
    step(
        tx,
        Step::Diff,
        StepState::Done,
        match plan.changes.iter().filter(|c| c.as_default).count() {
            0 => format!("{} value(s) change", plan.changes.len()),
            same => format!(
                "{} value(s) change, {same} of them only restating the chart's default",
                plan.changes.len()
            ),
        },
    );
    Ok(plan)
}
