//! The CronJob controller, on the simulated clock: schedules in the standard five-field cron
//! syntax (and the `@hourly`-style descriptors), concurrency policy, suspend, starting deadline
//! and history limits, with Jobs named and owned as Kubernetes' own controller names them
//! (`pkg/controller/cronjob`: `<cronjob>-<scheduled time in minutes since the epoch>`, the
//! `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation; the schedule parser is
//! robfig/cron's standard one, which it uses).
//!
//! The simulated clock starts at the wall clock's time when the cluster starts and runs
//! `1 / time_factor` times as fast (20× by default), as every simulated delay is scaled: a
//! `*/2 * * * *` CronJob makes a Job every 6 s of real time. Schedule times in status and in
//! Job names are that clock's.

use super::*;

/// One field of a schedule: the values it allows, and whether it was `*` (robfig's star bit,
/// which decides how day-of-month and day-of-week combine).
#[derive(Debug, Clone, PartialEq)]
struct Field {
    allowed: u64,
    star: bool,
}

impl Field {
    fn has(&self, v: u32) -> bool {
        self.allowed & (1 << v) != 0
    }
}

/// A parsed cron schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field(text: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<Field, String> {
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + name_base);
        }
        s.parse::<u32>().map_err(|_| {
            format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
        })
    };
    let mut out = Field {
        allowed: 0,
        star: false,
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                Some(
                    s.parse::<u32>()
                        .map_err(|_| format!("failed to parse int from {s}"))?,
                ),
            ),
            None => (part, None),
        };
        let (mut lo, mut hi, mut star) = if range == "*" || range == "?" {
            (min, max, true)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?, false)
        } else {
            let v = value(range)?;
            (v, v, false)
        };
        if let Some(step) = step {
            if step == 0 {
                return Err(format!("step of range should be a positive number: {part}"));
            }
            // "N/step" means "N-max/step".
            if !star && !range.contains('-') {
                hi = max;
            }
            if step > 1 {
                star = false;
            }
            if lo < min {
                lo = min;
            }
            let mut v = lo;
            while v <= hi {
                if v > max {
                    return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
                }
                out.allowed |= 1 << v;
                v += step;
            }
        } else {
            if lo < min {
                return Err(format!(
                    "beginning of range ({lo}) below minimum ({min}): {part}"
                ));
            }
            if hi > max {
                return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
            }
            if lo > hi {
                return Err(format!(
                    "beginning of range ({lo}) beyond end of range ({hi}): {part}"
                ));
            }
            for v in lo..=hi {
                out.allowed |= 1 << v;
            }
        }
        out.star |= star;
    }
    Ok(out)
}

impl Schedule {
    /// Parses a schedule as Kubernetes accepts one (robfig/cron's standard parser; a
    /// `TZ=`/`CRON_TZ=` prefix is refused: the time zone goes in `spec.timeZone`).
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if text.starts_with("TZ=") || text.starts_with("CRON_TZ=") {
            return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
        }
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            t if t.starts_with('@') => return Err(format!("unrecognized descriptor: {t}")),
            t => t,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                f.len(),
                f.join(" ")
            ));
        }
        let mut dow = field(f[4], 0, 7, &DAYS, 0)?;
        // 7 is Sunday too.
        if dow.has(7) {
            dow.allowed = (dow.allowed & !(1 << 7)) | 1;
        }
        Ok(Schedule {
            minute: field(f[0], 0, 59, &[], 0)?,
            hour: field(f[1], 0, 23, &[], 0)?,
            dom: field(f[2], 1, 31, &[], 0)?,
            month: field(f[3], 1, 12, &MONTHS, 1)?,
            dow,
        })
    }

    fn day_matches(&self, dom: u32, dow: u32) -> bool {
        let (d, w) = (self.dom.has(dom), self.dow.has(dow));
        if self.dom.star || self.dow.star {
            d && w
        } else {
            d || w
        }
    }

    /// The first time after `after` (seconds since the epoch, UTC) the schedule fires; none
    /// within five years (robfig gives up there too).
    pub fn next_after(&self, after: u64) -> Option<u64> {
        let mut t = (after / 60 + 1) * 60;
        let limit = after + 5 * 366 * 86_400;
        while t <= limit {
            let day = t / 86_400;
            let (_, month, dom) = crate::store::civil_from_days(day as i64);
            // 1970-01-01 was a Thursday.
            let dow = ((day + 4) % 7) as u32;
            if !self.month.has(month) || !self.day_matches(dom, dow) {
                t = (day + 1) * 86_400;
                continue;
            }
            let hour = ((t % 86_400) / 3600) as u32;
            if !self.hour.has(hour) {
                t = (t / 3600 + 1) * 3600;
                continue;
            }
            let minute = ((t % 3600) / 60) as u32;
            if !self.minute.has(minute) {
                t += 60;
                continue;
            }
            return Some(t);
        }
        None
    }
}

