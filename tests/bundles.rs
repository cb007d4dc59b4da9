//! Bundles against a real OCI registry: Debian's `docker-registry`
//! (distribution 2.8) started on loopback by the tests, and `skopeo` as an
//! independent client. Pack, sign, push, pull, verify, install and scan;
//! every tamper case refused with nothing installed; basic auth over TLS
//! with a CA of the test's own.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;

/// A `docker-registry` serving on 127.0.0.1, removed with its storage on drop.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

struct Tls {
    ca: PathBuf,
    user: &'static str,
    password: &'static str,
}

impl Registry {
    fn start() -> Registry {
        Registry::start_with(None)
    }

    fn start_with(tls: Option<&mut Option<Tls>>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some(slot) = tls {
            let (ca, cert, key) = certificates();
            let ca_path = dir.path().join("ca.pem");
            std::fs::write(&ca_path, ca).unwrap();
            std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
            std::fs::write(dir.path().join("key.pem"), key).unwrap();
            let (user, password) = ("ops", "s3cret-pass");
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{}\n", bcrypt(password))).unwrap();
            config.push_str(&format!(
                "  tls:\n    certificate: {0}/cert.pem\n    key: {0}/key.pem\nauth:\n  htpasswd:\n    realm: rampart-test\n    path: {0}/htpasswd\n",
                dir.path().display()
            ));
            *slot = Some(Tls { ca: ca_path, user, password });
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("docker-registry: {e}; install Debian's docker-registry package (.ci/run does)"));
        let registry = Registry { child, port, _dir: dir };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not listen on 127.0.0.1:{port}");
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn oci(&self, repo: &str) -> String {
        format!("oci://{}/{repo}", self.host())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA, and a server certificate for 127.0.0.1 it issued (PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "rampart-bundle-test-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "registry");
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// A bcrypt hash for htpasswd, made by the system's crypt(3) through Python.
fn bcrypt(password: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", password])
        .output()
        .expect("python3");
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$2"), "no bcrypt from python3's crypt: {}", String::from_utf8_lossy(&out.stderr));
    hash
}

/// A user's machine: an empty working directory, a fresh home and config,
/// the test run's compile cache.
struct User {
    dir: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        plugins();
        let user = User { dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir_all(user.work()).unwrap();
        user
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work().join(name)
    }

    fn rampart(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_rampart"))
    }

    /// A program run as this user: from the working directory, with its
    /// home, config, docker config and cache.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.work())
            .env_remove("RAMPART_REGISTRY")
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("home/.config"))
            .env("DOCKER_CONFIG", self.dir.path().join("home/.docker"))
            .env("RAMPART_CACHE_DIR", self.dir.path().join("cache"))
            .env("NO_COLOR", "1");
        cmd
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = run(self.rampart().args(args));
        assert_eq!(r.code, 0, "rampart {}:\n{}{}", args.join(" "), r.stdout, r.stderr);
        r
    }

    /// Runs a command that must be refused: exit code not 0, the message
    /// on stderr; returns stderr.
    fn refused(&self, args: &[&str]) -> String {
        let r = run(self.rampart().args(args));
        assert_ne!(r.code, 0, "rampart {} should be refused:\n{}{}", args.join(" "), r.stdout, r.stderr);
        r.stderr
    }

    fn key(&self, name: &str) -> (String, String) {
        let path = self.path(name);
        if !path.exists() {
            self.ok(&["key", "generate", "--out", path.to_str().unwrap()]);
        }
        (path.display().to_string(), format!("{}.pub", path.display()))
    }
}

/// The built-in plugins and profiles as one bundle, packed once per test
/// binary (a directory layout, copied by each test that changes it).
fn builtins() -> &'static Path {
    static PACKED: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &PACKED
        .get_or_init(|| {
            let user = User::new();
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("builtins");
            let r = user.ok(&["bundle", "pack", "-o", out.to_str().unwrap()]);
            assert!(r.stderr.contains("packed 12 plugin(s) and 2 profile(s)"), "{}", r.stderr);
            std::mem::forget(user);
            (dir, out)
        })
        .1
}

/// A small bundle of two built-in plugins, for the tamper cases.
fn small(user: &User) -> PathBuf {
    let out = user.path("small");
    user.ok(&["bundle", "pack", "--plugin", "rbac", "--plugin", "namespaces", "-o", out.to_str().unwrap()]);
    out
}

// An image layout edited by hand, as an attacker would: blobs written
// under their new digests, the index pointed at the new manifest.

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn read_blob(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&std::fs::read(blob(layout, digest)).unwrap()).unwrap()
}

