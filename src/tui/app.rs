//! The app's state and how it changes. The UI task owns it; background tasks only send it
//! messages, and it answers with effects for the runtime to carry out — so every screen can
//! be driven from a test with keys and messages alone. What belongs to one screen lives in
//! that screen's module; this one routes keys and messages and holds what screens share.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent};

use super::keymap::{self, Action, Ctx};
use crate::cluster::probe::ProbeRecord;
use crate::cluster::releases::ReleaseInfo;
use crate::cluster::watch::{Connection, Snapshot};
use crate::deploy::{self, Outcome};
use crate::profile::Profile;

pub use super::dashboard::{Dashboard, Pane, PodSort};
pub use super::pod_text::TextKind as PodTextKind;
pub use super::rollback::RevisionPicker;
pub use super::run::{RunProblem, RunView};
pub use super::wizard::{
    AckRequest, Field, PlanTicket, PlanView, Reply, ReviewLine, Wizard, WizardStep, validate_field,
};

/// What the app was started with.
#[derive(Debug, Clone)]
pub struct Options {
    pub context: String,
    pub namespace: String,
    pub release: String,
    pub readonly: bool,
    /// The profile the wizard starts on.
    pub profile: Option<String>,
    /// `Err(how to get it)` when no helm was found: inspection still works.
    pub helm: Result<String, String>,
    pub no_color: bool,
    pub log_file: Option<PathBuf>,
    /// The kubeconfig turns certificate checks off for this cluster: the header says so.
    pub tls_unverified: bool,
    /// helmdeck's simulated cluster: the wizard installs the bundled stand-in chart.
    pub simulated: bool,
    /// The cluster's scope for helmdeck's own files (`Target::scope_key`): drafts live there.
    pub scope: String,
}

/// What a successful `:ctx` switch tells the app about the cluster it now shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Switched {
    pub tls_unverified: bool,
    pub simulated: bool,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Home,
    Wizard,
    Run,
    Dashboard,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    Apply,
    Rollback {
        release: String,
        namespace: String,
        revision: Option<u64>,
    },
    /// Quit while helm runs: wait for it, or leave it running.
    QuitWhileRunning,
    /// Stop waiting for a failing install or upgrade: helm (this pid) gives up and rolls back.
    StopWaiting {
        pid: u32,
    },
    /// helm was asked to stop and is still running: kill it, leaving the release as it is.
    KillHelm {
        pid: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// `:ns` or `:ctx` without a name: pick one from the cluster's or the kubeconfig's.
    Pick(Picker),
    /// The keys and commands, scrolled this many lines.
    Help(usize),
    Revisions(RevisionPicker),
    Confirm(Confirm),
    Command(super::line_edit::LineEdit),
    Filter(super::line_edit::LineEdit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickWhat {
    Namespace,
    Context,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub what: PickWhat,
    /// `None` while the list is read; `Err` when it could not be.
    pub items: Option<Result<Vec<String>, String>>,
    pub sel: usize,
}

/// What the runtime should do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Start the campaign for this intent: each stop is planned (preflight, render, diff)
    /// and waits for `Apply`.
    Plan(Box<deploy::Intent>),
    /// Apply exactly the plan the user saw (the campaign waiting on it goes on).
    Apply(Box<PlanTicket>),
    /// Answer a question the campaign waits on.
    Answer(Reply, deploy::Answer),
    Rollback {
        release: String,
        namespace: String,
        revision: Option<u64>,
    },
    SwitchNamespace(String),
    SwitchContext(String),
    RefreshReleases,
    /// List a chart repository's versions for the version picker.
    Versions {
        repo: String,
        chart: String,
    },
    /// Read a release's revisions for the rollback picker.
    History {
        release: String,
        namespace: String,
    },
    ProbeNow,
    /// Probe with these settings from now on (the judging profile changed).
    ProbeSettings(Box<crate::profile::IngestionSettings>),
    Logs {
        namespace: String,
        pod: String,
    },
    /// Suspend the UI and run $EDITOR on this file.
    Edit(PathBuf),
    /// List the namespaces or the kubeconfig's contexts for a picker.
    ListChoices(PickWhat),
    /// Read a pod's logs (of one container) or its YAML.
    PodText {
        kind: super::pod_text::TextKind,
        namespace: String,
        pod: String,
        container: Option<String>,
    },
    /// Ask the detached helm (this pid) to give up: it cancels its wait and, with
    /// rollback-on-failure, rolls the release back.
    StopHelm {
        pid: u32,
    },
    /// Kill the detached helm (this pid), which did not stop when asked.
    KillHelm {
        pid: u32,
    },
    /// Render the wizard's values review (it may fetch the chart); `Msg::Reviewed` answers.
    Review(Box<super::wizard::ReviewJob>),
}

/// Messages from the terminal and the background tasks.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): it goes into the field or prompt.
    Paste(String),
    Tick(SystemTime),
    Snapshot(Box<Snapshot>, Connection),
    Releases(Result<Vec<ReleaseInfo>, String>),
    Probe(Box<ProbeRecord>),
    Engine(deploy::Event),
    PlanDone(Result<Box<PlanTicket>, Outcome>),
    /// The campaign plans this stop (a later one reopens the walkthrough).
    Planning(deploy::StopAt),
    /// The campaign asks for a later stop's manual steps before planning it.
    Acknowledge(Box<AckRequest>),
    /// A values review rendered (its id, then the review or why the values do not render).
    Reviewed(u64, Result<super::wizard::Review, String>),
    ApplyDone(Outcome),
    Logs(String, Vec<String>),
    Edited,
    /// The helm version found, or how to get helm.
    Helm(Result<String, String>),
    /// A release's revisions, oldest first.
    History(String, String, Result<Vec<ReleaseInfo>, String>),
    /// A `:ctx` switch connected (the app now shows that cluster) or failed (it stays).
    /// A `:ctx` switch finished: whether its TLS is unverified, or why it failed.
    ContextSwitched(String, Result<Switched, String>),
    /// The namespaces or contexts to pick from.
    Choices(PickWhat, Result<Vec<String>, String>),
    /// A pod's text: (lines, the pod's containers), or why it could not be read.
    PodText(
        String,
        super::pod_text::TextKind,
        Result<(Vec<String>, Vec<String>), String>,
    ),
    /// The chart repository's versions for the upgrade walkthrough, with the cluster's
    /// Kubernetes version when it answered.
    Versions(Result<(crate::chart::repo::Listing, Option<String>), String>),
}

