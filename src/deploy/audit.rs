//! The audit log and the applied values: written before anything is applied, kept through
//! every failure, private to the user (files 0600 in 0700 directories).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct AuditError {
    pub path: String,
    pub message: String,
}

fn err(path: &Path, e: impl std::fmt::Display) -> AuditError {
    AuditError {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

pub fn private_dir(path: &Path) -> Result<(), AuditError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path).map_err(|e| err(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| err(path, e))?;
    }
    Ok(())
}

/// Writes a file readable only by the user.
pub fn private_file(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| err(path, e))?;
    f.write_all(bytes).map_err(|e| err(path, e))?;
    f.sync_all().map_err(|e| err(path, e))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

    pub fn append(&self, mut record: Value) -> Result<(), AuditError> {
        if let Some(dir) = self.path.parent() {
            private_dir(dir)?;
        }
        record["time"] = json!(crate::sim::store::now_rfc3339());
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

/// One helm operation per release at a time, across processes.
pub struct ReleaseLock {
    path: PathBuf,
}

impl ReleaseLock {
    pub fn acquire(data_dir: &Path, ns: &str, release: &str) -> Result<ReleaseLock, String> {
        let dir = data_dir.join("locks");
        private_dir(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{ns}__{release}.lock"));
        for _ in 0..2 {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            match opts.open(&path) {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(ReleaseLock { path });
                }
                Err(_) => {
                    let holder: u32 = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0);
                    let alive = holder != 0 && Path::new(&format!("/proc/{holder}")).exists();
                    if alive {
                        return Err(format!(
                            "another helmdeck (pid {holder}) is operating on release {release} in {ns} (lock {})",
                            path.display()
                        ));
                    }
                    // The holder died: the lock is stale.
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Err(format!("cannot take the lock {}", path.display()))
    }
}

impl Drop for ReleaseLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
