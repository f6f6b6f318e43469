//! A YAML loader that resolves plain scalars the way Helm does.
//!
//! Helm reads values through `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1): `yes`/`on`/`y` are
//! booleans, `010` is octal, keys are stringified, and every number becomes a float64 once it
//! passes through JSON. serde_yaml follows YAML 1.2, so it would disagree with Helm on exactly
//! the inputs that surprise people; this loader follows Helm.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a YAML document failed to load, with the line shown to the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}\n{excerpt}")]
pub struct YamlError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub excerpt: String,
}

impl YamlError {
    fn new(origin: &str, text: &str, line: usize, column: usize, message: String) -> Self {
        let src = mask_line(text, line.saturating_sub(1));
        // A long line is shown as the 100 characters around the column.
        let chars: Vec<char> = src.chars().collect();
        let (src, col) = if chars.len() > 120 {
            let start = column.saturating_sub(50).min(chars.len());
            let end = (start + 100).min(chars.len());
            let head = if start > 0 { "…" } else { "" };
            let tail = if end < chars.len() { "…" } else { "" };
            let window: String = chars[start..end].iter().collect();
            (
                format!("{head}{window}{tail}"),
                column - start + head.len().min(1),
            )
        } else {
            (src, column)
        };
        let src = src.as_str();
        let caret = format!("{}^", " ".repeat(col.saturating_sub(1)));
        YamlError {
            origin: origin.to_string(),
            line,
            column,
            message,
            excerpt: format!("  {src}\n  {caret}"),
        }
    }
}

/// Line `n` of `text` as an error shows it: a value under a secret-looking key anywhere on the
/// line (block or flow style) is hidden, and so is the whole line when it sits under such a key
/// (the value written on the next lines).
fn mask_line(text: &str, n: usize) -> String {
    let line = text.lines().nth(n).unwrap_or("");
    let indent = |l: &str| l.len() - l.trim_start().len();
    // The nearest lines above with less indentation are this line's parents.
    let mut want = indent(line);
    for above in text.lines().take(n).collect::<Vec<_>>().into_iter().rev() {
        if above.trim().is_empty() || indent(above) >= want {
            continue;
        }
        want = indent(above);
        let key = above
            .trim_start()
            .trim_start_matches("- ")
            .split(':')
            .next()
            .unwrap_or("");
        if crate::secret_keys::is_secret_key(key.trim().trim_matches(['"', '\''])) {
            return format!("{}<redacted>", &line[..indent(line)]);
        }
        if want == 0 {
            break;
        }
    }
    if in_secret_env_entry(text, n) {
        return format!("{}<redacted>", &line[..indent(line)]);
    }
    mask_secret(line)
}

