//! Cloud profiles: what a provider's cluster looks like and what the chart needs there.
//! Built-in profiles are embedded in the binary; files in the user's config directory
//! override them by name. Every profile is checked against `profiles/schema.json`.

mod answers;
pub mod detect;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::values::{self, YamlError};

pub use answers::{
    AnswerError, BadAnswer, Validation, answers_layer, load_answers, read_answers, validate_answer,
};

/// The schema every profile must satisfy (also published as `profiles/schema.json`).
pub const PROFILE_SCHEMA: &str = include_str!("../../profiles/schema.json");

const BUILTIN: [(&str, &str); 5] = [
    ("aws", include_str!("../../profiles/aws.yaml")),
    ("gcp", include_str!("../../profiles/gcp.yaml")),
    ("azure", include_str!("../../profiles/azure.yaml")),
    (
        "digitalocean",
        include_str!("../../profiles/digitalocean.yaml"),
    ),
    ("local", include_str!("../../profiles/local.yaml")),
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub description: String,
    pub provider: String,
    #[serde(default)]
    pub chart: ChartSpec,
    pub kubernetes: KubernetesRange,
    pub requirements: Requirements,
    pub storage: StorageRule,
    #[serde(default)]
    pub values: Map<String, Value>,
    /// Cluster objects the chart cannot make (an encrypted, expandable StorageClass), applied
    /// with server-side apply before the chart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Value>,
    #[serde(default)]
    pub questions: Vec<Question>,
    /// Values that repeat another value wherever the user sets it (a load balancer's hostname
    /// annotation repeating `ingress.hostname`), unless the user sets them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follows: Vec<values::Follow>,
    #[serde(default)]
    pub ingestion: IngestionSettings,
    /// Where this profile was loaded from (`builtin` or a file path).
    #[serde(skip)]
    pub origin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartSpec {
    /// Repository URL; absent means the bundled chart (or `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A version constraint such as `>=30.0.0 <31.0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesRange {
    /// A semver constraint on the server version, e.g. `>=1.25.0 <1.36.0`.
    pub versions: String,
}

impl KubernetesRange {
    pub fn allows(&self, server: &str) -> bool {
        // The profile's range is about the release: a provider suffix does not count.
        let v = server.trim_start_matches('v');
        let v = v.split(['-', '+']).next().unwrap_or(v);
        crate::chart::constraint::satisfies(&self.versions, v)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirements {
    pub min_nodes: u32,
    /// Total CPU capacity across nodes (Kubernetes quantity, e.g. `6` or `5500m`).
    pub cpu: String,
    /// Total memory capacity across nodes (e.g. `16Gi`); nominal instance sizes, so the check
    /// allows the few percent a kubelet reports less.
    pub memory: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionRule {
    /// The StorageClass must carry the provider's encryption parameter.
    ClassParameter,
    /// The platform always encrypts volumes.
    Platform,
    NotRequired,
}

impl EncryptionRule {
    /// The rule in words, for screens.
    pub fn phrase(self) -> &'static str {
        match self {
            EncryptionRule::ClassParameter => "required, by the StorageClass's parameter",
            EncryptionRule::Platform => "always, by the platform",
            EncryptionRule::NotRequired => "not required",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageRule {
    pub provisioners: Vec<String>,
    pub encryption: EncryptionRule,
    #[serde(default)]
    pub require_expansion: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Question {
    /// The value path the answer is written to (`ingress.hostname`).
    pub path: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    pub validate: Validation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Values a yes brings with it (dotted paths, `\.` escaped): one answer can turn on a
    /// set of the chart's parts and the settings they need. A path the user answers or sets
    /// in a later layer wins.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub also: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestionSettings {
    /// Public base URL (e.g. `https://{{hostname}}`); without it the probe goes through the
    /// API server's service proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_api_key: Option<KeySource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_api_key: Option<KeySource>,
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_interval() -> u64 {
    30
}
/// Longer than the plugin server holds a new person's first events back
/// (`BUFFER_CONVERSION_SECONDS`, 60 s by default: shared/REFERENCE.md), so a fresh install's
/// first probe is not called stalled while its event waits in that buffer.
fn default_timeout() -> u64 {
    90
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKeyRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

/// A secret's text (a personal API key typed in the wizard): its `Debug` never shows it, so no
/// log or panic message can.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hidden({} chars)", self.0.chars().count())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{origin}: profile does not match profiles/schema.json:\n{details}")]
    Schema { origin: String, details: String },
    #[error("unknown profile {name:?}; known profiles: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
}

/// Every profile: built-ins overridden by the user's directory.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
}

impl ProfileSet {
    /// Built-ins plus `dir` (the user's profile directory), which wins by name.
    pub fn load(user_dir: Option<&Path>) -> Result<ProfileSet, ProfileError> {
        let mut set = ProfileSet::default();
        for (name, text) in BUILTIN {
            // Built into this binary and schema-checked by its tests: not again each run.
            let p = read_profile(&format!("builtin:{name}.yaml"), text, false)?;
            set.profiles.insert(p.name.clone(), p);
        }
        if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = crate::limits::read_text(
                    &path,
                    crate::limits::limit(crate::limits::TEXT_DEFAULT),
                )
                .map_err(|e| ProfileError::Read {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                let p = parse_profile(&path.display().to_string(), &text)?;
                set.profiles.insert(p.name.clone(), p);
            }
        }
        Ok(set)
    }

    pub fn get(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ProfileError::Unknown {
                name: name.to_string(),
                known: self.names(),
            })
    }

    pub fn names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }
}

/// The user's profile directory: `$HELMDECK_CONFIG_DIR/profiles` or the platform config dir.
pub fn user_profile_dir() -> Option<PathBuf> {
    crate::dirs::config_dir().map(|d| d.join("profiles"))
}

/// The profile schema, compiled once per process.
fn profile_validator() -> Result<&'static jsonschema::Validator, &'static String> {
    static COMPILED: std::sync::OnceLock<Result<jsonschema::Validator, String>> =
        std::sync::OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let schema: Value = serde_json::from_str(PROFILE_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::validator_for(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
}

/// Parses and schema-checks one profile document.
pub fn parse_profile(origin: &str, text: &str) -> Result<Profile, ProfileError> {
    read_profile(origin, text, true)
}

/// Parses one profile document, schema-checked when `check` (every profile but the built-in
/// ones; compiling the schema was a tenth of a render).
fn read_profile(origin: &str, text: &str, check: bool) -> Result<Profile, ProfileError> {
    let doc = crate::yaml::parse(origin, text)?;
    let violations = if check {
        values::schema::check_with(profile_validator(), &doc, origin)
    } else {
        Vec::new()
    };
    if !violations.is_empty() {
        let details = violations
            .iter()
            .map(|v| {
                let at = if v.path.is_empty() {
                    "(top level)"
                } else {
                    v.path.as_str()
                };
                let line = crate::yaml::line_of_path(text, &v.path)
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default();
                format!("  - {at}{line}: {}", v.rule)
            })
            .collect::<Vec<_>>()
            .join("\n");
        return Err(ProfileError::Schema {
            origin: origin.to_string(),
            details,
        });
    }
    let mut p: Profile = serde_json::from_value(doc).map_err(|e| ProfileError::Schema {
        origin: origin.to_string(),
        details: format!("  - {e}"),
    })?;
    // Version ranges are read when the profile loads, so a typo names the file and line now
    // rather than failing a preflight later.
    let ranges = [
        ("kubernetes.versions", Some(p.kubernetes.versions.as_str())),
        ("chart.version", p.chart.version.as_deref()),
    ];
    for (key, range) in ranges {
        if let Some(r) = range
            && let Err(e) = crate::chart::constraint::Constraint::parse(r)
        {
            let line = crate::yaml::line_of_path(text, key)
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            return Err(ProfileError::Schema {
                origin: origin.to_string(),
                details: format!(
                    "  - {key}{line}: {e}; write a range as helm does, e.g. \">=1.24.0-0 <1.36.0\""
                ),
            });
        }
    }
    p.origin = origin.to_string();
    Ok(p)
}

impl Profile {
    /// The profile's values as a render layer.
    pub fn layer(&self) -> values::UserLayer {
        values::UserLayer {
            source: values::LayerSource::Profile {
                name: self.name.clone(),
            },
            values: self.values.clone(),
        }
    }
}

/// The profile a release was installed with, from its `cloud` value.
pub fn profile_for_cloud(values: &Map<String, Value>) -> Option<&'static str> {
    match values.get("cloud")?.as_str()? {
        "aws" => Some("aws"),
        "gcp" => Some("gcp"),
        "azure" => Some("azure"),
        "do" | "digitalocean" => Some("digitalocean"),
        "k3s" | "local" | "kind" | "minikube" => Some("local"),
        _ => None,
    }
}

/// Why a profile judges a release (shown by `check` and the dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// The user named it (`--profile`).
    Flag,
    /// The release's `cloud` value names it.
    ReleaseCloud { release: String },
    /// None applies: no encryption rule, default probe settings.
    Default,
}

impl std::fmt::Display for ProfileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileSource::Flag => write!(f, "flag"),
            ProfileSource::ReleaseCloud { release } => write!(f, "release {release} value cloud"),
            ProfileSource::Default => write!(f, "none"),
        }
    }
}

/// The profile whose rules (encryption, probe settings) judge a release: the one the user
/// named, else the one the release's `cloud` value names, else none. The one rule `check` and
/// the dashboard share.
pub fn judging_profile<'a>(
    profiles: &'a [Profile],
    flag: Option<&str>,
    release: Option<(&str, &Map<String, Value>)>,
) -> (Option<&'a Profile>, ProfileSource) {
    let named = |n: &str| profiles.iter().find(|p| p.name == n);
    if let Some(p) = flag.and_then(named) {
        return (Some(p), ProfileSource::Flag);
    }
    if let Some((name, values)) = release
        && let Some(p) = profile_for_cloud(values).and_then(named)
    {
        return (
            Some(p),
            ProfileSource::ReleaseCloud {
                release: name.to_string(),
            },
        );
    }
    (None, ProfileSource::Default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_validate() {
        // Loading trusts the built-in profiles: each must pass the schema check here.
        for (name, text) in BUILTIN {
            parse_profile(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let set = ProfileSet::load(None).unwrap();
        assert_eq!(
            set.names(),
            vec!["aws", "azure", "digitalocean", "gcp", "local"]
        );
        let aws = set.get("aws").unwrap();
        assert_eq!(aws.values["cloud"], serde_json::json!("aws"));
        assert_eq!(aws.storage.encryption, EncryptionRule::ClassParameter);
    }

    #[test]
    fn unknown_profile_lists_known_ones() {
        let set = ProfileSet::load(None).unwrap();
        let e = set.get("nope").unwrap_err().to_string();
        assert!(e.contains("aws, azure, digitalocean, gcp, local"), "{e}");
    }

    #[test]
    fn schema_violation_names_key_and_line() {
        let text = "name: x\ntitle: X\ndescription: d\nprovider: aws\nkubernetes:\n  versions: 5\nrequirements: {minNodes: 1, cpu: '1', memory: 1Gi}\nstorage: {provisioners: [], encryption: platform}\n";
        let e = parse_profile("x.yaml", text).unwrap_err().to_string();
        assert!(e.contains("kubernetes.versions (line 6)"), "{e}");
    }

    #[test]
    fn user_dir_overrides_builtin_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let local =
            include_str!("../../profiles/local.yaml").replacen("title: ", "title: Mine ", 1);
        std::fs::write(dir.path().join("local.yaml"), local).unwrap();
        let set = ProfileSet::load(Some(dir.path())).unwrap();
        assert!(set.get("local").unwrap().title.starts_with("Mine "));
    }

    #[test]
    fn the_flag_then_the_release_cloud_value_picks_the_judging_profile() {
        let set = ProfileSet::load(None).unwrap();
        let all: Vec<Profile> = set.iter().cloned().collect();
        let mut values = Map::new();
        values.insert("cloud".into(), Value::String("gcp".into()));
        let release = Some(("ph", &values));
        let (p, why) = judging_profile(&all, Some("aws"), release);
        assert_eq!(
            (p.map(|p| p.name.as_str()), why),
            (Some("aws"), ProfileSource::Flag)
        );
        let (p, why) = judging_profile(&all, None, release);
        assert_eq!(p.map(|p| p.name.as_str()), Some("gcp"));
        assert_eq!(why.to_string(), "release ph value cloud");
        let (p, why) = judging_profile(&all, None, None);
        assert_eq!((p.is_none(), why), (true, ProfileSource::Default));
    }
}
