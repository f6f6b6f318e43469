//! The aws profile's load balancer on a cluster that runs the AWS Load Balancer Controller: its
//! Service webhook (v2.5 and later, on by default) turns every new Service of type LoadBalancer
//! into the controller's NLB, which is internal unless told otherwise, so the profile's classic
//! ELB settings would give an internal NLB no one can reach. A first install there asks for
//! the controller's internet-facing NLB instead, with proxy protocol v2, which nginx reads as it
//! reads v1 (the controller's installation guide and its NLB annotations page; see
//! `health::preflight::proxy_protocol`).

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::values::{LayerSource, RenderRequest, UserLayer, get_path, set_path};

use super::super::{Event, send};

const AWS: &str = "ingress-nginx.controller.service.annotations.service\\.beta\\.kubernetes\\.io/aws-load-balancer-";

/// The annotations the controller's internet-facing NLB needs, besides the profile's
/// `aws-load-balancer-proxy-protocol: "*"` (v2 on the controller's NLB).
const NLB: [(&str, &str); 3] = [
    ("type", "external"),
    ("nlb-target-type", "instance"),
    ("scheme", "internet-facing"),
];

/// Puts the controller's NLB into the profile's layer when the cluster's webhook would claim a
/// new load balancer Service and the user chose no load balancer themselves.
pub fn for_the_cluster(
    request: &mut RenderRequest,
    provider: Option<&str>,
    webhook_claims_services: bool,
    first_install: bool,
    tx: &UnboundedSender<Event>,
) {
    if provider != Some("aws") || !webhook_claims_services || !first_install {
        return;
    }
    let Ok(given) = request.user_values() else {
        return;
    };
    let from_profile = request.profile.as_ref().map(|p| &p.values);
    let theirs = |k: &str| {
        let path = format!("{AWS}{k}");
        get_path(&given, &path).is_some()
            && get_path(&given, &path) != from_profile.and_then(|p| get_path(p, &path))
    };
    let class = "ingress-nginx.controller.service.loadBalancerClass";
    if theirs("type") || theirs("scheme") || get_path(&given, class).is_some() {
        return;
    }
    let layer = request.profile.get_or_insert_with(|| UserLayer {
        source: LayerSource::Profile { name: "aws".into() },
        values: Default::default(),
    });
    for (k, v) in NLB {
        set_path(
            &mut layer.values,
            &format!("{AWS}{k}"),
            Value::String(v.into()),
        );
    }
    send(
        tx,
        Event::Notice {
            message: "load balancer: the AWS Load Balancer Controller's webhook (mservice.elbv2.k8s.aws) claims new load balancer Services, so the ingress gets its NLB, internet-facing, with proxy protocol v2 (aws-load-balancer-type: external, nlb-target-type: instance, scheme: internet-facing) instead of the classic ELB".into(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RenderRequest {
        let set = crate::profile::ProfileSet::load(None).unwrap();
        RenderRequest {
            profile: Some(set.get("aws").unwrap().layer()),
            ..Default::default()
        }
    }

    #[test]
    fn the_controllers_webhook_turns_the_classic_elb_into_its_internet_facing_nlb() {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut r = request();
        for_the_cluster(&mut r, Some("aws"), true, true, &tx);
        let v = r.user_values().unwrap();
        let a = |k: &str| get_path(&v, &format!("{AWS}{k}")).cloned();
        assert_eq!(a("type"), Some("external".into()));
        assert_eq!(a("scheme"), Some("internet-facing".into()));
        assert_eq!(a("proxy-protocol"), Some("*".into()));
        // Nothing changes without the webhook, on an upgrade, or when the user chose.
        for (claims, first) in [(false, true), (true, false)] {
            let mut r = request();
            for_the_cluster(&mut r, Some("aws"), claims, first, &tx);
            assert_eq!(
                get_path(&r.user_values().unwrap(), &format!("{AWS}type")),
                None
            );
        }
        let mut r = request();
        r.sets
            .push((crate::values::SetKind::Set, format!("{AWS}type=nlb")));
        for_the_cluster(&mut r, Some("aws"), true, true, &tx);
        let v = r.user_values().unwrap();
        assert_eq!(get_path(&v, &format!("{AWS}type")), Some(&"nlb".into()));
        assert_eq!(get_path(&v, &format!("{AWS}scheme")), None);
    }
}
