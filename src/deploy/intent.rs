//! What the user asked for, before anything is looked up. The CLI builds an [`Intent`] from its
//! flags and the app from its wizard; [`Intent::resolve`] turns either into the one request the
//! engine runs, so both get the same chart, the same helm major and the same defaults.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{Action, DeployRequest, Outcome};
use crate::chart::{Chart, ChartRef, repo, resolve_chart_ref};
use crate::cluster::Target;
use crate::helm::driver::Helm;
use crate::profile::{self, Profile, ProfileSet};
use crate::values::{self, HelmMajor, RenderRequest, SetKind};

/// How long helm waits for resources, unless the user says otherwise (CLI and app alike).
pub const DEFAULT_TIMEOUT_SECS: u64 = 900;

/// Answers to a profile's questions (`value.path: answer`) and where they came from, for errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub origin: String,
    pub given: Map<String, Value>,
}

/// Everything that decides the values: the profile, the chart, and the user's layers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValuesIntent {
    pub profile: Option<String>,
    /// A directory, a `.tgz`, a chart name with `repo`, or `oci://…`; none: the profile's chart.
    pub chart: Option<String>,
    pub repo: Option<String>,
    pub version: Option<String>,
    pub answers: Option<Answers>,
    pub values_files: Vec<PathBuf>,
    /// `--set`-style entries, applied in Helm's fixed order of kinds.
    pub sets: Vec<(SetKind, String)>,
    /// Merge as this helm major does; none: the helm that will apply, else Helm 4.
    pub helm_major: Option<HelmMajor>,
    /// Use the bundled stand-in chart unless a chart, a repository or a version is named
    /// (the simulated cluster, and `render`, which has no cluster); otherwise the profile's
    /// chart is the vendor's, from its repository.
    pub stand_in: bool,
    /// The app version to run instead of the chart's own (a migration stop's pin).
    pub app_pin: Option<String>,
}

/// The first input that keeps an intent from resolving, naming the file, key or chart.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error(transparent)]
    Repository(#[from] repo::RepoError),
    #[error(
        "the repository {url} has no version of {name} within {range} (the profile's supported range); give one with --version"
    )]
    NoVersionInRange {
        url: String,
        name: String,
        range: String,
    },
    #[error(transparent)]
    Chart(#[from] crate::chart::ChartError),
    #[error(
        "chart {origin}: {missing} found in Chart.yaml, but missing in charts/ directory (helm refuses the chart)\n  fix: `helm dependency build {}` fetches them into charts/",
        path.display()
    )]
    MissingDependencies {
        origin: String,
        missing: String,
        path: PathBuf,
    },
    #[error(transparent)]
    Answers(#[from] crate::profile::AnswerError),
    #[error(transparent)]
    ValuesFile(#[from] crate::values::ValuesError),
}

/// The values side of an intent, looked up: what `render` prints and the engine applies.
pub struct ResolvedValues {
    pub profile: Option<Profile>,
    pub chart: Chart,
    pub chart_path: PathBuf,
    pub request: RenderRequest,
}

impl ValuesIntent {
    /// Which chart: the one named; else the profile's local path; else the vendor's chart
    /// from the repository (flag, `$HELMDECK_CHART_REPO`, the profile's) at the version asked
    /// or the newest the profile supports; the bundled stand-in only for `stand_in` intents
    /// that name no repository or version.
    pub fn chart_ref(&self, profile: Option<&Profile>) -> Result<ChartRef, ResolveError> {
        let spec = profile.map(|p| &p.chart);
        let env_repo = std::env::var(repo::REPO_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty());
        if self.chart.is_some() && self.repo.is_none() {
            return Ok(ChartRef::parse(
                self.chart.as_deref(),
                None,
                self.version.as_deref(),
            ));
        }
        if self.repo.is_none()
            && let Some(path) = spec.and_then(|s| s.path.as_ref())
        {
            return Ok(ChartRef::Local(path.into()));
        }
        let wants_repo = self.repo.is_some()
            || self.version.is_some()
            || env_repo.is_some()
            || (!self.stand_in && spec.is_some_and(|s| s.repo.is_some()));
        if !wants_repo {
            return Ok(ChartRef::Bundled);
        }
        let url = repo::repo_url(self.repo.as_deref(), spec.and_then(|s| s.repo.as_deref()));
        let name = self
            .chart
            .clone()
            .or_else(|| spec.and_then(|s| s.name.clone()))
            .unwrap_or_else(|| repo::VENDOR_CHART.to_string());
        let version = match (&self.version, spec.and_then(|s| s.version.as_deref())) {
            (Some(v), _) => Some(v.clone()),
            // The newest version the profile supports, as `helm install --version RANGE`
            // would pick, but said out loud in the plan.
            (None, Some(range)) => {
                let listing = repo::versions_blocking(&url, &name, &crate::dirs::cache_dir())?;
                let best = listing.default_version(Some(range)).ok_or_else(|| {
                    ResolveError::NoVersionInRange {
                        url: url.clone(),
                        name: name.clone(),
                        range: range.to_string(),
                    }
                })?;
                Some(best.version.clone())
            }
            (None, None) => None,
        };
        Ok(ChartRef::Repo {
            repo: url,
            name,
            version,
        })
    }

    /// The named profile from the built-in and the user's profiles.
    pub(crate) fn load_profile(&self) -> Result<Option<Profile>, ResolveError> {
        let Some(name) = &self.profile else {
            return Ok(None);
        };
        let set = ProfileSet::load(profile::user_profile_dir().as_deref())?;
        Ok(Some(set.get(name)?.clone()))
    }

    /// Loads the profile, the chart and every layer; the first bad input is the error, naming
    /// the file or key.
    pub fn resolve(&self) -> Result<ResolvedValues, ResolveError> {
        self.resolve_with(self.load_profile()?)
    }

    /// As [`ValuesIntent::resolve`], with the named profile already loaded (the app holds its
    /// profiles).
    pub fn resolve_with(&self, profile: Option<Profile>) -> Result<ResolvedValues, ResolveError> {
        let chart_ref = self.chart_ref(profile.as_ref())?;
        let cache = crate::dirs::cache_dir();
        let chart_path = resolve_chart_ref(&chart_ref, &cache)?;
        let chart = Chart::load_cached(&chart_path, &cache)?;
        let missing = chart.missing_dependencies();
        if !missing.is_empty() {
            return Err(ResolveError::MissingDependencies {
                origin: chart.origin.to_string(),
                missing: missing.join(", "),
                path: chart_path,
            });
        }
        let answers = match &self.answers {
            Some(a) => Some(profile::answers_layer(
                &a.origin,
                &a.given,
                profile.as_ref(),
            )?),
            None => None,
        };
        let mut files = Vec::new();
        for f in &self.values_files {
            files.push(values::load_file_layer(f)?);
        }
        let major = match self.helm_major {
            Some(m) => m,
            None => crate::helm::find_helm()
                .map(|h| h.major)
                .unwrap_or_default(),
        };
        let request = RenderRequest {
            previous: None,
            profile: profile.as_ref().map(Profile::layer),
            answers,
            files,
            sets: self.sets.clone(),
            base_dir: std::env::current_dir().ok(),
            major,
            follows: profile
                .as_ref()
                .map(|p| p.follows.clone())
                .unwrap_or_default(),
        };
        Ok(ResolvedValues {
            profile,
            chart,
            chart_path,
            request,
        })
    }
}

impl ValuesIntent {
    /// The repository and chart name this intent installs from, when it is a repository's
    /// chart (what an upgrade path is planned against); no version is looked up.
    pub fn repository(&self) -> Result<Option<(String, String)>, ResolveError> {
        let mut profile = self.load_profile()?;
        // Without a range, choosing the source reads no index.
        if let Some(p) = profile.as_mut() {
            p.chart.version = None;
        }
        Ok(match self.chart_ref(profile.as_ref())? {
            ChartRef::Repo { repo, name, .. } => Some((repo, name)),
            _ => None,
        })
    }
}

/// An install or upgrade as the user asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub action: Action,
    pub release: String,
    pub namespace: String,
    pub target: Target,
    pub values: ValuesIntent,
    pub timeout_secs: u64,
    pub rollback_on_failure: bool,
    /// Run the pod and disk checks once helm is done (`--no-verify` turns it off).
    pub verify: bool,
    /// Carry out the documented disk resize when the upgrade grows a StatefulSet's claims.
    pub resize_disks: bool,
    /// Watchers the front end already runs on this cluster (the app's): the rollout and
    /// Verify read them when they cover the release's namespace.
    pub watch: Option<crate::cluster::watch::SharedWatch>,
    /// A stop of the way to leave out, and the user's reason (recorded in the audit log).
    pub skip: Option<SkipStop>,
    /// Keys stored as Secrets in the release's namespace once helm is done (the wizard's
    /// personal API key): never in values, drafts or logs.
    pub secrets: Vec<(crate::profile::SecretKeyRef, crate::profile::Hidden)>,
}

