//! Waivers: accepted exceptions, each with a justification, an owner and
//! an expiry date.
//!
//! A waiver names a check (`check = "apiserver/profiling"`) or a control of
//! a profile (`control = "1.2.15"`), optionally narrowed to some findings by
//! object (namespace, kind, name: globs), node or path (globs). A matching
//! `fail` or `warn` becomes `waived`, keeping what it was (an `error` is
//! never waived: a waiver accepts a known deviation, and an `error` says the
//! check could not tell; a timeout or denied read must not pass as accepted); a
//! control whose every failing finding is waived (or a control waived as a
//! whole) is `waived`. Waived results do not fail the scan; a profile's
//! score counts them as passed, and the score without waivers is reported
//! beside it. An expired waiver is not applied, and the report says so; a
//! waiver that matched nothing is reported too.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profile::ControlResult;
use crate::report::{Finding, Report, Status, Summary};

/// One waiver as a file gives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    control: Option<String>,
    check: Option<String>,
    justification: String,
    owner: String,
    expires: String,
    namespace: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    node: Option<String>,
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<toml::Spanned<Raw>>,
}

/// What a waiver covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Control(String),
    Check(String),
}

/// A parsed waiver.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// `file:line`, for messages and the report.
    pub source: String,
    pub target: Target,
    pub justification: String,
    pub owner: String,
    pub expires: jiff::civil::Date,
    selectors: Vec<(Field, String, GlobMatcher)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Namespace,
    Kind,
    Name,
    Node,
    Path,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Namespace => "namespace",
            Field::Kind => "kind",
            Field::Name => "name",
            Field::Node => "node",
            Field::Path => "path",
        }
    }

    fn of(self, f: &Finding) -> Option<&str> {
        match self {
            Field::Namespace => f.object.as_ref().and_then(|o| o.namespace.as_deref()),
            Field::Kind => f.object.as_ref().map(|o| o.kind.as_str()),
            Field::Name => f.object.as_ref().map(|o| o.name.as_str()),
            Field::Node => f.node.as_deref(),
            Field::Path => f.path.as_deref(),
        }
    }
}

/// What a waived finding or control carries: the waiver, and the status
/// it had without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverNote {
    /// Where the waiver is: `file:line`.
    pub waiver: String,
    pub justification: String,
    pub owner: String,
    pub expires: String,
    /// The status without the waiver.
    pub status: Status,
}

/// What became of a waiver in a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Applied to `matched` results.
    Applied,
    /// Past its date: not applied.
    Expired,
    /// Valid, but nothing it names failed (or it names nothing there is).
    Unmatched,
}

