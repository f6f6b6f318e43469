//! Which Kubernetes release the simulated cluster claims to be, and the API versions that
//! release served. Removals and GA arrivals follow shared/SIMULATOR.md ("API versions removed,
//! by Kubernetes release"), taken from Kubernetes' deprecated-API migration guide
//! (https://kubernetes.io/docs/reference/using-api/deprecation-guide/). SelfSubjectReview went
//! GA in 1.28 (KEP-3325, https://kubernetes.io/docs/reference/access-authn-authz/authentication/#self-subject-review).

use std::cmp::Ordering;

use super::resources::{ResourceType, at_version};

/// The oldest and newest releases the simulator can be.
pub const OLDEST_MINOR: u32 = 23;
pub const NEWEST_MINOR: u32 = 33;

/// A Kubernetes 1.x release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeVersion {
    pub minor: u32,
}

impl Default for KubeVersion {
    fn default() -> Self {
        KubeVersion {
            minor: NEWEST_MINOR,
        }
    }
}

impl std::str::FromStr for KubeVersion {
    type Err = String;
    /// `1.24`, `v1.24` or `1.24.3` (the patch is ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not a Kubernetes version the simulator knows; give 1.{OLDEST_MINOR} to 1.{NEWEST_MINOR}, e.g. 1.24"
            )
        };
        let t = s.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let (major, minor) = (parts.next(), parts.next());
        if major != Some("1") || parts.next().is_some_and(|p| p.parse::<u32>().is_err()) {
            return Err(bad());
        }
        let minor: u32 = minor.and_then(|m| m.parse().ok()).ok_or_else(bad)?;
        if !(OLDEST_MINOR..=NEWEST_MINOR).contains(&minor) {
            return Err(bad());
        }
        Ok(KubeVersion { minor })
    }
}

impl KubeVersion {
    /// `/version`'s `gitVersion`.
    pub fn git_version(&self) -> String {
        // The newest is the patch release the simulator was first modelled on.
        let patch = if self.minor == NEWEST_MINOR { 2 } else { 0 };
        format!("v1.{}.{patch}", self.minor)
    }

