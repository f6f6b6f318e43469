//! The vendor's chart from a chart repository (`../shared/charts/posthog` indexed by
//! `helm repo index`, served on 127.0.0.1), installed with the aws profile and taken across
//! majors stop by stop: versions listed from the index, the path planned with the chart's
//! notes, each stop applied and verified, the profile's encrypted class applied first.

mod common;

use common::{Sim, helm, helmdeck_on, text};
use helmdeck_sim::{Flavor, SimOptions};

fn eks(version: &str) -> Sim {
    Sim::start(SimOptions {
        flavor: Flavor::Eks,
        kubernetes_version: version.parse().expect("a version"),
        ..Default::default()
    })
}

fn answers(sim: &Sim) -> String {
    let f = sim.home.path().join("answers.yaml");
    common::write(&f, "ingress.hostname: posthog.example.com\n");
    f.display().to_string()
}

fn history(sim: &Sim) -> Vec<serde_json::Value> {
    let out = sim.run(
        &helm(4),
        &["history", "posthog", "-n", "posthog", "-o", "json"],
    );
    serde_json::from_str(&out).expect("helm history json")
}

#[test]
fn chart_25_goes_to_30_46_stop_by_stop_on_kubernetes_1_24() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = eks("1.24");
    let answers = answers(&sim);
    let h4 = helm(4);
    let base = [
        "--profile",
        "aws",
        "--repo",
        url.as_str(),
        "--answers",
        answers.as_str(),
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(base);
        helmdeck_on(&sim, &h4, &args)
    };

    let o = run(&["install", "--version", "25.0.0", "--yes", "--timeout", "5m"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("✓ Verify"), "{t}");
    assert!(
        t.contains("applied StorageClass posthog-gp3-encrypted (server-side apply)"),
        "{t}"
    );
    assert!(t.contains("app pinned: image.tag release-1.37.1"), "{t}");

    // The versions, from the index, the current one marked, the ones the cluster cannot
    // run flagged.
    let o = helmdeck_on(&sim, &h4, &["versions", "--repo", &url]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("(release posthog runs 25.0.0)"), "{t}");
    let line = |v: &str| {
        t.lines()
            .find(|l| l.contains(&format!(" {v} ")))
            .unwrap_or_else(|| panic!("{v} in {t}"))
            .to_string()
    };
    assert!(line("25.0.0").starts_with("* 25.0.0") && line("25.0.0").contains("1.37.1"));
    assert!(line("20.0.0").contains("not for this cluster"), "{t}");
    assert!(!line("30.46.0").contains("not for this cluster"), "{t}");

    // A downgrade is refused before anything runs.
    let o = run(&["upgrade", "--version", "20.0.0", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("helmdeck rollback"), "{}", text(&o));

    // The plan: two stops, the real notes of every major crossed, nothing applied.
    let o = run(&["plan", "--version", "30.46.0"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("25.0.0 (app 1.37.1) → 30.46.0: 2 stop(s)"),
        "{t}"
    );
    assert!(t.contains("1. chart 29.0.11 (app 1.41.4"), "{t}");
    assert!(t.contains("2. chart 30.46.0 (app 1.43.0"), "{t}");
    assert!(t.contains("async migrations 0005 to 0007"), "{t}");
    for v in ["26.0.0", "27.0.0", "27.1.0", "28.0.0", "29.0.0", "30.0.0"] {
        assert!(t.contains(&format!("  {v}:")), "{v} in {t}");
    }
    assert_eq!(history(&sim).len(), 1, "a plan applies nothing");
    let o = run(&["plan", "--version", "30.46.0", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let stops: Vec<&str> = doc["path"]["stops"]
        .as_array()
        .expect("stops")
        .iter()
        .map(|s| s["version"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(stops, ["29.0.11", "30.46.0"]);

    // Without --version the way goes to the newest version the profile allows, and still
    // stop by stop: the engine plans the way, whichever front end asks.
    let o = run(&["plan"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("25.0.0 (app 1.37.1) → 30.46.0: 2 stop(s)"),
        "{t}"
    );
    assert!(t.contains("— stop 1 of 2 (chart 29.0.11) —"), "{t}");
    assert_eq!(history(&sim).len(), 1, "a plan applies nothing");

    // A stop is left out only by name and with a reason: the way then says so.
    let o = run(&["plan", "--skip-stop", "28.0.0", "--reason", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--skip-stop 28.0.0: not a stop on the way from 25.0.0 to 30.46.0 (the stops: 29.0.11, 30.46.0)"),
        "{}",
        text(&o)
    );
    let o = run(&["plan", "--skip-stop", "29.0.11"]);
    assert_eq!(o.status.code(), Some(2), "a reason is needed: {}", text(&o));
    let o = run(&[
        "plan",
        "--skip-stop",
        "29.0.11",
        "--reason",
        "0005 to 0007 ran by hand",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("→ 30.46.0: 1 stop(s)"), "{t}");
    assert!(
        t.contains("skipped at your request: chart 29.0.11 (0005 to 0007 ran by hand)"),
        "{t}"
    );
    assert!(
        t.contains("  29.0.0:"),
        "the skipped leg's notes are still shown: {t}"
    );
    assert_eq!(history(&sim).len(), 1, "a plan applies nothing");

    // The upgrade takes both stops, each verified, and leaves 29.0.11 only once async
    // migrations 0005 to 0007 have completed there (read with a staff user's personal key);
    // history shows each revision.
    let mut args = vec!["upgrade", "--yes", "--timeout", "5m"];
    args.extend(base);
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_HELM", &h4)
        .env("HELMDECK_PERSONAL_API_KEY", "phx_staff_key")
        .args(&args)
        .output()
        .expect("run helmdeck");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("✓ Migrations completed: 0005_person_replacing_by_version, 0006_persons_and_groups_on_events_backfill, 0007_persons_and_groups_on_events_backfill"),
        "{t}"
    );
    assert!(
        t.find("✓ Migrations") < t.find("— stop 2 of 2"),
        "the gate comes before stop 2: {t}"
    );
    assert!(
        t.contains("— stop 1 of 2 (chart 29.0.11) —")
            && t.contains("— stop 2 of 2 (chart 30.46.0) —"),
        "{t}"
    );
    assert_eq!(t.matches("✓ Verify").count(), 2, "{t}");
    let charts: Vec<String> = history(&sim)
        .iter()
        .map(|h| format!("{} {}", h["chart"].as_str().unwrap_or(""), h["status"]))
        .collect();
    assert_eq!(
        charts,
        [
            "posthog-25.0.0 \"superseded\"",
            "posthog-29.0.11 \"superseded\"",
            "posthog-30.46.0 \"deployed\""
        ]
    );
    // Each stop ran the app its chart declares: 30.46.0's `:latest` default never applied.
    assert_eq!(
        image_tags(&sim, 3),
        ["release-1.37.1", "release-1.41.4", "release-1.43.0"]
    );

    // Back across the major: planned as an upgrade is (both versions, the notes undone,
    // what does not roll back, the name asked for), followed, and verified.
    let o = helmdeck_on(
        &sim,
        &h4,
        &["rollback", "--release", "posthog", "-n", "posthog", "--yes"],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    for said in [
        "back from revision 3 (chart posthog-30.46.0, app 1.43.0) to revision 2 (chart posthog-29.0.11, app 1.41.4)",
        "undoes the chart's changes of 30.46.0, 30.0.0",
        "does not roll back: async migrations 0005, 0006, 0007 stay applied",
        "does not roll back: database schema changes (PostgreSQL, ClickHouse)",
        "type the release name (posthog) to go on",
        "✓ Verify",
        "done: rolled back (now revision 4)",
    ] {
        assert!(t.contains(said), "{said:?} in {t}");
    }
    assert_eq!(
        image_tags(&sim, 4)[3],
        "release-1.41.4",
        "revision 2's values came back"
    );
}

/// The `image.tag` helm recorded in the user values of revisions 1 to `n`.
fn image_tags(sim: &Sim, n: u64) -> Vec<String> {
    (1..=n)
        .map(|r| {
            let out = sim.run(
                &helm(4),
                &[
                    "get",
                    "values",
                    "posthog",
                    "-n",
                    "posthog",
                    "--revision",
                    &r.to_string(),
                    "-o",
                    "json",
                ],
            );
            let v: serde_json::Value = serde_json::from_str(&out).expect("values json");
            v["image"]["tag"].as_str().unwrap_or("(none)").to_string()
        })
        .collect()
}

/// A migration that errors at its stop ends the campaign there, by name: the stop stays
/// applied ("applied, not verified", exit 6) and the next is never planned.
#[test]
fn a_failing_async_migration_stops_the_upgrade_at_its_stop() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        kubernetes_version: "1.24".parse().expect("a version"),
        scenarios: vec!["async-migration-fails:0006".parse().expect("a scenario")],
        ..Default::default()
    });
    let answers = answers(&sim);
    let h4 = helm(4);
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        a.extend(["--profile", "aws", "--repo", &url, "--answers", &answers].map(String::from));
        a
    };
    let o = helmdeck_on(
        &sim,
        &h4,
        &args(&["install", "--version", "25.0.0", "--yes"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_HELM", &h4)
        .env("HELMDECK_PERSONAL_API_KEY", "phx_staff_key")
        .args(args(&["upgrade", "--yes", "--timeout", "5m"]))
        .output()
        .expect("run helmdeck");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(6), "{t}");
    assert!(
        t.contains("async migration 0006_persons_and_groups_on_events_backfill errored: the upgrade stops here"),
        "{t}"
    );
    assert!(!t.contains("— stop 2 of 2"), "{t}");
    let charts: Vec<String> = history(&sim)
        .iter()
        .map(|h| h["chart"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(charts, ["posthog-25.0.0", "posthog-29.0.11"]);
}

/// From chart 20.0.0 (app 1.35.0) on Kubernetes 1.23, the newest the 20.0.0 package accepts:
/// async migration 0004 is pinned to app 1.36.1, and the repository lacks 26.0.0 (the runbook's
/// stop), so the stop is 23.2.0, whose own app is 1.36.1; then 29.0.11 for 0005 to 0007.
#[test]
fn the_stop_for_migration_0004_runs_app_1_36_1() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = eks("1.23");
    let answers = answers(&sim);
    let h4 = helm(4);
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "--profile",
            "aws",
            "--repo",
            url.as_str(),
            "--answers",
            answers.as_str(),
        ]);
        helmdeck_on(&sim, &h4, &args)
    };
    let o = run(&["install", "--version", "20.0.0", "--yes", "--timeout", "5m"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["plan", "--version", "30.0.0", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let stops: Vec<(&str, &str)> = doc["path"]["stops"]
        .as_array()
        .expect("stops")
        .iter()
        .map(|s| {
            (
                s["version"].as_str().unwrap_or_default(),
                s["pin_app"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        stops,
        [("23.2.0", "1.36.1"), ("29.0.11", "1.41.4"), ("30.0.0", "-")],
        "{}",
        text(&o)
    );
    let o = run(&["upgrade", "--version", "30.0.0", "--yes", "--timeout", "5m"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains(
            "chart 26.0.0 is not in the repository; chart 23.2.0 runs app 1.36.1 by default"
        ),
        "{t}"
    );
    assert_eq!(
        image_tags(&sim, 4),
        [
            "release-1.35.0",
            "release-1.36.1",
            "release-1.41.4",
            "release-1.42.0"
        ]
    );
}

/// `install --profile aws --repo … --version 30.46.0`: the profile's encrypted, expandable
/// class is applied first (server-side, by helmdeck), every claim uses it, verify passes.
#[test]
fn the_aws_profile_installs_the_vendor_chart_on_its_own_encrypted_class() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = eks("1.33");
    let answers = answers(&sim);
    let o = helmdeck_on(
        &sim,
        &helm(4),
        &[
            "install",
            "--profile",
            "aws",
            "--repo",
            &url,
            "--version",
            "30.46.0",
            "--answers",
            &answers,
            "--yes",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("[pass] disk-encryption: StorageClass posthog-gp3-encrypted (used by")
            && t.contains("ClickHouseInstallation posthog) encrypts volumes"),
        "{t}"
    );
    assert!(!t.contains("which chart posthog does not have"), "{t}");
    let classes = sim.objects("storage.k8s.io", "storageclasses", None);
    let class = classes
        .iter()
        .find(|c| c["metadata"]["name"] == "posthog-gp3-encrypted")
        .expect("the profile's class");
    assert_eq!(class["parameters"]["encrypted"], "true");
    assert_eq!(class["metadata"]["managedFields"][0]["manager"], "helmdeck");
    let claims = sim.objects("", "persistentvolumeclaims", Some("posthog"));
    assert!(claims.len() >= 5, "{claims:?}");
    // ClickHouse, as the operator lays out the chart's ClickHouseInstallation: its disk exists,
    // on the profile's class, and verify judged it.
    let ch = "data-volumeclaim-template-chi-posthog-posthog-0-0-0";
    assert!(
        claims.iter().any(|c| c["metadata"]["name"] == ch),
        "{claims:?}"
    );
    assert!(t.contains(&format!("[pass] disk: {ch}: encrypted")), "{t}");
    let chi = sim.objects(
        "clickhouse.altinity.com",
        "clickhouseinstallations",
        Some("posthog"),
    );
    assert_eq!(chi[0]["status"]["status"], "Completed", "{chi:?}");
    assert!(
        claims
            .iter()
            .all(|c| c["spec"]["storageClassName"] == "posthog-gp3-encrypted"),
        "{claims:?}"
    );
    let audit = std::fs::read_to_string(sim.home.path().join("helmdeck-data/audit.jsonl"))
        .expect("audit log");
    assert!(
        audit.contains("create StorageClass posthog-gp3-encrypted"),
        "{audit}"
    );

    // The install pinned the app the chart declares: no pod runs `:latest`.
    assert_eq!(image_tags(&sim, 1), ["release-1.43.0"]);
    assert!(!t.contains("posthog/posthog:latest"), "{t}");
    // The operator's exporter does run a moving tag, as the chart ships it: said, not hidden.
    assert!(
        t.contains("[WARN] app-image: pods run unpinned images")
            && t.contains("altinity/metrics-exporter:latest (clickhouse-operator)"),
        "{t}"
    );

    // Upgraded by hand without the tag, the pods run `:latest`: `check` and `plan` say so,
    // and the plan pins it back.
    let pkg = charts.join("posthog-30.46.0.tgz");
    sim.run(
        &helm(4),
        &[
            "upgrade",
            "posthog",
            &pkg.display().to_string(),
            "-n",
            "posthog",
            "--reuse-values",
            "--set",
            "image.tag=",
        ],
    );
    let o = helmdeck_on(
        &sim,
        &helm(4),
        &["check", "--pods", "-n", "posthog", "--release", "posthog"],
    );
    let t = text(&o);
    assert!(
        t.contains("pods run unpinned images") && t.contains("posthog/posthog:latest ("),
        "{t}"
    );
    let o = helmdeck_on(
        &sim,
        &helm(4),
        &[
            "plan",
            "--profile",
            "aws",
            "--repo",
            &url,
            "--version",
            "30.46.0",
            "--answers",
            &answers,
        ],
    );
    let t = text(&o);
    assert!(t.contains("live: pods run unpinned images"), "{t}");
    assert!(
        t.contains("fix: this plan pins image.tag release-1.43.0 (app 1.43.0)"),
        "{t}"
    );
    assert!(t.contains("~ image.tag: \"\" → \"release-1.43.0\""), "{t}");
}

/// helm never upgrades CRDs: when the live ClickHouse CRDs differ from the chart's (left by an
/// older operator), the upgrade's plan says so and helmdeck server-side applies the chart's
/// before helm runs.
#[test]
fn an_upgrade_brings_the_live_crds_to_the_charts() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = eks("1.25");
    let answers = answers(&sim);
    let h4 = helm(4);
    let deploy = |verb: &str, version: &str| {
        helmdeck_on(
            &sim,
            &h4,
            &[
                verb,
                "--profile",
                "aws",
                "--repo",
                &url,
                "--version",
                version,
                "--answers",
                &answers,
                "--yes",
            ],
        )
    };
    let o = deploy("install", "29.0.11");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let crd = "clickhouseinstallations.clickhouse.altinity.com";
    sim.run(
        &common::kubectl(),
        &[
            "label",
            "crd",
            crd,
            "clickhouse.altinity.com/chop=0.16.1",
            "--overwrite",
        ],
    );
    let o = deploy("upgrade", "30.46.0");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!(
            "[pass] crds: CustomResourceDefinition {crd} from chart posthog 30.46.0: update"
        )),
        "{t}"
    );
    let live = sim
        .objects("apiextensions.k8s.io", "customresourcedefinitions", None)
        .into_iter()
        .find(|c| c["metadata"]["name"] == crd)
        .expect("the CRD");
    assert_eq!(
        live["metadata"]["labels"]["clickhouse.altinity.com/chop"],
        "0.18.4"
    );
    assert!(
        live["metadata"]["managedFields"]
            .as_array()
            .is_some_and(|m| m.iter().any(|f| f["manager"] == "helmdeck")),
        "{live}"
    );
}

/// Every rename in the vendor chart's upgrade notes, checked against the packaged charts on
/// each side of its version (`../shared/charts/posthog`): the old key is the chart's before
/// (in its values, or read by its templates) and the new key is the chart's from that version.
#[test]
fn every_rename_the_packages_span_is_the_charts_own() {
    use helmdeck::chart::Chart;
    use helmdeck::chart::constraint::Version;
    use helmdeck::values::unknown::{read_by_templates, template_refs};
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let mut packages: Vec<(Version, Chart)> = std::fs::read_dir(&dir)
        .expect("the packages")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .map(|p| {
            let c = Chart::load(&p).expect("a package loads");
            (Version::parse(&c.metadata.version).expect("a version"), c)
        })
        .collect();
    packages.sort_by(|a, b| a.0.cmp_versions(&b.0));
    let has = |c: &Chart, key: &str| {
        helmdeck::values::get_path(&c.values, key).is_some()
            || read_by_templates(&template_refs(c), key)
    };
    let book = helmdeck::chart::upgrade_notes::for_chart("posthog").expect("the notes");
    let (mut checked, mut wrong) = (0, Vec::new());
    for note in &book.notes {
        let v = Version::parse(&note.version).expect("a note's version");
        let before = packages
            .iter()
            .rev()
            .find(|(p, _)| p.cmp_versions(&v).is_lt());
        let after = packages.iter().find(|(p, _)| !p.cmp_versions(&v).is_lt());
        let (Some((bv, b)), Some((av, a))) = (before, after) else {
            continue;
        };
        for r in &note.renamed {
            checked += 1;
            if !has(b, &r.from) {
                wrong.push(format!(
                    "{}: {} is not a key of chart {bv:?}",
                    note.version, r.from
                ));
            }
            if !has(a, &r.to) {
                wrong.push(format!(
                    "{}: {} is not a key of chart {av:?}",
                    note.version, r.to
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        checked >= 10,
        "only {checked} renames spanned by the packages"
    );
}

/// The vendor's 30.46.0 package runs `posthog/posthog:latest` unless a tag or sha is set: the
/// preflight warns with the pin to set; 29.0.11 (`:release-1.41.4`) and a pinned 30.46.0 pass.
#[test]
fn an_unpinned_latest_app_image_is_called_out() {
    use helmdeck::chart::Chart;
    use helmdeck::health::preflight::app_image;
    let Some(dir) = common::shared_charts("posthog") else {
        return;
    };
    let chart = |v: &str| Chart::load(&dir.join(format!("posthog-{v}.tgz"))).expect("package");
    let latest = chart("30.46.0");
    let c = app_image(&latest, &latest.values).expect("a finding for :latest");
    assert_eq!(c.verdict, helmdeck::verdict::Verdict::Warn);
    assert!(
        c.message.contains("posthog/posthog:latest") && c.message.contains("app 1.43.0"),
        "{}",
        c.message
    );
    assert!(c.fix.contains("image.tag: release-1.43.0"), "{}", c.fix);
    let mut pinned = latest.values.clone();
    pinned["image"]["tag"] = serde_json::json!("release-1.43.0");
    assert!(app_image(&latest, &pinned).is_none());
    let older = chart("29.0.11");
    assert!(app_image(&older, &older.values).is_none());
}
