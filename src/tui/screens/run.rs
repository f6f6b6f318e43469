//! The run screen: an install, upgrade or rollback as it happens — the engine's steps, helm's
//! output, the rollout gauge and, on failure, the pod that caused it.

use std::collections::VecDeque;
use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};

use super::{Confirm, Screen, Step};
use crate::deploy::{self, Outcome, StepState};
use crate::tui::keymap::{Action, Ctx};
use crate::tui::messages::{Effect, Msg};
use crate::tui::session::{LastOperation, Session};
use crate::tui::theme::Theme;
use crate::tui::widgets::{self, block};

/// helm output lines the run screen keeps: all of a run's, NOTES included, short of a
/// runaway helm.
const HELM_LINES: usize = 20_000;

#[derive(Debug, Clone)]
pub struct RunView {
    pub title: String,
    pub steps: Vec<(deploy::Step, StepState, String)>,
    pub helm: VecDeque<String>,
    pub pods: (usize, usize),
    pub jobs: (usize, usize),
    pub started: SystemTime,
    pub finished: Option<SystemTime>,
    pub outcome: Option<Outcome>,
    /// helm's pid and output file once it runs: it outlives the app if the user leaves.
    pub helm_process: Option<(u32, String)>,
    /// The worst pod problem seen while helm waited, with its events and log tail: shown
    /// the moment it is evident, and what a failure is explained with after the rollback
    /// removed the pod.
    pub problem: Option<RunProblem>,
    pub release: String,
    pub namespace: String,
    /// `install`, `upgrade` or `rollback`.
    pub what: String,
    /// The user asked helm to give up; its rollback is under way.
    pub stopping: bool,
    /// How far the cause pane is scrolled (j/k, g/G).
    pub scroll: u16,
    /// How many lines the helm pane is scrolled up from its end (0: it follows helm).
    pub helm_back: usize,
    /// j/k scroll the helm pane rather than the cause (tab switches).
    pub helm_focused: bool,
}

impl RunView {
    pub fn new(title: String, what: &str, release: &str, namespace: &str, now: SystemTime) -> Self {
        RunView {
            title,
            steps: Vec::new(),
            helm: VecDeque::new(),
            pods: (0, 0),
            jobs: (0, 0),
            started: now,
            finished: None,
            outcome: None,
            helm_process: None,
            problem: None,
            release: release.to_string(),
            namespace: namespace.to_string(),
            what: what.to_string(),
            stopping: false,
            scroll: 0,
            helm_back: 0,
            helm_focused: false,
        }
    }

