//! Choosing the cloud profile: what each asks of the cluster and the values it sets.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::Wizard;
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::block;

/// The profiles, and what the one selected asks of the cluster and sets.
pub(super) fn draw_profile(f: &mut Frame, main: Rect, w: &Wizard, app: &Session, t: &Theme) {
    // Names and providers whole (`digitalocean`), up to half the width.
    let longest = |f: fn(&crate::profile::Profile) -> usize| {
        app.profiles.iter().map(f).max().unwrap_or(0).max(6)
    };
    let name_w = longest(|p| p.name.chars().count());
    let provider_w = longest(|p| p.provider.chars().count());
    let list_w = ((name_w + 1 + provider_w + 2) as u16).min(main.width / 2);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(20)]).areas(main);
    let rows = app
        .profiles
        .iter()
        .map(|p| Row::new(vec![p.name.clone(), p.provider.clone()]));
    let table = Table::new(
        rows,
        [Constraint::Length(name_w as u16), Constraint::Min(6)],
    )
    .row_highlight_style(t.selected)
    .block(block(" profile ", t));
    let mut st = TableState::default().with_selected(Some(w.profile));
    f.render_stateful_widget(table, list, &mut st);
    if let Some(p) = app.profiles.get(w.profile) {
        let mut lines = vec![
            Line::from(Span::styled(p.title.clone(), t.header)),
            Line::from(p.description.clone()),
            Line::from(""),
            Line::from(format!("Kubernetes {}", p.kubernetes.versions)),
            Line::from(format!(
                "Needs {} node(s), {} CPU and {} memory in all",
                p.requirements.min_nodes, p.requirements.cpu, p.requirements.memory
            )),
            Line::from(format!(
                "Disk encryption: {}; provisioners {}",
                p.storage.encryption.phrase(),
                p.storage.provisioners.join(", ")
            )),
            Line::from(""),
            Line::from(Span::styled("Sets:", t.header)),
        ];
        crate::values::for_each_leaf(&p.values, &mut |path, v| {
            lines.push(Line::from(format!("  {path} = {v}")));
        });
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block(format!(" {} ", p.name), t)),
            detail,
        );
    }
}
