//! How much room a release needs and the nodes have, by the scheduler's own arithmetic:
//! requests, not usage. Each node offers its allocatable CPU and memory less what the pods
//! already placed on it request; a chart's rendered workloads need replicas × their pod's
//! request. A cluster with enough capacity in total can still be full, and then helm waits
//! out its whole timeout on Pending pods.

use serde_json::Value;

use crate::quantity::{parse_bytes, parse_cpu};

pub use crate::observed::Amount;

fn requests(container: &Value) -> Amount {
    let r = &container["resources"]["requests"];
    Amount {
        cpu: r["cpu"].as_str().and_then(parse_cpu).unwrap_or(0.0),
        memory: r["memory"].as_str().and_then(parse_bytes).unwrap_or(0.0),
    }
}

/// A pod's request as the scheduler counts it: the larger of its containers' sum and its
/// largest init container (they run one at a time, before the others), plus its overhead.
pub fn pod_request(spec: &Value) -> Amount {
    let list = |k: &str| spec[k].as_array().cloned().unwrap_or_default();
    let running = list("containers")
        .iter()
        .map(requests)
        .fold(Amount::default(), Amount::plus);
    let init = list("initContainers")
        .iter()
        .map(requests)
        .fold(Amount::default(), Amount::max);
    running.max(init).plus(requests(&serde_json::json!({
        "resources": {"requests": spec["overhead"].clone()}
    })))
}

/// What a chart's rendered workloads will request once they run, and its largest pod (which
/// must fit on one node). Deployments, StatefulSets and ReplicaSets count their replicas, a
/// Job its parallelism; DaemonSets (one per node, whatever the room) and the pods operators
/// make from custom resources (the vendor chart's ClickHouse) are not counted.
pub fn chart_request(desired: &[Value]) -> (Amount, Option<(String, Amount)>) {
    let mut total = Amount::default();
    let mut largest: Option<(String, Amount)> = None;
    for d in desired {
        if d["metadata"]["annotations"]["helm.sh/hook"].is_string() {
            // Hooks run before or after the release's pods, not beside them.
            continue;
        }
        let replicas = match d["kind"].as_str() {
            Some("Deployment" | "StatefulSet" | "ReplicaSet") => {
                d["spec"]["replicas"].as_f64().unwrap_or(1.0)
            }
            Some("Job") => d["spec"]["parallelism"].as_f64().unwrap_or(1.0),
            _ => continue,
        };
        let pod = pod_request(&d["spec"]["template"]["spec"]);
        total = total.plus(pod.times(replicas.max(0.0)));
        let name = format!(
            "{} {}",
            d["kind"].as_str().unwrap_or_default(),
            d["metadata"]["name"].as_str().unwrap_or_default()
        );
        if replicas > 0.0
            && largest
                .as_ref()
                .is_none_or(|(_, l)| pod.cpu > l.cpu || pod.memory > l.memory)
        {
            largest = Some((name, pod));
        }
    }
    (total, largest)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_pod_requests_the_larger_of_its_containers_and_its_largest_init_container() {
        let spec = json!({
            "containers": [
                {"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                {"resources": {"requests": {"cpu": "250m"}}},
            ],
            "initContainers": [
                {"resources": {"requests": {"cpu": "1", "memory": "64Mi"}}},
                {"resources": {"requests": {"memory": "128Mi"}}},
            ],
            "overhead": {"cpu": "100m"},
        });
        let r = pod_request(&spec);
        assert!((r.cpu - 1.1).abs() < 1e-9, "{r:?}");
        assert_eq!(r.memory, 256.0 * 1024.0 * 1024.0);
        assert_eq!(pod_request(&json!({})), Amount::default());
    }

    #[test]
    fn a_chart_requests_replicas_times_its_pods_and_names_the_largest() {
        let workload = |kind: &str, name: &str, replicas: Value, cpu: &str| {
            json!({"kind": kind, "metadata": {"name": name}, "spec": {"replicas": replicas,
                "template": {"spec": {"containers": [{"resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}}}})
        };
        let mut hook = workload("Job", "migrate", Value::Null, "4");
        hook["metadata"]["annotations"] = json!({"helm.sh/hook": "pre-install"});
        let desired = [
            workload("Deployment", "web", json!(3), "500m"),
            workload("StatefulSet", "db", Value::Null, "2"),
            workload("Job", "once", Value::Null, "100m"),
            workload("DaemonSet", "agent", Value::Null, "8"),
            hook,
            json!({"kind": "Service", "metadata": {"name": "web"}}),
        ];
        let (total, largest) = chart_request(&desired);
        assert!((total.cpu - 3.6).abs() < 1e-9, "{total:?}");
        assert_eq!(total.memory, 5.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(largest.unwrap().0, "StatefulSet db");
    }
}
