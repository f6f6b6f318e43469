//! Cluster objects a profile declares because the chart cannot make them (an encrypted,
//! expandable StorageClass): compared with the live cluster in the plan, applied with
//! server-side apply before the chart on confirm.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use serde::Serialize;
use serde_json::Value;

/// The field manager helmdeck's own applies are recorded under.
pub const FIELD_MANAGER: &str = "helmdeck";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ObjectChange {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `create`, `update` or `unchanged`.
    pub op: &'static str,
    /// Fields that differ from the live object and that the API server will refuse to change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub immutable: Vec<String>,
    #[serde(skip)]
    pub object: Value,
}

impl ObjectChange {
    pub fn label(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

/// Whether every field `want` sets has that value in `have`.
fn covers(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| covers(hv, v))),
        _ => have == want,
    }
}

/// Fields of a StorageClass the API server never changes after creation.
const CLASS_IMMUTABLE: [&str; 4] = [
    "provisioner",
    "parameters",
    "reclaimPolicy",
    "volumeBindingMode",
];

/// Why the profile's objects could not be compared with the cluster or applied to it.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("an object without apiVersion or kind: {0}")]
    NoKind(Value),
    #[error("the cluster does not serve {group}/{kind}: {source}")]
    NotServed {
        group: String,
        kind: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot read {kind} {name}: {source}")]
    Read {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("applying {what} failed: {source}")]
    Apply {
        what: String,
        #[source]
        source: kube::Error,
    },
}

pub(super) fn gvk(obj: &Value) -> Result<GroupVersionKind, ObjectError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    if version.is_empty() || kind.is_empty() {
        return Err(ObjectError::NoKind(obj.clone()));
    }
    Ok(GroupVersionKind::gvk(group, version, kind))
}

async fn api_for(
    client: &kube::Client,
    obj: &Value,
    namespace: &str,
) -> Result<(Api<DynamicObject>, Option<String>), ObjectError> {
    let gvk = gvk(obj)?;
    let (ar, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|source| ObjectError::NotServed {
            group: gvk.group.clone(),
            kind: gvk.kind.clone(),
            source,
        })?;
    Ok(match caps.scope {
        Scope::Cluster => (Api::all_with(client.clone(), &ar), None),
        Scope::Namespaced => {
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or(namespace)
                .to_string();
            (Api::namespaced_with(client.clone(), &ns, &ar), Some(ns))
        }
    })
}

/// What applying `objects` would change on the cluster.
pub async fn diff(
    client: &kube::Client,
    objects: &[Value],
    namespace: &str,
) -> Result<Vec<ObjectChange>, ObjectError> {
    let mut out = Vec::new();
    for obj in objects {
        let (api, ns) = api_for(client, obj, namespace).await?;
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let live = api
            .get_opt(&name)
            .await
            .map_err(|source| ObjectError::Read {
                kind: kind.clone(),
                name: name.clone(),
                source,
            })?;
        let (op, immutable) = match live {
            None => ("create", Vec::new()),
            Some(l) => {
                let live = serde_json::to_value(&l).unwrap_or_default();
                let mut wanted = obj.clone();
                if let Some(m) = wanted.as_object_mut() {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
                if covers(&live, &wanted) {
                    ("unchanged", Vec::new())
                } else {
                    let immutable = if kind == "StorageClass" {
                        CLASS_IMMUTABLE
                            .iter()
                            .filter(|f| !obj[**f].is_null() && !covers(&live[**f], &obj[**f]))
                            .map(|f| f.to_string())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    ("update", immutable)
                }
            }
        };
        out.push(ObjectChange {
            kind,
            name,
            namespace: ns,
            op,
            immutable,
            object: obj.clone(),
        });
    }
    Ok(out)
}

/// Server-side applies every object that is not unchanged, in order.
pub async fn apply(
    client: &kube::Client,
    changes: &[ObjectChange],
    namespace: &str,
) -> Result<Vec<String>, ObjectError> {
    let mut done = Vec::new();
    for c in changes.iter().filter(|c| c.op != "unchanged") {
        let (api, _) = api_for(client, &c.object, namespace).await?;
        api.patch(
            &c.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&c.object),
        )
        .await
        .map_err(|source| ObjectError::Apply {
            what: c.label(),
            source,
        })?;
        done.push(c.label());
    }
    Ok(done)
}

/// Stores each key in its Secret in `namespace` (server-side apply, helmdeck's field manager,
/// so only these keys are helmdeck's and the Secret's other keys stay); returns what it stored
/// by name, never the values.
pub async fn store_secrets(
    client: &kube::Client,
    namespace: &str,
    secrets: &[(crate::profile::SecretKeyRef, crate::profile::Hidden)],
) -> Result<Vec<String>, ObjectError> {
    use base64::Engine;
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(client.clone(), namespace);
    let mut done = Vec::new();
    for (r, value) in secrets {
        let what = format!("Secret {} (key {})", r.name, r.key);
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": r.name, "namespace": namespace},
            "data": {r.key.clone(): base64::engine::general_purpose::STANDARD.encode(&value.0)},
        });
        api.patch(
            &r.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|source| ObjectError::Apply {
            what: what.clone(),
            source,
        })?;
        done.push(what);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_is_unchanged_when_the_live_one_has_every_field_it_sets() {
        let live = json!({"metadata": {"name": "a", "uid": "u"}, "provisioner": "p",
            "parameters": {"type": "gp3", "encrypted": "true"}});
        assert!(covers(
            &live,
            &json!({"metadata": {"name": "a"}, "parameters": {"type": "gp3"}})
        ));
        assert!(!covers(&live, &json!({"parameters": {"type": "gp2"}})));
        assert!(gvk(&json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass"})).is_ok());
        assert!(gvk(&json!({"kind": "StorageClass"})).is_err());
    }
}
