//! The files kube-apiserver's flags point at: the AuthenticationConfiguration
//! (CIS 1.2.1), the AuthorizationConfiguration (CIS 1.2.6-1.2.8), the EncryptionConfiguration (CIS 1.2.28) and the
//! audit Policy (CIS 3.2.2), read and judged by what they say, not only by
//! whether the flag is set.

use rampart_sdk::args::Args;
use rampart_sdk::{AccessError, Finding, Host, Status};
use serde_json::Value;

pub const ANONYMOUS: &str = "anonymous-auth";
pub const AUTHZ_NOT_ALWAYS_ALLOW: &str = "authorization-not-always-allow";
pub const AUTHZ_NODE: &str = "authorization-node";
pub const AUTHZ_RBAC: &str = "authorization-rbac";
pub const ENCRYPTION: &str = "encryption-providers";
pub const AUDIT: &str = "audit-policy-rules";
pub const AUDIT_BODIES: &str = "audit-request-response";

/// Providers that encrypt (CIS accepts these as the first, writing provider).
const STRONG: &[&str] = &["aescbc", "kms", "secretbox"];

fn read_yaml(host: &dyn Host, flag: &str, path: &str) -> Result<Value, (Status, String)> {
    let bytes = host.read_file(path).map_err(|e| match e {
        AccessError::NotFound(_) => (Status::Fail, format!("--{flag} names {path}, which does not exist on this node")),
        AccessError::Denied(m) => (Status::Error, format!("{m}; grant it with --grant node.read:{path}")),
        AccessError::Unavailable(m) => (
            Status::Error,
            format!(
                "--{flag} names {path}, a file on the node, which this scan cannot read ({m}); scan the node (--node or a node snapshot)"
            ),
        ),
        other => (Status::Error, format!("{path}: {}", other.reason())),
    })?;
    rampart_sdk::yaml::to_json(&bytes).map_err(|e| (Status::Error, format!("{path}: not valid YAML: {e}")))
}

/// A structured configuration file (`--authentication-config`,
/// `--authorization-config`): it replaces flags, so a file that cannot be
/// read, is missing or is not a mapping leaves nothing to judge.
fn read_config(host: &dyn Host, flag: &str, path: &str) -> Result<Value, String> {
    let config = read_yaml(host, flag, path).map_err(|(_, message)| message)?;
    if config.is_object() { Ok(config) } else { Err(format!("{path} is not a mapping of settings: {config}")) }
}

