//! Chart.yaml's text fields as helm reads them. helm's YAML reader (sigs.k8s.io/yaml) turns a
//! number or boolean written where the chart's metadata wants text into text (`appVersion: 1.0`
//! is "1", `version: 1.2` is "1.2"): integers as written, floats as Go's
//! `strconv.FormatFloat(f, 'g', -1, 32)` prints them, booleans as true/false.

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;

/// A text field that may be written as a number or boolean.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(String::new()),
        other => as_text(other).map_err(D::Error::custom),
    }
}

/// An optional text field that may be written as a number or boolean.
pub fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        other => as_text(other).map(Some).map_err(D::Error::custom),
    }
}

fn as_text(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Value::Number(n) => Ok(go_float32_g(n.as_f64().unwrap_or_default())),
        Value::Array(_) => Err("invalid type: sequence, expected a string".into()),
        Value::Object(_) => Err("invalid type: mapping, expected a string".into()),
        Value::Null => Ok(String::new()),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits that read back as the same
/// float32, in plain notation unless the exponent is below -4 or at least the wider of the
/// digit count and the decimal point's position (then `d.ddde±XX`).
fn go_float32_g(f: f64) -> String {
    let f = f as f32;
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.25e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    // Go: eprec = 6 for shortest; if eprec > nd && nd >= dp then eprec = nd (dp = exp + 1).
    let dp = exp + 1;
    let eprec = if 6 > nd && nd >= dp { nd } else { 6 };
    let sign = if negative { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    if dp <= 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize));
    }
    if dp >= nd {
        return format!("{sign}{digits}{}", "0".repeat((dp - nd) as usize));
    }
    let (int, frac) = digits.split_at(dp as usize);
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_a_float32() {
        // Expected values are Go 1.22's strconv.FormatFloat(f, 'g', -1, 32).
        for (f, go) in [
            (1.0, "1"),
            (1.2, "1.2"),
            (1.10, "1.1"),
            (10.0, "10"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (100000000.0, "1e+08"),
            (-2.5, "-2.5"),
            (2.71, "2.71"),
        ] {
            assert_eq!(go_float32_g(f), go, "{f}");
        }
    }

    #[test]
    fn numbers_and_booleans_become_their_text_and_collections_are_refused() {
        assert_eq!(as_text(serde_json::json!(1)).unwrap(), "1");
        assert_eq!(as_text(serde_json::json!(1.0)).unwrap(), "1");
        assert_eq!(as_text(serde_json::json!(true)).unwrap(), "true");
        assert!(as_text(serde_json::json!([1])).is_err());
    }
}
