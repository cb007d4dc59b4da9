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
    let secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: dev}\ndata: {password: aHVudGVyMg==}\nstringData: {user: admin}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: cache, namespace: dev}\n";
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
    assert_eq!(f["evidence"]["secrets"], "2");
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

/// The hostile plugin's run records (one per target).
fn hostile_runs(report: &Value) -> Vec<Value> {
    let hostile = report["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile").unwrap();
    hostile["runs"].as_array().unwrap().clone()
}

#[test]
fn a_wasi_sleep_ends_at_the_deadline() {
    // `thread::sleep` is a WASI clock subscription and a poll: no Wasm
    // runs, so only a wall-clock deadline over the host call can end it.
    let (_, report) = attack(&[("attack", "sleep")], &["--timeout", "2"], |_| {});
    assert_contained(&report, "timed out after 2.");
    assert_contained(&report, "the limit is 2s; raise it with --timeout");
    let took = hostile_runs(&report)[0]["duration_ms"].as_f64().unwrap();
    assert!(took < 30_000.0, "a 60 s sleep was not cut at the deadline: {took} ms");
}

#[test]
fn a_loop_of_short_sleeps_ends_at_the_deadline() {
    let (_, report) = attack(&[("attack", "sleep-loop")], &["--timeout", "1"], |_| {});
    assert_contained(&report, "timed out after 1.");
}

#[test]
fn a_describe_that_sleeps_ends_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let slow = xtask::component("slow-describe");
    let pod_security = xtask::component("pod-security");
    let reg = registry(
        dir.path(),
        &[
            Entry { name: "slow-describe", source: &slow, grants: &[], settings: &[] },
            Entry { name: "pod-security", source: &pod_security, grants: POD_SECURITY_GRANTS, settings: &[] },
        ],
    );
    let r = run(rampart().arg("--registry").arg(&reg).args(["--timeout", "1", "plugin", "list", "--format", "json"]));
    assert_eq!(r.code, 2, "a plugin that cannot describe itself is an error: {}", r.stderr);
    let list: Value = r.json();
    let slow = list.as_array().unwrap().iter().find(|p| p["name"] == "slow-describe").unwrap();
    assert!(slow["error"].as_str().unwrap().contains("describe failed: timed out after 1."), "{slow}");
    let other = list.as_array().unwrap().iter().find(|p| p["name"] == "pod-security").unwrap();
    assert!(other["error"].is_null() && !other["checks"].as_array().unwrap().is_empty(), "{other}");
}

#[test]
fn huge_object_references_are_capped_per_field() {
    let (r, report) = attack(&[("attack", "huge-names")], &[], |_| {});
    let f = findings(&report, "hostile/attack");
    assert_eq!(f.len(), 20, "every finding kept, each with capped names");
    for field in ["api_version", "kind", "namespace", "name"] {
        let value = f[0]["object"][field].as_str().unwrap_or_else(|| panic!("{field} in {}", f[0]["object"]));
        assert!(value.len() < 600 && value.ends_with("(truncated)"), "{field}: {} bytes", value.len());
    }
    assert!(r.stdout.len() < 2 * 1024 * 1024, "the report is {} bytes", r.stdout.len());
}

#[test]
fn findings_at_every_cap_hit_the_output_budget() {
    let (r, report) = attack(&[("attack", "full-findings")], &["--max-output-mib", "32"], |_| {});
    assert_contained(&report, "plugin output went over its budget of 32 MiB");
    assert_contained(&report, "--max-output-mib");
    // The run's findings were dropped for the one error: the report is small.
    assert!(r.stdout.len() < 1024 * 1024, "the report is {} bytes", r.stdout.len());
}

