//! The values review: the values the wizard would apply, each leaf with the layer that set
//! it, rendered by the same resolution the plan and the apply use.

use serde_json::Value;

use crate::tui::messages::{Review, ReviewJob, ReviewLine};
use crate::values::{self, LayerSource, UserLayer};

/// Why the values do not render: the intent does not resolve, or helm would refuse the values.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Resolve(#[from] crate::deploy::intent::ResolveError),
    #[error(transparent)]
    Render(#[from] crate::values::ValuesError),
}

/// Resolves and renders a review (reads, and may fetch, the chart: run it off the UI
/// thread). Secret values are redacted.
pub fn review(job: &ReviewJob) -> Result<Review, ReviewError> {
    let resolved = job.values.resolve_with(job.profile.clone())?;
    let chart_label = if resolved.chart.name() == crate::chart::BUNDLED_CHART {
        format!("{}, the bundled stand-in", resolved.chart.name())
    } else {
        format!(
            "{} {}",
            resolved.chart.name(),
            resolved.chart.metadata.version
        )
    };
    let mut req = resolved.request;
    req.previous = (!job.current.is_empty()).then(|| UserLayer {
        source: LayerSource::Release {
            name: job.release.clone(),
            revision: 0,
        },
        values: job.current.clone(),
    });
    let r = req.render(&resolved.chart)?;
    let shown = values::redact::redact(&r.values);
    let mut lines = Vec::new();
    values::for_each_leaf(&shown, &mut |path, v| {
        let layer = r
            .provenance
            .get(path)
            .map(|p| r.layers[p.layer].label())
            .unwrap_or_else(|| "chart".into());
        lines.push(ReviewLine {
            path: path.to_string(),
            value: match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            layer,
        });
    });
    Ok(Review { chart_label, lines })
}
