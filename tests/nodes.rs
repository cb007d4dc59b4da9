//! Nodes: "could not see" is never "not there". A process table that
//! cannot be read, a file name that is not UTF-8 and a node that runs etcd
//! alone each get verdicts on what is really there, or `error`, never a
//! not-applicable that hides them.

mod support;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use serde_json::Value;
use support::*;

const CIS: &str = "cis-k8s-1.12";

/// A JSON scan of node roots (no cluster) with the CIS profile.
fn scan_nodes(nodes: &[&Path], extra: &[&str]) -> Value {
    let r = run(rampart().args(["scan", "--format", "json", "--profile", CIS, "--node"]).args(nodes).args(extra));
    assert!((0..=2).contains(&r.code), "exit {}: {}", r.code, r.stderr);
    r.json()
}

fn control<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["profiles"][0]["controls"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no control {id}"))
}

/// Every finding of a plugin, as (check, status, message).
fn of_plugin(report: &Value, plugin: &str) -> Vec<(String, String, String)> {
    let prefix = format!("{plugin}/");
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with(&prefix))
        .map(|f| (f["check"].as_str().unwrap().into(), f["status"].as_str().unwrap().into(), f["message"].as_str().unwrap().into()))
        .collect()
}

fn assert_kubelet_errors(report: &Value, why: &str) {
    let kubelet = of_plugin(report, "kubelet");
    assert!(!kubelet.is_empty());
    for (check, status, message) in &kubelet {
        assert_eq!(status, "error", "{check}: {message}");
        assert!(message.contains(why), "{check}: want {why:?} in {message}");
    }
    for id in ["4.1.1", "4.1.5", "4.2.1", "4.2.4"] {
        assert_eq!(control(report, id)["status"], "error", "{}", control(report, id));
    }
}

/// Regression: a /proc that could not be listed made every kubelet control
/// not-applicable ("no kubelet runs on this node").
#[test]
fn a_proc_that_cannot_be_listed_is_an_error_for_the_kubelet() {
    let dir = tempfile::tempdir().unwrap();
    let worker = node_from_demo("worker-1", dir.path());
    let report = scan_nodes(&[&worker], &[]);
    assert_eq!(control(&report, "4.2.1")["status"], "pass", "the intact worker is judged");

    xtask::make_writable(&worker.join("proc")).unwrap();
    std::fs::remove_dir_all(worker.join("proc")).unwrap();
    std::fs::write(worker.join("proc"), "not a directory").unwrap();
    let report = scan_nodes(&[&worker], &[]);
    assert_kubelet_errors(&report, "/proc cannot be listed");
    // Nor is an unseen API server one that does not run.
    assert_eq!(control(&report, "1.2.15")["status"], "error", "{}", control(&report, "1.2.15"));

    std::fs::remove_file(worker.join("proc")).unwrap();
    assert_kubelet_errors(&scan_nodes(&[&worker], &[]), "has no /proc");
}

/// `snapshot node` records that the processes could not be read, and the
/// scan of the snapshot gives the same errors as the scan of the node.
#[test]
fn a_snapshot_records_an_unreadable_proc_and_scans_like_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let worker = node_from_demo("worker-1", dir.path());
    xtask::make_writable(&worker.join("proc")).unwrap();
    std::fs::remove_dir_all(worker.join("proc")).unwrap();
    std::fs::write(worker.join("proc"), "not a directory").unwrap();
    let file = dir.path().join("worker-1.json");
    let r = run(rampart().args(["snapshot", "node", "--profile", CIS, "--root"]).arg(&worker).arg("-o").arg(&file));
    assert!(r.stderr.contains("recorded as unreadable") && r.stderr.contains("/proc cannot be listed"), "{}", r.stderr);
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(snap["processes"]["kubelet"]["err"]["error"], "unavailable", "{}", snap["processes"]);

    let from_snapshot = run(rampart().args(["scan", "--format", "json", "--profile", CIS, "--snapshot"]).arg(&file)).json();
    assert_kubelet_errors(&from_snapshot, "/proc cannot be listed");
    let direct = scan_nodes(&[&worker], &[]);
    let verdicts = |r: &Value| of_plugin(r, "kubelet").into_iter().map(|(c, s, _)| (c, s)).collect::<Vec<_>>();
    assert_eq!(verdicts(&from_snapshot), verdicts(&direct));
}

