//! The verdict on the public path (see `cluster::public_path`): which side of the load
//! balancer is wrong, and the value to change.
//!
//! What nginx does, from its source (`ngx_http_request.c`, `ngx_proxy_protocol.c`): with
//! `use-proxy-protocol` it reads a PROXY header before the request and closes the connection
//! without an answer when there is none ("broken header"); without it, a PROXY header is read as
//! a request line it cannot parse and answered 400. Which annotation makes each cloud's load
//! balancer send one is in the profiles and `helmdeck-sim`'s `load_balancers`.

use crate::observed::{Exchange, PublicPathRecord};
use crate::verdict::{Check, Verdict};

const AWS_PROXY: &str = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol";
const AWS_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-type";
const DO_PROXY: &str = "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol";
const NGINX_KEY: &str = "ingress-nginx.controller.config.use-proxy-protocol";

/// How one request through the load balancer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// The app answered (any status of its own).
    App(u16),
    /// nginx's own 400: it read a PROXY header as a request.
    NginxBadRequest,
    /// Connected, then closed without an answer.
    ClosedWithoutAnswer,
    /// No connection at all.
    Unreachable,
    /// ingress-nginx's default backend: no rule for the host.
    NoRoute,
    /// No ready pod behind the route.
    NoBackend,
}

fn seen(e: &Exchange) -> Seen {
    match e.status {
        Some(400) if String::from_utf8_lossy(&e.body).contains("<center>nginx</center>") => {
            Seen::NginxBadRequest
        }
        Some(404) if String::from_utf8_lossy(&e.body).contains("default backend") => Seen::NoRoute,
        // nginx's own error pages are HTML; a JSON body is the app's answer (capture's 503).
        Some(502..=504) if serde_json::from_slice::<serde_json::Value>(&e.body).is_err() => {
            Seen::NoBackend
        }
        Some(s) => Seen::App(s),
        None => {
            let err = e.error.as_deref().unwrap_or_default().to_ascii_lowercase();
            let closed = [
                "connection closed",
                "incomplete",
                "reset",
                "broken pipe",
                "eof",
            ];
            if closed.iter().any(|c| err.contains(c)) {
                Seen::ClosedWithoutAnswer
            } else {
                Seen::Unreachable
            }
        }
    }
}

/// The annotation that makes this load balancer send PROXY headers, by what it carries.
fn lb_side(r: &PublicPathRecord) -> String {
    let a = &r.annotations;
    if a.get(AWS_TYPE).map(String::as_str) == Some("nlb") {
        return format!(
            "the in-tree NLB ({AWS_TYPE}: nlb) ignores {AWS_PROXY} (kubernetes/kubernetes#101608): remove {AWS_TYPE} for a classic ELB with proxy protocol, as the aws profile does, or use the AWS Load Balancer Controller's NLB ({AWS_TYPE}: external, with {AWS_PROXY}: \"*\")"
        );
    }
    if a.keys().any(|k| k.contains("/aws-load-balancer-")) {
        return format!("set ingress-nginx.controller.service.annotations.{AWS_PROXY}: \"*\"");
    }
    if a.keys().any(|k| k.contains("/do-loadbalancer-")) {
        return format!("set ingress-nginx.controller.service.annotations.{DO_PROXY}: \"true\"");
    }
    "turn on the load balancer's proxy protocol".into()
}

/// Whether anything answered at the load balancer's address (right after an install its DNS
/// name may not resolve yet, or this machine may not reach it).
pub fn reached(r: &PublicPathRecord) -> bool {
    seen(&r.health) != Seen::Unreachable || seen(&r.capture) != Seen::Unreachable
}

