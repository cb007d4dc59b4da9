//! `cargo xtask fuzz TARGET|all [SECONDS]`: seeds each fuzz target's corpus
//! from the repository's own fixtures, then runs it under cargo-fuzz
//! (libFuzzer, nightly) for a while. Corpora, builds and crash artifacts
//! stay under target/fuzz; crashes worth keeping become regression tests
//! beside the reader they broke (docs/fuzzing.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// Every fuzz target in fuzz/Cargo.toml.
pub const TARGETS: &[&str] = &[
    "manifests_yaml",
    "manifests_json",
    "snapshot",
    "registry",
    "profile",
    "report",
    "kubeconfig",
    "sdk_args",
    "kubelet_config",
    "static_pod",
];

/// A small kubeconfig of the shape kubeadm writes, with two contexts.
const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: demo\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: LS0tLS1CRUdJTg==\ncontexts:\n- name: admin@demo\n  context: {cluster: demo, user: admin, namespace: default}\n- name: other\n  context: {cluster: demo, user: admin}\ncurrent-context: admin@demo\nusers:\n- name: admin\n  user: {token: abc}\n";

fn corpus_dir(target: &str) -> PathBuf {
    root().join("target/fuzz/corpus").join(target)
}

fn copy_matching(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &Path) -> Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if keep(&p) {
                let name = p.strip_prefix(root()).unwrap_or(&p).to_string_lossy().replace('/', "_");
                std::fs::copy(&p, out.join(name))?;
            }
        }
    }
    Ok(())
}

fn ext(p: &Path, e: &[&str]) -> bool {
    p.extension().and_then(|x| x.to_str()).is_some_and(|x| e.contains(&x))
}

/// Fills a target's corpus directory with seeds (existing entries, found
/// by earlier runs, are kept).
fn seed(target: &str, rampart: &Path, demo: &crate::Demo) -> Result<()> {
    let out = corpus_dir(target);
    std::fs::create_dir_all(&out)?;
    let r = root();
    match target {
        "manifests_yaml" => {
            copy_matching(&r.join("deploy"), &|p| ext(p, &["yaml", "yml"]), &out)?;
            copy_matching(&r.join("examples/demo/nodes"), &|p| ext(p, &["yaml", "yml"]), &out)?;
        }
        "manifests_json" => copy_matching(&r.join("examples/demo/cluster"), &|p| ext(p, &["json"]), &out)?,
        "snapshot" => {
            // A node snapshot records what one profile's checks ask of the
            // node (`--profile` is required): one seed per profile.
            for (i, node) in demo.nodes.iter().enumerate() {
                for profile in ["cis-k8s-1.12", "k8s-stig-v2r6"] {
                    run(Command::new(rampart)
                        .current_dir(&r)
                        .args(["snapshot", "node", "--profile", profile, "--root"])
                        .arg(node)
                        .arg("-o")
                        .arg(out.join(format!("node-{i}-{profile}.json"))))?;
                }
            }
            run(Command::new(rampart)
                .args(["snapshot", "cluster", "--manifests"])
                .arg(&demo.cluster)
                .arg("-o")
                .arg(out.join("cluster.json")))?;
        }
        "registry" => {
            std::fs::copy(r.join("registry.toml"), out.join("registry.toml"))?;
        }
        "profile" => copy_matching(&r.join("profiles"), &|p| ext(p, &["toml"]), &out)?,
        "report" => {
            let report = out.join("demo-report.json");
            let status = Command::new(rampart)
                .current_dir(&r)
                .args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "-o"])
                .arg(&report)
                .arg("--manifests")
                .arg(&demo.cluster)
                .arg("--node")
                .args(&demo.nodes)
                .status()?;
            // 1: the demo has failing findings; anything else is a problem.
            if !matches!(status.code(), Some(0 | 1)) {
                bail!("scanning the demo for a report seed failed: {status}");
            }
        }
        "kubeconfig" => std::fs::write(out.join("kubeconfig.yaml"), KUBECONFIG)?,
        "sdk_args" => copy_matching(&r.join("examples/demo/nodes"), &|p| p.ends_with("cmdline"), &out)?,
        "kubelet_config" => {
            copy_matching(&r.join("examples/demo/nodes"), &|p| p.to_string_lossy().contains("kubelet") && ext(p, &["yaml", "conf"]), &out)?
        }
        "static_pod" => copy_matching(&r.join("examples/demo/nodes"), &|p| p.to_string_lossy().contains("manifests/"), &out)?,
        other => bail!("no fuzz target {other} (targets: {})", TARGETS.join(", ")),
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// `cargo +nightly fuzz SUBCOMMAND --sanitizer none --fuzz-dir fuzz`, built
/// into target/fuzz/build.
fn cargo_fuzz(subcommand: &str) -> Command {
    // `cargo fuzz` is a rustup proxy call into the nightly toolchain;
    // the repository's rust-toolchain.toml pins stable for everything else.
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root())
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("CARGO_TARGET_DIR", root().join("target/fuzz/build"))
        // No sanitizer: the readers are safe Rust, where a bug is a
        // panic libFuzzer catches as it is; AddressSanitizer over
        // wasmtime made the first build take most of an hour on 2 cores.
        .args(["+nightly", "fuzz", subcommand, "--sanitizer", "none", "--fuzz-dir", "fuzz"]);
    cmd
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        out.push(entry?.path());
    }
    Ok(out)
}

