//! Upgrade notes belong to the chart: the vendor's published notes for each major of its chart
//! (`assets/upgrade-notes/<chart>.yaml`, sourced there), typed so helmdeck can act on them —
//! renamed value keys are migrated on the user's own values; manual steps, CRDs, intermediate
//! versions and application prerequisites are shown for the versions an upgrade crosses.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::constraint::Version;

const POSTHOG: &str = include_str!("../../assets/upgrade-notes/posthog.yaml");

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteBook {
    pub chart: String,
    #[serde(default)]
    pub end_of_support: String,
    /// How the chart picks its app image, when helmdeck pins it to the app version a chart
    /// version declares (or a migration stop needs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_image: Option<AppImage>,
    pub notes: Vec<Note>,
}

/// The chart's image keys: `sha` wins over `tag`, which wins over the chart's default; the
/// vendor's tags for an app version follow `tag_format` (`{app}` is the version).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppImage {
    pub tag: String,
    pub sha: String,
    pub tag_format: String,
}

impl AppImage {
    /// The tag that runs `app`.
    pub fn tag_for(&self, app: &str) -> String {
        self.tag_format.replace("{app}", app)
    }

    /// The app version a tag of the vendor's form names (`release-1.36.1` → `1.36.1`).
    pub fn app_of<'a>(&self, tag: &'a str) -> Option<&'a str> {
        let (pre, post) = self.tag_format.split_once("{app}")?;
        tag.strip_prefix(pre)?.strip_suffix(post)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Note {
    /// The chart version that made the change.
    pub version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed: Vec<Rename>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Requires>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<Crds>,
    /// The supported Kubernetes range from this version on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<String>,
    /// Application-level prerequisites (async migrations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// Upgrade to this chart version first...
    pub version: String,
    /// ...when the release's app is older than this (absent: always)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// ...which, in words, is this case.
    pub when: String,
    /// The app version the stop must run (an async migration pinned to it), when the chart
    /// version's own default may be another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The async migrations (by number, as PostHog names them `0004_…`) that must have
    /// completed at the stop before the upgrade goes on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Crds {
    pub component: String,
    pub version: String,
}

/// One change made to the user's values.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Migration {
    /// The chart version whose note asked for it.
    pub version: String,
    pub from: String,
    pub to: String,
}

/// A release's chart label as helm writes it (`posthog-25.0.0`) as name and version.
pub fn split_chart_label(label: &str) -> Option<(&str, &str)> {
    // Names may hold dashes; the version is what follows the last dash that starts one.
    label
        .char_indices()
        .filter(|(_, c)| *c == '-')
        .map(|(i, _)| (&label[..i], &label[i + 1..]))
        .find(|(_, v)| Version::parse(v).is_some())
}

/// The lines a person reads for an upgrade's notes, oldest version first.
pub fn lines(
    from: &str,
    to: &str,
    notes: &[Note],
    migrations: &[Migration],
    removed_in_use: &[String],
) -> Vec<String> {
    let mut out = vec![format!("upgrade notes, chart {from} → {to}:")];
    for n in notes {
        let mut items: Vec<String> = Vec::new();
        if let Some(r) = &n.requires {
            items.push(format!(
                "first upgrade to chart {} when {}",
                r.version, r.when
            ));
        }
        if let Some(c) = &n.crds {
            items.push(format!(
                "apply the {} CRDs (operator {}) before upgrading: helm does not upgrade CRDs",
                c.component, c.version
            ));
        }
        if let Some(k) = &n.kubernetes {
            items.push(format!("supported Kubernetes becomes {k}"));
        }
        items.extend(n.app.iter().cloned());
        items.extend(n.manual.iter().cloned());
        for r in &n.renamed {
            let done = migrations
                .iter()
                .any(|m| m.from == r.from && m.version == n.version);
            items.push(format!(
                "{} → {}{}",
                r.from,
                r.to,
                if done {
                    " (migrated in your values)"
                } else {
                    " (renamed)"
                }
            ));
        }
        for r in &n.removed {
            items.push(format!(
                "{} removed{}",
                r.key,
                r.hint
                    .as_ref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default()
            ));
        }
        out.push(format!("  {}:", n.version));
        out.extend(items.into_iter().map(|i| format!("    - {i}")));
    }
    for k in removed_in_use {
        out.push(format!("  your values still set {k}"));
    }
    out
}

