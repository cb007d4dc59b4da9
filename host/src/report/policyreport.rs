//! Policy reports: the objects Kubewarden, Kyverno and Trivy's operator
//! keep in the cluster so that dashboards (Policy Reporter, Headlamp) and
//! `kubectl get polr -A` show what each policy found. One result per
//! finding:
//!
//! - findings about a namespaced object go to a `PolicyReport` in that
//!   namespace, named `rampart` (`rampart-2`, ... past [`MAX_RESULTS`]
//!   results: an object must stay well under etcd's 1.5 MiB);
//! - findings about a cluster-scoped object, or about the cluster as a
//!   whole, to the `ClusterPolicyReport` `rampart-cluster`;
//! - a node's findings to the `ClusterPolicyReport` `rampart-node-<node>`,
//!   scoped to that Node, so scans of different nodes do not overwrite
//!   each other's.
//!
//! Two API groups are written, as the reader prefers: the wg-policy
//! `wgpolicyk8s.io/v1alpha2` (`PolicyReport`, `ClusterPolicyReport`; what
//! Kubewarden and Kyverno publish) and OpenReports `openreports.io/v1alpha1`
//! (`Report`, `ClusterReport`; the same fields plus a report-level
//! `source`).
//!
//! | Rampart | result | |
//! |---|---|---|
//! | pass, fail, warn, error | the same word | |
//! | not-applicable | skip | |
//! | waived | skip | properties `waived`, `waived-status`, `waiver-owner`, `waiver-justification`, `waiver-expires` |
//!
//! `policy` is the plugin, `rule` the check, `category` the profile
//! controls the check serves (`CIS 1.2.15`), `properties` the evidence and
//! where the finding is (`node`, `path`, `source`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::{Finding, Report, Status};

/// Results per report object at most.
pub const MAX_RESULTS: usize = 1000;
/// The label every object Rampart publishes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "rampart");
/// Which part of a scan an object holds: `cluster` or `node`.
pub const TARGET_LABEL: &str = "rampart.dev/target";
/// Evidence values are cut to this many characters in properties.
const VALUE_CHARS: usize = 1024;

/// The API group and version the reports are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportApi {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport.
    #[value(name = "wgpolicyk8s.io/v1alpha2")]
    WgPolicy,
    /// `openreports.io/v1alpha1` Report and ClusterReport.
    #[value(name = "openreports.io/v1alpha1")]
    OpenReports,
}

impl ReportApi {
    pub fn group(self) -> &'static str {
        match self {
            ReportApi::WgPolicy => "wgpolicyk8s.io",
            ReportApi::OpenReports => "openreports.io",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            ReportApi::WgPolicy => "v1alpha2",
            ReportApi::OpenReports => "v1alpha1",
        }
    }

    pub fn api_version(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    /// (kind, plural) of the namespaced report.
    pub fn namespaced(self) -> (&'static str, &'static str) {
        match self {
            ReportApi::WgPolicy => ("PolicyReport", "policyreports"),
            ReportApi::OpenReports => ("Report", "reports"),
        }
    }

    /// (kind, plural) of the cluster-scoped report.
    pub fn cluster(self) -> (&'static str, &'static str) {
        match self {
            ReportApi::WgPolicy => ("ClusterPolicyReport", "clusterpolicyreports"),
            ReportApi::OpenReports => ("ClusterReport", "clusterreports"),
        }
    }
}

/// Where a finding's result goes: (namespace, name stem, target label, scope).
fn home(f: &Finding) -> (Option<String>, String, &'static str, Option<Value>) {
    if let Some(node) = &f.node {
        let scope = json!({"apiVersion": "v1", "kind": "Node", "name": node});
        return (None, dns_name(&format!("rampart-node-{node}")), "node", Some(scope));
    }
    match f.object.as_ref().and_then(|o| o.namespace.clone()) {
        Some(ns) => (Some(ns), "rampart".into(), "cluster", None),
        None => (None, "rampart-cluster".into(), "cluster", None),
    }
}

