//! scheduler: the flags kube-scheduler runs with (CIS 1.4).

use rampart_sdk::flags::{self, Component, Cond, ConfigFile, Expect, FlagCheck};
use rampart_sdk::{Findings, Host, Plugin, PluginInfo, Settings, Severity};

pub struct Scheduler;

const COMPONENT: Component = Component {
    name: "kube-scheduler",
    manifest: "/etc/kubernetes/manifests/kube-scheduler.yaml",
    bools: &["profiling", "leader-elect"],
    // With --config, kube-scheduler ignores --profiling and takes
    // enableProfiling (default true) from its KubeSchedulerConfiguration;
    // the serving flags (--bind-address, TLS) still apply.
    config_file: Some(ConfigFile { flag: "config", grant: "/etc/kubernetes/*.yaml", keys: &[("profiling", "enableProfiling")] }),
    normalize: None,
    env_prefix: None,
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

    /// Regression: with --config, kube-scheduler ignores --profiling (its
    /// help says so) and profiles unless the file's enableProfiling is
    /// false; `--config=... --profiling=false` passed.
    #[test]
    fn with_a_config_file_profiling_is_the_files() {
        const CONFIG: &str = "/etc/kubernetes/scheduler-config.yaml";
        let file = |text: &str| {
            let argv =
                ["kube-scheduler", "--config=/etc/kubernetes/scheduler-config.yaml", "--profiling=false", "--bind-address=127.0.0.1"];
            let host = FakeHost::new().process(&argv);
            let host = if text.is_empty() { host } else { host.file(CONFIG, 0o600, 0, 0, text) };
            let v = verdicts(&host);
            (v[0].1, v[1].1)
        };
        let head = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";
        assert_eq!(file(head), (Status::Fail, Status::Pass), "enableProfiling defaults to true; --bind-address still counts");
        assert_eq!(file(&format!("{head}enableProfiling: true\n")), (Status::Fail, Status::Pass));
        assert_eq!(file(&format!("{head}enableProfiling: false\n")), (Status::Pass, Status::Pass));
        assert_eq!(file(""), (Status::Error, Status::Error), "the file cannot be read");
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
