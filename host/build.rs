//! Builds the built-in plugins for wasm32-wasip2 and embeds them, the
//! profiles and the checkout's registry.toml into the `rampart` binary, so
//! that an installed binary needs no checkout (docs/decisions.md, "One
//! binary").
//!
//! The plugins are built by a nested cargo in target/wasm, the directory
//! `cargo xtask` and the tests build them in, so a development build reuses
//! what is already there. registry.toml says which plugins are built in:
//! every `[[plugin]]` whose source is `target/wasm/wasm32-wasip2/plugin/<lib>.wasm`
//! is the workspace crate `<lib>` with `_` read as `-`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-wasip2";
const BUILT: &str = "target/wasm/wasm32-wasip2/plugin/";

#[derive(serde::Deserialize)]
struct Registry {
    #[serde(default)]
    plugin: Vec<Entry>,
    #[serde(default)]
    profile: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    source: String,
}

fn main() {
    let host = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = host.parent().expect("host/ sits in the workspace").to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in ["registry.toml", "profiles", "plugins", "sdk", "wit", "Cargo.lock", "Cargo.toml"] {
        println!("cargo::rerun-if-changed={}", root.join(watched).display());
    }

    let registry_path = root.join("registry.toml");
    let text = std::fs::read_to_string(&registry_path).unwrap_or_else(|e| fail(&format!("{}: {e}", registry_path.display())));
    let registry: Registry = toml::from_str(&text).unwrap_or_else(|e| fail(&format!("{}: {e}", registry_path.display())));
    let libs: Vec<String> = registry
        .plugin
        .iter()
        .filter_map(|p| p.source.strip_prefix(BUILT).and_then(|f| f.strip_suffix(".wasm")).map(str::to_string))
        .collect();
    if libs.is_empty() {
        fail("registry.toml names no built-in plugin (sources under target/wasm/wasm32-wasip2/plugin/)");
    }

    build_plugins(&root, &libs);

    let mut code = String::new();
    code += &format!("/// The checkout's registry.toml, which defines the built-ins.\npub const REGISTRY: &str = {:?};\n\n", text);
    code +=
        "/// The built-in components: file name, bytes, sha256 (hex) at build time.\npub const COMPONENTS: &[(&str, &[u8], &str)] = &[\n";
    for lib in &libs {
        let built = root.join(BUILT).join(format!("{lib}.wasm"));
        let bytes = std::fs::read(&built).unwrap_or_else(|e| fail(&format!("{}: {e}", built.display())));
        let digest = hex::encode(Sha256::digest(&bytes));
        // A copy in OUT_DIR, rewritten only when it changed, so that a
        // rebuild of target/wasm with the same output does not rebuild the host.
        let copy = out.join(format!("{lib}.wasm"));
        if std::fs::read(&copy).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&copy, &bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", copy.display())));
        }
        code += &format!("    ({:?}, include_bytes!({:?}), {:?}),\n", format!("{lib}.wasm"), copy.display().to_string(), digest);
    }
    code += "];\n\n/// The built-in profiles: source as registry.toml names it, text.\npub const PROFILES: &[(&str, &str)] = &[\n";
    for p in &registry.profile {
        let path = root.join(&p.source);
        code += &format!("    ({:?}, include_str!({:?})),\n", p.source, path.display().to_string());
    }
    code += "];\n";
    std::fs::write(out.join("builtin.rs"), code).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// `cargo build --profile plugin --target wasm32-wasip2 -p <crate>...` in
/// target/wasm, with the host build's own flags kept out.
fn build_plugins(root: &Path, libs: &[String]) {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().ok().filter(|o| o.status.success());
    if let Some(sysroot) = sysroot {
        let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
        if !sysroot.join("lib/rustlib").join(TARGET).is_dir() {
            fail(&format!(
                "the {TARGET} target is not installed for {}: the built-in plugins are compiled for it and embedded in \
                 the binary. Run `rustup target add {TARGET}` (cargo xtask demo and cargo xtask test do it themselves)",
                sysroot.display()
            ));
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args(["build", "--quiet", "--profile", "plugin", "--target", TARGET]);
    if std::env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    for lib in libs {
        cmd.args(["-p", &lib.replace('_', "-")]);
    }
    cmd.env("CARGO_TARGET_DIR", root.join("target/wasm"));
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER"] {
        cmd.env_remove(var);
    }
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!("building the built-in plugins for {TARGET} failed ({status})")),
        Err(e) => fail(&format!("cannot run cargo to build the built-in plugins: {e}")),
    }
}
