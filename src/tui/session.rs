//! What the app knows of the cluster and of this session, which every screen reads and only
//! the app's root changes: the options it started with, the profiles, the releases, the
//! watchers' snapshot and the rows judged from it, the ingestion probes and the clock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::cluster::probe::ProbeRecord;
use crate::cluster::releases::ReleaseInfo;
use crate::cluster::watch::{Connection, Snapshot};
use crate::deploy::Outcome;
use crate::health::objects::{ObjectKind, ObjectRow};
use crate::profile::Profile;

/// `opts.namespace` when every namespace is shown (k9s's `0`, `:pods -A`): no namespace is
/// named "", so it cannot be mistaken for one.
pub const ALL_NAMESPACES: &str = "";

/// What the app was started with.
#[derive(Debug, Clone)]
pub struct Options {
    pub context: String,
    pub namespace: String,
    pub release: String,
    pub readonly: bool,
    /// The profile the wizard starts on.
    pub profile: Option<String>,
    /// `Err(how to get it)` when no helm was found: inspection still works.
    pub helm: Result<String, String>,
    pub no_color: bool,
    pub log_file: Option<PathBuf>,
    /// The kubeconfig turns certificate checks off for this cluster: the header says so.
    pub tls_unverified: bool,
    /// helmdeck's simulated cluster: the wizard installs the bundled stand-in chart.
    pub simulated: bool,
    /// The cluster's scope for helmdeck's own files (`Target::scope_key`): drafts live there.
    pub scope: String,
}

/// A release's last operation in this session: what Home shows beside (or instead of) it.
#[derive(Debug, Clone)]
pub struct LastOperation {
    pub release: String,
    pub namespace: String,
    pub what: String,
    pub outcome: Outcome,
    /// The failing pod seen while helm waited.
    pub problem: Option<String>,
    pub finished: SystemTime,
}

/// Probe results the ingestion pane keeps.
pub const PROBE_HISTORY: usize = 60;

pub struct Session {
    pub opts: Options,
    pub profiles: Vec<Profile>,
    pub releases: Vec<ReleaseInfo>,
    pub releases_error: Option<String>,
    /// The releases have been listed at least once (an empty list then means none).
    pub releases_listed: bool,
    pub snapshot: Snapshot,
    /// Rows derived from the snapshot once per change, not once per frame.
    pub pods: crate::health::PodsReport,
    pub disks: Vec<crate::health::disks::DiskRow>,
    /// The focused release's Kafka retention against its disk, computed once per change.
    pub retention: Vec<crate::verdict::Check>,
    /// The monitoring parts the focused release turns on, and how to open its Grafana.
    pub monitoring: Vec<crate::health::monitoring::Row>,
    pub grafana: Option<String>,
    /// The resource views' rows, in `ObjectKind::ALL`'s order, computed once per snapshot.
    pub objects: Vec<(ObjectKind, Vec<ObjectRow>)>,
    /// The x-ray tree's rows, computed once per snapshot.
    pub xray: Vec<crate::health::xray::XrayRow>,
    pub connection: Connection,
    pub probes: VecDeque<ProbeRecord>,
    /// The pods' usage by name (metrics-server's last measurement), or why there is none;
    /// None until asked.
    pub usage: Option<Result<std::collections::HashMap<String, crate::observed::PodUsage>, String>>,
    /// The claims' usage measured since the app started: the disks pane's fill and growth.
    pub volumes: crate::health::fill::History,
    /// The nodes whose kubelet could not be read, when some could not.
    pub volumes_error: Option<String>,
    pub now: SystemTime,
    /// Each release's last operation in this session, shown on Home (even when helm
    /// uninstalled the release).
    pub last_ops: Vec<LastOperation>,
}

impl Session {
    pub fn new(opts: Options, profiles: Vec<Profile>, now: SystemTime) -> Session {
        Session {
            opts,
            profiles,
            releases: Vec::new(),
            releases_error: None,
            releases_listed: false,
            snapshot: Snapshot::default(),
            pods: crate::health::pods_report(&Snapshot::default(), None, now),
            disks: Vec::new(),
            retention: Vec::new(),
            monitoring: Vec::new(),
            grafana: None,
            objects: Vec::new(),
            xray: Vec::new(),
            connection: Connection::Connecting,
            probes: VecDeque::new(),
            usage: None,
            volumes: Default::default(),
            volumes_error: None,
            now,
            last_ops: Vec::new(),
        }
    }

    /// Every namespace is shown: pods carry their namespace, no release scopes them.
    pub fn all_namespaces(&self) -> bool {
        self.opts.namespace == ALL_NAMESPACES
    }

    /// The namespace as the header and messages name it.
    pub fn namespace_label(&self) -> &str {
        if self.all_namespaces() {
            "all"
        } else {
            &self.opts.namespace
        }
    }

