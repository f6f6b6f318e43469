//! Provider flavours: what a fresh managed cluster of each kind comes with, so a profile's
//! preflight and a chart's values meet what they would meet there. Provisioners are those of
//! shared/REFERENCE.md ("Disk encryption by provider"); class names are the providers' own
//! defaults (EKS `gp2`, GKE `standard-rwo`, AKS `managed-csi`, DOKS `do-block-storage`, k3s
//! `local-path`); instance types are each provider's 4 vCPU / 16 GiB machine, the size every
//! simulated node has.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// The simulator's own: an encrypted gp3-style default class.
    #[default]
    Plain,
    Eks,
    Gke,
    Aks,
    Doks,
    K3s,
}

impl std::str::FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "plain" => Flavor::Plain,
            "eks" => Flavor::Eks,
            "gke" => Flavor::Gke,
            "aks" => Flavor::Aks,
            "doks" => Flavor::Doks,
            "k3s" => Flavor::K3s,
            other => {
                return Err(format!(
                    "unknown flavour {other:?}; known: plain, eks, gke, aks, doks, k3s"
                ));
            }
        })
    }
}

fn class(name: &str, provisioner: &str, parameters: Value, expand: bool, wait: bool) -> Value {
    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
           "metadata": {"name": name, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
           "provisioner": provisioner, "parameters": parameters, "reclaimPolicy": "Delete",
           "volumeBindingMode": if wait { "WaitForFirstConsumer" } else { "Immediate" },
           "allowVolumeExpansion": expand})
}

impl Flavor {
    /// The default StorageClass the provider installs (None: the simulator's own).
    pub fn storage_class(self) -> Option<Value> {
        Some(match self {
            Flavor::Plain => return None,
            // Unencrypted unless the account enforces EBS default encryption.
            Flavor::Eks => class(
                "gp2",
                "kubernetes.io/aws-ebs",
                json!({"type": "gp2", "fsType": "ext4"}),
                true,
                true,
            ),
            Flavor::Gke => class(
                "standard-rwo",
                "pd.csi.storage.gke.io",
                json!({"type": "pd-balanced"}),
                true,
                true,
            ),
            Flavor::Aks => class(
                "managed-csi",
                "disk.csi.azure.com",
                json!({"skuname": "StandardSSD_LRS"}),
                true,
                true,
            ),
            Flavor::Doks => class(
                "do-block-storage",
                "dobs.csi.digitalocean.com",
                json!({}),
                true,
                false,
            ),
            Flavor::K3s => class(
                "local-path",
                "rancher.io/local-path",
                json!({}),
                false,
                true,
            ),
        })
    }

    /// Node labels: zone, region and instance type as the provider sets them.
    pub fn node_labels(self, i: usize) -> (String, String, &'static str) {
        let z = ["a", "b", "c"][(i - 1) % 3];
        match self {
            Flavor::Plain => (
                format!("sim-zone-{}", (i - 1) % 3 + 1),
                "sim".into(),
                "sim.xlarge",
            ),
            Flavor::Eks => (format!("us-east-1{z}"), "us-east-1".into(), "m5.xlarge"),
            Flavor::Gke => (
                format!("us-central1-{z}"),
                "us-central1".into(),
                "e2-standard-4",
            ),
            Flavor::Aks => (
                format!("eastus-{}", (i - 1) % 3 + 1),
                "eastus".into(),
                "Standard_D4s_v3",
            ),
            Flavor::Doks => ("nyc1".into(), "nyc1".into(), "g-4vcpu-16gb"),
            Flavor::K3s => ("".into(), "".into(), "k3s"),
        }
    }

    /// The `spec.providerID` the provider's cloud controller sets on node `i`:
    /// `<provider name>://<its id for the machine>`, the name being the cloud provider's own
    /// (cloud-provider-aws `aws`, cloud-provider-gcp `gce`, cloud-provider-azure `azure`,
    /// digitalocean-cloud-controller-manager `digitalocean`, k3s `k3s`). The simulator's own
    /// nodes have none, as nodes without a cloud controller.
    pub fn provider_id(self, i: usize, zone: &str) -> Option<String> {
        Some(match self {
            Flavor::Plain => return None,
            Flavor::Eks => format!("aws:///{zone}/i-0sim{i:012}"),
            Flavor::Gke => format!("gce://sim-project/{zone}/gke-sim-default-pool-{i}"),
            Flavor::Aks => format!(
                "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_sim_sim_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-vmss/virtualMachines/{}",
                i - 1
            ),
            Flavor::Doks => format!("digitalocean://{}", 400_000_000 + i),
            Flavor::K3s => format!("k3s://sim-node-{i}"),
        })
    }

    /// Custom resource definitions the provider installs that charts use (GKE's ingress
    /// configuration kinds), each at the one version charts write: the simulator keeps one
    /// stored version and does not convert between versions.
    pub fn crds(self) -> Vec<Value> {
        let crd = |group: &str, kind: &str, plural: &str, short: &[&str], versions: &[&str]| {
            let vs: Vec<Value> = versions
                .iter()
                .enumerate()
                .map(|(i, v)| json!({"name": v, "served": true, "storage": i == 0,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}))
                .collect();
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": format!("{plural}.{group}")},
                   "spec": {"group": group, "scope": "Namespaced",
                            "names": {"kind": kind, "plural": plural, "singular": kind.to_ascii_lowercase(), "shortNames": short},
                            "versions": vs}})
        };
        match self {
            Flavor::Gke => vec![
                crd(
                    "networking.gke.io",
                    "FrontendConfig",
                    "frontendconfigs",
                    &[],
                    &["v1beta1"],
                ),
                crd(
                    "networking.gke.io",
                    "ManagedCertificate",
                    "managedcertificates",
                    &["mcrt"],
                    &["v1"],
                ),
                crd(
                    "cloud.google.com",
                    "BackendConfig",
                    "backendconfigs",
                    &["bc"],
                    &["v1"],
                ),
            ],
            _ => Vec::new(),
        }
    }
}
