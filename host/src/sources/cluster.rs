//! Cluster objects as the broker hands them to plugins: indexed by kind,
//! serialized once, with a redacted copy of each Secret made once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

/// An object's JSON text: a string of its own, or a part of a larger text
/// that many objects share (a cluster snapshot's file), so a large input
/// is held in memory once rather than once more per object.
#[derive(Debug, Clone)]
pub struct JsonText {
    /// A `String`, not a `str`, behind the `Arc`: a text read whole is
    /// shared without being copied.
    text: Arc<String>,
    start: usize,
    end: usize,
}

impl JsonText {
    /// The part `part` of `text`; `None` when `part` does not lie inside it.
    pub fn within(text: &Arc<String>, part: &str) -> Option<JsonText> {
        let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        text.get(start..end).is_some().then(|| JsonText { text: text.clone(), start, end })
    }
}

impl From<String> for JsonText {
    fn from(text: String) -> JsonText {
        let end = text.len();
        JsonText { text: Arc::new(text), start: 0, end }
    }
}

impl From<&str> for JsonText {
    fn from(text: &str) -> JsonText {
        JsonText { text: Arc::new(text.to_string()), start: 0, end: text.len() }
    }
}

impl std::ops::Deref for JsonText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text[self.start..self.end]
    }
}

/// One object with where it came from.
#[derive(Debug, Clone)]
pub struct ClusterObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// `path/to/file.yaml#3` (the third document, counting from 1) or
    /// `#3.items[5]` for list items.
    pub source: String,
    /// The object as JSON text, serialized once for every plugin.
    pub json: JsonText,
    /// For Secrets: the JSON with `data` and `stringData` values redacted.
    pub redacted: Option<Arc<str>>,
}

/// Every object of the cluster, by `(apiVersion, kind)`.
#[derive(Debug, Default)]
pub struct ClusterData {
    by_kind: HashMap<(String, String), Vec<ClusterObject>>,
    /// What the objects were read from, for the report.
    pub sources: Vec<String>,
    /// Where each object came from, by (apiVersion, kind, namespace, name).
    origins: HashMap<(String, String, Option<String>, String), String>,
    /// The line each document of a manifest file starts on, by its source
    /// (`file.yaml#2`), for reports that point at lines (SARIF).
    pub(crate) document_lines: HashMap<String, usize>,
    /// Which kinds this data holds in full. Files (manifests, their
    /// snapshots) hold every kind there is to hold: a kind absent from them
    /// has no objects. A live cluster holds only the kinds that were listed.
    pub known: Known,
    /// Kinds that could not be read, `apps/v1/Deployment` → why. Asking for
    /// one is an error, never an empty list.
    pub failed: BTreeMap<String, String>,
    /// The Kubernetes version the API server reported (`v1.36.2`).
    pub version: Option<String>,
    /// What the inputs hold that the API server would not take as it is,
    /// but that was read anyway (a workload under a removed apiVersion):
    /// `warn` findings in the report.
    pub warnings: Vec<InputWarning>,
    /// Inputs that could not be read (a file that is not text, a document
    /// that does not parse, an object the API server would refuse): what
    /// they hold is unknown, so a check that lists a kind they may hold
    /// cannot pass on the objects that were read.
    pub unread: Vec<Unread>,
}

/// An input the scan could not read, and what it may have held. Cluster
/// snapshots record them (`unread`), so a scan of a snapshot judges as a
/// scan of its manifests would.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unread {
    /// `file.yaml#3` (a document), `file.yaml#3.items[2]`, or the file
    /// when none of it was read.
    pub source: String,
    /// The kind the input says it holds (`Pod`); `None` when it could hold
    /// any kind (a file that is not text, a document that does not parse,
    /// a `List` of mixed items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The object the input names, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<UnreadObject>,
    /// The line the document starts on in its file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Why it was not read.
    pub why: String,
}

