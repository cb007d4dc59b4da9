//! rbac: who can do what, for a reviewer (CIS 5.1). Each check flags the
//! Roles, ClusterRoles or bindings a person should look at, with who they
//! are bound to. Objects Kubernetes creates itself (label
//! kubernetes.io/bootstrapping=rbac-defaults) are left out: they are the
//! platform, not the cluster's own grants.

use std::collections::BTreeMap;

use rampart_sdk::{
    Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, Plugin, PluginInfo, Settings, Severity, Status,
};
use serde_json::Value;

pub struct Rbac;

/// A permission: verbs on resources in API groups.
#[derive(Clone, Copy)]
struct Grant {
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
}

/// What a role check looks for in rules.
#[derive(Clone, Copy)]
enum RuleTest {
    Grants(Grant),
    /// `*` in apiGroups, resources, verbs or nonResourceURLs.
    Wildcard,
}

struct RoleCheck {
    id: &'static str,
    cis: &'static str,
    title: &'static str,
    severity: Severity,
    test: RuleTest,
    what: &'static str,
}

const ROLE_CHECKS: &[RoleCheck] = &[
    RoleCheck {
        id: "secret-access",
        cis: "5.1.2",
        title: "Few roles can read Secrets",
        severity: Severity::High,
        test: RuleTest::Grants(Grant { groups: &[""], resources: &["secrets"], verbs: &["get", "list", "watch"] }),
        what: "reads Secrets",
    },
    RoleCheck {
        id: "wildcards",
        cis: "5.1.3",
        title: "Roles avoid wildcards",
        severity: Severity::Medium,
        test: RuleTest::Wildcard,
        what: "uses `*`",
    },
    RoleCheck {
        id: "pod-create",
        cis: "5.1.4",
        title: "Few roles can create Pods or exec into them",
        severity: Severity::Medium,
        // Exec and attach run commands in a pod: as good as creating one.
        test: RuleTest::Grants(Grant { groups: &[""], resources: &["pods", "pods/exec", "pods/attach"], verbs: &["create"] }),
        what: "creates Pods or execs into them",
    },
    RoleCheck {
        id: "escalation-verbs",
        cis: "5.1.8",
        title: "Few roles can bind, escalate or impersonate",
        severity: Severity::High,
        test: RuleTest::Grants(Grant {
            groups: &["rbac.authorization.k8s.io", ""],
            resources: &["roles", "clusterroles", "rolebindings", "clusterrolebindings", "users", "groups", "serviceaccounts"],
            verbs: &["bind", "escalate", "impersonate"],
        }),
        what: "can bind, escalate or impersonate",
    },
    RoleCheck {
        id: "persistent-volume-create",
        cis: "5.1.9",
        title: "Few roles can create PersistentVolumes",
        severity: Severity::Medium,
        test: RuleTest::Grants(Grant { groups: &[""], resources: &["persistentvolumes"], verbs: &["create"] }),
        what: "creates PersistentVolumes",
    },
    RoleCheck {
        id: "nodes-proxy",
        cis: "5.1.10",
        title: "Few roles can use the nodes/proxy subresource",
        severity: Severity::High,
        test: RuleTest::Grants(Grant { groups: &[""], resources: &["nodes/proxy"], verbs: &["get", "create", "*"] }),
        what: "reaches kubelets through nodes/proxy",
    },
    RoleCheck {
        id: "csr-approval",
        cis: "5.1.11",
        title: "Few roles can approve certificate signing requests",
        severity: Severity::High,
        test: RuleTest::Grants(Grant {
            groups: &["certificates.k8s.io"],
            resources: &["certificatesigningrequests/approval"],
            verbs: &["update", "patch"],
        }),
        what: "approves CSRs",
    },
    RoleCheck {
        id: "webhook-config-write",
        cis: "5.1.12",
        title: "Few roles can change admission webhooks",
        severity: Severity::High,
        test: RuleTest::Grants(Grant {
            groups: &["admissionregistration.k8s.io"],
            resources: &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
            verbs: &["create", "update", "patch", "delete"],
        }),
        what: "changes admission webhooks",
    },
    RoleCheck {
        id: "token-create",
        cis: "5.1.13",
        title: "Few roles can mint service account tokens",
        severity: Severity::High,
        test: RuleTest::Grants(Grant { groups: &[""], resources: &["serviceaccounts/token"], verbs: &["create"] }),
        what: "mints service account tokens",
    },
];

