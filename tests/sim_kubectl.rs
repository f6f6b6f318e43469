//! The real kubectl against the simulated cluster.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{Sim, eventually, kubectl, write};
use helmdeck_sim::SimOptions;

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: default
  labels: {app: hello}
spec:
  replicas: 2
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
        - name: hello
          image: nginx:1.27
          readinessProbe:
            httpGet: {path: /, port: 80}
            initialDelaySeconds: 2
"#;

#[test]
fn kubectl_apply_get_describe_logs_rollout_wait_delete() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let file = sim.home.path().join("deploy.yaml");
    write(&file, DEPLOY);
    let f = file.to_str().unwrap();
    let out = sim.run(&k, &["apply", "-f", f]);
    assert!(out.contains("deployment.apps/hello created"), "{out}");
    sim.run(
        &k,
        &["rollout", "status", "deployment/hello", "--timeout=60s"],
    );
    sim.run(
        &k,
        &[
            "wait",
            "--for=condition=Available",
            "deployment/hello",
            "--timeout=60s",
        ],
    );
    let pods = sim.run(&k, &["get", "pods", "-l", "app=hello", "-o", "name"]);
    assert_eq!(pods.lines().count(), 2, "{pods}");
    let pod = pods.lines().next().unwrap().trim().to_string();
    let described = sim.run(&k, &["describe", &pod]);
    assert!(
        described.contains("Status:") && described.contains("Running"),
        "{described}"
    );
    assert!(
        described.contains("Scheduled"),
        "events missing:\n{described}"
    );
    let logs = sim.run(&k, &["logs", &pod]);
    assert!(logs.contains("starting hello"), "{logs}");

    // Re-apply with a change (client-side apply patches with a 3-way strategic merge).
    write(
        &file,
        &DEPLOY
            .replace("replicas: 2", "replicas: 3")
            .replace("nginx:1.27", "nginx:1.28"),
    );
    let out = sim.run(&k, &["apply", "-f", f]);
    assert!(out.contains("configured"), "{out}");
    sim.run(
        &k,
        &["rollout", "status", "deployment/hello", "--timeout=60s"],
    );
    let img = sim.run(
        &k,
        &[
            "get",
            "deployment",
            "hello",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image} {.status.readyReplicas}",
        ],
    );
    assert_eq!(img.trim(), "nginx:1.28 3");

    // Server-side apply takes over the object.
    write(&file, &DEPLOY.replace("replicas: 2", "replicas: 1"));
    let out = sim.run(
        &k,
        &["apply", "--server-side", "--force-conflicts", "-f", f],
    );
    assert!(out.contains("serverside-applied"), "{out}");
    let mf = sim.run(
        &k,
        &[
            "get",
            "deployment",
            "hello",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.managedFields[*].manager}",
        ],
    );
    assert!(mf.starts_with("1 ") && mf.contains("kubectl"), "{mf}");

    sim.run(&k, &["delete", "-f", f, "--wait=true"]);
    eventually(20, "pods to be garbage collected", || {
        sim.objects("", "pods", Some("default"))
            .is_empty()
            .then_some(())
    });
}

#[test]
fn kubectl_get_watch_streams_changes() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let mut child = sim
        .cmd(&k)
        .args(["get", "configmaps", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // kubectl's watch may not be open yet: create until the object shows up as an event.
    let mut seen = Vec::new();
    eventually(30, "a watch event for cm-watched", || {
        let _ = sim
            .cmd(&k)
            .args(["create", "configmap", "cm-watched", "--from-literal=a=b"])
            .output();
        while let Ok(l) = rx.try_recv() {
            seen.push(l);
        }
        seen.iter().any(|l| l.contains("cm-watched")).then_some(())
    });
    sim.run(&k, &["delete", "configmap", "cm-watched"]);
    eventually(30, "the DELETED event", || {
        while let Ok(l) = rx.try_recv() {
            seen.push(l);
        }
        seen.iter()
            .any(|l| l.contains("DELETED") && l.contains("cm-watched"))
            .then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
}

const STATEFUL: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
"#;

#[test]
fn kubectl_imperative_commands_and_server_side_columns() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    // `create` sends protobuf bodies.
    let out = sim.run(&k, &["create", "namespace", "shop"]);
    assert!(out.contains("namespace/shop created"), "{out}");
    let out = sim.run(
        &k,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=2",
            "-n",
            "shop",
        ],
    );
    assert!(out.contains("deployment.apps/web created"), "{out}");
    assert_eq!(
        sim.run(&k, &["auth", "can-i", "create", "pods"]).trim(),
        "yes"
    );
    sim.run(
        &k,
        &[
            "rollout",
            "status",
            "deploy/web",
            "-n",
            "shop",
            "--timeout=60s",
        ],
    );
    let out = sim.run(&k, &["scale", "deploy/web", "--replicas=3", "-n", "shop"]);
    assert!(out.contains("scaled"), "{out}");
    eventually(60, "three ready replicas", || {
        let d = sim.objects("apps", "deployments", Some("shop"));
        (d[0]["status"]["readyReplicas"] == 3).then_some(())
    });
    // Server-side printing: the usual columns, and the `all` category.
    let pods = sim.run(&k, &["get", "pods", "-n", "shop"]);
    let header: Vec<&str> = pods
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{pods}"
    );
    assert_eq!(
        pods.lines()
            .filter(|l| l.contains(" 1/1 ") && l.contains("Running"))
            .count(),
        3,
        "{pods}"
    );
    let all = sim.run(&k, &["get", "all", "-n", "shop"]);
    assert!(
        all.contains("pod/web-")
            && all.contains("deployment.apps/web")
            && all.contains("replicaset.apps/web-"),
        "{all}"
    );
    // StatefulSet history and undo, through ControllerRevisions.
    let file = sim.home.path().join("sts.yaml");
    write(&file, STATEFUL);
    sim.run(&k, &["apply", "-f", file.to_str().unwrap()]);
    sim.run(&k, &["set", "image", "sts/db", "db=postgres:17"]);
    eventually(30, "two revisions", || {
        let h = sim.run(&k, &["rollout", "history", "sts/db"]);
        (h.lines()
            .filter(|l| l.starts_with('1') || l.starts_with('2'))
            .count()
            == 2)
            .then_some(())
    });
    sim.run(&k, &["rollout", "undo", "sts/db"]);
    let image = sim.run(
        &k,
        &[
            "get",
            "sts",
            "db",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "postgres:16");
}

#[test]
fn kubectl_gets_the_servers_refusals() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let bad = sim
        .cmd(&k)
        .args(["create", "namespace", "a.b"])
        .output()
        .expect("run kubectl");
    assert!(!bad.status.success());
    assert!(
        common::stderr(&bad).contains("RFC 1123 label"),
        "{}",
        common::stderr(&bad)
    );
    let bad = sim
        .cmd(&k)
        .args(["get", "pods", "--field-selector", "spec.foo=bar"])
        .output()
        .expect("run kubectl");
    assert!(!bad.status.success());
    assert!(
        common::stderr(&bad).contains("field label not supported: spec.foo"),
        "{}",
        common::stderr(&bad)
    );
}

