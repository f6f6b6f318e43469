//! `helmdeck verify`: the vendor's CI matrix for a chart and values, offline — per profile,
//! `helm lint --strict`, the render (values and manifests, schema included) and the policy
//! rules (`health::policy`); then, on an embedded simulated cluster of the profile's flavour,
//! install, upgrade and a no-op upgrade through the engine, the public path through the load
//! balancer and the vendor CI's load test on capture (`cluster::load`, judged by
//! `health::load`). Reported as a table, JSON or JUnit XML. Profiles run concurrently, as many
//! at a time as the machine has cores.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Output, exit, parse_version};
use crate::deploy::ValuesIntent;
use crate::health::policy::{self, Finding};
use crate::helm::driver::Helm;
use crate::profile::Profile;
use crate::verdict::Verdict;

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub source: super::ChartArgs,
    /// A profile to verify; repeatable (default: every profile).
    #[arg(long)]
    pub profile: Vec<String>,
    #[command(flatten)]
    pub overrides: super::OverrideArgs,
    /// A policy rule to leave out of the verdict, deliberately (reported as skipped).
    #[arg(long = "skip", value_parser = parse_rule)]
    pub skip: Vec<String>,
    /// Warnings fail too.
    #[arg(long)]
    pub strict: bool,
    /// Lint, render and policy only: no install and upgrade on a simulated cluster.
    #[arg(long)]
    pub no_install: bool,
    /// Install this chart first and upgrade from it to the chart under test: a version (the
    /// same repository's, or `NAME-VERSION.tgz` beside a local chart), a chart path, or none
    /// (default: with --repo, the release before the chart under test there).
    #[arg(long)]
    pub from: Option<String>,
    /// How long each install and upgrade may take, seconds (helm's --timeout, and the
    /// checks' deadline after it).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub timeout: u64,
    /// The load stage: virtual users × seconds posting events to capture (the vendor CI's
    /// 20x30), or `off`.
    #[arg(long, default_value = "20x30", value_parser = parse_load)]
    pub load: Load,
    /// Put the simulated clusters in a situation (`helmdeck sim --scenario`), to rehearse a
    /// failure: `ingestion-down`, `crashloop:web`, …; repeatable.
    #[arg(long)]
    pub scenario: Vec<String>,
    /// Also write the report as JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `--load`: how many virtual users for how long, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    Off,
    Users { users: usize, seconds: u64 },
}

fn parse_load(s: &str) -> Result<Load, String> {
    if s == "off" {
        return Ok(Load::Off);
    }
    let bad = || format!("--load {s:?}: give USERSxSECONDS (20x30) or off");
    let (u, t) = s.split_once('x').ok_or_else(bad)?;
    let users: usize = u.parse().map_err(|_| bad())?;
    let seconds: u64 = t.parse().map_err(|_| bad())?;
    if !(1..=1_000).contains(&users) || !(1..=3_600).contains(&seconds) {
        return Err(format!(
            "--load {s:?}: 1 to 1000 users for 1 to 3600 seconds"
        ));
    }
    Ok(Load::Users { users, seconds })
}

fn parse_rule(s: &str) -> Result<String, String> {
    if policy::RULES.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a policy rule; the rules: {}",
            policy::RULES.join(", ")
        ))
    }
}

