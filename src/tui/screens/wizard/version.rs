//! The version picker: the repository's versions, the release's marked, those the cluster's
//! Kubernetes is outside of flagged.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::{Step, Wizard, WizardStep};
use crate::tui::theme::Theme;
use crate::tui::widgets::block;

/// The version picker: the repository's versions, the release's marked, the ones the cluster's
/// Kubernetes is outside of flagged.
pub(super) fn draw_versions(f: &mut Frame, area: Rect, w: &Wizard, t: &Theme) {
    let listing = match &w.versions {
        None => {
            f.render_widget(
                Paragraph::new("reading the chart repository's index…")
                    .block(block(" version ", t)),
                area,
            );
            return;
        }
        Some(Err(e)) => {
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(e.clone(), t.fail)),
                    Line::from("esc goes back; set $HELMDECK_CHART_REPO to a reachable repository"),
                ])
                .wrap(Wrap { trim: false })
                .block(block(" version ", t)),
                area,
            );
            return;
        }
        Some(Ok(l)) => l,
    };
    let [list, foot] = Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(area);
    let rows = listing.versions.iter().map(|v| {
        let mut note = Vec::new();
        if v.version == w.from.0 {
            note.push("current".to_string());
        }
        if let Some(s) = &w.server
            && !v.runs_on(s)
        {
            note.push(format!("not for Kubernetes {s}"));
        }
        Row::new(vec![
            Cell::from(v.version.clone()),
            Cell::from(v.app_version.clone()),
            Cell::from(if v.kube_version.is_empty() {
                "any".to_string()
            } else {
                v.kube_version.clone()
            }),
            Cell::from(v.date().to_string()),
            Cell::from(note.join(", ")),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(20),
            Constraint::Length(11),
            Constraint::Min(8),
        ],
    )
    .header(Row::new(vec!["VERSION", "APP", "KUBERNETES", "DATE", "NOTE"]).style(t.header))
    .row_highlight_style(t.selected)
    .block(
        block(
            format!(" {} versions from {} ", listing.chart, listing.repo),
            t,
        )
        .title_bottom(" enter: choose "),
    );
    let mut st = TableState::default().with_selected(Some(w.version_sel));
    f.render_stateful_widget(table, list, &mut st);
    let eos = crate::chart::upgrade_notes::for_chart(&listing.chart)
        .map(|b| b.end_of_support)
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(format!(
            "running {} (app {}). {eos}",
            w.from.0,
            if w.from.1.is_empty() { "?" } else { &w.from.1 }
        ))
        .style(t.dim)
        .wrap(Wrap { trim: true }),
        foot,
    );
}

impl Wizard {
    /// The version picked: the way there, stop by stop, and its first stop's manual steps.
    pub(super) fn chose_version(&mut self) -> Step {
        let Some(Ok(listing)) = &self.versions else {
            return Step::default();
        };
        let Some(to) = listing.versions.get(self.version_sel) else {
            return Step::default();
        };
        let book = crate::chart::upgrade_notes::for_chart(&listing.chart);
        let path = crate::chart::upgrade_path::plan(
            book.as_ref(),
            listing,
            &self.from.0,
            &self.from.1,
            &to.version,
            self.server.as_deref(),
        );
        if !path.blockers.is_empty() {
            return Step::say(path.blockers.join("; "));
        }
        self.acks = path
            .manual_steps(0)
            .into_iter()
            .map(|a| (a, false))
            .collect();
        self.path = Some(path);
        self.skip = None;
        self.step = WizardStep::Notes;
        self.scroll = 0;
        Step::default()
    }
}
