//! Support bundles: what an on-call engineer needs from a user's cluster, in one archive the
//! user can send without sending their secrets, and that replays as a read-only cluster
//! (`helmdeck open`, `helmdeck sim --from-bundle`).
//!
//! The archive (`helmdeck-bundle/` inside):
//! - `bundle.json`: what was asked, when, of which server; kinds that could not be read
//! - `cluster/`: `version.json`, nodes, namespaces, storage and ingress classes, CRDs and the
//!   namespace's persistent volumes, each a JSON array of objects
//! - `namespaces/NS/`: pods, events, claims, services, workloads, ConfigMaps and Secrets (the
//!   latter with keys only)
//! - `release/`: `history.json`, and per revision `release.json` (helm's record without the
//!   chart's templates), `values.yaml` and `manifest.yaml`
//! - `logs/NS/POD/CONTAINER[.previous].log`: each container's last lines
//! - `node-stats/NODE.json`: the kubelet's summary of each node the namespace's claims are
//!   mounted on (`/api/v1/nodes/NODE/proxy/stats/summary`), the namespace's pods only: how full
//!   each disk was
//! - `check.json`, `check.txt`: `helmdeck check --pods --disks` at the time
//! - `audit.jsonl`: this release's last records from helmdeck's audit log

pub mod collect;
pub mod redact;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Value, json};

use redact::Redactor;

/// The folder every file of a bundle sits in.
pub const ROOT: &str = "helmdeck-bundle";
/// Bumped when the layout changes in a way an older reader would misread.
pub const FORMAT: u64 = 1;

/// A kind or object that could not be read, and the API server's reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub what: String,
    pub why: String,
}

/// A container's last log lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogTail {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub lines: Vec<String>,
}

