//! Drawing: the app's state to widgets, nothing else. Rows come from `health`'s analysers
//! (computed when the snapshot changes); this module only filters, sorts and lays them out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Gauge, Paragraph, Row, Sparkline, Table, TableState, Tabs, Wrap,
};

use super::app::{App, Confirm, Overlay, Pane, PodSort, Screen, WizardStep};
use super::keymap;
use super::theme::Theme;
use crate::deploy::{Outcome, StepState};
use crate::health::{self, pods::PodRow, pods::State};
use crate::verdict::Verdict;

/// The pods pane's rows after the `/` filter and the sort.
pub fn visible_pods(app: &App) -> Vec<&PodRow> {
    let f = app.dash.filter.to_lowercase();
    let mut rows: Vec<&PodRow> = app
        .pods
        .pods
        .iter()
        .filter(|p| {
            f.is_empty()
                || p.name.to_lowercase().contains(&f)
                || p.component.to_lowercase().contains(&f)
                || p.phase.to_lowercase().contains(&f)
                || p.problem
                    .as_ref()
                    .is_some_and(|x| x.reason.to_lowercase().contains(&f))
        })
        .collect();
    match app.dash.sort {
        PodSort::Component => {}
        PodSort::Restarts => rows.sort_by_key(|p| std::cmp::Reverse(p.restarts)),
        PodSort::Age => rows.sort_by_key(|p| p.age_secs),
    }
    rows
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn verdict_span(t: &Theme, v: Verdict) -> Span<'static> {
    match v {
        Verdict::Pass => Span::styled("PASS", t.ok),
        Verdict::Warn => Span::styled("WARN", t.warn),
        Verdict::Fail => Span::styled("FAIL", t.fail),
    }
}

fn state_style(t: &Theme, s: State) -> Style {
    match s {
        State::Ready => t.ok,
        State::Updating => t.warn,
        _ => t.fail,
    }
}

pub fn draw(f: &mut Frame, app: &App) {
    let t = Theme::new(app.opts.no_color);
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    draw_header(f, header, app, &t);
    match app.screen {
        Screen::Home => draw_home(f, body, app, &t),
        Screen::Wizard => draw_wizard(f, body, app, &t),
        Screen::Run => draw_run(f, body, app, &t),
        Screen::Dashboard => draw_dashboard(f, body, app, &t),
    }
    draw_footer(f, footer, app, &t);
    match &app.overlay {
        Some(Overlay::Help) => draw_help(f, body, app, &t),
        Some(Overlay::Confirm(c)) => draw_confirm(f, body, c, app, &t),
        Some(Overlay::Revisions(p)) => draw_revisions(f, body, p, &t),
        _ => {}
    }
}

