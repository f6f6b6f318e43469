//! A pod's CPU and memory as the pods pane shows them, k9s's way: usage in millicores and
//! MiB, and each as a share of the pod's requests and limits (`n/a` where it sets none).

use super::pods::PodRow;
use crate::observed::PodUsage;

/// The usage columns of one pod row; empty strings when metrics-server has no figure for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageCells {
    pub cpu: String,
    pub memory: String,
    pub cpu_of_request: String,
    pub memory_of_request: String,
    pub cpu_of_limit: String,
    pub memory_of_limit: String,
}

fn share(used: f64, of: Option<f64>) -> String {
    match of {
        Some(of) if of > 0.0 => format!("{}%", (used / of * 100.0).round() as u64),
        _ => "n/a".into(),
    }
}

pub fn cells(row: &PodRow, usage: Option<&PodUsage>) -> UsageCells {
    let Some(u) = usage else {
        return UsageCells::default();
    };
    let s = &row.sized;
    UsageCells {
        cpu: format!("{}m", (u.cpu * 1000.0).round() as u64),
        memory: format!("{}Mi", (u.memory / 1_048_576.0).round() as u64),
        cpu_of_request: share(u.cpu, s.cpu_request),
        memory_of_request: share(u.memory, s.memory_request),
        cpu_of_limit: share(u.cpu, s.cpu_limit),
        memory_of_limit: share(u.memory, s.memory_limit),
    }
}
