//! `helmdeck verify` as CI runs it: the real binary, the real helm, the vendor's chart from
//! `../shared/charts`, every profile.

mod common;

use std::path::Path;
use std::process::Output;

use common::helm;
use serde_json::Value;

/// `helmdeck verify -o json ARGS`; a short load (2 users for 2 s) unless ARGS give one.
fn verify(home: &Path, args: &[&str]) -> (Output, Value) {
    let mut c = helmdeck_sim::testkit::isolated(common::helmdeck_bin(), home);
    c.env("HELMDECK_HELM", helm(4))
        .args(["verify", "-o", "json"])
        .args(args);
    if !args.contains(&"--load") {
        c.args(["--load", "2x2"]);
    }
    let o = c.output().expect("run helmdeck verify");
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", common::text(&o)));
    (o, doc)
}

/// Every finding of every profile, as `(profile, id, verdict, object, field)`.
fn findings(doc: &Value) -> Vec<(String, String, String, String, String)> {
    doc["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |f| {
                    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (
                        r["profile"].as_str().unwrap_or_default().to_string(),
                        s("id"),
                        s("verdict"),
                        s("object"),
                        s("field"),
                    )
                })
        })
        .collect()
}

fn stage(doc: &Value, profile: &str, stage: &str) -> String {
    stage_field(doc, profile, stage, "verdict")
}

/// What a stage found, in words.
fn detail(doc: &Value, profile: &str, stage: &str) -> String {
    stage_field(doc, profile, stage, "detail")
}

