//! Plugin bundles: plugins and profiles shared as one OCI artifact.
//!
//! A bundle is an OCI image manifest whose `artifactType` is
//! [`ARTIFACT_TYPE`], whose config is a [`BundleConfig`] (what the bundle
//! holds: each plugin's name, version, WIT version, digest, checks and
//! requested capabilities; each profile's id and digest) and whose layers
//! are the components and profile files. On disk it is an OCI image
//! layout ([`layout`]), as a directory or a tar file; in a registry it is
//! pushed as is ([`remote`]). Signatures sit beside it the way cosign
//! stores key-pair signatures ([`signature`]). docs/bundles.md has the
//! format byte by byte.

pub mod install;
pub mod layout;
pub mod remote;
pub mod signature;

use std::collections::BTreeMap;
use std::path::Path;

use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest, WASM_LAYER_MEDIA_TYPE};
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::registry::Registry;
use layout::Layout;

/// The manifest's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.rampart.bundle.v1";
/// The config blob: a [`BundleConfig`] in JSON.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.rampart.bundle.config.v1+json";
/// A profile layer (a component layer is the Wasm artifact type
/// `application/vnd.wasm.content.layer.v1+wasm`).
pub const PROFILE_MEDIA_TYPE: &str = "application/vnd.rampart.profile.v1+toml";
/// Which plugin a component layer is, and which profile a profile layer is.
pub const PLUGIN_ANNOTATION: &str = "dev.rampart.plugin";
pub const PROFILE_ANNOTATION: &str = "dev.rampart.profile";
const TITLE: &str = "org.opencontainers.image.title";

/// The most a bundle may hold, all blobs together, unless raised.
pub const DEFAULT_MAX_BYTES: u64 = 512 << 20;

/// What a bundle holds, as its config blob says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BundleConfig {
    pub schema_version: u32,
    #[serde(default)]
    pub plugins: Vec<BundlePlugin>,
    #[serde(default)]
    pub profiles: Vec<BundleProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BundlePlugin {
    pub name: String,
    pub version: String,
    /// The WIT package the component was built against (`rampart:plugin@x.y.z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wit: Option<String>,
    /// The component layer's digest.
    pub digest: String,
    pub size: u64,
    pub checks: Vec<String>,
    /// What the plugin asks for (`describe`), the grants an install proposes.
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BundleProfile {
    pub id: String,
    pub title: String,
    pub digest: String,
    pub size: u64,
    /// The plugins the profile's controls run.
    pub plugins: Vec<String>,
}

/// A bundle read from a layout or a registry, every digest checked.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Where it came from, for messages: a path or an `oci://` reference.
    pub origin: String,
    pub layout: Layout,
    pub digest: String,
    pub manifest: OciImageManifest,
    pub config: BundleConfig,
    /// The signature manifest beside it, if there is one.
    pub signatures: Option<OciImageManifest>,
}

fn bad(at: &str, message: impl Into<String>) -> Error {
    Error::Bundle { at: at.to_string(), message: message.into() }
}

/// A plugin name a bundle may carry: it becomes a registry entry's name
/// and part of file names, so nothing path-like.
fn check_name(at: &str, what: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 128
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        || name.starts_with('.')
    {
        return Err(bad(at, format!("{what} name {name:?} is not a name: letters, digits, `-`, `_` and `.` only, not starting with `.`")));
    }
    Ok(())
}

