//! registry.toml: the plugins this install knows, where their components
//! are, their expected digests, and what the operator grants each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::grants::Capability;

/// One `[[plugin]]` entry.
#[derive(Debug, Clone)]
pub struct PluginEntry {
    pub name: String,
    /// The component file, resolved against the registry's directory.
    pub source: PathBuf,
    /// Expected sha256 of the file (hex); the plugin is refused on mismatch.
    pub sha256: Option<String>,
    pub grants: Vec<Capability>,
    pub settings: Vec<(String, String)>,
}

/// One `[[profile]]` entry: a benchmark profile this install knows.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub id: String,
    /// The profile file, resolved against the registry's directory.
    pub source: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Registry {
    pub path: PathBuf,
    pub plugins: Vec<PluginEntry>,
    pub profiles: Vec<ProfileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    plugin: Vec<RawEntry>,
    #[serde(default)]
    profile: Vec<RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    source: String,
    sha256: Option<String>,
    #[serde(default)]
    grants: Vec<String>,
    #[serde(default)]
    settings: BTreeMap<String, String>,
}

impl Registry {
    pub fn load(path: &Path) -> Result<Registry> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Registry::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Registry> {
        let bad = |message: String| Error::Registry { path: path.to_path_buf(), message };
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut plugins: Vec<PluginEntry> = Vec::new();
        // Where a plugin's entry is, for errors past the TOML parser's own.
        let at = |name: &str| {
            let line = text.lines().position(|l| l.trim_start().starts_with("name") && l.contains(&format!("\"{name}\"")));
            line.map_or(String::new(), |n| format!("line {}: ", n + 1))
        };
        for raw in file.plugin {
            let bad = |message: String| bad(format!("{}{message}", at(&raw.name)));
            if raw.name.is_empty() || !raw.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(bad(format!("plugin name `{}` must be letters, digits, `-` or `_`", raw.name)));
            }
            if raw.name == "rampart" {
                return Err(bad("plugin name `rampart` is reserved for the host's own findings (rampart/removed-api-version)".into()));
            }
            if plugins.iter().any(|p| p.name == raw.name) {
                return Err(bad(format!("plugin `{}` is listed twice", raw.name)));
            }
            if let Some(d) = &raw.sha256
                && (d.len() != 64 || !d.chars().all(|c| c.is_ascii_hexdigit()))
            {
                return Err(bad(format!("plugin `{}`: sha256 must be 64 hex digits", raw.name)));
            }
            let grants = raw
                .grants
                .iter()
                .map(|g| Capability::parse(g).map_err(|e| bad(format!("plugin `{}`: {e}", raw.name))))
                .collect::<Result<Vec<_>>>()?;
            plugins.push(PluginEntry {
                source: base.join(&raw.source),
                name: raw.name,
                sha256: raw.sha256.map(|d| d.to_ascii_lowercase()),
                grants,
                settings: raw.settings.into_iter().collect(),
            });
        }
        if plugins.is_empty() {
            return Err(bad("lists no [[plugin]]: a scan would run nothing and pass; add the plugins to run".into()));
        }
        let mut profiles: Vec<ProfileEntry> = Vec::new();
        for raw in file.profile {
            if profiles.iter().any(|p| p.id == raw.id) {
                return Err(bad(format!("profile `{}` is listed twice", raw.id)));
            }
            profiles.push(ProfileEntry { source: base.join(&raw.source), id: raw.id });
        }
        Ok(Registry { path: path.to_path_buf(), plugins, profiles })
    }

    /// Loads the profile with this id, or says which ids there are.
    pub fn profile(&self, id: &str) -> Result<crate::profile::Profile> {
        let entry = self.profiles.iter().find(|p| p.id == id).ok_or_else(|| Error::Registry {
            path: self.path.clone(),
            message: format!("no profile `{id}` (known: {})", self.profiles.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")),
        })?;
        let profile = crate::profile::Profile::load(&entry.source)?;
        if profile.id != id {
            return Err(Error::Profile {
                path: entry.source.clone(),
                message: format!("its id is `{}`, but registry.toml lists it as `{id}`", profile.id),
            });
        }
        let installed: Vec<&str> = self.plugins.iter().map(|p| p.name.as_str()).collect();
        profile.check_plugins(&installed, [])?;
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_relative_to_the_registry() {
        let reg = Registry::parse(
            Path::new("/opt/rampart/registry.toml"),
            r#"
[[plugin]]
name = "pod-security"
source = "plugins/pod_security.wasm"
grants = ["cluster.list:v1/Pod"]
settings = { allowed-capabilities = "NET_BIND_SERVICE" }
"#,
        )
        .unwrap();
        let p = &reg.plugins[0];
        assert_eq!(p.source, PathBuf::from("/opt/rampart/plugins/pod_security.wasm"));
        assert_eq!(p.grants[0].to_string(), "cluster.list:v1/Pod");
        assert_eq!(p.settings, vec![("allowed-capabilities".to_string(), "NET_BIND_SERVICE".to_string())]);
    }

    #[test]
    fn bad_entries_name_the_problem() {
        for (text, needle) in [
            ("[[plugin]]\nname = \"a\"\nsource = \"a.wasm\"\ngrants = [\"node.read:etc\"]\n", "absolute"),
            ("[[plugin]]\nname = \"a\"\nsource = \"a.wasm\"\nsha256 = \"xyz\"\n", "64 hex"),
            ("[[plugin]]\nname = \"a b\"\nsource = \"a.wasm\"\n", "letters"),
            ("[[plugin]]\nname = \"a\"\nsource = \"a.wasm\"\n[[plugin]]\nname = \"a\"\nsource = \"b.wasm\"\n", "twice"),
            ("[[plugin]]\nname = \"a\"\nsorce = \"a.wasm\"\n", "unknown field"),
            ("[[plugin]]\nname = \"rampart\"\nsource = \"a.wasm\"\n", "reserved"),
        ] {
            let err = Registry::parse(Path::new("r.toml"), text).unwrap_err().to_string();
            assert!(err.contains("r.toml") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn an_empty_registry_and_a_bad_entry_name_the_file_and_line() {
        let err = Registry::parse(Path::new("r.toml"), "[[profile]]\nid = \"p\"\nsource = \"p.toml\"\n").unwrap_err().to_string();
        assert!(err.contains("r.toml") && err.contains("no [[plugin]]"), "{err}");
        let text = "[[plugin]]\nname = \"ok\"\nsource = \"a.wasm\"\n\n[[plugin]]\nname = \"bad\"\nsource = \"b.wasm\"\nsha256 = \"xyz\"\n";
        let err = Registry::parse(Path::new("r.toml"), text).unwrap_err().to_string();
        assert!(err.contains("r.toml: line 6: plugin `bad`: sha256"), "{err}");
    }
}
