//! What answers on a pod's port: the program its container runs, told by its image. PostHog's
//! components answer through `workload`; the Prometheus exporters the vendor chart can turn
//! on answer `/metrics` with gauges that follow their backend (a Service with a ready pod
//! behind it, or the sidecar's own pod); ClickHouse, Grafana and Prometheus answer their
//! health endpoints. Anything else answers as nothing listening does (`None`), and the caller
//! refuses as the API server's proxy or the ingress controller would.
//!
//! The metric names are the exporters' own (prometheus-community/postgres_exporter `pg_up`,
//! oliver006/redis_exporter `redis_up`, danielqsj/kafka_exporter `kafka_brokers`,
//! prometheus-community/pgbouncer_exporter `pgbouncer_up`); the values are the simulated
//! cluster's.

use serde_json::{Value, json};

use crate::store::Store;
use crate::workload::HttpReply;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Program {
    PostHog,
    PostgresExporter,
    RedisExporter,
    KafkaExporter,
    PgbouncerExporter,
    StatsdExporter,
    ClickHouse,
    Grafana,
    Prometheus,
}

/// PostHog's roles in the vendor chart and the stand-in: their pods answer as PostHog.
const POSTHOG_ROLES: &[&str] = &[
    "web",
    "events",
    "worker",
    "plugins",
    "plugins-ingestion",
    "plugins-async",
    "plugins-exports",
    "plugins-jobs",
    "plugins-scheduler",
    "decide",
    "recordings",
];

/// The program a container runs, from its image (and, for PostHog's own containers, the
/// pod's role).
pub fn program_of(pod: &Value, container: &Value) -> Option<Program> {
    let image = container["image"].as_str().unwrap_or_default();
    // The repository, without registry host and tag: `quay.io/a/b:1` → `a/b`.
    let repo = image.split(['@']).next().unwrap_or_default();
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    let name = repo.rsplit('/').next().unwrap_or_default();
    let role = pod["metadata"]["labels"]["role"].as_str().unwrap_or("");
    Some(match name {
        _ if repo.ends_with("posthog/posthog") || repo.ends_with("posthog/posthog-foss") => {
            Program::PostHog
        }
        "postgres-exporter" | "postgres_exporter" => Program::PostgresExporter,
        "redis_exporter" | "redis-exporter" => Program::RedisExporter,
        "kafka-exporter" | "kafka_exporter" => Program::KafkaExporter,
        "pgbouncer-exporter" | "pgbouncer_exporter" => Program::PgbouncerExporter,
        "statsd-exporter" | "statsd_exporter" => Program::StatsdExporter,
        "clickhouse-server" => Program::ClickHouse,
        "grafana" => Program::Grafana,
        "prometheus" => Program::Prometheus,
        _ if POSTHOG_ROLES.contains(&role) => Program::PostHog,
        _ => return None,
    })
}

/// The container that listens on `port` (a number or a port name), else the first.
pub fn container_on<'a>(pod: &'a Value, port: Option<&str>) -> Option<&'a Value> {
    let containers = pod["spec"]["containers"].as_array()?;
    let declares = |c: &Value| {
        port.is_some_and(|want| {
            c["ports"].as_array().is_some_and(|ps| {
                ps.iter().any(|p| {
                    p["containerPort"]
                        .as_u64()
                        .map(|n| n.to_string())
                        .as_deref()
                        == Some(want)
                        || p["name"].as_str() == Some(want)
                })
            })
        })
    };
    containers
        .iter()
        .find(|c| declares(c))
        .or(containers.first())
}

/// The words a container runs with: its command and args.
fn words(c: &Value) -> Vec<&str> {
    ["command", "args"]
        .iter()
        .flat_map(|k| c[*k].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect()
}

fn env<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?
        .get("value")?
        .as_str()
}

/// The host of an address in any of the forms exporters take (`redis://h:6379`,
/// `postgresql://u:p@h:5432/db`, `h:5432/?sslmode=disable`, `h`).
fn host_of(addr: &str) -> &str {
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split(['/', '?']).next().unwrap_or_default();
    rest.rsplit_once(':').map_or(rest, |(h, _)| h)
}

/// How many ready pods stand behind the Service a host name resolves to (`svc`, `svc.ns`,
/// `svc.ns.svc.cluster.local`), as a client in `ns` would resolve it.
fn ready_behind(store: &Store, ns: &str, host: &str) -> usize {
    let mut parts = host.split('.');
    let svc = parts.next().unwrap_or_default();
    let ns = parts.next().unwrap_or(ns);
    let services = (String::new(), "services".to_string());
    store
        .peek_gr(&services, ns, svc)
        .map_or(0, |s| crate::workload::ready_pods_behind(store, &s).count())
}

fn text(status: u16, content_type: &'static str, body: String) -> HttpReply {
    HttpReply {
        status,
        content_type,
        body: body.into_bytes(),
        wait: std::time::Duration::ZERO,
    }
}

const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus text exposition of gauges.
fn gauges(values: &[(&str, f64)]) -> HttpReply {
    let mut out = String::new();
    for (name, v) in values {
        out.push_str(&format!("# TYPE {name} gauge\n{name} {v}\n"));
    }
    text(200, METRICS_TYPE, out)
}

