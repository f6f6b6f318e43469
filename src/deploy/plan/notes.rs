//! The release's values and the chart's upgrade notes for the versions crossed: renamed keys
//! move on the release's values, which the diff then shows and apply sends only on confirm.

use serde_json::Map;
use tokio::sync::mpsc::UnboundedSender;

use super::UpgradeNotes;
use crate::deploy::{Action, DeployRequest, Event, Outcome, send};
use crate::helm::driver::HistoryEntry;
use crate::release_status::ReleaseStatus;
use crate::values::{LayerSource, RenderRequest, UserLayer};

/// The render request with the release's values under it, those values as they were, and the
/// notes crossed.
pub(super) struct Previous {
    pub request: RenderRequest,
    pub values: Map<String, serde_json::Value>,
    pub upgrade: Option<UpgradeNotes>,
}

pub(super) async fn previous_and_notes(
    req: &DeployRequest,
    current: &Option<HistoryEntry>,
    tx: &UnboundedSender<Event>,
) -> Result<Previous, Outcome> {
    let mut request = req.request.clone();
    let mut previous_values = Map::new();
    if let Some(cur) = &current
        && (cur.status == ReleaseStatus::Deployed || req.action != Action::Install)
    {
        previous_values = req.helm.get_values(&req.release, &req.namespace).await?;
        if !previous_values.is_empty() {
            request.previous = Some(UserLayer {
                source: LayerSource::Release {
                    name: req.release.clone(),
                    revision: cur.revision,
                },
                values: previous_values.clone(),
            });
        }
    }

    // The chart's own upgrade notes for the versions crossed; renamed keys move on the
    // release's values, which the diff then shows and apply sends only on confirm.
    let mut upgrade = None;
    if let Some(cur) = &current
        && let Some((name, from)) = crate::chart::upgrade_notes::split_chart_label(&cur.chart)
        && name == req.chart.name()
        && let Some(book) = crate::chart::upgrade_notes::for_chart(name)
    {
        let to = req.chart.metadata.version.clone();
        let notes: Vec<_> = book.crossed(from, &to).into_iter().cloned().collect();
        if !notes.is_empty() {
            let refs: Vec<_> = notes.iter().collect();
            let mut migrations = Vec::new();
            if let Some(prev) = &mut request.previous {
                let (migrated, moved) = crate::chart::upgrade_notes::migrate(&prev.values, &refs);
                prev.values = migrated;
                migrations = moved;
            }
            let in_use: Vec<String> = crate::chart::upgrade_notes::removed_in_use(
                request
                    .previous
                    .as_ref()
                    .map(|p| &p.values)
                    .unwrap_or(&Map::new()),
                &refs,
            )
            .iter()
            .map(|(n, r)| {
                format!(
                    "{} (no longer read since chart {}{})",
                    r.key,
                    n.version,
                    r.hint
                        .as_ref()
                        .map(|h| format!(": {h}"))
                        .unwrap_or_default()
                )
            })
            .collect();
            let u = UpgradeNotes {
                from: from.to_string(),
                to,
                end_of_support: book.end_of_support.clone(),
                notes,
                migrations,
                removed_in_use: in_use,
            };
            send(tx, Event::UpgradeNotes(u.clone()));
            upgrade = Some(u);
        }
    }

    Ok(Previous {
        request,
        values: previous_values,
        upgrade,
    })
}
