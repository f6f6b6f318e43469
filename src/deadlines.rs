//! How long helmdeck waits on a server, in one place every layer reads: the API server (the
//! cluster client, the helm driver's queries, the engine's watch on helm), set once per run
//! from `--request-timeout` as kubectl's flag is; and a chart repository (`helm pull`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Seconds one request to the API server may go unanswered (default 30); `--request-timeout`
/// wins over it.
pub const REQUEST_TIMEOUT_ENV: &str = "HELMDECK_REQUEST_TIMEOUT";

/// `--request-timeout` in seconds, 0 when not given. A process-wide setting as kubectl's flag
/// is: every client any part of helmdeck makes for this run honours it.
static REQUEST_TIMEOUT_FLAG: AtomicU64 = AtomicU64::new(0);

/// Sets the wait for every request of this run (the `--request-timeout` flag).
pub fn set_request_timeout(d: Duration) {
    REQUEST_TIMEOUT_FLAG.store(d.as_secs().max(1), Ordering::Relaxed);
}

/// How long one request may go unanswered: `--request-timeout`, then
/// `HELMDECK_REQUEST_TIMEOUT`, then 30 s. A server that accepts connections and never
/// answers (a stopped process, a dead proxy) is reported after this, not never.
pub fn request_timeout() -> Duration {
    let flag = REQUEST_TIMEOUT_FLAG.load(Ordering::Relaxed);
    Duration::from_secs(if flag > 0 {
        flag
    } else {
        std::env::var(REQUEST_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(30)
    })
}

/// How long a watch runs before the server ends it and the watcher resumes it. The server
/// answers within this even when nothing changes, so a watch that hears nothing for this
/// plus the request timeout is on a dead connection.
pub const WATCH_WINDOW_SECS: u32 = 55;

/// Seconds a `helm pull` of a chart may take (default 120).
pub const PULL_TIMEOUT_ENV: &str = "HELMDECK_PULL_TIMEOUT";

/// How long fetching one chart may take: a packaged chart is under a megabyte, so 120 s
/// covers slow links; `HELMDECK_PULL_TIMEOUT` changes it.
pub fn pull_timeout() -> Duration {
    Duration::from_secs(
        std::env::var(PULL_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(120),
    )
}
