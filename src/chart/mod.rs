//! Charts as Helm reads them: a directory or a packaged `.tgz`, with subcharts under `charts/`
//! (directories or `.tgz`), `Chart.yaml` dependencies with conditions, tags, aliases and
//! import-values, the default `values.yaml` and `values.schema.json`.

pub mod constraint;
pub mod digest;
mod fetch;
pub mod parsed;
pub mod repo;
mod scalar_text;
pub mod upgrade_notes;
pub mod upgrade_path;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::yaml::{self, YamlError};

pub use fetch::{ChartRef, resolve_chart_ref};

/// The chart bundled with helmdeck, used by the demo, the simulated cluster and the tests.
pub use crate::assets::BUNDLED_CHART;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(transparent)]
    Asset(#[from] crate::assets::AssetError),
    #[error("cannot read chart {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a chart: no Chart.yaml (give a chart directory, a .tgz, or --repo URL NAME)"
    )]
    NotAChart { path: String },
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{0}")]
    Fetch(String),
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, deserialize_with = "scalar_text::text")]
    pub api_version: String,
    #[serde(deserialize_with = "scalar_text::text")]
    pub name: String,
    #[serde(default, deserialize_with = "scalar_text::text")]
    pub version: String,
    #[serde(default, deserialize_with = "scalar_text::optional_text")]
    pub app_version: Option<String>,
    #[serde(default, deserialize_with = "scalar_text::optional_text")]
    pub kube_version: Option<String>,
    #[serde(default, deserialize_with = "scalar_text::optional_text")]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub chart_type: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Dependency {
    #[serde(deserialize_with = "scalar_text::text")]
    pub name: String,
    #[serde(default, deserialize_with = "scalar_text::text")]
    pub version: String,
    #[serde(default, deserialize_with = "scalar_text::text")]
    pub repository: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub alias: String,
    #[serde(default)]
    pub import_values: Vec<Value>,
    #[serde(skip)]
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// `values.yaml`, resolved as Helm resolves it.
    pub values: Map<String, Value>,
    pub schema: Option<Value>,
    /// The schema compiled once per loaded chart; renders reuse it.
    pub compiled_schema: std::sync::Arc<std::sync::OnceLock<Result<jsonschema::Validator, String>>>,
    /// Loaded subcharts (from `charts/`), in name order as Helm loads them.
    pub dependencies: Vec<Chart>,
    /// Where the chart was read from, for messages.
    pub origin: String,
    /// Value paths its templates read (`persistence.storageClass`), and whether a template
    /// takes the whole value (`toYaml .Values.controller.config`): keys a chart reads without
    /// listing them in `values.yaml` are still keys it has.
    pub value_refs: std::sync::Arc<BTreeMap<String, bool>>,
    /// The chart's own `crds/` files, as text: helm installs them on a first install and
    /// never upgrades them.
    /// Shared: a chart is copied for every render and a CRD can be most of its bytes.
    pub crds: std::sync::Arc<Vec<(String, String)>>,
}

impl Chart {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Dependencies Chart.yaml lists that `charts/` does not hold, by chart name, whatever
    /// their condition: helm refuses such a chart for install, upgrade and template
    /// ("found in Chart.yaml, but missing in charts/ directory", helm's `CheckDependencies`).
    pub fn missing_dependencies(&self) -> Vec<String> {
        self.metadata
            .dependencies
            .iter()
            .filter(|d| !self.dependencies.iter().any(|c| c.name() == d.name))
            .map(|d| d.name.clone())
            .collect()
    }

