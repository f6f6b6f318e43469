//! Home: the Helm releases in the cluster, read from their storage Secrets.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::every_context::{self, ContextRow, EveryContext};
use super::{Screen, Step, step};
use crate::cluster::releases::ReleaseInfo;
use crate::tui::keymap::{Action, Ctx};
use crate::tui::messages::{Effect, Msg};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{self, block};

/// Home's state: which release is selected, and the every-context view when it is on.
#[derive(Debug, Clone, Default)]
pub struct Home {
    pub sel: usize,
    /// `:ctx all`: the releases of every kubeconfig context instead of this cluster's.
    pub every: Option<EveryContext>,
    /// A release chosen in another context, selected once that context's list arrives.
    want: Option<(String, String)>,
}

impl Home {
    pub fn selected<'a>(&self, s: &'a Session) -> Option<&'a ReleaseInfo> {
        s.releases.get(self.sel)
    }

    /// The list changed: the selection stays on a row, or goes to the release chosen in the
    /// every-context view.
    pub fn releases_changed(&mut self, s: &Session) {
        if let Some((name, ns)) = &self.want
            && let Some(i) = s
                .releases
                .iter()
                .position(|r| &r.name == name && &r.namespace == ns)
        {
            self.sel = i;
            self.want = None;
        }
        self.sel = self.sel.min(s.releases.len().saturating_sub(1));
    }

    /// Shows every context's releases, all being read again.
    pub fn every_context(&mut self) -> Effect {
        self.every = Some(EveryContext::default());
        self.sel = 0;
        Effect::ReadEveryContext
    }

    /// A key in the every-context view. Moving, reading again and leaving stay here; acting
    /// on a row of this cluster leaves the view on that release and lets the app go on
    /// (`None`); a row of another context switches to it, its release selected once listed.
    pub fn every_context_act(&mut self, a: Action, s: &Session) -> Option<Step> {
        let every = self.every.as_mut()?;
        if a.moves() {
            self.sel = step(self.sel, every.rows().len(), a);
            return Some(Step::default());
        }
        match a {
            Action::Refresh => Some(Step::effect(self.every_context())),
            Action::Back => {
                self.every = None;
                self.sel = 0;
                Some(Step::default())
            }
            Action::Enter | Action::Dashboard | Action::Upgrade | Action::Rollback => {
                let rows = every.rows();
                let row = rows.get(self.sel)?;
                let (context, release) = match row {
                    ContextRow::Release(c, r) => (c.to_string(), Some(*r)),
                    other => (other.context().to_string(), None),
                };
                self.want = release.map(|r| (r.name.clone(), r.namespace.clone()));
                self.every = None;
                self.sel = 0;
                if context == s.opts.context {
                    self.releases_changed(s);
                    return None;
                }
                let mut step = Step::effect(Effect::SwitchContext(context.clone()));
                step.say = Some(format!("connecting to context {context}…"));
                Some(step)
            }
            _ => None,
        }
    }
}

impl Screen for Home {
    fn keys(&self) -> Ctx {
        Ctx::Home
    }

    fn offers(&self, a: Action, s: &Session) -> bool {
        let listed = match &self.every {
            Some(every) => every
                .rows()
                .iter()
                .any(|r| matches!(r, ContextRow::Release(..))),
            None => !s.releases.is_empty(),
        };
        !matches!(a, Action::Upgrade | Action::Rollback | Action::Dashboard) || listed
    }

    fn act(&mut self, a: Action, s: &Session) -> Option<Step> {
        a.moves().then(|| {
            self.sel = step(self.sel, s.releases.len(), a);
            Step::default()
        })
    }

    fn update(&mut self, m: &Msg, _s: &Session) -> Step {
        if let Some(every) = self.every.as_mut() {
            match m {
                Msg::Contexts(names) => every.named(names.clone()),
                Msg::ContextReleases(context, r) => every.answered(context, r.clone()),
                _ => {}
            }
        }
        Step::default()
    }

    fn draw(&self, f: &mut Frame, area: Rect, s: &Session, t: &Theme) {
        match &self.every {
            Some(every) => every_context::draw(f, area, every, self.sel, s, t),
            None => draw_home(f, area, self, s, t),
        }
    }
}

