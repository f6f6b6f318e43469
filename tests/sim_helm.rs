//! Real Helm 4 and Helm 3 against the simulated cluster: the full release lifecycle of the
//! bundled chart and of `helm create`'s chart, checked through kube-rs.

mod common;

use common::{Sim, eventually, helm, profile_values, root};
use helmdeck_sim::SimOptions;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

fn client(sim: &Sim) -> (tokio::runtime::Runtime, kube::Client) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let kc = Kubeconfig::read_from(&sim.kubeconfig).expect("kubeconfig");
    let client = rt.block_on(async {
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        kube::Client::try_from(cfg).expect("client")
    });
    (rt, client)
}

fn lifecycle(major: u8) {
    let sim = Sim::start(SimOptions::default());
    let h = helm(major);
    let chart = root().join("assets/charts/posthog-mini");
    let values = profile_values(sim.home.path(), "local");
    let chart_s = chart.to_str().unwrap();
    let values_s = values.to_str().unwrap();
    sim.run(
        &h,
        &[
            "install",
            "ph",
            chart_s,
            "-n",
            "posthog",
            "--create-namespace",
            "-f",
            values_s,
            "--wait",
            "--wait-for-jobs",
            "--timeout",
            "120s",
        ],
    );

    let (rt, c) = client(&sim);
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "posthog");
    let list = rt
        .block_on(deploys.list(&ListParams::default()))
        .expect("deployments");
    let names: Vec<String> = list
        .items
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    for role in ["web", "events", "worker", "plugins"] {
        assert!(names.contains(&format!("ph-{role}")), "{names:?}");
    }
    for d in &list.items {
        let st = d.status.as_ref().expect("status");
        assert_eq!(st.available_replicas, Some(1), "{:?}", d.metadata.name);
    }
    let sts: Api<StatefulSet> = Api::namespaced(c.clone(), "posthog");
    for s in rt
        .block_on(sts.list(&ListParams::default()))
        .expect("sts")
        .items
    {
        assert_eq!(
            s.status.as_ref().and_then(|s| s.ready_replicas),
            Some(1),
            "{:?}",
            s.metadata.name
        );
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.clone(), "posthog");
    let pvcs = rt
        .block_on(pvcs.list(&ListParams::default()))
        .expect("pvcs")
        .items;
    assert_eq!(pvcs.len(), 5);
    assert!(
        pvcs.iter()
            .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
    );
    let jobs: Api<Job> = Api::namespaced(c.clone(), "posthog");
    let jobs = rt
        .block_on(jobs.list(&ListParams::default()))
        .expect("jobs")
        .items;
    assert!(
        jobs.iter()
            .all(|j| j.status.as_ref().and_then(|s| s.succeeded) == Some(1))
    );

    // Upgrade: a Deployment's image and a ConfigMap change.
    sim.run(
        &h,
        &[
            "upgrade",
            "ph",
            chart_s,
            "-n",
            "posthog",
            "-f",
            values_s,
            "--set",
            "image.tag=1.44.0",
            "--set",
            "appConfig.FEATURE=on",
            "--wait",
            "--wait-for-jobs",
            "--timeout",
            "120s",
        ],
    );
    let web = serde_json::to_value(rt.block_on(deploys.get("ph-web")).expect("web")).unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "posthog/posthog:1.44.0"
    );
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "posthog");
    let cm = rt.block_on(cms.get("ph-config")).expect("cm");
    assert_eq!(
        cm.data.unwrap().get("FEATURE").map(String::as_str),
        Some("on")
    );
    let pods: Api<Pod> = Api::namespaced(c.clone(), "posthog");
    let web_pods = rt
        .block_on(pods.list(&ListParams::default().labels("role=web")))
        .expect("pods")
        .items;
    let images: Vec<serde_json::Value> = web_pods
        .iter()
        .map(|p| serde_json::to_value(p).unwrap()["spec"]["containers"][0]["image"].clone())
        .collect();
    assert!(
        images.iter().all(|i| i == "posthog/posthog:1.44.0"),
        "old web pods remain: {images:?}"
    );

    // Rollback to the first revision; history, status, values, list.
    sim.run(
        &h,
        &[
            "rollback",
            "ph",
            "1",
            "-n",
            "posthog",
            "--wait",
            "--timeout",
            "120s",
        ],
    );
    let web = serde_json::to_value(rt.block_on(deploys.get("ph-web")).expect("web")).unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "posthog/posthog:1.43.0"
    );
    let history: serde_json::Value =
        serde_json::from_str(&sim.run(&h, &["history", "ph", "-n", "posthog", "-o", "json"]))
            .expect("history");
    assert_eq!(history.as_array().map(Vec::len), Some(3));
    assert_eq!(history[2]["status"], "deployed");
    let status: serde_json::Value =
        serde_json::from_str(&sim.run(&h, &["status", "ph", "-n", "posthog", "-o", "json"]))
            .expect("status");
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["version"], 3);
    let vals: serde_json::Value =
        serde_json::from_str(&sim.run(&h, &["get", "values", "ph", "-n", "posthog", "-o", "json"]))
            .expect("values");
    assert_eq!(vals["cloud"], "local");
    let list: serde_json::Value =
        serde_json::from_str(&sim.run(&h, &["list", "-A", "-o", "json"])).expect("list");
    assert_eq!(list[0]["name"], "ph");

    // Uninstall waits until the objects are gone.
    sim.run(
        &h,
        &[
            "uninstall",
            "ph",
            "-n",
            "posthog",
            "--wait",
            "--timeout",
            "60s",
        ],
    );
    let left = rt
        .block_on(deploys.list(&ListParams::default()))
        .expect("list")
        .items;
    assert!(left.is_empty(), "deployments left after uninstall");
    eventually(10, "pods to be garbage collected", || {
        let p = rt.block_on(pods.list(&ListParams::default())).ok()?.items;
        p.is_empty().then_some(())
    });
    assert!(
        sim.objects("", "secrets", Some("posthog"))
            .iter()
            .all(|s| s["type"] != "helm.sh/release.v1")
    );
}