    /// As [`Chart::load`], with a packaged chart kept loaded in `cache_dir` by its digest
    /// for the next run (see [`parsed`]).
    pub fn load_cached(path: &Path, cache_dir: &Path) -> Result<Chart, ChartError> {
        if path.is_dir() {
            return Chart::load(path);
        }
        let bytes = read_archive(path)?;
        let digest: String = {
            use sha2::Digest;
            sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let origin = path.display().to_string();
        if let Some(c) = parsed::load(cache_dir, &digest, &origin) {
            return Ok(c);
        }
        let c = from_archive(&bytes, &origin)?;
        parsed::store(cache_dir, &digest, &c);
        Ok(c)
    }

    /// Loads a chart directory or a packaged `.tgz`.
    pub fn load(path: &Path) -> Result<Chart, ChartError> {
        let meta = std::fs::metadata(path).map_err(|source| ChartError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if !meta.is_dir() {
            return from_archive(&read_archive(path)?, &path.display().to_string());
        }
        let files = read_dir_files(path)?;
        // One budget for the chart and every archive nested in it, however deep.
        let mut inflated = files.values().map(|b| b.len() as u64).sum::<u64>();
        from_files(&files, &path.display().to_string(), &mut inflated, 0)
    }
}

/// A packaged chart's bytes, within the size limit.
fn read_archive(path: &Path) -> Result<Vec<u8>, ChartError> {
    let limit = crate::limits::limit(crate::limits::CHART_DEFAULT);
    crate::limits::read_bytes(path, limit).map_err(|message| ChartError::Invalid {
        path: path.display().to_string(),
        message: format!("cannot read the chart: {message}"),
    })
}

fn from_archive(bytes: &[u8], origin: &str) -> Result<Chart, ChartError> {
    let files = read_tgz_files(bytes, origin, &mut 0)?;
    let mut inflated = files.values().map(|b| b.len() as u64).sum::<u64>();
    from_files(&files, origin, &mut inflated, 0)
}

/// Chart files by path relative to the chart root.
type Files = BTreeMap<String, Vec<u8>>;

fn read_dir_files(root: &Path) -> Result<Files, ChartError> {
    let mut out = Files::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|source| ChartError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ChartError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().to_string();
            let rel_child = rel.join(&name);
            let ft = entry.file_type().map_err(|source| ChartError::Io {
                path: entry.path().display().to_string(),
                source,
            })?;
            if ft.is_dir() {
                // Only what values need: metadata, values, schema, subcharts, and the templates'
                // value references.
                if rel.as_os_str().is_empty()
                    && !matches!(name.as_str(), "charts" | "templates" | "crds")
                {
                    continue;
                }
                stack.push(rel_child);
            } else {
                let key = rel_child.to_string_lossy().replace('\\', "/");
                if wanted(&key) {
                    // The same bound as a packaged chart's files.
                    let limit = crate::limits::limit(crate::limits::TEXT_DEFAULT);
                    let bytes =
                        crate::limits::read_bytes(&entry.path(), limit).map_err(|message| {
                            ChartError::Invalid {
                                path: entry.path().display().to_string(),
                                message: format!("cannot read it: {message}"),
                            }
                        })?;
                    out.insert(key, bytes);
                }
            }
        }
    }
    Ok(out)
}

fn wanted(rel: &str) -> bool {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    matches!(base, "Chart.yaml" | "values.yaml" | "values.schema.json")
        || rel.ends_with(".tgz")
        || is_template(rel)
        || is_crd(rel)
}

/// A file under this chart's or a subchart's `crds/`.
fn is_crd(rel: &str) -> bool {
    (rel.starts_with("crds/") || rel.contains("/crds/"))
        && (rel.ends_with(".yaml") || rel.ends_with(".yml") || rel.ends_with(".json"))
}

/// A template of this chart or of a subchart in a directory (`charts/x/templates/...`).
fn is_template(rel: &str) -> bool {
    (rel.starts_with("templates/") || rel.contains("/templates/"))
        && (rel.ends_with(".yaml") || rel.ends_with(".tpl") || rel.ends_with(".yml"))
}

