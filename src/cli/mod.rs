//! The headless commands. Each returns a process exit code; see README "Exit codes".

mod bundle;
mod check;
mod deploy;
mod render;
mod sim;
mod verify;
mod versions;

pub use render::{CliError, values_intent};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::deploy::exit;

/// `println!` for a command's output. When the reader has gone (`helmdeck history | head`)
/// the command stops quietly with [`exit::OUTPUT_CLOSED`], as Unix tools stopped by SIGPIPE
/// do, instead of panicking; helm, if one runs, is not this process's to stop.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::emit(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Writes `args` to standard output (see [`outln!`]); false when that failed otherwise
/// (`> /dev/full`), which is said on stderr.
pub(crate) fn emit(args: std::fmt::Arguments) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(exit::OUTPUT_CLOSED)
        }
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            false
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "helmdeck",
    version,
    about = "Install, inspect and upgrade a self-hosted analytics stack on Kubernetes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub app: AppArgs,
    /// How long one request to the API server may go unanswered before the command gives
    /// up with exit 4, as kubectl's flag: seconds or a duration (`10s`, `1m`). Default:
    /// $HELMDECK_REQUEST_TIMEOUT, else 30 s.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub request_timeout: Option<u64>,
}

/// Flags of the interactive app (`helmdeck` with no subcommand).
#[derive(Debug, Clone, Args, Default)]
pub struct AppArgs {
    /// Namespace the dashboard watches.
    #[arg(short = 'n', long, default_value = "posthog", value_parser = parse_namespace)]
    pub namespace: String,
    /// Release the dashboard shows.
    #[arg(long, default_value = "posthog", value_parser = parse_release)]
    pub release: String,
    /// kubeconfig context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Profile the install wizard starts on and whose rules judge the dashboard (default:
    /// the one the release's `cloud` value names, as `check` does).
    #[arg(long)]
    pub profile: Option<String>,
    /// Hide install, upgrade and rollback.
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List and show cloud profiles.
    Profiles {
        #[command(subcommand)]
        action: ProfilesAction,
    },
    /// Render the chart values exactly as Helm will merge them.
    Render(Box<RenderArgs>),
    /// Install the stack: preflight, render, diff, confirm, apply with helm, follow the rollout.
    Install(Box<DeployArgs>),
    /// Upgrade a release, starting from its current values.
    Upgrade(Box<DeployArgs>),
    /// Everything up to and including the diff; nothing is applied.
    Plan(Box<DeployArgs>),
    /// List a chart's versions from its repository: app version, Kubernetes range, date.
    Versions(VersionsArgs),
    /// Roll a release back to a revision (default: the previous one).
    Rollback(RollbackArgs),
    /// Show a release's state (and whether it is stuck in a pending state).
    Status(ReleaseArgs),
    /// Show a release's revisions.
    History(ReleaseArgs),
    /// Check pods, disks and ingestion; exits 1 when any check fails.
    Check(Box<CheckArgs>),
    /// Lint, render and judge a chart's values for each profile, offline: the vendor's CI
    /// matrix; exits 1 when any profile fails.
    Verify(Box<verify::VerifyArgs>),
    /// Gather a support bundle to send: the cluster's facts, the release's history, values
    /// and manifests, pods, events and log tails, claims and volumes, check results and the
    /// audit log's tail, every secret taken out.
    Bundle(BundleArgs),
    /// Open a support bundle as a read-only cluster and the app on it.
    Open(OpenArgs),
    /// Run the simulated Kubernetes cluster (for demos, tests and trying helmdeck).
    Sim(SimArgs),
    /// Open the app on a simulated cluster started in-process, with the local profile ready.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProfilesAction {
    /// List the known profiles.
    List {
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show one profile in full.
    Show {
        name: String,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Yaml)]
        output: Output,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Yaml,
    Json,
}

