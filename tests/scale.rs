//! The largest cluster Kubernetes supports (150,000 pods in 5,000
//! namespaces, with RBAC objects and workloads in proportion) scanned with
//! both built-in profiles at their default limits. Minutes of CPU and
//! gigabytes of memory, so it is not part of the suite CI runs; run it by
//! hand with a release build:
//!
//!     cargo test --release -p rampart-host --test scale -- --ignored
//!
//! The time and memory it takes are measured with the commands in
//! docs/performance.md, never asserted here.

mod support;

use serde_json::Value;
use support::rampart;

/// Every verdict a report holds on `check`, failing findings and grouped
/// passes together, counted per object kind.
fn verdicts_on(report: &Value, check: &str, kind: &str) -> usize {
    let findings = report["findings"].as_array().unwrap();
    let failing = findings.iter().filter(|f| f["check"] == check && f["object"]["kind"] == kind).count();
    let passes = report["passes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["check"] == check && g["kind"] == kind)
        .map(|g| g["objects"].as_array().map_or(0, Vec::len))
        .sum::<usize>();
    failing + passes
}

#[test]
#[ignore = "150,000 pods: minutes and several GB of memory; run by hand (see the module docs)"]
fn the_largest_supported_cluster_completes_without_a_limit_error() {
    const PODS: usize = 150_000;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("cluster.json");
    let cluster = xtask::synthetic::cluster_snapshot(PODS, 5_000);
    std::fs::write(&snapshot, serde_json::to_vec(&cluster).unwrap()).unwrap();
    drop(cluster);
    let out = dir.path().join("report.json");
    let run = rampart()
        .arg("scan")
        .arg("--snapshot")
        .arg(&snapshot)
        .args(["--profile", "cis-k8s-1.12", "--profile", "k8s-stig-v2r6", "--format", "json", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    // 1: failing findings (the synthetic cluster has many); anything else
    // is a failure of the scan.
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();

    // Every plugin run completed: none stopped at a limit.
    for plugin in report["plugins"].as_array().unwrap() {
        for r in plugin["runs"].as_array().unwrap() {
            assert!(r["outcome"] == "ok" || r["outcome"] == "skipped", "{}: {r}", plugin["name"]);
        }
    }
    for f in report["findings"].as_array().unwrap().iter().filter(|f| f["status"] == "error") {
        let message = f["message"].as_str().unwrap();
        assert!(!message.contains("limit") && !message.contains("raise it"), "{}: {message}", f["check"]);
    }
    // Each pod was judged, once per profile whose settings differ.
    let profiles = report["plugins"].as_array().unwrap().iter().filter(|p| p["name"] == "pod-security").count();
    assert_eq!(verdicts_on(&report, "pod-security/host-network", "Pod"), PODS * profiles);
    // Each namespace's default service account was judged.
    assert_eq!(verdicts_on(&report, "rbac/default-service-accounts", "ServiceAccount"), 5_000);
}
