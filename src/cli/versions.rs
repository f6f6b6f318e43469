//! `helmdeck versions`: a chart's versions from its repository's index, with the app version,
//! the Kubernetes range each declares and its date; the release's current version and the
//! versions that run on the cluster are marked when the cluster can be asked.

use super::outln;
use std::time::Duration;

use serde_json::json;

use super::{Output, VersionsArgs, exit};
use crate::chart::repo;
use crate::deploy::ValuesIntent;

pub fn run(args: VersionsArgs) -> i32 {
    let intent = ValuesIntent {
        profile: args.profile.clone(),
        chart: args.chart.clone(),
        repo: args.repo.clone(),
        version: None,
        ..Default::default()
    };
    let (url, name) = match intent.repository() {
        Ok(Some(s)) => s,
        Ok(None) => (
            repo::repo_url(args.repo.as_deref(), None),
            args.chart
                .clone()
                .unwrap_or_else(|| repo::VENDOR_CHART.into()),
        ),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    super::block_on(async move {
        let listing = match repo::versions(&url, &name, &crate::dirs::cache_dir()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::REPOSITORY;
            }
        };
        let target = crate::cluster::Target {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        };
        // The cluster is optional here: a listing is useful before there is one.
        let (server, current) =
            tokio::time::timeout(Duration::from_secs(10), cluster_side(&target, &args))
                .await
                .unwrap_or_default();
        if let Some(why) = &listing.stale {
            eprintln!("warning: the repository did not answer ({why}): listing its last index");
        }
        if args.output == Output::Json {
            let doc = json!({"repo": listing.repo, "chart": listing.chart,
                "current": current, "kubernetes": server,
                "versions": listing.versions.iter().map(|v| {
                    let mut o = serde_json::to_value(v).unwrap_or_default();
                    o["runs_on_cluster"] = json!(server.as_deref().map(|s| v.runs_on(s)));
                    o
                }).collect::<Vec<_>>()});
            outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            return exit::OK;
        }
        outln!(
            "{} in {}{}{}",
            listing.chart,
            listing.repo,
            current
                .as_deref()
                .map(|c| format!(" (release {} runs {c})", args.release))
                .unwrap_or_default(),
            server
                .as_deref()
                .map(|s| format!(", cluster Kubernetes {s}"))
                .unwrap_or_default()
        );
        outln!(
            "  {:<10} {:<9} {:<22} {:<11} NOTE",
            "VERSION",
            "APP",
            "KUBERNETES",
            "DATE"
        );
        for v in &listing.versions {
            let mut note = Vec::new();
            if current.as_deref() == Some(v.version.as_str()) {
                note.push("current".to_string());
            }
            if let Some(s) = &server
                && !v.runs_on(s)
            {
                note.push("not for this cluster".into());
            }
            if v.deprecated {
                note.push("deprecated".into());
            }
            outln!(
                "{} {:<10} {:<9} {:<22} {:<11} {}",
                if current.as_deref() == Some(v.version.as_str()) {
                    "*"
                } else {
                    " "
                },
                v.version,
                v.app_version,
                if v.kube_version.is_empty() {
                    "any"
                } else {
                    &v.kube_version
                },
                v.date(),
                note.join(", ")
            );
        }
        if let Some(book) = crate::chart::upgrade_notes::for_chart(&listing.chart)
            && !book.end_of_support.is_empty()
        {
            outln!("note: {}", book.end_of_support);
        }
        exit::OK
    })
}

/// The cluster's Kubernetes version and the release's chart version, when they can be had.
async fn cluster_side(
    target: &crate::cluster::Target,
    args: &VersionsArgs,
) -> (Option<String>, Option<String>) {
    let Ok(client) = target.connect().await else {
        return (None, None);
    };
    let server = client
        .apiserver_version()
        .await
        .ok()
        .map(|v| v.git_version.trim_start_matches('v').to_string());
    let current = match crate::helm::find_helm() {
        Ok(bin) => {
            let helm = crate::helm::driver::Helm::new(
                bin,
                target.kubeconfig_path(),
                target.context.clone(),
            );
            crate::deploy::stops::current_chart(&helm, &args.release, &args.namespace)
                .await
                .ok()
                .flatten()
                .map(|(_, version, _)| version)
        }
        Err(_) => None,
    };
    (server, current)
}
