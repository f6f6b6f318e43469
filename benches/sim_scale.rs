//! The simulated API server at scale: list 10,000 pods, stream 10,000 watch events, and the
//! server's peak memory, which is why it runs as its own process (`helmdeck sim`) here rather
//! than through the test kit. Run: `cargo bench --bench sim_scale`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PODS: usize = 10_000;

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
    let dir = std::env::temp_dir().join(format!("helmdeck-simbench-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_helmdeck"))
        .args([
            "sim",
            "--port",
            "0",
            "--scenario",
            &format!("scale:10:{PODS}"),
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
        assert!(body.len() > PODS * 100, "short list");
        list_times.push(t);
    }
    list_times.sort();
    let list_median = list_times[list_times.len() / 2];

    // A watch from resourceVersion 0 streams every pod as an ADDED event.
    let mut s = TcpStream::connect(&addr).expect("connect");
    let t = Instant::now();
    write!(s, "GET /api/v1/pods?watch=true&resourceVersion=0&timeoutSeconds=60 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
    let mut reader = BufReader::new(s);
    let mut events = 0;
    let mut line = String::new();
    while events < PODS {
        line.clear();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if line.contains("\"type\":\"ADDED\"") {
            events += 1;
        }
    }
    let watch_time = t.elapsed();
    assert_eq!(events, PODS);
    let peak = rss_peak_kb(child.id());
    println!(
        "list {PODS} pods:        median {:.1} ms over 7 runs",
        list_median.as_secs_f64() * 1e3
    );
    println!(
        "watch {PODS} events:     {:.1} ms = {:.0} events/s",
        watch_time.as_secs_f64() * 1e3,
        PODS as f64 / watch_time.as_secs_f64()
    );
    println!("server peak RSS:      {:.1} MB", peak as f64 / 1024.0);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