/// The public-path check: pass when web and events answer through the load balancer.
pub fn check(r: &PublicPathRecord) -> Check {
    let via = match &r.connect_to {
        Some(c) => format!("http://{} via {} (connected to {c})", r.hostname, r.address),
        None => format!("http://{} via {}", r.hostname, r.address),
    };
    let lb = r.load_balancer.as_deref().unwrap_or("the load balancer");
    // The AWS Load Balancer Controller's NLB is internal unless told otherwise (its NLB
    // annotations page): nothing outside the VPC reaches it, whatever answers inside.
    let aws_controller = r.annotations.get(AWS_TYPE).map(String::as_str) == Some("external")
        || r.load_balancer_class.as_deref() == Some("service.k8s.aws/nlb");
    let scheme = "service.beta.kubernetes.io/aws-load-balancer-scheme";
    if aws_controller && r.annotations.get(scheme).map(String::as_str) != Some("internet-facing") {
        return Check {
            id: "public-path",
            verdict: Verdict::Fail,
            message: format!(
                "{via}: {lb} is the AWS Load Balancer Controller's NLB, which is internal without {scheme}: internet-facing; nothing outside the VPC reaches it"
            ),
            fix: format!(
                "set ingress-nginx.controller.service.annotations.{scheme}: internet-facing"
            ),
        };
    }
    let (h, c) = (seen(&r.health), seen(&r.capture));
    let both = |s: Seen| h == s || c == s;
    let fail = |message: String, fix: String| Check {
        id: "public-path",
        verdict: Verdict::Fail,
        message,
        fix,
    };
    if both(Seen::ClosedWithoutAnswer) {
        let nginx = match r.nginx_use_proxy_protocol {
            Some(true) => format!("nginx expects a PROXY header ({NGINX_KEY}: \"true\")"),
            _ => "nginx closed the connection".into(),
        };
        return fail(
            format!(
                "{via}: {nginx} and {lb} does not send one: nginx closes every connection without an answer"
            ),
            format!(
                "{}; or, if the load balancer must not use proxy protocol, set {NGINX_KEY}: \"false\"",
                lb_side(r)
            ),
        );
    }
    if both(Seen::NginxBadRequest) {
        return fail(
            format!(
                "{via}: {lb} sends a PROXY header that nginx does not expect: nginx answers 400 to every request"
            ),
            format!(
                "set {NGINX_KEY}: \"true\" (or remove the load balancer's proxy-protocol annotation)"
            ),
        );
    }
    if both(Seen::Unreachable) {
        let err = r
            .health
            .error
            .clone()
            .or(r.capture.error.clone())
            .unwrap_or_default();
        return fail(
            format!("{via}: cannot reach the load balancer: {err}"),
            format!(
                "point DNS for {} at {}; from a machine that cannot reach it, give --connect-to IP:PORT of a tunnel to it",
                r.hostname, r.address
            ),
        );
    }
    if both(Seen::NoRoute) {
        return fail(
            format!(
                "{via}: nginx has no rule for host {} (its default backend answered 404)",
                r.hostname
            ),
            "check the Ingress's host (ingress.hostname) and ingress class".into(),
        );
    }
    if both(Seen::NoBackend) {
        return fail(
            format!("{via}: nginx reached no ready web or events pod (502-504)"),
            "see helmdeck check --pods".into(),
        );
    }
    let code = |s: Seen| match s {
        Seen::App(c) => c.to_string(),
        _ => "?".into(),
    };
    Check {
        id: "public-path",
        verdict: Verdict::Pass,
        message: format!(
            "{via}: web answered /_livez {} and events answered /e/ {} through {lb}",
            code(h),
            code(c)
        ),
        fix: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(status: Option<u16>, body: &str, error: Option<&str>) -> Exchange {
        Exchange {
            status,
            latency_ms: 1,
            error: error.map(str::to_string),
            body: body.as_bytes().to_vec(),
        }
    }

    fn rec(annotations: &[(&str, &str)], nginx: Option<bool>, e: Exchange) -> PublicPathRecord {
        PublicPathRecord {
            hostname: "ph.example.com".into(),
            address: "203.0.113.9".into(),
            connect_to: None,
            load_balancer: Some("posthog/posthog-ingress-nginx-controller".into()),
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            nginx_use_proxy_protocol: nginx,
            load_balancer_class: None,
            health: e.clone(),
            capture: e,
        }
    }

    #[test]
    fn each_side_of_a_proxy_protocol_mismatch_is_named_with_its_value() {
        // nginx expects PROXY, the in-tree NLB does not send it.
        let closed = ex(
            None,
            "",
            Some("error sending request: connection closed before message completed"),
        );
        let c = check(&rec(
            &[(AWS_TYPE, "nlb"), (AWS_PROXY, "*")],
            Some(true),
            closed.clone(),
        ));
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.message.contains("nginx expects a PROXY header"), "{c:?}");
        assert!(
            c.fix.contains("in-tree NLB") && c.fix.contains("classic ELB"),
            "{c:?}"
        );
        // DigitalOcean without the annotation.
        let c = check(&rec(
            &[(
                "service.beta.kubernetes.io/do-loadbalancer-hostname",
                "ph.example.com",
            )],
            Some(true),
            closed,
        ));
        assert!(c.fix.contains(DO_PROXY), "{c:?}");
        // The load balancer sends PROXY, nginx was not told.
        let nginx400 = ex(
            Some(400),
            "<html><center><h1>400 Bad Request</h1></center><hr><center>nginx</center></html>",
            None,
        );
        let c = check(&rec(&[(DO_PROXY, "true")], Some(false), nginx400));
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.message.contains("nginx does not expect") && c.fix.contains(NGINX_KEY),
            "{c:?}"
        );
        // The app's own 400 (a bad key) is an answer: the path works.
        let app400 = ex(Some(400), "{\"type\": \"validation_error\"}", None);
        assert_eq!(check(&rec(&[], Some(false), app400)).verdict, Verdict::Pass);
        // So is capture's own 503 (JSON), unlike nginx's page for a route without a pod.
        let app503 = ex(Some(503), "{\"type\": \"server_error\"}", None);
        assert_eq!(check(&rec(&[], Some(false), app503)).verdict, Verdict::Pass);
        let nginx503 = ex(
            Some(503),
            "<html><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></html>",
            None,
        );
        assert_eq!(
            check(&rec(&[], Some(false), nginx503)).verdict,
            Verdict::Fail
        );
        let refused = ex(
            None,
            "",
            Some("error sending request: tcp connect error: Connection refused (os error 111)"),
        );
        let c = check(&rec(&[], None, refused.clone()));
        assert!(
            c.message.contains("cannot reach") && c.fix.contains("--connect-to"),
            "{c:?}"
        );
        // The AWS Load Balancer Controller's NLB without internet-facing is internal.
        let mut r = rec(&[(AWS_PROXY, "*")], Some(true), refused);
        r.load_balancer_class = Some("service.k8s.aws/nlb".into());
        let c = check(&r);
        assert!(
            c.message.contains("internal") && c.fix.contains("internet-facing"),
            "{c:?}"
        );
    }
}
