//! What the cluster's own components write: events, statuses and objects made by the system.

use super::*;

impl Store {
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
        let existing = self
            .iter_stored(&gr, Some(&ns))
            .filter(|(_, e)| iuid.as_str().is_none_or(|u| e.json().contains(u)))
            .map(|(k, e)| (k, e.read(false)))
            .find(|(_, e)| e["involvedObject"]["uid"] == iuid && e["reason"] == reason)
            .map(|(k, e)| (k.clone(), e.into_owned()));
        let now = now_rfc3339();
        if let Some((key, mut ev)) = existing
            && ev["message"] == message
        {
            ev["count"] = json!(ev["count"].as_i64().unwrap_or(1) + 1);
            ev["lastTimestamp"] = json!(now);
            let rv = self.bump();
            ev["metadata"]["resourceVersion"] = json!(rv.to_string());
            self.put(&gr, key, &ev);
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
        self.put(gr, (ns.to_string(), name.to_string()), &new);
        self.emit(gr, ns, "MODIFIED", new.clone());
        Some(new)
    }

    /// Replaces an object wholesale (controllers: labels, spec.nodeName, …).
    pub fn put_raw(&mut self, gr: &Gr, ns: &str, name: &str, mut obj: Value) -> Value {
        let keep = self.keeps_parsed(gr);
        if self
            .stored(gr, ns, name)
            .is_some_and(|s| *s.read(keep) == obj)
        {
            return obj;
        }
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.put(gr, (ns.to_string(), name.to_string()), &obj);
        self.emit(gr, ns, "MODIFIED", obj.clone());
        obj
    }

    /// Puts back an object recorded elsewhere as it was (uid, times and status kept, a fresh
    /// resourceVersion); a CRD's types become served. For clusters replayed from a bundle.
    pub fn restore(&mut self, mut obj: Value) -> Result<Value, ApiError> {
        let api = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let rt = self
            .type_for_kind(&api, &kind)
            .ok_or_else(|| ApiError::bad_request(format!("no type {api}/{kind} is served")))?;
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(ApiError::bad_request(format!("a {kind} without a name")));
        }
        let ns = if rt.namespaced {
            obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        if rt.kind == "CustomResourceDefinition" {
            for t in resources::from_crd(&obj) {
                if !self.types.contains(&t) {
                    self.types.push(t);
                }
            }
        }
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(self.new_uid());
        }
        let gr = (rt.group.clone(), rt.plural.clone());
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.put(&gr, (ns.clone(), name), &obj);
        self.emit(&gr, &ns, "ADDED", obj.clone());
        Ok(obj)
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
