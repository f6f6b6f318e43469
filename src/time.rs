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
