//! {{name}}: Pods whose containers use an image without a tag or with
//! `:latest` fail `image-tag`.

wit_bindgen::generate!({ path: "wit", world: "control" });

use rampart::plugin::cluster;
use rampart::plugin::report;
use rampart::plugin::types::{AccessError, Capability, CheckInfo, Finding, KindRef, ObjectRef, Severity, Status};

const CHECK: &str = "image-tag";

fn finding(status: Status, message: String, object: Option<ObjectRef>) -> Finding {
    Finding { check: CHECK.into(), status, message, object, path: None, evidence: Vec::new() }
}

/// The tag of an image reference: after the last `:` following the last `/`.
fn tag(image: &str) -> Option<&str> {
    let name = &image[image.rfind('/').map_or(0, |i| i + 1)..];
    name.rsplit_once(':').map(|(_, t)| t)
}

struct Plugin;

impl Guest for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "{{name}}".into(),
            version: "0.1.0".into(),
            checks: vec![CheckInfo {
                id: CHECK.into(),
                title: "Container images have a tag other than latest".into(),
                description: "An image without a tag is :latest, which moves.".into(),
                remediation: "Use a release tag or a digest.".into(),
                severity: Severity::Medium,
                tags: Vec::new(),
            }],
            capabilities: vec![Capability::ClusterList(KindRef { api_version: "v1".into(), kind: "Pod".into() })],
            settings: Vec::new(),
        }
    }

    fn evaluate(_settings: Vec<(String, String)>) -> Result<(), String> {
        let mut out = Vec::new();
        match cluster::list_objects("v1", "Pod", None) {
            // Could not see the Pods: an error verdict, never a pass.
            Err(e) => {
                let why = match e {
                    AccessError::Denied(m) | AccessError::NotFound(m) | AccessError::Unavailable(m) | AccessError::Invalid(m) => m,
                };
                out.push(finding(Status::Error, format!("cannot list Pods: {why}"), None));
            }
            Ok(pods) => {
                for pod in pods {
                    let Ok(json) = serde_json::from_str::<serde_json::Value>(&pod.json) else {
                        out.push(finding(Status::Error, "the object is not valid JSON".into(), Some(pod.ref_)));
                        continue;
                    };
                    for list in ["containers", "initContainers"] {
                        for c in json["spec"][list].as_array().into_iter().flatten() {
                            let name = c["name"].as_str().unwrap_or("<unnamed>");
                            let (status, message) = match c["image"].as_str() {
                                None => (Status::Error, format!("container {name}: no image")),
                                Some(image) if image.contains('@') => (Status::Pass, format!("container {name}: {image} is pinned by digest")),
                                Some(image) => match tag(image) {
                                    Some(t) if t != "latest" => (Status::Pass, format!("container {name}: {image} has tag {t}")),
                                    _ => (Status::Fail, format!("container {name}: {image} runs latest")),
                                },
                            };
                            out.push(finding(status, message, Some(pod.ref_.clone())));
                        }
                    }
                }
            }
        }
        report::emit_batch(&out)
    }
}

export!(Plugin);
