//! helmdeck's values rendering against the real `helm template` (Helm 4 and Helm 3).
//!
//! A chart whose template dumps `.Values` (with subcharts as directories and packaged .tgz,
//! conditions, tags, aliases and import-values) is rendered by both for every case; any
//! difference fails.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use helmdeck::chart::Chart;
use helmdeck::values::{HelmMajor, LayerSource, RenderRequest, SetKind, UserLayer};
use helmdeck::yaml;
use serde_json::Value;

use common::{helm, isolated, pack, same_json, write};

const DUMP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  values: {{ toJson .Values | b64enc | quote }}\n";

/// Builds the fixture chart in `dir` and returns its path.
fn fixture(dir: &Path) -> PathBuf {
    let c = dir.join("dump");
    write(
        &c.join("Chart.yaml"),
        r#"apiVersion: v2
name: dump
version: 0.1.0
dependencies:
  - name: sub
    version: "0.1.0"
    condition: sub.enabled
    import-values: [data]
  - name: packed
    version: ">=0.1.0"
    alias: pk
    tags: [extras]
    import-values:
      - child: child.tbl
        parent: imported
  - name: packed
    version: "0.1.0"
    alias: pk2
    condition: feature.enabled
"#,
    );
    write(
        &c.join("values.yaml"),
        r#"nested:
  a: 1
  b:
    c: two
    d: [1, 2, 3]
  e: null
list: [a, b, c]
str: hello
num: 10
float: 1.5
bool: true
empty: {}
nullkey: ~
yes11: yes
octal: 010
global:
  region: eu
  g:
    x: 1
sub:
  fromParent: 1
feature:
  enabled: true
imported:
  v: 100
  own: true
tablekey:
  t: 1
"#,
    );
    write(&c.join("templates/dump.yaml"), DUMP);
    // A subchart with a subchart of its own, which its condition (under the subchart's
    // section) or a tag turns off: decided on the copy helm coalesces at each level.
    write(
        &c.join("charts/sub/Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.1.0\ndependencies:\n  - name: deep\n    version: 0.1.0\n    condition: deep.enabled\n    tags: [deeptag]\n",
    );
    write(
        &c.join("charts/sub/charts/deep/Chart.yaml"),
        "apiVersion: v2\nname: deep\nversion: 0.1.0\n",
    );
    write(
        &c.join("charts/sub/charts/deep/values.yaml"),
        "deepval: 1\nstr: from-deep\nnested:\n  a: deep\n",
    );
    write(
        &c.join("charts/sub/values.yaml"),
        "deep:\n  enabled: true\nstr: from-sub\nsubval: 1\nnested:\n  x: 1\n  y: [1]\n  n: ~\nglobal:\n  subonly: true\n  region: sub-default\n  g:\n    y: 2\nexports:\n  data:\n    exported: 42\n    over: sub\n",
    );
    let packed_src = dir.join("packed-src");
    write(
        &packed_src.join("Chart.yaml"),
        "apiVersion: v2\nname: packed\nversion: 0.1.0\n",
    );
    write(
        &packed_src.join("values.yaml"),
        "p: 1\nchild:\n  tbl:\n    v: 1\n    w: 2\nlist: [x]\n",
    );
    std::fs::create_dir_all(c.join("charts")).expect("charts dir");
    pack(&packed_src, "packed", &c.join("charts/packed-0.1.0.tgz"));
    c
}

struct Case {
    name: &'static str,
    files: &'static [&'static str],
    sets: &'static [(SetKind, &'static str)],
}

use SetKind::{Set, SetFile, SetJson, SetLiteral, SetString};

