//! Criterion: inputs built to make a scan quadratic. 300,000 unknown top-level keys rendered
//! against the stand-in chart (unknown-key detection, provenance, "did you mean"), and a
//! 1 MiB template of `.Values.a ` with no action around it (the template value-path scan).
//! Both must stay linear: each under a second on this 2-core machine.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use helmdeck::chart::Chart;
use helmdeck::values::{LayerSource, RenderRequest, UserLayer};

fn bench(c: &mut Criterion) {
    let chart =
        Chart::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/charts/posthog-mini"))
            .expect("chart");
    let mut unknown = serde_json::Map::new();
    unknown.insert("cloud".into(), "local".into());
    for i in 0..300_000 {
        unknown.insert(format!("notAKey{i}"), i.into());
    }
    let mut g = c.benchmark_group("hostile");
    g.sample_size(10);
    g.bench_function("render with 300,000 unknown top-level keys", |b| {
        b.iter(|| {
            let req = RenderRequest {
                files: vec![UserLayer {
                    source: LayerSource::File {
                        path: "unknown.yaml".into(),
                    },
                    values: unknown.clone(),
                }],
                ..Default::default()
            };
            let r = req.render(black_box(&chart)).expect("render");
            assert!(r.warnings.len() >= 300_000);
        })
    });
    let template = ".Values.a ".repeat((1 << 20) / 10);
    g.bench_function("value paths of a 1 MiB template without actions", |b| {
        b.iter(|| {
            let mut refs = std::collections::BTreeMap::new();
            helmdeck::chart::value_refs(black_box(&template), &mut refs);
            assert_eq!(refs.len(), 1);
        })
    });
    let action = format!("{{{{ {} }}}}", ".Values.a ".repeat((1 << 20) / 10));
    g.bench_function("value paths of a 1 MiB template in one action", |b| {
        b.iter(|| {
            let mut refs = std::collections::BTreeMap::new();
            helmdeck::chart::value_refs(black_box(&action), &mut refs);
            assert_eq!(refs.len(), 1);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
