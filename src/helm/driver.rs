//! Running helm: argv only (never a shell), values in private files, output streamed line by
//! line, `-o json` parsed, and failures classified into something a person can act on.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::HelmBinary;
use super::HelmMajor;

/// Why a helm command failed, with the fix to suggest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    Timeout,
    AnotherOperationInProgress,
    ImmutableField,
    /// An object the chart renders exists and belongs to someone else.
    OwnershipConflict,
    HookOrJobFailed,
    SchemaError,
    ClusterUnreachable,
    ChartNotFound,
    ReleaseNotFound,
    Other,
}

impl FailureKind {
    /// What happened, in words a person reads (the enum's name stays in JSON).
    pub fn phrase(self) -> &'static str {
        match self {
            FailureKind::Timeout => "helm timed out",
            FailureKind::AnotherOperationInProgress => "another operation holds the release",
            FailureKind::ImmutableField => "a field that cannot change was changed",
            FailureKind::OwnershipConflict => "an object the chart renders belongs to another",
            FailureKind::HookOrJobFailed => "a hook or job failed",
            FailureKind::SchemaError => "the rendered objects were refused",
            FailureKind::ClusterUnreachable => "the cluster is unreachable",
            FailureKind::ChartNotFound => "the chart was not found",
            FailureKind::ReleaseNotFound => "the release does not exist",
            FailureKind::Other => "helm reported an error",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[error("helm {command} failed: {phrase}: {message}\n  fix: {fix}", phrase = .kind.phrase())]
pub struct HelmFailure {
    pub command: String,
    pub kind: FailureKind,
    pub message: String,
    pub fix: String,
}

/// Sorts helm's error text into a kind and a suggested fix.
pub fn classify(stderr: &str) -> (FailureKind, String) {
    let s = stderr.to_ascii_lowercase();
    let pick = |k: FailureKind, fix: &str| (k, fix.to_string());
    // helm refuses a pending release; two helms that both read the last revision before
    // either wrote the next race to create it, and the loser's storage driver answers "release:
    // already exists" (pkg/storage/driver: ErrReleaseExists on the API server's AlreadyExists).
    // Either way the newest revision is the other operation's.
    if s.contains("another operation (install/upgrade/rollback) is in progress")
        || s.contains("release: already exists")
    {
        pick(
            FailureKind::AnotherOperationInProgress,
            "another install, upgrade or rollback holds the release: wait for it and see `helmdeck status` (it says whether that helm still runs) before running again; rolling back now would undo that operation's revision",
        )
    } else if s.contains("field is immutable")
        || s.contains("forbidden: updates to statefulset spec")
    {
        pick(
            FailureKind::ImmutableField,
            "a field that cannot change did change (often a StatefulSet's volumeClaimTemplates): delete the StatefulSet with `kubectl delete statefulset NAME --cascade=orphan` (pods and volumes stay), then upgrade again",
        )
    } else if s.contains("exists and cannot be imported into the current release") {
        pick(
            FailureKind::OwnershipConflict,
            "an object the chart renders already exists and belongs to something else (named above): turn off the part of the chart that renders it, delete it, or let this release adopt it (label app.kubernetes.io/managed-by=Helm, annotations meta.helm.sh/release-name and meta.helm.sh/release-namespace)",
        )
    } else if s.contains("backofflimitexceeded")
        || s.contains("job failed")
        || s.contains("hook") && s.contains("failed")
    {
        pick(
            FailureKind::HookOrJobFailed,
            "a Job (the migration) failed: read its pod's logs (`kubectl logs job/NAME`), fix the cause and upgrade again",
        )
    } else if s.contains("context deadline exceeded")
        || s.contains("timed out waiting")
        || s.contains("timeout")
    {
        pick(
            FailureKind::Timeout,
            "resources did not become ready in time: check pods that are Pending (cluster too small?) or crash-looping, or raise --timeout",
        )
    } else if s.contains("values don't meet the specifications") || s.contains("schema") {
        pick(
            FailureKind::SchemaError,
            "fix the values named above (helmdeck render shows where each comes from)",
        )
    } else if s.contains("connection refused")
        || s.contains("connection reset by peer")
        || s.contains("kubernetes cluster unreachable")
        || s.contains("no such host")
        || s.contains("i/o timeout")
    {
        pick(
            FailureKind::ClusterUnreachable,
            "check the kubeconfig, the context (--context) and that the API server is up",
        )
    } else if s.contains("release: not found")
        || s.contains("release not found")
        || s.contains("has no deployed releases")
    {
        pick(
            FailureKind::ReleaseNotFound,
            "check --release and --namespace (`helm list -A` lists releases)",
        )
    } else if s.contains("chart not found")
        || s.contains("failed to download")
        || s.contains("no chart version found")
        || s.contains("path") && s.contains("not found")
    {
        pick(
            FailureKind::ChartNotFound,
            "check --chart, --repo and --version",
        )
    } else {
        pick(FailureKind::Other, "read helm's message above")
    }
}

/// One helm binary bound to a kubeconfig and context.
#[derive(Debug, Clone)]
pub struct Helm {
    pub bin: HelmBinary,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct ReleaseSummary {
    pub name: String,
    pub namespace: String,
    pub revision: serde_json::Value,
    #[serde(default)]
    pub updated: String,
    pub status: String,
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct HistoryEntry {
    pub revision: u64,
    #[serde(default)]
    pub updated: String,
    pub status: crate::release_status::ReleaseStatus,
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub description: String,
}

impl Helm {
    pub fn new(bin: HelmBinary, kubeconfig: Option<PathBuf>, context: Option<String>) -> Helm {
        Helm {
            bin,
            kubeconfig,
            context,
        }
    }

    pub fn major(&self) -> HelmMajor {
        self.bin.major
    }

    fn command(&self, args: &[String]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.bin.path);
        c.args(args);
        if let Some(k) = &self.kubeconfig {
            c.env("KUBECONFIG", k);
        }
        if let Some(ctx) = &self.context {
            c.arg("--kube-context").arg(ctx);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }

    /// Runs helm, passing each output line to `on_line`; returns stdout or a classified failure.
    pub async fn run(
        &self,
        args: &[String],
        mut on_line: impl FnMut(&str),
    ) -> Result<String, HelmFailure> {
        let name = args.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
        let mut child = self.command(args).spawn().map_err(|e| HelmFailure {
            command: name.clone(),
            kind: FailureKind::Other,
            message: format!("cannot run {}: {e}", self.bin.path.display()),
            fix: "check that helm is installed (scripts/get-helm) or set HELMDECK_HELM".into(),
        })?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(HelmFailure {
                command: name,
                kind: FailureKind::Other,
                message: "no output pipes".into(),
                fix: String::new(),
            });
        };
        let mut out_lines = BufReader::new(out).lines();
        let mut err_lines = BufReader::new(err).lines();
        let (mut stdout, mut stderr) = (String::new(), String::new());
        let (mut out_done, mut err_done) = (false, false);
        while !(out_done && err_done) {
            tokio::select! {
                l = out_lines.next_line(), if !out_done => match l {
                    Ok(Some(l)) => { on_line(&l); stdout.push_str(&l); stdout.push('\n'); }
                    _ => out_done = true,
                },
                l = err_lines.next_line(), if !err_done => match l {
                    Ok(Some(l)) => { on_line(&l); stderr.push_str(&l); stderr.push('\n'); }
                    _ => err_done = true,
                },
            }
        }
        let status = child.wait().await.map_err(|e| HelmFailure {
            command: name.clone(),
            kind: FailureKind::Other,
            message: e.to_string(),
            fix: String::new(),
        })?;
        if status.success() {
            return Ok(stdout);
        }
        let (kind, fix) = classify(&stderr);
        Err(HelmFailure {
            command: name,
            kind,
            message: stderr.trim().to_string(),
            fix,
        })
    }

    /// Asks a detached helm to give up: SIGTERM, which helm 3 and 4 answer by cancelling
    /// their wait ("Release NAME has been cancelled") and failing the operation, so with
    /// `--atomic` / `--rollback-on-failure` they roll the release back themselves (seen with
    /// helm 3.17 and 4.1 on an install waiting for a crash-looping pod).
    pub fn interrupt(pid: u32) -> std::io::Result<()> {
        signal(pid, Signal::Term)
    }

    /// Kills a detached helm that did not stop when asked (helm 4, cancelled while it was
    /// still creating objects, was seen to wait out its whole timeout for an object it created
    /// after its own rollback deleted the rest). The release is left as helm left it.
    pub fn kill(pid: u32) -> std::io::Result<()> {
        signal(pid, Signal::Kill)
    }

    /// Runs a helm that changes the cluster so that it outlives helmdeck: its own process
    /// group (a Ctrl-C or a closing terminal does not reach it), not killed when helmdeck
    /// stops, its output in private files under `log_dir` rather than pipes that would break.
    /// `on_start` gets the pid and the output file; each line goes to `on_line` as it appears.
    pub async fn run_detached(
        &self,
        operation: &str,
        args: &[String],
        log_dir: &Path,
        on_start: impl FnOnce(u32, &Path),
        mut on_line: impl FnMut(&str),
    ) -> Result<String, HelmFailure> {
        let name = args.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
        let fail = |message: String| HelmFailure {
            command: name.clone(),
            kind: FailureKind::Other,
            message,
            fix: "check the data directory (HELMDECK_DATA_DIR)".into(),
        };
        let stamp = crate::time::now_for_file_name();
        let out_path = log_dir.join(format!("{stamp}-{}.out", std::process::id()));
        let err_path = log_dir.join(format!("{stamp}-{}.err", std::process::id()));
        let open = |p: &Path| {
            crate::private_files::private_file(p, b"")
                .map_err(|e| fail(e.to_string()))
                .and_then(|_| {
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(p)
                        .map_err(|e| fail(format!("{}: {e}", p.display())))
                })
        };
        let (out_file, err_file) = (open(&out_path)?, open(&err_path)?);
        let mut cmd = self.command(args);
        cmd.stdout(out_file).stderr(err_file).kill_on_drop(false);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(|e| HelmFailure {
            command: name.clone(),
            kind: FailureKind::Other,
            message: format!("cannot run {}: {e}", self.bin.path.display()),
            fix: "check that helm is installed (scripts/get-helm) or set HELMDECK_HELM".into(),
        })?;
        let pid = child.id().unwrap_or(0);
        // Recorded while it runs, so a later helmdeck can tell it from a stuck release.
        let flag = |f: &str| {
            args.iter()
                .position(|a| a == f)
                .and_then(|i| args.get(i + 1))
                .cloned()
                .unwrap_or_default()
        };
        let record = super::runs::LiveRun {
            pid,
            started: crate::time::now_rfc3339(),
            operation: operation.to_string(),
            // The first word after the command that is not a flag (`upgrade --install NAME`).
            release: args
                .iter()
                .skip(1)
                .find(|a| !a.starts_with('-'))
                .cloned()
                .unwrap_or_default(),
            namespace: flag("-n"),
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            out_log: out_path.clone(),
            err_log: err_path.clone(),
        }
        .record(log_dir);
        on_start(pid, &err_path);
        let (mut out_tail, mut err_tail) = (Tail::new(&out_path), Tail::new(&err_path));
        let mut poll = tokio::time::interval(std::time::Duration::from_millis(100));
        let status = loop {
            tokio::select! {
                s = child.wait() => break s,
                _ = poll.tick() => {
                    out_tail.read(&mut on_line);
                    err_tail.read(&mut on_line);
                }
            }
        };
        out_tail.read(&mut on_line);
        err_tail.read(&mut on_line);
        if let Some(r) = record {
            super::runs::mark_ended(&r);
        }
        let status = status.map_err(|e| fail(e.to_string()))?;
        if status.success() {
            return Ok(out_tail.text);
        }
        let stderr = err_tail.text;
        let (kind, fix) = classify(&stderr);
        let message = match stderr.trim() {
            "" => describe_exit(status),
            text => text.to_string(),
        };
        Err(HelmFailure {
            command: name,
            kind,
            message,
            fix,
        })
    }

    /// A helm that only reads (history, list, get) makes a request or two, and helm has no
    /// request timeout of its own: against an API server that stopped answering it would wait
    /// for ever. It gets two request timeouts, then is killed (it changes nothing).
    async fn query(&self, args: &[String]) -> Result<String, HelmFailure> {
        let wait = crate::deadlines::request_timeout() * 2;
        match tokio::time::timeout(wait, self.run(args, |_| {})).await {
            Ok(r) => r,
            Err(_) => Err(HelmFailure {
                command: args.iter().take(2).cloned().collect::<Vec<_>>().join(" "),
                kind: FailureKind::ClusterUnreachable,
                message: format!(
                    "the API server did not answer within {} s (twice the request timeout), so helm was stopped; a stopped API server or a dead proxy?",
                    wait.as_secs()
                ),
                fix: "check that the API server is up; --request-timeout (or HELMDECK_REQUEST_TIMEOUT) sets the wait".into(),
            }),
        }
    }

    pub async fn json(&self, args: &[String]) -> Result<Value, HelmFailure> {
        let out = self.query(args).await?;
        crate::yaml::deep_json(out.as_bytes()).map_err(|e| HelmFailure {
            command: args.iter().take(2).cloned().collect::<Vec<_>>().join(" "),
            kind: FailureKind::Other,
            message: format!(
                "unexpected output ({e}): {}",
                out.chars().take(200).collect::<String>()
            ),
            fix: "report this with the helm version".into(),
        })
    }

    pub async fn list(&self, namespace: Option<&str>) -> Result<Vec<ReleaseSummary>, HelmFailure> {
        let mut args = vec![
            "list".to_string(),
            "-o".into(),
            "json".into(),
            "--all".into(),
        ];
        match namespace {
            Some(ns) => args.extend(["-n".to_string(), ns.to_string()]),
            None => args.push("-A".into()),
        }
        let v = self.json(&args).await?;
        Ok(serde_json::from_value(v).unwrap_or_default())
    }

    /// The release's history, or empty when there is no such release.
    pub async fn history(&self, release: &str, ns: &str) -> Result<Vec<HistoryEntry>, HelmFailure> {
        let args: Vec<String> = ["history", release, "-n", ns, "-o", "json", "--max", "256"]
            .map(String::from)
            .to_vec();
        match self.json(&args).await {
            Ok(v) => Ok(serde_json::from_value(v).unwrap_or_default()),
            Err(e) if e.kind == FailureKind::ReleaseNotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The user-supplied values of the current revision.
    pub async fn get_values(
        &self,
        release: &str,
        ns: &str,
    ) -> Result<serde_json::Map<String, Value>, HelmFailure> {
        let args: Vec<String> = ["get", "values", release, "-n", ns, "-o", "json"]
            .map(String::from)
            .to_vec();
        let v = self.json(&args).await?;
        Ok(v.as_object().cloned().unwrap_or_default())
    }

    pub async fn get_manifest(&self, release: &str, ns: &str) -> Result<String, HelmFailure> {
        let args: Vec<String> = ["get", "manifest", release, "-n", ns]
            .map(String::from)
            .to_vec();
        self.query(&args).await
    }

    /// Runs helm with `values` in a private file (0600, `args_for` gets its path) that is gone
    /// however this ends, a dropped future (Ctrl-C) included; each call has its own file, so
    /// concurrent runs never read each other's values.
    pub async fn run_with_values(
        &self,
        values: &serde_json::Map<String, Value>,
        args_for: impl FnOnce(&Path) -> Vec<String>,
    ) -> Result<String, HelmFailure> {
        struct Gone(PathBuf);
        impl Drop for Gone {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            Gone(std::env::temp_dir().join(format!("helmdeck-values-{}-{n}", std::process::id())));
        let file = dir.0.join("values.json");
        crate::private_files::private_file(&file, &serde_json::to_vec(values).unwrap_or_default())
            .map_err(|e| HelmFailure {
                command: "values".into(),
                kind: FailureKind::Other,
                message: format!("cannot write the values to {}: {e}", file.display()),
                fix: "check the temp directory ($TMPDIR)".into(),
            })?;
        self.run(&args_for(&file), |_| {}).await
    }

    /// `helm template` of a chart with a values file, for a Kubernetes version when one is
    /// given (`1.33.2`).
    pub fn template_args(
        release: &str,
        chart: &Path,
        ns: &str,
        values_file: &Path,
        kube_version: Option<&str>,
    ) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "template".into(),
            release.into(),
            chart.display().to_string(),
            "-n".into(),
            ns.into(),
            "-f".into(),
            values_file.display().to_string(),
        ];
        if let Some(v) = kube_version.filter(|v| !v.is_empty()) {
            a.push("--kube-version".into());
            a.push(v.into());
        }
        a
    }

    /// `helm upgrade --install` with the flags that differ between majors.
    #[allow(clippy::too_many_arguments)]
    pub fn upgrade_install_args(
        &self,
        release: &str,
        chart: &Path,
        ns: &str,
        values_file: &Path,
        timeout_secs: u64,
        rollback_on_failure: bool,
        dry_run_server: bool,
    ) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "upgrade".into(),
            "--install".into(),
            release.into(),
            chart.display().to_string(),
            "-n".into(),
            ns.into(),
            "--create-namespace".into(),
            "-f".into(),
            values_file.display().to_string(),
            "--timeout".into(),
            format!("{timeout_secs}s"),
        ];
        if dry_run_server {
            a.push("--dry-run=server".into());
            return a;
        }
        a.push("--wait".into());
        a.push("--wait-for-jobs".into());
        if rollback_on_failure {
            a.push(match self.major() {
                HelmMajor::V3 => "--atomic".into(),
                HelmMajor::V4 => "--rollback-on-failure".into(),
            });
        }
        a
    }

    pub fn rollback_args(
        &self,
        release: &str,
        ns: &str,
        revision: Option<u64>,
        timeout_secs: u64,
    ) -> Vec<String> {
        let mut a: Vec<String> = vec!["rollback".into(), release.into()];
        if let Some(r) = revision {
            a.push(r.to_string());
        }
        a.extend([
            "-n".into(),
            ns.into(),
            "--wait".into(),
            "--timeout".into(),
            format!("{timeout_secs}s"),
        ]);
        a
    }
}

enum Signal {
    Term,
    Kill,
}

/// Sends `sig` to a helm helmdeck started; a stale pid is an error, not a signal elsewhere.
fn signal(pid: u32, sig: Signal) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let none = || {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no such process {pid}"),
            )
        };
        let pid = i32::try_from(pid).map_err(|_| none())?;
        if pid <= 0 {
            return Err(none());
        }
        let sig = match sig {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        // SAFETY: kill(2) with a positive pid and a valid signal number has no memory
        // effects; a stale pid fails with ESRCH.
        let rc = unsafe { libc::kill(pid, sig) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(unix))]
    {
        let _ = sig;
        Err(std::io::Error::other(format!(
            "cannot signal helm (pid {pid}) on this platform"
        )))
    }
}

