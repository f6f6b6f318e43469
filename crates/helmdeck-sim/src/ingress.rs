//! The ingress controller's data path (with the `ingress-controller` scenario): plain HTTP on
//! its own 127.0.0.1 port, routed by the stored Ingresses' rules to a ready pod behind the
//! backend Service and answered by the simulated workload. A probe through a "public URL"
//! then meets the routing a user's SDK meets: capture paths to events, `/` to web.
//!
//! Matching follows the Ingress API (networking.k8s.io/v1 `HTTPIngressPath`): `Exact` is the
//! whole path; `Prefix` matches whole `/`-separated elements; `ImplementationSpecific` is a
//! string prefix as ingress-nginx treats it; the longest match wins, `Exact` before `Prefix`
//! at equal length; rules naming the request's host come before rules without a host.
//! Unmatched requests get ingress-nginx's default backend: 404 "default backend - 404".

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::SimState;
use crate::server::Body;

/// Whether a controller serves the Ingress: its class exists, or it names none and a class
/// is marked the default.
pub fn served(ing: &Value, classes: &[Value]) -> bool {
    match ing["spec"]["ingressClassName"].as_str() {
        Some(name) => classes.iter().any(|c| c["metadata"]["name"] == name),
        None => classes.iter().any(|c| {
            c["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
        }),
    }
}

/// A backend: (namespace, service name).
pub type Backend = (String, String);

/// Which backend an Ingress sends `host` + `path` to: (namespace, service name).
pub fn route(
    ingresses: &[Value],
    classes: &[Value],
    host: &str,
    path: &str,
) -> Option<(String, String)> {
    let served = |ing: &Value| served(ing, classes);
    // (host specificity, matched length, exact) → backend; the greatest wins.
    let mut best: Option<((bool, usize, bool), Backend)> = None;
    for ing in ingresses.iter().filter(|i| served(i)) {
        let ns = ing["metadata"]["namespace"].as_str().unwrap_or_default();
        for rule in ing["spec"]["rules"].as_array().into_iter().flatten() {
            let named = match rule["host"].as_str() {
                Some(h) if !h.is_empty() => {
                    if !host_matches(h, host) {
                        continue;
                    }
                    true
                }
                _ => false,
            };
            for p in rule["http"]["paths"].as_array().into_iter().flatten() {
                let want = p["path"].as_str().unwrap_or("/");
                let kind = p["pathType"].as_str().unwrap_or("ImplementationSpecific");
                let Some(len) = path_match(kind, want, path) else {
                    continue;
                };
                let Some(svc) = p["backend"]["service"]["name"].as_str() else {
                    continue;
                };
                let key = (named, len, kind == "Exact");
                if best.as_ref().is_none_or(|(k, _)| key > *k) {
                    best = Some((key, (ns.to_string(), svc.to_string())));
                }
            }
        }
    }
    if let Some((_, b)) = best {
        return Some(b);
    }
    ingresses.iter().filter(|i| served(i)).find_map(|ing| {
        let svc = ing["spec"]["defaultBackend"]["service"]["name"].as_str()?;
        Some((
            ing["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            svc.to_string(),
        ))
    })
}

/// `*.example.com` matches exactly one label in front, as the Ingress API defines wildcards.
fn host_matches(rule: &str, host: &str) -> bool {
    match rule.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => rule.eq_ignore_ascii_case(host),
    }
}

/// The matched length when `want` of `kind` matches `path`.
fn path_match(kind: &str, want: &str, path: &str) -> Option<usize> {
    match kind {
        "Exact" => (want == path).then_some(want.len()),
        "Prefix" => {
            let want = want.trim_end_matches('/');
            if want.is_empty() {
                return Some(1);
            }
            let rest = path.strip_prefix(want)?;
            (rest.is_empty() || rest.starts_with('/')).then_some(want.len())
        }
        _ => path.starts_with(want).then_some(want.len()),
    }
}

/// Serves the ingress controller's HTTP port until cancelled.
pub async fn serve(listener: TcpListener, state: Arc<SimState>, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = cancel.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let st = state.clone();
        let c = cancel.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
            tokio::select! {
                _ = conn => {}
                _ = c.cancelled() => {}
            }
        });
    }
}

fn text(status: u16, body: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND))
        .header("Content-Type", "text/plain")
        .body(crate::server::full(body.to_string()))
        .unwrap_or_else(|_| Response::new(crate::server::full(String::new())))
}