/// Whether line `n` belongs to a list item whose `name:` looks secret (an env entry such as
/// `- name: API_TOKEN` with its `value:` on another line of the item): the value is the secret.
fn in_secret_env_entry(text: &str, n: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let Some(line) = lines.get(n) else {
        return false;
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let item_body = |l: &str| {
        let b = l.trim_start();
        b.strip_prefix("- ").unwrap_or(b).to_string()
    };
    let secret_name = |body: &str| {
        body.strip_prefix("name:")
            .map(|v| v.trim().trim_matches(['"', '\'']))
            .is_some_and(crate::secret_keys::is_secret_key)
    };
    // The item's lines share the indentation of its first key (after "- ").
    let own = indent(line)
        + if line.trim_start().starts_with("- ") {
            2
        } else {
            0
        };
    let mut i = n + 1;
    // This line and those above it in the same item, up to the item's "- " line.
    while i > 0 {
        i -= 1;
        let l = lines[i];
        if l.trim().is_empty() {
            continue;
        }
        let starts_item = l.trim_start().starts_with("- ");
        let key_indent = indent(l) + if starts_item { 2 } else { 0 };
        if key_indent < own {
            return false;
        }
        if key_indent == own && secret_name(&item_body(l)) {
            return true;
        }
        if key_indent == own && starts_item {
            break;
        }
    }
    // Those below it in the same item.
    for l in lines.iter().skip(n + 1) {
        if l.trim().is_empty() {
            continue;
        }
        if indent(l) < own || l.trim_start().starts_with("- ") && indent(l) + 2 <= own {
            return false;
        }
        if indent(l) == own && secret_name(&item_body(l)) {
            return true;
        }
    }
    false
}

/// A line shown in an error, with the value of a secret-looking key replaced: a password
/// with a typo next to it must not end up in a terminal's scrollback or a CI log. In flow
/// style (`{password: x, …}`) everything after the first secret key is hidden.
fn mask_secret(line: &str) -> String {
    let mut start = 0;
    while let Some(i) = line[start..].find(':').map(|i| i + start) {
        let before = &line[..i];
        let key_start = before
            .rfind(['{', ',', '[', ' '])
            .map(|j| j + 1)
            .unwrap_or(0);
        let key = before[key_start..].trim().trim_matches(['"', '\'']);
        if before.contains('{') && crate::secret_keys::is_secret_key(key) {
            return format!("{}: <redacted>", &line[..i]);
        }
        // `{name: API_TOKEN, value: …}`: an env entry named like a secret hides the rest.
        if before.contains('{') && key == "name" {
            let rest = &line[i + 1..];
            let value_end = rest.find([',', '}']).unwrap_or(rest.len());
            let name = rest[..value_end].trim().trim_matches(['"', '\'']);
            if crate::secret_keys::is_secret_key(name) {
                return format!("{}: {name}, <redacted>", &line[..i]);
            }
        }
        start = i + 1;
    }
    mask_block(line)
}

fn mask_block(line: &str) -> String {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let (dash, rest) = match body.strip_prefix("- ") {
        Some(r) => ("- ", r),
        None => ("", body),
    };
    match rest.split_once(':') {
        Some((key, value))
            if !value.trim().is_empty()
                && crate::secret_keys::is_secret_key(key.trim().trim_matches(['"', '\''])) =>
        {
            format!("{indent}{dash}{key}: <redacted>")
        }
        _ => line.to_string(),
    }
}

/// JSON that may nest as deep as values may (helm's output, a release's stored values): without
/// serde_json's 128-level limit, on the deep stacks commands run on (see `cli::DEEP_STACK`).
pub fn deep_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let v = T::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Parses the first YAML document of `text` into a JSON value, resolving scalars as Helm does.
/// An empty document gives `Value::Null`.
pub fn parse(origin: &str, text: &str) -> Result<Value, YamlError> {
    // Characters YAML does not allow in a stream (a NUL byte, other C0 controls): go-yaml, and
    // so helm, refuses the file ("control characters are not allowed").
    if let Some((line, col)) = first_control_character(text) {
        return Err(YamlError::new(
            origin,
            text,
            line,
            col,
            "control characters are not allowed (helm refuses the file too)".into(),
        ));
    }
    // Line breaks to helm's YAML 1.1 reader that YAML 1.2 reads as ordinary characters: the
    // same file would mean different things, so it is refused with the place and the fix.
    if let Some((line, col, c)) = yaml11_line_break(text) {
        return Err(YamlError::new(
            origin,
            text,
            line,
            col,
            format!(
                "U+{:04X} is a line break to helm's YAML reader (YAML 1.1) and not to YAML 1.2: write an ordinary newline, or the escape \\u{:04X} inside double quotes",
                c as u32, c as u32
            ),
        ));
    }
    // A tab after a mapping's `:` separates key and value to go-yaml (helm reads `a:<TAB>b`);
    // the YAML 1.2 parser here refuses it. Where it does, that one tab is a separator, so it is
    // read as a space (same length: every position in messages stays right) and parsed again.
    let mut tabbed: Option<String> = None;
    let mut builder;
    let mut retries = 0;
    loop {
        builder = Builder::default();
        let t = tabbed.as_deref().unwrap_or(text);
        let Err(e) = Parser::new_from_str(t).load(&mut builder, false) else {
            break;
        };
        let m = e.marker();
        if retries < TAB_SEPARATOR_RETRIES
            && e.info()
                .contains("must be followed by a valid YAML whitespace")
            && let Some(fixed) = tab_after_colon_as_space(t, m.index())
        {
            tabbed = Some(fixed);
            retries += 1;
            continue;
        }
        return Err(YamlError::new(
            origin,
            text,
            m.line(),
            m.col() + 1,
            e.info().to_string(),
        ));
    }
    let text_as_read = tabbed.as_deref().unwrap_or(text);
    if let Some((mark, msg)) = builder.error {
        return Err(YamlError::new(
            origin,
            text,
            mark.line(),
            mark.col() + 1,
            msg,
        ));
    }
    // helm reads every document of a values file; a broken one after the first is refused
    // there, so here too (its events are not kept: only its syntax is checked).
    let mut syntax = Syntax::default();
    if let Err(e) = Parser::new_from_str(text_as_read).load(&mut syntax, true) {
        let m = e.marker();
        return Err(YamlError::new(
            origin,
            text,
            m.line(),
            m.col() + 1,
            format!(
                "{} (in a later document: helm refuses the file too)",
                e.info()
            ),
        ));
    }
    if let Some(m) = syntax.null_key {
        return Err(YamlError::new(
            origin,
            text,
            m.line(),
            m.col() + 1,
            format!("{NULL_KEY} (in a later document)"),
        ));
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

/// What helm says of a mapping key that is empty or null (sigs.k8s.io/yaml: "unsupported map
/// key of type: <nil>"; go-yaml: "did not find expected key" for an empty one).
const NULL_KEY: &str = "a mapping key is empty or null, which helm refuses (\"unsupported map key\"): name the key, or quote it (\"null\") if that is its name";

/// Receives a stream's events and keeps none: a syntax check, and the one rule of helm's the
/// parser does not apply (no empty or null mapping key).
#[derive(Default)]
struct Syntax {
    /// Per open collection: `None` for a sequence, `Some(expecting a key)` for a mapping.
    open: Vec<Option<bool>>,
    null_key: Option<Marker>,
}

impl Syntax {
    fn node(&mut self, null: bool, mark: Marker) {
        if let Some(Some(expecting_key)) = self.open.last_mut() {
            if *expecting_key && null && self.null_key.is_none() {
                self.null_key = Some(mark);
            }
            *expecting_key = !*expecting_key;
        }
    }
}

impl MarkedEventReceiver for Syntax {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(v, style, ..) => {
                let null = style == TScalarStyle::Plain
                    && matches!(v.as_str(), "" | "~" | "null" | "Null" | "NULL");
                self.node(null, mark);
            }
            Event::Alias(_) => self.node(false, mark),
            Event::MappingStart(..) => {
                self.node(false, mark);
                self.open.push(Some(true));
            }
            Event::SequenceStart(..) => {
                self.node(false, mark);
                self.open.push(None);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.open.pop();
            }
            _ => {}
        }
    }
}

/// The 1-based line and column of the first character YAML's printable set leaves out.
fn first_control_character(text: &str) -> Option<(usize, usize)> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    let (mut line, mut col) = (1, 0);
    for c in text.chars() {
        col += 1;
        if !allowed(c) {
            return Some((line, col));
        }
        if c == '\n' {
            line += 1;
            col = 0;
        }
    }
    None
}

