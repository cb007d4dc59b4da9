//! Hostile plugins: each attack ends as `error` (or a counted denial) for
//! the hostile plugin alone, and the other plugin's findings are intact.

mod support;

use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::Value;
use support::*;

/// A scan of a small cluster and a small node root with two plugins: the
/// hostile one (with `settings`) and pod-security.
fn attack(settings: &[(&str, &str)], extra: &[&str], node_setup: impl FnOnce(&Path)) -> (Run, Value) {
    attack_with(settings, &["node.read:/etc/**", "node.stat:/etc/**", "cluster.list:*"], extra, node_setup)
}

fn attack_with(settings: &[(&str, &str)], grants: &[&str], extra: &[&str], node_setup: impl FnOnce(&Path)) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: dev}\ndata: {password: aHVudGVyMg==}\nstringData: {user: admin}\n";
    std::fs::write(dir.path().join("cluster.yaml"), format!("{SMALL_CLUSTER}{secret}")).unwrap();
    let node = dir.path().join("node");
    std::fs::create_dir_all(node.join("etc")).unwrap();
    std::fs::create_dir_all(node.join("var/lib/kubelet")).unwrap();
    std::fs::write(node.join("etc/hostname"), "node-1\n").unwrap();
    std::fs::write(node.join("var/lib/kubelet/config.yaml"), "kind: KubeletConfiguration\n").unwrap();
    node_setup(&node);
    let (hostile, pod_security) = (xtask::component("hostile"), xtask::component("pod-security"));
    let reg = registry(
        dir.path(),
        &[
            Entry { name: "hostile", source: &hostile, grants, settings },
            Entry { name: "pod-security", source: &pod_security, grants: POD_SECURITY_GRANTS, settings: &[] },
        ],
    );
    let r = run(rampart()
        .arg("--registry")
        .arg(&reg)
        .args(["scan", "--format", "json", "--manifests"])
        .arg(dir.path().join("cluster.yaml"))
        .arg("--node")
        .arg(&node)
        .args(extra));
    let report = r.json();
    // Whatever the attack, pod-security's verdicts stand.
    assert_eq!(objects_with(&report, "pod-security/privileged", "fail"), ["Pod dev/bad"], "{}", r.stderr);
    assert_eq!(objects_with(&report, "pod-security/privileged", "pass"), ["Pod dev/good"]);
    assert!(findings(&report, "pod-security/privileged").iter().all(|f| f["status"] != "error"));
    (r, report)
}

/// The hostile plugin's one check ended as `error` with a message that
/// contains `why`.
fn assert_contained(report: &Value, why: &str) {
    assert_check_error(report, why);
    let hostile = report["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile").unwrap();
    assert_eq!(hostile["runs"][0]["outcome"], "error");
}

/// The check is `error` although the run itself ended normally.
fn assert_check_error(report: &Value, why: &str) {
    let f = findings(report, "hostile/attack");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["status"], "error", "{}", f[0]);
    assert!(f[0]["message"].as_str().unwrap().contains(why), "want {why:?} in {}", f[0]["message"]);
}

#[test]
fn an_infinite_loop_times_out() {
    let (_, report) = attack(&[("attack", "loop")], &["--timeout", "1"], |_| {});
    assert_contained(&report, "timed out after 1.0s");
}

#[test]
fn a_loop_of_host_calls_times_out() {
    let (_, report) = attack(&[("attack", "loop-host-calls")], &["--timeout", "1"], |_| {});
    assert_contained(&report, "timed out");
}

#[test]
fn a_memory_bomb_hits_the_limit() {
    let (_, report) = attack(&[("attack", "memory-bomb")], &["--memory-mib", "64"], |_| {});
    assert_contained(&report, "memory limit of 64 MiB");
}

#[test]
fn a_stack_overflow_is_caught() {
    let (_, report) = attack(&[("attack", "stack-overflow")], &[], |_| {});
    assert_contained(&report, "stack overflow");
}

#[test]
fn overflowing_the_shadow_stack_in_linear_memory_traps() {
    let (_, report) = attack(&[("attack", "shadow-stack-overflow")], &[], |_| {});
    assert_contained(&report, "trapped");
}

#[test]
fn a_trap_is_an_error() {
    let (_, report) = attack(&[("attack", "trap")], &[], |_| {});
    assert_contained(&report, "trapped");
}

#[test]
fn a_plugin_error_is_an_error() {
    let (_, report) = attack(&[("attack", "error")], &[], |_| {});
    assert_contained(&report, "deliberate error");
}

#[test]
fn a_flood_of_findings_is_cut_off() {
    let (_, report) = attack(&[("attack", "flood")], &["--max-findings", "1000"], |_| {});
    assert_contained(&report, "more than 1000 findings");
}

#[test]
fn a_huge_message_is_truncated() {
    let (_, report) = attack(&[("attack", "huge-message")], &[], |_| {});
    let f = findings(&report, "hostile/attack");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.len() < 5000 && msg.ends_with("(truncated)"), "{} bytes", msg.len());
}

#[test]
fn a_check_it_never_declared_is_an_error() {
    let (_, report) = attack(&[("attack", "undeclared-check")], &[], |_| {});
    let f = findings(&report, "hostile/not-a-declared-check");
    assert_eq!(f[0]["status"], "error");
    assert!(f[0]["message"].as_str().unwrap().contains("does not declare"));
}