pub struct App {
    pub opts: Options,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub profiles: Vec<Profile>,
    pub releases: Vec<ReleaseInfo>,
    pub releases_error: Option<String>,
    pub release_sel: usize,
    pub snapshot: Snapshot,
    /// Rows derived from the snapshot once per change, not once per frame.
    pub pods: crate::health::PodsReport,
    pub disks: Vec<crate::health::disks::DiskRow>,
    pub connection: Connection,
    pub probes: VecDeque<ProbeRecord>,
    pub dash: Dashboard,
    pub wizard: Option<Wizard>,
    /// The walkthrough of a campaign with stops left, kept while a stop applies: the next
    /// stop reopens it.
    pub next_stop: Option<Wizard>,
    pub run: Option<RunView>,
    pub message: Option<String>,
    pub now: SystemTime,
    pub quit: bool,
    /// The user chose to quit once the running operation ends.
    pub quit_when_done: bool,
    /// The profile the probe's settings were last taken from (`Some(None)`: no profile).
    pub probe_profile: Option<Option<String>>,
    /// Printed after the terminal is restored (how to follow a helm left running).
    pub farewell: Option<String>,
    /// Each release's last operation in this session, shown on Home (even when helm
    /// uninstalled the release).
    pub last_ops: Vec<super::run::LastOperation>,
    /// The `:` commands run, oldest first (↑/↓ at the prompt), and where ↑ has got to.
    pub history: Vec<String>,
    pub history_at: Option<usize>,
    /// The last values review asked for (answers to older ones are dropped).
    pub next_review: u64,
}

/// The `:` commands tab completes, as typed.
const COMMAND_WORDS: [&str; 14] = [
    "ctx",
    "deploy",
    "disks",
    "events",
    "help",
    "helm",
    "home",
    "ingestion",
    "ns",
    "pods",
    "pvc",
    "quit",
    "run",
    "sts",
];

/// Tab at the prompt: the first word completed to the longest prefix the commands share,
/// and the commands it could still be.
pub fn complete(text: &str) -> (String, Vec<String>) {
    if text.contains(' ') {
        return (text.to_string(), Vec::new());
    }
    let options: Vec<String> = COMMAND_WORDS
        .iter()
        .filter(|w| w.starts_with(text))
        .map(|w| w.to_string())
        .collect();
    let done = match options.as_slice() {
        [] => text.to_string(),
        [one] if matches!(one.as_str(), "ns" | "ctx") => format!("{one} "),
        [one] => one.clone(),
        many => {
            let first = &many[0];
            let common = (text.len()..=first.len())
                .rev()
                .find(|&n| many.iter().all(|w| w.get(..n) == first.get(..n)))
                .unwrap_or(text.len());
            first[..common].to_string()
        }
    };
    (done, options)
}

/// Rows a page key moves.
pub(super) const PAGE: usize = 10;

/// Where a list position (or scroll offset) goes on a movement key, within `len` rows.
pub(super) fn step(at: usize, len: usize, a: Action) -> usize {
    let last = len.saturating_sub(1);
    match a {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::PageUp => at.saturating_sub(PAGE),
        Action::PageDown => (at + PAGE).min(last),
        Action::Top => 0,
        _ => last,
    }
}

/// Probe results the ingestion pane keeps.
const PROBE_HISTORY: usize = 60;
/// helm output lines the run screen keeps.
pub(super) const HELM_LINES: usize = 200;

