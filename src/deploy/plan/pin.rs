//! The app version pinned: the vendor's chart 30.46.0 runs `posthog/posthog:latest` unless
//! `image.tag` or `image.sha` is set, and a migration stop must run the app its migration is
//! pinned to. So every install and stop sets the tag of the app it means to run, as a value
//! of the profile's layer, unless the user chose a tag or digest themselves.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::chart::upgrade_notes::{AppImage, NoteBook};
use crate::values::{LayerSource, RenderRequest, UserLayer, get_path, set_path};

/// The tag helmdeck set, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppPin {
    pub key: String,
    pub tag: String,
    pub app: String,
    pub why: String,
}

/// What became of the app image for one plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Pinned {
    /// helmdeck sets the tag.
    Pin(AppPin),
    /// The user's own tag or digest stands (the key and where it was set).
    Theirs(String),
    /// The chart has no pinnable image, or no app version to pin.
    Nothing,
}

/// Decides the pin for `chart` under `request` (the release's values as `previous`), for a
/// release running `from_app` now, at a stop that must run `stop_app` (none: the chart's own).
pub fn decide(
    book: Option<&NoteBook>,
    chart: &Chart,
    request: &RenderRequest,
    from_app: Option<&str>,
    stop_app: Option<&str>,
) -> Pinned {
    let Some(book) = book else {
        return Pinned::Nothing;
    };
    let Some(image) = &book.app_image else {
        return Pinned::Nothing;
    };
    let Some(app) = stop_app.or(chart.metadata.app_version.as_deref()) else {
        return Pinned::Nothing;
    };
    // Above the release's values: what the user gives in this run (and the profile itself).
    let mut upper = request.clone();
    upper.previous = None;
    if let Ok(given) = upper.user_values()
        && let Some(key) = chosen(image, &given)
    {
        return Pinned::Theirs(format!("{key} as given in this run"));
    }
    if let Some(prev) = &request.previous {
        if filled(&prev.values, &image.sha) {
            return Pinned::Theirs(format!("{} kept from the release's values", image.sha));
        }
        if let Some(tag) = text(&prev.values, &image.tag) {
            let ours = image
                .app_of(tag)
                .is_some_and(|v| Some(v) == from_app || pinned_by_notes(book, v));
            if !ours {
                return Pinned::Theirs(format!(
                    "{}: {tag} kept from the release's values",
                    image.tag
                ));
            }
        }
    }
    let tag = image.tag_for(app);
    let why = match stop_app {
        Some(_) if chart.metadata.app_version.as_deref() != Some(app) => format!(
            "this stop must run app {app} (its async migrations are pinned to it); the chart's default is app {}",
            chart.metadata.app_version.as_deref().unwrap_or("?")
        ),
        _ => format!(
            "the app the chart declares ({app}), not whatever its default image tag pulls; set {} or {} yourself to run another",
            image.tag, image.sha
        ),
    };
    Pinned::Pin(AppPin {
        key: image.tag.clone(),
        tag,
        app: app.to_string(),
        why,
    })
}

/// Puts the pin into the profile's layer (made when there is none), so it sits above the
/// release's values and below everything the user gives.
pub fn apply(request: &mut RenderRequest, pin: &AppPin) {
    let layer = request.profile.get_or_insert_with(|| UserLayer {
        source: LayerSource::Profile {
            name: "app pin".into(),
        },
        values: Map::new(),
    });
    set_path(&mut layer.values, &pin.key, Value::String(pin.tag.clone()));
}

/// The release's live pods that run a moving tag, judged as `check` judges them; the fix
/// says what this plan does about it. None when every image is pinned or the pods cannot be
/// listed (the plan goes on: this is advice, not a gate).
pub async fn live_images(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    pin: Option<&AppPin>,
) -> Option<crate::verdict::Check> {
    use crate::observed::podview::PodView;
    let api: kube::Api<PodView> = kube::Api::namespaced(client.clone(), namespace);
    let pods = api.list(&Default::default()).await.ok()?;
    let snap = crate::cluster::watch::Snapshot {
        pods: pods.items.into_iter().map(std::sync::Arc::new).collect(),
        ..Default::default()
    };
    let report = crate::health::pods_report(&snap, Some(release), std::time::SystemTime::now());
    let mut c = crate::health::image_check(&report)?;
    c.message = format!("live: {}", c.message);
    if let Some(p) = pin {
        c.fix = format!("this plan pins {} {} (app {})", p.key, p.tag, p.app);
    }
    Some(c)
}