/// Where each profile is, for the person waiting: a spinner per profile on a terminal
/// (indicatif), a line per stage otherwise, as CI logs want them.
pub struct Progress {
    multi: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        Progress {
            multi: std::io::stderr()
                .is_terminal()
                .then(indicatif::MultiProgress::new),
            bars: Default::default(),
        }
    }

    /// `profile` has begun `what`.
    fn at(&self, profile: &str, what: &str) {
        let Some(multi) = &self.multi else {
            eprintln!("{profile}: {what}…");
            return;
        };
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(profile.to_string()).or_insert_with(|| {
            let b = multi.add(indicatif::ProgressBar::new_spinner());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        bar.set_message(format!("{profile:<13} {what}"));
    }

    /// `profile` is finished.
    fn done(&self, profile: &str, v: Verdict) {
        match self.bars.lock().ok().and_then(|mut b| b.remove(profile)) {
            Some(bar) => bar.finish_with_message(format!("{profile:<13} {}", word(v))),
            None if self.multi.is_none() => eprintln!("{profile}: {}", word(v)),
            None => {}
        }
    }
}

/// One stage's result for one profile.
#[derive(Debug, Clone, Serialize)]
pub struct StageResult {
    pub stage: &'static str,
    pub verdict: Verdict,
    /// What it found, in a line or a few (helm's lint messages, the render's counts).
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    pub profile: String,
    pub chart: String,
    pub kubernetes: String,
    pub stages: Vec<StageResult>,
    pub findings: Vec<Finding>,
}

impl ProfileReport {
    fn verdict(&self) -> Verdict {
        self.stages
            .iter()
            .map(|s| s.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }
}

fn stage(stage: &'static str, verdict: Verdict, detail: impl Into<String>) -> StageResult {
    StageResult {
        stage,
        verdict,
        detail: detail.into(),
    }
}

/// The values a profile's stages use: the profile's, then the files and `--set`s.
fn intent(args: &VerifyArgs, profile: &str, helm: &Helm) -> ValuesIntent {
    ValuesIntent {
        profile: Some(profile.to_string()),
        chart: args.source.chart.clone(),
        repo: args.source.repo.clone(),
        version: args.source.version.clone(),
        answers: None,
        values_files: args.overrides.values.clone(),
        sets: args.overrides.sets(),
        helm_major: Some(helm.major()),
        stand_in: true,
        app_pin: None,
    }
}

/// Lint, render and policy for one profile.
async fn verify_profile(
    args: Arc<VerifyArgs>,
    profile: Profile,
    helm: Arc<Helm>,
    kube: String,
    progress: &Progress,
) -> ProfileReport {
    let at = |what: &str| progress.at(&profile.name, what);
    at("render");
    let mut report = ProfileReport {
        profile: profile.name.clone(),
        chart: String::new(),
        kubernetes: kube.clone(),
        stages: Vec::new(),
        findings: Vec::new(),
    };
    let intent = intent(&args, &profile.name, &helm);
    let resolved = intent.resolve_with(Some(profile.clone()));
    if let Ok(r) = &resolved {
        report.chart = format!("{} {}", r.chart.metadata.name, r.chart.metadata.version);
    }
    let (resolved, rendered) = match resolved.and_then(|r| {
        let rendered = r.request.render(&r.chart)?;
        Ok((r, rendered))
    }) {
        Ok(r) => r,
        Err(e) => {
            report
                .stages
                .push(stage("render", Verdict::Fail, e.to_string()));
            return report;
        }
    };
    let chart_path = resolved.chart_path.display().to_string();
    at("lint");
    let lint = helm
        .run_with_values(&rendered.user_values, |f| {
            vec![
                "lint".into(),
                chart_path.clone(),
                "--strict".into(),
                "-f".into(),
                f.display().to_string(),
            ]
        })
        .await;
    report.stages.push(match lint {
        Ok(out) => stage("lint", Verdict::Pass, lint_summary(&out)),
        Err(e) => stage("lint", Verdict::Fail, e.message),
    });
    at("template");
    let template = helm
        .run_with_values(&rendered.user_values, |f| {
            Helm::template_args("posthog", &resolved.chart_path, "posthog", f, Some(&kube))
        })
        .await;
    let manifests = match template {
        Ok(text) => crate::deploy::plan::parse_manifest(&text),
        Err(e) => {
            report
                .stages
                .push(stage("render", Verdict::Fail, e.message));
            return report;
        }
    };
    let warned = rendered.warnings.len();
    report.stages.push(stage(
        "render",
        if warned > 0 {
            Verdict::Warn
        } else {
            Verdict::Pass
        },
        format!(
            "{} objects; {warned} value warning(s){}",
            manifests.len(),
            rendered
                .warnings
                .first()
                .map(|w| format!(": {w}"))
                .unwrap_or_default()
        ),
    ));
    let mut findings = policy::judge(&policy::Rendered {
        profile: &profile,
        chart: &resolved.chart,
        values: &rendered.values,
        manifests: &manifests,
        kube_version: &kube,
    });
    for f in findings.iter_mut() {
        f.skipped = args.skip.iter().any(|s| s == f.id);
    }
    let v = policy::verdict(&findings, args.strict);
    let counted = |v: Verdict| {
        findings
            .iter()
            .filter(|f| !f.skipped && f.verdict == v)
            .count()
    };
    report.stages.push(stage(
        "policy",
        v,
        format!(
            "{} failure(s), {} warning(s), {} skipped",
            counted(Verdict::Fail),
            counted(Verdict::Warn),
            findings.iter().filter(|f| f.skipped).count()
        ),
    ));
    report.findings = findings;
    let rendered_ok = report
        .stages
        .iter()
        .all(|s| s.verdict != Verdict::Fail || s.stage == "policy");
    if !args.no_install && rendered_ok {
        let chart = resolved.chart_path.display().to_string();
        let meta = &resolved.chart.metadata;
        let from = match from_chart(&args, &resolved.chart_path, &meta.name, &meta.version) {
            Ok(f) => f,
            Err(e) => {
                report.stages.push(stage("install", Verdict::Fail, e));
                return report;
            }
        };
        report
            .stages
            .extend(install_stages(&args, &profile, &chart, from.as_deref(), progress).await);
    }
    report
}

/// The chart `--from` names, as a path: a chart path as given; a version from the repository
/// (fetched into the cache) or as `NAME-VERSION.tgz` beside the local chart under test.
/// Without `--from`, a chart from `--repo` is upgraded from the release before it there, as
/// the vendor's CI installed the latest release and upgraded it to the change; `--from none`
/// installs the chart under test directly.
fn from_chart(
    args: &VerifyArgs,
    target: &std::path::Path,
    name: &str,
    version: &str,
) -> Result<Option<String>, String> {
    let from = match &args.from {
        Some(f) if f == "none" => return Ok(None),
        Some(f) => f.clone(),
        None => match previous_release(args, name, version)? {
            Some(v) => v,
            None => return Ok(None),
        },
    };
    let from = &from;
    let as_path = std::path::Path::new(from);
    if as_path.exists() {
        return Ok(Some(from.clone()));
    }
    if parse_version(from).is_err() {
        return Err(format!(
            "--from {from:?} is neither a chart path nor a version (30.0.0)"
        ));
    }
    if args.source.repo.is_some() {
        let intent = ValuesIntent {
            chart: args.source.chart.clone(),
            repo: args.source.repo.clone(),
            version: Some(from.clone()),
            ..ValuesIntent::default()
        };
        let chart_ref = intent
            .chart_ref(None)
            .map_err(|e| format!("--from {from}: {e}"))?;
        return crate::chart::resolve_chart_ref(&chart_ref, &crate::dirs::cache_dir())
            .map(|p| Some(p.display().to_string()))
            .map_err(|e| format!("--from {from}: {e}"));
    }
    let beside = target
        .parent()
        .map(|d| d.join(format!("{name}-{from}.tgz")))
        .filter(|p| p.is_file());
    match beside {
        Some(p) => Ok(Some(p.display().to_string())),
        None => Err(format!(
            "--from {from}: no {name}-{from}.tgz beside {}; give the chart's path, or --repo",
            target.display()
        )),
    }
}

/// The newest release before `version` in `--repo`'s index (prereleases aside); None without
/// `--repo` or when `version` is its first.
fn previous_release(
    args: &VerifyArgs,
    name: &str,
    version: &str,
) -> Result<Option<String>, String> {
    use crate::chart::repo;
    let Some(url) = &args.source.repo else {
        return Ok(None);
    };
    let listing = repo::versions_blocking(url, name, &crate::dirs::cache_dir())
        .map_err(|e| format!("the release before {version}: {e}"))?;
    Ok(listing
        .versions
        .iter()
        .filter(|v| !v.version.contains('-'))
        .filter(|v| repo::compare(&v.version, version) == std::cmp::Ordering::Less)
        .max_by(|a, b| repo::compare(&a.version, &b.version))
        .map(|v| v.version.clone()))
}

/// The flags that give a profile's values to `helmdeck install` and `upgrade`.
fn values_flags(args: &VerifyArgs, profile: &Profile, chart: &str) -> Vec<String> {
    let mut v = vec![
        "--profile".to_string(),
        profile.name.clone(),
        "--chart".into(),
        chart.into(),
        // The question every profile asks, answered as a user would.
        "--set".into(),
        "ingress.hostname=posthog.example.com".into(),
    ];
    v.extend(args.overrides.to_flags());
    v
}

/// helmdeck itself, on the embedded cluster, with every file of helm's and helmdeck's inside
/// the run's private directory.
async fn helmdeck_on(
    cluster: &super::sim::Embedded,
    verb: &str,
    flags: &[String],
    timeout: u64,
) -> Result<std::process::Output, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find helmdeck itself: {e}"))?;
    let home = cluster.home();
    let mut c = tokio::process::Command::new(me);
    c.arg(verb)
        .args(flags)
        .args(["--yes", "--timeout", &timeout.to_string()])
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("HOME", home)
        .env("HELM_CACHE_HOME", home.join("helm-cache"))
        .env("HELM_CONFIG_HOME", home.join("helm-config"))
        .env("HELM_DATA_HOME", home.join("helm-data"))
        .env("HELMDECK_DATA_DIR", home.join("data"))
        .env("HELMDECK_CONFIG_DIR", home.join("config"))
        .env("HELMDECK_CACHE_DIR", home.join("cache"))
        // The simulated capture API takes any project key.
        .env("HELMDECK_PROJECT_API_KEY", "phc_helmdeck_verify")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(public) = cluster.public() {
        c.env("HELMDECK_CONNECT_TO", public);
    }
    c.output()
        .await
        .map_err(|e| format!("cannot run helmdeck {verb}: {e}"))
}

/// How many workloads (not pods) are among the changed marks.
fn changed_workloads(moved: &[String]) -> usize {
    moved
        .iter()
        .filter(|m| m.starts_with("deployments/") || m.starts_with("statefulsets/"))
        .count()
}

/// The workloads whose pod template changed only where the release revision is written
/// (`"release_revision":2` → `3`), with the first such field: a chart that restarts them
/// on every upgrade by design. Empty when any changed for another reason.
fn revision_only(
    before: &std::collections::BTreeMap<String, Value>,
    after: &std::collections::BTreeMap<String, Value>,
    (old, new): (u64, u64),
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, b) in before {
        let Some(a) = after.get(name) else { continue };
        if a == b {
            continue;
        }
        let mut diffs = Vec::new();
        leaf_diffs(b, a, String::new(), &mut diffs);
        let by_rev = diffs
            .iter()
            .all(|(_, x, y)| match (x.as_str(), y.as_str()) {
                (Some(x), Some(y)) => same_but_revision(x, y, old, new),
                _ => false,
            });
        if !by_rev {
            return Vec::new();
        }
        if let Some((at, _, _)) = diffs.first() {
            out.push((name.clone(), at.clone()));
        }
    }
    out
}