/// A valid object name (a DNS subdomain) from a node's name as a scan
/// knew it (a root directory's name may hold `_` or capitals).
fn dns_name(name: &str) -> String {
    let mut out: String =
        name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect();
    // Room for the `-N` of a split report.
    out.truncate(240);
    out.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

fn result_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Warn => "warn",
        Status::Error => "error",
        Status::NotApplicable | Status::Waived => "skip",
    }
}

fn cut(value: &str) -> String {
    if value.chars().count() <= VALUE_CHARS {
        return value.to_string();
    }
    let mut out: String = value.chars().take(VALUE_CHARS).collect();
    out.push_str("...");
    out
}

/// The controls each check serves, `CIS 1.2.15`-style, per profile.
fn controls_by_check(report: &Report) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &report.profiles {
        let family = p.id.split('-').next().unwrap_or(&p.id).to_uppercase();
        for c in &p.controls {
            for check in &c.checks {
                let label = format!("{family} {}", c.id);
                let list = out.entry(check.clone()).or_default();
                if !list.contains(&label) {
                    list.push(label);
                }
            }
        }
    }
    out
}

fn result(f: &Finding, controls: &BTreeMap<String, Vec<String>>, seconds: i64) -> Value {
    let (plugin, check) = f.check.split_once('/').unwrap_or((&f.check, &f.check));
    let mut properties = serde_json::Map::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            properties.insert(k.to_string(), Value::String(cut(v)));
        }
    };
    put("check", &f.check);
    put("rampart-status", f.status.as_str());
    if let Some(node) = &f.node {
        put("node", node);
    }
    if let Some(path) = &f.path {
        put("path", path);
    }
    if let Some(source) = &f.source {
        put("source", source);
    }
    if let Some(w) = &f.waiver {
        put("waived", "true");
        put("waived-status", w.status.as_str());
        put("waiver-owner", &w.owner);
        put("waiver-justification", &w.justification);
        put("waiver-expires", &w.expires);
        put("waiver", &w.waiver);
    }
    for (k, v) in f.evidence.iter() {
        // Evidence keys are free text from the plugin: kept as they are,
        // under a prefix so they cannot overwrite the fields above.
        put(&format!("evidence.{k}"), v);
    }
    let mut r = json!({
        "source": "rampart",
        "policy": plugin,
        "rule": check,
        "result": result_word(f.status),
        "severity": f.severity.as_str(),
        "scored": !matches!(f.status, Status::Warn | Status::NotApplicable),
        "timestamp": {"seconds": seconds, "nanos": 0},
        "message": f.message,
        "properties": properties,
    });
    if let Some(list) = controls.get(&*f.check) {
        r["category"] = json!(list.join(", "));
    }
    if let Some(o) = &f.object {
        let mut subject = json!({"apiVersion": o.api_version, "kind": o.kind, "name": o.name});
        if let Some(ns) = &o.namespace {
            subject["namespace"] = json!(ns);
        }
        r["resources"] = json!([subject]);
    }
    r
}

