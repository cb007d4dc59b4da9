//! Reading cluster objects from manifest files as `kubectl apply` reads
//! them: multi-document YAML (YAML 1.1, as kubectl) and JSON, `kind: List`,
//! `kubectl get -o yaml` output, and typed lists as the API server returns
//! them (a `PodList` whose items carry no kind). Built-in kinds are checked
//! against their types, namespaced objects without a namespace land in
//! `default`, and every namespace gets its `default` ServiceAccount, so
//! plugins see what the API server would hold.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ClusterData;
use super::cluster::Unread;
use super::kinds::{self, Class};
use super::yaml;
use crate::error::Error;

/// The largest input read by default (64 MiB): far past any real manifest,
/// small enough that `--manifests /dev/zero`-like inputs end in an error.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The name standard input goes by in `--manifests`.
pub const STDIN: &str = "-";

/// Reads every file and directory in `paths` into `data` (`-` is standard
/// input), with the default size limit. A file that fails is reported and
/// skipped; the others are still read.
pub fn load(paths: &[PathBuf], data: &mut ClusterData) -> Vec<Error> {
    load_with_limit(paths, DEFAULT_MAX_BYTES, data)
}

/// [`load`] with a size limit per input, in bytes.
pub fn load_with_limit(paths: &[PathBuf], max_bytes: u64, data: &mut ClusterData) -> Vec<Error> {
    // Files hold every kind they hold: a kind absent from them has no objects.
    data.know_every_kind();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN {
            match read_limited(std::io::stdin().lock(), max_bytes) {
                Ok(bytes) => errors.extend(read_bytes("(stdin)", &bytes, data)),
                Err(e) => errors.push(unread(data, "(stdin)".into(), e.message(max_bytes))),
            }
            continue;
        }
        match files_under(path) {
            Ok(files) => {
                for file in files {
                    match file.and_then(|file| read_file(&file, max_bytes).map(|bytes| (file, bytes))) {
                        Ok((file, bytes)) => errors.extend(read_bytes(&file.display().to_string(), &bytes, data)),
                        Err(e) => {
                            let source = error_path(&e).unwrap_or(path).display().to_string();
                            data.unread.push(Unread::anything(source, e.to_string()));
                            errors.push(e);
                        }
                    }
                }
            }
            Err(e) => {
                data.unread.push(Unread::anything(path.display().to_string(), e.to_string()));
                errors.push(e);
            }
        }
    }
    complete(data);
    errors
}

/// Reads one input given as bytes (standard input, a fuzz case) into
/// `data`, named `name` in sources and errors, then adds what the API
/// server implies (each namespace's `default` ServiceAccount).
pub fn load_bytes(name: &str, bytes: &[u8], data: &mut ClusterData) -> Vec<Error> {
    data.know_every_kind();
    let errors = read_bytes(name, bytes, data);
    complete(data);
    errors
}

/// A file as given, or the manifest files under a directory (recursively,
/// sorted, `.yaml`, `.yml` and `.json` only), each with what stopped it
/// from being listed. Only regular files are read ([`read_file`] refuses
/// the rest): a FIFO or a device would block the scan or never end. An
/// entry with a manifest's name that is not one (a FIFO, a symlink that
/// leads nowhere or in a loop) is an error, as it is to kubectl, which
/// opens every such entry: the scan would otherwise judge without it.
fn files_under(path: &Path) -> Result<Vec<Result<PathBuf, Error>>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        if !meta.is_file() {
            return Err(not_regular(path));
        }
        return Ok(vec![Ok(path.to_path_buf())]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Some(unbuilt) = unbuilt(&dir) {
            out.push(Err(unbuilt));
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                out.push(Err(Error::io(&dir, e)));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    out.push(Err(Error::io(&dir, e)));
                    continue;
                }
            };
            let p = entry.path();
            match entry.file_type() {
                Ok(ft) if ft.is_dir() => stack.push(p),
                _ if !matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) => {}
                Ok(_) => out.push(Ok(p)),
                Err(e) => out.push(Err(Error::io(&p, e))),
            }
        }
    }
    out.sort_by_cached_key(|entry| match entry {
        Ok(p) => Some(p.clone()),
        Err(e) => error_path(e).map(Path::to_path_buf),
    });
    Ok(out)
}

