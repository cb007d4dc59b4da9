//! node-services: host services a Kubernetes worker node should not run.
//! The DISA STIG (V-242393, V-242394) wants no SSH daemon on workers: nodes
//! are replaced, not logged in to. Control-plane nodes are not-applicable.

use rampart_sdk::{
    AccessError, Capability, CheckInfoBuilder, FileType, Finding, Findings, Host, Plugin, PluginInfo, Settings, Severity, Status,
};

pub struct NodeServices;

const RUNNING: &str = "sshd-not-running";
const ENABLED: &str = "sshd-not-enabled";

/// The unit names distributions give the SSH daemon.
const UNITS: &[&str] = &["ssh.service", "sshd.service", "ssh.socket", "sshd.socket"];
/// Where `systemctl enable` puts its links, by the targets SSH units name.
const WANTS: &[&str] = &["/etc/systemd/system/multi-user.target.wants", "/etc/systemd/system/sockets.target.wants"];
const APISERVER_MANIFEST: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
/// Where `systemctl enable` keeps the wants directories.
const SYSTEMD: &str = "/etc/systemd/system";

impl Plugin for NodeServices {
    fn info() -> PluginInfo {
        let checks = vec![
            CheckInfoBuilder::new(RUNNING, "No SSH daemon runs on a worker node")
                .severity(Severity::Medium)
                .remediation("Stop the SSH service on workers (`systemctl stop ssh sshd`); reach nodes through the API (kubectl debug node/...) instead.")
                .tag("stig-V-242393")
                .build(),
            CheckInfoBuilder::new(ENABLED, "No SSH daemon starts at boot on a worker node")
                .severity(Severity::Medium)
                .remediation("Disable or mask the SSH units on workers: `systemctl disable --now ssh.service ssh.socket` (sshd on RHEL-family systems).")
                .tag("stig-V-242394")
                .build(),
        ];
        let mut capabilities = vec![
            Capability::NodeProcess("sshd".into()),
            Capability::NodeProcess("kube-apiserver".into()),
            Capability::NodeStat(APISERVER_MANIFEST.into()),
            Capability::NodeStat(SYSTEMD.into()),
        ];
        capabilities.extend(WANTS.iter().map(|w| Capability::NodeStat(format!("{w}/*"))));
        PluginInfo { name: "node-services".into(), version: env!("CARGO_PKG_VERSION").into(), checks, capabilities, settings: Vec::new() }
    }

    fn evaluate(host: &dyn Host, _settings: &Settings, out: &mut Findings) -> Result<(), String> {
        match control_plane(host) {
            Err(e) => {
                for id in [RUNNING, ENABLED] {
                    out.push(Finding::new(id, Status::Error, format!("cannot tell whether this is a worker node: {e}")));
                }
                return Ok(());
            }
            Ok(Some(why)) => {
                for id in [RUNNING, ENABLED] {
                    out.push(Finding::new(id, Status::NotApplicable, format!("control-plane node ({why}); the rule is for worker nodes")));
                }
                return Ok(());
            }
            Ok(None) => {}
        }
        out.push(match host.process_args("sshd") {
            Ok(procs) if procs.is_empty() => Finding::new(RUNNING, Status::Pass, "no sshd process runs"),
            Ok(procs) => {
                let mut f = Finding::new(RUNNING, Status::Fail, format!("{} sshd process(es) run on this worker", procs.len()));
                for (i, argv) in procs.iter().enumerate() {
                    f = f.with(format!("process {i}"), argv.join(" "));
                }
                f
            }
            Err(e) => Finding::new(RUNNING, Status::Error, format!("cannot list processes: {}", e.reason())),
        });
        out.push(enabled(host));
        Ok(())
    }
}

/// Why this is a control-plane node, if it is one. The manifest is looked
/// at first: it settles the question even when the processes cannot be
/// seen; without it, a worker is only a worker when the process table was
/// read and holds no kube-apiserver.
fn control_plane(host: &dyn Host) -> Result<Option<String>, String> {
    let manifest_error = match host.stat(APISERVER_MANIFEST, true) {
        Ok(_) => return Ok(Some(format!("{APISERVER_MANIFEST} exists"))),
        Err(AccessError::NotFound(_)) => None,
        Err(e) => Some(e.reason()),
    };
    if !host.process_args("kube-apiserver").map_err(|e| e.reason())?.is_empty() {
        return Ok(Some("kube-apiserver runs here".into()));
    }
    manifest_error.map_or(Ok(None), Err)
}

