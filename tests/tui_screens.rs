//! Every screen of the app rendered into ratatui's TestBackend at 80×24 and 160×48, driven by
//! key events and background messages, and compared with reviewed snapshots (insta).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use helmdeck::cluster::probe::{EndpointRecord, Exchange, ProbeRecord};
use helmdeck::cluster::releases::ReleaseInfo;
use helmdeck::cluster::watch::{Connection, Snapshot};
use helmdeck::deploy::{self, Event, Outcome, Step, StepState, ValueChange};
use helmdeck::health::objects::ObjectKind;
use helmdeck::tui::app::{App, Effect, Msg, Options, Route};
use helmdeck::tui::messages::PlanTicket;
use helmdeck::tui::screens::dashboard::Pane;
use helmdeck::verdict::{Check, Verdict};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};

/// 2026-11-25T12:00:00Z: every age on screen is measured from here.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_608_000)
}

fn app() -> App {
    let profiles: Vec<_> = helmdeck::profile::ProfileSet::load(None)
        .unwrap()
        .iter()
        .cloned()
        .collect();
    App::new(
        Options {
            context: "helmdeck-sim".into(),
            namespace: "posthog".into(),
            release: "posthog".into(),
            readonly: false,
            profile: Some("local".into()),
            helm: Ok("v4.1.4".into()),
            no_color: true,
            log_file: None,
            tls_unverified: false,
            simulated: true,
            scope: "127.0.0.1_6443-0a1b2c3d".into(),
        },
        profiles,
        now(),
    )
}

/// A plan as the engine returns it, for an install of posthog on `profile`.
fn ticket(profile: &str) -> Box<PlanTicket> {
    Box::new(PlanTicket {
        id: 7,
        plan: deploy::Plan {
            action: deploy::Action::Install,
            release: "posthog".into(),
            namespace: "posthog".into(),
            chart: "posthog".into(),
            chart_version: "0.1.0".into(),
            app_version: Some("1.43.0".into()),
            from: None,
            profile: Some(profile.into()),
            values: Default::default(),
            values_sha256: "0".repeat(64),
            changes: Vec::new(),
            manifest: None,
            checks: Vec::new(),
            based_on: None,
            upgrade: None,
            objects: Vec::new(),
            resize: Vec::new(),
            pin: None,
        },
        stop: deploy::StopAt {
            index: 0,
            total: 1,
            version: None,
            why: None,
            pin_app: None,
            gate: Vec::new(),
        },
        reply: helmdeck::tui::messages::Reply::none(),
    })
}

/// A key, and what the event loop does at once with its effects: a values review is
/// rendered (the loop does it off the UI thread) and its answer delivered; the other
/// effects are returned.
/// Walks the wizard with its defaults on the local profile and confirms: the run screen of
/// an install whose helm has just started.
fn start_install(a: &mut App) {
    key(a, KeyCode::Char('i'));
    key(a, KeyCode::Enter);
    key(a, KeyCode::Enter);
    key(a, KeyCode::Enter);
    a.update(Msg::PlanDone(Ok(ticket("local"))));
    key(a, KeyCode::Enter);
    key(a, KeyCode::Char('y'));
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let effects = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    settle(app, effects)
}

fn settle(app: &mut App, effects: Vec<Effect>) -> Vec<Effect> {
    let mut out = Vec::new();
    for e in effects {
        match e {
            Effect::Review(job) => {
                let r = helmdeck::tui::screens::wizard::review(&job).map_err(|e| e.to_string());
                let more = app.update(Msg::Reviewed(job.id, r));
                out.extend(settle(app, more));
            }
            other => out.push(other),
        }
    }
    out
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    format!("{}", t.backend())
}

/// Snapshots a screen at both sizes.
fn snap(name: &str, app: &App) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(app, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), render(app, 160, 48));
}

fn arc<T: serde::de::DeserializeOwned>(v: Value) -> Arc<T> {
    Arc::new(serde_json::from_value(v).unwrap())
}

fn pod(name: &str, role: &str, ready: bool, restarts: i32, waiting: Option<&str>) -> Value {
    let state = match waiting {
        Some(r) => {
            json!({"waiting": {"reason": r, "message": "back-off 40s restarting failed container"}})
        }
        None => json!({"running": {"startedAt": "2026-11-25T11:50:00Z"}}),
    };
    json!({
        "metadata": {"name": name, "namespace": "posthog", "creationTimestamp": "2026-11-25T11:45:00Z",
                     "labels": {"role": role, "release": "posthog"}},
        "spec": {"containers": [{"name": "app"}], "nodeName": "sim-node-1"},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "ready": ready, "restartCount": restarts, "image": "posthog/posthog:1.43.0", "imageID": "",
            "state": state,
            "lastState": if restarts > 0 { json!({"terminated": {"exitCode": 1, "reason": "Error"}}) } else { json!({}) }
        }]}
    })
}

fn snapshot() -> Snapshot {
    let mut pods = vec![
        pod(
            "posthog-web-7c9f-abcde",
            "web",
            false,
            6,
            Some("CrashLoopBackOff"),
        ),
        pod("posthog-events-5d8b-fghij", "events", true, 0, None),
        pod("posthog-worker-6f7a-klmno", "worker", true, 0, None),
        pod("posthog-plugins-4e3c-pqrst", "plugins", true, 1, None),
    ];
    for role in ["clickhouse", "kafka", "zookeeper", "postgresql", "redis"] {
        pods.push(pod(&format!("posthog-{role}-0"), role, true, 0, None));
    }
    let sts = |role: &str| {
        arc(
            json!({"metadata": {"name": format!("posthog-{role}"), "namespace": "posthog"},
                   "spec": {"replicas": 1, "serviceName": role, "selector": {}, "template": {"metadata": {"labels": {"role": role, "release": "posthog"}}}}}),
        )
    };
    let pvc = |role: &str, class: &str, size: &str| {
        arc(
            json!({"metadata": {"name": format!("data-posthog-{role}-0"), "namespace": "posthog"},
                   "spec": {"storageClassName": class, "volumeName": format!("pv-{role}"), "resources": {"requests": {"storage": size}}},
                   "status": {"phase": "Bound", "capacity": {"storage": size}}}),
        )
    };
    // A bound volume carries its claim's class, as the binder requires, and the provisioner
    // that made it from that class.
    let pv = |role: &str, class: &str, driver: &str| {
        arc(json!({"metadata": {"name": format!("pv-{role}"),
                                "annotations": {"pv.kubernetes.io/provisioned-by": driver}},
                   "spec": {"storageClassName": class, "persistentVolumeReclaimPolicy": "Retain",
                            "csi": {"driver": driver, "volumeHandle": format!("vol-{role}")}}}))
    };
    Snapshot {
        pods: pods.into_iter().map(arc).collect(),
        statefulsets: ["clickhouse", "kafka"].iter().map(|r| sts(r)).collect(),
        pvcs: vec![
            pvc("clickhouse", "gp3-encrypted", "20Gi"),
            pvc("kafka", "gp2", "20Gi"),
        ],
        pvs: vec![
            pv("clickhouse", "gp3-encrypted", "ebs.csi.aws.com"),
            pv("kafka", "gp2", "kubernetes.io/aws-ebs"),
        ],
        storage_classes: vec![
            arc(
                json!({"metadata": {"name": "gp3-encrypted"}, "provisioner": "ebs.csi.aws.com",
                       "parameters": {"type": "gp3", "encrypted": "true"}, "allowVolumeExpansion": true}),
            ),
            arc(
                json!({"metadata": {"name": "gp2"}, "provisioner": "kubernetes.io/aws-ebs",
                       "parameters": {"type": "gp2"}, "allowVolumeExpansion": false}),
            ),
        ],
        events: vec![arc(json!({
            "metadata": {"name": "posthog-web.1", "namespace": "posthog"},
            "involvedObject": {"kind": "Pod", "name": "posthog-web-7c9f-abcde", "namespace": "posthog"},
            "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container app",
            "lastTimestamp": "2026-11-25T11:59:00Z"
        }))],
        ..Default::default()
    }
}

fn release(status: &str, revision: u64) -> ReleaseInfo {
    let mut values = serde_json::Map::new();
    values.insert("cloud".into(), json!("aws"));
    ReleaseInfo {
        name: "posthog".into(),
        namespace: "posthog".into(),
        revision,
        status: status.into(),
        chart: "posthog-mini".into(),
        chart_version: "1.0.0".into(),
        app_version: "1.43.0".into(),
        updated: "2026-11-25T11:40:00.123Z".into(),
        user_values: values,
        // The vendor's retention on a 20Gi claim.
        kafka: Some(
            json!({"enabled": true, "logRetentionBytes": "_15_000_000_000",
            "logRetentionHours": 24, "persistence": {"enabled": true, "size": "20Gi"}}),
        ),
    }
}

fn exchange(status: u16, ms: u64) -> Exchange {
    Exchange {
        status: Some(status),
        latency_ms: ms,
        error: None,
        body: Vec::new(),
    }
}

fn probe(ms: u64) -> ProbeRecord {
    ProbeRecord {
        at: now(),
        via:
            "service proxy in posthog (posthog-web:8000, posthog-events:8000, posthog-plugins:6738)"
                .into(),
        event: "helmdeck_probe_1".into(),
        capture: exchange(200, ms),
        visible_after_ms: Some(ms * 40),
        waited_ms: ms * 40,
        polls: 3,
        last_query: None,
        endpoints: vec![
            EndpointRecord {
                path: "/_livez".into(),
                exchange: exchange(200, 2),
                failing_checks: vec![],
                not_checked: None,
            },
            EndpointRecord {
                path: "/_readyz?role=web".into(),
                exchange: exchange(503, 3),
                failing_checks: vec!["postgres".into()],
                not_checked: None,
            },
        ],
        skipped: None,
        arrival_unchecked: None,
    }
}

