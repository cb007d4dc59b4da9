//! The built-in kinds of the Kubernetes API (1.36, as k8s-openapi knows
//! them): which apiVersions serve each kind, whether it is namespaced, and
//! the typed check of the kinds Rampart's checks read, so a manifest means to
//! Rampart what it means to the API server or is refused with the reason.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Checks an object against a kind's type.
type Validate = fn(&Value, Strictness) -> Result<(), String>;

/// A kind the API server serves.
#[derive(Debug)]
pub struct Builtin {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// Checks an object against the kind's type: field types, required
    /// fields and unknown fields. `None` for kinds no check reads.
    validate: Option<Validate>,
}

/// Whether fields the type does not have are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// As `kubectl apply` (strict field validation): unknown fields are errors.
    Strict,
    /// Unknown fields are let through (removed versions carried fields the
    /// current one dropped).
    Types,
}

trait Scope {
    const NAMESPACED: bool;
}
impl Scope for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl Scope for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

macro_rules! builtin {
    ($t:ty, $validate:expr) => {
        Builtin {
            api_version: <$t as k8s_openapi::Resource>::API_VERSION,
            kind: <$t as k8s_openapi::Resource>::KIND,
            namespaced: <<$t as k8s_openapi::Resource>::Scope as Scope>::NAMESPACED,
            validate: $validate,
        }
    };
}
macro_rules! checked {
    ($($t:ty,)*) => { &[$(builtin!($t, Some(typed::<$t>)),)*] };
}
macro_rules! listed {
    ($($t:ty,)*) => { &[$(builtin!($t, None),)*] };
}

/// The kinds the built-in checks read (workloads, RBAC, namespaces and
/// their policies, configuration, nodes, admission): checked against their
/// types before any plugin sees them.
static CHECKED: &[Builtin] = checked![
    k8s_openapi::api::core::v1::Pod,
    k8s_openapi::api::core::v1::PodTemplate,
    k8s_openapi::api::core::v1::ReplicationController,
    k8s_openapi::api::apps::v1::Deployment,
    k8s_openapi::api::apps::v1::StatefulSet,
    k8s_openapi::api::apps::v1::DaemonSet,
    k8s_openapi::api::apps::v1::ReplicaSet,
    k8s_openapi::api::batch::v1::Job,
    k8s_openapi::api::batch::v1::CronJob,
    k8s_openapi::api::core::v1::ServiceAccount,
    k8s_openapi::api::core::v1::Namespace,
    k8s_openapi::api::core::v1::ConfigMap,
    k8s_openapi::api::core::v1::Secret,
    k8s_openapi::api::core::v1::Service,
    k8s_openapi::api::core::v1::Node,
    k8s_openapi::api::rbac::v1::Role,
    k8s_openapi::api::rbac::v1::ClusterRole,
    k8s_openapi::api::rbac::v1::RoleBinding,
    k8s_openapi::api::rbac::v1::ClusterRoleBinding,
    k8s_openapi::api::networking::v1::NetworkPolicy,
    k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
];

