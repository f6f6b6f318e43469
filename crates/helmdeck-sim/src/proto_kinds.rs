//! Protobuf schemas of the kinds kubectl's create generators, `auth` and `autoscale` send
//! (Jobs, CronJobs, Services, ServiceAccounts, RBAC, Ingresses, PodDisruptionBudgets,
//! PriorityClasses, ResourceQuotas, HorizontalPodAutoscalers and the self reviews). Field
//! numbers and JSON names are those of the `generated.proto` files of k8s.io/api (batch/v1,
//! core/v1, rbac/v1, networking/v1, policy/v1, scheduling/v1, authorization/v1,
//! authentication/v1, autoscaling/v1 and v2).

use super::proto_schema::{LABEL_SELECTOR, LOCAL_OBJECT_REF, M, OBJECT_META, POD_TEMPLATE, T};
use super::proto_schema::{f, ptr, rep};

/// The top-level message of one of these kinds.
pub(crate) fn top_level(api_version: &str, kind: &str) -> Option<&'static M> {
    Some(match kind {
        "HorizontalPodAutoscaler" if api_version == "autoscaling/v1" => &HPA_V1,
        "Job" => &JOB,
        "CronJob" => &CRON_JOB,
        "Service" => &SERVICE,
        "ServiceAccount" => &SERVICE_ACCOUNT,
        "Role" => &ROLE,
        "ClusterRole" => &CLUSTER_ROLE,
        "RoleBinding" => &ROLE_BINDING,
        "ClusterRoleBinding" => &CLUSTER_ROLE_BINDING,
        "Ingress" => &INGRESS,
        "PodDisruptionBudget" => &PDB,
        "PriorityClass" => &PRIORITY_CLASS,
        "ResourceQuota" => &RESOURCE_QUOTA,
        "HorizontalPodAutoscaler" => &HPA,
        "SelfSubjectRulesReview" => &RULES_REVIEW,
        "SelfSubjectReview" => &SELF_REVIEW,
        "TokenRequest" => &TOKEN_REQUEST,
        _ => return None,
    })
}

static JOB_SPEC: M = M {
    name: "JobSpec",
    fields: &[
        ptr(1, "parallelism", T::Int),
        ptr(2, "completions", T::Int),
        ptr(3, "activeDeadlineSeconds", T::Int),
        ptr(4, "selector", T::Msg(&LABEL_SELECTOR)),
        ptr(5, "manualSelector", T::Bool),
        f(6, "template", T::Msg(&POD_TEMPLATE)),
        ptr(7, "backoffLimit", T::Int),
        ptr(8, "ttlSecondsAfterFinished", T::Int),
        ptr(9, "completionMode", T::Str),
        ptr(10, "suspend", T::Bool),
        ptr(12, "backoffLimitPerIndex", T::Int),
        ptr(13, "maxFailedIndexes", T::Int),
        ptr(14, "podReplacementPolicy", T::Str),
        ptr(15, "managedBy", T::Str),
    ],
};

static JOB: M = M {
    name: "Job",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&JOB_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static JOB_TEMPLATE: M = M {
    name: "JobTemplateSpec",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&JOB_SPEC)),
    ],
};

static CRON_JOB_SPEC: M = M {
    name: "CronJobSpec",
    fields: &[
        f(1, "schedule", T::Str),
        ptr(2, "startingDeadlineSeconds", T::Int),
        f(3, "concurrencyPolicy", T::Str),
        ptr(4, "suspend", T::Bool),
        f(5, "jobTemplate", T::Msg(&JOB_TEMPLATE)),
        ptr(6, "successfulJobsHistoryLimit", T::Int),
        ptr(7, "failedJobsHistoryLimit", T::Int),
        ptr(8, "timeZone", T::Str),
    ],
};