    /// The release the app looks at, when it is installed.
    pub fn focused_release(&self) -> Option<&ReleaseInfo> {
        self.releases
            .iter()
            .find(|r| r.name == self.opts.release && r.namespace == self.opts.namespace)
    }

    /// The profile whose rules judge the dashboard, by the rule `check` uses: `--profile`, else
    /// the release's `cloud` value.
    pub fn judging_profile(&self) -> Option<&Profile> {
        crate::profile::judging_profile(
            &self.profiles,
            self.opts.profile.as_deref(),
            self.focused_release()
                .map(|r| (r.name.as_str(), &r.user_values)),
        )
        .0
    }

    /// The release the panes are scoped to: the focused one, unless the releases are known
    /// and it is not in this namespace (`:ns kube-system`), where every pod and claim of the
    /// namespace shows, as k9s shows a namespace.
    pub fn release_here(&self) -> Option<&str> {
        if self.all_namespaces() {
            return None;
        }
        let release = self.opts.release.as_str();
        let known_absent = self.releases_listed
            && !self
                .releases
                .iter()
                .any(|r| r.name == release && r.namespace == self.opts.namespace);
        (!known_absent).then_some(release)
    }

    /// Recomputes the pane rows from the snapshot.
    pub fn derive(&mut self) {
        let judged = self.judgement();
        self.pods = judged.pods.unwrap_or_else(|| {
            crate::health::pods_report(&self.snapshot, self.release_here(), self.now)
        });
        self.disks = judged.disks.unwrap_or_default();
        self.retention = self.retention_checks();
        let (release, ns) = (self.opts.release.as_str(), self.opts.namespace.as_str());
        self.monitoring = self
            .focused_release()
            .map(|r| crate::health::monitoring::rows(&r.user_values, &self.snapshot, release))
            .unwrap_or_default();
        self.grafana = self
            .monitoring
            .iter()
            .any(|r| r.name == "grafana")
            .then(|| crate::health::monitoring::grafana_access(&self.snapshot, release, ns))
            .flatten();
        let release = self.release_here().map(str::to_string);
        self.objects =
            crate::health::objects::all_object_rows(&self.snapshot, release.as_deref(), self.now);
        self.xray = crate::health::xray::xray(
            &self.snapshot,
            release.as_deref().unwrap_or("(namespace)"),
            &self.pods,
            &self.disks,
            self.now,
        );
    }

    /// The focused release's Kafka retention against its claim (`health::retention`), and its
    /// retention hours against the write rate its Kafka disks' growth shows.
    fn retention_checks(&self) -> Vec<crate::verdict::Check> {
        let Some(kafka) = self.focused_release().and_then(|r| r.kafka.clone()) else {
            return Vec::new();
        };
        let values = serde_json::Map::from_iter([("kafka".to_string(), kafka)]);
        // The busiest broker's disk: bytes a second.
        let rate = self
            .disks
            .iter()
            .filter(|d| d.component == "kafka")
            .filter_map(|d| d.usage.as_ref()?.growth_bytes_per_hour)
            .reduce(f64::max)
            .map(|g| g / 3600.0);
        crate::health::retention::kafka(&values, rate)
    }

    /// A resource view's rows as last derived.
    pub fn objects(&self, kind: ObjectKind) -> &[ObjectRow] {
        self.objects
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[], |(_, rows)| rows)
    }

    /// The dashboard's verdicts on its snapshot, as `helmdeck check` and the engine's Verify
    /// give them (the latest ingestion probe included).
    pub fn judgement(&self) -> crate::health::Judgement {
        let rule = self
            .judging_profile()
            .map(|p| p.storage.encryption)
            .unwrap_or(crate::profile::EncryptionRule::NotRequired);
        let asked = crate::health::Asked {
            release: self.release_here(),
            rule,
            pods: true,
            disks: true,
            now: self.now,
            volumes: Some(&self.volumes),
        };
        crate::health::Judgement::of(&self.snapshot, asked, self.probes.back())
    }

    /// Keeps the kubelets' latest measurements (and which nodes could not be read).
    pub fn measured(
        &mut self,
        usage: &[crate::cluster::disk_usage::ClaimUsage],
        unread: &[String],
    ) {
        crate::cluster::disk_usage::record(&mut self.volumes, usage);
        self.volumes_error = (!unread.is_empty()).then(|| unread.join("; "));
        if !usage.is_empty() {
            self.derive();
        }
    }

    /// Keeps a probe's result, the oldest dropped past the pane's history.
    pub fn probed(&mut self, p: ProbeRecord) {
        self.probes.push_back(p);
        while self.probes.len() > PROBE_HISTORY {
            self.probes.pop_front();
        }
    }

    /// The major of the helm that will apply (the values merge follows it); Helm 4 until found.
    pub fn helm_major(&self) -> crate::values::HelmMajor {
        match &self.opts.helm {
            Ok(v) if v.trim_start_matches('v').starts_with("3.") => crate::values::HelmMajor::V3,
            _ => crate::values::HelmMajor::V4,
        }
    }
}
