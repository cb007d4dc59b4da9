//! cluster-inventory: what runs in the cluster, across every workload
//! object: whether the Kubernetes dashboard is deployed, and whether an
//! image repository runs in more than one version (an old version left
//! behind after an upgrade). Both are DISA STIG rules (V-242395, V-242442).

use std::collections::{BTreeMap, BTreeSet};

use rampart_sdk::workload::{WORKLOAD_KINDS, pod_spec};
use rampart_sdk::{
    Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, PAGE_SIZE, Plugin, PluginInfo, Settings, Severity, Status,
};
use serde_json::Value;

pub struct ClusterInventory;

const DASHBOARD: &str = "kubernetes-dashboard";
const VERSIONS: &str = "image-versions";
const NODES: &str = "node-versions";
const CREDENTIALS: &str = "plaintext-credentials";

pub mod credentials;

/// Literal credentials in a pod spec: env values (a value from a Secret or
/// ConfigMap reference is not in clear), and command or args words: a
/// `--flag=value`, or any word holding a key or token; each as its field
/// path with the name, and why.
fn clear_credentials(spec: &rampart_sdk::workload::PodSpec<'_>) -> Vec<(String, &'static str)> {
    let mut clear = Vec::new();
    for c in spec.containers() {
        for (i, e) in c.spec["env"].as_array().into_iter().flatten().enumerate() {
            let name = e["name"].as_str().unwrap_or("");
            if let Some(why) = e["value"].as_str().and_then(|value| credentials::why(name, value)) {
                clear.push((format!("{}.env[{i}] ({name})", c.path), why));
            }
        }
        for field in ["command", "args"] {
            let words: Vec<&str> = c.spec[field].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            for (i, word) in words.iter().enumerate() {
                // `--name=value` is judged by name and content. Any other
                // word only by its content (a PEM key, `Bearer ...`): in
                // `--name value` the next word may be a positional argument
                // (`--password-stdin registry`), so a name is no evidence.
                let flag = word.strip_prefix("--").or_else(|| word.strip_prefix('-')).and_then(|f| f.split_once('='));
                let (shown, why) = match flag {
                    Some((name, value)) => (word.split_once('=').map_or(*word, |(n, _)| n), credentials::why_flag(name, value)),
                    None => ("", credentials::why("", word)),
                };
                if let Some(why) = why {
                    let shown = if shown.is_empty() { String::new() } else { format!(" ({shown})") };
                    clear.push((format!("{}.{field}[{i}]{shown}", c.path), why));
                }
            }
        }
    }
    clear
}

impl Plugin for ClusterInventory {
    fn info() -> PluginInfo {
        let checks = vec![
            CheckInfoBuilder::new(DASHBOARD, "The Kubernetes dashboard is not deployed")
                .severity(Severity::Medium)
                .remediation(
                    "Delete the dashboard's workloads, Services and RBAC bindings; use kubectl or a vetted console behind SSO instead.",
                )
                .tag("stig-V-242395")
                .build(),
            CheckInfoBuilder::new(VERSIONS, "Each image repository runs in one version only")
                .severity(Severity::Medium)
                .remediation("Finish the rollout: move every workload to the one approved version and delete what still runs an older one.")
                .tag("stig-V-242442")
                .build(),
            CheckInfoBuilder::new(CREDENTIALS, "No credential is written in clear in a pod spec or a ConfigMap")
                .severity(Severity::High)
                .remediation(
                    "Move passwords, tokens and keys into Secrets (encrypted at rest) or an external secret store, and reference them.",
                )
                .tag("stig-V-274883")
                .build(),
            CheckInfoBuilder::new(NODES, "Every node runs the same kubelet and container runtime versions")
                .severity(Severity::Medium)
                .remediation("Upgrade (or drain and replace) the nodes still on an older kubelet or container runtime.")
                .tag("stig-V-242442")
                .build(),
        ];
        let mut capabilities: Vec<Capability> = WORKLOAD_KINDS
            .iter()
            .map(|(v, k)| Capability::ClusterList(KindRef { api_version: v.to_string(), kind: k.to_string() }))
            .collect();
        capabilities.push(Capability::ClusterList(KindRef { api_version: "v1".into(), kind: "Node".into() }));
        capabilities.push(Capability::ClusterList(KindRef { api_version: "v1".into(), kind: "ConfigMap".into() }));
        PluginInfo {
            name: "cluster-inventory".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            checks,
            capabilities,
            settings: Vec::new(),
        }
    }

