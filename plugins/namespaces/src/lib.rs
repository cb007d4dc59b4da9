//! namespaces: what each namespace has around its workloads: an enforcing
//! Pod Security Admission level or a policy engine (CIS 5.2.1), network
//! policies (CIS 5.3.2), and whether the `default` namespace holds anything
//! of the cluster's own (CIS 5.6.4).

use std::collections::BTreeMap;

use rampart_sdk::workload::WORKLOAD_KINDS;
use rampart_sdk::{
    Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, PAGE_SIZE, Plugin, PluginInfo, SettingKind, Settings,
    Severity, Status, setting,
};
use serde_json::Value;

pub struct Namespaces;

const ADMISSION: &str = "admissionregistration.k8s.io/v1";
const NETWORKING: &str = "networking.k8s.io/v1";

/// Objects Kubernetes itself keeps in `default`.
const DEFAULT_ALLOWED: &[(&str, &str)] = &[("Service", "kubernetes"), ("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")];
/// Kinds looked at in `default`, besides the workloads.
const DEFAULT_KINDS: &[(&str, &str)] = &[("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount")];

fn kind(v: &str, k: &str) -> Capability {
    Capability::ClusterList(KindRef { api_version: v.into(), kind: k.into() })
}

/// The namespace of a namespaced object: one without metadata.namespace is
/// in `default`, where kubectl and the API server put it.
fn namespace_of(r: &ObjectRef) -> &str {
    r.namespace.as_deref().unwrap_or("default")
}

/// The namespaced kinds the checks look at, each listed once, in all
/// namespaces: filtering here, not in the source, makes an object without
/// metadata.namespace count as in `default` whatever the source did.
struct Listing(Vec<Listed>);

/// One kind: its apiVersion, kind, and the objects (only their names: the
/// checks need nothing else) or why they could not be listed.
type Listed = (&'static str, &'static str, Result<Vec<ObjectRef>, String>);

impl Listing {
    /// Reads each kind a page at a time, keeping only the names, so a
    /// cluster of 150,000 pods costs the plugin a page of JSON at a time.
    fn new(host: &dyn Host) -> Listing {
        Listing(
            WORKLOAD_KINDS
                .iter()
                .chain(DEFAULT_KINDS)
                .map(|(v, k)| {
                    let mut refs = Vec::new();
                    let listed = host
                        .for_each_page(v, k, None, PAGE_SIZE, &mut |page| refs.extend(page.into_iter().map(|o| o.ref_)))
                        .map(|()| refs)
                        .map_err(|e| format!("cannot list {v}/{k}: {}", e.reason()));
                    (*v, *k, listed)
                })
                .collect(),
        )
    }

