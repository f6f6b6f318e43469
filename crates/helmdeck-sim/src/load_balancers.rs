//! Cloud load balancers as each provider's controller makes them from a Service of type
//! LoadBalancer and its annotations: which kind of load balancer, whether it sends a PROXY
//! protocol header to its backends, whether it faces the internet, and the address its status
//! shows. The ingress data path ([`crate::internet`]) sends what this decides.
//!
//! Sources, per flavour:
//! - EKS, in-tree (Kubernetes' legacy AWS provider, kubernetes/cloud-provider-aws): a classic
//!   ELB unless `service.beta.kubernetes.io/aws-load-balancer-type` says otherwise;
//!   `aws-load-balancer-proxy-protocol: "*"` (the only value it accepts) turns on proxy
//!   protocol v1 for a classic ELB; `aws-load-balancer-type: nlb` makes an NLB that ignores the
//!   proxy-protocol annotation (kubernetes/kubernetes#101608, kubernetes/cloud-provider-aws#234);
//!   `aws-load-balancer-internal` makes it internal; type `external` is left to the AWS Load
//!   Balancer Controller.
//! - EKS with the AWS Load Balancer Controller (scenario `aws-load-balancer-controller`):
//!   type `external` or `spec.loadBalancerClass: service.k8s.aws/nlb` makes an NLB;
//!   `aws-load-balancer-proxy-protocol: "*"` turns on proxy protocol v2 for its target groups;
//!   its scheme is internal unless `aws-load-balancer-scheme: internet-facing` (the
//!   controller's service annotations documentation).
//! - DOKS (DigitalOcean's cloud controller manager): `do-loadbalancer-enable-proxy-protocol:
//!   "true"` sends proxy protocol v1; `do-loadbalancer-hostname` puts that hostname in the
//!   status instead of the IP (the vendor's CI workflow test-digitalocean-install.yaml relies on
//!   it).
//! - GKE, AKS, k3s and the plain flavour: a passthrough L4 load balancer (GKE's and Azure's
//!   network load balancers, k3s's ServiceLB), no PROXY header.

use serde_json::{Value, json};

use crate::flavor::Flavor;

/// The PROXY protocol header a load balancer puts before a connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    None,
    V1,
    V2,
}

/// A load balancer the cloud made for a Service.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    /// What the cloud made, in its own words ("classic ELB").
    pub kind: &'static str,
    pub proxy: Proxy,
    /// Reachable from the internet (not an internal scheme).
    pub public: bool,
    /// The Service's `status.loadBalancer.ingress[0]`.
    pub ingress: Value,
}

/// What the cloud does with a Service of type LoadBalancer.
#[derive(Debug, Clone, PartialEq)]
pub enum Provisioned {
    Ready(LoadBalancer),
    /// No controller in this cluster makes it; the Service stays `<pending>`.
    Pending(&'static str),
}

const AWS: &str = "service.beta.kubernetes.io/aws-load-balancer-";

fn annotation<'a>(svc: &'a Value, key: &str) -> Option<&'a str> {
    svc["metadata"]["annotations"][key].as_str()
}