/// The identity an unread document gives itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnreadObject {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl Unread {
    /// An input of which nothing is known: it could hold any kind.
    pub fn anything(source: impl Into<String>, why: impl Into<String>) -> Unread {
        Unread { source: source.into(), kind: None, object: None, line: None, why: why.into() }
    }

    /// A document that was parsed but not taken: the kind and object it
    /// names, as far as it names them. A `FooList` may hold `Foo`s; a
    /// `List`, anything.
    pub fn document(source: impl Into<String>, doc: &Value, why: impl Into<String>) -> Unread {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let kind = doc.get("kind").and_then(text);
        let api_version = doc.get("apiVersion").and_then(text);
        let meta = doc.get("metadata");
        let name = meta.and_then(|m| m.get("name")).and_then(text);
        let namespace = meta.and_then(|m| m.get("namespace")).and_then(text);
        let is_list = kind.as_deref().is_some_and(|k| k.ends_with("List")) && doc.get("items").is_some();
        let (kind, object) = if is_list {
            (kind.and_then(|k| k.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string)), None)
        } else {
            let object = match (&api_version, &kind, name) {
                (Some(api_version), Some(kind), Some(name)) => {
                    Some(UnreadObject { api_version: api_version.clone(), kind: kind.clone(), namespace, name })
                }
                _ => None,
            };
            (kind, object)
        };
        Unread { source: source.into(), kind, object, line: None, why: why.into() }
    }

    /// Whether the input may hold an object a run listed (see [`Listed`]).
    /// Kind names are compared in lower case: a `kind: pod` the API server
    /// refuses was still meant as a Pod. An object whose namespace is not
    /// known may be in any.
    pub fn may_hold(&self, listed: &Listed) -> bool {
        let Some(kind) = &self.kind else { return !listed.is_empty() };
        match listed.get(&kind.to_ascii_lowercase()) {
            None => false,
            Some(None) => true,
            Some(Some(namespaces)) => self.object.as_ref().and_then(|o| o.namespace.as_ref()).is_none_or(|ns| namespaces.contains(ns)),
        }
    }
}

/// What a plugin run listed, as far as the unread inputs care: whether it
/// listed anything, and for each kind an unread input names (lower case)
/// the namespaces it was listed in that such an input names (`None`:
/// across all of them). A plugin may list any number of kinds and
/// namespaces (a hostile one, millions); only these are kept, so the
/// record is bounded by the unread inputs, not by the plugin.
#[derive(Debug, Default, Clone)]
pub struct Listed {
    any: bool,
    kinds: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Listed {
    /// Records one listing of `kind`, in `namespace` or (`None`) in all.
    pub fn add(&mut self, kind: &str, namespace: Option<&str>, unread: &[Unread]) {
        self.any = true;
        let of_kind = || unread.iter().filter(|u| u.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(kind)));
        if of_kind().next().is_none() {
            return;
        }
        let entry = self.kinds.entry(kind.to_ascii_lowercase()).or_insert_with(|| Some(BTreeSet::new()));
        match (entry, namespace) {
            (entry @ Some(_), None) => *entry = None,
            (Some(namespaces), Some(ns)) => {
                if of_kind().any(|u| u.object.as_ref().and_then(|o| o.namespace.as_deref()) == Some(ns)) {
                    namespaces.insert(ns.to_string());
                }
            }
            (None, _) => {}
        }
    }

    fn get(&self, kind: &str) -> Option<&Option<BTreeSet<String>>> {
        self.kinds.get(kind)
    }

    pub fn is_empty(&self) -> bool {
        !self.any
    }
}

/// An object read with a caveat.
#[derive(Debug, Clone)]
pub struct InputWarning {
    /// The apiVersion the object is judged as.
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub source: String,
    pub message: String,
}

/// Which kinds a [`ClusterData`] holds in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Known {
    /// No source yet: nothing is known.
    #[default]
    Nothing,
    /// Every kind (the objects come from files).
    Every,
    /// These kinds (`apps/v1/Deployment`), listed from an API server.
    Kinds(BTreeSet<String>),
}

