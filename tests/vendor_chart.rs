//! The vendor's real chart (PostHog 30.46.0, from `../shared/charts/posthog`) installs with
//! each of its own CI values files on the matching simulated provider, with helm 4 `--wait`;
//! an older release installs on the Kubernetes version it supports, and is refused on others.

mod common;

use common::{Sim, helm};
use helmdeck_sim::{Flavor, KubeVersion, SimOptions};

fn install(values: &str, flavor: Flavor) {
    install_on(values, flavor, "30.46.0", KubeVersion::default());
}

fn install_on(values: &str, flavor: Flavor, chart: &str, kubernetes_version: KubeVersion) {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor,
        kubernetes_version,
        ..Default::default()
    });
    let chart = dir.join(format!("posthog-{chart}.tgz"));
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

/// Chart 25.0.0 declares `kubeVersion: ">= 1.22-0 <= 1.24-0"` and writes policy/v1beta1
/// PodSecurityPolicies: it installs on 1.24, where that API is still served.
#[test]
fn chart_25_on_kubernetes_1_24_eks() {
    install_on(
        "amazon_web_services.yaml",
        Flavor::Eks,
        "25.0.0",
        "1.24".parse().expect("a version"),
    );
}

/// The same chart on 1.25: helm refuses it by its Kubernetes range, and the API it needs is
/// gone as on a real 1.25 server.
#[test]
fn chart_25_is_refused_on_kubernetes_1_25() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        kubernetes_version: "1.25".parse().expect("a version"),
        ..Default::default()
    });
    let o = sim
        .cmd(&helm(4))
        .args(["install", "posthog"])
        .arg(dir.join("posthog-25.0.0.tgz"))
        .args(["-n", "posthog", "--create-namespace"])
        .output()
        .expect("run helm");
    let text = common::text(&o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("incompatible with Kubernetes v1.25"),
        "{text}"
    );
    let psp =
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: x}\nspec: {}\n";
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("psp.yaml");
    common::write(&file, psp);
    let o = sim
        .cmd(&common::kubectl())
        .arg("apply")
        .arg("-f")
        .arg(&file)
        .output()
        .expect("run kubectl");
    let text = common::text(&o);
    assert!(!o.status.success(), "{text}");
    // kubectl's client-side validation asks the OpenAPI first, as against a real 1.25 server.
    assert!(
        text.contains("could not find the requested resource")
            || text.contains("no matches for kind"),
        "{text}"
    );
}

/// `helmdeck plan` from a release of chart 25.0.0 to chart 28.0.0 lists the chart's own notes
/// of every version crossed, oldest first, and says the vendor's support has ended.
#[test]
fn a_plan_across_chart_majors_shows_the_vendors_notes_of_each_version_crossed() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        kubernetes_version: "1.24".parse().expect("a version"),
        ..Default::default()
    });
    let o = sim
        .cmd(&helm(4))
        .args(["install", "posthog"])
        .arg(dir.join("posthog-25.0.0.tgz"))
        .args(["-n", "posthog", "--create-namespace", "-f"])
        .arg(dir.join("ci-values/amazon_web_services.yaml"))
        .output()
        .expect("run helm");
    assert!(o.status.success(), "{}", common::text(&o));
    let chart = dir.join("posthog-28.0.0.tgz");
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &[
            "plan",
            "--chart",
            chart.to_str().expect("utf-8"),
            "--profile",
            "local",
        ],
    );
    let text = common::text(&o);
    assert!(
        text.contains("upgrade notes, chart 25.0.0 → 28.0.0"),
        "{text}"
    );
    let at = |v: &str| {
        text.find(&format!("  {v}:"))
            .unwrap_or_else(|| panic!("{v} in {text}"))
    };
    assert!(
        at("26.0.0") < at("27.0.0") && at("27.0.0") < at("27.1.0") && at("27.1.0") < at("28.0.0")
    );
    assert!(
        !text.contains("  25.0.0:"),
        "the starting version's own note is not crossed"
    );
    assert!(text.contains("async migration 0006"), "{text}");
    assert!(
        text.contains("supported Kubernetes becomes 1.23 to 1.25"),
        "{text}"
    );
    assert!(
        text.contains("stopped supporting Kubernetes deployments in May 2023"),
        "{text}"
    );
}