/// A stable short digest of the Service's namespace and name, for made-up addresses.
fn digest(svc: &Value) -> u64 {
    let key = format!(
        "{}/{}",
        svc["metadata"]["namespace"].as_str().unwrap_or_default(),
        svc["metadata"]["name"].as_str().unwrap_or_default()
    );
    // FNV-1a: the same Service gets the same address on every run.
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What the cluster's cloud makes for `svc` (a Service of type LoadBalancer).
pub fn provision(flavor: Flavor, svc: &Value, aws_controller: bool) -> Provisioned {
    let d = digest(svc);
    let ip = |prefix: &str| json!({"ip": format!("{prefix}.{}", 1 + d % 250), "ipMode": "VIP"});
    match flavor {
        Flavor::Eks => {
            let kind = annotation(svc, &format!("{AWS}type")).unwrap_or_default();
            let proxy_on = annotation(svc, &format!("{AWS}proxy-protocol")) == Some("*");
            let controller_class =
                svc["spec"]["loadBalancerClass"].as_str() == Some("service.k8s.aws/nlb");
            if kind == "external" || controller_class {
                if !aws_controller {
                    return Provisioned::Pending(
                        "no controller makes it: the AWS Load Balancer Controller is not running (the in-tree provider leaves type external to it)",
                    );
                }
                let public = annotation(svc, &format!("{AWS}scheme")) == Some("internet-facing");
                let host = format!(
                    "k8s-{:08x}-{:010x}.elb.us-east-1.amazonaws.com",
                    d >> 32,
                    d & 0xff_ffff_ffff
                );
                return Provisioned::Ready(LoadBalancer {
                    kind: "NLB (AWS Load Balancer Controller)",
                    proxy: if proxy_on { Proxy::V2 } else { Proxy::None },
                    public,
                    ingress: json!({"hostname": if public { host } else { format!("internal-{host}") }}),
                });
            }
            let public = !matches!(
                annotation(svc, &format!("{AWS}internal")),
                Some("true" | "0.0.0.0/0")
            );
            let prefix = if public { "" } else { "internal-" };
            if kind == "nlb" {
                return Provisioned::Ready(LoadBalancer {
                    kind: "NLB (in-tree)",
                    proxy: Proxy::None,
                    public,
                    ingress: json!({"hostname": format!("{prefix}a{d:016x}-{:08x}.elb.us-east-1.amazonaws.com", d >> 40)}),
                });
            }
            Provisioned::Ready(LoadBalancer {
                kind: "classic ELB",
                proxy: if proxy_on { Proxy::V1 } else { Proxy::None },
                public,
                ingress: json!({"hostname": format!("{prefix}a{d:016x}-{}.us-east-1.elb.amazonaws.com", d % 1_000_000_000)}),
            })
        }
        Flavor::Doks => {
            let proxy_on = annotation(
                svc,
                "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol",
            ) == Some("true");
            let ingress =
                match annotation(svc, "service.beta.kubernetes.io/do-loadbalancer-hostname")
                    .filter(|h| !h.is_empty())
                {
                    Some(h) => json!({"hostname": h}),
                    None => ip("203.0.113"),
                };
            Provisioned::Ready(LoadBalancer {
                kind: "DigitalOcean load balancer",
                proxy: if proxy_on { Proxy::V1 } else { Proxy::None },
                public: true,
                ingress,
            })
        }
        Flavor::Gke => Provisioned::Ready(LoadBalancer {
            kind: "Google Cloud network load balancer",
            proxy: Proxy::None,
            public: true,
            ingress: ip("198.51.100"),
        }),
        Flavor::Aks => Provisioned::Ready(LoadBalancer {
            kind: "Azure Standard Load Balancer",
            proxy: Proxy::None,
            public: true,
            ingress: ip("192.0.2"),
        }),
        Flavor::K3s | Flavor::Plain => Provisioned::Ready(LoadBalancer {
            kind: "ServiceLB",
            proxy: Proxy::None,
            public: true,
            ingress: json!({"ip": format!("172.18.255.{}", 200 + d % 50), "ipMode": "VIP"}),
        }),
    }
}

/// The PROXY header a load balancer sends for a client at `from` reaching it at `to`.
pub fn header(proxy: Proxy, from: std::net::SocketAddr, to: std::net::SocketAddr) -> Vec<u8> {
    match proxy {
        Proxy::None => Vec::new(),
        Proxy::V1 => {
            let fam = if from.is_ipv4() { "TCP4" } else { "TCP6" };
            format!(
                "PROXY {fam} {} {} {} {}\r\n",
                from.ip(),
                to.ip(),
                from.port(),
                to.port()
            )
            .into_bytes()
        }
        Proxy::V2 => {
            // The v2 signature, version 2 / PROXY command, then the addresses.
            let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
            h.push(0x21);
            match (from.ip(), to.ip()) {
                (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
                    h.push(0x11);
                    h.extend(12u16.to_be_bytes());
                    h.extend(a.octets());
                    h.extend(b.octets());
                }
                (a, b) => {
                    let six = |ip: std::net::IpAddr| match ip {
                        std::net::IpAddr::V4(v) => v.to_ipv6_mapped(),
                        std::net::IpAddr::V6(v) => v,
                    };
                    h.push(0x21);
                    h.extend(36u16.to_be_bytes());
                    h.extend(six(a).octets());
                    h.extend(six(b).octets());
                }
            }
            h.extend(from.port().to_be_bytes());
            h.extend(to.port().to_be_bytes());
            h
        }
    }
}

/// What the leading bytes of a connection hold, as nginx's PROXY reader sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// A complete header of this many bytes.
    Complete(usize),
    /// The start of one; more bytes are needed.
    Partial,
    /// Not a PROXY header at all.
    Absent,
    /// A header that cannot be read.
    Broken,
}

