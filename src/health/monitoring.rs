//! The chart's own monitoring (Prometheus, Grafana, Loki, promtail and the exporters), when
//! the release turns it on: whether each part runs, and how to open Grafana. Every part is off
//! in the chart's defaults (shared/REFERENCE.md, "Monitoring toggles"), so the user's values
//! alone say which are on.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::observed::Snapshot;
use crate::verdict::{Check, Verdict};

/// One part: the value that turns it on, and the `app` / `app.kubernetes.io/name` label its
/// pods carry in the vendor's subcharts (and `component` where one chart runs several).
struct Part {
    name: &'static str,
    key: &'static str,
    app: &'static str,
    component: Option<&'static str>,
}

/// The labels as the vendor's chart 30.46.0 renders them (its Prometheus server is `app:
/// prometheus, component: server`; Loki is named `posthog-loki` by the chart's
/// `nameOverride`, plain `loki` before Loki 3).
const PARTS: [Part; 8] = [
    Part {
        name: "prometheus",
        key: "prometheus.enabled",
        app: "prometheus",
        component: Some("server"),
    },
    Part {
        name: "grafana",
        key: "grafana.enabled",
        app: "grafana",
        component: None,
    },
    Part {
        name: "loki",
        key: "loki.enabled",
        app: "loki",
        component: None,
    },
    Part {
        name: "promtail",
        key: "promtail.enabled",
        app: "promtail",
        component: None,
    },
    Part {
        name: "kafka-exporter",
        key: "prometheus-kafka-exporter.enabled",
        app: "prometheus-kafka-exporter",
        component: None,
    },
    Part {
        name: "postgres-exporter",
        key: "prometheus-postgres-exporter.enabled",
        app: "prometheus-postgres-exporter",
        component: None,
    },
    Part {
        name: "redis-exporter",
        key: "prometheus-redis-exporter.enabled",
        app: "prometheus-redis-exporter",
        component: None,
    },
    Part {
        name: "statsd-exporter",
        key: "prometheus-statsd-exporter.enabled",
        app: "prometheus-statsd-exporter",
        component: None,
    },
];

/// A part the release turns on, and how its pods are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: &'static str,
    /// The value that turned it on.
    pub key: &'static str,
    pub ready: u32,
    pub pods: u32,
    pub verdict: Verdict,
}

fn label<'a>(labels: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| labels.get(*k)).map(String::as_str)
}

/// Whether a pod's labels make it one of `part`'s pods in `release`.
fn runs(part: &Part, labels: &BTreeMap<String, String>, release: &str) -> bool {
    let of_release = label(labels, &["app.kubernetes.io/instance", "release"]) == Some(release);
    let app = label(labels, &["app.kubernetes.io/name", "app"]).unwrap_or_default();
    // Loki's name is `<fullname>-loki` under the vendor's nameOverride.
    let named = app == part.app || (part.name == "loki" && app.ends_with("-loki"));
    let component = part
        .component
        .is_none_or(|c| label(labels, &["app.kubernetes.io/component", "component"]) == Some(c));
    of_release && named && component
}

/// Ready as the pods pane counts it (`PodRow::is_ready`): running, every container ready.
fn ready_condition(p: &crate::observed::podview::PodView) -> bool {
    let Some(s) = p.status.as_ref() else {
        return false;
    };
    let cs = s.container_statuses.as_deref().unwrap_or_default();
    s.phase.as_deref() == Some("Running") && !cs.is_empty() && cs.iter().all(|c| c.ready)
}

fn on(values: &Map<String, Value>, key: &str) -> bool {
    crate::values::get_path(values, key) == Some(&Value::Bool(true))
}

/// The parts `values` (the release's user values) turn on, each with its pods' readiness:
/// none ready fails, some warns, all passes.
pub fn rows(values: &Map<String, Value>, snap: &Snapshot, release: &str) -> Vec<Row> {
    PARTS
        .iter()
        .filter(|p| on(values, p.key))
        .map(|part| {
            let (mut ready, mut pods) = (0, 0);
            for p in &snap.pods {
                let Some(labels) = p.metadata.labels.as_ref() else {
                    continue;
                };
                if !runs(part, labels, release) {
                    continue;
                }
                pods += 1;
                ready += u32::from(ready_condition(p));
            }
            let verdict = match (ready, pods) {
                (0, _) => Verdict::Fail,
                (r, p) if r < p => Verdict::Warn,
                _ => Verdict::Pass,
            };
            Row {
                name: part.name,
                key: part.key,
                ready,
                pods,
                verdict,
            }
        })
        .collect()
}

