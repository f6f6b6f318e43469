//! Plan, then apply: what is applied is the plan that was shown, computed from the same
//! request the wizard reviewed, and only while the release has not moved.

mod common;

use std::path::PathBuf;

use common::{Sim, helm};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use helmdeck::cluster::Target;
use helmdeck::deploy::{self, Action, DeployRequest, Intent, Outcome, ValuesIntent};
use helmdeck::helm::driver::Helm;
use helmdeck::tui::app::{Effect, Msg};
use helmdeck_sim::SimOptions;
use serde_json::Value;

/// The engine's request for `intent`, with this test's helm and data directory (what
/// `Intent::resolve` finds from the environment in the binary).
fn request(sim: &Sim, intent: &Intent) -> DeployRequest {
    let bin = helmdeck::helm::probe(&helm(4)).expect("helm 4");
    let values = intent.values.resolve().expect("values resolve");
    DeployRequest {
        action: intent.action,
        release: intent.release.clone(),
        namespace: intent.namespace.clone(),
        target: intent.target.clone(),
        profile: values.profile,
        chart: values.chart,
        chart_path: values.chart_path,
        request: values.request,
        helm: Helm::new(bin, Some(sim.kubeconfig.clone()), None),
        timeout_secs: 120,
        rollback_on_failure: true,
        verify: true,
        resize_disks: false,
        data_dir: sim.home.path().join("helmdeck-data"),
        watch: None,
        app_pin: None,
        secrets: intent.secrets.clone(),
    }
}

fn target(sim: &Sim) -> Target {
    Target {
        kubeconfig: Some(sim.kubeconfig.clone()),
        context: None,
    }
}

fn cli(sim: &Sim, args: &[&str]) -> std::process::Output {
    common::helmdeck_on(sim, &helm(4), args)
}