fn dashboard() -> App {
    let mut a = app();
    // No --profile: the release's `cloud` value (aws) picks the rules that judge it.
    a.session.opts.profile = None;
    a.update(Msg::Releases(Ok(vec![release("deployed", 2)])));
    a.update(Msg::Snapshot(Box::new(snapshot()), Connection::Live));
    for ms in [12, 15, 9, 30, 11] {
        a.update(Msg::Probe(Box::new(probe(ms))));
    }
    let effects = key(&mut a, KeyCode::Char('d'));
    assert_eq!(effects, vec![Effect::ProbeNow]);
    a
}

#[test]
fn home_screens() {
    let mut a = app();
    snap("home_empty", &a);
    a.update(Msg::Releases(Ok(vec![release("deployed", 2)])));
    snap("home_releases", &a);
    a.update(Msg::Releases(Ok(vec![release("pending-upgrade", 3)])));
    a.session.opts.helm =
        Err("run scripts/get-helm, put helm on PATH, or set HELMDECK_HELM".into());
    snap("home_stuck_release_without_helm", &a);
    // Without helm, install says how to get it instead of opening the wizard.
    key(&mut a, KeyCode::Char('i'));
    assert_eq!(a.screen(), Route::Home);
    assert!(a.message.as_deref().unwrap().contains("scripts/get-helm"));
}

/// An unreachable cluster says, on the home screen, which server, what failed and what to
/// try, in the CLI's words.
#[test]
fn an_unreachable_cluster_names_the_server_the_cause_and_what_to_try() {
    let mut a = app();
    let why = helmdeck::cluster::ClusterError::Unreachable(
        "https://10.0.0.1:6443: Connection refused (os error 111)".into(),
    )
    .to_string();
    a.update(Msg::Releases(Err(why)));
    snap("home_unreachable_cluster", &a);
    let wide = render(&a, 160, 48);
    assert!(
        wide.contains("https://10.0.0.1:6443") && wide.contains("nothing listens at that address"),
        "{wide}"
    );
}

/// `:ns kube-system` (no release there) shows every pod of that namespace, as k9s shows a
/// namespace, not an empty pane.
#[test]
fn a_namespace_without_the_release_shows_all_its_pods() {
    let mut a = app();
    a.update(Msg::Releases(Ok(vec![release("deployed", 1)])));
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ns kube-system");
    let effects = key(&mut a, KeyCode::Enter);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SwitchNamespace(ns) if ns == "kube-system")),
        "{effects:?}"
    );
    assert_eq!(a.screen(), Route::Dashboard);
    let mut coredns = pod("coredns-5d78c9869d-x2x5w", "", true, 0, None);
    coredns["metadata"]["namespace"] = json!("kube-system");
    coredns["metadata"]["labels"] = json!({"k8s-app": "kube-dns"});
    a.update(Msg::Snapshot(
        Box::new(Snapshot {
            pods: vec![arc(coredns)],
            ..Default::default()
        }),
        Connection::Live,
    ));
    let screen = render(&a, 160, 48);
    assert!(
        screen.contains("coredns-5d78c9869d-x2x5w") && screen.contains("pods (1)"),
        "{screen}"
    );
}

/// k9s's `0` and `:pods -A`: every namespace's pods, each with its namespace, no release
/// focused and no probe; `:ns NAME` goes back to one namespace.
#[test]
fn every_namespace_shows_each_pod_with_its_namespace() {
    let mut a = dashboard();
    let effects = key(&mut a, KeyCode::Char('0'));
    assert_eq!(
        effects,
        vec![Effect::SwitchNamespace(String::new())],
        "every namespace is asked for"
    );
    let mut snap_all = snapshot();
    for (ns, name) in [
        ("kube-system", "coredns-5d78c9869d-x2x5w"),
        ("ingress-nginx", "ingress-nginx-controller-7d9f-abcde"),
    ] {
        let mut p = pod(name, "", true, 0, None);
        p["metadata"]["namespace"] = json!(ns);
        p["metadata"]["labels"] = json!({"app": name.split('-').next().unwrap()});
        snap_all.pods.push(arc(p));
    }
    a.update(Msg::Snapshot(Box::new(snap_all), Connection::Live));
    assert_eq!(a.screen(), Route::Dashboard);
    snap("dashboard_all_namespaces", &a);
    let screen = render(&a, 160, 48);
    assert!(screen.contains("ns all"), "{screen}");
    assert!(screen.contains("pods · all namespaces (11)"), "{screen}");
    // The `/` filter finds a namespace too.
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "kube-sys");
    key(&mut a, KeyCode::Enter);
    let screen = render(&a, 160, 48);
    assert!(screen.contains("coredns-5d78c9869d-x2x5w"), "{screen}");
    assert!(!screen.contains("posthog-kafka-0"), "{screen}");

    // The command forms, and back to one namespace.
    for line in ["pods -A", "ns all"] {
        key(&mut a, KeyCode::Char(':'));
        typed(&mut a, line);
        let effects = key(&mut a, KeyCode::Enter);
        assert_eq!(
            effects,
            vec![Effect::SwitchNamespace(String::new())],
            "{line}"
        );
    }
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ns posthog");
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::SwitchNamespace("posthog".into())]);
    assert!(render(&a, 160, 48).contains("ns posthog"));
}

/// ctrl-k on a pod (k9s's kill) asks first, then deletes it; read-only, it is not offered.
#[test]
fn ctrl_k_deletes_the_selected_pod_after_confirming() {
    let mut a = dashboard();
    let ctrl_k = KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL);
    let selected = helmdeck::tui::screens::dashboard::visible_pods(&a.dash, &a.session)[0]
        .name
        .clone();
    assert!(a.update(Msg::Key(ctrl_k)).is_empty());
    let asked = render(&a, 160, 48);
    assert!(
        asked.contains(&format!("Delete pod {selected} in posthog?")),
        "{asked}"
    );
    let effects = key(&mut a, KeyCode::Char('y'));
    assert_eq!(
        effects,
        vec![Effect::DeletePod {
            namespace: "posthog".into(),
            pod: selected.clone()
        }]
    );
    a.update(Msg::PodDeleted(selected.clone(), Ok(())));
    assert!(a.message.as_deref().unwrap().contains("makes a new one"));
    // Read-only, ctrl-k does nothing and help does not list it.
    let mut ro = dashboard();
    ro.session.opts.readonly = true;
    assert!(ro.update(Msg::Key(ctrl_k)).is_empty());
    assert!(ro.overlay.is_none());
}

#[test]
fn help_is_generated_from_the_keymap_and_readonly_hides_writes() {
    let mut a = app();
    key(&mut a, KeyCode::Char('?'));
    snap("help_home", &a);
    // At 80×24 the rest scrolls into view: every command down to :q.
    key(&mut a, KeyCode::Char('G'));
    let small = render(&a, 80, 24);
    assert!(small.contains(":q :quit"), "{small}");
    insta::assert_snapshot!("help_home_scrolled_80x24", small);
    key(&mut a, KeyCode::Esc);
    a.session.opts.readonly = true;
    key(&mut a, KeyCode::Char('?'));
    let text = render(&a, 160, 48);
    assert!(!text.contains("install the stack"), "{text}");
    assert!(text.contains("dashboard of the selected release"));
}

