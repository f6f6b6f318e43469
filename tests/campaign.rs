//! The app's upgrade walkthrough runs through the engine's campaign, as the CLI's `upgrade`
//! does: chart 25.0.0 → 30.46.0 on Kubernetes 1.24 stops at 29.0.11 first, and the app asks
//! for each stop's manual steps and confirmation before applying it. The app is driven with
//! keys and messages; its effects are carried out by the app's own runtime functions against
//! the simulated cluster.
//!
//! This binary holds this one test: it sets the environment helmdeck reads (helm, its data
//! and cache directories, the chart repository), which the campaign's tasks read in-process.

mod common;

use std::time::{Duration, Instant};

use common::{Sim, helm};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use helmdeck::cluster::Target;
use helmdeck::deploy::{self, Outcome};
use helmdeck::tui::app::{App, Effect, Msg, Route};
use helmdeck::tui::screens::wizard::WizardStep;
use helmdeck_sim::{Flavor, SimOptions};
use tokio::sync::mpsc::UnboundedReceiver;

fn key(app: &mut App, c: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

/// Carries out the effects this walkthrough asks for, as the app's event loop does.
fn carry_out(effects: Vec<Effect>, target: &Target, tx: &tokio::sync::mpsc::UnboundedSender<Msg>) {
    for e in effects {
        match e {
            Effect::Plan(mut intent) => {
                intent.target = target.clone();
                helmdeck::tui::runtime::spawn_campaign(*intent, tx.clone());
            }
            Effect::Apply(ticket) => ticket.reply.send(deploy::Answer::Yes),
            Effect::Answer(reply, a) => reply.send(a),
            _ => {}
        }
    }
}

/// Feeds the app the runtime's messages until `done` says the app is where the test waits
/// for it (a deadline, never a sleep).
async fn until(
    app: &mut App,
    rx: &mut UnboundedReceiver<Msg>,
    target: &Target,
    tx: &tokio::sync::mpsc::UnboundedSender<Msg>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}; message: {:?}", app.message))
            .expect("the runtime's sender");
        let effects = app.update(msg);
        carry_out(effects, target, tx);
    }
}

fn plan_ready(app: &App) -> bool {
    app.walkthrough
        .current
        .as_ref()
        .is_some_and(|w| w.step == WizardStep::Plan && !w.plan.running && w.plan.outcome.is_some())
}

fn applied(app: &App) -> bool {
    app.run.view.as_ref().is_some_and(|r| r.outcome.is_some())
}

