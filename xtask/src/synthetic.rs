//! A synthetic cluster for benchmarks: N namespaces, M pods spread across
//! them with varied security settings, and, in proportion to the pods, the
//! RBAC, workloads, ConfigMaps and NetworkPolicies a cluster of that size
//! has (per 10,000 pods: 2,000 Roles and RoleBindings, 500 ClusterRoles and
//! ClusterRoleBindings, 2,000 Deployments, 1,000 ConfigMaps, 500
//! NetworkPolicies), written as a cluster snapshot.

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

/// A Role or ClusterRole of index `i`: most read-only, some with wildcards,
/// secret access, pod exec or escalation verbs, so every rbac check sees
/// both verdicts.
fn rules(i: usize) -> Value {
    match i % 10 {
        0 => json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
        1 => json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]),
        2 => json!([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]),
        3 => json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind", "escalate"]}]),
        4 => json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]),
        _ => json!([{"apiGroups": ["", "apps"], "resources": ["pods", "deployments", "configmaps"], "verbs": ["get", "list", "watch"]}]),
    }
}

fn object(value: Value) -> Value {
    json!({"source": "synthetic", "object": value})
}

/// A cluster snapshot (the format `rampart scan --snapshot` reads).
pub fn cluster_snapshot(pods: usize, namespaces: usize) -> Value {
    let share = |per_10k: usize| (pods * per_10k).div_ceil(10_000);
    let ns_of = |i: usize| format!("team-{:04}", i % namespaces.max(1));
    let mut objects = Vec::with_capacity(pods + namespaces * 2 + share(8_700));
    for n in 0..namespaces {
        let name = format!("team-{n:04}");
        objects.push(object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": if n % 2 == 0 { "baseline" } else { "privileged" }}}})));
        objects.push(object(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})));
    }
    for i in 0..pods {
        objects.push(object(pod(i, namespaces)));
    }
    let rbac = "rbac.authorization.k8s.io/v1";
    for i in 0..share(2_000) {
        let ns = ns_of(i);
        objects.push(object(
            json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": format!("role-{i:05}"), "namespace": ns}, "rules": rules(i)}),
        ));
        let subject = if i % 4 == 0 {
            json!({"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"})
        } else {
            json!({"kind": "ServiceAccount", "name": "default", "namespace": ns})
        };
        objects.push(object(
            json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": format!("binding-{i:05}"), "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("role-{i:05}")}, "subjects": [subject]}),
        ));
    }
    for i in 0..share(500) {
        objects.push(object(
            json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": format!("cluster-role-{i:04}")}, "rules": rules(i + 5)}),
        ));
        objects.push(object(json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("cluster-binding-{i:04}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": if i % 50 == 0 { "cluster-admin".to_string() } else { format!("cluster-role-{i:04}") }},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns_of(i)}]})));
    }
    for i in 0..share(2_000) {
        let template = pod(i * 7 + 3, namespaces);
        objects.push(object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("deploy-{i:05}"), "namespace": ns_of(i)},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": format!("deploy-{i:05}")}},
                "template": {"metadata": {"labels": {"app": format!("deploy-{i:05}")}}, "spec": template["spec"]}}}),
        ));
    }
    for i in 0..share(1_000) {
        let data = if i % 10 == 0 { json!({"DB_PASSWORD": "hunter2", "mode": "prod"}) } else { json!({"mode": "prod", "replicas": "3"}) };
        objects.push(object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("config-{i:05}"), "namespace": ns_of(i)}, "data": data})));
    }
    for i in 0..share(500) {
        objects.push(object(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": ns_of(i)},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})));
    }
    json!({"kind": "rampart.cluster-snapshot", "version": 1, "sources": ["synthetic"], "objects": objects})
}