/// How many `:<TAB>` separators one file may hold (each costs a parse).
const TAB_SEPARATOR_RETRIES: usize = 64;

/// `text` with the tabs between a `:` and the character the parser stopped at (character
/// index `at`) made spaces; `None` when the parser did not stop just after `:` and tabs.
fn tab_after_colon_as_space(text: &str, at: usize) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut i = at.min(chars.len());
    while i > 0 && chars[i - 1] == '\t' {
        i -= 1;
    }
    if i == at || i == 0 || chars[i - 1] != ':' {
        return None;
    }
    for c in &mut chars[i..at] {
        *c = ' ';
    }
    Some(chars.into_iter().collect())
}

/// The first NEL, LINE SEPARATOR or PARAGRAPH SEPARATOR, with its 1-based line and column.
fn yaml11_line_break(text: &str) -> Option<(usize, usize, char)> {
    let at = text.find(['\u{85}', '\u{2028}', '\u{2029}'])?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    text[at..].chars().next().map(|c| (line, col, c))
}

/// Parses a values file: the document must be a mapping (or empty).
pub fn parse_values(origin: &str, text: &str) -> Result<Map<String, Value>, YamlError> {
    match parse(origin, text)? {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        other => Err(YamlError::new(
            origin,
            text,
            1,
            1,
            format!(
                "the document must be a mapping of keys to values, found {}",
                kind_name(&other)
            ),
        )),
    }
}

