//! Simulated application behaviour behind the service proxy: pods labelled `role=web` serve
//! the health endpoints and the events API, `role=events` the capture API, `role=plugins`
//! `/_health`. Captured events become visible only through a running plugin server, which
//! holds a new person's events for `BUFFER_CONVERSION_SECONDS` (shared/REFERENCE.md,
//! "Health endpoints"). Knobs make ingestion slow, failing, lossy or unhealthy, so the real
//! probe code is exercised end to end.
//!
//! Capture is a queue in front of the events pods' CPU: each event costs
//! `metrics::CORES_PER_EVENT_PER_SECOND` core-seconds, so the serving events pods take as many
//! events a second as their CPU limits allow (a container without a limit gets one core).
//! A request waits for the events queued before it and answers after its own are taken, plus
//! a base latency; a backlog longer than `CAPTURE_BACKLOG_LIMIT` is refused with 503 (the
//! model's stand-in for the upstream timeouts an overloaded capture ends in). Taken events
//! reach the events API after the pipeline's delay (Kafka, plugin server, ClickHouse). These
//! figures are the model's, not measurements of PostHog. Requests through a port-forward
//! answer at once (the forwarding stream does not model the wait).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
    /// The `Authorization: Bearer` token, when the request came with one (through an
    /// ingress; the API server's proxy keeps that header for itself).
    pub bearer: Option<String>,
    /// The namespace's ingestion pipeline when the request arrives.
    pub pipeline: Pipeline,
}

/// What stands behind capture in the pod's namespace.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub namespace: String,
    /// A plugin server runs: without one, captured events wait in Kafka.
    pub plugin_server_running: bool,
    /// The plugin server's conversion buffer (already scaled by the time factor).
    pub buffer: Duration,
    /// The app version the namespace's serving web pods run (the newest, mid-rollout).
    pub app: Option<(u64, u64, u64)>,
    /// How long an async migration runs (already scaled by the time factor).
    pub migration_takes: Duration,
    /// Events a second the serving events pods take (their CPU over the cost of an event).
    pub capture_capacity: f64,
    /// From an event taken by capture to queryable (already scaled by the time factor).
    pub ingest_delay: Duration,
}

/// What a capture request costs when nothing is queued (parsing, writing to Kafka).
pub const CAPTURE_BASE_LATENCY: Duration = Duration::from_millis(8);
/// The longest backlog capture queues a request behind before it refuses it.
pub const CAPTURE_BACKLOG_LIMIT: Duration = Duration::from_secs(5);
/// Capture → Kafka → plugin server → ClickHouse, before the time factor.
pub const INGEST_DELAY: Duration = Duration::from_secs(2);
/// The CPU an events container without a limit gets, in the capture model.
const UNLIMITED_CORES: f64 = 1.0;

/// How far back the capture rate looks.
const CAPTURE_WINDOW: Duration = Duration::from_secs(60);
/// Arrivals kept for the rate (a minute at about 1,600 events a second).
const MAX_ARRIVALS: usize = 100_000;
/// Captured events kept for the events API, all namespaces together.
const MAX_EVENTS: usize = 100_000;

/// One captured event on its way to the events API.
struct Captured {
    namespace: String,
    /// When the plugin server may ingest it (capture time, the knob's delay and, for a new
    /// person, the conversion buffer).
    ready_at: Instant,
    ingested: bool,
    event: Value,
}

pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// How long the program takes to answer: the server holds the response that long.
    pub wait: Duration,
}

fn reply(status: u16, v: Value) -> HttpReply {
    HttpReply {
        status,
        content_type: "application/json",
        body: serde_json::to_vec(&v).unwrap_or_default(),
        wait: Duration::ZERO,
    }
}

/// The personal API key a request carries: `Authorization: Bearer`, else the
/// `personal_api_key` query parameter (both read by PostHog's API).
fn personal_key(req: &HttpRequest) -> Option<&str> {
    req.bearer
        .as_deref()
        .or_else(|| {
            req.query
                .split('&')
                .find_map(|kv| kv.strip_prefix("personal_api_key="))
        })
        .filter(|k| !k.is_empty())
}

/// DRF's answer to a request without credentials.
fn not_authenticated() -> HttpReply {
    reply(
        401,
        json!({"type": "authentication_error", "code": "not_authenticated", "detail": "Authentication credentials were not provided."}),
    )
}

/// The plugin server's `BUFFER_CONVERSION_SECONDS` when its pod does not set it
/// (shared/REFERENCE.md, "Health endpoints").
pub const DEFAULT_BUFFER_CONVERSION: Duration = Duration::from_secs(60);

