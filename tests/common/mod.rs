//! Shared helpers for integration tests: the real helm and kubectl binaries and private homes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[allow(unused_imports)]
pub use helmdeck_sim::testkit::{Sim, isolated};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real helm of the given major from `.tools/bin` (put there by scripts/get-helm), or from
/// `HELMDECK_HELM3` / `HELMDECK_HELM4`. Tests fail, not skip, when it is missing: CI installs it.
pub fn helm(major: u8) -> PathBuf {
    let var = format!("HELMDECK_HELM{major}");
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    let p = root().join(format!(".tools/bin/helm{major}"));
    assert!(
        p.is_file(),
        "{} is missing: run scripts/get-helm (or set {var})",
        p.display()
    );
    p
}

pub fn kubectl() -> PathBuf {
    let p = root().join(".tools/bin/kubectl");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/get-helm",
        p.display()
    );
    p
}

/// Writes a file, creating parent directories.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Packs a chart directory into a .tgz the way `helm package` lays it out.
pub fn pack(dir: &Path, name: &str, dest: &Path) {
    let file = std::fs::File::create(dest).expect("create tgz");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(name, dir).expect("append");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gz");
}

/// Numbers compared by value (Helm holds float64), everything else exactly.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Polls `f` until it returns Some, failing after `secs` seconds.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// The values the local profile sets, as a file helm can read.
pub fn profile_values(dir: &Path, profile: &str) -> PathBuf {
    let set = helmdeck::profile::ProfileSet::load(None).expect("profiles");
    let p = set.get(profile).expect("profile");
    let f = dir.join(format!("{profile}-values.json"));
    std::fs::write(&f, serde_json::Value::Object(p.values.clone()).to_string()).expect("write");
    f
}

/// The helmdeck binary cargo built for these tests.
pub fn helmdeck_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_helmdeck"))
}

/// Runs helmdeck against a simulated cluster with the given helm.
pub fn helmdeck_on(sim: &Sim, helm_bin: &Path, args: &[&str]) -> std::process::Output {
    sim.cmd(helmdeck_bin())
        .env("HELMDECK_HELM", helm_bin)
        .args(args)
        .output()
        .expect("run helmdeck")
}

/// A finished command's stderr.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A finished command's stdout and stderr together, for messages and searches.
pub fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o))
}

/// The release storage Secrets helm wrote in a namespace: one per revision.
pub fn release_secrets(sim: &Sim, ns: &str) -> Vec<serde_json::Value> {
    sim.objects("", "secrets", Some(ns))
        .into_iter()
        .filter(|s| s["type"] == "helm.sh/release.v1")
        .collect()
}

/// A folder of `../shared/charts` (the real charts tests install, never copied into the
/// project). Missing: the test is skipped, except under CI (`CI=true`), where it fails.
pub fn shared_charts(sub: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/charts").join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{} is missing (CI=true: the chart corpus must be there)",
        dir.display()
    );
    eprintln!("skipped: no chart corpus at {}", dir.display());
    None
}

/// A chart repository on 127.0.0.1: the packaged charts of `charts` (linked, not copied, into
/// a folder), an `index.yaml` written by `helm repo index`, served over HTTP until the
/// returned folder is dropped. Returns the folder and the repository URL.
pub fn chart_repo(charts: &Path) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for e in std::fs::read_dir(charts).expect("charts folder").flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "tgz") {
            std::os::unix::fs::symlink(&p, dir.path().join(e.file_name())).expect("link");
        }
    }
    let o = std::process::Command::new(helm(4))
        .args(["repo", "index"])
        .arg(dir.path())
        .output()
        .expect("helm repo index");
    assert!(o.status.success(), "{}", text(&o));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let root = dir.path().to_path_buf();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || serve_file(conn, &root));
        }
    });
    (dir, url)
}

