//! Snapshots: a node's facts or a cluster's objects written to one file on
//! one side of an air gap and scanned on the other, with the same verdicts
//! as a direct scan. A node snapshot holds exactly what the profile's
//! plugins asked of the node (stats, the files they read, process argv) and
//! nothing else; anything else asked of it later is an `error`, never a
//! guess. The format is versioned; see docs/snapshots.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::ClusterData;
use super::cluster::{JsonText, Known, Unread};
use super::node::{Environments, NodeError, NodeResult, NodeView, Stat};
use crate::error::{Error, Result};

pub const NODE_KIND: &str = "rampart.node-snapshot";
pub const CLUSTER_KIND: &str = "rampart.cluster-snapshot";
pub const VERSION: u32 = 1;

/// File contents: text when it is UTF-8, else the bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Bytes(Vec<u8>),
}

/// One recorded answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer<T> {
    Ok(T),
    Err(NodeError),
}

impl<T: Clone> Answer<T> {
    fn of(r: &NodeResult<T>) -> Answer<T> {
        match r {
            Ok(v) => Answer::Ok(v.clone()),
            Err(e) => Answer::Err(e.clone()),
        }
    }

    fn get(&self) -> NodeResult<T> {
        match self {
            Answer::Ok(v) => Ok(v.clone()),
            Answer::Err(e) => Err(e.clone()),
        }
    }
}

/// The file format of a node snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSnapshot {
    pub kind: String,
    pub version: u32,
    pub node: String,
    /// The profile whose checks the snapshot was taken for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Keyed `follow:/path` or `nofollow:/path`.
    #[serde(default)]
    pub real_paths: BTreeMap<String, Answer<String>>,
    #[serde(default)]
    pub stats: BTreeMap<String, Answer<Stat>>,
    #[serde(default)]
    pub reads: BTreeMap<String, Answer<Content>>,
    #[serde(default)]
    pub dirs: BTreeMap<String, Answer<Vec<Stat>>>,
    /// Keyed by executable name: the argv of each process, or why the
    /// process table could not be read (never an empty list for that).
    #[serde(default)]
    pub processes: BTreeMap<String, Processes>,
    /// Keyed `name:prefix`: the variables starting with the prefix of each
    /// process of that name (in the order of `processes`), or why they
    /// could not be read. Left out when empty, so a snapshot that needed
    /// none still reads in hosts from before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, Answer<Environments>>,
    /// What went wrong while the snapshot was taken (a plugin that did not
    /// load, a node root that could not be read): a scan of the snapshot
    /// reports each as an error, as the direct scan would have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The answer to a process lookup. A plain list, as version 1 snapshots
/// always wrote it, or `{"err": ...}` when the node's processes could not
/// be seen: scanning the snapshot then gives the same `error` as scanning
/// the node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Processes {
    Listed(Vec<Vec<String>>),
    Failed { err: NodeError },
}

impl Processes {
    /// Whether the lookup failed.
    pub fn failed(&self) -> Option<&NodeError> {
        match self {
            Processes::Failed { err } => Some(err),
            Processes::Listed(_) => None,
        }
    }
}

fn key(path: &str, follow: bool) -> String {
    format!("{}:{path}", if follow { "follow" } else { "nofollow" })
}

/// Records every answer a live node gives while plugins ask.
#[derive(Debug)]
pub struct Recorder {
    inner: Arc<dyn NodeView>,
    log: Mutex<NodeSnapshot>,
}

impl Recorder {
    pub fn new(inner: Arc<dyn NodeView>, profile: Option<String>) -> Recorder {
        let log =
            NodeSnapshot { kind: NODE_KIND.into(), version: VERSION, node: inner.name().to_string(), profile, ..NodeSnapshot::default() };
        Recorder { inner, log: Mutex::new(log) }
    }

    /// What was recorded so far.
    pub fn snapshot(&self) -> NodeSnapshot {
        self.log.lock().expect("snapshot log").clone()
    }
}

