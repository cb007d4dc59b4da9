//! The human-readable report: findings grouped by plugin and check, the
//! passing subjects counted, the rest listed, then the summary.

use std::fmt::Write;

use owo_colors::OwoColorize;

use super::{Finding, Report, Status, Summary};

/// At most this many subjects are listed under one check; JSON has all.
const MAX_LISTED: usize = 50;

fn label(status: Status, color: bool) -> String {
    let text = match status {
        Status::Pass => "PASS ",
        Status::Fail => "FAIL ",
        Status::Warn => "WARN ",
        Status::NotApplicable => "N/A  ",
        Status::Error => "ERROR",
        Status::Waived => "WAIVD",
    };
    if !color {
        return text.to_string();
    }
    match status {
        Status::Pass => text.green().to_string(),
        Status::Fail => text.red().bold().to_string(),
        Status::Warn => text.yellow().to_string(),
        Status::NotApplicable => text.dimmed().to_string(),
        Status::Error => text.magenta().bold().to_string(),
        Status::Waived => text.cyan().to_string(),
    }
}

/// The verdict a check line shows: the worst of its findings.
fn overall(findings: &[&Finding]) -> Status {
    for s in [Status::Fail, Status::Error, Status::Warn, Status::Waived, Status::Pass] {
        if findings.iter().any(|f| f.status == s) {
            return s;
        }
    }
    Status::NotApplicable
}

fn subject(f: &Finding) -> String {
    let mut s = String::new();
    if let Some(node) = &f.node {
        s.push_str(node);
        s.push(':');
    }
    if let Some(o) = &f.object {
        s.push_str(&o.to_string());
    } else if let Some(p) = &f.path {
        s.push_str(p);
    } else if f.node.is_some() {
        s.pop();
    } else {
        s.push_str("cluster");
    }
    s
}

fn counts(summary: &Summary) -> String {
    Status::ALL
        .iter()
        .filter(|s| summary.get(**s) > 0)
        .map(|s| format!("{} {}", summary.get(*s), s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the report; `color` adds ANSI colours (for a terminal). Every
/// string in it is made safe to print first (see [`terminal_safe`]).
pub fn render(report: &Report, color: bool) -> String {
    let safe = safe_report(report);
    let report = safe.as_ref().unwrap_or(report);
    if report.profiles.is_empty() { render_plugins(report, color) } else { render_profiles(report, color) }
}

/// `text` with every character that could drive a terminal written out as
/// an escape: control characters (ESC of an ANSI sequence, carriage return,
/// newline, backspace, C1 controls) and the invisible bidirectional
/// overrides that reorder what a reader sees. Object names, messages,
/// evidence and paths come from the scanned data: an object named
/// `"\x1b[2J ALL CHECKS PASS"` must not clear the screen.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The report with every string (and evidence key) passed through
/// [`terminal_safe`], or `None` when nothing needed it. Done on the whole
/// report, through its JSON form, so no field added later is missed.
fn safe_report(report: &Report) -> Option<Report> {
    fn walk(v: &mut serde_json::Value, changed: &mut bool) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(safe) = terminal_safe(s) {
                    *s = safe;
                    *changed = true;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, changed)),
            serde_json::Value::Object(map) => {
                let keys: Vec<String> = map.keys().filter(|k| matches!(terminal_safe(k), std::borrow::Cow::Owned(_))).cloned().collect();
                for k in keys {
                    if let Some(value) = map.remove(&k) {
                        map.insert(terminal_safe(&k).into_owned(), value);
                        *changed = true;
                    }
                }
                map.values_mut().for_each(|i| walk(i, changed));
            }
            _ => {}
        }
    }
    let mut value = serde_json::to_value(report).ok()?;
    let mut changed = false;
    walk(&mut value, &mut changed);
    if !changed {
        return None;
    }
    match serde_json::from_value(value) {
        Ok(r) => Some(r),
        // Not expected (the report is its own JSON); never print unescaped.
        Err(e) => {
            tracing::error!("escaping the report for the terminal failed: {e}");
            let mut bare = report.clone();
            bare.findings.clear();
            bare.errors = vec![format!("the report could not be made safe to print ({e}): use --format json")];
            Some(bare)
        }
    }
}

