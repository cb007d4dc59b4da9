//! pod-security: how the pods of every workload are allowed to run.
//!
//! One finding per check and workload object (Pod, Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, Job, CronJob, ReplicationController), with the
//! offending fields as evidence. Pod-level security settings are inherited
//! by containers that set none, as the kubelet does; init and ephemeral
//! containers count like any other.

use rampart_sdk::workload::{Container, PodSpec, WORKLOAD_KINDS, pod_spec};
use rampart_sdk::{
    Capability, CheckInfo, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, PAGE_SIZE, Plugin, PluginInfo, SettingKind,
    Settings, Severity, Status, setting,
};
use serde_json::Value;

pub struct PodSecurity;

/// A check's verdict on one pod spec: the problems found, each a field path
/// and what it holds.
type Problems = Vec<(String, String)>;

/// A workload's pod spec with its containers, listed once for all the
/// checks (each check goes through them).
struct Pod<'a> {
    template: PodSpec<'a>,
    containers: Vec<Container<'a>>,
}

impl<'a> Pod<'a> {
    fn new(spec: PodSpec<'a>) -> Pod<'a> {
        let containers = spec.containers();
        Pod { template: spec, containers }
    }

    fn containers(&self) -> &[Container<'a>] {
        &self.containers
    }
}

impl<'a> std::ops::Deref for Pod<'a> {
    type Target = PodSpec<'a>;
    fn deref(&self) -> &PodSpec<'a> {
        &self.template
    }
}

/// What a check sees of one workload.
struct Ctx<'a> {
    spec: &'a Pod<'a>,
    settings: &'a Settings,
    object: &'a Value,
    /// `automountServiceAccountToken` of the pod's service account, if set;
    /// `Err` when the service accounts could not be listed.
    account_automount: Result<Option<bool>, &'a str>,
}

