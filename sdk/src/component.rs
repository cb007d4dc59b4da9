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
    /// A command line from `of` with flags its environment sets (etcd's
    /// `ETCD_*` variables), naming those variables.
    Env { vars: Vec<String>, of: Box<ArgsSource> },
}

impl std::fmt::Display for ArgsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgsSource::Process => f.write_str("running process"),
            ArgsSource::Manifest(p) => write!(f, "static pod manifest {p}"),
            ArgsSource::MirrorPod { pod, node } => write!(f, "mirror pod {pod} (node {node})"),
            ArgsSource::ConfigFile { path, of } => write!(f, "{of}, and the config file {path} it names"),
            ArgsSource::Env { vars, of } => write!(f, "{of}, with its environment ({})", vars.join(", ")),
        }
    }
}

/// What a component was started with, as far as its source shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launch {
    /// The argument vector, argv[0] first. From a pod spec: `command`
    /// followed by `args`, with `$(VAR)` references expanded as the kubelet
    /// expands them.
    pub argv: Vec<String>,
    /// The environment, where the source shows it (a pod spec's `env`, in
    /// order; a later entry of the same name wins). `None` for a running
    /// process: its environment is not part of the process table (a plugin
    /// that needs it asks `process-env`).
    pub env: Option<ContainerEnv>,
}

/// A container's environment as its pod spec declares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerEnv {
    /// `env` entries in order: the name and its value, `None` where the
    /// value is set when the container starts (`valueFrom`: a field of the
    /// pod, a ConfigMap or Secret key, a resource), which only the kubelet
    /// knows.
    pub vars: Vec<(String, Option<String>)>,
    /// Whether `envFrom` adds variables the spec does not list.
    pub env_from: bool,
    /// Variables with start-time values that `argv` refers to: the words
    /// that use them keep the reference as written (`$(POD_IP)`).
    pub unresolved: Vec<String>,
}

impl ContainerEnv {
    /// The value of a variable: `Some(None)` when it is set at start.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_deref())
    }

    /// What `$(name)` becomes when the kubelet expands it: `Ok(Some)` the
    /// value, `Ok(None)` kept as written (no such variable), `Err` a value
    /// only the kubelet knows (set at start, or possibly from `envFrom`).
    fn reference(&self, name: &str) -> Result<Option<String>, ()> {
        match self.get(name) {
            Some(Some(v)) => Ok(Some(v.to_string())),
            Some(None) => Err(()),
            None if self.env_from => Err(()),
            None => Ok(None),
        }
    }
}

