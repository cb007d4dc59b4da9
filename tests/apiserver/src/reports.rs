//! Policy-report custom resources, served the way kube-apiserver serves
//! custom resources once their CRDs are installed: discovery of the group
//! version, server-side apply (PATCH `application/apply-patch+yaml`, which
//! creates or replaces), get, list across namespaces with an equality label
//! selector, and delete. Each write is checked against the CRD's schema
//! (the wg-policy `v1alpha2` and OpenReports `v1alpha1` types: the result
//! and severity enums, `policy` required, `timestamp` as seconds and nanos,
//! `properties` a map of strings) and refused with a 422 `Invalid` as the
//! API server refuses an object its schema rejects; fields the schema does
//! not know are refused too (the API server would drop them silently, so a
//! test must see them). Nothing here is recorded: every answer carries
//! `x-test-apiserver: synthesized`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// One served custom resource.
struct Kind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
}

const KINDS: [Kind; 4] = [
    Kind { group: "wgpolicyk8s.io", version: "v1alpha2", kind: "PolicyReport", plural: "policyreports", namespaced: true },
    Kind { group: "wgpolicyk8s.io", version: "v1alpha2", kind: "ClusterPolicyReport", plural: "clusterpolicyreports", namespaced: false },
    Kind { group: "openreports.io", version: "v1alpha1", kind: "Report", plural: "reports", namespaced: true },
    Kind { group: "openreports.io", version: "v1alpha1", kind: "ClusterReport", plural: "clusterreports", namespaced: false },
];

/// The stored objects, by (plural, namespace, name).
#[derive(Default)]
pub(crate) struct Store {
    pub(crate) installed: bool,
    objects: BTreeMap<(String, String, String), Value>,
    resource_version: u64,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

fn status(code: u16, reason: &str, message: String, details: Value) -> Reply {
    Reply {
        status: code,
        body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "details": details, "code": code}),
    }
}

/// `/apis/G/V[/namespaces/NS]/PLURAL[/NAME]` of a report kind.
struct Target<'a> {
    kind: &'a Kind,
    namespace: Option<String>,
    name: Option<String>,
}

fn parse(path: &str) -> Option<Result<Target<'static>, ()>> {
    let rest = path.strip_prefix("/apis/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (group, version) = (*parts.first()?, *parts.get(1)?);
    let known: Vec<&Kind> = KINDS.iter().filter(|k| k.group == group && k.version == version).collect();
    if known.is_empty() {
        return None;
    }
    let (namespace, rest) = match parts.get(2) {
        Some(&"namespaces") if parts.len() >= 5 => (Some(parts[3].to_string()), &parts[4..]),
        _ => (None, &parts[2..]),
    };
    let Some(plural) = rest.first() else { return Some(Err(())) };
    let Some(kind) = known.into_iter().find(|k| k.plural == *plural) else { return Some(Err(())) };
    if namespace.is_some() && !kind.namespaced {
        return Some(Err(()));
    }
    Some(Ok(Target { kind, namespace, name: rest.get(1).map(|n| n.to_string()) }))
}

