//! A chart's digest as it lies on disk (an archive's bytes, or a directory's files by path):
//! a plan records it, and applying refuses a chart that changed since, because helm reads the
//! chart again from the same path.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The sha256 of the chart at `path`: of the file, or of a directory's regular files in path
/// order (each as its relative path, its length and its bytes). Symlinks count by where they
/// point, not by what they point at: the loader refuses charts that leave their directory.
pub fn digest(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    if path.is_file() {
        h.update(std::fs::read(path)?);
    } else {
        let mut files = Vec::new();
        walk(path, path, &mut files)?;
        files.sort();
        for rel in files {
            let p = path.join(&rel);
            let meta = std::fs::symlink_metadata(&p)?;
            h.update(rel.as_bytes());
            h.update([0]);
            if meta.file_type().is_symlink() {
                h.update(b"-> ");
                h.update(std::fs::read_link(&p)?.to_string_lossy().as_bytes());
            } else {
                let bytes = std::fs::read(&p)?;
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let t = e.file_type()?;
        if t.is_dir() {
            walk(root, &p, out)?;
        } else if t.is_file() || t.is_symlink() {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_added_file_changes_the_digest_and_nothing_else_does() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("Chart.yaml"), "name: a\nversion: 1.0.0\n").unwrap();
        std::fs::create_dir(d.path().join("templates")).unwrap();
        std::fs::write(d.path().join("templates/a.yaml"), "kind: ConfigMap\n").unwrap();
        let first = digest(d.path()).unwrap();
        assert_eq!(
            digest(d.path()).unwrap(),
            first,
            "the same files, the same digest"
        );
        std::fs::write(d.path().join("templates/a.yaml"), "kind: Secret\n").unwrap();
        let changed = digest(d.path()).unwrap();
        assert_ne!(changed, first);
        std::fs::write(d.path().join("templates/b.yaml"), "").unwrap();
        assert_ne!(
            digest(d.path()).unwrap(),
            changed,
            "an empty new file counts"
        );
    }
}
