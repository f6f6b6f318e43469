//! Judging ingestion probe results: accepted is not ingested, so an event counts only once
//! the events API shows it.

use crate::observed::ProbeRecord;
use crate::verdict::{Check, Verdict};

fn check(id: &'static str, verdict: Verdict, message: String, fix: &str) -> Check {
    Check {
        id,
        verdict,
        message,
        fix: fix.to_string(),
    }
}

/// The ingestion verdict of one probe round.
pub fn ingestion_check(r: &ProbeRecord) -> Check {
    if let Some(why) = &r.skipped {
        return check(
            "ingestion",
            Verdict::Warn,
            format!("not probed: {why}"),
            "export HELMDECK_PROJECT_API_KEY=phc_… (and HELMDECK_PERSONAL_API_KEY) and run again",
        );
    }
    match (r.capture.status, &r.capture.error) {
        (None, Some(e)) => {
            return check(
                "ingestion",
                Verdict::Fail,
                format!("ingestion down: capture unreachable via {}: {e}", r.via),
                "check the events pods and the Ingress / load balancer in front of them",
            );
        }
        (Some(s), _) if !(200..300).contains(&s) => {
            let detail = serde_json::from_slice::<serde_json::Value>(&r.capture.body)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let fix = match s {
                401 => {
                    "the project API key is wrong: check HELMDECK_PROJECT_API_KEY or the probe Secret"
                }
                400 => {
                    "capture refused the probe's event as a bad request: the detail says which field; report it with the app version"
                }
                // Nothing routes /e/ here: an ingress serves only the hosts its rules name.
                404 => {
                    "nothing answers /e/ at this address: through a public URL, give the stack's own host (the Ingress's ingress.hostname) as --public-url; without it, the events Service is missing (helmdeck check --pods)"
                }
                _ => {
                    "capture is failing: look at the events pods (helmdeck check --pods) and their logs"
                }
            };
            return check(
                "ingestion",
                Verdict::Fail,
                format!("ingestion down: capture answered {s}{detail}"),
                fix,
            );
        }
        _ => {}
    }
    if let Some(why) = &r.arrival_unchecked {
        return check(
            "ingestion",
            Verdict::Warn,
            format!(
                "not verified: capture accepted event {} ({} ms), but whether it arrived was not looked for ({why})",
                r.event, r.capture.latency_ms
            ),
            "give a personal API key the same way as the project key, so the events API can show the event",
        );
    }
    match r.visible_after_ms {
        Some(ms) => check(
            "ingestion",
            Verdict::Pass,
            format!(
                "event {} captured in {} ms and visible after {} ms",
                r.event, r.capture.latency_ms, ms
            ),
            "",
        ),
        None => {
            let last = r
                .last_query
                .as_ref()
                .map(|q| match (q.status, &q.error) {
                    (Some(s), _) => format!("; the events API answered {s}"),
                    (None, Some(e)) => format!("; the events API failed: {e}"),
                    _ => String::new(),
                })
                .unwrap_or_default();
            check(
                "ingestion",
                Verdict::Fail,
                format!(
                    "ingestion stalled: capture accepted event {} ({} ms) but it was not visible after {} s ({} queries{last})",
                    r.event,
                    r.capture.latency_ms,
                    r.waited_ms / 1000,
                    r.polls
                ),
                "events are accepted but not processed: check Kafka, the plugins server and ClickHouse (their pods and logs); a new person's first events wait in the plugin server up to BUFFER_CONVERSION_SECONDS (60 s by default) before they show",
            )
        }
    }
}

/// One check per health endpoint.
pub fn endpoint_checks(r: &ProbeRecord) -> Vec<Check> {
    r.endpoints
        .iter()
        .map(|e| {
            if let Some(why) = &e.not_checked {
                return check(
                    "health-endpoint",
                    Verdict::Warn,
                    format!("{}: not checked — {why}", e.path),
                    "",
                );
            }
            let ok = e.exchange.status.is_some_and(|s| (200..300).contains(&s));
            let what = match (e.exchange.status, &e.exchange.error) {
                (Some(s), _) => s.to_string(),
                (None, Some(err)) => err.clone(),
                _ => "no answer".into(),
            };
            let failing = if e.failing_checks.is_empty() {
                String::new()
            } else {
                format!(" (failing: {})", e.failing_checks.join(", "))
            };
            check(
                "health-endpoint",
                if ok { Verdict::Pass } else { Verdict::Fail },
                format!(
                    "{} → {what}{failing} in {} ms",
                    e.path, e.exchange.latency_ms
                ),
                match e.exchange.status {
                    _ if ok => "",
                    Some(404) => {
                        "no route to the app at this address (404): a public URL must carry the stack's own host (ingress.hostname), as the Ingress routes by host"
                    }
                    _ if !e.failing_checks.is_empty() => {
                        "a dependency of the service is down: the failing checks name it"
                    }
                    _ => "the service is not answering as it should: look at its pods and logs (helmdeck check --pods)",
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::{EndpointRecord, Exchange};

    fn ex(status: Option<u16>, body: &str) -> Exchange {
        Exchange {
            status,
            latency_ms: 5,
            error: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn rec() -> ProbeRecord {
        ProbeRecord {
            at: std::time::SystemTime::now(),
            via: "proxy".into(),
            event: "e1".into(),
            capture: ex(Some(200), r#"{"status":1}"#),
            visible_after_ms: Some(40),
            waited_ms: 40,
            polls: 2,
            last_query: None,
            endpoints: vec![EndpointRecord {
                path: "/_readyz?role=web".into(),
                exchange: ex(Some(503), ""),
                failing_checks: vec!["postgres".into()],
                not_checked: None,
            }],
            skipped: None,
            arrival_unchecked: None,
        }
    }

    /// An endpoint the transport cannot reach is a warning that says why, never a pass on
    /// another component's answer.
    #[test]
    fn an_endpoint_not_reachable_this_way_is_not_checked() {
        let mut r = rec();
        r.endpoints[0].not_checked = Some("through the public URL this path reaches web".into());
        let c = &endpoint_checks(&r)[0];
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.message.contains("not checked"), "{}", c.message);
    }

    #[test]
    fn verdicts() {
        let mut r = rec();
        assert_eq!(ingestion_check(&r).verdict, Verdict::Pass);
        r.visible_after_ms = None;
        let c = ingestion_check(&r);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.message.starts_with("ingestion stalled"), "{}", c.message);
        r.capture = ex(Some(503), r#"{"detail":"capture is unavailable"}"#);
        let c = ingestion_check(&r);
        assert_eq!(
            c.message,
            "ingestion down: capture answered 503: capture is unavailable"
        );
        let e = endpoint_checks(&r);
        assert_eq!(e[0].verdict, Verdict::Fail);
        assert!(e[0].message.contains("failing: postgres"));
        assert!(e[0].fix.contains("failing checks name it"));
        // A 404 is a route that does not reach the app, not a dependency down.
        r.capture = ex(Some(404), "");
        assert!(ingestion_check(&r).fix.contains("--public-url"));
        r.endpoints[0].exchange = ex(Some(404), "");
        r.endpoints[0].failing_checks.clear();
        let e = endpoint_checks(&r);
        assert!(e[0].fix.starts_with("no route to the app"), "{}", e[0].fix);
        r.endpoints[0].exchange = ex(Some(500), "");
        assert!(endpoint_checks(&r)[0].fix.contains("helmdeck check --pods"));
    }
}