/// Reads a PROXY header (v1 or v2) at the start of `data`.
pub fn parse_header(data: &[u8]) -> Header {
    const V2: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
    if data.starts_with(V2) {
        if data.len() < 16 {
            return Header::Partial;
        }
        if data[12] >> 4 != 2 {
            return Header::Broken;
        }
        let len = 16 + u16::from_be_bytes([data[14], data[15]]) as usize;
        return if data.len() >= len {
            Header::Complete(len)
        } else {
            Header::Partial
        };
    }
    if data.starts_with(b"PROXY ") {
        // A v1 line is at most 107 bytes, CRLF included.
        return match data.windows(2).position(|w| w == b"\r\n") {
            Some(end) if end + 2 <= 107 => Header::Complete(end + 2),
            Some(_) => Header::Broken,
            None if data.len() >= 107 => Header::Broken,
            None => Header::Partial,
        };
    }
    Header::Absent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(annotations: Value) -> Value {
        json!({"metadata": {"name": "posthog-ingress-nginx-controller", "namespace": "posthog",
                            "annotations": annotations},
               "spec": {"type": "LoadBalancer"}})
    }

    fn ready(p: Provisioned) -> LoadBalancer {
        match p {
            Provisioned::Ready(lb) => lb,
            Provisioned::Pending(why) => panic!("pending: {why}"),
        }
    }

    #[test]
    fn aws_classic_elb_speaks_proxy_protocol_and_the_in_tree_nlb_does_not() {
        let pp = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol";
        let lb = ready(provision(Flavor::Eks, &svc(json!({pp: "*"})), false));
        assert_eq!((lb.kind, lb.proxy), ("classic ELB", Proxy::V1));
        assert!(
            lb.ingress["hostname"]
                .as_str()
                .unwrap()
                .ends_with(".elb.amazonaws.com")
        );
        let lb = ready(provision(Flavor::Eks, &svc(json!({})), false));
        assert_eq!(lb.proxy, Proxy::None);
        let nlb = json!({pp: "*", "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"});
        let lb = ready(provision(Flavor::Eks, &svc(nlb), false));
        assert_eq!((lb.kind, lb.proxy), ("NLB (in-tree)", Proxy::None));
    }

    #[test]
    fn the_aws_controllers_nlb_needs_the_controller_and_is_internal_unless_told() {
        let ext = |scheme: Option<&str>| {
            let mut a = json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external",
                               "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                               "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"});
            if let Some(s) = scheme {
                a["service.beta.kubernetes.io/aws-load-balancer-scheme"] = json!(s);
            }
            svc(a)
        };
        assert!(matches!(
            provision(Flavor::Eks, &ext(None), false),
            Provisioned::Pending(_)
        ));
        let lb = ready(provision(Flavor::Eks, &ext(None), true));
        assert_eq!((lb.proxy, lb.public), (Proxy::V2, false));
        let lb = ready(provision(Flavor::Eks, &ext(Some("internet-facing")), true));
        assert_eq!((lb.proxy, lb.public), (Proxy::V2, true));
    }

    #[test]
    fn digitalocean_sends_proxy_v1_and_shows_the_hostname_it_is_given() {
        let lb = ready(provision(
            Flavor::Doks,
            &svc(
                json!({"service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol": "true",
                        "service.beta.kubernetes.io/do-loadbalancer-hostname": "ph.example.com"}),
            ),
            false,
        ));
        assert_eq!(lb.proxy, Proxy::V1);
        assert_eq!(lb.ingress, json!({"hostname": "ph.example.com"}));
        let lb = ready(provision(Flavor::Doks, &svc(json!({})), false));
        assert_eq!(lb.proxy, Proxy::None);
        assert!(lb.ingress["ip"].is_string());
        for f in [Flavor::Gke, Flavor::Aks, Flavor::K3s] {
            assert_eq!(
                ready(provision(f, &svc(json!({})), false)).proxy,
                Proxy::None
            );
        }
    }

    #[test]
    fn headers_parse_back_to_their_length() {
        let from: std::net::SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let to: std::net::SocketAddr = "203.0.113.5:80".parse().unwrap();
        for p in [Proxy::V1, Proxy::V2] {
            let mut h = header(p, from, to);
            let n = h.len();
            h.extend(b"GET / HTTP/1.1\r\n");
            assert_eq!(parse_header(&h), Header::Complete(n), "{p:?}");
            assert_eq!(parse_header(&h[..n - 1]), Header::Partial, "{p:?}");
        }
        assert_eq!(parse_header(b"GET / HTTP/1.1\r\n"), Header::Absent);
        assert_eq!(
            parse_header(&[b'P', b'R', b'O', b'X', b'Y', b' ', b'x'].repeat(20)),
            Header::Broken
        );
    }
}
