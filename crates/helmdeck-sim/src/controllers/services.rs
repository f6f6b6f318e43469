//! Endpoints for services from their ready pods, load balancers from the cluster's cloud, and
//! ingress addresses.

use super::*;
use crate::load_balancers::{Provisioned, provision};

pub(super) fn services(
    store: &mut Store,
    cs: &mut ControllerState,
    flavor: crate::Flavor,
    aws_controller: bool,
) {
    let svc_gr = gr("", "services");
    let ep_gr = gr("", "endpoints");
    let gone: Vec<(String, String)> = cs
        .endpoints
        .iter()
        .filter(|(ns, name)| !store.has(&svc_gr, ns, name))
        .cloned()
        .collect();
    for (ns, name) in gone {
        store.delete_system(("v1", "Endpoints"), &ns, &name);
        cs.endpoints.remove(&(ns, name));
    }
    // Only what endpoints need, and only the service's namespace: a copy of every pod each
    // pass held the store for seconds at 100,000 pods.
    let slim = |p: &Value| {
        json!({"metadata": {"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"],
                            "uid": p["metadata"]["uid"], "labels": p["metadata"]["labels"]},
               "spec": {"nodeName": p["spec"]["nodeName"]},
               "status": {"podIP": p["status"]["podIP"], "phase": p["status"]["phase"],
                          "conditions": p["status"]["conditions"]}})
    };
    for svc in list(store, &svc_gr) {
        let (ns, name) = (ns_of(&svc), name_of(&svc));
        let Some(sel) = svc["spec"]["selector"]
            .as_object()
            .filter(|m| !m.is_empty())
        else {
            continue;
        };
        let selector = LabelSelector::from_object(&json!({"matchLabels": sel}));
        let matching: Vec<Value> = store
            .iter_gr(&gr("", "pods"), Some(&ns))
            .filter(|p| !p["status"]["podIP"].is_null() && selector.matches(p) && !is_terminal(p))
            .map(|p| slim(&p))
            .collect();
        let matching: Vec<&Value> = matching.iter().collect();
        let addr = |p: &Value| json!({"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"], "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}});
        let ready: Vec<Value> = matching
            .iter()
            .filter(|p| is_ready(p))
            .map(|p| addr(p))
            .collect();
        let not_ready: Vec<Value> = matching
            .iter()
            .filter(|p| !is_ready(p))
            .map(|p| addr(p))
            .collect();
        let ports: Vec<Value> = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| json!({"name": p["name"], "port": p["targetPort"].as_i64().or(p["port"].as_i64()), "protocol": p["protocol"]}))
            .collect();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        let subsets = if ready.is_empty() && not_ready.is_empty() {
            json!([])
        } else {
            json!([subset])
        };
        let ep = json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns, "labels": svc["metadata"]["labels"]},
            "subsets": subsets});
        match store.get_gr(&ep_gr, &ns, &name) {
            None => {
                if store.create_system(("v1", "Endpoints"), &ns, ep).is_ok() {
                    cs.endpoints.insert((ns.clone(), name.clone()));
                }
            }
            Some(old) if old["subsets"] != ep["subsets"] => {
                let mut o = old;
                o["subsets"] = ep["subsets"].clone();
                store.put_raw(&ep_gr, &ns, &name, o);
            }
            Some(_) => {}
        }
        let es_gr = gr("discovery.k8s.io", "endpointslices");
        let es_name = format!("{name}-{}", &hash_of(&json!(name))[..5]);
        let endpoints: Vec<Value> = matching
            .iter()
            .map(|p| json!({"addresses": [p["status"]["podIP"]], "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": false},
                            "nodeName": p["spec"]["nodeName"], "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}}))
            .collect();
        let es_ports: Vec<Value> = ports.clone();
        match store.get_gr(&es_gr, &ns, &es_name) {
            None => {
                let es = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": es_name, "namespace": ns, "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                                 "ownerReferences": [owner_ref(&svc)]},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": es_ports});
                let _ = store.create_system(("discovery.k8s.io/v1", "EndpointSlice"), &ns, es);
            }
            Some(old) if old["endpoints"] != json!(endpoints) => {
                let mut o = old;
                o["endpoints"] = json!(endpoints);
                store.put_raw(&es_gr, &ns, &es_name, o);
            }
            Some(_) => {}
        }
        // The cloud's controller reconciles: an annotation changed later changes the status.
        if svc["spec"]["type"] == "LoadBalancer"
            && let Provisioned::Ready(lb) = provision(flavor, &svc, aws_controller)
            && svc["status"]["loadBalancer"]["ingress"][0] != lb.ingress
        {
            store.set_status(
                &svc_gr,
                &ns,
                &name,
                json!({"loadBalancer": {"ingress": [lb.ingress]}}),
            );
        }
    }
}

/// An Ingress gets an address once a controller serves its class: an ingress-nginx controller
/// running in the cluster gives it its `--publish-service`'s load balancer address (as
/// ingress-nginx publishes it), the `ingress-controller` scenario's controller a fixed one.
pub(super) fn ingresses(store: &mut Store, cs: &mut ControllerState) {
    let ing_gr = gr("networking.k8s.io", "ingresses");
    let classes = list(store, &gr("networking.k8s.io", "ingressclasses"));
    // Found among the pods again only when a pod changed.
    let at = stamp(store, &[gr("", "pods")]);
    let controllers = match cs.nginx.take() {
        Some((seen, found)) if seen == at => found,
        _ => crate::ingress::nginx_controllers(store),
    };
    cs.nginx = Some((at, controllers.clone()));
    let served = |ing: &Value| crate::ingress::served(ing, &classes);
    for ing in list(store, &ing_gr) {
        let published = controllers
            .iter()
            .find(|c| c.serves(&ing, &classes))
            .map(|c| {
                c.publish
                    .as_ref()
                    .and_then(|(ns, name)| store.get_gr(&gr("", "services"), ns, name))
                    .and_then(|s| s["status"]["loadBalancer"]["ingress"].as_array().cloned())
                    // An Ingress's address has no `ipMode` (IngressLoadBalancerIngress).
                    .map(|a| {
                        a.iter()
                            .map(|i| {
                                let mut o = i.clone();
                                if let Some(m) = o.as_object_mut() {
                                    m.remove("ipMode");
                                }
                                o
                            })
                            .collect::<Vec<_>>()
                    })
                    .filter(|a| !a.is_empty())
                    .map(Value::from)
            });
        let want = match published {
            Some(Some(addr)) => addr,
            // Its controller runs, but its load balancer has no address yet.
            Some(None) => continue,
            None if served(&ing) && ing["status"]["loadBalancer"]["ingress"].is_null() => {
                json!([{"ip": "172.18.255.100"}])
            }
            None => continue,
        };
        if ing["status"]["loadBalancer"]["ingress"] != want {
            store.set_status(
                &ing_gr,
                &ns_of(&ing),
                &name_of(&ing),
                json!({"loadBalancer": {"ingress": want}}),
            );
        }
    }
}
