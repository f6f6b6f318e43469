//! The frame around the screens: the header above and the footer below. Each screen draws
//! itself in its own module, overlays in `overlay`; the pieces they share are in `widgets`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::line_edit::LineEdit;
use super::screens::run::RunView;
use super::session::Session;
use super::theme::Theme;
use super::widgets::state_style;

/// The top line: where the app looks, then what changes (a failing run, the watchers'
/// state, TLS). `dashboard` adds the pods' state; `running` is the operation under way when
/// its own screen is not shown.
pub fn header(
    f: &mut Frame,
    area: Rect,
    s: &Session,
    dashboard: bool,
    running: Option<&RunView>,
    t: &Theme,
) {
    // What changes (a failing run, the watchers' state, TLS) matters more than where we are:
    // when the line is too long the context is shortened, then moved behind the status, so
    // what gets cut is never the news.
    let mut status: Vec<Span> = Vec::new();
    if dashboard {
        status.push(Span::styled(
            s.pods.state.label().to_string(),
            state_style(t, s.pods.state),
        ));
    }
    if let Some(r) = running {
        let secs = s
            .now
            .duration_since(r.started)
            .unwrap_or_default()
            .as_secs();
        status.push(match &r.problem {
            Some(_) => Span::styled(
                format!("✗ {} {}: a pod is failing (o)", r.what, r.release),
                t.fail,
            ),
            None => Span::styled(format!("⟳ {} {} {secs}s (o)", r.what, r.release), t.warn),
        });
    }
    status.push(Span::styled(
        format!("watchers {}", s.connection.describe(s.now)),
        if matches!(s.connection, crate::cluster::watch::Connection::Live) {
            t.ok
        } else {
            t.warn
        },
    ));
    if s.opts.readonly {
        status.push(Span::styled("read-only", t.dim));
    }
    if s.opts.tls_unverified {
        status.push(Span::styled("TLS unverified", t.warn));
    }
    let (ctx, ns, release) = (&s.opts.context, s.namespace_label(), &s.opts.release);
    let status_width: usize = status.iter().map(|s| s.width() + 3).sum();
    let fits = |context: &str| 10 + context.chars().count() + status_width <= area.width as usize;
    let (long, short) = if s.all_namespaces() {
        (format!("ctx {ctx} · ns all"), format!("{ctx} all"))
    } else {
        (
            format!("ctx {ctx} · ns {ns} · release {release}"),
            format!("{ctx} {ns}/{release}"),
        )
    };
    let mut spans = vec![Span::styled(" helmdeck ", t.title), Span::raw(" ")];
    let joined = |spans: &mut Vec<Span<'static>>, items: Vec<Span<'static>>| {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" · "));
            }
            spans.push(item);
        }
    };
    if fits(&long) || fits(&short) {
        let context = if fits(&long) { long } else { short };
        let mut items = vec![Span::raw(context)];
        items.extend(status);
        joined(&mut spans, items);
    } else {
        status.push(Span::raw(short));
        joined(&mut spans, status);
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The bottom line: the prompt being typed, else the status message, else the keys that
/// work on this screen.
pub fn footer(
    f: &mut Frame,
    area: Rect,
    prompt_text: Option<(&'static str, &LineEdit)>,
    message: Option<&str>,
    keys: String,
    t: &Theme,
) {
    let prompt = |sigil: &'static str, e: &LineEdit| {
        let (before, at, after) = e.view((area.width as usize).saturating_sub(2));
        Line::from(vec![
            Span::styled(sigil, t.accent),
            Span::raw(before),
            Span::styled(at, Style::default().add_modifier(Modifier::REVERSED)),
            Span::raw(after),
        ])
    };
    let line = match (prompt_text, message) {
        (Some((sigil, e)), _) => prompt(sigil, e),
        (None, Some(m)) => Line::from(Span::styled(m.to_string(), t.warn)),
        (None, None) => Line::from(Span::styled(keys, t.dim)),
    };
    f.render_widget(Paragraph::new(line), area);
}
