//! Bad input and faults, through the real binary: each bad input exits with its documented code
//! and a message naming the problem, within a memory bound (2 GiB of address space) and a
//! deadline, prints no secret, and applies nothing to the cluster; a silent API server and
//! Ctrl-C during an install end the way the README's exit-code table says.

mod common;

use std::borrow::Cow;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sim, helm};
use helmdeck_sim::SimOptions;

/// A case: the arguments (`{dir}` is the case files' directory; words split on single spaces),
/// the exit code, a fragment of the message, and text that must not appear anywhere in the
/// output (a secret).
struct Case {
    args: Cow<'static, str>,
    code: i32,
    says: Cow<'static, str>,
    never: Option<Cow<'static, str>>,
}

const fn case(args: &'static str, code: i32, says: &'static str) -> Case {
    Case {
        args: Cow::Borrowed(args),
        code,
        says: Cow::Borrowed(says),
        never: None,
    }
}

const fn secret(args: &'static str, code: i32, says: &'static str, never: &'static str) -> Case {
    Case {
        args: Cow::Borrowed(args),
        code,
        says: Cow::Borrowed(says),
        never: Some(Cow::Borrowed(never)),
    }
}

/// A case made at run time, for the families below.
fn made(args: String, code: i32, says: impl Into<String>, never: Option<&str>) -> Case {
    Case {
        args: Cow::Owned(args),
        code,
        says: Cow::Owned(says.into()),
        never: never.map(|n| Cow::Owned(n.to_string())),
    }
}

