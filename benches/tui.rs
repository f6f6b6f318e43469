//! The app's speed: time to first frame of the real binary in a pseudo-terminal, render time
//! per frame with 10,000 pods in the pods pane (TestBackend, 160×48), the app's CPU use
//! while idle for 10 s, and the home screen's first full list of 500 releases of 10 revisions
//! each (`HELMDECK_BENCH_RELEASES=COUNT:REVISIONS`) with the app's peak memory. Run: `cargo bench --bench tui`; `HELMDECK_BENCH_PODS=100000` for the
//! on-call scale.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use helmdeck_sim::SimOptions;
use helmdeck_sim::testkit::Sim;

use helmdeck::cluster::watch::{Connection, Snapshot};
use helmdeck::tui::app::{App, Msg, Options};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The pods in the pane: `HELMDECK_BENCH_PODS`, else 10,000.
fn pods() -> usize {
    std::env::var("HELMDECK_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is 14th, stime 15th.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn render_per_frame() -> (Duration, Duration) {
    let pods: Vec<_> = (0..pods())
        .map(|i| {
            let role = ["web", "events", "worker", "plugins"][i % 4];
            Arc::new(
                serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("posthog-worker-{i:05}"), "namespace": "posthog",
                                 "creationTimestamp": "2026-11-25T11:00:00Z",
                                 "labels": {"role": role, "release": "posthog"}},
                    "spec": {"containers": [{"name": "app"}], "nodeName": format!("node-{}", i % 50)},
                    "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": i % 97 != 0,
                        "restartCount": (i % 7) as i32, "image": "i", "imageID": "", "state": {"running": {}}}]}
                }))
                .expect("pod"),
            )
        })
        .collect();
    let profiles: Vec<_> = helmdeck::profile::ProfileSet::load(None)
        .expect("profiles")
        .iter()
        .cloned()
        .collect();
    let mut app = App::new(
        Options {
            context: "bench".into(),
            namespace: "posthog".into(),
            release: "posthog".into(),
            readonly: false,
            profile: Some("local".into()),
            helm: Ok("v4".into()),
            no_color: false,
            log_file: None,
            tls_unverified: false,
            simulated: true,
            scope: "127.0.0.1_6443-0a1b2c3d".into(),
        },
        profiles,
        SystemTime::now(),
    );
    app.update(Msg::Snapshot(
        Box::new(Snapshot {
            pods,
            ..Default::default()
        }),
        Connection::Live,
    ));
    app.update(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char('d'),
    )));
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let mut times = Vec::new();
    for i in 0..200 {
        // Move the selection so every frame differs, as scrolling does.
        app.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(if i % 2 == 0 { 'j' } else { 'G' }),
        )));
        let t = Instant::now();
        term.draw(|f| app.draw(f)).expect("draw");
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times[times.len() * 95 / 100])
}