impl NodeView for Recorder {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn origin(&self) -> String {
        self.inner.origin()
    }
    fn real_path(&self, path: &str, follow: bool) -> NodeResult<String> {
        let r = self.inner.real_path(path, follow);
        self.log.lock().expect("snapshot log").real_paths.insert(key(path, follow), Answer::of(&r));
        r
    }
    fn stat(&self, path: &str, follow: bool) -> NodeResult<Stat> {
        let r = self.inner.stat(path, follow);
        self.log.lock().expect("snapshot log").stats.insert(key(path, follow), Answer::of(&r));
        r
    }
    fn read(&self, path: &str) -> NodeResult<Arc<[u8]>> {
        let r = self.inner.read(path);
        let answer = match &r {
            Ok(bytes) => Answer::Ok(match std::str::from_utf8(bytes) {
                Ok(text) => Content::Text(text.to_string()),
                Err(_) => Content::Bytes(bytes.to_vec()),
            }),
            Err(e) => Answer::Err(e.clone()),
        };
        self.log.lock().expect("snapshot log").reads.insert(path.to_string(), answer);
        r
    }
    fn list_dir(&self, path: &str) -> NodeResult<Vec<Stat>> {
        let r = self.inner.list_dir(path);
        self.log.lock().expect("snapshot log").dirs.insert(path.to_string(), Answer::of(&r));
        r
    }
    fn process_args(&self, name: &str) -> NodeResult<Vec<Vec<String>>> {
        let r = self.inner.process_args(name);
        let answer = match &r {
            Ok(list) => Processes::Listed(list.clone()),
            Err(e) => Processes::Failed { err: e.clone() },
        };
        self.log.lock().expect("snapshot log").processes.insert(name.to_string(), answer);
        r
    }
    fn process_env(&self, name: &str, prefix: &str) -> NodeResult<Environments> {
        let r = self.inner.process_env(name, prefix);
        self.log.lock().expect("snapshot log").environments.insert(format!("{name}:{prefix}"), Answer::of(&r));
        r
    }
}

/// A node snapshot being scanned.
#[derive(Debug)]
pub struct SnapshotNode {
    file: PathBuf,
    snap: NodeSnapshot,
}

impl SnapshotNode {
    fn missing<T>(&self, what: String) -> NodeResult<T> {
        Err(NodeError::Unavailable(format!(
            "{what} was not recorded in snapshot {} (take it with the profile this scan uses)",
            self.file.display()
        )))
    }
}

impl NodeView for SnapshotNode {
    fn name(&self) -> &str {
        &self.snap.node
    }
    fn origin(&self) -> String {
        self.file.display().to_string()
    }
    fn real_path(&self, path: &str, follow: bool) -> NodeResult<String> {
        match self.snap.real_paths.get(&key(path, follow)) {
            Some(a) => a.get(),
            None => self.missing(format!("where {path} leads")),
        }
    }
    fn stat(&self, path: &str, follow: bool) -> NodeResult<Stat> {
        match self.snap.stats.get(&key(path, follow)) {
            Some(a) => a.get(),
            None => self.missing(format!("stat of {path}")),
        }
    }
    fn read(&self, path: &str) -> NodeResult<Arc<[u8]>> {
        match self.snap.reads.get(path) {
            Some(Answer::Ok(Content::Text(t))) => Ok(Arc::from(t.as_bytes())),
            Some(Answer::Ok(Content::Bytes(b))) => Ok(Arc::from(b.as_slice())),
            Some(Answer::Err(e)) => Err(e.clone()),
            None => self.missing(format!("the contents of {path}")),
        }
    }
    fn list_dir(&self, path: &str) -> NodeResult<Vec<Stat>> {
        match self.snap.dirs.get(path) {
            Some(a) => a.get(),
            None => self.missing(format!("the listing of {path}")),
        }
    }
    fn process_args(&self, name: &str) -> NodeResult<Vec<Vec<String>>> {
        match self.snap.processes.get(name) {
            Some(Processes::Listed(v)) => Ok(v.clone()),
            Some(Processes::Failed { err }) => Err(err.clone()),
            None => self.missing(format!("the processes named {name}")),
        }
    }
    fn process_env(&self, name: &str, prefix: &str) -> NodeResult<Environments> {
        match self.snap.environments.get(&format!("{name}:{prefix}")) {
            Some(a) => a.get(),
            // Not asked when the snapshot was taken (or taken by a host
            // without process-env): as a node root without environ files.
            None => Err(NodeError::NotFound(format!(
                "the {prefix}* environment of {name} was not recorded in snapshot {}",
                self.file.display()
            ))),
        }
    }
}

