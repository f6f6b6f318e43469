//! The simulated cluster: a Kubernetes API server on 127.0.0.1 that keeps state and enforces
//! the API's rules, with controllers that make workloads behave. Real helm, kubectl and
//! kube-rs talk to it over plain HTTP; tests, benchmarks and the demo run against it.

pub mod async_migrations;
pub mod auth;
pub mod clickhouse;
pub mod controllers;
pub mod defaults;
pub mod discovery;
pub mod errors;
pub mod flavor;
pub mod ingress;
pub mod kube_version;
pub mod load_balancers;
pub mod metrics;
pub mod patch;
pub mod programs;
pub mod proto;
mod proto_kinds;
mod proto_schema;
pub mod quantity;
pub mod resources;
pub mod scenario;
pub mod selectors;
pub mod server;
pub mod store;
mod streaming;
mod table;
mod table_kinds;
#[cfg(feature = "test-kit")]
pub mod testkit;
pub mod validation;
pub mod volumes;
mod websocket;
pub mod workload;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use auth::{AuthOptions, Credential};
pub use flavor::Flavor;
pub use kube_version::KubeVersion;
pub use scenario::Scenario;
use store::Store;

/// How the simulated cluster is started.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// Where to write the kubeconfig (default: a file in the temp directory).
    pub kubeconfig: Option<PathBuf>,
    pub scenarios: Vec<Scenario>,
    /// Multiplies every simulated delay (probe delays, container start, job run time).
    pub time_factor: f64,
    /// Delay before every request (the `latency:MS` scenario sets it).
    pub latency: Duration,
    /// Which provider's cluster to look like (default classes, node labels, provider CRDs).
    pub flavor: Flavor,
    /// Which release to be: `/version`, discovery and the API versions served.
    pub kubernetes_version: KubeVersion,
    /// HTTPS and credentials (default: plain HTTP, no authentication).
    pub auth: AuthOptions,
    /// A cluster recorded elsewhere (a support bundle), served read-only instead of the
    /// seeded one: no controllers run and every write is refused.
    pub recorded: Option<Arc<Recorded>>,
}

/// What a recorded cluster holds: its objects as they were read, and its containers' last
/// log lines. Nothing runs in it, so nothing changes.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Every object with its `apiVersion` and `kind`; uid, times and status are kept.
    pub objects: Vec<serde_json::Value>,
    pub logs: Vec<RecordedLog>,
    /// Each node's kubelet summary as it was read (`stats/summary` through the node proxy).
    pub node_stats: std::collections::HashMap<String, serde_json::Value>,
    /// Where it came from, named in every refusal (`the support bundle FILE`).
    pub source: String,
    /// The kubeconfig's context name, which the app's header and kubectl's
    /// `config current-context` show: the bundle's, not a live cluster's. (The cluster keeps
    /// the simulated cluster's name, which tells helmdeck where it is.)
    pub context: String,
}

#[derive(Debug, Clone, Default)]
pub struct RecordedLog {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The container's previous run (`kubectl logs --previous`).
    pub previous: bool,
    pub lines: Vec<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            port: 0,
            kubeconfig: None,
            scenarios: Vec::new(),
            time_factor: 0.05,
            latency: Duration::ZERO,
            flavor: Flavor::Plain,
            kubernetes_version: KubeVersion::default(),
            auth: AuthOptions::default(),
            recorded: None,
        }
    }
}

type LogKey = (String, String, String, bool);

/// The built-in types of the release, with metrics-server's where it runs (k3s ships it).
fn served_types(options: &SimOptions) -> Vec<resources::ResourceType> {
    let metrics = options.scenarios.contains(&Scenario::MetricsServer)
        || options.flavor == flavor::Flavor::K3s;
    options
        .kubernetes_version
        .builtin_types()
        .into_iter()
        .filter(|t| metrics || t.group != metrics::GROUP)
        .collect()
}