#[test]
fn the_values_review_renders_off_the_ui_thread_and_only_the_newest_answer_counts() {
    let mut a = app();
    key(&mut a, KeyCode::Char('i'));
    key(&mut a, KeyCode::Enter);
    // The questions' enter asks for a review instead of rendering it (it may fetch a chart).
    let effects = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let [Effect::Review(first)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let screen = render(&a, 100, 20);
    assert!(screen.contains("Rendering the values"), "{screen}");
    // Nothing to plan until it is there.
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert!(a.walkthrough.current.as_ref().unwrap().review.is_empty());
    // Back and forward again: the first answer, arriving late, is not shown.
    key(&mut a, KeyCode::Esc);
    let effects = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let [Effect::Review(second)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_ne!(first.id, second.id);
    a.update(Msg::Reviewed(
        first.id,
        Err("an older review's answer".into()),
    ));
    let w = a.walkthrough.current.as_ref().unwrap();
    assert!(w.review_error.is_none() && w.review_pending == Some(second.id));
    a.update(Msg::Reviewed(
        second.id,
        helmdeck::tui::screens::wizard::review(second).map_err(|e| e.to_string()),
    ));
    let w = a.walkthrough.current.as_ref().unwrap();
    assert!(w.review_pending.is_none() && !w.review.is_empty());
    let first_row = w.review[0].path.clone();
    let screen = render(&a, 100, 20);
    assert!(
        screen.contains(&first_row) && !screen.contains("Rendering"),
        "{screen}"
    );
}

#[test]
fn a_helm_that_does_not_stop_when_asked_can_be_killed() {
    let mut a = app();
    let mut run = helmdeck::tui::screens::run::RunView::new(
        "install posthog".into(),
        "install",
        "posthog",
        "posthog",
        SystemTime::now(),
    );
    run.helm_process = Some((4242, "/tmp/helm.err".into()));
    a.run.view = Some(run);
    a.show(Route::Run);
    key(&mut a, KeyCode::Char('s'));
    assert_eq!(
        key(&mut a, KeyCode::Char('y')),
        vec![Effect::StopHelm { pid: 4242 }]
    );
    assert!(render(&a, 100, 30).contains("s again: kill helm if it hangs"));
    key(&mut a, KeyCode::Char('s'));
    assert_eq!(
        key(&mut a, KeyCode::Char('y')),
        vec![Effect::KillHelm { pid: 4242 }]
    );
    assert!(
        a.run
            .view
            .as_ref()
            .unwrap()
            .helm
            .back()
            .unwrap()
            .contains("killing helm (pid 4242)"),
        "the run screen says so"
    );
}

/// Leaving a question (tab) judges it at once, as Enter does, and a question emptied of its
/// default says which default will apply instead of applying it unseen.
#[test]
fn leaving_a_question_judges_it_and_an_emptied_one_names_its_default() {
    let mut a = app();
    key(&mut a, KeyCode::Char('i'));
    key(&mut a, KeyCode::Char('g'));
    key(&mut a, KeyCode::Enter);
    typed(&mut a, "not a host");
    key(&mut a, KeyCode::Tab);
    let w = a.walkthrough.current.as_ref().unwrap();
    assert!(w.fields[0].error.is_some(), "{:?}", w.fields[0]);
    // The first question with a default and a text field: emptied, then left.
    let at = w
        .fields
        .iter()
        .position(|f| {
            f.question.default.as_ref().is_some_and(|d| d.is_string()) && !f.input.text.is_empty()
        })
        .expect("a question with a default");
    let default = w.fields[at].question.default.clone().unwrap();
    while a.walkthrough.current.as_ref().unwrap().field != at {
        key(&mut a, KeyCode::Tab);
    }
    let len = a.walkthrough.current.as_ref().unwrap().fields[at]
        .input
        .text
        .len();
    for _ in 0..len {
        key(&mut a, KeyCode::Backspace);
    }
    key(&mut a, KeyCode::Tab);
    let w = a.walkthrough.current.as_ref().unwrap();
    assert_eq!(
        w.fields[at].error.as_deref(),
        Some(format!("empty: the default {} applies", default.as_str().unwrap()).as_str())
    );
}

#[test]
fn install_wizard_screens() {
    let mut a = app();
    key(&mut a, KeyCode::Char('i'));
    snap("wizard_profile_local", &a);
    key(&mut a, KeyCode::Char('g'));
    snap("wizard_profile_aws", &a);
    key(&mut a, KeyCode::Enter);
    // aws asks for a hostname: an invalid one is refused with the rule.
    typed(&mut a, "not a host");
    key(&mut a, KeyCode::Enter);
    snap("wizard_questions_invalid", &a);
    // On a short terminal the list scrolls to keep the focused question whole.
    for _ in 0..3 {
        key(&mut a, KeyCode::Tab);
    }
    let short = render(&a, 80, 12);
    assert!(short.contains("Let's Encrypt"), "{short}");
    assert!(!short.contains("Public hostname"), "{short}");
    for _ in 0..3 {
        key(&mut a, KeyCode::BackTab);
    }
    assert!(render(&a, 80, 12).contains("Public hostname"));
    // The personal API key, last: typed, shown only as dots, with where it is stored.
    key(&mut a, KeyCode::BackTab);
    typed(&mut a, "phx_secret_42");
    let shown = render(&a, 160, 48);
    assert!(
        shown.contains("•••••••••••••") && !shown.contains("phx_secret_42"),
        "{shown}"
    );
    assert!(
        shown.contains("stored as Secret posthog-helmdeck-probe (key personal-api-key)"),
        "{shown}"
    );
    for _ in 0.."phx_secret_42".len() {
        key(&mut a, KeyCode::Backspace);
    }
    key(&mut a, KeyCode::Tab);
    for _ in 0.."not a host".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "posthog.example.com");
    let effects = key(&mut a, KeyCode::Enter);
    assert!(effects.is_empty());
    snap("wizard_review", &a);
    let review = &a.walkthrough.current.as_ref().unwrap().review;
    let host = review
        .iter()
        .find(|l| l.path == "ingress.hostname")
        .unwrap();
    assert_eq!(
        (host.value.as_str(), host.layer.as_str()),
        ("posthog.example.com", "answers:the wizard")
    );
    let pw = review
        .iter()
        .find(|l| l.path == "postgresql.postgresqlPassword")
        .unwrap();
    assert!(pw.value.starts_with("<redacted:sha256:"), "{pw:?}");
    // 128 values: / filters them on key and value.
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "storageclass");
    key(&mut a, KeyCode::Enter);
    let w = a.walkthrough.current.as_ref().unwrap();
    assert!(!w.review_rows().is_empty());
    assert!(
        w.review_rows()
            .iter()
            .all(|l| l.path.to_lowercase().contains("storageclass")
                || l.value.to_lowercase().contains("storageclass"))
    );
    snap("wizard_review_filtered", &a);
    // ... and on the layer a value came from: /answers finds what the answers set.
    key(&mut a, KeyCode::Char('/'));
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "answers");
    key(&mut a, KeyCode::Enter);
    let w = a.walkthrough.current.as_ref().unwrap();
    let from_answers = w
        .review
        .iter()
        .filter(|l| l.layer.starts_with("answers"))
        .count();
    assert!(from_answers > 0);
    assert!(w.review_rows().len() >= from_answers);
    key(&mut a, KeyCode::Char('/'));
    key(&mut a, KeyCode::Esc);
    assert!(a.walkthrough.current.as_ref().unwrap().filter.is_empty());
    let effects = key(&mut a, KeyCode::Enter);
    let Some(Effect::Plan(intent)) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (intent.values.profile.as_deref(), intent.action),
        (Some("aws"), deploy::Action::Install)
    );
    let answers = intent.values.answers.as_ref().expect("answers");
    assert_eq!(answers.given["ingress.hostname"], "posthog.example.com");
    snap("wizard_plan_running", &a);
    for c in [
        Check {
            id: "capacity",
            verdict: Verdict::Pass,
            message: "the cluster has 3 node(s), 12 CPU and 48Gi capacity".into(),
            fix: String::new(),
        },
        Check {
            id: "disk-encryption",
            verdict: Verdict::Fail,
            message: "StorageClass gp2 does not enable encryption".into(),
            fix: "use an encrypted class".into(),
        },
    ] {
        a.update(Msg::Engine(Event::Check(c)));
    }
    a.update(Msg::PlanDone(Err(Outcome::PreflightFailed {
        failed: vec!["StorageClass gp2 does not enable encryption".into()],
    })));
    snap("wizard_plan_refused", &a);
    // A failed preflight blocks: enter does not offer to apply.
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert!(a.overlay.is_none());
    // Back, and a plan that passes this time.
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Enter);
    let changes = vec![
        ValueChange {
            path: "cloud".into(),
            op: '+',
            old: None,
            new: Some(json!("aws")),
            layer: Some("profile:aws".into()),
            as_default: false,
        },
        ValueChange {
            path: "ingress.hostname".into(),
            op: '+',
            old: None,
            new: Some(json!("posthog.example.com")),
            layer: Some("answers".into()),
            as_default: false,
        },
        ValueChange {
            path: "clickhouse.persistence.size".into(),
            op: '+',
            old: None,
            new: Some(json!("20Gi")),
            layer: Some("answers".into()),
            as_default: true,
        },
    ];
    a.update(Msg::Engine(Event::ValuesDiff {
        changes: changes.clone(),
    }));
    // A long plan (20 notes before the checks) scrolls to its end at 80×24: G shows the
    // last value change.
    for i in 1..=20 {
        a.update(Msg::Engine(Event::Notice {
            message: format!("note {i}"),
        }));
    }
    // The plan the engine hands over holds the same changes it sent.
    let mut planned = ticket("aws");
    planned.plan.changes = changes;
    a.update(Msg::PlanDone(Ok(planned.clone())));
    key(&mut a, KeyCode::Char('G'));
    let small = render(&a, 80, 24);
    assert!(small.contains("ingress.hostname"), "{small}");
    insta::assert_snapshot!("wizard_plan_scrolled_80x24", small);
    key(&mut a, KeyCode::Char('g'));
    snap("wizard_plan_passed", &a);
    key(&mut a, KeyCode::Enter);
    snap("confirm_apply", &a);
    let effects = key(&mut a, KeyCode::Char('y'));
    let Some(Effect::Apply(applied)) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(**applied, *planned, "the plan shown is the plan applied");
    assert_eq!(a.screen(), Route::Run);
}

/// The helm pane keeps all of helm's output: it follows the end (NOTES included), scrolls
/// back with j/k and says where it is (`end/total`), holds still while helm writes more, and
/// G follows again.
#[test]
fn the_helm_pane_keeps_all_of_helms_output_and_scrolls_to_its_notes() {
    let mut a = app();
    start_install(&mut a);
    let mut lines: Vec<String> = (1..=40)
        .map(|i| format!("client.go: resource {i} ready"))
        .collect();
    lines.extend([
        "NAME: posthog".to_string(),
        "STATUS: deployed".into(),
        "NOTES:".into(),
        "PostHog is installed: open https://posthog.example.com".into(),
    ]);
    for line in &lines {
        a.update(Msg::Engine(Event::HelmOutput { line: line.clone() }));
    }
    a.update(Msg::ApplyDone(Outcome::Applied {
        revision: 1,
        not_verified: vec![],
    }));
    snap("run_helm_output_with_notes", &a);
    let screen = render(&a, 80, 24);
    assert!(
        screen.contains("NOTES:") && screen.contains("44/44"),
        "{screen}"
    );
    for _ in 0..10 {
        key(&mut a, KeyCode::Char('k'));
    }
    let back = render(&a, 80, 24);
    assert!(back.contains("34/44") && !back.contains("NOTES:"), "{back}");
    key(&mut a, KeyCode::Char('g'));
    let top = render(&a, 80, 24);
    assert!(top.contains("resource 1 ready"), "{top}");
    key(&mut a, KeyCode::Char('G'));
    assert!(render(&a, 80, 24).contains("44/44"));
}