/// Every other kind of the API: known so that a kind under the wrong
/// apiVersion, or a misspelt kind, is refused, and so its scope is known.
static OTHER: &[Builtin] = listed![
    k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1alpha1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1beta1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1beta1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::apiserverinternal::v1alpha1::StorageVersion,
    k8s_openapi::api::apps::v1::ControllerRevision,
    k8s_openapi::api::authentication::v1::SelfSubjectReview,
    k8s_openapi::api::authentication::v1::TokenReview,
    k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
    k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
    k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
    k8s_openapi::api::authorization::v1::SubjectAccessReview,
    k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler,
    k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    k8s_openapi::api::certificates::v1alpha1::ClusterTrustBundle,
    k8s_openapi::api::certificates::v1beta1::ClusterTrustBundle,
    k8s_openapi::api::certificates::v1beta1::PodCertificateRequest,
    k8s_openapi::api::coordination::v1::Lease,
    k8s_openapi::api::coordination::v1alpha2::LeaseCandidate,
    k8s_openapi::api::coordination::v1beta1::LeaseCandidate,
    k8s_openapi::api::core::v1::Binding,
    k8s_openapi::api::core::v1::ComponentStatus,
    k8s_openapi::api::core::v1::Endpoints,
    k8s_openapi::api::core::v1::Event,
    k8s_openapi::api::core::v1::LimitRange,
    k8s_openapi::api::core::v1::PersistentVolume,
    k8s_openapi::api::core::v1::PersistentVolumeClaim,
    k8s_openapi::api::core::v1::ResourceQuota,
    k8s_openapi::api::discovery::v1::EndpointSlice,
    k8s_openapi::api::events::v1::Event,
    k8s_openapi::api::flowcontrol::v1::FlowSchema,
    k8s_openapi::api::flowcontrol::v1::PriorityLevelConfiguration,
    k8s_openapi::api::networking::v1::Ingress,
    k8s_openapi::api::networking::v1::IngressClass,
    k8s_openapi::api::networking::v1::IPAddress,
    k8s_openapi::api::networking::v1::ServiceCIDR,
    k8s_openapi::api::networking::v1beta1::IPAddress,
    k8s_openapi::api::networking::v1beta1::ServiceCIDR,
    k8s_openapi::api::node::v1::RuntimeClass,
    k8s_openapi::api::policy::v1::PodDisruptionBudget,
    k8s_openapi::api::resource::v1::DeviceClass,
    k8s_openapi::api::resource::v1::ResourceClaim,
    k8s_openapi::api::resource::v1::ResourceClaimTemplate,
    k8s_openapi::api::resource::v1::ResourceSlice,
    k8s_openapi::api::resource::v1alpha3::DeviceTaintRule,
    k8s_openapi::api::resource::v1alpha3::ResourcePoolStatusRequest,
    k8s_openapi::api::resource::v1beta1::DeviceClass,
    k8s_openapi::api::resource::v1beta1::ResourceClaim,
    k8s_openapi::api::resource::v1beta1::ResourceClaimTemplate,
    k8s_openapi::api::resource::v1beta1::ResourceSlice,
    k8s_openapi::api::resource::v1beta2::DeviceClass,
    k8s_openapi::api::resource::v1beta2::DeviceTaintRule,
    k8s_openapi::api::resource::v1beta2::ResourceClaim,
    k8s_openapi::api::resource::v1beta2::ResourceClaimTemplate,
    k8s_openapi::api::resource::v1beta2::ResourceSlice,
    k8s_openapi::api::scheduling::v1::PriorityClass,
    k8s_openapi::api::scheduling::v1alpha2::PodGroup,
    k8s_openapi::api::scheduling::v1alpha2::Workload,
    k8s_openapi::api::storage::v1::CSIDriver,
    k8s_openapi::api::storage::v1::CSINode,
    k8s_openapi::api::storage::v1::CSIStorageCapacity,
    k8s_openapi::api::storage::v1::StorageClass,
    k8s_openapi::api::storage::v1::VolumeAttachment,
    k8s_openapi::api::storage::v1::VolumeAttributesClass,
    k8s_openapi::api::storage::v1beta1::VolumeAttributesClass,
    k8s_openapi::api::storagemigration::v1beta1::StorageVersionMigration,
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService,
];

/// Workload versions the API server no longer serves but old repositories
/// still hold: (apiVersion, kind, the version that replaced it, removed in).
/// Their pod templates are read as the current version's.
const REMOVED_WORKLOADS: &[(&str, &str, &str, &str)] = &[
    ("batch/v1beta1", "CronJob", "batch/v1", "1.25"),
    ("batch/v2alpha1", "CronJob", "batch/v1", "1.21"),
    ("extensions/v1beta1", "Deployment", "apps/v1", "1.16"),
    ("extensions/v1beta1", "DaemonSet", "apps/v1", "1.16"),
    ("extensions/v1beta1", "ReplicaSet", "apps/v1", "1.16"),
    ("apps/v1beta1", "Deployment", "apps/v1", "1.16"),
    ("apps/v1beta1", "StatefulSet", "apps/v1", "1.16"),
    ("apps/v1beta2", "Deployment", "apps/v1", "1.16"),
    ("apps/v1beta2", "DaemonSet", "apps/v1", "1.16"),
    ("apps/v1beta2", "ReplicaSet", "apps/v1", "1.16"),
    ("apps/v1beta2", "StatefulSet", "apps/v1", "1.16"),
];

