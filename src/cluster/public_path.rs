//! The path a user's SDK takes: the stack's hostname, the load balancer the release's Ingress
//! got, the ingress controller behind it, then web and events. Asked from outside the cluster
//! with the hostname in the Host header, so a load balancer and an nginx that disagree on the
//! PROXY protocol show here and nowhere else. Judging is `health::public_path`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::observed::{Exchange, PublicPathRecord};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};

/// Why there is no public path to ask.
#[derive(Debug, Clone, PartialEq)]
pub enum NoPath {
    /// The release has no Ingress with a hostname.
    NoHostname,
    /// Its Ingress has no load balancer address yet.
    NoAddress { hostname: String, ingress: String },
}

/// Set once by `helmdeck demo`, whose simulated cluster runs in this process: its public port.
static PROCESS_CONNECT_TO: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();

/// Sends this process's public-path connections to `addr` (the demo's simulated cluster).
pub fn connect_all_to(addr: SocketAddr) {
    let _ = PROCESS_CONNECT_TO.set(addr);
}

/// A `--connect-to` (or `HELMDECK_CONNECT_TO`) that is not an address.
#[derive(Debug, thiserror::Error)]
#[error("--connect-to {0:?} is not an address: give IP:PORT, e.g. 127.0.0.1:8080")]
pub struct BadConnectTo(String);

/// `IP:PORT` connections go to instead of the load balancer's address, keeping the Host
/// header (a tunnel, a bastion's port-forward, the simulated cluster's public port): the
/// `--connect-to` flag, else `HELMDECK_CONNECT_TO`.
pub fn connect_to(flag: Option<&str>) -> Result<Option<SocketAddr>, BadConnectTo> {
    if flag.is_none()
        && let Some(a) = PROCESS_CONNECT_TO.get()
    {
        return Ok(Some(*a));
    }
    let given = flag
        .map(str::to_string)
        .or_else(|| std::env::var("HELMDECK_CONNECT_TO").ok())
        .filter(|s| !s.is_empty());
    match given {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| BadConnectTo(s)),
    }
}

fn owned_by(meta: &kube::api::ObjectMeta, release: &str) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get("meta.helm.sh/release-name"))
        .map(String::as_str)
        == Some(release)
        || meta
            .labels
            .as_ref()
            .and_then(|l| l.get("app.kubernetes.io/instance"))
            .map(String::as_str)
            == Some(release)
}