/// Each release's last operation in this session, newest first: the outcome outlives the
/// release when helm uninstalled it. Each gets two rows for its outcome and one for the pod
/// seen failing, so a long helm message never pushes the failing pod out of the box.
fn draw_last_ops(f: &mut Frame, area: Rect, s: &Session, t: &Theme) {
    let outer = block(" last operations (o shows the last) ", t);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let ops: Vec<_> = s.last_ops.iter().rev().take(4).collect();
    let rows = Layout::vertical(ops.iter().map(|_| Constraint::Length(3))).split(inner);
    for (l, row) in ops.into_iter().zip(rows.iter()) {
        let ok = matches!(l.outcome, crate::deploy::Outcome::Applied { .. });
        let gone = !s
            .releases
            .iter()
            .any(|r| r.name == l.release && r.namespace == l.namespace);
        let gone = if gone && !ok {
            " (the release is no longer installed)"
        } else {
            ""
        };
        let head = format!(
            "{} in {}{gone}: {} {}",
            l.release,
            l.namespace,
            l.what,
            l.outcome.one_line()
        );
        let [head_area, problem_area] =
            Layout::vertical([Constraint::Length(2), Constraint::Length(1)]).areas(*row);
        f.render_widget(
            Paragraph::new(Span::styled(head, if ok { t.ok } else { t.fail }))
                .wrap(Wrap { trim: true }),
            head_area,
        );
        let problem = match &l.problem {
            Some(p) => format!("  seen while helm waited: {p}"),
            None => "  o: the operation's screen".to_string(),
        };
        f.render_widget(Paragraph::new(Span::styled(problem, t.dim)), problem_area);
    }
}

fn draw_home(f: &mut Frame, area: Rect, home: &Home, s: &Session, t: &Theme) {
    let mut areas = vec![area];
    if let Err(how) = &s.opts.helm {
        let [banner, rest] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
        f.render_widget(
            Paragraph::new(format!(
                "helm was not found: {how}. Inspection works; install, upgrade and rollback need it."
            ))
            .style(t.warn)
            .wrap(Wrap { trim: true })
            .block(block(" helm ", t)),
            banner,
        );
        areas = vec![rest];
    }
    let mut area = areas[0];
    if !s.last_ops.is_empty() {
        let n = s.last_ops.len().min(4) as u16;
        let [rest, ops] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(n * 3 + 2)]).areas(area);
        draw_last_ops(f, ops, s, t);
        area = rest;
    }
    if s.releases.is_empty() {
        let text = match &s.releases_error {
            Some(e) => format!("Cannot list releases: {e}"),
            None if s.opts.readonly => "No Helm releases in this cluster.".to_string(),
            None => "No Helm releases in this cluster yet.\n\nPress i to install the stack: pick a profile, answer a few questions, review the values and the preflight, then confirm.".to_string(),
        };
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(block(" releases ", t)),
            area,
        );
        return;
    }
    // Columns as wide as their longest entry (kubectl's way); the time of the last deploy
    // when it fits, else its age (k9s's way), so the chart version is never the one cut.
    let charts: Vec<String> = s
        .releases
        .iter()
        .map(|r| format!("{}-{}", r.chart, r.chart_version))
        .collect();
    let widest = |head: &str, cells: &mut dyn Iterator<Item = usize>| {
        widgets::widest(head.len(), cells) as u16
    };
    let widths = [
        widest("NAME", &mut s.releases.iter().map(|r| r.name.len())),
        widest(
            "NAMESPACE",
            &mut s.releases.iter().map(|r| r.namespace.len()),
        ),
        widest(
            "REV",
            &mut s.releases.iter().map(|r| r.revision.to_string().len()),
        ),
        widest(
            "STATUS",
            &mut s.releases.iter().map(|r| r.status.as_str().len()),
        ),
        widest("CHART", &mut charts.iter().map(String::len)),
        widest("APP", &mut s.releases.iter().map(|r| r.app_version.len())),
    ];
    let used: u16 = widths.iter().sum::<u16>() + widths.len() as u16;
    let full_time = area.width.saturating_sub(2).saturating_sub(used) >= 19;
    let header = Row::new([
        "NAME",
        "NAMESPACE",
        "REV",
        "STATUS",
        "CHART",
        "APP",
        if full_time { "UPDATED" } else { "AGE" },
    ])
    .style(t.header);
    let rows = s.releases.iter().zip(charts).map(|(r, chart)| {
        let status_style = match r.status {
            crate::release_status::ReleaseStatus::Deployed => t.ok,
            s if s.is_pending() => t.warn,
            _ => t.fail,
        };
        let updated = if full_time {
            r.updated.get(..19).unwrap_or(&r.updated).replace('T', " ")
        } else {
            widgets::since(&r.updated, s.now).map_or_else(|| "?".into(), widgets::age)
        };
        Row::new(vec![
            Cell::from(r.name.clone()),
            Cell::from(r.namespace.clone()),
            Cell::from(r.revision.to_string()),
            Cell::from(Span::styled(r.status.as_str(), status_style)),
            Cell::from(chart),
            Cell::from(r.app_version.clone()),
            Cell::from(updated),
        ])
    });
    let mut constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    constraints.push(Constraint::Min(3));
    let table = Table::new(rows, constraints)
        .header(header)
        .row_highlight_style(t.selected)
        .block(block(format!(" releases ({}) ", s.releases.len()), t));
    let mut st = TableState::default().with_selected(Some(home.sel));
    f.render_stateful_widget(table, area, &mut st);
}
