//! A node's root directory seen as if it were `/`: paths resolve inside it
//! the way they would on the node (absolute symlinks point inside the root),
//! and nothing ever resolves outside it. Every answer is cached, so a file is
//! read once per scan whatever the number of plugins asking.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, MetadataExt, OpenOptions};

use crate::error::Error;

/// How deep symlink chains may go before resolution gives up (Linux: 40).
const MAX_LINKS: usize = 40;
/// The largest file a plugin may read.
pub const MAX_READ: u64 = 16 * 1024 * 1024;

/// The kind of a node path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Directory,
    Symlink,
    Other,
}

/// Metadata of one node path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stat {
    /// The path as asked (absolute, normalized).
    pub path: String,
    pub kind: FileKind,
    /// Permission bits only.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub size: u64,
    pub link_target: Option<String>,
}

/// Why a node lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "error", content = "message")]
pub enum NodeError {
    NotFound(String),
    Invalid(String),
    Unavailable(String),
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::NotFound(m) | NodeError::Invalid(m) | NodeError::Unavailable(m) => f.write_str(m),
        }
    }
}

pub type NodeResult<T> = Result<T, NodeError>;

/// The variables a plugin asked for of each process of one name, in the
/// order of its processes: name and value.
pub type Environments = Vec<Vec<(String, String)>>;

/// What the broker asks of a node, whether it is a live root directory or a
/// recorded snapshot.
pub trait NodeView: Send + Sync + std::fmt::Debug {
    /// The node's name in reports.
    fn name(&self) -> &str;
    /// Where the node's facts come from (a root directory, a snapshot file).
    fn origin(&self) -> String;
    /// Where a path really leads, as an absolute node path.
    fn real_path(&self, path: &str, follow: bool) -> NodeResult<String>;
    fn stat(&self, path: &str, follow: bool) -> NodeResult<Stat>;
    fn read(&self, path: &str) -> NodeResult<Arc<[u8]>>;
    fn list_dir(&self, path: &str) -> NodeResult<Vec<Stat>>;
    /// Argument vectors of the processes whose executable is `name`.
    fn process_args(&self, name: &str) -> NodeResult<Vec<Vec<String>>>;
    /// The environment variables starting with `prefix` of the same
    /// processes, in the same order.
    fn process_env(&self, name: &str, prefix: &str) -> NodeResult<Environments>;
}

/// One running process as `/proc` shows it.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    pub comm: String,
    pub argv: Vec<String>,
}

/// A node root directory.
#[derive(Debug)]
pub struct NodeRoot {
    pub name: String,
    pub root: PathBuf,
    dir: Dir,
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
    /// The process table, or why it could not be read.
    processes: OnceLock<NodeResult<Vec<Process>>>,
    reads: Mutex<HashMap<String, NodeResult<Arc<[u8]>>>>,
    stats: Mutex<HashMap<(String, bool), NodeResult<Stat>>>,
}

