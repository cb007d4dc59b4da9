//! kube-proxy: where its metrics endpoint listens (CIS 4.3.1) and the mode
//! and owner of its kubeconfig on the node (CIS 4.1.3, 4.1.4). kube-proxy
//! runs either as a process on the node (flags, `--config` file) or, as
//! kubeadm deploys it, in a DaemonSet configured by the ConfigMap
//! kube-system/kube-proxy, in which case it has no kubeconfig on the host.

use rampart_sdk::args::Args;
use rampart_sdk::files::{ROOT, Rule, judge};
use rampart_sdk::{
    AccessError, Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, Plugin, PluginInfo, Settings, Severity, Status,
};
use serde_json::Value;

pub struct KubeProxy;

const DEFAULT_METRICS: &str = "127.0.0.1:10249";
const CHECKS: &[(&str, &str, &str, Severity)] = &[
    ("kubeconfig-mode", "4.1.3", "kube-proxy's kubeconfig on the node is mode 0600 or tighter", Severity::Medium),
    ("kubeconfig-owner", "4.1.4", "kube-proxy's kubeconfig on the node is owned by root:root", Severity::Medium),
    ("metrics-bind-address", "4.3.1", "kube-proxy's metrics endpoint listens on loopback only", Severity::Medium),
];

/// kube-proxy's configuration as found on this node or in the cluster.
struct ProxyConfig {
    /// The kubeconfig path on the node, when kube-proxy runs there.
    kubeconfig: Option<String>,
    /// metricsBindAddress, and where it was read.
    metrics: (Option<String>, String),
}

fn config_value(yaml: &[u8], origin: &str) -> Result<Value, String> {
    rampart_sdk::yaml::to_json(yaml).map_err(|e| format!("{origin}: not valid YAML: {e}"))
}

