//! End-to-end tests of fleets and configuration: node names that never
//! collapse, merges that refuse to mix what cannot be mixed, snapshots that
//! carry their failures, configuration mistakes as usage errors, the
//! recipes of docs/fleet.md and docs/snapshots.md run as written, and a
//! process that survives closed pipes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use rampart_test_apiserver::{ADMIN_TOKEN, Faults, TestServer, fixture};
use serde_json::Value;
use support::*;

fn statuses(r: &Value) -> Vec<(Value, Value)> {
    r["profiles"][0]["controls"].as_array().expect("controls").iter().map(|c| (c["id"].clone(), c["status"].clone())).collect()
}

fn control<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["profiles"][0]["controls"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

/// One scan of the whole demo (its cluster's objects and both nodes).
fn whole(profile: &str) -> Value {
    let demo = demo();
    let r = run(rampart()
        .args(["scan", "--format", "json", "--profile", profile, "--manifests"])
        .arg(&demo.cluster)
        .arg("--node")
        .args(&demo.nodes));
    assert_eq!(r.code, 1, "{}", r.stderr);
    r.json()
}

/// A report of one node plugin on one root, as JSON in `out`.
fn node_report(root: &Path, extra: &[&str], out: &Path) -> Run {
    let r = run(rampart()
        .args(["scan", "--format", "json", "--plugin", "control-plane-files", "--node"])
        .arg(root)
        .args(extra)
        .arg("-o")
        .arg(out));
    assert!(out.is_file(), "{}", r.stderr);
    r
}

#[test]
fn two_roots_under_one_node_name_are_a_usage_error_not_one_node() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    // Two machines, each mounted at a directory of the same name.
    let (a, b) = (dir.path().join("a/node"), dir.path().join("b/node"));
    std::fs::create_dir_all(a.parent().unwrap()).unwrap();
    std::fs::create_dir_all(b.parent().unwrap()).unwrap();
    let a = node_from_demo_at("cp-1", &a);
    let b = node_from_demo_at("worker-1", &b);
    let r = run(rampart().args(["scan", "--format", "json", "--plugin", "control-plane-files", "--node"]).arg(&a).arg(&b));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("node name \"node\"") && r.stderr.contains("--name"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no report that silently drops a node");

    // Named, both are scanned, each under its name.
    let r = run(rampart()
        .args(["scan", "--format", "json", "--plugin", "control-plane-files", "--node"])
        .arg(&a)
        .arg(&b)
        .args(["--name", "cp-a", "worker-b"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let names: Vec<Value> = r.json()["targets"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].clone()).collect();
    assert_eq!(names, ["cp-a", "worker-b"]);
    let r = run(rampart().args(["scan", "--plugin", "control-plane-files", "--node"]).arg(&a).arg(&b).args(["--name", "only-one"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("one --name per --node"), "{}", r.stderr);

    // By default the node names itself: its /etc/hostname here.
    std::fs::write(a.join("etc/hostname"), "CP-1.example.internal\n").unwrap();
    let r = run(rampart().args(["scan", "--format", "json", "--plugin", "control-plane-files", "--node"]).arg(&a).arg(&b));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["targets"]["nodes"][0]["name"], "cp-1.example.internal");

    // The same root twice is one node, scanned once.
    let r = run(rampart()
        .args(["scan", "--format", "json", "--plugin", "control-plane-files", "--node"])
        .arg(&demo.nodes[0])
        .arg(&demo.nodes[0]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["targets"]["nodes"].as_array().unwrap().len(), 1);

    // snapshot node takes --name too, and two snapshots under one name are refused.
    let (sa, sb) = (dir.path().join("sa.json"), dir.path().join("sb.json"));
    for (root, out) in [(&a, &sa), (&b, &sb)] {
        let r =
            run(rampart().args(["snapshot", "node", "--profile", "cis-k8s-1.12", "--name", "same", "--root"]).arg(root).arg("-o").arg(out));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let r = run(rampart().args(["scan", "--profile", "cis-k8s-1.12", "--snapshot"]).arg(&sa).arg(&sb));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("node name \"same\"") && r.stderr.contains("sa.json") && r.stderr.contains("sb.json"), "{}", r.stderr);
}

/// Lays out a demo node at exactly `dest`.
fn node_from_demo_at(name: &str, dest: &Path) -> PathBuf {
    let nodes = root().join("examples/demo/nodes");
    xtask::materialize(&nodes.join(format!("{name}.tsv")), &nodes.join(name), dest).expect("lay out node");
    dest.to_path_buf()
}

#[test]
fn merge_refuses_two_machines_under_one_node_name() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    node_report(&demo.nodes[0], &["--name", "node"], &a);
    node_report(&demo.nodes[1], &["--name", "node"], &b);
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&a).arg(&b));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("node name \"node\"") && r.stderr.contains("different findings"), "{}", r.stderr);
    // The same node's report twice is one node.
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&a).arg(&a));
    assert_eq!(r.code, 1, "{}", r.stderr);
}

