//! Defaulting and validation that real clients depend on (see shared/SIMULATOR.md): the
//! fields waiters read must be there, and immutable fields must stay immutable.

use serde_json::{Value, json};

use super::errors::ApiError;

fn set_default(obj: &mut Value, path: &[&str], v: Value) {
    let mut cur = obj;
    for (i, seg) in path.iter().enumerate() {
        if !cur.is_object() {
            return;
        }
        if i + 1 == path.len() {
            if cur.get(*seg).is_none_or(Value::is_null) {
                cur[*seg] = v;
            }
            return;
        }
        if cur.get(*seg).is_none_or(Value::is_null) {
            cur[*seg] = json!({});
        }
        cur = &mut cur[*seg];
    }
}

fn default_pod_spec(spec: &mut Value) {
    set_default(spec, &["restartPolicy"], json!("Always"));
    set_default(spec, &["terminationGracePeriodSeconds"], json!(30));
    set_default(spec, &["dnsPolicy"], json!("ClusterFirst"));
    set_default(spec, &["schedulerName"], json!("default-scheduler"));
    set_default(spec, &["securityContext"], json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs {
                set_default(
                    c,
                    &["terminationMessagePath"],
                    json!("/dev/termination-log"),
                );
                set_default(c, &["terminationMessagePolicy"], json!("File"));
                let pull = if c["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'))
                {
                    "Always"
                } else {
                    "IfNotPresent"
                };
                set_default(c, &["imagePullPolicy"], json!(pull));
                set_default(c, &["resources"], json!({}));
                if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports {
                        set_default(p, &["protocol"], json!("TCP"));
                    }
                }
            }
        }
    }
}

/// Fills in what the API server defaults.
pub fn apply(kind: &str, obj: &mut Value, next_ip: &mut dyn FnMut() -> String) {
    match kind {
        "Deployment" => deployment(obj),
        "ReplicaSet" => {
            set_default(obj, &["spec", "replicas"], json!(1));
            default_pod_spec(&mut obj["spec"]["template"]["spec"]);
        }
        "StatefulSet" => stateful_set(obj),
        "DaemonSet" => daemon_set(obj),
        "Job" => job(obj),
        "CronJob" => {
            set_default(obj, &["spec", "concurrencyPolicy"], json!("Allow"));
            set_default(obj, &["spec", "suspend"], json!(false));
        }
        "Pod" => {
            default_pod_spec(&mut obj["spec"]);
            set_default(obj, &["status", "phase"], json!("Pending"));
            set_default(obj, &["spec", "enableServiceLinks"], json!(true));
        }
        "Service" => service(obj, next_ip),
        "Secret" => {
            set_default(obj, &["type"], json!("Opaque"));
            if let Some(sd) = obj.get("stringData").and_then(Value::as_object).cloned() {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD;
                for (k, v) in sd {
                    obj["data"][k] = json!(b64.encode(v.as_str().unwrap_or_default()));
                }
                if let Some(m) = obj.as_object_mut() {
                    m.remove("stringData");
                }
            }
        }
        "PersistentVolumeClaim" => {
            set_default(obj, &["spec", "volumeMode"], json!("Filesystem"));
            set_default(obj, &["status", "phase"], json!("Pending"));
        }
        "PersistentVolume" => {
            set_default(
                obj,
                &["spec", "persistentVolumeReclaimPolicy"],
                json!("Retain"),
            );
            set_default(obj, &["status", "phase"], json!("Available"));
        }
        "StorageClass" => {
            set_default(obj, &["reclaimPolicy"], json!("Delete"));
            set_default(obj, &["volumeBindingMode"], json!("Immediate"));
        }
        "Namespace" => {
            set_default(obj, &["spec", "finalizers"], json!(["kubernetes"]));
            set_default(obj, &["status", "phase"], json!("Active"));
            let name = obj["metadata"]["name"].clone();
            set_default(
                obj,
                &["metadata", "labels", "kubernetes.io/metadata.name"],
                name,
            );
        }
        "Ingress" => {
            set_default(obj, &["status", "loadBalancer"], json!({}));
        }
        "HorizontalPodAutoscaler" => {
            set_default(obj, &["spec", "minReplicas"], json!(1));
        }
        _ => {}
    }
}