/// The `monitoring` check: one line for every part the release turns on; none when it turns
/// none on.
pub fn check(rows: &[Row], namespace: &str) -> Option<Check> {
    let worst = rows.iter().map(|r| r.verdict).max()?;
    let parts: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}/{}", r.name, r.ready, r.pods))
        .collect();
    let down: Vec<&Row> = rows.iter().filter(|r| r.verdict != Verdict::Pass).collect();
    let fix = match down.first() {
        None => String::new(),
        Some(r) if r.pods == 0 => format!(
            "no pod of {} runs although {} is on: the chart may not have it (the bundled stand-in chart has no monitoring), or its workload cannot make pods: kubectl -n {namespace} get events --field-selector type=Warning",
            r.name, r.key
        ),
        Some(r) => format!(
            "{} is not ready: kubectl -n {namespace} get pods -o wide | grep {}",
            r.name,
            r.name.trim_end_matches("-exporter")
        ),
    };
    Some(Check {
        id: "monitoring",
        verdict: worst,
        message: format!(
            "{}: {}",
            if worst == Verdict::Pass {
                "all ready"
            } else {
                "not all ready"
            },
            parts.join(", ")
        ),
        fix,
    })
}

/// The `monitoring` check of a release from its user values, with how to open Grafana when
/// it runs: what `check` and the Verify step say.
pub fn judged(
    values: &Map<String, Value>,
    snap: &Snapshot,
    release: &str,
    namespace: &str,
) -> Option<Check> {
    let rows = rows(values, snap, release);
    let mut c = check(&rows, namespace)?;
    if let Some(open) = grafana_access(snap, release, namespace) {
        c.message.push_str(&format!("; Grafana: {open}"));
    }
    Some(c)
}

/// How to open Grafana: a port-forward to the release's Grafana Service and where its admin
/// password is (the Grafana chart keeps it in a Secret named as the Service, key
/// `admin-password`). None while the release has no Grafana Service.
pub fn grafana_access(snap: &Snapshot, release: &str, namespace: &str) -> Option<String> {
    let svc = snap.services.iter().find(|s| {
        s.metadata.namespace.as_deref() == Some(namespace)
            && s.spec
                .as_ref()
                .and_then(|spec| spec.selector.as_ref())
                .is_some_and(|sel| {
                    sel.get("app.kubernetes.io/name").map(String::as_str) == Some("grafana")
                        && sel.get("app.kubernetes.io/instance").map(String::as_str)
                            == Some(release)
                })
    })?;
    let name = svc.metadata.name.as_deref()?;
    let port = svc.spec.as_ref()?.ports.as_ref()?.first().map(|p| p.port)?;
    Some(format!(
        "kubectl -n {namespace} port-forward svc/{name} 3000:{port}, then http://localhost:3000 as admin (password: kubectl -n {namespace} get secret {name} -o jsonpath='{{.data.admin-password}}' | base64 -d)"
    ))
}

/// The subcharts whose objects monitoring brings (by their `helm.sh/chart` or `chart` label,
/// `<name>-<version>`): the parts, Prometheus's kube-state-metrics and node exporter, and
/// Loki's MinIO (unless the stack's own object storage, `minio.enabled`, is on too).
const SUBCHARTS: [&str; 11] = [
    "prometheus",
    "kube-state-metrics",
    "prometheus-node-exporter",
    "grafana",
    "loki",
    "promtail",
    "prometheus-kafka-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "prometheus-statsd-exporter",
    "minio",
];

fn subchart_of(o: &Value) -> Option<&str> {
    let labels = &o["metadata"]["labels"];
    let chart = labels["helm.sh/chart"]
        .as_str()
        .or_else(|| labels["chart"].as_str())?;
    // `name-1.2.3`: the name is what precedes the version.
    let (name, _) = chart.rsplit_once('-')?;
    Some(name)
}

