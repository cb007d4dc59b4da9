//! What the binary carries: the built-in plugins' components, the
//! profiles, and the registry.toml that defines them, embedded by build.rs.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The embedded component with this file name, and its build-time digest.
pub fn component(file: &str) -> Option<(&'static [u8], &'static str)> {
    COMPONENTS.iter().find(|(name, _, _)| *name == file).map(|(_, bytes, digest)| (*bytes, *digest))
}

/// The embedded profile that registry.toml names by this source.
pub fn profile(source: &str) -> Option<&'static str> {
    PROFILES.iter().find(|(name, _)| *name == source).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_and_profile_of_the_registry_is_embedded() {
        assert!(COMPONENTS.len() >= 12, "{}", COMPONENTS.len());
        for (name, bytes, digest) in COMPONENTS {
            assert!(bytes.starts_with(b"\0asm"), "{name}");
            assert_eq!(digest.len(), 64, "{name}");
        }
        assert!(profile("profiles/cis-k8s-1.12.toml").is_some_and(|t| t.contains("cis-k8s-1.12")));
        assert!(profile("profiles/k8s-stig-v2r6.toml").is_some());
    }
}
