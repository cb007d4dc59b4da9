//! kubelet: the configuration the kubelet really runs with (CIS 4.2) and the
//! modes and owners of its files (CIS 4.1: service files, kubeconfig,
//! config file, client CA). Not-applicable on a node with no kubelet
//! process and no kubelet installed; `error` when the processes cannot be
//! seen or the kubelet is installed but not running.

use rampart_sdk::files::{ROOT, Rule, judge};
use rampart_sdk::kubelet::{Field, KubeletConfig, Setting, go_duration};
use rampart_sdk::{
    AccessError, Capability, CheckInfoBuilder, Finding, Findings, Host, Plugin, PluginInfo, SettingKind, Settings, Severity, Status,
    setting,
};

pub struct Kubelet;

/// How a config check judges the effective value.
#[derive(Clone, Copy)]
enum Want {
    Is(&'static str),
    Not(&'static str),
    Set,
    /// A number that is at least this.
    AtLeast(i64),
    /// A list whose items are all in the set.
    SubsetOf(&'static [&'static str]),
    /// A feature gate that must not be false (default true).
    GateNotFalse(&'static str),
    /// A flag that must not be given.
    FlagUnset(&'static str),
    /// A feature gate that must not be true (default false).
    GateNotTrue(&'static str),
    /// A Go duration above zero and at least the setting `<check>.min`
    /// (else this default). With the setting `<check>.explicit = "true"`
    /// the value as written is judged (`0s` is zero, not the default) and
    /// an unwritten one fails.
    DurationAtLeast(&'static str),
}

struct ConfigCheck {
    id: &'static str,
    cis: &'static str,
    title: &'static str,
    severity: Severity,
    remediation: &'static str,
    fields: &'static [Field],
    want: Want,
}

const fn f(path: &'static str, flag: &'static str, file_default: Option<&'static str>, flag_default: Option<&'static str>) -> Field {
    Field { path, flag, file_default, flag_default }
}

const STRONG_CIPHERS: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
];

const CLIENT_CA: Field = f("authentication.x509.clientCAFile", "client-ca-file", None, None);

const CONFIG_CHECKS: &[ConfigCheck] = &[
    ConfigCheck {
        id: "anonymous-auth",
        cis: "4.2.1",
        title: "The kubelet refuses anonymous requests",
        severity: Severity::High,
        remediation: "Set authentication.anonymous.enabled: false (or --anonymous-auth=false).",
        fields: &[f("authentication.anonymous.enabled", "anonymous-auth", Some("false"), Some("true"))],
        want: Want::Is("false"),
    },
    ConfigCheck {
        id: "authorization-mode",
        cis: "4.2.2",
        title: "The kubelet does not authorize everything",
        severity: Severity::Critical,
        remediation: "Set authorization.mode: Webhook.",
        fields: &[f("authorization.mode", "authorization-mode", Some("Webhook"), Some("AlwaysAllow"))],
        want: Want::Not("AlwaysAllow"),
    },
    ConfigCheck {
        id: "client-ca-file",
        cis: "4.2.3",
        title: "The kubelet verifies client certificates against a CA",
        severity: Severity::High,
        remediation: "Set authentication.x509.clientCAFile.",
        fields: &[CLIENT_CA],
        want: Want::Set,
    },
    ConfigCheck {
        id: "read-only-port",
        cis: "4.2.4",
        title: "The unauthenticated read-only port is off",
        severity: Severity::High,
        remediation: "Set readOnlyPort: 0.",
        fields: &[f("readOnlyPort", "read-only-port", Some("0"), Some("10255"))],
        want: Want::Is("0"),
    },
    ConfigCheck {
        id: "streaming-idle-timeout",
        cis: "4.2.5",
        title: "Streaming connections time out when idle",
        severity: Severity::Medium,
        remediation: "Set streamingConnectionIdleTimeout to a non-zero duration such as 5m.",
        fields: &[f("streamingConnectionIdleTimeout", "streaming-connection-idle-timeout", Some("4h0m0s"), Some("4h0m0s"))],
        want: Want::DurationAtLeast("1ns"),
    },
    ConfigCheck {
        id: "protect-kernel-defaults",
        cis: "",
        title: "The kubelet refuses to run with kernel settings other than it needs",
        severity: Severity::High,
        remediation: "Set protectKernelDefaults: true, after setting the sysctls the kubelet expects (vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1).",
        fields: &[f("protectKernelDefaults", "protect-kernel-defaults", Some("false"), Some("false"))],
        want: Want::Is("true"),
    },
    ConfigCheck {
        id: "dynamic-auditing-off",
        cis: "",
        title: "The DynamicAuditing feature gate is not switched on",
        severity: Severity::Medium,
        remediation: "Remove DynamicAuditing from featureGates in the kubelet config and from --feature-gates.",
        fields: &[],
        want: Want::GateNotTrue("DynamicAuditing"),
    },
    ConfigCheck {
        id: "iptables-util-chains",
        cis: "4.2.6",
        title: "The kubelet manages its iptables utility chains",
        severity: Severity::Medium,
        remediation: "Set makeIPTablesUtilChains: true (the default).",
        fields: &[f("makeIPTablesUtilChains", "make-iptables-util-chains", Some("true"), Some("true"))],
        want: Want::Is("true"),
    },
    ConfigCheck {
        id: "hostname-override",
        cis: "4.2.7",
        title: "The node name is not overridden",
        severity: Severity::Low,
        remediation: "Remove --hostname-override from the kubelet's arguments.",
        fields: &[],
        want: Want::FlagUnset("hostname-override"),
    },
    ConfigCheck {
        id: "event-qps",
        cis: "4.2.8",
        title: "Event recording is not switched off",
        severity: Severity::Low,
        remediation: "Set eventRecordQPS to a level that captures events (the default is 50).",
        fields: &[f("eventRecordQPS", "event-qps", Some("50"), Some("50"))],
        want: Want::AtLeast(0),
    },
    ConfigCheck {
        id: "tls-cert",
        cis: "4.2.9",
        title: "The kubelet serves TLS with a configured certificate",
        severity: Severity::Medium,
        remediation: "Set tlsCertFile and tlsPrivateKeyFile, or enable serverTLSBootstrap.",
        fields: &[f("tlsCertFile", "tls-cert-file", None, None), f("tlsPrivateKeyFile", "tls-private-key-file", None, None)],
        want: Want::Set,
    },
    ConfigCheck {
        id: "rotate-certificates",
        cis: "4.2.10",
        title: "Client certificate rotation is on",
        severity: Severity::Medium,
        remediation: "Set rotateCertificates: true.",
        fields: &[f("rotateCertificates", "rotate-certificates", Some("false"), Some("false"))],
        want: Want::Is("true"),
    },
    ConfigCheck {
        id: "rotate-server-certificates",
        cis: "4.2.11",
        title: "Serving certificate rotation is not disabled",
        severity: Severity::Medium,
        remediation: "Remove RotateKubeletServerCertificate=false from the feature gates.",
        fields: &[],
        want: Want::GateNotFalse("RotateKubeletServerCertificate"),
    },
    ConfigCheck {
        id: "tls-cipher-suites",
        cis: "4.2.12",
        title: "Only strong TLS cipher suites are allowed",
        severity: Severity::Medium,
        remediation: "Set tlsCipherSuites to AEAD ECDHE suites only.",
        fields: &[f("tlsCipherSuites", "tls-cipher-suites", None, None)],
        want: Want::SubsetOf(STRONG_CIPHERS),
    },
    ConfigCheck {
        id: "pod-pids-limit",
        cis: "4.2.13",
        title: "Pods have a process-ID limit",
        severity: Severity::Medium,
        remediation: "Set podPidsLimit to a positive number.",
        fields: &[f("podPidsLimit", "pod-max-pids", Some("-1"), Some("-1"))],
        want: Want::AtLeast(1),
    },
    ConfigCheck {
        id: "seccomp-default",
        cis: "4.2.14",
        title: "Pods default to the RuntimeDefault seccomp profile",
        severity: Severity::Medium,
        remediation: "Set seccompDefault: true.",
        fields: &[f("seccompDefault", "seccomp-default", Some("false"), Some("false"))],
        want: Want::Is("true"),
    },
];

/// Which file a file check looks at.
#[derive(Clone, Copy)]
enum Which {
    /// Every kubelet systemd unit and drop-in that exists.
    ServiceFiles,
    /// The file a flag names, else this default.
    Flag(&'static str, &'static str),
    /// The client CA from the effective config.
    ClientCa,
}

struct FileCheck {
    id: &'static str,
    cis: &'static str,
    title: &'static str,
    severity: Severity,
    which: Which,
    rule: Rule,
}

const SERVICE_FILES: &[&str] = &[
    "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/etc/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
];

const FILE_CHECKS: &[FileCheck] = &[
    FileCheck {
        id: "service-file-mode",
        cis: "4.1.1",
        title: "kubelet systemd unit and drop-ins are mode 0600 or tighter",
        severity: Severity::Medium,
        which: Which::ServiceFiles,
        rule: Rule::Mode { key: "service-file-mode", default: 0o600 },
    },
    FileCheck {
        id: "service-file-owner",
        cis: "4.1.2",
        title: "kubelet systemd unit and drop-ins are owned by root:root",
        severity: Severity::Medium,
        which: Which::ServiceFiles,
        rule: ROOT,
    },
    FileCheck {
        id: "kubeconfig-mode",
        cis: "4.1.5",
        title: "The kubelet kubeconfig is mode 0600 or tighter",
        severity: Severity::High,
        which: Which::Flag("kubeconfig", "/etc/kubernetes/kubelet.conf"),
        rule: Rule::Mode { key: "kubeconfig-mode", default: 0o600 },
    },
    FileCheck {
        id: "kubeconfig-owner",
        cis: "4.1.6",
        title: "The kubelet kubeconfig is owned by root:root",
        severity: Severity::High,
        which: Which::Flag("kubeconfig", "/etc/kubernetes/kubelet.conf"),
        rule: ROOT,
    },
    FileCheck {
        id: "client-ca-mode",
        cis: "4.1.7",
        title: "The kubelet's client CA file is mode 0644 or tighter",
        severity: Severity::Medium,
        which: Which::ClientCa,
        rule: Rule::Mode { key: "client-ca-mode", default: 0o644 },
    },
    FileCheck {
        id: "client-ca-owner",
        cis: "4.1.8",
        title: "The kubelet's client CA file is owned by root:root",
        severity: Severity::Medium,
        which: Which::ClientCa,
        rule: ROOT,
    },
    FileCheck {
        id: "config-file-mode",
        cis: "4.1.9",
        title: "The kubelet config file is mode 0600 or tighter",
        severity: Severity::Medium,
        which: Which::Flag("config", "/var/lib/kubelet/config.yaml"),
        rule: Rule::Mode { key: "config-file-mode", default: 0o600 },
    },
    FileCheck {
        id: "config-file-owner",
        cis: "4.1.10",
        title: "The kubelet config file is owned by root:root",
        severity: Severity::Medium,
        which: Which::Flag("config", "/var/lib/kubelet/config.yaml"),
        rule: ROOT,
    },
];

impl Plugin for Kubelet {
    fn info() -> PluginInfo {
        let mut checks: Vec<_> = FILE_CHECKS.iter().map(|c| c.rule.check_info(c.id, c.title, c.severity, c.cis, "kubelet")).collect();
        checks.extend(CONFIG_CHECKS.iter().map(|c| {
            let b = CheckInfoBuilder::new(c.id, c.title).severity(c.severity).remediation(c.remediation).tag("kubelet");
            if c.cis.is_empty() { b } else { b.tag(&format!("cis-{}", c.cis)) }.build()
        }));
        checks.push(
            CheckInfoBuilder::new(STATIC_POD_PATH, "Worker kubelets do not run static pods from a directory")
                .severity(Severity::High)
                .remediation("On worker nodes remove staticPodPath from the kubelet config (and --pod-manifest-path from its flags), then restart the kubelet.")
                .tag("kubelet")
                .build(),
        );
        let capabilities = vec![
            Capability::NodeProcess("kubelet".into()),
            Capability::NodeRead("/var/lib/kubelet/*.yaml".into()),
            Capability::NodeRead("/var/lib/kubelet/config.d/*".into()),
            Capability::NodeRead("/etc/kubernetes/kubelet*.yaml".into()),
            Capability::NodeRead("/etc/kubernetes/kubelet.conf.d/*".into()),
            // The kubeconfig, CA and service files live wherever the
            // kubelet's flags and config say; the operator grants the places.
            Capability::NodeStat("/**".into()),
        ];
        let mut settings = rampart_sdk::files::mode_settings(FILE_CHECKS.iter().map(|c| c.rule));
        for c in CONFIG_CHECKS {
            settings.push(setting(
                &format!("{}.config-only", c.id),
                SettingKind::Boolean,
                "`true`: a value given by command-line flag fails; the profile wants it in the config file",
            ));
            settings.push(setting(
                &format!("{}.explicit", c.id),
                SettingKind::Boolean,
                "`true`: the value as written is judged, and an unset one fails, whatever the kubelet's default",
            ));
            if let Want::DurationAtLeast(default) = c.want {
                settings.push(setting(
                    &format!("{}.min", c.id),
                    SettingKind::Duration,
                    &format!("the shortest duration that passes (default {default})"),
                ));
            }
        }
        PluginInfo { name: "kubelet".into(), version: env!("CARGO_PKG_VERSION").into(), checks, capabilities, settings }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let ids = || FILE_CHECKS.iter().map(|c| c.id).chain(CONFIG_CHECKS.iter().map(|c| c.id)).chain([STATIC_POD_PATH]);
        let config = match KubeletConfig::load(host) {
            Ok(Some(c)) => c,
            Ok(None) => {
                let (status, why) = match installed(host) {
                    Ok(None) => (Status::NotApplicable, "no kubelet runs on this node, and none is installed".to_string()),
                    Ok(Some(path)) => (
                        Status::Error,
                        format!(
                            "no kubelet process runs, but a kubelet is installed ({path} exists): it is stopped or failing, so the configuration it runs with cannot be read; scan while it runs"
                        ),
                    ),
                    Err(e) => (Status::Error, format!("no kubelet process runs, and whether one is installed cannot be told: {e}")),
                };
                for id in ids() {
                    out.push(Finding::new(id, status, why.clone()));
                }
                return Ok(());
            }
            Err(e) => {
                for id in ids() {
                    out.push(Finding::new(id, Status::Error, format!("cannot tell the kubelet's configuration: {e}")));
                }
                return Ok(());
            }
        };
        for check in FILE_CHECKS {
            file_check(host, &config, check, settings, out);
        }
        for check in CONFIG_CHECKS {
            out.push(config_check(&config, check, settings));
        }
        out.push(static_pod_path(host, &config));
        Ok(())
    }
}

const STATIC_POD_PATH: &str = "static-pod-path";

/// Where a kubelet that does not run shows it is installed: its systemd
/// units, kubeadm's kubeconfig and config file. A stopped or crash-looping
/// kubelet is not "no kubelet": its checks cannot be judged, which is an
/// error, not a not-applicable.
fn installed(host: &dyn Host) -> Result<Option<String>, String> {
    let defaults = ["/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/config.yaml"];
    for path in SERVICE_FILES.iter().chain(defaults.iter()) {
        match host.stat(path, true) {
            Ok(_) => return Ok(Some(path.to_string())),
            Err(AccessError::NotFound(_)) => {}
            Err(e) => return Err(format!("{path}: {}", e.reason())),
        }
    }
    Ok(None)
}

/// A kubelet that watches a directory for static pods runs whatever lands
/// there, outside admission. The control plane needs it (kubeadm runs the
/// API server that way); a worker does not. A node is taken for a
/// control-plane node when the directory holds a kube-apiserver manifest.
fn static_pod_path(host: &dyn Host, config: &KubeletConfig) -> Finding {
    let s = config.get(&rampart_sdk::kubelet::STATIC_PODS);
    let Some(dir) = s.value.clone().filter(|d| !d.is_empty()) else {
        return Finding::new(
            STATIC_POD_PATH,
            Status::Pass,
            "no static pod directory: the kubelet runs only pods the API server assigns it",
        )
        .with("staticPodPath", "unset");
    };
    let manifest = format!("{}/kube-apiserver.yaml", dir.trim_end_matches('/'));
    let base =
        |status, message: String| Finding::new(STATIC_POD_PATH, status, message).with("staticPodPath", format!("{dir} ({})", s.origin));
    match host.stat(&manifest, true) {
        Ok(_) => base(
            Status::NotApplicable,
            format!("control-plane node: {manifest} is a static pod, so the kubelet needs {dir}; the rule is for worker nodes"),
        ),
        Err(AccessError::NotFound(_)) => {
            base(Status::Fail, format!("worker node (no kube-apiserver manifest in {dir}) whose kubelet runs static pods from {dir}"))
        }
        Err(e) => base(Status::Error, format!("cannot tell whether this is a control-plane node: {manifest}: {}", e.reason())),
    }
}

fn file_check(host: &dyn Host, config: &KubeletConfig, check: &FileCheck, settings: &Settings, out: &mut Findings) {
    let (paths, optional, found_by): (Vec<String>, bool, String) = match check.which {
        Which::ServiceFiles => (SERVICE_FILES.iter().map(|s| s.to_string()).collect(), true, "kubelet systemd unit paths".into()),
        Which::Flag(flag, default) => match config.args.get(flag) {
            Some(p) => (vec![p.to_string()], false, format!("kubelet --{flag}")),
            None => (vec![default.to_string()], true, format!("kubelet default for --{flag}")),
        },
        Which::ClientCa => match config.get(&CLIENT_CA) {
            Setting { value: Some(p), origin } => (vec![p], false, format!("clientCAFile ({origin})")),
            Setting { value: None, .. } => {
                out.push(Finding::new(
                    check.id,
                    Status::NotApplicable,
                    "the kubelet has no client CA file configured (see client-ca-file)",
                ));
                return;
            }
        },
    };
    let mut judged = 0;
    for path in &paths {
        match host.stat(path, true) {
            Ok(st) => {
                out.push(judge(check.id, check.rule, &st, settings).with("found-by", found_by.clone()));
                judged += 1;
            }
            Err(AccessError::NotFound(_)) if optional => {}
            Err(AccessError::NotFound(_)) => {
                out.push(Finding::new(check.id, Status::Fail, format!("{path} ({found_by}) does not exist")).at_path(path.as_str()))
            }
            Err(e) => {
                out.push(
                    Finding::new(check.id, Status::Error, format!("{}; grant it with --grant node.stat:{path}", e.reason()))
                        .at_path(path.as_str()),
                );
                judged += 1;
            }
        }
    }
    if judged == 0 && optional {
        out.push(Finding::new(check.id, Status::NotApplicable, format!("none of {} exists on this node", paths.join(", "))));
    }
}

fn config_check(config: &KubeletConfig, check: &ConfigCheck, settings: &Settings) -> Finding {
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut note =
        |name: &str, s: &Setting| evidence.push((name.to_string(), format!("{} ({})", s.value.as_deref().unwrap_or("unset"), s.origin)));
    match check.want {
        Want::FlagUnset(flag) => match config.args.get(flag) {
            Some(v) => problems.push(format!("--{flag} is set to {v:?}")),
            None => evidence.push((format!("--{flag}"), "unset".into())),
        },
        Want::GateNotFalse(gate) => {
            let s = match config.feature_gate(gate, true) {
                Ok(s) => s,
                Err(why) => return Finding::new(check.id, Status::Error, format!("cannot tell whether feature gate {gate} is on: {why}")),
            };
            note(gate, &s);
            if s.value.as_deref() == Some("false") {
                problems.push(format!("feature gate {gate} is false ({})", s.origin));
            }
        }
        Want::GateNotTrue(gate) => {
            let s = match config.feature_gate(gate, false) {
                Ok(s) => s,
                Err(why) => return Finding::new(check.id, Status::Error, format!("cannot tell whether feature gate {gate} is on: {why}")),
            };
            note(gate, &s);
            if s.value.as_deref() == Some("true") {
                problems.push(format!("feature gate {gate} is true ({})", s.origin));
            }
        }
        Want::DurationAtLeast(default) => {
            let key = format!("{}.min", check.id);
            let min_text = settings.get(&key).unwrap_or(default);
            let Some(min) = go_duration(min_text).filter(|m| *m > 0.0) else {
                return Finding::new(check.id, Status::Error, format!("setting {key}={min_text} is not a positive Go duration like 5m"));
            };
            // The STIG fails a timeout that is not configured, so the
            // kubelet's default does not count, and kubeadm's `0s` is read
            // as written.
            let explicit = settings.get(&format!("{}.explicit", check.id)) == Some("true");
            for field in check.fields {
                let s = if explicit { config.written(field) } else { config.get(field) };
                note(field.path, &s);
                if explicit && s.value.is_none() {
                    problems.push(format!(
                        "{} is not configured (neither the config file nor --{} sets it), and this profile wants it set explicitly",
                        field.path, field.flag
                    ));
                    continue;
                }
                let v = s.value.as_deref().unwrap_or("0");
                match go_duration(v) {
                    Some(d) if d > 0.0 && d >= min => {}
                    Some(0.0) => problems.push(format!("{} is {v:?} ({}): no idle timeout", field.path, s.origin)),
                    Some(_) => problems.push(format!("{} is {v:?} ({}), below {min_text}", field.path, s.origin)),
                    None => problems.push(format!("{} is {v:?} ({}), not a Go duration", field.path, s.origin)),
                }
            }
        }
        want => {
            // `<check>.explicit = "true"`: the value as written is judged,
            // and an unwritten one fails whatever the kubelet's default.
            let explicit = settings.get(&format!("{}.explicit", check.id)) == Some("true");
            for field in check.fields {
                let s = if explicit { config.written(field) } else { config.get(field) };
                note(field.path, &s);
                let v = s.value.as_deref();
                if explicit && v.is_none() {
                    problems.push(format!(
                        "{} is not configured (neither the config file nor --{} sets it), and this profile wants it set explicitly",
                        field.path, field.flag
                    ));
                    continue;
                }
                let bad = match (want, v) {
                    (Want::Is(w), Some(v)) => !v.eq_ignore_ascii_case(w),
                    (Want::Not(w), Some(v)) => v.eq_ignore_ascii_case(w) || v.split(',').any(|x| x.trim() == w),
                    (Want::Set, Some(v)) => v.is_empty(),
                    (Want::AtLeast(n), Some(v)) => v.parse::<i64>().map_or(true, |x| x < n),
                    (Want::SubsetOf(set), Some(v)) => v.split(',').any(|x| !set.contains(&x.trim())),
                    (Want::Not(_), None) => false,
                    (Want::GateNotFalse(_) | Want::GateNotTrue(_) | Want::FlagUnset(_) | Want::DurationAtLeast(_), _) => {
                        unreachable!("handled above")
                    }
                    (_, None) => true,
                };
                if bad {
                    problems.push(format!("{} is {} ({})", field.path, v.map_or("unset".to_string(), |v| format!("{v:?}")), s.origin));
                }
            }
        }
    }
    // `<check>.config-only = "true"`: the profile wants the setting in the
    // config file, so a command-line flag for it fails whatever its value
    // (the STIG's "no flag" rules; the kubelet's flags are deprecated in
    // favour of the file).
    if settings.get(&format!("{}.config-only", check.id)) == Some("true") {
        for field in check.fields {
            if let Some(v) = config.args.get(field.flag) {
                problems.push(format!(
                    "--{} is given on the command line ({v:?}); this profile wants {} set in the config file only",
                    field.flag, field.path
                ));
            }
        }
    }
    let mut finding = if problems.is_empty() {
        Finding::new(check.id, Status::Pass, evidence.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
    } else {
        Finding::new(check.id, Status::Fail, problems.join("; "))
    };
    for (k, v) in evidence {
        finding = finding.with(k, v);
    }
    finding
}

rampart_sdk::export_plugin!(Kubelet);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;

    const CONFIG: &str = include_str!("../../../examples/demo/nodes/worker-1/var/lib/kubelet/config.yaml");
    const ARGV: &[&str] = &[
        "/usr/bin/kubelet",
        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        "--config=/var/lib/kubelet/config.yaml",
    ];

    /// A kubeadm worker as kubeadm v1.36 leaves it.
    fn kubeadm_worker() -> FakeHost {
        FakeHost::new()
            .file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 0o644, 0, 0, "[Service]\n")
            .file("/etc/kubernetes/kubelet.conf", 0o600, 0, 0, "kind: Config\n")
            .file("/etc/kubernetes/pki/ca.crt", 0o644, 0, 0, "")
            .file("/var/lib/kubelet/config.yaml", 0o644, 0, 0, CONFIG)
            .process(ARGV)
    }

    fn verdicts(host: &FakeHost) -> Vec<(String, Status)> {
        host.run::<Kubelet>(&[]).unwrap().into_iter().map(|f| (f.check, f.status)).collect()
    }

    #[test]
    fn kubeadm_worker_gets_the_verdicts_its_files_justify() {
        let failing: Vec<String> = verdicts(&kubeadm_worker()).into_iter().filter(|(_, s)| *s == Status::Fail).map(|(c, _)| c).collect();
        // 4.1.1 (drop-in 0644), 4.1.9 (config.yaml 0644), 4.2.9, 4.2.12, 4.2.13, 4.2.14.
        assert_eq!(
            failing,
            [
                "service-file-mode",
                "config-file-mode",
                "protect-kernel-defaults",
                "tls-cert",
                "tls-cipher-suites",
                "pod-pids-limit",
                "seccomp-default",
                "static-pod-path"
            ]
        );
    }

    #[test]
    fn static_pods_are_for_control_plane_nodes_only() {
        let find = |host: &FakeHost| host.run::<Kubelet>(&[]).unwrap().into_iter().find(|f| f.check == "static-pod-path").unwrap();
        let worker = find(&kubeadm_worker());
        assert_eq!(worker.status, Status::Fail, "kubeadm leaves staticPodPath on workers too");
        assert!(worker.message.contains("worker node"), "{}", worker.message);
        let cp = find(&kubeadm_worker().file("/etc/kubernetes/manifests/kube-apiserver.yaml", 0o600, 0, 0, "kind: Pod\n"));
        assert_eq!(cp.status, Status::NotApplicable, "{}", cp.message);
        let none = CONFIG.lines().filter(|l| !l.starts_with("staticPodPath")).collect::<Vec<_>>().join("\n");
        let host = FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, none).process(ARGV);
        assert_eq!(find(&host).status, Status::Pass);
    }

    #[test]
    fn idle_timeouts_are_durations_with_a_settable_minimum() {
        let with = |flag: &str, settings: &[(&str, &str)]| {
            let mut argv = ARGV.to_vec();
            argv.push(flag);
            let host = FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, CONFIG).process(&argv);
            host.run::<Kubelet>(settings).unwrap().into_iter().find(|f| f.check == "streaming-idle-timeout").unwrap()
        };
        assert_eq!(with("--streaming-connection-idle-timeout=0s", &[]).status, Status::Fail, "0s is no timeout");
        assert_eq!(with("--streaming-connection-idle-timeout=1m", &[]).status, Status::Pass);
        let stig = [("streaming-idle-timeout.min", "5m")];
        let short = with("--streaming-connection-idle-timeout=1m", &stig);
        assert_eq!(short.status, Status::Fail);
        assert!(short.message.contains("below 5m"), "{}", short.message);
        assert_eq!(with("--streaming-connection-idle-timeout=4h0m0s", &stig).status, Status::Pass);
        assert_eq!(with("--streaming-connection-idle-timeout=1m", &[("streaming-idle-timeout.min", "soon")]).status, Status::Error);
    }

    #[test]
    fn zero_idle_timeout_in_the_file_is_the_default_not_zero() {
        let f = kubeadm_worker().run::<Kubelet>(&[]).unwrap().into_iter().find(|f| f.check == "streaming-idle-timeout").unwrap();
        assert_eq!(f.status, Status::Pass);
        assert!(f.message.contains("4h0m0s (kubelet default)"), "{}", f.message);
    }

    /// The STIG (V-245541) fails an idle timeout written below 5m or not
    /// configured: kubeadm's `streamingConnectionIdleTimeout: 0s` is such a
    /// value, though the kubelet runs with its 4h default (which CIS judges).
    #[test]
    fn config_only_settings_fail_a_flag_and_explicit_ones_an_unwritten_value() {
        let run = |config: &str, flag: Option<&str>, settings: &[(&str, &str)]| {
            let mut argv = ARGV.to_vec();
            argv.extend(flag);
            let host = FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, config).process(&argv);
            host.run::<Kubelet>(settings).unwrap().into_iter().find(|f| f.check == "anonymous-auth").unwrap()
        };
        let stig = [("anonymous-auth.config-only", "true"), ("anonymous-auth.explicit", "true")];
        // kubeadm writes authentication.anonymous.enabled: false.
        assert_eq!(run(CONFIG, None, &stig).status, Status::Pass);
        // The same value by flag: fine for CIS, a finding for the STIG.
        let flagged = run(CONFIG, Some("--anonymous-auth=false"), &stig);
        assert_eq!(flagged.status, Status::Fail, "{flagged:?}");
        assert!(flagged.message.contains("--anonymous-auth") && flagged.message.contains("config file only"), "{}", flagged.message);
        assert_eq!(run(CONFIG, Some("--anonymous-auth=false"), &[]).status, Status::Pass);
        // Not written at all: the config file's default (false) passes CIS,
        // while the STIG wants it present.
        let unwritten = CONFIG.replace("    enabled: false\n", "");
        assert!(!unwritten.contains("enabled: false"), "the fixture writes anonymous.enabled as expected");
        assert_eq!(run(&unwritten, None, &[]).status, Status::Pass);
        let missing = run(&unwritten, None, &stig);
        assert_eq!(missing.status, Status::Fail, "{missing:?}");
        assert!(missing.message.contains("not configured"), "{}", missing.message);
    }

