//! The dashboard: pods by component, disk encryption and ingestion health, from the shared
//! watchers' snapshot through `health`'s analysers. One module per pane; a pod's logs and
//! YAML open over the pods pane.

mod disks;
mod ingestion;
pub mod objects;
pub mod pod_text;
mod pods;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Tabs;

use super::{Screen, Step, step};
use crate::health;
use crate::health::objects::{Drill, ObjectKind};
use crate::tui::keymap::{Action, Ctx};
use crate::tui::messages::{Effect, Msg, TextKind};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{state_style, verdict_span};
pub use pod_text::PodText;
pub use pods::visible_pods;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Pods,
    Disks,
    Ingestion,
    /// A resource view: the release's objects of one kind.
    Objects(ObjectKind),
    /// The release as a tree.
    Xray,
}

/// The pods pane narrowed to the pods one object runs (enter on a Deployment), and the view
/// esc goes back to.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlyPods {
    pub of: String,
    pub pods: Vec<String>,
    pub from: Pane,
    pub from_row: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSort {
    Component,
    Name,
    Status,
    Restarts,
    Age,
}

impl PodSort {
    /// The column header it sorts, and the shift key that picks it (k9s's habit).
    pub fn column(self) -> (&'static str, char) {
        match self {
            PodSort::Component => ("COMPONENT", 'C'),
            PodSort::Name => ("NAME", 'N'),
            PodSort::Status => ("STATUS", 'S'),
            PodSort::Restarts => ("RST", 'R'),
            PodSort::Age => ("AGE", 'A'),
        }
    }

    pub fn for_key(c: char) -> Option<PodSort> {
        [
            PodSort::Component,
            PodSort::Name,
            PodSort::Status,
            PodSort::Restarts,
            PodSort::Age,
        ]
        .into_iter()
        .find(|s| s.column().1 == c)
    }
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub pane: Pane,
    pub selected: usize,
    pub filter: String,
    pub sort: PodSort,
    /// The sort runs the other way (shift+column again, as k9s).
    pub sort_reversed: bool,
    /// The pod whose details are open, and how far they are scrolled.
    pub detail: Option<String>,
    /// The open pod's namespace (with every namespace shown, not the session's).
    pub detail_namespace: String,
    pub detail_scroll: usize,
    /// A pod's logs or YAML, full screen.
    pub text: Option<PodText>,
    pub logs: Vec<String>,
    pub only: Option<OnlyPods>,
}

impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard {
            pane: Pane::Pods,
            selected: 0,
            filter: String::new(),
            sort: PodSort::Component,
            sort_reversed: false,
            detail: None,
            detail_namespace: String::new(),
            detail_scroll: 0,
            text: None,
            logs: Vec::new(),
            only: None,
        }
    }
}

impl Dashboard {
    /// Shows `pane`, from its first row when `from_top`.
    pub fn show(&mut self, pane: Pane, from_top: bool) {
        if from_top || pane != self.pane {
            self.selected = 0;
            self.detail = None;
            self.only = None;
        }
        self.pane = pane;
    }

    /// Rows the selection moves over in the pane shown.
    fn list_len(&self, s: &Session) -> usize {
        match self.pane {
            Pane::Pods => visible_pods(self, s).len(),
            Pane::Disks => s.disks.len(),
            Pane::Ingestion => 0,
            Pane::Objects(k) => objects::visible_objects(self, s, k).len(),
            Pane::Xray => objects::xray_rows(s).len(),
        }
    }

    fn moves(&mut self, a: Action, s: &Session) {
        if let Some(v) = self.text.as_mut() {
            v.scroll_by(a);
        } else if self.detail.is_some() {
            let len = pods::detail(self, s).map_or(0, |d| d.len());
            self.detail_scroll = step(self.detail_scroll, len, a);
        } else {
            self.selected = step(self.selected, self.list_len(s), a);
        }
    }

