//! The capability broker: the host side of every import a plugin makes.
//! Each call is checked against the plugin's grant (requested ∩ granted);
//! a denial returns `denied` to the plugin and is counted for the report.
//! Node I/O runs on a worker thread with a timeout, so a host call that
//! blocks cannot hold the scan.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::bindings::rampart::plugin::{cluster, log, node, report, types};
use crate::grants::{Access, Grant};
use crate::report::{Evidence, Finding, ObjectRef, Severity, Status};
use crate::sources::ClusterData;
use crate::sources::cluster::{Listed, Unread};
use crate::sources::node::{FileKind, NodeError, NodeRoot, NodeView, Stat};

/// Caps on what one plugin run may hand back.
#[derive(Debug, Clone, Copy)]
pub struct OutputLimits {
    pub max_findings: usize,
    pub max_message_bytes: usize,
    pub max_evidence: usize,
    pub max_log_lines: usize,
    /// Bytes the host keeps for one run: findings, evidence, logs and
    /// denied-call records, charged as they cross the boundary.
    pub max_output_bytes: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            max_findings: 1_000_000,
            max_message_bytes: 4096,
            max_evidence: 64,
            max_log_lines: 1000,
            max_output_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The most distinct denied calls kept for the report (all are counted).
const MAX_DENIED_KINDS: usize = 100;
/// Each field of an object reference (a Kubernetes name is at most 253
/// bytes), a check id, an evidence key, a denied-call record.
pub const MAX_NAME_BYTES: usize = 512;
/// A log line.
pub const MAX_LOG_BYTES: usize = 1024;
/// What the host keeps per finding and per evidence entry besides the
/// strings themselves (the structs that hold them), charged to the budget.
const FINDING_OVERHEAD: usize = 256;
const EVIDENCE_OVERHEAD: usize = 48;

/// What one plugin run may see, and what it did.
pub struct Broker {
    plugin: String,
    grant: Arc<Grant>,
    cluster: Option<Arc<ClusterData>>,
    node: Option<Arc<dyn NodeView>>,
    io: IoWorker,
    deadline: Instant,
    host_call_timeout: Duration,
    limits: OutputLimits,
    pub findings: Findings,
    /// Why the run must end as `error` although the plugin returned.
    pub failure: Option<String>,
    pub denied_calls: u64,
    pub denied: BTreeMap<String, u64>,
    pub logs: Vec<String>,
    /// Bytes charged to the output budget so far.
    pub output_bytes: usize,
    /// The object the last finding was about, where it was read from and
    /// on which line: plugins emit their findings on one object together,
    /// and those findings share one copy of each.
    last_object: Option<LastObject>,
    /// Each declared check: `plugin/check`, shared by its findings, and
    /// its severity from the plugin's metadata.
    checks: HashMap<String, (Arc<str>, Severity)>,
    /// Short messages seen so far (`ok`, `not set`), shared by the findings
    /// that repeat them.
    messages: HashSet<Arc<str>>,
    /// Short evidence seen so far (`{"spec.hostNetwork": "true"}`), shared
    /// likewise: a large cluster's findings repeat a few thousand.
    evidence: HashSet<Evidence>,
    /// The node's name, shared by every finding of a node run.
    node_name: Option<Arc<str>>,
    /// What the run listed: an input that could hold one of those objects
    /// and could not be read leaves its checks `error`.
    pub listed: Listed,
}

/// A run's findings, kept in blocks of a fixed size. A large cluster's run
/// gives a million; one list grown by doubling copied them all into fresh
/// memory at each step (8% of pod-security's run on 10,000 pods).
#[derive(Debug, Default)]
pub struct Findings {
    blocks: Vec<Vec<Finding>>,
    len: usize,
}

/// Findings in a block (about 1 MB); the first block grows up to it.
const FINDINGS_PER_BLOCK: usize = 8192;

impl Findings {
    pub fn push(&mut self, finding: Finding) {
        match self.blocks.last_mut() {
            Some(block) if block.len() < FINDINGS_PER_BLOCK => block.push(finding),
            last => {
                let mut block = Vec::with_capacity(if last.is_none() { 0 } else { FINDINGS_PER_BLOCK });
                block.push(finding);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.blocks.iter().flatten()
    }
}

impl IntoIterator for Findings {
    type Item = Finding;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<Finding>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter().flatten()
    }
}

impl Extend<Finding> for Findings {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, findings: I) {
        for f in findings {
            self.push(f);
        }
    }
}

impl FromIterator<Finding> for Findings {
    fn from_iter<I: IntoIterator<Item = Finding>>(findings: I) -> Findings {
        let mut out = Findings::default();
        out.extend(findings);
        out
    }
}

/// An object findings were made on, its source and its line.
type LastObject = (Arc<ObjectRef>, Option<Arc<str>>, Option<usize>);

/// Messages at most this long are shared between findings that say the
/// same thing; longer ones are usually about one subject.
const SHARED_MESSAGE_BYTES: usize = 96;
/// Evidence of at most this many bytes is shared likewise.
const SHARED_EVIDENCE_BYTES: usize = 256;
/// How many distinct short messages (and evidence) one run shares at most.
const SHARED_MESSAGES: usize = 4096;

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("plugin", &self.plugin).field("findings", &self.findings.len()).finish_non_exhaustive()
    }
}

