//! `rampart plugin test` and `plugin build` end to end, and the example
//! plugin in every language: each non-Rust build must give exactly the
//! findings of its Rust twin, on the shared cases and on the demo cluster.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use support::*;

/// The Rust twin of the example, built once per test binary.
fn twin() -> &'static Path {
    static TWIN: OnceLock<PathBuf> = OnceLock::new();
    TWIN.get_or_init(|| xtask::build_rust_twin().expect("build the Rust twin"))
}

fn cases() -> PathBuf {
    xtask::example_dir().join("cases")
}

/// A case directory made in code.
fn case(root: &Path, name: &str, cluster: &str, expect: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cluster.yaml"), cluster).unwrap();
    std::fs::write(dir.join("expect.toml"), expect).unwrap();
}

const POD: &str =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  containers:\n  - {name: web, image: nginx}\n";

#[test]
fn the_rust_twin_passes_the_shared_cases() {
    let r = run(rampart().args(["plugin", "test"]).arg(twin()).arg("--cases").arg(cases()));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("6 passed, 0 failed, 0 could not run"), "{}", r.stdout);
}

#[test]
fn build_names_a_missing_toolchain_and_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), "").unwrap();
    let r = run(rampart().args(["plugin", "build"]).arg(dir.path()).env("PATH", "/nonexistent"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("`componentize-py` is not installed") && r.stderr.contains("pip install componentize-py==0.25.1"),
        "{}",
        r.stderr
    );
    let empty = tempfile::tempdir().unwrap();
    let r = run(rampart().args(["plugin", "build"]).arg(empty.path()));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot tell the language"), "{}", r.stderr);
    // A JavaScript project without its npm install says to run `npm ci`.
    let js = tempfile::tempdir().unwrap();
    std::fs::write(js.path().join("plugin.js"), "").unwrap();
    let r = run(rampart().args(["plugin", "build"]).arg(js.path()));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("npm ci"), "{}", r.stderr);
}

#[test]
fn inspect_shows_the_wit_version_language_and_size() {
    let r = run(rampart().args(["plugin", "inspect"]).arg(twin()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in ["wit: rampart:plugin@0.2.1\n", "language: Rust\n", "size: "] {
        assert!(r.stdout.contains(needle), "{needle}: {}", r.stdout);
    }
    let r = run(rampart().args(["plugin", "inspect", "--format", "json"]).arg(twin()));
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["wit"], "rampart:plugin@0.2.1");
    assert_eq!(v["size_bytes"].as_u64(), Some(std::fs::metadata(twin()).unwrap().len()));
}

#[test]
fn a_project_directory_is_its_plugin_wasm_and_cases() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(twin(), dir.path().join("plugin.wasm")).unwrap();
    case(
        &dir.path().join("cases"),
        "untagged",
        POD,
        "[settings]\n\"allowed-registry.registries\" = \"docker.io\"\n[[finding]]\ncheck = \"pinned\"\nstatus = \"fail\"\nobject = \"Pod/default/web\"\n[[finding]]\ncheck = \"allowed-registry\"\nstatus = \"pass\"\nobject = \"Pod/default/web\"\n",
    );
    let r = run(rampart().args(["plugin", "test"]).arg(dir.path()));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Without the component, the error says to build it.
    std::fs::remove_file(dir.path().join("plugin.wasm")).unwrap();
    let r = run(rampart().args(["plugin", "test"]).arg(dir.path()));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("plugin.wasm") && r.stderr.contains("build it first"), "{}", r.stderr);
}

/// The diff of a case whose expectations are wrong in every way.
#[test]
fn a_mismatch_prints_a_readable_diff_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let two = format!(
        "{POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: cache, namespace: default}}\nspec:\n  containers:\n  - {{name: redis, image: \"ghcr.io/acme/redis:7\"}}\n"
    );
    case(
        dir.path(),
        "wrong",
        &two,
        r#"
[settings]
"allowed-registry.registries" = "ghcr.io"
[[finding]]
check = "pinned"
status = "pass"
object = "Pod/default/web"
[[finding]]
check = "pinned"
status = "fail"
object = "Pod/default/api"
[[finding]]
check = "allowed-registry"
status = "fail"
object = "Pod/default/web"
message = "from quay.io"
"#,
    );
    case(
        dir.path(),
        "right",
        POD,
        "[settings]\n\"allowed-registry.registries\" = \"docker.io\"\n[[finding]]\ncheck = \"pinned\"\nstatus = \"fail\"\nobject = \"Pod/default/web\"\n[[finding]]\ncheck = \"allowed-registry\"\nstatus = \"pass\"\nobject = \"Pod/default/web\"\n",
    );
    let r = run(rampart().args(["plugin", "test"]).arg(twin()).arg("--cases").arg(dir.path()));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let text = r.stdout.replace(&twin().display().to_string(), "<twin>");
    insta::assert_snapshot!(text);
}

