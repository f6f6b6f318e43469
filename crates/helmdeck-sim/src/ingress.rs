//! The public side of the cluster: one plain-HTTP 127.0.0.1 port stands for the internet,
//! with DNS pointing each host where its user would point it. A request's host is a load
//! balancer's address (its status IP or hostname) or a host an Ingress names, which resolves to
//! the address the Ingress got; that load balancer ([`crate::load_balancers`]) forwards the
//! connection to the ingress-nginx controller behind it, adding a PROXY header when it would.
//! The simulated nginx then does what nginx does with `use-proxy-protocol` (read from the
//! controller's ConfigMap): expecting a PROXY header and not getting one, it closes the
//! connection without an answer (nginx's "broken header" in `ngx_proxy_protocol_read`); getting
//! one it does not expect, it reads it as a request line and answers 400. With the
//! `ingress-controller` scenario a controller without a load balancer serves its class too, as
//! a port-forwarded or host-network controller does. The request is then routed by the stored
//! Ingresses' rules to a ready pod behind the backend Service and answered by the simulated
//! workload: capture paths to events, `/` to web.
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

/// Whether a controller serves the Ingress: its class exists (by `ingressClassName`, or the
/// older `kubernetes.io/ingress.class` annotation the vendor's chart writes), or it names none
/// and a class is marked the default.
pub fn served(ing: &Value, classes: &[Value]) -> bool {
    match class_of(ing) {
        Some(name) => classes.iter().any(|c| c["metadata"]["name"] == name),
        None => classes.iter().any(|c| {
            c["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
        }),
    }
}

fn class_of(ing: &Value) -> Option<&str> {
    ing["spec"]["ingressClassName"]
        .as_str()
        .or(ing["metadata"]["annotations"]["kubernetes.io/ingress.class"].as_str())
}

/// An ingress-nginx controller running in the cluster, read from its pod's arguments as the
/// controller reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Nginx {
    pub namespace: String,
    /// `--controller-class` (default `k8s.io/ingress-nginx`).
    pub controller: String,
    /// `--ingress-class` (default `nginx`): the annotation value it serves.
    pub class: String,
    /// `--publish-service`: the Service whose load balancer address its Ingresses get.
    pub publish: Option<(String, String)>,
    /// `--configmap`: where `use-proxy-protocol` is read.
    pub configmap: Option<(String, String)>,
    pub labels: Value,
}

/// The ingress-nginx controllers among the cluster's pods (one per controller, by its first pod).
pub fn nginx_controllers(store: &crate::store::Store) -> Vec<Nginx> {
    let mut out: Vec<Nginx> = Vec::new();
    for pod in store.iter_gr(&(String::new(), "pods".to_string()), None) {
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            let args: Vec<String> = c["args"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|a| a.replace("$(POD_NAMESPACE)", ns))
                .collect();
            if !args
                .iter()
                .any(|a| a.ends_with("/nginx-ingress-controller"))
            {
                continue;
            }
            let flag = |name: &str| {
                args.iter()
                    .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
            };
            let pair = |v: Option<String>| {
                v.and_then(|v| {
                    v.split_once('/')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                })
            };
            let n = Nginx {
                namespace: ns.to_string(),
                controller: flag("controller-class")
                    .unwrap_or_else(|| "k8s.io/ingress-nginx".into()),
                class: flag("ingress-class").unwrap_or_else(|| "nginx".into()),
                publish: pair(flag("publish-service")),
                configmap: pair(flag("configmap")),
                labels: pod["metadata"]["labels"].clone(),
            };
            if !out
                .iter()
                .any(|o| o.publish == n.publish && o.controller == n.controller)
            {
                out.push(n);
            }
        }
    }
    out
}

