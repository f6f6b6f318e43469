//! Disk encryption rules per provider (shared/REFERENCE.md), judged from a StorageClass's
//! provisioner and parameters — the one place these rules live.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionVerdict {
    CustomerKey,
    Platform,
    ClassParameter,
    NotEncrypted,
    Unknown,
}

/// The verdict and the evidence that supports it.
///
/// Parameter names are compared without case, as the CSI drivers read them (aws-ebs-csi-driver
/// `pkg/driver/controller.go`, `switch strings.ToLower(key)`); values as given (`"true"`).
pub fn judge(provisioner: &str, params: &Value) -> (EncryptionVerdict, String) {
    let p = |k: &str| {
        params
            .as_object()
            .and_then(|m| {
                m.iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v)
            })
            .and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| Some(v.to_string()))
            })
            .filter(|s| !s.is_empty() && s != "null")
    };
    match provisioner {
        "ebs.csi.aws.com" | "kubernetes.io/aws-ebs" => {
            match (p("encrypted").as_deref(), p("kmsKeyId")) {
                (Some("true"), Some(k)) => (
                    EncryptionVerdict::CustomerKey,
                    format!("{provisioner}: encrypted=\"true\", kmsKeyId={k}"),
                ),
                (Some("true"), None) => (
                    EncryptionVerdict::ClassParameter,
                    format!("{provisioner}: encrypted=\"true\""),
                ),
                // A key alone encrypts: the driver sets Encrypted whenever KmsKeyId is given
                // (aws-ebs-csi-driver `pkg/cloud/cloud.go`, CreateDisk).
                (_, Some(k)) => (
                    EncryptionVerdict::CustomerKey,
                    format!("{provisioner}: kmsKeyId={k} (the driver encrypts with that key)"),
                ),
                _ => (
                    EncryptionVerdict::Unknown,
                    format!(
                        "{provisioner} without encrypted=\"true\": encrypted only if the account enforces EBS default encryption, which Kubernetes cannot see"
                    ),
                ),
            }
        }
        "pd.csi.storage.gke.io" | "kubernetes.io/gce-pd" => match p("disk-encryption-kms-key") {
            Some(k) => (
                EncryptionVerdict::CustomerKey,
                format!("{provisioner}: disk-encryption-kms-key={k}"),
            ),
            None => (
                EncryptionVerdict::Platform,
                format!(
                    "{provisioner}: GCP encrypts persistent disks at rest with Google-managed keys"
                ),
            ),
        },
        "disk.csi.azure.com" | "kubernetes.io/azure-disk" => match p("diskEncryptionSetID") {
            Some(k) => (
                EncryptionVerdict::CustomerKey,
                format!("{provisioner}: diskEncryptionSetID={k}"),
            ),
            None => (
                EncryptionVerdict::Platform,
                format!("{provisioner}: Azure encrypts managed disks at rest with platform keys"),
            ),
        },
        "dobs.csi.digitalocean.com" => (
            EncryptionVerdict::Platform,
            format!("{provisioner}: DigitalOcean volumes are encrypted at rest"),
        ),
        "rancher.io/local-path"
        | "kubernetes.io/host-path"
        | "kubernetes.io/no-provisioner"
        | "k8s.io/minikube-hostpath"
        | "helmdeck.dev/sim" => (
            EncryptionVerdict::NotEncrypted,
            format!("{provisioner}: node-local storage is not encrypted by the platform"),
        ),
        other => (
            EncryptionVerdict::Unknown,
            format!("{other}: helmdeck has no encryption rule for this provisioner"),
        ),
    }
}

impl EncryptionVerdict {
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            EncryptionVerdict::CustomerKey
                | EncryptionVerdict::Platform
                | EncryptionVerdict::ClassParameter
        )
    }
}

/// How a profile's encryption rule judges a verdict, with the fix when it is not a pass —
/// the one place preflight and the disk pane take it from.
pub fn grade(
    rule: crate::profile::EncryptionRule,
    verdict: EncryptionVerdict,
) -> (crate::verdict::Verdict, &'static str) {
    use crate::profile::EncryptionRule;
    use crate::verdict::Verdict;
    match rule {
        _ if verdict.is_encrypted() => (Verdict::Pass, ""),
        EncryptionRule::ClassParameter => (
            Verdict::Fail,
            "use an encrypted class (ebs.csi.aws.com, encrypted: \"true\"), as the aws profile's posthog-gp3-encrypted",
        ),
        EncryptionRule::Platform => (
            Verdict::Warn,
            "use the provider's CSI driver, whose volumes are encrypted at rest",
        ),
        EncryptionRule::NotRequired => (Verdict::Pass, ""),
    }
}
