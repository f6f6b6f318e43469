//! A pod's logs (`l`) and YAML (`y`), as k9s shows them: full screen, scrolled with the list
//! keys, logs followed (new lines keep the view at the end) until the user scrolls up, long
//! lines wrapped or cut, and the container switched with `c`.

use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::keymap::Action;
use crate::tui::messages::{Effect, TextKind};
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, scroll_rows};

#[derive(Debug, Clone, PartialEq)]
pub struct PodText {
    pub kind: TextKind,
    pub namespace: String,
    pub pod: String,
    /// The container whose logs show (`None`: the pod's first).
    pub container: Option<String>,
    pub containers: Vec<String>,
    pub lines: Vec<String>,
    pub error: Option<String>,
    /// The top line; `usize::MAX` keeps the end in view (following).
    pub scroll: usize,
    pub follow: bool,
    pub wrap: bool,
    /// The previous container's logs (`p`), which no longer grow.
    pub previous: bool,
    /// When the text was last asked for (logs are asked again while followed).
    pub asked: SystemTime,
}

/// How often followed logs are read again.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

impl PodText {
    pub fn new(kind: TextKind, namespace: &str, pod: &str, now: SystemTime) -> PodText {
        PodText {
            kind,
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: None,
            containers: Vec::new(),
            lines: Vec::new(),
            error: None,
            scroll: if kind == TextKind::Logs {
                usize::MAX
            } else {
                0
            },
            follow: kind == TextKind::Logs,
            wrap: kind == TextKind::Logs,
            previous: false,
            asked: now,
        }
    }

    /// The logs of the pod's previous container (k9s's `p`): what a crash-looping pod printed
    /// before it died.
    pub fn previous_logs(namespace: &str, pod: &str, now: SystemTime) -> PodText {
        PodText {
            previous: true,
            follow: false,
            ..PodText::new(TextKind::Logs, namespace, pod, now)
        }
    }

    pub fn effect(&self) -> Effect {
        Effect::PodText {
            kind: self.kind,
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            container: self.container.clone(),
            previous: self.previous,
        }
    }
}

impl PodText {
    /// Keys only the text view has: f follow, w wrap, c next container, p the previous
    /// container's logs and back.
    pub fn key(&mut self, k: &KeyEvent) -> Option<Vec<Effect>> {
        if k.modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        match k.code {
            KeyCode::Char('p') if self.kind == TextKind::Logs => {
                self.previous = !self.previous;
                self.follow = !self.previous;
                self.lines.clear();
                self.error = None;
                self.scroll = usize::MAX;
                Some(vec![self.effect()])
            }
            KeyCode::Char('f') if self.kind == TextKind::Logs && !self.previous => {
                self.follow = !self.follow;
                if self.follow {
                    self.scroll = usize::MAX;
                }
                Some(Vec::new())
            }
            KeyCode::Char('w') => {
                self.wrap = !self.wrap;
                Some(Vec::new())
            }
            KeyCode::Char('c') if self.kind == TextKind::Logs && self.containers.len() > 1 => {
                let at = self
                    .container
                    .as_ref()
                    .and_then(|c| self.containers.iter().position(|x| x == c))
                    .unwrap_or(0);
                self.container = Some(self.containers[(at + 1) % self.containers.len()].clone());
                self.lines.clear();
                self.scroll = usize::MAX;
                self.follow = true;
                Some(vec![self.effect()])
            }
            _ => None,
        }
    }

    /// The text arrived (or could not be read); an answer for another pod or kind is dropped.
    pub(super) fn loaded(
        &mut self,
        pod: &str,
        kind: TextKind,
        result: Result<(Vec<String>, Vec<String>), String>,
    ) {
        if self.pod != pod || self.kind != kind {
            return;
        }
        match result {
            Ok((lines, containers)) => {
                self.lines = lines;
                self.error = None;
                if !containers.is_empty() {
                    self.containers = containers;
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Followed logs are read again every couple of seconds.
    pub fn tick(&mut self, now: SystemTime) -> Option<Effect> {
        let due = now.duration_since(self.asked).unwrap_or_default() >= FOLLOW_EVERY;
        (self.kind == TextKind::Logs && self.follow && due).then(|| {
            self.asked = now;
            self.effect()
        })
    }

    /// j/k/g/G/page keys scroll; scrolling up stops following.
    pub fn scroll_by(&mut self, a: Action) {
        let len = self.lines.len();
        let at = self.scroll.min(len.saturating_sub(1));
        self.scroll = crate::tui::screens::step(at, len, a);
        if a == Action::Bottom && self.kind == TextKind::Logs {
            self.follow = true;
            self.scroll = usize::MAX;
        } else if matches!(a, Action::Up | Action::PageUp | Action::Top) {
            self.follow = false;
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, t: &Theme) {
        draw_pod_text(f, area, self, t)
    }
}

fn draw_pod_text(f: &mut Frame, area: Rect, v: &PodText, t: &Theme) {
    let mut lines: Vec<Line> = v.lines.iter().map(|l| Line::from(l.clone())).collect();
    if let Some(e) = &v.error {
        lines.push(Line::styled(format!("cannot read it: {e}"), t.fail));
    } else if lines.is_empty() {
        lines.push(Line::styled("(nothing yet)", t.dim));
    }
    let (w, h) = (area.width.saturating_sub(2), area.height.saturating_sub(2));
    let offset = if v.wrap {
        scroll_rows(&lines, w, h, v.scroll)
    } else {
        v.scroll.min(lines.len().saturating_sub(h as usize)) as u16
    };
    let what = match v.kind {
        TextKind::Logs if v.previous => format!(
            " previous logs {}{} · p current · w wrap · esc ",
            v.pod,
            v.container
                .as_ref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default(),
        ),
        TextKind::Logs => format!(
            " logs {}{} · f follow {} · p prev · w wrap{} ",
            v.pod,
            v.container
                .as_ref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default(),
            if v.follow { "on" } else { "off" },
            if v.containers.len() > 1 {
                " · c container"
            } else {
                ""
            }
        ),
        TextKind::Yaml => format!(" yaml {} · w wrap · esc ", v.pod),
    };
    let mut p = Paragraph::new(lines)
        .scroll((offset, 0))
        .block(block(what, t));
    if v.wrap {
        p = p.wrap(Wrap { trim: false });
    }
    f.render_widget(p, area);
}
