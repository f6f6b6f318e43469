//! `helmdeck install --yes` against `helm upgrade --install --wait` of the same chart and
//! values on the same simulated cluster, side by side. Run: `cargo bench --bench install_vs_helm`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helmdeck_sim::SimOptions;
use helmdeck_sim::testkit::Sim;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let helm = std::env::var_os("HELMDECK_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/bin/helm4"));
    let helmdeck = PathBuf::from(env!("CARGO_BIN_EXE_helmdeck"));
    let dir = std::env::temp_dir().join(format!("helmdeck-installbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sim = Sim::start(SimOptions {
        kubeconfig: Some(dir.join("kubeconfig")),
        ..Default::default()
    });
    let kubeconfig = sim.kubeconfig.clone();
    let values = dir.join("local.json");
    let shown = Command::new(&helmdeck)
        .args(["profiles", "show", "local", "-o", "json"])
        .output()
        .expect("show");
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    std::fs::write(&values, v["values"].to_string()).expect("write");
    let chart = root.join("assets/charts/posthog-mini");
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let t = Instant::now();
        let o = Command::new(&helmdeck)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", &dir)
            .env("HELMDECK_HELM", &helm)
            .env("HELMDECK_DATA_DIR", dir.join("data"))
            .args([
                "install",
                "--profile",
                "local",
                "--yes",
                "--release",
                &format!("hd{i}"),
                "-n",
                &format!("hd{i}"),
            ])
            .stderr(Stdio::piped())
            .output()
            .expect("helmdeck install");
        ours.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let t = Instant::now();
        let o = Command::new(&helm)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", &dir)
            .args(["upgrade", "--install", &format!("hm{i}")])
            .arg(&chart)
            .args(["-n", &format!("hm{i}"), "--create-namespace", "-f"])
            .arg(&values)
            .args(["--wait", "--wait-for-jobs", "--timeout", "300s"])
            .output()
            .expect("helm");
        theirs.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Untimed: make room, so every run installs onto the same empty cluster.
        for (rel, ns) in [
            (format!("hd{i}"), format!("hd{i}")),
            (format!("hm{i}"), format!("hm{i}")),
        ] {
            let o = Command::new(&helm)
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", &dir)
                .args(["uninstall", &rel, "-n", &ns, "--wait", "--timeout", "120s"])
                .output()
                .expect("helm uninstall");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }
    let (a, b) = (median(ours), median(theirs));
    println!(
        "helmdeck install --yes          median {:>8.1} ms over {runs} runs",
        a.as_secs_f64() * 1e3
    );
    println!(
        "helm upgrade --install --wait   median {:>8.1} ms over {runs} runs",
        b.as_secs_f64() * 1e3
    );
    println!(
        "helmdeck / helm                 {:.2}",
        a.as_secs_f64() / b.as_secs_f64()
    );
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}
