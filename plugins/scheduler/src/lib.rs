//! scheduler: the flags kube-scheduler runs with (CIS 1.4).

use rampart_sdk::flags::{self, Component, Cond, Expect, FlagCheck};
use rampart_sdk::{Findings, Host, Plugin, PluginInfo, Settings, Severity};

pub struct Scheduler;

const COMPONENT: Component = Component {
    name: "kube-scheduler",
    manifest: "/etc/kubernetes/manifests/kube-scheduler.yaml",
    bools: &["profiling", "leader-elect"],
    config_file: None,
};

const CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: "profiling",
        title: "The profiling endpoint is disabled",
        severity: Severity::Low,
        remediation: "Set --profiling=false.",
        tags: &["cis-1.4.1"],
        all: &[Cond { flag: "profiling", default: Some("true"), expect: Expect::Is("false") }],
    },
    FlagCheck {
        id: "bind-address",
        title: "The scheduler listens on loopback only",
        severity: Severity::Medium,
        remediation: "Set --bind-address=127.0.0.1 (unset means 0.0.0.0).",
        tags: &["cis-1.4.2"],
        all: &[Cond { flag: "bind-address", default: Some("0.0.0.0"), expect: Expect::Is("127.0.0.1") }],
    },
    flags::tls_min_version(&["stig-V-242377"]),
    flags::ALL_ALPHA_OFF,
    flags::DYNAMIC_AUDITING_OFF,
];

impl Plugin for Scheduler {
    fn info() -> PluginInfo {
        flags::plugin_info("scheduler", env!("CARGO_PKG_VERSION"), &COMPONENT, CHECKS)
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        flags::evaluate(host, &COMPONENT, CHECKS, settings, out);
        Ok(())
    }
}

rampart_sdk::export_plugin!(Scheduler);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::Status;
    use rampart_sdk::testing::FakeHost;

    const KUBEADM: &str = include_str!("../../../examples/demo/nodes/cp-1/etc/kubernetes/manifests/kube-scheduler.yaml");

    fn verdicts(host: &FakeHost) -> Vec<(String, Status)> {
        host.run::<Scheduler>(&[]).unwrap().into_iter().map(|f| (f.check, f.status)).collect()
    }

    #[test]
    fn kubeadm_binds_loopback_but_keeps_profiling() {
        let host = FakeHost::new().file(COMPONENT.manifest, 0o600, 0, 0, KUBEADM);
        let v = verdicts(&host);
        let want = [
            ("profiling", Status::Fail),
            ("bind-address", Status::Pass),
            ("tls-min-version", Status::Fail),
            ("all-alpha-off", Status::Pass),
            ("dynamic-auditing-off", Status::Pass),
        ];
        assert_eq!(v, want.map(|(c, s)| (c.to_string(), s)));
    }

    #[test]
    fn the_recorded_clusters_scheduler_binds_everywhere() {
        // The mirror pod in ../shared/apiserver runs --bind-address=0.0.0.0.
        let host =
            FakeHost::new().process(&["kube-scheduler", "--bind-address=0.0.0.0", "--profiling=false", "--tls-min-version=VersionTLS13"]);
        let v = verdicts(&host);
        let want = [
            ("profiling", Status::Pass),
            ("bind-address", Status::Fail),
            ("tls-min-version", Status::Pass),
            ("all-alpha-off", Status::Pass),
            ("dynamic-auditing-off", Status::Pass),
        ];
        assert_eq!(v, want.map(|(c, s)| (c.to_string(), s)));
    }
}
