//! The real `helm` binary: where it is, which major it is, and running it.

pub mod driver;
pub mod runs;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The two Helm majors disagree on one null rule; values render as the helm that will apply
/// them merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum HelmMajor {
    V3,
    #[default]
    V4,
}

#[derive(Debug, Clone)]
pub struct HelmBinary {
    pub path: PathBuf,
    /// `v4.1.4+g05fa379` as helm prints it.
    pub version: String,
    pub major: HelmMajor,
}

#[derive(Debug, thiserror::Error)]
pub enum HelmNotFound {
    #[error(
        "helm was not found (looked at $HELMDECK_HELM, $PATH and .tools/bin). Install Helm 3.8+ or 4, or run scripts/get-helm"
    )]
    Missing,
    #[error("{path}: cannot read its version: {message}")]
    Broken { path: String, message: String },
    #[error("{path} is helm {version}; helmdeck needs Helm 3.8 or newer")]
    TooOld { path: String, version: String },
}

/// Finds helm: `HELMDECK_HELM`, then `PATH`, then `.tools/bin` of the source tree.
pub fn find_helm() -> Result<HelmBinary, HelmNotFound> {
    if let Some(p) = std::env::var_os("HELMDECK_HELM").filter(|p| !p.is_empty()) {
        return probe(Path::new(&p));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let cand = dir.join("helm");
            if cand.is_file() {
                return probe(&cand);
            }
        }
    }
    let tools = tools_dir().join("helm");
    if tools.is_file() {
        return probe(&tools);
    }
    Err(HelmNotFound::Missing)
}

/// `.tools/bin` in the source tree, where `scripts/get-helm` puts helm and kubectl.
pub fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin")
}

/// Reads a helm binary's version.
/// The version a binary printed before, while it is the same file (path, size, mtime):
/// asking helm costs ~80 ms, which every command would otherwise pay.
fn cached_version(path: &Path) -> (Option<String>, Option<(PathBuf, String)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return (None, None);
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = format!("{}|{}|{mtime}", path.display(), meta.len());
    let file = crate::dirs::cache_dir().join("helm-versions.json");
    let known: std::collections::BTreeMap<String, String> = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    (known.get(&key).cloned(), Some((file, key)))
}

fn remember_version(file: &Path, key: &str, version: &str) {
    let mut known: std::collections::BTreeMap<String, String> = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    known.insert(key.to_string(), version.to_string());
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(file, serde_json::to_vec(&known).unwrap_or_default());
}

pub fn probe(path: &Path) -> Result<HelmBinary, HelmNotFound> {
    let (cached, slot) = cached_version(path);
    let version = match cached {
        Some(v) => v,
        None => {
            let out = Command::new(path)
                .args(["version", "--short"])
                .env("HELM_NO_PLUGINS", "1")
                .output()
                .map_err(|e| HelmNotFound::Broken {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success()
                && !v.is_empty()
                && let Some((file, key)) = &slot
            {
                remember_version(file, key, &v);
            }
            v
        }
    };
    let core = version.trim_start_matches('v');
    let mut parts = core.split(['.', '+', '-']);
    let major: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let major = match (major, minor) {
        (3, m) if m >= 8 => HelmMajor::V3,
        (m, _) if m >= 4 => HelmMajor::V4,
        _ => {
            return Err(HelmNotFound::TooOld {
                path: path.display().to_string(),
                version,
            });
        }
    };
    Ok(HelmBinary {
        path: path.to_path_buf(),
        version,
        major,
    })
}
