//! registry.toml: the plugins this install knows, where their components
//! are, their expected digests, and what the operator grants each.
//!
//! Registries are layered. The binary carries the built-ins (the
//! checkout's registry.toml, its components and profiles, embedded by
//! build.rs). On top of them come the user's registry
//! (`$XDG_CONFIG_HOME/rampart/registry.toml`) and then the one given with
//! `--registry` (or ./registry.toml). A layer adds plugins and profiles, or
//! changes a known plugin's source, grants or settings by naming it; a
//! layer with `standalone = true` is the whole registry by itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::grants::Capability;

/// Where a plugin's component or a profile's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// Embedded in this binary, under the name build.rs gave it.
    BuiltIn(&'static str),
    /// A plugin's component or a profile's file in a bundle.
    Bundle(BundleSource),
}

/// Where in which bundle a registry entry's bytes are, and who must have
/// signed the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSource {
    /// An image layout (directory or .tar), or an `oci://` reference.
    pub bundle: String,
    /// The bundle manifest's digest this entry is pinned to.
    pub manifest: String,
    /// The plugin's name or the profile's id in the bundle.
    pub item: String,
    pub profile: bool,
    /// Public keys the bundle must be signed by (one suffices); none: the
    /// digest pins alone.
    pub keys: Vec<PathBuf>,
}

impl BundleSource {
    /// The bundle, read (or pulled) and checked against the pin and the keys.
    pub fn open(&self) -> Result<std::sync::Arc<crate::bundle::Bundle>> {
        let bundle = crate::bundle::install::open_pinned(&self.bundle, &self.manifest)?;
        if !self.keys.is_empty() {
            let keys = self.keys.iter().map(|k| crate::bundle::signature::PublicKey::load(k)).collect::<Result<Vec<_>>>()?;
            bundle.verify(&keys)?;
        }
        Ok(bundle)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::BuiltIn(name) => write!(f, "built-in:{name}"),
            Source::Bundle(b) => write!(f, "{}#{}", b.bundle, b.item),
        }
    }
}

impl Source {
    /// The component's or profile's bytes.
    pub fn bytes(&self) -> Result<std::borrow::Cow<'static, [u8]>> {
        match self {
            Source::File(path) => std::fs::read(path).map(Into::into).map_err(|e| Error::io(path, e)),
            Source::BuiltIn(name) => crate::builtin::component(name)
                .map(|(bytes, _)| bytes.into())
                .or_else(|| crate::builtin::profile(name).map(|text| text.as_bytes().into()))
                .ok_or_else(|| Error::io(self.path(), std::io::Error::from(std::io::ErrorKind::NotFound))),
            Source::Bundle(b) => {
                let bundle = b.open()?;
                let bytes = if b.profile { bundle.profile(&b.item) } else { bundle.component(&b.item) };
                let what = if b.profile { "profile" } else { "plugin" };
                bytes.map(|b| b.to_vec().into()).ok_or_else(|| Error::Bundle {
                    at: b.bundle.clone(),
                    message: format!("bundle {} holds no {what} {}", b.manifest, b.item),
                })
            }
        }
    }

    /// The path errors and reports name: the file, or `built-in:<name>`.
    pub fn path(&self) -> PathBuf {
        match self {
            Source::File(path) => path.clone(),
            Source::BuiltIn(_) | Source::Bundle(_) => PathBuf::from(self.to_string()),
        }
    }
}

/// Which registry an entry (as it stands after layering) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One `[[plugin]]` entry.
#[derive(Debug, Clone)]
pub struct PluginEntry {
    pub name: String,
    /// The component: a file resolved against its registry's directory,
    /// or one this binary carries.
    pub source: Source,
    /// Expected sha256 of the component (hex); the plugin is refused on
    /// mismatch. A built-in is pinned to its digest at build time.
    pub sha256: Option<String>,
    pub grants: Vec<Capability>,
    pub settings: Vec<(String, String)>,
    pub origin: Origin,
}

/// One `[[profile]]` entry: a benchmark profile this install knows.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub id: String,
    /// The profile file, resolved against its registry's directory, or
    /// one this binary carries.
    pub source: Source,
    pub origin: Origin,
}