fn write_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    std::fs::write(blob(layout, &digest), bytes).unwrap();
    (digest, bytes.len())
}

fn index(layout: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap()
}

/// The bundle manifest's digest (the index entry tagged `latest`).
fn manifest_digest(layout: &Path) -> String {
    let index = index(layout);
    let entry = index["manifests"].as_array().unwrap().iter().find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "latest");
    entry.unwrap()["digest"].as_str().unwrap().to_string()
}

/// Changes the bundle's manifest (and its config, when `config` is given)
/// and re-points the index at it; the old signature stays as it was.
fn rewrite(layout: &Path, edit_config: Option<&dyn Fn(&mut Value)>, edit_manifest: &dyn Fn(&mut Value)) {
    let old = manifest_digest(layout);
    let mut manifest = read_blob(layout, &old);
    if let Some(edit) = edit_config {
        let mut config = read_blob(layout, manifest["config"]["digest"].as_str().unwrap());
        edit(&mut config);
        let (digest, size) = write_blob(layout, &serde_json::to_vec(&config).unwrap());
        manifest["config"] = json!({"mediaType": manifest["config"]["mediaType"], "digest": digest, "size": size});
    }
    edit_manifest(&mut manifest);
    let (digest, size) = write_blob(layout, &serde_json::to_vec(&manifest).unwrap());
    let mut index = index(layout);
    for m in index["manifests"].as_array_mut().unwrap() {
        if m["digest"] == old.as_str() {
            m["digest"] = digest.clone().into();
            m["size"] = size.into();
        }
    }
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn pack_sign_push_pull_verify_install_and_scan_give_the_builtins_verdicts() {
    let user = User::new();
    let registry = Registry::start();
    let (key, public) = user.key("team");
    let layout = user.path("bundle");
    copy_tree(builtins(), &layout);
    let r = user.ok(&["bundle", "sign", layout.to_str().unwrap(), "--key", &key]);
    assert!(r.stderr.contains("signed sha256:"), "{}", r.stderr);
    let reference = format!("{}:1.0", registry.oci("platform/controls"));
    let r = user.ok(&["bundle", "push", layout.to_str().unwrap(), &reference]);
    assert!(r.stdout.contains("with its signatures"), "{}", r.stdout);
    let digest = manifest_digest(&layout);

    // skopeo reads what was pushed: the manifest, our artifact type, the
    // signature beside it under cosign's tag.
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/platform/controls:1.0", registry.host()))
        .output()
        .expect("skopeo (Debian's skopeo package; .ci/run installs it)");
    assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
    let manifest: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(manifest["artifactType"], "application/vnd.rampart.bundle.v1");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.rampart.bundle.config.v1+json");
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 14);
    let tags = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{}/platform/controls", registry.host()))
        .output()
        .unwrap();
    let tags: Value = serde_json::from_slice(&tags.stdout).unwrap();
    let sig_tag = format!("sha256-{}.sig", &digest[7..]);
    assert!(tags["Tags"].as_array().unwrap().contains(&json!(sig_tag)), "{tags}");

    // Pull, verify, inspect.
    let pulled = user.path("pulled.tar");
    let r = user.ok(&["bundle", "pull", &reference, "-o", pulled.to_str().unwrap()]);
    assert!(r.stdout.contains(&digest) && r.stdout.contains("and its signatures"), "{}", r.stdout);
    let r = user.ok(&["bundle", "verify", pulled.to_str().unwrap(), "--key", &public]);
    assert!(r.stdout.contains("is signed by key"), "{}", r.stdout);
    let r = user.ok(&["bundle", "inspect", &reference, "--format", "json"]);
    let inspection: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(inspection["digest"], digest.as_str());
    let rbac = inspection["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "rbac").unwrap();
    assert!(
        rbac["capabilities"].as_array().unwrap().contains(&json!("cluster.list:rbac.authorization.k8s.io/v1/ClusterRoleBinding")),
        "{rbac}"
    );
    assert!(rbac["checks"].as_array().unwrap().len() > 3);
    assert_eq!(inspection["signatures"].as_array().unwrap().len(), 1);

    // Install into a registry file of its own, from the registry, pinned.
    let lock = user.path("registry.toml");
    let r = user.ok(&["--registry", lock.to_str().unwrap(), "bundle", "install", &reference, "--key", &public, "--approve"]);
    assert!(r.stdout.contains("signed by key") && r.stdout.contains("profile cis-k8s-1.12"), "{}", r.stdout);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains(&format!("source = \"{reference}@{digest}\"")), "{text}");
    assert!(text.contains(&format!("\"{public}\"")), "{text}");

    // Scanning with it gives the verdicts of the built-ins, every plugin
    // from the bundle.
    let demo = demo();
    let scan = |registry: Option<&Path>| {
        let mut cmd = user.rampart();
        if let Some(r) = registry {
            cmd.arg("--registry").arg(r);
        }
        cmd.args(["scan", "--profile", "cis-k8s-1.12", "--format", "json", "--manifests"])
            .arg(&demo.cluster)
            .arg("--node")
            .args(&demo.nodes);
        let r = run(&mut cmd);
        assert_eq!(r.code, 1, "{}", r.stderr);
        r.json()
    };
    let from_bundle = scan(Some(&lock));
    for p in from_bundle["plugins"].as_array().unwrap() {
        assert!(p["source"].as_str().unwrap().starts_with(&reference), "{p}");
    }
    assert!(from_bundle["errors"].as_array().is_none_or(Vec::is_empty), "{}", from_bundle["errors"]);
    assert_eq!(control_statuses(&from_bundle), control_statuses(&scan(None)));

    // The bundle's profile is what --profile found, and the pulled copy
    // is cached: the scan works with the registry gone.
    drop(registry);
    let again = scan(Some(&lock));
    assert_eq!(control_statuses(&again), control_statuses(&from_bundle));
}

