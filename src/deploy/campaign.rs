//! An install or upgrade from start to end, for the CLI and the app alike: the way to the
//! chart version (stop by stop when the chart's notes ask for it), then for each stop the
//! manual steps acknowledged, a plan, the user's confirmation, the apply and its verify. The
//! front ends only answer the questions and show the events, through [`Pilot`]; neither can
//! take a shorter way than the other.
//!
//! A campaign resumes by being started again: its way is planned from the release's chart as
//! it is now, so the stops already taken are not taken twice.

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::{Action, Event, Intent, Outcome, Plan, PlannedDeploy};
use crate::chart::upgrade_path::UpgradePath;

/// Where a campaign is: stop `index` (from 0) of `total`, at chart `version` (none: the
/// version the intent resolves to, when there is no way to plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StopAt {
    pub index: usize,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the upgrade must stop here before going on (none for the last stop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The app version this stop runs whatever the chart's default (an async migration's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_app: Option<String>,
    /// The async migrations that must complete at this stop before the next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<String>,
}

impl StopAt {
    /// Whether this is one stop of several (front ends then say which).
    pub fn one_of_several(&self) -> bool {
        self.total > 1
    }

    /// `stop 1 of 2 (chart 29.0.11)`.
    pub fn label(&self) -> String {
        format!(
            "stop {} of {} (chart {})",
            self.index + 1,
            self.total,
            self.version.as_deref().unwrap_or("?")
        )
    }
}

/// A person's answer to a question the campaign asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Ctrl-C (or the app going away) at the question.
    Interrupted,
}

/// What a front end does for a campaign: show the way and each stage's events, and answer
/// its questions. Only the campaign decides what happens next.
// Each front end calls it with its own concrete pilot, so the futures' auto traits are known
// where they matter (the app spawns its campaign).
#[allow(async_fn_in_trait)]
pub trait Pilot {
    /// The way, once, before the first stop is planned (an upgrade of a repository's chart).
    fn path(&mut self, path: &UpgradePath);
    /// The manual steps of the notes the stop crosses, before it is planned.
    async fn acknowledge(&mut self, at: &StopAt, steps: &[String]) -> Answer;
    /// Runs the planning of a stop, showing its events; `Outcome::Interrupted` when the user
    /// stopped it (nothing is applied while planning).
    async fn plan(
        &mut self,
        at: &StopAt,
        work: impl AsyncFnOnce(&UnboundedSender<Event>) -> Result<PlannedDeploy, Outcome>,
    ) -> Result<PlannedDeploy, Outcome>;
    /// The stop's plan, shown: apply it?
    async fn confirm(&mut self, at: &StopAt, plan: &Plan) -> Answer;
    /// Runs the apply of a stop, showing its events, and returns its outcome.
    async fn apply(
        &mut self,
        at: &StopAt,
        work: impl AsyncFnOnce(&UnboundedSender<Event>) -> Outcome,
    ) -> Outcome;
    /// The campaign ended at `at` before its last stop (`outcome` says why).
    fn stopped(&mut self, at: &StopAt, outcome: &Outcome);
}

/// One install or upgrade, its way planned.
pub struct Campaign {
    intent: Intent,
    path: Option<UpgradePath>,
    plan_only: bool,
}

impl Campaign {
    /// Plans the way for `intent`: for an upgrade (or a plan) of a release of a repository's
    /// chart, to the version named or else to the one an install would pick.
    pub async fn prepare(intent: Intent, plan_only: bool) -> Result<Campaign, Outcome> {
        let mut path = if intent.action == Action::Upgrade || plan_only {
            super::stops::path(&intent).await?
        } else {
            None
        };
        if let Some(skip) = &intent.skip {
            let Some(p) = path.as_mut() else {
                return Err(Outcome::bad_input(format!(
                    "--skip-stop {}: there is no way of stops to skip from (an upgrade of an installed release of a repository's chart has one)",
                    skip.version
                )));
            };
            p.skip(&skip.version, &skip.reason)
                .map_err(Outcome::bad_input)?;
        }
        Ok(Campaign {
            intent,
            path,
            plan_only,
        })
    }