impl NodeRoot {
    /// Opens `root`. Without a `name`, the node names itself as the kubelet
    /// would register it ([`NodeRoot::own_name`]), else the root
    /// directory's name, else `node`.
    pub fn open(root: &Path, name: Option<String>) -> Result<NodeRoot, Error> {
        let meta = std::fs::metadata(root).map_err(|e| Error::NodeRoot { path: root.into(), message: e.to_string() })?;
        if !meta.is_dir() {
            return Err(Error::NodeRoot { path: root.into(), message: "not a directory".into() });
        }
        let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())
            .map_err(|e| Error::NodeRoot { path: root.into(), message: e.to_string() })?;
        let given = name;
        let mut node = NodeRoot {
            name: String::new(),
            root: root.to_path_buf(),
            dir,
            users: HashMap::new(),
            groups: HashMap::new(),
            processes: OnceLock::new(),
            reads: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
        };
        node.users = node.id_names("/etc/passwd");
        node.groups = node.id_names("/etc/group");
        node.name = match given {
            Some(n) => n,
            None => node.own_name().unwrap_or_else(|| {
                root.canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "node".into())
            }),
        };
        Ok(node)
    }

    /// The name the kubelet registers the node under: its
    /// `--hostname-override` (on its command line, or `hostnameOverride` in
    /// its `--config` file), else the node's host name (`/etc/hostname`),
    /// lower-cased as the kubelet does.
    pub fn own_name(&self) -> Option<String> {
        let clean = |s: &str| Some(s.trim().to_lowercase()).filter(|s| !s.is_empty() && !s.chars().any(char::is_whitespace));
        for argv in self.process_args("kubelet").unwrap_or_default() {
            let value = |flag: &str| {
                let mut args = argv.iter();
                let mut found = None;
                while let Some(a) = args.next() {
                    if let Some(v) = a.strip_prefix(&format!("--{flag}=")) {
                        found = Some(v.to_string());
                    } else if a == &format!("--{flag}") {
                        found = args.next().cloned();
                    }
                }
                found
            };
            // The flag wins over the config file, as in the kubelet.
            if let Some(name) = value("hostname-override").as_deref().and_then(clean) {
                return Some(name);
            }
            if let Some(config) = value("config").filter(|p| p.starts_with('/'))
                && let Ok(bytes) = self.read_uncached(&config)
                && let Some(doc) = super::yaml::yaml_documents(&String::from_utf8_lossy(&bytes)).next()
                && let Ok(Some(doc)) = doc.value
                && let Some(name) = doc["hostnameOverride"].as_str().and_then(clean)
            {
                return Some(name);
            }
        }
        let hostname = self.read_uncached("/etc/hostname").ok()?;
        String::from_utf8_lossy(&hostname).lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).and_then(clean)
    }

    /// `name:x:id:...` files (passwd, group) of the node itself.
    fn id_names(&self, path: &str) -> HashMap<u32, String> {
        let Ok(bytes) = self.read_uncached(path) else {
            return HashMap::new();
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut parts = l.split(':');
                let name = parts.next()?;
                let id = parts.nth(1)?.parse().ok()?;
                Some((id, name.to_string()))
            })
            .collect()
    }

    /// Resolves an absolute node path to a path relative to the root with
    /// no symlinks left in it (the last one too, when `follow_last`).
    /// `..` at the root stays at the root, as in a chroot. A segment that is
    /// not found but carries U+FFFD is matched against the directory's
    /// entries by their lossy names, so a name that is not UTF-8, listed by
    /// [`NodeRoot::list_dir`], can be asked about again.
    pub fn resolve(&self, path: &str, follow_last: bool) -> NodeResult<PathBuf> {
        if !path.starts_with('/') {
            return Err(NodeError::Invalid(format!("{path}: node paths must be absolute")));
        }
        if path.contains('\0') {
            return Err(NodeError::Invalid("path contains a NUL byte".into()));
        }
        let mut pending: Vec<OsString> = path.split('/').rev().filter(|s| !s.is_empty()).map(OsString::from).collect();
        let mut resolved = PathBuf::new();
        let mut links = 0;
        while let Some(segment) = pending.pop() {
            if segment == "." {
                continue;
            }
            if segment == ".." {
                resolved.pop();
                continue;
            }
            let is_last = pending.is_empty();
            let (name, meta) = self.entry(&resolved, &segment, path)?;
            resolved.push(&name);
            if !meta.file_type().is_symlink() || (is_last && !follow_last) {
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(NodeError::Invalid(format!("{path}: too many levels of symbolic links")));
            }
            let target = self.dir.read_link_contents(&resolved).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
            resolved.pop();
            if target.is_absolute() {
                // Absolute links point inside the node, as on the node itself.
                resolved = PathBuf::new();
            }
            let parts = target.components().filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some(OsString::from("..")),
                _ => None,
            });
            pending.extend(parts.collect::<Vec<_>>().into_iter().rev());
        }
        Ok(if resolved.as_os_str().is_empty() { PathBuf::from(".") } else { resolved })
    }

    /// The entry `segment` of the resolved directory `parent`, with its
    /// metadata (symlinks not followed).
    fn entry(&self, parent: &Path, segment: &OsStr, path: &str) -> NodeResult<(OsString, cap_std::fs::Metadata)> {
        let lookup = |name: &OsStr| self.dir.symlink_metadata(parent.join(name));
        let not_found = |e: &std::io::Error| match (e.kind(), e.raw_os_error()) {
            (std::io::ErrorKind::NotFound, _) => Some(NodeError::NotFound(format!("{path}: no such file or directory"))),
            (_, Some(20)) => Some(NodeError::NotFound(format!("{path}: a parent is not a directory"))),
            _ => None,
        };
        let err = match lookup(segment) {
            Ok(meta) => return Ok((segment.to_os_string(), meta)),
            Err(e) => e,
        };
        let Some(missing) = not_found(&err) else {
            return Err(NodeError::Unavailable(format!("{path}: {err}")));
        };
        let Some(lossy) = segment.to_str().filter(|s| s.contains('\u{FFFD}')) else {
            return Err(missing);
        };
        // A name that is not UTF-8 reaches plugins in its lossy form.
        let dir = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        // The directory must be read whole to say that no entry has this
        // lossy name.
        let unreadable = |e: std::io::Error| NodeError::Unavailable(format!("{path}: {e}"));
        let mut matches: Vec<OsString> = Vec::new();
        for entry in self.dir.read_dir(dir).map_err(unreadable)? {
            let name = entry.map_err(unreadable)?.file_name();
            if name.to_str().is_none() && name.to_string_lossy() == lossy {
                matches.push(name);
            }
        }
        match matches.as_slice() {
            [one] => match lookup(one) {
                Ok(meta) => Ok((one.clone(), meta)),
                Err(e) => Err(not_found(&e).unwrap_or_else(|| NodeError::Unavailable(format!("{path}: {e}")))),
            },
            [] => Err(missing),
            many => Err(NodeError::Invalid(format!(
                "{path}: {} entries whose names are not UTF-8 all read as {lossy:?}; they cannot be told apart",
                many.len()
            ))),
        }
    }

    /// The normalized absolute form of a node path (for grant checks).
    pub fn normalize(path: &str) -> String {
        let mut out: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                s => out.push(s),
            }
        }
        format!("/{}", out.join("/"))
    }

    /// Where a path really leads, as an absolute node path.
    pub fn real_path(&self, path: &str, follow_last: bool) -> NodeResult<String> {
        self.resolve(path, follow_last)
            .map(|rel| if rel == Path::new(".") { "/".to_string() } else { format!("/{}", rel.to_string_lossy()) })
    }

    /// Metadata of `path`, following symlinks when `follow`.
    pub fn stat(&self, path: &str, follow: bool) -> NodeResult<Stat> {
        let key = (path.to_string(), follow);
        if let Some(hit) = self.stats.lock().expect("stat cache").get(&key) {
            return hit.clone();
        }
        let result = self.stat_uncached(path, follow);
        self.stats.lock().expect("stat cache").insert(key, result.clone());
        result
    }

    fn stat_uncached(&self, path: &str, follow: bool) -> NodeResult<Stat> {
        let rel = self.resolve(path, follow)?;
        self.stat_at(&rel, path)
    }

    /// Metadata of the resolved `rel` (the last component not followed),
    /// reported under the node path `path`.
    fn stat_at(&self, rel: &Path, path: &str) -> NodeResult<Stat> {
        let meta = self.dir.symlink_metadata(rel).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            FileKind::Symlink
        } else if ft.is_dir() {
            FileKind::Directory
        } else if ft.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        };
        let link_target =
            if kind == FileKind::Symlink { self.dir.read_link_contents(rel).ok().map(|t| t.to_string_lossy().into_owned()) } else { None };
        Ok(Stat {
            path: NodeRoot::normalize(path),
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            owner: self.users.get(&meta.uid()).cloned(),
            group: self.groups.get(&meta.gid()).cloned(),
            size: meta.len(),
            link_target,
        })
    }

    /// The contents of a regular file (symlinks followed inside the root).
    pub fn read(&self, path: &str) -> NodeResult<Arc<[u8]>> {
        if let Some(hit) = self.reads.lock().expect("read cache").get(path) {
            return hit.clone();
        }
        let result = self.read_uncached(path).map(Arc::from);
        self.reads.lock().expect("read cache").insert(path.to_string(), result.clone());
        result
    }

    /// Whether the root is this machine's own `/`, where nothing can lead
    /// outside it.
    fn is_host_root(&self) -> bool {
        std::fs::canonicalize(&self.root).is_ok_and(|p| p == Path::new("/"))
    }

    fn read_uncached(&self, path: &str) -> NodeResult<Vec<u8>> {
        let rel = self.resolve(path, true)?;
        let meta = self.dir.symlink_metadata(&rel).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
        if !meta.is_file() {
            // FIFOs and devices could block or never end; directories have no contents.
            return Err(NodeError::Invalid(format!("{path}: not a regular file")));
        }
        let mut opts = OpenOptions::new();
        opts.read(true).follow(FollowSymlinks::No);
        let file = self.dir.open_with(&rel, &opts).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
        // Judged on the file as opened, not as it was a moment ago.
        let opened = file.metadata().map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
        if !opened.is_file() {
            return Err(NodeError::Invalid(format!("{path}: not a regular file")));
        }
        if opened.nlink() > 1 && !self.is_host_root() {
            // A hard link planted in a directory root can name any file of
            // its filesystem, and nothing in the root tells where it leads
            // (docs/decisions.md, "Hard links under a node root").
            return Err(NodeError::Unavailable(format!(
                "{path}: has {} hard links, and a hard link can lead outside the node root, so it is not read; scan the node \
                 from its own root (`--node /` on the node) or from a snapshot taken there",
                opened.nlink()
            )));
        }
        let mut buf = Vec::new();
        file.take(MAX_READ + 1).read_to_end(&mut buf).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
        if buf.len() as u64 > MAX_READ {
            return Err(NodeError::Invalid(format!("{path}: larger than {MAX_READ} bytes")));
        }
        Ok(buf)
    }

    /// The entries of a directory (not recursive, symlinks not followed).
    /// A name that is not UTF-8 is listed under its lossy form (U+FFFD for
    /// the bad bytes) and judged like any other: leaving it out would let a
    /// file hide, and failing the listing would make the directory look
    /// absent. An entry that cannot be read fails the listing.
    pub fn list_dir(&self, path: &str) -> NodeResult<Vec<Stat>> {
        let rel = self.resolve(path, true)?;
        let base = NodeRoot::normalize(path);
        let unreadable = |e: std::io::Error| NodeError::Unavailable(format!("{path}: {e}"));
        let entries = self.dir.read_dir(&rel).map_err(|e| match e.raw_os_error() {
            Some(20) => NodeError::Invalid(format!("{path}: not a directory")),
            _ => unreadable(e),
        })?;
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry.map_err(unreadable)?.file_name());
        }
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let shown = name.to_string_lossy();
            let child = if base == "/" { format!("/{shown}") } else { format!("{base}/{shown}") };
            let stat = match self.stat_at(&rel.join(&name), &child) {
                // Removed since the directory was read.
                Err(NodeError::Unavailable(_)) if !self.dir.exists(rel.join(&name)) => continue,
                other => other,
            };
            self.stats.lock().expect("stat cache").entry((child, false)).or_insert_with(|| stat.clone());
            out.push(stat?);
        }
        Ok(out)
    }

    /// Every process under `<root>/proc`, read once; an error when the
    /// process table cannot be seen whole (see [`NodeRoot::read_processes`]).
    pub fn processes(&self) -> NodeResult<&[Process]> {
        self.processes.get_or_init(|| self.read_processes()).as_deref().map_err(Clone::clone)
    }

    /// Reads the process table. "No such process" must mean the process
    /// does not run, so anything that keeps part of the table from view is
    /// an error rather than a shorter list: no /proc, a /proc that cannot be
    /// listed, a process whose command line cannot be read (hidepid=1, or a
    /// scan without the rights), a proc filesystem that hides process 1
    /// (hidepid=2), or a /proc with no process at all (a copy of a root,
    /// not a running node).
    fn read_processes(&self) -> NodeResult<Vec<Process>> {
        let cannot = |why: String| NodeError::Unavailable(format!("the node's processes cannot be seen: {why}"));
        let proc_dir = match self.resolve("/proc", true) {
            Ok(rel) => rel,
            Err(NodeError::NotFound(_)) => return Err(cannot(format!("{} has no /proc", self.root.display()))),
            Err(e) => return Err(cannot(e.to_string())),
        };
        let entries = self.dir.read_dir(&proc_dir).map_err(|e| cannot(format!("/proc cannot be listed: {e}")))?;
        let mut procs = Vec::new();
        let mut unreadable: Vec<String> = Vec::new();
        let mut pids = 0;
        let mut init = false;
        for entry in entries {
            let entry = entry.map_err(|e| cannot(format!("/proc cannot be listed: {e}")))?;
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            pids += 1;
            init |= pid == 1;
            let mut read = |file: &str| match self.proc_file(&proc_dir, pid, file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    unreadable.push(format!("/proc/{pid}/{file}: {e}"));
                    None
                }
            };
            // None: the process ended while the table was read (or was
            // counted unreadable).
            let Some(cmdline) = read("cmdline") else { continue };
            let Some(comm) = read("comm") else { continue };
            let argv: Vec<String> =
                cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            let comm = String::from_utf8_lossy(&comm).trim().to_string();
            if argv.is_empty() && comm.is_empty() {
                continue;
            }
            procs.push(Process { pid, comm, argv });
        }
        if let Some(first) = unreadable.first() {
            return Err(cannot(format!(
                "{} of {pids} processes could not be read ({first}{}); /proc is mounted with hidepid, or the scan lacks the rights to read it",
                unreadable.len(),
                if unreadable.len() > 1 { ", ..." } else { "" }
            )));
        }
        if pids == 0 {
            return Err(cannot("/proc lists no process: it is not the /proc of a running node (mount the node's /proc there)".into()));
        }
        if !init && self.is_procfs(&proc_dir) {
            return Err(cannot(
                "/proc hides process 1 from this scan (mounted with hidepid=invisible or ptraceable): run the scan as root".into(),
            ));
        }
        procs.sort_by_key(|p| p.pid);
        Ok(procs)
    }

    /// One file of `/proc/<pid>`: `Ok(None)` when the process has ended.
    fn proc_file(&self, proc_dir: &Path, pid: u32, file: &str) -> Result<Option<Vec<u8>>, String> {
        // ENOENT or ESRCH: the process is gone.
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(3);
        let rel = proc_dir.join(pid.to_string()).join(file);
        let meta = match self.dir.symlink_metadata(&rel) {
            Ok(m) => m,
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        let mut opts = OpenOptions::new();
        opts.read(true).follow(FollowSymlinks::No);
        let mut buf = Vec::new();
        let read = self.dir.open_with(&rel, &opts).and_then(|f| f.take(MAX_READ).read_to_end(&mut buf));
        match read {
            Ok(_) => Ok(Some(buf)),
            Err(e) if gone(&e) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether `dir` is a proc filesystem (which always shows process 1 to
    /// whoever may see it), rather than a directory laid out by hand.
    fn is_procfs(&self, dir: &Path) -> bool {
        self.dir.open_dir(dir).ok().and_then(|d| rustix::fs::fstatfs(&d).ok()).is_some_and(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC)
    }

    /// Argument vectors of processes whose executable is `name`: the base
    /// name of argv[0], or `comm` (which the kernel cuts to 15 bytes, and
    /// which stays the executable's name when a daemon rewrites its argv
    /// into a status line, as sshd does: `sshd: /usr/sbin/sshd -D [listener]`).
    pub fn process_args(&self, name: &str) -> NodeResult<Vec<Vec<String>>> {
        Ok(self.processes_named(name)?.map(|p| p.argv.clone()).collect())
    }

    fn processes_named(&self, name: &str) -> NodeResult<impl Iterator<Item = &Process>> {
        let comm_name = name.get(..name.len().min(15)).unwrap_or(name).to_string();
        let name = name.to_string();
        Ok(self
            .processes()?
            .iter()
            .filter(move |p| p.argv.first().and_then(|a| a.rsplit('/').next()) == Some(name.as_str()) || p.comm == comm_name))
    }

    /// The variables starting with `prefix` in `/proc/<pid>/environ` of the
    /// processes [`NodeRoot::process_args`] gives, in its order. Read when
    /// asked, never with the process table: environments hold secrets, and
    /// only a plugin granted the process may see them. A process whose
    /// environ is not there (a node root laid out by hand, with `cmdline`
    /// and `comm` only; a process that has ended) is `NotFound`; one that
    /// cannot be read (a scan without root) is `Unavailable`.
    pub fn process_env(&self, name: &str, prefix: &str) -> NodeResult<Environments> {
        let procs: Vec<u32> = self.processes_named(name)?.map(|p| p.pid).collect();
        let proc_dir = self.resolve("/proc", true)?;
        procs
            .into_iter()
            .map(|pid| match self.proc_file(&proc_dir, pid, "environ") {
                Ok(Some(bytes)) => Ok(bytes
                    .split(|b| *b == 0)
                    .filter_map(|var| {
                        let var = String::from_utf8_lossy(var);
                        let (name, value) = var.split_once('=')?;
                        name.starts_with(prefix).then(|| (name.to_string(), value.to_string()))
                    })
                    .collect()),
                Ok(None) => Err(NodeError::NotFound(format!(
                    "/proc/{pid}/environ is not there: the node root does not show the environment of {name} (or it has ended)"
                ))),
                Err(e) => Err(NodeError::Unavailable(format!(
                    "/proc/{pid}/environ of {name} cannot be read: {e} (only root may read another user's environment)"
                ))),
            })
            .collect()
    }
}

impl NodeView for NodeRoot {
    fn name(&self) -> &str {
        &self.name
    }
    fn origin(&self) -> String {
        self.root.display().to_string()
    }
    fn real_path(&self, path: &str, follow: bool) -> NodeResult<String> {
        NodeRoot::real_path(self, path, follow)
    }
    fn stat(&self, path: &str, follow: bool) -> NodeResult<Stat> {
        NodeRoot::stat(self, path, follow)
    }
    fn read(&self, path: &str) -> NodeResult<Arc<[u8]>> {
        NodeRoot::read(self, path)
    }
    fn list_dir(&self, path: &str) -> NodeResult<Vec<Stat>> {
        NodeRoot::list_dir(self, path)
    }
    fn process_args(&self, name: &str) -> NodeResult<Vec<Vec<String>>> {
        NodeRoot::process_args(self, name)
    }
    fn process_env(&self, name: &str, prefix: &str) -> NodeResult<Environments> {
        NodeRoot::process_env(self, name, prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, NodeRoot) {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("etc/kubernetes/pki")).unwrap();
        std::fs::create_dir_all(r.join("var/lib/kubelet/pki")).unwrap();
        std::fs::write(r.join("etc/kubernetes/admin.conf"), "kind: Config\n").unwrap();
        std::fs::write(r.join("var/lib/kubelet/pki/kubelet-client-2026.pem"), "pem").unwrap();
        symlink("/var/lib/kubelet/pki/kubelet-client-2026.pem", r.join("var/lib/kubelet/pki/kubelet-client-current.pem")).unwrap();
        std::fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\netcd:x:998:998::/var/lib/etcd:/sbin/nologin\n").unwrap();
        let node = NodeRoot::open(r, Some("n".into())).unwrap();
        (dir, node)
    }

    #[test]
    fn absolute_symlink_points_inside_the_root() {
        let (_d, node) = root();
        let bytes = node.read("/var/lib/kubelet/pki/kubelet-client-current.pem").unwrap();
        assert_eq!(&*bytes, b"pem");
        let link = node.stat("/var/lib/kubelet/pki/kubelet-client-current.pem", false).unwrap();
        assert_eq!(link.kind, FileKind::Symlink);
        assert_eq!(link.link_target.as_deref(), Some("/var/lib/kubelet/pki/kubelet-client-2026.pem"));
    }

    #[test]
    fn a_hard_link_is_not_read_but_can_be_stat() {
        let (d, node) = root();
        // A file of the scanning host, and a link to it planted in the root.
        let host_file = d.path().parent().unwrap().join(format!("host-secret-{}", std::process::id()));
        std::fs::write(&host_file, "host secret").unwrap();
        std::fs::hard_link(&host_file, d.path().join("etc/kubernetes/linked.conf")).unwrap();
        let err = node.read("/etc/kubernetes/linked.conf").unwrap_err();
        std::fs::remove_file(&host_file).unwrap();
        assert!(matches!(&err, NodeError::Unavailable(m) if m.contains("has 2 hard links")), "{err:?}");
        assert_eq!(node.stat("/etc/kubernetes/linked.conf", true).unwrap().kind, FileKind::File);
        // A file with one link reads as before.
        assert_eq!(&*node.read("/etc/kubernetes/admin.conf").unwrap(), b"kind: Config\n");
    }

    #[test]
    fn dotdot_and_climbing_links_stay_inside() {
        let (d, node) = root();
        // A file outside the root that an escape would reach.
        let outside = d.path().parent().unwrap().join(format!("rampart-outside-{}", std::process::id()));
        std::fs::write(&outside, "secret").unwrap();
        let name = outside.file_name().unwrap().to_str().unwrap().to_string();
        symlink(format!("../../../../{name}"), d.path().join("etc/x")).unwrap();
        symlink(&outside, d.path().join("etc/y")).unwrap();
        for path in [format!("/../{name}"), format!("/etc/../../{name}"), "/etc/x".into(), "/etc/y".into()] {
            match node.read(&path) {
                Ok(bytes) => assert_ne!(&*bytes, b"secret", "{path} escaped"),
                Err(e) => assert!(matches!(e, NodeError::NotFound(_)), "{path}: {e:?}"),
            }
        }
        std::fs::remove_file(outside).unwrap();
    }

    #[test]
    fn link_loops_end() {
        let (d, node) = root();
        symlink("/etc/b", d.path().join("etc/a")).unwrap();
        symlink("/etc/a", d.path().join("etc/b")).unwrap();
        assert!(matches!(node.read("/etc/a"), Err(NodeError::Invalid(_))));
    }

    #[test]
    fn owner_names_come_from_the_nodes_passwd() {
        let (_d, node) = root();
        let st = node.stat("/etc/kubernetes/admin.conf", true).unwrap();
        assert_eq!(st.uid, nix_uid());
        if st.uid == 0 {
            assert_eq!(st.owner.as_deref(), Some("root"));
        }
    }

    fn nix_uid() -> u32 {
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0)
    }

    #[test]
    fn fifo_is_not_read() {
        let (d, node) = root();
        let fifo = d.path().join("etc/fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        assert!(matches!(node.read("/etc/fifo"), Err(NodeError::Invalid(_))));
    }

    #[test]
    fn processes_by_executable_name() {
        let (d, node) = root();
        std::fs::create_dir_all(d.path().join("proc/42")).unwrap();
        std::fs::write(d.path().join("proc/42/cmdline"), b"/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0").unwrap();
        std::fs::write(d.path().join("proc/42/comm"), b"kubelet\n").unwrap();
        assert_eq!(
            node.process_args("kubelet").unwrap(),
            vec![vec!["/usr/bin/kubelet".to_string(), "--config=/var/lib/kubelet/config.yaml".to_string()]]
        );
        assert!(node.process_args("etcd").unwrap().is_empty());
        std::fs::create_dir_all(d.path().join("proc/7")).unwrap();
        std::fs::write(d.path().join("proc/7/cmdline"), b"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\0").unwrap();
        std::fs::write(d.path().join("proc/7/comm"), b"sshd\n").unwrap();
        let node = NodeRoot::open(d.path(), Some("n".into())).unwrap();
        assert_eq!(node.process_args("sshd").unwrap().len(), 1, "a rewritten argv is still sshd by its comm");
    }

    /// A process's environment is read when asked, filtered by the prefix;
    /// a root without environ files does not show it (`NotFound`), a file
    /// that cannot be read is `Unavailable`.
    #[test]
    fn process_environments_by_prefix() {
        let (d, _) = root();
        process(d.path(), 1, b"/sbin/init\0", "systemd\n");
        process(d.path(), 900, b"/usr/local/bin/etcd\0", "etcd\n");
        std::fs::write(d.path().join("proc/900/environ"), b"HOME=/root\0ETCD_AUTO_TLS=true\0ETCD_NAME=a=b\0broken\0ETCD_EMPTY=\0").unwrap();
        let node = NodeRoot::open(d.path(), Some("n".into())).unwrap();
        let want = |pairs: &[(&str, &str)]| vec![pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()];
        assert_eq!(
            node.process_env("etcd", "ETCD_").unwrap(),
            want(&[("ETCD_AUTO_TLS", "true"), ("ETCD_NAME", "a=b"), ("ETCD_EMPTY", "")])
        );
        assert_eq!(node.process_env("etcd", "NOPE_").unwrap(), want(&[]));
        assert!(node.process_env("kubelet", "X").unwrap().is_empty(), "no such process");
        assert!(matches!(node.process_env("systemd", "X"), Err(NodeError::NotFound(m)) if m.contains("/proc/1/environ")));
        std::fs::create_dir(d.path().join("proc/1/environ")).unwrap();
        assert!(matches!(node.process_env("systemd", "X"), Err(NodeError::Unavailable(m)) if m.contains("not a regular file")));
    }

    fn process(root: &Path, pid: u32, argv: &[u8], comm: &str) {
        std::fs::create_dir_all(root.join(format!("proc/{pid}"))).unwrap();
        std::fs::write(root.join(format!("proc/{pid}/cmdline")), argv).unwrap();
        std::fs::write(root.join(format!("proc/{pid}/comm")), comm).unwrap();
    }

    fn unavailable(node: &NodeRoot, name: &str) -> String {
        match node.process_args(name) {
            Err(NodeError::Unavailable(m)) => m,
            other => panic!("want unavailable, got {other:?}"),
        }
    }

    /// Regression: a /proc that could not be read gave an empty process
    /// table, which plugins took for "no kubelet runs here".
    #[test]
    fn a_proc_that_cannot_be_read_is_unavailable_not_empty() {
        let (d, node) = root();
        assert!(unavailable(&node, "kubelet").contains("has no /proc"));

        std::fs::write(d.path().join("proc"), "not a directory").unwrap();
        let node = NodeRoot::open(d.path(), None).unwrap();
        assert!(unavailable(&node, "kubelet").contains("/proc cannot be listed"));

        std::fs::remove_file(d.path().join("proc")).unwrap();
        std::fs::create_dir(d.path().join("proc")).unwrap();
        let node = NodeRoot::open(d.path(), None).unwrap();
        assert!(unavailable(&node, "kubelet").contains("lists no process"));
    }

    /// One process whose command line cannot be read (hidepid=1 answers
    /// EPERM; here a directory stands in for the file) hides what it is.
    #[test]
    fn an_unreadable_process_makes_the_table_unavailable() {
        let (d, _) = root();
        process(d.path(), 1, b"/sbin/init\0", "systemd\n");
        std::fs::create_dir_all(d.path().join("proc/42/cmdline")).unwrap();
        std::fs::write(d.path().join("proc/42/comm"), "kubelet\n").unwrap();
        let node = NodeRoot::open(d.path(), None).unwrap();
        let m = unavailable(&node, "kubelet");
        assert!(m.contains("1 of 2 processes could not be read") && m.contains("/proc/42/cmdline"), "{m}");
        assert!(matches!(node.process_args("etcd"), Err(NodeError::Unavailable(_))), "the whole table is unknown");
    }

    /// A process that ends while the table is read is simply gone.
    #[test]
    fn a_process_that_ended_is_left_out() {
        let (d, _) = root();
        process(d.path(), 1, b"/sbin/init\0", "systemd\n");
        std::fs::create_dir_all(d.path().join("proc/77")).unwrap();
        let node = NodeRoot::open(d.path(), None).unwrap();
        assert_eq!(node.process_args("systemd").unwrap(), vec![vec!["/sbin/init".to_string()]]);
        assert!(node.process_args("kubelet").unwrap().is_empty());
    }

    /// The real /proc is a proc filesystem and shows process 1 to root.
    #[test]
    fn the_hosts_own_proc_is_a_proc_filesystem() {
        let node = NodeRoot::open(Path::new("/"), Some("self".into())).unwrap();
        assert!(node.is_procfs(Path::new("proc")));
        assert!(!node.is_procfs(Path::new("etc")));
        if nix_uid() == 0 {
            assert!(node.processes().unwrap().iter().any(|p| p.pid == 1));
        }
    }

    /// Regression: a name that is not UTF-8 was stat'ed by its lossy form,
    /// failed as not found, and made the whole directory "not found".
    #[test]
    fn names_that_are_not_utf8_are_listed_and_can_be_asked_again() {
        use std::os::unix::ffi::OsStrExt;
        let (d, node) = root();
        let pki = d.path().join("etc/kubernetes/pki");
        std::fs::write(pki.join("ca.crt"), "crt").unwrap();
        std::fs::write(pki.join(OsStr::from_bytes(b"old\xff.key")), "key").unwrap();
        std::fs::create_dir(pki.join(OsStr::from_bytes(b"etcd\xfe"))).unwrap();
        std::fs::write(pki.join(OsStr::from_bytes(b"etcd\xfe/peer.key")), "key").unwrap();
        let paths: Vec<String> = node.list_dir("/etc/kubernetes/pki").unwrap().into_iter().map(|s| s.path).collect();
        assert_eq!(paths, ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd\u{FFFD}", "/etc/kubernetes/pki/old\u{FFFD}.key"]);
        let key = node.stat("/etc/kubernetes/pki/old\u{FFFD}.key", true).unwrap();
        assert_eq!((key.kind, key.size), (FileKind::File, 3));
        let inner = node.list_dir("/etc/kubernetes/pki/etcd\u{FFFD}").unwrap();
        assert_eq!(inner[0].path, "/etc/kubernetes/pki/etcd\u{FFFD}/peer.key");
        assert_eq!(&*node.read("/etc/kubernetes/pki/etcd\u{FFFD}/peer.key").unwrap(), b"key");
        // Two names with the same lossy form cannot be told apart: an error, not a guess.
        std::fs::write(pki.join(OsStr::from_bytes(b"old\xfe.key")), "other").unwrap();
        let node = NodeRoot::open(d.path(), None).unwrap();
        assert!(matches!(node.stat("/etc/kubernetes/pki/old\u{FFFD}.key", true), Err(NodeError::Invalid(_))));
        assert_eq!(node.list_dir("/etc/kubernetes/pki").unwrap().len(), 4);
    }

    #[test]
    fn a_node_names_itself_as_the_kubelet_registers_it() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().join("mnt");
        std::fs::create_dir_all(r.join("etc")).unwrap();
        let name = |r: &Path| NodeRoot::open(r, None).unwrap().name;
        assert_eq!(name(&r), "mnt", "nothing on the node says: the directory's name");
        std::fs::write(r.join("etc/hostname"), "\n  Worker-7.Example.Internal \n").unwrap();
        assert_eq!(name(&r), "worker-7.example.internal", "the host name, lower-cased as the kubelet does");
        std::fs::create_dir_all(r.join("proc/42")).unwrap();
        std::fs::create_dir_all(r.join("var/lib/kubelet")).unwrap();
        std::fs::write(r.join("var/lib/kubelet/config.yaml"), "kind: KubeletConfiguration\nhostnameOverride: from-config\n").unwrap();
        std::fs::write(r.join("proc/42/cmdline"), b"/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0").unwrap();
        std::fs::write(r.join("proc/42/comm"), b"kubelet\n").unwrap();
        assert_eq!(name(&r), "from-config");
        std::fs::write(
            r.join("proc/42/cmdline"),
            b"/usr/bin/kubelet\0--hostname-override\0From-Flag\0--config=/var/lib/kubelet/config.yaml\0",
        )
        .unwrap();
        assert_eq!(name(&r), "from-flag", "the flag wins over the config file");
        assert_eq!(NodeRoot::open(&r, Some("given".into())).unwrap().name, "given");
    }
}
