//! The release as a tree (`:xray`, as k9s's): release → workloads → pods → claims → volumes →
//! classes, each with its verdict, so one screen answers "which disk of which pod of which
//! workload is the problem".

use serde::Serialize;

use super::PodsReport;
use super::disks::DiskRow;
use super::objects::{Drill, ObjectKind, object_rows};
use super::pods::{PodRow, State};
use crate::observed::Snapshot;
use crate::verdict::Verdict;

/// A node's judgement: a workload's or pod's state, or a disk's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Mark {
    State(State),
    Verdict(Verdict),
    None,
}

/// One node of the tree, with the glyphs that draw its place in it (`│  ├─ `).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct XrayRow {
    pub depth: usize,
    #[serde(skip)]
    pub branch: String,
    pub kind: &'static str,
    pub name: String,
    pub detail: String,
    pub mark: Mark,
}

/// A node before it is placed: its children follow it.
struct Node {
    kind: &'static str,
    name: String,
    detail: String,
    mark: Mark,
    children: Vec<Node>,
}

fn leaf(kind: &'static str, name: String, detail: String, mark: Mark) -> Node {
    Node {
        kind,
        name,
        detail,
        mark,
        children: Vec::new(),
    }
}

/// The tree of `release` from the snapshot and the rows already judged from it.
pub fn xray(
    snap: &Snapshot,
    release: &str,
    report: &PodsReport,
    disks: &[DiskRow],
    now: std::time::SystemTime,
) -> Vec<XrayRow> {
    let kinds = [
        (ObjectKind::Deployments, "Deployment"),
        (ObjectKind::StatefulSets, "StatefulSet"),
        (ObjectKind::Jobs, "Job"),
    ];
    let mut workloads = Vec::new();
    for (kind, label) in kinds {
        for w in object_rows(snap, Some(release), kind, now) {
            let pods = match &w.drill {
                Drill::Pods(p) => p.clone(),
                _ => Vec::new(),
            };
            let children = pods
                .iter()
                .map(|p| pod_node(snap, &w.namespace, p, report, disks))
                .collect();
            workloads.push(Node {
                kind: label,
                name: w.name.clone(),
                detail: w.cells.get(1).cloned().unwrap_or_default(),
                mark: Mark::State(w.state),
                children,
            });
        }
    }
    let root = Node {
        kind: "Release",
        name: release.to_string(),
        detail: format!("{} workloads, {} pods", workloads.len(), report.pods.len()),
        mark: Mark::State(report.state),
        children: workloads,
    };
    let mut rows = Vec::new();
    place(root, 0, "", "", &mut rows);
    rows
}

fn pod_node(
    snap: &Snapshot,
    namespace: &str,
    pod: &str,
    report: &PodsReport,
    disks: &[DiskRow],
) -> Node {
    let row = report
        .pods
        .iter()
        .find(|r| r.name == pod && r.namespace == namespace);
    let claims: Vec<String> = snap
        .pods
        .iter()
        .find(|p| {
            p.metadata.name.as_deref() == Some(pod)
                && p.metadata.namespace.as_deref() == Some(namespace)
        })
        .and_then(|p| p.spec.as_ref())
        .map(|s| s.claims.clone())
        .unwrap_or_default();
    let children = claims
        .iter()
        .map(|c| {
            match disks
                .iter()
                .find(|d| &d.claim == c && d.namespace == namespace)
            {
                Some(d) => claim_node(d),
                None => leaf(
                    "Claim",
                    c.clone(),
                    "not found".into(),
                    Mark::Verdict(Verdict::Fail),
                ),
            }
        })
        .collect();
    Node {
        kind: "Pod",
        name: pod.to_string(),
        detail: row.map(pod_detail).unwrap_or_default(),
        mark: Mark::State(row.map_or(State::Missing, pod_state)),
        children,
    }
}

fn pod_detail(r: &PodRow) -> String {
    let mut s = format!("{} {}/{}", r.phase, r.ready, r.containers);
    if let Some(p) = &r.problem {
        s.push_str(&format!(", {}", p.reason));
    }
    if r.restarts > 0 {
        s.push_str(&format!(", {} restarts", r.restarts));
    }
    s
}

fn pod_state(r: &PodRow) -> State {
    if r.is_ready() || r.completed {
        State::Ready
    } else if r.problem.is_some() {
        State::Unavailable
    } else {
        State::Updating
    }
}

fn claim_node(d: &DiskRow) -> Node {
    let class = leaf(
        "Class",
        if d.storage_class.is_empty() {
            "(none)".into()
        } else {
            d.storage_class.clone()
        },
        d.message.clone(),
        Mark::Verdict(d.verdict),
    );
    let volume = Node {
        kind: "Volume",
        name: d.volume.clone().unwrap_or_else(|| "(not bound)".into()),
        detail: if d.driver.is_empty() {
            String::new()
        } else {
            d.driver.clone()
        },
        mark: Mark::None,
        children: vec![class],
    };
    Node {
        kind: "Claim",
        name: d.claim.clone(),
        detail: format!("{}, {}", d.phase, d.size),
        mark: Mark::Verdict(d.verdict),
        children: vec![volume],
    }
}

/// Depth first, each row with the glyphs of its ancestors' lines (`│  `) and its own branch.
fn place(n: Node, depth: usize, lead: &str, branch: &str, rows: &mut Vec<XrayRow>) {
    rows.push(XrayRow {
        depth,
        branch: format!("{lead}{branch}"),
        kind: n.kind,
        name: n.name,
        detail: n.detail,
        mark: n.mark,
    });
    let count = n.children.len();
    let below = match branch {
        "" => lead.to_string(),
        "└─ " => format!("{lead}   "),
        _ => format!("{lead}│  "),
    };
    for (i, c) in n.children.into_iter().enumerate() {
        let b = if i + 1 == count { "└─ " } else { "├─ " };
        place(c, depth + 1, &below, b, rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_draw_the_tree() {
        let n = Node {
            kind: "Release",
            name: "r".into(),
            detail: String::new(),
            mark: Mark::None,
            children: vec![
                Node {
                    kind: "Deployment",
                    name: "a".into(),
                    detail: String::new(),
                    mark: Mark::None,
                    children: vec![leaf("Pod", "a-1".into(), String::new(), Mark::None)],
                },
                Node {
                    kind: "StatefulSet",
                    name: "b".into(),
                    detail: String::new(),
                    mark: Mark::None,
                    children: vec![leaf("Pod", "b-0".into(), String::new(), Mark::None)],
                },
            ],
        };
        let mut rows = Vec::new();
        place(n, 0, "", "", &mut rows);
        let drawn: Vec<String> = rows
            .iter()
            .map(|r| format!("{}{}", r.branch, r.name))
            .collect();
        assert_eq!(drawn, ["r", "├─ a", "│  └─ a-1", "└─ b", "   └─ b-0"]);
    }
}
