//! etcd: the flags etcd runs with (CIS 2).

use rampart_sdk::flags::{self, Component, Cond, Expect, FlagCheck};
use rampart_sdk::{Findings, Host, Plugin, PluginInfo, Settings, Severity};

pub struct Etcd;

const COMPONENT: Component = flags::etcd(&[
    ("cert-file", "client-transport-security.cert-file"),
    ("key-file", "client-transport-security.key-file"),
    ("client-cert-auth", "client-transport-security.client-cert-auth"),
    ("auto-tls", "client-transport-security.auto-tls"),
    ("trusted-ca-file", "client-transport-security.trusted-ca-file"),
    ("peer-cert-file", "peer-transport-security.cert-file"),
    ("peer-key-file", "peer-transport-security.key-file"),
    ("peer-client-cert-auth", "peer-transport-security.client-cert-auth"),
    ("peer-auto-tls", "peer-transport-security.auto-tls"),
]);

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

    /// Regression: etcd started with --config-file ignores its other flags,
    /// and they were judged: flags that looked right passed whatever the
    /// file said.
    #[test]
    fn a_config_file_replaces_the_flags() {
        const FILE: &str = "name: cp-1\ndata-dir: /var/lib/etcd\nclient-transport-security:\n  cert-file: /p/server.crt\n  key-file: /p/server.key\n  client-cert-auth: true\n  trusted-ca-file: /p/ca.crt\n  auto-tls: false\npeer-transport-security:\n  cert-file: /p/peer.crt\n  key-file: /p/peer.key\n  client-cert-auth: true\n  trusted-ca-file: /p/ca.crt\n  auto-tls: false\n";
        let flags = ["etcd", "--config-file=/etc/etcd/etcd.conf.yml"];
        let good = FakeHost::new().file("/etc/etcd/etcd.conf.yml", 0o600, 0, 0, FILE).process(&flags);
        let found = good.run::<Etcd>(&[]).unwrap();
        assert!(found.iter().all(|f| f.status == Status::Pass), "{found:?}");
        let source = found[0].evidence.iter().find(|(k, _)| k == "found-in").map(|(_, v)| v.as_str());
        assert_eq!(source, Some("running process, and the config file /etc/etcd/etcd.conf.yml it names"));
        // Right-looking flags beside a file that turns client certificates off.
        let weak = FILE.replacen("client-cert-auth: true", "client-cert-auth: false", 1).replacen("auto-tls: false", "auto-tls: true", 1);
        let mut argv = flags.to_vec();
        argv.extend(["--client-cert-auth=true", "--cert-file=/p/s.crt", "--key-file=/p/s.key"]);
        let host = FakeHost::new().file("/etc/etcd/etcd.conf.yml", 0o600, 0, 0, weak).process(&argv);
        assert_eq!(failing(&host), ["client-cert-auth", "auto-tls"]);
        // A file that cannot be read leaves nothing to judge.
        let missing = FakeHost::new().process(&argv);
        let found = missing.run::<Etcd>(&[]).unwrap();
        assert!(found.iter().all(|f| f.status == Status::Error && f.message.contains("not from its flags")), "{found:?}");
        for wrong in ["client-transport-security: [", "client-transport-security: {client-cert-auth: [true]}\n", "- cert-file: /p/s.crt\n"]
        {
            let bad = FakeHost::new().file("/etc/etcd/etcd.conf.yml", 0o600, 0, 0, wrong).process(&flags);
            assert!(bad.run::<Etcd>(&[]).unwrap().iter().all(|f| f.status == Status::Error), "{wrong}");
        }
    }

    /// A static pod manifest with `env:` (or its mirror pod).
    fn with_env(env: &str) -> FakeHost {
        let manifest = KUBEADM.replacen("    image:", &format!("    env:\n{env}    image:"), 1);
        FakeHost::new().file(COMPONENT.manifest, 0o600, 0, 0, manifest)
    }

    /// Regression: etcd reads a flag missing from its command line from
    /// ETCD_<FLAG>; only the command line was judged, so
    /// `ETCD_AUTO_TLS=true` beside the kubeadm flags passed "no auto-tls".
    #[test]
    fn etcd_variables_set_flags_the_command_line_leaves_out() {
        let host = with_env("    - name: ETCD_AUTO_TLS\n      value: \"true\"\n    - name: ETCD_PEER_AUTO_TLS\n      value: \"1\"\n");
        assert_eq!(failing(&host), ["auto-tls", "peer-auto-tls"]);
        // The same when etcd runs, started from that manifest.
        let argv = rampart_sdk::component::manifest_argv(KUBEADM.as_bytes(), "etcd").unwrap();
        let running = host.clone().process(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(failing(&running), ["auto-tls", "peer-auto-tls"]);
        let found = host.run::<Etcd>(&[]).unwrap();
        let source = found[2].evidence.iter().find(|(k, _)| k == "found-in").map(|(_, v)| v.as_str()).unwrap();
        assert!(source.ends_with("with its environment (ETCD_AUTO_TLS, ETCD_PEER_AUTO_TLS)"), "{source}");
        // The command line wins over a variable, and an empty one is ignored.
        let host = with_env("    - name: ETCD_CLIENT_CERT_AUTH\n      value: \"false\"\n    - name: ETCD_AUTO_TLS\n      value: \"\"\n");
        assert!(failing(&host).is_empty(), "{:?}", failing(&host));
        // A variable the kubelet fills in at start, or envFrom, hides what
        // etcd runs with: error, not pass.
        let host =
            with_env("    - name: ETCD_AUTO_TLS\n      valueFrom:\n        fieldRef:\n          fieldPath: metadata.annotations['tls']\n");
        let auto = host.run::<Etcd>(&[]).unwrap().into_iter().find(|f| f.check == "auto-tls").unwrap();
        assert_eq!(auto.status, Status::Error, "{auto:?}");
        assert!(auto.message.contains("ETCD_AUTO_TLS"), "{}", auto.message);
        let host = FakeHost::new().file(
            COMPONENT.manifest,
            0o600,
            0,
            0,
            KUBEADM.replacen("    image:", "    envFrom: [{configMapRef: {name: etcd}}]\n    image:", 1),
        );
        let found = host.run::<Etcd>(&[]).unwrap();
        assert!(
            found.iter().all(|f| f.status == Status::Error && f.message.contains("envFrom")),
            "envFrom may set ETCD_CONFIG_FILE, which replaces every flag: {found:?}"
        );
        // A config file named at start could replace every flag.
        let host = with_env(
            "    - name: ETCD_CONFIG_FILE\n      valueFrom:\n        fieldRef:\n          fieldPath: metadata.annotations['config']\n",
        );
        let found = host.run::<Etcd>(&[]).unwrap();
        assert!(found.iter().all(|f| f.status == Status::Error && f.message.contains("ETCD_CONFIG_FILE")), "{found:?}");
        // ETCD_CONFIG_FILE names a config file as --config-file does.
        let host =
            with_env("    - name: ETCD_CONFIG_FILE\n      value: /etc/etcd/etcd.yml\n    - name: ETCD_AUTO_TLS\n      value: \"true\"\n")
                .file("/etc/etcd/etcd.yml", 0o600, 0, 0, "client-transport-security: {auto-tls: false}\n");
        let found = host.run::<Etcd>(&[]).unwrap();
        let auto = found.iter().find(|f| f.check == "auto-tls").unwrap();
        assert_eq!(auto.status, Status::Pass, "the file, not ETCD_AUTO_TLS: {auto:?}");
        assert_eq!(found.iter().find(|f| f.check == "client-tls").unwrap().status, Status::Fail, "the file sets no cert-file");
    }

    /// etcd run by systemd with an environment file (kubespray's
    /// /etc/etcd.env): its flags are in its environment, which the node
    /// shows as /proc/<pid>/environ.
    #[test]
    fn a_running_etcd_is_judged_with_its_own_environment() {
        let argv = ["/usr/local/bin/etcd"];
        let env = [
            ("ETCD_CERT_FILE", "/etc/ssl/etcd/ssl/member.pem"),
            ("ETCD_KEY_FILE", "/etc/ssl/etcd/ssl/member-key.pem"),
            ("ETCD_CLIENT_CERT_AUTH", "true"),
            ("ETCD_TRUSTED_CA_FILE", "/etc/ssl/etcd/ssl/ca.pem"),
            ("ETCD_PEER_CERT_FILE", "/etc/ssl/etcd/ssl/member.pem"),
            ("ETCD_PEER_KEY_FILE", "/etc/ssl/etcd/ssl/member-key.pem"),
            ("ETCD_PEER_CLIENT_CERT_AUTH", "True"),
            ("ETCD_PEER_TRUSTED_CA_FILE", "/etc/ssl/etcd/ssl/ca.pem"),
        ];
        let good = FakeHost::new().process(&argv).environment(&env);
        assert!(failing(&good).is_empty(), "{:?}", failing(&good));
        let found = good.run::<Etcd>(&[]).unwrap();
        let source = found[0].evidence.iter().find(|(k, _)| k == "found-in").map(|(_, v)| v.as_str()).unwrap();
        assert!(source.starts_with("running process, with its environment (ETCD_CERT_FILE, ETCD_KEY_FILE, "), "{source}");
        let mut weak = env.to_vec();
        weak.push(("ETCD_AUTO_TLS", "true"));
        let host = FakeHost::new().process(&argv).environment(&weak);
        assert_eq!(failing(&host), ["auto-tls"]);
        // The same command line, no environment shown (a root laid out
        // with cmdline only): judged by the command line alone.
        assert_eq!(failing(&FakeHost::new().process(&argv)).len(), 5);
        // An environment that is there but cannot be read may name a
        // config file that replaces every flag: error, never a verdict.
        let hidden = FakeHost::new().process(&argv).environment_unreadable("permission denied");
        let found = hidden.run::<Etcd>(&[]).unwrap();
        assert!(found.iter().all(|f| f.status == Status::Error && f.message.contains("permission denied")), "{found:?}");
        // Unless the process was started from the node's static pod
        // manifest (the same argv): the kubelet gave it the manifest's env.
        let kubeadm = rampart_sdk::component::manifest_argv(KUBEADM.as_bytes(), "etcd").unwrap();
        let kubeadm: Vec<&str> = kubeadm.iter().map(String::as_str).collect();
        let started =
            with_env("    - name: ETCD_AUTO_TLS\n      value: \"true\"\n").process(&kubeadm).environment_unreadable("permission denied");
        assert_eq!(failing(&started), ["auto-tls"]);
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
