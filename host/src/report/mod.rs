//! The scan report: plain data, serialized as the versioned JSON schema in
//! docs/report.md, printed as text, or written as a STIG checklist or XCCDF
//! results.

pub mod checklist;
pub mod html;
pub mod json;
pub mod junit;
pub mod oscal;
pub mod passes;
pub mod policyreport;
pub mod sarif;
mod text;
pub mod xccdf;

use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use text::{render as render_text, terminal_safe};

/// Bumped on any change a consumer of the JSON could notice. 2.0: passing
/// findings are grouped under `passes` unless `--passes full`, and controls
/// point at their findings (`finding_indices`) instead of copying them.
/// 2.1: the `waived` status, `waiver` on findings and controls,
/// `score_without_waivers` and the report's `waivers`.
pub const SCHEMA_VERSION: &str = "2.1";

/// A verdict. Serialized as `pass`, `fail`, `warn`, `not-applicable`,
/// `error`, `waived`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    NotApplicable,
    Error,
    /// A `fail`, `error` or `warn` an operator accepted with a waiver
    /// (the finding or control says which, and what it was).
    Waived,
}

impl Status {
    pub const ALL: [Status; 6] = [Status::Pass, Status::Fail, Status::Warn, Status::NotApplicable, Status::Error, Status::Waived];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::NotApplicable => "not-applicable",
            Status::Error => "error",
            Status::Waived => "waived",
        }
    }
}

impl Status {
    /// Worst first, for listing what a reader acts on first (and what must
    /// survive a size limit): fail, error, warn, waived, pass,
    /// not-applicable.
    pub fn urgency(self) -> u8 {
        match self {
            Status::Fail => 0,
            Status::Error => 1,
            Status::Warn => 2,
            Status::Waived => 3,
            Status::Pass => 4,
            Status::NotApplicable => 5,
        }
    }
}

impl From<crate::bindings::types::Status> for Status {
    fn from(s: crate::bindings::types::Status) -> Status {
        use crate::bindings::types::Status as W;
        match s {
            W::Pass => Status::Pass,
            W::Fail => Status::Fail,
            W::Warn => Status::Warn,
            W::NotApplicable => Status::NotApplicable,
            W::Error => Status::Error,
        }
    }
}

