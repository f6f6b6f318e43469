//! The app's state and how it changes. The UI task owns it; background tasks only send it
//! messages, and it answers with effects for the runtime to carry out — so every screen can
//! be driven from a test with keys and messages alone.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

use super::keymap::{self, Action, Ctx};
use crate::cluster::probe::ProbeRecord;
use crate::cluster::releases::ReleaseInfo;
use crate::cluster::watch::{Connection, Snapshot};
use crate::deploy::{self, Outcome, Step, StepState, ValueChange};
use crate::profile::{Profile, Question};
use crate::values::{self, LayerSource, UserLayer};
use crate::verdict::Check;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Pods,
    Disks,
    Ingestion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSort {
    Component,
    Restarts,
    Age,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub pane: Pane,
    pub selected: usize,
    pub filter: String,
    pub sort: PodSort,
    /// The pod whose details are open.
    pub detail: Option<String>,
    pub logs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardStep {
    Profile,
    Questions,
    Review,
    Plan,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub question: Question,
    pub input: String,
    pub error: Option<String>,
}

/// One line of the values review: the value and the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewLine {
    pub path: String,
    pub value: String,
    pub layer: String,
}

#[derive(Debug, Clone, Default)]
pub struct PlanView {
    pub running: bool,
    pub checks: Vec<Check>,
    pub changes: Vec<ValueChange>,
    pub manifest: Vec<deploy::KindDiff>,
    pub notes: Vec<String>,
    pub outcome: Option<Outcome>,
    /// The plan to apply once the user confirms.
    pub ticket: Option<Box<PlanTicket>>,
}

#[derive(Debug, Clone)]
pub struct Wizard {
    pub action: deploy::Action,
    pub step: WizardStep,
    pub profile: usize,
    pub fields: Vec<Field>,
    pub field: usize,
    pub review: Vec<ReviewLine>,
    pub review_error: Option<String>,
    pub plan: PlanView,
    pub scroll: usize,
    /// The release's current values (upgrades start from them).
    pub current: Map<String, Value>,
    pub overrides: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RunView {
    pub title: String,
    pub steps: Vec<(Step, StepState, String)>,
    pub helm: VecDeque<String>,
    pub pods: (usize, usize),
    pub jobs: (usize, usize),
    pub started: SystemTime,
    pub finished: Option<SystemTime>,
    pub outcome: Option<Outcome>,
    /// helm's pid and output file once it runs: it outlives the app if the user leaves.
    pub helm_process: Option<(u32, String)>,
    /// The worst pod problem seen while helm waited, with its events and log tail: what a
    /// failure is shown with, even after the rollback removed the pod.
    pub problem: Option<RunProblem>,
}

#[derive(Debug, Clone, Default)]
pub struct RunProblem {
    pub pod: String,
    pub finding: String,
    pub next_step: String,
    pub events: Vec<String>,
    pub logs: Vec<String>,
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
}

/// Choosing the revision a rollback goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPicker {
    pub release: String,
    pub namespace: String,
    pub revisions: Vec<ReleaseInfo>,
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Revisions(RevisionPicker),
    Confirm(Confirm),
    Command(String),
    Filter(String),
}

/// What the runtime should do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Preflight, render and diff, nothing applied.
    Plan(Box<deploy::Intent>),
    /// Apply exactly the plan the user saw.
    Apply(Box<PlanTicket>),
    Rollback {
        release: String,
        namespace: String,
        revision: Option<u64>,
    },
    SwitchNamespace(String),
    SwitchContext(String),
    RefreshReleases,
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
}

/// A plan the runtime computed and keeps the request for: applying it applies these values,
/// against the revision it was computed for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTicket {
    pub id: u64,
    pub plan: deploy::Plan,
}

/// Messages from the terminal and the background tasks.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Tick(SystemTime),
    Snapshot(Box<Snapshot>, Connection),
    Releases(Result<Vec<ReleaseInfo>, String>),
    Probe(Box<ProbeRecord>),
    Engine(deploy::Event),
    PlanDone(Result<Box<PlanTicket>, Outcome>),
    ApplyDone(Outcome),
    Logs(String, Vec<String>),
    Edited,
    /// The helm version found, or how to get helm.
    Helm(Result<String, String>),
    /// A release's revisions, oldest first.
    History(String, String, Result<Vec<ReleaseInfo>, String>),
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
}

