//! The view of the target a plugin's checks use, and its in-sandbox
//! implementation over the WIT imports.

use crate::bindings::rampart::plugin::{cluster, log, node};
use crate::{AccessError, FileStat, Level, Object, ObjectPage};

/// Objects per page when a plugin reads a kind page by page: kubectl's
/// default chunk size.
pub const PAGE_SIZE: u32 = 500;

/// The page of `all` a fake host serves: at most `limit` objects (0: all)
/// from the offset `continue_token` holds.
pub(crate) fn page_of(all: Vec<Object>, limit: u32, continue_token: Option<&str>) -> Result<ObjectPage, AccessError> {
    let from = offset(continue_token)?;
    let to = if limit == 0 { all.len() } else { all.len().min(from.saturating_add(limit as usize)) };
    let next = (to < all.len()).then(|| to.to_string());
    Ok(ObjectPage { objects: all.into_iter().skip(from).take(to.saturating_sub(from)).collect(), continue_token: next })
}

/// The offset a fake host's continue token holds (`None`: 0).
pub(crate) fn offset(continue_token: Option<&str>) -> Result<usize, AccessError> {
    match continue_token {
        None => Ok(0),
        Some(t) => t.parse::<usize>().map_err(|_| AccessError::Invalid(format!("bad continue token {t}"))),
    }
}

/// Everything a check may ask about the target. Inside the sandbox each call
/// goes to the host broker, which checks the plugin's grant; in tests
/// [`crate::testing::FakeHost`] answers.
pub trait Host {
    /// Objects of one kind (`api_version` is `v1` or `group/version`), in all
    /// namespaces (`None`) or one.
    fn list_objects(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Result<Vec<Object>, AccessError>;
    /// One page of the same listing: at most `limit` objects (0: all) from
    /// where `continue_token` says (`None`: the first). The default pages
    /// over [`Host::list_objects`], for fakes.
    fn list_objects_page(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        limit: u32,
        continue_token: Option<&str>,
    ) -> Result<ObjectPage, AccessError> {
        page_of(self.list_objects(api_version, kind, namespace)?, limit, continue_token)
    }
    /// Every object of a listing, `page` at a time: `each` sees one page,
    /// so a plugin never holds a whole large kind in its memory.
    fn for_each_page(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        page: u32,
        each: &mut dyn FnMut(Vec<Object>),
    ) -> Result<(), AccessError> {
        let mut token: Option<String> = None;
        loop {
            let p = self.list_objects_page(api_version, kind, namespace, page, token.as_deref())?;
            each(p.objects);
            match p.continue_token {
                Some(t) => token = Some(t),
                None => return Ok(()),
            }
        }
    }
    /// A short name for the node being checked; empty when the run has no
    /// node (a run against the cluster alone).
    fn node_name(&self) -> String;
    /// The contents of a node file.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, AccessError>;
    /// Metadata of a node path; symlinks followed when `follow`.
    fn stat(&self, path: &str, follow: bool) -> Result<FileStat, AccessError>;
    /// The entries of a node directory, not following symlinks.
    fn list_dir(&self, path: &str) -> Result<Vec<FileStat>, AccessError>;
    /// Argument vectors of the running processes named `name`.
    fn process_args(&self, name: &str) -> Result<Vec<Vec<String>>, AccessError>;
    /// The environment variables starting with `prefix` (not empty) of the
    /// same processes, in the same order. `NotFound` when the node does not
    /// show environments; the default says so for hosts that have none.
    fn process_env(&self, name: &str, prefix: &str) -> Result<Vec<Vec<(String, String)>>, AccessError> {
        let _ = prefix;
        Err(AccessError::NotFound(format!("this host does not show the environment of {name}")))
    }
    /// A log line for the operator (shown with `--verbose`).
    fn log(&self, level: Level, message: &str) {
        let _ = (level, message);
    }
}

/// The [`Host`] inside the Wasm sandbox: every call is a WIT import.
#[derive(Debug, Clone, Copy)]
pub struct WasmHost;

impl Host for WasmHost {
    fn list_objects(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Result<Vec<Object>, AccessError> {
        cluster::list_objects(api_version, kind, namespace)
    }
    fn list_objects_page(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        limit: u32,
        continue_token: Option<&str>,
    ) -> Result<ObjectPage, AccessError> {
        cluster::list_objects_page(api_version, kind, namespace, limit, continue_token)
    }
    fn node_name(&self) -> String {
        node::name()
    }
    fn read_file(&self, path: &str) -> Result<Vec<u8>, AccessError> {
        node::read_file(path)
    }
    fn stat(&self, path: &str, follow: bool) -> Result<FileStat, AccessError> {
        node::stat(path, follow)
    }
    fn list_dir(&self, path: &str) -> Result<Vec<FileStat>, AccessError> {
        node::list_dir(path)
    }
    fn process_args(&self, name: &str) -> Result<Vec<Vec<String>>, AccessError> {
        node::process_args(name)
    }
    fn process_env(&self, name: &str, prefix: &str) -> Result<Vec<Vec<(String, String)>>, AccessError> {
        node::process_env(name, prefix)
    }
    fn log(&self, level: Level, message: &str) {
        log::log(level, message);
    }
}

/// Per-profile parameters of a plugin run (thresholds, allow-lists).
///
/// ```
/// use rampart_sdk::Settings;
/// let s = Settings::new(vec![("max-mode".into(), "0600".into())]);
/// assert_eq!(s.get("max-mode"), Some("0600"));
/// assert_eq!(s.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Settings(Vec<(String, String)>);

impl Settings {
    pub fn new(pairs: Vec<(String, String)>) -> Settings {
        Settings(pairs)
    }

    /// The value of `key`; the last one wins when given twice.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A comma-separated list setting, trimmed, empty items dropped.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
    }
}