const OTHER_CHECKS: &[(&str, &str, &str, Severity)] = &[
    ("cluster-admin-bindings", "5.1.1", "cluster-admin is bound only where needed", Severity::High),
    ("default-service-accounts", "5.1.5", "Default service accounts are not used", Severity::Medium),
    ("system-masters", "5.1.7", "No binding names the system:masters group", Severity::High),
];

fn strs(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn bootstrap(obj: &Value) -> bool {
    obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
}

/// Whether one rule matches the test; the resourceNames it is limited to.
fn rule_matches(rule: &Value, test: RuleTest) -> Option<Vec<String>> {
    let (groups, resources, verbs) = (strs(&rule["apiGroups"]), strs(&rule["resources"]), strs(&rule["verbs"]));
    let names: Vec<String> = strs(&rule["resourceNames"]).into_iter().map(str::to_string).collect();
    let hit = match test {
        RuleTest::Wildcard => [groups.as_slice(), resources.as_slice(), verbs.as_slice(), strs(&rule["nonResourceURLs"]).as_slice()]
            .iter()
            .any(|l| l.contains(&"*")),
        RuleTest::Grants(g) => {
            let any = |have: &[&str], want: &[&str]| have.contains(&"*") || want.iter().any(|w| have.contains(w));
            any(&groups, g.groups) && any(&resources, g.resources) && any(&verbs, g.verbs)
        }
    };
    hit.then_some(names)
}

struct Role {
    obj: Value,
    r#ref: ObjectRef,
}

struct Binding {
    obj: Value,
    r#ref: ObjectRef,
}

impl Binding {
    fn role(&self) -> (&str, &str) {
        (self.obj["roleRef"]["kind"].as_str().unwrap_or(""), self.obj["roleRef"]["name"].as_str().unwrap_or(""))
    }

    fn subjects(&self) -> Vec<String> {
        self.obj["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| match (s["kind"].as_str().unwrap_or("?"), s["namespace"].as_str()) {
                ("ServiceAccount", Some(ns)) => format!("ServiceAccount {ns}/{}", s["name"].as_str().unwrap_or("?")),
                (kind, _) => format!("{kind} {}", s["name"].as_str().unwrap_or("?")),
            })
            .collect()
    }
}

fn list(host: &dyn Host, api_version: &str, kind: &str) -> Result<Vec<(Value, ObjectRef)>, String> {
    host.list_objects(api_version, kind, None)
        .map_err(|e| format!("cannot list {api_version}/{kind}: {}", e.reason()))?
        .into_iter()
        .map(|o| serde_json::from_str(&o.json).map(|v| (v, o.ref_)).map_err(|e| format!("{kind}: {e}")))
        .collect()
}

const RBAC: &str = "rbac.authorization.k8s.io/v1";

impl Plugin for Rbac {
    fn info() -> PluginInfo {
        let mut checks: Vec<_> = OTHER_CHECKS
            .iter()
            .map(|(id, cis, title, sev)| {
                CheckInfoBuilder::new(id, title)
                    .severity(*sev)
                    .remediation("Review each flagged binding and remove what is not needed.")
                    .tag(&format!("cis-{cis}"))
                    .tag("rbac")
                    .build()
            })
            .collect();
        checks.extend(ROLE_CHECKS.iter().map(|c| {
            CheckInfoBuilder::new(c.id, c.title)
                .severity(c.severity)
                .remediation("Review each flagged role; narrow its rules or remove its bindings.")
                .tag(&format!("cis-{}", c.cis))
                .tag("rbac")
                .build()
        }));
        let kind = |v: &str, k: &str| Capability::ClusterList(KindRef { api_version: v.into(), kind: k.into() });
        PluginInfo {
            name: "rbac".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            checks,
            capabilities: vec![
                kind(RBAC, "Role"),
                kind(RBAC, "ClusterRole"),
                kind(RBAC, "RoleBinding"),
                kind(RBAC, "ClusterRoleBinding"),
                kind("v1", "ServiceAccount"),
            ],
        }
    }

