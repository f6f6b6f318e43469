//! Inputs shared by the render benchmarks.
#![allow(dead_code)]

use std::fmt::Write as _;

/// A values file of about `lines` lines: nested components with resources, env lists and
/// annotations, like a large real override file.
pub fn big_values(lines: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.lines().count() < lines {
        let _ = write!(
            s,
            "component{i}:\n  enabled: true\n  replicacount: {i}\n  image:\n    repository: example/app{i}\n    tag: \"1.{i}.0\"\n  resources:\n    requests: {{cpu: {i}00m, memory: {i}Mi}}\n    limits: {{cpu: \"2\", memory: 2Gi}}\n  env:\n    - name: A{i}\n      value: \"x\"\n    - name: B{i}\n      value: \"y\"\n  annotations:\n    example.com/a{i}: \"1\"\n    example.com/b{i}: \"2\"\n  password: secret{i}\n  nested:\n    deep:\n      deeper:\n        value: {i}\n        flag: yes\n"
        );
        i += 1;
    }
    s
}

/// Starts `helmdeck sim` with these extra flags, writing its kubeconfig there; returns the
/// process and the server URL once it serves.
pub fn start_sim(extra: &[&str], kubeconfig: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_helmdeck"))
        .args(["sim", "--port", "0"])
        .args(extra)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start helmdeck sim");
    let out = sim.stdout.take().expect("stdout");
    let url = std::io::BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("server: ").map(str::to_string))
        .expect("server address");
    (sim, url)
}
