//! Everything helmdeck learns from a cluster goes through here: the kube-rs client (chosen
//! as kubectl chooses: KUBECONFIG, --context, --namespace), the facts preflight needs, and
//! the rules that judge them.

pub mod connect;
pub mod disk_usage;
mod exec;
mod follow;
pub mod forward;
pub mod load;
pub mod metrics;
pub use crate::observed::podview;
pub mod probe;
pub mod public_path;
pub mod releases;
pub mod room;
pub mod watch;

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Which cluster to talk to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "cannot read the kubeconfig: {0}\n  fix: set KUBECONFIG or pass --kubeconfig; `helmdeck sim` starts a simulated cluster"
    )]
    Config(String),
    #[error("the cluster is unreachable: {0}\n  fix: {fix}", fix = unreachable_fix(.0))]
    Unreachable(String),
    #[error("cannot trust the cluster: {why}\n  fix: {fix}")]
    UntrustedServer { why: String, fix: String },
    #[error("{why}\n  fix: {fix}")]
    Credentials { why: String, fix: String },
    #[error("not allowed: {message}\n  fix: {fix}")]
    Forbidden { message: String, fix: String },
}

/// What to try for an unreachable cluster, by what failed: nothing listening, a name that does
/// not resolve, no answer in time, or a TLS handshake that failed.
fn unreachable_fix(why: &str) -> &'static str {
    let w = why.to_ascii_lowercase();
    if w.contains("connection refused") {
        "nothing listens at that address: start the cluster (minikube start, kind create cluster, k3s), or check the server in the kubeconfig entry (--context picks another) and your VPN"
    } else if w.contains("lookup address")
        || w.contains("name or service not known")
        || w.contains("no such host")
        || w.contains("dns error")
        || w.contains("temporary failure in name resolution")
    {
        "the server's host name does not resolve: check the server in the kubeconfig entry (--context picks another), your DNS and your VPN"
    } else if w.contains("within") || w.contains("timed out") {
        "no answer in time: a firewall, VPN or proxy may be in the way, or the API server is overloaded; --request-timeout (or $HELMDECK_REQUEST_TIMEOUT) sets the wait"
    } else if w.contains("tls") || w.contains("handshake") || w.contains("certificate") {
        "the TLS handshake failed: check that the server URL's scheme and port are the API server's (https, usually 6443 or 443)"
    } else {
        "check the context (--context) and that the API server is up"
    }
}

pub use crate::deadlines::{
    REQUEST_TIMEOUT_ENV, WATCH_WINDOW_SECS, request_timeout, set_request_timeout,
};

/// Says a request went unanswered, naming the wait and how to change it.
pub fn silent_server(server: &str, wait: std::time::Duration) -> ClusterError {
    ClusterError::Unreachable(format!(
        "the API server at {server} accepted the connection but did not answer within {} s (a stopped process or a dead proxy?); --request-timeout (or {REQUEST_TIMEOUT_ENV}) sets the wait",
        wait.as_secs()
    ))
}

/// The cluster name `helmdeck sim` and `helmdeck demo` write into their kubeconfig.
pub const SIMULATED_CLUSTER: &str = "helmdeck-sim";

impl Target {
    /// The kubeconfig path as kubectl resolves it (first file of KUBECONFIG).
    pub fn kubeconfig_path(&self) -> Option<PathBuf> {
        self.kubeconfig.clone().or_else(|| {
            std::env::var_os("KUBECONFIG")
                .and_then(|v| std::env::split_paths(&v).next())
                .filter(|p| !p.as_os_str().is_empty())
        })
    }

    /// Whether this is helmdeck's own simulated cluster (its kubeconfig names the cluster
    /// `helmdeck-sim`): there the profiles' chart is the bundled stand-in, not the vendor's.
    pub fn is_simulated(&self) -> bool {
        self.entries()
            .is_some_and(|e| e.cluster == SIMULATED_CLUSTER)
    }

    /// What scopes helmdeck's own state to this cluster (release locks, drafts, the audit
    /// log's cut-short warnings): its API server, readable and hashed, e.g.
    /// `127.0.0.1_6443-3f2a9c01`. Two contexts for the same server share it, as they share
    /// the releases there.
    pub fn scope_key(&self) -> String {
        let server = self.server();
        let readable: String = server
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(server.as_bytes())
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{readable}-{hash}")
    }

    /// The API server's URL from the kubeconfig ("" when it cannot be read).
    pub fn server(&self) -> String {
        self.entries().map(|e| e.server).unwrap_or_default()
    }