/// Everything a run needs besides the plugin.
#[derive(Debug, Clone)]
pub struct RunInputs {
    pub grant: Arc<Grant>,
    pub cluster: Option<Arc<ClusterData>>,
    pub node: Option<Arc<dyn NodeView>>,
    pub severities: Arc<BTreeMap<String, Severity>>,
}

impl Broker {
    pub fn new(plugin: &str, inputs: RunInputs, deadline: Instant, host_call_timeout: Duration, limits: OutputLimits) -> Broker {
        let checks =
            inputs.severities.iter().map(|(id, severity)| (id.clone(), (Arc::from(format!("{plugin}/{id}")), *severity))).collect();
        let node_name = inputs.node.as_ref().map(|n| Arc::from(n.name()));
        Broker {
            plugin: plugin.to_string(),
            grant: inputs.grant,
            cluster: inputs.cluster,
            node: inputs.node,
            io: IoWorker::default(),
            deadline,
            host_call_timeout,
            limits,
            findings: Findings::default(),
            failure: None,
            denied_calls: 0,
            denied: BTreeMap::new(),
            logs: Vec::new(),
            output_bytes: 0,
            last_object: None,
            checks,
            messages: HashSet::new(),
            evidence: HashSet::new(),
            node_name,
            listed: Listed::default(),
        }
    }

    /// The inputs that could not be read and may hold a kind this run
    /// listed.
    pub fn unread_listed(&self) -> Vec<Unread> {
        let Some(data) = &self.cluster else { return Vec::new() };
        data.unread.iter().filter(|u| u.may_hold(&self.listed)).cloned().collect()
    }

    fn deny(&mut self, what: String) -> types::AccessError {
        self.denied_calls += 1;
        let what = truncate(what, MAX_NAME_BYTES);
        let known = self.denied.len();
        if let Some(n) = self.denied.get_mut(&what) {
            *n += 1;
        } else if known < MAX_DENIED_KINDS && self.charge(what.len() + EVIDENCE_OVERHEAD) {
            self.denied.insert(what.clone(), 1);
        }
        types::AccessError::Denied(format!("{what} is not granted to plugin {}", self.plugin))
    }

    /// Charges bytes to the run's output budget; past it the run fails.
    fn charge(&mut self, bytes: usize) -> bool {
        self.output_bytes = self.output_bytes.saturating_add(bytes);
        if self.output_bytes <= self.limits.max_output_bytes {
            return true;
        }
        self.failure.get_or_insert_with(|| {
            format!(
                "plugin output went over its budget of {} MiB (findings, evidence, logs; raise it with --max-output-mib)",
                self.limits.max_output_bytes / (1024 * 1024)
            )
        });
        false
    }

