//! `cargo xtask demo [ARGS...]`: build everything and scan the bundled demo.
//! `cargo xtask test [ARGS...]`: build the plugins and run the whole test suite.
//! `cargo xtask bench [ARGS...]`: release build, then `rampart bench` on the demo.
//! `cargo xtask plugins`: build the Wasm plugins only.
//! `cargo xtask examples`: build the example plugin in every language and run its cases.
//! `cargo xtask fuzz TARGET|all [SECONDS]`: seed and run the fuzz targets (nightly, cargo-fuzz).

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(xtask::root());
    cmd
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "plugins" => {
            xtask::build_plugins(xtask::PLUGINS)?;
            println!("{}", xtask::wasm_dir().display());
            Ok(ExitCode::SUCCESS)
        }
        "demo" => {
            // The host's build script builds the plugins it embeds. cargo
            // runs it late (after nearly every dependency), but both cores
            // are busy until then: building the plugins beside the
            // dependencies was tried and gained nothing
            // (docs/performance.md, session 17).
            xtask::toolchain::ensure(&xtask::root())?;
            eprintln!("building the host and its built-in plugins (wasm32-wasip2)...");
            let status = cargo().args(["build", "--quiet", "-p", "rampart-host"]).status()?;
            if !status.success() {
                bail!("building the host failed");
            }
            let demo = xtask::prepare_demo()?;
            let mut cmd = Command::new(xtask::root().join("target/debug/rampart"));
            cmd.current_dir(xtask::root()).arg("scan").arg("--manifests").arg(&demo.cluster).arg("--node").args(&demo.nodes);
            // The benchmark report, unless the caller picked plugins or a profile.
            if !rest.iter().any(|a| a.starts_with("--profile") || a.starts_with("--plugin")) {
                cmd.args(["--profile", "cis-k8s-1.12"]);
            }
            cmd.args(&rest);
            let status = cmd.status().context("running rampart")?;
            Ok(ExitCode::from(status.code().unwrap_or(2) as u8))
        }
        "bench" => {
            xtask::build_plugins(xtask::PLUGINS)?;
            // The test suite's hostile plugin with no attack is the minimal
            // plugin: one finding, no host calls.
            xtask::build_plugins(xtask::TEST_PLUGINS)?;
            let status = cargo().args(["build", "--quiet", "--release", "-p", "rampart-host"]).status()?;
            if !status.success() {
                bail!("building the host failed");
            }
            let demo = xtask::prepare_demo()?;
            let mut cmd = Command::new(xtask::root().join("target/release/rampart"));
            cmd.current_dir(xtask::root())
                .arg("bench")
                .args(["--profile", "cis-k8s-1.12"])
                .arg("--baseline")
                .arg(xtask::component("hostile"))
                .arg("--manifests")
                .arg(&demo.cluster)
                .arg("--node")
                .args(&demo.nodes)
                .args(&rest);
            let status = cmd.status().context("running rampart bench")?;
            Ok(ExitCode::from(status.code().unwrap_or(2) as u8))
        }
        "synthetic" => {
            // cargo xtask synthetic PODS NAMESPACES OUT
            let pods: usize = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(10_000);
            let namespaces: usize = rest.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1_000);
            let out =
                rest.get(2).map(std::path::PathBuf::from).unwrap_or_else(|| xtask::root().join("target/bench/synthetic-cluster.json"));
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&out, serde_json::to_string(&xtask::synthetic::cluster_snapshot(pods, namespaces))?)?;
            println!("{}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        "fuzz" => {
            let target = rest.first().map(String::as_str).unwrap_or("all");
            let seconds: u64 = rest.get(1).map(|s| s.parse()).transpose()?.unwrap_or(600);
            xtask::fuzz::fuzz(target, seconds)?;
            Ok(ExitCode::SUCCESS)
        }
        "test" => {
            // The example plugins' toolchains (pinned; quick when present),
            // unless every other language is skipped on purpose.
            if std::env::var("RAMPART_SKIP_LANGS").as_deref() != Ok("all") {
                let script = xtask::root().join("xtask/toolchains.sh");
                let status =
                    Command::new("bash").arg(&script).current_dir(xtask::root()).status().context("running xtask/toolchains.sh")?;
                if !status.success() {
                    bail!(
                        "{} failed: the example plugins' toolchains are not installed (set RAMPART_SKIP_LANGS=all to test without them)",
                        script.display()
                    );
                }
            }
            // The built-in plugins are built by the host's build script,
            // beside the host's dependencies; the test plugins here.
            xtask::build_plugins(xtask::TEST_PLUGINS)?;
            let status = cargo().args(["test", "--workspace"]).args(&rest).status()?;
            // The example's Rust twin is a crate of its own, outside the
            // workspace: its native tests, in the host's target directory.
            let twin = cargo()
                .current_dir(xtask::example_dir().join("rust"))
                .args(["test", "--locked"])
                .env("CARGO_TARGET_DIR", xtask::root().join("target"))
                .status()?;
            Ok(if status.success() && twin.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        "examples" => {
            // Every language of the example plugin, built and run against
            // the shared cases (the test suite also compares their findings).
            let status = cargo().args(["build", "--quiet", "-p", "rampart-host"]).status()?;
            if !status.success() {
                bail!("building the host failed");
            }
            let rampart = xtask::root().join("target/debug/rampart");
            let mut components = vec![("rust".to_string(), xtask::build_rust_twin()?)];
            for lang in xtask::lang::LANGS {
                components.push((lang.to_string(), xtask::lang::build_example(&rampart, lang)?));
            }
            let mut failed = false;
            for (lang, component) in components {
                eprintln!("== {lang}");
                let status = Command::new(&rampart)
                    .args(["plugin", "test"])
                    .arg(&component)
                    .arg("--cases")
                    .arg(xtask::example_dir().join("cases"))
                    .status()?;
                failed |= !status.success();
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <demo [SCAN FLAGS...] | test [CARGO TEST ARGS...] | bench [BENCH FLAGS...] | plugins | examples | fuzz TARGET|all [SECONDS]>"
            );
            Ok(ExitCode::from(2))
        }
    }
}
