//! `helmdeck check` through the real binary against the simulated cluster: each failure the
//! stack is known for gets the right verdict and message; the JSON follows its schema; the
//! watchers recover after an API restart.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{Sim, eventually, root, stderr, write};
use helmdeck_sim::{Scenario, SimOptions};
use serde_json::Value;

fn sim(scenarios: Vec<Scenario>) -> Sim {
    Sim::start(SimOptions {
        scenarios,
        ..Default::default()
    })
}

fn install(sim: &Sim, profile: &str, extra: &[&str]) {
    common::install_stand_in(sim, profile, extra);
}

fn check(sim: &Sim, args: &[&str]) -> (Output, Value) {
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_PROJECT_API_KEY", "phc_test")
        .env("HELMDECK_PERSONAL_API_KEY", "phx_test")
        .arg("check")
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("run helmdeck check");
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, v)
}

/// Polls `helmdeck check` until `pred` holds on its report.
fn check_until(
    sim: &Sim,
    args: &[&str],
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> (Output, Value) {
    eventually(60, what, || {
        let (o, v) = check(sim, args);
        pred(&v).then_some((o, v))
    })
}

fn pod_with_problem<'a>(v: &'a Value, reason: &str) -> Option<&'a Value> {
    v["pods"]["pods"]
        .as_array()?
        .iter()
        .find(|p| p["problem"]["reason"] == reason)
}

#[test]
fn crash_looping_pod_fails_with_its_reason_and_next_step() {
    let sim = sim(vec![Scenario::Crashloop("web".into())]);
    install(&sim, "local", &[]);
    let (o, v) = check_until(&sim, &["--pods"], "web crash-looping", |v| {
        pod_with_problem(v, "CrashLoopBackOff").is_some()
    });
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(v["verdict"], "fail");
    let web = v["pods"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "web")
        .unwrap();
    assert_eq!(web["state"], "unavailable");
    let f = &v["pods"]["findings"][0];
    assert_eq!(f["severity"], "critical");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("CrashLoopBackOff"),
        "{f}"
    );
    assert!(
        f["next_step"].as_str().unwrap().contains("--previous"),
        "{f}"
    );
}

