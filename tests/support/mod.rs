//! What every end-to-end test needs: the plugins built, the `rampart`
//! binary, the demo inputs laid out, and small fixture trees made in code.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// Builds the built-in and test plugins once per test binary.
pub fn plugins() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        xtask::build_plugins(xtask::PLUGINS).expect("build plugins");
        xtask::build_plugins(xtask::TEST_PLUGINS).expect("build test plugins");
    });
}

pub fn root() -> PathBuf {
    xtask::root()
}

/// The demo node roots, laid out once per test binary with their real modes.
/// Under target/: a static is never dropped, so the directory outlives the
/// run (and `cargo clean` removes it), rather than piling up in /tmp.
pub fn demo() -> &'static xtask::Demo {
    static DEMO: OnceLock<(tempfile::TempDir, xtask::Demo)> = OnceLock::new();
    &DEMO
        .get_or_init(|| {
            let dir = tempfile::Builder::new().prefix("test-demo-").tempdir_in(root().join("target")).expect("tempdir");
            let demo = xtask::prepare_demo_in(dir.path()).expect("lay out the demo");
            (dir, demo)
        })
        .1
}

/// `rampart` with a compile cache private to the test run.
pub fn rampart() -> Command {
    plugins();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.current_dir(root());
    cmd.env("RAMPART_CACHE_DIR", root().join("target/test-cache"));
    cmd.env_remove("RAMPART_REGISTRY");
    // No user registry from the developer's home.
    cmd.env("XDG_CONFIG_HOME", root().join("target/test-config"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Each control of a report's first profile, as (id, status).
pub fn control_statuses(report: &Value) -> Vec<(String, String)> {
    report["profiles"][0]["controls"]
        .as_array()
        .expect("the report has a profile")
        .iter()
        .map(|c| (c["id"].as_str().unwrap_or_default().to_string(), c["status"].as_str().unwrap_or_default().to_string()))
        .collect()
}

/// A finished run: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON on stdout; a report's grouped passes are put back among
    /// its findings (subjects only, no message or evidence), so tests see
    /// every verdict whatever `--passes` was.
    pub fn json(&self) -> Value {
        let mut v: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr));
        expand_passes(&mut v);
        v
    }
}

/// A compact report's `passes` as findings.
pub fn expand_passes(report: &mut Value) {
    let groups = report.get_mut("passes").map(Value::take).unwrap_or(Value::Null);
    let Some(findings) = report.get_mut("findings").and_then(Value::as_array_mut) else { return };
    for g in groups.as_array().into_iter().flatten() {
        for o in g["objects"].as_array().into_iter().flatten() {
            let o = o.as_str().unwrap();
            let mut object = serde_json::json!({"api_version": g["api_version"], "kind": g["kind"]});
            match o.split_once('/') {
                Some((ns, name)) => {
                    object["namespace"] = ns.into();
                    object["name"] = name.into();
                }
                None => object["name"] = o.into(),
            }
            let mut f = serde_json::json!({"check": g["check"], "status": "pass", "message": "", "object": object, "evidence": {}});
            for key in ["node", "profiles"] {
                if !g[key].is_null() {
                    f[key] = g[key].clone();
                }
            }
            findings.push(f);
        }
    }
    // Each control's findings, as a full report has them: the ones it
    // points at, and the passes of its checks.
    let all = findings.clone();
    for p in report["profiles"].as_array_mut().into_iter().flatten() {
        let id = p["id"].clone();
        for c in p["controls"].as_array_mut().into_iter().flatten() {
            // A compact report's controls carry their counts instead of
            // their findings.
            if c.get("summary").is_none() {
                continue;
            }
            let indices = c.get("finding_indices").and_then(Value::as_array).cloned().unwrap_or_default();
            let checks: Vec<Value> =
                c["checks"].as_array().into_iter().flatten().chain(c["assisting"].as_array().into_iter().flatten()).cloned().collect();
            let mut mine: Vec<Value> = indices.iter().map(|i| all[i.as_u64().unwrap() as usize].clone()).collect();
            let for_me = |f: &Value| f["profiles"].as_array().is_none_or(|t| t.contains(&id));
            mine.extend(
                all.iter().filter(|f| f["status"] == "pass" && f["message"] == "" && checks.contains(&f["check"]) && for_me(f)).cloned(),
            );
            c["findings"] = Value::Array(mine);
        }
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let Output { status, stdout, stderr } = cmd.output().expect("run rampart");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into(),
        stderr: String::from_utf8_lossy(&stderr).into(),
    }
}

