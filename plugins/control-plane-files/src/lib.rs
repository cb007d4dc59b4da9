//! control-plane-files: modes and owners of what a control-plane node keeps
//! on disk (CIS 1.1): static pod manifests, kubeconfigs, the PKI tree, CNI
//! files and the etcd data directory (taken from etcd's own `--data-dir`).
//! Each check applies where the component it is about is: a named file
//! wherever it exists, the PKI tree and CNI files on a node with any
//! control-plane component (an external etcd node included), the etcd data
//! directory where etcd runs or has its manifest. "Cannot tell" is `error`.

use rampart_sdk::component::{ArgsSource, component_args};
use rampart_sdk::files::{ROOT, Rule, judge};
use rampart_sdk::flags::Component;
use rampart_sdk::kubelet::KubeletConfig;
use rampart_sdk::{AccessError, Capability, FileStat, FileType, Finding, Findings, Host, Plugin, PluginInfo, Settings, Severity, Status};

pub struct ControlPlaneFiles;

const PKI: &str = "/etc/kubernetes/pki";
const DEFAULT_ETCD_DATA_DIR: &str = "/var/lib/etcd";
const CNI_DIRS: &[&str] = &["/etc/cni/net.d", "/var/lib/cni/networks"];

/// Which paths a check looks at.
#[derive(Clone, Copy)]
enum Subject {
    /// One file; missing means not-applicable.
    File(&'static str),
    /// Several files; each missing one is skipped, all missing is n/a.
    Files(&'static [&'static str]),
    /// Everything under a directory, the directory itself included,
    /// optionally only names with this suffix.
    Tree { dir: &'static str, suffix: Option<&'static str> },
    /// The CNI configuration and state directories.
    Cni,
    /// The etcd data directory.
    EtcdDataDir,
    /// The regular files below the etcd data directory.
    EtcdDataFiles,
}

struct Check {
    id: &'static str,
    cis: &'static str,
    title: &'static str,
    severity: Severity,
    subject: Subject,
    rule: Rule,
}

const MANIFEST_MODE: Rule = Rule::Mode { key: "manifest-mode", default: 0o600 };
const KUBECONFIG_MODE: Rule = Rule::Mode { key: "kubeconfig-mode", default: 0o600 };

const CHECKS: &[Check] = &[
    Check {
        id: "apiserver-manifest-mode",
        cis: "1.1.1",
        title: "kube-apiserver static pod manifest mode is 0600 or tighter",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/kube-apiserver.yaml"),
        rule: MANIFEST_MODE,
    },
    Check {
        id: "apiserver-manifest-owner",
        cis: "1.1.2",
        title: "kube-apiserver static pod manifest is owned by root:root",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/kube-apiserver.yaml"),
        rule: ROOT,
    },
    Check {
        id: "controller-manager-manifest-mode",
        cis: "1.1.3",
        title: "kube-controller-manager static pod manifest mode is 0600 or tighter",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/kube-controller-manager.yaml"),
        rule: MANIFEST_MODE,
    },
    Check {
        id: "controller-manager-manifest-owner",
        cis: "1.1.4",
        title: "kube-controller-manager static pod manifest is owned by root:root",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/kube-controller-manager.yaml"),
        rule: ROOT,
    },
    Check {
        id: "scheduler-manifest-mode",
        cis: "1.1.5",
        title: "kube-scheduler static pod manifest mode is 0600 or tighter",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/kube-scheduler.yaml"),
        rule: MANIFEST_MODE,
    },
    Check {
        id: "scheduler-manifest-owner",
        cis: "1.1.6",
        title: "kube-scheduler static pod manifest is owned by root:root",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/kube-scheduler.yaml"),
        rule: ROOT,
    },
    Check {
        id: "etcd-manifest-mode",
        cis: "1.1.7",
        title: "etcd static pod manifest mode is 0600 or tighter",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/etcd.yaml"),
        rule: MANIFEST_MODE,
    },
    Check {
        id: "etcd-manifest-owner",
        cis: "1.1.8",
        title: "etcd static pod manifest is owned by root:root",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/manifests/etcd.yaml"),
        rule: ROOT,
    },
    Check {
        id: "cni-files-mode",
        cis: "1.1.9",
        title: "CNI configuration files are mode 0600 or tighter",
        severity: Severity::Medium,
        subject: Subject::Cni,
        rule: Rule::Mode { key: "cni-mode", default: 0o600 },
    },
    Check {
        id: "cni-files-owner",
        cis: "1.1.10",
        title: "CNI configuration files are owned by root:root",
        severity: Severity::Medium,
        subject: Subject::Cni,
        rule: ROOT,
    },
    Check {
        id: "etcd-data-dir-mode",
        cis: "1.1.11",
        title: "etcd data directory mode is 0700 or tighter",
        severity: Severity::High,
        subject: Subject::EtcdDataDir,
        rule: Rule::Mode { key: "etcd-data-dir-mode", default: 0o700 },
    },
    Check {
        id: "etcd-data-dir-owner",
        cis: "1.1.12",
        title: "etcd data directory is owned by etcd:etcd",
        severity: Severity::Medium,
        subject: Subject::EtcdDataDir,
        rule: Rule::Owner { user: "etcd", group: "etcd" },
    },
    Check {
        id: "etcd-data-files-mode",
        cis: "",
        title: "etcd data files (under --data-dir) are mode 0644 or tighter",
        severity: Severity::Medium,
        subject: Subject::EtcdDataFiles,
        rule: Rule::Mode { key: "etcd-data-files-mode", default: 0o644 },
    },
    Check {
        id: "admin-kubeconfig-mode",
        cis: "1.1.13",
        title: "admin kubeconfigs (admin.conf, super-admin.conf) are mode 0600 or tighter",
        severity: Severity::High,
        subject: Subject::Files(&["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"]),
        rule: KUBECONFIG_MODE,
    },
    Check {
        id: "admin-kubeconfig-owner",
        cis: "1.1.14",
        title: "admin kubeconfigs (admin.conf, super-admin.conf) are owned by root:root",
        severity: Severity::High,
        subject: Subject::Files(&["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"]),
        rule: ROOT,
    },
    Check {
        id: "scheduler-kubeconfig-mode",
        cis: "1.1.15",
        title: "scheduler kubeconfig (scheduler.conf) is mode 0600 or tighter",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/scheduler.conf"),
        rule: KUBECONFIG_MODE,
    },
    Check {
        id: "scheduler-kubeconfig-owner",
        cis: "1.1.16",
        title: "scheduler kubeconfig (scheduler.conf) is owned by root:root",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/scheduler.conf"),
        rule: ROOT,
    },
    Check {
        id: "controller-manager-kubeconfig-mode",
        cis: "1.1.17",
        title: "controller-manager kubeconfig (controller-manager.conf) is mode 0600 or tighter",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/controller-manager.conf"),
        rule: KUBECONFIG_MODE,
    },
    Check {
        id: "controller-manager-kubeconfig-owner",
        cis: "1.1.18",
        title: "controller-manager kubeconfig (controller-manager.conf) is owned by root:root",
        severity: Severity::High,
        subject: Subject::File("/etc/kubernetes/controller-manager.conf"),
        rule: ROOT,
    },
    Check {
        id: "pki-owner",
        cis: "1.1.19",
        title: "everything under /etc/kubernetes/pki is owned by root:root",
        severity: Severity::High,
        subject: Subject::Tree { dir: PKI, suffix: None },
        rule: ROOT,
    },
    Check {
        id: "pki-cert-mode",
        cis: "1.1.20",
        title: "PKI certificates (*.crt) are mode 0644 or tighter",
        severity: Severity::Medium,
        subject: Subject::Tree { dir: PKI, suffix: Some(".crt") },
        rule: Rule::Mode { key: "pki-cert-mode", default: 0o644 },
    },
    Check {
        id: "pki-key-mode",
        cis: "1.1.21",
        title: "PKI private keys (*.key) are mode 0600 or tighter",
        severity: Severity::High,
        subject: Subject::Tree { dir: PKI, suffix: Some(".key") },
        rule: Rule::Mode { key: "pki-key-mode", default: 0o600 },
    },
];

