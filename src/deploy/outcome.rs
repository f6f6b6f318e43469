//! How an operation ended, and the one mapping from a helm failure to an outcome to an exit
//! code. Both front ends print an outcome with its `Display` and exit with [`Outcome::exit_code`],
//! so the same failure reads and exits the same from every command.

use serde::Serialize;

use crate::helm::driver::{FailureKind, HelmFailure};

/// Exit codes shared by every command (README, "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const PREFLIGHT: i32 = 3;
    pub const UNREACHABLE: i32 = 4;
    pub const BUSY: i32 = 5;
    /// Applied, but the checks after it failed.
    pub const UNVERIFIED: i32 = 6;
    /// The chart repository could not be read (down, wrong URL, not a repository): nothing
    /// was applied.
    pub const REPOSITORY: i32 = 7;
    /// Ctrl-C or SIGTERM before anything was applied (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: i32 = 130;
    /// The reader of standard output went away (`helmdeck history | head`): 128 + SIGPIPE,
    /// as a shell reports a tool the closed pipe stopped.
    pub const OUTPUT_CLOSED: i32 = 141;
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Applied {
        revision: u64,
        /// What Verify could not check (ingestion without its keys): applied, not fully
        /// verified.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not_verified: Vec<String>,
    },
    /// helm finished, but the release's pods or disks failed their checks.
    Unverified {
        revision: u64,
        failed: Vec<String>,
    },
    Planned,
    Declined,
    PreflightFailed {
        failed: Vec<String>,
    },
    Failed {
        kind: FailureKind,
        message: String,
        fix: String,
        rolled_back: bool,
    },
    BadInput {
        message: String,
    },
    Unreachable {
        message: String,
    },
    /// The chart repository could not be read: nothing was applied.
    RepositoryUnreadable {
        message: String,
    },
    /// Another operation holds the release, or one landed since the plan was made: nothing
    /// was applied.
    Busy {
        message: String,
    },
    /// Ctrl-C or SIGTERM before anything was applied.
    Interrupted {
        /// What was going on: "planning", "at the question".
        during: String,
    },
}

impl Outcome {
    /// The process exit code documented in the README.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Applied { .. } | Outcome::Planned => exit::OK,
            Outcome::Unverified { .. } => exit::UNVERIFIED,
            Outcome::Failed { .. } | Outcome::Declined => exit::FAILED,
            Outcome::BadInput { .. } => exit::BAD_INPUT,
            Outcome::PreflightFailed { .. } => exit::PREFLIGHT,
            Outcome::Unreachable { .. } => exit::UNREACHABLE,
            Outcome::RepositoryUnreadable { .. } => exit::REPOSITORY,
            Outcome::Busy { .. } => exit::BUSY,
            Outcome::Interrupted { .. } => exit::INTERRUPTED,
        }
    }

    /// The `Display` text on one line, for a status bar.
    pub fn one_line(&self) -> String {
        self.to_string().replace("\n  fix: ", " — fix: ")
    }

    pub fn bad_input(message: impl std::fmt::Display) -> Outcome {
        Outcome::BadInput {
            message: message.to_string(),
        }
    }

    /// A local failure (the data directory, a file) before helm ran.
    pub fn local(message: impl std::fmt::Display, fix: &str) -> Outcome {
        Outcome::Failed {
            kind: FailureKind::Other,
            message: message.to_string(),
            fix: fix.into(),
            rolled_back: false,
        }
    }
}

/// The one place a helm failure becomes an outcome: an unreachable cluster, a release held by
/// another operation and a release that does not exist are not "failed" operations.
impl From<HelmFailure> for Outcome {
    fn from(e: HelmFailure) -> Outcome {
        match e.kind {
            FailureKind::ClusterUnreachable => Outcome::Unreachable {
                message: e.to_string(),
            },
            FailureKind::AnotherOperationInProgress => Outcome::Busy {
                message: format!("{}\n  fix: {}", e.message, e.fix),
            },
            FailureKind::ReleaseNotFound => Outcome::BadInput { message: e.message },
            kind => Outcome::Failed {
                kind,
                message: e.message,
                fix: e.fix,
                rolled_back: false,
            },
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Applied {
                revision,
                not_verified,
            } if !not_verified.is_empty() => write!(
                f,
                "done: revision {revision} deployed, not fully verified: {}",
                not_verified.join("; ")
            ),
            Outcome::Applied { revision, .. } => write!(f, "done: revision {revision} deployed"),
            Outcome::Unverified { revision, failed } => write!(
                f,
                "revision {revision} deployed, but verification failed: {}\n  fix: see `helmdeck check` for the details; `helmdeck rollback` returns to the previous revision",
                failed.join("; ")
            ),
            Outcome::Planned => write!(f, "plan complete: nothing was applied"),
            Outcome::Declined => write!(f, "not applied"),
            Outcome::Interrupted { during } => {
                write!(f, "interrupted {during}: nothing was applied")
            }
            Outcome::PreflightFailed { failed } => write!(
                f,
                "preflight failed ({} check(s)): nothing was applied",
                failed.len()
            ),
            Outcome::Failed {
                kind,
                message,
                fix,
                rolled_back,
            } => {
                let rb = if *rolled_back { ", rolled back" } else { "" };
                let what = kind.phrase();
                if message.is_empty() {
                    write!(f, "failed: {what}{rb}")?;
                } else {
                    write!(f, "failed: {what}{rb}: {message}")?;
                }
                if !fix.is_empty() {
                    write!(f, "\n  fix: {fix}")?;
                }
                Ok(())
            }
            // helm's own "Error: " would read "error: Error: …".
            Outcome::BadInput { message }
            | Outcome::Unreachable { message }
            | Outcome::RepositoryUnreadable { message }
            | Outcome::Busy { message } => write!(
                f,
                "error: {}",
                message.strip_prefix("Error: ").unwrap_or(message)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: FailureKind) -> HelmFailure {
        HelmFailure {
            command: "history".into(),
            kind,
            message: "it went wrong".into(),
            fix: "do this".into(),
        }
    }

    #[test]
    fn helms_own_error_prefix_is_not_doubled() {
        let o = Outcome::from(HelmFailure {
            command: "upgrade".into(),
            kind: FailureKind::AnotherOperationInProgress,
            message: "Error: UPGRADE FAILED: release: already exists".into(),
            fix: "wait".into(),
        });
        assert!(
            o.to_string()
                .starts_with("error: UPGRADE FAILED: release: already exists"),
            "{o}"
        );
    }

    #[test]
    fn helm_failures_map_to_one_exit_code_each() {
        let code = |k| Outcome::from(failure(k)).exit_code();
        assert_eq!(code(FailureKind::AnotherOperationInProgress), exit::BUSY);
        assert_eq!(code(FailureKind::ClusterUnreachable), exit::UNREACHABLE);
        assert_eq!(code(FailureKind::ReleaseNotFound), exit::BAD_INPUT);
        assert_eq!(code(FailureKind::Timeout), exit::FAILED);
        assert_eq!(code(FailureKind::Other), exit::FAILED);
    }

    #[test]
    fn a_failure_says_whether_it_was_rolled_back_and_the_fix() {
        let o = Outcome::Failed {
            kind: FailureKind::Timeout,
            message: "timed out".into(),
            fix: "look at the pods".into(),
            rolled_back: true,
        };
        assert_eq!(
            o.to_string(),
            "failed: helm timed out, rolled back: timed out\n  fix: look at the pods"
        );
    }
}
