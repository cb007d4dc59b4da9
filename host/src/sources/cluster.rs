//! Cluster objects as the broker hands them to plugins: indexed by kind,
//! serialized once, with a redacted copy of each Secret made once.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

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
    pub json: Arc<str>,
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
        let json: Arc<str> = Arc::from(obj.to_string());
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
    pub fn insert_raw(&mut self, json: &str, source: String) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            api_version: Option<String>,
            kind: Option<String>,
            #[serde(default)]
            metadata: Meta,
        }
        #[derive(serde::Deserialize, Default)]
        struct Meta {
            namespace: Option<String>,
            name: Option<String>,
        }
        let head: Head = serde_json::from_str(json).map_err(|e| format!("not a JSON object: {e}"))?;
        let (Some(api_version), Some(kind)) = (head.api_version, head.kind) else {
            return Err("has no apiVersion or kind".into());
        };
        let Some(name) = head.metadata.name else {
            return Err(format!("{kind} has no metadata.name"));
        };
        if api_version == "v1" && kind == "Secret" {
            let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
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
            json: Arc::from(json),
            redacted: None,
        });
        Ok(())
    }

    /// Objects of one kind, optionally in one namespace.
    pub fn list<'a>(&'a self, api_version: &str, kind: &str, namespace: Option<&'a str>) -> impl Iterator<Item = &'a ClusterObject> + 'a {
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
        let obj = data.list("v1", "Secret", None).next().unwrap();
        let redacted: Value = serde_json::from_str(obj.redacted.as_deref().unwrap()).unwrap();
        assert_eq!(redacted["data"]["password"], REDACTED);
        assert_eq!(redacted["stringData"]["user"], REDACTED);
        assert!(!obj.redacted.as_deref().unwrap().contains("aHVudGVyMg"));
        assert!(obj.json.contains("aHVudGVyMg=="));
        assert_eq!(obj.namespace.as_deref(), Some("shop"));
        assert!(obj.json.contains("\"kind\":\"Secret\""), "list items get their kind");
    }
}
