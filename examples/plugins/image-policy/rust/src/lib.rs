//! image-policy (the Rust twin of examples/plugins/image-policy): every
//! container image of every workload comes from an allowed registry
//! (`allowed-registry`) and is pinned by digest or by a tag other than
//! `latest` (`pinned`). The Python, JavaScript, C and Go versions give
//! exactly these findings; the messages are part of that contract
//! (docs/plugins/image-policy.md).

use rampart_sdk::{
    AccessError, Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, Plugin, PluginInfo, SettingKind, Settings,
    Severity, Status, setting,
};
use serde_json::Value;

pub struct ImagePolicy;

pub const ALLOWED: &str = "allowed-registry";
pub const PINNED: &str = "pinned";
/// The allow-list setting: registries (`ghcr.io`, `registry.local:5000`)
/// or repository prefixes (`docker.io/library`).
pub const REGISTRIES: &str = "allowed-registry.registries";

/// Every kind with a pod spec, and where the spec is.
pub const KINDS: &[(&str, &str, &str)] = &[
    ("v1", "Pod", "spec"),
    ("apps/v1", "Deployment", "spec.template.spec"),
    ("apps/v1", "StatefulSet", "spec.template.spec"),
    ("apps/v1", "DaemonSet", "spec.template.spec"),
    ("apps/v1", "ReplicaSet", "spec.template.spec"),
    ("batch/v1", "Job", "spec.template.spec"),
    ("batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec"),
    ("v1", "ReplicationController", "spec.template.spec"),
];

/// The container lists of a pod spec, in the order they are judged.
const LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// An image reference split as the container runtimes read it
/// (github.com/distribution/reference, `ParseNormalizedNamed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host (and port), lowercased; `docker.io` when none is given.
    pub domain: String,
    /// The repository path; `library/` added for Docker Hub's official images.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

fn alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// One path component: lowercase letters and digits, joined by `.`, `_`,
/// `__` or runs of `-`.
fn valid_component(s: &str) -> bool {
    let b: Vec<char> = s.chars().collect();
    if b.is_empty() || !alnum_lower(b[0]) || !alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum_lower(b[i]) {
            i += 1;
        }
        let sep: String = b[start..i].iter().collect();
        if !(sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-')) {
            return false;
        }
    }
    true
}

/// A registry host: DNS labels (letters, digits, inner `-`) joined by `.`,
/// or an IPv6 address in brackets; then an optional `:port`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if d.starts_with('[') {
        match d.find(']') {
            Some(end) => {
                let inner = &d[1..end];
                if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
                    return false;
                }
                let rest = &d[end + 1..];
                if rest.is_empty() {
                    return true;
                }
                match rest.strip_prefix(':') {
                    Some(port) => ("x", Some(port)),
                    None => return false,
                }
            }
            None => return false,
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    host.split('.').all(|label| {
        let l: Vec<char> = label.chars().collect();
        !l.is_empty()
            && l[0].is_ascii_alphanumeric()
            && l[l.len() - 1].is_ascii_alphanumeric()
            && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == '-')
    })
}

fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {}
        _ => return false,
    }
    t.len() <= 128 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// `algorithm:hex`: the algorithm lowercase letters and digits joined by
/// `+ . _ -`; the hex at least 32 digits, exactly 64 for sha256.
fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else { return false };
    let alg_ok = !alg.is_empty()
        && alg.chars().all(|c| alnum_lower(c) || "+._-".contains(c))
        && alg.starts_with(alnum_lower)
        && alg.ends_with(alnum_lower);
    let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    alg_ok && hex_ok && (alg != "sha256" || hex.len() == 64)
}

