//! helm runs left going: every helm that changes a release runs detached (its own process
//! group, output in files), so it keeps going when helmdeck stops. Each one is recorded in
//! the data directory while it runs, so a later helmdeck — `status`, a plan's preflight, the
//! app — can tell "in progress, started by helmdeck on this machine" from "stuck", follow it
//! and stop it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One helm process helmdeck started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveRun {
    pub pid: u32,
    /// When it started (RFC 3339).
    pub started: String,
    /// `install`, `upgrade` or `rollback`.
    pub operation: String,
    pub release: String,
    pub namespace: String,
    /// The cluster it talks to, as helm was told.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Its standard output and error, as they are written.
    pub out_log: PathBuf,
    pub err_log: PathBuf,
}

impl LiveRun {
    /// `helm upgrade started by helmdeck on this machine at …, pid …`.
    pub fn describe(&self) -> String {
        format!(
            "helm {} started by helmdeck on this machine at {}, pid {}",
            self.operation, self.started, self.pid
        )
    }

    /// Whether its process is still there and still helm (a pid can be reused).
    pub fn alive(&self) -> bool {
        process_alive(self.pid) && still_helm(self.pid, &self.release)
    }

    fn record_path(log_dir: &Path, pid: u32) -> PathBuf {
        log_dir.join(format!("live-{pid}.json"))
    }

    /// Writes the record beside its logs (private, as every file helmdeck writes there).
    pub fn record(&self, log_dir: &Path) -> Option<PathBuf> {
        let path = Self::record_path(log_dir, self.pid);
        let text = serde_json::to_vec_pretty(self).ok()?;
        crate::private_files::private_file(&path, &text).ok()?;
        Some(path)
    }
}

/// A helm run helmdeck started whose process is gone: a revision it left pending is stuck, not
/// another operator's work in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndedRun {
    #[serde(flatten)]
    pub run: LiveRun,
    /// When helmdeck saw it gone (RFC 3339, to the nanosecond).
    pub ended: String,
}

impl EndedRun {
    /// Whether a revision helm stamped `updated` was written while this run ran.
    pub fn wrote(&self, updated: &str) -> bool {
        use k8s_openapi::jiff::Timestamp;
        let at = |t: &str| t.parse::<Timestamp>().ok();
        let (Some(started), Some(ended), Some(updated)) =
            (at(&self.run.started), at(&self.ended), at(updated))
        else {
            return false;
        };
        // The start is whole seconds, cut down; the end is exact, so a revision another
        // helm wrote a moment after this one ended is not taken for this one's.
        started <= updated && updated <= ended
    }
}

fn ended_path(log_dir: &Path) -> PathBuf {
    log_dir.join("last-ended.json")
}

/// Turns a run's live record into the release's last-ended record (only the latest run is
/// kept), so a later `status` knows what this machine's helm left behind.
pub fn mark_ended(live_record: &Path) {
    let Some(run) = read_json::<LiveRun>(live_record) else {
        let _ = std::fs::remove_file(live_record);
        return;
    };
    let Some(dir) = live_record.parent() else {
        return;
    };
    let newer = read_ended(dir).is_none_or(|e| e.run.started <= run.started);
    if newer {
        let ended = EndedRun {
            run,
            ended: k8s_openapi::jiff::Timestamp::now().to_string(),
        };
        if let Ok(text) = serde_json::to_vec_pretty(&ended) {
            let _ = crate::private_files::private_file(&ended_path(dir), &text);
        }
    }
    let _ = std::fs::remove_file(live_record);
}

fn read_ended(log_dir: &Path) -> Option<EndedRun> {
    read_json(&ended_path(log_dir))
}

