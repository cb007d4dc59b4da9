//! A native stand-in for the host, so a plugin's checks can be unit-tested
//! with `cargo test` and no Wasm: objects, node files and processes are
//! given in code.

use std::collections::BTreeMap;

use crate::{AccessError, FileStat, FileType, Findings, Host, Object, ObjectPage, ObjectRef, Plugin, Settings};

/// A fake process's environment: `None` when the node does not show it,
/// `Err` when it is there but cannot be read (with why).
type Environment = Option<Result<Vec<(String, String)>, String>>;

/// In-memory cluster objects, node files and processes.
///
/// ```
/// use rampart_sdk::testing::FakeHost;
/// use rampart_sdk::Host;
/// let host = FakeHost::new()
///     .dir("/etc/kubernetes", 0o755, 0, 0)
///     .file("/etc/kubernetes/admin.conf", 0o600, 0, 0, "apiVersion: v1")
///     .process(&["etcd", "--data-dir=/var/lib/etcd"]);
/// assert_eq!(host.stat("/etc/kubernetes/admin.conf", true).unwrap().mode, 0o600);
/// assert_eq!(host.process_args("etcd").unwrap().len(), 1);
/// assert!(host.stat("/nope", true).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct FakeHost {
    node_name: String,
    objects: Vec<(String, String, Object)>,
    files: BTreeMap<String, (FileStat, Option<Vec<u8>>)>,
    processes: Vec<Vec<String>>,
    /// Each process's environment, where one was given (`None`: the node
    /// does not show it, as a root laid out with `cmdline` only).
    environments: Vec<Environment>,
    /// Kinds whose list fails (`apiVersion/Kind`), as a forbidden kind does.
    unavailable: Vec<String>,
    /// No node in view: every node call answers `unavailable`, as in a run
    /// against the cluster alone.
    cluster_only: bool,
    /// Why the node's processes cannot be seen, when they cannot.
    hidden_processes: Option<String>,
    /// Listings that fail part-way (`apiVersion/Kind`, from which object
    /// on), as a live listing whose continue token expired does.
    failing_after: Vec<(String, usize)>,
}

impl FakeHost {
    pub fn new() -> FakeHost {
        FakeHost { node_name: "test-node".into(), ..FakeHost::default() }
    }

    /// Adds one object; its kind and apiVersion are the given ones even when
    /// the JSON carries none (as list items).
    pub fn object(mut self, api_version: &str, kind: &str, json: serde_json::Value) -> FakeHost {
        let ref_ = ObjectRef::from_json(&json, api_version, kind);
        let source = format!("test#{}", self.objects.len());
        self.objects.push((api_version.into(), kind.into(), Object { ref_, source, json: json.to_string() }));
        self
    }

    /// Adds one object as text, which need not be valid JSON, named by
    /// `ref_`: what a plugin must judge as an error when it cannot read it.
    pub fn object_text(mut self, ref_: ObjectRef, json: &str) -> FakeHost {
        let source = format!("test#{}", self.objects.len());
        self.objects.push((ref_.api_version.clone(), ref_.kind.clone(), Object { ref_, source, json: json.into() }));
        self
    }

    /// Names the node (`test-node` by default), as a node root's name.
    pub fn named(mut self, name: &str) -> FakeHost {
        self.node_name = name.into();
        self
    }

    /// Sets where the `index`th object came from (`test#N` by default), e.g.
    /// an API URL as a live source gives it.
    pub fn with_source(mut self, index: usize, source: &str) -> FakeHost {
        self.objects[index].2.source = source.into();
        self
    }

    /// A run with no node target: node calls answer `unavailable`.
    pub fn cluster_only(mut self) -> FakeHost {
        self.cluster_only = true;
        self
    }

    /// Makes listing this kind fail, as when the API server forbids it.
    pub fn deny(mut self, api_version: &str, kind: &str) -> FakeHost {
        self.unavailable.push(format!("{api_version}/{kind}"));
        self
    }