    /// Runs node I/O off the plugin's thread, bounded by the host call
    /// timeout and the run's deadline.
    fn node_call<T: Send + 'static>(
        &mut self,
        what: &str,
        f: impl FnOnce(&dyn NodeView, &Grant) -> T + Send + 'static,
    ) -> Result<T, types::AccessError> {
        let Some(node) = self.node.clone() else {
            return Err(types::AccessError::Unavailable("this run has no node target".into()));
        };
        let grant = self.grant.clone();
        let budget = self.host_call_timeout.min(self.deadline.saturating_duration_since(Instant::now()));
        match self.io.call(budget, move || f(node.as_ref(), &grant)) {
            Some(v) => Ok(v),
            None => {
                let msg = format!("host call {what} timed out after {:.1}s", budget.as_secs_f64());
                self.failure.get_or_insert(msg.clone());
                Err(types::AccessError::Unavailable(msg))
            }
        }
    }

    /// The result of a path call: allowed for both the path as asked and the
    /// path it really leads to, or denied naming which.
    fn path_call<T: Send + 'static>(
        &mut self,
        scope: &'static str,
        path: String,
        follow: bool,
        op: impl FnOnce(&dyn NodeView, &Grant, &str) -> Result<T, types::AccessError> + Send + 'static,
    ) -> Result<T, types::AccessError> {
        if !path.starts_with('/') {
            return Err(types::AccessError::Invalid(format!("{path}: node paths must be absolute")));
        }
        let asked = NodeRoot::normalize(&path);
        let allowed = if scope == "node.read" { self.grant.allows(Access::Read(&asked)) } else { self.grant.allows(Access::Stat(&asked)) };
        if !allowed {
            return Err(self.deny(format!("{scope}:{asked}")));
        }
        let what = format!("{scope}:{asked}");
        let outcome = self.node_call(&what, move |node, grant| -> Result<Result<T, types::AccessError>, String> {
            let real = match node.real_path(&asked, follow) {
                Ok(r) => r,
                Err(e) => return Ok(Err(access_error(e))),
            };
            let allowed = if scope == "node.read" { grant.allows(Access::Read(&real)) } else { grant.allows(Access::Stat(&real)) };
            if !allowed {
                return Err(real);
            }
            Ok(op(node, grant, &asked))
        })?;
        match outcome {
            Ok(result) => result,
            Err(real) => Err(self.deny(format!("{scope}:{real} (through a symlink at {path})"))),
        }
    }
}

fn access_error(e: NodeError) -> types::AccessError {
    match e {
        NodeError::NotFound(m) => types::AccessError::NotFound(m),
        NodeError::Invalid(m) => types::AccessError::Invalid(m),
        NodeError::Unavailable(m) => types::AccessError::Unavailable(m),
    }
}

fn to_wit_stat(s: Stat) -> node::FileStat {
    node::FileStat {
        path: s.path,
        file_type: match s.kind {
            FileKind::File => node::FileType::File,
            FileKind::Directory => node::FileType::Directory,
            FileKind::Symlink => node::FileType::Symlink,
            FileKind::Other => node::FileType::Other,
        },
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        owner: s.owner,
        group: s.group,
        size: s.size,
        link_target: s.link_target,
    }
}

impl types::Host for Broker {}

impl cluster::Host for Broker {
    fn list_objects(
        &mut self,
        api_version: String,
        kind: String,
        namespace: Option<String>,
    ) -> Result<Vec<cluster::Object>, types::AccessError> {
        self.list(&api_version, &kind, namespace.as_deref(), 0, 0).map(|(objects, _)| objects)
    }

