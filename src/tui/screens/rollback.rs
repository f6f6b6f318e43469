//! Rolling back: the revision picker (the release's revisions from its storage Secrets,
//! starting on the last deployed one) and its confirmation, which names the namespace.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Clear, Row, Table, TableState};

use crossterm::event::{KeyCode, KeyEvent};

use super::{Confirm, Step};
use crate::cluster::releases::ReleaseInfo;
use crate::deploy;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, centered};

/// Choosing the revision a rollback goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPicker {
    pub release: String,
    pub namespace: String,
    pub revisions: Vec<ReleaseInfo>,
    pub selected: usize,
}

impl RevisionPicker {
    /// A release's revisions arrived: the picker opens on the revision a rollback goes to by
    /// default; none when there is no earlier revision to pick.
    pub fn open(
        release: String,
        namespace: String,
        revisions: Vec<ReleaseInfo>,
    ) -> Option<RevisionPicker> {
        match revisions {
            revisions if revisions.len() > 1 => {
                let target = deploy::default_rollback_target(&history(&revisions));
                let selected = target
                    .and_then(|t| revisions.iter().position(|r| r.revision == t))
                    .unwrap_or(0);
                Some(RevisionPicker {
                    release,
                    namespace,
                    revisions,
                    selected,
                })
            }
            _ => None,
        }
    }

    /// Keys in the picker: the picker as it stays open (none: closed), and what it asks.
    /// Enter asks to confirm, naming the release's namespace.
    pub fn key(mut self, k: KeyEvent) -> (Option<RevisionPicker>, Step) {
        match k.code {
            KeyCode::Esc => (None, Step::default()),
            KeyCode::Char('j') | KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.revisions.len().saturating_sub(1));
                (Some(self), Step::default())
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                (Some(self), Step::default())
            }
            KeyCode::Enter => {
                let revision = self.revisions.get(self.selected).map(|r| r.revision);
                let current = self.revisions.last().map(|r| r.revision);
                if revision == current {
                    return (
                        Some(self),
                        Step::say("that is the current revision: pick an earlier one"),
                    );
                }
                // Planned as the CLI plans it: versions from and to, what stays, the name.
                match deploy::plan_rollback(
                    &history(&self.revisions),
                    &self.release,
                    &self.namespace,
                    revision,
                ) {
                    Ok(plan) => {
                        let typed = plan.type_the_name.then(String::new);
                        let c = Confirm::Rollback {
                            plan: Box::new(plan),
                            typed,
                        };
                        (None, Step::confirm(c))
                    }
                    Err(o) => (Some(self), Step::say(o.one_line())),
                }
            }
            _ => (Some(self), Step::default()),
        }
    }
}

/// The revisions as helm's history lists them (chart labelled `name-version`).
fn history(revisions: &[ReleaseInfo]) -> Vec<crate::helm::driver::HistoryEntry> {
    revisions
        .iter()
        .map(|r| crate::helm::driver::HistoryEntry {
            revision: r.revision,
            updated: r.updated.clone(),
            status: r.status,
            chart: format!("{}-{}", r.chart, r.chart_version),
            app_version: r.app_version.clone(),
            description: String::new(),
        })
        .collect()
}

pub fn draw_revisions(f: &mut Frame, area: Rect, p: &RevisionPicker, t: &Theme) {
    let rows = p.revisions.iter().map(|r| {
        Row::new(vec![
            r.revision.to_string(),
            r.status.to_string(),
            format!("{}-{}", r.chart, r.chart_version),
            r.app_version.clone(),
            r.updated.get(..19).unwrap_or(&r.updated).replace('T', " "),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Length(16),
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(["REV", "STATUS", "CHART", "APP", "UPDATED"]).style(t.header))
    .row_highlight_style(t.selected)
    .block(
        block(
            format!(" roll {} back to · enter: choose · esc: cancel ", p.release),
            t,
        )
        .border_style(t.warn),
    );
    let r = centered(area, 76, p.revisions.len() as u16 + 4);
    f.render_widget(Clear, r);
    let mut st = TableState::default().with_selected(Some(p.selected));
    f.render_stateful_widget(table, r, &mut st);
}
