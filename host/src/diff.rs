//! `rampart diff OLD.json NEW.json`: what changed between two scans, so
//! that CI can gate on regressions only. Controls and findings that newly
//! fail, that were fixed, that changed status otherwise, and each profile's
//! score change. A finding is matched across the reports by its check and
//! subject (object, or node and path); when one check says several things
//! of one subject, the worst status stands for it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::{Finding, Severity, Status};

/// Whether a status counts against a scan.
fn failing(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

/// Worst first: the status that stands for several findings of one
/// subject.
fn rank(status: Status) -> u8 {
    match status {
        Status::Error => 4,
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Pass | Status::Waived => 1,
        Status::NotApplicable => 0,
    }
}

/// The part of a report's profile a diff reads.
#[derive(Debug, Deserialize)]
struct ProfileView {
    id: String,
    #[serde(default)]
    title: String,
    score: Option<f64>,
    #[serde(default)]
    controls: Vec<ControlView>,
}

#[derive(Debug, Deserialize)]
struct ControlView {
    id: String,
    #[serde(default)]
    title: String,
    status: Status,
    #[serde(default)]
    severity: Option<Severity>,
}

#[derive(Deserialize)]
struct Profiles {
    #[serde(default)]
    profiles: Vec<ProfileView>,
}

/// One side of the diff: a report's findings (passes expanded) and its
/// profiles' verdicts.
struct Side {
    findings: Vec<Finding>,
    profiles: Vec<ProfileView>,
}

fn read(path: &Path) -> Result<Side> {
    // The report is checked as `merge` checks it (schema version, its
    // summary against its findings), and compact passes are expanded.
    let input = crate::merge::read(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let profiles: Profiles = serde_json::from_str(&text)
        .map_err(|e| Error::Report { path: path.to_path_buf(), message: format!("its profiles cannot be read: {e}") })?;
    Ok(Side { findings: input.report.findings, profiles: profiles.profiles })
}

/// A control or finding whose status moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// A control id (`1.2.15`), or a finding's check (`apiserver/profiling`).
    pub id: String,
    /// The control's title, or the finding's subject (`Pod dev/web`,
    /// `cp-1:/etc/kubernetes/admin.conf`).
    pub what: String,
    /// `None`: not in that report.
    pub old: Option<Status>,
    pub new: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The new finding's message (or the old one's, when it is gone).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Changes sorted into what a reviewer acts on.
#[derive(Debug, Default, Serialize)]
pub struct Changes {
    /// Failing now, and not before (new, or another status before).
    pub newly_failing: Vec<Change>,
    /// Failing before, passing (or not applicable, or gone) now.
    pub fixed: Vec<Change>,
    /// Every other move (pass to warn, fail to error, ...).
    pub changed: Vec<Change>,
}

impl Changes {
    fn add(&mut self, change: Change) {
        let was = change.old.is_some_and(failing);
        let is = change.new.is_some_and(failing);
        match (was, is) {
            (false, true) => self.newly_failing.push(change),
            (true, false) => self.fixed.push(change),
            // A subject that is new, or gone, without failing is no change
            // of status.
            _ if change.old.is_some() && change.new.is_some() && change.old != change.new => self.changed.push(change),
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.newly_failing.is_empty() && self.fixed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Serialize)]
pub struct ProfileDiff {
    pub id: String,
    pub title: String,
    /// `None`: the profile is not in that report, or had no score.
    pub old_score: Option<f64>,
    pub new_score: Option<f64>,
    pub score_change: Option<f64>,
    pub controls: Changes,
}

#[derive(Debug, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub profiles: Vec<ProfileDiff>,
    pub findings: Changes,
    /// Controls and findings newly failing: non-zero exits 1.
    pub regressions: usize,
}

/// Each (check, subject) with its worst status, severity and message.
fn by_subject(findings: &[Finding]) -> BTreeMap<(String, String), (Status, Severity, String)> {
    let mut out: BTreeMap<(String, String), (Status, Severity, String)> = BTreeMap::new();
    for f in findings {
        let subject = f.subject();
        let key = (f.check.to_string(), if subject.is_empty() { "(the target as a whole)".into() } else { subject });
        match out.get(&key) {
            Some((status, _, _)) if rank(*status) >= rank(f.status) => {}
            _ => {
                out.insert(key, (f.status, f.severity, f.message.to_string()));
            }
        }
    }
    out
}

/// Compares two JSON reports.
pub fn diff(old_path: &Path, new_path: &Path) -> Result<Diff> {
    let (old, new) = (read(old_path)?, read(new_path)?);

    let mut profiles = Vec::new();
    let ids: Vec<&str> = {
        let mut ids: Vec<&str> = new.profiles.iter().map(|p| p.id.as_str()).collect();
        ids.extend(old.profiles.iter().map(|p| p.id.as_str()).filter(|id| !new.profiles.iter().any(|p| p.id == *id)));
        ids
    };
    for id in ids {
        let (o, n) = (old.profiles.iter().find(|p| p.id == id), new.profiles.iter().find(|p| p.id == id));
        let mut controls = Changes::default();
        let mut seen = Vec::new();
        for c in n.iter().flat_map(|p| &p.controls).chain(o.iter().flat_map(|p| &p.controls)) {
            if seen.contains(&c.id.as_str()) {
                continue;
            }
            seen.push(&c.id);
            let before = o.and_then(|p| p.controls.iter().find(|x| x.id == c.id));
            let after = n.and_then(|p| p.controls.iter().find(|x| x.id == c.id));
            controls.add(Change {
                id: c.id.clone(),
                what: c.title.clone(),
                old: before.map(|x| x.status),
                new: after.map(|x| x.status),
                severity: c.severity,
                message: String::new(),
            });
        }
        let (old_score, new_score) = (o.and_then(|p| p.score), n.and_then(|p| p.score));
        profiles.push(ProfileDiff {
            id: id.to_string(),
            title: n.or(o).map(|p| p.title.clone()).unwrap_or_default(),
            old_score,
            new_score,
            score_change: old_score.zip(new_score).map(|(a, b)| ((b - a) * 10.0).round() / 10.0),
            controls,
        });
    }

    let (before, after) = (by_subject(&old.findings), by_subject(&new.findings));
    let mut findings = Changes::default();
    for (key, (status, severity, message)) in &after {
        let was = before.get(key);
        findings.add(Change {
            id: key.0.clone(),
            what: key.1.clone(),
            old: was.map(|w| w.0),
            new: Some(*status),
            severity: Some(*severity),
            message: message.clone(),
        });
    }
    for (key, (status, severity, message)) in &before {
        if !after.contains_key(key) {
            findings.add(Change {
                id: key.0.clone(),
                what: key.1.clone(),
                old: Some(*status),
                new: None,
                severity: Some(*severity),
                message: message.clone(),
            });
        }
    }
    // Worst first within each list: severity, then id and subject.
    for list in [&mut findings.newly_failing, &mut findings.fixed, &mut findings.changed] {
        list.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| (&a.id, &a.what).cmp(&(&b.id, &b.what))));
    }
    let regressions = findings.newly_failing.len() + profiles.iter().map(|p| p.controls.newly_failing.len()).sum::<usize>();
    Ok(Diff { old: old_path.display().to_string(), new: new_path.display().to_string(), profiles, findings, regressions })
}

