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
