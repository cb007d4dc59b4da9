//! SARIF 2.1.0, the form code-scanning tools read (GitHub code scanning,
//! Azure DevOps, SonarQube, VS Code's SARIF viewer): one rule per check,
//! with its help, severity and the profile controls it serves as tags, and
//! one result per finding that is not a pass, located at the manifest file
//! and line of the object's document, or at the node file's path.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{CheckMeta, Finding, Report, Severity, Status};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// `error`, `warning` or `note`, as code scanning ranks them.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The CVSS-like score GitHub code scanning sorts security results by.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Text SARIF requires to be there: the first of these that is not empty.
fn text<'a>(candidates: &[&'a str]) -> &'a str {
    candidates.iter().copied().find(|t| !t.trim().is_empty()).unwrap_or("(none)")
}

/// One rule: a check, with what the plugin says of it.
fn rule(id: &str, meta: Option<&CheckMeta>, tags: &[String]) -> Value {
    let (title, description, remediation, severity) = match meta {
        Some(m) => (m.title.as_str(), m.description.as_str(), m.remediation.as_str(), m.severity),
        None => (id, "", "", Severity::Medium),
    };
    let mut all_tags: Vec<String> = vec!["security".into(), "kubernetes".into()];
    all_tags.extend(meta.map(|m| m.tags.clone()).unwrap_or_default());
    all_tags.extend(tags.iter().cloned());
    json!({
        "id": id,
        "name": id.replace('/', "."),
        "shortDescription": {"text": text(&[title, id])},
        "fullDescription": {"text": text(&[description, title, id])},
        "help": {"text": text(&[remediation, description, title, id])},
        "defaultConfiguration": {"level": level(severity)},
        "properties": {"tags": all_tags, "security-severity": security_severity(severity)},
    })
}

/// Where a finding is: the manifest file (and the line its document starts
/// on), the node file, and the object or node as a logical location.
fn locations(f: &Finding) -> Vec<Value> {
    let mut location = serde_json::Map::new();
    let file = f.source.as_deref().map(|s| s.split_once('#').map_or(s, |(file, _)| file)).filter(|file| *file != "-");
    match (file, f.path.as_deref()) {
        (Some(file), _) => {
            let mut physical = json!({"artifactLocation": {"uri": uri(file)}});
            if let Some(line) = f.line.filter(|l| *l > 0) {
                physical["region"] = json!({"startLine": line});
            }
            location.insert("physicalLocation".into(), physical);
        }
        (None, Some(path)) => {
            location.insert("physicalLocation".into(), json!({"artifactLocation": {"uri": uri(path)}}));
        }
        (None, None) => {}
    }
    let mut logical = Vec::new();
    if let Some(o) = &f.object {
        let qualified = match &o.namespace {
            Some(ns) => format!("{}/{}/{ns}/{}", o.api_version, o.kind, o.name),
            None => format!("{}/{}/{}", o.api_version, o.kind, o.name),
        };
        logical.push(json!({"name": o.name, "fullyQualifiedName": qualified, "kind": "resource"}));
    }
    if let Some(node) = &f.node {
        logical.push(json!({"name": node, "fullyQualifiedName": format!("node/{node}"), "kind": "resource"}));
    }
    if !logical.is_empty() {
        location.insert("logicalLocations".into(), Value::Array(logical));
    }
    if location.is_empty() { Vec::new() } else { vec![Value::Object(location)] }
}

/// A path as a URI reference: relative paths stay relative (to the
/// directory the scan ran in), with the characters a URI cannot hold
/// percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A result for a finding that is not a pass (nor not-applicable).
fn result(f: &Finding, rule_index: usize, severity: Severity) -> Value {
    let status = f.waiver.as_ref().map_or(f.status, |w| w.status);
    // A check that could not decide is a failure to the scan (fail-closed);
    // a person's review is `review`, which SARIF gives no level.
    let (kind, level) = match status {
        Status::Fail => ("fail", level(severity)),
        Status::Error => ("fail", "error"),
        _ => ("review", "none"),
    };
    let subject = f.subject();
    let mut fingerprint = Sha256::new();
    fingerprint.update(f.check.as_bytes());
    fingerprint.update([0]);
    fingerprint.update(subject.as_bytes());
    let message = match status {
        Status::Error => format!("could not decide: {}", f.message),
        _ => f.message.to_string(),
    };
    let evidence: BTreeMap<&str, &str> = f.evidence.iter().collect();
    let mut result = json!({
        "ruleId": f.check,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": text(&[&message, &f.check])},
        "locations": locations(f),
        "partialFingerprints": {"rampartSubject/v1": hex::encode(fingerprint.finalize())},
        "properties": {"status": f.status.as_str(), "subject": subject, "evidence": evidence},
    });
    if let Some(node) = &f.node {
        result["properties"]["node"] = json!(node);
    }
    if let Some(w) = &f.waiver {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{} (owner {}, until {}; {})", w.justification, w.owner, w.expires, w.waiver),
        }]);
    }
    result
}

/// The report as a SARIF 2.1.0 log with one run.
pub fn sarif(report: &Report) -> String {
    // Rules: every check the plugins declare, once, then any check a
    // finding names that none declares (the host's own).
    let mut ids: Vec<String> = Vec::new();
    let mut metas: BTreeMap<String, &CheckMeta> = BTreeMap::new();
    for p in &report.plugins {
        for c in &p.checks {
            let id = format!("{}/{}", p.name, c.id);
            if let std::collections::btree_map::Entry::Vacant(slot) = metas.entry(id.clone()) {
                ids.push(id);
                slot.insert(c);
            }
        }
    }
    for f in &report.findings {
        if !ids.iter().any(|i| *i == *f.check) {
            ids.push(f.check.to_string());
        }
    }
    // Each rule's tags: the profile controls it decides or assists.
    let mut tags: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in &report.profiles {
        for c in &p.controls {
            for check in c.checks.iter().chain(&c.assisting) {
                tags.entry(check.as_str()).or_default().push(format!("{}/{}", p.id, c.id));
            }
        }
    }
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let rules: Vec<Value> =
        ids.iter().map(|id| rule(id, metas.get(id).copied(), tags.get(id.as_str()).map_or(&[][..], Vec::as_slice))).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error | Status::Warn | Status::Waived))
        .map(|f| {
            let severity = metas.get(&*f.check).map_or(f.severity, |m| m.severity);
            result(f, index[&*f.check], severity)
        })
        .collect();
    let notifications: Vec<Value> =
        report.errors.iter().map(|e| json!({"level": "error", "message": {"text": text(&[e.as_str()])}})).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rampart",
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    });
    serde_json::to_string_pretty(&log).expect("a SARIF log serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("k8s/deploy.yaml"), "k8s/deploy.yaml");
        assert_eq!(uri("/etc/kubernetes/admin.conf"), "/etc/kubernetes/admin.conf");
        assert_eq!(uri("my dir/a#b.yaml"), "my%20dir/a%23b.yaml");
        assert_eq!(uri("caf\u{e9}.yaml"), "caf%C3%A9.yaml");
    }
}