/// Where the chart comes from, for every command that renders or installs one.
#[derive(Debug, Clone, Args, Default)]
pub struct ChartArgs {
    /// Chart: a directory, a .tgz, a chart name with --repo, or oci://… (default: the
    /// profile's, the vendor's chart; the bundled stand-in on the simulated cluster and for
    /// render and verify).
    #[arg(long)]
    pub chart: Option<String>,
    /// Chart repository URL (default: $HELMDECK_CHART_REPO, then the profile's).
    #[arg(long, value_parser = parse_repo)]
    pub repo: Option<String>,
    /// Chart version, from the chart repository; an upgrade to it goes stop by stop.
    #[arg(long, value_parser = parse_version)]
    pub version: Option<String>,
}

/// The user's values over the profile's: files, then Helm's `--set` family.
#[derive(Debug, Clone, Args, Default)]
pub struct OverrideArgs {
    /// Values file; repeatable, later files win.
    #[arg(short = 'f', long = "values")]
    pub values: Vec<PathBuf>,
    /// Set a value (Helm syntax); repeatable.
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Set a string value; repeatable.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Set a JSON value; repeatable.
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Set a value from a file's contents; repeatable.
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Set a literal string value; repeatable.
    #[arg(long = "set-literal")]
    pub set_literal: Vec<String>,
}

impl OverrideArgs {
    /// Every `--set…` in the order Helm applies them: by kind, then as given.
    pub fn sets(&self) -> Vec<(crate::values::SetKind, String)> {
        use crate::values::SetKind;
        [
            (SetKind::Set, &self.set),
            (SetKind::SetString, &self.set_string),
            (SetKind::SetJson, &self.set_json),
            (SetKind::SetFile, &self.set_file),
            (SetKind::SetLiteral, &self.set_literal),
        ]
        .into_iter()
        .flat_map(|(kind, list)| list.iter().map(move |e| (kind, e.clone())))
        .collect()
    }

    /// The same overrides as flags, for a child helmdeck.
    pub fn to_flags(&self) -> Vec<String> {
        let mut v = Vec::new();
        for f in &self.values {
            v.push("-f".to_string());
            v.push(f.display().to_string());
        }
        for (flag, list) in [
            ("--set", &self.set),
            ("--set-string", &self.set_string),
            ("--set-json", &self.set_json),
            ("--set-file", &self.set_file),
            ("--set-literal", &self.set_literal),
        ] {
            for e in list {
                v.push(flag.to_string());
                v.push(e.clone());
            }
        }
        v
    }
}

/// The values flags shared by render, plan, install and upgrade.
#[derive(Debug, Clone, Args, Default)]
pub struct ValuesArgs {
    /// Cloud profile (`helmdeck profiles list`).
    #[arg(long)]
    pub profile: Option<String>,
    #[command(flatten)]
    pub source: ChartArgs,
    /// Answers to the profile's questions (YAML: `value.path: answer`).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Merge as this Helm major does (default: the helm found, else 4).
    #[arg(long, value_parser = ["3", "4"])]
    pub helm_major: Option<String>,
}