const PROBE_HISTORY: usize = 60;
const HELM_LINES: usize = 200;

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
                detail: None,
                logs: Vec::new(),
            },
            wizard: None,
            run: None,
            message: None,
            now,
            quit: false,
            quit_when_done: false,
            probe_profile: None,
            farewell: None,
        }
    }

    /// The profile whose rules judge the dashboard, by the rule `check` uses: `--profile`, else
    /// the release's `cloud` value.
    pub fn dashboard_profile(&self) -> Option<&Profile> {
        let from_release = self
            .releases
            .iter()
            .find(|r| r.name == self.opts.release && r.namespace == self.opts.namespace);
        crate::profile::judging_profile(
            &self.profiles,
            self.opts.profile.as_deref(),
            from_release.map(|r| (r.name.as_str(), &r.user_values)),
        )
        .0
    }

    /// While an operation runs, remembers the worst pod problem (and asks for its logs once).
    fn note_run_problem(&mut self) -> Vec<Effect> {
        let Some(r) = self.run.as_mut().filter(|r| r.outcome.is_none()) else {
            return Vec::new();
        };
        let Some(f) = self.pods.findings.iter().find(|f| {
            f.subject.starts_with("pod ") && f.severity >= crate::health::Severity::Error
        }) else {
            return Vec::new();
        };
        let pod = f.subject.trim_start_matches("pod ").to_string();
        let events = self
            .snapshot
            .events
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(&pod))
            .rev()
            .take(5)
            .map(|e| {
                format!(
                    "{} {}: {}",
                    e.type_.clone().unwrap_or_default(),
                    e.reason.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                )
            })
            .collect();
        let new_pod = r.problem.as_ref().is_none_or(|p| p.pod != pod);
        let logs = r
            .problem
            .as_ref()
            .filter(|p| p.pod == pod)
            .map(|p| p.logs.clone())
            .unwrap_or_default();
        r.problem = Some(RunProblem {
            pod: pod.clone(),
            finding: f.message.clone(),
            next_step: f.next_step.clone(),
            events,
            logs,
        });
        if new_pod {
            vec![Effect::Logs {
                namespace: self.opts.namespace.clone(),
                pod,
            }]
        } else {
            Vec::new()
        }
    }

    /// Recomputes the pane rows from the snapshot.
    pub fn derive(&mut self) {
        self.pods = crate::health::pods_report(&self.snapshot, Some(&self.opts.release), self.now);
        let rule = self
            .dashboard_profile()
            .map(|p| p.storage.encryption)
            .unwrap_or(crate::profile::EncryptionRule::NotRequired);
        self.disks = crate::health::disks_report(&self.snapshot, rule);
    }

    pub fn ctx(&self) -> Ctx {
        match self.screen {
            Screen::Home => Ctx::Home,
            Screen::Wizard => Ctx::Wizard,
            Screen::Run => Ctx::Run,
            Screen::Dashboard => Ctx::Dashboard,
        }
    }

    /// An install, upgrade, plan or rollback is under way.
    pub fn busy(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.outcome.is_none())
            || self.wizard.as_ref().is_some_and(|w| w.plan.running)
    }

    pub fn selected_release(&self) -> Option<&ReleaseInfo> {
        self.releases.get(self.release_sel)
    }

    /// Handles one message; returns what the runtime must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Tick(now) => {
                self.now = now;
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
            Msg::ApplyDone(o) => {
                if let Some(r) = self.run.as_mut() {
                    r.outcome = Some(o);
                    r.finished = Some(self.now);
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
            Msg::Edited => {
                self.refresh_review();
                Vec::new()
            }
            Msg::Helm(h) => {
                self.opts.helm = h;
                Vec::new()
            }
            Msg::History(release, namespace, r) => {
                match r {
                    Ok(revisions) if revisions.len() > 1 => {
                        let hist: Vec<crate::helm::driver::HistoryEntry> = revisions
                            .iter()
                            .map(|r| crate::helm::driver::HistoryEntry {
                                revision: r.revision,
                                updated: r.updated.clone(),
                                status: r.status.clone(),
                                chart: r.chart.clone(),
                                app_version: r.app_version.clone(),
                                description: String::new(),
                            })
                            .collect();
                        let target = deploy::default_rollback_target(&hist);
                        let selected = target
                            .and_then(|t| revisions.iter().position(|r| r.revision == t))
                            .unwrap_or(0);
                        self.overlay = Some(Overlay::Revisions(RevisionPicker {
                            release,
                            namespace,
                            revisions,
                            selected,
                        }));
                    }
                    Ok(_) => {
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

    fn engine_event(&mut self, e: deploy::Event) {
        use deploy::Event as E;
        if let Some(w) = self.wizard.as_mut()
            && w.plan.running
        {
            match &e {
                E::Check(c) => w.plan.checks.push(c.clone()),
                E::ValuesDiff { changes } => w.plan.changes = changes.clone(),
                E::ManifestDiff { kinds } => w.plan.manifest = kinds.clone(),
                E::Notice { message } => w.plan.notes.push(message.clone()),
                _ => {}
            }
            return;
        }
        let Some(r) = self.run.as_mut() else { return };
        match e {
            E::Step {
                step,
                state,
                detail,
            } => match r.steps.iter_mut().find(|s| s.0 == step) {
                Some(s) => {
                    s.1 = state;
                    if !detail.is_empty() {
                        s.2 = detail;
                    }
                }
                None => r.steps.push((step, state, detail)),
            },
            E::HelmOutput { line } => {
                r.helm.push_back(line);
                while r.helm.len() > HELM_LINES {
                    r.helm.pop_front();
                }
            }
            E::Progress {
                pods_ready,
                pods_expected,
                jobs_done,
                jobs_expected,
            } => {
                r.pods = (pods_ready, pods_expected);
                r.jobs = (jobs_done, jobs_expected);
            }
            E::Check(c) => r.helm.push_back(format!("[{:?}] {}", c.verdict, c.message)),
            E::ValuesDiff { changes } => r
                .helm
                .push_back(format!("{} value(s) change", changes.len())),
            E::Notice { message } => r.helm.push_back(message),
            E::HelmStarted { pid, log } => {
                r.helm.push_back(format!("helm started (pid {pid})"));
                r.helm_process = Some((pid, log));
            }
            E::ManifestDiff { kinds } => r
                .helm
                .push_back(format!("{} kind(s) of objects change", kinds.len())),
        }
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
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
        let Some(action) = keymap::action_for(&k, self.ctx(), self.opts.readonly) else {
            return Vec::new();
        };
        self.action(action)
    }

    fn overlay_key(&mut self, o: Overlay, k: KeyEvent) -> Vec<Effect> {
        match o {
            Overlay::Help => {
                if matches!(
                    k.code,
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
                ) {
                    self.overlay = None;
                }
                Vec::new()
            }
            Overlay::Revisions(mut p) => {
                match k.code {
                    KeyCode::Esc => self.overlay = None,
                    KeyCode::Char('j') | KeyCode::Down => {
                        p.selected = (p.selected + 1).min(p.revisions.len().saturating_sub(1));
                        self.overlay = Some(Overlay::Revisions(p));
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        p.selected = p.selected.saturating_sub(1);
                        self.overlay = Some(Overlay::Revisions(p));
                    }
                    KeyCode::Enter => {
                        let revision = p.revisions.get(p.selected).map(|r| r.revision);
                        let current = p.revisions.last().map(|r| r.revision);
                        if revision == current {
                            self.message =
                                Some("that is the current revision: pick an earlier one".into());
                            self.overlay = Some(Overlay::Revisions(p));
                        } else {
                            self.overlay = Some(Overlay::Confirm(Confirm::Rollback {
                                release: p.release,
                                namespace: p.namespace,
                                revision,
                            }));
                        }
                    }
                    _ => self.overlay = Some(Overlay::Revisions(p)),
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
                            self.dash.filter.clear();
                        }
                        Vec::new()
                    }
                    KeyCode::Enter => {
                        self.overlay = None;
                        if filter {
                            self.dash.filter = text;
                            self.dash.selected = 0;
                            Vec::new()
                        } else {
                            self.command(&text)
                        }
                    }
                    KeyCode::Backspace => {
                        text.pop();
                        self.set_text_overlay(filter, text);
                        Vec::new()
                    }
                    KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                        text.push(c);
                        self.set_text_overlay(filter, text);
                        Vec::new()
                    }
                    _ => Vec::new(),
                }
            }
        }
    }

    fn set_text_overlay(&mut self, filter: bool, text: String) {
        if filter {
            self.dash.filter = text.clone();
            self.dash.selected = 0;
            self.overlay = Some(Overlay::Filter(text));
        } else {
            self.overlay = Some(Overlay::Command(text));
        }
    }

    /// `:` commands, as k9s has them.
    pub fn command(&mut self, text: &str) -> Vec<Effect> {
        let mut parts = text.split_whitespace();
        let cmd = parts.next().unwrap_or_default();
        let arg = parts.next();
        match (cmd, arg) {
            ("q" | "quit" | "q!", _) => self.action(Action::Quit),
            ("ns" | "namespace", Some(ns)) => {
                self.opts.namespace = ns.to_string();
                self.snapshot = Snapshot::default();
                self.probes.clear();
                vec![Effect::SwitchNamespace(ns.to_string())]
            }
            ("ctx" | "context", Some(c)) => {
                self.opts.context = c.to_string();
                self.snapshot = Snapshot::default();
                self.releases.clear();
                vec![Effect::SwitchContext(c.to_string())]
            }
            ("pods" | "po", _) => self.open_dashboard(Pane::Pods),
            ("disks" | "pvc", _) => self.open_dashboard(Pane::Disks),
            ("ingestion", _) => self.open_dashboard(Pane::Ingestion),
            ("home" | "releases", _) => {
                self.screen = Screen::Home;
                Vec::new()
            }
            ("help", _) => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            _ => {
                self.message = Some(format!(
                    "unknown command :{text} — try :ns NAME, :ctx NAME, :pods, :disks, :ingestion, :home, :q"
                ));
                Vec::new()
            }
        }
    }

    fn open_dashboard(&mut self, pane: Pane) -> Vec<Effect> {
        if let Some(r) = self.selected_release().cloned()
            && r.namespace != self.opts.namespace
        {
            self.opts.release = r.name.clone();
            self.opts.namespace = r.namespace.clone();
            self.screen = Screen::Dashboard;
            self.dash.pane = pane;
            return vec![Effect::SwitchNamespace(r.namespace)];
        }
        if let Some(r) = self.selected_release() {
            self.opts.release = r.name.clone();
        }
        self.screen = Screen::Dashboard;
        self.dash.pane = pane;
        self.dash.selected = 0;
        vec![Effect::ProbeNow]
    }

    fn action(&mut self, a: Action) -> Vec<Effect> {
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
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command(String::new()));
                Vec::new()
            }
            Action::Filter => {
                self.overlay = Some(Overlay::Filter(self.dash.filter.clone()));
                Vec::new()
            }
            Action::Back => self.back(),
            Action::Up | Action::Down | Action::Top | Action::Bottom => {
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
                    PodSort::Age => PodSort::Component,
                };
                Vec::new()
            }
            Action::Enter => self.enter(),
            Action::Edit => match self.wizard.as_mut() {
                Some(w) if w.step == WizardStep::Review => {
                    let path = w.overrides.clone().unwrap_or_else(|| {
                        crate::dirs::data_dir()
                            .unwrap_or_else(std::env::temp_dir)
                            .join("drafts")
                            .join(format!("{}-overrides.yaml", self.opts.release))
                    });
                    w.overrides = Some(path.clone());
                    vec![Effect::Edit(path)]
                }
                _ => Vec::new(),
            },
        }
    }

    fn back(&mut self) -> Vec<Effect> {
        match self.screen {
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
                w.step = match w.step {
                    WizardStep::Profile => {
                        self.wizard = None;
                        self.screen = Screen::Home;
                        return Vec::new();
                    }
                    WizardStep::Questions if w.action == deploy::Action::Upgrade => {
                        self.wizard = None;
                        self.screen = Screen::Home;
                        return Vec::new();
                    }
                    WizardStep::Questions => WizardStep::Profile,
                    WizardStep::Review => WizardStep::Questions,
                    WizardStep::Plan => WizardStep::Review,
                };
                w.scroll = 0;
            }
            Screen::Run if !self.busy() => {
                self.run = None;
                self.screen = Screen::Home;
            }
            Screen::Dashboard => self.screen = Screen::Home,
            _ => {}
        }
        Vec::new()
    }

    fn list_len(&self) -> usize {
        match self.screen {
            Screen::Home => self.releases.len(),
            Screen::Dashboard => match self.dash.pane {
                Pane::Pods => super::view::visible_pods(self).len(),
                Pane::Disks => self.disks.len(),
                Pane::Ingestion => 0,
            },
            Screen::Wizard => match self.wizard.as_ref().map(|w| w.step) {
                Some(WizardStep::Profile) => self.profiles.len(),
                Some(WizardStep::Questions) => self.wizard.as_ref().map_or(0, |w| w.fields.len()),
                Some(WizardStep::Review) => self.wizard.as_ref().map_or(0, |w| w.review.len()),
                Some(WizardStep::Plan) => self
                    .wizard
                    .as_ref()
                    .map_or(0, |w| w.plan.checks.len() + w.plan.changes.len()),
                None => 0,
            },
            Screen::Run => 0,
        }
    }

    fn move_selection(&mut self, a: Action) {
        let len = self.list_len();
        let sel: &mut usize = match self.screen {
            Screen::Home => &mut self.release_sel,
            Screen::Dashboard => &mut self.dash.selected,
            Screen::Wizard => match self.wizard.as_mut() {
                Some(w) => match w.step {
                    WizardStep::Profile => &mut w.profile,
                    WizardStep::Questions => &mut w.field,
                    _ => &mut w.scroll,
                },
                None => return,
            },
            Screen::Run => return,
        };
        let last = len.saturating_sub(1);
        *sel = match a {
            Action::Up => sel.saturating_sub(1),
            Action::Down => (*sel + 1).min(last),
            Action::Top => 0,
            _ => last,
        };
    }

    fn start_wizard(&mut self, action: deploy::Action) -> Vec<Effect> {
        if let Err(how) = &self.opts.helm {
            self.message = Some(format!("helm is needed to install or upgrade: {how}"));
            return Vec::new();
        }
        let (current, profile) = match action {
            deploy::Action::Upgrade => {
                let Some(r) = self.selected_release().cloned() else {
                    self.message = Some("no release selected to upgrade".into());
                    return Vec::new();
                };
                self.opts.release = r.name.clone();
                self.opts.namespace = r.namespace.clone();
                let name = crate::cluster::releases::profile_for_cloud(&r.user_values)
                    .map(str::to_string)
                    .or(self.opts.profile.clone());
                (r.user_values.clone(), name)
            }
            _ => (Map::new(), self.opts.profile.clone()),
        };
        let idx = profile
            .and_then(|n| self.profiles.iter().position(|p| p.name == n))
            .unwrap_or(0);
        let mut w = Wizard {
            action,
            step: WizardStep::Profile,
            profile: idx,
            fields: Vec::new(),
            field: 0,
            review: Vec::new(),
            review_error: None,
            plan: PlanView::default(),
            scroll: 0,
            current,
            overrides: None,
        };
        if action == deploy::Action::Upgrade {
            w.fields = fields_for(&self.profiles[idx], &w.current);
            w.step = WizardStep::Questions;
        }
        self.wizard = Some(w);
        self.screen = Screen::Wizard;
        Vec::new()
    }

    /// Typing into the focused question; None when the key is not for the field.
    fn field_key(&mut self, k: &KeyEvent) -> Option<Vec<Effect>> {
        let w = self.wizard.as_mut()?;
        let f = w.fields.get_mut(w.field)?;
        match k.code {
            KeyCode::Char(c)
                if !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    && c != '?' =>
            {
                f.input.push(c);
                f.error = None;
                Some(Vec::new())
            }
            KeyCode::Backspace => {
                f.input.pop();
                f.error = None;
                Some(Vec::new())
            }
            _ => None,
        }
    }

    fn enter(&mut self) -> Vec<Effect> {
        match self.screen {
            Screen::Home => self.open_dashboard(Pane::Pods),
            Screen::Dashboard => {
                if self.dash.pane == Pane::Pods {
                    let pods = super::view::visible_pods(self);
                    if let Some(p) = pods.get(self.dash.selected) {
                        let (ns, name) = (p.namespace.clone(), p.name.clone());
                        self.dash.detail = Some(name.clone());
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

    fn wizard_next(&mut self) -> Vec<Effect> {
        let Some(w) = self.wizard.as_mut() else {
            return Vec::new();
        };
        match w.step {
            WizardStep::Profile => {
                let Some(p) = self.profiles.get(w.profile) else {
                    return Vec::new();
                };
                w.fields = fields_for(p, &w.current);
                w.field = 0;
                w.step = WizardStep::Questions;
                Vec::new()
            }
            WizardStep::Questions => {
                let mut ok = true;
                for f in w.fields.iter_mut() {
                    f.error = validate_field(f).err();
                    ok &= f.error.is_none();
                }
                if !ok {
                    w.field = w.fields.iter().position(|f| f.error.is_some()).unwrap_or(0);
                    return Vec::new();
                }
                w.step = WizardStep::Review;
                w.scroll = 0;
                self.refresh_review();
                Vec::new()
            }
            WizardStep::Review => {
                if w.review_error.is_some() {
                    return Vec::new();
                }
                w.step = WizardStep::Plan;
                w.scroll = 0;
                w.plan = PlanView {
                    running: true,
                    ..Default::default()
                };
                let action = w.action;
                let intent = self.intent(action);
                intent
                    .map(|i| Effect::Plan(Box::new(i)))
                    .into_iter()
                    .collect()
            }
            WizardStep::Plan => {
                let blocked = w.plan.running || w.plan.ticket.is_none();
                if blocked {
                    self.message = Some(
                        "preflight must pass before applying: fix what failed, then esc and enter again"
                            .into(),
                    );
                    return Vec::new();
                }
                self.overlay = Some(Overlay::Confirm(Confirm::Apply));
                Vec::new()
            }
        }
    }

    fn answers(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(w) = &self.wizard {
            for f in &w.fields {
                if let Ok(v) = validate_field(f)
                    && !v.is_null()
                {
                    m.insert(f.question.path.clone(), v);
                }
            }
        }
        m
    }

    /// The wizard's choices as the intent the engine resolves (the runtime names the cluster).
    pub fn intent(&self, action: deploy::Action) -> Option<deploy::Intent> {
        let w = self.wizard.as_ref()?;
        let p = self.profiles.get(w.profile)?;
        let mut intent = deploy::Intent::new(
            action,
            &self.opts.release,
            &self.opts.namespace,
            Default::default(),
        );
        intent.values = deploy::ValuesIntent {
            profile: Some(p.name.clone()),
            answers: Some(deploy::Answers {
                origin: "the wizard".into(),
                given: self.answers(),
            }),
            values_files: w
                .overrides
                .iter()
                .filter(|p| p.is_file())
                .cloned()
                .collect(),
            helm_major: Some(self.helm_major()),
            ..Default::default()
        };
        Some(intent)
    }

    /// The major of the helm that will apply (the values merge follows it); Helm 4 until found.
    pub fn helm_major(&self) -> crate::values::HelmMajor {
        match &self.opts.helm {
            Ok(v) if v.trim_start_matches('v').starts_with("3.") => crate::values::HelmMajor::V3,
            _ => crate::values::HelmMajor::V4,
        }
    }

    /// Renders the values the wizard would apply, with each leaf's layer: the same resolution
    /// (profile's chart, helm's major, every layer) the plan and the apply use.
    pub fn refresh_review(&mut self) {
        let intent = self.intent(deploy::Action::Install);
        let profile = self
            .wizard
            .as_ref()
            .and_then(|w| self.profiles.get(w.profile))
            .cloned();
        let Some(w) = self.wizard.as_mut() else {
            return;
        };
        let Some(intent) = intent else {
            w.review_error = Some("no profile chosen".into());
            return;
        };
        let resolved = match intent.values.resolve_with(profile) {
            Ok(r) => r,
            Err(e) => {
                w.review_error = Some(e);
                return;
            }
        };
        let mut req = resolved.request;
        req.previous = (!w.current.is_empty()).then(|| UserLayer {
            source: LayerSource::Release {
                name: self.opts.release.clone(),
                revision: 0,
            },
            values: w.current.clone(),
        });
        match req.render(&resolved.chart) {
            Ok(r) => {
                let shown = values::redact::redact(&r.values);
                let mut lines = Vec::new();
                values::for_each_leaf(&shown, &mut |path, v| {
                    let layer = r
                        .provenance
                        .get(path)
                        .map(|p| r.layers[p.layer].label())
                        .unwrap_or_else(|| "chart".into());
                    lines.push(ReviewLine {
                        path: path.to_string(),
                        value: match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                        layer,
                    });
                });
                w.review = lines;
                w.review_error = None;
            }
            Err(e) => w.review_error = Some(e.to_string()),
        }
    }

    /// What to tell the user who leaves helm running: its pid, its output and how to follow it.
    fn left_running_note(&self) -> String {
        let (release, namespace) = (&self.opts.release, &self.opts.namespace);
        let process = self
            .run
            .as_ref()
            .and_then(|r| r.helm_process.as_ref())
            .map(|(pid, log)| format!(" (pid {pid}; its errors go to {log})"))
            .unwrap_or_default();
        format!(
            "helm keeps running{process}.\nFollow it: helmdeck status --release {release} -n {namespace}"
        )
    }

    fn confirmed(&mut self, c: Confirm) -> Vec<Effect> {
        match c {
            Confirm::QuitWhileRunning => {
                self.quit = true;
                self.farewell = Some(self.left_running_note());
                vec![Effect::Quit]
            }
            Confirm::Apply => {
                let Some(ticket) = self.wizard.as_mut().and_then(|w| w.plan.ticket.take()) else {
                    return Vec::new();
                };
                let plan = &ticket.plan;
                self.run = Some(RunView {
                    title: format!(
                        "{} {} in {} (profile {})",
                        if plan.action == deploy::Action::Upgrade {
                            "upgrading"
                        } else {
                            "installing"
                        },
                        plan.release,
                        plan.namespace,
                        plan.profile.as_deref().unwrap_or("none")
                    ),
                    steps: Vec::new(),
                    helm: VecDeque::new(),
                    pods: (0, 0),
                    jobs: (0, 0),
                    started: self.now,
                    finished: None,
                    outcome: None,
                    helm_process: None,
                    problem: None,
                });
                self.wizard = None;
                self.screen = Screen::Run;
                vec![Effect::Apply(ticket)]
            }
            Confirm::Rollback {
                release,
                namespace,
                revision,
            } => {
                if let Err(how) = &self.opts.helm {
                    self.message = Some(format!("helm is needed to roll back: {how}"));
                    return Vec::new();
                }
                self.run = Some(RunView {
                    title: format!("rolling back {release} in {namespace}"),
                    steps: Vec::new(),
                    helm: VecDeque::new(),
                    pods: (0, 0),
                    jobs: (0, 0),
                    started: self.now,
                    finished: None,
                    outcome: None,
                    helm_process: None,
                    problem: None,
                });
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

/// The wizard's fields for a profile, prefilled from current values, else the defaults.
fn fields_for(p: &Profile, current: &Map<String, Value>) -> Vec<Field> {
    p.questions
        .iter()
        .map(|q| {
            let v = values::get_path(current, &q.path).or(q.default.as_ref());
            Field {
                question: q.clone(),
                input: match v {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                },
                error: None,
            }
        })
        .collect()
}

/// A field's typed answer, by the profile's validation rule.
pub fn validate_field(f: &Field) -> Result<Value, String> {
    let text = f.input.trim();
    if text.is_empty() {
        return if f.question.required {
            Err("an answer is required".into())
        } else {
            Ok(Value::Null)
        };
    }
    crate::profile::validate_answer(&f.question, &Value::String(text.to_string()))
}