/// `a0: &a0 [x, …]`, `a1: &a1 [*a0, …]`, …: a billion laughs when deep enough.
fn laughs(levels: usize, fanout: usize) -> String {
    let mut out = format!("a0: &a0 [{}]\n", vec!["x"; fanout].join(", "));
    for i in 1..=levels {
        let refs = vec![format!("*a{}", i - 1); fanout].join(", ");
        out.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    out
}

/// The files the cases read.
fn files(dir: &Path) {
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    w("bomb.yaml", &laughs(9, 9));
    let mut merge = String::from("x0: &x0 {k: v}\n");
    for i in 1..12 {
        let refs = vec![format!("*x{}", i - 1); 9].join(", ");
        merge.push_str(&format!("x{i}: &x{i}\n  <<: [{refs}]\n  k{i}: v\n"));
    }
    w("merge-bomb.yaml", &merge);
    w(
        "broken-secret.yaml",
        "postgresql:\n  postgresqlPassword: \"hunter2-typo\n",
    );
    w(
        "flow-secret.yaml",
        "postgresql: {postgresqlPassword: flowsecret9, x: [}\n",
    );
    w(
        "next-line-secret.yaml",
        "postgresql:\n  postgresqlPassword:\n    nextsecret9: x: y\n",
    );
    w(
        "env-secret.yaml",
        "web:\n  env:\n    - name: SECRET_KEY\n      value: envsecret9\n",
    );
    let kc = |cluster: &str, user: &str| {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: s\n  cluster:\n    server: https://127.0.0.1:9\n{cluster}contexts:\n- name: c\n  context: {{cluster: s, user: u}}\nusers:\n- name: u\n  user:\n{user}"
        )
    };
    w(
        "kc-devzero-ca.yaml",
        &kc("    certificate-authority: /dev/zero\n", "    token: t\n"),
    );
    let fifo = dir.join("ca.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    w(
        "kc-fifo-ca.yaml",
        &kc(
            &format!("    certificate-authority: {}\n", fifo.display()),
            "    token: t\n",
        ),
    );
    w(
        "kc-devzero-token.yaml",
        &kc("", "    tokenFile: /dev/zero\n"),
    );
    w(
        "kc-proc-key.yaml",
        &kc(
            "",
            "    client-certificate-data: aGk=\n    client-key: /proc/self/pagemap\n",
        ),
    );
    // YAML helm refuses: a NUL byte, !!binary that is not base64, a broken later document.
    w("nul.yaml", "a: b\u{0}c\n");
    w("bad-binary.yaml", "a: !!binary \"%%%\"\n");
    w("second-doc.yaml", "a: 1\n---\nb: [\n");
    w("list.yaml", "- a\n- b\n");
    w("tab.yaml", "web:\n\treplicacount: 2\n");
    w("dup.yaml", "a: 1\na: 2\n");
    w("unknown-anchor.yaml", "a: &a [1, 2]\nb: *nope\n");
    w("bad-tag.yaml", "a: !!int foo\n");
    w("inf.yaml", "a: .inf\n");
    std::fs::write(dir.join("binary.yaml"), [0xff, 0xfe, 0x00]).unwrap();
    std::fs::write(dir.join("big.yaml"), vec![b'#'; 9 << 20]).unwrap();
    // A chart whose values.yaml inflates to 300 MiB, and one whose other file does.
    for (name, big) in [
        ("inflating-values", "values.yaml"),
        ("inflating-junk", "junk.bin"),
    ] {
        let root = dir.join(name).join("c");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("Chart.yaml"),
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        )
        .unwrap();
        std::fs::write(root.join("values.yaml"), "a: 1\n").unwrap();
        let f = std::fs::File::create(root.join(big)).unwrap();
        f.set_len(300 << 20).unwrap();
        let tgz = dir.join(format!("{name}.tgz"));
        // tar(1), not `common::pack`: the test build's unoptimised gzip takes long over 300 MiB.
        let status = Command::new("tar")
            .args(["czf", tgz.to_str().unwrap(), "-C"])
            .arg(dir.join(name))
            .arg("c")
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::remove_dir_all(dir.join(name)).unwrap();
    }
    // One inflation budget for a chart and every archive in it: 50 subchart archives, each
    // inflating to 6 MiB of crds/ (each alone well under the limit, 300 MiB together).
    let many = dir.join("many-subcharts");
    std::fs::create_dir_all(many.join("charts")).unwrap();
    std::fs::write(
        many.join("Chart.yaml"),
        "apiVersion: v2\nname: many-subcharts\nversion: 1.0.0\n",
    )
    .unwrap();
    let work = dir.join("sub-work");
    for i in 0..50 {
        let name = format!("s{i}");
        let root = work.join(&name);
        std::fs::create_dir_all(root.join("crds")).unwrap();
        std::fs::write(
            root.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
        )
        .unwrap();
        let f = std::fs::File::create(root.join("crds/big.yaml")).unwrap();
        f.set_len(6 << 20).unwrap();
        let status = Command::new("tar")
            .args([
                "czf",
                many.join(format!("charts/{name}.tgz")).to_str().unwrap(),
                "-C",
            ])
            .arg(&work)
            .arg(&name)
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::remove_dir_all(&work).unwrap();
    // Subcharts nested 25 archives deep.
    let nest = dir.join("nest-work");
    let mut inner: Option<PathBuf> = None;
    for level in (0..25).rev() {
        let name = format!("n{level}");
        let root = nest.join(&name);
        std::fs::create_dir_all(root.join("charts")).unwrap();
        std::fs::write(
            root.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
        )
        .unwrap();
        if let Some(tgz) = inner.take() {
            std::fs::rename(&tgz, root.join("charts").join(tgz.file_name().unwrap())).unwrap();
        }
        let tgz = nest.join(format!("{name}.tgz"));
        let status = Command::new("tar")
            .args(["czf", tgz.to_str().unwrap(), "-C"])
            .arg(&nest)
            .arg(&name)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::remove_dir_all(&root).unwrap();
        inner = Some(tgz);
    }
    std::fs::rename(inner.unwrap(), dir.join("deep-nest.tgz")).unwrap();
    std::fs::remove_dir_all(&nest).unwrap();
    // Charts helm refuses: a version that is not SemVer, an unknown type, and an archive
    // with an entry outside the chart's directory.
    for (name, chart_yaml) in [
        (
            "not-semver",
            "apiVersion: v2\nname: not-semver\nversion: not-semver\n",
        ),
        (
            "bad-type",
            "apiVersion: v2\nname: bad-type\nversion: 1.0.0\ntype: plugin\n",
        ),
    ] {
        std::fs::create_dir_all(dir.join(name).join("templates")).unwrap();
        std::fs::write(dir.join(name).join("Chart.yaml"), chart_yaml).unwrap();
    }
    let climb = dir.join("climb");
    std::fs::create_dir_all(climb.join("c")).unwrap();
    std::fs::write(
        climb.join("c/Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(climb.join("evil.yaml"), "a: 1\n").unwrap();
    // GNU tar keeps `c/../evil.yaml` as written with -P.
    let status = Command::new("tar")
        .args(["czPf", dir.join("climb.tgz").to_str().unwrap(), "-C"])
        .arg(&climb)
        .args(["c/Chart.yaml", "c/../evil.yaml"])
        .status()
        .unwrap();
    assert!(status.success());
    // A chart whose Chart.yaml lists a subchart charts/ does not hold (disabled or not).
    let root = dir.join("missing-subchart");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n    condition: redis.enabled\n",
    )
    .unwrap();
    std::fs::write(root.join("values.yaml"), "redis:\n  enabled: false\n").unwrap();
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
}

const RENDER: &[Case] = &[
    // Bounded YAML.
    case("render -f {dir}/bomb.yaml", 2, "excessive aliasing"),
    case("render -f {dir}/merge-bomb.yaml", 2, "excessive aliasing"),
    // Bounded, regular files.
    case("render -f /dev/zero", 2, "not a regular file"),
    case("render -f {dir}", 2, "not a regular file"),
    case("render -f {dir}/big.yaml", 2, "larger than 8 MiB"),
    case("render -f {dir}/missing.yaml", 2, "missing.yaml"),
    case("render --set-file a=/dev/zero", 2, "not a regular file"),
    case("render --set-file a={dir}/big.yaml", 2, "larger than 8 MiB"),
    case("render --chart /dev/zero", 2, "not a regular file"),
    case(
        "render --chart {dir}/inflating-values.tgz",
        2,
        "values.yaml: it is larger than 8 MiB",
    ),
    case(
        "render --chart {dir}/inflating-junk.tgz",
        2,
        "inflate to more than 256 MiB",
    ),
    // Charts helm refuses are refused before helm: render and plan, exit 2, helm's reason.
    case(
        "render --chart {dir}/not-semver",
        2,
        "chart.metadata.version \"not-semver\" is invalid",
    ),
    case(
        "plan --profile local --chart {dir}/not-semver",
        2,
        "chart.metadata.version \"not-semver\" is invalid",
    ),
    case(
        "render --chart {dir}/bad-type",
        2,
        "must be application or library",
    ),
    case(
        "render --chart {dir}/climb.tgz",
        2,
        "outside the chart's directory",
    ),
    case(
        "render -f {dir}/nul.yaml",
        2,
        "nul.yaml:1:5: control characters are not allowed",
    ),
    case(
        "render -f {dir}/bad-binary.yaml",
        2,
        "!!binary value contains invalid base64 data",
    ),
    case(
        "plan --profile local -f {dir}/second-doc.yaml",
        2,
        "in a later document",
    ),
    case(
        "render --chart {dir}/many-subcharts",
        2,
        "nested in or beside inflate to more than 256 MiB",
    ),
    case(
        "render --chart {dir}/deep-nest.tgz",
        2,
        "subcharts nested more than 20 levels deep",
    ),
    case("render --chart {dir}/missing.tgz", 2, "missing.tgz"),
    // Values that are not values.
    case("render -f {dir}/list.yaml", 2, "must be a mapping"),
    case("render -f {dir}/tab.yaml", 2, "tab.yaml:2"),
    case("render --set a[", 2, "--set a["),
    case("render --set a[99999999]=1", 2, "--set"),
    case("render --profile nosuch", 2, "nosuch"),
    case("render -f {dir}/unknown-anchor.yaml", 2, "unknown anchor"),
    case("render -f {dir}/bad-tag.yaml", 2, "cannot decode"),
    case(
        "render -f {dir}/inf.yaml",
        2,
        "cannot be represented in JSON",
    ),
    case("render -f {dir}/binary.yaml", 2, "not UTF-8"),
    case("render --answers /dev/zero", 2, "not a regular file"),
    case("render --answers {dir}/missing.yaml", 2, "missing.yaml"),
    case("render --set-file a={dir}/missing.txt", 2, "missing.txt"),
    case("render --set-json a={", 2, "invalid JSON"),
    case("render --set-json a=[1,", 2, "invalid JSON"),
    case("render --set-string a", 2, "has no value"),
    case(
        "render --profile local --set a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.aa.bb.cc.dd.ee.ff.gg=1",
        2,
        "nested level",
    ),
    case("render --set-literal", 2, "a value is required"),
    case("render -o yaml2", 2, "possible values"),
    case("render --chart {dir}", 2, "is not a chart"),
    case("render --chart /nonexistent", 2, "/nonexistent"),
    case(
        "render --chart {dir}/missing-subchart",
        2,
        "redis found in Chart.yaml, but missing in charts/",
    ),
    case("render --version banana", 2, "improper constraint"),
    case(
        "render --repo notaurl --version 1.0.0",
        2,
        "not a chart repository URL",
    ),
    case("versions --repo notaurl", 2, "not a chart repository URL"),
    // Secrets never print.
    secret(
        "render --profile local --set postgresql.postgresqlPassword=987654321",
        2,
        "postgresql.postgresqlPassword",
        "987654321",
    ),
    secret(
        "render --profile local --set postgresql.postgresqlPassword=987654321 -o json",
        2,
        "postgresql.postgresqlPassword",
        "987654321",
    ),
    secret(
        "render --profile local -f {dir}/broken-secret.yaml",
        2,
        "broken-secret.yaml:2",
        "hunter2-typo",
    ),
    secret(
        "render --profile local --set postgresql.postgresqlPassword=s3cr3tv4lue,x[",
        2,
        "--set",
        "s3cr3tv4lue",
    ),
    // A failed --set's commas and braces do not end a secret value.
    secret(
        "render --profile local --set postgresql.postgresqlPassword={Pw1x,listsecret9",
        2,
        "list must terminate",
        "listsecret9",
    ),
    secret(
        "render --profile local --set postgresql.postgresqlPassword=Pw\\,tailsecret9,x[",
        2,
        "--set",
        "tailsecret9",
    ),
    // YAML errors: a flow-style line, and a value written on the line below its key.
    secret(
        "render --profile local -f {dir}/flow-secret.yaml",
        2,
        "flow-secret.yaml:1",
        "flowsecret9",
    ),
    secret(
        "render --profile local -f {dir}/next-line-secret.yaml",
        2,
        "next-line-secret.yaml:3",
        "nextsecret9",
    ),
    // An env entry named like a secret: its value is redacted in what render prints.
    secret(
        "render --profile local -f {dir}/env-secret.yaml",
        0,
        "SECRET_KEY",
        "envsecret9",
    ),
];

/// The keys and forms the secret families cross: every key a user meets that names a secret.
const SECRET_KEYS: [&str; 8] = [
    "postgresql.postgresqlPassword",
    "redis.auth.password",
    "clickhouse.password",
    "email.password",
    "web.secretKey",
    "sentry.dsn",
    "minio.accessKey",
    "externalPostgresql.postgresqlPassword",
];

/// The last segment of a secret key, as a values file writes it under its parent.
const SECRET_LEAVES: [&str; 6] = [
    "postgresqlPassword",
    "password",
    "secretKey",
    "dsn",
    "accessKey",
    "apiToken",
];

/// Env var names that look secret (their `value` is the secret).
const SECRET_ENV_NAMES: [&str; 6] = [
    "DATABASE_PASSWORD",
    "API_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "SENTRY_DSN",
    "PRIVATE_KEY",
    "secret_key",
];

/// Case families, each crossing one class of bad input with the places it can come from; the
/// files they read are written into `dir`.
fn families(dir: &Path) -> Vec<Case> {
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    let mut out = Vec::new();
    let token = "zq9secret";
    // No secret in any message: broken --set, --set-string and --set-json under each key.
    for k in SECRET_KEYS {
        for (flag, value, says) in [
            ("--set", format!("{k}={token},x["), "--set"),
            ("--set", format!("{k}={{a,{token}"), "list must terminate"),
            ("--set", format!("{k}=Pw\\,{token},x["), "--set"),
            ("--set-string", format!("{k}={token},x["), "--set-string"),
            (
                "--set-json",
                format!("{k}={{\"v\":\"{token}\""),
                "invalid JSON",
            ),
            ("--set-json", format!("{k}=\"{token}"), "invalid JSON"),
        ] {
            out.push(made(
                format!("render --profile local {flag} {value}"),
                2,
                says,
                Some(token),
            ));
        }
    }
    // ... values files whose YAML error sits on or under a secret, in every way it is written.
    for leaf in SECRET_LEAVES {
        for (form, text, line) in [
            (
                "flow",
                format!("postgresql: {{{leaf}: {token}, x: [}}\n"),
                1,
            ),
            (
                "next",
                format!("postgresql:\n  {leaf}:\n    {token}: x: y\n"),
                3,
            ),
            ("open", format!("postgresql:\n  {leaf}: \"{token}\n"), 2),
            ("single", format!("postgresql:\n  {leaf}: '{token}\n"), 2),
            (
                "after",
                format!("postgresql:\n  {leaf}: {token}\n  bad: [\n"),
                4,
            ),
            (
                "block",
                format!("postgresql:\n  {leaf}: |\n    {token}\n  x: [\n"),
                5,
            ),
        ] {
            let name = format!("secret-{form}-{leaf}.yaml");
            w(&name, &text);
            out.push(made(
                format!("render --profile local -f {{dir}}/{name}"),
                2,
                format!("{name}:{line}"),
                Some(token),
            ));
        }
    }
    // ... env entries named like a secret: rendered (text and JSON), and in YAML errors.
    for env in SECRET_ENV_NAMES {
        let block = format!("env-{env}.yaml");
        w(
            &block,
            &format!("web:\n  env:\n    - name: {env}\n      value: {token}\n"),
        );
        let flow = format!("env-flow-{env}.yaml");
        w(
            &flow,
            &format!("web:\n  env:\n    - {{name: {env}, value: {token}, x: [}}\n"),
        );
        let below = format!("env-below-{env}.yaml");
        w(
            &below,
            &format!("web:\n  env:\n    - name: {env}\n      value: \"{token}\n"),
        );
        out.push(made(
            format!("render --profile local -f {{dir}}/{block}"),
            0,
            env,
            Some(token),
        ));
        out.push(made(
            format!("render --profile local -o json -f {{dir}}/{block}"),
            0,
            env,
            Some(token),
        ));
        out.push(made(
            format!("render --profile local -f {{dir}}/{flow}"),
            2,
            format!("{flow}:3"),
            Some(token),
        ));
        out.push(made(
            format!("render --profile local -f {{dir}}/{below}"),
            2,
            format!("{below}:4"),
            Some(token),
        ));
    }
    // Durations as documented: under a second exits 2 before anything runs.
    for command in ["install --yes", "upgrade --yes", "rollback --yes"] {
        for t in ["999ms", "1ns", "0s", "500ms", "1us"] {
            out.push(made(
                format!("{command} --timeout {t}"),
                2,
                "shorter than a second",
                None,
            ));
        }
    }
    for command in ["status", "check", "history"] {
        for t in ["999ms", "1ns", "0s"] {
            out.push(made(
                format!("{command} --request-timeout {t}"),
                2,
                "a request needs time",
                None,
            ));
        }
    }
    // helm's refusals of a chart, first, from render and plan.
    for (name, chart_yaml, says) in [
        (
            "api-v3",
            "apiVersion: v3\nname: api-v3\nversion: 1.0.0\n",
            "invalid chart apiVersion",
        ),
        (
            "api-v9",
            "apiVersion: v9\nname: api-v9\nversion: 1.0.0\n",
            "unsupported chart version",
        ),
        (
            "name-path",
            "apiVersion: v2\nname: a/b\nversion: 1.0.0\n",
            "chart.metadata.name \"a/b\" is invalid",
        ),
        (
            "name-dots",
            "apiVersion: v2\nname: ..\nversion: 1.0.0\n",
            "chart.metadata.name \"..\" is invalid",
        ),
        (
            "kube-range",
            "apiVersion: v2\nname: kube-range\nversion: 1.0.0\nkubeVersion: \">= banana\"\n",
            "kubeVersion \">= banana\"",
        ),
        ("meta-list", "- apiVersion: v2\n- name: x\n", "Chart.yaml"),
        ("meta-scalar", "just a string\n", "Chart.yaml"),
        ("meta-empty", "", "Chart.yaml"),
        ("no-name", "apiVersion: v2\nversion: 1.0.0\n", "name"),
        (
            "no-version",
            "apiVersion: v2\nname: no-version\n",
            "chart.metadata.version is required",
        ),
        (
            "four-part",
            "apiVersion: v2\nname: four-part\nversion: 1.2.3.4\n",
            "chart.metadata.version \"1.2.3.4\" is invalid",
        ),
        (
            "name-list",
            "apiVersion: v2\nname: [a]\nversion: 1.0.0\n",
            "Chart.yaml",
        ),
        (
            "deps-number",
            "apiVersion: v2\nname: deps-number\nversion: 1.0.0\ndependencies: 5\n",
            "Chart.yaml",
        ),
    ] {
        let root = dir.join(format!("chart-{name}"));
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(root.join("Chart.yaml"), chart_yaml).unwrap();
        for command in ["render", "plan --profile local"] {
            out.push(made(
                format!("{command} --chart {{dir}}/chart-{name}"),
                2,
                says,
                None,
            ));
        }
    }
    // YAML helm refuses: every control character class, bad !!binary, YAML 1.1 line breaks,
    // broken or null-keyed later documents, and null keys.
    for (name, text, says) in [
        (
            "ctl-soh",
            "a: b\u{1}c\n",
            "control characters are not allowed",
        ),
        (
            "ctl-esc",
            "a: b\u{1b}c\n",
            "control characters are not allowed",
        ),
        (
            "ctl-del",
            "a: b\u{7f}c\n",
            "control characters are not allowed",
        ),
        (
            "ctl-c1",
            "a: b\u{80}c\n",
            "control characters are not allowed",
        ),
        (
            "ctl-c1-end",
            "a: b\u{9f}c\n",
            "control characters are not allowed",
        ),
        (
            "ctl-fffe",
            "a: b\u{fffe}c\n",
            "control characters are not allowed",
        ),
        ("nel", "a: b\u{85}c\n", "U+0085 is a line break"),
        (
            "line-separator",
            "a: b\u{2028}c\n",
            "U+2028 is a line break",
        ),
        ("binary-short", "a: !!binary abc\n", "invalid base64"),
        ("binary-pad", "a: !!binary \"====\"\n", "invalid base64"),
        ("later-flow", "a: 1\n---\n{\n", "in a later document"),
        ("later-quote", "a: 1\n---\n\"open\n", "in a later document"),
        ("later-separator", "a: 1\n--- [\n", "in a later document"),
        ("later-null-key", "a: 1\n---\n~: x\n", "in a later document"),
        (
            "later-garbage",
            "a: 1\n---\n: : garbage [\n",
            "in a later document",
        ),
        ("null-key", "~: x\n", "a mapping key is empty or null"),
        (
            "null-word-key",
            "null: x\n",
            "a mapping key is empty or null",
        ),
        ("empty-key", "a:\n  : x\n", "a mapping key is empty or null"),
        (
            "garbage",
            ": : garbage [\n",
            "a mapping key is empty or null",
        ),
    ] {
        let file = format!("yaml-{name}.yaml");
        w(&file, text);
        out.push(made(
            format!("render -f {{dir}}/{file}"),
            2,
            format!("{file}:"),
            None,
        ));
        out.push(made(
            format!("plan --profile local -f {{dir}}/{file}"),
            2,
            says,
            None,
        ));
    }
    // What helm reads, read: a tab separating a mapping's key and value.
    w("yaml-tab-separator.yaml", "web:\n  replicacount:\t3\n");
    out.push(made(
        "render --profile local -f {dir}/yaml-tab-separator.yaml".into(),
        0,
        "replicacount: 3",
        None,
    ));
    // One budget however nested: helm's list index limit, one list budget across flags, and
    // values as deep as helm refuses.
    out.push(made(
        "render --set a[65537]=1".into(),
        2,
        "greater than maximum supported index of 65536",
        None,
    ));
    let many: Vec<String> = (0..20).map(|i| format!("--set a{i}[65536]=1")).collect();
    out.push(made(
        format!("render {}", many.join(" ")),
        2,
        "past the 1000000 helmdeck allows",
        None,
    ));
    w("too-deep.yaml", &format!("a:\n{}x\n", "- ".repeat(10_001)));
    out.push(made(
        "render -f {dir}/too-deep.yaml".into(),
        2,
        "exceeded max depth of 10000",
        None,
    ));
    let deep_json = format!("{}{}", "[".repeat(10_001), "]".repeat(10_001));
    out.push(made(
        format!("render --set-json a={deep_json}"),
        2,
        "exceeded max depth of 10000",
        None,
    ));
    // Everything a kubeconfig names is bounded, for each command that reads it.
    let kc = |cluster: &str, user: &str| {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: s\n  cluster:\n    server: https://127.0.0.1:9\n{cluster}contexts:\n- name: c\n  context: {{cluster: s, user: u}}\nusers:\n- name: u\n  user:\n{user}"
        )
    };
    let fifo = dir.join("key.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let fifo = fifo.display().to_string();
    for (name, cluster, user, says) in [
        (
            "cert-devzero",
            String::new(),
            "    client-certificate: /dev/zero\n    client-key-data: aGk=\n".to_string(),
            "client-certificate /dev/zero",
        ),
        (
            "key-fifo",
            String::new(),
            format!("    client-certificate-data: aGk=\n    client-key: {fifo}\n"),
            "client-key",
        ),
        (
            "token-fifo",
            String::new(),
            format!("    tokenFile: {fifo}\n"),
            "tokenFile",
        ),
        (
            "ca-dir",
            format!("    certificate-authority: {}\n", dir.display()),
            "    token: t\n".to_string(),
            "certificate-authority",
        ),
        (
            "ca-proc",
            "    certificate-authority: /proc/self/pagemap\n".to_string(),
            "    token: t\n".to_string(),
            "certificate-authority /proc/self/pagemap",
        ),
    ] {
        let file = format!("kc-{name}.yaml");
        w(&file, &kc(&cluster, &user));
        for command in ["status", "check", "history"] {
            out.push(made(
                format!("{command} --kubeconfig {{dir}}/{file}"),
                4,
                says,
                None,
            ));
        }
    }
    // Names are checked before anything runs, for every command that takes them.
    for (flag, name, says) in [
        ("--release", "posthog-", "helm's rule"),
        ("--release", "Post.hog", "helm's rule"),
        ("--release", "p\u{f6}sthog", "helm's rule"),
        ("-n", "posthog-", "DNS-1123"),
        ("-n", "p\u{f6}sthog", "DNS-1123"),
    ] {
        for command in ["install --yes", "status", "rollback --yes"] {
            out.push(made(format!("{command} {flag} {name}"), 2, says, None));
        }
    }
    out
}

/// Names are checked before anything runs: these never reach the cluster.
const NAMES: &[Case] = &[
    case("install --yes --release Victim", 2, "helm's rule"),
    case("install --yes --release vic_tim", 2, "helm's rule"),
    case("install --yes --release ../../x", 2, "helm's rule"),
    case("install --yes --release -x", 2, "unexpected argument '-x'"),
    case(
        "install --yes --release aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        2,
        "helm allows 53",
    ),
    case("install --yes -n a.b", 2, "DNS-1123"),
    case("install --yes -n Posthog", 2, "DNS-1123"),
    case(
        "install --yes -n aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        2,
        "Kubernetes allows 63",
    ),
    case("upgrade --yes --release Victim", 2, "helm's rule"),
    case("status --release Victim", 2, "helm's rule"),
    case("history -n a_b", 2, "DNS-1123"),
    case("rollback --yes --release Victim", 2, "helm's rule"),
    case(
        "rollback 3 --yes --release absent",
        2,
        "release absent not found",
    ),
    case("history --release absent", 2, "release absent not found"),
    case("check -n a.b", 2, "DNS-1123"),
    case("install --yes --timeout banana", 2, "--timeout"),
    case("install --yes --timeout 0", 2, "shorter than a second"),
    // Rounded up these were one second, and an install ran out of time.
    case("install --yes --timeout 999ms", 2, "shorter than a second"),
    case("upgrade --yes --timeout 1ns", 2, "shorter than a second"),
    case("status --request-timeout 500ms", 2, "a request needs time"),
    case(
        "install --yes --timeout 99999999999999h",
        2,
        "longer than a week",
    ),
    case("status --request-timeout 0", 2, "a request needs time"),
    case("check --sync-timeout 0", 2, "--sync-timeout"),
    case("install --yes --answers /dev/zero", 2, "not a regular file"),
    case("status -o xml", 2, "possible values"),
    case("install --yes --version banana", 2, "improper constraint"),
    case("install --yes -f /dev/zero", 2, "not a regular file"),
    case("install --yes -f {dir}/bomb.yaml", 2, "excessive aliasing"),
    case(
        "install --yes --chart {dir}/missing-subchart",
        2,
        "helm dependency build",
    ),
];

/// The kubeconfig is read by kube-rs, whole: helmdeck checks it first, as every input.
const KUBECONFIGS: &[Case] = &[
    case("status --kubeconfig /dev/zero", 4, "not a regular file"),
    case("check --kubeconfig {dir}", 4, "not a regular file"),
    case(
        "install --yes --kubeconfig /dev/zero",
        4,
        "not a regular file",
    ),
    case(
        "history --kubeconfig {dir}/big.yaml",
        4,
        "larger than 8 MiB",
    ),
    // A /proc file says it is empty and is not: it is read, bounded, and refused (this one
    // refuses plain reads) without growing past the harness's 2 GiB address space.
    case(
        "status --kubeconfig /proc/self/pagemap",
        4,
        "cannot read the kubeconfig: /proc/self/pagemap",
    ),
    // Files a kubeconfig names are bounded too: a device, a FIFO (which would block for ever),
    // each refused naming the entry.
    case(
        "status --kubeconfig {dir}/kc-devzero-ca.yaml",
        4,
        "cluster s: certificate-authority /dev/zero",
    ),
    case(
        "status --kubeconfig {dir}/kc-fifo-ca.yaml",
        4,
        "certificate-authority",
    ),
    case(
        "check --kubeconfig {dir}/kc-devzero-token.yaml",
        4,
        "user u: tokenFile /dev/zero",
    ),
    case(
        "install --yes --kubeconfig {dir}/kc-proc-key.yaml",
        4,
        "user u: client-key /proc/self/pagemap",
    ),
];

/// Waits for `child`, polling; past `secs` it is killed and the test fails with `what()`.
fn finish_within(
    child: &mut std::process::Child,
    secs: u64,
    what: impl Fn() -> String,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not finish within {secs} s: {}", what());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs helmdeck with a 2 GiB address-space limit and a deadline; returns (code, output).
fn run(sim: &Sim, dir: &Path, args: &str) -> (i32, String, Duration) {
    let words: Vec<String> = args
        .split(' ')
        .map(|w| w.replace("{dir}", dir.to_str().unwrap()))
        .collect();
    // HELMDECK_CORPUS_BIN runs the corpus against another build (an older one, to see which
    // cases it fails).
    let bin = std::env::var_os("HELMDECK_CORPUS_BIN").map(PathBuf::from);
    let mut cmd = sim.cmd(bin.as_deref().unwrap_or(common::helmdeck_bin()));
    cmd.args(&words)
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 2 << 30,
                rlim_max: 2 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run helmdeck");
    // A case that hangs is one wrong case among the rest, not the end of the run.
    let deadline = started + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (-1, "did not finish within 60 s".into(), started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    (code, text, took)
}

fn check_all(sim: &Sim, dir: &Path, cases: &[Case]) -> Vec<String> {
    let mut wrong = Vec::new();
    for c in cases {
        let (code, text, took) = run(sim, dir, &c.args);
        let mut why = Vec::new();
        if code != c.code {
            why.push(format!("exit {code}, want {}", c.code));
        }
        if !text.contains(c.says.as_ref()) {
            why.push(format!("no {:?} in the output", c.says));
        }
        if let Some(s) = &c.never
            && text.contains(s.as_ref())
        {
            why.push(format!("printed the secret {s:?}"));
        }
        if text.contains("panicked") || text.contains("memory allocation") {
            why.push("crashed".into());
        }
        eprintln!(
            "{:>6} ms  exit {code}  peak {:>5} MiB  {}",
            took.as_millis(),
            children_peak_mib(),
            c.args
        );
        if !why.is_empty() {
            wrong.push(format!("helmdeck {}: {}\n{text}", c.args, why.join("; ")));
        }
    }
    wrong
}

/// The largest resident set of any child process waited for so far (an upper bound: Linux
/// carries this test process's own peak at fork into each child's count).
fn children_peak_mib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss / 1024
    }
}

#[test]
fn bad_input_is_refused_with_its_exit_code_and_reason_and_nothing_is_applied() {
    let sim = Sim::start(SimOptions::default());
    let dir: PathBuf = sim.home.path().join("cases");
    std::fs::create_dir_all(&dir).unwrap();
    files(&dir);
    let namespaces_before = sim.run(&common::kubectl(), &["get", "ns", "-o", "name"]);
    let more = families(&dir);
    let mut wrong = check_all(&sim, &dir, RENDER);
    wrong.extend(check_all(&sim, &dir, NAMES));
    wrong.extend(check_all(&sim, &dir, KUBECONFIGS));
    wrong.extend(check_all(&sim, &dir, &more));
    // The largest resident set of any process this test has waited for: the worst case's
    // (or kubectl's), for the closing note and a bound of its own.
    let peak_mib = children_peak_mib();
    let all = RENDER.len() + NAMES.len() + KUBECONFIGS.len() + more.len();
    eprintln!(
        "{all} cases ({} render, {} names, {} kubeconfigs, {} in families); peak resident set of any case: at most {peak_mib} MiB",
        RENDER.len(),
        NAMES.len(),
        KUBECONFIGS.len(),
        more.len()
    );
    eprintln!("{} of {all} cases wrong", wrong.len());
    for w in &wrong {
        eprintln!("wrong: {}", w.lines().next().unwrap_or_default());
    }
    assert!(peak_mib < 1024, "a case grew to {peak_mib} MiB");
    assert!(
        wrong.is_empty(),
        "{} of {all} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n---\n")
    );
    // Nothing reached the cluster: no release stored, no namespace made.
    assert!(common::release_secrets(&sim, "posthog").is_empty());
    assert_eq!(
        sim.run(&common::kubectl(), &["get", "ns", "-o", "name"]),
        namespaces_before
    );
}