/// A directory whose files are the inputs of a tool that builds the
/// objects, not the objects: a Helm chart (`Chart.yaml`: Go templates until
/// `helm template` renders them with values) or a kustomization
/// (`kustomization.yaml`: resources, possibly from elsewhere, patched,
/// renamed, moved to a namespace, with generated ConfigMaps and Secrets).
/// Read file by file, a chart gives a parse error per template and an
/// overlay judges its patches as if they were whole objects (a patch
/// without `privileged: true` passing for a base that has it). Neither is
/// read; each is an input that was not read, named with the command that
/// builds it.
fn unbuilt(dir: &Path) -> Option<Error> {
    let shown = dir.display();
    let message = if dir.join("Chart.yaml").is_file() {
        format!(
            "a Helm chart (it has Chart.yaml): its templates are not Kubernetes objects until rendered, so it was not \
             read; render it and scan the result: `helm template RELEASE {shown} | rampart scan --manifests -`"
        )
    } else if let Some(file) = ["kustomization.yaml", "kustomization.yml", "Kustomization"].into_iter().find(|f| dir.join(f).is_file()) {
        format!(
            "a kustomization (it has {file}): its files are what kustomize builds the objects from, not the objects, \
             so it was not read; build it and scan the result: `kubectl kustomize {shown} | rampart scan --manifests -`"
        )
    } else {
        return None;
    };
    Some(Error::Manifest { path: dir.to_path_buf(), message })
}

/// The file or directory an input error is about.
fn error_path(e: &Error) -> Option<&Path> {
    match e {
        Error::Io { path, .. } | Error::Manifest { path, .. } => Some(path),
        _ => None,
    }
}

fn not_regular(path: &Path) -> Error {
    Error::Manifest {
        path: path.to_path_buf(),
        message: "not a regular file or directory (a device, FIFO or socket is not read; use --manifests - for a pipe)".into(),
    }
}

/// Why an input could not be read in full.
enum ReadError {
    Io(std::io::Error),
    TooLarge,
}

impl ReadError {
    fn message(&self, max_bytes: u64) -> String {
        match self {
            ReadError::Io(e) => e.to_string(),
            ReadError::TooLarge => {
                format!("larger than the limit of {} per input: not read (raise it with --max-manifest-mib)", human_bytes(max_bytes))
            }
        }
    }
}

fn human_bytes(n: u64) -> String {
    if n.is_multiple_of(1024 * 1024) { format!("{} MiB", n / (1024 * 1024)) } else { format!("{n} bytes") }
}

fn read_limited(reader: impl Read, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(path));
    }
    let bad = |e: ReadError| Error::Manifest { path: path.to_path_buf(), message: e.message(max_bytes) };
    if meta.len() > max_bytes {
        return Err(bad(ReadError::TooLarge));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_limited(file, max_bytes).map_err(bad)
}

/// Reads the documents of one input. Each broken document is an error of
/// its own; its siblings are still read.
fn read_bytes(name: &str, bytes: &[u8], data: &mut ClusterData) -> Vec<Error> {
    let bad = |message: String| Error::Manifest { path: PathBuf::from(name), message };
    data.sources.push(name.to_string());
    // kubectl accepts (and drops) a UTF-8 byte-order mark, and reads text
    // that starts with a UTF-16 one as UTF-16 (what Windows PowerShell's
    // `kubectl get -o yaml > file` writes).
    let decoded;
    let text = match utf16(bytes) {
        Some(Ok(t)) => {
            decoded = t;
            decoded.as_str()
        }
        Some(Err(why)) => return vec![unread(data, name.into(), why)],
        None => match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
            Ok(t) => t,
            Err(e) => {
                let at = e.valid_up_to() + if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
                return vec![unread(data, name.into(), format!("not UTF-8 text (invalid byte at offset {at}): not read"))];
            }
        },
    };
    let json = yaml::looks_like_json(name, text);
    // One document parsed at a time, each stored as JSON text before the
    // next is read.
    let docs: Box<dyn Iterator<Item = yaml::Document> + '_> =
        if json { Box::new(yaml::json_documents(text)) } else { Box::new(yaml::yaml_documents(text)) };
    let mut errors = Vec::new();
    for doc in docs {
        let n = doc.number;
        data.document_lines.insert(format!("{name}#{n}"), doc.line);
        let unread_before = data.unread.len();
        let result = match doc.value {
            Ok(None) => Ok(()), // an empty document between `---` separators
            // What add_document refuses it records as unread itself.
            Ok(Some(value)) => add_document(value, &format!("{name}#{n}"), data),
            Err(e) => {
                let message = if json {
                    format!("{e} (nothing after it in the input was read)")
                } else if text.contains("{{") {
                    format!(
                        "invalid YAML: {e} (the input's other documents were read; it holds `{{{{`: if it is a template, \
                         render it first, as `helm template` does for a chart)"
                    )
                } else {
                    format!("invalid YAML: {e} (the input's other documents were read)")
                };
                data.unread.push(Unread::anything(format!("{name}#{n}"), message.clone()));
                Err(message)
            }
        };
        if let Err(message) = result {
            errors.push(bad(format!("document {n} (line {}): {message}", doc.line)));
        }
        for unread in &mut data.unread[unread_before..] {
            unread.line = Some(doc.line);
        }
    }
    errors
}

