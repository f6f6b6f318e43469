//! Names checked before anything runs, by the rules helm and the API server apply later —
//! so a bad name is a usage error naming the rule, not a half-made release.

/// Helm's rule for release names (helm v3 `pkg/chartutil/validate_name.go`: lowercase
/// alphanumerics and `-`, dot-separated, starting and ending alphanumeric; at most 53
/// characters, `releaseNameMaxLen`, leaving 10 of Kubernetes' 63 for the chart's suffixes).
pub fn release(name: &str) -> Result<(), BadName> {
    let bad = |why| BadName {
        what: "release name",
        name: name.to_string(),
        why,
    };
    if name.is_empty() {
        return Err(bad(Why::Empty));
    }
    if name.len() > 53 {
        return Err(bad(Why::TooLong {
            len: name.len(),
            rule: "helm allows 53",
        }));
    }
    if !name.split('.').all(label_ok) {
        return Err(bad(Why::Invalid {
            rule: "lowercase letters, digits and '-', dot-separated, starting and ending with a letter or digit (helm's rule), e.g. posthog",
        }));
    }
    Ok(())
}

/// A namespace is a DNS-1123 label (Kubernetes' `ValidateNamespaceName`): lowercase
/// alphanumerics and '-', starting and ending alphanumeric, 1 to 63 characters.
pub fn namespace(name: &str) -> Result<(), BadName> {
    let bad = |why| BadName {
        what: "namespace",
        name: name.to_string(),
        why,
    };
    if name.is_empty() {
        return Err(bad(Why::Empty));
    }
    if name.len() > 63 {
        return Err(bad(Why::TooLong {
            len: name.len(),
            rule: "Kubernetes allows 63",
        }));
    }
    if !label_ok(name) {
        return Err(bad(Why::Invalid {
            rule: "lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS-1123 label), e.g. posthog",
        }));
    }
    Ok(())
}

/// A name refused, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadName {
    /// `release name`, `namespace`.
    pub what: &'static str,
    pub name: String,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    Empty,
    TooLong { len: usize, rule: &'static str },
    Invalid { rule: &'static str },
}

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, name) = (self.what, &self.name);
        match &self.why {
            Why::Empty => write!(f, "a {what} cannot be empty"),
            Why::TooLong { len, rule } => write!(f, "{what} {name:?} has {len} characters; {rule}"),
            Why::Invalid { rule } => write!(f, "{what} {name:?} is not valid: {rule}"),
        }
    }
}

impl std::error::Error for BadName {}

fn label_ok(l: &str) -> bool {
    let b = l.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helms_rule() {
        for ok in ["posthog", "ph-1", "a", "my.release", &"a".repeat(53)] {
            assert!(release(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Victim",
            "vic_tim",
            "-x",
            "x-",
            "a..b",
            "../../x",
            "a b",
            &"a".repeat(54),
        ] {
            assert!(release(bad).is_err(), "{bad}");
        }
        assert_eq!(
            release("").unwrap_err().to_string(),
            "a release name cannot be empty"
        );
        let long = release(&"a".repeat(54)).unwrap_err();
        assert!(matches!(long.why, Why::TooLong { len: 54, .. }));
        assert!(
            long.to_string()
                .ends_with("has 54 characters; helm allows 53"),
            "{long}"
        );
        let e = namespace("Kube").unwrap_err().to_string();
        assert!(
            e.starts_with("namespace \"Kube\" is not valid: lowercase"),
            "{e}"
        );
    }

    #[test]
    fn namespaces_are_dns_labels() {
        for ok in ["posthog", "kube-system", "a1", &"a".repeat(63)] {
            assert!(namespace(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a.b", "Posthog", "-a", &"a".repeat(64), "a_b"] {
            assert!(namespace(bad).is_err(), "{bad}");
        }
    }
}