/// The vendor's chart making its own class (`installCustomStorageClass`, an unencrypted gp2 on
/// aws that its components do not use) with the claims left on the cluster's default: preflight
/// judges the class the rendered claims really get and refuses; installed anyway, the Disks
/// check fails too.
#[test]
fn the_vendors_own_storage_class_on_aws_fails_preflight_and_the_disk_check() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        ..Default::default()
    });
    let own = sim.home.path().join("vendor-own-class.yaml");
    common::write(
        &own,
        "installCustomStorageClass: true\ningress: {hostname: posthog.example.com}\n\
         clickhouse: {persistence: {storageClass: null}}\nkafka: {persistence: {storageClass: null}}\n\
         zookeeper: {persistence: {storageClass: null}}\npostgresql: {persistence: {storageClass: null}}\n\
         redis: {master: {persistence: {storageClass: null}}}\n",
    );
    let chart = dir.join("posthog-30.46.0.tgz");
    let (chart, own) = (chart.to_str().expect("utf-8"), own.to_str().expect("utf-8"));
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &["plan", "--profile", "aws", "--chart", chart, "-f", own],
    );
    let t = common::text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(
        t.contains("[FAIL] disk-encryption: StorageClass gp2 (used by StatefulSet")
            && t.contains("ClickHouseInstallation posthog"),
        "{t}"
    );
    // Installed anyway, with helm: every claim on gp2 fails the aws rule.
    let values = common::profile_values(sim.home.path(), "aws");
    sim.run(
        &helm(4),
        &[
            "install",
            "posthog",
            chart,
            "-n",
            "posthog",
            "--create-namespace",
            "-f",
            values.to_str().expect("utf-8"),
            "-f",
            own,
        ],
    );
    let report = common::eventually(60, "bound claims judged", || {
        let o = sim
            .cmd(common::helmdeck_bin())
            .args(["check", "--disks", "--profile", "aws", "-o", "json"])
            .output()
            .expect("check");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        let disks = v["disks"].as_array()?.clone();
        (!disks.is_empty() && disks.iter().all(|d| d["phase"] == "Bound"))
            .then_some((o.status.code(), disks))
    });
    assert_eq!(report.0, Some(1));
    for d in &report.1 {
        assert_eq!(d["verdict"], "fail", "{d}");
        assert_eq!(d["storage_class"], "gp2", "{d}");
    }
}

/// `helmdeck VERB --profile aws --chart <the vendor's 30.46.0> --set ingress.hostname=… EXTRA…`
/// with helm 4: its exit code and output.
fn aws_with_vendor_chart(
    sim: &Sim,
    dir: &std::path::Path,
    verb: &[&str],
    extra: &[&str],
) -> (Option<i32>, String) {
    let chart = dir.join("posthog-30.46.0.tgz");
    let mut args = verb.to_vec();
    args.extend([
        "--profile",
        "aws",
        "--chart",
        chart.to_str().expect("utf-8"),
        "--set",
        "ingress.hostname=posthog.example.com",
    ]);
    args.extend(extra);
    let o = common::helmdeck_on(sim, &helm(4), &args);
    (o.status.code(), common::text(&o))
}

/// A cluster that already runs ingress-nginx (its IngressClass `nginx` owned by that release)
/// and the aws profile, whose values turn on the vendor chart's own ingress-nginx subchart:
/// helm would refuse the chart's IngressClass only after the profile's StorageClass was
/// applied. Preflight refuses first, naming the owner and the value that turns the subchart
/// off; nothing reaches the cluster. With it off, the chart's Ingress uses the cluster's class.
#[test]
fn an_ingress_class_another_release_owns_is_refused_by_preflight_with_the_switch_to_turn_off() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        scenarios: vec![helmdeck_sim::Scenario::IngressController],
        ..Default::default()
    });
    let (code, t) = aws_with_vendor_chart(&sim, &dir, &["install", "--yes"], &[]);
    assert_eq!(code, Some(3), "{t}");
    assert!(
        t.contains("[FAIL] ownership: IngressClass nginx already exists and belongs to Helm release ingress-nginx in ingress-nginx"),
        "{t}"
    );
    assert!(t.contains("set ingress.nginx.enabled=false"), "{t}");
    assert!(common::release_secrets(&sim, "posthog").is_empty());
    let classes = sim.objects("storage.k8s.io", "storageclasses", None);
    assert!(
        !classes
            .iter()
            .any(|c| c["metadata"]["name"] == "posthog-gp3-encrypted"),
        "the profile's class was applied although preflight failed"
    );
    let (code, t) = aws_with_vendor_chart(
        &sim,
        &dir,
        &["plan"],
        &["--set", "ingress.nginx.enabled=false"],
    );
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("[pass] ingress-controller: Ingress posthog uses IngressClass nginx, which the cluster has"),
        "{t}"
    );
    assert!(!t.contains("ownership"), "{t}");
}

