//! Small drawing pieces every screen may use; they know no screen and no app state.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::theme::{Theme, Tone};
use crate::health::pods::State;
use crate::verdict::Verdict;

pub(super) fn age(secs: u64) -> String {
    crate::time::short_age(secs)
}

/// A verdict's word and tone, for views built as toned rows.
pub(super) fn verdict_tone(v: Verdict) -> (Tone, &'static str) {
    match v {
        Verdict::Pass => (Tone::Ok, "PASS"),
        Verdict::Warn => (Tone::Warn, "WARN"),
        Verdict::Fail => (Tone::Fail, "FAIL"),
    }
}

pub(super) fn verdict_style(t: &Theme, v: Verdict) -> Style {
    t.style(verdict_tone(v).0)
}

pub(super) fn verdict_span(t: &Theme, v: Verdict) -> Span<'static> {
    let (tone, word) = verdict_tone(v);
    Span::styled(word, t.style(tone))
}

pub(super) fn state_style(t: &Theme, s: State) -> Style {
    match s {
        State::Ready => t.ok,
        State::Updating => t.warn,
        _ => t.fail,
    }
}

/// The row offset that puts line `top` at the top of a paragraph wrapped `width` wide (as
/// `Wrap { trim: false }` wraps it: at word boundaries, so each line's rows are counted by
/// the same wrapper), clamped so the last page fills the `height` rows (G shows the end, not
/// one line of it).
pub(super) fn scroll_rows(lines: &[Line], width: u16, height: u16, top: usize) -> u16 {
    let w = width.max(1);
    let rows: Vec<usize> = lines
        .iter()
        .map(|l| {
            ratatui::widgets::Paragraph::new(l.clone())
                .wrap(ratatui::widgets::Wrap { trim: false })
                .line_count(w)
                .max(1)
        })
        .collect();
    let total: usize = rows.iter().sum();
    let wanted: usize = rows.iter().take(top).sum();
    wanted.min(total.saturating_sub(height as usize)) as u16
}

/// How many rows `text` takes word-wrapped to `width` columns (as `Wrap { trim: true }`
/// breaks it: at spaces, and inside a word longer than the line).
pub(crate) fn wrapped_rows(text: &str, width: u16) -> u16 {
    let w = width.max(1) as usize;
    let mut rows = 0usize;
    for line in text.lines() {
        let mut used = 0usize;
        rows += 1;
        for word in line.split_whitespace() {
            let n = Span::raw(word).width();
            if used > 0 && used + 1 + n <= w {
                used += 1 + n;
                continue;
            }
            if used > 0 {
                rows += 1;
            }
            // A word wider than the line is broken across rows.
            let spans = n.max(1).div_ceil(w);
            rows += spans - 1;
            used = n - (spans - 1) * w;
        }
    }
    rows.min(u16::MAX as usize) as u16
}

/// A column's width: its longest cell, or `min` (its header) when that is wider.
pub(super) fn widest(min: usize, cells: impl IntoIterator<Item = usize>) -> usize {
    cells.into_iter().fold(min, usize::max)
}

pub(super) fn block<'a>(title: impl Into<Line<'a>>, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.dim)
        .title(title)
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// `text` in `width` columns, its end kept behind a leading `…` when it is longer.
pub(crate) fn keep_end(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width || width == 0 {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n - (width - 1)).collect();
    format!("…{tail}")
}

/// `text` in `width` columns, its start kept before a trailing `…` when it is longer.
pub(crate) fn keep_start(text: &str, width: usize) -> String {
    if text.chars().count() <= width || width == 0 {
        return text.to_string();
    }
    let head: String = text.chars().take(width - 1).collect();
    format!("{head}…")
}

/// Seconds since an RFC 3339 time (helm's `last_deployed`), None when it does not parse.
pub(crate) fn since(rfc3339: &str, now: std::time::SystemTime) -> Option<u64> {
    let at: k8s_openapi::jiff::Timestamp = rfc3339.parse().ok()?;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    u64::try_from(now - at.as_second()).ok()
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::widgets::{Paragraph, Widget, Wrap};

    use super::*;

    /// The rows ratatui's word wrapper really uses: the last row with any text.
    fn rendered_rows(text: &str, width: u16) -> u16 {
        let area = Rect::new(0, 0, width, 60);
        let mut buf = Buffer::empty(area);
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: true })
            .render(area, &mut buf);
        (0..60)
            .rev()
            .find(|&y| (0..width).any(|x| buf[(x, y)].symbol() != " "))
            .map_or(0, |y| y + 1)
    }

    #[test]
    fn wrapped_rows_matches_the_word_wrapper() {
        let texts = [
            "running…",
            "failed: helm timed out, rolled back: release posthog failed, and has been uninstalled due to rollback-on-failure being set: resource Deployment/posthog/posthog-web not ready. status: InProgress — fix: kubectl logs job/posthog-migrate",
            "a pod is failing: s stops waiting and rolls back, or keep waiting",
            "word aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa end",
            "first line\nsecond line that is long enough to wrap at a narrow width",
            "exactly ten",
        ];
        for text in texts {
            for width in [10, 11, 20, 38, 78, 158] {
                assert_eq!(
                    wrapped_rows(text, width),
                    rendered_rows(text, width),
                    "{text:?} at {width}"
                );
            }
        }
    }
}
