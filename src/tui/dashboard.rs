//! The dashboard: pods by component, disk encryption and ingestion health, from the shared
//! watchers' snapshot through `health`'s analysers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table, TableState, Tabs, Wrap};

use super::app::{App, Effect, Screen};
use super::theme::Theme;
use super::widgets::{age, block, state_style, verdict_span};
use crate::health::{self, pods::PodRow};
use crate::profile::Profile;
use crate::verdict::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Pods,
    Disks,
    Ingestion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSort {
    Component,
    Name,
    Status,
    Restarts,
    Age,
}

impl PodSort {
    /// The column header it sorts, and the shift key that picks it (k9s's habit).
    pub fn column(self) -> (&'static str, char) {
        match self {
            PodSort::Component => ("COMPONENT", 'C'),
            PodSort::Name => ("NAME", 'N'),
            PodSort::Status => ("STATUS", 'S'),
            PodSort::Restarts => ("RST", 'R'),
            PodSort::Age => ("AGE", 'A'),
        }
    }

    pub fn for_key(c: char) -> Option<PodSort> {
        [
            PodSort::Component,
            PodSort::Name,
            PodSort::Status,
            PodSort::Restarts,
            PodSort::Age,
        ]
        .into_iter()
        .find(|s| s.column().1 == c)
    }
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub pane: Pane,
    pub selected: usize,
    pub filter: String,
    pub sort: PodSort,
    /// The sort runs the other way (shift+column again, as k9s).
    pub sort_reversed: bool,
    /// The pod whose details are open, and how far they are scrolled.
    pub detail: Option<String>,
    pub detail_scroll: usize,
    /// A pod's logs or YAML, full screen.
    pub text: Option<super::pod_text::PodText>,
    pub logs: Vec<String>,
}

impl App {
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

    /// Recomputes the pane rows from the snapshot.
    pub fn derive(&mut self) {
        let judged = self.judgement();
        self.pods = judged.pods.unwrap_or_else(|| {
            crate::health::pods_report(&self.snapshot, Some(&self.opts.release), self.now)
        });
        self.disks = judged.disks.unwrap_or_default();
    }

    /// The dashboard's verdicts on its snapshot, as `helmdeck check` and the engine's Verify
    /// give them (the latest ingestion probe included).
    pub fn judgement(&self) -> crate::health::Judgement {
        let rule = self
            .dashboard_profile()
            .map(|p| p.storage.encryption)
            .unwrap_or(crate::profile::EncryptionRule::NotRequired);
        let asked = crate::health::Asked {
            release: Some(&self.opts.release),
            rule,
            pods: true,
            disks: true,
            now: self.now,
        };
        crate::health::Judgement::of(&self.snapshot, asked, self.probes.back())
    }

    pub(super) fn open_dashboard(&mut self, pane: Pane) -> Vec<Effect> {
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
}

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
    let status = |p: &PodRow| {
        p.problem
            .as_ref()
            .map_or(p.phase.clone(), |x| x.reason.clone())
    };
    match app.dash.sort {
        // The report's order: by component, then name.
        PodSort::Component => {}
        PodSort::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        PodSort::Status => rows.sort_by_key(|p| status(p)),
        // Most restarts and youngest first: what needs looking at.
        PodSort::Restarts => rows.sort_by_key(|p| std::cmp::Reverse(p.restarts)),
        PodSort::Age => rows.sort_by_key(|p| p.age_secs),
    }
    if app.dash.sort_reversed {
        rows.reverse();
    }
    rows
}

pub(super) fn draw_dashboard(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
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
    if let Some(v) = &app.dash.text {
        super::pod_text::draw_pod_text(f, pane, v, t);
        return;
    }
    match app.dash.pane {
        Pane::Pods if app.dash.detail.is_some() => draw_pod_detail(f, pane, app, t),
        Pane::Pods => draw_pods(f, pane, app, t),
        Pane::Disks => draw_disks(f, pane, app, t),
        Pane::Ingestion => draw_ingestion(f, pane, app, t),
    }
}

