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
    let bad = sim.fails(&k, &["create", "namespace", "a.b"]);
    assert!(bad.contains("RFC 1123 label"), "{bad}");
    let bad = sim.fails(&k, &["get", "pods", "--field-selector", "spec.foo=bar"]);
    assert!(bad.contains("field label not supported: spec.foo"), "{bad}");
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

/// One raw HTTP/1.1 request to the simulated cluster: its status code and body.
fn raw_request(
    sim: &Sim,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = sim.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the simulated cluster");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the answer");
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, answer)
}

/// Objects a real API server refuses are refused here with its status code and its words, and
/// nothing of them is stored: a body its typed decoder cannot read (400), field values its
/// validators refuse (422 with field paths), request options (422) and media types (415).
#[test]
fn objects_a_real_server_refuses_are_refused_with_its_code() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let deploy = |spec_extra: &str, container_extra: &str, labels: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: bad, namespace: default, labels: {{{labels}}}}}\nspec:\n  {spec_extra}\n  selector: {{matchLabels: {{app: a}}}}\n  template:\n    metadata: {{labels: {{app: a}}}}\n    spec:\n      containers:\n        - {{name: a, image: nginx{container_extra}}}\n"
        )
    };
    let cases = [
        (
            deploy("replicas: \"three\"", "", "app: a"),
            "Error from server (BadRequest)",
            "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        (
            deploy("replicas: 1", ", resources: {limits: {cpu: lots}}", "app: a"),
            "Error from server (BadRequest)",
            "quantities must match the regular expression",
        ),
        (
            deploy("replicas: 1", ", ports: [{containerPort: 99999}]", "app: a"),
            "is invalid",
            "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 99999: must be between 1 and 65535, inclusive",
        ),
        (
            deploy("replicas: 1", "", "\"bad key!\": a"),
            "is invalid",
            "metadata.labels: Invalid value: \"bad key!\": name part must consist of alphanumeric characters",
        ),
        (
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bad, namespace: default}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: -5Gi}}\n".to_string(),
            "is invalid",
            "spec.resources[storage]: Invalid value: \"-5Gi\": must be greater than zero",
        ),
    ];
    for (i, (yaml, kind_of_error, words)) in cases.iter().enumerate() {
        let file = sim.home.path().join(format!("bad-{i}.yaml"));
        write(&file, yaml);
        let out = sim
            .cmd(&k)
            .args(["create", "-f", file.to_str().unwrap()])
            .output()
            .expect("run kubectl");
        let err = common::stderr(&out);
        assert!(!out.status.success(), "case {i} was accepted: {yaml}");
        assert!(
            err.contains(kind_of_error) && err.contains(words),
            "case {i}: {err}"
        );
    }
    let stored = sim.run(&k, &["get", "deployments,pvc", "-o", "name"]);
    assert!(
        stored.trim().is_empty(),
        "refused objects were stored: {stored}"
    );

    // The same bodies over HTTP: the codes a real server answers with.
    let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bad"},"spec":{"replicas":"three","selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"a","image":"nginx"}]}}}}"#;
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    assert_eq!(
        raw_request(&sim, "POST", deployments, "application/json", body).0,
        400
    );
    let (code, answer) = raw_request(&sim, "POST", deployments, "text/plain", body);
    assert_eq!(code, 415, "{answer}");
    assert!(answer.contains("UnsupportedMediaType"), "{answer}");
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#;
    let manager = "m".repeat(129);
    let (code, answer) = raw_request(
        &sim,
        "POST",
        &format!("/api/v1/namespaces/default/configmaps?fieldManager={manager}"),
        "application/json",
        cm,
    );
    assert_eq!(code, 422, "{answer}");
    assert!(answer.contains("CreateOptions.meta.k8s.io"), "{answer}");
    let (code, _) = raw_request(
        &sim,
        "POST",
        &format!(
            "/api/v1/namespaces/default/configmaps?fieldManager={}",
            &manager[..128]
        ),
        "application/json",
        cm,
    );
    assert_eq!(code, 201);
    let (code, answer) = raw_request(
        &sim,
        "DELETE",
        "/api/v1/namespaces/default/configmaps/c?propagationPolicy=Sideways",
        "application/json",
        "",
    );
    assert_eq!(code, 422, "{answer}");
    assert!(
        answer.contains("Unsupported value: \\\"Sideways\\\""),
        "{answer}"
    );
    assert!(
        sim.run(&k, &["get", "configmap", "c", "-o", "name"])
            .contains("configmap/c")
    );
}