#[test]
fn merge_refuses_reports_judged_under_other_profiles_or_settings() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let (cis, stig) = (dir.path().join("cis.json"), dir.path().join("stig.json"));
    node_report(&demo.nodes[0], &["--profile", "cis-k8s-1.12"], &cis);
    node_report(&demo.nodes[1], &["--profile", "k8s-stig-v2r6"], &stig);
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&cis).arg(&stig));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("assessed profile k8s-stig-v2r6") && r.stderr.contains("cis.json"), "{}", r.stderr);

    // No profile, but the STIG's thresholds: the settings tell.
    let plain = dir.path().join("plain.json");
    node_report(&demo.nodes[1], &[], &plain);
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&plain).arg(&stig));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("plugin control-plane-files ran with other settings") && r.stderr.contains("\"0644\""), "{}", r.stderr);

    // A report of an older rampart (no settings recorded) merges with its own profile, not another.
    let mut old: Value = serde_json::from_str(&std::fs::read_to_string(&cis).unwrap()).unwrap();
    for p in old["plugins"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("settings");
    }
    let old_file = dir.path().join("old.json");
    std::fs::write(&old_file, old.to_string()).unwrap();
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&old_file).arg(&cis));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&old_file).arg(&plain));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not record the settings"), "{}", r.stderr);
}

#[test]
fn merge_refuses_a_report_that_disagrees_with_itself() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    node_report(&demo.nodes[0], &["--profile", "cis-k8s-1.12"], &file);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();

    // Failing findings cut out, runs still "ok".
    let mut cut = report.clone();
    cut["findings"].as_array_mut().unwrap().retain(|f| f["status"] != "fail");
    let cut_file = dir.path().join("cut.json");
    std::fs::write(&cut_file, cut.to_string()).unwrap();
    let r = run(rampart().arg("merge").arg(&cut_file));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cut.json") && r.stderr.contains("do not match its own summary"), "{}", r.stderr);

    // A check no plugin of the report declares.
    let mut odd = report.clone();
    odd["findings"][0]["check"] = "control-plane-files/no-such-check".into();
    odd["findings"][0]["status"] = "pass".into();
    let first = report["findings"][0]["status"].as_str().unwrap().to_string();
    let summary = &mut odd["summary"];
    summary[first.as_str()] = (summary[first.as_str()].as_u64().unwrap() - 1).into();
    summary["pass"] = (summary["pass"].as_u64().unwrap() + 1).into();
    let odd_file = dir.path().join("odd.json");
    std::fs::write(&odd_file, odd.to_string()).unwrap();
    let r = run(rampart().arg("merge").arg(&odd_file));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("odd.json") && r.stderr.contains("control-plane-files/no-such-check"), "{}", r.stderr);
}

/// The host's own warning about a workload under a removed apiVersion is a
/// finding of the reserved `rampart` plugin: a report holding one merges.
#[test]
fn a_report_with_the_hosts_own_warnings_merges() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("old.yaml"),
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: old, namespace: dev}\nspec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: 'busybox:1.37.0'}]\n",
    )
    .unwrap();
    let file = dir.path().join("r.json");
    let r = run(rampart()
        .args(["scan", "--plugin", "pod-security", "--format", "json", "-o"])
        .arg(&file)
        .arg("--manifests")
        .arg(dir.path().join("old.yaml")));
    assert!(r.code <= 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["check"] == "rampart/removed-api-version"), "{report}");
    let r = run(rampart().args(["merge", "--format", "json"]).arg(&file));
    assert!(r.code <= 1, "{}", r.stderr);
    let merged = r.json();
    assert!(merged["findings"].as_array().unwrap().iter().any(|f| f["check"] == "rampart/removed-api-version"), "{merged}");
}

#[test]
fn a_snapshot_taken_with_unreadable_inputs_says_so_when_scanned() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::copy(demo.cluster.join("configmaps.json"), manifests.join("configmaps.json")).unwrap();
    std::fs::write(manifests.join("broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n").unwrap();
    let snap = dir.path().join("cluster.json");
    let r = run(rampart().args(["snapshot", "cluster", "--manifests"]).arg(&manifests).arg("-o").arg(&snap));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert!(written["errors"].to_string().contains("broken.yaml"), "{written}");

    let r = run(rampart().args(["scan", "--format", "json", "--plugin", "pod-security", "--snapshot"]).arg(&snap));
    assert_eq!(r.code, 2, "the air-gapped side learns that objects are missing: {}", r.stderr);
    assert!(r.stderr.contains("cluster.json") && r.stderr.contains("broken.yaml"), "{}", r.stderr);
    assert!(r.json()["errors"].to_string().contains("broken.yaml"));
}

