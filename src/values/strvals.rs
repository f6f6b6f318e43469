//! Helm's `--set` language (`strvals`), reproduced rule for rule.
//!
//! `a.b=c`, `a[0]=x`, `a\.b=c`, `{x,y}` lists, `true`/`false`/`null` and int64 type inference
//! (`1.5`, `010` and integers beyond int64 stay strings), `--set-string`, `--set-json` and
//! `--set-file`. Values are written *into* the map built so far, exactly as Helm does, so
//! `--set list[1]=x` edits a list that an earlier `-f` file supplied.

use serde_json::{Map, Value};

/// Which flag an expression came from; decides how its values are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetKind {
    Set,
    SetString,
    SetJson,
    SetFile,
    SetLiteral,
}

impl SetKind {
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Set => "--set",
            SetKind::SetString => "--set-string",
            SetKind::SetJson => "--set-json",
            SetKind::SetFile => "--set-file",
            SetKind::SetLiteral => "--set-literal",
        }
    }
}

/// A `--set` expression that Helm would reject, with the position to point at.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{flag} {expr}: {message}\n  {expr}\n  {caret}^")]
pub struct SetError {
    pub flag: &'static str,
    pub expr: String,
    /// Character offset in `expr` where parsing failed.
    pub position: usize,
    pub message: String,
    caret: String,
}

/// A `--set-file` path that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct Unreadable {
    pub path: std::path::PathBuf,
    #[source]
    pub source: crate::limits::InputError,
}

/// `key=value` with the values of secret-looking keys replaced (`a.password=<redacted>`). A
/// failed expression's commas and braces cannot be trusted to end a value (`{Pw1,Pw2`,
/// `Pw\,tail`), so everything after the first secret key's `=` is hidden.
fn masked(expr: &str) -> String {
    let mut out = Vec::new();
    for part in expr.split(',') {
        match part.split_once('=') {
            Some((k, _)) if super::redact::is_secret_path(k) => {
                out.push(format!("{k}=<redacted>"));
                break;
            }
            _ => out.push(part.to_string()),
        }
    }
    out.join(",")
}

const MAX_INDEX: i64 = 65536;
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// How many list elements `--set` indexes may make, across every flag of one command: each
/// index may reach 65,536 as helm allows, but 5,000 of them would be 300 million elements.
pub const LIST_BUDGET: u64 = 1_000_000;

/// Applies one expression to `dest`. `read_file` resolves `--set-file` paths.
pub fn parse_into(
    kind: SetKind,
    expr: &str,
    dest: &mut Map<String, Value>,
    read_file: &mut dyn FnMut(&str) -> Result<String, Unreadable>,
) -> Result<(), SetError> {
    parse_counted(kind, expr, dest, read_file, &mut 0)
}

/// [`parse_into`], counting the list elements its indexes may make in `grown`, which the
/// caller shares across every expression (see [`LIST_BUDGET`]).
pub fn parse_counted(
    kind: SetKind,
    expr: &str,
    dest: &mut Map<String, Value>,
    read_file: &mut dyn FnMut(&str) -> Result<String, Unreadable>,
    grown: &mut u64,
) -> Result<(), SetError> {
    if kind == SetKind::SetLiteral {
        return parse_literal(expr, dest);
    }
    let mut p = StrParser {
        chars: expr.chars().collect(),
        pos: 0,
        kind,
        read_file,
        grown,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Fail(pos, message)) => {
                // A value under a secret-looking key is not echoed back.
                let shown = masked(expr);
                let position = pos.min(shown.chars().count());
                return Err(SetError {
                    flag: kind.flag(),
                    expr: shown,
                    position,
                    caret: " ".repeat(position),
                    message,
                });
            }
        }
    }
}

enum Stop {
    Eof,
    Fail(usize, String),
}

struct StrParser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
    read_file: &'a mut dyn FnMut(&str) -> Result<String, Unreadable>,
    grown: &'a mut u64,
}

fn fail<T>(pos: usize, msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Fail(pos, msg.into()))
}

