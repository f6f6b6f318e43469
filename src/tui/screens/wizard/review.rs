//! The values review: the values the wizard would apply, each leaf with the layer that set
//! it, rendered by the same resolution the plan and the apply use.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::Wizard;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, keep_end};

use serde_json::Value;

use crate::tui::messages::{Review, ReviewJob, ReviewLine};
use crate::values::{self, LayerSource, UserLayer};

/// Why the values do not render: the intent does not resolve, or helm would refuse the values.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Resolve(#[from] crate::deploy::intent::ResolveError),
    #[error(transparent)]
    Render(#[from] crate::values::ValuesError),
}

/// Resolves and renders a review (reads, and may fetch, the chart: run it off the UI
/// thread). Secret values are redacted.
pub fn review(job: &ReviewJob) -> Result<Review, ReviewError> {
    let resolved = job.values.resolve_with(job.profile.clone())?;
    let chart_label = if resolved.chart.name() == crate::chart::BUNDLED_CHART {
        format!("{}, the bundled stand-in", resolved.chart.name())
    } else {
        format!(
            "{} {}",
            resolved.chart.name(),
            resolved.chart.metadata.version
        )
    };
    let mut req = resolved.request;
    req.previous = (!job.current.is_empty()).then(|| UserLayer {
        source: LayerSource::Release {
            name: job.release.clone(),
            revision: 0,
        },
        values: job.current.clone(),
    });
    let r = req.render(&resolved.chart)?;
    let shown = values::redact::redact(&r.values);
    let mut lines = Vec::new();
    values::for_each_leaf(&shown, &mut |path, v| {
        let layer = r
            .provenance
            .get(path)
            .map(|p| r.layers[p.layer].label())
            .unwrap_or_else(|| "chart".into());
        lines.push(ReviewLine {
            path: path.to_string(),
            value: match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            layer,
        });
    });
    Ok(Review { chart_label, lines })
}

/// A layer as the table names it: a file by its name (the filter still matches the path).
fn layer_name(layer: &str) -> String {
    match layer.strip_prefix("file:") {
        Some(path) => format!(
            "file:{}",
            std::path::Path::new(path)
                .file_name()
                .map_or(path.into(), |n| n.to_string_lossy())
        ),
        None => layer.to_string(),
    }
}

/// The values the wizard would apply, each with the layer that set it.
pub(super) fn draw_review(f: &mut Frame, main: Rect, w: &Wizard, t: &Theme) {
    if w.review_pending.is_some() {
        f.render_widget(
            Paragraph::new(
                "Rendering the values… (the chart is read, and fetched from its repository the first time)\n\nesc: back to the questions",
            )
            .style(t.dim)
            .wrap(Wrap { trim: false })
            .block(block(" values ", t)),
            main,
        );
        return;
    }
    if let Some(e) = &w.review_error {
        f.render_widget(
            Paragraph::new(format!(
                "The values do not render:\n\n{e}\n\nesc: back to the questions"
            ))
            .style(t.fail)
            .wrap(Wrap { trim: false })
            .block(block(" values ", t)),
            main,
        );
        return;
    }
    let shown = w.review_rows();
    // Keys and layers whole where the width allows (keys up to half the table, layers
    // up to 20 columns); values take the rest.
    let inner = main.width.saturating_sub(2) as usize;
    let longest = |f: fn(&ReviewLine) -> &str| {
        shown
            .iter()
            .map(|l| f(l).chars().count())
            .max()
            .unwrap_or(0)
    };
    let key_w = longest(|l| &l.path).clamp(3, inner / 2) as u16;
    let layer_w = shown
        .iter()
        .map(|l| layer_name(&l.layer).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 20) as u16;
    let rows = shown.iter().map(|l| {
        let style = if l.layer == "chart" {
            t.dim
        } else {
            Style::default()
        };
        // A key's leaf and a file's name are what tell rows apart: cut from the front.
        Row::new(vec![
            Cell::from(keep_end(&l.path, key_w.into())),
            Cell::from(l.value.clone()),
            Cell::from(Span::styled(
                keep_end(&layer_name(&l.layer), layer_w.into()),
                if l.layer == "chart" { t.dim } else { t.accent },
            )),
        ])
        .style(style)
    });
    let filter = if w.filter.is_empty() {
        String::new()
    } else {
        format!(" · /{} ({} shown)", w.filter, shown.len())
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(key_w),
            Constraint::Fill(1),
            Constraint::Length(layer_w),
        ],
    )
    .header(Row::new(["KEY", "VALUE", "SET BY"]).style(t.header))
    .row_highlight_style(t.selected)
    .block(
        block(
            format!(
                " values ({} leaves{filter}) · chart {} ",
                w.review.len(),
                w.chart_label
            ),
            t,
        )
        .title_bottom(" /: filter · e: edit · enter: preflight "),
    );
    let mut st = TableState::default().with_selected(Some(w.scroll));
    f.render_stateful_widget(table, main, &mut st);
}
