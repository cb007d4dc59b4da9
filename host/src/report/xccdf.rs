//! XCCDF 1.2 results: a STIG profile's verdicts as a `<Benchmark>` holding
//! one `<TestResult>`, the form SCAP tools read (OpenSCAP, STIG Manager's
//! XCCDF import, Heimdall's xccdf_results2hdf). The asset, the rules and
//! their bounded texts are the checklists' (checklist.rs); ids are DISA's
//! SCAP ids built from the profile's values. docs/checklists.md says what
//! goes where.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::BytesText;

use super::checklist::{Asset, Rule, Stig, element, stig_severity, stigs, xml_chars, xml_document};
use crate::Error;
use crate::profile::ControlResult;
use crate::report::{Report, Status};

/// The XCCDF 1.2 namespace.
const NAMESPACE: &str = "http://checklists.nist.gov/xccdf/1.2";
/// DISA's prefix of benchmark, group and rule ids in its SCAP content.
const DISA: &str = "xccdf_mil.disa.stig_";
/// The `ident` system of CCI references.
const CCI: &str = "http://cyber.mil/cci";
/// XCCDF's default scoring model (XCCDF 1.2, 7.3.2).
const DEFAULT_SCORING: &str = "urn:xccdf:scoring:default";
/// DISA gives every STIG rule this weight.
const WEIGHT: &str = "10.0";
/// Target facts XCCDF defines, and Rampart's own where it defines none.
const FACT_HOST_NAME: &str = "urn:xccdf:fact:asset:identifier:host_name";
const FACT_KUBERNETES_VERSION: &str = "urn:rampart:fact:kubernetes:version";
const FACT_NODE: &str = "urn:rampart:fact:kubernetes:node";
const DUBLIN_CORE: &str = "http://purl.org/dc/elements/1.1/";
/// The platform the benchmark applies to (Kubernetes, any version, as a
/// CPE 2.3 formatted string).
const KUBERNETES_CPE: &str = "cpe:2.3:a:kubernetes:kubernetes:*:*:*:*:*:*:*:*";
/// The checking system of a rule-result's `check`: a Rampart plugin check.
const CHECK_SYSTEM: &str = "urn:rampart:check:wasm-plugin";
/// The checking system of a rule no plugin check decides: a reviewer.
const MANUAL_SYSTEM: &str = "urn:rampart:check:manual";
const MANUAL_CHECK: &str =
    "No Rampart plugin check decides this rule: a reviewer decides it from the rule's check text and the evidence in the comments.";

/// `rule-result/result`. Fail-closed as the checklists are: only a pass is
/// `pass`; what rampart could not decide is `error`, and a rule left to a
/// person (`warn`, manual controls) is `notchecked`.
pub fn result(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::NotApplicable => "notapplicable",
        Status::Error => "error",
        Status::Warn => "notchecked",
        // Only reached without the control (a waived control is written
        // with its status without the waiver, the waiver as a message).
        Status::Waived => "fail",
    }
}

