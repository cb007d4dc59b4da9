//! cluster-inventory: what runs in the cluster, across every workload
//! object: whether the Kubernetes dashboard is deployed, and whether an
//! image repository runs in more than one version (an old version left
//! behind after an upgrade). Both are DISA STIG rules (V-242395, V-242442).

use std::collections::BTreeMap;

use rampart_sdk::workload::{WORKLOAD_KINDS, pod_spec};
use rampart_sdk::{
    Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, Plugin, PluginInfo, Settings, Severity, Status,
};
use serde_json::Value;

pub struct ClusterInventory;

const DASHBOARD: &str = "kubernetes-dashboard";
const VERSIONS: &str = "image-versions";
const NODES: &str = "node-versions";
const CREDENTIALS: &str = "plaintext-credentials";

/// Parts of a key or variable name that say it holds a credential.
const CREDENTIAL_WORDS: &[&str] =
    &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "API_KEY", "PRIVATE_KEY", "CREDENTIAL", "ACCESS_KEY"];

/// Whether a key or variable name looks like it holds a credential
/// (`DB_PASSWORD`, `apiToken`, `aws_secret_access_key`).
fn credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    CREDENTIAL_WORDS.iter().any(|w| upper.contains(w) || upper.replace('_', "").contains(&w.replace('_', "")))
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
        PluginInfo { name: "cluster-inventory".into(), version: env!("CARGO_PKG_VERSION").into(), checks, capabilities }
    }

    fn evaluate(host: &dyn Host, _settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let mut errors = Vec::new();
        let mut dashboards = 0;
        let mut credentials = 0;
        // repository → version → the objects running it.
        let mut versions: BTreeMap<String, BTreeMap<String, Vec<ObjectRef>>> = BTreeMap::new();
        for (api_version, kind) in WORKLOAD_KINDS {
            let objects = match host.list_objects(api_version, kind, None) {
                Ok(o) => o,
                Err(e) => {
                    errors.push(format!("cannot list {api_version}/{kind}: {}", e.reason()));
                    continue;
                }
            };
            for obj in objects {
                let json: Value = match serde_json::from_str(&obj.json) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!("{kind} {}: not valid JSON: {e}", obj.ref_.name));
                        continue;
                    }
                };
                let Some(spec) = pod_spec(&json, kind) else { continue };
                let images: Vec<&str> = spec.containers().iter().filter_map(|c| c.spec["image"].as_str()).collect();
                let mut clear = Vec::new();
                for c in spec.containers() {
                    for (i, e) in c.spec["env"].as_array().into_iter().flatten().enumerate() {
                        let (name, value) = (e["name"].as_str().unwrap_or(""), e["value"].as_str().unwrap_or(""));
                        if credential_name(name) && !value.is_empty() {
                            clear.push(format!("{}.env[{i}] ({name})", c.path));
                        }
                    }
                }
                if !clear.is_empty() {
                    credentials += 1;
                    let message = format!("{kind} {} sets credential-like variables in clear: {}", obj.ref_.name, clear.join(", "));
                    out.push(Finding::new(CREDENTIALS, Status::Fail, message).on_object(obj.ref_.clone()));
                }
                if let Some(why) = dashboard(&json, kind, &images) {
                    dashboards += 1;
                    out.push(
                        Finding::new(DASHBOARD, Status::Fail, format!("{kind} {} is the Kubernetes dashboard: {why}", obj.ref_.name))
                            .on_object(obj.ref_.clone()),
                    );
                }
                for image in images {
                    let (repository, version) = reference(image);
                    let users = versions.entry(repository).or_default().entry(version).or_default();
                    if !users.contains(&obj.ref_) {
                        users.push(obj.ref_.clone());
                    }
                }
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
                    let Ok(v) = serde_json::from_str::<Value>(&m.json) else { continue };
                    let keys: Vec<&str> = v["data"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, val)| credential_name(k) && val.as_str().is_some_and(|s| !s.is_empty()))
                        .map(|(k, _)| k.as_str())
                        .collect();
                    if !keys.is_empty() {
                        credentials += 1;
                        let message = format!("ConfigMap {} holds credential-like keys in clear: {}", qualified(&m.ref_), keys.join(", "));
                        out.push(Finding::new(CREDENTIALS, Status::Fail, message).on_object(m.ref_.clone()));
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
    fn a_kind_that_cannot_be_listed_is_an_error_never_a_pass() {
        let host = FakeHost::new().object("v1", "Pod", pod("a", "nginx")).deny("apps/v1", "Deployment");
        for check in [DASHBOARD, VERSIONS] {
            let f = run(&host, check);
            assert!(f.iter().any(|f| f.status == Status::Error) && f.iter().all(|f| f.status != Status::Pass), "{check}: {f:?}");
        }
    }
}
