//! The audit log and the applied values: written before anything is applied, kept through
//! every failure, private to the user (files 0600 in 0700 directories).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::private_files::{PrivateFileError, err, private_dir};

/// Applied-values files kept per release: they hold the values as helm got them, secrets
/// included, so the oldest go once there are more.
pub const APPLIED_KEPT: usize = 10;

/// Removes all but the `keep` newest files in `dir` (by name: they are named by time).
pub fn keep_newest(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let old = files.len().saturating_sub(keep);
    for f in &files[..old] {
        let _ = std::fs::remove_file(f);
    }
}

pub struct AuditLog {
    pub path: PathBuf,
}

impl AuditLog {
    pub fn new(data_dir: &Path) -> AuditLog {
        AuditLog {
            path: data_dir.join("audit.jsonl"),
        }
    }

    pub fn append(&self, mut record: Value) -> Result<(), PrivateFileError> {
        if let Some(dir) = self.path.parent() {
            private_dir(dir)?;
        }
        record["time"] = json!(crate::time::now_rfc3339());
        record["user"] = json!(std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
        let mut line = serde_json::to_vec(&record).map_err(|e| err(&self.path, e))?;
        line.push(b'\n');
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&self.path).map_err(|e| err(&self.path, e))?;
        f.write_all(&line).map_err(|e| err(&self.path, e))
    }

    /// Runs on this release in this cluster (`server`) that started and never recorded an
    /// outcome (a killed terminal, Ctrl-C). Records from before the cluster was recorded
    /// count when release and namespace match.
    pub fn unfinished_for(&self, server: &str, namespace: &str, release: &str) -> Vec<Value> {
        self.unfinished()
            .into_iter()
            .filter(|u| {
                u["namespace"] == namespace
                    && u["release"] == release
                    && u["cluster"].as_str().is_none_or(|c| c == server)
            })
            .collect()
    }

    /// Runs that started and never recorded an outcome (a killed terminal, Ctrl-C).
    pub fn unfinished(&self) -> Vec<Value> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        let mut open: Vec<Value> = Vec::new();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            match v["phase"].as_str() {
                Some("start") => open.push(v),
                Some("outcome") => open.retain(|o| o["run"] != v["run"]),
                _ => {}
            }
        }
        open
    }
}

/// Why the release's lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another helmdeck (pid {pid}, since {since}) is operating on release {release} in {namespace} (lock {})",
        path.display()
    )]
    Held {
        pid: u32,
        since: String,
        release: String,
        namespace: String,
        path: PathBuf,
    },
    #[error("cannot take the lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Dir(#[from] PrivateFileError),
}

impl From<LockError> for super::Outcome {
    /// Another operator's lock is a busy release; a lock that cannot be written is a local
    /// failure with the data directory to check.
    fn from(e: LockError) -> super::Outcome {
        match e {
            LockError::Held { .. } => super::Outcome::Busy {
                message: e.to_string(),
            },
            other => super::Outcome::local(other, "check the data directory (HELMDECK_DATA_DIR)"),
        }
    }
}

/// One helm operation per release at a time, across processes; per cluster (`scope`, see
/// `Target::scope_key`), so the same release name in two clusters never blocks.
pub struct ReleaseLock {
    path: PathBuf,
}

impl ReleaseLock {
    pub fn acquire(
        data_dir: &Path,
        scope: &str,
        ns: &str,
        release: &str,
    ) -> Result<ReleaseLock, LockError> {
        let dir = data_dir.join("locks").join(scope);
        private_dir(&dir)?;
        let path = dir.join(format!("{ns}__{release}.lock"));
        let mut last = None;
        for _ in 0..2 {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            match opts.open(&path) {
                Ok(mut f) => {
                    // The holder and when it took the lock, for the message a second
                    // operator gets.
                    let _ = write!(f, "{} {}", std::process::id(), crate::time::now_rfc3339());
                    return Ok(ReleaseLock { path });
                }
                Err(e) => {
                    last = Some(e);
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut words = text.split_whitespace();
                    let holder: u32 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                    let since = words.next().unwrap_or("an unknown time");
                    let alive = holder != 0 && process_alive(holder);
                    if alive {
                        return Err(LockError::Held {
                            pid: holder,
                            since: since.to_string(),
                            release: release.to_string(),
                            namespace: ns.to_string(),
                            path,
                        });
                    }
                    // The holder died: the lock is stale.
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Err(LockError::Io {
            path,
            source: last.unwrap_or_else(|| std::io::Error::other("the lock file came back")),
        })
    }
}

/// Whether a process exists: signal 0 asks the kernel without sending anything (every Unix,
/// not only those with /proc).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) with signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

impl Drop for ReleaseLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applied-values files hold secrets: only the newest [`APPLIED_KEPT`] stay.
    #[test]
    fn only_the_newest_applied_values_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..13 {
            std::fs::write(
                dir.path().join(format!("2026-12-02T0000{i:02}Z.json")),
                "{}",
            )
            .unwrap();
        }
        keep_newest(dir.path(), APPLIED_KEPT);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 10);
        assert_eq!(left[0], "2026-12-02T000003Z.json");
        // The audit's digest of values is keyed: not the plain SHA-256 anyone can compute.
        use sha2::Digest;
        let plain: String = sha2::Sha256::digest(b"postgresqlPassword: hunter2")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let keyed = crate::values::redact::keyed_hex(b"postgresqlPassword: hunter2");
        assert_eq!(keyed.len(), 64);
        assert_ne!(keyed, plain);
        assert_eq!(
            keyed,
            crate::values::redact::keyed_hex(b"postgresqlPassword: hunter2")
        );
    }

    #[test]
    fn a_lock_is_held_while_its_process_lives_and_taken_over_when_it_died() {
        let dir = tempfile::tempdir().unwrap();
        let held = ReleaseLock::acquire(dir.path(), "c", "ns", "r").unwrap();
        let e = ReleaseLock::acquire(dir.path(), "c", "ns", "r")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        // Another cluster's release of the same name is another lock.
        assert!(ReleaseLock::acquire(dir.path(), "other", "ns", "r").is_ok());
        drop(held);
        // A lock left by a process that is gone (a child that has exited) is stale.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let path = dir.path().join("locks").join("c").join("ns__r.lock");
        std::fs::write(&path, format!("{dead} 2026-01-01T00:00:00Z")).unwrap();
        assert!(ReleaseLock::acquire(dir.path(), "c", "ns", "r").is_ok());
    }
}
