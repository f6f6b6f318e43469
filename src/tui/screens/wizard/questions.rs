//! The profile's questions as fields: prefilled from the release's values or the defaults,
//! typed into in place (yes/no and pick-one questions toggle), validated by the profile's rule.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Wizard;
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use crate::tui::widgets::{self, block};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

use super::Field;
use crate::profile::{BadAnswer, Profile};
use crate::tui::line_edit::LineEdit;
use crate::values;

/// The wizard's fields for a profile, prefilled from current values, else the defaults.
pub(super) fn fields_for(p: &Profile, current: &Map<String, Value>) -> Vec<Field> {
    let mut fields: Vec<Field> = p
        .questions
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
                secret: None,
            }
        })
        .collect();
    // The personal API key, when the profile names a Secret for it: what Verify needs to see
    // events arrive and the upgrade to read async migrations. Stored there, never shown.
    if let Some(secret) = p
        .ingestion
        .personal_api_key
        .as_ref()
        .and_then(|k| k.secret.clone())
    {
        fields.push(Field {
            question: crate::profile::Question {
                path: String::new(),
                prompt: "Personal API key of a staff user (optional)".into(),
                default: None,
                validate: crate::profile::Validation::Text,
                choices: Vec::new(),
                required: false,
                also: Default::default(),
                help: Some(format!(
                    "lets Verify see an event arrive and an upgrade read the async migrations; stored as Secret {} (key {}) in the release's namespace, never shown",
                    secret.name, secret.key
                )),
            },
            input: LineEdit::new(String::new()),
            error: None,
            secret: Some(secret),
        });
    }
    fields
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

/// A field's line: the text scrolled to keep the cursor in view (the cursor cell reversed),
/// toggles shown with their options.
pub(super) fn field_spans(fld: &Field, focus: bool, width: u16, t: &Theme) -> Vec<Span<'static>> {
    use crate::profile::Validation;
    let mut out = vec![Span::raw("    ")];
    if matches!(fld.question.validate, Validation::Boolean) {
        let on = fld.input.text.trim() == "true";
        let style = if focus { t.selected } else { t.dim };
        out.push(Span::styled(if on { "[x] yes" } else { "[ ] no" }, style));
        if focus {
            out.push(Span::styled("   space toggles", t.dim));
        }
        return out;
    }
    // A secret shows as dots, and only how long it is.
    if fld.secret.is_some() {
        let dots = "•".repeat(fld.input.text.chars().count());
        out.push(Span::styled(dots, if focus { t.selected } else { t.dim }));
        return out;
    }
    if !focus {
        out.push(Span::styled(fld.input.text.clone(), t.dim));
        return out;
    }
    let room = (width as usize).saturating_sub(8);
    let (before, at, after) = fld.input.view(room);
    out.push(Span::styled(before, t.selected));
    out.push(Span::styled(
        at,
        t.selected.add_modifier(ratatui::style::Modifier::REVERSED),
    ));
    out.push(Span::styled(after, t.selected));
    out
}

/// The profile's questions, the focused one kept whole in view.
pub(super) fn draw_questions(
    f: &mut Frame,
    main: Rect,
    width: u16,
    w: &Wizard,
    app: &Session,
    t: &Theme,
) {
    let mut lines = Vec::new();
    // The focused question's lines, to keep them in view when the list is long.
    let mut focus_lines = 0..0;
    for (i, fld) in w.fields.iter().enumerate() {
        let focus = i == w.field;
        let first = lines.len();
        lines.push(Line::from(vec![
            Span::styled(if focus { "› " } else { "  " }, t.accent),
            Span::styled(
                fld.question.prompt.clone(),
                if focus { t.header } else { Style::default() },
            ),
            Span::styled(if fld.question.required { " *" } else { "" }, t.warn),
        ]));
        lines.push(Line::from(field_spans(fld, focus, width, t)));
        if let Some(e) = &fld.error {
            lines.push(Line::from(Span::styled(format!("    ✗ {e}"), t.fail)));
        } else if focus && let Some(h) = &fld.question.help {
            lines.push(Line::from(Span::styled(format!("    {h}"), t.dim)));
        }
        if focus {
            focus_lines = first..lines.len();
        }
    }
    if w.fields.is_empty() {
        lines.push(Line::from("This profile asks nothing. Press enter."));
    }
    let name = app
        .profiles
        .get(w.profile)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    // Long prompts and help wrap; the list scrolls to keep the focused question whole.
    let width = main.width.saturating_sub(2);
    let rows = |ls: &[Line]| -> u16 {
        ls.iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                widgets::wrapped_rows(&text, width).max(1)
            })
            .sum()
    };
    let before = rows(&lines[..focus_lines.start]);
    let through = before + rows(&lines[focus_lines]);
    let offset = through.saturating_sub(main.height.saturating_sub(2));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((offset.min(before), 0))
            .block(block(format!(" questions · {name} "), t).title_bottom(" enter: next ")),
        main,
    );
}