#[test]
fn run_screen_follows_the_engine_and_shows_the_outcome() {
    let mut a = app();
    start_install(&mut a);
    for (s, st, d) in [
        (Step::Preflight, StepState::Done, ""),
        (Step::Render, StepState::Done, "128 values from 3 layers"),
        (Step::Diff, StepState::Done, "5 value(s) change"),
        (Step::Confirm, StepState::Done, ""),
        (Step::Apply, StepState::Running, "helm v4.1.4"),
    ] {
        a.update(Msg::Engine(Event::Step {
            step: s,
            state: st,
            detail: d.into(),
        }));
    }
    a.update(Msg::Engine(Event::HelmOutput {
        line: "Release \"posthog\" does not exist. Installing it now.".into(),
    }));
    a.update(Msg::Engine(Event::Progress {
        pods_ready: 6,
        pods_expected: 9,
        jobs_done: 0,
        jobs_expected: 1,
    }));
    a.update(Msg::Tick(now() + Duration::from_secs(42)));
    snap("run_in_progress", &a);
    // Quitting while it runs asks first.
    assert!(key(&mut a, KeyCode::Char('q')).is_empty());
    assert!(a.overlay.is_some());
    snap("confirm_quit_while_running", &a);
    key(&mut a, KeyCode::Char('n'));
    // While helm waits the watchers see web crash-looping: its logs are fetched at once.
    let effects = a.update(Msg::Snapshot(Box::new(snapshot()), Connection::Live));
    assert_eq!(
        effects,
        vec![Effect::Logs {
            namespace: "posthog".into(),
            pod: "posthog-web-7c9f-abcde".into()
        }]
    );
    a.update(Msg::Logs(
        "posthog-web-7c9f-abcde".into(),
        vec!["django.db.utils.OperationalError: could not connect to server".into()],
    ));
    // The failing pod shows while helm still waits, with the offer to stop.
    snap("run_failing_while_waiting", &a);
    // `l` opens its logs, as k9s's `l` on a pod; esc comes back to the run.
    let effects = key(&mut a, KeyCode::Char('l'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::PodText { pod, .. } if pod == "posthog-web-7c9f-abcde")),
        "{effects:?}"
    );
    assert_eq!(a.screen(), Route::Dashboard);
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Run);
    // Leaving keeps it reachable: the header says so, and o comes back.
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Home);
    assert!(render(&a, 160, 48).contains("✗ install posthog: a pod is failing (o)"));
    // A second operation is refused while this one runs.
    assert!(key(&mut a, KeyCode::Char('u')).is_empty());
    assert!(a.walkthrough.current.is_none());
    assert!(
        a.message
            .as_deref()
            .unwrap()
            .contains("is still running: o shows it")
    );
    key(&mut a, KeyCode::Char('o'));
    assert_eq!(a.screen(), Route::Run);
    // Stopping needs helm's pid, then a yes.
    a.update(Msg::Engine(Event::HelmStarted {
        pid: 4242,
        log: "/tmp/helm.err".into(),
    }));
    assert!(key(&mut a, KeyCode::Char('s')).is_empty());
    snap("confirm_stop_waiting", &a);
    assert_eq!(
        key(&mut a, KeyCode::Char('y')),
        vec![Effect::StopHelm { pid: 4242 }]
    );
    // Asked once, s again offers to kill helm; "n" keeps waiting.
    assert!(key(&mut a, KeyCode::Char('s')).is_empty());
    assert!(render(&a, 100, 30).contains("has not stopped since you asked. Kill it?"));
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    a.update(Msg::Engine(Event::Step {
        step: Step::Apply,
        state: StepState::Failed,
        detail: "timed out waiting for the condition".into(),
    }));
    let effects = a.update(Msg::ApplyDone(Outcome::Failed {
        kind: helmdeck::helm::driver::FailureKind::Timeout,
        message: "release posthog failed, and has been uninstalled due to rollback-on-failure being set: \
                  resource Deployment/posthog/posthog-web not ready. status: InProgress, message: \
                  Available: 0/1; job posthog-migrate failed: BackoffLimitExceeded"
            .into(),
        fix: "kubectl logs job/posthog-migrate".into(),
        rolled_back: true,
    }));
    assert_eq!(effects, vec![Effect::RefreshReleases]);
    snap("run_failed_and_rolled_back", &a);
    // The cause scrolls: G brings the log tail into the 80×24 pane.
    key(&mut a, KeyCode::Char('G'));
    let small = render(&a, 80, 24);
    assert!(small.contains("could not connect to server"), "{small}");
    insta::assert_snapshot!("run_cause_scrolled_80x24", small);
    // Home keeps the outcome and the pod seen failing once helm uninstalled the release,
    // however long helm's message is.
    a.update(Msg::Releases(Ok(Vec::new())));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Home);
    for (w, h) in [(80, 24), (160, 48)] {
        let home = render(&a, w, h);
        assert!(
            home.contains("seen while helm waited: pod posthog-web"),
            "{home}"
        );
    }
    snap("home_after_failed_install", &a);
    assert_eq!(key(&mut a, KeyCode::Char('q')), vec![Effect::Quit]);
}

#[test]
fn dashboard_panes() {
    let mut a = dashboard();
    snap("dashboard_pods", &a);
    // Shift+column sorts by it (▲), again reverses (▼), as k9s does.
    key(&mut a, KeyCode::Char('N'));
    let text = render(&a, 160, 48);
    assert!(text.contains("NAME▲"), "{text}");
    let first = |a: &App| {
        helmdeck::tui::screens::dashboard::visible_pods(&a.dash, &a.session)[0]
            .name
            .clone()
    };
    assert_eq!(first(&a), "posthog-clickhouse-0");
    key(&mut a, KeyCode::Char('N'));
    assert!(render(&a, 160, 48).contains("NAME▼"));
    assert_eq!(first(&a), "posthog-zookeeper-0");
    key(&mut a, KeyCode::Char('C'));
    // The crash-looping pod sorts first by restarts; enter opens its details.
    key(&mut a, KeyCode::Char('s'));
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Logs {
            namespace: "posthog".into(),
            pod: "posthog-web-7c9f-abcde".into()
        }]
    );
    a.update(Msg::Logs(
        "posthog-web-7c9f-abcde".into(),
        vec!["django.db.utils.OperationalError: could not connect to server".into()],
    ));
    snap("dashboard_pod_detail", &a);
    // A long log tail scrolls: G goes to its last line, which 80×24 shows.
    let log: Vec<String> = (1..=30).map(|i| format!("log line {i}")).collect();
    a.update(Msg::Logs("posthog-web-7c9f-abcde".into(), log));
    key(&mut a, KeyCode::Char('G'));
    let small = render(&a, 80, 24);
    assert!(small.contains("log line 30"), "{small}");
    assert!(!small.contains("log line 1 "), "{small}");
    insta::assert_snapshot!("dashboard_pod_detail_scrolled_80x24", small);
    key(&mut a, KeyCode::Char('g'));
    assert!(render(&a, 80, 24).contains("node sim-node-1"));
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "kaf");
    snap("dashboard_pods_filtered", &a);
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Tab);
    snap("dashboard_disks", &a);
    key(&mut a, KeyCode::Char('j'));
    snap("dashboard_disks_unencrypted_selected", &a);
    key(&mut a, KeyCode::Tab);
    snap("dashboard_ingestion", &a);
    // From the first probe the numbers show, before there is a chart to draw.
    let mut first = dashboard();
    first.session.probes.clear();
    first.update(Msg::Probe(Box::new(probe(12))));
    key(&mut first, KeyCode::Tab);
    key(&mut first, KeyCode::Tab);
    let small = render(&first, 80, 24);
    assert!(small.contains("12 ms"), "{small}");
    // The connection state shows in the header.
    a.update(Msg::Snapshot(
        Box::new(snapshot()),
        Connection::Reconnecting {
            since: now() - Duration::from_secs(3),
            reason: "connection refused".into(),
        },
    ));
    assert!(render(&a, 160, 48).contains("reconnecting for 3s: connection refused"));
}