/// Text that starts with a UTF-16 byte-order mark, decoded (without the
/// mark); `None` for any other text. Where kubectl would put U+FFFD for a
/// broken sequence, this refuses the input: a replaced character in a
/// flag or a name is not what the file says.
fn utf16(bytes: &[u8]) -> Option<Result<String, String>> {
    let (body, big_endian) = match bytes {
        [0xFF, 0xFE, body @ ..] => (body, false),
        [0xFE, 0xFF, body @ ..] => (body, true),
        _ => return None,
    };
    let order = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
    if body.len() % 2 != 0 {
        return Some(Err(format!("{order} text (by its byte-order mark) with an odd number of bytes: not read")));
    }
    let units = body.chunks_exact(2).map(|p| if big_endian { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) });
    let mut text = String::with_capacity(body.len() / 2);
    // The offset of the next code unit, in bytes from the file's start.
    let mut at = 2;
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                text.push(c);
                at += 2 * c.len_utf16();
            }
            Err(e) => {
                return Some(Err(format!(
                    "{order} text (by its byte-order mark) with an unpaired surrogate {:#06x} at offset {at}: not read",
                    e.unpaired_surrogate()
                )));
            }
        }
    }
    Some(Ok(text))
}

/// An error about an input none of which was read, recorded as unread.
fn unread(data: &mut ClusterData, name: String, message: String) -> Error {
    data.unread.push(Unread::anything(name.clone(), message.clone()));
    Error::Manifest { path: PathBuf::from(name), message }
}

/// Adds one document's object (or a list's items); what it refuses is
/// recorded in [`ClusterData::unread`] as well as returned.
fn add_document(doc: Value, source: &str, data: &mut ClusterData) -> Result<(), String> {
    let refuse = |data: &mut ClusterData, doc: &Value, why: String| {
        data.unread.push(Unread::document(source, doc, why.clone()));
        Err(why)
    };
    // A document that is not a mapping, or a mapping with neither `kind`
    // nor `apiVersion`, is no Kubernetes object at all (a Helm values
    // file, a CI workflow, a playbook beside the manifests): an input
    // error, as kubectl makes it, but not an object the checks missed.
    if !doc.is_object() {
        return Err("not a mapping, so not a Kubernetes object".into());
    }
    let kind = doc.get("kind").and_then(Value::as_str).map(str::to_string);
    let api_version = doc.get("apiVersion").and_then(Value::as_str).map(str::to_string);
    let Some(kind) = kind else {
        if doc.get("kind").is_none() && doc.get("apiVersion").is_none() {
            return Err("has no `kind` or `apiVersion`: not a Kubernetes object".into());
        }
        return refuse(data, &doc, "has no `kind`".into());
    };
    let Some(api_version) = api_version else {
        return refuse(data, &doc, format!("{kind} has no `apiVersion`"));
    };
    let Value::Object(mut map) = doc else { unreachable!("checked to be a mapping above") };
    if kind == "List" || (kind.ends_with("List") && map.get("items").is_some_and(Value::is_array)) {
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        let Some(Value::Array(items)) = map.remove("items") else {
            return refuse(data, &Value::Object(map), format!("{kind} has no `items` list"));
        };
        let mut problems = Vec::new();
        for (j, item) in items.into_iter().enumerate() {
            let item_source = format!("{source}.items[{j}]");
            let has_kind = item.get("kind").is_some_and(Value::is_string);
            let result = match (has_kind, item_kind) {
                (true, _) => add_document(item, &item_source, data),
                // A typed list: the items' kind is the list's, less `List`.
                (false, Some(k)) => add_object(item, &api_version, k, item_source, data),
                (false, None) => {
                    data.unread.push(Unread::anything(item_source, "has no `kind`"));
                    Err("has no `kind`".into())
                }
            };
            if let Err(e) = result {
                problems.push(format!("items[{j}] {e}"));
            }
        }
        return if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) };
    }
    add_object(Value::Object(map), &api_version, &kind, source.to_string(), data)
}

