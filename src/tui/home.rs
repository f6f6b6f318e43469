//! Home: the Helm releases in the cluster, read from their storage Secrets.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::app::App;
use super::theme::Theme;
use super::view::block;
use crate::cluster::releases::ReleaseInfo;

impl App {
    pub fn selected_release(&self) -> Option<&ReleaseInfo> {
        self.releases.get(self.release_sel)
    }
}

pub(super) fn draw_home(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let mut areas = vec![area];
    if let Err(how) = &app.opts.helm {
        let [banner, rest] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
        f.render_widget(
            Paragraph::new(format!(
                "helm was not found: {how}. Inspection works; install, upgrade and rollback need it."
            ))
            .style(t.warn)
            .wrap(Wrap { trim: true })
            .block(block(" helm ", t)),
            banner,
        );
        areas = vec![rest];
    }
    let area = areas[0];
    if app.releases.is_empty() {
        let text = match &app.releases_error {
            Some(e) => format!("Cannot list releases: {e}"),
            None if app.opts.readonly => "No Helm releases in this cluster.".to_string(),
            None => "No Helm releases in this cluster yet.\n\nPress i to install the stack: pick a profile, answer a few questions, review the values and the preflight, then confirm.".to_string(),
        };
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(block(" releases ", t)),
            area,
        );
        return;
    }
    let header = Row::new([
        "NAME",
        "NAMESPACE",
        "REV",
        "STATUS",
        "CHART",
        "APP",
        "UPDATED",
    ])
    .style(t.header);
    let rows = app.releases.iter().map(|r| {
        let status_style = match r.status.as_str() {
            "deployed" => t.ok,
            s if s.starts_with("pending") => t.warn,
            _ => t.fail,
        };
        Row::new(vec![
            Cell::from(r.name.clone()),
            Cell::from(r.namespace.clone()),
            Cell::from(r.revision.to_string()),
            Cell::from(Span::styled(r.status.clone(), status_style)),
            Cell::from(format!("{}-{}", r.chart, r.chart_version)),
            Cell::from(r.app_version.clone()),
            Cell::from(r.updated.get(..19).unwrap_or(&r.updated).replace('T', " ")),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(12),
            Constraint::Length(4),
            Constraint::Length(16),
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .row_highlight_style(t.selected)
    .block(block(format!(" releases ({}) ", app.releases.len()), t));
    let mut st = TableState::default().with_selected(Some(app.release_sel));
    f.render_stateful_widget(table, area, &mut st);
}
