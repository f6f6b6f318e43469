//! `helmdeck bundle`: one archive a user can send to whoever is on call, secrets taken out.

use std::ffi::OsString;

use clap::Parser;
use serde_json::Value;

use super::{BundleArgs, CheckArgs, exit};
use crate::bundle::{self, Extras, Meta};
use crate::cluster::Target;

/// Audit records of the release kept in a bundle.
const AUDIT_KEPT: usize = 200;

/// `check`'s arguments, parsed as its command line would be.
#[derive(Parser)]
struct CheckLine {
    #[command(flatten)]
    args: CheckArgs,
}

/// The check a bundle carries: pods and disks. Never the ingestion probe, which would send
/// an event into the user's analytics; a bundle only reads.
fn check_args(a: &BundleArgs) -> Option<CheckArgs> {
    let mut line: Vec<OsString> = ["check", "--pods", "--disks", "--release"]
        .iter()
        .map(OsString::from)
        .collect();
    line.extend([
        a.release.clone().into(),
        "-n".into(),
        a.namespace.clone().into(),
    ]);
    if let Some(c) = &a.context {
        line.extend(["--context".into(), c.into()]);
    }
    if let Some(k) = &a.kubeconfig {
        line.extend(["--kubeconfig".into(), k.into()]);
    }
    CheckLine::try_parse_from(line).ok().map(|l| l.args)
}

/// The release's records from helmdeck's audit log, newest last.
fn audit_tail(namespace: &str, release: &str) -> Vec<Value> {
    let Some(dir) = crate::dirs::data_dir() else {
        return Vec::new();
    };
    let log = crate::deploy::audit::AuditLog::new(&dir);
    let text = std::fs::read_to_string(&log.path).unwrap_or_default();
    let mut mine: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["namespace"] == namespace && r["release"] == release)
        .collect();
    let cut = mine.len().saturating_sub(AUDIT_KEPT);
    mine.drain(..cut);
    mine
}

pub fn run(args: BundleArgs) -> i32 {
    if args.output.exists() {
        eprintln!(
            "error: {} already exists; remove it or name another file with -o",
            args.output.display()
        );
        return exit::BAD_INPUT;
    }
    super::block_on(async move {
        let target = Target {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        };
        super::warn_insecure(&target);
        let client = match target.connect().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::UNREACHABLE;
            }
        };
        let g =
            match bundle::collect::gather(&client, &args.namespace, &args.release, args.log_lines)
                .await
            {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("error: {}", target.explain(&e));
                    return exit::UNREACHABLE;
                }
            };
        let namespaces: Vec<&str> = g
            .cluster
            .iter()
            .filter(|(stem, _)| *stem == "namespaces")
            .flat_map(|(_, items)| items)
            .filter_map(|n| n["metadata"]["name"].as_str())
            .collect();
        if !namespaces.is_empty() && !namespaces.contains(&args.namespace.as_str()) {
            eprintln!(
                "error: no namespace {} in this cluster: name the release's namespace with -n (`kubectl get namespaces` lists them); nothing was written",
                args.namespace
            );
            return exit::BAD_INPUT;
        }
        if g.releases.is_empty() {
            eprintln!(
                "warning: no release {} in namespace {}: the bundle holds the namespace without a release",
                args.release, args.namespace
            );
        }
        let mut extras = Extras {
            audit: audit_tail(&args.namespace, &args.release),
            ..Default::default()
        };
        match check_args(&args) {
            Some(c) => match super::check::once(&c).await {
                Ok(report) => {
                    extras.check_json = serde_json::to_value(&report).unwrap_or_default();
                    extras.check_text = super::check::text(&report, true);
                }
                Err((_, why)) => {
                    extras.check_json = serde_json::json!({ "error": why });
                    extras.check_text = format!("check could not run: {why}\n");
                }
            },
            None => extras.check_text = "check could not run: bad arguments\n".into(),
        }
        let (revisions, pods, logs) = (g.releases.len(), g.objects("pods").count(), g.logs.len());
        let skipped = g.skipped.clone();
        let meta = Meta {
            namespace: args.namespace.clone(),
            release: args.release.clone(),
            context: args.context.clone(),
            server: target.server(),
            created: crate::time::now_rfc3339(),
        };
        let files = bundle::assemble(g, &meta, extras);
        if let Err(e) = bundle::write(&args.output, &files) {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
        for s in &skipped {
            eprintln!("warning: not in the bundle: {}: {}", s.what, s.why);
        }
        let bytes = std::fs::metadata(&args.output)
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "wrote {} ({} files, {} KiB): {revisions} revision(s) of {}, {pods} pod(s), {logs} log tail(s); secrets redacted",
            args.output.display(),
            files.len(),
            bytes.div_ceil(1024),
            args.release,
        );
        println!(
            "open it with: helmdeck open {}  (or serve it to kubectl: helmdeck sim --from-bundle {})",
            args.output.display(),
            args.output.display()
        );
        exit::OK
    })
}
