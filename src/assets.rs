//! Files shipped inside the binary: the bundled chart.

use std::path::PathBuf;

use crate::chart::ChartError;

include!(concat!(env!("OUT_DIR"), "/bundled_chart.rs"));

/// A directory holding the bundled chart, so helm can read it. The source tree's copy is used
/// when it exists (development, tests); otherwise the embedded copy is written to the cache.
pub fn bundled_chart_dir() -> Result<PathBuf, ChartError> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/charts")
        .join(crate::chart::BUNDLED_CHART);
    if src.join("Chart.yaml").is_file() {
        return Ok(src);
    }
    let dest = crate::dirs::cache_dir().join("bundled").join(format!(
        "{}-{}",
        crate::chart::BUNDLED_CHART,
        BUNDLED_CHART_HASH
    ));
    if !dest.join("Chart.yaml").is_file() {
        for (rel, bytes) in BUNDLED_CHART_FILES {
            let path = dest.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| ChartError::Io {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
            std::fs::write(&path, bytes).map_err(|source| ChartError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
    }
    Ok(dest)
}
