//! The app's root: it owns the session and the screens, keeps the route stack, routes keys and
//! messages to the screen they are for, and opens the overlays (help, pickers, confirmations,
//! the `:` prompt). The UI task owns it; background tasks only send it messages, and it answers
//! with effects for the runtime to carry out — so every screen can be driven from a test with
//! keys and messages alone.

use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use super::commands::{self, Command};
use super::keymap::{self, Action, Ctx};
use super::line_edit::LineEdit;
use super::overlay::{Overlay, Picker};
use super::screens::dashboard::{Dashboard, Pane};
use super::screens::home::Home;
use super::screens::rollback::RevisionPicker;
use super::screens::run::{RunScreen, RunView};
use super::screens::wizard::Walkthrough;
use super::screens::{Confirm, Screen, Step, step};
use super::session::{ALL_NAMESPACES, Session};
use super::theme::Theme;
use super::view;
use crate::cluster::watch::{Connection, Snapshot};
use crate::deploy::{self, Outcome};
use crate::profile::Profile;

pub use super::messages::{Effect, Msg, PickWhat, Switched};
pub use super::session::Options;

/// The screens the route stack holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Home,
    Wizard,
    Run,
    Dashboard,
}

pub struct App {
    pub session: Session,
    /// Where esc goes back to: Home at the bottom, the screen shown on top.
    routes: Vec<Route>,
    pub overlay: Option<Overlay>,
    pub home: Home,
    pub walkthrough: Walkthrough,
    pub run: RunScreen,
    pub dash: Dashboard,
    pub message: Option<String>,
    pub quit: bool,
    /// The user chose to quit once the running operation ends.
    pub quit_when_done: bool,
    /// The profile the probe's settings were last taken from (`Some(None)`: no profile).
    pub probe_profile: Option<Option<String>>,
    /// Printed after the terminal is restored (how to follow a helm left running).
    pub farewell: Option<String>,
    /// The process exit code when quitting after an operation the user waited for.
    pub exit_code: Option<i32>,
    /// The `:` commands run, oldest first (↑/↓ at the prompt), and where ↑ has got to.
    pub history: Vec<String>,
    pub history_at: Option<usize>,
}

impl App {
    pub fn new(opts: Options, profiles: Vec<Profile>, now: SystemTime) -> App {
        App {
            session: Session::new(opts, profiles, now),
            routes: vec![Route::Home],
            overlay: None,
            home: Home::default(),
            walkthrough: Walkthrough::default(),
            run: RunScreen::default(),
            dash: Dashboard::default(),
            message: None,
            quit: false,
            quit_when_done: false,
            probe_profile: None,
            farewell: None,
            exit_code: None,
            history: Vec::new(),
            history_at: None,
        }
    }

    /// The screen shown.
    pub fn screen(&self) -> Route {
        *self.routes.last().unwrap_or(&Route::Home)
    }

    fn current(&self) -> &dyn Screen {
        match self.screen() {
            Route::Home => &self.home,
            Route::Wizard => &self.walkthrough,
            Route::Run => &self.run,
            Route::Dashboard => &self.dash,
        }
    }

    fn current_mut(&mut self) -> &mut dyn Screen {
        match self.screen() {
            Route::Home => &mut self.home,
            Route::Wizard => &mut self.walkthrough,
            Route::Run => &mut self.run,
            Route::Dashboard => &mut self.dash,
        }
    }

    /// Shows `r`: back to it when it is on the stack already, else on top.
    pub fn show(&mut self, r: Route) {
        match self.routes.iter().position(|x| *x == r) {
            Some(i) => self.routes.truncate(i + 1),
            None => self.routes.push(r),
        }
    }

    /// Shows `r` in place of the screen shown.
    fn replace(&mut self, r: Route) {
        if self.routes.len() > 1 {
            self.routes.pop();
        }
        self.show(r);
    }

    /// The screen before the one shown.
    fn leave(&mut self) {
        if self.routes.len() > 1 {
            self.routes.pop();
        }
    }

    pub fn ctx(&self) -> Ctx {
        self.current().keys()
    }