/// A registry.toml like the checkout's, written into `dir`, with plugin
/// sources made absolute and the profiles from `dir`.
fn registry_copy(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("registry.toml")).unwrap();
    let text = text.replace("source = \"target/", &format!("source = \"{}/target/", root().display()));
    for p in ["cis-k8s-1.12.toml", "k8s-stig-v2r6.toml"] {
        std::fs::create_dir_all(dir.join("profiles")).unwrap();
        std::fs::copy(root().join("profiles").join(p), dir.join("profiles").join(p)).unwrap();
    }
    let path = dir.join("registry.toml");
    std::fs::write(&path, format!("standalone = true\n{}", edit(text))).unwrap();
    path
}

fn edit_profile(dir: &Path, edit: impl Fn(String) -> String) {
    let path = dir.join("profiles/cis-k8s-1.12.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit applies");
    std::fs::write(&path, edited).unwrap();
}

#[test]
fn configuration_mistakes_are_usage_errors_naming_the_file_and_line() {
    let demo = demo();
    let scan = |registry: &Path| {
        run(rampart().arg("--registry").arg(registry).args(["scan", "--profile", "cis-k8s-1.12", "--manifests"]).arg(&demo.cluster))
    };

    // A whole registry without plugins: not a scan of nothing that passes.
    // (A file layered on the built-ins may add nothing.)
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "standalone = true\n# nothing yet\n").unwrap();
    let r = run(rampart().arg("--registry").arg(&empty).args(["scan", "--manifests"]).arg(&demo.cluster));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("empty.toml") && r.stderr.contains("no [[plugin]]"), "{}", r.stderr);

    // Settings for a plugin the registry does not have.
    let dir = tempfile::tempdir().unwrap();
    let reg = registry_copy(dir.path(), |t| t);
    edit_profile(dir.path(), |t| t.replacen("[[control]]", "[settings.kubelett]\nconfig-file-mode = \"0600\"\n\n[[control]]", 1));
    let r = scan(&reg);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cis-k8s-1.12.toml:") && r.stderr.contains("no plugin `kubelett`"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no report");

    // A control naming a check its plugin does not have.
    let dir = tempfile::tempdir().unwrap();
    let reg = registry_copy(dir.path(), |t| t);
    edit_profile(dir.path(), |t| t.replacen("\"rbac/", "\"rbac/no-such-check\", \"rbac/", 1));
    let r = scan(&reg);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cis-k8s-1.12.toml:") && r.stderr.contains("plugin rbac has no check `no-such-check`"), "{}", r.stderr);
    let line: usize =
        r.stderr.split("cis-k8s-1.12.toml:").nth(1).unwrap().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
    let text = std::fs::read_to_string(dir.path().join("profiles/cis-k8s-1.12.toml")).unwrap();
    assert!(text.lines().nth(line - 1).unwrap().contains("rbac/no-such-check"), "line {line} is the one");

    // An unknown key or section: the TOML reader names the line.
    let dir = tempfile::tempdir().unwrap();
    let reg = registry_copy(dir.path(), |t| t);
    edit_profile(dir.path(), |t| t.replacen("[[control]]", "[setings.kubelet]\nconfig-file-mode = \"0600\"\n\n[[control]]", 1));
    let r = scan(&reg);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cis-k8s-1.12.toml") && r.stderr.contains("line") && r.stderr.contains("setings"), "{}", r.stderr);
}

/// Reads nothing: the command's stdout and stderr are closed at once.
fn with_closed_pipes(args: &[&std::ffi::OsStr]) -> i32 {
    let mut child = rampart().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn closed_stdout_and_stderr_never_panic_and_keep_the_scans_exit_code() {
    let demo = demo();
    let mut failing: Vec<&std::ffi::OsStr> = vec!["scan".as_ref(), "--manifests".as_ref(), demo.cluster.as_os_str(), "--node".as_ref()];
    failing.extend(demo.nodes.iter().map(|n| n.as_os_str()));
    let mut broken = failing.clone();
    broken.push("/nonexistent/node".as_ref());
    for _ in 0..3 {
        assert_eq!(with_closed_pipes(&failing), 1, "failing controls: exit 1, not a panic's 101");
        assert_eq!(with_closed_pipes(&broken), 2, "an input error, printed to a closed stderr: still exit 2");
    }
}

/// The commands of a fenced block in a doc, from the line after the one
/// holding `after`, joined over `\` continuations, without comments.
fn doc_commands(doc: &str, after: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("docs").join(doc)).unwrap();
    let start = text.find(after).unwrap_or_else(|| panic!("{doc}: {after:?}")) + after.len();
    let mut commands = Vec::new();
    let mut current = String::new();
    let mut started = false;
    for line in text[start..].lines().skip(1) {
        if !line.starts_with("    ") {
            if started {
                break;
            }
            continue;
        }
        started = true;
        let code = line.split(" #").next().unwrap().trim();
        if code.starts_with('#') || code.is_empty() {
            continue;
        }
        match code.strip_suffix('\\') {
            Some(part) => current += part,
            None => {
                current += code;
                commands.push(current.split_whitespace().map(str::to_string).collect());
                current.clear();
            }
        }
    }
    commands
}