impl Plugin for ControlPlaneFiles {
    fn info() -> PluginInfo {
        let checks = CHECKS.iter().map(|c| c.rule.check_info(c.id, c.title, c.severity, c.cis, "node-files")).collect();
        let stat = |p: &str| Capability::NodeStat(p.into());
        let capabilities = vec![
            Capability::NodeRead("/etc/kubernetes/manifests/etcd.yaml".into()),
            Capability::NodeRead("/etc/kubernetes/manifests/kube-apiserver.yaml".into()),
            // etcd's --config-file, which names its data directory.
            Capability::NodeRead("/etc/etcd/*".into()),
            stat("/etc/kubernetes/manifests/*"),
            stat("/etc/kubernetes/*.conf"),
            stat(PKI),
            stat("/etc/kubernetes/pki/**"),
            stat("/etc/cni/net.d"),
            stat("/etc/cni/net.d/*"),
            stat("/var/lib/cni/networks"),
            stat("/var/lib/cni/networks/**"),
            // etcd keeps its data wherever its --data-dir says, so the plugin
            // asks to stat any path and the operator grants the real place
            // (registry.toml grants /var/lib/etcd, kubeadm's).
            stat("/**"),
            Capability::NodeProcess("etcd".into()),
            Capability::NodeProcess("kube-apiserver".into()),
            Capability::NodeProcess("kube-controller-manager".into()),
            Capability::NodeProcess("kube-scheduler".into()),
            // The kubelet's configuration, for its static pod directory
            // when kubeadm's holds no manifest.
            Capability::NodeProcess("kubelet".into()),
            Capability::NodeRead("/var/lib/kubelet/*.yaml".into()),
            Capability::NodeRead("/var/lib/kubelet/config.d/*".into()),
            Capability::NodeRead("/etc/kubernetes/kubelet*.yaml".into()),
            Capability::NodeRead("/etc/kubernetes/kubelet.conf.d/*".into()),
        ];
        PluginInfo {
            name: "control-plane-files".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            checks,
            capabilities,
            settings: rampart_sdk::files::mode_settings(CHECKS.iter().map(|c| c.rule)),
        }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let control_plane = control_plane(host);
        let etcd_dir = etcd_data_dir(host);
        let static_pods = std::cell::OnceCell::new();
        let node = Node { control_plane, etcd_dir, static_pods };
        for check in CHECKS {
            evaluate_check(host, settings, check, &node, out);
        }
        Ok(())
    }
}

/// kubeadm's static pod directory, where the manifest checks look first.
const KUBEADM_STATIC_PODS: &str = "/etc/kubernetes/manifests";