/// 1.2.1: whether anonymous requests are authenticated (as
/// `system:anonymous`). `--anonymous-auth` decides (true when unset), unless
/// the AuthenticationConfiguration that `--authentication-config` names has
/// an `anonymous` section; the API server refuses to start with both.
/// `enabled: true` with `conditions` lets anonymous requests reach only the
/// listed paths (kubeadm's health probes, say): a warn that names them for a
/// reviewer, since the benchmark wants anonymous authentication off.
pub fn anonymous(host: &dyn Host, args: &Args) -> Finding {
    const FLAG: &str = "anonymous-auth";
    const CONFIG: &str = "authentication-config";
    let flag = args.get(FLAG);
    if let Some(path) = args.get(CONFIG) {
        let f = |status, message: String| Finding::new(ANONYMOUS, status, message).with(format!("--{CONFIG}"), path).at_path(path);
        let config = match read_config(host, CONFIG, path) {
            Ok(v) => v,
            Err(message) => return f(Status::Error, message),
        };
        let section = &config["anonymous"];
        if !section.is_null() {
            if !section.is_object() {
                return f(Status::Error, format!("{path}: anonymous is {section}, not a mapping"));
            }
            if let Some(v) = flag {
                return f(
                    Status::Error,
                    format!("both --{FLAG} ({v}) and an anonymous section in {path} are given; kube-apiserver refuses to start with both"),
                );
            }
            let conditions = match &section["conditions"] {
                Value::Null => &[][..],
                Value::Array(list) => list.as_slice(),
                other => return f(Status::Error, format!("{path}: anonymous.conditions is {other}, not a list")),
            };
            let mut paths = Vec::new();
            for (i, c) in conditions.iter().enumerate() {
                match c["path"].as_str() {
                    Some(p) => paths.push(p),
                    None => {
                        return f(
                            Status::Error,
                            format!("{path}: anonymous.conditions[{i}] has no path, so kube-apiserver would not start with it"),
                        );
                    }
                }
            }
            // Go reads an absent `enabled` as false.
            let enabled = match &section["enabled"] {
                Value::Null => false,
                Value::Bool(b) => *b,
                other => return f(Status::Error, format!("{path}: anonymous.enabled is {other}, not a boolean")),
            };
            return match (enabled, paths.is_empty()) {
                (false, true) => f(Status::Pass, format!("anonymous.enabled is false in {path}")).with("anonymous.enabled", "false"),
                (false, false) => f(
                    Status::Error,
                    format!("{path}: anonymous has conditions but is not enabled, so kube-apiserver would not start with it"),
                ),
                (true, true) => f(
                    Status::Fail,
                    format!("anonymous.enabled is true in {path}, with no conditions: every endpoint takes anonymous requests"),
                )
                .with("anonymous.enabled", "true"),
                (true, false) => f(
                    Status::Warn,
                    format!(
                        "anonymous requests are allowed on {} only ({path}); review that these endpoints need them, or set anonymous.enabled: false",
                        paths.join(", ")
                    ),
                )
                .with("anonymous.enabled", "true")
                .with("anonymous.conditions", paths.join(",")),
            };
        }
    }
    let shown = flag.map_or("unset (default true)".to_string(), str::to_string);
    let f = |status, message: String| Finding::new(ANONYMOUS, status, message).with(format!("--{FLAG}"), shown.clone());
    // Worded as the other flag checks are.
    match (args.bool(FLAG), flag) {
        (Some(Ok(false)), _) => f(Status::Pass, format!("--{FLAG}=false")),
        (Some(Err(v)), _) => f(Status::Error, format!("--{FLAG} is {v:?}, not a boolean, so kube-apiserver would not start with it")),
        (_, Some(v)) => f(Status::Fail, format!("--{FLAG} is {v:?}, want false")),
        (_, None) => f(Status::Fail, format!("--{FLAG} is \"true\", want false (unset: the default true applies)")),
    }
}