static CRON_JOB: M = M {
    name: "CronJob",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&CRON_JOB_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static INT_OR_STRING_PORT: M = M {
    name: "ServicePort",
    fields: &[
        f(1, "name", T::Str),
        f(2, "protocol", T::Str),
        f(3, "port", T::Int),
        f(4, "targetPort", T::IntOrString),
        f(5, "nodePort", T::Int),
        ptr(6, "appProtocol", T::Str),
    ],
};

static SERVICE_SPEC: M = M {
    name: "ServiceSpec",
    fields: &[
        rep(1, "ports", T::Msg(&INT_OR_STRING_PORT)),
        f(2, "selector", T::MapStr),
        f(3, "clusterIP", T::Str),
        f(4, "type", T::Str),
        rep(5, "externalIPs", T::Str),
        f(7, "sessionAffinity", T::Str),
        f(8, "loadBalancerIP", T::Str),
        rep(9, "loadBalancerSourceRanges", T::Str),
        f(10, "externalName", T::Str),
        f(11, "externalTrafficPolicy", T::Str),
        f(12, "healthCheckNodePort", T::Int),
        f(13, "publishNotReadyAddresses", T::Bool),
        ptr(17, "ipFamilyPolicy", T::Str),
        rep(18, "clusterIPs", T::Str),
        rep(19, "ipFamilies", T::Str),
        ptr(20, "allocateLoadBalancerNodePorts", T::Bool),
        ptr(21, "loadBalancerClass", T::Str),
        ptr(22, "internalTrafficPolicy", T::Str),
        ptr(23, "trafficDistribution", T::Str),
    ],
};

static SERVICE: M = M {
    name: "Service",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&SERVICE_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static OBJECT_REF: M = M {
    name: "ObjectReference",
    fields: &[
        f(1, "kind", T::Str),
        f(2, "namespace", T::Str),
        f(3, "name", T::Str),
        f(4, "uid", T::Str),
        f(5, "apiVersion", T::Str),
        f(6, "resourceVersion", T::Str),
        f(7, "fieldPath", T::Str),
    ],
};

static SERVICE_ACCOUNT: M = M {
    name: "ServiceAccount",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        rep(2, "secrets", T::Msg(&OBJECT_REF)),
        rep(3, "imagePullSecrets", T::Msg(&LOCAL_OBJECT_REF)),
        ptr(4, "automountServiceAccountToken", T::Bool),
    ],
};

static POLICY_RULE: M = M {
    name: "PolicyRule",
    fields: &[
        rep(1, "verbs", T::Str),
        rep(2, "apiGroups", T::Str),
        rep(3, "resources", T::Str),
        rep(4, "resourceNames", T::Str),
        rep(5, "nonResourceURLs", T::Str),
    ],
};

static AGGREGATION_RULE: M = M {
    name: "AggregationRule",
    fields: &[rep(1, "clusterRoleSelectors", T::Msg(&LABEL_SELECTOR))],
};

static ROLE: M = M {
    name: "Role",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        rep(2, "rules", T::Msg(&POLICY_RULE)),
    ],
};

static CLUSTER_ROLE: M = M {
    name: "ClusterRole",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        rep(2, "rules", T::Msg(&POLICY_RULE)),
        ptr(3, "aggregationRule", T::Msg(&AGGREGATION_RULE)),
    ],
};

static SUBJECT: M = M {
    name: "Subject",
    fields: &[
        f(1, "kind", T::Str),
        f(2, "apiGroup", T::Str),
        f(3, "name", T::Str),
        f(4, "namespace", T::Str),
    ],
};

static ROLE_REF: M = M {
    name: "RoleRef",
    fields: &[
        f(1, "apiGroup", T::Str),
        f(2, "kind", T::Str),
        f(3, "name", T::Str),
    ],
};

static ROLE_BINDING: M = M {
    name: "RoleBinding",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        rep(2, "subjects", T::Msg(&SUBJECT)),
        f(3, "roleRef", T::Msg(&ROLE_REF)),
    ],
};

static CLUSTER_ROLE_BINDING: M = M {
    name: "ClusterRoleBinding",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        rep(2, "subjects", T::Msg(&SUBJECT)),
        f(3, "roleRef", T::Msg(&ROLE_REF)),
    ],
};

static BACKEND_PORT: M = M {
    name: "ServiceBackendPort",
    fields: &[f(1, "name", T::Str), f(2, "number", T::Int)],
};

static SERVICE_BACKEND: M = M {
    name: "IngressServiceBackend",
    fields: &[f(1, "name", T::Str), f(2, "port", T::Msg(&BACKEND_PORT))],
};

static TYPED_LOCAL_REF: M = M {
    name: "TypedLocalObjectReference",
    fields: &[
        ptr(1, "apiGroup", T::Str),
        f(2, "kind", T::Str),
        f(3, "name", T::Str),
    ],
};

static INGRESS_BACKEND: M = M {
    name: "IngressBackend",
    fields: &[
        ptr(3, "resource", T::Msg(&TYPED_LOCAL_REF)),
        ptr(4, "service", T::Msg(&SERVICE_BACKEND)),
    ],
};

static HTTP_PATH: M = M {
    name: "HTTPIngressPath",
    fields: &[
        f(1, "path", T::Str),
        f(2, "backend", T::Msg(&INGRESS_BACKEND)),
        ptr(3, "pathType", T::Str),
    ],
};

static HTTP_RULE: M = M {
    name: "HTTPIngressRuleValue",
    fields: &[rep(1, "paths", T::Msg(&HTTP_PATH))],
};

static RULE_VALUE: M = M {
    name: "IngressRuleValue",
    fields: &[ptr(1, "http", T::Msg(&HTTP_RULE))],
};

static INGRESS_RULE: M = M {
    name: "IngressRule",
    fields: &[f(1, "host", T::Str), f(2, "", T::Inline(&RULE_VALUE))],
};

static INGRESS_TLS: M = M {
    name: "IngressTLS",
    fields: &[rep(1, "hosts", T::Str), f(2, "secretName", T::Str)],
};

static INGRESS_SPEC: M = M {
    name: "IngressSpec",
    fields: &[
        ptr(1, "defaultBackend", T::Msg(&INGRESS_BACKEND)),
        rep(2, "tls", T::Msg(&INGRESS_TLS)),
        rep(3, "rules", T::Msg(&INGRESS_RULE)),
        ptr(4, "ingressClassName", T::Str),
    ],
};