#[test]
fn a_broken_user_profile_is_named_by_every_command_that_loads_profiles() {
    let sim = Sim::start(SimOptions::default());
    let profiles = sim.home.path().join("helmdeck-config/profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let dir = sim.home.path().join("cases");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text, says) in [
        ("bomb.yaml", laughs(9, 9), "excessive aliasing"),
        (
            "banana.yaml",
            std::fs::read_to_string(common::root().join("profiles/local.yaml"))
                .unwrap()
                .replace("name: local", "name: banana")
                .replace(">=1.23.0 <1.36.0", "banana"),
            "kubernetes.versions",
        ),
    ] {
        let file = profiles.join(name);
        std::fs::write(&file, &text).unwrap();
        for args in ["profiles list", "render --profile local"] {
            let (code, out, _) = run(&sim, &dir, args);
            assert_eq!(code, 2, "{args} with {name}:\n{out}");
            assert!(out.contains(says) && out.contains(name), "{args}:\n{out}");
        }
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn a_server_that_never_answers_gives_exit_4_within_the_request_timeout() {
    // Accepts connections and never answers, as a stopped process or a dead proxy does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let sim = Sim::start(SimOptions::default());
    let kubeconfig = kubeconfig_at(&sim, port, "s");
    for (args, says) in [
        ("status", "did not answer within 2 s"),
        ("history", "did not answer within 2 s"),
        ("check --pods", "did not answer within 2 s"),
        ("check", "did not answer within 2 s"),
        ("install --yes", "did not answer within 2 s"),
        ("rollback --yes", "did not answer within 2 s"),
        // A shorter --sync-timeout bounds check, and says so.
        (
            "check --sync-timeout 1",
            "the wait was --sync-timeout's 1 s",
        ),
    ] {
        let words: Vec<&str> = args.split(' ').collect();
        let started = Instant::now();
        let o = sim
            .cmd(common::helmdeck_bin())
            .args(&words)
            .env("KUBECONFIG", &kubeconfig)
            .env("HELMDECK_REQUEST_TIMEOUT", "2")
            .env("HELMDECK_HELM", helm(4))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{args}: {text}");
        assert!(text.contains(says), "{args}: {text}");
        // Bounded by the request timeout: kube-rs alone would wait for ever.
        assert!(started.elapsed() < Duration::from_secs(60), "{args}");
    }
}

#[test]
fn a_chart_repository_that_never_answers_is_given_up_on() {
    // helm pull has no timeout of its own: helmdeck stops it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let sim = Sim::start(SimOptions::default());
    let repo = format!("http://127.0.0.1:{port}");
    for (helm_major, args) in [
        (4, vec!["render", "--repo", &repo, "--version", "1.0.0"]),
        (
            3,
            vec!["install", "--yes", "--repo", &repo, "--version", "1.0.0"],
        ),
    ] {
        let started = Instant::now();
        let o = sim
            .cmd(common::helmdeck_bin())
            .args(&args)
            .env("HELMDECK_HELM", helm(helm_major))
            .env("HELMDECK_PULL_TIMEOUT", "2")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {text}");
        assert!(
            text.contains("no answer within 2 s") && text.contains("HELMDECK_PULL_TIMEOUT"),
            "{args:?}: {text}"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?}");
    }
    assert!(common::release_secrets(&sim, "posthog").is_empty());
}

/// An API server that answers `/version` and then nothing: a process that stopped between
/// two requests, as seen from the client.
fn server_silent_after_version() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                loop {
                    let mut first = String::new();
                    if reader.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        line.clear();
                    }
                    if !first.starts_with("GET /version") {
                        // Held open, never answered.
                        std::thread::park();
                        return;
                    }
                    let body = r#"{"major":"1","minor":"33","gitVersion":"v1.33.2","platform":"linux/amd64"}"#;
                    let _ = write!(
                        writer,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
        }
    });
    port
}

