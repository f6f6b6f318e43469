//! Everything helmdeck learns from a cluster goes through here: the kube-rs client (chosen
//! as kubectl chooses: KUBECONFIG, --context, --namespace), the facts preflight needs, and
//! the rules that judge them.

pub mod connect;
pub mod encryption;
pub mod podview;
pub mod preflight;
pub mod probe;
pub mod releases;
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
    #[error(
        "the cluster is unreachable: {0}\n  fix: check the context (--context) and that the API server is up"
    )]
    Unreachable(String),
    #[error("cannot trust the cluster: {why}\n  fix: {fix}")]
    UntrustedServer { why: String, fix: String },
    #[error("{why}\n  fix: {fix}")]
    Credentials { why: String, fix: String },
    #[error("not allowed: {message}\n  fix: {fix}")]
    Forbidden { message: String, fix: String },
}

/// Seconds the first request to the API server may take (default 30).
pub const REQUEST_TIMEOUT_ENV: &str = "HELMDECK_REQUEST_TIMEOUT";

pub fn request_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(
        std::env::var(REQUEST_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(30),
    )
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
        connect::entries(self.kubeconfig.as_ref(), self.context.as_deref())
    }

    fn diagnose(&self, e: &kube::Error) -> ClusterError {
        connect::diagnose(e, self.entries().as_ref())
    }

    /// A client whose first request worked: the error, if any, names what to fix.
    pub async fn connect(&self) -> Result<kube::Client, ClusterError> {
        let client = self.client().await?;
        // A server that accepts the connection and never answers (a stopped process, a dead
        // proxy) would hold every command for kube's 295 s read timeout: the first request
        // has a deadline of its own.
        let wait = request_timeout();
        match tokio::time::timeout(wait, client.apiserver_version()).await {
            Ok(r) => r.map_err(|e| self.diagnose(&e))?,
            Err(_) => {
                return Err(ClusterError::Unreachable(format!(
                    "the API server at {} accepted the connection but did not answer within {} s (a stopped process or a dead proxy?); {REQUEST_TIMEOUT_ENV} sets the wait",
                    self.server(),
                    wait.as_secs()
                )));
            }
        };
        Ok(client)
    }

    /// Explains a failed request made with this target's client.
    pub fn explain(&self, e: &kube::Error) -> ClusterError {
        self.diagnose(e)
    }

    pub async fn config(&self) -> Result<kube::Config, ClusterError> {
        let opts = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        match &self.kubeconfig {
            Some(p) => {
                let kc = Kubeconfig::read_from(p)
                    .map_err(|e| ClusterError::Config(format!("{}: {e}", p.display())))?;
                kube::Config::from_custom_kubeconfig(kc, &opts).await
            }
            None => kube::Config::from_kubeconfig(&opts).await,
        }
        .map_err(|e| {
            // An exec plugin runs while the config is read: its failure is a credential one.
            match connect::diagnose(&e, self.entries().as_ref()) {
                ClusterError::Unreachable(_) => ClusterError::Config(e.to_string()),
                other => other,
            }
        })
    }

    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        kube::Client::try_from(self.config().await?).map_err(|e| self.diagnose(&e))
    }

    /// A client that reports a 503 at once instead of retrying it for minutes: what a probe
    /// of the app behind the service proxy needs.
    pub async fn probe_client(&self) -> Result<kube::Client, ClusterError> {
        let mut cfg = self.config().await?;
        cfg.default_retry = false;
        kube::Client::try_from(cfg).map_err(|e| self.diagnose(&e))
    }
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
pub async fn gather(client: &kube::Client) -> Result<preflight::ClusterFacts, ClusterError> {
    let unreachable = |e: kube::Error| ClusterError::Unreachable(e.to_string());
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
    Ok(preflight::ClusterFacts {
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
        storage_classes: scs
            .items
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .collect(),
        ingress_classes: ics.iter().filter_map(|i| i.metadata.name.clone()).collect(),
        denied: Vec::new(),
    })
}