/// A `--set`-style dotted path split into keys (`a\.b.c` → `a.b`, `c`).
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(n);
                }
            }
            '.' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// The 1-based line where a dotted key path is written in block-style YAML (best effort,
/// for pointing at a key that failed a check after parsing).
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    let segs = split_path(path);
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    let mut min_indent = 0usize;
    let mut found = None;
    for seg in segs {
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if found.is_some()
                && !trimmed.is_empty()
                && !trimmed.starts_with('#')
                && indent < min_indent
            {
                break;
            }
            let t = trimmed.trim_start_matches("- ");
            if t.starts_with(&format!("{seg}:")) || t.starts_with(&format!("\"{seg}\":")) {
                hit = Some((i, indent + 1));
                break;
            }
        }
        let (i, ind) = hit?;
        found = Some(i + 1);
        start = i + 1;
        min_indent = ind;
    }
    found
}

pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map {
        map: Map<String, Value>,
        key: Option<Value>,
        anchor: usize,
        /// Values from `<<` merge keys; explicit keys win over them.
        merged: Vec<Map<String, Value>>,
        merge_pending: bool,
    },
}

/// Nesting deeper than this is refused, as go-yaml refuses it ("exceeded max depth of 10000").
pub const MAX_DEPTH: usize = 10_000;

/// The share of decoded nodes go-yaml lets come from alias expansion (gopkg.in/yaml.v2
/// v2.4.0, decode.go `allowedAliasRatio`, the fix for CVE-2019-11253): 99 % up to 400,000
/// nodes, scaling down to 10 % at 4,000,000. Helm reads values through it, so a document
/// helm refuses for its aliases is refused here too, before it is expanded.
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    match decoded {
        d if d <= LOW => 0.99,
        d if d >= HIGH => 0.10,
        d => 0.99 - 0.89 * ((d - LOW) as f64 / (HIGH - LOW) as f64),
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Nodes in each open collection so far (itself included), beside `stack`.
    counts: Vec<u64>,
    root: Option<Value>,
    /// Each anchor's value and how many nodes it holds.
    anchors: HashMap<usize, (Value, u64)>,
    error: Option<(Marker, String)>,
    done: bool,
    /// Nodes decoded, and how many of them came from aliases (go-yaml's two counters).
    decoded: u64,
    aliased: u64,
}