/// A record helmdeck wrote; a missing or unreadable one is none.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The last run helmdeck on this machine started for `release` on this cluster that has ended.
pub fn last_ended(
    data_dir: &Path,
    namespace: &str,
    release: &str,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Option<EndedRun> {
    read_ended(&log_dir(data_dir, namespace, release)).filter(|e| {
        e.run.kubeconfig.as_deref() == kubeconfig && e.run.context.as_deref() == context
    })
}

/// The directory a release's helm runs log to.
pub fn log_dir(data_dir: &Path, namespace: &str, release: &str) -> PathBuf {
    data_dir.join("runs").join(namespace).join(release)
}

/// The live helm run of `release` in `namespace` on this cluster, if helmdeck on this machine
/// started one that is still running; records of runs that ended become the last-ended record
/// on the way.
pub fn find(
    data_dir: &Path,
    namespace: &str,
    release: &str,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Option<LiveRun> {
    let dir = log_dir(data_dir, namespace, release);
    let mut live: Vec<LiveRun> = Vec::new();
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let path = entry.path();
        let is_record = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("live-") && n.ends_with(".json"));
        if !is_record {
            continue;
        }
        let Some(run) = read_json::<LiveRun>(&path) else {
            continue;
        };
        if !run.alive() {
            mark_ended(&path);
            continue;
        }
        if run.kubeconfig.as_deref() == kubeconfig && run.context.as_deref() == context {
            live.push(run);
        }
    }
    live.into_iter().max_by(|a, b| a.started.cmp(&b.started))
}

/// Whether a process exists: signal 0 asks the kernel without sending anything.
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: kill(2) with signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Where the kernel says what a process runs (Linux): it must be helm for this release; where
/// that cannot be read, the pid alone has to do.
fn still_helm(pid: u32, release: &str) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(raw) => {
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let is_helm = args
                .first()
                .and_then(|a| Path::new(a).file_name())
                .is_some_and(|n| n.to_string_lossy().contains("helm"));
            is_helm && args.iter().any(|a| a == release)
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pid: u32, dir: &Path) -> LiveRun {
        LiveRun {
            pid,
            started: "2026-12-02T03:00:00Z".into(),
            operation: "install".into(),
            release: "posthog".into(),
            namespace: "posthog".into(),
            kubeconfig: Some("/k".into()),
            context: None,
            out_log: dir.join("o"),
            err_log: dir.join("e"),
        }
    }

    #[test]
    fn a_run_whose_process_is_gone_is_not_in_progress_and_its_record_goes() {
        let data = tempfile::tempdir().unwrap();
        let dir = log_dir(data.path(), "posthog", "posthog");
        // A pid no process has (pid_max is at most 2^22).
        let gone = run(4_194_304 + 7, &dir);
        let path = gone.record(&dir).expect("recorded");
        assert!(path.exists());
        assert_eq!(
            find(
                data.path(),
                "posthog",
                "posthog",
                Some(Path::new("/k")),
                None
            ),
            None
        );
        assert!(!path.exists(), "the stale record is removed");
        // ... and kept as the run that last ended, which wrote what it left pending.
        let ended = last_ended(
            data.path(),
            "posthog",
            "posthog",
            Some(Path::new("/k")),
            None,
        )
        .expect("the ended run");
        assert_eq!(ended.run.pid, 4_194_304 + 7);
        assert!(ended.wrote("2026-12-02T03:00:00.5Z"));
        assert!(!ended.wrote("2026-12-02T02:59:59Z"), "before it started");
        let after = k8s_openapi::jiff::Timestamp::now()
            .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(5))
            .unwrap()
            .to_string();
        assert!(!ended.wrote(&after), "after it ended");
        assert_eq!(
            last_ended(data.path(), "posthog", "posthog", None, None),
            None,
            "another cluster's"
        );
    }

    #[test]
    fn a_live_process_that_is_not_helm_for_the_release_is_not_the_run() {
        // This test's own process is alive but is not helm.
        let data = tempfile::tempdir().unwrap();
        let dir = log_dir(data.path(), "posthog", "posthog");
        run(std::process::id(), &dir)
            .record(&dir)
            .expect("recorded");
        if Path::new("/proc/self/cmdline").exists() {
            assert_eq!(
                find(
                    data.path(),
                    "posthog",
                    "posthog",
                    Some(Path::new("/k")),
                    None
                ),
                None
            );
        }
        assert!(run(1, &dir).describe().contains(
            "helm install started by helmdeck on this machine at 2026-12-02T03:00:00Z, pid 1"
        ));
    }
}
