//! An OCI image layout (image-spec v1.1, "image-layout.md"): the
//! `oci-layout` marker, `index.json` naming manifests (by tag in the
//! `org.opencontainers.image.ref.name` annotation) and content-addressed
//! `blobs/sha256/<hex>`. Held in memory, written as a directory or a tar
//! file, read back from either with every blob's name checked against its
//! content.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use oci_client::manifest::{
    ImageIndexEntry, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageIndex, OciImageManifest,
};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The annotation an image layout's index names a manifest's tag with.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex of a `sha256:<64 hex>` digest, or why it is not one.
pub fn digest_hex(digest: &str) -> std::result::Result<&str, String> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => Ok(hex),
        _ => Err(format!("`{digest}` is not a sha256 digest (sha256: and 64 lowercase hex digits)")),
    }
}

/// An image layout in memory.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub index: Vec<ImageIndexEntry>,
    /// By digest (`sha256:<hex>`); every entry's bytes hash to its key.
    blobs: BTreeMap<String, Vec<u8>>,
}

impl Layout {
    /// Stores bytes, returning their digest.
    pub fn add_blob(&mut self, bytes: Vec<u8>) -> String {
        let digest = digest_of(&bytes);
        self.blobs.insert(digest.clone(), bytes);
        digest
    }

