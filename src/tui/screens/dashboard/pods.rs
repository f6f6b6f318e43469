//! The pods pane: the release's components, then every pod, filtered and sorted as k9s
//! does; enter opens a pod's details (status, events, log tail).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::{Dashboard, PodSort};
use crate::health::pods::PodRow;
use crate::health::usage::{self, UsageCells};
use crate::tui::session::Session;
use crate::tui::theme::{Theme, Tone};
use crate::tui::widgets::{self, age, block, keep_end, state_style};

type UsageColumn = fn(&UsageCells) -> &String;

/// The usage columns in k9s's order; the first two show whenever usage is measured.
const USAGE_COLUMNS: [(&str, UsageColumn); 6] = [
    ("CPU", |u| &u.cpu),
    ("MEM", |u| &u.memory),
    ("%CPU/R", |u| &u.cpu_of_request),
    ("%MEM/R", |u| &u.memory_of_request),
    ("%CPU/L", |u| &u.cpu_of_limit),
    ("%MEM/L", |u| &u.memory_of_limit),
];

/// The pods pane's rows after the `/` filter and the sort.
pub fn visible_pods<'a>(dash: &Dashboard, session: &'a Session) -> Vec<&'a PodRow> {
    let f = dash.filter.to_lowercase();
    let mut rows: Vec<&PodRow> = session
        .pods
        .pods
        .iter()
        .filter(|p| dash.only.as_ref().is_none_or(|o| o.pods.contains(&p.name)))
        .filter(|p| {
            f.is_empty()
                || p.name.to_lowercase().contains(&f)
                || session.all_namespaces() && p.namespace.to_lowercase().contains(&f)
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
    match dash.sort {
        // The report's order: by component, then name.
        PodSort::Component => {}
        PodSort::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        PodSort::Status => rows.sort_by_key(|p| status(p)),
        // Most restarts and youngest first: what needs looking at.
        PodSort::Restarts => rows.sort_by_key(|p| std::cmp::Reverse(p.restarts)),
        PodSort::Age => rows.sort_by_key(|p| p.age_secs),
    }
    if dash.sort_reversed {
        rows.reverse();
    }
    rows
}

/// The components table above the pods: those that need attention first when not all fit.
fn draw_components(f: &mut Frame, comp_area: Rect, session: &Session, t: &Theme) {
    // When not every component fits, the ones that need attention come first and the title
    // says how many are hidden.
    let room = comp_area.height.saturating_sub(3) as usize;
    let mut comps: Vec<_> = session.pods.components.iter().collect();
    let hidden = comps.len().saturating_sub(room);
    if hidden > 0 {
        comps.sort_by_key(|c| c.state == crate::health::pods::State::Ready);
    }
    let name_width =
        widgets::widest(9, session.pods.components.iter().map(|c| c.name.len())).min(32) as u16;
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
                    session.pods.components.len()
                )
            } else {
                " components ".to_string()
            },
            t,
        )),
        comp_area,
    );
}