    fn evaluate(host: &dyn Host, _settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let mut errors = Vec::new();
        let mut dashboards = 0;
        let mut credentials = 0;
        // repository → version → the objects running it.
        let mut versions: BTreeMap<String, BTreeMap<String, Vec<ObjectRef>>> = BTreeMap::new();
        for (api_version, kind) in WORKLOAD_KINDS {
            // A page of objects at a time, as pod-security reads them.
            let listed = host.for_each_page(api_version, kind, None, PAGE_SIZE, &mut |objects| {
                for obj in objects {
                    let json = match rampart_sdk::workload::parse(&obj.json) {
                        Ok(v) => v,
                        Err(e) => {
                            errors.push(format!("{kind} {}: not valid JSON: {e}", obj.ref_.name));
                            continue;
                        }
                    };
                    let Some(spec) = pod_spec(&json, kind) else { continue };
                    let images: Vec<&str> = spec.containers().iter().filter_map(|c| c.spec["image"].as_str()).collect();
                    let clear = clear_credentials(&spec);
                    if !clear.is_empty() {
                        credentials += 1;
                        let fields: Vec<&str> = clear.iter().map(|(f, _)| f.as_str()).collect();
                        let message = format!("{kind} {} sets credential-like values in clear: {}", obj.ref_.name, fields.join(", "));
                        let mut f = Finding::new(CREDENTIALS, Status::Fail, message).on_object(obj.ref_.clone());
                        for (field, why) in clear {
                            f = f.with(field, why);
                        }
                        out.push(f);
                    }
                    if let Some(why) = dashboard(&json, kind, &images) {
                        dashboards += 1;
                        out.push(
                            Finding::new(DASHBOARD, Status::Fail, format!("{kind} {} is the Kubernetes dashboard: {why}", obj.ref_.name))
                                .on_object(obj.ref_.clone()),
                        );
                    }
                    // Each object once per image it runs, however many of its
                    // containers run it (a set per object: a search of every
                    // user of an image would be quadratic in a large cluster).
                    let mut runs = BTreeSet::new();
                    for image in images {
                        let (repository, version) = reference(image);
                        if runs.insert((repository.clone(), version.clone())) {
                            versions.entry(repository).or_default().entry(version).or_default().push(obj.ref_.clone());
                        }
                    }
                }
            });
            if let Err(e) = listed {
                errors.push(format!("cannot list {api_version}/{kind}: {}", e.reason()));
            }
        }
        for e in &errors {
            out.push(Finding::new(DASHBOARD, Status::Error, e.clone()));
            out.push(Finding::new(VERSIONS, Status::Error, e.clone()));
        }
        if errors.is_empty() && dashboards == 0 {
            out.push(Finding::new(DASHBOARD, Status::Pass, "no workload runs the dashboard"));
        }
        // Every object that runs a repository seen in several versions fails,
        // naming the versions the rest of the cluster runs.
        let mut mixed = 0;
        for (repository, by_version) in &versions {
            if by_version.len() < 2 {
                continue;
            }
            mixed += 1;
            let all: Vec<&str> = by_version.keys().map(String::as_str).collect();
            for (version, users) in by_version {
                let others: Vec<&str> = all.iter().copied().filter(|v| v != version).collect();
                for r in users {
                    let message =
                        format!("{} {} runs {repository} at {version}; the cluster also runs {}", r.kind, qualified(r), others.join(", "));
                    out.push(
                        Finding::new(VERSIONS, Status::Fail, message)
                            .on_object(r.clone())
                            .with("repository", repository.clone())
                            .with("version", version.clone())
                            .with("other versions", others.join(", ")),
                    );
                }
            }
        }
        if errors.is_empty() && mixed == 0 {
            let message = if versions.is_empty() {
                "no workload runs any image".to_string()
            } else {
                format!("each of {} image repositories runs in one version", versions.len())
            };
            out.push(Finding::new(VERSIONS, if versions.is_empty() { Status::NotApplicable } else { Status::Pass }, message));
        }
        match host.list_objects("v1", "ConfigMap", None) {
            Err(e) => errors.push(format!("cannot list v1/ConfigMap: {}", e.reason())),
            Ok(maps) => {
                for m in maps {
                    let v = match serde_json::from_str::<Value>(&m.json) {
                        Ok(v) => v,
                        Err(e) => {
                            errors.push(format!("ConfigMap {}: not valid JSON: {e}", qualified(&m.ref_)));
                            continue;
                        }
                    };
                    let entries =
                        |field: &str| v[field].as_object().into_iter().flatten().filter_map(|(k, val)| Some((k.as_str(), val.as_str()?)));
                    let mut keys: Vec<(&str, &str)> =
                        entries("data").filter_map(|(k, val)| credentials::why(k, val).map(|why| (k, why))).collect();
                    keys.extend(entries("binaryData").filter_map(|(k, val)| credentials::why_binary(k, val).map(|why| (k, why))));
                    if !keys.is_empty() {
                        credentials += 1;
                        let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
                        let message = format!("ConfigMap {} holds credential-like keys in clear: {}", qualified(&m.ref_), names.join(", "));
                        let mut f = Finding::new(CREDENTIALS, Status::Fail, message).on_object(m.ref_.clone());
                        for (k, why) in keys {
                            f = f.with(k, why);
                        }
                        out.push(f);
                    }
                }
            }
        }
        // Every list that failed (workloads or ConfigMaps) may hide a credential.
        for e in &errors {
            out.push(Finding::new(CREDENTIALS, Status::Error, e.clone()));
        }
        if errors.is_empty() && credentials == 0 {
            out.push(Finding::new(
                CREDENTIALS,
                Status::Pass,
                "no credential-like environment variable or ConfigMap key holds a value in clear",
            ));
        }
        node_versions(host, out);
        Ok(())
    }
}

