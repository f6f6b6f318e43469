//! Values rendering: the layers a user stacks on a chart, merged exactly as Helm merges them,
//! with the provenance of every leaf, schema checks and secret redaction.
//!
//! Helm applies user layers in a fixed order — every `-f` file, then all `--set-json`, all
//! `--set`, all `--set-string`, all `--set-file`, all `--set-literal` (each kind in
//! command-line order) — and helmdeck does the same, so a render here is what helm applies.

pub mod coalesce;
pub mod deps;
pub mod explain;
pub mod redact;
pub mod schema;
pub mod strvals;
pub mod unknown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::chart::Chart;
pub use crate::yaml::YamlError;
pub use coalesce::HelmMajor;
pub use strvals::{SetError, SetKind};

/// Where a layer of values came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LayerSource {
    ChartDefaults {
        chart: String,
    },
    /// The user values of a release's current revision (upgrades start from them).
    Release {
        name: String,
        revision: u64,
    },
    Profile {
        name: String,
    },
    Answers {
        origin: String,
    },
    File {
        path: String,
    },
    Set {
        flag: SetKind,
        expr: String,
    },
}

impl LayerSource {
    pub fn label(&self) -> String {
        match self {
            LayerSource::ChartDefaults { chart } => format!("chart:{chart}"),
            LayerSource::Release { name, revision } => format!("release:{name}@{revision}"),
            LayerSource::Profile { name } => format!("profile:{name}"),
            LayerSource::Answers { origin } => format!("answers:{origin}"),
            LayerSource::File { path } => format!("file:{path}"),
            LayerSource::Set { flag, expr } => {
                // The expression itself may carry a secret: show only its key then.
                let key = expr.split_once('=').map_or(expr.as_str(), |(k, _)| k);
                if redact::is_secret_path(key) {
                    format!("{} {key}=<redacted>", flag.flag())
                } else {
                    format!("{} {expr}", flag.flag())
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error(transparent)]
    Set(#[from] SetError),
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Subchart(#[from] coalesce::NotAMapping),
    #[error("{}", schema::describe(.0))]
    Schema(Vec<schema::SchemaViolation>),
}

/// One user layer before merging.
#[derive(Debug, Clone)]
pub struct UserLayer {
    pub source: LayerSource,
    pub values: Map<String, Value>,
}

/// Everything a render needs; built by the CLI, the TUI and the deploy engine alike.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// For upgrades: the release's current user values, below everything else the user gives.
    pub previous: Option<UserLayer>,
    pub profile: Option<UserLayer>,
    pub answers: Option<UserLayer>,
    pub files: Vec<UserLayer>,
    /// `--set*` expressions in command-line order.
    pub sets: Vec<(SetKind, String)>,
    /// Directory `--set-file` paths are relative to.
    pub base_dir: Option<PathBuf>,
    pub major: HelmMajor,
    /// The profile's values that repeat another (see [`Follow`]).
    pub follows: Vec<Follow>,
}

/// A value that repeats another wherever the user sets it: DigitalOcean's load balancer must
/// carry the stack's hostname in an annotation, and a user who gives `--set ingress.hostname=…`
/// should not have to give it twice. A value the user sets themselves is left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    /// The value written (dotted, `\.` escaped).
    pub path: String,
    /// The value it repeats.
    pub from: String,
}

/// Which layer set a leaf, and which one it replaced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    pub layer: usize,
    pub overrode: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    /// The values the chart's templates see (`.Values`).
    pub values: Map<String, Value>,
    /// Only the layers above the chart's defaults: what helmdeck hands to helm.
    pub user_values: Map<String, Value>,
    pub layers: Vec<LayerSource>,
    /// Leaf path (dotted, `\.` escaped) → provenance.
    pub provenance: BTreeMap<String, Provenance>,
    pub warnings: Vec<String>,
}

/// Loads a `-f` values file as a layer, with file:line:column errors.
pub fn load_file_layer(path: &Path) -> Result<UserLayer, ValuesError> {
    let text = crate::limits::read_text(path, crate::limits::limit(crate::limits::TEXT_DEFAULT))
        .map_err(|e| ValuesError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    let values = crate::yaml::parse_values(&path.display().to_string(), &text)?;
    Ok(UserLayer {
        source: LayerSource::File {
            path: path.display().to_string(),
        },
        values,
    })
}

/// Helm's order of `--set*` kinds.
const SET_ORDER: [SetKind; 5] = [
    SetKind::SetJson,
    SetKind::Set,
    SetKind::SetString,
    SetKind::SetFile,
    SetKind::SetLiteral,
];

impl RenderRequest {
    /// The user layers in the order Helm applies them.
    fn ordered_sets(&self) -> Vec<(SetKind, String)> {
        let mut out = Vec::new();
        for kind in SET_ORDER {
            out.extend(self.sets.iter().filter(|(k, _)| *k == kind).cloned());
        }
        out
    }

    fn reader(&self) -> impl FnMut(&str) -> Result<String, strvals::Unreadable> + '_ {
        move |p: &str| {
            let path = match &self.base_dir {
                Some(b) if Path::new(p).is_relative() => b.join(p),
                _ => PathBuf::from(p),
            };
            crate::limits::read_text(&path, crate::limits::limit(crate::limits::TEXT_DEFAULT))
                .map_err(|source| strvals::Unreadable { path, source })
        }
    }

    fn user_layers(&self) -> impl Iterator<Item = &UserLayer> {
        self.previous
            .iter()
            .chain(self.profile.iter())
            .chain(self.answers.iter())
            .chain(self.files.iter())
    }

    /// Merges the user layers into what helm receives (Helm's `MergeValues` of the CLI).
    pub fn user_values(&self) -> Result<Map<String, Value>, ValuesError> {
        let mut base = Map::new();
        for layer in self.user_layers() {
            coalesce::merge_maps(&mut base, layer.values.clone());
        }
        let mut read = self.reader();
        let mut grown = 0;
        for (kind, expr) in self.ordered_sets() {
            strvals::parse_counted(kind, &expr, &mut base, &mut read, &mut grown)?;
        }
        let profile = self.profile.as_ref().map(|p| &p.values);
        for f in &self.follows {
            let from = get_path(&base, &f.from)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            // Theirs: neither the profile's own value nor one that followed on an earlier run.
            let now = get_path(&base, &f.path);
            let followed = self
                .previous
                .as_ref()
                .and_then(|p| get_path(&p.values, &f.from));
            let theirs = now.is_some()
                && now != profile.and_then(|p| get_path(p, &f.path))
                && now != followed;
            if let Some(v) = from.filter(|_| !theirs) {
                set_path(&mut base, &f.path, Value::String(v));
            }
        }
        Ok(base)
    }

    /// Renders the values the chart's templates will see, validated against its schemas.
    pub fn render(&self, chart: &Chart) -> Result<Rendered, ValuesError> {
        self.render_owned(chart.clone()).map(|(r, _)| r)
    }

    /// [`render`](Self::render) of a chart the caller is done with: its values are processed
    /// in place rather than copied (a tenth of rendering the vendor's chart). Also gives back
    /// the trees it worked with, for a caller about to exit to leave unfreed.
    pub fn render_owned(
        &self,
        chart: Chart,
    ) -> Result<(Rendered, impl Sized + use<>), ValuesError> {
        self.render_traced(chart, true)
    }

    /// [`render_owned`](Self::render_owned); without `trace_defaults` the provenance covers
    /// only the leaves the user's layers wrote, which is all a print of the values without
    /// `--explain` reads (for the unknown keys' warnings): tracing every default was a tenth
    /// of rendering the vendor's chart.
    pub fn render_traced(
        &self,
        chart: Chart,
        trace_defaults: bool,
    ) -> Result<(Rendered, impl Sized + use<>), ValuesError> {
        let user = self.user_values()?;
        let mut warnings = Vec::new();
        let refs = unknown::TemplateRefs::of(&chart);
        let name = chart.name().to_string();
        let processed = deps::process_dependencies(chart, &user, self.major, &mut warnings)?;
        // The chart's own keys (its defaults coalesced with no user values), the user keys
        // it lacks and the templates' paths are worked out beside the values themselves: on
        // a second core that is a fifth of rendering the vendor's chart off the clock.
        let major = self.major;
        let keys = || chart_keys(&processed, &user, &refs, &name, major);
        let (main, side) = std::thread::scope(|s| {
            let side = std::thread::Builder::new()
                .stack_size(crate::limits::DEEP_STACK)
                .spawn_scoped(s, keys);
            let main = self.coalesced(&processed, &user, trace_defaults, &mut warnings);
            (main, side.ok().and_then(|h| h.join().ok()))
        });
        let (values, layers, provenance) = main?;
        let ChartKeys {
            defaults,
            unknown,
            notes,
        } = side.unwrap_or_else(keys);
        for u in unknown {
            // The leaf itself, else the first leaf below it (an ordered lookup: a scan per
            // key is quadratic with thousands of unknown keys).
            let below = format!("{}.", u.path);
            let by = provenance
                .get(&u.path)
                .or_else(|| {
                    provenance
                        .range(below.clone()..)
                        .next()
                        .filter(|(p, _)| p.starts_with(&below))
                        .map(|(_, pv)| pv)
                })
                .and_then(|pv| layers.get(pv.layer))
                .map(LayerSource::label)
                .unwrap_or_else(|| "your values".into());
            // A key an upgrade note renamed says where it went; else the nearest key.
            let near = match notes.as_ref().and_then(|b| b.renamed_from(&u.path)) {
                Some((version, to)) => {
                    format!("; chart {version} renamed it to {to}: set that instead")
                }
                None => u
                    .nearest
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_default(),
            };
            warnings.push(format!(
                "{by} sets {}, which chart {} does not have: helm ignores it{near}",
                u.path, name
            ));
        }
        let rendered = Rendered {
            values,
            user_values: user,
            layers,
            provenance,
            warnings,
        };
        Ok((rendered, (processed, defaults)))
    }

    /// The values the templates see, validated against the chart's schemas, with where each
    /// leaf came from.
    #[allow(clippy::type_complexity)]
    fn coalesced(
        &self,
        processed: &Chart,
        user: &Map<String, Value>,
        trace_defaults: bool,
        warnings: &mut Vec<String>,
    ) -> Result<
        (
            Map<String, Value>,
            Vec<LayerSource>,
            BTreeMap<String, Provenance>,
        ),
        ValuesError,
    > {
        let mut values = user.clone();
        coalesce::coalesce(processed, &mut values, "", false, self.major, warnings)?;
        let values = Value::Object(values);
        let violations = schema::validate_chart(processed, &values);
        if !violations.is_empty() {
            return Err(ValuesError::Schema(violations));
        }
        let values = match values {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let (layers, provenance) = self.provenance(processed, &values, trace_defaults)?;
        Ok((values, layers, provenance))
    }

    fn provenance(
        &self,
        chart: &Chart,
        values: &Map<String, Value>,
        trace_defaults: bool,
    ) -> Result<(Vec<LayerSource>, BTreeMap<String, Provenance>), ValuesError> {
        let mut layers = vec![LayerSource::ChartDefaults {
            chart: chart.name().to_string(),
        }];
        // path -> layers that wrote it, in order
        let mut history: std::collections::HashMap<String, Vec<usize>> = Default::default();
        let mut record = |i: usize, m: &Map<String, Value>| {
            for_each_leaf(m, &mut |path, _| {
                history.entry(path.to_string()).or_default().push(i)
            });
        };
        if trace_defaults {
            record(0, &chart_defaults_tree(chart));
        }
        for l in self.user_layers() {
            layers.push(l.source.clone());
            record(layers.len() - 1, &l.values);
        }
        let mut read = self.reader();
        let mut grown = 0;
        for (kind, expr) in self.ordered_sets() {
            let mut m = Map::new();
            strvals::parse_counted(kind, &expr, &mut m, &mut read, &mut grown)?;
            layers.push(LayerSource::Set { flag: kind, expr });
            record(layers.len() - 1, &m);
        }
        // A value that followed another was written by the profile that asked for it.
        if self.profile.is_some() {
            let at = 1 + usize::from(self.previous.is_some());
            for f in &self.follows {
                if get_path(values, &f.path).is_some() {
                    let mut one = Map::new();
                    set_path(&mut one, &f.path, Value::Null);
                    for_each_leaf(&one, &mut |path, _| {
                        let h = history.entry(path.to_string()).or_default();
                        if h.is_empty() {
                            h.push(at);
                        }
                    });
                }
            }
        }
        let mut out = BTreeMap::new();
        if !trace_defaults {
            for (path, writers) in history {
                let layer = *writers.last().unwrap_or(&0);
                let overrode = writers.iter().rev().skip(1).find(|w| **w != layer).copied();
                out.insert(path, Provenance { layer, overrode });
            }
            return Ok((layers, out));
        }
        for_each_leaf(values, &mut |path, _| {
            // The most specific written path at or above this leaf.
            let mut probe = Some(path.to_string());
            let mut writers = None;
            while let Some(p) = probe {
                if let Some(h) = history.get(&p) {
                    writers = Some(h.clone());
                    break;
                }
                probe = parent_path(&p);
            }
            let writers = writers.unwrap_or_else(|| vec![0]);
            let layer = *writers.last().unwrap_or(&0);
            let overrode = writers.iter().rev().skip(1).find(|w| **w != layer).copied();
            out.insert(path.to_string(), Provenance { layer, overrode });
        });
        Ok((layers, out))
    }
}

/// What the chart has, against what the user set.
struct ChartKeys {
    /// The chart's values with no user values (kept for the caller to leave unfreed).
    defaults: Map<String, Value>,
    /// The user's keys the chart lacks and no template reads.
    unknown: Vec<unknown::UnknownKey>,
    /// The chart's upgrade notes, when some key is unknown (a renamed key says where it went).
    notes: Option<crate::chart::upgrade_notes::NoteBook>,
}

fn chart_keys(
    processed: &Chart,
    user: &Map<String, Value>,
    refs: &unknown::TemplateRefs,
    name: &str,
    major: HelmMajor,
) -> ChartKeys {
    let mut defaults = Map::new();
    let mut ignored = Vec::new();
    if coalesce::coalesce(processed, &mut defaults, "", false, major, &mut ignored).is_err() {
        return ChartKeys {
            defaults,
            unknown: Vec::new(),
            notes: None,
        };
    }
    let unknown = unknown::unknown_keys(&defaults, user);
    let (refs, notes) = match unknown.is_empty() {
        true => (Default::default(), None),
        false => (refs.joined(), crate::chart::upgrade_notes::for_chart(name)),
    };
    let unknown = unknown
        .into_iter()
        .filter(|u| !unknown::read_by_templates(&refs, &u.path))
        .collect();
    ChartKeys {
        defaults,
        unknown,
        notes,
    }
}

/// Chart defaults including every subchart's section, as one tree.
fn chart_defaults_tree(chart: &Chart) -> Map<String, Value> {
    let mut m = chart.values.clone();
    for d in &chart.dependencies {
        let sub = chart_defaults_tree(d);
        match m.get_mut(d.name()) {
            Some(Value::Object(existing)) => {
                let mut merged = sub;
                coalesce::merge_maps(&mut merged, existing.clone());
                *existing = merged;
            }
            _ => {
                m.insert(d.name().to_string(), Value::Object(sub));
            }
        }
    }
    m
}

/// Escapes a key for a dotted path the way `--set` reads it back.
pub fn escape_key(k: &str) -> String {
    // Nearly every key has nothing to escape: one copy, not two replacements.
    if !k.contains(['\\', '.']) {
        return k.to_string();
    }
    k.replace('\\', "\\\\").replace('.', "\\.")
}

pub fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        escape_key(key)
    } else if !key.contains(['\\', '.']) {
        let mut p = String::with_capacity(parent.len() + 1 + key.len());
        p.push_str(parent);
        p.push('.');
        p.push_str(key);
        p
    } else {
        format!("{parent}.{}", escape_key(key))
    }
}

fn parent_path(p: &str) -> Option<String> {
    // Split at the last unescaped dot.
    let bytes = p.as_bytes();
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        if bytes[i] == b'.' {
            let mut backslashes = 0;
            let mut j = i;
            while j > 0 && bytes[j - 1] == b'\\' {
                backslashes += 1;
                j -= 1;
            }
            if backslashes % 2 == 0 {
                return Some(p[..i].to_string());
            }
        }
    }
    None
}

