//! Constraints as helm evaluates them: for every `kubeVersion` in the chart corpus
//! (`../shared/charts`) and a table of edge cases, helmdeck's answer equals the real helm's
//! (`helm template --kube-version V` on a chart carrying that constraint) for cluster versions
//! from 1.15 to 1.36. Provider-suffixed versions (`v1.24.17-eks-1234`) are not compared here:
//! `--kube-version` drops the suffix, while against a cluster helm judges the server's full
//! `gitVersion` — the unit table in `src/chart/constraint.rs` covers that case.

mod common;

use std::path::Path;

use helmdeck::chart::constraint::satisfies;

/// helm's answer: does it render a chart with this `kubeVersion` for this cluster version?
fn helm_accepts(helm: &Path, chart: &Path, version: &str) -> bool {
    let o = std::process::Command::new(helm)
        .args(["template", "x"])
        .arg(chart)
        .args(["--kube-version", version])
        .env("HELM_CACHE_HOME", chart.join(".cache"))
        .env("HELM_CONFIG_HOME", chart.join(".config"))
        .env("HELM_DATA_HOME", chart.join(".data"))
        .output()
        .expect("run helm");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() || err.contains("kubeVersion"),
        "helm failed for another reason: {err}"
    );
    o.status.success()
}

#[test]
fn every_corpus_constraint_and_each_edge_case_is_judged_as_helm_judges_it() {
    let mut constraints: Vec<String> = [
        "<= 1.25-0",
        ">= 1.24",
        "~1.25",
        "^1.20",
        "1.20 - 1.24",
        ">= 1.30 || < 1.20",
        "!= 1.25.0",
        "> 1.25",
        "1.2x.x",
        "1.2*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for sub in ["posthog", "thirdparty"] {
        let Some(dir) = common::shared_charts(sub) else {
            continue;
        };
        for e in std::fs::read_dir(&dir).expect("charts").flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "tgz")
                && let Ok(c) = helmdeck::chart::Chart::load(&p)
                && let Some(kv) = c.metadata.kube_version.clone()
                && !constraints.contains(&kv)
            {
                constraints.push(kv);
            }
        }
    }
    let versions = [
        "v1.15.0",
        "v1.20.0",
        "v1.21.14",
        "v1.22.0",
        "v1.23.17",
        "v1.24.0",
        "v1.24.17",
        "v1.25.0",
        "v1.26.0",
        "v1.30.2+k3s1",
        "v1.25.9",
        "v1.33.2",
        "v1.36.0",
    ];
    let helm = common::helm(4);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut compared = 0;
    for (i, c) in constraints.iter().enumerate() {
        let chart = tmp.path().join(format!("c{i}"));
        std::fs::create_dir_all(&chart).expect("dir");
        common::write(
            &chart.join("Chart.yaml"),
            &format!(
                "apiVersion: v2\nname: c{i}\nversion: 1.0.0\nkubeVersion: {}\n",
                serde_json::to_string(c).expect("quoted")
            ),
        );
        for v in versions {
            let want = helm_accepts(&helm, &chart, v);
            assert_eq!(
                satisfies(c, v),
                want,
                "kubeVersion {c:?} on {v}: helm says {want}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 20 * versions.len(), "{compared} comparisons");
}
