//! Project tasks shared by `cargo xtask` and the test suite: building the
//! plugins for wasm32-wasip2, and laying out node roots from the kubeadm
//! reference listings (git keeps no modes or owners, so they are applied
//! here).

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};

pub mod fuzz;
pub mod lang;
pub mod synthetic;
pub mod toolchain;

/// The built-in plugins, by crate name.
pub const PLUGINS: &[&str] = &[
    "pod-security",
    "control-plane-files",
    "apiserver",
    "controller-manager",
    "scheduler",
    "etcd",
    "kubelet",
    "kube-proxy",
    "rbac",
    "namespaces",
    "cluster-inventory",
    "node-services",
];
/// Plugins that exist only for the test suite.
pub const TEST_PLUGINS: &[&str] = &["hostile", "slow-describe"];

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// Where the Wasm components land. The plugins get a target directory of
/// their own so that building them from inside `cargo test` never waits on
/// the lock of the directory the test itself was built in.
pub fn wasm_dir() -> PathBuf {
    root().join("target/wasm/wasm32-wasip2/plugin")
}

/// The component file of a plugin crate.
pub fn component(crate_name: &str) -> PathBuf {
    wasm_dir().join(format!("{}.wasm", crate_name.replace('-', "_")))
}

static BUILD: Mutex<()> = Mutex::new(());

/// Builds these plugin crates for wasm32-wasip2 with the `plugin` profile.
pub fn build_plugins(crates: &[&str]) -> Result<()> {
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    toolchain::ensure(&root())?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args(["build", "--quiet", "--profile", "plugin", "--target", "wasm32-wasip2"]);
    for c in crates {
        cmd.args(["-p", c]);
    }
    cmd.env("CARGO_TARGET_DIR", root().join("target/wasm"));
    // Flags meant for the host build (coverage, sanitizers) must not leak
    // into the Wasm build.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER"] {
        cmd.env_remove(var);
    }
    let status = cmd.status().context("running cargo to build the plugins")?;
    if !status.success() {
        bail!("building plugins {crates:?} for wasm32-wasip2 failed (is the target installed? rust-toolchain.toml asks rustup for it)");
    }
    Ok(())
}

/// One row of a node listing (cp.tsv / worker.tsv).
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub kind: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: Option<u64>,
    pub link_target: Option<String>,
}

/// Reads a node listing: `path type mode uid gid owner group size content
/// link_target origin`, tab-separated, with a header line.
pub fn read_listing(tsv: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(tsv).with_context(|| format!("reading {}", tsv.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 10 {
            bail!("{}:{}: expected at least 10 tab-separated columns", tsv.display(), n + 1);
        }
        let num =
            |s: &str, what: &str| -> Result<u32> { s.parse().with_context(|| format!("{}:{}: bad {what} `{s}`", tsv.display(), n + 1)) };
        out.push(Entry {
            path: f[0].to_string(),
            kind: f[1].to_string(),
            mode: u32::from_str_radix(f[2], 8).with_context(|| format!("{}:{}: bad mode", tsv.display(), n + 1))?,
            uid: num(f[3], "uid")?,
            gid: num(f[4], "gid")?,
            size: f[7].parse().ok(),
            link_target: Some(f[9].to_string()).filter(|s| !s.is_empty()),
        });
    }
    Ok(out)
}

/// Whether this process may chown files (is root).
pub fn can_chown() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// Lays out a node root at `dest` from a listing: directories, files (with
/// the content from `contents` where it was copied, else a placeholder of
/// the listed size: no key material is shipped), symlinks, then the listed
/// modes and, when running as root, owners.
pub fn materialize(tsv: &Path, contents: &Path, dest: &Path) -> Result<Vec<Entry>> {
    let entries = read_listing(tsv)?;
    if dest.exists() {
        make_writable(dest)?;
        std::fs::remove_dir_all(dest).with_context(|| format!("clearing {}", dest.display()))?;
    }
    std::fs::create_dir_all(dest)?;
    for e in &entries {
        let target = dest.join(e.path.trim_start_matches('/'));
        match e.kind.as_str() {
            "dir" => std::fs::create_dir_all(&target)?,
            "file" => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let source = contents.join(e.path.trim_start_matches('/'));
                if source.is_file() {
                    std::fs::copy(&source, &target).with_context(|| format!("copying {}", source.display()))?;
                } else {
                    let note = b"# placeholder: reference PKI material is listed, never shipped\n";
                    let size = e.size.unwrap_or(note.len() as u64) as usize;
                    let bytes: Vec<u8> = note.iter().copied().cycle().take(size).collect();
                    std::fs::write(&target, bytes)?;
                }
            }
            "symlink" => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let link = e.link_target.as_deref().with_context(|| format!("{}: symlink without a target", e.path))?;
                symlink(link, &target)?;
            }
            other => bail!("{}: {}: unknown type `{other}`", tsv.display(), e.path),
        }
    }
    apply_modes(&entries, dest)?;
    Ok(entries)
}

