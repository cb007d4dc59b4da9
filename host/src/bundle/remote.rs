//! Bundles in OCI registries, through `oci-client`: push a bundle (and its
//! signature manifest) and pull one back, checking the digest of
//! everything that arrives.
//!
//! Credentials come from the docker config file (`$DOCKER_CONFIG/config.json`
//! or `~/.docker/config.json`, the `auths` entries). A loopback registry
//! (`localhost`, `127.0.0.1`, `[::1]`) is spoken to over plain HTTP, as
//! docker does, unless a CA certificate is given for it; any other only
//! over HTTPS unless `--insecure` is given.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::layout::{Layout, digest_hex, digest_of};
use super::{Bundle, signature};
use crate::error::{Error, Result};

/// A registry manifest bigger than this is refused before it is parsed
/// (registries themselves cap manifests at 4 MiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Plain HTTP to a registry that is not on loopback.
    pub insecure: bool,
    /// A CA certificate (PEM) the registry's TLS certificate is checked
    /// against, besides the system's.
    pub ca_cert: Option<PathBuf>,
    /// The most a pulled bundle may hold, all blobs together.
    pub max_bytes: u64,
}

/// An `oci://host[:port]/repository[:tag][@sha256:...]` reference.
pub fn parse(text: &str) -> Result<Reference> {
    let bad = |message: String| Error::Bundle { at: text.to_string(), message };
    let rest = text.strip_prefix("oci://").ok_or_else(|| bad("a registry reference starts with oci://".into()))?;
    if !rest.split('/').next().is_some_and(|host| host.contains('.') || host.contains(':') || host == "localhost") || !rest.contains('/') {
        return Err(bad("give the registry host and the repository: oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]".into()));
    }
    let reference: Reference = rest.parse().map_err(|e| bad(format!("not an OCI reference: {e}")))?;
    if let Some(d) = reference.digest() {
        digest_hex(d).map_err(bad)?;
    }
    Ok(reference)
}

