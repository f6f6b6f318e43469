//! Protobuf bodies of the built-in kinds `kubectl create` sends (namespaces, deployments,
//! access reviews), decoded by field number into the JSON the store keeps. Field numbers are
//! those of Kubernetes' `generated.proto` files (k8s.io/api core/v1, apps/v1,
//! authorization/v1; k8s.io/apimachinery meta/v1, intstr, resource). A field this table does
//! not know is refused with its number, never dropped.

use serde_json::{Map, Value, json};

use super::proto::{Field, Reader, text};

/// How one field is read. Scalars that are zero are dropped unless the Go field is a pointer
/// (`ptr`): gogo-protobuf writes non-pointer fields even when unset, and unset is what the
/// server's defaulting must see.
#[derive(Clone, Copy)]
pub(crate) enum T {
    Str,
    Int,
    Bool,
    Msg(&'static M),
    MapStr,
    MapQuantity,
    IntOrString,
    Time,
    /// A `resource.Quantity` on its own.
    Quantity,
    /// A message whose fields JSON writes into the parent (`IngressRule`'s `http`).
    Inline(&'static M),
    /// Read and thrown away (a status the server resets anyway).
    Ignore,
}

pub(crate) struct F {
    pub(crate) n: u64,
    name: &'static str,
    t: T,
    repeated: bool,
    ptr: bool,
}

pub(crate) struct M {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [F],
}

pub(crate) const fn f(n: u64, name: &'static str, t: T) -> F {
    F {
        n,
        name,
        t,
        repeated: false,
        ptr: false,
    }
}
pub(crate) const fn rep(n: u64, name: &'static str, t: T) -> F {
    F {
        n,
        name,
        t,
        repeated: true,
        ptr: false,
    }
}
pub(crate) const fn ptr(n: u64, name: &'static str, t: T) -> F {
    F {
        n,
        name,
        t,
        repeated: false,
        ptr: true,
    }
}

static OWNER_REF: M = M {
    name: "OwnerReference",
    fields: &[
        f(1, "kind", T::Str),
        f(3, "name", T::Str),
        f(4, "uid", T::Str),
        f(5, "apiVersion", T::Str),
        ptr(6, "controller", T::Bool),
        ptr(7, "blockOwnerDeletion", T::Bool),
    ],
};

pub(crate) static OBJECT_META: M = M {
    name: "ObjectMeta",
    fields: &[
        f(1, "name", T::Str),
        f(2, "generateName", T::Str),
        f(3, "namespace", T::Str),
        f(4, "selfLink", T::Str),
        f(5, "uid", T::Str),
        f(6, "resourceVersion", T::Str),
        f(7, "generation", T::Int),
        f(8, "creationTimestamp", T::Time),
        f(9, "deletionTimestamp", T::Time),
        ptr(10, "deletionGracePeriodSeconds", T::Int),
        f(11, "labels", T::MapStr),
        f(12, "annotations", T::MapStr),
        rep(13, "ownerReferences", T::Msg(&OWNER_REF)),
        rep(14, "finalizers", T::Str),
    ],
};

static SELECTOR_REQUIREMENT: M = M {
    name: "LabelSelectorRequirement",
    fields: &[
        f(1, "key", T::Str),
        f(2, "operator", T::Str),
        rep(3, "values", T::Str),
    ],
};

pub(crate) static LABEL_SELECTOR: M = M {
    name: "LabelSelector",
    fields: &[
        f(1, "matchLabels", T::MapStr),
        rep(2, "matchExpressions", T::Msg(&SELECTOR_REQUIREMENT)),
    ],
};

static CONTAINER_PORT: M = M {
    name: "ContainerPort",
    fields: &[
        f(1, "name", T::Str),
        f(2, "hostPort", T::Int),
        f(3, "containerPort", T::Int),
        f(4, "protocol", T::Str),
        f(5, "hostIP", T::Str),
    ],
};

static ENV_VAR: M = M {
    name: "EnvVar",
    fields: &[f(1, "name", T::Str), f(2, "value", T::Str)],
};

static RESOURCES: M = M {
    name: "ResourceRequirements",
    fields: &[
        f(1, "limits", T::MapQuantity),
        f(2, "requests", T::MapQuantity),
    ],
};

static VOLUME_MOUNT: M = M {
    name: "VolumeMount",
    fields: &[
        f(1, "name", T::Str),
        f(2, "readOnly", T::Bool),
        f(3, "mountPath", T::Str),
        f(4, "subPath", T::Str),
        ptr(5, "mountPropagation", T::Str),
        f(6, "subPathExpr", T::Str),
    ],
};

static CONTAINER: M = M {
    name: "Container",
    fields: &[
        f(1, "name", T::Str),
        f(2, "image", T::Str),
        rep(3, "command", T::Str),
        rep(4, "args", T::Str),
        f(5, "workingDir", T::Str),
        rep(6, "ports", T::Msg(&CONTAINER_PORT)),
        rep(7, "env", T::Msg(&ENV_VAR)),
        f(8, "resources", T::Msg(&RESOURCES)),
        rep(9, "volumeMounts", T::Msg(&VOLUME_MOUNT)),
        f(13, "terminationMessagePath", T::Str),
        f(14, "imagePullPolicy", T::Str),
        f(16, "stdin", T::Bool),
        f(17, "stdinOnce", T::Bool),
        f(18, "tty", T::Bool),
        f(20, "terminationMessagePolicy", T::Str),
        ptr(24, "restartPolicy", T::Str),
    ],
};

pub(crate) static LOCAL_OBJECT_REF: M = M {
    name: "LocalObjectReference",
    fields: &[f(1, "name", T::Str)],
};

static POD_SPEC: M = M {
    name: "PodSpec",
    fields: &[
        rep(2, "containers", T::Msg(&CONTAINER)),
        f(3, "restartPolicy", T::Str),
        ptr(4, "terminationGracePeriodSeconds", T::Int),
        ptr(5, "activeDeadlineSeconds", T::Int),
        f(6, "dnsPolicy", T::Str),
        f(7, "nodeSelector", T::MapStr),
        f(8, "serviceAccountName", T::Str),
        f(9, "serviceAccount", T::Str),
        f(10, "nodeName", T::Str),
        f(11, "hostNetwork", T::Bool),
        f(12, "hostPID", T::Bool),
        f(13, "hostIPC", T::Bool),
        rep(15, "imagePullSecrets", T::Msg(&LOCAL_OBJECT_REF)),
        f(16, "hostname", T::Str),
        f(17, "subdomain", T::Str),
        f(19, "schedulerName", T::Str),
        rep(20, "initContainers", T::Msg(&CONTAINER)),
        ptr(21, "automountServiceAccountToken", T::Bool),
        f(24, "priorityClassName", T::Str),
        ptr(25, "priority", T::Int),
        ptr(27, "shareProcessNamespace", T::Bool),
        ptr(29, "runtimeClassName", T::Str),
        ptr(30, "enableServiceLinks", T::Bool),
        ptr(31, "preemptionPolicy", T::Str),
        ptr(35, "setHostnameAsFQDN", T::Bool),
        ptr(37, "hostUsers", T::Bool),
    ],
};

pub(crate) static POD_TEMPLATE: M = M {
    name: "PodTemplateSpec",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&POD_SPEC)),
    ],
};

