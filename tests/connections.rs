//! Real cluster connections: the simulated cluster over HTTPS with its own CA, asking for a
//! bearer token, a client certificate or an exec plugin's expiring token. helmdeck, both helms
//! and kubectl connect through each from the same kubeconfig; tokens that expire mid-run are
//! renewed without an error; every broken credential ends with exit 4 and one sentence naming
//! the kubeconfig entry to fix.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Sim, helm, helmdeck_bin, kubectl, text};
use helmdeck_sim::{AuthOptions, Credential, SimOptions};
use serde_yaml::Value;

fn exec_plugin() -> Credential {
    Credential::Exec {
        command: helmdeck_bin().to_path_buf(),
        args: vec!["sim".into(), "credential".into()],
    }
}

fn tls_sim(credential: Credential, token_ttl: Duration, readonly: bool) -> Sim {
    Sim::start(SimOptions {
        auth: AuthOptions {
            tls: true,
            credential,
            token_ttl,
            readonly,
        },
        ..Default::default()
    })
}

fn helmdeck(sim: &Sim, helm_major: u8, args: &[&str]) -> Output {
    common::helmdeck_on(sim, &helm(helm_major), args)
}

fn install(sim: &Sim, helm_major: u8) -> Output {
    helmdeck(
        sim,
        helm_major,
        &[
            "install",
            "--profile",
            "local",
            "--yes",
            "--set",
            "ingress.hostname=ph.example.com",
            "--timeout",
            "120",
        ],
    )
}

