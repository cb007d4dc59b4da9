//! Opening bundles wherever they are, the cache of pulled ones, and
//! `bundle install`: registry.toml as the lock file.
//!
//! An installed plugin's entry names its bundle pinned by manifest digest
//! (`oci://HOST/REPO:TAG@sha256:...`, or a layout path with `manifest =`),
//! its component's sha256, the keys its bundle must be signed by, and the
//! grants the operator approved. A plugin that asks for more than its
//! entry grants today is installed only with approval.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Bundle, remote, signature};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::grants::{Capability, CapabilitySet, Grant};
use crate::registry::Registry;

/// How bundles are fetched and where pulled ones are kept.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Pulled bundles are kept under `<cache_dir>/bundles/`, by digest.
    pub cache_dir: Option<PathBuf>,
    pub remote: remote::Options,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets how bundles are fetched for the rest of the process (the CLI
/// calls it once, before anything is loaded).
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> &'static Settings {
    SETTINGS
        .get_or_init(|| Settings { cache_dir: None, remote: remote::Options { max_bytes: super::DEFAULT_MAX_BYTES, ..Default::default() } })
}

fn cached_path(digest: &str) -> Option<PathBuf> {
    let dir = settings().cache_dir.as_ref()?;
    Some(dir.join("bundles").join(digest.replace(':', "-")))
}

/// A bundle from a layout path or an `oci://` reference (pulled, or read
/// from the cache when the reference pins a digest that was pulled
/// before; the cached copy is checked blob by blob like any layout).
pub fn open(reference: &str, which: Option<&str>) -> Result<Bundle> {
    let settings = settings();
    if !reference.starts_with("oci://") {
        return Bundle::read(Path::new(reference), which, settings.remote.max_bytes);
    }
    let parsed = remote::parse(reference)?;
    // A reference with a tag as well is checked against the registry (the
    // tag must still point at the pin); one by digest alone may be served
    // from the cache.
    if let (None, Some(digest)) = (parsed.tag(), parsed.digest())
        && let Some(path) = cached_path(digest)
        && path.is_dir()
    {
        match Bundle::read(&path, Some(digest), settings.remote.max_bytes) {
            Ok(mut bundle) => {
                bundle.origin = reference.to_string();
                return Ok(bundle);
            }
            Err(e) => tracing::warn!("the cached copy of {reference} is not usable ({e}); pulling it again"),
        }
    }
    let bundle = remote::Remote::new(&parsed, &settings.remote)?.pull(&parsed)?;
    if let Some(path) = cached_path(&bundle.digest) {
        keep(&bundle, &path);
    }
    Ok(bundle)
}

/// Stores a pulled bundle in the cache (best effort: a failure only costs
/// a pull next time).
fn keep(bundle: &Bundle, path: &Path) {
    let Some(parent) = path.parent() else { return };
    let result = std::fs::create_dir_all(parent)
        .and_then(|_| tempfile::Builder::new().prefix(".pull-").tempdir_in(parent))
        .map_err(|e| e.to_string());
    let result = result.and_then(|tmp| {
        let dir = tmp.path().join("layout");
        bundle.layout.write(&dir).map_err(|e| e.to_string())?;
        if path.exists() {
            let _ = std::fs::remove_dir_all(path);
        }
        std::fs::rename(&dir, path).map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        tracing::warn!("could not keep {} in the cache {}: {e}", bundle.origin, parent.display());
    }
}

/// The bundle a registry entry is pinned to, read (or pulled) and checked
/// once per process: every plugin and profile a bundle carries is its own
/// registry entry, and each would otherwise read and hash the whole bundle.
pub fn open_pinned(bundle: &str, manifest: &str) -> Result<std::sync::Arc<Bundle>> {
    type Opened = std::collections::HashMap<(String, String), std::sync::Arc<Bundle>>;
    static OPENED: OnceLock<std::sync::Mutex<Opened>> = OnceLock::new();
    let key = (bundle.to_string(), manifest.to_string());
    let opened = OPENED.get_or_init(Default::default);
    if let Some(b) = opened.lock().expect("not poisoned").get(&key) {
        return Ok(b.clone());
    }
    let b = std::sync::Arc::new(read_pinned(bundle, manifest)?);
    opened.lock().expect("not poisoned").insert(key, b.clone());
    Ok(b)
}

fn read_pinned(bundle: &str, manifest: &str) -> Result<Bundle> {
    if bundle.starts_with("oci://") {
        // By digest alone: the tag may have moved on since the install,
        // and the pin is what was approved.
        let reference = remote::parse(bundle)?;
        let by_digest = format!("oci://{}/{}@{manifest}", reference.registry(), reference.repository());
        let mut opened = open(&by_digest, None)?;
        opened.origin = bundle.to_string();
        if opened.digest != manifest {
            return Err(Error::Bundle { at: bundle.to_string(), message: format!("is {}, not the pinned {manifest}", opened.digest) });
        }
        Ok(opened)
    } else {
        open(bundle, Some(manifest))
    }
}

/// What `bundle install` is asked to do.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// A layout path or an `oci://` reference.
    pub reference: String,
    /// Keys the bundle must be signed by; none: the digests are pinned but
    /// no signature is checked (said in the output).
    pub keys: Vec<PathBuf>,
    /// Grant what the plugins ask for without asking.
    pub approve: bool,
    /// The registry file written (created if missing).
    pub registry: PathBuf,
}