pub(super) fn draw_pods(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let [comp_area, pods_area] = Layout::vertical([
        Constraint::Length((app.pods.components.len() as u16 + 3).min(area.height / 2)),
        Constraint::Min(3),
    ])
    .areas(area);
    // When not every component fits, the ones that need attention come first and the title
    // says how many are hidden.
    let room = comp_area.height.saturating_sub(3) as usize;
    let mut comps: Vec<_> = app.pods.components.iter().collect();
    let hidden = comps.len().saturating_sub(room);
    if hidden > 0 {
        comps.sort_by_key(|c| c.state == crate::health::pods::State::Ready);
    }
    let name_width =
        super::widgets::widest(9, app.pods.components.iter().map(|c| c.name.len())).min(32) as u16;
    let comps = comps.into_iter().take(room.max(1)).map(|c| {
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
                Constraint::Length(name_width + 1),
                Constraint::Length(12),
                Constraint::Length(8),
                Constraint::Min(4),
            ],
        )
        .header(Row::new(["COMPONENT", "STATE", "READY", "RESTARTS"]).style(t.header))
        .block(block(
            if hidden > 0 {
                format!(
                    " components · {hidden} more ready (of {}) · the list below has every pod ",
                    app.pods.components.len()
                )
            } else {
                " components ".to_string()
            },
            t,
        )),
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
    let sort = app.dash.sort.column().0.to_lowercase();
    let filter = if app.dash.filter.is_empty() {
        String::new()
    } else {
        format!(" · /{}", app.dash.filter)
    };
    // Names and statuses whole; the component and the node get what is left.
    let visible: Vec<_> = rows.iter().skip(offset).take(height.max(1)).collect();
    let widest = |f: &dyn Fn(&crate::health::pods::PodRow) -> usize, min: usize| {
        visible.iter().map(|p| f(p)).max().unwrap_or(0).max(min)
    };
    let name_w = widest(&|p| p.name.chars().count(), 4);
    let status_w = widest(
        &|p| {
            p.problem
                .as_ref()
                .map_or(p.phase.chars().count(), |x| x.reason.chars().count())
        },
        6,
    );
    let comp_w = widest(&|p| p.component.chars().count(), 9).min(12);
    let inner = pods_area.width.saturating_sub(2) as usize;
    let fixed = 5 + 3 + 4 + 6; // READY, RST, AGE and the gaps between seven columns
    let left = inner.saturating_sub(fixed + name_w + status_w);
    let comp_w = comp_w.min(left);
    let node_w = left
        .saturating_sub(comp_w)
        .min(widest(&|p| p.node.chars().count(), 4));
    let table = Table::new(
        shown,
        [
            Constraint::Length(comp_w as u16),
            Constraint::Length(name_w as u16),
            Constraint::Length(5),
            Constraint::Length(status_w as u16),
            Constraint::Length(3),
            Constraint::Length(4),
            Constraint::Length(node_w as u16),
        ],
    )
    .header(
        Row::new(
            ["COMPONENT", "NAME", "READY", "STATUS", "RST", "AGE", "NODE"].map(|h| {
                if h == app.dash.sort.column().0 {
                    format!("{h}{}", if app.dash.sort_reversed { "▼" } else { "▲" })
                } else {
                    h.to_string()
                }
            }),
        )
        .style(t.header),
    )
    .row_highlight_style(t.selected)
    .block(block(
        format!(" pods ({total}) · sort {sort}{filter} · enter: details "),
        t,
    ));
    let mut st = TableState::default().with_selected(Some(sel - offset));
    f.render_stateful_widget(table, pods_area, &mut st);
}

