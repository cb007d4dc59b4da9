//! Key pairs and signatures of bundles.
//!
//! Keys are Ed25519, written in the PEM forms OpenSSL reads: PKCS#8
//! (`PRIVATE KEY`) and SubjectPublicKeyInfo (`PUBLIC KEY`). A signature is
//! stored where cosign stores key-pair signatures: an OCI image manifest
//! tagged `sha256-<manifest hex>.sig` beside the signed artifact, whose
//! layers are "simple signing" payloads
//! (`application/vnd.dev.cosign.simplesigning.v1+json`) naming the signed
//! manifest's digest, with the base64 signature over the payload's exact
//! bytes in the `dev.cosignproject.cosign/signature` annotation. One layer
//! per signing key. docs/bundles.md shows how to check one with skopeo and
//! openssl alone.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use oci_client::manifest::{IMAGE_CONFIG_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use serde::{Deserialize, Serialize};

use super::layout::{Layout, digest_hex, digest_of};
use crate::error::{Error, Result};

pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Which key made a layer's signature (ours; cosign ignores it).
pub const KEY_ID_ANNOTATION: &str = "dev.rampart.key-id";
const SIGNATURE_TYPE: &str = "cosign container image signature";

fn key_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Bundle { at: path.display().to_string(), message: message.to_string() }
}

/// A public key a bundle may be signed by.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub key: VerifyingKey,
    /// Where it was read from, for messages.
    pub path: String,
}

impl PublicKey {
    pub fn load(path: &Path) -> Result<PublicKey> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let key = VerifyingKey::from_public_key_pem(&text)
            .map_err(|e| key_error(path, format!("not an Ed25519 public key in PEM (BEGIN PUBLIC KEY): {e}")))?;
        Ok(PublicKey { key, path: path.display().to_string() })
    }

    /// The first 16 hex digits of the SHA-256 of the key's
    /// SubjectPublicKeyInfo (DER): how messages and signatures name it.
    pub fn id(&self) -> String {
        key_id(&self.key)
    }
}

fn key_id(key: &VerifyingKey) -> String {
    let der = key.to_public_key_der().expect("an Ed25519 key encodes");
    digest_of(der.as_bytes())[7..23].to_string()
}

