//! "Is it working?" — pure analysers from cluster snapshots and probe records to rows,
//! verdicts and findings. The panes and `helmdeck check` only display what these return.

pub mod disks;
pub mod encryption;
pub mod fill;
pub mod ingestion;
pub mod load;
pub mod monitoring;
pub mod objects;
pub mod pods;
pub mod policy;
pub mod preflight;
pub mod public_path;
pub mod retention;
pub mod room;
pub mod usage;
pub mod xray;

use std::time::SystemTime;

use serde::Serialize;

use crate::observed::ProbeRecord;
use crate::observed::Snapshot;
use crate::profile::EncryptionRule;
use crate::verdict::{Check, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

/// What a finding is about. Said as `pod web-1` / `component web` (and so in JSON), but kept as
/// a type, so no reader parses the name back out of the words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Subject {
    Pod(String),
    Component(String),
}

impl Subject {
    /// The pod's name, when the finding is about a pod.
    pub fn pod(&self) -> Option<&str> {
        match self {
            Subject::Pod(name) => Some(name),
            Subject::Component(_) => None,
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Pod(n) => write!(f, "pod {n}"),
            Subject::Component(n) => write!(f, "component {n}"),
        }
    }
}

impl From<Subject> for String {
    fn from(s: Subject) -> String {
        s.to_string()
    }
}

/// Something that needs attention, with what to do next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub subject: Subject,
    pub message: String,
    pub next_step: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodsReport {
    pub state: pods::State,
    pub components: Vec<pods::ComponentRow>,
    pub pods: Vec<pods::PodRow>,
    pub findings: Vec<Finding>,
    /// The release's images on a moving tag, with the components running each.
    #[serde(skip)]
    pub unpinned: Vec<(String, Vec<String>)>,
}

pub fn pods_report(snap: &Snapshot, release: Option<&str>, now: SystemTime) -> PodsReport {
    let members = pods::Members::of(snap, release);
    let rows = pods::pod_rows(snap, &members, now);
    let components = pods::components(snap, &rows, &members);
    PodsReport {
        unpinned: pods::unpinned_images(snap, &members),
        state: pods::rollup(&components),
        findings: pods::findings(&rows, &components),
        components,
        pods: rows,
    }
}

/// How far a rollout has got, from the same report the dashboard shows: pods ready of the
/// replicas the release's workloads want (pods already deleted by a rolling update are gone
/// from the snapshot, so they never count), and the release's Jobs done of those it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RolloutProgress {
    pub state: pods::State,
    pub pods_ready: usize,
    pub pods_expected: usize,
    pub jobs_done: usize,
    pub jobs_expected: usize,
}

pub fn rollout_progress(report: &PodsReport, snap: &Snapshot, release: &str) -> RolloutProgress {
    let jobs: Vec<_> = snap
        .jobs
        .iter()
        .filter(|j| pods::belongs(j.metadata.labels.as_ref(), Some(release)))
        .collect();
    RolloutProgress {
        state: report.state,
        pods_ready: report
            .components
            .iter()
            .map(|c| c.ready.min(c.desired) as usize)
            .sum(),
        pods_expected: report.components.iter().map(|c| c.desired as usize).sum(),
        jobs_done: jobs
            .iter()
            .filter(|j| {
                j.status
                    .as_ref()
                    .and_then(|s| s.succeeded)
                    .is_some_and(|n| n > 0)
            })
            .count(),
        jobs_expected: jobs.len(),
    }
}

/// The pods verdict: ready passes, updating warns, anything worse fails.
pub fn pods_check(r: &PodsReport) -> Check {
    let ready = r
        .components
        .iter()
        .filter(|c| c.state == pods::State::Ready)
        .count();
    let verdict = match r.state {
        pods::State::Ready => Verdict::Pass,
        pods::State::Updating => Verdict::Warn,
        _ => Verdict::Fail,
    };
    let worst = r
        .findings
        .first()
        .map(|f| format!("; {}: {}", f.subject, f.message))
        .unwrap_or_default();
    Check {
        id: "pods",
        verdict,
        message: format!(
            "{}: {ready}/{} components ready, {} pods{worst}",
            r.state.label(),
            r.components.len(),
            r.pods.iter().filter(|p| !p.completed).count()
        ),
        fix: r
            .findings
            .first()
            .map(|f| f.next_step.clone())
            .unwrap_or_default(),
    }
}