/// How much a failure matters, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl From<crate::bindings::types::Severity> for Severity {
    fn from(s: crate::bindings::types::Severity) -> Severity {
        use crate::bindings::types::Severity as W;
        match s {
            W::Info => Severity::Info,
            W::Low => Severity::Low,
            W::Medium => Severity::Medium,
            W::High => Severity::High,
            W::Critical => Severity::Critical,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Key/value facts behind a verdict, in the order the plugin gave them;
/// serialized as a JSON object. A repeated key keeps every value, joined.
/// Shared, not copied, by the controls a finding decides (absent when
/// there is none).
#[derive(Debug, Clone, Default)]
pub struct Evidence(Option<Arc<Vec<(String, String)>>>);

impl Evidence {
    pub fn push(&mut self, key: String, value: String) {
        let pairs = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => {
                v.push_str("; ");
                v.push_str(&value);
            }
            None => pairs.push((key, value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|pairs| pairs.iter()).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|pairs| pairs.is_empty())
    }

    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |pairs| pairs.len())
    }

    /// The bytes of its keys and values.
    pub fn bytes(&self) -> usize {
        self.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

impl PartialEq for Evidence {
    fn eq(&self, other: &Evidence) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Evidence {}

impl std::hash::Hash for Evidence {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for pair in self.iter() {
            pair.hash(h);
        }
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Evidence;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Evidence, A::Error> {
                let mut e = Evidence::default();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    e.push(k, v);
                }
                Ok(e)
            }
        }
        d.deserialize_map(Pairs)
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One check's verdict on one subject.
///
/// A large cluster's scan holds millions of these, and each one is also in
/// the control it decides: the parts many findings have in common (the
/// check, the object, where it was read from, the node, the profiles) are
/// shared rather than copied, so a finding is small and cloning one
/// allocates nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// `plugin/check`.
    pub check: Arc<str>,
    pub status: Status,
    pub severity: Severity,
    pub message: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<Arc<ObjectRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Arc<str>>,
    /// The node a node finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<Arc<str>>,
    /// Where the object was read from (`file.yaml#2`, counting documents
    /// from 1, `#2.items[5]` for list items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Arc<str>>,
    /// The line the object's document starts on in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub evidence: Evidence,
    /// In a scan of several profiles whose settings for this plugin differ:
    /// the profiles this finding was judged for. Empty: all of them.
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub profiles: Arc<[String]>,
    /// The waiver that accepted this finding (status `waived`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Box<crate::waivers::WaiverNote>>,
}

impl Finding {
    /// What the finding is about, for people and for matching findings
    /// across reports: `node:path`, the object (`Pod dev/web`), or both;
    /// empty for the target as a whole.
    pub fn subject(&self) -> String {
        let mut out = String::new();
        if let Some(node) = &self.node {
            out += node;
        }
        if let Some(path) = &self.path {
            out += if out.is_empty() { "" } else { ":" };
            out += path;
        }
        if let Some(object) = &self.object {
            out += if out.is_empty() { "" } else { " " };
            out += &object.to_string();
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckMeta {
    pub id: String,
    pub title: String,
    pub description: String,
    pub remediation: String,
    pub severity: Severity,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeniedCall {
    /// The capability the call would have needed.
    pub capability: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Capabilities {
    pub requested: Vec<String>,
    pub granted: Vec<String>,
    pub denied_calls: u64,
    pub denied: Vec<DeniedCall>,
}

/// How one run of a plugin against one target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Error,
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// `cluster` or `node/<name>`.
    pub target: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub duration_ms: f64,
    /// The last 8 KiB the plugin wrote to its stdout and stderr (a panic
    /// message, a Python traceback), when it wrote anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginReport {
    pub name: String,
    pub version: String,
    /// `sha256:<hex>` of the component file.
    pub digest: String,
    pub source: String,
    pub checks: Vec<CheckMeta>,
    pub capabilities: Capabilities,
    pub runs: Vec<Run>,
    /// The settings the plugin ran with (registry's, then the profile's):
    /// they set its thresholds, so `rampart merge` refuses to pool findings
    /// judged under different ones. Absent in reports of rampart before 0.1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<std::collections::BTreeMap<String, String>>,
    /// In a scan of several profiles that give this plugin different
    /// settings, it runs once per distinct set: the profiles this entry's
    /// runs served. Empty: all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Why the plugin could not be loaded at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeTarget {
    pub name: String,
    pub root: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Targets {
    /// Files or API servers the cluster objects were read from; empty when none.
    pub cluster_sources: Vec<String>,
    pub cluster_objects: usize,
    /// The Kubernetes version a live API server reported (`v1.36.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    pub nodes: Vec<NodeTarget>,
}

/// Findings counted by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    #[serde(rename = "not-applicable")]
    pub not_applicable: usize,
    pub error: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waived: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            *s.slot(f.status) += 1;
        }
        s
    }

    pub(crate) fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::NotApplicable => &mut self.not_applicable,
            Status::Error => &mut self.error,
            Status::Waived => &mut self.waived,
        }
    }

    pub fn get(&self, status: Status) -> usize {
        match status {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Warn => self.warn,
            Status::NotApplicable => self.not_applicable,
            Status::Error => self.error,
            Status::Waived => self.waived,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// The whole report of one scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: String,
    pub tool: Tool,
    pub targets: Targets,
    pub plugins: Vec<PluginReport>,
    /// Every finding, or, in a compact report, every finding but the
    /// passing ones, which are in `passes`.
    pub findings: Vec<Finding>,
    /// The passing subjects of a compact report, grouped by check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passes: Vec<passes::PassGroup>,
    /// Counts every finding, passes included.
    pub summary: Summary,
    /// Benchmark verdicts, when the scan assessed a profile. Not read back:
    /// `rampart merge` recomputes them from the merged findings.
    #[serde(skip_deserializing, default)]
    pub profiles: Vec<crate::profile::ProfileResult>,
    /// Input problems (a bad manifest, a missing node root, a plugin that
    /// would not load): the scan went on without them.
    pub errors: Vec<String>,
    /// What became of each waiver given (`--waivers`, registry.toml).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<crate::waivers::WaiverOutcome>,
}

impl Report {
    /// Whether the scan failed at this severity: with a profile, any
    /// control that is `fail` or `error` (manual controls are `warn` and do
    /// not count); without one, any `fail` or `error` finding.
    pub fn fails_at(&self, threshold: Severity) -> bool {
        let bad = |status: Status, severity: Severity| matches!(status, Status::Fail | Status::Error) && severity >= threshold;
        if self.profiles.is_empty() {
            self.findings.iter().any(|f| bad(f.status, f.severity))
        } else {
            self.profiles.iter().flat_map(|p| &p.controls).any(|c| bad(c.status, c.severity))
        }
    }
}

/// Findings and reports for the format modules' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A high-severity finding of `check` about Pod `dev/NAME`.
    pub fn finding(check: &str, status: Status, name: &str) -> Finding {
        Finding {
            check: check.into(),
            status,
            severity: Severity::High,
            message: format!("{name} is <b>bad</b>").into(),
            object: Some(std::sync::Arc::new(ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some("dev".into()),
                name: name.into(),
            })),
            path: None,
            node: None,
            source: None,
            line: None,
            evidence: Default::default(),
            profiles: Default::default(),
            waiver: None,
        }
    }

    /// A report of these findings and nothing else.
    pub fn report(findings: Vec<Finding>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool { name: "rampart".into(), version: "0".into() },
            targets: Default::default(),
            plugins: Vec::new(),
            summary: Summary::of(&findings),
            findings,
            passes: Vec::new(),
            profiles: Vec::new(),
            errors: Vec::new(),
            waivers: Vec::new(),
        }
    }
}
