//! Disk encryption per volume, with the evidence: PVC → bound PV (CSI driver, volume
//! attributes) → StorageClass (provisioner, parameters), judged by the provider rules in
//! `health::encryption` and graded by the profile's rule.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::health::encryption::{EncryptionVerdict, grade, judge};
use crate::observed::Snapshot;
use crate::profile::EncryptionRule;
use crate::verdict::Verdict;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskRow {
    pub claim: String,
    pub namespace: String,
    pub component: String,
    pub phase: String,
    pub size: String,
    pub storage_class: String,
    pub volume: Option<String>,
    /// The CSI driver or in-tree provisioner that made the volume.
    pub driver: String,
    pub encryption: EncryptionVerdict,
    /// Each link of the chain, in order, as the user would check it with kubectl.
    pub evidence: Vec<String>,
    pub expansion: Option<bool>,
    pub reclaim_policy: Option<String>,
    pub verdict: Verdict,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// How full it is, when the kubelet's summary was read (`health::fill`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<super::fill::Fill>,
}

fn class_params(sc: &StorageClass) -> Map<String, Value> {
    sc.parameters
        .as_ref()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The class a claim's volume was made from: the bound volume's own `storageClassName`; for a
/// claim not bound yet, the class it names, or the default class when it names none (the
/// cluster assigns it). `""` means "no class" and never the default.
fn class_of<'a>(
    pvc: &PersistentVolumeClaim,
    pv: Option<&PersistentVolume>,
    classes: &'a [Arc<StorageClass>],
) -> Option<&'a StorageClass> {
    let named = match pv {
        Some(v) => Some(
            v.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.clone())
                .unwrap_or_default(),
        ),
        None => pvc.spec.as_ref()?.storage_class_name.clone(),
    };
    match named {
        Some(n) if n.is_empty() => None,
        Some(n) => classes
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(&n))
            .map(Arc::as_ref),
        None => classes
            .iter()
            .find(|c| {
                c.metadata.annotations.as_ref().is_some_and(|a| {
                    a.get("storageclass.kubernetes.io/is-default-class")
                        .map(String::as_str)
                        == Some("true")
                })
            })
            .map(Arc::as_ref),
    }
}

/// Why a class is not evidence for a volume: it was created after the volume. Class
/// parameters cannot change, but a class can be deleted and re-created under the same name,
/// and EBS and PD volumes record no encryption of their own (shared/REFERENCE.md).
fn newer_than_volume(sc: &StorageClass, pv: &PersistentVolume) -> Option<String> {
    let class_at = sc.metadata.creation_timestamp.as_ref()?;
    let volume_at = pv.metadata.creation_timestamp.as_ref()?;
    (class_at.0 > volume_at.0).then(|| {
        format!(
            "StorageClass {} was created after this volume ({} > {}): re-created since, its parameters are not evidence for it",
            sc.metadata.name.as_deref().unwrap_or_default(),
            class_at.0,
            volume_at.0
        )
    })
}

/// The in-tree provisioner and the CSI driver that took its volumes over (CSI migration keeps
/// the in-tree name on the class and on the volumes it provisions).
const MIGRATED: [(&str, &str); 3] = [
    ("kubernetes.io/aws-ebs", "ebs.csi.aws.com"),
    ("kubernetes.io/gce-pd", "pd.csi.storage.gke.io"),
    ("kubernetes.io/azure-disk", "disk.csi.azure.com"),
];

fn same_provisioner(a: &str, b: &str) -> bool {
    a == b
        || MIGRATED
            .iter()
            .any(|(t, c)| (a == *t && b == *c) || (a == *c && b == *t))
}

/// Why a class is not evidence for a volume it did not provision: only a volume the class's
/// provisioner made carries `pv.kubernetes.io/provisioned-by` with its name; a volume made by
/// hand or by a restore (Velero, a retained volume bound again) does not (shared/REFERENCE.md,
/// "Disk encryption").
fn not_from_class(sc: &StorageClass, pv: &PersistentVolume) -> Option<String> {
    let class = sc.metadata.name.as_deref().unwrap_or_default();
    let name = pv.metadata.name.as_deref().unwrap_or_default();
    let by = pv
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("pv.kubernetes.io/provisioned-by"));
    match by {
        None => Some(format!(
            "PV {name} carries no pv.kubernetes.io/provisioned-by: it was made by hand or restored (a backup, a retained volume bound again), not provisioned from StorageClass {class}, whose parameters are therefore no evidence for it"
        )),
        Some(by) if !same_provisioner(by, &sc.provisioner) => Some(format!(
            "PV {name} was provisioned by {by}, not by StorageClass {class}'s provisioner {}: the class's parameters are no evidence for it",
            sc.provisioner
        )),
        Some(_) => None,
    }
}