/// Knobs for the simulated ingestion pipeline.
#[derive(Debug, Clone, Default)]
pub struct IngestionKnobs {
    /// Time between capture and the event being visible in the events API.
    pub delay: Duration,
    /// Capture answers 503.
    pub capture_failing: bool,
    /// Capture answers 200 but the event never becomes visible.
    pub silently_drop: bool,
    /// Readiness endpoints answer 503 with a false check.
    pub unhealthy: bool,
    /// The async migration (by name or number prefix) that errors when it runs.
    pub failing_migration: Option<String>,
}

#[derive(Default)]
pub struct Workloads {
    pub knobs: Mutex<IngestionKnobs>,
    events: Mutex<VecDeque<Captured>>,
    /// (namespace, distinct_id) of the persons seen: their later events are not buffered.
    persons: Mutex<HashSet<(String, String)>>,
    pub migrations: crate::async_migrations::Instances,
    /// When each of the last minute's events was captured, by namespace: the load the
    /// events pods' CPU follows (`metrics`).
    arrivals: Mutex<VecDeque<(String, Instant)>>,
    /// When each namespace's events pods will have taken every event queued so far.
    capture_free_at: Mutex<std::collections::HashMap<String, Instant>>,
    /// What each namespace's captured events wrote to its disks (`volumes`).
    written: Mutex<std::collections::HashMap<String, crate::volumes::Written>>,
}

impl Workloads {
    pub fn set_knobs(&self, k: IngestionKnobs) {
        if let Ok(mut g) = self.knobs.lock() {
            *g = k;
        }
    }

    /// Events captured per second in `namespace` over the last minute.
    pub fn capture_rate(&self, namespace: &str) -> f64 {
        let Ok(mut a) = self.arrivals.lock() else {
            return 0.0;
        };
        let now = Instant::now();
        while a
            .front()
            .is_some_and(|(_, t)| now.duration_since(*t) > CAPTURE_WINDOW)
        {
            a.pop_front();
        }
        let n = a.iter().filter(|(ns, _)| ns == namespace).count();
        n as f64 / CAPTURE_WINDOW.as_secs_f64()
    }

    /// What the events captured in `namespace` wrote to Kafka and ClickHouse.
    pub fn written(&self, namespace: &str) -> crate::volumes::Written {
        self.written
            .lock()
            .ok()
            .and_then(|w| w.get(namespace).copied())
            .unwrap_or_default()
    }

    fn knobs(&self) -> IngestionKnobs {
        self.knobs.lock().map(|k| k.clone()).unwrap_or_default()
    }

    pub fn answer(&self, pod: &Value, req: &HttpRequest) -> HttpReply {
        let role = pod["metadata"]["labels"]["role"]
            .as_str()
            .unwrap_or_default();
        let knobs = self.knobs();
        let path = req.path.trim_end_matches('/');
        match (role, req.method.as_str(), path) {
            (_, "GET", "/_livez") => reply(200, json!({"http": true})),
            ("web" | "events" | "worker", "GET", "/_readyz") => {
                let checks = match role {
                    "web" => json!({"http": true, "postgres": !knobs.unhealthy, "cache": true}),
                    "events" => json!({"http": true, "kafka_connected": !knobs.unhealthy}),
                    _ => {
                        json!({"http": true, "postgres": true, "clickhouse": !knobs.unhealthy, "celery_broker": true})
                    }
                };
                reply(if knobs.unhealthy { 503 } else { 200 }, checks)
            }
            ("plugins" | "plugins-ingestion", "GET", "/_health") => {
                if knobs.unhealthy {
                    reply(503, json!({"status": "error"}))
                } else {
                    reply(200, json!({"status": "ok"}))
                }
            }
            // Django's deprecated health check, which web still serves (shared/REFERENCE.md,
            // "Health endpoints"): up as long as the process answers.
            ("web", "GET", "/_health") => HttpReply {
                status: 200,
                content_type: "text/plain",
                body: b"ok".to_vec(),
                wait: Duration::ZERO,
            },
            ("events", "POST", "/e" | "/capture" | "/batch" | "/i/v0/e" | "/track") => {
                self.capture(req, &knobs)
            }
            ("web", "GET", "/api/projects/@current/events") => match personal_key(req) {
                Some(_) => self.events_api(req),
                None => not_authenticated(),
            },
            ("web", "GET", "/api/async_migrations") => {
                // Staff users only, by personal API key.
                if personal_key(req).is_none() {
                    return not_authenticated();
                }
                let p = &req.pipeline;
                reply(
                    200,
                    self.migrations.list(
                        &p.namespace,
                        p.app,
                        knobs.failing_migration.as_deref(),
                        p.migration_takes,
                    ),
                )
            }
            _ => reply(
                404,
                json!({"type": "invalid_request", "code": "not_found", "detail": "Not found."}),
            ),
        }
    }

