//! The API server's reading of resource quantities (`500m`, `4`, `16Gi`, `1e3`), in exact
//! integer milli-units as apimachinery's `Quantity.MilliValue()` gives them (rounded up), so
//! the scheduler and the volume expander compare what a real server compares.

/// Milli-units of a quantity: `500m` → 500, `2` → 2000, `1Ki` → 1_024_000.
pub fn milli(q: &str) -> Option<i128> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let (negative, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
        || whole.len() + frac.len() > 30
    {
        return None;
    }
    let mantissa: i128 = format!("{whole}{frac}").parse().ok()?;
    // value = mantissa × 10^exp10 × 2^exp2, in milli-units (+3).
    let (exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s if s.starts_with(['e', 'E']) => {
            (s[1..].parse::<i32>().ok().filter(|e| e.abs() <= 30)?, 0)
        }
        _ => return None,
    };
    let exp10 = exp10 + 3 - frac.len() as i32;
    let mut v = mantissa.checked_mul(1i128.checked_shl(exp2)?)?;
    if exp10 >= 0 {
        v = v.checked_mul(10i128.checked_pow(exp10 as u32)?)?;
    } else {
        let d = 10i128.checked_pow(exp10.unsigned_abs())?;
        v = (v + d - 1) / d;
    }
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::milli;

    #[test]
    fn reads_the_forms_pod_specs_use() {
        assert_eq!(milli("500m"), Some(500));
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(milli("0.5"), Some(500));
        assert_eq!(milli("1Ki"), Some(1_024_000));
        assert_eq!(milli("16Gi"), Some(16 * (1i128 << 30) * 1000));
        assert_eq!(milli("1e3"), Some(1_000_000));
        assert_eq!(milli("1.5G"), Some(1_500_000_000_000));
        assert_eq!(milli("1E"), Some(1_000_000_000_000_000_000_000));
    }

    #[test]
    fn rounds_sub_milli_values_up_like_apimachinery() {
        assert_eq!(milli("0.0001"), Some(1));
        assert_eq!(milli("1u"), Some(1));
        assert_eq!(milli("2500n"), Some(1));
    }

    #[test]
    fn refuses_what_is_not_a_quantity() {
        for bad in ["", "Gi", "1 Gi", "abc", "1.2.3", "--1", "1Qi", "1e"] {
            assert_eq!(milli(bad), None, "{bad}");
        }
    }
}