#[test]
fn denied_calls_with_huge_paths_are_recorded_capped() {
    let (_, report) = attack(&[("attack", "denied-paths")], &[], |_| {});
    let hostile = report["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile").unwrap();
    assert_eq!(hostile["capabilities"]["denied_calls"], 90);
    let denied = hostile["capabilities"]["denied"].as_array().unwrap();
    assert_eq!(denied.len(), 90);
    assert!(denied.iter().all(|d| d["capability"].as_str().unwrap().len() < 600), "every record is capped");
}

#[test]
fn a_panicking_plugins_stderr_is_kept_for_its_author() {
    let (r, report) = attack(&[("attack", "chatty-panic")], &["-v"], |_| {});
    assert_contained(&report, "trapped");
    let run = &hostile_runs(&report)[0];
    let stderr = run["stderr"].as_str().unwrap();
    assert!(stderr.contains("the last thing the plugin said"), "{stderr}");
    assert!(stderr.contains("deliberate panic after talking"), "the panic message: {stderr}");
    // stdout: only its end, with a count of what was dropped.
    let stdout = run["stdout"].as_str().unwrap();
    assert!(stdout.starts_with('[') && stdout.contains("earlier bytes dropped"), "{}", &stdout[..80]);
    assert!(stdout.trim_end().ends_with("line 99999 of a chatty plugin"), "{}", &stdout[stdout.len() - 80..]);
    assert!(stdout.len() < 9 * 1024);
    // -v shows the tail on stderr too.
    assert!(r.stderr.contains("deliberate panic after talking"), "{}", r.stderr);
}

#[test]
fn a_component_importing_what_the_host_lacks_is_refused_by_name_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    // pod-security with its stdout import renamed to an interface of the
    // same length that this host does not link (as a default
    // componentize-js build imports wasi:http).
    let bytes = std::fs::read(xtask::component("pod-security")).unwrap();
    let (from, to) = (b"wasi:cli/stdout@", b"wasi:http/types@");
    let mut patched = bytes.clone();
    let mut n = 0;
    for i in 0..patched.len() - from.len() {
        if &patched[i..i + from.len()] == from {
            patched[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
    }
    assert!(n > 0, "pod-security imports wasi:cli/stdout");
    let wasm = dir.path().join("needs-http.wasm");
    std::fs::write(&wasm, &patched).unwrap();
    let r = run(rampart().args(["--no-cache", "plugin", "inspect"]).arg(&wasm));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("imports what this host does not provide: wasi:http/types@0.2."), "{}", r.stderr);
    assert!(r.stderr.contains("not linked"), "{}", r.stderr);
}

#[test]
fn a_plugin_posing_under_another_name_is_flagged() {
    // The hostile component registered as `pod-security-v2`: it calls
    // itself `hostile`.
    let dir = tempfile::tempdir().unwrap();
    let hostile = xtask::component("hostile");
    let reg = registry(dir.path(), &[Entry { name: "pod-security-v2", source: &hostile, grants: &[], settings: &[] }]);
    let r = run(rampart().arg("--registry").arg(&reg).args(["plugin", "list"]));
    assert!(r.stdout.contains("declared name: hostile"), "{}", r.stdout);
    assert!(r.stdout.contains("WARNING: the plugin calls itself `hostile` but is registered as `pod-security-v2`"), "{}", r.stdout);
    let r = run(rampart().arg("--registry").arg(&reg).args(["plugin", "list", "--format", "json"]));
    let list = r.json();
    assert_eq!(list[0]["name"], "pod-security-v2");
    assert_eq!(list[0]["declared_name"], "hostile");
    assert_eq!(list[0]["warnings"].as_array().unwrap().len(), 1);
    let r = run(rampart().arg("--registry").arg(&reg).args(["plugin", "inspect"]).arg(&hostile));
    assert!(r.stdout.contains("pod-security-v2") && r.stdout.contains("WARNING: the plugin calls itself `hostile`"), "{}", r.stdout);
}

