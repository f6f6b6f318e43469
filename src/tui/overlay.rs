//! What opens over a screen: the help, the `:ns`/`:ctx` picker, the rollback's revision
//! picker, a confirmation, and the `:` prompt and `/` filter being typed (drawn in the footer).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::keymap::{self, Ctx};
use super::line_edit::LineEdit;
use super::messages::PickWhat;
use super::screens::Confirm;
use super::screens::rollback::{RevisionPicker, draw_revisions};
use super::theme::Theme;
use super::widgets::{block, centered, scroll_rows};

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// `:ns` or `:ctx` without a name: pick one from the cluster's or the kubeconfig's.
    Pick(Picker),
    /// The keys and commands, scrolled this many lines.
    Help(usize),
    Revisions(RevisionPicker),
    Confirm(Confirm),
    Command(LineEdit),
    Filter(LineEdit),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub what: PickWhat,
    /// `None` while the list is read; `Err` when it could not be.
    pub items: Option<Result<Vec<String>, String>>,
    pub sel: usize,
}

impl Overlay {
    /// Draws it over `area` (the prompt and the filter are drawn by the footer).
    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: Ctx, readonly: bool, t: &Theme) {
        match self {
            Overlay::Help(at) => draw_help(f, area, help_lines(ctx, readonly), *at, t),
            Overlay::Confirm(c) => draw_confirm(f, area, c, t),
            Overlay::Revisions(p) => draw_revisions(f, area, p, t),
            Overlay::Pick(p) => draw_picker(f, area, p, t),
            Overlay::Command(_) | Overlay::Filter(_) => {}
        }
    }
}

/// The `:` commands, for the help screen.
const COMMANDS: [(&str, &str); 13] = [
    (":ns NAME", "switch namespace"),
    (
        ":ctx NAME",
        "switch kubeconfig context (the current one stays if it fails)",
    ),
    (
        ":ctx all",
        "the releases of every context at once; enter switches to the row's",
    ),
    (":pods :po", "pods pane"),
    (
        ":deploy :sts :svc :pvc :events :jobs",
        "the release's objects of that kind, kubectl's columns; enter: their pods, disk or pod",
    ),
    (
        ":xray",
        "the release as a tree: workloads, pods, claims, volumes, classes",
    ),
    (":disks :pv", "disk-encryption pane"),
    (":ingestion", "ingestion-health pane"),
    (":run", "the running or last operation"),
    (":home :releases", "the Helm releases"),
    (
        ":cm :secrets :ing :nodes",
        "no view here: the kubectl command to use",
    ),
    (":help", "this help"),
    (":q :quit", "quit (asks while an operation runs)"),
];

/// k9s keys that do something else here, or nothing: said, so a k9s habit is not a surprise.
const K9S_DIFFERENCES: [(&str, &str); 3] = [
    (
        "s",
        "k9s opens a shell; here it sorts the pods (helmdeck opens no shell)",
    ),
    (
        "ctrl-d",
        "k9s deletes a resource; here ctrl-k deletes a pod only (helm changes the rest)",
    ),
    (
        "e",
        "k9s edits a resource; here it edits an override file (values review)",
    ),
];

/// The help screen's lines: this screen's keys, then the global ones, then the commands,
/// then the k9s keys that mean something else here.
pub fn help_lines(ctx: Ctx, readonly: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = keymap::help_lines(ctx, readonly)
        .into_iter()
        .map(|(k, h)| (k.to_string(), h.to_string()))
        .collect();
    out.push((String::new(), String::new()));
    out.extend(COMMANDS.iter().map(|(k, h)| (k.to_string(), h.to_string())));
    out.push((String::new(), String::new()));
    out.extend(
        K9S_DIFFERENCES
            .iter()
            .map(|(k, h)| (k.to_string(), h.to_string())),
    );
    out
}

fn draw_help(f: &mut Frame, area: Rect, all: Vec<(String, String)>, at: usize, t: &Theme) {
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
fn draw_picker(f: &mut Frame, area: Rect, p: &Picker, t: &Theme) {
    let what = match p.what {
        PickWhat::Namespace => "namespace",
        PickWhat::Context => "context",
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

fn draw_confirm(f: &mut Frame, area: Rect, c: &Confirm, t: &Theme) {
    let text = match c {
        Confirm::Apply { question } => format!("{question}\n\ny: apply   n: cancel"),
        Confirm::Rollback { plan, typed } => {
            let mut text = plan.question();
            for l in plan.lines().iter().filter(|l| !l.starts_with("this crosses")) {
                text.push_str(&format!("\n• {l}"));
            }
            match typed {
                Some(t) => text.push_str(&format!(
                    "\n\nThis crosses a chart major or an app minor. Type {} and enter to roll back, esc: cancel\n> {t}",
                    plan.release
                )),
                None => text.push_str("\n\ny: roll back   n: cancel"),
            }
            text
        }
        Confirm::StopWaiting { failing, then, .. } => {
            let pod = failing
                .as_ref()
                .map(|(pod, what)| format!("pod {pod} is failing ({what}). "))
                .unwrap_or_default();
            format!("{pod}Stop waiting? helm gives up now: {then}.\n\ny: stop   n: keep waiting")
        }
        Confirm::KillHelm { pid } => format!(
            "helm (pid {pid}) has not stopped since you asked. Kill it? The release is left as helm left it (pending or uninstalling); the outcome says how to recover it.\n\ny: kill helm   n: keep waiting"
        ),
        Confirm::DeletePod { namespace, pod } => format!(
            "Delete pod {pod} in {namespace}? Its Deployment or StatefulSet makes a new one; a pod no controller owns is gone for good.\n\ny: delete   n: cancel"
        ),
        Confirm::QuitWhileRunning => "helm is still running. Quit when it finishes, or now and leave it running (`helmdeck status` follows it)?\n\nw: wait, then quit   l: leave it running   n: stay".into(),
    };
    // A rollback's plan runs to several lines: wider, and as tall as it wraps to.
    let r = match c {
        Confirm::Rollback { .. } => {
            let width = area.width.min(76);
            let inner = width.saturating_sub(2).max(1) as usize;
            let rows: usize = text
                .lines()
                .map(|l| l.chars().count().div_ceil(inner).max(1))
                .sum();
            centered(area, width, (rows as u16 + 2).max(7))
        }
        _ => centered(area, 60, 7),
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .style(Style::default().add_modifier(Modifier::BOLD))
            .block(block(" confirm ", t).border_style(t.warn)),
        r,
    );
}
