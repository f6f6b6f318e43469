//! PostHog's async migrations as one instance (a namespace) tracks them, answered by its web
//! pods at `GET /api/async_migrations/` (PostHog's `posthog/api/async_migration.py`: staff
//! users only; status 0 not started, 1 running, 2 completed successfully, 3 errored).
//!
//! A migration runs on the apps from the version it is pinned to up to that minor's `.99`
//! (the convention of the migrations' `posthog_max_version`, e.g. 0006's "1.41.99"); the pins
//! are those of shared/UPGRADE-NOTES.md (0001–0003: app 1.33, 0004: 1.36.1, 0005–0007: 1.41.4).
//! A fresh install has no data to migrate, so the migrations of its app and older are complete
//! from the start; later ones start when the running app reaches their range, and complete
//! after a simulated duration. An app that jumps past a range leaves that migration not
//! started, as the real app refuses to run it there.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The migrations, by name (PostHog's `posthog/async_migrations/migrations/`), with the app
/// version each is pinned to.
pub const MIGRATIONS: [(&str, &str); 7] = [
    ("0001_events_sample_by", "1.33.0"),
    ("0002_events_sample_by", "1.33.0"),
    ("0003_fill_person_distinct_id2", "1.33.0"),
    ("0004_replicated_schema", "1.36.1"),
    ("0005_person_replacing_by_version", "1.41.4"),
    ("0006_persons_and_groups_on_events_backfill", "1.41.4"),
    ("0007_persons_and_groups_on_events_backfill", "1.41.4"),
];

/// How long a migration runs before it completes (scaled by the cluster's time factor).
pub const DURATION: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    NotStarted,
    Running(Instant),
    Completed,
    Errored,
}

impl Status {
    fn code(self) -> u8 {
        match self {
            Status::NotStarted => 0,
            Status::Running(_) => 1,
            Status::Completed => 2,
            Status::Errored => 3,
        }
    }
}

/// Every instance's migrations, by namespace.
#[derive(Default)]
pub struct Instances {
    by_namespace: Mutex<HashMap<String, Vec<Status>>>,
}

/// An app version as three numbers (`release-1.41.4`, `1.43.0`); none for `latest` and the
/// like.
pub fn app_version(tag: &str) -> Option<(u64, u64, u64)> {
    let v = tag.strip_prefix("release-").unwrap_or(tag);
    let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

/// The app a pod runs, from its first container's image tag.
pub fn app_of_pod(pod: &Value) -> Option<(u64, u64, u64)> {
    let image = pod["spec"]["containers"][0]["image"].as_str()?;
    let last = image.rsplit('/').next()?;
    app_version(last.split_once(':')?.1)
}

/// A fresh install's migrations: those of its app and older have nothing to migrate.
fn fresh(app: Option<(u64, u64, u64)>) -> Vec<Status> {
    MIGRATIONS
        .iter()
        .map(|(_, pin)| match (app, app_version(pin)) {
            (Some(a), Some(p)) if a >= p => Status::Completed,
            _ => Status::NotStarted,
        })
        .collect()
}

impl Instances {
    /// A web pod of `namespace` started running `app`: the first one installs the instance.
    pub fn observe(&self, namespace: &str, app: (u64, u64, u64)) {
        let mut all = self.by_namespace.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(namespace.to_string())
            .or_insert_with(|| fresh(Some(app)));
    }

    /// The migrations of `namespace`'s instance, brought up to `now` for the app it runs
    /// (none when no web pod runs a known version: nothing moves), as the API lists them.
    /// `failing` names a migration that errors when it runs.
    pub fn list(
        &self,
        namespace: &str,
        app: Option<(u64, u64, u64)>,
        failing: Option<&str>,
        duration: Duration,
    ) -> Value {
        let now = Instant::now();
        let mut all = self.by_namespace.lock().unwrap_or_else(|e| e.into_inner());
        let states = all
            .entry(namespace.to_string())
            .or_insert_with(|| fresh(app));
        for ((name, pin), s) in MIGRATIONS.iter().zip(states.iter_mut()) {
            let Some(p) = app_version(pin) else { continue };
            let in_range = app.is_some_and(|a| a >= p && (a.0, a.1) == (p.0, p.1));
            *s = match *s {
                Status::NotStarted if in_range => Status::Running(now),
                Status::Running(at) if now.duration_since(at) >= duration => {
                    if failing.is_some_and(|f| name.starts_with(f)) {
                        Status::Errored
                    } else {
                        Status::Completed
                    }
                }
                other => other,
            };
        }
        let results: Vec<Value> = MIGRATIONS
            .iter()
            .zip(states.iter())
            .enumerate()
            .map(|(i, ((name, pin), s))| {
                let p = app_version(pin).unwrap_or_default();
                json!({
                    "id": i + 1,
                    "name": name,
                    "description": "",
                    "progress": if *s == Status::Completed { 100 } else { 0 },
                    "status": s.code(),
                    "current_operation_index": 0,
                    "current_query_id": "",
                    "celery_task_id": "",
                    "started_at": null,
                    "finished_at": null,
                    "posthog_min_version": pin,
                    "posthog_max_version": format!("{}.{}.99", p.0, p.1),
                })
            })
            .collect();
        json!({"count": results.len(), "next": null, "previous": null, "results": results})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(v: &Value) -> Vec<u64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["status"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn a_fresh_install_has_its_apps_migrations_done_and_later_ones_run_on_their_app() {
        let i = Instances::default();
        let d = Duration::ZERO;
        assert_eq!(
            statuses(&i.list("ph", app_version("release-1.35.0"), None, d)),
            [2, 2, 2, 0, 0, 0, 0]
        );
        // Installed on 1.35.0 and first asked on 1.37.1, past 0004's range: it never starts.
        let skipped = Instances::default();
        skipped.observe("ph", (1, 35, 0));
        assert_eq!(
            statuses(&skipped.list("ph", app_version("1.37.1"), None, d)),
            [2, 2, 2, 0, 0, 0, 0]
        );
        // On 1.36.1 it starts, then completes once its time is up.
        assert_eq!(
            statuses(&i.list("ph", app_version("release-1.36.1"), None, d))[3],
            1
        );
        assert_eq!(
            statuses(&i.list("ph", app_version("release-1.36.1"), None, d))[3],
            2
        );
        // A failing one errors instead.
        i.list("ph", app_version("release-1.41.4"), Some("0006"), d);
        assert_eq!(
            statuses(&i.list("ph", app_version("release-1.41.4"), Some("0006"), d)),
            [2, 2, 2, 2, 2, 3, 2]
        );
    }

    #[test]
    fn app_versions_come_from_release_tags_and_plain_ones() {
        assert_eq!(app_version("release-1.36.1"), Some((1, 36, 1)));
        assert_eq!(app_version("1.43.0"), Some((1, 43, 0)));
        assert_eq!(app_version("latest"), None);
        let pod = json!({"spec": {"containers": [{"image": "docker.io/posthog/posthog:release-1.41.4"}]}});
        assert_eq!(app_of_pod(&pod), Some((1, 41, 4)));
    }
}