impl Nginx {
    /// Whether this controller serves the Ingress (by its class's controller, or the annotation).
    pub fn serves(&self, ing: &Value, classes: &[Value]) -> bool {
        let by_class = |c: &Value| c["spec"]["controller"] == self.controller.as_str();
        match ing["spec"]["ingressClassName"].as_str() {
            Some(name) => classes
                .iter()
                .any(|c| c["metadata"]["name"] == name && by_class(c)),
            None => match ing["metadata"]["annotations"]["kubernetes.io/ingress.class"].as_str() {
                Some(a) => a == self.class,
                None => classes.iter().any(|c| {
                    c["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"]
                        == "true"
                        && by_class(c)
                }),
            },
        }
    }

    /// `use-proxy-protocol` from the controller's ConfigMap (off when absent, as ingress-nginx
    /// defaults it).
    pub fn expects_proxy(&self, store: &crate::store::Store) -> bool {
        let Some((ns, name)) = &self.configmap else {
            return false;
        };
        store
            .peek_gr(&(String::new(), "configmaps".to_string()), ns, name)
            .is_some_and(|cm| cm["data"]["use-proxy-protocol"] == "true")
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

/// Where a connection to the public port goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Path {
    /// Nothing answers at that address: the connection is closed.
    Nowhere,
    /// The `ingress-controller` scenario's controller, reached directly.
    Controller,
    /// A load balancer in front of an ingress-nginx controller.
    LoadBalancer {
        lb: crate::load_balancers::LoadBalancer,
        /// The controller's `use-proxy-protocol`.
        nginx_expects_proxy: bool,
    },
}

fn address_of(ingress: &Value) -> Option<&str> {
    ingress["ip"].as_str().or(ingress["hostname"].as_str())
}

/// Where DNS and the cluster's load balancers take a connection for `host`.
pub fn path_for(state: &SimState, store: &crate::store::Store, host: &str) -> Path {
    let aws_controller = state
        .options
        .scenarios
        .contains(&crate::Scenario::AwsLoadBalancerController);
    let flavor = state.options.flavor;
    let gr = |g: &str, r: &str| (g.to_string(), r.to_string());
    let lbs: Vec<(Value, crate::load_balancers::LoadBalancer)> = store
        .iter_gr(&gr("", "services"), None)
        .filter(|s| s["spec"]["type"] == "LoadBalancer")
        .filter_map(
            |s| match crate::load_balancers::provision(flavor, &s, aws_controller) {
                crate::load_balancers::Provisioned::Ready(lb) => Some((s.into_owned(), lb)),
                crate::load_balancers::Provisioned::Pending(_) => None,
            },
        )
        .collect();
    // DNS: the load balancer's own address, else the address of an Ingress naming the host.
    let ingresses: Vec<Value> = store
        .iter_gr(&gr("networking.k8s.io", "ingresses"), None)
        .map(std::borrow::Cow::into_owned)
        .collect();
    let named = |a: &str| a.eq_ignore_ascii_case(host);
    let target = lbs
        .iter()
        .find(|(_, lb)| address_of(&lb.ingress).is_some_and(named))
        .or_else(|| {
            let addr = ingresses.iter().find_map(|ing| {
                let names_host = ing["spec"]["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["host"].as_str().is_some_and(|h| host_matches(h, host)));
                names_host
                    .then(|| address_of(&ing["status"]["loadBalancer"]["ingress"][0]))
                    .flatten()
            })?;
            lbs.iter()
                .find(|(_, lb)| address_of(&lb.ingress) == Some(addr))
        });
    if let Some((svc, lb)) = target {
        let ns = svc["metadata"]["namespace"].as_str().unwrap_or_default();
        let behind = nginx_controllers(store).into_iter().find(|n| {
            n.namespace == ns
                && svc["spec"]["selector"].as_object().is_some_and(|sel| {
                    !sel.is_empty() && sel.iter().all(|(k, v)| n.labels[k] == *v)
                })
        });
        return match behind {
            Some(n) => Path::LoadBalancer {
                lb: lb.clone(),
                nginx_expects_proxy: n.expects_proxy(store),
            },
            None => Path::Nowhere,
        };
    }
    if state
        .options
        .scenarios
        .contains(&crate::Scenario::IngressController)
    {
        Path::Controller
    } else {
        Path::Nowhere
    }
}

/// Serves the public port until cancelled.
pub async fn serve(listener: TcpListener, state: Arc<SimState>, cancel: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = cancel.cancelled() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let st = state.clone();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(st, stream, peer) => {}
                _ = c.cancelled() => {}
            }
        });
    }
}

