//! What a PolicyRule allows, matched the way the API server's RBAC
//! authorizer matches it (the evaluation helpers of pkg/apis/rbac/v1), and
//! which requests a binding confined to one namespace can grant at all.

use serde_json::Value;

/// A resource request as the authorizer sees it: `pods/exec` is resource
/// `pods`, subresource `exec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub verb: &'a str,
}

impl<'a> Request<'a> {
    /// A request for `resource` (`pods` or `pods/exec`) in API group
    /// `group` (`""` is the core group).
    pub fn new(group: &'a str, resource: &'a str, verb: &'a str) -> Request<'a> {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (resource, None),
        };
        Request { group, resource, subresource, verb }
    }
}

/// How much of a request one rule allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allows {
    No,
    /// Every object the request can name.
    All,
    /// Only the objects of these names (the rule's resourceNames).
    Named(Vec<String>),
}

fn strs(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str)
}

/// `*` or the verb itself; verbs are compared as written (the authorizer
/// does not fold case).
pub fn verb_matches(rule: &Value, verb: &str) -> bool {
    strs(&rule["verbs"]).any(|v| v == "*" || v == verb)
}

pub fn group_matches(rule: &Value, group: &str) -> bool {
    strs(&rule["apiGroups"]).any(|g| g == "*" || g == group)
}

/// `*` (every resource and subresource), the exact `resource` or
/// `resource/subresource`, or `*/subresource` for a subresource request.
/// `pods/*` is not a pattern to the authorizer: it matches nothing but a
/// subresource literally named `*`.
pub fn resource_matches(rule: &Value, req: &Request<'_>) -> bool {
    strs(&rule["resources"]).any(|r| {
        if r == "*" {
            return true;
        }
        match req.subresource {
            None => r == req.resource,
            Some(sub) => {
                r.strip_prefix(req.resource).and_then(|rest| rest.strip_prefix('/')) == Some(sub) || r.strip_prefix("*/") == Some(sub)
            }
        }
    })
}

/// What `rule` allows of `req`. A rule limited by resourceNames cannot allow
/// a request that names no object: `create` and `deletecollection` on a
/// collection (list and watch can name one, by a metadata.name field
/// selector, so they stay allowed for those names).
pub fn allows(rule: &Value, req: &Request<'_>) -> Allows {
    if !(verb_matches(rule, req.verb) && group_matches(rule, req.group) && resource_matches(rule, req)) {
        return Allows::No;
    }
    let names: Vec<String> = strs(&rule["resourceNames"]).map(str::to_string).collect();
    if names.is_empty() {
        Allows::All
    } else if req.subresource.is_none() && matches!(req.verb, "create" | "deletecollection") {
        Allows::No
    } else {
        Allows::Named(names)
    }
}

