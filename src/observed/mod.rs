//! What helmdeck observed of a cluster, as plain data: the watchers' snapshot, the probe's
//! records and the facts preflight reads. `cluster` fills these in (kube and HTTP I/O);
//! `health` judges them. A leaf: it imports nothing above it, so both can depend on it.

pub mod podview;

use std::sync::Arc;
use std::time::SystemTime;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Service};
use k8s_openapi::api::storage::v1::StorageClass;
use serde::Serialize;
use serde_json::Value;

use podview::PodView;

/// Whether a watcher's view is current.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Connection {
    /// The first list has not finished yet.
    Connecting,
    Live,
    /// The watch broke; the last known state is still shown.
    Reconnecting {
        #[serde(with = "unix_secs")]
        since: SystemTime,
        reason: String,
    },
}

impl Connection {
    /// Worst first when several watchers are combined.
    pub fn rank(&self) -> u8 {
        match self {
            Connection::Live => 0,
            Connection::Connecting => 1,
            Connection::Reconnecting { .. } => 2,
        }
    }

    /// One line for a header: "live", "connecting", "reconnecting for 3s: …".
    pub fn describe(&self, now: SystemTime) -> String {
        match self {
            Connection::Live => "live".into(),
            Connection::Connecting => "connecting".into(),
            Connection::Reconnecting { since, reason } => format!(
                "reconnecting for {}s: {reason}",
                now.duration_since(*since).unwrap_or_default().as_secs()
            ),
        }
    }
}

mod unix_secs {
    use std::time::{SystemTime, UNIX_EPOCH};
    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs())
    }
}

/// Everything the analysers read, taken at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pods: Vec<Arc<PodView>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub pvs: Vec<Arc<PersistentVolume>>,
    pub storage_classes: Vec<Arc<StorageClass>>,
    pub events: Vec<Arc<Event>>,
    pub jobs: Vec<Arc<Job>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub statefulsets: Vec<Arc<StatefulSet>>,
    pub services: Vec<Arc<Service>>,
}

/// A pod's CPU and memory use as metrics-server last measured it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodUsage {
    pub namespace: String,
    pub name: String,
    /// Cores.
    pub cpu: f64,
    /// Bytes.
    pub memory: f64,
}

/// One HTTP exchange's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Exchange {
    pub status: Option<u16>,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// What one probe round saw.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeRecord {
    #[serde(with = "unix_ms")]
    pub at: SystemTime,
    pub via: String,
    pub event: String,
    pub capture: Exchange,
    /// Milliseconds from sending to the event being visible in the events API.
    pub visible_after_ms: Option<u64>,
    /// How long the probe waited for the event.
    pub waited_ms: u64,
    pub polls: u32,
    pub last_query: Option<Exchange>,
    pub endpoints: Vec<EndpointRecord>,
    /// Why the probe could not run at all (no API key, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Why the event's arrival was not looked for after capture accepted it (no personal API
    /// key: the events API answers only with one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_unchecked: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EndpointRecord {
    pub path: String,
    pub exchange: Exchange,
    /// The readiness body's checks that are false.
    pub failing_checks: Vec<String>,
    /// Why this endpoint was not asked (its component cannot be reached this way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
}

mod unix_ms {
    use std::time::{SystemTime, UNIX_EPOCH};
    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64)
    }
}

/// What preflight needs to know about the cluster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterFacts {
    pub server_version: String,
    /// (name, cpu capacity, memory capacity)
    pub nodes: Vec<(String, String, String)>,
    /// Each node's disk as kubelet reports it (`ephemeral-storage` capacity, bytes): where a
    /// node-local provisioner's volumes live.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_disks: Vec<(String, f64)>,
    pub storage_classes: Vec<Value>,
    /// Each schedulable node's free CPU and memory (allocatable less scheduled requests);
    /// None when the pods could not be read.
    pub room: Option<Vec<(String, Amount)>>,
    pub ingress_classes: Vec<String>,
    /// The IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`,
    /// which serves Ingresses that name none.
    pub default_ingress_class: Option<String>,
    /// What helm must do in the release's namespace that the user may not (`create secrets`).
    pub denied: Vec<String>,
    /// The names of the cluster's mutating admission webhooks (`mservice.elbv2.k8s.aws`: the
    /// AWS Load Balancer Controller claims every new Service of type LoadBalancer).
    pub mutating_webhooks: Vec<String>,
}

/// CPU (cores) and memory (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Amount {
    pub cpu: f64,
    pub memory: f64,
}

impl Amount {
    pub fn plus(self, o: Amount) -> Amount {
        Amount {
            cpu: self.cpu + o.cpu,
            memory: self.memory + o.memory,
        }
    }

    pub fn times(self, n: f64) -> Amount {
        Amount {
            cpu: self.cpu * n,
            memory: self.memory * n,
        }
    }

    pub fn max(self, o: Amount) -> Amount {
        Amount {
            cpu: self.cpu.max(o.cpu),
            memory: self.memory.max(o.memory),
        }
    }

    /// Whether `need` fits in this room.
    pub fn holds(self, need: Amount) -> bool {
        need.cpu <= self.cpu + 1e-9 && need.memory <= self.memory + 1.0
    }
}

/// What the public path is made of and how it answered.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicPathRecord {
    /// The stack's hostname (the Ingress's rule).
    pub hostname: String,
    /// The load balancer's address as the Ingress's status shows it (IP or hostname).
    pub address: String,
    /// Where connections went instead (`--connect-to`), if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_to: Option<String>,
    /// The ingress controller's load balancer Service (`namespace/name`) and its annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
    pub annotations: std::collections::BTreeMap<String, String>,
    /// The Service's `spec.loadBalancerClass` (`service.k8s.aws/nlb`: the AWS Load Balancer
    /// Controller's), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// The controller's `use-proxy-protocol`, when its ConfigMap was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nginx_use_proxy_protocol: Option<bool>,
    /// `GET /_livez` through the ingress (routed to web).
    pub health: Exchange,
    /// `POST /e/` through the ingress (routed to events).
    pub capture: Exchange,
}

/// What a load run saw.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LoadRecord {
    /// Where the events went (the public URL, or the API server's proxy).
    pub via: String,
    /// The event name every event of this run carries, unique to it.
    pub event: String,
    pub users: usize,
    pub seconds: u64,
    pub sent: usize,
    pub accepted: usize,
    /// The first refusal or error, as the client saw it.
    pub first_failure: Option<String>,
    /// Every request's latency, sorted.
    pub latencies_ms: Vec<u64>,
    /// How many accepted events the events API shows (None: it was not asked).
    pub visible: Option<usize>,
    /// From the last event sent until the last one showed up.
    pub visible_after_ms: Option<u64>,
    /// How long the events API was asked.
    pub waited_ms: u64,
    /// Why arrival was not checked.
    pub unchecked: Option<String>,
}
