//! The resource views (`:deploy`, `:sts`, `:svc`, `:pvc`, `:events`, `:jobs`) with kubectl's
//! columns, and the x-ray tree (`:xray`). Rows come from `health::objects` and
//! `health::xray`; enter drills down to the pods, disk or pod a row leads to.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, List, ListItem, ListState, Paragraph, Row, Table, TableState, Wrap};

use super::{Dashboard, Pane};
use crate::health::objects::{ObjectKind, ObjectRow};
use crate::health::pods::State;
use crate::health::xray::{Mark, XrayRow};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, keep_end, keep_start, state_style, verdict_span, wrapped_rows};

/// The rows of a resource view, `/`-filtered on every cell.
pub fn visible_objects(dash: &Dashboard, s: &Session, kind: ObjectKind) -> Vec<ObjectRow> {
    let f = dash.filter.to_lowercase();
    s.objects(kind)
        .iter()
        .filter(|r| f.is_empty() || r.cells.iter().any(|c| c.to_lowercase().contains(&f)))
        .cloned()
        .collect()
}

/// The x-ray's rows (every pod of the namespace when it has no release).
pub fn xray_rows(s: &Session) -> &[XrayRow] {
    &s.xray
}

/// The columns that give way, first to last, when a view is narrower than its rows (as
/// kubectl's `-o wide` columns are the ones it leaves out): what a decision depends on —
/// names, readiness, status, addresses, sizes, classes — stays.
fn give_way(kind: ObjectKind) -> &'static [usize] {
    match kind {
        ObjectKind::Deployments => &[2, 3],
        ObjectKind::StatefulSets => &[],
        ObjectKind::Services => &[2, 5],
        ObjectKind::Claims => &[4, 6, 2],
        ObjectKind::Events => &[],
        ObjectKind::Jobs => &[3],
    }
}

/// Column widths (None: left out): each column as wide as its widest visible cell; when they
/// do not fit, the columns that give way go, then the widest one other than the name (the
/// events' message, which the line below the table shows whole) narrows.
fn widths(kind: ObjectKind, rows: &[&ObjectRow], inner: usize) -> Vec<Option<usize>> {
    let headers = kind.headers();
    let mut w: Vec<Option<usize>> = headers.iter().map(|h| Some(h.chars().count())).collect();
    for r in rows {
        for (i, c) in r.cells.iter().enumerate() {
            w[i] = w[i].map(|n| n.max(c.chars().count()));
        }
    }
    let total = |w: &[Option<usize>]| {
        let kept: Vec<usize> = w.iter().flatten().copied().collect();
        kept.iter().sum::<usize>() + kept.len().saturating_sub(1)
    };
    for &i in give_way(kind) {
        if total(&w) <= inner {
            break;
        }
        w[i] = None;
    }
    // The events' message narrows first: the line below the table shows it whole.
    if kind == ObjectKind::Events {
        let over = total(&w).saturating_sub(inner);
        w[4] = w[4].map(|n| n.saturating_sub(over).max(10.min(n)));
    }
    while total(&w) > inner {
        let widest = w
            .iter()
            .enumerate()
            .filter(|(i, _)| *i > 0)
            .filter_map(|(i, n)| n.map(|n| (i, n)))
            .max_by_key(|(_, n)| *n);
        match widest {
            Some((i, n)) if n > 6 => w[i] = Some(n - 1),
            _ => break,
        }
    }
    w
}

