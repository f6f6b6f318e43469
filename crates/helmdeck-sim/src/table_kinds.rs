//! Printed columns of the kinds on-call engineers list next (events, storage classes,
//! endpoints, autoscalers, CRDs, APIServices) as kube-apiserver's printers print them
//! (kubernetes/pkg/printers/internalversion/printers.go: the server prints every column, the
//! client hides those of priority 1 unless `-o wide`), and custom resources' own
//! `additionalPrinterColumns` as apiextensions-apiserver's table convertor evaluates them.

use serde_json::{Value, json};

use super::resources::ResourceType;
use super::table::{age, col};

/// The columns of one of these kinds, or None for the kinds `table` prints itself.
pub fn columns(kind: &str) -> Option<Vec<Value>> {
    let s = |n: &str| col(n, "string", 0);
    let w = |n: &str| col(n, "string", 1);
    Some(match kind {
        "Event" => vec![
            s("Last Seen"),
            s("Type"),
            s("Reason"),
            s("Object"),
            w("Subobject"),
            w("Source"),
            s("Message"),
            w("First Seen"),
            w("Count"),
            w("Name"),
        ],
        "StorageClass" => vec![
            s("Name"),
            s("Provisioner"),
            s("ReclaimPolicy"),
            s("VolumeBindingMode"),
            s("AllowVolumeExpansion"),
            s("Age"),
        ],
        "Endpoints" => vec![s("Name"), s("Endpoints"), s("Age")],
        "HorizontalPodAutoscaler" => vec![
            s("Name"),
            s("Reference"),
            s("Targets"),
            s("MinPods"),
            s("MaxPods"),
            s("Replicas"),
            s("Age"),
        ],
        "CustomResourceDefinition" => vec![s("Name"), col("Created At", "date", 0)],
        "APIService" => vec![s("Name"), s("Service"), s("Available"), s("Age")],
        _ => return None,
    })
}

fn text(v: &Value, otherwise: &str) -> Value {
    json!(v.as_str().filter(|s| !s.is_empty()).unwrap_or(otherwise))
}

/// The cells of one of these kinds, in `columns`' order.
pub fn cells(o: &Value, kind: &str, now: u64) -> Option<Vec<Value>> {
    let name = json!(o["metadata"]["name"]);
    let created = &o["metadata"]["creationTimestamp"];
    let (st, sp) = (&o["status"], &o["spec"]);
    Some(match kind {
        "Event" => {
            let first = if o["firstTimestamp"].is_string() {
                &o["firstTimestamp"]
            } else {
                &o["eventTime"]
            };
            let last = if o["lastTimestamp"].is_string() {
                &o["lastTimestamp"]
            } else {
                first
            };
            let obj = &o["involvedObject"];
            let kind = obj["kind"].as_str().unwrap_or_default().to_lowercase();
            let target = match obj["name"].as_str().filter(|n| !n.is_empty()) {
                Some(n) => format!("{kind}/{n}"),
                None => kind,
            };
            let source = o["source"]["component"]
                .as_str()
                .or(o["reportingComponent"].as_str())
                .unwrap_or_default();
            vec![
                json!(age(last, now)),
                json!(o["type"]),
                json!(o["reason"]),
                json!(target),
                json!(obj["fieldPath"].as_str().unwrap_or_default()),
                json!(source),
                json!(o["message"].as_str().unwrap_or_default().trim()),
                json!(age(first, now)),
                json!(o["count"].as_i64().unwrap_or(1)),
                name,
            ]
        }
        "StorageClass" => {
            let default = o["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
                == "true";
            let shown = match name.as_str() {
                Some(n) if default => json!(format!("{n} (default)")),
                _ => name,
            };
            vec![
                shown,
                json!(o["provisioner"]),
                text(&o["reclaimPolicy"], "Delete"),
                text(&o["volumeBindingMode"], "Immediate"),
                json!(o["allowVolumeExpansion"].as_bool().unwrap_or(false)),
                json!(age(created, now)),
            ]
        }
        "Endpoints" => vec![name, json!(endpoints(o)), json!(age(created, now))],
        "HorizontalPodAutoscaler" => {
            let r = &sp["scaleTargetRef"];
            let targets = sp["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    let t = &m["resource"]["target"];
                    t["averageUtilization"].as_i64().map(|u| {
                        format!(
                            "{}: <unknown>/{u}%",
                            m["resource"]["name"].as_str().unwrap_or("")
                        )
                    })
                })
                .chain(
                    sp["targetCPUUtilizationPercentage"]
                        .as_i64()
                        .map(|u| format!("cpu: <unknown>/{u}%")),
                )
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    r["kind"].as_str().unwrap_or_default(),
                    r["name"].as_str().unwrap_or_default()
                )),
                json!(if targets.is_empty() {
                    "<none>".to_string()
                } else {
                    targets
                }),
                json!(sp["minReplicas"].as_i64().unwrap_or(1)),
                json!(sp["maxReplicas"].as_i64().unwrap_or(0)),
                json!(st["currentReplicas"].as_i64().unwrap_or(0)),
                json!(age(created, now)),
            ]
        }
        "CustomResourceDefinition" => vec![name, created.clone()],
        "APIService" => {
            let svc = &sp["service"];
            let service = if svc.is_object() {
                format!(
                    "{}/{}",
                    svc["namespace"].as_str().unwrap_or_default(),
                    svc["name"].as_str().unwrap_or_default()
                )
            } else {
                "Local".into()
            };
            let available = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Available")
                .map_or("Unknown".to_string(), |c| {
                    let s = c["status"].as_str().unwrap_or("Unknown");
                    match c["reason"].as_str() {
                        Some(r) if s != "True" => format!("{s} ({r})"),
                        _ => s.to_string(),
                    }
                });
            vec![
                name,
                json!(service),
                json!(available),
                json!(age(created, now)),
            ]
        }
        _ => return None,
    })
}