/// Every `kubectl create` generator sends its object as protobuf, and each is read into the
/// object kubectl meant (checked through JSON); `auth can-i --list`, `auth whoami` and
/// `autoscale` send their reviews and autoscaler the same way.
#[test]
fn every_kubectl_create_generator_is_understood() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let generators: &[&[&str]] = &[
        &["job", "j", "--image=busybox:1.36"],
        &[
            "cronjob",
            "cj",
            "--image=busybox:1.36",
            "--schedule=*/5 * * * *",
        ],
        &["service", "clusterip", "s", "--tcp=80:8080"],
        &["serviceaccount", "sa"],
        &["role", "r", "--verb=get", "--resource=pods"],
        &[
            "rolebinding",
            "rb",
            "--role=r",
            "--serviceaccount=default:sa",
        ],
        &["clusterrole", "cr", "--verb=get", "--resource=nodes"],
        &["clusterrolebinding", "crb", "--clusterrole=cr", "--user=u"],
        &["ingress", "ing", "--rule=a.example.com/=s:80"],
        &["pdb", "p", "--selector=app=a", "--min-available=1"],
        &["priorityclass", "pc", "--value=1000"],
        &["quota", "q", "--hard=pods=10"],
        &["deployment", "web", "--image=nginx:1.27"],
    ];
    for g in generators {
        let out = sim
            .cmd(&k)
            .arg("create")
            .args(*g)
            .output()
            .expect("run kubectl");
        assert!(
            out.status.success(),
            "kubectl create {}: {}",
            g.join(" "),
            common::stderr(&out)
        );
    }
    let field =
        |what: &str, path: &str| sim.run(&k, &["get", what, "-o", &format!("jsonpath={{{path}}}")]);
    assert_eq!(
        field("job/j", ".spec.template.spec.containers[0].image"),
        "busybox:1.36"
    );
    assert_eq!(field("cronjob/cj", ".spec.schedule"), "*/5 * * * *");
    assert_eq!(field("service/s", ".spec.ports[0].targetPort"), "8080");
    assert_eq!(field("role/r", ".rules[0].verbs[0]"), "get");
    assert_eq!(field("rolebinding/rb", ".subjects[0].name"), "sa");
    assert_eq!(field("clusterrolebinding/crb", ".roleRef.name"), "cr");
    assert_eq!(
        field(
            "ingress/ing",
            ".spec.rules[0].http.paths[0].backend.service.port.number"
        ),
        "80"
    );
    assert_eq!(field("pdb/p", ".spec.minAvailable"), "1");
    assert_eq!(field("priorityclass/pc", ".value"), "1000");
    assert_eq!(field("quota/q", ".spec.hard.pods"), "10");
    assert!(
        sim.run(&k, &["get", "sa", "sa", "-o", "name"])
            .contains("serviceaccount/sa")
    );
    assert!(
        sim.run(&k, &["get", "clusterrole", "cr", "-o", "name"])
            .contains("cr")
    );

    let rules = sim.run(&k, &["auth", "can-i", "--list"]);
    assert!(rules.contains("*.*") || rules.contains("[*]"), "{rules}");
    let me = sim.run(&k, &["auth", "whoami"]);
    assert!(me.contains("helmdeck-sim"), "{me}");
    let out = sim.run(
        &k,
        &[
            "autoscale",
            "deployment",
            "web",
            "--min=1",
            "--max=3",
            "--cpu-percent=80",
        ],
    );
    assert!(out.contains("autoscaled"), "{out}");
    assert_eq!(field("hpa/web", ".spec.maxReplicas"), "3");
}

const CRD_WITH_COLUMNS: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
      additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
        - {name: Phase, type: string, jsonPath: .status.phase}
        - {name: Colour, type: string, jsonPath: .spec.colour, priority: 1}
"#;

const WIDGET: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: default}
spec: {size: 3, colour: blue}
"#;

