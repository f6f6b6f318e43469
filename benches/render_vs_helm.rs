//! Whole-process comparison, side by side in one run: `helmdeck render` against
//! `helm template` on the same chart and layers. Prints medians and the ratio.
//! Run: `cargo bench --bench render_vs_helm` (needs scripts/get-helm).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support.rs"]
mod support;

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
    let tmp = std::env::temp_dir().join(format!("helmdeck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let big = tmp.join("big.yaml");
    std::fs::write(&big, support::big_values(3000)).expect("write");
    let chart = root.join("assets/charts/posthog-mini");
    let profile = tmp.join("aws.json");
    let shown = Command::new(&helmdeck)
        .args(["profiles", "show", "aws", "-o", "json"])
        .output()
        .expect("profile");
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    std::fs::write(&profile, v["values"].to_string()).expect("write");
    let set = "ingress.hostname=x.example.com";
    let runs = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let o = Command::new(&helmdeck)
            .env("HELMDECK_CACHE_DIR", &tmp)
            .args(["render", "--profile", "aws", "--helm-major", "4", "-f"])
            .arg(&big)
            .args(["--set", set, "-o", "json"])
            .output()
            .expect("helmdeck");
        ours.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let t = Instant::now();
        let o = Command::new(&helm)
            .env("HOME", &tmp)
            .arg("template")
            .arg("p")
            .arg(&chart)
            .arg("-f")
            .arg(&profile)
            .arg("-f")
            .arg(&big)
            .args(["--set", set])
            .output()
            .expect("helm");
        theirs.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (a, b) = (median(ours), median(theirs));
    println!(
        "helmdeck render  median {:>8.2} ms over {runs} runs",
        a.as_secs_f64() * 1e3
    );
    println!(
        "helm template    median {:>8.2} ms over {runs} runs",
        b.as_secs_f64() * 1e3
    );
    println!("helm / helmdeck  {:.1}x", b.as_secs_f64() / a.as_secs_f64());
    let _ = std::fs::remove_dir_all(&tmp);
}