    /// Enter on the pods pane: the selected pod's details, and its log tail asked for.
    fn enter(&mut self, s: &Session) -> Step {
        match self.pane {
            Pane::Pods => {}
            Pane::Objects(k) => return self.drill(k, s),
            Pane::Xray => return self.drill_xray(s),
            Pane::Disks | Pane::Ingestion => return Step::default(),
        }
        let Some(p) = visible_pods(self, s).get(self.selected).copied() else {
            return Step::default();
        };
        let (namespace, pod) = (p.namespace.clone(), p.name.clone());
        self.open_pod(namespace, pod)
    }

    /// Enter on a resource view's row: the pods it runs, its disk, or the pod an event is
    /// about.
    fn drill(&mut self, kind: ObjectKind, s: &Session) -> Step {
        let rows = objects::visible_objects(self, s, kind);
        let Some(r) = rows.get(self.selected) else {
            return Step::default();
        };
        match r.drill.clone() {
            Drill::Pods(pods) => {
                self.only = Some(OnlyPods {
                    of: format!("{}/{}", kind.short(), r.name),
                    pods,
                    from: self.pane,
                    from_row: self.selected,
                });
                self.pane = Pane::Pods;
                self.selected = 0;
                Step::default()
            }
            Drill::Claim(c) => self.open_claim(&c, s),
            Drill::Pod(p) => self.open_pod(r.namespace.clone(), p),
            Drill::Nothing => Step::say("nothing to open for this object"),
        }
    }

    fn drill_xray(&mut self, s: &Session) -> Step {
        let rows = objects::xray_rows(s);
        let Some(r) = rows.get(self.selected) else {
            return Step::default();
        };
        match r.kind {
            "Pod" => self.open_pod(s.opts.namespace.clone(), r.name.clone()),
            "Claim" => self.open_claim(&r.name, s),
            _ => Step::say("enter opens a pod or a claim"),
        }
    }

    /// shift-f: the selected (or open) pod, or the selected Service.
    fn port_forward(&self, s: &Session) -> Step {
        use crate::cluster::forward::ForwardTo;
        let to = match self.pane {
            Pane::Objects(ObjectKind::Services) => {
                objects::visible_objects(self, s, ObjectKind::Services)
                    .get(self.selected)
                    .map(|r| (r.namespace.clone(), ForwardTo::Service(r.name.clone())))
            }
            _ => match &self.detail {
                Some(p) => Some((self.detail_namespace.clone(), ForwardTo::Pod(p.clone()))),
                None => visible_pods(self, s)
                    .get(self.selected)
                    .map(|p| (p.namespace.clone(), ForwardTo::Pod(p.name.clone()))),
            },
        };
        match to {
            Some((namespace, to)) => Step::effect(Effect::PortForward { namespace, to }),
            None => Step::say("nothing selected to port-forward"),
        }
    }

    fn open_claim(&mut self, claim: &str, s: &Session) -> Step {
        self.pane = Pane::Disks;
        self.selected = s.disks.iter().position(|d| d.claim == claim).unwrap_or(0);
        Step::default()
    }

    /// A pod's details, and its log tail asked for.
    fn open_pod(&mut self, namespace: String, pod: String) -> Step {
        self.pane = Pane::Pods;
        self.detail = Some(pod.clone());
        self.detail_namespace = namespace.clone();
        self.detail_scroll = 0;
        self.logs.clear();
        Step::effect(Effect::Logs { namespace, pod })
    }

    /// Opens the logs or YAML of the selected (or open) pod.
    /// The logs of a named pod (the run screen's failing one), over the pods pane; its
    /// previous container's with `previous`.
    pub fn logs_of(&mut self, namespace: &str, pod: &str, previous: bool, s: &Session) -> Step {
        self.show(Pane::Pods, false);
        let v = if previous {
            PodText::previous_logs(namespace, pod, s.now)
        } else {
            PodText::new(TextKind::Logs, namespace, pod, s.now)
        };
        let e = v.effect();
        self.text = Some(v);
        Step::effect(e)
    }

