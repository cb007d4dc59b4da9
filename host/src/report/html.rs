//! One self-contained HTML page for people who read rather than parse: the
//! score of each profile, a bar per section, and every control with its
//! status, severity, evidence, guidance and remediation, filtered by status
//! and severity in the page itself. No network: the styles and the small
//! script are inline, and the page reads well printed (every control open,
//! the filters hidden).
//!
//! The page is a minijinja template (`html/report.html`) over a view built
//! here: plain strings and numbers, so the template holds no logic beyond
//! loops, and every value from the scanned data is HTML-escaped by the
//! template engine.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::{CheckMeta, Finding, Report, Severity, Status, Summary};
use crate::Error;
use crate::profile::{Assessment, ControlResult, ProfileResult};

const TEMPLATE: &str = include_str!("html/report.html");

/// Findings shown in full under one control; the rest are counted, and the
/// JSON report has them all.
const SHOWN: usize = 50;

#[derive(Serialize)]
struct Page {
    tool: String,
    sources: Vec<String>,
    objects: usize,
    kubernetes: Option<String>,
    nodes: Vec<String>,
    errors: Vec<String>,
    waivers: Vec<WaiverRow>,
    profiles: Vec<ProfileView>,
    statuses: Vec<&'static str>,
    severities: Vec<&'static str>,
}

#[derive(Serialize)]
struct WaiverRow {
    waiver: String,
    names: String,
    owner: String,
    expires: String,
    state: String,
    matched: usize,
}

#[derive(Serialize)]
struct ProfileView {
    /// An HTML id: the profile id made safe.
    anchor: String,
    id: String,
    title: String,
    version: String,
    score: String,
    score_without_waivers: Option<String>,
    note: Option<String>,
    counts: Vec<Count>,
    sections: Vec<SectionView>,
    controls: usize,
}

#[derive(Serialize)]
struct Count {
    status: &'static str,
    count: usize,
}

#[derive(Serialize)]
struct SectionView {
    heading: String,
    /// Each status present, with its share of the section in percent.
    bars: Vec<Bar>,
    counts: Vec<Count>,
    controls: Vec<ControlView>,
}

#[derive(Serialize)]
struct Bar {
    status: &'static str,
    count: usize,
    percent: String,
}

#[derive(Serialize)]
struct ControlView {
    id: String,
    title: String,
    status: Status,
    severity: &'static str,
    manual: bool,
    level: Option<u8>,
    reason: Option<String>,
    waiver: Option<WaiverBadge>,
    notes: Vec<String>,
    guidance: String,
    checks: Vec<CheckView>,
    findings: Vec<FindingView>,
    /// Findings of this control not shown: passes, and any past `SHOWN`.
    more: String,
    stig: Option<String>,
}

#[derive(Serialize)]
struct WaiverBadge {
    was: &'static str,
    owner: String,
    justification: String,
    expires: String,
    waiver: String,
}

#[derive(Serialize)]
struct CheckView {
    id: String,
    title: String,
    remediation: String,
}

#[derive(Serialize)]
struct FindingView {
    status: &'static str,
    check: String,
    subject: String,
    message: String,
    evidence: Vec<(String, String)>,
    waiver: Option<WaiverBadge>,
}

fn badge(w: &crate::waivers::WaiverNote) -> WaiverBadge {
    WaiverBadge {
        was: w.status.as_str(),
        owner: w.owner.clone(),
        justification: w.justification.clone(),
        expires: w.expires.clone(),
        waiver: w.waiver.clone(),
    }
}

fn finding_view(f: &Finding) -> FindingView {
    let mut subject = f.subject();
    if let Some(source) = &f.source {
        subject = if subject.is_empty() { source.to_string() } else { format!("{subject} ({source})") };
    }
    FindingView {
        status: f.status.as_str(),
        check: f.check.to_string(),
        subject,
        message: f.message.to_string(),
        evidence: f.evidence.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        waiver: f.waiver.as_deref().map(badge),
    }
}

fn counts(summary: &Summary) -> Vec<Count> {
    Status::ALL.iter().map(|s| Count { status: s.as_str(), count: summary.get(*s) }).filter(|c| c.count > 0).collect()
}

fn percent(score: f64) -> String {
    format!("{score:.1}%")
}

