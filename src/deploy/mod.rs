//! The one engine installs and upgrades go through, for the CLI and the TUI alike. Two calls:
//! [`plan`] (preflight → render → diff, nothing applied) and [`apply`] (exactly that plan →
//! follow the rollout), with the front end's confirmation between them. Progress and results
//! are a stream of typed events; callers only render them.

pub mod audit;
pub mod campaign;
pub mod intent;
pub mod names;
pub mod objects;
pub mod outcome;
pub mod ownership;
pub mod resize;
pub mod stops;

pub use campaign::{Answer, Campaign, Pilot, StopAt};
pub use intent::{Answers, DEFAULT_TIMEOUT_SECS, Intent, ValuesIntent};
pub use outcome::{Outcome, exit};

use std::path::{Path, PathBuf};

use kube::api::Api;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::chart::Chart;
use crate::cluster::preflight;
use crate::cluster::watch::{ClusterWatch, Scope};
use crate::cluster::{self, Target};
use crate::helm::driver::Helm;
use crate::profile::Profile;
use crate::values::{self, LayerSource, RenderRequest, UserLayer, redact};
use crate::verdict::{Check, Verdict};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    Running,
    Done,
    Failed,
    Skipped,
}

/// One leaf of the values that changes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueChange {
    pub path: String,
    /// `+` added, `-` removed, `~` changed.
    pub op: char,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub layer: Option<String>,
    /// The value set (or removed) is the chart's own default: the change is in the values
    /// handed to helm, not in what the chart renders (a wizard answer left as it was offered).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_default: bool,
}

impl ValueChange {
    /// ` = the chart's default` when the change restates it, for the diff's lines.
    pub fn default_note(&self) -> &'static str {
        if self.as_default {
            "  = the chart's default"
        } else {
            ""
        }
    }
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

/// The values diff between two user-value maps, secrets redacted; a value added or removed
/// that equals the chart's default (`defaults`) is marked so.
pub fn values_diff(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    defaults: &Map<String, Value>,
    provenance: &dyn Fn(&str) -> Option<String>,
) -> Vec<ValueChange> {
    let flat = |m: &Map<String, Value>| {
        let mut out = std::collections::BTreeMap::new();
        values::for_each_leaf(&redact::redact(m), &mut |p, v| {
            out.insert(p.to_string(), v.clone());
        });
        out
    };
    let (a, b, d) = (flat(old), flat(new), flat(defaults));
    let mut changes = Vec::new();
    for (p, v) in &b {
        match a.get(p) {
            None => changes.push(ValueChange {
                path: p.clone(),
                op: '+',
                old: None,
                new: Some(v.clone()),
                layer: provenance(p),
                as_default: d.get(p) == Some(v),
            }),
            Some(o) if o != v => changes.push(ValueChange {
                path: p.clone(),
                op: '~',
                old: Some(o.clone()),
                new: Some(v.clone()),
                layer: provenance(p),
                as_default: false,
            }),
            _ => {}
        }
    }
    for (p, v) in &a {
        if !b.contains_key(p) {
            changes.push(ValueChange {
                path: p.clone(),
                op: '-',
                old: Some(v.clone()),
                new: None,
                layer: None,
                as_default: d.get(p) == Some(v),
            });
        }
    }
    changes
}

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
    /// The checks that block applying, by message.
    pub fn failed(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.message.clone())
            .collect()
    }

    fn record(&self, target: &Target) -> Value {
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
    Ok(PlannedDeploy { request, plan })
}

/// A plan with the request it was computed from: [`apply`] takes nothing else, so what is
/// applied is what was shown.
pub struct PlannedDeploy {
    pub request: DeployRequest,
    pub plan: Plan,
}

