//! The profile's questions as fields: prefilled from the release's values or the defaults,
//! typed into in place (yes/no and pick-one questions toggle), validated by the profile's rule.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

use super::Field;
use crate::profile::{BadAnswer, Profile};
use crate::tui::line_edit::LineEdit;
use crate::values;

/// The wizard's fields for a profile, prefilled from current values, else the defaults.
pub(super) fn fields_for(p: &Profile, current: &Map<String, Value>) -> Vec<Field> {
    p.questions
        .iter()
        .map(|q| {
            let v = values::get_path(current, &q.path).or(q.default.as_ref());
            Field {
                question: q.clone(),
                input: LineEdit::new(match v {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                }),
                error: None,
            }
        })
        .collect()
}

/// A field's typed answer, by the profile's validation rule.
pub fn validate_field(f: &Field) -> Result<Value, BadAnswer> {
    let text = f.input.text.trim();
    if text.is_empty() {
        return if f.question.required {
            Err(BadAnswer::Required)
        } else {
            Ok(Value::Null)
        };
    }
    crate::profile::validate_answer(&f.question, &Value::String(text.to_string()))
}

impl super::Wizard {
    /// Typing into the focused question; false when the key is not for the field.
    pub(super) fn field_key(&mut self, k: &KeyEvent) -> bool {
        use crate::profile::Validation;
        let Some(f) = self.fields.get_mut(self.field) else {
            return false;
        };
        let plain = !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        // Yes/no and pick-one questions are toggles: space and the arrows cycle, no typing.
        let options: Vec<String> = match f.question.validate {
            Validation::Boolean => vec!["true".into(), "false".into()],
            Validation::Enum if !f.question.choices.is_empty() => f.question.choices.clone(),
            _ => Vec::new(),
        };
        if !options.is_empty() {
            let at = options.iter().position(|o| *o == f.input.text.trim());
            let n = options.len();
            let next = match k.code {
                KeyCode::Char(' ') | KeyCode::Right if plain => at.map_or(0, |i| (i + 1) % n),
                KeyCode::Left if plain => at.map_or(0, |i| (i + n - 1) % n),
                KeyCode::Char('y') if plain && n == 2 => 0,
                KeyCode::Char('n') if plain && n == 2 => 1,
                _ => return false,
            };
            f.input = LineEdit::new(options[next].clone());
            f.error = None;
            return true;
        }
        if f.input.key(k) {
            f.error = None;
            return true;
        }
        false
    }

    /// Pasted text goes into the focused field, unless it is a toggle.
    pub(super) fn paste(&mut self, text: &str) {
        if let Some(f) = self.fields.get_mut(self.field)
            && !matches!(
                f.question.validate,
                crate::profile::Validation::Boolean | crate::profile::Validation::Enum
            )
        {
            f.input.insert(text);
            f.error = None;
        }
    }
}