fn leaf_diffs(b: &Value, a: &Value, at: String, out: &mut Vec<(String, Value, Value)>) {
    match (b, a) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let next = x.get(k).unwrap_or(&Value::Null);
                let other = y.get(k).unwrap_or(&Value::Null);
                // An env var is named by its name, which says more than its index.
                let label = if k == "value" {
                    match (x.get("name"), a.get("name")) {
                        (Some(Value::String(n)), _) => format!("{at} {n}"),
                        _ => format!("{at}.{k}"),
                    }
                } else {
                    format!("{at}.{k}")
                };
                leaf_diffs(next, other, label, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                leaf_diffs(p, q, format!("{at}[{i}]"), out);
            }
        }
        (x, y) if x != y => {
            out.push((at.trim_start_matches('.').to_string(), x.clone(), y.clone()))
        }
        _ => {}
    }
}

/// Whether two strings differ only in numbers that are the old and the new revision.
fn same_but_revision(x: &str, y: &str, old: u64, new: u64) -> bool {
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
                out.push((b[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (p, q) = (runs(x), runs(y));
    x != y
        && p.len() == q.len()
        && p.iter().zip(&q).all(|((d1, a), (_, b))| {
            a == b || (*d1 && a.parse() == Ok(old) && b.parse() == Ok(new))
        })
}

/// The last lines helmdeck wrote, for a failed stage's detail.
fn tail(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

/// Install through the engine (preflight, diff, apply, rollout, Verify) on a simulated cluster
/// of the profile's flavour, upgrade, then the same upgrade again, which must change nothing:
/// no workload's generation moves, no pod is replaced or added.
async fn install_stages(
    args: &VerifyArgs,
    profile: &Profile,
    chart: &str,
    from: Option<&str>,
    progress: &Progress,
) -> Vec<StageResult> {
    let at = |what: &str| progress.at(&profile.name, what);
    at("install");
    let cluster =
        match super::sim::Embedded::start(&profile.provider, &profile.name, &args.scenario).await {
            Ok(c) => c,
            Err(e) => return vec![stage("install", Verdict::Fail, e)],
        };
    let flags = values_flags(args, profile, chart);
    let first = values_flags(args, profile, from.unwrap_or(chart));
    let installed = match helmdeck_on(&cluster, "install", &first, args.timeout).await {
        Ok(o) if o.status.success() => stage(
            "install",
            Verdict::Pass,
            format!(
                "{} installed and verified on a simulated {} cluster",
                from.unwrap_or("the chart"),
                profile.provider
            ),
        ),
        Ok(o) => {
            return vec![stage(
                "install",
                Verdict::Fail,
                format!("exit {}: {}", o.status.code().unwrap_or(-1), tail(&o)),
            )];
        }
        Err(e) => return vec![stage("install", Verdict::Fail, e)],
    };
    // The upgrade to the chart under test (the same chart, until `--from` installs an older
    // one): it may roll pods; the vendor's chart 30.46.0 does on the first upgrade after an
    // install, its pods' `checksum/secrets.yaml` being of a second random key rendered at
    // install (`lookup` finds the first one only from then on).
    at("upgrade");
    let upgraded = match helmdeck_on(&cluster, "upgrade", &flags, args.timeout).await {
        Ok(o) if o.status.success() => stage("upgrade", Verdict::Pass, "upgraded and verified"),
        Ok(o) => {
            return vec![
                installed,
                stage(
                    "upgrade",
                    Verdict::Fail,
                    format!("exit {}: {}", o.status.code().unwrap_or(-1), tail(&o)),
                ),
            ];
        }
        Err(e) => return vec![installed, stage("upgrade", Verdict::Fail, e)],
    };
    let before = cluster.marks("posthog");
    let templates = cluster.templates("posthog");
    at("no-op upgrade");
    let again = match helmdeck_on(&cluster, "upgrade", &flags, args.timeout).await {
        Ok(o) if o.status.success() => {
            let after = cluster.marks("posthog");
            let moved: Vec<String> = before
                .iter()
                .filter(|(k, v)| after.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .chain(after.keys().filter(|k| !before.contains_key(*k)).cloned())
                .collect();
            // Revisions: 1 the install, 2 the upgrade, 3 this one.
            let by_revision = revision_only(&templates, &cluster.templates("posthog"), (2, 3));
            if !moved.is_empty()
                && !by_revision.is_empty()
                && by_revision.len() == changed_workloads(&moved)
            {
                stage(
                    "no-op upgrade",
                    Verdict::Warn,
                    format!(
                        "the same upgrade again restarted {}: the chart puts the release revision in their pod template ({}), so every upgrade restarts them, changed or not",
                        by_revision
                            .iter()
                            .map(|(w, _)| w.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        by_revision
                            .first()
                            .map(|(_, at)| at.as_str())
                            .unwrap_or_default()
                    ),
                )
            } else if moved.is_empty() {
                stage(
                    "no-op upgrade",
                    Verdict::Pass,
                    format!(
                        "the same upgrade again changed nothing ({} workloads and pods unchanged)",
                        before.len()
                    ),
                )
            } else {
                stage(
                    "no-op upgrade",
                    Verdict::Fail,
                    format!(
                        "the same upgrade again changed {}: an upgrade with no change must not roll pods",
                        moved.join(", ")
                    ),
                )
            }
        }
        Ok(o) => stage(
            "no-op upgrade",
            Verdict::Fail,
            format!("exit {}: {}", o.status.code().unwrap_or(-1), tail(&o)),
        ),
        Err(e) => stage("no-op upgrade", Verdict::Fail, e),
    };
    let mut out = vec![installed, upgraded, again];
    at("public path");
    out.extend(public_and_load(&cluster, args, profile, progress).await);
    out
}

/// Whether GKE's own controller (ingress-gce) is the one meant to serve an Ingress: its class
/// annotation says `gce`, as the vendor chart's `ingress.type: clb` writes, or it names no
/// class at all on GKE.
async fn gce_ingress(client: &kube::Client, name: &str) -> bool {
    use k8s_openapi::api::networking::v1::Ingress;
    let api: kube::Api<Ingress> = kube::Api::namespaced(client.clone(), "posthog");
    let Ok(Some(ing)) = api.get_opt(name).await else {
        return false;
    };
    let annotated = ing
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubernetes.io/ingress.class"))
        .map(String::as_str);
    let named = ing
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref());
    annotated == Some("gce") || named == Some("gce") || (annotated.is_none() && named.is_none())
}

/// The keys the embedded cluster's capture and events API take (any, as a fresh project's).
const PROJECT_KEY: &str = "phc_helmdeck_verify";
const PERSONAL_KEY: &str = "phx_helmdeck_verify";

/// The public path through the load balancer, then the load on capture: through that path
/// when it answers (as users' SDKs and the vendor's k6 reach it), else through the API
/// server's proxy.
async fn public_and_load(
    cluster: &super::sim::Embedded,
    args: &VerifyArgs,
    profile: &Profile,
    progress: &Progress,
) -> Vec<StageResult> {
    use crate::cluster::{load, probe, public_path};
    let target = crate::cluster::Target {
        kubeconfig: Some(cluster.kubeconfig().to_path_buf()),
        context: None,
    };
    // Without kube's retries, so a refused capture counts as the failure it is.
    let client = match target.probe_client().await {
        Ok(c) => c,
        Err(e) => return vec![stage("public path", Verdict::Fail, e.to_string())],
    };
    let via = cluster.public().and_then(|p| p.parse().ok());
    let (public, transport) = match public_path::probe(
        &client,
        "posthog",
        "posthog",
        via,
        Some(PROJECT_KEY),
    )
    .await
    {
        Ok(r) => {
            let c = crate::health::public_path::check(&r);
            let t = match crate::health::public_path::reached(&r) {
                true => public_path::transport(&r).await,
                false => None,
            };
            (check_stage("public path", c), t)
        }
        Err(public_path::NoPath::NoHostname) => (
            stage(
                "public path",
                Verdict::Warn,
                "the release has no Ingress with a hostname: nothing public to ask",
            ),
            None,
        ),
        Err(public_path::NoPath::NoAddress { hostname, ingress }) => (
            if profile.provider == "gcp" && gce_ingress(&client, &ingress).await {
                stage(
                    "public path",
                    Verdict::Warn,
                    format!(
                        "not verified: the Ingress {ingress} for {hostname} is GKE's (class gce), whose load balancer the simulated cluster does not model; the load goes through the API server's proxy"
                    ),
                )
            } else {
                stage(
                    "public path",
                    Verdict::Fail,
                    format!(
                        "the Ingress {ingress} for {hostname} got no load balancer address: no ingress controller serves its class"
                    ),
                )
            },
            None,
        ),
    };
    let Load::Users { users, seconds } = args.load else {
        return vec![public];
    };
    let transport = match transport {
        Some(t) => t,
        None => probe::Transport::proxy(client, "posthog", "posthog").await,
    };
    let settings = probe::settings_for(Some(profile));
    let plan = load::LoadPlan {
        users,
        duration: std::time::Duration::from_secs(seconds),
        pause: std::time::Duration::from_secs(1),
        visible_within: std::time::Duration::from_secs(settings.timeout_seconds.min(args.timeout)),
        poll_every: std::time::Duration::from_millis(500),
    };
    progress.at(
        &profile.name,
        &format!("load: {users} users × {seconds} s, then the events API"),
    );
    let record = load::run(Arc::new(transport), PROJECT_KEY, Some(PERSONAL_KEY), &plan).await;
    vec![
        public,
        check_stage("load", crate::health::load::check(&record)),
    ]
}

/// A check as a stage: its verdict, its message and, when it has one, its fix.
fn check_stage(name: &'static str, c: crate::verdict::Check) -> StageResult {
    let detail = match c.fix.is_empty() {
        true => c.message,
        false => format!("{}; fix: {}", c.message, c.fix),
    };
    stage(name, c.verdict, detail)
}

/// helm lint's own count line (`1 chart(s) linted, 0 chart(s) failed`) and its notes.
fn lint_summary(out: &str) -> String {
    let notes: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("[INFO]") || l.starts_with("[WARNING]"))
        .collect();
    let count = out
        .lines()
        .find(|l| l.contains("linted"))
        .unwrap_or("linted")
        .trim();
    if notes.is_empty() {
        count.to_string()
    } else {
        format!("{count}; {}", notes.join("; "))
    }
}

pub fn verify(args: VerifyArgs) -> i32 {
    let set = match super::render::load_profiles() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return e.code;
        }
    };
    let names: Vec<String> = if args.profile.is_empty() {
        set.iter().map(|p| p.name.clone()).collect()
    } else {
        args.profile.clone()
    };
    let mut profiles = Vec::new();
    for n in &names {
        match set.get(n) {
            Ok(p) => profiles.push(p.clone()),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        }
    }
    let helm = match crate::helm::find_helm() {
        Ok(b) => Arc::new(Helm::new(b, None, None)),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return e.code;
        }
    };
    let args = Arc::new(args);
    // Rendered for the Kubernetes the simulated cluster serves, where installs are verified.
    let kube = super::sim::kubernetes_version();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let progress = Arc::new(Progress::new());
    let reports: Vec<ProfileReport> = rt.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(cores));
        let tasks: Vec<_> = profiles
            .into_iter()
            .map(|p| {
                let (args, helm, kube, gate, progress) = (
                    args.clone(),
                    helm.clone(),
                    kube.clone(),
                    gate.clone(),
                    progress.clone(),
                );
                tokio::spawn(async move {
                    let _slot = gate.acquire_owned().await;
                    let name = p.name.clone();
                    let r = verify_profile(args, p, helm, kube, &progress).await;
                    progress.done(&name, r.verdict());
                    r
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            if let Ok(r) = t.await {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.profile.cmp(&b.profile));
        out
    });
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, junit(&reports))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return exit::FAILED;
    }
    let text = match args.output {
        Output::Json => {
            serde_json::to_string_pretty(&json!({"reports": reports, "strict": args.strict}))
                .unwrap_or_default()
                + "\n"
        }
        _ => table(&reports),
    };
    if !super::emit(format_args!("{text}")) {
        return exit::FAILED;
    }
    if reports.iter().all(|r| r.verdict() != Verdict::Fail) {
        exit::OK
    } else {
        exit::FAILED
    }
}