/// Visits every leaf: scalars, lists (replaced whole by Helm) and empty maps.
pub fn for_each_leaf(m: &Map<String, Value>, f: &mut dyn FnMut(&str, &Value)) {
    fn walk(prefix: &str, m: &Map<String, Value>, f: &mut dyn FnMut(&str, &Value)) {
        for (k, v) in m {
            let p = join_path(prefix, k);
            match v {
                Value::Object(inner) if !inner.is_empty() => walk(&p, inner, f),
                _ => f(&p, v),
            }
        }
    }
    walk("", m, f)
}

/// Reads the value at a dotted path (as `for_each_leaf` names them).
pub fn get_path<'a>(m: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let segs = split_path(path);
    let (last, init) = segs.split_last()?;
    let mut cur = m;
    for s in init {
        cur = cur.get(s)?.as_object()?;
    }
    cur.get(last)
}

/// Writes a value at a dotted path, creating maps on the way.
pub fn set_path(m: &mut Map<String, Value>, path: &str, v: Value) {
    let segs = split_path(path);
    let Some((last, init)) = segs.split_last() else {
        return;
    };
    let mut cur = m;
    for s in init {
        let entry = cur
            .entry(s.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        cur = next;
    }
    cur.insert(last.clone(), v);
}

pub use crate::yaml::split_path;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(values: Value) -> Chart {
        Chart {
            value_refs: Default::default(),
            crds: Default::default(),
            metadata: crate::chart::Metadata {
                name: "t".into(),
                version: "0.1.0".into(),
                ..Default::default()
            },
            values: values.as_object().cloned().unwrap_or_default(),
            schema: None,
            compiled_schema: Default::default(),
            dependencies: vec![],
            origin: "t".into(),
        }
    }

    fn layer(src: &str, v: Value) -> UserLayer {
        UserLayer {
            source: LayerSource::File { path: src.into() },
            values: v.as_object().cloned().unwrap_or_default(),
        }
    }

    /// 5,000 lists each indexed at 65,536 (helm's per-index maximum) would be 300 million
    /// elements: one budget across every --set flag refuses them, naming the limit.
    #[test]
    fn set_list_growth_has_one_budget_across_every_flag() {
        let many: Vec<String> = (0..5000).map(|i| format!("l{i}[65535]=1")).collect();
        let req = RenderRequest {
            sets: vec![
                (SetKind::Set, many[..2500].join(",")),
                (SetKind::Set, many[2500..].join(",")),
            ],
            ..Default::default()
        };
        let e = req.user_values().unwrap_err().to_string();
        assert!(e.contains("past the 1000000 helmdeck allows"), "{e}");
        let few = RenderRequest {
            sets: vec![(SetKind::Set, "a[65535]=1".into())],
            ..Default::default()
        };
        assert_eq!(
            few.user_values().unwrap()["a"].as_array().map(Vec::len),
            Some(65536)
        );
    }

    /// DigitalOcean's hostname annotation repeats the hostname however it is given, unless
    /// the user sets the annotation; on an upgrade a changed hostname carries it along.
    #[test]
    fn a_followed_value_repeats_its_source_unless_the_user_sets_it() {
        let target = "svc.annotations.do\\.example/hostname";
        let follows = vec![Follow {
            path: target.into(),
            from: "ingress.hostname".into(),
        }];
        let profile = Some(UserLayer {
            source: LayerSource::Profile { name: "do".into() },
            values: json!({"svc": {"annotations": {"proxy": "true"}}})
                .as_object()
                .cloned()
                .unwrap(),
        });
        let got = |req: &RenderRequest| {
            let v = req.user_values().unwrap();
            get_path(&v, target).cloned()
        };
        let mut req = RenderRequest {
            profile: profile.clone(),
            sets: vec![(SetKind::Set, "ingress.hostname=ph.example.com".into())],
            follows: follows.clone(),
            ..Default::default()
        };
        assert_eq!(got(&req), Some(json!("ph.example.com")));
        // Without a hostname nothing is written.
        req.sets.clear();
        assert_eq!(got(&req), None);
        // The user's own annotation stays.
        req.files = vec![layer(
            "mine",
            json!({"ingress": {"hostname": "a.example.com"}, "svc": {"annotations": {"do.example/hostname": "lb.example.com"}}}),
        )];
        assert_eq!(got(&req), Some(json!("lb.example.com")));
        // An upgrade: the old value followed the old hostname, so it follows the new one.
        req.previous = Some(layer(
            "release",
            json!({"ingress": {"hostname": "old.example.com"}, "svc": {"annotations": {"do.example/hostname": "old.example.com"}}}),
        ));
        req.files = vec![layer(
            "mine",
            json!({"ingress": {"hostname": "new.example.com"}}),
        )];
        assert_eq!(got(&req), Some(json!("new.example.com")));
    }

    #[test]
    fn later_layers_win_maps_merge_lists_replace_null_deletes() {
        let c = chart(json!({"a": {"x": 1, "y": [1, 2]}, "b": 2, "keep": true}));
        let req = RenderRequest {
            files: vec![
                layer("one", json!({"a": {"y": [3]}, "b": null})),
                layer("two", json!({"a": {"z": "new"}})),
            ],
            sets: vec![(SetKind::Set, "a.x=5".into())],
            ..Default::default()
        };
        let r = req.render(&c).unwrap();
        assert_eq!(
            Value::Object(r.values.clone()),
            json!({"a": {"x": 5, "y": [3], "z": "new"}, "keep": true})
        );
        assert_eq!(
            r.provenance["a.x"],
            Provenance {
                layer: 3,
                overrode: Some(0)
            }
        );
        assert_eq!(
            r.provenance["a.y"],
            Provenance {
                layer: 1,
                overrode: Some(0)
            }
        );
        assert_eq!(
            r.provenance["keep"],
            Provenance {
                layer: 0,
                overrode: None
            }
        );
        assert_eq!(
            Value::Object(r.user_values),
            json!({"a": {"y": [3], "x": 5, "z": "new"}, "b": null})
        );
    }

    #[test]
    fn set_kinds_apply_in_helms_order_not_argument_order() {
        let c = chart(json!({}));
        let req = RenderRequest {
            sets: vec![
                (SetKind::SetString, "a=s".into()),
                (SetKind::Set, "a=1".into()),
                (SetKind::SetJson, "a=2".into()),
            ],
            ..Default::default()
        };
        assert_eq!(req.render(&c).unwrap().values["a"], json!("s"));
    }

    #[test]
    fn paths_escape_dots() {
        let mut m = Map::new();
        set_path(&mut m, r"a.b\.c", json!(1));
        assert_eq!(Value::Object(m.clone()), json!({"a": {"b.c": 1}}));
        assert_eq!(get_path(&m, r"a.b\.c"), Some(&json!(1)));
        assert_eq!(parent_path(r"a.b\.c").as_deref(), Some("a"));
    }
}
