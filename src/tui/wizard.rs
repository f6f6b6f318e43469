//! The install wizard and the upgrade walkthrough: profile → questions → values review →
//! preflight and diff → confirm; an upgrade of a repository's chart starts with the version
//! picker and the notes of each stop on the way, every manual step acknowledged. Its state, how
//! keys and plans change it, and how it is drawn.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use serde_json::{Map, Value};

use super::app::{App, Confirm, Effect, Overlay, Screen};
use super::theme::Theme;
use super::widgets::{block, verdict_span};
use crate::deploy::{self, Outcome, ValueChange};
use crate::profile::{Profile, Question};
use crate::values::{self, LayerSource, UserLayer};
use crate::verdict::{Check, Verdict};

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
    pub input: super::line_edit::LineEdit,
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
    /// The release's chart version and app version (upgrades).
    pub from: (String, String),
    /// The repository's versions (none while they load) and the cluster's Kubernetes.
    pub versions: Option<Result<crate::chart::repo::Listing, String>>,
    pub server: Option<String>,
    pub version_sel: usize,
    /// The way to the chosen version; the walkthrough applies its first stop.
    pub path: Option<crate::chart::upgrade_path::UpgradePath>,
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

/// A stop's plan the campaign computed and waits on: applying it answers the campaign's
/// question with yes, and the campaign applies exactly this plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTicket {
    pub id: u64,
    pub plan: deploy::Plan,
    pub stop: deploy::StopAt,
    pub reply: Reply,
}

/// The answer a campaign waits for. Dropped unanswered (the wizard closed, the plan
/// replaced), it is a no: the campaign ends without applying anything more.
#[derive(Debug, Clone)]
pub struct Reply(Option<tokio::sync::mpsc::UnboundedSender<deploy::Answer>>);

impl Reply {
    pub fn new(tx: tokio::sync::mpsc::UnboundedSender<deploy::Answer>) -> Reply {
        Reply(Some(tx))
    }

    /// A reply nobody waits for (tests, and plans shown without a campaign).
    pub fn none() -> Reply {
        Reply(None)
    }

    pub fn send(&self, a: deploy::Answer) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(a);
        }
    }
}