#[test]
fn a_server_that_stops_answering_mid_command_gives_exit_4_within_the_request_timeout() {
    let port = server_silent_after_version();
    let sim = Sim::start(SimOptions::default());
    let kubeconfig = kubeconfig_at(&sim, port, "helmdeck-sim");
    for (args, says) in [
        // helm has no request timeout: its queries get two of ours, then are stopped.
        ("status", "did not answer within 4 s"),
        ("history", "did not answer within 4 s"),
        ("plan --profile local", "did not answer within 2 s"),
        ("install --yes --profile local", "did not answer within 2 s"),
        ("upgrade --yes --profile local", "did not answer within 2 s"),
        ("rollback --yes", "did not answer within 4 s"),
        // --sync-timeout bounds a check, whatever the request timeout.
        ("check --pods --sync-timeout 4", "within 4 s"),
        ("check --disks --sync-timeout 4", "within 4 s"),
    ] {
        let mut words: Vec<&str> = args.split(' ').collect();
        if !args.starts_with("check") {
            words.extend(["--request-timeout", "2s"]);
        }
        let started = Instant::now();
        let o = sim
            .cmd(common::helmdeck_bin())
            .args(&words)
            .env("KUBECONFIG", &kubeconfig)
            .env("HELMDECK_HELM", helm(4))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{args}: {text}");
        assert!(text.contains(says), "{args}: {text}");
        assert!(started.elapsed() < Duration::from_secs(30), "{args}");
    }
}