/// What the checks share about the node, each found once.
struct Node {
    control_plane: Result<Option<String>, String>,
    etcd_dir: Result<Option<(String, String)>, String>,
    /// The kubelet's static pod directory when it is not kubeadm's, read
    /// only when a manifest is not at kubeadm's path.
    static_pods: std::cell::OnceCell<Result<Option<(String, String)>, String>>,
}

/// The directory the kubelet reads static pods from, with where that was
/// set, when it is another than kubeadm's (RKE2 keeps them under
/// /var/lib/rancher/rke2/agent/pod-manifests). `Ok(None)` when no kubelet
/// runs or it reads none or kubeadm's; `Err` when its configuration cannot
/// be read.
fn static_pod_dir(host: &dyn Host) -> Result<Option<(String, String)>, String> {
    let Some(config) = KubeletConfig::load(host)? else { return Ok(None) };
    let setting = config.get(&rampart_sdk::kubelet::STATIC_PODS);
    Ok(setting
        .value
        .map(|dir| dir.trim_end_matches('/').to_string())
        .filter(|dir| !dir.is_empty() && dir != KUBEADM_STATIC_PODS)
        .map(|dir| (dir, format!("the kubelet's staticPodPath, {}", setting.origin))))
}

/// A static pod manifest that is not at kubeadm's path: the same file in
/// the kubelet's own static pod directory, judged there; not-applicable
/// only when it is not there either.
fn manifest_elsewhere(
    host: &dyn Host,
    check: &Check,
    path: &'static str,
    node: &Node,
    out: &mut Findings,
) -> Option<(FileStat, Option<String>)> {
    let na = |msg: String| Finding::new(check.id, Status::NotApplicable, msg).at_path(path);
    let name = path.strip_prefix(KUBEADM_STATIC_PODS).filter(|rest| rest.starts_with('/'));
    let Some(name) = name else {
        out.push(na(format!("{path} does not exist on this node")));
        return None;
    };
    match node.static_pods.get_or_init(|| static_pod_dir(host)) {
        Ok(None) => out.push(na(format!("{path} does not exist on this node"))),
        Err(why) => out.push(
            Finding::new(
                check.id,
                Status::Error,
                format!("{path} does not exist, and where the kubelet reads static pods from cannot be told: {why}"),
            )
            .at_path(path),
        ),
        Ok(Some((dir, origin))) => {
            let other = format!("{dir}{name}");
            match host.stat(&other, true) {
                Ok(st) => return Some((st, Some(origin.clone()))),
                Err(AccessError::NotFound(_)) => out.push(
                    Finding::new(check.id, Status::NotApplicable, format!("neither {path} nor {other} ({origin}) exists on this node"))
                        .at_path(other.as_str()),
                ),
                Err(AccessError::Denied(m)) => out.push(
                    Finding::new(
                        check.id,
                        Status::Error,
                        format!("{m}; the kubelet reads static pods from {dir} ({origin}): --grant node.stat:{dir}/*"),
                    )
                    .at_path(other.as_str()),
                ),
                Err(e) => out.push(Finding::new(check.id, Status::Error, e.reason()).at_path(other.as_str())),
            }
        }
    }
    None
}

/// The control-plane components: process name and kubeadm's static pod
/// manifest. Any of them makes a control-plane node (an external etcd node
/// runs etcd alone).
const COMPONENTS: &[(&str, &str)] = &[
    ("kube-apiserver", "/etc/kubernetes/manifests/kube-apiserver.yaml"),
    ("etcd", "/etc/kubernetes/manifests/etcd.yaml"),
    ("kube-controller-manager", "/etc/kubernetes/manifests/kube-controller-manager.yaml"),
    ("kube-scheduler", "/etc/kubernetes/manifests/kube-scheduler.yaml"),
];

const NO_CONTROL_PLANE: &str = "no control-plane component on this node: no kube-apiserver, etcd, kube-controller-manager or kube-scheduler process or static pod manifest";

/// How we know this node runs a control-plane component; `Ok(None)` only
/// when every component was seen to be absent (processes listed, manifests
/// not found), `Err` when one could not be told and none was found.
fn control_plane(host: &dyn Host) -> Result<Option<String>, String> {
    let mut unknown = None;
    for (name, manifest) in COMPONENTS {
        match component_present(host, name, manifest) {
            Ok(Some(why)) => return Ok(Some(why)),
            Ok(None) => {}
            Err(e) => unknown = unknown.or(Some(e)),
        }
    }
    unknown.map_or(Ok(None), Err)
}

/// Whether one component is on this node: its manifest exists, or it runs.
fn component_present(host: &dyn Host, name: &str, manifest: &str) -> Result<Option<String>, String> {
    let manifest_error = match host.stat(manifest, true) {
        Ok(_) => return Ok(Some(format!("{manifest} exists"))),
        Err(AccessError::NotFound(_)) => None,
        Err(e) => Some(format!("{manifest}: {}", e.reason())),
    };
    match host.process_args(name) {
        Ok(procs) if !procs.is_empty() => Ok(Some(format!("{name} runs"))),
        Ok(_) => manifest_error.map_or(Ok(None), Err),
        Err(e) => Err(format!("cannot tell whether {name} runs: {}", e.reason())),
    }
}

