//! STIG checklists: a STIG profile's verdicts as DISA STIG Viewer reads them,
//! `.ckl` (XML, STIG Viewer 2) or `.cklb` (JSON, STIG Viewer 3). Importers
//! match rules on the benchmark id and the rule id with its revision, so both
//! are the profile's values verbatim; docs/checklists.md says what goes where.
//! The asset, the rules and their bounded texts are shared with the XCCDF
//! results (xccdf.rs).

use std::borrow::Cow;
use std::io::Write;

use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::profile::{Assessment, Checklist, ControlResult, ProfileResult};
use crate::report::{Finding, Report, Severity, Status, Summary};

/// FINDING_DETAILS is cut at this many characters (STIG Manager keeps
/// 32,767 UTF-16 units; STIG Viewer slows down on long fields).
const MAX_DETAILS: usize = 16_000;
/// One finding's line in FINDING_DETAILS.
const MAX_LINE: usize = 1_000;
/// One evidence value within a line.
const MAX_EVIDENCE_VALUE: usize = 200;
/// COMMENTS is cut at this many characters.
const MAX_COMMENTS: usize = 8_000;

/// Fails unless a profile can be written as a checklist; lets `scan` refuse
/// before it runs anything.
pub fn check_profile(id: &str, checklist: Option<&Checklist>) -> Result<(), Error> {
    match checklist {
        Some(_) => Ok(()),
        None => Err(Error::NotAStig { profile: id.to_string() }),
    }
}

/// What a checklist is about (its ASSET / target_data) and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// HOST_NAME / `target_data.host_name`: the name importers file the
    /// results under.
    pub host_name: String,
    /// TARGET_COMMENT / `target_data.comments`.
    pub comment: String,
    /// `rampart <version>`, named in every rule's comments.
    pub tool: String,
}

impl Asset {
    /// The asset a report is about: `name` (`--asset`), else the host of the
    /// API server a live scan read, else `kubernetes`.
    pub fn of(report: &Report, name: Option<&str>) -> Asset {
        let t = &report.targets;
        let server = t.cluster_sources.iter().find(|s| s.starts_with("https://") || s.starts_with("http://"));
        let host_name = match (name, server.and_then(|s| server_host(s))) {
            (Some(n), _) => n.to_string(),
            (None, Some(host)) => host.to_string(),
            (None, None) => "kubernetes".to_string(),
        };
        let tool = format!("rampart {}", report.tool.version);
        let mut parts = vec![format!("Kubernetes, scanned by {tool}")];
        match server {
            Some(s) => parts.push(format!("API server {}", s.split(' ').next().unwrap_or(s))),
            None if t.cluster_objects > 0 => parts.push(format!("{} cluster objects read from files", t.cluster_objects)),
            None => parts.push("no cluster objects".to_string()),
        }
        if t.nodes.is_empty() {
            parts.push("no nodes covered".to_string());
        } else {
            parts.push(format!("nodes covered: {}", t.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")));
        }
        Asset { host_name, comment: parts.join("; ") + ".", tool }
    }
}

/// `https://host:6443 (context prod, ...)` → `host`; `https://[fd00::1]:6443` → `fd00::1`.
fn server_host(source: &str) -> Option<&str> {
    let rest = source.strip_prefix("https://").or_else(|| source.strip_prefix("http://"))?;
    let authority = rest.split(['/', ' ']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

/// CKL STATUS. Fail-closed: only a pass is NotAFinding; what rampart could
/// not decide (error) or leaves to a person (warn) is Not_Reviewed. A
/// waived control is written with the status it had without the waiver
/// ([`ControlResult::unwaived`]), the waiver in its comments; a waived
/// status alone is an accepted, open finding.
pub fn ckl_status(status: Status) -> &'static str {
    match status {
        Status::Pass => "NotAFinding",
        Status::Fail | Status::Waived => "Open",
        Status::NotApplicable => "Not_Applicable",
        Status::Warn | Status::Error => "Not_Reviewed",
    }
}

/// CKLB `status`, the same mapping in STIG Viewer 3's words.
pub fn cklb_status(status: Status) -> &'static str {
    match status {
        Status::Pass => "not_a_finding",
        Status::Fail | Status::Waived => "open",
        Status::NotApplicable => "not_applicable",
        Status::Warn | Status::Error => "not_reviewed",
    }
}

/// STIGs know three severities (CAT I, II, III).
pub(super) fn stig_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low | Severity::Info => "low",
    }
}

/// A UUID derived from its parts (SHA-256, version 8 "custom" per RFC 9562),
/// so that the same scan gives the same checklist byte for byte.
fn uuid(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"rampart checklist");
    for p in parts {
        hash.update([0]);
        hash.update(p.as_bytes());
    }
    let digest = hash.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

/// At most `max` characters of `text`, ending in `…` when cut.
fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().nth(max).is_none() {
        return Cow::Borrowed(text);
    }
    let cut = text.char_indices().nth(max.saturating_sub(1)).map_or(text.len(), |(i, _)| i);
    Cow::Owned(format!("{}…", &text[..cut]))
}

/// One rule of a checklist, from one control.
pub(super) struct Rule<'a> {
    pub(super) control: &'a ControlResult,
    pub(super) rule_id: &'a str,
    uuid: String,
    /// FINDING_DETAILS: what rampart saw, bounded.
    pub(super) details: String,
    /// COMMENTS: who decided and why, bounded.
    pub(super) comments: String,
}

/// One benchmark of a checklist (an iSTIG, a `stigs[]` entry).
pub(super) struct Stig<'a> {
    pub(super) id: &'a Checklist,
    uuid: String,
    /// `<title> :: Version <v>, <release info>`, as STIG Viewer writes STIGRef.
    stig_ref: String,
    /// `Unclass` for UNCLASSIFIED, as STIG Viewer writes Class.
    class: String,
    pub(super) rules: Vec<Rule<'a>>,
}