/// `Deployment shop/web`, for messages.
fn describe(kind: &str, obj: &Value) -> String {
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) if !ns.is_empty() => format!("{kind} {ns}/{name}"),
        _ => format!("{kind} {name}"),
    }
}

/// Adds one object; what it refuses is recorded in
/// [`ClusterData::unread`] as well as returned.
fn add_object(mut obj: Value, api_version: &str, kind: &str, source: String, data: &mut ClusterData) -> Result<(), String> {
    if !obj.is_object() {
        let why = format!("{kind}: not a mapping, so not a Kubernetes object");
        data.unread.push(Unread { kind: Some(kind.to_string()), ..Unread::anything(source, why.clone()) });
        return Err(why);
    }
    // Items of a typed list carry no kind; the type check wants one.
    if let Some(map) = obj.as_object_mut() {
        map.entry("apiVersion").or_insert_with(|| Value::String(api_version.to_string()));
        map.entry("kind").or_insert_with(|| Value::String(kind.to_string()));
    }
    match typed(&mut obj, api_version, kind, &source, data) {
        Ok(stored_version) => {
            // A removed version is stored under the version that replaced
            // it, so every check that reads workloads judges it; its JSON
            // keeps its own apiVersion.
            data.insert(obj, stored_version, kind, source);
            Ok(())
        }
        Err(why) => {
            data.unread.push(Unread::document(source, &obj, why.clone()));
            Err(why)
        }
    }
}

/// The version an object is stored under, its namespace set as the API
/// server sets it; or why the API server would refuse it.
fn typed<'k>(obj: &mut Value, api_version: &'k str, kind: &str, source: &str, data: &mut ClusterData) -> Result<&'k str, String> {
    if !obj["metadata"]["name"].is_string() {
        return Err(format!("{kind} has no metadata.name"));
    }
    let (stored_version, namespaced) = match kinds::classify(api_version, kind) {
        Class::Refused(why) => return Err(format!("{}: {why}", describe(kind, obj))),
        Class::Builtin(b) => {
            b.validate(obj).map_err(|e| format!("{}: {e}", describe(kind, obj)))?;
            (b.api_version, Some(b.namespaced))
        }
        Class::Removed { current, removed_in } => {
            kinds::validate_removed(obj, kind).map_err(|e| format!("{}: {e}", describe(kind, obj)))?;
            let warning = format!(
                "{} uses {api_version}, which Kubernetes {removed_in} removed: the API server refuses it; \
                 its pod template is judged as {current} {kind} (move it to {current})",
                describe(kind, obj)
            );
            set_namespace(obj, true);
            data.warn(current, kind, obj, source, warning);
            (current, Some(true))
        }
        Class::Custom => (api_version, None),
    };
    if let Some(namespaced) = namespaced {
        set_namespace(obj, namespaced);
    }
    Ok(stored_version)
}

/// As the API server stores it: a namespaced object without a namespace
/// lands in `default`; a cluster-scoped one has none, whatever it gave.
fn set_namespace(obj: &mut Value, namespaced: bool) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let given = meta.get("namespace").and_then(Value::as_str).is_some_and(|ns| !ns.is_empty());
    if namespaced && !given {
        meta.insert("namespace".into(), Value::String("default".into()));
    } else if !namespaced {
        meta.remove("namespace");
    }
}