/// A warning when the release's pods run moving tags (none when every image is pinned).
pub fn image_check(report: &PodsReport) -> Option<Check> {
    let unpinned = &report.unpinned;
    if unpinned.is_empty() {
        return None;
    }
    Some(Check {
        id: "app-image",
        verdict: Verdict::Warn,
        message: format!(
            "pods run unpinned images, whatever the tag points to when each pod starts: {}",
            unpinned
                .iter()
                .map(|(i, c)| format!("{i} ({})", c.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        fix: "pin each image to a version tag or digest (for the vendor's app: image.tag release-<app version>; `helmdeck upgrade` sets it)".into(),
    })
}

/// One check per volume.
pub fn disk_checks(rows: &[disks::DiskRow]) -> Vec<Check> {
    if rows.is_empty() {
        return vec![Check {
            id: "disks",
            verdict: Verdict::Warn,
            message: "no volumes found".into(),
            fix: "check the namespace (-n) and that the release is installed".into(),
        }];
    }
    rows.iter()
        .map(|r| Check {
            id: "disk",
            verdict: r.verdict,
            message: format!("{}: {}", r.claim, r.message),
            fix: r.fix.clone(),
        })
        .collect()
}

/// One check per claim whose usage was measured.
pub fn usage_checks(rows: &[disks::DiskRow]) -> Vec<Check> {
    rows.iter()
        .filter_map(|r| {
            let u = r.usage.as_ref()?;
            Some(Check {
                id: "disk-usage",
                verdict: u.verdict,
                message: format!("{}: {}", r.claim, u.message),
                fix: u.fix.clone(),
            })
        })
        .collect()
}

pub fn ingestion_checks(r: &ProbeRecord) -> Vec<Check> {
    let mut out = vec![ingestion::ingestion_check(r)];
    out.extend(ingestion::endpoint_checks(r));
    out
}

/// The disk rows, graded by the profile's rule.
pub fn disks_report(snap: &Snapshot, rule: EncryptionRule) -> Vec<disks::DiskRow> {
    disks::disk_rows(snap, rule)
}

/// The worst verdict of a set of checks (pass when there are none).
pub fn overall(checks: &[Check]) -> Verdict {
    checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass)
}

/// What to judge of one cluster state: the release (none: every pod in view), the disk rule of
/// the judging profile, and which areas.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub release: Option<&'a str>,
    pub rule: EncryptionRule,
    pub pods: bool,
    pub disks: bool,
    pub now: SystemTime,
    /// The claims' measured usage, when it was read: the disks get their fill and its checks.
    pub volumes: Option<&'a fill::History>,
}

/// The verdicts on one cluster state: `helmdeck check`, the engine's Verify step and the
/// dashboard all take theirs from here, so they cannot disagree about the same cluster.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub pods: Option<PodsReport>,
    pub disks: Option<Vec<disks::DiskRow>>,
    /// The pods check, then one per volume, then the ingestion checks when a probe is given.
    pub checks: Vec<Check>,
}

impl Judgement {
    pub fn of(snap: &Snapshot, asked: Asked<'_>, probe: Option<&ProbeRecord>) -> Judgement {
        let mut checks = Vec::new();
        let pods = asked
            .pods
            .then(|| pods_report(snap, asked.release, asked.now));
        if let Some(p) = &pods {
            checks.push(pods_check(p));
            checks.extend(image_check(p));
        }
        let disks = asked.disks.then(|| {
            let mut rows = disks_report(snap, asked.rule);
            if let Some(h) = asked.volumes {
                disks::attach_usage(&mut rows, h, asked.release);
            }
            rows
        });
        if let Some(d) = &disks {
            checks.extend(disk_checks(d));
            checks.extend(usage_checks(d));
        }
        if let Some(r) = probe {
            checks.extend(ingestion_checks(r));
        }
        Judgement {
            pods,
            disks,
            checks,
        }
    }

    /// The worst of every check.
    pub fn verdict(&self) -> Verdict {
        overall(&self.checks)
    }

    /// The worst of the checks of one area (`pods`, `disk`/`disks`, `ingestion`).
    pub fn verdict_of(&self, ids: &[&str]) -> Verdict {
        overall(
            &self
                .checks
                .iter()
                .filter(|c| ids.contains(&c.id))
                .cloned()
                .collect::<Vec<_>>(),
        )
    }
}