/// What an (apiVersion, kind) is.
#[derive(Debug)]
pub enum Class {
    /// A kind the API server serves under this apiVersion.
    Builtin(&'static Builtin),
    /// A workload under a removed version: read as `current`, with a warning.
    Removed { current: &'static str, removed_in: &'static str },
    /// A built-in group, but no such kind or version: the API server would
    /// refuse the object.
    Refused(String),
    /// A group the built-in kinds do not use: a custom resource, read as it is.
    Custom,
}

fn all() -> impl Iterator<Item = &'static Builtin> {
    CHECKED.iter().chain(OTHER.iter())
}

fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Whether a group is one of the API server's own (the core group is "").
fn builtin_group(g: &str) -> bool {
    g == "extensions" || all().any(|b| group(b.api_version) == g)
}

/// Classifies an object's apiVersion and kind.
pub fn classify(api_version: &str, kind: &str) -> Class {
    if let Some(b) = all().find(|b| b.api_version == api_version && b.kind == kind) {
        return Class::Builtin(b);
    }
    if let Some((_, _, current, removed_in)) = REMOVED_WORKLOADS.iter().find(|(v, k, _, _)| *v == api_version && *k == kind) {
        return Class::Removed { current, removed_in };
    }
    if !builtin_group(group(api_version)) {
        return Class::Custom;
    }
    let served: Vec<&str> = all().filter(|b| b.kind == kind).map(|b| b.api_version).collect();
    if !served.is_empty() {
        return Class::Refused(format!(
            "apiVersion {api_version} has no kind {kind}: the API server serves {kind} as {}",
            served.join(", ")
        ));
    }
    if let Some(b) = all().find(|b| b.kind.eq_ignore_ascii_case(kind)) {
        return Class::Refused(format!(
            "kind {kind} does not exist (kinds are case-sensitive): did you mean {} ({})?",
            b.kind, b.api_version
        ));
    }
    Class::Refused(format!("apiVersion {api_version} has no kind {kind}: it is not a kind of the Kubernetes API"))
}

impl Builtin {
    /// Checks `obj` against the kind's type; `Err` names the field.
    pub fn validate(&self, obj: &Value) -> Result<(), String> {
        self.validate.map_or(Ok(()), |v| v(obj, Strictness::Strict))
    }
}

/// Checks the pod template of a workload under a removed version against
/// the current pod template type (types only: the old versions had fields
/// the current one dropped). The template sits where the current version
/// has it.
pub fn validate_removed(obj: &Value, kind: &str) -> Result<(), String> {
    let (template, path) = match kind {
        "CronJob" => (obj.pointer("/spec/jobTemplate/spec/template"), "spec.jobTemplate.spec.template"),
        _ => (obj.pointer("/spec/template"), "spec.template"),
    };
    if let Some(meta) = obj.get("metadata") {
        typed_at::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(meta, Strictness::Types, "metadata")?;
    }
    match template {
        Some(t) => typed_at::<k8s_openapi::api::core::v1::PodTemplateSpec>(t, Strictness::Types, path),
        None => Err(format!("field {path}: missing: a {kind} needs a pod template")),
    }
}

fn typed<T: DeserializeOwned>(obj: &Value, strictness: Strictness) -> Result<(), String> {
    typed_at::<T>(obj, strictness, "")
}