impl App {
    pub fn new(opts: Options, profiles: Vec<Profile>, now: SystemTime) -> App {
        App {
            opts,
            screen: Screen::Home,
            overlay: None,
            profiles,
            releases: Vec::new(),
            releases_error: None,
            release_sel: 0,
            snapshot: Snapshot::default(),
            pods: crate::health::pods_report(&Snapshot::default(), None, now),
            disks: Vec::new(),
            connection: Connection::Connecting,
            probes: VecDeque::new(),
            dash: Dashboard {
                pane: Pane::Pods,
                selected: 0,
                filter: String::new(),
                sort: PodSort::Component,
                sort_reversed: false,
                detail: None,
                detail_scroll: 0,
                text: None,
                logs: Vec::new(),
            },
            wizard: None,
            next_stop: None,
            run: None,
            message: None,
            now,
            quit: false,
            quit_when_done: false,
            probe_profile: None,
            farewell: None,
            last_ops: Vec::new(),
            history: Vec::new(),
            history_at: None,
            next_review: 0,
        }
    }

    pub fn ctx(&self) -> Ctx {
        match self.screen {
            Screen::Home => Ctx::Home,
            Screen::Wizard => Ctx::Wizard,
            Screen::Run => Ctx::Run,
            Screen::Dashboard => Ctx::Dashboard,
        }
    }

    /// Whether a screen key does something in the state the screen is in: the footer lists
    /// only those.
    pub fn action_works(&self, a: Action) -> bool {
        let step = self.wizard.as_ref().map(|w| w.step);
        match (self.screen.clone(), a) {
            (Screen::Wizard, Action::NextPane | Action::PrevPane) => {
                step == Some(WizardStep::Questions)
            }
            (Screen::Wizard, Action::Filter | Action::Edit) => step == Some(WizardStep::Review),
            (Screen::Dashboard, Action::Filter | Action::Sort | Action::Logs | Action::Yaml) => {
                self.dash.pane == Pane::Pods && self.dash.text.is_none()
            }
            (Screen::Dashboard, Action::Describe) => {
                self.dash.pane == Pane::Pods && self.dash.detail.is_none()
            }
            (Screen::Dashboard, Action::Refresh) => self.dash.pane == Pane::Ingestion,
            (Screen::Run, Action::StopWaiting) => self
                .run
                .as_ref()
                .is_some_and(|r| r.outcome.is_none() && r.helm_process.is_some()),
            (Screen::Home, Action::Upgrade | Action::Rollback | Action::Dashboard) => {
                !self.releases.is_empty()
            }
            _ => true,
        }
    }