#[test]
fn ctrl_c_while_planning_stops_at_once_with_nothing_applied() {
    // Planning waits on a server that answers its version and then nothing.
    let port = server_silent_after_version();
    let sim = Sim::start(SimOptions::default());
    let kubeconfig = kubeconfig_at(&sim, port, "helmdeck-sim");
    let log = sim.home.path().join("plan.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["install", "--yes", "--profile", "local"])
        .args(["--request-timeout", "300s"])
        .env("KUBECONFIG", &kubeconfig)
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    common::eventually(60, "planning under way", || {
        said().contains("chart: the bundled").then_some(())
    });
    let interrupted = Instant::now();
    // SAFETY: kill(2) on the child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = common::eventually(30, "helmdeck to stop", || child.try_wait().unwrap());
    assert!(interrupted.elapsed() < Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "{}", said());
    assert!(
        said().contains("interrupted while planning: nothing was applied"),
        "{}",
        said()
    );
    assert!(
        !common::files_under(sim.home.path())
            .iter()
            .any(|p| p.to_string_lossy().contains(".lock")),
        "no lock left behind"
    );
}

/// A kubeconfig for a server on 127.0.0.1:`port` whose cluster is called `cluster`
/// (`helmdeck-sim` makes plan and install take the bundled chart: no network).
fn kubeconfig_at(sim: &Sim, port: u16, cluster: &str) -> PathBuf {
    let kubeconfig = sim.home.path().join(format!("kubeconfig-{port}"));
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: {cluster}, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: {cluster}, user: u}}}}]\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    kubeconfig
}

