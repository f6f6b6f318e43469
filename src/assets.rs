//! Files shipped inside the binary: the bundled chart.

use std::path::PathBuf;

/// The bundled stand-in chart's name (under `assets/charts/`).
pub const BUNDLED_CHART: &str = "posthog-mini";

/// The bundled chart could not be written out.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the bundled chart to {path}: {source}")]
pub struct AssetError {
    pub path: String,
    pub source: std::io::Error,
}

include!(concat!(env!("OUT_DIR"), "/bundled_chart.rs"));

/// A directory holding the bundled chart, so helm can read it. The source tree's copy is used
/// when it exists (development, tests); otherwise the embedded copy is written to the cache.
pub fn bundled_chart_dir() -> Result<PathBuf, AssetError> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/charts")
        .join(BUNDLED_CHART);
    if src.join("Chart.yaml").is_file() {
        return Ok(src);
    }
    let dest = crate::dirs::cache_dir()
        .join("bundled")
        .join(format!("{}-{}", BUNDLED_CHART, BUNDLED_CHART_HASH));
    if !dest.join("Chart.yaml").is_file() {
        for (rel, bytes) in BUNDLED_CHART_FILES {
            let path = dest.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| AssetError {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
            std::fs::write(&path, bytes).map_err(|source| AssetError {
                path: path.display().to_string(),
                source,
            })?;
        }
    }
    Ok(dest)
}
