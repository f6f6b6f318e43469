//! `helmdeck check`: pods, disks and ingestion, once or continuously, for people and scripts.
//! The report's JSON form is described by docs/check.schema.json.

use super::outln;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::render::load_profiles;
use super::{CheckArgs, Output, exit};
use crate::cluster::Target;
use crate::cluster::probe::{self, ProbeRecord, ProbeTiming};
use crate::cluster::releases;
use crate::cluster::watch::{ClusterWatch, Connection, Scope};
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
    /// The stack's hostname through its load balancer, when it has both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_path: Option<crate::observed::PublicPathRecord>,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
}

fn err(code: i32, msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    code
}

pub fn run(args: CheckArgs) -> i32 {
    if args.all_contexts {
        return super::block_on(all_contexts(args));
    }
    super::block_on_then_exit(run_async(args))
}

/// One context's outcome in `check --all-contexts`.
#[derive(Debug, Serialize)]
struct ContextReport {
    context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<CheckReport>,
    /// Why it has no report (unreachable, or no answer within --sync-timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `check --all-contexts`: every context concurrently, each bounded by its own deadline;
/// exit 1 if any fails, else 4 if any could not be checked, else 0.
async fn all_contexts(args: CheckArgs) -> i32 {
    let target = Target {
        kubeconfig: args.kubeconfig.clone(),
        context: None,
    };
    let names = match target.context_names() {
        Ok(names) => names,
        Err(e) => return err(exit::BAD_INPUT, e),
    };
    if names.is_empty() {
        return err(
            exit::BAD_INPUT,
            "the kubeconfig has no contexts: name a file with --kubeconfig, or add one with `kubectl config set-context`",
        );
    }
    // The watchers' own deadline is --sync-timeout; probes and connecting get as long again.
    let deadline = Duration::from_secs(args.sync_timeout.saturating_mul(2));
    let checks = names.iter().map(|name| {
        let mut a = args.clone();
        a.all_contexts = false;
        a.context = Some(name.clone());
        async move {
            let (report, error) = match tokio::time::timeout(deadline, once(&a)).await {
                Ok(Ok(r)) => (Some(r), None),
                Ok(Err((_, why))) => (None, Some(why)),
                Err(_) => (
                    None,
                    Some(format!("no answer within {} s", deadline.as_secs())),
                ),
            };
            ContextReport {
                context: name.clone(),
                report,
                error,
            }
        }
    });
    let reports = futures::future::join_all(checks).await;
    match args.output {
        Output::Json => outln!("{}", serde_json::to_string(&reports).unwrap_or_default()),
        Output::Yaml => super::emit(format_args!(
            "{}",
            serde_yaml::to_string(&reports).unwrap_or_default()
        )),
        Output::Text => {
            for r in &reports {
                let body = match (&r.report, &r.error) {
                    (Some(rep), _) => text(rep, args.wide),
                    (None, e) => {
                        format!("UNREACHABLE: {}\n", e.as_deref().unwrap_or("not checked"))
                    }
                };
                super::emit(format_args!("== context {} ==\n{body}\n", r.context));
            }
            true
        }
    };
    let failed = reports.iter().any(|r| {
        r.report
            .as_ref()
            .is_some_and(|x| x.verdict == Verdict::Fail)
    });
    if failed {
        exit::FAILED
    } else if reports.iter().any(|r| r.report.is_none()) {
        exit::UNREACHABLE
    } else {
        exit::OK
    }
}

fn read_key_file(p: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// Why check ends before its first report: the exit code and what to say.
struct Early(i32, String);

fn early(code: i32, msg: impl std::fmt::Display) -> Early {
    Early(code, msg.to_string())
}

async fn run_async(args: CheckArgs) -> i32 {
    let started = async {
        let watching = watching(&args).await?;
        let probing = probing(&args, &watching).await?;
        Ok::<_, Early>((watching, probing))
    };
    match started.await {
        Ok((watching, probing)) => report_loop(&args, &watching, &probing).await,
        Err(Early(code, msg)) => err(code, msg),
    }
}

/// The cluster connected, the judging profile found and the watchers synced.
struct Watching {
    client: kube::Client,
    target: Target,
    watch: ClusterWatch,
    namespace: Option<String>,
    profile: Option<Profile>,
    profile_source: String,
    rule: EncryptionRule,
    /// The release was looked for and is not in the namespace (`None`: not looked for, or the
    /// list failed).
    missing_release: bool,
    /// The release's user values, when it was found: which monitoring parts it turns on.
    user_values: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What the areas asked for are, as `check --pods/--disks/--ingestion` picked them (none:
/// all three).
fn wanted(args: &CheckArgs) -> (bool, bool, bool) {
    let all = !(args.pods || args.disks || args.ingestion);
    (all || args.pods, all || args.disks, all || args.ingestion)
}

async fn watching(args: &CheckArgs) -> Result<Watching, Early> {
    let (want_pods, want_disks, _) = wanted(args);
    let profiles = load_profiles().map_err(|e| early(e.code, e.message))?;
    if let Some(n) = &args.profile
        && let Err(e) = profiles.get(n)
    {
        return Err(early(exit::BAD_INPUT, e));
    }
    let profiles: Vec<Profile> = profiles.iter().cloned().collect();
    let target = Target {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    super::warn_insecure(&target);
    // --sync-timeout bounds everything before the first report: connecting, finding the
    // release and the watchers' first lists.
    let sync_deadline = tokio::time::Instant::now() + Duration::from_secs(args.sync_timeout);
    let wait = crate::deadlines::request_timeout().min(Duration::from_secs(args.sync_timeout));
    let client = match target.connect_within(wait).await {
        Ok(c) => c,
        Err(e) if wait < crate::deadlines::request_timeout() => {
            return Err(early(
                exit::UNREACHABLE,
                format!(
                    "{e}\n  (the wait was --sync-timeout's {} s)",
                    wait.as_secs()
                ),
            ));
        }
        Err(e) => return Err(early(exit::UNREACHABLE, e)),
    };
    let namespace = (!args.all_namespaces).then(|| args.namespace.clone());
    let (release, missing_release) = match &namespace {
        Some(ns) if args.profile.is_none() => {
            match tokio::time::timeout_at(sync_deadline, releases::list(&client, Some(ns)))
                .await
                .ok()
                .and_then(|r| r.ok())
            {
                Some(rels) => {
                    let found = rels.into_iter().find(|r| r.name == args.release);
                    let missing = found.is_none();
                    (found, missing)
                }
                None => (None, false),
            }
        }
        _ => (None, false),
    };
    let (profile, profile_source) = crate::profile::judging_profile(
        &profiles,
        args.profile.as_deref(),
        release.as_ref().map(|r| (r.name.as_str(), &r.user_values)),
    );
    let profile_source = profile_source.to_string();
    let profile = profile.cloned();
    let user_values = release.map(|r| r.user_values);
    let rule = profile
        .as_ref()
        .map(|p| p.storage.encryption)
        .unwrap_or(EncryptionRule::NotRequired);
    let watch_client = target
        .watch_client()
        .await
        .map_err(|e| early(exit::UNREACHABLE, e))?;
    let watch = ClusterWatch::start(
        &watch_client,
        Scope {
            namespace: namespace.clone(),
            pods: want_pods,
            disks: want_disks,
        },
    );
    if !watch
        .synced(sync_deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        let (c, kind) = watch.connection();
        return Err(early(
            exit::UNREACHABLE,
            format!(
                "the watchers did not finish listing within {} s ({}: {})",
                args.sync_timeout,
                kind.unwrap_or("?"),
                c.describe(SystemTime::now())
            ),
        ));
    }
    Ok(Watching {
        client,
        target,
        watch,
        namespace,
        profile,
        profile_source,
        rule,
        missing_release,
        user_values,
    })
}

/// How the ingestion probe reaches the stack, with which keys, how long it waits and how
/// often it runs.
struct Probing {
    transport: Option<probe::Transport>,
    project_key: Option<String>,
    personal_key: Option<String>,
    timing: ProbeTiming,
    interval: Duration,
    connect_to: Option<std::net::SocketAddr>,
}

async fn probing(args: &CheckArgs, w: &Watching) -> Result<Probing, Early> {
    let (_, _, want_ingestion) = wanted(args);
    let settings = probe::settings_for(w.profile.as_ref());
    // No release, no stack to probe: its advice (a public URL, a hostname) would mislead.
    let transport = if want_ingestion && !w.missing_release {
        let probe_client = w
            .target
            .probe_client()
            .await
            .map_err(|e| early(exit::UNREACHABLE, e))?;
        let t = probe::transport_for(
            &settings,
            args.public_url.as_deref(),
            args.insecure_skip_tls_verify,
            probe_client,
            w.namespace.as_deref().unwrap_or("posthog"),
            &args.release,
        )
        .await
        .map_err(|e| early(exit::BAD_INPUT, e))?;
        Some(t)
    } else {
        None
    };
    let key_ns = w.namespace.clone().unwrap_or_else(|| "posthog".into());
    let project_key = match &args.project_api_key_file {
        Some(p) => Some(
            read_key_file(p)
                .map_err(|e| early(exit::BAD_INPUT, format!("--project-api-key-file {e}")))?,
        ),
        None => {
            probe::resolve_key(settings.project_api_key.as_ref(), Some(&w.client), &key_ns).await
        }
    };
    let personal_key = match &args.personal_api_key_file {
        Some(p) => Some(
            read_key_file(p)
                .map_err(|e| early(exit::BAD_INPUT, format!("--personal-api-key-file {e}")))?,
        ),
        None => {
            probe::resolve_key(settings.personal_api_key.as_ref(), Some(&w.client), &key_ns).await
        }
    };
    if personal_key.is_some()
        && matches!(transport, Some(probe::Transport::Proxy { .. }))
        && args.output != Output::Json
    {
        eprintln!(
            "warning: through the API server proxy the personal API key rides in the URL's query string (the API server keeps the Authorization header for itself), where its audit log may record it; give --public-url to send it in a header"
        );
    }
    let mut timing = ProbeTiming::from(&settings);
    if let Some(t) = args.ingestion_timeout {
        timing.timeout = Duration::from_secs(t.max(1));
    }
    let interval = Duration::from_secs(args.interval.unwrap_or(settings.interval_seconds).max(1));
    let connect_to = crate::cluster::public_path::connect_to(args.connect_to.as_deref())
        .map_err(|e| early(exit::BAD_INPUT, e))?;
    Ok(Probing {
        connect_to,
        transport,
        project_key,
        personal_key,
        timing,
        interval,
    })
}

/// Judges and reports, once or (`--watch`) every interval until ctrl-c; the exit code of the
/// last report.
async fn report_loop(args: &CheckArgs, w: &Watching, p: &Probing) -> i32 {
    loop {
        let report = report(args, w, p).await;
        match args.output {
            Output::Json => outln!("{}", serde_json::to_string(&report).unwrap_or_default()),
            Output::Yaml => super::emit(format_args!(
                "{}",
                serde_yaml::to_string(&report).unwrap_or_default()
            )),
            Output::Text => super::emit(format_args!("{}", text(&report, args.wide))),
        };
        let code = if report.verdict == Verdict::Fail {
            exit::FAILED
        } else {
            exit::OK
        };
        if !args.watch {
            return code;
        }
        tokio::select! {
            _ = tokio::time::sleep(p.interval) => {}
            _ = tokio::signal::ctrl_c() => return code,
        }
    }
}

/// One report, as `check` with these arguments prints it; the exit code and the reason when
/// it cannot start (for commands that carry a check's results, like `bundle`).
pub(super) async fn once(args: &CheckArgs) -> Result<CheckReport, (i32, String)> {
    let w = watching(args).await.map_err(|Early(c, m)| (c, m))?;
    let p = probing(args, &w).await.map_err(|Early(c, m)| (c, m))?;
    Ok(report(args, &w, &p).await)
}

/// Judges what the watchers hold now (and probes, when asked).
async fn report(args: &CheckArgs, w: &Watching, p: &Probing) -> CheckReport {
    let (want_pods, want_disks, _) = wanted(args);
    let release_filter = (!args.all_namespaces).then_some(args.release.as_str());
    let snap = w.watch.snapshot();
    let now = SystemTime::now();
    let ingestion = match &p.transport {
        Some(t) => Some(
            probe::probe(
                t,
                p.project_key.as_deref(),
                p.personal_key.as_deref(),
                &p.timing,
            )
            .await,
        ),
        None => None,
    };
    let (history, unread) = if want_disks {
        volume_history(w, &snap).await
    } else {
        (None, Vec::new())
    };
    let asked = health::Asked {
        release: release_filter,
        rule: w.rule,
        pods: want_pods,
        disks: want_disks,
        now,
        volumes: history.as_ref(),
    };
    let mut judged = health::Judgement::of(&snap, asked, ingestion.as_ref());
    if !unread.is_empty() {
        judged.checks.push(Check {
            id: "disk-usage",
            verdict: Verdict::Warn,
            message: format!("volume usage not read: {}", unread.join("; ")),
            fix: "grant `get` on nodes/proxy (the kubelet's summary, as `kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary` reads it), or check the nodes' kubelets".into(),
        });
    }
    // Through the load balancer, as users' SDKs go (not when a public URL was given: that
    // is the path already).
    let public_path = match &p.transport {
        Some(probe::Transport::Proxy { .. }) if !args.all_namespaces => {
            crate::cluster::public_path::probe(
                &w.client,
                w.namespace.as_deref().unwrap_or("posthog"),
                &args.release,
                p.connect_to,
                p.project_key.as_deref(),
            )
            .await
            .ok()
        }
        _ => None,
    };
    if let Some(r) = &public_path {
        judged.checks.push(health::public_path::check(r));
    }
    if let (true, Some(values), Some(ns)) = (want_pods, &w.user_values, &w.namespace) {
        judged
            .checks
            .extend(health::monitoring::judged(values, &snap, &args.release, ns));
    }
    if w.missing_release {
        judged.checks.insert(0, missing_release(args));
    }
    let (connection, _) = w.watch.connection();
    CheckReport {
        release: args.release.clone(),
        namespace: w.namespace.clone(),
        profile: w.profile.as_ref().map(|p| p.name.clone()),
        profile_source: w.profile_source.clone(),
        connection,
        verdict: judged.verdict(),
        pods: judged.pods,
        disks: judged.disks,
        ingestion,
        public_path,
        checks: judged.checks,
    }
}

/// The claims' usage read from their nodes' kubelets now, added to what earlier runs measured
/// (kept in the cache directory per cluster, so a second run knows the growth); what could
/// not be read.
async fn volume_history(
    w: &Watching,
    snap: &crate::observed::Snapshot,
) -> (Option<crate::health::fill::History>, Vec<String>) {
    use crate::cluster::disk_usage;
    let nodes = if snap.pods.is_empty() && !snap.pvcs.is_empty() {
        // `--disks` alone watches no pods: the claims' pods are listed once.
        let mut with_pods = crate::observed::Snapshot {
            pvcs: snap.pvcs.clone(),
            ..Default::default()
        };
        match disk_usage::list_pods(&w.client, w.namespace.as_deref()).await {
            Ok(pods) => with_pods.pods = pods,
            Err(e) => return (None, vec![format!("the pods that mount the claims: {e}")]),
        }
        disk_usage::nodes_of(&with_pods)
    } else {
        disk_usage::nodes_of(snap)
    };
    if nodes.is_empty() {
        return (None, Vec::new());
    }
    let (usage, unread) = disk_usage::read(&w.client, &nodes).await;
    let path = crate::dirs::cache_dir()
        .join("volume-usage")
        .join(format!("{}.json", w.target.scope_key()));
    let mut history = crate::health::fill::History::load(&path);
    disk_usage::record(&mut history, &usage);
    let week_ago = crate::health::fill::epoch_ms(SystemTime::now()).saturating_sub(7 * 86_400_000);
    history.forget_older_than(week_ago);
    if let Err(e) = history.save(&path) {
        eprintln!(
            "warning: the volume usage history was not kept ({}: {e}); the next run cannot tell the growth",
            path.display()
        );
    }
    (Some(history), unread)
}

/// What `check` says when the release it was asked about is not installed.
fn missing_release(args: &CheckArgs) -> Check {
    Check {
        id: "release",
        verdict: Verdict::Fail,
        message: format!(
            "no release {} in namespace {}",
            args.release, args.namespace
        ),
        fix: "install it with `helmdeck install --profile NAME` (`helmdeck profiles list` shows the profiles), or name the release with --release and its namespace with -n (`helmdeck check -A` looks in every namespace)".into(),
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
    let installed = if r.checks.iter().any(|c| c.id == "release") {
        " (not installed)"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "release {}{installed} in {} · profile {} ({}) · watchers {}",
        r.release,
        r.namespace.as_deref().unwrap_or("all namespaces"),
        r.profile.as_deref().unwrap_or("none"),
        r.profile_source,
        r.connection.describe(SystemTime::now())
    );
    if let Some(p) = &r.pods {
        let _ = writeln!(s, "\nPODS  {}", p.state.label());
        // Columns as wide as their longest entry, as kubectl prints them.
        let w = p
            .components
            .iter()
            .map(|c| c.name.len())
            .fold(9, usize::max);
        let _ = writeln!(
            s,
            "  {:<w$} {:<12} {:>7} {:>8}",
            "COMPONENT", "STATE", "READY", "RESTARTS"
        );
        for c in &p.components {
            let _ = writeln!(
                s,
                "  {:<w$} {:<12} {:>7} {:>8}",
                c.name,
                c.state.label(),
                format!("{}/{}", c.ready, c.desired),
                c.restarts
            );
        }
        if wide {
            let w = p.pods.iter().map(|x| x.name.len()).fold(40, usize::max);
            for pod in &p.pods {
                let _ = writeln!(
                    s,
                    "    {:<w$} {:<10} {}/{} {:>3} {}",
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
        let claim = d.iter().map(|r| r.claim.len()).fold(0, usize::max);
        let class = d.iter().map(|r| r.storage_class.len()).fold(0, usize::max);
        for row in d {
            let _ = writeln!(
                s,
                "  [{}] {:<claim$} {:>6} {:<class$} {}",
                mark(row.verdict),
                row.claim,
                row.size,
                row.storage_class,
                row.message
            );
            if let Some(u) = &row.usage {
                let _ = writeln!(s, "         [{}] usage: {}", mark(u.verdict), u.message);
            }
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
            .filter(|c| c.id == "ingestion" || c.id == "health-endpoint" || c.id == "public-path")
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