impl Bundle {
    /// The bundle in a layout: the manifest `which` names (a tag or a
    /// digest), or the only bundle manifest there is.
    pub fn from_layout(layout: Layout, which: Option<&str>, origin: &str) -> Result<Bundle> {
        let candidates: Vec<_> = layout
            .index
            .iter()
            .filter(|e| match which {
                Some(w) if w.starts_with("sha256:") => e.digest == w,
                Some(tag) => e.annotations.as_ref().and_then(|a| a.get(layout::REF_NAME)).map(String::as_str) == Some(tag),
                None => e.artifact_type.as_deref() == Some(ARTIFACT_TYPE) || is_bundle_manifest(&layout, &e.digest),
            })
            .collect();
        let entry = match candidates.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(bad(
                    origin,
                    match which {
                        Some(w) => format!("holds no manifest {w}"),
                        None => "holds no Rampart bundle (no manifest of artifactType application/vnd.rampart.bundle.v1)".into(),
                    },
                ));
            }
            _ => return Err(bad(origin, "holds several bundles; name one by tag or digest")),
        };
        Bundle::at_digest(layout, &entry.digest, origin)
    }

    /// The bundle whose manifest has this digest, with everything it names
    /// checked: the config, every layer, and the config's claims against
    /// the layers.
    pub fn at_digest(layout: Layout, digest: &str, origin: &str) -> Result<Bundle> {
        let manifest_bytes = layout.blob(digest).ok_or_else(|| bad(origin, format!("holds no manifest {digest}")))?;
        let manifest: OciImageManifest = serde_json::from_slice(manifest_bytes)
            .map_err(|e| bad(origin, format!("manifest {digest} is not an OCI image manifest: {e}")))?;
        if manifest.media_type.as_deref().is_some_and(|m| m != OCI_IMAGE_MEDIA_TYPE) {
            return Err(bad(
                origin,
                format!("manifest {digest} is a {}, not an OCI image manifest", manifest.media_type.as_deref().unwrap_or("")),
            ));
        }
        if manifest.config.media_type != CONFIG_MEDIA_TYPE {
            return Err(bad(origin, format!("manifest {digest} is not a Rampart bundle: its config is {}", manifest.config.media_type)));
        }
        let blob = |d: &OciDescriptor| -> Result<&[u8]> {
            let bytes = layout.blob(&d.digest).ok_or_else(|| bad(origin, format!("blob {} is missing", d.digest)))?;
            if bytes.len() as i64 != d.size {
                return Err(bad(origin, format!("blob {} is {} bytes, but the manifest says {}", d.digest, bytes.len(), d.size)));
            }
            Ok(bytes)
        };
        let config: BundleConfig =
            serde_json::from_slice(blob(&manifest.config)?).map_err(|e| bad(origin, format!("the bundle config is malformed: {e}")))?;
        if config.schema_version != 1 {
            return Err(bad(origin, format!("bundle schemaVersion {} is not one this rampart reads (1)", config.schema_version)));
        }
        for layer in &manifest.layers {
            blob(layer)?;
        }
        let layer_of = |annotation: &str, name: &str| {
            manifest.layers.iter().find(|l| l.annotations.as_ref().and_then(|a| a.get(annotation)).map(String::as_str) == Some(name))
        };
        let mut seen = Vec::new();
        for p in &config.plugins {
            check_name(origin, "plugin", &p.name)?;
            if seen.contains(&&p.name) {
                return Err(bad(origin, format!("plugin {} is listed twice", p.name)));
            }
            seen.push(&p.name);
            let layer =
                layer_of(PLUGIN_ANNOTATION, &p.name).ok_or_else(|| bad(origin, format!("plugin {}: no layer carries it", p.name)))?;
            if layer.digest != p.digest || layer.media_type != WASM_LAYER_MEDIA_TYPE {
                return Err(bad(
                    origin,
                    format!("plugin {}: the bundle config says its component is {}, but its layer is {}", p.name, p.digest, layer.digest),
                ));
            }
        }
        for p in &config.profiles {
            check_name(origin, "profile", &p.id)?;
            let layer = layer_of(PROFILE_ANNOTATION, &p.id).ok_or_else(|| bad(origin, format!("profile {}: no layer carries it", p.id)))?;
            if layer.digest != p.digest || layer.media_type != PROFILE_MEDIA_TYPE {
                return Err(bad(
                    origin,
                    format!("profile {}: the bundle config says its file is {}, but its layer is {}", p.id, p.digest, layer.digest),
                ));
            }
        }
        let signatures = layout
            .tagged(&signature::signature_tag(digest))
            .and_then(|e| layout.blob(&e.digest))
            .map(serde_json::from_slice::<OciImageManifest>)
            .transpose()
            .map_err(|e| bad(origin, format!("its signature manifest is malformed: {e}")))?;
        Ok(Bundle { origin: origin.to_string(), digest: digest.to_string(), manifest, config, signatures, layout })
    }

    /// Reads a bundle from a layout directory or tar file.
    pub fn read(path: &Path, which: Option<&str>, max_bytes: u64) -> Result<Bundle> {
        let layout = Layout::read(path, max_bytes)?;
        Bundle::from_layout(layout, which, &path.display().to_string())
    }

    /// A plugin's component.
    pub fn component(&self, name: &str) -> Option<&[u8]> {
        let p = self.config.plugins.iter().find(|p| p.name == name)?;
        self.layout.blob(&p.digest)
    }

    /// A profile's text.
    pub fn profile(&self, id: &str) -> Option<&[u8]> {
        let p = self.config.profiles.iter().find(|p| p.id == id)?;
        self.layout.blob(&p.digest)
    }

    /// Checks the signatures against trusted keys; the key id that signed it.
    pub fn verify(&self, keys: &[signature::PublicKey]) -> Result<String> {
        signature::verify(&self.layout, self.signatures.as_ref(), &self.digest, keys)
            .map_err(|e| bad(&self.origin, format!("bundle {} {e}", self.digest)))
    }

    /// Adds a signature by the key in `key` (to the layout; the caller
    /// writes or pushes it).
    pub fn sign(&mut self, key: &Path, identity: &str) -> Result<String> {
        let (bytes, id) = signature::sign(&mut self.layout, self.signatures.as_ref(), &self.digest, identity, key)?;
        self.signatures = Some(serde_json::from_slice(&bytes).expect("a manifest just written parses"));
        let digest = self.layout.add_blob(bytes);
        self.layout.tag(OCI_IMAGE_MEDIA_TYPE, &digest, Some(&signature::signature_tag(&self.digest)), None);
        Ok(id)
    }

    /// Each plugin's component described by the engine, checked against
    /// what the bundle config claims: a config that lies about a plugin's
    /// name, checks or requested capabilities is refused.
    pub fn check_plugins(&self, engine: &Engine) -> Result<Vec<crate::engine::Plugin>> {
        let mut plugins = Vec::new();
        for p in &self.config.plugins {
            let bytes = self.component(&p.name).expect("checked when read");
            let label = Path::new(&self.origin).join(format!("{}.wasm", p.name));
            let plugin = engine.load_bytes(&p.name, &label, bytes, Some(&p.digest[7..]))?;
            let checks: Vec<String> = plugin.meta.checks.iter().map(|c| c.id.clone()).collect();
            let capabilities: Vec<String> = plugin.meta.capabilities.iter().map(ToString::to_string).collect();
            if checks != p.checks || capabilities != p.capabilities || plugin.meta.version != p.version {
                return Err(bad(
                    &self.origin,
                    format!(
                        "plugin {}: the bundle config does not say what the component does (the component says it is {} {}, \
                         with checks [{}] and asks for [{}])",
                        p.name,
                        plugin.meta.name,
                        plugin.meta.version,
                        checks.join(", "),
                        capabilities.join(", ")
                    ),
                ));
            }
            plugins.push(plugin);
        }
        Ok(plugins)
    }
}