    /// Whether a screen key does something in the state the screen is in: the footer lists
    /// only those.
    pub fn action_works(&self, a: Action) -> bool {
        self.current().offers(a, &self.session)
    }

    /// An install, upgrade, plan or rollback is under way.
    pub fn busy(&self) -> bool {
        self.run.busy() || self.walkthrough.planning()
    }

    /// Carries out what a screen asked: its line, its question, leaving; returns its effects.
    fn follow(&mut self, s: Step) -> Vec<Effect> {
        if let Some(m) = s.say {
            self.message = Some(m);
        }
        if let Some(c) = s.confirm {
            self.overlay = Some(Overlay::Confirm(c));
        }
        if s.leave {
            self.leave();
        }
        s.effects
    }

    /// Draws the screen shown, the frame around it and what is open over it.
    pub fn draw(&self, f: &mut Frame) {
        let t = Theme::new(self.session.opts.no_color);
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(f.area());
        let screen = self.screen();
        let running = self.run.view.as_ref().filter(|r| r.outcome.is_none());
        view::header(
            f,
            header,
            &self.session,
            screen == Route::Dashboard,
            running.filter(|_| screen != Route::Run),
            &t,
        );
        self.current().draw(f, body, &self.session, &t);
        let prompt = match &self.overlay {
            Some(Overlay::Command(e)) => Some((":", e)),
            Some(Overlay::Filter(e)) => Some(("/", e)),
            _ => None,
        };
        let readonly = self.session.opts.readonly;
        let keys = keymap::footer(self.ctx(), readonly, footer.width as usize, |a| {
            self.action_works(a)
        });
        view::footer(f, footer, prompt, self.message.as_deref(), keys, &t);
        if let Some(o) = &self.overlay {
            o.draw(f, body, self.ctx(), readonly, &t);
        }
    }