/// Applies modes and owners of a listing to a laid-out root, deepest paths
/// first so a tight directory mode does not stop the rest.
pub fn apply_modes(entries: &[Entry], dest: &Path) -> Result<()> {
    let chown = can_chown();
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.path.matches('/').count()));
    for e in sorted {
        let target = dest.join(e.path.trim_start_matches('/'));
        if e.kind != "symlink" {
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(e.mode))
                .with_context(|| format!("chmod {}", target.display()))?;
        }
        if chown {
            std::os::unix::fs::lchown(&target, Some(e.uid), Some(e.gid)).with_context(|| format!("chown {}", target.display()))?;
        }
    }
    Ok(())
}

/// Gives the owner write and search permission on a tree, so it can be
/// removed even after tight modes were applied.
pub fn make_writable(dir: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            make_writable(&entry?.path())?;
        }
    }
    Ok(())
}

/// The bundled demo: cluster manifests and the two node listings.
pub struct Demo {
    pub cluster: PathBuf,
    pub nodes: Vec<PathBuf>,
}

/// Lays out the demo node roots under target/demo and returns the inputs.
pub fn prepare_demo() -> Result<Demo> {
    prepare_demo_in(&root().join("target/demo/nodes"))
}

/// Lays out the demo node roots under `out` (one directory per node).
pub fn prepare_demo_in(out: &Path) -> Result<Demo> {
    let examples = root().join("examples/demo");
    let mut nodes = Vec::new();
    for name in ["cp-1", "worker-1"] {
        let dest = out.join(name);
        materialize(&examples.join(format!("nodes/{name}.tsv")), &examples.join(format!("nodes/{name}")), &dest)?;
        nodes.push(dest);
    }
    Ok(Demo { cluster: examples.join("cluster"), nodes })
}

/// The example plugin written in every language (examples/plugins/image-policy).
pub fn example_dir() -> PathBuf {
    root().join("examples/plugins/image-policy")
}

/// Builds the Rust twin of the example plugin (a standalone crate outside
/// the workspace) into the plugins' target directory, and copies the
/// component to `rust/plugin.wasm`, where `rampart plugin test` looks.
pub fn build_rust_twin() -> Result<PathBuf> {
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = example_dir().join("rust");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&dir).args(["build", "--quiet", "--locked", "--profile", "plugin", "--target", "wasm32-wasip2"]);
    cmd.env("CARGO_TARGET_DIR", root().join("target/wasm"));
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER"] {
        cmd.env_remove(var);
    }
    let status = cmd.status().context("running cargo to build the Rust twin")?;
    if !status.success() {
        bail!("building {} for wasm32-wasip2 failed", dir.display());
    }
    let out = dir.join("plugin.wasm");
    std::fs::copy(component("image-policy"), &out).with_context(|| format!("copying the component to {}", out.display()))?;
    Ok(out)
}
