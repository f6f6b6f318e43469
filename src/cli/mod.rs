//! The headless commands. Each returns a process exit code; see README "Exit codes".

mod render;
mod sim;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const PREFLIGHT: i32 = 3;
    pub const UNREACHABLE: i32 = 4;
    pub const BUSY: i32 = 5;
    pub const NOT_AVAILABLE: i32 = 69;
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
    /// Install the stack (not available yet).
    Install,
    /// Upgrade a release (not available yet).
    Upgrade,
    /// Roll a release back (not available yet).
    Rollback,
    /// Show a release's state (not available yet).
    Status,
    /// Show a release's history (not available yet).
    History,
    /// Everything up to the diff, nothing applied (not available yet).
    Plan,
    /// Check pods, disks and ingestion (not available yet).
    Check,
    /// Run the simulated Kubernetes cluster (for demos, tests and trying helmdeck).
    Sim(SimArgs),
    /// Open the app on a simulated cluster (not available yet).
    Demo,
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

/// The values flags shared by render, plan, install and upgrade.
#[derive(Debug, Clone, Args, Default)]
pub struct ValuesArgs {
    /// Cloud profile (`helmdeck profiles list`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Chart: a directory, a .tgz, a chart name with --repo, or oci://… (default: bundled).
    #[arg(long)]
    pub chart: Option<String>,
    /// Chart repository URL (with --chart NAME).
    #[arg(long)]
    pub repo: Option<String>,
    /// Chart version (with --repo or oci://).
    #[arg(long)]
    pub version: Option<String>,
    /// Answers to the profile's questions (YAML: `value.path: answer`).
    #[arg(long)]
    pub answers: Option<PathBuf>,
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
    /// Merge as this Helm major does (default: the helm found, else 4).
    #[arg(long, value_parser = ["3", "4"])]
    pub helm_major: Option<String>,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Where to write the kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// A scenario: crashloop:ROLE, image-pull-error:ROLE, unencrypted-storage, small-nodes,
    /// failing-migration, api-restart:SECONDS, latency:MS, scale:NAMESPACES:PODS. Repeatable.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// Multiplies simulated delays (readiness probe delays, container start, job run time).
    #[arg(long, default_value_t = 0.2)]
    pub time_factor: f64,
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

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Profiles { action }) => render::profiles(action),
        Some(Command::Render(args)) => render::render(*args),
        Some(Command::Sim(args)) => sim::run(args),
        Some(other) => {
            let name = format!("{other:?}").to_lowercase();
            eprintln!("helmdeck {name}: not available yet");
            exit::NOT_AVAILABLE
        }
        None => {
            eprintln!("helmdeck: the interactive app is not available yet; try `helmdeck --help`");
            exit::NOT_AVAILABLE
        }
    }
}
