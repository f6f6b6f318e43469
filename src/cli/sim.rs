//! `helmdeck sim`: the simulated cluster as a process.

use std::io::Write;

use std::time::Duration;

use super::{DemoArgs, OpenArgs, SimAction, SimArgs, exit};
use helmdeck_sim::{
    AuthOptions, Credential, Flavor, KubeVersion, Recorded, RecordedLog, Scenario, SimCluster,
    SimOptions,
};

/// `--scenario` values, or the exit code for a bad one.
fn scenarios(given: &[String]) -> Result<Vec<Scenario>, i32> {
    given
        .iter()
        .map(|s| {
            s.parse::<Scenario>().map_err(|e| {
                eprintln!("error: --scenario {s}: {e}");
                exit::BAD_INPUT
            })
        })
        .collect()
}

/// `helmdeck sim credential`: the exec plugin's one line of JSON.
fn credential(key_file: &std::path::Path, ttl: u64, readonly: bool) -> i32 {
    match helmdeck_sim::auth::exec_credential(key_file, readonly, Duration::from_secs(ttl)) {
        Ok(json) => {
            println!("{json}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

/// `--tls`, `--auth`, `--token-ttl`, `--readonly-user` as the cluster's auth options.
fn auth_options(args: &SimArgs) -> Result<AuthOptions, String> {
    let mut credential = args
        .auth
        .parse::<Credential>()
        .map_err(|e| format!("--auth {e}"))?;
    if let Credential::Exec { command, args } = &mut credential {
        *command = std::env::current_exe()
            .map_err(|e| format!("--auth exec: cannot find this program's path: {e}"))?;
        *args = vec!["sim".into(), "credential".into()];
    }
    if args.token_ttl == 0 {
        return Err("--token-ttl must be at least 1 second".into());
    }
    Ok(AuthOptions {
        tls: args.tls || credential != Credential::None,
        credential,
        token_ttl: Duration::from_secs(args.token_ttl),
        readonly: args.readonly_user,
    })
}

pub fn run(args: SimArgs) -> i32 {
    if let Some(SimAction::Credential {
        key_file,
        ttl_seconds,
        readonly,
    }) = &args.action
    {
        return credential(key_file, *ttl_seconds, *readonly);
    }
    let auth = match auth_options(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let scenarios = match scenarios(&args.scenarios) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !(args.time_factor.is_finite() && args.time_factor >= 0.0) {
        eprintln!("error: --time-factor must be a number ≥ 0");
        return exit::BAD_INPUT;
    }
    let flavor = match args.flavor.parse::<Flavor>() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --flavor {e}");
            return exit::BAD_INPUT;
        }
    };
    let kubernetes_version = match args.kubernetes_version.parse::<KubeVersion>() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: --kubernetes-version {e}");
            return exit::BAD_INPUT;
        }
    };
    let (recorded, kubernetes_version) = match &args.from_bundle {
        Some(path) => match recorded(path) {
            Ok((r, v, _)) => (Some(r), v),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        },
        None => (None, kubernetes_version),
    };
    super::block_on(async move {
        let options = SimOptions {
            kubernetes_version,
            auth,
            port: args.port,
            kubeconfig: args.kubeconfig.clone(),
            scenarios,
            time_factor: args.time_factor,
            flavor,
            recorded,
            ..Default::default()
        };
        let cluster = match SimCluster::start(options).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        };
        // Whoever started us may stop reading after the server line: a closed stdout is
        // not a reason to stop serving.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "kubeconfig: {}", cluster.kubeconfig.display());
        let _ = writeln!(out, "server: {}", cluster.url);
        if let Some(ingress) = &cluster.ingress_url {
            let _ = writeln!(
                out,
                "ingress: {ingress} (the stack's public URL: helmdeck check --public-url {ingress})"
            );
            let _ = writeln!(
                out,
                "load balancers: reached at {} by host (export HELMDECK_CONNECT_TO={})",
                ingress.trim_start_matches("http://"),
                ingress.trim_start_matches("http://")
            );
        }
        let _ = writeln!(
            out,
            "try: KUBECONFIG={} kubectl get nodes",
            cluster.kubeconfig.display()
        );
        let _ = out.flush();
        drop(out);
        wait_for_signal().await;
        cluster.shutdown();
        eprintln!("simulated cluster stopped");
        exit::OK
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A support bundle as the simulated cluster replays it, the Kubernetes release it serves
/// (the bundle's, or the nearest the simulator knows) and the bundle itself.
fn recorded(
    path: &std::path::Path,
) -> Result<
    (std::sync::Arc<Recorded>, KubeVersion, crate::bundle::Opened),
    crate::bundle::BundleError,
> {
    let mut opened = crate::bundle::read(path)?;
    let version = opened
        .git_version
        .parse::<KubeVersion>()
        .unwrap_or_else(|_| nearest_version(&opened.git_version));
    // Moved, not copied: a bundle of a big namespace is most of what is in memory.
    let r = Recorded {
        objects: std::mem::take(&mut opened.objects),
        logs: std::mem::take(&mut opened.logs)
            .into_iter()
            .map(|l| RecordedLog {
                namespace: l.namespace,
                pod: l.pod,
                container: l.container,
                previous: l.previous,
                lines: l.lines,
            })
            .collect(),
        node_stats: std::mem::take(&mut opened.node_stats).into_iter().collect(),
        source: format!("the support bundle {}", path.display()),
        context: format!(
            "bundle:{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    };
    Ok((std::sync::Arc::new(r), version, opened))
}

/// A release outside the simulator's range is served as the nearest one it knows.
fn nearest_version(git: &str) -> KubeVersion {
    let minor: u32 = git
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let newest = KubeVersion::default();
    if minor == 0 {
        return newest;
    }
    (1..=minor)
        .rev()
        .find_map(|m| format!("1.{m}").parse().ok())
        .or_else(|| (minor..minor + 40).find_map(|m| format!("1.{m}").parse().ok()))
        .unwrap_or(newest)
}

/// `helmdeck open`: a support bundle as a read-only cluster in-process and the app on it,
/// read-only too.
pub fn open(args: OpenArgs) -> i32 {
    let (recorded, kubernetes_version, opened) = match recorded(&args.bundle) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let options = SimOptions {
        kubernetes_version,
        recorded: Some(recorded),
        ..Default::default()
    };
    super::block_on(app_on_sim("open", options, move |cluster| {
        crate::tui::Launch {
            target: crate::cluster::Target {
                kubeconfig: Some(cluster.kubeconfig.clone()),
                context: None,
            },
            namespace: opened.namespace().to_string(),
            release: opened.release().to_string(),
            readonly: true,
            profile: opened.check["profile"].as_str().map(str::to_string),
            probe_key: None,
        }
    }))
}

/// A simulated cluster started in-process and the app on it until it quits; the cluster
/// and its directory (`helmdeck-TAG-PID` in the temp directory) go with it.
async fn app_on_sim(
    tag: &str,
    mut options: SimOptions,
    launch: impl FnOnce(&SimCluster) -> crate::tui::Launch,
) -> i32 {
    let dir = std::env::temp_dir().join(format!("helmdeck-{tag}-{}", std::process::id()));
    options.kubeconfig = Some(dir.join("kubeconfig"));
    let cluster = match SimCluster::start(options).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let code = crate::tui::run(launch(&cluster)).await;
    cluster.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    code
}

/// `helmdeck demo`: the simulated cluster in-process and the app on it.
pub fn demo(args: DemoArgs) -> i32 {
    let mut scenarios = match scenarios(&args.scenarios) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // The demo's cluster has an ingress controller, as the local profile expects, and
    // metrics-server, so the pods pane shows CPU and memory.
    for s in [Scenario::IngressController, Scenario::MetricsServer] {
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
    }
    let options = SimOptions {
        scenarios,
        time_factor: args.time_factor,
        // A k3s cluster, as someone trying the local profile would have.
        flavor: Flavor::K3s,
        ..Default::default()
    };
    super::block_on(app_on_sim("demo", options, move |cluster| {
        // The demo's load balancers and ingress are reached through the cluster's public
        // port.
        if let Some(a) = cluster
            .ingress_url
            .as_deref()
            .and_then(|u| u.trim_start_matches("http://").parse().ok())
        {
            crate::cluster::public_path::connect_all_to(a);
        }
        crate::tui::Launch {
            target: crate::cluster::Target {
                kubeconfig: Some(cluster.kubeconfig.clone()),
                context: None,
            },
            namespace: "posthog".into(),
            release: "posthog".into(),
            readonly: args.readonly,
            profile: Some("local".into()),
            probe_key: Some(crate::cluster::probe::ProbeKeys {
                project: "phc_helmdeck_demo".into(),
                personal: "phx_helmdeck_demo".into(),
            }),
        }
    }))
}

/// The Kubernetes version the simulated cluster serves by default, as `--kube-version` takes
/// it (`1.35.2`).
pub(super) fn kubernetes_version() -> String {
    helmdeck_sim::kube_version::KubeVersion::default()
        .git_version()
        .trim_start_matches('v')
        .to_string()
}

/// A simulated cluster of a provider's flavour, started in-process for `helmdeck verify`,
/// with an ingress controller as the profiles' public path expects.
pub(super) struct Embedded {
    cluster: SimCluster,
    dir: std::path::PathBuf,
}

impl Embedded {
    pub(super) async fn start(
        provider: &str,
        tag: &str,
        scenarios: &[String],
    ) -> Result<Embedded, String> {
        let scenarios = scenarios
            .iter()
            .map(|s| {
                s.parse::<Scenario>()
                    .map_err(|e| format!("--scenario {s}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut scenarios = scenarios;
        // The local profile leaves ingress-nginx to the cluster (its default answer): the
        // cluster it is verified on runs one, as its description says it expects.
        if provider == "local" && !scenarios.contains(&Scenario::IngressController) {
            scenarios.push(Scenario::IngressController);
        }
        let flavor = match provider {
            "aws" => Flavor::Eks,
            "gcp" => Flavor::Gke,
            "azure" => Flavor::Aks,
            "digitalocean" => Flavor::Doks,
            _ => Flavor::K3s,
        };
        let dir =
            std::env::temp_dir().join(format!("helmdeck-verify-{}-{tag}", std::process::id()));
        let cluster = SimCluster::start(SimOptions {
            kubeconfig: Some(dir.join("kubeconfig")),
            flavor,
            scenarios,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot start the simulated {provider} cluster: {e}"))?;
        Ok(Embedded { cluster, dir })
    }

    pub(super) fn kubeconfig(&self) -> &std::path::Path {
        &self.cluster.kubeconfig
    }

    /// `HOST:PORT` of the cluster's public side (its load balancers).
    pub(super) fn public(&self) -> Option<String> {
        self.cluster
            .ingress_url
            .as_deref()
            .map(|u| u.trim_start_matches("http://").to_string())
    }

    /// A private directory for the run's own files (helm's and helmdeck's).
    pub(super) fn home(&self) -> &std::path::Path {
        &self.dir
    }

    /// What a no-op upgrade must leave alone: each workload's generation and each of its
    /// pods' uid in `namespace` (Jobs' pods aside), as `kind/name → value`.
    pub(super) fn marks(&self, namespace: &str) -> std::collections::BTreeMap<String, String> {
        let Ok(store) = self.cluster.state.store.lock() else {
            return Default::default();
        };
        let mut out = std::collections::BTreeMap::new();
        for (group, plural, field) in [
            ("apps", "deployments", "generation"),
            ("apps", "statefulsets", "generation"),
            ("", "pods", "uid"),
        ] {
            for o in store.iter_gr(&(group.to_string(), plural.to_string()), Some(namespace)) {
                // A Job's pods (hooks, migrations) come and go with each run by design.
                let of_job = o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["kind"] == "Job"));
                if of_job {
                    continue;
                }
                out.insert(
                    format!(
                        "{plural}/{}",
                        o["metadata"]["name"].as_str().unwrap_or_default()
                    ),
                    o["metadata"][field].to_string(),
                );
            }
        }
        out
    }
}

impl Embedded {
    /// Each Deployment's and StatefulSet's pod template in `namespace`, as `kind/name →
    /// template`, to say what an upgrade changed in one.
    pub(super) fn templates(
        &self,
        namespace: &str,
    ) -> std::collections::BTreeMap<String, serde_json::Value> {
        let Ok(store) = self.cluster.state.store.lock() else {
            return Default::default();
        };
        let mut out = std::collections::BTreeMap::new();
        for plural in ["deployments", "statefulsets"] {
            for o in store.iter_gr(&("apps".to_string(), plural.to_string()), Some(namespace)) {
                out.insert(
                    format!(
                        "{plural}/{}",
                        o["metadata"]["name"].as_str().unwrap_or_default()
                    ),
                    o["spec"]["template"].clone(),
                );
            }
        }
        out
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.cluster.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
