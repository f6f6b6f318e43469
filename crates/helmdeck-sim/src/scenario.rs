//! Named situations the simulated cluster can be put in, from tests or `--scenario`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Pods with this `role` label crash-loop.
    Crashloop(String),
    /// Pods with this `role` label cannot pull their image.
    ImagePullError(String),
    /// The default StorageClass is an AWS EBS class without `encrypted`.
    UnencryptedStorage,
    /// Nodes too small for any cloud profile.
    SmallNodes,
    /// The migrate Job fails.
    FailingMigration,
    /// Every watch is dropped and the server unreachable for this long (state kept).
    ApiRestart(Duration),
    /// Every request is delayed by this much.
    Latency(Duration),
    /// Pods created directly: this many namespaces, this many pods in all.
    Scale { namespaces: usize, pods: usize },
    /// Helm releases stored as helm stores them (a Secret per revision, uncompressed JSON,
    /// which helm also reads), across 50 namespaces: this many, each with this many revisions.
    Releases { releases: usize, revisions: usize },
    /// The capture endpoint answers 503.
    IngestionDown,
    /// Capture answers 200 but events never become visible.
    IngestionStalled,
    /// Events become visible this long after capture.
    IngestionDelay(Duration),
    /// The readiness and plugin health endpoints answer 503.
    Unhealthy,
    /// This claim gets a volume made outside its class (restored from a backup, or a retained
    /// volume bound again): no `pv.kubernetes.io/provisioned-by`.
    RestoredVolume(String),
    /// This async migration (a name, or its number such as `0006`) errors when it runs.
    AsyncMigrationFails(String),
    /// An nginx ingress controller is installed (its IngressClass belongs to the Helm release
    /// `ingress-nginx` in namespace `ingress-nginx`), so Ingresses get an address.
    IngressController,
    /// The AWS Load Balancer Controller runs (on the eks flavour): it makes NLBs for Services
    /// of type `external` or class `service.k8s.aws/nlb`.
    AwsLoadBalancerController,
    /// metrics-server runs, so `metrics.k8s.io` is served (`kubectl top` works). The k3s
    /// flavour has it without asking, as k3s ships it; other clusters have it only when it is
    /// installed (this scenario, or its chart).
    MetricsServer,
    /// The volumes of pods with this role (as `crashloop:ROLE` matches them) fill at this many
    /// MB (10^6 bytes) a minute of the simulated clock, on top of what ingestion writes,
    /// starting this full (a percentage: data restored or kept from before); a full one makes
    /// its pod crash-loop with the program's "No space left on device".
    DiskFilling {
        role: String,
        mb_per_minute: u64,
        from_percent: u8,
    },
}

impl std::str::FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        let need = |what: &str| {
            format!(
                "scenario {name} needs {what}, e.g. {name}:{}",
                match what {
                    "a role" => "web",
                    "seconds" => "5",
                    "milliseconds" => "50",
                    _ => "10:1000",
                }
            )
        };
        let num = |a: &str, what: &str| a.parse::<u64>().map_err(|_| need(what));
        match name {
            "crashloop" if !arg.is_empty() => Ok(Scenario::Crashloop(arg.into())),
            "image-pull-error" if !arg.is_empty() => Ok(Scenario::ImagePullError(arg.into())),
            "crashloop" | "image-pull-error" => Err(need("a role")),
            "unencrypted-storage" => Ok(Scenario::UnencryptedStorage),
            "small-nodes" => Ok(Scenario::SmallNodes),
            "failing-migration" => Ok(Scenario::FailingMigration),
            "api-restart" => Ok(Scenario::ApiRestart(Duration::from_secs(num(
                arg, "seconds",
            )?))),
            "latency" => Ok(Scenario::Latency(Duration::from_millis(num(
                arg,
                "milliseconds",
            )?))),
            "ingestion-down" => Ok(Scenario::IngestionDown),
            "ingestion-stalled" => Ok(Scenario::IngestionStalled),
            "ingestion-delay" => Ok(Scenario::IngestionDelay(Duration::from_millis(num(
                arg,
                "milliseconds",
            )?))),
            "unhealthy" => Ok(Scenario::Unhealthy),
            "ingress-controller" => Ok(Scenario::IngressController),
            "aws-load-balancer-controller" => Ok(Scenario::AwsLoadBalancerController),
            "metrics-server" => Ok(Scenario::MetricsServer),
            "restored-volume" if !arg.is_empty() => Ok(Scenario::RestoredVolume(arg.into())),
            "restored-volume" => Err(format!(
                "scenario {name} needs a claim, e.g. {name}:data-posthog-posthog-kafka-0"
            )),
            "disk-filling" => {
                let usage = || {
                    format!(
                        "scenario {name} needs ROLE:MB_PER_MIN[:FROM_PERCENT], e.g. {name}:kafka:500 or {name}:kafka:500:75"
                    )
                };
                let mut parts = arg.split(':');
                let role = parts.next().filter(|r| !r.is_empty()).ok_or_else(usage)?;
                let mb_per_minute = parts
                    .next()
                    .and_then(|r| r.parse::<u64>().ok())
                    .filter(|r| *r > 0)
                    .ok_or_else(usage)?;
                let from_percent = match parts.next() {
                    None => 0,
                    Some(p) => p
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p < 100)
                        .ok_or_else(usage)?,
                };
                if parts.next().is_some() {
                    return Err(usage());
                }
                Ok(Scenario::DiskFilling {
                    role: role.into(),
                    mb_per_minute,
                    from_percent,
                })
            }
            "async-migration-fails" if !arg.is_empty() => {
                Ok(Scenario::AsyncMigrationFails(arg.into()))
            }
            "async-migration-fails" => Err(format!(
                "scenario {name} needs a migration, e.g. {name}:0006"
            )),
            "scale" => {
                let (n, p) = arg.split_once(':').ok_or_else(|| need("NAMESPACES:PODS"))?;
                Ok(Scenario::Scale {
                    namespaces: num(n, "NAMESPACES:PODS")?.max(1) as usize,
                    pods: num(p, "NAMESPACES:PODS")? as usize,
                })
            }
            "releases" => {
                let (n, r) = arg
                    .split_once(':')
                    .ok_or_else(|| need("RELEASES:REVISIONS"))?;
                Ok(Scenario::Releases {
                    releases: num(n, "RELEASES:REVISIONS")? as usize,
                    revisions: num(r, "RELEASES:REVISIONS")?.max(1) as usize,
                })
            }
            other => Err(format!(
                "unknown scenario {other:?}; known: crashloop:ROLE, image-pull-error:ROLE, unencrypted-storage, small-nodes, failing-migration, api-restart:SECONDS, latency:MS, scale:NAMESPACES:PODS, releases:RELEASES:REVISIONS, ingestion-down, ingestion-stalled, ingestion-delay:MS, unhealthy, ingress-controller, aws-load-balancer-controller, metrics-server, async-migration-fails:MIGRATION, restored-volume:CLAIM, disk-filling:ROLE:MB_PER_MIN[:FROM_PERCENT]"
            )),
        }
    }
}