impl ProfileEntry {
    /// Reads and parses the profile.
    pub fn load(&self) -> Result<crate::profile::Profile> {
        match &self.source {
            Source::File(path) => crate::profile::Profile::load(path),
            Source::BuiltIn(name) => {
                let text = crate::builtin::profile(name)
                    .ok_or_else(|| Error::Profile { path: self.source.path(), message: "is not embedded in this binary".into() })?;
                crate::profile::Profile::parse(&self.source.path(), text)
            }
            Source::Bundle(_) => {
                let bytes = self.source.bytes()?;
                let text =
                    std::str::from_utf8(&bytes).map_err(|_| Error::Profile { path: self.source.path(), message: "is not UTF-8".into() })?;
                crate::profile::Profile::parse(&self.source.path(), text)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Registry {
    /// The registry file errors name: the top layer's.
    pub path: PathBuf,
    pub plugins: Vec<PluginEntry>,
    pub profiles: Vec<ProfileEntry>,
    /// The waivers files the layers name, in order.
    pub waivers: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// This file is the whole registry: nothing is layered under it.
    #[serde(default)]
    standalone: bool,
    #[serde(default)]
    plugin: Vec<RawEntry>,
    #[serde(default)]
    profile: Vec<RawProfile>,
    /// A waivers file (relative to this file), applied to every scan.
    waivers: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: String,
    source: String,
    manifest: Option<String>,
    keys: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    source: Option<String>,
    sha256: Option<String>,
    grants: Option<Vec<String>>,
    settings: Option<BTreeMap<String, String>>,
    /// The bundle manifest a bundle source is pinned to (an `oci://`
    /// source may pin it with `@sha256:` instead).
    manifest: Option<String>,
    /// Public keys the source's bundle must be signed by.
    keys: Option<Vec<String>>,
}

/// Where the checkout's registry.toml puts the built-in components.
const BUILT: &str = "target/wasm/wasm32-wasip2/plugin/";

impl Registry {
    /// The built-ins this binary carries.
    pub fn builtin() -> Result<Registry> {
        let path = Path::new("built-in:registry.toml");
        let mut registry = Registry { path: path.to_path_buf(), plugins: Vec::new(), profiles: Vec::new(), waivers: Vec::new() };
        registry.add_layer(path, crate::builtin::REGISTRY, Origin::BuiltIn)?;
        Ok(registry)
    }

    /// A registry file by itself, as if it said `standalone = true`.
    pub fn load(path: &Path) -> Result<Registry> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Registry::parse(path, &text)
    }

    /// The text of a registry file by itself.
    pub fn parse(path: &Path, text: &str) -> Result<Registry> {
        let mut registry = Registry { path: path.to_path_buf(), plugins: Vec::new(), profiles: Vec::new(), waivers: Vec::new() };
        registry.add_layer(path, text, Origin::File(path.to_path_buf()))?;
        registry.check_not_empty()?;
        Ok(registry)
    }

    /// The built-ins with each of these files layered on top, in order.
    pub fn layered(files: &[PathBuf]) -> Result<Registry> {
        let mut registry = Registry::builtin()?;
        for path in files {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            registry.add_layer(path, &text, Origin::File(path.clone()))?;
            registry.path = path.clone();
        }
        registry.check_not_empty()?;
        Ok(registry)
    }

    fn check_not_empty(&self) -> Result<()> {
        if self.plugins.is_empty() {
            return Err(Error::Registry {
                path: self.path.clone(),
                message: "lists no [[plugin]]: a scan would run nothing and pass; add the plugins to run".into(),
            });
        }
        Ok(())
    }

    /// Adds a registry file's entries on top of this registry.
    fn add_layer(&mut self, path: &Path, text: &str, origin: Origin) -> Result<()> {
        let bad = |message: String| Error::Registry { path: path.to_path_buf(), message };
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if file.standalone {
            self.plugins.clear();
            self.profiles.clear();
            self.waivers.clear();
        }
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(waivers) = &file.waivers {
            self.waivers.push(base.join(waivers));
        }
        let builtin = origin == Origin::BuiltIn;
        // Where a plugin's entry is, for errors past the TOML parser's own.
        let at = |name: &str| {
            let line = text.lines().position(|l| l.trim_start().starts_with("name") && l.contains(&format!("\"{name}\"")));
            line.map_or(String::new(), |n| format!("line {}: ", n + 1))
        };
        let mut seen: Vec<String> = Vec::new();
        for raw in file.plugin {
            let bad = |message: String| bad(format!("{}{message}", at(&raw.name)));
            if raw.name.is_empty() || !raw.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(bad(format!("plugin name `{}` must be letters, digits, `-` or `_`", raw.name)));
            }
            if raw.name == "rampart" {
                return Err(bad("plugin name `rampart` is reserved for the host's own findings (rampart/removed-api-version)".into()));
            }
            if seen.contains(&raw.name) {
                return Err(bad(format!("plugin `{}` is listed twice", raw.name)));
            }
            seen.push(raw.name.clone());
            if let Some(d) = &raw.sha256
                && (d.len() != 64 || !d.chars().all(|c| c.is_ascii_hexdigit()))
            {
                return Err(bad(format!("plugin `{}`: sha256 must be 64 hex digits", raw.name)));
            }
            let grants = raw
                .grants
                .map(|grants| {
                    grants
                        .iter()
                        .map(|g| Capability::parse(g).map_err(|e| bad(format!("plugin `{}`: {e}", raw.name))))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?;
            let source = match raw.source {
                Some(source) if builtin => {
                    let file = source.strip_prefix(BUILT).unwrap_or(&source);
                    let (name, digest) = crate::builtin::COMPONENTS
                        .iter()
                        .find(|(name, _, _)| *name == file)
                        .map(|(name, _, digest)| (*name, *digest))
                        .ok_or_else(|| bad(format!("plugin `{}`: {source} is not embedded in this binary", raw.name)))?;
                    Some((Source::BuiltIn(name), Some(digest.to_string())))
                }
                Some(source) => {
                    let bundle =
                        bundle_source(base, &source, raw.manifest.as_deref(), raw.keys.as_deref(), &raw.name, false).map_err(&bad)?;
                    let source = bundle.map_or_else(|| Source::File(base.join(&source)), Source::Bundle);
                    Some((source, raw.sha256.as_ref().map(|d| d.to_ascii_lowercase())))
                }
                None if raw.manifest.is_some() || raw.keys.is_some() => {
                    return Err(bad(format!("plugin `{}`: manifest and keys belong with a source", raw.name)));
                }
                None => None,
            };
            match self.plugins.iter_mut().find(|p| p.name == raw.name) {
                // A known plugin: what this layer names replaces what was there.
                Some(known) => {
                    if let Some((source, sha256)) = source {
                        known.source = source;
                        known.sha256 = sha256;
                    } else if let Some(d) = &raw.sha256 {
                        known.sha256 = Some(d.to_ascii_lowercase());
                    }
                    if let Some(grants) = grants {
                        known.grants = grants;
                    }
                    if let Some(settings) = raw.settings {
                        known.settings = settings.into_iter().collect();
                    }
                    known.origin = origin.clone();
                }
                None => {
                    let Some((source, sha256)) = source else {
                        return Err(bad(format!(
                            "plugin `{}` has no source, and no registry under this one knows it (known: {})",
                            raw.name,
                            self.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                        )));
                    };
                    self.plugins.push(PluginEntry {
                        name: raw.name,
                        source,
                        sha256,
                        grants: grants.unwrap_or_default(),
                        settings: raw.settings.unwrap_or_default().into_iter().collect(),
                        origin: origin.clone(),
                    });
                }
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for raw in file.profile {
            if seen.contains(&raw.id) {
                return Err(bad(format!("profile `{}` is listed twice", raw.id)));
            }
            seen.push(raw.id.clone());
            let source = if builtin {
                let name = crate::builtin::PROFILES
                    .iter()
                    .find(|(name, _)| *name == raw.source)
                    .map(|(name, _)| *name)
                    .ok_or_else(|| bad(format!("profile `{}`: {} is not embedded in this binary", raw.id, raw.source)))?;
                Source::BuiltIn(name)
            } else {
                let bundle = bundle_source(base, &raw.source, raw.manifest.as_deref(), raw.keys.as_deref(), &raw.id, true)
                    .map_err(|m| bad(format!("profile `{}`: {m}", raw.id)))?;
                bundle.map_or_else(|| Source::File(base.join(&raw.source)), Source::Bundle)
            };
            let entry = ProfileEntry { id: raw.id, source, origin: origin.clone() };
            match self.profiles.iter_mut().find(|p| p.id == entry.id) {
                Some(known) => *known = entry,
                None => self.profiles.push(entry),
            }
        }
        Ok(())
    }

    /// Loads the profile with this id, or says which ids there are.
    pub fn profile(&self, id: &str) -> Result<crate::profile::Profile> {
        let entry = self.profiles.iter().find(|p| p.id == id).ok_or_else(|| Error::Registry {
            path: self.path.clone(),
            message: format!("no profile `{id}` (known: {})", self.profiles.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")),
        })?;
        let profile = entry.load()?;
        if profile.id != id {
            return Err(Error::Profile {
                path: entry.source.path(),
                message: format!("its id is `{}`, but registry.toml lists it as `{id}`", profile.id),
            });
        }
        let installed: Vec<&str> = self.plugins.iter().map(|p| p.name.as_str()).collect();
        profile.check_plugins(&installed, [])?;
        Ok(profile)
    }
}

/// A bundle source from a registry entry: an `oci://` reference, or a
/// layout with a `manifest` pin; `None` for a plain file.
fn bundle_source(
    base: &Path,
    source: &str,
    manifest: Option<&str>,
    keys: Option<&[String]>,
    item: &str,
    profile: bool,
) -> std::result::Result<Option<BundleSource>, String> {
    let keys: Vec<PathBuf> = keys.unwrap_or_default().iter().map(|k| base.join(k)).collect();
    let (bundle, manifest) = if source.starts_with("oci://") {
        let reference = crate::bundle::remote::parse(source).map_err(|e| e.to_string())?;
        let pinned = reference.digest().map(str::to_string);
        let manifest = match (pinned, manifest) {
            (Some(p), Some(m)) if p != m => return Err(format!("source pins {p} but manifest says {m}")),
            (Some(p), _) => p,
            (None, Some(m)) => m.to_string(),
            (None, None) => {
                return Err(format!(
                    "{source} names a tag, which can move: pin the bundle with @sha256:<digest> (bundle install writes it)"
                ));
            }
        };
        (source.to_string(), manifest)
    } else if let Some(manifest) = manifest {
        (base.join(source).display().to_string(), manifest.to_string())
    } else if !keys.is_empty() {
        return Err("keys are checked on bundles: give the bundle's manifest digest (manifest = \"sha256:...\")".into());
    } else {
        return Ok(None);
    };
    crate::bundle::layout::digest_hex(&manifest)?;
    Ok(Some(BundleSource { bundle, manifest, item: item.to_string(), profile, keys }))
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
        assert_eq!(p.source, Source::File(PathBuf::from("/opt/rampart/plugins/pod_security.wasm")));
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

    fn layered(text: &str) -> Result<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, text).unwrap();
        Registry::layered(&[path])
    }

    #[test]
    fn the_builtins_are_the_checkouts_registry_carried_in_the_binary() {
        let reg = Registry::builtin().unwrap();
        assert_eq!(reg.plugins.len(), 12);
        for p in &reg.plugins {
            assert!(matches!(p.source, Source::BuiltIn(_)), "{p:?}");
            assert_eq!(p.origin, Origin::BuiltIn);
            assert_eq!(p.sha256.as_deref().map(str::len), Some(64), "a built-in is pinned to its build-time digest");
        }
        let ids: Vec<&str> = reg.profiles.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["cis-k8s-1.12", "k8s-stig-v2r6"]);
        assert_eq!(reg.profile("cis-k8s-1.12").unwrap().id, "cis-k8s-1.12");
    }

    #[test]
    fn a_layer_adds_plugins_and_profiles_and_changes_only_what_it_names() {
        let reg = layered(
            r#"
[[plugin]]
name = "pod-security"
grants = ["cluster.list:v1/Pod"]

[[plugin]]
name = "mine"
source = "mine.wasm"
grants = ["cluster.list:v1/ConfigMap"]

[[profile]]
id = "company"
source = "company.toml"
"#,
        )
        .unwrap();
        assert_eq!(reg.plugins.len(), 13);
        let ps = reg.plugins.iter().find(|p| p.name == "pod-security").unwrap();
        assert!(matches!(ps.source, Source::BuiltIn("pod_security.wasm")), "{ps:?}");
        assert_eq!(ps.grants.iter().map(ToString::to_string).collect::<Vec<_>>(), ["cluster.list:v1/Pod"]);
        assert!(matches!(&ps.origin, Origin::File(p) if p.ends_with("mine.toml")));
        let rbac = reg.plugins.iter().find(|p| p.name == "rbac").unwrap();
        assert_eq!(rbac.origin, Origin::BuiltIn);
        assert!(!rbac.grants.is_empty());
        let mine = reg.plugins.iter().find(|p| p.name == "mine").unwrap();
        assert!(matches!(&mine.source, Source::File(p) if p.ends_with("mine.wasm")));
        assert_eq!(reg.profiles.len(), 3);
    }

    #[test]
    fn a_standalone_file_is_the_whole_registry() {
        let reg = layered("standalone = true\n[[plugin]]\nname = \"mine\"\nsource = \"mine.wasm\"\n").unwrap();
        assert_eq!(reg.plugins.len(), 1);
        assert!(reg.profiles.is_empty());
        let err = layered("standalone = true\n").unwrap_err().to_string();
        assert!(err.contains("mine.toml") && err.contains("no [[plugin]]"), "{err}");
    }

    #[test]
    fn an_unknown_plugin_without_a_source_names_the_known_ones() {
        let err = layered("[[plugin]]\nname = \"nope\"\ngrants = []\n").unwrap_err().to_string();
        assert!(err.contains("mine.toml: line 2: plugin `nope` has no source") && err.contains("pod-security"), "{err}");
    }

    #[test]
    fn a_bundle_source_is_pinned_by_manifest_digest_and_names_its_keys() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let reg = Registry::parse(
            Path::new("/etc/rampart/registry.toml"),
            &format!(
                "[[plugin]]\nname = \"mine\"\nsource = \"oci://registry.example.com/team/controls:1.0@{digest}\"\nkeys = [\"keys/team.pub\"]\n\n\
                 [[plugin]]\nname = \"local\"\nsource = \"bundles/controls.tar\"\nmanifest = \"{digest}\"\n\n\
                 [[profile]]\nid = \"company\"\nsource = \"oci://registry.example.com/team/controls@{digest}\"\n"
            ),
        )
        .unwrap();
        let Source::Bundle(mine) = &reg.plugins[0].source else { panic!("{:?}", reg.plugins[0]) };
        assert_eq!((mine.manifest.as_str(), mine.item.as_str(), mine.profile), (digest.as_str(), "mine", false));
        assert_eq!(mine.keys, [PathBuf::from("/etc/rampart/keys/team.pub")]);
        let Source::Bundle(local) = &reg.plugins[1].source else { panic!("{:?}", reg.plugins[1]) };
        assert_eq!(local.bundle, "/etc/rampart/bundles/controls.tar");
        assert!(matches!(&reg.profiles[0].source, Source::Bundle(b) if b.profile && b.item == "company"));

        for (text, needle) in [
            ("[[plugin]]\nname = \"a\"\nsource = \"oci://registry.example.com/x:1.0\"\n", "pin the bundle with @sha256"),
            ("[[plugin]]\nname = \"a\"\nsource = \"a.wasm\"\nkeys = [\"k.pub\"]\n", "give the bundle's manifest digest"),
            ("[[plugin]]\nname = \"a\"\nsource = \"a.tar\"\nmanifest = \"sha256:12\"\n", "not a sha256 digest"),
            (
                &format!(
                    "[[plugin]]\nname = \"a\"\nsource = \"oci://registry.example.com/x@{digest}\"\nmanifest = \"sha256:{}\"\n",
                    "b".repeat(64)
                ),
                "but manifest says",
            ),
        ] {
            let err = Registry::parse(Path::new("r.toml"), text).unwrap_err().to_string();
            assert!(err.contains("r.toml") && err.contains(needle), "{err}");
        }
    }
}