/// The argv of component `name` (e.g. `etcd`), from the running process,
/// else from the container of that name in `manifest`. `Ok(None)` only when
/// the process table was read without the component and the manifest is
/// not found. When the processes cannot be seen (`unavailable`), the
/// manifest still tells what the kubelet runs; without one, the error
/// stands: "not seen" is not "not running".
pub fn component_args(host: &dyn Host, name: &str, manifest: &str) -> Result<Option<(Launch, ArgsSource)>, AccessError> {
    let unseen = match host.process_args(name) {
        Ok(procs) => match procs.into_iter().next() {
            Some(argv) => return Ok(Some((Launch { argv, env: None }, ArgsSource::Process))),
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
    let launch = manifest_launch(&bytes, name).map_err(|e| AccessError::Invalid(format!("{manifest}: {e}")))?;
    Ok(Some((launch, ArgsSource::Manifest(manifest.to_string()))))
}

/// The environment of a running process started from the node's static
/// pod manifest: when the manifest, expanded as the kubelet expands it,
/// gives exactly the process's argv, the kubelet started the process from
/// it, with its `env`. `None` for any other process.
pub fn manifest_env(host: &dyn Host, argv: &[String], name: &str, manifest: &str) -> Option<ContainerEnv> {
    let bytes = host.read_file(manifest).ok()?;
    manifest_launch(&bytes, name).ok().filter(|launch| launch.argv == argv).and_then(|launch| launch.env)
}

/// `command` followed by `args` of the container named `name` (or the only
/// container) of a static pod manifest.
pub fn manifest_argv(yaml: &[u8], name: &str) -> Result<Vec<String>, String> {
    manifest_launch(yaml, name).map(|l| l.argv)
}

/// The command line and environment of the container named `name` (or the
/// only container) of a static pod manifest.
pub fn manifest_launch(yaml: &[u8], name: &str) -> Result<Launch, String> {
    let pod: Value = crate::yaml::to_json(yaml).map_err(|e| format!("not valid YAML: {e}"))?;
    pod_launch(&pod, name)
}

/// `command` followed by `args` of the container named `name` (or the only
/// container) of a pod, from a manifest or from the API.
pub fn pod_argv(pod: &Value, name: &str) -> Result<Vec<String>, String> {
    pod_launch(pod, name).map(|l| l.argv)
}

/// The command line and environment of the container named `name` (or the
/// only container) of a pod, from a manifest or from the API, as the
/// kubelet starts it: `$(VAR)` in `command`, `args` and `env` values
/// replaced by the container's variable VAR, `$$` by `$`, and a reference
/// to a variable the container does not have kept as written.
pub fn pod_launch(pod: &Value, name: &str) -> Result<Launch, String> {
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
    let mut env = container_env(container, name)?;
    let mut unresolved = Vec::new();
    let argv = argv
        .iter()
        .map(|w| {
            expand(w, &mut |var| {
                env.reference(var).unwrap_or_else(|()| {
                    unresolved.push(var.to_string());
                    None
                })
            })
        })
        .collect();
    unresolved.sort();
    unresolved.dedup();
    env.unresolved = unresolved;
    Ok(Launch { argv, env: Some(env) })
}

/// A container's `env` list, each value expanded with the variables
/// before it, as the kubelet builds the environment.
fn container_env(container: &Value, name: &str) -> Result<ContainerEnv, String> {
    let mut env = ContainerEnv { env_from: !container["envFrom"].is_null(), ..ContainerEnv::default() };
    let entries = match &container["env"] {
        Value::Null => return Ok(env),
        Value::Array(a) => a,
        other => return Err(format!("container {name}: env is {other}, not a list")),
    };
    for (i, entry) in entries.iter().enumerate() {
        let var = match &entry["name"] {
            Value::String(n) if !n.is_empty() => n,
            Value::Null | Value::String(_) => return Err(format!("container {name}: env[{i}] has no name")),
            other => return Err(format!("container {name}: env[{i}] has name {other}, not a string (quote it)")),
        };
        let value = match (&entry["value"], &entry["valueFrom"]) {
            (Value::String(v), Value::Null) => {
                // A reference to a variable set at start makes this value
                // one only the kubelet knows too.
                let mut known = true;
                let value = expand(v, &mut |r| {
                    env.reference(r).unwrap_or_else(|()| {
                        known = false;
                        None
                    })
                });
                known.then_some(value)
            }
            (Value::Null, Value::Null) => Some(String::new()),
            (Value::Null, _) => None,
            (Value::String(_), _) => return Err(format!("container {name}: env {var} has both value and valueFrom")),
            (other, _) => return Err(format!("container {name}: env {var} has value {other}, not a string")),
        };
        env.vars.push((var.to_string(), value));
    }
    Ok(env)
}

/// Expands `$(VAR)` references in `input` the way the kubelet does for a
/// container's command, args and env values: `lookup` gives a variable's
/// value (`None`: keep the reference as written), `$$` is a literal `$`,
/// and a `$` that starts neither stays as it is.
pub fn expand(input: &str, lookup: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if after.is_empty() {
            // A trailing `$` is kept.
            out.push('$');
            rest = after;
        } else if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(') {
            match body.find(')') {
                Some(end) => {
                    let var = &body[..end];
                    match lookup(var) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(var);
                            out.push(')');
                        }
                    }
                    rest = &body[end + 1..];
                }
                // An unclosed reference is kept as written.
                None => {
                    out.push_str("$(");
                    rest = body;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
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
        let (launch, src) = component_args(&host, "etcd", "/m/etcd.yaml").unwrap().unwrap();
        assert_eq!(src, ArgsSource::Process);
        assert_eq!(parse(&launch.argv).get("data-dir"), Some("/data"));
        assert_eq!(launch.env, None, "the process table does not show environments");
        assert_eq!(manifest_env(&host, &launch.argv, "etcd", "/m/etcd.yaml"), None, "not started from the manifest");
        // Started from the manifest (the same argv): the manifest's env.
        let with_env = ETCD.to_string() + "    env: [{name: ETCD_AUTO_TLS, value: 'true'}]\n";
        let host = FakeHost::new().file("/m/etcd.yaml", 0o600, 0, 0, with_env);
        let argv = ["etcd".to_string(), "--data-dir=/var/lib/etcd".to_string()];
        assert_eq!(manifest_env(&host, &argv, "etcd", "/m/etcd.yaml").unwrap().get("ETCD_AUTO_TLS"), Some(Some("true")));
    }

    #[test]
    fn manifest_when_not_running() {
        let host = FakeHost::new().file("/m/etcd.yaml", 0o600, 0, 0, ETCD);
        let (launch, src) = component_args(&host, "etcd", "/m/etcd.yaml").unwrap().unwrap();
        assert_eq!(src, ArgsSource::Manifest("/m/etcd.yaml".into()));
        assert_eq!(parse(&launch.argv).get("data-dir"), Some("/var/lib/etcd"));
        assert_eq!(launch.env, Some(ContainerEnv::default()));
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

    /// The kubelet expands `$(VAR)` in a container's command and args
    /// with its variables before it starts it; `--authorization-mode=$(MODE)`
    /// with MODE=AlwaysAllow runs AlwaysAllow.
    #[test]
    fn command_and_args_are_expanded_as_the_kubelet_does() {
        let manifest = br#"spec:
  containers:
  - name: kube-apiserver
    command: [kube-apiserver, "--authorization-mode=$(MODE)", "--profiling=$(QUIET)"]
    args: ["--x=$$(MODE)", "--y=$(NONE)", "--z=$(MODE", "--w=a$b$", "--v=$(LATE)", "--u=$(IP)"]
    env:
    - name: MODE
      value: AlwaysAllow
    - name: QUIET
      value: "$(MODE)-ish"
    - name: IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: LATE
      value: "$(IP):6443"
"#;
        let launch = manifest_launch(manifest, "kube-apiserver").unwrap();
        assert_eq!(
            launch.argv,
            [
                "kube-apiserver",
                "--authorization-mode=AlwaysAllow",
                "--profiling=AlwaysAllow-ish",
                "--x=$(MODE)",
                "--y=$(NONE)",
                "--z=$(MODE",
                "--w=a$b$",
                "--v=$(LATE)",
                "--u=$(IP)",
            ]
        );
        let env = launch.env.unwrap();
        assert_eq!(env.get("IP"), Some(None), "set at start");
        assert_eq!(env.get("LATE"), Some(None), "made from a value set at start");
        assert_eq!(env.get("NONE"), None);
        assert_eq!(env.unresolved, ["IP", "LATE"]);
        let odd = b"spec:\n  containers:\n  - name: etcd\n    command: [etcd]\n    env: [{name: A, value: 1}]\n";
        assert!(manifest_launch(odd, "etcd").unwrap_err().contains("env A has value 1, not a string"));
        let odd = b"spec:\n  containers:\n  - name: etcd\n    command: [etcd]\n    env: [{name: off, value: x}]\n";
        assert!(manifest_launch(odd, "etcd").unwrap_err().contains("env[0] has name false, not a string"));
    }

    #[test]
    fn expansion_follows_the_kubelet_on_odd_input() {
        let mut none = |_: &str| None;
        for same in ["", "$", "$$$", "a$", "$(", "$(A", "$x$(", "\u{e9}$\u{e9}"] {
            let expected = same.replace("$$", "$");
            assert_eq!(expand(same, &mut none), expected, "{same:?}");
        }
        let mut one = |v: &str| (v == "A").then(|| "1".to_string());
        assert_eq!(expand("$(A)$(A)$$(A)$(B)$(A$(A))", &mut one), "11$(A)$(B)$(A$(A))");
    }

    #[test]
    fn broken_manifest_is_an_error_naming_it() {
        let host = FakeHost::new().file("/m/etcd.yaml", 0o600, 0, 0, "spec: [");
        let err = component_args(&host, "etcd", "/m/etcd.yaml").unwrap_err().to_string();
        assert!(err.contains("/m/etcd.yaml"), "{err}");
    }
}
