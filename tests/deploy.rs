//! `helmdeck install / upgrade / plan / status / history / rollback` through the real binary,
//! with the real Helm 4 and Helm 3, against the simulated cluster.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Sim, helm, text, write};
use helmdeck_sim::{Flavor, Scenario, SimOptions};
use serde_json::Value;

fn helmdeck(sim: &Sim, helm_bin: &Path, args: &[&str]) -> Output {
    common::helmdeck_on(sim, helm_bin, args)
}

fn audit(sim: &Sim) -> Vec<Value> {
    let p = sim.home.path().join("helmdeck-data/audit.jsonl");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn release_secrets(sim: &Sim, ns: &str) -> usize {
    common::release_secrets(sim, ns).len()
}

#[test]
fn fresh_install_with_every_profile_the_simulated_cluster_meets() {
    for (profile, major) in [
        ("local", 4),
        ("aws", 4),
        ("gcp", 4),
        ("azure", 4),
        ("digitalocean", 4),
        ("local", 3),
    ] {
        // Each cloud's profile on a cluster of that cloud: its load balancer is the one that
        // sends (or not) the PROXY header the profile's nginx is told to expect.
        let flavor = match profile {
            "aws" => Flavor::Eks,
            "gcp" => Flavor::Gke,
            "azure" => Flavor::Aks,
            "digitalocean" => Flavor::Doks,
            _ => Flavor::Plain,
        };
        let sim = Sim::start(SimOptions {
            flavor,
            ..SimOptions::default()
        });
        let o = helmdeck(
            &sim,
            &helm(major),
            &[
                "install",
                "--profile",
                profile,
                "--yes",
                "--set",
                "ingress.hostname=ph.example.com",
                "--timeout",
                "120",
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{profile} with helm {major}:\n{}",
            text(&o)
        );
        assert!(text(&o).contains("done: revision 1 deployed"));
        assert!(
            text(&o).contains("✓ Verify") && text(&o).contains("check(s) passed"),
            "the release was verified: {}",
            text(&o)
        );
        // The stack's four, and the profiles' own ingress-nginx where they turn it on.
        let deploys = sim.objects("apps", "deployments", Some("posthog"));
        let nginx = usize::from(matches!(profile, "aws" | "azure" | "digitalocean"));
        assert_eq!(deploys.len(), 4 + nginx, "{profile}");
        assert!(
            deploys
                .iter()
                .all(|d| d["status"]["availableReplicas"] == 1),
            "{profile}"
        );
        let records = audit(&sim);
        assert!(
            records
                .iter()
                .any(|r| r["phase"] == "outcome" && r["outcome"]["outcome"] == "applied"),
            "{records:?}"
        );
    }
}

#[test]
fn preflight_refuses_small_nodes_unencrypted_storage_and_unsupported_kubernetes() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![Scenario::SmallNodes],
        ..Default::default()
    });
    let o = helmdeck(&sim, &helm(4), &["install", "--profile", "local", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("[FAIL] capacity"), "{}", text(&o));
    assert_eq!(
        release_secrets(&sim, "posthog"),
        0,
        "nothing may be applied"
    );
    assert!(audit(&sim).iter().any(|r| r["phase"] == "refused"));

    let sim = Sim::start(SimOptions {
        scenarios: vec![Scenario::UnencryptedStorage],
        ..Default::default()
    });
    let o = helmdeck(
        &sim,
        &helm(4),
        &[
            "install",
            "--profile",
            "aws",
            "--yes",
            "--set",
            "clickhouse.persistence.storageClass=gp2",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("[FAIL] disk-encryption"), "{}", text(&o));
    assert_eq!(release_secrets(&sim, "posthog"), 0);

    let sim = Sim::start(SimOptions::default());
    let p = include_str!("../profiles/local.yaml").replace(">=1.23.0 <1.36.0", ">=1.34.0 <1.36.0");
    write(
        &sim.home.path().join("helmdeck-config/profiles/local.yaml"),
        &p,
    );
    let o = helmdeck(&sim, &helm(4), &["install", "--profile", "local", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("[FAIL] kubernetes-version"),
        "{}",
        text(&o)
    );
    assert_eq!(release_secrets(&sim, "posthog"), 0);
}

#[test]
fn upgrade_shows_the_diff_applies_and_refuses_pvc_resizes() {
    let sim = Sim::start(SimOptions::default());
    let h = helm(4);
    assert_eq!(
        helmdeck(&sim, &h, &["install", "--profile", "local", "--yes"])
            .status
            .code(),
        Some(0)
    );
    let o = helmdeck(
        &sim,
        &h,
        &[
            "upgrade",
            "--profile",
            "local",
            "--yes",
            "--set",
            "image.tag=1.44.0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("+ image.tag: \"1.44.0\""), "{}", text(&o));
    // The manifest diff, per kind: the Deployments change, nothing is removed.
    assert!(
        text(&o).contains("manifest (live release → upgrade):")
            && text(&o).contains("    Deployment: +0 ~4 -0 (~posthog-events, ~posthog-plugins, ~posthog-web, ~posthog-worker)"),
        "{}",
        text(&o)
    );
    let hist = helmdeck(&sim, &h, &["history", "-o", "json"]);
    let hist: Value = serde_json::from_slice(&hist.stdout).unwrap();
    assert_eq!(hist.as_array().map(Vec::len), Some(2));
    // The user values carried over: the profile's values and the new tag.
    let o = helmdeck(
        &sim,
        &h,
        &[
            "plan",
            "--profile",
            "local",
            "--set",
            "kafka.persistence.size=50Gi",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("[FAIL] immutable-fields: StatefulSet posthog-kafka"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--cascade=orphan"));
    let o = helmdeck(
        &sim,
        &h,
        &[
            "upgrade",
            "--profile",
            "local",
            "--yes",
            "--set",
            "kafka.persistence.size=50Gi",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let hist: Value =
        serde_json::from_slice(&helmdeck(&sim, &h, &["history", "-o", "json"]).stdout).unwrap();
    assert_eq!(
        hist.as_array().map(Vec::len),
        Some(2),
        "a refused upgrade applies nothing"
    );
    // Roll back to revision 1.
    let o = helmdeck(&sim, &h, &["rollback", "1", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let web = sim
        .objects("apps", "deployments", Some("posthog"))
        .into_iter()
        .find(|d| d["metadata"]["name"] == "posthog-web")
        .unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "posthog/posthog:1.43.0"
    );
}

#[test]
fn failing_migration_is_rolled_back_and_the_audit_says_so() {
    for major in [4, 3] {
        let sim = Sim::start(SimOptions {
            scenarios: vec![Scenario::FailingMigration],
            ..Default::default()
        });
        let o = helmdeck(
            &sim,
            &helm(major),
            &[
                "install",
                "--profile",
                "local",
                "--yes",
                "--set",
                "migrate.backoffLimit=0",
                "--timeout",
                "30",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "helm {major}: {}", text(&o));
        assert!(
            text(&o).contains("rolled back"),
            "helm {major}: {}",
            text(&o)
        );
        let rec = audit(&sim)
            .into_iter()
            .rfind(|r| r["phase"] == "outcome")
            .expect("outcome record");
        assert_eq!(rec["outcome"]["outcome"], "failed");
        assert_eq!(rec["outcome"]["rolled_back"], true);
        assert_eq!(
            release_secrets(&sim, "posthog"),
            0,
            "a failed first install is removed"
        );
    }
}

#[test]
fn passwords_never_reach_argv_audit_or_output() {
    let sim = Sim::start(SimOptions::default());
    // A helm wrapper that records its argv.
    let log = sim.home.path().join("argv.log");
    let wrapper = sim.home.path().join("helm-wrapper");
    write(
        &wrapper,
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"\n",
            log.display(),
            helm(4).display()
        ),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let secret = "Sup3r-s3cret-pw";
    let set = format!("postgresql.postgresqlPassword={secret}");
    let o = helmdeck(
        &sim,
        &wrapper,
        &["install", "--profile", "local", "--yes", "--set", &set],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o2 = helmdeck(
        &sim,
        &wrapper,
        &[
            "upgrade",
            "--profile",
            "local",
            "--yes",
            "--set",
            "image.tag=1.44.0",
            "-o",
            "json",
        ],
    );
    assert_eq!(o2.status.code(), Some(0), "{}", text(&o2));
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("upgrade --install"), "{argv}");
    assert!(!argv.contains(secret), "secret in helm's argv: {argv}");
    let audit_text =
        std::fs::read_to_string(sim.home.path().join("helmdeck-data/audit.jsonl")).unwrap();
    assert!(!audit_text.contains(secret), "secret in the audit log");
    assert!(
        !text(&o).contains(secret) && !text(&o2).contains(secret),
        "secret in output"
    );
    // The applied values are kept, privately.
    let applied: Vec<PathBuf> = common::files_under(&sim.home.path().join("helmdeck-data/applied"));
    assert!(!applied.is_empty());
    #[cfg(unix)]
    for f in &applied {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }
}

#[test]
fn stuck_release_is_reported_and_recovered_by_rollback() {
    // A crash-looping web never gets ready, so helm waits; killing it leaves pending-upgrade.
    let sim = Sim::start(SimOptions {
        scenarios: vec![Scenario::Crashloop("web".into())],
        ..Default::default()
    });
    let h = helm(4);
    // Without the migrate Job: its per-revision name makes helm's rollback of a half-applied
    // upgrade fail on any cluster (the old Job is not in the pending revision's manifest).
    let o = helmdeck(
        &sim,
        &h,
        &[
            "install",
            "--profile",
            "local",
            "--yes",
            "--set",
            "web.enabled=false,migrate.enabled=false",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let values = common::profile_values(sim.home.path(), "local");
    let mut child = sim
        .cmd(&h)
        .args([
            "upgrade",
            "posthog",
            common::root()
                .join("assets/charts/posthog-mini")
                .to_str()
                .unwrap(),
            "-n",
            "posthog",
            "-f",
            values.to_str().unwrap(),
            "--set",
            "migrate.enabled=false",
            "--wait",
            "--timeout",
            "300s",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::eventually(30, "the release to be pending-upgrade", || {
        sim.objects("", "secrets", Some("posthog"))
            .iter()
            .any(|s| s["metadata"]["labels"]["status"] == "pending-upgrade")
            .then_some(())
    });
    // Another operator (helm, outside helmdeck) is at work: an upgrade from here is "busy",
    // not advice to roll back their live operation.
    let o = helmdeck(
        &sim,
        &h,
        &[
            "upgrade",
            "--profile",
            "local",
            "--yes",
            "--set",
            "web.enabled=false",
        ],
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("another operation is in progress"),
        "{}",
        text(&o)
    );
    let _ = child.kill();
    let _ = child.wait();
    // Its helm is gone, but nothing here can know that of a helm another machine ran: status
    // says what it sees, and gives the way back only for once that helm is known gone.
    let o = helmdeck(&sim, &h, &["status"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("pending-upgrade for")
            && text(&o).contains("no helm started here runs it")
            && text(&o).contains(
                "only once that helm is known to be gone: `helmdeck rollback 1 --release posthog -n posthog`"
            ),
        "{}",
        text(&o)
    );
    let o = helmdeck(&sim, &h, &["rollback", "--yes", "--timeout", "60"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = helmdeck(&sim, &h, &["status", "-o", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["current"]["status"], "deployed");
}

#[test]
fn no_verify_skips_the_checks_after_helm() {
    let sim = Sim::start(SimOptions::default());
    let o = helmdeck(
        &sim,
        &helm(4),
        &[
            "install",
            "--profile",
            "local",
            "--yes",
            "--no-verify",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("- Verify --no-verify"), "{}", text(&o));
}

/// A cluster with capacity enough in total but little of it free (other workloads' requests):
/// preflight warns before the install, instead of helm waiting out its timeout on Pending
/// pods. A warning, not a refusal: an autoscaler would add nodes.
#[test]
fn a_full_cluster_is_warned_about_before_an_install_waits_on_pending_pods() {
    let sim = Sim::start(SimOptions::default());
    let plan = |sim: &Sim| helmdeck(sim, &helm(4), &["plan", "--profile", "local"]);
    let o = plan(&sim);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("[pass] room: the chart's pods request"),
        "{}",
        text(&o)
    );
    // Three pods of 3.5 CPU on the three 4-CPU nodes leave 1.5 CPU for the stand-in's 2.2.
    let hog = sim.home.path().join("hog.yaml");
    write(
        &hog,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hog, namespace: default}\n\
         spec:\n  replicas: 3\n  selector: {matchLabels: {app: hog}}\n  template:\n    \
         metadata: {labels: {app: hog}}\n    spec:\n      containers:\n      - name: hog\n        \
         image: busybox\n        resources: {requests: {cpu: 3500m, memory: 1Gi}}\n",
    );
    sim.run(&common::kubectl(), &["apply", "-f", hog.to_str().unwrap()]);
    common::eventually(60, "the hogs placed on nodes", || {
        let placed = sim
            .objects("", "pods", Some("default"))
            .iter()
            .filter(|p| p["spec"]["nodeName"].is_string())
            .count();
        (placed == 3).then_some(())
    });
    let o = plan(&sim);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "a warning does not block: {t}");
    assert!(
        t.contains("[WARN] room: the chart's pods request 2.20 CPU")
            && t.contains("the nodes have 1.50 CPU")
            && t.contains("some pods will stay Pending"),
        "{t}"
    );
}

/// A revision the release does not have (helm keeps a bounded history) is refused before helm
/// runs, with the revisions there are; nothing is rolled back.
#[test]
fn a_rollback_to_a_revision_the_release_does_not_have_names_the_ones_it_has() {
    let sim = Sim::start(SimOptions::default());
    let o = helmdeck(
        &sim,
        &helm(4),
        &["install", "--profile", "local", "--yes", "--no-verify"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = helmdeck(&sim, &helm(4), &["rollback", "7", "--yes"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("release posthog in posthog has no revision 7; it has 1"),
        "{t}"
    );
    assert!(!t.contains("Apply"), "nothing was started: {t}");
    assert_eq!(release_secrets(&sim, "posthog"), 1, "no new revision");
}

/// Two operators upgrade one release at once from two machines (two data directories: no
/// shared lock). One wins. The other applies nothing, exits 5 naming the winner's revision,
/// and never advises a rollback, which would undo the winner's change.
#[test]
fn two_upgrades_at_once_from_two_data_dirs_never_advise_undoing_the_winner() {
    let sim = Sim::start(SimOptions {
        // Every request a little slow, so the two runs overlap.
        scenarios: vec![Scenario::Latency(std::time::Duration::from_millis(20))],
        ..Default::default()
    });
    common::install_stand_in(&sim, "local", &[]);
    let start = |who: &str, replicas: &str| {
        sim.cmd(common::helmdeck_bin())
            .env("HELMDECK_HELM", helm(4))
            .env("HELMDECK_DATA_DIR", sim.home.path().join(who))
            .args([
                "upgrade",
                "--yes",
                "--profile",
                "local",
                "--set",
                &format!("web.replicacount={replicas}"),
                "--timeout",
                "300",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start helmdeck")
    };
    let (a, b) = (start("alice", "2"), start("bob", "3"));
    let runs = [
        a.wait_with_output().expect("alice"),
        b.wait_with_output().expect("bob"),
    ];
    let codes: Vec<_> = runs.iter().map(|o| o.status.code()).collect();
    eprintln!("exit codes: {codes:?}");
    for o in runs.iter().filter(|o| o.status.code() != Some(0)) {
        eprintln!("the loser said:\n{}", text(o));
    }
    assert!(
        codes.contains(&Some(0)),
        "{}\n---\n{}",
        text(&runs[0]),
        text(&runs[1])
    );
    for o in &runs {
        let said = text(o);
        match o.status.code() {
            Some(0) => {}
            Some(5) => {
                assert!(said.contains("revision 2"), "names the winner's: {said}");
                assert!(!said.contains("helmdeck rollback"), "{said}");
                assert!(!said.contains("left pending"), "{said}");
            }
            other => panic!("{other:?}: {said}"),
        }
    }
    // Whoever lost, the winner's revision stands: deployed, and never rolled back.
    let o = helmdeck(&sim, &helm(4), &["history", "-o", "json"]);
    let history: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    let history = history.as_array().expect("revisions");
    let last = history.last().expect("a revision");
    assert_eq!(last["status"], "deployed", "{history:?}");
    assert!(
        history.iter().all(|h| !h["description"]
            .as_str()
            .unwrap_or_default()
            .contains("Rollback")),
        "{history:?}"
    );
    // Both ran (serialised by chance) or one won: the history says which.
    let applied = codes.iter().filter(|c| **c == Some(0)).count();
    assert_eq!(history.len(), 1 + applied, "{history:?}");
}