static INGRESS: M = M {
    name: "Ingress",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&INGRESS_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static PDB_SPEC: M = M {
    name: "PodDisruptionBudgetSpec",
    fields: &[
        ptr(1, "minAvailable", T::IntOrString),
        ptr(2, "selector", T::Msg(&LABEL_SELECTOR)),
        ptr(3, "maxUnavailable", T::IntOrString),
        ptr(4, "unhealthyPodEvictionPolicy", T::Str),
    ],
};

static PDB: M = M {
    name: "PodDisruptionBudget",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&PDB_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static PRIORITY_CLASS: M = M {
    name: "PriorityClass",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        ptr(2, "value", T::Int),
        f(3, "globalDefault", T::Bool),
        f(4, "description", T::Str),
        ptr(5, "preemptionPolicy", T::Str),
    ],
};

static SCOPED_REQUIREMENT: M = M {
    name: "ScopedResourceSelectorRequirement",
    fields: &[
        f(1, "scopeName", T::Str),
        f(2, "operator", T::Str),
        rep(3, "values", T::Str),
    ],
};

static SCOPE_SELECTOR: M = M {
    name: "ScopeSelector",
    fields: &[rep(1, "matchExpressions", T::Msg(&SCOPED_REQUIREMENT))],
};

static QUOTA_SPEC: M = M {
    name: "ResourceQuotaSpec",
    fields: &[
        f(1, "hard", T::MapQuantity),
        rep(2, "scopes", T::Str),
        ptr(3, "scopeSelector", T::Msg(&SCOPE_SELECTOR)),
    ],
};

static RESOURCE_QUOTA: M = M {
    name: "ResourceQuota",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&QUOTA_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static SCALE_TARGET: M = M {
    name: "CrossVersionObjectReference",
    fields: &[
        f(1, "kind", T::Str),
        f(2, "name", T::Str),
        f(3, "apiVersion", T::Str),
    ],
};

static METRIC_TARGET: M = M {
    name: "MetricTarget",
    fields: &[
        f(1, "type", T::Str),
        ptr(2, "value", T::Quantity),
        ptr(3, "averageValue", T::Quantity),
        ptr(4, "averageUtilization", T::Int),
    ],
};

static RESOURCE_METRIC: M = M {
    name: "ResourceMetricSource",
    fields: &[f(1, "name", T::Str), f(2, "target", T::Msg(&METRIC_TARGET))],
};

static METRIC_SPEC: M = M {
    name: "MetricSpec",
    fields: &[
        f(1, "type", T::Str),
        ptr(4, "resource", T::Msg(&RESOURCE_METRIC)),
    ],
};

/// `autoscaling/v2`: field 4 is `metrics` (in v1 it is `targetCPUUtilizationPercentage`).
static HPA_SPEC: M = M {
    name: "HorizontalPodAutoscalerSpec",
    fields: &[
        f(1, "scaleTargetRef", T::Msg(&SCALE_TARGET)),
        ptr(2, "minReplicas", T::Int),
        f(3, "maxReplicas", T::Int),
        rep(4, "metrics", T::Msg(&METRIC_SPEC)),
    ],
};

static HPA: M = M {
    name: "HorizontalPodAutoscaler",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&HPA_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static HPA_V1_SPEC: M = M {
    name: "HorizontalPodAutoscalerSpec",
    fields: &[
        f(1, "scaleTargetRef", T::Msg(&SCALE_TARGET)),
        ptr(2, "minReplicas", T::Int),
        f(3, "maxReplicas", T::Int),
        ptr(4, "targetCPUUtilizationPercentage", T::Int),
    ],
};

static HPA_V1: M = M {
    name: "HorizontalPodAutoscaler",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&HPA_V1_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static RULES_REVIEW_SPEC: M = M {
    name: "SelfSubjectRulesReviewSpec",
    fields: &[f(1, "namespace", T::Str)],
};

static RULES_REVIEW: M = M {
    name: "SelfSubjectRulesReview",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&RULES_REVIEW_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static SELF_REVIEW: M = M {
    name: "SelfSubjectReview",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "status", T::Ignore),
    ],
};

static BOUND_REF: M = M {
    name: "BoundObjectReference",
    fields: &[
        f(1, "kind", T::Str),
        f(2, "apiVersion", T::Str),
        f(3, "name", T::Str),
        f(4, "uid", T::Str),
    ],
};

static TOKEN_REQUEST_SPEC: M = M {
    name: "TokenRequestSpec",
    fields: &[
        rep(1, "audiences", T::Str),
        ptr(3, "boundObjectRef", T::Msg(&BOUND_REF)),
        ptr(4, "expirationSeconds", T::Int),
    ],
};

static TOKEN_REQUEST: M = M {
    name: "TokenRequest",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&TOKEN_REQUEST_SPEC)),
        f(3, "status", T::Ignore),
    ],
};