    fn list_objects_page(
        &mut self,
        api_version: String,
        kind: String,
        namespace: Option<String>,
        limit: u32,
        continue_token: Option<String>,
    ) -> Result<cluster::ObjectPage, types::AccessError> {
        let listing = page_key(&api_version, &kind, namespace.as_deref());
        let offset = match continue_token {
            None => 0,
            Some(token) => token
                .strip_prefix(&listing)
                .and_then(|rest| rest.strip_prefix('#'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| types::AccessError::Invalid("continue-token is not one this run gave for this listing".into()))?,
        };
        let (objects, next) = self.list(&api_version, &kind, namespace.as_deref(), offset, limit as usize)?;
        Ok(cluster::ObjectPage { objects, continue_token: next.map(|n| format!("{listing}#{n}")) })
    }
}

/// What a continue token is bound to: one listing.
fn page_key(api_version: &str, kind: &str, namespace: Option<&str>) -> String {
    format!("{api_version}/{kind}/{}", namespace.unwrap_or("*"))
}

impl Broker {
    /// Objects `offset..offset+limit` of a listing (`limit` 0: all), and
    /// the offset of the next page when there is one.
    fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<cluster::Object>, Option<usize>), types::AccessError> {
        if api_version.is_empty() || kind.is_empty() {
            return Err(types::AccessError::Invalid("api-version and kind must not be empty".into()));
        }
        if !self.grant.allows(Access::List { api_version, kind }) {
            return Err(self.deny(format!("cluster.list:{api_version}/{kind}")));
        }
        let Some(data) = self.cluster.clone() else {
            return Err(types::AccessError::Unavailable("this scan has no cluster source (give --manifests)".into()));
        };
        let reveal = self.grant.allows(Access::SecretValues);
        let mut objects = data.list(api_version, kind, namespace).map_err(types::AccessError::Unavailable)?.skip(offset);
        if !data.unread.is_empty() {
            self.listed.add(kind, namespace, &data.unread);
        }
        let take = if limit == 0 { usize::MAX } else { limit };
        let page: Vec<cluster::Object> = objects
            .by_ref()
            .take(take)
            .map(|o| cluster::Object {
                ref_: types::ObjectRef {
                    api_version: o.api_version.clone(),
                    kind: o.kind.clone(),
                    namespace: o.namespace.clone(),
                    name: o.name.clone(),
                },
                source: o.source.clone(),
                json: match (&o.redacted, reveal) {
                    (Some(r), false) => r.to_string(),
                    _ => o.json.to_string(),
                },
            })
            .collect();
        let next = (objects.next().is_some()).then_some(offset + page.len());
        Ok((page, next))
    }
}

impl node::Host for Broker {
    /// Never empty on a node (plugins read empty as "no node in view").
    fn name(&mut self) -> String {
        self.node.as_ref().map(|n| if n.name().is_empty() { "node".to_string() } else { n.name().to_string() }).unwrap_or_default()
    }

    fn read_file(&mut self, path: String) -> Result<Vec<u8>, types::AccessError> {
        self.path_call("node.read", path, true, |node, _, p| node.read(p).map(|b| b.to_vec()).map_err(access_error))
    }

    fn stat(&mut self, path: String, follow: bool) -> Result<node::FileStat, types::AccessError> {
        self.path_call("node.stat", path, follow, move |node, _, p| node.stat(p, follow).map(to_wit_stat).map_err(access_error))
    }

    fn list_dir(&mut self, path: String) -> Result<Vec<node::FileStat>, types::AccessError> {
        self.path_call("node.stat", path, true, |node, grant, p| {
            let entries = node.list_dir(p).map_err(access_error)?;
            // Entries outside the grant are left out, not denied: the
            // plugin asked about the directory, which it may see.
            Ok(entries.into_iter().filter(|e| grant.allows(Access::Stat(&e.path))).map(to_wit_stat).collect())
        })
    }

    fn process_args(&mut self, name: String) -> Result<Vec<Vec<String>>, types::AccessError> {
        if !self.grant.allows(Access::Process(&name)) {
            return Err(self.deny(format!("node.process:{name}")));
        }
        let what = format!("node.process:{name}");
        self.node_call(&what, move |node, _| node.process_args(&name).map_err(access_error))?
    }