async fn handle(
    state: Arc<SimState>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h).to_string();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let bearer = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string);
    // Bodies beyond ingress-nginx's default `client_max_body_size` (1m) are refused.
    let body = match http_body_util::Limited::new(req.into_body(), 1 << 20)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => return Ok(text(413, "413 Request Entity Too Large")),
    };
    let pod = {
        let Ok(store) = state.store.lock() else {
            return Ok(text(500, "internal error"));
        };
        let gr = |r: &str| ("networking.k8s.io".to_string(), r.to_string());
        let ingresses: Vec<Value> = store.iter_gr(&gr("ingresses"), None).cloned().collect();
        let classes: Vec<Value> = store
            .iter_gr(&gr("ingressclasses"), None)
            .cloned()
            .collect();
        let Some((ns, svc)) = route(&ingresses, &classes, &host, &path) else {
            return Ok(text(404, "default backend - 404"));
        };
        let services = (String::new(), "services".to_string());
        store
            .get_gr(&services, &ns, &svc)
            .and_then(|s| crate::workload::ready_pod_behind(&store, s))
    };
    // ingress-nginx answers 503 when the backend has no ready endpoint.
    let Some(pod) = pod else {
        return Ok(text(503, "503 Service Temporarily Unavailable"));
    };
    let reply = crate::workload::answer_pod(&state, &pod, method, path, query, body, bearer);
    Ok(Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK))
        .header("Content-Type", reply.content_type)
        .body(crate::server::full(reply.body))
        .unwrap_or_else(|_| Response::new(crate::server::full(String::new()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ing(host: Option<&str>, paths: &[(&str, &str, &str)]) -> Value {
        let paths: Vec<Value> = paths
            .iter()
            .map(|(p, kind, svc)| {
                json!({"path": p, "pathType": kind,
                       "backend": {"service": {"name": svc, "port": {"number": 8000}}}})
            })
            .collect();
        let mut rule = json!({"http": {"paths": paths}});
        if let Some(h) = host {
            rule["host"] = json!(h);
        }
        json!({"metadata": {"name": "i", "namespace": "ph"},
               "spec": {"ingressClassName": "nginx", "rules": [rule]}})
    }

    fn nginx() -> Vec<Value> {
        vec![json!({"metadata": {"name": "nginx"}})]
    }

    #[test]
    fn capture_paths_go_to_events_and_the_rest_to_web() {
        let i = [ing(
            Some("ph.example.com"),
            &[("/e", "Prefix", "events"), ("/", "Prefix", "web")],
        )];
        let to = |h: &str, p: &str| route(&i, &nginx(), h, p).map(|(_, s)| s);
        assert_eq!(to("ph.example.com", "/e/").as_deref(), Some("events"));
        assert_eq!(to("ph.example.com", "/e").as_deref(), Some("events"));
        // Prefix matches whole elements: /engage is not under /e.
        assert_eq!(to("ph.example.com", "/engage").as_deref(), Some("web"));
        assert_eq!(to("ph.example.com", "/_health").as_deref(), Some("web"));
        assert_eq!(to("PH.example.com", "/_health").as_deref(), Some("web"));
        assert_eq!(to("other.example.com", "/e/"), None);
    }

    #[test]
    fn exact_beats_prefix_and_named_hosts_beat_catch_alls() {
        let i = [
            ing(None, &[("/", "Prefix", "catch-all")]),
            ing(
                Some("*.example.com"),
                &[("/a", "Prefix", "prefix"), ("/a", "Exact", "exact")],
            ),
        ];
        let to = |h: &str, p: &str| route(&i, &nginx(), h, p).map(|(_, s)| s);
        assert_eq!(to("ph.example.com", "/a").as_deref(), Some("exact"));
        assert_eq!(to("ph.example.com", "/a/b").as_deref(), Some("prefix"));
        assert_eq!(to("a.b.example.com", "/a").as_deref(), Some("catch-all"));
        assert_eq!(to("ph.example.com", "/b").as_deref(), Some("catch-all"));
    }

    #[test]
    fn an_ingress_no_controller_serves_routes_nowhere() {
        let i = [ing(None, &[("/", "Prefix", "web")])];
        assert_eq!(route(&i, &[], "x", "/"), None);
    }
}
