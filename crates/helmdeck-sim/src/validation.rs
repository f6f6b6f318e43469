//! What a real API server refuses in a request before it stores anything, with its status
//! code and message, so a chart a real cluster refuses fails here too:
//! - a body the typed decoder cannot read (400, Go's `encoding/json` wording as
//!   `sigs.k8s.io/json` keeps it: `json: cannot unmarshal string into Go struct field
//!   DeploymentSpec.spec.replicas of type int32`, and apimachinery's quantity format error);
//! - field values the validators refuse (422 causes): label and annotation keys and values
//!   (k8s.io/apimachinery `api/validate/content`, `api/validation/objectmeta.go`), port numbers,
//!   negative resource quantities, a claim's storage (k8s.io/kubernetes
//!   `pkg/apis/core/validation`);
//! - request options (422 on `CreateOptions`/`UpdateOptions`/`PatchOptions`/`DeleteOptions`,
//!   apimachinery `pkg/apis/meta/v1/validation`) and body media types (415, apiserver
//!   `handlers/negotiation`).

use serde_json::Value;

use crate::errors::ApiError;

/// Go's name for a field's type, and how a JSON value fits it.
#[derive(Clone, Copy)]
enum Ty {
    Int32,
    Int64,
    Bool,
    Str,
    /// A `resource.Quantity` (a string or a number).
    Quantity,
}

/// A typed field: its path (`[]` an element of a list, `*` every value of a map) and the Go
/// struct that holds it.
struct Typed(&'static str, &'static str, Ty);

const POD_SPEC: &[Typed] = &[
    Typed("terminationGracePeriodSeconds", "PodSpec", Ty::Int64),
    Typed("activeDeadlineSeconds", "PodSpec", Ty::Int64),
    Typed("serviceAccountName", "PodSpec", Ty::Str),
    Typed("hostNetwork", "PodSpec", Ty::Bool),
    Typed("securityContext.runAsUser", "PodSecurityContext", Ty::Int64),
    Typed(
        "securityContext.runAsGroup",
        "PodSecurityContext",
        Ty::Int64,
    ),
    Typed("securityContext.fsGroup", "PodSecurityContext", Ty::Int64),
    Typed("volumes[].emptyDir.sizeLimit", "", Ty::Quantity),
    Typed(
        "volumes[].secret.defaultMode",
        "SecretVolumeSource",
        Ty::Int32,
    ),
    Typed(
        "volumes[].configMap.defaultMode",
        "ConfigMapVolumeSource",
        Ty::Int32,
    ),
];

/// Fields of `Container`, for `containers[]` and `initContainers[]`.
const CONTAINER: &[Typed] = &[
    Typed("name", "Container", Ty::Str),
    Typed("image", "Container", Ty::Str),
    Typed("ports[].containerPort", "ContainerPort", Ty::Int32),
    Typed("ports[].hostPort", "ContainerPort", Ty::Int32),
    Typed("ports[].name", "ContainerPort", Ty::Str),
    Typed("resources.limits.*", "", Ty::Quantity),
    Typed("resources.requests.*", "", Ty::Quantity),
    Typed("securityContext.runAsUser", "SecurityContext", Ty::Int64),
    Typed("securityContext.privileged", "SecurityContext", Ty::Bool),
    Typed("livenessProbe.initialDelaySeconds", "Probe", Ty::Int32),
    Typed("livenessProbe.periodSeconds", "Probe", Ty::Int32),
    Typed("livenessProbe.timeoutSeconds", "Probe", Ty::Int32),
    Typed("livenessProbe.failureThreshold", "Probe", Ty::Int32),
    Typed("readinessProbe.initialDelaySeconds", "Probe", Ty::Int32),
    Typed("readinessProbe.periodSeconds", "Probe", Ty::Int32),
    Typed("readinessProbe.timeoutSeconds", "Probe", Ty::Int32),
    Typed("readinessProbe.failureThreshold", "Probe", Ty::Int32),
    Typed("startupProbe.periodSeconds", "Probe", Ty::Int32),
    Typed("startupProbe.failureThreshold", "Probe", Ty::Int32),
];

