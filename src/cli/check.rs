//! `helmdeck check`: pods, disks and ingestion, once or continuously, for people and scripts.
//! The report's JSON form is described by docs/check.schema.json.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::render::load_profiles;
use super::{CheckArgs, Output, exit};
use crate::cluster::Target;
use crate::cluster::probe::{self, ProbeRecord, ProbeTiming, Transport};
use crate::cluster::watch::{ClusterWatch, Connection, Scope};
use crate::cluster::{self, releases};
use crate::health::{self, PodsReport, disks::DiskRow};
use crate::profile::{EncryptionRule, Profile};
use crate::verdict::{Check, Verdict};

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub release: String,
    pub namespace: Option<String>,
    pub profile: Option<String>,
    /// Where the profile came from: the flag, the release's `cloud` value, or nowhere.
    pub profile_source: String,
    pub connection: Connection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<PodsReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disks: Option<Vec<DiskRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingestion: Option<ProbeRecord>,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
}

fn err(code: i32, msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    code
}

pub fn run(args: CheckArgs) -> i32 {
    super::block_on(run_async(args))
}

fn read_key_file(p: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{}: {e}", p.display()))
}

async fn run_async(args: CheckArgs) -> i32 {
    let all = !(args.pods || args.disks || args.ingestion);
    let (want_pods, want_disks, want_ingestion) =
        (all || args.pods, all || args.disks, all || args.ingestion);
    let profiles = match load_profiles() {
        Ok(p) => p,
        Err(e) => return err(e.code, e.message),
    };
    let mut profile: Option<Profile> = match &args.profile {
        Some(n) => match profiles.get(n) {
            Ok(p) => Some(p.clone()),
            Err(e) => return err(exit::BAD_INPUT, e),
        },
        None => None,
    };
    let target = Target {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    let client = match target.client().await {
        Ok(c) => c,
        Err(e) => return err(exit::UNREACHABLE, e),
    };
    if let Err(e) = client.apiserver_version().await {
        return err(
            exit::UNREACHABLE,
            cluster::ClusterError::Unreachable(e.to_string()),
        );
    }
    let namespace = (!args.all_namespaces).then(|| args.namespace.clone());
    let mut profile_source = if profile.is_some() {
        "flag".to_string()
    } else {
        "none".to_string()
    };
    if profile.is_none()
        && let Some(ns) = &namespace
        && let Ok(rels) = releases::list(&client, Some(ns)).await
        && let Some(r) = rels.iter().find(|r| r.name == args.release)
        && let Some(name) = releases::profile_for_cloud(&r.user_values)
        && let Ok(p) = profiles.get(name)
    {
        profile = Some(p.clone());
        profile_source = format!("release {} value cloud", r.name);
    }
    let rule = profile
        .as_ref()
        .map(|p| p.storage.encryption)
        .unwrap_or(EncryptionRule::NotRequired);
    let watch = ClusterWatch::start(
        &client,
        Scope {
            namespace: namespace.clone(),
            pods: want_pods,
            disks: want_disks,
        },
    );
    if !watch.synced(Duration::from_secs(args.sync_timeout)).await {
        let (c, kind) = watch.connection();
        return err(
            exit::UNREACHABLE,
            format!(
                "the watchers did not finish listing within {} s ({}: {})",
                args.sync_timeout,
                kind.unwrap_or("?"),
                c.describe(SystemTime::now())
            ),
        );
    }
    let settings = profile
        .as_ref()
        .map(|p| p.ingestion.clone())
        .unwrap_or_default();
    let transport = if want_ingestion {
        let public = args.public_url.clone().or(settings.public_url.clone());
        Some(match public {
            Some(u) => match Transport::public(&u, args.insecure_skip_tls_verify) {
                Ok(t) => t,
                Err(e) => return err(exit::BAD_INPUT, e),
            },
            None => {
                let probe_client = match target.probe_client().await {
                    Ok(c) => c,
                    Err(e) => return err(exit::UNREACHABLE, e),
                };
                Transport::proxy(
                    probe_client,
                    namespace.as_deref().unwrap_or("posthog"),
                    &args.release,
                )
                .await
            }
        })
    } else {
        None
    };
    let key_ns = namespace.clone().unwrap_or_else(|| "posthog".into());
    let project_key = match &args.project_api_key_file {
        Some(p) => match read_key_file(p) {
            Ok(k) => Some(k),
            Err(e) => return err(exit::BAD_INPUT, format!("--project-api-key-file {e}")),
        },
        None => {
            let src = settings.project_api_key.clone().or_else(|| {
                Some(crate::profile::KeySource {
                    secret: None,
                    env: Some("HELMDECK_PROJECT_API_KEY".into()),
                })
            });
            probe::resolve_key(src.as_ref(), Some(&client), &key_ns).await
        }
    };
    let personal_key = match &args.personal_api_key_file {
        Some(p) => match read_key_file(p) {
            Ok(k) => Some(k),
            Err(e) => return err(exit::BAD_INPUT, format!("--personal-api-key-file {e}")),
        },
        None => {
            probe::resolve_key(settings.personal_api_key.as_ref(), Some(&client), &key_ns).await
        }
    };
    let mut timing = ProbeTiming::from(&settings);
    if let Some(t) = args.ingestion_timeout {
        timing.timeout = Duration::from_secs(t.max(1));
    }
    let interval = Duration::from_secs(args.interval.unwrap_or(settings.interval_seconds).max(1));
    let release_filter = (!args.all_namespaces).then_some(args.release.as_str());
    loop {
        let snap = watch.snapshot();
        let now = SystemTime::now();
        let mut checks = Vec::new();
        let pods = want_pods.then(|| health::pods_report(&snap, release_filter, now));
        if let Some(p) = &pods {
            checks.push(health::pods_check(p));
        }
        let disks = want_disks.then(|| health::disks_report(&snap, rule));
        if let Some(d) = &disks {
            checks.extend(health::disk_checks(d));
        }
        let ingestion = match &transport {
            Some(t) => Some(
                probe::probe(t, project_key.as_deref(), personal_key.as_deref(), &timing).await,
            ),
            None => None,
        };
        if let Some(r) = &ingestion {
            checks.extend(health::ingestion_checks(r));
        }
        let (connection, _) = watch.connection();
        let report = CheckReport {
            release: args.release.clone(),
            namespace: namespace.clone(),
            profile: profile.as_ref().map(|p| p.name.clone()),
            profile_source: profile_source.clone(),
            connection,
            verdict: health::overall(&checks),
            pods,
            disks,
            ingestion,
            checks,
        };
        match args.output {
            Output::Json => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
            Output::Yaml => print!("{}", serde_yaml::to_string(&report).unwrap_or_default()),
            Output::Text => print!("{}", text(&report, args.wide)),
        }
        let code = if report.verdict == Verdict::Fail {
            exit::FAILED
        } else {
            exit::OK
        };
        if !args.watch {
            return code;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return code,
        }
    }
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Warn => "WARN",
        Verdict::Fail => "FAIL",
    }
}