    fn capture(&self, req: &HttpRequest, knobs: &IngestionKnobs) -> HttpReply {
        if knobs.capture_failing {
            return reply(
                503,
                json!({"type": "server_error", "detail": "capture is unavailable"}),
            );
        }
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return reply(
                400,
                json!({"type": "validation_error", "code": "invalid_payload", "detail": "Malformed request data"}),
            );
        };
        if body["api_key"].as_str().is_none_or(str::is_empty) {
            return reply(
                401,
                json!({"type": "authentication_error", "code": "invalid_api_key", "detail": "Project API key invalid."}),
            );
        }
        let batch: Vec<Value> = match body.get("batch").and_then(Value::as_array) {
            Some(b) => b.clone(),
            None => vec![body.clone()],
        };
        let ns = &req.pipeline.namespace;
        let Some(taken_at) = self.queue(ns, batch.len(), req.pipeline.capture_capacity) else {
            return HttpReply {
                wait: CAPTURE_BASE_LATENCY,
                ..reply(
                    503,
                    json!({"type": "server_error", "detail": "capture is overloaded: too many events queued"}),
                )
            };
        };
        let buffer = req.pipeline.buffer;
        if let Ok(mut a) = self.arrivals.lock() {
            let now = Instant::now();
            a.extend(std::iter::repeat_n((ns.clone(), now), batch.len()));
            while a.len() > MAX_ARRIVALS {
                a.pop_front();
            }
        }
        if let Ok(mut w) = self.written.lock() {
            let bytes: u64 = batch
                .iter()
                .map(|e| serde_json::to_string(e).map_or(0, |s| s.len() as u64))
                .sum();
            let w = w.entry(ns.clone()).or_default();
            w.kafka += bytes;
            if !knobs.silently_drop {
                w.clickhouse += bytes;
            }
        }
        if !knobs.silently_drop
            && let (Ok(mut ev), Ok(mut persons)) = (self.events.lock(), self.persons.lock())
        {
            for e in batch {
                let id = e["distinct_id"].as_str().unwrap_or_default().to_string();
                let new_person = persons.insert((ns.clone(), id));
                let held = if new_person { buffer } else { Duration::ZERO };
                ev.push_back(Captured {
                    namespace: ns.clone(),
                    ready_at: taken_at + req.pipeline.ingest_delay + knobs.delay + held,
                    ingested: false,
                    event: e,
                });
                while ev.len() > MAX_EVENTS {
                    ev.pop_front();
                }
            }
        }
        HttpReply {
            wait: CAPTURE_BASE_LATENCY + taken_at.saturating_duration_since(Instant::now()),
            ..reply(200, json!({"status": 1}))
        }
    }

    /// Queues `n` events behind what `namespace`'s capture has not taken yet; when they will
    /// have been taken, or None when the backlog is past the limit (nothing is queued).
    fn queue(&self, namespace: &str, n: usize, capacity: f64) -> Option<Instant> {
        let now = Instant::now();
        let mut q = self.capture_free_at.lock().ok()?;
        let free = q
            .get(namespace)
            .copied()
            .filter(|t| *t > now)
            .unwrap_or(now);
        if free.duration_since(now) > CAPTURE_BACKLOG_LIMIT {
            return None;
        }
        let taken = free + Duration::from_secs_f64(n as f64 / capacity.max(0.001));
        q.insert(namespace.to_string(), taken);
        Some(taken)
    }

    fn events_api(&self, req: &HttpRequest) -> HttpReply {
        let wanted = req
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix("event="))
            .map(|v| v.replace("%20", " ").replace('+', " "));
        let now = Instant::now();
        let ns = &req.pipeline.namespace;
        let ingesting = req.pipeline.plugin_server_running;
        let results: Vec<Value> = self
            .events
            .lock()
            .map(|mut ev| {
                ev.iter_mut()
                    .filter(|c| c.namespace == *ns)
                    .filter_map(|c| {
                        c.ingested |= ingesting && c.ready_at <= now;
                        let e = &c.event;
                        (c.ingested && wanted.as_deref().is_none_or(|w| e["event"] == w))
                            .then(|| json!({"event": e["event"], "distinct_id": e["distinct_id"], "properties": e["properties"], "timestamp": e["timestamp"]}))
                    })
                    .collect()
            })
            .unwrap_or_default();
        reply(200, json!({"results": results, "next": null}))
    }
}

