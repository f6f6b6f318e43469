//! Every key the app answers to, declared once: key handling and the `?` help screen are both
//! generated from this table (k9s habits: `:` commands, `/` filter, j/k/g/G, esc back).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    Everywhere,
    Home,
    Wizard,
    Run,
    Dashboard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Back,
    Up,
    Down,
    Top,
    Bottom,
    Enter,
    NextPane,
    PrevPane,
    Command,
    Filter,
    Install,
    Upgrade,
    Rollback,
    Dashboard,
    Refresh,
    Sort,
    Edit,
    PageUp,
    PageDown,
    /// The running (or last) operation's screen, from anywhere.
    ShowRun,
    /// Stop waiting for helm: it gives up (an install or upgrade rolls back).
    StopWaiting,
    /// The selected pod's logs, YAML, or description (k9s's l, y, d).
    Logs,
    /// The previous container's logs (k9s's `p`).
    PreviousLogs,
    Yaml,
    Describe,
    /// Delete the selected pod (its controller replaces it), after confirming.
    DeletePod,
    /// Forward a local port to the selected pod or Service (k9s's shift-f).
    PortForward,
    /// Every namespace's pods (k9s's `0`).
    AllNamespaces,
}

impl Action {
    /// The keys that move a selection or scroll a view.
    pub fn moves(self) -> bool {
        matches!(
            self,
            Action::Up
                | Action::Down
                | Action::Top
                | Action::Bottom
                | Action::PageUp
                | Action::PageDown
        )
    }
}

pub struct Binding {
    pub keys: &'static str,
    pub ctx: Ctx,
    pub action: Action,
    pub help: &'static str,
    /// Changes the cluster: hidden with --readonly.
    pub writes: bool,
}

const fn b(keys: &'static str, ctx: Ctx, action: Action, help: &'static str) -> Binding {
    Binding {
        keys,
        ctx,
        action,
        help,
        writes: false,
    }
}

const fn w(keys: &'static str, ctx: Ctx, action: Action, help: &'static str) -> Binding {
    Binding {
        keys,
        ctx,
        action,
        help,
        writes: true,
    }
}

pub const BINDINGS: &[Binding] = &[
    b(
        "q ctrl-c",
        Ctx::Everywhere,
        Action::Quit,
        "quit (asks while an operation runs)",
    ),
    b("?", Ctx::Everywhere, Action::Help, "this help"),
    b("esc", Ctx::Everywhere, Action::Back, "back / close"),
    b(
        ":",
        Ctx::Everywhere,
        Action::Command,
        "command prompt (the commands are listed below); tab completes",
    ),
    b("j ↓", Ctx::Everywhere, Action::Down, "down"),
    b("k ↑", Ctx::Everywhere, Action::Up, "up"),
    b(
        "pgdn ctrl-f",
        Ctx::Everywhere,
        Action::PageDown,
        "page down",
    ),
    b("pgup ctrl-b", Ctx::Everywhere, Action::PageUp, "page up"),
    b("g", Ctx::Everywhere, Action::Top, "top"),
    b("G", Ctx::Everywhere, Action::Bottom, "bottom"),
    b(
        "enter",
        Ctx::Everywhere,
        Action::Enter,
        "select / drill down / next step",
    ),
    w(
        "i",
        Ctx::Home,
        Action::Install,
        "install the stack (wizard)",
    ),
    w(
        "u",
        Ctx::Home,
        Action::Upgrade,
        "upgrade the selected release",
    ),
    w(
        "r",
        Ctx::Home,
        Action::Rollback,
        "roll the selected release back",
    ),
    b(
        "d",
        Ctx::Home,
        Action::Dashboard,
        "dashboard of the selected release",
    ),
    b("ctrl-r", Ctx::Home, Action::Refresh, "refresh releases"),
    b("tab", Ctx::Dashboard, Action::NextPane, "next pane"),
    b(
        "shift-tab",
        Ctx::Dashboard,
        Action::PrevPane,
        "previous pane",
    ),
    b("/", Ctx::Dashboard, Action::Filter, "filter pods"),
    b(
        "l",
        Ctx::Dashboard,
        Action::Logs,
        "logs of the selected pod (follow, wrap, container)",
    ),
    b(
        "y",
        Ctx::Dashboard,
        Action::Yaml,
        "YAML of the selected pod",
    ),
    b(
        "p",
        Ctx::Dashboard,
        Action::PreviousLogs,
        "previous logs: the selected pod's previous container (what it printed before it died)",
    ),
    b(
        "d",
        Ctx::Dashboard,
        Action::Describe,
        "describe the selected pod (status, events, log tail)",
    ),
    b(
        "s",
        Ctx::Dashboard,
        Action::Sort,
        "sort pods: component, restarts, age (shift+C/N/S/R/A sorts by that column; again reverses)",
    ),
    b(
        "ctrl-r",
        Ctx::Dashboard,
        Action::Refresh,
        "probe ingestion now",
    ),
    w(
        "ctrl-k",
        Ctx::Dashboard,
        Action::DeletePod,
        "delete the selected pod (its controller makes a new one), after confirming",
    ),
    b(
        "shift-f",
        Ctx::Dashboard,
        Action::PortForward,
        "port-forward the selected pod or Service to a local port (shown below)",
    ),
    b(
        "0",
        Ctx::Dashboard,
        Action::AllNamespaces,
        "all namespaces (:ns NAME for one again)",
    ),
    b(
        "o",
        Ctx::Everywhere,
        Action::ShowRun,
        "the running or last operation (:run)",
    ),
    b("d", Ctx::Run, Action::Dashboard, "open the dashboard"),
    b("l", Ctx::Run, Action::Logs, "logs of the failing pod"),
    b(
        "p",
        Ctx::Run,
        Action::PreviousLogs,
        "previous logs of the failing pod",
    ),
    b(
        "tab",
        Ctx::Run,
        Action::NextPane,
        "scroll the other pane (helm's output or the cause)",
    ),
    w(
        "s",
        Ctx::Run,
        Action::StopWaiting,
        "stop waiting: helm gives up (an install or upgrade rolls back; again: kill a helm that hangs)",
    ),
    b("/", Ctx::Wizard, Action::Filter, "filter the values review"),
    b("tab", Ctx::Wizard, Action::NextPane, "next field"),
    b("shift-tab", Ctx::Wizard, Action::PrevPane, "previous field"),
    b(
        "e",
        Ctx::Wizard,
        Action::Edit,
        "edit an override file in $EDITOR (values review)",
    ),
];

