//! `helmdeck verify`'s policy stage: the rules a profile's rendered chart must keep, judged on
//! the manifests `helm template` renders and the values that made them, before any cluster
//! sees them. Each finding names the object, the field and the fix; the datastores stay
//! inside the cluster, disks encrypt under the profile's rule, serving containers say when
//! they are ready, the app image is pinned and the load balancer and nginx agree on proxy
//! protocol. Missing probes on workers and missing resource requests are warnings (the
//! vendor's chart 30.46.0 has both gaps).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::encryption;
use super::pods::component_of;
use crate::chart::Chart;
use crate::profile::{EncryptionRule, Profile};
use crate::verdict::{Check, Verdict};

/// One rule broken (or passed with a note) by one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub verdict: Verdict,
    /// `StatefulSet posthog-clickhouse`, or `values` for a finding about the values.
    pub object: String,
    /// Where in the object: `spec.type`, `image.tag`.
    pub field: String,
    pub message: String,
    pub fix: String,
    /// `--skip ID` took it out of the verdict, deliberately.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// The rules' ids, for `--skip` and the report.
pub const RULES: [&str; 9] = [
    "encryption",
    "exposed-datastore",
    "kubernetes-range",
    "readiness-probe",
    "app-image",
    "proxy-protocol",
    "worker-probes",
    "resource-requests",
    "kafka-retention",
];

/// What is judged.
pub struct Rendered<'a> {
    pub profile: &'a Profile,
    pub chart: &'a Chart,
    pub values: &'a Map<String, Value>,
    pub manifests: &'a [Value],
    /// The Kubernetes version the chart is rendered and installed for.
    pub kube_version: &'a str,
}

fn finding(
    id: &'static str,
    verdict: Verdict,
    object: impl Into<String>,
    field: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        id,
        verdict,
        object: object.into(),
        field: field.into(),
        message: message.into(),
        fix: fix.into(),
        skipped: false,
    }
}

fn of_check(c: Check, object: &str, field: &str) -> Finding {
    finding(c.id, c.verdict, object, field, c.message, c.fix)
}

