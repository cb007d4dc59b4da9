//! The configuration a kubelet really runs with: the file named by
//! `--config`, merged with the drop-ins of `--config-dir`, overridden by
//! command-line flags, with the kubelet's own defaults for what none of them
//! sets. `0s` durations in a config file are unset values (kubeadm writes
//! them), not zero.

use serde_json::Value;

use crate::args::Args;
use crate::{AccessError, Host};

/// Boolean kubelet flags (they never take the next word as a value).
pub const BOOL_FLAGS: &[&str] = &[
    "anonymous-auth",
    "make-iptables-util-chains",
    "rotate-certificates",
    "rotate-server-certificates",
    "seccomp-default",
    "protect-kernel-defaults",
    "fail-swap-on",
    "serialize-image-pulls",
];

/// Kubelet flags that take one word, although other components take a
/// list under the same name ([`crate::args::LIST_FLAGS`]).
pub const SCALAR_FLAGS: &[&str] = &["authorization-mode"];

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(String),
    File(String),
    Default,
    Unset,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag --{flag}"),
            Origin::File(path) => write!(f, "config file {path}"),
            Origin::Default => f.write_str("kubelet default"),
            Origin::Unset => f.write_str("unset"),
        }
    }
}

/// One setting: its place in KubeletConfiguration, its flag, and the
/// kubelet's defaults with and without a config file (the flag defaults
/// and the v1beta1 config defaults differ: anonymous auth, authorization
/// mode, read-only port).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Dotted path in KubeletConfiguration (`authentication.anonymous.enabled`).
    pub path: &'static str,
    pub flag: &'static str,
    /// Default when the kubelet runs with a config file.
    pub file_default: Option<&'static str>,
    /// Default when it runs on flags alone.
    pub flag_default: Option<&'static str>,
}

/// Where the kubelet reads static pods from: `staticPodPath`, or
/// `--pod-manifest-path`; unset by default (no static pods).
pub const STATIC_PODS: Field = Field { path: "staticPodPath", flag: "pod-manifest-path", file_default: None, flag_default: None };

/// The kubelet's effective configuration on one node.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    pub args: Args,
    /// The `--config` file, when there is one.
    pub config_file: Option<String>,
    /// Files merged, in order (config file, then drop-ins).
    pub files: Vec<String>,
    merged: Value,
}

/// A value with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: Option<String>,
    pub origin: Origin,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(a.iter().filter_map(scalar).collect::<Vec<_>>().join(",")),
        Value::Object(m) => Some(m.iter().map(|(k, v)| format!("{k}={}", scalar(v).unwrap_or_default())).collect::<Vec<_>>().join(",")),
    }
}

pub use rampart_values::go_duration;

/// A Go duration that is zero (`0s`, `0`, `0m0s`): unset in a config file.
fn zero_duration(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '0' || c.is_ascii_alphabetic()) && s.starts_with('0')
}

fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A config file's settings: a mapping. The kubelet refuses to start with
/// an empty file or one that holds a list or a scalar; merged as it is, such
/// a file would wipe out the settings before it (or leave every one at its
/// default), and the kubelet's defaults would be judged as what it runs with.
fn settings(v: Value) -> Result<Value, &'static str> {
    match v {
        Value::Object(_) => Ok(v),
        Value::Null => Err("is empty; the kubelet does not start with an empty config file, so what it runs with cannot be told"),
        _ => Err("is not a mapping of settings; the kubelet does not start with it, so what it runs with cannot be told"),
    }
}

/// The drop-in files of `--config-dir` in the order the kubelet merges
/// them: it walks the directory tree (Go's `filepath.WalkDir`: depth first,
/// each directory's entries by name, symlinks not descended) and takes every
/// non-directory named `*.conf`. A directory that is not there is an error:
/// the kubelet does not start with one, so a running kubelet had it, and
/// what it merged from it can no longer be told.
fn drop_ins(host: &dyn Host, dir: &str) -> Result<Vec<String>, String> {
    let root = match dir.trim_end_matches('/') {
        "" => "/",
        r => r,
    };
    let mut files = Vec::new();
    walk_drop_ins(host, root, root, 0, &mut files)?;
    Ok(files)
}

