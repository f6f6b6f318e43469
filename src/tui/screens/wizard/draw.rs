//! How the wizard is drawn: the steps across the top, then the step's own view (each step's
//! module draws it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Wizard, WizardStep};
use crate::tui::session::Session;
use crate::tui::theme::Theme;

pub(super) fn draw_wizard(f: &mut Frame, area: Rect, w: &Wizard, app: &Session, t: &Theme) {
    let verb = if w.action == crate::deploy::Action::Upgrade {
        "Upgrade"
    } else {
        "Install"
    };
    let walk = w.versions.is_some();
    let steps: &[&str] = if walk {
        &[
            "1 version",
            "2 notes",
            "3 questions",
            "4 values",
            "5 preflight & diff",
        ]
    } else {
        &["1 profile", "2 questions", "3 values", "4 preflight & diff"]
    };
    let shift = usize::from(walk);
    let cur = match w.step {
        WizardStep::Version => 0,
        WizardStep::Notes => 1,
        WizardStep::Profile => 0,
        WizardStep::Questions => 1 + shift,
        WizardStep::Review => 2 + shift,
        WizardStep::Plan => 3 + shift,
    };
    let [top, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    // The stop the campaign is at (the first until it runs).
    let at = w.stop.as_ref().map_or(0, |s| s.index);
    let target = w
        .path
        .as_ref()
        .and_then(|p| p.stops.get(at).map(|s| (s, p.stops.len(), &p.to)))
        .map(|(s, n, to)| {
            if n > 1 {
                format!(" → {} (stop {} of {n} toward {to})", s.version, at + 1)
            } else {
                format!(" → {}", s.version)
            }
        })
        .unwrap_or_default();
    let head = format!("{verb}{target}: ");
    // Too narrow for every label: the other steps keep only their number.
    let full: usize =
        head.chars().count() + steps.iter().map(|s| s.chars().count() + 2).sum::<usize>();
    let narrow = full > area.width as usize;
    let mut spans = vec![Span::styled(head, t.accent)];
    for (i, s) in steps.iter().enumerate() {
        let label = if narrow && i != cur {
            s.split(' ').next().unwrap_or(s)
        } else {
            s
        };
        spans.push(Span::styled(
            format!(" {label} "),
            if i == cur { t.selected } else { t.dim },
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), top);
    match w.step {
        WizardStep::Version => super::version::draw_versions(f, main, w, t),
        WizardStep::Notes => super::notes::draw_notes(f, main, w, t),
        WizardStep::Profile => super::profile::draw_profile(f, main, w, app, t),
        WizardStep::Questions => super::questions::draw_questions(f, main, area.width, w, app, t),
        WizardStep::Review => super::review::draw_review(f, main, w, t),
        WizardStep::Plan => super::plan::draw_plan(f, main, w, t),
    }
}
