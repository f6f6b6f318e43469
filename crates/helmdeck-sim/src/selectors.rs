//! Label and field selectors, as list and watch requests use them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        for term in split_top(s) {
            let t = term.trim();
            if t.is_empty() {
                continue;
            }
            if let Some(k) = t.strip_prefix('!') {
                reqs.push(Req::NotExists(k.trim().to_string()));
            } else if let Some((k, v)) = t.split_once("!=") {
                reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = t.split_once("==") {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = t.split_once('=') {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, rest)) = t.split_once(" notin ") {
                reqs.push(Req::NotIn(k.trim().into(), set(rest)?));
            } else if let Some((k, rest)) = t.split_once(" in ") {
                reqs.push(Req::In(k.trim().into(), set(rest)?));
            } else if t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                reqs.push(Req::Exists(t.to_string()));
            } else {
                return Err(format!("unable to parse requirement: {t:?}"));
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// From a `matchLabels` / `matchExpressions` selector object.
    pub fn from_object(sel: &Value) -> LabelSelector {
        let mut reqs = Vec::new();
        if let Some(m) = sel["matchLabels"].as_object() {
            for (k, v) in m {
                reqs.push(Req::Eq(k.clone(), v.as_str().unwrap_or_default().into()));
            }
        }
        if let Some(exprs) = sel["matchExpressions"].as_array() {
            for e in exprs {
                let key = e["key"].as_str().unwrap_or_default().to_string();
                let vals: Vec<String> = e["values"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                reqs.push(match e["operator"].as_str().unwrap_or_default() {
                    "In" => Req::In(key, vals),
                    "NotIn" => Req::NotIn(key, vals),
                    "Exists" => Req::Exists(key),
                    _ => Req::NotExists(key),
                });
            }
        }
        LabelSelector(reqs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches_labels(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.is_empty() || self.matches_labels(&obj["metadata"]["labels"])
    }
}

fn set(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| format!("expected (values) in {s:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

/// Splits at commas outside parentheses.
fn split_top(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// A field selector: `metadata.name=x,status.phase!=Running`, any dotted path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut out = Vec::new();
        for t in s.split(',') {
            let t = t.trim();
            if t.is_empty() {
                continue;
            }
            if let Some((k, v)) = t.split_once("!=") {
                out.push((k.trim().into(), false, v.trim().into()));
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                out.push((k.trim().into(), true, v.trim().into()));
            } else {
                return Err(format!("invalid field selector: {t:?}"));
            }
        }
        Ok(FieldSelector(out))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, eq, want)| {
            let mut cur = obj;
            for seg in path.split('.') {
                cur = &cur[seg];
            }
            let have = match cur {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (have == *want) == *eq
        })
    }

    /// Refuses a field no index serves, as a real server does ("field label not supported"):
    /// every type has `metadata.name` and `metadata.namespace`; a few built-ins add their own
    /// (kubernetes/pkg/registry/*/strategy.go, `*ToSelectableFields`).
    pub fn supported_by(&self, group: &str, kind: &str) -> Result<(), String> {
        let extra: &[&str] = match (group, kind) {
            ("", "Pod") => &[
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ],
            ("", "Event") | ("events.k8s.io", "Event") => &[
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
            ],
            ("", "Secret") => &["type"],
            ("", "Namespace") => &["status.phase"],
            ("", "Node") => &["spec.unschedulable"],
            ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
            ("batch", "Job") => &["status.successful"],
            ("", "Service") => &["spec.clusterIP", "spec.type"],
            ("certificates.k8s.io", "CertificateSigningRequest") => &["spec.signerName"],
            _ => &[],
        };
        match self.0.iter().find(|(p, _, _)| {
            p != "metadata.name" && p != "metadata.namespace" && !extra.contains(&p.as_str())
        }) {
            Some((p, _, _)) => Err(format!("field label not supported: {p}")),
            None => Ok(()),
        }
    }

    /// The name a `metadata.name=` selector pins, if any (for fast paths).
    pub fn pinned_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, eq, _)| p == "metadata.name" && *eq)
            .map(|(_, _, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let o = json!({"metadata": {"labels": {"app": "x", "role": "web"}}});
        assert!(
            LabelSelector::parse("app=x,role in (web,events)")
                .unwrap()
                .matches(&o)
        );
        assert!(
            !LabelSelector::parse("role notin (web)")
                .unwrap()
                .matches(&o)
        );
        assert!(LabelSelector::parse("!missing,app").unwrap().matches(&o));
        assert!(!LabelSelector::parse("app!=x").unwrap().matches(&o));
    }

    #[test]
    fn field_selectors() {
        let o = json!({"metadata": {"name": "a"}, "status": {"phase": "Running"}});
        assert!(
            FieldSelector::parse("metadata.name=a,status.phase!=Pending")
                .unwrap()
                .matches(&o)
        );
        assert!(
            !FieldSelector::parse("status.phase=Pending")
                .unwrap()
                .matches(&o)
        );
    }

    #[test]
    fn only_indexed_fields_can_be_selected() {
        let ok = FieldSelector::parse("status.phase=Running,metadata.name=x").unwrap();
        assert!(ok.supported_by("", "Pod").is_ok());
        let e = FieldSelector::parse("spec.foo=bar")
            .unwrap()
            .supported_by("", "Pod")
            .unwrap_err();
        assert_eq!(e, "field label not supported: spec.foo");
        assert!(
            FieldSelector::parse("status.phase=Running")
                .unwrap()
                .supported_by("apps", "Deployment")
                .is_err()
        );
    }
}