/// The `.Values.a.b` paths in a template, each with whether it is read whole (`toYaml`,
/// `toJson`, `range`, `tpl`, or handed to `include`/`dict`, where a helper reads what it
/// likes): everything below such a value is the template's.
pub fn value_refs(text: &str, out: &mut BTreeMap<String, bool>) {
    const MARK: &str = ".Values.";
    let mut from = 0;
    // The last `{{` before the reference, found by scanning each stretch of text once (a
    // search back from every reference is quadratic in a template without actions).
    let (mut open, mut scanned) = (None::<usize>, 0usize);
    while let Some(i) = text[from..].find(MARK) {
        let at = from + i;
        from = at + MARK.len();
        // One byte back, so a `{{` split across stretches is seen.
        let start = scanned.saturating_sub(1);
        if let Some(j) = text.get(start..at).and_then(|s| s.rfind("{{")) {
            open = Some(start + j);
        }
        scanned = at;
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let path: String = text[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let path = path.trim_end_matches('.').to_string();
        if path.is_empty() {
            continue;
        }
        // The action's text before the reference, at most 4 KiB of it: the function that
        // reads a value whole stands next to it, and a bound keeps a huge action linear.
        let action = open.map_or("", |b| {
            let mut b = b.max(at.saturating_sub(4096));
            while !text.is_char_boundary(b) {
                b += 1;
            }
            &text[b..at]
        });
        let whole = [
            "toYaml", "toJson", "range", "tpl", "dict", "include", "merge", "pick", "omit",
        ]
        .iter()
        .any(|f| action.contains(f));
        let e = out.entry(path).or_insert(false);
        *e |= whole;
    }
}

/// Subcharts nested deeper than this are refused: real charts nest two or three levels, and
/// each level is another archive to inflate.
const MAX_SUBCHART_DEPTH: usize = 20;

/// The files of a packaged chart. `total` is what this chart and the archives around and
/// before it have inflated to: one budget for an archive and every archive nested in it.
fn read_tgz_files(bytes: &[u8], origin: &str, total: &mut u64) -> Result<Files, ChartError> {
    // What the archive inflates to is bounded too (a small .tgz can hold gigabytes of zeros):
    // the whole stream, and so every file read from it.
    let limit = crate::limits::limit(crate::limits::INFLATED_DEFAULT);
    let room = limit.saturating_sub(*total);
    let gz = std::io::Read::take(flate2::read::GzDecoder::new(bytes), room + 1);
    let mut archive = tar::Archive::new(gz);
    let mut out = Files::new();
    let inflated = total;
    let per_file = crate::limits::limit(crate::limits::TEXT_DEFAULT);
    let broken = |e: std::io::Error| ChartError::Invalid {
        path: origin.to_string(),
        message: format!(
            "cannot read the archive: {e} (it is truncated, or it and the archives it is nested in or beside inflate to more than {} MiB: set {} to raise the limit)",
            limit >> 20,
            crate::limits::ENV
        ),
    };
    let entries = archive.entries().map_err(broken)?;
    for entry in entries {
        let mut entry = entry.map_err(broken)?;
        let path = entry
            .path()
            .map_err(|source| ChartError::Io {
                path: origin.to_string(),
                source,
            })?
            .to_string_lossy()
            .to_string();
        // An entry that climbs out of the chart (`../x`, `/etc/x`): helm refuses the archive.
        if path.starts_with('/') || path.split(['/', '\\']).any(|seg| seg == "..") {
            return Err(ChartError::Invalid {
                path: origin.to_string(),
                message: format!(
                    "the archive holds {path:?}, outside the chart's directory (helm refuses it too: \"chart illegally references parent directory\")"
                ),
            });
        }
        // Packaged charts hold one top-level directory named after the chart.
        let Some((_, rel)) = path.split_once('/') else {
            continue;
        };
        if !entry.header().entry_type().is_file() || !wanted(rel) {
            continue;
        }
        let mut buf = Vec::new();
        (&mut entry)
            .take(per_file + 1)
            .read_to_end(&mut buf)
            .map_err(|source| ChartError::Io {
                path: origin.to_string(),
                source,
            })?;
        if buf.len() as u64 > per_file {
            return Err(ChartError::Invalid {
                path: origin.to_string(),
                message: format!("{rel}: {}", crate::limits::describe_too_big(per_file)),
            });
        }
        *inflated += buf.len() as u64;
        if *inflated > limit {
            return Err(ChartError::Invalid {
                path: origin.to_string(),
                message: format!(
                    "its files and those of the archives it is nested in or beside inflate to more than {} MiB, more than any real chart: check the archive (set {} to raise the limit)",
                    limit >> 20,
                    crate::limits::ENV
                ),
            });
        }
        out.insert(rel.to_string(), buf);
    }
    Ok(out)
}

fn text(files: &Files, name: &str, origin: &str) -> Result<Option<String>, ChartError> {
    match files.get(name) {
        None => Ok(None),
        Some(b) => String::from_utf8(b.clone())
            .map(Some)
            .map_err(|_| ChartError::Invalid {
                path: format!("{origin}/{name}"),
                message: "not UTF-8 text".into(),
            }),
    }
}

/// What helm's metadata validation refuses, refused here first with its reason.
fn check_metadata(metadata: &Metadata, meta_origin: &str) -> Result<(), ChartError> {
    if metadata.name.is_empty() {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: "`name` is required".into(),
        });
    }
    // helm 3 and 4 refuse a name that is a path; helm 4 refuses "." and ".." too.
    if metadata.name.contains('/') || metadata.name == "." || metadata.name == ".." {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: format!(
                "chart.metadata.name {:?} is invalid: a chart's name is one path segment (helm refuses the chart too)",
                metadata.name
            ),
        });
    }
    // What helm's metadata validation refuses, refused here first with its reason.
    if metadata.version.is_empty() {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: "chart.metadata.version is required (helm refuses the chart too)".into(),
        });
    }
    if constraint::Version::parse(&metadata.version).is_none() {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: format!(
                "chart.metadata.version {:?} is invalid: it must be a SemVer version such as 1.2.3 (helm refuses the chart too)",
                metadata.version
            ),
        });
    }
    // helm 3 reads any other apiVersion as v2; helm 4 refuses v3 ("invalid chart apiVersion":
    // the v3 format is not released) and anything later ("unsupported chart version"). A
    // chart for both refuses what either does.
    if !matches!(metadata.api_version.as_str(), "" | "v1" | "v2") {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: format!(
                "apiVersion {:?} is not a chart format helm 3 and 4 both read: helm 4 refuses it (\"{}\"), helm 3 reads it as v2; set `apiVersion: v2` (v1 for a chart that lists its dependencies in requirements.yaml)",
                metadata.api_version,
                if metadata.api_version == "v3" {
                    "invalid chart apiVersion"
                } else {
                    "unsupported chart version"
                }
            ),
        });
    }
    // helm's template refuses a chart whose kubeVersion it cannot read ("chart requires
    // kubeVersion: … which is incompatible").
    if let Some(k) = metadata
        .kube_version
        .as_deref()
        .filter(|k| !k.trim().is_empty())
        && let Err(e) = constraint::Constraint::parse(k)
    {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: format!(
                "kubeVersion {k:?} is not a version range helm can read ({e}): write one such as \">=1.23.0-0\" (helm refuses the chart too)"
            ),
        });
    }
    if let Some(t) = metadata.chart_type.as_deref()
        && !t.is_empty()
        && t != "application"
        && t != "library"
    {
        return Err(ChartError::Invalid {
            path: meta_origin.to_string(),
            message: format!(
                "chart.metadata.type {t:?}: it must be application or library (helm refuses the chart too)"
            ),
        });
    }
    Ok(())
}