/// The lines a file grows by, read as they appear (a detached helm's output).
/// A file read as it grows, line by line.
pub(crate) struct Tail {
    path: PathBuf,
    offset: u64,
    partial: String,
    text: String,
}

impl Tail {
    pub(crate) fn new(path: &Path) -> Tail {
        Tail {
            path: path.to_path_buf(),
            offset: 0,
            partial: String::new(),
            text: String::new(),
        }
    }

    pub(crate) fn read(&mut self, on_line: &mut impl FnMut(&str)) {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if let Ok(n) = f.read_to_end(&mut buf) {
            self.offset += n as u64;
            self.partial.push_str(&String::from_utf8_lossy(&buf));
            while let Some(i) = self.partial.find('\n') {
                let line: String = self.partial.drain(..=i).collect();
                let line = line.trim_end_matches('\n');
                on_line(line);
                self.text.push_str(line);
                self.text.push('\n');
            }
        }
    }
}

/// Why helm stopped when it said nothing: a signal is named, so "killed" is not a blank.
fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                9 => "SIGKILL",
                15 => "SIGTERM",
                2 => "SIGINT",
                _ => "a signal",
            };
            return format!(
                "helm was stopped by {name} ({sig}) before it finished; the release may be left pending: see `helmdeck status`"
            );
        }
    }
    format!("helm exited with {status} and printed nothing")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_failures_self_hosters_meet() {
        assert_eq!(
            classify(
                "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"
            )
            .0,
            FailureKind::AnotherOperationInProgress
        );
        // Two helms raced to write the same revision: the loser's is the same refusal.
        assert_eq!(
            classify("Error: UPGRADE FAILED: release: already exists").0,
            FailureKind::AnotherOperationInProgress
        );
        // Another operation's revision is never ours to roll back.
        let (_, fix) = classify(
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
        );
        assert!(
            !fix.contains("helmdeck rollback") && fix.contains("helmdeck status"),
            "{fix}"
        );
        assert_eq!(classify("Error: UPGRADE FAILED: cannot patch \"db\" with kind StatefulSet: StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than").0, FailureKind::ImmutableField);
        assert_eq!(
            classify("Error: INSTALLATION FAILED: context deadline exceeded").0,
            FailureKind::Timeout
        );
        assert_eq!(
            classify("Error: job ph-migrate failed: BackoffLimitExceeded").0,
            FailureKind::HookOrJobFailed
        );
        assert_eq!(classify("Error: Kubernetes cluster unreachable: Get \"http://127.0.0.1:1/version\": dial tcp: connection refused").0, FailureKind::ClusterUnreachable);
        assert_eq!(
            classify("Error: release: not found").0,
            FailureKind::ReleaseNotFound
        );
        // helm 4's words (seen against a cluster with another release's IngressClass).
        assert_eq!(classify("Error: unable to continue with install: IngressClass \"nginx\" in namespace \"\" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: key \"meta.helm.sh/release-name\" must equal \"posthog\": current value is \"ingress-nginx\"").0, FailureKind::OwnershipConflict);
    }
}
