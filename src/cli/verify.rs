//! `helmdeck verify`: the vendor's CI matrix for a chart and values, offline — per profile,
//! `helm lint --strict`, the render (values and manifests, schema included) and the policy
//! rules (`health::policy`), reported as a table, JSON or JUnit XML. Profiles run concurrently,
//! as many at a time as the machine has cores.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Output, exit, parse_repo, parse_version};
use crate::deploy::ValuesIntent;
use crate::health::policy::{self, Finding};
use crate::helm::driver::Helm;
use crate::profile::Profile;
use crate::values::SetKind;
use crate::verdict::Verdict;

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Chart: a directory or .tgz (default: the bundled stand-in, or the profile's from
    /// --repo/--version).
    #[arg(long)]
    pub chart: Option<String>,
    #[arg(long, value_parser = parse_repo)]
    pub repo: Option<String>,
    #[arg(long, value_parser = parse_version)]
    pub version: Option<String>,
    /// A profile to verify; repeatable (default: every profile).
    #[arg(long)]
    pub profile: Vec<String>,
    /// Values file; repeatable, later files win.
    #[arg(short = 'f', long = "values")]
    pub values: Vec<PathBuf>,
    /// Set a value (Helm syntax); repeatable.
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// A policy rule to leave out of the verdict, deliberately (reported as skipped).
    #[arg(long = "skip", value_parser = parse_rule)]
    pub skip: Vec<String>,
    /// Warnings fail too.
    #[arg(long)]
    pub strict: bool,
    /// Also write the report as JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
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
        chart: args.chart.clone(),
        repo: args.repo.clone(),
        version: args.version.clone(),
        answers: None,
        values_files: args.values.clone(),
        sets: args.set.iter().map(|s| (SetKind::Set, s.clone())).collect(),
        helm_major: Some(helm.major()),
        stand_in: true,
        app_pin: None,
    }
}

/// Runs helm with the values in a private file (0600) that is gone afterwards.
async fn helm_with(
    helm: &Helm,
    values: &Map<String, Value>,
    args: impl FnOnce(&str) -> Vec<String>,
) -> Result<String, crate::helm::driver::HelmFailure> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file =
        std::env::temp_dir().join(format!("helmdeck-verify-{}-{n}.json", std::process::id()));
    crate::private_files::private_file(&file, &serde_json::to_vec(values).unwrap_or_default())
        .map_err(|e| crate::helm::driver::HelmFailure {
            command: "verify".into(),
            kind: crate::helm::driver::FailureKind::Other,
            message: format!("cannot write the values to {}: {e}", file.display()),
            fix: "check the temp directory ($TMPDIR)".into(),
        })?;
    let r = helm.run(&args(&file.display().to_string()), |_| {}).await;
    let _ = std::fs::remove_file(&file);
    r
}

/// Lint, render and policy for one profile.
async fn verify_profile(
    args: Arc<VerifyArgs>,
    profile: Profile,
    helm: Arc<Helm>,
    kube: String,
) -> ProfileReport {
    let mut report = ProfileReport {
        profile: profile.name.clone(),
        chart: String::new(),
        kubernetes: kube.clone(),
        stages: Vec::new(),
        findings: Vec::new(),
    };
    let intent = intent(&args, &profile.name, &helm);
    let resolved = match intent.resolve_with(Some(profile.clone())) {
        Ok(r) => r,
        Err(e) => {
            report
                .stages
                .push(stage("render", Verdict::Fail, e.to_string()));
            return report;
        }
    };
    report.chart = format!(
        "{} {}",
        resolved.chart.metadata.name, resolved.chart.metadata.version
    );
    let rendered = match resolved.request.render(&resolved.chart) {
        Ok(r) => r,
        Err(e) => {
            report
                .stages
                .push(stage("render", Verdict::Fail, e.to_string()));
            return report;
        }
    };
    let chart_path = resolved.chart_path.display().to_string();
    let lint = helm_with(&helm, &rendered.user_values, |f| {
        vec![
            "lint".into(),
            chart_path.clone(),
            "--strict".into(),
            "-f".into(),
            f.into(),
        ]
    })
    .await;
    report.stages.push(match lint {
        Ok(out) => stage("lint", Verdict::Pass, lint_summary(&out)),
        Err(e) => stage("lint", Verdict::Fail, e.message),
    });
    let template = helm_with(&helm, &rendered.user_values, |f| {
        vec![
            "template".into(),
            "posthog".into(),
            chart_path.clone(),
            "-n".into(),
            "posthog".into(),
            "-f".into(),
            f.into(),
            "--kube-version".into(),
            kube.clone(),
        ]
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
    report
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
    let reports: Vec<ProfileReport> = rt.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(cores));
        let tasks: Vec<_> = profiles
            .into_iter()
            .map(|p| {
                let (args, helm, kube, gate) =
                    (args.clone(), helm.clone(), kube.clone(), gate.clone());
                tokio::spawn(async move {
                    let _slot = gate.acquire_owned().await;
                    let name = p.name.clone();
                    if args.output == Output::Text {
                        eprintln!("verifying {name}…");
                    }
                    verify_profile(args, p, helm, kube).await
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
        "{:<14} {:<26} {:<6} {:<6} {:<6}\n",
        "PROFILE", "CHART", "LINT", "RENDER", "POLICY"
    );
    let of = |r: &ProfileReport, name: &str| {
        r.stages
            .iter()
            .find(|s| s.stage == name)
            .map_or("-", |s| word(s.verdict))
    };
    for r in reports {
        s.push_str(&format!(
            "{:<14} {:<26} {:<6} {:<6} {:<6}\n",
            r.profile,
            r.chart,
            of(r, "lint"),
            of(r, "render"),
            of(r, "policy")
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
