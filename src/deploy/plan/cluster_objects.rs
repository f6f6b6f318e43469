//! What helmdeck applies before the chart: the profile's own objects (the cluster as
//! preflight judges it is the cluster after they are applied) and, on an upgrade, the chart's
//! CRDs, which helm never upgrades.

use serde_json::Value;

use super::manifest::parse_manifest;
use crate::deploy::{DeployRequest, objects};
use crate::health::preflight::ClusterFacts;
use crate::helm::driver::HistoryEntry;
use crate::verdict::{Check, Verdict};

pub(super) async fn profile_objects_and_crds(
    req: &DeployRequest,
    client: &kube::Client,
    current: &Option<HistoryEntry>,
    facts: &mut ClusterFacts,
) -> (Vec<Check>, Vec<objects::ObjectChange>) {
    // The profile's own objects: the cluster as preflight judges it is the cluster after
    // they are applied.
    let mut object_checks = Vec::new();
    let mut object_changes = Vec::new();
    if let Some(p) = req.profile.as_ref().filter(|p| !p.objects.is_empty()) {
        match objects::diff(client, &p.objects, &req.namespace).await {
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
        match objects::diff(client, &crds, &req.namespace).await {
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

    (object_checks, object_changes)
}
