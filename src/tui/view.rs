//! The frame around the screens: header, footer, help and confirmations. Each screen draws
//! itself in its own module; the pieces they share are in `widgets`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::app::{App, Confirm, Overlay, Screen};
use super::dashboard::draw_dashboard;
pub use super::dashboard::visible_pods;
use super::home::draw_home;
use super::keymap;
use super::rollback::draw_revisions;
use super::run::draw_run;
use super::theme::Theme;
use super::widgets::{block, centered, scroll_rows, state_style};
use super::wizard::draw_wizard;

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
