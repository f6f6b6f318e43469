//! Support bundles end to end: `helmdeck bundle` of a release on the simulated cluster holds
//! what an on-call engineer needs and none of the secrets planted in values, env vars,
//! ConfigMaps, Secrets, logs and the audit log; `helmdeck sim --from-bundle` serves it as a
//! read-only cluster that `check`, kubectl and helm read as they read the live one.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::{Sim, eventually, helm, helmdeck_bin, helmdeck_on, kubectl, text, write};
use helmdeck_sim::SimOptions;
use serde_json::Value;

/// Secret values planted where a user's secrets live; none may reach a bundle.
const CANARIES: [&str; 8] = [
    "canary-values-pg-5b1e",
    "canary-env-dsn-93af",
    "canary-secret-data-77c2",
    "canary-configmap-key-1d0e",
    "canary-configmap-file-6e4a",
    "canary-log-pair-2f9b",
    "canary-url-password-c3d8",
    "canary-audit-values-8a61",
];

/// The stand-in installed with secrets in every place a bundle reads, its pods running.
fn release_with_secrets(sim: &Sim) {
    common::install_stand_in(
        sim,
        "local",
        &[
            "--set",
            &format!("postgresql.postgresqlPassword={}", CANARIES[0]),
            "--set",
            "web.env[0].name=SENTRY_DSN",
            "--set",
            &format!("web.env[0].value={}", CANARIES[1]),
        ],
    );
    sim.run(
        &kubectl(),
        &[
            "-n",
            "posthog",
            "create",
            "secret",
            "generic",
            "extra",
            &format!("--from-literal=token={}", CANARIES[2]),
        ],
    );
    sim.run(
        &kubectl(),
        &[
            "-n",
            "posthog",
            "create",
            "configmap",
            "app-config",
            &format!("--from-literal=REDIS_PASSWORD={}", CANARIES[3]),
            &format!("--from-literal=app.ini=[db]\npassword = {}\n", CANARIES[4]),
        ],
    );
    let pods = eventually(120, "every pod of the release running", || {
        let pods = sim.objects("", "pods", Some("posthog"));
        let running = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .count();
        (running >= 9).then_some(pods)
    });
    let web = pods
        .iter()
        .find(|p| p["metadata"]["labels"]["role"] == "web")
        .expect("a web pod");
    let (name, container) = (
        web["metadata"]["name"].as_str().unwrap(),
        web["spec"]["containers"][0]["name"].as_str().unwrap(),
    );
    for line in [
        format!("connecting with password={} to the database", CANARIES[5]),
        format!("kafka at sasl://posthog:{}@kafka:9092 ready", CANARIES[6]),
        // An app printing a secret it read from a Secret, without saying what it is.
        format!("loaded {}", CANARIES[2]),
        "ordinary line about postgresql".to_string(),
    ] {
        sim.state
            .append_log("posthog", name, container, false, &line);
    }
    // helmdeck's own audit log, as an upgrade that failed early might have left it.
    let audit = sim.home.path().join("helmdeck-data/audit.jsonl");
    write(
        &audit,
        &format!(
            "{}\n{}\n",
            serde_json::json!({"namespace": "posthog", "release": "posthog", "action": "upgrade",
                "values": {"email": {"password": CANARIES[7]}}}),
            serde_json::json!({"namespace": "other", "release": "other", "action": "install"}),
        ),
    );
}

/// Every file of a bundle: path under `helmdeck-bundle/`, contents.
fn unpack(path: &Path) -> Vec<(String, String)> {
    let f = std::fs::File::open(path).expect("the bundle");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in tar.entries().expect("a tar archive") {
        let mut e = e.expect("an entry");
        let name = e.path().unwrap().to_string_lossy().to_string();
        let mut s = String::new();
        e.read_to_string(&mut s).expect("text");
        out.push((
            name.strip_prefix("helmdeck-bundle/")
                .expect("under helmdeck-bundle/")
                .to_string(),
            s,
        ));
    }
    out
}

fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
    files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s.as_str())
        .unwrap_or_else(|| panic!("no {name} in the bundle"))
}

