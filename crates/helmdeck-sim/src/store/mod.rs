//! The simulated API server's state: typed objects, one resourceVersion counter, an event log
//! for watches, and the write rules (defaults, validation, generation, finalizers, garbage
//! collection, server-side apply). Controllers and the HTTP layer both go through here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, broadcast};

use super::defaults;
use super::errors::ApiError;
use super::patch;
use super::resources::{self, ResourceType};
use super::selectors::{FieldSelector, LabelSelector};

mod admission;
mod delete;
mod read;
mod system;
mod write;

pub use read::list_body;

/// Group and plural: the identity of a resource type across versions.
pub type Gr = (String, String);

#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub rv: u64,
    pub gr: Gr,
    pub namespace: String,
    pub etype: &'static str,
    pub object: Arc<Value>,
}

/// How a write is to be done.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_manager: Option<String>,
}

/// What a list returns.
pub struct ListResult {
    pub items: Vec<Value>,
    pub rv: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// An object as the store keeps it: its JSON text, as etcd keeps an object's bytes, and the
/// parsed object while its type has few enough objects. Parsed, a pod takes ten times its JSON
/// (serde_json's maps and strings): 100,000 pods must fit in 1.2 GB, so a big collection is
/// kept as text only and each read parses a copy. Lists are written from the text as it is.
#[derive(Debug, Clone)]
pub struct Stored {
    json: Box<str>,
    parsed: std::sync::OnceLock<Value>,
}

/// Up to this many objects of a type are also kept parsed: reads borrow them, as controllers
/// scan them on every change.
pub const PARSED_UP_TO: usize = 5_000;

impl Stored {
    fn new(v: &Value, keep_parsed: bool) -> Stored {
        let parsed = std::sync::OnceLock::new();
        if keep_parsed {
            let _ = parsed.set(v.clone());
        }
        Stored {
            json: serde_json::to_string(v)
                .unwrap_or_default()
                .into_boxed_str(),
            parsed,
        }
    }

    /// The object: borrowed when kept parsed (or `keep`, then kept from now on), else parsed.
    pub fn read(&self, keep: bool) -> std::borrow::Cow<'_, Value> {
        use std::borrow::Cow;
        match self.parsed.get() {
            Some(v) => Cow::Borrowed(v),
            None if keep => Cow::Borrowed(self.parsed.get_or_init(|| parse(&self.json))),
            None => Cow::Owned(parse(&self.json)),
        }
    }

    pub fn json(&self) -> &str {
        &self.json
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

pub struct Store {
    types: Vec<ResourceType>,
    objects: HashMap<Gr, BTreeMap<(String, String), Stored>>,
    rv: u64,
    log: VecDeque<Arc<WatchEvent>>,
    log_cap: usize,
    /// The oldest resourceVersion a watch may start from.
    pub oldest_rv: u64,
    tx: broadcast::Sender<Arc<WatchEvent>>,
    next_ip: u32,
    uid_counter: u64,
    /// Woken on every write, so controllers reconcile.
    pub changed: Arc<Notify>,
    /// The cluster CA every namespace's `kube-root-ca.crt` carries.
    root_ca: Option<String>,
    /// Each type's last write (its resourceVersion).
    last_write: HashMap<Gr, u64>,
}

/// An object as read through one version of its type: every version of a type shares one
/// storage, and a real server answers in the version asked for. Fields are not converted
/// (the simulator keeps one shape per type).
pub fn served_as(rt: &ResourceType, mut v: Value) -> Value {
    if v.get("apiVersion")
        .is_some_and(|a| a.as_str() != Some(rt.api_version().as_str()))
    {
        v["apiVersion"] = Value::String(rt.api_version());
    }
    v
}

/// How an object stored in `rt`'s version starts: made once per list or watch, not per
/// object.
pub fn served_head(rt: &ResourceType) -> String {
    format!("{{\"apiVersion\":\"{}\"", rt.api_version())
}

/// An object's JSON as read through `rt`'s version: its bytes as kept when it was stored in
/// that version (it starts with `head`, [`served_head`]: nearly always), else parsed and
/// re-versioned.
pub fn write_served(out: &mut Vec<u8>, rt: &ResourceType, head: &str, v: &Stored) {
    let json = v.json();
    if json.starts_with(head) {
        out.extend_from_slice(json.as_bytes());
    } else {
        let _ = serde_json::to_writer(out, &served_as(rt, v.read(false).into_owned()));
    }
}

pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's civil_from_days).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds since the epoch as `2026-11-24T23:05:56Z`.
pub fn rfc3339(secs: u64) -> String {
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store::with_types(resources::builtin())
    }

    /// A store serving these built-in types (a Kubernetes release's set).
    pub fn with_types(types: Vec<ResourceType>) -> Store {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            types,
            objects: HashMap::new(),
            rv: 1,
            log: VecDeque::new(),
            log_cap: 50_000,
            oldest_rv: 1,
            tx,
            next_ip: 1,
            uid_counter: 0,
            changed: Arc::new(Notify::new()),
            root_ca: None,
            last_write: HashMap::new(),
        }
    }

