//! The manifests under deploy/: the commands their Jobs run work as
//! written (against the test API server and a demo node), their reports
//! merge into a fleet report, and the cluster Job's ClusterRole grants list
//! on exactly the kinds its plugins are granted.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use rampart_test_apiserver::{ADMIN_TOKEN, Faults, TestServer, fixture};
use serde_json::Value;
use support::*;

fn yaml_documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("deploy").join(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).expect("valid YAML")).collect()
}

/// The container args of a Job manifest, with `__NODE__` replaced.
fn job_args(file: &str, node: &str) -> Vec<String> {
    let job = &yaml_documents(file)[0];
    assert_eq!(job["kind"], "Job");
    job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().replace("__NODE__", node))
        .collect()
}

/// The plugins named after `--plugin` in some args.
fn plugins_of(args: &[String]) -> Vec<String> {
    let start = args.iter().position(|a| a == "--plugin").expect("--plugin") + 1;
    args[start..].iter().take_while(|a| !a.starts_with("--")).cloned().collect()
}

#[test]
fn the_jobs_commands_run_as_written_and_their_reports_merge() {
    let server = TestServer::start(&fixture(), Faults::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    std::fs::write(&config, server.kubeconfig(ADMIN_TOKEN)).unwrap();

    // The cluster Job, with the test server for its in-cluster identity.
    let args: Vec<String> = job_args("cluster-job.yaml", "")
        .into_iter()
        .flat_map(|a| if a == "--in-cluster" { vec!["--kubeconfig".into(), config.display().to_string()] } else { vec![a] })
        .collect();
    let cluster = run(rampart().args(&args));
    assert_eq!((cluster.code, cluster.stderr.as_str()), (0, ""), "--soft-fail and --quiet: exit 0, a clean stderr");
    assert!(cluster.json()["summary"]["fail"].as_u64().unwrap() > 0);

    // A node Job, with a demo node laid out where the Job mounts the node's root.
    let nodes = dir.path().join("nodes");
    std::fs::create_dir(&nodes).unwrap();
    node_from_demo("cp-1", &nodes);
    let args = job_args("node-job.yaml", "cp-1");
    let args: Vec<String> = args.into_iter().map(|a| a.replace("/nodes/", &format!("{}/", nodes.display()))).collect();
    let node = run(rampart().args(&args));
    assert_eq!((node.code, node.stderr.as_str()), (0, ""));
    assert_eq!(node.json()["targets"]["nodes"][0]["name"], "cp-1", "the node is named by the Job (--name __NODE__)");

    let (a, b) = (dir.path().join("rampart-cluster.json"), dir.path().join("rampart-node-cp-1.json"));
    std::fs::write(&a, &cluster.stdout).unwrap();
    std::fs::write(&b, &node.stdout).unwrap();
    let fleet = run(rampart().args(["merge", "--format", "json"]).arg(&a).arg(&b));
    assert_eq!(fleet.code, 1, "the fleet has failing controls; stderr: {}", fleet.stderr);
    let fleet = fleet.json();
    assert_eq!(fleet["targets"]["kubernetes_version"], "v1.36.2");
    let profile = &fleet["profiles"][0];
    assert!(profile["score"].as_f64().is_some(), "{profile}");
    let control = profile["controls"].as_array().unwrap().iter().find(|c| c["id"] == "1.2.15").unwrap();
    assert_eq!(control["status"], "fail", "profiling on cp-1's API server: {control}");
    let rbac = profile["controls"].as_array().unwrap().iter().find(|c| c["id"] == "5.1.1").unwrap();
    assert_eq!(rbac["status"], "warn", "the object checks came from the cluster Job: {rbac}");

    // Together the two Jobs run every plugin the profile needs.
    let mut all: Vec<String> =
        plugins_of(&job_args("cluster-job.yaml", "")).into_iter().chain(plugins_of(&job_args("node-job.yaml", "x"))).collect();
    all.sort();
    let mut registry: Vec<String> = xtask::PLUGINS.iter().map(|p| p.replace('_', "-")).collect();
    registry.sort();
    assert_eq!(all, registry);
}

#[test]
fn the_cluster_role_grants_list_on_exactly_the_kinds_the_cluster_plugins_list() {
    // Kind -> (group, resource) from the recorded discovery documents.
    let mut plural = std::collections::HashMap::new();
    for line in std::fs::read_to_string(fixture()).unwrap().lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["body"]["kind"] != "APIResourceList" {
            continue;
        }
        let gv = e["body"]["groupVersion"].as_str().unwrap();
        for r in e["body"]["resources"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            if !name.contains('/') {
                let group = gv.rsplit_once('/').map_or("", |(g, _)| g);
                plural.insert(format!("{gv}/{}", r["kind"].as_str().unwrap()), (group.to_string(), name.to_string()));
            }
        }
    }
    let registry: Value = toml::from_str(&std::fs::read_to_string(root().join("registry.toml")).unwrap()).unwrap();
    let plugins = plugins_of(&job_args("cluster-job.yaml", ""));
    let mut needed = BTreeSet::new();
    for p in registry["plugin"].as_array().unwrap().iter().filter(|p| plugins.contains(&p["name"].as_str().unwrap().to_string())) {
        for g in p["grants"].as_array().unwrap().iter().filter_map(|g| g.as_str()?.strip_prefix("cluster.list:")) {
            needed.insert(plural.get(g).unwrap_or_else(|| panic!("{g} is not served by the recorded server")).clone());
        }
    }
    let mut granted = BTreeSet::new();
    let role = yaml_documents("rbac.yaml").into_iter().find(|d| d["kind"] == "ClusterRole").unwrap();
    for rule in role["rules"].as_array().unwrap() {
        assert_eq!(rule["verbs"], serde_json::json!(["list"]), "list only: {rule}");
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                granted.insert((group.as_str().unwrap().to_string(), resource.as_str().unwrap().to_string()));
            }
        }
    }
    assert_eq!(granted, needed);

    let node_sa = yaml_documents("rbac.yaml").into_iter().find(|d| d["metadata"]["name"] == "rampart-node").unwrap();
    assert_eq!(node_sa["automountServiceAccountToken"], false, "node Jobs get no API token");
    assert!(Path::new(&root().join("deploy/fleet.sh")).is_file());
}
