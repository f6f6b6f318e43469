//! `helmdeck verify` as CI runs it: the real binary, the real helm, the vendor's chart from
//! `../shared/charts`, every profile.

mod common;

use std::path::Path;
use std::process::Output;

use common::helm;
use serde_json::Value;

fn verify(home: &Path, args: &[&str]) -> (Output, Value) {
    let o = helmdeck_sim::testkit::isolated(common::helmdeck_bin(), home)
        .env("HELMDECK_HELM", helm(4))
        .args(["verify", "-o", "json"])
        .args(args)
        .output()
        .expect("run helmdeck verify");
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
    doc["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["profile"] == profile)
        .and_then(|r| r["stages"].as_array()?.iter().find(|s| s["stage"] == stage))
        .and_then(|s| s["verdict"].as_str())
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
    let (o, doc) = verify(home.path(), &["--profile", "local", "--profile", "gcp"]);
    assert_eq!(o.status.code(), Some(0), "{doc:#}");
    for p in ["local", "gcp"] {
        for s in ["install", "upgrade", "no-op upgrade"] {
            assert_eq!(stage(&doc, p, s), "pass", "{p} {s}: {doc:#}");
        }
    }
    let detail = doc.to_string();
    assert!(
        detail.contains("the same upgrade again changed nothing"),
        "{doc:#}"
    );
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
