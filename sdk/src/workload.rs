//! Pod templates of every workload kind, and the containers inside them, with
//! the security settings each container really runs with (pod-level values
//! inherited where the container sets none, as the kubelet does).

use std::fmt;

use serde_core::Deserialize;
use serde_core::de::value::SeqAccessDeserializer;
use serde_core::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Every kind that carries a pod template, as `(apiVersion, kind)`.
pub const WORKLOAD_KINDS: &[(&str, &str)] = &[
    ("v1", "Pod"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ReplicaSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "ReplicationController"),
];

/// Parses a workload object (or any object whose checks read only its
/// `apiVersion`, `kind`, `metadata` and `spec`), leaving out what no check
/// reads: the top-level `status` and `metadata.managedFields`. Those are
/// still read to the end and must be valid JSON, so a damaged object is an
/// error as with `serde_json::from_str`; everything else is the same
/// `Value`. In an object from a live API server the two are most of its
/// bytes, and building them as a `Value` was most of a plugin's time.
///
/// ```
/// let json = r#"{"kind": "Pod", "metadata": {"name": "p", "managedFields": [{"manager": "kubectl"}]},
///                "spec": {"containers": []}, "status": {"phase": "Running"}}"#;
/// let pod = rampart_sdk::workload::parse(json).unwrap();
/// assert_eq!(pod, serde_json::json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}));
/// assert!(rampart_sdk::workload::parse(r#"{"spec": {}, "status": {"phase": }}"#).is_err());
/// ```
pub fn parse(json: &str) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(json);
    const METADATA: Without = Without { skip: "managedFields", inner: None };
    let value = Without { skip: "status", inner: Some(&METADATA) }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A JSON object read as a `Value` without its `skip` field; `inner` is
/// applied the same way to its `metadata`. Anything but an object is read
/// as the plain `Value` it is.
#[derive(Clone, Copy)]
struct Without {
    skip: &'static str,
    inner: Option<&'static Without>,
}

impl<'de> DeserializeSeed<'de> for Without {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Without {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == self.skip {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = match self.inner {
                Some(inner) if key == "metadata" => map.next_value_seed(*inner)?,
                _ => map.next_value::<Value>()?,
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The pod spec inside a workload object, with its JSON path.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    pub spec: &'a Value,
    /// `spec`, `spec.template.spec` or `spec.jobTemplate.spec.template.spec`.
    pub path: &'static str,
}

/// Finds the pod spec of `obj` given its kind (list items carry no kind, so
/// the caller passes it).
///
/// ```
/// use rampart_sdk::workload::pod_spec;
/// let cj = serde_json::json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
/// assert_eq!(pod_spec(&cj, "CronJob").unwrap().path, "spec.jobTemplate.spec.template.spec");
/// assert!(pod_spec(&cj, "ConfigMap").is_none());
/// ```
pub fn pod_spec<'a>(obj: &'a Value, kind: &str) -> Option<PodSpec<'a>> {
    let (spec, path) = match kind {
        "Pod" => (&obj["spec"], "spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => {
            (&obj["spec"]["template"]["spec"], "spec.template.spec")
        }
        "CronJob" => (&obj["spec"]["jobTemplate"]["spec"]["template"]["spec"], "spec.jobTemplate.spec.template.spec"),
        _ => return None,
    };
    spec.is_object().then_some(PodSpec { spec, path })
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Container,
    Init,
    Ephemeral,
}

impl ContainerKind {
    /// The pod spec field holding this list.
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Container => "containers",
            ContainerKind::Init => "initContainers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
}

/// One container of a pod spec.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub kind: ContainerKind,
    pub index: usize,
    pub name: &'a str,
    pub spec: &'a Value,
    /// JSON path of the container, e.g. `spec.template.spec.initContainers[0]`.
    pub path: String,
}

impl<'a> PodSpec<'a> {
    /// Every container: regular, init and ephemeral, in that order.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        for kind in [ContainerKind::Container, ContainerKind::Init, ContainerKind::Ephemeral] {
            if let Some(list) = self.spec[kind.field()].as_array() {
                for (index, spec) in list.iter().enumerate() {
                    out.push(Container {
                        kind,
                        index,
                        name: spec["name"].as_str().unwrap_or("<unnamed>"),
                        spec,
                        path: format!("{}.{}[{}]", self.path, kind.field(), index),
                    });
                }
            }
        }
        out
    }

    /// A pod-level boolean field such as `hostPID`; unset reads as false.
    pub fn flag(&self, field: &str) -> bool {
        self.spec[field].as_bool().unwrap_or(false)
    }

    /// The pod's security settings as `container` runs with them.
    pub fn effective<'b>(&'b self, container: &'b Container<'b>) -> Effective<'b> {
        Effective { pod: &self.spec["securityContext"], container: &container.spec["securityContext"] }
    }
}

/// A container's security context merged with its pod's: for the fields
/// both levels have, the container's value wins.
#[derive(Debug, Clone, Copy)]
pub struct Effective<'a> {
    pod: &'a Value,
    container: &'a Value,
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Container,
    Pod,
    Unset,
}