/// One object of a cluster snapshot, with where it was first read. The
/// object stays raw JSON text: it is handed to plugins as text anyway, and a
/// large cluster's objects are never built into a tree in the host. Read
/// from a file, the object is borrowed from the file's text
/// (`SnapshotObject<&RawValue>`), which the cluster then shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotObject<O = Box<RawValue>> {
    pub source: String,
    /// The line its document starts on in that file (manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub object: O,
}

/// The file format of a cluster snapshot. Secret values are stored
/// redacted: a snapshot travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSnapshot<O = Box<RawValue>> {
    pub kind: String,
    pub version: u32,
    pub sources: Vec<String>,
    /// The Kubernetes version of a live cluster (`v1.36.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// The kinds listed from a live cluster (`apps/v1/Deployment`); absent
    /// for manifests, which hold every kind they hold. A kind a live
    /// snapshot did not list is unknown when scanned, not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<Vec<String>>,
    /// Kinds that could not be listed, with the server's reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<String, String>,
    /// Inputs that could not be read when the snapshot was taken (a
    /// manifest that did not parse): their objects are missing, so a scan
    /// of the snapshot reports each as an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The same inputs, with the kind and object each may have held: a
    /// scan of the snapshot gives `error` on the checks that list those
    /// kinds. A snapshot with `errors` but no `unread` (taken before this
    /// field) has each error read as an input that could hold any kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<Unread>,
    pub objects: Vec<SnapshotObject<O>>,
}

impl ClusterSnapshot {
    pub fn of(data: &ClusterData) -> ClusterSnapshot {
        let objects = data
            .objects()
            .filter_map(|o| {
                let text = o.redacted.as_deref().unwrap_or(&o.json).to_string();
                RawValue::from_string(text).ok().map(|object| SnapshotObject {
                    source: o.source.clone(),
                    line: data.line_of(&o.source),
                    object,
                })
            })
            .collect();
        let listed = match &data.known {
            Known::Every => None,
            Known::Nothing => Some(Vec::new()),
            Known::Kinds(kinds) => Some(kinds.iter().cloned().collect()),
        };
        ClusterSnapshot {
            kind: CLUSTER_KIND.into(),
            version: VERSION,
            sources: data.sources.clone(),
            kubernetes_version: data.version.clone(),
            listed,
            failed: data.failed.clone(),
            errors: Vec::new(),
            unread: data.unread.clone(),
            objects,
        }
    }
}

/// What a snapshot file holds.
#[derive(Debug)]
pub enum Loaded {
    /// A node, with the errors recorded when it was taken.
    Node(Arc<dyn NodeView>, Vec<String>),
    /// A cluster snapshot's text, read by [`add_cluster`].
    Cluster(ClusterFile),
}

/// The text of a cluster snapshot file (its kind and version checked):
/// the objects' JSON stays in it, shared.
#[derive(Debug)]
pub struct ClusterFile {
    text: Arc<String>,
}

/// Reads a snapshot file of either kind.
pub fn load(path: &Path) -> Result<Loaded> {
    let bad = |message: String| Error::Snapshot { path: path.to_path_buf(), message };
    let text = Arc::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    // Kind and version first, skipping over the rest without building it.
    #[derive(Deserialize)]
    struct Header {
        kind: Option<String>,
        version: Option<Value>,
    }
    let header: Header = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if header.version.as_ref().and_then(Value::as_u64) != Some(VERSION as u64) {
        let shown = header.version.map_or("(none)".to_string(), |v| v.to_string());
        return Err(bad(format!("snapshot version {shown} is not supported (this rampart reads version {VERSION})")));
    }
    match header.kind.as_deref() {
        Some(NODE_KIND) => {
            let snap: NodeSnapshot = serde_json::from_str(&text).map_err(|e| bad(format!("malformed node snapshot: {e}")))?;
            let recorded = snap.errors.iter().map(|e| bad(format!("taken with an error: {e}")).to_string()).collect();
            Ok(Loaded::Node(Arc::new(SnapshotNode { file: path.to_path_buf(), snap }), recorded))
        }
        Some(CLUSTER_KIND) => Ok(Loaded::Cluster(ClusterFile { text })),
        other => Err(bad(format!("kind {other:?} is neither {NODE_KIND} nor {CLUSTER_KIND}"))),
    }
}

