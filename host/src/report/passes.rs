//! Compact reports: every passing finding about a cluster object is still
//! recorded, but as the object's name in a group per check (and kind),
//! without message or evidence. A large cluster's passes are most of its
//! findings, one per object per check, and nobody reads them one by one:
//! what a reader needs of such a pass is *which objects* passed. Passes
//! about node files and whole targets stay in full: they grow with nodes,
//! not with the cluster, and their evidence (a file's mode and owner, a
//! setting and where it came from) is what an auditor reads in a
//! checklist. `--passes full` keeps one record per finding.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Evidence, Finding, ObjectRef, Report, Severity, Status};

/// How a JSON report records passing findings (`--passes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Passes {
    /// Passes about cluster objects grouped by check under `passes`,
    /// object names only.
    #[default]
    Compact,
    /// Every passing finding in `findings`, with message and evidence.
    Full,
}

/// The objects of one kind that passed one check (on one node, for the
/// rare object finding made on a node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassGroup {
    /// `plugin/check`.
    pub check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub api_version: String,
    pub kind: String,
    /// `namespace/name`, or `name` when cluster-scoped (Kubernetes names
    /// contain no `/`).
    pub objects: Vec<String>,
    /// The profiles these passes were judged for, as in `findings[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
}

/// Check, node and profiles of a group; its kinds are told apart by a
/// short search (a check judges a handful of kinds).
type GroupKey = (Arc<str>, Option<Arc<str>>, Arc<[String]>);