/// A scan that runs without the rights to read /proc (mode 0000, as a
/// user other than root) cannot see the kubelet: `error`, not "no kubelet".
#[test]
fn a_proc_the_scan_may_not_read_is_an_error() {
    if !xtask::can_chown() {
        eprintln!("skipped: needs root to run the scan as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let worker = node_from_demo("worker-1", dir.path());
    // Everything readable by anyone, so only /proc stands in the way.
    let status = std::process::Command::new("chmod").args(["-R", "a+rX"]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let as_nobody = |node: &Path| {
        let mut cmd = rampart();
        cmd.uid(65534).gid(65534).args(["--no-cache", "scan", "--format", "json", "--profile", CIS, "--node"]).arg(node);
        run(&mut cmd).json()
    };
    assert_eq!(control(&as_nobody(&worker), "4.2.1")["status"], "pass", "a readable /proc is read by anyone");
    chmod(&worker.join("proc"), 0o000);
    assert_kubelet_errors(&as_nobody(&worker), "Permission denied");
}

/// Unmounts a proc filesystem mounted for a test.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A real proc filesystem mounted with hidepid=invisible shows a user
/// other than root only its own processes: the table is not the node's.
#[test]
fn a_proc_mounted_with_hidepid_is_an_error() {
    if !xtask::can_chown() {
        eprintln!("skipped: needs root to mount /proc and run the scan as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let worker = node_from_demo("worker-1", dir.path());
    let status = std::process::Command::new("chmod").args(["-R", "a+rX"]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let proc_dir = worker.join("proc");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "proc", "-o", "hidepid=invisible", "proc"])
        .arg(&proc_dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a proc filesystem here");
        return;
    }
    let _unmount = Mounted(proc_dir);
    let mut cmd = rampart();
    cmd.uid(65534).gid(65534).args(["--no-cache", "scan", "--format", "json", "--profile", CIS, "--node"]).arg(&worker);
    assert_kubelet_errors(&run(&mut cmd).json(), "hides process 1");
}

/// Regression: one file under /etc/kubernetes/pki whose name is not UTF-8
/// made CIS 1.1.19-1.1.21 not-applicable ("does not exist on this node").
/// Such names are listed under a lossy name and judged.
#[test]
fn pki_files_with_names_that_are_not_utf8_are_judged() {
    let dir = tempfile::tempdir().unwrap();
    let cp = node_from_demo("cp-1", dir.path());
    let pki = cp.join("etc/kubernetes/pki");
    let bad_key = pki.join(std::ffi::OsStr::from_bytes(b"old\xff.key"));
    std::fs::write(&bad_key, "key").unwrap();
    chmod(&bad_key, 0o644);
    let bad_dir = pki.join(std::ffi::OsStr::from_bytes(b"backup\xfe"));
    std::fs::create_dir(&bad_dir).unwrap();
    std::fs::write(bad_dir.join("sa.key"), "key").unwrap();
    chmod(&bad_dir.join("sa.key"), 0o600);

    let report = scan_nodes(&[&cp], &[]);
    let keys: Vec<(String, String)> = findings(&report, "control-plane-files/pki-key-mode")
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["status"].as_str().unwrap().to_string()))
        .filter(|(p, _)| p.contains('\u{FFFD}'))
        .collect();
    assert_eq!(
        keys,
        [
            ("/etc/kubernetes/pki/backup\u{FFFD}/sa.key".to_string(), "pass".to_string()),
            ("/etc/kubernetes/pki/old\u{FFFD}.key".to_string(), "fail".to_string())
        ]
    );
    // 1.1.20 and 1.1.21 are manual in CIS 1.12: a person decides, on this evidence.
    assert_eq!(control(&report, "1.1.19")["status"], "pass");
    for id in ["1.1.20", "1.1.21"] {
        assert_eq!(control(&report, id)["status"], "warn", "{}", control(&report, id));
    }
    let evidence = control(&report, "1.1.21")["findings"].as_array().unwrap();
    assert!(evidence.iter().any(|f| f["path"] == "/etc/kubernetes/pki/old\u{FFFD}.key" && f["status"] == "fail"), "{evidence:?}");
    let owners = findings(&report, "control-plane-files/pki-owner");
    assert!(owners.iter().any(|f| f["path"] == "/etc/kubernetes/pki/old\u{FFFD}.key" && f["status"] == "pass"), "{owners:?}");
}

/// Regression: a node that runs only etcd (kubeadm's external etcd
/// topology) got not-applicable for the etcd file and data-directory
/// controls, because it has no API server.
#[test]
fn an_etcd_only_node_gets_the_etcd_controls() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_from_demo("cp-1", dir.path());
    for gone in [
        "etc/kubernetes/manifests/kube-apiserver.yaml",
        "etc/kubernetes/manifests/kube-controller-manager.yaml",
        "etc/kubernetes/manifests/kube-scheduler.yaml",
        "etc/kubernetes/admin.conf",
        "etc/kubernetes/super-admin.conf",
        "etc/kubernetes/scheduler.conf",
        "etc/kubernetes/controller-manager.conf",
    ] {
        std::fs::remove_file(node.join(gone)).unwrap();
    }
    xtask::make_writable(&node.join("proc")).unwrap();
    for entry in std::fs::read_dir(node.join("proc")).unwrap() {
        let pid = entry.unwrap().path();
        let comm = std::fs::read_to_string(pid.join("comm")).unwrap();
        if comm.starts_with("kube-") {
            std::fs::remove_dir_all(&pid).unwrap();
        }
    }
    let report = scan_nodes(&[&node], &[]);
    for (id, want) in [
        ("1.1.7", "pass"),
        ("1.1.8", "pass"),
        ("1.1.11", "pass"),
        ("1.1.12", "fail"),
        ("1.1.19", "pass"),
        ("1.1.20", "warn"),
        ("1.1.21", "warn"),
        ("2.1", "pass"),
        ("2.2", "pass"),
        ("1.1.1", "not-applicable"),
        ("1.1.13", "not-applicable"),
        ("1.2.15", "not-applicable"),
        ("4.2.1", "pass"),
    ] {
        assert_eq!(control(&report, id)["status"], want, "{id}: {}", control(&report, id));
    }
    let owner = &findings(&report, "control-plane-files/etcd-data-dir-owner")[0];
    assert!(owner["evidence"]["found-by"].as_str().unwrap().contains("running process"), "{owner}");
}

/// On a control-plane node whose processes cannot be seen, the static pod
/// manifests still say what the kubelet runs: the flags are judged from
/// them, while the kubelet (which has no manifest) is an error.
#[test]
fn unseen_processes_on_a_control_plane_fall_back_to_the_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let cp = node_from_demo("cp-1", dir.path());
    xtask::make_writable(&cp.join("proc")).unwrap();
    std::fs::remove_dir_all(cp.join("proc")).unwrap();
    let report = scan_nodes(&[&cp], &[]);
    let profiling = control(&report, "1.2.15");
    assert_eq!(profiling["status"], "fail", "{profiling}");
    assert!(profiling["findings"][0]["evidence"]["found-in"].as_str().unwrap().contains("static pod manifest"), "{profiling}");
    assert_eq!(control(&report, "1.1.12")["status"], "fail", "the etcd data directory from etcd's manifest");
    assert_kubelet_errors(&report, "has no /proc");
}

