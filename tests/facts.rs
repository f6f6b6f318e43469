//! The facts helmdeck encodes about the vendor's chart, checked against every package of it in
//! `../shared/charts/posthog` and the vendor's CI values beside them: each version's Kubernetes
//! range and app version as the upgrade notes and the profiles give them, the app image rule,
//! the Services, selectors and labels the probe and the pods pane find components by, the
//! ingress routes the public path relies on, every value key a profile or a question sets, and
//! the profiles' load balancer settings against the vendor's CI. A changed fact fails here.

mod common;

use std::path::PathBuf;

use helmdeck::chart::Chart;
use helmdeck::chart::constraint::satisfies;
use helmdeck::profile::{Profile, ProfileSet};
use serde_json::{Value, json};

/// `x.y.z` as numbers, for ordering chart versions.
fn ver(v: &str) -> (u64, u64, u64) {
    let mut it = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// Every package: (version, path, chart), oldest first.
fn packages() -> Option<Vec<(String, PathBuf, Chart)>> {
    let dir = common::shared_charts("posthog")?;
    let mut out: Vec<(String, PathBuf, Chart)> = std::fs::read_dir(&dir)
        .expect("read the packages")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_string();
            let v = name
                .strip_prefix("posthog-")?
                .strip_suffix(".tgz")?
                .to_string();
            let chart = Chart::load(&p).expect("load the package");
            Some((v, p, chart))
        })
        .collect();
    out.sort_by_key(|(v, _, _)| ver(v));
    assert!(
        out.len() >= 9,
        "expected the nine packages in {}",
        dir.display()
    );
    Some(out)
}

/// The upgrade notes' Kubernetes ranges: (from chart version, lowest minor, highest minor).
fn kube_notes() -> Vec<(String, u64, Option<u64>)> {
    let book = helmdeck::chart::upgrade_notes::for_chart("posthog").expect("notes");
    book.notes
        .iter()
        .filter_map(|n| {
            let k = n.kubernetes.as_deref()?;
            let minor = |s: &str| s.trim().trim_start_matches("1.").parse::<u64>().ok();
            let (lo, hi) = match k.split_once(" to ") {
                Some((a, b)) => (minor(a)?, Some(minor(b)?)),
                None => (minor(k.strip_suffix(" and later")?)?, None),
            };
            Some((n.version.clone(), lo, hi))
        })
        .collect()
}

/// Each package accepts exactly the Kubernetes minors its governing note gives (the last note
/// at or below its version), judged with helm's constraint rules; every profile's range admits
/// each package's lowest.
#[test]
fn each_packages_kubernetes_range_is_the_one_the_upgrade_notes_give() {
    let Some(pkgs) = packages() else { return };
    let notes = kube_notes();
    let profiles = ProfileSet::load(None).expect("profiles");
    for (v, _, chart) in &pkgs {
        let (from, lo, hi) = notes
            .iter()
            .rev()
            .find(|(n, _, _)| ver(n) <= ver(v))
            .unwrap_or_else(|| panic!("no Kubernetes note covers chart {v}"));
        let kv = chart.metadata.kube_version.as_deref().expect("kubeVersion");
        let ok = |minor: u64, patch: u64| satisfies(kv, &format!("1.{minor}.{patch}"));
        let why = format!("chart {v} declares {kv:?}; the note of {from} says 1.{lo} to {hi:?}");
        assert!(ok(*lo, 0) && !ok(lo - 1, 99), "{why}");
        match hi {
            Some(h) => assert!(ok(*h, 99) && !ok(h + 1, 0), "{why}"),
            None => assert!(ok(40, 0), "{why}"),
        }
        for p in profiles.iter() {
            if p.name == "local" {
                continue;
            }
            assert!(
                p.kubernetes.allows(&format!("1.{lo}.0")),
                "profile {} refuses Kubernetes 1.{lo}, which chart {v} supports",
                p.name
            );
        }
    }
}