fn control_view(c: &ControlResult, checks: &BTreeMap<&str, &CheckMeta>) -> ControlView {
    let mut shown: Vec<&Finding> = c.findings.iter().filter(|f| f.status != Status::Pass).collect();
    shown.sort_by_key(|f| f.status.urgency());
    let hidden_passes = c.findings.len() - shown.len();
    let over = shown.len().saturating_sub(SHOWN);
    shown.truncate(SHOWN);
    let mut more = Vec::new();
    if over > 0 {
        more.push(format!("{over} more findings that are not passes"));
    }
    if hidden_passes > 0 {
        more.push(format!("{hidden_passes} passing"));
    }
    ControlView {
        id: c.id.clone(),
        title: c.title.clone(),
        status: c.status,
        severity: c.severity.as_str(),
        manual: c.assessment == Assessment::Manual,
        level: c.level,
        reason: c.reason.clone(),
        waiver: c.waiver.as_ref().map(badge),
        notes: c.notes.clone(),
        guidance: c.guidance.clone(),
        checks: c
            .checks
            .iter()
            .chain(&c.assisting)
            .map(|id| {
                let meta = checks.get(id.as_str());
                CheckView {
                    id: id.clone(),
                    title: meta.map(|m| m.title.clone()).unwrap_or_default(),
                    remediation: meta.map(|m| m.remediation.clone()).unwrap_or_default(),
                }
            })
            .collect(),
        findings: shown.into_iter().map(finding_view).collect(),
        more: if more.is_empty() { String::new() } else { format!("Not shown: {} (the JSON report has every finding).", more.join(", ")) },
        stig: match (&c.rule_id, &c.stig_id) {
            (Some(rule), Some(stig)) => Some(format!("{rule} / {stig}")),
            (Some(rule), None) => Some(rule.clone()),
            (None, Some(stig)) => Some(stig.clone()),
            (None, None) => None,
        },
    }
}

fn section_view(heading: String, controls: Vec<ControlView>) -> SectionView {
    let mut tally = Summary::default();
    for c in &controls {
        *tally.slot(c.status) += 1;
    }
    let total = controls.len().max(1) as f64;
    let bars = Status::ALL
        .iter()
        .map(|s| (s.as_str(), tally.get(*s)))
        .filter(|(_, n)| *n > 0)
        .map(|(status, count)| Bar { status, count, percent: format!("{:.2}", count as f64 * 100.0 / total) })
        .collect();
    SectionView { heading, bars, counts: counts(&tally), controls }
}

fn profile_view(p: &ProfileResult, checks: &BTreeMap<&str, &CheckMeta>) -> ProfileView {
    // Sections in the order the profile first uses them.
    let mut order: Vec<&str> = Vec::new();
    for c in &p.controls {
        if !order.contains(&c.section.as_str()) {
            order.push(&c.section);
        }
    }
    let sections = order
        .into_iter()
        .map(|section| {
            let controls = p.controls.iter().filter(|c| c.section == section).map(|c| control_view(c, checks)).collect();
            section_view(crate::profile::Profile::section_heading(&p.sections, section), controls)
        })
        .collect();
    ProfileView {
        anchor: p.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect(),
        id: p.id.clone(),
        title: p.title.clone(),
        version: p.version.clone(),
        score: p.score.map(percent).unwrap_or_else(|| "n/a".into()),
        score_without_waivers: p.score_without_waivers.map(percent),
        note: p.version_note.clone(),
        counts: counts(&p.summary),
        sections,
        controls: p.controls.len(),
    }
}

/// Without a profile: one "control" per check, judged by its worst
/// finding, grouped by plugin.
fn plugin_view(report: &Report, checks: &BTreeMap<&str, &CheckMeta>) -> ProfileView {
    let mut by_check: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_check.entry(&f.check).or_default().push(f);
    }
    let mut by_plugin: BTreeMap<&str, Vec<ControlView>> = BTreeMap::new();
    let mut summary = Summary::default();
    for (check, findings) in by_check {
        let status = [Status::Error, Status::Fail, Status::Warn, Status::Waived, Status::Pass]
            .into_iter()
            .find(|s| findings.iter().any(|f| f.status == *s))
            .unwrap_or(Status::NotApplicable);
        *summary.slot(status) += 1;
        let meta = checks.get(check);
        let control = ControlResult {
            id: check.to_string(),
            section: String::new(),
            title: meta.map(|m| m.title.clone()).unwrap_or_default(),
            status,
            assessment: Assessment::Automated,
            severity: meta.map(|m| m.severity).unwrap_or(Severity::Medium),
            level: None,
            checks: vec![check.to_string()],
            assisting: Vec::new(),
            reason: None,
            waiver: None,
            notes: Vec::new(),
            guidance: meta.map(|m| m.description.clone()).unwrap_or_default(),
            rule_id: None,
            stig_id: None,
            ccis: Vec::new(),
            by_node: BTreeMap::new(),
            summary: None,
            finding_indices: Vec::new(),
            findings: findings.into_iter().cloned().collect(),
        };
        by_plugin.entry(check.split('/').next().unwrap_or(check)).or_default().push(control_view(&control, checks));
    }
    let controls = by_plugin.values().map(Vec::len).sum();
    let decided = summary.pass + summary.fail + summary.error;
    ProfileView {
        anchor: "checks".into(),
        id: "checks".into(),
        title: "Checks run".into(),
        version: String::new(),
        score: if decided == 0 { "n/a".into() } else { percent(summary.pass as f64 * 100.0 / decided as f64) },
        score_without_waivers: None,
        note: Some("No profile was assessed: each check is judged by its worst finding.".into()),
        counts: counts(&summary),
        sections: by_plugin.into_iter().map(|(plugin, controls)| section_view(format!("plugin {plugin}"), controls)).collect(),
        controls,
    }
}

