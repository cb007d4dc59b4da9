//! Hostile plugins written in C and Python, built with `rampart plugin
//! build` as their authors would: what those languages reach for (libc's
//! files and `exit`, malformed strings and wild pointers handed to the
//! host, an interpreter's loops, sleeps, recursion and sockets) ends as
//! `error` for the hostile plugin alone, never as a pass, and the other
//! plugin's verdicts stand.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use support::*;

/// The hostile project in `lang`, built once per test binary (or taken
/// from target/lang/components) and compiled once into the test cache, so
/// that the tests do not each compile an 18 MB Python component.
fn hostile(lang: &str) -> Option<&'static Path> {
    static C: OnceLock<Option<PathBuf>> = OnceLock::new();
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    let (cell, project) = match lang {
        "c" => (&C, "hostile-c"),
        _ => (&PYTHON, "hostile-py"),
    };
    cell.get_or_init(|| {
        if xtask::lang::skipped(lang) {
            eprintln!("{lang}: skipped ({} names it)", xtask::lang::SKIP_VAR);
            return None;
        }
        let dir = root().join("tests/plugins").join(project);
        let wasm =
            xtask::lang::build_project(Path::new(env!("CARGO_BIN_EXE_rampart")), lang, &dir, project).unwrap_or_else(|e| panic!("{e:#}"));
        let r = run(rampart().args(["plugin", "inspect"]).arg(&wasm));
        assert_eq!(r.code, 0, "{}", r.stderr);
        Some(wasm)
    })
    .as_deref()
}

/// Scans a small cluster with the hostile plugin of `lang` (running
/// `attack`) beside pod-security; `None` when the language is skipped.
fn attack(lang: &str, attack: &str) -> Option<(Run, Value)> {
    let wasm = hostile(lang)?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), SMALL_CLUSTER).unwrap();
    let pod_security = xtask::component("pod-security");
    let reg = registry(
        dir.path(),
        &[
            Entry { name: "hostile", source: wasm, grants: &[], settings: &[("attack", attack)] },
            Entry { name: "pod-security", source: &pod_security, grants: POD_SECURITY_GRANTS, settings: &[] },
        ],
    );
    let r = run(rampart()
        .arg("--registry")
        .arg(&reg)
        .args(["scan", "--format", "json", "--timeout", "3", "--manifests"])
        .arg(dir.path().join("cluster.yaml")));
    let report = r.json();
    assert_eq!(objects_with(&report, "pod-security/privileged", "fail"), ["Pod dev/bad"], "{}", r.stderr);
    assert_eq!(objects_with(&report, "pod-security/privileged", "pass"), ["Pod dev/good"]);
    Some((r, report))
}

/// The attack's check is `error` with `why` in its message, and the run's
/// outcome is `error`.
fn contained(lang: &str, name: &str, why: &str) {
    let Some((r, report)) = attack(lang, name) else { return };
    let f = findings(&report, "hostile/attack");
    assert_eq!(f.len(), 1, "{lang} {name}: {f:?}");
    assert_eq!(f[0]["status"], "error", "{lang} {name}: {}", f[0]);
    assert!(f[0]["message"].as_str().unwrap().contains(why), "{lang} {name}: want {why:?} in {}", f[0]["message"]);
    let hostile = report["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile").unwrap();
    assert_eq!(hostile["runs"][0]["outcome"], "error", "{lang} {name}: {hostile}");
    assert_eq!(r.code, 1, "{lang} {name}: an error verdict fails the scan");
}

#[test]
fn a_harmless_run_passes_so_the_attacks_below_are_what_fails() {
    for lang in ["c", "python"] {
        let Some((_, report)) = attack(lang, "none") else { continue };
        let f = findings(&report, "hostile/attack");
        assert_eq!(f[0]["status"], "pass", "{lang}: {f:?}");
    }
}

#[test]
fn endless_loops_and_sleeps_time_out() {
    contained("c", "loop", "timed out");
    contained("python", "loop", "timed out");
    contained("python", "sleep", "timed out");
}

#[test]
fn memory_bombs_hit_the_limit() {
    contained("c", "memory-bomb", "memory limit of 256 MiB reached");
    contained("python", "memory-bomb", "memory limit of 256 MiB reached");
}

#[test]
fn runaway_recursion_traps() {
    // C's stack lives in linear memory and runs off its bottom; Python's
    // interpreter runs out of Wasm stack (or memory) first.
    contained("c", "recursion", "out of bounds memory access");
    contained("python", "recursion", "");
}

#[test]
fn exit_0_after_a_pass_is_not_a_pass() {
    contained("c", "pass-then-exit-0", "called exit(0) instead of returning");
    contained("python", "pass-then-exit-0", "called exit(0) instead of returning");
}

#[test]
fn a_crash_after_a_pass_is_not_a_pass() {
    contained("c", "pass-then-abort", "trapped");
    contained("python", "pass-then-raise", "trapped");
}

#[test]
fn malformed_data_handed_to_the_host_is_an_error() {
    contained("c", "bad-utf8", "invalid utf-8");
    contained("c", "wild-pointer", "out of bounds");
    contained("c", "huge-batch", "too much data");
}

#[test]
fn libc_and_the_interpreter_reach_no_files_environment_or_network() {
    for lang in ["c", "python"] {
        let Some((_, report)) = attack(lang, "probe") else { continue };
        let f = &findings(&report, "hostile/attack")[0];
        let e = f["evidence"].as_object().unwrap();
        let probes: &[&str] = if lang == "c" { &["file", "relative", "root", "cwd"] } else { &["file", "root", "cwd", "net"] };
        for key in probes {
            assert!(e[*key].as_str().unwrap().starts_with("refused"), "{lang} {key}: {f}");
        }
        assert_eq!(e["env"], "0", "{lang}: {f}");
    }
}