    fn open_text(&mut self, kind: TextKind, s: &Session) -> Step {
        let pod = match (&self.detail, self.pane) {
            (Some(p), _) => Some((self.detail_namespace.clone(), p.clone())),
            // The x-ray's pods, and the pods events are about, show their logs and YAML too.
            (None, Pane::Xray) => objects::xray_rows(s)
                .get(self.selected)
                .filter(|r| r.kind == "Pod")
                .map(|r| (s.opts.namespace.clone(), r.name.clone())),
            (None, Pane::Objects(ObjectKind::Events)) => {
                objects::visible_objects(self, s, ObjectKind::Events)
                    .get(self.selected)
                    .and_then(|r| match &r.drill {
                        Drill::Pod(p) => Some((r.namespace.clone(), p.clone())),
                        _ => None,
                    })
            }
            (None, _) => visible_pods(self, s)
                .get(self.selected)
                .map(|p| (p.namespace.clone(), p.name.clone())),
        };
        let Some((ns, name)) = pod else {
            return Step::say("no pod selected");
        };
        let v = PodText::new(kind, &ns, &name, s.now);
        let e = v.effect();
        self.text = Some(v);
        Step::effect(e)
    }

    /// esc closes what is open over the pane, then clears the filter, then leaves.
    fn back(&mut self) -> Option<Step> {
        if self.text.is_some() {
            self.text = None;
        } else if self.detail.is_some() {
            self.detail = None;
            self.logs.clear();
        } else if !self.filter.is_empty() {
            self.filter.clear();
        } else if let Some(o) = self.only.take() {
            self.pane = o.from;
            self.selected = o.from_row;
        } else {
            return None;
        }
        Some(Step::default())
    }
}

impl Screen for Dashboard {
    fn keys(&self) -> Ctx {
        Ctx::Dashboard
    }

    fn offers(&self, a: Action, _s: &Session) -> bool {
        match a {
            Action::Sort | Action::DeletePod => self.pane == Pane::Pods && self.text.is_none(),
            Action::Logs | Action::PreviousLogs | Action::Yaml => {
                self.text.is_none()
                    && matches!(
                        self.pane,
                        Pane::Pods | Pane::Xray | Pane::Objects(ObjectKind::Events)
                    )
            }
            Action::Describe => self.pane == Pane::Pods && self.detail.is_none(),
            Action::Filter => {
                matches!(self.pane, Pane::Pods | Pane::Objects(_)) && self.text.is_none()
            }
            Action::Refresh => self.pane == Pane::Ingestion,
            Action::PortForward => {
                self.text.is_none()
                    && matches!(self.pane, Pane::Pods | Pane::Objects(ObjectKind::Services))
            }
            _ => true,
        }
    }

    fn raw_key(&mut self, k: &KeyEvent, _s: &Session) -> Option<Step> {
        if let Some(v) = self.text.as_mut() {
            return v.key(k).map(Step::effects);
        }
        if self.pane == Pane::Pods
            && self.detail.is_none()
            && let KeyCode::Char(c) = k.code
            && let Some(sort) = PodSort::for_key(c)
        {
            self.sort_reversed = self.sort == sort && !self.sort_reversed;
            self.sort = sort;
            self.selected = 0;
            return Some(Step::default());
        }
        None
    }

