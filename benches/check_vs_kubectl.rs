//! `helmdeck check --pods -A` against `kubectl get pods -A` on the same simulated cluster with
//! 10,000 pods, run alternately in one process: wall time and peak RSS of each.
//! Run: `cargo bench --bench check_vs_kubectl` (RUNS=N to change the count).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helmdeck_sim::testkit::Sim;
use helmdeck_sim::{Scenario, SimOptions};

const PODS: usize = 10_000;

#[allow(clippy::zombie_processes)]
/// Runs a command to completion; returns its wall time, peak RSS (KiB) and exit status.
fn measure(cmd: &mut Command) -> (Duration, u64, i32) {
    let t = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, and the pid is our own child, waited for once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Reaped by wait4 above; forget the handle so nothing waits twice.
    std::mem::forget(child);
    (t.elapsed(), usage.ru_maxrss as u64, code)
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let helmdeck = PathBuf::from(env!("CARGO_BIN_EXE_helmdeck"));
    let kubectl = root.join(".tools/bin/kubectl");
    assert!(kubectl.is_file(), "run scripts/get-helm first");
    let dir = std::env::temp_dir().join(format!("helmdeck-checkbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sim = Sim::start(SimOptions {
        kubeconfig: Some(dir.join("kubeconfig")),
        scenarios: vec![Scenario::Scale {
            namespaces: 10,
            pods: PODS,
        }],
        ..Default::default()
    });
    let kubeconfig = sim.kubeconfig.clone();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let env = |c: &mut Command| {
        c.env("KUBECONFIG", &kubeconfig)
            .env("HOME", &dir)
            .env("HELMDECK_DATA_DIR", dir.join("data"));
    };
    // Wait until kubectl gets an answer, which also warms its discovery cache.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut c = Command::new(&kubectl);
        c.args(["get", "pods", "-A"]);
        env(&mut c);
        if measure(&mut c).2 == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the simulated cluster never answered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Then one more warm-up round each (page cache).
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..=runs {
        let mut c = Command::new(&helmdeck);
        c.args(["check", "--pods", "-A", "-o", "json"]);
        env(&mut c);
        let a = measure(&mut c);
        let mut c = Command::new(&kubectl);
        c.args(["get", "pods", "-A"]);
        env(&mut c);
        let b = measure(&mut c);
        assert_eq!(b.2, 0, "kubectl failed");
        assert!(
            a.2 == 0 || a.2 == 1,
            "helmdeck check failed to run: {}",
            a.2
        );
        if i > 0 {
            ours.push(a);
            theirs.push(b);
        }
    }
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
    let (ot, or) = (
        median(ours.iter().map(|r| r.0).collect()),
        ours.iter().map(|r| r.1).max().unwrap_or(0),
    );
    let (tt, tr) = (
        median(theirs.iter().map(|r| r.0).collect()),
        theirs.iter().map(|r| r.1).max().unwrap_or(0),
    );
    println!("{PODS} pods, {runs} runs each, alternating");
    println!(
        "helmdeck check --pods -A : median {:>8.1} ms, peak RSS {:>6.1} MiB",
        ot.as_secs_f64() * 1e3,
        or as f64 / 1024.0
    );
    println!(
        "kubectl get pods -A      : median {:>8.1} ms, peak RSS {:>6.1} MiB",
        tt.as_secs_f64() * 1e3,
        tr as f64 / 1024.0
    );
    println!(
        "wall-time ratio helmdeck/kubectl: {:.2}",
        ot.as_secs_f64() / tt.as_secs_f64()
    );
}
