//! Growing the ClickHouse disk of an installed release: refused by an ordinary upgrade
//! (volumeClaimTemplates are immutable) with the way out, carried out by `--resize-disks`
//! (claims grown, StatefulSet recreated, upgrade verified); a shrink and a class that cannot
//! expand are refused with their fixes, and nothing is changed.

mod common;

use common::{Sim, helm, helmdeck_on, text};
use helmdeck_sim::{Flavor, SimOptions};

const CLAIM: &str = "data-posthog-clickhouse-0";

fn installed(flavor: Flavor, profile: &str) -> (Sim, String) {
    let sim = Sim::start(SimOptions {
        flavor,
        ..Default::default()
    });
    let answers = sim.home.path().join("answers.yaml");
    common::write(
        &answers,
        "ingress.hostname: posthog.example.com\nclickhouse.persistence.size: 20Gi\n",
    );
    let answers = answers.display().to_string();
    let o = helmdeck_on(
        &sim,
        &helm(4),
        &[
            "install",
            "--profile",
            profile,
            "--answers",
            &answers,
            "--yes",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (sim, answers)
}

fn claim_size(sim: &Sim) -> String {
    sim.objects("", "persistentvolumeclaims", Some("posthog"))
        .iter()
        .find(|c| c["metadata"]["name"] == CLAIM)
        .map(|c| {
            c["spec"]["resources"]["requests"]["storage"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .expect("the ClickHouse claim")
}

fn upgrade(sim: &Sim, profile: &str, answers: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "upgrade",
        "--profile",
        profile,
        "--answers",
        answers,
        "--yes",
        "--timeout",
        "120",
    ];
    args.extend(extra);
    helmdeck_on(sim, &helm(4), &args)
}

#[test]
fn a_clickhouse_disk_grows_through_the_guided_resize() {
    let (sim, answers) = installed(Flavor::Eks, "aws");
    let grow = ["--set", "clickhouse.persistence.size=30Gi"];

    let o = upgrade(&sim, "aws", &answers, &grow);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("--resize-disks"), "{}", text(&o));
    assert_eq!(
        claim_size(&sim),
        "20Gi",
        "a refused upgrade changes nothing"
    );

    let o = upgrade(
        &sim,
        "aws",
        &answers,
        &[&grow[..], &["--resize-disks"]].concat(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!("claim {CLAIM} asked to grow to 30Gi")),
        "{t}"
    );
    assert!(t.contains("deleted with --cascade=orphan"), "{t}");
    assert!(t.contains("✓ Verify"), "{t}");
    assert_eq!(claim_size(&sim), "30Gi");
    let sts = sim.objects("apps", "statefulsets", Some("posthog"));
    let ch = sts
        .iter()
        .find(|s| s["metadata"]["name"] == "posthog-clickhouse")
        .expect("recreated by the upgrade");
    assert_eq!(
        ch["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "30Gi"
    );
    let audit =
        std::fs::read_to_string(sim.home.path().join("helmdeck-data/audit.jsonl")).expect("audit");
    assert!(audit.contains("\"step\":\"patch-claim\""), "{audit}");
    assert!(audit.contains("\"step\":\"orphan-statefulset\""), "{audit}");

    // Shrinking is refused, naming the smallest size allowed.
    let o = upgrade(
        &sim,
        "aws",
        &answers,
        &[
            "--set",
            "clickhouse.persistence.size=10Gi",
            "--resize-disks",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(
        t.contains("volumes never shrink") && t.contains("30Gi or more"),
        "{t}"
    );
    assert_eq!(claim_size(&sim), "30Gi");
}

#[test]
fn a_class_without_expansion_is_refused_with_the_fix() {
    // k3s's local-path class does not allow expansion.
    let (sim, answers) = installed(Flavor::K3s, "local");
    let o = upgrade(
        &sim,
        "local",
        &answers,
        &[
            "--set",
            "clickhouse.persistence.size=30Gi",
            "--resize-disks",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(t.contains("does not allow volume expansion"), "{t}");
    assert!(t.contains("allowVolumeExpansion"), "{t}");
    assert_eq!(claim_size(&sim), "20Gi");
}