/// The simulated cluster's kubeconfig, pointed at a [`freezable_proxy`] in front of it.
fn behind_freezable_proxy(sim: &Sim) -> (PathBuf, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let upstream: u16 = sim
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("the simulated cluster's port");
    let (port, frozen) = freezable_proxy(upstream);
    let kubeconfig = sim.home.path().join("proxied-kubeconfig");
    let original = std::fs::read_to_string(&sim.kubeconfig).unwrap();
    std::fs::write(
        &kubeconfig,
        original.replace(&format!(":{upstream}"), &format!(":{port}")),
    )
    .unwrap();
    (kubeconfig, frozen)
}

/// A TCP proxy to `upstream` that can be frozen: bytes are then read and held, as a stopped
/// process or a hung proxy holds them; thawed, they flow again.
fn freezable_proxy(upstream: u16) -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    let frozen = std::sync::Arc::new(AtomicBool::new(false));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let f = frozen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                let f = f.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        while f.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    (port, frozen)
}

#[test]
fn watchers_say_when_the_server_goes_silent_and_when_it_is_back() {
    use std::sync::atomic::Ordering;
    let sim = Sim::start(SimOptions::default());
    let (kubeconfig, frozen) = behind_freezable_proxy(&sim);
    let out = sim.home.path().join("watch.out");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args([
            "check",
            "--pods",
            "--disks",
            "--watch",
            "--interval",
            "1",
            "--request-timeout",
            "2s",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let printed = || std::fs::read_to_string(&out).unwrap_or_default();
    common::eventually(60, "a live report", || {
        printed().contains("watchers live").then_some(())
    });
    frozen.store(true, Ordering::SeqCst);
    let before = printed().len();
    // Heartbeat (5 s) plus the request timeout (2 s), with room for a slow machine.
    common::eventually(30, "the reports to say the server went silent", || {
        printed()[before..]
            .contains("the API server did not answer within 2 s")
            .then_some(())
    });
    frozen.store(false, Ordering::SeqCst);
    let after = printed().len();
    common::eventually(30, "the reports to be live again", || {
        printed()[after..].contains("watchers live").then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_server_going_silent_under_helm_is_reported_past_helms_own_deadline() {
    use std::sync::atomic::Ordering;
    let sim = Sim::start(SimOptions::default());
    let (kubeconfig, frozen) = behind_freezable_proxy(&sim);
    let log = sim.home.path().join("install.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["install", "--yes", "--profile", "local"])
        .args(["--timeout", "2s", "--request-timeout", "1s"])
        .env("KUBECONFIG", &kubeconfig)
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    common::eventually(120, "helm started", || {
        said().contains("helm started").then_some(())
    });
    frozen.store(true, Ordering::SeqCst);
    // 2 s (twice, for the rollback) and three request timeouts: 7 s, with room.
    common::eventually(40, "the overdue notice", || {
        said()
            .contains("past its own --timeout of 2 s")
            .then_some(())
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "helmdeck keeps waiting"
    );
    frozen.store(false, Ordering::SeqCst);
    let status = finish_within(&mut child, 120, said);
    assert!(
        matches!(status.code(), Some(0 | 1 | 6)),
        "an outcome from the table: {status:?}\n{}",
        said()
    );
}

#[test]
fn ctrl_c_during_an_install_lets_helm_go_on_and_twice_stops_it_with_a_rollback() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("worker".into())],
        ..Default::default()
    });
    let log = sim.home.path().join("install.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["install", "--yes", "--profile", "local"])
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let said = |what: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(what)
    };
    common::eventually(120, "helm started", || said("helm started").then_some(()));
    // helm has stored the pending release (its signal handling is set up before that).
    common::eventually(60, "the install pending", || {
        common::release_secrets(&sim, "posthog")
            .iter()
            .any(|s| s["metadata"]["labels"]["status"] == "pending-install")
            .then_some(())
    });
    // The worker is named while helm still waits, with its log lines (not 900 s later).
    common::eventually(120, "the failing worker named", || {
        said("is failing while helm waits: CrashLoopBackOff").then_some(())
    });
    let named = std::fs::read_to_string(&log).unwrap();
    assert!(named.contains("! pod posthog-worker-"), "{named}");
    assert!(named.contains("    log: "), "{named}");
    // helm waits for the crash-looping worker (900 s): the first Ctrl-C does not end that.
    // SAFETY: kill(2) on the child's pid.
    unsafe { libc::kill(pid, libc::SIGINT) };
    common::eventually(30, "the first interrupt's note", || {
        said("interrupted: helm (pid").then_some(())
    });
    assert!(child.try_wait().unwrap().is_none(), "helmdeck went on");
    assert!(
        common::release_secrets(&sim, "posthog")
            .iter()
            .all(|s| s["metadata"]["labels"]["status"] == "pending-install"),
        "helm is still installing"
    );
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = finish_within(&mut child, 120, || {
        format!(
            "helmdeck install:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("stopping: asked helm"), "{text}");
    assert!(text.contains("rolled back"), "{text}");
    assert!(
        common::release_secrets(&sim, "posthog").is_empty(),
        "{text}"
    );
    // The release lock was given back.
    let locks = sim.home.path().join("helmdeck-data/locks");
    let held: Vec<_> = common::files_under(&locks)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "lock"))
        .collect();
    assert!(held.is_empty(), "{held:?}");
}

#[test]
fn a_third_ctrl_c_kills_a_helm_that_has_not_stopped_and_says_how_to_recover() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("worker".into())],
        ..Default::default()
    });
    let log = sim.home.path().join("install.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["install", "--yes", "--profile", "local"])
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    common::eventually(60, "the install pending", || {
        common::release_secrets(&sim, "posthog")
            .iter()
            .any(|s| s["metadata"]["labels"]["status"] == "pending-install")
            .then_some(())
    });
    // SAFETY: kill(2) on the child's pid, here and below.
    unsafe { libc::kill(pid, libc::SIGINT) };
    common::eventually(30, "the first note", || {
        said().contains("interrupted: helm (pid").then_some(())
    });
    unsafe { libc::kill(pid, libc::SIGINT) };
    common::eventually(30, "the second note", || {
        said()
            .contains("Ctrl-C a third time kills helm")
            .then_some(())
    });
    // helm is rolling the install back (uninstalling, waiting for the pods to go).
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = finish_within(&mut child, 120, said);
    let text = said();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("killing helm (pid"), "{text}");
    assert!(text.contains("stopped by SIGKILL"), "{text}");
    // Whatever helm had got to, the release's state and the way back are said.
    let left = common::release_secrets(&sim, "posthog");
    if let Some(s) = left.first() {
        let state = s["metadata"]["labels"]["status"]
            .as_str()
            .unwrap_or_default();
        assert!(
            text.contains(&format!("the release is left {state}")),
            "{state}: {text}"
        );
        assert!(text.contains("helm uninstall posthog -n posthog"), "{text}");
        // status says the same, for pending-install and uninstalling alike.
        let o = sim
            .cmd(common::helmdeck_bin())
            .arg("status")
            .env("HELMDECK_HELM", helm(4))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(5), "{state}: {out}");
        assert!(
            out.contains(&format!("stuck in {state}"))
                && out.contains("helm uninstall posthog -n posthog"),
            "{state}: {out}"
        );
        // Following the advice leaves no release behind, and an install is planned afresh.
        sim.run(&helm(4), &["uninstall", "posthog", "-n", "posthog"]);
        assert!(common::release_secrets(&sim, "posthog").is_empty());
        let o = common::helmdeck_on(&sim, &helm(4), &["plan", "--profile", "local"]);
        assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
        assert!(
            common::text(&o).contains("plan complete"),
            "{}",
            common::text(&o)
        );
    }
}