    /// Handles one message; returns what the runtime must do.
    /// The kubelets' latest measurements of the claims: the disks pane's fill and growth.
    fn volumes_measured(
        &mut self,
        usage: &[crate::cluster::disk_usage::ClaimUsage],
        unread: &[String],
    ) -> Vec<Effect> {
        self.session.measured(usage, unread);
        Vec::new()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Paste(text) => {
                self.paste(&text);
                Vec::new()
            }
            Msg::Tick(now) => {
                self.session.now = now;
                let s = self.dash.update(&msg, &self.session);
                self.follow(s)
            }
            Msg::Choices(what, result) => {
                self.choices(what, result);
                Vec::new()
            }
            Msg::Contexts(..) | Msg::ContextReleases(..) => {
                let s = self.home.update(&msg, &self.session);
                self.follow(s)
            }
            Msg::PodText(..) => {
                let s = self.dash.update(&msg, &self.session);
                self.follow(s)
            }
            Msg::Logs(..) => {
                let a = self.run.update(&msg, &self.session);
                let b = self.dash.update(&msg, &self.session);
                self.follow(a.and(b))
            }
            Msg::Snapshot(s, c) => {
                self.session.snapshot = *s;
                self.session.connection = c;
                self.session.derive();
                let s = self.run.observed(&self.session);
                self.follow(s)
            }
            Msg::Releases(r) => self.releases(r),
            Msg::PodDeleted(pod, r) => {
                self.message = Some(match r {
                    Ok(()) => format!("pod {pod} deleted: its controller makes a new one"),
                    Err(e) => format!("cannot delete pod {pod}: {e}"),
                });
                Vec::new()
            }
            Msg::Forwarding(r) => {
                self.message = Some(match r {
                    Ok(f) => format!(
                        "port-forward http://{} → {} (until helmdeck exits)",
                        f.local, f.to
                    ),
                    Err(e) => format!("cannot port-forward: {e}"),
                });
                Vec::new()
            }
            Msg::Probe(p) => {
                self.session.probed(*p);
                Vec::new()
            }
            Msg::Usage(u) => {
                self.session.usage =
                    Some(u.map(|pods| pods.into_iter().map(|p| (p.name.clone(), p)).collect()));
                Vec::new()
            }
            Msg::Volumes(usage, unread) => self.volumes_measured(&usage, &unread),
            Msg::Engine(_) if self.walkthrough.planning() => {
                let s = self.walkthrough.update(&msg, &self.session);
                self.follow(s)
            }
            Msg::Engine(_) => {
                let s = self.run.update(&msg, &self.session);
                self.follow(s)
            }
            Msg::PlanDone(_) | Msg::Reviewed(..) | Msg::Versions(_) | Msg::Edited => {
                let s = self.walkthrough.update(&msg, &self.session);
                self.follow(s)
            }
            Msg::Planning(at) => {
                if self.walkthrough.stop_planned(at) {
                    self.reopen();
                }
                Vec::new()
            }
            Msg::Acknowledge(req) => {
                let (effects, reopened) = self.walkthrough.asked(*req);
                if reopened {
                    self.reopen();
                }
                effects
            }
            Msg::ApplyDone(o) => self.finished(o),
            Msg::Reattached(Ok(run)) => {
                self.message = None;
                self.run.view = Some(RunView::new(
                    format!(
                        "following helm {} of {} in {}, left running at {} (pid {})",
                        run.operation, run.release, run.namespace, run.started, run.pid
                    ),
                    &run.operation,
                    &run.release,
                    &run.namespace,
                    self.session.now,
                ));
                self.show(Route::Run);
                Vec::new()
            }
            Msg::Reattached(Err(why)) => {
                self.message = Some(why);
                Vec::new()
            }
            Msg::Helm(h) => {
                self.session.opts.helm = h;
                Vec::new()
            }
            Msg::ContextSwitched(ctx, Ok(sw)) => {
                let s = &mut self.session;
                s.opts.context = ctx;
                s.opts.tls_unverified = sw.tls_unverified;
                s.opts.simulated = sw.simulated;
                s.opts.scope = sw.scope;
                s.snapshot = Snapshot::default();
                s.derive();
                s.releases.clear();
                s.connection = Connection::Connecting;
                self.message = None;
                vec![Effect::RefreshReleases]
            }
            Msg::ContextSwitched(ctx, Err(e)) => {
                self.message = Some(format!(
                    "cannot switch to context {ctx}: {e}; still on {}",
                    self.session.opts.context
                ));
                Vec::new()
            }
            Msg::History(release, namespace, r) => {
                let picker = r.map(|revs| RevisionPicker::open(release.clone(), namespace, revs));
                match picker {
                    Ok(Some(p)) => self.overlay = Some(Overlay::Revisions(p)),
                    Ok(None) => {
                        self.message =
                            Some(format!("{release} has no earlier revision to roll back to"))
                    }
                    Err(e) => {
                        self.message = Some(format!("cannot read the history of {release}: {e}"))
                    }
                }
                Vec::new()
            }
        }
    }

    fn choices(&mut self, what: PickWhat, result: Result<Vec<String>, String>) {
        if let Some(Overlay::Pick(p)) = self.overlay.as_mut()
            && p.what == what
        {
            let current = match what {
                PickWhat::Namespace => &self.session.opts.namespace,
                PickWhat::Context => &self.session.opts.context,
            };
            p.sel = result
                .as_ref()
                .ok()
                .and_then(|l| l.iter().position(|x| x == current))
                .unwrap_or(0);
            p.items = Some(result);
        }
    }

    fn releases(
        &mut self,
        r: Result<Vec<crate::cluster::releases::ReleaseInfo>, String>,
    ) -> Vec<Effect> {
        match r {
            Ok(list) => {
                self.session.releases = list;
                self.session.releases_error = None;
                self.session.releases_listed = true;
                // Whether the focused release is here decides what the panes scope to.
                self.session.derive();
                self.home.releases_changed(&self.session);
            }
            Err(e) => self.session.releases_error = Some(e),
        }
        // The release may now name the profile that judges it: probe by its rules.
        let judge = self.session.judging_profile().map(|p| p.name.clone());
        if self.probe_profile.as_ref() != Some(&judge) {
            self.probe_profile = Some(judge);
            let settings = crate::cluster::probe::settings_for(self.session.judging_profile());
            return vec![Effect::ProbeSettings(Box::new(settings))];
        }
        Vec::new()
    }

    /// An operation ended: Home keeps its outcome; a stop that did not apply ends the campaign.
    fn finished(&mut self, o: Outcome) -> Vec<Effect> {
        if !matches!(o, Outcome::Applied { .. }) {
            self.walkthrough.campaign_ended();
        }
        if let Some(done) = self.run.finished(o, self.session.now) {
            let ops = &mut self.session.last_ops;
            ops.retain(|l| (&l.release, &l.namespace) != (&done.release, &done.namespace));
            ops.push(done);
        }
        if self.quit_when_done {
            // The user waited for this: it is what the terminal shows after the app is gone,
            // and the exit code is the outcome's, as the CLI's would be.
            self.quit = true;
            if let Some(last) = self.session.last_ops.last() {
                self.farewell = Some(format!(
                    "{} of {} in {}: {}",
                    last.what, last.release, last.namespace, last.outcome
                ));
                self.exit_code = Some(last.outcome.exit_code());
            }
            return vec![Effect::Quit];
        }
        vec![Effect::RefreshReleases]
    }

    /// A later stop reopened the walkthrough: shown in place of the run the user watches,
    /// else said in the status line.
    fn reopen(&mut self) {
        match self.screen() {
            Route::Run => self.replace(Route::Wizard),
            Route::Wizard => {}
            _ => {
                self.message = Some(format!(
                    "the upgrade walks on to {}: u (or i) shows it",
                    self.walkthrough.stop_label()
                ))
            }
        }
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
        // Text entry first: overlays and the screens' fields take printable keys.
        if let Some(o) = self.overlay.take() {
            return self.overlay_key(o, k);
        }
        let raw = {
            let session = &self.session;
            let screen: &mut dyn Screen = match self.routes.last() {
                Some(Route::Wizard) => &mut self.walkthrough,
                Some(Route::Run) => &mut self.run,
                Some(Route::Dashboard) => &mut self.dash,
                _ => &mut self.home,
            };
            screen.raw_key(&k, session)
        };
        if let Some(s) = raw {
            return self.follow(s);
        }
        let readonly = self.session.opts.readonly;
        let Some(action) = keymap::action_for(&k, self.ctx(), readonly) else {
            if readonly && keymap::action_for(&k, self.ctx(), false).is_some() {
                self.message = Some(
                    "read-only (--readonly): install, upgrade, rollback and stop are off".into(),
                );
            }
            return Vec::new();
        };
        self.action(action)
    }

    fn overlay_key(&mut self, o: Overlay, k: KeyEvent) -> Vec<Effect> {
        let readonly = self.session.opts.readonly;
        let moving = keymap::action_for(&k, Ctx::Everywhere, readonly).filter(|a| a.moves());
        match o {
            Overlay::Help(at) => {
                if !matches!(
                    k.code,
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
                ) {
                    let len = super::overlay::help_lines(self.ctx(), readonly).len();
                    let at = moving.map_or(at, |a| step(at, len, a));
                    self.overlay = Some(Overlay::Help(at));
                }
                Vec::new()
            }
            Overlay::Revisions(p) => {
                let (open, s) = p.key(k);
                self.overlay = open.map(Overlay::Revisions);
                self.follow(s)
            }
            Overlay::Pick(p) => self.pick_key(p, k, moving),
            Overlay::Confirm(Confirm::QuitWhileRunning) => match k.code {
                KeyCode::Char('w') | KeyCode::Char('W') => {
                    self.quit_when_done = true;
                    self.message = Some("quitting when helm finishes".into());
                    Vec::new()
                }
                KeyCode::Char('l') | KeyCode::Char('L') => {
                    self.confirmed(Confirm::QuitWhileRunning)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
                _ => {
                    self.overlay = Some(Overlay::Confirm(Confirm::QuitWhileRunning));
                    Vec::new()
                }
            },
            // Across a chart major or an app minor the release's name is typed, then enter.
            Overlay::Confirm(Confirm::Rollback {
                plan,
                typed: Some(mut typed),
            }) => match k.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter if typed == plan.release => self.confirmed(Confirm::Rollback {
                    plan,
                    typed: Some(typed),
                }),
                code => {
                    match code {
                        KeyCode::Char(c) => typed.push(c),
                        KeyCode::Backspace => {
                            typed.pop();
                        }
                        _ => {}
                    }
                    self.overlay = Some(Overlay::Confirm(Confirm::Rollback {
                        plan,
                        typed: Some(typed),
                    }));
                    Vec::new()
                }
            },
            Overlay::Confirm(c) => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.confirmed(c),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
                _ => {
                    self.overlay = Some(Overlay::Confirm(c));
                    Vec::new()
                }
            },
            Overlay::Filter(text) => self.filter_key(text, k),
            Overlay::Command(text) => self.prompt_key(text, k),
        }
    }

    fn pick_key(&mut self, mut p: Picker, k: KeyEvent, moving: Option<Action>) -> Vec<Effect> {
        let items = p.items.as_ref().and_then(|r| r.as_ref().ok());
        match k.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let Some(name) = items.and_then(|l| l.get(p.sel).cloned()) else {
                    return Vec::new();
                };
                match p.what {
                    PickWhat::Namespace => self.run_command(Command::Namespace(Some(name))),
                    PickWhat::Context => self.run_command(Command::Context(Some(name))),
                }
            }
            _ => {
                let len = items.map_or(0, Vec::len);
                if let Some(a) = moving {
                    p.sel = step(p.sel, len, a);
                }
                self.overlay = Some(Overlay::Pick(p));
                Vec::new()
            }
        }
    }

    /// The `/` filter as it is typed: the screen filters as each key lands; esc clears it.
    fn filter_key(&mut self, mut text: LineEdit, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Esc => self.current_mut().set_filter(""),
            KeyCode::Enter => self.current_mut().set_filter(&text.text),
            _ => {
                if text.key(&k) {
                    self.current_mut().set_filter(&text.text);
                }
                self.overlay = Some(Overlay::Filter(text));
            }
        }
        Vec::new()
    }

    /// The `:` prompt: enter runs it, tab completes, ↑/↓ walk the history.
    fn prompt_key(&mut self, mut text: LineEdit, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let line = text.text.trim().to_string();
                if !line.is_empty() {
                    self.history.retain(|h| *h != line);
                    self.history.push(line.clone());
                }
                self.history_at = None;
                self.command(&line)
            }
            KeyCode::Tab => {
                let (done, options) = commands::complete(&text.text);
                self.message = (options.len() > 1).then(|| options.join("  "));
                self.overlay = Some(Overlay::Command(LineEdit::new(done)));
                Vec::new()
            }
            KeyCode::Up | KeyCode::Down if !self.history.is_empty() => {
                let n = self.history.len();
                let at = match (self.history_at, k.code) {
                    (None, KeyCode::Up) => Some(n - 1),
                    (None, _) => None,
                    (Some(i), KeyCode::Up) => Some(i.saturating_sub(1)),
                    (Some(i), _) if i + 1 < n => Some(i + 1),
                    (Some(_), _) => None,
                };
                self.history_at = at;
                let line = at.map(|i| self.history[i].clone()).unwrap_or_default();
                self.overlay = Some(Overlay::Command(LineEdit::new(line)));
                Vec::new()
            }
            _ => {
                text.key(&k);
                self.overlay = Some(Overlay::Command(text));
                Vec::new()
            }
        }
    }

    /// Pasted text goes where typing would: the prompt or filter, else the wizard's field.
    fn paste(&mut self, text: &str) {
        let on_wizard = self.screen() == Route::Wizard;
        match self.overlay.as_mut() {
            Some(Overlay::Command(e)) => e.insert(text),
            Some(Overlay::Filter(e)) => {
                e.insert(text);
                let typed = e.text.clone();
                self.current_mut().set_filter(&typed);
            }
            Some(_) => {}
            None if on_wizard => self.walkthrough.paste(text),
            None => {}
        }
    }

    /// `:` commands, as k9s has them.
    pub fn command(&mut self, text: &str) -> Vec<Effect> {
        self.run_command(commands::parse(text))
    }

    fn run_command(&mut self, c: Command) -> Vec<Effect> {
        match c {
            Command::Quit => self.action(Action::Quit),
            Command::Namespace(Some(ns)) => self.switch_namespace(ns),
            Command::Namespace(None) => self.pick(PickWhat::Namespace),
            Command::Context(None) => self.pick(PickWhat::Context),
            Command::Context(Some(c)) => {
                self.home.every = None;
                self.message = Some(format!("connecting to context {c}…"));
                vec![Effect::SwitchContext(c)]
            }
            Command::EveryContext => {
                self.routes.truncate(1);
                self.message = Some(format!(
                    "every context: enter switches to the row's context, ctrl-r reads again, esc goes back to {}",
                    self.session.opts.context
                ));
                vec![self.home.every_context()]
            }
            Command::Pane(p) => self.open_dashboard(p),
            Command::Run => self.action(Action::ShowRun),
            Command::Home => {
                self.routes.truncate(1);
                Vec::new()
            }
            Command::Help => {
                self.overlay = Some(Overlay::Help(0));
                Vec::new()
            }
            Command::SkipStop { version, reason } => {
                self.message = Some(self.walkthrough.skip_stop(version, reason));
                Vec::new()
            }
            Command::NoView(cmd) => {
                self.message = Some(format!(
                    "helmdeck has no {cmd} view: kubectl get {cmd} -n {} (the pod detail shows each pod's events)",
                    self.session.opts.namespace
                ));
                Vec::new()
            }
            Command::Unknown(text) => {
                self.message = Some(format!(
                    "unknown command :{text} — try :pods, :deploy, :sts, :svc, :pvc, :events, :jobs, :xray, :disks, :ingestion, :ns NAME, :ctx NAME, :ctx all, :run, :home, :q"
                ));
                Vec::new()
            }
        }
    }

    fn pick(&mut self, what: PickWhat) -> Vec<Effect> {
        self.overlay = Some(Overlay::Pick(Picker {
            what,
            items: None,
            sel: 0,
        }));
        vec![Effect::ListChoices(what)]
    }

    fn switch_namespace(&mut self, ns: String) -> Vec<Effect> {
        let all = ns == ALL_NAMESPACES;
        if !all && let Err(why) = crate::deploy::names::namespace(&ns) {
            self.message = Some(why.to_string());
            return Vec::new();
        }
        let s = &mut self.session;
        s.opts.namespace = ns.clone();
        s.snapshot = Snapshot::default();
        s.probes.clear();
        // Releases are listed across namespaces: say at once when this one has none, rather
        // than let the panes suggest the stack is broken.
        let here: Vec<&str> = s
            .releases
            .iter()
            .filter(|r| r.namespace == ns)
            .map(|r| r.name.as_str())
            .collect();
        if all {
            self.message = Some(
                "every namespace: all pods, no release focused (no ingestion probe); :ns NAME goes back to one".into(),
            );
        } else if s.releases_error.is_none() && !here.contains(&s.opts.release.as_str()) {
            self.message = Some(match here.as_slice() {
                [] => format!(
                    "no Helm release in {ns}: the panes show its pods and disks only; :home lists the releases"
                ),
                names => format!(
                    "no release {} in {ns} (there: {}); pick one on :home",
                    s.opts.release,
                    names.join(", ")
                ),
            });
        }
        // As k9s's `:ns`: the namespace's pods, from wherever it was asked (every
        // namespace's from any pane too, as k9s's `0`).
        if all || self.screen() != Route::Dashboard {
            if self.screen() == Route::Run {
                self.leave();
            }
            self.show(Route::Dashboard);
            self.dash.show(Pane::Pods, true);
        }
        vec![Effect::SwitchNamespace(ns)]
    }

    fn action(&mut self, a: Action) -> Vec<Effect> {
        self.message = None;
        if self.screen() == Route::Home
            && let Some(step) = self.home.every_context_act(a, &self.session)
        {
            return self.follow(step);
        }
        match a {
            Action::Quit if self.busy() => {
                self.overlay = Some(Overlay::Confirm(Confirm::QuitWhileRunning));
                return Vec::new();
            }
            Action::Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help(0));
                return Vec::new();
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command(Default::default()));
                return Vec::new();
            }
            Action::Filter => {
                if let Some(current) = self.current().filter() {
                    self.overlay = Some(Overlay::Filter(LineEdit::new(current.to_string())));
                }
                return Vec::new();
            }
            Action::ShowRun => {
                if self.run.view.is_some() {
                    self.show(Route::Run);
                    return Vec::new();
                }
                // None in this session: a helm an earlier helmdeck left running, if any.
                let release = self
                    .home
                    .selected(&self.session)
                    .or(self.session.focused_release());
                return match release {
                    Some(r) => vec![Effect::Reattach {
                        release: r.name.clone(),
                        namespace: r.namespace.clone(),
                    }],
                    None => {
                        self.message =
                            Some("no install, upgrade or rollback in this session yet".into());
                        Vec::new()
                    }
                };
            }
            // `l`/`p` on the run screen: the failing pod's (previous) logs, as k9s's on a pod.
            Action::Logs | Action::PreviousLogs if self.screen() == Route::Run => {
                let pod = self.run.view.as_ref().and_then(|r| {
                    r.problem
                        .as_ref()
                        .map(|p| (r.namespace.clone(), p.pod.clone()))
                });
                return match pod {
                    Some((ns, name)) => {
                        self.show(Route::Dashboard);
                        let previous = a == Action::PreviousLogs;
                        let step = self.dash.logs_of(&ns, &name, previous, &self.session);
                        self.follow(step)
                    }
                    None => {
                        self.message = Some("no failing pod to show the logs of".into());
                        Vec::new()
                    }
                };
            }
            Action::AllNamespaces => return self.switch_namespace(ALL_NAMESPACES.into()),
            Action::Install => return self.start_wizard(deploy::Action::Install),
            Action::Upgrade => return self.start_wizard(deploy::Action::Upgrade),
            Action::Rollback => {
                return match self.home.selected(&self.session) {
                    Some(r) => vec![Effect::History {
                        release: r.name.clone(),
                        namespace: r.namespace.clone(),
                    }],
                    None => Vec::new(),
                };
            }
            _ => {}
        }
        let took = {
            let session = &self.session;
            let screen: &mut dyn Screen = match self.routes.last() {
                Some(Route::Wizard) => &mut self.walkthrough,
                Some(Route::Run) => &mut self.run,
                Some(Route::Dashboard) => &mut self.dash,
                _ => &mut self.home,
            };
            screen.act(a, session)
        };
        if let Some(s) = took {
            return self.follow(s);
        }
        match a {
            Action::Back => {
                if self.screen() == Route::Run && self.busy() {
                    self.message =
                        Some("the operation goes on: o (or :run) comes back to it".into());
                }
                self.leave();
                Vec::new()
            }
            Action::Dashboard => self.open_dashboard(Pane::Pods),
            Action::Enter if self.screen() == Route::Home => self.open_dashboard(Pane::Pods),
            Action::Refresh => vec![Effect::RefreshReleases],
            _ => Vec::new(),
        }
    }

    fn start_wizard(&mut self, action: deploy::Action) -> Vec<Effect> {
        if let Err(how) = &self.session.opts.helm {
            self.message = Some(format!("helm is needed to install or upgrade: {how}"));
            return Vec::new();
        }
        // A campaign waiting on its walkthrough: that is the walkthrough to show.
        if self.walkthrough.in_campaign() {
            self.show(Route::Wizard);
            return Vec::new();
        }
        // One operation at a time from this app: a second would wait on the release lock
        // and then be told the release is stuck.
        if let Some(r) = self.run.view.as_ref().filter(|r| r.outcome.is_none()) {
            self.message = Some(format!(
                "the {} of {} in {} is still running: o shows it",
                r.what, r.release, r.namespace
            ));
            return Vec::new();
        }
        let s = &self.session;
        // `i` on a release that is installed means its upgrade walkthrough.
        if action == deploy::Action::Install
            && let Some(i) = s
                .releases
                .iter()
                .position(|r| r.name == s.opts.release && r.namespace == s.opts.namespace)
        {
            self.home.sel = i;
            let effects = self.start_wizard(deploy::Action::Upgrade);
            if self.walkthrough.current.is_some() {
                self.message = Some(format!(
                    "{} is already installed in {}: this is its upgrade walkthrough (esc goes back)",
                    self.session.opts.release, self.session.opts.namespace
                ));
            }
            return effects;
        }
        let release = match action {
            deploy::Action::Upgrade => {
                let Some(r) = self.home.selected(&self.session).cloned() else {
                    self.message = Some("no release selected to upgrade".into());
                    return Vec::new();
                };
                self.session.opts.release = r.name.clone();
                self.session.opts.namespace = r.namespace.clone();
                Some(r)
            }
            _ => None,
        };
        let effects = self
            .walkthrough
            .start(action, release.as_ref(), &self.session);
        self.show(Route::Wizard);
        effects
    }

    /// The dashboard on `pane`, of the release selected on Home. From the run screen it takes
    /// the run's place (o brings the run back), so esc goes home as it did from the run.
    fn open_dashboard(&mut self, pane: Pane) -> Vec<Effect> {
        if self.screen() == Route::Run {
            self.leave();
        }
        let selected = self.home.selected(&self.session).cloned();
        let opts = &mut self.session.opts;
        if let Some(r) = selected.as_ref().filter(|r| r.namespace != opts.namespace) {
            opts.release = r.name.clone();
            opts.namespace = r.namespace.clone();
            self.show(Route::Dashboard);
            self.dash.show(pane, false);
            return vec![Effect::SwitchNamespace(r.namespace.clone())];
        }
        if let Some(r) = selected {
            opts.release = r.name;
        }
        self.show(Route::Dashboard);
        self.dash.show(pane, true);
        vec![Effect::ProbeNow]
    }

    fn confirmed(&mut self, c: Confirm) -> Vec<Effect> {
        match c {
            Confirm::QuitWhileRunning => {
                self.quit = true;
                self.farewell = Some(self.run.left_running_note(&self.session));
                vec![Effect::Quit]
            }
            Confirm::StopWaiting { pid, .. } => {
                self.run.stopping(pid);
                vec![Effect::StopHelm { pid }]
            }
            Confirm::DeletePod { namespace, pod } => {
                if self.session.opts.readonly {
                    self.message = Some("read-only: pods are not deleted".into());
                    return Vec::new();
                }
                self.message = Some(format!("deleting pod {pod}…"));
                vec![Effect::DeletePod { namespace, pod }]
            }
            Confirm::KillHelm { pid } => {
                self.run.killing(pid);
                vec![Effect::KillHelm { pid }]
            }
            Confirm::Apply { .. } => {
                let Some(ticket) = self.walkthrough.apply() else {
                    return Vec::new();
                };
                let plan = &ticket.plan;
                let upgrade = plan.action == deploy::Action::Upgrade;
                let stop = if ticket.stop.one_of_several() {
                    format!(", {}", ticket.stop.label())
                } else {
                    String::new()
                };
                self.run.view = Some(RunView::new(
                    format!(
                        "{} {} in {} (profile {}{stop})",
                        if upgrade { "upgrading" } else { "installing" },
                        plan.release,
                        plan.namespace,
                        plan.profile.as_deref().unwrap_or("none")
                    ),
                    if upgrade { "upgrade" } else { "install" },
                    &plan.release,
                    &plan.namespace,
                    self.session.now,
                ));
                self.replace(Route::Run);
                vec![Effect::Apply(ticket)]
            }
            Confirm::Rollback { plan, .. } => {
                // Whatever the picker said before no longer applies once the rollback runs.
                self.message = None;
                if let Err(how) = &self.session.opts.helm {
                    self.message = Some(format!("helm is needed to roll back: {how}"));
                    return Vec::new();
                }
                self.run.view = Some(RunView::new(
                    format!(
                        "rolling back {} in {}: revision {} → {} ({} → {})",
                        plan.release,
                        plan.namespace,
                        plan.from.revision,
                        plan.to.revision,
                        plan.from.chart,
                        plan.to.chart
                    ),
                    "rollback",
                    &plan.release,
                    &plan.namespace,
                    self.session.now,
                ));
                self.show(Route::Run);
                vec![Effect::Rollback(plan)]
            }
        }
    }
}