/// The findings of one check (`plugin/check`).
pub fn findings<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"].as_array().expect("findings").iter().filter(|f| f["check"] == check).collect()
}

/// `namespace/name` of the objects a check gave `status` for, sorted.
pub fn objects_with(report: &Value, check: &str, status: &str) -> Vec<String> {
    let mut v: Vec<String> = findings(report, check)
        .into_iter()
        .filter(|f| f["status"] == status)
        .map(|f| {
            format!(
                "{} {}/{}",
                f["object"]["kind"].as_str().unwrap_or("?"),
                f["object"]["namespace"].as_str().unwrap_or("-"),
                f["object"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    v.sort();
    v
}

/// One `[[plugin]]` of a test registry.
pub struct Entry<'a> {
    pub name: &'a str,
    pub source: &'a Path,
    pub grants: &'a [&'a str],
    pub settings: &'a [(&'a str, &'a str)],
}

/// Writes a registry.toml with these entries into `dir`.
pub fn registry(dir: &Path, entries: &[Entry<'_>]) -> PathBuf {
    // The whole registry: the built-ins are not layered under it.
    let mut text = String::from("standalone = true\n\n");
    for Entry { name, source, grants, settings } in entries {
        text += &format!("[[plugin]]\nname = \"{name}\"\nsource = \"{}\"\ngrants = {:?}\n", source.display(), grants);
        if !settings.is_empty() {
            text += "settings = { ";
            text += &settings.iter().map(|(k, v)| format!("{k:?} = {v:?}")).collect::<Vec<_>>().join(", ");
            text += " }\n";
        }
        text += "\n";
    }
    let path = dir.join("registry.toml");
    std::fs::write(&path, text).expect("write registry");
    path
}

/// The grants registry.toml gives pod-security.
pub const POD_SECURITY_GRANTS: &[&str] = &[
    "cluster.list:v1/Pod",
    "cluster.list:apps/v1/Deployment",
    "cluster.list:apps/v1/StatefulSet",
    "cluster.list:apps/v1/DaemonSet",
    "cluster.list:apps/v1/ReplicaSet",
    "cluster.list:batch/v1/Job",
    "cluster.list:batch/v1/CronJob",
    "cluster.list:v1/ReplicationController",
    "cluster.list:v1/ServiceAccount",
];

/// A tiny cluster: one privileged pod and one restricted pod.
pub const SMALL_CLUSTER: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: dev}
spec:
  containers:
  - name: c
    image: busybox:1.37.0
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: dev}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox:1.37.0
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"#;

/// Lays out a demo node (`cp-1` or `worker-1`) under `dir` with its real
/// modes and owners.
pub fn node_from_demo(name: &str, dir: &Path) -> PathBuf {
    let nodes = root().join("examples/demo/nodes");
    let dest = dir.join(name);
    xtask::materialize(&nodes.join(format!("{name}.tsv")), &nodes.join(name), &dest).expect("lay out node");
    dest
}

/// Appends flags to the argv of the process whose argv[0] is `exe`
/// (flags given twice: the last one wins, as pflag reads them).
pub fn append_flags(node: &Path, exe: &str, flags: &[&str]) {
    let mut found = false;
    for entry in std::fs::read_dir(node.join("proc")).unwrap() {
        let cmdline = entry.unwrap().path().join("cmdline");
        let mut argv = std::fs::read(&cmdline).unwrap();
        let first = argv.split(|b| *b == 0).next().unwrap_or_default().to_vec();
        if String::from_utf8_lossy(&first).rsplit('/').next() == Some(exe) {
            for f in flags {
                argv.extend_from_slice(f.as_bytes());
                argv.push(0);
            }
            std::fs::set_permissions(&cmdline, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
            std::fs::write(&cmdline, argv).unwrap();
            found = true;
        }
    }
    assert!(found, "no {exe} process under {}", node.display());
}

/// The argv of every process under a node root's /proc.
pub fn processes(node: &Path) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(node.join("proc")).unwrap() {
        let Ok(bytes) = std::fs::read(entry.unwrap().path().join("cmdline")) else { continue };
        let argv: Vec<String> =
            bytes.split(|b| *b == 0).filter(|w| !w.is_empty()).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        if !argv.is_empty() {
            out.push(argv);
        }
    }
    out
}

/// A copy of the demo cluster under `dir` whose mirror pods show the command
/// lines these node roots run, as a kubelet republishes them once a
/// manifest changes: a hardened or broken node and its mirror pods then
/// agree, and the scan judges the node's change alone.
pub fn cluster_synced_with(nodes: &[&Path], dir: &Path) -> PathBuf {
    let out = dir.join("cluster");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(&demo().cluster).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.join(entry.file_name())).unwrap();
    }
    let path = out.join("pods.json");
    let mut pods: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for node in nodes {
        let name = node.file_name().unwrap().to_string_lossy().into_owned();
        let procs = processes(node);
        for pod in pods["items"].as_array_mut().unwrap() {
            if pod["spec"]["nodeName"] != name.as_str() || pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null() {
                continue;
            }
            for c in pod["spec"]["containers"].as_array_mut().unwrap() {
                let container = c["name"].as_str().unwrap_or_default().to_string();
                if let Some(argv) = procs.iter().find(|a| a[0].rsplit('/').next() == Some(container.as_str())) {
                    c["command"] = serde_json::json!(argv);
                    c.as_object_mut().unwrap().remove("args");
                }
            }
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&pods).unwrap()).unwrap();
    out
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