/// Which release and cluster.
#[derive(Debug, Clone, Args)]
pub struct ReleaseTarget {
    #[arg(long, default_value = "posthog", value_parser = parse_release)]
    pub release: String,
    #[arg(short = 'n', long, default_value = "posthog", value_parser = parse_namespace)]
    pub namespace: String,
    /// kubeconfig context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// How long helm may run: only for the commands that run it to change a release.
#[derive(Debug, Args)]
pub struct HelmWait {
    /// How long helm waits for resources to be ready: seconds, or a duration as helm takes
    /// it (`300s`, `5m`, `1h30m`).
    #[arg(long, default_value_t = crate::deploy::DEFAULT_TIMEOUT_SECS, value_parser = parse_timeout)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub target: ReleaseTarget,
    #[command(flatten)]
    pub wait: HelmWait,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
    /// Leave a failed release as it is instead of rolling back.
    #[arg(long)]
    pub no_rollback: bool,
    /// Skip the pod and disk checks after helm is done.
    #[arg(long)]
    pub no_verify: bool,
    /// When the upgrade grows a StatefulSet's disks (which helm cannot do), grow each claim,
    /// wait, and recreate the StatefulSet with --cascade=orphan before upgrading.
    #[arg(long)]
    pub resize_disks: bool,
    /// Leave out this stop of the upgrade's way (its notes move to the next stop); the audit
    /// log records it with --reason.
    #[arg(long, value_name = "VERSION", requires = "reason")]
    pub skip_stop: Option<String>,
    /// Why the stop is skipped (with --skip-stop).
    #[arg(long, requires = "skip_stop")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// Chart repository URL (default: $HELMDECK_CHART_REPO, then the profile's, then the
    /// vendor's).
    #[arg(long, value_parser = parse_repo)]
    pub repo: Option<String>,
    /// Chart name in the repository (default: the profile's, else posthog).
    #[arg(long)]
    pub chart: Option<String>,
    /// Profile whose chart repository to list.
    #[arg(long)]
    pub profile: Option<String>,
    /// Release whose current version is marked, when the cluster can be reached.
    #[arg(long, default_value = "posthog", value_parser = parse_release)]
    pub release: String,
    #[arg(short = 'n', long, default_value = "posthog", value_parser = parse_namespace)]
    pub namespace: String,
    #[arg(long)]
    pub context: Option<String>,
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `status` and `history`: which release.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub target: ReleaseTarget,
}

/// `rollback`: which release, to which revision.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: ReleaseTarget,
    #[command(flatten)]
    pub wait: HelmWait,
    /// Revision to roll back to (default: the previous one).
    pub revision: Option<u64>,
    /// Roll back without asking.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Check the pods (all three areas when none is named).
    #[arg(long)]
    pub pods: bool,
    /// Check the disks' encryption.
    #[arg(long)]
    pub disks: bool,
    /// Send a test event and wait for it; probe the health endpoints.
    #[arg(long)]
    pub ingestion: bool,
    /// Keep checking every --interval seconds until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between checks with --watch (default: the profile's ingestion interval).
    #[arg(long)]
    pub interval: Option<u64>,
    /// Seconds to wait for a probe event to become visible (default: the profile's).
    #[arg(long)]
    pub ingestion_timeout: Option<u64>,
    /// Profile whose encryption rule and probe settings apply (default: from the release's
    /// `cloud` value).
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long, default_value = "posthog", value_parser = parse_release)]
    pub release: String,
    #[arg(short = 'n', long, default_value = "posthog", value_parser = parse_namespace)]
    pub namespace: String,
    /// Every namespace (pods and disks; the release filter is off).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[arg(long, conflicts_with = "all_contexts")]
    pub context: Option<String>,
    /// Check in every context of the kubeconfig at once, each within --sync-timeout: one
    /// that cannot be reached is reported as such and does not hold up the others.
    #[arg(long, conflicts_with = "watch")]
    pub all_contexts: bool,
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Public base URL of the stack (default: the profile's, else the service proxy).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Accept any TLS certificate on --public-url.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Send the public-path check's connections to IP:PORT instead of the load balancer's
    /// address, keeping the Host header (a tunnel; `helmdeck sim` prints its own). Also
    /// HELMDECK_CONNECT_TO.
    #[arg(long, value_name = "IP:PORT")]
    pub connect_to: Option<String>,
    /// File holding the project API key (default: the profile's env variable or Secret).
    #[arg(long)]
    pub project_api_key_file: Option<PathBuf>,
    /// File holding a personal API key for the events API.
    #[arg(long)]
    pub personal_api_key_file: Option<PathBuf>,
    /// Seconds to wait for the first full list of every kind.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub sync_timeout: u64,
    /// Show every pod and each volume's evidence.
    #[arg(long)]
    pub wide: bool,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[arg(long, default_value = "posthog", value_parser = parse_release)]
    pub release: String,
    #[arg(short = 'n', long, default_value = "posthog", value_parser = parse_namespace)]
    pub namespace: String,
    /// The archive to write (never replaced if it exists).
    #[arg(short = 'o', long = "output", value_name = "FILE.tar.gz")]
    pub output: PathBuf,
    /// The last lines of each container's log to keep.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub log_lines: u32,
    /// kubeconfig context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// A bundle written by `helmdeck bundle`.
    pub bundle: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A scenario for the simulated cluster (see `helmdeck sim --help`). Repeatable.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// Multiplies simulated delays.
    #[arg(long, default_value_t = 0.2)]
    pub time_factor: f64,
    /// Hide install, upgrade and rollback.
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    pub action: Option<SimAction>,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Where to write the kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// A scenario: crashloop:ROLE, image-pull-error:ROLE, unencrypted-storage, small-nodes,
    /// failing-migration, api-restart:SECONDS, latency:MS, scale:NAMESPACES:PODS,
    /// ingestion-down, ingestion-stalled, ingestion-delay:MS, unhealthy,
    /// disk-filling:ROLE:MB_PER_MIN[:FROM_PERCENT] (and the rest the error for an unknown one
    /// lists). Repeatable.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// Multiplies simulated delays (readiness probe delays, container start, job run time).
    #[arg(long, default_value_t = 0.2)]
    pub time_factor: f64,
    /// Look like a provider's cluster: plain, eks, gke, aks, doks, k3s (default classes,
    /// node labels, provider CRDs).
    #[arg(long, default_value = "plain")]
    pub flavor: String,
    /// Be this Kubernetes release, 1.23 to 1.33: `/version`, and the API versions it served
    /// (removed ones answer 404 as a real server does).
    #[arg(long, default_value = "1.33")]
    pub kubernetes_version: String,
    /// Serve HTTPS with a certificate from the cluster's own CA (written into the kubeconfig).
    #[arg(long)]
    pub tls: bool,
    /// The credential the kubeconfig carries and every request must show: none, token,
    /// cert (a client certificate) or exec (this program as an exec credential plugin,
    /// minting tokens that expire). Anything but none implies --tls.
    #[arg(long, default_value = "none")]
    pub auth: String,
    /// How long a token from the exec plugin lives, in seconds.
    #[arg(long, default_value_t = 900)]
    pub token_ttl: u64,
    /// The kubeconfig's user may read everything and change nothing (writes get 403).
    #[arg(long)]
    pub readonly_user: bool,
    /// Serve a support bundle (`helmdeck bundle`) as a read-only cluster instead: its objects
    /// and log tails as they were, nothing running, every change refused.
    #[arg(long, value_name = "FILE")]
    pub from_bundle: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SimAction {
    /// The exec credential plugin a `--auth exec` kubeconfig names: prints an ExecCredential
    /// with a fresh token.
    Credential {
        /// The token key the simulated cluster wrote beside its kubeconfig.
        #[arg(long)]
        key_file: PathBuf,
        #[arg(long, default_value_t = 900)]
        ttl_seconds: u64,
        #[arg(long)]
        readonly: bool,
    },
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Annotate each value with the layer that set it.
    #[arg(long)]
    pub explain: bool,
    /// Print secret values instead of their hashes.
    #[arg(long)]
    pub show_secrets: bool,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Yaml)]
    pub output: Output,
}