#[test]
fn helmdeck_both_helms_and_kubectl_connect_with_a_token_a_client_certificate_and_an_exec_plugin() {
    for (credential, first, second) in [
        (Credential::Token, 4, 3),
        (Credential::ClientCert, 3, 4),
        (exec_plugin(), 4, 3),
    ] {
        let sim = tls_sim(credential.clone(), Duration::from_secs(900), false);
        assert!(sim.url.starts_with("https://127.0.0.1:"), "{}", sim.url);
        let o = install(&sim, first);
        assert_eq!(o.status.code(), Some(0), "{credential:?}:\n{}", text(&o));
        let o = helmdeck(
            &sim,
            second,
            &[
                "upgrade",
                "--yes",
                "--set",
                "web.replicas=2",
                "--timeout",
                "120",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{credential:?}:\n{}", text(&o));
        assert!(text(&o).contains("revision 2 deployed"), "{}", text(&o));
        // Pods, disks and the ingestion probe through the API server's service proxy.
        let o = helmdeck(&sim, 4, &["check", "-o", "json"]);
        assert_eq!(o.status.code(), Some(0), "{credential:?}:\n{}", text(&o));
        let pods = sim.run(&kubectl(), &["get", "pods", "-n", "posthog"]);
        assert!(pods.contains("posthog-web"), "{pods}");
        let history = sim.run(&helm(3), &["history", "posthog", "-n", "posthog"]);
        assert!(history.contains("deployed"), "{history}");
        assert_eq!(
            sim.state.authority.stats().refused,
            0,
            "{credential:?}: no request was refused"
        );
    }
}

#[test]
fn an_exec_token_that_expires_during_an_upgrade_and_a_watch_is_renewed_without_an_error() {
    // Short enough to expire during the upgrade and the watch; long enough that a token is not
    // already stale when a loaded machine starts the plugin, and that helm's requests, sent up
    // to the expiry the plugin reports (a quarter early: 2 s), still arrive in time.
    let sim = tls_sim(exec_plugin(), Duration::from_secs(8), false);
    let o = install(&sim, 4);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = sim.state.authority.stats().exec_tokens;
    let o = helmdeck(
        &sim,
        4,
        &[
            "upgrade",
            "--yes",
            "--set",
            "web.replicas=2",
            "--timeout",
            "120",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        sim.state.authority.stats().exec_tokens > before,
        "the upgrade ran on renewed tokens"
    );

    // `check --watch`: rounds keep passing across several token lifetimes.
    let mut child = sim
        .cmd(helmdeck_bin())
        .env("HELMDECK_HELM", helm(4))
        .args(["check", "--watch", "--interval", "1", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start check --watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let tokens_at_start = sim.state.authority.stats().exec_tokens;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds = Vec::new();
    while rounds.len() < 10 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            rounds.push(line);
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("check's output");
    let errors = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(rounds.len(), 10, "ten rounds in time; stderr:\n{errors}");
    for r in &rounds {
        let v: serde_json::Value = serde_json::from_str(r).expect("one report per line");
        assert_ne!(v["verdict"], "fail", "{r}");
    }
    assert!(!errors.contains("error"), "{errors}");
    let stats = sim.state.authority.stats();
    assert!(
        stats.exec_tokens >= tokens_at_start + 2,
        "tokens were renewed during the watch: {stats:?}"
    );
    assert_eq!(stats.refused, 0, "no request was refused: {stats:?}");
}

/// A copy of the simulated cluster's kubeconfig with one change, for a broken credential.
fn broken(sim: &Sim, name: &str, change: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let text = std::fs::read_to_string(&sim.kubeconfig).expect("kubeconfig");
    let mut kc: Value = serde_yaml::from_str(&text).expect("yaml");
    change(&mut kc);
    let path = sim.home.path().join(format!("kubeconfig-{name}"));
    std::fs::write(&path, serde_yaml::to_string(&kc).expect("yaml")).expect("write");
    path
}

fn user(kc: &mut Value) -> &mut Value {
    &mut kc["users"][0]["user"]
}

fn cluster(kc: &mut Value) -> &mut serde_yaml::Mapping {
    kc["clusters"][0]["cluster"]
        .as_mapping_mut()
        .expect("a cluster entry")
}

fn status_with(sim: &Sim, kubeconfig: &Path) -> Output {
    sim.cmd(helmdeck_bin())
        .env("HELMDECK_HELM", helm(4))
        .arg("status")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .output()
        .expect("run helmdeck")
}

/// The whole of stderr is one error and its fix: no library error stack.
fn one_clear_failure(o: &Output, says: &[&str]) {
    let err = common::stderr(o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    for s in says {
        assert!(err.contains(s), "{s:?} missing in:\n{err}");
    }
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "one message and one fix:\n{err}");
    assert!(lines[1].trim_start().starts_with("fix: "), "{err}");
    for noise in ["Status {", "ServiceError", "hyper", "Caused by", "kube::"] {
        assert!(!err.contains(noise), "{noise:?} in:\n{err}");
    }
}

#[test]
fn each_broken_credential_ends_with_exit_4_and_names_what_to_fix() {
    let sim = tls_sim(Credential::Token, Duration::from_secs(900), false);
    let other = tls_sim(Credential::Token, Duration::from_secs(900), false);
    let foreign_ca = {
        let text = std::fs::read_to_string(&other.kubeconfig).expect("kubeconfig");
        let kc: Value = serde_yaml::from_str(&text).expect("yaml");
        kc["clusters"][0]["cluster"]["certificate-authority-data"].clone()
    };
    let wrong_token = broken(&sim, "wrong-token", |kc| {
        user(kc)["token"] = Value::from("not-the-token");
    });
    one_clear_failure(
        &status_with(&sim, &wrong_token),
        &["401 Unauthorized", "bearer token", "kubeconfig-wrong-token"],
    );
    let untrusted = broken(&sim, "untrusted-ca", |kc| {
        cluster(kc).insert("certificate-authority-data".into(), foreign_ca.clone());
    });
    one_clear_failure(
        &status_with(&sim, &untrusted),
        &[
            "not signed by the CA",
            "certificate-authority-data",
            "kubeconfig-untrusted-ca",
        ],
    );
    let (cert, key) = sim
        .state
        .authority
        .issue_client_cert("helmdeck-admin", false, 1_577_836_800)
        .expect("an expired certificate");
    let expired = broken(&sim, "expired-cert", |kc| {
        use base64::Engine;
        let b64 = |s: &str| Value::from(base64::engine::general_purpose::STANDARD.encode(s));
        *user(kc) = serde_yaml::from_str("{}").expect("map");
        user(kc)["client-certificate-data"] = b64(&cert);
        user(kc)["client-key-data"] = b64(&key);
    });
    one_clear_failure(
        &status_with(&sim, &expired),
        &["client certificate expired on 2020-01-01T00:00:00Z"],
    );
    let exec = |command: &str, args: &[&str]| {
        let args: Vec<Value> = args.iter().map(|a| Value::from(*a)).collect();
        let command = command.to_string();
        move |kc: &mut Value| {
            *user(kc) = serde_yaml::from_str("{}").expect("map");
            user(kc)["exec"] = serde_yaml::from_str(
                "{apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}",
            )
            .expect("map");
            user(kc)["exec"]["command"] = Value::from(command.as_str());
            user(kc)["exec"]["args"] = Value::from(args);
        }
    };
    let missing = broken(&sim, "missing-plugin", exec("aws-iam-nowhere", &["token"]));
    one_clear_failure(
        &status_with(&sim, &missing),
        &[
            "`aws-iam-nowhere` is not installed",
            "kubeconfig-missing-plugin",
        ],
    );
    let failing = broken(&sim, "failing-plugin", exec("false", &[]));
    one_clear_failure(
        &status_with(&sim, &failing),
        &["`false` failed", "kubeconfig-failing-plugin"],
    );
    let garbage = broken(&sim, "garbage-plugin", exec("echo", &["garbage"]));
    one_clear_failure(
        &status_with(&sim, &garbage),
        &["`echo` printed something that is not", "ExecCredential"],
    );
    // kubectl agrees the server refuses (the same kubeconfig, a real client).
    let o = sim
        .cmd(&kubectl())
        .args(["get", "ns", "--kubeconfig"])
        .arg(&wrong_token)
        .output()
        .expect("kubectl");
    assert!(!o.status.success());
    assert!(text(&o).contains("Unauthorized") || text(&o).contains("credentials"));
}

#[test]
fn a_read_only_user_is_refused_writes_with_a_real_403_and_stopped_by_preflight() {
    let sim = tls_sim(Credential::ClientCert, Duration::from_secs(900), true);
    let o = sim
        .cmd(&kubectl())
        .args(["create", "namespace", "x"])
        .output()
        .expect("kubectl");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("User \"helmdeck-viewer\" cannot create resource \"namespaces\""),
        "{}",
        text(&o)
    );
    let can = sim
        .cmd(&kubectl())
        .args(["auth", "can-i", "create", "secrets", "-n", "posthog"])
        .output()
        .expect("kubectl");
    assert_eq!(String::from_utf8_lossy(&can.stdout).trim(), "no");
    let o = install(&sim, 4);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("may not create secrets in posthog"),
        "{}",
        text(&o)
    );
    assert!(
        common::release_secrets(&sim, "posthog").is_empty(),
        "nothing applied"
    );
    // Reading works: status of a release that is not there is a plain "not found".
    let o = helmdeck(&sim, 4, &["status"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn insecure_skip_tls_verify_is_honoured_and_flagged() {
    let sim = tls_sim(Credential::Token, Duration::from_secs(900), false);
    let insecure = broken(&sim, "insecure", |kc| {
        cluster(kc).remove("certificate-authority-data");
        cluster(kc).insert("insecure-skip-tls-verify".into(), Value::from(true));
    });
    let o = status_with(&sim, &insecure);
    let err = common::stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "connected; no release yet:\n{err}"
    );
    assert!(err.contains("TLS is not verified"), "{err}");
    assert!(err.contains("insecure-skip-tls-verify"), "{err}");
}

#[test]
fn a_client_certificate_expiry_is_read_from_its_der() {
    use helmdeck::cluster::connect::certificate_not_after;
    let authority = helmdeck_sim::auth::Authority::new(AuthOptions::default()).expect("ca");
    let (pem, _) = authority
        .issue_client_cert("old", false, 1_577_836_800)
        .expect("cert");
    // Years before 2050 are UTCTime, later ones GeneralizedTime.
    assert_eq!(
        certificate_not_after(&pem).expect("parsed").to_string(),
        "2020-01-01T00:00:00Z"
    );
    let (pem, _) = authority
        .issue_client_cert("future", false, 4_102_444_800)
        .expect("cert");
    assert_eq!(
        certificate_not_after(&pem).expect("parsed").to_string(),
        "2100-01-01T00:00:00Z"
    );
    assert_eq!(certificate_not_after("no certificate"), None);
}

/// `check --all-contexts`: every context at once, each within its own deadline; one refused
/// and one that never answers are reported as unreachable beside the live one's report.
#[test]
fn check_all_contexts_reports_each_and_names_the_unreachable_ones() {
    let sim = Sim::start(SimOptions::default());
    let (kubeconfig, refused, silent) = common::live_refused_and_silent_contexts(&sim);
    let o = helmdeck_sim::testkit::isolated(helmdeck_bin(), sim.home.path())
        .args([
            "check",
            "--all-contexts",
            "--pods",
            "-A",
            // A deadline a busy machine cannot outrun for the live context; the silent one
            // still ends at it.
            "--sync-timeout",
            "20",
            "-o",
            "json",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let reports: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let by = |name: &str| {
        reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["context"] == name)
            .unwrap_or_else(|| panic!("no {name} in {reports}"))
            .clone()
    };
    let live = by("live");
    assert!(live["report"]["pods"].is_object(), "{live}");
    assert!(live["error"].is_null());
    for name in ["refused", "silent"] {
        let r = by(name);
        assert!(r["report"].is_null(), "{r}");
        assert!(r["error"].as_str().is_some_and(|e| !e.is_empty()), "{r}");
    }
    assert!(
        by("refused")["error"]
            .as_str()
            .unwrap()
            .contains(&refused.to_string())
    );
    // Not every context could be checked: exit 4, unless the live one failed (1).
    let want = if live["report"]["verdict"] == "fail" {
        1
    } else {
        4
    };
    assert_eq!(o.status.code(), Some(want), "{}", text(&o));
    drop(silent);
}