async fn plan_for(req: &DeployRequest, tx: &UnboundedSender<Event>) -> Result<Plan, Outcome> {
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
    // A pending revision younger than a helm timeout is most likely another operator's helm
    // still at work (helm records no heartbeat; its revision's time is what the cluster
    // shows): that is "busy", not "stuck", whoever's data directory this is.
    if let Some(cur) = current
        .as_ref()
        .filter(|c| c.status.starts_with("pending-"))
        && let Ok(at) = cur.updated.parse::<k8s_openapi::jiff::Timestamp>()
    {
        let age = k8s_openapi::jiff::Timestamp::now()
            .duration_since(at)
            .as_secs()
            .max(0) as u64;
        if age < req.timeout_secs {
            return Err(Outcome::Busy {
                message: format!(
                    "another operation is in progress on {} in {}: revision {} has been {} for {age} s (another operator's helm, most likely)\n  fix: wait for it (helm gives up after its --timeout), then run again; if its helm is gone, `helmdeck rollback --release {} -n {}` after {} s",
                    req.release,
                    req.namespace,
                    cur.revision,
                    cur.status,
                    req.release,
                    req.namespace,
                    req.timeout_secs - age
                ),
            });
        }
    }
    let mut request = req.request.clone();
    let mut previous_values = Map::new();
    if let Some(cur) = &current
        && (cur.status == "deployed" || req.action != Action::Install)
    {
        previous_values = req.helm.get_values(&req.release, &req.namespace).await?;
        if !previous_values.is_empty() {
            request.previous = Some(UserLayer {
                source: LayerSource::Release {
                    name: req.release.clone(),
                    revision: cur.revision,
                },
                values: previous_values.clone(),
            });
        }
    }

    // The chart's own upgrade notes for the versions crossed; renamed keys move on the
    // release's values, which the diff then shows and apply sends only on confirm.
    let mut upgrade = None;
    if let Some(cur) = &current
        && let Some((name, from)) = crate::chart::upgrade_notes::split_chart_label(&cur.chart)
        && name == req.chart.name()
        && let Some(book) = crate::chart::upgrade_notes::for_chart(name)
    {
        let to = req.chart.metadata.version.clone();
        let notes: Vec<_> = book.crossed(from, &to).into_iter().cloned().collect();
        if !notes.is_empty() {
            let refs: Vec<_> = notes.iter().collect();
            let mut migrations = Vec::new();
            if let Some(prev) = &mut request.previous {
                let (migrated, moved) = crate::chart::upgrade_notes::migrate(&prev.values, &refs);
                prev.values = migrated;
                migrations = moved;
            }
            let in_use: Vec<String> = crate::chart::upgrade_notes::removed_in_use(
                request
                    .previous
                    .as_ref()
                    .map(|p| &p.values)
                    .unwrap_or(&Map::new()),
                &refs,
            )
            .iter()
            .map(|(n, r)| {
                format!(
                    "{} (no longer read since chart {}{})",
                    r.key,
                    n.version,
                    r.hint
                        .as_ref()
                        .map(|h| format!(": {h}"))
                        .unwrap_or_default()
                )
            })
            .collect();
            let u = UpgradeNotes {
                from: from.to_string(),
                to,
                end_of_support: book.end_of_support.clone(),
                notes,
                migrations,
                removed_in_use: in_use,
            };
            send(tx, Event::UpgradeNotes(u.clone()));
            upgrade = Some(u);
        }
    }

    // The profile's own objects: the cluster as preflight judges it is the cluster after
    // they are applied.
    let mut object_checks = Vec::new();
    let mut object_changes = Vec::new();
    if let Some(p) = req.profile.as_ref().filter(|p| !p.objects.is_empty()) {
        match objects::diff(&client, &p.objects, &req.namespace).await {
            Ok(changes) => {
                for c in &changes {
                    if c.kind == "StorageClass" {
                        facts
                            .storage_classes
                            .retain(|sc| sc["metadata"]["name"] != c.name.as_str());
                        facts.storage_classes.push(c.object.clone());
                    }
                    object_checks.push(if c.immutable.is_empty() {
                        Check {
                            id: "objects",
                            verdict: Verdict::Pass,
                            message: format!(
                                "{} from profile {}: {} (server-side apply, before the chart)",
                                c.label(),
                                p.name,
                                c.op
                            ),
                            fix: String::new(),
                        }
                    } else {
                        Check {
                            id: "objects",
                            verdict: Verdict::Fail,
                            message: format!(
                                "{} exists with another {}, which cannot change once it is created",
                                c.label(),
                                c.immutable.join(", ")
                            ),
                            fix: format!(
                                "delete {} (claims keep their volumes) so the profile's can be created, or name another class in a profile of your own",
                                c.label()
                            ),
                        }
                    });
                }
                object_changes = changes;
            }
            Err(e) => object_checks.push(Check {
                id: "objects",
                verdict: Verdict::Fail,
                message: format!("profile {}'s objects: {e}", p.name),
                fix: "check the profile's objects against the cluster's API versions".into(),
            }),
        }
    }

    // helm installs a chart's CRDs on a first install only and never upgrades them: on an
    // upgrade the chart's CRDs are compared with the live ones and applied before helm.
    if current.is_some() && !req.chart.crds.is_empty() {
        let crds: Vec<Value> = req
            .chart
            .crds
            .iter()
            .flat_map(|(_, text)| parse_manifest(text))
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .collect();
        match objects::diff(&client, &crds, &req.namespace).await {
            Ok(changes) => {
                for c in changes.iter().filter(|c| c.op != "unchanged") {
                    object_checks.push(Check {
                        id: "crds",
                        verdict: Verdict::Pass,
                        message: format!(
                            "{} from chart {} {}: {} (helm never upgrades CRDs: helmdeck applies it with server-side apply before the upgrade)",
                            c.label(),
                            req.chart.name(),
                            req.chart.metadata.version,
                            c.op
                        ),
                        fix: String::new(),
                    });
                }
                object_changes.extend(changes);
            }
            Err(e) => object_checks.push(Check {
                id: "crds",
                verdict: Verdict::Warn,
                message: format!("the chart's CRDs could not be compared with the cluster's: {e}"),
                fix: "apply the chart's crds/ yourself before upgrading (`kubectl apply --server-side -f crds/`)".into(),
            }),
        }
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

    let mut checks = preflight::run(
        req.profile.as_ref(),
        &req.chart,
        &rendered.values,
        &facts,
        current.as_ref().map(|c| c.status.as_str()),
    );
    checks.extend(object_checks);
    // Keys helm would ignore without a word.
    checks.extend(rendered.warnings.iter().map(|w| Check {
        id: "values",
        verdict: Verdict::Warn,
        message: w.clone(),
        fix:
            "fix the key's spelling or remove it; `helm show values` lists the chart's keys".into(),
    }));
    let mut manifest = None;
    let mut resize_sets = Vec::new();
    // What helm would apply (a server-side dry run): the storage the claims will really use,
    // and for upgrades the immutable fields and the manifest diff.
    // A first install has no CRDs on the cluster yet, so the server cannot dry-run the chart's
    // custom resources: render it locally instead.
    let desired = if current.is_some() {
        dry_run_objects(req, &rendered.user_values).await
    } else {
        template_objects(req, &rendered.user_values, &facts.server_version).await
    };
    if let Some(desired) = desired {
        if let Some(storage) = preflight::manifest_storage(req.profile.as_ref(), &desired, &facts) {
            checks.retain(|c| !preflight::STORAGE_CHECKS.contains(&c.id));
            checks.extend(storage);
        }
        if current.is_none() {
            // An upgrade replaces pods that already hold their room.
            checks.extend(preflight::manifest_room(&desired, &facts));
        }
        if let Some(ingress) = preflight::manifest_ingress(&desired, &facts) {
            checks.retain(|c| c.id != "ingress-controller");
            checks.extend(ingress);
        }
        let live = match current {
            Some(_) => req
                .helm
                .get_manifest(&req.release, &req.namespace)
                .await
                .ok()
                .map(|m| parse_manifest(&m)),
            None => None,
        };
        let ours: std::collections::HashSet<(String, String)> = live
            .iter()
            .flatten()
            .map(|o| {
                let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
                (field(&o["kind"]), field(&o["metadata"]["name"]))
            })
            .collect();
        checks.extend(
            ownership::conflicts(
                &client,
                &desired,
                &ours,
                &req.chart.metadata.dependencies,
                &req.release,
                &req.namespace,
            )
            .await,
        );
        if current.is_some() {
            let (immutable, sets) = immutable_check(req, &client, &desired, &facts).await;
            checks.extend(immutable);
            resize_sets = sets;
            if let Some(live) = &live {
                manifest = Some(manifest_diff(live, &desired));
            }
        }
    }
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
        profile: req.profile.as_ref().map(|p| p.name.clone()),
        values_sha256: audit::sha256_hex(&values_json),
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
        let _ = audit.append(r);
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
            Err(message) => return Outcome::Busy { message },
        };
    step(tx, Step::Confirm, StepState::Done, "");
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

    // The values go to helm in a private file, recorded before anything is applied.
    let audit = audit::AuditLog::new(&req.data_dir);
    let values_json = serde_json::to_vec_pretty(&plan.values).unwrap_or_default();
    let values_file = req
        .data_dir
        .join("applied")
        .join(&req.namespace)
        .join(&req.release)
        .join(format!("{}.json", crate::time::now_for_file_name()));
    if let Err(e) = crate::private_files::private_file(&values_file, &values_json) {
        return Outcome::local(e, "check the data directory (HELMDECK_DATA_DIR)");
    }
    let base_record = plan.record(&req.target);
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
        return Outcome::local(e, "check the data directory");
    }
    if plan.objects.iter().any(|c| c.op != "unchanged") {
        match objects::apply(&client, &plan.objects, &req.namespace).await {
            Ok(done) => send(
                tx,
                Event::Notice {
                    message: format!("applied {} (server-side apply)", done.join(", ")),
                },
            ),
            Err(e) => {
                step(tx, Step::Apply, StepState::Failed, e.clone());
                let outcome = Outcome::local(
                    format!("{e}; the chart was not applied"),
                    "fix the object in the profile, or the rights to apply it, and run again",
                );
                let mut end = base_record.clone();
                end["phase"] = json!("outcome");
                end["outcome"] = json!(outcome);
                let _ = audit.append(end);
                return outcome;
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
            resize::run(&client, &req.namespace, &plan.resize, wait, &audit, tx).await
        {
            step(
                tx,
                Step::Apply,
                StepState::Failed,
                "the disk resize stopped",
            );
            let mut end = base_record.clone();
            end["phase"] = json!("outcome");
            end["outcome"] = json!(outcome);
            let _ = audit.append(end);
            return outcome;
        }
    }
    step(
        tx,
        Step::Apply,
        StepState::Running,
        format!("helm {}", req.helm.bin.version),
    );
    // Watches need a client whose reads may wait out a quiet watch window.
    let watch_client = req
        .target
        .watch_client()
        .await
        .unwrap_or_else(|_| client.clone());
    let follow = tokio::spawn(follow_rollout(
        watch_client.clone(),
        req.namespace.clone(),
        req.release.clone(),
        tx.clone(),
    ));
    let args = req.helm.upgrade_install_args(
        &req.release,
        &req.chart_path,
        &req.namespace,
        &values_file,
        req.timeout_secs,
        req.rollback_on_failure,
        false,
    );
    let log_dir = req
        .data_dir
        .join("runs")
        .join(&req.namespace)
        .join(&req.release);
    let helm_run = req.helm.run_detached(
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
        Ok(out_text) => {
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
            if req.verify {
                verify(req, &watch_client, revision, tx).await
            } else {
                step(tx, Step::Verify, StepState::Skipped, "--no-verify");
                Outcome::Applied { revision }
            }
        }
        Err(e) => {
            step(tx, Step::Apply, StepState::Failed, e.message.clone());
            let after = req
                .helm
                .history(&req.release, &req.namespace)
                .await
                .unwrap_or_default();
            // "Rolled back" only when helm applied something and undid it: it says so ("…
            // has been uninstalled / rolled back due to atomic / rollback-on-failure being
            // set", helm 3 and 4), or a revision newer than the plan's is a rollback. A chart
            // helm refused before applying anything is not "rolled back".
            let said = e.message.contains("has been uninstalled due to")
                || e.message.contains("has been rolled back due to");
            let newer_rollback = after.last().is_some_and(|h| {
                Some(h.revision) > plan.based_on
                    && h.description.to_ascii_lowercase().contains("rollback")
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
                if let Some(last) = after
                    .last()
                    .filter(|h| h.status.starts_with("pending-") || h.status == "uninstalling")
                {
                    message.push_str(&format!(
                        "; the release is left {} (revision {}), and helm will refuse to touch it until it is recovered",
                        last.status, last.revision
                    ));
                    *fix = if after
                        .iter()
                        .any(|h| h.status == "deployed" || h.status == "superseded")
                    {
                        format!(
                            "helmdeck rollback --release {} -n {} (back to the last deployed revision), then run again",
                            req.release, req.namespace
                        )
                    } else {
                        format!(
                            "it never deployed: helm uninstall {} -n {}, then install again",
                            req.release, req.namespace
                        )
                    };
                }
            }
            o
        }
    };
    let mut end = base_record;
    end["phase"] = json!("outcome");
    end["outcome"] = serde_json::to_value(&outcome).unwrap_or_default();
    let _ = audit.append(end);
    outcome
}

/// The last step: the release's pods and disks, judged as `helmdeck check` judges them under
/// the profile's rules, from the same watchers.
async fn verify(
    req: &DeployRequest,
    client: &kube::Client,
    revision: u64,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    use crate::cluster::watch::{ClusterWatch, Scope};
    step(tx, Step::Verify, StepState::Running, "");
    let watch = ClusterWatch::start(
        client,
        Scope {
            namespace: Some(req.namespace.clone()),
            pods: true,
            disks: true,
        },
    );
    if !watch.synced(std::time::Duration::from_secs(30)).await {
        step(
            tx,
            Step::Verify,
            StepState::Failed,
            "the watchers did not finish listing within 30 s",
        );
        return Outcome::Unverified {
            revision,
            failed: vec!["the cluster could not be read to verify".into()],
        };
    }
    let snap = watch.snapshot();
    let rule = req
        .profile
        .as_ref()
        .map(|p| p.storage.encryption)
        .unwrap_or(crate::profile::EncryptionRule::NotRequired);
    let checks = verify_checks(&snap, &req.release, rule, std::time::SystemTime::now());
    for c in &checks {
        send(tx, Event::Check(c.clone()));
    }
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.message.clone())
        .collect();
    if failed.is_empty() {
        step(
            tx,
            Step::Verify,
            StepState::Done,
            format!("{} check(s) passed", checks.len()),
        );
        Outcome::Applied { revision }
    } else {
        step(
            tx,
            Step::Verify,
            StepState::Failed,
            format!("{} check(s) failed", failed.len()),
        );
        Outcome::Unverified { revision, failed }
    }
}

/// The Verify step's checks on one cluster state: the release's pods and every disk in its
/// namespace, judged as `helmdeck check` and the dashboard judge them.
pub fn verify_checks(
    snap: &crate::cluster::watch::Snapshot,
    release: &str,
    rule: crate::profile::EncryptionRule,
    now: std::time::SystemTime,
) -> Vec<Check> {
    let asked = crate::health::Asked {
        release: Some(release),
        rule,
        pods: true,
        disks: true,
        now,
    };
    crate::health::Judgement::of(snap, asked, None).checks
}

/// Runs helm with the user's values in a private file (`args_for` gets its path) and returns
/// what it printed; the file is gone when this returns.
async fn helm_with_values(
    req: &DeployRequest,
    user_values: &Map<String, Value>,
    kind: &str,
    args_for: impl FnOnce(&Path) -> Vec<String>,
) -> Option<String> {
    /// Removes the values file however this ends, a dropped future (Ctrl-C) included.
    struct Gone(PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = Gone(std::env::temp_dir().join(format!("helmdeck-{kind}-{}", std::process::id())));
    let file = dir.0.join("values.json");
    crate::private_files::private_file(&file, &serde_json::to_vec(user_values).unwrap_or_default())
        .ok()?;
    // helm has no request timeout: a server dry run against an API server that went silent
    // would never end. It gets helm's own --timeout, then is killed (it applies nothing).
    tokio::time::timeout(
        std::time::Duration::from_secs(req.timeout_secs),
        req.helm.run(&args_for(&file), |_| {}),
    )
    .await
    .ok()?
    .ok()
}

/// The chart's objects as `helm template` renders them for this cluster's version.
async fn template_objects(
    req: &DeployRequest,
    user_values: &Map<String, Value>,
    server_version: &str,
) -> Option<Vec<Value>> {
    let version = server_version.trim_start_matches('v');
    let version = version.split(['-', '+']).next().unwrap_or(version);
    let out = helm_with_values(req, user_values, "template", |file| {
        let mut args: Vec<String> = vec![
            "template".into(),
            req.release.clone(),
            req.chart_path.display().to_string(),
            "-n".into(),
            req.namespace.clone(),
            "-f".into(),
            file.display().to_string(),
        ];
        if !version.is_empty() {
            args.push("--kube-version".into());
            args.push(version.to_string());
        }
        args
    })
    .await?;
    Some(parse_manifest(&out))
}

/// The objects an upgrade would apply, from helm's server-side dry run.
async fn dry_run_objects(
    req: &DeployRequest,
    user_values: &Map<String, Value>,
) -> Option<Vec<Value>> {
    let out = helm_with_values(req, user_values, "dry", |file| {
        req.helm.upgrade_install_args(
            &req.release,
            &req.chart_path,
            &req.namespace,
            file,
            req.timeout_secs,
            false,
            true,
        )
    })
    .await?;
    // The manifest sits between "MANIFEST:" and "NOTES:".
    let manifest = out
        .split("MANIFEST:")
        .nth(1)
        .unwrap_or("")
        .split("\nNOTES:")
        .next()
        .unwrap_or("");
    Some(parse_manifest(manifest))
}

fn parse_manifest(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| Value::deserialize(d).ok())
        .filter(|v| v.is_object())
        .collect()
}

/// What an upgrade changes in one kind of object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindDiff {
    pub kind: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// The manifest diff between the live release and the upgrade, summarised per kind.
pub fn manifest_diff(live: &[Value], desired: &[Value]) -> Vec<KindDiff> {
    use std::collections::BTreeMap;
    let key = |v: &Value| {
        (
            v["kind"].as_str().unwrap_or("?").to_string(),
            v["metadata"]["name"].as_str().unwrap_or("?").to_string(),
        )
    };
    let index = |objs: &[Value]| -> BTreeMap<(String, String), Value> {
        objs.iter().map(|o| (key(o), o.clone())).collect()
    };
    let (a, b) = (index(live), index(desired));
    let mut kinds: BTreeMap<String, KindDiff> = BTreeMap::new();
    let mut push = |kind: &str, which: u8, name: &str| {
        let d = kinds.entry(kind.to_string()).or_insert_with(|| KindDiff {
            kind: kind.to_string(),
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
        });
        match which {
            0 => d.added.push(name.to_string()),
            1 => d.changed.push(name.to_string()),
            _ => d.removed.push(name.to_string()),
        }
    };
    for ((kind, name), obj) in &b {
        match a.get(&(kind.clone(), name.clone())) {
            None => push(kind, 0, name),
            Some(old) if old != obj => push(kind, 1, name),
            _ => {}
        }
    }
    for (kind, name) in a.keys() {
        if !b.contains_key(&(kind.clone(), name.clone())) {
            push(kind, 2, name);
        }
    }
    kinds.into_values().collect()
}

/// Server-side dry run of the upgrade, compared with the live StatefulSets.
/// StatefulSets whose claim templates change: refused, or with `--resize-disks` the resize
/// that makes the upgrade possible (checked against the classes preflight sees).
async fn immutable_check(
    req: &DeployRequest,
    client: &kube::Client,
    desired: &[Value],
    facts: &preflight::ClusterFacts,
) -> (Vec<Check>, Vec<resize::SetResize>) {
    let sts: Api<k8s_openapi::api::apps::v1::StatefulSet> =
        Api::namespaced(client.clone(), &req.namespace);
    let live: Vec<Value> = sts
        .list(&Default::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .map(|s| serde_json::to_value(s).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    if !req.resize_disks {
        return (preflight::immutable_changes(desired, &live), Vec::new());
    }
    match resize::plan(desired, &live) {
        Err(r) => (
            vec![Check {
                id: "disk-resize",
                verdict: Verdict::Fail,
                message: r.message,
                fix: r.fix,
            }],
            Vec::new(),
        ),
        Ok(sets) => {
            let mut checks = Vec::new();
            for s in &sets {
                let class = &s.claims[0].class;
                let sc = facts.storage_classes.iter().find(|c| {
                    if class.is_empty() {
                        c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
                            == "true"
                    } else {
                        c["metadata"]["name"] == class.as_str()
                    }
                });
                let expands = sc.is_some_and(|c| c["allowVolumeExpansion"] == true);
                let shown = if class.is_empty() { "(default)" } else { class };
                checks.push(if expands {
                    Check {
                        id: "disk-resize",
                        verdict: Verdict::Pass,
                        message: format!(
                            "StatefulSet {}: {} claim(s) grow {} → {} (class {shown} allows expansion); helmdeck resizes them and recreates the StatefulSet before the upgrade",
                            s.statefulset,
                            s.claims.len(),
                            s.claims[0].from,
                            s.claims[0].to
                        ),
                        fix: String::new(),
                    }
                } else {
                    Check {
                        id: "disk-resize",
                        verdict: Verdict::Fail,
                        message: format!(
                            "StatefulSet {}: its claims cannot grow: StorageClass {shown} does not allow volume expansion",
                            s.statefulset
                        ),
                        fix: format!(
                            "set allowVolumeExpansion: true on the class (`kubectl patch storageclass {shown} -p '{{\"allowVolumeExpansion\":true}}'`) if its provisioner supports it, or keep the size"
                        ),
                    }
                });
            }
            (checks, sets)
        }
    }
}

/// Pods ready of expected while helm waits, from the shared watchers and the same pod
/// analyser the dashboard uses (not by polling helm), sent when the cluster changes.
async fn follow_rollout(
    client: kube::Client,
    ns: String,
    release: String,
    tx: UnboundedSender<Event>,
) {
    let ns_of_watch = ns.clone();
    let watch = ClusterWatch::start(
        &client,
        Scope {
            namespace: Some(ns),
            pods: true,
            disks: false,
        },
    );
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
            let pod = f.subject.trim_start_matches("pod ").to_string();
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

/// The revision a rollback goes to by default: the last one deployed before the current.
pub fn default_rollback_target(hist: &[crate::helm::driver::HistoryEntry]) -> Option<u64> {
    let cur = hist.last()?.revision;
    hist.iter()
        .rev()
        .find(|h| h.revision < cur && (h.status == "deployed" || h.status == "superseded"))
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
        Err(message) => return Outcome::Busy { message },
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
            if let Some(last) = after.last().filter(|h| h.status.starts_with("pending-")) {
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

#[cfg(test)]
mod manifest_tests {
    use super::*;

    /// An answer left as the chart offers it is a change in the values helm gets, marked as
    /// restating the default so a reader can skip it.
    #[test]
    fn values_diff_marks_what_only_restates_the_charts_default() {
        let map = |v: Value| v.as_object().cloned().unwrap();
        let defaults = map(
            json!({"clickhouse": {"persistence": {"size": "20Gi"}}, "web": {"replicacount": 1}}),
        );
        let old = map(json!({"web": {"replicacount": 1}, "cloud": "aws"}));
        let new = map(json!({"clickhouse": {"persistence": {"size": "20Gi"}}, "cloud": "gcp"}));
        let changes = values_diff(&old, &new, &defaults, &|_| None);
        let by = |p: &str| changes.iter().find(|c| c.path == p).unwrap();
        assert!(by("clickhouse.persistence.size").as_default);
        assert!(
            by("web.replicacount").as_default,
            "removing a default changes nothing"
        );
        assert!(!by("cloud").as_default);
        assert_eq!(by("cloud").op, '~');
    }

    #[test]
    fn summarises_per_kind() {
        let live = parse_manifest(
            "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n---\nkind: ConfigMap\nmetadata: {name: old}\n",
        );
        let new = parse_manifest(
            "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n---\nkind: Service\nmetadata: {name: web}\n",
        );
        let d = manifest_diff(&live, &new);
        let get = |k: &str| d.iter().find(|x| x.kind == k).unwrap().clone();
        assert_eq!(get("Deployment").changed, vec!["web"]);
        assert_eq!(get("Service").added, vec!["web"]);
        assert_eq!(get("ConfigMap").removed, vec!["old"]);
    }
}