/// Runs a recipe's `rampart` commands as written, in `dir`: `/` is each
/// demo node (a command naming it runs once per node, `$(hostname)` its
/// name), `admin.conf` the test API server's kubeconfig, `node-*.json` the
/// files written so far.
fn follow(commands: &[Vec<String>], dir: &Path, config: &Path) -> Run {
    let demo = demo();
    let mut last = None;
    for command in commands {
        assert_eq!(command[0], "rampart", "{command:?}");
        let per_node = command.iter().any(|a| a == "/");
        let nodes: Vec<Option<&PathBuf>> = if per_node { demo.nodes.iter().map(Some).collect() } else { vec![None] };
        for node in nodes {
            let name = node.map(|n| n.file_name().unwrap().to_string_lossy().into_owned()).unwrap_or_default();
            let mut args: Vec<std::ffi::OsString> = Vec::new();
            for a in &command[1..] {
                if a == "/" {
                    args.push(node.unwrap().into());
                } else if a == "admin.conf" {
                    args.push(config.into());
                } else if a.contains('*') {
                    let (prefix, suffix) = a.split_once('*').unwrap();
                    let mut matched: Vec<PathBuf> = std::fs::read_dir(dir)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix) && p.to_string_lossy().ends_with(suffix))
                        .collect();
                    matched.sort();
                    assert!(!matched.is_empty(), "{a} matches nothing");
                    args.extend(matched.into_iter().map(Into::into));
                } else if a.ends_with(".json") {
                    args.push(dir.join(a.replace("$(hostname)", &name)).into());
                } else {
                    args.push(a.into());
                }
            }
            last = Some(run(rampart().args(&args)));
        }
    }
    last.unwrap()
}

#[test]
fn the_fleet_recipe_as_documented_equals_one_scan_of_everything() {
    let server = TestServer::start(&fixture(), Faults::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("admin.conf");
    std::fs::write(&config, server.kubeconfig(ADMIN_TOKEN)).unwrap();
    let commands = doc_commands("fleet.md", "## By hand");
    let text_merge = commands.iter().position(|c| c[1] == "merge").unwrap();
    let mut commands = commands;
    commands.remove(text_merge);
    let last = follow(&commands, dir.path(), &config);
    assert_eq!(last.code, 1, "{}", last.stderr);
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("fleet.json")).unwrap()).unwrap();
    let whole = whole("cis-k8s-1.12");
    assert_eq!(statuses(&merged), statuses(&whole));
    assert_eq!(merged["profiles"][0]["score"], whole["profiles"][0]["score"]);
    for id in ["4.1.3", "4.1.4", "4.3.1"] {
        assert_ne!(control(&merged, id)["status"], "error", "kube-proxy: {}", control(&merged, id));
    }
    assert!(merged["errors"].as_array().unwrap().is_empty(), "{}", merged["errors"]);
}

#[test]
fn the_air_gap_recipe_as_documented_equals_one_scan_of_everything() {
    let server = TestServer::start(&fixture(), Faults::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("admin.conf");
    std::fs::write(&config, server.kubeconfig(ADMIN_TOKEN)).unwrap();
    let mut commands = doc_commands("snapshots.md", "scanned in two steps");
    // The scan writes its report where the test can read it.
    commands.last_mut().unwrap().extend(["--format", "json", "-o", "air-gap.json"].map(String::from));
    let last = follow(&commands, dir.path(), &config);
    assert_eq!(last.code, 1, "{}", last.stderr);
    let scanned: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("air-gap.json")).unwrap()).unwrap();
    let whole = whole("cis-k8s-1.12");
    assert_eq!(statuses(&scanned), statuses(&whole));
    assert_eq!(scanned["profiles"][0]["score"], whole["profiles"][0]["score"]);
    assert!(scanned["errors"].as_array().unwrap().is_empty(), "{}", scanned["errors"]);
}