/// `apps/v1/Deployment`, the key of [`ClusterData::failed`] and [`Known::Kinds`].
pub fn kind_key(api_version: &str, kind: &str) -> String {
    format!("{api_version}/{kind}")
}

/// The type and identity of an object, read from its JSON text without
/// building the rest.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Head {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: HeadMeta,
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(crate) struct HeadMeta {
    pub namespace: Option<String>,
    pub name: Option<String>,
}

/// What replaces a redacted Secret value.
pub const REDACTED: &str = "<redacted>";

impl ClusterData {
    /// Adds an object whose apiVersion and kind are known.
    pub fn insert(&mut self, mut obj: Value, api_version: &str, kind: &str, source: String) {
        if let Some(map) = obj.as_object_mut() {
            // Items of a typed list carry no kind; give every object its own.
            map.entry("apiVersion").or_insert_with(|| Value::String(api_version.to_string()));
            map.entry("kind").or_insert_with(|| Value::String(kind.to_string()));
        }
        let meta = &obj["metadata"];
        let namespace = meta["namespace"].as_str().map(str::to_string);
        let name = meta["name"].as_str().unwrap_or_default().to_string();
        let redacted = (api_version == "v1" && kind == "Secret").then(|| Arc::from(redact_secret(&obj).to_string()));
        let json = JsonText::from(obj.to_string());
        self.origins.insert((api_version.to_string(), kind.to_string(), namespace.clone(), name.clone()), source.clone());
        self.by_kind.entry((api_version.to_string(), kind.to_string())).or_default().push(ClusterObject {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace,
            name,
            source,
            json,
            redacted,
        });
    }

    /// Adds an object given as JSON text that carries its own apiVersion
    /// and kind, keeping the text as it is (no tree is built, except to
    /// redact a Secret).
    pub fn insert_raw(&mut self, json: JsonText, source: String) -> Result<(), String> {
        let head: Head = serde_json::from_str(&json).map_err(|e| format!("not a JSON object: {e}"))?;
        self.insert_with_head(json, head, source)
    }

    /// [`insert_raw`](Self::insert_raw) for a caller that has read the
    /// object's head already.
    pub(crate) fn insert_with_head(&mut self, json: JsonText, head: Head, source: String) -> Result<(), String> {
        let (Some(api_version), Some(kind)) = (head.api_version, head.kind) else {
            return Err("has no apiVersion or kind".into());
        };
        let Some(name) = head.metadata.name else {
            return Err(format!("{kind} has no metadata.name"));
        };
        // A workload under a removed version (a snapshot of old manifests)
        // is judged as the version that replaced it, as when read from files.
        if let super::kinds::Class::Removed { current, removed_in } = super::kinds::classify(&api_version, &kind) {
            let value: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            let ns = head.metadata.namespace.as_deref().map_or(String::new(), |n| format!("{n}/"));
            let message = format!(
                "{kind} {ns}{name} uses {api_version}, which Kubernetes {removed_in} removed: the API server refuses it; \
                 its pod template is judged as {current} {kind} (move it to {current})"
            );
            self.warn(current, &kind, &value, &source, message);
            self.insert(value, current, &kind, source);
            return Ok(());
        }
        if api_version == "v1" && kind == "Secret" {
            let value: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            self.insert(value, &api_version, &kind, source);
            return Ok(());
        }
        self.origins.insert((api_version.clone(), kind.clone(), head.metadata.namespace.clone(), name.clone()), source.clone());
        self.by_kind.entry((api_version.clone(), kind.clone())).or_default().push(ClusterObject {
            api_version,
            kind,
            namespace: head.metadata.namespace,
            name,
            source,
            json,
            redacted: None,
        });
        Ok(())
    }

    /// Records a caveat about an object (see [`ClusterData::warnings`]).
    pub fn warn(&mut self, api_version: &str, kind: &str, obj: &Value, source: &str, message: String) {
        let meta = &obj["metadata"];
        self.warnings.push(InputWarning {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            source: source.to_string(),
            message,
        });
    }