/// Finds the release's public path and asks it; `Err` says why there is none.
pub async fn probe(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    connect_to: Option<SocketAddr>,
    project_key: Option<&str>,
) -> Result<PublicPathRecord, NoPath> {
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let list = ingresses
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let (ing, hostname) =
        list.iter()
            .filter(|i| owned_by(&i.metadata, release))
            .find_map(|i| {
                let host =
                    i.spec.as_ref()?.rules.as_ref()?.iter().find_map(|r| {
                        r.host.clone().filter(|h| !h.is_empty() && !h.contains('*'))
                    })?;
                Some((i, host))
            })
            .ok_or(NoPath::NoHostname)?;
    let address = ing
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref()?.ingress.as_ref()?.first().cloned())
        .and_then(|a| a.ip.or(a.hostname))
        .ok_or_else(|| NoPath::NoAddress {
            hostname: hostname.clone(),
            ingress: ing.metadata.name.clone().unwrap_or_default(),
        })?;
    // The controller's Service: a LoadBalancer whose address is the Ingress's.
    let services: Api<Service> = Api::all(client.clone());
    let lb = services
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .find(|s| {
            s.spec.as_ref().and_then(|sp| sp.type_.as_deref()) == Some("LoadBalancer")
                && s.status
                    .as_ref()
                    .and_then(|st| st.load_balancer.as_ref()?.ingress.as_ref())
                    .is_some_and(|is| {
                        is.iter().any(|i| {
                            i.ip.as_deref() == Some(&address)
                                || i.hostname.as_deref() == Some(&address)
                        })
                    })
        });
    let lb_ns = lb
        .as_ref()
        .and_then(|s| s.metadata.namespace.clone())
        .unwrap_or_else(|| namespace.to_string());
    // ingress-nginx's ConfigMap: the chart labels it as the controller's.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &lb_ns);
    let nginx_use_proxy_protocol = cms
        .list(
            &ListParams::default().labels(
                "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller",
            ),
        )
        .await
        .ok()
        .and_then(|l| {
            l.items.into_iter().find_map(|c| {
                let d = c.data?;
                Some(d.get("use-proxy-protocol").is_some_and(|v| v == "true"))
            })
        });
    let http = client_for(&hostname, &address, connect_to).await;
    let base = format!("http://{hostname}");
    let health = send(&http, reqwest::Method::GET, &format!("{base}/_livez"), None).await;
    // Capture answers whether or not the key is good: any answer of the app's proves the path.
    let body = serde_json::json!({
        "api_key": project_key.unwrap_or_default(),
        "event": "helmdeck_public_path",
        "distinct_id": "helmdeck-probe",
        "properties": {"$lib": "helmdeck"},
    });
    let capture = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/e/"),
        Some(serde_json::to_vec(&body).unwrap_or_default()),
    )
    .await;
    Ok(PublicPathRecord {
        hostname,
        address,
        connect_to: connect_to.map(|a| a.to_string()),
        load_balancer: lb.as_ref().map(|s| {
            format!(
                "{}/{}",
                s.metadata.namespace.as_deref().unwrap_or_default(),
                s.metadata.name.as_deref().unwrap_or_default()
            )
        }),
        load_balancer_class: lb
            .as_ref()
            .and_then(|s| s.spec.as_ref()?.load_balancer_class.clone()),
        annotations: lb
            .and_then(|s| s.metadata.annotations)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k.starts_with("service.beta.kubernetes.io/"))
            .collect(),
        nginx_use_proxy_protocol,
        health,
        capture,
    })
}

/// A transport that sends the stack's requests the way `r` reached it: to its hostname,
/// through the load balancer (or `--connect-to`), as users' SDKs send them.
pub async fn transport(r: &PublicPathRecord) -> Option<super::probe::Transport> {
    let connect_to = r.connect_to.as_deref().and_then(|c| c.parse().ok());
    let http = client_for(&r.hostname, &r.address, connect_to).await?;
    Some(super::probe::Transport::Public {
        http,
        base: format!("http://{}", r.hostname),
    })
}

/// A client that sends `http://HOSTNAME/…` to the load balancer (or `--connect-to`).
async fn client_for(
    hostname: &str,
    address: &str,
    connect_to: Option<SocketAddr>,
) -> Option<reqwest::Client> {
    let target = match connect_to {
        Some(a) => Some(a),
        None => match address.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(SocketAddr::new(ip, 0)),
            // The load balancer is named (ELB, or DigitalOcean's hostname annotation): DNS.
            Err(_) if address.eq_ignore_ascii_case(hostname) => None,
            Err(_) => tokio::net::lookup_host((address, 80))
                .await
                .ok()
                .and_then(|mut a| a.next()),
        },
    };
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(t) = target {
        b = b.resolve(hostname, t);
    }
    b.build().ok()
}

async fn send(
    http: &Option<reqwest::Client>,
    method: reqwest::Method,
    url: &str,
    body: Option<Vec<u8>>,
) -> Exchange {
    let t = Instant::now();
    let done = |status: Option<u16>, body: Vec<u8>, error: Option<String>| Exchange {
        status,
        latency_ms: t.elapsed().as_millis() as u64,
        error,
        body,
    };
    let Some(http) = http else {
        return done(
            None,
            Vec::new(),
            Some("cannot build the HTTP client".into()),
        );
    };
    let mut rb = http.request(method, url);
    if let Some(b) = body {
        rb = rb.header("Content-Type", "application/json").body(b);
    }
    match rb.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let bytes = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            done(Some(status), bytes, None)
        }
        Err(e) => done(None, Vec::new(), Some(super::probe::error_chain(&e))),
    }
}