pub(super) fn draw_pods(f: &mut Frame, area: Rect, dash: &Dashboard, session: &Session, t: &Theme) {
    let [comp_area, pods_area] = Layout::vertical([
        Constraint::Length((session.pods.components.len() as u16 + 3).min(area.height / 2)),
        Constraint::Min(3),
    ])
    .areas(area);
    draw_components(f, comp_area, session, t);
    let rows = visible_pods(dash, session);
    let total = rows.len();
    // Only the rows that fit are built: a 10,000-pod namespace costs what a screenful does.
    let height = pods_area.height.saturating_sub(3) as usize;
    let sel = dash.selected.min(total.saturating_sub(1));
    let offset = sel.saturating_sub(height.saturating_sub(1));
    // Names, statuses, restarts and ages whole. What is left goes to the component and the
    // node, each keeping its distinguishing end (`…-operator`): the component gives way
    // first, down to 6 columns, then the node; below that the component goes (the pod's name
    // carries it) and the node keeps what is left.
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
    let comp_full = widest(&|p| p.component.chars().count(), 9);
    let node_full = widest(&|p| p.node.chars().count(), 4);
    let inner = pods_area.width.saturating_sub(2) as usize;
    let fixed = 5 + 3 + 4 + 6; // READY, RST, AGE and the gaps between seven columns
    // Every namespace: which one each pod is in comes first, as k9s shows it.
    let ns_w = if session.all_namespaces() {
        widest(&|p| p.namespace.chars().count(), 9) + 1
    } else {
        0
    };
    let mut left = inner.saturating_sub(fixed + name_w + status_w + ns_w);
    // CPU and memory when metrics-server measures them; the shares of requests, then of
    // limits, only where the component and node still fit whole beside them.
    let measured = session.usage.as_ref().and_then(|u| u.as_ref().ok());
    let usage: Vec<UsageCells> = visible
        .iter()
        .map(|p| usage::cells(p, measured.and_then(|m| m.get(&p.name))))
        .collect();
    let mut usage_cols: Vec<(&str, UsageColumn, usize)> = Vec::new();
    if measured.is_some() {
        for (i, (head, col)) in USAGE_COLUMNS.iter().enumerate() {
            let w = usage
                .iter()
                .map(|u| col(u).chars().count())
                .max()
                .unwrap_or(0)
                .max(head.len());
            let room_after = left.saturating_sub(w + 1);
            if i < 2 || room_after >= comp_full + node_full {
                usage_cols.push((head, *col, w));
                left = room_after;
            }
        }
    }
    let (comp_w, node_w) = if left >= comp_full + node_full {
        (comp_full, node_full)
    } else if left >= 6 + node_full {
        (left - node_full, node_full)
    } else if left >= 6 + 4 {
        (6, left - 6)
    } else {
        (0, left)
    };
    let shown = visible.iter().zip(&usage).map(|(p, u)| {
        let status = match &p.problem {
            Some(x) => Span::styled(x.reason.clone(), t.fail),
            None if p.is_ready() || p.completed => Span::styled(p.phase.clone(), t.ok),
            None => Span::styled(p.phase.clone(), t.warn),
        };
        let mut cells = Vec::new();
        if ns_w > 0 {
            cells.push(Cell::from(p.namespace.clone()));
        }
        cells.extend([
            Cell::from(keep_end(&p.component, comp_w)),
            Cell::from(p.name.clone()),
            Cell::from(format!("{}/{}", p.ready, p.containers)),
            Cell::from(status),
            Cell::from(p.restarts.to_string()),
            Cell::from(age(p.age_secs)),
        ]);
        cells.extend(
            usage_cols
                .iter()
                .map(|(_, col, _)| Cell::from(col(u).clone())),
        );
        cells.push(Cell::from(keep_end(&p.node, node_w)));
        Row::new(cells)
    });
    let mut widths = Vec::new();
    if ns_w > 0 {
        widths.push(Constraint::Length(ns_w as u16 - 1));
    }
    widths.extend([
        Constraint::Length(comp_w as u16),
        Constraint::Length(name_w as u16),
        Constraint::Length(5),
        Constraint::Length(status_w as u16),
        Constraint::Length(3),
        Constraint::Length(4),
    ]);
    widths.extend(
        usage_cols
            .iter()
            .map(|(_, _, w)| Constraint::Length(*w as u16)),
    );
    widths.push(Constraint::Length(node_w as u16));
    let mut headers = if ns_w > 0 {
        vec!["NAMESPACE"]
    } else {
        Vec::new()
    };
    headers.extend(["COMPONENT", "NAME", "READY", "STATUS", "RST", "AGE"]);
    headers.extend(usage_cols.iter().map(|(h, _, _)| *h));
    headers.push("NODE");
    let table = Table::new(shown, widths)
        .header(
            Row::new(headers.into_iter().map(|h| {
                // A narrowed component column keeps its sort arrow: the word gives way.
                let arrow = usize::from(h == dash.sort.column().0);
                let word = if h == "COMPONENT" && comp_w < h.len() + arrow {
                    "COMP"
                } else {
                    h
                };
                if h == dash.sort.column().0 {
                    format!("{word}{}", if dash.sort_reversed { "▼" } else { "▲" })
                } else {
                    word.to_string()
                }
            }))
            .style(t.header),
        )
        .row_highlight_style(t.selected)
        .block(block(pods_title(dash, session, total), t));
    let mut st = TableState::default().with_selected(Some(sel - offset));
    f.render_stateful_widget(table, pods_area, &mut st);
}