/// The in-tree volume source's provisioner name, for volumes that are not CSI.
fn in_tree_driver(pv: &PersistentVolume) -> Option<&'static str> {
    let s = pv.spec.as_ref()?;
    Some(if s.aws_elastic_block_store.is_some() {
        "kubernetes.io/aws-ebs"
    } else if s.gce_persistent_disk.is_some() {
        "kubernetes.io/gce-pd"
    } else if s.azure_disk.is_some() {
        "kubernetes.io/azure-disk"
    } else if s.host_path.is_some() {
        "kubernetes.io/host-path"
    } else if s.local.is_some() {
        "kubernetes.io/no-provisioner"
    } else {
        return None;
    })
}

pub fn disk_row(
    pvc: &PersistentVolumeClaim,
    pvs: &[Arc<PersistentVolume>],
    classes: &[Arc<StorageClass>],
    rule: EncryptionRule,
) -> DiskRow {
    let claim = pvc.metadata.name.clone().unwrap_or_default();
    let namespace = pvc.metadata.namespace.clone().unwrap_or_default();
    let phase = pvc
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    let volume = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|v| !v.is_empty());
    let pv = volume.as_ref().and_then(|v| {
        pvs.iter()
            .find(|p| p.metadata.name.as_deref() == Some(v))
            .map(Arc::as_ref)
    });
    let size = claim_size(pvc);
    let sc = class_of(pvc, pv, classes);
    let storage_class = sc
        .and_then(|c| c.metadata.name.clone())
        .or_else(|| pvc.spec.as_ref()?.storage_class_name.clone())
        .unwrap_or_default();
    let mut evidence = vec![format!(
        "PVC {namespace}/{claim}: {phase}, {size}, class {}",
        if storage_class.is_empty() {
            "(none)"
        } else {
            &storage_class
        }
    )];
    let csi = pv.and_then(|p| p.spec.as_ref()?.csi.as_ref());
    evidence.extend(volume_evidence(pv, volume.as_deref()));
    evidence.extend(sc.map(class_evidence));
    // A class re-created after the volume, or one that did not make it, says nothing about it.
    let stale = match (sc, pv) {
        (Some(c), Some(v)) => newer_than_volume(c, v).or_else(|| not_from_class(c, v)),
        _ => None,
    };
    if let Some(why) = &stale {
        evidence.push(why.clone());
    }
    let evidence_class = if stale.is_some() { None } else { sc };
    // The driver that made the volume wins over the class's provisioner; the parameters are
    // the class's, with an Azure Disk volume's own attributes on top.
    let driver = csi
        .map(|c| c.driver.clone())
        .or_else(|| pv.and_then(in_tree_driver).map(str::to_string))
        .or_else(|| sc.map(|c| c.provisioner.clone()))
        .unwrap_or_default();
    let mut params = evidence_class.map(class_params).unwrap_or_default();
    // Only Azure Disk records the class's parameters on the volume; an EBS or PD volume's
    // attributes are format options, and an `encrypted` among them is no evidence.
    let attrs_are_evidence = same_provisioner(&driver, "disk.csi.azure.com");
    if let Some(attrs) = csi
        .and_then(|c| c.volume_attributes.as_ref())
        .filter(|_| attrs_are_evidence)
    {
        for (k, v) in attrs {
            params.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let (encryption, why) = if pv.is_none() && sc.is_none() {
        (
            EncryptionVerdict::Unknown,
            if volume.is_none() {
                "the claim is not bound yet and names no known StorageClass".to_string()
            } else {
                "neither the volume nor its StorageClass is visible".to_string()
            },
        )
    } else if driver.is_empty() {
        (
            EncryptionVerdict::Unknown,
            "no CSI driver or provisioner recorded".to_string(),
        )
    } else {
        let (v, why) = judge(&driver, &Value::Object(params));
        match &stale {
            Some(s) if !v.is_encrypted() => (v, format!("{s}; {why}")),
            _ => (v, why),
        }
    };
    let (verdict, fix) = grade(rule, encryption);
    // A volume its class did not make: only the cloud knows; say where to look.
    let fix = match (&stale, csi) {
        (Some(_), Some(c))
            if verdict != Verdict::Pass && same_provisioner(&driver, "ebs.csi.aws.com") =>
        {
            format!(
                "ask AWS whether volume {} is encrypted (EC2 console, or `aws ec2 describe-volumes --volume-ids {} --query 'Volumes[].Encrypted'`); if not, restore it onto an encrypted class",
                c.volume_handle, c.volume_handle
            )
        }
        _ => fix.to_string(),
    };
    let message = verdict_message(encryption, &why, verdict);
    DiskRow {
        component: pvc
            .metadata
            .labels
            .as_ref()
            .map(|_| super::pods::component_of(pvc.metadata.labels.as_ref()))
            .unwrap_or_else(|| component_from_claim(&claim)),
        expansion: sc.and_then(|c| c.allow_volume_expansion),
        reclaim_policy: pv
            .and_then(|p| p.spec.as_ref()?.persistent_volume_reclaim_policy.clone())
            .or_else(|| sc.and_then(|c| c.reclaim_policy.clone())),
        claim,
        namespace,
        phase,
        size,
        storage_class,
        volume,
        driver,
        encryption,
        evidence,
        verdict,
        message,
        fix,
        usage: None,
    }
}

/// The claim's size: what it holds once bound, else what it asks for.
fn claim_size(pvc: &PersistentVolumeClaim) -> String {
    pvc.status
        .as_ref()
        .and_then(|s| s.capacity.as_ref()?.get("storage").cloned())
        .or_else(|| {
            pvc.spec
                .as_ref()?
                .resources
                .as_ref()?
                .requests
                .as_ref()?
                .get("storage")
                .cloned()
        })
        .map(|q| q.0)
        .unwrap_or_default()
}

/// What the volume says of itself: its CSI driver, handle and attributes, or that it cannot
/// be seen.
fn volume_evidence(pv: Option<&PersistentVolume>, volume: Option<&str>) -> Option<String> {
    let Some(p) = pv else {
        return volume
            .map(|v| format!("PV {v} is not visible (deleted, or no permission to list volumes)"));
    };
    let name = p.metadata.name.clone().unwrap_or_default();
    Some(match p.spec.as_ref().and_then(|s| s.csi.as_ref()) {
        Some(c) => format!(
            "PV {name}: csi driver {}, volumeHandle {}{}",
            c.driver,
            c.volume_handle,
            c.volume_attributes
                .as_ref()
                .filter(|a| !a.is_empty())
                .map(|a| format!(
                    ", attributes {}",
                    a.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                ))
                .unwrap_or_default()
        ),
        None => format!("PV {name}: no CSI source (in-tree or local volume)"),
    })
}

/// The class's provisioner and parameters.
fn class_evidence(c: &StorageClass) -> String {
    let params = class_params(c);
    format!(
        "StorageClass {}: provisioner {}, parameters {}",
        c.metadata.name.as_deref().unwrap_or_default(),
        c.provisioner,
        if params.is_empty() {
            "(none)".to_string()
        } else {
            params
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        }
    )
}

/// The row's one line: the encryption found, why, and whether the profile asks for it.
fn verdict_message(encryption: EncryptionVerdict, why: &str, verdict: Verdict) -> String {
    let found = match encryption {
        EncryptionVerdict::CustomerKey => format!("encrypted with a customer key — {why}"),
        EncryptionVerdict::Platform => format!("encrypted by the platform — {why}"),
        EncryptionVerdict::ClassParameter => {
            format!("encrypted by the class parameter — {why}")
        }
        EncryptionVerdict::NotEncrypted => format!("not encrypted — {why}"),
        EncryptionVerdict::Unknown => format!("unknown — {why}"),
    };
    if verdict == Verdict::Pass && !encryption.is_encrypted() {
        found + " (the profile does not require encryption)"
    } else {
        found
    }
}

/// `data-posthog-kafka-0` → `kafka`: StatefulSet claims are named template-set-ordinal.
fn component_from_claim(claim: &str) -> String {
    let base = claim.rsplit_once('-').map(|(b, _)| b).unwrap_or(claim);
    base.rsplit('-').next().unwrap_or(base).to_string()
}

/// Attaches each claim's fill, as its samples judge it, to its row.
pub fn attach_usage(rows: &mut [DiskRow], history: &super::fill::History, release: Option<&str>) {
    for r in rows {
        let disk = super::fill::Disk {
            claim: &r.claim,
            namespace: &r.namespace,
            component: &r.component,
            storage_class: &r.storage_class,
            expansion: r.expansion,
        };
        r.usage = history
            .of(&r.namespace, &r.claim)
            .and_then(|s| super::fill::judge(s, disk, release));
    }
}

/// One row per claim in the snapshot, sorted by namespace and name.
pub fn disk_rows(snap: &Snapshot, rule: EncryptionRule) -> Vec<DiskRow> {
    let mut rows: Vec<DiskRow> = snap
        .pvcs
        .iter()
        .map(|c| disk_row(c, &snap.pvs, &snap.storage_classes, rule))
        .collect();
    rows.sort_by(|a, b| (&a.namespace, &a.claim).cmp(&(&b.namespace, &b.claim)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arc<T: serde::de::DeserializeOwned>(v: Value) -> Arc<T> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn case(provisioner: &str, params: Value, rule: EncryptionRule) -> DiskRow {
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data-ph-kafka-0", "namespace": "ph"},
            "spec": {"storageClassName": "sc", "volumeName": "pv-1", "resources": {"requests": {"storage": "20Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}}
        }))
        .unwrap();
        let pv = arc(json!({
            "metadata": {"name": "pv-1", "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
            "spec": {"storageClassName": "sc", "persistentVolumeReclaimPolicy": "Retain",
                     "csi": {"driver": provisioner, "volumeHandle": "vol-1"}}
        }));
        let sc = arc(json!({
            "metadata": {"name": "sc"}, "provisioner": provisioner, "parameters": params,
            "allowVolumeExpansion": true
        }));
        disk_row(&pvc, &[pv], &[sc], rule)
    }

    #[test]
    fn verdicts_follow_the_provider_rules() {
        let r = case(
            "ebs.csi.aws.com",
            json!({"type": "gp3"}),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::Unknown, Verdict::Fail)
        );
        assert!(
            r.message.contains("EBS default encryption"),
            "{}",
            r.message
        );
        assert!(!r.fix.is_empty());
        let r = case(
            "ebs.csi.aws.com",
            json!({"encrypted": "true"}),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::ClassParameter, Verdict::Pass)
        );
        let r = case(
            "ebs.csi.aws.com",
            json!({"encrypted": "true", "kmsKeyId": "arn:k"}),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::CustomerKey);
        let r = case("pd.csi.storage.gke.io", json!({}), EncryptionRule::Platform);
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::Platform, Verdict::Pass)
        );
        let r = case(
            "rancher.io/local-path",
            json!({}),
            EncryptionRule::NotRequired,
        );
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::NotEncrypted, Verdict::Pass)
        );
        assert!(r.message.contains("does not require"));
        assert_eq!(r.component, "kafka");
        assert_eq!(r.evidence.len(), 3);
        assert_eq!(r.reclaim_policy.as_deref(), Some("Retain"));
    }

    fn claim(class: Option<&str>, volume: Option<&str>) -> PersistentVolumeClaim {
        let mut spec = json!({"resources": {"requests": {"storage": "20Gi"}}});
        if let Some(c) = class {
            spec["storageClassName"] = json!(c);
        }
        if let Some(v) = volume {
            spec["volumeName"] = json!(v);
        }
        serde_json::from_value(
            json!({"metadata": {"name": "data-ph-clickhouse-0", "namespace": "ph"},
            "spec": spec, "status": {"phase": if volume.is_some() { "Bound" } else { "Pending" }}}),
        )
        .unwrap()
    }

    fn ebs_class(name: &str, params: Value, created: &str, default: bool) -> Arc<StorageClass> {
        let mut meta = json!({"name": name, "creationTimestamp": created});
        if default {
            meta["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        arc(json!({"metadata": meta, "provisioner": "ebs.csi.aws.com", "parameters": params}))
    }

    fn ebs_volume(class: &str, created: &str) -> Arc<PersistentVolume> {
        arc(
            json!({"metadata": {"name": "pv-1", "creationTimestamp": created,
                                "annotations": {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com"}},
            "spec": {"storageClassName": class,
                     "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}}),
        )
    }

    /// A volume made by hand or restored (no `provisioned-by`) is not vouched for by its
    /// class, nor by an `encrypted` attribute an EBS volume does not record; Azure Disk's own
    /// attributes are evidence; a volume another provisioner made is not the class's.
    #[test]
    fn only_a_volume_its_class_provisioned_is_judged_by_the_class() {
        let class = ebs_class(
            "gp3-enc",
            json!({"encrypted": "true"}),
            "2026-01-01T00:00:00Z",
            false,
        );
        let restored = arc(json!({
            "metadata": {"name": "pv-1", "creationTimestamp": "2026-02-01T00:00:00Z"},
            "spec": {"storageClassName": "gp3-enc",
                     "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1",
                             "volumeAttributes": {"encrypted": "true"}}}
        }));
        let r = disk_row(
            &claim(Some("gp3-enc"), Some("pv-1")),
            &[restored],
            std::slice::from_ref(&class),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::Unknown, "{}", r.message);
        assert!(
            r.message
                .contains("carries no pv.kubernetes.io/provisioned-by"),
            "{}",
            r.message
        );
        let provisioned = ebs_volume("gp3-enc", "2026-02-01T00:00:00Z");
        let r = disk_row(
            &claim(Some("gp3-enc"), Some("pv-1")),
            &[provisioned],
            std::slice::from_ref(&class),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(
            r.encryption,
            EncryptionVerdict::ClassParameter,
            "{}",
            r.message
        );
        let other = arc(json!({
            "metadata": {"name": "pv-1", "creationTimestamp": "2026-02-01T00:00:00Z",
                         "annotations": {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"}},
            "spec": {"storageClassName": "gp3-enc",
                     "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}
        }));
        let r = disk_row(
            &claim(Some("gp3-enc"), Some("pv-1")),
            &[other],
            std::slice::from_ref(&class),
            EncryptionRule::ClassParameter,
        );
        assert!(
            r.message.contains("provisioned by rancher.io/local-path"),
            "{}",
            r.message
        );
        // In-tree classes under CSI migration keep their in-tree name on the volume.
        assert!(same_provisioner("kubernetes.io/aws-ebs", "ebs.csi.aws.com"));
    }

    /// `storageClassName: ""` means no class: the default class (here one that encrypts) is
    /// no evidence for such a claim or its volume.
    #[test]
    fn an_empty_class_name_is_never_judged_by_the_default_class() {
        let default = ebs_class(
            "gp3-enc",
            json!({"encrypted": "true"}),
            "2026-01-01T00:00:00Z",
            true,
        );
        let r = disk_row(
            &claim(Some(""), Some("pv-1")),
            &[ebs_volume("", "2026-02-01T00:00:00Z")],
            std::slice::from_ref(&default),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::Unknown, Verdict::Fail),
            "{}",
            r.message
        );
        let r = disk_row(
            &claim(Some(""), None),
            &[],
            std::slice::from_ref(&default),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::Unknown);
        // A claim naming no class at all gets the default: that one is evidence.
        let r = disk_row(
            &claim(None, None),
            &[],
            &[default],
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::ClassParameter);
    }

    /// A class deleted and re-created with `encrypted: "true"` after the volume was made does
    /// not relabel that volume.
    #[test]
    fn a_class_newer_than_its_volume_is_not_evidence() {
        let class = ebs_class(
            "gp3",
            json!({"encrypted": "true"}),
            "2026-03-01T00:00:00Z",
            false,
        );
        let r = disk_row(
            &claim(Some("gp3"), Some("pv-1")),
            &[ebs_volume("gp3", "2026-02-01T00:00:00Z")],
            std::slice::from_ref(&class),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::Unknown, Verdict::Fail)
        );
        assert!(
            r.message.contains("created after this volume"),
            "{}",
            r.message
        );
        // The same class, older than the volume, is.
        let r = disk_row(
            &claim(Some("gp3"), Some("pv-1")),
            &[ebs_volume("gp3", "2026-04-01T00:00:00Z")],
            &[class],
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::ClassParameter);
    }

    /// The drivers read parameter names without case, and an EBS key alone encrypts.
    #[test]
    fn parameter_names_ignore_case_and_a_kms_key_alone_encrypts() {
        let r = case(
            "ebs.csi.aws.com",
            json!({"Encrypted": "true"}),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::ClassParameter);
        let r = case(
            "ebs.csi.aws.com",
            json!({"kmsKeyId": "arn:aws:kms:k"}),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(
            (r.encryption, r.verdict),
            (EncryptionVerdict::CustomerKey, Verdict::Pass)
        );
        let r = case(
            "disk.csi.azure.com",
            json!({"DiskEncryptionSetID": "/des"}),
            EncryptionRule::Platform,
        );
        assert_eq!(r.encryption, EncryptionVerdict::CustomerKey);
        let r = case(
            "ebs.csi.aws.com",
            json!({"encrypted": "false"}),
            EncryptionRule::ClassParameter,
        );
        assert_eq!(r.encryption, EncryptionVerdict::Unknown);
    }

    #[test]
    fn an_unbound_claim_without_a_class_is_unknown_and_says_why() {
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data-x-0", "namespace": "ph"}, "spec": {}
        }))
        .unwrap();
        let r = disk_row(&pvc, &[], &[], EncryptionRule::ClassParameter);
        assert_eq!(r.encryption, EncryptionVerdict::Unknown);
        assert!(r.message.contains("not bound"), "{}", r.message);
        assert_eq!(r.verdict, Verdict::Fail);
    }
}
