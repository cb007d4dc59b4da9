//! End-to-end tests of STIG output (`--format ckl|cklb|xccdf`): the demo
//! scanned with the DISA Kubernetes STIG profile, written as the checklists
//! STIG Viewer 2 and 3 open and as XCCDF 1.2 results, and the usage errors
//! around them.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::Value;
use support::*;

const STIG: &str = "k8s-stig-v2r6";

fn demo_scan(extra: &[&str]) -> Run {
    let demo = demo();
    run(rampart().args(["scan", "--profile", STIG, "--manifests"]).arg(&demo.cluster).arg("--node").args(&demo.nodes).args(extra))
}

/// The JSON report of the demo with the STIG profile, once per test binary.
fn demo_json() -> &'static Value {
    static REPORT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    REPORT.get_or_init(|| {
        let r = demo_scan(&["--format", "json"]);
        assert_eq!(r.code, 1, "the demo fails STIG rules; stderr: {}", r.stderr);
        r.json()
    })
}

/// The CKL words for rampart's verdicts: only a pass is NotAFinding.
fn ckl_word(status: &str) -> &'static str {
    match status {
        "pass" => "NotAFinding",
        "fail" => "Open",
        "not-applicable" => "Not_Applicable",
        "warn" | "error" => "Not_Reviewed",
        other => panic!("unknown status {other}"),
    }
}

/// The XCCDF words for rampart's verdicts: only a pass is `pass`.
fn xccdf_word(status: &str) -> &'static str {
    match status {
        "pass" => "pass",
        "fail" => "fail",
        "not-applicable" => "notapplicable",
        "error" => "error",
        "warn" => "notchecked",
        other => panic!("unknown status {other}"),
    }
}

/// An element: name, attributes, text with entities resolved, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    children: Vec<Node>,
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

    fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).unwrap_or_else(|| panic!("no {name} on <{}>", self.name))
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn one<'a>(&'a self, name: &'a str) -> &'a Node {
        let mut found = self.all(name);
        let first = found.next().unwrap_or_else(|| panic!("no <{name}> in <{}>", self.name));
        assert!(found.next().is_none(), "more than one <{name}> in <{}>", self.name);
        first
    }

    /// The ATTRIBUTE_DATA of every STIG_DATA of a VULN named `attribute`.
    fn data(&self, attribute: &str) -> Vec<String> {
        self.all("STIG_DATA").filter(|d| d.one("VULN_ATTRIBUTE").text == attribute).map(|d| d.one("ATTRIBUTE_DATA").text.clone()).collect()
    }
}