/// Makes a new key pair: `out` (private, mode 0600) and `out.pub`.
/// Neither file may exist yet. Returns the key id.
pub fn generate(out: &Path) -> Result<String> {
    let public_path = {
        let mut p = out.as_os_str().to_owned();
        p.push(".pub");
        std::path::PathBuf::from(p)
    };
    for path in [out, public_path.as_path()] {
        if path.exists() {
            return Err(key_error(path, "exists already; a key is never written over (remove it first, or give another --out)"));
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| key_error(out, format!("no randomness from the system: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let private = key.to_pkcs8_pem(Default::default()).map_err(|e| key_error(out, e))?;
    let public = key.verifying_key().to_public_key_pem(Default::default()).map_err(|e| key_error(&public_path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| Error::io(out, e))?;
    std::io::Write::write_all(&mut file, private.as_bytes()).map_err(|e| Error::io(out, e))?;
    std::fs::write(&public_path, public).map_err(|e| Error::io(&public_path, e))?;
    Ok(key_id(&key.verifying_key()))
}

fn load_private(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| key_error(path, format!("not an Ed25519 private key in PEM (BEGIN PRIVATE KEY): {e}")))
}

#[derive(Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    #[serde(default)]
    optional: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The tag cosign stores a manifest's signatures under.
pub fn signature_tag(manifest_digest: &str) -> String {
    format!("sha256-{}.sig", manifest_digest.trim_start_matches("sha256:"))
}

/// The signature manifest for `manifest_digest` with one more signature by
/// the key in `key_path` (replacing an earlier one by the same key), its
/// blobs added to `blobs`. `existing` is the signature manifest there
/// already was, if any. `identity` is the repository the artifact is
/// signed as (empty for a bundle on disk).
pub fn sign(
    blobs: &mut Layout,
    existing: Option<&OciImageManifest>,
    manifest_digest: &str,
    identity: &str,
    key_path: &Path,
) -> Result<(Vec<u8>, String)> {
    let key = load_private(key_path)?;
    let id = key_id(&key.verifying_key());
    let payload = Payload {
        critical: Critical {
            identity: Identity { docker_reference: identity.to_string() },
            image: Image { docker_manifest_digest: manifest_digest.to_string() },
            kind: SIGNATURE_TYPE.to_string(),
        },
        optional: None,
    };
    let payload = serde_json::to_vec(&payload).expect("a payload serializes");
    let signature = key.sign(&payload);
    let payload_size = payload.len() as u64;
    let payload_digest = blobs.add_blob(payload);
    let mut layers: Vec<OciDescriptor> = existing
        .map(|m| m.layers.iter().filter(|l| l.annotations.as_ref().and_then(|a| a.get(KEY_ID_ANNOTATION)) != Some(&id)).cloned().collect())
        .unwrap_or_default();
    let annotations = BTreeMap::from([
        (SIGNATURE_ANNOTATION.to_string(), base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())),
        (KEY_ID_ANNOTATION.to_string(), id.clone()),
    ]);
    layers.push(super::layout::descriptor(SIMPLE_SIGNING_MEDIA_TYPE, &payload_digest, payload_size, Some(annotations)));
    // A minimal image configuration, as cosign writes, so tools that
    // expect an image can read the signature manifest.
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "", "os": "", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("a config serializes");
    let manifest = blobs.manifest(IMAGE_CONFIG_MEDIA_TYPE, config, layers, None);
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
    Ok((bytes, id))
}

/// Who signed a manifest, as its signature manifest says, checked against
/// the trusted keys. `Ok(key id)` names the first trusted key with a valid
/// signature; the error says what was found instead.
pub fn verify(
    blobs: &Layout,
    signatures: Option<&OciImageManifest>,
    manifest_digest: &str,
    keys: &[PublicKey],
) -> std::result::Result<String, String> {
    digest_hex(manifest_digest)?;
    let Some(signatures) = signatures else {
        return Err(format!("is not signed: there is no signature manifest ({})", signature_tag(manifest_digest)));
    };
    let mut seen = Vec::new();
    for layer in signatures.layers.iter().filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE) {
        let Some(payload) = blobs.blob(&layer.digest) else {
            seen.push(format!("a signature whose payload {} is missing", layer.digest));
            continue;
        };
        if digest_of(payload) != layer.digest {
            seen.push(format!("a signature whose payload does not match its digest {}", layer.digest));
            continue;
        }
        let Some(signature) = layer.annotations.as_ref().and_then(|a| a.get(SIGNATURE_ANNOTATION)) else {
            seen.push("a payload without a signature annotation".into());
            continue;
        };
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            seen.push("a signature that is not base64".into());
            continue;
        };
        let Ok(signature) = Signature::from_slice(&signature) else {
            seen.push("a signature that is not 64 bytes of Ed25519".into());
            continue;
        };
        let named = layer.annotations.as_ref().and_then(|a| a.get(KEY_ID_ANNOTATION)).cloned();
        let Some(key) = keys.iter().find(|k| k.key.verify(payload, &signature).is_ok()) else {
            seen.push(format!("a signature by key {}", named.as_deref().unwrap_or("(unnamed)")));
            continue;
        };
        // The key signed this payload; it must name this manifest.
        let payload: Payload = match serde_json::from_slice(payload) {
            Ok(p) => p,
            Err(e) => {
                seen.push(format!("a payload signed by key {} that is not a simple-signing document: {e}", key.id()));
                continue;
            }
        };
        if payload.critical.kind != SIGNATURE_TYPE {
            seen.push(format!("a payload signed by key {} of type {:?}", key.id(), payload.critical.kind));
            continue;
        }
        if payload.critical.image.docker_manifest_digest != manifest_digest {
            seen.push(format!("a signature by key {} of another manifest ({})", key.id(), payload.critical.image.docker_manifest_digest));
            continue;
        }
        return Ok(key.id());
    }
    let trusted: Vec<String> = keys.iter().map(|k| format!("{} ({})", k.id(), k.path)).collect();
    if seen.is_empty() {
        return Err(format!("is not signed: its signature manifest ({}) holds no signature", signature_tag(manifest_digest)));
    }
    Err(format!("is not signed by a trusted key (trusted: {}); found {}", trusted.join(", "), seen.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only_and_names_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let id_a = generate(&a).unwrap();
        generate(&b).unwrap();
        assert!(generate(&a).unwrap_err().to_string().contains("exists already"));
        #[cfg(unix)]
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&a).unwrap().permissions()) & 0o777, 0o600);
        let key_a = PublicKey::load(&dir.path().join("a.pub")).unwrap();
        let key_b = PublicKey::load(&dir.path().join("b.pub")).unwrap();
        assert_eq!(key_a.id(), id_a);

        let mut layout = Layout::default();
        let target = digest_of(b"the manifest");
        let (bytes, _) = sign(&mut layout, None, &target, "", &a).unwrap();
        let manifest: OciImageManifest = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(verify(&layout, Some(&manifest), &target, std::slice::from_ref(&key_a)).unwrap(), id_a);
        let err = verify(&layout, Some(&manifest), &target, std::slice::from_ref(&key_b)).unwrap_err();
        assert!(err.contains("not signed by a trusted key") && err.contains(&id_a), "{err}");
        let other = digest_of(b"another manifest");
        let err = verify(&layout, Some(&manifest), &other, std::slice::from_ref(&key_a)).unwrap_err();
        assert!(err.contains("of another manifest"), "{err}");
        let err = verify(&layout, None, &target, std::slice::from_ref(&key_a)).unwrap_err();
        assert!(err.contains("is not signed") && err.contains(&signature_tag(&target)), "{err}");

        // A second key adds a layer; signing again with the first replaces its own.
        let (bytes, _) = sign(&mut layout, Some(&manifest), &target, "", &b).unwrap();
        let manifest: OciImageManifest = serde_json::from_slice(&bytes).unwrap();
        let (bytes, _) = sign(&mut layout, Some(&manifest), &target, "", &a).unwrap();
        let manifest: OciImageManifest = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(manifest.layers.len(), 2);
        assert!(verify(&layout, Some(&manifest), &target, &[key_b]).is_ok());
    }

    #[test]
    fn a_file_that_is_not_a_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pub");
        std::fs::write(&path, "not a key").unwrap();
        let err = PublicKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("k.pub") && err.contains("not an Ed25519 public key"), "{err}");
    }
}
