//! Colours, or none: `NO_COLOR` (no-color.org) leaves only bold, dim and reverse.

use ratatui::style::{Color, Modifier, Style};

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