/// Adds a cluster snapshot's objects to the scan's cluster, made when the
/// first source is read; what is wrong with the file, or with one of its
/// objects, is returned (the rest is added). A malformed file adds nothing,
/// not even an empty cluster: without another source, the cluster plugins
/// are not run and their controls are errors.
pub fn add_cluster(cluster: ClusterFile, file: &Path, data: &mut Option<ClusterData>) -> Vec<Error> {
    let bad = |message: String| Error::Snapshot { path: file.to_path_buf(), message };
    let snap: ClusterSnapshot<&RawValue> = match serde_json::from_str(&cluster.text) {
        Ok(snap) => snap,
        Err(e) => return vec![bad(format!("malformed cluster snapshot: {e}"))],
    };
    let data = data.get_or_insert_with(ClusterData::default);
    let mut errors = Vec::new();
    match &snap.listed {
        None => data.know_every_kind(),
        Some(kinds) => {
            for key in kinds {
                match key.rsplit_once('/') {
                    Some((api_version, kind)) => data.know_kind(api_version, kind),
                    None => errors.push(bad(format!("listed: {key:?} is not API_VERSION/KIND"))),
                }
            }
        }
    }
    data.failed.extend(snap.failed);
    for e in &snap.errors {
        errors.push(bad(format!("taken with an error: {e}")));
    }
    if snap.unread.is_empty() {
        let file = file.display().to_string();
        data.unread.extend(snap.errors.iter().map(|e| Unread::anything(file.clone(), format!("taken with an error: {e}"))));
    } else {
        data.unread.extend(snap.unread);
    }
    if data.version.is_none() {
        data.version = snap.kubernetes_version;
    }
    for (i, o) in snap.objects.into_iter().enumerate() {
        if let Some(line) = o.line {
            data.remember_line(&o.source, line);
        }
        // Borrowed from the file's text, so always inside it.
        let json = JsonText::within(&cluster.text, o.object.get()).unwrap_or_else(|| o.object.get().into());
        if let Err(message) = data.insert_raw(json, o.source) {
            data.unread.push(Unread::anything(format!("{}: objects[{i}]", file.display()), message.clone()));
            errors.push(bad(format!("objects[{i}]: {message}")));
        }
    }
    data.sources.push(file.display().to_string());
    errors
}