    fn evaluate(host: &dyn Host, _settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let all_ids = || OTHER_CHECKS.iter().map(|c| c.0).chain(ROLE_CHECKS.iter().map(|c| c.id));
        let loaded = (|| -> Result<_, String> {
            let mut roles: Vec<Role> = list(host, RBAC, "ClusterRole")?.into_iter().map(|(obj, r)| Role { obj, r#ref: r }).collect();
            roles.extend(list(host, RBAC, "Role")?.into_iter().map(|(obj, r)| Role { obj, r#ref: r }));
            let mut bindings: Vec<Binding> =
                list(host, RBAC, "ClusterRoleBinding")?.into_iter().map(|(obj, r)| Binding { obj, r#ref: r }).collect();
            bindings.extend(list(host, RBAC, "RoleBinding")?.into_iter().map(|(obj, r)| Binding { obj, r#ref: r }));
            let sas = list(host, "v1", "ServiceAccount")?;
            Ok((roles, bindings, sas))
        })();
        let (roles, bindings, sas) = match loaded {
            Ok(x) => x,
            Err(e) => {
                for id in all_ids() {
                    out.push(Finding::new(id, Status::Error, e.clone()));
                }
                return Ok(());
            }
        };
        // Who each role is bound to: (kind, namespace-or-none, name) -> subjects.
        let mut bound: BTreeMap<(String, Option<String>, String), Vec<String>> = BTreeMap::new();
        for b in &bindings {
            let (kind, name) = b.role();
            let ns = if kind == "Role" { b.r#ref.namespace.clone() } else { None };
            let via = match &b.r#ref.namespace {
                Some(ns) => format!("RoleBinding {ns}/{}", b.r#ref.name),
                None => format!("ClusterRoleBinding {}", b.r#ref.name),
            };
            for s in b.subjects() {
                bound.entry((kind.to_string(), ns.clone(), name.to_string())).or_default().push(format!("{s} (by {via})"));
            }
        }
        cluster_admin(&bindings, out);
        default_service_accounts(&sas, &bindings, out);
        system_masters(&bindings, out);
        for check in ROLE_CHECKS {
            let mut flagged = 0;
            for role in roles.iter().filter(|r| !bootstrap(&r.obj)) {
                let mut narrowed = Vec::new();
                let mut matched = false;
                for rule in role.obj["rules"].as_array().into_iter().flatten() {
                    if let Some(names) = rule_matches(rule, check.test) {
                        matched = true;
                        narrowed.extend(names);
                    }
                }
                if !matched {
                    continue;
                }
                flagged += 1;
                let key = (role.r#ref.kind.clone(), role.r#ref.namespace.clone(), role.r#ref.name.clone());
                let subjects = bound.get(&key).cloned().unwrap_or_default();
                let mut f = Finding::new(
                    check.id,
                    Status::Fail,
                    format!(
                        "{} {}; bound to: {}",
                        role.r#ref.kind,
                        check.what,
                        if subjects.is_empty() { "nobody".into() } else { subjects.join(", ") }
                    ),
                )
                .on_object(role.r#ref.clone())
                .with("bound-to", if subjects.is_empty() { "nobody".into() } else { subjects.join("; ") });
                if !narrowed.is_empty() {
                    f = f.with("limited-to-resource-names", narrowed.join(", "));
                }
                out.push(f);
            }
            if flagged == 0 {
                out.push(Finding::new(check.id, Status::Pass, format!("no role outside the Kubernetes defaults {}", check.what)));
            }
        }
        Ok(())
    }
}

fn cluster_admin(bindings: &[Binding], out: &mut Findings) {
    let mut flagged = 0;
    for b in bindings.iter().filter(|b| b.role() == ("ClusterRole", "cluster-admin")) {
        // The API server's own binding of system:masters.
        if bootstrap(&b.obj) {
            continue;
        }
        flagged += 1;
        out.push(
            Finding::new("cluster-admin-bindings", Status::Fail, format!("binds cluster-admin to {}", b.subjects().join(", ")))
                .on_object(b.r#ref.clone())
                .with("subjects", b.subjects().join("; ")),
        );
    }
    if flagged == 0 {
        out.push(Finding::new("cluster-admin-bindings", Status::Pass, "cluster-admin is bound only by the Kubernetes default binding"));
    }
}

fn system_masters(bindings: &[Binding], out: &mut Findings) {
    let mut flagged = 0;
    for b in bindings.iter().filter(|b| !bootstrap(&b.obj)) {
        if b.obj["subjects"].as_array().into_iter().flatten().any(|s| s["kind"] == "Group" && s["name"] == "system:masters") {
            flagged += 1;
            out.push(
                Finding::new("system-masters", Status::Fail, "names the group system:masters, which bypasses all authorization")
                    .on_object(b.r#ref.clone()),
            );
        }
    }
    if flagged == 0 {
        out.push(Finding::new("system-masters", Status::Pass, "only the Kubernetes default binding names system:masters"));
    }
}

fn default_service_accounts(sas: &[(Value, ObjectRef)], bindings: &[Binding], out: &mut Findings) {
    for (sa, r) in sas.iter().filter(|(_, r)| r.name == "default") {
        let ns = r.namespace.clone().unwrap_or_default();
        let mut problems = Vec::new();
        if sa["automountServiceAccountToken"].as_bool() != Some(false) {
            problems.push("automountServiceAccountToken is not false".to_string());
        }
        let subject = format!("ServiceAccount {ns}/default");
        for b in bindings {
            if b.subjects().contains(&subject) {
                problems.push(format!(
                    "is a subject of {} {}",
                    if b.r#ref.namespace.is_some() { "RoleBinding" } else { "ClusterRoleBinding" },
                    b.r#ref
                ));
            }
        }
        let f = if problems.is_empty() {
            Finding::new("default-service-accounts", Status::Pass, "token not mounted, bound to nothing")
        } else {
            Finding::new("default-service-accounts", Status::Fail, problems.join("; "))
        };
        out.push(f.on_object(r.clone()));
    }
    if !sas.iter().any(|(_, r)| r.name == "default") {
        out.push(Finding::new("default-service-accounts", Status::NotApplicable, "the cluster has no default service accounts"));
    }
}

rampart_sdk::export_plugin!(Rbac);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;
    use serde_json::json;

    fn flagged(host: &FakeHost, check: &str) -> Vec<String> {
        host.run::<Rbac>(&[])
            .unwrap()
            .into_iter()
            .filter(|f| f.check == check && f.status == Status::Fail)
            .map(|f| f.object.map(|o| o.name).unwrap_or_default())
            .collect()
    }

    fn base() -> FakeHost {
        FakeHost::new()
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}))
            .object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "Group", "name": "system:masters"}]}))
    }

    #[test]
    fn the_bootstrap_cluster_admin_binding_is_allowed() {
        let host = base();
        assert!(flagged(&host, "cluster-admin-bindings").is_empty());
        assert!(flagged(&host, "system-masters").is_empty());
        assert!(flagged(&host, "wildcards").is_empty());
    }

    #[test]
    fn extra_cluster_admins_and_masters_are_flagged() {
        let host = base()
            .object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "jane"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "jane@example.com"}]}))
            .object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "legacy"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "system:masters"}]}));
        assert_eq!(flagged(&host, "cluster-admin-bindings"), ["jane"]);
        assert_eq!(flagged(&host, "system-masters"), ["legacy"]);
    }

    #[test]
    fn role_rules_are_matched_with_wildcards_and_subresources() {
        let host = base()
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}))
            .object(RBAC, "Role", json!({"metadata": {"name": "all", "namespace": "dev"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]}))
            .object(RBAC, "Role", json!({"metadata": {"name": "minter", "namespace": "ci"}, "rules": [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}]}))
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "least"}, "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "devs", "namespace": "dev"}, "roleRef": {"kind": "Role", "name": "all"}, "subjects": [{"kind": "Group", "name": "developers"}]}));
        assert_eq!(flagged(&host, "secret-access"), ["reader", "all"]);
        assert_eq!(flagged(&host, "wildcards"), ["all"]);
        assert_eq!(flagged(&host, "pod-create"), ["all"]);
        assert_eq!(flagged(&host, "token-create"), ["all", "minter"]);
        let f = host.run::<Rbac>(&[]).unwrap().into_iter().find(|f| f.check == "wildcards" && f.status == Status::Fail).unwrap();
        assert!(f.message.contains("Group developers (by RoleBinding dev/devs)"), "{}", f.message);
    }

    #[test]
    fn default_service_accounts_must_not_mount_or_be_bound() {
        let host = base()
            .object("v1", "ServiceAccount", json!({"metadata": {"name": "default", "namespace": "payments"}, "automountServiceAccountToken": false}))
            .object("v1", "ServiceAccount", json!({"metadata": {"name": "default", "namespace": "shop"}, "automountServiceAccountToken": false}))
            .object("v1", "ServiceAccount", json!({"metadata": {"name": "default", "namespace": "dev"}}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "view", "namespace": "shop"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]}));
        let v: Vec<(String, Status)> = host
            .run::<Rbac>(&[])
            .unwrap()
            .into_iter()
            .filter(|f| f.check == "default-service-accounts")
            .map(|f| (f.object.unwrap().namespace.unwrap(), f.status))
            .collect();
        assert_eq!(v, [("payments".into(), Status::Pass), ("shop".into(), Status::Fail), ("dev".into(), Status::Fail)]);
    }
}