/// One plugin's change of grants.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantChange {
    pub plugin: String,
    /// Granted before (none for a new plugin).
    pub old: Option<Vec<String>>,
    /// Granted after: what was granted and is still asked for, plus what
    /// is newly asked for (once approved).
    pub new: Vec<String>,
    /// Asked for now and not covered by what was granted.
    pub added: Vec<String>,
    /// Granted before and not any more.
    pub removed: Vec<String>,
}

/// What an install did, or would need approval for.
#[derive(Debug)]
pub enum Outcome {
    Installed {
        digest: String,
        signed_by: Option<String>,
        changes: Vec<GrantChange>,
        profiles: Vec<String>,
    },
    /// Nothing written: these plugins ask for more than they are granted.
    NeedsApproval {
        changes: Vec<GrantChange>,
    },
}

/// Installs a bundle's plugins and profiles into a registry file.
/// `current` is the registry as layered today (for what each plugin is
/// granted now); `confirm` is asked when approval is needed and not
/// given (an interactive yes); it answers false when there is nobody to ask.
pub fn install(
    engine: &Engine,
    current: Option<&Registry>,
    request: &InstallRequest,
    confirm: &mut dyn FnMut(&[GrantChange]) -> bool,
) -> Result<Outcome> {
    let bundle = open(&request.reference, None)?;
    let signed_by = if request.keys.is_empty() {
        None
    } else {
        let keys = request.keys.iter().map(|k| signature::PublicKey::load(k)).collect::<Result<Vec<_>>>()?;
        Some(bundle.verify(&keys)?)
    };
    bundle.check_plugins(engine)?;
    let text = match std::fs::read_to_string(&request.registry) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&request.registry, e)),
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| Error::Registry { path: request.registry.clone(), message: format!("{e}") })?;
    let mut changes = Vec::new();
    for p in &bundle.config.plugins {
        let requested = p
            .capabilities
            .iter()
            .map(|c| Capability::parse(c))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| Error::Bundle { at: bundle.origin.clone(), message: format!("plugin {}: {e}", p.name) })?;
        let old = current.and_then(|r| r.plugins.iter().find(|e| e.name == p.name)).map(|e| e.grants.clone());
        let (added, grants) = match &old {
            None => (requested.clone(), requested.clone()),
            Some(old) => {
                let granted = CapabilitySet::new(old.iter().cloned());
                // What the new version asks for beyond what is granted: a
                // new kind, a wider glob, secret values.
                let added: Vec<Capability> = requested.iter().filter(|r| !granted.covers(r)).cloned().collect();
                // Otherwise what was granted, narrowed to what is still asked for.
                let mut grants = Grant { requested: CapabilitySet::new(requested.iter().cloned()), granted }.effective();
                grants.extend(added.iter().cloned());
                (added, grants)
            }
        };
        let text = |caps: &[Capability]| caps.iter().map(ToString::to_string).collect::<Vec<_>>();
        let new = text(&grants);
        let removed = old.as_ref().map(|o| text(o).into_iter().filter(|c| !new.contains(c)).collect()).unwrap_or_default();
        changes.push(GrantChange { plugin: p.name.clone(), old: old.as_deref().map(text), added: text(&added), removed, new });
    }
    let wants_more: Vec<GrantChange> = changes.iter().filter(|c| !c.added.is_empty()).cloned().collect();
    if !wants_more.is_empty() && !request.approve && !confirm(&wants_more) {
        return Ok(Outcome::NeedsApproval { changes: wants_more });
    }
    let source = |doc_bundle: &Bundle| -> (String, Option<String>) {
        if request.reference.starts_with("oci://") {
            let reference = remote::parse(&request.reference).expect("opened above");
            let base = reference.whole();
            let base = base.split('@').next().unwrap_or(&base).to_string();
            (format!("oci://{base}@{}", doc_bundle.digest), None)
        } else {
            (super::layout::absolute(Path::new(&request.reference)).display().to_string(), Some(doc_bundle.digest.clone()))
        }
    };
    let (source, manifest) = source(&bundle);
    let keys: Vec<String> = request.keys.iter().map(|k| super::layout::absolute(k).display().to_string()).collect();
    for p in &bundle.config.plugins {
        let table = entry(&mut doc, "plugin", "name", &p.name);
        table["source"] = toml_edit::value(&source);
        set_or_remove(table, "manifest", manifest.as_deref());
        table["sha256"] = toml_edit::value(p.digest.trim_start_matches("sha256:"));
        set_list(table, "keys", &keys);
        let change = changes.iter().find(|c| c.plugin == p.name).expect("one change per plugin");
        set_list(table, "grants", &change.new);
    }
    for p in &bundle.config.profiles {
        let table = entry(&mut doc, "profile", "id", &p.id);
        table["source"] = toml_edit::value(&source);
        set_or_remove(table, "manifest", manifest.as_deref());
        set_list(table, "keys", &keys);
    }
    if let Some(parent) = request.registry.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    // Written whole or not at all.
    let dir = request.registry.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(doc.to_string().as_bytes()).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(&request.registry).map_err(|e| Error::io(&request.registry, e.error))?;
    // The file as written must read back as a registry.
    Registry::layered(std::slice::from_ref(&request.registry))?;
    Ok(Outcome::Installed {
        digest: bundle.digest.clone(),
        signed_by,
        changes,
        profiles: bundle.config.profiles.iter().map(|p| p.id.clone()).collect(),
    })
}