    /// Makes a listing of one kind fail once a page would start at or
    /// past the `after`th object: the pages before it are served.
    pub fn fail_listing_after(mut self, api_version: &str, kind: &str, after: usize) -> FakeHost {
        self.failing_after.push((format!("{api_version}/{kind}"), after));
        self
    }

    #[allow(clippy::too_many_arguments)]
    fn entry(
        mut self,
        path: &str,
        file_type: FileType,
        mode: u32,
        uid: u32,
        gid: u32,
        content: Option<Vec<u8>>,
        link: Option<String>,
    ) -> FakeHost {
        let stat = FileStat {
            path: path.into(),
            file_type,
            mode,
            uid,
            gid,
            owner: names(uid),
            group: names(gid),
            size: content.as_ref().map_or(0, |c| c.len() as u64),
            link_target: link,
        };
        self.files.insert(path.into(), (stat, content));
        self
    }

    pub fn file(self, path: &str, mode: u32, uid: u32, gid: u32, content: impl Into<Vec<u8>>) -> FakeHost {
        self.entry(path, FileType::File, mode, uid, gid, Some(content.into()), None)
    }

    pub fn dir(self, path: &str, mode: u32, uid: u32, gid: u32) -> FakeHost {
        self.entry(path, FileType::Directory, mode, uid, gid, None, None)
    }

    /// A symlink to an absolute target inside the fake node.
    pub fn symlink(self, path: &str, target: &str) -> FakeHost {
        self.entry(path, FileType::Symlink, 0o777, 0, 0, None, Some(target.into()))
    }

    /// A running process with this argv.
    pub fn process(mut self, argv: &[&str]) -> FakeHost {
        self.processes.push(argv.iter().map(|s| s.to_string()).collect());
        self.environments.push(None);
        self
    }

    /// Gives the process added last this environment.
    ///
    /// ```
    /// use rampart_sdk::testing::FakeHost;
    /// use rampart_sdk::Host;
    /// let host = FakeHost::new().process(&["etcd"]).environment(&[("ETCD_AUTO_TLS", "true"), ("HOME", "/root")]);
    /// assert_eq!(host.process_env("etcd", "ETCD_").unwrap(), [[("ETCD_AUTO_TLS".to_string(), "true".to_string())]]);
    /// ```
    pub fn environment(mut self, vars: &[(&str, &str)]) -> FakeHost {
        if let Some(last) = self.environments.last_mut() {
            *last = Some(Ok(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()));
        }
        self
    }

    /// The environment of the process added last is there but cannot be
    /// read (a scan without the right to trace it): `unavailable`.
    pub fn environment_unreadable(mut self, why: &str) -> FakeHost {
        if let Some(last) = self.environments.last_mut() {
            *last = Some(Err(why.to_string()));
        }
        self
    }

    /// The node's process table cannot be read (hidepid, no /proc): every
    /// process lookup answers `unavailable`, as the host does.
    ///
    /// ```
    /// use rampart_sdk::testing::FakeHost;
    /// use rampart_sdk::{AccessError, Host};
    /// let host = FakeHost::new().process(&["kubelet"]).processes_unreadable("hidepid=2");
    /// assert!(matches!(host.process_args("kubelet"), Err(AccessError::Unavailable(_))));
    /// ```
    pub fn processes_unreadable(mut self, why: &str) -> FakeHost {
        self.hidden_processes = Some(why.to_string());
        self
    }

