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
    if version.split('.').next() != SCHEMA_VERSION.split('.').next() {
        return Err(bad(format!("schema_version {version:?} is not {SCHEMA_VERSION} (or compatible)")));
    }
    let profiles = head.profiles.into_iter().map(|p| p.id).collect();
    let report: Report = serde_json::from_str(&text).map_err(|e| bad(format!("not a rampart report: {e}")))?;
    Ok(Input { path: path.to_path_buf(), report, profiles })
}

/// Merges reports. Findings are pooled (a finding present in two reports,
/// e.g. the same cluster scanned twice, counts once); plugins must be the
/// same build everywhere; profiles are re-assessed from the pooled findings.
pub fn merge(inputs: Vec<Input>, registry: &Registry) -> Result<Report> {
    let mut errors = Vec::new();
    let mut targets = Targets::default();
    let mut plugins: Vec<PluginReport> = Vec::new();
    let mut findings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut profile_ids: Vec<String> = Vec::new();
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
            if !targets.nodes.iter().any(|m| m.name == n.name) {
                targets.nodes.push(n);
            }
        }
        for p in report.plugins {
            match plugins.iter_mut().find(|q| q.name == p.name) {
                None => plugins.push(p),
                Some(q) => {
                    if q.digest != p.digest && !p.digest.is_empty() && !q.digest.is_empty() {
                        errors.push(format!(
                            "{from}: plugin {} is {} here but {} elsewhere: the reports come from different builds",
                            p.name, p.digest, q.digest
                        ));
                    }
                    q.runs.extend(p.runs);
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
            if seen.insert(serde_json::to_string(&f).unwrap_or_default()) {
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
        let coverage = Coverage::of(&plugins);
        let mut result = profile::evaluate(&profile, &findings, &coverage);
        result.version_note = profile.version_note(targets.kubernetes_version.as_deref());
        profiles.push(result);
    }
    let summary = Summary::of(&findings);
    Ok(Report {
        schema_version: SCHEMA_VERSION.to_string(),
        tool: Tool { name: "rampart".into(), version: env!("CARGO_PKG_VERSION").into() },
        targets,
        plugins,
        findings,
        summary,
        profiles,
        errors,
    })
}
