//! Kafka's retention against its disk, judged on the rendered values. The vendor's runbooks
//! name a full Kafka disk as the outage they see most ("No space left on device", the broker
//! crash-loops), and its chart sets retention in bytes next to a claim of a fixed size: a user
//! who shrinks the claim or raises retention is told before anything is applied.
//!
//! The facts it rests on:
//! - `log.retention.bytes` limits each *partition*, not the topic or the broker: "Since this
//!   limit is enforced at the partition level, multiply it by the number of partitions to
//!   compute the topic retention in bytes" (kafka.apache.org/documentation, topic config
//!   `retention.bytes`; -1, Kafka's default, is no size limit).
//! - Retention deletes whole segments, so a partition holds up to one more segment
//!   (`segment.bytes`, default 1 GiB, same page: "Retention and cleaning is always done a file
//!   at a time").
//! - The vendor chart sets `kafka.logRetentionBytes: _15_000_000_000`, `logRetentionHours: 24`,
//!   `numPartitions: 1` and `persistence.size: 20Gi` (posthog 30.46.0 `values.yaml`); its Kafka
//!   subchart passes `logRetentionBytes` and `logSegmentBytes` with `replace "_" ""` to
//!   `KAFKA_CFG_LOG_RETENTION_BYTES` and `KAFKA_CFG_LOG_SEGMENT_BYTES`, and defaults
//!   `logSegmentBytes: _1073741824`, `defaultReplicationFactor: 1`, `replicaCount: 1`
//!   (`charts/kafka`, its `values.yaml` and `templates/statefulset.yaml`).

use serde_json::{Map, Value};

use crate::quantity::{format_bytes, parse_bytes};
use crate::verdict::{Check, Verdict};

/// Kafka's own `log.segment.bytes` default (1 GiB).
const SEGMENT_DEFAULT: f64 = 1_073_741_824.0;

/// What the values say about Kafka's retention and its disk.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaRetention {
    /// `kafka.logRetentionBytes` as written, and in bytes (`None`: no size limit).
    pub retention_raw: String,
    pub retention: Option<f64>,
    pub hours: Option<f64>,
    pub segment: f64,
    /// Partitions of one topic each broker holds (replicas included).
    pub partitions_per_broker: u64,
    pub claim_raw: String,
    pub claim: f64,
}

/// A number the chart's templates read with `replace "_" ""`: `_15_000_000_000`, `"4e9"` is
/// not one (Kafka reads a long).
pub fn underscored_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let digits: String = s.chars().filter(|c| *c != '_').collect();
            digits.trim().parse::<i64>().ok().map(|n| n as f64)
        }
        _ => None,
    }
}

