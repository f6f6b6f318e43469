//! The disks pane: each claim of the release, whether its disk is encrypted by the profile's
//! rule, and the evidence for that verdict with its fix.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table, TableState, Wrap};

use super::Dashboard;
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, keep_end, keep_start, verdict_span, verdict_style};
use crate::verdict::Verdict;

pub(super) fn draw(f: &mut Frame, area: Rect, dash: &Dashboard, session: &Session, t: &Theme) {
    // The selected claim's verdict, its fix and every line of its evidence: as tall as they
    // wrap to, leaving the table at least its header and three rows.
    let chosen = session.disks.get(dash.selected);
    let ev_text = evidence_text(chosen, session);
    let inner = area.width.saturating_sub(2);
    let needed: u16 = ev_text
        .iter()
        .map(|l| crate::tui::widgets::wrapped_rows(l, inner))
        .sum::<u16>()
        + 2;
    let evidence_height = needed.clamp(7, area.height.saturating_sub(6).max(7));
    // The selected claim's fill over the samples taken, as a small chart above its evidence.
    let fill = chosen.and_then(|d| d.usage.as_ref());
    let fill_height = if fill.is_some() { 4 } else { 0 };
    let [table_area, fill_area, evidence_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(fill_height),
        Constraint::Length(evidence_height),
    ])
    .areas(area);
    let encryption = |d: &crate::health::disks::DiskRow| {
        serde_json::to_value(d.encryption)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    use crate::tui::widgets::widest;
    let size_w = widest(4, session.disks.iter().map(|d| d.size.len()));
    let enc_w = widest(10, session.disks.iter().map(|d| encryption(d).len()));
    // Claim names share long prefixes (data-<release>-<release>-…): when the row is short
    // the claim keeps its end, which tells them apart, and the class gives way first.
    // USE and FULL IN: how full the disk is and when it fills, from the kubelets' samples.
    let (use_w, full_w) = (4, 7);
    let avail =
        (area.width as usize).saturating_sub(2 + 5 + size_w + use_w + full_w + enc_w + 4 + 7 + 8);
    let claim_full = widest(5, session.disks.iter().map(|d| d.claim.chars().count()));
    let class_full = widest(
        5,
        session
            .disks
            .iter()
            .map(|d| d.storage_class.chars().count()),
    );
    let (claim_w, class_w) = if claim_full + class_full <= avail {
        (claim_full, class_full)
    } else {
        // The class keeps its start (at most 8), the claim the rest: the row never overflows.
        let class = class_full.min(8).min(avail / 3);
        (avail.saturating_sub(class).max(8), class)
    };
    let rows = session.disks.iter().map(|d| {
        Row::new(vec![
            Cell::from(verdict_span(t, d.verdict)),
            Cell::from(keep_end(&d.claim, claim_w)),
            Cell::from(d.size.clone()),
            match &d.usage {
                Some(u) => Cell::from(Span::styled(
                    format!("{:.0}%", u.percent),
                    verdict_style(t, u.verdict),
                )),
                None => Cell::from("-"),
            },
            Cell::from(
                d.usage
                    .as_ref()
                    .and_then(|u| u.full_in_seconds)
                    .map(crate::time::short_age)
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::from(keep_start(&d.storage_class, class_w)),
            Cell::from(encryption(d)),
            Cell::from(match d.expansion {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            }),
            Cell::from(d.reclaim_policy.clone().unwrap_or_default()),
        ])
    });
    let profile = session
        .judging_profile()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "none".into());
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(claim_w as u16),
            Constraint::Length(size_w as u16),
            Constraint::Length(use_w as u16),
            Constraint::Length(full_w as u16),
            Constraint::Length(class_w as u16),
            Constraint::Length(enc_w as u16),
            Constraint::Length(4),
            Constraint::Min(7),
        ],
    )
    .header(
        Row::new([
            "",
            "CLAIM",
            "SIZE",
            "USE",
            "FULL IN",
            "CLASS",
            "ENCRYPTION",
            "GROW",
            "RECLAIM",
        ])
        .style(t.header),
    )
    .row_highlight_style(t.selected)
    .block(block(
        format!(
            " disks ({}) · judged by profile {profile} ",
            session.disks.len()
        ),
        t,
    ));
    let mut st = TableState::default().with_selected(Some(dash.selected));
    f.render_stateful_widget(table, table_area, &mut st);
    if let Some(u) = fill {
        draw_fill(f, fill_area, u, t);
    }
    // The fix right under the verdict: on a short screen the evidence's end is what gives way.
    let ev: Vec<Line> = match chosen {
        Some(d) => ev_text
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let style = match i {
                    0 if d.verdict == Verdict::Pass => t.ok,
                    0 => t.fail,
                    1 if !d.fix.is_empty() => t.accent,
                    _ => ratatui::style::Style::default(),
                };
                Line::from(Span::styled(l, style))
            })
            .collect(),
        None => ev_text.into_iter().map(Line::from).collect(),
    };
    f.render_widget(
        Paragraph::new(ev)
            .wrap(Wrap { trim: false })
            .block(block(" evidence ", t)),
        evidence_area,
    );
}

/// The selected claim's verdict, its fixes and every line of its evidence.
fn evidence_text(chosen: Option<&crate::health::disks::DiskRow>, session: &Session) -> Vec<String> {
    match chosen {
        Some(d) => std::iter::once(d.message.clone())
            .chain((!d.fix.is_empty()).then(|| format!("fix: {}", d.fix)))
            .chain(
                d.usage
                    .as_ref()
                    .filter(|u| !u.fix.is_empty())
                    .map(|u| format!("disk filling: {}", u.fix)),
            )
            // A Kafka claim carries the release's retention against it.
            .chain(
                session
                    .retention
                    .iter()
                    .filter(|_| d.component == "kafka")
                    .flat_map(|c| {
                        std::iter::once(format!("kafka retention: {}", c.message))
                            .chain((!c.fix.is_empty()).then(|| format!("fix: {}", c.fix)))
                    }),
            )
            .chain(
                session
                    .volumes_error
                    .as_ref()
                    .map(|e| format!("usage not read: {e}")),
            )
            .chain(d.evidence.iter().map(|e| format!("  {e}")))
            .collect(),
        None => vec!["no volumes in this namespace".into()],
    }
}

/// The claim's fill over the samples taken: as many of the latest as the width holds.
fn draw_fill(f: &mut Frame, fill_area: Rect, u: &crate::health::fill::Fill, t: &Theme) {
    let percents: Vec<u64> = u
        .percents
        .iter()
        .rev()
        .take(fill_area.width.saturating_sub(2) as usize)
        .rev()
        .copied()
        .collect();
    f.render_widget(
        Sparkline::default()
            .data(&percents)
            .max(100)
            .style(verdict_style(t, u.verdict))
            .block(block(
                format!(" fill · {} · {} samples ", u.message, u.percents.len()),
                t,
            )),
        fill_area,
    );
}