#[test]
fn logs_and_yaml_of_a_pod_as_k9s_shows_them() {
    use helmdeck::tui::messages::TextKind;
    let mut a = dashboard();
    key(&mut a, KeyCode::Char('s'));
    let effects = key(&mut a, KeyCode::Char('l'));
    assert_eq!(
        effects,
        vec![Effect::PodText {
            kind: TextKind::Logs,
            namespace: "posthog".into(),
            pod: "posthog-web-7c9f-abcde".into(),
            container: None,
            previous: false,
        }]
    );
    let lines: Vec<String> = (1..=40).map(|i| format!("web log line {i}")).collect();
    a.update(Msg::PodText(
        "posthog-web-7c9f-abcde".into(),
        TextKind::Logs,
        Ok((lines, vec!["app".into(), "proxy".into()])),
    ));
    // Following: the end is in view.
    let small = render(&a, 80, 24);
    assert!(small.contains("web log line 40"), "{small}");
    insta::assert_snapshot!("pod_logs_following_80x24", small);
    // Followed logs are read again every 2 s; scrolling up stops following.
    assert!(
        a.update(Msg::Tick(now() + Duration::from_secs(1)))
            .is_empty()
    );
    assert_eq!(a.update(Msg::Tick(now() + Duration::from_secs(2))).len(), 1);
    key(&mut a, KeyCode::Char('g'));
    assert!(render(&a, 80, 24).contains("follow off"));
    assert!(
        a.update(Msg::Tick(now() + Duration::from_secs(9)))
            .is_empty()
    );
    // c switches container.
    let effects = key(&mut a, KeyCode::Char('c'));
    assert!(
        matches!(&effects[..], [Effect::PodText { container: Some(c), .. }] if c == "proxy"),
        "{effects:?}"
    );
    // p shows what the previous container printed before it died (not followed), p again the
    // current one.
    let effects = key(&mut a, KeyCode::Char('p'));
    assert!(
        matches!(&effects[..], [Effect::PodText { previous: true, .. }]),
        "{effects:?}"
    );
    assert!(render(&a, 160, 48).contains("previous logs posthog-web-7c9f-abcde"));
    let effects = key(&mut a, KeyCode::Char('p'));
    assert!(
        matches!(
            &effects[..],
            [Effect::PodText {
                previous: false,
                ..
            }]
        ),
        "{effects:?}"
    );
    key(&mut a, KeyCode::Esc);
    // From the pods pane, p opens the previous logs at once, as k9s's p does.
    let effects = key(&mut a, KeyCode::Char('p'));
    assert!(
        matches!(&effects[..], [Effect::PodText { previous: true, pod, .. }] if pod == "posthog-web-7c9f-abcde"),
        "{effects:?}"
    );
    key(&mut a, KeyCode::Esc);
    let effects = key(&mut a, KeyCode::Char('y'));
    assert!(matches!(
        &effects[..],
        [Effect::PodText {
            kind: TextKind::Yaml,
            ..
        }]
    ));
    a.update(Msg::PodText(
        "posthog-web-7c9f-abcde".into(),
        TextKind::Yaml,
        Ok((
            vec!["apiVersion: v1".into(), "kind: Pod".into()],
            vec!["app".into()],
        )),
    ));
    assert!(render(&a, 80, 24).contains("yaml posthog-web-7c9f-abcde"));
    key(&mut a, KeyCode::Esc);
    // d describes: the pod detail.
    key(&mut a, KeyCode::Char('d'));
    assert!(render(&a, 80, 24).contains("next step"));
}

#[test]
fn the_command_prompt_completes_and_remembers() {
    let mut a = app();
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "in");
    key(&mut a, KeyCode::Tab);
    assert_eq!(
        a.overlay,
        Some(helmdeck::tui::overlay::Overlay::Command(
            helmdeck::tui::line_edit::LineEdit::new("ingestion")
        ))
    );
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.screen(), Route::Dashboard);
    // Ambiguous: completes what is shared and lists the rest.
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "h");
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.message.as_deref(), Some("help  helm  home"));
    // ↑ recalls the last command.
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char(':'));
    key(&mut a, KeyCode::Up);
    assert_eq!(
        a.overlay,
        Some(helmdeck::tui::overlay::Overlay::Command(
            helmdeck::tui::line_edit::LineEdit::new("ingestion")
        ))
    );
    key(&mut a, KeyCode::Esc);
    // k9s's aliases: :svc is the Services view; a kind helmdeck has no view of says what
    // to use.
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "svc");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.dash.pane, Pane::Objects(ObjectKind::Services));
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "cm");
    key(&mut a, KeyCode::Enter);
    assert!(a.message.as_deref().unwrap().contains("kubectl get cm"));
    // :ns to a namespace without the release says so at once.
    a.update(Msg::Releases(Ok(vec![release("deployed", 1)])));
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ns foo");
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        vec![Effect::SwitchNamespace("foo".into())]
    );
    assert!(
        a.message
            .as_deref()
            .unwrap()
            .starts_with("no Helm release in foo"),
        "{:?}",
        a.message
    );
    // :ns alone picks from the cluster's namespaces, starting at the current one.
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ns");
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        vec![Effect::ListChoices(helmdeck::tui::app::PickWhat::Namespace)]
    );
    a.update(Msg::Choices(
        helmdeck::tui::app::PickWhat::Namespace,
        Ok(vec!["default".into(), "foo".into(), "posthog".into()]),
    ));
    insta::assert_snapshot!("pick_namespace_80x24", render(&a, 80, 24));
    key(&mut a, KeyCode::Char('k'));
    key(&mut a, KeyCode::Char('k'));
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        vec![Effect::SwitchNamespace("default".into())]
    );
    // Read-only: a write key says why it does nothing.
    a.session.opts.readonly = true;
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "home");
    key(&mut a, KeyCode::Enter);
    assert!(key(&mut a, KeyCode::Char('i')).is_empty());
    assert!(a.message.as_deref().unwrap().starts_with("read-only"));
}

#[test]
fn commands_and_rollback_confirm() {
    let mut a = app();
    a.update(Msg::Releases(Ok(vec![release("deployed", 2)])));
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ns analytics");
    snap("command_line", &a);
    assert_eq!(
        key(&mut a, KeyCode::Enter),
        vec![Effect::SwitchNamespace("analytics".into())]
    );
    // As k9s's `:ns`, it shows the namespace's pods; esc is home again.
    assert_eq!(a.screen(), Route::Dashboard);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Home);
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "nope");
    key(&mut a, KeyCode::Enter);
    assert!(
        a.message
            .as_deref()
            .unwrap()
            .starts_with("unknown command :nope")
    );
    // r reads the release's revisions; the picker starts on the last deployed one before
    // the current.
    assert_eq!(
        key(&mut a, KeyCode::Char('r')),
        vec![Effect::History {
            release: "posthog".into(),
            namespace: "posthog".into()
        }]
    );
    let revs = vec![
        release("superseded", 1),
        release("superseded", 2),
        release("failed", 3),
    ];
    let revs: Vec<ReleaseInfo> = revs
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.revision = i as u64 + 1;
            r
        })
        .collect();
    a.update(Msg::History("posthog".into(), "posthog".into(), Ok(revs)));
    snap("rollback_revisions", &a);
    key(&mut a, KeyCode::Char('k'));
    key(&mut a, KeyCode::Enter);
    snap("confirm_rollback", &a);
    let effects = key(&mut a, KeyCode::Char('y'));
    let [Effect::Rollback(plan)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!((plan.from.revision, plan.to.revision), (3, 1));
    assert!(!plan.type_the_name, "same chart and app: y is enough");
}

/// Back across a chart major: the confirmation names both versions and what does not roll
/// back, and only the release's name typed (then enter) rolls back.
#[test]
fn a_rollback_across_a_major_asks_for_the_release_name() {
    let mut a = app();
    a.update(Msg::Releases(Ok(vec![release("deployed", 3)])));
    key(&mut a, KeyCode::Char('r'));
    let at = |revision: u64, status: &str, version: &str, app: &str| {
        let mut r = release(status, revision);
        r.chart = "posthog".into();
        r.chart_version = version.into();
        r.app_version = app.into();
        r
    };
    let revs = vec![
        at(1, "superseded", "25.0.0", "1.37.1"),
        at(2, "superseded", "29.0.11", "1.41.4"),
        at(3, "deployed", "30.46.0", "1.43.0"),
    ];
    a.update(Msg::History("posthog".into(), "posthog".into(), Ok(revs)));
    key(&mut a, KeyCode::Enter);
    snap("confirm_rollback_across_a_major", &a);
    assert!(
        key(&mut a, KeyCode::Char('y')).is_empty(),
        "y is not the name"
    );
    for c in "posthog".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    // "y" was typed first: the name does not match yet.
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    for _ in 0..8 {
        key(&mut a, KeyCode::Backspace);
    }
    for c in "posthog".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    let effects = key(&mut a, KeyCode::Enter);
    let [Effect::Rollback(plan)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!((plan.from.revision, plan.to.revision), (3, 2));
    assert!(plan.type_the_name);
    assert!(
        plan.stays
            .iter()
            .any(|s| s.contains("async migrations 0005, 0006, 0007")),
        "{:?}",
        plan.stays
    );
    assert_eq!(a.screen(), Route::Run);
}

#[test]
fn upgrade_starts_from_the_release_values_with_its_profile() {
    let mut a = app();
    let mut r = release("deployed", 2);
    r.user_values
        .insert("ingress".into(), json!({"hostname": "old.example.com"}));
    a.update(Msg::Releases(Ok(vec![r])));
    key(&mut a, KeyCode::Char('u'));
    snap("upgrade_questions", &a);
    let w = a.walkthrough.current.as_ref().unwrap();
    assert_eq!(
        a.session.profiles[w.profile].name, "aws",
        "the release's cloud picks the profile"
    );
    assert_eq!(w.fields[0].input, "old.example.com");
    // `i` on the installed release is its upgrade walkthrough, and says so.
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Home);
    key(&mut a, KeyCode::Char('i'));
    let w = a.walkthrough.current.as_ref().unwrap();
    assert_eq!(w.action, deploy::Action::Upgrade);
    assert!(
        a.message.as_deref().unwrap().contains("already installed"),
        "{:?}",
        a.message
    );
    // Text fields edit in place: home, a character, end, ctrl-w.
    let w = a.walkthrough.current.as_mut().unwrap();
    w.step = helmdeck::tui::screens::wizard::WizardStep::Questions;
    w.field = 0;
    key(&mut a, KeyCode::Home);
    typed(&mut a, "x?");
    key(&mut a, KeyCode::End);
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('w'),
        KeyModifiers::CONTROL,
    )));
    let w = a.walkthrough.current.as_ref().unwrap();
    assert_eq!(w.fields[0].input, "");
    assert!(a.overlay.is_none(), "? typed in a field is text, not help");
    // A long pasted value: the field scrolls so its end and the cursor stay in view.
    let long = format!("{}.example.com", "very-long-subdomain-".repeat(5));
    a.update(Msg::Paste(long.clone()));
    assert_eq!(
        a.walkthrough.current.as_ref().unwrap().fields[0].input,
        long.as_str()
    );
    let small = render(&a, 80, 24);
    assert!(small.contains("…"), "{small}");
    assert!(small.contains("subdomain-.example.com"), "{small}");
}

