//! Preflight: what will make an install or upgrade fail, found before anything is applied.
//! Pure functions of the cluster's facts, the profile and the rendered values.

use crate::verdict::{Check, Verdict};
use serde_json::{Map, Value};

use super::encryption::{EncryptionVerdict, judge};
use crate::chart::Chart;
use crate::profile::{EncryptionRule, Profile};
use crate::quantity::{format_bytes, parse_bytes, parse_cpu};

fn check(
    id: &'static str,
    verdict: Verdict,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        id,
        verdict,
        message: message.into(),
        fix: fix.into(),
    }
}

pub use crate::observed::ClusterFacts;

/// The StorageClass the stack's volumes will use: the one the chart installs, the one the
/// values name, or the cluster's default.
fn effective_class(
    values: &Map<String, Value>,
    facts: &ClusterFacts,
) -> Option<(String, String, Value, Option<bool>)> {
    // The vendor's chart makes its class (installCustomStorageClass) but no claim names it and
    // it is not the default (shared/REFERENCE.md), so it changes nothing the claims get; only
    // the stand-in chart, whose `customStorageClass` its claims fall back to, is judged by it.
    let custom = values.get("installCustomStorageClass") == Some(&Value::Bool(true))
        && values.get("customStorageClass").is_some();
    if custom {
        let sc = values.get("customStorageClass").unwrap_or(&Value::Null);
        let name = sc["name"].as_str().unwrap_or("custom").to_string();
        let mut prov = sc["provisioner"].as_str().unwrap_or_default().to_string();
        let mut params = sc["parameters"].clone();
        if prov.is_empty() {
            match values.get("cloud").and_then(Value::as_str) {
                Some("aws") => {
                    prov = "kubernetes.io/aws-ebs".into();
                    params = serde_json::json!({"type": "gp2"});
                }
                Some("gcp") => prov = "kubernetes.io/gce-pd".into(),
                _ => {}
            }
        }
        return Some((name, prov, params, sc["allowVolumeExpansion"].as_bool()));
    }
    let named = values
        .get("clickhouse")
        .and_then(|c| c["persistence"]["storageClass"].as_str())
        .filter(|s| !s.is_empty());
    let sc = match named {
        Some(n) => facts
            .storage_classes
            .iter()
            .find(|c| c["metadata"]["name"] == n),
        None => facts.storage_classes.iter().find(|c| {
            c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        }),
    }?;
    Some((
        sc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        sc["provisioner"].as_str().unwrap_or_default().to_string(),
        sc["parameters"].clone(),
        sc["allowVolumeExpansion"].as_bool(),
    ))
}

/// The checks of one StorageClass the stack's volumes use: encryption under the profile's
/// rule, the provisioner the profile expects, expansion when the profile requires it.
fn class_checks(
    profile: Option<&Profile>,
    name: &str,
    users: &str,
    prov: &str,
    params: &Value,
    expand: Option<bool>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let (verdict, evidence) = judge(prov, params);
    let rule = profile
        .map(|p| p.storage.encryption)
        .unwrap_or(EncryptionRule::NotRequired);
    let (grade, fix) = super::encryption::grade(rule, verdict);
    let message = match (grade, verdict.is_encrypted()) {
        (Verdict::Pass, true) => {
            format!("StorageClass {name}{users} encrypts volumes ({evidence})")
        }
        (Verdict::Pass, false) => format!(
            "StorageClass {name}{users}: {evidence} (the profile does not require encryption)"
        ),
        (Verdict::Fail, _) => {
            format!("StorageClass {name}{users} does not enable encryption ({evidence})")
        }
        (Verdict::Warn, _) => format!("StorageClass {name}{users}: {evidence}"),
    };
    out.push(check("disk-encryption", grade, message, fix));
    if let Some(p) = profile {
        if !p.storage.provisioners.is_empty() && !p.storage.provisioners.iter().any(|x| x == prov) {
            out.push(check(
                "provisioner",
                Verdict::Warn,
                format!(
                    "StorageClass {name} uses {prov}; the {} profile expects one of {}",
                    p.name,
                    p.storage.provisioners.join(", ")
                ),
                "check you picked the right profile for this cluster",
            ));
        }
        if p.storage.require_expansion && expand != Some(true) {
            out.push(check("volume-expansion", Verdict::Warn, format!("StorageClass {name} does not allow volume expansion: full Kafka or ClickHouse disks cannot be grown"), "set allowVolumeExpansion: true on the class"));
        }
    }
    out
}

/// Whether the nodes have room now for what a first install's workloads request: a warning,
/// not a failure, since a cluster autoscaler adds nodes for Pending pods. Without it, a full
/// cluster shows up as pods Pending for helm's whole timeout. None when the room is unknown.
pub fn manifest_room(desired: &[Value], facts: &ClusterFacts) -> Option<Check> {
    use crate::health::room::{Amount, chart_request};
    let room = facts.room.as_ref()?;
    let (need, largest) = chart_request(desired);
    if need == Amount::default() {
        return None;
    }
    let free = room.iter().fold(Amount::default(), |a, (_, r)| Amount {
        cpu: a.cpu + r.cpu.max(0.0),
        memory: a.memory + r.memory.max(0.0),
    });
    let show = |a: Amount| format!("{:.2} CPU and {}", a.cpu, format_bytes(a.memory.max(0.0)));
    let fix = "free room (scale down or remove what the nodes run), add nodes or larger ones, or lower the chart's requests; a cluster autoscaler adds nodes for Pending pods by itself";
    if !free.holds(need) {
        return Some(check(
            "room",
            Verdict::Warn,
            format!(
                "the chart's pods request {} in all; the nodes have {} free (allocatable less what scheduled pods request): some pods will stay Pending",
                show(need),
                show(free)
            ),
            fix,
        ));
    }
    if let Some((name, pod)) = largest
        && !room.iter().any(|(_, r)| r.holds(pod))
    {
        return Some(check(
            "room",
            Verdict::Warn,
            format!(
                "{name}'s pod requests {}; no node has that free: it will stay Pending",
                show(pod)
            ),
            fix,
        ));
    }
    Some(check(
        "room",
        Verdict::Pass,
        format!(
            "the chart's pods request {}; the nodes have {} free",
            show(need),
            show(free)
        ),
        "",
    ))
}

