//! The way back for a release a helm run left stuck, worked out from the release's own history
//! so that `install`, `upgrade`, `plan`, `status` and the app give the same advice, and never
//! one that cannot work (a rollback of a release that never deployed).

use crate::helm::driver::HistoryEntry;
use crate::helm::runs::EndedRun;
use crate::release_status::ReleaseStatus;

/// What to run to get a stuck release back, or `None` when its latest revision is not stuck.
pub fn way_back(history: &[HistoryEntry], release: &str, namespace: &str) -> Option<String> {
    let current = history.last()?;
    if current.status == ReleaseStatus::Uninstalling {
        // helm was undoing a failed first install (or an uninstall) when it stopped.
        return Some(format!(
            "finish the uninstall with `helm uninstall {release} -n {namespace}`, then install again"
        ));
    }
    if !current.status.is_pending() {
        return None;
    }
    Some(match history.iter().rev().find(|h| h.status.ran()) {
        Some(last) => format!(
            "`helmdeck rollback {} --release {release} -n {namespace}` (revision {}, the last that deployed), then run again",
            last.revision, last.revision
        ),
        None => format!(
            "it never deployed, so there is nothing to roll back to: `helm uninstall {release} -n {namespace}`, then install again (the namespace and the claims its StatefulSets made stay behind: `kubectl get pvc -n {namespace}`)"
        ),
    })
}

/// How long the latest revision has been pending, unless a helm this machine started wrote it
/// and is gone (then it is stuck). helm records no heartbeat, so a pending revision younger
/// than a helm timeout is most likely another operator's helm still at work, and advice to
/// recover it now would undo their operation.
pub fn pending_elsewhere(history: &[HistoryEntry], ended_here: Option<&EndedRun>) -> Option<u64> {
    let current = history.last().filter(|h| h.status.is_pending())?;
    if ended_here.is_some_and(|e| e.wrote(&current.updated)) {
        return None;
    }
    let at = current
        .updated
        .parse::<k8s_openapi::jiff::Timestamp>()
        .ok()?;
    Some(
        k8s_openapi::jiff::Timestamp::now()
            .duration_since(at)
            .as_secs()
            .max(0) as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(revision: u64, status: &str) -> HistoryEntry {
        HistoryEntry {
            revision,
            updated: String::new(),
            status: ReleaseStatus::parse(status),
            chart: "posthog-30.0.0".into(),
            app_version: String::new(),
            description: String::new(),
        }
    }

    #[test]
    fn a_stuck_upgrade_goes_back_to_the_last_revision_that_deployed() {
        let h = [
            rev(1, "superseded"),
            rev(2, "deployed"),
            rev(3, "pending-upgrade"),
        ];
        let advice = way_back(&h, "posthog", "ph").expect("stuck");
        assert!(
            advice.starts_with("`helmdeck rollback 2 --release posthog -n ph`"),
            "{advice}"
        );
        // A failed revision is not one to return to.
        let h = [
            rev(1, "deployed"),
            rev(2, "failed"),
            rev(3, "pending-rollback"),
        ];
        assert!(
            way_back(&h, "posthog", "ph")
                .unwrap()
                .contains("rollback 1 ")
        );
    }

    #[test]
    fn a_first_install_that_never_deployed_is_uninstalled_not_rolled_back() {
        for h in [
            vec![rev(1, "pending-install")],
            vec![rev(1, "failed"), rev(2, "pending-upgrade")],
        ] {
            let advice = way_back(&h, "posthog", "ph").expect("stuck");
            assert!(
                advice.contains("`helm uninstall posthog -n ph`"),
                "{advice}"
            );
            assert!(!advice.contains("rollback "), "{advice}");
            assert!(advice.contains("kubectl get pvc -n ph"), "{advice}");
        }
        let advice = way_back(&[rev(1, "uninstalling")], "posthog", "ph").expect("stuck");
        assert!(advice.contains("helm uninstall posthog -n ph"), "{advice}");
    }

    #[test]
    fn a_release_that_is_not_stuck_needs_no_way_back() {
        for s in ["deployed", "failed", "superseded", "uninstalled"] {
            assert_eq!(way_back(&[rev(1, s)], "posthog", "ph"), None, "{s}");
        }
        assert_eq!(way_back(&[], "posthog", "ph"), None);
    }
}
