//! How full each claim's disk is and when it will be full: used and capacity as the kubelet
//! measures them (its Summary API, `cluster::disk_usage`), the growth over the samples kept,
//! and the findings. The vendor's runbooks name a full Kafka disk as the outage that comes
//! first (its broker crash-loops), so: above 80 % warns, above 90 % fails, full within 24 hours
//! fails, each with the next step: the guided resize where the class lets the claim grow,
//! else what frees room.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::verdict::Verdict;

pub const WARN_ABOVE_PERCENT: f64 = 80.0;
pub const FAIL_ABOVE_PERCENT: f64 = 90.0;
/// Full sooner than this fails, however empty the disk is now.
pub const FAIL_FULL_WITHIN: Duration = Duration::from_secs(24 * 3600);
/// Samples kept per claim: the fill chart and the growth read them.
pub const KEEP: usize = 120;
/// Growth is measured over the samples of this last stretch.
pub const GROWTH_WINDOW: Duration = Duration::from_secs(6 * 3600);

/// One measurement of a claim's volume.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Milliseconds since the Unix epoch, as the kubelet stamped it.
    pub at_ms: u64,
    pub used: u64,
    pub capacity: u64,
}

/// The samples of every claim, oldest first; `check` keeps them between runs in the state
/// directory, the app for as long as it runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    claims: BTreeMap<String, VecDeque<Sample>>,
}

fn key(namespace: &str, claim: &str) -> String {
    format!("{namespace}/{claim}")
}

impl History {
    /// Adds a measurement (one not newer than the last is a repeat, and dropped).
    pub fn record(&mut self, namespace: &str, claim: &str, s: Sample) {
        let q = self.claims.entry(key(namespace, claim)).or_default();
        if q.back().is_some_and(|last| last.at_ms >= s.at_ms) {
            return;
        }
        q.push_back(s);
        while q.len() > KEEP {
            q.pop_front();
        }
    }

    pub fn of(&self, namespace: &str, claim: &str) -> Option<&VecDeque<Sample>> {
        self.claims.get(&key(namespace, claim))
    }

    /// Forgets claims with no sample newer than `before_ms` (deleted claims, old clusters).
    pub fn forget_older_than(&mut self, before_ms: u64) {
        self.claims
            .retain(|_, q| q.back().is_some_and(|s| s.at_ms >= before_ms));
    }

    /// The history kept at `path`; none when it is missing or unreadable (it is a cache: a
    /// damaged one costs only the growth figures).
    pub fn load(path: &Path) -> History {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes it whole to a temporary file renamed over `path`, so a reader never sees half.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Per process: two `check` runs on one cluster must not write into each other's file.
        let tmp = path.with_extension(format!("{}.part", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(self).unwrap_or_default())?;
        let renamed = std::fs::rename(&tmp, path);
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        renamed
    }
}

/// How full a claim's disk is and where it is heading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fill {
    pub used_bytes: u64,
    pub capacity_bytes: u64,
    pub percent: f64,
    /// Bytes an hour over the samples of the growth window; none from one sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_bytes_per_hour: Option<f64>,
    /// At that growth; none when it does not grow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_in_seconds: Option<u64>,
    pub verdict: Verdict,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// The percentage of each sample kept, oldest first: the fill chart.
    #[serde(skip)]
    pub percents: Vec<u64>,
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Bytes as the claims' sizes are written, in binary units.
pub fn bytes_text(b: u64) -> String {
    crate::quantity::format_bytes(b as f64)
}

/// The chart's value that sizes a component's claim (shared/REFERENCE.md, "Persistence").
pub fn size_key(component: &str) -> Option<&'static str> {
    Some(match component {
        "kafka" => "kafka.persistence.size",
        "clickhouse" => "clickhouse.persistence.size",
        "postgresql" => "postgresql.persistence.size",
        "zookeeper" => "zookeeper.persistence.size",
        "redis" => "redis.master.persistence.size",
        _ => return None,
    })
}

/// What the next step for a filling disk depends on: the claim and whether its class lets it
/// grow.
#[derive(Debug, Clone, Copy)]
pub struct Disk<'a> {
    pub claim: &'a str,
    pub namespace: &'a str,
    pub component: &'a str,
    pub storage_class: &'a str,
    pub expansion: Option<bool>,
}