    /// Runs `P::evaluate` against this host and returns its findings.
    pub fn run<P: Plugin>(&self, settings: &[(&str, &str)]) -> Result<Vec<crate::Finding>, String> {
        let settings = Settings::new(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let mut out = Findings::collecting();
        P::evaluate(self, &settings, &mut out)?;
        Ok(out.into_vec())
    }

    fn resolve(&self, path: &str) -> Result<&(FileStat, Option<Vec<u8>>), AccessError> {
        self.node()?;
        let mut current = path.to_string();
        for _ in 0..16 {
            let entry = self.files.get(&current).ok_or_else(|| AccessError::NotFound(path.into()))?;
            match &entry.0.link_target {
                Some(target) => current = target.clone(),
                None => return Ok(entry),
            }
        }
        Err(AccessError::Invalid(format!("{path}: too many levels of symbolic links")))
    }
}

fn names(id: u32) -> Option<String> {
    (id == 0).then(|| "root".to_string())
}

impl FakeHost {
    fn node(&self) -> Result<(), AccessError> {
        if self.cluster_only { Err(AccessError::Unavailable("this run has no node target".into())) } else { Ok(()) }
    }
}

impl Host for FakeHost {
    fn list_objects(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Result<Vec<Object>, AccessError> {
        if self.unavailable.contains(&format!("{api_version}/{kind}")) {
            return Err(AccessError::Unavailable(format!("{api_version}/{kind}: forbidden (test)")));
        }
        Ok(self
            .objects
            .iter()
            .filter(|(v, k, o)| v == api_version && k == kind && (namespace.is_none() || o.ref_.namespace.as_deref() == namespace))
            .map(|(_, _, o)| o.clone())
            .collect())
    }

    fn list_objects_page(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        limit: u32,
        continue_token: Option<&str>,
    ) -> Result<ObjectPage, AccessError> {
        let from = crate::host::offset(continue_token)?;
        let key = format!("{api_version}/{kind}");
        if self.failing_after.iter().any(|(k, after)| *k == key && from >= *after) {
            return Err(AccessError::Unavailable(format!("{key}: the listing failed at object {from} (test)")));
        }
        crate::host::page_of(self.list_objects(api_version, kind, namespace)?, limit, continue_token)
    }

    fn node_name(&self) -> String {
        if self.cluster_only { String::new() } else { self.node_name.clone() }
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, AccessError> {
        let (stat, content) = self.resolve(path)?;
        content.clone().ok_or_else(|| AccessError::Invalid(format!("{}: not a regular file", stat.path)))
    }

    fn stat(&self, path: &str, follow: bool) -> Result<FileStat, AccessError> {
        if follow {
            let mut stat = self.resolve(path)?.0.clone();
            stat.path = path.into();
            Ok(stat)
        } else {
            self.node()?;
            self.files.get(path).map(|e| e.0.clone()).ok_or_else(|| AccessError::NotFound(path.into()))
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<FileStat>, AccessError> {
        let dir = self.resolve(path)?;
        if dir.0.file_type != FileType::Directory {
            return Err(AccessError::Invalid(format!("{path}: not a directory")));
        }
        let prefix = if path.ends_with('/') { path.to_string() } else { format!("{path}/") };
        Ok(self
            .files
            .iter()
            .filter(|(p, _)| p.strip_prefix(&prefix).is_some_and(|rest| !rest.is_empty() && !rest.contains('/')))
            .map(|(_, (s, _))| s.clone())
            .collect())
    }

    fn process_args(&self, name: &str) -> Result<Vec<Vec<String>>, AccessError> {
        self.node()?;
        if let Some(why) = &self.hidden_processes {
            return Err(AccessError::Unavailable(format!("the node's processes cannot be seen: {why}")));
        }
        Ok(self.processes.iter().filter(|argv| argv.first().is_some_and(|a0| a0.rsplit('/').next() == Some(name))).cloned().collect())
    }

    fn process_env(&self, name: &str, prefix: &str) -> Result<Vec<Vec<(String, String)>>, AccessError> {
        self.node()?;
        if let Some(why) = &self.hidden_processes {
            return Err(AccessError::Unavailable(format!("the node's processes cannot be seen: {why}")));
        }
        if prefix.is_empty() {
            return Err(AccessError::Invalid("process-env: empty prefix".into()));
        }
        self.processes
            .iter()
            .zip(&self.environments)
            .filter(|(argv, _)| argv.first().is_some_and(|a0| a0.rsplit('/').next() == Some(name)))
            .map(|(_, env)| match env {
                Some(Ok(vars)) => Ok(vars.iter().filter(|(k, _)| k.starts_with(prefix)).cloned().collect()),
                Some(Err(why)) => Err(AccessError::Unavailable(format!("the environment of {name} cannot be read: {why}"))),
                None => Err(AccessError::NotFound(format!("the environment of {name} is not shown"))),
            })
            .collect()
    }
}
