//! Wall-clock time as Kubernetes and the audit log write it: RFC 3339, UTC, whole seconds.

use k8s_openapi::jiff::Timestamp;

/// Now, as `2026-11-25T16:38:41Z`.
pub fn now_rfc3339() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Now, usable in a file name (no colons): `2026-11-25T163841Z`.
pub fn now_for_file_name() -> String {
    now_rfc3339().replace(':', "")
}

/// An age as kubectl prints it: `45s`, `12m`, `5h`, `3d`.
pub fn short_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_rfc3339_in_utc_to_the_second() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(t.parse::<k8s_openapi::jiff::Timestamp>().is_ok(), "{t}");
        assert!(!super::now_for_file_name().contains(':'));
    }
}