/// The time zones this cluster knows: a real API server refuses one its tz database lacks,
/// and the simulated one carries none but UTC.
pub fn known_time_zone(tz: &str) -> bool {
    matches!(tz, "UTC" | "Etc/UTC")
}

/// The simulated clock: seconds since the epoch now, and the real instant a simulated time
/// falls at.
pub(super) struct SimClock {
    origin_secs: f64,
    origin: Instant,
    factor: f64,
}

impl SimClock {
    pub(super) fn new(factor: f64) -> SimClock {
        let origin_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        SimClock {
            origin_secs,
            origin: Instant::now(),
            factor: if factor > 0.0 { factor } else { 1.0 },
        }
    }

    fn now(&self) -> u64 {
        (self.origin_secs + self.origin.elapsed().as_secs_f64() / self.factor) as u64
    }

    fn instant_of(&self, secs: u64) -> Instant {
        let ahead = (secs as f64 - self.origin_secs).max(0.0) * self.factor;
        self.origin + Duration::from_secs_f64(ahead)
    }
}

fn finished(job: &Value) -> Option<bool> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find_map(|c| {
            (c["status"] == "True").then_some(())?;
            match c["type"].as_str()? {
                "Complete" => Some(true),
                "Failed" => Some(false),
                _ => None,
            }
        })
}

pub(super) fn cronjobs(store: &mut Store, cs: &mut ControllerState, clock: &SimClock) {
    let cj_gr = gr("batch", "cronjobs");
    let job_gr = gr("batch", "jobs");
    let now = clock.now();
    for cj in list(store, &cj_gr) {
        if !cj["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let (ns, name, uid) = (ns_of(&cj), name_of(&cj), uid_of(&cj));
        let Ok(schedule) = Schedule::parse(cj["spec"]["schedule"].as_str().unwrap_or_default())
        else {
            continue;
        };
        let mut jobs: Vec<Value> = store
            .iter_gr(&job_gr, Some(&ns))
            .filter(|j| owned_by(j, &uid))
            .map(std::borrow::Cow::into_owned)
            .collect();
        jobs.sort_by(|a, b| {
            a["metadata"]["creationTimestamp"]
                .as_str()
                .cmp(&b["metadata"]["creationTimestamp"].as_str())
        });
        trim_history(store, &cj, &jobs);
        let mut active: Vec<&Value> = jobs
            .iter()
            .filter(|j| finished(j).is_none() && store.has(&job_gr, &ns, &name_of(j)))
            .collect();
        let last_success = jobs
            .iter()
            .filter(|j| finished(j) == Some(true))
            .filter_map(|j| j["status"]["completionTime"].as_str())
            .max()
            .map(str::to_string);
        let since = cj["status"]["lastScheduleTime"]
            .as_str()
            .or(cj["metadata"]["creationTimestamp"].as_str())
            .and_then(crate::table::parse_rfc3339)
            .unwrap_or(now);
        let due = most_recent_due(&schedule, since, now);
        let mut last_schedule = cj["status"]["lastScheduleTime"].clone();
        let suspended = cj["spec"]["suspend"] == true;
        if let Some(at) = due.filter(|_| !suspended) {
            let deadline = cj["spec"]["startingDeadlineSeconds"].as_u64();
            let too_late = deadline.is_some_and(|d| at + d < now);
            let policy = cj["spec"]["concurrencyPolicy"].as_str().unwrap_or("Allow");
            if too_late {
                store.record_event(
                    &cj,
                    "Warning",
                    "MissSchedule",
                    &format!("Missed scheduled time to start a job: {}", rfc3339_secs(at)),
                );
                last_schedule = json!(rfc3339_secs(at));
            } else if policy == "Forbid" && !active.is_empty() {
                store.record_event(
                    &cj,
                    "Normal",
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency policy is Forbid",
                );
            } else {
                if policy == "Replace" {
                    for j in active.drain(..) {
                        let job_name = name_of(j);
                        store.delete_system(("batch/v1", "Job"), &ns, &job_name);
                        store.record_event(
                            &cj,
                            "Normal",
                            "SuccessfulDelete",
                            &format!("Deleted job {job_name}"),
                        );
                    }
                }
                start_job(store, &cj, at);
                last_schedule = json!(rfc3339_secs(at));
            }
        }
        let refs: Vec<Value> = store
            .iter_gr(&job_gr, Some(&ns))
            .filter(|j| owned_by(j, &uid) && finished(j).is_none())
            .map(|j| json!({"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"],
                "namespace": ns, "uid": j["metadata"]["uid"], "resourceVersion": j["metadata"]["resourceVersion"]}))
            .collect();
        let mut status = json!({});
        if !refs.is_empty() {
            status["active"] = json!(refs);
        }
        if !last_schedule.is_null() {
            status["lastScheduleTime"] = last_schedule;
        }
        if let Some(t) = last_success {
            status["lastSuccessfulTime"] = json!(t);
        }
        if status != cj["status"] {
            store.set_status(&cj_gr, &ns, &name, status);
        }
        if let Some(next) = schedule.next_after(now) {
            cs.wake_at(clock.instant_of(next));
        }
    }
}

