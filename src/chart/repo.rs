//! A chart repository's `index.yaml`: which versions of a chart exist, with the app version,
//! the Kubernetes range each declares and when it was published. Read over HTTP (helm's
//! repositories are plain web folders), kept in the cache so a later run works offline.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::constraint::{Version, satisfies};

/// The vendor's chart repository (PostHog/charts-clickhouse, published on GitHub Pages; see
/// shared/UPGRADE-NOTES.md and REFERENCE.md).
pub const VENDOR_REPO: &str = "https://posthog.github.io/charts-clickhouse/";
/// The vendor's chart in that repository.
pub const VENDOR_CHART: &str = "posthog";
/// Points every profile's chart repository elsewhere (a mirror, or a test's 127.0.0.1 folder).
pub const REPO_ENV: &str = "HELMDECK_CHART_REPO";

/// An index larger than this is not a chart repository's (the vendor's is well under 1 MiB).
const MAX_INDEX_BYTES: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(
        "cannot read the chart repository index {url}: {message} (check the URL, or give another with --repo or ${REPO_ENV})"
    )]
    Fetch { url: String, message: String },
    #[error("{url} is not a chart repository index: {message}")]
    Invalid { url: String, message: String },
    #[error("the repository {url} has no chart {chart:?} (it has: {has})")]
    NoChart {
        url: String,
        chart: String,
        has: String,
    },
}

/// One published version of a chart.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChartVersion {
    pub version: String,
    #[serde(default)]
    pub app_version: String,
    /// The chart's `kubeVersion` constraint; empty when it declares none.
    #[serde(default)]
    pub kube_version: String,
    /// When it was published (RFC 3339, as the index has it).
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub deprecated: bool,
}

impl ChartVersion {
    /// Whether this version runs on a cluster of `server` version (no constraint: yes).
    pub fn runs_on(&self, server: &str) -> bool {
        self.kube_version.trim().is_empty() || satisfies(&self.kube_version, server)
    }

    /// The publication date alone (`2023-05-10`).
    pub fn date(&self) -> &str {
        self.created.get(..10).unwrap_or(&self.created)
    }
}

#[derive(Deserialize)]
struct IndexFile {
    #[serde(default)]
    entries: std::collections::BTreeMap<String, Vec<ChartVersion>>,
}

/// The versions of `chart` in an index document, newest first (semver order, as helm sorts).
pub fn parse_index(url: &str, chart: &str, text: &str) -> Result<Vec<ChartVersion>, RepoError> {
    let doc: IndexFile = serde_yaml::from_str(text).map_err(|e| RepoError::Invalid {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    let has = doc.entries.keys().cloned().collect::<Vec<_>>().join(", ");
    let mut versions = doc
        .entries
        .into_iter()
        .find(|(name, _)| name == chart)
        .map(|(_, v)| v)
        .ok_or_else(|| RepoError::NoChart {
            url: url.to_string(),
            chart: chart.to_string(),
            has: if has.is_empty() { "none".into() } else { has },
        })?;
    versions.retain(|v| Version::parse(&v.version).is_some());
    versions.sort_by(|a, b| compare(&b.version, &a.version));
    Ok(versions)
}

/// Semver order of two version strings (unparsable ones first).
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(a), Some(b)) => a.cmp_versions(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

/// The repository URL to use: the user's flag, then the environment, then the profile's.
pub fn repo_url(flag: Option<&str>, profile: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| {
            std::env::var(REPO_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .or_else(|| profile.map(str::to_string))
        .unwrap_or_else(|| VENDOR_REPO.to_string())
}

fn index_url(repo: &str) -> String {
    format!("{}/index.yaml", repo.trim_end_matches('/'))
}

fn cached_index(cache_dir: &Path, repo: &str) -> PathBuf {
    let slug: String = repo
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    cache_dir.join("repos").join(slug).join("index.yaml")
}

/// The versions of `chart` in the repository at `repo`, newest first. When the repository
/// cannot be reached, the copy cached by the last successful read is used and `stale` says so.
pub async fn versions(repo: &str, chart: &str, cache_dir: &Path) -> Result<Listing, RepoError> {
    let url = index_url(repo);
    match fetch(&url).await {
        Ok(text) => {
            let versions = parse_index(&url, chart, &text)?;
            let path = cached_index(cache_dir, repo);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(&path, text);
            Ok(Listing {
                repo: repo.to_string(),
                chart: chart.to_string(),
                versions,
                stale: None,
            })
        }
        Err(message) => {
            let path = cached_index(cache_dir, repo);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Listing {
                    repo: repo.to_string(),
                    chart: chart.to_string(),
                    versions: parse_index(&url, chart, &text)?,
                    stale: Some(message),
                }),
                Err(_) => Err(RepoError::Fetch { url, message }),
            }
        }
    }
}

/// [`versions`] for callers off the runtime (resolving an intent): on a thread of its own, so
/// it works whether or not the caller is inside a runtime.
pub fn versions_blocking(repo: &str, chart: &str, cache_dir: &Path) -> Result<Listing, RepoError> {
    let (repo, chart, cache) = (repo.to_string(), chart.to_string(), cache_dir.to_path_buf());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RepoError::Fetch {
                url: index_url(&repo),
                message: e.to_string(),
            })?;
        rt.block_on(versions(&repo, &chart, &cache))
    })
    .join()
    .unwrap_or_else(|_| {
        Err(RepoError::Fetch {
            url: String::new(),
            message: "the index reader stopped".into(),
        })
    })
}

