//! The part of a Pod the panes read. k8s-openapi's `Pod` is ~7 KB in memory per pod whatever
//! it holds; this view is a fraction of that, which is what keeps a 10,000-pod namespace
//! under 100 MB. Everything not named here is skipped while decoding.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::ContainerStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PodView {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodViewSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodViewStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodViewSpec {
    #[serde(default)]
    pub containers: Vec<ContainerName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The claims its volumes mount; the rest of a volume is not read. The x-ray follows a
    /// pod to its disks through these.
    #[serde(
        default,
        rename = "volumes",
        deserialize_with = "claims::read",
        serialize_with = "claims::write",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub claims: Vec<String>,
}

/// `spec.volumes`, as the names of the claims among them.
mod claims {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize, Serialize)]
    struct Volume {
        #[serde(rename = "persistentVolumeClaim", default)]
        claim: Option<Claim>,
    }

    #[derive(Deserialize, Serialize)]
    struct Claim {
        #[serde(rename = "claimName", default)]
        name: String,
    }

    pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let volumes = Option::<Vec<Volume>>::deserialize(d)?.unwrap_or_default();
        Ok(volumes
            .into_iter()
            .filter_map(|v| v.claim.map(|c| c.name))
            .collect())
    }

    pub fn write<S: Serializer>(names: &[String], s: S) -> Result<S::Ok, S::Error> {
        names
            .iter()
            .map(|n| Volume {
                claim: Some(Claim { name: n.clone() }),
            })
            .collect::<Vec<_>>()
            .serialize(s)
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ContainerName {
    #[serde(default)]
    pub name: String,
    /// Its CPU and memory requests and limits: what the pods pane's usage is a share of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Amounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Amounts>,
}

/// CPU and memory only; other resources are not read.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Amounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// What a pod's containers ask for and may use: (CPU cores, memory bytes), each summed over
/// the containers that set it, None when none does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Sized {
    pub cpu_request: Option<f64>,
    pub cpu_limit: Option<f64>,
    pub memory_request: Option<f64>,
    pub memory_limit: Option<f64>,
}

impl PodView {
    pub fn sized(&self) -> Sized {
        let containers = self.spec.iter().flat_map(|s| s.containers.iter());
        let sum = |pick: &dyn Fn(&Resources) -> Option<f64>| {
            containers
                .clone()
                .filter_map(|c| c.resources.as_ref().and_then(pick))
                .reduce(|a, b| a + b)
        };
        let cpu = |a: &Option<Amounts>| {
            a.as_ref()?
                .cpu
                .as_deref()
                .and_then(crate::quantity::parse_cpu)
        };
        let mem = |a: &Option<Amounts>| {
            a.as_ref()?
                .memory
                .as_deref()
                .and_then(crate::quantity::parse_bytes)
        };
        Sized {
            cpu_request: sum(&|r| cpu(&r.requests)),
            cpu_limit: sum(&|r| cpu(&r.limits)),
            memory_request: sum(&|r| mem(&r.requests)),
            memory_limit: sum(&|r| mem(&r.limits)),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodViewStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PodViewCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PodViewCondition {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl kube::Resource for PodView {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Pod".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
