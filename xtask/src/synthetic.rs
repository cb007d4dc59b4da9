//! A synthetic cluster for benchmarks: N namespaces, M pods spread across
//! them with varied security settings, written as a cluster snapshot.

use serde_json::{Value, json};

/// The pod of index `i`: every fifth privileged, every seventh on the host
/// network, every third with a hardened security context, and so on, so
/// every pod-security check sees both verdicts.
fn pod(i: usize, namespaces: usize) -> Value {
    let ns = format!("team-{:04}", i % namespaces);
    let hardened = i.is_multiple_of(3);
    let mut container = json!({
        "name": "app",
        "image": format!("registry.example/app-{}:1.{}", i % 50, i % 7),
        "ports": [{"containerPort": 8080}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
        "env": [{"name": "MODE", "value": "prod"}],
    });
    if hardened {
        container["securityContext"] =
            json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true});
    } else if i.is_multiple_of(5) {
        container["securityContext"] = json!({"privileged": true});
    } else if i.is_multiple_of(11) {
        container["securityContext"] = json!({"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}});
    }
    if i.is_multiple_of(13) {
        container["env"]
            .as_array_mut()
            .expect("env")
            .push(json!({"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}));
    }
    let mut spec = json!({
        "serviceAccountName": "default",
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    });
    if hardened {
        spec["securityContext"] = json!({"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}});
        spec["automountServiceAccountToken"] = json!(false);
    }
    if i.is_multiple_of(7) {
        spec["hostNetwork"] = json!(true);
    }
    if i.is_multiple_of(17) {
        spec["volumes"].as_array_mut().expect("volumes").push(json!({"name": "logs", "hostPath": {"path": "/var/log"}}));
    }
    // What a real API server returns around the spec: kubectl's
    // last-applied copy and a filled-in status (~3 KB a pod in all).
    let last_applied =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("app-{i:05}"), "namespace": ns}, "spec": spec}).to_string();
    let conditions: Vec<Value> = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-26T14:00:00Z"}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": format!("app-{i:05}"), "namespace": ns, "uid": format!("00000000-0000-4000-8000-{i:012}"),
            "resourceVersion": format!("{}", 1000 + i), "creationTimestamp": "2026-11-26T14:00:00Z",
            "labels": {"app": format!("app-{}", i % 50), "team": format!("team-{:04}", i % namespaces), "pod-template-hash": "5d8f7c6b9"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "spec": spec,
        "status": {"phase": "Running", "conditions": conditions, "hostIP": "10.0.0.11", "podIP": format!("10.244.{}.{}", i / 250, i % 250), "qosClass": "Burstable",
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": format!("registry.example/app-{}:1.{}", i % 50, i % 7),
                "imageID": format!("registry.example/app@sha256:{:064x}", i), "containerID": format!("containerd://{:064x}", i * 7919),
                "started": true, "state": {"running": {"startedAt": "2026-11-26T14:00:05Z"}}}]},
    })
}

/// A cluster snapshot (the format `rampart scan --snapshot` reads).
pub fn cluster_snapshot(pods: usize, namespaces: usize) -> Value {
    let mut objects = Vec::with_capacity(pods + namespaces * 2);
    for n in 0..namespaces {
        let name = format!("team-{n:04}");
        objects.push(json!({"source": "synthetic", "object": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": if n % 2 == 0 { "baseline" } else { "privileged" }}}}}));
        objects.push(json!({"source": "synthetic", "object": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}}));
    }
    for i in 0..pods {
        objects.push(json!({"source": "synthetic", "object": pod(i, namespaces)}));
    }
    json!({"kind": "rampart.cluster-snapshot", "version": 1, "sources": ["synthetic"], "objects": objects})
}
