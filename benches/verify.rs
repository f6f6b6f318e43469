//! `helmdeck verify` on the vendor's chart 30.46.0 with all five profiles, whole process:
//! - the full matrix (lint, render, policy, install, upgrade, no-op upgrade on embedded
//!   simulated clusters) against the target of 4 minutes on a 2-core machine;
//! - the offline stages (`--no-install`) side by side with their peer done with helm alone:
//!   `helm lint --strict` and `helm template` for each profile with the same values (prepared
//!   with `helmdeck render`, untimed), two profiles at a time as verify runs them here.
//!
//! Run: `cargo bench --bench verify` (needs scripts/get-helm and ../shared/charts).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PROFILES: [&str; 5] = ["aws", "azure", "digitalocean", "gcp", "local"];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn private(c: &mut Command, tmp: &Path) {
    c.env("HELMDECK_DATA_DIR", tmp.join("data"))
        .env("HELMDECK_CONFIG_DIR", tmp.join("config"))
        .env("HELMDECK_CACHE_DIR", tmp.join("cache"))
        .env("HELM_CACHE_HOME", tmp.join("helm-cache"))
        .env("HELM_CONFIG_HOME", tmp.join("helm-config"))
        .env("HELM_DATA_HOME", tmp.join("helm-data"))
        .env_remove("KUBECONFIG");
}

fn verify(
    helmdeck: &Path,
    helm: &Path,
    tmp: &Path,
    chart: &Path,
    offline: bool,
) -> (i32, Duration) {
    let mut c = Command::new(helmdeck);
    c.args(["verify", "-o", "json", "--chart"])
        .arg(chart)
        .args(["--set", "image.tag=release-1.43.0"])
        .env("HELMDECK_HELM", helm);
    if offline {
        c.arg("--no-install");
    }
    private(&mut c, tmp);
    let t = Instant::now();
    let o = c.output().expect("run helmdeck verify");
    (o.status.code().unwrap_or(-1), t.elapsed())
}

/// `helm lint --strict` then `helm template` for each profile, two profiles at a time.
fn helm_alone(helm: &Path, chart: &Path, values: &[PathBuf], kube: &str) -> Duration {
    let t = Instant::now();
    for pair in values.chunks(2) {
        let runs: Vec<_> = pair
            .iter()
            .map(|v| {
                let (helm, chart, v, kube) = (
                    helm.to_path_buf(),
                    chart.to_path_buf(),
                    v.clone(),
                    kube.to_string(),
                );
                std::thread::spawn(move || {
                    let lint = Command::new(&helm)
                        .arg("lint")
                        .arg(&chart)
                        .args(["--strict", "-f"])
                        .arg(&v)
                        .output()
                        .expect("helm lint");
                    assert!(
                        lint.status.success(),
                        "{}",
                        String::from_utf8_lossy(&lint.stdout)
                    );
                    let tpl = Command::new(&helm)
                        .args(["template", "posthog"])
                        .arg(&chart)
                        .args(["-n", "posthog", "-f"])
                        .arg(&v)
                        .args(["--kube-version", &kube])
                        .output()
                        .expect("helm template");
                    assert!(
                        tpl.status.success(),
                        "{}",
                        String::from_utf8_lossy(&tpl.stderr)
                    );
                })
            })
            .collect();
        for r in runs {
            r.join().expect("helm run");
        }
    }
    t.elapsed()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let chart = root.join("../shared/charts/posthog/posthog-30.46.0.tgz");
    if !chart.is_file() {
        eprintln!("skipped: {} is not there", chart.display());
        return;
    }
    let helm = std::env::var_os("HELMDECK_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/bin/helm4"));
    let helmdeck = PathBuf::from(env!("CARGO_BIN_EXE_helmdeck"));
    let tmp = std::env::temp_dir().join(format!("helmdeck-verify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    // The values each profile renders to, for helm alone (not timed).
    let values: Vec<PathBuf> = PROFILES
        .iter()
        .map(|p| {
            let mut c = Command::new(&helmdeck);
            c.args(["render", "--profile", p, "--chart"])
                .arg(&chart)
                .args(["--set", "image.tag=release-1.43.0", "-o", "json"])
                .env("HELMDECK_HELM", &helm);
            private(&mut c, &tmp);
            let o = c.output().expect("helmdeck render");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            let file = tmp.join(format!("{p}.json"));
            let values = if doc["values"].is_object() {
                &doc["values"]
            } else {
                &doc
            };
            std::fs::write(&file, serde_json::to_vec(values).unwrap()).expect("write");
            file
        })
        .collect();
    let kube = helmdeck_sim::kube_version::KubeVersion::default().git_version();
    let kube = kube.trim_start_matches('v');
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (code, t) = verify(&helmdeck, &helm, &tmp, &chart, true);
        assert_eq!(code, 0, "verify --no-install failed");
        ours.push(t);
        theirs.push(helm_alone(&helm, &chart, &values, kube));
    }
    let (o, h) = (median(ours), median(theirs));
    println!(
        "offline stages, 5 profiles: helmdeck verify --no-install {:.2} s, helm lint + template {:.2} s, ratio {:.2}",
        o.as_secs_f64(),
        h.as_secs_f64(),
        o.as_secs_f64() / h.as_secs_f64()
    );
    let (code, full) = verify(&helmdeck, &helm, &tmp, &chart, false);
    println!(
        "full matrix, 5 profiles (lint, render, policy, install, upgrade, no-op upgrade, public path, load 20x30): {:.1} s against a 240 s target (exit {code})",
        full.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