/// The answer of a program other than PostHog to `GET path`.
pub fn answer(
    program: Program,
    store: &Store,
    pod: &Value,
    container: &Value,
    method: &str,
    path: &str,
) -> HttpReply {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let up = |host: Option<&str>| host.is_some_and(|h| ready_behind(store, ns, host_of(h)) > 0);
    let flag = |name: &str| {
        words(container)
            .into_iter()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
    };
    let not_found = || {
        text(
            404,
            "text/plain; charset=utf-8",
            "404 page not found\n".into(),
        )
    };
    if method != "GET" && method != "HEAD" {
        return text(
            405,
            "text/plain; charset=utf-8",
            "Method Not Allowed\n".into(),
        );
    }
    let bool_gauge = |b: bool| if b { 1.0 } else { 0.0 };
    match (program, path) {
        (Program::PostgresExporter, "/metrics") => {
            let host = env(container, "DATA_SOURCE_URI").or(env(container, "DATA_SOURCE_NAME"));
            gauges(&[("pg_up", bool_gauge(up(host)))])
        }
        (Program::RedisExporter, "/metrics") => {
            let host = env(container, "REDIS_ADDR").or(flag("--redis.addr"));
            gauges(&[("redis_up", bool_gauge(up(host)))])
        }
        (Program::KafkaExporter, "/metrics") => {
            let brokers = words(container)
                .into_iter()
                .filter_map(|w| w.strip_prefix("--kafka.server="))
                .map(|h| ready_behind(store, ns, host_of(h)))
                .max()
                .unwrap_or(0);
            gauges(&[("kafka_brokers", brokers as f64)])
        }
        (Program::PgbouncerExporter, "/metrics") => {
            // It reads PgBouncer in its own pod (127.0.0.1): up while that container runs.
            let me = container["name"].as_str().unwrap_or_default();
            let others_running = pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["name"] != me)
                .all(|s| s["state"]["running"].is_object());
            gauges(&[("pgbouncer_up", bool_gauge(others_running))])
        }
        (Program::StatsdExporter, "/metrics") => gauges(&[]),
        (Program::PostgresExporter | Program::RedisExporter | Program::KafkaExporter, "/" | "") => {
            text(
                200,
                "text/html; charset=utf-8",
                "<html><body><a href=\"/metrics\">Metrics</a></body></html>\n".into(),
            )
        }
        (Program::ClickHouse, "/ping" | "/" | "") => {
            text(200, "text/html; charset=UTF-8", "Ok.\n".into())
        }
        (Program::Grafana, "/api/health") => {
            let image = container["image"].as_str().unwrap_or_default();
            let version = image.rsplit_once(':').map_or("", |(_, t)| t);
            HttpReply {
                status: 200,
                content_type: "application/json; charset=UTF-8",
                body: serde_json::to_vec(&json!({"database": "ok", "version": version}))
                    .unwrap_or_default(),
                wait: std::time::Duration::ZERO,
            }
        }
        (Program::Prometheus, "/-/healthy") => text(
            200,
            "text/plain; charset=utf-8",
            "Prometheus Server is Healthy.\n".into(),
        ),
        (Program::Prometheus, "/-/ready") => text(
            200,
            "text/plain; charset=utf-8",
            "Prometheus Server is Ready.\n".into(),
        ),
        _ => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_told_by_image() {
        let pod = json!({"metadata": {"labels": {"role": "pgbouncer"}}});
        let c = |image: &str| json!({"image": image});
        for (image, want) in [
            ("posthog/posthog:release-1.43.0", Some(Program::PostHog)),
            (
                "quay.io/prometheuscommunity/postgres-exporter:v0.10.0",
                Some(Program::PostgresExporter),
            ),
            (
                "oliver006/redis_exporter:v1.27.0",
                Some(Program::RedisExporter),
            ),
            (
                "danielqsj/kafka-exporter:v1.4.2",
                Some(Program::KafkaExporter),
            ),
            (
                "prometheuscommunity/pgbouncer-exporter:v0.4.1",
                Some(Program::PgbouncerExporter),
            ),
            (
                "localhost:5000/grafana/grafana:9.5.1",
                Some(Program::Grafana),
            ),
            ("bitnami/pgbouncer:1.17.0", None),
            ("altinity/metrics-exporter:latest", None),
        ] {
            assert_eq!(program_of(&pod, &c(image)), want, "{image}");
        }
        let web = json!({"metadata": {"labels": {"role": "web"}}});
        assert_eq!(program_of(&web, &c("my/fork:1")), Some(Program::PostHog));
    }

    #[test]
    fn hosts_are_read_from_each_address_form() {
        assert_eq!(
            host_of("redis://posthog-posthog-redis-master:6379"),
            "posthog-posthog-redis-master"
        );
        assert_eq!(host_of("pg:5432/?sslmode=disable"), "pg");
        assert_eq!(host_of("postgresql://u:p@pg.ns:5432/db"), "pg.ns");
        assert_eq!(host_of("kafka"), "kafka");
    }
}