#[test]
fn ctrl_c_during_a_rollback_reaches_helmdeck_not_helm() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("worker".into())],
        ..Default::default()
    });
    // Two revisions deployed without waiting; rolling back waits for the crash-looping worker.
    common::install_stand_in(&sim, "local", &[]);
    let chart = common::root().join("assets/charts/posthog-mini");
    sim.run(
        &helm(4),
        &[
            "upgrade",
            "posthog",
            chart.to_str().unwrap(),
            "-n",
            "posthog",
            "--reuse-values",
            "--set",
            "web.replicas=2",
        ],
    );
    let log = sim.home.path().join("rollback.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["rollback", "--yes"])
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    common::eventually(60, "the rollback pending", || {
        common::release_secrets(&sim, "posthog")
            .iter()
            .any(|s| s["metadata"]["labels"]["status"] == "pending-rollback")
            .then_some(())
    });
    // SAFETY: kill(2) on the child's pid, here and below.
    unsafe { libc::kill(pid, libc::SIGINT) };
    common::eventually(30, "the first note", || {
        said().contains("interrupted: helm (pid").then_some(())
    });
    assert!(child.try_wait().unwrap().is_none(), "helmdeck went on");
    assert!(
        common::release_secrets(&sim, "posthog")
            .iter()
            .any(|s| s["metadata"]["labels"]["status"] == "pending-rollback"),
        "helm is still rolling back: {}",
        said()
    );
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = finish_within(&mut child, 120, said);
    let text = said();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("stopping: asked helm"), "{text}");
    // helm has no undo for a rollback: the release is left pending, and the way on is said.
    assert!(
        text.contains("the release is left pending-rollback")
            && text.contains("helmdeck rollback 1 --release posthog -n posthog"),
        "{text}"
    );
    let locks = sim.home.path().join("helmdeck-data/locks");
    assert!(
        !common::files_under(&locks)
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "lock")),
        "the lock was given back"
    );
}

