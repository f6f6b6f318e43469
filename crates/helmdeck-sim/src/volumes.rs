//! How full each volume is, as the kubelet measures it, and the node summary that reports it:
//! `GET /api/v1/nodes/NODE/proxy/stats/summary`, the kubelet's Summary API reached through
//! the API server's node proxy. Its shape is the kubelet's (kubernetes/kubelet
//! `pkg/apis/stats/v1alpha1/types.go`): `Summary{node, pods}`; a pod's `podRef`, `startTime`,
//! `containers` and `volume`, each volume a `VolumeStats` — `FsStats` inline (`time`,
//! `availableBytes`, `capacityBytes`, `usedBytes`; the inode counts are optional and left
//! out), its pod volume `name` and, for a claim, `pvcRef{name, namespace}`. The kubelet
//! reports the volumes of the pods it runs, so a pod that is not running reports none.
//!
//! What a volume holds is the model's, not a measurement of PostHog: the bytes of the events
//! captured in its namespace go to Kafka (shared among the namespace's brokers) and a quarter
//! of them to ClickHouse (its columns compressed); the `disk-filling:ROLE:MB_PER_MIN` scenario
//! writes at its rate of the simulated clock from the volume's first mount. A volume holds at
//! most its capacity; a full one makes its pod crash-loop (`controllers::kubelet`), as the
//! vendor's runbooks say a full Kafka disk does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::scenario::Scenario;
use crate::store::{Store, now_rfc3339};

/// ClickHouse keeps this share of the bytes Kafka took (the model's compression).
const CLICKHOUSE_SHARE: u64 = 4;

/// Bytes the events captured in one namespace wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Written {
    /// Taken by capture: in Kafka.
    pub kafka: u64,
    /// Passed on to ClickHouse (not the events a stalled pipeline drops).
    pub clickhouse: u64,
}

/// What the kubelet remembers of volumes: when each was first mounted (by volume name; a
/// volume outlives its pods and keeps its data across restarts and upgrades).
#[derive(Default)]
pub struct Volumes {
    first_mounted: Mutex<HashMap<String, Instant>>,
}

impl Volumes {
    /// When the volume was first mounted (now, the first time it is asked).
    pub fn mounted_since(&self, volume: &str, now: Instant) -> Instant {
        self.first_mounted
            .lock()
            .map(|mut m| *m.entry(volume.to_string()).or_insert(now))
            .unwrap_or(now)
    }
}

/// One claim a pod mounts, bound to its volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Mounted {
    /// The pod's name for the volume.
    pub name: String,
    pub claim: String,
    /// The bound PersistentVolume.
    pub volume: String,
    pub capacity: u64,
}

/// The bound claims a pod mounts, with their volumes' capacity.
pub fn mounted(store: &Store, pod: &Value) -> Vec<Mounted> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let claims = ("".to_string(), "persistentvolumeclaims".to_string());
    let pvs = ("".to_string(), "persistentvolumes".to_string());
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let claim = v["persistentVolumeClaim"]["claimName"].as_str()?;
            let pvc = store.peek_gr(&claims, ns, claim)?;
            if pvc["status"]["phase"] != "Bound" {
                return None;
            }
            let volume = pvc["spec"]["volumeName"].as_str()?.to_string();
            let bytes = |q: &Value| {
                q.as_str()
                    .and_then(crate::quantity::milli)
                    .map(|m| (m / 1000).max(0) as u64)
            };
            // The file system's size: the claim's capacity once a resize reached it, else
            // the volume's.
            let capacity = bytes(&pvc["status"]["capacity"]["storage"]).or_else(|| {
                bytes(&store.peek_gr(&pvs, "", &volume)?["spec"]["capacity"]["storage"])
            })?;
            Some(Mounted {
                name: v["name"].as_str().unwrap_or_default().to_string(),
                claim: claim.to_string(),
                volume,
                capacity,
            })
        })
        .collect()
}

fn running(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
}

/// Bytes a second the `disk-filling` scenarios write to a pod of this role, in real time
/// (their rate is of the simulated clock, which runs `1 / time_factor` times as fast), and the
/// share of the volume they start from.
fn filling(scenarios: &[Scenario], role: &str, time_factor: f64) -> (f64, f64) {
    let (per_minute, from) = scenarios
        .iter()
        .filter_map(|s| match s {
            Scenario::DiskFilling {
                role: r,
                mb_per_minute,
                from_percent,
            } if r == role => Some((*mb_per_minute, *from_percent)),
            _ => None,
        })
        .fold((0, 0), |(r, f), (r2, f2)| (r + r2, f.max(f2)));
    if per_minute == 0 {
        return (0.0, 0.0);
    }
    (
        per_minute as f64 * 1e6 / 60.0 / time_factor.max(1e-6),
        f64::from(from) / 100.0,
    )
}

/// How one pod's volume stands: what ingestion wrote, and what the scenario writes a second.
struct Load {
    base: u64,
    rate: f64,
    since: Instant,
}

fn load(state: &crate::SimState, store: &Store, pod: &Value, m: &Mounted, now: Instant) -> Load {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let role = crate::controllers::scenario_role(&pod["metadata"]["labels"]);
    let written = state.workloads.written(ns);
    let share = |bytes: u64| {
        // Shared among the role's running pods in the namespace, as partitions spread
        // over brokers and shards.
        let pods = store
            .iter_gr(&("".to_string(), "pods".to_string()), Some(ns))
            .filter(|p| {
                running(p) && crate::controllers::scenario_role(&p["metadata"]["labels"]) == role
            })
            .count()
            .max(1) as u64;
        bytes / pods
    };
    let base = match role.as_str() {
        "kafka" => share(written.kafka),
        "clickhouse" => share(written.clickhouse / CLICKHOUSE_SHARE),
        _ => 0,
    };
    let (rate, from) = filling(&state.options.scenarios, &role, state.options.time_factor);
    Load {
        base: base + (from * m.capacity as f64) as u64,
        rate,
        since: state.volumes.mounted_since(&m.volume, now),
    }
}

