//! The app's side of the engine: campaigns and rollbacks run on their own tasks, their events
//! and questions reach the UI as messages, and the UI's answers come back on the reply each
//! question carries. Nothing here holds the app's state.

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::app::{self, Msg, PlanTicket};
use crate::cluster::Target;
use crate::deploy;

/// Forwards engine events to the app until the engine drops its sender.
fn forward(tx: &UnboundedSender<Msg>) -> (UnboundedSender<deploy::Event>, JoinHandle<()>) {
    let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
    let tx = tx.clone();
    let fwd = tokio::spawn(async move {
        while let Some(e) = erx.recv().await {
            let _ = tx.send(Msg::Engine(e));
        }
    });
    (etx, fwd)
}

/// Runs the walkthrough's campaign: the answers are kept as a private draft first, so nothing
/// typed is lost if anything fails; then stop by stop, each plan shown and waited on.
pub fn spawn_campaign(intent: deploy::Intent, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut pilot = AppPilot {
            tx: tx.clone(),
            said: None,
        };
        let outcome = async {
            save_draft(&intent).map_err(deploy::Outcome::bad_input)?;
            let campaign = deploy::Campaign::prepare(intent, false).await?;
            Ok::<_, deploy::Outcome>(campaign.run(&mut pilot).await)
        }
        .await
        .unwrap_or_else(|o| o);
        // An end no stage reported (a way that is blocked, a bad draft) is the plan's answer;
        // a no came from the user, who knows.
        if pilot.said.as_ref() != Some(&outcome) && outcome != deploy::Outcome::Declined {
            let _ = tx.send(Msg::PlanDone(Err(outcome)));
        }
    });
}

/// The app's side of a campaign: each stage's events and outcome as messages, and each
/// question as a message carrying the reply the campaign waits on.
struct AppPilot {
    tx: UnboundedSender<Msg>,
    /// The last outcome a message reported.
    said: Option<deploy::Outcome>,
}

impl AppPilot {
    async fn wait(
        &self,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<deploy::Answer>,
    ) -> deploy::Answer {
        // Every reply dropped unanswered is a no.
        rx.recv().await.unwrap_or(deploy::Answer::No)
    }
}

impl deploy::Pilot for AppPilot {
    fn path(&mut self, _path: &crate::chart::upgrade_path::UpgradePath) {
        // The walkthrough's Notes step showed it before the campaign started.
    }

    async fn acknowledge(&mut self, at: &deploy::StopAt, steps: &[String]) -> deploy::Answer {
        let (reply, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = self.tx.send(Msg::Acknowledge(Box::new(app::AckRequest {
            stop: at.clone(),
            steps: steps.to_vec(),
            reply: app::Reply::new(reply),
        })));
        self.wait(&mut rx).await
    }

    async fn plan(
        &mut self,
        at: &deploy::StopAt,
        work: impl AsyncFnOnce(
            &UnboundedSender<deploy::Event>,
        ) -> Result<deploy::PlannedDeploy, deploy::Outcome>,
    ) -> Result<deploy::PlannedDeploy, deploy::Outcome> {
        let _ = self.tx.send(Msg::Planning(at.clone()));
        let (etx, fwd) = forward(&self.tx);
        let planned = work(&etx).await;
        drop(etx);
        let _ = fwd.await;
        if let Err(o) = &planned {
            self.said = Some(o.clone());
            let _ = self.tx.send(Msg::PlanDone(Err(o.clone())));
        }
        planned
    }

    async fn confirm(&mut self, at: &deploy::StopAt, plan: &deploy::Plan) -> deploy::Answer {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let (reply, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = self.tx.send(Msg::PlanDone(Ok(Box::new(PlanTicket {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            plan: plan.clone(),
            stop: at.clone(),
            reply: app::Reply::new(reply),
        }))));
        self.wait(&mut rx).await
    }

    async fn apply(
        &mut self,
        _at: &deploy::StopAt,
        work: impl AsyncFnOnce(&UnboundedSender<deploy::Event>) -> deploy::Outcome,
    ) -> deploy::Outcome {
        let (etx, fwd) = forward(&self.tx);
        let o = work(&etx).await;
        drop(etx);
        let _ = fwd.await;
        self.said = Some(o.clone());
        let _ = self.tx.send(Msg::ApplyDone(o.clone()));
        o
    }

    fn stopped(&mut self, _at: &deploy::StopAt, _outcome: &deploy::Outcome) {
        // The run screen shows the outcome; the walkthrough kept for the next stop goes.
    }
}

fn save_draft(intent: &deploy::Intent) -> Result<(), String> {
    let data_dir = crate::dirs::data_dir().ok_or("no data directory: set HELMDECK_DATA_DIR")?;
    let draft = data_dir
        .join("drafts")
        .join(intent.target.scope_key())
        .join(format!(
            "{}-{}-answers.yaml",
            intent.namespace, intent.release
        ));
    let answers = intent
        .values
        .answers
        .as_ref()
        .map(|a| a.given.clone())
        .unwrap_or_default();
    let yaml =
        serde_yaml::to_string(&serde_json::Value::Object(answers)).map_err(|e| e.to_string())?;
    crate::private_files::private_file(&draft, yaml.as_bytes()).map_err(|e| e.to_string())
}

pub fn spawn_rollback(
    release: String,
    namespace: String,
    revision: Option<u64>,
    target: Target,
    tx: UnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        let outcome = match (crate::helm::find_helm(), crate::dirs::data_dir()) {
            (Ok(bin), Some(data)) => {
                let helm = crate::helm::driver::Helm::new(
                    bin,
                    target.kubeconfig_path(),
                    target.context.clone(),
                );
                let (etx, fwd) = forward(&tx);
                let o = deploy::rollback(
                    &helm,
                    &deploy::RollbackRequest {
                        release: &release,
                        namespace: &namespace,
                        revision,
                        timeout_secs: deploy::DEFAULT_TIMEOUT_SECS,
                    },
                    &data,
                    &target,
                    etx,
                )
                .await;
                let _ = fwd.await;
                o
            }
            (Err(e), _) => deploy::Outcome::BadInput {
                message: e.to_string(),
            },
            (_, None) => deploy::Outcome::BadInput {
                message: "no data directory".into(),
            },
        };
        let _ = tx.send(Msg::ApplyDone(outcome));
    });
}