/// `--skip-stop VERSION --reason TEXT`.
#[derive(Debug, Clone, PartialEq)]
pub struct SkipStop {
    pub version: String,
    pub reason: String,
}

impl Intent {
    /// An intent with the defaults every front end shares.
    pub fn new(action: Action, release: &str, namespace: &str, target: Target) -> Intent {
        Intent {
            action,
            release: release.into(),
            namespace: namespace.into(),
            target,
            values: ValuesIntent::default(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            rollback_on_failure: true,
            verify: true,
            resize_disks: false,
            watch: None,
            skip: None,
            secrets: Vec::new(),
        }
    }

    /// The request the engine runs: the helm found, values merged as that helm merges them.
    pub fn resolve(&self) -> Result<DeployRequest, Outcome> {
        let bin = crate::helm::find_helm().map_err(Outcome::bad_input)?;
        let helm = Helm::new(
            bin,
            self.target.kubeconfig_path(),
            self.target.context.clone(),
        );
        let mut values = self.values.clone();
        values.helm_major.get_or_insert(helm.major());
        values.stand_in |= self.target.is_simulated();
        let resolved = values.resolve().map_err(|e| match e {
            ResolveError::Repository(r) => Outcome::RepositoryUnreadable {
                message: r.to_string(),
            },
            other => Outcome::bad_input(other),
        })?;
        let data_dir = crate::dirs::data_dir()
            .ok_or_else(|| Outcome::bad_input("no data directory: set HELMDECK_DATA_DIR"))?;
        Ok(DeployRequest {
            action: self.action,
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            target: self.target.clone(),
            profile: resolved.profile,
            chart: resolved.chart,
            chart_path: resolved.chart_path,
            request: resolved.request,
            helm,
            timeout_secs: self.timeout_secs,
            rollback_on_failure: self.rollback_on_failure,
            verify: self.verify,
            resize_disks: self.resize_disks,
            data_dir,
            watch: self.watch.clone(),
            app_pin: self.values.app_pin.clone(),
            secrets: self.secrets.clone(),
        })
    }
}
