//! The install wizard and the upgrade walkthrough: profile → questions → values review →
//! preflight and diff → confirm. Its state, how keys and plans change it, and how it is drawn.

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
use super::view::{block, verdict_span};
use crate::deploy::{self, Outcome, ValueChange};
use crate::profile::{Profile, Question};
use crate::values::{self, LayerSource, UserLayer};
use crate::verdict::{Check, Verdict};

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

/// A plan the runtime computed and keeps the request for: applying it applies these values,
/// against the revision it was computed for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTicket {
    pub id: u64,
    pub plan: deploy::Plan,
}

impl App {
    pub(super) fn start_wizard(&mut self, action: deploy::Action) -> Vec<Effect> {
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
    pub(super) fn field_key(&mut self, k: &KeyEvent) -> Option<Vec<Effect>> {
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

    pub(super) fn wizard_next(&mut self) -> Vec<Effect> {
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

pub(super) fn draw_wizard(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let Some(w) = &app.wizard else { return };
    let verb = if w.action == crate::deploy::Action::Upgrade {
        "Upgrade"
    } else {
        "Install"
    };
    let steps = ["1 profile", "2 questions", "3 values", "4 preflight & diff"];
    let cur = match w.step {
        WizardStep::Profile => 0,
        WizardStep::Questions => 1,
        WizardStep::Review => 2,
        WizardStep::Plan => 3,
    };
    let [top, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let mut spans = vec![Span::styled(format!("{verb}: "), t.accent)];
    for (i, s) in steps.iter().enumerate() {
        spans.push(Span::styled(
            format!(" {s} "),
            if i == cur { t.selected } else { t.dim },
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), top);
    match w.step {
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
                        "Needs {} node(s), {} CPU and {} memory allocatable",
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
            for (i, fld) in w.fields.iter().enumerate() {
                let focus = i == w.field;
                lines.push(Line::from(vec![
                    Span::styled(if focus { "› " } else { "  " }, t.accent),
                    Span::styled(
                        fld.question.prompt.clone(),
                        if focus { t.header } else { Style::default() },
                    ),
                    Span::styled(if fld.question.required { " *" } else { "" }, t.warn),
                ]));
                lines.push(Line::from(vec![
                    Span::raw("    "),
                    Span::styled(
                        format!("{}{}", fld.input, if focus { "█" } else { "" }),
                        if focus { t.selected } else { t.dim },
                    ),
                ]));
                if let Some(e) = &fld.error {
                    lines.push(Line::from(Span::styled(format!("    ✗ {e}"), t.fail)));
                } else if focus && let Some(h) = &fld.question.help {
                    lines.push(Line::from(Span::styled(format!("    {h}"), t.dim)));
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
            f.render_widget(
                Paragraph::new(lines)
                    .block(block(format!(" questions · {name} · enter: next ",), t)),
                main,
            );
        }
        WizardStep::Review => {
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
            let rows = w.review.iter().map(|l| {
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
            let table = Table::new(
                rows,
                [
                    Constraint::Percentage(45),
                    Constraint::Percentage(35),
                    Constraint::Percentage(20),
                ],
            )
            .header(Row::new(["VALUE", "", "SET BY"]).style(t.header))
            .row_highlight_style(t.selected)
            .block(block(
                format!(
                    " values ({} leaves) · e: edit overrides · enter: preflight ",
                    w.review.len()
                ),
                t,
            ));
            let mut st = TableState::default().with_selected(Some(w.scroll));
            f.render_stateful_widget(table, main, &mut st);
        }
        WizardStep::Plan => {
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
                                .unwrap_or_default(),
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
            f.render_widget(
                Paragraph::new(lines)
                    .scroll((w.scroll as u16, 0))
                    .wrap(Wrap { trim: false })
                    .block(block(" preflight & diff ", t)),
                main,
            );
        }
    }
}
