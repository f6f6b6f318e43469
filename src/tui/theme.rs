//! Colours, or none: `NO_COLOR` (no-color.org) leaves only bold, dim and reverse.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

pub struct Theme {
    pub ok: Style,
    pub warn: Style,
    pub fail: Style,
    pub accent: Style,
    pub dim: Style,
    pub header: Style,
    pub title: Style,
    pub selected: Style,
}

impl Theme {
    pub fn new(no_color: bool) -> Theme {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        if no_color {
            return Theme {
                ok: Style::default(),
                warn: bold,
                fail: bold,
                accent: Style::default(),
                dim: Style::default().add_modifier(Modifier::DIM),
                header: bold,
                title: Style::default().add_modifier(Modifier::REVERSED),
                selected: Style::default().add_modifier(Modifier::REVERSED),
            };
        }
        Theme {
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow),
            fail: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            accent: Style::default().fg(Color::Cyan),
            dim: Style::default().fg(Color::DarkGray),
            header: bold,
            title: Style::default().fg(Color::Black).bg(Color::Cyan),
            selected: Style::default().add_modifier(Modifier::REVERSED),
        }
    }
}

/// What a piece of text means; the theme decides how it looks. Screens build long views as
/// toned text — plain data, counted and scrolled without drawing — and draw them last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Ok,
    Warn,
    Fail,
    Accent,
    Dim,
    Header,
}

impl Theme {
    pub fn style(&self, tone: Tone) -> Style {
        match tone {
            Tone::Plain => Style::default(),
            Tone::Ok => self.ok,
            Tone::Warn => self.warn,
            Tone::Fail => self.fail,
            Tone::Accent => self.accent,
            Tone::Dim => self.dim,
            Tone::Header => self.header,
        }
    }

    /// A row of toned pieces as a line to draw.
    pub fn line(&self, row: &[(Tone, String)]) -> Line<'static> {
        Line::from(
            row.iter()
                .map(|(tone, text)| Span::styled(text.clone(), self.style(*tone)))
                .collect::<Vec<_>>(),
        )
    }
}