/// A flag's value that cannot be used, said before anything runs.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error(
        "{0:?} is not a chart repository URL: give http(s)://HOST/PATH, e.g. https://posthog.github.io/charts-clickhouse/"
    )]
    NotRepository(String),
    #[error("{0}: give a chart version (30.46.0) or a range (\"<31.0.0\")")]
    NotVersion(#[from] crate::chart::constraint::ImproperConstraint),
    #[error(
        "{0:?} is not a duration: give seconds (600) or a duration as helm takes it (300s, 5m, 1h30m)"
    )]
    NotDuration(String),
    #[error("{given:?} is shorter than a second: {why}")]
    TooShort { given: String, why: &'static str },
    #[error("{given:?} is longer than a week: {fix}")]
    TooLong { given: String, fix: &'static str },
}

/// `--repo`: an http(s) URL, as helm's repositories are.
pub fn parse_repo(s: &str) -> Result<String, ArgError> {
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if ok {
        Ok(s.to_string())
    } else {
        Err(ArgError::NotRepository(s.to_string()))
    }
}

/// `--version`: a version or a range, as helm reads them, before anything is fetched.
pub fn parse_version(s: &str) -> Result<String, ArgError> {
    crate::chart::constraint::Constraint::parse(s)?;
    Ok(s.to_string())
}

/// `--release`: checked by helm's rule before anything runs.
pub fn parse_release(s: &str) -> Result<String, crate::deploy::names::BadName> {
    crate::deploy::names::release(s).map(|_| s.to_string())
}

/// `-n`: a namespace name as Kubernetes takes it.
pub fn parse_namespace(s: &str) -> Result<String, crate::deploy::names::BadName> {
    crate::deploy::names::namespace(s).map(|_| s.to_string())
}

/// `--timeout`: how long helm waits, as helm takes it: plain seconds, or a Go duration as
/// helm parses it (`300s`, `5m`, `1h30m`, `1.5h`); whole seconds, at least one, at most a week.
pub fn parse_timeout(s: &str) -> Result<u64, ArgError> {
    parse_duration(s, "helm needs time to wait", "give a timeout helm can use")
}

/// `--request-timeout`: how long one request may go unanswered, as kubectl takes it (but
/// never 0, which kubectl reads as "for ever": the point is a bound).
pub fn parse_request_timeout(s: &str) -> Result<u64, ArgError> {
    parse_duration(
        s,
        "a request needs time to be answered",
        "give a wait for one request",
    )
}

/// Seconds (rounded up) from `600`, `300s`, `5m` or `1h30m`, at least one, at most a week.
fn parse_duration(
    s: &str,
    too_short: &'static str,
    too_long: &'static str,
) -> Result<u64, ArgError> {
    let s = s.trim();
    let bad = || ArgError::NotDuration(s.to_string());
    let secs: f64 = if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        s.parse().map_err(|_| bad())?
    } else {
        let mut total = 0.0;
        let mut rest = s;
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let n_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
            rest = &rest[n_end..];
            let u_end = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = match &rest[..u_end] {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 1e-3,
                "us" | "µs" => 1e-6,
                "ns" => 1e-9,
                _ => return Err(bad()),
            };
            total += n * unit;
            rest = &rest[u_end..];
        }
        total
    };
    // Under a second is refused as given (999ms, 1ns), before rounding up could hide it.
    if secs < 1.0 {
        return Err(ArgError::TooShort {
            given: s.to_string(),
            why: too_short,
        });
    }
    if secs > 7.0 * 86_400.0 {
        return Err(ArgError::TooLong {
            given: s.to_string(),
            fix: too_long,
        });
    }
    Ok(secs.ceil() as u64)
}