impl PartialEq for Reply {
    fn eq(&self, o: &Reply) -> bool {
        match (&self.0, &o.0) {
            (Some(a), Some(b)) => a.same_channel(b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// A campaign's manual steps for a later stop, to acknowledge before it is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct AckRequest {
    pub stop: deploy::StopAt,
    pub steps: Vec<String>,
    pub reply: Reply,
}

impl App {
    pub(super) fn start_wizard(&mut self, action: deploy::Action) -> Vec<Effect> {
        if let Err(how) = &self.opts.helm {
            self.message = Some(format!("helm is needed to install or upgrade: {how}"));
            return Vec::new();
        }
        // A campaign waiting on its walkthrough: that is the walkthrough to show.
        if self.wizard.as_ref().is_some_and(|w| w.stop.is_some()) {
            self.screen = Screen::Wizard;
            return Vec::new();
        }
        // One operation at a time from this app: a second would wait on the release lock
        // and then be told the release is stuck.
        if let Some(r) = self.run.as_ref().filter(|r| r.outcome.is_none()) {
            self.message = Some(format!(
                "the {} of {} in {} is still running: o shows it",
                r.what, r.release, r.namespace
            ));
            return Vec::new();
        }
        // `i` on a release that is installed means its upgrade walkthrough.
        if action == deploy::Action::Install
            && let Some(i) = self
                .releases
                .iter()
                .position(|r| r.name == self.opts.release && r.namespace == self.opts.namespace)
        {
            self.release_sel = i;
            let effects = self.start_wizard(deploy::Action::Upgrade);
            if self.wizard.is_some() {
                self.message = Some(format!(
                    "{} is already installed in {}: this is its upgrade walkthrough (esc goes back)",
                    self.opts.release, self.opts.namespace
                ));
            }
            return effects;
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
            from: Default::default(),
            versions: None,
            server: None,
            version_sel: 0,
            path: None,
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
            w.fields = fields_for(&self.profiles[idx], &w.current);
            w.step = WizardStep::Questions;
            if let Some(r) = self.selected_release() {
                w.from = (r.chart_version.clone(), r.app_version.clone());
            }
            // A repository's chart: pick the version first.
            if let Some((repo, chart)) = self.upgrade_source(idx) {
                w.step = WizardStep::Version;
                effects.push(Effect::Versions { repo, chart });
            }
        }
        self.wizard = Some(w);
        self.screen = Screen::Wizard;
        effects
    }

    /// The repository and chart an upgrade with profile `idx` comes from; none for the
    /// bundled stand-in (the simulated cluster) and local charts.
    fn upgrade_source(&self, idx: usize) -> Option<(String, String)> {
        let p = self.profiles.get(idx)?;
        // The simulated cluster runs the bundled stand-in, which has one version.
        if self.opts.simulated && std::env::var(crate::chart::repo::REPO_ENV).is_err() {
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

    pub(super) fn versions_loaded(
        &mut self,
        r: Result<(crate::chart::repo::Listing, Option<String>), String>,
    ) {
        let Some(w) = self.wizard.as_mut() else {
            return;
        };
        match r {
            Ok((listing, server)) => {
                w.server = server;
                w.version_sel = 0;
                w.versions = Some(Ok(listing));
            }
            Err(e) => w.versions = Some(Err(e)),
        }
    }

    /// The campaign plans stop `at`: a later stop reopens the walkthrough at its Plan step
    /// (on top when the user watches the run, else said in the status line).
    pub(super) fn campaign_planning(&mut self, at: deploy::StopAt) {
        if at.index == 0 {
            if let Some(w) = self.wizard.as_mut() {
                w.stop = Some(at);
            }
            return;
        }
        let Some(mut w) = self.wizard.take().or_else(|| self.next_stop.take()) else {
            return;
        };
        w.step = WizardStep::Plan;
        w.scroll = 0;
        w.plan = PlanView {
            running: true,
            ..Default::default()
        };
        w.stop = Some(at);
        self.reopen(w);
    }

    /// The campaign asks for a stop's manual steps: the ones the walkthrough already had
    /// acknowledged are answered at once, others reopen its Notes step.
    pub(super) fn campaign_asks(&mut self, req: super::wizard::AckRequest) -> Vec<Effect> {
        let Some(mut w) = self.wizard.take().or_else(|| self.next_stop.take()) else {
            return Vec::new();
        };
        let done = |s: &String| w.acks.iter().any(|(a, yes)| *yes && a == s);
        if req.steps.iter().all(done) {
            self.wizard = Some(w);
            return vec![Effect::Answer(req.reply, deploy::Answer::Yes)];
        }
        w.acks = req.steps.iter().map(|s| (s.clone(), false)).collect();
        w.ack_reply = Some(req.reply);
        w.step = WizardStep::Notes;
        w.scroll = 0;
        w.stop = Some(req.stop);
        self.reopen(w);
        Vec::new()
    }

    fn reopen(&mut self, w: Wizard) {
        let label = w
            .stop
            .as_ref()
            .map(deploy::StopAt::label)
            .unwrap_or_default();
        self.wizard = Some(w);
        if self.screen == Screen::Run {
            self.screen = Screen::Wizard;
        } else if self.screen != Screen::Wizard {
            self.message = Some(format!(
                "the upgrade walks on to {label}: u (or i) shows it"
            ));
        }
    }

    /// Marks the next unacknowledged step of the notes as done.
    pub(super) fn acknowledge(&mut self) {
        if let Some(w) = self.wizard.as_mut()
            && let Some(a) = w.acks.iter_mut().find(|a| !a.1)
        {
            a.1 = true;
        }
    }

    /// Typing into the focused question; None when the key is not for the field.
    pub(super) fn field_key(&mut self, k: &KeyEvent) -> Option<Vec<Effect>> {
        use crate::profile::Validation;
        let w = self.wizard.as_mut()?;
        let f = w.fields.get_mut(w.field)?;
        let plain = !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        // Yes/no and pick-one questions are toggles: space and the arrows cycle, no typing.
        let options: Vec<String> = match f.question.validate {
            Validation::Boolean => vec!["true".into(), "false".into()],
            Validation::Enum if !f.question.choices.is_empty() => f.question.choices.clone(),
            _ => Vec::new(),
        };
        if !options.is_empty() {
            let at = options.iter().position(|o| *o == f.input.text.trim());
            let n = options.len();
            let next = match k.code {
                KeyCode::Char(' ') | KeyCode::Right if plain => at.map_or(0, |i| (i + 1) % n),
                KeyCode::Left if plain => at.map_or(0, |i| (i + n - 1) % n),
                KeyCode::Char('y') if plain && n == 2 => 0,
                KeyCode::Char('n') if plain && n == 2 => 1,
                _ => return None,
            };
            f.input = super::line_edit::LineEdit::new(options[next].clone());
            f.error = None;
            return Some(Vec::new());
        }
        if f.input.key(k) {
            f.error = None;
            return Some(Vec::new());
        }
        None
    }

    pub(super) fn wizard_next(&mut self) -> Vec<Effect> {
        let Some(w) = self.wizard.as_mut() else {
            return Vec::new();
        };
        match w.step {
            WizardStep::Version => {
                let Some(Ok(listing)) = &w.versions else {
                    return Vec::new();
                };
                let Some(to) = listing.versions.get(w.version_sel) else {
                    return Vec::new();
                };
                let book = crate::chart::upgrade_notes::for_chart(&listing.chart);
                let path = crate::chart::upgrade_path::plan(
                    book.as_ref(),
                    listing,
                    &w.from.0,
                    &w.from.1,
                    &to.version,
                    w.server.as_deref(),
                );
                if !path.blockers.is_empty() {
                    self.message = Some(path.blockers.join("; "));
                    return Vec::new();
                }
                w.acks = path
                    .manual_steps(0)
                    .into_iter()
                    .map(|a| (a, false))
                    .collect();
                w.path = Some(path);
                w.step = WizardStep::Notes;
                w.scroll = 0;
                Vec::new()
            }
            WizardStep::Notes => {
                if w.acks.iter().any(|a| !a.1) {
                    self.message = Some(
                        "confirm each step with space (or a) once it is done, then enter".into(),
                    );
                    return Vec::new();
                }
                // A later stop of a running campaign: its plan comes next.
                if let Some(reply) = w.ack_reply.take() {
                    w.step = WizardStep::Plan;
                    w.scroll = 0;
                    w.plan = PlanView {
                        running: true,
                        ..Default::default()
                    };
                    return vec![Effect::Answer(reply, deploy::Answer::Yes)];
                }
                w.step = WizardStep::Questions;
                w.field = 0;
                Vec::new()
            }
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
                self.refresh_review()
            }
            WizardStep::Review => {
                if w.review_error.is_some() || w.review_pending.is_some() {
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

    pub(super) fn answers(&self) -> Map<String, Value> {
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
        intent.resize_disks = w.resize_disks;
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
            stand_in: self.opts.simulated,
            // The version chosen: the campaign goes there stop by stop.
            version: w.path.as_ref().map(|p| p.to.clone()),
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

    /// Asks for the values the wizard would apply, with each leaf's layer: the same
    /// resolution (profile's chart, helm's major, every layer) the plan and the apply use.
    /// Rendering may fetch the chart, so it runs off the UI thread; [`review`] does it and
    /// `Msg::Reviewed` brings the answer.
    pub fn refresh_review(&mut self) -> Vec<Effect> {
        let intent = self.intent(deploy::Action::Install);
        let profile = self
            .wizard
            .as_ref()
            .and_then(|w| self.profiles.get(w.profile))
            .cloned();
        self.next_review += 1;
        let id = self.next_review;
        let release = self.opts.release.clone();
        let Some(w) = self.wizard.as_mut() else {
            return Vec::new();
        };
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
            release,
            current: w.current.clone(),
        }))]
    }

    /// The answer to [`App::refresh_review`]; an older review's is dropped.
    pub fn reviewed(&mut self, id: u64, result: Result<Review, String>) {
        let Some(w) = self.wizard.as_mut() else {
            return;
        };
        if w.review_pending != Some(id) {
            return;
        }
        w.review_pending = None;
        match result {
            Ok(r) => {
                w.chart_label = r.chart_label;
                w.review = r.lines;
                w.review_error = None;
            }
            Err(e) => w.review_error = Some(e),
        }
    }
}

/// What a values review needs, taken from the wizard when it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewJob {
    pub id: u64,
    pub values: deploy::ValuesIntent,
    pub profile: Option<Profile>,
    pub release: String,
    /// The release's current values (upgrades start from them; empty for an install).
    pub current: Map<String, Value>,
}

/// The rendered review: the chart as shown and each leaf with the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub chart_label: String,
    pub lines: Vec<ReviewLine>,
}

/// Resolves and renders a review (reads, and may fetch, the chart: run it off the UI
/// thread). Secret values are redacted.
pub fn review(job: &ReviewJob) -> Result<Review, String> {
    let resolved = job.values.resolve_with(job.profile.clone())?;
    let chart_label = if resolved.chart.name() == crate::chart::BUNDLED_CHART {
        format!("{}, the bundled stand-in", resolved.chart.name())
    } else {
        format!(
            "{} {}",
            resolved.chart.name(),
            resolved.chart.metadata.version
        )
    };
    let mut req = resolved.request;
    req.previous = (!job.current.is_empty()).then(|| UserLayer {
        source: LayerSource::Release {
            name: job.release.clone(),
            revision: 0,
        },
        values: job.current.clone(),
    });
    let r = req.render(&resolved.chart).map_err(|e| e.to_string())?;
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
    Ok(Review { chart_label, lines })
}

/// The wizard's fields for a profile, prefilled from current values, else the defaults.
fn fields_for(p: &Profile, current: &Map<String, Value>) -> Vec<Field> {
    p.questions
        .iter()
        .map(|q| {
            let v = values::get_path(current, &q.path).or(q.default.as_ref());
            Field {
                question: q.clone(),
                input: super::line_edit::LineEdit::new(match v {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                }),
                error: None,
            }
        })
        .collect()
}

/// A field's line: the text scrolled to keep the cursor in view (the cursor cell reversed),
/// toggles shown with their options.
fn field_spans(fld: &Field, focus: bool, width: u16, t: &Theme) -> Vec<Span<'static>> {
    use crate::profile::Validation;
    let mut out = vec![Span::raw("    ")];
    if matches!(fld.question.validate, Validation::Boolean) {
        let on = fld.input.text.trim() == "true";
        let style = if focus { t.selected } else { t.dim };
        out.push(Span::styled(if on { "[x] yes" } else { "[ ] no" }, style));
        if focus {
            out.push(Span::styled("   space toggles", t.dim));
        }
        return out;
    }
    if !focus {
        out.push(Span::styled(fld.input.text.clone(), t.dim));
        return out;
    }
    let room = (width as usize).saturating_sub(8);
    let (before, at, after) = fld.input.view(room);
    out.push(Span::styled(before, t.selected));
    out.push(Span::styled(
        at,
        t.selected.add_modifier(ratatui::style::Modifier::REVERSED),
    ));
    out.push(Span::styled(after, t.selected));
    out
}

/// A field's typed answer, by the profile's validation rule.
pub fn validate_field(f: &Field) -> Result<Value, String> {
    let text = f.input.text.trim();
    if text.is_empty() {
        return if f.question.required {
            Err("an answer is required".into())
        } else {
            Ok(Value::Null)
        };
    }
    crate::profile::validate_answer(&f.question, &Value::String(text.to_string()))
}

/// The version picker: the repository's versions, the release's marked, the ones the cluster's
/// Kubernetes is outside of flagged.
fn draw_versions(f: &mut Frame, area: Rect, w: &Wizard, t: &Theme) {
    let listing = match &w.versions {
        None => {
            f.render_widget(
                Paragraph::new("reading the chart repository's index…")
                    .block(block(" version ", t)),
                area,
            );
            return;
        }
        Some(Err(e)) => {
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(e.clone(), t.fail)),
                    Line::from("esc goes back; set $HELMDECK_CHART_REPO to a reachable repository"),
                ])
                .wrap(Wrap { trim: false })
                .block(block(" version ", t)),
                area,
            );
            return;
        }
        Some(Ok(l)) => l,
    };
    let [list, foot] = Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(area);
    let rows = listing.versions.iter().map(|v| {
        let mut note = Vec::new();
        if v.version == w.from.0 {
            note.push("current".to_string());
        }
        if let Some(s) = &w.server
            && !v.runs_on(s)
        {
            note.push(format!("not for Kubernetes {s}"));
        }
        Row::new(vec![
            Cell::from(v.version.clone()),
            Cell::from(v.app_version.clone()),
            Cell::from(if v.kube_version.is_empty() {
                "any".to_string()
            } else {
                v.kube_version.clone()
            }),
            Cell::from(v.date().to_string()),
            Cell::from(note.join(", ")),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(20),
            Constraint::Length(11),
            Constraint::Min(8),
        ],
    )
    .header(Row::new(vec!["VERSION", "APP", "KUBERNETES", "DATE", "NOTE"]).style(t.header))
    .row_highlight_style(t.selected)
    .block(
        block(
            format!(" {} versions from {} ", listing.chart, listing.repo),
            t,
        )
        .title_bottom(" enter: choose "),
    );
    let mut st = TableState::default().with_selected(Some(w.version_sel));
    f.render_stateful_widget(table, list, &mut st);
    let eos = crate::chart::upgrade_notes::for_chart(&listing.chart)
        .map(|b| b.end_of_support)
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(format!(
            "running {} (app {}). {eos}",
            w.from.0,
            if w.from.1.is_empty() { "?" } else { &w.from.1 }
        ))
        .style(t.dim)
        .wrap(Wrap { trim: true }),
        foot,
    );
}

