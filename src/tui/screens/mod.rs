//! The app's screens as components. Each owns its state, reads what the app knows through
//! [`Session`], answers keys and messages with a [`Step`] (work for the runtime, a line for the
//! status bar, a question to confirm, or leaving), and draws itself. None of them knows another
//! screen or the app that routes between them.

pub mod dashboard;
pub mod every_context;
pub mod home;
pub mod rollback;
pub mod run;
pub mod wizard;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::keymap::{Action, Ctx};
use super::messages::{Effect, Msg};
use super::session::Session;
use super::theme::Theme;

/// A screen of the app.
pub trait Screen {
    /// Its context in the keymap table, which feeds its keys, its help and its footer.
    fn keys(&self) -> Ctx;
    /// Whether one of its keys does something in the state it is in: the footer lists only
    /// those.
    fn offers(&self, _a: Action, _s: &Session) -> bool {
        true
    }
    /// Keys it reads before the keymap: typing into a field, one-letter toggles.
    fn raw_key(&mut self, _k: &KeyEvent, _s: &Session) -> Option<Step> {
        None
    }
    /// An action of the keymap; `None` leaves it to the app (quitting, help, going elsewhere).
    fn act(&mut self, a: Action, s: &Session) -> Option<Step>;
    /// A message from the tasks working for the app.
    fn update(&mut self, _m: &Msg, _s: &Session) -> Step {
        Step::default()
    }
    /// What its `/` filter holds, when it has one.
    fn filter(&self) -> Option<&str> {
        None
    }
    /// The filter as typed so far.
    fn set_filter(&mut self, _text: &str) {}
    fn draw(&self, f: &mut Frame, area: Rect, s: &Session, t: &Theme);
}

/// A screen's answer to a key or message: what it asks of the app.
#[derive(Debug, Default)]
pub struct Step {
    /// Work for the runtime.
    pub effects: Vec<Effect>,
    /// A line for the status bar.
    pub say: Option<String>,
    /// A question the app asks before going on.
    pub confirm: Option<Confirm>,
    /// The screen is done: the app goes back to the one before.
    pub leave: bool,
}

impl Step {
    pub fn effects(effects: Vec<Effect>) -> Step {
        Step {
            effects,
            ..Default::default()
        }
    }

    pub fn effect(e: Effect) -> Step {
        Step::effects(vec![e])
    }

    pub fn say(text: impl Into<String>) -> Step {
        Step {
            say: Some(text.into()),
            ..Default::default()
        }
    }

    pub fn confirm(c: Confirm) -> Step {
        Step {
            confirm: Some(c),
            ..Default::default()
        }
    }

    pub fn leave() -> Step {
        Step {
            leave: true,
            ..Default::default()
        }
    }

    /// This step, then `other`'s effects and its say, confirm and leave where it has them.
    pub fn and(mut self, other: Step) -> Step {
        self.effects.extend(other.effects);
        self.say = other.say.or(self.say);
        self.confirm = other.confirm.or(self.confirm);
        self.leave |= other.leave;
        self
    }
}

/// Questions asked before something that cannot be taken back. Each carries what its
/// question names, so it is drawn without asking any screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    /// Apply the plan shown; the question names the release, the chart and app versions from
    /// and to, the stop and the count of value changes.
    Apply { question: String },
    /// Roll back as planned; `typed` holds the release name as it is typed when the plan
    /// asks for it (across a chart major or an app minor), none when `y` is enough.
    Rollback {
        plan: Box<crate::deploy::RollbackPlan>,
        typed: Option<String>,
    },
    /// Quit while helm runs: wait for it, or leave it running.
    QuitWhileRunning,
    /// Stop waiting for a failing install or upgrade: helm (this pid) gives up and rolls back.
    StopWaiting {
        pid: u32,
        /// The failing pod and the first word of what is wrong with it.
        failing: Option<(String, String)>,
        /// What stopping does to the release.
        then: &'static str,
    },
    /// helm was asked to stop and is still running: kill it, leaving the release as it is.
    KillHelm { pid: u32 },
    /// Delete a pod (k9s's ctrl-k): its controller replaces it.
    DeletePod { namespace: String, pod: String },
}

/// Rows a page key moves.
pub const PAGE: usize = 10;

/// Where a list position (or scroll offset) goes on a movement key, within `len` rows.
pub fn step(at: usize, len: usize, a: Action) -> usize {
    let last = len.saturating_sub(1);
    match a {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::PageUp => at.saturating_sub(PAGE),
        Action::PageDown => (at + PAGE).min(last),
        Action::Top => 0,
        _ => last,
    }
}
