//! Files only the user can read (0600 in 0700 directories): applied values, drafts, the audit
//! log, values handed to helm. Nothing secret is ever written any other way.

use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct PrivateFileError {
    pub path: String,
    pub message: String,
}

/// The error for `path`, keeping the OS's reason.
pub fn err(path: &Path, e: impl std::fmt::Display) -> PrivateFileError {
    PrivateFileError {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Creates a directory (and its parents) readable only by the user.
pub fn private_dir(path: &Path) -> Result<(), PrivateFileError> {
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
pub fn private_file(path: &Path, bytes: &[u8]) -> Result<(), PrivateFileError> {
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
