//! Shared helpers for integration tests: the real helm and kubectl binaries and private homes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real helm of the given major from `.tools/bin` (put there by scripts/get-helm), or from
/// `HELMDECK_HELM3` / `HELMDECK_HELM4`. Tests fail, not skip, when it is missing: CI installs it.
pub fn helm(major: u8) -> PathBuf {
    let var = format!("HELMDECK_HELM{major}");
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    let p = root().join(format!(".tools/bin/helm{major}"));
    assert!(
        p.is_file(),
        "{} is missing: run scripts/get-helm (or set {var})",
        p.display()
    );
    p
}

pub fn kubectl() -> PathBuf {
    let p = root().join(".tools/bin/kubectl");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/get-helm",
        p.display()
    );
    p
}

/// A command with HOME and Helm's directories inside `home`, so tests never share caches.
pub fn isolated(bin: &Path, home: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("helm-config"))
        .env("HELM_DATA_HOME", home.join("helm-data"))
        .env("HELM_CACHE_HOME", home.join("helm-cache"))
        .env("HELMDECK_CONFIG_DIR", home.join("helmdeck-config"))
        .env("HELMDECK_DATA_DIR", home.join("helmdeck-data"))
        .env("HELMDECK_CACHE_DIR", home.join("helmdeck-cache"))
        .env_remove("KUBECONFIG");
    c
}

/// Writes a file, creating parent directories.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Packs a chart directory into a .tgz the way `helm package` lays it out.
pub fn pack(dir: &Path, name: &str, dest: &Path) {
    let file = std::fs::File::create(dest).expect("create tgz");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(name, dir).expect("append");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gz");
}

/// Numbers compared by value (Helm holds float64), everything else exactly.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A simulated cluster running on its own thread and runtime, for synchronous tests that
/// drive real binaries against it. Stops when dropped.
pub struct Sim {
    pub url: String,
    pub kubeconfig: PathBuf,
    pub state: std::sync::Arc<helmdeck::sim::SimState>,
    /// A private HOME (helm and kubectl caches) for this test.
    pub home: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    restart: std::sync::mpsc::Sender<std::time::Duration>,
}

impl Sim {
    pub fn start(options: helmdeck::sim::SimOptions) -> Sim {
        let home = tempfile::tempdir().expect("home");
        let mut options = options;
        if options.kubeconfig.is_none() {
            options.kubeconfig = Some(home.path().join("kubeconfig"));
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (restart_tx, restart_rx) = std::sync::mpsc::channel::<std::time::Duration>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let cluster = helmdeck::sim::SimCluster::start(options)
                    .await
                    .expect("start sim");
                ready_tx
                    .send((
                        cluster.url.clone(),
                        cluster.kubeconfig.clone(),
                        cluster.state.clone(),
                    ))
                    .expect("ready");
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {
                            while let Ok(d) = restart_rx.try_recv() {
                                cluster.restart_api(d);
                            }
                        }
                    }
                }
                cluster.shutdown();
            });
        });
        let (url, kubeconfig, state) = ready_rx.recv().expect("sim started");
        Sim {
            url,
            kubeconfig,
            state,
            home,
            stop: Some(stop_tx),
            thread: Some(thread),
            restart: restart_tx,
        }
    }

    /// A command for a real binary (helm, kubectl, helmdeck) pointed at this cluster.
    pub fn cmd(&self, bin: &Path) -> Command {
        let mut c = isolated(bin, self.home.path());
        c.env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// Runs a command and returns stdout, failing the test with stderr when it fails.
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

    pub fn restart_api(&self, down: std::time::Duration) {
        self.restart.send(down).expect("restart");
    }

    /// Reads objects straight from the store (no HTTP), for assertions.
    pub fn objects(&self, group: &str, plural: &str, ns: Option<&str>) -> Vec<serde_json::Value> {
        let store = self.state.store.lock().expect("store");
        store
            .iter_gr(&(group.to_string(), plural.to_string()), ns)
            .cloned()
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

/// Polls `f` until it returns Some, failing after `secs` seconds.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// The values the local profile sets, as a file helm can read.
pub fn profile_values(dir: &Path, profile: &str) -> PathBuf {
    let set = helmdeck::profile::ProfileSet::load(None).expect("profiles");
    let p = set.get(profile).expect("profile");
    let f = dir.join(format!("{profile}-values.json"));
    std::fs::write(&f, serde_json::Value::Object(p.values.clone()).to_string()).expect("write");
    f
}
