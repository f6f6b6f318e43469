//! One way to start a simulated cluster from synchronous code: tests that drive real helm,
//! kubectl and helmdeck binaries, and benches that measure them. The cluster runs on its own
//! thread and runtime, so the caller's blocking waits never stall it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::{SimCluster, SimOptions, SimState};

/// A running simulated cluster; stops when dropped.
pub struct Sim {
    pub url: String,
    /// The ingress controller's address, with the `ingress-controller` scenario.
    pub ingress_url: Option<String>,
    pub kubeconfig: PathBuf,
    pub state: Arc<SimState>,
    /// A private HOME (helm and kubectl caches, helmdeck's directories) for this cluster's users.
    pub home: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    restart: std::sync::mpsc::Sender<Duration>,
}

impl Sim {
    /// Starts a cluster; its kubeconfig goes into a fresh private home unless `options` names one.
    ///
    /// # Panics
    /// When the cluster cannot start: a test or bench has nothing to run against then.
    pub fn start(mut options: SimOptions) -> Sim {
        let home = tempfile::tempdir().expect("a private home");
        if options.kubeconfig.is_none() {
            options.kubeconfig = Some(home.path().join("kubeconfig"));
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (restart_tx, restart_rx) = std::sync::mpsc::channel::<Duration>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let cluster = match SimCluster::start(options).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((
                    cluster.url.clone(),
                    cluster.ingress_url.clone(),
                    cluster.kubeconfig.clone(),
                    cluster.state.clone(),
                )));
                let mut stop_rx = stop_rx;
                let mut poll = tokio::time::interval(Duration::from_millis(20));
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        _ = poll.tick() => {
                            while let Ok(d) = restart_rx.try_recv() {
                                cluster.restart_api(d);
                            }
                        }
                    }
                }
                cluster.shutdown();
            });
        });
        let (url, ingress_url, kubeconfig, state) = match ready_rx.recv() {
            Ok(Ok(started)) => started,
            Ok(Err(e)) => panic!("the simulated cluster did not start: {e}"),
            Err(_) => panic!("the simulated cluster's thread ended before it started"),
        };
        Sim {
            url,
            ingress_url,
            kubeconfig,
            state,
            home,
            stop: Some(stop_tx),
            thread: Some(thread),
            restart: restart_tx,
        }
    }

    /// A command for a real binary (helm, kubectl, helmdeck) pointed at this cluster, with
    /// HOME and every helm and helmdeck directory inside this cluster's private home.
    pub fn cmd(&self, bin: &Path) -> Command {
        let mut c = isolated(bin, self.home.path());
        c.env("KUBECONFIG", &self.kubeconfig);
        // Load balancers' addresses are reached through the cluster's public port.
        if let Some(u) = &self.ingress_url {
            c.env("HELMDECK_CONNECT_TO", u.trim_start_matches("http://"));
        }
        c
    }

    /// Runs a command to completion and returns its stdout.
    ///
    /// # Panics
    /// When it fails, with its output: the caller's test fails with the reason.
    pub fn run(&self, bin: &Path, args: &[&str]) -> String {
        let out = self.cmd(bin).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{} {} failed:\n{}\n{}",
            bin.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs a command that must fail, and returns its stderr.
    ///
    /// # Panics
    /// When it succeeds, or when it panics instead of failing with a message.
    pub fn fails(&self, bin: &Path, args: &[&str]) -> String {
        let out = self
            .cmd(bin)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success(),
            "{} {} succeeded:\n{}",
            bin.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!err.contains("panic"), "{} panicked: {err}", bin.display());
        err
    }

    /// Drops every watch and refuses connections for `down`, as an API server restart does.
    pub fn restart_api(&self, down: Duration) {
        let _ = self.restart.send(down);
    }

    /// Objects straight from the store (no HTTP), for assertions.
    pub fn objects(&self, group: &str, plural: &str, ns: Option<&str>) -> Vec<serde_json::Value> {
        let store = self.state.store.lock().expect("store");
        store
            .iter_gr(&(group.to_string(), plural.to_string()), ns)
            .map(std::borrow::Cow::into_owned)
            .collect()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A command with HOME, helm's directories and helmdeck's inside `home`, and no inherited
/// KUBECONFIG, so runs never share caches or reach a real cluster.
pub fn isolated(bin: &Path, home: &Path) -> Command {
    let mut c = Command::new(bin);
    c.envs(private_env(home)).env_remove("KUBECONFIG");
    c
}

/// The variables that keep a run inside `home`: HOME, helm's directories and helmdeck's (for
/// launchers other than `std::process::Command`, such as a pseudo-terminal).
pub fn private_env(home: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("HOME", home.to_path_buf()),
        ("HELM_CONFIG_HOME", home.join("helm-config")),
        ("HELM_DATA_HOME", home.join("helm-data")),
        ("HELM_CACHE_HOME", home.join("helm-cache")),
        ("HELMDECK_CONFIG_DIR", home.join("helmdeck-config")),
        ("HELMDECK_DATA_DIR", home.join("helmdeck-data")),
        ("HELMDECK_CACHE_DIR", home.join("helmdeck-cache")),
    ]
}