/// Says on stderr when the kubeconfig turns certificate checks off for this cluster.
pub(crate) fn warn_insecure(target: &crate::cluster::Target) {
    if let Some(e) = target.entries().filter(|e| e.insecure) {
        eprintln!(
            "warning: TLS is not verified for cluster {:?} (insecure-skip-tls-verify in {}): anyone on the path can read and change this traffic",
            e.cluster, e.file
        );
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    if let Some(secs) = cli.request_timeout {
        crate::deadlines::set_request_timeout(std::time::Duration::from_secs(secs));
    }
    match cli.command {
        Some(Command::Profiles { action }) => render::profiles(action),
        Some(Command::Render(args)) => render::render(*args),
        Some(Command::Verify(args)) => verify::verify(*args),
        Some(Command::Sim(args)) => sim::run(args),
        Some(Command::Install(a)) => deploy::deploy(crate::deploy::Action::Install, false, *a),
        Some(Command::Upgrade(a)) => deploy::deploy(crate::deploy::Action::Upgrade, false, *a),
        Some(Command::Plan(a)) => deploy::deploy(crate::deploy::Action::Install, true, *a),
        Some(Command::Status(a)) => deploy::status(a),
        Some(Command::Versions(a)) => versions::run(a),
        Some(Command::History(a)) => deploy::history(a),
        Some(Command::Rollback(a)) => deploy::rollback(a),
        Some(Command::Check(a)) => check::run(*a),
        Some(Command::Demo(a)) => sim::demo(a),
        Some(Command::Bundle(a)) => bundle::run(a),
        Some(Command::Open(a)) => sim::open(a),
        None => app(cli.app),
    }
}

impl Cli {
    /// A command that computes, prints and exits (no cluster watch, no app): it may take its
    /// memory from [`crate::arena`].
    pub fn one_shot(&self) -> bool {
        matches!(self.command, Some(Command::Render(_)))
    }
}

use crate::limits::DEEP_STACK;
const WORKER_STACK: usize = 64 << 20;

/// [`run`] on a thread with [`DEEP_STACK`]; the exit code.
pub fn run_with_deep_stack(cli: Cli) -> i32 {
    match std::thread::Builder::new()
        .name("helmdeck".into())
        .stack_size(DEEP_STACK)
        .spawn(move || run(cli))
    {
        Ok(h) => h.join().unwrap_or(exit::FAILED),
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            exit::FAILED
        }
    }
}