    /// Why each kind that could not be read was not, as report errors.
    pub fn failures(&self) -> impl Iterator<Item = String> + '_ {
        self.failed.values().map(|why| format!("cluster: {why}"))
    }

    /// Records that every kind is known (the objects come from files).
    pub fn know_every_kind(&mut self) {
        self.known = Known::Every;
    }

    /// Records that a kind was listed in full.
    pub fn know_kind(&mut self, api_version: &str, kind: &str) {
        match &mut self.known {
            Known::Every => {}
            Known::Kinds(kinds) => {
                kinds.insert(kind_key(api_version, kind));
            }
            known @ Known::Nothing => *known = Known::Kinds(BTreeSet::from([kind_key(api_version, kind)])),
        }
    }

    /// Objects of one kind, optionally in one namespace; an error saying why
    /// when the kind could not be read or was never read.
    pub fn list<'a>(
        &'a self,
        api_version: &str,
        kind: &str,
        namespace: Option<&'a str>,
    ) -> Result<impl Iterator<Item = &'a ClusterObject> + 'a, String> {
        let key = kind_key(api_version, kind);
        // A whole group-version fails as `apps/v1/*` (its discovery failed).
        if let Some(why) = self.failed.get(&key).or_else(|| self.failed.get(&kind_key(api_version, "*"))) {
            return Err(why.clone());
        }
        match &self.known {
            Known::Every => {}
            Known::Kinds(kinds) if kinds.contains(&key) => {}
            _ => {
                return Err(format!("{key} was not read from the cluster ({}): its objects are unknown", self.sources.join(", ")));
            }
        }
        Ok(self.objects_of(api_version, kind, namespace))
    }

    fn objects_of<'a>(&'a self, api_version: &str, kind: &str, namespace: Option<&'a str>) -> impl Iterator<Item = &'a ClusterObject> + 'a {
        self.by_kind
            .get(&(api_version.to_string(), kind.to_string()))
            .into_iter()
            .flatten()
            .filter(move |o| namespace.is_none() || o.namespace.as_deref() == namespace)
    }

    /// The file and document an object was read from.
    pub fn origin(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<&str> {
        self.origins.get(&(api_version.to_string(), kind.to_string(), namespace.map(str::to_string), name.to_string())).map(String::as_str)
    }

    /// The line an object's document starts on in its file (the list's,
    /// for an item of a `kind: List`).
    pub fn line_of(&self, source: &str) -> Option<usize> {
        let document = source.split_once(".items[").map_or(source, |(doc, _)| doc);
        self.document_lines.get(document).copied()
    }

    /// Records the line an object's document starts on (from a snapshot).
    pub(crate) fn remember_line(&mut self, source: &str, line: usize) {
        let document = source.split_once(".items[").map_or(source, |(doc, _)| doc);
        self.document_lines.insert(document.to_string(), line);
    }

    /// Every object, kind by kind.
    pub fn objects(&self) -> impl Iterator<Item = &ClusterObject> {
        let mut kinds: Vec<_> = self.by_kind.keys().collect();
        kinds.sort();
        kinds.into_iter().flat_map(|k| self.by_kind[k].iter())
    }

    /// How many objects there are in all.
    pub fn len(&self) -> usize {
        self.by_kind.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many objects are of kinds `listable(api_version, kind)` allows.
    pub fn count_where(&self, listable: impl Fn(&str, &str) -> bool) -> usize {
        self.by_kind.iter().filter(|((v, k), _)| listable(v, k)).map(|(_, objs)| objs.len()).sum()
    }

    /// Object counts by kind, sorted, for the report.
    pub fn kinds(&self) -> Vec<(String, usize)> {
        let mut kinds: Vec<_> = self.by_kind.iter().map(|((v, k), objs)| (format!("{v}/{k}"), objs.len())).collect();
        kinds.sort();
        kinds
    }
}

fn redact_secret(obj: &Value) -> Value {
    let mut copy = obj.clone();
    for field in ["data", "stringData"] {
        if let Some(map) = copy.get_mut(field).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                *value = Value::String(REDACTED.to_string());
            }
        }
    }
    // kubectl's last-applied annotation repeats the whole object, values included.
    if let Some(ann) = copy.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut)
        && let Some(v) = ann.get_mut("kubectl.kubernetes.io/last-applied-configuration")
    {
        *v = Value::String(REDACTED.to_string());
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_redacted_in_the_copy_only() {
        let mut data = ClusterData::default();
        let secret = json!({"metadata": {"name": "db", "namespace": "shop",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "admin"}});
        data.insert(secret, "v1", "Secret", "s.yaml#0".into());
        data.know_every_kind();
        let obj = data.list("v1", "Secret", None).unwrap().next().unwrap();
        let redacted: Value = serde_json::from_str(obj.redacted.as_deref().unwrap()).unwrap();
        assert_eq!(redacted["data"]["password"], REDACTED);
        assert_eq!(redacted["stringData"]["user"], REDACTED);
        assert!(!obj.redacted.as_deref().unwrap().contains("aHVudGVyMg"));
        assert!(obj.json.contains("aHVudGVyMg=="));
        assert_eq!(obj.namespace.as_deref(), Some("shop"));
        assert!(obj.json.contains("\"kind\":\"Secret\""), "list items get their kind");
    }

    /// A plugin that lists a million made-up kinds and namespaces leaves a
    /// record the size of the unread inputs, not of its calls.
    #[test]
    fn what_a_run_listed_is_kept_only_as_far_as_the_unread_inputs_care() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "dev"}});
        let unread = vec![Unread::document("p.yaml#1", &pod, "bad")];
        let mut listed = Listed::default();
        assert!(!unread[0].may_hold(&listed), "nothing listed");
        for i in 0..100_000 {
            listed.add(&format!("Kind{i}"), Some(&format!("ns{i}")), &unread);
            listed.add("Pod", Some(&format!("ns{i}")), &unread);
        }
        assert_eq!(listed.kinds.len(), 1);
        assert_eq!(listed.kinds["pod"].as_ref().map(BTreeSet::len), Some(0), "no listed namespace is the Pod's");
        assert!(!unread[0].may_hold(&listed));
        listed.add("pod", Some("dev"), &unread);
        assert!(unread[0].may_hold(&listed), "listed in its namespace, in any case");
        let anything = Unread::anything("x.yaml", "not UTF-8");
        assert!(anything.may_hold(&listed));
    }

    #[test]
    fn kinds_that_failed_or_were_never_listed_are_errors_not_empty() {
        let mut data = ClusterData::default();
        data.sources.push("https://10.0.0.1:6443".into());
        data.insert(json!({"metadata": {"name": "a", "namespace": "x"}}), "v1", "Pod", "live".into());
        data.know_kind("v1", "Pod");
        data.failed.insert(kind_key("rbac.authorization.k8s.io/v1", "ClusterRole"), "403 Forbidden".into());
        assert_eq!(data.list("v1", "Pod", None).unwrap().count(), 1);
        assert_eq!(data.list("rbac.authorization.k8s.io/v1", "ClusterRole", None).err().unwrap(), "403 Forbidden");
        let never = data.list("apps/v1", "Deployment", None).err().unwrap();
        assert!(never.contains("apps/v1/Deployment was not read from the cluster (https://10.0.0.1:6443)"), "{never}");
        data.failed.insert(kind_key("batch/v1", "*"), "discovery of batch/v1 failed: 503".into());
        assert_eq!(data.list("batch/v1", "Job", None).err().unwrap(), "discovery of batch/v1 failed: 503");
        data.know_every_kind();
        assert_eq!(data.list("apps/v1", "Deployment", None).unwrap().count(), 0, "files hold every kind");
    }
}