/// Writes a snapshot as pretty JSON.
pub fn write<T: Serialize>(path: &Path, snapshot: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(snapshot).map_err(|e| Error::Snapshot { path: path.to_path_buf(), message: e.to_string() })?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::NodeRoot;

    #[test]
    fn a_malformed_cluster_snapshot_adds_no_cluster_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cluster.json");
        let good = r#"{"kind":"KIND","version":VERSION,"sources":["a.yaml"],"objects":[
            {"source":"a.yaml#1","object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}}]}"#
            .replace("KIND", CLUSTER_KIND)
            .replace("VERSION", &VERSION.to_string());
        // The objects' JSON is a range of the file's text, read once.
        std::fs::write(&file, &good).unwrap();
        let Loaded::Cluster(text) = load(&file).unwrap() else { panic!("a cluster snapshot") };
        let mut data = None;
        assert!(add_cluster(text, &file, &mut data).is_empty());
        let data = data.expect("a cluster");
        let ns = data.list("v1", "Namespace", None).unwrap().next().unwrap();
        assert_eq!(&*ns.json, r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}"#);
        // An object that is not an object is not JSON the cluster can hold.
        std::fs::write(&file, good.replace(r#""objects":["#, r#""objects":[{"source":"x","object":[1]},"#)).unwrap();
        let Loaded::Cluster(text) = load(&file).unwrap() else { panic!("a cluster snapshot") };
        let mut data = None;
        let errors = add_cluster(text, &file, &mut data);
        assert!(errors.len() == 1 && errors[0].to_string().contains("objects[0]"), "{errors:?}");
        assert_eq!(data.unwrap().list("v1", "Namespace", None).unwrap().count(), 1, "the rest is added");
        // Kind and version right, the rest malformed: an error naming the
        // file, and no cluster at all (not an empty one).
        std::fs::write(&file, good.replace(r#""sources":["a.yaml"]"#, r#""sources":"a.yaml""#)).unwrap();
        let Loaded::Cluster(text) = load(&file).unwrap() else { panic!("a cluster snapshot") };
        let mut data = None;
        let errors = add_cluster(text, &file, &mut data);
        assert_eq!(errors.len(), 1);
        let message = errors[0].to_string();
        assert!(message.contains("cluster.json") && message.contains("malformed cluster snapshot"), "{message}");
        assert!(data.is_none());
    }

    /// Regression: `snapshot node` recorded nothing when the process table
    /// could not be read, and the scan of the snapshot then blamed the
    /// profile. It records the failure, and scanning gives it back.
    #[test]
    fn an_unreadable_process_table_is_recorded_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("node");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("proc"), "not a directory").unwrap();
        let recorder = Recorder::new(Arc::new(NodeRoot::open(&root, Some("n".into())).unwrap()), None);
        assert!(recorder.process_args("kubelet").is_err());
        let file = dir.path().join("n.json");
        write(&file, &recorder.snapshot()).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("\"err\"") && text.contains("cannot be listed"), "{text}");
        let Loaded::Node(node, _) = load(&file).unwrap() else { panic!("a node snapshot") };
        match node.process_args("kubelet") {
            Err(NodeError::Unavailable(m)) => assert!(m.contains("processes cannot be seen"), "{m}"),
            other => panic!("want unavailable, got {other:?}"),
        }
    }

    /// Snapshots written before failures were recorded still load.
    #[test]
    fn a_plain_process_list_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("old.json");
        let old =
            r#"{"kind": "rampart.node-snapshot", "version": 1, "node": "w", "processes": {"kubelet": [["/usr/bin/kubelet"]], "sshd": []}}"#;
        std::fs::write(&file, old).unwrap();
        let Loaded::Node(node, _) = load(&file).unwrap() else { panic!("a node snapshot") };
        assert_eq!(node.process_args("kubelet").unwrap(), vec![vec!["/usr/bin/kubelet".to_string()]]);
        assert!(node.process_args("sshd").unwrap().is_empty());
        // Written before process-env: environments were not recorded,
        // which reads as a node that does not show them.
        assert!(matches!(node.process_env("kubelet", "KUBE_"), Err(NodeError::NotFound(m)) if m.contains("not recorded")));
    }

    /// A process's environment, as asked, goes into the snapshot and comes
    /// back out of it.
    #[test]
    fn process_environments_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("node");
        for (pid, argv, comm) in [(1, "/sbin/init", "systemd"), (900, "/usr/local/bin/etcd", "etcd")] {
            std::fs::create_dir_all(root.join(format!("proc/{pid}"))).unwrap();
            std::fs::write(root.join(format!("proc/{pid}/cmdline")), format!("{argv}\0")).unwrap();
            std::fs::write(root.join(format!("proc/{pid}/comm")), comm).unwrap();
        }
        std::fs::write(root.join("proc/900/environ"), "PATH=/bin\0ETCD_AUTO_TLS=true\0").unwrap();
        let recorder = Recorder::new(Arc::new(NodeRoot::open(&root, Some("n".into())).unwrap()), None);
        let live = recorder.process_env("etcd", "ETCD_").unwrap();
        let file = dir.path().join("n.json");
        write(&file, &recorder.snapshot()).unwrap();
        assert!(!std::fs::read_to_string(&file).unwrap().contains("PATH"), "only what was asked is kept");
        let Loaded::Node(node, _) = load(&file).unwrap() else { panic!("a node snapshot") };
        assert_eq!(node.process_env("etcd", "ETCD_").unwrap(), live);
        assert_eq!(live, vec![vec![("ETCD_AUTO_TLS".to_string(), "true".to_string())]]);
    }
}
