//! `rampart merge`: many reports (one per node, one for the cluster, from
//! Jobs across a fleet) into one, with every node's verdicts and the
//! profile re-assessed over all findings: the fleet score.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::profile::{self, Coverage};
use crate::registry::Registry;
use crate::report::{Outcome, PluginReport, Report, SCHEMA_VERSION, Summary, Targets, Tool};

/// One report read from a file, with the profiles it assessed.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub report: Report,
    pub profiles: Vec<String>,
}

/// Reads a JSON report written by `rampart scan --format json`.
pub fn read(path: &Path) -> Result<Input> {
    let bad = |message: String| Error::Report { path: path.to_path_buf(), message };
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    // The version and profiles first; the report itself is read from the
    // text, not through a `Value`, which would sort each finding's evidence.
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        schema_version: serde_json::Value,
        /// Only the ids: the controls (and their findings) are skipped.
        #[serde(default)]
        profiles: Vec<ProfileId>,
    }
    #[derive(serde::Deserialize)]
    struct ProfileId {
        id: String,
    }
    let head: Head = serde_json::from_str(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => bad(format!("not a rampart report: {e}")),
        _ => bad(format!("not JSON: {e}")),
    })?;
    let version = head.schema_version.as_str().unwrap_or("");
    // 1.x: every finding in `findings`; 2.x: passes may be grouped.
    if !matches!(version.split('.').next(), Some("1" | "2")) || version.split('.').count() != 2 {
        return Err(bad(format!("schema_version {version:?} is not one this rampart reads (1.x or {SCHEMA_VERSION})")));
    }
    let profiles = head.profiles.into_iter().map(|p| p.id).collect();
    let mut report: Report = serde_json::from_str(&text).map_err(|e| bad(format!("not a rampart report: {e}")))?;
    crate::report::passes::expand(&mut report).map_err(bad)?;
    check_consistent(&report).map_err(bad)?;
    Ok(Input { path: path.to_path_buf(), report, profiles })
}

/// A report must agree with itself: its summary counts its findings, and
/// each verdict is of a check one of its plugins declares. A report edited
/// by hand (failing findings cut out) or cut short fails this.
fn check_consistent(report: &Report) -> std::result::Result<(), String> {
    let counted = Summary::of(&report.findings);
    if counted != report.summary {
        let show = |s: &Summary| {
            crate::report::Status::ALL.iter().map(|st| format!("{} {}", s.get(*st), st.as_str())).collect::<Vec<_>>().join(", ")
        };
        return Err(format!(
            "its findings ({}) do not match its own summary ({}): the report was altered or cut short; use the report as the scan wrote it",
            show(&counted),
            show(&report.summary)
        ));
    }
    for (i, f) in report.findings.iter().enumerate() {
        // The host's own findings (`rampart/...`) are declared by the host.
        let known = crate::scan::HOST_CHECKS.contains(&&*f.check)
            || f.check
                .split_once('/')
                .is_some_and(|(plugin, check)| report.plugins.iter().any(|p| p.name == plugin && p.checks.iter().any(|c| c.id == check)));
        // The broker keeps a finding of an undeclared check as `error`
        // (the plugin's fault, recorded): only a verdict is suspect.
        if !known && f.status != crate::report::Status::Error {
            return Err(format!(
                "findings[{i}]: check {:?} is not declared by any plugin of the report, yet is {}",
                f.check,
                f.status.as_str()
            ));
        }
    }
    Ok(())
}