    pub fn path(&self) -> Option<&UpgradePath> {
        self.path.as_ref()
    }

    /// The stops, in order; one (at the intent's own version) when there is no way to plan.
    pub fn stops(&self) -> Vec<StopAt> {
        match &self.path {
            Some(p) => p
                .stops
                .iter()
                .enumerate()
                .map(|(index, s)| StopAt {
                    index,
                    total: p.stops.len(),
                    version: Some(s.version.clone()),
                    why: s.why.clone(),
                    pin_app: s.pin_app.clone(),
                    gate: s.gate.clone(),
                })
                .collect(),
            None => vec![StopAt {
                index: 0,
                total: 1,
                version: self.intent.values.version.clone(),
                why: None,
                pin_app: None,
                gate: Vec::new(),
            }],
        }
    }

    /// The skipped stop goes in the audit log, with the user's reason, as the stop that takes
    /// its place is applied.
    fn record_skip(&self, at: &StopAt) {
        if let Some(record) = self.skip_record(at)
            && let Some(dir) = crate::dirs::data_dir()
        {
            let _ = super::audit::AuditLog::new(&dir).append(record);
        }
    }

    /// The audit record of the skipped stop, when `at` is the stop in its place.
    fn skip_record(&self, at: &StopAt) -> Option<serde_json::Value> {
        let p = self.path.as_ref()?;
        let k = p.skipped.as_ref().filter(|k| k.instead == at.index)?;
        Some(serde_json::json!({
            "phase": "skip-stop",
            "release": self.intent.release,
            "namespace": self.intent.namespace,
            "context": self.intent.target.context,
            "chart": p.chart,
            "skipped": k.version,
            "reason": k.reason,
            "the_notes_wanted_it": k.why,
            "instead": at.version,
        }))
    }

    /// The intent of one stop: the same values, at that stop's chart version.
    fn intent_at(&self, at: &StopAt) -> Intent {
        let mut leg = self.intent.clone();
        if let Some(v) = &at.version {
            leg.values.version = Some(v.clone());
        }
        leg.values.app_pin = at.pin_app.clone();
        if self.path.is_some() {
            leg.action = Action::Upgrade;
        }
        leg
    }

    /// Takes the campaign stop by stop until the last is applied or one ends it: a question
    /// answered no, a refused plan or an apply that did not end `Applied`.
    pub async fn run(&self, pilot: &mut impl Pilot) -> Outcome {
        if let Some(p) = &self.path {
            pilot.path(p);
            if !p.blockers.is_empty() {
                return Outcome::PreflightFailed {
                    failed: p.blockers.clone(),
                };
            }
        }
        let at_question = || Outcome::Interrupted {
            during: "at the question".into(),
        };
        let mut outcome = Outcome::Planned;
        // The previous stop's async migrations, when they are confirmed by hand.
        let mut by_hand: Vec<String> = Vec::new();
        for at in self.stops() {
            // The app answers the steps its walkthrough already had acknowledged at once.
            let mut steps = std::mem::take(&mut by_hand);
            steps.extend(
                self.path
                    .as_ref()
                    .map(|p| p.manual_steps(at.index))
                    .unwrap_or_default(),
            );
            if !self.plan_only && !steps.is_empty() {
                match pilot.acknowledge(&at, &steps).await {
                    Answer::Yes => {}
                    Answer::No => return Outcome::Declined,
                    Answer::Interrupted => return at_question(),
                }
            }
            let leg = self.intent_at(&at);
            let planned = pilot
                .plan(&at, async move |tx| {
                    let request = tokio::task::spawn_blocking(move || leg.resolve())
                        .await
                        .map_err(|e| Outcome::local(e, "run again"))??;
                    super::plan(request, tx).await
                })
                .await;
            let planned = match planned {
                Ok(p) => p,
                Err(o) => return o,
            };
            if self.plan_only {
                // The later stops' diffs depend on this one: they are planned when reached.
                return Outcome::Planned;
            }
            match pilot.confirm(&at, &planned.plan).await {
                Answer::Yes => {}
                Answer::No => return Outcome::Declined,
                Answer::Interrupted => return at_question(),
            }
            self.record_skip(&at);
            // A stop that exists for async migrations is left only once they have completed:
            // read from the app with a staff user's key, else confirmed by hand below.
            let gated = !at.gate.is_empty() && at.index + 1 < at.total;
            let key = match gated {
                true => super::migrations::personal_key(&planned.request).await,
                false => None,
            };
            outcome = pilot
                .apply(&at, async |tx| {
                    apply_and_gate(&planned, &at, gated.then_some(key.as_deref()), tx).await
                })
                .await;
            if gated && key.is_none() {
                // Asked with the next stop's own steps, before it is planned.
                by_hand =
                    super::migrations::by_hand(at.version.as_deref().unwrap_or("?"), &at.gate);
            }
            if !matches!(outcome, Outcome::Applied { .. }) {
                if at.index + 1 < at.total {
                    pilot.stopped(&at, &outcome);
                }
                break;
            }
        }
        outcome
    }
}