/// The report objects, in a stable order: cluster-scoped first, then by
/// namespace and name.
pub fn objects(report: &Report, api: ReportApi, at: SystemTime) -> Vec<Value> {
    let seconds = at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let controls = controls_by_check(report);
    // (namespace, stem) -> (target label, scope, results)
    type Group = (&'static str, Option<Value>, Vec<Value>);
    let mut groups: BTreeMap<(Option<String>, String), Group> = BTreeMap::new();
    for f in &report.findings {
        let (ns, stem, target, scope) = home(f);
        let entry = groups.entry((ns, stem)).or_insert_with(|| (target, scope, Vec::new()));
        entry.2.push(result(f, &controls, seconds));
    }
    let mut out = Vec::new();
    for ((ns, stem), (target, scope, results)) in groups {
        let (kind, _) = if ns.is_some() { api.namespaced() } else { api.cluster() };
        for (i, chunk) in results.chunks(MAX_RESULTS).enumerate() {
            let name = if i == 0 { stem.clone() } else { format!("{stem}-{}", i + 1) };
            let mut summary = json!({"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0});
            for r in chunk {
                let word = r["result"].as_str().unwrap_or("error");
                summary[word] = json!(summary[word].as_u64().unwrap_or(0) + 1);
            }
            let mut metadata = json!({
                "name": name,
                "labels": {MANAGED_BY.0: MANAGED_BY.1, TARGET_LABEL: target},
            });
            if let Some(ns) = &ns {
                metadata["namespace"] = json!(ns);
            }
            let mut object = json!({
                "apiVersion": api.api_version(),
                "kind": kind,
                "metadata": metadata,
                "summary": summary,
                "results": chunk,
            });
            if let Some(scope) = &scope {
                object["scope"] = scope.clone();
            }
            if api == ReportApi::OpenReports {
                object["source"] = json!("rampart");
            }
            out.push(object);
        }
    }
    out
}

/// The objects as a YAML stream, `kubectl apply -f`-able.
pub fn yaml(objects: &[Value]) -> Result<String, crate::Error> {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(o).map_err(|e| crate::Error::Render(format!("writing a policy report as YAML: {e}")))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::report;
    use crate::report::{ObjectRef, Severity};

    fn finding(status: Status, ns: Option<&str>, node: Option<&str>) -> Finding {
        Finding {
            check: "pod-security/privileged".into(),
            status,
            severity: Severity::High,
            message: "m".into(),
            object: node.is_none().then(|| {
                ObjectRef {
                    api_version: "v1".into(),
                    kind: if ns.is_some() { "Pod" } else { "ClusterRole" }.into(),
                    namespace: ns.map(String::from),
                    name: "x".into(),
                }
                .into()
            }),
            path: node.map(|_| "/etc/kubernetes/kubelet.conf".into()),
            node: node.map(Into::into),
            source: None,
            line: None,
            evidence: Default::default(),
            profiles: Default::default(),
            waiver: None,
        }
    }

    #[test]
    fn findings_go_to_their_namespace_the_cluster_or_their_node() {
        let r = report(vec![
            finding(Status::Fail, Some("dev"), None),
            finding(Status::Pass, Some("dev"), None),
            finding(Status::NotApplicable, Some("shop"), None),
            finding(Status::Error, None, None),
            finding(Status::Fail, None, Some("cp-1")),
        ]);
        let objects = objects(&r, ReportApi::WgPolicy, SystemTime::UNIX_EPOCH);
        let names: Vec<(String, String, String)> = objects
            .iter()
            .map(|o| {
                (
                    o["kind"].as_str().unwrap().into(),
                    o["metadata"]["namespace"].as_str().unwrap_or("").into(),
                    o["metadata"]["name"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("ClusterPolicyReport".into(), "".into(), "rampart-cluster".into()),
                ("ClusterPolicyReport".into(), "".into(), "rampart-node-cp-1".into()),
                ("PolicyReport".into(), "dev".into(), "rampart".into()),
                ("PolicyReport".into(), "shop".into(), "rampart".into()),
            ]
        );
        assert_eq!(objects[2]["summary"], json!({"pass": 1, "fail": 1, "warn": 0, "error": 0, "skip": 0}));
        assert_eq!(objects[3]["results"][0]["result"], "skip");
        assert_eq!(objects[0]["results"][0]["result"], "error");
        assert_eq!(objects[1]["scope"]["kind"], "Node");
        assert_eq!(objects[1]["results"][0]["properties"]["path"], "/etc/kubernetes/kubelet.conf");
        let open = super::objects(&r, ReportApi::OpenReports, SystemTime::UNIX_EPOCH);
        assert_eq!(open[2]["kind"], "Report");
        assert_eq!(open[0]["kind"], "ClusterReport");
        assert_eq!(open[0]["source"], "rampart");
    }

    #[test]
    fn a_large_namespace_is_split_into_numbered_reports() {
        let r = report((0..MAX_RESULTS * 2 + 1).map(|_| finding(Status::Pass, Some("big"), None)).collect());
        let objects = objects(&r, ReportApi::WgPolicy, SystemTime::UNIX_EPOCH);
        let names: Vec<&str> = objects.iter().map(|o| o["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["rampart", "rampart-2", "rampart-3"]);
        assert_eq!(objects[2]["results"].as_array().unwrap().len(), 1);
    }
}
