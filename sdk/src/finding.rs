//! Building findings and check descriptions, and the sink findings go into.

use crate::bindings::rampart::plugin::report;
use crate::{CheckInfo, Finding, ObjectRef, Severity, Status};

impl Finding {
    /// A finding of check `check` (the id inside the plugin) with no subject
    /// yet; add one with [`Finding::on_object`] or [`Finding::at_path`].
    ///
    /// ```
    /// use rampart_sdk::{Finding, Status};
    /// let f = Finding::new("etcd-data-dir-mode", Status::Fail, "mode 0755 is wider than 0700")
    ///     .at_path("/var/lib/etcd")
    ///     .with("mode", "0755");
    /// assert_eq!(f.evidence, vec![("mode".to_string(), "0755".to_string())]);
    /// ```
    pub fn new(check: &str, status: Status, message: impl Into<String>) -> Finding {
        Finding { check: check.to_string(), status, message: message.into(), object: None, path: None, evidence: Vec::new() }
    }

    /// Sets the object this finding is about.
    pub fn on_object(mut self, object: ObjectRef) -> Finding {
        self.object = Some(object);
        self
    }

    /// Sets the node path this finding is about.
    pub fn at_path(mut self, path: impl Into<String>) -> Finding {
        self.path = Some(path.into());
        self
    }

    /// Adds one piece of evidence.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Finding {
        self.evidence.push((key.into(), value.into()));
        self
    }
}

/// Where a plugin puts its findings. Inside the sandbox they are handed to
/// the host in batches as they come (the host caps them); in native tests
/// they are collected.
#[derive(Debug)]
pub struct Findings {
    collected: Vec<Finding>,
    emit: bool,
    refused: Option<String>,
}

/// Findings handed to the host per call when emitting.
const BATCH: usize = 256;

impl Findings {
    /// A sink that collects findings (for native tests).
    pub fn collecting() -> Findings {
        Findings { collected: Vec::new(), emit: false, refused: None }
    }

    pub(crate) fn emitting() -> Findings {
        Findings { collected: Vec::new(), emit: true, refused: None }
    }

    /// Adds one finding. Once the host has refused one (a limit was hit),
    /// the rest are dropped and [`Findings::finish`] reports why.
    pub fn push(&mut self, finding: Finding) {
        if self.refused.is_some() {
            return;
        }
        self.collected.push(finding);
        if self.emit && self.collected.len() >= BATCH {
            self.flush();
        }
    }

    /// Hands the findings held back to the host, in one call.
    fn flush(&mut self) {
        if self.collected.is_empty() || self.refused.is_some() {
            return;
        }
        if let Err(why) = report::emit_batch(&self.collected) {
            self.refused = Some(why);
        }
        self.collected.clear();
    }

    /// The findings collected so far (when emitting, those not yet handed
    /// to the host).
    pub fn as_slice(&self) -> &[Finding] {
        &self.collected
    }

    /// Takes the collected findings.
    pub fn into_vec(self) -> Vec<Finding> {
        self.collected
    }

    pub(crate) fn finish(mut self) -> Result<(), String> {
        if self.emit {
            self.flush();
        }
        match self.refused {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

/// Builds a [`CheckInfo`] without spelling out every field.
///
/// ```
/// use rampart_sdk::{CheckInfoBuilder, Severity};
/// let info = CheckInfoBuilder::new("privileged", "Containers do not run privileged")
///     .severity(Severity::High)
///     .remediation("Remove securityContext.privileged")
///     .tag("cis-5.2.2")
///     .build();
/// assert_eq!(info.tags, vec!["cis-5.2.2"]);
/// ```
#[derive(Debug)]
pub struct CheckInfoBuilder(CheckInfo);

impl CheckInfoBuilder {
    pub fn new(id: &str, title: &str) -> CheckInfoBuilder {
        CheckInfoBuilder(CheckInfo {
            id: id.to_string(),
            title: title.to_string(),
            description: String::new(),
            remediation: String::new(),
            severity: Severity::Medium,
            tags: Vec::new(),
        })
    }

    pub fn description(mut self, text: &str) -> Self {
        self.0.description = text.to_string();
        self
    }

    pub fn remediation(mut self, text: &str) -> Self {
        self.0.remediation = text.to_string();
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.0.severity = severity;
        self
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.0.tags.push(tag.to_string());
        self
    }

    pub fn build(self) -> CheckInfo {
        self.0
    }
}