    /// The kubeconfig entries this target uses, for messages and the header's TLS flag.
    pub fn entries(&self) -> Option<connect::Entries> {
        self.check_kubeconfig().ok()?;
        connect::entries(self.kubeconfig.as_ref(), self.context.as_deref())
    }

    /// The kubeconfig files kube-rs would read: --kubeconfig, else every file KUBECONFIG
    /// names that exists, else ~/.kube/config when it exists.
    fn kubeconfig_files(&self) -> Vec<PathBuf> {
        if let Some(p) = &self.kubeconfig {
            return vec![p.clone()];
        }
        match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(v) => std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty() && p.exists())
                .collect(),
            None => directories::BaseDirs::new()
                .map(|b| b.home_dir().join(".kube").join("config"))
                .filter(|p| p.exists())
                .into_iter()
                .collect(),
        }
    }

    /// The kubeconfig as kubectl reads it (for context names), each file checked first.
    pub fn read_kubeconfig(&self) -> Result<Kubeconfig, ClusterError> {
        self.check_kubeconfig()?;
        match self.kubeconfig_path() {
            Some(p) => Kubeconfig::read_from(&p)
                .map_err(|e| ClusterError::Config(format!("{}: {e}", p.display()))),
            None => Kubeconfig::read().map_err(|e| ClusterError::Config(e.to_string())),
        }
    }

    /// The kubeconfig's context names, in its order.
    pub fn context_names(&self) -> Result<Vec<String>, ClusterError> {
        Ok(self
            .read_kubeconfig()?
            .contexts
            .into_iter()
            .map(|c| c.name)
            .collect())
    }

    /// kube-rs reads a kubeconfig whole and without bound: `/dev/zero` or a FIFO given as one
    /// would eat memory or hang. Each file is checked first, as every other input is.
    fn check_kubeconfig(&self) -> Result<(), ClusterError> {
        let limit = crate::limits::limit(crate::limits::TEXT_DEFAULT);
        for p in self.kubeconfig_files() {
            // Read, bounded, not only looked at: a `/proc` file says it is empty and is not.
            crate::limits::read_bytes(&p, limit)
                .map_err(|why| ClusterError::Config(format!("{}: {why}", p.display())))?;
        }
        Ok(())
    }

    /// The files a kubeconfig names (certificate authorities, client certificates and keys,
    /// token files) are read by kube-rs whole and without bound: each must be a regular file of
    /// at most 1 MiB, read as such, or the kubeconfig entry that names it is refused.
    fn check_named_files(kc: &Kubeconfig, origin: &str) -> Result<(), ClusterError> {
        let limit = 1 << 20;
        let check = |what: &str, whose: &str, path: &Option<String>| {
            match path {
            Some(p) => crate::limits::read_bytes(std::path::Path::new(p), limit)
                .map(|_| ())
                .map_err(|why| {
                    ClusterError::Config(format!(
                        "{origin}: {whose}: {what} {p}: {why} (a certificate, key or token file must be a regular file of at most 1 MiB)"
                    ))
                }),
            None => Ok(()),
        }
        };
        for c in &kc.clusters {
            if let Some(cluster) = &c.cluster {
                let whose = format!("cluster {}", c.name);
                check(
                    "certificate-authority",
                    &whose,
                    &cluster.certificate_authority,
                )?;
            }
        }
        for u in &kc.auth_infos {
            if let Some(a) = &u.auth_info {
                let whose = format!("user {}", u.name);
                check("client-certificate", &whose, &a.client_certificate)?;
                check("client-key", &whose, &a.client_key)?;
                check("tokenFile", &whose, &a.token_file)?;
            }
        }
        Ok(())
    }

    fn diagnose(&self, e: &kube::Error) -> ClusterError {
        connect::diagnose(e, self.entries().as_ref())
    }

    /// A client whose first request worked: the error, if any, names what to fix.
    pub async fn connect(&self) -> Result<kube::Client, ClusterError> {
        self.connect_within(request_timeout()).await
    }

    /// [`Target::connect`] with a deadline for the first request (connecting, TLS and
    /// credentials included) other than the request timeout.
    pub async fn connect_within(
        &self,
        wait: std::time::Duration,
    ) -> Result<kube::Client, ClusterError> {
        let client = self.client().await?;
        match tokio::time::timeout(wait, client.apiserver_version()).await {
            Ok(r) => r.map_err(|e| self.diagnose(&e))?,
            Err(_) => return Err(silent_server(&self.server(), wait)),
        };
        Ok(client)
    }

    /// Explains a failed request made with this target's client.
    pub fn explain(&self, e: &kube::Error) -> ClusterError {
        self.diagnose(e)
    }

    pub async fn config(&self) -> Result<kube::Config, ClusterError> {
        self.check_kubeconfig()?;
        let opts = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let (kc, origin) = match &self.kubeconfig {
            Some(p) => (
                Kubeconfig::read_from(p)
                    .map_err(|e| ClusterError::Config(format!("{}: {e}", p.display())))?,
                p.display().to_string(),
            ),
            None => (
                Kubeconfig::read().map_err(|e| ClusterError::Config(e.to_string()))?,
                "the kubeconfig".to_string(),
            ),
        };
        Self::check_named_files(&kc, &origin)?;
        kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| {
                // An exec plugin runs while the config is read: its failure is a credential one.
                match connect::diagnose(&e, self.entries().as_ref()) {
                    ClusterError::Unreachable(_) => ClusterError::Config(e.to_string()),
                    other => other,
                }
            })
    }

    /// The client for `cfg`. kube-rs runs a kubeconfig's exec plugin while it builds one, and
    /// waits for it without a bound: here it runs on a blocking thread under the request
    /// timeout, and a plugin still running after it is killed.
    async fn build(&self, cfg: kube::Config) -> Result<kube::Client, ClusterError> {
        let wait = request_timeout();
        let plugin = self.exec_plugin();
        let built = tokio::task::spawn_blocking(move || kube::Client::try_from(cfg));
        match tokio::time::timeout(wait, built).await {
            Ok(Ok(r)) => r.map_err(|e| self.diagnose(&e)),
            Ok(Err(e)) => Err(ClusterError::Config(format!(
                "cannot build the client: {e}"
            ))),
            Err(_) => {
                let cmd = plugin.unwrap_or_else(|| "?".into());
                let killed = exec::kill_children_named(&cmd);
                Err(ClusterError::Config(format!(
                    "the kubeconfig's exec plugin {cmd} did not finish within {} s{}: it is how this user gets credentials; run it by hand to see why, or raise --request-timeout",
                    wait.as_secs(),
                    if killed > 0 { " and was stopped" } else { "" }
                )))
            }
        }
    }

    /// The exec plugin command of the context this target uses, if its user has one.
    fn exec_plugin(&self) -> Option<String> {
        let kc = self.read_kubeconfig().ok()?;
        let ctx_name = self
            .context
            .clone()
            .or_else(|| kc.current_context.clone())?;
        let ctx = kc.contexts.iter().find(|c| c.name == ctx_name)?;
        let user = ctx.context.as_ref()?.user.clone()?;
        let auth = kc.auth_infos.iter().find(|a| a.name == user)?;
        auth.auth_info.as_ref()?.exec.as_ref()?.command.clone()
    }

    /// A client whose every request is answered within the request timeout or fails: a
    /// server that stops answering mid-command ends the command, it does not hold it.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        let mut cfg = self.config().await?;
        bound(&mut cfg, request_timeout());
        self.build(cfg).await
    }

    /// A client for watches: a watch is quiet while nothing changes, so its reads may wait
    /// for the whole watch window (the server ends each watch within it) plus the request
    /// timeout; lists and single requests on it are bounded by that too.
    pub async fn watch_client(&self) -> Result<kube::Client, ClusterError> {
        let mut cfg = self.config().await?;
        bound(
            &mut cfg,
            request_timeout() + std::time::Duration::from_secs(WATCH_WINDOW_SECS.into()),
        );
        self.build(cfg).await
    }

    /// A client that reports a 503 at once instead of retrying it for minutes: what a probe
    /// of the app behind the service proxy needs.
    pub async fn probe_client(&self) -> Result<kube::Client, ClusterError> {
        let mut cfg = self.config().await?;
        bound(&mut cfg, request_timeout());
        cfg.default_retry = false;
        self.build(cfg).await
    }
}

