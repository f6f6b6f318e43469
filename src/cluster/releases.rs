//! Helm releases read straight from their storage Secrets (`sh.helm.release.v1.NAME.vN`,
//! base64 of gzip of JSON), so inspection works without the helm binary.

use std::io::Read;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub status: crate::release_status::ReleaseStatus,
    pub chart: String,
    pub chart_version: String,
    pub app_version: String,
    pub updated: String,
    /// The values the user gave (`helm get values`).
    #[serde(skip)]
    pub user_values: Map<String, Value>,
    /// The Kafka section as it applies (the chart's defaults, the user's values over them):
    /// what the dashboard's retention check reads, without keeping every default.
    #[serde(skip)]
    pub kafka: Option<Value>,
}

/// Decodes one release Secret's `release` payload.
pub fn decode(payload: &[u8]) -> Option<Value> {
    let text: Vec<u8> = payload
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let gz = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .ok()?;
    let mut json = Vec::new();
    if gz.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut json)
            .ok()?;
    } else {
        json = gz;
    }
    crate::yaml::deep_json(&json).ok()
}

fn info(v: &Value) -> ReleaseInfo {
    let meta = &v["chart"]["metadata"];
    let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
    ReleaseInfo {
        name: s(&v["name"]),
        namespace: s(&v["namespace"]),
        revision: v["version"].as_u64().unwrap_or(0),
        status: crate::release_status::ReleaseStatus::parse(
            v["info"]["status"].as_str().unwrap_or_default(),
        ),
        chart: s(&meta["name"]),
        chart_version: s(&meta["version"]),
        app_version: s(&meta["appVersion"]),
        updated: s(&v["info"]["last_deployed"]),
        user_values: v["config"].as_object().cloned().unwrap_or_default(),
        kafka: kafka_section(v),
    }
}

/// The release's `kafka` values: the user's over the chart's defaults, as Helm merges maps.
fn kafka_section(v: &Value) -> Option<Value> {
    let mut kafka = v["chart"]["values"]["kafka"].as_object()?.clone();
    if let Some(user) = v["config"]["kafka"].as_object() {
        crate::values::coalesce::merge_maps(&mut kafka, user.clone());
    }
    Some(Value::Object(kafka))
}