const JOB_SPEC: &[Typed] = &[
    Typed("parallelism", "JobSpec", Ty::Int32),
    Typed("completions", "JobSpec", Ty::Int32),
    Typed("backoffLimit", "JobSpec", Ty::Int32),
    Typed("activeDeadlineSeconds", "JobSpec", Ty::Int64),
    Typed("ttlSecondsAfterFinished", "JobSpec", Ty::Int32),
    Typed("suspend", "JobSpec", Ty::Bool),
];

/// The kind's own typed fields, and where its pod spec is.
fn fields_of(kind: &str) -> (&'static [Typed], Option<&'static str>) {
    match kind {
        "Deployment" => (
            &[
                Typed("spec.replicas", "DeploymentSpec", Ty::Int32),
                Typed("spec.minReadySeconds", "DeploymentSpec", Ty::Int32),
                Typed("spec.revisionHistoryLimit", "DeploymentSpec", Ty::Int32),
                Typed("spec.progressDeadlineSeconds", "DeploymentSpec", Ty::Int32),
                Typed("spec.paused", "DeploymentSpec", Ty::Bool),
            ],
            Some("spec.template.spec"),
        ),
        "StatefulSet" => (
            &[
                Typed("spec.replicas", "StatefulSetSpec", Ty::Int32),
                Typed("spec.minReadySeconds", "StatefulSetSpec", Ty::Int32),
                Typed("spec.revisionHistoryLimit", "StatefulSetSpec", Ty::Int32),
                Typed("spec.serviceName", "StatefulSetSpec", Ty::Str),
                Typed(
                    "spec.volumeClaimTemplates[].spec.resources.requests.*",
                    "",
                    Ty::Quantity,
                ),
            ],
            Some("spec.template.spec"),
        ),
        "ReplicaSet" => (
            &[
                Typed("spec.replicas", "ReplicaSetSpec", Ty::Int32),
                Typed("spec.minReadySeconds", "ReplicaSetSpec", Ty::Int32),
            ],
            Some("spec.template.spec"),
        ),
        "DaemonSet" => (
            &[
                Typed("spec.minReadySeconds", "DaemonSetSpec", Ty::Int32),
                Typed("spec.revisionHistoryLimit", "DaemonSetSpec", Ty::Int32),
            ],
            Some("spec.template.spec"),
        ),
        "Job" => (&[], Some("spec.template.spec")),
        "CronJob" => (
            &[
                Typed("spec.schedule", "CronJobSpec", Ty::Str),
                Typed("spec.suspend", "CronJobSpec", Ty::Bool),
                Typed("spec.startingDeadlineSeconds", "CronJobSpec", Ty::Int64),
                Typed("spec.successfulJobsHistoryLimit", "CronJobSpec", Ty::Int32),
                Typed("spec.failedJobsHistoryLimit", "CronJobSpec", Ty::Int32),
            ],
            Some("spec.jobTemplate.spec.template.spec"),
        ),
        "Pod" => (&[], Some("spec")),
        "Service" => (
            &[
                Typed("spec.ports[].port", "ServicePort", Ty::Int32),
                Typed("spec.ports[].nodePort", "ServicePort", Ty::Int32),
                Typed("spec.ports[].name", "ServicePort", Ty::Str),
                Typed("spec.ports[].protocol", "ServicePort", Ty::Str),
                Typed("spec.type", "ServiceSpec", Ty::Str),
            ],
            None,
        ),
        "PersistentVolumeClaim" => (
            &[
                Typed("spec.resources.requests.*", "", Ty::Quantity),
                Typed(
                    "spec.storageClassName",
                    "PersistentVolumeClaimSpec",
                    Ty::Str,
                ),
            ],
            None,
        ),
        "HorizontalPodAutoscaler" => (
            &[
                Typed("spec.minReplicas", "HorizontalPodAutoscalerSpec", Ty::Int32),
                Typed("spec.maxReplicas", "HorizontalPodAutoscalerSpec", Ty::Int32),
            ],
            None,
        ),
        _ => (&[], None),
    }
}