/// Seeds and runs one target (or all, one after another) for `seconds` each.
/// A crash, timeout or out-of-memory input does not end the run: libFuzzer
/// runs in fork mode (one child at a time, still one core), keeps going
/// and leaves each such input in target/fuzz/artifacts/TARGET; the task
/// fails at the end, naming them.
pub fn fuzz(which: &str, seconds: u64) -> Result<()> {
    let targets: Vec<&str> = if which == "all" { TARGETS.to_vec() } else { vec![which] };
    if let Some(bad) = targets.iter().find(|t| !TARGETS.contains(t)) {
        bail!("no fuzz target {bad} (targets: {}, or all)", TARGETS.join(", "));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(&cargo).current_dir(root()).args(["build", "--quiet", "-p", "rampart-host"]))?;
    crate::build_plugins(crate::PLUGINS)?;
    // Every target at once: they share the (long) build of the host.
    run(&mut cargo_fuzz("build"))?;
    let rampart = root().join("target/debug/rampart");
    let demo = crate::prepare_demo_in(&root().join("target/fuzz/demo"))?;
    let mut found = Vec::new();
    for target in targets {
        seed(target, &rampart, &demo)?;
        let artifacts = root().join("target/fuzz/artifacts").join(target);
        std::fs::create_dir_all(&artifacts)?;
        let before = entries(&artifacts)?;
        eprintln!("fuzzing {target} for {seconds} s (corpus {})", corpus_dir(target).display());
        let mut cmd = cargo_fuzz("run");
        cmd.arg(target)
            .arg(corpus_dir(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .args(["-timeout=10", "-rss_limit_mb=4096", "-max_len=1048576", "-print_final_stats=1"])
            .args(["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]);
        let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
        let new: Vec<PathBuf> = entries(&artifacts)?.into_iter().filter(|p| !before.contains(p)).collect();
        if !status.success() && new.is_empty() {
            bail!("fuzzing {target} failed: {status}");
        }
        found.extend(new);
    }
    if !found.is_empty() {
        let list: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "the fuzzers found {} input(s) that crash, hang or exhaust memory:\n  {}\n\
             reproduce one with `cargo +nightly fuzz run --sanitizer none --fuzz-dir fuzz TARGET FILE`",
            list.len(),
            list.join("\n  ")
        );
    }
    Ok(())
}