/// The notes of a chart, by its name (`posthog`); `None` for charts without notes.
impl NoteBook {
    /// The note that renamed `path` (or a key above it): its version and where the key went.
    pub fn renamed_from(&self, path: &str) -> Option<(&str, String)> {
        self.notes.iter().rev().find_map(|n| {
            n.renamed.iter().find_map(|r| {
                let rest = path.strip_prefix(r.from.as_str())?;
                (rest.is_empty() || rest.starts_with('.'))
                    .then(|| (n.version.as_str(), format!("{}{rest}", r.to)))
            })
        })
    }
}

pub fn for_chart(name: &str) -> Option<NoteBook> {
    match name {
        // The data ships with the binary; a parse failure is a build-time mistake a unit
        // test catches.
        "posthog" => serde_yaml::from_str(POSTHOG).ok(),
        _ => None,
    }
}

fn cmp(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (Version::parse(a)?, Version::parse(b)?);
    Some(a.cmp_versions(&b))
}

impl NoteBook {
    /// The chart versions an upgrade from `from` (running app `from_app`; empty: unknown) to
    /// `to` must stop at, in order, each with the note that asks for it; `to` itself is not
    /// listed. A note's `requires` counts when the path crosses the note, the required
    /// version lies strictly between, and the app is older than it names (an unknown app
    /// counts as older: stopping is the safe side).
    pub fn stops(&self, from: &str, from_app: &str, to: &str) -> Vec<(&Note, &Requires)> {
        let mut out = Vec::new();
        let mut cur = from.to_string();
        let mut app = from_app.to_string();
        let older = |app: &str, min: &Option<String>| match min {
            None => true,
            Some(min) => {
                app.is_empty()
                    || !matches!(cmp(app, min), Some(Ordering::Greater | Ordering::Equal))
            }
        };
        loop {
            let next = self
                .crossed(&cur, to)
                .into_iter()
                .filter_map(|n| n.requires.as_ref().map(|r| (n, r)))
                .filter(|(_, r)| {
                    cmp(&cur, &r.version) == Some(Ordering::Less)
                        && cmp(&r.version, to) == Some(Ordering::Less)
                        && older(&app, &r.app)
                })
                .min_by(|a, b| cmp(&a.1.version, &b.1.version).unwrap_or(Ordering::Equal));
            let Some((n, r)) = next else {
                return out;
            };
            cur = r.version.clone();
            // At the stop the app is at least what the stop was required for.
            app = r.app.clone().unwrap_or_default();
            out.push((n, r));
        }
    }

    /// The notes an upgrade from `from` to `to` crosses (`from < version <= to`), oldest
    /// first.
    pub fn crossed(&self, from: &str, to: &str) -> Vec<&Note> {
        let mut out: Vec<&Note> = self
            .notes
            .iter()
            .filter(|n| {
                cmp(from, &n.version) == Some(Ordering::Less)
                    && matches!(cmp(&n.version, to), Some(Ordering::Less | Ordering::Equal))
            })
            .collect();
        out.sort_by(|a, b| cmp(&a.version, &b.version).unwrap_or(Ordering::Equal));
        out
    }
}

fn take(values: &mut Map<String, Value>, path: &[&str]) -> Option<Value> {
    match path {
        [] => None,
        [last] => values.remove(*last),
        [first, rest @ ..] => {
            let inner = values.get_mut(*first)?.as_object_mut()?;
            let v = take(inner, rest);
            if inner.is_empty() {
                values.remove(*first);
            }
            v
        }
    }
}

fn has(values: &Map<String, Value>, path: &[&str]) -> bool {
    match path {
        [] => false,
        [last] => values.contains_key(*last),
        [first, rest @ ..] => values
            .get(*first)
            .and_then(Value::as_object)
            .is_some_and(|m| has(m, rest)),
    }
}

fn put(values: &mut Map<String, Value>, path: &[&str], v: Value) {
    match path {
        [] => {}
        [last] => {
            values.insert((*last).to_string(), v);
        }
        [first, rest @ ..] => {
            let entry = values
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(m) = entry.as_object_mut() {
                put(m, rest, v);
            }
        }
    }
}

