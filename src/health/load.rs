//! Judging a load run by the vendor CI's thresholds (shared/REFERENCE.md, "Ingestion (capture)
//! API": failed requests under 1 %, p90 latency under 1 s) and by whether every accepted event
//! reached the events API.

use crate::observed::LoadRecord;
use crate::verdict::{Check, Verdict};

/// The vendor CI's ceiling on failed capture requests.
pub const MAX_FAILED_SHARE: f64 = 0.01;
/// The vendor CI's ceiling on the 90th percentile of capture latency.
pub const MAX_P90_MS: u64 = 1_000;

/// The `p`-th percentile (0–100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The load's verdict: what it sent and how it went, then each threshold it broke with the
/// next step.
pub fn check(r: &LoadRecord) -> Check {
    let failed = r.sent - r.accepted;
    let share = if r.sent == 0 {
        1.0
    } else {
        failed as f64 / r.sent as f64
    };
    let p90 = percentile(&r.latencies_ms, 90.0);
    let mut said = format!(
        "{} events from {} users over {} s via {}: {failed} failed ({:.1} %), p90 {}",
        r.sent,
        r.users,
        r.seconds,
        r.via,
        share * 100.0,
        p90.map_or("-".into(), |ms| format!("{ms} ms")),
    );
    match (r.visible, &r.unchecked) {
        (Some(v), _) => said.push_str(&format!(
            ", {v} of {} accepted visible{}",
            r.accepted,
            r.visible_after_ms
                .map(|ms| format!(" {} after the last was sent", seconds(ms)))
                .unwrap_or_default()
        )),
        (None, Some(why)) => said.push_str(&format!("; arrival not checked: {why}")),
        (None, None) => said.push_str("; the events API did not answer"),
    }
    let mut broke = Vec::new();
    let mut fixes = Vec::new();
    if r.sent == 0 {
        broke.push("no event was sent".to_string());
    } else if share >= MAX_FAILED_SHARE {
        broke.push(format!(
            "{:.1} % of capture requests failed, the limit is {:.0} %{}",
            share * 100.0,
            MAX_FAILED_SHARE * 100.0,
            r.first_failure
                .as_deref()
                .map(|f| format!(" (the first: {f})"))
                .unwrap_or_default()
        ));
        fixes.push("look at the events pods and their logs (`helmdeck check --pods`, `l` on a pod in the app)");
    }
    if let Some(p) = p90.filter(|p| *p >= MAX_P90_MS) {
        broke.push(format!(
            "p90 capture latency {p} ms, the limit is {MAX_P90_MS} ms"
        ));
        fixes.push("give capture more room: events.replicacount, events.resources (CPU), or hpa under events");
    }
    match r.visible {
        Some(v) if v < r.accepted => {
            broke.push(format!(
                "{} accepted event(s) not in the events API after {}",
                r.accepted - v,
                seconds(r.waited_ms)
            ));
            fixes.push("events are taken but not ingested: check the plugin server and Kafka (`helmdeck check --ingestion`)");
        }
        None if r.unchecked.is_none() && r.accepted > 0 => {
            broke.push("the events API did not answer".into());
            fixes.push("check web's pods and the personal API key");
        }
        _ => {}
    }
    let verdict = if !broke.is_empty() {
        Verdict::Fail
    } else if r.visible.is_none() {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    if !broke.is_empty() {
        said = format!("{}: {said}", broke.join("; "));
    }
    Check {
        id: "load",
        verdict,
        message: said,
        fix: fixes.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sent: usize, accepted: usize, latency: u64, visible: Option<usize>) -> LoadRecord {
        LoadRecord {
            via: "http://posthog.example.com".into(),
            event: "helmdeck_load_1".into(),
            users: 20,
            seconds: 30,
            sent,
            accepted,
            first_failure: (sent > accepted).then(|| "HTTP 503: overloaded".into()),
            latencies_ms: vec![latency; sent],
            visible,
            visible_after_ms: visible.map(|_| 3_100),
            waited_ms: 3_100,
            unchecked: None,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 90.0), Some(9));
        assert_eq!(percentile(&v, 100.0), Some(10));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 90.0), None);
    }

    #[test]
    fn the_vendor_thresholds_decide() {
        let ok = check(&record(600, 600, 40, Some(600)));
        assert_eq!(ok.verdict, Verdict::Pass, "{}", ok.message);
        assert!(
            ok.message.contains("600 of 600 accepted visible 3.1 s"),
            "{}",
            ok.message
        );
        // 6 of 600 failed is 1 %: not under the limit.
        let failing = check(&record(600, 594, 40, Some(594)));
        assert_eq!(failing.verdict, Verdict::Fail);
        assert!(
            failing.message.contains("1.0 % of capture requests failed"),
            "{}",
            failing.message
        );
        assert!(failing.message.contains("HTTP 503"), "{}", failing.message);
        let five = check(&record(600, 595, 40, Some(595)));
        assert_eq!(five.verdict, Verdict::Pass, "{}", five.message);
        let slow = check(&record(600, 600, 1_000, Some(600)));
        assert_eq!(slow.verdict, Verdict::Fail);
        assert!(slow.fix.contains("events.replicacount"), "{}", slow.fix);
        let lost = check(&record(600, 600, 40, Some(0)));
        assert_eq!(lost.verdict, Verdict::Fail);
        assert!(
            lost.message
                .contains("600 accepted event(s) not in the events API"),
            "{}",
            lost.message
        );
        let mut unchecked = record(600, 600, 40, None);
        unchecked.unchecked = Some("no personal API key".into());
        assert_eq!(check(&unchecked).verdict, Verdict::Warn);
        assert_eq!(check(&record(0, 0, 0, Some(0))).verdict, Verdict::Fail);
    }
}