/// The Deployment's defaults.
fn deployment(obj: &mut Value) {
    set_default(obj, &["spec", "replicas"], json!(1));
    set_default(obj, &["spec", "revisionHistoryLimit"], json!(10));
    set_default(obj, &["spec", "progressDeadlineSeconds"], json!(600));
    if obj["spec"]["strategy"]["type"].as_str() != Some("Recreate") {
        set_default(obj, &["spec", "strategy", "type"], json!("RollingUpdate"));
        set_default(
            obj,
            &["spec", "strategy", "rollingUpdate", "maxSurge"],
            json!("25%"),
        );
        set_default(
            obj,
            &["spec", "strategy", "rollingUpdate", "maxUnavailable"],
            json!("25%"),
        );
    }
    default_pod_spec(&mut obj["spec"]["template"]["spec"]);
}

/// The StatefulSet's defaults.
fn stateful_set(obj: &mut Value) {
    set_default(obj, &["spec", "replicas"], json!(1));
    set_default(obj, &["spec", "podManagementPolicy"], json!("OrderedReady"));
    set_default(obj, &["spec", "revisionHistoryLimit"], json!(10));
    set_default(
        obj,
        &["spec", "updateStrategy", "type"],
        json!("RollingUpdate"),
    );
    if obj["spec"]["updateStrategy"]["type"] == "RollingUpdate" {
        set_default(
            obj,
            &["spec", "updateStrategy", "rollingUpdate", "partition"],
            json!(0),
        );
    }
    set_default(
        obj,
        &["spec", "persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    default_pod_spec(&mut obj["spec"]["template"]["spec"]);
    if let Some(vcts) = obj["spec"]["volumeClaimTemplates"].as_array_mut() {
        for v in vcts {
            set_default(v, &["apiVersion"], json!("v1"));
            set_default(v, &["kind"], json!("PersistentVolumeClaim"));
            set_default(v, &["spec", "volumeMode"], json!("Filesystem"));
            set_default(v, &["status", "phase"], json!("Pending"));
        }
    }
}

/// The DaemonSet's defaults.
fn daemon_set(obj: &mut Value) {
    set_default(obj, &["spec", "revisionHistoryLimit"], json!(10));
    set_default(
        obj,
        &["spec", "updateStrategy", "type"],
        json!("RollingUpdate"),
    );
    set_default(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"],
        json!(1),
    );
    set_default(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "maxSurge"],
        json!(0),
    );
    default_pod_spec(&mut obj["spec"]["template"]["spec"]);
}

/// The Job's defaults.
fn job(obj: &mut Value) {
    set_default(obj, &["spec", "completions"], json!(1));
    set_default(obj, &["spec", "parallelism"], json!(1));
    set_default(obj, &["spec", "backoffLimit"], json!(6));
    set_default(obj, &["spec", "completionMode"], json!("NonIndexed"));
    set_default(obj, &["spec", "suspend"], json!(false));
    // The job controller labels its pods; the selector is generated.
    let uid = obj["metadata"]["uid"].clone();
    if obj["spec"]["selector"].is_null() && !uid.is_null() {
        obj["spec"]["selector"] =
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        obj["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] =
            uid.clone();
        obj["spec"]["template"]["metadata"]["labels"]["controller-uid"] = uid;
        let name = obj["metadata"]["name"].clone();
        obj["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] =
            name.clone();
        obj["spec"]["template"]["metadata"]["labels"]["job-name"] = name;
    }
    set_default(
        obj,
        &["spec", "template", "spec", "restartPolicy"],
        json!("Never"),
    );
    default_pod_spec(&mut obj["spec"]["template"]["spec"]);
}

/// The Service's defaults.
fn service(obj: &mut Value, next_ip: &mut dyn FnMut() -> String) {
    set_default(obj, &["spec", "type"], json!("ClusterIP"));
    set_default(obj, &["spec", "sessionAffinity"], json!("None"));
    set_default(obj, &["spec", "ipFamilies"], json!(["IPv4"]));
    set_default(obj, &["spec", "ipFamilyPolicy"], json!("SingleStack"));
    set_default(obj, &["spec", "internalTrafficPolicy"], json!("Cluster"));
    if obj["spec"]["type"] != "ExternalName" {
        if obj["spec"]["clusterIP"].is_null() || obj["spec"]["clusterIP"] == "" {
            obj["spec"]["clusterIP"] = json!(next_ip());
        }
        let ip = obj["spec"]["clusterIP"].clone();
        set_default(obj, &["spec", "clusterIPs"], json!([ip]));
    }
    if let Some(ports) = obj["spec"]["ports"].as_array_mut() {
        for p in ports {
            set_default(p, &["protocol"], json!("TCP"));
            let port = p["port"].clone();
            set_default(p, &["targetPort"], port);
        }
    }
    set_default(obj, &["status", "loadBalancer"], json!({}));
}

/// One DNS label: lower case alphanumerics and '-', starting and ending with an alphanumeric
/// (a letter first, for RFC 1035).
fn is_label(s: &str, letter_first: bool) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.iter().all(|c| alnum(c) || *c == b'-')
        && (if letter_first {
            b[0].is_ascii_lowercase()
        } else {
            alnum(&b[0])
        })
        && alnum(&b[b.len() - 1])
}

/// Why a name is refused for this kind, as apimachinery's name validators say it: namespaces
/// are RFC 1123 labels, services RFC 1035 labels, RBAC objects path segments, everything else
/// RFC 1123 subdomains.
pub fn invalid_name(kind: &str, name: &str) -> Option<String> {
    match kind {
        "Namespace" | "Service" => {
            let rfc1035 = kind == "Service";
            if name.len() > 63 {
                return Some("must be no more than 63 characters".into());
            }
            (!is_label(name, rfc1035)).then(|| {
                if rfc1035 {
                    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".into()
                } else {
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".into()
                }
            })
        }
        // APIServices are named `<version>.<group>`, `v1.` for the core group.
        "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" | "APIService" => {
            (name == "." || name == ".." || name.contains('/') || name.contains('%'))
                .then(|| "may not be '.' or '..' and may not contain '/' or '%'".into())
        }
        _ => {
            if name.len() > 253 {
                return Some("must be no more than 253 characters".into());
            }
            (!name.split('.').all(|part| is_label(part, false))).then(|| {
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into()
            })
        }
    }
}

/// Create-time validation beyond what every object gets.
pub fn validate(kind: &str, obj: &Value, group: &str) -> Result<(), ApiError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let mut causes = Vec::new();
    if !name.is_empty()
        && let Some(why) = invalid_name(kind, name)
    {
        causes.push((
            "metadata.name".to_string(),
            format!("Invalid value: \"{name}\": {why}"),
        ));
    }
    crate::validation::causes(kind, group, obj, &mut causes);
    match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            let sel = &obj["spec"]["selector"];
            if sel.is_null() {
                causes.push(("spec.selector".into(), "Required value".into()));
            } else {
                let labels = &obj["spec"]["template"]["metadata"]["labels"];
                if !super::selectors::LabelSelector::from_object(sel).matches_labels(labels) {
                    causes.push((
                        "spec.template.metadata.labels".into(),
                        "Invalid value: `selector` does not match template `labels`".into(),
                    ));
                }
            }
            if obj["spec"]["template"]["spec"]["containers"]
                .as_array()
                .is_none_or(Vec::is_empty)
            {
                causes.push((
                    "spec.template.spec.containers".into(),
                    "Required value".into(),
                ));
            }
        }
        "Pod"
            if obj["spec"]["containers"]
                .as_array()
                .is_none_or(Vec::is_empty) =>
        {
            causes.push(("spec.containers".into(), "Required value".into()));
        }
        "Job"
            if obj["spec"]["template"]["spec"]["containers"]
                .as_array()
                .is_none_or(Vec::is_empty) =>
        {
            causes.push((
                "spec.template.spec.containers".into(),
                "Required value".into(),
            ));
        }
        "CronJob" => {
            let schedule = obj["spec"]["schedule"].as_str().unwrap_or_default();
            if schedule.is_empty() {
                causes.push(("spec.schedule".into(), "Required value".into()));
            } else if let Err(why) = crate::controllers::cronjobs::Schedule::parse(schedule) {
                causes.push((
                    "spec.schedule".into(),
                    format!("Invalid value: \"{schedule}\": {why}"),
                ));
            }
            if let Some(tz) = obj["spec"]["timeZone"].as_str()
                && !crate::controllers::cronjobs::known_time_zone(tz)
            {
                causes.push((
                    "spec.timeZone".into(),
                    format!("Invalid value: \"{tz}\": unknown time zone {tz}"),
                ));
            }
            if obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
                .as_array()
                .is_none_or(Vec::is_empty)
            {
                causes.push((
                    "spec.jobTemplate.spec.template.spec.containers".into(),
                    "Required value".into(),
                ));
            }
        }
        "Service"
            if obj["spec"]["type"] != "ExternalName"
                && obj["spec"]["clusterIP"] != "None"
                && obj["spec"]["ports"].as_array().is_none_or(Vec::is_empty) =>
        {
            causes.push(("spec.ports".into(), "Required value".into()));
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(kind, name, group, causes))
    }
}