impl Builder {
    /// Counts `n` nodes (from an alias when `alias`); false once the expansion is excessive.
    fn count(&mut self, n: u64, alias: bool, mark: Marker) -> bool {
        self.decoded += n;
        if alias {
            self.aliased += n;
        }
        if self.aliased > 100
            && self.decoded > 1000
            && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded)
        {
            self.error.get_or_insert((
                mark,
                "document contains excessive aliasing (helm refuses it too)".into(),
            ));
            return false;
        }
        true
    }

    fn add_to_parent(&mut self, n: u64) {
        if let Some(c) = self.counts.last_mut() {
            *c += n;
        }
    }

    fn open(&mut self, frame: Frame, mark: Marker) {
        if self.stack.len() >= MAX_DEPTH {
            self.error.get_or_insert((
                mark,
                format!("exceeded max depth of {MAX_DEPTH} (helm refuses it too)"),
            ));
            return;
        }
        if !self.count(1, false, mark) {
            return;
        }
        self.stack.push(frame);
        self.counts.push(1);
    }

    fn push_value(&mut self, v: Value, mark: Marker, is_merge_key: bool) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(v);
                }
            }
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map {
                map,
                key,
                merged,
                merge_pending,
                ..
            }) => {
                if *merge_pending {
                    *merge_pending = false;
                    match v {
                        Value::Object(m) => merged.push(m),
                        Value::Array(items) => {
                            for it in items {
                                match it {
                                    Value::Object(m) => merged.push(m),
                                    _ => {
                                        self.error.get_or_insert((
                                            mark,
                                            "map merge requires a map or a sequence of maps as the value".into(),
                                        ));
                                    }
                                }
                            }
                        }
                        _ => {
                            self.error.get_or_insert((
                                mark,
                                "map merge requires a map or a sequence of maps as the value"
                                    .into(),
                            ));
                        }
                    }
                } else if let Some(k) = key.take() {
                    map.insert(key_string(&k), v);
                } else if is_merge_key {
                    *merge_pending = true;
                } else {
                    if v.is_null() {
                        self.error.get_or_insert((mark, NULL_KEY.into()));
                    }
                    *key = Some(v);
                }
            }
        }
    }
}

/// sigs.k8s.io/yaml turns non-string keys into their text form.
fn key_string(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.done || self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentEnd if self.root.is_some() => self.done = true,
            Event::Scalar(text, style, anchor, tag) => {
                let is_merge = style == TScalarStyle::Plain
                    && text == "<<"
                    && matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                let v = match resolve(&text, style, tag.as_ref()) {
                    Ok(v) => v,
                    Err(msg) => {
                        self.error = Some((mark, msg));
                        return;
                    }
                };
                if !self.count(1, false, mark) {
                    return;
                }
                if anchor > 0 {
                    self.anchors.insert(anchor, (v.clone(), 1));
                }
                self.add_to_parent(1);
                self.push_value(v, mark, is_merge);
            }
            Event::Alias(id) => {
                let Some(n) = self.anchors.get(&id).map(|a| a.1) else {
                    self.error = Some((mark, "unknown anchor".into()));
                    return;
                };
                // Counted before the copy is made: an excessive one is never built.
                if !self.count(n, true, mark) {
                    return;
                }
                if let Some((v, _)) = self.anchors.get(&id).cloned() {
                    self.add_to_parent(n);
                    self.push_value(v, mark, false);
                }
            }
            Event::SequenceStart(anchor, _) => self.open(Frame::Seq(Vec::new(), anchor), mark),
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor)) = self.stack.pop() {
                    let n = self.counts.pop().unwrap_or(1);
                    let v = Value::Array(items);
                    if anchor > 0 {
                        self.anchors.insert(anchor, (v.clone(), n));
                    }
                    self.add_to_parent(n);
                    self.push_value(v, mark, false);
                }
            }
            Event::MappingStart(anchor, _) => self.open(
                Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                    merged: Vec::new(),
                    merge_pending: false,
                },
                mark,
            ),
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    map,
                    anchor,
                    merged,
                    ..
                }) = self.stack.pop()
                {
                    let n = self.counts.pop().unwrap_or(1);
                    let v = if merged.is_empty() {
                        Value::Object(map)
                    } else {
                        let mut out = Map::new();
                        for m in merged {
                            for (k, v) in m {
                                out.entry(k).or_insert(v);
                            }
                        }
                        for (k, v) in map {
                            out.insert(k, v);
                        }
                        Value::Object(out)
                    };
                    if anchor > 0 {
                        self.anchors.insert(anchor, (v.clone(), n));
                    }
                    self.add_to_parent(n);
                    self.push_value(v, mark, false);
                }
            }
            _ => {}
        }
    }
}