#[test]
fn helm4_release_lifecycle() {
    lifecycle(4);
}

#[test]
fn helm3_release_lifecycle() {
    lifecycle(3);
}

fn helm_create_chart(major: u8) {
    let sim = Sim::start(SimOptions::default());
    let h = helm(major);
    let dir = sim.home.path().join("charts");
    std::fs::create_dir_all(&dir).unwrap();
    let out = sim
        .cmd(&h)
        .current_dir(&dir)
        .args(["create", "mychart"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let chart = dir.join("mychart");
    let c = chart.to_str().unwrap();
    sim.run(
        &h,
        &[
            "install",
            "demo",
            c,
            "-n",
            "apps",
            "--create-namespace",
            "--wait",
            "--timeout",
            "60s",
        ],
    );
    sim.run(
        &h,
        &[
            "upgrade",
            "demo",
            c,
            "-n",
            "apps",
            "--set",
            "replicaCount=2",
            "--set",
            "image.tag=1.27",
            "--wait",
            "--timeout",
            "60s",
        ],
    );
    let d = sim.objects("apps", "deployments", Some("apps"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["status"]["readyReplicas"], 2);
    assert_eq!(d[0]["status"]["updatedReplicas"], 2);
    let sa = sim.objects("", "serviceaccounts", Some("apps"));
    assert!(sa.iter().any(|s| s["metadata"]["name"] == "demo-mychart"));
    sim.run(&h, &["uninstall", "demo", "-n", "apps", "--wait"]);
    assert!(sim.objects("apps", "deployments", Some("apps")).is_empty());
}

#[test]
fn helm_create_chart_installs_and_upgrades_with_helm4() {
    helm_create_chart(4);
}

#[test]
fn helm_create_chart_installs_and_upgrades_with_helm3() {
    helm_create_chart(3);
}

#[test]
fn failing_migration_fails_the_install_with_backoff_exceeded() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::FailingMigration],
        ..Default::default()
    });
    let chart = root().join("assets/charts/posthog-mini");
    let values = profile_values(sim.home.path(), "local");
    let out = sim
        .cmd(&helm(4))
        .args([
            "install",
            "ph",
            chart.to_str().unwrap(),
            "-n",
            "posthog",
            "--create-namespace",
            "-f",
            values.to_str().unwrap(),
            "--set",
            "migrate.backoffLimit=1",
            "--wait",
            "--wait-for-jobs",
            "--timeout",
            "60s",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "install should fail");
    let jobs = sim.objects("batch", "jobs", Some("posthog"));
    let failed = jobs[0]["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Failed" && c["reason"] == "BackoffLimitExceeded");
    assert!(failed, "{}", jobs[0]["status"]);
}

/// The `releases:COUNT:REVISIONS` scenario stores releases as helm stores them: both helms
/// list each at its last revision, deployed, and show its whole history.
#[test]
fn seeded_releases_are_what_both_helms_list() {
    let sim = Sim::start(SimOptions {
        scenarios: vec!["releases:7:3".parse().unwrap()],
        ..Default::default()
    });
    for major in [3, 4] {
        let out = sim.run(&helm(major), &["list", "-A", "-o", "json"]);
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 7, "helm {major}: {out}");
        assert!(
            list.iter()
                .all(|r| r["revision"] == "3" && r["status"] == "deployed"),
            "helm {major}: {out}"
        );
        let hist = sim.run(
            &helm(major),
            &["history", "app-0002", "-n", "fleet-2", "-o", "json"],
        );
        let hist: serde_json::Value = serde_json::from_str(&hist).unwrap();
        assert_eq!(hist.as_array().unwrap().len(), 3, "helm {major}");
    }
}