const CASES: &[Case] = &[
    Case {
        name: "defaults only",
        files: &[],
        sets: &[],
    },
    Case {
        name: "nested map merge",
        files: &["nested:\n  b:\n    c: three\n    z: new\n"],
        sets: &[],
    },
    Case {
        name: "list replaced whole",
        files: &["list: [z]\nnested:\n  b:\n    d: []\n"],
        sets: &[],
    },
    Case {
        name: "null deletes top-level key",
        files: &["str: null\nnum: ~\n"],
        sets: &[],
    },
    Case {
        name: "null deletes nested key",
        files: &["nested:\n  a: null\n  b:\n    c: ~\n"],
        sets: &[],
    },
    Case {
        name: "null for a key not in defaults",
        files: &["brandnew: null\nnested:\n  nokey: ~\n"],
        sets: &[],
    },
    Case {
        name: "null over a null default",
        files: &["nested:\n  e: ~\nnullkey: ~\n"],
        sets: &[],
    },
    Case {
        name: "two files, later wins",
        files: &["str: one\nnum: 1\n", "str: two\n"],
        sets: &[],
    },
    Case {
        name: "null then set again",
        files: &["str: null\n", "str: back\n", "nested:\n  a: ~\n"],
        sets: &[],
    },
    Case {
        name: "scalar over table",
        files: &["nested: 5\n"],
        sets: &[],
    },
    Case {
        name: "table over scalar",
        files: &["str:\n  now: table\n"],
        sets: &[],
    },
    Case {
        name: "empty map over table",
        files: &["nested: {}\n"],
        sets: &[],
    },
    Case {
        name: "set simple",
        files: &[],
        sets: &[(Set, "str=world")],
    },
    Case {
        name: "set nested",
        files: &[],
        sets: &[(Set, "nested.b.c=x,nested.new.deep=1")],
    },
    Case {
        name: "set index creates list",
        files: &[],
        sets: &[(Set, "list[1]=x")],
    },
    Case {
        name: "set index into file list",
        files: &["list: [p, q, r]\n"],
        sets: &[(Set, "list[1]=x")],
    },
    Case {
        name: "set escaped dot",
        files: &[],
        sets: &[(Set, r"annotations.kubernetes\.io/name=x")],
    },
    Case {
        name: "set brace list",
        files: &[],
        sets: &[(Set, "list={x,y,z}")],
    },
    Case {
        name: "set type inference",
        files: &[],
        sets: &[(
            Set,
            "i=5,b=TRUE,n=null,o=010,f=1.5,big=99999999999999999999,neg=-7,z=0,plus=+3",
        )],
    },
    Case {
        name: "set null deletes default",
        files: &[],
        sets: &[(Set, "str=null,nested.a=null")],
    },
    Case {
        name: "several sets in order",
        files: &[],
        sets: &[(Set, "str=a"), (Set, "str=b"), (Set, "num=2")],
    },
    Case {
        name: "set-string keeps text",
        files: &[],
        sets: &[(SetString, "num=42,bool=true,n=null")],
    },
    Case {
        name: "set-json object",
        files: &[],
        sets: &[(SetJson, r#"nested={"b":{"c":"json"},"q":[1,{"r":2}]}"#)],
    },
    Case {
        name: "set-json list and null",
        files: &[],
        sets: &[(SetJson, "list=[1,2.5,\"x\"],str=null")],
    },
    Case {
        name: "set-file",
        files: &[],
        sets: &[(SetFile, "str=payload.txt")],
    },
    Case {
        name: "kinds in Helm's order",
        files: &[],
        sets: &[(SetString, "k=s"), (Set, "k=1"), (SetJson, "k=2")],
    },
    Case {
        name: "list of maps",
        files: &[],
        sets: &[(Set, "items[0].name=a,items[1].name=b,items[1].port=80")],
    },
    Case {
        name: "nested index",
        files: &[],
        sets: &[(Set, "m[0][1]=x")],
    },
    Case {
        name: "empty value",
        files: &[],
        sets: &[(Set, "str=")],
    },
    Case {
        name: "set-literal keeps commas",
        files: &[],
        sets: &[(SetLiteral, "str=a,b=c")],
    },
    Case {
        name: "escaped comma",
        files: &[],
        sets: &[(Set, r"str=a\,b")],
    },
    Case {
        name: "subchart value override",
        files: &["sub:\n  subval: 9\n  nested:\n    y: [7]\n"],
        sets: &[],
    },
    Case {
        name: "subchart disabled by condition",
        files: &["sub:\n  enabled: false\n"],
        sets: &[],
    },
    Case {
        name: "subchart disabled by tag",
        files: &["tags:\n  extras: false\n"],
        sets: &[],
    },
    Case {
        name: "nested subchart off by its condition",
        files: &["sub:\n  deep:\n    enabled: false\n"],
        sets: &[],
    },
    Case {
        name: "nested subchart's condition beats its tag",
        files: &["tags:\n  deeptag: false\n"],
        sets: &[],
    },
    Case {
        name: "nested subchart off by tag",
        files: &["tags:\n  deeptag: false\nsub:\n  deep:\n    enabled: null\n"],
        sets: &[],
    },
    Case {
        name: "condition beats tag",
        files: &["tags:\n  extras: false\nfeature:\n  enabled: true\n"],
        sets: &[(Set, "pk.enabled=true")],
    },
    Case {
        name: "alias values",
        files: &["pk:\n  p: 5\npk2:\n  child:\n    tbl:\n      w: 3\n"],
        sets: &[],
    },
    Case {
        name: "alias disabled by condition",
        files: &[],
        sets: &[(Set, "feature.enabled=false,pk2.p=5")],
    },
    Case {
        name: "global override",
        files: &[],
        sets: &[(Set, "global.region=us,global.g.z=3")],
    },
    Case {
        name: "global null",
        files: &["global:\n  g: null\n"],
        sets: &[],
    },
    Case {
        name: "subchart global override",
        files: &["sub:\n  global:\n    subonly: false\n"],
        sets: &[],
    },
    Case {
        name: "import-values overridden by parent",
        files: &["imported:\n  v: 7\n"],
        sets: &[(Set, "exported=1")],
    },
    Case {
        name: "null inside subchart",
        files: &["sub:\n  nested:\n    x: null\n    n: null\n"],
        sets: &[],
    },
    Case {
        name: "yaml 1.1 scalars",
        files: &[
            "a: yes\nb: off\nc: 010\nd: 0x1F\ne: 1_000\nf: 1e3\ng: 2001-12-14\nh: 'yes'\ny: key\n",
        ],
        sets: &[],
    },
    Case {
        name: "anchors and merge keys",
        files: &["base: &b\n  x: 1\n  z: 2\nderived:\n  <<: *b\n  z: 3\n"],
        sets: &[],
    },
    Case {
        name: "empty file",
        files: &["", "# only a comment\n"],
        sets: &[],
    },
    Case {
        name: "file then set into file map",
        files: &["nested:\n  b:\n    c: file\n"],
        sets: &[(Set, "nested.b.k=v"), (SetString, "nested.b.c=012")],
    },
    Case {
        name: "unicode and block scalars",
        files: &["str: |\n  línea uno\n  two\nfolded: >\n  a\n  b\n"],
        sets: &[(Set, "u=héllo")],
    },
];

/// Runs `helm template` for a case and returns `.Values`.
fn helm_values(
    helm: &Path,
    chart: &Path,
    work: &Path,
    files: &[PathBuf],
    sets: &[(SetKind, &str)],
) -> Result<Value, String> {
    let mut cmd = isolated(helm, work);
    cmd.current_dir(work).arg("template").arg("r").arg(chart);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    for (kind, expr) in sets {
        cmd.arg(kind.flag()).arg(expr);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("values: "))
        .ok_or_else(|| format!("no dump in helm output:\n{text}"))?;
    let b64 = line.trim_matches('"');
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn helmdeck_values(
    chart: &Chart,
    work: &Path,
    files: &[PathBuf],
    sets: &[(SetKind, &str)],
    major: HelmMajor,
) -> Result<Value, String> {
    let mut layers = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| e.to_string())?;
        layers.push(UserLayer {
            source: LayerSource::File {
                path: f.display().to_string(),
            },
            values: yaml::parse_values(&f.display().to_string(), &text)
                .map_err(|e| e.to_string())?,
        });
    }
    let req = RenderRequest {
        files: layers,
        sets: sets.iter().map(|(k, e)| (*k, (*e).to_string())).collect(),
        base_dir: Some(work.to_path_buf()),
        major,
        ..Default::default()
    };
    req.render(chart)
        .map(|r| Value::Object(r.values))
        .map_err(|e| e.to_string())
}

fn run_cases(major: u8) {
    let helm = helm(major);
    let tmp = tempfile::tempdir().expect("tmp");
    let chart_dir = fixture(tmp.path());
    let chart = Chart::load(&chart_dir).expect("load fixture");
    write(&tmp.path().join("payload.txt"), "line one\nline, two\n");
    let hm = if major == 3 {
        HelmMajor::V3
    } else {
        HelmMajor::V4
    };
    let mut failures = Vec::new();
    assert!(CASES.len() >= 40, "at least 40 parity cases");
    for (n, case) in CASES.iter().enumerate() {
        let files: Vec<PathBuf> = case
            .files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let p = tmp.path().join(format!("case{n}-{i}.yaml"));
                write(&p, text);
                p
            })
            .collect();
        let theirs = helm_values(&helm, &chart_dir, tmp.path(), &files, case.sets);
        let ours = helmdeck_values(&chart, tmp.path(), &files, case.sets, hm);
        match (theirs, ours) {
            (Ok(t), Ok(o)) if same_json(&t, &o) => {}
            (Ok(t), Ok(o)) => failures.push(format!(
                "{}: values differ\n  helm:     {t}\n  helmdeck: {o}",
                case.name
            )),
            (Err(e), Ok(o)) => failures.push(format!(
                "{}: helm failed but helmdeck rendered {o}\n  {e}",
                case.name
            )),
            (Ok(t), Err(e)) => failures.push(format!(
                "{}: helmdeck failed ({e}) but helm rendered {t}",
                case.name
            )),
            (Err(_), Err(_)) => failures.push(format!("{}: both failed", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "helm {major} parity failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn parity_with_helm4() {
    run_cases(4);
}

#[test]
fn parity_with_helm3() {
    run_cases(3);
}

/// Expressions Helm rejects are rejected by helmdeck too (and the other way round).
#[test]
fn set_syntax_errors_match_helm() {
    let tmp = tempfile::tempdir().expect("tmp");
    let chart_dir = fixture(tmp.path());
    let chart = Chart::load(&chart_dir).expect("load");
    for expr in ["a.b", "a[x]=1", "a={1,2", "a[-1]=2", "a=1,", "str.x=1"] {
        for major in [4u8, 3] {
            let hm = if major == 3 {
                HelmMajor::V3
            } else {
                HelmMajor::V4
            };
            let theirs = helm_values(&helm(major), &chart_dir, tmp.path(), &[], &[(Set, expr)]);
            let ours = helmdeck_values(&chart, tmp.path(), &[], &[(Set, expr)], hm);
            assert_eq!(
                theirs.is_err(),
                ours.is_err(),
                "helm {major} on {expr:?}: helm {theirs:?} helmdeck {ours:?}"
            );
        }
    }
}

/// The CLI end to end: `helmdeck render --profile aws --set …` prints the values helm would
/// use with the same layers, for the bundled chart.
#[test]
fn render_cli_matches_helm_for_every_profile() {
    let tmp = tempfile::tempdir().expect("tmp");
    // The bundled chart plus a template that dumps .Values.
    let chart = tmp.path().join("posthog-mini");
    copy_dir(&common::root().join("assets/charts/posthog-mini"), &chart);
    write(&chart.join("templates/zz-dump.yaml"), DUMP);
    for profile in ["aws", "gcp", "azure", "digitalocean", "local"] {
        let out = isolated(common::helmdeck_bin(), tmp.path())
            .args(["render", "--profile", profile, "--chart"])
            .arg(&chart)
            .args([
                "--set",
                "ingress.hostname=x.example.com",
                "--show-secrets",
                "-o",
                "json",
                "--helm-major",
                "4",
            ])
            .output()
            .expect("run helmdeck");
        assert!(
            out.status.success(),
            "{profile}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours: Value = serde_json::from_slice(&out.stdout).expect("json");
        // The same layers given to helm: the profile's values as a file, then the --set.
        let shown = isolated(common::helmdeck_bin(), tmp.path())
            .args(["profiles", "show", profile, "--output", "json"])
            .output()
            .expect("show");
        let p: Value = serde_json::from_slice(&shown.stdout).expect("profile json");
        let pf = tmp.path().join(format!("{profile}.json"));
        std::fs::write(&pf, p["values"].to_string()).expect("write");
        // A value the profile makes follow the hostname is what the user would otherwise
        // have to give helm as well.
        let follows: Vec<String> = p["follows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| format!("{}=x.example.com", f["path"].as_str().expect("path")))
            .collect();
        let mut sets = vec![(Set, "ingress.hostname=x.example.com")];
        sets.extend(follows.iter().map(|f| (Set, f.as_str())));
        let theirs =
            helm_values(&helm(4), &chart, tmp.path(), &[pf], &sets).expect("helm template");
        assert!(
            same_json(&theirs, &ours),
            "{profile}:\n helm {theirs}\n ours {ours}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}
