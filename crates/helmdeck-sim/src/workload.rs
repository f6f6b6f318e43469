//! Simulated application behaviour behind the service proxy: pods labelled `role=web` serve
//! the health endpoints and the events API, `role=events` the capture API, `role=plugins`
//! `/_health`. Knobs make ingestion slow, failing, lossy or unhealthy, so the real probe code
//! is exercised end to end.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
}

pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

fn reply(status: u16, v: Value) -> HttpReply {
    HttpReply {
        status,
        content_type: "application/json",
        body: serde_json::to_vec(&v).unwrap_or_default(),
    }
}

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
}

#[derive(Default)]
pub struct Workloads {
    pub knobs: Mutex<IngestionKnobs>,
    events: Mutex<VecDeque<(Instant, Value)>>,
}

impl Workloads {
    pub fn set_knobs(&self, k: IngestionKnobs) {
        if let Ok(mut g) = self.knobs.lock() {
            *g = k;
        }
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
            ("plugins", "GET", "/_health") => {
                if knobs.unhealthy {
                    reply(503, json!({"status": "error"}))
                } else {
                    reply(200, json!({"status": "ok"}))
                }
            }
            ("events", "POST", "/e" | "/capture" | "/batch" | "/i/v0/e" | "/track") => {
                self.capture(req, &knobs)
            }
            ("web", "GET", "/api/projects/@current/events") => self.events_api(req),
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
        if !knobs.silently_drop
            && let Ok(mut ev) = self.events.lock()
        {
            for e in batch {
                ev.push_back((Instant::now() + knobs.delay, e));
                while ev.len() > 10_000 {
                    ev.pop_front();
                }
            }
        }
        reply(200, json!({"status": 1}))
    }

    fn events_api(&self, req: &HttpRequest) -> HttpReply {
        let wanted = req
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix("event="))
            .map(|v| v.replace("%20", " ").replace('+', " "));
        let now = Instant::now();
        let results: Vec<Value> = self
            .events
            .lock()
            .map(|ev| {
                ev.iter()
                    .filter(|(visible, e)| *visible <= now && wanted.as_deref().is_none_or(|w| e["event"] == w))
                    .map(|(_, e)| json!({"event": e["event"], "distinct_id": e["distinct_id"], "properties": e["properties"], "timestamp": e["timestamp"]}))
                    .collect()
            })
            .unwrap_or_default();
        reply(200, json!({"results": results, "next": null}))
    }
}