#[test]
fn the_apps_walkthrough_takes_every_stop_of_the_campaign() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = Sim::start(SimOptions {
        flavor: Flavor::Eks,
        kubernetes_version: "1.24".parse().expect("a version"),
        ..Default::default()
    });
    common::install_vendor_chart(&sim, &url, "25.0.0");

    // SAFETY: this binary runs this one test, and nothing else reads the environment while
    // these are set (the simulated cluster's server does not).
    unsafe {
        for (k, v) in helmdeck_sim::testkit::private_env(sim.home.path()) {
            std::env::set_var(k, v);
        }
        std::env::set_var("HELMDECK_HELM", helm(4));
        std::env::set_var(helmdeck::chart::repo::REPO_ENV, &url);
    }
    let target = Target {
        kubeconfig: Some(sim.kubeconfig.clone()),
        context: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = target.client().await.expect("client");
        let releases = helmdeck::cluster::releases::list(&client, None)
            .await
            .expect("releases");
        let mut app = common::app_on_sim("aws", &target.scope_key(), std::time::SystemTime::now());
        app.update(Msg::Releases(Ok(releases)));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();

        // The version picker lists the repository's versions; the newest is first.
        let Some(Effect::Versions { repo, chart }) = key(&mut app, KeyCode::Char('u')).pop() else {
            panic!("u on a repository's release asks for its versions")
        };
        let listing = helmdeck::chart::repo::versions(&repo, &chart, &helmdeck::dirs::cache_dir())
            .await
            .expect("the index");
        app.update(Msg::Versions(Ok((listing, Some("1.24.0".into())))));
        key(&mut app, KeyCode::Enter);
        let w = app.walkthrough.current.as_ref().expect("the walkthrough");
        assert_eq!(w.step, WizardStep::Notes);
        let path = w.path.clone().expect("the way");
        let stops: Vec<&str> = path.stops.iter().map(|s| s.version.as_str()).collect();
        assert_eq!(stops, ["29.0.11", "30.46.0"]);
        // The first stop's manual steps, acknowledged one by one.
        for _ in 0..w.acks.len() {
            key(&mut app, KeyCode::Char('a'));
        }
        key(&mut app, KeyCode::Enter);
        let review = key(&mut app, KeyCode::Enter);
        let Some(Effect::Review(job)) = review.into_iter().next() else {
            panic!("the questions' enter asks for the review")
        };
        assert_eq!(job.values.version.as_deref(), Some("29.0.11"));
        let reviewed = tokio::task::spawn_blocking(move || {
            (
                job.id,
                helmdeck::tui::screens::wizard::review(&job).map_err(|e| e.to_string()),
            )
        })
        .await
        .expect("review");
        app.update(Msg::Reviewed(reviewed.0, reviewed.1));
        let effects = key(&mut app, KeyCode::Enter);
        let Some(Effect::Plan(intent)) = effects.first() else {
            panic!("the review's enter starts the campaign")
        };
        assert_eq!(
            intent.values.version.as_deref(),
            Some("30.46.0"),
            "the campaign is for the version chosen"
        );
        carry_out(effects, &target, &tx);

        // Stop 1: planned (its steps were acknowledged in the walkthrough), confirmed,
        // applied and verified.
        until(&mut app, &mut rx, &target, &tx, "stop 1's plan", plan_ready).await;
        let w = app.walkthrough.current.as_ref().expect("the walkthrough");
        let ticket =
            w.plan.ticket.as_ref().unwrap_or_else(|| {
                panic!("stop 1 planned: {:?} {:?}", w.plan.outcome, w.plan.checks)
            });
        assert_eq!(ticket.plan.chart_version, "29.0.11");
        assert_eq!(ticket.stop.label(), "stop 1 of 2 (chart 29.0.11)");
        key(&mut app, KeyCode::Enter);
        carry_out(key(&mut app, KeyCode::Char('y')), &target, &tx);
        assert_eq!(app.screen(), Route::Run);
        assert!(
            app.run
                .view
                .as_ref()
                .expect("run")
                .title
                .contains("stop 1 of 2"),
            "{:?}",
            app.run.view.as_ref().map(|r| &r.title)
        );
        until(&mut app, &mut rx, &target, &tx, "stop 1 applied", applied).await;
        let o = app.run.view.as_ref().and_then(|r| r.outcome.clone());
        assert!(matches!(o, Some(Outcome::Applied { .. })), "{o:?}");

        // Stop 2: the walkthrough comes back for the async migrations stop 1 exists for
        // (no personal key here: each is confirmed by name) and its own manual steps (the
        // notes of 30.0.0), then its plan.
        until(
            &mut app,
            &mut rx,
            &target,
            &tx,
            "stop 2's steps or plan",
            |a| a.screen() == Route::Wizard,
        )
        .await;
        let w = app
            .walkthrough
            .current
            .as_ref()
            .expect("the walkthrough again");
        assert_eq!(w.step, WizardStep::Notes);
        let steps: Vec<(String, bool)> =
            helmdeck::deploy::migrations::by_hand("29.0.11", &path.stops[0].gate)
                .into_iter()
                .chain(path.manual_steps(1))
                .map(|s| (s, false))
                .collect();
        assert_eq!(path.stops[0].gate, ["0005", "0006", "0007"]);
        assert_eq!(w.acks, steps);
        assert!(
            w.acks
                .iter()
                .any(|(s, _)| s.starts_with("30.0.0: Run async migrations")),
            "{:?}",
            w.acks
        );
        // Enter before every step is done is refused.
        carry_out(key(&mut app, KeyCode::Enter), &target, &tx);
        assert_eq!(
            app.walkthrough.current.as_ref().map(|w| w.step),
            Some(WizardStep::Notes)
        );
        for _ in 0..app.walkthrough.current.as_ref().map_or(0, |w| w.acks.len()) {
            key(&mut app, KeyCode::Char('a'));
        }
        carry_out(key(&mut app, KeyCode::Enter), &target, &tx);
        until(&mut app, &mut rx, &target, &tx, "stop 2's plan", plan_ready).await;
        let w = app.walkthrough.current.as_ref().expect("the walkthrough");
        let ticket =
            w.plan.ticket.as_ref().unwrap_or_else(|| {
                panic!("stop 2 planned: {:?} {:?}", w.plan.outcome, w.plan.checks)
            });
        assert_eq!(ticket.plan.chart_version, "30.46.0");
        assert_eq!(ticket.stop.label(), "stop 2 of 2 (chart 30.46.0)");
        key(&mut app, KeyCode::Enter);
        carry_out(key(&mut app, KeyCode::Char('y')), &target, &tx);
        until(&mut app, &mut rx, &target, &tx, "stop 2 applied", applied).await;
        let o = app.run.view.as_ref().and_then(|r| r.outcome.clone());
        assert!(matches!(o, Some(Outcome::Applied { .. })), "{o:?}");
        assert!(app.walkthrough.next_stop.is_none() && app.walkthrough.current.is_none());
    });

    let out = sim.run(
        &helm(4),
        &["history", "posthog", "-n", "posthog", "-o", "json"],
    );
    let history: Vec<serde_json::Value> = serde_json::from_str(&out).expect("helm history");
    let charts: Vec<&str> = history
        .iter()
        .map(|h| h["chart"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        charts,
        ["posthog-25.0.0", "posthog-29.0.11", "posthog-30.46.0"]
    );
}