/// The pod detail's lines: what it is, what is wrong, its events oldest to newest (as
/// kubectl lists them, with age and count) and its log tail.
pub(super) fn detail(dash: &Dashboard, session: &Session) -> Option<Vec<(Tone, String)>> {
    let name = dash.detail.clone().unwrap_or_default();
    let p = session.pods.pods.iter().find(|p| p.name == name)?;
    let mut lines = vec![
        (
            Tone::Plain,
            format!(
                "{} · {} · {} · node {}",
                p.name, p.component, p.phase, p.node
            ),
        ),
        (
            Tone::Plain,
            format!(
                "ready {}/{} · restarts {} · age {}",
                p.ready,
                p.containers,
                p.restarts,
                age(p.age_secs)
            ),
        ),
    ];
    if let Some(x) = &p.problem {
        lines.push((Tone::Fail, format!("{}: {}", x.reason, x.message)));
    }
    if let Some(l) = &p.last_termination {
        lines.push((Tone::Plain, format!("last termination: {l}")));
    }
    if let Some(fnd) = session
        .pods
        .findings
        .iter()
        .find(|f| f.subject.pod() == Some(p.name.as_str()))
    {
        lines.push((Tone::Accent, format!("next step: {}", fnd.next_step)));
    }
    lines.push((Tone::Plain, String::new()));
    lines.push((
        Tone::Header,
        "events (oldest first: LAST SEEN, COUNT, TYPE, REASON)".into(),
    ));
    let mut events: Vec<_> = session
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
    let now = session
        .now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if events.is_empty() {
        lines.push((Tone::Dim, "  (none)".into()));
    }
    for e in events {
        let ago = match seen(e) {
            0 => "?".to_string(),
            s => age((now - s).max(0) as u64),
        };
        lines.push((
            Tone::Plain,
            format!(
                "  {ago:>4} ×{:<3} {} {}: {}",
                e.count.unwrap_or(1),
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default()
            ),
        ));
    }
    lines.push((Tone::Plain, String::new()));
    lines.push((Tone::Header, "log tail".into()));
    for l in &dash.logs {
        lines.push((Tone::Plain, format!("  {l}")));
    }
    Some(lines)
}

pub(super) fn draw_detail(
    f: &mut Frame,
    area: Rect,
    dash: &Dashboard,
    session: &Session,
    t: &Theme,
) {
    let name = dash.detail.clone().unwrap_or_default();
    let Some(rows) = detail(dash, session) else {
        f.render_widget(
            Paragraph::new(format!("pod {name} is gone")).block(block(" pod ", t)),
            area,
        );
        return;
    };
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(tone, text)| Line::styled(text, t.style(tone)))
        .collect();
    let total = lines.len();
    let at = dash.detail_scroll.min(total.saturating_sub(1));
    let (w, h) = (area.width.saturating_sub(2), area.height.saturating_sub(2));
    let offset = widgets::scroll_rows(&lines, w, h, at);
    let more = if widgets::scroll_rows(&lines, w, h, total) > 0 {
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

/// The pods table's title: whose pods, how many, the sort and the filter.
fn pods_title(dash: &Dashboard, session: &Session, total: usize) -> String {
    let sort = dash.sort.column().0.to_lowercase();
    let filter = if dash.filter.is_empty() {
        String::new()
    } else {
        format!(" · /{}", dash.filter)
    };
    match &dash.only {
        Some(o) => format!(
            " pods of {} ({total}) · sort {sort}{filter} · esc: back ",
            o.of
        ),
        None => format!(
            " pods{} ({total}) · sort {sort}{filter} · enter: details{} ",
            if session.all_namespaces() {
                " · all namespaces"
            } else {
                ""
            },
            match &session.usage {
                Some(Err(e)) => format!(" · no CPU/MEM: {e}"),
                _ => String::new(),
            }
        ),
    }
}
