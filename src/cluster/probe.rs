//! The ingestion probe's I/O: send a uniquely named event to the capture API, then ask the
//! events API until it shows up; also ask the health endpoints. It goes through the public URL
//! when there is one (reqwest, TLS verified), else through the API server's service proxy
//! (kube-rs, with the kubeconfig's credentials). Judging the results is `health::ingestion`.

use std::time::{Duration, Instant, SystemTime};

use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use crate::profile::{IngestionSettings, KeySource};

/// Which service of the stack a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Web,
    Events,
    Plugins,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Events => "events",
            Role::Plugins => "plugins",
        }
    }
    fn default_port(self) -> u16 {
        match self {
            Role::Plugins => 6738,
            _ => 8000,
        }
    }
}

/// How requests reach the stack.
pub enum Transport {
    /// `https://posthog.example.com`: what users' SDKs use.
    Public { http: reqwest::Client, base: String },
    /// `/api/v1/namespaces/NS/services/NAME:PORT/proxy/…` for each role.
    Proxy {
        client: kube::Client,
        namespace: String,
        services: Vec<(Role, String)>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{0}")]
    Request(String),
}

pub use crate::observed::{EndpointRecord, Exchange, ProbeRecord};

impl Transport {
    /// A public-URL transport; TLS verification stays on unless the user turns it off.
    pub fn public(base: &str, insecure: bool) -> Result<Transport, ProbeError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .tls_danger_accept_invalid_certs(insecure)
            .build()
            .map_err(|e| ProbeError::Client(e.to_string()))?;
        Ok(Transport::Public {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// A proxy transport through the API server: each role's Service, or one of its pods
    /// when it has none (see [`proxy_targets`]).
    pub async fn proxy(client: kube::Client, namespace: &str, release: &str) -> Transport {
        let svc_api: Api<Service> = Api::namespaced(client.clone(), namespace);
        let pod_api: Api<Pod> = Api::namespaced(client.clone(), namespace);
        // The vendor's Services carry no `role` label (they select on it): list them all.
        let services = svc_api
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let pods = pod_api
            .list(&ListParams::default().labels("role"))
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        Transport::Proxy {
            client,
            namespace: namespace.to_string(),
            services: proxy_targets(release, &services, &pods),
        }
    }

    /// Where requests go, for the report.
    pub fn describe(&self) -> String {
        match self {
            Transport::Public { base, .. } => base.clone(),
            Transport::Proxy {
                namespace,
                services,
                ..
            } => format!(
                "API server proxy in {namespace} ({})",
                services
                    .iter()
                    .map(|(_, s)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    pub async fn request(
        &self,
        role: Role,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        bearer: Option<&str>,
    ) -> Exchange {
        let t = Instant::now();
        let done = |status: Option<u16>, body: Vec<u8>, error: Option<String>| Exchange {
            status,
            latency_ms: t.elapsed().as_millis() as u64,
            error,
            body,
        };
        match self {
            Transport::Public { http, base } => {
                let url = format!("{base}{path_and_query}");
                let m =
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
                let mut rb = http.request(m, &url);
                if let Some(b) = body {
                    rb = rb.header("Content-Type", "application/json").body(b);
                }
                if let Some(k) = bearer {
                    rb = rb.bearer_auth(k);
                }
                match rb.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let bytes = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                        done(Some(status), bytes, None)
                    }
                    Err(e) => done(None, Vec::new(), Some(error_chain(&e))),
                }
            }
            Transport::Proxy {
                client,
                namespace,
                services,
            } => {
                let svc = services
                    .iter()
                    .find(|(r, _)| *r == role)
                    .map(|(_, s)| s.as_str())
                    .unwrap_or_default();
                // The API server consumes the Authorization header, so the app's personal key
                // rides in the query, which PostHog also reads.
                let mut path = path_and_query.to_string();
                if let Some(k) = bearer {
                    path.push(if path.contains('?') { '&' } else { '?' });
                    path.push_str("personal_api_key=");
                    path.push_str(k);
                }
                let uri = format!("/api/v1/namespaces/{namespace}/{svc}/proxy{path}");
                let mut rb = http::Request::builder().method(method).uri(uri);
                if body.is_some() {
                    rb = rb.header("Content-Type", "application/json");
                }
                let req = match rb.body(kube::client::Body::from(body.unwrap_or_default())) {
                    Ok(r) => r,
                    Err(e) => return done(None, Vec::new(), Some(e.to_string())),
                };
                match client.send(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let bytes = resp
                            .into_body()
                            .collect()
                            .await
                            .map(|c| c.to_bytes().to_vec())
                            .unwrap_or_default();
                        done(Some(status), bytes, None)
                    }
                    Err(e) => done(None, Vec::new(), Some(e.to_string())),
                }
            }
        }
    }
}

/// The chart's `posthog.fullname`: the release name when it contains the chart's name, else
/// `<release>-posthog` (both the vendor's chart and the stand-in name their objects so).
pub fn fullname(release: &str) -> String {
    if release.contains("posthog") {
        release.to_string()
    } else {
        format!("{release}-posthog")
    }
}

/// Where each role is reached through the API server (`services/NAME:PORT` or
/// `pods/NAME:PORT`): a Service whose selector picks the role's pods of the release (`role:
/// <role>` with `release: <release>` or the vendor chart's `app: <fullname>`; the vendor's
/// Services carry only `app.kubernetes.io/*` labels and select on `app` and `role`,
/// shared/REFERENCE.md); without one, a ready pod of that role (the vendor's plugin server has
/// no Service); else the chart's Service name.
pub fn proxy_targets(release: &str, services: &[Service], pods: &[Pod]) -> Vec<(Role, String)> {
    let full = fullname(release);
    let ours = |labels: Option<&std::collections::BTreeMap<String, String>>, role: Role| {
        labels.is_some_and(|l| {
            l.get("role").map(String::as_str) == Some(role.label())
                && (l.get("release").map(String::as_str) == Some(release)
                    || l.get("app").map(String::as_str) == Some(full.as_str()))
        })
    };
    [Role::Web, Role::Events, Role::Plugins]
        .into_iter()
        .map(|role| {
            let selects = |s: &&Service| {
                let sel = s.spec.as_ref().and_then(|sp| sp.selector.as_ref());
                // A headless Service selects the same pods but answers no proxy request.
                let headless =
                    s.spec.as_ref().and_then(|sp| sp.cluster_ip.as_deref()) == Some("None");
                !headless && ours(sel, role)
            };
            if let Some(s) = services.iter().find(selects) {
                let port = s
                    .spec
                    .as_ref()
                    .and_then(|sp| sp.ports.as_ref()?.first().map(|p| p.port))
                    .unwrap_or(role.default_port() as i32);
                let name = s.metadata.name.clone().unwrap_or_default();
                return (role, format!("services/{name}:{port}"));
            }
            let ready = |p: &&&Pod| {
                p.status
                    .as_ref()
                    .and_then(|st| st.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            };
            let mine: Vec<&Pod> = pods
                .iter()
                .filter(|p| ours(p.metadata.labels.as_ref(), role))
                .collect();
            if let Some(p) = mine.iter().find(ready).or(mine.first()) {
                let port = p
                    .spec
                    .as_ref()
                    .and_then(|sp| sp.containers.first()?.ports.as_ref()?.first())
                    .map(|cp| cp.container_port)
                    .unwrap_or(role.default_port() as i32);
                let name = p.metadata.name.clone().unwrap_or_default();
                return (role, format!("pods/{name}:{port}"));
            }
            (
                role,
                format!("services/{full}-{}:{}", role.label(), role.default_port()),
            )
        })
        .collect()
}

/// An error with every cause after it, as one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The probe's settings under a profile's rules, or without one: the profile's `ingestion`
/// block, with the project key read from `HELMDECK_PROJECT_API_KEY` when the profile names no
/// source, and the documented defaults (every 30 s, 90 s to see an event: longer than the plugin server's 60 s buffer) when there is no
/// profile. `check` and the dashboard both probe with these.
pub fn settings_for(profile: Option<&crate::profile::Profile>) -> IngestionSettings {
    let mut s = profile
        .map(|p| p.ingestion.clone())
        .unwrap_or_else(|| serde_json::from_value(serde_json::json!({})).unwrap_or_default());
    if s.project_api_key.is_none() {
        s.project_api_key = Some(KeySource {
            secret: None,
            env: Some("HELMDECK_PROJECT_API_KEY".into()),
        });
    }
    s
}

/// Where the probe sends its requests: an explicit URL, else the settings' public URL, else
/// the API server's service proxy.
pub async fn transport_for(
    settings: &IngestionSettings,
    public_url: Option<&str>,
    insecure_skip_tls_verify: bool,
    probe_client: kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Transport, ProbeError> {
    match public_url.or(settings.public_url.as_deref()) {
        Some(u) => Transport::public(u, insecure_skip_tls_verify),
        None => Ok(Transport::proxy(probe_client, namespace, release).await),
    }
}

/// A key from the environment variable or the Secret the profile names (env wins: it is what
/// a CI job sets).
pub async fn resolve_key(
    source: Option<&KeySource>,
    client: Option<&kube::Client>,
    namespace: &str,
) -> Option<String> {
    let source = source?;
    if let Some(v) = source
        .env
        .as_ref()
        .and_then(|e| std::env::var(e).ok())
        .filter(|v| !v.is_empty())
    {
        return Some(v);
    }
    let r = source.secret.as_ref()?;
    let api: Api<Secret> = Api::namespaced(client?.clone(), namespace);
    let s = api.get_opt(&r.name).await.ok()??;
    let bytes = s.data?.get(&r.key)?.0.clone();
    String::from_utf8(bytes).ok().filter(|v| !v.is_empty())
}

/// The health endpoints the stack serves (shared/REFERENCE.md).
pub const ENDPOINTS: [(Role, &str); 4] = [
    (Role::Web, "/_livez"),
    (Role::Web, "/_readyz?role=web"),
    (Role::Events, "/_readyz?role=events"),
    (Role::Plugins, "/_health"),
];

pub async fn probe_endpoints(t: &Transport) -> Vec<EndpointRecord> {
    let mut out = Vec::new();
    for (role, path) in ENDPOINTS {
        // Through the public URL the ingress sends every path but capture's to web
        // (shared/REFERENCE.md, "Routes"): another component's answer is no evidence.
        if matches!(t, Transport::Public { .. }) && role != Role::Web {
            out.push(EndpointRecord {
                path: path.to_string(),
                exchange: Exchange {
                    status: None,
                    latency_ms: 0,
                    error: None,
                    body: Vec::new(),
                },
                failing_checks: Vec::new(),
                not_checked: Some(format!(
                    "through the public URL this path reaches the web pods (the ingress routes / to web), not the {} pods; probe through the API server (without --public-url) to check them",
                    role.label()
                )),
            });
            continue;
        }
        let exchange = t.request(role, "GET", path, None, None).await;
        let failing_checks = serde_json::from_slice::<Value>(&exchange.body)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| **v == Value::Bool(false))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.push(EndpointRecord {
            path: path.to_string(),
            exchange,
            failing_checks,
            not_checked: None,
        });
    }
    out
}

/// Keys the probe uses when the profile's sources have none (the demo's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeKeys {
    pub project: String,
    pub personal: String,
}

/// Timing of one probe.
#[derive(Debug, Clone)]
pub struct ProbeTiming {
    pub timeout: Duration,
    pub poll_every: Duration,
    /// Where the project API key comes from, said when there is none: the profile's
    /// environment variable and Secret by name.
    pub key_hint: String,
    /// The same for the personal API key, which the events API asks for.
    pub personal_hint: String,
}

impl From<&IngestionSettings> for ProbeTiming {
    fn from(s: &IngestionSettings) -> Self {
        ProbeTiming {
            timeout: Duration::from_secs(s.timeout_seconds.max(1)),
            poll_every: Duration::from_millis(250),
            key_hint: key_hint(s.project_api_key.as_ref()),
            personal_hint: key_hint(s.personal_api_key.as_ref()),
        }
    }
}

/// How to give a key the profile names: its environment variable, or its Secret and key in the
/// release's namespace.
pub fn key_hint(k: Option<&crate::profile::KeySource>) -> String {
    let mut ways = Vec::new();
    if let Some(env) = k.and_then(|k| k.env.as_deref()) {
        ways.push(format!("set {env}"));
    }
    if let Some(s) = k.and_then(|k| k.secret.as_ref()) {
        ways.push(format!(
            "create the Secret {} with the key {} in the release's namespace",
            s.name, s.key
        ));
    }
    if ways.is_empty() {
        "the profile names no source for it: give --project-api-key-file".into()
    } else {
        ways.join(", or ")
    }
}

/// Waits `every` before the next ask, unless that ask would come after `deadline`: then says
/// so at once (false). The probe's and the load's wait for events.
pub(crate) async fn wait_before_asking_again(deadline: Instant, every: Duration) -> bool {
    if Instant::now() + every > deadline {
        return false;
    }
    tokio::time::sleep(every).await;
    true
}

/// Sends one event and waits for it; probes the health endpoints too.
pub async fn probe(
    t: &Transport,
    project_key: Option<&str>,
    personal_key: Option<&str>,
    timing: &ProbeTiming,
) -> ProbeRecord {
    let at = SystemTime::now();
    let endpoints = probe_endpoints(t).await;
    let nanos = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let event = format!("helmdeck_probe_{nanos:x}");
    let mut rec = ProbeRecord {
        at,
        via: t.describe(),
        event: event.clone(),
        capture: Exchange {
            status: None,
            latency_ms: 0,
            error: None,
            body: Vec::new(),
        },
        visible_after_ms: None,
        waited_ms: 0,
        polls: 0,
        last_query: None,
        endpoints,
        skipped: None,
        arrival_unchecked: None,
    };
    let Some(key) = project_key else {
        rec.skipped = Some(format!("no project API key: {}", timing.key_hint));
        return rec;
    };
    let body = json!({
        "api_key": key,
        "event": event,
        "distinct_id": "helmdeck-probe",
        "properties": {"$lib": "helmdeck"},
        "timestamp": crate::time::now_rfc3339(),
    });
    let sent = Instant::now();
    rec.capture = t
        .request(
            Role::Events,
            "POST",
            "/e/",
            Some(serde_json::to_vec(&body).unwrap_or_default()),
            None,
        )
        .await;
    if !rec.capture.status.is_some_and(|s| (200..300).contains(&s)) {
        return rec;
    }
    // Accepted is not ingested, and only a personal key may ask the events API.
    let Some(personal_key) = personal_key else {
        rec.arrival_unchecked = Some(format!("no personal API key: {}", timing.personal_hint));
        return rec;
    };
    let query = format!("/api/projects/@current/events/?event={event}");
    let deadline = sent + timing.timeout;
    loop {
        rec.polls += 1;
        let q = t
            .request(Role::Web, "GET", &query, None, Some(personal_key))
            .await;
        let found = q.status == Some(200)
            && serde_json::from_slice::<Value>(&q.body)
                .ok()
                .and_then(|v| {
                    v["results"]
                        .as_array()
                        .map(|r| r.iter().any(|e| e["event"] == event.as_str()))
                })
                .unwrap_or(false);
        rec.last_query = Some(q);
        if found {
            rec.visible_after_ms = Some(sent.elapsed().as_millis() as u64);
            break;
        }
        if !wait_before_asking_again(deadline, timing.poll_every).await {
            break;
        }
    }
    rec.waited_ms = sent.elapsed().as_millis() as u64;
    rec
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn without_a_profile_the_probe_uses_the_documented_defaults_and_the_env_key() {
        let s = settings_for(None);
        assert_eq!((s.interval_seconds, s.timeout_seconds), (30, 90));
        assert_eq!(
            s.project_api_key.and_then(|k| k.env).as_deref(),
            Some("HELMDECK_PROJECT_API_KEY")
        );
    }

    #[test]
    fn a_missing_key_is_asked_for_by_the_names_the_profile_gives() {
        let set = crate::profile::ProfileSet::load(None).unwrap();
        let aws = set.get("aws").unwrap();
        let t = ProbeTiming::from(&settings_for(Some(aws)));
        assert_eq!(
            t.key_hint,
            "set HELMDECK_PROJECT_API_KEY, or create the Secret posthog-helmdeck-probe with the key project-api-key in the release's namespace"
        );
        assert!(key_hint(None).contains("--project-api-key-file"));
    }

    #[test]
    fn a_profile_brings_its_own_ingestion_block() {
        let set = crate::profile::ProfileSet::load(None).unwrap();
        let local = set.get("local").unwrap();
        assert_eq!(settings_for(Some(local)), local.ingestion);
    }
}

#[cfg(test)]
mod discovery_tests {
    use super::*;

    fn obj<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("object")
    }

    /// The vendor's Services carry `app.kubernetes.io/*` labels and select on `app` and `role`
    /// (as rendered from the 30.46.0 package); its plugin server has no Service and is reached
    /// through a ready pod; another release's objects and headless Services are never picked.
    #[test]
    fn the_vendor_charts_parts_are_found_by_their_selectors() {
        let labels = json!({"app.kubernetes.io/name": "posthog", "app.kubernetes.io/instance": "ph",
                            "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "posthog-30.46.0"});
        let services: Vec<Service> = vec![
            obj(
                json!({"metadata": {"name": "other-posthog-web", "labels": labels},
                "spec": {"ports": [{"port": 8000}], "selector": {"app": "other-posthog", "role": "web"}}}),
            ),
            obj(
                json!({"metadata": {"name": "ph-posthog-web-headless", "labels": labels},
                "spec": {"clusterIP": "None", "ports": [{"port": 8000}], "selector": {"app": "ph-posthog", "role": "web"}}}),
            ),
            obj(
                json!({"metadata": {"name": "ph-posthog-web", "labels": labels},
                "spec": {"ports": [{"port": 8000}], "selector": {"app": "ph-posthog", "role": "web"}}}),
            ),
            obj(
                json!({"metadata": {"name": "ph-posthog-events", "labels": labels},
                "spec": {"ports": [{"port": 8000}], "selector": {"app": "ph-posthog", "role": "events"}}}),
            ),
            // Labelled like a component but selecting nothing of it: not a way in.
            obj(
                json!({"metadata": {"name": "decoy", "labels": {"app": "ph-posthog", "role": "plugins"}},
                "spec": {"ports": [{"port": 1}], "selector": {"app": "something-else"}}}),
            ),
        ];
        let pods: Vec<Pod> = vec![
            obj(
                json!({"metadata": {"name": "ph-posthog-plugins-1", "labels": {"app": "ph-posthog", "role": "plugins"}},
                "spec": {"containers": [{"name": "p", "ports": [{"containerPort": 6738}]}]},
                "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            ),
            obj(
                json!({"metadata": {"name": "ph-posthog-plugins-2", "labels": {"app": "ph-posthog", "role": "plugins"}},
                "spec": {"containers": [{"name": "p", "ports": [{"containerPort": 6738}]}]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            ),
        ];
        let t = proxy_targets("ph", &services, &pods);
        let got: Vec<&str> = t.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            got,
            [
                "services/ph-posthog-web:8000",
                "services/ph-posthog-events:8000",
                "pods/ph-posthog-plugins-2:6738"
            ]
        );
        // Nothing found: the chart's names, by its fullname rule.
        let t = proxy_targets("posthog", &[], &[]);
        assert_eq!(t[0].1, "services/posthog-web:8000");
        assert_eq!(fullname("ph"), "ph-posthog");
    }
}