    /// The built-in types this release serves: the GA set of the newest release, less what
    /// had not arrived yet, plus the beta versions not yet removed.
    pub fn builtin_types(&self) -> Vec<ResourceType> {
        let m = self.minor;
        let mut types: Vec<ResourceType> = super::resources::builtin()
            .into_iter()
            .filter(
                |t| match (t.group.as_str(), t.version.as_str(), t.kind.as_str()) {
                    ("admissionregistration.k8s.io", "v1", k)
                        if k.starts_with("ValidatingAdmission") =>
                    {
                        m >= 30
                    }
                    ("flowcontrol.apiserver.k8s.io", "v1", _) => m >= 29,
                    ("storage.k8s.io", "v1", "CSIStorageCapacity") => m >= 24,
                    ("authentication.k8s.io", "v1", "SelfSubjectReview") => m >= 28,
                    _ => true,
                },
            )
            .collect();
        let mut add = |on: bool, group: &str, version: &str, kind: &str, plural: &str| {
            if on {
                types.push(at_version(group, version, kind, plural));
            }
        };
        add(m < 25, "batch", "v1beta1", "CronJob", "cronjobs");
        add(
            m < 25,
            "discovery.k8s.io",
            "v1beta1",
            "EndpointSlice",
            "endpointslices",
        );
        add(m < 25, "events.k8s.io", "v1beta1", "Event", "events");
        add(
            m < 25,
            "autoscaling",
            "v2beta1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        );
        add(
            m < 25,
            "policy",
            "v1beta1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
        );
        add(
            m < 25,
            "policy",
            "v1beta1",
            "PodSecurityPolicy",
            "podsecuritypolicies",
        );
        add(
            m < 25,
            "node.k8s.io",
            "v1beta1",
            "RuntimeClass",
            "runtimeclasses",
        );
        add(
            m < 26,
            "autoscaling",
            "v2beta2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        );
        add(
            m < 27,
            "storage.k8s.io",
            "v1beta1",
            "CSIStorageCapacity",
            "csistoragecapacities",
        );
        for (v, on) in [
            ("v1beta1", m < 26),
            ("v1beta2", m < 29),
            ("v1beta3", (26..32).contains(&m)),
        ] {
            add(
                on,
                "flowcontrol.apiserver.k8s.io",
                v,
                "FlowSchema",
                "flowschemas",
            );
            add(
                on,
                "flowcontrol.apiserver.k8s.io",
                v,
                "PriorityLevelConfiguration",
                "prioritylevelconfigurations",
            );
        }
        types
    }
}

/// Orders API versions as Kubernetes does for "preferred": GA before beta before alpha,
/// higher numbers first (v2 > v1 > v2beta2 > v1beta1 > v1alpha1); other names last,
/// alphabetically.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn rank(v: &str) -> (u8, u32, u32, String) {
        let parsed = v.strip_prefix('v').and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: u32 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            let (stage, n) = if tail.is_empty() {
                (3, 0)
            } else if let Some(n) = tail.strip_prefix("beta") {
                (2, n.parse().ok()?)
            } else if let Some(n) = tail.strip_prefix("alpha") {
                (1, n.parse().ok()?)
            } else {
                return None;
            };
            Some((stage, major, n))
        });
        match parsed {
            Some((stage, major, n)) => (stage, major, n, String::new()),
            None => (0, 0, 0, v.to_string()),
        }
    }
    let (ra, rb) = (rank(a), rank(b));
    // Higher stage, major and stage number first; unknown names alphabetically.
    rb.0.cmp(&ra.0)
        .then(rb.1.cmp(&ra.1))
        .then(rb.2.cmp(&ra.2))
        .then(ra.3.cmp(&rb.3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(minor: u32, gv: &str, kind: &str) -> bool {
        KubeVersion { minor }
            .builtin_types()
            .iter()
            .any(|t| t.api_version() == gv && t.kind == kind)
    }

    #[test]
    fn parses_the_forms_users_type_and_refuses_the_rest() {
        assert_eq!("1.24".parse::<KubeVersion>().unwrap().minor, 24);
        assert_eq!("v1.30.4".parse::<KubeVersion>().unwrap().minor, 30);
        for bad in ["1.22", "1.34", "2.1", "banana", "", "1.x", "1.24.x"] {
            let e = bad.parse::<KubeVersion>().unwrap_err();
            assert!(e.contains("1.23 to 1.33"), "{bad}: {e}");
        }
    }

    #[test]
    fn removed_versions_stop_at_their_release() {
        assert!(served(24, "batch/v1beta1", "CronJob"));
        assert!(!served(25, "batch/v1beta1", "CronJob"));
        assert!(served(24, "policy/v1beta1", "PodSecurityPolicy"));
        assert!(!served(25, "policy/v1beta1", "PodSecurityPolicy"));
        assert!(served(25, "autoscaling/v2beta2", "HorizontalPodAutoscaler"));
        assert!(!served(
            26,
            "autoscaling/v2beta2",
            "HorizontalPodAutoscaler"
        ));
        assert!(served(26, "storage.k8s.io/v1beta1", "CSIStorageCapacity"));
        assert!(!served(27, "storage.k8s.io/v1beta1", "CSIStorageCapacity"));
        assert!(served(
            28,
            "flowcontrol.apiserver.k8s.io/v1beta2",
            "FlowSchema"
        ));
        assert!(!served(
            29,
            "flowcontrol.apiserver.k8s.io/v1beta2",
            "FlowSchema"
        ));
        assert!(served(
            31,
            "flowcontrol.apiserver.k8s.io/v1beta3",
            "FlowSchema"
        ));
        assert!(!served(
            32,
            "flowcontrol.apiserver.k8s.io/v1beta3",
            "FlowSchema"
        ));
    }

    #[test]
    fn ga_versions_start_at_their_release() {
        assert!(!served(
            29,
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy"
        ));
        assert!(served(
            30,
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy"
        ));
        assert!(!served(28, "flowcontrol.apiserver.k8s.io/v1", "FlowSchema"));
        assert!(served(29, "flowcontrol.apiserver.k8s.io/v1", "FlowSchema"));
        assert!(served(23, "autoscaling/v2", "HorizontalPodAutoscaler"));
        assert!(served(23, "policy/v1", "PodDisruptionBudget"));
        assert!(!served(23, "storage.k8s.io/v1", "CSIStorageCapacity"));
        let newest = KubeVersion::default().builtin_types();
        assert_eq!(newest, crate::resources::builtin());
    }

    #[test]
    fn preferred_version_is_ga_then_beta_then_alpha() {
        let mut vs = vec!["v1beta1", "v2beta2", "v1", "v2", "v1alpha1", "v2beta1"];
        vs.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            vs,
            ["v2", "v1", "v2beta2", "v2beta1", "v1beta1", "v1alpha1"]
        );
    }
}