/// Whether a registry host is this machine.
fn loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .filter(|(h, port)| !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(registry, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// A client for one registry.
pub struct Remote {
    client: Client,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    max_bytes: u64,
}

impl Remote {
    pub fn new(reference: &Reference, options: &Options) -> Result<Remote> {
        let registry = reference.resolve_registry().to_string();
        let at = |message: String| Error::Bundle { at: registry.clone(), message };
        // reqwest is built without a default TLS provider; this binary's is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = ClientConfig::default();
        let plain = options.insecure || (loopback(&registry) && options.ca_cert.is_none());
        config.protocol = if plain { ClientProtocol::HttpsExcept(vec![registry.clone()]) } else { ClientProtocol::Https };
        if let Some(ca) = &options.ca_cert {
            let data = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
            config.extra_root_certificates.push(Certificate { encoding: CertificateEncoding::Pem, data });
        }
        config.platform_resolver = None;
        config.connect_timeout = Some(std::time::Duration::from_secs(30));
        config.read_timeout = Some(std::time::Duration::from_secs(300));
        let auth = docker_auth(&registry)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| at(format!("cannot start the network runtime: {e}")))?;
        Ok(Remote { client: Client::new(config), auth, runtime, max_bytes: options.max_bytes })
    }

    /// Pushes the bundle and its signatures under the reference's tag
    /// (or digest); returns the manifest's digest.
    pub fn push(&self, bundle: &Bundle, reference: &Reference) -> Result<String> {
        let at = reference_text(reference);
        let fail = |what: &str, e: oci_client::errors::OciDistributionError| Error::Bundle {
            at: at.clone(),
            message: format!("{what}: {}", self.explain(&e)),
        };
        if let Some(pinned) = reference.digest()
            && pinned != bundle.digest
        {
            return Err(Error::Bundle { at, message: format!("the bundle's digest is {}, not {pinned}", bundle.digest) });
        }
        self.runtime.block_on(async {
            self.client.store_auth_if_needed(reference.resolve_registry(), &self.auth).await;
            let manifest_bytes = bundle.layout.blob(&bundle.digest).expect("a bundle holds its manifest");
            self.push_manifest(&bundle.layout, reference, &bundle.manifest, manifest_bytes, reference)
                .await
                .map_err(|e| fail("pushing the bundle", e))?;
            if let Some(signatures) = &bundle.signatures {
                let tag = signature::signature_tag(&bundle.digest);
                let sig_ref = Reference::with_tag(reference.registry().to_string(), reference.repository().to_string(), tag.clone());
                let entry = bundle.layout.tagged(&tag).expect("a bundle holds its signature manifest");
                let bytes = bundle.layout.blob(&entry.digest).expect("and its bytes");
                self.push_manifest(&bundle.layout, &sig_ref, signatures, bytes, &sig_ref)
                    .await
                    .map_err(|e| fail("pushing the signatures", e))?;
            }
            Ok(bundle.digest.clone())
        })
    }

    async fn push_manifest(
        &self,
        layout: &Layout,
        blobs_to: &Reference,
        manifest: &OciImageManifest,
        bytes: &[u8],
        to: &Reference,
    ) -> std::result::Result<(), oci_client::errors::OciDistributionError> {
        for descriptor in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if self.client.blob_exists(blobs_to, &descriptor.digest).await.unwrap_or(false) {
                continue;
            }
            let blob = layout.blob(&descriptor.digest).expect("a bundle holds every blob its manifests name");
            let data = bytes::Bytes::copy_from_slice(blob);
            self.client.push_blob(blobs_to, data, &descriptor.digest).await?;
        }
        let content_type = http_header(OCI_IMAGE_MEDIA_TYPE);
        self.client.push_manifest_raw(to, bytes::Bytes::copy_from_slice(bytes), content_type).await?;
        Ok(())
    }

    /// Pulls a bundle and the signatures stored beside it. When the
    /// reference pins a digest, the manifest must have it.
    pub fn pull(&self, reference: &Reference) -> Result<Bundle> {
        let at = reference_text(reference);
        let fail = |message: String| Error::Bundle { at: at.clone(), message };
        self.runtime.block_on(async {
            self.client.store_auth_if_needed(reference.resolve_registry(), &self.auth).await;
            let mut layout = Layout::default();
            // A tag and a pin together: the tag must still point at the pin
            // (a moved tag is news the operator must review).
            if let (Some(tag), Some(pinned)) = (reference.tag(), reference.digest()) {
                let tagged = Reference::with_tag(reference.registry().to_string(), reference.repository().to_string(), tag.to_string());
                let current = self
                    .client
                    .fetch_manifest_digest(&tagged, &self.auth)
                    .await
                    .map_err(|e| fail(format!("resolving tag {tag}: {}", self.explain(&e))))?;
                if current != pinned {
                    return Err(fail(format!(
                        "tag {tag} now points at {current}, not the pinned {pinned}: refusing it (review the new bundle, then pin its digest)"
                    )));
                }
            }
            let (bytes, digest) = self
                .client
                .pull_manifest_raw(reference, &self.auth, &[OCI_IMAGE_MEDIA_TYPE])
                .await
                .map_err(|e| fail(format!("pulling the manifest: {}", self.explain(&e))))?;
            let digest = self.check_manifest(&bytes, &digest, reference.digest()).map_err(&fail)?;
            let manifest: OciImageManifest =
                serde_json::from_slice(&bytes).map_err(|e| fail(format!("manifest {digest} is not an OCI image manifest: {e}")))?;
            self.pull_blobs(reference, &manifest, &mut layout).await.map_err(&fail)?;
            layout.add_blob(bytes.to_vec());
            let tag = reference.tag().unwrap_or("latest");
            layout.tag(OCI_IMAGE_MEDIA_TYPE, &digest, Some(tag), manifest.artifact_type.as_deref());
            // The signatures, if any (their absence is judged by verify).
            let sig_tag = signature::signature_tag(&digest);
            let sig_ref = Reference::with_tag(reference.registry().to_string(), reference.repository().to_string(), sig_tag.clone());
            match self.client.pull_manifest_raw(&sig_ref, &self.auth, &[OCI_IMAGE_MEDIA_TYPE]).await {
                Ok((bytes, sig_digest)) => {
                    let sig_digest = self.check_manifest(&bytes, &sig_digest, None).map_err(&fail)?;
                    let signatures: OciImageManifest =
                        serde_json::from_slice(&bytes).map_err(|e| fail(format!("signature manifest {sig_digest}: {e}")))?;
                    self.pull_blobs(&sig_ref, &signatures, &mut layout).await.map_err(&fail)?;
                    layout.add_blob(bytes.to_vec());
                    layout.tag(OCI_IMAGE_MEDIA_TYPE, &sig_digest, Some(&sig_tag), None);
                }
                Err(e) => tracing::debug!("{at}: no signature manifest {sig_tag}: {e}"),
            }
            Bundle::at_digest(layout, &digest, &at)
        })
    }

    /// The client's error, with what to do about the usual causes.
    fn explain(&self, e: &oci_client::errors::OciDistributionError) -> String {
        use std::error::Error as _;
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let more = s.to_string();
            if !text.contains(&more) {
                text.push_str(&format!(": {more}"));
            }
            source = s.source();
        }
        let lower = text.to_lowercase();
        let hint = if lower.contains("http request to an https server") {
            Some("this registry speaks TLS: give the CA that issued its certificate with --ca-cert FILE")
        } else if lower.contains("certificate") || lower.contains("unknownissuer") {
            Some("its TLS certificate is not trusted: give the CA that issued it with --ca-cert FILE")
        } else if lower.contains("401") || lower.contains("unauthorized") || lower.contains("authentication") {
            Some(if matches!(self.auth, RegistryAuth::Anonymous) {
                "the registry wants credentials: rampart reads them from the `auths` of $DOCKER_CONFIG/config.json or ~/.docker/config.json, and found none for it"
            } else {
                "the registry refused the credentials from the docker config file"
            })
        } else if lower.contains("connect") {
            Some("the registry cannot be reached (use --insecure for a plain-HTTP registry that is not on loopback)")
        } else {
            None
        };
        match hint {
            Some(hint) => format!("{text} ({hint})"),
            None => text,
        }
    }

    /// The manifest's digest, computed from its bytes and checked against
    /// what the registry said and what the reference pins.
    fn check_manifest(&self, bytes: &[u8], said: &str, pinned: Option<&str>) -> std::result::Result<String, String> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(format!("the manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may be", bytes.len()));
        }
        let digest = digest_of(bytes);
        if let Some(pinned) = pinned
            && pinned != digest
        {
            return Err(format!("the manifest's digest is {digest}, not the pinned {pinned}: refusing it"));
        }
        if !said.is_empty() && said != digest {
            return Err(format!("the registry says the manifest is {said}, but its bytes are {digest}: refusing it"));
        }
        Ok(digest)
    }

    async fn pull_blobs(&self, reference: &Reference, manifest: &OciImageManifest, layout: &mut Layout) -> std::result::Result<(), String> {
        let descriptors: Vec<_> = std::iter::once(&manifest.config).chain(&manifest.layers).collect();
        let declared: i64 = descriptors.iter().map(|d| d.size.max(0)).sum::<i64>() + layout.size() as i64;
        if declared as u64 > self.max_bytes {
            return Err(format!("the bundle is {declared} bytes, more than the bundle size limit {} (--max-bundle-size)", self.max_bytes));
        }
        for descriptor in descriptors {
            digest_hex(&descriptor.digest)?;
            if layout.blob(&descriptor.digest).is_some() {
                continue;
            }
            let mut stream = self
                .client
                .pull_blob_stream(reference, descriptor)
                .await
                .map_err(|e| format!("pulling blob {}: {}", descriptor.digest, self.explain(&e)))?;
            let limit = descriptor.size.max(0) as usize;
            let mut bytes = Vec::with_capacity(limit.min(64 << 20));
            while let Some(chunk) = stream.stream.next().await {
                let chunk = chunk.map_err(|e| format!("pulling blob {}: {e}", descriptor.digest))?;
                if bytes.len() + chunk.len() > limit {
                    return Err(format!("blob {} is longer than the {limit} bytes its manifest says: refusing it", descriptor.digest));
                }
                bytes.extend_from_slice(&chunk);
            }
            let actual = digest_of(&bytes);
            if actual != descriptor.digest {
                return Err(format!("blob {} arrived with digest {actual}: refusing it", descriptor.digest));
            }
            layout.add_blob(bytes);
        }
        Ok(())
    }
}