/// Update-time immutability rules of the built-in types.
pub fn validate_update(kind: &str, old: &Value, new: &Value, group: &str) -> Result<(), ApiError> {
    let name = new["metadata"]["name"].as_str().unwrap_or_default();
    let forbid = |field: &str, msg: &str| {
        Err(ApiError::invalid(
            kind,
            name,
            group,
            vec![(field.into(), msg.into())],
        ))
    };
    match kind {
        "StatefulSet" => {
            let strip = |v: &Value| {
                let mut s = v["spec"].clone();
                if let Some(m) = s.as_object_mut() {
                    for k in [
                        "replicas",
                        "ordinals",
                        "template",
                        "updateStrategy",
                        "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds",
                    ] {
                        m.remove(k);
                    }
                    if let Some(vcts) = m
                        .get_mut("volumeClaimTemplates")
                        .and_then(Value::as_array_mut)
                    {
                        for v in vcts {
                            if let Some(vm) = v.as_object_mut() {
                                vm.remove("status");
                                vm.remove("apiVersion");
                                vm.remove("kind");
                            }
                        }
                    }
                }
                s
            };
            if strip(old) != strip(new) {
                return forbid(
                    "spec",
                    "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                );
            }
        }
        "Deployment" | "ReplicaSet" | "DaemonSet"
            if old["spec"]["selector"] != new["spec"]["selector"] =>
        {
            return forbid("spec.selector", "Invalid value: field is immutable");
        }
        "Job" => {
            if old["spec"]["template"] != new["spec"]["template"] {
                return forbid("spec.template", "Invalid value: field is immutable");
            }
            if old["spec"]["completions"] != new["spec"]["completions"] {
                return forbid("spec.completions", "Invalid value: field is immutable");
            }
        }
        "Service" => {
            let (o, n) = (&old["spec"]["clusterIP"], &new["spec"]["clusterIP"]);
            if !n.is_null() && n != "" && o != n {
                return forbid("spec.clusterIPs[0]", "Invalid value: field is immutable");
            }
        }
        "PersistentVolumeClaim" => {
            let strip = |v: &Value| {
                let mut s = v["spec"].clone();
                if let Some(m) = s.as_object_mut() {
                    m.remove("resources");
                    m.remove("volumeName");
                }
                s
            };
            if strip(old) != strip(new) && !old["spec"]["volumeName"].is_null() {
                return forbid(
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests for bound claims",
                );
            }
        }
        "Secret" | "ConfigMap"
            if old["immutable"] == true
                && (old["data"] != new["data"] || old["binaryData"] != new["binaryData"]) =>
        {
            return forbid(
                "data",
                "Forbidden: field is immutable when `immutable` is set",
            );
        }
        _ => {}
    }
    Ok(())
}