/// The pod detail's lines: what it is, what is wrong, its events oldest to newest (as
/// kubectl lists them, with age and count) and its log tail.
fn pod_detail_lines(app: &App, t: &Theme) -> Option<Vec<Line<'static>>> {
    let name = app.dash.detail.clone().unwrap_or_default();
    let p = app.pods.pods.iter().find(|p| p.name == name)?;
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
        .find(|f| f.subject.pod() == Some(p.name.as_str()))
    {
        lines.push(Line::from(Span::styled(
            format!("next step: {}", fnd.next_step),
            t.accent,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "events (oldest first: LAST SEEN, COUNT, TYPE, REASON)",
        t.header,
    )));
    let mut events: Vec<_> = app
        .snapshot
        .events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(&p.name))
        .collect();
    let seen = |e: &k8s_openapi::api::core::v1::Event| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
            .unwrap_or(0)
    };
    events.sort_by_key(|e| seen(e));
    let now = app
        .now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if events.is_empty() {
        lines.push(Line::from(Span::styled("  (none)", t.dim)));
    }
    for e in events {
        let ago = match seen(e) {
            0 => "?".to_string(),
            s => age((now - s).max(0) as u64),
        };
        lines.push(Line::from(format!(
            "  {ago:>4} ×{:<3} {} {}: {}",
            e.count.unwrap_or(1),
            e.type_.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default()
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("log tail", t.header)));
    for l in &app.dash.logs {
        lines.push(Line::from(format!("  {l}")));
    }
    Some(lines)
}

/// How many lines the pod detail has, for scrolling.
pub(super) fn pod_detail_len(app: &App) -> usize {
    pod_detail_lines(app, &Theme::new(true)).map_or(0, |l| l.len())
}

pub(super) fn draw_pod_detail(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let name = app.dash.detail.clone().unwrap_or_default();
    let Some(lines) = pod_detail_lines(app, t) else {
        f.render_widget(
            Paragraph::new(format!("pod {name} is gone")).block(block(" pod ", t)),
            area,
        );
        return;
    };
    let total = lines.len();
    let at = app.dash.detail_scroll.min(total.saturating_sub(1));
    let (w, h) = (area.width.saturating_sub(2), area.height.saturating_sub(2));
    let offset = super::widgets::scroll_rows(&lines, w, h, at);
    let more = if super::widgets::scroll_rows(&lines, w, h, total) > 0 {
        format!(" · line {}/{total} · j/k pgup/pgdn", at + 1)
    } else {
        String::new()
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((offset, 0))
            .block(block(format!(" pod {name}{more} · esc: back "), t)),
        area,
    );
}

pub(super) fn draw_disks(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let [table_area, evidence_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(7)]).areas(area);
    let encryption = |d: &crate::health::disks::DiskRow| {
        serde_json::to_value(d.encryption)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    use super::widgets::widest;
    let size_w = widest(4, app.disks.iter().map(|d| d.size.len()));
    let enc_w = widest(10, app.disks.iter().map(|d| encryption(d).len()));
    // Claim names share long prefixes (data-<release>-<release>-…): when the row is short
    // the claim keeps its end, which tells them apart, and the class gives way first.
    let avail = (area.width as usize).saturating_sub(2 + 5 + size_w + enc_w + 4 + 7 + 6);
    let claim_full = widest(5, app.disks.iter().map(|d| d.claim.chars().count()));
    let class_full = widest(5, app.disks.iter().map(|d| d.storage_class.chars().count()));
    let (claim_w, class_w) = if claim_full + class_full <= avail {
        (claim_full, class_full)
    } else {
        let claim = avail.saturating_sub(class_full).max(claim_full.min(24));
        (claim, avail.saturating_sub(claim).max(8))
    };
    let rows = app.disks.iter().map(|d| {
        Row::new(vec![
            Cell::from(verdict_span(t, d.verdict)),
            Cell::from(keep_end(&d.claim, claim_w)),
            Cell::from(d.size.clone()),
            Cell::from(keep_start(&d.storage_class, class_w)),
            Cell::from(encryption(d)),
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
            Constraint::Length(claim_w as u16),
            Constraint::Length(size_w as u16),
            Constraint::Length(class_w as u16),
            Constraint::Length(enc_w as u16),
            Constraint::Length(4),
            Constraint::Min(7),
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

pub(super) fn draw_ingestion(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
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
    // One bar one column wide reads as an empty chart: until there are two, the numbers.
    if app.probes.len() < 2 {
        let text = |v: Option<&u64>, what: &str| match v {
            Some(ms) => format!("{ms} ms\n\n(the chart starts with the second probe)"),
            None => format!("no {what} yet"),
        };
        f.render_widget(
            Paragraph::new(text(capture.last(), "probe")).block(block(" capture ms ", t)),
            a,
        );
        let visible = app.probes.back().and_then(|p| p.visible_after_ms);
        f.render_widget(
            Paragraph::new(match (app.probes.back(), visible) {
                (Some(_), None) => "not visible (yet)".to_string(),
                (_, v) => text(v.as_ref(), "probe"),
            })
            .block(block(" end-to-end ms ", t)),
            b,
        );
        return;
    }
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

/// `text` in `width` columns, its end kept behind a leading `…` when it is longer.
fn keep_end(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width || width == 0 {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n - (width - 1)).collect();
    format!("…{tail}")
}

/// `text` in `width` columns, its start kept before a trailing `…` when it is longer.
fn keep_start(text: &str, width: usize) -> String {
    if text.chars().count() <= width || width == 0 {
        return text.to_string();
    }
    let head: String = text.chars().take(width - 1).collect();
    format!("{head}…")
}