/// 1.2.6-1.2.8: the authorizers the API server runs. They are
/// `--authorization-mode` (AlwaysAllow when unset), or, since structured
/// authorization configuration, the `authorizers` of the
/// AuthorizationConfiguration that `--authorization-config` names; the API
/// server refuses to start with both flags.
pub fn authorization(host: &dyn Host, args: &Args) -> [Finding; 3] {
    const IDS: [&str; 3] = [AUTHZ_NOT_ALWAYS_ALLOW, AUTHZ_NODE, AUTHZ_RBAC];
    const MODE: &str = "authorization-mode";
    const CONFIG: &str = "authorization-config";
    let at = |f: Finding| match args.get(CONFIG) {
        Some(p) => f.at_path(p),
        None => f,
    };
    let error = |message: String| IDS.map(|id| at(Finding::new(id, Status::Error, message.clone())));
    let (modes, source, path, evidence) = match (args.get(CONFIG), args.get(MODE)) {
        (Some(path), Some(mode)) => {
            return error(format!(
                "both --{CONFIG} ({path}) and --{MODE} ({mode}) are given; kube-apiserver refuses to start with both, so which authorizers run cannot be told"
            ));
        }
        (Some(path), None) => {
            let config = match read_config(host, CONFIG, path) {
                Ok(v) => v,
                Err(message) => return error(message),
            };
            let authorizers = match &config["authorizers"] {
                Value::Array(list) if !list.is_empty() => list,
                Value::Array(_) | Value::Null => {
                    return error(format!("{path} lists no authorizers, so kube-apiserver would not start with it"));
                }
                other => return error(format!("{path}: authorizers is {other}, not a list")),
            };
            let mut types = Vec::new();
            for (i, authorizer) in authorizers.iter().enumerate() {
                match authorizer["type"].as_str() {
                    Some(t) => types.push(t.to_string()),
                    None => return error(format!("{path}: authorizers[{i}] has no type, so kube-apiserver would not start with it")),
                }
            }
            let evidence = vec![(format!("--{CONFIG}"), path.to_string()), ("authorizers".to_string(), types.join(","))];
            (types, format!("the authorizers of {path} (--{CONFIG})"), Some(path), evidence)
        }
        (None, Some(mode)) => {
            let modes: Vec<String> = mode.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect();
            if modes.is_empty() {
                return error(format!("--{MODE} is {mode:?}, no mode, so kube-apiserver would not start with it"));
            }
            (modes, format!("--{MODE}"), None, vec![(format!("--{MODE}"), mode.to_string())])
        }
        (None, None) => (
            vec!["AlwaysAllow".to_string()],
            format!("--{MODE}"),
            None,
            vec![(format!("--{MODE}"), "unset (default AlwaysAllow)".to_string())],
        ),
    };
    let shown = modes.join(",");
    let has = |m: &str| modes.iter().any(|x| x == m);
    let verb = if path.is_some() { "are" } else { "is" };
    let lacks = |mode: &str| format!("{source} {verb} {shown:?}, which does not include {mode}");
    let judged = [
        (AUTHZ_NOT_ALWAYS_ALLOW, !has("AlwaysAllow"), format!("{source} includes AlwaysAllow")),
        (AUTHZ_NODE, has("Node"), lacks("Node")),
        (AUTHZ_RBAC, has("RBAC"), lacks("RBAC")),
    ];
    judged.map(|(id, ok, why)| {
        let f = if ok {
            let message = if path.is_some() { format!("{source} are {shown}") } else { format!("{source}={shown}") };
            Finding::new(id, Status::Pass, message)
        } else {
            // Worded as the other flag checks are.
            let unset = if args.get(MODE).is_none() && path.is_none() { " (unset: the default AlwaysAllow applies)" } else { "" };
            Finding::new(id, Status::Fail, format!("{why}{unset}"))
        };
        at(evidence.iter().fold(f, |f, (k, v)| f.with(k.clone(), v.clone())))
    })
}