/// On a cluster without any ingress controller the aws profile's values bring the chart's own
/// (the ingress-nginx subchart): no warning that the Ingress will get no address.
#[test]
fn the_charts_own_ingress_controller_counts_as_serving_its_ingress() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        ..Default::default()
    });
    let (code, t) = aws_with_vendor_chart(&sim, &dir, &["plan"], &[]);
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("[pass] ingress-controller: Ingress posthog uses IngressClass nginx, which the chart installs with its own controller"),
        "{t}"
    );
    assert!(!t.contains("[WARN] ingress-controller"), "{t}");
}

/// The vendor's ClickHouse runs as the operator's StatefulSet, its pods labelled by
/// installation only, and the operator's own pods carry `app` alone: both still count as the
/// release's. A crash-looping ClickHouse fails the pods check (it once read "ready", its pods
/// not counted), and the bitnami sub-charts' shared role words (`master`) do not merge
/// PostgreSQL and Redis into one component.
#[test]
fn a_crash_looping_clickhouse_fails_the_pods_check_and_each_component_is_its_own() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("clickhouse".into())],
        ..Default::default()
    });
    let chart = dir.join("posthog-30.46.0.tgz");
    let values = dir.join("ci-values").join("amazon_web_services.yaml");
    sim.run(
        &helm(4),
        &[
            "install",
            "posthog",
            chart.to_str().expect("utf-8"),
            "-n",
            "posthog",
            "--create-namespace",
            "-f",
            values.to_str().expect("utf-8"),
        ],
    );
    let (code, report) = common::eventually(120, "ClickHouse seen crash-looping", || {
        let o = sim
            .cmd(common::helmdeck_bin())
            .args(["check", "--pods", "--profile", "aws", "-o", "json"])
            .output()
            .expect("check");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        let ch = v["pods"]["components"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == "clickhouse")?
            .clone();
        (ch["state"] == "unavailable").then_some((o.status.code(), v))
    });
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["pods"]["state"], "unavailable", "{report:#}");
    let names: Vec<&str> = report["pods"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for want in [
        "clickhouse-operator",
        "postgresql",
        "redis",
        "web",
        "events",
        "plugins",
    ] {
        assert!(names.contains(&want), "no {want} in {names:?}");
    }
    assert!(!names.contains(&"master"), "{names:?}");
    assert!(
        report["pods"]["findings"][0]["subject"]
            .as_str()
            .is_some_and(|s| s.contains("chi-posthog-posthog-0-0-0")),
        "{report:#}"
    );
}

/// `helmdeck check --ingestion -o json` until its public-path check satisfies `pred`.
fn public_path_until(
    sim: &Sim,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let last = std::cell::RefCell::new(serde_json::Value::Null);
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        common::eventually(120, what, || {
            let o = sim
                .cmd(common::helmdeck_bin())
                .env("HELMDECK_PROJECT_API_KEY", "phc_test")
                .args([
                    "check",
                    "--ingestion",
                    "--ingestion-timeout",
                    "1",
                    "-o",
                    "json",
                ])
                .output()
                .expect("check");
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
            let c = v["checks"]
                .as_array()?
                .iter()
                .find(|c| c["id"] == "public-path")?
                .clone();
            *last.borrow_mut() = v.clone();
            pred(&c).then_some(c)
        })
    }));
    let c = match found {
        Ok(c) => c,
        Err(_) => panic!(
            "timed out waiting for {what}; last report: {}",
            last.borrow()
        ),
    };
    // The report, public path included, is what docs/check.schema.json says.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("docs/check.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let report = last.borrow();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // The probe reached web and events through their Services, found by selector.
    let via = report["ingestion"]["via"].as_str().unwrap_or_default();
    assert!(
        via.contains("services/posthog-web:8000") && via.contains("services/posthog-events:8000"),
        "{via}"
    );
    c
}