#[test]
fn silence_is_not_a_pass() {
    let (_, report) = attack(&[("attack", "silent")], &[], |_| {});
    assert_check_error(&report, "gave no verdict");
}

#[test]
fn ungranted_kinds_and_paths_are_denied_and_counted() {
    // Secrets were requested but the registry grants `cluster.list:*`, so
    // they are allowed; Pods were never requested; kubelet config is outside
    // the requested globs.
    let (_, report) = attack(&[("attack", "ungranted")], &[], |_| {});
    let f = &findings(&report, "hostile/attack")[0];
    assert_eq!(f["status"], "pass");
    assert_eq!(f["evidence"]["secrets"], "1");
    assert!(f["evidence"]["pods"].as_str().unwrap().starts_with("denied: cluster.list:v1/Pod"), "{f}");
    assert!(f["evidence"]["outside-glob"].as_str().unwrap().starts_with("denied: node.read:/var/lib/kubelet/config.yaml"), "{f}");
    let hostile = report["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile").unwrap();
    assert_eq!(hostile["capabilities"]["denied_calls"], 2);
    let denied: Vec<&str> =
        hostile["capabilities"]["denied"].as_array().unwrap().iter().map(|d| d["capability"].as_str().unwrap()).collect();
    assert_eq!(denied, ["cluster.list:v1/Pod", "node.read:/var/lib/kubelet/config.yaml"]);
    assert_eq!(hostile["capabilities"]["granted"].as_array().unwrap().len(), 3);
}

#[test]
fn path_escapes_stay_inside_the_node_root() {
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "HOST-SECRET").unwrap();
    let outside_path = outside.path().to_path_buf();
    let paths = [
        "/../../../../../../etc/shadow",
        "/etc/../../../../../etc/shadow",
        "/etc/x",
        "/etc/abs",
        "/etc/dir-link/etc/shadow",
        &format!("/../../../../..{}", outside_path.display()),
    ]
    .join(",");
    let (_, report) = attack(&[("attack", "escape"), ("paths", &paths)], &[], |node| {
        std::fs::write(node.join("etc/shadow"), "NODE-SHADOW").unwrap();
        // A relative link climbing out, an absolute link to a host file, a
        // link to a directory outside.
        symlink("../../../../etc/shadow", node.join("etc/x")).unwrap();
        symlink(&outside_path, node.join("etc/abs")).unwrap();
        symlink("/", node.join("etc/dir-link")).unwrap();
    });
    let f = &findings(&report, "hostile/attack")[0];
    let evidence = f["evidence"].as_object().unwrap();
    assert_eq!(evidence.len(), 6, "{f}");
    for (path, got) in evidence {
        let got = got.as_str().unwrap();
        assert!(!got.contains("HOST-SECRET"), "{path} escaped: {got}");
        assert!(!got.contains("root:"), "{path} read the host's /etc/shadow: {got}");
    }
    // `..` at the root stays at the root; the climbing link lands on the
    // node's own /etc/shadow, exactly as on the node.
    assert_eq!(evidence["/../../../../../../etc/shadow"], "read: NODE-SHADOW");
    assert_eq!(evidence["/etc/x"], "read: NODE-SHADOW");
    assert_eq!(evidence["/etc/dir-link/etc/shadow"], "read: NODE-SHADOW");
    // The absolute link points at a path inside the root, where nothing is,
    // and outside the plugin's /etc/** grant.
    assert!(matches!(evidence["/etc/abs"].as_str().unwrap(), "denied" | "not-found"), "{}", evidence["/etc/abs"]);
}

#[test]
fn wasi_gives_no_files_environment_or_network() {
    let (_, report) = attack(&[("attack", "wasi")], &[], |_| {});
    let f = &findings(&report, "hostile/attack")[0];
    let e = &f["evidence"];
    for key in ["fs", "dir", "cwd", "net"] {
        assert!(e[key].as_str().unwrap().starts_with("refused"), "{key}: {f}");
    }
    assert_eq!(e["env"], "0", "{f}");
    assert_eq!(e["args"], "0", "{f}");
}

#[test]
fn secret_values_are_redacted_unless_granted() {
    let grants = ["node.stat:/etc/**", "cluster.list:v1/Secret"];
    let (_, report) = attack_with(&[("attack", "secrets")], &grants, &[], |_| {});
    let db = findings(&report, "hostile/attack")[0]["evidence"]["db"].as_str().unwrap().to_string();
    let secret: Value = serde_json::from_str(&db).unwrap();
    assert_eq!(secret["data"]["password"], "<redacted>");
    assert_eq!(secret["stringData"]["user"], "<redacted>");
    assert!(!db.contains("aHVudGVyMg=="), "{db}");

    let grants = ["node.stat:/etc/**", "cluster.list:v1/Secret", "cluster.secret-values"];
    let (_, report) = attack_with(&[("attack", "secrets")], &grants, &[], |_| {});
    let db = findings(&report, "hostile/attack")[0]["evidence"]["db"].as_str().unwrap().to_string();
    let secret: Value = serde_json::from_str(&db).unwrap();
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
}