/// Nodes left on an older kubelet or container runtime after an upgrade:
/// each node whose version is not the newest the cluster runs fails.
fn node_versions(host: &dyn Host, out: &mut Findings) {
    let nodes = match host.list_objects("v1", "Node", None) {
        Ok(n) => n,
        Err(e) => return out.push(Finding::new(NODES, Status::Error, format!("cannot list v1/Node: {}", e.reason()))),
    };
    let mut info = Vec::new();
    for n in nodes {
        let Ok(v) = serde_json::from_str::<Value>(&n.json) else {
            out.push(Finding::new(NODES, Status::Error, format!("Node {}: not valid JSON", n.ref_.name)).on_object(n.ref_));
            continue;
        };
        let field = |k: &str| v["status"]["nodeInfo"][k].as_str().unwrap_or("").to_string();
        info.push((n.ref_, field("kubeletVersion"), field("containerRuntimeVersion")));
    }
    if info.is_empty() {
        return out.push(Finding::new(NODES, Status::NotApplicable, "the scan has no Node objects"));
    }
    // The newest of each, by version numbers (v1.36.2 > v1.34.3; containerd://2.1.5 > containerd://1.7.28).
    let numbers = |s: &str| -> Vec<u64> { s.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok()).collect() };
    let newest =
        |pick: fn(&(ObjectRef, String, String)) -> &String| info.iter().map(pick).max_by_key(|v| numbers(v)).cloned().unwrap_or_default();
    let (kubelet, runtime) = (newest(|i| &i.1), newest(|i| &i.2));
    for (node, k, r) in &info {
        let mut behind = Vec::new();
        if numbers(k) < numbers(&kubelet) {
            behind.push(format!("kubelet {k} (newest {kubelet})"));
        }
        if r.split("://").next() == runtime.split("://").next() && numbers(r) < numbers(&runtime) {
            behind.push(format!("container runtime {r} (newest {runtime})"));
        }
        let f = if behind.is_empty() {
            Finding::new(NODES, Status::Pass, format!("Node {} runs kubelet {k} and {r}, the newest in the cluster", node.name))
        } else {
            Finding::new(NODES, Status::Fail, format!("Node {} is behind: {}", node.name, behind.join(", ")))
        };
        out.push(f.on_object(node.clone()).with("kubelet", k.clone()).with("container runtime", r.clone()));
    }
}