fn from_files(
    files: &Files,
    origin: &str,
    inflated: &mut u64,
    depth: usize,
) -> Result<Chart, ChartError> {
    if depth > MAX_SUBCHART_DEPTH {
        return Err(ChartError::Invalid {
            path: origin.to_string(),
            message: format!(
                "subcharts nested more than {MAX_SUBCHART_DEPTH} levels deep: no real chart does; check the archive"
            ),
        });
    }
    let chart_yaml = text(files, "Chart.yaml", origin)?.ok_or_else(|| ChartError::NotAChart {
        path: origin.to_string(),
    })?;
    let meta_origin = format!("{origin}/Chart.yaml");
    let meta_value = yaml::parse(&meta_origin, &chart_yaml)?;
    let metadata: Metadata =
        serde_json::from_value(meta_value).map_err(|e| ChartError::Invalid {
            path: meta_origin.clone(),
            message: e.to_string(),
        })?;
    check_metadata(&metadata, &meta_origin)?;
    let values = match text(files, "values.yaml", origin)? {
        Some(t) => yaml::parse_values(&format!("{origin}/values.yaml"), &t)?,
        None => Map::new(),
    };
    let schema = match text(files, "values.schema.json", origin)? {
        Some(t) => Some(serde_json::from_str(&t).map_err(|e| ChartError::Invalid {
            path: format!("{origin}/values.schema.json"),
            message: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?),
        None => None,
    };
    // Subcharts: charts/<dir>/... and charts/<name>.tgz
    let mut sub_dirs: BTreeMap<String, Files> = BTreeMap::new();
    let mut deps = Vec::new();
    for (path, bytes) in files {
        let Some(rest) = path.strip_prefix("charts/") else {
            continue;
        };
        match rest.split_once('/') {
            Some((dir, inner)) => {
                sub_dirs
                    .entry(dir.to_string())
                    .or_default()
                    .insert(inner.to_string(), bytes.clone());
            }
            None if rest.ends_with(".tgz") => {
                let sub_origin = format!("{origin}/charts/{rest}");
                let sub_files = read_tgz_files(bytes, &sub_origin, inflated)?;
                deps.push(from_files(&sub_files, &sub_origin, inflated, depth + 1)?);
            }
            None => {}
        }
    }
    for (dir, sub_files) in sub_dirs {
        if sub_files.contains_key("Chart.yaml") {
            deps.push(from_files(
                &sub_files,
                &format!("{origin}/charts/{dir}"),
                inflated,
                depth + 1,
            )?);
        }
    }
    deps.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut refs = BTreeMap::new();
    for (path, bytes) in files {
        if path.starts_with("templates/") && is_template(path) {
            value_refs(&String::from_utf8_lossy(bytes), &mut refs);
        }
    }
    // The chart's own: a subchart's belong to it only while it is enabled.
    let crds: Vec<(String, String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("crds/") && is_crd(p))
        .map(|(p, b)| {
            (
                format!("{origin}/{p}"),
                String::from_utf8_lossy(b).to_string(),
            )
        })
        .collect();
    Ok(Chart {
        crds: std::sync::Arc::new(crds),
        value_refs: std::sync::Arc::new(refs),
        metadata,
        values,
        schema,
        compiled_schema: Default::default(),
        dependencies: deps,
        origin: origin.to_string(),
    })
}

/// Whether a version satisfies a dependency's constraint, as helm decides (an empty
/// constraint allows any version).
pub fn version_matches(constraint: &str, version: &str) -> bool {
    let constraint = constraint.trim();
    constraint.is_empty() || constraint::satisfies(constraint, version)
}

#[cfg(test)]
mod refs_tests {
    use super::value_refs;
    use std::collections::BTreeMap;

    #[test]
    fn template_references_are_found_with_whether_they_are_read_whole() {
        let mut refs = BTreeMap::new();
        value_refs(
            r#"{{- if .Values.persistence.storageClass }}x{{ end }}
{{ toYaml .Values.controller.config | nindent 2 }}
{{ include "common.storage.class" (dict "persistence" .Values.persistence "global" $.Values.global) }}
{{ .Values.image.tag }}. {{ $x.Values.not }} {{ myValues.no }}"#,
            &mut refs,
        );
        let got: Vec<(&str, bool)> = refs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            got,
            [
                ("controller.config", true),
                ("global", true),
                ("image.tag", false),
                ("persistence", true),
                ("persistence.storageClass", false),
            ]
        );
    }
}