/// The request head's bytes, peeked (left in the socket for the HTTP server): up to the blank
/// line, 16 KiB, or what came in 10 s.
async fn peek_head(stream: &tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = 0;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return buf[..seen].to_vec(),
        };
        if n == 0 || n == buf.len() || buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            return buf[..n].to_vec();
        }
        if n == seen {
            // Nothing new yet. Peeked bytes keep the socket readable, so waiting for
            // readiness would spin: look again shortly, until the deadline.
            if tokio::time::Instant::now() >= deadline {
                return buf[..n].to_vec();
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        seen = n;
    }
}

fn host_header(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    let host = text
        .split("\r\n")
        .skip(1)
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("host")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => host,
    }
}

async fn connection(
    state: Arc<SimState>,
    mut stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
) {
    use tokio::io::AsyncWriteExt;
    let head = peek_head(&stream).await;
    let host = host_header(&head);
    let path = match state.store.lock() {
        Ok(store) => path_for(&state, &store, &host),
        Err(_) => return,
    };
    match path {
        Path::Nowhere => return,
        Path::Controller => {}
        Path::LoadBalancer {
            lb,
            nginx_expects_proxy,
        } => {
            if !lb.public {
                // An internal load balancer has no address on the internet.
                return;
            }
            let to = lb.ingress["ip"]
                .as_str()
                .and_then(|ip| ip.parse().ok())
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
            let header =
                crate::load_balancers::header(lb.proxy, peer, std::net::SocketAddr::new(to, 80));
            // What nginx reads first: the load balancer's header, else the client's own bytes.
            let first: &[u8] = if header.is_empty() { &head } else { &header };
            use crate::load_balancers::{Header, parse_header};
            let proxied = parse_header(first);
            match (nginx_expects_proxy, proxied) {
                // nginx reads a PROXY header first and closes on a broken or missing one.
                (true, Header::Complete(_)) => {}
                (true, _) => return,
                // A header it does not expect is a request line it cannot parse.
                (false, Header::Complete(_) | Header::Broken | Header::Partial) => {
                    let body = "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
                    let reply = format!(
                        "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                    return;
                }
                (false, Header::Absent) => {}
            }
            if header.is_empty() && nginx_expects_proxy {
                // The client sent its own header: nginx consumes it before the request.
                let Header::Complete(n) = parse_header(&head) else {
                    return;
                };
                let mut skip = vec![0u8; n];
                if tokio::io::AsyncReadExt::read_exact(&mut stream, &mut skip)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
    let io = hyper_util::rt::TokioIo::new(stream);
    let st = state.clone();
    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
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
        let ingresses: Vec<Value> = store
            .iter_gr(&gr("ingresses"), None)
            .map(std::borrow::Cow::into_owned)
            .collect();
        let classes: Vec<Value> = store
            .iter_gr(&gr("ingressclasses"), None)
            .map(std::borrow::Cow::into_owned)
            .collect();
        let Some((ns, svc)) = route(&ingresses, &classes, &host, &path) else {
            return Ok(text(404, "default backend - 404"));
        };
        let services = (String::new(), "services".to_string());
        store
            .peek_gr(&services, &ns, &svc)
            .and_then(|s| crate::workload::ready_pod_behind(&store, &s))
    };
    // ingress-nginx answers 503 when the backend has no ready endpoint.
    let Some(pod) = pod else {
        return Ok(text(503, "503 Service Temporarily Unavailable"));
    };
    // Nothing listening behind the endpoint: ingress-nginx's upstream connection is refused.
    let Some(reply) =
        crate::workload::answer_pod(&state, &pod, None, method, path, query, body, bearer)
    else {
        return Ok(text(502, "502 Bad Gateway"));
    };
    tokio::time::sleep(reply.wait).await;
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
