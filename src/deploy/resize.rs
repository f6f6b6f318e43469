//! Growing a StatefulSet's disks, which an upgrade alone cannot do (`volumeClaimTemplates` are
//! immutable): the documented workaround, carried out step by step — check the class allows
//! expansion and nothing shrinks, patch each claim, wait until it is resized, delete the
//! StatefulSet with `--cascade=orphan` (pods and volumes stay) — after which the upgrade
//! recreates it with the new size. Every step is audited and skips itself when already done,
//! so a run cut short resumes where it stopped.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PropagationPolicy};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::{Event, Outcome, audit};
use crate::quantity::parse_bytes;

/// One claim to grow.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClaimResize {
    pub claim: String,
    pub from: String,
    pub to: String,
    pub class: String,
}

/// One StatefulSet whose claim templates grow.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SetResize {
    pub statefulset: String,
    pub claims: Vec<ClaimResize>,
}

/// Why the resize cannot be done, with what to do instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: String,
    pub fix: String,
}

fn templates(sts: &Value) -> Vec<(String, String, String)> {
    sts["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["metadata"]["name"].as_str().unwrap_or_default().into(),
                t["spec"]["resources"]["requests"]["storage"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                t["spec"]["storageClassName"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
            )
        })
        .collect()
}

/// The resizes the upgrade's StatefulSets ask for, from the desired objects and the live
/// ones; refused when anything but a size grows (a class change, a shrink, a new template).
pub fn plan(desired: &[Value], live: &[Value]) -> Result<Vec<SetResize>, Refusal> {
    let mut out = Vec::new();
    for d in desired.iter().filter(|d| d["kind"] == "StatefulSet") {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let Some(l) = live.iter().find(|l| l["metadata"]["name"] == name) else {
            continue;
        };
        let (want, have) = (templates(d), templates(l));
        if want == have {
            continue;
        }
        let replicas = l["spec"]["replicas"].as_u64().unwrap_or(1);
        let mut claims = Vec::new();
        for w in &want {
            let Some(h) = have.iter().find(|h| h.0 == w.0) else {
                return Err(Refusal {
                    message: format!("StatefulSet {name} gains the claim template {}", w.0),
                    fix: format!(
                        "run `kubectl delete statefulset {name} --cascade=orphan` and upgrade again"
                    ),
                });
            };
            if h.2 != w.2 {
                return Err(Refusal {
                    message: format!(
                        "StatefulSet {name}: {} would move from class {:?} to {:?}; a claim cannot change class",
                        w.0, h.2, w.2
                    ),
                    fix: "keep the class, or move the data to new claims yourself (back up, delete the claims, restore)".into(),
                });
            }
            let (from, to) = (parse_bytes(&h.1), parse_bytes(&w.1));
            match (from, to) {
                (Some(f), Some(t)) if t < f => {
                    return Err(Refusal {
                        message: format!(
                            "StatefulSet {name}: {} would shrink from {} to {}; volumes never shrink",
                            w.0, h.1, w.1
                        ),
                        fix: format!("keep {} at {} or more", w.0, h.1),
                    });
                }
                (Some(f), Some(t)) if t > f => {
                    for ordinal in 0..replicas {
                        claims.push(ClaimResize {
                            claim: format!("{}-{name}-{ordinal}", w.0),
                            from: h.1.clone(),
                            to: w.1.clone(),
                            class: w.2.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        if !claims.is_empty() {
            out.push(SetResize {
                statefulset: name.to_string(),
                claims,
            });
        }
    }
    Ok(out)
}

/// The steps as a person reads them.
pub fn lines(sets: &[SetResize]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sets {
        for c in &s.claims {
            out.push(format!(
                "grow claim {} {} → {} (class {})",
                c.claim,
                c.from,
                c.to,
                if c.class.is_empty() {
                    "default"
                } else {
                    &c.class
                }
            ));
        }
        out.push(format!(
            "delete StatefulSet {} with --cascade=orphan (its pods and volumes stay); the upgrade recreates it",
            s.statefulset
        ));
    }
    out
}

fn notice(tx: &UnboundedSender<Event>, message: String) {
    let _ = tx.send(Event::Notice { message });
}

/// The cluster's claims, classes and StatefulSets in the release's namespace, and where each
/// step is said and recorded.
struct Resizing<'a> {
    claims: Api<PersistentVolumeClaim>,
    classes: Api<StorageClass>,
    statefulsets: Api<StatefulSet>,
    namespace: &'a str,
    timeout: Duration,
    log: &'a audit::AuditLog,
    tx: &'a UnboundedSender<Event>,
}

fn fail(message: String, fix: &str) -> Outcome {
    Outcome::PreflightFailed {
        failed: vec![format!("{message}\n  fix: {fix}")],
    }
}

/// Carries the resize out on the cluster: checks the live claims and classes, then each
/// step, audited. Returns an outcome only when it stopped.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    sets: &[SetResize],
    timeout: Duration,
    log: &audit::AuditLog,
    tx: &UnboundedSender<Event>,
) -> Result<(), Outcome> {
    let r = Resizing {
        claims: Api::namespaced(client.clone(), namespace),
        classes: Api::all(client.clone()),
        statefulsets: Api::namespaced(client.clone(), namespace),
        namespace,
        timeout,
        log,
        tx,
    };
    // Every check first: nothing is changed unless every claim can grow.
    for c in sets.iter().flat_map(|s| &s.claims) {
        r.can_grow(c).await?;
    }
    for c in sets.iter().flat_map(|s| &s.claims) {
        r.grow(c).await?;
    }
    for s in sets {
        r.orphan(s).await?;
    }
    Ok(())
}

impl Resizing<'_> {
    /// The claim's class allows expansion (a claim not made yet gets the new size anyway).
    async fn can_grow(&self, c: &ClaimResize) -> Result<(), Outcome> {
        let claims = &self.claims;
        let classes = &self.classes;
        let live = claims
            .get_opt(&c.claim)
            .await
            .map_err(|e| Outcome::Unreachable {
                message: e.to_string(),
            })?;
        let Some(live) = live else {
            return Ok(()); // a replica that never had a claim gets the new size from the start
        };
        let class = live
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.clone())
            .unwrap_or_default();
        let expands = match classes.get_opt(&class).await {
            Ok(Some(sc)) => sc.allow_volume_expansion == Some(true),
            _ => false,
        };
        if !expands {
            return Err(fail(
                format!(
                    "claim {} cannot grow: its StorageClass {class:?} does not allow volume expansion",
                    c.claim
                ),
                &format!(
                    "set allowVolumeExpansion: true on the class (`kubectl patch storageclass {class} -p '{{\"allowVolumeExpansion\":true}}'`) if its provisioner supports it, then run again"
                ),
            ));
        }
        Ok(())
    }

    /// Asks the claim to grow, then waits until it has (or its file system grows on restart).
    async fn grow(&self, c: &ClaimResize) -> Result<(), Outcome> {
        let (claims, log, tx, namespace, timeout) = (
            &self.claims,
            self.log,
            self.tx,
            self.namespace,
            self.timeout,
        );
        let Some(live) = claims.get_opt(&c.claim).await.ok().flatten() else {
            return Ok(());
        };
        let requested = live
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_default();
        if parse_bytes(&requested) < parse_bytes(&c.to) {
            claims
                .patch(
                    &c.claim,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"resources": {"requests": {"storage": c.to}}}})),
                )
                .await
                .map_err(|e| {
                    fail(
                        format!("growing claim {} failed: {e}", c.claim),
                        "check the class and the claim with `kubectl describe pvc`",
                    )
                })?;
            let _ = log.append(json!({"phase": "resize", "step": "patch-claim",
            "namespace": namespace, "claim": c.claim, "from": c.from, "to": c.to}));
            notice(tx, format!("claim {} asked to grow to {}", c.claim, c.to));
        }
        // Resized: the capacity is there, or the volume is and the file system follows when
        // the pod restarts (which the upgrade does).
        let deadline = Instant::now() + timeout;
        loop {
            let pvc = claims.get_opt(&c.claim).await.ok().flatten();
            let status = pvc.as_ref().and_then(|p| p.status.as_ref());
            let capacity = status
                .and_then(|s| s.capacity.as_ref())
                .and_then(|c| c.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default();
            let pending = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "FileSystemResizePending"));
            if pending || parse_bytes(&capacity) >= parse_bytes(&c.to) {
                notice(
                    tx,
                    format!(
                        "claim {} resized{}",
                        c.claim,
                        if pending {
                            " (the file system grows when its pod restarts)"
                        } else {
                            ""
                        }
                    ),
                );
                break;
            }
            if Instant::now() > deadline {
                return Err(fail(
                    format!(
                        "claim {} did not reach {} within {}s",
                        c.claim,
                        c.to,
                        timeout.as_secs()
                    ),
                    "look at the claim's events (`kubectl describe pvc`) and run again: done steps are skipped",
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Deletes the StatefulSet with its pods and volumes left in place, and waits until it is
    /// gone, so the upgrade recreates it with the new claim size.
    async fn orphan(&self, s: &SetResize) -> Result<(), Outcome> {
        let (statefulsets, log, tx, namespace, timeout) = (
            &self.statefulsets,
            self.log,
            self.tx,
            self.namespace,
            self.timeout,
        );
        if statefulsets
            .get_opt(&s.statefulset)
            .await
            .ok()
            .flatten()
            .is_none()
        {
            return Ok(());
        }
        statefulsets
            .delete(
                &s.statefulset,
                &DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Orphan),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| {
                fail(
                    format!("deleting StatefulSet {} failed: {e}", s.statefulset),
                    "run again: the claims are already resized",
                )
            })?;
        let _ = log.append(json!({"phase": "resize", "step": "orphan-statefulset",
        "namespace": namespace, "statefulset": s.statefulset}));
        notice(
            tx,
            format!(
                "StatefulSet {} deleted with --cascade=orphan: its pods and volumes stay",
                s.statefulset
            ),
        );
        // Gone before the upgrade recreates it.
        let deadline = Instant::now() + timeout;
        while statefulsets
            .get_opt(&s.statefulset)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            if Instant::now() > deadline {
                return Err(fail(
                    format!("StatefulSet {} is still there", s.statefulset),
                    "look at its finalizers and run again",
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(size: &str, class: &str) -> Value {
        json!({"kind": "StatefulSet", "metadata": {"name": "posthog-clickhouse"},
            "spec": {"replicas": 2, "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"storageClassName": class, "resources": {"requests": {"storage": size}}}}]}})
    }

    #[test]
    fn a_growth_resizes_every_replicas_claim_and_anything_else_is_refused() {
        let sets = plan(&[sts("30Gi", "gp3")], &[sts("20Gi", "gp3")]).expect("grows");
        assert_eq!(sets.len(), 1);
        let names: Vec<&str> = sets[0].claims.iter().map(|c| c.claim.as_str()).collect();
        assert_eq!(
            names,
            ["data-posthog-clickhouse-0", "data-posthog-clickhouse-1"]
        );
        let shrink = plan(&[sts("10Gi", "gp3")], &[sts("20Gi", "gp3")]).expect_err("shrink");
        assert!(shrink.message.contains("never shrink") && shrink.fix.contains("20Gi"));
        let moved = plan(&[sts("20Gi", "gp2")], &[sts("20Gi", "gp3")]).expect_err("class");
        assert!(
            moved.message.contains("cannot change class"),
            "{}",
            moved.message
        );
        assert!(
            plan(&[sts("20Gi", "gp3")], &[sts("20Gi", "gp3")])
                .expect("same")
                .is_empty()
        );
    }
}