fn json_file(files: &[(String, String)], name: &str) -> Value {
    serde_json::from_str(file(files, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `helmdeck sim --from-bundle`, serving until dropped.
struct Replay {
    child: Child,
    kubeconfig: PathBuf,
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replay(sim: &Sim, bundle: &Path) -> Replay {
    let kubeconfig = sim.home.path().join("replay-kubeconfig");
    let mut child = helmdeck_sim::testkit::isolated(helmdeck_bin(), sim.home.path())
        .args(["sim", "--from-bundle"])
        .arg(bundle)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("helmdeck sim");
    // It serves once it has said where.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("its first line");
    assert!(first.starts_with("kubeconfig:"), "{first}");
    Replay { child, kubeconfig }
}

fn on_replay(sim: &Sim, r: &Replay, bin: &Path, args: &[&str]) -> std::process::Output {
    helmdeck_sim::testkit::isolated(bin, sim.home.path())
        .env("KUBECONFIG", &r.kubeconfig)
        .args(args)
        .output()
        .expect("run")
}

/// What `check` decided, without what changes between two runs (times, watchers).
fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_bundle_holds_the_release_without_its_secrets_and_replays_as_a_read_only_cluster() {
    let sim = Sim::start(SimOptions::default());
    release_with_secrets(&sim);
    let out = sim.home.path().join("support.tar.gz");
    let o = helmdeck_on(
        &sim,
        &helm(4),
        &["bundle", "-o", out.to_str().unwrap(), "--log-lines", "50"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 revision(s) of posthog"),
        "{}",
        text(&o)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a bundle describes the user's cluster");
    }

    // No canary anywhere: every byte of the archive, unpacked.
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&out).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let raw = String::from_utf8_lossy(&raw);
    for c in CANARIES {
        assert!(!raw.contains(c), "{c} is in the bundle");
    }

    // What item 1 lists.
    let files = unpack(&out);
    assert!(json_file(&files, "cluster/version.json")["gitVersion"].is_string());
    for (kind, at_least) in [
        ("nodes", 3),
        ("storageclasses", 1),
        ("persistentvolumes", 5),
        ("namespaces", 2),
    ] {
        let n = json_file(&files, &format!("cluster/{kind}.json"))
            .as_array()
            .map(Vec::len)
            .unwrap_or(0);
        assert!(n >= at_least, "{kind}: {n}");
    }
    assert!(file(&files, "cluster/ingressclasses.json").starts_with('['));
    assert!(file(&files, "cluster/customresourcedefinitions.json").starts_with('['));
    let history = json_file(&files, "release/history.json");
    assert_eq!(history[0]["revision"], 1);
    assert_eq!(history[0]["status"], "deployed");
    let values = file(&files, "release/revisions/1/values.yaml");
    assert!(
        values.contains("postgresqlPassword: '[REDACTED]'"),
        "{values}"
    );
    assert!(values.contains("cloud: local"), "{values}");
    assert!(file(&files, "release/revisions/1/manifest.yaml").contains("kind: StatefulSet"));
    let pods = json_file(&files, "namespaces/posthog/pods.json");
    let pods = pods.as_array().unwrap();
    assert!(pods.len() >= 9);
    assert!(pods.iter().all(|p| p["status"]["phase"].is_string()));
    assert!(
        !json_file(&files, "namespaces/posthog/events.json")
            .as_array()
            .unwrap()
            .is_empty()
    );
    let claims = json_file(&files, "namespaces/posthog/persistentvolumeclaims.json");
    assert!(
        claims
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["spec"]["volumeName"].is_string()
                && c["spec"]["storageClassName"].is_string())
    );
    let secrets = json_file(&files, "namespaces/posthog/secrets.json");
    let extra = secrets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metadata"]["name"] == "extra")
        .expect("the Secret, keys only");
    assert_eq!(extra["data"]["token"], "", "a Secret's data never leaves");
    assert!(
        !secrets
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "helm.sh/release.v1"),
        "helm's records are in release/, redacted"
    );
    let logs: Vec<&(String, String)> = files
        .iter()
        .filter(|(n, _)| n.starts_with("logs/posthog/"))
        .collect();
    assert!(logs.len() >= 9, "a log tail per container: {}", logs.len());
    let web_log = logs
        .iter()
        .find(|(n, _)| n.contains("-web-"))
        .map(|(_, s)| s)
        .unwrap();
    assert!(
        web_log.contains("connecting with password=[REDACTED] to the database"),
        "{web_log}"
    );
    assert!(
        web_log.contains("sasl://posthog:[REDACTED]@kafka:9092"),
        "{web_log}"
    );
    assert!(web_log.contains("loaded [REDACTED]"), "{web_log}");
    assert!(
        web_log.contains("ordinary line about postgresql"),
        "{web_log}"
    );
    // The kubelets' summaries of the nodes the claims are mounted on: this namespace's pods.
    let stats: Vec<Value> = files
        .iter()
        .filter(|(n, _)| n.starts_with("node-stats/"))
        .map(|(n, _)| json_file(&files, n))
        .collect();
    assert!(!stats.is_empty(), "node stats in the bundle");
    let measured: Vec<&Value> = stats
        .iter()
        .flat_map(|s| s["pods"].as_array().unwrap())
        .inspect(|p| assert_eq!(p["podRef"]["namespace"], "posthog", "{p}"))
        .flat_map(|p| p["volume"].as_array().into_iter().flatten())
        .filter(|v| v["pvcRef"].is_object())
        .collect();
    assert_eq!(
        measured.len(),
        claims.as_array().unwrap().len(),
        "every claim measured: {measured:?}"
    );
    let check = json_file(&files, "check.json");
    assert_eq!(check["verdict"], "pass", "{check}");
    assert!(check["pods"].is_object() && check["disks"].is_array());
    assert!(
        check["disks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["usage"]["verdict"] == "pass"),
        "{check}"
    );
    assert!(file(&files, "check.txt").contains("PODS"));
    let audit = file(&files, "audit.jsonl");
    assert_eq!(
        audit.lines().count(),
        1,
        "this release's records only: {audit}"
    );
    assert!(audit.contains("\"action\":\"upgrade\""));
    let meta = json_file(&files, "bundle.json");
    assert_eq!(
        (meta["namespace"].as_str(), meta["release"].as_str()),
        (Some("posthog"), Some("posthog"))
    );

    // A second bundle never replaces the first.
    let again = helmdeck_on(&sim, &helm(4), &["bundle", "-o", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    let other = sim.home.path().join("other.tar.gz");
    let nowhere = helmdeck_on(
        &sim,
        &helm(4),
        &["bundle", "-n", "nowhere", "-o", other.to_str().unwrap()],
    );
    assert_eq!(nowhere.status.code(), Some(2), "{}", text(&nowhere));
    assert!(
        text(&nowhere).contains("no namespace nowhere"),
        "{}",
        text(&nowhere)
    );
    assert!(!other.exists());

    // Replayed: check judges as it judged the live cluster.
    // With no earlier samples, as the replay has none: one reading each, no growth.
    let fresh = tempfile::tempdir().expect("cache");
    let live = sim
        .cmd(helmdeck_bin())
        .env("HELMDECK_CACHE_DIR", fresh.path())
        .args(["check", "--pods", "--disks", "-o", "json"])
        .output()
        .expect("run helmdeck");
    let r = replay(&sim, &out);
    let replayed = on_replay(
        &sim,
        &r,
        helmdeck_bin(),
        &["check", "--pods", "--disks", "-o", "json"],
    );
    assert!(replayed.status.success(), "{}", text(&replayed));
    let (live, replayed): (Value, Value) = (
        serde_json::from_slice(&live.stdout).unwrap(),
        serde_json::from_slice(&replayed.stdout).unwrap(),
    );
    assert_eq!(verdicts(&live), verdicts(&replayed));
    // The disks' usage reads as it was recorded.
    let used = |v: &Value| -> Vec<Value> {
        v["disks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["usage"]["capacity_bytes"].clone())
            .collect()
    };
    assert!(used(&replayed).iter().all(Value::is_u64), "{replayed}");
    assert_eq!(used(&live), used(&replayed));
    assert_eq!(live["verdict"], replayed["verdict"]);
    assert_eq!(live["profile"], replayed["profile"]);

    // kubectl and helm read it; every change is refused as a read-only server refuses it.
    let pods = on_replay(
        &sim,
        &r,
        &kubectl(),
        &["get", "pods", "-n", "posthog", "-o", "name"],
    );
    assert_eq!(
        String::from_utf8_lossy(&pods.stdout).lines().count(),
        pods_count(&files)
    );
    let del = on_replay(
        &sim,
        &r,
        &kubectl(),
        &["delete", "secret", "extra", "-n", "posthog"],
    );
    assert!(!del.status.success());
    assert!(
        text(&del).contains("Error from server (Forbidden)"),
        "{}",
        text(&del)
    );
    assert!(text(&del).contains("read-only"), "{}", text(&del));
    let web = logs.iter().find(|(n, _)| n.contains("-web-")).unwrap();
    let pod = web.0.split('/').nth(2).unwrap();
    let log = on_replay(&sim, &r, &kubectl(), &["logs", "-n", "posthog", pod]);
    assert!(text(&log).contains("password=[REDACTED]"), "{}", text(&log));
    let hist = on_replay(&sim, &r, &helm(4), &["history", "posthog", "-n", "posthog"]);
    assert!(hist.status.success(), "{}", text(&hist));
    assert!(text(&hist).contains("deployed"), "{}", text(&hist));
    let up = on_replay(
        &sim,
        &r,
        &helm(4),
        &["uninstall", "posthog", "-n", "posthog"],
    );
    assert!(!up.status.success(), "{}", text(&up));
    let still = on_replay(&sim, &r, &helm(4), &["status", "posthog", "-n", "posthog"]);
    assert!(
        text(&still).contains("STATUS: deployed"),
        "{}",
        text(&still)
    );
}

fn pods_count(files: &[(String, String)]) -> usize {
    json_file(files, "namespaces/posthog/pods.json")
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn what_is_not_a_bundle_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.tar.gz");
    std::fs::write(&bad, "not an archive").unwrap();
    for args in [
        vec!["open", bad.to_str().unwrap()],
        vec!["sim", "--from-bundle", bad.to_str().unwrap()],
    ] {
        let o = helmdeck_sim::testkit::isolated(helmdeck_bin(), dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("notes.tar.gz is not a helmdeck support bundle"),
            "{}",
            text(&o)
        );
    }
}