    /// The objects of a kind in one namespace.
    fn in_namespace(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<&ObjectRef>, String> {
        match self.0.iter().find(|(v, k, _)| *v == api_version && *k == kind) {
            Some((_, _, Ok(objects))) => Ok(objects.iter().filter(|o| namespace_of(o) == namespace).collect()),
            Some((_, _, Err(e))) => Err(e.clone()),
            None => Err(format!("{api_version}/{kind} was not listed")),
        }
    }

    /// Namespaces the objects live in beyond the Namespace objects of the
    /// scan (a manifest set often leaves those out): judged like the others
    /// where a check can be, though their labels are unknown.
    fn undeclared(&self, declared: &[(Value, ObjectRef)], policies: &[(Value, ObjectRef)]) -> Vec<String> {
        let listed = self.0.iter().filter_map(|(_, _, r)| r.as_ref().ok()).flatten();
        let seen: std::collections::BTreeSet<&str> = listed.chain(policies.iter().map(|(_, r)| r)).map(namespace_of).collect();
        seen.into_iter().filter(|ns| !declared.iter().any(|(_, r)| r.name == *ns)).map(str::to_string).collect()
    }
}

fn parsed(host: &dyn Host, api_version: &str, kind: &str) -> Result<Vec<(Value, ObjectRef)>, String> {
    host.list_objects(api_version, kind, None)
        .map_err(|e| format!("cannot list {api_version}/{kind}: {}", e.reason()))?
        .into_iter()
        .map(|o| serde_json::from_str(&o.json).map(|v| (v, o.ref_)).map_err(|e| format!("{kind}: {e}")))
        .collect()
}

impl Plugin for Namespaces {
    fn info() -> PluginInfo {
        let checks = vec![
            CheckInfoBuilder::new("pod-security-admission", "Every namespace enforces a Pod Security level, or a policy engine is in place")
                .severity(Severity::Medium)
                .remediation("Label each namespace pod-security.kubernetes.io/enforce=baseline or restricted, or run an admission policy engine that fails closed.")
                .tag("cis-5.2.1")
                .build(),
            CheckInfoBuilder::new("network-policies", "Every namespace has a NetworkPolicy")
                .severity(Severity::Medium)
                .remediation("Give each namespace a default-deny NetworkPolicy and allow what its workloads need.")
                .tag("cis-5.3.2")
                .build(),
            CheckInfoBuilder::new("default-namespace", "The default namespace holds nothing of the cluster's own")
                .severity(Severity::Low)
                .remediation("Move workloads, Services, ConfigMaps and Secrets out of `default` into namespaces of their own.")
                .tag("cis-5.6.4")
                .build(),
            CheckInfoBuilder::new(PLATFORM, "The system namespaces run only known platform components")
                .severity(Severity::Medium)
                .remediation("Move workloads that are not part of the platform out of kube-system, kube-public and kube-node-lease; list in-house platform components in the plugin's `platform-namespaces.components` setting.")
                .build(),
            CheckInfoBuilder::new(RESERVED, "The namespaces Kubernetes reserves for itself hold no workloads, Services, ConfigMaps or Secrets of users")
                .severity(Severity::High)
                .remediation("Move workloads, Services, ConfigMaps and Secrets out of default, kube-public and kube-node-lease into namespaces of their own.")
                .build(),
        ];
        let mut capabilities = vec![
            kind("v1", "Namespace"),
            kind(NETWORKING, "NetworkPolicy"),
            kind(ADMISSION, "ValidatingWebhookConfiguration"),
            kind(ADMISSION, "ValidatingAdmissionPolicy"),
        ];
        capabilities.extend(WORKLOAD_KINDS.iter().chain(DEFAULT_KINDS).map(|(v, k)| kind(v, k)));
        let settings = vec![
            setting(
                "reserved-namespaces.names",
                SettingKind::List,
                "namespaces workloads must not use (default default,kube-public,kube-node-lease)",
            ),
            setting("platform-namespaces.components", SettingKind::List, "namespaces of platform components allowed beside kube-system"),
        ];
        PluginInfo { name: "namespaces".into(), version: env!("CARGO_PKG_VERSION").into(), checks, capabilities, settings }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        let listing = Listing::new(host);
        let policies = parsed(host, NETWORKING, "NetworkPolicy");
        // Only the two per-namespace checks need the Namespace objects.
        match parsed(host, "v1", "Namespace") {
            Ok(namespaces) => {
                let implied = listing.undeclared(&namespaces, policies.as_deref().unwrap_or_default());
                admission(host, &namespaces, &implied, out);
                network_policies(&policies, &namespaces, &implied, out);
            }
            Err(e) => {
                for id in ["pod-security-admission", "network-policies"] {
                    out.push(Finding::new(id, Status::Error, e.clone()));
                }
            }
        }
        default_namespace(&listing, out);
        reserved_namespaces(&listing, settings, out);
        platform_namespaces(&listing, settings, out);
        Ok(())
    }
}

fn namespace_ref(name: &str) -> ObjectRef {
    ObjectRef { api_version: "v1".into(), kind: "Namespace".into(), namespace: None, name: name.into() }
}

fn admission(host: &dyn Host, namespaces: &[(Value, ObjectRef)], implied: &[String], out: &mut Findings) {
    const ID: &str = "pod-security-admission";
    // A policy engine is a webhook or an admission policy of the cluster's own.
    let mut engines = Vec::new();
    for (kind_name, what) in [("ValidatingWebhookConfiguration", "webhook"), ("ValidatingAdmissionPolicy", "policy")] {
        match parsed(host, ADMISSION, kind_name) {
            Ok(list) => {
                for (obj, r) in list {
                    let fail_open: Vec<&str> = obj["webhooks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|w| w["failurePolicy"] == "Ignore")
                        .filter_map(|w| w["name"].as_str())
                        .collect();
                    let note = if fail_open.is_empty() {
                        String::new()
                    } else {
                        format!(" (fails open: failurePolicy Ignore on {})", fail_open.join(", "))
                    };
                    engines.push(format!("{what} {}{note}", r.name));
                }
            }
            Err(e) => out.push(Finding::new(ID, Status::Error, e)),
        }
    }
    for (ns, r) in namespaces {
        let labels = &ns["metadata"]["labels"];
        let enforce = labels["pod-security.kubernetes.io/enforce"].as_str();
        let mut f = match enforce {
            Some(level @ ("baseline" | "restricted")) => Finding::new(ID, Status::Pass, format!("enforces Pod Security level {level}")),
            Some(level) => Finding::new(ID, Status::Fail, format!("enforces only Pod Security level {level}")),
            None => {
                let others: Vec<String> = ["warn", "audit"]
                    .iter()
                    .filter_map(|m| labels[format!("pod-security.kubernetes.io/{m}")].as_str().map(|l| format!("{m}={l}")))
                    .collect();
                let mut msg = "no enforcing Pod Security label".to_string();
                if !others.is_empty() {
                    msg += &format!(" ({} does not block anything)", others.join(", "));
                }
                if !engines.is_empty() {
                    msg += &format!("; admission policy in the cluster for review: {}", engines.join(", "));
                }
                Finding::new(ID, Status::Fail, msg)
            }
        };
        f = f.on_object(r.clone()).with("enforce", enforce.unwrap_or("unset"));
        out.push(f);
    }
    for name in implied {
        let message = "objects live in this namespace but its Namespace object is not in the scan: its Pod Security labels are unknown";
        out.push(Finding::new(ID, Status::Error, message).on_object(namespace_ref(name)));
    }
    if namespaces.is_empty() && implied.is_empty() {
        out.push(Finding::new(ID, Status::NotApplicable, "the cluster has no namespaces in the scan"));
    }
}

fn network_policies(
    policies: &Result<Vec<(Value, ObjectRef)>, String>,
    namespaces: &[(Value, ObjectRef)],
    implied: &[String],
    out: &mut Findings,
) {
    const ID: &str = "network-policies";
    let policies = match policies {
        Ok(p) => p,
        Err(e) => return out.push(Finding::new(ID, Status::Error, e.clone())),
    };
    let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, r) in policies {
        by_ns.entry(namespace_of(r).to_string()).or_default().push(r.name.clone());
    }
    for r in namespaces.iter().map(|(_, r)| r.clone()).chain(implied.iter().map(|n| namespace_ref(n))) {
        let f = match by_ns.get(&r.name) {
            Some(names) => Finding::new(ID, Status::Pass, format!("{} NetworkPolicy(ies): {}", names.len(), names.join(", ")))
                .with("policies", names.join(", ")),
            None => Finding::new(ID, Status::Fail, "no NetworkPolicy: every pod accepts traffic from anywhere"),
        };
        out.push(f.on_object(r));
    }
    if namespaces.is_empty() && implied.is_empty() {
        out.push(Finding::new(ID, Status::NotApplicable, "the cluster has no namespaces in the scan"));
    }
}

fn default_namespace(listing: &Listing, out: &mut Findings) {
    const ID: &str = "default-namespace";
    let (mut found, mut errors) = (0, 0);
    for (api_version, kind_name) in WORKLOAD_KINDS.iter().chain(DEFAULT_KINDS) {
        let objects = match listing.in_namespace(api_version, kind_name, "default") {
            Ok(o) => o,
            Err(e) => {
                out.push(Finding::new(ID, Status::Error, e));
                errors += 1;
                continue;
            }
        };
        for o in objects {
            if DEFAULT_ALLOWED.contains(&(kind_name, o.name.as_str())) {
                continue;
            }
            found += 1;
            out.push(
                Finding::new(ID, Status::Fail, format!("{kind_name} {} lives in the default namespace", o.name)).on_object((*o).clone()),
            );
        }
    }
    if found == 0 && errors == 0 {
        out.push(Finding::new(ID, Status::Pass, "the default namespace holds only what Kubernetes puts there"));
    }
}

const RESERVED: &str = "reserved-namespaces";
/// What Kubernetes and kubeadm keep in the reserved namespaces themselves
/// (every namespace also gets the ConfigMap kube-root-ca.crt).
const RESERVED_ALLOWED: &[(&str, &str, &str)] = &[("Service", "default", "kubernetes"), ("ConfigMap", "kube-public", "cluster-info")];

/// Workloads and Services in the namespaces Kubernetes keeps for itself
/// (the setting `reserved-namespaces.names`, by default default, kube-public
/// and kube-node-lease); only the API server's own Service is expected.
fn reserved_namespaces(listing: &Listing, settings: &Settings, out: &mut Findings) {
    let names = settings.get("reserved-namespaces.names").unwrap_or("default,kube-public,kube-node-lease");
    let names: Vec<&str> = names.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        // Checking no namespace would pass without looking at anything.
        return out.push(Finding::new(RESERVED, Status::Error, "setting reserved-namespaces.names names no namespace"));
    }
    let (mut found, mut errors) = (0, 0);
    for (api_version, kind_name) in WORKLOAD_KINDS.iter().chain(&[("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret")]) {
        for namespace in &names {
            let objects = match listing.in_namespace(api_version, kind_name, namespace) {
                Ok(o) => o,
                Err(e) => {
                    out.push(Finding::new(RESERVED, Status::Error, e));
                    errors += 1;
                    break;
                }
            };
            for o in objects {
                if RESERVED_ALLOWED.contains(&(*kind_name, *namespace, o.name.as_str()))
                    || (*kind_name == "ConfigMap" && o.name == "kube-root-ca.crt")
                {
                    continue;
                }
                found += 1;
                let verb = if WORKLOAD_KINDS.iter().any(|(_, k)| k == kind_name) { "runs" } else { "is kept" };
                let message = format!("{kind_name} {} {verb} in {namespace}, a namespace Kubernetes reserves for itself", o.name);
                out.push(Finding::new(RESERVED, Status::Fail, message).on_object((*o).clone()));
            }
        }
    }
    if found == 0 && errors == 0 {
        out.push(Finding::new(
            RESERVED,
            Status::Pass,
            format!("{} hold no workloads, Services, ConfigMaps or Secrets but Kubernetes' own", names.join(", ")),
        ));
    }
}