    #[test]
    fn an_explicit_idle_timeout_judges_the_written_value() {
        let stig = [("streaming-idle-timeout.min", "5m"), ("streaming-idle-timeout.explicit", "true")];
        let idle = |config: &str, flag: Option<&str>| {
            let mut argv = ARGV.to_vec();
            argv.extend(flag);
            let host = FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, config).process(&argv);
            host.run::<Kubelet>(&stig).unwrap().into_iter().find(|f| f.check == "streaming-idle-timeout").unwrap()
        };
        let kubeadm = idle(CONFIG, None);
        assert_eq!(kubeadm.status, Status::Fail, "{kubeadm:?}");
        assert!(kubeadm.message.contains("\"0s\"") && kubeadm.message.contains("no idle timeout"), "{}", kubeadm.message);
        let unset: String = CONFIG.lines().filter(|l| !l.starts_with("streamingConnectionIdleTimeout")).map(|l| format!("{l}\n")).collect();
        let missing = idle(&unset, None);
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.message.contains("not configured"), "{}", missing.message);
        assert_eq!(
            idle(&CONFIG.replace("streamingConnectionIdleTimeout: 0s", "streamingConnectionIdleTimeout: 5m0s"), None).status,
            Status::Pass
        );
        assert_eq!(
            idle(&CONFIG.replace("streamingConnectionIdleTimeout: 0s", "streamingConnectionIdleTimeout: 4m"), None).status,
            Status::Fail
        );
        assert_eq!(idle(&unset, Some("--streaming-connection-idle-timeout=10m")).status, Status::Pass);
        // CIS judges what runs: the default 4h.
        let host = FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, CONFIG).process(ARGV);
        let cis = host.run::<Kubelet>(&[]).unwrap().into_iter().find(|f| f.check == "streaming-idle-timeout").unwrap();
        assert_eq!(cis.status, Status::Pass);
    }

    #[test]
    fn dynamic_auditing_on_in_the_config_or_the_flag_fails() {
        let gate = |config: String, flag: Option<&str>| {
            let mut argv = ARGV.to_vec();
            argv.extend(flag);
            let host = FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, config).process(&argv);
            host.run::<Kubelet>(&[]).unwrap().into_iter().find(|f| f.check == "dynamic-auditing-off").unwrap().status
        };
        assert_eq!(gate(CONFIG.to_string(), None), Status::Pass);
        assert_eq!(gate(format!("{CONFIG}featureGates:\n  DynamicAuditing: true\n"), None), Status::Fail);
        assert_eq!(gate(CONFIG.to_string(), Some("--feature-gates=Foo=false,DynamicAuditing=true")), Status::Fail);
        assert_eq!(gate(format!("{CONFIG}featureGates:\n  DynamicAuditing: false\n"), None), Status::Pass);
        // As the kubelet reads them: `1` is true, a later item wins, and a
        // value it would refuse is no pass.
        assert_eq!(gate(CONFIG.to_string(), Some("--feature-gates=DynamicAuditing=1")), Status::Fail);
        assert_eq!(gate(CONFIG.to_string(), Some("--feature-gates=DynamicAuditing=false,DynamicAuditing=true")), Status::Fail);
        assert_eq!(gate(CONFIG.to_string(), Some("--feature-gates=DynamicAuditing=maybe")), Status::Error);
        assert_eq!(gate(format!("{CONFIG}featureGates:\n  DynamicAuditing: \"on\"\n"), None), Status::Error);
        assert_eq!(gate(format!("{CONFIG}featureGates:\n  DynamicAuditing: on\n"), None), Status::Fail, "YAML 1.1: on is true");
    }

    #[test]
    fn flags_override_the_config_file() {
        let mut argv = ARGV.to_vec();
        argv.extend(["--anonymous-auth=true", "--read-only-port=10255", "--hostname-override=evil"]);
        let v = verdicts(&FakeHost::new().file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, CONFIG).process(&argv));
        let status = |id: &str| v.iter().find(|(c, _)| c == id).unwrap().1;
        assert_eq!(status("anonymous-auth"), Status::Fail);
        assert_eq!(status("read-only-port"), Status::Fail);
        assert_eq!(status("hostname-override"), Status::Fail);
    }

    #[test]
    fn without_a_config_file_the_flag_defaults_apply() {
        let v = verdicts(&FakeHost::new().process(&["/usr/bin/kubelet"]));
        let status = |id: &str| v.iter().find(|(c, _)| c == id).unwrap().1;
        assert_eq!(status("anonymous-auth"), Status::Fail, "--anonymous-auth defaults to true");
        assert_eq!(status("authorization-mode"), Status::Fail, "--authorization-mode defaults to AlwaysAllow");
        assert_eq!(status("read-only-port"), Status::Fail, "--read-only-port defaults to 10255");
    }

    #[test]
    fn a_hardened_kubelet_passes_everything() {
        let hardened = format!(
            "{CONFIG}tlsCertFile: /var/lib/kubelet/pki/kubelet.crt\ntlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key\ntlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\npodPidsLimit: 4096\nseccompDefault: true\nprotectKernelDefaults: true\n"
        );
        let host = FakeHost::new()
            .file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 0o600, 0, 0, "[Service]\n")
            .file("/etc/kubernetes/kubelet.conf", 0o600, 0, 0, "kind: Config\n")
            .file("/etc/kubernetes/pki/ca.crt", 0o644, 0, 0, "")
            .file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, hardened)
            .file("/etc/kubernetes/manifests/kube-apiserver.yaml", 0o600, 0, 0, "kind: Pod\n")
            .process(ARGV);
        let v = verdicts(&host);
        assert!(v.iter().all(|(c, s)| *s == Status::Pass || c == "static-pod-path"), "{v:?}");
    }

    #[test]
    fn no_kubelet_is_not_applicable() {
        assert!(verdicts(&FakeHost::new()).iter().all(|(_, s)| *s == Status::NotApplicable));
    }

    /// Regression: a /proc the scan could not read (hidepid=2, no rights)
    /// read as "no kubelet runs on this node", not-applicable.
    #[test]
    fn unreadable_processes_are_an_error_not_no_kubelet() {
        let findings = kubeadm_worker().processes_unreadable("hidepid=2").run::<Kubelet>(&[]).unwrap();
        assert_eq!(findings.len(), FILE_CHECKS.len() + CONFIG_CHECKS.len() + 1);
        assert!(findings.iter().all(|f| f.status == Status::Error && f.message.contains("hidepid=2")), "{findings:?}");
    }

    /// A kubelet installed but not running (stopped, crash-looping) is not
    /// "no kubelet": what it would run with cannot be read.
    #[test]
    fn an_installed_kubelet_that_does_not_run_is_an_error() {
        let host = FakeHost::new()
            .file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 0o644, 0, 0, "[Service]\n")
            .file("/var/lib/kubelet/config.yaml", 0o644, 0, 0, CONFIG)
            .process(&["/sbin/init"]);
        let findings = host.run::<Kubelet>(&[]).unwrap();
        assert!(findings.iter().all(|f| f.status == Status::Error), "{findings:?}");
        assert!(findings[0].message.contains("10-kubeadm.conf exists"), "{}", findings[0].message);
    }
}