struct Check {
    id: &'static str,
    title: &'static str,
    severity: Severity,
    cis: &'static str,
    remediation: &'static str,
    /// What a failure says in a word.
    failure: &'static str,
    /// The problems found, or why the check cannot judge this object.
    eval: fn(&Ctx<'_>) -> Result<Problems, String>,
    /// The status of a finding with problems: `Fail`, or `Warn` for a check
    /// that lists what a reviewer decides on.
    flagged: Status,
}

const CHECKS: &[Check] = &[
    Check {
        id: "privileged",
        title: "Containers do not run privileged",
        severity: Severity::High,
        cis: "cis-5.2.2",
        remediation: "Remove securityContext.privileged (or set it to false); grant the specific capability the workload needs instead.",
        failure: "privileged container",
        eval: |c| Ok(privileged(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "host-pid",
        title: "Pods do not share the host's process namespace",
        severity: Severity::High,
        cis: "cis-5.2.3",
        remediation: "Remove spec.hostPID.",
        failure: "shares the host PID namespace",
        eval: |c| Ok(pod_flag(c.spec, "hostPID")),
        flagged: Status::Fail,
    },
    Check {
        id: "host-ipc",
        title: "Pods do not share the host's IPC namespace",
        severity: Severity::High,
        cis: "cis-5.2.4",
        remediation: "Remove spec.hostIPC.",
        failure: "shares the host IPC namespace",
        eval: |c| Ok(pod_flag(c.spec, "hostIPC")),
        flagged: Status::Fail,
    },
    Check {
        id: "host-network",
        title: "Pods do not share the host's network namespace",
        severity: Severity::High,
        cis: "cis-5.2.5",
        remediation: "Remove spec.hostNetwork; expose the workload through a Service.",
        failure: "shares the host network namespace",
        eval: |c| Ok(pod_flag(c.spec, "hostNetwork")),
        flagged: Status::Fail,
    },
    Check {
        id: "allow-privilege-escalation",
        title: "Containers cannot gain more privileges than their parent process",
        severity: Severity::Medium,
        cis: "cis-5.2.6",
        remediation: "Set securityContext.allowPrivilegeEscalation: false on every container (unset means allowed).",
        failure: "privilege escalation allowed",
        eval: |c| Ok(privilege_escalation(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "run-as-root",
        title: "Containers do not run as root",
        severity: Severity::Medium,
        cis: "cis-5.2.7",
        remediation: "Set runAsNonRoot: true and a non-zero runAsUser in the pod or container securityContext.",
        failure: "may run as root",
        eval: |c| Ok(run_as_root(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "net-raw-capability",
        title: "Containers drop the NET_RAW capability",
        severity: Severity::Medium,
        cis: "cis-5.2.8",
        remediation: "Add capabilities.drop: [\"ALL\"] (or at least NET_RAW) to every container's securityContext.",
        failure: "keeps NET_RAW",
        eval: |c| Ok(net_raw(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "added-capabilities",
        title: "Containers add no Linux capabilities beyond the allowed list",
        severity: Severity::Medium,
        cis: "cis-5.2.9",
        remediation: "Remove entries from securityContext.capabilities.add, or list the ones you accept in the plugin's `allowed-capabilities` setting.",
        failure: "adds capabilities",
        eval: |c| Ok(added_capabilities(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "host-process",
        title: "Windows pods do not run as HostProcess",
        severity: Severity::High,
        cis: "cis-5.2.10",
        remediation: "Remove windowsOptions.hostProcess from the pod and its containers.",
        failure: "Windows HostProcess",
        eval: |c| Ok(host_process(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "host-path-volumes",
        title: "Pods mount no hostPath volumes",
        severity: Severity::Medium,
        cis: "cis-5.2.11",
        remediation: "Replace hostPath volumes with persistent volumes, configMaps, secrets or emptyDir.",
        failure: "mounts host paths",
        eval: |c| Ok(host_path(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "host-ports",
        title: "Containers bind no host ports",
        severity: Severity::Medium,
        cis: "cis-5.2.12",
        remediation: "Remove ports[].hostPort; expose the workload through a Service.",
        failure: "binds host ports",
        eval: host_ports,
        flagged: Status::Fail,
    },
    Check {
        id: "privileged-host-ports",
        title: "User pods bind no privileged host ports (below 1024)",
        severity: Severity::Medium,
        cis: "stig-V-242414",
        remediation: "Remove ports[].hostPort below 1024 from workloads outside the platform's namespaces; expose them through a Service.",
        failure: "binds privileged host ports",
        eval: privileged_host_ports,
        flagged: Status::Fail,
    },
    Check {
        id: "seccomp-profile",
        title: "Containers run with a seccomp profile (RuntimeDefault or Localhost)",
        severity: Severity::Low,
        cis: "cis-5.6.2",
        remediation: "Set securityContext.seccompProfile.type: RuntimeDefault in the pod spec (or Localhost with a profile).",
        failure: "no seccomp confinement",
        eval: |c| Ok(seccomp(c.spec, c.settings)),
        flagged: Status::Fail,
    },
    Check {
        id: "secrets-in-env",
        title: "Secrets reach containers as files, not environment variables",
        severity: Severity::Medium,
        cis: "cis-5.4.1",
        remediation: "Mount the Secret as a volume and read it from a file instead of env[].valueFrom.secretKeyRef or envFrom[].secretRef.",
        failure: "Secrets in environment variables",
        eval: |c| Ok(secrets_in_env(c.spec)),
        flagged: Status::Fail,
    },
    Check {
        id: "service-account-token",
        title: "Service account tokens are mounted only where needed",
        severity: Severity::Medium,
        cis: "cis-5.1.6",
        remediation: "Set automountServiceAccountToken: false on the pod or its service account unless the workload calls the API.",
        failure: "mounts a service account token",
        eval: service_account_token,
        flagged: Status::Fail,
    },
    Check {
        id: "security-context",
        title: "Pods and containers declare a security context",
        severity: Severity::Low,
        cis: "cis-5.6.3",
        remediation: "Set securityContext on the pod and its containers (runAsNonRoot, seccompProfile, allowPrivilegeEscalation, capabilities).",
        failure: "no security context",
        eval: |c| Ok(security_context(c.spec)),
        flagged: Status::Fail,
    },
    Check {
        id: "secret-mounts",
        title: "Pods that mount Secrets are listed for review",
        severity: Severity::Medium,
        cis: "stig-V-274884",
        remediation: "Confirm each workload that mounts a Secret (secret volume or projected source) needs it, and that access is documented.",
        failure: "mounts Secrets",
        eval: |c| Ok(secret_mounts(c.spec)),
        // Mounting a Secret is how Secrets are meant to be used: a reviewer
        // compares the list with what is documented (STIG V-274884).
        flagged: Status::Warn,
    },
];

fn pod_flag(p: &Pod<'_>, field: &str) -> Problems {
    if p.flag(field) { vec![(format!("{}.{field}", p.path), "true".into())] } else { vec![] }
}

fn per_container(p: &Pod<'_>, f: impl Fn(&Container<'_>) -> Option<(String, String)>) -> Problems {
    p.containers().iter().filter_map(f).collect()
}

fn is_privileged(c: &Container<'_>) -> bool {
    c.spec["securityContext"]["privileged"].as_bool() == Some(true)
}

fn privileged(p: &Pod<'_>, _: &Settings) -> Problems {
    per_container(p, |c| is_privileged(c).then(|| (format!("{}.securityContext.privileged", c.path), "true".into())))
}

/// The evidence for a privileged container in a capability check.
fn every_capability(c: &Container<'_>) -> (String, String) {
    (
        format!("{}.securityContext.privileged", c.path),
        "true (a privileged container has every capability, whatever add and drop say)".into(),
    )
}

/// Capability names as the kubelet accepts them: case-insensitive, with or
/// without the CAP_ prefix.
fn cap_name(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.trim().to_ascii_uppercase().trim_start_matches("CAP_").to_string())
}

/// Whether a container ends up with a capability, taking it to be in the
/// runtime's default set (callers check the adds for others), applying add
/// and drop the way the CRI runtimes
/// (containerd, CRI-O) do: `ALL` in add, then `ALL` in drop, then the named
/// adds, then the named drops. A privileged container gets the full set
/// after all of that: add and drop do not apply to it.
fn keeps(c: &Container<'_>, name: &str) -> bool {
    if is_privileged(c) {
        return true;
    }
    let (add, drop) = (caps(c, "add"), caps(c, "drop"));
    let has = |list: &[String], n: &str| list.iter().any(|x| x == n);
    if has(&drop, name) {
        return false;
    }
    has(&add, name) || !has(&drop, "ALL")
}

fn caps(c: &Container<'_>, list: &str) -> Vec<String> {
    c.spec["securityContext"]["capabilities"][list].as_array().map(|a| a.iter().filter_map(cap_name).collect()).unwrap_or_default()
}

fn privilege_escalation(p: &Pod<'_>, _: &Settings) -> Problems {
    per_container(p, |c| {
        let sc = &c.spec["securityContext"];
        let field = format!("{}.securityContext", c.path);
        if sc["privileged"].as_bool() == Some(true) {
            return Some((format!("{field}.privileged"), "true (privileged containers can always escalate)".into()));
        }
        if keeps(c, "SYS_ADMIN") && caps(c, "add").iter().any(|n| n == "SYS_ADMIN" || n == "ALL") {
            return Some((format!("{field}.capabilities.add"), "SYS_ADMIN (implies privilege escalation)".into()));
        }
        match sc["allowPrivilegeEscalation"].as_bool() {
            Some(false) => None,
            Some(true) => Some((format!("{field}.allowPrivilegeEscalation"), "true".into())),
            None => Some((format!("{field}.allowPrivilegeEscalation"), "unset (defaults to allowed)".into())),
        }
    })
}

fn run_as_root(p: &Pod<'_>, _: &Settings) -> Problems {
    per_container(p, |c| {
        let eff = p.effective(c);
        let (user, user_from) = eff.run_as_user();
        let (non_root, _) = eff.run_as_non_root();
        match (user, non_root) {
            (Some(0), _) => Some((format!("{} runAsUser ({user_from:?} level)", c.path), "0".into())),
            (Some(_), _) | (None, Some(true)) => None,
            (None, Some(false)) => Some((format!("{}.securityContext.runAsNonRoot", c.path), "false, and no non-zero runAsUser".into())),
            (None, None) => Some((c.path.clone(), "neither runAsNonRoot: true nor a non-zero runAsUser is set (pod or container)".into())),
        }
    })
}

/// NET_RAW is in containerd's default set: a container keeps it unless it
/// drops it (or ALL, without adding it back).
fn net_raw(p: &Pod<'_>, _: &Settings) -> Problems {
    per_container(p, |c| {
        if !keeps(c, "NET_RAW") {
            return None;
        }
        if is_privileged(c) {
            return Some(every_capability(c));
        }
        let (add, drop) = (caps(c, "add"), caps(c, "drop"));
        if add.iter().any(|n| n == "NET_RAW") {
            Some((format!("{}.securityContext.capabilities.add", c.path), add.join(",")))
        } else {
            let shown = if drop.is_empty() { "unset".into() } else { drop.join(",") };
            Some((format!("{}.securityContext.capabilities.drop", c.path), shown))
        }
    })
}

fn added_capabilities(p: &Pod<'_>, settings: &Settings) -> Problems {
    let allowed: Vec<String> = settings
        .list("allowed-capabilities")
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_ascii_uppercase().trim_start_matches("CAP_").to_string())
        .collect();
    per_container(p, |c| {
        if is_privileged(c) {
            return Some(every_capability(c));
        }
        let extra: Vec<String> = caps(c, "add").into_iter().filter(|n| !allowed.contains(n)).collect();
        (!extra.is_empty()).then(|| (format!("{}.securityContext.capabilities.add", c.path), extra.join(",")))
    })
}

fn host_process(p: &Pod<'_>, _: &Settings) -> Problems {
    let mut out = Vec::new();
    if p.spec["securityContext"]["windowsOptions"]["hostProcess"].as_bool() == Some(true) {
        out.push((format!("{}.securityContext.windowsOptions.hostProcess", p.path), "true".into()));
    }
    out.extend(per_container(p, |c| {
        (c.spec["securityContext"]["windowsOptions"]["hostProcess"].as_bool() == Some(true))
            .then(|| (format!("{}.securityContext.windowsOptions.hostProcess", c.path), "true".into()))
    }));
    out
}

fn host_path(p: &Pod<'_>, _: &Settings) -> Problems {
    p.spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| {
            v["hostPath"]["path"]
                .as_str()
                .map(|path| (format!("{}.volumes[{i}] ({})", p.path, v["name"].as_str().unwrap_or("?")), path.to_string()))
        })
        .collect()
}

/// Every host port, or with the setting `host-ports.below` only those
/// below it; `host-ports.exempt-namespaces` (comma list) leaves namespaces
/// out.
fn host_ports(ctx: &Ctx<'_>) -> Result<Problems, String> {
    let below = match ctx.settings.get("host-ports.below") {
        None => i64::MAX,
        // 1 would count no port at all: a pass without looking.
        Some(t) => match t.trim().parse::<i64>() {
            Ok(n) if (2..=65536).contains(&n) => n,
            _ => return Ok(vec![("setting host-ports.below".into(), format!("{t:?} is not a port number from 2 to 65536"))]),
        },
    };
    host_ports_below(ctx, below, ctx.settings.get("host-ports.exempt-namespaces").unwrap_or(""))
}

/// The STIG's rule (V-242414): host ports below 1024 in user pods, that is
/// outside the platform's namespaces (`privileged-host-ports.exempt-namespaces`,
/// by default kube-system, kube-public and kube-node-lease). A check of its
/// own rather than `host-ports` with the STIG's threshold: a scan of CIS
/// and the STIG together then runs this plugin once, not once per profile.
fn privileged_host_ports(ctx: &Ctx<'_>) -> Result<Problems, String> {
    let exempt = ctx.settings.get("privileged-host-ports.exempt-namespaces").unwrap_or("kube-system,kube-public,kube-node-lease");
    host_ports_below(ctx, 1024, exempt)
}

/// The host ports below `below` of a workload outside the `exempt`
/// namespaces (comma list). A `ports` that is not a list or a `hostPort`
/// that is not an integer (the API server's type is int32) cannot be
/// judged: an error, not a pass.
fn host_ports_below(ctx: &Ctx<'_>, below: i64, exempt: &str) -> Result<Problems, String> {
    let namespace = ctx.object["metadata"]["namespace"].as_str().unwrap_or("default");
    if exempt.split(',').any(|n| n.trim() == namespace) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for c in ctx.spec.containers().iter() {
        let ports = match &c.spec["ports"] {
            Value::Null => continue,
            Value::Array(ports) => ports,
            other => return Err(format!("{}.ports is not a list: {other}", c.path)),
        };
        for (i, port) in ports.iter().enumerate() {
            if !port.is_object() {
                return Err(format!("{}.ports[{i}] is not an object: {port}", c.path));
            }
            let hp = match &port["hostPort"] {
                Value::Null => continue,
                v => v.as_i64().ok_or_else(|| format!("{}.ports[{i}].hostPort is not an integer: {v}", c.path))?,
            };
            if hp != 0 && hp < below {
                out.push((format!("{}.ports[{i}].hostPort", c.path), hp.to_string()));
            }
        }
    }
    Ok(out)
}

fn seccomp(p: &Pod<'_>, _: &Settings) -> Problems {
    per_container(p, |c| match p.effective(c).seccomp_type() {
        (Some("RuntimeDefault" | "Localhost"), _) => None,
        (Some(other), from) => Some((format!("{} seccompProfile.type ({from:?} level)", c.path), other.to_string())),
        (None, _) => Some((format!("{} seccompProfile", c.path), "unset (pod and container)".into())),
    })
}

fn secrets_in_env(p: &Pod<'_>) -> Problems {
    let mut out = Vec::new();
    for c in p.containers().iter() {
        for (i, e) in c.spec["env"].as_array().into_iter().flatten().enumerate() {
            if let Some(secret) = e["valueFrom"]["secretKeyRef"]["name"].as_str() {
                out.push((format!("{}.env[{i}] ({})", c.path, e["name"].as_str().unwrap_or("?")), format!("secret {secret}")));
            }
        }
        for (i, e) in c.spec["envFrom"].as_array().into_iter().flatten().enumerate() {
            if let Some(secret) = e["secretRef"]["name"].as_str() {
                out.push((format!("{}.envFrom[{i}]", c.path), format!("secret {secret}")));
            }
        }
    }
    out
}

/// Secret volumes and projected Secret sources, each with the Secret's name.
fn secret_mounts(p: &Pod<'_>) -> Problems {
    let mut out = Vec::new();
    for (i, v) in p.spec["volumes"].as_array().into_iter().flatten().enumerate() {
        let volume = format!("{}.volumes[{i}] ({})", p.path, v["name"].as_str().unwrap_or("?"));
        if let Some(secret) = v["secret"]["secretName"].as_str() {
            out.push((volume.clone(), format!("secret {secret}")));
        }
        for (j, source) in v["projected"]["sources"].as_array().into_iter().flatten().enumerate() {
            if let Some(secret) = source["secret"]["name"].as_str() {
                out.push((format!("{volume}.projected.sources[{j}]"), format!("secret {secret}")));
            }
        }
    }
    out
}

fn service_account_token(c: &Ctx<'_>) -> Result<Problems, String> {
    // Mirror pods of static pods never get a token.
    if !c.object["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null() {
        return Ok(vec![]);
    }
    let account = account_name(c.spec);
    let (mounted, why) = match (c.spec.spec["automountServiceAccountToken"].as_bool(), c.account_automount) {
        (Some(v), _) => (v, format!("{}.automountServiceAccountToken: {v}", c.spec.path)),
        // The pod leaves it to its account, which could not be read.
        (None, Err(e)) => {
            return Err(format!("the pod does not set automountServiceAccountToken and ServiceAccount {account} is unknown: {e}"));
        }
        (None, Ok(Some(v))) => (v, format!("ServiceAccount {account} sets automountServiceAccountToken: {v}")),
        (None, Ok(None)) => {
            (true, format!("neither the pod nor ServiceAccount {account} sets automountServiceAccountToken (default true)"))
        }
    };
    Ok(if mounted { vec![(format!("{} serviceAccountName", c.spec.path), format!("{account}: {why}"))] } else { vec![] })
}

fn security_context(p: &Pod<'_>) -> Problems {
    let empty = |v: &Value| v.as_object().is_none_or(|m| m.is_empty());
    if !empty(&p.spec["securityContext"]) {
        return vec![];
    }
    p.containers()
        .iter()
        .filter(|c| empty(&c.spec["securityContext"]))
        .map(|c| (format!("{}.securityContext", c.path), "unset (and none on the pod)".to_string()))
        .collect()
}

fn check_info(c: &Check) -> CheckInfo {
    CheckInfoBuilder::new(c.id, c.title).severity(c.severity).remediation(c.remediation).tag(c.cis).tag("pod-security").build()
}

impl Plugin for PodSecurity {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "pod-security".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            checks: CHECKS.iter().map(check_info).collect(),
            capabilities: WORKLOAD_KINDS
                .iter()
                .chain(&[("v1", "ServiceAccount")])
                .map(|(v, k)| Capability::ClusterList(KindRef { api_version: v.to_string(), kind: k.to_string() }))
                .collect(),
            settings: vec![
                setting("allowed-capabilities", SettingKind::List, "capabilities containers may add (NET_BIND_SERVICE, ...)"),
                setting("host-ports.below", SettingKind::Integer, "host ports below this number fail (default: every host port fails)"),
                setting("host-ports.exempt-namespaces", SettingKind::List, "namespaces whose host ports are not judged"),
                setting(
                    "privileged-host-ports.exempt-namespaces",
                    SettingKind::List,
                    "the platform's namespaces, whose privileged host ports are not judged (default: kube-system, kube-public, kube-node-lease)",
                ),
            ],
        }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let mut seen = 0;
        let mut list_errors = Vec::new();
        // automountServiceAccountToken of every service account, by namespace and name.
        // Only service-account-token reads them: when they cannot be listed,
        // that check is an error for the pods that leave the choice to their
        // account, and every other check is judged as usual.
        let mut accounts: std::collections::HashMap<(String, String), Option<bool>> = std::collections::HashMap::new();
        let mut accounts_error = None;
        match host.list_objects("v1", "ServiceAccount", None) {
            Ok(list) => {
                for sa in list {
                    let automount = match serde_json::from_str::<Value>(&sa.json) {
                        Ok(v) => v["automountServiceAccountToken"].as_bool(),
                        Err(e) => {
                            accounts_error = Some(format!("ServiceAccount {}: not valid JSON: {e}", sa.ref_.name));
                            continue;
                        }
                    };
                    accounts.insert((namespace_of(&sa.ref_), sa.ref_.name.clone()), automount);
                }
            }
            Err(e) => accounts_error = Some(format!("cannot list v1/ServiceAccount: {}", e.reason())),
        }
        for (api_version, kind) in WORKLOAD_KINDS {
            // A page at a time: the plugin holds 500 objects' JSON, not a
            // whole cluster's. A listing that fails part-way has judged the
            // objects before it and is an error for the rest.
            let listed = host.for_each_page(api_version, kind, None, PAGE_SIZE, &mut |objects| {
                for obj in objects {
                    // A workload object, even one that cannot be judged:
                    // the cluster has workloads, so no check is not
                    // applicable.
                    seen += 1;
                    let json = match rampart_sdk::workload::parse(&obj.json) {
                        Ok(v) => v,
                        Err(e) => {
                            for c in CHECKS {
                                out.push(
                                    Finding::new(c.id, Status::Error, format!("object is not valid JSON: {e}")).on_object(obj.ref_.clone()),
                                );
                            }
                            continue;
                        }
                    };
                    let Some(spec) = pod_spec(&json, kind) else {
                        for c in CHECKS {
                            out.push(Finding::new(c.id, Status::Error, format!("{kind} has no pod template")).on_object(obj.ref_.clone()));
                        }
                        continue;
                    };
                    let account = account_name(&spec);
                    let key = (namespace_of(&obj.ref_), account.to_string());
                    let account_automount = match (&accounts_error, accounts.get(&key)) {
                        (_, Some(automount)) => Ok(*automount),
                        (Some(e), None) => Err(e.as_str()),
                        (None, None) => Ok(None),
                    };
                    let pod = Pod::new(spec);
                    let ctx = Ctx { spec: &pod, settings, object: &json, account_automount };
                    evaluate_object(&obj.ref_, &ctx, out);
                }
            });
            if let Err(e) = listed {
                list_errors.push(format!("cannot list {api_version}/{kind}: {}", e.reason()));
            }
        }
        // A kind we could not list may hide violations: every check says so.
        for c in CHECKS {
            for e in &list_errors {
                out.push(Finding::new(c.id, Status::Error, e.clone()));
            }
            if seen == 0 && list_errors.is_empty() {
                out.push(Finding::new(c.id, Status::NotApplicable, "the cluster has no workload objects"));
            }
        }
        Ok(())
    }
}

/// The pod's service account: serviceAccountName, else the deprecated
/// serviceAccount, else `default` (an empty name is unset).
fn account_name<'a>(spec: &PodSpec<'a>) -> &'a str {
    ["serviceAccountName", "serviceAccount"].iter().filter_map(|k| spec.spec[*k].as_str()).find(|n| !n.is_empty()).unwrap_or("default")
}

/// The namespace of a namespaced object; one without metadata.namespace is
/// in `default`, as kubectl and the API server place it.
fn namespace_of(r: &ObjectRef) -> String {
    r.namespace.clone().unwrap_or_else(|| "default".into())
}

fn evaluate_object(object: &ObjectRef, ctx: &Ctx<'_>, out: &mut Findings) {
    for c in CHECKS {
        let problems = match (c.eval)(ctx) {
            Ok(p) => p,
            Err(e) => {
                out.push(Finding::new(c.id, Status::Error, e).on_object(object.clone()));
                continue;
            }
        };
        let finding = if problems.is_empty() {
            Finding::new(c.id, Status::Pass, "ok")
        } else {
            let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
            let mut f = Finding::new(c.id, c.flagged, format!("{}: {}", c.failure, fields.join(", ")));
            for (field, value) in problems {
                f = f.with(field, value);
            }
            f
        };
        out.push(finding.on_object(object.clone()));
    }
}

rampart_sdk::export_plugin!(PodSecurity);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;
    use serde_json::json;

    fn verdicts(host: &FakeHost, check: &str) -> Vec<(String, Status)> {
        host.run::<PodSecurity>(&[])
            .unwrap()
            .into_iter()
            .filter(|f| f.check == check)
            .map(|f| (f.object.map(|o| o.name).unwrap_or_default(), f.status))
            .collect()
    }

    fn restricted_container(name: &str) -> Value {
        json!({"name": name, "image": "registry.example/app@sha256:0", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}})
    }

    fn good_pod(name: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "payments"}, "spec": {
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [restricted_container("app")]}})
    }

    #[test]
    fn a_restricted_pod_passes_every_check() {
        let host = FakeHost::new().object("v1", "Pod", good_pod("ok"));
        let findings = host.run::<PodSecurity>(&[]).unwrap();
        assert_eq!(findings.len(), CHECKS.len());
        assert!(findings.iter().all(|f| f.status == Status::Pass), "{findings:?}");
    }

    #[test]
    fn init_and_ephemeral_containers_are_checked() {
        let mut pod = good_pod("init-escalation");
        pod["spec"]["initContainers"] = json!([{"name": "setup", "securityContext": {"privileged": true}}]);
        pod["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}]);
        let host = FakeHost::new().object("v1", "Pod", pod);
        let findings = host.run::<PodSecurity>(&[]).unwrap();
        let privileged = findings.iter().find(|f| f.check == "privileged").unwrap();
        assert_eq!(privileged.status, Status::Fail);
        assert!(privileged.evidence.iter().any(|(k, _)| k == "spec.initContainers[0].securityContext.privileged"), "{privileged:?}");
        let added = findings.iter().find(|f| f.check == "added-capabilities").unwrap();
        // The privileged init container has every capability.
        assert_eq!(
            added.evidence.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["spec.initContainers[0].securityContext.privileged", "spec.ephemeralContainers[0].securityContext.capabilities.add"]
        );
    }

    #[test]
    fn unset_allow_privilege_escalation_counts_as_allowed() {
        let mut pod = good_pod("p");
        pod["spec"]["containers"][0]["securityContext"] = json!({"capabilities": {"drop": ["ALL"]}});
        let host = FakeHost::new().object("v1", "Pod", pod);
        assert_eq!(verdicts(&host, "allow-privilege-escalation"), vec![("p".into(), Status::Fail)]);
    }

    #[test]
    fn pod_level_security_context_is_inherited_and_overridden() {
        // Pod says non-root; one container overrides with UID 0.
        let mut pod = good_pod("mixed");
        pod["spec"]["containers"] = json!([restricted_container("a"), {"name": "b", "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]);
        let host = FakeHost::new().object("v1", "Pod", pod);
        let f = host.run::<PodSecurity>(&[]).unwrap().into_iter().find(|f| f.check == "run-as-root").unwrap();
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.evidence.len(), 1, "only container b: {:?}", f.evidence);
        // With no pod-level seccomp, the container must set its own.
        let mut pod = good_pod("s");
        pod["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        let host = FakeHost::new().object("v1", "Pod", pod);
        assert_eq!(verdicts(&host, "seccomp-profile"), vec![("s".into(), Status::Fail)]);
    }

    #[test]
    fn every_template_kind_is_read() {
        let template = |name: &str| json!({"metadata": {"name": name, "namespace": "x"}, "spec": {"template": {"spec": {"hostPID": true, "containers": [restricted_container("c")]}}}});
        let host = FakeHost::new()
            .object("apps/v1", "Deployment", template("d"))
            .object("apps/v1", "StatefulSet", template("s"))
            .object("apps/v1", "DaemonSet", template("ds"))
            .object("apps/v1", "ReplicaSet", template("rs"))
            .object("batch/v1", "Job", template("j"))
            .object("v1", "ReplicationController", template("rc"))
            .object("batch/v1", "CronJob", json!({"metadata": {"name": "cj", "namespace": "x"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostPID": true, "containers": []}}}}}}));
        let v = verdicts(&host, "host-pid");
        assert_eq!(v.len(), 7);
        assert!(v.iter().all(|(_, s)| *s == Status::Fail), "{v:?}");
    }

    #[test]
    fn net_raw_needs_a_drop_and_capabilities_are_case_insensitive() {
        let mut pod = good_pod("n");
        pod["spec"]["containers"][0]["securityContext"]["capabilities"] = json!({"drop": ["cap_net_raw"]});
        let host = FakeHost::new().object("v1", "Pod", pod.clone());
        assert_eq!(verdicts(&host, "net-raw-capability"), vec![("n".into(), Status::Pass)]);
        pod["spec"]["containers"][0]["securityContext"]["capabilities"] = json!({"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]});
        let host = FakeHost::new().object("v1", "Pod", pod);
        assert_eq!(verdicts(&host, "net-raw-capability"), vec![("n".into(), Status::Pass)]);
        assert_eq!(verdicts(&host, "added-capabilities"), vec![("n".into(), Status::Fail)]);
        let allowed = host.run::<PodSecurity>(&[("allowed-capabilities", "NET_BIND_SERVICE")]).unwrap();
        assert_eq!(allowed.iter().find(|f| f.check == "added-capabilities").unwrap().status, Status::Pass);
    }

    #[test]
    fn net_raw_follows_the_runtimes_order_of_add_and_drop() {
        let verdict = |capabilities: serde_json::Value| {
            let mut pod = good_pod("n");
            pod["spec"]["containers"][0]["securityContext"]["capabilities"] = capabilities;
            verdicts(&FakeHost::new().object("v1", "Pod", pod), "net-raw-capability")[0].1
        };
        // Named adds come after drop ALL: the container has NET_RAW.
        assert_eq!(verdict(json!({"add": ["NET_RAW"], "drop": ["ALL"]})), Status::Fail);
        // ALL is added, then ALL is dropped: nothing is left.
        assert_eq!(verdict(json!({"add": ["ALL"], "drop": ["ALL"]})), Status::Pass);
        assert_eq!(verdict(json!({"add": ["ALL"]})), Status::Fail);
        // A named drop comes last of all.
        assert_eq!(verdict(json!({"add": ["NET_RAW"], "drop": ["NET_RAW"]})), Status::Pass);
        assert_eq!(verdict(json!({})), Status::Fail, "containerd's default set has NET_RAW");
    }

    #[test]
    fn sys_admin_implies_escalation_only_when_the_container_keeps_it() {
        let verdict = |capabilities: serde_json::Value| {
            let mut pod = good_pod("e");
            pod["spec"]["containers"][0]["securityContext"]["capabilities"] = capabilities;
            verdicts(&FakeHost::new().object("v1", "Pod", pod), "allow-privilege-escalation")[0].1
        };
        assert_eq!(verdict(json!({"add": ["SYS_ADMIN"], "drop": ["ALL"]})), Status::Fail);
        assert_eq!(verdict(json!({"add": ["ALL"]})), Status::Fail);
        assert_eq!(verdict(json!({"add": ["ALL"], "drop": ["ALL"]})), Status::Pass);
        assert_eq!(verdict(json!({"drop": ["ALL"]})), Status::Pass);
    }

    #[test]
    fn host_ports_and_paths_are_listed() {
        let mut pod = good_pod("h");
        pod["spec"]["volumes"] = json!([{"name": "root", "hostPath": {"path": "/"}}, {"name": "tmp", "emptyDir": {}}]);
        pod["spec"]["containers"][0]["ports"] = json!([{"containerPort": 9100, "hostPort": 9100}, {"containerPort": 8080}]);
        let host = FakeHost::new().object("v1", "Pod", pod);
        let findings = host.run::<PodSecurity>(&[]).unwrap();
        let hp = findings.iter().find(|f| f.check == "host-path-volumes").unwrap();
        assert_eq!(hp.evidence, vec![("spec.volumes[0] (root)".to_string(), "/".to_string())]);
        let ports = findings.iter().find(|f| f.check == "host-ports").unwrap();
        assert_eq!(ports.evidence, vec![("spec.containers[0].ports[0].hostPort".to_string(), "9100".to_string())]);
    }

    #[test]
    fn host_ports_can_be_limited_to_privileged_ports_outside_exempt_namespaces() {
        let mut web = good_pod("web");
        web["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 9100, "hostPort": 9100}]);
        let mut system = good_pod("proxy");
        system["metadata"]["namespace"] = json!("kube-system");
        system["spec"]["containers"][0]["ports"] = json!([{"containerPort": 443, "hostPort": 443}]);
        let host = FakeHost::new().object("v1", "Pod", web).object("v1", "Pod", system);
        let ports = |settings: &[(&str, &str)]| {
            host.run::<PodSecurity>(settings)
                .unwrap()
                .into_iter()
                .filter(|f| f.check == "host-ports")
                .map(|f| (f.object.unwrap().name, f.status, f.evidence.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ports(&[]), [("web".into(), Status::Fail, 2), ("proxy".into(), Status::Fail, 1)]);
        let stig = [("host-ports.below", "1024"), ("host-ports.exempt-namespaces", "kube-system,kube-public")];
        assert_eq!(ports(&stig), [("web".into(), Status::Fail, 1), ("proxy".into(), Status::Pass, 0)]);
        for setting in ["low", "0", "1"] {
            let bad = ports(&[("host-ports.below", setting)]);
            assert_eq!(bad[0].1, Status::Fail, "a bad setting ({setting}) never passes");
        }
    }

    #[test]
    fn privileged_host_ports_are_judged_in_user_pods_only() {
        let pod = |name: &str, namespace: &str, ports: Value| {
            let mut p = good_pod(name);
            p["metadata"]["namespace"] = json!(namespace);
            p["spec"]["containers"][0]["ports"] = ports;
            p
        };
        let host = FakeHost::new()
            .object(
                "v1",
                "Pod",
                pod("web", "payments", json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 9100, "hostPort": 9100}])),
            )
            .object("v1", "Pod", pod("high", "payments", json!([{"containerPort": 8443, "hostPort": 8443}])))
            .object("v1", "Pod", pod("proxy", "kube-system", json!([{"containerPort": 443, "hostPort": 443}])))
            .object("v1", "Pod", pod("lease", "kube-node-lease", json!([{"containerPort": 53, "hostPort": 53}])))
            // hostPort 0 is "not bound to the host", as the API server reads it.
            .object("v1", "Pod", pod("zero", "payments", json!([{"containerPort": 80, "hostPort": 0}])));
        let verdicts = |settings: &[(&str, &str)]| {
            host.run::<PodSecurity>(settings)
                .unwrap()
                .into_iter()
                .filter(|f| f.check == "privileged-host-ports")
                .map(|f| (f.object.unwrap().name, f.status, f.evidence))
                .collect::<Vec<_>>()
        };
        let web_fails = ("web".to_string(), Status::Fail, vec![("spec.containers[0].ports[0].hostPort".to_string(), "80".to_string())]);
        assert_eq!(
            verdicts(&[]),
            [
                web_fails.clone(),
                ("high".into(), Status::Pass, vec![]),
                ("proxy".into(), Status::Pass, vec![]),
                ("lease".into(), Status::Pass, vec![]),
                ("zero".into(), Status::Pass, vec![]),
            ]
        );
        // The exemption is the operator's to narrow; host-ports' own
        // settings do not change this check.
        let narrowed = verdicts(&[("privileged-host-ports.exempt-namespaces", "kube-system"), ("host-ports.below", "100")]);
        assert_eq!(narrowed[0], web_fails);
        assert_eq!(narrowed[3].1, Status::Fail, "{narrowed:?}");
        assert_eq!(narrowed[2].1, Status::Pass);
    }

    #[test]
    fn host_ports_of_the_wrong_type_are_an_error_not_a_pass() {
        for (name, ports) in [
            ("string-port", json!([{"containerPort": 80, "hostPort": "80"}])),
            ("fraction", json!([{"containerPort": 80, "hostPort": 80.5}])),
            ("not-an-object", json!(["80"])),
            ("not-a-list", json!({"hostPort": 80})),
        ] {
            let mut p = good_pod(name);
            p["spec"]["containers"][0]["ports"] = ports;
            let host = FakeHost::new().object("v1", "Pod", p);
            for check in ["host-ports", "privileged-host-ports"] {
                let f = finding(&host, check);
                assert_eq!(f.status, Status::Error, "{name} {check}: {f:?}");
                assert!(f.message.contains("spec.containers[0].ports"), "{name} {check}: {}", f.message);
            }
        }
    }

    #[test]
    fn secrets_in_env_are_found_in_env_and_env_from() {
        let mut pod = good_pod("db");
        pod["spec"]["containers"][0]["env"] =
            json!([{"name": "PLAIN", "value": "x"}, {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]);
        pod["spec"]["initContainers"] =
            json!([{"name": "init", "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "creds"}}]}]);
        let f = FakeHost::new()
            .object("v1", "Pod", pod)
            .run::<PodSecurity>(&[])
            .unwrap()
            .into_iter()
            .find(|f| f.check == "secrets-in-env")
            .unwrap();
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.evidence,
            vec![
                ("spec.containers[0].env[1] (PASSWORD)".to_string(), "secret db".to_string()),
                ("spec.initContainers[0].envFrom[1]".to_string(), "secret creds".to_string())
            ]
        );
    }

    #[test]
    fn token_mounting_follows_pod_then_service_account_then_default() {
        let mut pod = good_pod("p");
        pod["spec"].as_object_mut().unwrap().remove("automountServiceAccountToken");
        let sa_off = json!({"metadata": {"name": "default", "namespace": "payments"}, "automountServiceAccountToken": false});
        let verdict =
            |host: FakeHost| host.run::<PodSecurity>(&[]).unwrap().into_iter().find(|f| f.check == "service-account-token").unwrap().status;
        assert_eq!(verdict(FakeHost::new().object("v1", "Pod", pod.clone())), Status::Fail, "default is to mount");
        assert_eq!(verdict(FakeHost::new().object("v1", "Pod", pod.clone()).object("v1", "ServiceAccount", sa_off.clone())), Status::Pass);
        pod["spec"]["automountServiceAccountToken"] = json!(true);
        assert_eq!(
            verdict(FakeHost::new().object("v1", "Pod", pod.clone()).object("v1", "ServiceAccount", sa_off)),
            Status::Fail,
            "the pod overrides its account"
        );
        pod["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
        assert_eq!(verdict(FakeHost::new().object("v1", "Pod", pod)), Status::Pass, "mirror pods get no token");
    }

    fn finding(host: &FakeHost, check: &str) -> Finding {
        host.run::<PodSecurity>(&[]).unwrap().into_iter().find(|f| f.check == check).unwrap()
    }

    #[test]
    fn a_privileged_container_keeps_every_capability_whatever_it_drops() {
        let mut pod = good_pod("priv");
        pod["spec"]["containers"][0]["securityContext"] =
            json!({"privileged": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
        let host = FakeHost::new().object("v1", "Pod", pod);
        for check in ["net-raw-capability", "added-capabilities", "allow-privilege-escalation", "privileged"] {
            let f = finding(&host, check);
            assert_eq!(f.status, Status::Fail, "{check}: {f:?}");
            assert_eq!(f.evidence[0].0, "spec.containers[0].securityContext.privileged", "{check}");
        }
        // The same drop list without privileged is clean.
        let host = FakeHost::new().object("v1", "Pod", good_pod("ok"));
        for check in ["net-raw-capability", "added-capabilities"] {
            assert_eq!(finding(&host, check).status, Status::Pass, "{check}");
        }
    }

    #[test]
    fn a_pod_damaged_where_no_check_reads_is_an_error_for_every_check() {
        // The parse leaves `status` out, but still reads it to the end: a
        // damaged one makes the pod unreadable, never a pass.
        let good = good_pod("good").to_string();
        let damaged = format!("{}, \"status\": {{\"phase\": }}}}", &good[..good.len() - 1]);
        let at = ObjectRef { api_version: "v1".into(), kind: "Pod".into(), namespace: Some("default".into()), name: "damaged".into() };
        let findings = FakeHost::new().object_text(at, &damaged).run::<PodSecurity>(&[]).unwrap();
        for c in CHECKS {
            let mine: Vec<&Finding> = findings.iter().filter(|f| f.check == c.id).collect();
            assert!(mine.iter().all(|f| f.status == Status::Error), "{}: {mine:?}", c.id);
            assert!(mine.iter().any(|f| f.message.contains("not valid JSON")), "{}: {mine:?}", c.id);
        }
        // The same pod whole is judged.
        let whole = format!("{}, \"status\": {{\"phase\": \"Running\"}}}}", &good[..good.len() - 1]);
        let at = ObjectRef { api_version: "v1".into(), kind: "Pod".into(), namespace: Some("default".into()), name: "whole".into() };
        let findings = FakeHost::new().object_text(at, &whole).run::<PodSecurity>(&[]).unwrap();
        assert!(findings.iter().all(|f| f.status == Status::Pass), "{findings:?}");
    }

    #[test]
    fn a_listing_that_fails_part_way_makes_every_check_an_error() {
        // Pods are read a page at a time: the first page is judged, the
        // failed rest is an error for every check, never silence.
        let mut host = FakeHost::new();
        for i in 0..(PAGE_SIZE as usize + 10) {
            host = host.object("v1", "Pod", good_pod(&format!("p{i}")));
        }
        let findings = host.fail_listing_after("v1", "Pod", PAGE_SIZE as usize).run::<PodSecurity>(&[]).unwrap();
        for c in CHECKS {
            let mine: Vec<&Finding> = findings.iter().filter(|f| f.check == c.id).collect();
            assert_eq!(mine.iter().filter(|f| f.status == Status::Pass).count(), PAGE_SIZE as usize, "{}", c.id);
            assert!(
                mine.iter().any(|f| f.status == Status::Error && f.object.is_none() && f.message.contains("cannot list v1/Pod")),
                "{}: {mine:?}",
                c.id
            );
        }
    }

    #[test]
    fn token_mounting_is_an_error_when_service_accounts_cannot_be_listed() {
        let mut leaves_it = good_pod("leaves-it");
        leaves_it["spec"].as_object_mut().unwrap().remove("automountServiceAccountToken");
        let sa_off = json!({"metadata": {"name": "default", "namespace": "payments"}, "automountServiceAccountToken": false});
        let host = FakeHost::new()
            .object("v1", "Pod", leaves_it)
            .object("v1", "Pod", good_pod("sets-it"))
            .object("v1", "ServiceAccount", sa_off)
            .deny("v1", "ServiceAccount");
        let findings = host.run::<PodSecurity>(&[]).unwrap();
        let tokens: Vec<(String, Status)> = findings
            .iter()
            .filter(|f| f.check == "service-account-token")
            .map(|f| (f.object.as_ref().map(|o| o.name.clone()).unwrap_or_default(), f.status))
            .collect();
        assert_eq!(tokens, [("leaves-it".into(), Status::Error), ("sets-it".into(), Status::Pass)]);
        let error = findings.iter().find(|f| f.check == "service-account-token" && f.status == Status::Error).unwrap();
        assert!(error.message.contains("cannot list v1/ServiceAccount"), "{}", error.message);
        // Checks that do not read service accounts are judged as usual.
        assert!(findings.iter().filter(|f| f.check != "service-account-token").all(|f| f.status == Status::Pass), "{findings:?}");
    }

    #[test]
    fn an_object_without_a_namespace_uses_the_account_of_default() {
        let mut pod = good_pod("p");
        pod["metadata"].as_object_mut().unwrap().remove("namespace");
        pod["spec"].as_object_mut().unwrap().remove("automountServiceAccountToken");
        pod["spec"]["serviceAccountName"] = json!("");
        let sa = json!({"metadata": {"name": "default", "namespace": "default"}, "automountServiceAccountToken": false});
        let host = FakeHost::new().object("v1", "Pod", pod).object("v1", "ServiceAccount", sa);
        assert_eq!(finding(&host, "service-account-token").status, Status::Pass);
    }

    #[test]
    fn secret_mounts_are_listed_for_review() {
        let mut pod = good_pod("db");
        pod["spec"]["volumes"] = json!([
            {"name": "tls", "secret": {"secretName": "web-tls"}},
            {"name": "cfg", "configMap": {"name": "cfg"}},
            {"name": "bundle", "projected": {"sources": [{"configMap": {"name": "ca"}}, {"secret": {"name": "creds"}}]}}
        ]);
        let f = finding(&FakeHost::new().object("v1", "Pod", pod), "secret-mounts");
        assert_eq!(f.status, Status::Warn, "mounting a Secret is for review, not a failure");
        assert_eq!(
            f.evidence,
            vec![
                ("spec.volumes[0] (tls)".to_string(), "secret web-tls".to_string()),
                ("spec.volumes[2] (bundle).projected.sources[1]".to_string(), "secret creds".to_string())
            ]
        );
        assert_eq!(finding(&FakeHost::new().object("v1", "Pod", good_pod("none")), "secret-mounts").status, Status::Pass);
    }

    #[test]
    fn a_pod_without_any_security_context_is_flagged() {
        let pod = json!({"metadata": {"name": "bare", "namespace": "shop"}, "spec": {"automountServiceAccountToken": false, "containers": [{"name": "nginx"}]}});
        let f = FakeHost::new()
            .object("v1", "Pod", pod)
            .run::<PodSecurity>(&[])
            .unwrap()
            .into_iter()
            .find(|f| f.check == "security-context")
            .unwrap();
        assert_eq!(f.status, Status::Fail);
    }

    #[test]
    fn an_empty_cluster_is_not_applicable_not_pass() {
        let findings = FakeHost::new().run::<PodSecurity>(&[]).unwrap();
        assert!(findings.iter().all(|f| f.status == Status::NotApplicable));
    }
}
