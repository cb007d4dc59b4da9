//! Pod templates of every workload kind, and the containers inside them, with
//! the security settings each container really runs with (pod-level values
//! inherited where the container sets none, as the kubelet does).

use serde_json::Value;

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
    fn every_template_kind_has_a_spec() {
        let tpl = json!({"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}});
        for (_, kind) in WORKLOAD_KINDS.iter().filter(|(_, k)| *k != "Pod" && *k != "CronJob") {
            assert_eq!(pod_spec(&tpl, kind).unwrap().containers().len(), 1, "{kind}");
        }
    }
}
