//! rbac: who can do what, for a reviewer (CIS 5.1). Each check flags the
//! Roles, ClusterRoles or bindings a person should look at, with who they
//! are bound to. Rules are matched as the API server's authorizer matches
//! them (authorizer.rs), and a role is judged by what its bindings can
//! actually grant: nothing cluster-scoped through a RoleBinding. Objects
//! Kubernetes creates itself (label kubernetes.io/bootstrapping=rbac-defaults)
//! are the platform, not the cluster's own grants: they are left out unless
//! the cluster binds them to subjects of its own.

pub mod authorizer;

use std::collections::BTreeSet;

use authorizer::{Allows, Request};
use rampart_sdk::{
    Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, Plugin, PluginInfo, Settings, Severity, Status,
};
use serde_json::Value;

pub struct Rbac;

/// A permission: each verb on each resource of one API group.
#[derive(Clone, Copy)]
struct Grant {
    group: &'static str,
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
}

/// What a role check looks for in rules.
#[derive(Clone, Copy)]
enum RuleTest {
    /// Any of these permissions.
    Grants(&'static [Grant]),
    /// `*` in apiGroups, resources (also `*/sub`), verbs or nonResourceURLs.
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

const CORE: &str = "";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

const ROLE_CHECKS: &[RoleCheck] = &[
    RoleCheck {
        id: "secret-access",
        cis: "5.1.2",
        title: "Few roles can read Secrets",
        severity: Severity::High,
        test: RuleTest::Grants(&[Grant { group: CORE, resources: &["secrets"], verbs: &["get", "list", "watch"] }]),
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
        // Over a WebSocket they are a GET, authorized as `get` wherever the
        // AuthorizePodWebsocketUpgradeCreatePermission gate is off (before
        // 1.30, or turned off), so `get` on them counts too.
        test: RuleTest::Grants(&[
            Grant { group: CORE, resources: &["pods", "pods/exec", "pods/attach"], verbs: &["create"] },
            Grant { group: CORE, resources: &["pods/exec", "pods/attach"], verbs: &["get"] },
        ]),
        what: "creates Pods or execs into them",
    },
    RoleCheck {
        id: "escalation-verbs",
        cis: "5.1.8",
        title: "Few roles can bind, escalate or impersonate",
        severity: Severity::High,
        test: RuleTest::Grants(&[
            Grant { group: RBAC_GROUP, resources: &["roles", "clusterroles"], verbs: &["bind", "escalate"] },
            Grant { group: CORE, resources: &["users", "groups", "serviceaccounts"], verbs: &["impersonate"] },
            Grant { group: "authentication.k8s.io", resources: &["uids"], verbs: &["impersonate"] },
        ]),
        what: "can bind, escalate or impersonate",
    },
    RoleCheck {
        id: "persistent-volume-create",
        cis: "5.1.9",
        title: "Few roles can create PersistentVolumes",
        severity: Severity::Medium,
        test: RuleTest::Grants(&[Grant { group: CORE, resources: &["persistentvolumes"], verbs: &["create"] }]),
        what: "creates PersistentVolumes",
    },
    RoleCheck {
        id: "nodes-proxy",
        cis: "5.1.10",
        title: "Few roles can use the nodes/proxy subresource",
        severity: Severity::High,
        // The proxy's HTTP methods, as verbs.
        test: RuleTest::Grants(&[Grant {
            group: CORE,
            resources: &["nodes/proxy"],
            verbs: &["get", "create", "update", "patch", "delete"],
        }]),
        what: "reaches kubelets through nodes/proxy",
    },
    RoleCheck {
        id: "csr-approval",
        cis: "5.1.11",
        title: "Few roles can approve certificate signing requests",
        severity: Severity::High,
        test: RuleTest::Grants(&[Grant {
            group: "certificates.k8s.io",
            resources: &["certificatesigningrequests/approval"],
            verbs: &["update", "patch"],
        }]),
        what: "approves CSRs",
    },
    RoleCheck {
        id: "webhook-config-write",
        cis: "5.1.12",
        title: "Few roles can change admission webhooks",
        severity: Severity::High,
        test: RuleTest::Grants(&[Grant {
            group: "admissionregistration.k8s.io",
            resources: &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
            verbs: &["create", "update", "patch", "delete", "deletecollection"],
        }]),
        what: "changes admission webhooks",
    },
    RoleCheck {
        id: "token-create",
        cis: "5.1.13",
        title: "Few roles can mint service account tokens",
        severity: Severity::High,
        test: RuleTest::Grants(&[Grant { group: CORE, resources: &["serviceaccounts/token"], verbs: &["create"] }]),
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

/// What a role's rules grant of any of `grants`: `None` nothing, `Some([])`
/// every object, `Some(names)` only objects of those names. With
/// `in_namespace`, only what a RoleBinding can grant (nothing cluster-scoped).
fn granted(rules: &[Value], grants: &[Grant], in_namespace: bool) -> Option<Vec<String>> {
    let mut names = BTreeSet::new();
    let mut any = false;
    for g in grants {
        for resource in g.resources {
            for verb in g.verbs {
                let req = Request::new(g.group, resource, verb);
                if in_namespace && !authorizer::namespaced(&req) {
                    continue;
                }
                for rule in rules {
                    match authorizer::allows(rule, &req) {
                        Allows::No => {}
                        Allows::All => return Some(Vec::new()),
                        Allows::Named(n) => {
                            any = true;
                            names.extend(n);
                        }
                    }
                }
            }
        }
    }
    any.then(|| names.into_iter().collect())
}

/// Whether a rule, as written, uses a wildcard anywhere the authorizer reads
/// one.
fn has_wildcard(rule: &Value) -> bool {
    strs(&rule["apiGroups"]).contains(&"*")
        || strs(&rule["verbs"]).contains(&"*")
        || strs(&rule["resources"]).iter().any(|r| *r == "*" || r.starts_with("*/"))
        || strs(&rule["nonResourceURLs"]).iter().any(|u| u.ends_with('*'))
}

struct Role {
    obj: Value,
    r#ref: ObjectRef,
    /// The namespace of a Role (`default` when its metadata has none); `None`
    /// for a ClusterRole.
    namespace: Option<String>,
    /// Its rules, with those an aggregationRule collects (ClusterRoles).
    rules: Vec<Value>,
}

struct Binding {
    obj: Value,
    r#ref: ObjectRef,
    /// The namespace of a RoleBinding; `None` for a ClusterRoleBinding.
    namespace: Option<String>,
}

impl Binding {
    fn role(&self) -> (&str, &str) {
        (self.obj["roleRef"]["kind"].as_str().unwrap_or(""), self.obj["roleRef"]["name"].as_str().unwrap_or(""))
    }

    fn via(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("RoleBinding {ns}/{}", self.r#ref.name),
            None => format!("ClusterRoleBinding {}", self.r#ref.name),
        }
    }

    /// Whether this binding binds `role`: a ClusterRoleBinding or a
    /// RoleBinding naming the ClusterRole, or a RoleBinding in the Role's
    /// namespace naming the Role.
    fn binds(&self, role: &Role) -> bool {
        let (kind, name) = self.role();
        name == role.r#ref.name
            && match &role.namespace {
                None => kind == "ClusterRole",
                Some(ns) => kind == "Role" && self.namespace.as_deref() == Some(ns),
            }
    }

    /// The subjects, as `Kind name` (`ServiceAccount ns/name`). A
    /// ServiceAccount subject of a RoleBinding without a namespace is in the
    /// binding's namespace, as the authorizer reads it.
    fn subjects(&self) -> Vec<String> {
        self.obj["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let name = s["name"].as_str().unwrap_or("?");
                match (s["kind"].as_str().unwrap_or("?"), s["namespace"].as_str().or(self.namespace.as_deref())) {
                    ("ServiceAccount", Some(ns)) => format!("ServiceAccount {ns}/{name}"),
                    (kind, _) => format!("{kind} {name}"),
                }
            })
            .collect()
    }
}

fn list(host: &dyn Host, api_version: &str, kind: &str) -> Result<Vec<(Value, ObjectRef)>, String> {
    host.list_objects(api_version, kind, None)
        .map_err(|e| format!("cannot list {api_version}/{kind}: {}", e.reason()))?
        .into_iter()
        .map(|o| match serde_json::from_str(&o.json) {
            Ok(v) => Ok((v, o.ref_)),
            Err(e) => Err(format!("{kind} {}: not valid JSON: {e}", o.ref_.name)),
        })
        .collect()
}

/// Both kinds of a pair (roles, or bindings), or why either could not be read.
fn list_both(host: &dyn Host, cluster_kind: &str, kind: &str) -> Result<Vec<(Value, ObjectRef)>, String> {
    match (list(host, RBAC, cluster_kind), list(host, RBAC, kind)) {
        (Ok(mut a), Ok(b)) => {
            a.extend(b);
            Ok(a)
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(format!("{a}; {b}")),
    }
}

/// The rules of a ClusterRole with an aggregationRule: its own and those of
/// every ClusterRole a selector picks, transitively, as the
/// clusterrole-aggregation controller fills them in. A manifest (or a
/// cluster whose controller has not run) may carry `rules: []`; a live
/// server's copy already holds them, and adding them again changes nothing.
fn aggregated_rules(index: usize, cluster_roles: &[&(Value, ObjectRef)], seen: &mut Vec<usize>) -> Vec<Value> {
    seen.push(index);
    let (obj, _) = cluster_roles[index];
    let mut rules: Vec<Value> = obj["rules"].as_array().cloned().unwrap_or_default();
    for selector in obj["aggregationRule"]["clusterRoleSelectors"].as_array().into_iter().flatten() {
        for (i, (other, _)) in cluster_roles.iter().enumerate() {
            if !seen.contains(&i) && authorizer::selector_matches(selector, &other["metadata"]["labels"]) {
                rules.extend(aggregated_rules(i, cluster_roles, seen));
            }
        }
    }
    rules
}

fn roles(host: &dyn Host) -> Result<Vec<Role>, String> {
    let all = list_both(host, "ClusterRole", "Role")?;
    let cluster_roles: Vec<&(Value, ObjectRef)> = all.iter().filter(|(_, r)| r.kind == "ClusterRole").collect();
    let mut out = Vec::new();
    // `cluster_roles` keeps the order of `all`: the n-th ClusterRole met is
    // its n-th entry (no search per role).
    let mut next_cluster_role = 0;
    for (obj, r) in &all {
        let (namespace, rules) = if r.kind == "ClusterRole" {
            next_cluster_role += 1;
            (None, aggregated_rules(next_cluster_role - 1, &cluster_roles, &mut Vec::new()))
        } else {
            (Some(r.namespace.clone().unwrap_or_else(|| "default".into())), obj["rules"].as_array().cloned().unwrap_or_default())
        };
        out.push(Role { obj: obj.clone(), r#ref: r.clone(), namespace, rules });
    }
    Ok(out)
}

fn bindings(host: &dyn Host) -> Result<Vec<Binding>, String> {
    Ok(list_both(host, "ClusterRoleBinding", "RoleBinding")?
        .into_iter()
        .map(|(obj, r)| {
            let namespace = (r.kind == "RoleBinding").then(|| r.namespace.clone().unwrap_or_else(|| "default".into()));
            Binding { obj, r#ref: r, namespace }
        })
        .collect())
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
            settings: Vec::new(),
        }
    }

    fn evaluate(host: &dyn Host, _settings: &Settings, out: &mut Findings) -> Result<(), String> {
        // Each check is judged with the kinds it reads, and is `error` when
        // one of them could not be read: bindings alone, or roles with
        // their bindings (who holds a grant), or service accounts with
        // bindings.
        let bindings = bindings(host);
        let roles = roles(host);
        let sas = list(host, "v1", "ServiceAccount");
        match &bindings {
            Ok(b) => {
                cluster_admin(b, out);
                system_masters(b, out);
            }
            Err(e) => {
                out.push(Finding::new("cluster-admin-bindings", Status::Error, e.clone()));
                out.push(Finding::new("system-masters", Status::Error, e.clone()));
            }
        }
        match (&sas, &bindings) {
            (Ok(s), Ok(b)) => default_service_accounts(s, b, out),
            (Err(e), _) | (_, Err(e)) => out.push(Finding::new("default-service-accounts", Status::Error, e.clone())),
        }
        match (&roles, &bindings) {
            (Ok(r), Ok(b)) => role_checks(r, b, out),
            (Err(e), _) | (_, Err(e)) => {
                for c in ROLE_CHECKS {
                    out.push(Finding::new(c.id, Status::Error, e.clone()));
                }
            }
        }
        Ok(())
    }
}

fn role_checks(roles: &[Role], bindings: &[Binding], out: &mut Findings) {
    // The bindings of each role, found once: (roleRef kind, namespace for a
    // Role, name) -> bindings.
    let mut by_role: std::collections::HashMap<(&str, Option<&str>, &str), Vec<&Binding>> = std::collections::HashMap::new();
    for b in bindings {
        let (kind, name) = b.role();
        let namespace = if kind == "Role" { b.namespace.as_deref() } else { None };
        by_role.entry((kind, namespace, name)).or_default().push(b);
    }
    for check in ROLE_CHECKS {
        let mut flagged = 0;
        for role in roles {
            let kind = if role.namespace.is_some() { "Role" } else { "ClusterRole" };
            let role_bindings = by_role.get(&(kind, role.namespace.as_deref(), role.r#ref.name.as_str())).map_or(&[][..], Vec::as_slice);
            let platform = bootstrap(&role.obj);
            // (rules matched, through ClusterRoleBindings, through RoleBindings)
            let (hit, cluster_wide, in_namespace) = match check.test {
                RuleTest::Wildcard => {
                    // A property of how a role is written: the platform's own
                    // roles are written by Kubernetes.
                    if platform || !role.obj["rules"].as_array().into_iter().flatten().any(has_wildcard) {
                        continue;
                    }
                    (Some(Vec::new()), true, true)
                }
                RuleTest::Grants(grants) => {
                    let in_ns = granted(&role.rules, grants, true);
                    let everywhere = if role.namespace.is_none() { granted(&role.rules, grants, false) } else { None };
                    (everywhere.clone().or_else(|| in_ns.clone()), everywhere.is_some(), in_ns.is_some())
                }
            };
            let Some(names) = hit else { continue };
            let mut subjects = Vec::new();
            let mut not_granting = Vec::new();
            for b in role_bindings.iter().filter(|b| b.binds(role)) {
                // The platform binds its own roles; the cluster's bindings of
                // them are what a reviewer looks at.
                if platform && bootstrap(&b.obj) {
                    continue;
                }
                let grants = if b.namespace.is_some() { in_namespace } else { cluster_wide };
                if grants {
                    subjects.extend(b.subjects().into_iter().map(|s| format!("{s} (by {})", b.via())));
                } else {
                    not_granting.push(b.via());
                }
            }
            if platform && subjects.is_empty() {
                continue;
            }
            flagged += 1;
            let who = if subjects.is_empty() { "nobody".to_string() } else { subjects.join(", ") };
            let mut f = Finding::new(check.id, Status::Fail, format!("{} {}; bound to: {who}", role.r#ref.kind, check.what))
                .on_object(role.r#ref.clone())
                .with("bound-to", if subjects.is_empty() { "nobody".into() } else { subjects.join("; ") });
            if !names.is_empty() {
                f = f.with("limited-to-resource-names", names.join(", "));
            }
            if !not_granting.is_empty() {
                f = f
                    .with("bindings-granting-none-of-it", format!("{} (namespaced; the grant is cluster-scoped)", not_granting.join(", ")));
            }
            out.push(f);
        }
        if flagged == 0 {
            out.push(Finding::new(check.id, Status::Pass, format!("no role outside the Kubernetes defaults {}", check.what)));
        }
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

/// How many bindings a summary names before it counts the rest.
const NAMED_BINDINGS: usize = 5;

/// `RoleBinding a/b, ClusterRoleBinding c` for the first few bindings, then
/// how many more there are.
fn summarize(vias: &[String]) -> String {
    let mut text = vias.iter().take(NAMED_BINDINGS).cloned().collect::<Vec<_>>().join(", ");
    if vias.len() > NAMED_BINDINGS {
        text.push_str(&format!(" and {} more", vias.len() - NAMED_BINDINGS));
    }
    text
}

fn default_service_accounts(sas: &[(Value, ObjectRef)], bindings: &[Binding], out: &mut Findings) {
    // Each binding's subjects, worked out once, and the bindings of each
    // subject: a lookup per account instead of a pass over every binding.
    let subjects: Vec<Vec<String>> = bindings.iter().map(Binding::subjects).collect();
    let mut by_subject: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, list) in subjects.iter().enumerate() {
        for s in list {
            by_subject.entry(s.as_str()).or_default().push(i);
        }
    }
    // The cluster's own bindings of a group, in order (the platform binds
    // its groups to its own discovery roles).
    let through = |group: &str| -> Vec<usize> {
        by_subject.get(group).into_iter().flatten().copied().filter(|&i| !bootstrap(&bindings[i].obj)).collect()
    };
    // Groups every service account of every namespace is in: a binding of
    // one binds each default account alike. Worked out once and summed up,
    // so a cluster with thousands of namespaces and of such bindings gets a
    // finding per account, not every binding in every finding.
    let everyone: Vec<String> = ["Group system:serviceaccounts", "Group system:authenticated"]
        .into_iter()
        .filter_map(|group| {
            let hits = through(group);
            let vias: Vec<String> = hits.iter().map(|&i| bindings[i].via()).collect();
            (!hits.is_empty()).then(|| {
                let count = if hits.len() > NAMED_BINDINGS { format!(" ({} bindings)", hits.len()) } else { String::new() };
                format!("is bound through {group} by {}{count}", summarize(&vias))
            })
        })
        .collect();
    for (sa, r) in sas.iter().filter(|(_, r)| r.name == "default") {
        let ns = r.namespace.clone().unwrap_or_else(|| "default".into());
        let mut problems = Vec::new();
        if sa["automountServiceAccountToken"].as_bool() != Some(false) {
            problems.push("automountServiceAccountToken is not false".to_string());
        }
        // Bindings naming the account itself.
        let subject = format!("ServiceAccount {ns}/default");
        let direct = by_subject.get(subject.as_str()).map_or(&[][..], Vec::as_slice);
        for &i in direct {
            problems.push(format!("is a subject of {}", bindings[i].via()));
        }
        // Bindings of the group of the namespace's service accounts.
        let group = format!("Group system:serviceaccounts:{ns}");
        let vias: Vec<String> = through(&group).into_iter().filter(|i| !direct.contains(i)).map(|i| bindings[i].via()).collect();
        if !vias.is_empty() {
            problems.push(format!("is bound through {group} by {}", summarize(&vias)));
        }
        problems.extend(everyone.iter().cloned());
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

    fn fail(host: &FakeHost, check: &str, name: &str) -> Option<Finding> {
        host.run::<Rbac>(&[])
            .unwrap()
            .into_iter()
            .find(|f| f.check == check && f.status == Status::Fail && f.object.as_ref().is_some_and(|o| o.name == name))
    }

    fn evidence<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
        f.evidence.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_namespaced_role_grants_nothing_cluster_scoped() {
        let rules = json!([
            {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
            {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"], "verbs": ["update"]},
            {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"], "verbs": ["create"]}
        ]);
        let host = base()
            .object(RBAC, "Role", json!({"metadata": {"name": "some-role", "namespace": "dev"}, "rules": rules}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "b", "namespace": "dev"}, "roleRef": {"kind": "Role", "name": "some-role"}, "subjects": [{"kind": "User", "name": "bob"}]}))
            // The same rules in a ClusterRole: it can grant them, but only a
            // ClusterRoleBinding does.
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "infra"}, "rules": rules}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "infra-in-dev", "namespace": "dev"}, "roleRef": {"kind": "ClusterRole", "name": "infra"}, "subjects": [{"kind": "User", "name": "bob"}]}));
        for check in ["persistent-volume-create", "nodes-proxy", "csr-approval", "webhook-config-write"] {
            assert_eq!(flagged(&host, check), ["infra"], "{check}: a Role cannot grant cluster-scoped resources");
            let f = fail(&host, check, "infra").unwrap();
            assert_eq!(evidence(&f, "bound-to"), Some("nobody"), "{check}: the RoleBinding grants none of it");
            assert!(evidence(&f, "bindings-granting-none-of-it").unwrap().contains("RoleBinding dev/infra-in-dev"), "{f:?}");
        }
        let bound = host.object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "infra"}, "roleRef": {"kind": "ClusterRole", "name": "infra"}, "subjects": [{"kind": "Group", "name": "sre"}]}));
        let f = fail(&bound, "nodes-proxy", "infra").unwrap();
        assert_eq!(evidence(&f, "bound-to"), Some("Group sre (by ClusterRoleBinding infra)"));
    }

    #[test]
    fn a_namespaced_binding_of_a_cluster_role_grants_its_namespaced_part() {
        let host = base()
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "r", "namespace": "shop"}, "roleRef": {"kind": "ClusterRole", "name": "reader"}, "subjects": [{"kind": "ServiceAccount", "name": "web"}]}))
            // A RoleBinding in another namespace naming a Role of the same name binds nothing here.
            .object(RBAC, "Role", json!({"metadata": {"name": "reader", "namespace": "ops"}, "rules": []}));
        let f = fail(&host, "secret-access", "reader").unwrap();
        assert_eq!(
            evidence(&f, "bound-to"),
            Some("ServiceAccount shop/web (by RoleBinding shop/r)"),
            "a subject without namespace is in the binding's"
        );
    }