fn walk_drop_ins(host: &dyn Host, root: &str, dir: &str, depth: usize, files: &mut Vec<String>) -> Result<(), String> {
    if depth > 32 {
        return Err(format!("kubelet --config-dir {root}: {dir} is nested too deep to follow"));
    }
    let mut entries = host.list_dir(dir).map_err(|e| match e {
        AccessError::NotFound(_) if dir == root => format!(
            "kubelet --config-dir {root} does not exist; the kubelet does not start without it, so the drop-ins it merged cannot be told"
        ),
        e => format!("kubelet --config-dir {root}: {dir}: {}", e.reason()),
    })?;
    // Entries of one directory by name, as Go's ReadDir sorts them.
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for e in entries {
        if e.file_type == crate::FileType::Directory {
            walk_drop_ins(host, root, &e.path, depth + 1, files)?;
        } else if e.path.ends_with(".conf") {
            files.push(e.path);
        }
    }
    Ok(())
}

impl KubeletConfig {
    /// Reads the kubelet's argv and config files from the node. `Ok(None)`
    /// when no kubelet runs there.
    pub fn load(host: &dyn Host) -> Result<Option<KubeletConfig>, String> {
        let argv = match host.process_args("kubelet").map_err(|e| e.reason())?.into_iter().next() {
            Some(a) => a,
            None => return Ok(None),
        };
        let args = Args::parse_with(&argv, BOOL_FLAGS, SCALAR_FLAGS);
        let mut merged = Value::Object(Default::default());
        let mut files = Vec::new();
        let config_file = args.get("config").map(str::to_string);
        if let Some(path) = &config_file {
            let bytes = host.read_file(path).map_err(|e| format!("kubelet --config {path}: {}", e.reason()))?;
            let v: Value = crate::yaml::to_json(&bytes).map_err(|e| format!("kubelet --config {path}: not valid YAML: {e}"))?;
            merge(&mut merged, settings(v).map_err(|what| format!("kubelet --config {path}: {what}"))?);
            files.push(path.clone());
        }
        if let Some(dir) = args.get("config-dir") {
            for path in drop_ins(host, dir)? {
                let bytes = host.read_file(&path).map_err(|e| format!("kubelet drop-in {path}: {}", e.reason()))?;
                let v: Value = crate::yaml::to_json(&bytes).map_err(|e| format!("kubelet drop-in {path}: not valid YAML: {e}"))?;
                merge(&mut merged, settings(v).map_err(|what| format!("kubelet drop-in {path}: {what}"))?);
                files.push(path);
            }
        }
        Ok(Some(KubeletConfig { args, config_file, files, merged }))
    }

    /// Builds one from parts (tests, and other sources of the same facts).
    pub fn from_parts(argv: &[&str], config: Option<(&str, Value)>) -> KubeletConfig {
        let args = Args::parse_with(argv, BOOL_FLAGS, SCALAR_FLAGS);
        let (config_file, merged) = match config {
            Some((p, v)) => (Some(p.to_string()), v),
            None => (None, Value::Object(Default::default())),
        };
        KubeletConfig { args, files: config_file.iter().cloned().collect(), config_file, merged }
    }

    /// The effective value of a setting: flag, else config files, else the
    /// kubelet's default.
    pub fn get(&self, field: &Field) -> Setting {
        if let Some(v) = self.args.get(field.flag) {
            return Setting { value: Some(v.to_string()), origin: Origin::Flag(field.flag.to_string()) };
        }
        let mut node = &self.merged;
        for part in field.path.split('.') {
            node = &node[part];
        }
        if let Some(v) = scalar(node).filter(|v| !zero_duration(v)) {
            let file = self.files.last().cloned().unwrap_or_default();
            return Setting { value: Some(v), origin: Origin::File(file) };
        }
        let default = if self.config_file.is_some() { field.file_default } else { field.flag_default };
        match default {
            Some(d) => Setting { value: Some(d.to_string()), origin: Origin::Default },
            None => Setting { value: None, origin: Origin::Unset },
        }
    }