    /// From now on every new namespace gets a `default` ServiceAccount and a
    /// `kube-root-ca.crt` ConfigMap with this CA, as the service-account and root-CA
    /// publisher controllers make them (here at once, so a pod created right after its
    /// namespace finds them, as it almost always does on a real cluster).
    pub fn set_root_ca(&mut self, pem: String) {
        self.root_ca = Some(pem);
    }

    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The resourceVersion of the last write to a type, 0 if it was never written: a
    /// controller that found nothing to do skips its next scan while nothing it reads changed
    /// (each scan of 100,000 pods holds the store for a tenth of a second).
    pub fn last_write(&self, gr: &Gr) -> u64 {
        self.last_write.get(gr).copied().unwrap_or(0)
    }

    /// Forgets watch history, as an API server restart or compaction does.
    pub fn compact(&mut self) {
        self.log.clear();
        self.oldest_rv = self.rv;
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    pub fn type_for_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    fn new_uid(&mut self) -> String {
        self.uid_counter += 1;
        let n = self.uid_counter;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n as u32,
            (n >> 8) as u16,
            n & 0xfff,
            (n >> 4) & 0xfff,
            n
        )
    }

    fn next_cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        let n = self.next_ip;
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }

    fn emit(&mut self, gr: &Gr, namespace: &str, etype: &'static str, object: Value) {
        match self.last_write.get_mut(gr) {
            Some(at) => *at = self.rv,
            None => {
                self.last_write.insert(gr.clone(), self.rv);
            }
        }
        let ev = Arc::new(WatchEvent {
            rv: self.rv,
            gr: gr.clone(),
            namespace: namespace.to_string(),
            etype,
            object: Arc::new(object),
        });
        self.log.push_back(ev.clone());
        while self.log.len() > self.log_cap {
            if let Some(old) = self.log.pop_front() {
                self.oldest_rv = old.rv;
            }
        }
        let _ = self.tx.send(ev);
        self.changed.notify_one();
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Keeps `obj` under its key. A type that grows past [`PARSED_UP_TO`] objects stops
    /// keeping them parsed.
    pub(super) fn put(&mut self, gr: &Gr, key: (String, String), obj: &Value) {
        let m = self.objects.entry(gr.clone()).or_default();
        let keep = m.len() < PARSED_UP_TO;
        if m.len() == PARSED_UP_TO {
            for s in m.values_mut() {
                s.parsed = std::sync::OnceLock::new();
            }
        }
        m.insert(key, Stored::new(obj, keep));
    }

    /// Whether objects of this type are kept parsed.
    pub(super) fn keeps_parsed(&self, gr: &Gr) -> bool {
        self.objects.get(gr).is_none_or(|m| m.len() <= PARSED_UP_TO)
    }
}

/// Makes a list body.
/// Removes null members of objects, recursively (list items are kept: a null item is data).
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