/// Connect, write and read deadlines. The read deadline counts from the request's last write
/// (not from when a pooled connection went idle).
fn bound(cfg: &mut kube::Config, wait: std::time::Duration) {
    cfg.connect_timeout = Some(wait);
    cfg.write_timeout = Some(wait);
    cfg.read_timeout = Some(wait);
    cfg.reset_reader_on_write = true;
}

/// What an install or upgrade must be allowed to do in `namespace` and the user may not, by
/// the API server's own access reviews (`kubectl auth can-i`). A review that cannot be asked
/// denies nothing: helm's own error will say.
pub async fn denied(client: &kube::Client, namespace: &str) -> Vec<String> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut out = Vec::new();
    for (verb, group, resource) in [
        ("create", "", "secrets"),
        ("create", "apps", "deployments"),
        ("patch", "apps", "deployments"),
    ] {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
                    verb: Some(verb.into()),
                    group: Some(group.into()),
                    resource: Some(resource.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        if let Ok(r) = api.create(&kube::api::PostParams::default(), &review).await
            && r.status.is_some_and(|s| !s.allowed)
        {
            out.push(format!("{verb} {resource} in {namespace}"));
        }
    }
    out
}

/// Reads what preflight needs.
pub async fn gather(
    target: &Target,
    client: &kube::Client,
) -> Result<crate::observed::ClusterFacts, ClusterError> {
    let unreachable = |e: kube::Error| target.explain(&e);
    let version = client.apiserver_version().await.map_err(unreachable)?;
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes
        .list(&ListParams::default())
        .await
        .map_err(unreachable)?;
    let scs: Api<StorageClass> = Api::all(client.clone());
    let scs = scs
        .list(&ListParams::default())
        .await
        .map_err(unreachable)?;
    let ics: Api<IngressClass> = Api::all(client.clone());
    let ics = ics
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    Ok(crate::observed::ClusterFacts {
        server_version: version.git_version,
        nodes: nodes
            .items
            .iter()
            .map(|n| {
                let v = serde_json::to_value(n).unwrap_or_default();
                // Capacity: what the profiles' requirements (instance sizes) are stated in.
                let st = &v["status"];
                let a = if st["capacity"].is_object() {
                    &st["capacity"]
                } else {
                    &st["allocatable"]
                };
                (
                    n.metadata.name.clone().unwrap_or_default(),
                    a["cpu"].as_str().unwrap_or("0").to_string(),
                    a["memory"].as_str().unwrap_or("0").to_string(),
                )
            })
            .collect(),
        node_disks: nodes
            .items
            .iter()
            .filter_map(|n| {
                let q = n
                    .status
                    .as_ref()?
                    .capacity
                    .as_ref()?
                    .get("ephemeral-storage")?;
                Some((
                    n.metadata.name.clone().unwrap_or_default(),
                    crate::quantity::parse_bytes(&q.0)?,
                ))
            })
            .collect(),
        storage_classes: scs
            .items
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .collect(),
        // Read by a first install's plan only (see `room::free`).
        room: None,
        ingress_classes: ics.iter().filter_map(|i| i.metadata.name.clone()).collect(),
        default_ingress_class: ics
            .iter()
            .find(|i| {
                i.metadata.annotations.as_ref().is_some_and(|a| {
                    a.get("ingressclass.kubernetes.io/is-default-class")
                        .is_some_and(|v| v == "true")
                })
            })
            .and_then(|i| i.metadata.name.clone()),
        denied: Vec::new(),
        mutating_webhooks: mutating_webhooks(client).await,
    })
}

