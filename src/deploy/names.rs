//! Names checked before anything runs, by the rules helm and the API server apply later —
//! so a bad name is a usage error naming the rule, not a half-made release.

/// Helm's rule for release names (helm v3 `pkg/chartutil/validate_name.go`: lowercase
/// alphanumerics and `-`, dot-separated, starting and ending alphanumeric; at most 53
/// characters, `releaseNameMaxLen`, leaving 10 of Kubernetes' 63 for the chart's suffixes).
pub fn release(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a release name cannot be empty".into());
    }
    if name.len() > 53 {
        return Err(format!(
            "release name {name:?} has {} characters; helm allows 53",
            name.len()
        ));
    }
    if !name.split('.').all(label_ok) {
        return Err(format!(
            "release name {name:?} is not valid: lowercase letters, digits and '-', dot-separated, starting and ending with a letter or digit (helm's rule), e.g. posthog"
        ));
    }
    Ok(())
}

/// A namespace is a DNS-1123 label (Kubernetes' `ValidateNamespaceName`): lowercase
/// alphanumerics and '-', starting and ending alphanumeric, 1 to 63 characters.
pub fn namespace(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a namespace cannot be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "namespace {name:?} has {} characters; Kubernetes allows 63",
            name.len()
        ));
    }
    if !label_ok(name) {
        return Err(format!(
            "namespace {name:?} is not valid: lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS-1123 label), e.g. posthog"
        ));
    }
    Ok(())
}

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