/// A unit is enabled when `systemctl enable` left its link in a target's
/// wants directory. A link to /dev/null is a masked unit, not an enabled one.
fn enabled(host: &dyn Host) -> Finding {
    // Without systemd's own directory there is no telling what starts at
    // boot (another init system, or not the node's whole root): no links
    // found there proves nothing.
    match host.stat(SYSTEMD, true) {
        Ok(_) => {}
        Err(AccessError::NotFound(_)) => {
            return Finding::new(
                ENABLED,
                Status::Error,
                format!("{SYSTEMD} does not exist: not a systemd node, or not the node's whole root; what starts at boot cannot be told"),
            );
        }
        Err(e) => return Finding::new(ENABLED, Status::Error, format!("{SYSTEMD}: {}", e.reason())),
    }
    let mut links = Vec::new();
    for wants in WANTS {
        for unit in UNITS {
            let path = format!("{wants}/{unit}");
            match host.stat(&path, false) {
                Ok(st) if st.file_type == FileType::Symlink && st.link_target.as_deref() == Some("/dev/null") => {}
                Ok(st) => links.push((path, st.link_target.unwrap_or_else(|| "a file".into()))),
                Err(AccessError::NotFound(_)) => {}
                Err(e) => return Finding::new(ENABLED, Status::Error, format!("{path}: {}", e.reason())),
            }
        }
    }
    if links.is_empty() {
        return Finding::new(ENABLED, Status::Pass, format!("no SSH unit is enabled ({} looked at)", WANTS.join(", ")));
    }
    let mut f = Finding::new(
        ENABLED,
        Status::Fail,
        format!("SSH starts at boot: {}", links.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")),
    );
    for (path, target) in links {
        f = f.with(path, target);
    }
    f
}

rampart_sdk::export_plugin!(NodeServices);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;

    fn statuses(host: &FakeHost) -> Vec<(String, Status)> {
        host.run::<NodeServices>(&[]).unwrap().into_iter().map(|f| (f.check, f.status)).collect()
    }

    fn worker() -> FakeHost {
        FakeHost::new().process(&["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"]).dir(SYSTEMD, 0o755, 0, 0).dir(
            "/etc/systemd/system/multi-user.target.wants",
            0o755,
            0,
            0,
        )
    }

    /// Regression: processes that could not be seen, or a root without
    /// systemd's directory, passed ("no sshd", "no SSH unit enabled").
    #[test]
    fn what_cannot_be_seen_is_an_error_not_a_pass() {
        let hidden = worker().processes_unreadable("hidepid=2");
        assert!(statuses(&hidden).iter().all(|(_, s)| *s == Status::Error), "{:?}", statuses(&hidden));
        let cp = hidden.file(APISERVER_MANIFEST, 0o600, 0, 0, "kind: Pod\n");
        assert!(statuses(&cp).iter().all(|(_, s)| *s == Status::NotApplicable), "the manifest tells a control-plane node");
        let no_systemd = FakeHost::new().process(&["/usr/bin/kubelet"]);
        assert_eq!(statuses(&no_systemd), [(RUNNING.to_string(), Status::Pass), (ENABLED.to_string(), Status::Error)]);
    }

    #[test]
    fn a_worker_without_ssh_passes() {
        assert_eq!(statuses(&worker()), [(RUNNING.to_string(), Status::Pass), (ENABLED.to_string(), Status::Pass)]);
    }

    #[test]
    fn a_running_or_enabled_sshd_fails_and_a_masked_one_does_not() {
        let running = worker().process(&["/usr/sbin/sshd", "-D"]);
        assert_eq!(statuses(&running)[0], (RUNNING.to_string(), Status::Fail));
        let enabled = worker().symlink("/etc/systemd/system/multi-user.target.wants/ssh.service", "/usr/lib/systemd/system/ssh.service");
        assert_eq!(statuses(&enabled)[1], (ENABLED.to_string(), Status::Fail));
        let socket = worker()
            .dir("/etc/systemd/system/sockets.target.wants", 0o755, 0, 0)
            .symlink("/etc/systemd/system/sockets.target.wants/ssh.socket", "/usr/lib/systemd/system/ssh.socket");
        assert_eq!(statuses(&socket)[1], (ENABLED.to_string(), Status::Fail), "socket activation counts");
        let masked = worker().symlink("/etc/systemd/system/multi-user.target.wants/ssh.service", "/dev/null");
        assert_eq!(statuses(&masked)[1], (ENABLED.to_string(), Status::Pass));
    }

    #[test]
    fn a_control_plane_node_is_not_applicable() {
        let cp = worker().process(&["/usr/sbin/sshd", "-D"]).file(APISERVER_MANIFEST, 0o600, 0, 0, "kind: Pod\n");
        assert!(statuses(&cp).iter().all(|(_, s)| *s == Status::NotApplicable));
    }
}