/// Applies a stop; a stop that exists for async migrations (`gate` given) then waits for
/// them with the personal key, or says they are to be confirmed by hand without one. A
/// passed gate keeps the stop's own outcome (and what it could not verify).
async fn apply_and_gate(
    planned: &PlannedDeploy,
    at: &StopAt,
    gate: Option<Option<&str>>,
    tx: &UnboundedSender<Event>,
) -> Outcome {
    let o = super::apply(planned, tx).await;
    let (Outcome::Applied { revision, .. }, Some(key)) = (&o, gate) else {
        return o;
    };
    let Some(key) = key else {
        super::step(
            tx,
            super::Step::Migrations,
            super::StepState::Skipped,
            format!(
                "no personal API key to read them with ({}): confirm each by hand",
                super::migrations::key_hint(&planned.request)
            ),
        );
        return o;
    };
    let limit = std::time::Duration::from_secs(planned.request.timeout_secs);
    match super::migrations::wait(&planned.request, &at.gate, key, *revision, limit, tx).await {
        Outcome::Applied { .. } => o,
        stopped => stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::upgrade_path::Stop;
    use crate::cluster::Target;

    fn path(versions: &[&str]) -> UpgradePath {
        UpgradePath {
            chart: "posthog".into(),
            from: "25.0.0".into(),
            from_app: "1.37.1".into(),
            to: versions.last().unwrap().to_string(),
            stops: versions
                .iter()
                .map(|v| Stop {
                    version: v.to_string(),
                    app_version: String::new(),
                    kube_version: String::new(),
                    runs_on_cluster: None,
                    why: None,
                    pin_app: None,
                    gate: Vec::new(),
                    notes: Vec::new(),
                })
                .collect(),
            blockers: Vec::new(),
            end_of_support: String::new(),
            skipped: None,
        }
    }

    fn campaign(p: Option<UpgradePath>, action: Action) -> Campaign {
        Campaign {
            intent: Intent::new(action, "posthog", "posthog", Target::default()),
            path: p,
            plan_only: false,
        }
    }

    #[test]
    fn every_stop_of_the_way_is_an_upgrade_at_its_own_version() {
        let c = campaign(Some(path(&["29.0.11", "30.46.0"])), Action::Install);
        let stops = c.stops();
        assert_eq!(stops.len(), 2);
        assert_eq!(stops[1].label(), "stop 2 of 2 (chart 30.46.0)");
        let leg = c.intent_at(&stops[0]);
        assert_eq!(leg.values.version.as_deref(), Some("29.0.11"));
        assert_eq!(leg.action, Action::Upgrade);
    }

    #[test]
    fn without_a_way_there_is_one_stop_at_the_intents_version() {
        let c = campaign(None, Action::Install);
        let stops = c.stops();
        assert_eq!(stops.len(), 1);
        assert!(!stops[0].one_of_several());
        assert_eq!(c.intent_at(&stops[0]).action, Action::Install);
    }

    /// A pilot that must never be asked anything: the blocked way ends the campaign first.
    struct Silent(Vec<String>);
    impl Pilot for Silent {
        fn path(&mut self, p: &UpgradePath) {
            self.0.push(format!("path to {}", p.to));
        }
        async fn acknowledge(&mut self, _: &StopAt, _: &[String]) -> Answer {
            panic!("asked to acknowledge")
        }
        async fn plan(
            &mut self,
            _: &StopAt,
            _: impl AsyncFnOnce(&UnboundedSender<Event>) -> Result<PlannedDeploy, Outcome>,
        ) -> Result<PlannedDeploy, Outcome> {
            panic!("asked to plan")
        }
        async fn confirm(&mut self, _: &StopAt, _: &Plan) -> Answer {
            panic!("asked to confirm")
        }
        async fn apply(
            &mut self,
            _: &StopAt,
            _: impl AsyncFnOnce(&UnboundedSender<Event>) -> Outcome,
        ) -> Outcome {
            panic!("asked to apply")
        }
        fn stopped(&mut self, _: &StopAt, _: &Outcome) {}
    }

    #[test]
    fn a_skipped_stop_leaves_the_way_its_notes_go_on_and_the_audit_names_the_reason() {
        use crate::chart::upgrade_notes::Note;
        use crate::chart::upgrade_path::SkipError;
        let note = |v: &str| Note {
            version: v.into(),
            ..Default::default()
        };
        let mut p = path(&["26.0.0", "29.0.11", "30.46.0"]);
        p.stops[1].notes = vec![note("27.0.0")];
        p.stops[1].why = Some("async migrations 0005 to 0007".into());
        p.stops[2].notes = vec![note("30.0.0")];
        assert!(matches!(
            p.skip("28.0.0", "r"),
            Err(SkipError::NotAStop { .. })
        ));
        assert_eq!(
            p.skip("30.46.0", "r"),
            Err(SkipError::Target("30.46.0".into()))
        );
        p.skip("29.0.11", "ran them by hand on app 1.41.4").unwrap();
        let versions: Vec<&str> = p.stops.iter().map(|s| s.version.as_str()).collect();
        assert_eq!(versions, ["26.0.0", "30.46.0"]);
        let notes: Vec<&str> = p.stops[1]
            .notes
            .iter()
            .map(|n| n.version.as_str())
            .collect();
        assert_eq!(
            notes,
            ["27.0.0", "30.0.0"],
            "the skipped leg's notes are still crossed"
        );
        assert!(p.lines().iter().any(|l| l.contains(
            "skipped at your request: chart 29.0.11 (ran them by hand on app 1.41.4); the notes wanted it: async migrations 0005 to 0007"
        )));
        let c = campaign(Some(p), Action::Upgrade);
        let stops = c.stops();
        assert!(c.skip_record(&stops[0]).is_none());
        let r = c
            .skip_record(&stops[1])
            .expect("recorded with the stop in its place");
        assert_eq!(r["skipped"], "29.0.11");
        assert_eq!(r["reason"], "ran them by hand on app 1.41.4");
        assert_eq!(r["instead"], "30.46.0");
    }

    #[tokio::test]
    async fn a_blocked_way_is_shown_and_nothing_is_planned() {
        let mut p = path(&["29.0.11", "30.46.0"]);
        p.blockers
            .push("chart 29.0.11 is not in the repository".into());
        let c = campaign(Some(p), Action::Upgrade);
        let mut pilot = Silent(Vec::new());
        let o = c.run(&mut pilot).await;
        assert_eq!(
            o,
            Outcome::PreflightFailed {
                failed: vec!["chart 29.0.11 is not in the repository".into()]
            }
        );
        assert_eq!(pilot.0, ["path to 30.46.0"]);
    }
}