impl StrParser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads until one of `stop`, honouring backslash escapes. `None` as the stop means EOF.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        loop {
            match self.read() {
                None => return (out, None),
                Some(c) if stop.contains(&c) => return (out, Some(c)),
                Some('\\') => match self.read() {
                    None => return (out, None),
                    Some(n) => out.push(n),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn typed(&mut self, raw: String, at: usize) -> Result<Value, Stop> {
        match self.kind {
            SetKind::SetString => Ok(Value::String(raw)),
            SetKind::SetFile => match (self.read_file)(&raw) {
                Ok(s) => Ok(Value::String(s)),
                Err(e) => fail(at, e.to_string()),
            },
            _ => Ok(typed_val(&raw)),
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> Result<(), Stop> {
        let start = self.pos;
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    Err(Stop::Eof)
                } else {
                    fail(self.pos, format!("key {k:?} has no value"))
                }
            }
            Some('[') => {
                let i = self.key_index()?;
                let mut list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::Array(l)) => l.clone(),
                    Some(other) => {
                        return fail(
                            start,
                            format!(
                                "{k:?} is {} here, not a list, so it cannot be indexed",
                                crate::yaml::kind_name(other)
                            ),
                        );
                    }
                };
                let res = self.list_item(&mut list, i, level);
                set(data, &k, Value::Array(list));
                res
            }
            Some('=') => {
                if self.kind == SetKind::SetJson {
                    if self.empty_val() {
                        set(data, &k, Value::Null);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                let at = self.pos;
                match self.val_list()? {
                    ListOrNot::List(vl) => {
                        set(data, &k, Value::Array(vl));
                        Ok(())
                    }
                    ListOrNot::Eof => {
                        set(data, &k, Value::String(String::new()));
                        Err(Stop::Eof)
                    }
                    ListOrNot::NotList => {
                        let (raw, _) = self.until(&[',']);
                        let v = self.typed(raw, at)?;
                        set(data, &k, v);
                        Ok(())
                    }
                }
            }
            Some(',') => {
                set(data, &k, Value::String(String::new()));
                fail(
                    self.pos - 1,
                    format!("key {k:?} has no value (cannot end with ,)"),
                )
            }
            Some(_) => {
                // '.'
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return fail(
                        self.pos,
                        format!(
                            "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                        ),
                    );
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(other) => {
                        return fail(
                            start,
                            format!(
                                "{k:?} is {} here, not a mapping, so {k:?}.… cannot be set",
                                crate::yaml::kind_name(other)
                            ),
                        );
                    }
                };
                let e = self.key(&mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return fail(self.pos, format!("key map {k:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, Stop> {
        let at = self.pos;
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return fail(self.pos, "error parsing index: missing ']'");
        }
        match v.parse::<i64>() {
            Ok(i) if i > MAX_INDEX => fail(
                at,
                format!("index of {i} is greater than maximum supported index of {MAX_INDEX}"),
            ),
            Ok(i) => {
                *self.grown += i.max(0) as u64 + 1;
                if *self.grown > LIST_BUDGET {
                    return fail(
                        at,
                        format!(
                            "list indexes across the --set flags reach {} elements, past the {LIST_BUDGET} helmdeck allows: set lists whole with --set-json or a values file",
                            *self.grown
                        ),
                    );
                }
                Ok(i)
            }
            Err(_) => fail(at, format!("error parsing index: {v:?} is not a number")),
        }
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: i64, level: usize) -> Result<(), Stop> {
        if i < 0 {
            return fail(self.pos, format!("negative {i} index not allowed"));
        }
        let i = i as usize;
        let at = self.pos;
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return fail(at, format!("unexpected data at end of array index: {k:?}"));
        }
        match last {
            None => Err(Stop::Eof),
            Some('=') => {
                if self.kind == SetKind::SetJson {
                    if self.empty_val() {
                        set_index(list, i, Value::Null);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set_index(list, i, v);
                    self.empty_val();
                    return Ok(());
                }
                let at = self.pos;
                match self.val_list()? {
                    ListOrNot::List(vl) => {
                        set_index(list, i, Value::Array(vl));
                        Ok(())
                    }
                    ListOrNot::Eof => {
                        set_index(list, i, Value::String(String::new()));
                        Ok(())
                    }
                    ListOrNot::NotList => {
                        let (raw, _) = self.until(&[',']);
                        let v = self.typed(raw, at)?;
                        set_index(list, i, v);
                        Ok(())
                    }
                }
            }
            Some('[') => {
                let next = self.key_index()?;
                let mut inner = match list.get(i) {
                    Some(Value::Array(l)) => l.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        return fail(
                            at,
                            format!(
                                "element {i} is {} here, not a list",
                                crate::yaml::kind_name(other)
                            ),
                        );
                    }
                };
                self.list_item(&mut inner, next, level)?;
                set_index(list, i, Value::Array(inner));
                Ok(())
            }
            Some(_) => {
                // '.'
                let mut inner = match list.get(i) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, level)?;
                set_index(list, i, Value::Object(inner));
                Ok(())
            }
        }
    }

    /// Consumes spaces up to a comma or the end (an empty value) or stops before anything else.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.chars.get(self.pos) {
                None => return true,
                Some(',') => {
                    self.pos += 1;
                    return true;
                }
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some(_) => return false,
            }
        }
    }

