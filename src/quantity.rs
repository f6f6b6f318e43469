//! Kubernetes resource quantities (`500m`, `4`, `16Gi`, `1e3`), for requirement checks.

/// Bytes from a memory or storage quantity.
pub fn parse_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (s, mult) in SUFFIXES {
        if let Some(num) = q.strip_suffix(s) {
            return number(num).map(|n| n * mult);
        }
    }
    if let Some(num) = q.strip_suffix('m') {
        return number(num).map(|n| n / 1000.0);
    }
    number(q)
}

/// CPU cores from a CPU quantity (`500m` = 0.5; metrics-server writes nanocores, `2500000n`).
pub fn parse_cpu(q: &str) -> Option<f64> {
    let q = q.trim();
    for (suffix, per_core) in [('m', 1e3), ('u', 1e6), ('n', 1e9)] {
        if let Some(num) = q.strip_suffix(suffix) {
            return number(num).map(|n| n / per_core);
        }
    }
    parse_bytes(q)
}

fn number(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(' ') {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0)
}

/// Human form of bytes in binary units.
pub fn format_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["", "Ki", "Mi", "Gi", "Ti"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if v.fract() == 0.0 {
        format!("{v}{}", UNITS[i])
    } else {
        format!("{v:.1}{}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_bytes("16Gi"), Some(17_179_869_184.0));
        assert_eq!(parse_bytes("1G"), Some(1e9));
        assert_eq!(parse_cpu("500m"), Some(0.5));
        assert_eq!(parse_cpu("4"), Some(4.0));
        assert_eq!(parse_cpu("2500000n"), Some(0.0025));
        assert_eq!(parse_cpu("1500u"), Some(0.0015));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(format_bytes(17_179_869_184.0), "16Gi");
    }
}
