//! The resource types the simulated API server serves, as discovery describes them.

use serde_json::{Value, json};

/// One served resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub subresources: Vec<&'static str>,
    /// Discovery categories (`all` is what `kubectl get all` lists).
    pub categories: Vec<String>,
    /// Create-only reviews (access, token): answered, never stored.
    pub review: bool,
    /// Read-only and computed on each request, never stored (`metrics.k8s.io`).
    pub computed: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_version(&self) -> String {
        self.api_version()
    }

    /// Path prefix: `/api/v1` or `/apis/G/V`.
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    pub fn discovery(&self) -> Vec<Value> {
        let verbs = [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        let verbs: &[&str] = match (self.review, self.computed) {
            (true, _) => &["create"],
            (_, true) => &["get", "list"],
            _ => &verbs,
        };
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
            "shortNames": self.short_names,
            "storageVersionHash": format!("{:x}", fxhash(&self.plural)),
        });
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        let mut out = vec![main];
        for sub in &self.subresources {
            let (kind, verbs): (&str, Vec<&str>) = match *sub {
                "status" => (self.kind.as_str(), vec!["get", "patch", "update"]),
                "scale" => ("Scale", vec!["get", "patch", "update"]),
                "log" => ("Pod", vec!["get"]),
                "proxy" => (
                    "ServiceProxyOptions",
                    vec!["create", "delete", "get", "patch", "update"],
                ),
                "eviction" => ("Eviction", vec!["create"]),
                _ => (self.kind.as_str(), vec!["get"]),
            };
            out.push(json!({
                "name": format!("{}/{}", self.plural, sub),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": kind,
                "verbs": verbs,
            }));
        }
        out
    }
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn rt(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    short: &[&str],
    subs: &[&'static str],
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_ascii_lowercase(),
        namespaced,
        short_names: short.iter().map(|s| (*s).to_string()).collect(),
        subresources: subs.to_vec(),
        categories: if ALL_CATEGORY.contains(&kind) {
            vec!["all".to_string()]
        } else {
            Vec::new()
        },
        review: false,
        computed: false,
    }
}

/// The kinds a real server puts in the `all` category.
const ALL_CATEGORY: [&str; 10] = [
    "Pod",
    "Service",
    "ReplicationController",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
];

/// A create-only review type (`kubectl auth can-i`, token reviews).
fn review(group: &str, kind: &str, plural: &str, namespaced: bool) -> ResourceType {
    ResourceType {
        review: true,
        ..rt(group, "v1", kind, plural, namespaced, &[], &[])
    }
}

/// Every kind the simulated API server serves, in discovery order.
pub fn builtin() -> Vec<ResourceType> {
    let mut all = core_types();
    all.extend(workload_types());
    all.extend(access_types());
    all.extend(extension_types());
    all.extend(machinery_types());
    all.extend(metrics_types());
    all
}

/// metrics-server's kinds (an aggregated API on a real cluster: served only where
/// metrics-server runs, see `served_types`).
fn metrics_types() -> Vec<ResourceType> {
    let computed = |kind: &str, plural: &str, namespaced: bool| ResourceType {
        computed: true,
        ..rt(
            crate::metrics::GROUP,
            "v1beta1",
            kind,
            plural,
            namespaced,
            &[],
            &[],
        )
    };
    vec![
        computed("NodeMetrics", "nodes", false),
        computed("PodMetrics", "pods", true),
    ]
}

/// The core group's kinds (`/api/v1`).
fn core_types() -> Vec<ResourceType> {
    vec![
        rt(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &["ns"],
            &["status", "finalize"],
        ),
        rt(
            "",
            "v1",
            "Node",
            "nodes",
            false,
            &["no"],
            &["status", "proxy"],
        ),
        rt(
            "",
            "v1",
            "Pod",
            "pods",
            true,
            &["po"],
            &[
                "status",
                "log",
                "eviction",
                "proxy",
                "exec",
                "attach",
                "portforward",
                "ephemeralcontainers",
            ],
        ),
        rt(
            "",
            "v1",
            "Service",
            "services",
            true,
            &["svc"],
            &["status", "proxy"],
        ),
        rt("", "v1", "Endpoints", "endpoints", true, &["ep"], &[]),
        rt("", "v1", "ConfigMap", "configmaps", true, &["cm"], &[]),
        rt("", "v1", "Secret", "secrets", true, &[], &[]),
        rt(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            &["token"],
        ),
        rt(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            &["pvc"],
            &["status"],
        ),
        rt(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            false,
            &["pv"],
            &["status"],
        ),
        rt("", "v1", "Event", "events", true, &["ev"], &[]),
        rt(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            true,
            &["rc"],
            &["status", "scale"],
        ),
        rt(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            true,
            &["quota"],
            &["status"],
        ),
        rt(
            "",
            "v1",
            "LimitRange",
            "limitranges",
            true,
            &["limits"],
            &[],
        ),
    ]
}

