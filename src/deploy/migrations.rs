//! The async-migration gate: a stop that exists for async migrations is not left until they
//! have completed. helmdeck reads their state from the app (`GET /api/async_migrations/`, a
//! staff user's personal API key; status 2 is "completed successfully", 3 "errored", 4 "rolled
//! back", 6 "failed at startup" — PostHog's `posthog/api/async_migration.py` and its
//! `MigrationStatus`); without a key, the person confirms each by name.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::{DeployRequest, Event, Outcome, Step, StepState, step};
use crate::cluster::probe;

/// Where a staff user sees them in the app (PostHog's `urls.asyncMigrations`).
pub const APP_PAGE: &str = "/instance/async_migrations";

/// The state of the migrations a gate waits for, from one answer of the API.
#[derive(Debug, Clone, PartialEq)]
pub enum GateState {
    /// Every one completed (their full names).
    Done(Vec<String>),
    /// Some still to go: name and state, in words.
    Waiting(Vec<String>),
    /// One or more cannot complete by waiting: name and state.
    Failed(Vec<String>),
}

/// Judges the API's answer (its paginated `results`, or a bare list) for the migrations
/// numbered in `wanted` (`0004` matches `0004_replicated_schema`).
pub fn judge(body: &Value, wanted: &[String]) -> GateState {
    let list = body
        .get("results")
        .and_then(Value::as_array)
        .or_else(|| body.as_array())
        .cloned()
        .unwrap_or_default();
    let mut done = Vec::new();
    let mut waiting = Vec::new();
    let mut failed = Vec::new();
    for w in wanted {
        let found = list.iter().find(|m| {
            m["name"]
                .as_str()
                .is_some_and(|n| n == w || n.starts_with(&format!("{w}_")))
        });
        let Some(m) = found else {
            waiting.push(format!("{w} (the app does not list it yet)"));
            continue;
        };
        let name = m["name"].as_str().unwrap_or(w).to_string();
        match m["status"].as_u64() {
            Some(2) => done.push(name),
            Some(3) => failed.push(format!("{name} errored")),
            Some(4) => failed.push(format!("{name} was rolled back")),
            Some(6) => failed.push(format!("{name} failed at startup")),
            Some(1) | Some(5) => waiting.push(format!(
                "{name} running ({}%)",
                m["progress"].as_u64().unwrap_or(0)
            )),
            _ => waiting.push(format!("{name} not started")),
        }
    }
    if !failed.is_empty() {
        GateState::Failed(failed)
    } else if waiting.is_empty() {
        GateState::Done(done)
    } else {
        GateState::Waiting(waiting)
    }
}

/// The staff user's personal API key, from the profile's source (its environment variable,
/// else its Secret in the release's namespace); none when there is none.
pub async fn personal_key(req: &DeployRequest) -> Option<String> {
    let settings = probe::settings_for(req.profile.as_ref());
    let client = req.target.connect().await.ok();
    probe::resolve_key(
        settings.personal_api_key.as_ref(),
        client.as_ref(),
        &req.namespace,
    )
    .await
}

/// Where the key would come from, for the message that there is none.
pub fn key_hint(req: &DeployRequest) -> String {
    probe::key_hint(
        probe::settings_for(req.profile.as_ref())
            .personal_api_key
            .as_ref(),
    )
}

/// What a person confirms for each migration when helmdeck cannot read them.
pub fn by_hand(at_version: &str, wanted: &[String]) -> Vec<String> {
    wanted
        .iter()
        .map(|w| {
            format!(
                "{at_version}: async migration {w} has completed (as a staff user in the app: {APP_PAGE}; status \"Completed successfully\")"
            )
        })
        .collect()
}