fn draw_header(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let mut spans = vec![
        Span::styled(" helmdeck ", t.title),
        Span::raw(format!(
            " ctx {} · ns {} · release {}",
            app.opts.context, app.opts.namespace, app.opts.release
        )),
    ];
    if app.screen == Screen::Dashboard {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            app.pods.state.label().to_string(),
            state_style(t, app.pods.state),
        ));
    }
    spans.push(Span::raw(" · watchers "));
    spans.push(Span::styled(
        app.connection.describe(app.now),
        if matches!(app.connection, crate::cluster::watch::Connection::Live) {
            t.ok
        } else {
            t.warn
        },
    ));
    if app.opts.readonly {
        spans.push(Span::styled(" · read-only", t.dim));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_footer(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let line = match &app.overlay {
        Some(Overlay::Command(c)) => Line::from(vec![
            Span::styled(":", t.accent),
            Span::raw(c.clone()),
            Span::styled("█", t.dim),
        ]),
        Some(Overlay::Filter(c)) => Line::from(vec![
            Span::styled("/", t.accent),
            Span::raw(c.clone()),
            Span::styled("█", t.dim),
        ]),
        _ => match &app.message {
            Some(m) => Line::from(Span::styled(m.clone(), t.warn)),
            None => Line::from(Span::styled(
                keymap::footer(app.ctx(), app.opts.readonly),
                t.dim,
            )),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

fn block<'a>(title: impl Into<Line<'a>>, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.dim)
        .title(title)
}

fn draw_home(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let mut areas = vec![area];
    if let Err(how) = &app.opts.helm {
        let [banner, rest] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
        f.render_widget(
            Paragraph::new(format!(
                "helm was not found: {how}. Inspection works; install, upgrade and rollback need it."
            ))
            .style(t.warn)
            .wrap(Wrap { trim: true })
            .block(block(" helm ", t)),
            banner,
        );
        areas = vec![rest];
    }
    let area = areas[0];
    if app.releases.is_empty() {
        let text = match &app.releases_error {
            Some(e) => format!("Cannot list releases: {e}"),
            None if app.opts.readonly => "No Helm releases in this cluster.".to_string(),
            None => "No Helm releases in this cluster yet.\n\nPress i to install the stack: pick a profile, answer a few questions, review the values and the preflight, then confirm.".to_string(),
        };
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(block(" releases ", t)),
            area,
        );
        return;
    }
    let header = Row::new([
        "NAME",
        "NAMESPACE",
        "REV",
        "STATUS",
        "CHART",
        "APP",
        "UPDATED",
    ])
    .style(t.header);
    let rows = app.releases.iter().map(|r| {
        let status_style = match r.status.as_str() {
            "deployed" => t.ok,
            s if s.starts_with("pending") => t.warn,
            _ => t.fail,
        };
        Row::new(vec![
            Cell::from(r.name.clone()),
            Cell::from(r.namespace.clone()),
            Cell::from(r.revision.to_string()),
            Cell::from(Span::styled(r.status.clone(), status_style)),
            Cell::from(format!("{}-{}", r.chart, r.chart_version)),
            Cell::from(r.app_version.clone()),
            Cell::from(r.updated.get(..19).unwrap_or(&r.updated).replace('T', " ")),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(12),
            Constraint::Length(4),
            Constraint::Length(16),
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .row_highlight_style(t.selected)
    .block(block(format!(" releases ({}) ", app.releases.len()), t));
    let mut st = TableState::default().with_selected(Some(app.release_sel));
    f.render_stateful_widget(table, area, &mut st);
}

fn draw_wizard(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
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

fn draw_run(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let Some(r) = &app.run else { return };
    let [steps_area, gauge_area, out_area, result_area] = Layout::vertical([
        Constraint::Length(r.steps.len().max(1) as u16 + 2),
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(area);
    let end = r.finished.unwrap_or(app.now);
    let elapsed = end.duration_since(r.started).unwrap_or_default().as_secs();
    let lines: Vec<Line> = r
        .steps
        .iter()
        .map(|(step, state, detail)| {
            let (mark, style) = match state {
                StepState::Running => ("…", t.warn),
                StepState::Done => ("✓", t.ok),
                StepState::Failed => ("✗", t.fail),
                StepState::Skipped => ("-", t.dim),
            };
            Line::from(vec![
                Span::styled(format!(" {mark} "), style),
                Span::raw(format!("{step:?}")),
                Span::styled(format!("  {detail}"), t.dim),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block(format!(" {} · {elapsed}s ", r.title), t)),
        steps_area,
    );
    let (ready, expected) = r.pods;
    let ratio = if expected == 0 {
        0.0
    } else {
        ready as f64 / expected as f64
    };
    f.render_widget(
        Gauge::default()
            .block(block(" rollout ", t))
            .gauge_style(t.ok)
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!(
                "pods ready {ready}/{expected} · jobs done {}/{}",
                r.jobs.0, r.jobs.1
            )),
        gauge_area,
    );
    let failed = matches!(r.outcome, Some(Outcome::Failed { .. }));
    let (out_area, cause_area) = match (&r.problem, failed) {
        (Some(_), true) => {
            let [a, b] = Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(out_area);
            (a, Some(b))
        }
        _ => (out_area, None),
    };
    let height = out_area.height.saturating_sub(2) as usize;
    let skip = r.helm.len().saturating_sub(height);
    let out: Vec<Line> = r
        .helm
        .iter()
        .skip(skip)
        .map(|l| Line::from(l.clone()))
        .collect();
    f.render_widget(Paragraph::new(out).block(block(" helm ", t)), out_area);
    if let (Some(area), Some(p)) = (cause_area, &r.problem) {
        let mut lines = vec![
            Line::from(Span::styled(
                format!("pod {}: {}", p.pod, p.finding),
                t.fail,
            )),
            Line::from(Span::styled(
                format!("next step: {}", p.next_step),
                t.accent,
            )),
        ];
        lines.extend(p.events.iter().map(|e| Line::from(format!("  {e}"))));
        if !p.logs.is_empty() {
            lines.push(Line::from(Span::styled("last log lines:", t.header)));
            lines.extend(
                p.logs
                    .iter()
                    .rev()
                    .take(8)
                    .rev()
                    .map(|l| Line::from(format!("  {l}"))),
            );
        }
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block(" cause ", t)),
            area,
        );
    }
    let (text, style) = match &r.outcome {
        None => ("running… (q asks before quitting)".to_string(), t.warn),
        Some(o @ Outcome::Applied { .. }) => {
            (format!("{} · d: dashboard · esc: home", o.one_line()), t.ok)
        }
        Some(o) => (format!("{} · esc: home", o.one_line()), t.fail),
    };
    f.render_widget(
        Paragraph::new(text)
            .style(style)
            .wrap(Wrap { trim: true })
            .block(block(" result ", t)),
        result_area,
    );
}

fn draw_dashboard(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let [tabs_area, pane] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let ing = app
        .probes
        .back()
        .map(|p| health::overall(&health::ingestion_checks(p)));
    let disk = health::overall(&health::disk_checks(&app.disks));
    let titles = vec![
        Line::from(vec![
            Span::raw("Pods "),
            Span::styled(app.pods.state.label(), state_style(t, app.pods.state)),
        ]),
        Line::from(vec![Span::raw("Disks "), verdict_span(t, disk)]),
        Line::from(vec![
            Span::raw("Ingestion "),
            match ing {
                Some(v) => verdict_span(t, v),
                None => Span::styled("probing…", t.dim),
            },
        ]),
    ];
    let sel = match app.dash.pane {
        Pane::Pods => 0,
        Pane::Disks => 1,
        Pane::Ingestion => 2,
    };
    f.render_widget(
        Tabs::new(titles).select(sel).highlight_style(t.selected),
        tabs_area,
    );
    match app.dash.pane {
        Pane::Pods if app.dash.detail.is_some() => draw_pod_detail(f, pane, app, t),
        Pane::Pods => draw_pods(f, pane, app, t),
        Pane::Disks => draw_disks(f, pane, app, t),
        Pane::Ingestion => draw_ingestion(f, pane, app, t),
    }
}

fn draw_pods(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let [comp_area, pods_area] = Layout::vertical([
        Constraint::Length((app.pods.components.len() as u16 + 3).min(area.height / 2)),
        Constraint::Min(3),
    ])
    .areas(area);
    let comps = app.pods.components.iter().map(|c| {
        Row::new(vec![
            Cell::from(c.name.clone()),
            Cell::from(Span::styled(c.state.label(), state_style(t, c.state))),
            Cell::from(format!("{}/{}", c.ready, c.desired)),
            Cell::from(c.restarts.to_string()),
        ])
    });
    f.render_widget(
        Table::new(
            comps,
            [
                Constraint::Length(16),
                Constraint::Length(12),
                Constraint::Length(8),
                Constraint::Min(4),
            ],
        )
        .header(Row::new(["COMPONENT", "STATE", "READY", "RESTARTS"]).style(t.header))
        .block(block(" components ", t)),
        comp_area,
    );
    let rows = visible_pods(app);
    let total = rows.len();
    // Only the rows that fit are built: a 10,000-pod namespace costs what a screenful does.
    let height = pods_area.height.saturating_sub(3) as usize;
    let sel = app.dash.selected.min(total.saturating_sub(1));
    let offset = sel.saturating_sub(height.saturating_sub(1));
    let shown = rows.iter().skip(offset).take(height.max(1)).map(|p| {
        let status = match &p.problem {
            Some(x) => Span::styled(x.reason.clone(), t.fail),
            None if p.is_ready() || p.completed => Span::styled(p.phase.clone(), t.ok),
            None => Span::styled(p.phase.clone(), t.warn),
        };
        Row::new(vec![
            Cell::from(p.component.clone()),
            Cell::from(p.name.clone()),
            Cell::from(format!("{}/{}", p.ready, p.containers)),
            Cell::from(status),
            Cell::from(p.restarts.to_string()),
            Cell::from(age(p.age_secs)),
            Cell::from(p.node.clone()),
        ])
    });
    let sort = match app.dash.sort {
        PodSort::Component => "component",
        PodSort::Restarts => "restarts",
        PodSort::Age => "age",
    };
    let filter = if app.dash.filter.is_empty() {
        String::new()
    } else {
        format!(" · /{}", app.dash.filter)
    };
    let table = Table::new(
        shown,
        [
            Constraint::Length(12),
            Constraint::Min(20),
            Constraint::Length(5),
            Constraint::Length(18),
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(12),
        ],
    )
    .header(
        Row::new(["COMPONENT", "NAME", "READY", "STATUS", "RST", "AGE", "NODE"]).style(t.header),
    )
    .row_highlight_style(t.selected)
    .block(block(
        format!(" pods ({total}) · sort {sort}{filter} · enter: details "),
        t,
    ));
    let mut st = TableState::default().with_selected(Some(sel - offset));
    f.render_stateful_widget(table, pods_area, &mut st);
}

fn draw_pod_detail(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let name = app.dash.detail.clone().unwrap_or_default();
    let Some(p) = app.pods.pods.iter().find(|p| p.name == name) else {
        f.render_widget(
            Paragraph::new(format!("pod {name} is gone")).block(block(" pod ", t)),
            area,
        );
        return;
    };
    let mut lines = vec![
        Line::from(format!(
            "{} · {} · {} · node {}",
            p.name, p.component, p.phase, p.node
        )),
        Line::from(format!(
            "ready {}/{} · restarts {} · age {}",
            p.ready,
            p.containers,
            p.restarts,
            age(p.age_secs)
        )),
    ];
    if let Some(x) = &p.problem {
        lines.push(Line::from(Span::styled(
            format!("{}: {}", x.reason, x.message),
            t.fail,
        )));
    }
    if let Some(l) = &p.last_termination {
        lines.push(Line::from(format!("last termination: {l}")));
    }
    if let Some(fnd) = app
        .pods
        .findings
        .iter()
        .find(|f| f.subject == format!("pod {}", p.name))
    {
        lines.push(Line::from(Span::styled(
            format!("next step: {}", fnd.next_step),
            t.accent,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("events", t.header)));
    let mut events: Vec<_> = app
        .snapshot
        .events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(&p.name))
        .collect();
    events.sort_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
            .unwrap_or(0)
    });
    for e in events.iter().rev().take(8) {
        lines.push(Line::from(format!(
            "  {} {}: {}",
            e.type_.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default()
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("log tail", t.header)));
    for l in app.dash.logs.iter().rev().take(10).rev() {
        lines.push(Line::from(format!("  {l}")));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(format!(" pod {} · esc: back ", p.name), t)),
        area,
    );
}

fn draw_disks(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let [table_area, evidence_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(7)]).areas(area);
    let rows = app.disks.iter().map(|d| {
        Row::new(vec![
            Cell::from(verdict_span(t, d.verdict)),
            Cell::from(d.claim.clone()),
            Cell::from(d.size.clone()),
            Cell::from(d.storage_class.clone()),
            Cell::from(
                serde_json::to_value(d.encryption)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ),
            Cell::from(match d.expansion {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            }),
            Cell::from(d.reclaim_policy.clone().unwrap_or_default()),
        ])
    });
    let profile = app
        .dashboard_profile()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "none".into());
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Min(22),
            Constraint::Length(6),
            Constraint::Length(22),
            Constraint::Length(15),
            Constraint::Length(6),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new([
            "",
            "CLAIM",
            "SIZE",
            "CLASS",
            "ENCRYPTION",
            "GROW",
            "RECLAIM",
        ])
        .style(t.header),
    )
    .row_highlight_style(t.selected)
    .block(block(
        format!(
            " disks ({}) · judged by profile {profile} ",
            app.disks.len()
        ),
        t,
    ));
    let mut st = TableState::default().with_selected(Some(app.dash.selected));
    f.render_stateful_widget(table, table_area, &mut st);
    let ev: Vec<Line> = match app.disks.get(app.dash.selected) {
        Some(d) => std::iter::once(Line::from(Span::styled(
            d.message.clone(),
            if d.verdict == Verdict::Pass {
                t.ok
            } else {
                t.fail
            },
        )))
        .chain(d.evidence.iter().map(|e| Line::from(format!("  {e}"))))
        .chain(
            (!d.fix.is_empty())
                .then(|| Line::from(Span::styled(format!("fix: {}", d.fix), t.accent))),
        )
        .collect(),
        None => vec![Line::from("no volumes in this namespace")],
    };
    f.render_widget(
        Paragraph::new(ev)
            .wrap(Wrap { trim: false })
            .block(block(" evidence ", t)),
        evidence_area,
    );
}

fn draw_ingestion(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let Some(last) = app.probes.back() else {
        f.render_widget(
            Paragraph::new(
                "No probe yet: the first one runs when the dashboard opens (ctrl-r probes now).",
            )
            .block(block(" ingestion ", t)),
            area,
        );
        return;
    };
    let [checks_area, sparks] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(8)]).areas(area);
    let mut lines = vec![Line::from(Span::styled(format!("via {}", last.via), t.dim))];
    for c in health::ingestion_checks(last) {
        lines.push(Line::from(vec![
            Span::raw("["),
            verdict_span(t, c.verdict),
            Span::raw(format!("] {}", c.message)),
        ]));
        if c.verdict != Verdict::Pass && !c.fix.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("       fix: {}", c.fix),
                t.dim,
            )));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(
                format!(" ingestion · {} probe(s) ", app.probes.len()),
                t,
            )),
        checks_area,
    );
    let [a, b] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(sparks);
    let capture: Vec<u64> = app.probes.iter().map(|p| p.capture.latency_ms).collect();
    let e2e: Vec<u64> = app
        .probes
        .iter()
        .map(|p| p.visible_after_ms.unwrap_or(0))
        .collect();
    f.render_widget(
        Sparkline::default()
            .data(&capture)
            .style(t.accent)
            .block(block(
                format!(" capture ms (last {}) ", capture.last().unwrap_or(&0)),
                t,
            )),
        a,
    );
    f.render_widget(
        Sparkline::default().data(&e2e).style(t.ok).block(block(
            format!(" end-to-end ms (last {}) ", e2e.last().unwrap_or(&0)),
            t,
        )),
        b,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_help(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let lines: Vec<Line> = keymap::help_lines(app.ctx(), app.opts.readonly)
        .into_iter()
        .map(|(k, h)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), t.accent),
                Span::raw(h),
            ])
        })
        .collect();
    let r = centered(area, 78, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(block(" keys · esc closes ", t)),
        r,
    );
}