const PLATFORM: &str = "platform-namespaces";

/// Name prefixes of the components clusters commonly run in kube-system:
/// the control plane (static pods are `<component>-<node>`), DNS, kube-proxy,
/// the usual CNI and CSI agents.
const PLATFORM_COMPONENTS: &[&str] = &[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kube-proxy",
    "coredns",
    "kube-dns",
    "node-local-dns",
    "metrics-server",
    "cloud-controller-manager",
    "konnectivity-agent",
    "calico",
    "cilium",
    "kube-flannel",
    "weave-net",
    "kindnet",
    "aws-node",
    "antrea",
    "ebs-csi",
    "csi-",
];

/// Workloads in the system namespaces that are not a known platform
/// component, for a reviewer (STIG V-242417 is a manual rule): each one is
/// listed so the reviewer can confirm it belongs there. The setting
/// `platform-namespaces.components` adds name prefixes of in-house
/// components.
fn platform_namespaces(listing: &Listing, settings: &Settings, out: &mut Findings) {
    let extra: Vec<&str> =
        settings.get("platform-namespaces.components").unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    let known = |name: &str| PLATFORM_COMPONENTS.iter().chain(&extra).any(|p| name.starts_with(p));
    let (mut seen, mut unknown, mut errors) = (0, 0, 0);
    for (api_version, kind_name) in WORKLOAD_KINDS {
        for namespace in ["kube-system", "kube-public", "kube-node-lease"] {
            let objects = match listing.in_namespace(api_version, kind_name, namespace) {
                Ok(o) => o,
                Err(e) => {
                    out.push(Finding::new(PLATFORM, Status::Error, e));
                    errors += 1;
                    break;
                }
            };
            for o in objects {
                seen += 1;
                if known(&o.name) {
                    continue;
                }
                unknown += 1;
                let message = format!("{kind_name} {} in {namespace} is not a known platform component: confirm it belongs there", o.name);
                out.push(Finding::new(PLATFORM, Status::Fail, message).on_object((*o).clone()));
            }
        }
    }
    if unknown == 0 && errors == 0 {
        out.push(Finding::new(
            PLATFORM,
            Status::Pass,
            format!("all {seen} workload objects in the system namespaces are known platform components"),
        ));
    }
}

