//! The vendor CI's load test, run from here: virtual users each post uniquely marked events
//! to capture (`/e/`) for a while, each waiting for its answer and then pausing, as a k6
//! script's iterations do; then the events API is asked until every accepted event shows up
//! or the deadline passes. Judging is `health::load`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::probe::{Role, Transport};
pub use crate::observed::LoadRecord;

/// How hard and how long to load capture.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub users: usize,
    pub duration: Duration,
    /// Between a user's answer and its next event (k6 scripts' customary `sleep(1)`).
    pub pause: Duration,
    /// How long accepted events may take to show up in the events API.
    pub visible_within: Duration,
    pub poll_every: Duration,
}

/// One user's share: its answers' latencies, accepted count and first failure.
#[derive(Default)]
struct UserTally {
    latencies_ms: Vec<u64>,
    accepted: usize,
    first_failure: Option<String>,
}

async fn user(
    t: Arc<Transport>,
    project: String,
    event: String,
    vu: usize,
    until: Instant,
    pause: Duration,
) -> UserTally {
    let mut tally = UserTally::default();
    let mut n = 0u64;
    while Instant::now() < until {
        let body = json!({
            "api_key": project,
            "event": event,
            "distinct_id": format!("helmdeck-load-{vu}"),
            "properties": {"$lib": "helmdeck", "vu": vu, "n": n},
            "timestamp": crate::time::now_rfc3339(),
        });
        let x = t
            .request(
                Role::Events,
                "POST",
                "/e/",
                Some(serde_json::to_vec(&body).unwrap_or_default()),
                None,
            )
            .await;
        tally.latencies_ms.push(x.latency_ms);
        match x.status {
            Some(s) if (200..300).contains(&s) => tally.accepted += 1,
            _ if tally.first_failure.is_none() => {
                tally.first_failure = Some(match (x.status, x.error) {
                    (Some(s), _) => format!(
                        "HTTP {s}: {}",
                        String::from_utf8_lossy(&x.body)
                            .chars()
                            .take(160)
                            .collect::<String>()
                    ),
                    (None, Some(e)) => e,
                    (None, None) => "no answer".into(),
                })
            }
            _ => {}
        }
        n += 1;
        // The pause ends early rather than past the run's end.
        let rest = until.saturating_duration_since(Instant::now()).min(pause);
        tokio::time::sleep(rest).await;
    }
    tally
}

/// Counts this run's events the events API shows: each (user, number) once, every page.
async fn count_visible(t: &Transport, event: &str, personal: &str) -> Option<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut path = format!("/api/projects/@current/events/?event={event}");
    for _ in 0..10_000 {
        let q = t
            .request(Role::Web, "GET", &path, None, Some(personal))
            .await;
        if q.status != Some(200) {
            return None;
        }
        let v: Value = serde_json::from_slice(&q.body).ok()?;
        for e in v["results"].as_array().into_iter().flatten() {
            if e["event"] == event {
                seen.insert(format!(
                    "{}/{}",
                    e["properties"]["vu"], e["properties"]["n"]
                ));
            }
        }
        // `next` is a full URL: follow its path and query on the same transport.
        match v["next"].as_str().and_then(path_of) {
            Some(next) => path = next,
            None => break,
        }
    }
    Some(seen.len())
}

/// The path and query of a URL (`https://h/api/x?a=1` → `/api/x?a=1`).
fn path_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map(|i| rest[i..].to_string())
}

/// Runs the load and then waits for its events.
pub async fn run(
    t: Arc<Transport>,
    project: &str,
    personal: Option<&str>,
    plan: &LoadPlan,
) -> LoadRecord {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let event = format!("helmdeck_load_{nanos:x}");
    let until = Instant::now() + plan.duration;
    let users: Vec<_> = (0..plan.users)
        .map(|vu| {
            tokio::spawn(user(
                t.clone(),
                project.to_string(),
                event.clone(),
                vu,
                until,
                plan.pause,
            ))
        })
        .collect();
    let mut rec = LoadRecord {
        via: t.describe(),
        event: event.clone(),
        users: plan.users,
        seconds: plan.duration.as_secs(),
        ..LoadRecord::default()
    };
    for u in users {
        let Ok(tally) = u.await else { continue };
        rec.sent += tally.latencies_ms.len();
        rec.accepted += tally.accepted;
        rec.latencies_ms.extend(tally.latencies_ms);
        if rec.first_failure.is_none() {
            rec.first_failure = tally.first_failure;
        }
    }
    rec.latencies_ms.sort_unstable();
    let Some(personal) = personal else {
        rec.unchecked = Some("no personal API key to ask the events API with".into());
        return rec;
    };
    let sent_all = Instant::now();
    let deadline = sent_all + plan.visible_within;
    loop {
        let visible = count_visible(&t, &event, personal).await;
        rec.visible = visible.or(rec.visible);
        if visible.is_some_and(|v| v >= rec.accepted) {
            rec.visible_after_ms = Some(sent_all.elapsed().as_millis() as u64);
            break;
        }
        if !super::probe::wait_before_asking_again(deadline, plan.poll_every).await {
            break;
        }
    }
    rec.waited_ms = sent_all.elapsed().as_millis() as u64;
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_link_is_followed_on_the_same_transport() {
        assert_eq!(
            path_of("https://posthog.example.com/api/projects/1/events/?after=x").as_deref(),
            Some("/api/projects/1/events/?after=x")
        );
        assert_eq!(path_of("/api/x?a=1").as_deref(), Some("/api/x?a=1"));
        assert_eq!(path_of("https://h"), None);
    }
}