/// The `[[kind]]` table whose `key` is `value`, appended if there is none.
fn entry<'a>(doc: &'a mut toml_edit::DocumentMut, kind: &str, key: &str, value: &str) -> &'a mut toml_edit::Table {
    if !doc.contains_key(kind) {
        doc[kind] = toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new());
    }
    let tables = doc[kind].as_array_of_tables_mut().expect("registry entries are [[tables]]");
    let position = tables.iter().position(|t| t.get(key).and_then(|v| v.as_str()) == Some(value));
    let index = match position {
        Some(i) => i,
        None => {
            let mut table = toml_edit::Table::new();
            table[key] = toml_edit::value(value);
            tables.push(table);
            tables.len() - 1
        }
    };
    tables.get_mut(index).expect("just found or pushed")
}

fn set_or_remove(table: &mut toml_edit::Table, key: &str, value: Option<&str>) {
    match value {
        Some(v) => table[key] = toml_edit::value(v),
        None => {
            table.remove(key);
        }
    }
}

fn set_list(table: &mut toml_edit::Table, key: &str, values: &[String]) {
    if values.is_empty() && key == "keys" {
        table.remove(key);
        return;
    }
    let mut array = toml_edit::Array::new();
    for v in values {
        array.push_formatted(toml_edit::Value::from(v.as_str()).decorated("\n    ", ""));
    }
    array.set_trailing("\n");
    array.set_trailing_comma(true);
    table[key] = toml_edit::value(array);
}

/// The grant changes, old against new, for a person to read.
pub fn describe_changes(changes: &[GrantChange]) -> String {
    let mut out = String::new();
    for c in changes {
        match &c.old {
            None => out.push_str(&format!("plugin {} (new) asks for:\n", c.plugin)),
            Some(_) => out.push_str(&format!("plugin {} asks for more than it is granted now:\n", c.plugin)),
        }
        for cap in &c.new {
            let mark = if c.added.contains(cap) { "+" } else { " " };
            out.push_str(&format!("  {mark} {cap}\n"));
        }
        for cap in &c.removed {
            out.push_str(&format!("  - {cap}\n"));
        }
    }
    out
}
