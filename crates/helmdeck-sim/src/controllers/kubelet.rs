//! The kubelet: a scheduled pod through ContainerCreating, Running and Ready on a scaled clock,
//! held back by unbound claims and missing references, failed by the scenarios.

use super::*;

fn scaled(state: &SimState, secs: f64) -> Duration {
    Duration::from_secs_f64((secs * state.options.time_factor).max(0.0))
}

fn container_statuses(
    pod: &Value,
    ready: bool,
    state_of: &dyn Fn(&Value) -> Value,
    restarts: i64,
    last: &Value,
) -> Value {
    Value::Array(
        pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                json!({
                    "name": c["name"], "image": c["image"], "imageID": format!("docker.io/{}@sha256:{}", c["image"].as_str().unwrap_or_default(), hash_of(&c["image"])),
                    "containerID": format!("containerd://{}", hash_of(&json!([pod["metadata"]["uid"], c["name"]]))),
                    "ready": ready, "started": ready || state_of(c).get("running").is_some(), "restartCount": restarts,
                    "state": state_of(c), "lastState": last,
                })
            })
            .collect(),
    )
}

/// What keeps a pod's containers from being made, as the kubelet reports it.
enum Missing {
    /// A volume's Secret or ConfigMap is missing: ContainerCreating with FailedMount events.
    Mount { volume: String, what: String },
    /// An `env`/`envFrom` reference is missing: CreateContainerConfigError.
    Config { what: String },
}