/// The public path as users' SDKs take it, with the vendor's chart 30.46.0: the digitalocean
/// profile on the doks flavour and the aws profile on eks reach web and events through the
/// cloud's load balancer and the chart's nginx; with either side's proxy-protocol setting
/// taken away the check fails, naming the side and the value to change.
#[test]
fn each_clouds_profile_passes_the_public_path_and_a_proxy_protocol_mismatch_is_named() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let chart = dir.join("posthog-30.46.0.tgz");
    let chart = chart.to_str().expect("utf-8");
    let annotation = |key: &str, v: &str| {
        format!(
            "ingress-nginx.controller.service.annotations.service\\.beta\\.kubernetes\\.io/{key}={v}"
        )
    };
    let cases = [
        (
            Flavor::Doks,
            "digitalocean",
            annotation("do-loadbalancer-enable-proxy-protocol", "false"),
            annotation("do-loadbalancer-enable-proxy-protocol", "true"),
            "do-loadbalancer-enable-proxy-protocol: \"true\"",
        ),
        (
            Flavor::Eks,
            "aws",
            annotation("aws-load-balancer-type", "nlb"),
            annotation("aws-load-balancer-type", ""),
            "in-tree NLB",
        ),
    ];
    for (flavor, profile, lb_off, lb_on, lb_fix) in cases {
        let sim = Sim::start(SimOptions {
            flavor,
            ..Default::default()
        });
        let o = common::helmdeck_on(
            &sim,
            &helm(4),
            &[
                "install",
                "--yes",
                "--profile",
                profile,
                "--chart",
                chart,
                "--set",
                "ingress.hostname=ph.example.com",
            ],
        );
        let t = common::text(&o);
        assert_eq!(o.status.code(), Some(0), "{profile}: {t}");
        // The install's Verify step took the public path too.
        assert!(
            t.contains("[pass] public-path: http://ph.example.com via"),
            "{profile}: {t}"
        );
        let c = public_path_until(&sim, "the public path answers", |c| c["verdict"] == "pass");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("http://ph.example.com via"),
            "{profile}: {c}"
        );
        if profile == "digitalocean" {
            // The hostname annotation followed the --set hostname.
            let svc = sim.objects("", "services", Some("posthog"));
            let lb = svc
                .iter()
                .find(|s| s["spec"]["type"] == "LoadBalancer")
                .expect("the controller's load balancer");
            assert_eq!(
                lb["metadata"]["annotations"]["service.beta.kubernetes.io/do-loadbalancer-hostname"],
                "ph.example.com"
            );
        }
        let upgrade = |sets: &[&str]| {
            let mut args = vec![
                "upgrade",
                "posthog",
                chart,
                "-n",
                "posthog",
                "--reuse-values",
            ];
            for s in sets {
                args.extend(["--set", s]);
            }
            sim.run(&helm(4), &args);
        };
        // The load balancer stops sending PROXY headers; nginx still expects them.
        upgrade(&[&lb_off]);
        let c = public_path_until(&sim, "nginx closes the connection", |c| {
            c["verdict"] == "fail"
        });
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("nginx expects a PROXY header"),
            "{profile}: {c}"
        );
        assert!(
            c["fix"].as_str().unwrap().contains(lb_fix),
            "{profile}: {c}"
        );
        // The load balancer sends them again; nginx is no longer told to expect them.
        upgrade(&[
            &lb_on,
            "ingress-nginx.controller.config.use-proxy-protocol=false",
        ]);
        let c = public_path_until(&sim, "nginx answers 400", |c| {
            c["message"]
                .as_str()
                .is_some_and(|m| m.contains("nginx does not expect"))
        });
        assert_eq!(c["verdict"], "fail", "{profile}: {c}");
        assert!(
            c["fix"]
                .as_str()
                .unwrap()
                .contains("ingress-nginx.controller.config.use-proxy-protocol: \"true\""),
            "{profile}: {c}"
        );
    }
}