/// Shared by the HTTP handlers and the controllers.
pub struct SimState {
    pub store: Mutex<Store>,
    pub options: SimOptions,
    pub addr: String,
    down_until: Mutex<Option<Instant>>,
    /// Bumped to drop every open watch.
    pub restarts: tokio::sync::watch::Sender<u64>,
    pub logs: Mutex<HashMap<LogKey, Vec<String>>>,
    pub workloads: workload::Workloads,
    /// When each volume was first mounted: how much the disk-filling scenario wrote.
    pub volumes: volumes::Volumes,
    /// The store's change signal (held here so log writers need not take the store lock).
    changed: Arc<tokio::sync::Notify>,
    /// The cluster's CA and the credentials it accepts.
    pub authority: auth::Authority,
}

impl SimState {
    /// A seeded cluster's state (nodes, namespaces, classes, the scenarios' setup), serving
    /// nothing yet: [`SimCluster::start`] serves it; unit tests drive it directly.
    ///
    /// # Panics
    /// When the system cannot generate a key pair for the cluster's CA.
    pub fn new(options: SimOptions, addr: String) -> SimState {
        let authority =
            auth::Authority::new(options.auth.clone()).expect("the cluster's CA key pair");
        SimState::with_authority(options, addr, authority)
    }

    fn with_authority(options: SimOptions, addr: String, authority: auth::Authority) -> SimState {
        let (restarts, _) = tokio::sync::watch::channel(0u64);
        let mut store = Store::with_types(served_types(&options));
        store.set_root_ca(authority.ca_pem.clone());
        let changed = store.changed.clone();
        let state = SimState {
            changed,
            store: Mutex::new(store),
            options,
            addr,
            down_until: Mutex::new(None),
            restarts,
            logs: Mutex::new(HashMap::new()),
            workloads: workload::Workloads::default(),
            volumes: volumes::Volumes::default(),
            authority,
        };
        match &state.options.recorded {
            Some(r) => seed_recorded(&state, r),
            None => seed(&state),
        }
        state
            .workloads
            .set_knobs(ingestion_knobs(&state.options.scenarios));
        state
    }

    pub fn is_down(&self) -> bool {
        self.down_until
            .lock()
            .map(|d| d.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    pub fn append_log(&self, ns: &str, pod: &str, container: &str, previous: bool, line: &str) {
        if let Ok(mut logs) = self.logs.lock() {
            let v = logs
                .entry((ns.into(), pod.into(), container.into(), previous))
                .or_default();
            v.push(line.to_string());
            if v.len() > 1000 {
                v.remove(0);
            }
            if previous {
                logs.entry((ns.into(), pod.into(), container.into(), false))
                    .or_default()
                    .push(line.to_string());
            }
        }
        self.changed.notify_one();
    }
}

/// A running simulated cluster; stops when dropped or on `shutdown`.
pub struct SimCluster {
    pub url: String,
    /// The cluster's public side (`http://127.0.0.1:PORT`): its load balancers and the
    /// `ingress-controller` scenario's controller, each reached by the request's host (see
    /// [`ingress`]).
    pub ingress_url: Option<String>,
    pub kubeconfig: PathBuf,
    pub state: Arc<SimState>,
    cancel: CancellationToken,
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot write the kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Auth(#[from] auth::AuthError),
}

impl SimCluster {
    /// Starts the server and controllers on the current tokio runtime.
    pub async fn start(options: SimOptions) -> Result<SimCluster, SimError> {
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| SimError::Bind {
                port: options.port,
                source,
            })?;
        let addr: SocketAddr = listener.local_addr().map_err(|source| SimError::Bind {
            port: options.port,
            source,
        })?;
        let mut options = options;
        for s in &options.scenarios {
            if let Scenario::Latency(d) = s {
                options.latency = *d;
            }
        }
        let kubeconfig = options.kubeconfig.clone().unwrap_or_else(|| {
            std::env::temp_dir()
                .join(format!("helmdeck-sim-{}", addr.port()))
                .join("kubeconfig")
        });
        let authority = auth::Authority::new(options.auth.clone())?;
        let tls = if options.auth.tls {
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                authority.server_config()?,
            )))
        } else {
            None
        };
        let url = format!("{}://{addr}", if tls.is_some() { "https" } else { "http" });
        let context = options
            .recorded
            .as_ref()
            .map_or("helmdeck-sim", |r| r.context.as_str());
        write_kubeconfig(&kubeconfig, &url, &authority, context)?;
        let state = Arc::new(SimState::with_authority(
            options.clone(),
            addr.to_string(),
            authority,
        ));
        let cancel = CancellationToken::new();
        tokio::spawn(serve(listener, state.clone(), cancel.clone(), tls));
        // A recorded cluster is a picture: nothing reconciles it and it has no public side.
        let ingress_url = if options.recorded.is_some() {
            None
        } else {
            tokio::spawn(run_controllers(state.clone(), cancel.clone()));
            // The internet's side of the cluster: every load balancer (and the scenario's
            // ingress controller) is reached through this one port, by the request's host.
            let l = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|source| SimError::Bind { port: 0, source })?;
            let a = l
                .local_addr()
                .map_err(|source| SimError::Bind { port: 0, source })?;
            tokio::spawn(ingress::serve(l, state.clone(), cancel.clone()));
            Some(format!("http://{a}"))
        };
        for s in &options.scenarios {
            if let Scenario::ApiRestart(d) = s {
                // From the command line: the API goes away every minute for that long.
                let (st, c, d) = (state.clone(), cancel.clone(), *d);
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(60)) => restart(&st, d),
                            _ = c.cancelled() => return,
                        }
                    }
                });
            }
        }
        Ok(SimCluster {
            url,
            ingress_url,
            kubeconfig,
            state,
            cancel,
        })
    }

    /// Drops every watch and refuses connections for `down`; state and versions are kept.
    pub fn restart_api(&self, down: Duration) {
        restart(&self.state, down);
    }

    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }
}

