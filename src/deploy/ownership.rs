//! Objects a chart renders that already exist and belong to something else. helm refuses to
//! install over them ("exists and cannot be imported into the current release") only once the
//! lock is taken and the profile's objects are applied; preflight says so first, naming the
//! owner and the ways out. The rule is helm's own (`checkOwnership` in helm's
//! pkg/action/validate.go): an existing object joins a release only when it carries the label
//! `app.kubernetes.io/managed-by: Helm` and the annotations `meta.helm.sh/release-name` and
//! `meta.helm.sh/release-namespace` naming that release.

use std::collections::{HashMap, HashSet};

use futures::future::join_all;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};
use serde_json::Value;

use crate::chart::Dependency;
use crate::verdict::{Check, Verdict};

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const RELEASE_NAME: &str = "meta.helm.sh/release-name";
const RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";

/// Who holds an existing object, when helm would not let `release` in `namespace` adopt it.
pub fn foreign_owner(live: &Value, release: &str, namespace: &str) -> Option<String> {
    let labels = &live["metadata"]["labels"];
    let notes = &live["metadata"]["annotations"];
    if labels[MANAGED_BY] == "Helm"
        && notes[RELEASE_NAME] == release
        && notes[RELEASE_NAMESPACE] == namespace
    {
        return None;
    }
    Some(
        match (
            notes[RELEASE_NAME].as_str(),
            notes[RELEASE_NAMESPACE].as_str(),
        ) {
            (Some(r), Some(ns)) => format!("Helm release {r} in {ns}"),
            (Some(r), None) => format!("Helm release {r}"),
            _ => match labels[MANAGED_BY].as_str() {
                Some(m) => format!("something managed by {m:?}, not by this release"),
                None => "something other than this release (it has no Helm ownership metadata)"
                    .to_string(),
            },
        },
    )
}

/// The subchart that renders `obj` and the value that turns it on, read from the object's
/// `helm.sh/chart` label (`NAME-VERSION`, as charts label what they render) and the parent's
/// dependencies.
fn switch_for(obj: &Value, dependencies: &[Dependency]) -> Option<(String, String)> {
    let label = obj["metadata"]["labels"]["helm.sh/chart"].as_str()?;
    dependencies.iter().find_map(|d| {
        let rest = label.strip_prefix(d.name.as_str())?.strip_prefix('-')?;
        let versioned = rest.chars().next().is_some_and(|c| c.is_ascii_digit());
        let condition = d.condition.split(',').next().unwrap_or_default().trim();
        (versioned && !condition.is_empty()).then(|| {
            let name = if d.alias.is_empty() {
                &d.name
            } else {
                &d.alias
            };
            (name.clone(), condition.to_string())
        })
    })
}

async fn read(api: &Api<DynamicObject>, name: &str) -> Option<Value> {
    let live = api.get_opt(name).await.ok().flatten()?;
    serde_json::to_value(live).ok()
}

