//! The simulated API server at scale: list 10,000 pods whole and in 500-item pages (as kubectl
//! and client-go page), stream 10,000 watch events, and the server's peak memory, which is why
//! it runs as its own process (`helmdeck sim`) here rather than through the test kit. Run:
//! `cargo bench --bench sim_scale`; `HELMDECK_BENCH_PODS=100000` for the on-call scale.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pods simulated: `HELMDECK_BENCH_PODS`, else 10,000.
fn pods() -> usize {
    std::env::var("HELMDECK_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The body of an HTTP/1.1 answer sent with `Connection: close`, chunked or not.
fn body_of(raw: &[u8]) -> Vec<u8> {
    let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return raw.to_vec();
    };
    let head = String::from_utf8_lossy(&raw[..i]).to_ascii_lowercase();
    let mut rest = &raw[i + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return rest.to_vec();
    }
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
    out
}

/// Every pod in 500-item pages: each page's time (request to last byte; the client's parsing
/// is not counted) and the pods seen.
fn paged(addr: &str) -> (Vec<Duration>, usize) {
    let mut pages = Vec::new();
    let mut seen = 0;
    let mut token = String::new();
    loop {
        let path = if token.is_empty() {
            "/api/v1/pods?limit=500".to_string()
        } else {
            format!("/api/v1/pods?limit=500&continue={token}")
        };
        let (took, raw) = get(addr, &path);
        pages.push(took);
        let v: serde_json::Value = serde_json::from_slice(&body_of(&raw)).expect("a list");
        seen += v["items"].as_array().map_or(0, Vec::len);
        match v["metadata"]["continue"].as_str() {
            Some(c) if !c.is_empty() => token = c.to_string(),
            _ => break,
        }
    }
    (pages, seen)
}

fn get(addr: &str, path: &str) -> (Duration, Vec<u8>) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n").expect("write");
    let mut body = Vec::new();
    s.read_to_end(&mut body).expect("read");
    (t.elapsed(), body)
}

fn rss_peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let pods = pods();
    let dir = std::env::temp_dir().join(format!("helmdeck-simbench-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_helmdeck"))
        .args([
            "sim",
            "--port",
            "0",
            "--scenario",
            &format!("scale:10:{pods}"),
            "--kubeconfig",
        ])
        .arg(dir.join("kubeconfig"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start helmdeck sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("server: http://").map(str::to_string))
        .expect("server address");
    let mut list_times = Vec::new();
    for _ in 0..7 {
        let (t, body) = get(&addr, "/api/v1/pods");
        assert!(body.len() > pods * 100, "short list");
        list_times.push(t);
    }
    list_times.sort();
    let list_median = list_times[list_times.len() / 2];
    let (mut pages, seen) = paged(&addr);
    let walk: Duration = pages.iter().sum();
    assert_eq!(seen, pods, "the pages hold every pod once");
    pages.sort();
    let page_median = pages[pages.len() / 2];

    // A watch from resourceVersion 0 streams every pod as an ADDED event.
    let mut s = TcpStream::connect(&addr).expect("connect");
    let t = Instant::now();
    write!(s, "GET /api/v1/pods?watch=true&resourceVersion=0&timeoutSeconds=60 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
    let mut reader = BufReader::new(s);
    let mut events = 0;
    let mut line = String::new();
    while events < pods {
        line.clear();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if line.contains("\"type\":\"ADDED\"") {
            events += 1;
        }
    }
    let watch_time = t.elapsed();
    assert_eq!(events, pods);
    let peak = rss_peak_kb(child.id());
    println!(
        "list {pods} pods:        median {:.1} ms over 7 runs",
        list_median.as_secs_f64() * 1e3
    );
    println!(
        "paged list, 500 a page: {:.1} ms for {} pages (page median {:.1} ms, slowest {:.1} ms); ratio to one unpaged list {:.2}",
        walk.as_secs_f64() * 1e3,
        pages.len(),
        page_median.as_secs_f64() * 1e3,
        pages.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        walk.as_secs_f64() / list_median.as_secs_f64()
    );
    println!(
        "watch {pods} events:     {:.1} ms = {:.0} events/s",
        watch_time.as_secs_f64() * 1e3,
        pods as f64 / watch_time.as_secs_f64()
    );
    println!("server peak RSS:      {:.1} MB", peak as f64 / 1024.0);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
