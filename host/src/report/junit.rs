//! JUnit XML, the form CI systems show in their test tabs: one test case per
//! profile control (or, without a profile, per check). A `fail` is a
//! `<failure>`, an `error` an `<error>`, and what no machine decided (a
//! manual control's `warn`, `not-applicable`) or a waiver accepted
//! (`waived`, with its justification and owner) is `<skipped>` with the
//! reason; the failing findings are the failure's text.

use std::io::Write;

use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::BytesText;

use super::checklist::{xml_chars, xml_document};
use crate::Error;
use crate::report::{Finding, Report, Status};

/// The failing findings quoted in one test case's text, at most.
const QUOTED: usize = 100;

struct Case {
    class: String,
    name: String,
    status: Status,
    /// The failure message, or the reason it was skipped.
    message: String,
    findings: Vec<String>,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, status: &[Status]) -> usize {
        self.cases.iter().filter(|c| status.contains(&c.status)).count()
    }
}

fn quoted<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<String> {
    let failing: Vec<&Finding> = findings.into_iter().filter(|f| matches!(f.status, Status::Fail | Status::Error)).collect();
    let mut out: Vec<String> =
        failing.iter().take(QUOTED).map(|f| format!("{} {} {}: {}", f.status.as_str(), f.check, f.subject(), f.message)).collect();
    if failing.len() > QUOTED {
        out.push(format!("... and {} more failing findings (see the JSON report)", failing.len() - QUOTED));
    }
    out
}

fn suites(report: &Report) -> Vec<Suite> {
    if !report.profiles.is_empty() {
        return report
            .profiles
            .iter()
            .map(|p| Suite {
                name: format!("{} {}", p.id, p.version),
                cases: p
                    .controls
                    .iter()
                    .map(|c| Case {
                        class: format!("{}.{}", p.id, c.section),
                        name: format!("{} {}", c.id, c.title),
                        status: c.status,
                        message: match (c.status, &c.waiver) {
                            (Status::Waived, Some(w)) => format!(
                                "waived (was {}) until {}, owner {}: {} ({})",
                                w.status.as_str(),
                                w.expires,
                                w.owner,
                                w.justification,
                                w.waiver
                            ),
                            (Status::Warn, _) => {
                                format!("manual review: {}", c.reason.as_deref().unwrap_or("no check decides this control"))
                            }
                            (Status::NotApplicable, _) => {
                                format!("not applicable: {}", c.reason.as_deref().unwrap_or("nothing it applies to"))
                            }
                            _ => c.reason.clone().unwrap_or_else(|| c.title.clone()),
                        },
                        findings: quoted(&c.findings),
                    })
                    .collect(),
            })
            .collect();
    }
    // Without a profile: each check, judged by its worst finding.
    let mut checks: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        match checks.iter_mut().find(|(c, _)| *c == &*f.check) {
            Some((_, list)) => list.push(f),
            None => checks.push((&f.check, vec![f])),
        }
    }
    let cases = checks
        .into_iter()
        .map(|(check, list)| {
            let status = [Status::Error, Status::Fail, Status::Warn, Status::Waived, Status::Pass]
                .into_iter()
                .find(|s| list.iter().any(|f| f.status == *s))
                .unwrap_or(Status::NotApplicable);
            let count = |s: Status| list.iter().filter(|f| f.status == s).count();
            Case {
                class: check.split('/').next().unwrap_or(check).to_string(),
                name: check.to_string(),
                status,
                message: format!(
                    "{} fail, {} error, {} warn, {} waived, {} pass, {} not-applicable",
                    count(Status::Fail),
                    count(Status::Error),
                    count(Status::Warn),
                    count(Status::Waived),
                    count(Status::Pass),
                    count(Status::NotApplicable)
                ),
                findings: quoted(list.iter().copied()),
            }
        })
        .collect();
    vec![Suite { name: "rampart".into(), cases }]
}

/// The report as JUnit XML.
pub fn junit(report: &Report) -> Result<String, Error> {
    let suites = suites(report);
    let total = |s: &[Status]| suites.iter().map(|x| x.count(s)).sum::<usize>().to_string();
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    xml_document(&format!("rampart {}", report.tool.version), |w: &mut Writer<Vec<u8>>| {
        w.create_element("testsuites")
            .with_attribute(("name", "rampart"))
            .with_attribute(("tests", tests.to_string().as_str()))
            .with_attribute(("failures", total(&[Status::Fail]).as_str()))
            .with_attribute(("errors", total(&[Status::Error]).as_str()))
            .with_attribute(("skipped", total(&[Status::Warn, Status::NotApplicable, Status::Waived]).as_str()))
            .write_inner_content(|w| {
                for suite in &suites {
                    write_suite(w, suite)?;
                }
                Ok(())
            })?;
        Ok(())
    })
}

fn write_suite<W: Write>(w: &mut Writer<W>, suite: &Suite) -> std::io::Result<()> {
    w.create_element("testsuite")
        .with_attribute(("name", xml_chars(&suite.name).as_ref()))
        .with_attribute(("tests", suite.cases.len().to_string().as_str()))
        .with_attribute(("failures", suite.count(&[Status::Fail]).to_string().as_str()))
        .with_attribute(("errors", suite.count(&[Status::Error]).to_string().as_str()))
        .with_attribute(("skipped", suite.count(&[Status::Warn, Status::NotApplicable, Status::Waived]).to_string().as_str()))
        .write_inner_content(|w| {
            for case in &suite.cases {
                let testcase = w
                    .create_element("testcase")
                    .with_attribute(("classname", xml_chars(&case.class).as_ref()))
                    .with_attribute(("name", xml_chars(&case.name).as_ref()));
                let child = match case.status {
                    Status::Pass => None,
                    Status::Fail => Some("failure"),
                    Status::Error => Some("error"),
                    Status::Warn | Status::NotApplicable | Status::Waived => Some("skipped"),
                };
                match child {
                    None => {
                        testcase.write_empty()?;
                    }
                    Some(tag) => {
                        testcase.write_inner_content(|w| {
                            let el = w.create_element(tag).with_attribute(("message", xml_chars(&case.message).as_ref()));
                            if tag == "skipped" || case.findings.is_empty() {
                                el.write_empty()?;
                            } else {
                                let text = case.findings.join("\n");
                                el.with_attribute(("type", case.status.as_str()))
                                    .write_text_content(BytesText::from_escaped(partial_escape(xml_chars(&text))))?;
                            }
                            Ok(())
                        })?;
                    }
                }
            }
            Ok(())
        })?;
    Ok(())
}