/// The fill of a claim from its samples, judged; none without a sample.
pub fn judge(samples: &VecDeque<Sample>, row: Disk<'_>, release: Option<&str>) -> Option<Fill> {
    let last = *samples.back()?;
    let percent = if last.capacity == 0 {
        0.0
    } else {
        last.used as f64 * 100.0 / last.capacity as f64
    };
    let window_ms = GROWTH_WINDOW.as_millis() as u64;
    let first = samples
        .iter()
        .find(|s| s.at_ms + window_ms >= last.at_ms)
        .copied()
        .unwrap_or(last);
    let growth = (last.at_ms > first.at_ms).then(|| {
        (last.used as f64 - first.used as f64) * 3_600_000.0 / (last.at_ms - first.at_ms) as f64
    });
    let full_in = growth.filter(|g| *g > 0.0).map(|g| {
        let left = last.capacity.saturating_sub(last.used) as f64;
        (left / g * 3600.0) as u64
    });
    let soon = full_in.is_some_and(|s| s < FAIL_FULL_WITHIN.as_secs());
    let verdict = if percent > FAIL_ABOVE_PERCENT || soon {
        Verdict::Fail
    } else if percent > WARN_ABOVE_PERCENT {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    // Why it is judged so, beside the figure it is judged by.
    let above = if percent > FAIL_ABOVE_PERCENT {
        ", above 90 %"
    } else if percent > WARN_ABOVE_PERCENT {
        ", above 80 %"
    } else {
        ""
    };
    let mut message = format!(
        "{} of {} used ({percent:.0} %{above})",
        bytes_text(last.used),
        bytes_text(last.capacity)
    );
    match (growth, full_in) {
        (Some(g), Some(s)) => message.push_str(&format!(
            ", growing {}/h: full in {}{}",
            bytes_text(g as u64),
            crate::time::short_age(s),
            if soon { ", within 24 h" } else { "" }
        )),
        (Some(_), None) => message.push_str(", not growing"),
        (None, _) => {}
    }
    let fix = if verdict == Verdict::Pass {
        String::new()
    } else {
        next_step(row, release, last)
    };
    Some(Fill {
        used_bytes: last.used,
        capacity_bytes: last.capacity,
        percent,
        growth_bytes_per_hour: growth,
        full_in_seconds: full_in,
        verdict,
        message,
        fix,
        percents: samples
            .iter()
            .map(|s| (s.used * 100).checked_div(s.capacity).unwrap_or(0))
            .collect(),
    })
}

/// What to do about a filling disk: grow it where its class allows (the guided resize, to a
/// size at which today's data is half the disk), else free room; Kafka can always be told
/// to keep less.
fn next_step(row: Disk<'_>, release: Option<&str>, last: Sample) -> String {
    let retention = if row.component == "kafka" {
        "; or keep less: lower kafka.logRetentionBytes (per partition) or kafka.logRetentionHours"
    } else {
        ""
    };
    let gib = ((last.used as f64 * 2.0 / GIB).ceil() as u64)
        .max((last.capacity as f64 / GIB).ceil() as u64 + 1);
    match (row.expansion, size_key(row.component)) {
        (Some(true), Some(k)) => format!(
            "grow it with the guided resize (class {} allows expansion): `helmdeck upgrade --release {} -n {} --set {k}={gib}Gi --resize-disks`{retention}",
            row.storage_class,
            release.unwrap_or("RELEASE"),
            row.namespace
        ),
        (Some(true), None) => format!(
            "grow claim {} (class {} allows expansion): `kubectl -n {} patch pvc {} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{gib}Gi\"}}}}}}}}'`",
            row.claim, row.storage_class, row.namespace, row.claim
        ),
        _ => format!(
            "class {} does not allow expansion: free room{retention}, or move the data to a larger claim on a class with allowVolumeExpansion (the vendor's runbook, \"Resize data disk\")",
            if row.storage_class.is_empty() {
                "(none)"
            } else {
                &row.storage_class
            }
        ),
    }
}

/// Milliseconds since the epoch of a time (0 before it).
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(component: &'static str, expansion: Option<bool>) -> Disk<'static> {
        Disk {
            claim: "data-ph-0",
            namespace: "ph",
            component,
            storage_class: "gp3",
            expansion,
        }
    }

    const G: u64 = 1 << 30;

    fn samples(points: &[(u64, u64)]) -> VecDeque<Sample> {
        points
            .iter()
            .map(|&(min, used)| Sample {
                at_ms: min * 60_000,
                used,
                capacity: 10 * G,
            })
            .collect()
    }

    #[test]
    fn thresholds_are_above_80_and_above_90_percent() {
        let r = row("postgresql", Some(true));
        let at = |used| judge(&samples(&[(0, used)]), r, Some("ph")).unwrap();
        assert_eq!(at(8 * G).verdict, Verdict::Pass, "80 % is not above 80 %");
        let w = at(8 * G + G / 2);
        assert_eq!(w.verdict, Verdict::Warn);
        assert_eq!(w.message, "8.5Gi of 10Gi used (85 %, above 80 %)");
        assert!(
            w.growth_bytes_per_hour.is_none(),
            "one sample has no growth"
        );
        assert_eq!(
            w.fix,
            "grow it with the guided resize (class gp3 allows expansion): `helmdeck upgrade --release ph -n ph --set postgresql.persistence.size=17Gi --resize-disks`"
        );
        let f = at(9 * G + G / 2);
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(f.message, "9.5Gi of 10Gi used (95 %, above 90 %)");
        assert_eq!(at(0).message, "0 of 10Gi used (0 %)");
    }

    #[test]
    fn growth_gives_the_time_to_full_and_within_a_day_fails() {
        let r = row("kafka", Some(false));
        // 1 GiB an hour with 5 GiB left: full in 5 hours, at 50 %.
        let f = judge(&samples(&[(0, 4 * G), (60, 5 * G)]), r, None).unwrap();
        assert_eq!(f.growth_bytes_per_hour, Some(G as f64));
        assert_eq!(f.full_in_seconds, Some(5 * 3600));
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(
            f.message,
            "5Gi of 10Gi used (50 %), growing 1Gi/h: full in 5h, within 24 h"
        );
        assert!(f.fix.starts_with("class gp3 does not allow expansion: free room; or keep less: lower kafka.logRetentionBytes"), "{}", f.fix);
        assert_eq!(f.percents, vec![40, 50]);
        // Slow growth is a pass; shrinking is no growth.
        let slow = judge(&samples(&[(0, 4 * G), (600, 4 * G + G / 10)]), r, None).unwrap();
        assert_eq!(slow.verdict, Verdict::Pass, "{}", slow.message);
        let down = judge(&samples(&[(0, 5 * G), (60, 4 * G)]), r, None).unwrap();
        assert_eq!(down.full_in_seconds, None);
        assert!(down.message.ends_with("not growing"), "{}", down.message);
    }

    #[test]
    fn growth_reads_only_the_window_and_the_history_keeps_order_and_size() {
        let r = row("clickhouse", Some(true));
        // A burst a day ago does not count: the last six hours are flat.
        let f = judge(
            &samples(&[(0, G), (60, 5 * G), (1440, 5 * G), (1500, 5 * G)]),
            r,
            None,
        )
        .unwrap();
        assert_eq!(f.growth_bytes_per_hour, Some(0.0));
        let mut h = History::default();
        for i in 0..(KEEP as u64 + 5) {
            h.record(
                "ph",
                "c",
                Sample {
                    at_ms: i,
                    used: i,
                    capacity: 9,
                },
            );
        }
        h.record(
            "ph",
            "c",
            Sample {
                at_ms: 3,
                used: 0,
                capacity: 9,
            },
        );
        let q = h.of("ph", "c").unwrap();
        assert_eq!(q.len(), KEEP);
        assert_eq!(
            q.back().unwrap().at_ms,
            KEEP as u64 + 4,
            "an older sample is dropped"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/volume-usage.json");
        h.save(&p).unwrap();
        assert_eq!(History::load(&p), h);
        std::fs::write(&p, b"{not json").unwrap();
        assert_eq!(
            History::load(&p),
            History::default(),
            "a damaged cache is empty"
        );
        h.forget_older_than(1_000);
        assert!(h.of("ph", "c").is_none());
    }
}
