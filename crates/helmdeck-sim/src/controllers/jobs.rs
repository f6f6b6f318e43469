//! The Job controller: pods run to completion, retried up to the backoff limit.

use super::*;

pub(super) fn jobs(store: &mut Store) {
    let job_gr = gr("batch", "jobs");
    for j in list(store, &job_gr) {
        let (ns, name, uid) = (ns_of(&j), name_of(&j), uid_of(&j));
        let conds = j["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let finished = conds
            .iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True");
        if finished || j["spec"]["suspend"] == true {
            continue;
        }
        let completions = j["spec"]["completions"].as_i64().unwrap_or(1);
        let parallelism = j["spec"]["parallelism"].as_i64().unwrap_or(1);
        let backoff = j["spec"]["backoffLimit"].as_i64().unwrap_or(6);
        let pods = pods_owned(store, &ns, &uid);
        let succeeded = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .count() as i64;
        let failed = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Failed")
            .count() as i64;
        let active = pods.iter().filter(|p| !is_terminal(p)).count() as i64;
        let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
        let start = j["status"]["startTime"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(now_rfc3339);
        let now = now_rfc3339();
        let mut status = json!({"startTime": start, "active": active, "succeeded": succeeded, "failed": failed,
                                "ready": ready, "terminating": 0, "uncountedTerminatedPods": {}});
        if succeeded >= completions {
            status["completionTime"] = json!(now);
            status["active"] = json!(0);
            status["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
            ]);
            store.record_event(&j, "Normal", "Completed", "Job completed");
            // What the job's program made, for the well-known helpers charts run as hooks.
            for (manager, out) in crate::workload::job_outputs(&j) {
                if let Some(t) = store.type_for_kind("v1", "Secret") {
                    let opts = WriteOpts {
                        field_manager: Some(manager.into()),
                        ..Default::default()
                    };
                    let _ = store.create(&t, &ns, out, &opts);
                }
            }
        } else if failed > backoff {
            status["active"] = json!(0);
            status["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
            ]);
            for p in pods.iter().filter(|p| !is_terminal(p)) {
                store.delete_system(("v1", "Pod"), &ns, &name_of(p));
            }
            store.record_event(
                &j,
                "Warning",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            );
        } else if active < parallelism && succeeded + active < completions {
            let pod_name = format!(
                "{name}-{}",
                suffix(
                    &uid,
                    (succeeded + failed + active) as u64 + store.current_rv()
                )
            );
            let pod = new_pod_from_template(&j, &j["spec"]["template"], pod_name.clone(), &ns);
            if store.create_system(("v1", "Pod"), &ns, pod).is_ok() {
                store.record_event(
                    &j,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {pod_name}"),
                );
                status["active"] = json!(active + 1);
            }
        }
        store.set_status(&job_gr, &ns, &name, status);
    }
}
