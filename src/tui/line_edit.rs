//! One line of editable text for wizard fields, the `/` filter and the `:` prompt, with the
//! keys shells and k9s users reach for: arrows, Home/End, ctrl-a/e/u/k/w, Delete, and a view
//! that scrolls sideways so the cursor stays on screen however long the text.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Text and a cursor, counted in characters (never inside a UTF-8 sequence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEdit {
    pub text: String,
    pub cursor: usize,
}

impl LineEdit {
    /// The text with the cursor at its end, as a prefilled field starts.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let cursor = text.chars().count();
        LineEdit { text, cursor }
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    fn byte(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map_or(self.text.len(), |(b, _)| b)
    }

    /// Inserts text at the cursor (typing and paste; line breaks become spaces).
    pub fn insert(&mut self, s: &str) {
        let clean: String = s
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let at = self.byte(self.cursor);
        self.text.insert_str(at, &clean);
        self.cursor += clean.chars().count();
    }

    fn delete_range(&mut self, from: usize, to: usize) {
        let (a, b) = (self.byte(from), self.byte(to));
        self.text.replace_range(a..b, "");
        self.cursor = from;
    }

    /// The start of the word before the cursor (spaces, then non-spaces), as ctrl-w deletes.
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut i = self.cursor;
        while i > 0 && chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    fn word_end(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut i = self.cursor;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        i
    }

    /// Applies an editing key; `false` when the key is not an editing key (enter, esc, tab,
    /// arrows up and down belong to the screen).
    pub fn key(&mut self, k: &KeyEvent) -> bool {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        let len = self.len();
        match k.code {
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = len,
            KeyCode::Char('b') if ctrl => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Char('f') if ctrl => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Char('u') if ctrl => self.delete_range(0, self.cursor),
            KeyCode::Char('k') if ctrl => self.delete_range(self.cursor, len),
            KeyCode::Char('w') if ctrl => self.delete_range(self.word_start(), self.cursor),
            KeyCode::Char('h') if ctrl => {
                if self.cursor > 0 {
                    self.delete_range(self.cursor - 1, self.cursor);
                }
            }
            KeyCode::Char('d') if ctrl => {
                if self.cursor < len {
                    let c = self.cursor;
                    self.delete_range(c, c + 1);
                }
            }
            KeyCode::Char('b') if alt => self.cursor = self.word_start(),
            KeyCode::Char('f') if alt => self.cursor = self.word_end(),
            KeyCode::Char(c) if !ctrl && !alt => self.insert(&c.to_string()),
            KeyCode::Backspace if alt || ctrl => self.delete_range(self.word_start(), self.cursor),
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.delete_range(self.cursor - 1, self.cursor);
                }
            }
            KeyCode::Delete => {
                if self.cursor < len {
                    let c = self.cursor;
                    self.delete_range(c, c + 1);
                }
            }
            KeyCode::Left if ctrl || alt => self.cursor = self.word_start(),
            KeyCode::Right if ctrl || alt => self.cursor = self.word_end(),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            _ => return false,
        }
        true
    }

    /// What fits in `width` columns: (text before the cursor, the character under it or a
    /// space, text after), scrolled so the cursor shows, with `…` where text is cut.
    pub fn view(&self, width: usize) -> (String, String, String) {
        let chars: Vec<char> = self.text.chars().collect();
        let width = width.max(4);
        let start = (self.cursor + 1).saturating_sub(width);
        let end = (start + width).min(chars.len());
        let mut before: String = chars[start..self.cursor.min(end)].iter().collect();
        if start > 0 {
            before = format!("…{}", before.chars().skip(1).collect::<String>());
        }
        let at = chars
            .get(self.cursor)
            .map_or(" ".to_string(), |c| c.to_string());
        let after_start = (self.cursor + 1).min(chars.len());
        let room = width.saturating_sub(before.chars().count() + 1);
        let rest: Vec<char> = chars[after_start..].to_vec();
        let after: String = if rest.len() > room {
            rest[..room.saturating_sub(1)].iter().collect::<String>() + "…"
        } else {
            rest.iter().collect()
        };
        (before, at, after)
    }
}

