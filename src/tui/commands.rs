//! The `:` commands as k9s has them: what a line typed at the prompt asks for, and how tab
//! completes it.

use super::screens::dashboard::Pane;
use crate::health::objects::ObjectKind;

/// What a `:` line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// `:ns NAME`, or the picker without a name.
    Namespace(Option<String>),
    /// `:ctx NAME`, or the picker without a name.
    Context(Option<String>),
    /// `:ctx all`: home lists the releases of every kubeconfig context.
    EveryContext,
    /// A dashboard pane (k9s's resource aliases where helmdeck has the view).
    Pane(Pane),
    Run,
    Home,
    Help,
    /// `:skip-stop VERSION REASON…` in an upgrade walkthrough (as `--skip-stop … --reason …`).
    SkipStop {
        version: Option<String>,
        reason: String,
    },
    /// A k9s view helmdeck does not have: the kubectl command to use instead.
    NoView(String),
    Unknown(String),
}

/// Reads a `:` line.
pub fn parse(text: &str) -> Command {
    let mut parts = text.split_whitespace();
    let cmd = parts.next().unwrap_or_default();
    let arg = parts.next().map(str::to_string);
    match cmd {
        "q" | "quit" | "q!" => Command::Quit,
        // k9s's `:ns all` and `:pods -A`: every namespace.
        "ns" | "namespace" if arg.as_deref() == Some("all") => {
            Command::Namespace(Some(crate::tui::session::ALL_NAMESPACES.into()))
        }
        "ns" | "namespace" => Command::Namespace(arg),
        "pods" | "pod" | "po"
            if matches!(arg.as_deref(), Some("-A" | "--all-namespaces" | "all")) =>
        {
            Command::Namespace(Some(crate::tui::session::ALL_NAMESPACES.into()))
        }
        "ctx" | "context" if arg.as_deref() == Some("all") => Command::EveryContext,
        "ctx" | "context" => Command::Context(arg),
        "pods" | "pod" | "po" => Command::Pane(Pane::Pods),
        "deploy" | "deployments" | "deployment" | "dp" => {
            Command::Pane(Pane::Objects(ObjectKind::Deployments))
        }
        "sts" | "statefulsets" | "statefulset" => {
            Command::Pane(Pane::Objects(ObjectKind::StatefulSets))
        }
        "svc" | "services" | "service" => Command::Pane(Pane::Objects(ObjectKind::Services)),
        "pvc" | "persistentvolumeclaims" | "persistentvolumeclaim" => {
            Command::Pane(Pane::Objects(ObjectKind::Claims))
        }
        "events" | "ev" | "event" => Command::Pane(Pane::Objects(ObjectKind::Events)),
        "jobs" | "job" => Command::Pane(Pane::Objects(ObjectKind::Jobs)),
        "xray" | "x" => Command::Pane(Pane::Xray),
        // Claims with their volumes, classes and encryption verdicts.
        "disks" | "pv" | "persistentvolumes" => Command::Pane(Pane::Disks),
        "ingestion" => Command::Pane(Pane::Ingestion),
        "run" | "op" | "operation" => Command::Run,
        "home" | "releases" | "helm" | "hr" => Command::Home,
        "help" => Command::Help,
        "skip-stop" => Command::SkipStop {
            version: arg,
            reason: parts.collect::<Vec<_>>().join(" "),
        },
        "cm" | "configmaps" | "configmap" | "secrets" | "secret" | "ing" | "ingress"
        | "ingresses" | "no" | "nodes" | "node" | "rs" | "replicasets" | "cj" | "cronjobs" => {
            Command::NoView(cmd.to_string())
        }
        _ => Command::Unknown(text.to_string()),
    }
}

/// The `:` commands tab completes, as typed.
const COMMAND_WORDS: [&str; 18] = [
    "ctx",
    "deploy",
    "disks",
    "events",
    "help",
    "helm",
    "home",
    "ingestion",
    "jobs",
    "ns",
    "pods",
    "pvc",
    "quit",
    "run",
    "skip-stop",
    "sts",
    "svc",
    "xray",
];

/// Tab at the prompt: the first word completed to the longest prefix the commands share,
/// and the commands it could still be.
pub fn complete(text: &str) -> (String, Vec<String>) {
    if text.contains(' ') {
        return (text.to_string(), Vec::new());
    }
    let options: Vec<String> = COMMAND_WORDS
        .iter()
        .filter(|w| w.starts_with(text))
        .map(|w| w.to_string())
        .collect();
    let done = match options.as_slice() {
        [] => text.to_string(),
        [one] if matches!(one.as_str(), "ns" | "ctx") => format!("{one} "),
        [one] => one.clone(),
        many => {
            let first = &many[0];
            let common = (text.len()..=first.len())
                .rev()
                .find(|&n| many.iter().all(|w| w.get(..n) == first.get(..n)))
                .unwrap_or(text.len());
            first[..common].to_string()
        }
    };
    (done, options)
}