/// The way to the chosen version, stop by stop with its notes, and the steps to acknowledge.
fn draw_notes(f: &mut Frame, area: Rect, w: &Wizard, t: &Theme) {
    let Some(path) = &w.path else { return };
    let mut lines: Vec<Line> = path.lines().into_iter().map(Line::from).collect();
    if !w.acks.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                "Before chart {}: confirm each step once done (space):",
                path.stops
                    .get(w.stop.as_ref().map_or(0, |s| s.index))
                    .map_or("", |s| s.version.as_str())
            ),
            t.header,
        )));
        let next = w.acks.iter().position(|a| !a.1);
        for (i, (text, done)) in w.acks.iter().enumerate() {
            let style = if Some(i) == next {
                t.selected
            } else if *done {
                t.dim
            } else {
                Style::default()
            };
            lines.push(Line::from(Span::styled(
                format!("[{}] {text}", if *done { "x" } else { " " }),
                style,
            )));
        }
    }
    let height = area.height.saturating_sub(2) as usize;
    let max = lines.len().saturating_sub(height);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((w.scroll.min(max) as u16, 0))
            .block(block(" upgrade path ", t).title_bottom(" space: step done · enter: next ")),
        area,
    );
}

pub(super) fn draw_wizard(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let Some(w) = &app.wizard else { return };
    let verb = if w.action == crate::deploy::Action::Upgrade {
        "Upgrade"
    } else {
        "Install"
    };
    let walk = w.versions.is_some();
    let steps: &[&str] = if walk {
        &[
            "1 version",
            "2 notes",
            "3 questions",
            "4 values",
            "5 preflight & diff",
        ]
    } else {
        &["1 profile", "2 questions", "3 values", "4 preflight & diff"]
    };
    let shift = usize::from(walk);
    let cur = match w.step {
        WizardStep::Version => 0,
        WizardStep::Notes => 1,
        WizardStep::Profile => 0,
        WizardStep::Questions => 1 + shift,
        WizardStep::Review => 2 + shift,
        WizardStep::Plan => 3 + shift,
    };
    let [top, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    // The stop the campaign is at (the first until it runs).
    let at = w.stop.as_ref().map_or(0, |s| s.index);
    let target = w
        .path
        .as_ref()
        .and_then(|p| p.stops.get(at).map(|s| (s, p.stops.len(), &p.to)))
        .map(|(s, n, to)| {
            if n > 1 {
                format!(" → {} (stop {} of {n} toward {to})", s.version, at + 1)
            } else {
                format!(" → {}", s.version)
            }
        })
        .unwrap_or_default();
    let head = format!("{verb}{target}: ");
    // Too narrow for every label: the other steps keep only their number.
    let full: usize =
        head.chars().count() + steps.iter().map(|s| s.chars().count() + 2).sum::<usize>();
    let narrow = full > area.width as usize;
    let mut spans = vec![Span::styled(head, t.accent)];
    for (i, s) in steps.iter().enumerate() {
        let label = if narrow && i != cur {
            s.split(' ').next().unwrap_or(s)
        } else {
            s
        };
        spans.push(Span::styled(
            format!(" {label} "),
            if i == cur { t.selected } else { t.dim },
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), top);
    match w.step {
        WizardStep::Version => draw_versions(f, main, w, t),
        WizardStep::Notes => draw_notes(f, main, w, t),
        WizardStep::Profile => {
            let [list, detail] =
                Layout::horizontal([Constraint::Length(24), Constraint::Min(20)]).areas(main);
            let rows = app
                .profiles
                .iter()
                .map(|p| Row::new(vec![p.name.clone(), p.provider.clone()]));
            let table = Table::new(rows, [Constraint::Length(13), Constraint::Min(6)])
                .row_highlight_style(t.selected)
                .block(block(" profile ", t));
            let mut st = TableState::default().with_selected(Some(w.profile));
            f.render_stateful_widget(table, list, &mut st);
            if let Some(p) = app.profiles.get(w.profile) {
                let mut lines = vec![
                    Line::from(Span::styled(p.title.clone(), t.header)),
                    Line::from(p.description.clone()),
                    Line::from(""),
                    Line::from(format!("Kubernetes {}", p.kubernetes.versions)),
                    Line::from(format!(
                        "Needs {} node(s), {} CPU and {} memory in all",
                        p.requirements.min_nodes, p.requirements.cpu, p.requirements.memory
                    )),
                    Line::from(format!(
                        "Disk encryption: {:?}; provisioners {}",
                        p.storage.encryption,
                        p.storage.provisioners.join(", ")
                    )),
                    Line::from(""),
                    Line::from(Span::styled("Sets:", t.header)),
                ];
                crate::values::for_each_leaf(&p.values, &mut |path, v| {
                    lines.push(Line::from(format!("  {path} = {v}")));
                });
                f.render_widget(
                    Paragraph::new(lines)
                        .wrap(Wrap { trim: false })
                        .block(block(format!(" {} ", p.name), t)),
                    detail,
                );
            }
        }
        WizardStep::Questions => {
            let mut lines = Vec::new();
            // The focused question's lines, to keep them in view when the list is long.
            let mut focus_lines = 0..0;
            for (i, fld) in w.fields.iter().enumerate() {
                let focus = i == w.field;
                let first = lines.len();
                lines.push(Line::from(vec![
                    Span::styled(if focus { "› " } else { "  " }, t.accent),
                    Span::styled(
                        fld.question.prompt.clone(),
                        if focus { t.header } else { Style::default() },
                    ),
                    Span::styled(if fld.question.required { " *" } else { "" }, t.warn),
                ]));
                lines.push(Line::from(field_spans(fld, focus, area.width, t)));
                if let Some(e) = &fld.error {
                    lines.push(Line::from(Span::styled(format!("    ✗ {e}"), t.fail)));
                } else if focus && let Some(h) = &fld.question.help {
                    lines.push(Line::from(Span::styled(format!("    {h}"), t.dim)));
                }
                if focus {
                    focus_lines = first..lines.len();
                }
            }
            if w.fields.is_empty() {
                lines.push(Line::from("This profile asks nothing. Press enter."));
            }
            let name = app
                .profiles
                .get(w.profile)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            // Long prompts and help wrap; the list scrolls to keep the focused question whole.
            let width = main.width.saturating_sub(2);
            let rows = |ls: &[Line]| -> u16 {
                ls.iter()
                    .map(|l| {
                        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                        super::widgets::wrapped_rows(&text, width).max(1)
                    })
                    .sum()
            };
            let before = rows(&lines[..focus_lines.start]);
            let through = before + rows(&lines[focus_lines]);
            let offset = through.saturating_sub(main.height.saturating_sub(2));
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((offset.min(before), 0))
                    .block(block(format!(" questions · {name} "), t).title_bottom(" enter: next ")),
                main,
            );
        }
        WizardStep::Review => {
            if w.review_pending.is_some() {
                f.render_widget(
                    Paragraph::new(
                        "Rendering the values… (the chart is read, and fetched from its repository the first time)\n\nesc: back to the questions",
                    )
                    .style(t.dim)
                    .wrap(Wrap { trim: false })
                    .block(block(" values ", t)),
                    main,
                );
                return;
            }
            if let Some(e) = &w.review_error {
                f.render_widget(
                    Paragraph::new(format!(
                        "The values do not render:\n\n{e}\n\nesc: back to the questions"
                    ))
                    .style(t.fail)
                    .wrap(Wrap { trim: false })
                    .block(block(" values ", t)),
                    main,
                );
                return;
            }
            let shown = w.review_rows();
            // Keys and layers whole where the width allows (keys up to half the table, layers
            // up to 20 columns); values take the rest.
            let inner = main.width.saturating_sub(2) as usize;
            let longest = |f: fn(&ReviewLine) -> &str| {
                shown
                    .iter()
                    .map(|l| f(l).chars().count())
                    .max()
                    .unwrap_or(0)
            };
            let key_w = longest(|l| &l.path).clamp(3, inner / 2) as u16;
            let layer_w = longest(|l| &l.layer).clamp(6, 20) as u16;
            let rows = shown.iter().map(|l| {
                let style = if l.layer == "chart" {
                    t.dim
                } else {
                    Style::default()
                };
                Row::new(vec![
                    Cell::from(l.path.clone()),
                    Cell::from(l.value.clone()),
                    Cell::from(Span::styled(
                        l.layer.clone(),
                        if l.layer == "chart" { t.dim } else { t.accent },
                    )),
                ])
                .style(style)
            });
            let filter = if w.filter.is_empty() {
                String::new()
            } else {
                format!(" · /{} ({} shown)", w.filter, shown.len())
            };
            let table = Table::new(
                rows,
                [
                    Constraint::Length(key_w),
                    Constraint::Fill(1),
                    Constraint::Length(layer_w),
                ],
            )
            .header(Row::new(["KEY", "VALUE", "SET BY"]).style(t.header))
            .row_highlight_style(t.selected)
            .block(
                block(
                    format!(
                        " values ({} leaves{filter}) · chart {} ",
                        w.review.len(),
                        w.chart_label
                    ),
                    t,
                )
                .title_bottom(" /: filter · e: edit · enter: preflight "),
            );
            let mut st = TableState::default().with_selected(Some(w.scroll));
            f.render_stateful_widget(table, main, &mut st);
        }
        WizardStep::Plan => {
            let lines = plan_lines(w, t);
            let offset = super::widgets::scroll_rows(
                &lines,
                main.width.saturating_sub(2),
                main.height.saturating_sub(2),
                w.scroll,
            );
            f.render_widget(
                Paragraph::new(lines)
                    .scroll((offset, 0))
                    .wrap(Wrap { trim: false })
                    .block(block(" preflight & diff · j/k pgup/pgdn ", t)),
                main,
            );
        }
    }
}

/// The preflight and diff screen's lines: the verdict, notes, checks, value changes, objects.
pub(super) fn plan_lines(w: &Wizard, t: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if w.plan.running {
        lines.push(Line::from(Span::styled(
            "running preflight and the diff…",
            t.warn,
        )));
    }
    for n in &w.plan.notes {
        lines.push(Line::from(Span::styled(format!("! {n}"), t.warn)));
    }
    if w.resize_offered() {
        lines.push(Line::from(Span::styled(
            "R: let helmdeck grow the disks (each claim, then the StatefulSet recreated with --cascade=orphan) and upgrade",
            t.accent,
        )));
    }
    for c in &w.plan.checks {
        lines.push(Line::from(vec![
            Span::raw("["),
            verdict_span(t, c.verdict),
            Span::raw(format!("] {}: {}", c.id, c.message)),
        ]));
        if c.verdict != Verdict::Pass && !c.fix.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("       fix: {}", c.fix),
                t.dim,
            )));
        }
    }
    if !w.plan.changes.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("values diff ({} change(s))", w.plan.changes.len()),
            t.header,
        )));
        for c in &w.plan.changes {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref().map(|v| v.to_string()).unwrap_or_default()
            };
            let style = match c.op {
                '+' => t.ok,
                '-' => t.fail,
                _ => t.warn,
            };
            let text = match c.op {
                '~' => format!("~ {}: {} → {}", c.path, show(&c.old), show(&c.new)),
                '+' => format!("+ {}: {}", c.path, show(&c.new)),
                _ => format!("- {}: {}", c.path, show(&c.old)),
            };
            lines.push(Line::from(vec![
                Span::styled(text, style),
                Span::styled(
                    c.layer
                        .as_ref()
                        .map(|l| format!("  ({l})"))
                        .unwrap_or_default()
                        + c.default_note(),
                    t.dim,
                ),
            ]));
        }
    }
    if !w.plan.manifest.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "objects (live release → upgrade)",
            t.header,
        )));
        for k in &w.plan.manifest {
            lines.push(Line::from(vec![
                Span::raw(format!("{:<22}", k.kind)),
                Span::styled(format!("+{} ", k.added.len()), t.ok),
                Span::styled(format!("~{} ", k.changed.len()), t.warn),
                Span::styled(format!("-{}", k.removed.len()), t.fail),
            ]));
            for (mark, names, style) in [
                ("+", &k.added, t.ok),
                ("~", &k.changed, t.warn),
                ("-", &k.removed, t.fail),
            ] {
                for n in names {
                    lines.push(Line::from(Span::styled(format!("    {mark} {n}"), style)));
                }
            }
        }
    }
    let verdict = match &w.plan.outcome {
        Some(Outcome::Planned) => Line::from(Span::styled(
            "Preflight passed. enter: apply (asks to confirm)",
            t.ok,
        )),
        Some(Outcome::PreflightFailed { failed }) => Line::from(Span::styled(
            format!(
                "Preflight failed ({}): nothing will be applied. Fix it, then esc and enter.",
                failed.len()
            ),
            t.fail,
        )),
        Some(o) => Line::from(Span::styled(o.one_line(), t.fail)),
        None => Line::from(""),
    };
    lines.insert(0, verdict);
    lines
}
