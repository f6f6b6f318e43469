//! The install wizard and the upgrade walkthrough: profile → questions → values review →
//! preflight and diff → confirm; an upgrade of a repository's chart starts with the version
//! picker and the notes of each stop on the way, every manual step acknowledged. A campaign
//! with several stops comes back to its walkthrough for each later stop.

mod draw;
mod notes;
mod plan;
mod profile;
mod questions;
mod review;
mod version;

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use serde_json::{Map, Value};

use super::{Confirm, Screen, Step, step};
use crate::cluster::releases::ReleaseInfo;
use crate::deploy::{self, Outcome, ValueChange};
use crate::profile::Question;
use crate::tui::keymap::{Action, Ctx};
use crate::tui::line_edit::LineEdit;
use crate::tui::messages::{
    AckRequest, Effect, Msg, PlanTicket, Reply, Review, ReviewJob, ReviewLine,
};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::verdict::{Check, Verdict};
pub use questions::validate_field;
pub use review::review;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardStep {
    /// Upgrades of a repository's chart: the target version, from the repository's index.
    Version,
    /// The path to it: stops, notes, and the steps to acknowledge.
    Notes,
    Profile,
    Questions,
    Review,
    Plan,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub question: Question,
    pub input: LineEdit,
    pub error: Option<String>,
    /// Where the answer is stored instead of the values: a Secret's key in the release's
    /// namespace (the personal API key). Never shown, drafted or logged.
    pub secret: Option<crate::profile::SecretKeyRef>,
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
    /// The release's chart version and app version (upgrades).
    pub from: (String, String),
    /// The repository's versions (none while they load) and the cluster's Kubernetes.
    pub versions: Option<Result<crate::chart::repo::Listing, String>>,
    pub server: Option<String>,
    pub version_sel: usize,
    /// The way to the chosen version; the walkthrough applies its first stop.
    pub path: Option<crate::chart::upgrade_path::UpgradePath>,
    /// A stop the user left out of the way, and why (`:skip-stop`).
    pub skip: Option<deploy::SkipStop>,
    /// The notes' steps a person must confirm having done, and whether they have.
    pub acks: Vec<(String, bool)>,
    /// The chart the review rendered, as shown (the stand-in says it is one).
    pub chart_label: String,
    /// The user asked helmdeck to grow the disks the upgrade's StatefulSets need.
    pub resize_disks: bool,
    /// The values review's `/` filter (on keys and values).
    pub filter: String,
    /// The review being rendered off the UI thread (its id): the chart may be fetched from
    /// its repository first. Only the newest one's answer is shown.
    pub review_pending: Option<u64>,
    /// The campaign's stop this walkthrough is at, once it runs (several: the later stops
    /// come back here to be acknowledged, planned and confirmed).
    pub stop: Option<deploy::StopAt>,
    /// The campaign waits for the Notes step's acknowledgements (a later stop).
    pub ack_reply: Option<Reply>,
}

impl Wizard {
    /// The review's rows the filter keeps.
    pub fn review_rows(&self) -> Vec<&ReviewLine> {
        let f = self.filter.to_lowercase();
        self.review
            .iter()
            .filter(|l| {
                f.is_empty()
                    || l.path.to_lowercase().contains(&f)
                    || l.value.to_lowercase().contains(&f)
                    || l.layer.to_lowercase().contains(&f)
            })
            .collect()
    }
}

impl Wizard {
    /// The plan was refused because StatefulSets' claim templates change: the guided resize
    /// can carry the upgrade out instead.
    pub fn resize_offered(&self) -> bool {
        !self.plan.running
            && !self.resize_disks
            && self.plan.checks.iter().any(|c| {
                c.id == "immutable-fields"
                    && c.verdict == Verdict::Fail
                    && c.fix.contains("--resize-disks")
            })
    }
}

/// The walkthrough shown, and the one a campaign with stops left comes back to.
#[derive(Debug, Default)]
pub struct Walkthrough {
    pub current: Option<Wizard>,
    /// The walkthrough of a campaign with stops left, kept while a stop applies: the next
    /// stop reopens it.
    pub next_stop: Option<Wizard>,
    /// The last values review asked for (answers to older ones are dropped).
    next_review: u64,
    /// The version each release's walkthrough last set out for (by namespace and release):
    /// `u` opens the version picker on it again.
    targets: std::collections::HashMap<(String, String), String>,
}

