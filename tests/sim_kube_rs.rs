//! kube-rs watchers and reflectors against the simulated cluster, an API restart, the
//! scenarios, and the API's answers to bad input.

mod common;

use std::time::{Duration, Instant};

use common::{Sim, eventually};
use futures::StreamExt;
use helmdeck_sim::{Scenario, SimOptions};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::{Value, json};

async fn client(sim: &Sim) -> kube::Client {
    let kc = Kubeconfig::read_from(&sim.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

fn cm(name: &str, v: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"v": v}})).expect("cm")
}

#[test]
fn reflector_sees_every_change_and_recovers_after_api_restart() {
    let sim = Sim::start(SimOptions::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = client(&sim).await;
        let api: Api<ConfigMap> = Api::namespaced(c, "default");
        let (reader, writer) = reflector::store::<ConfigMap>();
        let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
            .default_backoff()
            .touched_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let s = match item {
                    Ok(o) => format!(
                        "ok {} {}",
                        o.metadata.name.unwrap_or_default(),
                        o.data.and_then(|d| d.get("v").cloned()).unwrap_or_default()
                    ),
                    Err(e) => format!("err {e}"),
                };
                let _ = ev_tx.send(s);
            }
        });
        reader.wait_until_ready().await.expect("ready");
        for i in 0..20 {
            api.create(&PostParams::default(), &cm(&format!("cm-{i}"), "1"))
                .await
                .expect("create");
        }
        let patch = json!({"data": {"v": "2"}});
        api.patch(
            "cm-3",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .expect("patch");
        api.delete("cm-4", &DeleteParams::default())
            .await
            .expect("delete");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = reader.state();
            let has3 = state.iter().any(|c| {
                c.metadata.name.as_deref() == Some("cm-3")
                    && c.data.as_ref().and_then(|d| d.get("v")).map(String::as_str) == Some("2")
            });
            // Ours, and the namespace's kube-root-ca.crt.
            if state.len() == 20 && has3 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "reflector has {} objects",
                state.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut seen = Vec::new();
        while let Ok(e) = ev_rx.try_recv() {
            seen.push(e);
        }
        assert!(seen.iter().any(|e| e == "ok cm-3 2"), "{seen:?}");

        // The API goes away for 1 s: watches drop, requests fail; a change made after it
        // returns must reach the reflector, with the state intact.
        sim.restart_api(Duration::from_secs(1));
        let went_down = Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            api.get("cm-1").await.is_err(),
            "the API should be unreachable while restarting"
        );
        let recovered = loop {
            if api
                .create(&PostParams::default(), &cm("after-restart", "x"))
                .await
                .is_ok()
            {
                break Instant::now();
            }
            assert!(
                went_down.elapsed() < Duration::from_secs(10),
                "API never came back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        loop {
            let state = reader.state();
            if state
                .iter()
                .any(|c| c.metadata.name.as_deref() == Some("after-restart"))
            {
                assert_eq!(state.len(), 21);
                break;
            }
            assert!(
                recovered.elapsed() < Duration::from_secs(5),
                "reflector did not recover within 5 s of the server's return"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

/// Raw HTTP against the simulated API, for status-code checks.
fn http(sim: &Sim, method: &str, path: &str, ct: &str, body: &[u8]) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = sim.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A server that refuses a body early (413) may close before all of it is written: its
    // answer is still there to read.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let code: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        code,
        serde_json::from_str(body.trim()).unwrap_or(Value::Null),
    )
}

#[test]
fn bad_input_gets_real_status_codes_and_never_corrupts_state() {
    let sim = Sim::start(SimOptions::default());
    let cms = "/api/v1/namespaces/default/configmaps";
    let (c, s) = http(&sim, "POST", cms, "application/json", b"{not json");
    assert_eq!((c, s["reason"].as_str()), (400, Some("BadRequest")));
    let (c, _) = http(
        &sim,
        "POST",
        "/api/v1/namespaces/default/widgets",
        "application/json",
        b"{}",
    );
    assert_eq!(c, 404);
    let (c, s) = http(
        &sim,
        "POST",
        cms,
        "application/json",
        br#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
    );
    assert_eq!(c, 400, "{s}");
    let (c, s) = http(
        &sim,
        "POST",
        cms,
        "application/json",
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
    );
    assert_eq!((c, s["reason"].as_str()), (422, Some("Invalid")));
    let ok = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}"#;
    assert_eq!(http(&sim, "POST", cms, "application/json", ok).0, 201);
    let (c, s) = http(&sim, "POST", cms, "application/json", ok);
    assert_eq!((c, s["reason"].as_str()), (409, Some("AlreadyExists")));
    let stale = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"},"data":{"k":"w"}}"#;
    let (c, s) = http(&sim, "PUT", &format!("{cms}/a"), "application/json", stale);
    assert_eq!((c, s["reason"].as_str()), (409, Some("Conflict")));
    let (c, s) = http(
        &sim,
        "GET",
        &format!("{cms}/missing"),
        "application/json",
        b"",
    );
    assert_eq!(
        (c, s["reason"].as_str(), s["kind"].as_str()),
        (404, Some("NotFound"), Some("Status"))
    );
    let big = vec![b' '; 4 * 1024 * 1024];
    assert_eq!(http(&sim, "POST", cms, "application/json", &big).0, 413);
    // Immutable StatefulSet fields.
    let sts = json!({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},
        "spec":{"selector":{"matchLabels":{"a":"b"}},"serviceName":"db","template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}},
        "volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}});
    let stsp = "/apis/apps/v1/namespaces/default/statefulsets";
    assert_eq!(
        http(
            &sim,
            "POST",
            stsp,
            "application/json",
            sts.to_string().as_bytes()
        )
        .0,
        201
    );
    let patch = json!({"spec":{"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"2Gi"}}}}]}});
    let (c, s) = http(
        &sim,
        "PATCH",
        &format!("{stsp}/db"),
        "application/merge-patch+json",
        patch.to_string().as_bytes(),
    );
    assert_eq!(c, 422, "{s}");
    assert!(
        s["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Forbidden: updates to statefulset spec"),
        "{s}"
    );
    // Watch from a compacted version: an ERROR event with 410.
    let (c, s) = http(
        &sim,
        "GET",
        &format!("{cms}?watch=true&resourceVersion=1"),
        "application/json",
        b"",
    );
    assert_eq!(c, 200);
    assert_eq!(
        (s["type"].as_str(), s["object"]["code"].as_i64()),
        (Some("ERROR"), Some(410))
    );
    // The server still works and kept its state.
    let (c, s) = http(&sim, "GET", &format!("{cms}/a"), "application/json", b"");
    assert_eq!((c, s["data"]["k"].as_str()), (200, Some("v")));
}

#[test]
fn scenario_crashloop_and_image_pull_error() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![
            Scenario::Crashloop("web".into()),
            Scenario::ImagePullError("events".into()),
        ],
        ..Default::default()
    });
    let pod = |name: &str, role: &str| {
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"labels":{"role":role}},
        "spec":{"containers":[{"name":"app","image":"posthog/posthog:1.43.0"}]}})
    };
    let pods = "/api/v1/namespaces/default/pods";
    assert_eq!(
        http(
            &sim,
            "POST",
            pods,
            "application/json",
            pod("w", "web").to_string().as_bytes()
        )
        .0,
        201
    );
    assert_eq!(
        http(
            &sim,
            "POST",
            pods,
            "application/json",
            pod("e", "events").to_string().as_bytes()
        )
        .0,
        201
    );
    eventually(20, "crash-looping web pod with restarts", || {
        let (_, p) = http(&sim, "GET", &format!("{pods}/w"), "", b"");
        let cs = &p["status"]["containerStatuses"][0];
        (cs["restartCount"].as_i64().unwrap_or(0) >= 2
            && cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
            && cs["lastState"]["terminated"]["reason"] == "Error")
            .then_some(())
    });
    eventually(20, "image pull back-off", || {
        let (_, p) = http(&sim, "GET", &format!("{pods}/e"), "", b"");
        (p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff")
            .then_some(())
    });
}