/// Whether `text` can follow an XCCDF id prefix: DISA's ids (`Kubernetes_STIG`,
/// `SV-242376r960759_rule`, `V-242376`) use only these characters, all of
/// which an XML name allows.
fn id_part(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Refuses what would make an invalid document: ids that are no XML names,
/// and two controls with one rule id (XCCDF rule ids are keys).
fn check_ids(profile: &str, stig: &Stig<'_>) -> Result<(), Error> {
    let bad = |what: &'static str, value: &str| Error::XccdfId { profile: profile.to_string(), what, value: value.to_string() };
    if !id_part(&stig.id.benchmark_id) {
        return Err(bad("benchmark_id", &stig.id.benchmark_id));
    }
    for (i, rule) in stig.rules.iter().enumerate() {
        if !id_part(&rule.control.id) {
            return Err(bad("control id", &rule.control.id));
        }
        if !id_part(rule.rule_id) {
            return Err(bad("rule_id", rule.rule_id));
        }
        if stig.rules[..i].iter().any(|r| r.rule_id == rule.rule_id) {
            let controls: Vec<&str> = stig.rules.iter().filter(|r| r.rule_id == rule.rule_id).map(|r| r.control.id.as_str()).collect();
            return Err(Error::SameRuleId {
                profile: profile.to_string(),
                rule_id: rule.rule_id.to_string(),
                controls: controls.join(", "),
            });
        }
    }
    Ok(())
}

/// The score under XCCDF's default model, computed from the results written:
/// with every rule in a group of its own, 100 × pass / (pass + fail +
/// error); `notapplicable` and `notchecked` rules do not count. The model
/// is undefined when no rule counts; XCCDF still requires a score, and 0
/// never reads as a pass.
fn default_score(controls: &[ControlResult]) -> f64 {
    let count = |s: Status| controls.iter().filter(|c| c.status == s).count();
    let (p, f, e) = (count(Status::Pass), count(Status::Fail), count(Status::Error));
    if p + f + e == 0 { 0.0 } else { ((p as f64) * 1000.0 / ((p + f + e) as f64)).round() / 10.0 }
}

/// `xsd:dateTime` in UTC to the second.
fn timestamp(time: SystemTime) -> Result<String, Error> {
    if time < UNIX_EPOCH {
        return Err(Error::ChecklistWrite("the system clock is before 1970".into()));
    }
    let at = jiff::Timestamp::try_from(time).map_err(|e| Error::ChecklistWrite(format!("the system clock: {e}")))?;
    Ok(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// `Release: 6 Benchmark Date: 01 Apr 2026` → `2026-04-01`, the date DISA
/// gives the benchmark's status; `None` when the release line says no date.
fn benchmark_date(release_info: &str) -> Option<String> {
    let (_, rest) = release_info.split_once("Benchmark Date:")?;
    let date: Vec<&str> = rest.split_whitespace().take(3).collect();
    let date = date.join(" ");
    let parsed = jiff::civil::Date::strptime("%d %b %Y", &date).or_else(|_| jiff::civil::Date::strptime("%d %B %Y", &date)).ok()?;
    Some(parsed.strftime("%Y-%m-%d").to_string())
}

/// An element with attributes holding text; `<`, `>` and `&` are escaped in
/// the text, and quick-xml escapes attribute values whole.
fn text_element<W: Write>(w: &mut Writer<W>, tag: &str, attributes: &[(&str, &str)], text: &str) -> std::io::Result<()> {
    w.create_element(tag)
        .with_attributes(attributes.iter().copied())
        .write_text_content(BytesText::from_escaped(partial_escape(xml_chars(text))))?;
    Ok(())
}

/// The rule-result's messages: who decided and why (the checklist's
/// comments), then what rampart saw (its finding details), a line each. The
/// reason a rule could not be decided is an `error` message, as XCCDF
/// calls a check that did not run; everything else is `info`.
fn messages<'a>(rule: &'a Rule<'a>) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
    let undecided = rule.control.status == Status::Error;
    let comments = rule.comments.lines().map(move |l| match l {
        _ if undecided && l.starts_with("Reason: ") => ("error", l),
        _ if l.starts_with("Note: ") => ("warning", l),
        _ => ("info", l),
    });
    comments.chain(rule.details.lines().map(|l| ("info", l))).filter(|(_, l)| !l.trim().is_empty())
}

/// The report's STIG profile as an XCCDF 1.2 result document: a `<Benchmark>`
/// with DISA's benchmark id, a `<Group>` and `<Rule>` per control (the rules
/// a `rule-result` must refer to), and one `<TestResult>` for the asset.
/// `end_time` is when the results are recorded; it is the one value that
/// differs between two writes of the same report.
pub fn xccdf(report: &Report, asset: &Asset, end_time: SystemTime) -> Result<String, Error> {
    let stigs = stigs(&report.profiles, asset)?;
    let (stig, profile) = match (stigs.as_slice(), report.profiles.as_slice()) {
        ([stig], [profile]) => (stig, profile),
        _ => {
            let ids: Vec<&str> = report.profiles.iter().map(|p| p.id.as_str()).collect();
            return Err(Error::OneBenchmark { count: ids.len(), profiles: ids.join(", ") });
        }
    };
    check_ids(&profile.id, stig)?;
    let id = stig.id;
    let benchmark = format!("{DISA}benchmark_{}", id.benchmark_id);
    let end_time = timestamp(end_time)?;
    let test_system = format!("cpe:/a:rampart:rampart:{}", report.tool.version);
    let score = format!("{:.1}", default_score(&profile.controls));

    xml_document(&asset.tool, |w| {
        w.create_element("Benchmark")
            .with_attributes([
                ("xmlns", NAMESPACE),
                ("xmlns:dc", DUBLIN_CORE),
                ("id", benchmark.as_str()),
                ("resolved", "true"),
                ("xml:lang", "en"),
            ])
            .write_inner_content(|w| {
                // The children in the order the schema requires.
                match benchmark_date(&id.release_info) {
                    Some(date) => text_element(w, "status", &[("date", date.as_str())], "accepted")?,
                    None => element(w, "status", "accepted")?,
                }
                element(w, "title", &id.title)?;
                element(
                    w,
                    "description",
                    &format!(
                        "{}, {}: the verdicts {} reached on {} with profile {}. The rules carry DISA's ids, titles, \
                         severities and CCIs; the results are this scan's.",
                        id.title, id.release_info, asset.tool, asset.host_name, profile.id
                    ),
                )?;
                text_element(w, "plain-text", &[("id", "release-info")], &id.release_info)?;
                w.create_element("platform").with_attribute(("idref", KUBERNETES_CPE)).write_empty()?;
                element(w, "version", &id.version)?;
                // Who published the benchmark and who wrote these results.
                w.create_element("metadata").write_inner_content(|w| {
                    element(w, "dc:publisher", "DISA")?;
                    element(w, "dc:source", "STIG.DOD.MIL")?;
                    element(w, "dc:creator", &asset.tool)?;
                    Ok(())
                })?;
                for rule in &stig.rules {
                    let c = rule.control;
                    w.create_element("Group").with_attribute(("id", format!("{DISA}group_{}", c.id).as_str())).write_inner_content(
                        |w| {
                            // DISA's groups are titled by their SRG; the
                            // profile names the vulnerability id instead.
                            element(w, "title", &c.id)?;
                            let rule_id = format!("{DISA}rule_{}", rule.rule_id);
                            w.create_element("Rule")
                                .with_attributes([("id", rule_id.as_str()), ("severity", stig_severity(c.severity)), ("weight", WEIGHT)])
                                .write_inner_content(|w| {
                                    if let Some(stig_id) = c.stig_id.as_deref() {
                                        element(w, "version", stig_id)?;
                                    }
                                    element(w, "title", &c.title)?;
                                    for cci in &c.ccis {
                                        text_element(w, "ident", &[("system", CCI)], cci)?;
                                    }
                                    checks(w, &c.checks)
                                })?;
                            Ok(())
                        },
                    )?;
                }
                // No start-time and no identity: the report records neither when
                // the scan began nor which account read the cluster and the nodes.
                let test_result = format!("xccdf_rampart_testresult_{}", id.benchmark_id);
                w.create_element("TestResult")
                    .with_attributes([
                        ("id", test_result.as_str()),
                        ("end-time", end_time.as_str()),
                        ("test-system", test_system.as_str()),
                        ("version", id.version.as_str()),
                    ])
                    .write_inner_content(|w| {
                        w.create_element("benchmark")
                            .with_attributes([("href", format!("#{benchmark}").as_str()), ("id", benchmark.as_str())])
                            .write_empty()?;
                        element(w, "title", &format!("{}, profile {}, on {}", asset.tool, profile.id, asset.host_name))?;
                        element(w, "target", &asset.host_name)?;
                        w.create_element("target-facts").write_inner_content(|w| {
                            let string = |name: &'static str| [("name", name), ("type", "string")];
                            text_element(w, "fact", &string(FACT_HOST_NAME), &asset.host_name)?;
                            if let Some(version) = report.targets.kubernetes_version.as_deref() {
                                text_element(w, "fact", &string(FACT_KUBERNETES_VERSION), version)?;
                            }
                            for node in &report.targets.nodes {
                                text_element(w, "fact", &string(FACT_NODE), &node.name)?;
                            }
                            Ok(())
                        })?;
                        for rule in &stig.rules {
                            rule_result(w, rule)?;
                        }
                        text_element(w, "score", &[("system", DEFAULT_SCORING), ("maximum", "100")], &score)
                    })?;
                Ok(())
            })?;
        Ok(())
    })
}

fn rule_result<W: Write>(w: &mut Writer<W>, rule: &Rule<'_>) -> std::io::Result<()> {
    let c = rule.control;
    let idref = format!("{DISA}rule_{}", rule.rule_id);
    let mut attributes = vec![("idref", idref.as_str()), ("severity", stig_severity(c.severity)), ("weight", WEIGHT)];
    let version = c.stig_id.as_deref().map(xml_chars);
    if let Some(v) = version.as_deref() {
        attributes.push(("version", v));
    }
    w.create_element("rule-result").with_attributes(attributes).write_inner_content(|w| {
        element(w, "result", result(c.unwaived()))?;
        for cci in &c.ccis {
            text_element(w, "ident", &[("system", CCI)], cci)?;
        }
        for (severity, line) in messages(rule) {
            text_element(w, "message", &[("severity", severity)], line)?;
        }
        checks(w, &c.checks)?;
        Ok(())
    })?;
    Ok(())
}

/// The checks that decide a rule: Rampart's plugin checks, by name
/// (`plugin/check`), all of them for a rule with several; a rule no check
/// decides has a manual check. Written in the Rule and in its result alike.
fn checks<W: Write>(w: &mut Writer<W>, names: &[String]) -> std::io::Result<()> {
    let check = |w: &mut Writer<W>, name: &str| -> std::io::Result<()> {
        w.create_element("check").with_attribute(("system", CHECK_SYSTEM)).write_inner_content(|w| {
            let plugin = name.split('/').next().unwrap_or(name);
            w.create_element("check-content-ref").with_attributes([("href", plugin), ("name", name)]).write_empty()?;
            Ok(())
        })?;
        Ok(())
    };
    match names {
        // No check decides it: a person does, which the check says in words.
        [] => {
            w.create_element("check").with_attribute(("system", MANUAL_SYSTEM)).write_inner_content(|w| {
                w.create_element("check-content").write_text_content(BytesText::new(MANUAL_CHECK))?;
                Ok(())
            })?;
        }
        [one] => check(w, one)?,
        several => {
            w.create_element("complex-check").with_attribute(("operator", "AND")).write_inner_content(|w| {
                for name in several {
                    check(w, name)?;
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::Finding;
    use crate::report::checklist::tests::{Node, PROFILE, asset, finding, parse_xml, report, result as fixture, result_of};

    /// 2026-04-01T12:34:56Z.
    fn when() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_775_046_896)
    }

    /// The demo-like report of the checklist tests, with the fixture profile.
    fn stig_report() -> Report {
        let mut r = report(&["https://api.prod.example:6443 (context prod, Kubernetes v1.36.2)"], &["cp-1", "worker-1"]);
        r.targets.kubernetes_version = Some("v1.36.2".into());
        r.profiles = vec![fixture()];
        r
    }

    fn write(report: &Report) -> String {
        xccdf(report, &asset(), when()).unwrap()
    }

    fn test_result(doc: &Node) -> &Node {
        doc.one("Benchmark").one("TestResult")
    }

    fn rule_result<'a>(doc: &'a Node, rule_id: &str) -> &'a Node {
        let idref = format!("xccdf_mil.disa.stig_rule_{rule_id}");
        let mut found = test_result(doc).all("rule-result").filter(|r| r.attr("idref") == idref);
        let one = found.next().unwrap_or_else(|| panic!("no rule-result for {idref}"));
        assert!(found.next().is_none(), "one rule-result for {idref}");
        one
    }

    fn names(node: &Node) -> Vec<&str> {
        node.children.iter().map(|c| c.name.as_str()).collect()
    }

    fn texts<'a>(node: &'a Node, name: &'a str) -> Vec<&'a str> {
        node.all(name).map(|n| n.text.as_str()).collect()
    }

    #[test]
    fn every_status_maps_to_its_result_and_only_a_pass_passes() {
        let doc = parse_xml(&write(&stig_report()));
        for (rule_id, word) in [
            ("SV-1r100_rule", "pass"),
            ("SV-2r200_rule", "fail"),
            ("SV-3r300_rule", "notchecked"),
            ("SV-4r400_rule", "notapplicable"),
            ("SV-5r500_rule", "error"),
        ] {
            assert_eq!(rule_result(&doc, rule_id).one("result").text, word, "{rule_id}");
        }
        let words: Vec<&str> = Status::ALL.iter().map(|s| result(*s)).collect();
        assert_eq!(words, ["pass", "fail", "notchecked", "notapplicable", "error", "fail"]);
        for s in Status::ALL {
            assert_eq!(result(s) == "pass", s == Status::Pass, "{s:?}");
        }
    }

    #[test]
    fn rules_and_results_carry_disas_ids_and_the_ccis() {
        let doc = parse_xml(&write(&stig_report()));
        let benchmark = doc.one("Benchmark");
        let groups: Vec<&Node> = benchmark.all("Group").collect();
        assert_eq!(groups.len(), 5);
        assert_eq!(groups[1].attr("id"), "xccdf_mil.disa.stig_group_V-2");
        let rule = groups[1].one("Rule");
        assert_eq!(rule.attr("id"), "xccdf_mil.disa.stig_rule_SV-2r200_rule");
        assert_eq!((rule.attr("severity"), rule.attr("weight")), ("medium", "10.0"));
        assert_eq!(names(rule), ["version", "title", "ident", "ident", "complex-check"], "the schema's order");
        // The checks that decide the rule, named as in its results.
        let checks: Vec<String> =
            rule.one("complex-check").all("check").map(|c| c.one("check-content-ref").attr("name").to_string()).collect();
        assert!(!checks.is_empty() && checks.iter().all(|c| c.contains('/')), "{checks:?}");
        assert_eq!((rule.one("version").text.as_str(), rule.one("title").text.as_str()), ("CNTR-K8-000020", "fails"));
        assert_eq!(texts(rule, "ident"), ["CCI-000366", "CCI-002263"]);
        assert!(rule.all("ident").all(|i| i.attr("system") == "http://cyber.mil/cci"));

        let r2 = rule_result(&doc, "SV-2r200_rule");
        assert_eq!(r2.attr("idref"), "xccdf_mil.disa.stig_rule_SV-2r200_rule");
        assert_eq!((r2.attr("severity"), r2.attr("weight"), r2.attr("version")), ("medium", "10.0", "CNTR-K8-000020"));
        assert_eq!(texts(r2, "ident"), ["CCI-000366", "CCI-002263"]);
        assert!(r2.all("ident").all(|i| i.attr("system") == "http://cyber.mil/cci"));
        let names2 = names(r2);
        let (last, tail) = names2[3..].split_last().unwrap();
        assert!(tail.iter().all(|n| *n == "message") && !tail.is_empty(), "result, the idents, messages, the check: {names2:?}");
        assert_eq!(*last, "complex-check", "the rule's checks, as in the Rule");
        assert_eq!(rule_result(&doc, "SV-1r100_rule").attr("severity"), "high");
        let r3 = rule_result(&doc, "SV-3r300_rule");
        assert!(r3.all("ident").next().is_none(), "no CCI, no empty ident");
        assert_eq!(r3.attr("severity"), "low");

        // Every rule-result refers to a Rule of the benchmark, as the schema's keyref demands.
        let rules: Vec<&str> = groups.iter().map(|g| g.one("Rule").attr("id")).collect();
        let idrefs: Vec<&str> = test_result(&doc).all("rule-result").map(|r| r.attr("idref")).collect();
        assert_eq!(rules, idrefs, "one result per rule, in the profile's order");
    }

    #[test]
    fn the_benchmark_and_the_test_result_name_the_stig_and_the_asset() {
        let text = write(&stig_report());
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!--written by rampart 0.1.0-->\n<Benchmark "), "{text}");
        let doc = parse_xml(&text);
        let benchmark = doc.one("Benchmark");
        assert_eq!(benchmark.attr("xmlns"), "http://checklists.nist.gov/xccdf/1.2");
        assert_eq!(benchmark.attr("id"), "xccdf_mil.disa.stig_benchmark_Kubernetes_STIG");
        let mut order = vec!["status", "title", "description", "plain-text", "platform", "version", "metadata"];
        order.extend(["Group"; 5]);
        order.push("TestResult");
        assert_eq!(names(benchmark), order, "the schema's order");
        let status = benchmark.one("status");
        assert_eq!((status.text.as_str(), status.attr("date")), ("accepted", "2026-04-01"));
        assert_eq!(benchmark.one("title").text, "Kubernetes Security Technical Implementation Guide");
        assert_eq!(benchmark.one("plain-text").attr("id"), "release-info");
        assert_eq!(benchmark.one("plain-text").text, "Release: 6 Benchmark Date: 01 Apr 2026");
        assert_eq!(benchmark.one("version").text, "2");

        let t = benchmark.one("TestResult");
        assert_eq!(t.attr("id"), "xccdf_rampart_testresult_Kubernetes_STIG");
        assert_eq!(t.attr("end-time"), "2026-04-01T12:34:56Z");
        assert_eq!(t.attr("test-system"), "cpe:/a:rampart:rampart:0.1.0");
        assert_eq!(t.attr("version"), "2");
        assert!(!t.attrs.contains_key("start-time"), "the report does not say when the scan began");
        let mut order = vec!["benchmark", "title", "target", "target-facts"];
        order.extend(["rule-result"; 5]);
        order.push("score");
        assert_eq!(names(t), order, "the schema's order");
        let b = t.one("benchmark");
        assert_eq!((b.attr("href"), b.attr("id")), ("#xccdf_mil.disa.stig_benchmark_Kubernetes_STIG", benchmark.attr("id")));
        assert_eq!(t.one("title").text, "rampart 0.1.0, profile stig-t, on prod-cluster");
        assert_eq!(t.one("target").text, "prod-cluster");
        let facts: Vec<(&str, &str, &str)> =
            t.one("target-facts").all("fact").map(|f| (f.attr("name"), f.attr("type"), f.text.as_str())).collect();
        assert_eq!(
            facts,
            [
                ("urn:xccdf:fact:asset:identifier:host_name", "string", "prod-cluster"),
                ("urn:rampart:fact:kubernetes:version", "string", "v1.36.2"),
                ("urn:rampart:fact:kubernetes:node", "string", "cp-1"),
                ("urn:rampart:fact:kubernetes:node", "string", "worker-1"),
            ]
        );

        // From files, no version is known and none is written.
        let mut files = stig_report();
        files.targets.kubernetes_version = None;
        files.targets.nodes.clear();
        let doc = parse_xml(&write(&files));
        let names: Vec<&str> = test_result(&doc).one("target-facts").all("fact").map(|f| f.attr("name")).collect();
        assert_eq!(names, ["urn:xccdf:fact:asset:identifier:host_name"]);
    }

    #[test]
    fn messages_say_who_decided_why_and_what_was_seen() {
        let doc = parse_xml(&write(&stig_report()));
        let messages = |rule_id: &str| -> Vec<(String, String)> {
            rule_result(&doc, rule_id).all("message").map(|m| (m.attr("severity").to_string(), m.text.clone())).collect()
        };
        let info = |text: &str| ("info".to_string(), text.to_string());
        assert_eq!(
            messages("SV-1r100_rule"),
            [
                info("rampart 0.1.0, profile stig-t: automated control, verdict pass."),
                info("Checks: a/pass"),
                info("rampart findings: 1 pass."),
                info("pass: node cp-1 /etc/kubernetes/admin.conf: owned by root:root [mode=0644]"),
            ]
        );
        let v5 = messages("SV-5r500_rule");
        assert!(v5[0].1.contains("verdict error") && v5[0].0 == "info", "{v5:?}");
        assert!(v5.contains(&("error".to_string(), "Reason: cp-1: the plugin timed out".to_string())), "{v5:?}");
        assert_eq!(v5.iter().filter(|(s, _)| s == "error").count(), 1, "{v5:?}");
        let v4 = messages("SV-4r400_rule");
        assert!(v4.contains(&info("Reason: removed in Kubernetes 1.25")), "not applicable is no error: {v4:?}");
        let v3 = messages("SV-3r300_rule");
        assert!(v3.contains(&info("How to review: Read the list.")), "{v3:?}");
        assert!(v3.iter().any(|(_, m)| m == "rampart findings to help the review: 1 fail."), "{v3:?}");
    }

    #[test]
    fn markup_is_escaped_and_reads_back_whole() {
        let text = write(&stig_report());
        assert!(text.contains("runs &lt;privileged&gt; &amp; \"root\" &gt; all\u{FFFD}"), "escaped in the file");
        assert!(!text.contains("<privileged>") && !text.contains('\u{1}'));
        let doc = parse_xml(&text);
        let lines: Vec<&str> = rule_result(&doc, "SV-2r200_rule").all("message").map(|m| m.text.as_str()).collect();
        assert!(lines.contains(&"fail: Pod dev/web: runs <privileged> & \"root\" > all\u{FFFD} (a/fail) [mode=0644]"), "{lines:?}");
        assert!(lines.iter().position(|l| l.starts_with("fail:")) < lines.iter().position(|l| l.starts_with("pass:")), "worst first");

        // Attribute values are escaped whole.
        let mut r = stig_report();
        r.profiles[0].controls[0].stig_id = Some("CNTR \"<10>\" & \n".into());
        let text = write(&r);
        assert!(text.contains("version=\"CNTR &quot;&lt;10&gt;&quot; &amp; &#10;\""), "{text}");
        let doc = parse_xml(&text);
        assert_eq!(rule_result(&doc, "SV-1r100_rule").attr("version"), "CNTR \"<10>\" & \n");
    }

    #[test]
    fn messages_are_bounded() {
        let mut findings: Vec<Finding> =
            (0..5000).map(|i| finding("a/fail", Status::Pass, &format!("subject {i} {}", "x".repeat(3000)))).collect();
        findings.push(finding("a/fail", Status::Fail, "the one that matters"));
        let mut r = stig_report();
        r.profiles = vec![result_of(PROFILE, &findings)];
        let doc = parse_xml(&write(&r));
        let lines: Vec<&str> = rule_result(&doc, "SV-2r200_rule").all("message").map(|m| m.text.as_str()).collect();
        let total: usize = lines.iter().map(|l| l.chars().count()).sum();
        assert!(total <= 16_000 + 8_000, "{total}");
        assert!(lines.iter().any(|l| l.starts_with("fail: node cp-1 /etc/kubernetes/admin.conf: the one that matters")));
        assert!(lines.last().is_some_and(|l| l.contains("more finding(s) not shown")), "{:?}", lines.last());
    }

    #[test]
    fn the_score_is_the_default_models() {
        let r = stig_report();
        let doc = parse_xml(&write(&r));
        let score = test_result(&doc).one("score");
        assert_eq!((score.attr("system"), score.attr("maximum")), ("urn:xccdf:scoring:default", "100"));
        // pass 1, fail 1, error 1: the profile's score.
        assert_eq!(score.text, "33.3");
        assert_eq!(r.profiles[0].score, Some(33.3));

        // A manual control that errored counts in XCCDF's model, not in the profile's score.
        let look_broken =
            [finding("a/pass", Status::Pass, "ok"), finding("a/fail", Status::Fail, "no"), finding("a/look", Status::Error, "gone")];
        let manual_error = result_of(PROFILE, &look_broken);
        assert_eq!(manual_error.controls[2].status, Status::Error);
        assert_eq!((default_score(&manual_error.controls), manual_error.score), (25.0, Some(33.3)));

        let mut undecided = fixture();
        for c in &mut undecided.controls {
            c.status = Status::NotApplicable;
        }
        assert_eq!(default_score(&undecided.controls), 0.0, "nothing counted is no pass");
        let mut all_pass = fixture();
        for c in &mut all_pass.controls {
            c.status = Status::Pass;
        }
        assert_eq!(default_score(&all_pass.controls), 100.0);
    }

    #[test]
    fn the_same_report_gives_the_same_document() {
        let r = stig_report();
        assert_eq!(write(&r), write(&r));
        let later = xccdf(&r, &asset(), when() + Duration::from_secs(60)).unwrap();
        let first = write(&r);
        let differing: Vec<(&str, &str)> = first.lines().zip(later.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(differing.len(), 1, "only the end time: {differing:?}");
        assert!(differing[0].1.contains("end-time=\"2026-04-01T12:35:56Z\""), "{differing:?}");
    }

    #[test]
    fn what_xccdf_cannot_hold_is_refused() {
        let mut r = stig_report();
        r.profiles.clear();
        assert!(matches!(xccdf(&r, &asset(), when()), Err(Error::ChecklistWithoutProfile)));

        let cis = PROFILE.replace("[checklist]\nbenchmark_id", "[sections]\nbenchmark_id").replace("stig-t", "cis-t");
        let cis = cis.replace(
            "\ntitle = \"Kubernetes Security Technical Implementation Guide\"\nversion = \"2\"\nrelease_info = \"Release: 6 Benchmark Date: 01 Apr 2026\"",
            "",
        );
        r.profiles = vec![result_of(&cis, &[])];
        let err = xccdf(&r, &asset(), when()).unwrap_err().to_string();
        assert!(err.contains("profile cis-t has no [checklist] table"), "{err}");

        r.profiles = vec![fixture(), result_of(&PROFILE.replace("id = \"stig-t\"", "id = \"stig-u\""), &[])];
        let err = xccdf(&r, &asset(), when()).unwrap_err().to_string();
        assert!(err.contains("holds one benchmark") && err.contains("2 profiles (stig-t, stig-u)"), "{err}");

        r.profiles = vec![result_of(&PROFILE.replace("benchmark_id = \"Kubernetes_STIG\"", "benchmark_id = \"Kubernetes STIG\""), &[])];
        let err = xccdf(&r, &asset(), when()).unwrap_err().to_string();
        assert!(err.contains("profile stig-t: benchmark_id \"Kubernetes STIG\" cannot be part of an XCCDF id"), "{err}");

        r.profiles = vec![result_of(&PROFILE.replace("SV-2r200_rule", "SV-2r200:rule"), &[])];
        let err = xccdf(&r, &asset(), when()).unwrap_err().to_string();
        assert!(err.contains("rule_id \"SV-2r200:rule\""), "{err}");

        r.profiles = vec![result_of(&PROFILE.replace("SV-4r400_rule", "SV-2r200_rule"), &[])];
        let err = xccdf(&r, &asset(), when()).unwrap_err().to_string();
        assert!(err.contains("controls V-2, V-4 have the same rule_id SV-2r200_rule"), "{err}");
    }

    #[test]
    fn timestamps_are_utc_date_times() {
        let at = |secs: u64| timestamp(UNIX_EPOCH + Duration::from_secs(secs)).unwrap();
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(at(1_775_046_896), "2026-04-01T12:34:56Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
        assert!(timestamp(UNIX_EPOCH - Duration::from_secs(1)).is_err(), "a clock before 1970 is an error, not a panic");
    }

    #[test]
    fn the_status_date_is_the_benchmark_date() {
        assert_eq!(benchmark_date("Release: 6 Benchmark Date: 01 Apr 2026").as_deref(), Some("2026-04-01"));
        assert_eq!(benchmark_date("Release: 1 Benchmark Date: 29 Feb 2024").as_deref(), Some("2024-02-29"));
        assert_eq!(benchmark_date("Release: 1 Benchmark Date: 24 July 2025").as_deref(), Some("2025-07-24"));
        for no in ["Release: 6", "Release: 1 Benchmark Date: 29 Feb 2025", "Benchmark Date: 32 Jan 2026", "Benchmark Date: 1 Foo 2026", ""]
        {
            assert_eq!(benchmark_date(no), None, "{no}");
        }
        let mut r = stig_report();
        if let Some(id) = r.profiles[0].checklist.as_mut() {
            id.release_info = "Release: 6".into();
        }
        let doc = parse_xml(&write(&r));
        assert!(!doc.one("Benchmark").one("status").attrs.contains_key("date"), "no date rather than a made-up one");
    }
}
