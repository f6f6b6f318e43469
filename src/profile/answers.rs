//! Answers to a profile's questions: a YAML file of `value.path: answer`, each validated by
//! its question's rule before it becomes a render layer.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Profile, Question};
use crate::values::{self, LayerSource, UserLayer};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Validation {
    Hostname,
    Email,
    /// A Kubernetes storage size such as `20Gi`.
    Size,
    Enum,
    Boolean,
    Text,
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Yaml(#[from] values::YamlError),
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{origin}: {key}: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
}

/// An answer its question's rule does not take, said as the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadAnswer {
    #[error("expected a single value, not a list or a mapping")]
    NotSingle,
    #[error("an answer is required")]
    Required,
    #[error("{0:?} is not a DNS hostname (e.g. posthog.example.com)")]
    NotHostname(String),
    #[error("{0:?} is not an email address")]
    NotEmail(String),
    #[error("{0:?} is not a storage size (e.g. 20Gi)")]
    NotSize(String),
    #[error("{given:?} is not one of: {}", choices.join(", "))]
    NotAChoice { given: String, choices: Vec<String> },
    #[error("{0:?} is not true or false")]
    NotBoolean(String),
}

/// Checks one answer against its question; returns the typed value to store.
pub fn validate_answer(q: &Question, v: &Value) -> Result<Value, BadAnswer> {
    // An answer to a secret question is never echoed back in the error.
    let secret = crate::values::redact::is_secret_path(&q.path);
    validate_text(q, v).map_err(|e| if secret { e.hidden() } else { e })
}

impl BadAnswer {
    /// The same complaint without the answer in it.
    fn hidden(self) -> BadAnswer {
        let h = || "<redacted>".to_string();
        match self {
            BadAnswer::NotHostname(_) => BadAnswer::NotHostname(h()),
            BadAnswer::NotEmail(_) => BadAnswer::NotEmail(h()),
            BadAnswer::NotSize(_) => BadAnswer::NotSize(h()),
            BadAnswer::NotAChoice { choices, .. } => BadAnswer::NotAChoice {
                given: h(),
                choices,
            },
            BadAnswer::NotBoolean(_) => BadAnswer::NotBoolean(h()),
            other => other,
        }
    }
}

fn validate_text(q: &Question, v: &Value) -> Result<Value, BadAnswer> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        _ => return Err(BadAnswer::NotSingle),
    };
    if text.is_empty() {
        return if q.required {
            Err(BadAnswer::Required)
        } else {
            Ok(Value::Null)
        };
    }
    match q.validate {
        Validation::Hostname => {
            let ok = text.len() <= 253
                && text.split('.').count() >= 2
                && text.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if ok {
                Ok(Value::String(text.to_ascii_lowercase()))
            } else {
                Err(BadAnswer::NotHostname(text))
            }
        }
        Validation::Email => {
            let ok = text
                .split_once('@')
                .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.starts_with('.'));
            if ok {
                Ok(Value::String(text))
            } else {
                Err(BadAnswer::NotEmail(text))
            }
        }
        Validation::Size => {
            if crate::quantity::parse_bytes(&text).is_some_and(|b| b > 0.0) {
                Ok(Value::String(text))
            } else {
                Err(BadAnswer::NotSize(text))
            }
        }
        Validation::Enum => {
            if q.choices.iter().any(|c| c == &text) {
                Ok(Value::String(text))
            } else {
                Err(BadAnswer::NotAChoice {
                    given: text,
                    choices: q.choices.clone(),
                })
            }
        }
        Validation::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" => Ok(Value::Bool(true)),
            "false" | "no" | "n" | "off" => Ok(Value::Bool(false)),
            _ => Err(BadAnswer::NotBoolean(text)),
        },
        Validation::Text => Ok(Value::String(text)),
    }
}

/// Loads an answers file for `profile` (questions' defaults fill what it leaves out).
pub fn load_answers(path: &Path, profile: Option<&Profile>) -> Result<UserLayer, AnswerError> {
    let (origin, doc) = read_answers(path)?;
    answers_layer(&origin, &doc, profile)
}

/// Reads an answers file as `path: answer` pairs, with its name as their origin; checking them
/// against a profile is [`answers_layer`]'s job.
pub fn read_answers(path: &Path) -> Result<(String, Map<String, Value>), AnswerError> {
    let origin = path.display().to_string();
    let text = crate::limits::read_text(path, crate::limits::limit(crate::limits::TEXT_DEFAULT))
        .map_err(|e| AnswerError::Read {
            path: origin.clone(),
            message: e.to_string(),
        })?;
    let doc = crate::yaml::parse_values(&origin, &text)?;
    Ok((origin, doc))
}