fn resolve(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        let suffix = tag.suffix.as_str();
        match suffix {
            "str" => return Ok(Value::String(text.to_string())),
            "int" | "float" => {
                return resolve_number(text)
                    .ok_or_else(|| format!("cannot decode {text:?} as !!{suffix}"));
            }
            "bool" => {
                return resolve_plain(text)
                    .filter(Value::is_boolean)
                    .ok_or_else(|| format!("cannot decode {text:?} as !!bool"));
            }
            "null" => return Ok(Value::Null),
            // go-yaml decodes base64 and refuses what is not.
            "binary" => {
                use base64::Engine;
                let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                return base64::engine::general_purpose::STANDARD
                    .decode(clean.as_bytes())
                    .map(|b| Value::String(String::from_utf8_lossy(&b).into_owned()))
                    .map_err(|_| {
                        "!!binary value contains invalid base64 data (helm refuses it too)"
                            .to_string()
                    });
            }
            _ => {}
        }
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    match resolve_plain(text) {
        Some(v) => Ok(v),
        None if is_special_float(text) => Err(format!(
            "{text} cannot be represented in JSON; quote it to keep it as a string"
        )),
        None => Ok(Value::String(text.to_string())),
    }
}

fn is_special_float(t: &str) -> bool {
    matches!(
        t,
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    )
}

/// go-yaml v2's resolution of an untagged plain scalar.
fn resolve_plain(t: &str) -> Option<Value> {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Some(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Some(Value::Bool(false));
        }
        _ => {}
    }
    let first = t.as_bytes()[0];
    if first == b'-' || first == b'+' || first == b'.' || first.is_ascii_digit() {
        return resolve_number(t);
    }
    None
}