    fn act(&mut self, a: Action, s: &Session) -> Option<Step> {
        let done = Some(Step::default());
        match a {
            a if a.moves() => {
                self.moves(a, s);
                done
            }
            Action::NextPane | Action::PrevPane => {
                let order = [Pane::Pods, Pane::Disks, Pane::Ingestion];
                let i = order.iter().position(|p| *p == self.pane).unwrap_or(2);
                let n = if a == Action::NextPane { i + 1 } else { i + 2 };
                self.show(order[n % 3], true);
                done
            }
            Action::Sort => {
                self.sort = match self.sort {
                    PodSort::Component => PodSort::Restarts,
                    PodSort::Restarts => PodSort::Age,
                    PodSort::Age | PodSort::Name | PodSort::Status => PodSort::Component,
                };
                self.sort_reversed = false;
                done
            }
            Action::Enter => Some(self.enter(s)),
            Action::Logs => Some(self.open_text(TextKind::Logs, s)),
            Action::PreviousLogs => {
                let step = self.open_text(TextKind::Logs, s);
                match self.text.as_mut() {
                    Some(v) => {
                        *v = PodText::previous_logs(&v.namespace, &v.pod, s.now);
                        Some(Step::effect(v.effect()))
                    }
                    None => Some(step),
                }
            }
            Action::Yaml => Some(self.open_text(TextKind::Yaml, s)),
            Action::Describe => {
                self.text = None;
                Some(self.enter(s))
            }
            Action::Refresh => Some(Step::effect(Effect::ProbeNow)),
            Action::DeletePod => Some(match visible_pods(self, s).get(self.selected) {
                Some(p) => Step::confirm(super::Confirm::DeletePod {
                    namespace: p.namespace.clone(),
                    pod: p.name.clone(),
                }),
                None => Step::say("no pod selected"),
            }),
            Action::PortForward => Some(self.port_forward(s)),
            Action::Back => self.back(),
            _ => None,
        }
    }

    fn update(&mut self, m: &Msg, s: &Session) -> Step {
        match m {
            Msg::Tick(_) => Step::effects(
                self.text
                    .as_mut()
                    .and_then(|v| v.tick(s.now))
                    .into_iter()
                    .collect(),
            ),
            Msg::PodText(pod, kind, result) => {
                if let Some(v) = self.text.as_mut() {
                    v.loaded(pod, *kind, result.clone());
                }
                Step::default()
            }
            Msg::Logs(pod, lines) => {
                if self.detail.as_deref() == Some(pod.as_str()) {
                    self.logs = lines.clone();
                }
                Step::default()
            }
            _ => Step::default(),
        }
    }

    fn filter(&self) -> Option<&str> {
        Some(&self.filter)
    }

    fn set_filter(&mut self, text: &str) {
        self.filter = text.to_string();
        self.selected = 0;
    }

    fn draw(&self, f: &mut Frame, area: Rect, s: &Session, t: &Theme) {
        let [tabs_area, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
        let ing = s
            .probes
            .back()
            .map(|p| health::overall(&health::ingestion_checks(p)));
        let disk = health::overall(
            &[
                health::disk_checks(&s.disks),
                health::usage_checks(&s.disks),
                s.retention.clone(),
            ]
            .concat(),
        );
        let titles = vec![
            Line::from(vec![
                Span::raw("Pods "),
                Span::styled(s.pods.state.label(), state_style(t, s.pods.state)),
            ]),
            Line::from(vec![Span::raw("Disks "), verdict_span(t, disk)]),
            Line::from(vec![
                Span::raw("Ingestion "),
                match ing {
                    Some(v) => verdict_span(t, v),
                    None if s.all_namespaces() => Span::styled("not probed", t.dim),
                    None => Span::styled("probing…", t.dim),
                },
            ]),
        ];
        let mut titles = titles;
        let sel = match self.pane {
            Pane::Pods => 0,
            Pane::Disks => 1,
            Pane::Ingestion => 2,
            Pane::Objects(k) => {
                titles.push(objects::tab_title(Some(k), s, t));
                3
            }
            Pane::Xray => {
                titles.push(objects::tab_title(None, s, t));
                3
            }
        };
        f.render_widget(
            Tabs::new(titles).select(sel).highlight_style(t.selected),
            tabs_area,
        );
        if let Some(v) = &self.text {
            v.draw(f, pane, t);
            return;
        }
        match self.pane {
            Pane::Pods if self.detail.is_some() => pods::draw_detail(f, pane, self, s, t),
            Pane::Pods => pods::draw_pods(f, pane, self, s, t),
            Pane::Disks => disks::draw(f, pane, self, s, t),
            Pane::Ingestion => ingestion::draw(f, pane, s, t),
            Pane::Objects(_) => objects::draw(f, pane, self, s, t),
            Pane::Xray => objects::draw_xray(f, pane, self, s, t),
        }
    }
}