fn main() {
    let (median, p95) = render_per_frame();
    println!(
        "render with {} pods (160x48): median {:.2} ms, p95 {:.2} ms per frame",
        pods(),
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let helmdeck = PathBuf::from(env!("CARGO_BIN_EXE_helmdeck"));
    let dir = std::env::temp_dir().join(format!("helmdeck-tuibench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sim = Sim::start(SimOptions {
        kubeconfig: Some(dir.join("kubeconfig")),
        time_factor: 0.2,
        ..Default::default()
    });
    let kubeconfig = sim.kubeconfig.clone();

    let runs = 5;
    let mut firsts = Vec::new();
    let mut idle_pct = 0.0;
    for run in 0..runs {
        let t = Instant::now();
        let app = Launched::start(&helmdeck, &kubeconfig, &dir, &root);
        let seen = app.raw.clone();
        // The first frame is the one that draws the header.
        loop {
            if String::from_utf8_lossy(&seen.lock().expect("lock")).contains("helmdeck") {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "no first frame");
            std::thread::sleep(Duration::from_millis(1));
        }
        firsts.push(t.elapsed());
        if run == runs - 1 {
            let pid = app.child.process_id().expect("pid");
            // Let the watchers list and settle, then measure 10 s of doing nothing.
            std::thread::sleep(Duration::from_secs(2));
            let (c0, t0) = (cpu_ticks(pid), Instant::now());
            std::thread::sleep(Duration::from_secs(10));
            let (c1, el) = (cpu_ticks(pid), t0.elapsed());
            let hz = 100.0; // USER_HZ on Linux
            idle_pct = (c1 - c0) as f64 / hz / el.as_secs_f64() * 100.0;
        }
        app.quit();
    }
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
    firsts.sort();
    println!(
        "time to first frame (real binary in a pty, {runs} runs): median {:.1} ms",
        firsts[firsts.len() / 2].as_secs_f64() * 1e3
    );
    println!("idle CPU over 10 s on the home screen: {idle_pct:.2} %");
    home_with_many_releases(&helmdeck, &root);
}

/// The real binary in a 160×48 pseudo-terminal on a cluster, with what it wrote, raw and
/// as a screen.
struct Launched {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    raw: Arc<Mutex<Vec<u8>>>,
    screen: Arc<Mutex<vt100::Parser>>,
}

impl Launched {
    fn start(
        helmdeck: &std::path::Path,
        kubeconfig: &std::path::Path,
        dir: &std::path::Path,
        root: &std::path::Path,
    ) -> Launched {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 48,
                cols: 160,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new(helmdeck);
        cmd.env("KUBECONFIG", kubeconfig);
        cmd.env("HOME", dir);
        cmd.env("HELMDECK_DATA_DIR", dir.join("data"));
        cmd.env("HELMDECK_HELM", root.join(".tools/bin/helm4"));
        cmd.env("TERM", "xterm-256color");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let raw = Arc::new(Mutex::new(Vec::<u8>::new()));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(48, 160, 0)));
        let (r2, s2) = (raw.clone(), screen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                r2.lock().expect("lock").extend_from_slice(&buf[..n]);
                s2.lock().expect("lock").process(&buf[..n]);
            }
        });
        Launched {
            child,
            master: pair.master,
            raw,
            screen,
        }
    }

    /// `q`, and waits for it to exit.
    fn quit(mut self) {
        let mut w = self.master.take_writer().expect("writer");
        let _ = w.write_all(b"q");
        let _ = w.flush();
        let _ = self.child.wait();
    }
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Start to the home screen listing every release, on a cluster holding many.
fn home_with_many_releases(helmdeck: &std::path::Path, root: &std::path::Path) {
    let spec = std::env::var("HELMDECK_BENCH_RELEASES").unwrap_or_else(|_| "500:10".into());
    let count: usize = spec
        .split(':')
        .next()
        .and_then(|c| c.parse().ok())
        .expect("HELMDECK_BENCH_RELEASES=COUNT:REVISIONS");
    let dir = std::env::temp_dir().join(format!("helmdeck-tuibench-rel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sim = Sim::start(SimOptions {
        kubeconfig: Some(dir.join("kubeconfig")),
        scenarios: vec![format!("releases:{spec}").parse().expect("scenario")],
        ..Default::default()
    });
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let app = Launched::start(helmdeck, &sim.kubeconfig, &dir, root);
        let parser = app.screen.clone();
        let want = format!("releases ({count})");
        loop {
            if parser
                .lock()
                .expect("lock")
                .screen()
                .contents()
                .contains(&want)
            {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "no full list");
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(t.elapsed());
        peak = peak.max(peak_rss_kb(app.child.process_id().expect("pid")));
        app.quit();
    }
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    println!(
        "home screen, {spec} releases:revisions: full list {:.0} ms from start (median of 3), app peak RSS {:.1} MB",
        times[1].as_secs_f64() * 1e3,
        peak as f64 / 1024.0
    );
}

use std::io::Write;