static ROLLING_UPDATE: M = M {
    name: "RollingUpdateDeployment",
    fields: &[
        ptr(1, "maxUnavailable", T::IntOrString),
        ptr(2, "maxSurge", T::IntOrString),
    ],
};

static STRATEGY: M = M {
    name: "DeploymentStrategy",
    fields: &[
        f(1, "type", T::Str),
        ptr(2, "rollingUpdate", T::Msg(&ROLLING_UPDATE)),
    ],
};

static DEPLOYMENT_SPEC: M = M {
    name: "DeploymentSpec",
    fields: &[
        ptr(1, "replicas", T::Int),
        ptr(2, "selector", T::Msg(&LABEL_SELECTOR)),
        f(3, "template", T::Msg(&POD_TEMPLATE)),
        f(4, "strategy", T::Msg(&STRATEGY)),
        f(5, "minReadySeconds", T::Int),
        ptr(6, "revisionHistoryLimit", T::Int),
        f(7, "paused", T::Bool),
        ptr(9, "progressDeadlineSeconds", T::Int),
    ],
};

static NAMESPACE_SPEC: M = M {
    name: "NamespaceSpec",
    fields: &[rep(1, "finalizers", T::Str)],
};

static RESOURCE_ATTRIBUTES: M = M {
    name: "ResourceAttributes",
    fields: &[
        f(1, "namespace", T::Str),
        f(2, "verb", T::Str),
        f(3, "group", T::Str),
        f(4, "version", T::Str),
        f(5, "resource", T::Str),
        f(6, "subresource", T::Str),
        f(7, "name", T::Str),
    ],
};

static NON_RESOURCE_ATTRIBUTES: M = M {
    name: "NonResourceAttributes",
    fields: &[f(1, "path", T::Str), f(2, "verb", T::Str)],
};

static ACCESS_REVIEW_SPEC: M = M {
    name: "SelfSubjectAccessReviewSpec",
    fields: &[
        ptr(1, "resourceAttributes", T::Msg(&RESOURCE_ATTRIBUTES)),
        ptr(2, "nonResourceAttributes", T::Msg(&NON_RESOURCE_ATTRIBUTES)),
    ],
};