/// Every value at `path` under `v`, with its index path for messages (`containers[0].ports[1]`).
fn at<'a>(v: &'a Value, path: &[&str], here: String, out: &mut Vec<(String, &'a Value)>) {
    let Some((first, rest)) = path.split_first() else {
        out.push((here, v));
        return;
    };
    let join = |s: &str| {
        if here.is_empty() {
            s.to_string()
        } else {
            format!("{here}.{s}")
        }
    };
    if let Some(name) = first.strip_suffix("[]") {
        if let Some(items) = v[name].as_array() {
            for (i, item) in items.iter().enumerate() {
                at(item, rest, format!("{}[{i}]", join(name)), out);
            }
        }
    } else if *first == "*" {
        if let Some(m) = v.as_object() {
            for (k, item) in m {
                at(item, rest, format!("{here}[{k}]"), out);
            }
        }
    } else if !v[*first].is_null() {
        at(&v[*first], rest, join(first), out);
    }
}

/// Go's description of a JSON value that does not fit `ty`, or None when it fits.
fn misfit(v: &Value, ty: Ty) -> Option<String> {
    let what = |v: &Value| match v {
        Value::String(_) => "string".to_string(),
        Value::Bool(_) => "bool".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
        Value::Number(n) => format!("number {n}"),
        Value::Null => "null".into(),
    };
    let int_in = |lo: i64, hi: i64| match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) if (lo..=hi).contains(&i) => None,
            _ => Some(what(v)),
        },
        _ => Some(what(v)),
    };
    match ty {
        Ty::Int32 => int_in(i32::MIN.into(), i32::MAX.into()),
        Ty::Int64 => int_in(i64::MIN, i64::MAX),
        Ty::Bool => (!v.is_boolean()).then(|| what(v)),
        Ty::Str => match v {
            Value::String(_) => None,
            Value::Number(_) => Some("number".into()),
            _ => Some(what(v)),
        },
        Ty::Quantity => None,
    }
}

const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// apimachinery's `ParseQuantity` verdict on a quantity's text.
fn quantity_error(q: &Value) -> Option<&'static str> {
    let text = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Some(QUANTITY_FORMAT),
    };
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let start = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    let number_end = i;
    while i < b.len() && b"eEinumkKMGTP".contains(&b[i]) {
        i += 1;
    }
    if i < b.len() && matches!(b[i], b'+' | b'-') {
        i += 1;
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if number_end == start || i != b.len() {
        return Some(QUANTITY_FORMAT);
    }
    crate::quantity::milli(&text)
        .is_none()
        .then_some("unable to parse quantity's suffix")
}

/// Decodes the body as the typed decoder would: the first field whose JSON type does not fit
/// its Go type, or a quantity that does not parse, is a 400 naming it.
pub fn decode(kind: &str, version: &str, obj: &Value) -> Result<(), ApiError> {
    let (own, pod) = fields_of(kind);
    let mut checks: Vec<(String, &'static str, Ty)> =
        own.iter().map(|t| (t.0.to_string(), t.1, t.2)).collect();
    if kind == "Job" || kind == "CronJob" {
        let prefix = if kind == "Job" {
            "spec"
        } else {
            "spec.jobTemplate.spec"
        };
        checks.extend(
            JOB_SPEC
                .iter()
                .map(|t| (format!("{prefix}.{}", t.0), t.1, t.2)),
        );
    }
    if let Some(pod) = pod {
        checks.extend(
            POD_SPEC
                .iter()
                .map(|t| (format!("{pod}.{}", t.0), t.1, t.2)),
        );
        for list in ["containers[]", "initContainers[]"] {
            checks.extend(
                CONTAINER
                    .iter()
                    .map(|t| (format!("{pod}.{list}.{}", t.0), t.1, t.2)),
            );
        }
    }
    let cannot = |why: String| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {why}"
        ))
    };
    for (path, structure, ty) in checks {
        let segments: Vec<&str> = path.split('.').collect();
        let mut found = Vec::new();
        at(obj, &segments, String::new(), &mut found);
        for (_, v) in found {
            if let Ty::Quantity = ty {
                if let Some(why) = quantity_error(v) {
                    return Err(cannot(why.to_string()));
                }
            } else if let Some(what) = misfit(v, ty) {
                let go_field = path.replace("[]", "");
                let go_type = match ty {
                    Ty::Int32 => "int32",
                    Ty::Int64 => "int64",
                    Ty::Bool => "bool",
                    _ => "string",
                };
                return Err(cannot(format!(
                    "json: cannot unmarshal {what} into Go struct field {structure}.{go_field} of type {go_type}"
                )));
            }
        }
    }
    Ok(())
}

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn label_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || b"-_.".contains(c))
}