fn resolve_number(t: &str) -> Option<Value> {
    let plain: String = t.chars().filter(|c| *c != '_').collect();
    if let Some(i) = parse_go_int(&plain) {
        return Some(number_from_f64(i as f64));
    }
    if let Some(f) = is_yaml_float(&plain)
        .then(|| plain.parse::<f64>().ok())
        .flatten()
    {
        return Some(number_from_f64(f));
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)` (with ParseUint as the fallback go-yaml uses).
fn parse_go_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(r) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, r)
    } else if let Some(r) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, r)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()? as i128;
    let v = if neg { -v } else { v };
    if v < i64::MIN as i128 || (neg && v > 0) {
        return None;
    }
    Some(v)
}

fn is_yaml_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let start = i;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let d = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == d {
            return false;
        }
    } else {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let d = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == d {
            return false;
        }
    }
    i == b.len()
}

/// Helm's values hold float64; integral ones print as integers, so keep them as integers here.
pub fn number_from_f64(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Value::Number(Number::from(f as i64))
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value under a secret key is hidden on the line an error shows, in block and flow
    /// style and when it sits on the lines below its key.
    #[test]
    fn error_lines_hide_secret_values_however_they_are_written() {
        let text = "a:\n  password:\n    s3cr3t: x: y\n  b: {token: t0k3n, c: [}\n  host: db\n";
        assert!(
            !mask_line(text, 2).contains("s3cr3t"),
            "{}",
            mask_line(text, 2)
        );
        assert!(
            !mask_line(text, 3).contains("t0k3n"),
            "{}",
            mask_line(text, 3)
        );
        assert_eq!(mask_line(text, 4), "  host: db");
        assert_eq!(mask_line("password: hunter2", 0), "password: <redacted>");
        // Env entries named like a secret: flow style, and the value on its own line of the
        // item, above or below the name.
        let flow = "    - {name: API_TOKEN, value: envs3cr3t, x: [}";
        assert!(
            !mask_line(flow, 0).contains("envs3cr3t"),
            "{}",
            mask_line(flow, 0)
        );
        let below = "env:\n  - name: DATABASE_PASSWORD\n    value: \"envs3cr3t\n";
        assert!(!mask_line(below, 2).contains("envs3cr3t"));
        let above = "env:\n  - value: \"envs3cr3t\n    name: API_TOKEN\n";
        assert!(!mask_line(above, 1).contains("envs3cr3t"));
        let plain = "env:\n  - name: LOG_LEVEL\n    value: \"debug\n";
        assert!(
            mask_line(plain, 2).contains("debug"),
            "an ordinary entry stays readable"
        );
    }
    use serde_json::json;

    /// `a0: &a0 [x, …]`, `a1: &a1 [*a0, …]`, …: each level `fanout` times the last.
    fn laughs(levels: usize, fanout: usize) -> String {
        let mut out = format!("a0: &a0 [{}]\n", vec!["x"; fanout].join(", "));
        for i in 1..=levels {
            let refs = vec![format!("*a{}", i - 1); fanout].join(", ");
            out.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        out
    }

    #[test]
    fn alias_expansion_is_bounded_as_helm_bounds_it() {
        // Seen with helm 4.1: levels 2 (fanout 10) load; 3 and more are "document contains
        // excessive aliasing".
        assert!(parse("t", &laughs(2, 10)).is_ok());
        for (levels, fanout) in [(3, 10), (9, 9), (30, 2)] {
            let e = parse("t", &laughs(levels, fanout)).unwrap_err();
            assert!(e.message.contains("excessive aliasing"), "{e}");
        }
        // A merge-key bomb is counted the same way.
        let mut merge = String::from("x0: &x0 {k: v}\n");
        for i in 1..12 {
            let refs = vec![format!("*x{}", i - 1); 9].join(", ");
            merge.push_str(&format!("x{i}: &x{i}\n  <<: [{refs}]\n  k{i}: v\n"));
        }
        assert!(
            parse("t", &merge)
                .unwrap_err()
                .message
                .contains("excessive aliasing")
        );
    }

    #[test]
    fn nesting_is_bounded() {
        // The parser stops at 256 levels (yaml-rust2's recursion limit), before our 10,000.
        let deep = "[".repeat(10_001);
        let e = parse("t", &deep).unwrap_err();
        assert!(
            e.message.contains("limit") || e.message.contains("depth"),
            "{}",
            e.message
        );
        assert!(parse("t", &format!("{}{}", "[".repeat(100), "]".repeat(100))).is_ok());
    }

    #[test]
    fn a_tab_after_a_mappings_colon_separates_as_in_helm() {
        let v = parse("t", "a:\tb\nc:\t\t{d: \"x:\ty\"}\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": "b", "c": {"d": "x:\ty"}}));
        // Anywhere else a tab is still what the parser says it is.
        assert!(parse("t", "a:\n\tb: 1\n").is_err());
    }

    #[test]
    fn a_secret_on_the_line_of_an_error_is_masked() {
        let e = parse("t", "a:\n  password: \"hunter2\n").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.excerpt.contains("password: <redacted>"), "{e}");
    }

    #[test]
    fn resolves_scalars_like_go_yaml_v2() {
        let v = parse(
            "t",
            "a: yes\nb: 010\nc: 0x1F\nd: 1_000\ne: 1e3\nf: '010'\ng: 1.5\nh: ~\ny: 2\ni: 2001-12-14\nj: -12\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": 8, "c": 31, "d": 1000, "e": 1000, "f": "010", "g": 1.5,
                   "h": null, "true": 2, "i": "2001-12-14", "j": -12})
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let v = parse("t", "base: &b {x: 1, z: 2}\nd:\n  <<: *b\n  z: 3\nl: *b\n").unwrap();
        assert_eq!(v["d"], json!({"x": 1, "z": 3}));
        assert_eq!(v["l"], json!({"x": 1, "z": 2}));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("values.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert_eq!(e.origin, "values.yaml");
        assert!(e.line >= 2, "{e}");
        assert!(e.to_string().contains("values.yaml:"), "{e}");
    }

    #[test]
    fn special_floats_are_rejected_like_helm() {
        assert!(parse("t", "a: .inf\n").is_err());
    }
}
