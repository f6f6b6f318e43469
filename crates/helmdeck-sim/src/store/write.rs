//! Writes: create, update, patch and server-side apply, each with its generation,
//! resourceVersion and managed fields.

use super::admission::review_answer;
use super::*;

impl Store {
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
        if self.has(&gr, ns, &name) {
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
        if rt.kind == "Service" && rt.group.is_empty() {
            self.admit_service(&mut obj);
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
        self.put(&gr, (ns.to_string(), name.clone()), &obj);
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
        let Some(old) = self.get_gr(&gr, ns, name) else {
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
    pub(super) fn commit_update(
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
        self.put(gr, (ns.to_string(), name.to_string()), &new);
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
        let Some(old) = self.get_gr(&gr, ns, name) else {
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
        let Some(live) = self.get_gr(&gr, ns, name) else {
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
