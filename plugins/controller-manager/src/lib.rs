//! controller-manager: the flags kube-controller-manager runs with (CIS 1.3).

use rampart_sdk::flags::{self, Component, Cond, Expect, FlagCheck};
use rampart_sdk::{Findings, Host, Plugin, PluginInfo, Settings, Severity};

pub struct ControllerManager;

const COMPONENT: Component = Component {
    name: "kube-controller-manager",
    manifest: "/etc/kubernetes/manifests/kube-controller-manager.yaml",
    bools: &["profiling", "use-service-account-credentials", "leader-elect"],
    config_file: None,
    normalize: None,
    env_prefix: None,
};

const fn c(flag: &'static str, default: Option<&'static str>, expect: Expect) -> Cond {
    Cond { flag, default, expect }
}

const CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: "terminated-pod-gc-threshold",
        title: "Terminated pods are garbage-collected at a set threshold",
        severity: Severity::Low,
        remediation: "Set --terminated-pod-gc-threshold to a value that suits the cluster (the default, 12500, is high).",
        tags: &["cis-1.3.1"],
        all: &[c("terminated-pod-gc-threshold", None, Expect::Set)],
    },
    FlagCheck {
        id: "profiling",
        title: "The profiling endpoint is disabled",
        severity: Severity::Low,
        remediation: "Set --profiling=false.",
        tags: &["cis-1.3.2"],
        all: &[c("profiling", Some("true"), Expect::Is("false"))],
    },
    FlagCheck {
        id: "use-service-account-credentials",
        title: "Each controller uses its own service account credentials",
        severity: Severity::Medium,
        remediation: "Set --use-service-account-credentials=true.",
        tags: &["cis-1.3.3"],
        all: &[c("use-service-account-credentials", Some("false"), Expect::Is("true"))],
    },
    FlagCheck {
        id: "service-account-private-key-file",
        title: "A service account signing key is configured",
        severity: Severity::Medium,
        remediation: "Set --service-account-private-key-file.",
        tags: &["cis-1.3.4"],
        all: &[c("service-account-private-key-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "root-ca-file",
        title: "The root CA bundle is given to service accounts",
        severity: Severity::Medium,
        remediation: "Set --root-ca-file to the cluster CA bundle.",
        tags: &["cis-1.3.5"],
        all: &[c("root-ca-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "rotate-kubelet-server-certificate",
        title: "Kubelet serving certificate rotation is not turned off",
        severity: Severity::Medium,
        remediation: "Remove RotateKubeletServerCertificate=false from --feature-gates.",
        tags: &["cis-1.3.6"],
        all: &[c("feature-gates", None, Expect::GateNotOff("RotateKubeletServerCertificate"))],
    },
    FlagCheck {
        id: "bind-address",
        title: "The controller manager listens on loopback only",
        severity: Severity::Medium,
        remediation: "Set --bind-address=127.0.0.1 (unset means 0.0.0.0).",
        tags: &["cis-1.3.7"],
        all: &[c("bind-address", Some("0.0.0.0"), Expect::Is("127.0.0.1"))],
    },
    flags::tls_min_version(&["stig-V-242376"]),
    flags::ALL_ALPHA_OFF,
    flags::DYNAMIC_AUDITING_OFF,
];

impl Plugin for ControllerManager {
    fn info() -> PluginInfo {
        flags::plugin_info("controller-manager", env!("CARGO_PKG_VERSION"), &COMPONENT, CHECKS)
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        flags::evaluate(host, &COMPONENT, CHECKS, settings, out);
        Ok(())
    }
}

rampart_sdk::export_plugin!(ControllerManager);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::Status;
    use rampart_sdk::testing::FakeHost;

    const KUBEADM: &str = include_str!("../../../examples/demo/nodes/cp-1/etc/kubernetes/manifests/kube-controller-manager.yaml");

    fn failing(host: &FakeHost) -> Vec<String> {
        host.run::<ControllerManager>(&[]).unwrap().into_iter().filter(|f| f.status == Status::Fail).map(|f| f.check).collect()
    }

    #[test]
    fn kubeadm_fails_profiling_the_gc_threshold_and_the_unset_tls_minimum() {
        let host = FakeHost::new().file(COMPONENT.manifest, 0o600, 0, 0, KUBEADM);
        assert_eq!(failing(&host), ["terminated-pod-gc-threshold", "profiling", "tls-min-version"]);
    }

    /// A command line that passes every check but the bind address's.
    const HARDENED: &[&str] = &[
        "kube-controller-manager",
        "--profiling=false",
        "--use-service-account-credentials=true",
        "--service-account-private-key-file=/k",
        "--root-ca-file=/c",
        "--terminated-pod-gc-threshold=100",
        "--tls-min-version=VersionTLS12",
    ];

    #[test]
    fn unset_bind_address_means_all_interfaces() {
        let mut argv = HARDENED.to_vec();
        argv.push("--feature-gates=RotateKubeletServerCertificate=false,AllAlpha=true");
        let host = FakeHost::new().process(&argv);
        assert_eq!(failing(&host), ["rotate-kubelet-server-certificate", "bind-address", "all-alpha-off"]);
    }

    /// Regression: the gate was found by the text `...=false` in the last
    /// `--feature-gates`, so `=0`, `=F` or a second flag passed.
    #[test]
    fn a_rotation_gate_switched_off_in_any_spelling_fails() {
        let run = |gates: &[&str]| {
            let mut argv = HARDENED.to_vec();
            argv.push("--bind-address=127.0.0.1");
            argv.extend_from_slice(gates);
            failing(&FakeHost::new().process(&argv))
        };
        assert!(run(&["--feature-gates=RotateKubeletServerCertificate=true"]).is_empty());
        for off in [
            &["--feature-gates=RotateKubeletServerCertificate=0"][..],
            &["--feature-gates=A=true, RotateKubeletServerCertificate = F"],
            &["--feature-gates=RotateKubeletServerCertificate=false", "--feature-gates=A=true"],
        ] {
            assert_eq!(run(off), ["rotate-kubelet-server-certificate"], "{off:?}");
        }
        assert!(run(&["--feature-gates=RotateKubeletServerCertificate=false,RotateKubeletServerCertificate=true"]).is_empty());
    }
}
