//! Real third-party charts on the simulated cluster, as a user would run them: install with
//! `--wait`, an identical upgrade (no workload's generation moves, no pod restarts), an upgrade
//! with a changed value, a rollback and an uninstall (nothing left but what the chart keeps on
//! purpose: CRDs and `helm.sh/resource-policy: keep` objects), with helm 4, and a subset with
//! helm 3. The charts come from `../shared/charts/thirdparty` (not copied into the project);
//! under CI (`CI=true`) a missing corpus fails the run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Sim, helm};
use helmdeck_sim::SimOptions;
use serde_json::Value;

fn corpus_dir() -> Option<PathBuf> {
    common::shared_charts("thirdparty").filter(|d| d.join("corpus.json").is_file())
}

fn entry(dir: &Path, name: &str) -> Value {
    let all: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("corpus.json")).expect("corpus.json"))
            .expect("corpus.json is a list");
    all.into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in corpus.json"))
}

/// Workloads' generations and the pods that are not Job pods, by uid: what an upgrade that
/// changes nothing must leave alone.
fn workload_state(sim: &Sim, ns: &str) -> (BTreeMap<String, Value>, Vec<String>) {
    let mut generations = BTreeMap::new();
    for (group, plural) in [
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
    ] {
        for o in sim.objects(group, plural, Some(ns)) {
            generations.insert(
                format!("{plural}/{}", o["metadata"]["name"].as_str().unwrap_or("")),
                o["metadata"]["generation"].clone(),
            );
        }
    }
    let mut pods: Vec<String> = sim
        .objects("", "pods", Some(ns))
        .iter()
        .filter(|p| {
            !p["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["kind"] == "Job")
        })
        .map(|p| {
            format!(
                "{} {}",
                p["metadata"]["name"].as_str().unwrap_or(""),
                p["metadata"]["uid"].as_str().unwrap_or("")
            )
        })
        .collect();
    pods.sort();
    (generations, pods)
}

/// Objects helm left behind for `release`: everything in the namespace but the namespace's
/// own furniture, and cluster-scoped objects carrying the release's ownership annotation.
/// Allowed, as on any cluster: CRDs and `keep` objects (the chart keeps them on purpose),
/// hook objects no delete policy removed (helm never tracks hooks as release objects) and what
/// they own, the claims a StatefulSet made (Kubernetes retains them by default), and what a
/// hook job's program wrote (its own field manager, no release annotation).
fn leftovers(sim: &Sim, release: &str, ns: &str) -> Vec<String> {
    let store = sim.state.store.lock().expect("store");
    let mut hooks = Vec::new();
    for t in store.types().to_vec() {
        for o in store.iter_gr(&(t.group.clone(), t.plural.clone()), None) {
            if o["metadata"]["annotations"]["helm.sh/hook"].is_string() {
                hooks.push(o["metadata"]["uid"].clone());
            }
        }
    }
    let mut out = Vec::new();
    for t in store.types().to_vec() {
        let gr = (t.group.clone(), t.plural.clone());
        for o in store.iter_gr(&gr, None) {
            let meta = &o["metadata"];
            let name = meta["name"].as_str().unwrap_or("");
            let in_ns = meta["namespace"] == ns;
            let owned = meta["annotations"]["meta.helm.sh/release-name"] == release;
            let hook_made = meta["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| hooks.contains(&r["uid"]));
            let claim_of_a_set = t.kind == "PersistentVolumeClaim"
                && meta["annotations"]["meta.helm.sh/release-name"].is_null();
            // Written by a program in the cluster (a hook job's), never by helm: helm cannot
            // know of it, on any cluster.
            let made_by_a_program = meta["annotations"]["meta.helm.sh/release-name"].is_null()
                && meta["managedFields"].as_array().is_some_and(|m| {
                    !m.is_empty()
                        && m.iter()
                            .all(|f| !f["manager"].as_str().unwrap_or("helm").starts_with("helm"))
                });
            let kept = meta["annotations"]["helm.sh/resource-policy"] == "keep"
                || t.kind == "CustomResourceDefinition"
                || hooks.contains(&meta["uid"])
                || hook_made
                || claim_of_a_set
                || made_by_a_program;
            let furniture = (t.kind == "ServiceAccount" && name == "default")
                || (t.kind == "ConfigMap" && name == "kube-root-ca.crt")
                || t.kind == "Event";
            if (in_ns || owned) && !kept && !furniture {
                out.push(format!("{}/{}", t.kind, name));
            }
        }
    }
    out
}

fn helm_ok(sim: &Sim, major: u8, args: &[&str]) {
    let o = sim.cmd(&helm(major)).args(args).output().expect("run helm");
    assert!(
        o.status.success(),
        "helm{major} {}:\n{}",
        args.join(" "),
        common::text(&o)
    );
}

/// The whole lifecycle of one corpus chart with one helm.
fn lifecycle(name: &str, major: u8) {
    let Some(dir) = corpus_dir() else { return };
    let c = entry(&dir, name);
    let chart = dir.join(c["chart_file"].as_str().expect("chart_file"));
    let values = dir.join(c["values_file"].as_str().expect("values_file"));
    let (chart, values) = (chart.to_str().unwrap(), values.to_str().unwrap());
    let sim = Sim::start(SimOptions::default());
    // Named as corpus.json's renders name it, so its object names apply as they are.
    let (release, ns) = ("x", "corpus");
    let wait = ["--wait", "--timeout", "180s"];
    let install = [
        &[
            "install",
            release,
            chart,
            "-n",
            ns,
            "--create-namespace",
            "-f",
            values,
        ][..],
        &wait,
    ]
    .concat();
    helm_ok(&sim, major, &install);
    // Workloads whose manifest differs between two renders (random passwords and checksums
    // of them, per corpus.json) may roll on an upgrade on any cluster: left out.
    let random: Vec<String> = c["nondeterministic_objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str()?.split_once('/'))
        .filter(|(kind, _)| ["Deployment", "StatefulSet", "DaemonSet"].contains(kind))
        .map(|(kind, n)| format!("{}s/{n}", kind.to_ascii_lowercase()))
        .collect();
    let steady = |(mut generations, pods): (BTreeMap<String, Value>, Vec<String>)| {
        generations.retain(|k, _| !random.contains(k));
        let pods: Vec<String> = pods
            .into_iter()
            .filter(|p| {
                !random
                    .iter()
                    .any(|w| p.starts_with(&format!("{}-", w.split_once('/').map_or("", |x| x.1))))
            })
            .collect();
        (generations, pods)
    };
    let before = steady(workload_state(&sim, ns));

    let same = [
        &["upgrade", release, chart, "-n", ns, "-f", values][..],
        &wait,
    ]
    .concat();
    helm_ok(&sim, major, &same);
    let after = steady(workload_state(&sim, ns));
    assert_eq!(
        before.0, after.0,
        "{name}: an identical upgrade moved a generation"
    );
    assert_eq!(
        before.1, after.1,
        "{name}: an identical upgrade replaced a pod"
    );

    let changed = [
        &["upgrade", release, chart, "-n", ns, "-f", values][..],
        &["--set", changed_value(name)],
        &wait,
    ]
    .concat();
    helm_ok(&sim, major, &changed);
    helm_ok(
        &sim,
        major,
        &[&["rollback", release, "1", "-n", ns][..], &wait].concat(),
    );
    let revisions = common::release_secrets(&sim, ns).len();
    assert_eq!(revisions, 4, "{name}: install, two upgrades and a rollback");

    helm_ok(&sim, major, &["uninstall", release, "-n", ns, "--wait"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = leftovers(&sim, release, ns);
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: left after uninstall: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A value each chart reads that changes its pods' template (a label or an annotation), so
/// the second upgrade rolls its workloads.
fn changed_value(chart: &str) -> &'static str {
    match chart {
        "ingress-nginx" | "jenkins" => "controller.podAnnotations.corpus=changed",
        "cert-manager" => "podLabels.corpus=changed",
        "prometheus" => "server.podAnnotations.corpus=changed",
        "kube-prometheus-stack" | "loki" => "commonLabels.corpus=changed",
        "grafana" => "extraLabels.corpus=changed",
        "argo-cd" => "global.podAnnotations.corpus=changed",
        "redis" => "master.podAnnotations.corpus=changed",
        "postgresql" => "primary.podAnnotations.corpus=changed",
        _ => "podAnnotations.corpus=changed",
    }
}

macro_rules! corpus_tests {
    ($($test:ident: $chart:literal with $($major:literal),+;)*) => {$(
        #[test]
        fn $test() {
            $(lifecycle($chart, $major);)+
        }
    )*};
}

corpus_tests! {
    ingress_nginx: "ingress-nginx" with 4;
    cert_manager: "cert-manager" with 4, 3;
    prometheus: "prometheus" with 4;
    kube_prometheus_stack: "kube-prometheus-stack" with 4;
    grafana: "grafana" with 4, 3;
    metrics_server: "metrics-server" with 4, 3;
    external_dns: "external-dns" with 4;
    argo_cd: "argo-cd" with 4;
    sealed_secrets: "sealed-secrets" with 4;
    loki: "loki" with 4;
    redis: "redis" with 4, 3;
    postgresql: "postgresql" with 4;
    jenkins: "jenkins" with 4;
    descheduler: "descheduler" with 4;
}
