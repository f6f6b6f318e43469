//! Whole-process comparison, side by side in one run: `helmdeck render` against
//! `helm template` on the same chart and layers. Prints medians and the ratio: on the
//! bundled stand-in with a 3,000-line values file, and on the vendor's chart 30.46.0 from
//! `../shared/charts` with its CI's aws values (issue 30's target: 10× faster). helmdeck's
//! runs share one cache directory, as a user's do: the first run loads the chart, the rest
//! read it from the cache (the first run is timed apart).
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
        .unwrap_or(15usize);
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
    report(
        "stand-in, 3,000-line values",
        median(ours),
        median(theirs),
        runs,
    );
    let vendor = root.join("../shared/charts/posthog/posthog-30.46.0.tgz");
    let ci = root.join("../shared/charts/posthog/ci-values/amazon_web_services.yaml");
    if vendor.is_file() && ci.is_file() {
        let cache = tmp.join("vendor-cache");
        let ours_once = || {
            let t = Instant::now();
            let o = Command::new(&helmdeck)
                .env("HELMDECK_CACHE_DIR", &cache)
                .args(["render", "--helm-major", "4", "--chart"])
                .arg(&vendor)
                .arg("-f")
                .arg(&ci)
                .output()
                .expect("helmdeck");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            t.elapsed()
        };
        let first = ours_once();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            ours.push(ours_once());
            let t = Instant::now();
            let o = Command::new(&helm)
                .env("HOME", &tmp)
                .arg("template")
                .arg("p")
                .arg(&vendor)
                .arg("-f")
                .arg(&ci)
                .output()
                .expect("helm");
            theirs.push(t.elapsed());
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        println!(
            "vendor chart: helmdeck's first run (loads the chart, fills the cache) {:.2} ms",
            first.as_secs_f64() * 1e3
        );
        report(
            "vendor chart 30.46.0, CI aws values",
            median(ours),
            median(theirs),
            runs,
        );
    } else {
        println!("vendor chart: ../shared/charts/posthog not here, skipped");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

fn report(what: &str, ours: Duration, theirs: Duration, runs: usize) {
    println!("{what}:");
    println!(
        "  helmdeck render  median {:>8.2} ms over {runs} runs",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "  helm template    median {:>8.2} ms over {runs} runs",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "  helm / helmdeck  {:.1}x",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}
