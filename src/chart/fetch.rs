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
    let (ok, stderr) = run_bounded(&mut cmd, crate::deadlines::pull_timeout())
        .map_err(|e| ChartError::Fetch(format!("cannot run {}: {e}", helm.path.display())))?;
    if !ok {
        if let Some(tgz) = first_tgz(&dest) {
            return Ok(tgz);
        }
        return Err(ChartError::Fetch(format!(
            "helm pull {} failed: {}",
            what.join(" "),
            stderr.trim()
        )));
    }
    first_tgz(&dest)
        .ok_or_else(|| ChartError::Fetch(format!("helm pull left no chart in {}", dest.display())))
}

/// Runs a helm that fetches, killed past `deadline`: helm's HTTP client has no timeout, so
/// a repository that accepts the connection and never answers would hold it for ever (seen
/// with helm 3.17 and 4.1). Returns whether it succeeded and what it said on stderr.
fn run_bounded(
    cmd: &mut std::process::Command,
    deadline: std::time::Duration,
) -> std::io::Result<(bool, String)> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.read_to_string(&mut text);
        }
        text
    });
    let until = std::time::Instant::now() + deadline;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if std::time::Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stderr = reader.join().unwrap_or_default();
    Ok(match status {
        Some(s) => (s.success(), stderr),
        None => (
            false,
            format!(
                "no answer within {} s, so helm was stopped (a repository that accepts connections and never answers?); {} sets the wait",
                deadline.as_secs(),
                crate::deadlines::PULL_TIMEOUT_ENV
            ),
        ),
    })
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