/// The first Secret, ConfigMap or key a pod needs (not marked optional) that does not exist.
fn missing_reference(store: &Store, ns: &str, pod: &Value) -> Option<Missing> {
    let exists = |plural: &str, name: &str| store.peek_gr(&gr("", plural), ns, name);
    let not_optional = |r: &Value| r["optional"] != true;
    let spec = &pod["spec"];
    for v in spec["volumes"].as_array().into_iter().flatten() {
        let volume = v["name"].as_str().unwrap_or_default().to_string();
        let mut refs: Vec<(&str, &Value, &str)> = Vec::new();
        if v["secret"].is_object() {
            refs.push(("secret", &v["secret"], "secretName"));
        }
        if v["configMap"].is_object() {
            refs.push(("configmap", &v["configMap"], "name"));
        }
        for src in v["projected"]["sources"].as_array().into_iter().flatten() {
            if src["secret"].is_object() {
                refs.push(("secret", &src["secret"], "name"));
            }
            if src["configMap"].is_object() {
                refs.push(("configmap", &src["configMap"], "name"));
            }
        }
        for (kind, r, key) in refs {
            let name = r[key].as_str().unwrap_or_default();
            let plural = if kind == "secret" {
                "secrets"
            } else {
                "configmaps"
            };
            if not_optional(r) && !name.is_empty() && exists(plural, name).is_none() {
                return Some(Missing::Mount {
                    volume,
                    what: format!("{kind} {name:?} not found"),
                });
            }
        }
    }
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for from in c["envFrom"].as_array().into_iter().flatten() {
                for (field, kind, plural) in [
                    ("configMapRef", "configmap", "configmaps"),
                    ("secretRef", "secret", "secrets"),
                ] {
                    let r = &from[field];
                    if let Some(name) = r["name"].as_str()
                        && not_optional(r)
                        && exists(plural, name).is_none()
                    {
                        return Some(Missing::Config {
                            what: format!("{kind} {name:?} not found"),
                        });
                    }
                }
            }
            for e in c["env"].as_array().into_iter().flatten() {
                for (field, kind, plural, data) in [
                    ("configMapKeyRef", "configmap", "configmaps", "data"),
                    ("secretKeyRef", "secret", "secrets", "data"),
                ] {
                    let r = &e["valueFrom"][field];
                    let (Some(name), Some(key)) = (r["name"].as_str(), r["key"].as_str()) else {
                        continue;
                    };
                    if !not_optional(r) {
                        continue;
                    }
                    match exists(plural, name) {
                        None => {
                            return Some(Missing::Config {
                                what: format!("{kind} {name:?} not found"),
                            });
                        }
                        Some(o)
                            if o[data].get(key).is_none()
                                && o["binaryData"].get(key).is_none()
                                && o["stringData"].get(key).is_none() =>
                        {
                            return Some(Missing::Config {
                                what: format!(
                                    "couldn't find key {key} in {} {ns}/{name}",
                                    if kind == "secret" {
                                        "Secret"
                                    } else {
                                        "ConfigMap"
                                    }
                                ),
                            });
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    None
}

/// Moves every scheduled pod that is not settled one step on: containers made once their
/// claims are bound and their references exist, then running, then ready (or completed, or
/// failing as a scenario asks).
pub(super) fn kubelet(
    store: &mut Store,
    cs: &mut ControllerState,
    state: &SimState,
    scenarios: &[Scenario],
) {
    let now = Instant::now();
    if scenarios
        .iter()
        .any(|s| matches!(s, Scenario::DiskFilling { .. }))
    {
        disks_full(store, cs, state, scenarios, now);
    }
    for pod in candidates(store, cs) {
        let turn = Turn::new(&pod, cs, now);
        turn.take(store, cs, state, scenarios);
    }
    ephemeral(store, cs);
}

/// The pods of a `disk-filling` role whose volume filled up crash from now on, and those given
/// room again (a grown claim) recover; the rest are woken when theirs will be full.
fn disks_full(
    store: &mut Store,
    cs: &mut ControllerState,
    state: &SimState,
    scenarios: &[Scenario],
    now: Instant,
) {
    let roles: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| match s {
            Scenario::DiskFilling { role, .. } => Some(role.as_str()),
            _ => None,
        })
        .collect();
    let mut flips = Vec::new();
    for pod in store.iter_gr(&gr("", "pods"), None) {
        if pod["status"]["phase"] != "Running"
            || !roles.contains(&scenario_role(&pod["metadata"]["labels"]).as_str())
        {
            continue;
        }
        let uid = uid_of(&pod);
        let mut full = false;
        for m in crate::volumes::mounted(store, &pod) {
            match crate::volumes::full_at(state, store, &pod, &m, now) {
                Some(t) if t <= now => full = true,
                Some(t) => cs.wake_at(t),
                None => {}
            }
        }
        if full != cs.disk_full.contains(&uid) {
            flips.push((uid, full));
        }
    }
    for (uid, full) in flips {
        if full {
            cs.disk_full.insert(uid.clone());
        } else {
            cs.disk_full.remove(&uid);
        }
        // Back under the kubelet's care: a settled pod gets a clock again, already running.
        cs.steady.remove(&uid);
        cs.quiet.remove("kubelet");
        let long_ago = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
        cs.clocks.entry(uid).or_insert(PodClock {
            scheduled: long_ago,
            running: Some(now),
            last_crash: None,
        });
    }
}

/// Ephemeral containers (`kubectl debug`) start as soon as they are added, as every simulated
/// container does: running, never ready (the kubelet gives them no probes).
fn ephemeral(store: &mut Store, cs: &mut ControllerState) {
    let at = stamp(store, &[gr("", "pods")]);
    if cs.quiet("ephemeral", at) {
        return;
    }
    let due: Vec<(String, String, Value)> = store
        .iter_gr(&gr("", "pods"), None)
        .filter(|p| {
            let wanted = p["spec"]["ephemeralContainers"]
                .as_array()
                .map_or(0, Vec::len);
            let has = p["status"]["ephemeralContainerStatuses"]
                .as_array()
                .map_or(0, Vec::len);
            wanted > has
        })
        .map(|p| {
            let mut status = p["status"].clone();
            let started = now_rfc3339();
            status["ephemeralContainerStatuses"] = p["spec"]["ephemeralContainers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                           "restartCount": 0, "state": {"running": {"startedAt": started}}})
                })
                .collect();
            let ns = p["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = p["metadata"]["name"].as_str().unwrap_or_default();
            (ns.to_string(), name.to_string(), status)
        })
        .collect();
    cs.settle("ephemeral", at, due.is_empty());
    for (ns, name, status) in due {
        store.set_status(&gr("", "pods"), &ns, &name, status);
    }
}

/// Pods on a node that are neither finished nor settled. Pods created already running (scale
/// scenarios, restored state) are left alone: found without copying them.
fn candidates(store: &Store, cs: &mut ControllerState) -> Vec<Value> {
    let at = stamp(store, &[gr("", "pods")]);
    if cs.quiet("kubelet", at) {
        return Vec::new();
    }
    let mut already_running = Vec::new();
    let candidates: Vec<Value> = store
        .iter_gr(&gr("", "pods"), None)
        .filter(|p| {
            let uid = p["metadata"]["uid"].as_str().unwrap_or_default();
            let waiting = p["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
                && !is_terminal(p)
                && !cs.steady.contains(uid);
            if waiting && is_ready(p) && !cs.clocks.contains_key(uid) {
                already_running.push(uid.to_string());
                return false;
            }
            waiting
        })
        .map(std::borrow::Cow::into_owned)
        .collect();
    cs.steady.extend(already_running);
    cs.settle("kubelet", at, candidates.is_empty());
    candidates
}

/// What a scenario makes of a pod's role.
struct Fate {
    image_error: bool,
    crashloop: bool,
    failing_job: bool,
}

impl Fate {
    fn of(scenarios: &[Scenario], role: &str) -> Fate {
        Fate {
            image_error: scenarios
                .iter()
                .any(|s| matches!(s, Scenario::ImagePullError(r) if r == role)),
            crashloop: scenarios
                .iter()
                .any(|s| matches!(s, Scenario::Crashloop(r) if r == role)),
            failing_job: role == "migrate"
                && scenarios
                    .iter()
                    .any(|s| matches!(s, Scenario::FailingMigration)),
        }
    }
}

/// One pod's turn: who it is, its clock, and the status every step starts from.
struct Turn<'a> {
    pod: &'a Value,
    ns: String,
    name: String,
    uid: String,
    role: String,
    clock: PodClock,
    pod_ip: String,
    now: Instant,
    status: Value,
}

impl<'a> Turn<'a> {
    fn new(pod: &'a Value, cs: &mut ControllerState, now: Instant) -> Turn<'a> {
        let uid = uid_of(pod);
        let clock = cs
            .clocks
            .entry(uid.clone())
            .or_insert(PodClock {
                scheduled: now,
                running: None,
                last_crash: None,
            })
            .clone();
        let host_ip = format!(
            "192.168.49.{}",
            2 + pod["spec"]["nodeName"]
                .as_str()
                .and_then(|n| n.rsplit('-').next()?.parse::<u32>().ok())
                .unwrap_or(1)
        );
        let pod_ip = pod["status"]["podIP"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                cs.next_pod_ip += 1;
                format!(
                    "10.244.{}.{}",
                    (cs.next_pod_ip >> 8) & 0xff,
                    cs.next_pod_ip & 0xff
                )
            });
        let start_time = pod["status"]["startTime"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(now_rfc3339);
        let burstable = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["resources"]["requests"].is_object());
        let mut status = json!({
            "phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": start_time,
            "qosClass": if burstable { "Burstable" } else { "BestEffort" },
        });
        let init_statuses: Vec<Value> = pod["spec"]["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "restartCount": 0, "started": false,
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start_time, "finishedAt": start_time}}}))
            .collect();
        if !init_statuses.is_empty() {
            status["initContainerStatuses"] = Value::Array(init_statuses);
        }
        Turn {
            pod,
            ns: ns_of(pod),
            name: name_of(pod),
            role: scenario_role(&pod["metadata"]["labels"]),
            uid,
            clock,
            pod_ip,
            now,
            status,
        }
    }

    /// The pod's conditions; those that did not change keep their lastTransitionTime, so
    /// statuses settle.
    fn conditions(&self, ready: bool, init: bool) -> Value {
        let t = now_rfc3339();
        let yes = |b: bool| if b { "True" } else { "False" };
        let new = [
            ("PodReadyToStartContainers", "True"),
            ("Initialized", yes(init)),
            ("Ready", yes(ready)),
            ("ContainersReady", yes(ready)),
            ("PodScheduled", "True"),
        ];
        let old = self.pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Value::Array(
            new.iter()
                .map(|(kind, status)| {
                    let mut c = json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": t});
                    if let Some(o) = old
                        .iter()
                        .find(|o| o["type"] == c["type"] && o["status"] == c["status"])
                    {
                        c["lastTransitionTime"] = o["lastTransitionTime"].clone();
                    }
                    c
                })
                .collect(),
        )
    }

    /// Writes the status with these containers' states.
    fn put(
        &self,
        store: &mut Store,
        phase: Option<&str>,
        (ready, init): (bool, bool),
        containers: Value,
    ) {
        let mut status = self.status.clone();
        if let Some(p) = phase {
            status["phase"] = json!(p);
        }
        status["conditions"] = self.conditions(ready, init);
        status["containerStatuses"] = containers;
        store.set_status(&gr("", "pods"), &self.ns, &self.name, status);
    }

    /// Running since `started_at`, ready or not, after `restarts` restarts.
    fn running(&self, store: &mut Store, started_at: &str, ready: bool, restarts: i64) {
        let running = |_: &Value| json!({"running": {"startedAt": started_at}});
        let containers = container_statuses(self.pod, ready, &running, restarts, &json!({}));
        self.put(store, Some("Running"), (ready, true), containers);
    }

    /// Every container waiting for this reason.
    fn waiting(&self, store: &mut Store, reason: Value, init: bool) {
        let waiting = |_: &Value| json!({"waiting": reason});
        let containers = container_statuses(self.pod, false, &waiting, 0, &json!({}));
        self.put(store, None, (false, init), containers);
    }

    fn containers(&self) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
    }

    fn take(
        mut self,
        store: &mut Store,
        cs: &mut ControllerState,
        state: &SimState,
        scenarios: &[Scenario],
    ) {
        // Volumes must be bound before containers start.
        if self.unbound(store) {
            self.waiting(store, json!({"reason": "ContainerCreating"}), false);
            return;
        }
        if self.missing(store, cs) {
            return;
        }
        let mut fate = Fate::of(scenarios, &self.role);
        fate.crashloop |= cs.disk_full.contains(&self.uid);
        let create_at = self.clock.scheduled + scaled(state, 2.0);
        if self.now < create_at {
            cs.wake_at(create_at);
            self.creating(store);
            return;
        }
        self.status["podIP"] = json!(self.pod_ip);
        self.status["podIPs"] = json!([{"ip": self.pod_ip}]);
        if fate.image_error {
            self.pull_fails(store, cs, state);
            return;
        }
        let running_since = self.start(store, cs, state);
        let started_at =
            self.pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(now_rfc3339);
        if self.pod["spec"]["restartPolicy"] != "Always" {
            self.run_job(
                store,
                cs,
                state,
                running_since,
                &started_at,
                fate.failing_job,
            );
        } else if fate.crashloop {
            self.crash(store, cs, state, running_since, &started_at);
        } else {
            self.become_ready(store, cs, state, running_since, &started_at);
        }
    }

    fn unbound(&self, store: &Store) -> bool {
        self.pod["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| {
                v["persistentVolumeClaim"]["claimName"]
                    .as_str()
                    .is_some_and(|c| {
                        store
                            .peek_gr(&gr("", "persistentvolumeclaims"), &self.ns, c)
                            .is_none_or(|pvc| pvc["status"]["phase"] != "Bound")
                    })
            })
    }

    /// A Secret or ConfigMap the pod names is missing: it waits, warned about once.
    fn missing(&self, store: &mut Store, cs: &mut ControllerState) -> bool {
        match missing_reference(store, &self.ns, self.pod) {
            Some(Missing::Mount { volume, what }) => {
                let message = format!("MountVolume.SetUp failed for volume {volume:?} : {what}");
                if cs.warned.insert(format!("{}/{message}", self.uid)) {
                    store.record_event(self.pod, "Warning", "FailedMount", &message);
                }
                self.waiting(store, json!({"reason": "ContainerCreating"}), false);
                true
            }
            Some(Missing::Config { what }) => {
                if cs.warned.insert(format!("{}/{what}", self.uid)) {
                    store.record_event(self.pod, "Warning", "Failed", &format!("Error: {what}"));
                }
                self.waiting(
                    store,
                    json!({"reason": "CreateContainerConfigError", "message": what}),
                    true,
                );
                true
            }
            None => false,
        }
    }

    /// The images are pulled: ContainerCreating, with a Pulling event the first time.
    fn creating(&self, store: &mut Store) {
        if self.pod["status"]["containerStatuses"].is_null() {
            for c in self.containers() {
                store.record_event(
                    self.pod,
                    "Normal",
                    "Pulling",
                    &format!(
                        "Pulling image \"{}\"",
                        c["image"].as_str().unwrap_or_default()
                    ),
                );
            }
        }
        self.waiting(store, json!({"reason": "ContainerCreating"}), true);
    }

    /// ErrImagePull, then ImagePullBackOff, as the kubelet retries.
    fn pull_fails(&self, store: &mut Store, cs: &mut ControllerState, state: &SimState) {
        let was = &self.pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"];
        let first = was != "ErrImagePull" && was != "ImagePullBackOff";
        let reason = if first {
            "ErrImagePull"
        } else {
            "ImagePullBackOff"
        };
        let waiting = |c: &Value| json!({"waiting": {"reason": reason, "message": format!("Back-off pulling image \"{}\"", c["image"].as_str().unwrap_or_default())}});
        let containers = container_statuses(self.pod, false, &waiting, 0, &json!({}));
        if first {
            for c in self.containers() {
                let img = c["image"].as_str().unwrap_or_default();
                store.record_event(self.pod, "Warning", "Failed", &format!("Failed to pull image \"{img}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{img}\": not found"));
                store.record_event(self.pod, "Warning", "Failed", "Error: ErrImagePull");
            }
            cs.wake_at(self.now + scaled(state, 5.0));
        } else {
            store.record_event(self.pod, "Normal", "BackOff", "Back-off pulling image");
        }
        self.put(store, None, (false, true), containers);
    }

    /// The containers start (once: events and a first log line); since when they run.
    fn start(&self, store: &mut Store, cs: &mut ControllerState, state: &SimState) -> Instant {
        if let Some(t) = self.clock.running {
            return t;
        }
        if let Some(c) = cs.clocks.get_mut(&self.uid) {
            c.running = Some(self.now);
        }
        for c in self.containers() {
            let cname = c["name"].as_str().unwrap_or_default();
            let image = c["image"].as_str().unwrap_or_default();
            store.record_event(
                self.pod,
                "Normal",
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
            );
            store.record_event(
                self.pod,
                "Normal",
                "Created",
                &format!("Created container: {cname}"),
            );
            store.record_event(
                self.pod,
                "Normal",
                "Started",
                &format!("Started container {cname}"),
            );
            state.append_log(
                &self.ns,
                &self.name,
                cname,
                false,
                &format!("{} starting {cname} ({image})", now_rfc3339()),
            );
        }
        // The app's first web pod installs its instance (whose async migrations start there).
        if self.pod["metadata"]["labels"]["role"] == "web"
            && let Some(app) = crate::async_migrations::app_of_pod(self.pod)
        {
            state.workloads.migrations.observe(&self.ns, app);
        }
        self.now
    }

    /// A Job's pod runs a while, then completes (or fails, for a failing migration).
    fn run_job(
        &self,
        store: &mut Store,
        cs: &mut ControllerState,
        state: &SimState,
        running_since: Instant,
        started_at: &str,
        failing: bool,
    ) {
        let done_at = running_since + scaled(state, 3.0);
        if self.now < done_at {
            cs.wake_at(done_at);
            self.running(store, started_at, true, 0);
            return;
        }
        let (code, reason) = if failing {
            (1, "Error")
        } else {
            (0, "Completed")
        };
        let finished = now_rfc3339();
        let term = |_: &Value| json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": started_at, "finishedAt": finished}});
        let containers = container_statuses(self.pod, false, &term, 0, &json!({}));
        for c in self.containers() {
            let cname = c["name"].as_str().unwrap_or_default();
            let line = if failing {
                "django.db.utils.OperationalError: could not translate host name to address; migration failed"
            } else {
                "Operations to perform: apply all migrations. Running migrations: OK"
            };
            state.append_log(&self.ns, &self.name, cname, false, line);
        }
        let phase = if failing { "Failed" } else { "Succeeded" };
        self.put(store, Some(phase), (false, true), containers);
        cs.clocks.remove(&self.uid);
    }

    /// The container exits with an error every few seconds: CrashLoopBackOff.
    fn crash(
        &self,
        store: &mut Store,
        cs: &mut ControllerState,
        state: &SimState,
        running_since: Instant,
        started_at: &str,
    ) {
        let restarts = self.pod["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0);
        let crash_at = self.clock.last_crash.unwrap_or(running_since) + scaled(state, 4.0);
        if self.now < crash_at {
            cs.wake_at(crash_at);
            if self.pod["status"]["phase"] != "Running" {
                self.running(store, started_at, false, restarts);
            }
            return;
        }
        let finished = now_rfc3339();
        let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started_at, "finishedAt": finished}});
        let name = &self.name;
        let waiting = |c: &Value| json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 10s restarting failed container={} pod={name}", c["name"].as_str().unwrap_or_default())}});
        let containers = container_statuses(self.pod, false, &waiting, restarts + 1, &last);
        // A full disk's error is also what `kubectl logs` shows while the container waits to
        // restart: the kubelet serves the last run's log.
        let (lines, current) = if cs.disk_full.contains(&self.uid) {
            (crate::volumes::full_disk_log(&self.role), true)
        } else {
            (vec!["Traceback (most recent call last): django.core.exceptions.ImproperlyConfigured: connection refused".into()], false)
        };
        for c in self.containers() {
            let cname = c["name"].as_str().unwrap_or_default();
            for line in &lines {
                state.append_log(&self.ns, &self.name, cname, true, line);
                if current {
                    state.append_log(&self.ns, &self.name, cname, false, line);
                }
            }
        }
        store.record_event(
            self.pod,
            "Warning",
            "BackOff",
            "Back-off restarting failed container",
        );
        self.put(store, Some("Running"), (false, true), containers);
        if let Some(c) = cs.clocks.get_mut(&self.uid) {
            c.last_crash = Some(self.now);
        }
        cs.wake_at(self.now + scaled(state, 4.0));
    }

    /// Running, and Ready once the longest readiness delay has passed; then settled.
    fn become_ready(
        &self,
        store: &mut Store,
        cs: &mut ControllerState,
        state: &SimState,
        running_since: Instant,
        started_at: &str,
    ) {
        let delay = self
            .containers()
            .map(|c| {
                c["readinessProbe"]["initialDelaySeconds"]
                    .as_f64()
                    .unwrap_or(0.0)
            })
            .fold(0.0, f64::max);
        let ready_at = running_since + scaled(state, delay.max(1.0));
        let ready = self.now >= ready_at;
        if !ready {
            cs.wake_at(ready_at);
        }
        self.running(store, started_at, ready, 0);
        if ready {
            cs.steady.insert(self.uid.clone());
            cs.clocks.remove(&self.uid);
        }
    }
}