/// The report for a person: a summary per area, the rows, then what to do.
pub fn text(r: &CheckReport, wide: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "release {} in {} · profile {} ({}) · watchers {}",
        r.release,
        r.namespace.as_deref().unwrap_or("all namespaces"),
        r.profile.as_deref().unwrap_or("none"),
        r.profile_source,
        r.connection.describe(SystemTime::now())
    );
    if let Some(p) = &r.pods {
        let _ = writeln!(s, "\nPODS  {}", p.state.label());
        let _ = writeln!(
            s,
            "  {:<14} {:<12} {:>7} {:>8}",
            "COMPONENT", "STATE", "READY", "RESTARTS"
        );
        for c in &p.components {
            let _ = writeln!(
                s,
                "  {:<14} {:<12} {:>7} {:>8}",
                c.name,
                c.state.label(),
                format!("{}/{}", c.ready, c.desired),
                c.restarts
            );
        }
        if wide {
            for pod in &p.pods {
                let _ = writeln!(
                    s,
                    "    {:<40} {:<10} {}/{} {:>3} {}",
                    pod.name,
                    pod.phase,
                    pod.ready,
                    pod.containers,
                    pod.restarts,
                    pod.problem
                        .as_ref()
                        .map(|x| x.reason.as_str())
                        .unwrap_or("")
                );
            }
        }
    }
    if let Some(d) = &r.disks {
        let _ = writeln!(s, "\nDISKS");
        for row in d {
            let _ = writeln!(
                s,
                "  [{}] {:<32} {:>6} {:<22} {}",
                mark(row.verdict),
                row.claim,
                row.size,
                row.storage_class,
                row.message
            );
            if wide {
                for e in &row.evidence {
                    let _ = writeln!(s, "         {e}");
                }
            }
        }
    }
    if r.ingestion.is_some() {
        let _ = writeln!(s, "\nINGESTION");
        for c in r
            .checks
            .iter()
            .filter(|c| c.id == "ingestion" || c.id == "health-endpoint")
        {
            let _ = writeln!(s, "  [{}] {}", mark(c.verdict), c.message);
        }
    }
    let todo: Vec<&Check> = r
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass && !c.fix.is_empty())
        .collect();
    if !todo.is_empty() {
        let _ = writeln!(s, "\nNEXT STEPS");
        for c in todo {
            let _ = writeln!(
                s,
                "  [{}] {}\n         fix: {}",
                mark(c.verdict),
                c.message,
                c.fix
            );
        }
    }
    let _ = writeln!(s, "\n{}", mark(r.verdict));
    s
}