#[test]
fn switching_context_keeps_the_current_cluster_until_the_new_one_connects() {
    let mut a = app();
    a.update(Msg::Releases(Ok(vec![release("deployed", 2)])));
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ctx elsewhere");
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::SwitchContext("elsewhere".into())]);
    assert_eq!(
        a.session.opts.context, "helmdeck-sim",
        "still on the old cluster"
    );
    assert_eq!(a.session.releases.len(), 1, "its data still shown");
    a.update(Msg::ContextSwitched(
        "elsewhere".into(),
        Err("context \"elsewhere\" not found in the kubeconfig".into()),
    ));
    assert_eq!(a.session.opts.context, "helmdeck-sim");
    assert!(
        a.message
            .as_deref()
            .is_some_and(|m| m.contains("cannot switch to context elsewhere")
                && m.contains("still on helmdeck-sim")),
        "{:?}",
        a.message
    );
    assert!(!render(&a, 120, 30).contains("TLS unverified"));
    // The new context's kubeconfig turns certificate checks off: the header says so.
    let effects = a.update(Msg::ContextSwitched(
        "elsewhere".into(),
        Ok(helmdeck::tui::app::Switched {
            tls_unverified: true,
            simulated: false,
            scope: "elsewhere.example.com-01234567".into(),
        }),
    ));
    assert_eq!(effects, vec![Effect::RefreshReleases]);
    assert_eq!(a.session.opts.context, "elsewhere");
    assert!(
        a.session.releases.is_empty(),
        "the old cluster's releases are gone"
    );
    assert!(render(&a, 120, 30).contains("TLS unverified"));
}

/// The versions in ../shared/charts/posthog, as their repository index lists them.
fn vendor_listing() -> helmdeck::chart::repo::Listing {
    let v =
        |version: &str, app: &str, kube: &str, date: &str| helmdeck::chart::repo::ChartVersion {
            version: version.into(),
            app_version: app.into(),
            kube_version: kube.into(),
            created: format!("{date}T10:00:00Z"),
            deprecated: false,
        };
    helmdeck::chart::repo::Listing {
        repo: "http://127.0.0.1:8879/".into(),
        chart: "posthog".into(),
        versions: vec![
            v("30.46.0", "1.43.0", ">= 1.24-0", "2023-06-01"),
            v("30.0.0", "1.42.0", ">= 1.23-0 <= 1.25-0", "2022-12-01"),
            v("29.0.11", "1.41.4", ">= 1.23-0 <= 1.25-0", "2022-11-20"),
            v("28.0.0", "1.40.1", ">= 1.23-0 <= 1.25-0", "2022-10-01"),
            v("25.0.0", "1.37.1", ">= 1.22-0 <= 1.24-0", "2022-07-12"),
            v("20.0.0", "1.35.0", ">= 1.20-0 <= 1.23-0", "2022-04-01"),
        ],
        stale: None,
    }
}

/// The upgrade walkthrough of the vendor's chart across two majors: the version picker (the
/// release's version marked, versions the cluster cannot run flagged), the path with the notes
/// of each stop, every manual step acknowledged before going on, then the questions for the
/// first stop; a downgrade is refused in the picker.
#[test]
fn the_upgrade_walkthrough_picks_a_version_and_walks_its_stops() {
    let mut a = app();
    a.session.opts.simulated = false;
    let mut r = release("deployed", 1);
    r.chart = "posthog".into();
    r.chart_version = "25.0.0".into();
    r.app_version = "1.37.1".into();
    a.update(Msg::Releases(Ok(vec![r])));
    let effects = key(&mut a, KeyCode::Char('u'));
    let Some(Effect::Versions { chart, .. }) = effects.first() else {
        panic!("the picker asks for the repository's versions: {effects:?}")
    };
    assert_eq!(chart, "posthog");
    a.update(Msg::Versions(Ok((
        vendor_listing(),
        Some("1.24.17".into()),
    ))));
    snap("upgrade_versions", &a);

    // 20.0.0 is older than the release: refused, with the way back.
    key(&mut a, KeyCode::Char('G'));
    key(&mut a, KeyCode::Enter);
    assert!(
        a.message
            .as_deref()
            .is_some_and(|m| m.contains("helmdeck rollback")),
        "{:?}",
        a.message
    );
    key(&mut a, KeyCode::Char('g'));
    key(&mut a, KeyCode::Enter);
    snap("upgrade_notes", &a);
    let w = a.walkthrough.current.as_ref().unwrap();
    let stops: Vec<&str> = w
        .path
        .as_ref()
        .unwrap()
        .stops
        .iter()
        .map(|s| s.version.as_str())
        .collect();
    assert_eq!(stops, ["29.0.11", "30.46.0"]);
    let steps = w.acks.len();
    assert_eq!(steps, 4, "the first leg's steps: {:?}", w.acks);
    let last_step = w.acks[steps - 1].0.clone();
    // At 80×24 the notes wrap past the screen: G brings the checklist's last step into view.
    key(&mut a, KeyCode::Char('G'));
    let small = render(&a, 80, 24);
    let tail: String = last_step
        .chars()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        small
            .replace(['│', '\n', '"', ' '], "")
            .contains(&tail.replace(' ', "")),
        "the last step ({last_step}) is not on screen:\n{small}"
    );
    insta::assert_snapshot!("upgrade_notes_scrolled_80x24", small);
    key(&mut a, KeyCode::Char('g'));

    // Not before every step is confirmed.
    key(&mut a, KeyCode::Enter);
    assert_eq!(
        a.walkthrough.current.as_ref().unwrap().step,
        helmdeck::tui::screens::wizard::WizardStep::Notes
    );
    for _ in 0..steps {
        key(&mut a, KeyCode::Char(' '));
    }
    key(&mut a, KeyCode::Enter);
    assert_eq!(
        a.walkthrough.current.as_ref().unwrap().step,
        helmdeck::tui::screens::wizard::WizardStep::Questions
    );
    snap("upgrade_stop_questions", &a);
    // The campaign is for the version chosen; it takes 29.0.11 first.
    let intent = a
        .walkthrough
        .current
        .as_ref()
        .unwrap()
        .intent(deploy::Action::Upgrade, &a.session)
        .unwrap();
    assert_eq!(intent.values.version.as_deref(), Some("30.46.0"));
}

/// `:skip-stop VERSION REASON` in the walkthrough leaves a stop out as the CLI's
/// `--skip-stop` does: only a stop of the way, only with a reason, and the campaign gets it.
#[test]
fn a_stop_is_skipped_in_the_app_only_by_name_and_with_a_reason() {
    let mut a = app();
    a.session.opts.simulated = false;
    let mut r = release("deployed", 1);
    r.chart = "posthog".into();
    r.chart_version = "25.0.0".into();
    r.app_version = "1.37.1".into();
    a.update(Msg::Releases(Ok(vec![r])));
    let command = |a: &mut App, line: &str| {
        key(a, KeyCode::Char(':'));
        typed(a, line);
        key(a, KeyCode::Enter);
        a.message.clone().unwrap_or_default()
    };
    assert!(command(&mut a, "skip-stop 29.0.11 why").contains("works in an upgrade walkthrough"));
    key(&mut a, KeyCode::Char('u'));
    a.update(Msg::Versions(Ok((
        vendor_listing(),
        Some("1.24.17".into()),
    ))));
    key(&mut a, KeyCode::Char('g'));
    key(&mut a, KeyCode::Enter);
    let stops = |a: &App| -> Vec<String> {
        let w = a.walkthrough.current.as_ref().expect("the walkthrough");
        w.path
            .as_ref()
            .expect("a way")
            .stops
            .iter()
            .map(|s| s.version.clone())
            .collect()
    };
    assert_eq!(stops(&a), ["29.0.11", "30.46.0"]);
    assert!(command(&mut a, "skip-stop 28.0.0 no").contains("not a stop on the way"));
    assert!(command(&mut a, "skip-stop 29.0.11").contains("name the stop and why"));
    assert_eq!(
        stops(&a),
        ["29.0.11", "30.46.0"],
        "nothing skipped without a reason"
    );
    let said = command(&mut a, "skip-stop 29.0.11 ran 0005 to 0007 by hand");
    assert!(said.contains("chart 29.0.11 left out of the way"), "{said}");
    assert_eq!(stops(&a), ["30.46.0"]);
    let intent = a
        .walkthrough
        .current
        .as_ref()
        .unwrap()
        .intent(deploy::Action::Upgrade, &a.session)
        .unwrap();
    let skip = intent.skip.expect("the campaign skips it");
    assert_eq!(
        (skip.version.as_str(), skip.reason.as_str()),
        ("29.0.11", "ran 0005 to 0007 by hand")
    );
}

/// `u` again after leaving the walkthrough opens the version picker on the version chosen
/// before, not on the newest.
#[test]
fn the_upgrade_walkthrough_remembers_the_chosen_version() {
    let mut a = app();
    a.session.opts.simulated = false;
    let mut r = release("deployed", 1);
    r.chart = "posthog".into();
    r.chart_version = "25.0.0".into();
    r.app_version = "1.37.1".into();
    a.update(Msg::Releases(Ok(vec![r])));
    let open = |a: &mut App| {
        key(a, KeyCode::Char('u'));
        a.update(Msg::Versions(Ok((
            vendor_listing(),
            Some("1.24.17".into()),
        ))));
        let w = a.walkthrough.current.as_ref().expect("the walkthrough");
        let Some(Ok(listing)) = &w.versions else {
            panic!("no versions")
        };
        listing.versions[w.version_sel].version.clone()
    };
    let newest = open(&mut a);
    key(&mut a, KeyCode::Down);
    let chosen = {
        let w = a.walkthrough.current.as_ref().unwrap();
        let Some(Ok(listing)) = &w.versions else {
            panic!("no versions")
        };
        listing.versions[w.version_sel].version.clone()
    };
    assert_ne!(chosen, newest);
    key(&mut a, KeyCode::Enter);
    assert_eq!(
        a.walkthrough.current.as_ref().unwrap().step,
        helmdeck::tui::screens::wizard::WizardStep::Notes,
        "{:?}",
        a.message
    );
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Home);
    assert_eq!(open(&mut a), chosen);
}

