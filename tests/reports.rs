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
    let waivers = dir.path().join("waivers.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\ncontrol = \"1.4.1\"\njustification = \"the scheduler is profiled <b>during</b> the migration\"\n\
         owner = \"sre\"\nexpires = \"2099-01-01\"\n",
    )
    .unwrap();
    let page = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    let r = demo_scan(&[
        "--profile",
        "cis-k8s-1.12",
        "--profile",
        "k8s-stig-v2r6",
        "--waivers",
        waivers.to_str().unwrap(),
        "--output",
        &format!("html={}", page.display()),
        "--output",
        &format!("json={}", json.display()),
    ]);
    assert_eq!(r.code, 1, "the demo fails controls: {}", r.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
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