/// apimachinery's `IsLabelKey` messages for a key.
fn label_key_errors(key: &str) -> Vec<String> {
    let shape = format!(
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{LABEL_KEY_FMT}')"
    );
    let parts: Vec<&str> = key.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".into());
            } else if let Some(why) = crate::defaults::invalid_name("", prefix) {
                errs.push(format!("prefix part {why}"));
            }
            name
        }
        _ => {
            return vec![format!(
                "a valid label key {shape} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".into());
    }
    if !label_name_ok(name) {
        errs.push(format!("name part {shape}"));
    }
    errs
}

/// apimachinery's `IsLabelValue` messages for a value.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".into());
    }
    if !value.is_empty() && !label_name_ok(value) {
        errs.push(format!(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '({LABEL_KEY_FMT})?')"
        ));
    }
    errs
}

/// Go's `%q` of a string, near enough for the ASCII texts these messages quote.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The causes `ValidateObjectMeta` gives for the labels and annotations at `at`.
fn meta_causes(meta: &Value, at: &str, causes: &mut Vec<(String, String)>) {
    if let Some(labels) = meta["labels"].as_object() {
        for (k, v) in labels {
            for why in label_key_errors(k) {
                causes.push((
                    format!("{at}.labels"),
                    format!("Invalid value: {}: {why}", quoted(k)),
                ));
            }
            for why in label_value_errors(v.as_str().unwrap_or_default()) {
                causes.push((
                    format!("{at}.labels"),
                    format!("Invalid value: {}: {why}", quoted(v.as_str().unwrap_or(""))),
                ));
            }
        }
    }
    if let Some(annotations) = meta["annotations"].as_object() {
        let mut size = 0;
        for (k, v) in annotations {
            size += k.len() + v.as_str().map_or(0, str::len);
            for why in label_key_errors(&k.to_lowercase()) {
                causes.push((
                    format!("{at}.annotations"),
                    format!("Invalid value: {}: {why}", quoted(k)),
                ));
            }
        }
        if size > 256 * 1024 {
            causes.push((
                format!("{at}.annotations"),
                "Too long: may not be more than 262144 bytes".into(),
            ));
        }
    }
}

/// A port number outside 1..=65535, as `IsValidPortNum` words it.
fn port_cause(field: String, v: &Value, causes: &mut Vec<(String, String)>) {
    if let Some(n) = v.as_i64()
        && !(1..=65535).contains(&n)
    {
        causes.push((
            field,
            format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
        ));
    }
}

/// Whether a kind is one of the server's own (a custom resource may reuse a kind's name, as
/// Knative's `Service` does).
pub fn is_builtin(kind: &str, group: &str) -> bool {
    static KINDS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    KINDS
        .get_or_init(|| {
            crate::resources::builtin()
                .into_iter()
                .map(|t| (t.kind, t.group))
                .collect()
        })
        .iter()
        .any(|(k, g)| k == kind && g == group)
}

