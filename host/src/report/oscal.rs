//! OSCAL 1.1.3 assessment results (JSON), the form assessors' tools read
//! (NIST's OSCAL tooling, compliance-trestle, FedRAMP's automation): one
//! `result` per profile, its controls as the reviewed controls, one
//! `finding` per control with the verdict, and the evidence as
//! `observations` about `inventory-items` (the objects and nodes).
//!
//! OSCAL knows two verdicts, `satisfied` and `not-satisfied`; Rampart's
//! other words map onto them without ever making a pass out of a doubt:
//!
//! | Rampart | `status.state` | `status.reason` | also |
//! |---|---|---|---|
//! | pass | satisfied | pass | |
//! | fail | not-satisfied | fail | |
//! | error | not-satisfied | other | remarks: what could not be decided |
//! | warn (manual) | not-satisfied | other | remarks: it needs a person's review |
//! | not-applicable | satisfied | other | `implementation-status` not-applicable, remarks: why |
//! | waived | not-satisfied | other | a `risk` with status `deviation-approved` |
//!
//! The exact Rampart status is always in the finding's `status` prop (in
//! Rampart's namespace, [`NS`]). Control ids must be OSCAL tokens (start
//! with a letter or `_`): the STIG's `V-242400` is one, the CIS `1.2.15`
//! is written `cis-1.2.15` (the profile id up to its first `-`, then the
//! id) and keeps its printed form in the `label` prop.
//!
//! Every id is a version-5 UUID of what it names, so the same scan gives
//! the same document apart from its times.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Finding, Report, Status};
use crate::profile::{Assessment, ControlResult, ProfileResult};

/// The namespace of Rampart's props.
pub const NS: &str = "urn:rampart:oscal";
pub const OSCAL_VERSION: &str = "1.1.3";

/// A stable UUID for a thing named by these parts.
fn id(parts: &[&str]) -> String {
    let root = Uuid::new_v5(&Uuid::NAMESPACE_URL, NS.as_bytes());
    Uuid::new_v5(&root, parts.join("\u{1f}").as_bytes()).to_string()
}

/// A prop in Rampart's namespace; `None` for an empty value (OSCAL props
/// hold one line of text, not blank).
fn prop(name: &str, value: &str) -> Option<Value> {
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!value.is_empty()).then(|| json!({"name": name, "ns": NS, "value": value}))
}

fn props<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Value> {
    pairs.into_iter().filter_map(|(n, v)| prop(n, v)).collect()
}

/// Text OSCAL requires to be there: the first that is not blank.
fn text<'a>(candidates: &[&'a str]) -> &'a str {
    candidates.iter().copied().find(|t| !t.trim().is_empty()).unwrap_or("(none)")
}

/// `1.2.15` in profile `cis-k8s-1.12` → `cis-1.2.15`; ids that are OSCAL
/// tokens already (`V-242400`) stay as they are.
pub fn control_id(profile: &str, id: &str) -> String {
    let token = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if token(id) {
        return id.to_string();
    }
    let family: String = profile.split('-').next().unwrap_or(profile).chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    let family = if token(&family) { family } else { "control".into() };
    let rest: String = id.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    format!("{family}-{rest}")
}

fn timestamp(at: SystemTime) -> String {
    match jiff::Timestamp::try_from(at) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => "1970-01-01T00:00:00Z".into(),
    }
}

/// What the objects and nodes findings are about, each once.
#[derive(Default)]
struct Inventory {
    items: BTreeMap<String, Value>,
}

impl Inventory {
    /// The inventory item a finding is about, if it is about one.
    fn subject(&mut self, f: &Finding) -> Option<(String, String)> {
        let (key, description, pairs): (String, String, Vec<(&str, String)>) = if let Some(o) = &f.object {
            (
                format!("object/{}/{}/{}/{}", o.api_version, o.kind, o.namespace.as_deref().unwrap_or(""), o.name),
                o.to_string(),
                vec![
                    ("api-version", o.api_version.clone()),
                    ("kind", o.kind.clone()),
                    ("namespace", o.namespace.clone().unwrap_or_default()),
                    ("name", o.name.clone()),
                ],
            )
        } else if let Some(node) = &f.node {
            (format!("node/{node}"), format!("Node {node}"), vec![("kind", "Node".into()), ("name", node.to_string())])
        } else {
            return None;
        };
        let uuid = id(&["inventory", &key]);
        self.items.entry(key).or_insert_with(|| {
            json!({
                "uuid": uuid,
                "description": description,
                "props": props(pairs.iter().map(|(n, v)| (*n, v.as_str()))),
            })
        });
        Some((uuid, f.subject()))
    }
}