#[test]
fn bad_case_files_exit_2_naming_the_file_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    case(dir.path(), "a-typo", POD, "[[finding]]\ncheck = \"pinned\"\nstatuss = \"fail\"\n");
    case(dir.path(), "b-undeclared-setting", POD, "[settings]\n\"no-such.setting\" = \"x\"\n");
    case(dir.path(), "c-bad-manifest", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: 3}\n", "");
    case(
        dir.path(),
        "d-fine",
        POD,
        "[settings]\n\"allowed-registry.registries\" = \"docker.io\"\n[[finding]]\ncheck = \"pinned\"\nstatus = \"fail\"\nobject = \"Pod/default/web\"\n[[finding]]\ncheck = \"allowed-registry\"\nstatus = \"pass\"\nobject = \"Pod/default/web\"\n",
    );
    let r = run(rampart().args(["plugin", "test"]).arg(twin()).arg("--cases").arg(dir.path()));
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("a-typo/expect.toml") && r.stdout.contains("unknown field `statuss`"), "{}", r.stdout);
    assert!(r.stdout.contains("no-such.setting"), "{}", r.stdout);
    assert!(r.stdout.contains("c-bad-manifest") && r.stdout.contains("input errors"), "{}", r.stdout);
    assert!(r.stdout.contains("ok   d-fine"), "{}", r.stdout);
    assert!(r.stdout.contains("1 passed, 0 failed, 3 could not run"), "{}", r.stdout);
}

/// A node case: the listing's modes and owners are what the plugin sees.
/// (control-plane-files judges more paths than this case lists; only the
/// admin.conf findings are looked at.)
#[test]
fn a_node_case_has_the_modes_and_owners_of_its_listing() {
    if !xtask::can_chown() {
        return; // owners need root; the unit tests cover the refusal
    }
    let node_case = |mode: &str| {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("admin-conf");
        std::fs::create_dir_all(c.join("node/etc/kubernetes")).unwrap();
        std::fs::write(c.join("node/etc/kubernetes/admin.conf"), "apiVersion: v1\nkind: Config\n").unwrap();
        std::fs::write(c.join("node.tsv"), format!("path\ttype\tmode\tuid\tgid\n/etc/kubernetes/admin.conf\tfile\t{mode}\t0\t0\n"))
            .unwrap();
        std::fs::write(
            c.join("expect.toml"),
            "[node]\nname = \"cp-1\"\n[[finding]]\ncheck = \"admin-kubeconfig-mode\"\nstatus = \"fail\"\npath = \"/etc/kubernetes/admin.conf\"\nmessage = \"0644\"\n[[finding]]\ncheck = \"admin-kubeconfig-owner\"\nstatus = \"pass\"\npath = \"/etc/kubernetes/admin.conf\"\n",
        )
        .unwrap();
        let r = run(rampart().args(["plugin", "test"]).arg(xtask::component("control-plane-files")).arg("--cases").arg(dir.path()));
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        r.stdout.lines().filter(|l| l.contains("admin.conf")).map(str::to_string).collect::<Vec<_>>()
    };
    // 0644 as listed: both expectations met, so no diff line on admin.conf.
    assert_eq!(node_case("0644"), Vec::<String>::new());
    // 0600: the mode check passes, and the diff says so.
    let lines = node_case("0600");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("different") && lines[0].contains("admin-kubeconfig-mode") && lines[0].contains("got pass"), "{lines:?}");
}

/// Every finding of a JSON report with the fields the languages must agree on.
fn comparable(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            serde_json::to_string(&serde_json::json!([
                f["check"],
                f["status"],
                f["severity"],
                f["object"],
                f["path"],
                f["message"],
                f["evidence"]
            ]))
            .unwrap()
        })
        .collect();
    out.sort();
    out
}

/// A scan of `manifests` with the example component as the only plugin.
fn scan_with(component: &Path, manifests: &Path, settings: &[(String, String)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let grants: Vec<String> = [
        "v1/Pod",
        "apps/v1/Deployment",
        "apps/v1/StatefulSet",
        "apps/v1/DaemonSet",
        "apps/v1/ReplicaSet",
        "batch/v1/Job",
        "batch/v1/CronJob",
        "v1/ReplicationController",
    ]
    .iter()
    .map(|k| format!("\"cluster.list:{k}\""))
    .collect();
    let settings: Vec<String> = settings.iter().map(|(k, v)| format!("{k:?} = {v:?}")).collect();
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        format!(
            "standalone = true\n[[plugin]]\nname = \"image-policy\"\nsource = {:?}\ngrants = [{}]\nsettings = {{ {} }}\n",
            component.display().to_string(),
            grants.join(", "),
            settings.join(", ")
        ),
    )
    .unwrap();
    let r = run(rampart()
        .arg("--registry")
        .arg(&registry)
        .args(["scan", "--format", "json", "--passes", "full", "--manifests"])
        .arg(manifests));
    assert!(r.code <= 1, "{}: exit {}: {}", component.display(), r.code, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    comparable(&report)
}

/// One input to compare on: its name, its manifests and the settings.
type Input = (String, PathBuf, Vec<(String, String)>);

/// The case inputs and their settings, and the demo cluster.
fn inputs() -> Vec<Input> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases()).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        let expect: toml::Value = toml::from_str(&std::fs::read_to_string(dir.join("expect.toml")).unwrap()).unwrap();
        let settings = expect
            .get("settings")
            .and_then(|s| s.as_table())
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
            .unwrap_or_default();
        out.push((dir.file_name().unwrap().to_string_lossy().into_owned(), dir.join("cluster.yaml"), settings));
    }
    let demo = vec![("allowed-registry.registries".to_string(), "registry.k8s.io, docker.io/library".to_string())];
    out.push(("demo".into(), root().join("examples/demo/cluster"), demo));
    out
}