/// On an EKS cluster that runs the AWS Load Balancer Controller (its Service webhook claims new
/// load balancer Services), the aws profile asks for the controller's internet-facing NLB with
/// proxy protocol v2, and the public path works; the profile's classic ELB settings installed
/// as they are would have made an internal NLB, which the check names.
#[test]
fn with_the_aws_load_balancer_controller_the_aws_profile_gets_its_internet_facing_nlb() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let chart = dir.join("posthog-30.46.0.tgz");
    let chart = chart.to_str().expect("utf-8");
    let start = || {
        Sim::start(SimOptions {
            flavor: Flavor::Eks,
            scenarios: vec![helmdeck_sim::Scenario::AwsLoadBalancerController],
            ..Default::default()
        })
    };
    let sim = start();
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &[
            "install",
            "--yes",
            "--profile",
            "aws",
            "--chart",
            chart,
            "--set",
            "ingress.hostname=ph.example.com",
        ],
    );
    let t = common::text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("the AWS Load Balancer Controller's webhook (mservice.elbv2.k8s.aws) claims new load balancer Services"),
        "{t}"
    );
    assert!(
        t.contains("[pass] proxy-protocol: the AWS Load Balancer Controller's NLB sends a PROXY header and nginx expects it"),
        "{t}"
    );
    assert!(
        t.contains("[pass] public-path: http://ph.example.com via k8s-"),
        "{t}"
    );
    let svc = sim.objects("", "services", Some("posthog"));
    let lb = svc
        .iter()
        .find(|s| s["spec"]["type"] == "LoadBalancer")
        .expect("the controller's load balancer");
    assert_eq!(
        lb["spec"]["loadBalancerClass"], "service.k8s.aws/nlb",
        "{lb}"
    );

    // The classic ELB settings as they are, with helm alone: the webhook makes an internal NLB.
    let sim = start();
    let values = common::profile_values(sim.home.path(), "aws");
    sim.run(
        &helm(4),
        &[
            "install",
            "posthog",
            chart,
            "-n",
            "posthog",
            "--create-namespace",
            "-f",
            values.to_str().expect("utf-8"),
            "--set",
            "ingress.hostname=ph.example.com",
        ],
    );
    let c = public_path_until(&sim, "the internal NLB named", |c| c["verdict"] == "fail");
    assert!(
        c["message"].as_str().unwrap().contains("internal")
            && c["fix"].as_str().unwrap().contains("internet-facing"),
        "{c}"
    );
}

/// The vendor's chart on the aws profile's encrypted class, with Kafka's claim bound to a
/// restored volume (no `pv.kubernetes.io/provisioned-by`): that disk is "unknown", with the AWS
/// command that says whether it is encrypted; every disk the class provisioned stays
/// "encrypted by the class parameter".
#[test]
fn a_restored_volume_under_the_vendor_chart_is_unknown_not_encrypted() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    const KAFKA: &str = "data-posthog-posthog-kafka-0";
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        scenarios: vec![helmdeck_sim::Scenario::RestoredVolume(KAFKA.into())],
        ..Default::default()
    });
    let (code, t) = aws_with_vendor_chart(&sim, &dir, &["install", "--yes", "--no-verify"], &[]);
    assert_eq!(code, Some(0), "{t}");
    let disks = common::eventually(120, "every claim bound and judged", || {
        let o = sim
            .cmd(common::helmdeck_bin())
            .args(["check", "--disks", "--profile", "aws", "-o", "json"])
            .output()
            .expect("check");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        let disks = v["disks"].as_array()?.clone();
        let bound = disks.len() >= 5 && disks.iter().all(|d| d["phase"] == "Bound");
        bound.then_some(disks)
    });
    let kafka = disks
        .iter()
        .find(|d| d["claim"] == KAFKA)
        .unwrap_or_else(|| panic!("{KAFKA} in {disks:?}"));
    assert_eq!(kafka["encryption"], "unknown", "{kafka}");
    assert_eq!(kafka["verdict"], "fail", "{kafka}");
    assert!(
        kafka["fix"]
            .as_str()
            .unwrap()
            .contains("aws ec2 describe-volumes"),
        "{kafka}"
    );
    for d in disks.iter().filter(|d| d["claim"] != KAFKA) {
        assert_eq!(d["encryption"], "class-parameter", "{d}");
    }
}