/// The Secrets a finished Job's program writes, for helper images charts run as hooks before
/// their workloads (which mount or read the result): ingress-nginx's and
/// kube-prometheus-stack's `kube-webhook-certgen create --secret-name=S` (keys `ca`, `cert`,
/// `key`), and Argo CD's `argocd admin redis-initial-password` (Secret `argocd-redis`, key
/// `auth`). No other program's effects are simulated. Each comes with the field manager the
/// program writes as.
pub fn job_outputs(job: &Value) -> Vec<(&'static str, Value)> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let ns = job["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    for c in job["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let image = c["image"].as_str().unwrap_or_default();
        let words: Vec<&str> = ["command", "args"]
            .iter()
            .flat_map(|k| c[*k].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let flag = |name: &str| {
            words.iter().find_map(|w| {
                w.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
            })
        };
        if image.contains("kube-webhook-certgen") && words.first() == Some(&"create") {
            if let Some(name) = flag("--secret-name") {
                out.push((
                    "kube-webhook-certgen",
                    json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": name, "namespace": ns},
                    "data": {"ca": b64("simulated CA"), "cert": b64("simulated certificate"),
                             "key": b64("simulated key")}}),
                ));
            }
        } else if image.contains("argoproj/argocd") && words.contains(&"redis-initial-password") {
            out.push((
                "argocd",
                json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "argocd-redis", "namespace": ns},
                "data": {"auth": b64("simulated-redis-password")}}),
            ));
        }
    }
    out
}

fn pods_gr() -> (String, String) {
    (String::new(), "pods".to_string())
}

fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// A ready pod the Service selects, as its endpoints would list it.
pub fn ready_pod_behind(store: &crate::store::Store, svc: &Value) -> Option<Value> {
    ready_pods_behind(store, svc)
        .next()
        .map(std::borrow::Cow::into_owned)
}

/// The ready pods a Service selects (none for a Service without a selector).
pub fn ready_pods_behind<'a>(
    store: &'a crate::store::Store,
    svc: &'a Value,
) -> impl Iterator<Item = std::borrow::Cow<'a, Value>> + 'a {
    let sel = svc["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty());
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or_default();
    sel.into_iter().flat_map(move |sel| {
        store
            .iter_gr(&pods_gr(), Some(ns))
            .filter(move |p| sel.iter().all(|(k, v)| p["metadata"]["labels"][k] == *v))
            .filter(|p| is_ready(p))
    })
}

/// Whether the container that serves `port` (by number or name; the first container when
/// none is named) is running, so something answers on it.
pub fn serving(pod: &Value, port: Option<&str>) -> bool {
    let Some(name) = crate::programs::container_on(pod, port).and_then(|c| c["name"].as_str())
    else {
        return false;
    };
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["name"] == name && s["state"]["running"].is_object())
}

/// The ingestion pipeline behind `namespace`: whether a plugin server (`role: plugins` or
/// `plugins-ingestion`, the vendor chart's ingesting deployments) runs there, and the
/// conversion buffer it runs with (its `BUFFER_CONVERSION_SECONDS`, else the default), scaled
/// by the cluster's time factor as every simulated delay is.
pub fn pipeline(store: &crate::store::Store, namespace: &str, time_factor: f64) -> Pipeline {
    let plugin_pods: Vec<Value> = store
        .iter_gr(&pods_gr(), Some(namespace))
        .filter(|p| {
            matches!(
                p["metadata"]["labels"]["role"].as_str(),
                Some("plugins" | "plugins-ingestion")
            )
        })
        .map(std::borrow::Cow::into_owned)
        .collect();
    let seconds = plugin_pods
        .iter()
        .flat_map(|p| p["spec"]["containers"].as_array().into_iter().flatten())
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .find(|e| e["name"] == "BUFFER_CONVERSION_SECONDS")
        .and_then(|e| e["value"].as_str()?.trim().parse::<f64>().ok())
        .unwrap_or(DEFAULT_BUFFER_CONVERSION.as_secs_f64());
    let app = store
        .iter_gr(&pods_gr(), Some(namespace))
        .filter(|p| p["metadata"]["labels"]["role"] == "web" && serving(p, None))
        .filter_map(|p| crate::async_migrations::app_of_pod(&p))
        .max();
    let capture_capacity = store
        .iter_gr(&pods_gr(), Some(namespace))
        .filter(|p| p["metadata"]["labels"]["role"] == "events" && serving(p, None))
        .map(|p| {
            p["spec"]["containers"][0]["resources"]["limits"]["cpu"]
                .as_str()
                .and_then(crate::quantity::milli)
                .map_or(UNLIMITED_CORES, |m| m as f64 / 1000.0)
        })
        .sum::<f64>()
        / crate::metrics::CORES_PER_EVENT_PER_SECOND;
    Pipeline {
        namespace: namespace.to_string(),
        plugin_server_running: plugin_pods.iter().any(|p| serving(p, None)),
        capture_capacity,
        ingest_delay: INGEST_DELAY.mul_f64(time_factor.max(0.0)),
        buffer: Duration::from_secs_f64((seconds * time_factor).max(0.0)),
        app,
        migration_takes: crate::async_migrations::DURATION.mul_f64(time_factor.max(0.0)),
    }
}