    /// Stores a config blob and returns the image manifest over it and
    /// these layers (whose blobs are already stored).
    pub fn manifest(
        &mut self,
        config_media_type: &str,
        config: Vec<u8>,
        layers: Vec<OciDescriptor>,
        artifact_type: Option<&str>,
    ) -> OciImageManifest {
        let size = config.len() as u64;
        let digest = self.add_blob(config);
        OciImageManifest {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_string()),
            config: descriptor(config_media_type, &digest, size, None),
            layers,
            subject: None,
            artifact_type: artifact_type.map(str::to_string),
            annotations: None,
        }
    }

    pub fn blob(&self, digest: &str) -> Option<&[u8]> {
        self.blobs.get(digest).map(Vec::as_slice)
    }

    pub fn blobs(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.blobs.iter().map(|(d, b)| (d.as_str(), b.as_slice()))
    }

    pub fn size(&self) -> u64 {
        self.blobs.values().map(|b| b.len() as u64).sum()
    }

    /// Adds a manifest (already stored as a blob) to the index, under a
    /// tag when given; an entry with the same tag is replaced.
    pub fn tag(&mut self, media_type: &str, digest: &str, tag: Option<&str>, artifact_type: Option<&str>) {
        let size = self.blob(digest).map_or(0, |b| b.len() as i64);
        if let Some(tag) = tag {
            self.index.retain(|e| e.annotations.as_ref().and_then(|a| a.get(REF_NAME)).map(String::as_str) != Some(tag));
        } else if self.index.iter().any(|e| e.digest == digest) {
            return;
        }
        self.index.push(ImageIndexEntry {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size,
            platform: None,
            annotations: tag.map(|t| BTreeMap::from([(REF_NAME.to_string(), t.to_string())])),
            artifact_type: artifact_type.map(str::to_string),
        });
    }

    /// The index entry with this tag.
    pub fn tagged(&self, tag: &str) -> Option<&ImageIndexEntry> {
        self.index.iter().find(|e| e.annotations.as_ref().and_then(|a| a.get(REF_NAME)).map(String::as_str) == Some(tag))
    }

    fn index_json(&self) -> Vec<u8> {
        let index = OciImageIndex {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.to_string()),
            manifests: self.index.clone(),
            artifact_type: None,
            annotations: None,
        };
        serde_json::to_vec_pretty(&index).expect("an index serializes")
    }

    /// Writes the layout: a tar file when `path` ends in `.tar`, else a
    /// directory (created; it must not hold anything yet).
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::io(path, e);
        let files = self.files();
        if is_tar(path) {
            let file = std::fs::File::create(path).map_err(io)?;
            let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
            for dir in ["blobs/", "blobs/sha256/"] {
                let mut header = tar::Header::new_ustar();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, dir, std::io::empty()).map_err(io)?;
            }
            for (name, bytes) in &files {
                let mut header = tar::Header::new_ustar();
                header.set_mode(0o644);
                header.set_size(bytes.len() as u64);
                tar.append_data(&mut header, name, bytes.as_slice()).map_err(io)?;
            }
            tar.into_inner().and_then(|mut w| std::io::Write::flush(&mut w)).map_err(io)?;
        } else {
            if path.exists() && std::fs::read_dir(path).map_err(io)?.next().is_some() {
                return Err(Error::Bundle {
                    at: path.display().to_string(),
                    message: "is a directory that is not empty; give a new directory or a .tar file".into(),
                });
            }
            std::fs::create_dir_all(path.join("blobs/sha256")).map_err(io)?;
            for (name, bytes) in &files {
                let target = path.join(name);
                std::fs::write(&target, bytes).map_err(|e| Error::io(&target, e))?;
            }
        }
        Ok(())
    }

    /// Rewrites a layout on disk with this one's content: a tar file is
    /// replaced whole, a directory gets the blobs it lacks and a new
    /// index.json (each file replaced atomically).
    pub fn write_over(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::io(path, e);
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if is_tar(path) {
            let tmp = tempfile::Builder::new().suffix(".tar").tempfile_in(dir).map_err(io)?;
            self.write(tmp.path())?;
            tmp.persist(path).map_err(|e| io(e.error))?;
            return Ok(());
        }
        for (name, bytes) in self.files() {
            let target = path.join(&name);
            if name.starts_with("blobs/") && target.exists() {
                continue;
            }
            let mut tmp = tempfile::NamedTempFile::new_in(target.parent().unwrap_or(path)).map_err(|e| Error::io(&target, e))?;
            std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::io(&target, e))?;
            tmp.persist(&target).map_err(|e| Error::io(&target, e.error))?;
        }
        Ok(())
    }

    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files =
            vec![("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()), ("index.json".to_string(), self.index_json())];
        for (digest, bytes) in &self.blobs {
            let hex = digest.trim_start_matches("sha256:");
            files.push((format!("blobs/sha256/{hex}"), bytes.clone()));
        }
        files
    }

    /// Reads a layout from a directory or a tar file, refusing one over
    /// `max_bytes` in all and any blob whose content is not what its name
    /// says.
    pub fn read(path: &Path, max_bytes: u64) -> Result<Layout> {
        let bad = |message: String| Error::Bundle { at: path.display().to_string(), message };
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut total = 0u64;
        let mut take = |name: String, size: u64, read: &mut dyn Read| -> Result<()> {
            total += size;
            if total > max_bytes {
                return Err(bad(format!("holds more than {max_bytes} bytes, the bundle size limit (--max-bundle-size)")));
            }
            let mut bytes = Vec::with_capacity(size as usize);
            read.take(size).read_to_end(&mut bytes).map_err(|e| bad(format!("{name}: {e}")))?;
            files.insert(name, bytes);
            Ok(())
        };
        if path.is_dir() {
            for name in ["oci-layout", "index.json"] {
                let file = path.join(name);
                let size = std::fs::metadata(&file).map_err(|e| Error::io(&file, e))?.len();
                take(name.to_string(), size, &mut std::fs::File::open(&file).map_err(|e| Error::io(&file, e))?)?;
            }
            let blobs = path.join("blobs/sha256");
            if blobs.is_dir() {
                for entry in std::fs::read_dir(&blobs).map_err(|e| Error::io(&blobs, e))? {
                    let entry = entry.map_err(|e| Error::io(&blobs, e))?;
                    let file = entry.path();
                    // Symbolic links are not followed: a blob is a file of the layout.
                    let meta = std::fs::symlink_metadata(&file).map_err(|e| Error::io(&file, e))?;
                    if !meta.is_file() {
                        return Err(bad(format!("{} is not a regular file", file.display())));
                    }
                    let name = format!("blobs/sha256/{}", entry.file_name().to_string_lossy());
                    take(name, meta.len(), &mut std::fs::File::open(&file).map_err(|e| Error::io(&file, e))?)?;
                }
            }
        } else {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let mut archive = tar::Archive::new(std::io::BufReader::new(file));
            for entry in archive.entries().map_err(|e| bad(format!("not a tar file: {e}")))? {
                let mut entry = entry.map_err(|e| bad(format!("not a tar file: {e}")))?;
                let name = entry.path().map_err(|e| bad(format!("an entry's name: {e}")))?.to_string_lossy().into_owned();
                let name = name.trim_start_matches("./").to_string();
                match entry.header().entry_type() {
                    tar::EntryType::Directory => continue,
                    tar::EntryType::Regular => {}
                    other => return Err(bad(format!("{name}: a {other:?} entry; a bundle holds regular files only"))),
                }
                let size = entry.size();
                take(name, size, &mut entry)?;
            }
        }
        Layout::from_files(files).map_err(bad)
    }

    fn from_files(mut files: BTreeMap<String, Vec<u8>>) -> std::result::Result<Layout, String> {
        let marker = files.remove("oci-layout").ok_or("no oci-layout file: not an OCI image layout")?;
        let marker: serde_json::Value = serde_json::from_slice(&marker).map_err(|e| format!("oci-layout: {e}"))?;
        if marker.get("imageLayoutVersion").and_then(|v| v.as_str()) != Some("1.0.0") {
            return Err(format!("oci-layout: imageLayoutVersion is {}, not 1.0.0", marker["imageLayoutVersion"]));
        }
        let index = files.remove("index.json").ok_or("no index.json: not an OCI image layout")?;
        let index: OciImageIndex = serde_json::from_slice(&index).map_err(|e| format!("index.json: {e}"))?;
        let mut layout = Layout { index: index.manifests, blobs: BTreeMap::new() };
        for (name, bytes) in files {
            let Some(hex) = name.strip_prefix("blobs/sha256/") else {
                return Err(format!("{name}: an OCI image layout holds oci-layout, index.json and blobs/sha256/<digest> only"));
            };
            let digest = format!("sha256:{hex}");
            digest_hex(&digest).map_err(|e| format!("{name}: {e}"))?;
            let actual = digest_of(&bytes);
            if actual != digest {
                return Err(format!("{name}: its content's digest is {actual}: the blob was changed"));
            }
            layout.blobs.insert(digest, bytes);
        }
        for entry in &layout.index {
            digest_hex(&entry.digest).map_err(|e| format!("index.json: {e}"))?;
            if layout.blob(&entry.digest).is_none() {
                return Err(format!("index.json names {}, which is not in blobs/", entry.digest));
            }
        }
        Ok(layout)
    }
}