/// The report's account of each waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverOutcome {
    pub waiver: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The narrowing selectors, as given (`namespace=kube-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<String>,
    pub justification: String,
    pub owner: String,
    pub expires: String,
    pub state: State,
    /// The results it waived: findings, and controls (waived as a whole,
    /// or because every failing finding of theirs was).
    pub matched: usize,
}

/// Reads waiver files; a malformed one is an error naming the file and line.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Waiver>> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        out.extend(parse(path, &text)?);
    }
    Ok(out)
}

/// Parses one waiver file.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Waiver>> {
    let bad = |message: String| Error::Waivers { path: path.to_path_buf(), message };
    let file: RawFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for spanned in file.waiver {
        let line = text[..spanned.span().start].matches('\n').count() + 1;
        let at = |message: String| bad(format!("line {line}: {message}"));
        let raw = spanned.into_inner();
        let target = match (raw.control, raw.check) {
            (Some(c), None) if !c.trim().is_empty() => Target::Control(c),
            (None, Some(c)) if c.contains('/') => Target::Check(c),
            (None, Some(c)) => return Err(at(format!("check {c:?} is not plugin/check (apiserver/profiling)"))),
            (Some(_), Some(_)) => return Err(at("a waiver names a control or a check, not both".into())),
            _ => return Err(at("a waiver names what it waives: control = \"1.2.15\" or check = \"apiserver/profiling\"".into())),
        };
        if raw.justification.trim().is_empty() {
            return Err(at("the justification is empty: say why the exception is accepted".into()));
        }
        if raw.owner.trim().is_empty() {
            return Err(at("the owner is empty: say who answers for the exception".into()));
        }
        let expires: jiff::civil::Date =
            raw.expires.parse().map_err(|e| at(format!("expires {:?} is not a date (YYYY-MM-DD): {e}", raw.expires)))?;
        let mut selectors = Vec::new();
        for (field, value) in [
            (Field::Namespace, raw.namespace),
            (Field::Kind, raw.kind),
            (Field::Name, raw.name),
            (Field::Node, raw.node),
            (Field::Path, raw.path),
        ] {
            if let Some(value) = value {
                let glob = GlobBuilder::new(&value)
                    .literal_separator(field == Field::Path)
                    .build()
                    .map_err(|e| at(format!("{} {value:?} is not a glob: {e}", field.as_str())))?;
                selectors.push((field, value, glob.compile_matcher()));
            }
        }
        out.push(Waiver {
            source: format!("{}:{line}", path.display()),
            target,
            justification: raw.justification,
            owner: raw.owner,
            expires,
            selectors,
        });
    }
    Ok(out)
}

/// Today's date (UTC), the day waivers are judged on.
pub fn today() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

impl Waiver {
    fn selects(&self, f: &Finding) -> bool {
        self.selectors.iter().all(|(field, _, glob)| field.of(f).is_some_and(|v| glob.is_match(v)))
    }

    fn note(&self, status: Status) -> WaiverNote {
        WaiverNote {
            waiver: self.source.clone(),
            justification: self.justification.clone(),
            owner: self.owner.clone(),
            expires: self.expires.to_string(),
            status,
        }
    }

    fn outcome(&self, state: State, matched: usize) -> WaiverOutcome {
        let (control, check) = match &self.target {
            Target::Control(c) => (Some(c.clone()), None),
            Target::Check(c) => (None, Some(c.clone())),
        };
        WaiverOutcome {
            waiver: self.source.clone(),
            control,
            check,
            selectors: self.selectors.iter().map(|(f, v, _)| format!("{}={v}", f.as_str())).collect(),
            justification: self.justification.clone(),
            owner: self.owner.clone(),
            expires: self.expires.to_string(),
            state,
            matched,
        }
    }
}

/// Whether a status can be waived: only what would count against the scan.
fn waivable(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Warn)
}

/// Waives a finding with the first waiver that takes it; whether it did.
fn waive(finding: &mut Finding, waiver: &Waiver) -> bool {
    if !waivable(finding.status) || !waiver.selects(finding) {
        return false;
    }
    finding.waiver = Some(Box::new(waiver.note(finding.status)));
    finding.status = Status::Waived;
    true
}

/// Applies the waivers to a finished report (before its passes are
/// grouped): findings, controls, summaries and scores, and the account of
/// every waiver in `report.waivers`.
pub fn apply(report: &mut Report, waivers: &[Waiver], today: jiff::civil::Date) {
    if waivers.is_empty() {
        return;
    }
    let mut matched = vec![0usize; waivers.len()];
    let live: Vec<bool> = waivers.iter().map(|w| w.expires >= today).collect();
    // Check waivers: the findings themselves, wherever they appear.
    for f in &mut report.findings {
        if let Some(i) = check_waiver(waivers, &live, f) {
            waive(f, &waivers[i]);
            matched[i] += 1;
        }
    }
    report.summary = Summary::of(&report.findings);
    for profile in &mut report.profiles {
        for control in &mut profile.controls {
            for f in &mut control.findings {
                if let Some(i) = check_waiver(waivers, &live, f) {
                    waive(f, &waivers[i]);
                }
            }
            // Control waivers: this control's findings, and the control.
            for (i, w) in waivers.iter().enumerate() {
                if !live[i] || !matches!(&w.target, Target::Control(c) if *c == control.id) {
                    continue;
                }
                for f in &mut control.findings {
                    if control.checks.iter().any(|k| *k == *f.check) && waive(f, w) {
                        matched[i] += 1;
                    }
                }
                // A control waived as a whole, when it failed (or is left to
                // a person); one that is `error` stays so.
                if w.selectors.is_empty() && waivable(control.status) {
                    control.waiver = Some(w.note(control.status));
                    control.status = Status::Waived;
                    matched[i] += 1;
                }
            }
            if settle(control)
                && let Some(i) = control.waiver.as_ref().and_then(|n| waivers.iter().position(|w| w.source == n.waiver))
            {
                matched[i] += 1;
            }
        }
        profile.score_without_waivers = score(&profile.controls, true);
        profile.score = score(&profile.controls, false);
        let mut summary = Summary::default();
        for c in &profile.controls {
            *summary.slot(c.status) += 1;
        }
        profile.summary = summary;
    }
    report.waivers = waivers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let state = match (live[i], matched[i]) {
                (false, _) => State::Expired,
                (true, 0) => State::Unmatched,
                (true, _) => State::Applied,
            };
            w.outcome(state, matched[i])
        })
        .collect();
}

/// The first live check waiver that takes this finding.
fn check_waiver(waivers: &[Waiver], live: &[bool], f: &Finding) -> Option<usize> {
    if !waivable(f.status) {
        return None;
    }
    waivers.iter().enumerate().position(|(i, w)| live[i] && matches!(&w.target, Target::Check(c) if **c == *f.check) && w.selects(f))
}

/// A control whose failing findings are all waived is waived itself (by
/// the first of their waivers); whether it was.
fn settle(control: &mut ControlResult) -> bool {
    if control.status == Status::Waived || !waivable(control.status) {
        return false;
    }
    let deciding: Vec<&Finding> = control.findings.iter().filter(|f| control.checks.iter().any(|k| *k == *f.check)).collect();
    let still = |s: Status| deciding.iter().any(|f| f.status == s);
    // The status came from findings of this status (a control that failed
    // for a check that never ran has none: only a whole-control waiver
    // covers it).
    if still(control.status) || !deciding.iter().any(|f| f.waiver.as_ref().is_some_and(|w| w.status == control.status)) {
        return false;
    }
    // Every check of the control reported: one that never ran is not
    // covered by waiving the others.
    if still(Status::Fail) || !control.checks.iter().all(|k| deciding.iter().any(|f| *f.check == **k)) {
        return false;
    }
    let note = deciding.iter().find_map(|f| f.waiver.as_deref().cloned()).expect("a waived finding");
    control.waiver = Some(WaiverNote { status: control.status, ..note });
    control.status = Status::Waived;
    true
}

/// passed / (passed + failed + errored) over automated controls; waived
/// ones count as passed, or as what they were (`without` waivers).
pub fn score(controls: &[ControlResult], without: bool) -> Option<f64> {
    use crate::profile::Assessment;
    let status = |c: &ControlResult| match (&c.waiver, c.status) {
        (Some(w), Status::Waived) if without => w.status,
        (_, Status::Waived) => Status::Pass,
        (_, s) => s,
    };
    let automated = |s: Status| controls.iter().filter(|c| c.assessment == Assessment::Automated && status(c) == s).count();
    let (p, f, e) = (automated(Status::Pass), automated(Status::Fail), automated(Status::Error));
    (p + f + e > 0).then(|| ((p as f64) * 1000.0 / ((p + f + e) as f64)).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ObjectRef;

    fn finding(check: &str, status: Status, namespace: &str, name: &str) -> Finding {
        Finding {
            line: None,
            check: check.into(),
            status,
            severity: crate::report::Severity::High,
            message: "m".into(),
            object: Some(std::sync::Arc::new(ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some(namespace.into()),
                name: name.into(),
            })),
            path: None,
            node: None,
            source: None,
            evidence: Default::default(),
            profiles: Default::default(),
            waiver: None,
        }
    }

    const DAY: &str = "2026-12-02";

    #[test]
    fn malformed_waivers_name_the_file_and_line() {
        for (text, needle) in [
            (
                "[[waiver]]\ncontrol = \"1.2.15\"\ncheck = \"a/b\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2027-01-01\"\n",
                "line 1: a waiver names a control or a check, not both",
            ),
            ("\n\n[[waiver]]\njustification = \"j\"\nowner = \"o\"\nexpires = \"2027-01-01\"\n", "line 3: a waiver names what it waives"),
            ("[[waiver]]\ncheck = \"a/b\"\njustification = \" \"\nowner = \"o\"\nexpires = \"2027-01-01\"\n", "justification is empty"),
            ("[[waiver]]\ncheck = \"a/b\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"next year\"\n", "not a date"),
            ("[[waiver]]\ncheck = \"ab\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2027-01-01\"\n", "not plugin/check"),
            ("[[waiver]]\ncheck = \"a/b\"\njustification = \"j\"\nexpires = \"2027-01-01\"\n", "missing field `owner`"),
            (
                "[[waiver]]\ncheck = \"a/b\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2027-01-01\"\nnamspace = \"x\"\n",
                "unknown field `namspace`",
            ),
            ("[[waiver]]\ncheck = \"a/b\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2027-01-01\"\nname = \"[x\"\n", "not a glob"),
        ] {
            let err = parse(Path::new("w.toml"), text).unwrap_err().to_string();
            assert!(err.starts_with("waivers w.toml: ") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn a_check_waiver_waives_the_selected_failures_until_it_expires() {
        let waivers = parse(
            Path::new("w.toml"),
            "[[waiver]]\ncheck = \"ps/privileged\"\nnamespace = \"kube-*\"\njustification = \"CNI agents\"\nowner = \"net\"\nexpires = \"2026-12-02\"\n\n\
             [[waiver]]\ncheck = \"ps/host-pid\"\njustification = \"old\"\nowner = \"x\"\nexpires = \"2026-12-01\"\n\n\
             [[waiver]]\ncheck = \"ps/nothing-fails-here\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2030-01-01\"\n",
        )
        .unwrap();
        let mut report = crate::report::checklist::tests::report(&[], &[]);
        report.findings = vec![
            finding("ps/privileged", Status::Fail, "kube-system", "cilium"),
            finding("ps/privileged", Status::Fail, "dev", "web"),
            finding("ps/privileged", Status::Pass, "kube-system", "coredns"),
            finding("ps/host-pid", Status::Fail, "dev", "debug"),
        ];
        apply(&mut report, &waivers, DAY.parse().unwrap());
        let statuses: Vec<Status> = report.findings.iter().map(|f| f.status).collect();
        assert_eq!(statuses, [Status::Waived, Status::Fail, Status::Pass, Status::Fail]);
        let note = report.findings[0].waiver.as_ref().unwrap();
        assert_eq!((note.status, note.owner.as_str(), note.waiver.as_str()), (Status::Fail, "net", "w.toml:1"));
        assert_eq!((report.summary.fail, report.summary.waived), (2, 1));
        let states: Vec<(State, usize)> = report.waivers.iter().map(|w| (w.state.clone(), w.matched)).collect();
        assert_eq!(states, [(State::Applied, 1), (State::Expired, 0), (State::Unmatched, 0)]);
        assert_eq!(report.waivers[0].selectors, ["namespace=kube-*"]);
        // The day after it expires, the first no longer applies either.
        let mut later = crate::report::checklist::tests::report(&[], &[]);
        later.findings = vec![finding("ps/privileged", Status::Fail, "kube-system", "cilium")];
        apply(&mut later, &waivers, "2026-12-03".parse().unwrap());
        assert_eq!(later.findings[0].status, Status::Fail);
        assert_eq!(later.waivers[0].state, State::Expired);
    }

    #[test]
    fn an_error_is_never_waived_by_a_check_or_a_control_waiver() {
        let profile = crate::report::checklist::tests::result();
        let text: String =
            ["a/x", "a/y"]
                .iter()
                .map(|c| format!("[[waiver]]\ncheck = \"{c}\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n"))
                .chain(profile.controls.iter().map(|c| {
                    format!("[[waiver]]\ncontrol = \"{}\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"2099-01-01\"\n", c.id)
                }))
                .collect();
        let waivers = parse(Path::new("w.toml"), &text).unwrap();
        let mut report = crate::report::checklist::tests::report(&[], &[]);
        report.findings = vec![finding("a/x", Status::Error, "dev", "timed-out"), finding("a/y", Status::Fail, "dev", "web")];
        report.profiles = vec![profile];
        apply(&mut report, &waivers, DAY.parse().unwrap());
        assert_eq!(report.findings[0].status, Status::Error, "the plugin could not tell: not accepted");
        assert_eq!(report.findings[1].status, Status::Waived);
        for c in &report.profiles[0].controls {
            match c.unwaived() {
                Status::Error => assert_eq!(c.status, Status::Error, "{}", c.id),
                Status::Fail | Status::Warn => assert_eq!(c.status, Status::Waived, "{}", c.id),
                other => assert_eq!(c.status, other, "{}", c.id),
            }
        }
        assert!(report.profiles[0].controls.iter().any(|c| c.status == Status::Error), "the fixture has an error control");
        assert_eq!(report.waivers[0].state, State::Unmatched, "the error finding was not taken");
    }
}
