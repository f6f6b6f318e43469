//! The interactive app. The UI task owns [`app::App`]; Kubernetes watchers, the ingestion
//! probe and the deploy engine run on their own tasks and send it messages. It redraws when
//! something changed or the clock ticks, never while waiting on the network.
//!
//! Each screen under `screens` — home, wizard, run, dashboard, rollback — is a component: it
//! owns its state, answers keys and messages, and draws itself, reading what the app knows
//! through `session`. `app` is the root that routes between them (a route stack) and opens the
//! overlays; `messages` is what flows between the app and its tasks; `runtime` carries out the
//! effects; `view` draws the frame around the screens.

pub mod app;
mod commands;
pub mod keymap;
pub mod line_edit;
pub mod messages;
pub mod overlay;
pub mod runtime;
pub mod screens;
pub mod session;
pub mod theme;
mod view;
mod widgets;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use futures::StreamExt;

use crate::cluster::Target;
use crate::cluster::probe;
use crate::deploy::exit;
use app::{App, Msg, Options};

/// How often the clock ticks.
const TICK: Duration = Duration::from_secs(1);
/// The shortest time between two frames (30 a second at most).
const FRAME: Duration = Duration::from_millis(33);

/// How the app was asked to start.
pub struct Launch {
    pub target: Target,
    pub namespace: String,
    pub release: String,
    pub readonly: bool,
    pub profile: Option<String>,
    /// API keys for the probe when the profile's sources have none (the demo).
    pub probe_key: Option<crate::cluster::probe::ProbeKeys>,
}

/// A log file in the data directory: the TUI owns the terminal, so nothing else may print.
#[derive(Clone)]
struct Log(Option<PathBuf>);

impl Log {
    fn line(&self, s: &str) {
        if let Some(p) = &self.0
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
        {
            let _ = writeln!(f, "{} {s}", crate::time::now_rfc3339());
        }
    }
}

/// Runs the app until the user quits; returns the exit code.
pub async fn run(launch: Launch) -> i32 {
    let log_path = crate::dirs::data_dir().map(|d| {
        let _ = crate::private_files::private_dir(&d);
        d.join("tui.log")
    });
    let log = Log(log_path.clone());
    log.line("starting");
    let profiles =
        match crate::profile::ProfileSet::load(crate::profile::user_profile_dir().as_deref()) {
            Ok(s) => s.iter().cloned().collect::<Vec<_>>(),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        };
    let context = match launch.target.config().await {
        Ok(_) => current_context_name(&launch.target),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::UNREACHABLE;
        }
    };
    let opts = Options {
        tls_unverified: launch.target.entries().is_some_and(|e| e.insecure),
        simulated: launch.target.is_simulated(),
        scope: launch.target.scope_key(),
        context,
        namespace: launch.namespace.clone(),
        release: launch.release.clone(),
        readonly: launch.readonly,
        profile: launch.profile.clone(),
        // Asking helm its version takes ~80 ms: it is found after the first frame.
        helm: Ok(String::new()),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        log_file: log_path.clone(),
    };
    let mut app = App::new(opts, profiles, SystemTime::now());

    // The panic hook: ratatui's restores the terminal first, then ours says where the log is.
    let where_log = log_path.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(p) = &where_log {
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| writeln!(f, "panic: {info}"));
            eprintln!(
                "helmdeck crashed; the terminal was restored. Log: {}",
                p.display()
            );
        }
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
        prev(info);
    }));
    let mut terminal = ratatui::init();
    // Pasted text arrives whole (one event), not as keys that could trigger commands.
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste);
    let code = event_loop(&mut terminal, &mut app, &launch, &log).await;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    ratatui::restore();
    let _ = std::panic::take_hook();
    if let Some(note) = &app.farewell {
        eprintln!("{note}");
    }
    log.line("stopped");
    code
}

fn current_context_name(t: &Target) -> String {
    let kc = t.read_kubeconfig().ok();
    t.context
        .clone()
        .or_else(|| kc.and_then(|k| k.current_context))
        .unwrap_or_else(|| "default".into())
}