fn named(o: &Value) -> String {
    format!(
        "{} {}",
        o["kind"].as_str().unwrap_or_default(),
        o["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Every rule on one profile's render; passing rules leave no finding.
pub fn judge(r: &Rendered) -> Vec<Finding> {
    let mut out = encryption_findings(r);
    out.extend(exposed_datastores(r.manifests));
    out.extend(kubernetes_range(r));
    out.extend(probes_and_requests(r.manifests));
    // Unpinned, the pods run whatever `latest` is that day: a failure here, not a warning.
    if let Some(c) = super::preflight::app_image(r.chart, r.values)
        && c.verdict != Verdict::Pass
    {
        out.push(Finding {
            verdict: Verdict::Fail,
            ..of_check(c, "values", "image.tag")
        });
    }
    out.extend(
        super::preflight::proxy_protocol(Some(r.profile.provider.as_str()), r.values, false)
            .into_iter()
            .filter(|c| c.verdict != Verdict::Pass)
            .map(|c| {
                of_check(
                    c,
                    "values",
                    "ingress-nginx.controller.config.use-proxy-protocol",
                )
            }),
    );
    out.extend(
        super::retention::kafka(r.values, None)
            .into_iter()
            .filter(|c| c.verdict != Verdict::Pass)
            .map(|c| of_check(c, "values", "kafka.logRetentionBytes")),
    );
    out
}

/// The claims each object asks for: (field path, its spec).
fn claim_list<'a>(arr: &'a Value, at: &str) -> Vec<(String, &'a Value)> {
    arr.as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| (format!("{at}[{i}].spec"), &t["spec"]))
        .collect()
}

fn claims(o: &Value) -> Vec<(String, &Value)> {
    let list = claim_list;
    match o["kind"].as_str().unwrap_or_default() {
        "StatefulSet" => list(
            &o["spec"]["volumeClaimTemplates"],
            "spec.volumeClaimTemplates",
        ),
        "ClickHouseInstallation" => list(
            &o["spec"]["templates"]["volumeClaimTemplates"],
            "spec.templates.volumeClaimTemplates",
        ),
        "PersistentVolumeClaim" => vec![("spec".into(), &o["spec"])],
        _ => Vec::new(),
    }
}

/// Claims on a class that does not encrypt under the profile's rule. The classes known offline
/// are the chart's and the profile's own; a claim on another (or on the cluster's default)
/// is judged by preflight on the cluster, and said so here.
fn encryption_findings(r: &Rendered) -> Vec<Finding> {
    let rule = r.profile.storage.encryption;
    if rule == EncryptionRule::NotRequired {
        return Vec::new();
    }
    let classes: Vec<&Value> = r
        .manifests
        .iter()
        .chain(r.profile.objects.iter())
        .filter(|o| o["kind"] == "StorageClass")
        .collect();
    let mut out = Vec::new();
    for o in r.manifests {
        for (at, spec) in claims(o) {
            let field = format!("{at}.storageClassName");
            let Some(class) = spec["storageClassName"].as_str().filter(|c| !c.is_empty()) else {
                // Where the provider encrypts its disks, its default class does too.
                if rule == EncryptionRule::Platform {
                    continue;
                }
                out.push(finding("encryption", Verdict::Warn, named(o), field, "names no StorageClass: the cluster's default decides whether its disk is encrypted (preflight judges it there)", format!("name the {} profile's encrypted class in the component's persistence.storageClass", r.profile.name)));
                continue;
            };
            let Some(sc) = classes.iter().find(|c| c["metadata"]["name"] == class) else {
                out.push(finding("encryption", Verdict::Warn, named(o), field, format!("uses StorageClass {class}, which neither the chart nor the profile makes: preflight judges it on the cluster"), "use a class the profile makes, or check the class with `helmdeck plan` on the cluster"));
                continue;
            };
            let provisioner = sc["provisioner"].as_str().unwrap_or_default();
            let (verdict, why) = encryption::judge(provisioner, &sc["parameters"]);
            let (grade, fix) = encryption::grade(rule, verdict);
            if grade != Verdict::Pass {
                out.push(finding(
                    "encryption",
                    grade,
                    named(o),
                    field,
                    format!("its disk is on StorageClass {class}: {why}"),
                    fix,
                ));
            }
        }
    }
    out
}

/// The components that must not be reachable from outside the cluster.
const DATASTORES: [&str; 5] = ["clickhouse", "kafka", "postgresql", "redis", "zookeeper"];

fn labels(v: &Value) -> Option<BTreeMap<String, String>> {
    v.as_object().map(|m| {
        m.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    })
}

/// Services of a datastore with a node port or a load balancer.
fn exposed_datastores(manifests: &[Value]) -> Vec<Finding> {
    manifests
        .iter()
        .filter(|o| o["kind"] == "Service")
        .filter(|o| matches!(o["spec"]["type"].as_str(), Some("LoadBalancer" | "NodePort")))
        .filter_map(|o| {
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let by_selector = component_of(labels(&o["spec"]["selector"]).as_ref());
            let store = DATASTORES
                .iter()
                .find(|d| by_selector.contains(**d) || name.contains(**d))?;
            Some(finding(
                "exposed-datastore",
                Verdict::Fail,
                named(o),
                "spec.type",
                format!(
                    "{store} is exposed outside the cluster (type {}): anyone who reaches the nodes or the load balancer reaches the database",
                    o["spec"]["type"].as_str().unwrap_or_default()
                ),
                format!("set {store}'s service type to ClusterIP (its service.type value)"),
            ))
        })
        .collect()
}

fn kubernetes_range(r: &Rendered) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(kv) = &r.chart.metadata.kube_version
        && !crate::chart::constraint::satisfies(kv, r.kube_version)
    {
        out.push(finding("kubernetes-range", Verdict::Fail, format!("chart {}", r.chart.metadata.name), "Chart.yaml kubeVersion", format!("the chart supports Kubernetes {kv}, not {} (the version verified for the {} profile)", r.kube_version, r.profile.name), "use a chart version whose kubeVersion includes the cluster's Kubernetes"));
    }
    if !r.profile.kubernetes.allows(r.kube_version) {
        out.push(finding(
            "kubernetes-range",
            Verdict::Fail,
            format!("profile {}", r.profile.name),
            "kubernetes.versions",
            format!(
                "the {} profile supports Kubernetes {}, not {}",
                r.profile.name, r.profile.kubernetes.versions, r.kube_version
            ),
            "verify for a Kubernetes version the profile supports",
        ));
    }
    out
}

/// The components that serve traffic and so must say when they are ready.
const SERVING: [&str; 3] = ["web", "events", "plugins"];

/// Readiness probes on serving containers; probes on the workers and resource requests on
/// everything, as warnings.
fn probes_and_requests(manifests: &[Value]) -> Vec<Finding> {
    let mut out = Vec::new();
    for o in manifests
        .iter()
        .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "StatefulSet")))
    {
        let template = &o["spec"]["template"];
        let component = component_of(labels(&template["metadata"]["labels"]).as_ref());
        let containers = template["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten();
        let mut unrequested = Vec::new();
        for (i, c) in containers.enumerate() {
            let cname = c["name"].as_str().unwrap_or_default();
            let field = format!("spec.template.spec.containers[{i}]");
            if SERVING.contains(&component.as_str()) && !c["readinessProbe"].is_object() {
                out.push(finding("readiness-probe", Verdict::Fail, named(o), format!("{field}.readinessProbe"), format!("container {cname} serves {component} traffic without a readiness probe: it gets requests before it can answer them, and a rollout cannot tell a broken pod"), format!("keep the chart's readiness probe for {component} (do not override it away)")));
            }
            if component.contains("worker")
                && !c["readinessProbe"].is_object()
                && !c["livenessProbe"].is_object()
            {
                out.push(finding("worker-probes", Verdict::Warn, named(o), format!("{field}.livenessProbe"), format!("container {cname} has no liveness or readiness probe: a hung worker is never restarted"), "add a liveness probe to the worker (the chart has none to turn on)"));
            }
            if c["resources"]["requests"]
                .as_object()
                .is_none_or(|r| r.is_empty())
            {
                unrequested.push(cname.to_string());
            }
        }
        if !unrequested.is_empty() {
            out.push(finding(
                "resource-requests",
                Verdict::Warn,
                named(o),
                "spec.template.spec.containers[].resources.requests",
                format!(
                    "no CPU or memory requests on {}: the scheduler may pack it onto a full node, and it is first to be evicted",
                    unrequested.join(", ")
                ),
                "set the component's resources.requests in the values",
            ));
        }
    }
    out
}