    #[test]
    fn every_wildcard_form_is_matched_as_the_authorizer_does() {
        let role = |name: &str, rule: Value| json!({"metadata": {"name": name}, "rules": [rule]});
        let host = base()
            .object(RBAC, "ClusterRole", role("sub-wildcard", json!({"apiGroups": [""], "resources": ["*/exec"], "verbs": ["create"]})))
            .object(RBAC, "ClusterRole", role("all-resources", json!({"apiGroups": [""], "resources": ["*"], "verbs": ["create"]})))
            .object(RBAC, "ClusterRole", role("all-groups", json!({"apiGroups": ["*"], "resources": ["pods/attach"], "verbs": ["create"]})))
            .object(RBAC, "ClusterRole", role("all-verbs", json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]})))
            .object(RBAC, "ClusterRole", role("res-star", json!({"apiGroups": [""], "resources": ["pods/*"], "verbs": ["create"]})))
            .object(RBAC, "ClusterRole", role("wrong-group", json!({"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["create"]})))
            .object(
                RBAC,
                "ClusterRole",
                role("read-only", json!({"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get", "list"]})),
            )
            .object(RBAC, "ClusterRole", role("urls", json!({"nonResourceURLs": ["/metrics*"], "verbs": ["get"]})));
        assert_eq!(
            flagged(&host, "pod-create"),
            ["sub-wildcard", "all-resources", "all-groups", "all-verbs", "read-only"],
            "get on pods/exec opens a WebSocket exec"
        );
        assert_eq!(flagged(&host, "wildcards"), ["sub-wildcard", "all-resources", "all-groups", "all-verbs", "urls"]);
        // `*` verbs on roles is bind and escalate; impersonate on serviceaccounts by `*` resources.
        let esc = base()
            .object(
                RBAC,
                "ClusterRole",
                role("rbac-all", json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["*"]})),
            )
            .object(RBAC, "ClusterRole", role("imp", json!({"apiGroups": [""], "resources": ["*"], "verbs": ["impersonate"]})))
            .object(
                RBAC,
                "ClusterRole",
                role(
                    "bindings-only",
                    json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}),
                ),
            );
        assert_eq!(flagged(&esc, "escalation-verbs"), ["rbac-all", "imp"]);
    }

    #[test]
    fn resource_names_narrow_a_grant_and_cannot_create() {
        let host = base()
            .object(RBAC, "Role", json!({"metadata": {"name": "es", "namespace": "logging"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["es-credentials"]}]}))
            .object(RBAC, "Role", json!({"metadata": {"name": "named-create", "namespace": "shop"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"], "resourceNames": ["web"]}]}))
            .object(RBAC, "Role", json!({"metadata": {"name": "mixed", "namespace": "shop"}, "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["a"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}));
        assert_eq!(evidence(&fail(&host, "secret-access", "es").unwrap(), "limited-to-resource-names"), Some("es-credentials"));
        assert_eq!(
            evidence(&fail(&host, "secret-access", "mixed").unwrap(), "limited-to-resource-names"),
            None,
            "one unnamed rule reads them all"
        );
        assert!(flagged(&host, "pod-create").is_empty(), "a create cannot name the pod it makes");
    }

    #[test]
    fn platform_roles_bound_by_the_cluster_are_flagged_with_those_subjects() {
        let host = base()
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "view", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}))
            .object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "jane"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "jane@example.com"}]}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "v", "namespace": "shop"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "x"}]}));
        let f = fail(&host, "secret-access", "cluster-admin").expect("cluster-admin bound to jane reads Secrets");
        assert_eq!(evidence(&f, "bound-to"), Some("User jane@example.com (by ClusterRoleBinding jane)"), "the default binding is left out");
        assert!(fail(&host, "secret-access", "view").is_none());
        assert!(flagged(&host, "wildcards").is_empty(), "how the platform writes its roles is not the cluster's doing");
        assert!(flagged(&base(), "secret-access").is_empty(), "the platform's own binding is no finding");
    }

    #[test]
    fn aggregated_cluster_roles_carry_the_rules_they_select() {
        let host = base()
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "monitoring"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-monitoring": "true"}}]}, "rules": []}))
            .object(RBAC, "ClusterRole", json!({"metadata": {"name": "part", "labels": {"example.com/aggregate-to-monitoring": "true"}}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}))
            .object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "m"}, "roleRef": {"kind": "ClusterRole", "name": "monitoring"}, "subjects": [{"kind": "Group", "name": "ops"}]}));
        assert_eq!(flagged(&host, "secret-access"), ["monitoring", "part"]);
        assert_eq!(evidence(&fail(&host, "secret-access", "monitoring").unwrap(), "bound-to"), Some("Group ops (by ClusterRoleBinding m)"));
    }

    #[test]
    fn a_kind_that_cannot_be_read_makes_the_checks_reading_it_errors() {
        let host = base()
            .object(
                "v1",
                "ServiceAccount",
                json!({"metadata": {"name": "default", "namespace": "payments"}, "automountServiceAccountToken": false}),
            )
            .object(
                RBAC,
                "ClusterRole",
                json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}),
            );
        let statuses = |host: &FakeHost| -> Vec<(String, Status)> {
            host.run::<Rbac>(&[]).unwrap().into_iter().map(|f| (f.check, f.status)).collect()
        };
        let check = |v: &[(String, Status)], id: &str| -> Vec<Status> { v.iter().filter(|(c, _)| c == id).map(|(_, s)| *s).collect() };
        // No service accounts: only the check reading them is an error.
        let v = statuses(&host.clone().deny("v1", "ServiceAccount"));
        assert_eq!(check(&v, "default-service-accounts"), [Status::Error]);
        assert_eq!(check(&v, "secret-access"), [Status::Fail]);
        assert_eq!(check(&v, "cluster-admin-bindings"), [Status::Pass]);
        // No RoleBindings: who holds a grant is unknown, and a RoleBinding may
        // bind cluster-admin or the default account.
        let v = statuses(&host.clone().deny(RBAC, "RoleBinding"));
        for id in ["default-service-accounts", "cluster-admin-bindings", "system-masters", "secret-access", "wildcards", "token-create"] {
            assert_eq!(check(&v, id), [Status::Error], "{id}");
        }
        // No Roles: the role checks cannot be judged; the binding checks can.
        let v = statuses(&host.deny(RBAC, "Role"));
        assert_eq!(check(&v, "pod-create"), [Status::Error]);
        assert_eq!(check(&v, "default-service-accounts"), [Status::Pass]);
        assert_eq!(check(&v, "system-masters"), [Status::Pass]);
    }

    /// The default-service-accounts verdict of each namespace, in order.
    fn default_account_verdicts(host: &FakeHost) -> Vec<(String, Status)> {
        host.run::<Rbac>(&[])
            .unwrap()
            .into_iter()
            .filter(|f| f.check == "default-service-accounts")
            .map(|f| (f.object.unwrap().namespace.unwrap(), f.status))
            .collect()
    }

    #[test]
    fn default_service_accounts_bound_through_their_groups_or_without_namespace_fail() {
        let sa = |ns: &str| json!({"metadata": {"name": "default", "namespace": ns}, "automountServiceAccountToken": false});
        let host = base()
            .object("v1", "ServiceAccount", sa("shop"))
            .object("v1", "ServiceAccount", sa("ci"))
            .object("v1", "ServiceAccount", sa("payments"))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "implicit", "namespace": "shop"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "ServiceAccount", "name": "default"}]}))
            .object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "ci-all"}, "roleRef": {"kind": "ClusterRole", "name": "edit"}, "subjects": [{"kind": "Group", "name": "system:serviceaccounts:ci"}]}));
        let v = default_account_verdicts(&host);
        assert_eq!(v, [("shop".into(), Status::Fail), ("ci".into(), Status::Fail), ("payments".into(), Status::Pass)]);
        // Every account is authenticated: a binding of system:authenticated
        // binds all of them, the platform's own such bindings excepted.
        let platform = json!({"metadata": {"name": "system:basic-user", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"kind": "ClusterRole", "name": "system:basic-user"}, "subjects": [{"kind": "Group", "name": "system:authenticated"}]});
        let clean = base().object("v1", "ServiceAccount", sa("payments")).object(RBAC, "ClusterRoleBinding", platform);
        let status = |h: &FakeHost| h.run::<Rbac>(&[]).unwrap().into_iter().find(|f| f.check == "default-service-accounts").unwrap().status;
        assert_eq!(status(&clean), Status::Pass);
        let everyone = clean.object(RBAC, "ClusterRoleBinding", json!({"metadata": {"name": "everyone-reads"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "system:authenticated"}]}));
        assert_eq!(status(&everyone), Status::Fail);
    }

    #[test]
    fn bindings_of_every_account_are_summed_up_in_each_finding() {
        // 40 namespaces, each binding system:authenticated: every default
        // account fails, and each message names five bindings and counts
        // the rest instead of listing all forty.
        let mut host = base();
        for n in 0..40 {
            let ns = format!("team-{n:02}");
            host = host
                .object(
                    "v1",
                    "ServiceAccount",
                    json!({"metadata": {"name": "default", "namespace": ns}, "automountServiceAccountToken": false}),
                )
                .object(
                    RBAC,
                    "RoleBinding",
                    json!({"metadata": {"name": "all-read", "namespace": ns}, "roleRef": {"kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]}),
                );
        }
        host = host.object(
            RBAC,
            "RoleBinding",
            json!({"metadata": {"name": "mine", "namespace": "team-07"}, "roleRef": {"kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}]}),
        );
        let findings: Vec<Finding> = host.run::<Rbac>(&[]).unwrap().into_iter().filter(|f| f.check == "default-service-accounts").collect();
        assert_eq!(findings.len(), 40);
        assert!(findings.iter().all(|f| f.status == Status::Fail));
        let message = &findings[7].message;
        assert!(message.starts_with("is a subject of RoleBinding team-07/mine; "), "{message}");
        assert!(
            message.ends_with(
                "is bound through Group system:authenticated by RoleBinding team-00/all-read, RoleBinding team-01/all-read, \
                RoleBinding team-02/all-read, RoleBinding team-03/all-read, RoleBinding team-04/all-read and 35 more (40 bindings)"
            ),
            "{message}"
        );
        assert!(findings.iter().all(|f| f.message.len() < 400));
    }

    #[test]
    fn default_service_accounts_must_not_mount_or_be_bound() {
        let host = base()
            .object("v1", "ServiceAccount", json!({"metadata": {"name": "default", "namespace": "payments"}, "automountServiceAccountToken": false}))
            .object("v1", "ServiceAccount", json!({"metadata": {"name": "default", "namespace": "shop"}, "automountServiceAccountToken": false}))
            .object("v1", "ServiceAccount", json!({"metadata": {"name": "default", "namespace": "dev"}}))
            .object(RBAC, "RoleBinding", json!({"metadata": {"name": "view", "namespace": "shop"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]}));
        let v = default_account_verdicts(&host);
        assert_eq!(v, [("payments".into(), Status::Pass), ("shop".into(), Status::Fail), ("dev".into(), Status::Fail)]);
    }
}