    fn json_value(&mut self) -> Result<Value, Stop> {
        let rest: String = self.chars[self.pos..].iter().collect();
        // As deep as helm's JSON reader goes (Go's encoding/json stops at 10,000 levels), no
        // deeper: past serde_json's own 128, on the deep stack commands run on.
        if let Some(at) = json_too_deep(&rest, crate::yaml::MAX_DEPTH) {
            return fail(
                self.pos + at,
                format!(
                    "exceeded max depth of {} (helm refuses it too)",
                    crate::yaml::MAX_DEPTH
                ),
            );
        }
        let mut de = serde_json::Deserializer::from_str(&rest);
        de.disable_recursion_limit();
        let mut stream = de.into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let consumed = rest[..stream.byte_offset()].chars().count();
                self.pos += consumed;
                Ok(normalise_json_numbers(v))
            }
            Some(Err(e)) => fail(
                self.pos + e.column().saturating_sub(1),
                format!("invalid JSON: {e}"),
            ),
            None => fail(self.pos, "expected a JSON value"),
        }
    }

    fn val_list(&mut self) -> Result<ListOrNot, Stop> {
        match self.chars.get(self.pos) {
            None => return Ok(ListOrNot::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(ListOrNot::NotList),
        }
        let mut list = Vec::new();
        loop {
            let at = self.pos;
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return fail(self.pos, "list must terminate with '}'"),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(self.typed(rs, at)?);
                    return Ok(ListOrNot::List(list));
                }
                Some(_) => list.push(self.typed(rs, at)?),
            }
        }
    }
}

enum ListOrNot {
    List(Vec<Value>),
    NotList,
    Eof,
}

fn set(data: &mut Map<String, Value>, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

fn set_index(list: &mut Vec<Value>, i: usize, v: Value) {
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
}

/// Helm's `typedVal`: booleans and null case-insensitively, `0`, and int64 without a leading 0.
pub fn typed_val(s: &str) -> Value {
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if s == "0" {
        return Value::from(0);
    }
    if let Some(i) = (!s.is_empty() && !s.starts_with('0'))
        .then(|| parse_go_decimal_i64(s))
        .flatten()
    {
        return Value::from(i);
    }
    Value::String(s.to_string())
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only.
fn parse_go_decimal_i64(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Go decodes JSON numbers as float64.
fn normalise_json_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => crate::yaml::number_from_f64(n.as_f64().unwrap_or(0.0)),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise_json_numbers).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalise_json_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `--set-literal`: the key path is parsed like `--set`, the value is taken verbatim.
fn parse_literal(expr: &str, dest: &mut Map<String, Value>) -> Result<(), SetError> {
    let err = |position: usize, message: String| SetError {
        flag: SetKind::SetLiteral.flag(),
        expr: expr.to_string(),
        position,
        caret: " ".repeat(position),
        message,
    };
    let Some((path, value)) = expr.split_once('=') else {
        return Err(err(expr.chars().count(), "key has no value".into()));
    };
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = dest;
    for (n, part) in parts.iter().enumerate() {
        if n + 1 == parts.len() {
            cur.insert((*part).to_string(), Value::String(value.to_string()));
            break;
        }
        let entry = cur
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(m) => cur = m,
            _ => return Err(err(0, format!("{part:?} is not a mapping"))),
        }
    }
    Ok(())
}

/// Where (in characters) JSON text first nests deeper than `max` arrays and objects, skipping
/// strings.
fn json_too_deep(text: &str, max: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.chars().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: SetKind, expr: &str) -> Result<Value, SetError> {
        let mut m = Map::new();
        parse_into(kind, expr, &mut m, &mut |p| Ok(format!("<{p}>")))?;
        Ok(Value::Object(m))
    }

    #[test]
    fn type_inference_matches_helm() {
        let v = run(
            SetKind::Set,
            "a=1,b=1.5,c=010,d=true,e=NULL,f=0,g=-3,h=99999999999999999999",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": 1, "b": "1.5", "c": "010", "d": true, "e": null, "f": 0, "g": -3,
                   "h": "99999999999999999999"})
        );
    }

    #[test]
    fn nesting_indexes_escapes_and_lists() {
        let v = run(SetKind::Set, r"a.b[1].c=x,k\.y=z,l={p,q},n[0][1]=5").unwrap();
        assert_eq!(
            v,
            json!({"a": {"b": [null, {"c": "x"}]}, "k.y": "z", "l": ["p", "q"], "n": [[null, 5]]})
        );
    }

    #[test]
    fn json_and_string_and_file() {
        assert_eq!(
            run(SetKind::SetJson, r#"a={"x":[1,2]},b=[true]"#).unwrap(),
            json!({"a": {"x": [1, 2]}, "b": [true]})
        );
        assert_eq!(run(SetKind::SetString, "a=1").unwrap(), json!({"a": "1"}));
        assert_eq!(
            run(SetKind::SetFile, "a=f.txt").unwrap(),
            json!({"a": "<f.txt>"})
        );
    }

    #[test]
    fn errors_point_at_the_failure() {
        let e = run(SetKind::Set, "a.b").unwrap_err();
        assert!(e.message.contains("has no value"), "{e}");
        let e = run(SetKind::Set, "a[x]=1").unwrap_err();
        assert_eq!(e.position, 2);
        assert!(e.to_string().contains("  ^"), "{e}");
        let e = run(SetKind::Set, "a={1,2").unwrap_err();
        assert!(e.message.contains("terminate"), "{e}");
    }
}