    /// The value a setting is written with, literally: the flag, else the
    /// config files, `0s` included; `Origin::Unset` when neither sets it.
    /// For a benchmark that asks for a setting to be configured, where the
    /// kubelet's default would not do (the STIG's idle timeout).
    ///
    /// ```
    /// use rampart_sdk::kubelet::{Field, KubeletConfig, Origin};
    /// let idle = Field { path: "streamingConnectionIdleTimeout", flag: "streaming-connection-idle-timeout",
    ///     file_default: Some("4h0m0s"), flag_default: Some("4h0m0s") };
    /// let k = KubeletConfig::from_parts(&["kubelet"], Some(("/c.yaml", serde_json::json!({"streamingConnectionIdleTimeout": "0s"}))));
    /// assert_eq!(k.written(&idle).value.as_deref(), Some("0s"));
    /// assert_eq!(k.get(&idle).value.as_deref(), Some("4h0m0s"));
    /// let none = KubeletConfig::from_parts(&["kubelet"], Some(("/c.yaml", serde_json::json!({}))));
    /// assert_eq!(none.written(&idle).origin, Origin::Unset);
    /// ```
    pub fn written(&self, field: &Field) -> Setting {
        if let Some(v) = self.args.get(field.flag) {
            return Setting { value: Some(v.to_string()), origin: Origin::Flag(field.flag.to_string()) };
        }
        let mut node = &self.merged;
        for part in field.path.split('.') {
            node = &node[part];
        }
        match scalar(node) {
            Some(v) => Setting { value: Some(v), origin: Origin::File(self.files.last().cloned().unwrap_or_default()) },
            None => Setting { value: None, origin: Origin::Unset },
        }
    }