/// The newest revision of every release (in one namespace, or all), sorted by namespace
/// and name.
pub async fn list(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<Vec<ReleaseInfo>, kube::Error> {
    let api: Api<Secret> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let secrets = api
        .list(&ListParams::default().labels("owner=helm"))
        .await?;
    Ok(newest(&secrets.items))
}

/// The newest revision of each release among helm's storage Secrets. Only the newest is
/// decoded, found by the `name` and `version` labels helm writes: with ten revisions each,
/// decoding them all was nine tenths of the work.
fn newest(secrets: &[Secret]) -> Vec<ReleaseInfo> {
    let label = |s: &Secret, k: &str| {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let mut best: std::collections::BTreeMap<(String, String), (u64, &Secret)> = Default::default();
    let mut unlabelled = Vec::new();
    for s in secrets {
        let (name, version) = (label(s, "name"), label(s, "version").parse::<u64>().ok());
        match version {
            Some(v) if !name.is_empty() => {
                let key = (s.metadata.namespace.clone().unwrap_or_default(), name);
                if best.get(&key).is_none_or(|(b, _)| *b < v) {
                    best.insert(key, (v, s));
                }
            }
            _ => unlabelled.push(s),
        }
    }
    let mut latest: std::collections::BTreeMap<(String, String), ReleaseInfo> = Default::default();
    for s in best.into_values().map(|(_, s)| s).chain(unlabelled) {
        let Some(payload) = s.data.as_ref().and_then(|d| d.get("release")) else {
            continue;
        };
        let Some(v) = decode(&payload.0) else {
            continue;
        };
        let mut r = info(&v);
        if r.namespace.is_empty() {
            r.namespace = s.metadata.namespace.clone().unwrap_or_default();
        }
        let key = (r.namespace.clone(), r.name.clone());
        if latest.get(&key).is_none_or(|o| o.revision < r.revision) {
            latest.insert(key, r);
        }
    }
    latest.into_values().collect()
}

/// Every stored revision of one release, oldest first.
pub async fn history(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<ReleaseInfo>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secrets = api
        .list(&ListParams::default().labels(&format!("owner=helm,name={name}")))
        .await?;
    let mut out: Vec<ReleaseInfo> = secrets
        .items
        .iter()
        .filter_map(|s| decode(&s.data.as_ref()?.get("release")?.0))
        .map(|v| info(&v))
        .collect();
    out.sort_by_key(|r| r.revision);
    Ok(out)
}

pub use crate::profile::profile_for_cloud;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn stored(name: &str, label_version: &str, inner_version: u64) -> Secret {
        let rel = serde_json::json!({"name": name, "namespace": "ns", "version": inner_version,
            "info": {"status": "deployed"}, "chart": {"metadata": {"name": "c", "version": "1.0.0"}}});
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(rel.to_string().as_bytes()).unwrap();
        let payload = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("sh.helm.release.v1.{name}.v{label_version}"), "namespace": "ns",
                         "labels": {"owner": "helm", "name": name, "version": label_version}},
            "data": {"release": base64::engine::general_purpose::STANDARD.encode(payload)},
        }))
        .unwrap()
    }

    #[test]
    fn the_kafka_section_is_the_users_values_over_the_charts() {
        let rel = serde_json::json!({"name": "ph", "version": 1,
            "chart": {"values": {"kafka": {"enabled": true, "logRetentionHours": 24,
                                           "persistence": {"enabled": true, "size": "20Gi"}}}},
            "config": {"kafka": {"persistence": {"size": "5Gi"}}}});
        assert_eq!(
            info(&rel).kafka,
            Some(serde_json::json!({"enabled": true, "logRetentionHours": 24,
                                    "persistence": {"enabled": true, "size": "5Gi"}}))
        );
        let no_kafka = serde_json::json!({"name": "other", "chart": {"values": {}}});
        assert_eq!(info(&no_kafka).kafka, None);
    }

    #[test]
    fn only_each_releases_newest_revision_is_read() {
        // The older revisions' records claim a higher revision: were they decoded, it would
        // win. Labels decide which one is read.
        let secrets = vec![
            stored("a", "1", 9),
            stored("a", "3", 3),
            stored("a", "2", 8),
            stored("b", "1", 1),
        ];
        let got: Vec<(String, u64)> = newest(&secrets)
            .into_iter()
            .map(|r| (r.name, r.revision))
            .collect();
        assert_eq!(got, [("a".to_string(), 3), ("b".to_string(), 1)]);
        // Without labels, every record is read and the highest revision wins.
        let mut bare = stored("c", "1", 4);
        bare.metadata.labels = None;
        let got = newest(&[bare, stored("c", "2", 2)]);
        assert_eq!(got[0].revision, 4);
    }

    #[test]
    fn decodes_helms_storage_format() {
        let rel = serde_json::json!({"name": "ph", "namespace": "posthog", "version": 3,
            "info": {"status": "deployed", "last_deployed": "2026-11-25T10:00:00Z"},
            "chart": {"metadata": {"name": "posthog-mini", "version": "1.2.0", "appVersion": "1.43.0"}},
            "config": {"cloud": "gcp"}});
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(rel.to_string().as_bytes()).unwrap();
        let payload = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let v = decode(payload.as_bytes()).unwrap();
        let i = info(&v);
        assert_eq!(
            (i.revision, i.status.as_str(), i.chart_version.as_str()),
            (3, "deployed", "1.2.0")
        );
        assert_eq!(profile_for_cloud(&i.user_values), Some("gcp"));
    }
}