    fn process_env(&mut self, name: String, prefix: String) -> Result<Vec<Vec<(String, String)>>, types::AccessError> {
        if !self.grant.allows(Access::Process(&name)) {
            return Err(self.deny(format!("node.process:{name}")));
        }
        if prefix.is_empty() {
            return Err(types::AccessError::Invalid(
                "process-env: empty prefix; ask for the variables the plugin reads (`ETCD_`), not the whole environment".into(),
            ));
        }
        let what = format!("node.process:{name}");
        self.node_call(&what, move |node, _| node.process_env(&name, &prefix).map_err(access_error))?
    }
}

pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("… (truncated)");
    }
    s
}

impl report::Host for Broker {
    fn emit_batch(&mut self, findings: Vec<types::Finding>) -> Result<(), String> {
        self.emit_all(findings)
    }

    fn emit(&mut self, finding: types::Finding) -> Result<(), String> {
        if let Some(why) = &self.failure {
            return Err(format!("this run already failed ({why}); findings are no longer taken"));
        }
        if self.findings.len() >= self.limits.max_findings {
            let msg = format!("plugin emitted more than {} findings (raise the limit with --max-findings)", self.limits.max_findings);
            self.failure = Some(msg.clone());
            return Err(msg);
        }
        let max = self.limits.max_message_bytes;
        let declared = self.checks.get(&finding.check).cloned();
        let status = Status::from(finding.status);
        let (status, message) = match declared {
            Some(_) => (status, truncate(finding.message, max)),
            None => (Status::Error, format!("plugin reported a check it does not declare: {}", truncate(finding.check.clone(), 200))),
        };
        let mut evidence = Evidence::default();
        for (k, v) in finding.evidence.into_iter().take(self.limits.max_evidence) {
            evidence.push(truncate(k, 200), truncate(v, max));
        }
        let name = |s: String| truncate(s, MAX_NAME_BYTES);
        let object = finding.object.map(|o| ObjectRef {
            api_version: name(o.api_version),
            kind: name(o.kind),
            namespace: o.namespace.map(name),
            name: name(o.name),
        });
        let check = truncate(finding.check, 200);
        let path = finding.path.map(|p| truncate(p, max));
        let size = FINDING_OVERHEAD
            + self.plugin.len()
            + 1
            + check.len()
            + message.len()
            + path.as_ref().map_or(0, String::len)
            + object
                .as_ref()
                .map_or(0, |o| o.api_version.len() + o.kind.len() + o.namespace.as_ref().map_or(0, String::len) + o.name.len())
            + evidence.iter().map(|(k, v)| EVIDENCE_OVERHEAD + k.len() + v.len()).sum::<usize>();
        if !self.charge(size) {
            return Err(self.failure.clone().unwrap_or_default());
        }
        let (check, severity) = match declared {
            Some(declared) => declared,
            // An undeclared check is an error under its own name.
            None => (Arc::from(format!("{}/{check}", self.plugin)), Severity::Medium),
        };
        let message = self.share_message(message);
        let evidence = self.share_evidence(evidence);
        let (object, source, line) = match (object, &self.last_object) {
            (Some(o), Some((last, src, line))) if **last == o => (Some(last.clone()), src.clone(), *line),
            (Some(o), _) => {
                let cluster = self.cluster.as_ref();
                let src: Option<Arc<str>> =
                    cluster.and_then(|c| c.origin(&o.api_version, &o.kind, o.namespace.as_deref(), &o.name).map(Arc::from));
                let line = cluster.zip(src.as_deref()).and_then(|(c, s)| c.line_of(s));
                let o = Arc::new(o);
                self.last_object = Some((o.clone(), src.clone(), line));
                (Some(o), src, line)
            }
            (None, _) => (None, None, None),
        };
        self.findings.push(Finding {
            waiver: None,
            check,
            status,
            severity,
            message,
            object,
            path: path.map(Arc::from),
            node: self.node_name.clone(),
            source,
            line,
            evidence,
            profiles: Arc::default(),
        });
        Ok(())
    }
}