impl<'a> Effective<'a> {
    fn field(&self, name: &str) -> (&'a Value, Origin) {
        let c = &self.container[name];
        if !c.is_null() {
            return (c, Origin::Container);
        }
        let p = &self.pod[name];
        if !p.is_null() {
            return (p, Origin::Pod);
        }
        (&Value::Null, Origin::Unset)
    }

    /// `runAsNonRoot`, container over pod.
    pub fn run_as_non_root(&self) -> (Option<bool>, Origin) {
        let (v, o) = self.field("runAsNonRoot");
        (v.as_bool(), o)
    }

    /// `runAsUser`, container over pod.
    pub fn run_as_user(&self) -> (Option<i64>, Origin) {
        let (v, o) = self.field("runAsUser");
        (v.as_i64(), o)
    }

    /// The seccomp profile type (`RuntimeDefault`, `Localhost`,
    /// `Unconfined`), container over pod.
    pub fn seccomp_type(&self) -> (Option<&'a str>, Origin) {
        let (v, o) = self.field("seccompProfile");
        (v["type"].as_str(), o)
    }

    /// `windowsOptions.hostProcess`, container over pod.
    pub fn host_process(&self) -> bool {
        let c = &self.container["windowsOptions"]["hostProcess"];
        let v = if c.is_null() { &self.pod["windowsOptions"]["hostProcess"] } else { c };
        v.as_bool().unwrap_or(false)
    }

    /// Container-only fields (`privileged`, `allowPrivilegeEscalation`,
    /// `capabilities`, `readOnlyRootFilesystem`).
    pub fn container(&self, field: &str) -> &'a Value {
        &self.container[field]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_init_and_ephemeral_containers() {
        let pod = json!({"spec": {
            "containers": [{"name": "app"}],
            "initContainers": [{"name": "setup"}],
            "ephemeralContainers": [{"name": "debugger"}]
        }});
        let spec = pod_spec(&pod, "Pod").unwrap();
        let names: Vec<_> = spec.containers().iter().map(|c| (c.name, c.path.clone())).collect();
        assert_eq!(
            names,
            vec![
                ("app", "spec.containers[0]".to_string()),
                ("setup", "spec.initContainers[0]".to_string()),
                ("debugger", "spec.ephemeralContainers[0]".to_string()),
            ]
        );
    }

    #[test]
    fn container_overrides_pod_security_context() {
        let pod = json!({"spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {"runAsUser": 0, "seccompProfile": {"type": "Unconfined"}}}
            ]
        }});
        let spec = pod_spec(&pod, "Pod").unwrap();
        let containers = spec.containers();
        let a = spec.effective(&containers[0]);
        assert_eq!(a.run_as_user(), (Some(1000), Origin::Pod));
        assert_eq!(a.seccomp_type(), (Some("RuntimeDefault"), Origin::Pod));
        let b = spec.effective(&containers[1]);
        assert_eq!(b.run_as_user(), (Some(0), Origin::Container));
        assert_eq!(b.run_as_non_root(), (Some(true), Origin::Pod));
        assert_eq!(b.seccomp_type(), (Some("Unconfined"), Origin::Container));
    }

    #[test]
    fn parse_leaves_out_status_and_managed_fields_only() {
        let full = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {"a": "{\"status\": 1}"},
                         "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}], "labels": {"status": "x"}},
            "spec": {"template": {"metadata": {"managedFields": 1}, "spec": {"containers": [{"name": "c", "status": [1, 2.5, -3, null, true]}]}}},
            "status": {"replicas": 1, "conditions": [{"type": "Available"}]}
        });
        let mut expected = full.clone();
        expected.as_object_mut().unwrap().remove("status");
        expected["metadata"].as_object_mut().unwrap().remove("managedFields");
        assert_eq!(parse(&full.to_string()).unwrap(), expected);
        // Any other shape reads as serde_json reads it: a metadata that is
        // not an object keeps everything in it.
        for text in [
            r#"{"metadata": null, "spec": []}"#,
            r#"{"metadata": "x", "spec": {"a": [{"b": 1e300}]}}"#,
            r#"{"metadata": [1, {"managedFields": 2}]}"#,
            "{}",
            "[1]",
            "7",
        ] {
            assert_eq!(parse(text).unwrap(), serde_json::from_str::<Value>(text).unwrap(), "{text}");
        }
        // What is left out must still be valid JSON, and so must the end.
        for bad in [r#"{"status": {"phase": }}"#, r#"{"metadata": {"managedFields": [}}"#, r#"{"spec": {}} x"#, r#"{"spec": {}"#, ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_template_kind_has_a_spec() {
        let tpl = json!({"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}});
        for (_, kind) in WORKLOAD_KINDS.iter().filter(|(_, k)| *k != "Pod" && *k != "CronJob") {
            assert_eq!(pod_spec(&tpl, kind).unwrap().containers().len(), 1, "{kind}");
        }
    }
}
