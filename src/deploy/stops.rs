//! Upgrades across chart versions, stop by stop: the path from the release's chart to the
//! version asked for, planned against the chart repository's index, the chart's notes and the
//! cluster's Kubernetes. Each stop is then an ordinary plan and apply; the front end confirms
//! between stops and may stop there.

use crate::chart::upgrade_notes;
use crate::chart::upgrade_path::{self, UpgradePath};
use crate::chart::{repo, upgrade_notes::split_chart_label};
use crate::helm::driver::Helm;

use super::{Intent, Outcome};

/// The release's chart as name and version, with its app version: the last deployed
/// revision's, else the latest one's. None when there is no release.
pub async fn current_chart(
    helm: &Helm,
    release: &str,
    namespace: &str,
) -> Result<Option<(String, String, String)>, Outcome> {
    let history = helm.history(release, namespace).await?;
    let Some(current) = history
        .iter()
        .rev()
        .find(|h| h.status == crate::release_status::ReleaseStatus::Deployed)
        .or(history.last())
    else {
        return Ok(None);
    };
    Ok(split_chart_label(&current.chart)
        .map(|(c, v)| (c.to_string(), v.to_string(), current.app_version.clone())))
}

/// The path for `intent`, an upgrade of a repository's chart: to the version it names, else to
/// the version an install would pick (the newest the profile allows). None when there is no
/// path to plan: not a repository chart, or no release yet.
pub async fn path(intent: &Intent) -> Result<Option<UpgradePath>, Outcome> {
    let mut values = intent.values.clone();
    // As the request will resolve it: the simulated cluster runs the bundled stand-in.
    values.stand_in |= intent.target.is_simulated();
    let source = tokio::task::spawn_blocking(move || {
        let range = values.load_profile()?.and_then(|p| p.chart.version.clone());
        Ok::<_, super::intent::ResolveError>(values.repository()?.map(|s| (s, range)))
    })
    .await
    .map_err(|e| Outcome::bad_input(e.to_string()))?
    .map_err(Outcome::bad_input)?;
    let Some(((url, name), range)) = source else {
        return Ok(None);
    };
    let bin = crate::helm::find_helm().map_err(Outcome::bad_input)?;
    let helm = Helm::new(
        bin,
        intent.target.kubeconfig_path(),
        intent.target.context.clone(),
    );
    let Some((chart, from, from_app)) =
        current_chart(&helm, &intent.release, &intent.namespace).await?
    else {
        return Ok(None);
    };
    if chart != name {
        return Err(Outcome::bad_input(format!(
            "release {} runs chart {chart}, not {name}: name the chart it runs with --chart",
            intent.release
        )));
    }
    let listing = repo::versions(&url, &name, &crate::dirs::cache_dir())
        .await
        .map_err(|e| Outcome::RepositoryUnreadable {
            message: e.to_string(),
        })?;
    let to = match &intent.values.version {
        Some(v) => v.clone(),
        None => match listing.default_version(range.as_deref()) {
            Some(v) => v.version.clone(),
            None => {
                return Err(Outcome::bad_input(format!(
                    "the repository {url} has no version of {name}{}; give one with --version",
                    range
                        .map(|r| format!(" within {r} (the profile's supported range)"))
                        .unwrap_or_default()
                )));
            }
        },
    };
    let client = intent
        .target
        .connect()
        .await
        .map_err(|e| Outcome::Unreachable {
            message: e.to_string(),
        })?;
    let server = client
        .apiserver_version()
        .await
        .ok()
        .map(|v| v.git_version.trim_start_matches('v').to_string());
    let book = upgrade_notes::for_chart(&name);
    Ok(Some(upgrade_path::plan(
        book.as_ref(),
        &listing,
        &from,
        &from_app,
        &to,
        server.as_deref(),
    )))
}
