//! How much helmdeck reads from any one input, so a wrong path (`/dev/zero`, a FIFO) or a
//! hostile file fails at once with the file's name instead of eating memory. The defaults are
//! far above real inputs — the largest values.yaml in the chart corpus is under 300 KB and
//! the largest packaged chart under 1 MB — and `HELMDECK_MAX_INPUT_BYTES` raises them.

use std::io::Read;
use std::path::Path;

/// Values may nest as deep as helm accepts (10,000 levels, the parser's limit), and every walk
/// over them (merge, provenance, diff, redaction) recurses: a command runs on a thread whose
/// stack holds that, and so do the runtime's threads and the render's helper. Only the pages
/// used are committed.
pub const DEEP_STACK: usize = 256 << 20;

/// A values file, profile, answers file or `--set-file` (8 MiB by default).
pub const TEXT_DEFAULT: u64 = 8 << 20;
/// A packaged chart as stored (32 MiB) and what its files inflate to in all (256 MiB).
pub const CHART_DEFAULT: u64 = 32 << 20;
pub const INFLATED_DEFAULT: u64 = 256 << 20;

pub const ENV: &str = "HELMDECK_MAX_INPUT_BYTES";

/// The limit in force: the default, or the environment's when it is larger.
pub fn limit(default: u64) -> u64 {
    std::env::var(ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(default, |v| v.max(default))
}

/// Why an input was not read (the caller names the file).
pub fn describe_too_big(limit: u64) -> String {
    format!(
        "it is larger than {} MiB, more than any real chart input: check the path (set {ENV} to raise the limit)",
        (limit >> 20).max(1)
    )
}

/// Why an input was not read. Says why, not which file: the caller names it.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Io(#[source] std::io::Error),
    #[error("it is not a regular file (a directory, device or pipe): give the path of a file")]
    NotAFile,
    #[error("{}", describe_too_big(*limit))]
    TooBig { limit: u64 },
    #[error("it is not UTF-8 text")]
    NotText,
}

/// Whether `path` is a regular file of at most `limit` bytes, for a file another library
/// reads (the kubeconfig): devices, FIFOs and directories are refused without opening them.
/// Returns its size.
pub fn check_file(path: &Path, limit: u64) -> Result<u64, InputError> {
    let meta = std::fs::metadata(path).map_err(InputError::Io)?;
    if !meta.is_file() {
        return Err(InputError::NotAFile);
    }
    if meta.len() > limit {
        return Err(InputError::TooBig { limit });
    }
    Ok(meta.len())
}

/// Reads a regular file of at most `limit` bytes; refuses devices, FIFOs and directories
/// before reading a byte from them. Errors say why, not which file: the caller names it.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let len = check_file(path, limit)?;
    let mut buf = Vec::with_capacity(len as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
        .map_err(InputError::Io)?;
    // A file that grew while read is held to the same bound.
    if buf.len() as u64 > limit {
        return Err(InputError::TooBig { limit });
    }
    Ok(buf)
}

/// [`read_bytes`] as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| InputError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_and_oversized_files_are_refused_before_reading() {
        let e = read_text(Path::new("/dev/zero"), TEXT_DEFAULT).unwrap_err();
        assert!(matches!(e, InputError::NotAFile), "{e}");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_text(dir.path(), TEXT_DEFAULT).unwrap_err();
        assert!(matches!(e, InputError::NotAFile), "{e}");
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        let e = read_text(&big, 1024).unwrap_err().to_string();
        assert!(e.contains("larger than") && e.contains(ENV), "{e}");
        assert_eq!(read_text(&big, 4096).unwrap().len(), 2048);
    }
}