/// The report as one HTML page.
pub fn html(report: &Report) -> Result<String, Error> {
    let checks: BTreeMap<&str, &CheckMeta> = report.plugins.iter().flat_map(|p| &p.checks).map(|c| (c.id.as_str(), c)).collect();
    let profiles = if report.profiles.is_empty() {
        vec![plugin_view(report, &checks)]
    } else {
        report.profiles.iter().map(|p| profile_view(p, &checks)).collect()
    };
    let mut errors = report.errors.clone();
    for p in &report.plugins {
        if let Some(e) = &p.error {
            errors.push(format!("plugin {} was not loaded: {e}", p.name));
        }
    }
    let page = Page {
        tool: format!("{} {}", report.tool.name, report.tool.version),
        sources: report.targets.cluster_sources.clone(),
        objects: report.targets.cluster_objects,
        kubernetes: report.targets.kubernetes_version.clone(),
        nodes: report.targets.nodes.iter().map(|n| n.name.clone()).collect(),
        errors,
        waivers: report
            .waivers
            .iter()
            .map(|w| WaiverRow {
                waiver: w.waiver.clone(),
                names: w.control.clone().or_else(|| w.check.clone()).unwrap_or_default()
                    + &w.selectors.iter().map(|s| format!(" {s}")).collect::<String>(),
                owner: w.owner.clone(),
                expires: w.expires.clone(),
                state: format!("{:?}", w.state).to_lowercase(),
                matched: w.matched,
            })
            .collect(),
        profiles,
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        severities: [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info]
            .iter()
            .map(|s| s.as_str())
            .collect(),
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("report.html", TEMPLATE).map_err(|e| Error::Render(format!("the HTML template: {e}")))?;
    let template = env.get_template("report.html").map_err(|e| Error::Render(format!("the HTML template: {e}")))?;
    template.render(minijinja::value::Serde(&page)).map_err(|e| Error::Render(format!("rendering the HTML report: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{finding, report as plain};

    fn report(findings: Vec<Finding>) -> Report {
        Report { errors: vec!["a.yaml: <script>alert(1)</script>".into()], ..plain(findings) }
    }

    #[test]
    fn scanned_text_is_escaped_and_never_becomes_markup() {
        let page = html(&report(vec![finding("p/c", Status::Fail, "<img src=x onerror=alert(1)>")])).unwrap();
        assert!(!page.contains("<img src=x"), "an object name became markup");
        assert!(!page.contains("<script>alert(1)"), "an input error became a script");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("&lt;b&gt;bad&lt;&#x2f;b&gt;") || page.contains("&lt;b&gt;bad&lt;/b&gt;"));
    }

    #[test]
    fn without_a_profile_each_check_is_judged_by_its_worst_finding() {
        let page = html(&report(vec![
            finding("p/a", Status::Pass, "one"),
            finding("p/a", Status::Fail, "two"),
            finding("p/b", Status::Pass, "three"),
        ]))
        .unwrap();
        assert!(page.contains(r#"data-status="fail" data-severity="medium""#) || page.contains(r#"data-status="fail""#));
        assert_eq!(page.matches(r#"class="control""#).count(), 2);
        // One of the two checks passed, one failed.
        assert!(page.contains(">50.0%<"), "{page}");
        // The pass is counted, not listed.
        assert!(page.contains("1 passing"));
        assert!(!page.contains("three is"));
    }
}