/// `kubectl get` prints the columns a real server chooses for storage classes, nodes (with
/// `-o wide`), events, CRDs and the built-in APIServices (each local, so Available), and a
/// custom resource's own printer columns.
#[test]
fn kubectl_get_prints_each_kinds_columns() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let header = |out: &str| -> Vec<String> {
        out.lines()
            .next()
            .unwrap_or("")
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let sc = sim.run(&k, &["get", "storageclass"]);
    assert_eq!(
        header(&sc),
        [
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE"
        ],
        "{sc}"
    );
    assert!(sc.contains("(default)"), "{sc}");
    let nodes = sim.run(&k, &["get", "nodes", "-o", "wide"]);
    let h = header(&nodes);
    for c in ["INTERNAL-IP", "OS-IMAGE", "CONTAINER-RUNTIME"] {
        assert!(h.iter().any(|x| x == c), "{nodes}");
    }
    for (name, text) in [("crd.yaml", CRD_WITH_COLUMNS), ("widget.yaml", WIDGET)] {
        let file = sim.home.path().join(name);
        write(&file, text);
        sim.run(&k, &["apply", "-f", file.to_str().unwrap()]);
    }
    let services = sim.run(&k, &["get", "apiservices"]);
    assert_eq!(
        header(&services),
        ["NAME", "SERVICE", "AVAILABLE", "AGE"],
        "{services}"
    );
    for gv in ["v1.", "v1.apps", "v2.autoscaling"] {
        assert!(
            services
                .lines()
                .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == [gv, "Local", "True"]),
            "{gv}: {services}"
        );
    }
    let crd = sim.run(&k, &["get", "crd"]);
    assert_eq!(header(&crd), ["NAME", "CREATED AT"], "{crd}");
    let widgets = sim.run(&k, &["get", "widgets"]);
    assert_eq!(header(&widgets), ["NAME", "SIZE", "PHASE"], "{widgets}");
    assert!(
        widgets
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with('w') && l.contains(" 3 ")),
        "{widgets}"
    );
    let wide = sim.run(&k, &["get", "widgets", "-o", "wide"]);
    assert!(wide.contains("COLOUR") && wide.contains("blue"), "{wide}");
    sim.run(&k, &["create", "deployment", "web", "--image=nginx:1.27"]);
    let events = eventually(30, "an event", || {
        let e = sim.run(&k, &["get", "events"]);
        (e.lines().count() > 1).then_some(e)
    });
    assert_eq!(
        header(&events),
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{events}"
    );
}

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: posthog-web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: posthog, role: web}}
  template:
    metadata: {labels: {app: posthog, role: web}}
    spec:
      containers:
        - name: posthog-web
          image: posthog/posthog:release-1.43.0
          ports: [{name: http, containerPort: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: posthog-web, namespace: default}
spec:
  selector: {app: posthog, role: web}
  ports: [{name: http, port: 8000, targetPort: http}]
"#;

/// `kubectl port-forward` to the web Service reaches the simulated PostHog behind it over
/// SPDY, request after request; `exec`, `attach` and `debug` negotiate and then end with the
/// runtime's clear failure (the simulated cluster runs no processes), a non-zero exit and no
/// panic; `create token` gets a token for the account.
#[test]
fn port_forward_reaches_the_web_service_and_exec_attach_debug_fail_clearly() {
    let sim = Sim::start(SimOptions::default());
    let k = kubectl();
    let file = sim.home.path().join("web.yaml");
    write(&file, WEB);
    sim.run(&k, &["apply", "-f", file.to_str().unwrap()]);
    sim.run(
        &k,
        &[
            "rollout",
            "status",
            "deployment/posthog-web",
            "--timeout=60s",
        ],
    );
    let (mut forward, port) = common::port_forward(&sim, &["svc/posthog-web", ":8000"]);
    let ask = |path: &str| common::http_get(port, path);
    let live = ask("/_livez");
    assert!(
        live.starts_with("HTTP/1.1 200") && live.contains("\"http\":true"),
        "{live}"
    );
    let ready = ask("/_readyz?role=web");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let _ = forward.kill();
    let _ = forward.wait();

    for verb in [
        &["exec", "deploy/posthog-web", "--", "sh", "-c", "true"][..],
        &["attach", "deploy/posthog-web"][..],
    ] {
        let err = sim.fails(&k, verb);
        assert!(err.contains("runs no processes"), "{verb:?}: {err}");
    }

    // `kubectl debug` adds an ephemeral container, which starts, and then fails as attach does.
    let pods = sim.run(&k, &["get", "pods", "-l", "role=web", "-o", "name"]);
    let pod = pods.lines().next().expect("a web pod");
    let err = sim.fails(
        &k,
        &["debug", pod, "--image=busybox:1.36", "-it", "--", "sh"],
    );
    assert!(err.contains("runs no processes"), "{err}");
    let names = sim.run(
        &k,
        &[
            "get",
            pod,
            "-o",
            "jsonpath={.status.ephemeralContainerStatuses[*].name}",
        ],
    );
    assert!(names.starts_with("debugger-"), "{names}");

    // `kubectl create token`: a token whose claims name the account, for at least 10 minutes.
    use base64::Engine;
    sim.run(&k, &["create", "serviceaccount", "robot"]);
    let token = sim.run(&k, &["create", "token", "robot"]);
    let claims = token
        .trim()
        .split('.')
        .nth(1)
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
        })
        .and_then(|c| serde_json::from_slice::<serde_json::Value>(&c).ok())
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    assert_eq!(claims["sub"], "system:serviceaccount:default:robot");
    let short = sim.fails(&k, &["create", "token", "robot", "--duration=1m"]);
    assert!(short.contains("less than 10 minutes"), "{short}");
}

