//! The frame around the screens: header, footer, help and confirmations, and the small
//! drawing helpers the screens share. Each screen draws itself in its own module.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, Confirm, Overlay, Screen};
use super::dashboard::draw_dashboard;
pub use super::dashboard::visible_pods;
use super::home::draw_home;
use super::keymap;
use super::rollback::draw_revisions;
use super::run::draw_run;
use super::theme::Theme;
use super::wizard::draw_wizard;
use crate::health::pods::State;
use crate::verdict::Verdict;

pub(super) fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

pub(super) fn verdict_span(t: &Theme, v: Verdict) -> Span<'static> {
    match v {
        Verdict::Pass => Span::styled("PASS", t.ok),
        Verdict::Warn => Span::styled("WARN", t.warn),
        Verdict::Fail => Span::styled("FAIL", t.fail),
    }
}

pub(super) fn state_style(t: &Theme, s: State) -> Style {
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
        Some(Overlay::Help(at)) => draw_help(f, body, app, *at, &t),
        Some(Overlay::Confirm(c)) => draw_confirm(f, body, c, app, &t),
        Some(Overlay::Revisions(p)) => draw_revisions(f, body, p, &t),
        Some(Overlay::Pick(p)) => draw_picker(f, body, p, &t),
        _ => {}
    }
}

pub(super) fn draw_header(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    // What changes (a failing run, the watchers' state, TLS) matters more than where we are:
    // when the line is too long the context is shortened, then moved behind the status, so
    // what gets cut is never the news.
    let mut status: Vec<Span> = Vec::new();
    if app.screen == Screen::Dashboard {
        status.push(Span::styled(
            app.pods.state.label().to_string(),
            state_style(t, app.pods.state),
        ));
    }
    if app.screen != Screen::Run
        && let Some(r) = app.run.as_ref().filter(|r| r.outcome.is_none())
    {
        let secs = app
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
        format!("watchers {}", app.connection.describe(app.now)),
        if matches!(app.connection, crate::cluster::watch::Connection::Live) {
            t.ok
        } else {
            t.warn
        },
    ));
    if app.opts.readonly {
        status.push(Span::styled("read-only", t.dim));
    }
    if app.opts.tls_unverified {
        status.push(Span::styled("TLS unverified", t.warn));
    }
    let (ctx, ns, release) = (&app.opts.context, &app.opts.namespace, &app.opts.release);
    let status_width: usize = status.iter().map(|s| s.width() + 3).sum();
    let fits = |context: &str| 10 + context.chars().count() + status_width <= area.width as usize;
    let long = format!("ctx {ctx} · ns {ns} · release {release}");
    let short = format!("{ctx} {ns}/{release}");
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

pub(super) fn draw_footer(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let prompt = |sigil: &'static str, e: &super::line_edit::LineEdit| {
        let (before, at, after) = e.view((area.width as usize).saturating_sub(2));
        Line::from(vec![
            Span::styled(sigil, t.accent),
            Span::raw(before),
            Span::styled(at, Style::default().add_modifier(Modifier::REVERSED)),
            Span::raw(after),
        ])
    };
    let line = match &app.overlay {
        Some(Overlay::Command(c)) => prompt(":", c),
        Some(Overlay::Filter(c)) => prompt("/", c),
        _ => match &app.message {
            Some(m) => Line::from(Span::styled(m.clone(), t.warn)),
            None => Line::from(Span::styled(
                keymap::footer(app.ctx(), app.opts.readonly, area.width as usize, |a| {
                    app.action_works(a)
                }),
                t.dim,
            )),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

/// The row offset that puts line `top` at the top of a wrapped paragraph `width` wide,
/// clamped so the last page fills the `height` rows (G shows the end, not one line of it).
pub(super) fn scroll_rows(lines: &[Line], width: u16, height: u16, top: usize) -> u16 {
    let w = width.max(1) as usize;
    let rows: Vec<usize> = lines.iter().map(|l| l.width().max(1).div_ceil(w)).collect();
    let total: usize = rows.iter().sum();
    let wanted: usize = rows.iter().take(top).sum();
    wanted.min(total.saturating_sub(height as usize)) as u16
}

/// How many rows `text` takes word-wrapped to `width` columns (as `Wrap { trim: true }`
/// breaks it: at spaces, and inside a word longer than the line).
pub(super) fn wrapped_rows(text: &str, width: u16) -> u16 {
    let w = width.max(1) as usize;
    let mut rows = 0usize;
    for line in text.lines() {
        let mut used = 0usize;
        rows += 1;
        for word in line.split_whitespace() {
            let n = Span::raw(word).width();
            if used > 0 && used + 1 + n <= w {
                used += 1 + n;
                continue;
            }
            if used > 0 {
                rows += 1;
            }
            // A word wider than the line is broken across rows.
            let spans = n.max(1).div_ceil(w);
            rows += spans - 1;
            used = n - (spans - 1) * w;
        }
    }
    rows.min(u16::MAX as usize) as u16
}

/// A column's width: its longest cell, or `min` (its header) when that is wider.
pub(super) fn widest(min: usize, cells: impl IntoIterator<Item = usize>) -> usize {
    cells.into_iter().fold(min, usize::max)
}

pub(super) fn block<'a>(title: impl Into<Line<'a>>, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.dim)
        .title(title)
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The `:` commands, for the help screen.
const COMMANDS: [(&str, &str); 9] = [
    (":ns NAME", "switch namespace"),
    (
        ":ctx NAME",
        "switch kubeconfig context (the current one stays if it fails)",
    ),
    (":pods :po", "pods pane"),
    (":disks :pvc", "disk-encryption pane"),
    (":ingestion", "ingestion-health pane"),
    (":run", "the running or last operation"),
    (":home :releases", "the Helm releases"),
    (":help", "this help"),
    (":q :quit", "quit (asks while an operation runs)"),
];

/// The help screen's lines: this screen's keys, then the global ones, then the commands.
pub(super) fn help_lines(app: &App) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = keymap::help_lines(app.ctx(), app.opts.readonly)
        .into_iter()
        .map(|(k, h)| (k.to_string(), h.to_string()))
        .collect();
    out.push((String::new(), String::new()));
    out.extend(COMMANDS.iter().map(|(k, h)| (k.to_string(), h.to_string())));
    out
}

