//! How the wizard is drawn: the steps across the top, then the step's own view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::{Field, Wizard, WizardStep};
use crate::deploy::Outcome;
use crate::tui::messages::ReviewLine;
use crate::tui::session::Session;
use crate::tui::theme::{Theme, Tone};
use crate::tui::widgets::{self, block};
use crate::verdict::Verdict;

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

pub(super) fn draw_wizard(f: &mut Frame, area: Rect, w: &Wizard, app: &Session, t: &Theme) {
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
        WizardStep::Profile => draw_profile(f, main, w, app, t),
        WizardStep::Questions => draw_questions(f, main, area.width, w, app, t),
        WizardStep::Review => draw_review(f, main, w, t),
        WizardStep::Plan => draw_plan(f, main, w, t),
    }
}

/// The profiles, and what the one selected asks of the cluster and sets.
fn draw_profile(f: &mut Frame, main: Rect, w: &Wizard, app: &Session, t: &Theme) {
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

/// The profile's questions, the focused one kept whole in view.
fn draw_questions(f: &mut Frame, main: Rect, width: u16, w: &Wizard, app: &Session, t: &Theme) {
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
        lines.push(Line::from(field_spans(fld, focus, width, t)));
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
                widgets::wrapped_rows(&text, width).max(1)
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

/// The values the wizard would apply, each with the layer that set it.
fn draw_review(f: &mut Frame, main: Rect, w: &Wizard, t: &Theme) {
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

/// The preflight's checks and the diff, scrolled.
fn draw_plan(f: &mut Frame, main: Rect, w: &Wizard, t: &Theme) {
    let lines: Vec<Line> = plan_rows(w).iter().map(|r| t.line(r)).collect();
    let offset = widgets::scroll_rows(
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

/// How many lines the preflight and diff screen has, for scrolling.
pub(super) fn plan_len(w: &Wizard) -> usize {
    plan_rows(w).len()
}

/// One line of toned pieces.
type Toned = Vec<(Tone, String)>;

fn one(tone: Tone, text: impl Into<String>) -> Toned {
    vec![(tone, text.into())]
}

fn verdict_tone(v: Verdict) -> (Tone, String) {
    match v {
        Verdict::Pass => (Tone::Ok, "PASS".into()),
        Verdict::Warn => (Tone::Warn, "WARN".into()),
        Verdict::Fail => (Tone::Fail, "FAIL".into()),
    }
}

/// The preflight and diff screen's lines: the verdict, notes, checks, value changes, objects.
pub(super) fn plan_rows(w: &Wizard) -> Vec<Toned> {
    let mut lines: Vec<Toned> = Vec::new();
    if w.plan.running {
        lines.push(one(Tone::Warn, "running preflight and the diff…"));
    }
    for n in &w.plan.notes {
        lines.push(one(Tone::Warn, format!("! {n}")));
    }
    if w.resize_offered() {
        lines.push(one(
            Tone::Accent,
            "R: let helmdeck grow the disks (each claim, then the StatefulSet recreated with --cascade=orphan) and upgrade",
        ));
    }
    for c in &w.plan.checks {
        lines.push(vec![
            (Tone::Plain, "[".into()),
            verdict_tone(c.verdict),
            (Tone::Plain, format!("] {}: {}", c.id, c.message)),
        ]);
        if c.verdict != Verdict::Pass && !c.fix.is_empty() {
            lines.push(one(Tone::Dim, format!("       fix: {}", c.fix)));
        }
    }
    if !w.plan.changes.is_empty() {
        lines.push(one(Tone::Plain, ""));
        lines.push(one(
            Tone::Header,
            format!("values diff ({} change(s))", w.plan.changes.len()),
        ));
        for c in &w.plan.changes {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref().map(|v| v.to_string()).unwrap_or_default()
            };
            let (tone, text) = match c.op {
                '~' => (
                    Tone::Warn,
                    format!("~ {}: {} → {}", c.path, show(&c.old), show(&c.new)),
                ),
                '+' => (Tone::Ok, format!("+ {}: {}", c.path, show(&c.new))),
                _ => (Tone::Fail, format!("- {}: {}", c.path, show(&c.old))),
            };
            let layer = c
                .layer
                .as_ref()
                .map(|l| format!("  ({l})"))
                .unwrap_or_default()
                + c.default_note();
            lines.push(vec![(tone, text), (Tone::Dim, layer)]);
        }
    }
    if !w.plan.manifest.is_empty() {
        lines.push(one(Tone::Plain, ""));
        lines.push(one(Tone::Header, "objects (live release → upgrade)"));
        for k in &w.plan.manifest {
            lines.push(vec![
                (Tone::Plain, format!("{:<22}", k.kind)),
                (Tone::Ok, format!("+{} ", k.added.len())),
                (Tone::Warn, format!("~{} ", k.changed.len())),
                (Tone::Fail, format!("-{}", k.removed.len())),
            ]);
            for (mark, names, tone) in [
                ("+", &k.added, Tone::Ok),
                ("~", &k.changed, Tone::Warn),
                ("-", &k.removed, Tone::Fail),
            ] {
                for n in names {
                    lines.push(one(tone, format!("    {mark} {n}")));
                }
            }
        }
    }
    let verdict = match &w.plan.outcome {
        Some(Outcome::Planned) => one(Tone::Ok, "Preflight passed. enter: apply (asks to confirm)"),
        Some(Outcome::PreflightFailed { failed }) => one(
            Tone::Fail,
            format!(
                "Preflight failed ({}): nothing will be applied. Fix it, then esc and enter.",
                failed.len()
            ),
        ),
        Some(o) => one(Tone::Fail, o.one_line()),
        None => one(Tone::Plain, ""),
    };
    lines.insert(0, verdict);
    lines
}
