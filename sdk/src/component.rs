//! The command line a control-plane component runs with: the running
//! process's argv when it runs, else the `command` + `args` of its static
//! pod manifest.

use serde_json::Value;

use crate::args::Args;
use crate::{AccessError, Host};

/// Where a component's command line was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsSource {
    /// `/proc/<pid>/cmdline` of a running process.
    Process,
    /// The static pod manifest at this path.
    Manifest(String),
    /// The mirror pod the kubelet publishes for a static pod
    /// (`kube-system/kube-apiserver-cp-1`), on this node: what a scan without
    /// node access sees of the control plane.
    MirrorPod { pod: String, node: String },
    /// A command line from `of` and the config file it names, which
    /// replaces some of its flags (etcd's `--config-file`).
    ConfigFile { path: String, of: Box<ArgsSource> },
}

impl std::fmt::Display for ArgsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgsSource::Process => f.write_str("running process"),
            ArgsSource::Manifest(p) => write!(f, "static pod manifest {p}"),
            ArgsSource::MirrorPod { pod, node } => write!(f, "mirror pod {pod} (node {node})"),
            ArgsSource::ConfigFile { path, of } => write!(f, "{of}, and the config file {path} it names"),
        }
    }
}

/// The argv of component `name` (e.g. `etcd`), from the running process,
/// else from the container of that name in `manifest`. `Ok(None)` only when
/// the process table was read without the component and the manifest is
/// not found. When the processes cannot be seen (`unavailable`), the
/// manifest still tells what the kubelet runs; without one, the error
/// stands: "not seen" is not "not running".
pub fn component_args(host: &dyn Host, name: &str, manifest: &str) -> Result<Option<(Vec<String>, ArgsSource)>, AccessError> {
    let unseen = match host.process_args(name) {
        Ok(procs) => match procs.into_iter().next() {
            Some(argv) => return Ok(Some((argv, ArgsSource::Process))),
            None => None,
        },
        Err(e @ AccessError::Unavailable(_)) => Some(e),
        Err(e) => return Err(e),
    };
    let bytes = match host.read_file(manifest) {
        Ok(b) => b,
        Err(AccessError::NotFound(_)) => return unseen.map_or(Ok(None), Err),
        Err(e) => return Err(e),
    };
    let argv = manifest_argv(&bytes, name).map_err(|e| AccessError::Invalid(format!("{manifest}: {e}")))?;
    Ok(Some((argv, ArgsSource::Manifest(manifest.to_string()))))
}

/// `command` followed by `args` of the container named `name` (or the only
/// container) of a static pod manifest.
pub fn manifest_argv(yaml: &[u8], name: &str) -> Result<Vec<String>, String> {
    let pod: Value = crate::yaml::to_json(yaml).map_err(|e| format!("not valid YAML: {e}"))?;
    pod_argv(&pod, name)
}

/// `command` followed by `args` of the container named `name` (or the only
/// container) of a pod, from a manifest or from the API.
pub fn pod_argv(pod: &Value, name: &str) -> Result<Vec<String>, String> {
    let containers = pod["spec"]["containers"].as_array().ok_or("no spec.containers")?;
    let container = containers
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .or_else(|| (containers.len() == 1).then(|| &containers[0]))
        .ok_or_else(|| format!("no container named {name}"))?;
    // `command` and `args` are lists of strings: a word that is not one (an
    // unquoted `6443`, `yes` or `false`) makes the kubelet refuse the pod.
    // Dropping it instead would shift the words after it (`--secure-port
    // 6443` read as a bare flag).
    let words = |field: &str| -> Result<Vec<String>, String> {
        match &container[field] {
            Value::Null => Ok(Vec::new()),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    w.as_str().map(str::to_string).ok_or_else(|| {
                        format!("container {name}: {field}[{i}] is {w}, not a string: the kubelet does not run such a pod (quote it)")
                    })
                })
                .collect(),
            other => Err(format!("container {name}: {field} is {other}, not a list of strings")),
        }
    };
    let mut argv = words("command")?;
    argv.extend(words("args")?);
    if argv.is_empty() {
        return Err(format!("container {name} has no command or args"));
    }
    Ok(argv)
}

