//! Benchmark profiles as data (profiles/*.toml): controls mapped to checks,
//! and the aggregation of a scan's findings into one verdict per control
//! and a score.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::{Finding, Severity, Status, Summary};

/// Whether a benchmark marks a control as automatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Assessment {
    Automated,
    Manual,
}

/// One control of a benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The benchmark's own id (`1.2.1`, `V-242390`).
    pub id: String,
    /// The group it belongs to (`1.2`); see `Profile::sections` for titles.
    pub section: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    pub assessment: Assessment,
    #[serde(default = "default_severity")]
    pub severity: Severity,
    /// What the control is about: master, etcd, controlplane, node, policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `plugin/check` ids whose findings decide (automated) or assist
    /// (manual) this control.
    #[serde(default)]
    pub checks: Vec<String>,
    /// `plugin/check` ids whose findings an automated control shows beside
    /// its verdict, for a reviewer, without deciding it (the STIG's
    /// V-254800 fails on a missing flag; the namespaces' labels help judge
    /// the rest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assisting: Vec<String>,
    /// What a person does to assess it (manual controls), or how to read it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub guidance: String,
    /// Plugin settings this control needs, by plugin name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, BTreeMap<String, String>>,
    /// Set when the control cannot apply to the Kubernetes versions the
    /// profile covers (a removed API or flag): the reason, reported with a
    /// `not-applicable` verdict. Such a control has no checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    /// Checklist identifiers, for benchmarks that have them (DISA STIG):
    /// the rule id with its revision (`SV-242376r960759_rule`), the STIG id
    /// (`CNTR-K8-000150`) and the CCI references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stig_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ccis: Vec<String>,
}

/// The benchmark's identity as STIG checklists (.ckl, .cklb) carry it;
/// importers match rules on these, so they are DISA's values verbatim.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    /// The XCCDF benchmark id (`Kubernetes_STIG`).
    pub benchmark_id: String,
    /// The benchmark's full title.
    pub title: String,
    /// The version number (`2`).
    pub version: String,
    /// `Release: N Benchmark Date: DD Mon YYYY`.
    pub release_info: String,
    #[serde(default = "default_classification")]
    pub classification: String,
}

fn default_classification() -> String {
    "UNCLASSIFIED".into()
}

fn default_severity() -> Severity {
    Severity::Medium
}