fn http_header(value: &str) -> http::HeaderValue {
    http::HeaderValue::from_str(value).expect("a media type is a header value")
}

/// `oci://` and the reference, for messages.
pub fn reference_text(reference: &Reference) -> String {
    format!("oci://{}", reference.whole())
}

/// The credentials the docker config file holds for a registry, or none.
fn docker_auth(registry: &str) -> Result<RegistryAuth> {
    let path = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Path::new(&dir).join("config.json"),
        None => match std::env::var_os("HOME") {
            Some(home) => Path::new(&home).join(".docker/config.json"),
            None => return Ok(RegistryAuth::Anonymous),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RegistryAuth::Anonymous),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let bad = |message: String| Error::Bundle { at: path.display().to_string(), message };
    let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let auths = config.get("auths").and_then(|a| a.as_object());
    let entry = auths.and_then(|auths| {
        auths.iter().find(|(key, _)| {
            let key = key.trim_start_matches("https://").trim_start_matches("http://");
            key.trim_end_matches('/').trim_end_matches("/v2").trim_end_matches("/v1") == registry
        })
    });
    let Some((_, entry)) = entry else {
        if config.get("credHelpers").and_then(|h| h.get(registry)).is_some() || config.get("credsStore").is_some() {
            tracing::warn!(
                "{}: credential helpers are not run by rampart; {registry} is used without credentials (put them in `auths`)",
                path.display()
            );
        }
        return Ok(RegistryAuth::Anonymous);
    };
    let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    if let Some(auth) = field("auth") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad(format!("auths.{registry}.auth is not base64 of user:password")))?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| bad(format!("auths.{registry}.auth is not user:password")))?;
        return Ok(RegistryAuth::Basic(user.to_string(), password.to_string()));
    }
    match (field("username"), field("password")) {
        (Some(user), Some(password)) => Ok(RegistryAuth::Basic(user.to_string(), password.to_string())),
        _ => Ok(RegistryAuth::Anonymous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_must_be_oci_urls_with_a_host_and_a_real_digest() {
        let r = parse("oci://127.0.0.1:5000/team/controls:1.0").unwrap();
        assert_eq!((r.registry(), r.repository(), r.tag()), ("127.0.0.1:5000", "team/controls", Some("1.0")));
        for (text, needle) in
            [("127.0.0.1:5000/x:1", "oci://"), ("oci://controls:1.0", "registry host"), ("oci://localhost:5000/x@sha256:abc", "sha256")]
        {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn only_loopback_hosts_are_loopback() {
        for host in ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "localhost"] {
            assert!(loopback(host), "{host}");
        }
        for host in ["registry.example.com", "10.0.0.1:5000", "localhost.example.com:5000"] {
            assert!(!loopback(host), "{host}");
        }
    }
}