impl PartialEq<&str> for LineEdit {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl std::fmt::Display for LineEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn alt(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)
    }

    /// (start text, start cursor, keys) → (text, cursor): the table the issue asks for.
    #[test]
    fn keys_edit_text_and_move_the_cursor() {
        use KeyCode::*;
        let table: Vec<(&str, usize, Vec<KeyEvent>, &str, usize)> = vec![
            ("", 0, vec![k(Char('a')), k(Char('b'))], "ab", 2),
            ("abc", 3, vec![k(Left), k(Left), k(Char('X'))], "aXbc", 2),
            ("abc", 3, vec![k(Home), k(Char('>'))], ">abc", 1),
            ("abc", 0, vec![k(End), k(Char('!'))], "abc!", 4),
            ("abc", 3, vec![ctrl('a'), k(Delete)], "bc", 0),
            ("abc", 0, vec![ctrl('e'), k(Backspace)], "ab", 2),
            ("abc", 1, vec![k(Backspace), k(Backspace)], "bc", 0),
            ("abc", 3, vec![k(Delete)], "abc", 3),
            ("hello world", 11, vec![ctrl('w')], "hello ", 6),
            ("hello world  ", 13, vec![ctrl('w')], "hello ", 6),
            ("hello world", 5, vec![ctrl('u')], " world", 0),
            ("hello world", 5, vec![ctrl('k')], "hello", 5),
            (
                "hello world",
                11,
                vec![alt('b'), k(Char('_'))],
                "hello _world",
                7,
            ),
            (
                "hello world",
                0,
                vec![alt('f'), k(Char('!'))],
                "hello! world",
                6,
            ),
            (
                "héllo",
                5,
                vec![k(Left), k(Left), k(Left), k(Backspace)],
                "hllo",
                1,
            ),
            ("ab", 1, vec![k(Right), k(Right), k(Right)], "ab", 2),
            ("?", 1, vec![k(Char('?'))], "??", 2),
        ];
        for (start, cursor, keys, want, want_cursor) in table {
            let mut e = LineEdit {
                text: start.into(),
                cursor,
            };
            for key in &keys {
                e.key(key);
            }
            assert_eq!(
                (e.text.as_str(), e.cursor),
                (want, want_cursor),
                "{start:?} at {cursor} with {keys:?}"
            );
        }
    }

    #[test]
    fn screen_keys_are_not_editing_keys() {
        let mut e = LineEdit::new("x");
        for code in [KeyCode::Enter, KeyCode::Esc, KeyCode::Tab, KeyCode::Up] {
            assert!(!e.key(&k(code)));
        }
        assert_eq!(e, "x");
    }

    #[test]
    fn paste_inserts_at_the_cursor_on_one_line() {
        let mut e = LineEdit::new("ab");
        e.cursor = 1;
        e.insert("x\ny\tz");
        assert_eq!((e.text.as_str(), e.cursor), ("ax yzb", 5));
    }

    #[test]
    fn the_view_scrolls_to_keep_the_cursor_visible() {
        let e = LineEdit::new("abcdefghijklmnopqrstuvwxyz");
        let (before, at, after) = e.view(10);
        assert_eq!(at, " ");
        assert!(
            before.starts_with('…') && before.ends_with("xyz"),
            "{before}"
        );
        assert_eq!(before.chars().count() + 1 + after.chars().count(), 10);
        let mut e = e;
        e.cursor = 0;
        let (before, at, after) = e.view(10);
        assert_eq!((before.as_str(), at.as_str()), ("", "a"));
        assert!(after.ends_with('…'), "{after}");
        assert_eq!(after.chars().count(), 9);
    }
}
