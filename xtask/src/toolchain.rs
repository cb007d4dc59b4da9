//! The wasm32-wasip2 target the plugins are built for. rustup installs the
//! targets of rust-toolchain.toml only when it installs the toolchain: on a
//! machine that already had Rust 1.95.0, the target is missing and the
//! first build fails deep inside cargo ("can't find crate for `std`"). So
//! xtask looks first and adds it, or says in one line what to do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Result, bail};

pub const TARGET: &str = "wasm32-wasip2";

/// What to do about the target, given what the machine has.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// The toolchain has it.
    Ready,
    /// rustup can add it: `rustup target add wasm32-wasip2`.
    Add,
    /// No rustup to add it with: stop, saying so.
    Fail(String),
}

/// The decision, from whether the toolchain's sysroot has the target and
/// whether rustup is there.
pub fn decide(sysroot: Option<&Path>, has_target: bool, has_rustup: bool) -> Decision {
    match (has_target, has_rustup) {
        (true, _) => Decision::Ready,
        (false, true) => Decision::Add,
        (false, false) => Decision::Fail(format!(
            "the {TARGET} target is not installed{} and rustup is not there to add it: install Rust with rustup (https://rustup.rs), \
             or add the {TARGET} standard library to this toolchain",
            sysroot.map(|s| format!(" in {}", s.display())).unwrap_or_default()
        )),
    }
}

fn sysroot(root: &Path) -> Option<PathBuf> {
    let out = Command::new("rustc").current_dir(root).args(["--print", "sysroot"]).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn has_rustup() -> bool {
    Command::new("rustup").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Makes sure the target is installed for the toolchain this checkout uses
/// (once per process).
pub fn ensure(root: &Path) -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let sysroot = sysroot(root);
        let has_target = sysroot.as_ref().is_some_and(|s| s.join("lib/rustlib").join(TARGET).is_dir());
        match decide(sysroot.as_deref(), has_target, has_target || has_rustup()) {
            Decision::Ready => Ok(()),
            Decision::Add => {
                eprintln!("xtask: the {TARGET} target is missing from this toolchain; adding it: rustup target add {TARGET}");
                let status = Command::new("rustup").current_dir(root).args(["target", "add", TARGET]).status();
                match status {
                    Ok(s) if s.success() => Ok(()),
                    Ok(s) => Err(format!("`rustup target add {TARGET}` failed ({s})")),
                    Err(e) => Err(format!("cannot run rustup: {e}")),
                }
            }
            Decision::Fail(why) => Err(why),
        }
    })
    .clone()
    .or_else(|e| bail!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_added_when_rustup_can_and_refused_in_one_line_when_not() {
        assert_eq!(decide(Some(Path::new("/r")), true, false), Decision::Ready);
        assert_eq!(decide(Some(Path::new("/r")), true, true), Decision::Ready);
        assert_eq!(decide(Some(Path::new("/r")), false, true), Decision::Add);
        let Decision::Fail(why) = decide(Some(Path::new("/r")), false, false) else { panic!() };
        assert!(why.contains("wasm32-wasip2 target is not installed in /r") && why.contains("rustup"), "{why}");
        assert!(!why.contains('\n'));
    }
}