/// An upgrade refused because a StatefulSet's disk grows offers the guided resize: `R` plans
/// again with it, and the intent carries it to the engine.
#[test]
fn a_refused_disk_growth_offers_the_guided_resize() {
    let mut a = app();
    a.update(Msg::Releases(Ok(vec![release("deployed", 2)])));
    key(&mut a, KeyCode::Char('u'));
    typed(&mut a, "ph.example.com");
    key(&mut a, KeyCode::Enter);
    let effects = key(&mut a, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Plan(_)]),
        "{effects:?}"
    );
    a.update(Msg::Engine(Event::Check(Check {
        id: "immutable-fields",
        verdict: Verdict::Fail,
        message: "StatefulSet posthog-clickhouse: volumeClaimTemplates cannot be changed by an upgrade (data size 20Gi → 30Gi)".into(),
        fix: "run the upgrade again with --resize-disks".into(),
    })));
    a.update(Msg::PlanDone(Err(Outcome::PreflightFailed {
        failed: vec!["StatefulSet posthog-clickhouse".into()],
    })));
    assert!(render(&a, 160, 48).contains("R: let helmdeck grow the disks"));
    let effects = key(&mut a, KeyCode::Char('R'));
    match effects.as_slice() {
        [Effect::Plan(intent)] => assert!(intent.resize_disks),
        other => panic!("{other:?}"),
    }
    assert!(!render(&a, 160, 48).contains("R: let helmdeck grow the disks"));
}

/// Navigation is a stack: esc goes back to the screen a view was opened from (a pane opened
/// from the wizard returns to the wizard as it was left), `:home` empties it, and a later
/// screen opened twice is not stacked twice.
#[test]
fn esc_goes_back_to_the_screen_a_view_was_opened_from() {
    let mut a = app();
    key(&mut a, KeyCode::Char('i'));
    assert_eq!(a.screen(), Route::Wizard);
    key(&mut a, KeyCode::Down);
    let profile = a.walkthrough.current.as_ref().unwrap().profile;
    a.command("pods");
    assert_eq!(a.screen(), Route::Dashboard);
    a.command("disks");
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Wizard, "one dashboard on the stack");
    assert_eq!(a.walkthrough.current.as_ref().unwrap().profile, profile);
    a.command("ingestion");
    a.command("home");
    assert_eq!(a.screen(), Route::Home);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.screen(), Route::Home, "home is the bottom");
}

/// The dashboard's snapshot with what the resource views list: the pods' owners and claims,
/// the release's Deployments, Services, a Job and events.
fn release_objects() -> Snapshot {
    let mut s = snapshot();
    let owned = |p: &Arc<helmdeck::observed::podview::PodView>| {
        let mut p = serde_json::to_value(&**p).unwrap();
        let name = p["metadata"]["name"].as_str().unwrap().to_string();
        let role = p["metadata"]["labels"]["role"]
            .as_str()
            .unwrap()
            .to_string();
        if name.ends_with("-0") {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "StatefulSet",
                "name": format!("posthog-{role}"), "uid": "u"}]);
            if role == "clickhouse" || role == "kafka" {
                p["spec"]["volumes"] = json!([{"name": "data", "persistentVolumeClaim":
                    {"claimName": format!("data-posthog-{role}-0")}}, {"name": "config", "configMap": {"name": "c"}}]);
            }
        } else {
            let (rs, _) = name.rsplit_once('-').unwrap();
            let hash = rs.rsplit_once('-').unwrap().1;
            p["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            p["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": "u"}]);
        }
        arc(p)
    };
    s.pods = s.pods.iter().map(owned).collect();
    let deploy = |role: &str, ready: i32| {
        arc(
            json!({"metadata": {"name": format!("posthog-{role}"), "namespace": "posthog",
                                "creationTimestamp": "2026-11-25T11:45:00Z",
                                "annotations": {"meta.helm.sh/release-name": "posthog"}},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"role": role}},
                            "template": {"metadata": {"labels": {"role": role, "release": "posthog"}}}},
                   "status": {"replicas": 1, "readyReplicas": ready, "updatedReplicas": 1, "availableReplicas": ready}}),
        )
    };
    s.deployments = vec![
        deploy("web", 0),
        deploy("events", 1),
        deploy("worker", 1),
        deploy("plugins", 1),
    ];
    let svc = |role: &str, ty: &str, port: i32, ingress: Value| {
        arc(
            json!({"metadata": {"name": format!("posthog-{role}"), "namespace": "posthog",
                                "creationTimestamp": "2026-11-25T11:45:00Z", "labels": {"release": "posthog"}},
                   "spec": {"type": ty, "clusterIP": "10.96.0.12", "selector": {"role": role},
                            "ports": [{"port": port, "protocol": "TCP"}]},
                   "status": {"loadBalancer": {"ingress": ingress}}}),
        )
    };
    s.services = vec![
        svc("web", "LoadBalancer", 8000, json!([{"ip": "203.0.113.10"}])),
        svc("events", "ClusterIP", 8000, json!([])),
        svc("clickhouse", "ClusterIP", 8123, json!([])),
    ];
    s.jobs = vec![arc(
        json!({"metadata": {"name": "posthog-migrate-2", "namespace": "posthog",
                            "creationTimestamp": "2026-11-25T11:45:00Z", "labels": {"release": "posthog"}},
               "spec": {"completions": 1, "template": {"spec": {"containers": []}}},
               "status": {"succeeded": 1, "startTime": "2026-11-25T11:45:00Z", "completionTime": "2026-11-25T11:46:10Z",
                          "conditions": [{"type": "Complete", "status": "True"}]}}),
    )];
    let event = |name: &str, kind: &str, obj: &str, ty: &str, reason: &str, msg: &str, at: &str| {
        arc(json!({"metadata": {"name": name, "namespace": "posthog"},
                   "involvedObject": {"kind": kind, "name": obj, "namespace": "posthog"},
                   "type": ty, "reason": reason, "message": msg, "lastTimestamp": at}))
    };
    s.events = vec![
        event(
            "e1",
            "Pod",
            "posthog-web-7c9f-abcde",
            "Warning",
            "BackOff",
            "Back-off restarting failed container app in pod posthog-web-7c9f-abcde_posthog",
            "2026-11-25T11:58:00Z",
        ),
        event(
            "e2",
            "Job",
            "posthog-migrate-2",
            "Normal",
            "Completed",
            "Job completed",
            "2026-11-25T11:46:10Z",
        ),
        event(
            "e3",
            "Pod",
            "someone-else",
            "Warning",
            "Failed",
            "not the release's",
            "2026-11-25T11:50:00Z",
        ),
    ];
    s
}

/// `:deploy`, `:sts`, `:svc`, `:pvc`, `:events` and `:jobs` list the release's objects with
/// kubectl's columns; enter goes to the pods a row runs (esc back), a claim's disk or an
/// event's pod; `:xray` draws the release down to each disk's class with its verdict.
#[test]
fn resource_views_and_the_xray_of_the_release() {
    let mut a = dashboard();
    a.update(Msg::Snapshot(Box::new(release_objects()), Connection::Live));
    for (cmd, name, must) in [
        ("deploy", "view_deployments", "0/1"),
        ("sts", "view_statefulsets", "posthog-kafka"),
        ("svc", "view_services", "203.0.113.10"),
        ("pvc", "view_claims", "data-posthog-kafka-0"),
        ("events", "view_events", "BackOff"),
        ("jobs", "view_jobs", "Complete"),
    ] {
        a.command(cmd);
        if cmd == "events" {
            // The warning, whose message the line below the list shows whole.
            key(&mut a, KeyCode::Down);
        }
        let screen = render(&a, 80, 24);
        assert!(screen.contains(must), "{cmd}: {screen}");
        snap(name, &a);
    }
    // Only the release's events: one about someone else's pod is not listed.
    a.command("events");
    let events = render(&a, 160, 48);
    assert!(!events.contains("someone-else"), "{events}");
    key(&mut a, KeyCode::Down);
    assert!(
        render(&a, 80, 24).contains("posthog-web-7c9f-abcde_posthog"),
        "the message whole"
    );
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.dash.detail.as_deref(), Some("posthog-web-7c9f-abcde"));
    // Enter on the third Deployment (web, by name) shows its pod only; esc goes back to the row.
    a.command("deploy");
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Enter);
    let pods = render(&a, 80, 24);
    assert!(
        pods.contains("pods of deploy/posthog-web (1)") && pods.contains("posthog-web-7c9f-abcde"),
        "{pods}"
    );
    assert!(!pods.contains("posthog-events-5d8b"), "{pods}");
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.dash.pane, Pane::Objects(ObjectKind::Deployments));
    assert_eq!(a.dash.selected, 2);
    // A Service leads to the pods it selects; a claim to its disk.
    a.command("svc");
    key(&mut a, KeyCode::Enter);
    assert!(render(&a, 80, 24).contains("pods of svc/posthog-clickhouse (1)"));
    a.command("pvc");
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.dash.pane, Pane::Disks);
    assert_eq!(
        a.session.disks[a.dash.selected].claim,
        "data-posthog-kafka-0"
    );
    // The x-ray: the kafka pod's claim, its volume and the unencrypted class, failing.
    a.command("xray");
    let tree = render(&a, 160, 48);
    for line in [
        "Release posthog",
        "StatefulSet posthog-kafka",
        "Pod posthog-kafka-0",
        "Claim data-posthog-kafka-0",
        "Volume pv-kafka",
        "Class gp2 FAIL",
    ] {
        assert!(tree.contains(line), "{line}: {tree}");
    }
    snap("xray", &a);
    // l on a pod of the tree opens its logs, as on the pods pane.
    let at = helmdeck::tui::screens::dashboard::objects::xray_rows(&a.session)
        .iter()
        .position(|r| r.name == "posthog-kafka-0")
        .expect("the kafka pod in the tree");
    for _ in 0..at {
        key(&mut a, KeyCode::Down);
    }
    let effects = key(&mut a, KeyCode::Char('l'));
    assert!(!effects.is_empty(), "logs asked for");
    assert_eq!(
        a.dash.text.as_ref().map(|t| t.pod.as_str()),
        Some("posthog-kafka-0")
    );
}