/// 1.2.28: every resource's first provider encrypts.
pub fn encryption(host: &dyn Host, args: &Args) -> Finding {
    let Some(path) = args.get("encryption-provider-config") else {
        return Finding::new(ENCRYPTION, Status::Fail, "--encryption-provider-config is not set: Secrets are stored unencrypted in etcd");
    };
    let config = match read_yaml(host, "encryption-provider-config", path) {
        Ok(v) => v,
        Err((status, msg)) => return Finding::new(ENCRYPTION, status, msg).at_path(path),
    };
    let mut weak = Vec::new();
    let mut seen = 0;
    for entry in config["resources"].as_array().into_iter().flatten() {
        seen += 1;
        let resources: Vec<&str> = entry["resources"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let first = entry["providers"][0].as_object().and_then(|m| m.keys().next().cloned()).unwrap_or_else(|| "none".into());
        if !STRONG.contains(&first.as_str()) {
            weak.push(format!("{} first uses {first}", resources.join(",")));
        }
    }
    let f = if seen == 0 {
        Finding::new(ENCRYPTION, Status::Fail, format!("{path} lists no resources to encrypt"))
    } else if weak.is_empty() {
        Finding::new(ENCRYPTION, Status::Pass, format!("every resource in {path} is written with aescbc, kms or secretbox"))
    } else {
        Finding::new(ENCRYPTION, Status::Fail, format!("not encrypted with aescbc, kms or secretbox: {}", weak.join("; ")))
    };
    f.at_path(path)
}

/// A request the audit policy must log, at Metadata level or more.
struct Event {
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
}

const EVENTS: &[Event] = &[
    Event { group: "", resource: "secrets", verb: "get" },
    Event { group: "", resource: "configmaps", verb: "get" },
    Event { group: "authentication.k8s.io", resource: "tokenreviews", verb: "create" },
    Event { group: "", resource: "pods/exec", verb: "create" },
    Event { group: "", resource: "pods/portforward", verb: "create" },
    Event { group: "", resource: "pods/proxy", verb: "get" },
    Event { group: "", resource: "services/proxy", verb: "get" },
    Event { group: "", resource: "pods", verb: "create" },
    Event { group: "apps", resource: "deployments", verb: "update" },
];

fn strs(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// The level the first matching rule gives this event (audit policies are
/// first-match). Rules limited to some users, groups or namespaces are
/// skipped: they do not speak for every request.
fn level_for(policy: &Value, e: &Event) -> String {
    for rule in policy["rules"].as_array().into_iter().flatten() {
        if ["users", "userGroups", "namespaces", "nonResourceURLs"].iter().any(|k| !strs(&rule[*k]).is_empty()) {
            continue;
        }
        let verbs = strs(&rule["verbs"]);
        if !verbs.is_empty() && !verbs.contains(&e.verb) {
            continue;
        }
        let matches_resource = match rule["resources"].as_array() {
            None => true,
            Some(list) if list.is_empty() => true,
            Some(list) => list.iter().any(|gr| {
                let group = gr["group"].as_str().unwrap_or("");
                let names = strs(&gr["resources"]);
                (group == e.group || group == "*")
                    && (names.is_empty()
                        || names.contains(&e.resource)
                        || names.contains(&"*")
                        || names.iter().any(|n| n.strip_suffix("/*").is_some_and(|base| e.resource.starts_with(&format!("{base}/")))))
            }),
        };
        if matches_resource {
            return rule["level"].as_str().unwrap_or("None").to_string();
        }
    }
    "None".into()
}

/// 3.2.2: the audit policy logs the events that matter.
pub fn audit(host: &dyn Host, args: &Args) -> Finding {
    let Some(path) = args.get("audit-policy-file") else {
        return Finding::new(AUDIT, Status::Fail, "--audit-policy-file is not set: nothing is audited");
    };
    let policy = match read_yaml(host, "audit-policy-file", path) {
        Ok(v) => v,
        Err((status, msg)) => return Finding::new(AUDIT, status, msg).at_path(path),
    };
    let mut missing = Vec::new();
    let mut f = Finding::new(AUDIT, Status::Pass, "");
    for e in EVENTS {
        let level = level_for(&policy, e);
        let what = format!("{} {}{}", e.verb, if e.group.is_empty() { String::new() } else { format!("{}/", e.group) }, e.resource);
        if level == "None" {
            missing.push(what.clone());
        }
        f = f.with(what, level);
    }
    f.status = if missing.is_empty() { Status::Pass } else { Status::Fail };
    f.message = if missing.is_empty() {
        format!("{path} logs every key event at Metadata or more")
    } else {
        format!("{path} does not log: {}", missing.join(", "))
    };
    f.at_path(path)
}

/// Whether every request is audited at `RequestResponse` (the STIG's
/// reading): the first rule that matches everything must have that level,
/// and no narrower rule before it may catch requests at a lower one (the
/// first matching rule wins).
pub fn audit_bodies(host: &dyn Host, args: &Args) -> Finding {
    let Some(path) = args.get("audit-policy-file") else {
        return Finding::new(AUDIT_BODIES, Status::Fail, "--audit-policy-file is not set: nothing is audited");
    };
    let policy = match read_yaml(host, "audit-policy-file", path) {
        Ok(v) => v,
        Err((status, msg)) => return Finding::new(AUDIT_BODIES, status, msg).at_path(path),
    };
    const NARROWING: [&str; 6] = ["users", "userGroups", "verbs", "resources", "namespaces", "nonResourceURLs"];
    let mut lower = Vec::new();
    let mut catch_all = None;
    for (i, rule) in policy["rules"].as_array().into_iter().flatten().enumerate() {
        let level = rule["level"].as_str().unwrap_or("None");
        let narrow = NARROWING.iter().any(|k| rule[k].as_array().is_some_and(|a| !a.is_empty()));
        if !narrow {
            catch_all = Some((i, level));
            break;
        }
        if level != "RequestResponse" {
            lower.push(format!("rules[{i}] ({level})"));
        }
    }
    let f = match catch_all {
        None => Finding::new(AUDIT_BODIES, Status::Fail, format!("{path} has no rule that matches every request")),
        Some((i, level)) if level != "RequestResponse" => {
            Finding::new(AUDIT_BODIES, Status::Fail, format!("{path}: the catch-all rules[{i}] logs at {level}, not RequestResponse"))
        }
        Some(_) if !lower.is_empty() => Finding::new(
            AUDIT_BODIES,
            Status::Fail,
            format!("{path}: {} catch some requests at a lower level before the RequestResponse catch-all", lower.join(", ")),
        ),
        Some((i, _)) => {
            Finding::new(AUDIT_BODIES, Status::Pass, format!("{path}: every request is logged at RequestResponse (rules[{i}])"))
        }
    };
    f.at_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;

    fn args(flags: &[&str]) -> Args {
        let mut argv = vec!["kube-apiserver"];
        argv.extend(flags);
        Args::parse(&argv)
    }

    /// A node with one API server configuration file of this kind.
    fn config_file(path: &str, kind: &str, body: &str) -> FakeHost {
        FakeHost::new().file(path, 0o600, 0, 0, format!("apiVersion: apiserver.config.k8s.io/v1\nkind: {kind}\n{body}"))
    }

    fn authz(host: &FakeHost, flags: &[&str]) -> Vec<(String, Status, String)> {
        authorization(host, &args(flags)).into_iter().map(|f| (f.check, f.status, f.message)).collect()
    }

    fn statuses(found: &[(String, Status, String)]) -> Vec<Status> {
        found.iter().map(|(_, s, _)| *s).collect()
    }

    #[test]
    fn anonymous_auth_flag_and_its_default() {
        let host = FakeHost::new();
        assert_eq!(anonymous(&host, &args(&["--anonymous-auth=false"])).status, Status::Pass);
        let unset = anonymous(&host, &args(&[]));
        assert_eq!(unset.status, Status::Fail);
        assert!(unset.message.contains("default true"), "{}", unset.message);
        assert_eq!(anonymous(&host, &args(&["--anonymous-auth=true"])).status, Status::Fail);
        assert_eq!(anonymous(&host, &args(&["--anonymous-auth=False"])).status, Status::Pass, "Go's boolean words");
        assert_eq!(anonymous(&host, &args(&["--anonymous-auth=no"])).status, Status::Error, "not a boolean to Go");
        assert_eq!(anonymous(&host, &args(&["--anonymous-auth=false", "--anonymous-auth=true"])).status, Status::Fail, "last wins");
    }

    /// Structured authentication: an `anonymous` section of the
    /// `--authentication-config` file replaces `--anonymous-auth`.
    #[test]
    fn anonymous_section_of_the_authentication_config_decides() {
        const PATH: &str = "/etc/kubernetes/authn.yaml";
        let config = |anonymous: &str| config_file(PATH, "AuthenticationConfiguration", anonymous);
        let flag = format!("--authentication-config={PATH}");
        let judge = |host: &FakeHost, more: &[&str]| {
            let mut flags = vec![flag.as_str()];
            flags.extend_from_slice(more);
            anonymous(host, &args(&flags))
        };
        assert_eq!(judge(&config("anonymous:\n  enabled: false\n"), &[]).status, Status::Pass);
        assert_eq!(judge(&config("anonymous: {}\n"), &[]).status, Status::Pass, "Go reads an absent enabled as false");
        assert_eq!(judge(&config("anonymous:\n  enabled: true\n"), &[]).status, Status::Fail);
        let probes = judge(&config("anonymous:\n  enabled: true\n  conditions:\n  - path: /livez\n  - path: /readyz\n"), &[]);
        assert_eq!(probes.status, Status::Warn, "{probes:?}");
        assert!(probes.message.contains("/livez, /readyz only"), "{}", probes.message);
        // Without an anonymous section the flag (and its default) decides.
        assert_eq!(judge(&config("jwt: []\n"), &[]).status, Status::Fail);
        assert_eq!(judge(&config("jwt: []\n"), &["--anonymous-auth=false"]).status, Status::Pass);
        // What kube-apiserver would refuse is never a pass.
        for bad in [
            judge(&config("anonymous:\n  enabled: false\n"), &["--anonymous-auth=false"]),
            judge(&config("anonymous:\n  enabled: false\n  conditions:\n  - path: /livez\n"), &[]),
            judge(&config("anonymous:\n  enabled: \"no\"\n"), &[]),
            judge(&config("anonymous:\n  enabled: true\n  conditions:\n  - {}\n"), &[]),
            judge(&FakeHost::new().file(PATH, 0o600, 0, 0, "anonymous: ["), &[]),
        ] {
            assert_eq!(bad.status, Status::Error, "{bad:?}");
        }
        assert_eq!(judge(&FakeHost::new(), &["--anonymous-auth=false"]).status, Status::Error, "the file does not exist");
        for wrong in ["anonymous: true\n", "anonymous:\n  enabled: false\n  conditions: /livez\n"] {
            let f = judge(&config(wrong), &[]);
            assert_eq!(f.status, Status::Error, "{wrong}: {f:?}");
        }
        let list = FakeHost::new().file(PATH, 0o600, 0, 0, "- anonymous: {enabled: false}\n");
        assert_eq!(judge(&list, &["--anonymous-auth=false"]).status, Status::Error, "a document that is not a mapping");
    }

    #[test]
    fn authorization_mode_flag_and_its_default() {
        let host = FakeHost::new();
        assert_eq!(statuses(&authz(&host, &["--authorization-mode=Node,RBAC"])), [Status::Pass; 3]);
        let unset = authz(&host, &[]);
        assert_eq!(statuses(&unset), [Status::Fail; 3], "{unset:?}");
        assert!(unset[0].2.contains("default AlwaysAllow"), "{}", unset[0].2);
        // pflag appends a repeated --authorization-mode.
        let twice = authz(&host, &["--authorization-mode=AlwaysAllow", "--authorization-mode=Node,RBAC"]);
        assert_eq!(statuses(&twice), [Status::Fail, Status::Pass, Status::Pass], "{twice:?}");
        assert_eq!(statuses(&authz(&host, &["--authorization-mode=RBAC"])), [Status::Pass, Status::Fail, Status::Pass]);
        assert_eq!(statuses(&authz(&host, &["--authorization-mode=,"])), [Status::Error; 3], "no mode: the API server refuses it");
    }

    /// Structured authorization: `--authorization-config` replaces
    /// `--authorization-mode`, and its `authorizers` are what runs; judged
    /// by the flag alone this was three false fails (unset: AlwaysAllow).
    #[test]
    fn authorization_config_file_is_judged_by_its_authorizers() {
        const PATH: &str = "/etc/kubernetes/authz.yaml";
        let config = |authorizers: &str| config_file(PATH, "AuthorizationConfiguration", &format!("authorizers:\n{authorizers}"));
        let flag = format!("--authorization-config={PATH}");
        let good = config("- type: Node\n  name: node\n- type: RBAC\n  name: rbac\n");
        assert_eq!(statuses(&authz(&good, &[&flag])), [Status::Pass; 3]);
        let webhook = config("- type: Webhook\n  name: w\n  webhook: {timeout: 3s}\n- type: AlwaysAllow\n  name: all\n");
        let found = authz(&webhook, &[&flag]);
        assert_eq!(statuses(&found), [Status::Fail; 3], "{found:?}");
        assert!(found[0].2.contains(PATH), "{}", found[0].2);
        // What kube-apiserver would refuse, or a file that cannot be read,
        // is never a pass.
        assert_eq!(statuses(&authz(&good, &[&flag, "--authorization-mode=Node,RBAC"])), [Status::Error; 3]);
        let empty = FakeHost::new().file(PATH, 0o600, 0, 0, "kind: AuthorizationConfiguration\nauthorizers: []\n");
        let found = authz(&empty, &[&flag]);
        assert_eq!(statuses(&found), [Status::Error; 3]);
        assert!(found[0].2.contains("lists no authorizers"), "{}", found[0].2);
        assert_eq!(statuses(&authz(&config("- name: x\n"), &[&flag])), [Status::Error; 3]);
        assert_eq!(statuses(&authz(&FakeHost::new(), &[&flag])), [Status::Error; 3], "the file does not exist");
        assert_eq!(statuses(&authz(&config_file(PATH, "AuthorizationConfiguration", "authorizers: Node\n"), &[&flag])), [Status::Error; 3]);
        assert_eq!(statuses(&authz(&FakeHost::new().file(PATH, 0o600, 0, 0, "- type: Node\n"), &[&flag])), [Status::Error; 3]);
        let bad = FakeHost::new().file(PATH, 0o600, 0, 0, "authorizers: [");
        assert_eq!(statuses(&authz(&bad, &[&flag])), [Status::Error; 3]);
    }

    #[test]
    fn identity_first_is_not_encryption() {
        let host = FakeHost::new()
            .file("/etc/kubernetes/enc.yaml", 0o600, 0, 0, "kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{name: k1, secret: c2VjcmV0}]}\n  - identity: {}\n- resources: [configmaps]\n  providers:\n  - identity: {}\n  - aescbc: {keys: []}\n");
        let f = encryption(&host, &args(&["--encryption-provider-config=/etc/kubernetes/enc.yaml"]));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("configmaps first uses identity"), "{}", f.message);
        assert!(!f.message.contains("c2VjcmV0"), "no key material in findings");
        assert_eq!(encryption(&host, &args(&[])).status, Status::Fail);
        assert_eq!(encryption(&host, &args(&["--encryption-provider-config=/nope.yaml"])).status, Status::Fail);
    }

    #[test]
    fn request_bodies_must_be_logged_for_every_request() {
        let judge = |policy: &str| {
            let host = FakeHost::new().file("/etc/kubernetes/audit.yaml", 0o600, 0, 0, policy);
            audit_bodies(&host, &args(&["--audit-policy-file=/etc/kubernetes/audit.yaml"]))
        };
        assert_eq!(judge("kind: Policy\nrules:\n- level: RequestResponse\n").status, Status::Pass);
        let cis_style =
            judge("kind: Policy\nrules:\n- level: RequestResponse\n  resources: [{group: \"\", resources: [pods]}]\n- level: Metadata\n");
        assert_eq!(cis_style.status, Status::Fail);
        assert!(cis_style.message.contains("logs at Metadata"), "{}", cis_style.message);
        let shadowed = judge("kind: Policy\nrules:\n- level: None\n  users: [system:kube-proxy]\n- level: RequestResponse\n");
        assert_eq!(shadowed.status, Status::Fail);
        assert!(shadowed.message.contains("rules[0] (None)"), "{}", shadowed.message);
        assert_eq!(judge("kind: Policy\nrules:\n- level: RequestResponse\n  verbs: [create]\n").status, Status::Fail);
        assert_eq!(audit_bodies(&FakeHost::new(), &args(&[])).status, Status::Fail);
    }

    #[test]
    fn a_catch_all_metadata_rule_covers_everything_but_none_rules_first_win() {
        let good = FakeHost::new().file("/etc/kubernetes/audit.yaml", 0o600, 0, 0, "kind: Policy\nrules:\n- level: None\n  users: [system:kube-proxy]\n- level: RequestResponse\n  resources: [{group: \"\", resources: [\"pods/*\"]}]\n- level: Metadata\n");
        assert_eq!(audit(&good, &args(&["--audit-policy-file=/etc/kubernetes/audit.yaml"])).status, Status::Pass);
        let bad = FakeHost::new().file(
            "/etc/kubernetes/audit.yaml",
            0o600,
            0,
            0,
            "kind: Policy\nrules:\n- level: None\n  resources: [{group: \"\", resources: [secrets, configmaps]}]\n- level: Metadata\n",
        );
        let f = audit(&bad, &args(&["--audit-policy-file=/etc/kubernetes/audit.yaml"]));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("get secrets") && f.message.contains("get configmaps"), "{}", f.message);
    }
}
