//! The installed binary stands alone: copied out of the checkout and run
//! from an empty directory, with HOME and the XDG directories pointing to
//! fresh places, it carries its plugins and profiles and gives the demo's
//! CIS verdicts; a user registry adds to and changes the built-ins.
//! (`cargo install --path host` builds this same binary in release mode;
//! the suite copies the one it built rather than spend minutes on another.)

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::*;

struct Install {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    work: PathBuf,
    home: PathBuf,
}

impl Install {
    fn new() -> Install {
        plugins();
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("root/bin/rampart");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        // A hard link where the filesystem allows (the debug binary is
        // large), else a copy: either way a file outside the checkout.
        let built = env!("CARGO_BIN_EXE_rampart");
        if std::fs::hard_link(built, &bin).is_err() {
            std::fs::copy(built, &bin).unwrap();
        }
        let work = tmp.path().join("anywhere");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        Install { _tmp: tmp, bin, work, home }
    }

    /// `rampart` as a user runs it: from `work`, nothing of the checkout
    /// around, caches and config under the fresh home.
    fn rampart(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.work)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("NO_COLOR", "1");
        cmd
    }

    fn user_registry(&self, text: &str) -> PathBuf {
        let path = self.home.join(".config/rampart/registry.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

#[test]
fn the_binary_alone_scans_the_demo_with_the_builtin_profile() {
    let install = Install::new();
    let demo = demo();
    copy_tree(&demo.cluster, &install.work.join("k8s"));
    let r = run(install
        .rampart()
        .args(["scan", "--profile", "cis-k8s-1.12", "--manifests", "./k8s", "--format", "json", "--node"])
        .args(&demo.nodes));
    assert_eq!(r.code, 1, "the demo has failures: {}", r.stderr);
    let alone = r.json();
    assert!(alone["errors"].as_array().is_none_or(Vec::is_empty), "{}", alone["errors"]);

    // The same verdicts as in the checkout, control by control.
    let checkout = run(rampart()
        .args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "--manifests"])
        .arg(&demo.cluster)
        .arg("--node")
        .args(&demo.nodes));
    assert_eq!(control_statuses(&alone), control_statuses(&checkout.json()));
    let automated: Vec<&Value> =
        alone["profiles"][0]["controls"].as_array().unwrap().iter().filter(|c| c["assessment"] == "automated").collect();
    let count = |s: &str| automated.iter().filter(|c| c["status"] == s).count();
    assert_eq!((count("pass"), count("fail"), count("error")), (51, 14, 0));

    // Every plugin came from the binary, and was compiled into the user's cache.
    for p in alone["plugins"].as_array().unwrap() {
        assert!(p["source"].as_str().unwrap().starts_with("built-in:"), "{p}");
    }
    assert!(install.home.join(".cache/rampart").is_dir());
}

#[test]
fn a_user_registry_adds_plugins_and_changes_a_builtins_grants() {
    let install = Install::new();
    let hostile = xtask::component("hostile");
    let mine = install.user_registry(&format!(
        "[[plugin]]\nname = \"pod-security\"\ngrants = [\"cluster.list:v1/Pod\"]\n\n\
         [[plugin]]\nname = \"probe\"\nsource = \"{}\"\nsettings = {{ attack = \"wasi\" }}\n",
        hostile.display()
    ));
    let r = run(install.rampart().args(["plugin", "list", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list = r.json();
    let entry =
        |name: &str| list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name}: {list}")).clone();
    let ps = entry("pod-security");
    assert_eq!(ps["origin"], mine.display().to_string());
    assert_eq!(ps["granted"], serde_json::json!(["cluster.list:v1/Pod"]));
    assert_eq!(ps["source"], "built-in:pod_security.wasm");
    assert_eq!(entry("rbac")["origin"], "built-in");
    assert_eq!(entry("probe")["origin"], mine.display().to_string());
    assert_eq!(list.as_array().unwrap().len(), 13);

    let r = run(install.rampart().args(["profile", "list"]));
    assert!(r.stdout.contains("cis-k8s-1.12") && r.stdout.contains("from built-in"), "{}", r.stdout);

    // --registry layers on top of both.
    let extra = install.work.join("extra.toml");
    std::fs::write(&extra, "[[plugin]]\nname = \"probe\"\ngrants = [\"node.read:/etc/**\"]\n").unwrap();
    let r = run(install.rampart().args(["--registry", "extra.toml", "plugin", "list", "--format", "json"]));
    let list = r.json();
    let probe = list.as_array().unwrap().iter().find(|p| p["name"] == "probe").unwrap();
    assert_eq!(probe["origin"], "extra.toml");
    assert_eq!(probe["granted"], serde_json::json!(["node.read:/etc/**"]));
}