/// The ClickHouse objects the vendor's chart gets from the operator carry the labels Altinity's
/// operator puts on them, so a test or a `kubectl -l` that finds them by label finds them; the
/// chart's cluster service template makes the cluster's Service, with its type.
#[test]
fn clickhouse_objects_are_found_by_each_of_the_operators_labels() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::K3s,
        ..Default::default()
    });
    let o = sim
        .cmd(&helm(4))
        .args(["install", "posthog"])
        .arg(dir.join("posthog-30.46.0.tgz"))
        .args(["-n", "posthog", "--create-namespace", "-f"])
        .arg(dir.join("ci-values/k3s.yaml"))
        .args(["--set", "clickhouse.serviceType=NodePort"])
        .args(["--wait", "--timeout", "300s"])
        .output()
        .expect("run helm");
    assert!(o.status.success(), "{}", common::text(&o));
    let get = |what: &str, selector: &str| {
        sim.run(
            &common::kubectl(),
            &["get", what, "-n", "posthog", "-l", selector, "-o", "name"],
        )
    };
    let host = "clickhouse.altinity.com/namespace=posthog,clickhouse.altinity.com/app=chop,\
                clickhouse.altinity.com/chi=posthog,clickhouse.altinity.com/cluster=posthog,\
                clickhouse.altinity.com/shard=0,clickhouse.altinity.com/replica=0";
    assert_eq!(
        get("statefulsets", host).trim(),
        "statefulset.apps/chi-posthog-posthog-0-0"
    );
    assert_eq!(
        get("pods", &format!("{host},clickhouse.altinity.com/ready=yes")).trim(),
        "pod/chi-posthog-posthog-0-0-0"
    );
    assert_eq!(
        get("services", "clickhouse.altinity.com/Service=host").trim(),
        "service/chi-posthog-posthog-0-0"
    );
    // The chart's clusterServiceTemplate is named as the installation's own Service
    // (`clickhouse-<release>`); the operator the chart runs (0.19.0) reconciles the cluster's
    // after it, so the cluster's, with the chart's service type, is the one there.
    assert_eq!(
        get("services", "clickhouse.altinity.com/Service=cluster").trim(),
        "service/clickhouse-posthog"
    );
    assert_eq!(
        get("services", "clickhouse.altinity.com/Service=chi").trim(),
        ""
    );
    let svc = |name: &str, path: &str| {
        sim.run(
            &common::kubectl(),
            &[
                "get",
                "service",
                name,
                "-n",
                "posthog",
                "-o",
                &format!("jsonpath={{{path}}}"),
            ],
        )
    };
    assert_eq!(svc("clickhouse-posthog", ".spec.type"), "NodePort");
    assert_eq!(svc("chi-posthog-posthog-0-0", ".spec.clusterIP"), "None");
    // The installation says where it is.
    let status = |path: &str| {
        sim.run(
            &common::kubectl(),
            &[
                "get",
                "chi",
                "posthog",
                "-n",
                "posthog",
                "-o",
                &format!("jsonpath={{{path}}}"),
            ],
        )
    };
    assert_eq!(status(".status.status"), "Completed");
    assert_eq!(
        status(".status.endpoint"),
        "clickhouse-posthog.posthog.svc.cluster.local"
    );
    assert_eq!(
        status(".status.fqdns[0]"),
        "chi-posthog-posthog-0-0.posthog.svc.cluster.local"
    );
}