/// Built-in resources that are not namespaced, by API group. A RoleBinding
/// (of a Role or of a ClusterRole) grants only within its namespace, so none
/// of these is granted through one. Resources not listed (custom resources
/// among them) are taken as namespaced: that can only flag more.
const CLUSTER_SCOPED: &[(&str, &[&str])] = &[
    ("", &["nodes", "persistentvolumes", "componentstatuses", "users", "groups"]),
    ("rbac.authorization.k8s.io", &["clusterroles", "clusterrolebindings"]),
    ("certificates.k8s.io", &["certificatesigningrequests", "clustertrustbundles"]),
    (
        "admissionregistration.k8s.io",
        &[
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicybindings",
        ],
    ),
    ("storage.k8s.io", &["storageclasses", "csidrivers", "csinodes", "volumeattachments", "volumeattributesclasses"]),
    ("scheduling.k8s.io", &["priorityclasses"]),
    ("node.k8s.io", &["runtimeclasses"]),
    ("apiextensions.k8s.io", &["customresourcedefinitions"]),
    ("apiregistration.k8s.io", &["apiservices"]),
    ("networking.k8s.io", &["ingressclasses", "ipaddresses", "servicecidrs"]),
    ("flowcontrol.apiserver.k8s.io", &["flowschemas", "prioritylevelconfigurations"]),
    ("authentication.k8s.io", &["tokenreviews", "selfsubjectreviews", "uids", "userextras"]),
    ("authorization.k8s.io", &["subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
    ("resource.k8s.io", &["deviceclasses", "resourceslices"]),
];

/// Whether a binding confined to one namespace can grant `req`.
///
/// Two requests on cluster-scoped resources carry a namespace all the same,
/// so a RoleBinding does grant them: `get namespaces/<its namespace>` (the
/// request's namespace is the Namespace's name) and `bind` on a ClusterRole
/// (asked in the namespace of the RoleBinding being created).
pub fn namespaced(req: &Request<'_>) -> bool {
    if req.group == "rbac.authorization.k8s.io" && req.resource == "clusterroles" && req.verb == "bind" {
        return true;
    }
    !CLUSTER_SCOPED.iter().any(|(g, resources)| *g == req.group && resources.contains(&req.resource))
}

/// Whether a label set matches a LabelSelector (matchLabels and
/// matchExpressions, all of which must hold). An empty selector matches
/// everything, as metav1.LabelSelectorAsSelector makes it; a selector with
/// an unknown operator matches nothing (the API server would not build it).
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels[k].as_str();
    let by_labels = selector["matchLabels"].as_object().into_iter().flatten().all(|(k, v)| v.as_str().is_some() && label(k) == v.as_str());
    let by_expressions = selector["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = strs(&e["values"]).collect();
        match e["operator"].as_str() {
            Some("In") => label(key).is_some_and(|v| values.contains(&v)),
            Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
            Some("Exists") => label(key).is_some(),
            Some("DoesNotExist") => label(key).is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
        json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
    }

    #[test]
    fn resources_match_exactly_by_wildcard_or_by_subresource_wildcard() {
        let exec = Request::new("", "pods/exec", "create");
        assert_eq!(allows(&rule(&[""], &["pods/exec"], &["create"]), &exec), Allows::All);
        assert_eq!(allows(&rule(&[""], &["*/exec"], &["create"]), &exec), Allows::All, "*/exec grants exec on pods");
        assert_eq!(allows(&rule(&[""], &["*"], &["create"]), &exec), Allows::All, "* covers subresources");
        assert_eq!(allows(&rule(&[""], &["pods"], &["create"]), &exec), Allows::No, "pods is not pods/exec");
        assert_eq!(allows(&rule(&[""], &["pods/*"], &["create"]), &exec), Allows::No, "pods/* is no pattern to the authorizer");
        assert_eq!(allows(&rule(&[""], &["*/exe"], &["create"]), &exec), Allows::No);
        assert_eq!(allows(&rule(&[""], &["*/exec"], &["create"]), &Request::new("", "pods", "create")), Allows::No);
        assert_eq!(allows(&rule(&[""], &["pods/exec"], &["create"]), &Request::new("", "nodes/exec", "create")), Allows::No);
    }

    #[test]
    fn verbs_and_groups_match_exactly_or_by_wildcard() {
        let read = Request::new("", "secrets", "get");
        assert_eq!(allows(&rule(&[""], &["secrets"], &["*"]), &read), Allows::All);
        assert_eq!(allows(&rule(&["*"], &["secrets"], &["get"]), &read), Allows::All);
        assert_eq!(allows(&rule(&["apps"], &["secrets"], &["get"]), &read), Allows::No, "secrets are in the core group");
        assert_eq!(allows(&rule(&[""], &["secrets"], &["GET"]), &read), Allows::No, "verbs are case-sensitive");
        assert_eq!(allows(&rule(&[""], &["secrets"], &["list"]), &read), Allows::No);
        assert_eq!(allows(&json!({"resources": ["secrets"], "verbs": ["get"]}), &read), Allows::No, "no apiGroups: no group");
    }

    #[test]
    fn resource_names_narrow_and_cannot_name_a_collection() {
        let named =
            json!({"apiGroups": [""], "resources": ["secrets", "pods"], "verbs": ["get", "list", "create"], "resourceNames": ["es"]});
        assert_eq!(allows(&named, &Request::new("", "secrets", "get")), Allows::Named(vec!["es".into()]));
        assert_eq!(allows(&named, &Request::new("", "secrets", "list")), Allows::Named(vec!["es".into()]));
        assert_eq!(allows(&named, &Request::new("", "pods", "create")), Allows::No, "create names no object");
        let token = json!({"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"], "resourceNames": ["ci"]});
        assert_eq!(allows(&token, &Request::new("", "serviceaccounts/token", "create")), Allows::Named(vec!["ci".into()]));
    }

    #[test]
    fn namespaced_bindings_grant_no_cluster_scoped_resource() {
        assert!(!namespaced(&Request::new("", "persistentvolumes", "create")));
        assert!(!namespaced(&Request::new("", "nodes/proxy", "get")));
        assert!(!namespaced(&Request::new("certificates.k8s.io", "certificatesigningrequests/approval", "update")));
        assert!(!namespaced(&Request::new("", "users", "impersonate")));
        assert!(namespaced(&Request::new("", "serviceaccounts", "impersonate")));
        assert!(namespaced(&Request::new("", "secrets", "get")));
        assert!(namespaced(&Request::new("rbac.authorization.k8s.io", "clusterroles", "bind")), "bind is asked in the binding's namespace");
        assert!(!namespaced(&Request::new("rbac.authorization.k8s.io", "clusterroles", "escalate")));
        assert!(namespaced(&Request::new("example.com", "widgets", "create")), "unknown resources count as namespaced");
    }

    #[test]
    fn label_selectors_follow_match_labels_and_expressions() {
        let labels = json!({"tier": "ops", "aggregate": "true"});
        assert!(selector_matches(&json!({"matchLabels": {"aggregate": "true"}}), &labels));
        assert!(!selector_matches(&json!({"matchLabels": {"aggregate": "false"}}), &labels));
        assert!(selector_matches(&json!({}), &labels), "an empty selector selects everything");
        assert!(selector_matches(&json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["ops", "dev"]}]}), &labels));
        assert!(!selector_matches(&json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["ops"]}]}), &labels));
        assert!(selector_matches(&json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}), &labels));
        assert!(!selector_matches(&json!({"matchExpressions": [{"key": "tier", "operator": "Near"}]}), &labels));
    }
}
