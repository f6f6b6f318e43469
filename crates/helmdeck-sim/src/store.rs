//! The simulated API server's state: typed objects, one resourceVersion counter, an event log
//! for watches, and the write rules (defaults, validation, generation, finalizers, garbage
//! collection, server-side apply). Controllers and the HTTP layer both go through here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, broadcast};

use super::defaults;
use super::errors::ApiError;
use super::patch;
use super::resources::{self, ResourceType};
use super::selectors::{FieldSelector, LabelSelector};

/// Group and plural: the identity of a resource type across versions.
pub type Gr = (String, String);

#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub rv: u64,
    pub gr: Gr,
    pub namespace: String,
    pub etype: &'static str,
    pub object: Arc<Value>,
}

/// How a write is to be done.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_manager: Option<String>,
}

/// What a list returns.
pub struct ListResult {
    pub items: Vec<Value>,
    pub rv: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

pub struct Store {
    types: Vec<ResourceType>,
    objects: HashMap<Gr, BTreeMap<(String, String), Value>>,
    rv: u64,
    log: VecDeque<Arc<WatchEvent>>,
    log_cap: usize,
    /// The oldest resourceVersion a watch may start from.
    pub oldest_rv: u64,
    tx: broadcast::Sender<Arc<WatchEvent>>,
    next_ip: u32,
    uid_counter: u64,
    /// Woken on every write, so controllers reconcile.
    pub changed: Arc<Notify>,
    /// The cluster CA every namespace's `kube-root-ca.crt` carries.
    root_ca: Option<String>,
}

/// An object as read through one version of its type: every version of a type shares one
/// storage, and a real server answers in the version asked for. Fields are not converted
/// (the simulator keeps one shape per type).
pub fn served_as(rt: &ResourceType, mut v: Value) -> Value {
    if v.get("apiVersion")
        .is_some_and(|a| a.as_str() != Some(rt.api_version().as_str()))
    {
        v["apiVersion"] = Value::String(rt.api_version());
    }
    v
}

/// [`served_as`] for a borrowed object: copied only when its version differs (lists and
/// watches at scale serialize straight from the store).
pub fn served_ref<'a>(rt: &ResourceType, v: &'a Value) -> std::borrow::Cow<'a, Value> {
    if v.get("apiVersion")
        .is_some_and(|a| a.as_str() != Some(rt.api_version().as_str()))
    {
        std::borrow::Cow::Owned(served_as(rt, v.clone()))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as `2026-11-24T23:05:56Z`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store::with_types(resources::builtin())
    }

    /// A store serving these built-in types (a Kubernetes release's set).
    pub fn with_types(types: Vec<ResourceType>) -> Store {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            types,
            objects: HashMap::new(),
            rv: 1,
            log: VecDeque::new(),
            log_cap: 50_000,
            oldest_rv: 1,
            tx,
            next_ip: 1,
            uid_counter: 0,
            changed: Arc::new(Notify::new()),
            root_ca: None,
        }
    }

    /// From now on every new namespace gets a `default` ServiceAccount and a
    /// `kube-root-ca.crt` ConfigMap with this CA, as the service-account and root-CA
    /// publisher controllers make them (here at once, so a pod created right after its
    /// namespace finds them, as it almost always does on a real cluster).
    pub fn set_root_ca(&mut self, pem: String) {
        self.root_ca = Some(pem);
    }

    fn furnish_namespace(&mut self, ns: &str) {
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
    fn admit_claim_resize(&self, name: &str, old: &Value, new: &Value) -> Result<(), ApiError> {
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
                .get_gr(
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

    /// The ServiceAccount admission plugin: a pod runs as `default` unless it names another,
    /// and gets the projected API token volume unless automounting is turned off.
    fn admit_pod(&mut self, ns: &str, pod: &mut Value) {
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
            .get_gr(&(String::new(), "serviceaccounts".into()), ns, &sa)
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
            if let Some(cs) = spec[l].as_array_mut() {
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

    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// Forgets watch history, as an API server restart or compaction does.
    pub fn compact(&mut self) {
        self.log.clear();
        self.oldest_rv = self.rv;
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    pub fn type_for_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    fn new_uid(&mut self) -> String {
        self.uid_counter += 1;
        let n = self.uid_counter;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n as u32,
            (n >> 8) as u16,
            n & 0xfff,
            (n >> 4) & 0xfff,
            n
        )
    }

    fn next_cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        let n = self.next_ip;
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }

    fn emit(&mut self, gr: &Gr, namespace: &str, etype: &'static str, object: Value) {
        let ev = Arc::new(WatchEvent {
            rv: self.rv,
            gr: gr.clone(),
            namespace: namespace.to_string(),
            etype,
            object: Arc::new(object),
        });
        self.log.push_back(ev.clone());
        while self.log.len() > self.log_cap {
            if let Some(old) = self.log.pop_front() {
                self.oldest_rv = old.rv;
            }
        }
        let _ = self.tx.send(ev);
        self.changed.notify_one();
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.get_gr(&(rt.group.clone(), rt.plural.clone()), ns, name)
            .map(|v| served_as(rt, v.clone()))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    pub fn get_gr(&self, gr: &Gr, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(gr)
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
    }

    /// All objects of a type (any namespace when `ns` is None).
    pub fn iter_gr<'a>(
        &'a self,
        gr: &Gr,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .get(gr)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |((n, _), _)| ns.is_none_or(|want| want == n))
            .map(|(_, v)| v)
    }

    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_from: Option<&str>,
    ) -> Result<ListResult, ApiError> {
        let (refs, rv, continue_token, remaining) =
            self.select(rt, ns, labels, fields, limit, continue_from)?;
        Ok(ListResult {
            items: refs.into_iter().map(|v| served_as(rt, v.clone())).collect(),
            rv,
            continue_token,
            remaining,
        })
    }

    /// The objects a list would return, by reference (no copies: watches at scale).
    pub fn list_refs(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Result<(Vec<&Value>, u64), ApiError> {
        let (refs, rv, _, _) = self.select(rt, ns, labels, fields, None, None)?;
        Ok((refs, rv))
    }

    /// A list response serialized straight from the store, without copying the objects.
    #[allow(clippy::too_many_arguments)]
    pub fn list_json(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_from: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        let (refs, rv, continue_token, remaining) =
            self.select(rt, ns, labels, fields, limit, continue_from)?;
        let empty = ListResult {
            items: Vec::new(),
            rv,
            continue_token,
            remaining,
        };
        let mut head = serde_json::to_vec(&list_body(rt, empty)).unwrap_or_default();
        // Replace the empty `"items":[]}` tail with the items written in place.
        let tail = b"\"items\":[]}";
        if head.ends_with(tail) {
            head.truncate(head.len() - 2);
        } else {
            return Ok(head);
        }
        let mut out = head;
        out.reserve(refs.len() * 2048);
        for (i, item) in refs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = serde_json::to_writer(&mut out, served_ref(rt, item).as_ref());
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    fn select<'a>(
        &'a self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_from: Option<&str>,
    ) -> Result<(Vec<&'a Value>, u64, Option<String>, Option<usize>), ApiError> {
        let gr = (rt.group.clone(), rt.plural.clone());
        let after: Option<(String, String)> = match continue_from {
            Some(tok) if !tok.is_empty() => {
                use base64::Engine;
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(tok)
                    .map_err(|_| ApiError::bad_request("invalid continue token"))?;
                let s = String::from_utf8_lossy(&raw).to_string();
                let (rv, rest) = s
                    .split_once('\n')
                    .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
                let rv: u64 = rv
                    .parse()
                    .map_err(|_| ApiError::bad_request("invalid continue token"))?;
                if rv < self.oldest_rv {
                    return Err(ApiError::gone(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    ));
                }
                let (n, name) = rest.split_once('\n').unwrap_or(("", rest));
                Some((n.to_string(), name.to_string()))
            }
            _ => None,
        };
        let mut items = Vec::new();
        let mut last_key = None;
        let mut remaining = 0usize;
        if let Some(m) = self.objects.get(&gr) {
            let range: Box<dyn Iterator<Item = (&(String, String), &Value)>> = match &after {
                Some(k) => Box::new(m.range((
                    std::ops::Bound::Excluded(k.clone()),
                    std::ops::Bound::Unbounded,
                ))),
                None => Box::new(m.iter()),
            };
            for (k, v) in range {
                if ns.is_some_and(|want| want != k.0) {
                    continue;
                }
                if !labels.matches(v) || !fields.matches(v) {
                    continue;
                }
                if limit.is_some_and(|l| items.len() >= l) {
                    remaining += 1;
                    continue;
                }
                items.push(v);
                last_key = Some(k.clone());
            }
        }
        let continue_token = if remaining > 0 {
            last_key.map(|(n, name)| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(format!("{}\n{n}\n{name}", self.rv))
            })
        } else {
            None
        };
        Ok((
            items,
            self.rv,
            continue_token,
            (remaining > 0).then_some(remaining),
        ))
    }

    /// Starts a watch: the events after `since` (410 if too old) and a live receiver.
    #[allow(clippy::type_complexity)]
    pub fn watch_from(
        &self,
        rt: &ResourceType,
        since: u64,
    ) -> Result<(Vec<Arc<WatchEvent>>, broadcast::Receiver<Arc<WatchEvent>>), ApiError> {
        if since < self.oldest_rv {
            return Err(ApiError::gone(format!(
                "too old resource version: {since} ({})",
                self.oldest_rv
            )));
        }
        let gr = (rt.group.clone(), rt.plural.clone());
        let backlog = self
            .log
            .iter()
            .filter(|e| e.rv > since && e.gr == gr)
            .cloned()
            .collect();
        Ok((backlog, self.tx.subscribe()))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.tx.subscribe()
    }

    fn check_namespace(&self, rt: &ResourceType, ns: &str) -> Result<(), ApiError> {
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
    fn check_body(rt: &ResourceType, ns: &str, obj: &mut Value) -> Result<(), ApiError> {
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

    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { ns } else { "" };
        if rt.review {
            return Ok(review_answer(rt, obj));
        }
        Self::check_body(rt, ns, &mut obj)?;
        let mut name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            let prefix = obj["metadata"]["generateName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &rt.kind,
                    "",
                    &rt.group,
                    vec![(
                        "metadata.name".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
            let suffix: String = format!(
                "{:05x}",
                self.uid_counter.wrapping_mul(2_654_435_761) & 0xfffff
            )
            .chars()
            .map(|c| match c {
                '0' => 'b',
                '1' => 'c',
                '2' => 'd',
                '3' => 'f',
                other => other,
            })
            .collect();
            name = format!("{prefix}{suffix}");
            self.uid_counter += 1;
            obj["metadata"]["name"] = json!(name);
        }
        self.check_namespace(rt, ns)?;
        let gr = (rt.group.clone(), rt.plural.clone());
        if self.get_gr(&gr, ns, &name).is_some() {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        let uid = self.new_uid();
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(uid);
        meta["creationTimestamp"] = json!(now_rfc3339());
        meta["generation"] = json!(1);
        if let Some(m) = meta.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("resourceVersion");
        }
        if let Some(mgr) = &opts.field_manager
            && obj["metadata"]["managedFields"].is_null()
        {
            let fs = patch::field_set(&obj);
            obj["metadata"]["managedFields"] = json!([{
                "manager": mgr, "operation": "Update", "apiVersion": rt.api_version(),
                "time": now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": fs,
            }]);
        }
        if rt.kind == "Pod" && rt.group.is_empty() {
            self.admit_pod(ns, &mut obj);
        }
        let mut ip = || self.next_cluster_ip();
        defaults::apply(&rt.kind, &mut obj, &mut ip);
        defaults::validate(&rt.kind, &obj, &rt.group)?;
        if rt.kind == "CustomResourceDefinition" {
            let conds = json!([
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now_rfc3339()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now_rfc3339()},
            ]);
            obj["status"] = json!({"conditions": conds, "acceptedNames": obj["spec"]["names"].clone(), "storedVersions": []});
        }
        if opts.dry_run {
            obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            return Ok(obj);
        }
        if rt.kind == "CustomResourceDefinition" {
            for t in resources::from_crd(&obj) {
                if !self.types.contains(&t) {
                    self.types.push(t);
                }
            }
        }
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.clone()), obj.clone());
        self.emit(&gr, ns, "ADDED", obj.clone());
        if rt.kind == "Namespace" && rt.group.is_empty() {
            self.furnish_namespace(&name);
        }
        Ok(obj)
    }

    /// PUT of the main resource (status is kept) or of `/status` (only status changes).
    pub fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        status_only: bool,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { ns } else { "" };
        Self::check_body(rt, ns, &mut obj)?;
        let body_name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        let gr = (rt.group.clone(), rt.plural.clone());
        let Some(old) = self.get_gr(&gr, ns, name).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        if let Some(want) = obj["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            && old["metadata"]["resourceVersion"].as_str() != Some(want)
        {
            return Err(ApiError::conflict(
                &rt.group,
                &rt.plural,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let mut new = if status_only {
            let mut n = old.clone();
            n["status"] = obj["status"].clone();
            n
        } else {
            let mut n = obj;
            let has_status = rt.subresources.contains(&"status");
            if has_status {
                n["status"] = old["status"].clone();
                if n["status"].is_null()
                    && let Some(m) = n.as_object_mut()
                {
                    m.remove("status");
                }
            }
            // Server-owned metadata survives updates.
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
            ] {
                n["metadata"][k] = old["metadata"][k].clone();
            }
            if n["metadata"]["managedFields"].is_null() {
                n["metadata"]["managedFields"] = old["metadata"]["managedFields"].clone();
            }
            if rt.kind == "Service" && n["spec"]["clusterIP"].as_str().is_none_or(str::is_empty) {
                n["spec"]["clusterIP"] = old["spec"]["clusterIP"].clone();
                n["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
            }
            if rt.kind == "Job" {
                // The generated selector and labels are server-owned.
                if n["spec"]["selector"].is_null() {
                    n["spec"]["selector"] = old["spec"]["selector"].clone();
                }
                for (k, v) in old["spec"]["template"]["metadata"]["labels"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                {
                    if n["spec"]["template"]["metadata"]["labels"][&k].is_null() {
                        n["spec"]["template"]["metadata"]["labels"][&k] = v;
                    }
                }
            }
            let mut ip = || String::new();
            defaults::apply(&rt.kind, &mut n, &mut ip);
            n
        };
        // Drop nulls a client may have sent for removed metadata.
        for k in [
            "managedFields",
            "deletionTimestamp",
            "generation",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
        ] {
            if new["metadata"][k].is_null()
                && let Some(m) = new["metadata"].as_object_mut()
            {
                m.remove(k);
            }
        }
        defaults::validate(&rt.kind, &new, &rt.group)?;
        defaults::validate_update(&rt.kind, &old, &new, &rt.group)?;
        if rt.kind == "PersistentVolumeClaim" && rt.group.is_empty() && !status_only {
            self.admit_claim_resize(name, &old, &new)?;
        }
        if spec_of(&old) != spec_of(&new) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = json!(g + 1);
        }
        self.commit_update(rt, &gr, ns, name, old, new, opts)
    }

    #[allow(clippy::too_many_arguments)]
    fn commit_update(
        &mut self,
        rt: &ResourceType,
        gr: &Gr,
        ns: &str,
        name: &str,
        old: Value,
        mut new: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if strip_volatile(&new) == strip_volatile(&old) {
            return Ok(old);
        }
        if opts.dry_run {
            return Ok(new);
        }
        // Removing the last finalizer of an object being deleted completes the deletion.
        if !new["metadata"]["deletionTimestamp"].is_null()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty)
        {
            let rv = self.bump();
            new["metadata"]["resourceVersion"] = json!(rv.to_string());
            if let Some(m) = self.objects.get_mut(gr) {
                m.remove(&(ns.to_string(), name.to_string()));
            }
            self.emit(gr, ns, "DELETED", new.clone());
            self.collect_garbage(&new, Propagation::Background);
            return Ok(new);
        }
        if rt.kind == "CustomResourceDefinition" {
            for t in resources::from_crd(&new) {
                if !self.types.contains(&t) {
                    self.types.push(t);
                }
            }
        }
        let rv = self.bump();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), new.clone());
        self.emit(gr, ns, "MODIFIED", new.clone());
        Ok(new)
    }

    /// PATCH: merge, JSON, strategic merge; `status_only` for `/status`.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        content_type: &str,
        body: &Value,
        status_only: bool,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { ns } else { "" };
        let gr = (rt.group.clone(), rt.plural.clone());
        let Some(old) = self.get_gr(&gr, ns, name).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        let patched = match content_type {
            "application/json-patch+json" => {
                patch::json_patch(&old, body).map_err(|e| ApiError::new(422, "Invalid", e))?
            }
            "application/merge-patch+json" => patch::merge_patch(&old, body),
            "application/strategic-merge-patch+json" => {
                if resources::builtin()
                    .iter()
                    .all(|t| t.kind != rt.kind || t.group != rt.group)
                {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    ));
                }
                patch::strategic_merge(&old, body).map_err(ApiError::bad_request)?
            }
            other => {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!("unsupported patch type {other:?}"),
                ));
            }
        };
        let mut patched = patched;
        // A patch carries no precondition unless it names a resourceVersion.
        if body["metadata"]["resourceVersion"].is_null() {
            patched["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        }
        if !status_only && rt.subresources.contains(&"status") {
            patched["status"] = old["status"].clone();
        }
        self.update(rt, ns, name, patched, status_only, opts)
    }

    /// Server-side apply (`application/apply-patch+yaml`).
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        applied: Value,
        manager: &str,
        force: bool,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { ns } else { "" };
        let gr = (rt.group.clone(), rt.plural.clone());
        let mut applied = applied;
        strip_nulls(&mut applied);
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the applied configuration must be an object",
            ));
        }
        if applied["metadata"]["name"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            applied["metadata"]["name"] = json!(name);
        }
        let new_set = patch::field_set(&applied);
        let entry = |time: String, fs: &Value| {
            json!({"manager": manager, "operation": "Apply", "apiVersion": rt.api_version(),
                   "time": time, "fieldsType": "FieldsV1", "fieldsV1": fs})
        };
        let Some(live) = self.get_gr(&gr, ns, name).cloned() else {
            let mut obj = applied;
            obj["metadata"]["managedFields"] = json!([entry(now_rfc3339(), &new_set)]);
            return self.create(rt, ns, obj, opts);
        };
        let managed: Vec<Value> = live["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // Conflicts with other appliers that own a field this apply changes.
        let mut conflicts = Vec::new();
        let mut new_paths = Vec::new();
        patch::field_paths(&new_set, "", &mut new_paths);
        let mut others = Vec::new();
        for m in &managed {
            if m["manager"] == manager || m["operation"] != "Apply" {
                continue;
            }
            let mut theirs = Vec::new();
            patch::field_paths(&m["fieldsV1"], "", &mut theirs);
            for p in &new_paths {
                if theirs.contains(p) && patch::value_at(&live, p) != patch::value_at(&applied, p) {
                    conflicts.push((
                        m["manager"].as_str().unwrap_or_default().to_string(),
                        p.clone(),
                    ));
                }
            }
            others.push(m.clone());
        }
        if !conflicts.is_empty() && !force {
            let text: Vec<String> = conflicts
                .iter()
                .map(|(m, p)| {
                    format!(
                        "conflict with \"{m}\": {}",
                        p.replace("f:", ".").replace("..", ".")
                    )
                })
                .collect();
            let mut e = ApiError::new(
                409,
                "Conflict",
                format!(
                    "Apply failed with {} conflict(s): {}",
                    conflicts.len(),
                    text.join("; ")
                ),
            );
            e.details = json!({"causes": conflicts.iter().map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": p})).collect::<Vec<_>>()});
            return Err(e);
        }
        let prev_set = managed
            .iter()
            .find(|m| m["manager"] == manager && m["operation"] == "Apply")
            .map(|m| m["fieldsV1"].clone())
            .unwrap_or(json!({}));
        let mut merged = live.clone();
        patch::remove_dropped(&mut merged, &prev_set, &new_set);
        let mut to_merge = applied.clone();
        if let Some(m) = to_merge.as_object_mut() {
            m.remove("status");
        }
        let mut merged = patch::apply_merge(&merged, &to_merge).map_err(ApiError::bad_request)?;
        // Forcing moves the conflicting fields to this manager: the others lose them.
        let mut new_managed: Vec<Value> = managed
            .into_iter()
            .filter(|m| !(m["manager"] == manager && m["operation"] == "Apply"))
            .map(|mut m| {
                for (owner, path) in &conflicts {
                    if m["manager"] == owner.as_str() {
                        patch::remove_field_path(&mut m["fieldsV1"], path);
                    }
                }
                m
            })
            .collect();
        let changed = strip_volatile(&merged) != strip_volatile(&live);
        let time = if changed {
            now_rfc3339()
        } else {
            live["metadata"]["managedFields"]
                .as_array()
                .and_then(|a| a.iter().find(|m| m["manager"] == manager))
                .and_then(|m| m["time"].as_str().map(str::to_string))
                .unwrap_or_else(now_rfc3339)
        };
        new_managed.push(entry(time, &new_set));
        merged["metadata"]["managedFields"] = Value::Array(new_managed);
        merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
        if rt.subresources.contains(&"status") {
            merged["status"] = live["status"].clone();
        }
        self.update(rt, ns, name, merged, false, opts)
    }

    pub fn delete(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        propagation: Propagation,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { ns } else { "" };
        let gr = (rt.group.clone(), rt.plural.clone());
        let Some(mut obj) = self.get_gr(&gr, ns, name).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        if opts.dry_run {
            return Ok(obj);
        }
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
            || (rt.kind == "Namespace"
                && obj["spec"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()));
        if rt.kind == "Namespace" {
            // Namespace deletion: everything inside goes, then the namespace.
            let contents: Vec<(ResourceType, String)> = self
                .types
                .iter()
                .filter(|t| t.namespaced)
                .flat_map(|t| {
                    self.iter_gr(&(t.group.clone(), t.plural.clone()), Some(name))
                        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                        .map(|n| (t.clone(), n))
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut seen = std::collections::HashSet::new();
            for (t, n) in contents {
                if seen.insert((t.group.clone(), t.plural.clone(), n.clone())) {
                    let _ = self.force_remove(&t, name, &n);
                }
            }
        } else if has_finalizers {
            if obj["metadata"]["deletionTimestamp"].is_null() {
                obj["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                let rv = self.bump();
                obj["metadata"]["resourceVersion"] = json!(rv.to_string());
                self.objects
                    .entry(gr.clone())
                    .or_default()
                    .insert((ns.to_string(), name.to_string()), obj.clone());
                self.emit(&gr, ns, "MODIFIED", obj.clone());
            }
            return Ok(obj);
        }
        let removed = self.force_remove(rt, ns, name).unwrap_or(obj);
        self.collect_garbage(&removed, propagation);
        Ok(removed)
    }

    /// Removes an object now, emitting DELETED.
    fn force_remove(&mut self, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
        let gr = (rt.group.clone(), rt.plural.clone());
        let mut obj = self
            .objects
            .get_mut(&gr)?
            .remove(&(ns.to_string(), name.to_string()))?;
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.emit(&gr, ns, "DELETED", obj.clone());
        Some(obj)
    }

    /// Garbage collection through ownerReferences.
    fn collect_garbage(&mut self, owner: &Value, propagation: Propagation) {
        let uid = owner["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if uid.is_empty() {
            return;
        }
        let mut dependents = Vec::new();
        for (gr, objs) in &self.objects {
            for ((ns, name), o) in objs {
                if o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()))
                {
                    dependents.push((gr.clone(), ns.clone(), name.clone()));
                }
            }
        }
        for (gr, ns, name) in dependents {
            let Some(rt) = self
                .types
                .iter()
                .find(|t| t.group == gr.0 && t.plural == gr.1)
                .cloned()
            else {
                continue;
            };
            match propagation {
                Propagation::Orphan => {
                    if let Some(mut o) = self.get_gr(&gr, &ns, &name).cloned() {
                        if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != uid.as_str());
                        }
                        let rv = self.bump();
                        o["metadata"]["resourceVersion"] = json!(rv.to_string());
                        self.objects
                            .entry(gr.clone())
                            .or_default()
                            .insert((ns.clone(), name.clone()), o.clone());
                        self.emit(&gr, &ns, "MODIFIED", o);
                    }
                }
                _ => {
                    let _ = self.delete(
                        &rt,
                        &ns,
                        &name,
                        Propagation::Background,
                        &WriteOpts::default(),
                    );
                }
            }
        }
    }

    /// Records a core/v1 Event about an object, as controllers and the kubelet do.
    pub fn record_event(&mut self, involved: &Value, etype: &str, reason: &str, message: &str) {
        let ns = involved["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let iname = involved["metadata"]["name"].as_str().unwrap_or_default();
        let gr = (String::new(), "events".to_string());
        let iuid = involved["metadata"]["uid"].clone();
        // Repeated events are counted, as the event recorder does.
        let existing = self.objects.get(&gr).and_then(|m| {
            m.iter()
                .find(|((n, _), e)| {
                    *n == ns && e["involvedObject"]["uid"] == iuid && e["reason"] == reason
                })
                .map(|(k, v)| (k.clone(), v.clone()))
        });
        let now = now_rfc3339();
        if let Some((key, mut ev)) = existing
            && ev["message"] == message
        {
            ev["count"] = json!(ev["count"].as_i64().unwrap_or(1) + 1);
            ev["lastTimestamp"] = json!(now);
            let rv = self.bump();
            ev["metadata"]["resourceVersion"] = json!(rv.to_string());
            self.objects
                .entry(gr.clone())
                .or_default()
                .insert(key, ev.clone());
            self.emit(&gr, &ns, "MODIFIED", ev);
            return;
        }
        self.uid_counter += 1;
        let name = format!("{iname}.{:016x}", self.uid_counter);
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {
                "apiVersion": involved["apiVersion"], "kind": involved["kind"], "name": iname,
                "namespace": involved["metadata"]["namespace"], "uid": involved["metadata"]["uid"],
                "resourceVersion": involved["metadata"]["resourceVersion"],
            },
            "reason": reason, "message": message, "type": etype,
            "source": {"component": if involved["kind"] == "Pod" { "kubelet" } else { "controller-manager" }},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": "helmdeck-sim", "reportingInstance": "sim",
        });
        let rt = self
            .find_type("", "v1", "events")
            .unwrap_or_else(|| resources::builtin()[0].clone());
        let _ = self.create(&rt, &ns, ev, &WriteOpts::default());
    }

    /// Writes an object's status directly (controllers).
    pub fn set_status(&mut self, gr: &Gr, ns: &str, name: &str, status: Value) -> Option<Value> {
        let old = self.get_gr(gr, ns, name)?.clone();
        if old["status"] == status {
            return Some(old);
        }
        let mut new = old;
        new["status"] = status;
        let rv = self.bump();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), new.clone());
        self.emit(gr, ns, "MODIFIED", new.clone());
        Some(new)
    }

    /// Replaces an object wholesale (controllers: labels, spec.nodeName, …).
    pub fn put_raw(&mut self, gr: &Gr, ns: &str, name: &str, mut obj: Value) -> Value {
        if self.get_gr(gr, ns, name) == Some(&obj) {
            return obj;
        }
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), obj.clone());
        self.emit(gr, ns, "MODIFIED", obj.clone());
        obj
    }

    /// Creates an object owned by the system (controllers), bypassing body checks.
    pub fn create_system(
        &mut self,
        kind_api: (&str, &str),
        ns: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let rt = self.type_for_kind(kind_api.0, kind_api.1).ok_or_else(|| {
            ApiError::bad_request(format!("no type {}/{}", kind_api.0, kind_api.1))
        })?;
        self.create(&rt, ns, obj, &WriteOpts::default())
    }

    pub fn delete_system(&mut self, kind_api: (&str, &str), ns: &str, name: &str) {
        if let Some(rt) = self.type_for_kind(kind_api.0, kind_api.1) {
            let _ = self.delete(
                &rt,
                ns,
                name,
                Propagation::Background,
                &WriteOpts::default(),
            );
        }
    }
}

/// Everything but metadata and status: what `generation` counts.
fn spec_of(v: &Value) -> Value {
    let mut s = v.clone();
    if let Some(m) = s.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    s
}

fn strip_volatile(v: &Value) -> Value {
    let mut s = v.clone();
    if let Some(m) = s["metadata"].as_object_mut() {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    s
}

/// Makes a list body.
/// Removes null members of objects, recursively (list items are kept: a null item is data).
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The simulated cluster has one user with every right: access reviews allow, token reviews
/// authenticate that user, rules reviews list everything. Nothing is stored.
fn review_answer(rt: &ResourceType, mut obj: Value) -> Value {
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

pub fn list_body(rt: &ResourceType, res: ListResult) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(res.rv.to_string()));
    if let Some(c) = res.continue_token {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = res.remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(),
        "metadata": meta,
        "items": res.items,
    })
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