/// What the API server adds on its own: every namespace (those the
/// manifests create, those their objects live in, and `default`) has a
/// `default` ServiceAccount. Idempotent.
fn complete(data: &mut ClusterData) {
    let mut namespaces: std::collections::BTreeSet<String> = std::collections::BTreeSet::from(["default".to_string()]);
    if let Ok(list) = data.list("v1", "Namespace", None) {
        namespaces.extend(list.map(|o| o.name.clone()));
    }
    for o in data.objects() {
        if let Some(ns) = &o.namespace {
            namespaces.insert(ns.clone());
        }
    }
    for ns in namespaces {
        if data.origin("v1", "ServiceAccount", Some(&ns), "default").is_some() {
            continue;
        }
        let sa = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}});
        data.insert(sa, "v1", "ServiceAccount", format!("implied: the default ServiceAccount of namespace {ns}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::cluster::Listed;

    fn load_text(name: &str, text: &str) -> (ClusterData, Vec<Error>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut data = ClusterData::default();
        let errors = load(&[path], &mut data);
        (data, errors)
    }

    /// Each input refused is recorded with what it says it holds, so the
    /// checks that list that kind know they did not see it.
    #[test]
    fn refused_inputs_are_recorded_with_the_kind_they_hold() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {hostPID: maybe, containers: []}\n\
                    ---\nkind: Deployment\nmetadata: {name: d}\n\
                    ---\napiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: ok, namespace: x}\n  spec: {containers: [{name: c, image: i}]}\n\
                    - metadata: {namespace: x}\n\
                    ---\napiVersion: v1\nkind: List\nitems:\n- {metadata: {name: nokind}}\n\
                    ---\n{ not: [yaml\n";
        let (data, errors) = load_text("a.yaml", text);
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert_eq!(data.list("v1", "Pod", None).unwrap().count(), 1, "the good list item is read");
        let got: Vec<_> = data
            .unread
            .iter()
            .map(|u| {
                let source = u.source.rsplit('/').next().unwrap().to_string();
                (source, u.kind.as_deref(), u.object.as_ref().map(|o| o.name.as_str()), u.line)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a.yaml#1".to_string(), Some("Pod"), Some("a"), Some(1)),
                ("a.yaml#2".to_string(), Some("Deployment"), None, Some(6)),
                ("a.yaml#3.items[1]".to_string(), Some("Pod"), None, Some(9)),
                ("a.yaml#4.items[0]".to_string(), None, None, Some(16)),
                ("a.yaml#5".to_string(), None, None, Some(21)),
            ]
        );
        let listed = |lists: &[(&str, Option<&str>)]| {
            let mut listed = Listed::default();
            for (kind, ns) in lists {
                listed.add(kind, *ns, &data.unread);
            }
            listed
        };
        let holds = |l: &Listed| data.unread.iter().filter(|u| u.may_hold(l)).count();
        assert_eq!(holds(&listed(&[("Pod", None)])), 4, "the Pods and the two of unknown kind");
        assert_eq!(holds(&listed(&[("Deployment", None)])), 3);
        assert_eq!(holds(&listed(&[])), 0, "a run that listed nothing saw nothing");
        // Pod x/a is in namespace x; the list item names none.
        assert_eq!(holds(&listed(&[("Pod", Some("kube-system"))])), 3, "all but the Pod of another namespace");
        assert_eq!(holds(&listed(&[("Pod", Some("kube-system")), ("Pod", Some("x"))])), 4);
        assert_eq!(holds(&listed(&[("Pod", Some("kube-system")), ("Pod", None)])), 4, "a listing across namespaces");

        let mut data = ClusterData::default();
        let errors = load_bytes("b.yaml", b"kind: Pod\n\xff", &mut data);
        assert_eq!(errors.len(), 1);
        assert!(data.unread.len() == 1 && data.unread[0].kind.is_none(), "{:?}", data.unread);

        // What is no Kubernetes object at all (a values file, a playbook)
        // is an input error that hides no object.
        let (data, errors) = load_text("values.yaml", "replicaCount: 3\nimage: {tag: x}\n---\n- hosts: all\n  tasks: []\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(data.unread.is_empty(), "{:?}", data.unread);
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
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"p","namespace":"dev"},"spec":{"containers":[{"name":"c"}]}}]}"#,
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
        assert_eq!(data.list("v1", "Service", None).unwrap().count(), 1);
        assert_eq!(data.list("apps/v1", "DaemonSet", None).unwrap().count(), 1);
    }

    #[test]
    fn a_document_without_kind_is_named_and_the_rest_is_kept() {
        let (data, errors) =
            load_text("mixed.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n");
        assert_eq!(data.list("v1", "Namespace", None).unwrap().count(), 1);
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

    fn privileged_of(data: &ClusterData, name: &str) -> Value {
        let pod = data.list("v1", "Pod", None).unwrap().find(|p| p.name == name).unwrap_or_else(|| panic!("no pod {name}"));
        let v: Value = serde_json::from_str(&pod.json).unwrap();
        v["spec"]["containers"][0]["securityContext"]["privileged"].clone()
    }

    fn pod_yaml(name: &str, security_context: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: dev\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n{security_context}"
        )
    }

    #[test]
    fn yaml_1_1_booleans_and_merge_keys_are_read_as_kubectl_reads_them() {
        let text = [pod_yaml("p-yes", "      privileged: yes\n"), pod_yaml("p-on", "      privileged: On\n")].join("---\n");
        let (data, errors) = load_text("pods.yaml", &text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(privileged_of(&data, "p-yes"), Value::Bool(true));
        assert_eq!(privileged_of(&data, "p-on"), Value::Bool(true));
        let merged = "apiVersion: v1\nkind: Pod\nmetadata: {name: merged, namespace: dev}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      <<: {privileged: true}\n";
        let (data, errors) = load_text("merged.yaml", merged);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(privileged_of(&data, "merged"), Value::Bool(true));
    }

    #[test]
    fn a_duplicate_key_is_an_error_and_the_object_is_not_read() {
        let text = pod_yaml("dup", "      privileged: true\n      privileged: false\n");
        let (data, errors) = load_text("dup.yaml", &text);
        assert_eq!(data.list("v1", "Pod", None).unwrap().count(), 0);
        let msg = errors[0].to_string();
        assert!(msg.contains("dup.yaml") && msg.contains("document 1") && msg.contains("privileged"), "{msg}");
    }

    #[test]
    fn wrong_types_are_errors_naming_the_object_and_field() {
        for (sc, field) in
            [("      privileged: \"true\"\n", "securityContext.privileged"), ("      runAsUser: \"0\"\n", "securityContext.runAsUser")]
        {
            let (data, errors) = load_text("typed.yaml", &pod_yaml("t", sc));
            assert_eq!(data.list("v1", "Pod", None).unwrap().count(), 0, "{sc}");
            let msg = errors[0].to_string();
            assert!(msg.contains("typed.yaml") && msg.contains("Pod dev/t") && msg.contains(field), "{msg}");
        }
        let (_, errors) = load_text("list.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: x\n");
        assert!(errors[0].to_string().contains("spec.containers"), "{}", errors[0]);
        let (_, errors) = load_text(
            "sc.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: []\n  containers: [{name: c, image: x}]\n",
        );
        assert!(errors[0].to_string().contains("spec.securityContext"), "{}", errors[0]);
    }

    #[test]
    fn built_in_kinds_under_the_wrong_version_or_spelling_are_errors() {
        let (data, errors) = load_text(
            "kinds.yaml",
            "apiVersion: v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: v1\nkind: pod\nmetadata: {name: p}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: goes}\n",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].to_string().contains("apps/v1"), "{}", errors[0]);
        assert!(errors[1].to_string().contains("did you mean Pod"), "{}", errors[1]);
        assert_eq!(data.list("example.com/v1", "Widget", None).unwrap().count(), 1, "custom resources are read as they are");
    }

    #[test]
    fn a_removed_cronjob_version_is_judged_as_the_current_one_with_a_warning() {
        let text = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: old}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          hostPID: true\n          restartPolicy: Never\n          containers: [{name: c, image: x}]\n";
        let (data, errors) = load_text("old.yaml", text);
        assert!(errors.is_empty(), "{errors:?}");
        let cj = data.list("batch/v1", "CronJob", Some("default")).unwrap().next().expect("listed as batch/v1");
        assert!(cj.json.contains("\"hostPID\":true"));
        assert_eq!(data.warnings.len(), 1);
        assert!(data.warnings[0].message.contains("batch/v1beta1") && data.warnings[0].message.contains("1.25"), "{:?}", data.warnings);
    }

    #[test]
    fn namespaced_objects_without_a_namespace_land_in_default() {
        let (data, errors) = load_text(
            "ns.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r, namespace: x}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let cm = data.list("v1", "ConfigMap", Some("default")).unwrap().next().expect("in default");
        assert!(cm.json.contains("\"namespace\":\"default\""));
        let cr = data.list("rbac.authorization.k8s.io/v1", "ClusterRole", None).unwrap().next().unwrap();
        assert_eq!(cr.namespace, None, "cluster-scoped objects have no namespace");
    }

    #[test]
    fn every_namespace_has_a_default_service_account() {
        let (data, errors) = load_text(
            "sa.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: dev, labels: {own: x}}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let sas: Vec<_> =
            data.list("v1", "ServiceAccount", None).unwrap().map(|o| (o.namespace.clone().unwrap(), o.name.clone())).collect();
        assert_eq!(sas.len(), 3, "{sas:?}");
        for ns in ["default", "dev", "shop"] {
            assert!(sas.contains(&(ns.to_string(), "default".to_string())), "{ns}: {sas:?}");
        }
        let dev = data.list("v1", "ServiceAccount", Some("dev")).unwrap().next().unwrap();
        assert!(dev.json.contains("own"), "the listed one is kept, not replaced");
    }

    #[test]
    fn a_bom_is_accepted_and_one_broken_document_keeps_its_siblings() {
        let text = "\u{feff}apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n";
        let (data, errors) = load_text("bom.yaml", text);
        assert_eq!(data.list("v1", "Namespace", None).unwrap().count(), 2);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("document 2"), "{}", errors[0]);
        let (data, errors) = load_text("bom.json", "\u{feff}{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"j\"}}");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(data.list("v1", "Namespace", None).unwrap().count(), 1);
    }

    #[test]
    fn a_helm_chart_or_a_kustomization_is_named_as_one_and_not_read_as_objects() {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("charts/web");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
        std::fs::write(chart.join("values.yaml"), "replicaCount: 1\n").unwrap();
        let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n";
        std::fs::write(chart.join("templates/deploy.yaml"), template).unwrap();
        std::fs::write(dir.path().join("ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n").unwrap();
        for given in [dir.path().to_path_buf(), chart.clone()] {
            let mut data = ClusterData::default();
            let errors = load(std::slice::from_ref(&given), &mut data);
            assert_eq!(errors.len(), 1, "one error for the chart, none per template: {errors:?}");
            let message = errors[0].to_string();
            assert!(message.contains("charts/web") && message.contains("Helm chart") && message.contains("helm template"), "{message}");
            assert_eq!(data.unread.len(), 1);
            assert!(data.unread[0].source.ends_with("charts/web") && data.unread[0].kind.is_none(), "it may render to anything");
        }
        // A kustomize overlay: its patch is not a Deployment of its own.
        let overlay = dir.path().join("overlays/prod");
        std::fs::create_dir_all(&overlay).unwrap();
        std::fs::write(overlay.join("kustomization.yaml"), "resources: [../../base]\npatches: [{path: patch.yaml}]\n").unwrap();
        let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  \
                     template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx:1.27}]\n";
        std::fs::write(overlay.join("patch.yaml"), patch).unwrap();
        let mut data = ClusterData::default();
        let errors = load(&[dir.path().join("overlays")], &mut data);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let message = errors[0].to_string();
        assert!(message.contains("overlays/prod") && message.contains("kubectl kustomize"), "{message}");
        assert_eq!(data.list("apps/v1", "Deployment", None).unwrap().count(), 0, "the patch is not judged as a Deployment");
        assert_eq!(data.unread.len(), 1);
        // A template given on its own is not known to be one; its error says what it looks like.
        let mut data = ClusterData::default();
        let errors = load(&[chart.join("templates/deploy.yaml")], &mut data);
        assert!(errors[0].to_string().contains("if it is a template"), "{errors:?}");
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_read_as_kubectl_reads_it() {
        let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: wide, labels: {team: \"\u{1F512}\"}}\n";
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(yaml.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(yaml.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        for (name, bytes) in [("le.yaml", &le), ("be.yaml", &be)] {
            let mut data = ClusterData::default();
            let errors = load_bytes(name, bytes, &mut data);
            assert!(errors.is_empty(), "{name}: {errors:?}");
            let ns = data.list("v1", "Namespace", None).unwrap().next().unwrap();
            assert!(ns.json.contains("\"wide\"") && ns.json.contains('\u{1F512}'), "{name}: {}", &*ns.json);
        }
        // Without the mark, UTF-16 is not UTF-8 text.
        let bare = &le[2..];
        let mut data = ClusterData::default();
        let errors = load_bytes("bare.yaml", bare, &mut data);
        assert!(errors[0].to_string().contains("not UTF-8"), "{errors:?}");
        // Broken UTF-16 is refused, naming where; nothing is guessed.
        let mut odd = le.clone();
        odd.push(b'x');
        let mut lone = le[..4].to_vec();
        lone.extend(0xD800u16.to_le_bytes());
        lone.extend(u16::from(b'a').to_le_bytes());
        for (name, bytes, why) in [("odd.yaml", &odd, "odd number of bytes"), ("lone.yaml", &lone, "unpaired surrogate 0xd800 at offset 4")]
        {
            let mut data = ClusterData::default();
            let errors = load_bytes(name, bytes, &mut data);
            assert_eq!(errors.len(), 1, "{name}");
            assert!(errors[0].to_string().contains(why), "{name}: {}", errors[0]);
            assert_eq!(data.unread.len(), 1, "{name}: recorded as unread");
        }
    }

    #[test]
    fn only_regular_files_are_read_and_inputs_have_a_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        std::fs::write(dir.path().join("ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n").unwrap();
        std::os::unix::fs::symlink("gone.yaml", dir.path().join("dangling.yaml")).unwrap();
        std::os::unix::fs::symlink("loop-b.yml", dir.path().join("loop-a.yml")).unwrap();
        std::os::unix::fs::symlink("loop-a.yml", dir.path().join("loop-b.yml")).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("b.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n").unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("b.yaml"), dir.path().join("alias.yaml")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        let mut data = ClusterData::default();
        let errors = load(&[dir.path().to_path_buf()], &mut data);
        // kubectl opens every entry with a manifest's name: these are not
        // skipped in silence, and what was read is kept.
        let named = |file: &str| errors.iter().filter(|e| e.to_string().contains(file)).count();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!((named("pipe.yaml"), named("dangling.yaml"), named("loop-a.yml"), named("loop-b.yml")), (1, 1, 1, 1), "{errors:?}");
        assert!(errors.iter().any(|e| e.to_string().contains("not a regular file")), "{errors:?}");
        assert_eq!(data.unread.len(), 4);
        assert!(data.unread.iter().all(|u| u.kind.is_none() && u.object.is_none()), "each may have held anything");
        assert!(data.unread.iter().any(|u| u.source.ends_with("dangling.yaml")));
        // ns.yaml, and a symlink that leads to a regular file: read.
        assert_eq!(data.list("v1", "Namespace", None).unwrap().count(), 2);
        let errors = load(&[fifo.clone(), PathBuf::from("/dev/zero")], &mut ClusterData::default());
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.to_string().contains("not a regular file")), "{errors:?}");
        let errors = load_with_limit(&[dir.path().join("ns.yaml")], 10, &mut ClusterData::default());
        assert!(
            errors[0].to_string().contains("limit of 10 bytes") && errors[0].to_string().contains("--max-manifest-mib"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn load_bytes_reads_one_input() {
        let mut data = ClusterData::default();
        let errors = load_bytes("(stdin)", b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", &mut data);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(data.list("v1", "Namespace", None).unwrap().next().unwrap().source, "(stdin)#1");
    }
}