/// `formatEndpoints`: up to three `ip:port` pairs, then `+ N more...`.
fn endpoints(o: &Value) -> String {
    let mut all = Vec::new();
    for subset in o["subsets"].as_array().into_iter().flatten() {
        let ports: Vec<i64> = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["port"].as_i64())
            .collect();
        for a in subset["addresses"].as_array().into_iter().flatten() {
            let ip = a["ip"].as_str().unwrap_or_default();
            if ports.is_empty() {
                all.push(ip.to_string());
            }
            for p in &ports {
                all.push(format!("{ip}:{p}"));
            }
        }
    }
    match all.len() {
        0 => "<none>".into(),
        n if n > 3 => format!("{} + {} more...", all[..3].join(","), n - 3),
        _ => all.join(","),
    }
}

/// A custom resource type's `additionalPrinterColumns` for the version served.
pub fn crd_columns(store: &crate::store::Store, rt: &ResourceType) -> Vec<Value> {
    let crds = (
        "apiextensions.k8s.io".to_string(),
        "customresourcedefinitions".to_string(),
    );
    let Some(crd) = store.peek_gr(&crds, "", &format!("{}.{}", rt.plural, rt.group)) else {
        return Vec::new();
    };
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == rt.version.as_str())
        .and_then(|v| v["additionalPrinterColumns"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// The Table columns for a custom resource with printer columns: Name, then its own.
pub fn custom_columns(printer: &[Value]) -> Vec<Value> {
    std::iter::once(col("Name", "string", 0))
        .chain(printer.iter().map(|c| {
            json!({"name": c["name"], "type": c["type"].as_str().unwrap_or("string"),
                   "format": c["format"].as_str().unwrap_or(""),
                   "description": c["description"].as_str().unwrap_or(""),
                   "priority": c["priority"].as_i64().unwrap_or(0)})
        }))
        .collect()
}

/// A custom resource's cells: its name, then each column's JSONPath (`.status.phase`,
/// `.spec.items[0].name`) evaluated on it, empty where it finds nothing.
pub fn custom_cells(o: &Value, printer: &[Value]) -> Vec<Value> {
    std::iter::once(json!(o["metadata"]["name"]))
        .chain(printer.iter().map(|c| {
            let path = c["jsonPath"].as_str().unwrap_or_default();
            match json_path(o, path) {
                Some(Value::String(s)) => json!(s),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.clone(),
                Some(Value::Null) | None => Value::Null,
                Some(v) => json!(v.to_string()),
            }
        }))
        .collect()
}

/// The simple JSONPath printer columns use: dotted fields and `[N]` indexes.
fn json_path<'a>(o: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut v = o;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (field, rest) = part.split_once('[').unwrap_or((part, ""));
        if !field.is_empty() {
            v = v.get(field)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            v = v.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_columns_read_their_json_paths() {
        let o = json!({"metadata": {"name": "posthog"}, "status": {"status": "Completed", "hosts": [{"n": 3}]}});
        let printer = vec![
            json!({"name": "Status", "type": "string", "jsonPath": ".status.status"}),
            json!({"name": "Hosts", "type": "integer", "jsonPath": ".status.hosts[0].n"}),
            json!({"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"}),
        ];
        assert_eq!(
            custom_cells(&o, &printer),
            vec![json!("posthog"), json!("Completed"), json!(3), Value::Null]
        );
        assert_eq!(custom_columns(&printer).len(), 4);
    }

    #[test]
    fn endpoints_show_three_then_a_count() {
        let o = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}], "ports": [{"port": 80}]}]});
        assert_eq!(
            endpoints(&o),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
        );
        assert_eq!(endpoints(&json!({})), "<none>");
    }
}
