//! Home across every kubeconfig context (`:ctx all`): each context's releases as its answer
//! arrives. Contexts are read concurrently, each with its own deadline, so one that cannot
//! be reached is shown as such while the others are already listed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::cluster::releases::ReleaseInfo;
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{self, block};

/// What is known of one context's releases.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextState {
    Reading,
    Listed(Vec<ReleaseInfo>),
    /// Why its releases could not be listed, in the CLI's words.
    Unreachable(String),
}

/// The every-context view's state, in the kubeconfig's order of contexts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EveryContext {
    pub contexts: Vec<(String, ContextState)>,
    /// The kubeconfig's contexts are not known yet (or could not be read: why).
    pub kubeconfig: Option<Result<(), String>>,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ContextRow<'a> {
    Release(&'a str, &'a ReleaseInfo),
    /// A context that answered with no release.
    Empty(&'a str),
    Reading(&'a str),
    Unreachable(&'a str, &'a str),
}

impl ContextRow<'_> {
    pub fn context(&self) -> &str {
        match self {
            ContextRow::Release(c, _)
            | ContextRow::Empty(c)
            | ContextRow::Reading(c)
            | ContextRow::Unreachable(c, _) => c,
        }
    }
}

impl EveryContext {
    /// The kubeconfig named these contexts: each is being read.
    pub(super) fn named(&mut self, names: Result<Vec<String>, String>) {
        match names {
            Ok(names) => {
                self.contexts = names
                    .into_iter()
                    .map(|n| (n, ContextState::Reading))
                    .collect();
                self.kubeconfig = Some(Ok(()));
            }
            Err(e) => self.kubeconfig = Some(Err(e)),
        }
    }

    /// One context answered, or gave up.
    pub(super) fn answered(&mut self, context: &str, r: Result<Vec<ReleaseInfo>, String>) {
        if let Some((_, state)) = self.contexts.iter_mut().find(|(c, _)| c == context) {
            *state = match r {
                Ok(list) => ContextState::Listed(list),
                Err(e) => ContextState::Unreachable(e),
            };
        }
    }

    /// The table's rows: each context's releases, or one row saying why it has none.
    pub fn rows(&self) -> Vec<ContextRow<'_>> {
        let mut rows = Vec::new();
        for (c, state) in &self.contexts {
            match state {
                ContextState::Reading => rows.push(ContextRow::Reading(c)),
                ContextState::Unreachable(e) => rows.push(ContextRow::Unreachable(c, e)),
                ContextState::Listed(l) if l.is_empty() => rows.push(ContextRow::Empty(c)),
                ContextState::Listed(l) => rows.extend(l.iter().map(|r| ContextRow::Release(c, r))),
            }
        }
        rows
    }

    /// "2 of 3 contexts answered", for the title.
    fn progress(&self) -> String {
        let answered = self
            .contexts
            .iter()
            .filter(|(_, s)| *s != ContextState::Reading)
            .count();
        let releases: usize = self
            .contexts
            .iter()
            .map(|(_, s)| match s {
                ContextState::Listed(l) => l.len(),
                _ => 0,
            })
            .sum();
        format!(
            " releases in every context ({releases} releases; {answered} of {} contexts answered) ",
            self.contexts.len()
        )
    }
}

pub fn draw(f: &mut Frame, area: Rect, every: &EveryContext, sel: usize, s: &Session, t: &Theme) {
    let failed: Vec<(&str, &str)> = every
        .rows()
        .into_iter()
        .filter_map(|r| match r {
            ContextRow::Unreachable(c, e) => Some((c, e)),
            _ => None,
        })
        .collect();
    let mut area = area;
    if !failed.is_empty() {
        // Each unreachable context's reason, whole: the table has no room for it.
        let text: Vec<String> = failed.iter().map(|(c, e)| format!("{c}: {e}")).collect();
        let text = text.join("\n");
        let height =
            (widgets::wrapped_rows(&text, area.width.saturating_sub(2)) + 2).min(area.height / 2);
        let [rest, why] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(height)]).areas(area);
        f.render_widget(
            Paragraph::new(text)
                .style(t.fail)
                .wrap(Wrap { trim: true })
                .block(block(" unreachable contexts ", t)),
            why,
        );
        area = rest;
    }
    if let Some(Err(e)) = &every.kubeconfig {
        f.render_widget(
            Paragraph::new(format!("Cannot read the kubeconfig's contexts: {e}"))
                .wrap(Wrap { trim: true })
                .block(block(" releases in every context ", t)),
            area,
        );
        return;
    }
    let rows = every.rows();
    let current = s.opts.context.as_str();
    let context_cell = |c: &str| {
        if c == current {
            format!("*{c}")
        } else {
            format!(" {c}")
        }
    };
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| match r {
            ContextRow::Release(c, r) => [
                context_cell(c),
                r.name.clone(),
                r.namespace.clone(),
                r.revision.to_string(),
                r.status.as_str().to_string(),
                format!("{}-{}", r.chart, r.chart_version),
                widgets::since(&r.updated, s.now).map_or_else(|| "?".into(), widgets::age),
            ],
            ContextRow::Empty(c) => row_note(context_cell(c), "(no releases)"),
            ContextRow::Reading(c) => row_note(context_cell(c), "reading…"),
            ContextRow::Unreachable(c, _) => row_note(context_cell(c), "unreachable"),
        })
        .collect();
    let heads = [
        "CONTEXT",
        "NAME",
        "NAMESPACE",
        "REV",
        "STATUS",
        "CHART",
        "AGE",
    ];
    let constraints: Vec<Constraint> = (0..heads.len())
        .map(|i| {
            let w = widgets::widest(heads[i].len(), cells.iter().map(|c| c[i].chars().count()));
            if i + 1 == heads.len() {
                Constraint::Min(w as u16)
            } else {
                Constraint::Length(w as u16)
            }
        })
        .collect();
    let styled = rows.iter().zip(cells).map(|(r, c)| {
        let status = match r {
            ContextRow::Release(_, r) => match r.status {
                crate::release_status::ReleaseStatus::Deployed => t.ok,
                st if st.is_pending() => t.warn,
                _ => t.fail,
            },
            ContextRow::Unreachable(..) => t.fail,
            _ => t.dim,
        };
        let [ctx, name, ns, rev, st, chart, age] = c;
        Row::new(vec![
            Cell::from(ctx),
            Cell::from(name),
            Cell::from(ns),
            Cell::from(rev),
            Cell::from(Span::styled(st, status)),
            Cell::from(chart),
            Cell::from(age),
        ])
    });
    let table = Table::new(styled, constraints)
        .header(Row::new(heads).style(t.header))
        .row_highlight_style(t.selected)
        .block(block(every.progress(), t));
    let mut st = TableState::default().with_selected(Some(sel));
    f.render_stateful_widget(table, area, &mut st);
}

/// A context's row without a release: its state where the release's status would be.
fn row_note(context: String, note: &str) -> [String; 7] {
    [
        context,
        String::new(),
        String::new(),
        String::new(),
        note.to_string(),
        String::new(),
        String::new(),
    ]
}
