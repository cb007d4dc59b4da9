//! etcd: the flags etcd runs with (CIS 2).

use rampart_sdk::flags::{self, Component, Cond, Expect, FlagCheck};
use rampart_sdk::{Findings, Host, Plugin, PluginInfo, Settings, Severity};

pub struct Etcd;

const COMPONENT: Component = Component {
    name: "etcd",
    manifest: "/etc/kubernetes/manifests/etcd.yaml",
    bools: &["client-cert-auth", "auto-tls", "peer-client-cert-auth", "peer-auto-tls", "experimental-initial-corrupt-check"],
};

const fn c(flag: &'static str, default: Option<&'static str>, expect: Expect) -> Cond {
    Cond { flag, default, expect }
}

const CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: "client-tls",
        title: "etcd serves clients over TLS",
        severity: Severity::High,
        remediation: "Set --cert-file and --key-file.",
        tags: &["cis-2.1"],
        all: &[c("cert-file", None, Expect::Set), c("key-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "client-cert-auth",
        title: "etcd requires client certificates",
        severity: Severity::High,
        remediation: "Set --client-cert-auth=true.",
        tags: &["cis-2.2"],
        all: &[c("client-cert-auth", Some("false"), Expect::Is("true"))],
    },
    FlagCheck {
        id: "auto-tls",
        title: "etcd does not use self-signed certificates for clients",
        severity: Severity::High,
        remediation: "Remove --auto-tls or set it to false.",
        tags: &["cis-2.3"],
        all: &[c("auto-tls", Some("false"), Expect::Is("false"))],
    },
    FlagCheck {
        id: "peer-tls",
        title: "etcd peers talk over TLS",
        severity: Severity::High,
        remediation: "Set --peer-cert-file and --peer-key-file.",
        tags: &["cis-2.4"],
        all: &[c("peer-cert-file", None, Expect::Set), c("peer-key-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "peer-client-cert-auth",
        title: "etcd requires peer certificates",
        severity: Severity::High,
        remediation: "Set --peer-client-cert-auth=true.",
        tags: &["cis-2.5"],
        all: &[c("peer-client-cert-auth", Some("false"), Expect::Is("true"))],
    },
    FlagCheck {
        id: "peer-auto-tls",
        title: "etcd does not use self-signed certificates for peers",
        severity: Severity::High,
        remediation: "Remove --peer-auto-tls or set it to false.",
        tags: &["cis-2.6"],
        all: &[c("peer-auto-tls", Some("false"), Expect::Is("false"))],
    },
    FlagCheck {
        id: "trusted-ca-file",
        title: "etcd trusts a CA of its own (recorded for review)",
        severity: Severity::Medium,
        remediation: "Give etcd a CA distinct from the cluster CA and set --trusted-ca-file to it.",
        tags: &["cis-2.7"],
        all: &[c("trusted-ca-file", None, Expect::Set)],
    },
];

impl Plugin for Etcd {
    fn info() -> PluginInfo {
        flags::plugin_info("etcd", env!("CARGO_PKG_VERSION"), &COMPONENT, CHECKS)
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        flags::evaluate(host, &COMPONENT, CHECKS, settings, out);
        Ok(())
    }
}

rampart_sdk::export_plugin!(Etcd);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::Status;
    use rampart_sdk::testing::FakeHost;

    const KUBEADM: &str = include_str!("../../../examples/demo/nodes/cp-1/etc/kubernetes/manifests/etcd.yaml");

    fn failing(host: &FakeHost) -> Vec<String> {
        host.run::<Etcd>(&[]).unwrap().into_iter().filter(|f| f.status == Status::Fail).map(|f| f.check).collect()
    }

    #[test]
    fn kubeadm_etcd_passes_every_check() {
        let host = FakeHost::new().file(COMPONENT.manifest, 0o600, 0, 0, KUBEADM);
        assert!(failing(&host).is_empty(), "{:?}", failing(&host));
    }

    #[test]
    fn plaintext_and_auto_tls_fail() {
        let host = FakeHost::new().process(&["etcd", "--auto-tls", "--peer-auto-tls=true", "--data-dir=/var/lib/etcd"]);
        assert_eq!(
            failing(&host),
            ["client-tls", "client-cert-auth", "auto-tls", "peer-tls", "peer-client-cert-auth", "peer-auto-tls", "trusted-ca-file"]
        );
    }
}