/// Parses an image reference; the error is a short reason.
///
/// ```
/// use image_policy::parse;
/// let r = parse("nginx").unwrap();
/// assert_eq!((r.domain.as_str(), r.path.as_str(), r.tag, r.digest), ("docker.io", "library/nginx", None, None));
/// let r = parse("registry.local:5000/team/app:1.2").unwrap();
/// assert_eq!((r.domain.as_str(), r.tag.as_deref()), ("registry.local:5000", Some("1.2")));
/// ```
pub fn parse(image: &str) -> Result<Reference, &'static str> {
    if image.is_empty() {
        return Err("empty reference");
    }
    let (name_tag, digest) = match image.split_once('@') {
        Some((n, d)) => {
            if !valid_digest(d) {
                return Err("bad digest");
            }
            (n, Some(d.to_string()))
        }
        None => (image, None),
    };
    // A tag is after the last `:` that follows the last `/` (a port is not a tag).
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => {
            let t = &name_tag[last_slash + i + 1..];
            if !valid_tag(t) {
                return Err("bad tag");
            }
            (&name_tag[..last_slash + i], Some(t.to_string()))
        }
        None => (name_tag, None),
    };
    if name.len() > 255 {
        return Err("name longer than 255 characters");
    }
    let (mut domain, mut path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" || first.to_ascii_lowercase() != first => {
            if !valid_domain(first) {
                return Err("bad registry host");
            }
            (first.to_ascii_lowercase(), rest.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if !path.split('/').all(valid_component) {
        return Err("bad repository name");
    }
    if domain == "docker.io" && !path.contains('/') {
        path = format!("library/{path}");
    }
    Ok(Reference { domain, path, tag, digest })
}

/// An allow-list entry as compared: host lowercased, Docker Hub's legacy
/// name folded, no trailing `/`.
fn normalize_entry(entry: &str) -> String {
    let entry = entry.trim().trim_end_matches('/');
    let (host, rest) = match entry.split_once('/') {
        Some((h, r)) => (h.to_ascii_lowercase(), format!("/{r}")),
        None => (entry.to_ascii_lowercase(), String::new()),
    };
    let host = if host == "index.docker.io" { "docker.io".to_string() } else { host };
    format!("{host}{rest}")
}

/// The entry that allows `r`, if any: a registry, or a repository prefix
/// ending at a `/`.
pub fn allowed_by<'a>(r: &Reference, entries: &'a [String]) -> Option<&'a String> {
    let full = format!("{}/{}", r.domain, r.path);
    entries.iter().find(|e| {
        let e = normalize_entry(e);
        full == e || full.starts_with(&format!("{e}/"))
    })
}

/// The reason of an access error, worded as in every language's version.
fn reason(e: &AccessError) -> String {
    match e {
        AccessError::Denied(m) => format!("denied: {m}"),
        AccessError::NotFound(m) => format!("not found: {m}"),
        AccessError::Unavailable(m) => format!("unavailable: {m}"),
        AccessError::Invalid(m) => format!("invalid request: {m}"),
    }
}

/// Follows a dotted path (`spec.template.spec`) into a JSON value.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

impl Plugin for ImagePolicy {
    fn info() -> PluginInfo {
        let checks = vec![
            CheckInfoBuilder::new(ALLOWED, "Container images come from allowed registries")
                .description("Every container, init container and ephemeral container of Pods and of the pod templates of workloads pulls its image from a registry (or repository prefix) in allowed-registry.registries. An image without a registry is Docker Hub's (docker.io).")
                .remediation("Mirror the image into an allowed registry and reference it there, or add the registry to allowed-registry.registries.")
                .severity(Severity::High)
                .build(),
            CheckInfoBuilder::new(PINNED, "Container images are pinned by digest or by a tag other than latest")
                .description("An image without a tag is :latest; :latest and no tag both mean whatever was pushed last.")
                .remediation("Reference images by digest (name@sha256:...) or by a release tag.")
                .severity(Severity::Medium)
                .build(),
        ];
        let capabilities =
            KINDS.iter().map(|(v, k, _)| Capability::ClusterList(KindRef { api_version: (*v).into(), kind: (*k).into() })).collect();
        let settings = vec![setting(
            REGISTRIES,
            SettingKind::List,
            "registries or repository prefixes images may come from (ghcr.io, registry.local:5000, docker.io/library)",
        )];
        PluginInfo { name: "image-policy".into(), version: env!("CARGO_PKG_VERSION").into(), checks, capabilities, settings }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let allowed = settings.list(REGISTRIES).filter(|l| !l.is_empty());
        if allowed.is_none() {
            out.push(Finding::new(ALLOWED, Status::Error, format!("no allowed registries are set: give the setting {REGISTRIES}")));
        }
        let mut containers = 0usize;
        let mut list_failed = false;
        for (api_version, kind, spec_path) in KINDS {
            let objects = match host.list_objects(api_version, kind, None) {
                Ok(objects) => objects,
                Err(e) => {
                    list_failed = true;
                    let message = format!("cannot list {api_version}/{kind}: {}", reason(&e));
                    out.push(Finding::new(PINNED, Status::Error, message.clone()));
                    if allowed.is_some() {
                        out.push(Finding::new(ALLOWED, Status::Error, message));
                    }
                    continue;
                }
            };
            for object in objects {
                containers += judge_object(&object.ref_, &object.json, spec_path, allowed.as_deref(), out);
            }
        }
        if containers == 0 && !list_failed {
            out.push(Finding::new(PINNED, Status::NotApplicable, "no containers in the cluster"));
            if allowed.is_some() {
                out.push(Finding::new(ALLOWED, Status::NotApplicable, "no containers in the cluster"));
            }
        }
        Ok(())
    }
}