/// The top-level message of a kind this module decodes.
pub(crate) fn top_level(api_version: &str, kind: &str) -> Option<&'static M> {
    match kind {
        "Namespace" => Some(&NAMESPACE),
        "Deployment" => Some(&DEPLOYMENT),
        "SelfSubjectAccessReview" => Some(&ACCESS_REVIEW),
        other => super::proto_kinds::top_level(api_version, other),
    }
}

static NAMESPACE: M = M {
    name: "Namespace",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&NAMESPACE_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static DEPLOYMENT: M = M {
    name: "Deployment",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&DEPLOYMENT_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

static ACCESS_REVIEW: M = M {
    name: "SelfSubjectAccessReview",
    fields: &[
        f(1, "metadata", T::Msg(&OBJECT_META)),
        f(2, "spec", T::Msg(&ACCESS_REVIEW_SPEC)),
        f(3, "status", T::Ignore),
    ],
};

/// Decodes one message by its schema.
pub(crate) fn message(m: &M, buf: &[u8]) -> Result<Value, String> {
    let mut out = Map::new();
    let mut r = Reader::new(buf);
    while let Some((n, field)) = r.next()? {
        let Some(spec) = m.fields.iter().find(|x| x.n == n) else {
            return Err(format!(
                "field {n} of {} is not understood by the simulated cluster",
                m.name
            ));
        };
        let value = match (spec.t, field) {
            (T::Ignore, _) => continue,
            (T::Str, Field::Bytes(b)) => json!(text(b)),
            (T::Int, Field::Varint(v)) => json!(v as i64),
            (T::Bool, Field::Varint(v)) => json!(v != 0),
            (T::Msg(sub), Field::Bytes(b)) => message(sub, b)?,
            (T::Inline(sub), Field::Bytes(b)) => {
                if let Value::Object(inner) = message(sub, b)? {
                    out.extend(inner);
                }
                continue;
            }
            (T::Quantity, Field::Bytes(b)) => quantity(b)?,
            (T::IntOrString, Field::Bytes(b)) => int_or_string(b)?,
            (T::Time, Field::Bytes(b)) => match time(b)? {
                Some(t) => t,
                None => continue,
            },
            (T::MapStr | T::MapQuantity, Field::Bytes(b)) => {
                let (k, v) = entry(b, spec.t)?;
                let map = out
                    .entry(spec.name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = map {
                    m.insert(k, v);
                }
                continue;
            }
            _ => {
                return Err(format!(
                    "field {n} ({}) of {} has an unexpected wire type",
                    spec.name, m.name
                ));
            }
        };
        let zero = match &value {
            Value::String(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Number(x) => x.as_i64() == Some(0),
            _ => false,
        };
        if spec.repeated {
            if let Value::Array(a) = out
                .entry(spec.name)
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                a.push(value);
            }
        } else if !zero || spec.ptr {
            out.insert(spec.name.to_string(), value);
        }
    }
    Ok(Value::Object(out))
}

fn entry(b: &[u8], t: T) -> Result<(String, Value), String> {
    let mut r = Reader::new(b);
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while let Some((n, f)) = r.next()? {
        match (n, f, t) {
            (1, Field::Bytes(x), _) => k = text(x),
            (2, Field::Bytes(x), T::MapQuantity) => v = quantity(x)?,
            (2, Field::Bytes(x), _) => v = json!(text(x)),
            _ => return Err("malformed map entry".into()),
        }
    }
    Ok((k, v))
}

/// `resource.Quantity`: its canonical string in field 1.
fn quantity(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut s = String::new();
    while let Some((n, f)) = r.next()? {
        if let (1, Field::Bytes(x)) = (n, f) {
            s = text(x);
        }
    }
    Ok(json!(s))
}

/// `intstr.IntOrString`: type (0 int, 1 string), intVal, strVal.
fn int_or_string(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let (mut ty, mut i, mut s) = (0, 0i64, String::new());
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Varint(v)) => ty = v,
            (2, Field::Varint(v)) => i = v as i64,
            (3, Field::Bytes(x)) => s = text(x),
            _ => {}
        }
    }
    Ok(if ty == 1 { json!(s) } else { json!(i) })
}

/// `metav1.Time` as seconds; a zero time is written empty and means unset.
fn time(b: &[u8]) -> Result<Option<Value>, String> {
    let mut r = Reader::new(b);
    let mut secs = 0i64;
    while let Some((n, f)) = r.next()? {
        if let (1, Field::Varint(v)) = (n, f) {
            secs = v as i64;
        }
    }
    Ok((secs > 0).then(|| json!(super::store::rfc3339(secs as u64))))
}