fn matches(keys: &str, k: &KeyEvent) -> bool {
    keys.split(' ').any(|spec| match spec {
        "ctrl-c" => k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL),
        "ctrl-r" => k.code == KeyCode::Char('r') && k.modifiers.contains(KeyModifiers::CONTROL),
        "ctrl-k" => k.code == KeyCode::Char('k') && k.modifiers.contains(KeyModifiers::CONTROL),
        "ctrl-f" => k.code == KeyCode::Char('f') && k.modifiers.contains(KeyModifiers::CONTROL),
        "ctrl-b" => k.code == KeyCode::Char('b') && k.modifiers.contains(KeyModifiers::CONTROL),
        "pgdn" => k.code == KeyCode::PageDown,
        "pgup" => k.code == KeyCode::PageUp,
        "esc" => k.code == KeyCode::Esc,
        "enter" => k.code == KeyCode::Enter,
        "tab" => k.code == KeyCode::Tab,
        "shift-tab" => k.code == KeyCode::BackTab,
        "shift-f" => k.code == KeyCode::Char('F'),
        "↓" => k.code == KeyCode::Down,
        "↑" => k.code == KeyCode::Up,
        s => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => {
                    k.code == KeyCode::Char(c)
                        && !k
                            .modifiers
                            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                }
                _ => false,
            }
        }
    })
}

/// The action a key means on a screen; screen bindings win over global ones.
pub fn action_for(k: &KeyEvent, ctx: Ctx, readonly: bool) -> Option<Action> {
    let usable = |b: &&Binding| !(readonly && b.writes) && matches(b.keys, k);
    BINDINGS
        .iter()
        .filter(|b| b.ctx == ctx)
        .find(usable)
        .or_else(|| {
            BINDINGS
                .iter()
                .filter(|b| b.ctx == Ctx::Everywhere)
                .find(usable)
        })
        .map(|b| b.action)
}

/// The help lines for a screen: its own bindings, then the global ones.
pub fn help_lines(ctx: Ctx, readonly: bool) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| (b.ctx == ctx || b.ctx == Ctx::Everywhere) && !(readonly && b.writes))
        .map(|b| (b.keys, b.help))
        .collect()
}

/// The short hints in the footer, as many as fit in `width` columns: this screen's keys in
/// table order, with `<?> help` always last (it lists the rest) and never a hint cut short.
pub fn footer(ctx: Ctx, readonly: bool, width: usize, works: impl Fn(Action) -> bool) -> String {
    let hints: Vec<String> = BINDINGS
        .iter()
        .filter(|b| b.ctx == ctx && !(readonly && b.writes) && works(b.action))
        .map(|b| {
            format!(
                "<{}> {}",
                b.keys.split(' ').next().unwrap_or(b.keys),
                b.help.split([' ', '(']).next().unwrap_or(b.help)
            )
        })
        .chain(["<q> quit".to_string()])
        .collect();
    let help = "<?> help";
    let mut out = String::new();
    for h in hints {
        let next = out.chars().count() + 2 + h.chars().count();
        if next + 2 + help.len() > width {
            break;
        }
        out.push_str(&h);
        out.push_str("  ");
    }
    out.push_str(help);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn screen_bindings_win_and_readonly_hides_writes() {
        assert_eq!(
            action_for(&key(KeyCode::Char('i')), Ctx::Home, false),
            Some(Action::Install)
        );
        assert_eq!(action_for(&key(KeyCode::Char('i')), Ctx::Home, true), None);
        assert_eq!(
            action_for(&key(KeyCode::Tab), Ctx::Dashboard, false),
            Some(Action::NextPane)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('j')), Ctx::Dashboard, false),
            Some(Action::Down)
        );
        assert!(
            help_lines(Ctx::Home, true)
                .iter()
                .all(|(_, h)| !h.contains("install"))
        );
    }

    #[test]
    fn the_footer_fits_its_width_and_always_ends_with_help() {
        for width in [40, 60, 80, 160] {
            let f = footer(Ctx::Home, false, width, |_| true);
            assert!(f.chars().count() <= width, "{width}: {f}");
            assert!(f.ends_with("<?> help"), "{width}: {f}");
            assert!(!f.contains("<?> help  <"), "{f}");
        }
        assert!(footer(Ctx::Home, false, 160, |_| true).contains("<q> quit"));
        assert!(!footer(Ctx::Home, false, 160, |a| a != Action::Install).contains("install"));
    }
}