fn stage_field(doc: &Value, profile: &str, stage: &str, field: &str) -> String {
    doc["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["profile"] == profile)
        .and_then(|r| r["stages"].as_array()?.iter().find(|s| s["stage"] == stage))
        .and_then(|s| s[field].as_str())
        .unwrap_or("missing")
        .to_string()
}

/// The vendor's chart 30.46.0 passes lint, render and policy for all five profiles once its
/// app image is pinned, and fails each, naming the image, while it is `:latest`; its known
/// gaps (no worker probes, no requests) are warnings that do not fail it.
#[test]
fn the_vendor_chart_passes_every_profile_once_its_image_is_pinned() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let chart = charts.join("posthog-30.46.0.tgz");
    let home = tempfile::tempdir().unwrap();
    let (o, doc) = verify(
        home.path(),
        &["--no-install", "--chart", chart.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    let all = findings(&doc);
    for p in ["aws", "azure", "digitalocean", "gcp", "local"] {
        assert_eq!(stage(&doc, p, "lint"), "pass", "{p}: {doc:#}");
        assert_eq!(stage(&doc, p, "policy"), "fail", "{p}");
        assert!(
            all.iter()
                .any(|f| f.0 == p && f.1 == "app-image" && f.2 == "fail" && f.4 == "image.tag"),
            "{p}: {all:#?}"
        );
    }
    let (o, doc) = verify(
        home.path(),
        &[
            "--no-install",
            "--chart",
            chart.to_str().unwrap(),
            "--set",
            "image.tag=release-1.43.0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    let all = findings(&doc);
    assert!(all.iter().all(|f| f.2 != "fail"), "{all:#?}");
    assert!(
        all.iter()
            .any(|f| f.1 == "worker-probes" && f.3 == "Deployment posthog-worker-default"),
        "the chart's known gap is reported: {all:#?}"
    );
    assert!(all.iter().any(|f| f.1 == "resource-requests"), "{all:#?}");
}

/// aws with the chart's own unencrypted gp2 class under Kafka and ClickHouse fails, naming
/// each claim's field; `--skip` records the exception and passes; `--strict` fails warnings.
#[test]
fn an_unencrypted_class_on_aws_fails_naming_each_claim() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let chart = charts.join("posthog-30.46.0.tgz");
    let home = tempfile::tempdir().unwrap();
    let base = [
        "--no-install",
        "--chart",
        chart.to_str().unwrap(),
        "--profile",
        "aws",
        "--set",
        "image.tag=release-1.43.0",
        "--set",
        "installCustomStorageClass=true",
        "--set",
        "kafka.persistence.storageClass=gp2-resizable",
        "--set",
        "clickhouse.persistence.storageClass=gp2-resizable",
    ];
    let (o, doc) = verify(home.path(), &base);
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    let enc: Vec<_> = findings(&doc)
        .into_iter()
        .filter(|f| f.1 == "encryption" && f.2 == "fail")
        .map(|f| (f.3, f.4))
        .collect();
    assert!(
        enc.contains(&(
            "StatefulSet posthog-posthog-kafka".into(),
            "spec.volumeClaimTemplates[0].spec.storageClassName".into()
        )) && enc.contains(&(
            "ClickHouseInstallation posthog".into(),
            "spec.templates.volumeClaimTemplates[0].spec.storageClassName".into()
        )),
        "{enc:#?}"
    );
    let mut skipped = base.to_vec();
    skipped.extend(["--skip", "encryption"]);
    let (o, doc) = verify(home.path(), &skipped);
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    assert!(doc.to_string().contains("\"skipped\":true"), "{doc:#}");
    skipped.push("--strict");
    let (o, _) = verify(home.path(), &skipped);
    assert_eq!(o.status.code(), Some(1), "warnings fail under --strict");
    let o = helmdeck_sim::testkit::isolated(common::helmdeck_bin(), home.path())
        .args(["verify", "--skip", "encrypton"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("not a policy rule; the rules: encryption"),
        "{}",
        common::stderr(&o)
    );
}

/// A values file that takes the web container's readiness probe away fails the policy,
/// naming the Deployment, the container's field and the fix.
#[test]
fn a_values_file_without_the_web_readiness_probe_fails() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("no-probe.yaml");
    common::write(&file, "web:\n  readinessProbe:\n    enabled: false\n");
    let (o, doc) = verify(
        home.path(),
        &[
            "--no-install",
            "--profile",
            "local",
            "-f",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    let probe: Vec<_> = findings(&doc)
        .into_iter()
        .filter(|f| f.1 == "readiness-probe")
        .collect();
    assert_eq!(probe.len(), 1, "{probe:#?}");
    assert_eq!(probe[0].3, "Deployment posthog-web");
    assert_eq!(
        probe[0].4,
        "spec.template.spec.containers[0].readinessProbe"
    );
    assert_eq!(
        stage(&doc, "local", "render"),
        "pass",
        "the key is the chart's"
    );
}

/// A Kafka claim smaller than one topic's retention is a warning of the policy stage, naming
/// the value; `--strict` fails it (and passes the profile's own sizes).
#[test]
fn retention_larger_than_the_kafka_claim_warns() {
    let home = tempfile::tempdir().unwrap();
    let args = [
        "--no-install",
        "--profile",
        "local",
        "--set",
        "kafka.persistence.size=3Gi",
    ];
    let (o, doc) = verify(home.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    let found: Vec<_> = findings(&doc)
        .into_iter()
        .filter(|f| f.1 == "kafka-retention")
        .collect();
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(
        (
            found[0].2.as_str(),
            found[0].3.as_str(),
            found[0].4.as_str()
        ),
        ("warn", "values", "kafka.logRetentionBytes")
    );
    // The stand-in's one known gap skipped, `--strict` passes the profile as it is and fails
    // the shrunk claim.
    let strict = ["--strict", "--skip", "worker-probes"];
    let (o, doc) = verify(home.path(), &[&args[..3], &strict[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    let (o, _) = verify(home.path(), &[&args[..], &strict[..]].concat());
    assert_eq!(o.status.code(), Some(1));
}

/// The JUnit report has the common schema's shape: testsuites › testsuite › testcase, each
/// suite's counts matching its cases, failures and skips, every element closed.
#[test]
fn the_junit_report_has_the_common_schemas_shape() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("verify.xml");
    let o = helmdeck_sim::testkit::isolated(common::helmdeck_bin(), home.path())
        .env("HELMDECK_HELM", helm(4))
        .args([
            "verify",
            "--no-install",
            "--profile",
            "local",
            "--profile",
            "aws",
            "--set",
            "web.readinessProbe.enabled=false",
            "--skip",
            "worker-probes",
            "--junit",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", common::text(&o));
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert!(xml.trim_end().ends_with("</testsuites>"));
    // Every element opened is closed, in order.
    let mut open: Vec<String> = Vec::new();
    for tag in xml.split('<').skip(2) {
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if tag.starts_with('/') {
            assert_eq!(open.pop().as_deref(), Some(name.as_str()), "{xml}");
        } else if !tag.split('>').next().unwrap_or_default().ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed {open:?}");
    let attr = |text: &str, name: &str| -> usize {
        let at = text.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        text[at..].split('"').next().unwrap().parse().unwrap()
    };
    let suites: Vec<&str> = xml.split("<testsuite ").skip(1).collect();
    assert_eq!(suites.len(), 2, "{xml}");
    for s in suites {
        let body = s.split("</testsuite>").next().unwrap();
        assert_eq!(
            attr(s, "tests"),
            body.matches("<testcase ").count(),
            "{body}"
        );
        assert_eq!(
            attr(s, "failures"),
            body.matches("<failure ").count(),
            "{body}"
        );
        assert_eq!(
            attr(s, "skipped"),
            body.matches("<skipped ").count(),
            "{body}"
        );
        assert!(body.contains("classname=\"verify."), "{body}");
    }
    assert!(
        xml.contains("name=\"readiness-probe Deployment posthog-web\""),
        "{xml}"
    );
}

/// Without `--no-install`, each profile's chart is installed through the engine on a
/// simulated cluster of its flavour, upgraded, and upgraded again with nothing changed, which
/// must restart nothing; the report has a stage for each.
#[test]
fn the_stand_in_installs_upgrades_and_a_no_op_upgrade_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (o, doc) = verify(
        home.path(),
        &["--profile", "aws", "--profile", "gcp", "--load", "4x3"],
    );
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    for p in ["aws", "gcp"] {
        for s in ["install", "upgrade", "no-op upgrade", "load"] {
            assert_eq!(stage(&doc, p, s), "pass", "{p} {s}: {doc:#}");
        }
    }
    let detail_text = doc.to_string();
    assert!(
        detail_text.contains("the same upgrade again changed nothing"),
        "{doc:#}"
    );
    // aws: through its classic ELB (proxy protocol on both sides) and the chart's nginx.
    assert_eq!(stage(&doc, "aws", "public path"), "pass", "{doc:#}");
    let load = detail(&doc, "aws", "load");
    assert!(
        load.contains("users over 3 s via http://posthog.example.com")
            && load.contains("0 failed")
            && load.contains("accepted visible"),
        "{load}"
    );
    // gcp: GKE's own load balancer is not simulated, and says so; the load goes through the
    // API server's proxy.
    assert_eq!(stage(&doc, "gcp", "public path"), "warn", "{doc:#}");
    assert!(
        detail(&doc, "gcp", "public path").contains("does not model"),
        "{doc:#}"
    );
    assert!(
        detail(&doc, "gcp", "load").contains("API server proxy"),
        "{doc:#}"
    );
}

/// The ingestion scenarios fail the run, each where it shows: events taken but never
/// ingested fail the load stage (the install's own probe has no personal key to look with);
/// capture refusing fails the install's Verify at once, not after kube's retries.
#[test]
fn ingestion_that_is_down_or_stalled_fails_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let (o, doc) = verify(
        home.path(),
        &[
            "--profile",
            "local",
            "--scenario",
            "ingestion-stalled",
            "--timeout",
            "20",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    assert_eq!(stage(&doc, "local", "no-op upgrade"), "pass", "{doc:#}");
    assert_eq!(stage(&doc, "local", "load"), "fail", "{doc:#}");
    let load = detail(&doc, "local", "load");
    assert!(
        load.contains("not in the events API") && load.contains("plugin server"),
        "{load}"
    );

    let (o, doc) = verify(
        home.path(),
        &["--profile", "aws", "--scenario", "ingestion-down"],
    );
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    assert_eq!(stage(&doc, "aws", "install"), "fail", "{doc:#}");
    assert!(
        detail(&doc, "aws", "install").contains("capture answered 503"),
        "{doc:#}"
    );
}

/// Throughput is bounded by the events pods' CPU: a limit of 2m takes one event a second,
/// so four users posting every second queue up until p90 passes a second and capture
/// refuses, and the load stage fails naming the latency and the values to change.
#[test]
fn capture_starved_of_cpu_fails_the_load_stage_on_latency() {
    let home = tempfile::tempdir().unwrap();
    let (o, doc) = verify(
        home.path(),
        &[
            "--profile",
            "local",
            "--set",
            "events.resources.limits.cpu=2m",
            "--load",
            "4x4",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    assert_eq!(stage(&doc, "local", "install"), "pass", "{doc:#}");
    assert_eq!(stage(&doc, "local", "load"), "fail", "{doc:#}");
    let load = detail(&doc, "local", "load");
    assert!(load.contains("p90 capture latency"), "{load}");
    assert!(load.contains("events.resources"), "{load}");
}

/// `--from` installs an older chart and upgrades from it: a chart change that alters a
/// StatefulSet's claim templates (renamed since the older chart) fails the upgrade stage at
/// preflight, naming the StatefulSet, with nothing applied by it.
#[test]
fn a_claim_template_change_between_from_and_the_target_fails_the_upgrade() {
    let home = tempfile::tempdir().unwrap();
    let stand_in = common::root().join("assets/charts/posthog-mini");
    let old = home.path().join("posthog-mini-old");
    copy_dir(&stand_in, &old);
    // The older chart named its claim templates differently.
    let sts = old.join("templates/statefulsets.yaml");
    let text = std::fs::read_to_string(&sts).unwrap();
    let renamed = text.replacen(
        "    - metadata:\n        name: data\n",
        "    - metadata:\n        name: datadir\n",
        1,
    );
    assert_ne!(text, renamed, "the stand-in's claim template is named data");
    common::write(&sts, &renamed);
    let (o, doc) = verify(
        home.path(),
        &[
            "--profile",
            "local",
            "--chart",
            stand_in.to_str().unwrap(),
            "--from",
            old.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{doc:#}");
    assert_eq!(stage(&doc, "local", "install"), "pass", "{doc:#}");
    assert_eq!(stage(&doc, "local", "upgrade"), "fail", "{doc:#}");
    let detail = doc.to_string();
    assert!(
        detail.contains("volumeClaimTemplates cannot be changed"),
        "{doc:#}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// From a chart repository, verify upgrades from the release before the one under test, as the
/// vendor's CI installed the latest release and upgraded it to the change; `--from none`
/// installs the chart under test directly.
#[test]
fn a_repository_chart_is_upgraded_from_the_release_before_it() {
    let home = tempfile::tempdir().unwrap();
    let stand_in = common::root().join("assets/charts/posthog-mini");
    let next = home.path().join("next");
    copy_dir(&stand_in, &next);
    let meta = next.join("Chart.yaml");
    let text = std::fs::read_to_string(&meta).unwrap();
    common::write(&meta, &text.replacen("version: 1.0.0", "version: 1.1.0", 1));
    let packages = home.path().join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    for chart in [&stand_in, &next] {
        let o = std::process::Command::new(helm(4))
            .arg("package")
            .arg(chart)
            .arg("-d")
            .arg(&packages)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", common::text(&o));
    }
    let (_repo, url) = common::chart_repo(&packages);
    let args = [
        "--profile",
        "local",
        "--repo",
        &url,
        "--chart",
        "posthog-mini",
        "--version",
        "1.1.0",
        "--load",
        "off",
    ];
    let (o, doc) = verify(home.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    let installed = detail(&doc, "local", "install");
    assert!(installed.contains("posthog-mini-1.0.0"), "{installed}");
    // Off a terminal, progress is a line per stage on stderr, as CI logs want it.
    let progress = String::from_utf8_lossy(&o.stderr);
    for line in [
        "local: lint…",
        "local: install…",
        "local: no-op upgrade…",
        "local: warn",
    ] {
        assert!(progress.contains(line), "{line}: {progress}");
    }
    assert_eq!(stage(&doc, "local", "upgrade"), "pass", "{doc:#}");
    assert_eq!(
        stage(&doc, "local", "load"),
        "missing",
        "--load off: {doc:#}"
    );

    let mut direct = args.to_vec();
    direct.extend(["--from", "none"]);
    let (o, doc) = verify(home.path(), &direct);
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    let installed = detail(&doc, "local", "install");
    assert!(installed.contains("the chart installed"), "{installed}");
}