fn word(status: Option<Status>) -> &'static str {
    status.map_or("absent", Status::as_str)
}

fn score(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("{s:.1}%"))
}

fn signed(s: Option<f64>) -> String {
    s.map_or(String::new(), |s| format!(" ({s:+.1})"))
}

/// At most this many rows per list in text and Markdown; JSON has all.
const SHOWN: usize = 50;

impl Diff {
    pub fn text(&self) -> String {
        let mut out = format!("rampart diff {} -> {}\n", self.old, self.new);
        let list = |out: &mut String, title: &str, changes: &[Change]| {
            if changes.is_empty() {
                return;
            }
            *out += &format!("  {title} ({}):\n", changes.len());
            for c in changes.iter().take(SHOWN) {
                *out += &format!("    {:<8} -> {:<8} {}  {}", word(c.old), word(c.new), c.id, crate::report::terminal_safe(&c.what));
                if !c.message.is_empty() && c.new.is_some() {
                    *out += &format!(": {}", crate::report::terminal_safe(&c.message));
                }
                *out += "\n";
            }
            if changes.len() > SHOWN {
                *out += &format!("    ... and {} more (--format json lists all)\n", changes.len() - SHOWN);
            }
        };
        for p in &self.profiles {
            out += &format!("\n{} score {} -> {}{}\n", p.id, score(p.old_score), score(p.new_score), signed(p.score_change));
            list(&mut out, "controls newly failing", &p.controls.newly_failing);
            list(&mut out, "controls fixed", &p.controls.fixed);
            list(&mut out, "controls changed", &p.controls.changed);
        }
        out += "\nfindings\n";
        list(&mut out, "newly failing", &self.findings.newly_failing);
        list(&mut out, "fixed", &self.findings.fixed);
        list(&mut out, "changed", &self.findings.changed);
        if self.findings.is_empty() {
            out += "  no change\n";
        }
        out += &format!("\n{}\n", self.summary());
        out
    }

