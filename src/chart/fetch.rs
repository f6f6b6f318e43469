//! Chart references: a local path, or a repository / OCI reference that `helm pull` fetches
//! once into helmdeck's cache so later renders work offline.

use std::path::{Path, PathBuf};

use super::ChartError;

/// What the user pointed `--chart` (and `--repo`, `--version`) at.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartRef {
    Bundled,
    Local(PathBuf),
    Repo {
        repo: String,
        name: String,
        version: Option<String>,
    },
    Oci {
        reference: String,
        version: Option<String>,
    },
}

impl ChartRef {
    pub fn parse(chart: Option<&str>, repo: Option<&str>, version: Option<&str>) -> ChartRef {
        let version = version.map(str::to_string);
        match (chart, repo) {
            (None, None) => ChartRef::Bundled,
            (Some(c), None) if c.starts_with("oci://") => ChartRef::Oci {
                reference: c.to_string(),
                version,
            },
            (Some(c), None) => ChartRef::Local(PathBuf::from(c)),
            (c, Some(r)) => ChartRef::Repo {
                repo: r.to_string(),
                name: c.unwrap_or("posthog").to_string(),
                version,
            },
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ChartRef::Bundled => format!("bundled {}", super::BUNDLED_CHART),
            ChartRef::Local(p) => p.display().to_string(),
            ChartRef::Repo {
                repo,
                name,
                version,
            } => format!("{name} from {repo}{}", ver_suffix(version)),
            ChartRef::Oci { reference, version } => format!("{reference}{}", ver_suffix(version)),
        }
    }
}

fn ver_suffix(v: &Option<String>) -> String {
    v.as_ref().map(|v| format!(" {v}")).unwrap_or_default()
}

/// The on-disk path of a chart: local paths as given, the bundled chart from the assets,
/// remote references from the cache (pulled with helm on first use).
pub fn resolve_chart_ref(r: &ChartRef, cache_dir: &Path) -> Result<PathBuf, ChartError> {
    match r {
        ChartRef::Bundled => Ok(crate::assets::bundled_chart_dir()?),
        ChartRef::Local(p) => Ok(p.clone()),
        ChartRef::Repo {
            repo,
            name,
            version,
        } => pull(
            cache_dir,
            &format!("{repo}/{name}"),
            version.as_deref(),
            &["--repo", repo, name],
        ),
        ChartRef::Oci { reference, version } => {
            pull(cache_dir, reference, version.as_deref(), &[reference])
        }
    }
}

fn pull(
    cache_dir: &Path,
    key: &str,
    version: Option<&str>,
    what: &[&str],
) -> Result<PathBuf, ChartError> {
    let slug: String = format!("{key}@{}", version.unwrap_or("latest"))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dest = cache_dir.join("charts").join(slug);
    if let Some(tgz) = first_tgz(&dest) {
        // A pinned version never changes: use the cached copy, offline.
        if version.is_some() {
            return Ok(tgz);
        }
    }
    std::fs::create_dir_all(&dest).map_err(|source| ChartError::Io {
        path: dest.display().to_string(),
        source,
    })?;
    let helm = crate::helm::find_helm().map_err(|e| ChartError::Fetch(e.to_string()))?;
    let mut cmd = std::process::Command::new(&helm.path);
    cmd.arg("pull").args(what).arg("--destination").arg(&dest);
    if let Some(v) = version {
        cmd.arg("--version").arg(v);
    }
    let out = cmd
        .output()
        .map_err(|e| ChartError::Fetch(format!("cannot run {}: {e}", helm.path.display())))?;
    if !out.status.success() {
        if let Some(tgz) = first_tgz(&dest) {
            return Ok(tgz);
        }
        return Err(ChartError::Fetch(format!(
            "helm pull {} failed: {}",
            what.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    first_tgz(&dest)
        .ok_or_else(|| ChartError::Fetch(format!("helm pull left no chart in {}", dest.display())))
}

fn first_tgz(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect();
    found.sort();
    found.pop()
}