/// Judges every container of one object; returns how many it judged.
fn judge_object(r: &ObjectRef, json: &str, spec_path: &str, allowed: Option<&[String]>, out: &mut Findings) -> usize {
    let both = |out: &mut Findings, message: String| {
        out.push(Finding::new(PINNED, Status::Error, message.clone()).on_object(r.clone()));
        if allowed.is_some() {
            out.push(Finding::new(ALLOWED, Status::Error, message).on_object(r.clone()));
        }
    };
    let Ok(obj) = serde_json::from_str::<Value>(json) else {
        both(out, "the object is not valid JSON".into());
        return 1;
    };
    let spec = at(&obj, spec_path);
    if !spec.is_object() {
        both(out, format!("no pod spec at {spec_path}"));
        return 1;
    }
    let mut judged = 0;
    for list in LISTS {
        let field = format!("{spec_path}.{list}");
        let items = match &spec[*list] {
            Value::Null => continue,
            Value::Array(items) => items,
            _ => {
                both(out, format!("{field} is not a list"));
                judged += 1;
                continue;
            }
        };
        for (i, c) in items.iter().enumerate() {
            judged += 1;
            let field = format!("{field}[{i}]");
            if !c.is_object() {
                both(out, format!("{field} is not an object"));
                continue;
            }
            let name = c["name"].as_str().unwrap_or("<unnamed>");
            let image = match &c["image"] {
                Value::Null => None,
                Value::String(s) => Some(s.as_str()),
                _ => {
                    both(out, format!("container {name}: {field}.image is not a string"));
                    continue;
                }
            };
            let found = |status: Status, check: &str, message: String| {
                let f = Finding::new(check, status, format!("container {name}: {message}"))
                    .on_object(r.clone())
                    .with("container", name)
                    .with("field", field.as_str());
                match image {
                    Some(image) => f.with("image", image),
                    None => f,
                }
            };
            let Some(image) = image else {
                out.push(found(Status::Error, PINNED, "no image is set".into()));
                if allowed.is_some() {
                    out.push(found(Status::Error, ALLOWED, "no image is set".into()));
                }
                continue;
            };
            let reference = match parse(image) {
                Ok(reference) => reference,
                Err(why) => {
                    let message = format!("{image} is not a valid image reference ({why})");
                    out.push(found(Status::Error, PINNED, message.clone()));
                    if allowed.is_some() {
                        out.push(found(Status::Error, ALLOWED, message));
                    }
                    continue;
                }
            };
            let pinned = match (&reference.digest, reference.tag.as_deref()) {
                (Some(_), _) => found(Status::Pass, PINNED, format!("{image} is pinned by digest")),
                (None, Some("latest")) => found(Status::Fail, PINNED, format!("{image} uses the latest tag, which moves")),
                (None, Some(tag)) => found(Status::Pass, PINNED, format!("{image} is pinned to tag {tag}")),
                (None, None) => found(Status::Fail, PINNED, format!("{image} has no tag or digest, so it runs latest")),
            };
            out.push(pinned);
            if let Some(entries) = allowed {
                let registry = format!("{}/{}", reference.domain, reference.path);
                out.push(match allowed_by(&reference, entries) {
                    Some(entry) => found(Status::Pass, ALLOWED, format!("{image} ({registry}) is allowed by {entry}")),
                    None => found(Status::Fail, ALLOWED, format!("{image} ({registry}) is not from an allowed registry")),
                });
            }
        }
    }
    judged
}