pub(super) fn draw_help(f: &mut Frame, area: Rect, app: &App, at: usize, t: &Theme) {
    let all = help_lines(app);
    let key_w = all
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(8);
    let lines: Vec<Line> = all
        .into_iter()
        .map(|(k, h)| {
            Line::from(vec![
                Span::styled(format!("{k:>key_w$}  "), t.accent),
                Span::raw(h),
            ])
        })
        .collect();
    // As large as the help needs and the terminal allows; the rest scrolls.
    let r = centered(
        area,
        area.width.min(100),
        (lines.len() as u16 + 2).min(area.height),
    );
    let inner = (r.width.saturating_sub(2), r.height.saturating_sub(2));
    let offset = scroll_rows(&lines, inner.0, inner.1, at);
    let title = if scroll_rows(&lines, inner.0, inner.1, lines.len()) > 0 {
        " keys · j/k scroll · esc closes "
    } else {
        " keys · esc closes "
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((offset, 0))
            .block(block(title, t)),
        r,
    );
}

/// The `:ns` / `:ctx` picker: the list, the current one selected, enter switches.
fn draw_picker(f: &mut Frame, area: Rect, p: &super::app::Picker, t: &Theme) {
    let what = match p.what {
        super::app::PickWhat::Namespace => "namespace",
        super::app::PickWhat::Context => "context",
    };
    let lines: Vec<Line> = match &p.items {
        None => vec![Line::styled(format!("reading the {what}s…"), t.dim)],
        Some(Err(e)) => vec![Line::styled(format!("cannot list them: {e}"), t.fail)],
        Some(Ok(l)) if l.is_empty() => vec![Line::styled("(none)", t.dim)],
        Some(Ok(l)) => l
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i == p.sel {
                    Line::styled(format!("› {n}"), t.selected)
                } else {
                    Line::from(format!("  {n}"))
                }
            })
            .collect(),
    };
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, 50, h);
    let inner = h.saturating_sub(2) as usize;
    let offset = p.sel.saturating_sub(inner.saturating_sub(1)) as u16;
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((offset, 0))
            .block(block(format!(" {what} · enter switches · esc "), t)),
        r,
    );
}

pub(super) fn draw_confirm(f: &mut Frame, area: Rect, c: &Confirm, app: &App, t: &Theme) {
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
        Confirm::StopWaiting { .. } => {
            let pod = app
                .run
                .as_ref()
                .and_then(|r| r.problem.as_ref())
                .map(|p| format!("pod {} is failing ({}). ", p.pod, p.finding.split([' ', ':']).next().unwrap_or_default()))
                .unwrap_or_default();
            let then = app.run.as_ref().map_or("it rolls the release back", |r| r.stopping_does());
            format!("{pod}Stop waiting? helm gives up now: {then}.\n\ny: stop   n: keep waiting")
        }
        Confirm::KillHelm { pid } => format!(
            "helm (pid {pid}) has not stopped since you asked. Kill it? The release is left as helm left it (pending or uninstalling); the outcome says how to recover it.\n\ny: kill helm   n: keep waiting"
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

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::widgets::Widget;

    use super::*;

    /// The rows ratatui's word wrapper really uses: the last row with any text.
    fn rendered_rows(text: &str, width: u16) -> u16 {
        let area = Rect::new(0, 0, width, 60);
        let mut buf = Buffer::empty(area);
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: true })
            .render(area, &mut buf);
        (0..60)
            .rev()
            .find(|&y| (0..width).any(|x| buf[(x, y)].symbol() != " "))
            .map_or(0, |y| y + 1)
    }

    #[test]
    fn wrapped_rows_matches_the_word_wrapper() {
        let texts = [
            "running…",
            "failed (Timeout), rolled back: release posthog failed, and has been uninstalled due to rollback-on-failure being set: resource Deployment/posthog/posthog-web not ready. status: InProgress — fix: kubectl logs job/posthog-migrate",
            "a pod is failing: s stops waiting and rolls back, or keep waiting",
            "word aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa end",
            "first line\nsecond line that is long enough to wrap at a narrow width",
            "exactly ten",
        ];
        for text in texts {
            for width in [10, 11, 20, 38, 78, 158] {
                assert_eq!(
                    wrapped_rows(text, width),
                    rendered_rows(text, width),
                    "{text:?} at {width}"
                );
            }
        }
    }
}