#[test]
fn skopeo_copies_what_rampart_writes_and_rampart_reads_what_skopeo_copied() {
    let user = User::new();
    let registry = Registry::start();
    let (key, public) = user.key("team");
    let layout = small(&user);
    user.ok(&["bundle", "sign", layout.to_str().unwrap(), "--key", &key]);
    // Rampart's layout → registry, by skopeo.
    let status = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{}/copied/by-skopeo:1", registry.host()))
        .status()
        .unwrap();
    assert!(status.success());
    let r = user.ok(&["bundle", "inspect", &format!("{}:1", registry.oci("copied/by-skopeo"))]);
    assert!(r.stdout.contains("plugin rbac") && r.stdout.contains("plugin namespaces"), "{}", r.stdout);
    // Registry → a layout of skopeo's; rampart reads and verifies it (the
    // signature copied as skopeo copies any tag).
    user.ok(&["bundle", "push", layout.to_str().unwrap(), &format!("{}:2", registry.oci("team/small"))]);
    let theirs = user.path("skopeo-layout");
    let digest = manifest_digest(&layout);
    for tag in ["2".to_string(), format!("sha256-{}.sig", &digest[7..])] {
        let status = Command::new("skopeo")
            .args(["copy", "--quiet", "--src-tls-verify=false"])
            .arg(format!("docker://{}/team/small:{tag}", registry.host()))
            .arg(format!("oci:{}:{tag}", theirs.display()))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let r = user.ok(&["bundle", "verify", theirs.to_str().unwrap(), "--key", &public]);
    assert!(r.stdout.contains(&digest), "{}", r.stdout);

    // The signature checks out with openssl alone, as docs/bundles.md
    // shows: the payload names the manifest, the signature is over the
    // payload's bytes.
    let index = index(&theirs);
    let sig_entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == format!("sha256-{}.sig", &digest[7..]))
        .unwrap();
    let sig_manifest = read_blob(&theirs, sig_entry["digest"].as_str().unwrap());
    let layer = &sig_manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    let payload = blob(&theirs, layer["digest"].as_str().unwrap());
    let payload_json = read_blob(&theirs, layer["digest"].as_str().unwrap());
    assert_eq!(payload_json["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap())
        .unwrap();
    let sig_file = user.path("payload.sig");
    std::fs::write(&sig_file, signature).unwrap();
    let openssl = |key: &str| {
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in"])
            .arg(&payload)
            .arg("-sigfile")
            .arg(&sig_file)
            .output()
            .expect("openssl")
    };
    let ok = openssl(&public);
    assert!(ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("Signature Verified Successfully"), "{ok:?}");
    let (_, other) = user.key("other");
    assert!(!openssl(&other).status.success());
}

#[test]
fn every_tampered_bundle_is_refused_and_nothing_is_installed() {
    let user = User::new();
    let registry = Registry::start();
    let (key, public) = user.key("team");
    let (_, other_public) = user.key("other");
    let signed = small(&user);
    user.ok(&["bundle", "sign", signed.to_str().unwrap(), "--key", &key]);
    let lock = user.path("lock.toml");
    let install = |reference: &str, extra: &[&str]| {
        let mut args = vec!["--registry", lock.to_str().unwrap(), "bundle", "install", reference, "--approve"];
        args.extend_from_slice(extra);
        let stderr = user.refused(&args);
        assert!(!lock.exists(), "{reference}: installed despite: {stderr}");
        stderr
    };
    let variant = |name: &str| {
        let dir = user.path(name);
        copy_tree(&signed, &dir);
        dir
    };

    // Refused on disk, and from the registry once skopeo (which does not
    // judge a bundle's content) has copied it there.
    let everywhere = |dir: &Path, needle: &str| {
        let err = install(dir.to_str().unwrap(), &[]);
        assert!(err.contains(needle), "{err}");
        let repo = format!("t/{}", dir.file_name().unwrap().to_str().unwrap());
        let status = Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:latest", dir.display()))
            .arg(format!("docker://{}/{repo}:1", registry.host()))
            .status()
            .unwrap();
        assert!(status.success());
        let err = install(&format!("{}:1", registry.oci(&repo)), &[]);
        assert!(err.contains(needle), "{err}");
    };

    // A changed layer byte.
    let dir = variant("changed-layer");
    let manifest = read_blob(&dir, &manifest_digest(&dir));
    let layer = blob(&dir, manifest["layers"][0]["digest"].as_str().unwrap());
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&layer, bytes).unwrap();
    let err = install(dir.to_str().unwrap(), &["--key", &public]);
    assert!(err.contains("the blob was changed"), "{err}");

    // A changed manifest (the attacker re-digests it): the signature is of
    // the old one.
    let dir = variant("changed-manifest");
    rewrite(&dir, None, &|m| {
        m["annotations"] = json!({"org.opencontainers.image.description": "harmless"});
    });
    let err = install(dir.to_str().unwrap(), &["--key", &public]);
    assert!(err.contains("is not signed"), "{err}");

    // The same, pushed over the tag in the registry.
    user.ok(&["bundle", "push", dir.to_str().unwrap(), &format!("{}:1", registry.oci("t/changed"))]);
    let err = install(&format!("{}:1", registry.oci("t/changed")), &["--key", &public]);
    assert!(err.contains("is not signed"), "{err}");

    // No signature at all, in the registry.
    let unsigned_user = User::new();
    let unsigned = small(&unsigned_user);
    user.ok(&["bundle", "push", unsigned.to_str().unwrap(), &format!("{}:1", registry.oci("t/unsigned"))]);
    let err = install(&format!("{}:1", registry.oci("t/unsigned")), &["--key", &public]);
    assert!(err.contains("is not signed: there is no signature manifest"), "{err}");

    // Signed, by another key.
    user.ok(&["bundle", "push", signed.to_str().unwrap(), &format!("{}:1", registry.oci("t/signed"))]);
    let err = install(&format!("{}:1", registry.oci("t/signed")), &["--key", &other_public]);
    assert!(err.contains("is not signed by a trusted key") && err.contains("other.pub"), "{err}");

    // A pin that is not the tag's current digest.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let err = install(&format!("{}:1@{wrong}", registry.oci("t/signed")), &["--key", &public]);
    assert!(err.contains("now points at") && err.contains(&wrong), "{err}");

    // A bundle config that lies about a layer's digest.
    let dir = variant("lying-config");
    rewrite(
        &dir,
        Some(&|c| {
            let other = c["plugins"][1]["digest"].clone();
            c["plugins"][0]["digest"] = other;
        }),
        &|_| {},
    );
    everywhere(&dir, "the bundle config says its component is");

    // A bundle config that hides what a plugin asks for.
    let dir = variant("hidden-capability");
    rewrite(
        &dir,
        Some(&|c| {
            c["plugins"][0]["capabilities"].as_array_mut().unwrap().pop();
        }),
        &|_| {},
    );
    everywhere(&dir, "does not say what the component does");

    // A path-like plugin name.
    let dir = variant("path-name");
    rewrite(&dir, Some(&|c| c["plugins"][0]["name"] = json!("../x")), &|m| {
        m["layers"][0]["annotations"]["dev.rampart.plugin"] = json!("../x")
    });
    everywhere(&dir, "\"../x\" is not a name");

    // A bundle over the size limit (on disk, and pulled).
    let err = install(builtins().to_str().unwrap(), &["--max-bundle-mib", "1"]);
    assert!(err.contains("size limit"), "{err}");
    user.ok(&["bundle", "push", builtins().to_str().unwrap(), &format!("{}:1", registry.oci("t/big"))]);
    let err = install(&format!("{}:1", registry.oci("t/big")), &["--max-bundle-mib", "1"]);
    assert!(err.contains("size limit"), "{err}");

    // And the untampered one goes in.
    user.ok(&[
        "--registry",
        lock.to_str().unwrap(),
        "bundle",
        "install",
        &format!("{}:1", registry.oci("t/signed")),
        "--key",
        &public,
        "--approve",
    ]);
    assert!(lock.exists());
}

#[test]
fn a_plugin_whose_bundle_is_not_signed_by_its_pinned_key_is_refused_at_scan_time_and_the_rest_runs() {
    let user = User::new();
    let (key, public) = user.key("team");
    let (_, other_public) = user.key("other");
    let bundle = small(&user);
    user.ok(&["bundle", "sign", bundle.to_str().unwrap(), "--key", &key]);
    let lock = user.path("registry.toml");
    user.ok(&["--registry", lock.to_str().unwrap(), "bundle", "install", bundle.to_str().unwrap(), "--key", &public, "--approve"]);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains(&format!("manifest = \"{}\"", manifest_digest(&bundle))), "{text}");
    let scan = || {
        let r = run(user
            .rampart()
            .args(["--registry", lock.to_str().unwrap(), "scan", "--manifests"])
            .arg(&demo().cluster)
            .args(["--format", "json"]));
        r.json()
    };
    let status = |report: &Value, plugin: &str| report["plugins"].as_array().unwrap().iter().find(|p| p["name"] == plugin).unwrap().clone();
    let good = scan();
    assert!(status(&good, "rbac")["error"].is_null(), "{}", status(&good, "rbac"));

    // The operator now trusts only another key: rbac and namespaces from
    // this bundle are refused; the built-ins beside them still run.
    std::fs::write(&lock, text.replace(&public, &other_public)).unwrap();
    let refused = scan();
    let rbac = status(&refused, "rbac");
    let message = rbac.to_string();
    assert!(message.contains("is not signed by a trusted key"), "{message}");
    assert!(refused["findings"].as_array().unwrap().iter().any(|f| f["check"].as_str().unwrap().starts_with("pod-security/")));
    assert!(
        !refused["findings"].as_array().unwrap().iter().any(|f| f["check"].as_str().unwrap().starts_with("rbac/") && f["status"] == "pass")
    );

    // A component pin that does not match.
    let pinned = text.lines().find(|l| l.starts_with("sha256 = ")).unwrap();
    std::fs::write(&lock, text.replace(pinned, &format!("sha256 = \"{}\"", "1".repeat(64)))).unwrap();
    let report = scan();
    let any_error = report["plugins"].as_array().unwrap().iter().any(|p| p.to_string().contains("refusing to load it"));
    assert!(any_error, "{}", report["plugins"]);
}

