//! The `render` and `profiles` commands through the real binary: output, bad input, exit codes.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{helm, isolated, stderr, write};

fn helmdeck(home: &Path, args: &[&str]) -> Output {
    isolated(common::helmdeck_bin(), home)
        .current_dir(home)
        .args(args)
        .output()
        .expect("run helmdeck")
}

#[test]
fn profiles_list_shows_every_builtin() {
    let tmp = tempfile::tempdir().unwrap();
    let o = helmdeck(tmp.path(), &["profiles", "list"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for p in ["aws", "gcp", "azure", "digitalocean", "local"] {
        assert!(text.contains(p), "{p} missing from:\n{text}");
    }
}

#[test]
fn user_profile_overrides_builtin() {
    let tmp = tempfile::tempdir().unwrap();
    let text = include_str!("../profiles/local.yaml").replacen("title: ", "title: Team ", 1);
    write(
        &tmp.path().join("helmdeck-config/profiles/local.yaml"),
        &text,
    );
    let o = helmdeck(tmp.path(), &["profiles", "show", "local", "-o", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["title"].as_str().unwrap().starts_with("Team "));
}

#[test]
fn broken_user_profile_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("helmdeck-config/profiles/bad.yaml"),
        "name: bad\ntitle: [unclosed\n",
    );
    let o = helmdeck(tmp.path(), &["profiles", "list"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.yaml:"), "{e}");
}

#[test]
fn unknown_profile_lists_known_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = helmdeck(tmp.path(), &["render", "--profile", "aks"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("known profiles: aws, azure, digitalocean, gcp, local"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn yaml_error_names_file_line_column_and_shows_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("bad.yaml"),
        "ingress:\n  hostname: a\n   broken: [\n",
    );
    let o = helmdeck(
        tmp.path(),
        &["render", "--profile", "local", "-f", "bad.yaml"],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.yaml:3:"), "{e}");
    assert!(e.contains("broken: ["), "{e}");
    assert!(o.stdout.is_empty());
}

#[test]
fn set_syntax_error_has_a_caret() {
    let tmp = tempfile::tempdir().unwrap();
    let o = helmdeck(
        tmp.path(),
        &["render", "--profile", "local", "--set", "a[x]=1"],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("a[x]=1\n    ^"), "{e}");
}

#[test]
fn schema_violation_names_path_and_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let o = helmdeck(
        tmp.path(),
        &[
            "render",
            "--profile",
            "local",
            "--set",
            "clickhouse.persistence.size=lots",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("clickhouse.persistence.size"), "{e}");
    assert!(e.contains("does not match"), "{e}");
}

#[test]
fn missing_cloud_without_profile_is_a_schema_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = helmdeck(tmp.path(), &["render"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cloud"), "{}", stderr(&o));
    let ok = helmdeck(tmp.path(), &["render", "--set", "cloud=k3s", "-o", "json"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn bad_answer_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("answers.yaml"),
        "ingress.hostname: not a host\n",
    );
    let o = helmdeck(
        tmp.path(),
        &["render", "--profile", "aws", "--answers", "answers.yaml"],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("answers.yaml: ingress.hostname"), "{e}");
    write(
        &tmp.path().join("answers.yaml"),
        "ingress.hostname: ph.example.com\nkafka.persistence.size: 50Gi\n",
    );
    let o = helmdeck(
        tmp.path(),
        &[
            "render",
            "--profile",
            "aws",
            "--answers",
            "answers.yaml",
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kafka"]["persistence"]["size"], "50Gi");
    assert_eq!(v["ingress"]["hostname"], "ph.example.com");
}

#[test]
fn secrets_are_redacted_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "render",
        "--profile",
        "local",
        "--set",
        "postgresql.postgresqlPassword=hunter2",
    ];
    let o = helmdeck(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("hunter2"));
    assert!(
        out.contains("postgresqlPassword: <redacted:sha256:"),
        "{out}"
    );
    let mut shown = args.to_vec();
    shown.push("--show-secrets");
    let o = helmdeck(tmp.path(), &shown);
    assert!(String::from_utf8_lossy(&o.stdout).contains("hunter2"));
}

#[test]
fn explain_names_the_layer_and_what_it_overrode() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("mine.yaml"), "web:\n  replicacount: 3\n");
    let o = helmdeck(
        tmp.path(),
        &[
            "render",
            "--profile",
            "aws",
            "-f",
            "mine.yaml",
            "--set",
            "ingress.hostname=x.example.com",
            "--explain",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("replicacount: 3  # file:mine.yaml (overrode chart:posthog-mini)"),
        "{out}"
    );
    assert!(
        out.contains("cloud: aws  # profile:aws (overrode chart:posthog-mini)"),
        "{out}"
    );
    assert!(
        out.contains("hostname: x.example.com  # --set ingress.hostname=x.example.com"),
        "{out}"
    );
    let o = helmdeck(
        tmp.path(),
        &["render", "--profile", "aws", "--explain", "-o", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["provenance"]["cloud"]["layer"], "profile:aws");
}

#[test]
fn packaged_chart_renders_like_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tmp.path().join("posthog-mini-1.0.0.tgz");
    common::pack(
        &common::root().join("assets/charts/posthog-mini"),
        "posthog-mini",
        &tgz,
    );
    let a = helmdeck(tmp.path(), &["render", "--profile", "gcp", "-o", "json"]);
    let b = helmdeck(
        tmp.path(),
        &[
            "render",
            "--profile",
            "gcp",
            "-o",
            "json",
            "--chart",
            tgz.to_str().unwrap(),
        ],
    );
    assert!(b.status.success(), "{}", stderr(&b));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn repo_chart_is_pulled_once_and_renders_offline() {
    // A pinned repository chart already in the cache renders with no helm and no network.
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp
        .path()
        .join("helmdeck-cache/charts/https___charts.example.com_posthog-mini_1.0.0");
    std::fs::create_dir_all(&cache).unwrap();
    common::pack(
        &common::root().join("assets/charts/posthog-mini"),
        "posthog-mini",
        &cache.join("posthog-mini-1.0.0.tgz"),
    );
    let o = isolated(common::helmdeck_bin(), tmp.path())
        .env("PATH", "/nonexistent")
        .env("HELMDECK_HELM", "/nonexistent/helm")
        .args([
            "render",
            "--profile",
            "local",
            "--repo",
            "https://charts.example.com",
            "--chart",
            "posthog-mini",
            "--version",
            "1.0.0",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn helm_lint_strict_passes_with_every_profile() {
    let tmp = tempfile::tempdir().unwrap();
    for p in ["aws", "gcp", "azure", "digitalocean", "local"] {
        let shown = helmdeck(tmp.path(), &["profiles", "show", p, "-o", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        let f = tmp.path().join(format!("{p}.json"));
        std::fs::write(&f, v["values"].to_string()).unwrap();
        for major in [4u8, 3] {
            let o = isolated(&helm(major), tmp.path())
                .args(["lint", "--strict"])
                .arg(common::root().join("assets/charts/posthog-mini"))
                .arg("-f")
                .arg(&f)
                .args(["--set", "ingress.hostname=posthog.example.com"])
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "helm{major} lint {p}: {}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}

#[test]
fn invalid_combination_fails_rendering_in_helm_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let o = isolated(&helm(4), tmp.path())
        .arg("template")
        .arg("p")
        .arg(common::root().join("assets/charts/posthog-mini"))
        .args([
            "--set",
            "cloud=aws,externalPostgresql.postgresqlHost=db.example.com",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("postgresql.enabled and externalPostgresql.postgresqlHost are both set")
    );
}

#[test]
fn install_without_a_cluster_says_how_to_get_one() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-kubeconfig");
    for cmd in ["install", "upgrade"] {
        let o = Command::new(env!("CARGO_BIN_EXE_helmdeck"))
            .env("HOME", tmp.path())
            .env("KUBECONFIG", &missing)
            .env("HELMDECK_DATA_DIR", tmp.path().join("data"))
            .args([cmd, "--profile", "local", "--yes"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("no-such-kubeconfig") && stderr(&o).contains("helmdeck sim"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn keys_the_chart_does_not_have_are_named_with_who_set_them_and_the_nearest_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("mine.yaml");
    common::write(&file, "clickhouse:\n  persistance:\n    size: 40Gi\n");
    let o = helmdeck(
        tmp.path(),
        &[
            "render",
            "--profile",
            "local",
            "-f",
            file.to_str().expect("utf-8"),
            "--set",
            "web.replicaCount=2",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let err = common::stderr(&o);
    assert!(
        err.contains(&format!(
            "file:{} sets clickhouse.persistance, which chart posthog-mini does not have: helm ignores it; did you mean clickhouse.persistence?",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("--set web.replicaCount=2 sets web.replicaCount"),
        "{err}"
    );
    // A clean render warns about nothing.
    let o = helmdeck(tmp.path(), &["render", "--profile", "local"]);
    assert!(
        !common::stderr(&o).contains("warning"),
        "{}",
        common::stderr(&o)
    );
}

/// `helmdeck … | head`: a reader that has gone stops the command quietly with 141 (as a tool
/// stopped by SIGPIPE), not with a panic and a backtrace. The pipe's read end is closed
/// before the command starts, so its first write finds no reader.
#[test]
fn a_closed_stdout_stops_the_command_quietly_with_141() {
    let tmp = tempfile::tempdir().unwrap();
    let values = tmp.path().join("v.yaml");
    write(&values, "cloud: local\n");
    let values = values.to_str().unwrap();
    for args in [
        &["profiles", "list", "-o", "json"][..],
        &["profiles", "show", "aws"],
        &["render", "--profile", "local", "-f", values],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let o = isolated(common::helmdeck_bin(), tmp.path())
            .current_dir(tmp.path())
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run helmdeck");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(141), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// A key an upgrade note renamed says where it went: a 9.x user's ClickHouse claim set on
/// chart 30.46.0 is named with the 10.0.0 rename.
#[test]
fn a_key_renamed_by_an_upgrade_note_says_where_it_went() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let chart = charts.join("posthog-30.46.0.tgz");
    let o = helmdeck(
        tmp.path(),
        &[
            "render",
            "--chart",
            chart.to_str().expect("utf-8"),
            "--set",
            "clickhouse.persistentVolumeClaim=data-clickhouse",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let err = common::stderr(&o);
    assert!(
        err.contains("sets clickhouse.persistentVolumeClaim, which chart posthog does not have: helm ignores it; chart 10.0.0 renamed it to clickhouse.persistence.existingClaim: set that instead"),
        "{err}"
    );
}

/// First contact: each failure a new user meets says what happened and what to do, once, with
/// its own exit code.
#[test]
fn first_contact_messages_say_what_failed_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    // A server that is not there: which one, that nothing listens, what to try (exit 4).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let kubeconfig = tmp.path().join("dead.kubeconfig");
    write(
        &kubeconfig,
        &format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n"
        ),
    );
    for cmd in ["status", "check", "history"] {
        let o = isolated(common::helmdeck_bin(), tmp.path())
            .env("HELMDECK_HELM", helm(4))
            .args([cmd, "--kubeconfig", kubeconfig.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(4), "{cmd}: {err}");
        assert!(
            err.contains(&format!("127.0.0.1:{port}"))
                && err.contains("Connection refused")
                && err.contains("nothing listens at that address"),
            "{cmd}: {err}"
        );
    }
    // A chart repository that cannot be read has its own exit code.
    let o = helmdeck(
        tmp.path(),
        &[
            "versions",
            "--repo",
            &format!("http://127.0.0.1:{port}/charts"),
        ],
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot read the chart repository index"),
        "{}",
        stderr(&o)
    );
    // Each command's help lists its own arguments only.
    let help =
        String::from_utf8_lossy(&helmdeck(tmp.path(), &["status", "--help"]).stdout).into_owned();
    assert!(
        !help.contains("REVISION") && !help.contains("--yes") && !help.contains("--timeout "),
        "{help}"
    );
    let help =
        String::from_utf8_lossy(&helmdeck(tmp.path(), &["history", "--help"]).stdout).into_owned();
    assert!(!help.contains("--timeout "), "{help}");
    let help =
        String::from_utf8_lossy(&helmdeck(tmp.path(), &["rollback", "--help"]).stdout).into_owned();
    assert!(
        help.contains("[REVISION]") && help.contains("--yes"),
        "{help}"
    );
}

/// On a cluster: `plan` without a profile says the schema's complaint once and how to pick a
/// profile; `check` of a release that is not installed says so and how to install, without
/// probing a stack that is not there.
#[test]
fn without_a_profile_or_a_release_the_cli_says_how_to_start() {
    let sim = common::Sim::start(helmdeck_sim::SimOptions::default());
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_HELM", helm(4))
        .args(["plan"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("is not one of").count(), 1, "{err}");
    assert!(err.contains("no --profile was given"), "{err}");
    // On a cloud's cluster, the nodes' providerID names the profile to pass.
    let eks = common::Sim::start(helmdeck_sim::SimOptions {
        flavor: helmdeck_sim::flavor::Flavor::Eks,
        ..Default::default()
    });
    let o = eks
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_HELM", helm(4))
        .args(["plan"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the nodes run on aws (aws:///us-east-1a/")
            && err.contains("pass --profile aws"),
        "{err}"
    );
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_HELM", helm(4))
        .args(["check"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("release posthog (not installed)")
            && out.contains("no release posthog in namespace posthog")
            && out.contains("helmdeck install --profile"),
        "{out}"
    );
    assert!(
        !out.contains("INGESTION") && !out.contains("ingress.hostname"),
        "{out}"
    );
}

/// On a k3s cluster a claim lives on its node's disk: a ClickHouse disk no node can hold
/// fails preflight, naming the size, the node's disk and the fix; nothing is applied.
#[test]
fn a_disk_no_node_can_hold_fails_preflight_on_a_local_cluster() {
    let sim = common::Sim::start(helmdeck_sim::SimOptions {
        flavor: helmdeck_sim::flavor::Flavor::K3s,
        ..Default::default()
    });
    let o = sim
        .cmd(common::helmdeck_bin())
        .env("HELMDECK_HELM", helm(4))
        .args([
            "plan",
            "--profile",
            "local",
            "--set",
            "clickhouse.persistence.size=500Ti",
        ])
        .output()
        .unwrap();
    let all = common::text(&o);
    assert_ne!(o.status.code(), Some(0), "{all}");
    assert!(
        all.contains("asks for 500Ti on a node-local class")
            && all.contains("the largest node's disk is 100Gi"),
        "{all}"
    );
    assert!(
        sim.objects("", "secrets", Some("posthog")).is_empty(),
        "nothing applied"
    );
}