/// Builds the answers layer from `path: answer` pairs.
pub fn answers_layer(
    origin: &str,
    given: &Map<String, Value>,
    profile: Option<&Profile>,
) -> Result<UserLayer, AnswerError> {
    let questions: &[Question] = profile.map(|p| p.questions.as_slice()).unwrap_or(&[]);
    let mut out = Map::new();
    for (key, v) in given {
        let Some(q) = questions.iter().find(|q| &q.path == key) else {
            let known: Vec<&str> = questions.iter().map(|q| q.path.as_str()).collect();
            return Err(AnswerError::Invalid {
                origin: origin.to_string(),
                key: key.clone(),
                message: if known.is_empty() {
                    "no profile questions to answer (give --profile)".into()
                } else {
                    format!(
                        "not a question of this profile; questions: {}",
                        known.join(", ")
                    )
                },
            });
        };
        let typed = validate_answer(q, v).map_err(|why| AnswerError::Invalid {
            origin: origin.to_string(),
            key: key.clone(),
            message: why.to_string(),
        })?;
        if !typed.is_null() {
            brought(&mut out, q, &typed, given);
            values::set_path(&mut out, &q.path, typed);
        }
    }
    for q in questions {
        if given.contains_key(&q.path) {
            continue;
        }
        match &q.default {
            Some(d) => {
                brought(&mut out, q, d, given);
                values::set_path(&mut out, &q.path, d.clone())
            }
            None if q.required => {
                return Err(AnswerError::Invalid {
                    origin: origin.to_string(),
                    key: q.path.clone(),
                    message: format!("an answer is required ({})", q.prompt),
                });
            }
            None => {}
        }
    }
    Ok(UserLayer {
        source: LayerSource::Answers {
            origin: origin.to_string(),
        },
        values: out,
    })
}

/// The values a yes to `q` brings, except those answered in their own right.
fn brought(out: &mut Map<String, Value>, q: &Question, answer: &Value, given: &Map<String, Value>) {
    if answer != &Value::Bool(true) {
        return;
    }
    for (path, v) in &q.also {
        if !given.contains_key(path) {
            values::set_path(out, path, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(v: Validation) -> Question {
        Question {
            path: "a".into(),
            prompt: "A".into(),
            default: None,
            validate: v,
            choices: vec!["x".into(), "y".into()],
            required: true,
            help: None,
            also: Default::default(),
        }
    }

    /// A yes brings the question's companions, a no or no answer brings none, and a
    /// companion answered in its own right keeps that answer.
    #[test]
    fn a_yes_brings_its_companions() {
        let mut m = q(Validation::Boolean);
        m.path = "prometheus.enabled".into();
        m.required = false;
        m.also = [
            ("grafana.enabled".to_string(), json!(true)),
            (
                "prometheus-redis-exporter.rbac.pspEnabled".to_string(),
                json!(false),
            ),
        ]
        .into_iter()
        .collect();
        let local = crate::profile::ProfileSet::load(None)
            .unwrap()
            .get("local")
            .unwrap()
            .clone();
        let profile = |q: &Question| Profile {
            questions: vec![q.clone()],
            ..local.clone()
        };
        let layer = |given: Value, q: &Question| {
            answers_layer("t", given.as_object().unwrap(), Some(&profile(q)))
                .unwrap()
                .values
        };
        assert_eq!(
            Value::Object(layer(json!({"prometheus.enabled": true}), &m)),
            json!({"prometheus": {"enabled": true}, "grafana": {"enabled": true},
                   "prometheus-redis-exporter": {"rbac": {"pspEnabled": false}}})
        );
        assert_eq!(
            Value::Object(layer(json!({"prometheus.enabled": "no"}), &m)),
            json!({"prometheus": {"enabled": false}})
        );
        assert_eq!(Value::Object(layer(json!({}), &m)), json!({}));
        m.default = Some(json!(true));
        assert_eq!(layer(json!({}), &m)["grafana"], json!({"enabled": true}));
    }

    /// An answer to a question on a secret-looking path is never echoed in its error.
    #[test]
    fn a_bad_answer_to_a_secret_question_is_not_echoed() {
        let mut secret = q(Validation::Hostname);
        secret.path = "email.smtpPassword".into();
        let e = validate_answer(&secret, &serde_json::json!("not a host s3cr3t")).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e =
            validate_answer(&q(Validation::Hostname), &serde_json::json!("bad host")).unwrap_err();
        assert!(e.to_string().contains("bad host"), "{e}");
    }

    #[test]
    fn validations() {
        assert!(validate_answer(&q(Validation::Hostname), &json!("posthog.example.com")).is_ok());
        assert!(validate_answer(&q(Validation::Hostname), &json!("bad_host")).is_err());
        assert!(validate_answer(&q(Validation::Email), &json!("a@b.io")).is_ok());
        assert!(validate_answer(&q(Validation::Email), &json!("ab.io")).is_err());
        assert!(validate_answer(&q(Validation::Size), &json!("20Gi")).is_ok());
        assert!(validate_answer(&q(Validation::Size), &json!("20 apples")).is_err());
        assert!(validate_answer(&q(Validation::Enum), &json!("x")).is_ok());
        assert!(validate_answer(&q(Validation::Enum), &json!("z")).is_err());
        assert_eq!(
            validate_answer(&q(Validation::Boolean), &json!("yes")).unwrap(),
            json!(true)
        );
        assert!(validate_answer(&q(Validation::Hostname), &json!("")).is_err());
    }
}