/// Moves every passing finding of `report` into pass groups, in the order
/// the findings came; controls then point at the findings that stay.
pub fn compact(report: &mut Report) {
    let findings = std::mem::take(&mut report.findings);
    // Where each finding is in `kept` (`None`: among the passes).
    let mut place: Vec<Option<usize>> = Vec::with_capacity(findings.len());
    let mut kept = Vec::with_capacity(findings.iter().filter(|f| f.object.is_none() || f.status != Status::Pass).count());
    let mut groups: Vec<PassGroup> = Vec::new();
    let mut index: HashMap<GroupKey, Vec<usize>> = HashMap::new();
    for f in findings {
        let Some(o) = f.object.as_ref().filter(|_| f.status == Status::Pass) else {
            place.push(Some(kept.len()));
            kept.push(f);
            continue;
        };
        place.push(None);
        let of_key = index.entry((f.check.clone(), f.node.clone(), f.profiles.clone())).or_default();
        let at = match of_key.iter().find(|g| groups[**g].api_version == o.api_version && groups[**g].kind == o.kind) {
            Some(g) => *g,
            None => {
                groups.push(PassGroup {
                    check: f.check.to_string(),
                    node: f.node.as_deref().map(str::to_string),
                    api_version: o.api_version.clone(),
                    kind: o.kind.clone(),
                    objects: Vec::new(),
                    profiles: f.profiles.to_vec(),
                });
                of_key.push(groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[at].objects.push(match &o.namespace {
            Some(ns) => format!("{ns}/{}", o.name),
            None => o.name.clone(),
        });
    }
    // The kept findings of each check, found once for every control.
    let mut by_check: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, f) in kept.iter().enumerate() {
        by_check.entry(&f.check).or_default().push(i);
    }
    for p in &mut report.profiles {
        for c in &mut p.controls {
            // Judged with `ControlFindings::Indices`: counted already,
            // pointing at `findings` as they were.
            if c.summary.is_some() {
                c.finding_indices = c.finding_indices.iter().filter_map(|i| place[*i]).collect();
                continue;
            }
            c.summary = Some(super::Summary::of(&c.findings));
            // A control's findings are its checks' findings made for its
            // profile (a scan of several profiles tags the others').
            let mut indices: Vec<usize> = c
                .checks
                .iter()
                .chain(&c.assisting)
                .filter_map(|check| by_check.get(check.as_str()))
                .flatten()
                .copied()
                .filter(|i| kept[*i].profiles.is_empty() || kept[*i].profiles.contains(&p.id))
                .collect();
            indices.sort_unstable();
            indices.dedup();
            c.finding_indices = indices;
            c.findings = Vec::new();
        }
    }
    report.findings = kept;
    report.passes = groups;
}

/// Puts the passes of a compact report back among its findings (without
/// message or evidence), so a merge judges them like any other. The
/// severity is the check's, from the report's plugin entries.
pub fn expand(report: &mut Report) -> Result<(), String> {
    let severity: HashMap<String, Severity> =
        report.plugins.iter().flat_map(|p| p.checks.iter().map(move |c| (format!("{}/{}", p.name, c.id), c.severity))).collect();
    for g in std::mem::take(&mut report.passes) {
        let sev =
            *severity.get(&g.check).ok_or_else(|| format!("passes name check {}, which no plugin of the report declares", g.check))?;
        let check: Arc<str> = g.check.as_str().into();
        let node: Option<Arc<str>> = g.node.as_deref().map(Arc::from);
        let profiles: Arc<[String]> = g.profiles.clone().into();
        for o in &g.objects {
            let (namespace, name) = match o.split_once('/') {
                Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                None => (None, o.clone()),
            };
            if name.is_empty() || name.contains('/') || namespace.as_deref() == Some("") {
                return Err(format!("passes of {}: {o:?} is not namespace/name or name", g.check));
            }
            report.findings.push(Finding {
                line: None,
                waiver: None,
                check: check.clone(),
                status: Status::Pass,
                severity: sev,
                message: Arc::from(""),
                object: Some(Arc::new(ObjectRef { api_version: g.api_version.clone(), kind: g.kind.clone(), namespace, name })),
                path: None,
                node: node.clone(),
                source: None,
                evidence: Evidence::default(),
                profiles: profiles.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Capabilities, CheckMeta, PluginReport, Summary, Targets, Tool};

    fn finding(check: &str, status: Status, object: Option<(&str, Option<&str>)>, path: Option<&str>, node: Option<&str>) -> Finding {
        Finding {
            line: None,
            waiver: None,
            check: check.into(),
            status,
            severity: Severity::High,
            message: "m".into(),
            object: object.map(|(name, ns)| {
                ObjectRef { api_version: "v1".into(), kind: "Pod".into(), namespace: ns.map(Into::into), name: name.into() }.into()
            }),
            path: path.map(Into::into),
            node: node.map(Into::into),
            source: Some("a.yaml#1".into()),
            evidence: Evidence::default(),
            profiles: Default::default(),
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        let check = |id: &str| CheckMeta {
            id: id.into(),
            title: String::new(),
            description: String::new(),
            remediation: String::new(),
            severity: Severity::High,
            tags: Vec::new(),
        };
        Report {
            waivers: Vec::new(),
            schema_version: crate::report::SCHEMA_VERSION.into(),
            tool: Tool { name: "rampart".into(), version: "0".into() },
            targets: Targets::default(),
            plugins: vec![PluginReport {
                name: "p".into(),
                version: "1".into(),
                digest: String::new(),
                source: String::new(),
                checks: vec![check("a"), check("b")],
                capabilities: Capabilities::default(),
                runs: Vec::new(),
                settings: None,
                profiles: Vec::new(),
                error: None,
            }],
            summary: Summary::of(&findings),
            findings,
            passes: Vec::new(),
            profiles: Vec::new(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn passes_are_grouped_and_come_back_as_the_same_subjects() {
        let findings = vec![
            finding("p/a", Status::Pass, Some(("web", Some("dev"))), None, None),
            finding("p/a", Status::Fail, Some(("db", Some("dev"))), None, None),
            finding("p/a", Status::Pass, Some(("ns-x", None)), None, None),
            finding("p/b", Status::Pass, None, Some("/etc/kubernetes/admin.conf"), Some("cp-1")),
            finding("p/b", Status::Pass, None, None, Some("cp-1")),
        ];
        let mut r = report(findings.clone());
        compact(&mut r);
        assert_eq!(r.findings.len(), 3, "the failure and the node passes stay in full");
        assert_eq!(r.passes.len(), 1);
        assert_eq!(r.passes[0].objects, ["dev/web", "ns-x"]);
        let json = serde_json::to_string(&r).unwrap();
        let mut back: Report = serde_json::from_str(&json).unwrap();
        expand(&mut back).unwrap();
        assert_eq!(Summary::of(&back.findings), Summary::of(&findings));
        // Each finding as a sortable text of what it is about.
        let subjects = |fs: &[Finding]| {
            let mut s: Vec<String> = fs.iter().map(|f| format!("{:?}", (&f.check, f.status, &f.object, &f.path, &f.node))).collect();
            s.sort();
            s
        };
        assert_eq!(subjects(&back.findings), subjects(&findings));
    }

    #[test]
    fn a_tampered_pass_group_is_refused() {
        let mut r = report(Vec::new());
        r.passes.push(PassGroup {
            check: "p/zzz".into(),
            node: None,
            api_version: "v1".into(),
            kind: "Pod".into(),
            objects: vec!["x".into()],
            profiles: Vec::new(),
        });
        assert!(expand(&mut r).unwrap_err().contains("no plugin of the report declares"));
        let mut r = report(Vec::new());
        r.passes.push(PassGroup {
            check: "p/a".into(),
            node: None,
            api_version: "v1".into(),
            kind: "Pod".into(),
            objects: vec!["a/b/c".into()],
            profiles: Vec::new(),
        });
        assert!(expand(&mut r).unwrap_err().contains("not namespace/name"));
    }
}
