//! Where helmdeck keeps its files. Each can be moved with an environment variable, which
//! tests use to stay out of the user's home.

use std::path::PathBuf;

fn project() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "helmdeck", "helmdeck")
}

fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// User profiles live in `<config>/profiles`.
pub fn config_dir() -> Option<PathBuf> {
    from_env("HELMDECK_CONFIG_DIR").or_else(|| project().map(|p| p.config_dir().to_path_buf()))
}

/// Applied values, the audit log, locks and logs.
pub fn data_dir() -> Option<PathBuf> {
    from_env("HELMDECK_DATA_DIR").or_else(|| project().map(|p| p.data_dir().to_path_buf()))
}

/// Pulled charts and the extracted bundled chart.
pub fn cache_dir() -> PathBuf {
    from_env("HELMDECK_CACHE_DIR")
        .or_else(|| project().map(|p| p.cache_dir().to_path_buf()))
        .unwrap_or_else(|| std::env::temp_dir().join("helmdeck-cache"))
}