/// The simulated ingestion pipeline's behaviour, from the scenarios.
fn ingestion_knobs(scenarios: &[Scenario]) -> workload::IngestionKnobs {
    let mut k = workload::IngestionKnobs::default();
    for s in scenarios {
        match s {
            Scenario::IngestionDown => k.capture_failing = true,
            Scenario::IngestionStalled => k.silently_drop = true,
            Scenario::IngestionDelay(d) => k.delay = *d,
            Scenario::Unhealthy => k.unhealthy = true,
            Scenario::AsyncMigrationFails(m) => k.failing_migration = Some(m.clone()),
            _ => {}
        }
    }
    k
}

fn restart(state: &SimState, down: Duration) {
    if let Ok(mut d) = state.down_until.lock() {
        *d = Some(Instant::now() + down);
    }
    state.restarts.send_modify(|g| *g += 1);
}

/// The kubeconfig for this cluster's user, with the credential the options ask for (and the
/// private files it needs beside it: the client key, the exec plugin's token key), its
/// context called `name`.
fn write_kubeconfig(
    path: &std::path::Path,
    url: &str,
    authority: &auth::Authority,
    name: &str,
) -> Result<(), SimError> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let err = |source| SimError::Kubeconfig {
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).map_err(err)?;
    }
    let opts = authority.options();
    let mut cluster = json!({"server": url});
    if opts.tls {
        cluster["certificate-authority-data"] = json!(b64(&authority.ca_pem));
    }
    let readonly = opts.readonly;
    let user = match &opts.credential {
        Credential::None => json!({"token": "helmdeck-sim-token"}),
        Credential::Token => json!({"token": authority.static_token()}),
        Credential::ClientCert => {
            let year = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                + 365 * 86_400;
            let (cert, key) =
                authority.issue_client_cert(auth::user_name(readonly), readonly, year)?;
            json!({"client-certificate-data": b64(&cert), "client-key-data": b64(&key)})
        }
        Credential::Exec { command, args } => {
            let key_file = PathBuf::from(format!("{}.token-key", path.display()));
            auth::write_private(&key_file, &authority.token_key_hex())?;
            let mut args: Vec<String> = args.clone();
            args.extend([
                "--key-file".to_string(),
                key_file.display().to_string(),
                "--ttl-seconds".to_string(),
                opts.token_ttl.as_secs().to_string(),
            ]);
            if readonly {
                args.push("--readonly".into());
            }
            json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": command,
                "args": args, "interactiveMode": "Never", "provideClusterInfo": false}})
        }
    };
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "helmdeck-sim", "cluster": cluster}],
        "users": [{"name": "helmdeck-sim", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "helmdeck-sim", "user": "helmdeck-sim", "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    });
    let text = serde_yaml::to_string(&config).unwrap_or_default();
    // Credentials inside: private, as kubectl writes it.
    auth::write_private(path, &text)?;
    Ok(())
}

async fn serve(
    listener: TcpListener,
    state: Arc<SimState>,
    cancel: CancellationToken,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = cancel.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        if state.is_down() {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let st = state.clone();
        let c = cancel.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let Some(acceptor) = tls else {
                serve_connection(stream, st, None, c).await;
                return;
            };
            // A client that does not finish its handshake is dropped, as a real server does.
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
            let Ok(Ok(stream)) = handshake.await else {
                return;
            };
            let peer = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| Arc::new(c.to_vec()));
            serve_connection(stream, st, peer, c).await;
        });
    }
}

