//! The preflight's checks and the diff, as toned rows: counted for scrolling and drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::Wizard;
use crate::deploy::{self, Outcome};
use crate::tui::messages::PlanTicket;
use crate::tui::theme::{Theme, Tone};
use crate::tui::widgets::{self, block};
use crate::verdict::Verdict;

/// The preflight's checks and the diff, scrolled.
pub(super) fn draw_plan(f: &mut Frame, main: Rect, w: &Wizard, t: &Theme) {
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

pub(super) fn one(tone: Tone, text: impl Into<String>) -> Toned {
    vec![(tone, text.into())]
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
            {
                let (tone, word) = widgets::verdict_tone(c.verdict);
                (tone, word.to_string())
            },
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

impl Wizard {
    /// The engine's events while it plans this walkthrough's stop.
    pub(super) fn planned_event(&mut self, e: &deploy::Event) {
        use deploy::Event as E;
        match e {
            E::Check(c) => self.plan.checks.push(c.clone()),
            E::ValuesDiff { changes } => self.plan.changes = changes.clone(),
            E::ManifestDiff { kinds } => self.plan.manifest = kinds.clone(),
            E::Notice { message } => self.plan.notes.push(message.clone()),
            E::UpgradeNotes(u) => self.plan.notes.extend(crate::chart::upgrade_notes::lines(
                &u.from,
                &u.to,
                &u.notes,
                &u.migrations,
                &u.removed_in_use,
            )),
            _ => {}
        }
    }

    pub(super) fn plan_done(&mut self, result: &Result<Box<PlanTicket>, Outcome>) {
        self.plan.running = false;
        match result {
            Ok(t) => {
                self.plan.outcome = Some(Outcome::Planned);
                self.plan.ticket = Some(t.clone());
            }
            Err(o) => {
                self.plan.outcome = Some(o.clone());
                self.plan.ticket = None;
            }
        }
    }
}
