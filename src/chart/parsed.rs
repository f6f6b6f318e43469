//! Packaged charts as loaded, kept in the cache directory by the archive's sha256: loading the
//! vendor's chart inflates 12 MB and parses every subchart's values and templates, the same
//! work each run. An entry is used only when its digest, its format and the helmdeck that
//! wrote it all match; anything else (a damaged, foreign or stale entry) is ignored and
//! written again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Chart, Metadata};

/// Bumped when what an entry holds changes meaning.
const FORMAT: u64 = 1;

/// A chart as an entry holds it: places relative to the archive, so the same archive at
/// another path reads back with that path in its messages.
#[derive(Serialize, Deserialize)]
struct Record {
    metadata: Metadata,
    values: Map<String, Value>,
    schema: Option<Value>,
    /// Relative to the archive (`charts/kafka`; empty for the archive itself).
    at: String,
    value_refs: BTreeMap<String, bool>,
    crds: Vec<(String, String)>,
    dependencies: Vec<Record>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u64,
    helmdeck: String,
    digest: String,
    chart: Record,
}

fn relative<'a>(origin: &'a str, top: &str) -> &'a str {
    origin
        .strip_prefix(top)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(origin)
}

fn joined(top: &str, rel: &str) -> String {
    if rel.is_empty() {
        top.to_string()
    } else {
        format!("{top}/{rel}")
    }
}

fn record(c: &Chart, top: &str) -> Record {
    Record {
        metadata: c.metadata.clone(),
        values: c.values.clone(),
        schema: c.schema.clone(),
        at: relative(&c.origin, top).to_string(),
        value_refs: (*c.value_refs).clone(),
        crds: c
            .crds
            .iter()
            .map(|(p, t)| (relative(p, top).to_string(), t.clone()))
            .collect(),
        dependencies: c.dependencies.iter().map(|d| record(d, top)).collect(),
    }
}

fn chart(r: Record, top: &str) -> Chart {
    Chart {
        origin: joined(top, &r.at),
        crds: std::sync::Arc::new(
            r.crds
                .into_iter()
                .map(|(p, t)| (joined(top, &p), t))
                .collect(),
        ),
        dependencies: r.dependencies.into_iter().map(|d| chart(d, top)).collect(),
        metadata: r.metadata,
        values: r.values,
        schema: r.schema,
        compiled_schema: Default::default(),
        value_refs: std::sync::Arc::new(r.value_refs),
    }
}

/// Where the entry for an archive with this digest lives.
pub fn entry_path(cache_dir: &Path, digest: &str) -> PathBuf {
    cache_dir
        .join("charts-loaded")
        .join(format!("{digest}.json"))
}

/// The chart loaded from an archive with `digest` before, if a matching entry exists.
pub fn load(cache_dir: &Path, digest: &str, origin: &str) -> Option<Chart> {
    let bytes = std::fs::read(entry_path(cache_dir, digest)).ok()?;
    let e: Entry = serde_json::from_slice(&bytes).ok()?;
    (e.format == FORMAT && e.helmdeck == env!("CARGO_PKG_VERSION") && e.digest == digest)
        .then(|| chart(e.chart, origin))
}

/// Keeps a loaded chart for the next run. A cache that cannot be written only costs time.
pub fn store(cache_dir: &Path, digest: &str, c: &Chart) {
    let e = Entry {
        format: FORMAT,
        helmdeck: env!("CARGO_PKG_VERSION").to_string(),
        digest: digest.to_string(),
        chart: record(c, &c.origin),
    };
    let Ok(bytes) = serde_json::to_vec(&e) else {
        return;
    };
    let path = entry_path(cache_dir, digest);
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Whole or not at all: concurrent runs read entries while others write them.
    let part = dir.join(format!(".{digest}.{}.part", std::process::id()));
    if std::fs::write(&part, bytes).is_ok() {
        let _ = std::fs::rename(&part, &path);
    }
    let _ = std::fs::remove_file(&part);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stand-in chart packed as helm packs it: one top folder named after the chart.
    fn packed(dir: &Path) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/charts/posthog-mini");
        let path = dir.join("posthog-mini-1.0.0.tgz");
        let f = std::fs::File::create(&path).unwrap();
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            f,
            flate2::Compression::fast(),
        ));
        tar.append_dir_all("posthog-mini", &src).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    fn digest_of(p: &Path) -> String {
        crate::chart::digest::digest(p).unwrap()
    }

    #[test]
    fn a_cached_chart_is_the_chart_and_a_stale_entry_is_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let tgz = packed(dir.path());
        let fresh = Chart::load(&tgz).unwrap();
        let first = Chart::load_cached(&tgz, &cache).unwrap();
        let entry = entry_path(&cache, &digest_of(&tgz));
        assert!(entry.is_file(), "the first load keeps its entry");
        let again = Chart::load_cached(&tgz, &cache).unwrap();
        for c in [&first, &again] {
            assert_eq!(c.values, fresh.values);
            assert_eq!(c.value_refs, fresh.value_refs);
            assert_eq!(c.origin, fresh.origin);
            assert_eq!(c.metadata.version, fresh.metadata.version);
            assert_eq!(c.dependencies.len(), fresh.dependencies.len());
        }

        // An entry that claims another archive, or another helmdeck, or is damaged, is
        // ignored: what is loaded is the archive's own values, and the entry is written again.
        let good = std::fs::read_to_string(&entry).unwrap();
        let mut stale: serde_json::Value = serde_json::from_str(&good).unwrap();
        stale["chart"]["values"]["cloud"] = serde_json::json!("stale-cache-value");
        let wrong_digest = {
            let mut e = stale.clone();
            e["digest"] = serde_json::json!("0".repeat(64));
            e
        };
        let wrong_version = {
            let mut e = stale.clone();
            e["helmdeck"] = serde_json::json!("0.0.0-other");
            e
        };
        for bad in [
            wrong_digest.to_string(),
            wrong_version.to_string(),
            good[..good.len() / 2].to_string(),
        ] {
            std::fs::write(&entry, &bad).unwrap();
            let c = Chart::load_cached(&tgz, &cache).unwrap();
            assert_eq!(c.values, fresh.values);
            assert_ne!(c.values["cloud"], "stale-cache-value");
            assert_eq!(
                std::fs::read_to_string(&entry).unwrap(),
                good,
                "written again"
            );
        }
        // The entry is read when it matches: the same stale values with the right digest
        // and version are what a load returns (so the checks above are what kept them out).
        std::fs::write(&entry, stale.to_string()).unwrap();
        let c = Chart::load_cached(&tgz, &cache).unwrap();
        assert_eq!(c.values["cloud"], "stale-cache-value");
    }
}