/// What turning monitoring on adds, for `plan`: the workloads and claims of the monitoring
/// subcharts in what helm would apply (`desired`), leaving out those already in the release
/// (`live`, kind and name). None when the values turn no part on.
pub fn plan_check(
    desired: &[Value],
    values: &Map<String, Value>,
    live: &std::collections::HashSet<(String, String)>,
) -> Option<Check> {
    if !PARTS.iter().any(|p| on(values, p.key)) {
        return None;
    }
    let own_minio = on(values, "minio.enabled");
    let mut workloads = Vec::new();
    let mut claims = Vec::new();
    let mut bytes = 0.0;
    for o in desired {
        let kind = o["kind"].as_str().unwrap_or_default();
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let Some(chart) = subchart_of(o) else {
            continue;
        };
        if !SUBCHARTS.contains(&chart)
            || (chart == "minio" && own_minio)
            || live.contains(&(kind.to_string(), name.to_string()))
        {
            continue;
        }
        let size = |spec: &Value| {
            spec["resources"]["requests"]["storage"]
                .as_str()
                .and_then(crate::quantity::parse_bytes)
        };
        match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" => {
                workloads.push(format!("{kind} {name}"));
                let replicas = o["spec"]["replicas"].as_f64().unwrap_or(1.0);
                for t in o["spec"]["volumeClaimTemplates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let Some(b) = size(&t["spec"]) {
                        let claim = t["metadata"]["name"].as_str().unwrap_or_default();
                        claims.push(format!(
                            "{claim}-{name} {} × {replicas}",
                            crate::quantity::format_bytes(b)
                        ));
                        bytes += b * replicas;
                    }
                }
            }
            "PersistentVolumeClaim" => {
                if let Some(b) = size(&o["spec"]) {
                    claims.push(format!("{name} {}", crate::quantity::format_bytes(b)));
                    bytes += b;
                }
            }
            _ => {}
        }
    }
    if workloads.is_empty() && claims.is_empty() {
        return None;
    }
    let claims = match claims.is_empty() {
        true => String::new(),
        false => format!(
            "; claims {} ({} in all)",
            claims.join(", "),
            crate::quantity::format_bytes(bytes)
        ),
    };
    Some(Check {
        id: "monitoring",
        verdict: Verdict::Pass,
        message: format!(
            "adds {} workload(s): {}{claims}",
            workloads.len(),
            workloads.join(", ")
        ),
        fix: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn pod(name: &str, labels: Value, ready: bool) -> Arc<crate::observed::podview::PodView> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "posthog", "labels": labels},
                "status": {"phase": "Running",
                           "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 0,
                                                  "image": "i", "imageID": ""}]}
            }))
            .unwrap(),
        )
    }

    /// The labels are the vendor chart 30.46.0's, as its pods carry them on the simulated
    /// cluster; parts off in the values get no row, a part with no pod fails.
    #[test]
    fn each_part_on_is_judged_by_its_own_pods() {
        let snap = Snapshot {
            pods: vec![
                pod(
                    "posthog-prometheus-server-1",
                    json!({"app": "prometheus", "component": "server", "release": "posthog"}),
                    true,
                ),
                pod(
                    "posthog-prometheus-node-exporter-1",
                    json!({"app": "prometheus", "component": "node-exporter", "release": "posthog"}),
                    false,
                ),
                pod(
                    "posthog-loki-read-0",
                    json!({"app.kubernetes.io/name": "posthog-loki", "app.kubernetes.io/component": "read",
                       "app.kubernetes.io/instance": "posthog"}),
                    true,
                ),
                pod(
                    "posthog-loki-write-0",
                    json!({"app.kubernetes.io/name": "posthog-loki", "app.kubernetes.io/component": "write",
                       "app.kubernetes.io/instance": "posthog"}),
                    false,
                ),
                pod(
                    "other-grafana-1",
                    json!({"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "other"}),
                    true,
                ),
            ],
            ..Default::default()
        };
        let values = json!({"prometheus": {"enabled": true}, "loki": {"enabled": true},
                            "grafana": {"enabled": true}, "promtail": {"enabled": false}});
        let rows = rows(values.as_object().unwrap(), &snap, "posthog");
        let got: Vec<(&str, u32, u32, Verdict)> = rows
            .iter()
            .map(|r| (r.name, r.ready, r.pods, r.verdict))
            .collect();
        assert_eq!(
            got,
            [
                ("prometheus", 1, 1, Verdict::Pass),
                ("grafana", 0, 0, Verdict::Fail),
                ("loki", 1, 2, Verdict::Warn),
            ]
        );
        let c = check(&rows, "posthog").unwrap();
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(
            c.message,
            "not all ready: prometheus 1/1, grafana 0/0, loki 1/2"
        );
        assert!(c.fix.contains("grafana.enabled"), "{}", c.fix);
        assert!(check(&[], "posthog").is_none());
    }

    /// Plan lists the monitoring subcharts' workloads and claims (Loki's MinIO included, the
    /// stack's own left out), not what the release already has, and nothing when it is off.
    #[test]
    fn plan_lists_what_monitoring_adds() {
        let obj = |kind: &str, name: &str, chart: &str, extra: Value| {
            let mut o = json!({"kind": kind, "metadata": {"name": name,
                                "labels": {"helm.sh/chart": chart}}, "spec": {}});
            if let Value::Object(m) = extra {
                o["spec"].as_object_mut().unwrap().extend(m);
            }
            o
        };
        let desired = vec![
            obj("Deployment", "posthog-web", "posthog-30.46.0", json!({})),
            obj("Deployment", "posthog-grafana", "grafana-6.57.3", json!({})),
            obj(
                "PersistentVolumeClaim",
                "posthog-prometheus-server",
                "prometheus-15.10.4",
                json!({"resources": {"requests": {"storage": "8Gi"}}}),
            ),
            obj(
                "StatefulSet",
                "posthog-loki-write",
                "loki-3.3.4",
                json!({"replicas": 2, "volumeClaimTemplates": [{"metadata": {"name": "data"},
                        "spec": {"resources": {"requests": {"storage": "10Gi"}}}}]}),
            ),
            obj("StatefulSet", "posthog-minio", "minio-4.0.12", json!({})),
        ];
        let on = json!({"prometheus": {"enabled": true}});
        let none = std::collections::HashSet::new();
        let c = plan_check(&desired, on.as_object().unwrap(), &none).unwrap();
        assert_eq!(
            c.message,
            "adds 3 workload(s): Deployment posthog-grafana, StatefulSet posthog-loki-write, StatefulSet posthog-minio; claims posthog-prometheus-server 8Gi, data-posthog-loki-write 10Gi × 2 (28Gi in all)"
        );
        let own_minio = json!({"prometheus": {"enabled": true}, "minio": {"enabled": true}});
        let live = [("Deployment".to_string(), "posthog-grafana".to_string())].into();
        let c = plan_check(&desired, own_minio.as_object().unwrap(), &live).unwrap();
        assert!(
            c.message
                .starts_with("adds 1 workload(s): StatefulSet posthog-loki-write;"),
            "{}",
            c.message
        );
        assert!(plan_check(&desired, &Map::new(), &none).is_none());
    }

    #[test]
    fn grafana_is_opened_through_its_service() {
        let snap = Snapshot {
            services: vec![Arc::new(
                serde_json::from_value(json!({
                    "metadata": {"name": "posthog-grafana", "namespace": "posthog"},
                    "spec": {"selector": {"app.kubernetes.io/name": "grafana",
                                          "app.kubernetes.io/instance": "posthog"},
                             "ports": [{"name": "service", "port": 80, "targetPort": 3000}]}
                }))
                .unwrap(),
            )],
            ..Default::default()
        };
        let got = grafana_access(&snap, "posthog", "posthog").unwrap();
        assert!(
            got.starts_with("kubectl -n posthog port-forward svc/posthog-grafana 3000:80,"),
            "{got}"
        );
        assert!(got.contains("get secret posthog-grafana"), "{got}");
        assert!(grafana_access(&snap, "other", "posthog").is_none());
    }
}
