//! helmdeck: install, inspect and upgrade a self-hosted analytics stack on Kubernetes.
//!
//! The library holds everything; `main.rs` only parses the command line and hands over.

pub mod arena;
pub mod assets;
pub mod bundle;
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod deadlines;
pub mod deploy;
pub mod dirs;
pub mod health;
pub mod helm;
pub mod limits;
pub mod observed;
pub mod private_files;
pub mod profile;
pub mod quantity;
pub mod release_status;
pub mod secret_keys;
pub mod time;
pub mod tui;
pub mod values;
pub mod verdict;
pub mod yaml;
