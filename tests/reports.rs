//! The report formats people and other tools read, each checked by a real
//! consumer: the HTML page in a headless Chromium (Debian's `chromium`,
//! installed by xtask/toolchains.sh).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::*;

fn demo_scan(extra: &[&str]) -> Run {
    let demo = demo();
    run(rampart().arg("scan").arg("--manifests").arg(&demo.cluster).arg("--node").args(&demo.nodes).args(extra))
}

/// A scan of the demo with CIS and the STIG, control 1.4.1 waived with this
/// justification, written as `format` (its file) and as JSON (read back).
fn cis_and_stig_with_a_waiver(dir: &Path, format: &str, justification: &str) -> (PathBuf, Value) {
    let waivers = dir.join("waivers.toml");
    let waiver =
        format!("[[waiver]]\ncontrol = \"1.4.1\"\njustification = \"{justification}\"\nowner = \"sre\"\nexpires = \"2099-01-01\"\n");
    std::fs::write(&waivers, waiver).unwrap();
    let out = dir.join(format!("report.{format}"));
    let json = dir.join("report.json");
    let r = demo_scan(&[
        "--profile",
        "cis-k8s-1.12",
        "--profile",
        "k8s-stig-v2r6",
        "--waivers",
        waivers.to_str().unwrap(),
        "--output",
        &format!("{format}={}", out.display()),
        "--output",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(r.code, 1, "the demo fails controls: {}", r.stderr);
    (out, serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap())
}

/// Chromium in headless mode (as root in CI, so without its sandbox),
/// with a profile directory of its own.
fn chromium(profile: &Path) -> Command {
    let mut cmd = Command::new("chromium");
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The page as the browser rendered it, after its script ran.
fn rendered(page: &Path, fragment: &str, profile: &Path) -> String {
    let out = chromium(profile)
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("chromium (Debian's chromium; xtask/toolchains.sh installs it)");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The text of the element with this id (no nested elements).
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id}"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    &dom[start..start + dom[start..].find('<').unwrap()]
}

/// One profile's section of the rendered page.
fn profile_section<'a>(dom: &'a str, anchor: &str) -> &'a str {
    let at = dom.find(&format!("id=\"profile-{anchor}\"")).unwrap_or_else(|| panic!("no profile {anchor}"));
    let end = dom[at + 1..].find("<section class=\"profile\"").map_or(dom.len(), |e| at + 1 + e);
    &dom[at..end]
}

fn anchor(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
}

#[test]
fn the_html_report_renders_in_a_browser_with_the_scores_and_every_control() {
    let dir = tempfile::tempdir().unwrap();
    let (page, report) = cis_and_stig_with_a_waiver(dir.path(), "html", "the scheduler is profiled <b>during</b> the migration");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the page loads nothing from the network");

    let browser = dir.path().join("chromium");
    let dom = rendered(&page, "", &browser);
    assert!(dom.contains("data-ready=\"true\""), "the page's script ran");
    let profiles = report["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    for p in profiles {
        let a = anchor(p["id"].as_str().unwrap());
        let controls = p["controls"].as_array().unwrap();
        let score = format!("{:.1}%", p["score"].as_f64().unwrap());
        assert_eq!(text_of(&dom, &format!("score-{a}")), score, "{}", p["id"]);
        let section = profile_section(&dom, &a);
        assert_eq!(section.matches("<details class=\"control\"").count(), controls.len(), "{}", p["id"]);
        assert_eq!(text_of(&dom, &format!("shown-{a}")), format!("{0} of {0} controls shown", controls.len()));
        // Each control's status as the report has it.
        for status in ["pass", "fail", "warn", "error", "not-applicable", "waived"] {
            let want = controls.iter().filter(|c| c["status"] == status).count();
            assert_eq!(section.matches(&format!("data-status=\"{status}\"")).count(), want, "{} {status}", p["id"]);
        }
    }
    // The waiver: a badge, its owner and justification (escaped), and both scores.
    let cis = profile_section(&dom, "cis-k8s-1-12");
    assert!(cis.contains("the scheduler is profiled &lt;b&gt;during&lt;/b&gt; the migration"), "the justification, as text");
    assert_eq!(
        text_of(&dom, "score-without-waivers-cis-k8s-1-12"),
        format!("{:.1}%", profiles[0]["score_without_waivers"].as_f64().unwrap())
    );

    // Filtered by the address: failing controls only.
    let failing = |p: &Value| p["controls"].as_array().unwrap().iter().filter(|c| c["status"] == "fail").count();
    let dom = rendered(&page, "#status=fail", &browser);
    for p in profiles {
        let a = anchor(p["id"].as_str().unwrap());
        let total = p["controls"].as_array().unwrap().len();
        assert_eq!(text_of(&dom, &format!("shown-{a}")), format!("{} of {total} controls shown", failing(p)));
    }
    let dom = rendered(&page, "#status=fail,error&severity=critical", &browser);
    assert!(text_of(&dom, "shown-cis-k8s-1-12").starts_with("0 of "), "no critical CIS control fails in the demo");

    // A screenshot, as docs/report.md shows it (target/report-html.png).
    let shot = screenshot(&page, &browser);
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1280);
}

