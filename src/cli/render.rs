//! `helmdeck profiles …` and `helmdeck render`.

use super::{Output, ProfilesAction, RenderArgs, ValuesArgs, exit};
use crate::deploy::{Answers, ValuesIntent};
use crate::profile::{self, ProfileSet};
use crate::values::explain::{self, PrintOptions};
use crate::values::{HelmMajor, Rendered};

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
            super::emit(format_args!("{text}"));
            exit::OK
        }
        ProfilesAction::Show { name, output } => match set.get(&name) {
            Ok(p) => {
                let text = match output {
                    Output::Json => serde_json::to_string_pretty(p).unwrap_or_default() + "\n",
                    _ => serde_yaml::to_string(p).unwrap_or_default(),
                };
                super::emit(format_args!("{text}"));
                exit::OK
            }
            Err(e) => report(CliError::bad_input(e)),
        },
    }
}

/// The values side of an intent, from the shared values flags.
pub fn values_intent(args: &ValuesArgs) -> Result<ValuesIntent, CliError> {
    let answers = match &args.answers {
        Some(path) => {
            let (origin, given) = profile::read_answers(path).map_err(CliError::bad_input)?;
            Some(Answers { origin, given })
        }
        None => None,
    };
    Ok(ValuesIntent {
        profile: args.profile.clone(),
        chart: args.source.chart.clone(),
        repo: args.source.repo.clone(),
        version: args.source.version.clone(),
        answers,
        values_files: args.overrides.values.clone(),
        sets: args.overrides.sets(),
        helm_major: match args.helm_major.as_deref() {
            Some("3") => Some(HelmMajor::V3),
            Some(_) => Some(HelmMajor::V4),
            None => None,
        },
        // No cluster here: a profile's vendor chart only when a repository or version is
        // named (the plan and install resolve it for the cluster they target).
        stand_in: true,
        app_pin: None,
    })
}

fn render_values(args: &ValuesArgs, explain: bool) -> Result<Rendered, CliError> {
    let resolved = values_intent(args)?
        .resolve()
        .map_err(CliError::bad_input)?;
    let rendered = resolved.request.render_traced(resolved.chart, explain);
    // The process ends after printing: freeing a big tree value by value costs more than the
    // exit does (a tenth of rendering the vendor's chart).
    std::mem::forget(resolved.request);
    rendered
        .map(|(r, trees)| {
            std::mem::forget(trees);
            r
        })
        .map_err(CliError::bad_input)
}

pub fn render(args: RenderArgs) -> i32 {
    let result = render_values(&args.values, args.explain);
    let rendered = match result {
        Ok(r) => r,
        Err(e) => return report(e),
    };
    for w in &rendered.warnings {
        eprintln!("warning: {w}");
    }
    let opts = PrintOptions {
        explain: args.explain,
        show_secrets: args.show_secrets,
    };
    let text = match args.output {
        Output::Json => explain::to_json(&rendered, opts) + "\n",
        _ => explain::to_yaml(&rendered, opts),
    };
    let printed = super::emit(format_args!("{text}"));
    std::mem::forget(rendered);
    if !printed {
        return exit::FAILED;
    }
    exit::OK
}