/// etcd as control-plane-files reads it: its data directory, from
/// `--data-dir`, `ETCD_DATA_DIR` or the config file that replaces both.
const ETCD: Component = rampart_sdk::flags::etcd(&[("data-dir", "data-dir")]);

/// The etcd data directory with where it was found, or why it is unknown.
fn etcd_data_dir(host: &dyn Host) -> Result<Option<(String, String)>, String> {
    let unknown = |why: String| format!("cannot tell etcd's data directory: {why}");
    let (launch, source) = match component_args(host, ETCD.name, ETCD.manifest) {
        Err(e) => return Err(format!("cannot read etcd's command line: {}", e.reason())),
        Ok(None) => return Ok(None),
        Ok(Some(found)) => found,
    };
    let (args, source) = ETCD.effective(host, &launch, source).map_err(unknown)?;
    if let Some(why) = args.unknown("data-dir") {
        return Err(unknown(why.to_string()));
    }
    Ok(Some(match (args.get("data-dir"), &source) {
        // With a config file etcd ignores its other flags: the file's
        // data-dir is the one.
        (Some(dir), ArgsSource::ConfigFile { path, of }) => (dir.to_string(), format!("data-dir in {path} (--config-file of the {of})")),
        (None, ArgsSource::ConfigFile { path, of }) => {
            return Err(unknown(format!(
                "--config-file {path} of the {of} sets no data-dir, so etcd uses <name>.etcd in its working directory, which a scan cannot locate"
            )));
        }
        (Some(dir), _) => (dir.to_string(), format!("--data-dir of the {source}")),
        (None, _) => (DEFAULT_ETCD_DATA_DIR.to_string(), format!("etcd default (no --data-dir in the {source})")),
    }))
}

fn evaluate_check(host: &dyn Host, settings: &Settings, check: &Check, node: &Node, out: &mut Findings) {
    let (control_plane, etcd_dir) = (&node.control_plane, &node.etcd_dir);
    let na = |msg: String| Finding::new(check.id, Status::NotApplicable, msg);
    // CNI files are also on workers (the network plugin's config): they are
    // control-plane files only on a control-plane node. The PKI tree is
    // judged wherever it holds files (a worker keeps the cluster CA there,
    // and the STIG's PKI rules are about the files, not the node's role);
    // a named file is judged wherever it exists.
    if matches!(check.subject, Subject::Cni) {
        match control_plane {
            Err(e) => {
                return out.push(Finding::new(
                    check.id,
                    Status::Error,
                    format!("cannot tell whether this node runs a control-plane component: {e}"),
                ));
            }
            Ok(None) => return out.push(na(NO_CONTROL_PLANE.into())),
            Ok(Some(_)) => {}
        }
    }
    let mut subjects: Vec<(FileStat, Option<String>)> = Vec::new();
    let mut errors = 0;
    match check.subject {
        Subject::File(path) => match host.stat(path, true) {
            Ok(st) => subjects.push((st, None)),
            Err(AccessError::NotFound(_)) => match manifest_elsewhere(host, check, path, node, out) {
                Some(found) => subjects.push(found),
                None => return,
            },
            Err(e) => return out.push(Finding::new(check.id, Status::Error, e.reason()).at_path(path)),
        },
        Subject::Files(paths) => {
            for path in paths {
                match host.stat(path, true) {
                    Ok(st) => subjects.push((st, None)),
                    Err(AccessError::NotFound(_)) => {}
                    Err(e) => {
                        errors += 1;
                        out.push(Finding::new(check.id, Status::Error, e.reason()).at_path(*path));
                    }
                }
            }
            if subjects.is_empty() && errors == 0 {
                return out.push(na(format!("none of {} exists on this node", paths.join(", "))));
            }
        }
        Subject::Tree { dir, suffix } => match walk(host, dir) {
            Ok(all) => {
                subjects.extend(
                    all.into_iter()
                        .filter(|s| match suffix {
                            Some(sfx) => s.file_type != FileType::Directory && s.path.ends_with(sfx),
                            None => true,
                        })
                        .map(|s| (s, None)),
                );
                if subjects.is_empty() {
                    return out.push(
                        na(format!("no {} under {dir}", suffix.map_or("files".to_string(), |s| format!("*{s} files")))).at_path(dir),
                    );
                }
            }
            Err(AccessError::NotFound(_)) => return out.push(na(format!("{dir} does not exist on this node")).at_path(dir)),
            Err(e) => return out.push(Finding::new(check.id, Status::Error, e.reason()).at_path(dir)),
        },
        Subject::Cni => {
            for dir in CNI_DIRS {
                match walk(host, dir) {
                    Ok(all) => subjects.extend(all.into_iter().filter(|s| s.file_type == FileType::File).map(|s| (s, None))),
                    Err(AccessError::NotFound(_)) => {}
                    Err(e) => {
                        errors += 1;
                        out.push(Finding::new(check.id, Status::Error, e.reason()).at_path(*dir));
                    }
                }
            }
            if subjects.is_empty() && errors == 0 {
                return out.push(na(format!("no CNI files on this node (looked in {})", CNI_DIRS.join(" and "))));
            }
        }
        Subject::EtcdDataDir | Subject::EtcdDataFiles => match etcd_dir {
            Err(e) => return out.push(Finding::new(check.id, Status::Error, e.clone())),
            Ok(None) => return out.push(na("etcd does not run on this node (no etcd process, no etcd static pod manifest)".into())),
            Ok(Some((dir, source))) => {
                // The directory itself, or the regular files below it.
                let files = matches!(check.subject, Subject::EtcdDataFiles);
                let found = if files {
                    walk(host, dir).map(|all| all.into_iter().filter(|s| s.file_type == FileType::File).collect())
                } else {
                    host.stat(dir, true).map(|st| vec![st])
                };
                match found {
                    Ok(found) if files && found.is_empty() => {
                        // No file is wider than the limit when there is none;
                        // the directory itself is judged by its own checks.
                        return out.push(
                            Finding::new(check.id, Status::Pass, format!("the etcd data directory {dir} ({source}) holds no files yet"))
                                .at_path(dir.as_str())
                                .with("found-by", source.clone()),
                        );
                    }
                    Ok(found) => subjects.extend(found.into_iter().map(|st| (st, Some(source.clone())))),
                    Err(AccessError::NotFound(_)) => {
                        return out.push(
                            Finding::new(check.id, Status::Fail, format!("etcd data directory {dir} ({source}) does not exist"))
                                .at_path(dir.as_str()),
                        );
                    }
                    Err(AccessError::Denied(m)) => {
                        let grant = if files { format!("{dir}/**") } else { dir.clone() };
                        let message = format!("{m}; the data directory is not where the registry grants it: --grant node.stat:{grant}");
                        return out.push(Finding::new(check.id, Status::Error, message).at_path(dir.as_str()));
                    }
                    Err(e) => return out.push(Finding::new(check.id, Status::Error, e.reason()).at_path(dir.as_str())),
                }
            }
        },
    }
    for (st, source) in subjects {
        let mut f = judge(check.id, check.rule, &st, settings);
        if let Some(s) = source {
            f = f.with("found-by", s);
        }
        out.push(f);
    }
}