/// A descriptor of a stored blob.
pub fn descriptor(media_type: &str, digest: &str, size: u64, annotations: Option<BTreeMap<String, String>>) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        size: size as i64,
        urls: None,
        annotations,
        artifact_type: None,
    }
}

/// Whether a path names a tar file rather than a directory.
pub fn is_tar(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tar")
}

/// A path made absolute against the working directory.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Layout {
        let mut layout = Layout::default();
        let blob = layout.add_blob(b"hello".to_vec());
        let manifest = layout.add_blob(format!(r#"{{"layers":["{blob}"]}}"#).into_bytes());
        layout.tag("application/vnd.oci.image.manifest.v1+json", &manifest, Some("v1"), None);
        layout
    }

    #[test]
    fn a_layout_round_trips_as_a_directory_and_as_a_tar() {
        let dir = tempfile::tempdir().unwrap();
        let layout = sample();
        for path in [dir.path().join("out"), dir.path().join("out.tar")] {
            layout.write(&path).unwrap();
            let back = Layout::read(&path, 1 << 20).unwrap();
            assert_eq!(back.index.len(), 1);
            assert_eq!(back.tagged("v1").unwrap().digest, layout.index[0].digest);
            assert_eq!(back.blobs().count(), 2);
        }
    }

    #[test]
    fn a_changed_blob_a_missing_manifest_and_an_oversized_layout_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        sample().write(&path).unwrap();
        let hello = path.join(format!("blobs/sha256/{}", &digest_of(b"hello")[7..]));
        std::fs::write(&hello, b"hellO").unwrap();
        let err = Layout::read(&path, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("the blob was changed") && err.contains(&digest_of(b"hello")[7..]), "{err}");
        let err = Layout::read(&path, 10).unwrap_err().to_string();
        assert!(err.contains("size limit"), "{err}");
        std::fs::write(&hello, b"hello").unwrap();
        let manifest = &sample().index[0].digest[7..].to_string();
        std::fs::remove_file(path.join(format!("blobs/sha256/{manifest}"))).unwrap();
        let err = Layout::read(&path, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("not in blobs/"), "{err}");
    }

    #[test]
    fn a_directory_that_is_not_empty_is_not_written_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "").unwrap();
        let err = sample().write(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
    }
}