/// Parses a .ckl or XCCDF with quick-xml's reader (end tags must match).
fn parse_xml(xml: &str) -> Node {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("not XML: {e}")) {
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

fn controls(report: &Value) -> &Vec<Value> {
    report["profiles"][0]["controls"].as_array().unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

/// Every rule of the STIG is a VULN with the profile's identifiers and the
/// verdict of the JSON report, mapped fail-closed.
#[test]
fn the_demo_as_a_ckl_carries_every_rule_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.ckl");
    let r = demo_scan(&["--format", "ckl", "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 1, "exit code as for JSON: {}", r.stderr);
    assert!(r.stdout.is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let doc = parse_xml(&text);
    let checklist = doc.one("CHECKLIST");
    let asset = checklist.one("ASSET");
    assert_eq!(asset.one("HOST_NAME").text, "kubernetes", "manifests and node roots: no server to name the asset after");
    let comment = &asset.one("TARGET_COMMENT").text;
    assert!(comment.contains("scanned by rampart") && comment.contains("nodes covered: cp-1, worker-1"), "{comment}");
    let istig = checklist.one("STIGS").one("iSTIG");
    let info: BTreeMap<String, String> = istig
        .one("STIG_INFO")
        .all("SI_DATA")
        .map(|d| (d.one("SID_NAME").text.clone(), d.all("SID_DATA").next().map(|n| n.text.clone()).unwrap_or_default()))
        .collect();
    assert_eq!(info["stigid"], "Kubernetes_STIG");
    assert_eq!(info["version"], "2");
    assert!(info["releaseinfo"].starts_with("Release: 6 Benchmark Date: "), "{}", info["releaseinfo"]);

    let report = demo_json();
    let vulns: Vec<&Node> = istig.all("VULN").collect();
    assert_eq!(vulns.len(), 92);
    assert_eq!(vulns.len(), controls(report).len());
    let mut seen = BTreeMap::new();
    for (v, c) in vulns.iter().zip(controls(report)) {
        let id = c["id"].as_str().unwrap();
        assert_eq!(v.data("Vuln_Num"), [id], "VULNs in the profile's order");
        assert_eq!(v.data("Rule_ID"), [c["rule_id"].as_str().unwrap()], "{id}");
        assert_eq!(v.data("Rule_Ver"), [c["stig_id"].as_str().unwrap()], "{id}");
        assert_eq!(v.data("Severity"), [c["severity"].as_str().unwrap()], "{id}");
        assert_eq!(v.data("CCI_REF"), strings(&c["ccis"]), "{id}");
        assert!(v.data("STIGRef")[0].starts_with("Kubernetes Security Technical Implementation Guide :: Version 2, Release: 6"));
        let status = c["status"].as_str().unwrap();
        assert_eq!(v.one("STATUS").text, ckl_word(status), "{id} is {status}");
        *seen.entry(status.to_string()).or_insert(0) += 1;
        let comments = &v.one("COMMENTS").text;
        assert!(comments.starts_with("rampart ") && comments.contains(&format!("verdict {status}")), "{id}: {comments}");
        if let Some(reason) = c["reason"].as_str() {
            assert!(comments.contains(reason), "{id}: the reason is in the comments: {comments}");
        }
    }
    for status in ["pass", "fail", "warn", "not-applicable"] {
        assert!(seen.contains_key(status), "the demo gives {status} verdicts: {seen:?}");
    }
    // A failing rule says what was seen, where.
    let etcd = vulns.iter().find(|v| v.data("Vuln_Num") == ["V-242445"]).unwrap();
    assert_eq!(etcd.one("STATUS").text, "Open");
    let details = &etcd.one("FINDING_DETAILS").text;
    assert!(details.contains("fail: node cp-1 /var/lib/etcd"), "{details}");
}

/// STIG Viewer 3's JSON: the asset named by --asset, every rule, the same
/// verdicts, and the same bytes for the same scan.
#[test]
fn the_demo_as_a_cklb_is_named_by_asset_and_reproducible() {
    let first = demo_scan(&["--format", "cklb", "--asset", "prod-east"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let doc = first.json();
    assert_eq!(doc["cklb_version"], "1.0");
    assert_eq!(doc["title"], "prod-east_Kubernetes_STIG_V2R6");
    assert_eq!(doc["target_data"]["host_name"], "prod-east");
    let stig = &doc["stigs"][0];
    assert_eq!((stig["stig_id"].as_str(), stig["version"].as_str()), (Some("Kubernetes_STIG"), Some("2")));
    let rules = stig["rules"].as_array().unwrap();
    assert_eq!((rules.len(), stig["size"].as_u64()), (92, Some(92)));
    for (rule, c) in rules.iter().zip(controls(demo_json())) {
        let id = c["id"].as_str().unwrap();
        assert_eq!(rule["group_id"], c["id"]);
        assert_eq!(rule["rule_id_src"], c["rule_id"], "{id}");
        assert_eq!(format!("{}_rule", rule["rule_id"].as_str().unwrap()), c["rule_id"].as_str().unwrap(), "{id}");
        assert_eq!(rule["rule_version"], c["stig_id"], "{id}");
        assert_eq!(rule["ccis"], c["ccis"], "{id}");
        let expected = ckl_word(c["status"].as_str().unwrap()).to_lowercase().replace("notafinding", "not_a_finding");
        assert_eq!(rule["status"], expected.as_str(), "{id}");
    }
    let again = demo_scan(&["--format", "cklb", "--asset", "prod-east"]);
    assert_eq!(first.stdout, again.stdout, "derived UUIDs and no timestamps: the same scan gives the same file");
}

/// The document with its `end-time` value left out: the one value that
/// differs between two writes of the same results.
fn without_end_time(xml: &str) -> String {
    let start = xml.find(" end-time=\"").expect("an end-time") + " end-time=\"".len();
    let end = start + xml[start..].find('"').expect("a closing quote");
    format!("{}{}", &xml[..start], &xml[end..])
}

/// XCCDF 1.2 results: a Rule and a rule-result per rule of the STIG with
/// DISA's ids, the JSON report's verdicts, and the default model's score.
#[test]
fn the_demo_as_xccdf_has_a_rule_result_per_rule_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo-xccdf.xml");
    let r = demo_scan(&["--format", "xccdf", "--asset", "prod-east", "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 1, "exit code as for JSON: {}", r.stderr);
    assert!(r.stdout.is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let doc = parse_xml(&text);
    let benchmark = doc.one("Benchmark");
    assert_eq!(benchmark.attr("xmlns"), "http://checklists.nist.gov/xccdf/1.2");
    assert_eq!(benchmark.attr("id"), "xccdf_mil.disa.stig_benchmark_Kubernetes_STIG");
    assert_eq!(benchmark.one("version").text, "2");
    assert!(benchmark.one("plain-text").text.starts_with("Release: 6 Benchmark Date: "));
    let t = benchmark.one("TestResult");
    assert_eq!(t.one("target").text, "prod-east");
    let end = t.attr("end-time");
    let shape: String = end.chars().map(|c| if c.is_ascii_digit() { 'd' } else { c }).collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "{end}");
    assert!(end >= "2026-01-01", "the time of the scan: {end}");
    let facts: Vec<(&str, &str)> = t.one("target-facts").all("fact").map(|f| (f.attr("name"), f.text.as_str())).collect();
    assert_eq!(
        facts,
        [
            ("urn:xccdf:fact:asset:identifier:host_name", "prod-east"),
            ("urn:rampart:fact:kubernetes:node", "cp-1"),
            ("urn:rampart:fact:kubernetes:node", "worker-1")
        ],
        "no Kubernetes version from files"
    );

    let report = demo_json();
    let rules: Vec<&Node> = benchmark.all("Group").map(|g| g.one("Rule")).collect();
    let results: Vec<&Node> = t.all("rule-result").collect();
    assert_eq!((rules.len(), results.len()), (92, 92));
    assert_eq!(results.len(), controls(report).len());
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for ((rule, result), c) in rules.iter().zip(&results).zip(controls(report)) {
        let id = c["id"].as_str().unwrap();
        let idref = format!("xccdf_mil.disa.stig_rule_{}", c["rule_id"].as_str().unwrap());
        assert_eq!(rule.attr("id"), idref, "Rules in the profile's order");
        assert_eq!(result.attr("idref"), idref, "rule-results in the profile's order");
        assert_eq!(result.attr("severity"), c["severity"].as_str().unwrap(), "{id}");
        assert_eq!(result.attr("version"), c["stig_id"].as_str().unwrap(), "{id}");
        assert_eq!(result.attr("weight"), "10.0", "{id}");
        let idents: Vec<String> = result.all("ident").map(|i| i.text.clone()).collect();
        assert_eq!(idents, strings(&c["ccis"]), "{id}");
        let status = c["status"].as_str().unwrap();
        assert_eq!(result.one("result").text, xccdf_word(status), "{id} is {status}");
        *seen.entry(status).or_insert(0) += 1;
        let messages: Vec<&str> = result.all("message").map(|m| m.text.as_str()).collect();
        assert!(messages[0].starts_with("rampart ") && messages[0].contains(&format!("verdict {status}")), "{id}: {messages:?}");
        if let Some(reason) = c["reason"].as_str() {
            assert!(messages.iter().any(|m| m.contains(reason)), "{id}: the reason is a message: {messages:?}");
        }
        if id == "V-242445" {
            assert_eq!(status, "fail");
            assert!(messages.iter().any(|m| m.starts_with("fail: node cp-1 /var/lib/etcd")), "{messages:?}");
        }
    }
    for status in ["pass", "fail", "warn", "not-applicable"] {
        assert!(seen.contains_key(status), "the demo gives {status} verdicts: {seen:?}");
    }

    // The default model: 100 × pass / (pass + fail + error) over the rules.
    let n = |s: &str| seen.get(s).copied().unwrap_or(0) as f64;
    let expected = (n("pass") * 1000.0 / (n("pass") + n("fail") + n("error"))).round() / 10.0;
    let score = t.one("score");
    assert_eq!(score.attr("system"), "urn:xccdf:scoring:default");
    assert_eq!(score.text, format!("{expected:.1}"));
    let manual_errors = controls(report).iter().filter(|c| c["assessment"] == "manual" && c["status"] == "error").count();
    if manual_errors == 0 {
        assert_eq!(score.text.parse::<f64>().ok(), report["profiles"][0]["score"].as_f64(), "the profile's score");
    }

    let again = demo_scan(&["--format", "xccdf", "--asset", "prod-east"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(without_end_time(&again.stdout), without_end_time(&text), "only the end time differs between two scans");
}

/// A fleet's checklist: merging the JSON report gives the checklist of the
/// scan itself.
#[test]
fn merge_writes_the_same_checklist_as_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    // `--passes full`: the passes' messages are in the checklist's details.
    let scanned = demo_scan(&["--format", "json", "--passes", "full", "-o", json.to_str().unwrap()]);
    assert_eq!(scanned.code, 1, "{}", scanned.stderr);
    let merged = run(rampart().args(["merge", "--format", "ckl"]).arg(&json));
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    let direct = demo_scan(&["--format", "ckl"]);
    let first_difference = merged.stdout.lines().zip(direct.stdout.lines()).enumerate().find(|(_, (m, d))| m != d);
    assert_eq!(first_difference, None, "line {:?}", first_difference.map(|(i, _)| i + 1));
    assert_eq!(merged.stdout, direct.stdout);

    let merged = run(rampart().args(["merge", "--format", "xccdf"]).arg(&json));
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    let direct = demo_scan(&["--format", "xccdf"]);
    assert!(merged.stdout.contains("<rule-result "), "{}", merged.stdout);
    assert_eq!(without_end_time(&merged.stdout), without_end_time(&direct.stdout));
}

fn write_report(dir: &Path, profiles: &str) -> std::path::PathBuf {
    let path = dir.join("r.json");
    let text = format!(
        r#"{{"schema_version": "1.0", "tool": {{"name": "rampart", "version": "0.1.0"}},
            "targets": {{"cluster_sources": [], "cluster_objects": 0, "nodes": []}},
            "plugins": [], "findings": [],
            "summary": {{"pass": 0, "fail": 0, "warn": 0, "not-applicable": 0, "error": 0}},
            "profiles": {profiles}, "errors": []}}"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Never an empty checklist: no profile, or one that is not a STIG, is a
/// usage error naming the flag and the profile, before anything is scanned.
#[test]
fn a_checklist_needs_a_stig_profile() {
    let demo = demo();
    let no_profile = run(rampart().args(["scan", "--format", "ckl", "--manifests"]).arg(&demo.cluster));
    assert_eq!(no_profile.code, 2);
    assert!(no_profile.stdout.is_empty());
    assert!(no_profile.stderr.contains("--format ckl") && no_profile.stderr.contains("--profile ID"), "{}", no_profile.stderr);

    let cis = run(rampart().args(["scan", "--format", "cklb", "--profile", "cis-k8s-1.12", "--manifests"]).arg(&demo.cluster));
    assert_eq!(cis.code, 2);
    assert!(cis.stdout.is_empty());
    assert!(cis.stderr.contains("--format cklb") && cis.stderr.contains("profile cis-k8s-1.12 has no [checklist] table"), "{}", cis.stderr);

    let dir = tempfile::tempdir().unwrap();
    let merged = run(rampart().args(["merge", "--format", "ckl"]).arg(write_report(dir.path(), "[]")));
    assert_eq!(merged.code, 2);
    assert!(merged.stdout.is_empty() && merged.stderr.contains("no profile was assessed"), "{}", merged.stderr);
    let merged = run(rampart().args(["merge", "--format", "cklb"]).arg(write_report(dir.path(), r#"[{"id": "cis-k8s-1.12"}]"#)));
    assert_eq!(merged.code, 2);
    assert!(merged.stderr.contains("profile cis-k8s-1.12 has no [checklist] table"), "{}", merged.stderr);

    // XCCDF results are refused alike.
    let no_profile = run(rampart().args(["scan", "--format", "xccdf", "--manifests"]).arg(&demo.cluster));
    assert_eq!(no_profile.code, 2);
    assert!(no_profile.stdout.is_empty());
    assert!(no_profile.stderr.contains("--format xccdf") && no_profile.stderr.contains("--profile ID"), "{}", no_profile.stderr);
    let cis = run(rampart().args(["scan", "--format", "xccdf", "--profile", "cis-k8s-1.12", "--manifests"]).arg(&demo.cluster));
    assert_eq!(cis.code, 2);
    assert!(cis.stdout.is_empty());
    assert!(
        cis.stderr.contains("--format xccdf") && cis.stderr.contains("profile cis-k8s-1.12 has no [checklist] table"),
        "{}",
        cis.stderr
    );
    let merged = run(rampart().args(["merge", "--format", "xccdf"]).arg(write_report(dir.path(), "[]")));
    assert_eq!(merged.code, 2);
    assert!(merged.stdout.is_empty() && merged.stderr.contains("no profile was assessed"), "{}", merged.stderr);

    let stray = run(rampart().args(["scan", "--format", "json", "--asset", "prod", "--manifests"]).arg(&demo.cluster));
    assert_eq!(stray.code, 2);
    assert!(stray.stderr.contains("--asset") && stray.stderr.contains("--format ckl, cklb or xccdf"), "{}", stray.stderr);
    let blank = run(rampart().args(["scan", "--format", "ckl", "--profile", STIG, "--asset", " ", "--manifests"]).arg(&demo.cluster));
    assert_eq!(blank.code, 2);
    assert!(blank.stderr.contains("1 to 255 printable characters"), "{}", blank.stderr);
}

/// A waived rule keeps its status in a checklist (an accepted risk is an
/// open finding), with the waiver in its comments; XCCDF keeps the result
/// and names the waiver in a message.
#[test]
fn a_waived_rule_keeps_its_status_with_the_waiver_in_its_comments() {
    let dir = tempfile::tempdir().unwrap();
    let waivers = dir.path().join("waivers.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\ncontrol = \"V-242445\"\njustification = \"etcd moves to its own disk in March\"\nowner = \"storage-team\"\nexpires = \"2099-03-31\"\n",
    )
    .unwrap();
    let out = dir.path().join("demo.ckl");
    let r = demo_scan(&["--format", "ckl", "-o", out.to_str().unwrap(), "--waivers", waivers.to_str().unwrap()]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let doc = parse_xml(&std::fs::read_to_string(&out).unwrap());
    let istig = doc.one("CHECKLIST").one("STIGS").one("iSTIG");
    let etcd = istig.all("VULN").find(|v| v.data("Vuln_Num") == ["V-242445"]).unwrap();
    assert_eq!(etcd.one("STATUS").text, "Open");
    let comments = &etcd.one("COMMENTS").text;
    assert!(comments.contains("verdict waived"), "{comments}");
    assert!(
        comments.contains("Waived (without the waiver: fail) until 2099-03-31, owner storage-team: etcd moves to its own disk in March"),
        "{comments}"
    );

    let r = demo_scan(&["--format", "xccdf", "--waivers", waivers.to_str().unwrap()]);
    let xccdf = &r.stdout;
    let at = xccdf.find("<rule-result idref=\"xccdf_mil.disa.stig_rule_SV-242445").unwrap();
    let rule = &xccdf[at..at + xccdf[at..].find("</rule-result>").unwrap()];
    assert!(rule.contains("<result>fail</result>") && rule.contains("Waived (without the waiver: fail)"), "{rule}");
}

/// OpenSCAP (Debian's openscap-scanner, installed by xtask/toolchains.sh)
/// accepts the XCCDF results against the XCCDF 1.2 schema, and its
/// schematron rules (run with xsltproc from the XSL oscap ships) find
/// nothing to warn about. (They used to find about 190 things.)
///
/// The two are run apart because oscap 1.3.7 calls a document invalid when
/// its schematron pass prints nothing at all, that is, when there is no
/// warning: `oscap xccdf validate` fails on exactly the document this test
/// shows clean, and passes on one with a single warning.
#[test]
fn oscap_validates_the_xccdf_results_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.xml");
    let r = demo_scan(&["--format", "xccdf", "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let oscap = std::process::Command::new("oscap")
        .args(["xccdf", "validate", "--skip-schematron"])
        .arg(&out)
        .output()
        .expect("oscap (Debian's openscap-scanner; xtask/toolchains.sh installs it)");
    let said = format!("{}{}", String::from_utf8_lossy(&oscap.stdout), String::from_utf8_lossy(&oscap.stderr));
    assert!(oscap.status.success() && said.trim().is_empty(), "{said}");

    let schematron = std::path::Path::new("/usr/share/openscap/schemas/xccdf/1.2/xccdf_1.2-schematron.xsl");
    assert!(schematron.is_file(), "openscap-scanner ships the XCCDF 1.2 schematron");
    let check = |file: &std::path::Path| {
        let x = std::process::Command::new("xsltproc").arg(schematron).arg(file).output().expect("xsltproc (xtask/toolchains.sh)");
        assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
        String::from_utf8_lossy(&x.stdout)
            .lines()
            .filter(|l| l.starts_with("Warning") || l.starts_with("Error"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let warnings = check(&out);
    assert!(warnings.is_empty(), "{warnings:#?}");

    // The schematron does see problems: a rule-result without its check.
    let text = std::fs::read_to_string(&out).unwrap();
    let at = text.find("<rule-result ").unwrap();
    let end = at + text[at..].find("</rule-result>").unwrap();
    let check_at = at + text[at..end].find("<check").expect("every rule-result names its check");
    let check_end = end; // the check is the rule-result's last child
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, format!("{}{}", &text[..check_at], &text[check_end..])).unwrap();
    let warnings = check(&broken);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("should have exactly one child 'check'"), "{warnings:#?}");

    // Rules no plugin check decides name a reviewer as their checking system.
    let manual = controls(demo_json()).iter().filter(|c| c["checks"].as_array().is_none_or(|a| a.is_empty())).count();
    assert!(manual > 0);
    assert_eq!(text.matches("<check system=\"urn:rampart:check:manual\">").count(), manual * 2, "in the Rule and its result");
    assert!(text.contains("<dc:publisher>DISA</dc:publisher>") && text.contains("<platform idref=\"cpe:2.3:a:kubernetes:kubernetes"));
}