pub(super) fn draw(f: &mut Frame, area: Rect, dash: &Dashboard, s: &Session, t: &Theme) {
    let Pane::Objects(kind) = dash.pane else {
        return;
    };
    let rows = visible_objects(dash, s, kind);
    let total = rows.len();
    let height = area.height.saturating_sub(3) as usize;
    let sel = dash.selected.min(total.saturating_sub(1));
    let offset = sel.saturating_sub(height.saturating_sub(1));
    let shown: Vec<&ObjectRow> = rows.iter().skip(offset).take(height.max(1)).collect();
    let w = widths(kind, &shown, area.width.saturating_sub(2) as usize);
    let table_rows = shown.iter().map(|r| {
        Row::new(r.cells.iter().enumerate().filter_map(|(i, c)| {
            let width = w[i]?;
            // Names keep their distinguishing end (`…-operator`), messages their start.
            let text = if kind == ObjectKind::Events && i == 4 {
                keep_start(c, width)
            } else {
                keep_end(c, width)
            };
            // The column that says how it is doing takes the row's colour.
            Some(if i == status_column(kind) {
                Cell::from(Span::styled(text, state_style(t, r.state)))
            } else {
                Cell::from(text)
            })
        }))
    });
    let filter = if dash.filter.is_empty() {
        String::new()
    } else {
        format!(" · /{}", dash.filter)
    };
    let scope = scope(s);
    let title = format!(
        " {} ({total}) · {scope}{filter} · {} ",
        kind.title(),
        if total == 0 {
            "none".to_string()
        } else {
            format!("{}/{total} · enter: {}", sel + 1, drill_word(kind))
        }
    );
    let headers = kind
        .headers()
        .iter()
        .zip(&w)
        .filter(|(_, w)| w.is_some())
        .map(|(h, _)| *h);
    let table = Table::new(
        table_rows,
        w.iter().flatten().map(|n| Constraint::Length(*n as u16)),
    )
    .header(Row::new(headers).style(t.header))
    .row_highlight_style(t.selected)
    .block(block(title, t));
    let mut st = TableState::default().with_selected((total > 0).then_some(sel - offset));
    // An event's message whole, below the list, when the column cuts it.
    let message = rows
        .get(sel)
        .filter(|_| kind == ObjectKind::Events)
        .and_then(|r| r.cells.get(4))
        .filter(|m| w[4].is_some_and(|w| m.chars().count() > w));
    let (table_area, message_area) = match message {
        Some(m) => {
            let inner = area.width.saturating_sub(2);
            let h = wrapped_rows(m, inner).clamp(1, area.height / 3) + 2;
            let [a, b] = Layout::vertical([Constraint::Min(3), Constraint::Length(h)]).areas(area);
            (a, Some((b, m)))
        }
        None => (area, None),
    };
    f.render_stateful_widget(table, table_area, &mut st);
    if let Some((b, m)) = message_area {
        f.render_widget(
            Paragraph::new(m.as_str())
                .wrap(Wrap { trim: false })
                .block(block(" message ", t)),
            b,
        );
    }
}

/// What a view lists: the release's objects, or the whole namespace's when it has none.
fn scope(s: &Session) -> String {
    match s.release_here() {
        Some(r) => r.to_string(),
        None => format!("namespace {}", s.opts.namespace),
    }
}

fn status_column(kind: ObjectKind) -> usize {
    match kind {
        ObjectKind::Events => 1,
        ObjectKind::Services => 3,
        _ => 1,
    }
}

fn drill_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Claims => "disk",
        ObjectKind::Events => "pod",
        _ => "pods",
    }
}

pub(super) fn draw_xray(f: &mut Frame, area: Rect, dash: &Dashboard, s: &Session, t: &Theme) {
    let rows = xray_rows(s);
    let total = rows.len();
    let sel = dash.selected.min(total.saturating_sub(1));
    let inner = area.width.saturating_sub(2) as usize;
    let items: Vec<ListItem> = rows
        .iter()
        .map(|r| {
            let mark = match r.mark {
                Mark::State(st) => Span::styled(st.label(), state_style(t, st)),
                Mark::Verdict(v) => verdict_span(t, v),
                Mark::None => Span::raw(""),
            };
            let head = format!("{}{} {}", r.branch, r.kind, r.name);
            let used = head.chars().count() + mark.content.chars().count() + 2;
            let detail = keep_start(&r.detail, inner.saturating_sub(used + 1));
            ListItem::new(Line::from(vec![
                Span::raw(r.branch.clone()),
                Span::styled(format!("{} ", r.kind), t.dim),
                Span::raw(r.name.clone()),
                Span::raw(" "),
                mark,
                Span::styled(
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!("  {detail}")
                    },
                    t.dim,
                ),
            ]))
        })
        .collect();
    let title = format!(
        " xray · {} · {}/{total} · enter: pod or disk ",
        scope(s),
        (sel + 1).min(total)
    );
    let list = List::new(items)
        .block(block(title, t))
        .highlight_style(t.selected);
    let mut st = ListState::default().with_selected((total > 0).then_some(sel));
    f.render_stateful_widget(list, area, &mut st);
}

/// A resource view's tab: its short name and how many of the release's there are, its worst
/// state marked.
pub(super) fn tab_title(kind: Option<ObjectKind>, s: &Session, t: &Theme) -> Line<'static> {
    let Some(kind) = kind else {
        return Line::from("X-ray");
    };
    let rows = s.objects(kind);
    let worst = rows.iter().map(|r| r.state).max().unwrap_or(State::Ready);
    if kind == ObjectKind::Events {
        let warnings = rows.iter().filter(|r| r.state != State::Ready).count();
        return Line::from(vec![
            Span::raw(format!("events {} ", rows.len())),
            Span::styled(
                format!("{warnings} warning(s)"),
                if warnings > 0 { t.warn } else { t.dim },
            ),
        ]);
    }
    if rows.is_empty() {
        return Line::from(format!("{} 0", kind.short()));
    }
    Line::from(vec![
        Span::raw(format!("{} {} ", kind.short(), rows.len())),
        Span::styled(worst.label(), state_style(t, worst)),
    ])
}