impl Broker {
    /// The message as findings hold it: short ones are shared.
    fn share_message(&mut self, message: String) -> Arc<str> {
        if message.len() > SHARED_MESSAGE_BYTES {
            return message.into();
        }
        if let Some(shared) = self.messages.get(message.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = message.into();
        if self.messages.len() < SHARED_MESSAGES {
            self.messages.insert(shared.clone());
        }
        shared
    }

    /// The evidence as findings hold it: short ones are shared, as
    /// messages are.
    fn share_evidence(&mut self, evidence: Evidence) -> Evidence {
        if evidence.is_empty() || evidence.bytes() > SHARED_EVIDENCE_BYTES {
            return evidence;
        }
        if let Some(shared) = self.evidence.get(&evidence) {
            return shared.clone();
        }
        if self.evidence.len() < SHARED_MESSAGES {
            self.evidence.insert(evidence.clone());
        }
        evidence
    }

    /// Takes several findings, each as `emit` would; stops at the first
    /// refusal.
    pub fn emit_all(&mut self, findings: Vec<types::Finding>) -> Result<(), String> {
        for f in findings {
            report::Host::emit(self, f)?;
        }
        Ok(())
    }
}

impl log::Host for Broker {
    fn log(&mut self, level: log::Level, message: String) {
        if self.logs.len() >= self.limits.max_log_lines {
            return;
        }
        let line = truncate(message, MAX_LOG_BYTES);
        if !self.charge(EVIDENCE_OVERHEAD + line.len()) {
            return;
        }
        match level {
            log::Level::Debug => tracing::debug!(plugin = %self.plugin, "{line}"),
            log::Level::Info => tracing::info!(plugin = %self.plugin, "{line}"),
            log::Level::Warn => tracing::warn!(plugin = %self.plugin, "{line}"),
            log::Level::Error => tracing::error!(plugin = %self.plugin, "{line}"),
        }
        self.logs.push(line);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A thread that does node I/O for one run. A call that overruns its
/// timeout abandons the thread (it ends once its call returns) and the next
/// call starts a fresh one.
#[derive(Default)]
pub struct IoWorker {
    tx: Option<mpsc::Sender<Job>>,
}

impl IoWorker {
    /// Runs `f` on the worker; `None` when it did not finish in `timeout`.
    pub fn call<T: Send + 'static>(&mut self, timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let tx = self.tx.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("rampart-io".into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .expect("spawn I/O thread");
            tx
        });
        let (rtx, rrx) = mpsc::sync_channel(1);
        if tx.send(Box::new(move || drop(rtx.send(f())))).is_err() {
            self.tx = None;
            return None;
        }
        match rrx.recv_timeout(timeout) {
            Ok(v) => Some(v),
            Err(_) => {
                self.tx = None;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_worker_gives_up_on_a_blocked_call_and_recovers() {
        let mut io = IoWorker::default();
        assert_eq!(io.call(Duration::from_secs(5), || 1 + 1), Some(2));
        let blocked = io.call(Duration::from_millis(50), || std::thread::sleep(Duration::from_secs(3)));
        assert_eq!(blocked, None);
        assert_eq!(io.call(Duration::from_secs(5), || "fresh worker"), Some("fresh worker"));
    }

    /// Findings that repeat a short message or evidence share one copy;
    /// long evidence is each finding's own, and every finding says what
    /// its plugin said.
    #[test]
    fn repeated_messages_and_evidence_are_shared_not_copied() {
        let inputs = RunInputs {
            grant: Arc::new(Grant::default()),
            cluster: None,
            node: None,
            severities: Arc::new(BTreeMap::from([("c".to_string(), Severity::High)])),
        };
        let mut broker =
            Broker::new("p", inputs, Instant::now() + Duration::from_secs(60), Duration::from_secs(5), OutputLimits::default());
        let long = "x".repeat(SHARED_EVIDENCE_BYTES + 1);
        let emit = |broker: &mut Broker, value: &str| {
            let finding = types::Finding {
                check: "c".into(),
                status: types::Status::Fail,
                message: "host network".into(),
                object: None,
                path: None,
                evidence: vec![("spec.hostNetwork".into(), value.into())],
            };
            report::Host::emit(broker, finding).unwrap();
        };
        for value in ["true", "true", &long, &long, "yes"] {
            emit(&mut broker, value);
        }
        let f: Vec<&Finding> = broker.findings.iter().collect();
        let pairs = |i: usize| f[i].evidence.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        assert_eq!(pairs(0), ["spec.hostNetwork=true"]);
        assert_eq!(pairs(4), ["spec.hostNetwork=yes"]);
        assert_eq!(pairs(2), pairs(3));
        let same = |a: &Evidence, b: &Evidence| std::ptr::eq(a.iter().next().unwrap().1, b.iter().next().unwrap().1);
        assert!(same(&f[0].evidence, &f[1].evidence), "short evidence is shared");
        assert!(!same(&f[2].evidence, &f[3].evidence), "long evidence is not kept for sharing");
        assert!(!same(&f[0].evidence, &f[4].evidence));
        assert!(Arc::ptr_eq(&f[0].message, &f[4].message), "short messages are shared");
    }

    #[test]
    fn findings_in_blocks_keep_their_order_and_count() {
        let finding = |i: usize| Finding {
            check: "p/c".into(),
            status: Status::Pass,
            severity: Severity::Low,
            message: i.to_string().into(),
            object: None,
            path: None,
            node: None,
            source: None,
            line: None,
            evidence: Evidence::default(),
            profiles: Arc::default(),
            waiver: None,
        };
        let n = 2 * FINDINGS_PER_BLOCK + 3;
        let mut findings: Findings = (0..n).map(finding).collect();
        assert_eq!(findings.len(), n);
        assert_eq!(findings.blocks.len(), 3);
        findings.push(finding(n));
        let messages: Vec<String> = findings.into_iter().map(|f| f.message.to_string()).collect();
        assert_eq!(messages, (0..=n).map(|i| i.to_string()).collect::<Vec<_>>());
        assert!(Findings::default().is_empty());
    }

    /// `process-env` answers under the process's grant, and only for a
    /// prefix the plugin names.
    #[test]
    fn process_environments_need_the_process_grant_and_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        for (pid, argv, comm) in [(1, "/sbin/init", "systemd"), (900, "/usr/local/bin/etcd", "etcd")] {
            std::fs::create_dir_all(dir.path().join(format!("proc/{pid}"))).unwrap();
            std::fs::write(dir.path().join(format!("proc/{pid}/cmdline")), format!("{argv}\0")).unwrap();
            std::fs::write(dir.path().join(format!("proc/{pid}/comm")), comm).unwrap();
            std::fs::write(dir.path().join(format!("proc/{pid}/environ")), "SECRET=x\0ETCD_AUTO_TLS=true\0").unwrap();
        }
        let node = crate::sources::node::NodeRoot::open(dir.path(), Some("n".into())).unwrap();
        let etcd = crate::grants::CapabilitySet::new([crate::grants::Capability::NodeProcess("etcd".into())]);
        let inputs = RunInputs {
            grant: Arc::new(Grant { requested: etcd.clone(), granted: etcd }),
            cluster: None,
            node: Some(Arc::new(node)),
            severities: Arc::new(BTreeMap::new()),
        };
        let mut broker =
            Broker::new("p", inputs, Instant::now() + Duration::from_secs(60), Duration::from_secs(5), OutputLimits::default());
        let got = node::Host::process_env(&mut broker, "etcd".into(), "ETCD_".into()).unwrap();
        assert_eq!(got, [[("ETCD_AUTO_TLS".to_string(), "true".to_string())]]);
        let empty = node::Host::process_env(&mut broker, "etcd".into(), String::new());
        assert!(matches!(empty, Err(types::AccessError::Invalid(m)) if m.contains("empty prefix")));
        let other = node::Host::process_env(&mut broker, "systemd".into(), "SECRET".into());
        assert!(matches!(other, Err(types::AccessError::Denied(m)) if m.contains("node.process:systemd")));
    }

    #[test]
    fn long_messages_are_truncated_on_a_char_boundary() {
        let s = truncate("é".repeat(10), 5);
        assert!(s.starts_with("éé") && s.ends_with("(truncated)"), "{s}");
    }
}