/// A benchmark profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub title: String,
    pub version: String,
    /// The Kubernetes minor versions the profile is written for
    /// (`"1.32-1.34"`, or one version); a live cluster outside them gets a
    /// note in the report.
    #[serde(default)]
    pub kubernetes: Option<String>,
    /// Section titles by section id (`"1.2" = "API server"`).
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    /// Plugin settings for the whole profile, by plugin name.
    #[serde(default)]
    pub settings: BTreeMap<String, BTreeMap<String, String>>,
    /// How a checklist names the benchmark (STIG profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<Checklist>,
    #[serde(rename = "control")]
    pub controls: Vec<Control>,
    /// The file the profile was read from, to name it (and a line) in errors.
    #[serde(skip)]
    pub path: std::path::PathBuf,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Profile::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Profile> {
        let bad = |message: String| Error::Profile { path: path.to_path_buf(), message };
        let mut profile: Profile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        profile.path = path.to_path_buf();
        if profile.controls.is_empty() {
            return Err(bad("has no [[control]]".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &profile.controls {
            if !seen.insert(&c.id) {
                return Err(bad(format!("control {} is listed twice", c.id)));
            }
            if c.not_applicable.is_some() && !(c.checks.is_empty() && c.assisting.is_empty()) {
                return Err(bad(format!("control {} is not_applicable, so it takes no checks", c.id)));
            }
            if !c.assisting.is_empty() && c.assessment != Assessment::Automated {
                return Err(bad(format!(
                    "control {}: assisting checks are for automated controls (a manual control's checks all assist)",
                    c.id
                )));
            }
            for check in c.checks.iter().chain(&c.assisting) {
                if check.split('/').count() != 2 || check.starts_with('/') || check.ends_with('/') {
                    return Err(bad(format!("control {}: check `{check}` must be plugin/check", c.id)));
                }
            }
        }
        profile.plugin_settings().map_err(bad)?;
        if let Some(range) = &profile.kubernetes {
            minor_range(range).ok_or_else(|| bad(format!("kubernetes = {range:?}: expected MAJOR.MINOR or MAJOR.MINOR-MAJOR.MINOR")))?;
        }
        Ok(profile)
    }

    /// `path:LINE` of the first line of the profile file holding `needle`
    /// (a quoted check id, a settings table), or the path alone.
    pub fn place(&self, needle: &str) -> String {
        let line = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.lines().position(|l| l.split('#').next().is_some_and(|code| code.contains(needle))));
        match line {
            Some(n) => format!("{}:{}", self.path.display(), n + 1),
            None => self.path.display().to_string(),
        }
    }

    /// Checks the profile against the plugins it will run with: every
    /// plugin its controls or settings name is installed, and, for the
    /// plugins loaded (name → their check ids), every check a control names
    /// is one the plugin declares. A mistake here would otherwise turn into
    /// an `error` on every control it touches, or settings silently unused.
    pub fn check_plugins<'a>(&self, installed: &[&str], declared: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Result<()> {
        let bad = |at: String, message: String| Error::Profile { path: at.into(), message };
        let mut named: Vec<(&str, String, String)> = Vec::new();
        for plugin in self.settings.keys() {
            named.push((plugin, format!("settings.{plugin}"), format!("settings for plugin `{plugin}`")));
        }
        for c in &self.controls {
            for plugin in c.settings.keys() {
                named.push((plugin, format!("settings.{plugin}"), format!("control {}: settings for plugin `{plugin}`", c.id)));
            }
            for k in &c.checks {
                named.push((k.split('/').next().unwrap_or(""), format!("\"{k}\""), format!("control {}: check `{k}`", c.id)));
            }
        }
        for (plugin, needle, what) in named {
            if !installed.contains(&plugin) {
                return Err(bad(
                    self.place(&needle),
                    format!("{what}: the registry has no plugin `{plugin}` (it has: {})", installed.join(", ")),
                ));
            }
        }
        for (plugin, checks) in declared {
            for c in &self.controls {
                for k in c.checks.iter().filter(|k| k.split_once('/').is_some_and(|(p, _)| p == plugin)) {
                    let check = k.split_once('/').map_or("", |(_, c)| c);
                    if !checks.contains(&check) {
                        return Err(bad(
                            self.place(&format!("\"{k}\"")),
                            format!("control {}: plugin {plugin} has no check `{check}` (it has: {})", c.id, checks.join(", ")),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a cluster's version (`v1.36.2`) is outside what the profile
    /// is written for, said in words; `None` when it is inside or unknown.
    pub fn version_note(&self, cluster: Option<&str>) -> Option<String> {
        let ((lo, hi), version) = (minor_range(self.kubernetes.as_deref()?)?, cluster?);
        let at = minor_of(version)?;
        (at < lo || at > hi).then(|| {
            format!(
                "{} is written for Kubernetes {}; this cluster runs {version}: checks of flags or defaults that changed since may not apply as written",
                self.id,
                self.kubernetes.as_deref().unwrap_or_default()
            )
        })
    }

    /// How a section is headed in text: numbered sections (CIS `1.2`) by
    /// number and title, named ones (the STIG's `apiserver`) by title alone.
    pub fn section_heading(sections: &BTreeMap<String, String>, id: &str) -> String {
        let title = sections.get(id).map(String::as_str).unwrap_or("");
        if id.starts_with(|ch: char| ch.is_ascii_digit()) || title.is_empty() {
            format!("{id} {title}").trim().to_string()
        } else {
            title.to_string()
        }
    }

    /// The plugins the profile's checks come from.
    pub fn plugins(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .controls
            .iter()
            .flat_map(|c| c.checks.iter().chain(&c.assisting).map(|k| k.split('/').next().unwrap_or("").to_string()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Settings per plugin: the profile's, then each control's. Two places
    /// giving one key different values is an error naming both.
    pub fn plugin_settings(&self) -> std::result::Result<BTreeMap<String, Vec<(String, String)>>, String> {
        let mut merged: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
        let sources = std::iter::once(("the profile".to_string(), &self.settings))
            .chain(self.controls.iter().map(|c| (format!("control {}", c.id), &c.settings)));
        for (whence, settings) in sources {
            for (plugin, pairs) in settings {
                for (k, v) in pairs {
                    let slot = merged.entry(plugin.clone()).or_default();
                    match slot.get(k) {
                        Some((old, from)) if old != v => {
                            return Err(format!("{plugin} setting {k} is {old:?} in {from} but {v:?} in {whence}"));
                        }
                        _ => {
                            slot.insert(k.clone(), (v.clone(), whence.clone()));
                        }
                    }
                }
            }
        }
        Ok(merged.into_iter().map(|(p, m)| (p, m.into_iter().map(|(k, (v, _))| (k, v)).collect())).collect())
    }
}

/// Why a control has no findings to stand on.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// Plugins that ran (fully or not) in this scan.
    pub ran: Vec<String>,
    /// Plugins skipped for want of a target, with the reason.
    pub skipped: BTreeMap<String, String>,
    /// Plugins that had host calls denied, with what was denied: their
    /// verdicts stand, but rest on less than the plugin asked for.
    pub denied: BTreeMap<String, String>,
}

impl Coverage {
    /// Which plugins ran, from the plugin entries of a report: a plugin
    /// that did not load, or whose every run was skipped, is skipped with
    /// the reason.
    /// The coverage of one profile in a report of several: only the plugin
    /// entries that served it.
    pub fn for_profile(plugins: &[crate::report::PluginReport], profile: &str) -> Coverage {
        let serving: Vec<crate::report::PluginReport> =
            plugins.iter().filter(|p| p.profiles.is_empty() || p.profiles.iter().any(|id| id == profile)).cloned().collect();
        Coverage::of(&serving)
    }

    pub fn of(plugins: &[crate::report::PluginReport]) -> Coverage {
        let mut coverage = Coverage { ran: Vec::new(), skipped: BTreeMap::new(), denied: BTreeMap::new() };
        for r in plugins {
            let caps = &r.capabilities;
            if caps.denied_calls > 0 {
                let mut what: Vec<&str> = caps.denied.iter().take(3).map(|d| d.capability.as_str()).collect();
                if caps.denied.len() > 3 {
                    what.push("…");
                }
                coverage.denied.insert(
                    r.name.clone(),
                    format!(
                        "plugin {} had {} host call(s) denied ({}): its evidence may be incomplete",
                        r.name,
                        caps.denied_calls,
                        what.join(", ")
                    ),
                );
            }
            if let Some(e) = &r.error {
                coverage.skipped.insert(r.name.clone(), format!("the plugin did not load: {e}"));
            } else if r.runs.iter().all(|run| run.outcome == crate::report::Outcome::Skipped) {
                coverage.skipped.insert(r.name.clone(), r.runs.iter().find_map(|run| run.message.clone()).unwrap_or_default());
            } else {
                coverage.ran.push(r.name.clone());
            }
        }
        coverage
    }
}

/// A control's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    pub id: String,
    pub section: String,
    pub title: String,
    pub status: Status,
    pub assessment: Assessment,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    pub checks: Vec<String>,
    /// Checks whose findings help a reviewer of this control without
    /// deciding it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assisting: Vec<String>,
    /// Why the status is what it is, when the findings alone do not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The waiver that accepted this control (status `waived`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<crate::waivers::WaiverNote>,
    /// What an auditor should know about the evidence (a plugin whose
    /// host calls were denied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub guidance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stig_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ccis: Vec<String>,
    /// The verdict of this control's findings on each node, for fleets.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_node: BTreeMap<String, Status>,
    /// Its findings counted by status (compact reports, where `findings`
    /// is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Compact reports: where this control's findings are in the report's
    /// `findings` (its passes are in `passes`, by check).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finding_indices: Vec<usize>,
    /// Full reports: the findings this control stands on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// The worst status among findings: fail, error, warn, pass, else
/// not-applicable.
fn worst<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Status {
    let statuses: Vec<Status> = findings.into_iter().map(|f| f.status).collect();
    [Status::Fail, Status::Error, Status::Warn, Status::Waived, Status::Pass]
        .into_iter()
        .find(|s| statuses.contains(s))
        .unwrap_or(Status::NotApplicable)
}

impl ControlResult {
    /// The status without a waiver: what the checks found.
    pub fn unwaived(&self) -> Status {
        match (&self.waiver, self.status) {
            (Some(w), Status::Waived) => w.status,
            (_, s) => s,
        }
    }
}

/// A profile's verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileResult {
    pub id: String,
    pub title: String,
    pub version: String,
    /// passed / (passed + failed + errored) over automated controls, in
    /// percent; `null` when no automated control could be counted.
    pub score: Option<f64>,
    /// With waivers given: the score with every waived control counted as
    /// what it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_without_waivers: Option<f64>,
    /// Controls counted by status.
    pub summary: Summary,
    /// The Kubernetes versions the profile is written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<String>,
    /// Set when the scanned cluster's version is outside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_note: Option<String>,
    #[serde(skip)]
    pub sections: BTreeMap<String, String>,
    /// The benchmark's checklist identity (STIG profiles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checklist: Option<Checklist>,
    pub controls: Vec<ControlResult>,
}

/// `1.32` or `v1.36.2` → (1, 32).
fn minor_of(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

/// `1.32-1.34` → ((1, 32), (1, 34)); `1.33` → ((1, 33), (1, 33)).
fn minor_range(range: &str) -> Option<((u32, u32), (u32, u32))> {
    match range.split_once('-') {
        Some((a, b)) => Some((minor_of(a)?, minor_of(b)?)).filter(|(a, b)| a <= b),
        None => minor_of(range).map(|v| (v, v)),
    }
}

/// Distinct messages a control's reason quotes before it counts the rest:
/// the findings themselves are all in the report.
const QUOTED_MESSAGES: usize = 20;

/// The distinct messages of the findings with this status, in order: the
/// first [`QUOTED_MESSAGES`], then how many more there are. (A fleet of
/// 5,000 nodes gives each node's message its own prefix; keeping them in a
/// list searched for each was quadratic and the reason megabytes long.)
fn messages(findings: &[&Finding], status: Status) -> String {
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut quoted: Vec<String> = Vec::new();
    for f in findings.iter().filter(|f| f.status == status) {
        let m = match &f.node {
            Some(n) => format!("{n}: {}", f.message),
            None => f.message.to_string(),
        };
        if seen.insert(m.clone()) && quoted.len() < QUOTED_MESSAGES {
            quoted.push(m);
        }
    }
    let mut text = quoted.join("; ");
    if seen.len() > quoted.len() {
        text.push_str(&format!("; and {} more (see the findings)", seen.len() - quoted.len()));
    }
    text
}

/// How an evaluated control holds its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlFindings {
    /// A copy of each in `findings`: what every renderer, waivers and
    /// merges read.
    #[default]
    Copies,
    /// Their places in the evaluated list, in `finding_indices`, and their
    /// count by status in `summary`; no copies. Only a compact JSON
    /// report, which points at its findings anyway, can be written from
    /// this ([`crate::report::passes::compact`] turns the places into
    /// places in the compacted list). A large
    /// cluster's controls hold millions of findings: copying them took
    /// seconds and about 100 MB of a 150k-pod scan (docs/performance.md).
    Indices,
}

/// Aggregates the findings of a scan into the profile's verdicts.
pub fn evaluate(profile: &Profile, findings: &[Finding], coverage: &Coverage) -> ProfileResult {
    judge(profile, findings, coverage, ControlFindings::Copies)
}

/// [`evaluate`], each control holding its findings as `held` says.
pub fn judge(profile: &Profile, all: &[Finding], coverage: &Coverage, held: ControlFindings) -> ProfileResult {
    let mut controls = Vec::new();
    // Where each check's findings are, found once: a large cluster's scan
    // has hundreds of thousands of findings and a profile over a hundred
    // controls. In a scan of several profiles, a finding judged under
    // another profile's settings is not this profile's.
    let mut by_check: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, f) in all.iter().enumerate() {
        if f.profiles.is_empty() || f.profiles.contains(&profile.id) {
            by_check.entry(&f.check).or_default().push(i);
        }
    }
    // Where the findings of some checks are, in the order they came.
    let of_checks = |checks: &[String]| -> Vec<usize> {
        let mut at: Vec<usize> = checks.iter().filter_map(|k| by_check.get(k.as_str())).flatten().copied().collect();
        at.sort_unstable();
        at.dedup();
        at
    };
    for c in &profile.controls {
        let mine: Vec<&Finding> = of_checks(&c.checks).into_iter().map(|i| &all[i]).collect();
        let has = |s: Status| mine.iter().any(|f| f.status == s);
        let mut reason = None;
        // Findings waived already (reports merged after waivers were
        // applied to them): the control is waived when nothing else fails.
        let mut waiver = None;
        let missing: Vec<String> = c
            .checks
            .iter()
            .filter(|k| !by_check.contains_key(k.as_str()))
            .map(|k| {
                let plugin = k.split('/').next().unwrap_or("");
                match (coverage.skipped.get(plugin), coverage.ran.iter().any(|p| p == plugin)) {
                    (Some(why), _) => format!("{k}: not run ({why})"),
                    (None, true) => format!("{k}: the plugin has no such check"),
                    (None, false) => format!("{k}: plugin {plugin} is not installed or not selected"),
                }
            })
            .collect();
        let status = match c.assessment {
            _ if c.not_applicable.is_some() => {
                reason = c.not_applicable.clone();
                Status::NotApplicable
            }
            Assessment::Manual => {
                if !mine.is_empty() && mine.iter().all(|f| f.status == Status::NotApplicable) {
                    reason = Some(messages(&mine, Status::NotApplicable));
                    Status::NotApplicable
                } else if has(Status::Error) {
                    // The evidence a reviewer needs could not be gathered.
                    reason = Some(messages(&mine, Status::Error));
                    Status::Error
                } else {
                    if mine.is_empty() && !c.checks.is_empty() {
                        reason = Some(format!("no assisting evidence: {}", missing.join("; ")));
                    }
                    Status::Warn
                }
            }
            Assessment::Automated => {
                if c.checks.is_empty() {
                    reason = Some("no check implements this control yet".into());
                    Status::Error
                } else if !missing.is_empty() && !has(Status::Fail) {
                    // Part of the control was never assessed: never a pass.
                    reason = Some(missing.join("; "));
                    Status::Error
                } else if has(Status::Fail) {
                    Status::Fail
                } else if has(Status::Error) {
                    reason = Some(messages(&mine, Status::Error));
                    Status::Error
                } else if has(Status::Warn) {
                    Status::Warn
                } else if let Some(w) = mine.iter().find_map(|f| f.waiver.as_deref().cloned().filter(|_| f.status == Status::Waived)) {
                    waiver = Some(w);
                    Status::Waived
                } else if has(Status::Pass) {
                    Status::Pass
                } else {
                    reason = Some(messages(&mine, Status::NotApplicable));
                    Status::NotApplicable
                }
            }
        };
        // Each node's findings gathered in one pass (a filter of every
        // finding per node was quadratic in a fleet of thousands of nodes).
        let mut per_node: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
        for f in &mine {
            if let Some(node) = f.node.as_deref() {
                per_node.entry(node).or_default().push(f);
            }
        }
        let by_node: BTreeMap<String, Status> = per_node.into_iter().map(|(node, theirs)| (node.to_string(), worst(theirs))).collect();
        let mut notes: Vec<String> = Vec::new();
        for check in c.checks.iter().chain(&c.assisting) {
            let plugin = check.split('/').next().unwrap_or("");
            if let Some(note) = coverage.denied.get(plugin)
                && !notes.contains(note)
            {
                notes.push(note.clone());
            }
        }
        let (findings, finding_indices, summary) = match held {
            ControlFindings::Copies => {
                (mine.into_iter().chain(of_checks(&c.assisting).into_iter().map(|i| &all[i])).cloned().collect(), Vec::new(), None)
            }
            // Counted here, on the profile's own thread; `compact` only
            // turns the places into places in the compacted list.
            ControlFindings::Indices => {
                let at = of_checks(&[c.checks.as_slice(), c.assisting.as_slice()].concat());
                let counted = Summary::of(at.iter().map(|i| &all[*i]));
                (Vec::new(), at, Some(counted))
            }
        };
        controls.push(ControlResult {
            id: c.id.clone(),
            section: c.section.clone(),
            title: c.title.clone(),
            status,
            assessment: c.assessment,
            severity: c.severity,
            level: c.level,
            checks: c.checks.clone(),
            assisting: c.assisting.clone(),
            reason,
            waiver,
            notes,
            guidance: c.guidance.clone(),
            rule_id: c.rule_id.clone(),
            stig_id: c.stig_id.clone(),
            ccis: c.ccis.clone(),
            by_node,
            summary,
            finding_indices,
            findings,
        });
    }
    let mut summary = Summary::default();
    for c in &controls {
        *summary.slot(c.status) += 1;
    }
    let score = crate::waivers::score(&controls, false);
    let waived = controls.iter().any(|c| c.status == Status::Waived);
    ProfileResult {
        id: profile.id.clone(),
        title: profile.title.clone(),
        version: profile.version.clone(),
        score,
        score_without_waivers: waived.then(|| crate::waivers::score(&controls, true)).flatten(),
        summary,
        kubernetes: profile.kubernetes.clone(),
        version_note: None,
        sections: profile.sections.clone(),
        checklist: profile.checklist.clone(),
        controls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_outside_the_profiles_versions_gets_a_note() {
        let mut profile = Profile::parse(Path::new("p.toml"), PROFILE).unwrap();
        assert_eq!(profile.version_note(Some("v1.36.2")), None, "no range, no note");
        profile.kubernetes = Some("1.32-1.34".into());
        assert_eq!(profile.version_note(Some("v1.33.1")), None);
        assert_eq!(profile.version_note(None), None, "files have no version");
        let note = profile.version_note(Some("v1.36.2")).unwrap();
        assert!(note.contains("written for Kubernetes 1.32-1.34; this cluster runs v1.36.2"), "{note}");
        assert!(profile.version_note(Some("v1.31.0")).is_some());
        let bad = PROFILE.replacen("version = ", "kubernetes = \"1.x\"\nversion = ", 1);
        assert!(Profile::parse(Path::new("p.toml"), &bad).unwrap_err().to_string().contains("expected MAJOR.MINOR"));
    }
    use crate::report::Evidence;

    const PROFILE: &str = r#"
id = "t"
title = "Test"
version = "1"
[sections]
"1" = "One"
[[control]]
id = "1.1"
section = "1"
title = "automated, two checks"
assessment = "automated"
checks = ["a/x", "a/y"]
[[control]]
id = "1.2"
section = "1"
title = "manual with help"
assessment = "manual"
checks = ["a/x"]
guidance = "look"
[[control]]
id = "1.3"
section = "1"
title = "not implemented"
assessment = "automated"
[control.settings.a]
limit = "0600"
"#;

    fn finding(check: &str, status: Status) -> Finding {
        Finding {
            line: None,
            waiver: None,
            check: check.into(),
            status,
            severity: Severity::Medium,
            message: format!("{check} {status:?}").into(),
            object: None,
            path: None,
            node: Some("n1".into()),
            source: None,
            evidence: Evidence::default(),
            profiles: Default::default(),
        }
    }

    fn run(findings: &[Finding]) -> ProfileResult {
        let p = Profile::parse(Path::new("t.toml"), PROFILE).unwrap();
        evaluate(&p, findings, &Coverage { ran: vec!["a".into()], skipped: BTreeMap::new(), denied: BTreeMap::new() })
    }

    fn status(r: &ProfileResult, id: &str) -> Status {
        r.controls.iter().find(|c| c.id == id).unwrap().status
    }

    #[test]
    fn fail_beats_error_beats_pass() {
        let r = run(&[finding("a/x", Status::Pass), finding("a/y", Status::Fail)]);
        assert_eq!(status(&r, "1.1"), Status::Fail);
        let r = run(&[finding("a/x", Status::Pass), finding("a/y", Status::Error)]);
        assert_eq!(status(&r, "1.1"), Status::Error);
        let r = run(&[finding("a/x", Status::Pass), finding("a/y", Status::Pass), finding("a/y", Status::NotApplicable)]);
        assert_eq!(status(&r, "1.1"), Status::Pass);
    }

    /// Assisting checks are shown with an automated control, never decide it.
    #[test]
    fn assisting_checks_are_evidence_not_verdicts() {
        let text = PROFILE.replace("checks = [\"a/x\", \"a/y\"]", "checks = [\"a/x\", \"a/y\"]\nassisting = [\"b/z\"]");
        let p = Profile::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(p.plugins(), ["a", "b"], "the assisting plugin runs too");
        let findings = [finding("a/x", Status::Pass), finding("a/y", Status::Pass), finding("b/z", Status::Fail)];
        let r = evaluate(&p, &findings, &Coverage { ran: vec!["a".into(), "b".into()], skipped: BTreeMap::new(), denied: BTreeMap::new() });
        assert_eq!(status(&r, "1.1"), Status::Pass);
        assert_eq!(r.controls[0].findings.iter().map(|f| &*f.check).collect::<Vec<_>>(), ["a/x", "a/y", "b/z"]);
        let manual = PROFILE.replace("guidance = \"look\"", "guidance = \"look\"\nassisting = [\"b/z\"]");
        let err = Profile::parse(Path::new("t.toml"), &manual).unwrap_err().to_string();
        assert!(err.contains("assisting checks are for automated controls"), "{err}");
    }

    /// A compact JSON report is the same whether the controls held copies
    /// of their findings or only where they are.
    #[test]
    fn controls_holding_indices_compact_to_the_same_report_as_copies() {
        let text = PROFILE.replace("checks = [\"a/x\", \"a/y\"]", "checks = [\"a/x\", \"a/y\"]\nassisting = [\"b/z\"]");
        let p = Profile::parse(Path::new("t.toml"), &text).unwrap();
        let pod = |check: &str, status: Status, name: &str| {
            let mut f = crate::report::fixtures::finding(check, status, name);
            f.message = format!("{name} {status:?}").into();
            f
        };
        let mut other = pod("a/y", Status::Fail, "judged-for-another-profile");
        other.profiles = vec!["stig".to_string()].into();
        let findings = vec![
            pod("a/x", Status::Pass, "web"),
            pod("a/y", Status::Fail, "web"),
            finding("a/x", Status::Pass),
            other,
            pod("b/z", Status::Pass, "db"),
            pod("a/y", Status::Pass, "db"),
            pod("b/z", Status::Error, "web"),
            finding("a/y", Status::NotApplicable),
        ];
        let coverage = Coverage { ran: vec!["a".into(), "b".into()], skipped: BTreeMap::new(), denied: BTreeMap::new() };
        let written = |held: ControlFindings| {
            let mut report = crate::report::fixtures::report(findings.clone());
            report.profiles = vec![judge(&p, &findings, &coverage, held)];
            if held == ControlFindings::Indices {
                assert!(report.profiles[0].controls.iter().all(|c| c.findings.is_empty()), "no copies");
                assert_eq!(report.profiles[0].controls[0].finding_indices, [0, 1, 2, 4, 5, 6, 7]);
            }
            crate::report::passes::compact(&mut report);
            serde_json::to_value(&report).unwrap()
        };
        let copies = written(ControlFindings::Copies);
        assert_eq!(written(ControlFindings::Indices), copies);
        // Passes about objects went to `passes`; the control points at what stayed.
        assert_eq!(copies["profiles"][0]["controls"][0]["finding_indices"], serde_json::json!([0, 1, 3, 4]));
        assert_eq!(copies["profiles"][0]["controls"][0]["summary"]["pass"], 4);
    }

    #[test]
    fn a_check_without_findings_is_never_a_pass() {
        let r = run(&[finding("a/x", Status::Pass)]);
        assert_eq!(status(&r, "1.1"), Status::Error);
        assert!(r.controls[0].reason.as_deref().unwrap().contains("a/y"));
    }

    #[test]
    fn all_not_applicable_says_why() {
        let r = run(&[finding("a/x", Status::NotApplicable), finding("a/y", Status::NotApplicable)]);
        assert_eq!(status(&r, "1.1"), Status::NotApplicable);
        assert_eq!(status(&r, "1.2"), Status::NotApplicable);
        assert!(r.controls[0].reason.as_deref().unwrap().contains("n1: a/x"));
    }

    #[test]
    fn manual_is_warn_with_evidence_and_unimplemented_is_error() {
        let r = run(&[finding("a/x", Status::Fail), finding("a/y", Status::Pass)]);
        assert_eq!(status(&r, "1.2"), Status::Warn);
        assert_eq!(r.controls[1].findings.len(), 1);
        assert_eq!(status(&r, "1.3"), Status::Error);
    }

    #[test]
    fn a_control_judged_by_a_plugin_with_denied_calls_carries_a_note() {
        let p = Profile::parse(Path::new("t.toml"), PROFILE).unwrap();
        let findings = [finding("a/x", Status::Pass), finding("a/y", Status::Pass)];
        let mut coverage = Coverage { ran: vec!["a".into()], skipped: BTreeMap::new(), denied: BTreeMap::new() };
        let clean = evaluate(&p, &findings, &coverage);
        assert!(clean.controls.iter().all(|c| c.notes.is_empty()));
        coverage.denied.insert("a".into(), "plugin a had 2 host call(s) denied (node.read:/etc/shadow)".into());
        let noted = evaluate(&p, &findings, &coverage);
        let c = noted.controls.iter().find(|c| c.id == "1.1").unwrap();
        // The verdict stands; the note says what it rests on.
        assert_eq!(c.status, Status::Pass);
        assert_eq!(c.notes, ["plugin a had 2 host call(s) denied (node.read:/etc/shadow)"]);
        assert!(noted.controls.iter().find(|c| c.id == "1.3").unwrap().notes.is_empty(), "1.3 has no checks of plugin a");
    }

    #[test]
    fn a_control_that_cannot_apply_is_not_applicable_with_its_reason_and_takes_no_checks() {
        let text = PROFILE.replace("title = \"not implemented\"", "title = \"gone\"\nnot_applicable = \"the flag was removed in 1.19\"");
        let p = Profile::parse(Path::new("t.toml"), &text).unwrap();
        let r = evaluate(
            &p,
            &[finding("a/x", Status::Fail)],
            &Coverage { ran: vec!["a".into()], skipped: BTreeMap::new(), denied: BTreeMap::new() },
        );
        let c = r.controls.iter().find(|c| c.id == "1.3").unwrap();
        assert_eq!((c.status, c.reason.as_deref()), (Status::NotApplicable, Some("the flag was removed in 1.19")));
        assert_eq!(r.score, Some(0.0), "1.1 fails, 1.3 is not counted");
        let with_checks = text.replace("title = \"gone\"", "title = \"gone\"\nchecks = [\"a/x\"]");
        let err = Profile::parse(Path::new("t.toml"), &with_checks).unwrap_err().to_string();
        assert!(err.contains("control 1.3 is not_applicable, so it takes no checks"), "{err}");
    }

    #[test]
    fn score_counts_automated_pass_fail_error_only() {
        // 1.1 pass, 1.2 warn (manual), 1.3 error (unimplemented): 1 of 2.
        let r = run(&[finding("a/x", Status::Pass), finding("a/y", Status::Pass)]);
        assert_eq!(r.score, Some(50.0));
        assert_eq!((r.summary.pass, r.summary.warn, r.summary.error), (1, 1, 1));
    }

    #[test]
    fn conflicting_settings_name_both_places() {
        let text = PROFILE.replace("[sections]", "[settings.a]\nlimit = \"0644\"\n[sections]");
        let err = Profile::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(err.contains("\"0644\" in the profile") && err.contains("control 1.3"), "{err}");
        let ok = Profile::parse(Path::new("t.toml"), PROFILE).unwrap();
        assert_eq!(ok.plugin_settings().unwrap()["a"], vec![("limit".to_string(), "0600".to_string())]);
    }

    #[test]
    fn malformed_profiles_are_named() {
        for (text, needle) in [
            ("id = \"t\"\ntitle = \"t\"\nversion = \"1\"\ncontrol = []\n", "no [[control]]"),
            (&PROFILE.replace("checks = [\"a/x\"]\n", "checks = [\"ax\"]\n"), "plugin/check"),
            (&PROFILE.replace("id = \"1.3\"", "id = \"1.2\""), "twice"),
            (&PROFILE.replace("assessment = \"manual\"", "assessment = \"sometimes\""), "sometimes"),
        ] {
            let err = Profile::parse(Path::new("t.toml"), text).unwrap_err().to_string();
            assert!(err.contains("t.toml") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn plugins_and_checks_a_profile_names_must_exist_and_are_placed_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, PROFILE).unwrap();
        let p = Profile::load(&path).unwrap();
        assert!(p.check_plugins(&["a"], [("a", vec!["x", "y"])]).is_ok());
        let err = p.check_plugins(&["a"], [("a", vec!["x"])]).unwrap_err().to_string();
        assert!(err.contains("p.toml:12") && err.contains("control 1.1: plugin a has no check `y` (it has: x)"), "{err}");
        let err = p.check_plugins(&["b"], []).unwrap_err().to_string();
        assert!(err.contains("the registry has no plugin `a` (it has: b)"), "{err}");
        std::fs::write(&path, PROFILE.replace("[sections]", "[settings.nosuch]\nk = \"v\"\n[sections]")).unwrap();
        let err = Profile::load(&path).unwrap().check_plugins(&["a"], []).unwrap_err().to_string();
        assert!(err.contains("p.toml:5") && err.contains("settings for plugin `nosuch`"), "{err}");
    }
}