/// With metrics-server's figures the pods pane shows CPU and MEM, and at 160 columns their
/// shares of requests and limits (`n/a` where none is set); without metrics-server its title
/// says why there are none.
#[test]
fn the_pods_pane_shows_cpu_and_memory_when_metrics_server_measures_them() {
    let mut a = dashboard();
    let mut snap_with_sizes = snapshot();
    snap_with_sizes.pods = snap_with_sizes
        .pods
        .iter()
        .map(|p| {
            let mut p = serde_json::to_value(&**p).unwrap();
            if p["metadata"]["labels"]["role"] != "worker" {
                p["spec"]["containers"][0]["resources"] = json!({
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": "2", "memory": "2Gi"}});
            }
            arc(p)
        })
        .collect();
    a.update(Msg::Snapshot(Box::new(snap_with_sizes), Connection::Live));
    let usage: Vec<helmdeck::observed::PodUsage> = a
        .session
        .pods
        .pods
        .iter()
        .enumerate()
        .map(|(i, p)| helmdeck::observed::PodUsage {
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            cpu: 0.05 * (i + 1) as f64,
            memory: 256.0 * 1_048_576.0,
        })
        .collect();
    a.update(Msg::Usage(Ok(usage)));
    a.command("pods");
    let narrow = render(&a, 80, 24);
    assert!(
        narrow.contains("CPU") && narrow.contains("MEM") && narrow.contains("256Mi"),
        "{narrow}"
    );
    let wide = render(&a, 160, 48);
    for must in ["%CPU/R", "%MEM/R", "%CPU/L", "%MEM/L", "25%", "n/a"] {
        assert!(wide.contains(must), "{must}: {wide}");
    }
    snap("pods_with_usage", &a);
    a.update(Msg::Usage(Err(
        "metrics.k8s.io not served (no metrics-server)".into(),
    )));
    let without = render(&a, 160, 48);
    assert!(
        without.contains("no CPU/MEM: metrics.k8s.io not served") && !without.contains("%CPU/R"),
        "{without}"
    );
}

/// `:ctx all`: every context's releases as each answers; the unreachable one says why and
/// holds no one up; enter on another context's release switches to it with it selected.
#[test]
fn every_context_lists_its_releases_and_names_the_unreachable_one() {
    let mut a = app();
    a.update(Msg::Releases(Ok(vec![release("deployed", 2)])));
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ctx all");
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::ReadEveryContext]);
    let names = ["helmdeck-sim", "staging", "prod-eu"].map(String::from);
    a.update(Msg::Contexts(Ok(names.to_vec())));
    a.update(Msg::ContextReleases(
        "helmdeck-sim".into(),
        Ok(vec![release("deployed", 2)]),
    ));
    // prod-eu has not answered: staging's rows are there already.
    let mut staging = vec![release("failed", 7), release("deployed", 1)];
    staging[1].name = "analytics".into();
    staging[1].namespace = "team-b".into();
    staging[1].chart = "posthog".into();
    staging[1].chart_version = "30.46.0".into();
    a.update(Msg::ContextReleases("staging".into(), Ok(staging)));
    let reading = render(&a, 120, 30);
    assert!(
        reading.contains("reading…") && reading.contains("2 of 3 contexts answered"),
        "{reading}"
    );
    let why = helmdeck::cluster::ClusterError::Unreachable(
        "https://10.9.0.1:6443: Connection refused (os error 111)".into(),
    )
    .to_string();
    a.update(Msg::ContextReleases("prod-eu".into(), Err(why)));
    snap("home_every_context", &a);
    let wide = render(&a, 160, 48);
    assert!(
        wide.contains("prod-eu: ") && wide.contains("https://10.9.0.1:6443"),
        "{wide}"
    );
    // Another context's release: enter switches there and selects it once it is listed.
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Down);
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::SwitchContext("staging".into())]);
    assert!(a.home.every.is_none(), "the view gives way to the context");
    a.update(Msg::ContextSwitched(
        "staging".into(),
        Ok(helmdeck::tui::app::Switched {
            tls_unverified: false,
            simulated: false,
            scope: "staging.example.com-01234567".into(),
        }),
    ));
    let mut listed = vec![release("failed", 7), release("deployed", 1)];
    listed[1].name = "analytics".into();
    listed[1].namespace = "team-b".into();
    a.update(Msg::Releases(Ok(listed)));
    let selected = a.home.selected(&a.session).unwrap();
    assert_eq!(
        (selected.name.as_str(), selected.namespace.as_str()),
        ("analytics", "team-b")
    );
    // Esc leaves the view for this cluster's list; ctrl-r reads every context again.
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ctx all");
    key(&mut a, KeyCode::Enter);
    let again = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(again, vec![Effect::ReadEveryContext]);
    key(&mut a, KeyCode::Esc);
    assert!(a.home.every.is_none());
    assert!(render(&a, 120, 30).contains(" releases (2) "));
}

/// The disks pane with the kubelets' measurements: each claim's use and time to full, and the
/// selected claim's fill over the samples as a small chart with its next step.
#[test]
fn dashboard_disk_usage() {
    use helmdeck::cluster::disk_usage::ClaimUsage;
    use helmdeck::health::fill::Sample;
    let mut a = dashboard();
    key(&mut a, KeyCode::Tab);
    const G: u64 = 1 << 30;
    let at = |claim: &str, minute: u64, used: u64| ClaimUsage {
        namespace: "posthog".into(),
        claim: claim.into(),
        sample: Sample {
            at_ms: 1_796_292_000_000 + minute * 60_000,
            used,
            capacity: 20 * G,
        },
    };
    // Kafka grows 1 GiB every ten minutes; ClickHouse holds still.
    for m in 0..12 {
        a.update(Msg::Volumes(
            vec![
                at("data-posthog-kafka-0", m * 10, 6 * G + m * G),
                at("data-posthog-clickhouse-0", m * 10, 8 * G),
            ],
            Vec::new(),
        ));
    }
    let kafka = a
        .session
        .disks
        .iter()
        .position(|d| d.claim == "data-posthog-kafka-0")
        .expect("kafka's claim");
    while a.dash.selected < kafka {
        key(&mut a, KeyCode::Char('j'));
    }
    let text = render(&a, 160, 48);
    assert!(text.contains("85%"), "{text}");
    assert!(text.contains("full in 30m, within 24 h"), "{text}");
    assert!(
        text.contains("class gp2 does not allow expansion"),
        "{text}"
    );
    // At the growth measured, a day of retention is more than the claim holds.
    assert!(
        text.contains(
            "kafka retention: Kafka writes 102.4Mi/min; kafka.logRetentionHours 24 keeps 144Gi"
        ),
        "{text}"
    );
    snap("dashboard_disk_usage", &a);
    // A kubelet that cannot be read is said so under the evidence.
    a.update(Msg::Volumes(
        Vec::new(),
        vec![
            "node sim-node-2: volume usage needs `get` on nodes/proxy, which this user lacks"
                .into(),
        ],
    ));
    assert!(render(&a, 160, 48).contains("usage not read: node sim-node-2"));
}

/// A release that turned the chart's monitoring on gets, under the ingestion pane, each
/// part's pods ready (a part with no pod fails) and the command that opens Grafana.
#[test]
fn dashboard_monitoring() {
    let mut a = dashboard();
    let mut r = release("deployed", 2);
    for key in ["prometheus", "grafana", "loki"] {
        r.user_values.insert(key.into(), json!({"enabled": true}));
    }
    a.update(Msg::Releases(Ok(vec![r])));
    let mut s = snapshot();
    let labelled = |name: &str, labels: Value, ready: bool| {
        let mut p = pod(name, "x", ready, 0, None);
        p["metadata"]["labels"] = labels;
        arc(p)
    };
    s.pods.push(labelled(
        "posthog-prometheus-server-1",
        json!({"app": "prometheus", "component": "server", "release": "posthog"}),
        true,
    ));
    s.pods.push(labelled(
        "posthog-grafana-1",
        json!({"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "posthog"}),
        true,
    ));
    s.services.push(arc(json!({
        "metadata": {"name": "posthog-grafana", "namespace": "posthog"},
        "spec": {"selector": {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "posthog"},
                 "ports": [{"name": "service", "port": 80, "targetPort": 3000}]}
    })));
    a.update(Msg::Snapshot(Box::new(s), Connection::Live));
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Tab);
    let text = render(&a, 160, 48);
    assert!(text.contains("prometheus 1/1 PASS"), "{text}");
    assert!(text.contains("loki 0/0 FAIL"), "{text}");
    assert!(
        text.contains("kubectl -n posthog port-forward svc/posthog-grafana 3000:80"),
        "{text}"
    );
    snap("dashboard_monitoring", &a);
}