/// What answers on `pod`'s `port` (the first container's when none is named): PostHog's
/// components with their namespace's pipeline as it stands, the other modelled programs
/// (`programs`), or nothing listening (`None`).
#[allow(clippy::too_many_arguments)]
pub fn answer_pod(
    state: &crate::SimState,
    pod: &Value,
    port: Option<&str>,
    method: String,
    path: String,
    query: String,
    body: Vec<u8>,
    bearer: Option<String>,
) -> Option<HttpReply> {
    use crate::programs::{Program, answer, container_on, program_of};
    let container = container_on(pod, port)?;
    let program = program_of(pod, container)?;
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let store = state.store.lock().ok()?;
    if program != Program::PostHog {
        return Some(answer(program, &store, pod, container, &method, &path));
    }
    let pipeline = pipeline(&store, ns, state.options.time_factor);
    drop(store);
    Some(state.workloads.answer(
        pod,
        &HttpRequest {
            method,
            path,
            query,
            body,
            bearer,
            pipeline,
        },
    ))
}

#[cfg(test)]
mod job_output_tests {
    use super::*;

    #[test]
    fn certgen_create_makes_the_secret_it_names_and_patch_makes_none() {
        let job = |args: Value| {
            json!({"metadata": {"namespace": "ing"}, "spec": {"template": {"spec": {"containers": [
                {"image": "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.9", "args": args}]}}}})
        };
        let made = job_outputs(&job(json!([
            "create",
            "--namespace=$(POD_NAMESPACE)",
            "--secret-name=adm"
        ])));
        assert_eq!(made.len(), 1);
        let (manager, secret) = &made[0];
        assert_eq!(*manager, "kube-webhook-certgen");
        assert_eq!(secret["metadata"]["name"], "adm");
        assert_eq!(secret["metadata"]["namespace"], "ing");
        assert!(secret["data"]["cert"].is_string());
        assert!(job_outputs(&job(json!(["patch", "--secret-name=adm"]))).is_empty());
    }
}

#[cfg(test)]
mod capture_tests {
    use super::*;

    fn post(w: &Workloads, events: usize, capacity: f64) -> HttpReply {
        let batch: Vec<Value> = (0..events)
            .map(|i| json!({"event": "load", "distinct_id": format!("u{i}")}))
            .collect();
        w.answer(
            &json!({"metadata": {"labels": {"role": "events"}}}),
            &HttpRequest {
                method: "POST".into(),
                path: "/batch/".into(),
                query: String::new(),
                body: serde_json::to_vec(&json!({"api_key": "phc_x", "batch": batch})).unwrap(),
                bearer: None,
                pipeline: Pipeline {
                    namespace: "posthog".into(),
                    capture_capacity: capacity,
                    ..Pipeline::default()
                },
            },
        )
    }

    #[test]
    fn capture_waits_behind_what_the_events_pods_cpu_has_not_taken_and_refuses_past_the_limit() {
        let w = Workloads::default();
        // 1,000 events a second (two cores): 100 events take a tenth of a second.
        let first = post(&w, 100, 1_000.0);
        assert_eq!(first.status, 200);
        assert!(
            first.wait >= CAPTURE_BASE_LATENCY + Duration::from_millis(90),
            "{:?}",
            first.wait
        );
        // The next request waits for the first's events too.
        let second = post(&w, 100, 1_000.0);
        assert!(
            second.wait > first.wait,
            "{:?} {:?}",
            second.wait,
            first.wait
        );
        // Six seconds' worth queues (the backlog was under the limit) ...
        assert_eq!(post(&w, 6_000, 1_000.0).status, 200);
        // ... and what comes behind it is refused, without being queued.
        let refused = post(&w, 1, 1_000.0);
        assert_eq!(refused.status, 503);
        assert!(String::from_utf8_lossy(&refused.body).contains("overloaded"));
        assert!((w.capture_rate("posthog") - 6_200.0 / 60.0).abs() < 0.01);
    }
}