/// Reports judged under different profiles or settings cannot be pooled:
/// the same file mode passes one threshold and fails the other, and the
/// re-assessment would mix them. Settings recorded in the reports are
/// compared plugin by plugin; reports of an older rampart, which did not
/// record them, are trusted only when they assessed the same profile.
fn check_same_judgement(inputs: &[Input]) -> Result<()> {
    let bad = |path: &Path, message: String| Error::Report { path: path.to_path_buf(), message };
    let named = |ids: &[String]| if ids.is_empty() { "no profile".to_string() } else { format!("profile {}", ids.join(", ")) };
    let mut profiled: Option<&Input> = None;
    for input in inputs.iter().filter(|i| !i.profiles.is_empty()) {
        match profiled {
            None => profiled = Some(input),
            Some(first) if first.profiles != input.profiles => {
                return Err(bad(
                    &input.path,
                    format!(
                        "assessed {}, but {} assessed {}: merge each profile's reports on their own",
                        named(&input.profiles),
                        first.path.display(),
                        named(&first.profiles)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    // A plugin of a several-profile scan appears once per settings set,
    // each tagged with its profiles: those are compared as one.
    type Seen<'a> = ((&'a str, &'a [String]), &'a Path, &'a std::collections::BTreeMap<String, String>);
    let mut settings: Vec<Seen<'_>> = Vec::new();
    for input in inputs {
        for p in &input.report.plugins {
            let Some(mine) = &p.settings else {
                let other = inputs.iter().find(|o| o.profiles != input.profiles && o.report.plugins.iter().any(|q| q.name == p.name));
                if let Some(other) = other {
                    return Err(bad(
                        &input.path,
                        format!(
                            "assessed {} and does not record the settings plugin {} ran with, while {} assessed {}: \
                             the verdicts cannot be shown to use the same thresholds; scan again with this rampart",
                            named(&input.profiles),
                            p.name,
                            other.path.display(),
                            named(&other.profiles)
                        ),
                    ));
                }
                continue;
            };
            let key = (p.name.as_str(), p.profiles.as_slice());
            match settings.iter().find(|(k, _, _)| *k == key) {
                None => settings.push((key, &input.path, mine)),
                Some((_, other_path, other)) if *other != mine => {
                    let keys: std::collections::BTreeSet<&String> = mine.keys().chain(other.keys()).collect();
                    let differ: Vec<String> = keys
                        .into_iter()
                        .filter(|k| mine.get(*k) != other.get(*k))
                        .map(|k| {
                            let show = |v: Option<&String>| v.map_or("unset".to_string(), |v| format!("{v:?}"));
                            format!("{k} = {} here but {} there", show(mine.get(k)), show(other.get(k)))
                        })
                        .collect();
                    return Err(bad(
                        &input.path,
                        format!(
                            "plugin {} ran with other settings than in {} ({}): its findings were judged by other thresholds; \
                             merge reports of one profile and registry only",
                            p.name,
                            other_path.display(),
                            differ.join(", ")
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// A finding as a comparable text: through a `Value`, whose maps are sorted,
/// so evidence written in another key order is the same finding.
fn finding_key(f: &crate::report::Finding) -> String {
    serde_json::to_value(f).map(|v| v.to_string()).unwrap_or_default()
}

/// Two reports may both hold a node (the same scan given twice, or two
/// plugins' scans of it), but a plugin's findings on a node must be the same
/// in each: different ones mean two machines under one name (`--node /` on
/// each, all called by their directory), and pooling would keep one
/// machine's verdicts and hide the other's.
fn check_nodes_distinct(inputs: &[Input]) -> Result<()> {
    use std::collections::BTreeMap;
    // (plugin, node) → (the report, its findings there).
    // (plugin, its profiles, node)
    type Key = (String, Vec<String>, String);
    let mut seen: BTreeMap<Key, (&Path, Vec<String>)> = BTreeMap::new();
    for input in inputs {
        for p in &input.report.plugins {
            // Each node once, and the findings gone through once per plugin:
            // a report with many runs and findings (a big fleet, or a file
            // made to stall the merge) took time runs × findings.
            let mut by_node: BTreeMap<&str, Vec<String>> = p
                .runs
                .iter()
                .filter(|r| r.outcome != Outcome::Skipped)
                .filter_map(|r| r.target.strip_prefix("node/"))
                .map(|node| (node, Vec::new()))
                .collect();
            if by_node.is_empty() {
                continue;
            }
            let prefix = format!("{}/", p.name);
            for f in input.report.findings.iter().filter(|f| f.check.starts_with(&prefix) && f.profiles[..] == p.profiles[..]) {
                if let Some(mine) = f.node.as_deref().and_then(|n| by_node.get_mut(n)) {
                    mine.push(finding_key(f));
                }
            }
            for (node, mut mine) in by_node {
                mine.sort();
                let key = (p.name.clone(), p.profiles.clone(), node.to_string());
                match seen.get(&key) {
                    None => {
                        seen.insert(key, (&input.path, mine));
                    }
                    Some((other, theirs)) if *theirs != mine => {
                        return Err(Error::NodeName {
                            name: node.to_string(),
                            message: format!(
                                "{} and {} hold different findings of plugin {} for this node: two machines under one name \
                                 (scan each with its own --name), or one node scanned twice with changes between (merge the latest)",
                                other.display(),
                                input.path.display(),
                                p.name
                            ),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(())
}

/// Merges reports. Findings are pooled (a finding present in two reports,
/// e.g. the same cluster scanned twice, counts once); plugins must be the
/// same build everywhere; profiles are re-assessed from the pooled findings.
pub fn merge(inputs: Vec<Input>, registry: &Registry) -> Result<Report> {
    check_same_judgement(&inputs)?;
    check_nodes_distinct(&inputs)?;
    let mut errors = Vec::new();
    let mut targets = Targets::default();
    let mut plugins: Vec<PluginReport> = Vec::new();
    let mut findings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut profile_ids: Vec<String> = Vec::new();
    let mut node_names = std::collections::HashSet::new();
    for input in inputs {
        let Input { path, report, profiles } = input;
        let from = path.display().to_string();
        errors.extend(report.errors.into_iter().map(|e| format!("{from}: {e}")));
        for s in report.targets.cluster_sources {
            if !targets.cluster_sources.contains(&s) {
                targets.cluster_sources.push(s);
            }
        }
        targets.cluster_objects = targets.cluster_objects.max(report.targets.cluster_objects);
        targets.kubernetes_version = targets.kubernetes_version.or(report.targets.kubernetes_version);
        for n in report.targets.nodes {
            // The same node in two reports: its findings are pooled.
            if node_names.insert(n.name.clone()) {
                targets.nodes.push(n);
            }
        }
        for p in report.plugins {
            match plugins.iter_mut().find(|q| q.name == p.name && q.profiles == p.profiles) {
                None => plugins.push(p),
                Some(q) => {
                    if q.digest != p.digest && !p.digest.is_empty() && !q.digest.is_empty() {
                        errors.push(format!(
                            "{from}: plugin {} is {} here but {} elsewhere: the reports come from different builds",
                            p.name, p.digest, q.digest
                        ));
                    }
                    q.runs.extend(p.runs);
                    if q.settings.is_none() {
                        q.settings = p.settings;
                    }
                    q.capabilities.denied_calls += p.capabilities.denied_calls;
                    for d in p.capabilities.denied {
                        match q.capabilities.denied.iter_mut().find(|e| e.capability == d.capability) {
                            Some(e) => e.count += d.count,
                            None => q.capabilities.denied.push(d),
                        }
                    }
                    if q.error.is_none() {
                        q.error = p.error;
                    }
                }
            }
        }
        for f in report.findings {
            if seen.insert(finding_key(&f)) {
                findings.push(f);
            }
        }
        for id in profiles {
            if !profile_ids.contains(&id) {
                profile_ids.push(id);
            }
        }
    }
    // Skipped runs (a node report has no cluster, a cluster report no node)
    // are not failures once another report ran the plugin.
    for p in &mut plugins {
        if p.runs.iter().any(|r| r.outcome != Outcome::Skipped) {
            p.runs.retain(|r| r.outcome != Outcome::Skipped);
        }
    }
    let mut profiles = Vec::new();
    for id in profile_ids {
        let profile = registry.profile(&id)?;
        let coverage = Coverage::for_profile(&plugins, &id);
        let mut result = profile::evaluate(&profile, &findings, &coverage);
        result.version_note = profile.version_note(targets.kubernetes_version.as_deref());
        profiles.push(result);
    }
    let summary = Summary::of(&findings);
    Ok(Report {
        waivers: Vec::new(),
        schema_version: SCHEMA_VERSION.to_string(),
        tool: Tool { name: "rampart".into(), version: env!("CARGO_PKG_VERSION").into() },
        targets,
        plugins,
        findings,
        passes: Vec::new(),
        summary,
        profiles,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Capabilities, Evidence, Finding, Run, Severity, Status};

    /// Regression (a timeout of the `report` fuzz target's reader, found
    /// probing it with a large report): every run of a plugin on a node went
    /// through every finding, serializing each match, so a 1 MiB report of
    /// 2,000 runs and 4,000 findings on one node took over a minute to
    /// merge. Each node is now gone through once.
    #[test]
    fn a_node_with_many_runs_is_compared_by_its_findings() {
        let n = 2_000;
        let findings: Vec<Finding> = (0..n)
            .map(|i| Finding {
                line: None,
                waiver: None,
                check: "p/c".into(),
                status: Status::Pass,
                severity: Severity::High,
                message: format!("finding {i}").into(),
                object: None,
                path: None,
                node: Some("n1".into()),
                source: None,
                evidence: Evidence::default(),
                profiles: Default::default(),
            })
            .collect();
        let run = Run { target: "node/n1".into(), outcome: Outcome::Ok, message: None, duration_ms: 1.0, stdout: None, stderr: None };
        let plugin = PluginReport {
            name: "p".into(),
            version: "1".into(),
            digest: String::new(),
            source: "p.wasm".into(),
            checks: Vec::new(),
            capabilities: Capabilities::default(),
            runs: vec![run; n],
            settings: None,
            profiles: Vec::new(),
            error: None,
        };
        let report = Report {
            waivers: Vec::new(),
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool { name: "rampart".into(), version: "0".into() },
            targets: Targets::default(),
            plugins: vec![plugin],
            summary: Summary::of(&findings),
            findings,
            passes: Vec::new(),
            profiles: Vec::new(),
            errors: Vec::new(),
        };
        let mut changed = report.clone();
        changed.findings[n - 1].status = Status::Fail;
        let same = [
            Input { path: "a.json".into(), report: report.clone(), profiles: Vec::new() },
            Input { path: "b.json".into(), report: report.clone(), profiles: Vec::new() },
        ];
        // The same node in two reports with the same findings is one node
        // (the cost, once linear in runs × findings, is in the benchmarks'
        // domain, not asserted here).
        check_nodes_distinct(&same).unwrap();
        // Still compared: the same node with other findings is refused.
        let other = [
            Input { path: "a.json".into(), report, profiles: Vec::new() },
            Input { path: "c.json".into(), report: changed, profiles: Vec::new() },
        ];
        let err = check_nodes_distinct(&other).unwrap_err().to_string();
        assert!(err.contains("n1") && err.contains("c.json"), "{err}");
    }
}