rampart_sdk::export_plugin!(Namespaces);

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_sdk::testing::FakeHost;
    use serde_json::json;

    fn ns(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    fn verdicts(host: &FakeHost, check: &str) -> Vec<(String, Status)> {
        host.run::<Namespaces>(&[])
            .unwrap()
            .into_iter()
            .filter(|f| f.check == check)
            .map(|f| (f.object.map(|o| o.name).unwrap_or_default(), f.status))
            .collect()
    }

    #[test]
    fn only_baseline_or_restricted_enforcement_passes() {
        let host = FakeHost::new()
            .object("v1", "Namespace", ns("payments", json!({"pod-security.kubernetes.io/enforce": "restricted"})))
            .object("v1", "Namespace", ns("dev", json!({"pod-security.kubernetes.io/audit": "baseline"})))
            .object("v1", "Namespace", ns("ops", json!({"pod-security.kubernetes.io/enforce": "privileged"})));
        assert_eq!(
            verdicts(&host, "pod-security-admission"),
            [("payments".into(), Status::Pass), ("dev".into(), Status::Fail), ("ops".into(), Status::Fail)]
        );
    }

    #[test]
    fn namespaces_without_network_policies_fail() {
        let host = FakeHost::new()
            .object("v1", "Namespace", ns("payments", json!({})))
            .object("v1", "Namespace", ns("logging", json!({})))
            .object(NETWORKING, "NetworkPolicy", json!({"metadata": {"name": "default-deny", "namespace": "payments"}}));
        assert_eq!(verdicts(&host, "network-policies"), [("payments".into(), Status::Pass), ("logging".into(), Status::Fail)]);
    }

    #[test]
    fn the_default_namespace_may_hold_only_kubernetes_own_objects() {
        let clean = FakeHost::new()
            .object("v1", "Service", json!({"metadata": {"name": "kubernetes", "namespace": "default"}}))
            .object("v1", "ConfigMap", json!({"metadata": {"name": "kube-root-ca.crt", "namespace": "default"}}))
            .object("apps/v1", "Deployment", json!({"metadata": {"name": "web", "namespace": "shop"}}));
        assert_eq!(verdicts(&clean, "default-namespace"), [(String::new(), Status::Pass)]);
        let dirty = clean.object("apps/v1", "Deployment", json!({"metadata": {"name": "legacy-app", "namespace": "default"}}));
        assert_eq!(verdicts(&dirty, "default-namespace"), [("legacy-app".into(), Status::Fail)]);
    }

    #[test]
    fn objects_without_a_namespace_are_in_default() {
        let host = FakeHost::new()
            .object("v1", "Namespace", ns("default", json!({})))
            .object("apps/v1", "Deployment", json!({"metadata": {"name": "unplaced"}}))
            .object(NETWORKING, "NetworkPolicy", json!({"metadata": {"name": "deny-all"}}));
        assert_eq!(verdicts(&host, "default-namespace"), [("unplaced".into(), Status::Fail)]);
        assert_eq!(verdicts(&host, RESERVED), [("unplaced".into(), Status::Fail)]);
        assert_eq!(verdicts(&host, "network-policies"), [("default".into(), Status::Pass)], "the policy protects default");
    }

    #[test]
    fn a_listing_that_fails_part_way_is_an_error_not_a_pass() {
        // The first page (the kube-system pods and part of the rest) is
        // served, the second fails: what was not seen cannot pass.
        let mut host = FakeHost::new().object("v1", "Namespace", ns("shop", json!({})));
        for i in 0..(PAGE_SIZE as usize + 10) {
            host = host.object("v1", "Pod", json!({"metadata": {"name": format!("p{i}"), "namespace": "shop"}}));
        }
        let host = host.fail_listing_after("v1", "Pod", PAGE_SIZE as usize);
        for check in ["default-namespace", RESERVED, PLATFORM] {
            let v = verdicts(&host, check);
            assert!(v.iter().any(|(_, s)| *s == Status::Error) && v.iter().all(|(_, s)| *s != Status::Pass), "{check}: {v:?}");
        }
    }

    #[test]
    fn a_kind_that_cannot_be_listed_is_never_a_pass() {
        let host = FakeHost::new().object("v1", "Namespace", ns("shop", json!({}))).deny("v1", "ConfigMap");
        for check in ["default-namespace", RESERVED] {
            let v = verdicts(&host, check);
            assert!(v.iter().any(|(_, s)| *s == Status::Error) && v.iter().all(|(_, s)| *s != Status::Pass), "{check}: {v:?}");
        }
        let v = verdicts(&host.clone().deny(NETWORKING, "NetworkPolicy"), "network-policies");
        assert_eq!(v, [(String::new(), Status::Error)]);
        // Without the Namespace objects only the per-namespace checks are errors.
        let denied = FakeHost::new()
            .object("apps/v1", "Deployment", json!({"metadata": {"name": "web", "namespace": "shop"}}))
            .deny("v1", "Namespace");
        assert_eq!(verdicts(&denied, "pod-security-admission"), [(String::new(), Status::Error)]);
        assert_eq!(verdicts(&denied, "network-policies"), [(String::new(), Status::Error)]);
        assert_eq!(verdicts(&denied, "default-namespace"), [(String::new(), Status::Pass)]);
    }

    #[test]
    fn namespaces_known_only_from_their_objects_are_judged() {
        let host = FakeHost::new()
            .object("v1", "Namespace", ns("payments", json!({"pod-security.kubernetes.io/enforce": "restricted"})))
            .object(NETWORKING, "NetworkPolicy", json!({"metadata": {"name": "deny", "namespace": "payments"}}))
            .object("apps/v1", "Deployment", json!({"metadata": {"name": "web", "namespace": "shop"}}));
        assert_eq!(verdicts(&host, "pod-security-admission"), [("payments".into(), Status::Pass), ("shop".into(), Status::Error)]);
        assert_eq!(verdicts(&host, "network-policies"), [("payments".into(), Status::Pass), ("shop".into(), Status::Fail)]);
    }

    #[test]
    fn unknown_workloads_in_system_namespaces_are_listed_for_review() {
        let known = FakeHost::new()
            .object("v1", "Pod", json!({"metadata": {"name": "kube-apiserver-cp-1", "namespace": "kube-system"}}))
            .object("apps/v1", "Deployment", json!({"metadata": {"name": "coredns", "namespace": "kube-system"}}))
            .object("apps/v1", "Deployment", json!({"metadata": {"name": "shop", "namespace": "shop"}}));
        assert_eq!(verdicts(&known, PLATFORM), [(String::new(), Status::Pass)]);
        let odd = known.object("v1", "Pod", json!({"metadata": {"name": "netdebug-tmp", "namespace": "kube-system"}}));
        assert_eq!(verdicts(&odd, PLATFORM), [("netdebug-tmp".into(), Status::Fail)]);
        let allowed = odd.run::<Namespaces>(&[("platform-namespaces.components", "netdebug")]).unwrap();
        assert!(allowed.iter().any(|f| f.check == PLATFORM && f.status == Status::Pass), "in-house components can be added");
        let denied = odd.deny("v1", "Pod");
        assert!(verdicts(&denied, PLATFORM).iter().any(|(_, s)| *s == Status::Error));
    }

    #[test]
    fn reserved_namespaces_hold_no_workloads_or_services_of_users() {
        let clean = FakeHost::new()
            .object("v1", "Service", json!({"metadata": {"name": "kubernetes", "namespace": "default"}}))
            .object("v1", "ConfigMap", json!({"metadata": {"name": "cluster-info", "namespace": "kube-public"}}))
            .object("v1", "ConfigMap", json!({"metadata": {"name": "kube-root-ca.crt", "namespace": "default"}}))
            .object("apps/v1", "DaemonSet", json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system"}}));
        assert_eq!(verdicts(&clean, RESERVED), [(String::new(), Status::Pass)]);
        let config = clean.clone().object("v1", "ConfigMap", json!({"metadata": {"name": "legacy-app-config", "namespace": "default"}}));
        assert_eq!(verdicts(&config, RESERVED), [("legacy-app-config".into(), Status::Fail)]);
        let dirty = clean.object("v1", "Pod", json!({"metadata": {"name": "debug", "namespace": "kube-node-lease"}})).object(
            "v1",
            "Service",
            json!({"metadata": {"name": "shop", "namespace": "kube-public"}}),
        );
        assert_eq!(verdicts(&dirty, RESERVED), [("debug".into(), Status::Fail), ("shop".into(), Status::Fail)]);
        let only_default = dirty.run::<Namespaces>(&[("reserved-namespaces.names", "default")]).unwrap();
        assert!(only_default.iter().any(|f| f.check == RESERVED && f.status == Status::Pass), "the setting narrows the namespaces");
        let none = dirty.run::<Namespaces>(&[("reserved-namespaces.names", " , ")]).unwrap();
        assert!(none.iter().filter(|f| f.check == RESERVED).all(|f| f.status == Status::Error), "an empty list is an error, not a pass");
    }
}