/// What was read from the cluster, secrets still in it.
#[derive(Debug, Default)]
pub struct Gathered {
    pub version: Value,
    pub cluster: Vec<(&'static str, Vec<Value>)>,
    pub namespaced: Vec<(&'static str, Vec<Value>)>,
    /// helm's records of the release, oldest first.
    pub releases: Vec<Value>,
    pub logs: Vec<LogTail>,
    /// Each node's kubelet summary, the namespace's pods only.
    pub node_stats: Vec<(String, Value)>,
    pub skipped: Vec<Skipped>,
}

impl Gathered {
    /// The namespace's objects of one kind.
    pub fn objects(&self, stem: &str) -> impl Iterator<Item = &Value> {
        self.namespaced
            .iter()
            .filter(move |(s, _)| *s == stem)
            .flat_map(|(_, items)| items)
    }
}

/// What the bundle was asked for.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Meta {
    pub namespace: String,
    pub release: String,
    pub context: Option<String>,
    pub server: String,
    pub created: String,
}

/// What goes beside the cluster's objects.
#[derive(Debug, Default)]
pub struct Extras {
    pub check_json: Value,
    pub check_text: String,
    /// The release's audit records, oldest first.
    pub audit: Vec<Value>,
}

/// The archive's files (path under [`ROOT`], contents), every secret taken out.
pub fn assemble(mut g: Gathered, meta: &Meta, extras: Extras) -> Vec<(String, Vec<u8>)> {
    let mut r = Redactor::default();
    let mut files: Vec<(String, String)> = Vec::new();
    let json = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    // Secrets first: what they hold is then known to every later pass. helm's own records
    // are left out here and written below, as the release.
    for (stem, items) in g.namespaced.iter_mut() {
        if *stem == "secrets" {
            items.retain(|s| s["type"] != "helm.sh/release.v1");
        }
        for o in items.iter_mut() {
            r.object(o);
        }
    }
    let mut history = Vec::new();
    for rel in g.releases.iter_mut() {
        let n = rel["version"].as_u64().unwrap_or_default();
        release_record(&mut r, rel);
        history.push(json!({
            "revision": n,
            "status": rel["info"]["status"],
            "chart": format!("{}-{}", rel["chart"]["metadata"]["name"].as_str().unwrap_or_default(),
                rel["chart"]["metadata"]["version"].as_str().unwrap_or_default()),
            "appVersion": rel["chart"]["metadata"]["appVersion"],
            "updated": rel["info"]["last_deployed"],
            "description": rel["info"]["description"],
        }));
        let dir = format!("release/revisions/{n}");
        files.push((
            format!("{dir}/values.yaml"),
            serde_yaml::to_string(&rel["config"]).unwrap_or_default(),
        ));
        files.push((
            format!("{dir}/manifest.yaml"),
            rel["manifest"].as_str().unwrap_or_default().to_string(),
        ));
        files.push((format!("{dir}/release.json"), json(rel)));
    }
    files.push(("release/history.json".into(), json(&json!(history))));
    files.push(("cluster/version.json".into(), json(&g.version)));
    for (stem, items) in g.cluster.iter_mut() {
        items.iter_mut().for_each(|o| r.object(o));
        files.push((format!("cluster/{stem}.json"), json(&json!(items))));
    }
    for (stem, items) in &g.namespaced {
        files.push((
            format!("namespaces/{}/{stem}.json", meta.namespace),
            json(&json!(items)),
        ));
    }
    for l in &g.logs {
        let suffix = if l.previous { ".previous" } else { "" };
        let text: Vec<String> = l.lines.iter().map(|x| r.text(x)).collect();
        files.push((
            format!("logs/{}/{}/{}{suffix}.log", l.namespace, l.pod, l.container),
            text.join("\n") + "\n",
        ));
    }
    for (node, summary) in &g.node_stats {
        files.push((format!("node-stats/{node}.json"), json(summary)));
    }
    let mut audit = String::new();
    for mut a in extras.audit {
        r.values(&mut a);
        audit.push_str(&a.to_string());
        audit.push('\n');
    }
    files.push(("audit.jsonl".into(), audit));
    files.push(("check.json".into(), json(&extras.check_json)));
    files.push(("check.txt".into(), extras.check_text));
    files.push((
        "bundle.json".into(),
        json(&json!({
            "format": FORMAT,
            "helmdeck": env!("CARGO_PKG_VERSION"),
            "created": meta.created,
            "namespace": meta.namespace,
            "release": meta.release,
            "context": meta.context,
            "server": meta.server,
            "skipped": g.skipped,
            "redacted": "Secrets' data, values under secret-looking keys, secret-named env vars, URL passwords and KEY=VALUE secrets in text, and every such value wherever else it appears",
        })),
    ));
    files
        .into_iter()
        .map(|(p, text)| (p, r.scrub(&text).into_bytes()))
        .collect()
}

/// One revision of helm's record, made safe: values and chart defaults redacted, manifests
/// redacted object by object, the chart's templates and files left out (they are in the
/// chart's package; the record is helm's view of the release, not its source).
fn release_record(r: &mut Redactor, rel: &mut Value) {
    r.public_defaults(&rel["chart"]["values"]);
    r.values(&mut rel["config"]);
    r.values(&mut rel["chart"]["values"]);
    if let Some(c) = rel["chart"].as_object_mut() {
        c.insert("templates".into(), json!([]));
        c.insert("files".into(), json!([]));
        c.remove("schema");
    }
    if let Some(m) = rel["manifest"].as_str().map(str::to_string) {
        rel["manifest"] = Value::String(r.manifest(&m));
    }
    if let Some(hooks) = rel["hooks"].as_array_mut() {
        for h in hooks {
            if let Some(m) = h["manifest"].as_str().map(str::to_string) {
                h["manifest"] = Value::String(r.manifest(&m));
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path} already exists; remove it or name another file with -o")]
    Exists { path: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a helmdeck support bundle: {why}")]
    NotABundle { path: String, why: String },
}

/// Writes the archive, readable by the user only (it describes their cluster), without
/// replacing any existing file.
pub fn write(path: &Path, files: &[(String, Vec<u8>)]) -> Result<(), BundleError> {
    let shown = path.display().to_string();
    if path.exists() {
        return Err(BundleError::Exists { path: shown });
    }
    let w = |source| BundleError::Write {
        path: shown.clone(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let part = dir.join(format!(
        ".{}.part",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("bundle")
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&part).map_err(w)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let written = (|| {
        for (p, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o600);
            h.set_mtime(mtime);
            h.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut h, format!("{ROOT}/{p}"), &bytes[..])?;
        }
        let gz = tar.into_inner()?;
        let mut f = gz.finish()?;
        f.flush()?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&part);
        return Err(w(e));
    }
    std::fs::rename(&part, path).map_err(w)
}

/// A bundle read back: what it was asked for and what a replayed cluster serves.
#[derive(Debug, Default)]
pub struct Opened {
    pub path: PathBuf,
    /// `bundle.json`.
    pub meta: Value,
    /// `/version`'s `gitVersion`.
    pub git_version: String,
    /// Every object, helm's release records rebuilt as the Secrets helm stores them in.
    pub objects: Vec<Value>,
    pub logs: Vec<LogTail>,
    /// Each node's kubelet summary as recorded.
    pub node_stats: Vec<(String, Value)>,
    pub check: Value,
}

impl Opened {
    pub fn namespace(&self) -> &str {
        self.meta["namespace"].as_str().unwrap_or("posthog")
    }
    pub fn release(&self) -> &str {
        self.meta["release"].as_str().unwrap_or("posthog")
    }
}

/// Reads a bundle written by [`write`].
pub fn read(path: &Path) -> Result<Opened, BundleError> {
    let shown = path.display().to_string();
    let not = |why: String| BundleError::NotABundle {
        path: shown.clone(),
        why,
    };
    let f = std::fs::File::open(path).map_err(|source| BundleError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Opened {
        path: path.to_path_buf(),
        ..Default::default()
    };
    let entries = archive
        .entries()
        .map_err(|e| not(format!("not a gzip-compressed tar archive ({e})")))?;
    for e in entries {
        let mut e = e.map_err(|e| not(format!("a damaged archive ({e})")))?;
        let name = e
            .path()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let Some(rel) = name.strip_prefix(&format!("{ROOT}/")) else {
            continue;
        };
        let mut text = String::new();
        e.read_to_string(&mut text)
            .map_err(|e| not(format!("{name} cannot be read ({e})")))?;
        take(&mut out, rel, &text).map_err(|why| not(format!("{name}: {why}")))?;
    }
    if out.meta.is_null() {
        return Err(not(format!("it has no {ROOT}/bundle.json")));
    }
    if out.meta["format"].as_u64() != Some(FORMAT) {
        return Err(not(format!(
            "its format is {}, this helmdeck reads format {FORMAT}",
            out.meta["format"]
        )));
    }
    Ok(out)
}

/// One file of the archive into what it replays as.
fn take(out: &mut Opened, rel: &str, text: &str) -> Result<(), String> {
    let parse = || serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["bundle.json"] => out.meta = parse()?,
        ["check.json"] => out.check = parse()?,
        ["cluster", "version.json"] => {
            out.git_version = parse()?["gitVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        ["cluster", _] | ["namespaces", _, _] if rel.ends_with(".json") => {
            if let Value::Array(items) = parse()? {
                out.objects.extend(items);
            }
        }
        ["release", "revisions", _, "release.json"] => out.objects.push(release_secret(&parse()?)),
        ["node-stats", file] if file.ends_with(".json") => {
            out.node_stats
                .push((file.trim_end_matches(".json").to_string(), parse()?));
        }
        ["logs", ns, pod, file] => {
            let (container, previous) = match file.strip_suffix(".previous.log") {
                Some(c) => (c, true),
                None => (file.trim_end_matches(".log"), false),
            };
            out.logs.push(LogTail {
                namespace: ns.to_string(),
                pod: pod.to_string(),
                container: container.to_string(),
                previous,
                lines: text.lines().map(str::to_string).collect(),
            });
        }
        _ => {}
    }
    Ok(())
}

/// helm's record as helm stores it: a Secret `sh.helm.release.v1.NAME.vN` whose `release` is
/// base64 of gzip of the JSON, labelled so `helm list` and `helm history` find it.
fn release_secret(rel: &Value) -> Value {
    let name = rel["name"].as_str().unwrap_or_default();
    let version = rel["version"].as_u64().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(rel.to_string().as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64.encode(gz.finish().unwrap_or_default());
    json!({
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {
            "name": format!("sh.helm.release.v1.{name}.v{version}"),
            "namespace": rel["namespace"],
            "labels": {"name": name, "owner": "helm", "status": rel["info"]["status"], "version": version.to_string()},
        },
        "data": {"release": b64.encode(payload)},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_bundle_reads_back_with_its_release_as_helm_stores_it() {
        let dir = tempfile::tempdir().unwrap();
        let g = Gathered {
            version: json!({"gitVersion": "v1.33.1"}),
            cluster: vec![(
                "nodes",
                vec![json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})],
            )],
            releases: vec![json!({"name": "ph", "namespace": "posthog", "version": 2,
                "info": {"status": "deployed"}, "chart": {"metadata": {"name": "posthog", "version": "1.0.0"}, "templates": [{"name": "x"}]},
                "config": {"secret": "canary-release-1"}, "manifest": ""})],
            logs: vec![LogTail {
                namespace: "posthog".into(),
                pod: "web-1".into(),
                container: "web".into(),
                previous: true,
                lines: vec!["boot with canary-release-1".into()],
            }],
            ..Default::default()
        };
        let meta = Meta {
            namespace: "posthog".into(),
            release: "ph".into(),
            context: None,
            server: "https://k".into(),
            created: "2026-12-02T00:00:00Z".into(),
        };
        let files = assemble(g, &meta, Extras::default());
        let path = dir.path().join("b.tar.gz");
        write(&path, &files).unwrap();
        assert!(matches!(
            write(&path, &files),
            Err(BundleError::Exists { .. })
        ));
        let o = read(&path).unwrap();
        assert_eq!((o.release(), o.git_version.as_str()), ("ph", "v1.33.1"));
        assert_eq!(o.logs[0].lines, ["boot with [REDACTED]"]);
        assert!(o.logs[0].previous);
        let secret = o
            .objects
            .iter()
            .find(|x| x["kind"] == "Secret")
            .expect("the release's record");
        assert_eq!(secret["metadata"]["name"], "sh.helm.release.v1.ph.v2");
        let inner = b64decode(secret["data"]["release"].as_str().unwrap());
        let rel = crate::cluster::releases::decode(&inner).unwrap();
        assert_eq!(rel["config"]["secret"], redact::REDACTED);
        assert_eq!(rel["chart"]["templates"], json!([]));
    }

    fn b64decode(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    #[test]
    fn anything_else_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.tar.gz");
        std::fs::write(&p, "hello").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.tar.gz is not a helmdeck support bundle"),
            "{e}"
        );
    }
}