/// CI builds all four; a developer without a toolchain gets a failure
/// saying what to install, unless RAMPART_SKIP_LANGS names the language.
#[test]
fn every_language_gives_exactly_the_findings_of_the_rust_twin() {
    let rampart_bin = Path::new(env!("CARGO_BIN_EXE_rampart"));
    let inputs = inputs();
    let expected: Vec<Vec<String>> = inputs.iter().map(|(_, m, s)| scan_with(twin(), m, s)).collect();
    // The demo has containers to judge, both passing and failing.
    let demo = expected.last().unwrap();
    assert!(demo.iter().any(|f| f.contains("\"pass\"")) && demo.iter().any(|f| f.contains("\"fail\"")), "{demo:?}");
    let mut problems = Vec::new();
    for lang in xtask::lang::LANGS {
        if xtask::lang::skipped(lang) {
            eprintln!("{lang}: skipped ({} names it)", xtask::lang::SKIP_VAR);
            continue;
        }
        let component = match xtask::lang::build_example(rampart_bin, lang) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("{lang}: {e:#}"));
                continue;
            }
        };
        for ((name, manifests, settings), want) in inputs.iter().zip(&expected) {
            let got = scan_with(&component, manifests, settings);
            if &got != want {
                let missing: Vec<&String> = want.iter().filter(|f| !got.contains(f)).collect();
                let extra: Vec<&String> = got.iter().filter(|f| !want.contains(f)).collect();
                problems.push(format!(
                    "{lang} on {name}: findings differ from the Rust twin's\n  only in Rust: {missing:#?}\n  only in {lang}: {extra:#?}"
                ));
            }
        }
        // inspect tells the language and the WIT version.
        let r = run(rampart().args(["plugin", "inspect"]).arg(&component));
        let language = match *lang {
            "python" => "Python",
            "js" => "JavaScript",
            "c" => "C",
            _ => "Go",
        };
        if !r.stdout.contains(&format!("language: {language}\n")) || !r.stdout.contains("wit: rampart:plugin@0.2.1") {
            problems.push(format!("{lang}: plugin inspect:\n{}{}", r.stdout, r.stderr));
        }
        // And it passes the shared cases through `plugin test` as authors run it.
        let r = run(rampart().args(["plugin", "test"]).arg(&component).arg("--cases").arg(cases()));
        if r.code != 0 {
            problems.push(format!("{lang}: plugin test failed:\n{}{}", r.stdout, r.stderr));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// `plugin new X --lang L && plugin build X && plugin test X` passes in a
/// clean temporary directory for every language (the JavaScript project
/// gets its `npm install` first, as its README says).
#[test]
fn a_new_project_in_every_language_builds_and_passes_its_own_cases() {
    let mut problems = Vec::new();
    for lang in ["rust", "python", "js", "c", "go"] {
        if xtask::lang::skipped(lang) {
            continue;
        }
        if let Some(m) = xtask::lang::missing(lang).filter(|_| lang != "js" || !xtask::lang::has_node()) {
            problems.push(m);
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tags");
        let step = |cmd: &mut std::process::Command, what: &str| -> Result<(), String> {
            let r = run(cmd.env("PATH", xtask::lang::path()).env("CARGO_TARGET_DIR", root().join("target/wasm")));
            if r.code == 0 { Ok(()) } else { Err(format!("{lang}: {what} exited {}:\n{}{}", r.code, r.stdout, r.stderr)) }
        };
        let result = step(rampart().args(["plugin", "new", "tags", "--lang", lang, "--dir"]).arg(&dir), "plugin new")
            .and_then(|_| {
                if lang != "js" {
                    return Ok(());
                }
                let npm = std::process::Command::new("npm")
                    .current_dir(&dir)
                    .args(["install", "--no-audit", "--no-fund", "--prefer-offline", "--cache"])
                    .arg(root().join("target/lang/npm-cache"))
                    .status()
                    .map_err(|e| format!("js: npm: {e}"))?;
                if npm.success() { Ok(()) } else { Err("js: npm install failed".into()) }
            })
            .and_then(|_| step(rampart().args(["plugin", "build"]).arg(&dir), "plugin build"))
            .and_then(|_| step(rampart().args(["plugin", "test"]).arg(&dir), "plugin test"));
        if let Err(e) = result {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