async fn serve_connection<S>(
    stream: S,
    state: Arc<SimState>,
    peer: Option<Arc<Vec<u8>>>,
    cancel: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let svc =
        hyper::service::service_fn(move |req| server::handle(state.clone(), req, peer.clone()));
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        _ = cancel.cancelled() => {}
    }
}

async fn run_controllers(state: Arc<SimState>, cancel: CancellationToken) {
    let changed = match state.store.lock() {
        Ok(s) => s.changed.clone(),
        Err(_) => return,
    };
    let mut cs = controllers::ControllerState::default();
    loop {
        let began = Instant::now();
        controllers::reconcile(&state, &mut cs);
        let wake = cs.next_wake.map(tokio::time::Instant::from_std);
        // With nothing due, a round a second; but never more than a twentieth of the time
        // spent reconciling, so a cluster of 100,000 pods is not re-read without pause while
        // nothing changes (each round holds the store, and every request waits on it).
        let idle = Duration::from_secs(1).max(began.elapsed() * 20);
        let fallback = tokio::time::Instant::now() + idle;
        tokio::select! {
            _ = changed.notified() => {
                // Let a burst of writes land before reconciling again.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            _ = tokio::time::sleep_until(wake.unwrap_or(fallback).min(fallback)) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// A recorded cluster's objects put back as they were read (namespaces and CRDs first, so
/// what they scope or define is served), and its log lines.
fn seed_recorded(state: &SimState, recorded: &Recorded) {
    if let Ok(mut store) = state.store.lock() {
        let rank = |o: &serde_json::Value| match o["kind"].as_str() {
            Some("Namespace") => 0,
            Some("CustomResourceDefinition") => 1,
            _ => 2,
        };
        let mut objects: Vec<&serde_json::Value> = recorded.objects.iter().collect();
        objects.sort_by_key(|o| rank(o));
        for o in objects {
            // An object of a kind this release does not serve is left out, as a restore
            // into this cluster would leave it out.
            let _ = store.restore(o.clone());
        }
        store.compact();
    }
    if let Ok(mut logs) = state.logs.lock() {
        for l in &recorded.logs {
            logs.insert(
                (
                    l.namespace.clone(),
                    l.pod.clone(),
                    l.container.clone(),
                    l.previous,
                ),
                l.lines.clone(),
            );
        }
    }
}

/// The default cluster: 3 nodes of 4 CPU / 16 GiB, an encrypted default StorageClass, the
/// system priority classes and the usual namespaces; scenarios adjust it.
fn seed(state: &SimState) {
    let Ok(mut store) = state.store.lock() else {
        return;
    };
    let sc = &state.options.scenarios;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let _ = store.create_system(
            ("v1", "Namespace"),
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
    }
    let small = sc.contains(&Scenario::SmallNodes);
    let (count, cpu, mem) = if small {
        (1, "1", "2Gi")
    } else {
        (3, "4", "16Gi")
    };
    let git_version = state.options.kubernetes_version.git_version();
    for i in 1..=count {
        let name = format!("sim-node-{i}");
        let flavor = state.options.flavor;
        let (zone, region, instance) = flavor.node_labels(i);
        let mut labels = json!({
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": instance});
        if !zone.is_empty() {
            labels["topology.kubernetes.io/zone"] = json!(zone);
            labels["topology.kubernetes.io/region"] = json!(region);
        }
        let mut node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {"podCIDR": format!("10.244.{i}.0/24")},
        });
        if let Some(id) = flavor.provider_id(i, &zone) {
            node["spec"]["providerID"] = json!(id);
        }
        if store.create_system(("v1", "Node"), "", node).is_ok() {
            store.set_status(
                &(String::new(), "nodes".into()),
                "",
                &name,
                json!({
                    "capacity": {"cpu": cpu, "memory": mem, "pods": "110", "ephemeral-storage": "100Gi"},
                    "allocatable": {"cpu": cpu, "memory": mem, "pods": "110", "ephemeral-storage": "95Gi"},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                                    "lastHeartbeatTime": store::now_rfc3339(), "lastTransitionTime": store::now_rfc3339()}],
                    "addresses": [{"type": "InternalIP", "address": format!("192.168.49.{}", i + 2)}, {"type": "Hostname", "address": name}],
                    "nodeInfo": {"kubeletVersion": git_version, "kubeProxyVersion": git_version, "osImage": "helmdeck simulated node",
                                 "containerRuntimeVersion": "containerd://2.0.0", "operatingSystem": "linux", "architecture": "amd64",
                                 "kernelVersion": "6.1.0", "machineID": format!("sim{i}"), "systemUUID": format!("sim-{i}"), "bootID": format!("boot-{i}")},
                }),
            );
        }
    }
    let class = if let Some(c) = state.options.flavor.storage_class() {
        c
    } else if sc.contains(&Scenario::UnencryptedStorage) {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": "gp2", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
               "provisioner": "kubernetes.io/aws-ebs", "parameters": {"type": "gp2", "fsType": "ext4"},
               "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true})
    } else {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": "gp3-encrypted", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
               "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"},
               "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true})
    };
    let _ = store.create_system(("storage.k8s.io/v1", "StorageClass"), "", class);
    for crd in state.options.flavor.crds() {
        let _ = store.create_system(
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            "",
            crd,
        );
    }
    // The two classes every API server creates at start (kube-apiserver's bootstrap).
    // (Values and descriptions as kubernetes/pkg/apis/scheduling's SystemPriorityClasses.)
    for (name, value, description) in [
        (
            "system-node-critical",
            2_000_001_000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        (
            "system-cluster-critical",
            2_000_000_000,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
    ] {
        let _ = store.create_system(
            ("scheduling.k8s.io/v1", "PriorityClass"),
            "",
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                   "metadata": {"name": name}, "value": value, "globalDefault": false,
                   "preemptionPolicy": "PreemptLowerPriority", "description": description}),
        );
    }
    let types = served_types(&state.options);
    let mut apiservices = discovery::builtin_apiservices(&types, &store::now_rfc3339());
    if types.iter().any(|t| t.group == metrics::GROUP) {
        apiservices.push(metrics::apiservice(&store::now_rfc3339()));
    }
    for svc in apiservices {
        let _ = store.create_system(("apiregistration.k8s.io/v1", "APIService"), "", svc);
    }
    // No ingress controller comes with a cluster; the scenario installs one whose class
    // belongs to its own Helm release, so a chart shipping a class of that name conflicts
    // exactly as on a real cluster.
    if sc.contains(&Scenario::IngressController) {
        let _ = store.create_system(
            ("networking.k8s.io/v1", "IngressClass"),
            "",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                   "metadata": {"name": "nginx",
                                "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": "ingress-nginx"},
                                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true",
                                                "meta.helm.sh/release-name": "ingress-nginx",
                                                "meta.helm.sh/release-namespace": "ingress-nginx"}},
                   "spec": {"controller": "k8s.io/ingress-nginx"}}),
        );
    }
    // The AWS Load Balancer Controller's chart registers its webhooks; its Service webhook
    // claims new load balancer Services (see store::admission).
    if sc.contains(&Scenario::AwsLoadBalancerController) {
        let _ = store.create_system(
            ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
            "",
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                   "metadata": {"name": "aws-load-balancer-webhook",
                                "labels": {"app.kubernetes.io/name": "aws-load-balancer-controller", "app.kubernetes.io/managed-by": "Helm"}},
                   "webhooks": [{"name": "mservice.elbv2.k8s.aws", "admissionReviewVersions": ["v1beta1"],
                                 "sideEffects": "None", "failurePolicy": "Fail",
                                 "clientConfig": {"service": {"name": "aws-load-balancer-webhook-service", "namespace": "kube-system", "path": "/mutate-v1-service"}},
                                 "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"]}]}]}),
        );
    }
    seed_at_scale(&mut store, sc);
    store.compact();
}