/// A control plane whose kubelet reads static pods from another directory
/// (RKE2's): the manifest controls judge the files there, once the scan
/// may stat them, rather than reporting kubeadm's empty paths as
/// not-applicable.
#[test]
fn manifests_in_the_kubelets_own_static_pod_directory_are_judged() {
    const RKE2: &str = "var/lib/rancher/rke2/agent/pod-manifests";
    let dir = tempfile::tempdir().unwrap();
    let cp = node_from_demo("cp-1", dir.path());
    let manifests = cp.join("etc/kubernetes/manifests");
    xtask::make_writable(&manifests).unwrap();
    std::fs::create_dir_all(cp.join(RKE2)).unwrap();
    for entry in std::fs::read_dir(&manifests).unwrap() {
        let path = entry.unwrap().path();
        let moved = cp.join(RKE2).join(path.file_name().unwrap());
        std::fs::rename(&path, &moved).unwrap();
        chmod(&moved, 0o600); // kubeadm's mode (make_writable widened it)
    }
    chmod(&cp.join(RKE2).join("kube-apiserver.yaml"), 0o644);
    append_flags(&cp, "kubelet", &[&format!("--pod-manifest-path=/{RKE2}")]);

    // The registry grants kubeadm's directory only: the scan says which
    // grant the real one needs.
    let report = scan_nodes(&[&cp], &[]);
    let c = control(&report, "1.1.1");
    assert_eq!(c["status"], "error", "{c}");
    assert!(c.to_string().contains(&format!("--grant node.stat:/{RKE2}/*")), "{c}");

    let report = scan_nodes(&[&cp], &["--grant", &format!("node.stat:/{RKE2}/*")]);
    for (id, want) in [("1.1.1", "fail"), ("1.1.2", "pass"), ("1.1.3", "pass"), ("1.1.7", "pass")] {
        assert_eq!(control(&report, id)["status"], want, "{id}: {}", control(&report, id));
    }
    let mode = &control(&report, "1.1.1")["findings"][0];
    assert_eq!(mode["path"], format!("/{RKE2}/kube-apiserver.yaml"), "{mode}");
    assert!(mode["evidence"]["found-by"].as_str().unwrap().contains("--pod-manifest-path"), "{mode}");
}