fn word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Warn => "warn",
        Verdict::Fail => "FAIL",
    }
}

/// The report as a person reads it: a row per profile, then each finding with its fix.
fn table(reports: &[ProfileReport]) -> String {
    let mut s = format!(
        "{:<14} {:<26} {:<6} {:<6} {:<6} {:<7} {:<7} {:<5} {:<6} {:<5}\n",
        "PROFILE",
        "CHART",
        "LINT",
        "RENDER",
        "POLICY",
        "INSTALL",
        "UPGRADE",
        "NO-OP",
        "PUBLIC",
        "LOAD"
    );
    let of = |r: &ProfileReport, name: &str| {
        r.stages
            .iter()
            .find(|s| s.stage == name)
            .map_or("-", |s| word(s.verdict))
    };
    for r in reports {
        s.push_str(&format!(
            "{:<14} {:<26} {:<6} {:<6} {:<6} {:<7} {:<7} {:<5} {:<6} {:<5}\n",
            r.profile,
            r.chart,
            of(r, "lint"),
            of(r, "render"),
            of(r, "policy"),
            of(r, "install"),
            of(r, "upgrade"),
            of(r, "no-op upgrade"),
            of(r, "public path"),
            of(r, "load")
        ));
    }
    for r in reports {
        for st in r.stages.iter().filter(|s| s.verdict != Verdict::Pass) {
            s.push_str(&format!(
                "\n{} · {} · {}: {}\n",
                r.profile,
                st.stage,
                word(st.verdict),
                st.detail
            ));
        }
        for f in &r.findings {
            let mark = if f.skipped {
                "skipped"
            } else {
                word(f.verdict)
            };
            s.push_str(&format!(
                "  {mark} {} — {} ({}): {}\n    fix: {}\n",
                f.id, f.object, f.field, f.message, f.fix
            ));
        }
    }
    s
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML as CI systems read it (the common schema: testsuites › testsuite › testcase,
/// with failure and skipped): a suite per profile, a case per stage and per policy finding.
pub fn junit(reports: &[ProfileReport]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut suites = String::new();
    let (mut tests, mut failures) = (0, 0);
    for r in reports {
        let mut cases = String::new();
        let (mut t, mut f, mut sk) = (0, 0, 0);
        for st in &r.stages {
            t += 1;
            let body = if st.verdict == Verdict::Fail {
                f += 1;
                format!(
                    "<failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml(&st.detail),
                    st.stage,
                    xml(&st.detail)
                )
            } else {
                format!("<system-out>{}</system-out>", xml(&st.detail))
            };
            cases.push_str(&format!(
                "    <testcase classname=\"verify.{}\" name=\"{}\" time=\"0\">{body}</testcase>\n",
                xml(&r.profile),
                st.stage
            ));
        }
        for fd in &r.findings {
            t += 1;
            let text = format!(
                "{} ({}): {} — fix: {}",
                fd.object, fd.field, fd.message, fd.fix
            );
            let body = if fd.skipped {
                sk += 1;
                format!("<skipped message=\"{}\"/>", xml("skipped with --skip"))
            } else if fd.verdict == Verdict::Fail {
                f += 1;
                format!(
                    "<failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml(&fd.message),
                    fd.id,
                    xml(&text)
                )
            } else {
                format!("<system-out>{}</system-out>", xml(&text))
            };
            cases.push_str(&format!(
                "    <testcase classname=\"verify.{}.policy\" name=\"{} {}\" time=\"0\">{body}</testcase>\n",
                xml(&r.profile),
                fd.id,
                xml(&fd.object)
            ));
        }
        tests += t;
        failures += f;
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{t}\" failures=\"{f}\" errors=\"0\" skipped=\"{sk}\" time=\"0\">\n{cases}  </testsuite>\n",
            xml(&r.profile)
        ));
    }
    s.push_str(&format!(
        "<testsuites name=\"helmdeck verify\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"0\">\n{suites}</testsuites>\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_that_differs_only_by_the_revision_is_told_apart() {
        let info = |r: u64| format!(r#"{{"kube_version":"v1.33.2","release_revision":{r}}}"#);
        assert!(same_but_revision(&info(2), &info(3), 2, 3));
        assert!(!same_but_revision(&info(2), &info(4), 2, 3));
        assert!(!same_but_revision("v1.33.2", "v1.33.3", 1, 3));
        let t = |r: u64, image: &str| json!({"spec": {"containers": [{"image": image, "env": [{"name": "HELM_INSTALL_INFO", "value": info(r)}]}]}});
        let before = [("deployments/web".to_string(), t(2, "a:1"))].into();
        let after = [("deployments/web".to_string(), t(3, "a:1"))].into();
        let found = revision_only(&before, &after, (2, 3));
        assert_eq!(found.len(), 1);
        assert!(found[0].1.contains("HELM_INSTALL_INFO"), "{found:?}");
        let moved_image = [("deployments/web".to_string(), t(3, "a:2"))].into();
        assert!(revision_only(&before, &moved_image, (2, 3)).is_empty());
    }
}
