//! The last step of an install, upgrade or rollback: the release's pods and disks judged as
//! `helmdeck check` judges them under the profile's rules, from the same watchers, and for
//! the stack an event sent through capture and looked for in the events API. Without the
//! keys that takes, the run is "applied, not fully verified", never "passed".

use tokio::sync::mpsc::UnboundedSender;

use super::{Event, Outcome, Step, StepState, send, step};
use crate::verdict::{Check, Verdict};

/// The last step: the release's pods and disks, judged as `helmdeck check` judges them under
/// the profile's rules, from the same watchers.
pub(super) async fn verify(
    f: &Following<'_>,
    rule: crate::profile::EncryptionRule,
    client: &kube::Client,
    revision: u64,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    use crate::cluster::watch::{ClusterWatch, Scope};
    step(tx, Step::Verify, StepState::Running, "");
    // The front end's watchers when it lent them, else our own.
    let watch = match f.watch.and_then(|w| w.lend(f.namespace, true, true)) {
        Some(w) => w,
        None => std::sync::Arc::new(ClusterWatch::start(
            client,
            Scope {
                namespace: Some(f.namespace.to_string()),
                pods: true,
                disks: true,
            },
        )),
    };
    if !watch.synced(std::time::Duration::from_secs(30)).await {
        step(
            tx,
            Step::Verify,
            StepState::Failed,
            "the watchers did not finish listing within 30 s",
        );
        return Outcome::Unverified {
            revision,
            failed: vec!["the cluster could not be read to verify".into()],
        };
    }
    let snap = watch.snapshot();
    let mut checks = verify_checks(&snap, f.release, rule, std::time::SystemTime::now());
    checks.extend(monitoring(client, f, &snap).await);
    for c in &checks {
        send(tx, Event::Check(c.clone()));
    }
    if let Some(settings) = &f.probe {
        // The project key is read once, for the proxy probe and the public path alike.
        let project = crate::cluster::probe::resolve_key(
            settings.project_api_key.as_ref(),
            Some(client),
            f.namespace,
        )
        .await;
        let c = ingestion(client, f, settings, project.as_deref()).await;
        send(tx, Event::Check(c.clone()));
        checks.push(c);
        if let Some(c) = public_path(client, f, project.as_deref()).await {
            send(tx, Event::Check(c.clone()));
            checks.push(c);
        }
    }
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.message.clone())
        .collect();
    let not_verified: Vec<String> = checks
        .iter()
        .filter(|c| (c.id == "ingestion" || c.id == "public-path") && c.verdict == Verdict::Warn)
        .map(|c| format!("{}: {}", c.id, c.message))
        .collect();
    if failed.is_empty() {
        let passed = checks.len() - not_verified.len();
        step(
            tx,
            Step::Verify,
            StepState::Done,
            match not_verified.len() {
                0 => format!("{passed} check(s) passed"),
                _ => format!(
                    "{passed} check(s) passed; not verified: {}",
                    not_verified
                        .iter()
                        .filter_map(|m| m.split_once(':').map(|(id, _)| id.replace('-', " ")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        );
        Outcome::Applied {
            revision,
            not_verified,
        }
    } else {
        step(
            tx,
            Step::Verify,
            StepState::Failed,
            format!("{} check(s) failed", failed.len()),
        );
        Outcome::Unverified { revision, failed }
    }
}

/// The Verify step's checks on one cluster state: the release's pods and every disk in its
/// namespace, judged as `helmdeck check` and the dashboard judge them.
pub fn verify_checks(
    snap: &crate::cluster::watch::Snapshot,
    release: &str,
    rule: crate::profile::EncryptionRule,
    now: std::time::SystemTime,
) -> Vec<Check> {
    let asked = crate::health::Asked {
        release: Some(release),
        rule,
        pods: true,
        disks: true,
        now,
        volumes: None,
    };
    crate::health::Judgement::of(snap, asked, None).checks
}

/// The chart's monitoring parts the release as installed turns on (its stored user values),
/// each judged by its pods.
async fn monitoring(
    client: &kube::Client,
    f: &Following<'_>,
    snap: &crate::cluster::watch::Snapshot,
) -> Option<Check> {
    let releases = crate::cluster::releases::list(client, Some(f.namespace))
        .await
        .ok()?;
    let r = releases.iter().find(|r| r.name == f.release)?;
    crate::health::monitoring::judged(&r.user_values, snap, f.release, f.namespace)
}

/// Sends one event through capture (by the API server's proxy) and waits for it in the
/// events API, with the keys the profile names; says what is missing when a key is.
async fn ingestion(
    client: &kube::Client,
    f: &Following<'_>,
    settings: &crate::profile::IngestionSettings,
    project: Option<&str>,
) -> Check {
    use crate::cluster::probe;
    let personal = probe::resolve_key(
        settings.personal_api_key.as_ref(),
        Some(client),
        f.namespace,
    )
    .await;
    // Without kube's retries: a capture answering 503 is the finding, not a reason to ask
    // again for minutes.
    let probe_client = f
        .target
        .probe_client()
        .await
        .unwrap_or_else(|_| client.clone());
    let transport = probe::Transport::proxy(probe_client, f.namespace, f.release).await;
    let record = probe::probe(
        &transport,
        project,
        personal.as_deref(),
        &probe::ProbeTiming::from(settings),
    )
    .await;
    crate::health::ingestion::ingestion_check(&record)
}

/// The stack's hostname through its load balancer, when the Ingress has both (see
/// `helmdeck check`'s public path). A load balancer this machine cannot reach yet (DNS not
/// pointed, a private network) leaves the run not fully verified rather than failed; a proxy
/// protocol mismatch fails it.
async fn public_path(
    client: &kube::Client,
    f: &Following<'_>,
    project: Option<&str>,
) -> Option<Check> {
    use crate::cluster::public_path;
    let via = public_path::connect_to(None).ok().flatten();
    let r = public_path::probe(client, f.namespace, f.release, via, project)
        .await
        .ok()?;
    let mut c = crate::health::public_path::check(&r);
    if !crate::health::public_path::reached(&r) {
        c.verdict = Verdict::Warn;
    }
    Some(c)
}

/// The release a run follows and verifies, and the watchers the front end lent to it.
pub(super) struct Following<'a> {
    pub target: &'a crate::cluster::Target,
    pub namespace: &'a str,
    pub release: &'a str,
    pub watch: Option<&'a crate::cluster::watch::SharedWatch>,
    /// The ingestion probe's settings, when the release is the stack (its chart the
    /// vendor's or the stand-in): Verify then sends an event and looks for it.
    pub probe: Option<crate::profile::IngestionSettings>,
}

/// Whether a chart is the analytics stack helmdeck probes (the vendor's chart or the stand-in).
pub(super) fn is_the_stack(chart: &str) -> bool {
    chart == "posthog" || chart == crate::chart::BUNDLED_CHART
}