    /// A feature gate: the `--feature-gates` flag, else `featureGates` in
    /// the config, else `default`; the value `"true"` or `"false"`. The flag
    /// is read as the kubelet reads it ([`crate::args::gates`]: every
    /// occurrence, a later item wins, `T` and `0` are booleans too). `Err`
    /// says why the kubelet would refuse the setting at start: an item that
    /// is not `name=bool`, or a config value that is not a boolean.
    pub fn feature_gate(&self, name: &str, default: bool) -> Result<Setting, String> {
        let flagged = self.args.gates("feature-gates").map_err(|why| format!("{why}, so the kubelet would not start with it"))?;
        if let Some((_, on)) = flagged.iter().find(|(gate, _)| gate == name) {
            return Ok(Setting { value: Some(on.to_string()), origin: Origin::Flag("feature-gates".into()) });
        }
        let file = || self.files.last().cloned().unwrap_or_default();
        match &self.merged["featureGates"][name] {
            Value::Null => Ok(Setting { value: Some(default.to_string()), origin: Origin::Default }),
            Value::Bool(on) => Ok(Setting { value: Some(on.to_string()), origin: Origin::File(file()) }),
            other => Err(format!("featureGates.{name} in {} is {other}, not a boolean, so the kubelet would not start with it", file())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeHost;

    const ANON: Field =
        Field { path: "authentication.anonymous.enabled", flag: "anonymous-auth", file_default: Some("false"), flag_default: Some("true") };
    const IDLE: Field = Field {
        path: "streamingConnectionIdleTimeout",
        flag: "streaming-connection-idle-timeout",
        file_default: Some("4h0m0s"),
        flag_default: Some("4h0m0s"),
    };

    #[test]
    fn flags_override_drop_ins_override_the_file() {
        let host = FakeHost::new()
            .file("/var/lib/kubelet/config.yaml", 0o644, 0, 0, "authentication: {anonymous: {enabled: false}}\nreadOnlyPort: 0\n")
            .dir("/etc/kubelet.d", 0o755, 0, 0)
            .file("/etc/kubelet.d/10-a.conf", 0o644, 0, 0, "readOnlyPort: 10255\n")
            .process(&[
                "/usr/bin/kubelet",
                "--config=/var/lib/kubelet/config.yaml",
                "--config-dir=/etc/kubelet.d",
                "--anonymous-auth=true",
            ]);
        let k = KubeletConfig::load(&host).unwrap().unwrap();
        assert_eq!(k.get(&ANON), Setting { value: Some("true".into()), origin: Origin::Flag("anonymous-auth".into()) });
        let port = Field { path: "readOnlyPort", flag: "read-only-port", file_default: Some("0"), flag_default: Some("10255") };
        assert_eq!(k.get(&port), Setting { value: Some("10255".into()), origin: Origin::File("/etc/kubelet.d/10-a.conf".into()) });
    }

    #[test]
    fn zero_durations_are_unset_and_defaults_depend_on_a_config_file() {
        let k = KubeletConfig::from_parts(
            &["kubelet", "--config=/c.yaml"],
            Some(("/c.yaml", serde_json::json!({"streamingConnectionIdleTimeout": "0s"}))),
        );
        assert_eq!(k.get(&IDLE).origin, Origin::Default);
        assert_eq!(k.get(&ANON).value.as_deref(), Some("false"));
        let flags_only = KubeletConfig::from_parts(&["kubelet"], None);
        assert_eq!(flags_only.get(&ANON).value.as_deref(), Some("true"), "without a config file the flag default applies");
    }

    #[test]
    fn feature_gates_from_flag_or_file() {
        let k = KubeletConfig::from_parts(
            &["kubelet", "--feature-gates=A=true,RotateKubeletServerCertificate=false"],
            Some(("/c", serde_json::json!({"featureGates": {"RotateKubeletServerCertificate": true}}))),
        );
        assert_eq!(k.feature_gate("RotateKubeletServerCertificate", true).unwrap().value.as_deref(), Some("false"));
        let k = KubeletConfig::from_parts(
            &["kubelet"],
            Some(("/c", serde_json::json!({"featureGates": {"RotateKubeletServerCertificate": false}}))),
        );
        assert_eq!(k.feature_gate("RotateKubeletServerCertificate", true).unwrap().value.as_deref(), Some("false"));
        assert_eq!(k.feature_gate("Other", true).unwrap().origin, Origin::Default);
    }

    /// Regression: only the first item for a gate in the last
    /// `--feature-gates` was read, compared as written, so `A=0`, `A=f`, a
    /// later `A=false` or a second `--feature-gates` went unseen.
    #[test]
    fn feature_gates_are_read_as_the_kubelet_reads_them() {
        let gate = |argv: &[&str], file: serde_json::Value| {
            let mut full = vec!["kubelet"];
            full.extend_from_slice(argv);
            KubeletConfig::from_parts(&full, Some(("/c", serde_json::json!({ "featureGates": file }))))
                .feature_gate("RotateKubeletServerCertificate", true)
                .map(|s| s.value.unwrap())
        };
        let off = Ok("false".to_string());
        let on = Ok("true".to_string());
        let empty = serde_json::json!({});
        assert_eq!(gate(&["--feature-gates=RotateKubeletServerCertificate=0"], empty.clone()), off);
        assert_eq!(gate(&["--feature-gates= RotateKubeletServerCertificate = f"], empty.clone()), off);
        assert_eq!(gate(&["--feature-gates=RotateKubeletServerCertificate=true,RotateKubeletServerCertificate=false"], empty.clone()), off);
        assert_eq!(gate(&["--feature-gates=RotateKubeletServerCertificate=false", "--feature-gates=A=true"], empty.clone()), off);
        assert_eq!(gate(&["--feature-gates=A=true"], serde_json::json!({"RotateKubeletServerCertificate": true})), on);
        assert!(gate(&["--feature-gates=RotateKubeletServerCertificate"], empty.clone()).is_err());
        assert!(gate(&[], serde_json::json!({"RotateKubeletServerCertificate": "off"})).is_err());
    }

    /// Regression: a drop-in in a subdirectory of --config-dir was not
    /// merged (the kubelet walks the tree), and a --config-dir that was not
    /// there counted as "no drop-ins".
    #[test]
    fn drop_ins_are_walked_like_the_kubelet_and_a_missing_dir_is_an_error() {
        let argv = ["/usr/bin/kubelet", "--config-dir=/etc/kubelet.d"];
        let host = FakeHost::new()
            .dir("/etc/kubelet.d", 0o755, 0, 0)
            .file("/etc/kubelet.d/10-a.conf", 0o644, 0, 0, "readOnlyPort: 0\n")
            .dir("/etc/kubelet.d/20-site", 0o755, 0, 0)
            .file("/etc/kubelet.d/20-site/50-port.conf", 0o644, 0, 0, "readOnlyPort: 10255\n")
            .file("/etc/kubelet.d/20-site/notes.txt", 0o644, 0, 0, "readOnlyPort: 1\n")
            .process(&argv);
        let k = KubeletConfig::load(&host).unwrap().unwrap();
        assert_eq!(k.files, ["/etc/kubelet.d/10-a.conf", "/etc/kubelet.d/20-site/50-port.conf"]);
        let port = Field { path: "readOnlyPort", flag: "read-only-port", file_default: Some("0"), flag_default: Some("10255") };
        assert_eq!(k.get(&port).value.as_deref(), Some("10255"));
        let err = KubeletConfig::load(&FakeHost::new().process(&argv)).unwrap_err();
        assert!(err.contains("--config-dir /etc/kubelet.d does not exist"), "{err}");
    }

    /// Regression (found reading what the `kubelet_config` fuzz target drives): an empty
    /// config file, or one that is a list or a scalar, was merged as it was,
    /// replacing every setting read so far, and the kubelet's defaults were
    /// then judged as its configuration (anonymous auth off: a pass).
    #[test]
    fn an_empty_or_non_mapping_config_file_is_an_error() {
        for (text, want) in [("", "is empty"), ("# nothing\n", "is empty"), ("- a\n", "not a mapping"), ("true\n", "not a mapping")] {
            let host = FakeHost::new()
                .file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, text)
                .process(&["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"]);
            let err = KubeletConfig::load(&host).unwrap_err();
            assert!(err.contains("kubelet --config /var/lib/kubelet/config.yaml") && err.contains(want), "{err}");
            let drop_in = FakeHost::new()
                .file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, "authentication: {anonymous: {enabled: true}}\n")
                .dir("/etc/kubelet.d", 0o755, 0, 0)
                .file("/etc/kubelet.d/10-x.conf", 0o600, 0, 0, text)
                .process(&["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--config-dir=/etc/kubelet.d"]);
            let err = KubeletConfig::load(&drop_in).unwrap_err();
            assert!(err.contains("kubelet drop-in /etc/kubelet.d/10-x.conf") && err.contains(want), "{err}");
        }
    }

    /// The kubelet reads its config with YAML 1.1 rules: `yes` is true.
    #[test]
    fn yaml_1_1_booleans_in_the_config_file() {
        let host = FakeHost::new()
            .file("/c.yaml", 0o600, 0, 0, "authentication:\n  anonymous:\n    enabled: yes\n")
            .process(&["/usr/bin/kubelet", "--config=/c.yaml"]);
        let k = KubeletConfig::load(&host).unwrap().unwrap();
        assert_eq!(k.get(&ANON).value.as_deref(), Some("true"));
    }

    #[test]
    fn no_kubelet_no_config() {
        assert!(KubeletConfig::load(&FakeHost::new()).unwrap().is_none());
    }
}