/// The oldest finished Jobs past each history limit go, with their pods.
fn trim_history(store: &mut Store, cj: &Value, jobs: &[Value]) {
    let ns = ns_of(cj);
    for (success, limit) in [
        (
            true,
            cj["spec"]["successfulJobsHistoryLimit"]
                .as_u64()
                .unwrap_or(3),
        ),
        (
            false,
            cj["spec"]["failedJobsHistoryLimit"].as_u64().unwrap_or(1),
        ),
    ] {
        let done: Vec<&Value> = jobs
            .iter()
            .filter(|j| finished(j) == Some(success))
            .collect();
        for j in done.iter().take(done.len().saturating_sub(limit as usize)) {
            let job_name = name_of(j);
            for p in pods_owned(store, &ns, &uid_of(j)) {
                store.delete_system(("v1", "Pod"), &ns, &name_of(&p));
            }
            store.delete_system(("batch/v1", "Job"), &ns, &job_name);
            store.record_event(
                cj,
                "Normal",
                "SuccessfulDelete",
                &format!("Deleted job {job_name}"),
            );
        }
    }
}

/// The most recent time the schedule fired after `since` and by `now`.
fn most_recent_due(schedule: &Schedule, since: u64, now: u64) -> Option<u64> {
    let (mut due, mut missed, mut t) = (None, 0u64, since);
    while let Some(next) = schedule.next_after(t).filter(|n| *n <= now) {
        due = Some(next);
        missed += 1;
        t = next;
        if missed > 1000 {
            // Far behind (a clock jump): only the latest counts, as the real controller says
            // "too many missed start times" and starts that one.
            t = now.saturating_sub(60);
        }
    }
    due
}

/// Creates the Job for the schedule time `at`, named and annotated as the real controller
/// does; a Job of that name already there means it was started.
fn start_job(store: &mut Store, cj: &Value, at: u64) {
    let (ns, name) = (ns_of(cj), name_of(cj));
    let job_name = format!("{name}-{}", at / 60);
    let template = &cj["spec"]["jobTemplate"];
    let mut annotations = template["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    annotations.insert(
        "batch.kubernetes.io/cronjob-scheduled-timestamp".into(),
        json!(rfc3339_secs(at)),
    );
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name, "namespace": ns,
                     "labels": template["metadata"]["labels"].clone(),
                     "annotations": annotations,
                     "ownerReferences": [owner_ref(cj)]},
        "spec": template["spec"].clone()});
    if !store.has(&gr("batch", "jobs"), &ns, &job_name)
        && store.create_system(("batch/v1", "Job"), &ns, job).is_ok()
    {
        store.record_event(
            cj,
            "Normal",
            "SuccessfulCreate",
            &format!("Created job {job_name}"),
        );
    }
}

fn rfc3339_secs(secs: u64) -> String {
    crate::store::rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> u64 {
        crate::table::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn schedules_fire_when_cron_says() {
        let every2 = Schedule::parse("*/2 * * * *").unwrap();
        assert_eq!(
            every2.next_after(at("2026-12-02T10:00:30Z")),
            Some(at("2026-12-02T10:02:00Z"))
        );
        let nightly = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(
            nightly.next_after(at("2026-12-02T10:00:00Z")),
            Some(at("2026-12-03T02:30:00Z"))
        );
        // Day of month OR day of week when both are restricted (robfig, as Vixie cron).
        let either = Schedule::parse("0 0 13 * FRI").unwrap();
        assert_eq!(
            either.next_after(at("2026-12-02T00:00:00Z")),
            Some(at("2026-12-04T00:00:00Z")),
            "Friday the 4th comes before the 13th"
        );
        // Sunday is 0 and 7; names and descriptors.
        assert_eq!(
            Schedule::parse("0 0 * * 7").unwrap(),
            Schedule::parse("@weekly").unwrap()
        );
        let leap = Schedule::parse("0 0 29 feb *").unwrap();
        assert_eq!(
            leap.next_after(at("2026-12-02T00:00:00Z")),
            Some(at("2028-02-29T00:00:00Z"))
        );
        assert_eq!(
            Schedule::parse("0 0 31 2 *")
                .unwrap()
                .next_after(at("2026-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn schedules_kubernetes_refuses_are_refused() {
        for bad in [
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "@every 5m",
            "TZ=UTC * * * * *",
            "5-2 * * * *",
            "x * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        assert!(known_time_zone("Etc/UTC") && !known_time_zone("Mars/Olympus"));
    }

    #[test]
    fn the_simulated_clock_runs_faster_and_maps_back_to_real_time() {
        let clock = SimClock::new(0.05);
        let start = clock.now();
        let real = clock.instant_of(start + 120);
        let ahead = real.saturating_duration_since(Instant::now());
        assert!(ahead <= Duration::from_secs(6), "{ahead:?}");
    }
}