/// Workloads and what scales and protects them: apps, batch, networking, storage, policy,
/// autoscaling.
fn workload_types() -> Vec<ResourceType> {
    vec![
        rt(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["deploy"],
            &["status", "scale"],
        ),
        rt(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            &["rs"],
            &["status", "scale"],
        ),
        rt(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            &["sts"],
            &["status", "scale"],
        ),
        rt(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            true,
            &["ds"],
            &["status"],
        ),
        rt(
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            true,
            &[],
            &[],
        ),
        rt("batch", "v1", "Job", "jobs", true, &[], &["status"]),
        rt(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            true,
            &["cj"],
            &["status"],
        ),
        rt(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            &["ing"],
            &["status"],
        ),
        rt(
            "networking.k8s.io",
            "v1",
            "IngressClass",
            "ingressclasses",
            false,
            &[],
            &[],
        ),
        rt(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
            &["netpol"],
            &[],
        ),
        rt(
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            false,
            &["sc"],
            &[],
        ),
        rt(
            "storage.k8s.io",
            "v1",
            "CSIDriver",
            "csidrivers",
            false,
            &[],
            &[],
        ),
        rt(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            &["pdb"],
            &["status"],
        ),
        rt(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
            &["hpa"],
            &["status"],
        ),
        rt(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
            &["hpa"],
            &["status"],
        ),
    ]
}

/// Access control, coordination and discovery.
fn access_types() -> Vec<ResourceType> {
    vec![
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            &[],
        ),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            &[],
        ),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            &[],
        ),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            &[],
        ),
        rt(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            &[],
        ),
        rt(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
            &[],
            &[],
        ),
    ]
}

/// Custom resources, admission webhooks and API services.
fn extension_types() -> Vec<ResourceType> {
    vec![
        rt(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            &["status"],
        ),
        // The other GA groups of Kubernetes 1.33, as its discovery lists them.
        rt(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            false,
            &[],
            &[],
        ),
        rt(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            false,
            &[],
            &[],
        ),
        rt(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            "validatingadmissionpolicies",
            false,
            &[],
            &["status"],
        ),
        rt(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
            false,
            &[],
            &[],
        ),
        rt(
            "apiregistration.k8s.io",
            "v1",
            "APIService",
            "apiservices",
            false,
            &[],
            &["status"],
        ),
    ]
}

/// The reviews, certificates, scheduling, flow control and storage capacity kinds.
fn machinery_types() -> Vec<ResourceType> {
    vec![
        review(
            "authorization.k8s.io",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            false,
        ),
        review(
            "authorization.k8s.io",
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            false,
        ),
        review(
            "authorization.k8s.io",
            "SubjectAccessReview",
            "subjectaccessreviews",
            false,
        ),
        review(
            "authorization.k8s.io",
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            true,
        ),
        review(
            "authentication.k8s.io",
            "TokenReview",
            "tokenreviews",
            false,
        ),
        review(
            "authentication.k8s.io",
            "SelfSubjectReview",
            "selfsubjectreviews",
            false,
        ),
        rt(
            "certificates.k8s.io",
            "v1",
            "CertificateSigningRequest",
            "certificatesigningrequests",
            false,
            &["csr"],
            &["status", "approval"],
        ),
        rt("events.k8s.io", "v1", "Event", "events", true, &["ev"], &[]),
        rt(
            "node.k8s.io",
            "v1",
            "RuntimeClass",
            "runtimeclasses",
            false,
            &[],
            &[],
        ),
        rt(
            "scheduling.k8s.io",
            "v1",
            "PriorityClass",
            "priorityclasses",
            false,
            &["pc"],
            &[],
        ),
        rt(
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "FlowSchema",
            "flowschemas",
            false,
            &[],
            &["status"],
        ),
        rt(
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "PriorityLevelConfiguration",
            "prioritylevelconfigurations",
            false,
            &[],
            &["status"],
        ),
        rt(
            "storage.k8s.io",
            "v1",
            "CSINode",
            "csinodes",
            false,
            &[],
            &[],
        ),
        rt(
            "storage.k8s.io",
            "v1",
            "VolumeAttachment",
            "volumeattachments",
            false,
            &[],
            &["status"],
        ),
        rt(
            "storage.k8s.io",
            "v1",
            "CSIStorageCapacity",
            "csistoragecapacities",
            true,
            &[],
            &[],
        ),
        rt("", "v1", "PodTemplate", "podtemplates", true, &[], &[]),
    ]
}

/// A built-in kind at another (older) version of its group, sharing the GA version's storage;
/// PodSecurityPolicy, which never went GA, is its own type.
pub fn at_version(group: &str, version: &str, kind: &str, plural: &str) -> ResourceType {
    builtin()
        .into_iter()
        .find(|t| t.group == group && t.kind == kind)
        .map(|t| ResourceType {
            version: version.into(),
            ..t
        })
        .unwrap_or_else(|| rt(group, version, kind, plural, false, &["psp"], &[]))
}

/// Resource types a CustomResourceDefinition declares (one per served version).
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let kind = names["kind"].as_str().unwrap_or_default();
    let plural = names["plural"].as_str().unwrap_or_default();
    let singular = names["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let short: Vec<String> = names["shortNames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    spec["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .filter(|v| v["served"].as_bool().unwrap_or(true))
                .map(|v| ResourceType {
                    group: group.into(),
                    version: v["name"].as_str().unwrap_or("v1").into(),
                    kind: kind.into(),
                    plural: plural.into(),
                    singular: singular.clone(),
                    namespaced,
                    short_names: short.clone(),
                    subresources: if v["subresources"]["status"].is_object() {
                        vec!["status"]
                    } else {
                        vec![]
                    },
                    categories: names["categories"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    review: false,
                    computed: false,
                })
                .collect()
        })
        .unwrap_or_default()
}
