//! The way from a release's chart version to a chosen one: the stops the chart's notes require
//! (async-migration pins), each stop's Kubernetes range against the cluster, and the notes
//! crossed on each leg. Pure: the repository listing and the cluster version come in.

use serde::Serialize;

use super::repo::{Listing, compare};
use super::upgrade_notes::{Note, NoteBook};

/// One chart version the upgrade lands on (the last is the target).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stop {
    pub version: String,
    pub app_version: String,
    pub kube_version: String,
    /// Whether the chart declares it runs on the cluster's Kubernetes (none: not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_on_cluster: Option<bool>,
    /// Why the upgrade must stop here first (none for the target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The app version this stop must run, whatever the chart's default (an async
    /// migration's pin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_app: Option<String>,
    /// The async migrations that must complete here before the upgrade goes on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<String>,
    /// The chart's notes for the versions this leg crosses, oldest first.
    pub notes: Vec<Note>,
}

/// The whole way, and what stands in it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UpgradePath {
    pub chart: String,
    pub from: String,
    pub from_app: String,
    pub to: String,
    pub stops: Vec<Stop>,
    /// Reasons the path cannot be taken as it is; empty when it can.
    pub blockers: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub end_of_support: String,
    /// A stop the user chose to skip, and why: its notes move to the next stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
}

/// A stop left out at the user's request (`--skip-stop VERSION --reason TEXT`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Skipped {
    pub version: String,
    pub reason: String,
    /// Why the notes wanted the stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The stop (by index) that goes in its place, crossing its notes too.
    pub instead: usize,
}

/// Why a stop cannot be skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipError {
    #[error(
        "--skip-stop {version}: not a stop on the way from {from} to {to} (the stops: {stops})"
    )]
    NotAStop {
        version: String,
        from: String,
        to: String,
        stops: String,
    },
    #[error("--skip-stop {0}: that is where the upgrade goes; give another --version instead")]
    Target(String),
}

