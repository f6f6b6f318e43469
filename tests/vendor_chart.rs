//! The vendor's real chart (PostHog 30.46.0, from `../shared/charts/posthog`) installs with
//! each of its own CI values files on the matching simulated provider, with helm 4 `--wait`.

mod common;

use common::{Sim, helm};
use helmdeck_sim::{Flavor, SimOptions};

fn install(values: &str, flavor: Flavor) {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor,
        ..Default::default()
    });
    let chart = dir.join("posthog-30.46.0.tgz");
    let values = dir.join("ci-values").join(values);
    let o = sim
        .cmd(&helm(4))
        .args(["install", "posthog"])
        .arg(&chart)
        .args(["-n", "posthog", "--create-namespace", "-f"])
        .arg(&values)
        .args(["--wait", "--timeout", "300s"])
        .output()
        .expect("run helm");
    assert!(
        o.status.success(),
        "{} on {flavor:?}:\n{}",
        values.display(),
        common::text(&o)
    );
    let deployments = sim.objects("apps", "deployments", Some("posthog"));
    let web = deployments
        .iter()
        .find(|d| d["metadata"]["name"] == "posthog-web")
        .expect("the web deployment");
    assert!(
        web["status"]["availableReplicas"].as_i64().unwrap_or(0) >= 1,
        "{web}"
    );
    assert!(
        deployments
            .iter()
            .all(|d| d["status"]["availableReplicas"] == d["spec"]["replicas"]),
        "every deployment available"
    );
}

#[test]
fn aws_values_on_eks() {
    install("amazon_web_services.yaml", Flavor::Eks);
}

#[test]
fn gcp_values_on_gke() {
    install("google_cloud_platform.yaml", Flavor::Gke);
}

#[test]
fn digital_ocean_values_on_doks() {
    install("digital_ocean.yaml", Flavor::Doks);
}

#[test]
fn k3s_values_on_k3s() {
    for values in [
        "k3s.yaml",
        "k3s-plugin-server-split.yaml",
        "k3s-plugin-server-ingestion-async-split.yaml",
    ] {
        install(values, Flavor::K3s);
    }
}