/// The Prometheus exporters the vendor's chart can turn on answer `/metrics` through the API
/// server's proxy with their backend's state, and turn to 0 when the backend has no ready pod;
/// Grafana answers its health endpoint; a pod whose program serves no HTTP (PostgreSQL itself)
/// answers as nothing listening does, not as PostHog. Installed with the exporters'
/// PodSecurityPolicies off: with them on, helm's install fails on Kubernetes 1.25 and later
/// (`the server could not find the requested resource`), on the simulated cluster as on a real
/// one.
#[test]
fn the_vendor_charts_exporters_answer_from_their_backends() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::K3s,
        ..Default::default()
    });
    let mut install = sim.cmd(&helm(4));
    install
        .args(["install", "posthog"])
        .arg(dir.join("posthog-30.46.0.tgz"))
        .args(["-n", "posthog", "--create-namespace", "-f"])
        .arg(dir.join("ci-values/k3s.yaml"));
    for exporter in [
        "prometheus-postgres-exporter",
        "prometheus-redis-exporter",
        "prometheus-kafka-exporter",
        "pgbouncer.exporter",
    ] {
        install.args(["--set", &format!("{exporter}.enabled=true")]);
        // Their subcharts render PodSecurityPolicies (policy/v1beta1), which Kubernetes
        // 1.25 removed: on a current cluster they must be turned off, here as on a real one.
        if exporter.starts_with("prometheus-") {
            install.args(["--set", &format!("{exporter}.rbac.pspEnabled=false")]);
        }
    }
    let o = install
        .args(["--wait", "--timeout", "300s"])
        .output()
        .expect("run helm");
    assert!(o.status.success(), "{}", common::text(&o));
    let k = common::kubectl();
    let raw = |what: &str, path: &str| {
        sim.cmd(&k)
            .args([
                "get",
                "--raw",
                &format!("/api/v1/namespaces/posthog/{what}/proxy{path}"),
            ])
            .output()
            .expect("run kubectl")
    };
    let metrics = |svc: &str| common::text(&raw(&format!("services/{svc}"), "/metrics"));
    let pg = "posthog-prometheus-postgres-exporter:http";
    let redis = "posthog-prometheus-redis-exporter:redis-exporter";
    assert!(metrics(pg).contains("\npg_up 1\n"), "{}", metrics(pg));
    assert!(
        metrics(redis).contains("\nredis_up 1\n"),
        "{}",
        metrics(redis)
    );
    let kafka = metrics("posthog-prometheus-kafka-exporter:exporter-port");
    assert!(kafka.contains("\nkafka_brokers 1\n"), "{kafka}");
    let pgbouncer = sim.run(
        &k,
        &[
            "get",
            "pods",
            "-n",
            "posthog",
            "-l",
            "role=pgbouncer",
            "-o",
            "name",
        ],
    );
    let pgbouncer = pgbouncer.lines().next().expect("a pgbouncer pod");
    let sidecar = common::text(&raw(
        &format!("pods/{}:9127", pgbouncer.trim_start_matches("pod/")),
        "/metrics",
    ));
    assert!(sidecar.contains("\npgbouncer_up 1\n"), "{sidecar}");
    let grafana = common::text(&raw("services/posthog-grafana:service", "/api/health"));
    assert!(grafana.contains("\"database\":\"ok\""), "{grafana}");
    let postgres = raw("services/posthog-posthog-postgresql:tcp-postgresql", "/");
    assert!(!postgres.status.success());
    assert!(
        common::stderr(&postgres).contains("ServiceUnavailable")
            && common::stderr(&postgres).contains("connection refused"),
        "{}",
        common::stderr(&postgres)
    );

    // Without a ready backend the gauges fall to 0.
    for sts in ["posthog-posthog-postgresql", "posthog-posthog-redis-master"] {
        sim.run(
            &k,
            &["scale", "statefulset", sts, "-n", "posthog", "--replicas=0"],
        );
    }
    common::eventually(60, "pg_up and redis_up at 0", || {
        (metrics(pg).contains("\npg_up 0\n") && metrics(redis).contains("\nredis_up 0\n"))
            .then_some(())
    });
}

/// Kafka's retention against its claim, judged by preflight on the vendor's chart and on the
/// bundled one: the vendor's defaults fit one topic on its 20Gi claim; a claim shrunk below
/// one topic's retention warns with both values and the fix, and nothing stops the plan.
#[test]
fn retention_larger_than_the_kafka_claim_is_caught_by_preflight_on_both_charts() {
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        ..Default::default()
    });
    if let Some(dir) = common::shared_charts("posthog") {
        let (code, t) = aws_with_vendor_chart(&sim, &dir, &["plan"], &[]);
        assert_eq!(code, Some(0), "{t}");
        assert!(
            t.contains("[pass] kafka-retention: one Kafka topic at its retention limit takes 75 % of kafka.persistence.size 20Gi"),
            "{t}"
        );
        let (code, t) = aws_with_vendor_chart(
            &sim,
            &dir,
            &["plan"],
            &["--set", "kafka.persistence.size=10Gi"],
        );
        assert_eq!(code, Some(0), "{t}");
        assert!(
            t.contains("[WARN] kafka-retention: one Kafka topic at its retention limit needs 15.0Gi (kafka.logRetentionBytes _15_000_000_000 per partition")
                && t.contains("more than the broker's claim kafka.persistence.size 10Gi"),
            "{t}"
        );
        assert!(
            t.contains(
                "lower kafka.logRetentionBytes to at most _9_663_676_416 or raise kafka.persistence.size to at least 15Gi"
            ),
            "{t}"
        );
    }
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &[
            "plan",
            "--profile",
            "local",
            "--set",
            "kafka.persistence.size=3Gi",
        ],
    );
    let t = common::text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("[WARN] kafka-retention: one Kafka topic at its retention limit needs 4.7Gi (kafka.logRetentionBytes _4_000_000_000 per partition")
            && t.contains("to at most _2_147_483_648 or raise kafka.persistence.size to at least 5Gi"),
        "{t}"
    );
}

