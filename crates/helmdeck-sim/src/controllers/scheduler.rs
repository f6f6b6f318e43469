//! The scheduler: pending pods placed on a node with room for their requests.

use super::*;

/// A quantity in whole units (cores, bytes) for the scheduler's sums.
fn units(q: &str) -> Option<f64> {
    crate::quantity::milli(q).map(|m| m as f64 / 1000.0)
}

fn requests(pod: &Value) -> (f64, f64) {
    let mut cpu = 0.0;
    let mut mem = 0.0;
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let r = &c["resources"]["requests"];
        cpu += r["cpu"].as_str().and_then(units).unwrap_or(0.0);
        mem += r["memory"].as_str().and_then(units).unwrap_or(0.0);
    }
    (cpu, mem)
}

pub(super) fn schedule(store: &mut Store, cs: &mut ControllerState) {
    let pods_gr = gr("", "pods");
    let at = stamp(store, &[pods_gr.clone(), gr("", "nodes")]);
    if cs.quiet("scheduler", at) {
        return;
    }
    let pending: Vec<Value> = store
        .iter_gr(&pods_gr, None)
        .filter(|p| p["spec"]["nodeName"].is_null() || p["spec"]["nodeName"] == "")
        .map(std::borrow::Cow::into_owned)
        .collect();
    cs.settle("scheduler", at, pending.is_empty());
    if pending.is_empty() {
        return;
    }
    let nodes: Vec<Value> = store
        .iter_gr(&gr("", "nodes"), None)
        .map(std::borrow::Cow::into_owned)
        .collect();
    let mut used: HashMap<String, (f64, f64)> = HashMap::new();
    for p in store.iter_gr(&pods_gr, None) {
        if let Some(n) = p["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())
            && !is_terminal(&p)
        {
            let (c, m) = requests(&p);
            let e = used.entry(n.to_string()).or_default();
            e.0 += c;
            e.1 += m;
        }
    }
    for pod in pending {
        let (ns, name) = (ns_of(&pod), name_of(&pod));
        let (cpu, mem) = requests(&pod);
        let mut fits = Vec::new();
        let (mut no_cpu, mut no_mem) = (0, 0);
        for n in &nodes {
            if n["spec"]["unschedulable"] == true {
                continue;
            }
            let alloc = &n["status"]["allocatable"];
            let acpu = alloc["cpu"].as_str().and_then(units).unwrap_or(0.0);
            let amem = alloc["memory"].as_str().and_then(units).unwrap_or(0.0);
            let u = used.get(&name_of(n)).copied().unwrap_or_default();
            let cpu_ok = u.0 + cpu <= acpu + 1e-9;
            let mem_ok = u.1 + mem <= amem + 1.0;
            if !cpu_ok {
                no_cpu += 1;
            }
            if !mem_ok {
                no_mem += 1;
            }
            if cpu_ok && mem_ok {
                fits.push((name_of(n), acpu - u.0));
            }
        }
        // Least-allocated first, like the default scoring.
        fits.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        match fits.first() {
            Some((node, _)) => {
                let e = used.entry(node.clone()).or_default();
                e.0 += cpu;
                e.1 += mem;
                let mut p = pod.clone();
                p["spec"]["nodeName"] = json!(node);
                let p = store.put_raw(&pods_gr, &ns, &name, p);
                let mut st = p["status"].clone();
                st["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}]);
                store.set_status(&pods_gr, &ns, &name, st);
                store.record_event(
                    &p,
                    "Normal",
                    "Scheduled",
                    &format!("Successfully assigned {ns}/{name} to {node}"),
                );
                cs.clocks.insert(
                    uid_of(&p),
                    PodClock {
                        scheduled: Instant::now(),
                        running: None,
                        last_crash: None,
                    },
                );
            }
            None => {
                let key = format!("unsched/{}", uid_of(&pod));
                let mut reasons = Vec::new();
                if no_cpu > 0 {
                    reasons.push(format!("{no_cpu} Insufficient cpu"));
                }
                if no_mem > 0 {
                    reasons.push(format!("{no_mem} Insufficient memory"));
                }
                let msg = format!(
                    "0/{} nodes are available: {}. preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
                    nodes.len(),
                    reasons.join(", "),
                    nodes.len(),
                    nodes.len()
                );
                if cs.warned.insert(key) {
                    let mut st = pod["status"].clone();
                    st["phase"] = json!("Pending");
                    st["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg, "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}]);
                    store.set_status(&pods_gr, &ns, &name, st);
                    store.record_event(&pod, "Warning", "FailedScheduling", &msg);
                }
            }
        }
    }
}