fn discovery(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .map(|k| {
            json!({"name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced, "kind": k.kind,
                "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{group}/{version}"), "resources": resources})
}

impl Store {
    /// The answer to a request about the report kinds, or `None` when the
    /// request is about something else.
    pub(crate) fn answer(&mut self, method: &str, path: &str, query: &BTreeMap<String, String>, body: &[u8]) -> Option<Reply> {
        if !self.installed {
            return None;
        }
        if let Some(gv) = path.strip_prefix("/apis/")
            && let Some((group, version)) = gv.split_once('/')
            && !version.contains('/')
            && KINDS.iter().any(|k| k.group == group && k.version == version)
        {
            return Some(Reply { status: 200, body: discovery(group, version) });
        }
        let target = match parse(path)? {
            Ok(t) => t,
            Err(()) => return Some(status(404, "NotFound", "the server could not find the requested resource".into(), json!({}))),
        };
        Some(match (method, &target.name) {
            ("PATCH", Some(name)) => self.apply(&target, name, query, body),
            ("GET", Some(name)) => self.get(&target, name),
            ("DELETE", Some(name)) => self.delete(&target, name),
            ("GET", None) => self.list(&target, query),
            _ => status(405, "MethodNotAllowed", format!("{method} is not supported here"), json!({})),
        })
    }

    fn key(target: &Target, name: &str) -> (String, String, String) {
        (target.kind.plural.to_string(), target.namespace.clone().unwrap_or_default(), name.to_string())
    }

    fn not_found(target: &Target, name: &str) -> Reply {
        status(
            404,
            "NotFound",
            format!("{}.{} \"{name}\" not found", target.kind.plural, target.kind.group),
            json!({"name": name, "group": target.kind.group, "kind": target.kind.plural}),
        )
    }

    fn get(&self, target: &Target, name: &str) -> Reply {
        match self.objects.get(&Self::key(target, name)) {
            Some(o) => Reply { status: 200, body: o.clone() },
            None => Self::not_found(target, name),
        }
    }

    fn delete(&mut self, target: &Target, name: &str) -> Reply {
        match self.objects.remove(&Self::key(target, name)) {
            Some(o) => Reply { status: 200, body: o },
            None => Self::not_found(target, name),
        }
    }

    fn list(&self, target: &Target, query: &BTreeMap<String, String>) -> Reply {
        let wanted: Vec<(String, String)> = query
            .get("labelSelector")
            .map(|s| s.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((plural, ns, _), _)| plural == target.kind.plural && target.namespace.as_ref().is_none_or(|n| n == ns))
            .map(|(_, o)| o)
            .filter(|o| wanted.iter().all(|(k, v)| o["metadata"]["labels"][k].as_str() == Some(v)))
            .cloned()
            .collect();
        Reply {
            status: 200,
            body: json!({"apiVersion": format!("{}/{}", target.kind.group, target.kind.version),
                "kind": format!("{}List", target.kind.kind), "metadata": {"resourceVersion": self.resource_version.to_string()},
                "items": items}),
        }
    }

    fn apply(&mut self, target: &Target, name: &str, query: &BTreeMap<String, String>, body: &[u8]) -> Reply {
        if query.get("fieldManager").is_none_or(|m| m.is_empty()) {
            return status(400, "BadRequest", "PATCH request must be a server-side apply with a fieldManager".into(), json!({}));
        }
        // The client sends JSON, which is YAML.
        let object: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return status(400, "BadRequest", format!("error decoding YAML: {e}"), json!({})),
        };
        let api_version = format!("{}/{}", target.kind.group, target.kind.version);
        let mut problems = Vec::new();
        if object["apiVersion"] != api_version.as_str() || object["kind"] != target.kind.kind {
            problems.push(format!("apiVersion/kind: must be {api_version} {}", target.kind.kind));
        }
        if object["metadata"]["name"] != name {
            problems.push("metadata.name: the name of the object does not match the name on the URL".to_string());
        }
        if let Some(ns) = object["metadata"]["namespace"].as_str()
            && Some(ns) != target.namespace.as_deref()
        {
            problems.push("metadata.namespace: the namespace of the object does not match the namespace on the URL".to_string());
        }
        problems.extend(schema_problems(&object, target.kind));
        if !problems.is_empty() {
            return status(
                422,
                "Invalid",
                format!("{}.{} \"{name}\" is invalid: {}", target.kind.kind, target.kind.group, problems.join(", ")),
                json!({"name": name, "group": target.kind.group, "kind": target.kind.kind}),
            );
        }
        self.resource_version += 1;
        let key = Self::key(target, name);
        let created = !self.objects.contains_key(&key);
        let mut stored = object;
        let old_meta = self.objects.get(&key).map(|o| o["metadata"].clone());
        let meta = &mut stored["metadata"];
        if let Some(ns) = &target.namespace {
            meta["namespace"] = json!(ns);
        }
        meta["resourceVersion"] = json!(self.resource_version.to_string());
        match old_meta {
            Some(old) => {
                meta["uid"] = old["uid"].clone();
                meta["creationTimestamp"] = old["creationTimestamp"].clone();
                meta["generation"] = json!(old["generation"].as_u64().unwrap_or(1) + 1);
            }
            None => {
                meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012}", self.resource_version));
                meta["creationTimestamp"] = json!("2026-12-02T00:00:00Z");
                meta["generation"] = json!(1);
            }
        }
        self.objects.insert(key, stored.clone());
        Reply { status: if created { 201 } else { 200 }, body: stored }
    }

    /// Every stored object.
    pub(crate) fn all(&self) -> Vec<Value> {
        self.objects.values().cloned().collect()
    }

    /// Stores an object as if an earlier writer had applied it.
    pub(crate) fn put(&mut self, object: Value) {
        let kind = object["kind"].as_str().unwrap_or_default();
        let Some(k) = KINDS.iter().find(|k| k.kind == kind) else { return };
        let ns = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        self.objects.insert((k.plural.to_string(), ns, name), object);
    }
}