/// Every mutating admission webhook's name (empty when they cannot be listed).
async fn mutating_webhooks(client: &kube::Client) -> Vec<String> {
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| c.webhooks.unwrap_or_default())
        .map(|w| w.name)
        .collect()
}

/// The last `lines` lines a pod's container wrote, or why there are none, in the API
/// server's words (a container that never started has no logs; a pod may be gone).
/// The nodes' `spec.providerID`s (empty when they cannot be listed): where the cluster runs.
pub async fn provider_ids(client: &kube::Client) -> Vec<String> {
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    nodes
        .list(&kube::api::ListParams::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .filter_map(|n| n.spec?.provider_id)
                .collect()
        })
        .unwrap_or_default()
}

pub async fn log_tail(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    lines: i64,
) -> Result<Vec<String>, LogsError> {
    let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), namespace);
    let params = kube::api::LogParams {
        tail_lines: Some(lines),
        ..Default::default()
    };
    match api.logs(pod, &params).await {
        Ok(t) => Ok(t.lines().map(str::to_string).collect()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(LogsError::Gone),
        Err(kube::Error::Api(s)) => Err(LogsError::Other(s.message)),
        Err(e) => Err(LogsError::Other(e.to_string())),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogsError {
    /// The pod no longer exists (a rollback or a rollout removed it).
    Gone,
    Other(String),
}

impl std::fmt::Display for LogsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogsError::Gone => write!(f, "the pod no longer exists"),
            LogsError::Other(m) => write!(f, "{m}"),
        }
    }
}