impl UpgradePath {
    /// Leaves out the stop at `version` (not the last): the next stop crosses its notes too,
    /// so their manual steps are still asked for.
    pub fn skip(&mut self, version: &str, reason: &str) -> Result<(), SkipError> {
        let Some(i) = self.stops.iter().position(|s| s.version == version) else {
            return Err(SkipError::NotAStop {
                version: version.to_string(),
                from: self.from.clone(),
                to: self.to.clone(),
                stops: self
                    .stops
                    .iter()
                    .map(|s| s.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if i + 1 == self.stops.len() {
            return Err(SkipError::Target(version.to_string()));
        }
        let gone = self.stops.remove(i);
        let mut notes = gone.notes;
        notes.append(&mut self.stops[i].notes);
        self.stops[i].notes = notes;
        self.skipped = Some(Skipped {
            version: gone.version,
            reason: reason.to_string(),
            why: gone.why,
            instead: i,
        });
        Ok(())
    }
}

/// Plans the way from `from` (running `from_app`) to `to` on a cluster of `server` version.
pub fn plan(
    book: Option<&NoteBook>,
    listing: &Listing,
    from: &str,
    from_app: &str,
    to: &str,
    server: Option<&str>,
) -> UpgradePath {
    let mut blockers = Vec::new();
    match compare(to, from) {
        std::cmp::Ordering::Less => blockers.push(format!(
            "chart {to} is older than the release's {from}: helm cannot downgrade a chart safely; use `helmdeck rollback` to return to an earlier revision"
        )),
        _ if super::constraint::Version::parse(to).is_none() => {
            blockers.push(format!("{to:?} is not a chart version (give one such as 30.46.0)"))
        }
        _ => {}
    }
    let mut legs: Vec<Leg> = Vec::new();
    if blockers.is_empty() {
        if let Some(book) = book {
            let mut prev = from.to_string();
            for (note, req) in book.stops(from, from_app, to) {
                let why = format!("chart {} needs it first when {}", note.version, req.when);
                let leg = stand_in(listing, &prev, req, server).unwrap_or(Leg {
                    version: req.version.clone(),
                    why: None,
                    pin_app: req.pin.clone(),
                    gate: Vec::new(),
                });
                prev = leg.version.clone();
                legs.push(Leg {
                    why: Some(leg.why.map_or(why.clone(), |w| format!("{why}; {w}"))),
                    gate: req.migrations.clone(),
                    ..leg
                });
            }
        }
        legs.push(Leg {
            version: to.to_string(),
            why: None,
            pin_app: None,
            gate: Vec::new(),
        });
    }
    let mut stops = Vec::new();
    let mut prev = from.to_string();
    for Leg {
        version,
        why,
        pin_app,
        gate,
    } in legs
    {
        let listed = listing.get(&version);
        if listed.is_none() {
            blockers.push(format!(
                "chart {version}{} is not in the repository {}: {}",
                if why.is_some() {
                    ", a required stop,"
                } else {
                    ""
                },
                listing.repo,
                if why.is_some() {
                    "serve it there (or upgrade to it by hand) before going further"
                } else {
                    "pick a version `helmdeck versions` lists"
                }
            ));
        }
        let kube_version = listed.map(|v| v.kube_version.clone()).unwrap_or_default();
        let runs = match (listed, server) {
            (Some(v), Some(s)) => Some(v.runs_on(s)),
            _ => None,
        };
        if runs == Some(false) {
            blockers.push(format!(
                "chart {version} supports Kubernetes {kube_version}; the cluster runs {}: upgrade the cluster or pick another version",
                server.unwrap_or_default()
            ));
        }
        let notes = book
            .map(|b| b.crossed(&prev, &version).into_iter().cloned().collect())
            .unwrap_or_default();
        stops.push(Stop {
            app_version: listed.map(|v| v.app_version.clone()).unwrap_or_default(),
            kube_version,
            runs_on_cluster: runs,
            why,
            pin_app,
            gate,
            notes,
            version: version.clone(),
        });
        prev = version;
    }
    UpgradePath {
        chart: listing.chart.clone(),
        from: from.to_string(),
        from_app: from_app.to_string(),
        to: to.to_string(),
        stops,
        blockers,
        end_of_support: book.map(|b| b.end_of_support.clone()).unwrap_or_default(),
        skipped: None,
    }
}

/// A chart version to stop at, before it is looked up.
struct Leg {
    version: String,
    why: Option<String>,
    pin_app: Option<String>,
    gate: Vec<String>,
}

/// When the repository lacks the version a note requires but serves an older one, above
/// `prev`, whose own app is the one the note pins (and that runs on the cluster), that
/// version is the stop: it runs the pinned app by default. None: keep the note's version.
fn stand_in(
    listing: &Listing,
    prev: &str,
    req: &super::upgrade_notes::Requires,
    server: Option<&str>,
) -> Option<Leg> {
    let pin = req.pin.as_deref()?;
    if listing.get(&req.version).is_some() {
        return None;
    }
    let v = listing
        .versions
        .iter()
        .filter(|v| {
            v.app_version == pin
                && compare(prev, &v.version).is_lt()
                && compare(&v.version, &req.version).is_lt()
                && server.is_none_or(|s| v.runs_on(s))
        })
        .max_by(|a, b| compare(&a.version, &b.version))?;
    Some(Leg {
        version: v.version.clone(),
        why: Some(format!(
            "chart {} is not in the repository; chart {} runs app {pin} by default",
            req.version, v.version
        )),
        pin_app: Some(pin.to_string()),
        gate: Vec::new(),
    })
}

impl UpgradePath {
    /// The steps of stop `i`'s notes a person does by hand (CRDs applied before the upgrade,
    /// application prerequisites, manual steps), each tagged with its chart version: what
    /// must be acknowledged before that stop is planned.
    pub fn manual_steps(&self, i: usize) -> Vec<String> {
        let mut out = Vec::new();
        for n in self
            .stops
            .get(i)
            .map(|s| s.notes.as_slice())
            .unwrap_or_default()
        {
            if let Some(c) = &n.crds {
                out.push(format!(
                    "{}: the {} CRDs (operator {}) are applied before the upgrade",
                    n.version, c.component, c.version
                ));
            }
            for m in n.app.iter().chain(&n.manual) {
                out.push(format!("{}: {m}", n.version));
            }
        }
        out
    }

    /// The plan as a person reads it.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "upgrade path, chart {} {} (app {}) → {}: {} stop(s)",
            self.chart,
            self.from,
            if self.from_app.is_empty() {
                "?"
            } else {
                &self.from_app
            },
            self.to,
            self.stops.len()
        )];
        for (i, s) in self.stops.iter().enumerate() {
            let k8s = match s.runs_on_cluster {
                Some(true) => "runs on this cluster",
                Some(false) => "NOT for this cluster's Kubernetes",
                None => "Kubernetes range not checked",
            };
            out.push(format!(
                "  {}. chart {} (app {}, Kubernetes {}: {k8s})",
                i + 1,
                s.version,
                if s.app_version.is_empty() {
                    "?"
                } else {
                    &s.app_version
                },
                if s.kube_version.is_empty() {
                    "any"
                } else {
                    &s.kube_version
                },
            ));
            if let Some(w) = &s.why {
                out.push(format!("     stop: {w}"));
            }
            if let Some(app) = s.pin_app.as_ref().filter(|a| **a != s.app_version) {
                out.push(format!(
                    "     runs app {app} (pinned: the chart's default is {})",
                    s.app_version
                ));
            }
            if !s.gate.is_empty() {
                out.push(format!(
                    "     waits here until async migration(s) {} have completed",
                    s.gate.join(", ")
                ));
            }
            let prev = if i == 0 {
                &self.from
            } else {
                &self.stops[i - 1].version
            };
            if !s.notes.is_empty() {
                out.extend(
                    super::upgrade_notes::lines(prev, &s.version, &s.notes, &[], &[])
                        .into_iter()
                        .map(|l| format!("     {l}")),
                );
            }
        }
        if let Some(k) = &self.skipped {
            out.push(format!(
                "  skipped at your request: chart {} ({}){}",
                k.version,
                k.reason,
                k.why
                    .as_ref()
                    .map(|w| format!("; the notes wanted it: {w}"))
                    .unwrap_or_default()
            ));
        }
        for b in &self.blockers {
            out.push(format!("  blocked: {b}"));
        }
        if !self.end_of_support.is_empty() {
            out.push(format!("  note: {}", self.end_of_support));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::repo::ChartVersion;

    fn listing(versions: &[(&str, &str, &str)]) -> Listing {
        Listing {
            repo: "http://127.0.0.1/charts".into(),
            chart: "posthog".into(),
            versions: versions
                .iter()
                .map(|(v, app, kube)| ChartVersion {
                    version: v.to_string(),
                    app_version: app.to_string(),
                    kube_version: kube.to_string(),
                    created: String::new(),
                    deprecated: false,
                })
                .collect(),
            stale: None,
        }
    }

    /// The versions in shared/charts/posthog, with the ranges their Chart.yaml declare.
    fn shared() -> Listing {
        listing(&[
            ("30.46.0", "1.43.0", ">= 1.24-0"),
            ("30.0.0", "1.42.0", ">= 1.23-0 <= 1.25-0"),
            ("29.0.11", "1.41.4", ">= 1.23-0 <= 1.25-0"),
            ("28.0.0", "1.40.1", ">= 1.23-0 <= 1.25-0"),
            ("25.0.0", "1.37.1", ">= 1.22-0 <= 1.24-0"),
            ("20.0.0", "1.35.0", ">= 1.20-0 <= 1.23-0"),
        ])
    }

    fn book() -> NoteBook {
        crate::chart::upgrade_notes::for_chart("posthog").expect("notes")
    }

    #[test]
    fn from_25_to_30_46_stops_at_the_async_migration_pin() {
        let p = plan(
            Some(&book()),
            &shared(),
            "25.0.0",
            "1.37.1",
            "30.46.0",
            Some("1.24.17"),
        );
        assert!(p.blockers.is_empty(), "{:?}", p.blockers);
        let v: Vec<&str> = p.stops.iter().map(|s| s.version.as_str()).collect();
        assert_eq!(v, ["29.0.11", "30.46.0"]);
        assert!(
            p.stops[0]
                .why
                .as_deref()
                .unwrap_or("")
                .contains("0005 to 0007")
        );
        // Each leg carries the notes it crosses: 26..29 on the first, 30 and 30.46's Kubernetes
        // range on the second.
        let notes = |i: usize| -> Vec<String> {
            p.stops[i].notes.iter().map(|n| n.version.clone()).collect()
        };
        assert_eq!(notes(0), ["26.0.0", "27.0.0", "27.1.0", "28.0.0", "29.0.0"]);
        assert_eq!(notes(1), ["30.0.0", "30.46.0"]);
        assert!(p.stops.iter().all(|s| s.runs_on_cluster == Some(true)));
        let text = p.lines().join("\n");
        assert!(text.contains("1. chart 29.0.11 (app 1.41.4"), "{text}");
    }

    #[test]
    fn a_stop_missing_from_the_repository_or_the_cluster_range_blocks() {
        let p = plan(
            Some(&book()),
            &shared(),
            "20.0.0",
            "1.35.0",
            "30.46.0",
            Some("1.24.0"),
        );
        assert!(
            p.blockers
                .iter()
                .any(|b| b.contains("chart 26.0.0, a required stop, is not in the repository")),
            "{:?}",
            p.blockers
        );
        let p = plan(
            Some(&book()),
            &shared(),
            "25.0.0",
            "1.37.1",
            "30.46.0",
            Some("1.26.3"),
        );
        assert!(
            p.blockers
                .iter()
                .any(|b| b.contains("chart 29.0.11 supports Kubernetes >= 1.23-0 <= 1.25-0")),
            "{:?}",
            p.blockers
        );
    }

    #[test]
    fn downgrades_and_unknown_targets_are_refused() {
        let p = plan(Some(&book()), &shared(), "30.0.0", "1.42.0", "25.0.0", None);
        assert!(
            p.blockers[0].contains("helmdeck rollback"),
            "{:?}",
            p.blockers
        );
        let p = plan(Some(&book()), &shared(), "25.0.0", "1.37.1", "31.0.0", None);
        assert!(
            p.blockers[0].contains("`helmdeck versions`"),
            "{:?}",
            p.blockers
        );
        // The same version: one stop, a values-only upgrade.
        let p = plan(Some(&book()), &shared(), "25.0.0", "1.37.1", "25.0.0", None);
        assert!(p.blockers.is_empty() && p.stops.len() == 1);
    }
}