/// The benchmarks of the assessed profiles, or why they cannot be written
/// for STIG tools (no profile, no `[checklist]`, no rule ids).
pub(super) fn stigs<'a>(profiles: &'a [ProfileResult], asset: &Asset) -> Result<Vec<Stig<'a>>, Error> {
    if profiles.is_empty() {
        return Err(Error::ChecklistWithoutProfile);
    }
    let mut out = Vec::new();
    for p in profiles {
        let id = p.checklist.as_ref().ok_or_else(|| Error::NotAStig { profile: p.id.clone() })?;
        let missing: Vec<&str> =
            p.controls.iter().filter(|c| c.rule_id.as_deref().is_none_or(str::is_empty)).map(|c| c.id.as_str()).collect();
        if !missing.is_empty() {
            return Err(Error::NoRuleId { profile: p.id.clone(), controls: missing.join(", ") });
        }
        let rules = p
            .controls
            .iter()
            .map(|c| {
                let rule_id = c.rule_id.as_deref().unwrap_or_default();
                Rule {
                    control: c,
                    rule_id,
                    uuid: uuid(&["rule", &id.benchmark_id, rule_id]),
                    details: finding_details(c),
                    comments: comments(c, &p.id, &asset.tool),
                }
            })
            .collect();
        let class = if id.classification.eq_ignore_ascii_case("UNCLASSIFIED") { "Unclass".to_string() } else { id.classification.clone() };
        out.push(Stig {
            id,
            uuid: uuid(&["stig", &id.benchmark_id, &id.version, &id.release_info]),
            stig_ref: format!("{} :: Version {}, {}", id.title, id.version, id.release_info),
            class,
            rules,
        });
    }
    Ok(out)
}