    fn count(&self, of: impl Fn(&Changes) -> usize) -> (usize, usize) {
        (self.profiles.iter().map(|p| of(&p.controls)).sum(), of(&self.findings))
    }

    /// `newly failing: 1 control, 2 findings; fixed: 0 controls, 1 finding`
    fn summary(&self) -> String {
        let n = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let (bad_controls, bad_findings) = self.count(|c| c.newly_failing.len());
        let (fixed_controls, fixed_findings) = self.count(|c| c.fixed.len());
        format!(
            "newly failing: {}, {}; fixed: {}, {}",
            n(bad_controls, "control"),
            n(bad_findings, "finding"),
            n(fixed_controls, "control"),
            n(fixed_findings, "finding")
        )
    }

    /// A pull-request comment: a headline, the score table, and the lists,
    /// long ones folded.
    pub fn markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ").replace('<', "&lt;").replace('>', "&gt;");
        let verdict = if self.regressions == 0 { "nothing newly fails" } else { "regressions" };
        let mut out = format!("### Rampart: {verdict}\n\n{}\n\n", self.summary());
        if !self.profiles.is_empty() {
            out += "| profile | before | after | change | newly failing | fixed |\n|---|---|---|---|---|---|\n";
            for p in &self.profiles {
                out += &format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    cell(&p.id),
                    score(p.old_score),
                    score(p.new_score),
                    p.score_change.map_or("-".into(), |s| format!("{s:+.1}")),
                    p.controls.newly_failing.len(),
                    p.controls.fixed.len()
                );
            }
            out += "\n";
        }
        let table = |out: &mut String, title: &str, changes: &[Change], open: bool| {
            if changes.is_empty() {
                return;
            }
            *out += &format!("<details{}><summary>{title} ({})</summary>\n\n", if open { " open" } else { "" }, changes.len());
            *out += "| | was | now | severity | what |\n|---|---|---|---|---|\n";
            for c in changes.iter().take(SHOWN) {
                *out += &format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    cell(&c.id),
                    word(c.old),
                    word(c.new),
                    c.severity.map_or("", Severity::as_str),
                    cell(&c.what)
                );
            }
            if changes.len() > SHOWN {
                *out += &format!("\nand {} more.\n", changes.len() - SHOWN);
            }
            *out += "\n</details>\n\n";
        };
        for p in &self.profiles {
            table(&mut out, &format!("{}: controls newly failing", p.id), &p.controls.newly_failing, true);
            table(&mut out, &format!("{}: controls fixed", p.id), &p.controls.fixed, false);
            table(&mut out, &format!("{}: controls changed", p.id), &p.controls.changed, false);
        }
        table(&mut out, "Findings newly failing", &self.findings.newly_failing, true);
        table(&mut out, "Findings fixed", &self.findings.fixed, false);
        table(&mut out, "Findings changed", &self.findings.changed, false);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(old: Option<Status>, new: Option<Status>) -> Change {
        Change { id: "c".into(), what: "w".into(), old, new, severity: None, message: String::new() }
    }

    #[test]
    fn changes_are_sorted_by_whether_they_fail_now_and_failed_before() {
        let mut c = Changes::default();
        c.add(change(Some(Status::Pass), Some(Status::Fail)));
        c.add(change(None, Some(Status::Error)));
        c.add(change(Some(Status::Fail), Some(Status::Pass)));
        c.add(change(Some(Status::Fail), None));
        c.add(change(Some(Status::Fail), Some(Status::Error)));
        c.add(change(Some(Status::Pass), Some(Status::Warn)));
        c.add(change(Some(Status::Pass), Some(Status::Pass)));
        c.add(change(None, Some(Status::Pass)));
        assert_eq!(c.newly_failing.len(), 2);
        assert_eq!(c.fixed.len(), 2);
        assert_eq!(c.changed.len(), 2, "fail to error, pass to warn: {:?}", c.changed);
    }
}