fn qualified(r: &ObjectRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{ns}/{}", r.name),
        None => r.name.clone(),
    }
}

/// Why an object is the dashboard: its `k8s-app` label, on the object or its
/// pod template, or a dashboard image.
fn dashboard(obj: &Value, kind: &str, images: &[&str]) -> Option<String> {
    let template = match kind {
        "Pod" => &obj["metadata"],
        "CronJob" => &obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"],
        _ => &obj["spec"]["template"]["metadata"],
    };
    for labels in [&obj["metadata"]["labels"], &template["labels"]] {
        if labels["k8s-app"].as_str() == Some(DASHBOARD) || labels["app.kubernetes.io/name"].as_str() == Some(DASHBOARD) {
            return Some(format!("labelled {DASHBOARD}"));
        }
    }
    images.iter().find(|i| reference(i).0.starts_with("docker.io/kubernetesui/dashboard")).map(|i| format!("image {i}"))
}

/// An image reference split into its repository, as a registry resolves it
/// (`nginx` is `docker.io/library/nginx`), and its version: the digest when
/// pinned, else the tag (`latest` when none).
///
/// ```
/// use cluster_inventory::reference;
/// assert_eq!(reference("busybox"), ("docker.io/library/busybox".to_string(), "latest".to_string()));
/// assert_eq!(reference("docker.io/library/busybox:1.37.0").0, "docker.io/library/busybox");
/// assert_eq!(reference("localhost:5000/app:2").0, "localhost:5000/app");
/// assert_eq!(reference("quay.io/p/n@sha256:ab").1, "sha256:ab");
/// assert_eq!(reference("quay.io/p/n:v1@sha256:ab").1, "sha256:ab");
/// ```
pub fn reference(image: &str) -> (String, String) {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    // A tag follows the last ':' after the last '/' (a registry port comes before).
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    };
    let first = name.split('/').next().unwrap_or("");
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let repository = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let version = digest.or(tag).unwrap_or("latest").to_string();
    (repository, version)
}