#[test]
fn a_registry_behind_tls_and_basic_auth_takes_the_docker_config_credentials() {
    let user = User::new();
    let mut tls = None;
    let registry = Registry::start_with(Some(&mut tls));
    let tls = tls.unwrap();
    let ca = tls.ca.to_str().unwrap().to_string();
    let bundle = small(&user);
    let reference = format!("{}:1", registry.oci("secure/controls"));

    // No CA: the certificate is not trusted.
    let err = user.refused(&["bundle", "push", bundle.to_str().unwrap(), &reference]);
    assert!(err.contains("secure/controls") && err.contains("--ca-cert"), "{err}");
    // The CA, no credentials: the registry says who may push.
    let err = user.refused(&["--ca-cert", &ca, "bundle", "push", bundle.to_str().unwrap(), &reference]);
    assert!(err.contains("wants credentials") && err.contains("config.json"), "{err}");
    // Credentials in the docker config file.
    let docker = user.dir.path().join("home/.docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64_encode(&format!("{}:{}", tls.user, tls.password));
    std::fs::write(docker.join("config.json"), json!({"auths": {registry.host(): {"auth": auth}}}).to_string()).unwrap();
    user.ok(&["--ca-cert", &ca, "bundle", "push", bundle.to_str().unwrap(), &reference]);
    let r = user.ok(&["--ca-cert", &ca, "bundle", "inspect", &reference]);
    assert!(r.stdout.contains("plugin rbac"), "{}", r.stdout);
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn an_install_asking_for_more_than_is_granted_stops_until_approved_and_one_asking_for_less_goes_through() {
    let user = User::new();
    let bundle = team_bundle(&user);
    let lock = user.path("registry.toml");
    let install = |approve: bool| {
        let mut cmd = user.rampart();
        cmd.arg("--registry").arg(&lock).args(["bundle", "install"]).arg(&bundle);
        if approve {
            cmd.arg("--approve");
        }
        run(cmd.stdin(Stdio::null()))
    };
    // New plugins: everything they ask for needs approval.
    let r = install(false);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("plugin probe (new) asks for") && r.stderr.contains("--approve"), "{}", r.stderr);
    // (rbac is a built-in: the built-ins' grants already cover it.)
    assert!(!r.stderr.contains("plugin rbac"), "{}", r.stderr);
    assert!(!lock.exists());
    assert_eq!(install(true).code, 0);
    let approved = std::fs::read_to_string(&lock).unwrap();

    // What is installed was granted less than this version asks for (as
    // when an upgrade asks for a new kind): it stops and shows the difference.
    let kind = "\"cluster.list:rbac.authorization.k8s.io/v1/RoleBinding\",";
    assert!(approved.contains(kind), "{approved}");
    std::fs::write(&lock, approved.replace(kind, "")).unwrap();
    let r = install(false);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("plugin rbac asks for more than it is granted now"), "{}", r.stderr);
    assert!(r.stderr.contains("  + cluster.list:rbac.authorization.k8s.io/v1/RoleBinding"), "{}", r.stderr);
    assert!(!std::fs::read_to_string(&lock).unwrap().contains(kind), "nothing was written");
    assert_eq!(install(true).code, 0);
    assert!(std::fs::read_to_string(&lock).unwrap().contains(kind));

    // Granted more than this version asks for: it goes through without
    // approval, and the grant it no longer needs is dropped.
    let extra = "grants = [\n    \"cluster.list:v1/ConfigMap\",";
    let text = std::fs::read_to_string(&lock).unwrap().replacen("grants = [", extra, 1);
    std::fs::write(&lock, text).unwrap();
    let r = install(false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("1 fewer than before"), "{}", r.stdout);
    assert!(!std::fs::read_to_string(&lock).unwrap().contains("v1/ConfigMap"));
    // The comments and entries the operator wrote stay.
    let text = format!(
        "# ours\n{}\n[[plugin]]\nname = \"pod-security\"\ngrants = [\"cluster.list:v1/Pod\"]\n",
        std::fs::read_to_string(&lock).unwrap()
    );
    std::fs::write(&lock, &text).unwrap();
    assert_eq!(install(false).code, 0);
    let after = std::fs::read_to_string(&lock).unwrap();
    assert!(after.starts_with("# ours\n") && after.contains("name = \"pod-security\""), "{after}");
}

