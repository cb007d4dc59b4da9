//! A node's root directory seen as if it were `/`: paths resolve inside it
//! the way they would on the node (absolute symlinks point inside the root),
//! and nothing ever resolves outside it. Every answer is cached, so a file is
//! read once per scan whatever the number of plugins asking.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
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
    processes: OnceLock<Vec<Process>>,
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
        for argv in self.process_args("kubelet") {
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
                && let Ok(doc) = serde_yaml_ng::from_slice::<serde_yaml_ng::Value>(&bytes)
                && let Some(name) = doc.get("hostnameOverride").and_then(|v| v.as_str()).and_then(clean)
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
    /// `..` at the root stays at the root, as in a chroot.
    pub fn resolve(&self, path: &str, follow_last: bool) -> NodeResult<String> {
        if !path.starts_with('/') {
            return Err(NodeError::Invalid(format!("{path}: node paths must be absolute")));
        }
        if path.contains('\0') {
            return Err(NodeError::Invalid("path contains a NUL byte".into()));
        }
        let mut pending: Vec<String> = path.split('/').rev().filter(|s| !s.is_empty()).map(str::to_string).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(segment) = pending.pop() {
            match segment.as_str() {
                "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(segment);
            let rel = resolved.join("/");
            let is_last = pending.is_empty();
            let meta = match self.dir.symlink_metadata(&rel) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(NodeError::NotFound(format!("{path}: no such file or directory")));
                }
                Err(e) if e.raw_os_error() == Some(20) => {
                    return Err(NodeError::NotFound(format!("{path}: a parent is not a directory")));
                }
                Err(e) => return Err(NodeError::Unavailable(format!("{path}: {e}"))),
            };
            if !meta.file_type().is_symlink() || (is_last && !follow_last) {
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(NodeError::Invalid(format!("{path}: too many levels of symbolic links")));
            }
            let target = self.dir.read_link_contents(&rel).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
            let target = target.to_string_lossy().into_owned();
            resolved.pop();
            if target.starts_with('/') {
                // Absolute links point inside the node, as on the node itself.
                resolved.clear();
            }
            pending.extend(target.split('/').rev().filter(|s| !s.is_empty()).map(str::to_string));
        }
        Ok(if resolved.is_empty() { ".".to_string() } else { resolved.join("/") })
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
        self.resolve(path, follow_last).map(|rel| if rel == "." { "/".to_string() } else { format!("/{rel}") })
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
        let meta = self.dir.symlink_metadata(&rel).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
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
            if kind == FileKind::Symlink { self.dir.read_link_contents(&rel).ok().map(|t| t.to_string_lossy().into_owned()) } else { None };
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
        let mut buf = Vec::new();
        file.take(MAX_READ + 1).read_to_end(&mut buf).map_err(|e| NodeError::Unavailable(format!("{path}: {e}")))?;
        if buf.len() as u64 > MAX_READ {
            return Err(NodeError::Invalid(format!("{path}: larger than {MAX_READ} bytes")));
        }
        Ok(buf)
    }

    /// The entries of a directory (not recursive, symlinks not followed).
    pub fn list_dir(&self, path: &str) -> NodeResult<Vec<Stat>> {
        let rel = self.resolve(path, true)?;
        let base = NodeRoot::normalize(path);
        let entries = self.dir.read_dir(&rel).map_err(|e| match e.raw_os_error() {
            Some(20) => NodeError::Invalid(format!("{path}: not a directory")),
            _ => NodeError::Unavailable(format!("{path}: {e}")),
        })?;
        let mut names: Vec<String> = entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let child = if base == "/" { format!("/{n}") } else { format!("{base}/{n}") };
                self.stat(&child, false)
            })
            .collect()
    }

    /// Every process under `<root>/proc`, read once.
    pub fn processes(&self) -> &[Process] {
        self.processes.get_or_init(|| {
            let mut procs = Vec::new();
            let Ok(entries) = self.dir.read_dir("proc") else {
                return procs;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(pid) = name.parse::<u32>() else { continue };
                let Ok(cmdline) = self.read_uncached(&format!("/proc/{pid}/cmdline")) else { continue };
                let argv: Vec<String> =
                    cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                let comm = self
                    .read_uncached(&format!("/proc/{pid}/comm"))
                    .map(|c| String::from_utf8_lossy(&c).trim().to_string())
                    .unwrap_or_default();
                if argv.is_empty() && comm.is_empty() {
                    continue; // a kernel thread
                }
                procs.push(Process { pid, comm, argv });
            }
            procs.sort_by_key(|p| p.pid);
            procs
        })
    }

    /// Argument vectors of processes whose executable is `name`: the base
    /// name of argv[0], or `comm` (which the kernel cuts to 15 bytes, and
    /// which stays the executable's name when a daemon rewrites its argv
    /// into a status line, as sshd does: `sshd: /usr/sbin/sshd -D [listener]`).
    pub fn process_args(&self, name: &str) -> Vec<Vec<String>> {
        let comm_name = &name[..name.len().min(15)];
        self.processes()
            .iter()
            .filter(|p| p.argv.first().and_then(|a| a.rsplit('/').next()) == Some(name) || p.comm == comm_name)
            .map(|p| p.argv.clone())
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
        Ok(NodeRoot::process_args(self, name))
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
            node.process_args("kubelet"),
            vec![vec!["/usr/bin/kubelet".to_string(), "--config=/var/lib/kubelet/config.yaml".to_string()]]
        );
        assert!(node.process_args("etcd").is_empty());
        std::fs::create_dir_all(d.path().join("proc/7")).unwrap();
        std::fs::write(d.path().join("proc/7/cmdline"), b"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\0").unwrap();
        std::fs::write(d.path().join("proc/7/comm"), b"sshd\n").unwrap();
        let node = NodeRoot::open(d.path(), Some("n".into())).unwrap();
        assert_eq!(node.process_args("sshd").len(), 1, "a rewritten argv is still sshd by its comm");
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