/// A chart's versions as one repository lists them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Listing {
    pub repo: String,
    pub chart: String,
    pub versions: Vec<ChartVersion>,
    /// Why the cached index was used instead of a fresh one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

impl Listing {
    /// The version an install or upgrade that names none goes to: the newest within the
    /// profile's range (as `helm install --version RANGE` picks), else the newest release that
    /// is not a prerelease (helm's default without `--devel`).
    pub fn default_version(&self, range: Option<&str>) -> Option<&ChartVersion> {
        self.versions.iter().find(|v| match range {
            Some(r) => satisfies(r, &v.version),
            None => Version::parse(&v.version).is_some_and(|v| v.pre.is_empty()),
        })
    }

    pub fn get(&self, version: &str) -> Option<&ChartVersion> {
        let want = Version::parse(version)?;
        self.versions
            .iter()
            .find(|v| Version::parse(&v.version).as_ref() == Some(&want))
    }
}

async fn fetch(url: &str) -> Result<String, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let mut resp = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("the server answered {}", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_INDEX_BYTES {
            return Err(format!(
                "the index is larger than {} MiB",
                MAX_INDEX_BYTES >> 20
            ));
        }
    }
    String::from_utf8(body).map_err(|_| "the index is not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"
apiVersion: v1
entries:
  posthog:
  - name: posthog
    version: 25.0.0
    appVersion: 1.37.1
    kubeVersion: '>= 1.22-0 <= 1.24-0'
    created: "2022-07-12T10:00:00Z"
  - name: posthog
    version: 30.46.0
    appVersion: 1.43.0
    kubeVersion: '>= 1.24-0'
    created: "2023-06-01T10:00:00Z"
  - name: posthog
    version: 29.0.11
    appVersion: 1.41.4
  other:
  - {name: other, version: 1.0.0}
"#;

    #[test]
    fn lists_one_charts_versions_newest_first() {
        let v = parse_index("u", "posthog", INDEX).expect("parses");
        let order: Vec<&str> = v.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(order, ["30.46.0", "29.0.11", "25.0.0"]);
        assert_eq!(v[0].date(), "2023-06-01");
        assert!(v[2].runs_on("1.24.17") && !v[2].runs_on("1.25.0"));
        assert!(v[1].runs_on("1.33.2"), "no constraint: any cluster");
    }

    #[test]
    fn a_missing_chart_names_what_the_repository_has() {
        let e = parse_index("u", "postgres", INDEX).expect_err("absent");
        assert!(e.to_string().contains("has: other, posthog"), "{e}");
        assert!(parse_index("u", "x", "entries: [1, 2]").is_err());
    }

    #[test]
    fn the_flag_beats_the_profile() {
        assert_eq!(repo_url(Some("http://a"), Some("http://b")), "http://a");
    }
}
