//! What the API server checks and fills in before a write: the namespace exists and is not
//! terminating, the body names what the path says, claims only grow where the class allows,
//! and pods get their service account token and defaults.

use super::*;

impl Store {
    pub(super) fn furnish_namespace(&mut self, ns: &str) {
        let Some(ca) = self.root_ca.clone() else {
            return;
        };
        let _ = self.create_system(
            ("v1", "ServiceAccount"),
            ns,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
        );
        let _ = self.create_system(
            ("v1", "ConfigMap"),
            ns,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                   "data": {"ca.crt": ca}}),
        );
    }

    /// A claim's size may only grow, and only when its class allows expansion: the API
    /// server's validation and its PersistentVolumeClaimResize admission plugin.
    pub(super) fn admit_claim_resize(
        &self,
        name: &str,
        old: &Value,
        new: &Value,
    ) -> Result<(), ApiError> {
        let size = |v: &Value| {
            v["spec"]["resources"]["requests"]["storage"]
                .as_str()
                .and_then(crate::quantity::milli)
        };
        let (Some(was), Some(now)) = (size(old), size(new)) else {
            return Ok(());
        };
        if now < was && !old["spec"]["volumeName"].is_null() {
            return Err(ApiError::invalid(
                "PersistentVolumeClaim",
                name,
                "",
                vec![(
                    "spec.resources.requests.storage".into(),
                    "Forbidden: field can not be less than previous value".into(),
                )],
            ));
        }
        if now > was && !old["spec"]["volumeName"].is_null() {
            let class = old["spec"]["storageClassName"].as_str().unwrap_or_default();
            let expandable = self
                .peek_gr(
                    &("storage.k8s.io".into(), "storageclasses".into()),
                    "",
                    class,
                )
                .is_some_and(|sc| sc["allowVolumeExpansion"] == true);
            if !expandable {
                return Err(ApiError::new(
                    403,
                    "Forbidden",
                    format!(
                        "persistentvolumeclaims {name:?} is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The AWS Load Balancer Controller's Service webhook (`mservice.elbv2.k8s.aws`, registered
    /// by its MutatingWebhookConfiguration): on create, a Service of type LoadBalancer that names
    /// no class gets `service.k8s.aws/nlb`, making the controller its load balancer (the
    /// controller's installation guide, v2.5 and later). It runs only while registered.
    pub(super) fn admit_service(&mut self, svc: &mut Value) {
        if svc["spec"]["type"] != "LoadBalancer" || !svc["spec"]["loadBalancerClass"].is_null() {
            return;
        }
        let registered = self
            .iter_gr(
                &(
                    "admissionregistration.k8s.io".into(),
                    "mutatingwebhookconfigurations".into(),
                ),
                None,
            )
            .any(|c| {
                c["webhooks"]
                    .as_array()
                    .is_some_and(|ws| ws.iter().any(|w| w["name"] == "mservice.elbv2.k8s.aws"))
            });
        if registered {
            svc["spec"]["loadBalancerClass"] = json!("service.k8s.aws/nlb");
        }
    }

    /// The ServiceAccount admission plugin: a pod runs as `default` unless it names another,
    /// and gets the projected API token volume unless automounting is turned off.
    pub(super) fn admit_pod(&mut self, ns: &str, pod: &mut Value) {
        if self.root_ca.is_none() {
            return;
        }
        let spec = &mut pod["spec"];
        if !spec.is_object() {
            return;
        }
        let sa = spec["serviceAccountName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or_else(|| spec["serviceAccount"].as_str().filter(|s| !s.is_empty()))
            .unwrap_or("default")
            .to_string();
        spec["serviceAccountName"] = json!(sa);
        spec["serviceAccount"] = json!(sa);
        let sa_automount = self
            .peek_gr(&(String::new(), "serviceaccounts".into()), ns, &sa)
            .map(|a| a["automountServiceAccountToken"].clone())
            .unwrap_or(Value::Null);
        let automount = match &spec["automountServiceAccountToken"] {
            Value::Bool(b) => *b,
            _ => sa_automount != Value::Bool(false),
        };
        const PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
        let mounted = ["containers", "initContainers"].iter().any(|l| {
            spec[*l].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["volumeMounts"]
                        .as_array()
                        .is_some_and(|ms| ms.iter().any(|m| m["mountPath"] == PATH))
                })
            })
        });
        if !automount || mounted {
            return;
        }
        self.uid_counter += 1;
        let volume = format!(
            "kube-api-access-{}",
            &format!(
                "{:05x}",
                self.uid_counter.wrapping_mul(2_654_435_761) & 0xfffff
            )
        );
        let projected = json!({"name": volume, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}});
        match spec["volumes"].as_array_mut() {
            Some(vs) => vs.push(projected),
            None => spec["volumes"] = json!([projected]),
        }
        for l in ["containers", "initContainers"] {
            if let Some(cs) = spec.get_mut(l).and_then(Value::as_array_mut) {
                for c in cs {
                    let m = json!({"name": volume, "readOnly": true, "mountPath": PATH});
                    match c["volumeMounts"].as_array_mut() {
                        Some(ms) => ms.push(m),
                        None => c["volumeMounts"] = json!([m]),
                    }
                }
            }
        }
    }

    pub(super) fn check_namespace(&self, rt: &ResourceType, ns: &str) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let nsgr = (String::new(), "namespaces".to_string());
        match self.get_gr(&nsgr, "", ns) {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(n) if !n["metadata"]["deletionTimestamp"].is_null() => Err(ApiError::new(
                403,
                "Forbidden",
                format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    rt.plural, ""
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Checks apiVersion/kind/namespace of a body against the URL it was sent to.
    pub(super) fn check_body(rt: &ResourceType, ns: &str, obj: &mut Value) -> Result<(), ApiError> {
        // A null field is an unset field, as decoding into the API types makes it: stored
        // nulls would differ from the next apply and bump generations for nothing.
        strip_nulls(obj);
        if !obj.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        let kind = obj["kind"].as_str().unwrap_or_default();
        if !kind.is_empty() && kind != rt.kind {
            return Err(ApiError::bad_request(format!(
                "the kind in the body ({kind}) does not match the resource {} ({})",
                rt.plural, rt.kind
            )));
        }
        let av = obj["apiVersion"].as_str().unwrap_or_default();
        if !av.is_empty() && av != rt.api_version() {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
        if crate::validation::is_builtin(&rt.kind, &rt.group) {
            crate::validation::decode(&rt.kind, &rt.version, obj)?;
        }
        obj["kind"] = json!(rt.kind);
        obj["apiVersion"] = json!(rt.api_version());
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        if rt.namespaced {
            let body_ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        Ok(())
    }
}

/// The simulated cluster has one user with every right: access reviews allow, token reviews
/// authenticate that user, rules reviews list everything. Nothing is stored.
pub(super) fn review_answer(rt: &ResourceType, mut obj: Value) -> Value {
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    let user =
        json!({"username": "helmdeck-sim", "groups": ["system:masters", "system:authenticated"]});
    obj["status"] = match rt.kind.as_str() {
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        "TokenReview" => {
            json!({"authenticated": true, "user": user, "audiences": obj["spec"]["audiences"].clone()})
        }
        "SelfSubjectReview" => json!({"userInfo": user}),
        _ => json!({"allowed": true, "reason": "the simulated cluster allows everything"}),
    };
    obj
}