/// Writes the page's screenshot to target/report-html.png, where
/// docs/report-html.png is copied from.
fn screenshot(page: &Path, browser: &Path) -> PathBuf {
    let shot = root().join("target/report-html.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(browser)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1400")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    shot
}

/// The NIST OSCAL 1.1.3 assessment-results schema (tests/fixtures/README.md
/// says where it is from), with `format` checked (dates, URIs).
fn oscal_validator() -> jsonschema::Validator {
    let path = root().join("tests/fixtures/oscal-assessment-results-1.1.3.schema.json");
    let text = std::fs::read(&path).unwrap();
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&text)),
        "d9e34757f0c12aff61f52b821f0b8f83ba0ba75b3a149a202b08ba82f82bc4c3",
        "NIST's published file, unchanged"
    );
    let schema: Value = serde_json::from_slice(&text).unwrap();
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).take(20).collect()
}

#[test]
fn oscal_assessment_results_validate_against_nists_schema_and_keep_every_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (oscal, report) = cis_and_stig_with_a_waiver(dir.path(), "oscal", "profiled during the migration");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&oscal).unwrap()).unwrap();
    let validator = oscal_validator();
    let errors = schema_errors(&validator, &doc);
    assert!(errors.is_empty(), "{errors:#?}");

    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], "1.1.3");
    let results = ar["results"].as_array().unwrap();
    let profiles = report["profiles"].as_array().unwrap();
    assert_eq!(results.len(), profiles.len(), "one result per profile");
    let prop = |v: &Value, name: &str| -> Option<String> {
        v["props"].as_array()?.iter().find(|p| p["name"] == name).map(|p| p["value"].as_str().unwrap().to_string())
    };
    for (result, profile) in results.iter().zip(profiles) {
        let controls = profile["controls"].as_array().unwrap();
        let reviewed = result["reviewed-controls"]["control-selections"][0]["include-controls"].as_array().unwrap();
        assert_eq!(reviewed.len(), controls.len());
        let findings = result["findings"].as_array().unwrap();
        assert_eq!(findings.len(), controls.len(), "one finding per control");
        for (finding, control) in findings.iter().zip(controls) {
            assert_eq!(prop(finding, "label").as_deref(), control["id"].as_str());
            let status = control["status"].as_str().unwrap();
            assert_eq!(prop(finding, "status").as_deref(), Some(status));
            let state = finding["target"]["status"]["state"].as_str().unwrap();
            // Only a pass, or a control with nothing to apply to, is satisfied.
            let satisfied = matches!(status, "pass" | "not-applicable");
            assert_eq!(state == "satisfied", satisfied, "{} {status} -> {state}", control["id"]);
        }
        // Every observation a finding names is there.
        let observations: Vec<&str> = result["observations"].as_array().unwrap().iter().map(|o| o["uuid"].as_str().unwrap()).collect();
        for f in findings {
            for o in f["related-observations"].as_array().into_iter().flatten() {
                assert!(observations.contains(&o["observation-uuid"].as_str().unwrap()));
            }
        }
    }
    // CIS ids are tokens: 1.4.1 is cis-1.4.1; the waiver is an approved deviation.
    let cis = &results[0];
    let waived = cis["findings"].as_array().unwrap().iter().find(|f| prop(f, "label").as_deref() == Some("1.4.1")).unwrap();
    assert_eq!(waived["target"]["target-id"], "cis-1.4.1_smt");
    assert_eq!(waived["target"]["status"]["state"], "not-satisfied");
    let risk = &cis["risks"][0];
    assert_eq!(risk["status"], "deviation-approved");
    assert_eq!(risk["statement"], "profiled during the migration");
    assert_eq!(waived["related-risks"][0]["risk-uuid"], risk["uuid"]);
    // STIG ids are tokens already.
    assert!(
        results[1]["reviewed-controls"]["control-selections"][0]["include-controls"][0]["control-id"].as_str().unwrap().starts_with("V-")
    );

    // The validator is not a formality: a verdict OSCAL does not know, or
    // a control id that is not a token, is refused.
    let mut bad = doc.clone();
    bad["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "passed".into();
    assert!(!schema_errors(&validator, &bad).is_empty());
    let mut bad = doc.clone();
    bad["assessment-results"]["results"][0]["reviewed-controls"]["control-selections"][0]["include-controls"][0]["control-id"] =
        "1.1.1".into();
    assert!(!schema_errors(&validator, &bad).is_empty());

    // Without a profile there are no controls to report on: a usage error
    // before scanning.
    let r = demo_scan(&["--plugin", "rbac", "--format", "oscal"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--format oscal") && r.stderr.contains("--profile"), "{}", r.stderr);
}

#[test]
fn policy_reports_as_yaml_hold_a_result_per_finding_in_the_crd_schema() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("reports.yaml");
    let json = dir.path().join("report.json");
    let r = demo_scan(&[
        "--profile",
        "cis-k8s-1.12",
        "--passes",
        "full",
        "--output",
        &format!("policyreport={}", yaml.display()),
        "--output",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let text = std::fs::read_to_string(&yaml).unwrap();
    let objects: Vec<Value> =
        serde_yaml_ng::Deserializer::from_str(&text).map(|doc| <Value as serde::Deserialize>::deserialize(doc).unwrap()).collect();
    assert!(objects.len() > 3, "namespaces, the cluster and two nodes");
    for o in &objects {
        let problems = rampart_test_apiserver::policy_report_problems(o);
        assert!(problems.is_empty(), "{}: {problems:#?}", o["metadata"]["name"]);
    }
    let results: usize = objects.iter().map(|o| o["results"].as_array().unwrap().len()).sum();
    assert_eq!(results, report["findings"].as_array().unwrap().len(), "one result per finding");
    // Node findings in their node's report, scoped to the Node.
    for node in ["cp-1", "worker-1"] {
        let o = objects.iter().find(|o| o["metadata"]["name"] == format!("rampart-node-{node}")).expect(node);
        assert_eq!(o["kind"], "ClusterPolicyReport");
        assert_eq!(o["scope"], serde_json::json!({"apiVersion": "v1", "kind": "Node", "name": node}));
        assert!(o["results"].as_array().unwrap().iter().all(|r| r["properties"]["node"] == node));
    }
    // Namespaced objects' findings in their namespace.
    for o in objects.iter().filter(|o| o["kind"] == "PolicyReport") {
        let ns = o["metadata"]["namespace"].as_str().unwrap();
        assert!(o["results"].as_array().unwrap().iter().all(|r| r["resources"][0]["namespace"] == ns));
    }
}