/// Field values the validators refuse (422 causes), after decoding succeeded: every object's
/// labels and annotations, and the built-in kinds' own fields.
pub fn causes(kind: &str, group: &str, obj: &Value, causes: &mut Vec<(String, String)>) {
    meta_causes(&obj["metadata"], "metadata", causes);
    if !is_builtin(kind, group) {
        return;
    }
    let (_, pod) = fields_of(kind);
    if let Some(pod) = pod {
        if let Some(template) = pod.strip_suffix(".spec") {
            let segs: Vec<&str> = template.split('.').collect();
            let mut t = Vec::new();
            at(obj, &segs, String::new(), &mut t);
            if let Some((_, tv)) = t.first() {
                meta_causes(&tv["metadata"], &format!("{template}.metadata"), causes);
            }
        }
        let segs: Vec<&str> = pod.split('.').collect();
        let mut specs = Vec::new();
        at(obj, &segs, String::new(), &mut specs);
        for (path, spec) in specs {
            for list in ["containers", "initContainers"] {
                for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
                    let here = format!("{path}.{list}[{i}]");
                    for (j, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
                        if p["containerPort"].as_i64().unwrap_or(0) == 0 {
                            causes.push((
                                format!("{here}.ports[{j}].containerPort"),
                                "Required value".into(),
                            ));
                        }
                        port_cause(
                            format!("{here}.ports[{j}].containerPort"),
                            &p["containerPort"],
                            causes,
                        );
                        if p["hostPort"].as_i64().unwrap_or(0) != 0 {
                            port_cause(
                                format!("{here}.ports[{j}].hostPort"),
                                &p["hostPort"],
                                causes,
                            );
                        }
                    }
                    for part in ["limits", "requests"] {
                        for (name, q) in c["resources"][part].as_object().into_iter().flatten() {
                            let text = q.as_str().map_or_else(|| q.to_string(), str::to_string);
                            if crate::quantity::milli(&text).is_some_and(|m| m < 0) {
                                causes.push((
                                    format!("{here}.resources.{part}[{name}]"),
                                    format!(
                                        "Invalid value: {}: must be greater than or equal to 0",
                                        quoted(&text)
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    match kind {
        "Service" => {
            for (i, p) in obj["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                port_cause(format!("spec.ports[{i}].port"), &p["port"], causes);
                if p["targetPort"].is_i64() && p["targetPort"] != 0 {
                    port_cause(
                        format!("spec.ports[{i}].targetPort"),
                        &p["targetPort"],
                        causes,
                    );
                }
            }
        }
        "PersistentVolumeClaim" => {
            let storage = &obj["spec"]["resources"]["requests"]["storage"];
            if storage.is_null() {
                causes.push(("spec.resources[storage]".into(), "Required value".into()));
            } else {
                let text = storage
                    .as_str()
                    .map_or_else(|| storage.to_string(), str::to_string);
                if crate::quantity::milli(&text).is_some_and(|m| m <= 0) {
                    causes.push((
                        "spec.resources[storage]".into(),
                        format!(
                            "Invalid value: {}: must be greater than zero",
                            quoted(&text)
                        ),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// `fieldManager` on a create, update or patch (`CreateOptions`, …): at most 128 bytes, all
/// printable.
pub fn write_options(options_kind: &str, field_manager: Option<&str>) -> Result<(), ApiError> {
    let Some(m) = field_manager else {
        return Ok(());
    };
    let mut causes = Vec::new();
    if m.len() > 128 {
        causes.push((
            "fieldManager".to_string(),
            "Too long: may not be more than 128 bytes".to_string(),
        ));
    }
    for (i, c) in m.char_indices() {
        if c.is_control() {
            causes.push((
                "fieldManager".into(),
                format!(
                    "Invalid value: {}: invalid character U+{:04X} (at position {i})",
                    quoted(m),
                    c as u32
                ),
            ));
        }
    }
    options_error(options_kind, causes)
}

/// A delete's `propagationPolicy`: one of the three, or unset.
pub fn delete_options(propagation: Option<&str>, orphan_dependents: bool) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    if let Some(p) = propagation {
        if orphan_dependents {
            causes.push((
                "propagationPolicy".to_string(),
                format!(
                    "Invalid value: {}: orphanDependents and deletionPropagation cannot be both set",
                    quoted(p)
                ),
            ));
        }
        if !["Foreground", "Background", "Orphan"].contains(&p) {
            causes.push((
                "propagationPolicy".into(),
                format!(
                    "Unsupported value: {}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
                    quoted(p)
                ),
            ));
        }
    }
    options_error("DeleteOptions", causes)
}

fn options_error(kind: &str, causes: Vec<(String, String)>) -> Result<(), ApiError> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(kind, "", "meta.k8s.io", causes))
    }
}

/// A create or update body's media type: JSON, YAML, or protobuf for the built-in kinds
/// (custom resources have no protobuf form).
pub fn media_type(content_type: &str, builtin: bool) -> Result<(), ApiError> {
    let main = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let accepted: &[&str] = if builtin {
        &[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ]
    } else {
        &["application/json", "application/yaml"]
    };
    if main.is_empty() || accepted.contains(&main.as_str()) {
        return Ok(());
    }
    Err(ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_string_where_an_int32_goes_is_named_as_go_names_it() {
        let d = json!({"spec": {"replicas": "three", "template": {"spec": {"containers": [{"name": "a"}]}}}});
        let e = decode("Deployment", "v1", &d).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        );
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 1.5}]}]}}}});
        let e = decode("Deployment", "v1", &p).unwrap_err();
        assert!(e.message.ends_with("cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"), "{}", e.message);
    }

    #[test]
    fn quantities_are_read_as_apimachinery_reads_them() {
        for (q, ok) in [
            (json!("500m"), true),
            (json!(2), true),
            (json!("-5Gi"), true),
            (json!("lots"), false),
            (json!("1Qi"), false),
            (json!(true), false),
        ] {
            assert_eq!(quantity_error(&q).is_none(), ok, "{q}");
        }
        let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "lots"}}}]}}}});
        assert!(
            decode("Deployment", "v1", &d)
                .unwrap_err()
                .message
                .contains("quantities must match the regular expression")
        );
    }

    #[test]
    fn label_keys_and_values_get_apimachinery_causes() {
        let mut c = Vec::new();
        meta_causes(
            &json!({"labels": {"bad key!": "x", "ok/fine": "not ok!", "example.com/a": "b"}}),
            "metadata",
            &mut c,
        );
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c.iter().all(|(f, _)| f == "metadata.labels"));
        assert!(c.iter().any(|(_, m)| m.starts_with(
            "Invalid value: \"bad key!\": name part must consist of alphanumeric characters"
        )));
        assert!(c.iter().any(|(_, m)| {
            m.starts_with("Invalid value: \"not ok!\": a valid label must be an empty string")
        }));
        assert!(label_key_errors("a/b/c")[0].starts_with("a valid label key"));
        assert!(label_key_errors("/b")[0].starts_with("prefix part must be non-empty"));
    }

    #[test]
    fn ports_and_claims_out_of_range_are_invalid() {
        let mut c = Vec::new();
        causes(
            "Deployment",
            "apps",
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 99999}]}]}}}}),
            &mut c,
        );
        assert_eq!(
            c,
            vec![(
                "spec.template.spec.containers[0].ports[0].containerPort".to_string(),
                "Invalid value: 99999: must be between 1 and 65535, inclusive".to_string()
            )]
        );
        let mut c = Vec::new();
        causes(
            "PersistentVolumeClaim",
            "",
            &json!({"spec": {"resources": {"requests": {"storage": "-5Gi"}}}}),
            &mut c,
        );
        assert_eq!(c[0].1, "Invalid value: \"-5Gi\": must be greater than zero");
    }

    #[test]
    fn options_and_media_types() {
        let long = "m".repeat(129);
        let e = write_options("CreateOptions", Some(&long)).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes"
        );
        assert!(write_options("CreateOptions", Some(&"m".repeat(128))).is_ok());
        let e = delete_options(Some("Sideways"), false).unwrap_err();
        assert!(e.message.ends_with("propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""), "{}", e.message);
        assert_eq!(media_type("text/plain", true).unwrap_err().code, 415);
        assert!(media_type("application/json; charset=utf-8", true).is_ok());
        assert!(media_type("application/vnd.kubernetes.protobuf", false).is_err());
    }
}