/// OSCAL's verdict for a Rampart status: (state, reason, remarks).
fn verdict(c: &ControlResult) -> (&'static str, &'static str, Option<String>) {
    let reason = c.reason.clone();
    match c.status {
        Status::Pass => ("satisfied", "pass", reason),
        Status::Fail => ("not-satisfied", "fail", reason),
        Status::Error => (
            "not-satisfied",
            "other",
            Some(format!("Rampart could not decide this control (error){}", reason.map(|r| format!(": {r}")).unwrap_or_default())),
        ),
        Status::Warn => (
            "not-satisfied",
            "other",
            Some(match (c.assessment, reason) {
                (Assessment::Manual, r) => format!(
                    "A manual control: a person must review it{}",
                    r.map(|r| format!(". {r}")).unwrap_or_else(|| " with the evidence observed".into())
                ),
                (_, Some(r)) => format!("A warning: {r}"),
                (_, None) => "A warning: the checks found something to review".into(),
            }),
        ),
        Status::NotApplicable => (
            "satisfied",
            "other",
            Some(format!("Not applicable: {}", reason.as_deref().unwrap_or("nothing in the scanned targets it applies to"))),
        ),
        Status::Waived => (
            "not-satisfied",
            "other",
            Some(match &c.waiver {
                Some(w) => format!("Waived (was {}): {}", w.status.as_str(), w.justification),
                None => "Waived".into(),
            }),
        ),
    }
}

fn evidence_text(f: &Finding) -> Option<String> {
    (!f.evidence.is_empty()).then(|| f.evidence.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"))
}

struct Context<'a> {
    report: &'a Report,
    tool: String,
    collected: String,
}