/// Applies the renames of `notes` (in order) to the user's own values: the value at `from`
/// moves to `to` unless the user already set `to` (theirs wins; the old key is still
/// reported). Within a note, more specific keys move first (a whole map's rename after the
/// keys inside it that go elsewhere). Returns the migrated values and what moved.
pub fn migrate(
    values: &Map<String, Value>,
    notes: &[&Note],
) -> (Map<String, Value>, Vec<Migration>) {
    let mut out = values.clone();
    let mut moved = Vec::new();
    for note in notes {
        let mut renames: Vec<&Rename> = note.renamed.iter().collect();
        renames.sort_by_key(|r| std::cmp::Reverse(r.from.split('.').count()));
        for r in renames {
            let from: Vec<&str> = r.from.split('.').collect();
            let to: Vec<&str> = r.to.split('.').collect();
            let Some(v) = take(&mut out, &from) else {
                continue;
            };
            if has(&out, &to) {
                // Merge a moved map into an existing one; a scalar the user set stays.
                if let Value::Object(src) = v {
                    for (k, val) in src {
                        let mut p = to.clone();
                        p.push(&k);
                        if !has(&out, &p) {
                            put(&mut out, &p, val);
                        }
                    }
                }
            } else {
                put(&mut out, &to, v);
            }
            moved.push(Migration {
                version: note.version.clone(),
                from: r.from.clone(),
                to: r.to.clone(),
            });
        }
    }
    (out, moved)
}

