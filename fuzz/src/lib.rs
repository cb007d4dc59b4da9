//! What the fuzz targets share: a scratch file per process, for readers
//! that take a path (the CLI's readers all do).

use std::path::PathBuf;

/// Writes `bytes` to this process's scratch file with extension `ext` and
/// returns its path. One file per extension, rewritten on every input.
pub fn scratch(ext: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rampart-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(format!("input.{ext}"));
    std::fs::write(&path, bytes).expect("scratch file");
    path
}