fn serve_file(mut conn: std::net::TcpStream, root: &Path) {
    use std::io::{BufRead, Write};
    let mut reader = std::io::BufReader::new(conn.try_clone().expect("clone"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let name = request
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_string();
    let file = (!name.contains('/') && !name.contains(".."))
        .then(|| std::fs::read(root.join(&name)).ok())
        .flatten();
    let _ = match file {
        Some(body) => conn
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|_| conn.write_all(&body)),
        None => conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

/// Installs posthog-mini with a profile's values and no waiting, as `helm install` would.
pub fn install_stand_in(sim: &Sim, profile: &str, extra: &[&str]) {
    // What helmdeck applies before the chart: the profile's own objects (its StorageClass).
    let set = helmdeck::profile::ProfileSet::load(None).expect("profiles");
    let objects = &set.get(profile).expect("profile").objects;
    if !objects.is_empty() {
        let file = sim.home.path().join(format!("{profile}-objects.yaml"));
        let docs: Vec<String> = objects
            .iter()
            .map(|o| serde_yaml::to_string(o).expect("yaml"))
            .collect();
        write(&file, &docs.join("---\n"));
        sim.run(
            &kubectl(),
            &["apply", "--server-side", "-f", file.to_str().unwrap()],
        );
    }
    let values = profile_values(sim.home.path(), profile);
    let chart = root().join("assets/charts/posthog-mini");
    let mut args = vec![
        "install",
        "posthog",
        chart.to_str().unwrap(),
        "-n",
        "posthog",
        "--create-namespace",
        "-f",
        values.to_str().unwrap(),
        "--set",
        "ingress.hostname=ph.example.com",
    ];
    args.extend_from_slice(extra);
    sim.run(&helm(4), &args);
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The app as `helmdeck` starts it on the simulated cluster, judging with `profile`, for tests
/// that drive it with keys and messages.
pub fn app_on_sim(
    profile: &str,
    scope: &str,
    now: std::time::SystemTime,
) -> helmdeck::tui::app::App {
    let profiles: Vec<_> = helmdeck::profile::ProfileSet::load(None)
        .expect("profiles")
        .iter()
        .cloned()
        .collect();
    helmdeck::tui::app::App::new(
        helmdeck::tui::app::Options {
            context: "helmdeck-sim".into(),
            namespace: "posthog".into(),
            release: "posthog".into(),
            readonly: false,
            profile: Some(profile.into()),
            helm: Ok("v4.1.4".into()),
            no_color: true,
            log_file: None,
            tls_unverified: false,
            simulated: true,
            scope: scope.into(),
        },
        profiles,
        now,
    )
}

/// The vendor's chart at `version` from the repository at `url`, installed as posthog with the
/// aws profile (and the hostname it asks for), waited for and verified.
pub fn install_vendor_chart(sim: &Sim, url: &str, version: &str) {
    let answers = sim.home.path().join("answers.yaml");
    write(&answers, "ingress.hostname: posthog.example.com\n");
    let o = helmdeck_on(
        sim,
        &helm(4),
        &[
            "install",
            "--profile",
            "aws",
            "--repo",
            url,
            "--version",
            version,
            "--answers",
            answers.to_str().expect("utf-8"),
            "--yes",
            "--timeout",
            "5m",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// A kubeconfig (in the cluster's home) with three contexts: `live` (this cluster, current),
/// `refused` (the returned port, where nobody listens) and `silent` (the returned listener,
/// which accepts and never answers while it is kept).
pub fn live_refused_and_silent_contexts(sim: &Sim) -> (PathBuf, u16, std::net::TcpListener) {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let kubeconfig = sim.home.path().join("many-contexts");
    let cluster =
        |name: &str, url: &str| format!("- name: {name}\n  cluster:\n    server: {url}\n");
    let context =
        |name: &str| format!("- name: {name}\n  context:\n    cluster: {name}\n    user: u\n");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n{}{}{}users:\n- name: u\n  user:\n    token: t\ncontexts:\n{}{}{}current-context: live\n",
            cluster("live", &sim.url),
            cluster("refused", &format!("http://127.0.0.1:{refused}")),
            cluster("silent", &format!("http://127.0.0.1:{silent_port}")),
            context("live"),
            context("refused"),
            context("silent"),
        ),
    )
    .unwrap();
    (kubeconfig, refused, silent)
}

/// A two-worker runtime for tests that drive kube-rs themselves.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A kube-rs client for the simulated cluster, from its kubeconfig.
pub async fn kube_client(sim: &Sim) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(&sim.kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

/// `kubectl port-forward ARGS` on the simulated cluster, once it says where it listens (within
/// a minute): the process, to kill when done, and the local port.
#[allow(dead_code)]
pub fn port_forward(sim: &Sim, args: &[&str]) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut forward = sim
        .cmd(&kubectl())
        .arg("port-forward")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start kubectl port-forward");
    let stdout = forward.stdout.take().expect("its stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Read to the end: kubectl prints a line per connection, and a closed pipe would end it.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("kubectl port-forward says where it listens");
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no local port in {line:?}"));
    (forward, port)
}

/// One `GET path` to 127.0.0.1:`port`, the whole answer as text.
#[allow(dead_code)]
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}