fn nonempty(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn find(host: &dyn Host) -> Result<Option<ProxyConfig>, String> {
    // With no node in view (a scan of the cluster alone), the ConfigMap.
    let on_node = !host.node_name().is_empty();
    let process = if on_node { host.process_args("kube-proxy").map_err(|e| e.reason())?.into_iter().next() } else { None };
    if let Some(argv) = process {
        let args = Args::parse(&argv);
        let file = match args.get("config") {
            Some(path) => {
                let bytes = host.read_file(path).map_err(|e| format!("kube-proxy --config {path}: {}", e.reason()))?;
                Some((config_value(&bytes, path)?, path.to_string()))
            }
            None => None,
        };
        let kubeconfig = args
            .get("kubeconfig")
            .map(str::to_string)
            .or_else(|| file.as_ref().and_then(|(v, _)| nonempty(&v["clientConnection"]["kubeconfig"])));
        let metrics = match (args.get("metrics-bind-address"), &file) {
            (Some(m), _) => (Some(m.to_string()), "kube-proxy --metrics-bind-address".to_string()),
            (None, Some((v, path))) => (nonempty(&v["metricsBindAddress"]), format!("metricsBindAddress in {path}")),
            (None, None) => (None, "kube-proxy flags".to_string()),
        };
        return Ok(Some(ProxyConfig { kubeconfig, metrics }));
    }
    let maps = match host.list_objects("v1", "ConfigMap", Some("kube-system")) {
        Ok(m) => m,
        Err(e) if on_node => return Err(format!("no kube-proxy process on this node, and its ConfigMap cannot be read: {}", e.reason())),
        Err(e) => return Err(format!("no node in view, and kube-proxy's ConfigMap cannot be read: {}", e.reason())),
    };
    let Some(map) = maps.into_iter().find(|m| m.ref_.name == "kube-proxy") else {
        return Ok(None);
    };
    let json: Value = serde_json::from_str(&map.json).map_err(|e| format!("ConfigMap kube-system/kube-proxy: {e}"))?;
    let text = json["data"]["config.conf"].as_str().ok_or("ConfigMap kube-system/kube-proxy has no config.conf")?;
    let v = config_value(text.as_bytes(), "ConfigMap kube-system/kube-proxy config.conf")?;
    Ok(Some(ProxyConfig {
        kubeconfig: None,
        metrics: (nonempty(&v["metricsBindAddress"]), "metricsBindAddress in ConfigMap kube-system/kube-proxy".into()),
    }))
}

fn loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

impl Plugin for KubeProxy {
    fn info() -> PluginInfo {
        let checks = CHECKS
            .iter()
            .map(|(id, cis, title, sev)| {
                let fix = match *id {
                    "metrics-bind-address" => "Set metricsBindAddress (or --metrics-bind-address) to 127.0.0.1:10249.".to_string(),
                    "kubeconfig-mode" => Rule::Mode { key: "kubeconfig-mode", default: 0o600 }.remediation(),
                    _ => ROOT.remediation(),
                };
                CheckInfoBuilder::new(id, title).severity(*sev).remediation(&fix).tag(&format!("cis-{cis}")).tag("kube-proxy").build()
            })
            .collect();
        let capabilities = vec![
            Capability::NodeProcess("kube-proxy".into()),
            Capability::NodeRead("/var/lib/kube-proxy/*".into()),
            Capability::NodeRead("/etc/kubernetes/kube-proxy*".into()),
            // The kubeconfig is wherever kube-proxy's flags say.
            Capability::NodeStat("/**".into()),
            Capability::ClusterList(KindRef { api_version: "v1".into(), kind: "ConfigMap".into() }),
        ];
        PluginInfo {
            name: "kube-proxy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            checks,
            capabilities,
            settings: rampart_sdk::files::mode_settings([Rule::Mode { key: "kubeconfig-mode", default: 0o600 }]),
        }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let config = match find(host) {
            Ok(Some(c)) => c,
            Ok(None) => {
                for (id, ..) in CHECKS {
                    out.push(Finding::new(
                        id,
                        Status::NotApplicable,
                        "kube-proxy neither runs on this node nor has a kube-system/kube-proxy ConfigMap",
                    ));
                }
                return Ok(());
            }
            Err(e) => {
                for (id, ..) in CHECKS {
                    out.push(Finding::new(id, Status::Error, e.clone()));
                }
                return Ok(());
            }
        };
        let on_node = !host.node_name().is_empty();
        for (id, rule) in [("kubeconfig-mode", Rule::Mode { key: "kubeconfig-mode", default: 0o600 }), ("kubeconfig-owner", ROOT)] {
            match &config.kubeconfig {
                // The ConfigMap says nothing of files on the nodes.
                _ if !on_node => out.push(Finding::new(
                    id,
                    Status::Error,
                    "kube-proxy's kubeconfig is a file on each node, which a scan without nodes cannot see; scan the nodes (--node or node snapshots)",
                )),
                None => out.push(Finding::new(
                    id,
                    Status::NotApplicable,
                    "kube-proxy has no kubeconfig file on this node (it runs in a pod and mounts its kubeconfig from a ConfigMap)",
                )),
                Some(path) => out.push(match host.stat(path, true) {
                    Ok(st) => judge(id, rule, &st, settings),
                    Err(AccessError::NotFound(_)) => {
                        Finding::new(id, Status::Fail, format!("kube-proxy --kubeconfig {path} does not exist")).at_path(path.as_str())
                    }
                    Err(e) => Finding::new(id, Status::Error, format!("{}; grant it with --grant node.stat:{path}", e.reason()))
                        .at_path(path.as_str()),
                }),
            }
        }
        let (value, origin) = config.metrics;
        let effective = value.clone().unwrap_or_else(|| DEFAULT_METRICS.to_string());
        let shown = match &value {
            Some(v) => format!("{v} ({origin})"),
            None => format!("unset in {origin}: the default {DEFAULT_METRICS} applies"),
        };
        let status = if loopback(&effective) { Status::Pass } else { Status::Fail };
        let message = if status == Status::Pass {
            format!("metrics listen on {shown}")
        } else {
            format!("metrics listen on {shown}, reachable from the network")
        };
        out.push(Finding::new("metrics-bind-address", status, message).with("metricsBindAddress", effective));
        Ok(())
    }
}

rampart_sdk::export_plugin!(KubeProxy);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;
    use serde_json::json;

    fn configmap(metrics: &str) -> Value {
        json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system"}, "data": {"config.conf": format!("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: {metrics:?}\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n")}})
    }

    fn verdicts(host: &FakeHost) -> Vec<(String, Status)> {
        host.run::<KubeProxy>(&[]).unwrap().into_iter().map(|f| (f.check, f.status)).collect()
    }

    #[test]
    fn kubeadm_daemonset_with_empty_metrics_address_passes() {
        let v = verdicts(&FakeHost::new().object("v1", "ConfigMap", configmap("")));
        assert_eq!(
            v,
            [
                ("kubeconfig-mode".into(), Status::NotApplicable),
                ("kubeconfig-owner".into(), Status::NotApplicable),
                ("metrics-bind-address".into(), Status::Pass)
            ]
        );
    }

    #[test]
    fn all_interfaces_fail() {
        let v = verdicts(&FakeHost::new().object("v1", "ConfigMap", configmap("0.0.0.0:10249")));
        assert_eq!(v[2], ("metrics-bind-address".into(), Status::Fail));
    }

    #[test]
    fn a_kube_proxy_process_is_judged_by_its_flags_and_files() {
        let host = FakeHost::new().file("/etc/kubernetes/proxy.conf", 0o644, 0, 0, "kind: Config").process(&[
            "kube-proxy",
            "--kubeconfig=/etc/kubernetes/proxy.conf",
            "--metrics-bind-address=[::1]:10249",
        ]);
        assert_eq!(
            verdicts(&host),
            [
                ("kubeconfig-mode".into(), Status::Fail),
                ("kubeconfig-owner".into(), Status::Pass),
                ("metrics-bind-address".into(), Status::Pass)
            ]
        );
    }

    #[test]
    fn without_a_node_the_config_map_is_judged() {
        let host = FakeHost::new().cluster_only().object("v1", "ConfigMap", configmap("0.0.0.0:10249"));
        let v = verdicts(&host);
        assert_eq!(v[2], ("metrics-bind-address".into(), Status::Fail));
        assert_eq!((v[0].1, v[1].1), (Status::Error, Status::Error), "node files are not guessed from the ConfigMap");
        let denied = FakeHost::new().cluster_only().deny("v1", "ConfigMap").run::<KubeProxy>(&[]).unwrap();
        assert!(denied.iter().all(|f| f.status == Status::Error && f.message.contains("no node in view")), "{denied:?}");
    }

    #[test]
    fn nothing_to_judge_is_not_applicable() {
        assert!(verdicts(&FakeHost::new()).iter().all(|(_, s)| *s == Status::NotApplicable));
    }
}