/// What the runtime's effects need of the app.
fn focus(app: &App) -> runtime::Focus {
    runtime::Focus {
        namespace: app.session.opts.namespace.clone(),
        release: app.session.opts.release.clone(),
        probe: probe::settings_for(app.session.judging_profile()),
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    launch: &Launch,
    log: &Log,
) -> i32 {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let (mut rt, mut connected_rx, unreachable) =
        runtime::Runtime::start(launch, focus(app), tx.clone()).await;
    if unreachable.is_some() {
        app.message = unreachable;
    }
    let mut events = crossterm::event::EventStream::new();
    // The clock ticks once a second (ages, elapsed times, followed logs); frames are drawn
    // when something changed, at most one per FRAME however fast messages come.
    let mut tick = tokio::time::interval(TICK);
    let panic_for_test = std::env::var_os("HELMDECK_TUI_PANIC_AFTER_FIRST_FRAME").is_some();
    let mut dirty = true;
    let mut next_frame = tokio::time::Instant::now();
    loop {
        if dirty && tokio::time::Instant::now() >= next_frame {
            if let Err(e) = terminal.draw(|f| app.draw(f)) {
                log.line(&format!("draw failed: {e}"));
                return exit::FAILED;
            }
            dirty = false;
            next_frame = tokio::time::Instant::now() + FRAME;
            // For the crash-safety test: a panic with the terminal in raw mode.
            if panic_for_test {
                panic!("injected panic (HELMDECK_TUI_PANIC_AFTER_FIRST_FRAME)");
            }
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k))) if k.kind == crossterm::event::KeyEventKind::Press => Msg::Key(k),
                Some(Ok(crossterm::event::Event::Resize(..))) => { dirty = true; continue }
                Some(Ok(crossterm::event::Event::Paste(text))) => Msg::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => { log.line(&format!("terminal: {e}")); return exit::FAILED }
                None => return exit::OK,
            },
            m = rx.recv() => match m { Some(m) => m, None => continue },
            c = connected_rx.recv() => match c.and_then(|c| rt.connected(c, focus(app))) {
                Some(m) => m,
                None => continue,
            },
            _ = tick.tick() => Msg::Tick(SystemTime::now()),
            _ = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        // Every message already queued is taken before the next frame: a burst of engine
        // events is one redraw, not one each.
        let mut batch = vec![msg];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for msg in batch {
            // Ticks only redraw screens that show a clock or ages.
            let is_tick = matches!(msg, Msg::Tick(_));
            let effects = app.update(msg);
            dirty |= !is_tick || app.screen() != app::Route::Home;
            for e in effects {
                log.line(&format!("effect: {}", runtime::describe_effect(&e)));
                match rt.execute(e, &focus(app)) {
                    runtime::Next::Go => {}
                    runtime::Next::Quit => return app.exit_code.unwrap_or(exit::OK),
                    runtime::Next::Edit(path) => {
                        // The input reader stops while the editor owns the terminal, so no
                        // keystroke meant for the editor reaches the app.
                        drop(events);
                        edit(terminal, &path, log);
                        events = crossterm::event::EventStream::new();
                        let _ = tx.send(Msg::Edited);
                    }
                }
            }
            if app.quit {
                return app.exit_code.unwrap_or(exit::OK);
            }
        }
    }
}

/// Runs $EDITOR (argv, no shell) on an overrides file, with the terminal handed over.
fn edit(terminal: &mut ratatui::DefaultTerminal, path: &std::path::Path, log: &Log) {
    if !path.exists() {
        let _ = crate::private_files::private_file(
            path,
            b"# Helm values applied above the profile and your answers.\n# Example:\n# web:\n#   replicacount: 2\n",
        );
    }
    ratatui::restore();
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut parts = editor.split_whitespace();
    let status = match parts.next() {
        Some(bin) => std::process::Command::new(bin)
            .args(parts)
            .arg(path)
            .status(),
        None => Err(std::io::Error::other("EDITOR is empty")),
    };
    if let Err(e) = status {
        log.line(&format!("editor {editor}: {e}"));
    }
    *terminal = ratatui::init();
    let _ = terminal.clear();
}