rampart_sdk::export_plugin!(ClusterInventory);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;
    use serde_json::json;

    fn pod(name: &str, image: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "shop"}, "spec": {"containers": [{"name": "c", "image": image}]}})
    }

    fn run(host: &FakeHost, check: &str) -> Vec<Finding> {
        host.run::<ClusterInventory>(&[]).unwrap().into_iter().filter(|f| f.check == check).collect()
    }

    #[test]
    fn one_version_per_repository_passes_and_a_second_fails() {
        let host = FakeHost::new()
            .object("v1", "Pod", pod("a", "nginx:1.27.3"))
            .object("v1", "Pod", pod("b", "docker.io/library/nginx:1.27.3"))
            .object("v1", "Pod", pod("c", "registry.example.com/nginx:1.25"));
        let f = run(&host, VERSIONS);
        assert_eq!((f.len(), f[0].status), (1, Status::Pass), "{f:?}");
        let mixed = host.object(
            "apps/v1",
            "Deployment",
            json!({"metadata": {"name": "old", "namespace": "shop"}, "spec": {"template": {"spec": {"initContainers": [{"name": "i", "image": "nginx"}]}}}}),
        );
        let f = run(&mixed, VERSIONS);
        let got: Vec<(String, Status)> = f.iter().map(|f| (f.object.as_ref().unwrap().name.clone(), f.status)).collect();
        assert_eq!(got, [("a".into(), Status::Fail), ("b".into(), Status::Fail), ("old".into(), Status::Fail)], "{f:?}");
        assert_eq!(f[2].message, "Deployment shop/old runs docker.io/library/nginx at latest; the cluster also runs 1.27.3");
    }

    #[test]
    fn the_dashboard_is_found_by_label_or_image() {
        assert_eq!(run(&FakeHost::new().object("v1", "Pod", pod("a", "nginx")), DASHBOARD)[0].status, Status::Pass);
        let by_image = FakeHost::new().object("v1", "Pod", pod("ui", "kubernetesui/dashboard:v2.7.0"));
        assert_eq!(run(&by_image, DASHBOARD)[0].status, Status::Fail);
        let labelled = json!({"metadata": {"name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"},
            "spec": {"template": {"metadata": {"labels": {"k8s-app": "kubernetes-dashboard"}}, "spec": {"containers": [{"name": "c", "image": "mirror.example.com/ui:7"}]}}}});
        let f = run(&FakeHost::new().object("apps/v1", "Deployment", labelled), DASHBOARD);
        assert_eq!(f[0].status, Status::Fail);
        assert!(f[0].message.contains("labelled kubernetes-dashboard"), "{}", f[0].message);
    }

    #[test]
    fn credentials_in_clear_are_found_in_env_values_and_config_maps() {
        let mut web = pod("web", "nginx");
        web["spec"]["containers"][0]["env"] = json!([
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}}
        ]);
        let cm = json!({"metadata": {"name": "legacy-app-config", "namespace": "default"},
            "data": {"DB_HOST": "db", "DB_PASSWORD": "fake", "awsSecretAccessKey": "x", "EMPTY_TOKEN": ""}});
        let host = FakeHost::new().object("v1", "Pod", web).object("v1", "ConfigMap", cm);
        let f = run(&host, CREDENTIALS);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(
            f[0].message.ends_with("spec.containers[0].env[1] (DB_PASSWORD)"),
            "a value from a Secret is not in clear: {}",
            f[0].message
        );
        assert!(f[1].message.ends_with("DB_PASSWORD, awsSecretAccessKey"), "{}", f[1].message);
        assert!(!f[1].message.contains("fake"), "values never go into findings");
        assert_eq!(run(&FakeHost::new().object("v1", "Pod", pod("a", "nginx")), CREDENTIALS)[0].status, Status::Pass);
        assert_eq!(run(&FakeHost::new().deny("v1", "ConfigMap"), CREDENTIALS)[0].status, Status::Error);
    }

    #[test]
    fn only_literal_credentials_count_and_paths_do_not() {
        let mut app = pod("app", "nginx");
        app["spec"]["containers"][0]["env"] = json!([
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
            {"name": "DB_PASSWORD_PATH", "value": "/etc/db/password"},
            {"name": "API_TOKEN", "value": "$(TOKEN_FROM_SECRET)"}
        ]);
        app["spec"]["containers"][0]["envFrom"] = json!([{"secretRef": {"name": "creds"}}]);
        app["spec"]["containers"][0]["args"] =
            json!(["--token-auth-file=/etc/kubernetes/tokens.csv", "--use-service-account-credentials=true"]);
        let f = run(&FakeHost::new().object("v1", "Pod", app), CREDENTIALS);
        assert_eq!(f.iter().map(|f| f.status).collect::<Vec<_>>(), [Status::Pass], "{f:?}");
    }

    #[test]
    fn keys_tokens_and_encoded_credentials_are_found_under_any_name() {
        let key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
        let mut app = pod("app", "nginx");
        app["spec"]["initContainers"] = json!([{"name": "fetch", "image": "curl", "env": [
            {"name": "AUTH_HEADER", "value": "authorization: BEARER eyJhbGciOiJSUzI1NiJ9.e30"},
            {"name": "SETTINGS", "value": "REJfUEFTU1dPUkQ9aHVudGVyMgo="}
        ], "args": ["--db-password=hunter2", "-H", "Authorization: Bearer 0123456789abcdef"]}]);
        let cm = json!({"metadata": {"name": "tls", "namespace": "shop"}, "data": {"server.pem": key, "url": "postgres://app:pw@db/shop"}});
        let host = FakeHost::new().object("v1", "Pod", app).object("v1", "ConfigMap", cm);
        let f = run(&host, CREDENTIALS);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].evidence,
            [
                ("spec.initContainers[0].env[0] (AUTH_HEADER)".to_string(), "bearer token".to_string()),
                ("spec.initContainers[0].env[1] (SETTINGS)".to_string(), "base64 of a credential".to_string()),
                ("spec.initContainers[0].args[0] (--db-password)".to_string(), "credential-like name".to_string()),
                ("spec.initContainers[0].args[2]".to_string(), "bearer token".to_string()),
            ]
        );
        assert_eq!(
            f[1].evidence,
            [("server.pem".to_string(), "PEM private key".to_string()), ("url".to_string(), "password in a URL".to_string())]
        );
        let all = format!("{f:?}");
        for secret in ["hunter2", "eyJhbG", "MHcCAQEE", "0123456789abcdef", ":pw@"] {
            assert!(!all.contains(secret), "values never go into findings: {secret}");
        }
    }

    #[test]
    fn nodes_behind_the_newest_kubelet_or_runtime_fail() {
        let node = |name: &str, kubelet: &str, runtime: &str| json!({"metadata": {"name": name}, "status": {"nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": runtime}}});
        let host = FakeHost::new()
            .object("v1", "Node", node("cp-1", "v1.36.2", "containerd://2.1.5"))
            .object("v1", "Node", node("worker-1", "v1.36.10", "containerd://2.1.5"))
            .object("v1", "Node", node("worker-2", "v1.34.3", "containerd://1.7.28"));
        let f = run(&host, NODES);
        let got: Vec<(&str, Status)> = f.iter().map(|f| (f.object.as_ref().unwrap().name.as_str(), f.status)).collect();
        assert_eq!(got, [("cp-1", Status::Fail), ("worker-1", Status::Pass), ("worker-2", Status::Fail)], "v1.36.10 is newer than v1.36.2");
        assert!(f[2].message.contains("kubelet v1.34.3 (newest v1.36.10), container runtime containerd://1.7.28"), "{}", f[2].message);
        assert_eq!(run(&FakeHost::new(), NODES)[0].status, Status::NotApplicable);
        assert_eq!(run(&FakeHost::new().deny("v1", "Node"), NODES)[0].status, Status::Error);
    }

    #[test]
    fn a_listing_that_fails_part_way_is_an_error_never_a_pass() {
        let mut host = FakeHost::new();
        for i in 0..(PAGE_SIZE as usize + 10) {
            host = host.object("v1", "Pod", pod(&format!("p{i}"), "nginx:1.27"));
        }
        let host = host.fail_listing_after("v1", "Pod", PAGE_SIZE as usize);
        for check in [DASHBOARD, VERSIONS] {
            let f = run(&host, check);
            assert!(f.iter().any(|f| f.status == Status::Error) && f.iter().all(|f| f.status != Status::Pass), "{check}: {f:?}");
        }
    }

    #[test]
    fn a_workload_damaged_where_no_check_reads_is_an_error_never_a_pass() {
        let good = pod("a", "nginx").to_string();
        let damaged = format!("{}, \"status\": [1, }}", &good[..good.len() - 1]);
        let at = ObjectRef { api_version: "v1".into(), kind: "Pod".into(), namespace: Some("default".into()), name: "a".into() };
        let host = FakeHost::new().object_text(at, &damaged);
        for check in [DASHBOARD, VERSIONS, CREDENTIALS] {
            let f = run(&host, check);
            assert!(f.iter().any(|f| f.status == Status::Error) && f.iter().all(|f| f.status != Status::Pass), "{check}: {f:?}");
        }
    }

    #[test]
    fn a_kind_that_cannot_be_listed_is_an_error_never_a_pass() {
        let host = FakeHost::new().object("v1", "Pod", pod("a", "nginx")).deny("apps/v1", "Deployment");
        for check in [DASHBOARD, VERSIONS] {
            let f = run(&host, check);
            assert!(f.iter().any(|f| f.status == Status::Error) && f.iter().all(|f| f.status != Status::Pass), "{check}: {f:?}");
        }
    }
}
