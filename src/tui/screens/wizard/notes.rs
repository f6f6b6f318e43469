//! The way to the chosen version, stop by stop with its notes, and the manual steps to
//! acknowledge before the campaign goes on.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Wizard;
use crate::tui::theme::Theme;
use crate::tui::widgets::{self, block};

/// The way to the chosen version, stop by stop with its notes, and the steps to acknowledge.
pub(super) fn draw_notes(f: &mut Frame, area: Rect, w: &Wizard, t: &Theme) {
    let Some(path) = &w.path else { return };
    let mut lines: Vec<Line> = path.lines().into_iter().map(Line::from).collect();
    if !w.acks.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                "Before chart {}: confirm each step once done (space):",
                path.stops
                    .get(w.stop.as_ref().map_or(0, |s| s.index))
                    .map_or("", |s| s.version.as_str())
            ),
            t.header,
        )));
        let next = w.acks.iter().position(|a| !a.1);
        for (i, (text, done)) in w.acks.iter().enumerate() {
            let style = if Some(i) == next {
                t.selected
            } else if *done {
                t.dim
            } else {
                Style::default()
            };
            lines.push(Line::from(Span::styled(
                format!("[{}] {text}", if *done { "x" } else { " " }),
                style,
            )));
        }
    }
    // Rows, not lines: long notes wrap, and G must still reach the checklist's last step.
    let offset = widgets::scroll_rows(
        &lines,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
        w.scroll,
    );
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((offset, 0))
            .block(block(" upgrade path ", t).title_bottom(" space: step done · enter: next ")),
        area,
    );
}