/// The scenarios that fill the cluster with many objects.
fn seed_at_scale(store: &mut Store, sc: &[Scenario]) {
    for s in sc {
        match s {
            Scenario::Releases {
                releases,
                revisions,
            } => seed_releases(store, *releases, *revisions),
            Scenario::Scale { namespaces, pods } => seed_scale(store, *namespaces, *pods),
            _ => {}
        }
    }
}

/// Helm's storage Secrets for `releases` releases of `revisions` revisions each, the last one
/// deployed: what `helm list` and helmdeck's home screen read on a busy cluster.
fn seed_releases(store: &mut Store, releases: usize, revisions: usize) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let spaces = releases.clamp(1, 50);
    for n in 0..spaces {
        let _ = store.create_system(("v1", "Namespace"), "", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("fleet-{n}")}}));
    }
    for i in 0..releases {
        let (ns, name) = (format!("fleet-{}", i % spaces), format!("app-{i:04}"));
        for v in 1..=revisions {
            let status = if v == revisions {
                "deployed"
            } else {
                "superseded"
            };
            let manifest: String = (0..20)
                .map(|k| format!("---\n# Source: app/templates/part-{k}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{k}\ndata:\n  revision: \"{v}\"\n"))
                .collect();
            let rel = json!({"name": name, "namespace": ns, "version": v,
                "info": {"status": status, "first_deployed": "2026-11-01T10:00:00Z",
                         "last_deployed": format!("2026-11-{:02}T10:00:00Z", v.min(28)),
                         "description": if v == 1 { "Install complete" } else { "Upgrade complete" }},
                "chart": {"metadata": {"name": "app", "version": format!("1.0.{v}"), "appVersion": "1.43.0", "apiVersion": "v2"},
                          "values": {"replicaCount": 1, "image": {"repository": "example/app", "tag": "1.43.0"}}},
                "config": {"replicaCount": v},
                "manifest": manifest});
            let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                "metadata": {"name": format!("sh.helm.release.v1.{name}.v{v}"), "namespace": ns,
                             "labels": {"name": name, "owner": "helm", "status": status, "version": v.to_string()}},
                "data": {"release": b64.encode(b64.encode(rel.to_string()))}});
            let _ = store.create_system(("v1", "Secret"), &ns, secret);
        }
        store.compact();
    }
}