/// Waits until the migrations have completed, one has failed, or `limit` has passed; the
/// stop's revision stays applied either way, so a failure is "applied, not verified".
pub async fn wait(
    req: &DeployRequest,
    wanted: &[String],
    key: &str,
    revision: u64,
    limit: Duration,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    let names = wanted.join(", ");
    step(
        tx,
        Step::Migrations,
        StepState::Running,
        format!("waiting for {names}"),
    );
    let stopped = |why: String| {
        step(tx, Step::Migrations, StepState::Failed, why.clone());
        Outcome::Unverified {
            revision,
            failed: vec![why],
        }
    };
    let client = match req.target.connect().await {
        Ok(c) => c,
        Err(e) => {
            return stopped(format!(
                "cannot reach the cluster to read the async migrations: {e}"
            ));
        }
    };
    let settings = probe::settings_for(req.profile.as_ref());
    let transport =
        match probe::transport_for(&settings, None, false, client, &req.namespace, &req.release)
            .await
        {
            Ok(t) => t,
            Err(e) => return stopped(format!("cannot reach the app: {e}")),
        };
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    loop {
        let x = transport
            .request(
                probe::Role::Web,
                "GET",
                "/api/async_migrations/",
                None,
                Some(key),
            )
            .await;
        let state = match x.status {
            Some(200) => serde_json::from_slice::<Value>(&x.body)
                .map(|b| judge(&b, wanted))
                .unwrap_or_else(|_| {
                    GateState::Waiting(vec!["the app's answer is not JSON".into()])
                }),
            Some(401 | 403) => {
                return stopped(format!(
                    "the app refused the personal API key (HTTP {}): the key must belong to a staff user; fix it, then run the upgrade again (it resumes at the next stop)",
                    x.status.unwrap_or_default()
                ));
            }
            _ => GateState::Waiting(vec![format!(
                "the app did not answer ({})",
                x.error
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}", x.status.unwrap_or_default()))
            )]),
        };
        match state {
            GateState::Done(done) => {
                step(
                    tx,
                    Step::Migrations,
                    StepState::Done,
                    format!("completed: {}", done.join(", ")),
                );
                return Outcome::Applied {
                    revision,
                    not_verified: Vec::new(),
                };
            }
            GateState::Failed(f) => {
                return stopped(format!(
                    "async migration {}: the upgrade stops here; see {APP_PAGE} in the app (a staff user can resume or roll it back there), then run the upgrade again",
                    f.join("; ")
                ));
            }
            GateState::Waiting(w) => {
                let now = w.join("; ");
                if now != last {
                    step(tx, Step::Migrations, StepState::Running, now.clone());
                    last = now;
                }
            }
        }
        if Instant::now() + Duration::from_secs(1) > deadline {
            return stopped(format!(
                "async migrations not completed within {} s ({last}): follow them at {APP_PAGE} in the app, then run the upgrade again",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wanted(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_wanted_migration_must_have_completed() {
        let body = json!({"count": 3, "results": [
            {"name": "0005_person_replacing_by_version", "status": 2},
            {"name": "0006_persons_and_groups_on_events_backfill", "status": 1, "progress": 40},
            {"name": "0007_persons_and_groups_on_events_backfill", "status": 0},
        ]});
        assert_eq!(
            judge(&body, &wanted(&["0005", "0006", "0007"])),
            GateState::Waiting(vec![
                "0006_persons_and_groups_on_events_backfill running (40%)".into(),
                "0007_persons_and_groups_on_events_backfill not started".into()
            ])
        );
        assert_eq!(
            judge(&body, &wanted(&["0005"])),
            GateState::Done(vec!["0005_person_replacing_by_version".into()])
        );
        // A bare list reads the same; an absent migration is waited for, not passed.
        let bare = json!([{"name": "0004_replicated_schema", "status": 2}]);
        assert!(matches!(
            judge(&bare, &wanted(&["0004"])),
            GateState::Done(_)
        ));
        assert!(matches!(
            judge(&bare, &wanted(&["0005"])),
            GateState::Waiting(_)
        ));
    }

    #[test]
    fn an_errored_or_rolled_back_migration_fails_the_gate_by_name() {
        let body = json!({"results": [
            {"name": "0005_person_replacing_by_version", "status": 2},
            {"name": "0006_persons_and_groups_on_events_backfill", "status": 3},
            {"name": "0007_persons_and_groups_on_events_backfill", "status": 4},
        ]});
        assert_eq!(
            judge(&body, &wanted(&["0005", "0006", "0007"])),
            GateState::Failed(vec![
                "0006_persons_and_groups_on_events_backfill errored".into(),
                "0007_persons_and_groups_on_events_backfill was rolled back".into()
            ])
        );
    }

    #[test]
    fn without_a_key_each_migration_is_confirmed_by_name() {
        let steps = by_hand("29.0.11", &wanted(&["0005", "0006"]));
        assert_eq!(steps.len(), 2);
        assert!(steps[0].starts_with("29.0.11: async migration 0005 has completed"));
        assert!(steps[1].contains(APP_PAGE));
    }
}