#[test]
fn helm_killed_mid_upgrade_is_reported_with_the_release_left_pending_and_the_way_back() {
    let sim = Sim::start(SimOptions {
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("decide".into())],
        ..Default::default()
    });
    // The upgrade below turns on decide, whose pods crash-loop: helm waits for them until it
    // is killed. Without the migrate Job: its per-revision name makes helm's rollback of a
    // half-applied upgrade fail on any cluster.
    common::install_stand_in(&sim, "local", &["--set", "migrate.enabled=false"]);
    let log = sim.home.path().join("upgrade.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args([
            "upgrade",
            "--yes",
            "--profile",
            "local",
            "--set",
            "decide.enabled=true",
        ])
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let helm_pid: i32 = common::eventually(120, "helm's pid", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let rest = text.split("helm started (pid ").nth(1)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    });
    common::eventually(60, "the upgrade pending", || {
        common::release_secrets(&sim, "posthog")
            .iter()
            .any(|s| s["metadata"]["labels"]["status"] == "pending-upgrade")
            .then_some(())
    });
    // SAFETY: kill(2) on helm's pid, as an OOM killer or a lost CI runner would.
    unsafe { libc::kill(helm_pid, libc::SIGKILL) };
    let status = common::eventually(60, "helmdeck to finish", || child.try_wait().unwrap());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("SIGKILL"), "{text}");
    assert!(
        text.contains("the release is left pending-upgrade (revision 2)"),
        "{text}"
    );
    let advice = "`helmdeck rollback 1 --release posthog -n posthog`";
    assert!(text.contains(advice), "{text}");
    // Following the advice gets the release back to revision 1's state, deployed, and helm
    // takes the next upgrade.
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &[
            "rollback",
            "1",
            "--release",
            "posthog",
            "-n",
            "posthog",
            "--yes",
            "--timeout",
            "120",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let o = common::helmdeck_on(&sim, &helm(4), &["status", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["current"]["status"], "deployed", "{v}");
    assert_eq!(v["current"]["revision"], 3, "{v}");
    assert!(
        sim.objects("apps", "deployments", Some("posthog"))
            .iter()
            .all(|d| !d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .ends_with("-decide")),
        "decide is gone with revision 2"
    );
    let o = common::helmdeck_on(
        &sim,
        &helm(4),
        &[
            "upgrade",
            "--yes",
            "--profile",
            "local",
            "--set",
            "web.replicas=2",
            "--timeout",
            "120",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
}

/// The API server goes away while helm waits on an install: helm's last words are about its
/// wait, but the failure is the cluster's, so helmdeck exits 4 with that reason, and gives
/// no advice about pods it cannot see.
#[test]
fn an_api_server_that_stops_answering_mid_install_exits_4_with_the_reason() {
    let sim = Sim::start(SimOptions {
        // The worker never gets ready, so helm is still waiting when the server goes.
        scenarios: vec![helmdeck_sim::Scenario::Crashloop("worker".into())],
        ..Default::default()
    });
    let log = sim.home.path().join("install.log");
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["install", "--yes", "--profile", "local", "--timeout", "20"])
        .env("HELMDECK_HELM", helm(4))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Every object applied (the ingress is the last helm sends) and pods running: helm waits.
    common::eventually(120, "helm waiting", || {
        let applied = !sim
            .objects("networking.k8s.io", "ingresses", Some("posthog"))
            .is_empty();
        let pods = sim.objects("", "pods", Some("posthog"));
        (applied && !pods.is_empty()).then_some(())
    });
    sim.restart_api(Duration::from_secs(3600));
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    let status = finish_within(&mut child, 300, said);
    let text = said();
    assert_eq!(status.code(), Some(4), "{text}");
    assert!(
        text.contains("the cluster stopped answering while helm ran"),
        "{text}"
    );
    assert!(
        text.contains("helmdeck status --release posthog -n posthog"),
        "{text}"
    );
    assert!(!text.contains("check pods that are Pending"), "{text}");
    // The audit log says the same.
    let audit = std::fs::read_to_string(sim.home.path().join("helmdeck-data/audit.jsonl"))
        .unwrap_or_default();
    assert!(audit.contains("\"outcome\":\"unreachable\""), "{audit}");
}

/// Values nested 6,000 levels deep (helm accepts up to 10,000) go through `render`, `plan`,
/// `install` and `upgrade` (which reads them back from helm) without overflowing a stack;
/// past the parser's limit `render` refuses the file with exit 2, as helm does.
#[test]
fn values_nested_as_deep_as_helm_accepts_install_and_upgrade() {
    let sim = Sim::start(SimOptions::default());
    let deep = sim.home.path().join("deep.yaml");
    std::fs::write(&deep, format!("a:\n{}x\n", "- ".repeat(6000))).unwrap();
    let too_deep = sim.home.path().join("too-deep.yaml");
    std::fs::write(&too_deep, format!("a:\n{}x\n", "- ".repeat(10_001))).unwrap();
    let run = |args: &[&str]| {
        let o = common::helmdeck_on(&sim, &helm(4), args);
        (o.status.code(), common::text(&o))
    };
    let deep = deep.to_str().unwrap();
    let base = [
        "--profile",
        "local",
        "--set",
        "ingress.hostname=",
        "-f",
        deep,
    ];
    for verb in [
        &["render"][..],
        &["plan"],
        &["install", "--yes", "--no-verify"],
    ] {
        let mut args = verb.to_vec();
        args.extend(base);
        let (code, t) = run(&args);
        assert_eq!(code, Some(0), "{verb:?}: {t}");
    }
    let mut args = vec![
        "upgrade",
        "--yes",
        "--no-verify",
        "--set",
        "web.replicacount=2",
    ];
    args.extend(base);
    let (code, t) = run(&args);
    assert_eq!(code, Some(0), "upgrade: {t}");
    assert!(t.contains("done: revision 2 deployed"), "{t}");
    let (code, t) = run(&[
        "render",
        "--profile",
        "local",
        "-f",
        too_deep.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{t}");
    assert!(t.contains("exceeded max depth of 10000"), "{t}");
}

/// A kubeconfig exec plugin that never returns: kube-rs waits for it without a bound, so the
/// command would hang. It is given the request timeout, then stopped, and the command ends with
/// exit 4 naming the plugin.
#[test]
fn an_exec_plugin_that_never_returns_is_stopped_at_the_request_timeout() {
    let sim = Sim::start(SimOptions::default());
    let kc = sim.home.path().join("exec-kubeconfig");
    // A duration no other test sleeps for, to find the plugin afterwards.
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: s\n  cluster: {server: 'http://127.0.0.1:9'}\ncontexts:\n- name: c\n  context: {cluster: s, user: u}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: sleep\n      args: ['3607']\n      interactiveMode: Never\n",
    )
    .unwrap();
    let mut child = sim
        .cmd(common::helmdeck_bin())
        .args(["status", "--request-timeout", "2s", "--kubeconfig"])
        .arg(&kc)
        .env("HELMDECK_HELM", helm(4))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = finish_within(&mut child, 60, || {
        "status with a hanging exec plugin".into()
    });
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(status.code(), Some(4), "{text}");
    assert!(
        text.contains("exec plugin sleep did not finish within 2 s and was stopped"),
        "{text}"
    );
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.starts_with("sleep 3607"))
        .collect();
    assert!(left.is_empty(), "the plugin is still running: {left:?}");
}