/// What the CRD's schema refuses in a report object of any of the served
/// report kinds (an unknown kind is a problem too).
pub fn policy_report_problems(o: &Value) -> Vec<String> {
    let api_version = o["apiVersion"].as_str().unwrap_or_default();
    match KINDS.iter().find(|k| o["kind"] == k.kind && api_version == format!("{}/{}", k.group, k.version)) {
        Some(kind) => schema_problems(o, kind),
        None => vec![format!("{api_version} {}: not a policy-report kind", o["kind"])],
    }
}

/// What the CRD's structural schema refuses in a report.
fn schema_problems(o: &Value, kind: &Kind) -> Vec<String> {
    let mut out = Vec::new();
    let mut top = vec!["apiVersion", "kind", "metadata", "scope", "scopeSelector", "summary", "results"];
    if kind.group == "openreports.io" {
        top.extend(["source", "configuration"]);
    }
    for key in o.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        if !top.contains(&key.as_str()) {
            out.push(format!("{key}: field not declared in schema"));
        }
    }
    if let Some(s) = o.get("summary") {
        for (k, v) in s.as_object().into_iter().flatten() {
            if !["pass", "fail", "warn", "error", "skip"].contains(&k.as_str()) {
                out.push(format!("summary.{k}: field not declared in schema"));
            } else if !v.is_i64() {
                out.push(format!("summary.{k}: Invalid value: must be of type integer"));
            }
        }
    }
    if let Some(scope) = o.get("scope") {
        object_reference(scope, "scope", &mut out);
    }
    let fields = [
        "source",
        "policy",
        "rule",
        "category",
        "severity",
        "timestamp",
        "result",
        "scored",
        "resources",
        "resourceSelector",
        "message",
        "properties",
    ];
    for (i, r) in o.get("results").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = format!("results[{i}]");
        for key in r.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            if !fields.contains(&key.as_str()) {
                out.push(format!("{at}.{key}: field not declared in schema"));
            }
        }
        if !r["policy"].is_string() {
            out.push(format!("{at}.policy: Required value"));
        }
        for key in ["source", "rule", "category", "message"] {
            if r.get(key).is_some_and(|v| !v.is_string()) {
                out.push(format!("{at}.{key}: Invalid value: must be of type string"));
            }
        }
        if let Some(v) = r.get("result")
            && !["pass", "fail", "warn", "error", "skip"].contains(&v.as_str().unwrap_or_default())
        {
            out.push(format!("{at}.result: Unsupported value: {v}"));
        }
        if let Some(v) = r.get("severity")
            && !["critical", "high", "low", "medium", "info"].contains(&v.as_str().unwrap_or_default())
        {
            out.push(format!("{at}.severity: Unsupported value: {v}"));
        }
        if r.get("scored").is_some_and(|v| !v.is_boolean()) {
            out.push(format!("{at}.scored: Invalid value: must be of type boolean"));
        }
        if let Some(t) = r.get("timestamp") {
            let ok = t.as_object().is_some_and(|m| {
                m.keys().all(|k| k == "seconds" || k == "nanos") && t["seconds"].is_i64() && t.get("nanos").is_none_or(Value::is_i64)
            });
            if !ok {
                out.push(format!("{at}.timestamp: Invalid value: must be {{seconds, nanos}} integers"));
            }
        }
        if let Some(p) = r.get("properties") {
            let ok = p.as_object().is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                out.push(format!("{at}.properties: Invalid value: must be a map of strings"));
            }
        }
        for (j, s) in r.get("resources").and_then(Value::as_array).into_iter().flatten().enumerate() {
            object_reference(s, &format!("{at}.resources[{j}]"), &mut out);
        }
    }
    out
}

fn object_reference(v: &Value, at: &str, out: &mut Vec<String>) {
    let known = ["apiVersion", "fieldPath", "kind", "name", "namespace", "resourceVersion", "uid"];
    match v.as_object() {
        None => out.push(format!("{at}: Invalid value: must be of type object")),
        Some(m) => {
            for (k, val) in m {
                if !known.contains(&k.as_str()) {
                    out.push(format!("{at}.{k}: field not declared in schema"));
                } else if !val.is_string() {
                    out.push(format!("{at}.{k}: Invalid value: must be of type string"));
                }
            }
        }
    }
}

/// The store behind a server, shared with its handle.
pub(crate) type Shared = Mutex<Store>;