/// Bytes used on a pod's volume now (at most its capacity).
pub fn used(state: &crate::SimState, store: &Store, pod: &Value, m: &Mounted, now: Instant) -> u64 {
    let l = load(state, store, pod, m, now);
    let filled = l.rate * now.saturating_duration_since(l.since).as_secs_f64();
    (l.base as f64 + filled).min(m.capacity as f64) as u64
}

/// When a pod's volume will be full at the scenario's rate (now when it is; None when nothing
/// fills it).
pub fn full_at(
    state: &crate::SimState,
    store: &Store,
    pod: &Value,
    m: &Mounted,
    now: Instant,
) -> Option<Instant> {
    let l = load(state, store, pod, m, now);
    if l.base >= m.capacity {
        return Some(now);
    }
    if l.rate <= 0.0 {
        return None;
    }
    let secs = (m.capacity - l.base) as f64 / l.rate;
    Some(l.since + Duration::from_secs_f64(secs.min(1e9)))
}

/// The kubelet's summary for a node: its running pods and their claims' usage.
pub fn summary(state: &crate::SimState, store: &Store, node: &str) -> Result<Value, ApiError> {
    let nodes = ("".to_string(), "nodes".to_string());
    let n = store
        .peek_gr(&nodes, "", node)
        .ok_or_else(|| ApiError::not_found("", "nodes", node))?;
    let now = Instant::now();
    let time = now_rfc3339();
    let pods: Vec<Value> = store
        .iter_gr(&("".to_string(), "pods".to_string()), None)
        .filter(|p| p["spec"]["nodeName"] == node && running(p))
        .map(|p| {
            let volume: Vec<Value> = mounted(store, &p)
                .iter()
                .map(|m| {
                    let used = used(state, store, &p, m, now);
                    json!({
                        "time": time,
                        "availableBytes": m.capacity - used,
                        "capacityBytes": m.capacity,
                        "usedBytes": used,
                        "name": m.name,
                        "pvcRef": {"name": m.claim, "namespace": p["metadata"]["namespace"]},
                    })
                })
                .collect();
            let containers: Vec<Value> = p["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!({"name": c["name"], "startTime": p["status"]["startTime"]}))
                .collect();
            let mut pod = json!({
                "podRef": {"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"], "uid": p["metadata"]["uid"]},
                "startTime": p["status"]["startTime"],
                "containers": containers,
            });
            if !volume.is_empty() {
                pod["volume"] = Value::Array(volume);
            }
            pod
        })
        .collect();
    Ok(json!({
        "node": {"nodeName": node, "startTime": n["metadata"]["creationTimestamp"]},
        "pods": pods,
    }))
}

/// What the program of a pod of this role logs when its volume is full, as it crashes: Kafka's
/// log directory failure (Apache Kafka's `LogDirFailureChannel` and `LogManager`; the Bitnami
/// image's data directory), ClickHouse's `NOT_ENOUGH_SPACE`, else the system's error.
pub fn full_disk_log(role: &str) -> Vec<String> {
    let at = now_rfc3339();
    match role {
        "kafka" => vec![
            format!(
                "[{at}] ERROR Error while appending records to events_plugin_ingestion-0 in dir /bitnami/kafka/data (kafka.server.LogDirFailureChannel)"
            ),
            "java.io.IOException: No space left on device".into(),
            format!(
                "[{at}] ERROR Shutdown broker because all log dirs in /bitnami/kafka/data have failed (kafka.log.LogManager)"
            ),
        ],
        "clickhouse" => vec![format!(
            "{at} <Error> void DB::MergeTreeData::reserveSpace: Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"
        )],
        _ => vec![format!("{at} write failed: No space left on device")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filling_scenario_reads_role_and_rate_and_refuses_the_rest() {
        assert_eq!(
            "disk-filling:kafka:500".parse::<Scenario>(),
            Ok(Scenario::DiskFilling {
                role: "kafka".into(),
                mb_per_minute: 500,
                from_percent: 0
            })
        );
        assert_eq!(
            "disk-filling:clickhouse:5:75".parse::<Scenario>(),
            Ok(Scenario::DiskFilling {
                role: "clickhouse".into(),
                mb_per_minute: 5,
                from_percent: 75
            })
        );
        for bad in [
            "disk-filling",
            "disk-filling:kafka",
            "disk-filling::5",
            "disk-filling:kafka:0",
            "disk-filling:kafka:x",
            "disk-filling:kafka:5:100",
            "disk-filling:kafka:5:1:2",
        ] {
            let e = bad.parse::<Scenario>().unwrap_err();
            assert!(e.contains("disk-filling:kafka:500"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_rate_is_of_the_simulated_clock_and_only_for_its_role() {
        let s = vec![Scenario::DiskFilling {
            role: "kafka".into(),
            mb_per_minute: 60,
            from_percent: 50,
        }];
        // 60 MB a simulated minute = 1 MB a simulated second = 20 MB a real second at 0.05.
        let (rate, from) = filling(&s, "kafka", 0.05);
        assert!((rate - 20e6).abs() < 1.0);
        assert_eq!(from, 0.5);
        assert_eq!(filling(&s, "clickhouse", 0.05), (0.0, 0.0));
    }
}