/// The async-migration stops and pins name the app their packages run, a pinned app has a
/// package that defaults to it (the stop helmdeck falls back to), and the app image rule
/// (`image.default` is `:release-<appVersion>`, `:latest` from 30.46.0) holds.
#[test]
fn the_stops_pins_and_image_rule_name_what_the_packages_run() {
    let Some(pkgs) = packages() else { return };
    let book = helmdeck::chart::upgrade_notes::for_chart("posthog").expect("notes");
    let app_of = |v: &str| {
        pkgs.iter()
            .find(|(pv, _, _)| pv == v)
            .and_then(|(_, _, c)| c.metadata.app_version.clone())
    };
    let mut checked = 0;
    for n in &book.notes {
        let Some(r) = &n.requires else { continue };
        if let (Some(app), Some(pkg_app)) = (&r.app, app_of(&r.version)) {
            assert_eq!(
                &pkg_app, app,
                "note {}: chart {} runs app",
                n.version, r.version
            );
            checked += 1;
        }
        if let Some(pin) = &r.pin {
            assert!(
                pkgs.iter()
                    .any(|(_, _, c)| c.metadata.app_version.as_deref() == Some(pin.as_str())),
                "note {}: no package defaults to the pinned app {pin}",
                n.version
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "too few stops checked: {checked}");
    let image = book.app_image.expect("the app image rule");
    for (v, _, chart) in &pkgs {
        let app = chart.metadata.app_version.as_deref().expect("appVersion");
        let default = chart.values["image"]["default"]
            .as_str()
            .expect("image.default");
        let want = if ver(v) >= ver("30.46.0") {
            ":latest".to_string()
        } else {
            format!(":{}", image.tag_for(app))
        };
        assert_eq!(default, want, "chart {v}");
    }
}

/// The lowest Kubernetes minor the upgrade notes give for chart version `v`.
fn lowest_minor(notes: &[(String, u64, Option<u64>)], v: &str) -> u64 {
    notes
        .iter()
        .rev()
        .find(|(n, _, _)| ver(n) <= ver(v))
        .map(|(_, lo, _)| *lo)
        .expect("a note")
}

/// Renders a package as helm does (helm 4 `template`), on the lowest Kubernetes it supports.
fn rendered(path: &std::path::Path, kube: &str) -> Vec<Value> {
    let o = std::process::Command::new(common::helm(4))
        .args(["template", "posthog"])
        .arg(path)
        .args(["-n", "posthog", "--kube-version", kube])
        .args([
            "--set",
            "cloud=aws",
            "--set",
            "ingress.hostname=ph.example.com",
        ])
        .output()
        .expect("helm template");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    text.split("\n---")
        .filter_map(|d| serde_yaml::from_str::<Value>(d).ok())
        .filter(|d| d.is_object())
        .collect()
}

/// The probe reaches web and events through the Services that select their pods (the vendor's
/// Services carry only `app.kubernetes.io/*` labels), the components' pods carry the `app`
/// and `role` labels helmdeck groups them by, and the chart's Ingress sends capture to events
/// and the health and events-API paths to web, as the probe's public path assumes.
#[test]
fn the_probe_finds_components_by_selector_and_the_ingress_routes_as_assumed() {
    let Some(pkgs) = packages() else { return };
    let notes = kube_notes();
    for (v, path, _) in &pkgs {
        let lo = lowest_minor(&notes, v);
        let docs = rendered(path, &format!("1.{lo}.0"));
        let kind = |k: &'static str| docs.iter().filter(move |d| d["kind"] == k);
        let services: Vec<k8s_openapi::api::core::v1::Service> = kind("Service")
            .map(|d| serde_json::from_value(d.clone()).expect("a Service"))
            .collect();
        let targets = helmdeck::cluster::probe::proxy_targets("posthog", &services, &[]);
        let got: Vec<&str> = targets.iter().take(2).map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            got,
            ["services/posthog-web:8000", "services/posthog-events:8000"],
            "chart {v}"
        );
        for d in kind("Service").filter(|d| {
            d["metadata"]["name"] == "posthog-web" || d["metadata"]["name"] == "posthog-events"
        }) {
            assert!(
                d["metadata"]["labels"]["role"].is_null(),
                "chart {v}: the corrected fact says Services carry no role label: {d}"
            );
        }
        assert!(
            kind("Deployment").any(|d| {
                let l = &d["spec"]["template"]["metadata"]["labels"];
                l["app"] == "posthog" && l["role"].as_str().is_some_and(|r| r.starts_with("worker"))
            }),
            "chart {v}: no worker Deployment labelled role: worker-*"
        );
        for role in ["web", "events", "plugins"] {
            let dep = kind("Deployment")
                .find(|d| d["metadata"]["name"] == format!("posthog-{role}").as_str())
                .unwrap_or_else(|| panic!("chart {v}: no Deployment posthog-{role}"));
            let labels = &dep["spec"]["template"]["metadata"]["labels"];
            assert_eq!(labels["app"], "posthog", "chart {v} {role}");
            assert_eq!(labels["role"], role, "chart {v} {role}");
        }
        let ingresses: Vec<Value> = kind("Ingress").cloned().collect();
        // The cluster's default class (9.0.0's Ingress names none unless ingress-nginx is on).
        let classes = [json!({"metadata": {"name": "nginx",
                                            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
                              "spec": {"controller": "k8s.io/ingress-nginx"}})];
        let to = |p: &str| {
            helmdeck_sim::ingress::route(&ingresses, &classes, "ph.example.com", p).map(|(_, s)| s)
        };
        for p in ["/e/", "/capture/", "/batch/"] {
            assert_eq!(to(p).as_deref(), Some("posthog-events"), "chart {v} {p}");
        }
        for p in [
            "/_livez",
            "/_health",
            "/_readyz",
            "/api/projects/@current/events/",
        ] {
            assert_eq!(to(p).as_deref(), Some("posthog-web"), "chart {v} {p}");
        }
    }
}

/// A profile's answers as a user who takes every default and gives a hostname.
fn answers(p: &Profile, monitoring: bool) -> helmdeck::values::UserLayer {
    let mut given = json!({"ingress.hostname": "ph.example.com"});
    if monitoring {
        given["prometheus.enabled"] = json!(true);
    }
    helmdeck::profile::answers_layer("facts", given.as_object().expect("map"), Some(p))
        .expect("answers")
}

/// Every value key a profile, its questions and its `follows` set is one the chart has (or
/// its templates read), for every package; the only exceptions are keys an upgrade note of a
/// later version renames to (the chart did not have them yet). The monitoring question's yes
/// is answered on the packages with Loki 3 (27.0.0 on, shared/UPGRADE-NOTES.md), whose claim
/// keys the profiles set; on older ones helmdeck warns that helm ignores them.
#[test]
fn every_key_a_profile_or_question_sets_is_the_charts() {
    let Some(pkgs) = packages() else { return };
    let book = helmdeck::chart::upgrade_notes::for_chart("posthog").expect("notes");
    let profiles = ProfileSet::load(None).expect("profiles");
    for p in profiles.iter() {
        for ((v, _, chart), monitoring) in pkgs
            .iter()
            .flat_map(|pkg| [(pkg, false), (pkg, ver(&pkg.0) >= (27, 0, 0))])
        {
            let req = helmdeck::values::RenderRequest {
                profile: Some(p.layer()),
                answers: Some(answers(p, monitoring)),
                follows: p.follows.clone(),
                ..Default::default()
            };
            let r = req
                .render(chart)
                .unwrap_or_else(|e| panic!("profile {} on chart {v}: {e}", p.name));
            for w in &r.warnings {
                let Some(key) = w
                    .split_once(" sets ")
                    .and_then(|(_, rest)| rest.split_once(", which chart"))
                    .map(|(k, _)| k)
                else {
                    continue;
                };
                let later_rename = book.notes.iter().any(|n| {
                    ver(&n.version) > ver(v)
                        && n.renamed
                            .iter()
                            .any(|r| r.to.starts_with(key) || key.starts_with(&r.to))
                });
                assert!(
                    later_rename,
                    "profile {} (monitoring {monitoring}) sets {key}, which chart {v} does not have: {w}",
                    p.name
                );
            }
        }
    }
}

/// The aws and digitalocean profiles' load balancer and nginx settings are the vendor's CI's
/// (../shared/charts/posthog/ci-values): every key it sets there the profile sets to the same
/// value, the DigitalOcean hostname placeholder filled from `ingress.hostname`.
#[test]
fn the_profiles_load_balancer_settings_are_the_vendors_ci() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let profiles = ProfileSet::load(None).expect("profiles");
    for (profile, file) in [
        ("aws", "amazon_web_services.yaml"),
        ("digitalocean", "digital_ocean.yaml"),
    ] {
        let text = std::fs::read_to_string(dir.join("ci-values").join(file)).expect("ci values");
        let ci: Value = serde_yaml::from_str(&text).expect("yaml");
        let p = profiles.get(profile).expect("profile");
        let req = helmdeck::values::RenderRequest {
            profile: Some(p.layer()),
            answers: Some(answers(p, false)),
            follows: p.follows.clone(),
            ..Default::default()
        };
        let ours = req.user_values().expect("values");
        let (ci_nginx, our_nginx) = (
            &ci["ingress-nginx"]["controller"],
            &ours["ingress-nginx"]["controller"],
        );
        let text_of = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for (k, want) in ci_nginx["config"].as_object().expect("config") {
            assert_eq!(
                text_of(&our_nginx["config"][k]),
                text_of(want),
                "{profile}: config {k}"
            );
        }
        for (k, want) in ci_nginx["service"]["annotations"]
            .as_object()
            .expect("annotations")
        {
            let want = if want == "<your-hostname>" {
                json!("ph.example.com")
            } else {
                want.clone()
            };
            assert_eq!(
                our_nginx["service"]["annotations"][k], want,
                "{profile}: annotation {k}"
            );
        }
        assert_eq!(ours["cloud"], ci["cloud"], "{profile}");
    }
}

/// The key the disk-filling step tells a user to raise sizes that component's claim in every
/// package: set to an unusual size, the size shows up in a claim of that component's object
/// (a StatefulSet's claim template, a claim, or the ClickHouseInstallation's claim template).
/// A package older than an upgrade note that renamed the key is tested under the note's old
/// name, which checks the note too.
#[test]
fn each_components_size_key_sizes_its_claim() {
    let Some(pkgs) = packages() else { return };
    let components = ["kafka", "clickhouse", "postgresql", "zookeeper", "redis"];
    let notes = kube_notes();
    let book = helmdeck::chart::upgrade_notes::for_chart("posthog").expect("notes");
    for (v, path, _) in &pkgs {
        let lo = lowest_minor(&notes, v);
        let kube = format!("1.{lo}.0");
        let key_of = |c: &str| {
            let mut key = helmdeck::health::fill::size_key(c).expect("a size key");
            for n in book.notes.iter().rev().filter(|n| ver(&n.version) > ver(v)) {
                if let Some(r) = n.renamed.iter().find(|r| r.to == key) {
                    key = &r.from;
                }
            }
            key
        };
        let mut cmd = std::process::Command::new(common::helm(4));
        cmd.args(["template", "posthog"])
            .arg(path)
            .args(["-n", "posthog", "--kube-version", &kube])
            .args([
                "--set",
                "cloud=aws",
                "--set",
                "ingress.hostname=ph.example.com",
            ]);
        for (i, c) in components.iter().enumerate() {
            cmd.args(["--set", &format!("{}={}Gi", key_of(c), 31 + i)]);
        }
        let o = cmd.output().expect("helm template");
        assert!(
            o.status.success(),
            "chart {v}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let docs: Vec<Value> = String::from_utf8_lossy(&o.stdout)
            .split("\n---")
            .filter_map(|d| serde_yaml::from_str::<Value>(d).ok())
            .filter(|d| d.is_object())
            .collect();
        for (i, c) in components.iter().enumerate() {
            let size = format!("\"storage\":\"{}Gi\"", 31 + i);
            let sized: Vec<String> = docs
                .iter()
                .filter(|d| d.to_string().contains(&size))
                .map(|d| format!("{}/{}", d["kind"], d["metadata"]["name"]).to_lowercase())
                .collect();
            assert!(
                !sized.is_empty() && sized.iter().all(|n| n.contains(c)),
                "chart {v}: {} sizes {sized:?}, not {c}'s claim",
                key_of(c)
            );
        }
    }
}