const EVENTS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: posthog-events, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: posthog, role: events}}
  template:
    metadata: {labels: {app: posthog, role: events}}
    spec:
      containers:
        - name: posthog-events
          image: posthog/posthog:release-1.43.0
          ports: [{name: http, containerPort: 8000}]
          resources:
            requests: {cpu: 500m, memory: 256Mi}
            limits: {cpu: "2", memory: 1Gi}
---
apiVersion: v1
kind: Service
metadata: {name: posthog-events, namespace: default}
spec:
  selector: {app: posthog, role: events}
  ports: [{name: http, port: 8000, targetPort: http}]
"#;

/// The CPU `kubectl top` prints for the events pod, in millicores.
fn events_cpu(sim: &Sim) -> u64 {
    let top = sim.run(
        &kubectl(),
        &["top", "pod", "-l", "role=events", "--no-headers"],
    );
    let cpu = top.split_whitespace().nth(1).unwrap_or_default();
    cpu.trim_end_matches('m')
        .parse()
        .unwrap_or_else(|_| panic!("no CPU in {top:?}"))
}

/// `kubectl top` reads the simulated metrics-server: each running pod's usage follows its
/// requests, the events pod's rises with the events captured, nodes add their pods up, and
/// the API is read-only as metrics-server's is. Without metrics-server (the default cluster,
/// as a bare kind or EKS one), `top` fails as on such a cluster.
#[test]
fn kubectl_top_reads_usage_that_follows_requests_and_load() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::scenario::Scenario::MetricsServer],
        ..SimOptions::default()
    });
    let k = kubectl();
    let file = sim.home.path().join("events.yaml");
    write(&file, EVENTS);
    sim.run(&k, &["apply", "-f", file.to_str().unwrap()]);
    sim.run(
        &k,
        &[
            "rollout",
            "status",
            "deployment/posthog-events",
            "--timeout=60s",
        ],
    );
    let idle = events_cpu(&sim);
    assert!(
        (100..=300).contains(&idle),
        "a share of the 500m requested: {idle}m"
    );
    let memory = sim.run(&k, &["top", "pod", "-l", "role=events", "--no-headers"]);
    assert!(memory.contains("Mi"), "{memory}");
    // 12,000 events in the last minute (200 a second) cost the events pod 400m more.
    let batch: Vec<String> = (0..12_000)
        .map(|i| {
            format!(
                r#"{{"event":"load","distinct_id":"u{}","properties":{{}}}}"#,
                i % 50
            )
        })
        .collect();
    let body = format!(r#"{{"api_key":"phc_test","batch":[{}]}}"#, batch.join(","));
    let (code, answer) = raw_request(
        &sim,
        "POST",
        "/api/v1/namespaces/default/services/posthog-events:8000/proxy/batch/",
        "application/json",
        &body,
    );
    assert_eq!(code, 200, "{answer}");
    // Idle usage drifts between 20 % and 60 % of the 500m requested (100m to 300m); the
    // load's 400m puts it above that whole range, however the drift moved meanwhile.
    let loaded = events_cpu(&sim);
    assert!(
        loaded >= 400,
        "capture load raises CPU past the idle range: {idle}m before, {loaded}m after"
    );
    let nodes = sim.run(&k, &["top", "node", "--no-headers"]);
    assert!(nodes.lines().count() >= 1 && nodes.contains('%'), "{nodes}");
    // Read-only: metrics-server refuses writes.
    let err = sim.fails(&k, &["delete", "podmetrics.metrics.k8s.io", "--all"]);
    assert!(
        err.contains("MethodNotAllowed") || err.contains("not allow"),
        "{err}"
    );

    let bare = Sim::start(SimOptions::default());
    let err = bare.fails(&k, &["top", "node"]);
    assert!(err.contains("Metrics API not available"), "{err}");
}