/// Keys the user still sets that a crossed note says the chart no longer reads.
pub fn removed_in_use<'a>(
    values: &Map<String, Value>,
    notes: &[&'a Note],
) -> Vec<(&'a Note, &'a Removed)> {
    notes
        .iter()
        .flat_map(|n| n.removed.iter().map(move |r| (*n, r)))
        .filter(|(_, r)| has(values, &r.key.split('.').collect::<Vec<_>>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn book() -> NoteBook {
        for_chart("posthog").expect("the vendor chart's notes parse")
    }

    fn stops(from: &str, app: &str, to: &str) -> Vec<String> {
        book()
            .stops(from, app, to)
            .into_iter()
            .map(|(_, r)| r.version.clone())
            .collect()
    }

    #[test]
    fn async_migration_pins_are_stops_only_for_apps_older_than_the_pin() {
        // 25.0.0 runs app 1.37.1: past 0004's pin (1.36.1), before 0005-0007's (1.41.4).
        assert_eq!(stops("25.0.0", "1.37.1", "30.46.0"), ["29.0.11"]);
        assert_eq!(stops("20.0.0", "1.35.0", "30.46.0"), ["26.0.0", "29.0.11"]);
        assert_eq!(stops("15.0.0", "1.30.0", "20.0.0"), ["16.1.0"]);
        assert_eq!(stops("15.0.0", "1.33.2", "20.0.0"), Vec::<String>::new());
        // Not crossing the note that asks, or landing on the stop itself: no stop.
        assert!(stops("25.0.0", "1.37.1", "29.0.11").is_empty());
        assert!(stops("29.0.11", "1.41.4", "30.46.0").is_empty());
        assert!(stops("25.0.0", "1.37.1", "29.5.0").is_empty());
        // An unknown app stops, the safe side.
        assert_eq!(stops("25.0.0", "", "30.0.0"), ["29.0.11"]);
    }

    #[test]
    fn chart_labels_split_at_the_version() {
        assert_eq!(
            split_chart_label("posthog-25.0.0"),
            Some(("posthog", "25.0.0"))
        );
        assert_eq!(
            split_chart_label("posthog-mini-1.2.3"),
            Some(("posthog-mini", "1.2.3"))
        );
        assert_eq!(split_chart_label("nover"), None);
    }

    #[test]
    fn the_lines_say_what_to_do_per_version() {
        let b = book();
        let notes: Vec<Note> = b.crossed("19.0.0", "21.0.0").into_iter().cloned().collect();
        let text = lines("19.0.0", "21.0.0", &notes, &[], &[]).join("\n");
        assert!(
            text.contains("apply the Altinity ClickHouse operator CRDs (operator 0.18.4)"),
            "{text}"
        );
        assert!(
            text.contains("supported Kubernetes becomes 1.21 to 1.24"),
            "{text}"
        );
    }

    #[test]
    fn the_notes_cover_every_major_from_2_to_30_in_order() {
        let b = book();
        for major in 2..=30 {
            assert!(
                b.notes.iter().any(|n| n.version == format!("{major}.0.0")),
                "major {major}"
            );
        }
        let versions: Vec<&str> = b.notes.iter().map(|n| n.version.as_str()).collect();
        let mut sorted = versions.clone();
        sorted.sort_by(|a, b| cmp(a, b).expect("versions"));
        assert_eq!(versions, sorted);
        assert!(b.end_of_support.contains("May 2023"));
    }

    #[test]
    fn an_upgrade_crosses_the_notes_after_its_start_up_to_its_target() {
        let b = book();
        let v = |ns: Vec<&Note>| ns.iter().map(|n| n.version.clone()).collect::<Vec<_>>();
        assert_eq!(
            v(b.crossed("25.0.0", "30.46.0")),
            [
                "26.0.0", "27.0.0", "27.1.0", "28.0.0", "29.0.0", "30.0.0", "30.46.0"
            ]
        );
        assert_eq!(v(b.crossed("29.0.11", "30.0.0")), ["30.0.0"]);
        // Within 30.x only the Kubernetes range changes.
        assert_eq!(v(b.crossed("30.0.0", "30.46.0")), ["30.46.0"]);
        assert!(b.crossed("30.46.0", "30.46.0").is_empty());
        assert!(
            b.crossed("30.46.0", "25.0.0").is_empty(),
            "a downgrade crosses nothing"
        );
        let crd = b.crossed("19.0.0", "20.0.0")[0].crds.clone().expect("CRDs");
        assert_eq!(crd.version, "0.18.4");
        let stop = b.crossed("15.0.0", "18.0.0");
        assert_eq!(
            stop.last()
                .and_then(|n| n.requires.clone())
                .map(|r| r.version),
            Some("16.1.0".into())
        );
    }

    #[test]
    fn renamed_keys_are_migrated_when_the_path_crosses_their_major() {
        let b = book();
        // A 9.x user's own ClickHouse claim sits under `clickhouse`, the operator's settings
        // under `clickhouseOperator` (the 9.0.0 package's values).
        let values = json!({
            "clickhouseOperator": {"storage": "40Gi", "enabled": true, "namespace": "ch"},
            "clickhouse": {"persistentVolumeClaim": "data-clickhouse"},
            "certManager": {"enabled": true},
            "cloud": "aws",
        });
        let values = values.as_object().expect("map");
        let notes = b.crossed("9.0.0", "10.0.0");
        let (out, moved) = migrate(values, &notes);
        assert_eq!(
            Value::Object(out.clone()),
            json!({"clickhouse": {"persistence": {"size": "40Gi", "existingClaim": "data-clickhouse"},
                                  "enabled": true, "namespace": "ch"},
                   "certManager": {"enabled": true}, "cloud": "aws"})
        );
        assert_eq!(
            moved
                .iter()
                .map(|m| (m.from.as_str(), m.to.as_str()))
                .collect::<Vec<_>>(),
            [
                ("clickhouseOperator.storage", "clickhouse.persistence.size"),
                (
                    "clickhouse.persistentVolumeClaim",
                    "clickhouse.persistence.existingClaim"
                ),
                ("clickhouseOperator.enabled", "clickhouse.enabled"),
                ("clickhouseOperator.namespace", "clickhouse.namespace"),
            ]
        );
        // From before 4.0.0, certManager moves too; from 10.0.0 on nothing does.
        let (out, _) = migrate(values, &b.crossed("3.0.0", "10.0.0"));
        assert_eq!(out["cert-manager"], json!({"enabled": true}));
        assert!(!out.contains_key("certManager"));
        let (same, none) = migrate(values, &b.crossed("10.0.0", "30.0.0"));
        assert!(none.is_empty());
        assert_eq!(&same, values);
    }

    #[test]
    fn a_renamed_key_says_which_note_moved_it_and_where() {
        let b = book();
        assert_eq!(
            b.renamed_from("clickhouse.persistentVolumeClaim"),
            Some(("10.0.0", "clickhouse.persistence.existingClaim".into()))
        );
        assert_eq!(
            b.renamed_from("redis.host"),
            Some(("12.0.0", "externalRedis.host".into()))
        );
        assert_eq!(b.renamed_from("redis.hostname"), None, "only whole keys");
        assert_eq!(b.renamed_from("ingress.hostname"), None);
    }

    #[test]
    fn a_key_the_user_already_moved_wins_and_removed_keys_in_use_are_found() {
        let b = book();
        let values = json!({"redis": {"host": "old", "enabled": false}, "externalRedis": {"host": "new"},
                            "kafka": {"url": "k:9092"}});
        let values = values.as_object().expect("map");
        let (out, moved) = migrate(values, &b.crossed("11.0.0", "12.0.0"));
        assert_eq!(out["externalRedis"]["host"], "new");
        assert_eq!(out["redis"], json!({"enabled": false}));
        assert_eq!(moved.len(), 1);
        let notes = b.crossed("15.0.0", "16.0.0");
        let removed = removed_in_use(values, &notes);
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].1.key, "kafka.url");
    }
}
