//! The compile cache: native code wasmtime compiled for a component, and
//! the component file's digest, kept in a directory only this user can
//! write.
//!
//! A Python or JavaScript component is 12-18 MB. Reading and hashing it on
//! every scan cost 25-35 ms, most of a cached load. So the digest of a
//! file is remembered under a key made of what the kernel says about it
//! (device, inode, size, modification and change times, to the
//! nanosecond): a write to the file changes its change time, which no
//! unprivileged process can set back, so a changed file misses the memo
//! and is read and hashed again. A file changed less than two seconds
//! before it was looked at is never memoized, for filesystems whose clocks
//! are coarse.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// How recent a change must not be for a digest to be remembered.
const SETTLED: Duration = Duration::from_secs(2);

/// A directory of compiled components and digest memos.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStamp {
    key: String,
    settled: bool,
}

impl FileStamp {
    /// Stats `path` (following symlinks, as reading it does).
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        let m = std::fs::metadata(path)?;
        let key = format!("{}:{}:{}:{}.{:09}:{}.{:09}", m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec());
        let changed = SystemTime::UNIX_EPOCH + Duration::new(m.ctime().max(m.mtime()).max(0) as u64, 0);
        let settled = SystemTime::now().duration_since(changed).is_ok_and(|age| age >= SETTLED);
        Ok(FileStamp { key, settled })
    }
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled artifact of the component with this digest, for an
    /// engine whose settings hash to `compat`.
    pub fn artifact(&self, digest: &str, compat: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{compat}.cwasm"))
    }

    /// `path` of a file in the cache, if it may be trusted: owned by this
    /// user, not a symlink, not writable by group or others, in a directory
    /// of the same kind. Deserializing an artifact runs native code.
    pub fn private(&self, path: &Path) -> bool {
        let Ok(me) = std::fs::metadata("/proc/self") else { return false };
        let ok = |p: &Path| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.uid() == me.uid() && m.mode() & 0o022 == 0 && !m.file_type().is_symlink())
        };
        ok(&self.dir) && ok(path)
    }

    fn memo(&self, stamp: &FileStamp) -> PathBuf {
        let key = hex::encode(Sha256::digest(stamp.key.as_bytes()));
        self.dir.join("digests").join(key)
    }

    /// The remembered digest of the file with this stamp.
    pub fn digest(&self, stamp: &FileStamp) -> Option<String> {
        let file = self.memo(stamp);
        let dir = file.parent()?;
        if !self.private(dir) || !self.private(&file) {
            return None;
        }
        let text = std::fs::read_to_string(&file).ok()?;
        let digest = text.trim();
        (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digest.to_string())
    }

    /// Remembers the digest of a file read and hashed with this stamp taken
    /// before the read.
    pub fn remember(&self, stamp: &FileStamp, digest: &str) -> std::io::Result<()> {
        if !stamp.settled {
            return Ok(());
        }
        let file = self.memo(stamp);
        let dir = file.parent().expect("memo files live in a directory");
        self.write(dir, &file, digest.as_bytes())
    }

    /// Writes `bytes` to `file` in `dir` atomically, creating the directory
    /// private to this user.
    pub fn write(&self, dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, bytes)?;
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled(path: &Path) -> FileStamp {
        FileStamp { settled: true, ..FileStamp::of(path).unwrap() }
    }

    #[test]
    fn a_remembered_digest_is_found_until_the_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("cache"));
        let file = tmp.path().join("plugin.wasm");
        std::fs::write(&file, b"one").unwrap();
        let stamp = settled(&file);
        assert_eq!(cache.digest(&stamp), None);
        cache.remember(&stamp, &"a".repeat(64)).unwrap();
        assert_eq!(cache.digest(&settled(&file)), Some("a".repeat(64)));

        // Same size, new content: the change time moves, the memo misses.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, b"two").unwrap();
        assert_eq!(cache.digest(&settled(&file)), None);
    }

    #[test]
    fn a_file_changed_just_now_is_not_remembered() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("cache"));
        let file = tmp.path().join("plugin.wasm");
        std::fs::write(&file, b"fresh").unwrap();
        let stamp = FileStamp::of(&file).unwrap();
        assert!(!stamp.settled);
        cache.remember(&stamp, &"b".repeat(64)).unwrap();
        assert_eq!(cache.digest(&stamp), None);
    }

    #[test]
    fn a_memo_others_can_write_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("cache"));
        let file = tmp.path().join("plugin.wasm");
        std::fs::write(&file, b"x").unwrap();
        let stamp = settled(&file);
        cache.remember(&stamp, &"c".repeat(64)).unwrap();
        let memo = cache.memo(&stamp);
        std::fs::set_permissions(&memo, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(cache.digest(&stamp), None);
        std::fs::set_permissions(&memo, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&memo, "not a digest").unwrap();
        assert_eq!(cache.digest(&stamp), None);
    }
}