impl Walkthrough {
    /// `:skip-stop VERSION REASON`: leaves a stop out of the walkthrough's way, as the CLI's
    /// `--skip-stop … --reason …` does (the campaign records the reason); what to say back.
    pub fn skip_stop(&mut self, version: Option<String>, reason: String) -> String {
        let Some(w) = self.current.as_mut().filter(|w| w.path.is_some()) else {
            return "no upgrade way to skip a stop of: :skip-stop works in an upgrade walkthrough, once a version is chosen".into();
        };
        let (Some(version), false) = (version, reason.trim().is_empty()) else {
            return "name the stop and why: :skip-stop VERSION REASON (the reason goes in the audit log)".into();
        };
        let Some(path) = w.path.as_mut() else {
            return String::new();
        };
        match path.skip(&version, reason.trim()) {
            Ok(()) => {
                // The first stop's steps may be the skipped one's now.
                w.acks = path
                    .manual_steps(0)
                    .into_iter()
                    .map(|a| (a, false))
                    .collect();
                w.skip = Some(deploy::SkipStop {
                    version: version.clone(),
                    reason: reason.trim().to_string(),
                });
                w.scroll = 0;
                format!(
                    "chart {version} left out of the way at your request; its notes go with the next stop"
                )
            }
            Err(e) => e.to_string(),
        }
    }

    /// The engine plans the walkthrough's stop: its events go to the plan view.
    pub fn planning(&self) -> bool {
        self.current.as_ref().is_some_and(|w| w.plan.running)
    }

    /// A campaign runs and waits on this walkthrough.
    pub fn in_campaign(&self) -> bool {
        self.current.as_ref().is_some_and(|w| w.stop.is_some())
    }