fn count(v: &Value, default: u64) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Reads the retention settings of an enabled, persistent Kafka from rendered values.
pub fn kafka_settings(values: &Map<String, Value>) -> Option<KafkaRetention> {
    let k = values.get("kafka")?;
    if k["enabled"] != true || k["persistence"]["enabled"] == false {
        return None;
    }
    let claim_raw = k["persistence"]["size"].as_str()?.to_string();
    let claim = parse_bytes(&claim_raw)?;
    let retention_raw = match &k["logRetentionBytes"] {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    let retention = underscored_number(&k["logRetentionBytes"]).filter(|b| *b >= 0.0);
    let segment = underscored_number(&k["logSegmentBytes"])
        .filter(|b| *b > 0.0)
        .unwrap_or(SEGMENT_DEFAULT);
    let brokers = count(&k["replicaCount"], 1);
    let copies = count(&k["defaultReplicationFactor"], 1).min(brokers);
    let partitions = count(&k["numPartitions"], 1);
    Some(KafkaRetention {
        retention_raw,
        retention,
        hours: underscored_number(&k["logRetentionHours"]).filter(|h| *h > 0.0),
        segment,
        partitions_per_broker: (partitions * copies).div_ceil(brokers),
        claim_raw,
        claim,
    })
}

/// The size check: one topic at its retention limit against one broker's claim; and, when
/// the broker's write rate is known (bytes per second, from its volume's growth), the hours
/// of retention at that rate.
pub fn kafka(values: &Map<String, Value>, write_rate: Option<f64>) -> Vec<Check> {
    let Some(s) = kafka_settings(values) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(bytes) = s.retention {
        let n = s.partitions_per_broker as f64;
        let need = n * (bytes + s.segment);
        let share = format!(
            "kafka.logRetentionBytes {} per partition × {} partition(s) of a topic on each broker, plus a {} segment each",
            s.retention_raw,
            s.partitions_per_broker,
            format_bytes(s.segment)
        );
        if need > s.claim {
            let fits = (s.claim / n - s.segment).max(0.0);
            out.push(Check {
                id: "kafka-retention",
                verdict: Verdict::Warn,
                message: format!(
                    "one Kafka topic at its retention limit needs {} ({share}), more than the broker's claim kafka.persistence.size {}: the disk fills and the broker crash-loops with \"No space left on device\"",
                    format_bytes(need),
                    s.claim_raw
                ),
                fix: format!(
                    "lower kafka.logRetentionBytes to at most _{} or raise kafka.persistence.size to at least {}",
                    grouped(fits),
                    whole_gib(need)
                ),
            });
        } else {
            out.push(Check {
                id: "kafka-retention",
                verdict: Verdict::Pass,
                message: format!(
                    "one Kafka topic at its retention limit takes {:.0} % of kafka.persistence.size {} ({share}); every other busy topic adds as much",
                    need / s.claim * 100.0,
                    s.claim_raw
                ),
                fix: String::new(),
            });
        }
    }
    if let (Some(rate), Some(hours)) = (write_rate.filter(|r| *r > 0.0), s.hours) {
        let kept = rate * hours * 3600.0;
        if kept > s.claim {
            out.push(Check {
                id: "kafka-retention-hours",
                verdict: Verdict::Warn,
                message: format!(
                    "Kafka writes {}/min; kafka.logRetentionHours {hours} keeps {} at that rate, more than kafka.persistence.size {} (unless the size limit deletes it first)",
                    format_bytes(rate * 60.0),
                    format_bytes(kept),
                    s.claim_raw
                ),
                fix: format!(
                    "lower kafka.logRetentionHours to at most {} or raise kafka.persistence.size to at least {}",
                    (s.claim / rate / 3600.0).floor().max(1.0),
                    whole_gib(kept)
                ),
            });
        }
    }
    out
}

/// A claim size that holds `b` bytes, in whole GiB as claims are asked for.
fn whole_gib(b: f64) -> String {
    format!("{}Gi", (b / 1_073_741_824.0).ceil() as u64)
}

/// `15000000000` as the vendor writes it: `15_000_000_000`.
fn grouped(b: f64) -> String {
    let digits = format!("{}", b.floor() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(kafka: Value) -> Map<String, Value> {
        json!({ "kafka": kafka })
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    fn vendor() -> Value {
        json!({"enabled": true, "logRetentionBytes": "_15_000_000_000", "logRetentionHours": 24,
               "numPartitions": 1, "logSegmentBytes": "_1073741824", "replicaCount": 1,
               "defaultReplicationFactor": 1, "persistence": {"enabled": true, "size": "20Gi"}})
    }

    #[test]
    fn the_vendors_defaults_fit_one_topic_on_the_claim() {
        let c = kafka(&values(vendor()), None);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].verdict, Verdict::Pass, "{c:?}");
        // (15e9 + 1 GiB) / 20 GiB
        assert!(c[0].message.contains("75 %"), "{}", c[0].message);
    }

    #[test]
    fn a_shrunk_claim_warns_with_both_values_and_what_fits() {
        let mut k = vendor();
        k["persistence"]["size"] = json!("10Gi");
        let c = kafka(&values(k), None);
        assert_eq!(c[0].verdict, Verdict::Warn);
        assert!(c[0].message.contains("_15_000_000_000"), "{}", c[0].message);
        assert!(c[0].message.contains("10Gi"), "{}", c[0].message);
        // 10 GiB less one segment
        assert!(c[0].fix.contains("at most _9_663_676_416"), "{}", c[0].fix);
    }

    #[test]
    fn partitions_and_replicas_share_the_brokers() {
        let mut k = vendor();
        k["numPartitions"] = json!(3);
        k["replicaCount"] = json!(3);
        k["defaultReplicationFactor"] = json!(2);
        let s = kafka_settings(&values(k.clone())).unwrap();
        assert_eq!(s.partitions_per_broker, 2);
        assert_eq!(kafka(&values(k), None)[0].verdict, Verdict::Warn);
    }

    #[test]
    fn no_size_limit_is_judged_only_by_the_write_rate() {
        let mut k = vendor();
        k["logRetentionBytes"] = json!("-1");
        assert!(kafka(&values(k.clone()), None).is_empty());
        // 1 MiB/s for 24 h is 84 GiB
        let c = kafka(&values(k), Some(1_048_576.0));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].id, "kafka-retention-hours");
        assert!(c[0].fix.contains("at most 5"), "{}", c[0].fix);
    }

    #[test]
    fn a_disabled_or_ephemeral_kafka_is_not_judged() {
        let mut k = vendor();
        k["enabled"] = json!(false);
        assert!(kafka(&values(k), None).is_empty());
        let mut k = vendor();
        k["persistence"]["enabled"] = json!(false);
        assert!(kafka(&values(k), None).is_empty());
    }

    #[test]
    fn numbers_read_as_the_chart_reads_them() {
        assert_eq!(underscored_number(&json!("_4_000_000_000")), Some(4e9));
        assert_eq!(underscored_number(&json!(1073741824)), Some(1073741824.0));
        assert_eq!(underscored_number(&json!("4e9")), None);
        assert_eq!(grouped(15e9), "15_000_000_000");
    }
}
