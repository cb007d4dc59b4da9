//! Reading cluster objects from manifest files: multi-document YAML, JSON,
//! `kind: List`, `kubectl get -o yaml` output, and typed lists as the API
//! server returns them (a `PodList` whose items carry no kind).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::ClusterData;
use crate::error::Error;

/// Reads every file and directory in `paths` into `data`. A file that fails
/// is reported and skipped; the others are still read.
pub fn load(paths: &[PathBuf], data: &mut ClusterData) -> Vec<Error> {
    // Files hold every kind they hold: a kind absent from them has no objects.
    data.know_every_kind();
    let mut errors = Vec::new();
    for path in paths {
        match files_under(path) {
            Ok(files) => {
                for file in files {
                    if let Err(e) = load_file(&file, data) {
                        errors.push(e);
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// A file as given, or the manifest files under a directory (recursively,
/// sorted, `.yaml`, `.yml` and `.json` only).
fn files_under(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let p = entry.path();
            let ft = entry.file_type().map_err(|e| Error::io(&p, e))?;
            if ft.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn load_file(path: &Path, data: &mut ClusterData) -> Result<(), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |message: String| Error::Manifest { path: path.to_path_buf(), message };
    let is_json = path.extension().is_some_and(|e| e == "json");
    let docs: Vec<Value> = if is_json {
        // A JSON file may hold several objects one after another.
        serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("invalid JSON: {e}")))?
    } else {
        let mut docs = Vec::new();
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(doc).map_err(|e| bad(format!("document {}: invalid YAML: {e}", i + 1)))?;
            docs.push(value);
        }
        docs
    };
    let display = path.display().to_string();
    let mut problems = Vec::new();
    let before = data.len();
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue; // an empty document between `---` separators
        }
        let source = format!("{display}#{}", i + 1);
        if let Err(message) = add_document(doc, &source, data) {
            problems.push(format!("document {}: {message}", i + 1));
        }
    }
    data.sources.push(display);
    if !problems.is_empty() {
        return Err(bad(format!("{} (the file's other {} objects were read)", problems.join("; "), data.len() - before)));
    }
    Ok(())
}

fn add_document(doc: Value, source: &str, data: &mut ClusterData) -> Result<(), String> {
    let Value::Object(mut map) = doc else {
        return Err("not a mapping, so not a Kubernetes object".into());
    };
    let kind = map.get("kind").and_then(Value::as_str).map(str::to_string);
    let api_version = map.get("apiVersion").and_then(Value::as_str).map(str::to_string);
    let Some(kind) = kind else {
        return Err("has no `kind`".into());
    };
    let Some(api_version) = api_version else {
        return Err(format!("{kind} has no `apiVersion`"));
    };
    if kind == "List" || (kind.ends_with("List") && map.get("items").is_some_and(Value::is_array)) {
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        let Some(Value::Array(items)) = map.remove("items") else {
            return Err(format!("{kind} has no `items` list"));
        };
        let mut problems = Vec::new();
        for (j, item) in items.into_iter().enumerate() {
            let item_source = format!("{source}.items[{j}]");
            let has_kind = item.get("kind").is_some_and(Value::is_string);
            let result = match (has_kind, item_kind) {
                (true, _) => add_document(item, &item_source, data),
                // A typed list: the items' kind is the list's, less `List`.
                (false, Some(k)) => add_object(item, &api_version, k, item_source, data),
                (false, None) => Err("has no `kind`".into()),
            };
            if let Err(e) = result {
                problems.push(format!("items[{j}] {e}"));
            }
        }
        return if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) };
    }
    add_object(Value::Object(map), &api_version, &kind, source.to_string(), data)
}

fn add_object(obj: Value, api_version: &str, kind: &str, source: String, data: &mut ClusterData) -> Result<(), String> {
    if !obj["metadata"]["name"].is_string() {
        return Err(format!("{kind} has no metadata.name"));
    }
    data.insert(obj, api_version, kind, source);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(name: &str, text: &str) -> (ClusterData, Vec<Error>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut data = ClusterData::default();
        let errors = load(&[path], &mut data);
        (data, errors)
    }

    #[test]
    fn multi_document_yaml_with_empty_documents() {
        let (data, errors) = load_text(
            "a.yaml",
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: a}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(data.list("v1", "Namespace", None).unwrap().count(), 1);
        let d = data.list("apps/v1", "Deployment", Some("a")).unwrap().next().unwrap();
        assert!(d.source.ends_with("a.yaml#3"), "{}", d.source);
    }

    #[test]
    fn typed_list_items_take_the_lists_kind() {
        let (data, errors) = load_text(
            "pods.json",
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"p","namespace":"dev"},"spec":{}}]}"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let p = data.list("v1", "Pod", None).unwrap().next().unwrap();
        assert_eq!(p.name, "p");
        assert!(p.source.ends_with("pods.json#1.items[0]"), "{}", p.source);
    }

    #[test]
    fn kubectl_list_output_keeps_item_kinds() {
        let (data, errors) = load_text(
            "all.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s, namespace: x}\n- apiVersion: apps/v1\n  kind: DaemonSet\n  metadata: {name: ds, namespace: x}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(data.len(), 2);
        assert_eq!(data.list("apps/v1", "DaemonSet", None).unwrap().count(), 1);
    }

    #[test]
    fn a_document_without_kind_is_named_and_the_rest_is_kept() {
        let (data, errors) =
            load_text("mixed.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n");
        assert_eq!(data.len(), 1);
        let msg = errors[0].to_string();
        assert!(msg.contains("mixed.yaml") && msg.contains("document 2") && msg.contains("no `kind`"), "{msg}");
    }

    #[test]
    fn malformed_yaml_names_the_file() {
        let (_, errors) = load_text("bad.yaml", "apiVersion: v1\nkind: [unclosed\n");
        let msg = errors[0].to_string();
        assert!(msg.contains("bad.yaml") && msg.contains("invalid YAML"), "{msg}");
    }

    #[test]
    fn malformed_json_names_the_file() {
        let (_, errors) = load_text("bad.json", "{\"kind\": ");
        assert!(errors[0].to_string().contains("bad.json"), "{}", errors[0]);
    }

    #[test]
    fn missing_path_is_an_error() {
        let mut data = ClusterData::default();
        let errors = load(&[PathBuf::from("/nonexistent/manifests")], &mut data);
        assert!(errors[0].to_string().contains("/nonexistent/manifests"));
    }
}