#[test]
fn a_profile_in_a_bundle_is_used_with_profile_after_install_and_a_bundle_is_signed_in_the_registry() {
    let user = User::new();
    let registry = Registry::start();
    let (key, public) = user.key("team");
    // A company's own profile over a built-in plugin.
    std::fs::write(
        user.path("acme.toml"),
        "id = \"acme-rbac\"\ntitle = \"ACME RBAC baseline\"\nversion = \"1\"\n[sections]\n\"A\" = \"RBAC\"\n\n\
         [[control]]\nid = \"A.1\"\nsection = \"A\"\ntitle = \"no wildcard roles\"\nassessment = \"automated\"\nchecks = [\"rbac/wildcards\"]\n\n\
         [[control]]\nid = \"A.2\"\nsection = \"A\"\ntitle = \"few pod creators\"\nassessment = \"automated\"\nchecks = [\"rbac/pod-create\"]\n",
    )
    .unwrap();
    let source = user.path("team.toml");
    std::fs::write(&source, "[[profile]]\nid = \"acme-rbac\"\nsource = \"acme.toml\"\n").unwrap();
    let bundle = user.path("acme-bundle.tar");
    user.ok(&[
        "--registry",
        source.to_str().unwrap(),
        "bundle",
        "pack",
        "--profile",
        "acme-rbac",
        "--plugin",
        "rbac",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    let reference = format!("{}:1", registry.oci("acme/baseline"));
    user.ok(&["bundle", "push", bundle.to_str().unwrap(), &reference]);

    // Signed where it is, in the registry.
    let err = user.refused(&["bundle", "verify", &reference, "--key", &public]);
    assert!(err.contains("is not signed"), "{err}");
    user.ok(&["bundle", "sign", &reference, "--key", &key]);
    user.ok(&["bundle", "verify", &reference, "--key", &public]);

    let lock = user.path("registry.toml");
    user.ok(&["--registry", lock.to_str().unwrap(), "bundle", "install", &reference, "--key", &public]);
    let r = run(user.rampart().args(["--registry", lock.to_str().unwrap(), "profile", "list"]));
    assert!(r.stdout.contains("acme-rbac"), "{}", r.stdout);
    let r = run(user
        .rampart()
        .args(["--registry", lock.to_str().unwrap(), "scan", "--profile", "acme-rbac", "--format", "json", "--manifests"])
        .arg(&demo().cluster));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["profiles"][0]["id"], "acme-rbac");
    let statuses = control_statuses(&report);
    assert_eq!(statuses.len(), 2);
    assert!(statuses.iter().all(|(_, s)| s == "pass" || s == "fail"), "{statuses:?}");
}

/// A plugin of the team's own (named `probe`) beside a built-in one.
fn team_bundle(user: &User) -> PathBuf {
    let source = user.path("team.toml");
    std::fs::write(&source, format!("[[plugin]]\nname = \"probe\"\nsource = \"{}\"\n", xtask::component("hostile").display())).unwrap();
    let bundle = user.path("team-bundle");
    user.ok(&[
        "--registry",
        source.to_str().unwrap(),
        "bundle",
        "pack",
        "--plugin",
        "probe",
        "--plugin",
        "rbac",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    bundle
}

#[test]
fn at_a_terminal_the_operator_is_asked_and_only_yes_installs() {
    let user = User::new();
    let bundle = team_bundle(&user);
    let lock = user.path("registry.toml");
    // `script` gives rampart a terminal; the answer is typed into it.
    let answer = |text: &str| {
        let line = format!("{} --registry {} bundle install {}", env!("CARGO_BIN_EXE_rampart"), lock.display(), bundle.display());
        let mut child = user
            .command("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, shown) = answer("n\n");
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("plugin probe (new) asks for") && shown.contains("grant these? [y/N]"), "{shown}");
    assert!(shown.contains("the grants were declined"), "{shown}");
    assert!(!lock.exists());
    let (code, shown) = answer("y\n");
    assert_eq!(code, Some(0), "{shown}");
    assert!(std::fs::read_to_string(&lock).unwrap().contains("name = \"probe\""));
}