    /// Opens the wizard for `action`; an upgrade starts from `release` (its values, profile
    /// and chart), and from the version picker when its chart comes from a repository.
    pub fn start(
        &mut self,
        action: deploy::Action,
        release: Option<&ReleaseInfo>,
        s: &Session,
    ) -> Vec<Effect> {
        let (current, profile) = match release.filter(|_| action == deploy::Action::Upgrade) {
            Some(r) => {
                let name = crate::cluster::releases::profile_for_cloud(&r.user_values)
                    .map(str::to_string)
                    .or(s.opts.profile.clone());
                (r.user_values.clone(), name)
            }
            None => (Map::new(), s.opts.profile.clone()),
        };
        let idx = profile
            .and_then(|n| s.profiles.iter().position(|p| p.name == n))
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
            from: Default::default(),
            versions: None,
            server: None,
            version_sel: 0,
            path: None,
            skip: None,
            acks: Vec::new(),
            chart_label: String::new(),
            resize_disks: false,
            filter: String::new(),
            review_pending: None,
            stop: None,
            ack_reply: None,
        };
        let mut effects = Vec::new();
        if action == deploy::Action::Upgrade {
            if let Some(p) = s.profiles.get(idx) {
                w.fields = questions::fields_for(p, &w.current);
            }
            w.step = WizardStep::Questions;
            if let Some(r) = release {
                w.from = (r.chart_version.clone(), r.app_version.clone());
            }
            // A repository's chart: pick the version first.
            if let Some((repo, chart)) = upgrade_source(idx, s) {
                w.step = WizardStep::Version;
                effects.push(Effect::Versions { repo, chart });
            }
        }
        self.current = Some(w);
        effects
    }

    /// The campaign plans stop `at`. A later stop reopens the walkthrough at its Plan step:
    /// true when it did (the app shows it).
    pub fn stop_planned(&mut self, at: deploy::StopAt) -> bool {
        if at.index == 0 {
            if let Some(w) = self.current.as_mut() {
                w.stop = Some(at);
            }
            return false;
        }
        let Some(mut w) = self.current.take().or_else(|| self.next_stop.take()) else {
            return false;
        };
        w.step = WizardStep::Plan;
        w.scroll = 0;
        w.plan = PlanView {
            running: true,
            ..Default::default()
        };
        w.stop = Some(at);
        self.current = Some(w);
        true
    }

    /// The campaign asks for a stop's manual steps: the ones the walkthrough already had
    /// acknowledged are answered at once (no effect reopens it: the bool is false), others
    /// reopen its Notes step (true).
    pub fn asked(&mut self, req: AckRequest) -> (Vec<Effect>, bool) {
        let Some(mut w) = self.current.take().or_else(|| self.next_stop.take()) else {
            return (Vec::new(), false);
        };
        let done = |s: &String| w.acks.iter().any(|(a, yes)| *yes && a == s);
        if req.steps.iter().all(done) {
            self.current = Some(w);
            return (vec![Effect::Answer(req.reply, deploy::Answer::Yes)], false);
        }
        w.acks = req.steps.iter().map(|s| (s.clone(), false)).collect();
        w.ack_reply = Some(req.reply);
        w.step = WizardStep::Notes;
        w.scroll = 0;
        w.stop = Some(req.stop);
        self.current = Some(w);
        (Vec::new(), true)
    }

    /// The stop the walkthrough is at, as said to the user.
    pub fn stop_label(&self) -> String {
        self.current
            .as_ref()
            .and_then(|w| w.stop.as_ref())
            .map(deploy::StopAt::label)
            .unwrap_or_default()
    }

    /// What confirming the plan asks: what it changes, from what to what, at which stop.
    pub fn confirm_apply(&self) -> Option<Confirm> {
        let ticket = self.current.as_ref()?.plan.ticket.as_ref()?;
        Some(Confirm::Apply {
            question: ticket.plan.question(&ticket.stop),
        })
    }

    /// The user confirmed the plan: its ticket, the walkthrough kept when stops are left.
    pub fn apply(&mut self) -> Option<Box<PlanTicket>> {
        let ticket = self.current.as_mut()?.plan.ticket.take()?;
        let walkthrough = self.current.take();
        if ticket.stop.index + 1 < ticket.stop.total {
            self.next_stop = walkthrough;
        }
        Some(ticket)
    }

    /// A stop did not apply: no later stop comes back to its walkthrough.
    pub fn campaign_ended(&mut self) {
        self.next_stop = None;
    }

    /// Pasted text goes into the focused question.
    pub fn paste(&mut self, text: &str) {
        if let Some(w) = self.current.as_mut()
            && w.step == WizardStep::Questions
        {
            w.paste(text);
        }
    }

    /// Asks for the values the wizard would apply, with each leaf's layer: the same
    /// resolution (profile's chart, helm's major, every layer) the plan and the apply use.
    /// Rendering may fetch the chart, so it runs off the UI thread; [`review`] does it and
    /// `Msg::Reviewed` brings the answer.
    pub fn refresh_review(&mut self, s: &Session) -> Vec<Effect> {
        let Some(w) = self.current.as_mut() else {
            return Vec::new();
        };
        let intent = w.intent(deploy::Action::Install, s);
        let profile = s.profiles.get(w.profile).cloned();
        self.next_review += 1;
        let id = self.next_review;
        let Some(mut intent) = intent else {
            w.review_error = Some("no profile chosen".into());
            return Vec::new();
        };
        // The values the first stop applies: its chart's defaults under them.
        if let Some(first) = w.path.as_ref().and_then(|p| p.stops.first()) {
            intent.values.version = Some(first.version.clone());
        }
        w.review_pending = Some(id);
        w.review_error = None;
        vec![Effect::Review(Box::new(ReviewJob {
            id,
            values: intent.values,
            profile,
            release: s.opts.release.clone(),
            current: w.current.clone(),
        }))]
    }

    /// Enter: the next step.
    fn next(&mut self, s: &Session) -> Step {
        let Some(w) = self.current.as_mut() else {
            return Step::default();
        };
        match w.step {
            WizardStep::Version => {
                let step = w.chose_version();
                if let Some(to) = w.path.as_ref().map(|p| p.to.clone()) {
                    let key = (s.opts.namespace.clone(), s.opts.release.clone());
                    self.targets.insert(key, to);
                }
                step
            }
            WizardStep::Notes => {
                if w.acks.iter().any(|a| !a.1) {
                    return Step::say(
                        "confirm each step with space (or a) once it is done, then enter",
                    );
                }
                // A later stop of a running campaign: its plan comes next.
                if let Some(reply) = w.ack_reply.take() {
                    w.step = WizardStep::Plan;
                    w.scroll = 0;
                    w.plan = PlanView {
                        running: true,
                        ..Default::default()
                    };
                    return Step::effect(Effect::Answer(reply, deploy::Answer::Yes));
                }
                w.step = WizardStep::Questions;
                w.field = 0;
                Step::default()
            }
            WizardStep::Profile => {
                if let Some(p) = s.profiles.get(w.profile) {
                    w.fields = questions::fields_for(p, &w.current);
                    w.field = 0;
                    w.step = WizardStep::Questions;
                }
                Step::default()
            }
            WizardStep::Questions => {
                let mut ok = true;
                for f in w.fields.iter_mut() {
                    f.error = validate_field(f).err().map(|e| e.to_string());
                    ok &= f.error.is_none();
                }
                if !ok {
                    w.field = w.fields.iter().position(|f| f.error.is_some()).unwrap_or(0);
                    return Step::default();
                }
                w.step = WizardStep::Review;
                w.scroll = 0;
                Step::effects(self.refresh_review(s))
            }
            WizardStep::Review => {
                if w.review_error.is_some() || w.review_pending.is_some() {
                    return Step::default();
                }
                w.step = WizardStep::Plan;
                w.scroll = 0;
                w.plan = PlanView {
                    running: true,
                    ..Default::default()
                };
                let intent = w.intent(w.action, s);
                Step::effects(
                    intent
                        .map(|i| Effect::Plan(Box::new(i)))
                        .into_iter()
                        .collect(),
                )
            }
            WizardStep::Plan => {
                if w.plan.running || w.plan.ticket.is_none() {
                    return Step::say(
                        "preflight must pass before applying: fix what failed, then esc and enter again",
                    );
                }
                self.confirm_apply().map(Step::confirm).unwrap_or_default()
            }
        }
    }

    /// esc: the step before; leaving from the first.
    fn back(&mut self) -> Step {
        let Some(w) = self.current.as_mut() else {
            return Step::leave();
        };
        if w.plan.running {
            return Step::default();
        }
        // A later stop of a campaign has no earlier step to go back to: leaving ends the
        // campaign there (its question is dropped, which is a no).
        if let Some(at) = w.stop.clone().filter(|at| at.index > 0)
            && matches!(w.step, WizardStep::Notes | WizardStep::Plan)
        {
            self.current = None;
            let mut step = Step::leave();
            step.say = Some(format!(
                "the upgrade stopped before {}: the release stays at the chart of the stop before; i walks on from there",
                at.label()
            ));
            return step;
        }
        w.step = match w.step {
            WizardStep::Profile | WizardStep::Version => {
                self.current = None;
                return Step::leave();
            }
            WizardStep::Notes => WizardStep::Version,
            WizardStep::Questions if w.path.is_some() => WizardStep::Notes,
            WizardStep::Questions if w.action == deploy::Action::Upgrade => {
                self.current = None;
                return Step::leave();
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
        Step::default()
    }

    /// e on the values review: the overrides file, in the drafts of this cluster's scope.
    fn edit(&mut self, s: &Session) -> Option<Step> {
        let w = self
            .current
            .as_mut()
            .filter(|w| w.step == WizardStep::Review)?;
        let path = w.overrides.clone().unwrap_or_else(|| {
            crate::dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("drafts")
                .join(&s.opts.scope)
                .join(format!(
                    "{}-{}-overrides.yaml",
                    s.opts.namespace, s.opts.release
                ))
        });
        w.overrides = Some(path.clone());
        Some(Step::effect(Effect::Edit(path)))
    }

    /// R on a plan refused for the StatefulSets' claims: plan again with the guided resize.
    fn resize(&mut self, s: &Session) -> Option<Step> {
        let w = self
            .current
            .as_mut()
            .filter(|w| w.step == WizardStep::Plan)?;
        if !w.resize_offered() {
            return None;
        }
        w.resize_disks = true;
        w.plan = PlanView {
            running: true,
            ..Default::default()
        };
        let intent = w.intent(w.action, s);
        Some(Step::effects(
            intent
                .map(|i| Effect::Plan(Box::new(i)))
                .into_iter()
                .collect(),
        ))
    }

    /// Rows the selection moves over on the step shown.
    fn list_len(&self, s: &Session) -> usize {
        let Some(w) = self.current.as_ref() else {
            return 0;
        };
        match w.step {
            WizardStep::Profile => s.profiles.len(),
            WizardStep::Version => w
                .versions
                .as_ref()
                .and_then(|v| v.as_ref().ok())
                .map_or(0, |l| l.versions.len()),
            WizardStep::Notes => w.path.as_ref().map_or(0, |p| p.lines().len()) + w.acks.len() + 2,
            WizardStep::Questions => w.fields.len(),
            WizardStep::Review => w.review_rows().len(),
            WizardStep::Plan => plan::plan_len(w),
        }
    }

    fn moves(&mut self, a: Action, s: &Session) {
        let len = self.list_len(s);
        let Some(w) = self.current.as_mut() else {
            return;
        };
        if w.step == WizardStep::Questions {
            w.leave_field();
        }
        let sel = match w.step {
            WizardStep::Profile => &mut w.profile,
            WizardStep::Version => &mut w.version_sel,
            WizardStep::Questions => &mut w.field,
            _ => &mut w.scroll,
        };
        *sel = step(*sel, len, a);
    }
}

impl Wizard {
    /// Leaving a question judges its answer at once (as Enter will), and an emptied one
    /// says which default takes its place rather than applying it unseen.
    fn leave_field(&mut self) {
        let Some(f) = self.fields.get_mut(self.field) else {
            return;
        };
        f.error = match validate_field(f) {
            Err(e) => Some(e.to_string()),
            Ok(Value::Null) => f.question.default.as_ref().map(|d| {
                let d = d.as_str().map_or_else(|| d.to_string(), str::to_string);
                format!("empty: the default {d} applies")
            }),
            Ok(_) => None,
        };
    }
}

impl Wizard {
    /// The answers given, by value path.
    fn answers(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for f in self.fields.iter().filter(|f| f.secret.is_none()) {
            if let Ok(v) = validate_field(f)
                && !v.is_null()
            {
                m.insert(f.question.path.clone(), v);
            }
        }
        m
    }

    /// The wizard's choices as the intent the engine resolves (the runtime names the cluster).
    pub fn intent(&self, action: deploy::Action, s: &Session) -> Option<deploy::Intent> {
        let p = s.profiles.get(self.profile)?;
        let mut intent = deploy::Intent::new(
            action,
            &s.opts.release,
            &s.opts.namespace,
            Default::default(),
        );
        intent.resize_disks = self.resize_disks;
        intent.secrets = self
            .fields
            .iter()
            .filter_map(|f| {
                let text = f.input.text.trim();
                Some((f.secret.clone()?, crate::profile::Hidden(text.to_string())))
                    .filter(|_| !text.is_empty())
            })
            .collect();
        intent.values = deploy::ValuesIntent {
            profile: Some(p.name.clone()),
            answers: Some(deploy::Answers {
                origin: "the wizard".into(),
                given: self.answers(),
            }),
            values_files: self
                .overrides
                .iter()
                .filter(|p| p.is_file())
                .cloned()
                .collect(),
            helm_major: Some(s.helm_major()),
            stand_in: s.opts.simulated,
            // The version chosen: the campaign goes there stop by stop.
            version: self.path.as_ref().map(|p| p.to.clone()),
            ..Default::default()
        };
        intent.skip = self.skip.clone();
        Some(intent)
    }

    /// The answer to a values review; an older review's is dropped.
    fn reviewed(&mut self, id: u64, result: &Result<Review, String>) {
        if self.review_pending != Some(id) {
            return;
        }
        self.review_pending = None;
        match result {
            Ok(r) => {
                self.chart_label = r.chart_label.clone();
                self.review = r.lines.clone();
                self.review_error = None;
            }
            Err(e) => self.review_error = Some(e.clone()),
        }
    }
}

/// The repository and chart an upgrade with profile `idx` comes from; none for the bundled
/// stand-in (the simulated cluster) and local charts.
fn upgrade_source(idx: usize, s: &Session) -> Option<(String, String)> {
    let p = s.profiles.get(idx)?;
    // The simulated cluster runs the bundled stand-in, which has one version.
    if s.opts.simulated && std::env::var(crate::chart::repo::REPO_ENV).is_err() {
        return None;
    }
    let v = deploy::ValuesIntent {
        profile: Some(p.name.clone()),
        // Only the source is wanted here: no index is read for a default version.
        version: Some("0.0.0".into()),
        ..Default::default()
    };
    match v.chart_ref(Some(p)).ok()? {
        crate::chart::ChartRef::Repo { repo, name, .. } => Some((repo, name)),
        _ => None,
    }
}

impl Screen for Walkthrough {
    fn keys(&self) -> Ctx {
        Ctx::Wizard
    }

    fn offers(&self, a: Action, _s: &Session) -> bool {
        let step = self.current.as_ref().map(|w| w.step);
        match a {
            Action::NextPane | Action::PrevPane => step == Some(WizardStep::Questions),
            Action::Filter | Action::Edit => step == Some(WizardStep::Review),
            _ => true,
        }
    }

    fn raw_key(&mut self, k: &KeyEvent, s: &Session) -> Option<Step> {
        let step = self.current.as_ref()?.step;
        match (step, k.code) {
            (WizardStep::Questions, _) => {
                let w = self.current.as_mut()?;
                w.field_key(k).then(Step::default)
            }
            (WizardStep::Plan, KeyCode::Char('R')) => self.resize(s),
            (WizardStep::Notes, KeyCode::Char(' ') | KeyCode::Char('a')) => {
                // Marks the next unacknowledged step of the notes as done.
                if let Some(a) = self.current.as_mut()?.acks.iter_mut().find(|a| !a.1) {
                    a.1 = true;
                }
                Some(Step::default())
            }
            _ => None,
        }
    }

    fn act(&mut self, a: Action, s: &Session) -> Option<Step> {
        match a {
            a if a.moves() => {
                self.moves(a, s);
                Some(Step::default())
            }
            Action::NextPane | Action::PrevPane => {
                if let Some(w) = self.current.as_mut()
                    && !w.fields.is_empty()
                {
                    w.leave_field();
                    let n = w.fields.len();
                    w.field = if a == Action::NextPane {
                        (w.field + 1) % n
                    } else {
                        (w.field + n - 1) % n
                    };
                }
                Some(Step::default())
            }
            Action::Enter => Some(self.next(s)),
            Action::Back => Some(self.back()),
            Action::Edit => Some(self.edit(s).unwrap_or_default()),
            _ => None,
        }
    }

    fn update(&mut self, m: &Msg, s: &Session) -> Step {
        match m {
            Msg::Engine(e) => {
                if let Some(w) = self.current.as_mut().filter(|w| w.plan.running) {
                    w.planned_event(e);
                }
            }
            Msg::PlanDone(result) => {
                if let Some(w) = self.current.as_mut() {
                    w.plan_done(result);
                }
            }
            Msg::Reviewed(id, result) => {
                if let Some(w) = self.current.as_mut() {
                    w.reviewed(*id, result);
                }
            }
            Msg::Versions(r) => {
                if let Some(w) = self.current.as_mut() {
                    match r {
                        Ok((listing, server)) => {
                            w.server = server.clone();
                            let key = (s.opts.namespace.clone(), s.opts.release.clone());
                            w.version_sel = self
                                .targets
                                .get(&key)
                                .and_then(|t| listing.versions.iter().position(|v| v.version == *t))
                                .unwrap_or(0);
                            w.versions = Some(Ok(listing.clone()));
                        }
                        Err(e) => w.versions = Some(Err(e.clone())),
                    }
                }
            }
            Msg::Edited => return Step::effects(self.refresh_review(s)),
            _ => {}
        }
        Step::default()
    }

    fn filter(&self) -> Option<&str> {
        self.current.as_ref().map(|w| w.filter.as_str())
    }

    fn set_filter(&mut self, text: &str) {
        if let Some(w) = self.current.as_mut() {
            w.filter = text.to_string();
            w.scroll = 0;
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, s: &Session, t: &Theme) {
        if let Some(w) = &self.current {
            draw::draw_wizard(f, area, w, s, t)
        }
    }
}