    /// What stopping helm does to the release: the app's installs and upgrades roll back on
    /// failure, but nothing undoes a rollback cut short (helm leaves it pending-rollback).
    pub fn stopping_does(&self) -> &'static str {
        if self.what == "rollback" {
            "it leaves the release pending-rollback (the outcome says how to run the rollback again)"
        } else {
            "it rolls the release back"
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunProblem {
    pub pod: String,
    pub finding: String,
    pub next_step: String,
    pub events: Vec<String>,
    pub logs: Vec<String>,
}

/// The run screen: the operation running or last run in this session.
#[derive(Debug, Clone, Default)]
pub struct RunScreen {
    pub view: Option<RunView>,
}

impl RunScreen {
    /// An install, upgrade or rollback is under way.
    pub fn busy(&self) -> bool {
        self.view.as_ref().is_some_and(|r| r.outcome.is_none())
    }

    /// The operation ended: its outcome, kept for Home.
    pub fn finished(&mut self, o: Outcome, now: SystemTime) -> Option<LastOperation> {
        let r = self.view.as_mut()?;
        r.outcome = Some(o.clone());
        r.finished = Some(now);
        Some(LastOperation {
            release: r.release.clone(),
            namespace: r.namespace.clone(),
            what: r.what.clone(),
            outcome: o,
            problem: r
                .problem
                .as_ref()
                .map(|p| format!("pod {}: {}", p.pod, p.finding)),
            finished: now,
        })
    }

    /// The user confirmed stopping helm (this pid): the pane says what it does.
    pub fn stopping(&mut self, pid: u32) {
        if let Some(r) = self.view.as_mut() {
            r.stopping = true;
            let then = r.stopping_does();
            r.helm.push_back(format!(
                "stopping: asked helm (pid {pid}) to give up; {then}"
            ));
        }
    }

    /// The user confirmed killing helm (this pid).
    pub fn killing(&mut self, pid: u32) {
        if let Some(r) = self.view.as_mut() {
            r.helm.push_back(format!(
                "killing helm (pid {pid}): the release is left as helm left it; its state and the way back follow"
            ));
        }
    }

    /// s: stop waiting, and once asked, kill.
    fn stop_waiting(&self) -> Step {
        let running = self.view.as_ref().filter(|r| r.outcome.is_none());
        let Some((r, (pid, _))) = running.and_then(|r| r.helm_process.as_ref().map(|p| (r, p)))
        else {
            return Step::say("helm is not running: nothing to stop");
        };
        let pid = *pid;
        // Asked once and still running: the next step is to kill it.
        if r.stopping {
            return Step::confirm(Confirm::KillHelm { pid });
        }
        let failing = r.problem.as_ref().map(|p| {
            let word = p.finding.split([' ', ':']).next().unwrap_or_default();
            (p.pod.clone(), word.to_string())
        });
        Step::confirm(Confirm::StopWaiting {
            pid,
            failing,
            then: r.stopping_does(),
        })
    }

    /// j/k/g/G on the run screen scroll the cause pane, or helm's output when it has the
    /// focus or there is no cause (up goes back from the end; G follows helm again).
    fn scroll(&mut self, a: Action) {
        let Some(r) = self.view.as_mut() else { return };
        if r.helm_focused || r.problem.is_none() {
            let len = r.helm.len();
            let back = len.saturating_sub(1 + r.helm_back);
            let at = super::step(back, len, a);
            r.helm_back = len.saturating_sub(1 + at);
            return;
        }
        let len = r
            .problem
            .as_ref()
            .map_or(0, |p| 2 + p.events.len() + p.logs.len().min(8) + 1);
        r.scroll = super::step(r.scroll as usize, len, a) as u16;
    }

    /// The watchers saw the cluster change: the failing pod, if one is, is named at once.
    pub fn observed(&mut self, s: &Session) -> Step {
        Step::effects(self.note_problem(s))
    }

    /// While an operation runs, remembers the worst pod problem (and asks for its logs once).
    fn note_problem(&mut self, s: &Session) -> Vec<Effect> {
        let Some(r) = self.view.as_mut().filter(|r| r.outcome.is_none()) else {
            return Vec::new();
        };
        let named = r.problem.as_ref().map(|p| p.pod.as_str());
        let Some(f) = crate::health::pods::failing_pod(&s.pods.findings, named) else {
            return Vec::new();
        };
        let Some(pod) = f.subject.pod().map(str::to_string) else {
            return Vec::new();
        };
        let events = crate::health::pods::pod_events(&s.snapshot, &pod);
        let new_pod = r.problem.as_ref().is_none_or(|p| p.pod != pod);
        let logs = r
            .problem
            .as_ref()
            .filter(|p| p.pod == pod)
            .map(|p| p.logs.clone())
            .unwrap_or_default();
        r.problem = Some(RunProblem {
            pod: pod.clone(),
            finding: f.message.clone(),
            next_step: f.next_step.clone(),
            events,
            logs,
        });
        if new_pod {
            vec![Effect::Logs {
                namespace: s.opts.namespace.clone(),
                pod,
            }]
        } else {
            Vec::new()
        }
    }

    fn engine_event(&mut self, e: &deploy::Event) {
        use deploy::Event as E;
        let Some(r) = self.view.as_mut() else { return };
        match e.clone() {
            E::Step {
                step,
                state,
                detail,
            } => match r.steps.iter_mut().find(|s| s.0 == step) {
                Some(s) => {
                    s.1 = state;
                    if !detail.is_empty() {
                        s.2 = detail;
                    }
                }
                None => r.steps.push((step, state, detail)),
            },
            E::HelmOutput { line } => {
                r.helm.push_back(line);
                // Scrolled back, the pane stays on the lines being read.
                if r.helm_back > 0 {
                    r.helm_back += 1;
                }
                while r.helm.len() > HELM_LINES {
                    r.helm.pop_front();
                }
            }
            E::Progress {
                pods_ready,
                pods_expected,
                jobs_done,
                jobs_expected,
            } => {
                r.pods = (pods_ready, pods_expected);
                r.jobs = (jobs_done, jobs_expected);
            }
            E::Check(c) => r.helm.push_back(format!("[{:?}] {}", c.verdict, c.message)),
            E::ValuesDiff { changes } => r
                .helm
                .push_back(format!("{} value(s) change", changes.len())),
            E::Notice { message } => r.helm.push_back(message),
            // The run screen names the failing pod from the dashboard's own watchers, by the
            // same rule (`failing_pod`), as soon as they see it.
            E::PodProblem { .. } => {}
            E::HelmStarted { pid, log } => {
                r.helm.push_back(format!("helm started (pid {pid})"));
                r.helm_process = Some((pid, log));
            }
            E::ManifestDiff { kinds } => r
                .helm
                .push_back(format!("{} kind(s) of objects change", kinds.len())),
            E::UpgradeNotes(u) => r.helm.push_back(format!(
                "chart {} → {}: {} upgrade note(s), {} key(s) migrated",
                u.from,
                u.to,
                u.notes.len(),
                u.migrations.len()
            )),
        }
    }

    /// What to tell the user who leaves helm running: its pid, its output and how to follow it.
    pub fn left_running_note(&self, s: &Session) -> String {
        let (release, namespace) = (&s.opts.release, &s.opts.namespace);
        let process = self
            .view
            .as_ref()
            .and_then(|r| r.helm_process.as_ref())
            .map(|(pid, log)| format!(" (pid {pid}; its errors go to {log})"))
            .unwrap_or_default();
        format!(
            "helm keeps running{process}.\nFollow it: helmdeck status --release {release} -n {namespace}"
        )
    }
}

impl Screen for RunScreen {
    fn keys(&self) -> Ctx {
        Ctx::Run
    }

    fn offers(&self, a: Action, _s: &Session) -> bool {
        a != Action::StopWaiting
            || self
                .view
                .as_ref()
                .is_some_and(|r| r.outcome.is_none() && r.helm_process.is_some())
    }

    fn act(&mut self, a: Action, _s: &Session) -> Option<Step> {
        match a {
            a if a.moves() => {
                self.scroll(a);
                Some(Step::default())
            }
            Action::NextPane => {
                if let Some(r) = self.view.as_mut() {
                    r.helm_focused = !r.helm_focused && r.problem.is_some();
                }
                Some(Step::default())
            }
            Action::StopWaiting => Some(self.stop_waiting()),
            _ => None,
        }
    }

    fn update(&mut self, m: &Msg, _s: &Session) -> Step {
        match m {
            Msg::Engine(e) => {
                self.engine_event(e);
                Step::default()
            }
            Msg::Logs(pod, lines) => {
                if let Some(p) = self.view.as_mut().and_then(|r| r.problem.as_mut())
                    && p.pod == *pod
                {
                    p.logs = lines.clone();
                }
                Step::default()
            }
            _ => Step::default(),
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, s: &Session, t: &Theme) {
        if let Some(r) = &self.view {
            draw_run(f, area, r, s, t)
        }
    }
}

fn draw_run(f: &mut Frame, area: Rect, r: &RunView, s: &Session, t: &Theme) {
    let (text, keys, style) = result_text(s, r, t);
    // The result gets the rows its text wraps to, up to a quarter of the screen: the cause
    // pane above needs the room more.
    let rows = widgets::wrapped_rows(&text, area.width.saturating_sub(2));
    let [steps_area, gauge_area, out_area, result_area] = Layout::vertical([
        Constraint::Length(r.steps.len().max(1) as u16 + 2),
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(rows.clamp(1, (area.height / 4).saturating_sub(3).max(2)) + 2),
    ])
    .areas(area);
    let end = r.finished.unwrap_or(s.now);
    let elapsed = end.duration_since(r.started).unwrap_or_default().as_secs();
    let lines: Vec<Line> = r
        .steps
        .iter()
        .map(|(step, state, detail)| {
            let (mark, style) = match state {
                StepState::Running => ("…", t.warn),
                StepState::Done => ("✓", t.ok),
                StepState::Failed => ("✗", t.fail),
                StepState::Skipped => ("-", t.dim),
            };
            Line::from(vec![
                Span::styled(format!(" {mark} "), style),
                Span::raw(format!("{step:?}")),
                Span::styled(format!("  {detail}"), t.dim),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block(format!(" {} · {elapsed}s ", r.title), t)),
        steps_area,
    );
    let (ready, expected) = r.pods;
    let ratio = if expected == 0 {
        0.0
    } else {
        ready as f64 / expected as f64
    };
    f.render_widget(
        Gauge::default()
            .block(block(" rollout ", t))
            .gauge_style(t.ok)
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!(
                "pods ready {ready}/{expected} · jobs done {}/{}",
                r.jobs.0, r.jobs.1
            )),
        gauge_area,
    );
    // The cause shows the moment a pod fails while helm waits, and stays after a failure.
    let shown = r.outcome.is_none() || matches!(r.outcome, Some(Outcome::Failed { .. }));
    let (out_area, cause_area) = match (&r.problem, shown) {
        (Some(_), true) => {
            let [a, b] = Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(out_area);
            (a, Some(b))
        }
        _ => (out_area, None),
    };
    let height = out_area.height.saturating_sub(2) as usize;
    let (skip, end) = helm_window(r.helm.len(), height, r.helm_back);
    let out: Vec<Line> = r
        .helm
        .iter()
        .skip(skip)
        .take(end - skip)
        .map(|l| Line::from(l.clone()))
        .collect();
    let following = if r.helm_back == 0 {
        ""
    } else {
        " · G: follow"
    };
    let focus = if r.helm_focused || r.problem.is_none() {
        " · j/k scroll"
    } else {
        " · tab: scroll"
    };
    let title = format!(" helm {end}/{}{focus}{following} ", r.helm.len());
    f.render_widget(Paragraph::new(out).block(block(title, t)), out_area);
    if let (Some(area), Some(p)) = (cause_area, &r.problem) {
        let mut lines = vec![
            Line::from(Span::styled(
                format!("pod {}: {}", p.pod, p.finding),
                t.fail,
            )),
            Line::from(Span::styled(
                // After a rollback the pod is gone: a kubectl command on it would find nothing.
                if matches!(
                    r.outcome,
                    Some(Outcome::Failed {
                        rolled_back: true,
                        ..
                    })
                ) {
                    "the pod went with the rollback: its events and last log lines are kept here; fix the cause, then run again".to_string()
                } else {
                    format!("next step: {}", p.next_step)
                },
                t.accent,
            )),
        ];
        lines.extend(p.events.iter().map(|e| Line::from(format!("  {e}"))));
        if !p.logs.is_empty() {
            lines.push(Line::from(Span::styled("last log lines:", t.header)));
            lines.extend(
                p.logs
                    .iter()
                    .rev()
                    .take(8)
                    .rev()
                    .map(|l| Line::from(format!("  {l}"))),
            );
        }
        let title = if r.outcome.is_none() {
            " failing while helm waits · j/k scroll "
        } else {
            " cause · j/k scroll "
        };
        let offset = widgets::scroll_rows(
            &lines,
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
            r.scroll as usize,
        );
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((offset, 0))
                .block(block(title, t)),
            area,
        );
    }
    f.render_widget(
        Paragraph::new(text)
            .style(style)
            .wrap(Wrap { trim: true })
            .block(block(" result ", t).title_bottom(keys)),
        result_area,
    );
}

/// The helm lines a pane of `height` rows shows, `back` lines up from the end: the first
/// line's index and one past the last (the position shown as `end/len`).
fn helm_window(len: usize, height: usize, back: usize) -> (usize, usize) {
    let end = len.saturating_sub(back).max(height.min(len));
    (end.saturating_sub(height), end)
}

/// The run screen's result line and the keys that apply (kept on the border, where a long
/// message cannot push them out of sight).
fn result_text(s: &Session, r: &RunView, t: &Theme) -> (String, String, ratatui::style::Style) {
    match &r.outcome {
        None if r.stopping => (
            format!(
                "stopping: helm gives up and {}…",
                r.stopping_does().trim_start_matches("it ")
            ),
            " s again: kill helm if it hangs ".into(),
            t.warn,
        ),
        None if r.problem.is_some() && !s.opts.readonly => (
            format!(
                "a pod is failing: s stops waiting{}, or keep waiting",
                if r.what == "rollback" {
                    ""
                } else {
                    " and rolls back"
                }
            ),
            " s: stop · esc: home (it goes on) ".into(),
            t.fail,
        ),
        None => (
            "running…".into(),
            " esc: home (it goes on, o returns) · q asks before quitting ".into(),
            t.warn,
        ),
        Some(o @ Outcome::Applied { .. }) => {
            (o.one_line(), " d: dashboard · esc: home ".into(), t.ok)
        }
        // The fix first: on a small screen the end of a long helm message is what gets cut
        // (helm's own output, in the pane above, has all of it).
        Some(Outcome::Failed {
            kind,
            message,
            fix,
            rolled_back,
        }) if !fix.is_empty() => {
            let rb = if *rolled_back { ", rolled back" } else { "" };
            (
                format!("failed: {}{rb} — fix: {fix}\n{message}", kind.phrase()),
                " esc: home ".into(),
                t.fail,
            )
        }
        Some(o) => (o.one_line(), " esc: home ".into(), t.fail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stopped rollback is not undone by anything: the notes must not promise one.
    #[test]
    fn stopping_says_what_happens_to_the_release() {
        let now = SystemTime::UNIX_EPOCH;
        let upgrade = RunView::new("Upgrade".into(), "upgrade", "ph", "posthog", now);
        let rollback = RunView::new("Rollback".into(), "rollback", "ph", "posthog", now);
        assert_eq!(upgrade.stopping_does(), "it rolls the release back");
        assert!(rollback.stopping_does().contains("pending-rollback"));
        assert!(!rollback.stopping_does().contains("rolls the release back"));
    }
}
