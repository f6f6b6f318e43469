//! Stopping a kubeconfig exec plugin that does not finish: kube-rs starts it and waits for it,
//! so helmdeck finds it among its own child processes by name.

/// Kills this process's children whose command is `cmd` (by its file name, as the kernel
/// keeps it, first 15 bytes); how many. Only on Linux, where `/proc` lists them.
pub fn kill_children_named(cmd: &str) -> usize {
    #[cfg(target_os = "linux")]
    {
        let me = std::process::id();
        let name: String = std::path::Path::new(cmd)
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(15).collect())
            .unwrap_or_default();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let mut n = 0;
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = &stat[open + 1..close];
            let ppid = stat[close + 1..]
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(me) && comm == name {
                // SAFETY: a signal to a process this one started and still parents.
                if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                    n += 1;
                }
            }
        }
        n
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cmd;
        0
    }
}
