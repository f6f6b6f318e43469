//! Which profile a cluster's nodes point to, from the `spec.providerID` each cloud's
//! controller sets: `<provider name>://<the provider's id>`, the name being the cloud
//! provider's own (`aws` in cloud-provider-aws, `gce` in cloud-provider-gcp, `azure` in
//! cloud-provider-azure, `digitalocean` in digitalocean-cloud-controller-manager, `k3s` in k3s's
//! embedded controller, `kind` in kind). Only said, never applied: the user picks the profile.

/// A profile the nodes point to, and the providerID that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub profile: &'static str,
    pub provider_id: String,
}

/// The profile every node with a providerID agrees on; None when none has one or they
/// disagree.
pub fn from_provider_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<Detected> {
    let mut found: Option<Detected> = None;
    for id in ids.into_iter().filter(|i| !i.is_empty()) {
        let scheme = id.split_once("://").map(|(s, _)| s)?;
        let profile = match scheme {
            "aws" => "aws",
            "gce" => "gcp",
            "azure" => "azure",
            "digitalocean" => "digitalocean",
            "k3s" | "kind" => "local",
            _ => return None,
        };
        match &found {
            Some(d) if d.profile != profile => return None,
            Some(_) => {}
            None => {
                found = Some(Detected {
                    profile,
                    provider_id: id.to_string(),
                })
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_clouds_scheme_names_its_profile_and_a_mix_names_none() {
        let one = |id: &str| from_provider_ids([id]).map(|d| d.profile);
        assert_eq!(one("aws:///us-east-1a/i-0abc"), Some("aws"));
        assert_eq!(one("gce://proj/us-central1-a/gke-n-1"), Some("gcp"));
        assert_eq!(
            one("azure:///subscriptions/s/resourceGroups/r"),
            Some("azure")
        );
        assert_eq!(one("digitalocean://123456"), Some("digitalocean"));
        assert_eq!(one("k3s://node-1"), Some("local"));
        assert_eq!(one("kind://docker/kind/kind-control-plane"), Some("local"));
        assert_eq!(one("hcloud://42"), None);
        assert_eq!(from_provider_ids(["aws:///a/i-1", "gce://p/z/n"]), None);
        assert_eq!(from_provider_ids([""]), None);
    }
}