/// Hardens a kubeadm node the way the CIS benchmark asks: everything an
/// automated control checks, and what the manual controls' assisting checks
/// look at, set to a compliant value.
pub fn harden(node: &Path, control_plane: bool) {
    // Kubelet: tight files, serving certs, strong ciphers, PID limit, seccomp.
    chmod(&node.join("etc/systemd/system/kubelet.service.d/10-kubeadm.conf"), 0o600);
    let config = node.join("var/lib/kubelet/config.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text += "tlsCertFile: /var/lib/kubelet/pki/kubelet.crt\ntlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key\n";
    text += "tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\npodPidsLimit: 4096\nseccompDefault: true\n";
    std::fs::write(&config, text).unwrap();
    chmod(&config, 0o600);
    if !control_plane {
        return;
    }
    // etcd runs as its own user, who owns the data directory.
    std::fs::write(node.join("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\netcd:x:998:998:etcd:/var/lib/etcd:/usr/sbin/nologin\n")
        .unwrap();
    std::fs::write(node.join("etc/group"), "root:x:0:\netcd:x:998:\n").unwrap();
    std::os::unix::fs::chown(node.join("var/lib/etcd"), Some(998), Some(998)).unwrap();
    append_flags(
        node,
        "kube-apiserver",
        &[
            "--anonymous-auth=false",
            "--enable-admission-plugins=NodeRestriction,AlwaysPullImages,EventRateLimit,DenyServiceExternalIPs,ImagePolicyWebhook",
            "--admission-control-config-file=/etc/kubernetes/admission.yaml",
            "--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt",
            "--profiling=false",
            "--audit-log-path=/var/log/kubernetes/audit.log",
            "--audit-log-maxage=30",
            "--audit-log-maxbackup=10",
            "--audit-log-maxsize=100",
            "--audit-policy-file=/etc/kubernetes/audit-policy.yaml",
            "--encryption-provider-config=/etc/kubernetes/encryption.yaml",
            "--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "--service-account-extend-token-expiration=false",
        ],
    );
    std::fs::write(node.join("etc/kubernetes/encryption.yaml"), "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets, configmaps]\n  providers:\n  - aescbc:\n      keys: [{name: key1, secret: dGhpcnR5LXR3by1ieXRlLWtleS1mb3ItdGVzdHMhISE=}]\n  - identity: {}\n").unwrap();
    std::fs::write(node.join("etc/kubernetes/audit-policy.yaml"), "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n  resources: [{group: \"\", resources: [pods/exec, pods/portforward, pods/proxy, services/proxy]}]\n- level: Metadata\n").unwrap();
    append_flags(node, "kube-controller-manager", &["--profiling=false", "--terminated-pod-gc-threshold=1000"]);
    append_flags(node, "kube-scheduler", &["--profiling=false"]);
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
