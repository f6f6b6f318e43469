//! Deletes: finalizers, propagation (background, foreground, orphan) and the garbage
//! collector that follows owner references.

use super::*;

impl Store {
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
        let Some(mut obj) = self.get_gr(&gr, ns, name) else {
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
                self.put(&gr, (ns.to_string(), name.to_string()), &obj);
                self.emit(&gr, ns, "MODIFIED", obj.clone());
            }
            return Ok(obj);
        }
        let removed = self.force_remove(rt, ns, name).unwrap_or(obj);
        self.collect_garbage(&removed, propagation);
        Ok(removed)
    }

    /// Removes an object now, emitting DELETED.
    pub(super) fn force_remove(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
    ) -> Option<Value> {
        let gr = (rt.group.clone(), rt.plural.clone());
        let mut obj = self
            .objects
            .get_mut(&gr)?
            .remove(&(ns.to_string(), name.to_string()))?
            .read(false)
            .into_owned();
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.emit(&gr, ns, "DELETED", obj.clone());
        Some(obj)
    }

    /// Garbage collection through ownerReferences.
    pub(super) fn collect_garbage(&mut self, owner: &Value, propagation: Propagation) {
        let uid = owner["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if uid.is_empty() {
            return;
        }
        let mut dependents = Vec::new();
        for (gr, objs) in &self.objects {
            // Only an object whose text holds the uid can name it: the rest are not parsed.
            for ((ns, name), o) in objs.iter().filter(|(_, o)| o.json().contains(&uid)) {
                let o = o.read(false);
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
                    if let Some(mut o) = self.get_gr(&gr, &ns, &name) {
                        if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != uid.as_str());
                        }
                        let rv = self.bump();
                        o["metadata"]["resourceVersion"] = json!(rv.to_string());
                        self.put(&gr, (ns.clone(), name.clone()), &o);
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
}