fn header(report: &Report, out: &mut String) {
    let t = &report.targets;
    let _ = writeln!(
        out,
        "Rampart {} scan: {} plugin(s); cluster: {} object(s) from {} source(s); nodes: {}",
        report.tool.version,
        report.plugins.len(),
        t.cluster_objects,
        t.cluster_sources.len(),
        if t.nodes.is_empty() { "none".to_string() } else { t.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ") }
    );
    let servers: Vec<&str> =
        t.cluster_sources.iter().map(String::as_str).filter(|s| s.starts_with("https://") || s.starts_with("http://")).collect();
    if !servers.is_empty() {
        let _ = writeln!(out, "API server: {}", servers.join(", "));
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\nInput errors (the scan went on without these):");
        for e in &report.errors {
            let _ = writeln!(out, "  - {e}");
        }
    }
    if !report.waivers.is_empty() {
        let _ = writeln!(out, "\nWaivers:");
        for w in &report.waivers {
            let what = match (&w.control, &w.check) {
                (Some(c), _) => format!("control {c}"),
                (_, Some(c)) => format!("check {c}"),
                _ => String::new(),
            };
            let selectors = if w.selectors.is_empty() { String::new() } else { format!(" [{}]", w.selectors.join(", ")) };
            let state = match w.state {
                crate::waivers::State::Applied => format!("applied to {}", w.matched),
                crate::waivers::State::Expired => format!("EXPIRED on {}: not applied", w.expires),
                crate::waivers::State::Unmatched => "matched nothing".to_string(),
            };
            let _ = writeln!(out, "  {what}{selectors} ({}, owner {}, until {}): {state}", w.waiver, w.owner, w.expires);
        }
    }
    // The host's own findings about its inputs belong to no plugin or
    // control: list them here, so a profile scan shows them too.
    let host: Vec<&Finding> = report.findings.iter().filter(|f| f.check.starts_with("rampart/")).collect();
    if !host.is_empty() {
        let _ = writeln!(out, "\nInput warnings (read, but not as the API server would take them):");
        for f in host {
            let at = f.source.as_deref().map_or(String::new(), |s| format!(" ({s})"));
            let _ = writeln!(out, "  {} {}: {}{at}", f.status.as_str().to_uppercase(), subject(f), f.message);
        }
    }
}

/// What went wrong with plugins themselves: not loaded, runs that failed,
/// denied calls.
fn plugin_problems(report: &Report, color: bool, out: &mut String) {
    for plugin in &report.plugins {
        let mut lines = Vec::new();
        if let Some(err) = &plugin.error {
            lines.push(format!("  {} not loaded: {err}", label(Status::Error, color)));
        }
        for run in plugin.runs.iter().filter(|r| r.message.is_some()) {
            lines.push(format!("  run on {} ({:?}): {}", run.target, run.outcome, run.message.as_deref().unwrap_or("")));
        }
        if plugin.capabilities.denied_calls > 0 {
            lines.push(format!("  {} denied host call(s):", plugin.capabilities.denied_calls));
            for d in &plugin.capabilities.denied {
                lines.push(format!("    {} x{}", d.capability, d.count));
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{} {}{}", plugin.name, plugin.version, serving(plugin));
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
    }
}

fn render_profiles(report: &Report, color: bool) -> String {
    let mut out = String::new();
    header(report, &mut out);
    plugin_problems(report, color, &mut out);
    for p in &report.profiles {
        let title = format!("{} {} ({})", p.title, p.version, p.id);
        let _ = writeln!(out, "\n{}", if color { title.bold().to_string() } else { title });
        if let Some(note) = &p.version_note {
            let _ = writeln!(out, "  note: {note}");
        }
        // In the order the profile first uses them.
        let mut sections: Vec<&str> = Vec::new();
        for c in &p.controls {
            if !sections.contains(&c.section.as_str()) {
                sections.push(&c.section);
            }
        }
        for section in sections {
            let controls: Vec<_> = p.controls.iter().filter(|c| c.section == section).collect();
            let mut tally = Summary::default();
            for c in &controls {
                *tally.slot(c.status) += 1;
            }
            let heading = crate::profile::Profile::section_heading(&p.sections, section);
            let _ = writeln!(out, "\n  {heading}  [{}]", counts(&tally));
            for c in controls {
                let manual = if c.assessment == crate::profile::Assessment::Manual { " (manual)" } else { "" };
                let _ = writeln!(out, "  {}  {:<8} {}{manual}", label(c.status, color), c.id, c.title);
                if let Some(r) = &c.reason {
                    let _ = writeln!(out, "           {r}");
                }
                if let Some(w) = &c.waiver {
                    let _ = writeln!(out, "           {}", waived(w));
                }
                for n in &c.notes {
                    let _ = writeln!(out, "           note: {n}");
                }
                let shown: Vec<_> = c.findings.iter().filter(|f| matches!(f.status, Status::Fail | Status::Error)).collect();
                for f in shown.iter().take(10) {
                    let _ = writeln!(out, "           {} {}: {}", label(f.status, color), subject(f), f.message);
                }
                if shown.len() > 10 {
                    let _ = writeln!(out, "           … and {} more (see --format json)", shown.len() - 10);
                }
            }
        }
        let automated = p.controls.iter().filter(|c| c.assessment == crate::profile::Assessment::Automated).count();
        let score = p.score.map_or("n/a".to_string(), |s| format!("{s:.1}%"));
        let waived = if p.summary.waived > 0 { format!(", {} waived", p.summary.waived) } else { String::new() };
        let without = match p.score_without_waivers {
            Some(s) if p.summary.waived > 0 => format!(" ({s:.1}% without waivers)"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "\n{}: {} controls: {} pass, {} fail, {} warn, {} not-applicable, {} error{waived}. Score {score}{without} over {automated} automated controls.",
            p.id,
            p.controls.len(),
            p.summary.pass,
            p.summary.fail,
            p.summary.warn,
            p.summary.not_applicable,
            p.summary.error
        );
    }
    if let Some(denied) = denied_calls(report) {
        let _ = writeln!(out, "Denied host calls: {denied} (the verdicts of their controls may rest on incomplete evidence)");
    }
    out
}

/// "waived (was fail) until 2027-06-30, owner sre: why (waivers.toml:3)".
fn waived(w: &crate::waivers::WaiverNote) -> String {
    format!("waived (was {}) until {}, owner {}: {} ({})", w.status.as_str(), w.expires, w.owner, w.justification, w.waiver)
}

/// " (for k8s-stig-v2r6)" for a plugin entry that served some of a scan's
/// profiles with their own settings.
fn serving(plugin: &crate::report::PluginReport) -> String {
    if plugin.profiles.is_empty() { String::new() } else { format!(" (for {})", plugin.profiles.join(", ")) }
}

fn render_plugins(report: &Report, color: bool) -> String {
    let mut out = String::new();
    header(report, &mut out);
    // Each check's findings, gathered once for every check of every plugin.
    let mut by_check: std::collections::HashMap<&str, Vec<&Finding>> = std::collections::HashMap::new();
    for f in &report.findings {
        by_check.entry(&f.check).or_default().push(f);
    }
    for plugin in &report.plugins {
        // The digest comes from the report (`rampart merge` reads reports
        // from files), so it is cut by characters, never inside one.
        let digest: String = plugin.digest.strip_prefix("sha256:").map(|d| d.chars().take(12).collect()).unwrap_or_default();
        let title = format!("{} {}{}", plugin.name, plugin.version, serving(plugin));
        let _ = writeln!(out, "\n{}  (sha256:{digest})", if color { title.bold().to_string() } else { title });
        if let Some(err) = &plugin.error {
            let _ = writeln!(out, "  {} plugin not loaded: {err}", label(Status::Error, color));
            continue;
        }
        for run in plugin.runs.iter().filter(|r| r.message.is_some()) {
            let _ = writeln!(out, "  run on {} ({:?}): {}", run.target, run.outcome, run.message.as_deref().unwrap_or(""));
        }
        let caps = &plugin.capabilities;
        if caps.denied_calls > 0 {
            let _ = writeln!(out, "  {} denied host call(s):", caps.denied_calls);
            for d in &caps.denied {
                let _ = writeln!(out, "    {} x{}", d.capability, d.count);
            }
        }
        let width = plugin.checks.iter().map(|c| c.id.len()).max().unwrap_or(0) + plugin.name.len() + 1;
        for check in &plugin.checks {
            let id = format!("{}/{}", plugin.name, check.id);
            let findings: Vec<&Finding> = by_check.get(id.as_str()).cloned().unwrap_or_default();
            let summary = Summary::of(findings.iter().copied());
            let status = overall(&findings);
            let _ = writeln!(out, "  {}  {id:<width$}  {}  [{}]", label(status, color), check.title, counts(&summary));
            let listed: Vec<&&Finding> = findings
                .iter()
                .filter(|f| f.status != Status::Pass && !(status != Status::NotApplicable && f.status == Status::NotApplicable))
                .collect();
            for f in listed.iter().take(MAX_LISTED) {
                let _ = writeln!(out, "         {} {}: {}", label(f.status, color), subject(f), f.message);
                if let Some(w) = &f.waiver {
                    let _ = writeln!(out, "               {}", waived(w));
                }
            }
            if listed.len() > MAX_LISTED {
                let _ = writeln!(out, "         … and {} more (see --format json)", listed.len() - MAX_LISTED);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nSummary: {}{}",
        if report.findings.is_empty() { "no findings".to_string() } else { counts(&report.summary) },
        denied_calls(report)
            .map_or(String::new(), |d| format!("; denied host calls: {d} (their verdicts may rest on incomplete evidence)"))
    );
    out
}

/// "hostile 3, rbac 1": the plugins that had host calls denied, and how
/// many; `None` when none had.
fn denied_calls(report: &Report) -> Option<String> {
    let denied: Vec<String> = report
        .plugins
        .iter()
        .filter(|p| p.capabilities.denied_calls > 0)
        .map(|p| format!("{} {}", p.name, p.capabilities.denied_calls))
        .collect();
    (!denied.is_empty()).then(|| denied.join(", "))
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;
    use crate::report::{Capabilities, PluginReport};

    /// Regression (found reviewing the paths the `report` fuzz target
    /// drives): a merged report's plugin digest was cut at byte 12, which
    /// panicked when a multi-byte character straddled it.
    #[test]
    fn a_digest_with_multibyte_characters_is_cut_by_characters() {
        let mut report = crate::report::checklist::tests::report(&[], &[]);
        report.plugins.push(PluginReport {
            name: "p".into(),
            version: "1".into(),
            digest: "sha256:a\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}".into(),
            source: "p.wasm".into(),
            checks: Vec::new(),
            capabilities: Capabilities::default(),
            runs: Vec::new(),
            settings: None,
            profiles: Vec::new(),
            error: None,
        });
        let text = super::render(&report, false);
        assert!(text.contains("(sha256:a\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9})"), "{text}");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_written_out() {
        assert_eq!(terminal_safe("web-1"), "web-1");
        assert_eq!(terminal_safe("a\u{1b}[2Jb\r\nc\u{7f}\u{9b}"), "a\\x1b[2Jb\\r\\nc\\x7f\\x9b");
        assert_eq!(terminal_safe("x\u{202e}y"), "x\\u{202e}y");
    }
}
