//! The real binary in a pseudo-terminal against the simulated cluster: install through the
//! wizard, see the dashboard go green, upgrade, roll back, quit — and the terminal is given
//! back (main screen, cursor shown) after a normal exit and after a panic.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Sim, helm};
use helmdeck_sim::SimOptions;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Tty {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Tty {
    fn start(sim: &Sim, args: &[&str], extra_env: &[(&str, &str)]) -> Tty {
        Tty::start_in(sim.home.path(), Some(&sim.kubeconfig), args, extra_env)
    }

    /// helmdeck with a private `home`, on the cluster of `kubeconfig` (or its own demo one).
    fn start_in(
        home: &Path,
        kubeconfig: Option<&Path>,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Tty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 140,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_helmdeck"));
        cmd.args(args);
        cmd.cwd(home);
        for (k, v) in helmdeck_sim::testkit::private_env(home) {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        if let Some(kc) = kubeconfig {
            cmd.env("KUBECONFIG", kc);
        }
        cmd.env("HELMDECK_HELM", helm(4));
        cmd.env("HELMDECK_PROJECT_API_KEY", "phc_pty_test");
        cmd.env("HELMDECK_PERSONAL_API_KEY", "phx_pty_test");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn helmdeck");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 140, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Tty {
            parser,
            raw,
            writer,
            child,
            _master: pair.master,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`.
    fn wait_for(&self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.screen().contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {text:?}; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until one screen shows every text at once (a screen read mid-frame may hold
    /// only part of the frame: each read is judged whole or not at all).
    fn wait_for_all(&self, texts: &[&str], secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for all of {texts:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    fn exit_code(&mut self, secs: u64) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "helmdeck did not exit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the terminal looks like after the app is gone: main screen, cursor visible.
    fn assert_restored(&self) {
        // The reader thread may still be draining the last bytes.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (alt, hidden) = {
                let p = self.parser.lock().unwrap();
                (p.screen().alternate_screen(), p.screen().hide_cursor())
            };
            if !alt && !hidden {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "terminal left in the alternate screen or with the cursor hidden"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        let raw = self.raw.lock().unwrap();
        let text = String::from_utf8_lossy(&raw);
        let entered = text
            .find("\x1b[?1049h")
            .expect("entered the alternate screen");
        let left = text
            .rfind("\x1b[?1049l")
            .expect("left the alternate screen");
        assert!(left > entered);
    }
}

const ESC: &[u8] = b"\x1b";
const ENTER: &[u8] = b"\r";

#[test]
fn install_dashboard_upgrade_rollback_and_quit_in_a_real_terminal() {
    let sim = Sim::start(SimOptions::default());
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    start_install(&mut t);
    t.wait_for("done: revision 1 deployed", 180);
    t.keys(b"d");
    t.wait_for("Pods ready", 30);
    t.wait_for("Disks PASS", 30);
    t.wait_for("Ingestion PASS", 30);
    // k9s habits on the real cluster: the selected pod's YAML, then back.
    t.keys(b"y");
    t.wait_for("kind: Pod", 20);
    t.keys(ESC);
    // The pods table's title (the tab bar shows in the YAML view too).
    t.wait_for("enter: details", 10);
    t.keys(ESC);
    t.wait_for("releases (1)", 10);
    t.keys(b"u");
    t.wait_for("Upgrade:", 10);
    t.keys(ENTER);
    t.wait_for("enter: preflight", 10);
    t.keys(ENTER);
    t.wait_for("Preflight passed", 60);
    t.keys(ENTER);
    t.keys(b"y");
    t.wait_for("done: revision 2 deployed", 180);
    t.keys(ESC);
    t.wait_for("releases (1)", 10);
    t.keys(b"r");
    t.wait_for("roll posthog back to", 10);
    t.keys(ENTER);
    t.wait_for("to revision 1 (chart posthog-mini-1.0.0, app 1.43.0)?", 10);
    t.keys(b"y");
    t.wait_for("rolled back to revision 1", 120);
    t.wait_for("done: revision 3 deployed", 60);
    t.keys(ESC);
    // (A lone ESC followed at once by q reads as alt-q: wait for the screen between.)
    t.wait_for("releases (1)", 10);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
    let web = common::release_secrets(&sim, "posthog").len();
    assert_eq!(web, 3, "install, upgrade and rollback each made a revision");
}

#[test]
fn a_panic_restores_the_terminal_and_says_where_the_log_is() {
    let sim = Sim::start(SimOptions::default());
    let mut t = Tty::start(&sim, &[], &[("HELMDECK_TUI_PANIC_AFTER_FIRST_FRAME", "1")]);
    let code = t.exit_code(20);
    assert_ne!(code, 0);
    t.assert_restored();
    let log = sim.home.path().join("helmdeck-data/tui.log");
    let want = format!("Log: {}", log.display());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let raw = String::from_utf8_lossy(&t.raw.lock().unwrap()).to_string();
        if raw.contains(&want) {
            // Said after the terminal was given back, so the user can read it.
            assert!(raw.find(&want) > raw.rfind("\x1b[?1049l"), "{raw}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no {want:?} in the output:\n{raw}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let text = std::fs::read_to_string(Path::new(&log)).unwrap();
    assert!(text.contains("injected panic"), "{text}");
}

/// The release's revisions as helm stored them, by status.
fn release_statuses(sim: &Sim) -> Vec<String> {
    common::release_secrets(sim, "posthog")
        .iter()
        .filter_map(|s| {
            s["metadata"]["labels"]["status"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// Drives the install wizard through to the confirmed apply, until helm's process runs.
fn start_install(t: &mut Tty) {
    t.wait_for("No Helm releases in this cluster yet", 20);
    t.keys(b"i");
    t.wait_for("Local (k3s, kind, minikube)", 10);
    t.keys(ENTER);
    t.wait_for("questions · local", 10);
    t.keys(ENTER);
    t.wait_for("enter: preflight", 10);
    t.keys(ENTER);
    t.wait_for("Preflight passed", 60);
    t.keys(ENTER);
    t.wait_for("y: apply", 10);
    t.keys(b"y");
    // The run screen says so once helm's process exists.
    t.wait_for("helm started (pid", 60);
}

#[test]
fn quitting_during_an_install_can_leave_helm_running_and_the_release_still_deploys() {
    // Slow pods, so the install is still running when the user quits.
    let sim = Sim::start(SimOptions {
        time_factor: 0.6,
        ..Default::default()
    });
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    start_install(&mut t);
    t.keys(b"q");
    t.wait_for("l: leave it running", 10);
    assert!(
        release_statuses(&sim).iter().all(|s| s != "deployed"),
        "helm must still be running when the user quits"
    );
    t.keys(b"l");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
    let raw = String::from_utf8_lossy(&t.raw.lock().unwrap()).to_string();
    assert!(
        raw.contains("helm keeps running") && raw.contains("helmdeck status --release posthog"),
        "the app says how to follow helm:\n{raw}"
    );
    common::eventually(240, "the release deployed after the app exited", || {
        release_statuses(&sim)
            .iter()
            .any(|s| s == "deployed")
            .then_some(())
    });
}

/// helm left running is recorded: `status` says it is in progress (not stuck), a reopened app
/// follows it with `o` (its output so far and the rollout) and `s` stops it.
#[test]
fn a_helm_left_running_is_in_progress_and_the_reopened_app_follows_and_stops_it() {
    // A worker that never gets ready: helm waits for it until it is stopped.
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("worker".into())],
        ..Default::default()
    });
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    start_install(&mut t);
    t.keys(b"q");
    t.wait_for("l: leave it running", 10);
    t.keys(b"l");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();

    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &["status", "--release", "posthog", "-n", "posthog"],
    );
    let out = common::text(&o);
    assert_eq!(o.status.code(), Some(5), "{out}");
    assert!(
        out.contains("in progress: helm install started by helmdeck on this machine at")
            && out.contains(", pid ")
            && !out.contains("stuck"),
        "{out}"
    );

    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    t.wait_for("releases (1)", 20);
    t.keys(b"o");
    t.wait_for("following helm install of posthog in posthog", 20);
    t.wait_for("helm started (pid", 10);
    t.wait_for("failing while helm waits", 90);
    t.keys(b"s");
    t.wait_for("n: keep waiting", 10);
    t.keys(b"y");
    t.wait_for("helm install ended and left the release", 120);
    common::eventually(60, "the release uninstalled", || {
        release_statuses(&sim).is_empty().then_some(())
    });
    t.keys(ESC);
    t.wait_for("releases", 10);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
}

#[test]
fn quitting_during_an_install_can_wait_for_helm_to_finish() {
    let sim = Sim::start(SimOptions {
        time_factor: 0.6,
        ..Default::default()
    });
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    start_install(&mut t);
    t.keys(b"q");
    t.wait_for("w: wait, then quit", 10);
    t.keys(b"w");
    t.wait_for("quitting when helm finishes", 10);
    // The app quits by itself once helm is done, and not before, and says how it ended.
    assert_eq!(t.exit_code(240), 0);
    t.assert_restored();
    t.wait_for("install of posthog in posthog: ", 10);
    assert_eq!(release_statuses(&sim), vec!["deployed".to_string()]);
}

#[test]
fn the_dashboard_works_over_tls_with_an_exec_plugin_whose_tokens_expire() {
    let sim = Sim::start(SimOptions {
        auth: helmdeck_sim::AuthOptions {
            tls: true,
            credential: helmdeck_sim::Credential::Exec {
                command: common::helmdeck_bin().to_path_buf(),
                args: vec!["sim".into(), "credential".into()],
            },
            // Short enough that helm's install outlives its first token, long enough that a
            // token still arrives good on a busy machine: the plugin reports a quarter less
            // (3 s) than the server allows, and kube-rs mints a fresh one for every request.
            token_ttl: std::time::Duration::from_secs(12),
            readonly: false,
        },
        ..Default::default()
    });
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &["install", "--profile", "local", "--yes", "--timeout", "120"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    t.wait_for("releases (1)", 30);
    t.keys(b"d");
    t.wait_for("Pods ready", 30);
    t.wait_for("Disks PASS", 30);
    t.wait_for("Ingestion PASS", 30);
    assert!(!t.screen().contains("TLS unverified"), "{}", t.screen());
    t.keys(ESC);
    t.wait_for("releases (1)", 10);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
    assert_eq!(sim.state.authority.stats().refused, 0);
}

/// The upgrade walkthrough on the vendor's chart, driven by keys: from chart 25.0.0 the picker
/// lists the repository's versions, the newest (30.46.0) takes two stops; the first walkthrough
/// applies 29.0.11 after its notes are acknowledged, the second takes the release on to
/// 30.46.0.
#[test]
fn the_upgrade_walkthrough_takes_the_vendor_chart_stop_by_stop_in_a_real_terminal() {
    let Some(charts) = common::shared_charts("posthog") else {
        return;
    };
    let (_repo, url) = common::chart_repo(&charts);
    let sim = Sim::start(SimOptions {
        flavor: helmdeck_sim::Flavor::Eks,
        kubernetes_version: "1.24".parse().expect("a version"),
        ..Default::default()
    });
    common::install_vendor_chart(&sim, &url, "25.0.0");
    let mut t = Tty::start(&sim, &[], &[("HELMDECK_CHART_REPO", &url)]);
    t.wait_for("releases (1)", 30);
    // One walkthrough, one campaign: the version chosen once, each stop's steps acknowledged,
    // planned and confirmed in turn.
    t.keys(b"u");
    t.wait_for("current", 30);
    t.keys(ENTER);
    t.wait_for("stop 1 of 2 toward 30.46.0", 10);
    t.keys(ENTER);
    t.wait_for("confirm each step once done", 10);
    for _ in 0..4 {
        t.keys(b" ");
    }
    t.keys(ENTER);
    t.wait_for("questions", 10);
    t.keys(ENTER);
    t.wait_for("enter: preflight", 30);
    t.keys(ENTER);
    for (stop, acks) in [("stop 1 of 2", 0), ("stop 2 of 2 toward 30.46.0", 2)] {
        if acks > 0 {
            // The walkthrough comes back for the next stop's manual steps.
            t.wait_for(stop, 300);
            t.wait_for("Before chart 30.46.0: confirm each step once done", 10);
            for _ in 0..acks {
                t.keys(b" ");
            }
            t.keys(ENTER);
        }
        t.wait_for("Preflight passed", 120);
        t.keys(ENTER);
        t.keys(b"y");
    }
    t.wait_for("done: revision 3 deployed", 300);
    t.keys(ESC);
    t.wait_for("releases (1)", 10);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
    let history = sim.run(
        &helm(4),
        &["history", "posthog", "-n", "posthog", "-o", "json"],
    );
    let charts: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&history)
        .expect("history")
        .iter()
        .map(|h| h["chart"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        charts,
        ["posthog-25.0.0", "posthog-29.0.11", "posthog-30.46.0"]
    );
}

#[test]
fn a_crash_looping_pod_is_named_while_helm_waits_and_stopping_rolls_the_install_back() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("worker".into())],
        ..Default::default()
    });
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    start_install(&mut t);
    // helm waits up to 900 s; the run screen names the pod as soon as it crash-loops.
    let named = Instant::now();
    t.wait_for("failing while helm waits", 90);
    t.wait_for("CrashLoopBackOff", 10);
    assert!(t.screen().contains("posthog-worker"), "{}", t.screen());
    assert!(named.elapsed() < Duration::from_secs(120));
    assert!(
        release_statuses(&sim)
            .iter()
            .all(|s| s == "pending-install"),
        "helm is still waiting"
    );
    // Leave the run screen and come back to it.
    t.keys(ESC);
    t.wait_for("a pod is failing (o)", 10);
    t.keys(b"o");
    t.wait_for("failing while helm waits", 10);
    // Stop waiting: helm gives up and rolls the install back (uninstalls it).
    t.keys(b"s");
    t.wait_for("n: keep waiting", 10);
    t.keys(b"y");
    t.wait_for("rolled back", 120);
    common::eventually(60, "the release uninstalled", || {
        release_statuses(&sim).is_empty().then_some(())
    });
    // Home keeps the outcome although the release is gone.
    t.keys(ESC);
    t.wait_for("the release is no longer installed", 10);
    assert!(t.screen().contains("posthog-worker"), "{}", t.screen());
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
}

#[test]
fn two_demos_on_separate_clusters_install_side_by_side() {
    // One user, one data directory, two simulated clusters: the same release name in each
    // must not share a lock, a draft or a cut-short warning.
    let home = tempfile::tempdir().unwrap();
    let mut a = Tty::start_in(home.path(), None, &["demo", "--time-factor", "1"], &[]);
    let mut b = Tty::start_in(home.path(), None, &["demo", "--time-factor", "1"], &[]);
    for t in [&mut a, &mut b] {
        start_install(t);
    }
    for t in [&a, &b] {
        t.wait_for("done: revision 1 deployed", 240);
        assert!(!t.screen().contains("busy"), "{}", t.screen());
        assert!(!t.screen().contains("cut short"), "{}", t.screen());
    }
    for t in [&mut a, &mut b] {
        t.keys(ESC);
        t.wait_for("releases (1)", 10);
        t.keys(b"q");
        assert_eq!(t.exit_code(20), 0);
        t.assert_restored();
    }
}

/// ctrl-k on the dashboard's selected pod asks first, then deletes it, and its controller
/// replaces it, as k9s's kill does; the pods' CPU and memory, `:svc` and `:xray` show the
/// live release.
#[test]
fn ctrl_k_deletes_a_pod_and_its_controller_replaces_it() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::scenario::Scenario::MetricsServer],
        ..SimOptions::default()
    });
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &["install", "--profile", "local", "--yes", "--timeout", "120"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let uids = || -> Vec<String> {
        sim.objects("", "pods", Some("posthog"))
            .iter()
            .filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string))
            .collect()
    };
    let before = uids();
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    t.wait_for("releases (1)", 30);
    t.keys(b"d");
    t.wait_for("Pods ready", 30);
    // metrics-server measures every pod: the pane shows their usage.
    t.wait_for("MEM", 30);
    t.keys(b"\x0b"); // ctrl-k
    t.wait_for("Delete pod ", 10);
    t.keys(b"y");
    t.wait_for("its controller makes a new one", 30);
    common::eventually(60, "the deleted pod replaced", || {
        let now = uids();
        (now.len() == before.len() && now.iter().any(|u| !before.contains(u))).then_some(())
    });
    // The resource views list what the cluster holds, live: the release's Services, and
    // enter on one shows the pods it selects.
    t.keys(b":svc\r");
    t.wait_for("posthog-web", 30);
    t.keys(b":xray\r");
    t.wait_for("Release posthog", 30);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
}

/// shift-f on the web Service forwards a local port through the API server (kube-rs
/// port-forward over WebSocket) to a ready web pod, and `/_health` answers through it.
#[test]
fn shift_f_forwards_the_web_service_and_its_health_answers() {
    use std::io::{Read, Write};
    let sim = Sim::start(SimOptions::default());
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &["install", "--profile", "local", "--yes", "--timeout", "120"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let mut t = Tty::start(&sim, &["--profile", "local"], &[]);
    t.wait_for("releases (1)", 30);
    t.keys(b"d");
    t.wait_for("Pods ready", 30);
    t.keys(b":svc\r");
    t.wait_for("posthog-web", 30);
    t.keys(b"/posthog-web\r");
    t.wait_for("services (1)", 10);
    t.keys(b"F");
    t.wait_for("port-forward http://127.0.0.1:", 30);
    let screen = t.screen();
    let at = screen.find("http://127.0.0.1:").expect("the local address") + 17;
    let port: u16 = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a port number");
    assert!(
        screen.contains("svc/posthog-web:8000 → pod/posthog-web-"),
        "{screen}"
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET /_health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .expect("an answer through the forward");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
}

/// `helmdeck open` shows a support bundle's release offline, read-only, and gives the
/// terminal back.
#[test]
fn open_shows_a_bundles_release_with_the_live_cluster_gone() {
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("support.tar.gz");
    {
        let sim = Sim::start(SimOptions::default());
        common::install_stand_in(&sim, "local", &[]);
        common::eventually(120, "the release's pods running", || {
            let pods = sim.objects("", "pods", Some("posthog"));
            (pods
                .iter()
                .filter(|p| p["status"]["phase"] == "Running")
                .count()
                >= 9)
                .then_some(())
        });
        let o = common::helmdeck_on(&sim, &helm(4), &["bundle", "-o", bundle.to_str().unwrap()]);
        assert!(o.status.success(), "{}", common::text(&o));
    }
    let mut t = Tty::start_in(home.path(), None, &["open", bundle.to_str().unwrap()], &[]);
    t.wait_for("releases (1)", 60);
    t.wait_for("read-only", 10);
    // The header names the bundle, not the simulated cluster serving it.
    t.wait_for("ctx bundle:support.tar.gz", 10);
    t.keys(b"d");
    t.wait_for("posthog-web", 30);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
}

/// `:ctx all` in a real terminal: the live context's releases are listed while a context
/// that never answers is still being read, and a refused one says why; the silent one is
/// given up at its deadline, not held forever.
#[test]
fn every_context_is_read_at_once_and_a_silent_one_holds_no_one_up() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::scenario::Scenario::Releases {
            releases: 3,
            revisions: 2,
        }],
        ..SimOptions::default()
    });
    let (kubeconfig, _refused, silent) = common::live_refused_and_silent_contexts(&sim);
    // The silent context is given up no sooner than this: long enough for the live one to
    // be listed on a busy machine while the silent one is still being read.
    let mut t = Tty::start_in(
        sim.home.path(),
        Some(&kubeconfig),
        &["--profile", "local"],
        &[("HELMDECK_REQUEST_TIMEOUT", "30")],
    );
    t.wait_for("releases (3)", 30);
    t.keys(b":ctx all\r");
    // The live releases and the refused one's reason, while the silent one is still read.
    t.wait_for_all(
        &[
            "2 of 3 contexts answered",
            "*live",
            "app-0002",
            "reading…",
            "refused: ",
            "nothing listens",
        ],
        28,
    );
    t.wait_for("3 of 3 contexts answered", 120);
    assert!(!t.screen().contains("reading…"), "{}", t.screen());
    t.keys(ESC);
    t.wait_for("releases (3)", 10);
    t.keys(b"q");
    assert_eq!(t.exit_code(20), 0);
    t.assert_restored();
    drop(silent);
}