fn revisions(sim: &Sim) -> usize {
    common::release_secrets(sim, "posthog").len()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn apply_refuses_a_plan_the_release_has_moved_past() {
    let sim = Sim::start(SimOptions::default());
    let o = cli(&sim, &["install", "--profile", "local", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let mut intent = Intent::new(Action::Upgrade, "posthog", "posthog", target(&sim));
    intent.values = ValuesIntent {
        profile: Some("local".into()),
        // As `Intent::resolve` decides from the target: the simulated cluster's stand-in.
        stand_in: target(&sim).is_simulated(),
        sets: vec![(
            helmdeck::values::SetKind::Set,
            "ingress.hostname=planned.example.com".into(),
        )],
        ..Default::default()
    };
    let req = request(&sim, &intent);
    let rt = runtime();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let planned = rt.block_on(deploy::plan(req, &tx)).expect("plan");
    assert_eq!(planned.plan.based_on, Some(1));

    // Another operator's upgrade lands between the plan and the apply.
    let o = cli(
        &sim,
        &[
            "upgrade",
            "--profile",
            "local",
            "--yes",
            "--set",
            "ingress.hostname=other.example.com",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(revisions(&sim), 2);

    let outcome = rt.block_on(deploy::apply(&planned, &tx));
    let Outcome::Busy { message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        message.contains("changed since the plan was made")
            && message.contains("revision 1")
            && message.contains("revision 2")
            && message.contains("Nothing was applied"),
        "{message}"
    );
    assert_eq!(outcome.exit_code(), deploy::exit::BUSY);
    assert_eq!(revisions(&sim), 2, "nothing applied");
    let hosts: Vec<String> = sim
        .objects("networking.k8s.io", "ingresses", Some("posthog"))
        .iter()
        .flat_map(|i| i["spec"]["rules"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["host"].as_str().map(str::to_string))
        .collect();
    assert!(
        !hosts.iter().any(|h| h == "planned.example.com"),
        "{hosts:?}"
    );
}

/// A personal API key no output may carry.
const CANARY: &str = "phx_canary_7c1d9e";

fn leaf<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

fn applied_values(sim: &Sim) -> Value {
    let dir: PathBuf = sim
        .home
        .path()
        .join("helmdeck-data/applied/posthog/posthog");
    let file = std::fs::read_dir(&dir)
        .expect("applied values")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()
        .expect("one applied values file");
    serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json")
}

#[test]
fn the_values_the_wizard_reviews_are_the_values_applied() {
    let sim = Sim::start(SimOptions::default());
    let mut app = common::app_on_sim("local", "sim", std::time::SystemTime::now());
    let mut key = |c| app.update(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    key(KeyCode::Char('i'));
    key(KeyCode::Enter);
    // The last question, the optional personal API key: typed, shown as dots, stored only as
    // the profile's Secret.
    key(KeyCode::BackTab);
    for c in CANARY.chars() {
        key(KeyCode::Char(c));
    }
    // The review renders off the UI thread in the app; here, at once.
    let Some(Effect::Review(job)) = key(KeyCode::Enter).into_iter().next() else {
        panic!("the questions' enter asks for the review")
    };
    app.update(Msg::Reviewed(
        job.id,
        helmdeck::tui::screens::wizard::review(&job).map_err(|e| e.to_string()),
    ));
    let mut key = |c| app.update(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    let effects = key(KeyCode::Enter);
    let Some(Effect::Plan(intent)) = effects.into_iter().next() else {
        panic!("the review's enter plans")
    };
    let review = app
        .walkthrough
        .current
        .as_ref()
        .expect("wizard")
        .review
        .clone();
    assert!(!review.is_empty());
    let mut intent = *intent;
    assert_eq!(intent.secrets.len(), 1, "the key goes to its Secret");
    assert!(
        !format!("{intent:?}").contains(CANARY),
        "never a value, and never in a debug print"
    );
    intent.target = target(&sim);
    let req = request(&sim, &intent);
    let rt = runtime();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let planned = rt.block_on(deploy::plan(req, &tx)).expect("plan");
    let outcome = rt.block_on(deploy::apply(&planned, &tx));
    // No project or personal key here: applied, and said not fully verified, naming where
    // the key goes.
    let Outcome::Applied {
        revision: 1,
        not_verified,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(not_verified.len(), 1, "{not_verified:?}");
    assert!(
        not_verified[0].starts_with("ingestion: not probed: no project API key")
            && not_verified[0]
                .contains("the Secret posthog-helmdeck-probe with the key project-api-key"),
        "{not_verified:?}"
    );
    // The key is in its Secret, and nowhere helmdeck writes or says things.
    let stored = sim
        .objects("", "secrets", Some("posthog"))
        .into_iter()
        .find(|s| s["metadata"]["name"] == "posthog-helmdeck-probe")
        .expect("the probe Secret");
    use base64::Engine;
    let got = base64::engine::general_purpose::STANDARD
        .decode(
            stored["data"]["personal-api-key"]
                .as_str()
                .expect("the key"),
        )
        .expect("base64");
    assert_eq!(got, CANARY.as_bytes());
    for f in common::files_under(&sim.home.path().join("helmdeck-data")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).to_string();
        assert!(!text.contains(CANARY), "{} holds the key", f.display());
    }
    // The rollout was followed through the shared watchers while helm waited.
    let mut most = (0, 0);
    let mut said = String::new();
    while let Ok(e) = rx.try_recv() {
        said.push_str(&format!("{e:?}"));
        if let deploy::Event::Progress {
            pods_ready,
            pods_expected,
            ..
        } = e
        {
            most = most.max((pods_expected, pods_ready));
        }
    }
    assert!(most.0 >= 4, "progress seen: {most:?}");
    assert!(!said.contains(CANARY), "an event carried the key");
    assert!(said.contains("stored Secret posthog-helmdeck-probe (key personal-api-key)"));

    let applied = applied_values(&sim);
    let mut compared = 0;
    for line in review
        .iter()
        .filter(|l| l.layer != "chart" && !l.layer.starts_with("chart:"))
    {
        // Secrets are shown hashed; an empty map or list set by a layer merges into the
        // chart's own (Helm's coalescing), so helm receiving it or not is the same.
        if line.value.starts_with("<redacted:") || line.value == "{}" || line.value == "[]" {
            continue;
        }
        let got = leaf(&applied, &line.path)
            .unwrap_or_else(|| panic!("{} reviewed but not applied", line.path));
        let got = match got {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(got, line.value, "{} ({})", line.path, line.layer);
        compared += 1;
    }
    assert!(compared >= 3, "only {compared} values compared");
    assert!(
        review.iter().any(|l| l.layer.starts_with("answers")),
        "the wizard's answers are in the review"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// helm reads the chart again from its path when it applies: a chart changed since the plan
/// (an edit, a `git pull`) is refused, nothing applied.
#[test]
fn apply_refuses_a_chart_that_changed_since_the_plan() {
    let sim = Sim::start(SimOptions::default());
    let chart = tempfile::tempdir().expect("tempdir");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/charts/posthog-mini");
    copy_dir(&src, chart.path());
    let mut intent = Intent::new(Action::Install, "posthog", "posthog", target(&sim));
    intent.values = ValuesIntent {
        profile: Some("local".into()),
        chart: Some(chart.path().display().to_string()),
        ..Default::default()
    };
    let req = request(&sim, &intent);
    let rt = runtime();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let planned = rt.block_on(deploy::plan(req, &tx)).expect("plan");
    assert_eq!(planned.chart_sha256.len(), 64);

    std::fs::write(
        chart.path().join("templates/added.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added\n",
    )
    .expect("edit the chart");
    let outcome = rt.block_on(deploy::apply(&planned, &tx));
    let Outcome::Busy { message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        message.contains("changed since the plan was made")
            && message.contains(&chart.path().display().to_string())
            && message.contains("Nothing was applied"),
        "{message}"
    );
    assert_eq!(revisions(&sim), 0, "nothing applied");
}

/// Run from the app, the engine follows the rollout and verifies from the watchers the app
/// already runs on the namespace (lent to it), not from a second set of its own; watchers of
/// another namespace are not lent.
#[test]
fn the_engine_reads_the_watchers_the_app_lends_it() {
    use helmdeck::cluster::watch::{ClusterWatch, Scope, SharedWatch};
    let sim = Sim::start(SimOptions::default());
    let mut intent = Intent::new(Action::Install, "posthog", "posthog", target(&sim));
    intent.values = ValuesIntent {
        profile: Some("local".into()),
        stand_in: target(&sim).is_simulated(),
        ..Default::default()
    };
    let rt = runtime();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (outcome, shared) = rt.block_on(async {
        let client = target(&sim).watch_client().await.expect("client");
        let scope = Scope::everything(Some("posthog".into()));
        let shared = SharedWatch::new(ClusterWatch::start(&client, scope.clone()), scope);
        assert!(shared.lend("kube-system", true, false).is_none());
        assert_eq!(
            shared.borrowed(),
            0,
            "watchers of posthog are not lent for kube-system"
        );
        let mut req = request(&sim, &intent);
        req.watch = Some(shared.clone());
        let planned = deploy::plan(req, &tx).await.expect("plan");
        (deploy::apply(&planned, &tx).await, shared)
    });
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    assert_eq!(
        shared.borrowed(),
        2,
        "the rollout and Verify both read the lent watchers"
    );
}