/// The verdict of a profile's policy stage: the worst finding not skipped, warnings counting
/// as failures under `--strict`.
pub fn verdict(findings: &[Finding], strict: bool) -> Verdict {
    findings
        .iter()
        .filter(|f| !f.skipped)
        .map(|f| match f.verdict {
            Verdict::Warn if strict => Verdict::Fail,
            v => v,
        })
        .max()
        .unwrap_or(Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(name: &str) -> Profile {
        crate::profile::ProfileSet::load(None)
            .unwrap()
            .get(name)
            .unwrap()
            .clone()
    }

    fn chart() -> Chart {
        Chart::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/charts/posthog-mini"
        )))
        .unwrap()
    }

    fn deployment(role: &str, probe: bool, requests: bool) -> Value {
        let mut c = json!({"name": role, "image": "posthog/posthog:release-1.43.0"});
        if probe {
            c["readinessProbe"] = json!({"httpGet": {"path": "/_readyz", "port": 8000}});
        }
        if requests {
            c["resources"] = json!({"requests": {"cpu": "100m"}});
        }
        json!({"kind": "Deployment", "metadata": {"name": format!("posthog-{role}")},
               "spec": {"template": {"metadata": {"labels": {"role": role}}, "spec": {"containers": [c]}}}})
    }

    #[test]
    fn each_rule_names_the_object_the_field_and_the_fix() {
        let aws = profile("aws");
        let chart = chart();
        let values = json!({"image": {"tag": "release-1.43.0"}})
            .as_object()
            .cloned()
            .unwrap();
        let manifests = vec![
            json!({"kind": "StorageClass", "metadata": {"name": "gp2"}, "provisioner": "kubernetes.io/aws-ebs", "parameters": {"type": "gp2"}}),
            json!({"kind": "StatefulSet", "metadata": {"name": "posthog-kafka"},
                   "spec": {"template": {"metadata": {"labels": {"role": "kafka"}}, "spec": {"containers": [{"name": "kafka", "resources": {"requests": {"cpu": "1"}}}]}},
                            "volumeClaimTemplates": [{"spec": {"storageClassName": "gp2"}}]}}),
            json!({"kind": "StatefulSet", "metadata": {"name": "posthog-clickhouse"},
                   "spec": {"template": {"metadata": {"labels": {"role": "clickhouse"}}, "spec": {"containers": [{"name": "ch", "resources": {"requests": {"cpu": "1"}}}]}},
                            "volumeClaimTemplates": [{"spec": {"storageClassName": "posthog-gp3-encrypted"}}]}}),
            json!({"kind": "Service", "metadata": {"name": "posthog-clickhouse"},
                   "spec": {"type": "LoadBalancer", "selector": {"role": "clickhouse"}}}),
            deployment("web", false, true),
            deployment("events", true, true),
            deployment("worker", false, false),
        ];
        let r = Rendered {
            profile: &aws,
            chart: &chart,
            values: &values,
            manifests: &manifests,
            kube_version: "1.33.2",
        };
        let found = judge(&r);
        let one = |id: &str| found.iter().filter(|f| f.id == id).collect::<Vec<_>>();
        let enc = one("encryption");
        assert_eq!(enc.len(), 1, "{found:#?}");
        assert_eq!(
            (
                enc[0].object.as_str(),
                enc[0].field.as_str(),
                enc[0].verdict
            ),
            (
                "StatefulSet posthog-kafka",
                "spec.volumeClaimTemplates[0].spec.storageClassName",
                Verdict::Fail
            )
        );
        assert_eq!(one("exposed-datastore")[0].field, "spec.type");
        let probe = one("readiness-probe");
        assert_eq!(probe.len(), 1, "{found:#?}");
        assert_eq!(probe[0].object, "Deployment posthog-web");
        assert_eq!(one("worker-probes")[0].verdict, Verdict::Warn);
        assert_eq!(
            one("resource-requests")[0].object,
            "Deployment posthog-worker"
        );
        assert!(one("kubernetes-range").is_empty());
        assert_eq!(verdict(&found, false), Verdict::Fail);
        // Only warnings left: a pass, unless --strict.
        let warnings: Vec<Finding> = found
            .into_iter()
            .filter(|f| f.verdict == Verdict::Warn)
            .collect();
        assert_eq!(verdict(&warnings, false), Verdict::Warn);
        assert_eq!(verdict(&warnings, true), Verdict::Fail);
    }
}