/// One failed check per object in `desired` that exists on the cluster and that helm would
/// refuse to take over. Hooks (helm never adopts them) and the objects in `ours` (the live
/// release's, on an upgrade) are not asked about; kinds the cluster does not serve yet (the
/// chart's own CRDs on a first install) cannot exist. A read that fails is left to helm.
pub async fn conflicts(
    client: &kube::Client,
    desired: &[Value],
    ours: &HashSet<(String, String)>,
    dependencies: &[Dependency],
    release: &str,
    namespace: &str,
) -> Vec<Check> {
    let mut kinds: HashMap<GroupVersionKind, Option<(ApiResource, Scope)>> = HashMap::new();
    let mut asks = Vec::new();
    for obj in desired {
        let (Ok(gvk), Some(name)) = (super::objects::gvk(obj), obj["metadata"]["name"].as_str())
        else {
            continue;
        };
        if obj["metadata"]["annotations"]["helm.sh/hook"].is_string()
            || ours.contains(&(gvk.kind.clone(), name.to_string()))
        {
            continue;
        }
        if !kinds.contains_key(&gvk) {
            let found = discovery::pinned_kind(client, &gvk)
                .await
                .ok()
                .map(|(ar, caps)| (ar, caps.scope));
            kinds.insert(gvk.clone(), found);
        }
        let Some((ar, scope)) = kinds[&gvk].clone() else {
            continue;
        };
        let api: Api<DynamicObject> = match scope {
            Scope::Cluster => Api::all_with(client.clone(), &ar),
            Scope::Namespaced => {
                let ns = obj["metadata"]["namespace"].as_str().unwrap_or(namespace);
                Api::namespaced_with(client.clone(), ns, &ar)
            }
        };
        asks.push((api, name.to_string(), obj));
    }
    // Eight reads at a time (a chart renders a hundred objects; a real API server is remote).
    let mut reads = Vec::with_capacity(asks.len());
    for batch in asks.chunks(8) {
        reads.extend(join_all(batch.iter().map(|(api, name, _)| read(api, name))).await);
    }
    let found: Vec<(&Value, String, String)> = asks
        .into_iter()
        .zip(reads)
        .filter_map(|((_, name, obj), live)| {
            let owner = foreign_owner(&live?, release, namespace)?;
            Some((obj, name, owner))
        })
        .collect();
    found
        .into_iter()
        .map(|(obj, name, owner)| {
            let kind = obj["kind"].as_str().unwrap_or_default();
            let adopt = format!(
                "let this release adopt it (label {MANAGED_BY}=Helm, annotations {RELEASE_NAME}={release} and {RELEASE_NAMESPACE}={namespace})"
            );
            let fix = match switch_for(obj, dependencies) {
                Some((sub, condition)) => format!(
                    "the chart's {sub} subchart renders it: set {condition}=false to keep the cluster's own, or {adopt}"
                ),
                None => format!("delete it, or {adopt}"),
            };
            Check {
                id: "ownership",
                verdict: Verdict::Fail,
                message: format!(
                    "{kind} {name} already exists and belongs to {owner}: helm refuses to install over it (\"exists and cannot be imported into the current release\")"
                ),
                fix,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(labels: Value, annotations: Value) -> Value {
        json!({"metadata": {"name": "nginx", "labels": labels, "annotations": annotations}})
    }

    #[test]
    fn helm_adopts_only_what_names_this_release() {
        let ours = object(
            json!({MANAGED_BY: "Helm"}),
            json!({RELEASE_NAME: "posthog", RELEASE_NAMESPACE: "posthog"}),
        );
        assert_eq!(foreign_owner(&ours, "posthog", "posthog"), None);
        // Same release name, another namespace: another release.
        assert_eq!(
            foreign_owner(&ours, "posthog", "other").as_deref(),
            Some("Helm release posthog in posthog")
        );
        let theirs = object(
            json!({MANAGED_BY: "Helm"}),
            json!({RELEASE_NAME: "ingress-nginx", RELEASE_NAMESPACE: "ingress-nginx"}),
        );
        assert_eq!(
            foreign_owner(&theirs, "posthog", "posthog").as_deref(),
            Some("Helm release ingress-nginx in ingress-nginx")
        );
        // The right annotations without the label: helm refuses it too.
        let unlabelled = object(
            json!({}),
            json!({RELEASE_NAME: "posthog", RELEASE_NAMESPACE: "posthog"}),
        );
        assert!(foreign_owner(&unlabelled, "posthog", "posthog").is_some());
        let by_hand = object(Value::Null, Value::Null);
        assert!(
            foreign_owner(&by_hand, "posthog", "posthog")
                .unwrap()
                .contains("no Helm ownership metadata")
        );
    }

    #[test]
    fn the_subchart_and_its_switch_come_from_the_chart_label() {
        let deps = [
            Dependency {
                name: "ingress-nginx".into(),
                condition: "ingress.nginx.enabled".into(),
                ..Default::default()
            },
            Dependency {
                name: "ingress".into(),
                condition: "other.enabled".into(),
                ..Default::default()
            },
        ];
        let class = json!({"metadata": {"labels": {"helm.sh/chart": "ingress-nginx-4.0.13"}}});
        assert_eq!(
            switch_for(&class, &deps),
            Some(("ingress-nginx".into(), "ingress.nginx.enabled".into()))
        );
        let parent = json!({"metadata": {"labels": {"helm.sh/chart": "posthog-30.46.0"}}});
        assert_eq!(switch_for(&parent, &deps), None);
        assert_eq!(switch_for(&json!({}), &deps), None);
    }
}
