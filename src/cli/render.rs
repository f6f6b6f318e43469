//! `helmdeck profiles …` and `helmdeck render`.

use std::io::Write;

use super::{Output, ProfilesAction, RenderArgs, ValuesArgs, exit};
use crate::chart::{Chart, ChartRef, resolve_chart_ref};
use crate::profile::{self, Profile, ProfileSet};
use crate::values::explain::{self, PrintOptions};
use crate::values::{self, HelmMajor, RenderRequest, Rendered, SetKind};

/// A failure before anything was done, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn bad_input(e: impl std::fmt::Display) -> CliError {
        CliError {
            code: exit::BAD_INPUT,
            message: e.to_string(),
        }
    }
}

fn report(e: CliError) -> i32 {
    eprintln!("error: {}", e.message);
    e.code
}

pub fn load_profiles() -> Result<ProfileSet, CliError> {
    ProfileSet::load(profile::user_profile_dir().as_deref()).map_err(CliError::bad_input)
}

pub fn profiles(action: ProfilesAction) -> i32 {
    let set = match load_profiles() {
        Ok(s) => s,
        Err(e) => return report(e),
    };
    let mut out = std::io::stdout().lock();
    match action {
        ProfilesAction::List { output } => {
            let text = match output {
                Output::Json => serde_json::to_string_pretty(&set.iter().collect::<Vec<_>>())
                    .unwrap_or_default(),
                Output::Yaml => {
                    serde_yaml::to_string(&set.iter().collect::<Vec<_>>()).unwrap_or_default()
                }
                Output::Text => {
                    let mut s = format!(
                        "{:<14} {:<10} {:<12} {}\n",
                        "NAME", "PROVIDER", "ENCRYPTION", "TITLE"
                    );
                    for p in set.iter() {
                        let enc = serde_json::to_value(p.storage.encryption).unwrap_or_default();
                        s.push_str(&format!(
                            "{:<14} {:<10} {:<12} {}\n",
                            p.name,
                            p.provider,
                            enc.as_str().unwrap_or(""),
                            p.title
                        ));
                    }
                    s
                }
            };
            let _ = write!(out, "{text}");
            exit::OK
        }
        ProfilesAction::Show { name, output } => match set.get(&name) {
            Ok(p) => {
                let text = match output {
                    Output::Json => serde_json::to_string_pretty(p).unwrap_or_default() + "\n",
                    _ => serde_yaml::to_string(p).unwrap_or_default(),
                };
                let _ = write!(out, "{text}");
                exit::OK
            }
            Err(e) => report(CliError::bad_input(e)),
        },
    }
}

/// What a values-rendering command resolved from its flags.
pub struct Prepared {
    pub profile: Option<Profile>,
    pub chart: Chart,
    pub chart_path: std::path::PathBuf,
    pub request: RenderRequest,
}

/// Resolves profile, chart and layers from the shared values flags.
pub fn prepare(args: &ValuesArgs) -> Result<Prepared, CliError> {
    let set = load_profiles()?;
    let profile = match &args.profile {
        Some(name) => Some(set.get(name).map_err(CliError::bad_input)?.clone()),
        None => None,
    };
    let chart_ref = match (&args.chart, &args.repo, &profile) {
        (None, None, Some(p)) => match (&p.chart.repo, &p.chart.path) {
            (Some(repo), _) => {
                ChartRef::parse(p.chart.name.as_deref(), Some(repo), args.version.as_deref())
            }
            (None, Some(path)) => ChartRef::Local(path.into()),
            _ => ChartRef::Bundled,
        },
        _ => ChartRef::parse(
            args.chart.as_deref(),
            args.repo.as_deref(),
            args.version.as_deref(),
        ),
    };
    let chart_path =
        resolve_chart_ref(&chart_ref, &crate::dirs::cache_dir()).map_err(CliError::bad_input)?;
    let chart = Chart::load(&chart_path).map_err(CliError::bad_input)?;
    let answers = match &args.answers {
        Some(path) => {
            Some(profile::load_answers(path, profile.as_ref()).map_err(CliError::bad_input)?)
        }
        None => None,
    };
    let mut files = Vec::new();
    for f in &args.values {
        files.push(values::load_file_layer(f).map_err(CliError::bad_input)?);
    }
    let mut sets = Vec::new();
    for (kind, list) in [
        (SetKind::Set, &args.set),
        (SetKind::SetString, &args.set_string),
        (SetKind::SetJson, &args.set_json),
        (SetKind::SetFile, &args.set_file),
        (SetKind::SetLiteral, &args.set_literal),
    ] {
        sets.extend(list.iter().map(|e| (kind, e.clone())));
    }
    let major = match args.helm_major.as_deref() {
        Some("3") => HelmMajor::V3,
        Some(_) => HelmMajor::V4,
        None => crate::helm::find_helm()
            .map(|h| h.major)
            .unwrap_or_default(),
    };
    let request = RenderRequest {
        previous: None,
        profile: profile.as_ref().map(Profile::layer),
        answers,
        files,
        sets,
        base_dir: std::env::current_dir().ok(),
        major,
    };
    Ok(Prepared {
        profile,
        chart,
        chart_path,
        request,
    })
}

pub fn render_prepared(p: &Prepared) -> Result<Rendered, CliError> {
    p.request.render(&p.chart).map_err(CliError::bad_input)
}

pub fn render(args: RenderArgs) -> i32 {
    let result = prepare(&args.values).and_then(|p| render_prepared(&p));
    let rendered = match result {
        Ok(r) => r,
        Err(e) => return report(e),
    };
    let opts = PrintOptions {
        explain: args.explain,
        show_secrets: args.show_secrets,
    };
    let text = match args.output {
        Output::Json => explain::to_json(&rendered, opts) + "\n",
        _ => explain::to_yaml(&rendered, opts),
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).is_err() {
        return exit::FAILED;
    }
    exit::OK
}