/// The monitoring question answered yes on the aws profile: plan lists what it adds; the
/// install brings up the vendor chart's Prometheus, Grafana, Loki, promtail and the four
/// exporters, their claims on the profile's encrypted class, and Verify and `check` say each
/// part is ready; the Grafana command `check` prints opens Grafana through a port-forward.
/// With Grafana scaled to nothing, `check` fails monitoring naming it.
#[test]
fn monitoring_answered_yes_installs_the_vendor_charts_monitoring_which_check_shows_ready() {
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        ..Default::default()
    });
    let answers = sim.home.path().join("answers.yaml");
    common::write(
        &answers,
        "ingress.hostname: posthog.example.com\nprometheus.enabled: true\n",
    );
    let chart = dir.join("posthog-30.46.0.tgz");
    let run = |verb: &[&str]| {
        let mut args = verb.to_vec();
        args.extend([
            "--profile",
            "aws",
            "--chart",
            chart.to_str().expect("utf-8"),
            "--answers",
            answers.to_str().expect("utf-8"),
        ]);
        let o = common::helmdeck_on(&sim, &helm(4), &args);
        (o.status.code(), common::text(&o))
    };
    let (code, t) = run(&["plan"]);
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("[pass] monitoring: adds 12 workload(s): DaemonSet posthog-prometheus-node-exporter, DaemonSet posthog-promtail, Deployment posthog-grafana"),
        "{t}"
    );
    assert!(t.contains("(38Gi in all)"), "{t}");
    let (code, t) = run(&["install", "--yes"]);
    assert!(
        t.contains("[pass] monitoring: all ready: prometheus 1/1, grafana 1/1, loki 2/2, promtail 3/3, kafka-exporter 1/1, postgres-exporter 1/1, redis-exporter 1/1, statsd-exporter 1/1"),
        "{code:?} {t}"
    );
    for claim in [
        "posthog-prometheus-server",
        "data-posthog-loki-write-0",
        "export-0-posthog-minio-0",
    ] {
        assert!(
            t.contains(&format!(
                "[pass] disk: {claim}: encrypted by the class parameter"
            )),
            "{claim}: {t}"
        );
    }
    let check = || {
        let o = common::helmdeck_on(
            &sim,
            &helm(4),
            &["check", "-n", "posthog", "--pods", "--output", "json"],
        );
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", common::text(&o)));
        v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["id"] == "monitoring")
            .cloned()
            .unwrap_or_else(|| panic!("no monitoring check: {v}"))
    };
    let c = check();
    assert_eq!(c["verdict"], "pass", "{c}");
    let message = c["message"].as_str().expect("a message");
    let forward = message
        .split("Grafana: kubectl -n posthog port-forward ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no port-forward in {message}"));
    assert_eq!(forward, "svc/posthog-grafana 3000:80");
    // As printed, but on a free local port.
    let (mut pf, port) =
        common::port_forward(&sim, &["-n", "posthog", "svc/posthog-grafana", ":80"]);
    let health = common::http_get(port, "/api/health");
    let _ = pf.kill();
    let _ = pf.wait();
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"database\":\"ok\""),
        "{health}"
    );
    // The password is where the command says.
    let password = sim.run(
        &common::kubectl(),
        &[
            "-n",
            "posthog",
            "get",
            "secret",
            "posthog-grafana",
            "-o",
            "jsonpath={.data.admin-password}",
        ],
    );
    assert!(!password.trim().is_empty());

    sim.run(
        &common::kubectl(),
        &[
            "-n",
            "posthog",
            "scale",
            "deployment/posthog-grafana",
            "--replicas=0",
        ],
    );
    let c = common::eventually(60, "monitoring fails without Grafana", || {
        let c = check();
        (c["verdict"] == "fail").then_some(c)
    });
    assert!(
        c["message"].as_str().unwrap().contains("grafana 0/0"),
        "{c}"
    );
    assert!(
        c["fix"].as_str().unwrap().contains("grafana.enabled"),
        "{c}"
    );
}