rampart_sdk::export_plugin!(ImagePolicy);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;
    use serde_json::json;

    #[test]
    fn references_are_read_as_the_runtimes_read_them() {
        let r = |s: &str| parse(s).map(|r| (r.domain, r.path, r.tag, r.digest));
        let some = |s: &str| Some(s.to_string());
        assert_eq!(r("nginx"), Ok(("docker.io".into(), "library/nginx".into(), None, None)));
        assert_eq!(r("nginx:1.27"), Ok(("docker.io".into(), "library/nginx".into(), some("1.27"), None)));
        assert_eq!(r("bitnami/redis"), Ok(("docker.io".into(), "bitnami/redis".into(), None, None)));
        assert_eq!(r("index.docker.io/nginx"), Ok(("docker.io".into(), "library/nginx".into(), None, None)));
        assert_eq!(r("localhost/app"), Ok(("localhost".into(), "app".into(), None, None)));
        assert_eq!(r("localhost:5000/app:v1"), Ok(("localhost:5000".into(), "app".into(), some("v1"), None)));
        // A port is not a tag.
        assert_eq!(r("registry.local:5000/team/app"), Ok(("registry.local:5000".into(), "team/app".into(), None, None)));
        // Without a `/`, `host:5000` is an image `host` with tag `5000`.
        assert_eq!(r("host:5000"), Ok(("docker.io".into(), "library/host".into(), some("5000"), None)));
        // An uppercase first component is a registry host, and hosts compare lowercased.
        assert_eq!(r("Registry/app"), Ok(("registry".into(), "app".into(), None, None)));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(r(&format!("ghcr.io/o/app:latest@{d}")), Ok(("ghcr.io".into(), "o/app".into(), some("latest"), Some(d.clone()))));
        assert_eq!(r(&format!("[::1]:5000/app@{d}")), Ok(("[::1]:5000".into(), "app".into(), None, Some(d.clone()))));
        for (bad, why) in [
            ("", "empty reference"),
            ("nginx@sha256:abc", "bad digest"),
            (&format!("nginx@sha256:{}", "g".repeat(64)), "bad digest"),
            ("nginx:", "bad tag"),
            ("nginx:-x", "bad tag"),
            ("Nginx", "bad repository name"),
            ("ghcr.io/Org/app", "bad repository name"),
            ("a//b", "bad repository name"),
            ("app-", "bad repository name"),
            ("my_host.io:x/app", "bad registry host"),
            (" nginx", "bad repository name"),
        ] {
            assert_eq!(parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn entries_are_registries_or_repository_prefixes() {
        let e = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ok = |img: &str, l: &[&str]| allowed_by(&parse(img).unwrap(), &e(l)).is_some();
        assert!(ok("nginx", &["docker.io"]));
        assert!(ok("nginx", &["index.docker.io"]));
        assert!(ok("nginx", &["docker.io/library"]));
        assert!(!ok("bitnami/redis", &["docker.io/library"]));
        assert!(ok("GHCR.io/acme/app", &["ghcr.io/acme/"]));
        assert!(!ok("ghcr.io/acmeevil/app", &["ghcr.io/acme"]));
        assert!(!ok("registry.local:5000/app", &["registry.local"]));
        assert!(ok("registry.local:5000/app", &["registry.local:5000"]));
        assert!(!ok("registry.local/app", &["registry.local:5000"]));
    }

    fn pod(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec})
    }

    fn statuses(findings: &[Finding]) -> Vec<(String, Status, String)> {
        findings.iter().map(|f| (f.check.clone(), f.status, f.message.clone())).collect()
    }

    #[test]
    fn every_container_list_and_workload_kind_is_judged() {
        let host = FakeHost::new()
            .object("v1", "Pod", pod("p", json!({
                "containers": [{"name": "a", "image": "ghcr.io/acme/a:1.0"}],
                "initContainers": [{"name": "i", "image": "busybox"}],
                "ephemeralContainers": [{"name": "e", "image": "ghcr.io/acme/debug:latest"}],
            })))
            .object("batch/v1", "CronJob", json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ops"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "j", "image": "ghcr.io/acme/j@sha256:".to_string() + &"0".repeat(64)}]}}}}}}));
        let got = statuses(&host.run::<ImagePolicy>(&[(REGISTRIES, "ghcr.io/acme")]).unwrap());
        let want: Vec<(String, Status, String)> = [
            (PINNED, Status::Pass, "container a: ghcr.io/acme/a:1.0 is pinned to tag 1.0"),
            (ALLOWED, Status::Pass, "container a: ghcr.io/acme/a:1.0 (ghcr.io/acme/a) is allowed by ghcr.io/acme"),
            (PINNED, Status::Fail, "container i: busybox has no tag or digest, so it runs latest"),
            (ALLOWED, Status::Fail, "container i: busybox (docker.io/library/busybox) is not from an allowed registry"),
            (PINNED, Status::Fail, "container e: ghcr.io/acme/debug:latest uses the latest tag, which moves"),
            (ALLOWED, Status::Pass, "container e: ghcr.io/acme/debug:latest (ghcr.io/acme/debug) is allowed by ghcr.io/acme"),
        ]
        .iter()
        .map(|(c, s, m)| (c.to_string(), *s, m.to_string()))
        .collect();
        assert_eq!(&got[..6], &want[..]);
        assert_eq!(got[6].1, Status::Pass);
        assert!(got[6].2.contains("pinned by digest"));
        assert_eq!(got.len(), 8);
    }

    #[test]
    fn without_the_allow_list_the_registry_check_is_an_error_not_a_pass() {
        let host = FakeHost::new().object("v1", "Pod", pod("p", json!({"containers": [{"name": "a", "image": "nginx:1"}]})));
        let got = statuses(&host.run::<ImagePolicy>(&[]).unwrap());
        assert_eq!(got[0], (ALLOWED.into(), Status::Error, format!("no allowed registries are set: give the setting {REGISTRIES}")));
        assert_eq!(got.len(), 2);
        let got = statuses(&host.run::<ImagePolicy>(&[(REGISTRIES, " , ")]).unwrap());
        assert_eq!(got[0].1, Status::Error);
    }

    #[test]
    fn malformed_containers_and_denied_listings_are_errors() {
        let host = FakeHost::new()
            .object("v1", "Pod", pod("p", json!({"containers": [{"name": "a"}, {"name": "b", "image": 3}, "x"], "initContainers": {}})))
            .deny("apps/v1", "Deployment");
        let got = statuses(&host.run::<ImagePolicy>(&[(REGISTRIES, "docker.io")]).unwrap());
        assert!(got.iter().all(|(_, s, _)| *s == Status::Error), "{got:?}");
        let messages: Vec<&str> = got.iter().map(|(_, _, m)| m.as_str()).collect();
        assert!(messages.contains(&"container a: no image is set"));
        assert!(messages.contains(&"container b: spec.containers[1].image is not a string"));
        assert!(messages.contains(&"spec.containers[2] is not an object"));
        assert!(messages.contains(&"spec.initContainers is not a list"));
        assert!(messages.iter().any(|m| m.starts_with("cannot list apps/v1/Deployment: unavailable: ")), "{messages:?}");
        // No "no containers" pass-like verdict when a listing failed.
        assert!(!got.iter().any(|(_, s, _)| *s == Status::NotApplicable));
    }

    #[test]
    fn an_empty_cluster_is_not_applicable() {
        let got = statuses(&FakeHost::new().run::<ImagePolicy>(&[(REGISTRIES, "docker.io")]).unwrap());
        assert_eq!(got.iter().filter(|(_, s, _)| *s == Status::NotApplicable).count(), 2);
    }
}
