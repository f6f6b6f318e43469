//! The ingestion pane: the latest probe's checks (an event captured, then visible) and the
//! latency of the last probes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Wrap};

use crate::health;
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, verdict_span};
use crate::verdict::Verdict;

pub(super) fn draw(f: &mut Frame, area: Rect, session: &Session, t: &Theme) {
    let area = match monitoring_height(session, area.width) {
        0 => area,
        h => {
            let [rest, below] =
                Layout::vertical([Constraint::Min(6), Constraint::Length(h)]).areas(area);
            draw_monitoring(f, below, session, t);
            rest
        }
    };
    let Some(last) = session.probes.back() else {
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
                format!(" ingestion · {} probe(s) ", session.probes.len()),
                t,
            )),
        checks_area,
    );
    let [a, b] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(sparks);
    let capture: Vec<u64> = session
        .probes
        .iter()
        .map(|p| p.capture.latency_ms)
        .collect();
    let e2e: Vec<u64> = session
        .probes
        .iter()
        .map(|p| p.visible_after_ms.unwrap_or(0))
        .collect();
    // One bar one column wide reads as an empty chart: until there are two, the numbers.
    if session.probes.len() < 2 {
        let text = |v: Option<&u64>, what: &str| match v {
            Some(ms) => format!("{ms} ms\n\n(the chart starts with the second probe)"),
            None => format!("no {what} yet"),
        };
        f.render_widget(
            Paragraph::new(text(capture.last(), "probe"))
                .wrap(Wrap { trim: true })
                .block(block(" capture ms ", t)),
            a,
        );
        let visible = session.probes.back().and_then(|p| p.visible_after_ms);
        f.render_widget(
            Paragraph::new(match (session.probes.back(), visible) {
                (Some(_), None) => "not visible (yet)".to_string(),
                (_, v) => text(v.as_ref(), "probe"),
            })
            .wrap(Wrap { trim: true })
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

/// The lines the monitoring block wraps to at `width`, borders included; 0 when the release
/// turns no monitoring on.
fn monitoring_height(session: &Session, width: u16) -> u16 {
    if session.monitoring.is_empty() {
        return 0;
    }
    let inner = width.saturating_sub(2).max(1) as usize;
    let parts: usize = session.monitoring.iter().map(|r| r.name.len() + 12).sum();
    let grafana = session.grafana.as_ref().map_or(0, |g| g.len() + 9);
    (2 + parts.div_ceil(inner) + grafana.div_ceil(inner)) as u16
}

/// The chart's monitoring parts the release turns on, each with its pods ready, and the
/// command that opens Grafana.
fn draw_monitoring(f: &mut Frame, area: Rect, session: &Session, t: &Theme) {
    let mut parts = Vec::new();
    for (i, r) in session.monitoring.iter().enumerate() {
        if i > 0 {
            parts.push(Span::styled(" · ", t.dim));
        }
        parts.push(Span::raw(format!("{} {}/{} ", r.name, r.ready, r.pods)));
        parts.push(verdict_span(t, r.verdict));
    }
    let mut lines = vec![Line::from(parts)];
    if let Some(g) = &session.grafana {
        lines.push(Line::from(vec![
            Span::styled("Grafana: ", t.dim),
            Span::raw(g.clone()),
        ]));
    }
    let worst = session.monitoring.iter().map(|r| r.verdict).max();
    let title = match worst {
        Some(Verdict::Pass) => " monitoring · all ready ".to_string(),
        _ => " monitoring · not all ready ".to_string(),
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(title, t)),
        area,
    );
}