#[test]
fn a_pass_from_a_run_with_denied_calls_carries_a_note_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), SMALL_CLUSTER).unwrap();
    let hostile = xtask::component("hostile");
    let reg = registry(
        dir.path(),
        &[Entry {
            name: "hostile",
            source: &hostile,
            grants: &["node.read:/etc/**", "cluster.list:*"],
            settings: &[("attack", "ungranted")],
        }],
    );
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "id = \"p\"\ntitle = \"P\"\nversion = \"1\"\n[sections]\n\"1\" = \"One\"\n[[control]]\nid = \"1.1\"\nsection = \"1\"\ntitle = \"attack\"\nassessment = \"automated\"\nchecks = [\"hostile/attack\"]\n",
    )
    .unwrap();
    let mut text = std::fs::read_to_string(&reg).unwrap();
    text += &format!("[[profile]]\nid = \"p\"\nsource = \"{}\"\n", profile.display());
    std::fs::write(&reg, text).unwrap();
    let node = dir.path().join("node");
    std::fs::create_dir_all(node.join("etc")).unwrap();
    let scan = |format: &str| {
        run(rampart()
            .arg("--registry")
            .arg(&reg)
            .args(["scan", "--profile", "p", "--format", format, "--manifests"])
            .arg(dir.path().join("cluster.yaml"))
            .arg("--node")
            .arg(&node))
    };
    let json = scan("json");
    let report = json.json();
    let control = &report["profiles"][0]["controls"][0];
    assert_eq!(control["status"], "pass", "the verdict stands");
    let note = control["notes"][0].as_str().unwrap();
    assert!(note.contains("plugin hostile had 2 host call(s) denied") && note.contains("incomplete"), "{note}");
    let text = scan("text");
    assert!(text.stdout.contains("note: plugin hostile had 2 host call(s) denied"), "{}", text.stdout);
    assert!(text.stdout.contains("Denied host calls: hostile 2"), "{}", text.stdout);
}

#[test]
fn listings_page_as_the_api_server_pages_and_tokens_cannot_be_forged() {
    let (_, report) = attack(&[("attack", "paging")], &[], |_| {});
    let f = &findings(&report, "hostile/attack")[0];
    let e = &f["evidence"];
    assert_eq!(e["pages"], "2", "{f}");
    assert_eq!(e["names"], "db,cache", "{f}");
    // A token made up for another listing is refused, not followed.
    assert!(e["forged"].as_str().unwrap().starts_with("invalid request: continue-token"), "{f}");
    assert_eq!(e["unlimited"], "2 objects, token None", "{f}");
    // Pods were never requested: paging changes nothing about grants.
    assert!(e["pods"].as_str().unwrap().starts_with("denied: cluster.list:v1/Pod"), "{f}");
}

/// A registry of pod-security with `settings`, and a scan of the small
/// cluster with it.
fn scan_with_settings(settings: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), SMALL_CLUSTER).unwrap();
    let pod_security = xtask::component("pod-security");
    let reg = registry(dir.path(), &[Entry { name: "pod-security", source: &pod_security, grants: POD_SECURITY_GRANTS, settings }]);
    run(rampart().arg("--registry").arg(&reg).args(["scan", "--format", "json", "--manifests"]).arg(dir.path().join("cluster.yaml")))
}

#[test]
fn settings_a_plugin_does_not_declare_or_cannot_take_stop_the_scan() {
    let ok = scan_with_settings(&[("host-ports.below", "1024")]);
    assert_eq!(ok.code, 1, "the bad pod fails: {}", ok.stderr);
    let typo = scan_with_settings(&[("host-port.below", "1024")]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(typo.stderr.contains("registry.toml: plugin pod-security has no setting `host-port.below`"), "{}", typo.stderr);
    assert!(typo.stderr.contains("did you mean `host-ports.below`?"), "{}", typo.stderr);
    let bad = scan_with_settings(&[("host-ports.below", "a thousand")]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("setting `host-ports.below` = \"a thousand\" is not a integer"), "{}", bad.stderr);
}