/// A directory and everything below it, not following symlinks. Only the
/// directory itself can be `NotFound`: a listing below it that fails is an
/// error, never "the directory does not exist".
fn walk(host: &dyn Host, dir: &str) -> Result<Vec<FileStat>, AccessError> {
    let top = host.stat(dir, true)?;
    let mut out = vec![top];
    let mut stack = vec![dir.to_string()];
    while let Some(d) = stack.pop() {
        let entries = host.list_dir(&d).map_err(|e| match e {
            AccessError::NotFound(m) => AccessError::Unavailable(format!("{d} could not be listed ({m}) although it was seen")),
            e => e,
        })?;
        for entry in entries {
            if entry.file_type == FileType::Directory {
                stack.push(entry.path.clone());
            }
            out.push(entry);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

rampart_sdk::export_plugin!(ControlPlaneFiles);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;

    const ETCD_MANIFEST: &str =
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: etcd\n    command: [etcd, --data-dir=/var/lib/etcd]\n";

    /// A kubeadm control plane as kubeadm v1.36 leaves it.
    fn kubeadm_cp() -> FakeHost {
        let mut h = FakeHost::new()
            .dir("/etc/kubernetes", 0o755, 0, 0)
            .dir("/etc/kubernetes/manifests", 0o700, 0, 0)
            .file("/etc/kubernetes/manifests/kube-apiserver.yaml", 0o600, 0, 0, "kind: Pod")
            .file("/etc/kubernetes/manifests/kube-controller-manager.yaml", 0o600, 0, 0, "kind: Pod")
            .file("/etc/kubernetes/manifests/kube-scheduler.yaml", 0o600, 0, 0, "kind: Pod")
            .file("/etc/kubernetes/manifests/etcd.yaml", 0o600, 0, 0, ETCD_MANIFEST)
            .file("/etc/kubernetes/admin.conf", 0o600, 0, 0, "")
            .file("/etc/kubernetes/super-admin.conf", 0o600, 0, 0, "")
            .file("/etc/kubernetes/scheduler.conf", 0o600, 0, 0, "")
            .file("/etc/kubernetes/controller-manager.conf", 0o600, 0, 0, "")
            .dir(PKI, 0o755, 0, 0)
            .dir("/etc/kubernetes/pki/etcd", 0o755, 0, 0)
            .dir("/var/lib/etcd", 0o700, 0, 0);
        for name in ["ca", "apiserver", "etcd/ca", "etcd/server"] {
            h = h.file(&format!("{PKI}/{name}.crt"), 0o644, 0, 0, "").file(&format!("{PKI}/{name}.key"), 0o600, 0, 0, "");
        }
        h.file(&format!("{PKI}/sa.pub"), 0o600, 0, 0, "")
    }

    fn status_of(findings: &[Finding], id: &str) -> Vec<Status> {
        findings.iter().filter(|f| f.check == id).map(|f| f.status).collect()
    }

    #[test]
    fn kubeadm_defaults_pass_all_but_the_etcd_owner() {
        let findings = kubeadm_cp().run::<ControlPlaneFiles>(&[]).unwrap();
        for c in CHECKS {
            let s = status_of(&findings, c.id);
            let want = match c.id {
                "etcd-data-dir-owner" => Status::Fail,
                // No CNI is installed on the recorded node.
                "cni-files-mode" | "cni-files-owner" => Status::NotApplicable,
                _ => Status::Pass,
            };
            assert!(!s.is_empty() && s.iter().all(|x| *x == want), "{}: {s:?}", c.id);
        }
        let owner = findings.iter().find(|f| f.check == "etcd-data-dir-owner").unwrap();
        assert!(owner.message.contains("want etcd:etcd"), "{}", owner.message);
        assert!(owner.evidence.iter().any(|(k, v)| k == "found-by" && v.contains("--data-dir of the static pod manifest")));
    }

    #[test]
    fn a_loose_manifest_and_key_fail() {
        let host = kubeadm_cp().file("/etc/kubernetes/manifests/kube-apiserver.yaml", 0o644, 0, 0, "kind: Pod").file(
            &format!("{PKI}/ca.key"),
            0o640,
            0,
            0,
            "",
        );
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        assert_eq!(status_of(&findings, "apiserver-manifest-mode"), vec![Status::Fail]);
        let keys: Vec<_> =
            findings.iter().filter(|f| f.check == "pki-key-mode" && f.status == Status::Fail).map(|f| f.path.clone().unwrap()).collect();
        assert_eq!(keys, vec![format!("{PKI}/ca.key")]);
        // A STIG-style threshold of 0644 accepts the manifest.
        let findings = host.run::<ControlPlaneFiles>(&[("manifest-mode", "0644")]).unwrap();
        assert_eq!(status_of(&findings, "apiserver-manifest-mode"), vec![Status::Pass]);
    }

    /// etcd started with --config-file ignores its --data-dir flag.
    #[test]
    fn etcd_data_dir_comes_from_its_config_file_when_it_has_one() {
        let argv = ["etcd", "--config-file=/etc/etcd/etcd.yml", "--data-dir=/var/lib/etcd"];
        let host = kubeadm_cp().process(&argv).file("/etc/etcd/etcd.yml", 0o600, 0, 0, "name: cp-1\ndata-dir: /data/etcd\n").dir(
            "/data/etcd",
            0o755,
            0,
            0,
        );
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "etcd-data-dir-mode").unwrap();
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.evidence.iter().any(|(k, v)| k == "found-by" && v.contains("data-dir in /etc/etcd/etcd.yml")), "{f:?}");
        for file in [None, Some("name: cp-1\n"), Some("data-dir: [/data/etcd]\n"), Some("- data-dir: /data/etcd\n")] {
            let mut host = kubeadm_cp().process(&argv);
            if let Some(text) = file {
                host = host.file("/etc/etcd/etcd.yml", 0o600, 0, 0, text);
            }
            let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
            let f = findings.iter().find(|f| f.check == "etcd-data-dir-mode").unwrap();
            assert_eq!(f.status, Status::Error, "{f:?}");
        }
    }

    #[test]
    fn etcd_data_dir_comes_from_the_running_process() {
        let host = kubeadm_cp().process(&["etcd", "--data-dir", "/data/etcd"]).dir("/data/etcd", 0o755, 0, 0);
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "etcd-data-dir-mode").unwrap();
        assert_eq!((f.status, f.path.as_deref()), (Status::Fail, Some("/data/etcd")));
    }

    /// etcd takes `--data-dir` from ETCD_DATA_DIR when its command line
    /// leaves it out; a value the kubelet fills in at start is unknown.
    #[test]
    fn etcd_data_dir_comes_from_its_environment_when_the_flags_leave_it_out() {
        let manifest =
            "spec:\n  containers:\n  - name: etcd\n    command: [etcd]\n    env:\n    - {name: ETCD_DATA_DIR, value: /data/etcd}\n";
        let host = kubeadm_cp().file("/etc/kubernetes/manifests/etcd.yaml", 0o600, 0, 0, manifest).dir("/data/etcd", 0o755, 0, 0);
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "etcd-data-dir-mode").unwrap();
        assert_eq!((f.status, f.path.as_deref()), (Status::Fail, Some("/data/etcd")), "{f:?}");
        assert!(f.evidence.iter().any(|(k, v)| k == "found-by" && v.contains("with its environment (ETCD_DATA_DIR)")), "{f:?}");
        let hidden = manifest.replace("value: /data/etcd", "valueFrom: {fieldRef: {fieldPath: metadata.name}}");
        let host = kubeadm_cp().file("/etc/kubernetes/manifests/etcd.yaml", 0o600, 0, 0, hidden);
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "etcd-data-dir-mode").unwrap();
        assert_eq!(f.status, Status::Error, "{f:?}");
        assert!(f.message.contains("ETCD_DATA_DIR"), "{}", f.message);
    }

    #[test]
    fn etcd_data_files_are_judged_one_by_one_and_directories_are_not() {
        let host = kubeadm_cp()
            .dir("/var/lib/etcd/member", 0o700, 0, 0)
            .dir("/var/lib/etcd/member/snap", 0o700, 0, 0)
            .file("/var/lib/etcd/member/snap/db", 0o600, 0, 0, "")
            .dir("/var/lib/etcd/member/wal", 0o700, 0, 0)
            .file("/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal", 0o666, 0, 0, "");
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        let got: Vec<(Option<&str>, Status)> =
            findings.iter().filter(|f| f.check == "etcd-data-files-mode").map(|f| (f.path.as_deref(), f.status)).collect();
        assert_eq!(
            got,
            [
                (Some("/var/lib/etcd/member/snap/db"), Status::Pass),
                (Some("/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal"), Status::Fail)
            ]
        );
    }

    #[test]
    fn a_pki_file_owned_by_someone_else_fails() {
        let host = kubeadm_cp().file(&format!("{PKI}/etcd/peer.crt"), 0o644, 1000, 0, "");
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        let bad: Vec<_> =
            findings.iter().filter(|f| f.check == "pki-owner" && f.status == Status::Fail).map(|f| f.path.clone().unwrap()).collect();
        assert_eq!(bad, vec![format!("{PKI}/etcd/peer.crt")]);
    }

    #[test]
    fn a_worker_is_not_applicable() {
        let host = FakeHost::new()
            .dir("/etc/kubernetes", 0o755, 0, 0)
            .file("/etc/kubernetes/kubelet.conf", 0o600, 0, 0, "")
            .process(&["/usr/bin/kubelet"]);
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        assert_eq!(findings.len(), CHECKS.len());
        assert!(findings.iter().all(|f| f.status == Status::NotApplicable));
    }

    /// An external etcd node (kubeadm's external etcd topology): etcd runs
    /// as a static pod with its certificates under /etc/kubernetes/pki/etcd,
    /// and no API server. Regression: every check was not-applicable ("no
    /// control plane") because there was no API server.
    fn etcd_only() -> FakeHost {
        FakeHost::new()
            .dir("/etc/kubernetes", 0o755, 0, 0)
            .dir("/etc/kubernetes/manifests", 0o700, 0, 0)
            .file("/etc/kubernetes/manifests/etcd.yaml", 0o600, 0, 0, ETCD_MANIFEST)
            .file("/etc/kubernetes/kubelet.conf", 0o600, 0, 0, "")
            .dir(PKI, 0o755, 0, 0)
            .dir("/etc/kubernetes/pki/etcd", 0o755, 0, 0)
            .file("/etc/kubernetes/pki/etcd/ca.crt", 0o644, 0, 0, "")
            .file("/etc/kubernetes/pki/etcd/ca.key", 0o644, 0, 0, "")
            .file("/etc/kubernetes/pki/etcd/server.crt", 0o644, 0, 0, "")
            .file("/etc/kubernetes/pki/etcd/server.key", 0o600, 0, 0, "")
            .dir("/var/lib/etcd", 0o700, 0, 0)
            .dir("/var/lib/etcd/member", 0o700, 0, 0)
            .file("/var/lib/etcd/member/db", 0o600, 0, 0, "")
            .process(&["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"])
            .file("/var/lib/kubelet/config.yaml", 0o644, 0, 0, KUBEADM_KUBELET_CONFIG)
            .process(&["etcd", "--data-dir=/var/lib/etcd"])
    }

    /// What kubeadm writes for the kubelet, as far as these checks read it.
    const KUBEADM_KUBELET_CONFIG: &str =
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\n";

    /// RKE2's layout: the kubelet reads static pods from its own directory,
    /// where the manifests are judged; a manifest in neither place is
    /// not-applicable, naming both; a directory outside the grant, or a
    /// kubelet whose configuration cannot be read, is an error.
    #[test]
    fn manifests_are_judged_in_the_kubelets_static_pod_directory() {
        const RKE2: &str = "/var/lib/rancher/rke2/agent/pod-manifests";
        let flag = format!("--pod-manifest-path={RKE2}/");
        let with = |kubelet: &[&str]| {
            FakeHost::new()
                .dir("/etc/kubernetes", 0o755, 0, 0)
                .process(kubelet)
                .file("/var/lib/kubelet/config.yaml", 0o644, 0, 0, KUBEADM_KUBELET_CONFIG)
                .dir(RKE2, 0o700, 0, 0)
                .file(&format!("{RKE2}/kube-apiserver.yaml"), 0o644, 0, 0, "kind: Pod")
                .process(&["kube-apiserver", "--secure-port=6443"])
        };
        let host = || with(&["kubelet", &flag, "--config=/var/lib/kubelet/config.yaml"]);
        let findings = host().run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "apiserver-manifest-mode").unwrap();
        assert_eq!((f.status, f.path.clone()), (Status::Fail, Some(format!("{RKE2}/kube-apiserver.yaml"))), "{f:?}");
        assert!(f.evidence.iter().any(|(k, v)| k == "found-by" && v.contains("flag --pod-manifest-path")), "{f:?}");
        assert_eq!(status_of(&findings, "apiserver-manifest-owner"), [Status::Pass]);
        let f = findings.iter().find(|f| f.check == "scheduler-manifest-mode").unwrap();
        assert_eq!(f.status, Status::NotApplicable, "{f:?}");
        assert!(f.message.contains("/etc/kubernetes/manifests/kube-scheduler.yaml") && f.message.contains(RKE2), "{}", f.message);

        // Without the flag, kubeadm's directory is the kubelet's: as before.
        let kubeadm = with(&["kubelet", "--config=/var/lib/kubelet/config.yaml"]);
        assert_eq!(status_of(&kubeadm.run::<ControlPlaneFiles>(&[]).unwrap(), "apiserver-manifest-mode"), [Status::NotApplicable]);

        let broken = host().file("/var/lib/kubelet/config.yaml", 0o644, 0, 0, "- not a mapping\n");
        let findings = broken.run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "apiserver-manifest-mode").unwrap();
        assert!(f.status == Status::Error && f.message.contains("/var/lib/kubelet/config.yaml"), "{f:?}");
    }

    #[test]
    fn an_etcd_only_node_gets_its_etcd_and_pki_checks() {
        let findings = etcd_only().run::<ControlPlaneFiles>(&[]).unwrap();
        for (id, want) in [
            ("etcd-manifest-mode", Status::Pass),
            ("etcd-manifest-owner", Status::Pass),
            ("etcd-data-dir-mode", Status::Pass),
            ("etcd-data-dir-owner", Status::Fail),
            ("etcd-data-files-mode", Status::Pass),
            ("pki-owner", Status::Pass),
            ("pki-cert-mode", Status::Pass),
            ("apiserver-manifest-mode", Status::NotApplicable),
            ("scheduler-kubeconfig-mode", Status::NotApplicable),
        ] {
            let got = status_of(&findings, id);
            assert!(!got.is_empty() && got.iter().all(|s| *s == want), "{id}: {got:?}");
        }
        let keys: Vec<_> = findings.iter().filter(|f| f.check == "pki-key-mode").map(|f| (f.path.clone().unwrap(), f.status)).collect();
        assert_eq!(keys, [(format!("{PKI}/etcd/ca.key"), Status::Fail), (format!("{PKI}/etcd/server.key"), Status::Pass)]);
    }

    /// Processes that cannot be seen do not make a worker: the checks that
    /// need to know whether a control plane runs are errors, and so is a
    /// manifest not at kubeadm's path (the kubelet, which would say where
    /// its static pods are, cannot be seen either).
    #[test]
    fn unreadable_processes_are_errors_not_a_worker() {
        let host = FakeHost::new()
            .dir("/etc/kubernetes", 0o755, 0, 0)
            .dir(PKI, 0o755, 0, 0)
            .file(&format!("{PKI}/ca.crt"), 0o644, 0, 0, "")
            .processes_unreadable("hidepid=2");
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        for id in ["cni-files-mode", "etcd-data-dir-mode", "etcd-data-files-mode"] {
            let f: Vec<_> = findings.iter().filter(|f| f.check == id).collect();
            assert!(f.len() == 1 && f[0].status == Status::Error && f[0].message.contains("hidepid=2"), "{id}: {f:?}");
        }
        let f = findings.iter().find(|f| f.check == "apiserver-manifest-mode").unwrap();
        assert!(f.status == Status::Error && f.message.contains("where the kubelet reads static pods from"), "{f:?}");
        assert_eq!(status_of(&findings, "scheduler-kubeconfig-mode"), [Status::NotApplicable], "a named file seen absent");
        // The PKI files are judged whatever the node's role.
        assert_eq!(status_of(&findings, "pki-cert-mode"), [Status::Pass]);
        // A manifest on disk is enough to know the node's role: the CNI
        // check then says there are no CNI files rather than erring.
        let host = host.file("/etc/kubernetes/manifests/kube-scheduler.yaml", 0o600, 0, 0, "kind: Pod");
        let findings = host.run::<ControlPlaneFiles>(&[]).unwrap();
        assert_eq!(status_of(&findings, "cni-files-mode"), [Status::NotApplicable]);
    }

    /// STIG V-242451 / V-242466 on a worker: the CA certificate kubeadm's
    /// join leaves in /etc/kubernetes/pki is judged, not skipped for want
    /// of a control plane.
    #[test]
    fn a_workers_pki_files_are_judged() {
        let worker = || {
            FakeHost::new()
                .dir("/etc/kubernetes", 0o755, 0, 0)
                .dir(PKI, 0o755, 0, 0)
                .file("/etc/kubernetes/kubelet.conf", 0o600, 0, 0, "")
                .process(&["/usr/bin/kubelet"])
        };
        let findings = worker().file(&format!("{PKI}/ca.crt"), 0o644, 0, 0, "").run::<ControlPlaneFiles>(&[]).unwrap();
        assert_eq!(status_of(&findings, "pki-owner"), vec![Status::Pass, Status::Pass], "the directory and ca.crt");
        assert_eq!(status_of(&findings, "pki-cert-mode"), vec![Status::Pass]);
        assert_eq!(status_of(&findings, "pki-key-mode"), vec![Status::NotApplicable], "no keys on a worker");
        assert_eq!(status_of(&findings, "apiserver-manifest-mode"), vec![Status::NotApplicable]);
        let loose = worker().file(&format!("{PKI}/ca.crt"), 0o666, 1000, 0, "").run::<ControlPlaneFiles>(&[]).unwrap();
        assert_eq!(status_of(&loose, "pki-cert-mode"), vec![Status::Fail]);
        assert!(status_of(&loose, "pki-owner").contains(&Status::Fail));
    }

    /// STIG V-242459: an etcd data directory with no files has none wider
    /// than 0644 (V-242445 judges the directory itself).
    #[test]
    fn an_empty_etcd_data_directory_passes_the_file_mode_check() {
        let findings = kubeadm_cp().run::<ControlPlaneFiles>(&[]).unwrap();
        let f = findings.iter().find(|f| f.check == "etcd-data-files-mode").unwrap();
        assert_eq!((f.status, f.path.as_deref()), (Status::Pass, Some("/var/lib/etcd")), "{f:?}");
        assert!(f.message.contains("holds no files"), "{}", f.message);
    }

    #[test]
    fn bad_threshold_setting_is_an_error_not_a_pass() {
        let findings = kubeadm_cp().run::<ControlPlaneFiles>(&[("kubeconfig-mode", "rw-------")]).unwrap();
        assert!(status_of(&findings, "scheduler-kubeconfig-mode").iter().all(|s| *s == Status::Error));
    }
}