fn is_bundle_manifest(layout: &Layout, digest: &str) -> bool {
    layout
        .blob(digest)
        .and_then(|b| serde_json::from_slice::<OciImageManifest>(b).ok())
        .is_some_and(|m| m.config.media_type == CONFIG_MEDIA_TYPE)
}

/// What to pack: plugin names and profile ids from the registry; none of
/// either means every built-in plugin and profile.
pub fn pack(registry: &Registry, engine: &Engine, plugins: &[String], profiles: &[String], tag: &str) -> Result<Bundle> {
    let at = registry.path.display().to_string();
    let (plugins, profiles): (Vec<_>, Vec<_>) = if plugins.is_empty() && profiles.is_empty() {
        (
            registry.plugins.iter().filter(|p| p.origin == crate::registry::Origin::BuiltIn).collect(),
            registry.profiles.iter().filter(|p| p.origin == crate::registry::Origin::BuiltIn).collect(),
        )
    } else {
        let find_plugin = |name: &String| {
            registry.plugins.iter().find(|p| &p.name == name).ok_or_else(|| {
                bad(
                    &at,
                    format!(
                        "no plugin `{name}` (known: {})",
                        registry.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        };
        let find_profile = |id: &String| {
            registry.profiles.iter().find(|p| &p.id == id).ok_or_else(|| {
                bad(
                    &at,
                    format!(
                        "no profile `{id}` (known: {})",
                        registry.profiles.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        };
        (plugins.iter().map(find_plugin).collect::<Result<_>>()?, profiles.iter().map(find_profile).collect::<Result<_>>()?)
    };
    let mut layout = Layout::default();
    let mut layers = Vec::new();
    let mut config = BundleConfig { schema_version: 1, plugins: Vec::new(), profiles: Vec::new() };
    for entry in plugins {
        let bytes = entry.source.bytes()?.into_owned();
        let plugin = engine.load_bytes(&entry.name, &entry.source.path(), &bytes, entry.sha256.as_deref())?;
        let size = bytes.len() as u64;
        let wit = crate::plugin_build::facts(&bytes).wit;
        let digest = layout.add_blob(bytes);
        layers.push(descriptor(WASM_LAYER_MEDIA_TYPE, &digest, size, PLUGIN_ANNOTATION, &entry.name, &format!("{}.wasm", entry.name)));
        config.plugins.push(BundlePlugin {
            name: entry.name.clone(),
            version: plugin.meta.version.clone(),
            wit,
            digest,
            size,
            checks: plugin.meta.checks.iter().map(|c| c.id.clone()).collect(),
            capabilities: plugin.meta.capabilities.iter().map(ToString::to_string).collect(),
        });
    }
    for entry in profiles {
        let profile = entry.load()?;
        let bytes = entry.source.bytes()?.into_owned();
        let size = bytes.len() as u64;
        let digest = layout.add_blob(bytes);
        layers.push(descriptor(PROFILE_MEDIA_TYPE, &digest, size, PROFILE_ANNOTATION, &entry.id, &format!("{}.toml", entry.id)));
        config.profiles.push(BundleProfile {
            id: entry.id.clone(),
            title: profile.title.clone(),
            digest,
            size,
            plugins: profile.plugins(),
        });
    }
    let config_bytes = serde_json::to_vec_pretty(&config).expect("a bundle config serializes");
    let manifest = layout.manifest(CONFIG_MEDIA_TYPE, config_bytes, layers, Some(ARTIFACT_TYPE));
    let bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let digest = layout.add_blob(bytes);
    layout.tag(OCI_IMAGE_MEDIA_TYPE, &digest, Some(tag), Some(ARTIFACT_TYPE));
    Bundle::at_digest(layout, &digest, &at)
}

fn descriptor(media_type: &str, digest: &str, size: u64, key: &str, name: &str, title: &str) -> OciDescriptor {
    let annotations = BTreeMap::from([(key.to_string(), name.to_string()), (TITLE.to_string(), title.to_string())]);
    layout::descriptor(media_type, digest, size, Some(annotations))
}

/// What `bundle inspect` shows.
#[derive(Debug, Serialize)]
pub struct Inspection<'a> {
    pub origin: &'a str,
    pub digest: &'a str,
    #[serde(rename = "artifactType")]
    pub artifact_type: Option<&'a str>,
    pub size: u64,
    pub plugins: &'a [BundlePlugin],
    pub profiles: &'a [BundleProfile],
    /// Key ids of the signatures beside it (not verified here: `bundle verify`).
    pub signatures: Vec<String>,
}

impl<'a> Inspection<'a> {
    pub fn of(bundle: &'a Bundle) -> Inspection<'a> {
        let signatures = bundle
            .signatures
            .iter()
            .flat_map(|m| &m.layers)
            .filter(|l| l.media_type == signature::SIMPLE_SIGNING_MEDIA_TYPE)
            .map(|l| {
                l.annotations.as_ref().and_then(|a| a.get(signature::KEY_ID_ANNOTATION)).cloned().unwrap_or_else(|| "(unnamed key)".into())
            })
            .collect();
        let size = std::iter::once(&bundle.manifest.config).chain(&bundle.manifest.layers).map(|d| d.size.max(0) as u64).sum();
        Inspection {
            origin: &bundle.origin,
            digest: &bundle.digest,
            artifact_type: bundle.manifest.artifact_type.as_deref(),
            size,
            plugins: &bundle.config.plugins,
            profiles: &bundle.config.profiles,
            signatures,
        }
    }

    pub fn text(&self) -> String {
        let mut out = format!("bundle {}\n  digest {}\n  size {} bytes\n", self.origin, self.digest, self.size);
        for p in self.plugins {
            out.push_str(&format!(
                "plugin {} {}{}\n  digest {} ({} bytes)\n  checks: {}\n  asks for:\n",
                p.name,
                p.version,
                p.wit.as_deref().map(|w| format!(" ({w})")).unwrap_or_default(),
                p.digest,
                p.size,
                p.checks.join(", ")
            ));
            for c in &p.capabilities {
                out.push_str(&format!("    {c}\n"));
            }
            if p.capabilities.is_empty() {
                out.push_str("    nothing\n");
            }
        }
        for p in self.profiles {
            out.push_str(&format!("profile {} ({})\n  digest {}\n  plugins: {}\n", p.id, p.title, p.digest, p.plugins.join(", ")));
        }
        if self.signatures.is_empty() {
            out.push_str("signatures: none\n");
        } else {
            out.push_str(&format!("signatures by key: {} (check them with `rampart bundle verify --key`)\n", self.signatures.join(", ")));
        }
        out
    }
}