/// The runtime every command runs on: two workers, as the machines it targets have.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(WORKER_STACK)
        .enable_all()
        .build()
        .map_err(|e| CliError {
            code: exit::FAILED,
            message: format!("cannot start the runtime: {e}"),
        })
}

/// Runs a future on a fresh runtime; a runtime that cannot start is exit code 1.
pub(crate) fn block_on(f: impl std::future::Future<Output = i32>) -> i32 {
    match runtime() {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.code
        }
    }
}

/// [`block_on`] for a command whose last act is its report: the runtime, its watchers and
/// their caches are left for the process's exit to reclaim. Tearing them down freed 100,000
/// cached pods one by one, a fifth of `check --pods -A` at that scale.
pub(crate) fn block_on_then_exit(f: impl std::future::Future<Output = i32>) -> i32 {
    match runtime() {
        Ok(rt) => {
            let code = rt.block_on(f);
            std::mem::forget(rt);
            code
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.code
        }
    }
}

/// No cluster named anywhere kubectl would look: no flag, no $KUBECONFIG, no ~/.kube/config.
fn no_cluster_configured(a: &AppArgs) -> bool {
    let env_set = std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    let home_config = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".kube/config"))
        .is_some_and(|p| p.is_file());
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    a.kubeconfig.is_none() && a.context.is_none() && !env_set && !home_config && !in_cluster
}

/// `helmdeck` with no subcommand: the app on the current kube context, or on the built-in
/// simulated cluster when no cluster is configured.
fn app(a: AppArgs) -> i32 {
    if no_cluster_configured(&a) {
        return sim::demo(DemoArgs {
            scenarios: Vec::new(),
            time_factor: 0.2,
            readonly: a.readonly,
        });
    }
    block_on(crate::tui::run(crate::tui::Launch {
        target: crate::cluster::Target {
            kubeconfig: a.kubeconfig,
            context: a.context,
        },
        namespace: a.namespace,
        release: a.release,
        readonly: a.readonly,
        profile: a.profile,
        probe_key: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::parse_timeout;

    #[test]
    fn timeouts_take_seconds_and_helm_durations() {
        for (given, secs) in [
            ("600", 600),
            ("300s", 300),
            ("5m", 300),
            ("1h30m", 5400),
            ("1.5h", 5400),
            ("2m30s", 150),
            ("1500ms", 2),
        ] {
            assert_eq!(parse_timeout(given), Ok(secs), "{given}");
        }
        for bad in [
            "",
            "5 minutes",
            "m",
            "5d",
            "-5m",
            "0",
            "0s",
            "9999h",
            "999ms",
            "1ns",
            "0.5s",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
