//! Checks against what helm would apply: the chart rendered (`helm template` for a first
//! install, a server-side dry run for an upgrade), then storage, room, ingress, ownership and,
//! for upgrades, immutable fields and the manifest diff.

use std::path::Path;

use kube::api::Api;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::diff::{KindDiff, manifest_diff};
use crate::deploy::{DeployRequest, ownership, resize};
use crate::health::preflight::{self, ClusterFacts};
use crate::helm::driver::HistoryEntry;
use crate::values::Rendered;
use crate::verdict::{Check, Verdict};

/// The checks of the plan, the manifest diff (upgrades) and the disk resize to carry out.
pub(super) struct Judged {
    pub checks: Vec<Check>,
    pub manifest: Option<Vec<KindDiff>>,
    pub resize: Vec<resize::SetResize>,
}

pub(super) async fn judge(
    req: &DeployRequest,
    client: &kube::Client,
    facts: &ClusterFacts,
    current: &Option<HistoryEntry>,
    way_back: Option<&str>,
    rendered: &Rendered,
    object_checks: Vec<Check>,
) -> Judged {
    let mut checks = preflight::run(
        req.profile.as_ref(),
        &req.chart,
        &rendered.values,
        facts,
        current.as_ref().map(|c| c.status),
    );
    // A stuck release's fix is its own way back, from its history (preflight sees only the
    // latest revision's status).
    if let Some(way_back) = way_back {
        for c in checks
            .iter_mut()
            .filter(|c| c.id == "release-state" && c.verdict == Verdict::Fail)
        {
            c.fix = way_back.to_string();
        }
    }
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
        if let Some(storage) = preflight::manifest_storage(req.profile.as_ref(), &desired, facts) {
            checks.retain(|c| !preflight::STORAGE_CHECKS.contains(&c.id));
            checks.extend(storage);
        }
        if current.is_none() {
            // An upgrade replaces pods that already hold their room.
            checks.extend(preflight::manifest_room(&desired, facts));
        }
        if let Some(ingress) = preflight::manifest_ingress(&desired, facts) {
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
        checks.extend(crate::health::monitoring::plan_check(
            &desired,
            &rendered.values,
            &ours,
        ));
        checks.extend(
            ownership::conflicts(
                client,
                &desired,
                &ours,
                &req.chart.metadata.dependencies,
                &req.release,
                &req.namespace,
            )
            .await,
        );
        if current.is_some() {
            let (immutable, sets) = immutable_check(req, client, &desired, facts).await;
            checks.extend(immutable);
            resize_sets = sets;
            if let Some(live) = &live {
                manifest = Some(manifest_diff(live, &desired));
            }
        }
    }
    Judged {
        checks,
        manifest,
        resize: resize_sets,
    }
}

/// Runs helm with the user's values in a private file and returns what it printed; helm has
/// no request timeout, so a server dry run against an API server that went silent would never
/// end: it gets helm's own --timeout, then is killed (it applies nothing).
async fn helm_with_values(
    req: &DeployRequest,
    user_values: &Map<String, Value>,
    args_for: impl FnOnce(&Path) -> Vec<String>,
) -> Option<String> {
    tokio::time::timeout(
        std::time::Duration::from_secs(req.timeout_secs),
        req.helm.run_with_values(user_values, args_for),
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
    let out = helm_with_values(req, user_values, |file| {
        crate::helm::driver::Helm::template_args(
            &req.release,
            &req.chart_path,
            &req.namespace,
            file,
            Some(version),
        )
    })
    .await?;
    Some(parse_manifest(&out))
}

/// The objects an upgrade would apply, from helm's server-side dry run.
async fn dry_run_objects(
    req: &DeployRequest,
    user_values: &Map<String, Value>,
) -> Option<Vec<Value>> {
    let out = helm_with_values(req, user_values, |file| {
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

pub(crate) fn parse_manifest(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| Value::deserialize(d).ok())
        .filter(|v| v.is_object())
        .collect()
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