/// Parses the argv found by [`component_args`].
pub fn parse(argv: &[String]) -> Args {
    Args::parse(argv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeHost;

    const ETCD: &str =
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: etcd\n    command:\n    - etcd\n    - --data-dir=/var/lib/etcd\n";

    #[test]
    fn process_wins_over_manifest() {
        let host = FakeHost::new().file("/m/etcd.yaml", 0o600, 0, 0, ETCD).process(&["etcd", "--data-dir=/data"]);
        let (argv, src) = component_args(&host, "etcd", "/m/etcd.yaml").unwrap().unwrap();
        assert_eq!(src, ArgsSource::Process);
        assert_eq!(parse(&argv).get("data-dir"), Some("/data"));
    }

    #[test]
    fn manifest_when_not_running() {
        let host = FakeHost::new().file("/m/etcd.yaml", 0o600, 0, 0, ETCD);
        let (argv, src) = component_args(&host, "etcd", "/m/etcd.yaml").unwrap().unwrap();
        assert_eq!(src, ArgsSource::Manifest("/m/etcd.yaml".into()));
        assert_eq!(parse(&argv).get("data-dir"), Some("/var/lib/etcd"));
        assert!(component_args(&FakeHost::new(), "etcd", "/m/etcd.yaml").unwrap().is_none());
    }

    /// Processes that cannot be seen: the manifest still says what runs;
    /// without one, "cannot tell" stays an error, never "does not run".
    #[test]
    fn unseen_processes_fall_back_to_the_manifest_and_never_to_none() {
        let hidden = FakeHost::new().processes_unreadable("hidepid=2");
        let err = component_args(&hidden, "etcd", "/m/etcd.yaml").unwrap_err();
        assert!(matches!(err, AccessError::Unavailable(ref m) if m.contains("hidepid=2")), "{err:?}");
        let with_manifest = hidden.file("/m/etcd.yaml", 0o600, 0, 0, ETCD);
        let (_, src) = component_args(&with_manifest, "etcd", "/m/etcd.yaml").unwrap().unwrap();
        assert_eq!(src, ArgsSource::Manifest("/m/etcd.yaml".into()));
    }

    /// Regression (found reading what the `static_pod` fuzz target drives): a word of
    /// `command` or `args` that YAML reads as a number or boolean was
    /// dropped, so `--secure-port 6443` became a bare flag. The kubelet
    /// refuses such a pod; it is an error naming the word.
    #[test]
    fn a_word_that_is_not_a_string_is_an_error() {
        let manifest = b"spec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver, --secure-port, 6443]\n";
        let err = manifest_argv(manifest, "kube-apiserver").unwrap_err();
        assert!(err.contains("command[2] is 6443"), "{err}");
        let manifest = b"spec:\n  containers:\n  - name: etcd\n    command: [etcd]\n    args: [--client-cert-auth, yes]\n";
        let err = manifest_argv(manifest, "etcd").unwrap_err();
        assert!(err.contains("args[1] is true"), "{err}");
        let manifest = b"spec:\n  containers:\n  - name: etcd\n    command: etcd --data-dir=/x\n";
        assert!(manifest_argv(manifest, "etcd").unwrap_err().contains("not a list of strings"));
        let ok = b"spec:\n  containers:\n  - name: etcd\n    command: [etcd, --data-dir=/x]\n    args: ['6443', \"yes\"]\n";
        assert_eq!(manifest_argv(ok, "etcd").unwrap(), ["etcd", "--data-dir=/x", "6443", "yes"]);
    }

    #[test]
    fn broken_manifest_is_an_error_naming_it() {
        let host = FakeHost::new().file("/m/etcd.yaml", 0o600, 0, 0, "spec: [");
        let err = component_args(&host, "etcd", "/m/etcd.yaml").unwrap_err().to_string();
        assert!(err.contains("/m/etcd.yaml"), "{err}");
    }
}
