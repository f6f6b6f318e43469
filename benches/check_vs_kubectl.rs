//! `helmdeck check --pods -A` against `kubectl get pods -A` on the same simulated cluster with
//! 10,000 pods, run alternately: wall time and peak RSS of each (measured from a small helper
//! process, see `measure`).
//! Run: `cargo bench --bench check_vs_kubectl` (RUNS=N to change the count,
//! HELMDECK_BENCH_PODS=100000 for the on-call scale).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helmdeck_sim::testkit::Sim;
use helmdeck_sim::{Scenario, SimOptions};

/// The pods simulated: `HELMDECK_BENCH_PODS`, else 10,000.
fn pods() -> usize {
    std::env::var("HELMDECK_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[allow(clippy::zombie_processes)]
/// Runs a command to completion; returns its wall time, peak RSS (KiB) and exit status.
fn measure_here(cmd: &mut Command) -> (Duration, u64, i32) {
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

/// [`measure_here`] from a small helper process (this bench, re-run with `--child-rss`):
/// Linux carries a process's peak RSS across exec, so a command forked straight from this
/// process — which holds the 10,000-pod simulated cluster — would report this process's
/// peak as its own.
fn measure(cmd: &mut Command) -> (Duration, u64, i32) {
    let mut helper = Command::new(std::env::current_exe().expect("current exe"));
    helper
        .arg("--child-rss")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => helper.env(k, v),
            None => helper.env_remove(k),
        };
    }
    let out = helper.stderr(Stdio::inherit()).output().expect("helper");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|x| x.parse().expect("helper output"))
        .collect();
    (Duration::from_nanos(v[0]), v[1], v[2] as i32)
}

/// The helper's side: run the command, print `nanos peak_kib code`.
fn child_rss(args: &[String]) -> ! {
    let mut c = Command::new(&args[0]);
    c.args(&args[1..]);
    let (t, rss, code) = measure_here(&mut c);
    println!("{} {rss} {}", t.as_nanos(), code as u32);
    std::process::exit(0)
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child-rss") {
        child_rss(&args[i + 1..]);
    }
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
            pods: pods(),
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
    println!("{} pods, {runs} runs each, alternating", pods());
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