fn draw_revisions(f: &mut Frame, area: Rect, p: &super::app::RevisionPicker, t: &Theme) {
    let rows = p.revisions.iter().map(|r| {
        Row::new(vec![
            r.revision.to_string(),
            r.status.clone(),
            format!("{}-{}", r.chart, r.chart_version),
            r.app_version.clone(),
            r.updated.get(..19).unwrap_or(&r.updated).replace('T', " "),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Length(16),
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(["REV", "STATUS", "CHART", "APP", "UPDATED"]).style(t.header))
    .row_highlight_style(t.selected)
    .block(
        block(
            format!(" roll {} back to · enter: choose · esc: cancel ", p.release),
            t,
        )
        .border_style(t.warn),
    );
    let r = centered(area, 76, p.revisions.len() as u16 + 4);
    f.render_widget(Clear, r);
    let mut st = TableState::default().with_selected(Some(p.selected));
    f.render_stateful_widget(table, r, &mut st);
}

fn draw_confirm(f: &mut Frame, area: Rect, c: &Confirm, app: &App, t: &Theme) {
    let text = match c {
        Confirm::Apply => {
            let changes = app.wizard.as_ref().map(|w| w.plan.changes.len()).unwrap_or(0);
            format!(
                "Apply {changes} value change(s) to {} in {} with helm?\n\ny: apply   n: cancel",
                app.opts.release, app.opts.namespace
            )
        }
        Confirm::Rollback {
            release,
            namespace,
            revision,
        } => format!(
            "Roll {release} in {namespace} back to {}?\n\ny: roll back   n: cancel",
            revision.map(|r| format!("revision {r}")).unwrap_or_else(|| "the last deployed revision".into())
        ),
        Confirm::QuitWhileRunning => "helm is still running. Quit when it finishes, or now and leave it running (`helmdeck status` follows it)?\n\nw: wait, then quit   l: leave it running   n: stay".into(),
    };
    let r = centered(area, 60, 7);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .style(Style::default().add_modifier(Modifier::BOLD))
            .block(block(" confirm ", t).border_style(t.warn)),
        r,
    );
}
