//! Shared helpers for integration tests: the real helm and kubectl binaries and private homes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real helm of the given major from `.tools/bin` (put there by scripts/get-helm), or from
/// `HELMDECK_HELM3` / `HELMDECK_HELM4`. Tests fail, not skip, when it is missing: CI installs it.
pub fn helm(major: u8) -> PathBuf {
    let var = format!("HELMDECK_HELM{major}");
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    let p = root().join(format!(".tools/bin/helm{major}"));
    assert!(
        p.is_file(),
        "{} is missing: run scripts/get-helm (or set {var})",
        p.display()
    );
    p
}

pub fn kubectl() -> PathBuf {
    let p = root().join(".tools/bin/kubectl");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/get-helm",
        p.display()
    );
    p
}

/// A command with HOME and Helm's directories inside `home`, so tests never share caches.
pub fn isolated(bin: &Path, home: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("helm-config"))
        .env("HELM_DATA_HOME", home.join("helm-data"))
        .env("HELM_CACHE_HOME", home.join("helm-cache"))
        .env("HELMDECK_CONFIG_DIR", home.join("helmdeck-config"))
        .env("HELMDECK_DATA_DIR", home.join("helmdeck-data"))
        .env("HELMDECK_CACHE_DIR", home.join("helmdeck-cache"))
        .env_remove("KUBECONFIG");
    c
}

/// Writes a file, creating parent directories.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Packs a chart directory into a .tgz the way `helm package` lays it out.
pub fn pack(dir: &Path, name: &str, dest: &Path) {
    let file = std::fs::File::create(dest).expect("create tgz");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(name, dir).expect("append");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gz");
}

/// Numbers compared by value (Helm holds float64), everything else exactly.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
