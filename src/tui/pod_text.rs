//! A pod's logs (`l`) and YAML (`y`), as k9s shows them: full screen, scrolled with the list
//! keys, logs followed (new lines keep the view at the end) until the user scrolls up, long
//! lines wrapped or cut, and the container switched with `c`.

use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Effect};
use super::theme::Theme;
use super::widgets::{block, scroll_rows};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Logs,
    Yaml,
}

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
            asked: now,
        }
    }

    pub fn effect(&self) -> Effect {
        Effect::PodText {
            kind: self.kind,
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            container: self.container.clone(),
        }
    }
}

impl App {
    /// Opens the logs or YAML of the selected (or open) pod.
    pub(super) fn open_pod_text(&mut self, kind: TextKind) -> Vec<Effect> {
        let pod = match &self.dash.detail {
            Some(p) => Some((self.opts.namespace.clone(), p.clone())),
            None => super::view::visible_pods(self)
                .get(self.dash.selected)
                .map(|p| (p.namespace.clone(), p.name.clone())),
        };
        let Some((ns, name)) = pod else {
            self.message = Some("no pod selected".into());
            return Vec::new();
        };
        let v = PodText::new(kind, &ns, &name, self.now);
        let e = v.effect();
        self.dash.text = Some(v);
        vec![e]
    }

    /// Keys only the text view has: f follow, w wrap, c next container.
    pub(super) fn pod_text_key(&mut self, k: &KeyEvent) -> Option<Vec<Effect>> {
        if k.modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        let v = self.dash.text.as_mut()?;
        match k.code {
            KeyCode::Char('f') if v.kind == TextKind::Logs => {
                v.follow = !v.follow;
                if v.follow {
                    v.scroll = usize::MAX;
                }
                Some(Vec::new())
            }
            KeyCode::Char('w') => {
                v.wrap = !v.wrap;
                Some(Vec::new())
            }
            KeyCode::Char('c') if v.kind == TextKind::Logs && v.containers.len() > 1 => {
                let at = v
                    .container
                    .as_ref()
                    .and_then(|c| v.containers.iter().position(|x| x == c))
                    .unwrap_or(0);
                v.container = Some(v.containers[(at + 1) % v.containers.len()].clone());
                v.lines.clear();
                v.scroll = usize::MAX;
                v.follow = true;
                Some(vec![v.effect()])
            }
            _ => None,
        }
    }

    /// The text arrived (or could not be read).
    pub(super) fn pod_text_loaded(
        &mut self,
        pod: String,
        kind: TextKind,
        result: Result<(Vec<String>, Vec<String>), String>,
    ) {
        let Some(v) = self
            .dash
            .text
            .as_mut()
            .filter(|v| v.pod == pod && v.kind == kind)
        else {
            return;
        };
        match result {
            Ok((lines, containers)) => {
                v.lines = lines;
                v.error = None;
                if !containers.is_empty() {
                    v.containers = containers;
                }
            }
            Err(e) => v.error = Some(e),
        }
    }

    /// Followed logs are read again every couple of seconds.
    pub(super) fn pod_text_tick(&mut self) -> Vec<Effect> {
        let now = self.now;
        match self.dash.text.as_mut() {
            Some(v)
                if v.kind == TextKind::Logs
                    && v.follow
                    && now.duration_since(v.asked).unwrap_or_default() >= FOLLOW_EVERY =>
            {
                v.asked = now;
                vec![v.effect()]
            }
            _ => Vec::new(),
        }
    }

    /// j/k/g/G/page keys scroll; scrolling up stops following.
    pub(super) fn scroll_pod_text(&mut self, a: super::keymap::Action) {
        use super::keymap::Action;
        let Some(v) = self.dash.text.as_mut() else {
            return;
        };
        let len = v.lines.len();
        let at = v.scroll.min(len.saturating_sub(1));
        v.scroll = super::app::step(at, len, a);
        if a == Action::Bottom && v.kind == TextKind::Logs {
            v.follow = true;
            v.scroll = usize::MAX;
        } else if matches!(a, Action::Up | Action::PageUp | Action::Top) {
            v.follow = false;
        }
    }
}

pub(super) fn draw_pod_text(f: &mut Frame, area: Rect, v: &PodText, t: &Theme) {
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
        TextKind::Logs => format!(
            " logs {}{} · f follow {} · w wrap · {}esc ",
            v.pod,
            v.container
                .as_ref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default(),
            if v.follow { "on" } else { "off" },
            if v.containers.len() > 1 {
                "c container · "
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