/// One result: a profile's controls, findings and observations.
fn result(cx: &Context, p: &ProfileResult) -> Value {
    let mut inventory = Inventory::default();
    let mut observations: Vec<Value> = Vec::new();
    // Passes are summed per check: one observation each.
    let mut passes: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut risks = Vec::new();
    let observation_of = |f: &Finding, n: usize, inventory: &mut Inventory| -> Value {
        let mut o = json!({
            "uuid": id(&["observation", &p.id, &n.to_string(), &f.check, &f.subject()]),
            "title": f.check,
            "description": text(&[&f.message, &f.check]),
            "props": props([
                ("check", &*f.check),
                ("status", f.status.as_str()),
                ("severity", f.severity.as_str()),
                ("path", f.path.as_deref().unwrap_or("")),
                ("node", f.node.as_deref().unwrap_or("")),
                ("source", f.source.as_deref().unwrap_or("")),
                ("line", &f.line.map(|l| l.to_string()).unwrap_or_default()),
                ("original-status", f.waiver.as_ref().map_or("", |w| w.status.as_str())),
                ("waiver", f.waiver.as_ref().map_or("", |w| w.waiver.as_str())),
                ("waiver-owner", f.waiver.as_ref().map_or("", |w| w.owner.as_str())),
                ("waiver-expires", f.waiver.as_ref().map_or("", |w| w.expires.as_str())),
            ]),
            "methods": ["TEST"],
            "types": ["finding"],
            "origins": [{"actors": [{"type": "tool", "actor-uuid": id(&["tool"])}]}],
            "collected": cx.collected,
        });
        if let Some((uuid, title)) = inventory.subject(f) {
            o["subjects"] = json!([{"subject-uuid": uuid, "type": "inventory-item", "title": title}]);
        }
        if let Some(e) = evidence_text(f) {
            o["relevant-evidence"] = json!([{"description": e}]);
        }
        if let Some(w) = &f.waiver {
            o["remarks"] = json!(format!("Waived until {} by {}: {}", w.expires, w.owner, w.justification));
        }
        o
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for c in &p.controls {
        let cid = control_id(&p.id, &c.id);
        let mut related: Vec<String> = Vec::new();
        for f in &c.findings {
            if f.status == Status::Pass {
                let entry = passes.entry(&*f.check).or_insert_with(|| (0, id(&["passes", &p.id, &f.check])));
                entry.0 += 1;
                if !related.contains(&entry.1) {
                    related.push(entry.1.clone());
                }
                continue;
            }
            // A finding several controls stand on is observed once.
            let key = format!("{}\u{1f}{}\u{1f}{}\u{1f}{}", f.check, f.subject(), f.status.as_str(), f.message);
            let uuid = match seen.get(&key) {
                Some(u) => u.clone(),
                None => {
                    let o = observation_of(f, observations.len(), &mut inventory);
                    let u = o["uuid"].as_str().unwrap_or_default().to_string();
                    observations.push(o);
                    seen.insert(key, u.clone());
                    u
                }
            };
            if !related.contains(&uuid) {
                related.push(uuid);
            }
        }
        let (state, reason, remarks) = verdict(c);
        let mut status = json!({"state": state, "reason": reason});
        if let Some(r) = remarks {
            status["remarks"] = json!(r);
        }
        let mut target = json!({
            "type": "statement-id",
            "target-id": format!("{cid}_smt"),
            "title": text(&[&c.title, &c.id]),
            "status": status,
        });
        if c.status == Status::NotApplicable {
            target["implementation-status"] = json!({"state": "not-applicable"});
        }
        let mut finding = json!({
            "uuid": id(&["finding", &p.id, &c.id]),
            "title": format!("{} {}", c.id, c.title).trim().to_string(),
            "description": format!("Rampart's verdict on control {}: {}.", c.id, c.status.as_str()),
            "props": props([
                ("label", c.id.as_str()),
                ("status", c.status.as_str()),
                ("assessment", if c.assessment == Assessment::Manual { "manual" } else { "automated" }),
                ("severity", c.severity.as_str()),
                ("section", c.section.as_str()),
                ("rule-id", c.rule_id.as_deref().unwrap_or("")),
                ("stig-id", c.stig_id.as_deref().unwrap_or("")),
                ("cci", &c.ccis.join(" ")),
                ("checks", &c.checks.join(" ")),
            ]),
            "target": target,
        });
        if !related.is_empty() {
            finding["related-observations"] = json!(related.iter().map(|u| json!({"observation-uuid": u})).collect::<Vec<_>>());
        }
        if let (Status::Waived, Some(w)) = (c.status, &c.waiver) {
            let risk = id(&["risk", &p.id, &c.id]);
            let mut r = json!({
                "uuid": risk,
                "title": format!("Accepted deviation from {}", c.id),
                "description": format!("Control {} ({}) was {} and is waived by {}.", c.id, c.title, w.status.as_str(), w.waiver),
                "statement": text(&[&w.justification]),
                "props": props([("owner", w.owner.as_str()), ("waiver", w.waiver.as_str())]),
                "status": "deviation-approved",
            });
            if let Ok(date) = w.expires.parse::<jiff::civil::Date>() {
                r["deadline"] = json!(format!("{date}T00:00:00Z"));
            }
            if !related.is_empty() {
                r["related-observations"] = finding["related-observations"].clone();
            }
            risks.push(r);
            finding["related-risks"] = json!([{"risk-uuid": risk}]);
            finding["remarks"] = json!(format!("Waived until {} by {}: {}", w.expires, w.owner, w.justification));
        }
        findings.push(finding);
    }
    for (check, (count, uuid)) in passes {
        observations.push(json!({
            "uuid": uuid,
            "title": check,
            "description": format!("{check} passed on {count} subject{} (the JSON report lists them).", if count == 1 { "" } else { "s" }),
            "props": props([("check", check), ("status", "pass"), ("count", &count.to_string())]),
            "methods": ["TEST"],
            "types": ["finding"],
            "origins": [{"actors": [{"type": "tool", "actor-uuid": id(&["tool"])}]}],
            "collected": cx.collected,
        }));
    }

    let mut local = json!({
        "assessment-assets": {
            "components": [{
                "uuid": id(&["tool"]),
                "type": "software",
                "title": "Rampart",
                "description": "Rampart, the Kubernetes compliance scanner that ran the checks in sandboxed WebAssembly plugins.",
                "props": props([("version", cx.report.tool.version.as_str())]),
                "status": {"state": "operational"},
            }],
            "assessment-platforms": [{
                "uuid": id(&["platform"]),
                "title": cx.tool,
                "uses-components": [{"component-uuid": id(&["tool"])}],
            }],
        },
    });
    if !inventory.items.is_empty() {
        local["inventory-items"] = json!(inventory.items.into_values().collect::<Vec<_>>());
    }
    let mut r = json!({
        "uuid": id(&["result", &p.id]),
        "title": format!("{} {}", p.title, p.version).trim().to_string(),
        "description": format!("An automated Rampart scan of {} against profile {}.", targets(cx.report), p.id),
        "start": cx.collected,
        "end": cx.collected,
        "props": props([
            ("profile", p.id.as_str()),
            ("profile-version", p.version.as_str()),
            ("score", &p.score.map(|s| format!("{s:.1}")).unwrap_or_default()),
            ("score-without-waivers", &p.score_without_waivers.map(|s| format!("{s:.1}")).unwrap_or_default()),
        ]),
        "local-definitions": local,
        "reviewed-controls": {
            "control-selections": [{
                "description": format!("Every control of profile {}.", p.id),
                "include-controls": p.controls.iter().map(|c| json!({"control-id": control_id(&p.id, &c.id)})).collect::<Vec<_>>(),
            }],
        },
    });
    if !observations.is_empty() {
        r["observations"] = json!(observations);
    }
    if !risks.is_empty() {
        r["risks"] = json!(risks);
    }
    if !findings.is_empty() {
        r["findings"] = json!(findings);
    }
    if let Some(note) = &p.version_note {
        r["remarks"] = json!(note);
    }
    r
}

/// The scanned targets in a phrase.
fn targets(report: &Report) -> String {
    let t = &report.targets;
    let mut parts = Vec::new();
    if !t.cluster_sources.is_empty() {
        parts.push(format!(
            "a cluster of {} objects{}",
            t.cluster_objects,
            t.kubernetes_version.as_ref().map(|v| format!(" (Kubernetes {v})")).unwrap_or_default()
        ));
    }
    if !t.nodes.is_empty() {
        let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        parts.push(format!("node{} {}", if names.len() == 1 { "" } else { "s" }, names.join(", ")));
    }
    if parts.is_empty() { "no targets".into() } else { parts.join(" and ") }
}

/// The report as an OSCAL assessment-results document. Needs a profile:
/// OSCAL results are about controls.
pub fn oscal(report: &Report, at: SystemTime) -> Result<String, crate::Error> {
    if report.profiles.is_empty() {
        return Err(crate::Error::Render(
            "OSCAL assessment results are about a profile's controls: give --profile (e.g. --profile cis-k8s-1.12)".into(),
        ));
    }
    let cx = Context { report, tool: format!("{} {}", report.tool.name, report.tool.version), collected: timestamp(at) };
    let ids: Vec<&str> = report.profiles.iter().map(|p| p.id.as_str()).collect();
    let resources: Vec<Value> = report
        .profiles
        .iter()
        .map(|p| {
            json!({
                "uuid": id(&["profile", &p.id]),
                "title": format!("Rampart profile {} ({} {})", p.id, p.title, p.version),
                "description": format!(
                    "The benchmark profile assessed. Control ids are the benchmark's; those that do not start with a letter are written {}-ID, with the printed id in the label prop.",
                    control_id(&p.id, "0").trim_end_matches("-0")
                ),
                "props": props([("profile", p.id.as_str()), ("profile-version", p.version.as_str()), ("kubernetes", p.kubernetes.as_deref().unwrap_or(""))]),
            })
        })
        .collect();
    let mut metadata = json!({
        "title": format!("Rampart assessment of {}: {}", targets(report), report.profiles.iter().map(|p| format!("{} {}", p.title, p.version)).collect::<Vec<_>>().join(", ")),
        "last-modified": cx.collected,
        "version": "1.0",
        "oscal-version": OSCAL_VERSION,
        "props": props([("tool", report.tool.name.as_str()), ("tool-version", report.tool.version.as_str())]),
    });
    if !report.errors.is_empty() {
        metadata["remarks"] = json!(format!(
            "The scan went on without these inputs; what they would have shown is not in the results:\n{}",
            report.errors.join("\n")
        ));
    }
    let doc = json!({
        "assessment-results": {
            "uuid": id(&["assessment-results", &ids.join(","), &targets(report)]),
            "metadata": metadata,
            "import-ap": {
                "href": format!("#{}", id(&["profile", ids[0]])),
                "remarks": "Rampart runs no separate OSCAL assessment plan: the plan is the profile in back-matter, whose controls every result reviews.",
            },
            "results": report.profiles.iter().map(|p| result(&cx, p)).collect::<Vec<_>>(),
            "back-matter": {"resources": resources},
        }
    });
    Ok(serde_json::to_string_pretty(&doc).expect("JSON values serialize") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_become_oscal_tokens_and_stig_ids_stay() {
        assert_eq!(control_id("cis-k8s-1.12", "1.2.15"), "cis-1.2.15");
        assert_eq!(control_id("k8s-stig-v2r6", "V-242400"), "V-242400");
        assert_eq!(control_id("acme", "_x"), "_x");
        assert_eq!(control_id("9lives", "1 2"), "control-1_2");
    }

    #[test]
    fn ids_are_version_5_and_stable() {
        let a = id(&["finding", "cis-k8s-1.12", "1.2.15"]);
        assert_eq!(a, id(&["finding", "cis-k8s-1.12", "1.2.15"]));
        assert_ne!(a, id(&["finding", "cis-k8s-1.12", "1.2.16"]));
        assert_eq!(a.as_bytes()[14], b'5');
    }

    #[test]
    fn props_are_one_line_and_never_blank() {
        assert_eq!(prop("x", "  a\n b  ").unwrap()["value"], "a b");
        assert!(prop("x", " \n ").is_none());
    }
}
