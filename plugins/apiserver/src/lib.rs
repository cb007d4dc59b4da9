//! apiserver: the flags kube-apiserver runs with (CIS 1.2, 3.2.1), from its
//! process argv, else its static pod manifest; unset flags are judged by the
//! binary's defaults.

mod config_files;

use rampart_sdk::args::Args;
use rampart_sdk::flags::{self, Component, Cond, Expect, FlagCheck};
use rampart_sdk::{Capability, CheckInfoBuilder, Finding, Findings, Host, Plugin, PluginInfo, Settings, Severity, Status};

pub struct ApiServer;

const COMPONENT: Component = Component {
    name: "kube-apiserver",
    manifest: "/etc/kubernetes/manifests/kube-apiserver.yaml",
    bools: &["anonymous-auth", "profiling", "service-account-lookup", "service-account-extend-token-expiration", "allow-privileged"],
    config_file: None,
    normalize: Some(admission_control),
    env_prefix: None,
};

const fn c(flag: &'static str, default: Option<&'static str>, expect: Expect) -> Cond {
    Cond { flag, default, expect }
}

const STRONG_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

const ADMISSION: &str = "enable-admission-plugins";

/// The admission plugins kube-apiserver v1.36 runs without being named in
/// `--enable-admission-plugins` (its `--help`).
const DEFAULT_ADMISSION: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "PodTopologyLabels",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

/// The deprecated `--admission-control` runs exactly the plugins it names
/// and none of the others, defaults included; kube-apiserver refuses it
/// beside `--enable-admission-plugins` or `--disable-admission-plugins`.
/// Rewritten into those two, so that the admission checks read it.
fn admission_control(args: &mut Args) -> Result<(), String> {
    let Some(named) = args.list("admission-control").filter(|named| !named.is_empty()) else { return Ok(()) };
    for other in [ADMISSION, "disable-admission-plugins"] {
        if args.has(other) {
            return Err(format!("--admission-control and --{other} are both given, and kube-apiserver refuses to start with both"));
        }
    }
    let off: Vec<&str> = DEFAULT_ADMISSION.iter().copied().filter(|p| !named.iter().any(|n| n == p)).collect();
    args.replace(ADMISSION, Some(named.join(",")));
    args.replace("disable-admission-plugins", Some(off.join(",")));
    Ok(())
}

const CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: "token-auth-file",
        title: "No static token file is used",
        severity: Severity::High,
        remediation: "Remove --token-auth-file and move users to certificates, OIDC or webhook authentication.",
        tags: &["cis-1.2.2"],
        all: &[c("token-auth-file", None, Expect::Unset)],
    },
    FlagCheck {
        id: "deny-service-external-ips",
        title: "DenyServiceExternalIPs admission plugin is enabled",
        severity: Severity::Medium,
        remediation: "Add DenyServiceExternalIPs to --enable-admission-plugins.",
        tags: &["cis-1.2.3"],
        all: &[c(ADMISSION, None, Expect::Contains("DenyServiceExternalIPs"))],
    },
    FlagCheck {
        id: "kubelet-client-cert",
        title: "The API server authenticates to kubelets with a client certificate",
        severity: Severity::High,
        remediation: "Set --kubelet-client-certificate and --kubelet-client-key.",
        tags: &["cis-1.2.4"],
        all: &[c("kubelet-client-certificate", None, Expect::Set), c("kubelet-client-key", None, Expect::Set)],
    },
    FlagCheck {
        id: "kubelet-certificate-authority",
        title: "Kubelet serving certificates are verified against a CA",
        severity: Severity::High,
        remediation: "Set --kubelet-certificate-authority to the CA that signs kubelet serving certificates (enable serverTLSBootstrap on kubelets).",
        tags: &["cis-1.2.5"],
        all: &[c("kubelet-certificate-authority", None, Expect::Set)],
    },
    FlagCheck {
        id: "event-rate-limit",
        title: "EventRateLimit admission plugin is enabled with a configuration",
        severity: Severity::Medium,
        remediation: "Add EventRateLimit to --enable-admission-plugins and point --admission-control-config-file at its limits.",
        tags: &["cis-1.2.9"],
        all: &[c(ADMISSION, None, Expect::Contains("EventRateLimit")), c("admission-control-config-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "always-admit",
        title: "AlwaysAdmit admission plugin is not enabled",
        severity: Severity::High,
        remediation: "Remove AlwaysAdmit from --enable-admission-plugins.",
        tags: &["cis-1.2.10"],
        all: &[c(ADMISSION, None, Expect::Lacks("AlwaysAdmit"))],
    },
    FlagCheck {
        id: "always-pull-images",
        title: "AlwaysPullImages admission plugin is enabled",
        severity: Severity::Medium,
        remediation: "Add AlwaysPullImages to --enable-admission-plugins.",
        tags: &["cis-1.2.11"],
        all: &[c(ADMISSION, None, Expect::Contains("AlwaysPullImages"))],
    },
    FlagCheck {
        id: "service-account-admission",
        title: "ServiceAccount admission plugin is not disabled",
        severity: Severity::Medium,
        remediation: "Remove ServiceAccount from --disable-admission-plugins.",
        tags: &["cis-1.2.12"],
        all: &[c("disable-admission-plugins", None, Expect::Lacks("ServiceAccount"))],
    },
    FlagCheck {
        id: "namespace-lifecycle-admission",
        title: "NamespaceLifecycle admission plugin is not disabled",
        severity: Severity::Medium,
        remediation: "Remove NamespaceLifecycle from --disable-admission-plugins.",
        tags: &["cis-1.2.13"],
        all: &[c("disable-admission-plugins", None, Expect::Lacks("NamespaceLifecycle"))],
    },
    FlagCheck {
        id: "node-restriction-admission",
        title: "NodeRestriction admission plugin is enabled",
        severity: Severity::High,
        remediation: "Add NodeRestriction to --enable-admission-plugins.",
        tags: &["cis-1.2.14"],
        all: &[c(ADMISSION, None, Expect::Contains("NodeRestriction"))],
    },
    FlagCheck {
        id: "profiling",
        title: "The profiling endpoint is disabled",
        severity: Severity::Low,
        remediation: "Set --profiling=false.",
        tags: &["cis-1.2.15"],
        all: &[c("profiling", Some("true"), Expect::Is("false"))],
    },
    FlagCheck {
        id: "audit-log-path",
        title: "Audit logging writes to a file",
        severity: Severity::Medium,
        remediation: "Set --audit-log-path (and --audit-policy-file).",
        tags: &["cis-1.2.16"],
        all: &[c("audit-log-path", None, Expect::Set)],
    },
    FlagCheck {
        id: "audit-log-maxage",
        title: "Audit logs are kept at least 30 days",
        severity: Severity::Medium,
        remediation: "Set --audit-log-maxage=30 or more.",
        tags: &["cis-1.2.17"],
        all: &[c("audit-log-maxage", None, Expect::AtLeast(30))],
    },
    FlagCheck {
        id: "audit-log-maxbackup",
        title: "At least 10 rotated audit log files are kept",
        severity: Severity::Medium,
        remediation: "Set --audit-log-maxbackup=10 or more.",
        tags: &["cis-1.2.18"],
        all: &[c("audit-log-maxbackup", None, Expect::AtLeast(10))],
    },
    FlagCheck {
        id: "audit-log-maxsize",
        title: "Audit logs rotate at 100 MB or more",
        severity: Severity::Medium,
        remediation: "Set --audit-log-maxsize=100 or more.",
        tags: &["cis-1.2.19"],
        all: &[c("audit-log-maxsize", None, Expect::AtLeast(100))],
    },
    FlagCheck {
        id: "request-timeout",
        title: "Request timeout (recorded for review)",
        severity: Severity::Info,
        remediation: "Keep the 60s default unless long requests need more; set --request-timeout accordingly.",
        tags: &["cis-1.2.20"],
        all: &[c("request-timeout", Some("1m0s"), Expect::Record)],
    },
    FlagCheck {
        id: "service-account-lookup",
        title: "Service account tokens are checked against etcd",
        severity: Severity::Medium,
        remediation: "Remove --service-account-lookup=false (the default is true).",
        tags: &["cis-1.2.21"],
        all: &[c("service-account-lookup", Some("true"), Expect::Is("true"))],
    },
    FlagCheck {
        id: "service-account-key-file",
        title: "A service account verification key is configured",
        severity: Severity::Medium,
        remediation: "Set --service-account-key-file to the public key matching the controller manager's signing key.",
        tags: &["cis-1.2.22"],
        all: &[c("service-account-key-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "etcd-client-cert",
        title: "The API server authenticates to etcd with a client certificate",
        severity: Severity::High,
        remediation: "Set --etcd-certfile and --etcd-keyfile.",
        tags: &["cis-1.2.23"],
        all: &[c("etcd-certfile", None, Expect::Set), c("etcd-keyfile", None, Expect::Set)],
    },
    FlagCheck {
        id: "tls-cert",
        title: "The API server serves TLS with its own certificate",
        severity: Severity::High,
        remediation: "Set --tls-cert-file and --tls-private-key-file.",
        tags: &["cis-1.2.24"],
        all: &[c("tls-cert-file", None, Expect::Set), c("tls-private-key-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "client-ca-file",
        title: "Client certificates are verified against a CA",
        severity: Severity::High,
        remediation: "Set --client-ca-file.",
        tags: &["cis-1.2.25"],
        all: &[c("client-ca-file", None, Expect::Set)],
    },
    FlagCheck {
        id: "etcd-cafile",
        title: "etcd's serving certificate is verified against a CA",
        severity: Severity::High,
        remediation: "Set --etcd-cafile.",
        tags: &["cis-1.2.26"],
        all: &[c("etcd-cafile", None, Expect::Set)],
    },
    FlagCheck {
        id: "encryption-provider-config",
        title: "Encryption at rest is configured",
        severity: Severity::High,
        remediation: "Write an EncryptionConfiguration and point --encryption-provider-config at it.",
        tags: &["cis-1.2.27"],
        all: &[c("encryption-provider-config", None, Expect::Set)],
    },
    FlagCheck {
        id: "tls-cipher-suites",
        title: "Only strong TLS cipher suites are allowed",
        severity: Severity::Medium,
        remediation: "Set --tls-cipher-suites to AEAD suites only.",
        tags: &["cis-1.2.29"],
        all: &[c("tls-cipher-suites", None, Expect::SubsetOf(STRONG_CIPHERS))],
    },
    FlagCheck {
        id: "service-account-extend-token-expiration",
        title: "Service account token lifetimes are not extended",
        severity: Severity::Medium,
        remediation: "Set --service-account-extend-token-expiration=false.",
        tags: &["cis-1.2.30"],
        all: &[c("service-account-extend-token-expiration", Some("true"), Expect::Is("false"))],
    },
    FlagCheck {
        id: "image-policy-webhook",
        title: "Images are admitted through ImagePolicyWebhook (recorded for review)",
        severity: Severity::Medium,
        remediation: "Enable ImagePolicyWebhook (or an admission webhook that verifies image provenance).",
        tags: &["cis-5.5.1"],
        all: &[c(ADMISSION, None, Expect::Contains("ImagePolicyWebhook"))],
    },
    FlagCheck {
        id: "audit-policy-file",
        title: "An audit policy is configured",
        severity: Severity::Medium,
        remediation: "Set --audit-policy-file to a policy covering secrets, tokens, exec and workload changes.",
        tags: &["cis-3.2.1"],
        all: &[c("audit-policy-file", None, Expect::Set)],
    },
    flags::tls_min_version(&["stig-V-242378"]),
    flags::ALL_ALPHA_OFF,
    flags::DYNAMIC_AUDITING_OFF,
    FlagCheck {
        id: "secure-port",
        title: "The API server serves on a secure port",
        severity: Severity::Medium,
        remediation: "Leave --secure-port at 6443 or another non-zero port.",
        tags: &["stig-V-242389"],
        all: &[Cond { flag: "secure-port", default: Some("6443"), expect: Expect::Not("0") }],
    },
    FlagCheck {
        id: "validating-admission-webhook",
        title: "ValidatingAdmissionWebhook admission plugin is not disabled",
        severity: Severity::High,
        remediation: "Remove ValidatingAdmissionWebhook from --disable-admission-plugins (it is on by default); list it in --enable-admission-plugins to make that explicit.",
        tags: &["stig-V-242436"],
        all: &[
            Cond { flag: "disable-admission-plugins", default: None, expect: Expect::Lacks("ValidatingAdmissionWebhook") },
            Cond { flag: "enable-admission-plugins", default: None, expect: Expect::Record },
        ],
    },
];

impl Plugin for ApiServer {
    fn info() -> PluginInfo {
        let mut checks = flags::check_infos(CHECKS);
        for (id, title, severity, remediation, tag) in [
            (
                config_files::ANONYMOUS,
                "Anonymous requests are refused",
                Severity::High,
                "Set --anonymous-auth=false (or anonymous.enabled: false in the --authentication-config file); check that health probes authenticate first.",
                "cis-1.2.1",
            ),
            (
                config_files::AUTHZ_NOT_ALWAYS_ALLOW,
                "Authorization mode does not include AlwaysAllow",
                Severity::Critical,
                "Set --authorization-mode to Node,RBAC (or list Node and RBAC authorizers, and no AlwaysAllow, in the --authorization-config file).",
                "cis-1.2.6",
            ),
            (
                config_files::AUTHZ_NODE,
                "Authorization mode includes Node",
                Severity::High,
                "Include Node in --authorization-mode (or a Node authorizer in the --authorization-config file).",
                "cis-1.2.7",
            ),
            (
                config_files::AUTHZ_RBAC,
                "Authorization mode includes RBAC",
                Severity::High,
                "Include RBAC in --authorization-mode (or an RBAC authorizer in the --authorization-config file).",
                "cis-1.2.8",
            ),
        ] {
            checks.push(CheckInfoBuilder::new(id, title).severity(severity).remediation(remediation).tag(tag).build());
        }
        checks.push(
            CheckInfoBuilder::new(config_files::ENCRYPTION, "Encryption at rest writes with aescbc, kms or secretbox")
                .severity(Severity::High)
                .remediation("Make aescbc, kms or secretbox the first provider of every resource in the EncryptionConfiguration.")
                .tag("cis-1.2.28")
                .build(),
        );
        checks.push(
            CheckInfoBuilder::new(config_files::AUDIT, "The audit policy logs secrets, tokens, exec and workload changes")
                .severity(Severity::Medium)
                .remediation("Log at least Metadata for secrets, configmaps, tokenreviews, pods/exec|portforward|proxy, services/proxy and workload writes.")
                .tag("cis-3.2.2")
                .build(),
        );
        checks.push(
            CheckInfoBuilder::new(config_files::AUDIT_BODIES, "The audit policy records request and response bodies for every request")
                .severity(Severity::Medium)
                .remediation("End the audit policy with a catch-all `- level: RequestResponse` rule and put no lower-level rule before it.")
                .tag("stig-V-242403")
                .build(),
        );
        checks.push(
            CheckInfoBuilder::new(ADMISSION_CONFIG, "An admission configuration sets cluster-wide Pod Security defaults")
                .severity(Severity::High)
                .remediation("Pass --admission-control-config-file naming an AdmissionConfiguration whose PodSecurity plugin enforces baseline or restricted by default.")
                .tag("stig-V-254800")
                .build(),
        );
        let mut capabilities = COMPONENT.capabilities();
        // The files --authorization-config, --encryption-provider-config and
        // --audit-policy-file name.
        capabilities.push(Capability::NodeRead("/etc/kubernetes/*.yaml".into()));
        capabilities.push(Capability::NodeRead("/etc/kubernetes/audit/*".into()));
        capabilities.push(Capability::NodeRead("/etc/kubernetes/enc/*".into()));
        PluginInfo {
            name: "apiserver".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            checks,
            capabilities,
            settings: rampart_sdk::flags::settings(CHECKS),
        }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let extra = [
            config_files::ANONYMOUS,
            config_files::AUTHZ_NOT_ALWAYS_ALLOW,
            config_files::AUTHZ_NODE,
            config_files::AUTHZ_RBAC,
            config_files::ENCRYPTION,
            config_files::AUDIT,
            config_files::AUDIT_BODIES,
            ADMISSION_CONFIG,
        ];
        flags::evaluate_with(host, &COMPONENT, CHECKS, &extra, settings, out, &mut |args, out| {
            // A flag these checks read whose value the kubelet fills in at
            // start (`$(VAR)` from `valueFrom`) leaves them undecided.
            let unknown = |ids: &[&str], flags: &[&str]| -> Option<Vec<Finding>> {
                let why = flags.iter().find_map(|f| args.unknown(f))?;
                Some(ids.iter().map(|id| Finding::new(id, Status::Error, why.to_string())).collect())
            };
            let authz = [config_files::AUTHZ_NOT_ALWAYS_ALLOW, config_files::AUTHZ_NODE, config_files::AUTHZ_RBAC];
            let judged = [
                unknown(&[config_files::ANONYMOUS], &["anonymous-auth", "authentication-config"])
                    .unwrap_or_else(|| vec![config_files::anonymous(host, args)]),
                unknown(&authz, &["authorization-mode", "authorization-config"])
                    .unwrap_or_else(|| Vec::from(config_files::authorization(host, args))),
                unknown(&[config_files::ENCRYPTION], &["encryption-provider-config"])
                    .unwrap_or_else(|| vec![config_files::encryption(host, args)]),
                unknown(&[config_files::AUDIT, config_files::AUDIT_BODIES], &["audit-policy-file"])
                    .unwrap_or_else(|| vec![config_files::audit(host, args), config_files::audit_bodies(host, args)]),
                unknown(&[ADMISSION_CONFIG], &["admission-control-config-file"]).unwrap_or_else(|| vec![admission_config(args)]),
            ];
            for f in judged.into_iter().flatten() {
                out.push(f);
            }
        });
        Ok(())
    }
}

const ADMISSION_CONFIG: &str = "admission-control-config";

/// STIG V-254800: without `--admission-control-config-file` there are no
/// cluster-wide Pod Security defaults, which the check's first sentence
/// makes a finding. With one, whether its PodSecurity defaults are
/// least-privilege (and its exemptions documented) is a person's call: the
/// verdict is `warn`, never `pass`.
fn admission_config(args: &Args) -> Finding {
    const FLAG: &str = "admission-control-config-file";
    match args.get(FLAG).filter(|v| !v.is_empty()) {
        None => Finding::new(
            ADMISSION_CONFIG,
            Status::Fail,
            format!("--{FLAG} is not set: the API server has no admission configuration, so no cluster-wide Pod Security defaults"),
        )
        .with(format!("--{FLAG}"), "unset"),
        Some(path) => Finding::new(
            ADMISSION_CONFIG,
            Status::Warn,
            format!(
                "--{FLAG} is {path}: review its PodSecurity plugin's defaults and exemptions (least privilege is a reviewer's judgement)"
            ),
        )
        .with(format!("--{FLAG}"), path),
    }
}

rampart_sdk::export_plugin!(ApiServer);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::Status;
    use rampart_sdk::testing::FakeHost;

    /// The manifest kubeadm v1.36 writes (examples/demo).
    const KUBEADM: &str = include_str!("../../../examples/demo/nodes/cp-1/etc/kubernetes/manifests/kube-apiserver.yaml");

    fn verdicts(host: &FakeHost) -> Vec<(String, Status)> {
        host.run::<ApiServer>(&[]).unwrap().into_iter().map(|f| (f.check, f.status)).collect()
    }

    /// A flag the extra checks read, set from a variable the kubelet fills
    /// in at start, leaves them undecided, as it does the flag checks.
    #[test]
    fn extra_checks_on_a_flag_set_at_start_are_errors() {
        let manifest = KUBEADM.replacen("    - --authorization-mode=Node,RBAC\n", "    - --authorization-mode=$(MODES)\n    - --audit-policy-file=/etc/kubernetes/audit.yaml\n", 1).replacen(
            "    image:",
            "    env:\n    - name: MODES\n      valueFrom:\n        fieldRef:\n          fieldPath: metadata.annotations['modes']\n    image:",
            1,
        );
        assert_ne!(manifest, KUBEADM);
        let host = FakeHost::new().file(COMPONENT.manifest, 0o600, 0, 0, manifest);
        let found = host.run::<ApiServer>(&[]).unwrap();
        for id in [config_files::AUTHZ_NOT_ALWAYS_ALLOW, config_files::AUTHZ_NODE, config_files::AUTHZ_RBAC] {
            let f = found.iter().find(|f| f.check == id).unwrap();
            assert_eq!(f.status, Status::Error, "{f:?}");
            assert!(f.message.contains("$(MODES)"), "{}", f.message);
        }
        let audit = found.iter().find(|f| f.check == config_files::AUDIT).unwrap();
        assert_ne!(audit.status, Status::Error, "a flag given as written is judged: {audit:?}");
    }

    /// Regression: the deprecated --admission-control, which replaces both
    /// plugin lists, was not read: `--admission-control=AlwaysAdmit` passed
    /// "AlwaysAdmit is not enabled" and "NamespaceLifecycle is not disabled".
    #[test]
    fn admission_control_names_exactly_the_plugins_that_run() {
        let status = |flags: &[&str], check: &str| {
            let mut argv = vec!["kube-apiserver"];
            argv.extend_from_slice(flags);
            let found = FakeHost::new().process(&argv).run::<ApiServer>(&[]).unwrap();
            found.into_iter().find(|f| f.check == check).unwrap().status
        };
        let old = ["--admission-control=AlwaysAdmit,NodeRestriction,ServiceAccount"];
        assert_eq!(status(&old, "always-admit"), Status::Fail);
        assert_eq!(status(&old, "namespace-lifecycle-admission"), Status::Fail);
        assert_eq!(status(&old, "service-account-admission"), Status::Pass);
        assert_eq!(status(&old, "node-restriction-admission"), Status::Pass);
        assert_eq!(status(&["--admission-control="], "namespace-lifecycle-admission"), Status::Pass, "empty: the defaults");
        let both = ["--admission-control=NodeRestriction", "--enable-admission-plugins=NodeRestriction"];
        assert_eq!(status(&both, "node-restriction-admission"), Status::Error);
    }

    #[test]
    fn kubeadm_defaults_get_the_verdicts_the_flags_justify() {
        let host = FakeHost::new().file(COMPONENT.manifest, 0o600, 0, 0, KUBEADM);
        let failing: Vec<String> = verdicts(&host).into_iter().filter(|(_, s)| *s == Status::Fail).map(|(c, _)| c).collect();
        assert_eq!(
            failing,
            [
                "deny-service-external-ips",
                "kubelet-certificate-authority",
                "event-rate-limit",
                "always-pull-images",
                "profiling",
                "audit-log-path",
                "audit-log-maxage",
                "audit-log-maxbackup",
                "audit-log-maxsize",
                "encryption-provider-config",
                "tls-cipher-suites",
                "service-account-extend-token-expiration",
                "image-policy-webhook",
                "audit-policy-file",
                "tls-min-version",
                "anonymous-auth",
                "encryption-providers",
                "audit-policy-rules",
                "audit-request-response",
                "admission-control-config"
            ]
        );
    }

    #[test]
    fn a_hardened_command_line_passes_everything() {
        let argv = [
            "kube-apiserver",
            "--anonymous-auth=false",
            "--enable-admission-plugins=NodeRestriction,AlwaysPullImages,EventRateLimit,DenyServiceExternalIPs,ImagePolicyWebhook",
            "--admission-control-config-file=/etc/kubernetes/admission.yaml",
            "--kubelet-client-certificate=/p/kc.crt",
            "--kubelet-client-key=/p/kc.key",
            "--kubelet-certificate-authority=/p/ca.crt",
            "--authorization-mode=Node,RBAC",
            "--profiling=false",
            "--audit-log-path=/var/log/audit.log",
            "--audit-log-maxage=30",
            "--audit-log-maxbackup=10",
            "--audit-log-maxsize=100",
            "--audit-policy-file=/etc/kubernetes/audit.yaml",
            "--service-account-key-file=/p/sa.pub",
            "--etcd-certfile=/p/e.crt",
            "--etcd-keyfile=/p/e.key",
            "--etcd-cafile=/p/eca.crt",
            "--tls-cert-file=/p/a.crt",
            "--tls-private-key-file=/p/a.key",
            "--client-ca-file=/p/ca.crt",
            "--encryption-provider-config=/etc/kubernetes/enc.yaml",
            "--audit-policy-file=/etc/kubernetes/audit-policy.yaml",
            "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "--service-account-extend-token-expiration=false",
            "--tls-min-version=VersionTLS13",
            "--feature-gates=AllAlpha=false",
        ];
        let host = FakeHost::new()
            .file("/etc/kubernetes/enc.yaml", 0o600, 0, 0, "kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms: {name: vault}\n  - identity: {}\n")
            .file("/etc/kubernetes/audit-policy.yaml", 0o600, 0, 0, "kind: Policy\nrules:\n- level: RequestResponse\n")
            .process(&argv);
        let v = verdicts(&host);
        assert!(v.iter().all(|(c, s)| *s == Status::Pass || (c == "admission-control-config" && *s == Status::Warn)), "{v:?}");
    }

    /// V-254800's first sentence fails an API server without an admission
    /// configuration; with one, a reviewer reads it (warn, never pass).
    #[test]
    fn no_admission_configuration_fails_and_one_is_for_review() {
        let find = |argv: &[&str]| {
            FakeHost::new()
                .process(argv)
                .run::<ApiServer>(&[])
                .unwrap()
                .into_iter()
                .find(|f| f.check == "admission-control-config")
                .unwrap()
        };
        let none = find(&["kube-apiserver"]);
        assert_eq!(none.status, Status::Fail);
        assert!(none.message.contains("--admission-control-config-file is not set"), "{}", none.message);
        assert_eq!(find(&["kube-apiserver", "--admission-control-config-file="]).status, Status::Fail, "empty is unset");
        let set = find(&["kube-apiserver", "--admission-control-config-file=/etc/kubernetes/admission.yaml"]);
        assert_eq!(set.status, Status::Warn);
        assert!(set.evidence.contains(&("--admission-control-config-file".into(), "/etc/kubernetes/admission.yaml".into())));
    }

    #[test]
    fn dynamic_auditing_switched_on_fails() {
        let v = verdicts(&FakeHost::new().process(&["kube-apiserver", "--feature-gates=DynamicAuditing=true"]));
        assert_eq!(v.iter().find(|(c, _)| c == "dynamic-auditing-off").unwrap().1, Status::Fail);
        let v = verdicts(&FakeHost::new().process(&["kube-apiserver", "--feature-gates=DynamicAuditing=false"]));
        assert_eq!(v.iter().find(|(c, _)| c == "dynamic-auditing-off").unwrap().1, Status::Pass);
    }

    /// Without a node, the recorded cluster's kube-apiserver mirror pod
    /// (examples/demo/cluster/pods.json) is judged: it has --token-auth-file.
    #[test]
    fn without_a_node_the_mirror_pod_is_judged() {
        let pods: serde_json::Value = serde_json::from_str(include_str!("../../../examples/demo/cluster/pods.json")).unwrap();
        let mut host = FakeHost::new().cluster_only();
        for pod in pods["items"].as_array().unwrap() {
            host = host.object("v1", "Pod", pod.clone());
        }
        let findings = host.run::<ApiServer>(&[]).unwrap();
        let token = findings.iter().find(|f| f.check == "token-auth-file").unwrap();
        assert_eq!(token.status, Status::Fail, "{token:?}");
        assert_eq!(token.object.as_ref().unwrap().name, "kube-apiserver-cp-1");
        assert!(token.evidence.contains(&("node".to_string(), "cp-1".to_string())), "{:?}", token.evidence);
        assert!(token.evidence.iter().any(|(k, v)| k == "found-in" && v == "mirror pod kube-system/kube-apiserver-cp-1 (node cp-1)"));
        let audit = findings.iter().find(|f| f.check == "audit-policy-rules").unwrap();
        assert_eq!(audit.status, Status::Fail, "no --audit-policy-file needs no file to fail: {audit:?}");
        assert_eq!(audit.object.as_ref().unwrap().name, "kube-apiserver-cp-1");
        // A flag naming a file: the file is on the node, which this run cannot read.
        let mut pod: serde_json::Value =
            pods["items"].as_array().unwrap().iter().find(|p| p["metadata"]["name"] == "kube-apiserver-cp-1").unwrap().clone();
        pod["spec"]["containers"][0]["command"]
            .as_array_mut()
            .unwrap()
            .push("--encryption-provider-config=/etc/kubernetes/enc.yaml".into());
        let one = FakeHost::new().cluster_only().object("v1", "Pod", pod).run::<ApiServer>(&[]).unwrap();
        let enc = one.iter().find(|f| f.check == "encryption-providers").unwrap();
        assert_eq!(enc.status, Status::Error, "{enc:?}");
        assert!(enc.message.contains("a file on the node"), "{}", enc.message);
        // No mirror pod (a managed control plane): errors that say so, never a pass.
        let managed = FakeHost::new().cluster_only().run::<ApiServer>(&[]).unwrap();
        assert!(managed.iter().all(|f| f.status == Status::Error && f.message.contains("no kube-apiserver mirror pod")), "{managed:?}");
    }

    #[test]
    fn a_token_file_and_always_allow_fail() {
        let host = FakeHost::new().process(&["kube-apiserver", "--token-auth-file=/etc/kubernetes/tokens.csv"]);
        let v = verdicts(&host);
        let status = |id: &str| v.iter().find(|(c, _)| c == id).unwrap().1;
        assert_eq!(status("token-auth-file"), Status::Fail);
        assert_eq!(status("authorization-not-always-allow"), Status::Fail, "unset means AlwaysAllow");
        assert_eq!(status("service-account-lookup"), Status::Pass, "unset means true");
        assert_eq!(status("secure-port"), Status::Pass, "unset means 6443");
        assert_eq!(status("validating-admission-webhook"), Status::Pass, "on by default");
        assert_eq!(status("all-alpha-off"), Status::Pass);
    }

    #[test]
    fn an_insecure_port_alpha_features_and_a_disabled_webhook_plugin_fail() {
        let host = FakeHost::new().process(&[
            "kube-apiserver",
            "--secure-port=0",
            "--feature-gates=AllAlpha=true",
            "--disable-admission-plugins=ValidatingAdmissionWebhook",
            "--tls-min-version=VersionTLS11",
        ]);
        let v = verdicts(&host);
        for id in ["secure-port", "all-alpha-off", "validating-admission-webhook", "tls-min-version"] {
            assert_eq!(v.iter().find(|(c, _)| c == id).unwrap().1, Status::Fail, "{id}");
        }
    }
}
