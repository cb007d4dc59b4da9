//! What every end-to-end test needs: the plugins built, the `rampart`
//! binary, the demo inputs laid out, and small fixture trees made in code.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// Builds the built-in and test plugins once per test binary.
pub fn plugins() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        xtask::build_plugins(xtask::PLUGINS).expect("build plugins");
        xtask::build_plugins(xtask::TEST_PLUGINS).expect("build test plugins");
    });
}

pub fn root() -> PathBuf {
    xtask::root()
}

/// The demo node roots, laid out once per test binary with their real modes.
pub fn demo() -> &'static xtask::Demo {
    static DEMO: OnceLock<(tempfile::TempDir, xtask::Demo)> = OnceLock::new();
    &DEMO
        .get_or_init(|| {
            let dir = tempfile::Builder::new().prefix("rampart-demo").tempdir().expect("tempdir");
            let demo = xtask::prepare_demo_in(dir.path()).expect("lay out the demo");
            (dir, demo)
        })
        .1
}

/// `rampart` with a compile cache private to the test run.
pub fn rampart() -> Command {
    plugins();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.current_dir(root());
    cmd.env("RAMPART_CACHE_DIR", root().join("target/test-cache"));
    cmd.env_remove("RAMPART_REGISTRY");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A finished run: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let Output { status, stdout, stderr } = cmd.output().expect("run rampart");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into(),
        stderr: String::from_utf8_lossy(&stderr).into(),
    }
}

/// The findings of one check (`plugin/check`).
pub fn findings<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"].as_array().expect("findings").iter().filter(|f| f["check"] == check).collect()
}

/// `namespace/name` of the objects a check gave `status` for, sorted.
pub fn objects_with(report: &Value, check: &str, status: &str) -> Vec<String> {
    let mut v: Vec<String> = findings(report, check)
        .into_iter()
        .filter(|f| f["status"] == status)
        .map(|f| {
            format!(
                "{} {}/{}",
                f["object"]["kind"].as_str().unwrap_or("?"),
                f["object"]["namespace"].as_str().unwrap_or("-"),
                f["object"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    v.sort();
    v
}

/// One `[[plugin]]` of a test registry.
pub struct Entry<'a> {
    pub name: &'a str,
    pub source: &'a Path,
    pub grants: &'a [&'a str],
    pub settings: &'a [(&'a str, &'a str)],
}

/// Writes a registry.toml with these entries into `dir`.
pub fn registry(dir: &Path, entries: &[Entry<'_>]) -> PathBuf {
    let mut text = String::new();
    for Entry { name, source, grants, settings } in entries {
        text += &format!("[[plugin]]\nname = \"{name}\"\nsource = \"{}\"\ngrants = {:?}\n", source.display(), grants);
        if !settings.is_empty() {
            text += "settings = { ";
            text += &settings.iter().map(|(k, v)| format!("{k} = {v:?}")).collect::<Vec<_>>().join(", ");
            text += " }\n";
        }
        text += "\n";
    }
    let path = dir.join("registry.toml");
    std::fs::write(&path, text).expect("write registry");
    path
}

/// The grants registry.toml gives pod-security.
pub const POD_SECURITY_GRANTS: &[&str] = &[
    "cluster.list:v1/Pod",
    "cluster.list:apps/v1/Deployment",
    "cluster.list:apps/v1/StatefulSet",
    "cluster.list:apps/v1/DaemonSet",
    "cluster.list:apps/v1/ReplicaSet",
    "cluster.list:batch/v1/Job",
    "cluster.list:batch/v1/CronJob",
    "cluster.list:v1/ReplicationController",
];

/// A tiny cluster: one privileged pod and one restricted pod.
pub const SMALL_CLUSTER: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: dev}
spec:
  containers:
  - name: c
    image: busybox:1.37.0
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: dev}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox:1.37.0
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"#;