/// Deserializes `value` as `T`, naming the field (below `prefix`) that
/// does not fit, or the fields `T` does not have.
fn typed_at<T: DeserializeOwned>(value: &Value, strictness: Strictness, prefix: &str) -> Result<(), String> {
    let join = |p: String| -> String {
        if p == "." || p.is_empty() {
            if prefix.is_empty() { "the object".to_string() } else { prefix.to_string() }
        } else if prefix.is_empty() || p.starts_with('[') {
            format!("{prefix}{p}")
        } else {
            format!("{prefix}.{p}")
        }
    };
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    // The callback is passed as a trait object: as a closure its type would
    // depend on T, and every kind would instantiate the whole k8s-openapi
    // deserializer tree again (60% of the host crate's code, measured).
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(dotted(&path));
    let note: &mut dyn FnMut(serde_ignored::Path<'_>) = &mut note;
    let result: Result<T, _> = serde_ignored::deserialize(serde_path_to_error::Deserializer::new(value, &mut track), note);
    if let Err(e) = result {
        return Err(format!("field {}: {e}", join(track.path().to_string())));
    }
    if strictness == Strictness::Strict && !unknown.is_empty() {
        let fields: Vec<String> = unknown.into_iter().map(join).collect();
        return Err(format!(
            "unknown field{} {} (the API server refuses fields its type does not have)",
            if fields.len() == 1 { "" } else { "s" },
            fields.join(", ")
        ));
    }
    Ok(())
}

/// `spec.containers[0].securityContext.x`, the form path_to_error writes.
fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", dotted(parent)),
        Path::Map { parent, key } => match dotted(parent) {
            p if p.is_empty() => key.clone(),
            p => format!("{p}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(api_version: &str, kind: &str, obj: Value) -> Result<(), String> {
        match classify(api_version, kind) {
            Class::Builtin(b) => b.validate(&obj),
            other => panic!("{other:?}"),
        }
    }

    fn pod(security_context: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "x", "securityContext": security_context}]}})
    }

    #[test]
    fn wrong_types_are_refused_naming_the_field() {
        let e = check("v1", "Pod", pod(json!({"privileged": "true"}))).unwrap_err();
        assert!(e.contains("spec.containers[0].securityContext.privileged") && e.contains("boolean"), "{e}");
        let e = check("v1", "Pod", pod(json!({"runAsUser": "0"}))).unwrap_err();
        assert!(e.contains("securityContext.runAsUser"), "{e}");
        let e = check("v1", "Pod", pod(json!([]))).unwrap_err();
        assert!(e.contains("spec.containers[0].securityContext"), "{e}");
        let e = check("v1", "Pod", json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "x"}}))
            .unwrap_err();
        assert!(e.contains("spec.containers"), "{e}");
        check("v1", "Pod", pod(json!({"privileged": true, "runAsUser": 0}))).unwrap();
    }

    #[test]
    fn unknown_fields_are_refused_as_kubectl_apply_refuses_them() {
        let e = check("v1", "Pod", pod(json!({"privilegd": true}))).unwrap_err();
        assert!(e.contains("spec.containers[0].securityContext.privilegd"), "{e}");
    }

    #[test]
    fn kinds_and_versions() {
        assert!(matches!(classify("apps/v1", "Deployment"), Class::Builtin(b) if b.namespaced));
        assert!(matches!(classify("rbac.authorization.k8s.io/v1", "ClusterRole"), Class::Builtin(b) if !b.namespaced));
        let Class::Refused(e) = classify("v1", "Deployment") else { panic!() };
        assert!(e.contains("apps/v1"), "{e}");
        let Class::Refused(e) = classify("v1", "pod") else { panic!() };
        assert!(e.contains("did you mean Pod"), "{e}");
        let Class::Refused(e) = classify("apps/v2", "Deployment") else { panic!() };
        assert!(e.contains("apps/v1"), "{e}");
        assert!(matches!(classify("batch/v1beta1", "CronJob"), Class::Removed { current: "batch/v1", .. }));
        assert!(matches!(classify("extensions/v1beta1", "DaemonSet"), Class::Removed { current: "apps/v1", .. }));
        assert!(matches!(classify("example.com/v1", "Widget"), Class::Custom));
        assert!(matches!(classify("example.com/v1", "Deployment"), Class::Custom));
    }

    #[test]
    fn removed_versions_check_their_pod_template() {
        let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "securityContext": {"privileged": "yes"}}]}}}}}});
        let e = validate_removed(&cj, "CronJob").unwrap_err();
        assert!(e.contains("spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"), "{e}");
    }
}