fn text<'a>(values: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    get_path(values, path)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn filled(values: &Map<String, Value>, path: &str) -> bool {
    text(values, path).is_some()
}

/// The key of the user's own image choice in `values`, if any.
fn chosen<'a>(image: &'a AppImage, values: &Map<String, Value>) -> Option<&'a str> {
    [&image.sha, &image.tag]
        .into_iter()
        .find(|k| filled(values, k))
        .map(String::as_str)
}

/// Whether `app` is one a note pins a stop to (helmdeck's own earlier pin, or the runbook's).
fn pinned_by_notes(book: &NoteBook, app: &str) -> bool {
    book.notes
        .iter()
        .filter_map(|n| n.requires.as_ref()?.pin.as_deref())
        .any(|p| p == app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::SetKind;
    use serde_json::json;

    fn chart(app: &str) -> Chart {
        let mut c = Chart::load(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("assets/charts/posthog-mini"),
        )
        .expect("the bundled chart");
        c.metadata.name = "posthog".into();
        c.metadata.app_version = Some(app.into());
        c
    }

    fn book() -> NoteBook {
        crate::chart::upgrade_notes::for_chart("posthog").expect("posthog notes")
    }

    fn previous(values: Value) -> RenderRequest {
        RenderRequest {
            previous: Some(UserLayer {
                source: LayerSource::Release {
                    name: "posthog".into(),
                    revision: 1,
                },
                values: values.as_object().cloned().unwrap_or_default(),
            }),
            ..Default::default()
        }
    }

    fn pin(p: Pinned) -> AppPin {
        match p {
            Pinned::Pin(p) => p,
            other => panic!("no pin: {other:?}"),
        }
    }

    #[test]
    fn an_install_runs_the_app_the_chart_declares() {
        let p = pin(decide(
            Some(&book()),
            &chart("1.43.0"),
            &RenderRequest::default(),
            None,
            None,
        ));
        assert_eq!(
            (p.key.as_str(), p.tag.as_str()),
            ("image.tag", "release-1.43.0")
        );
        let mut r = RenderRequest::default();
        apply(&mut r, &p);
        assert_eq!(
            r.user_values().unwrap(),
            *json!({"image": {"tag": "release-1.43.0"}})
                .as_object()
                .unwrap()
        );
    }

    #[test]
    fn a_migration_stop_runs_the_pinned_app_not_the_charts() {
        let p = pin(decide(
            Some(&book()),
            &chart("1.37.1"),
            &RenderRequest::default(),
            Some("1.35.0"),
            Some("1.36.1"),
        ));
        assert_eq!(p.tag, "release-1.36.1");
        assert!(p.why.contains("chart's default is app 1.37.1"), "{}", p.why);
    }

    #[test]
    fn the_users_own_tag_or_digest_stands() {
        let b = book();
        let c = chart("1.43.0");
        let mut given = RenderRequest::default();
        given
            .sets
            .push((SetKind::Set, "image.sha=sha256:abc".into()));
        assert!(matches!(
            decide(Some(&b), &c, &given, None, None),
            Pinned::Theirs(k) if k.starts_with("image.sha")
        ));
        // A tag of their own on the release holds; helmdeck's earlier pin follows the chart.
        let theirs = previous(json!({"image": {"tag": "my-build-7"}}));
        assert!(matches!(
            decide(Some(&b), &c, &theirs, Some("1.41.4"), None),
            Pinned::Theirs(_)
        ));
        for earlier in ["release-1.41.4", "release-1.36.1"] {
            let ours = previous(json!({"image": {"tag": earlier}}));
            assert_eq!(
                pin(decide(Some(&b), &c, &ours, Some("1.41.4"), None)).tag,
                "release-1.43.0",
                "{earlier} was a pin"
            );
        }
    }

    #[test]
    fn charts_without_an_image_rule_are_left_alone() {
        assert_eq!(
            decide(None, &chart("1.0"), &RenderRequest::default(), None, None),
            Pinned::Nothing
        );
    }
}