fn counts(summary: &Summary) -> String {
    [Status::Fail, Status::Error, Status::Warn, Status::Waived, Status::Pass, Status::NotApplicable]
        .into_iter()
        .filter(|s| summary.get(*s) > 0)
        .map(|s| format!("{} {}", summary.get(s), s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a finding is about: `Pod dev/web`, `node cp-1 /var/lib/etcd`, `node cp-1`, `cluster`.
fn subject(f: &Finding) -> String {
    let node = f.node.as_ref().map(|n| format!("node {n}"));
    let what = f.object.as_ref().map(ToString::to_string).or_else(|| f.path.as_deref().map(str::to_string));
    match (node, what) {
        (Some(n), Some(w)) => format!("{n} {w}"),
        (Some(n), None) => n,
        (None, Some(w)) => w,
        (None, None) => "cluster".to_string(),
    }
}

/// FINDING_DETAILS: what rampart saw, one line per finding (subject,
/// message, the check when the control has several, evidence), worst
/// first, cut at [`MAX_DETAILS`] characters.
fn finding_details(c: &ControlResult) -> String {
    if c.findings.is_empty() {
        return "rampart has no findings for this rule; the comments say why.".to_string();
    }
    // A manual control's findings assist a reviewer; they do not decide.
    let what = if c.assessment == Assessment::Manual { "rampart findings to help the review" } else { "rampart findings" };
    let mut out = format!("{what}: {}.", counts(&Summary::of(&c.findings)));
    let mut findings: Vec<&Finding> = c.findings.iter().collect();
    findings.sort_by_key(|f| f.status.urgency());
    let mut used = out.chars().count();
    for (i, f) in findings.iter().enumerate() {
        let mut line = format!("{}: {}: {}", f.status.as_str(), subject(f), f.message);
        // Several checks may say the same of one subject: name which.
        if c.checks.len() > 1 {
            line += &format!(" ({})", f.check);
        }
        if !f.evidence.is_empty() {
            let facts: Vec<String> = f.evidence.iter().map(|(k, v)| format!("{k}={}", clip(v, MAX_EVIDENCE_VALUE))).collect();
            line += &format!(" [{}]", facts.join("; "));
        }
        let line = clip(&line, MAX_LINE);
        let len = line.chars().count() + 1;
        // Room is kept for the closing note.
        if used + len > MAX_DETAILS - 200 {
            let rest = Summary::of(findings[i..].iter().copied());
            out += &format!(
                "\n… {} more finding(s) not shown ({}); the JSON report (--format json) has them all.",
                findings.len() - i,
                counts(&rest)
            );
            break;
        }
        out.push('\n');
        out += &line;
        used += len;
    }
    out
}

/// COMMENTS: who decided, the verdict and why; for rules left to a person,
/// how to review them.
fn comments(c: &ControlResult, profile: &str, tool: &str) -> String {
    let kind = match c.assessment {
        Assessment::Automated => "automated",
        Assessment::Manual => "manual",
    };
    let mut out = format!("{tool}, profile {profile}: {kind} control, verdict {}.", c.status.as_str());
    match c.status {
        Status::Error => {
            out += " Not reviewed: rampart could not decide this rule, so it is not a pass until a person or a complete scan does."
        }
        Status::Warn => out += " Not reviewed: a person must assess this rule.",
        _ => {}
    }
    if let Some(w) = &c.waiver {
        out += &format!(
            "\nWaived (without the waiver: {}) until {}, owner {}: {} ({})",
            w.status.as_str(),
            w.expires,
            w.owner,
            w.justification,
            w.waiver
        );
    }
    if let Some(reason) = c.reason.as_deref().filter(|r| !r.is_empty()) {
        out += "\nReason: ";
        out += reason;
    }
    for note in &c.notes {
        out += "\nNote: ";
        out += note;
    }
    if matches!(c.status, Status::Warn | Status::Error) && !c.guidance.is_empty() {
        out += "\nHow to review: ";
        out += &c.guidance;
    }
    if !c.checks.is_empty() {
        out += "\nChecks: ";
        out += &c.checks.join(", ");
    }
    clip(&out, MAX_COMMENTS).into_owned()
}

/// Text as XML 1.0 allows it: characters it forbids even escaped (most
/// control characters) become U+FFFD.
pub(super) fn xml_chars(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().map(|c| if allowed(c) { c } else { '\u{FFFD}' }).collect())
    }
}

/// An element holding text; `<`, `>` and `&` are escaped (quotes need not be in text).
pub(super) fn element<W: Write>(w: &mut Writer<W>, tag: &str, text: &str) -> std::io::Result<()> {
    w.create_element(tag).write_text_content(BytesText::from_escaped(partial_escape(xml_chars(text))))?;
    Ok(())
}

fn stig_data<W: Write>(w: &mut Writer<W>, attribute: &str, data: &str) -> std::io::Result<()> {
    w.create_element("STIG_DATA").write_inner_content(|w| {
        element(w, "VULN_ATTRIBUTE", attribute)?;
        element(w, "ATTRIBUTE_DATA", data)
    })?;
    Ok(())
}

/// The checklist as a STIG Viewer 2 `.ckl`: one iSTIG per profile.
pub fn ckl(profiles: &[ProfileResult], asset: &Asset) -> Result<String, Error> {
    let stigs = stigs(profiles, asset)?;
    xml_document(&asset.tool, |w| {
        w.create_element("CHECKLIST").write_inner_content(|w| {
            w.create_element("ASSET").write_inner_content(|w| {
                for (tag, text) in [
                    ("ROLE", "None"),
                    ("ASSET_TYPE", "Computing"),
                    ("MARKING", ""),
                    ("HOST_NAME", asset.host_name.as_str()),
                    ("HOST_IP", ""),
                    ("HOST_MAC", ""),
                    ("HOST_FQDN", ""),
                    ("TARGET_COMMENT", asset.comment.as_str()),
                    ("TECH_AREA", ""),
                    ("TARGET_KEY", ""),
                    ("STIG_GUID", ""),
                    ("WEB_OR_DATABASE", "false"),
                    ("WEB_DB_SITE", ""),
                    ("WEB_DB_INSTANCE", ""),
                ] {
                    element(w, tag, text)?;
                }
                Ok(())
            })?;
            w.create_element("STIGS").write_inner_content(|w| {
                for stig in &stigs {
                    w.create_element("iSTIG").write_inner_content(|w| istig(w, stig))?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    })
}

/// An XML document (declaration, a comment naming the tool, then `body`),
/// indented with tabs as STIG Viewer writes, ending in a newline.
pub(super) fn xml_document(tool: &str, body: impl FnOnce(&mut Writer<Vec<u8>>) -> std::io::Result<()>) -> Result<String, Error> {
    let mut w = Writer::new_with_indent(Vec::new(), b'\t', 1);
    let write = || -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.write_event(Event::Comment(BytesText::new(&format!("written by {tool}"))))?;
        body(&mut w)
    };
    write().map_err(|e| Error::ChecklistWrite(e.to_string()))?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).map_err(|e| Error::ChecklistWrite(e.to_string()))
}

fn istig<W: Write>(w: &mut Writer<W>, stig: &Stig<'_>) -> std::io::Result<()> {
    let id = stig.id;
    w.create_element("STIG_INFO").write_inner_content(|w| {
        for (name, data) in [
            ("version", id.version.as_str()),
            ("classification", id.classification.as_str()),
            ("customname", ""),
            ("stigid", id.benchmark_id.as_str()),
            ("description", ""),
            ("filename", ""),
            ("releaseinfo", id.release_info.as_str()),
            ("title", id.title.as_str()),
            ("uuid", stig.uuid.as_str()),
            ("notice", ""),
            ("source", ""),
        ] {
            // STIG Viewer leaves SID_DATA out when it has nothing.
            w.create_element("SI_DATA").write_inner_content(|w| {
                element(w, "SID_NAME", name)?;
                if !data.is_empty() {
                    element(w, "SID_DATA", data)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    for rule in &stig.rules {
        w.create_element("VULN").write_inner_content(|w| vuln(w, stig, rule))?;
    }
    Ok(())
}

fn vuln<W: Write>(w: &mut Writer<W>, stig: &Stig<'_>, rule: &Rule<'_>) -> std::io::Result<()> {
    let c = rule.control;
    for (attribute, data) in [
        ("Vuln_Num", c.id.as_str()),
        ("Severity", stig_severity(c.severity)),
        ("Group_Title", ""),
        ("Rule_ID", rule.rule_id),
        ("Rule_Ver", c.stig_id.as_deref().unwrap_or_default()),
        ("Rule_Title", c.title.as_str()),
        ("Vuln_Discuss", ""),
        ("IA_Controls", ""),
        ("Check_Content", ""),
        ("Fix_Text", ""),
        ("False_Positives", ""),
        ("False_Negatives", ""),
        ("Documentable", ""),
        ("Mitigations", ""),
        ("Potential_Impact", ""),
        ("Third_Party_Tools", ""),
        ("Mitigation_Control", ""),
        ("Responsibility", ""),
        ("Security_Override_Guidance", ""),
        ("Check_Content_Ref", ""),
        ("Weight", "10.0"),
        ("Class", stig.class.as_str()),
        ("STIGRef", stig.stig_ref.as_str()),
        ("TargetKey", ""),
        ("STIG_UUID", stig.uuid.as_str()),
        // The benchmark's rules carry no legacy ids here: one empty entry,
        // as STIG Viewer writes it.
        ("LEGACY_ID", ""),
    ] {
        stig_data(w, attribute, data)?;
    }
    for cci in &c.ccis {
        stig_data(w, "CCI_REF", cci)?;
    }
    element(w, "STATUS", ckl_status(c.unwaived()))?;
    element(w, "FINDING_DETAILS", &rule.details)?;
    element(w, "COMMENTS", &rule.comments)?;
    element(w, "SEVERITY_OVERRIDE", "")?;
    element(w, "SEVERITY_JUSTIFICATION", "")
}

/// A `.cklb` document, fields in STIG Viewer 3's order. The schema allows
/// no other fields, so nothing of rampart's own is added.
#[derive(Serialize)]
struct Cklb<'a> {
    title: String,
    id: String,
    cklb_version: &'static str,
    active: bool,
    mode: u8,
    has_path: bool,
    target_data: TargetData<'a>,
    stigs: Vec<CklbStig<'a>>,
}

#[derive(Serialize)]
struct TargetData<'a> {
    target_type: &'static str,
    host_name: &'a str,
    ip_address: &'static str,
    mac_address: &'static str,
    fqdn: &'static str,
    comments: &'a str,
    role: &'static str,
    is_web_database: bool,
    technology_area: &'static str,
    web_db_site: &'static str,
    web_db_instance: &'static str,
    classification: &'static str,
}

#[derive(Serialize)]
struct CklbStig<'a> {
    stig_name: &'a str,
    display_name: &'a str,
    stig_id: &'a str,
    release_info: &'a str,
    version: &'a str,
    uuid: &'a str,
    reference_identifier: &'static str,
    size: usize,
    rules: Vec<CklbRule<'a>>,
}

#[derive(Serialize)]
struct GroupTree<'a> {
    id: &'a str,
    title: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct ContentRef {
    name: &'static str,
    href: &'static str,
}

#[derive(Serialize)]
struct Overrides {}

#[derive(Serialize)]
struct CklbRule<'a> {
    uuid: &'a str,
    stig_uuid: &'a str,
    target_key: Option<&'static str>,
    stig_ref: &'a str,
    group_id: &'a str,
    group_id_src: &'a str,
    group_title: &'static str,
    group_tree: [GroupTree<'a>; 1],
    rule_id: &'a str,
    rule_id_src: &'a str,
    rule_version: &'a str,
    rule_title: &'a str,
    severity: &'static str,
    weight: &'static str,
    classification: &'a str,
    discussion: &'static str,
    check_content: &'static str,
    check_content_ref: ContentRef,
    fix_text: &'static str,
    false_positives: &'static str,
    false_negatives: &'static str,
    documentable: &'static str,
    mitigations: &'static str,
    potential_impacts: &'static str,
    third_party_tools: &'static str,
    mitigation_control: &'static str,
    responsibility: &'static str,
    security_override_guidance: &'static str,
    ia_controls: &'static str,
    legacy_ids: [&'static str; 0],
    ccis: &'a [String],
    reference_identifier: &'static str,
    status: &'static str,
    finding_details: &'a str,
    comments: &'a str,
    overrides: Overrides,
}

/// `Kubernetes Security Technical Implementation Guide` → `Kubernetes`.
fn display_name(title: &str) -> &str {
    title.strip_suffix(" Security Technical Implementation Guide").filter(|s| !s.is_empty()).unwrap_or(title)
}

/// `V2R6` from version `2` and `Release: 6 Benchmark Date: ...`.
fn revision(id: &Checklist) -> Option<String> {
    let release = id.release_info.strip_prefix("Release:")?.split_whitespace().next()?;
    Some(format!("V{}R{release}", id.version))
}

/// The checklist as a STIG Viewer 3 `.cklb`: one `stigs[]` entry per profile.
pub fn cklb(profiles: &[ProfileResult], asset: &Asset) -> Result<String, Error> {
    let stigs = stigs(profiles, asset)?;
    let mut title = asset.host_name.clone();
    for s in &stigs {
        title += "_";
        title += &s.id.benchmark_id;
        if let Some(r) = revision(s.id) {
            title += "_";
            title += &r;
        }
    }
    let mut id_parts = vec!["checklist", asset.host_name.as_str()];
    id_parts.extend(stigs.iter().map(|s| s.id.benchmark_id.as_str()));
    let doc = Cklb {
        title,
        id: uuid(&id_parts),
        cklb_version: "1.0",
        active: false,
        mode: 1,
        has_path: true,
        target_data: TargetData {
            target_type: "Computing",
            host_name: &asset.host_name,
            ip_address: "",
            mac_address: "",
            fqdn: "",
            comments: &asset.comment,
            role: "None",
            is_web_database: false,
            technology_area: "",
            web_db_site: "",
            web_db_instance: "",
            classification: "",
        },
        stigs: stigs.iter().map(cklb_stig).collect(),
    };
    // serde_json escapes what JSON must; every string is valid UTF-8 already.
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::ChecklistWrite(e.to_string()))?;
    Ok(text + "\n")
}

fn cklb_stig<'a>(stig: &'a Stig<'a>) -> CklbStig<'a> {
    let classification = if stig.class == "Unclass" { "Unclassified" } else { stig.class.as_str() };
    CklbStig {
        stig_name: &stig.id.title,
        display_name: display_name(&stig.id.title),
        stig_id: &stig.id.benchmark_id,
        release_info: &stig.id.release_info,
        version: &stig.id.version,
        uuid: &stig.uuid,
        reference_identifier: "",
        size: stig.rules.len(),
        rules: stig
            .rules
            .iter()
            .map(|rule| {
                let c = rule.control;
                CklbRule {
                    uuid: &rule.uuid,
                    stig_uuid: &stig.uuid,
                    target_key: None,
                    stig_ref: &stig.stig_ref,
                    group_id: &c.id,
                    group_id_src: &c.id,
                    group_title: "",
                    group_tree: [GroupTree { id: &c.id, title: "", description: "<GroupDescription></GroupDescription>" }],
                    rule_id: rule.rule_id.strip_suffix("_rule").unwrap_or(rule.rule_id),
                    rule_id_src: rule.rule_id,
                    rule_version: c.stig_id.as_deref().unwrap_or_default(),
                    rule_title: &c.title,
                    severity: stig_severity(c.severity),
                    weight: "10.0",
                    classification,
                    discussion: "",
                    check_content: "",
                    check_content_ref: ContentRef { name: "", href: "" },
                    fix_text: "",
                    false_positives: "",
                    false_negatives: "",
                    documentable: "",
                    mitigations: "",
                    potential_impacts: "",
                    third_party_tools: "",
                    mitigation_control: "",
                    responsibility: "",
                    security_override_guidance: "",
                    ia_controls: "",
                    legacy_ids: [],
                    ccis: &c.ccis,
                    reference_identifier: "",
                    status: cklb_status(c.unwaived()),
                    finding_details: &rule.details,
                    comments: &rule.comments,
                    overrides: Overrides {},
                }
            })
            .collect(),
    }
}

/// The fixtures are shared with the XCCDF tests (xccdf.rs).
#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use quick_xml::events::BytesStart;
    use quick_xml::{Reader, XmlVersion};
    use serde_json::Value;

    use super::*;
    use crate::profile::{Coverage, Profile, evaluate};
    use crate::report::{Evidence, NodeTarget, ObjectRef, SCHEMA_VERSION, Targets, Tool};

    /// One control per status: pass, fail, warn (manual), not-applicable, error.
    pub(in crate::report) const PROFILE: &str = r#"
id = "stig-t"
title = "A STIG, test subset"
version = "V2R6"

[checklist]
benchmark_id = "Kubernetes_STIG"
title = "Kubernetes Security Technical Implementation Guide"
version = "2"
release_info = "Release: 6 Benchmark Date: 01 Apr 2026"

[[control]]
id = "V-1"
section = "s"
title = "passes"
assessment = "automated"
severity = "high"
checks = ["a/pass"]
rule_id = "SV-1r100_rule"
stig_id = "CNTR-K8-000010"
ccis = ["CCI-000001"]

[[control]]
id = "V-2"
section = "s"
title = "fails"
assessment = "automated"
severity = "medium"
checks = ["a/fail", "a/fail2"]
rule_id = "SV-2r200_rule"
stig_id = "CNTR-K8-000020"
ccis = ["CCI-000366", "CCI-002263"]

[[control]]
id = "V-3"
section = "s"
title = "a person looks"
assessment = "manual"
severity = "low"
checks = ["a/look"]
guidance = "Read the list."
rule_id = "SV-3r300_rule"
stig_id = "CNTR-K8-000030"

[[control]]
id = "V-4"
section = "s"
title = "gone from Kubernetes"
assessment = "automated"
not_applicable = "removed in Kubernetes 1.25"
rule_id = "SV-4r400_rule"
stig_id = "CNTR-K8-000040"

[[control]]
id = "V-5"
section = "s"
title = "cannot be decided"
assessment = "automated"
checks = ["a/broken"]
rule_id = "SV-5r500_rule"
stig_id = "CNTR-K8-000050"
"#;

    pub(in crate::report) fn finding(check: &str, status: Status, message: &str) -> Finding {
        let mut evidence = Evidence::default();
        evidence.push("mode".into(), "0644".into());
        Finding {
            line: None,
            waiver: None,
            check: check.into(),
            status,
            severity: Severity::Medium,
            message: message.into(),
            object: None,
            path: Some("/etc/kubernetes/admin.conf".into()),
            node: Some("cp-1".into()),
            source: None,
            evidence,
            profiles: Default::default(),
        }
    }

    pub(in crate::report) fn result_of(text: &str, findings: &[Finding]) -> ProfileResult {
        let profile = Profile::parse(Path::new("stig-t.toml"), text).unwrap();
        evaluate(&profile, findings, &Coverage { ran: vec!["a".into()], skipped: BTreeMap::new(), denied: BTreeMap::new() })
    }

    pub(crate) fn result() -> ProfileResult {
        let pod = ObjectRef { api_version: "v1".into(), kind: "Pod".into(), namespace: Some("dev".into()), name: "web".into() };
        result_of(
            PROFILE,
            &[
                finding("a/pass", Status::Pass, "owned by root:root"),
                Finding {
                    object: Some(pod.into()),
                    path: None,
                    node: None,
                    ..finding("a/fail", Status::Fail, "runs <privileged> & \"root\" > all\u{1}")
                },
                finding("a/fail", Status::Pass, "fine here"),
                finding("a/fail2", Status::Pass, "fine here"),
                finding("a/look", Status::Fail, "binds cluster-admin"),
                finding("a/broken", Status::Error, "the plugin timed out"),
            ],
        )
    }

    pub(in crate::report) fn asset() -> Asset {
        Asset { host_name: "prod-cluster".into(), comment: "scanned by rampart".into(), tool: "rampart 0.1.0".into() }
    }

    /// An element of a parsed document: name, attributes, text (entities
    /// resolved) and children.
    #[derive(Debug, Default)]
    pub(in crate::report) struct Node {
        pub(in crate::report) name: String,
        pub(in crate::report) attrs: BTreeMap<String, String>,
        pub(in crate::report) text: String,
        pub(in crate::report) children: Vec<Node>,
    }

    impl Node {
        fn of(e: &BytesStart<'_>) -> Node {
            let attrs = e
                .attributes()
                .map(|a| {
                    let a = a.expect("a well-formed attribute");
                    let value = a.normalized_value(XmlVersion::Implicit1_0).expect("an attribute value");
                    (a.key.into_inner().to_string(), value.into_owned())
                })
                .collect();
            Node { name: e.name().into_inner().to_string(), attrs, ..Node::default() }
        }

        pub(in crate::report) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
            self.children.iter().filter(move |c| c.name == name)
        }

        /// An attribute's value, which must be there.
        pub(in crate::report) fn attr(&self, name: &str) -> &str {
            self.attrs.get(name).unwrap_or_else(|| panic!("no {name} on <{}>", self.name))
        }

        pub(in crate::report) fn one<'a>(&'a self, name: &'a str) -> &'a Node {
            let found: Vec<&Node> = self.all(name).collect();
            assert_eq!(found.len(), 1, "one <{name}> in <{}>", self.name);
            found[0]
        }

        /// `(VULN_ATTRIBUTE, ATTRIBUTE_DATA)` of a VULN, in order.
        fn attributes(&self) -> Vec<(String, String)> {
            self.all("STIG_DATA").map(|d| (d.one("VULN_ATTRIBUTE").text.clone(), d.one("ATTRIBUTE_DATA").text.clone())).collect()
        }

        fn attribute(&self, name: &str) -> String {
            let values: Vec<String> = self.attributes().into_iter().filter(|(a, _)| a == name).map(|(_, v)| v).collect();
            assert_eq!(values.len(), 1, "{name}");
            values[0].clone()
        }
    }

    /// Parses XML with quick-xml's reader, which checks that end tags match.
    pub(in crate::report) fn parse_xml(xml: &str) -> Node {
        let mut reader = Reader::from_str(xml);
        let mut stack = vec![Node::default()];
        loop {
            match reader.read_event().unwrap_or_else(|e| panic!("not XML: {e}\n{xml}")) {
                Event::Start(e) => stack.push(Node::of(&e)),
                Event::Empty(e) => {
                    let node = Node::of(&e);
                    stack.last_mut().unwrap().children.push(node);
                }
                Event::End(_) => {
                    let node = stack.pop().unwrap();
                    stack.last_mut().expect("balanced").children.push(node);
                }
                Event::Text(t) => stack.last_mut().unwrap().text += &t.xml10_content(),
                Event::GeneralRef(r) => {
                    let text = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_xml_entity(&r).expect("a predefined entity").to_string(),
                    };
                    stack.last_mut().unwrap().text += &text;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(stack.len(), 1, "every element closed");
        stack.pop().unwrap()
    }

    fn vulns(doc: &Node) -> Vec<&Node> {
        doc.one("CHECKLIST").one("STIGS").one("iSTIG").all("VULN").collect()
    }

    fn vuln<'a>(doc: &'a Node, id: &str) -> &'a Node {
        vulns(doc).into_iter().find(|v| v.attribute("Vuln_Num") == id).unwrap()
    }

    fn rule<'a>(doc: &'a Value, id: &str) -> &'a Value {
        doc["stigs"][0]["rules"].as_array().unwrap().iter().find(|r| r["group_id"] == id).unwrap()
    }

    #[test]
    fn every_status_maps_and_an_error_is_never_a_pass() {
        let r = result();
        let statuses: Vec<Status> = r.controls.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [Status::Pass, Status::Fail, Status::Warn, Status::NotApplicable, Status::Error],
            "the fixture has each status"
        );
        let xml = parse_xml(&ckl(std::slice::from_ref(&r), &asset()).unwrap());
        let json: Value = serde_json::from_str(&cklb(std::slice::from_ref(&r), &asset()).unwrap()).unwrap();
        for (id, ckl_word, cklb_word) in [
            ("V-1", "NotAFinding", "not_a_finding"),
            ("V-2", "Open", "open"),
            ("V-3", "Not_Reviewed", "not_reviewed"),
            ("V-4", "Not_Applicable", "not_applicable"),
            ("V-5", "Not_Reviewed", "not_reviewed"),
        ] {
            assert_eq!(vuln(&xml, id).one("STATUS").text, ckl_word, "{id}");
            assert_eq!(rule(&json, id)["status"], cklb_word, "{id}");
        }
        for s in Status::ALL {
            assert_eq!(ckl_status(s) == "NotAFinding", s == Status::Pass, "{s:?}");
            assert_eq!(cklb_status(s) == "not_a_finding", s == Status::Pass, "{s:?}");
        }
    }

    #[test]
    fn the_reason_and_the_tool_are_in_the_comments() {
        let r = result();
        let xml = parse_xml(&ckl(std::slice::from_ref(&r), &asset()).unwrap());
        let comments = |id: &str| vuln(&xml, id).one("COMMENTS").text.clone();
        assert!(comments("V-4").contains("Reason: removed in Kubernetes 1.25"), "{}", comments("V-4"));
        assert!(comments("V-5").contains("verdict error") && comments("V-5").contains("the plugin timed out"), "{}", comments("V-5"));
        assert!(comments("V-3").contains("How to review: Read the list."), "{}", comments("V-3"));
        assert!(comments("V-1").starts_with("rampart 0.1.0, profile stig-t: automated control, verdict pass."), "{}", comments("V-1"));
        let details = vuln(&xml, "V-1").one("FINDING_DETAILS").text.clone();
        assert_eq!(details, "rampart findings: 1 pass.\npass: node cp-1 /etc/kubernetes/admin.conf: owned by root:root [mode=0644]");
    }

    #[test]
    fn markup_in_messages_is_escaped_and_reads_back_whole() {
        let r = result();
        let text = ckl(std::slice::from_ref(&r), &asset()).unwrap();
        assert!(text.contains("runs &lt;privileged&gt; &amp; \"root\" &gt; all"), "escaped in the file");
        assert!(!text.contains("<privileged>") && !text.contains('\u{1}'));
        let details = vuln(&parse_xml(&text), "V-2").one("FINDING_DETAILS").text.clone();
        assert!(details.contains("fail: Pod dev/web: runs <privileged> & \"root\" > all\u{FFFD} (a/fail) [mode=0644]"), "{details}");
        assert!(details.contains("pass: node cp-1 /etc/kubernetes/admin.conf: fine here (a/fail2) [mode=0644]"), "{details}");
        let json: Value = serde_json::from_str(&cklb(std::slice::from_ref(&r), &asset()).unwrap()).unwrap();
        let details = rule(&json, "V-2")["finding_details"].as_str().unwrap().to_string();
        assert!(details.contains("runs <privileged> & \"root\" > all\u{1}"), "JSON escapes it itself: {details}");
        assert!(details.find("fail:").unwrap() < details.find("pass:").unwrap(), "worst first: {details}");
    }

    #[test]
    fn rule_ids_and_ccis_are_where_importers_look() {
        let xml = parse_xml(&ckl(&[result()], &asset()).unwrap());
        let v2 = vuln(&xml, "V-2");
        let names: Vec<String> = v2.attributes().into_iter().map(|(a, _)| a).collect();
        let mut expected: Vec<&str> = vec![
            "Vuln_Num",
            "Severity",
            "Group_Title",
            "Rule_ID",
            "Rule_Ver",
            "Rule_Title",
            "Vuln_Discuss",
            "IA_Controls",
            "Check_Content",
            "Fix_Text",
            "False_Positives",
            "False_Negatives",
            "Documentable",
            "Mitigations",
            "Potential_Impact",
            "Third_Party_Tools",
            "Mitigation_Control",
            "Responsibility",
            "Security_Override_Guidance",
            "Check_Content_Ref",
            "Weight",
            "Class",
            "STIGRef",
            "TargetKey",
            "STIG_UUID",
            "LEGACY_ID",
        ];
        expected.extend(["CCI_REF", "CCI_REF"]);
        assert_eq!(names, expected, "STIG Viewer's order, one CCI_REF per CCI");
        let ccis: Vec<String> = v2.attributes().into_iter().filter(|(a, _)| a == "CCI_REF").map(|(_, v)| v).collect();
        assert_eq!(ccis, ["CCI-000366", "CCI-002263"]);
        assert_eq!(v2.attribute("Rule_ID"), "SV-2r200_rule");
        assert_eq!(v2.attribute("Rule_Ver"), "CNTR-K8-000020");
        assert_eq!(v2.attribute("Group_Title"), "", "never the STIG id");
        assert_eq!(v2.attribute("Severity"), "medium");
        assert_eq!(v2.attribute("Class"), "Unclass");
        assert_eq!(
            v2.attribute("STIGRef"),
            "Kubernetes Security Technical Implementation Guide :: Version 2, Release: 6 Benchmark Date: 01 Apr 2026"
        );
        let v3 = vuln(&xml, "V-3");
        assert!(v3.attributes().iter().all(|(a, _)| a != "CCI_REF"), "no CCI, no empty CCI_REF");
        for (i, v) in vulns(&xml).into_iter().enumerate() {
            let tail: Vec<&str> = v.children.iter().skip_while(|c| c.name == "STIG_DATA").map(|c| c.name.as_str()).collect();
            assert_eq!(tail, ["STATUS", "FINDING_DETAILS", "COMMENTS", "SEVERITY_OVERRIDE", "SEVERITY_JUSTIFICATION"], "VULN {i}");
        }
        let json: Value = serde_json::from_str(&cklb(&[result()], &asset()).unwrap()).unwrap();
        let r2 = rule(&json, "V-2");
        assert_eq!((r2["rule_id"].as_str(), r2["rule_id_src"].as_str()), (Some("SV-2r200"), Some("SV-2r200_rule")));
        assert_eq!((r2["group_id_src"].as_str(), r2["rule_version"].as_str()), (Some("V-2"), Some("CNTR-K8-000020")));
        assert_eq!(r2["ccis"], serde_json::json!(["CCI-000366", "CCI-002263"]));
        assert_eq!(r2["stig_uuid"], json["stigs"][0]["uuid"]);
    }

    #[test]
    fn the_ckl_names_the_benchmark_and_the_asset() {
        let xml = parse_xml(&ckl(&[result()], &asset()).unwrap());
        let checklist = xml.one("CHECKLIST");
        let a = checklist.one("ASSET");
        let tags: Vec<&str> = a.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            tags,
            [
                "ROLE",
                "ASSET_TYPE",
                "MARKING",
                "HOST_NAME",
                "HOST_IP",
                "HOST_MAC",
                "HOST_FQDN",
                "TARGET_COMMENT",
                "TECH_AREA",
                "TARGET_KEY",
                "STIG_GUID",
                "WEB_OR_DATABASE",
                "WEB_DB_SITE",
                "WEB_DB_INSTANCE"
            ]
        );
        assert_eq!((a.one("ROLE").text.as_str(), a.one("ASSET_TYPE").text.as_str()), ("None", "Computing"));
        assert_eq!((a.one("HOST_NAME").text.as_str(), a.one("TECH_AREA").text.as_str()), ("prod-cluster", ""));
        let info: BTreeMap<String, String> = checklist
            .one("STIGS")
            .one("iSTIG")
            .one("STIG_INFO")
            .all("SI_DATA")
            .map(|d| (d.one("SID_NAME").text.clone(), d.all("SID_DATA").next().map(|n| n.text.clone()).unwrap_or_default()))
            .collect();
        assert_eq!(info["stigid"], "Kubernetes_STIG");
        assert_eq!(info["version"], "2");
        assert_eq!(info["releaseinfo"], "Release: 6 Benchmark Date: 01 Apr 2026");
        assert_eq!(info["title"], "Kubernetes Security Technical Implementation Guide");
        assert_eq!(info["classification"], "UNCLASSIFIED");
        assert_eq!(info.len(), 11);
        assert_eq!(vulns(&xml).len(), 5);
    }

    #[test]
    fn the_cklb_has_the_required_keys() {
        let json: Value = serde_json::from_str(&cklb(&[result()], &asset()).unwrap()).unwrap();
        assert_eq!(json["title"], "prod-cluster_Kubernetes_STIG_V2R6");
        assert_eq!(json["cklb_version"], "1.0");
        assert!(json["id"].is_string());
        assert_eq!(json["target_data"]["host_name"], "prod-cluster");
        assert_eq!(json["target_data"]["role"], "None");
        assert_eq!(json["target_data"]["target_type"], "Computing");
        let stig = &json["stigs"][0];
        assert_eq!((stig["stig_id"].as_str(), stig["version"].as_str()), (Some("Kubernetes_STIG"), Some("2")));
        assert_eq!(stig["display_name"], "Kubernetes");
        assert_eq!(stig["size"], 5);
        assert_eq!(stig["rules"].as_array().unwrap().len(), 5);
        let r1 = rule(&json, "V-1");
        assert_eq!((r1["severity"].as_str(), r1["classification"].as_str()), (Some("high"), Some("Unclassified")));
        assert_eq!(r1["overrides"], serde_json::json!({}));
        assert_eq!(r1["legacy_ids"], serde_json::json!([]));
    }

    fn is_uuid(text: &str) -> bool {
        let parts: Vec<&str> = text.split('-').collect();
        parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
            && parts[2].starts_with('8')
            && matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b'))
    }

    #[test]
    fn uuids_are_derived_so_the_output_is_reproducible() {
        let (a, b) = (ckl(&[result()], &asset()).unwrap(), ckl(&[result()], &asset()).unwrap());
        assert_eq!(a, b);
        assert_eq!(cklb(&[result()], &asset()).unwrap(), cklb(&[result()], &asset()).unwrap());
        let json: Value = serde_json::from_str(&cklb(&[result()], &asset()).unwrap()).unwrap();
        let mut ids = vec![json["id"].as_str().unwrap(), json["stigs"][0]["uuid"].as_str().unwrap()];
        ids.extend(json["stigs"][0]["rules"].as_array().unwrap().iter().map(|r| r["uuid"].as_str().unwrap()));
        assert!(ids.iter().all(|u| is_uuid(u)), "{ids:?}");
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
        assert_eq!(rule(&json, "V-1")["uuid"], uuid(&["rule", "Kubernetes_STIG", "SV-1r100_rule"]).as_str());
        let other = Asset { host_name: "other".into(), ..asset() };
        let json2: Value = serde_json::from_str(&cklb(&[result()], &other).unwrap()).unwrap();
        assert_ne!(json["id"], json2["id"], "another asset, another checklist");
    }

    #[test]
    fn finding_details_are_bounded_with_the_worst_first() {
        let mut findings: Vec<Finding> =
            (0..5000).map(|i| finding("a/fail", Status::Pass, &format!("subject {i} {}", "x".repeat(3000)))).collect();
        findings.push(finding("a/fail", Status::Fail, "the one that matters"));
        let r = result_of(PROFILE, &findings);
        let json: Value = serde_json::from_str(&cklb(&[r], &asset()).unwrap()).unwrap();
        let details = rule(&json, "V-2")["finding_details"].as_str().unwrap().to_string();
        assert!(details.chars().count() <= MAX_DETAILS, "{}", details.chars().count());
        let lines: Vec<&str> = details.lines().collect();
        assert_eq!(lines[0], "rampart findings: 1 fail, 5000 pass.");
        assert!(lines[1].starts_with("fail: node cp-1 /etc/kubernetes/admin.conf: the one that matters"), "{}", lines[1]);
        assert!(lines[2].chars().count() <= MAX_LINE && lines[2].ends_with('…'));
        let last = lines.last().unwrap();
        assert!(last.contains("more finding(s) not shown") && last.contains("pass)"), "{last}");
    }

    #[test]
    fn only_a_profile_with_checklist_identifiers_can_be_written() {
        let err = ckl(&[], &asset()).unwrap_err();
        assert!(matches!(err, Error::ChecklistWithoutProfile) && err.to_string().contains("--profile"), "{err}");
        let cis = PROFILE.replace("[checklist]\nbenchmark_id", "[sections]\nbenchmark_id").replace("stig-t", "cis-t");
        let cis = cis.replace("\ntitle = \"Kubernetes Security Technical Implementation Guide\"\nversion = \"2\"\nrelease_info = \"Release: 6 Benchmark Date: 01 Apr 2026\"", "");
        let r = result_of(&cis, &[]);
        assert!(r.checklist.is_none());
        let err = cklb(&[r], &asset()).unwrap_err().to_string();
        assert!(err.contains("profile cis-t has no [checklist] table"), "{err}");
        assert!(check_profile("cis-t", None).is_err() && check_profile("stig-t", result().checklist.as_ref()).is_ok());
        let no_rule = PROFILE.replace("rule_id = \"SV-3r300_rule\"\n", "").replace("rule_id = \"SV-5r500_rule\"\n", "");
        let err = ckl(&[result_of(&no_rule, &[])], &asset()).unwrap_err().to_string();
        assert!(err.contains("no rule_id on control(s) V-3, V-5"), "{err}");
    }

    pub(crate) fn report(sources: &[&str], nodes: &[&str]) -> Report {
        Report {
            waivers: Vec::new(),
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool { name: "rampart".into(), version: "0.1.0".into() },
            targets: Targets {
                cluster_sources: sources.iter().map(|s| s.to_string()).collect(),
                cluster_objects: 12,
                kubernetes_version: None,
                nodes: nodes.iter().map(|n| NodeTarget { name: n.to_string(), root: format!("/roots/{n}") }).collect(),
            },
            plugins: Vec::new(),
            findings: Vec::new(),
            passes: Vec::new(),
            summary: Summary::default(),
            profiles: Vec::new(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn the_asset_is_the_flag_else_the_api_server_host_else_kubernetes() {
        let live = report(&["https://api.prod.example:6443 (context prod, Kubernetes v1.36.2)"], &["cp-1", "worker-1"]);
        let a = Asset::of(&live, None);
        assert_eq!(a.host_name, "api.prod.example");
        assert_eq!(
            a.comment,
            "Kubernetes, scanned by rampart 0.1.0; API server https://api.prod.example:6443; nodes covered: cp-1, worker-1."
        );
        assert_eq!(a.tool, "rampart 0.1.0");
        assert_eq!(Asset::of(&live, Some("prod")).host_name, "prod");
        assert_eq!(Asset::of(&report(&["https://[fd00::1]:6443 (Kubernetes v1.36.2)"], &[]), None).host_name, "fd00::1");
        assert_eq!(Asset::of(&report(&["http://10.0.0.1"], &[]), None).host_name, "10.0.0.1");
        let files = Asset::of(&report(&["cluster/pods.yaml"], &[]), None);
        assert_eq!(files.host_name, "kubernetes");
        assert_eq!(files.comment, "Kubernetes, scanned by rampart 0.1.0; 12 cluster objects read from files; no nodes covered.");
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("äöü", 3), "äöü");
        assert_eq!(clip("äöüß", 3), "äö…");
        assert_eq!(clip("", 0), "");
    }
}