#[test]
fn image_pull_error_names_the_image_fix() {
    let sim = sim(vec![Scenario::ImagePullError("events".into())]);
    install(&sim, "local", &[]);
    let (o, v) = check_until(&sim, &["--pods"], "events image pull error", |v| {
        pod_with_problem(v, "ImagePullBackOff").is_some()
            || pod_with_problem(v, "ErrImagePull").is_some()
    });
    assert_eq!(o.status.code(), Some(1));
    let f = v["pods"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"].as_str().unwrap().contains("events"))
        .unwrap();
    assert!(
        f["next_step"]
            .as_str()
            .unwrap()
            .contains("imagePullSecrets"),
        "{f}"
    );
}

#[test]
fn pod_pending_for_lack_of_room_says_unschedulable() {
    let sim = sim(vec![Scenario::SmallNodes]);
    install(&sim, "local", &[]);
    let (o, v) = check_until(&sim, &["--pods"], "an unschedulable pod", |v| {
        pod_with_problem(v, "Unschedulable").is_some()
    });
    assert_eq!(o.status.code(), Some(1));
    let p = pod_with_problem(&v, "Unschedulable").unwrap();
    assert_eq!(p["phase"], "Pending");
    assert!(
        p["problem"]["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient"),
        "{p}"
    );
}

fn disks(v: &Value) -> Vec<Value> {
    v["disks"].as_array().cloned().unwrap_or_default()
}

fn all_bound(v: &Value) -> bool {
    let d = disks(v);
    !d.is_empty() && d.iter().all(|r| r["phase"] == "Bound")
}

#[test]
fn unencrypted_ebs_volume_fails_under_the_aws_profile() {
    let sim = sim(vec![Scenario::UnencryptedStorage]);
    // The aws values without the profile's own class (helm alone does not apply it): every
    // claim lands on the cluster's default, unencrypted gp2.
    install(
        &sim,
        "aws",
        &[
            "--set",
            "clickhouse.persistence.storageClass=null,kafka.persistence.storageClass=null",
            "--set",
            "zookeeper.persistence.storageClass=null,postgresql.persistence.storageClass=null",
            "--set",
            "redis.master.persistence.storageClass=null",
        ],
    );
    let (o, v) = check_until(
        &sim,
        &["--disks", "--profile", "aws"],
        "bound volumes",
        all_bound,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for d in disks(&v) {
        assert_eq!(d["verdict"], "fail", "{d}");
        assert_eq!(d["encryption"], "unknown", "{d}");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .contains("without encrypted=\"true\""),
            "{d}"
        );
        assert!(d["fix"].as_str().unwrap().contains("encrypted"), "{d}");
        assert_eq!(d["evidence"].as_array().unwrap().len(), 3, "{d}");
    }
}

/// The stand-in chart's ClickHouse claim.
const RESTORED: &str = "data-posthog-clickhouse-0";

/// On the aws profile's encrypted class, a claim whose volume was restored (made outside the
/// class: no `pv.kubernetes.io/provisioned-by`) is "unknown", not "encrypted by the class
/// parameter"; its siblings, provisioned from the class, stay encrypted.
#[test]
fn a_restored_volume_is_not_vouched_for_by_its_class() {
    let sim = sim(vec![Scenario::RestoredVolume(RESTORED.into())]);
    install(&sim, "aws", &[]);
    let (o, v) = check_until(
        &sim,
        &["--disks", "--profile", "aws"],
        "bound volumes",
        all_bound,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rows = disks(&v);
    let restored = rows
        .iter()
        .find(|d| d["claim"] == RESTORED)
        .unwrap_or_else(|| panic!("{RESTORED} in {v}"));
    assert_eq!(restored["encryption"], "unknown", "{restored}");
    assert_eq!(restored["verdict"], "fail", "{restored}");
    assert!(
        restored["message"]
            .as_str()
            .unwrap()
            .contains("carries no pv.kubernetes.io/provisioned-by"),
        "{restored}"
    );
    // Only the cloud knows: the fix says where to ask about this very volume.
    let fix = restored["fix"].as_str().unwrap();
    assert!(
        fix.contains("aws ec2 describe-volumes --volume-ids ")
            && fix.contains("Volumes[].Encrypted"),
        "{restored}"
    );
    let others: Vec<&Value> = rows.iter().filter(|d| d["claim"] != RESTORED).collect();
    assert!(!others.is_empty());
    for d in others {
        assert_eq!(d["encryption"], "class-parameter", "{d}");
    }
}

#[test]
fn gcp_volume_is_encrypted_by_the_platform() {
    let sim = sim(vec![]);
    install(&sim, "gcp", &[]);
    // No --profile: the release's `cloud: gcp` picks it.
    let (o, v) = check_until(&sim, &["--disks"], "bound volumes", all_bound);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(v["profile"], "gcp");
    for d in disks(&v) {
        assert_eq!(
            (d["encryption"].as_str(), d["verdict"].as_str()),
            (Some("platform"), Some("pass")),
            "{d}"
        );
        assert_eq!(d["driver"], "pd.csi.storage.gke.io");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .contains("Google-managed keys"),
            "{d}"
        );
    }
}

#[test]
fn local_path_volume_is_not_encrypted_and_the_local_profile_accepts_it() {
    let sim = sim(vec![]);
    let manifest = sim.home.path().join("local-path.yaml");
    write(
        &manifest,
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local-path\nprovisioner: rancher.io/local-path\nreclaimPolicy: Delete\nvolumeBindingMode: Immediate\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: posthog\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data-posthog-clickhouse-0\n  namespace: posthog\nspec:\n  storageClassName: local-path\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n",
    );
    sim.run(
        &common::kubectl(),
        &["apply", "-f", manifest.to_str().unwrap()],
    );
    let (o, v) = check_until(
        &sim,
        &["--disks", "--profile", "local"],
        "a bound volume",
        all_bound,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = &disks(&v)[0];
    assert_eq!(d["encryption"], "not-encrypted");
    assert_eq!(d["verdict"], "pass");
    assert_eq!(d["driver"], "rancher.io/local-path");
    assert!(
        d["message"].as_str().unwrap().contains("does not require"),
        "{d}"
    );
    // The same volume under the aws profile fails.
    let (o, v) = check(&sim, &["--disks", "--profile", "aws"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(disks(&v)[0]["verdict"], "fail");
}

fn ready_install(sim: &Sim) {
    install(sim, "local", &[]);
    check_until(sim, &["--pods"], "every pod ready", |v| {
        v["pods"]["state"] == "ready"
    });
}

fn ingestion_check(v: &Value) -> Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ingestion")
        .cloned()
        .unwrap()
}

#[test]
fn ingestion_flowing_passes_with_latencies() {
    let sim = sim(vec![Scenario::IngestionDelay(Duration::from_millis(300))]);
    ready_install(&sim);
    let (o, v) = check(&sim, &["--ingestion"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rec = &v["ingestion"];
    assert_eq!(rec["capture"]["status"], 200);
    assert!(rec["visible_after_ms"].as_u64().unwrap() >= 300, "{rec}");
    assert!(rec["polls"].as_u64().unwrap() >= 2, "{rec}");
}

#[test]
fn ingestion_down_when_capture_answers_5xx() {
    let sim = sim(vec![Scenario::IngestionDown]);
    ready_install(&sim);
    let (o, v) = check(&sim, &["--ingestion"]);
    assert_eq!(o.status.code(), Some(1));
    let c = ingestion_check(&v);
    assert_eq!(c["verdict"], "fail");
    assert_eq!(
        c["message"],
        "ingestion down: capture answered 503: capture is unavailable"
    );
}

#[test]
fn ingestion_stalled_when_accepted_but_never_visible() {
    let sim = sim(vec![Scenario::IngestionStalled]);
    ready_install(&sim);
    let (o, v) = check(&sim, &["--ingestion", "--ingestion-timeout", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let c = ingestion_check(&v);
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("ingestion stalled: capture accepted"),
        "{c}"
    );
    assert_eq!(v["ingestion"]["capture"]["status"], 200);
}

#[test]
fn health_endpoint_answering_503_fails_and_names_the_check() {
    let sim = sim(vec![Scenario::Unhealthy]);
    ready_install(&sim);
    let (o, v) = check(&sim, &["--ingestion"]);
    assert_eq!(o.status.code(), Some(1));
    let bad: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "health-endpoint" && c["verdict"] == "fail")
        .collect();
    assert!(
        bad.iter().any(|c| c["message"]
            .as_str()
            .unwrap()
            .starts_with("/_readyz?role=web → 503 (failing: postgres)")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|c| c["message"].as_str().unwrap().starts_with("/_health → 503"))
    );
}

#[test]
fn json_report_follows_its_schema_and_text_report_reads_well() {
    let sim = sim(vec![]);
    ready_install(&sim);
    let (o, v) = check(&sim, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/check.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_PROJECT_API_KEY", "phc_test")
        .env("HELMDECK_PERSONAL_API_KEY", "phx_test")
        .args(["check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "PODS  ready",
        "DISKS",
        "INGESTION",
        "profile local (release posthog value cloud)",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
}

#[test]
fn unreachable_cluster_exits_4() {
    let tmp = tempfile::tempdir().unwrap();
    let kc = tmp.path().join("kubeconfig");
    write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n",
    );
    let o = common::isolated(common::helmdeck_bin(), tmp.path())
        .env("KUBECONFIG", &kc)
        .args(["check", "--pods"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("unreachable"), "{}", stderr(&o));
}

#[test]
fn watchers_report_reconnecting_then_recover_with_the_same_state() {
    let sim = sim(vec![]);
    install(&sim, "local", &[]);
    common::runtime().block_on(async {
        let client = common::kube_client(&sim).await;
        let watch = helmdeck::cluster::watch::ClusterWatch::start(
            &client,
            helmdeck::cluster::watch::Scope::everything(Some("posthog".into())),
        );
        assert!(watch.synced(Duration::from_secs(10)).await, "first list");
        let names = |w: &helmdeck::cluster::watch::ClusterWatch| {
            let mut n: Vec<String> = w
                .snapshot()
                .pvcs
                .iter()
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            n.sort();
            n
        };
        let before = names(&watch);
        assert!(!before.is_empty());
        let down = Duration::from_secs(2);
        sim.restart_api(down);
        let back = Instant::now() + down;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if matches!(
                watch.connection().0,
                helmdeck::cluster::watch::Connection::Reconnecting { .. }
            ) {
                break;
            }
            assert!(Instant::now() < deadline, "never reported reconnecting");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The last known state stays visible while reconnecting.
        assert_eq!(names(&watch), before);
        let deadline = back + Duration::from_secs(5);
        loop {
            if watch.connection().0 == helmdeck::cluster::watch::Connection::Live {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not live within 5 s of the server's return: {:?}",
                watch.connection()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(names(&watch), before);
    });
}

/// The pods a watch holds, by namespace and name.
fn pod_names(
    w: &helmdeck::cluster::watch::ClusterWatch,
) -> std::collections::BTreeSet<(String, String)> {
    w.snapshot()
        .pods
        .iter()
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_list_of_many_pages_lands_whole_and_each_change_after_it_follows() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, DeleteParams, ListParams, PostParams};
    // 1,234 pods: three pages of 500, each asked for while the one before is decoded.
    let sim = sim(vec![Scenario::Scale {
        namespaces: 3,
        pods: 1234,
    }]);
    common::runtime().block_on(async {
        let client = common::kube_client(&sim).await;
        let watch = helmdeck::cluster::watch::ClusterWatch::start(
            &client,
            helmdeck::cluster::watch::Scope::everything(None),
        );
        assert!(watch.synced(Duration::from_secs(60)).await, "first list");
        let pods: Api<Pod> = Api::all(client.clone());
        let direct: std::collections::BTreeSet<(String, String)> = pods
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|p| {
                (
                    p.metadata.namespace.clone().unwrap_or_default(),
                    p.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert!(direct.len() >= 1234, "{}", direct.len());
        assert_eq!(pod_names(&watch), direct);
        // After the list, the watch: a pod deleted goes, a pod created comes.
        let (ns, gone) = direct.iter().next().unwrap().clone();
        Api::<Pod>::namespaced(client.clone(), &ns)
            .delete(&gone, &DeleteParams::default().grace_period(0))
            .await
            .unwrap();
        let new: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "newcomer", "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
        }))
        .unwrap();
        Api::<Pod>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &new)
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = pod_names(&watch);
            if !now.contains(&(ns.clone(), gone.clone()))
                && now.contains(&(ns.clone(), "newcomer".to_string()))
            {
                assert_eq!(now.len(), direct.len());
                break;
            }
            assert!(Instant::now() < deadline, "the watch never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

fn endpoint_check<'a>(v: &'a Value, path: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "health-endpoint" && c["message"].as_str().unwrap().starts_with(path))
        .unwrap_or_else(|| panic!("no check of {path} in {v}"))
}

#[test]
fn a_fresh_installs_first_probe_waits_out_the_plugin_servers_buffer_and_passes() {
    // No delay knob: what holds the event is the plugin server's conversion buffer for a new
    // person (60 s by default; 3 s at the simulated cluster's time factor of 0.05).
    let sim = sim(vec![]);
    ready_install(&sim);
    let (o, v) = check(&sim, &["--ingestion"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{v}", stderr(&o));
    let first = v["ingestion"]["visible_after_ms"].as_u64().unwrap();
    assert!(first >= 3000, "the first event was not held: {first} ms");
    // The probe's person is known now: the next event is not held, so a short wait suffices.
    let (o, v) = check(&sim, &["--ingestion", "--ingestion-timeout", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{v}", stderr(&o));
    assert!(v["ingestion"]["visible_after_ms"].as_u64().unwrap() < 2000);
}

#[test]
fn a_crash_looping_plugin_server_fails_the_probe_through_the_proxy_and_a_public_url() {
    let sim = sim(vec![
        Scenario::Crashloop("plugins".into()),
        Scenario::IngressController,
    ]);
    // No hostname: the Ingress rule takes any host, so 127.0.0.1 reaches it.
    install(&sim, "local", &["--set", "ingress.hostname="]);
    let (_, pods) = check_until(&sim, &["--pods"], "web and events up, plugins down", |v| {
        let state = |name: &str| {
            v["pods"]["components"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["name"] == name))
                .map(|c| c["state"].clone())
        };
        state("web") == Some("ready".into())
            && state("events") == Some("ready".into())
            && pod_with_problem(v, "CrashLoopBackOff").is_some()
    });
    let plugins_pod = pod_with_problem(&pods, "CrashLoopBackOff").unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    // The timeout is longer than the conversion buffer: a stall is the plugin server's fault.
    let timeout = ["--ingestion", "--ingestion-timeout", "6"];

    // Through the API server: the plugin server's health fails, and nothing is ingested.
    let (o, v) = check(&sim, &timeout);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(endpoint_check(&v, "/_health")["verdict"], "fail", "{v}");
    let c = ingestion_check(&v);
    assert_eq!(c["verdict"], "fail");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("ingestion stalled"),
        "{c}"
    );

    // Through the public URL (the ingress controller, routing by the chart's Ingress): web
    // answers every health path there, so /_health is not judged on its answer; capture is
    // accepted, and the stall still fails the probe.
    let url = sim
        .ingress_url
        .clone()
        .expect("the ingress controller's address");
    let mut args = timeout.to_vec();
    args.extend(["--public-url", &url]);
    let (o, v) = check(&sim, &args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let health = endpoint_check(&v, "/_health");
    assert_ne!(health["verdict"], "pass", "{health}");
    assert_eq!(v["ingestion"]["capture"]["status"], 200, "{v}");
    let c = ingestion_check(&v);
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("ingestion stalled"),
        "{c}"
    );

    // The vendor's chart has no plugin-server Service: its pod proxy is refused as a real API
    // server's dial to a crashed container is.
    let raw = format!("/api/v1/namespaces/posthog/pods/{plugins_pod}:6738/proxy/_health");
    let o = sim
        .cmd(&common::kubectl())
        .args(["get", "--raw", &raw])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("connection refused"), "{}", stderr(&o));
}

fn disk<'a>(v: &'a Value, claim: &str) -> Option<&'a Value> {
    v["disks"]
        .as_array()?
        .iter()
        .find(|d| d["claim"].as_str().is_some_and(|c| c.ends_with(claim)))
}

#[test]
fn the_false_safe_disk_cases_on_the_simulated_cluster() {
    // The cluster's default class encrypts (gp3-encrypted): nothing below may borrow it.
    let sim = sim(vec![]);
    let k = common::kubectl();
    let apply = |name: &str, text: &str| {
        let f = sim.home.path().join(name);
        write(&f, text);
        sim.run(&k, &["apply", "-f", f.to_str().unwrap()]);
    };
    let claim = |name: &str, class: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: posthog}}\nspec:\n  storageClassName: \"{class}\"\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n"
        )
    };
    apply(
        "setup.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: posthog}}\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: kms-only}}\nprovisioner: ebs.csi.aws.com\nparameters: {{KmsKeyId: \"arn:aws:kms:us-east-1:111122223333:key/abc\"}}\nvolumeBindingMode: Immediate\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: upper}}\nprovisioner: ebs.csi.aws.com\nparameters: {{Encrypted: \"true\"}}\nvolumeBindingMode: Immediate\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: plain}}\nprovisioner: ebs.csi.aws.com\nvolumeBindingMode: Immediate\n---\n{}---\n{}---\n{}---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: no-class-pv}}\nspec:\n  storageClassName: \"\"\n  capacity: {{storage: 1Gi}}\n  accessModes: [ReadWriteOnce]\n  csi: {{driver: ebs.csi.aws.com, volumeHandle: vol-0123456789abcdef0}}\n  claimRef: {{namespace: posthog, name: no-class}}\n---\n{}",
            claim("kms", "kms-only"),
            claim("upper", "upper"),
            claim("recreated", "plain"),
            claim("no-class", "")
                .replace("  accessModes", "  volumeName: no-class-pv\n  accessModes"),
        ),
    );
    let bound = |v: &Value| {
        ["kms", "upper", "recreated", "no-class"]
            .iter()
            .all(|c| disk(v, c).is_some_and(|d| d["phase"] == "Bound"))
    };
    check_until(
        &sim,
        &["--disks", "--profile", "aws"],
        "four bound volumes",
        bound,
    );
    // The plain class deleted and re-created (a second later at least, so it is newer than
    // its volume) with encryption on: the old volume is no more encrypted for that.
    let plain = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: plain}\nprovisioner: ebs.csi.aws.com\nparameters: {encrypted: \"true\"}\nvolumeBindingMode: Immediate\n";
    let pv_created = sim
        .run(
            &k,
            &["get", "pv", "-o", "jsonpath={.items[?(@.spec.claimRef.name==\"recreated\")].metadata.creationTimestamp}"],
        )
        .trim()
        .to_string();
    common::eventually(30, "a class newer than the volume", || {
        sim.run(
            &k,
            &["delete", "storageclass", "plain", "--ignore-not-found"],
        );
        apply("plain.yaml", plain);
        let created = sim.run(
            &k,
            &[
                "get",
                "storageclass",
                "plain",
                "-o",
                "jsonpath={.metadata.creationTimestamp}",
            ],
        );
        (created.trim() > pv_created.as_str()).then_some(())
    });
    let (o, v) = check(&sim, &["--disks", "--profile", "aws"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let enc = |c: &str| {
        disk(&v, c)
            .map(|d| d["encryption"].clone())
            .unwrap_or_default()
    };
    // kmsKeyId alone encrypts with that key; parameter names are read without case.
    assert_eq!(enc("kms"), "customer-key", "{v}");
    assert_eq!(enc("upper"), "class-parameter", "{v}");
    // "" means no class: never judged by the (encrypting) default class.
    assert_eq!(enc("no-class"), "unknown", "{v}");
    assert_eq!(disk(&v, "no-class").unwrap()["verdict"], "fail", "{v}");
    // A class re-created after its volume is no evidence.
    assert_eq!(enc("recreated"), "unknown", "{v}");
    assert_eq!(disk(&v, "recreated").unwrap()["verdict"], "fail", "{v}");
}

/// One cluster state, three readers: `helmdeck check`, the engine's Verify step and the
/// dashboard give the same verdicts, check by check (the binary's own report agrees too).
#[test]
fn check_verify_and_the_dashboard_judge_one_cluster_state_alike() {
    use helmdeck::tui::app::Msg;
    let sim = sim(vec![Scenario::Crashloop("worker".into())]);
    install(&sim, "local", &[]);
    let (_, from_binary) = check_until(&sim, &["--pods", "--disks"], "worker crash-looping", |v| {
        pod_with_problem(v, "CrashLoopBackOff").is_some()
    });
    let target = helmdeck::cluster::Target {
        kubeconfig: Some(sim.kubeconfig.clone()),
        context: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let snap = rt.block_on(async {
        let client = target.client().await.expect("client");
        let watch = helmdeck::cluster::watch::ClusterWatch::start(
            &client,
            helmdeck::cluster::watch::Scope {
                namespace: Some("posthog".into()),
                pods: true,
                disks: true,
            },
        );
        assert!(
            watch.synced(Duration::from_secs(60)).await,
            "the watchers listed"
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let snap = watch.snapshot();
            let report =
                helmdeck::health::pods_report(&snap, Some("posthog"), std::time::SystemTime::now());
            if report
                .findings
                .iter()
                .any(|f| f.message.starts_with("CrashLoopBackOff"))
            {
                return snap;
            }
            assert!(Instant::now() < deadline, "the watchers saw the crash loop");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let now = std::time::SystemTime::now();
    let rule = helmdeck::profile::EncryptionRule::NotRequired;

    // check, as `helmdeck check --pods --disks` asks.
    let checked = helmdeck::health::Judgement::of(
        &snap,
        helmdeck::health::Asked {
            release: Some("posthog"),
            rule,
            pods: true,
            disks: true,
            now,
            volumes: None,
        },
        None,
    );
    // Verify.
    let verified = helmdeck::deploy::verify_checks(&snap, "posthog", rule, now);
    // The dashboard, fed the snapshot as its watchers feed it.
    let mut app = common::app_on_sim("local", "sim", now);
    app.update(Msg::Snapshot(
        Box::new(snap),
        helmdeck::cluster::watch::Connection::Live,
    ));
    let shown = app.session.judgement();

    assert_eq!(checked.checks, verified);
    assert_eq!(checked.checks, shown.checks);
    assert_eq!(checked.verdict(), helmdeck::verdict::Verdict::Fail);
    assert_eq!(
        app.session.pods.state,
        checked.pods.as_ref().expect("pods").state
    );
    assert_eq!(
        shown.verdict_of(&["disk", "disks"]),
        checked.verdict_of(&["disk", "disks"])
    );
    // The binary's report, read from its own watchers: the same checks with the same verdicts.
    // (It also measures the disks' usage from the kubelets, which a snapshot does not hold:
    // `a_filling_kafka_disk_…` tests those checks.)
    let pairs = |checks: Vec<(String, String)>| {
        let mut c = checks;
        c.sort();
        c
    };
    let binary = pairs(
        from_binary["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["id"] != "disk-usage")
            .map(|c| {
                (
                    c["id"].as_str().unwrap_or_default().to_string(),
                    c["verdict"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    );
    let ours = pairs(
        checked
            .checks
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    serde_json::to_value(c.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                )
            })
            .collect(),
    );
    assert_eq!(binary, ours);
}

/// The kafka claim's usage and the check on it, from one `check --disks` with its own cache
/// (no earlier samples, so no growth) or with the sim's.
fn kafka_usage(sim: &Sim, fresh: bool) -> (Output, Value, Value) {
    let cache = tempfile::tempdir().expect("cache");
    let mut c = sim.cmd(common::helmdeck_bin());
    if fresh {
        c.env("HELMDECK_CACHE_DIR", cache.path());
    }
    let o = c
        .args(["check", "--disks", "-o", "json"])
        .output()
        .expect("run helmdeck check");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    let usage = disk(&v, "kafka-0")
        .map(|d| d["usage"].clone())
        .unwrap_or(Value::Null);
    (o, v, usage)
}

/// `disk-filling:kafka:…` on an installed release: `check --disks` reads the claim's usage from
/// its node's kubelet and warns above 80 %, fails above 90 % with the next step for its class;
/// with an earlier run's samples it knows the growth and fails on the time to full; the full
/// broker crash-loops with Kafka's own error.
#[test]
fn a_filling_kafka_disk_warns_then_fails_and_its_broker_crash_loops_when_full() {
    // From 81 % at 50 MB a simulated minute (about 16 MB a real second at the default time
    // factor): about half a minute above 80 %, as long again to full.
    let sim = sim(vec!["disk-filling:kafka:50:81".parse().expect("scenario")]);
    install(&sim, "local", &[]);
    let every_claim_measured = |v: &Value| {
        v["disks"]
            .as_array()
            .is_some_and(|d| d.len() == 5 && d.iter().all(|d| d["usage"]["percent"].is_number()))
    };
    let (o, v, usage) = eventually(60, "the kafka claim measured above 80 %", || {
        let (o, v, u) = kafka_usage(&sim, true);
        (u["percent"].as_f64().is_some_and(|p| p > 80.0) && every_claim_measured(&v))
            .then_some((o, v, u))
    });
    let percent = usage["percent"].as_f64().unwrap();
    let row = disk(&v, "kafka-0").unwrap();
    let expands = row["expansion"] == true;
    if percent <= 90.0 {
        assert_eq!(usage["verdict"], "warn", "{usage}");
        assert!(
            usage["message"]
                .as_str()
                .unwrap()
                .ends_with(" %, above 80 %)"),
            "{usage}"
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "a warning exits 0: {}",
            stderr(&o)
        );
    }
    assert!(
        usage["growth_bytes_per_hour"].is_null(),
        "one sample: {usage}"
    );
    assert_eq!(usage["capacity_bytes"], 5u64 << 30);
    let fix = usage["fix"].as_str().unwrap();
    if expands {
        assert!(
            fix.contains(
                "helmdeck upgrade --release posthog -n posthog --set kafka.persistence.size="
            ) && fix.contains("--resize-disks"),
            "{fix}"
        );
    } else {
        assert!(fix.contains("does not allow expansion"), "{fix}");
    }
    assert!(fix.contains("kafka.logRetentionBytes"), "{fix}");
    // The other claims are measured and nowhere near full.
    for d in v["disks"].as_array().unwrap() {
        if !d["claim"].as_str().unwrap().ends_with("kafka-0") {
            assert_eq!(d["usage"]["verdict"], "pass", "{d}");
        }
    }
    let checks = v["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["id"] == "disk-usage" && c["fix"] == fix),
        "{checks:?}"
    );

    // Two runs keeping their samples: the second knows the growth and the time to full.
    kafka_usage(&sim, false);
    let (o, _, usage) = eventually(30, "a second sample later than the first", || {
        let (o, v, u) = kafka_usage(&sim, false);
        u["full_in_seconds"].is_u64().then_some((o, v, u))
    });
    assert_eq!(usage["verdict"], "fail", "{usage}");
    assert!(
        usage["full_in_seconds"].as_u64().unwrap() < 24 * 3600,
        "{usage}"
    );
    assert!(
        usage["growth_bytes_per_hour"].as_f64().unwrap() > 0.0,
        "{usage}"
    );
    assert!(
        usage["message"].as_str().unwrap().contains("full in "),
        "{usage}"
    );
    assert_eq!(o.status.code(), Some(1));

    // Above 90 % fails on the percentage alone.
    let usage = eventually(90, "the kafka claim above 90 %", || {
        let (_, _, u) = kafka_usage(&sim, true);
        u["percent"].as_f64().is_some_and(|p| p > 90.0).then_some(u)
    });
    assert_eq!(usage["verdict"], "fail", "{usage}");
    assert!(
        usage["message"]
            .as_str()
            .unwrap()
            .contains(" %, above 90 %)"),
        "{usage}"
    );

    // Full: the broker crash-loops, and its log says why.
    let (_, v) = check_until(&sim, &["--pods"], "kafka crash-looping", |v| {
        pod_with_problem(v, "CrashLoopBackOff")
            .is_some_and(|p| p["name"].as_str().is_some_and(|n| n.contains("kafka")))
    });
    let pod = pod_with_problem(&v, "CrashLoopBackOff").unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let logs = sim.run(
        &common::kubectl(),
        &["logs", "-n", "posthog", &pod, "--previous"],
    );
    assert!(
        logs.contains("java.io.IOException: No space left on device"),
        "{logs}"
    );
    let node = sim.run(
        &common::kubectl(),
        &[
            "get",
            "pod",
            "-n",
            "posthog",
            &pod,
            "-o",
            "jsonpath={.spec.nodeName}",
        ],
    );
    // kubectl reads the same summary through the node proxy.
    let raw = sim.run(
        &common::kubectl(),
        &[
            "get",
            "--raw",
            &format!("/api/v1/nodes/{node}/proxy/stats/summary"),
        ],
    );
    let summary: Value = serde_json::from_str(&raw).expect("json");
    let full = summary["pods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["volume"].as_array().into_iter().flatten())
        .find(|v| {
            v["pvcRef"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("kafka-0"))
        })
        .expect("the kafka claim in its node's summary");
    assert_eq!(full["availableBytes"], 0, "{full}");
}
