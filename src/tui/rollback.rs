//! Rolling back: the revision picker (the release's revisions from its storage Secrets,
//! starting on the last deployed one) and its confirmation, which names the namespace.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Clear, Row, Table, TableState};

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{App, Confirm, Effect, Overlay};
use super::theme::Theme;
use super::widgets::{block, centered};
use crate::cluster::releases::ReleaseInfo;
use crate::deploy;

/// Choosing the revision a rollback goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPicker {
    pub release: String,
    pub namespace: String,
    pub revisions: Vec<ReleaseInfo>,
    pub selected: usize,
}

impl App {
    /// A release's revisions arrived: open the picker on the revision a rollback goes to by
    /// default, or say why there is nothing to pick.
    pub(super) fn history_loaded(
        &mut self,
        release: String,
        namespace: String,
        r: Result<Vec<ReleaseInfo>, String>,
    ) {
        match r {
            Ok(revisions) if revisions.len() > 1 => {
                let hist: Vec<crate::helm::driver::HistoryEntry> = revisions
                    .iter()
                    .map(|r| crate::helm::driver::HistoryEntry {
                        revision: r.revision,
                        updated: r.updated.clone(),
                        status: r.status,
                        chart: r.chart.clone(),
                        app_version: r.app_version.clone(),
                        description: String::new(),
                    })
                    .collect();
                let target = deploy::default_rollback_target(&hist);
                let selected = target
                    .and_then(|t| revisions.iter().position(|r| r.revision == t))
                    .unwrap_or(0);
                self.overlay = Some(Overlay::Revisions(RevisionPicker {
                    release,
                    namespace,
                    revisions,
                    selected,
                }));
            }
            Ok(_) => {
                self.message = Some(format!("{release} has no earlier revision to roll back to"))
            }
            Err(e) => self.message = Some(format!("cannot read the history of {release}: {e}")),
        }
    }

    /// Keys in the picker; enter asks to confirm, naming the release's namespace.
    pub(super) fn revisions_key(&mut self, mut p: RevisionPicker, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Esc => self.overlay = None,
            KeyCode::Char('j') | KeyCode::Down => {
                p.selected = (p.selected + 1).min(p.revisions.len().saturating_sub(1));
                self.overlay = Some(Overlay::Revisions(p));
            }
            KeyCode::Char('k') | KeyCode::Up => {
                p.selected = p.selected.saturating_sub(1);
                self.overlay = Some(Overlay::Revisions(p));
            }
            KeyCode::Enter => {
                let revision = p.revisions.get(p.selected).map(|r| r.revision);
                let current = p.revisions.last().map(|r| r.revision);
                if revision == current {
                    self.message = Some("that is the current revision: pick an earlier one".into());
                    self.overlay = Some(Overlay::Revisions(p));
                } else {
                    self.overlay = Some(Overlay::Confirm(Confirm::Rollback {
                        release: p.release,
                        namespace: p.namespace,
                        revision,
                    }));
                }
            }
            _ => self.overlay = Some(Overlay::Revisions(p)),
        }
        Vec::new()
    }
}

pub(super) fn draw_revisions(f: &mut Frame, area: Rect, p: &super::app::RevisionPicker, t: &Theme) {
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