    /// An install, upgrade, plan or rollback is under way.
    pub fn busy(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.outcome.is_none())
            || self.wizard.as_ref().is_some_and(|w| w.plan.running)
    }

    /// Handles one message; returns what the runtime must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Paste(text) => {
                self.paste(&text);
                Vec::new()
            }
            Msg::Tick(now) => {
                self.now = now;
                self.pod_text_tick()
            }
            Msg::Choices(what, result) => {
                if let Some(Overlay::Pick(p)) = self.overlay.as_mut()
                    && p.what == what
                {
                    let current = match what {
                        PickWhat::Namespace => &self.opts.namespace,
                        PickWhat::Context => &self.opts.context,
                    };
                    p.sel = result
                        .as_ref()
                        .ok()
                        .and_then(|l| l.iter().position(|x| x == current))
                        .unwrap_or(0);
                    p.items = Some(result);
                }
                Vec::new()
            }
            Msg::PodText(pod, kind, result) => {
                self.pod_text_loaded(pod, kind, result);
                Vec::new()
            }
            Msg::Snapshot(s, c) => {
                self.snapshot = *s;
                self.connection = c;
                self.derive();
                self.note_run_problem()
            }
            Msg::Releases(r) => {
                match r {
                    Ok(list) => {
                        self.releases = list;
                        self.releases_error = None;
                        if self.release_sel >= self.releases.len() {
                            self.release_sel = self.releases.len().saturating_sub(1);
                        }
                    }
                    Err(e) => self.releases_error = Some(e),
                }
                // The release may now name the profile that judges it: probe by its rules.
                let judge = self.dashboard_profile().map(|p| p.name.clone());
                if self.probe_profile.as_ref() != Some(&judge) {
                    self.probe_profile = Some(judge);
                    let settings = crate::cluster::probe::settings_for(self.dashboard_profile());
                    return vec![Effect::ProbeSettings(Box::new(settings))];
                }
                Vec::new()
            }
            Msg::Probe(p) => {
                self.probes.push_back(*p);
                while self.probes.len() > PROBE_HISTORY {
                    self.probes.pop_front();
                }
                Vec::new()
            }
            Msg::Engine(e) => {
                self.engine_event(e);
                Vec::new()
            }
            Msg::PlanDone(result) => {
                if let Some(w) = self.wizard.as_mut() {
                    w.plan.running = false;
                    match result {
                        Ok(t) => {
                            w.plan.outcome = Some(Outcome::Planned);
                            w.plan.ticket = Some(t);
                        }
                        Err(o) => {
                            w.plan.outcome = Some(o);
                            w.plan.ticket = None;
                        }
                    }
                }
                Vec::new()
            }
            Msg::Planning(at) => {
                self.campaign_planning(at);
                Vec::new()
            }
            Msg::Acknowledge(req) => self.campaign_asks(*req),
            Msg::ApplyDone(o) => {
                if !matches!(o, Outcome::Applied { .. }) {
                    // The campaign ends here: no later stop comes back to its walkthrough.
                    self.next_stop = None;
                }
                if let Some(r) = self.run.as_mut() {
                    r.outcome = Some(o.clone());
                    r.finished = Some(self.now);
                    let done = super::run::LastOperation {
                        release: r.release.clone(),
                        namespace: r.namespace.clone(),
                        what: r.what.clone(),
                        outcome: o,
                        problem: r
                            .problem
                            .as_ref()
                            .map(|p| format!("pod {}: {}", p.pod, p.finding)),
                        finished: self.now,
                    };
                    self.last_ops
                        .retain(|l| (&l.release, &l.namespace) != (&done.release, &done.namespace));
                    self.last_ops.push(done);
                }
                if self.quit_when_done {
                    self.quit = true;
                    return vec![Effect::Quit];
                }
                vec![Effect::RefreshReleases]
            }
            Msg::Logs(pod, lines) => {
                if let Some(p) = self.run.as_mut().and_then(|r| r.problem.as_mut())
                    && p.pod == pod
                {
                    p.logs = lines.clone();
                }
                if self.dash.detail.as_deref() == Some(&pod) {
                    self.dash.logs = lines;
                }
                Vec::new()
            }
            Msg::Edited => self.refresh_review(),
            Msg::Reviewed(id, result) => {
                self.reviewed(id, result);
                Vec::new()
            }
            Msg::Helm(h) => {
                self.opts.helm = h;
                Vec::new()
            }
            Msg::ContextSwitched(ctx, Ok(sw)) => {
                self.opts.context = ctx;
                self.opts.tls_unverified = sw.tls_unverified;
                self.opts.simulated = sw.simulated;
                self.opts.scope = sw.scope;
                self.snapshot = Snapshot::default();
                self.derive();
                self.releases.clear();
                self.connection = Connection::Connecting;
                self.message = None;
                vec![Effect::RefreshReleases]
            }
            Msg::ContextSwitched(ctx, Err(e)) => {
                self.message = Some(format!(
                    "cannot switch to context {ctx}: {e}; still on {}",
                    self.opts.context
                ));
                Vec::new()
            }
            Msg::History(release, namespace, r) => {
                self.history_loaded(release, namespace, r);
                Vec::new()
            }
            Msg::Versions(r) => {
                self.versions_loaded(r);
                Vec::new()
            }
        }
    }

    pub(super) fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
        // Text entry first: overlays and wizard fields take printable keys.
        if let Some(o) = self.overlay.clone() {
            return self.overlay_key(o, k);
        }
        if self.screen == Screen::Wizard
            && self
                .wizard
                .as_ref()
                .is_some_and(|w| w.step == WizardStep::Questions)
            && let Some(effects) = self.field_key(&k)
        {
            return effects;
        }
        if self.screen == Screen::Dashboard
            && self.dash.text.is_some()
            && let Some(effects) = self.pod_text_key(&k)
        {
            return effects;
        }
        if self.screen == Screen::Dashboard
            && self.dash.pane == Pane::Pods
            && self.dash.text.is_none()
            && self.dash.detail.is_none()
            && let KeyCode::Char(c) = k.code
            && let Some(sort) = PodSort::for_key(c)
        {
            self.dash.sort_reversed = self.dash.sort == sort && !self.dash.sort_reversed;
            self.dash.sort = sort;
            self.dash.selected = 0;
            return Vec::new();
        }
        if self.screen == Screen::Wizard
            && k.code == KeyCode::Char('R')
            && let Some(w) = self.wizard.as_mut()
            && w.step == WizardStep::Plan
            && w.resize_offered()
        {
            w.resize_disks = true;
            w.plan = PlanView {
                running: true,
                ..Default::default()
            };
            let action = w.action;
            return self
                .intent(action)
                .map(|i| Effect::Plan(Box::new(i)))
                .into_iter()
                .collect();
        }
        if self.screen == Screen::Wizard
            && matches!(k.code, KeyCode::Char(' ') | KeyCode::Char('a'))
            && self
                .wizard
                .as_ref()
                .is_some_and(|w| w.step == WizardStep::Notes)
        {
            self.acknowledge();
            return Vec::new();
        }
        let Some(action) = keymap::action_for(&k, self.ctx(), self.opts.readonly) else {
            if self.opts.readonly && keymap::action_for(&k, self.ctx(), false).is_some() {
                self.message = Some(
                    "read-only (--readonly): install, upgrade, rollback and stop are off".into(),
                );
            }
            return Vec::new();
        };
        self.action(action)
    }

    pub(super) fn overlay_key(&mut self, o: Overlay, k: KeyEvent) -> Vec<Effect> {
        match o {
            Overlay::Help(at) => {
                if matches!(
                    k.code,
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
                ) {
                    self.overlay = None;
                } else if let Some(a) = keymap::action_for(&k, Ctx::Everywhere, self.opts.readonly)
                    .filter(|a| a.moves())
                {
                    let len = super::view::help_lines(self).len();
                    self.overlay = Some(Overlay::Help(step(at, len, a)));
                }
                Vec::new()
            }
            Overlay::Revisions(p) => self.revisions_key(p, k),
            Overlay::Pick(mut p) => {
                let len = p
                    .items
                    .as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, Vec::len);
                match k.code {
                    KeyCode::Esc => self.overlay = None,
                    KeyCode::Enter => {
                        self.overlay = None;
                        let chosen = p
                            .items
                            .as_ref()
                            .and_then(|r| r.as_ref().ok())
                            .and_then(|l| l.get(p.sel).cloned());
                        if let Some(name) = chosen {
                            let cmd = match p.what {
                                PickWhat::Namespace => "ns",
                                PickWhat::Context => "ctx",
                            };
                            return self.command(&format!("{cmd} {name}"));
                        }
                    }
                    _ => {
                        if let Some(a) = keymap::action_for(&k, Ctx::Everywhere, self.opts.readonly)
                            .filter(|a| a.moves())
                        {
                            p.sel = step(p.sel, len, a);
                            self.overlay = Some(Overlay::Pick(p));
                        }
                    }
                }
                Vec::new()
            }
            Overlay::Confirm(Confirm::QuitWhileRunning) => match k.code {
                KeyCode::Char('w') | KeyCode::Char('W') => {
                    self.overlay = None;
                    self.quit_when_done = true;
                    self.message = Some("quitting when helm finishes".into());
                    Vec::new()
                }
                KeyCode::Char('l') | KeyCode::Char('L') => {
                    self.overlay = None;
                    self.confirmed(Confirm::QuitWhileRunning)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.overlay = None;
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Overlay::Confirm(c) => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.overlay = None;
                    self.confirmed(c)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.overlay = None;
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Overlay::Command(mut text) | Overlay::Filter(mut text) => {
                let filter = matches!(self.overlay, Some(Overlay::Filter(_)));
                match k.code {
                    KeyCode::Esc => {
                        self.overlay = None;
                        if filter {
                            self.set_text_overlay(true, Default::default());
                            self.overlay = None;
                        }
                        Vec::new()
                    }
                    KeyCode::Enter => {
                        self.overlay = None;
                        if filter {
                            self.set_text_overlay(true, text);
                            self.overlay = None;
                            Vec::new()
                        } else {
                            let line = text.text.trim().to_string();
                            if !line.is_empty() {
                                self.history.retain(|h| *h != line);
                                self.history.push(line.clone());
                            }
                            self.history_at = None;
                            self.command(&line)
                        }
                    }
                    KeyCode::Tab if !filter => {
                        let (done, options) = complete(&text.text);
                        self.message = (options.len() > 1).then(|| options.join("  "));
                        self.set_text_overlay(false, super::line_edit::LineEdit::new(done));
                        Vec::new()
                    }
                    KeyCode::Up | KeyCode::Down if !filter && !self.history.is_empty() => {
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
                        self.set_text_overlay(false, super::line_edit::LineEdit::new(line));
                        Vec::new()
                    }
                    _ => {
                        if text.key(&k) {
                            self.set_text_overlay(filter, text);
                        }
                        Vec::new()
                    }
                }
            }
        }
    }

    /// Pasted text goes where typing would: the prompt or filter, else the wizard's field.
    fn paste(&mut self, text: &str) {
        match self.overlay.clone() {
            Some(Overlay::Command(mut e)) => {
                e.insert(text);
                self.set_text_overlay(false, e);
            }
            Some(Overlay::Filter(mut e)) => {
                e.insert(text);
                self.set_text_overlay(true, e);
            }
            Some(_) => {}
            None => {
                if self.screen == Screen::Wizard
                    && let Some(w) = self.wizard.as_mut()
                    && w.step == WizardStep::Questions
                    && let Some(f) = w.fields.get_mut(w.field)
                    && !matches!(
                        f.question.validate,
                        crate::profile::Validation::Boolean | crate::profile::Validation::Enum
                    )
                {
                    f.input.insert(text);
                    f.error = None;
                }
            }
        }
    }

    pub(super) fn set_text_overlay(&mut self, filter: bool, text: super::line_edit::LineEdit) {
        if filter
            && let Some(w) = self
                .wizard
                .as_mut()
                .filter(|_| self.screen == Screen::Wizard)
        {
            w.filter = text.text.clone();
            w.scroll = 0;
            self.overlay = Some(Overlay::Filter(text));
        } else if filter {
            self.dash.filter = text.text.clone();
            self.dash.selected = 0;
            self.overlay = Some(Overlay::Filter(text));
        } else {
            self.overlay = Some(Overlay::Command(text));
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

    /// `:` commands, as k9s has them.
    pub fn command(&mut self, text: &str) -> Vec<Effect> {
        let mut parts = text.split_whitespace();
        let cmd = parts.next().unwrap_or_default();
        let arg = parts.next();
        match (cmd, arg) {
            ("q" | "quit" | "q!", _) => self.action(Action::Quit),
            ("ns" | "namespace", Some(ns)) => {
                if let Err(why) = crate::deploy::names::namespace(ns) {
                    self.message = Some(why.to_string());
                    return Vec::new();
                }
                self.opts.namespace = ns.to_string();
                self.snapshot = Snapshot::default();
                self.probes.clear();
                // Releases are listed across namespaces: say at once when this one has none,
                // rather than let the panes suggest the stack is broken.
                let here: Vec<&str> = self
                    .releases
                    .iter()
                    .filter(|r| r.namespace == ns)
                    .map(|r| r.name.as_str())
                    .collect();
                if self.releases_error.is_none() && !here.contains(&self.opts.release.as_str()) {
                    self.message = Some(match here.as_slice() {
                        [] => format!(
                            "no Helm release in {ns}: the panes show its pods and disks only; :home lists the releases"
                        ),
                        names => format!(
                            "no release {} in {ns} (there: {}); pick one on :home",
                            self.opts.release,
                            names.join(", ")
                        ),
                    });
                }
                vec![Effect::SwitchNamespace(ns.to_string())]
            }
            ("ns" | "namespace", None) => self.pick(PickWhat::Namespace),
            ("ctx" | "context", None) => self.pick(PickWhat::Context),
            ("ctx" | "context", Some(c)) => {
                self.message = Some(format!("connecting to context {c}…"));
                vec![Effect::SwitchContext(c.to_string())]
            }
            // k9s's resource aliases, where helmdeck has the view: the pods pane lists the
            // release's Deployments and StatefulSets as its components.
            (
                "pods" | "pod" | "po" | "deploy" | "deployments" | "deployment" | "dp" | "sts"
                | "statefulsets" | "statefulset",
                _,
            ) => self.open_dashboard(Pane::Pods),
            ("disks" | "pvc" | "pv" | "persistentvolumeclaims", _) => {
                self.open_dashboard(Pane::Disks)
            }
            ("ingestion", _) => self.open_dashboard(Pane::Ingestion),
            ("run" | "op" | "operation", _) => self.action(Action::ShowRun),
            ("home" | "releases" | "helm" | "hr", _) => {
                self.screen = Screen::Home;
                Vec::new()
            }
            ("help", _) => {
                self.overlay = Some(Overlay::Help(0));
                Vec::new()
            }
            ("svc" | "services" | "service" | "events" | "ev" | "event", _) => {
                self.message = Some(format!(
                    "helmdeck has no {cmd} view: kubectl get {cmd} -n {} (the pod detail shows each pod's events)",
                    self.opts.namespace
                ));
                Vec::new()
            }
            _ => {
                self.message = Some(format!(
                    "unknown command :{text} — try :ns NAME, :ctx NAME, :pods, :disks, :ingestion, :run, :home, :q"
                ));
                Vec::new()
            }
        }
    }

    pub(super) fn action(&mut self, a: Action) -> Vec<Effect> {
        self.message = None;
        match a {
            Action::Quit => {
                if self.busy() {
                    self.overlay = Some(Overlay::Confirm(Confirm::QuitWhileRunning));
                    Vec::new()
                } else {
                    self.quit = true;
                    vec![Effect::Quit]
                }
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help(0));
                Vec::new()
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command(Default::default()));
                Vec::new()
            }
            Action::Filter => {
                let current = match self
                    .wizard
                    .as_ref()
                    .filter(|_| self.screen == Screen::Wizard)
                {
                    Some(w) => w.filter.clone(),
                    None => self.dash.filter.clone(),
                };
                self.overlay = Some(Overlay::Filter(super::line_edit::LineEdit::new(current)));
                Vec::new()
            }
            Action::Back => self.back(),
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => {
                self.move_selection(a);
                Vec::new()
            }
            Action::Install => self.start_wizard(deploy::Action::Install),
            Action::Upgrade => self.start_wizard(deploy::Action::Upgrade),
            Action::Rollback => match self.selected_release() {
                Some(r) => vec![Effect::History {
                    release: r.name.clone(),
                    namespace: r.namespace.clone(),
                }],
                None => Vec::new(),
            },
            Action::Dashboard => self.open_dashboard(Pane::Pods),
            Action::Refresh => match self.screen {
                Screen::Dashboard => vec![Effect::ProbeNow],
                _ => vec![Effect::RefreshReleases],
            },
            Action::NextPane | Action::PrevPane => {
                if self.screen == Screen::Dashboard {
                    let order = [Pane::Pods, Pane::Disks, Pane::Ingestion];
                    let i = order.iter().position(|p| *p == self.dash.pane).unwrap_or(0);
                    let n = if a == Action::NextPane { i + 1 } else { i + 2 };
                    self.dash.pane = order[n % 3];
                    self.dash.selected = 0;
                    self.dash.detail = None;
                } else if let Some(w) = self.wizard.as_mut()
                    && !w.fields.is_empty()
                {
                    let n = w.fields.len();
                    w.field = if a == Action::NextPane {
                        (w.field + 1) % n
                    } else {
                        (w.field + n - 1) % n
                    };
                }
                Vec::new()
            }
            Action::Sort => {
                self.dash.sort = match self.dash.sort {
                    PodSort::Component => PodSort::Restarts,
                    PodSort::Restarts => PodSort::Age,
                    PodSort::Age | PodSort::Name | PodSort::Status => PodSort::Component,
                };
                self.dash.sort_reversed = false;
                Vec::new()
            }
            Action::Enter => self.enter(),
            Action::Logs => self.open_pod_text(super::pod_text::TextKind::Logs),
            Action::Yaml => self.open_pod_text(super::pod_text::TextKind::Yaml),
            Action::Describe => {
                self.dash.text = None;
                self.enter()
            }
            Action::ShowRun => {
                if self.run.is_some() {
                    self.screen = Screen::Run;
                } else {
                    self.message =
                        Some("no install, upgrade or rollback in this session yet".into());
                }
                Vec::new()
            }
            Action::StopWaiting => {
                let running = self.run.as_ref().filter(|r| r.outcome.is_none());
                match running.and_then(|r| r.helm_process.as_ref().map(|(p, _)| (*p, r.stopping))) {
                    // Asked once and still running: the next step is to kill it.
                    Some((pid, true)) => {
                        self.overlay = Some(Overlay::Confirm(Confirm::KillHelm { pid }));
                    }
                    Some((pid, false)) => {
                        self.overlay = Some(Overlay::Confirm(Confirm::StopWaiting { pid }));
                    }
                    None => {
                        self.message = Some("helm is not running: nothing to stop".into());
                    }
                }
                Vec::new()
            }
            Action::Edit => match self.wizard.as_mut() {
                Some(w) if w.step == WizardStep::Review => {
                    let path = w.overrides.clone().unwrap_or_else(|| {
                        crate::dirs::data_dir()
                            .unwrap_or_else(std::env::temp_dir)
                            .join("drafts")
                            .join(&self.opts.scope)
                            .join(format!(
                                "{}-{}-overrides.yaml",
                                self.opts.namespace, self.opts.release
                            ))
                    });
                    w.overrides = Some(path.clone());
                    vec![Effect::Edit(path)]
                }
                _ => Vec::new(),
            },
        }
    }

    pub(super) fn back(&mut self) -> Vec<Effect> {
        match self.screen {
            Screen::Dashboard if self.dash.text.is_some() => self.dash.text = None,
            Screen::Dashboard if self.dash.detail.is_some() => {
                self.dash.detail = None;
                self.dash.logs.clear();
            }
            Screen::Dashboard if !self.dash.filter.is_empty() => self.dash.filter.clear(),
            Screen::Wizard => {
                let Some(w) = self.wizard.as_mut() else {
                    self.screen = Screen::Home;
                    return Vec::new();
                };
                if w.plan.running {
                    return Vec::new();
                }
                // A later stop of a campaign has no earlier step to go back to: leaving ends
                // the campaign there (its question is dropped, which is a no).
                if let Some(at) = w.stop.clone().filter(|at| at.index > 0)
                    && matches!(w.step, WizardStep::Notes | WizardStep::Plan)
                {
                    self.wizard = None;
                    self.screen = Screen::Home;
                    self.message = Some(format!(
                        "the upgrade stopped before {}: the release stays at the chart of the stop before; i walks on from there",
                        at.label()
                    ));
                    return Vec::new();
                }
                w.step = match w.step {
                    WizardStep::Profile => {
                        self.wizard = None;
                        self.screen = Screen::Home;
                        return Vec::new();
                    }
                    WizardStep::Version => {
                        self.wizard = None;
                        self.screen = Screen::Home;
                        return Vec::new();
                    }
                    WizardStep::Notes => WizardStep::Version,
                    WizardStep::Questions if w.path.is_some() => WizardStep::Notes,
                    WizardStep::Questions if w.action == deploy::Action::Upgrade => {
                        self.wizard = None;
                        self.screen = Screen::Home;
                        return Vec::new();
                    }
                    WizardStep::Questions => WizardStep::Profile,
                    WizardStep::Review => WizardStep::Questions,
                    WizardStep::Plan => WizardStep::Review,
                };
                if w.step == WizardStep::Review {
                    // The plan shown is dropped, and the campaign waiting on it with it.
                    w.stop = None;
                    w.plan.ticket = None;
                }
                w.scroll = 0;
            }
            Screen::Run => {
                self.screen = Screen::Home;
                if self.busy() {
                    self.message =
                        Some("the operation goes on: o (or :run) comes back to it".into());
                }
            }
            Screen::Dashboard => self.screen = Screen::Home,
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn list_len(&self) -> usize {
        match self.screen {
            Screen::Home => self.releases.len(),
            Screen::Dashboard => match self.dash.pane {
                Pane::Pods => super::view::visible_pods(self).len(),
                Pane::Disks => self.disks.len(),
                Pane::Ingestion => 0,
            },
            Screen::Wizard => match self.wizard.as_ref().map(|w| w.step) {
                Some(WizardStep::Profile) => self.profiles.len(),
                Some(WizardStep::Version) => self.wizard.as_ref().map_or(0, |w| {
                    w.versions
                        .as_ref()
                        .and_then(|v| v.as_ref().ok())
                        .map_or(0, |l| l.versions.len())
                }),
                Some(WizardStep::Notes) => self.wizard.as_ref().map_or(0, |w| {
                    w.path.as_ref().map_or(0, |p| p.lines().len()) + w.acks.len() + 2
                }),
                Some(WizardStep::Questions) => self.wizard.as_ref().map_or(0, |w| w.fields.len()),
                Some(WizardStep::Review) => {
                    self.wizard.as_ref().map_or(0, |w| w.review_rows().len())
                }
                Some(WizardStep::Plan) => self.wizard.as_ref().map_or(0, |w| {
                    super::wizard::plan_lines(w, &super::theme::Theme::new(true)).len()
                }),
                None => 0,
            },
            Screen::Run => 0,
        }
    }

    pub(super) fn move_selection(&mut self, a: Action) {
        if self.screen == Screen::Dashboard && self.dash.text.is_some() {
            self.scroll_pod_text(a);
            return;
        }
        if self.screen == Screen::Dashboard && self.dash.detail.is_some() {
            let len = super::dashboard::pod_detail_len(self);
            self.dash.detail_scroll = step(self.dash.detail_scroll, len, a);
            return;
        }
        let len = self.list_len();
        let sel: &mut usize = match self.screen {
            Screen::Home => &mut self.release_sel,
            Screen::Dashboard => &mut self.dash.selected,
            Screen::Wizard => match self.wizard.as_mut() {
                Some(w) => match w.step {
                    WizardStep::Profile => &mut w.profile,
                    WizardStep::Version => &mut w.version_sel,
                    WizardStep::Questions => &mut w.field,
                    _ => &mut w.scroll,
                },
                None => return,
            },
            Screen::Run => {
                self.scroll_run(a);
                return;
            }
        };
        *sel = step(*sel, len, a);
    }

    pub(super) fn enter(&mut self) -> Vec<Effect> {
        match self.screen {
            Screen::Home => self.open_dashboard(Pane::Pods),
            Screen::Dashboard => {
                if self.dash.pane == Pane::Pods {
                    let pods = super::view::visible_pods(self);
                    if let Some(p) = pods.get(self.dash.selected) {
                        let (ns, name) = (p.namespace.clone(), p.name.clone());
                        self.dash.detail = Some(name.clone());
                        self.dash.detail_scroll = 0;
                        self.dash.logs.clear();
                        return vec![Effect::Logs {
                            namespace: ns,
                            pod: name,
                        }];
                    }
                }
                Vec::new()
            }
            Screen::Wizard => self.wizard_next(),
            Screen::Run => Vec::new(),
        }
    }

    pub(super) fn confirmed(&mut self, c: Confirm) -> Vec<Effect> {
        match c {
            Confirm::QuitWhileRunning => {
                self.quit = true;
                self.farewell = Some(self.left_running_note());
                vec![Effect::Quit]
            }
            Confirm::StopWaiting { pid } => {
                if let Some(r) = self.run.as_mut() {
                    r.stopping = true;
                    let then = r.stopping_does();
                    r.helm.push_back(format!(
                        "stopping: asked helm (pid {pid}) to give up; {then}"
                    ));
                }
                vec![Effect::StopHelm { pid }]
            }
            Confirm::KillHelm { pid } => {
                if let Some(r) = self.run.as_mut() {
                    r.helm.push_back(format!(
                        "killing helm (pid {pid}): the release is left as helm left it; its state and the way back follow"
                    ));
                }
                vec![Effect::KillHelm { pid }]
            }
            Confirm::Apply => {
                let Some(ticket) = self.wizard.as_mut().and_then(|w| w.plan.ticket.take()) else {
                    return Vec::new();
                };
                let plan = &ticket.plan;
                let what = if plan.action == deploy::Action::Upgrade {
                    "upgrade"
                } else {
                    "install"
                };
                let stop = if ticket.stop.one_of_several() {
                    format!(", {}", ticket.stop.label())
                } else {
                    String::new()
                };
                self.run = Some(RunView::new(
                    format!(
                        "{} {} in {} (profile {}{stop})",
                        if what == "upgrade" {
                            "upgrading"
                        } else {
                            "installing"
                        },
                        plan.release,
                        plan.namespace,
                        plan.profile.as_deref().unwrap_or("none")
                    ),
                    what,
                    &plan.release,
                    &plan.namespace,
                    self.now,
                ));
                let walkthrough = self.wizard.take();
                if ticket.stop.index + 1 < ticket.stop.total {
                    self.next_stop = walkthrough;
                }
                self.screen = Screen::Run;
                vec![Effect::Apply(ticket)]
            }
            Confirm::Rollback {
                release,
                namespace,
                revision,
            } => {
                // Whatever the picker said before no longer applies once the rollback runs.
                self.message = None;
                if let Err(how) = &self.opts.helm {
                    self.message = Some(format!("helm is needed to roll back: {how}"));
                    return Vec::new();
                }
                self.run = Some(RunView::new(
                    format!("rolling back {release} in {namespace}"),
                    "rollback",
                    &release,
                    &namespace,
                    self.now,
                ));
                self.screen = Screen::Run;
                vec![Effect::Rollback {
                    release,
                    namespace,
                    revision,
                }]
            }
        }
    }
}
