//! `values.schema.json` checks, as Helm runs them: the chart's schema against its values and
//! each subchart's schema against its section.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::chart::Chart;

/// One failed rule, naming the chart, the value path and the rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaViolation {
    pub chart: String,
    /// Dotted value path (`ingress.hostname`), empty for the root.
    pub path: String,
    pub rule: String,
}

pub fn describe(v: &[SchemaViolation]) -> String {
    let mut s = String::from("values do not meet the chart's values.schema.json:");
    for x in v {
        let at = if x.path.is_empty() {
            "(root)"
        } else {
            x.path.as_str()
        };
        s.push_str(&format!("\n  - {}: {at}: {}", x.chart, x.rule));
    }
    s.push_str("\n  fix: change these values (in your -f file, --set or answers) or use a profile that sets them");
    s
}

pub fn validate_chart(chart: &Chart, values: &Value) -> Vec<SchemaViolation> {
    let mut out = Vec::new();
    walk(chart, values, "", &mut out);
    out
}

fn walk(chart: &Chart, values: &Value, prefix: &str, out: &mut Vec<SchemaViolation>) {
    if let Some(schema) = &chart.schema {
        let compiled = chart
            .compiled_schema
            .get_or_init(|| jsonschema::validator_for(schema).map_err(|e| e.to_string()));
        out.extend(check(
            compiled.as_ref(),
            values,
            &chart.metadata.name,
            prefix,
        ));
    }
    let empty = Value::Object(Map::new());
    for d in &chart.dependencies {
        let sub = values.get(d.name()).unwrap_or(&empty);
        walk(d, sub, &super::join_path(prefix, d.name()), out);
    }
}

/// Validates any instance against any schema (also used for profiles).
pub fn validate(
    schema: &Value,
    instance: &Value,
    what: &str,
    prefix: &str,
) -> Vec<SchemaViolation> {
    let compiled = jsonschema::validator_for(schema).map_err(|e| e.to_string());
    check(compiled.as_ref(), instance, what, prefix)
}

/// Validates with an already compiled schema.
pub fn check_with(
    compiled: Result<&jsonschema::Validator, &String>,
    instance: &Value,
    what: &str,
) -> Vec<SchemaViolation> {
    check(compiled, instance, what, "")
}

fn check(
    compiled: Result<&jsonschema::Validator, &String>,
    instance: &Value,
    what: &str,
    prefix: &str,
) -> Vec<SchemaViolation> {
    let validator = match compiled {
        Ok(v) => v,
        Err(e) => {
            return vec![SchemaViolation {
                chart: what.to_string(),
                path: String::new(),
                rule: format!("the schema itself is invalid: {e}"),
            }];
        }
    };
    validator
        .iter_errors(instance)
        .map(|e| {
            let pointer = e.instance_path().to_string();
            let rel = pointer
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| super::escape_key(&s.replace("~1", "/").replace("~0", "~")))
                .collect::<Vec<_>>()
                .join(".");
            let path = match (prefix.is_empty(), rel.is_empty()) {
                (true, _) => rel,
                (false, true) => prefix.to_string(),
                (false, false) => format!("{prefix}.{rel}"),
            };
            // The validator quotes the offending value; under a secret-looking key (or when
            // the value holds one) it is replaced, so a typo'd password never prints.
            let mut rule = e.to_string();
            let inst = e.instance();
            if super::redact::is_secret_path(&path) || holds_secret(inst) {
                let shown = inst.to_string();
                if !shown.is_empty() {
                    rule = rule.replace(&shown, "<redacted value>");
                }
            }
            SchemaViolation {
                chart: what.to_string(),
                path,
                rule,
            }
        })
        .collect()
}

/// Whether a value has a non-empty leaf under a secret-looking key.
fn holds_secret(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (super::redact::is_secret_key(k) && !v.is_null() && v != "") || holds_secret(v)
        }),
        Value::Array(a) => a.iter().any(holds_secret),
        _ => false,
    }
}