const CRONJOB: &str = r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
  namespace: default
spec:
  schedule: "*/2 * * * *"
  successfulJobsHistoryLimit: 2
  jobTemplate:
    metadata:
      labels: {app: backup}
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: backup
              image: clickhouse/clickhouse-backup:2.4
"#;

/// A `*/2 * * * *` CronJob makes a Job every two minutes of the simulated clock, named and
/// annotated as the real controller names them, keeps the successful ones its history limit
/// allows, and says when it last ran; schedules and time zones a real server refuses are
/// refused with 422.
#[test]
fn a_cronjob_makes_jobs_on_the_simulated_clock() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let file = sim.home.path().join("cronjob.yaml");
    write(&file, CRONJOB);
    sim.run(&k, &["apply", "-f", file.to_str().unwrap()]);
    // Three schedules are 6 minutes of the simulated clock: 18 s of real time at the default
    // time factor; the deadline is generous for a busy machine.
    let made = eventually(180, "three jobs made", || {
        let events = sim.run(
            &k,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=backup",
                "-o",
                "jsonpath={.items[*].message}",
            ],
        );
        (events.matches("Created job backup-").count() >= 3).then_some(events)
    });
    let jobs = sim.objects("batch", "jobs", Some("default"));
    for j in &jobs {
        let name = j["metadata"]["name"].as_str().unwrap();
        let minutes: u64 = name.strip_prefix("backup-").unwrap().parse().unwrap();
        assert_eq!(minutes % 2, 0, "{name}: scheduled on an even minute");
        let scheduled =
            j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
                .as_str()
                .unwrap();
        assert!(scheduled.ends_with(":00Z"), "{scheduled}");
        assert_eq!(j["metadata"]["ownerReferences"][0]["kind"], "CronJob");
        assert_eq!(j["metadata"]["labels"]["app"], "backup");
    }
    // Past two finished successes, the oldest go (a Job may finish between two rounds of the
    // controller, so the count is looked at until a round has trimmed it).
    eventually(180, "an old job deleted and two kept", || {
        let events = sim.run(
            &k,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=backup",
                "-o",
                "jsonpath={.items[*].message}",
            ],
        );
        let succeeded = sim
            .objects("batch", "jobs", Some("default"))
            .iter()
            .filter(|j| j["status"]["succeeded"].as_i64() == Some(1))
            .count();
        (events.contains("Deleted job backup-") && succeeded <= 2).then_some(())
    });
    assert!(made.contains("Created job backup-"));
    let last = sim.run(
        &k,
        &[
            "get",
            "cronjob",
            "backup",
            "-o",
            "jsonpath={.status.lastScheduleTime}",
        ],
    );
    assert!(last.ends_with(":00Z"), "{last}");
    // What a real server refuses.
    for (change, says) in [
        ("\"61 * * * *\"", "spec.schedule: Invalid value"),
        (
            "\"*/2 * * * *\"\n  timeZone: Mars/Olympus",
            "unknown time zone Mars/Olympus",
        ),
    ] {
        let bad = sim.home.path().join("bad-cronjob.yaml");
        write(
            &bad,
            &CRONJOB
                .replace("\"*/2 * * * *\"", change)
                .replace("name: backup\n", "name: bad\n"),
        );
        let o = sim
            .cmd(&k)
            .args(["apply", "-f", bad.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(common::text(&o).contains(says), "{}", common::text(&o));
    }
}
