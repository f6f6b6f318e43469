//! Criterion: a ~3,000-line values file rendered through every layer (chart defaults,
//! profile, answers, two -f files, --set expressions) with provenance.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use helmdeck::chart::Chart;
use helmdeck::profile::ProfileSet;
use helmdeck::values::{LayerSource, RenderRequest, SetKind, UserLayer};
use helmdeck::yaml;

#[path = "support.rs"]
mod support;

fn bench(c: &mut Criterion) {
    let chart =
        Chart::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/charts/posthog-mini"))
            .expect("chart");
    let profiles = ProfileSet::load(None).expect("profiles");
    let aws = profiles.get("aws").expect("aws");
    let big = support::big_values(3000);
    assert!(big.lines().count() >= 3000);
    c.bench_function("render 3000-line values through all layers", |b| {
        b.iter(|| {
            let file = yaml::parse_values("big.yaml", black_box(&big)).expect("parse");
            let req = RenderRequest {
                profile: Some(aws.layer()),
                answers: Some(UserLayer {
                    source: LayerSource::Answers {
                        origin: "answers".into(),
                    },
                    values: serde_json::json!({"ingress": {"hostname": "x.example.com"}})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                }),
                files: vec![
                    UserLayer {
                        source: LayerSource::File {
                            path: "big.yaml".into(),
                        },
                        values: file,
                    },
                    UserLayer {
                        source: LayerSource::File {
                            path: "small.yaml".into(),
                        },
                        values: serde_json::json!({"web": {"replicacount": 2}})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                    },
                ],
                sets: vec![
                    (
                        SetKind::Set,
                        "component3.nested.deep.deeper.value=7,kafka.persistence.size=40Gi".into(),
                    ),
                    (SetKind::SetString, "component9.image.tag=2.0".into()),
                    (
                        SetKind::SetJson,
                        r#"component1.env=[{"name":"Z","value":"z"}]"#.into(),
                    ),
                ],
                ..Default::default()
            };
            black_box(req.render(&chart).expect("render"))
        })
    });
}

criterion_group!(benches, bench);

fn startup(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/charts/posthog-mini");
    c.bench_function("load built-in profiles", |b| {
        b.iter(|| black_box(ProfileSet::load(None).expect("profiles")))
    });
    c.bench_function("load bundled chart", |b| {
        b.iter(|| black_box(Chart::load(&dir).expect("chart")))
    });
    let big = support::big_values(3000);
    c.bench_function("parse 3000-line values file", |b| {
        b.iter(|| black_box(yaml::parse_values("big.yaml", black_box(&big)).expect("parse")))
    });
    let chart = Chart::load(&dir).expect("chart");
    c.bench_function("render with a fresh schema", |b| {
        b.iter(|| {
            let fresh = Chart::load(&dir).expect("chart");
            let req = RenderRequest {
                sets: vec![(SetKind::Set, "cloud=aws".into())],
                ..Default::default()
            };
            black_box(req.render(&fresh).expect("render"))
        })
    });
    let _ = chart;
}

criterion_group!(startup_benches, startup);
criterion_main!(benches, startup_benches);
