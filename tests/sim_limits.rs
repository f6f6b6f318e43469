//! The simulated API server survives hostile request bodies, as a real one does: a YAML alias
//! bomb ("billion laughs"), a 100 MB body and a 40 KB request URI are refused with a Status,
//! and it keeps serving.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::Sim;
use helmdeck_sim::SimOptions;

/// Sends one request; returns the status code and the body. A server that closes the
/// connection early (after refusing an oversized body) still answers with its status line.
fn request(addr: &str, method: &str, path: &str, ct: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write head");
    // The server may refuse before reading everything: a broken pipe here is its answer.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

fn alias_bomb() -> String {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n");
    s.push_str("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
        let refs = vec![format!("*{prev}"); 9].join(",");
        s.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    s.push_str("data: {x: *i}\n");
    s
}

#[test]
fn an_alias_bomb_and_a_huge_body_are_refused_and_the_server_keeps_serving() {
    let sim = Sim::start(SimOptions::default());
    let addr = sim.url.trim_start_matches("http://").to_string();
    let path = "/api/v1/namespaces/default/configmaps/bomb?fieldManager=test";
    let (code, text) = request(
        &addr,
        "PATCH",
        path,
        "application/apply-patch+yaml",
        alias_bomb().as_bytes(),
    );
    assert!((400..500).contains(&code), "{code}: {text}");
    assert!(text.contains("\"kind\":\"Status\""), "{text}");

    let huge = vec![b' '; 100 * 1024 * 1024];
    let (code, text) = request(
        &addr,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        &huge,
    );
    assert_eq!(code, 413, "{text}");

    let long = format!(
        "/api/v1/namespaces/default/pods?labelSelector=app+in+({})",
        vec!["x"; 20_000].join(",")
    );
    let (code, text) = request(&addr, "GET", &long, "application/json", b"");
    assert_eq!(code, 414, "{text}");
    assert!(text.contains("\"kind\":\"Status\""), "{text}");

    let (code, text) = request(&addr, "GET", "/version", "application/json", b"");
    assert_eq!(code, 200, "the server still serves: {text}");
    assert!(
        sim.objects("", "configmaps", Some("default"))
            .iter()
            .all(|c| c["metadata"]["name"] != "bomb")
    );
}