/// `scale:N:P`: P running, ready pods spread over N namespaces, created directly.
fn seed_scale(store: &mut Store, namespaces: usize, pods: usize) {
    for n in 0..namespaces {
        let _ = store.create_system(("v1", "Namespace"), "", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("scale-{n}")}}));
    }
    let now = store::now_rfc3339();
    let pods_gr = (String::new(), "pods".to_string());
    for i in 0..pods {
        if i % 100 == 99 {
            // Nobody watches while seeding: keep the history small.
            store.compact();
        }
        let ns = format!("scale-{}", i % namespaces);
        let name = format!("load-{i:05}");
        let role = ["web", "events", "worker", "plugins"][(i / namespaces) % 4];
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": "posthog", "release": "posthog", "role": role}},
            "spec": {"nodeName": format!("sim-node-{}", i % 3 + 1), "containers": [{"name": "app", "image": "posthog/posthog:1.43.0"}]},
        });
        if store.create_system(("v1", "Pod"), &ns, pod).is_ok() {
            store.set_status(&pods_gr, &ns, &name, json!({
                "phase": "Running", "podIP": format!("10.245.{}.{}", i / 250, i % 250), "startTime": now, "hostIP": "192.168.49.3",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}, {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}],
                "containerStatuses": [{"name": "app", "image": "posthog/posthog:1.43.0", "imageID": "", "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": now}}}],
            }));
        }
    }
}
