//! A helm release's status, as helm 3 and 4 write it (`info.status` in the release record, the
//! storage Secret's `status` label, `helm history -o json`). The values are helm's own
//! (`pkg/release/common/status.go`: unknown, deployed, uninstalled, superseded, failed,
//! uninstalling, pending-install, pending-upgrade, pending-rollback).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ReleaseStatus {
    /// helm's own "unknown", and any word this helmdeck does not know (a newer helm's).
    Unknown,
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl ReleaseStatus {
    pub fn parse(s: &str) -> ReleaseStatus {
        match s {
            "deployed" => ReleaseStatus::Deployed,
            "uninstalled" => ReleaseStatus::Uninstalled,
            "superseded" => ReleaseStatus::Superseded,
            "failed" => ReleaseStatus::Failed,
            "uninstalling" => ReleaseStatus::Uninstalling,
            "pending-install" => ReleaseStatus::PendingInstall,
            "pending-upgrade" => ReleaseStatus::PendingUpgrade,
            "pending-rollback" => ReleaseStatus::PendingRollback,
            _ => ReleaseStatus::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Unknown => "unknown",
            ReleaseStatus::Deployed => "deployed",
            ReleaseStatus::Uninstalled => "uninstalled",
            ReleaseStatus::Superseded => "superseded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::Uninstalling => "uninstalling",
            ReleaseStatus::PendingInstall => "pending-install",
            ReleaseStatus::PendingUpgrade => "pending-upgrade",
            ReleaseStatus::PendingRollback => "pending-rollback",
        }
    }

    /// An operation is (or was, when its helm is gone) under way: helm refuses the release
    /// until it is recovered.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ReleaseStatus::PendingInstall
                | ReleaseStatus::PendingUpgrade
                | ReleaseStatus::PendingRollback
        )
    }

    /// A helm cut short left it here: pending, or uninstalling a failed first install.
    pub fn is_stuck(self) -> bool {
        self.is_pending() || self == ReleaseStatus::Uninstalling
    }

    /// A revision that ran: the live one, or one a later revision replaced. What a rollback
    /// returns to.
    pub fn ran(self) -> bool {
        matches!(self, ReleaseStatus::Deployed | ReleaseStatus::Superseded)
    }
}

impl std::fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for ReleaseStatus {
    fn from(s: String) -> ReleaseStatus {
        ReleaseStatus::parse(&s)
    }
}

impl From<&str> for ReleaseStatus {
    fn from(s: &str) -> ReleaseStatus {
        ReleaseStatus::parse(s)
    }
}

impl From<ReleaseStatus> for String {
    fn from(s: ReleaseStatus) -> String {
        s.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_helm_writes_reads_back_as_itself() {
        for s in [
            "unknown",
            "deployed",
            "uninstalled",
            "superseded",
            "failed",
            "uninstalling",
            "pending-install",
            "pending-upgrade",
            "pending-rollback",
        ] {
            assert_eq!(ReleaseStatus::parse(s).as_str(), s);
        }
        assert_eq!(
            ReleaseStatus::parse("rolling-sideways"),
            ReleaseStatus::Unknown
        );
        let v: ReleaseStatus = serde_json::from_str("\"pending-upgrade\"").unwrap();
        assert!(v.is_pending() && v.is_stuck() && !v.ran());
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"pending-upgrade\"");
        assert!(
            ReleaseStatus::Uninstalling.is_stuck() && !ReleaseStatus::Uninstalling.is_pending()
        );
        assert!(ReleaseStatus::Superseded.ran() && !ReleaseStatus::Failed.ran());
    }
}