/// Whether the Ingresses the chart renders will be served, from the manifests: the class each
/// names (`spec.ingressClassName`, else the older `kubernetes.io/ingress.class` annotation)
/// must exist on the cluster or be rendered by the chart itself (the vendor chart's
/// ingress-nginx subchart brings its own). Replaces the guess from the values; None when the
/// manifests hold no Ingress.
pub fn manifest_ingress(desired: &[Value], facts: &ClusterFacts) -> Option<Vec<Check>> {
    let of_kind = |k: &'static str| desired.iter().filter(move |d| d["kind"] == k);
    let rendered: Vec<&str> = of_kind("IngressClass")
        .filter_map(|c| c["metadata"]["name"].as_str())
        .collect();
    let default_class = of_kind("IngressClass")
        .find(|c| {
            c["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
        })
        .and_then(|c| c["metadata"]["name"].as_str())
        .or(facts.default_ingress_class.as_deref());
    let mut classes: Vec<(String, Vec<&str>)> = Vec::new();
    for ing in of_kind("Ingress") {
        let name = ing["metadata"]["name"].as_str().unwrap_or_default();
        let class = ing["spec"]["ingressClassName"]
            .as_str()
            .or(ing["metadata"]["annotations"]["kubernetes.io/ingress.class"].as_str());
        // No class named: the cluster's default class serves it, if it has one.
        let class = class.unwrap_or_default().to_string();
        match classes.iter_mut().find(|(c, _)| *c == class) {
            Some((_, users)) => users.push(name),
            None => classes.push((class, vec![name])),
        }
    }
    if classes.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for (class, users) in classes {
        let users = users.join(", ");
        let (verdict, message, fix) = if class.is_empty() {
            match default_class {
                Some(d) => (Verdict::Pass, format!("Ingress {users} names no class: the default IngressClass {d} serves it"), String::new()),
                None => (Verdict::Warn, format!("Ingress {users} names no IngressClass and the cluster has no default one: it may get no address"), "name a class in the chart's ingress values, or mark one default (ingressclass.kubernetes.io/is-default-class: \"true\")".to_string()),
            }
        } else if rendered.contains(&class.as_str()) {
            (
                Verdict::Pass,
                format!(
                    "Ingress {users} uses IngressClass {class}, which the chart installs with its own controller"
                ),
                String::new(),
            )
        } else if facts.ingress_classes.contains(&class) {
            (
                Verdict::Pass,
                format!("Ingress {users} uses IngressClass {class}, which the cluster has"),
                String::new(),
            )
        } else {
            (
                Verdict::Warn,
                format!(
                    "Ingress {users} uses IngressClass {class}, which the cluster does not have: it will get no address"
                ),
                format!(
                    "install an ingress controller serving class {class}, or disable the chart's ingress and use port-forward"
                ),
            )
        };
        out.push(check("ingress-controller", verdict, message, fix));
    }
    Some(out)
}

/// The ids of the checks [`manifest_storage`] replaces.
pub const STORAGE_CHECKS: [&str; 4] = [
    "storage-class",
    "disk-encryption",
    "provisioner",
    "volume-expansion",
];

/// Storage checks from what the rendered manifests' claims will actually use: each claim
/// template's class (StatefulSets, standalone claims, ClickHouseInstallations), found among
/// the classes the chart itself renders and the cluster's (with the profile's objects), the
/// default one for claims that name none. None when the manifests hold no claims.
pub fn manifest_storage(
    profile: Option<&Profile>,
    desired: &[Value],
    facts: &ClusterFacts,
) -> Option<Vec<Check>> {
    // (who, class asked for: None = the default, size asked for)
    let mut refs: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for d in desired {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let kind = d["kind"].as_str().unwrap_or_default();
        let templates: Vec<&Value> = match kind {
            "StatefulSet" => d["spec"]["volumeClaimTemplates"]
                .as_array()
                .map(|a| a.iter().map(|t| &t["spec"]).collect())
                .unwrap_or_default(),
            "PersistentVolumeClaim" => vec![&d["spec"]],
            "ClickHouseInstallation" => d["spec"]["templates"]["volumeClaimTemplates"]
                .as_array()
                .map(|a| a.iter().map(|t| &t["spec"]).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for t in templates {
            refs.push((
                format!("{kind} {name}"),
                t["storageClassName"].as_str().map(str::to_string),
                t["resources"]["requests"]["storage"]
                    .as_str()
                    .map(str::to_string),
            ));
        }
    }
    if refs.is_empty() {
        return None;
    }
    let rendered: Vec<&Value> = desired
        .iter()
        .filter(|d| d["kind"] == "StorageClass")
        .collect();
    let find = |n: &str| {
        rendered
            .iter()
            .copied()
            .chain(facts.storage_classes.iter())
            .find(|c| c["metadata"]["name"] == n)
    };
    let default = facts.storage_classes.iter().find(|c| {
        c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    });
    let rule = profile
        .map(|p| p.storage.encryption)
        .unwrap_or(EncryptionRule::NotRequired);
    // Group the users by the class they end up on.
    let mut by_class: Vec<(String, Vec<String>)> = Vec::new();
    let mut sized: Vec<(String, String, String)> = Vec::new();
    let mut out = Vec::new();
    for (who, class, size) in refs {
        let key = match class.as_deref() {
            Some("") => {
                let (grade, fix) = super::encryption::grade(rule, EncryptionVerdict::Unknown);
                out.push(check("disk-encryption", grade, format!("{who} asks for no StorageClass (storageClassName \"\"): its volume must be made by hand, and helmdeck cannot judge its encryption"), fix));
                continue;
            }
            Some(n) => n.to_string(),
            None => match default {
                Some(d) => d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                None => {
                    out.push(check("storage-class", Verdict::Fail, format!("{who} names no StorageClass and the cluster has no default one: its claims stay Pending"), "mark a StorageClass as default, or point the component's persistence.storageClass at one"));
                    continue;
                }
            },
        };
        if let Some(size) = size {
            sized.push((who.clone(), key.clone(), size));
        }
        match by_class.iter_mut().find(|(c, _)| *c == key) {
            Some((_, users)) => users.push(who),
            None => by_class.push((key, vec![who])),
        }
    }
    out.extend(local_disk_room(&sized, &find, facts));
    for (class, users) in by_class {
        let Some(sc) = find(&class) else {
            out.push(check("storage-class", Verdict::Fail, format!("StorageClass {class} (asked for by {}) does not exist: the claims stay Pending", users.join(", ")), "create the class, or point the components' persistence.storageClass at one that exists"));
            continue;
        };
        out.extend(class_checks(
            profile,
            &class,
            &format!(" (used by {})", users.join(", ")),
            sc["provisioner"].as_str().unwrap_or_default(),
            &sc["parameters"],
            sc["allowVolumeExpansion"].as_bool(),
        ));
    }
    Some(out)
}

/// Provisioners whose volumes are directories on the node that runs the pod (k3s's and
/// kind's local-path, minikube's hostpath, static local volumes): a claim there is bounded by
/// that node's disk, whatever size it asks for.
const NODE_LOCAL: [&str; 3] = [
    "rancher.io/local-path",
    "k8s.io/minikube-hostpath",
    "kubernetes.io/no-provisioner",
];

/// Claims on a node-local class that no node's disk can hold: each must fit on one node, and
/// all of them on the nodes together.
fn local_disk_room<'a>(
    sized: &[(String, String, String)],
    find: &dyn Fn(&str) -> Option<&'a Value>,
    facts: &ClusterFacts,
) -> Vec<Check> {
    let largest = facts.node_disks.iter().map(|(_, b)| *b).fold(0.0, f64::max);
    let total: f64 = facts.node_disks.iter().map(|(_, b)| *b).sum();
    if largest <= 0.0 {
        return Vec::new();
    }
    let local: Vec<(&str, &str, f64)> = sized
        .iter()
        .filter(|(_, class, _)| {
            find(class).is_some_and(|c| {
                NODE_LOCAL.contains(&c["provisioner"].as_str().unwrap_or_default())
            })
        })
        .filter_map(|(who, _, size)| {
            Some((
                who.as_str(),
                size.as_str(),
                crate::quantity::parse_bytes(size)?,
            ))
        })
        .collect();
    let gib =
        |b: f64| crate::quantity::format_bytes((b / 1_073_741_824.0).round() * 1_073_741_824.0);
    let mut out: Vec<Check> = local
        .iter()
        .filter(|(_, _, bytes)| *bytes > largest)
        .map(|(who, size, _)| {
            check(
                "disk-size",
                Verdict::Fail,
                format!(
                    "{who} asks for {size} on a node-local class, but the largest node's disk is {} (kubelet's ephemeral-storage): the volume cannot hold it",
                    gib(largest)
                ),
                "ask for less (the component's persistence.size), or use nodes with bigger disks",
            )
        })
        .collect();
    let sum: f64 = local.iter().map(|(_, _, b)| b).sum();
    if out.is_empty() && sum > total {
        out.push(check(
            "disk-size",
            Verdict::Fail,
            format!(
                "the claims on node-local classes ask for {} in all, more than the nodes' disks hold together ({})",
                gib(sum),
                gib(total)
            ),
            "ask for less (the components' persistence.size), or add nodes or bigger disks",
        ));
    }
    out
}

/// The vendor chart's app image (`image.repository`, `.sha`, `.tag`, `.default`), judged on the
/// values helm will render: from chart 30.32.0 `image.default` is `:latest` with `pullPolicy:
/// Always` (shared/REFERENCE.md; the 30.0.0 package defaults to `:release-1.42.0`, the 30.46.0
/// one to `:latest`), so unless `image.tag` or `image.sha` is set every pod start pulls whatever
/// `latest` is that day, not the app version the chart declares.
pub fn app_image(chart: &Chart, values: &Map<String, Value>) -> Option<Check> {
    let image = values.get("image")?.as_object()?;
    let default = image.get("default")?.as_str()?;
    let set = |k: &str| {
        image
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    if set("sha") || set("tag") || !default.ends_with(":latest") {
        return None;
    }
    let app = chart.metadata.app_version.as_deref().unwrap_or("?");
    let always = image.get("pullPolicy").and_then(Value::as_str) == Some("Always");
    Some(check(
        "app-image",
        Verdict::Warn,
        format!(
            "the app image is unpinned: {}{default}{}, not app {app} the chart declares",
            image
                .get("repository")
                .and_then(Value::as_str)
                .unwrap_or(""),
            if always {
                " with pullPolicy Always pulls whatever `latest` is at every pod start"
            } else {
                " runs whatever `latest` was when the node pulled it"
            }
        ),
        format!(
            "set image.tag: release-{app} (or image.sha) to run the app this chart was made for"
        ),
    ))
}

pub fn run(
    profile: Option<&Profile>,
    chart: &Chart,
    values: &Map<String, Value>,
    facts: &ClusterFacts,
    release_status: Option<crate::release_status::ReleaseStatus>,
) -> Vec<Check> {
    let mut out = vec![check(
        "api",
        Verdict::Pass,
        format!("API server reachable (Kubernetes {})", facts.server_version),
        "",
    )];
    if !facts.denied.is_empty() {
        out.push(check(
            "rights",
            Verdict::Fail,
            format!(
                "the kubeconfig's user may not {} (the API server's access review says no)",
                facts.denied.join(", ")
            ),
            "use a user with write rights in the release's namespace (helm keeps its releases there as Secrets); with this one, only look: --readonly",
        ));
    }
    let version = facts
        .server_version
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .to_string();
    if let Some(p) = profile {
        if p.kubernetes.allows(&version) {
            out.push(check(
                "kubernetes-version",
                Verdict::Pass,
                format!(
                    "Kubernetes {version} is within the {} profile's range {}",
                    p.name, p.kubernetes.versions
                ),
                "",
            ));
        } else {
            out.push(check("kubernetes-version", Verdict::Fail, format!("Kubernetes {version} is outside the {} profile's supported range {}", p.name, p.kubernetes.versions), "upgrade (or downgrade) the cluster into the supported range, or use a profile that supports this version"));
        }
    }
    if let Some(kv) = &chart.metadata.kube_version {
        // As helm checks it: the server's full version, provider suffix included.
        let ok = crate::chart::constraint::satisfies(kv, &facts.server_version);
        out.push(if ok {
            check(
                "chart-kube-version",
                Verdict::Pass,
                format!("chart {} accepts Kubernetes {version} ({kv})", chart.name()),
                "",
            )
        } else {
            check(
                "chart-kube-version",
                Verdict::Fail,
                format!(
                    "chart {} requires Kubernetes {kv}; the cluster runs {version}",
                    chart.name()
                ),
                "use a chart version that supports this Kubernetes version",
            )
        });
    }
    if let Some(p) = profile {
        let req = &p.requirements;
        let cpu: f64 = facts.nodes.iter().filter_map(|n| parse_cpu(&n.1)).sum();
        let mem: f64 = facts.nodes.iter().filter_map(|n| parse_bytes(&n.2)).sum();
        let need_cpu = parse_cpu(&req.cpu).unwrap_or(0.0);
        let need_mem = parse_bytes(&req.memory).unwrap_or(0.0);
        let have = format!(
            "{} node(s), {cpu} CPU and {} capacity",
            facts.nodes.len(),
            format_bytes(mem)
        );
        let want = format!(
            "{} node(s), {need_cpu} CPU and {}",
            req.min_nodes,
            format_bytes(need_mem)
        );
        if (facts.nodes.len() as u32) < req.min_nodes
            || cpu + 1e-9 < need_cpu
            // Instance sizes are nominal; a kubelet reports the memory the kernel leaves
            // (MemTotal), a few percent less, so a cluster of the named size must pass.
            || mem < need_mem * 0.9
        {
            out.push(check("capacity", Verdict::Fail, format!("the cluster has {have}; the {} profile needs {want}", p.name), "add nodes or use larger instance types; installs on too small clusters time out with pods Pending"));
        } else {
            out.push(check(
                "capacity",
                Verdict::Pass,
                format!("the cluster has {have} (needs {want})"),
                "",
            ));
        }
    }
    match effective_class(values, facts) {
        None => out.push(check("storage-class", Verdict::Fail, "no StorageClass for the stack's volumes: the cluster has no default class and the values name none", "mark a StorageClass as default, or name one in each component's persistence.storageClass (clickhouse, kafka, zookeeper, postgresql, redis.master); installCustomStorageClass alone does not help: its class is not the default and no claim names it")),
        Some((name, prov, params, expand)) => {
            out.extend(class_checks(profile, &name, "", &prov, &params, expand));
        }
    }
    let ingress_on = values.get("ingress").is_some_and(|i| i["enabled"] == true);
    let nginx = values
        .get("ingress")
        .and_then(|i| i["type"].as_str())
        .unwrap_or("nginx")
        != "clb";
    if ingress_on && nginx {
        if facts.ingress_classes.iter().any(|c| c == "nginx") {
            out.push(check(
                "ingress-controller",
                Verdict::Pass,
                "an nginx IngressClass exists",
                "",
            ));
        } else {
            out.push(check("ingress-controller", Verdict::Warn, "ingress is enabled with type nginx but the cluster has no nginx IngressClass: the Ingress will get no address", "install ingress-nginx, or set ingress.enabled=false and use port-forward"));
        }
    }
    out.extend(proxy_protocol(
        profile.map(|p| p.provider.as_str()),
        values,
        // The webhook runs when a Service is created: a first install's.
        release_status.is_none()
            && facts
                .mutating_webhooks
                .iter()
                .any(|w| w == AWS_LBC_SERVICE_WEBHOOK),
    ));
    out.extend(app_image(chart, values));
    out.extend(super::retention::kafka(values, None));
    match release_status {
        Some(s) if s.is_pending() => out.push(check("release-state", Verdict::Fail, format!("the release is stuck in {s}: a previous helm run was cut short"), "run `helmdeck rollback` to return to the last deployed revision (or uninstall a first install that never deployed)")),
        Some(s) => out.push(check("release-state", Verdict::Pass, format!("release status: {s}"), "")),
        None => {}
    }
    out
}

/// Whether the cloud's load balancer and the chart's nginx agree on the PROXY protocol, from
/// the values alone: a mismatch makes nginx close or refuse every request through the load
/// balancer, so it fails before anything is applied. Which annotation makes which load balancer
/// send a header: the in-tree AWS provider's classic ELB sends v1 with
/// `aws-load-balancer-proxy-protocol: "*"` while its NLB (`type: nlb`) ignores it
/// (kubernetes/kubernetes#101608); the AWS Load Balancer Controller's NLB (`type: external`)
/// sends v2 and is internal unless `aws-load-balancer-scheme: internet-facing`; DigitalOcean
/// sends v1 with `do-loadbalancer-enable-proxy-protocol: "true"`. Other providers' load
/// balancers send none.
/// The AWS Load Balancer Controller's Service webhook (v2.5 and later, on by default): it sets
/// `spec.loadBalancerClass: service.k8s.aws/nlb` on every new Service of type LoadBalancer, so
/// the controller makes an NLB where the in-tree provider would make a classic ELB (the
/// controller's installation guide, "When using AWS Load Balancer Controller v2.5+").
pub const AWS_LBC_SERVICE_WEBHOOK: &str = "mservice.elbv2.k8s.aws";

pub fn proxy_protocol(
    provider: Option<&str>,
    values: &Map<String, Value>,
    aws_controller_claims_services: bool,
) -> Vec<Check> {
    let nginx_on = values
        .get("ingress")
        .is_some_and(|i| i["nginx"]["enabled"] == true && i["enabled"] != false);
    let Some(controller) = values.get("ingress-nginx").map(|n| &n["controller"]) else {
        return Vec::new();
    };
    if !nginx_on {
        return Vec::new();
    }
    let truthy = |v: &Value| v == true || v == "true";
    let expects = truthy(&controller["config"]["use-proxy-protocol"]);
    let a = &controller["service"]["annotations"];
    let ann = |k: &str| a[k].as_str().unwrap_or_default();
    const AWS: &str = "service.beta.kubernetes.io/aws-load-balancer-";
    let provider = provider.or(values.get("cloud").and_then(Value::as_str));
    let key = |k: &str| format!("ingress-nginx.controller.service.annotations.{AWS}{k}");
    let mut out = Vec::new();
    let (sends, lb, fix_lb) = match provider {
        Some("aws") => {
            let kind = ann(&format!("{AWS}type"));
            let pp = ann(&format!("{AWS}proxy-protocol")) == "*";
            let claimed = aws_controller_claims_services
                && controller["service"]["loadBalancerClass"].is_null();
            if kind == "external" || claimed {
                if ann(&format!("{AWS}scheme")) != "internet-facing" {
                    out.push(check("load-balancer", Verdict::Warn, "the AWS Load Balancer Controller makes an internal NLB unless told otherwise: the stack will not be reachable from the internet", format!("set {}: internet-facing", key("scheme"))));
                }
                (pp, "the AWS Load Balancer Controller's NLB", format!("set {}: \"*\"", key("proxy-protocol")))
            } else if kind == "nlb" {
                (false, "the in-tree NLB (aws-load-balancer-type: nlb), which ignores aws-load-balancer-proxy-protocol (kubernetes/kubernetes#101608),", format!("remove {} for a classic ELB with proxy protocol (the aws profile's), or use the AWS Load Balancer Controller's NLB ({}: external)", key("type"), key("type")))
            } else {
                (pp, "the classic ELB", format!("set {}: \"*\"", key("proxy-protocol")))
            }
        }
        Some("digitalocean" | "do") => (
            ann("service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol") == "true",
            "DigitalOcean's load balancer",
            "set ingress-nginx.controller.service.annotations.service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol: \"true\"".to_string(),
        ),
        Some("gcp" | "azure") => (false, "the cloud's load balancer, which sends no PROXY header,", String::new()),
        _ => return out,
    };
    let nginx = "ingress-nginx.controller.config.use-proxy-protocol";
    match (sends, expects) {
        (true, false) => out.push(check("proxy-protocol", Verdict::Fail, format!("{lb} sends a PROXY header that nginx is not told to expect: nginx would answer 400 to every request through it"), format!("set {nginx}: \"true\""))),
        (false, true) => out.push(check("proxy-protocol", Verdict::Fail, format!("nginx expects a PROXY header ({nginx}: \"true\") that {lb} does not send: nginx would close every connection through it"), if fix_lb.is_empty() { format!("set {nginx}: \"false\"") } else { format!("{fix_lb}; or set {nginx}: \"false\"") })),
        (true, true) => out.push(check("proxy-protocol", Verdict::Pass, format!("{lb} sends a PROXY header and nginx expects it"), "")),
        (false, false) => {}
    }
    out
}

/// StatefulSet fields Kubernetes will refuse to change, found by comparing the objects a
/// server-side dry run would apply with the live ones.
pub fn immutable_changes(desired: &[Value], live: &[Value]) -> Vec<Check> {
    let claims = |s: &Value| -> Vec<(String, String, String)> {
        s["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    t["spec"]["resources"]["requests"]["storage"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    t["spec"]["storageClassName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    };
    let mut out = Vec::new();
    for d in desired.iter().filter(|d| d["kind"] == "StatefulSet") {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let Some(l) = live.iter().find(|l| l["metadata"]["name"] == name) else {
            continue;
        };
        let (want, have) = (claims(d), claims(l));
        if want == have {
            continue;
        }
        let shown = |c: &str| {
            if c.is_empty() {
                "(the cluster's default)".to_string()
            } else {
                c.to_string()
            }
        };
        let mut class_change = false;
        let what: Vec<String> = want
            .iter()
            .zip(have.iter().map(Some).chain(std::iter::repeat(None)))
            .filter(|(w, h)| Some(*w) != *h)
            .map(|(w, h)| match h {
                Some(h) if h.2 != w.2 => {
                    class_change = true;
                    format!("{} storageClass {} → {}", w.0, shown(&h.2), shown(&w.2))
                }
                Some(h) if h.1 != w.1 => format!("{} size {} → {}", w.0, h.1, w.1),
                _ => format!("{} changed", w.0),
            })
            .collect();
        // Growing a claim is what --resize-disks does; a claim's class cannot change at all
        // (the volume was provisioned by it), so that fix is to keep the class.
        let fix = if class_change {
            "keep the volumes' storageClass as it is deployed (the current value is shown first): an existing volume cannot move to another class; new disks on the new class mean a new install and copying the data (back it up first)".to_string()
        } else {
            format!(
                "run the upgrade again with --resize-disks and helmdeck grows the claims and recreates the StatefulSet; by hand: resize the claims with `kubectl patch pvc` (the class must allow expansion), run `kubectl delete statefulset {name} --cascade=orphan` (pods and volumes stay) and upgrade again"
            )
        };
        out.push(check(
            "immutable-fields",
            Verdict::Fail,
            format!(
                "StatefulSet {name}: volumeClaimTemplates cannot be changed by an upgrade ({})",
                what.join(", ")
            ),
            fix,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileSet;
    use serde_json::json;

    fn facts(cpu: &str, mem: &str, sc: Value) -> ClusterFacts {
        ClusterFacts {
            server_version: "v1.33.2".into(),
            nodes: (1..=3)
                .map(|i| (format!("n{i}"), cpu.to_string(), mem.to_string()))
                .collect(),
            storage_classes: vec![sc],
            room: None,
            node_disks: Vec::new(),
            ingress_classes: vec!["nginx".into()],
            default_ingress_class: None,
            mutating_webhooks: Vec::new(),
            denied: Vec::new(),
        }
    }

    fn chart() -> Chart {
        Chart::load(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("assets/charts/posthog-mini"),
        )
        .unwrap()
    }

    #[test]
    fn unencrypted_default_class_fails_aws_passes_local() {
        let set = ProfileSet::load(None).unwrap();
        let gp2 = json!({"metadata": {"name": "gp2", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "kubernetes.io/aws-ebs", "parameters": {"type": "gp2"}, "allowVolumeExpansion": true});
        let f = facts("4", "16Gi", gp2);
        let values = json!({"cloud": "aws", "installCustomStorageClass": false})
            .as_object()
            .cloned()
            .unwrap();
        let checks = run(Some(set.get("aws").unwrap()), &chart(), &values, &f, None);
        let enc = checks.iter().find(|c| c.id == "disk-encryption").unwrap();
        assert_eq!(enc.verdict, Verdict::Fail, "{enc:?}");
        let checks = run(Some(set.get("local").unwrap()), &chart(), &values, &f, None);
        assert_eq!(
            checks
                .iter()
                .find(|c| c.id == "disk-encryption")
                .unwrap()
                .verdict,
            Verdict::Pass
        );
    }

    /// The profiles as shipped agree with their load balancers; taking either side away, or
    /// asking the in-tree NLB for proxy protocol, fails before anything is applied.
    #[test]
    fn a_load_balancer_and_nginx_that_disagree_on_proxy_protocol_fail_preflight() {
        let set = ProfileSet::load(None).unwrap();
        let verdicts = |provider: &str, values: &Map<String, Value>| {
            proxy_protocol(Some(provider), values, false)
                .into_iter()
                .filter(|c| c.id == "proxy-protocol")
                .map(|c| (c.verdict, c.message, c.fix))
                .collect::<Vec<_>>()
        };
        let with = |profile: &str, path: &str, v: Value| {
            let mut values = set.get(profile).unwrap().values.clone();
            crate::values::set_path(&mut values, path, v);
            values
        };
        for (profile, provider) in [("aws", "aws"), ("digitalocean", "digitalocean")] {
            let values = set.get(profile).unwrap().values.clone();
            let got = verdicts(provider, &values);
            assert!(
                got.iter().all(|(v, _, _)| *v == Verdict::Pass) && !got.is_empty(),
                "{profile}: {got:?}"
            );
            let off = with(
                profile,
                "ingress-nginx.controller.config.use-proxy-protocol",
                json!("false"),
            );
            let got = verdicts(provider, &off);
            assert_eq!(got[0].0, Verdict::Fail, "{got:?}");
            assert!(got[0].2.contains("use-proxy-protocol: \"true\""), "{got:?}");
        }
        let nlb = with(
            "aws",
            "ingress-nginx.controller.service.annotations.service\\.beta\\.kubernetes\\.io/aws-load-balancer-type",
            json!("nlb"),
        );
        let got = verdicts("aws", &nlb);
        assert_eq!(got[0].0, Verdict::Fail);
        assert!(
            got[0].1.contains("in-tree NLB") && got[0].2.contains("classic ELB"),
            "{got:?}"
        );
        let no_lb = with(
            "digitalocean",
            "ingress-nginx.controller.service.annotations.service\\.beta\\.kubernetes\\.io/do-loadbalancer-enable-proxy-protocol",
            json!("false"),
        );
        let got = verdicts("digitalocean", &no_lb);
        assert!(
            got[0].0 == Verdict::Fail && got[0].2.contains("do-loadbalancer-enable-proxy-protocol"),
            "{got:?}"
        );
        // Azure's load balancer sends none: expecting one fails; the profile as shipped says nothing.
        assert!(verdicts("azure", &set.get("azure").unwrap().values).is_empty());
        let azure = with(
            "azure",
            "ingress-nginx.controller.config.use-proxy-protocol",
            json!(true),
        );
        assert_eq!(verdicts("azure", &azure)[0].0, Verdict::Fail);
    }

    /// The vendor's chart: its own class is not the default and no claim names it, so turning
    /// it on leaves the claims without a class, and the fix does not send the user there.
    #[test]
    fn the_vendors_custom_class_does_not_count_as_the_claims_class() {
        let set = ProfileSet::load(None).unwrap();
        let other = json!({"metadata": {"name": "slow"}, "provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": "true"}});
        let f = facts("12", "48Gi", other);
        let values = json!({"cloud": "aws", "installCustomStorageClass": true})
            .as_object()
            .cloned()
            .unwrap();
        let checks = run(Some(set.get("aws").unwrap()), &chart(), &values, &f, None);
        let sc = checks.iter().find(|c| c.id == "storage-class").unwrap();
        assert_eq!(sc.verdict, Verdict::Fail, "{sc:?}");
        assert!(
            sc.fix
                .contains("installCustomStorageClass alone does not help")
                && sc.fix.contains("persistence.storageClass"),
            "{sc:?}"
        );
    }

    #[test]
    fn small_nodes_and_pending_release_fail() {
        let set = ProfileSet::load(None).unwrap();
        let sc = json!({"metadata": {"name": "x", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": "true"}});
        let f = facts("500m", "1Gi", sc);
        let values = json!({"cloud": "local"}).as_object().cloned().unwrap();
        let checks = run(
            Some(set.get("local").unwrap()),
            &chart(),
            &values,
            &f,
            Some(crate::release_status::ReleaseStatus::PendingUpgrade),
        );
        assert_eq!(
            checks.iter().find(|c| c.id == "capacity").unwrap().verdict,
            Verdict::Fail
        );
        assert_eq!(
            checks
                .iter()
                .find(|c| c.id == "release-state")
                .unwrap()
                .verdict,
            Verdict::Fail
        );
    }

    /// A claim on k3s's local-path lives on its node's disk: one no node can hold fails,
    /// as do claims that together outgrow every node; a cloud class is not judged so.
    #[test]
    fn claims_on_a_node_local_class_must_fit_the_nodes_disks() {
        let set = ProfileSet::load(None).unwrap();
        let local = json!({"metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path"});
        let mut f = facts("4", "16Gi", local);
        f.node_disks = (1..=3)
            .map(|i| (format!("n{i}"), 100.0 * 1_073_741_824.0))
            .collect();
        let sts = |name: &str, size: &str| {
            json!({"kind": "StatefulSet", "metadata": {"name": name},
                   "spec": {"volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": size}}}}]}})
        };
        let judge = |desired: &[Value], f: &ClusterFacts| {
            manifest_storage(Some(set.get("local").unwrap()), desired, f)
                .unwrap()
                .into_iter()
                .filter(|c| c.id == "disk-size")
                .collect::<Vec<_>>()
        };
        let huge = judge(&[sts("clickhouse", "500Ti"), sts("kafka", "20Gi")], &f);
        assert_eq!(huge.len(), 1, "{huge:?}");
        assert!(
            huge[0]
                .message
                .contains("StatefulSet clickhouse asks for 500Ti")
                && huge[0].message.contains("100Gi"),
            "{huge:?}"
        );
        let together = judge(
            &[
                sts("a", "90Gi"),
                sts("b", "90Gi"),
                sts("c", "90Gi"),
                sts("d", "90Gi"),
            ],
            &f,
        );
        assert_eq!(together.len(), 1, "{together:?}");
        assert!(together[0].message.contains("360Gi in all"), "{together:?}");
        assert!(judge(&[sts("clickhouse", "20Gi")], &f).is_empty());
        let ebs = json!({"metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": "true"}});
        let mut cloud = facts("4", "16Gi", ebs);
        cloud.node_disks = f.node_disks.clone();
        assert!(judge(&[sts("clickhouse", "500Ti")], &cloud).is_empty());
    }

    #[test]
    fn a_user_without_write_rights_fails_preflight_with_what_it_lacks() {
        let set = ProfileSet::load(None).unwrap();
        let sc = json!({"metadata": {"name": "x", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path"});
        let mut f = facts("4", "16Gi", sc);
        let values = json!({"cloud": "local"}).as_object().cloned().unwrap();
        let local = set.get("local").unwrap();
        assert!(
            !run(Some(local), &chart(), &values, &f, None)
                .iter()
                .any(|c| c.id == "rights")
        );
        f.denied = vec!["create secrets in posthog".into()];
        let checks = run(Some(local), &chart(), &values, &f, None);
        let rights = checks.iter().find(|c| c.id == "rights").unwrap();
        assert_eq!(rights.verdict, Verdict::Fail);
        assert!(
            rights.message.contains("create secrets in posthog"),
            "{rights:?}"
        );
        assert!(rights.fix.contains("--readonly"), "{rights:?}");
    }

    #[test]
    fn a_storage_class_change_names_the_default_and_does_not_offer_a_resize() {
        let sts = |class: Option<&str>| {
            let mut spec = json!({"resources": {"requests": {"storage": "20Gi"}}});
            if let Some(c) = class {
                spec["storageClassName"] = json!(c);
            }
            json!({"kind": "StatefulSet", "metadata": {"name": "posthog-kafka"},
                   "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": spec}]}})
        };
        let c = immutable_changes(&[sts(Some("gp3-encrypted"))], &[sts(None)]);
        assert_eq!(c.len(), 1);
        assert!(
            c[0].message
                .contains("data storageClass (the cluster's default) → gp3-encrypted"),
            "{c:?}"
        );
        assert!(!c[0].fix.contains("--resize-disks"), "{c:?}");
        let c = immutable_changes(&[sts(None)], &[sts(None)]);
        assert!(c.is_empty());
    }

    #[test]
    fn unsupported_kubernetes_version_fails() {
        let set = ProfileSet::load(None).unwrap();
        let mut f = facts("4", "16Gi", json!({}));
        f.server_version = "v1.19.16".into();
        let checks = run(
            Some(set.get("aws").unwrap()),
            &chart(),
            &Map::new(),
            &f,
            None,
        );
        assert_eq!(
            checks
                .iter()
                .find(|c| c.id == "kubernetes-version")
                .unwrap()
                .verdict,
            Verdict::Fail
        );
        assert_eq!(
            checks
                .iter()
                .find(|c| c.id == "chart-kube-version")
                .unwrap()
                .verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn ingresses_are_judged_by_the_class_they_name() {
        let ing = |name: &str, class: Option<&str>, annotation: Option<&str>| {
            json!({"kind": "Ingress", "metadata": {"name": name, "annotations":
                annotation.map(|a| json!({"kubernetes.io/ingress.class": a}))},
                "spec": {"ingressClassName": class}})
        };
        let class = |name: &str, default: bool| {
            json!({"kind": "IngressClass", "metadata": {"name": name, "annotations":
                {"ingressclass.kubernetes.io/is-default-class": if default { "true" } else { "false" }}}})
        };
        let cluster = facts("4", "16Gi", json!({})); // has an nginx class, no default
        let verdicts = |desired: &[Value], f: &ClusterFacts| -> Vec<(Verdict, String)> {
            manifest_ingress(desired, f)
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.verdict, c.message))
                .collect()
        };
        assert!(manifest_ingress(&[class("nginx", false)], &cluster).is_none());
        let on_cluster = verdicts(&[ing("web", Some("nginx"), None)], &cluster);
        assert_eq!(on_cluster[0].0, Verdict::Pass, "{on_cluster:?}");
        assert!(on_cluster[0].1.contains("which the cluster has"));
        // The older annotation names the class too.
        let missing = verdicts(&[ing("web", None, Some("traefik"))], &cluster);
        assert_eq!(missing[0].0, Verdict::Warn, "{missing:?}");
        assert!(
            missing[0]
                .1
                .contains("IngressClass traefik, which the cluster does not have")
        );
        let own = verdicts(
            &[ing("web", Some("traefik"), None), class("traefik", false)],
            &cluster,
        );
        assert_eq!(own[0].0, Verdict::Pass);
        assert!(own[0].1.contains("which the chart installs"));
        // No class named: only a default class serves it, the cluster's or the chart's.
        let unnamed = verdicts(&[ing("web", None, None)], &cluster);
        assert_eq!(unnamed[0].0, Verdict::Warn, "{unnamed:?}");
        let mut with_default = cluster.clone();
        with_default.default_ingress_class = Some("nginx".into());
        let served = verdicts(&[ing("web", None, None)], &with_default);
        assert_eq!(served[0].0, Verdict::Pass);
        assert!(served[0].1.contains("default IngressClass nginx"));
        let charts = verdicts(&[ing("web", None, None), class("own", true)], &cluster);
        assert!(
            charts[0].1.contains("default IngressClass own"),
            "{charts:?}"
        );
        // Two Ingresses on one class: one line naming both.
        let two = verdicts(
            &[
                ing("web", Some("nginx"), None),
                ing("events", Some("nginx"), None),
            ],
            &cluster,
        );
        assert_eq!(two.len(), 1);
        assert!(two[0].1.contains("web, events"));
    }
}