#[test]
fn scenario_small_nodes_leaves_pods_pending_with_failed_scheduling() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![Scenario::SmallNodes],
        ..Default::default()
    });
    let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},
        "spec":{"containers":[{"name":"app","image":"x:1","resources":{"requests":{"cpu":"2","memory":"1Gi"}}}]}});
    assert_eq!(
        http(
            &sim,
            "POST",
            "/api/v1/namespaces/default/pods",
            "application/json",
            pod.to_string().as_bytes()
        )
        .0,
        201
    );
    eventually(10, "FailedScheduling", || {
        let evs = sim.objects("", "events", Some("default"));
        evs.iter()
            .find(|e| {
                e["reason"] == "FailedScheduling"
                    && e["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("Insufficient cpu")
            })
            .cloned()
    });
    let nodes = sim.objects("", "nodes", None);
    assert_eq!(nodes.len(), 1);
    let (_, p) = http(&sim, "GET", "/api/v1/namespaces/default/pods/big", "", b"");
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["conditions"][0]["reason"], "Unschedulable");
}

#[test]
fn scenario_unencrypted_storage_provisions_unencrypted_ebs_volumes() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![Scenario::UnencryptedStorage],
        ..Default::default()
    });
    let pvc = json!({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"d"},
        "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}});
    let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
        "spec":{"containers":[{"name":"app","image":"x:1"}],"volumes":[{"name":"d","persistentVolumeClaim":{"claimName":"d"}}]}});
    http(
        &sim,
        "POST",
        "/api/v1/namespaces/default/persistentvolumeclaims",
        "application/json",
        pvc.to_string().as_bytes(),
    );
    http(
        &sim,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        pod.to_string().as_bytes(),
    );
    let pv = eventually(10, "a bound volume", || {
        sim.objects("", "persistentvolumes", None)
            .into_iter()
            .next()
    });
    assert_eq!(pv["spec"]["csi"]["driver"], "kubernetes.io/aws-ebs");
    assert!(pv["spec"]["csi"]["volumeAttributes"]["encrypted"].is_null());
    assert_eq!(pv["spec"]["storageClassName"], "gp2");
}

#[test]
fn scenario_latency_and_scale() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![
            Scenario::Latency(Duration::from_millis(200)),
            Scenario::Scale {
                namespaces: 4,
                pods: 400,
            },
        ],
        ..Default::default()
    });
    let t = Instant::now();
    let (c, list) = http(&sim, "GET", "/api/v1/pods?limit=150", "", b"");
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(c, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(150));
    assert_eq!(list["metadata"]["remainingItemCount"], 250);
    let token = list["metadata"]["continue"].as_str().unwrap().to_string();
    let (_, rest) = http(
        &sim,
        "GET",
        &format!("/api/v1/pods?limit=1000&continue={token}"),
        "",
        b"",
    );
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(250));
    let (_, ns) = http(
        &sim,
        "GET",
        "/api/v1/namespaces/scale-2/pods?labelSelector=role%3Dweb&fieldSelector=status.phase%3DRunning",
        "",
        b"",
    );
    assert_eq!(ns["items"].as_array().map(Vec::len), Some(25));
}
