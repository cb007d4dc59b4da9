//! Checks on a component's command-line flags, written as data: each check
//! is a list of conditions on flags, judged against the value the component
//! really runs with (the flag, else the binary's default when the flag is
//! unset).

use serde_json::Value;

use crate::args::{Args, go_bool};
use crate::component::{ArgsSource, ContainerEnv, Launch, component_args};
use crate::{AccessError, Capability, CheckInfo, CheckInfoBuilder, Finding, Findings, Host, Object, ObjectRef, Settings, Severity, Status};

/// What a flag's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Equal to this (booleans compared as Go reads them).
    Is(&'static str),
    /// Given, with a non-empty value.
    Set,
    /// Not given at all.
    Unset,
    /// A comma-separated list containing this item.
    Contains(&'static str),
    /// A comma-separated list without this item (unset passes unless the
    /// default has it).
    Lacks(&'static str),
    /// A number at least `min`; the setting `<check-id>.min` overrides it.
    AtLeast(i64),
    /// A comma-separated list whose every item is in the set.
    SubsetOf(&'static [&'static str]),
    /// One of these values (`VersionTLS12`, `VersionTLS13`).
    OneOf(&'static [&'static str]),
    /// Anything but this value (`--secure-port` other than 0).
    Not(&'static str),
    /// A `--feature-gates` list that does not switch this gate on
    /// (`AllAlpha=true`); unset passes. Read as the components read it
    /// ([`crate::args::gates`]): `AllAlpha=T` is on, a later item wins.
    GateOff(&'static str),
    /// A `--feature-gates` list that does not switch this gate off (the
    /// gate's default is on); unset passes.
    GateNotOff(&'static str),
    /// Anything: the value is recorded as evidence for a reviewer.
    Record,
}

/// The STIG's TLS floor for a control-plane component serving TLS: set
/// explicitly to TLS 1.2 or 1.3 (`tags` name the component's STIG rule).
pub const fn tls_min_version(tags: &'static [&'static str]) -> FlagCheck {
    FlagCheck {
        id: "tls-min-version",
        title: "TLS 1.2 or newer is required of clients",
        severity: Severity::Medium,
        remediation: "Set --tls-min-version=VersionTLS12 (or VersionTLS13).",
        tags,
        all: &[Cond { flag: "tls-min-version", default: None, expect: Expect::OneOf(&["VersionTLS12", "VersionTLS13"]) }],
    }
}

/// No `AllAlpha=true` in a component's `--feature-gates` (STIG V-242400).
pub const ALL_ALPHA_OFF: FlagCheck = FlagCheck {
    id: "all-alpha-off",
    title: "Alpha features are not switched on wholesale",
    severity: Severity::Medium,
    remediation: "Remove AllAlpha=true from --feature-gates; enable single alpha gates only where a reviewed need exists.",
    tags: &["stig-V-242400"],
    all: &[Cond { flag: "feature-gates", default: None, expect: Expect::GateOff("AllAlpha") }],
};

/// No `DynamicAuditing=true` in a component's `--feature-gates` (STIG
/// V-242398). The gate and its API were removed in Kubernetes 1.19, but the
/// STIG's check has no version limit: it reads the flag as written, and a
/// gate left on in a manifest is a finding however the binary treats it.
pub const DYNAMIC_AUDITING_OFF: FlagCheck = FlagCheck {
    id: "dynamic-auditing-off",
    title: "The DynamicAuditing feature gate is not switched on",
    severity: Severity::Medium,
    remediation: "Remove DynamicAuditing=true from --feature-gates.",
    tags: &["stig-V-242398"],
    all: &[Cond { flag: "feature-gates", default: None, expect: Expect::GateOff("DynamicAuditing") }],
};

/// One condition on one flag.
#[derive(Debug, Clone, Copy)]
pub struct Cond {
    pub flag: &'static str,
    /// The binary's default when the flag is unset (`None`: no value).
    pub default: Option<&'static str>,
    pub expect: Expect,
}

/// A check: every condition must hold.
#[derive(Debug, Clone, Copy)]
pub struct FlagCheck {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub remediation: &'static str,
    pub tags: &'static [&'static str],
    pub all: &'static [Cond],
}

/// A control-plane component whose flags are checked.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    /// Executable name (`kube-apiserver`), also the static pod's container.
    pub name: &'static str,
    /// Its static pod manifest, read when the process is not running.
    pub manifest: &'static str,
    /// Flags that are booleans: they never take the next word as a value.
    pub bools: &'static [&'static str],
    /// A file that replaces the component's flags when its flag is given.
    pub config_file: Option<ConfigFile>,
    /// Flags that stand for others, rewritten into them before the checks
    /// read the command line (kube-apiserver's deprecated
    /// `--admission-control`). `Err` when the component would refuse the
    /// command line.
    pub normalize: Option<Normalize>,
    /// The prefix of the environment variables the component reads flags
    /// from (`ETCD`: `ETCD_AUTO_TLS` sets `--auto-tls` when the command line
    /// does not).
    pub env_prefix: Option<&'static str>,
}

/// Rewrites a command line's stand-in flags into the flags they stand for
/// ([`Component::normalize`]).
pub type Normalize = fn(&mut Args) -> Result<(), String>;

/// A YAML file that, when its flag is given, sets some of the component's
/// settings in place of their flags, which are then ignored: etcd's
/// `--config-file` (etcd ignores all its other flags and its environment),
/// kube-scheduler's `--config` (its `--profiling` is ignored). The checks
/// judge the file's values for those flags, and the command line for the
/// rest.
#[derive(Debug, Clone, Copy)]
pub struct ConfigFile {
    /// The flag that names the file (`config-file`).
    pub flag: &'static str,
    /// Where such files are read from (the grant the plugin asks for).
    pub grant: &'static str,
    /// Each flag the file replaces, and where its value sits in the file (a
    /// dotted path: `client-transport-security.cert-file`); absent from the
    /// file, the flag counts as unset.
    pub keys: &'static [(&'static str, &'static str)],
}

impl Component {
    /// The capabilities a plugin checking this component needs.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut caps = vec![
            Capability::NodeProcess(self.name.into()),
            Capability::NodeRead(self.manifest.into()),
            // Without node access, the control plane's mirror pods.
            Capability::ClusterList(crate::KindRef { api_version: "v1".into(), kind: "Pod".into() }),
        ];
        if let Some(file) = self.config_file {
            caps.push(Capability::NodeRead(file.grant.into()));
        }
        caps
    }

    /// The command line the component runs by: `launch`'s argv as parsed,
    /// with the flags its environment sets (`env_prefix`), or, when they
    /// give its config file, with the file's values in place of the flags
    /// it replaces. A flag whose value is filled in when the container
    /// starts is marked unknown ([`Args::unknown`]). `Err` when the file
    /// cannot be read: the flags it replaces do not count, so they cannot
    /// be judged.
    pub fn effective(&self, host: &dyn Host, launch: &Launch, source: ArgsSource) -> Result<(Args, ArgsSource), String> {
        let mut args = Args::parse_with_bools(&launch.argv, self.bools);
        if let Some(env) = &launch.env {
            let marked: Vec<(String, String)> = args
                .flags()
                .filter_map(|(flag, value)| {
                    let var = env.unresolved.iter().find(|var| value.contains(&format!("$({var})")))?;
                    Some((
                        flag.to_string(),
                        format!("--{flag} of the {source} is set from $({var}), which the kubelet fills in when it starts the container"),
                    ))
                })
                .collect();
            for (flag, why) in marked {
                args.mark_unknown(&flag, why);
            }
        }
        if let Some(normalize) = self.normalize {
            normalize(&mut args).map_err(|why| format!("the {source}: {why}"))?;
        }
        let source = match (self.env_prefix, &launch.env, &source) {
            (Some(prefix), Some(env), _) => self.apply_env(&mut args, prefix, env, source)?,
            (Some(prefix), None, ArgsSource::Process) => match self.process_env(host, prefix, &launch.argv)? {
                Some(env) => self.apply_env(&mut args, prefix, &env, source)?,
                None => source,
            },
            _ => source,
        };
        let Some(file) = self.config_file else { return Ok((args, source)) };
        let Some(path) = args.get(file.flag).map(str::to_string) else { return Ok((args, source)) };
        let what = format!("--{} {path} of the {source}", file.flag);
        let unread = |why: String| {
            let flags: Vec<String> = file.keys.iter().map(|(flag, _)| format!("--{flag}")).collect();
            format!("{what}: {why}; {} takes {} from that file, not from its flags, so they cannot be judged", self.name, flags.join(", "))
        };
        let bytes = host.read_file(&path).map_err(|e| unread(e.reason()))?;
        let doc = crate::yaml::to_json(&bytes).map_err(|e| unread(format!("not valid YAML: {e}")))?;
        if !doc.is_object() {
            return Err(unread("not a mapping of settings".into()));
        }
        for (flag, key) in file.keys {
            let value = match key.split('.').fold(&doc, |node, part| &node[part]) {
                Value::Null => None,
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) => Some(s.clone()),
                other => return Err(unread(format!("{key} is {other}, not a single value"))),
            };
            args.replace(flag, value);
        }
        Ok((args, ArgsSource::ConfigFile { path, of: Box::new(source) }))
    }

    /// The `PREFIX_*` variables of the running process (the first one
    /// [`Host::process_args`] gives). Where the node does not show them,
    /// those of the static pod manifest the process was started from, if it
    /// was (the kubelet gives the container exactly the manifest's `env`).
    /// Otherwise: a node that shows no environments (a root laid out with
    /// `cmdline` and `comm` only, an older snapshot) gives `None`, and the
    /// command line is judged alone, as before the contract had
    /// `process-env`; an environment that is there but cannot be read (a
    /// scan without the right to trace the process) is `Err`, since it may
    /// name a config file that replaces every flag.
    fn process_env(&self, host: &dyn Host, prefix: &str, argv: &[String]) -> Result<Option<ContainerEnv>, String> {
        let unread = match host.process_env(self.name, &format!("{prefix}_")) {
            Ok(envs) => {
                return Ok(envs
                    .into_iter()
                    .next()
                    .map(|vars| ContainerEnv { vars: vars.into_iter().map(|(k, v)| (k, Some(v))).collect(), ..ContainerEnv::default() }));
            }
            Err(e) => e,
        };
        if let Some(env) = crate::component::manifest_env(host, argv, self.name, self.manifest) {
            return Ok(Some(env));
        }
        match unread {
            AccessError::NotFound(_) => Ok(None),
            e => Err(format!(
                "the environment of the running {} cannot be read ({}): it reads the flags its command line leaves out from {prefix}_* variables, and {prefix}_CONFIG_FILE would replace them all",
                self.name,
                e.reason()
            )),
        }
    }

    /// Sets the flags the container's environment gives and the command
    /// line does not, as etcd does: `PREFIX_NAME` sets `--name` (`_` for
    /// `-`), an empty value is ignored, and with a config file (its flag
    /// or `PREFIX_CONFIG_FILE`) every variable is ignored. Variables the
    /// spec does not show (`envFrom`) may name that file: `Err`.
    fn apply_env(&self, args: &mut Args, prefix: &str, env: &ContainerEnv, source: ArgsSource) -> Result<ArgsSource, String> {
        let has_file = |args: &Args| self.config_file.is_some_and(|file| args.has(file.flag));
        if has_file(args) {
            return Ok(source);
        }
        if env.env_from {
            return Err(format!(
                "the {source} takes variables from envFrom, which its spec does not show, and {} reads the flags its command line leaves out from {prefix}_* variables",
                self.name
            ));
        }
        let mut used = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        // The config file's variable first: with it, the others are ignored.
        let file_var = self.config_file.map(|file| format!("{prefix}_{}", file.flag.to_uppercase().replace('-', "_")));
        let ordered = env.vars.iter().rev().filter(|(name, _)| Some(name) == file_var.as_ref()).chain(env.vars.iter().rev());
        for (name, value) in ordered {
            let Some(flag) = name.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('_')).filter(|f| !f.is_empty()) else {
                continue;
            };
            if seen.contains(&name.as_str()) || has_file(args) {
                continue;
            }
            seen.push(name);
            let flag = flag.to_lowercase().replace('_', "-");
            if args.has(&flag) {
                continue;
            }
            match value {
                Some(v) if v.is_empty() => {}
                Some(v) => {
                    args.replace(&flag, Some(v.clone()));
                    used.push(name.clone());
                }
                None => {
                    let why = format!(
                        "{name} of the {source} is set when the container starts (valueFrom), and {} reads --{flag} from it",
                        self.name
                    );
                    if Some(name) == file_var.as_ref() {
                        // That file would replace every flag.
                        return Err(why);
                    }
                    args.mark_unknown(&flag, why);
                }
            }
        }
        if used.is_empty() {
            return Ok(source);
        }
        used.reverse();
        Ok(ArgsSource::Env { vars: used, of: Box::new(source) })
    }
}

/// etcd as the plugins that read its command line know it: its boolean
/// flags, `--config-file` (which replaces the flags `keys` lists, and all
/// the others, with the YAML file's values), and its `ETCD_*` variables.
pub const fn etcd(keys: &'static [(&'static str, &'static str)]) -> Component {
    Component {
        name: "etcd",
        manifest: "/etc/kubernetes/manifests/etcd.yaml",
        bools: &["client-cert-auth", "auto-tls", "peer-client-cert-auth", "peer-auto-tls", "experimental-initial-corrupt-check"],
        // With --config-file (or ETCD_CONFIG_FILE), etcd reads its settings
        // from that YAML file and ignores its other flags and variables.
        config_file: Some(ConfigFile { flag: "config-file", grant: "/etc/etcd/*", keys }),
        normalize: None,
        // etcd takes a flag missing from its command line from ETCD_<FLAG>.
        env_prefix: Some("ETCD"),
    }
}

/// The whole `describe` answer of a plugin that checks one component's flags.
pub fn plugin_info(name: &str, version: &str, component: &Component, checks: &[FlagCheck]) -> crate::PluginInfo {
    crate::PluginInfo {
        name: name.into(),
        version: version.into(),
        checks: check_infos(checks),
        capabilities: component.capabilities(),
        settings: settings(checks),
    }
}

/// The settings flag checks read: `<check>.explicit` for every check, and
/// `<check>.min` for each with a minimum.
pub fn settings(checks: &[FlagCheck]) -> Vec<crate::SettingInfo> {
    let mut out = Vec::new();
    for c in checks {
        out.push(crate::setting(
            &format!("{}.explicit", c.id),
            crate::SettingKind::Boolean,
            "`true`: the flag must be given, even where the binary's default would pass",
        ));
        if c.all.iter().any(|cond| matches!(cond.expect, Expect::AtLeast(_))) {
            out.push(crate::setting(&format!("{}.min", c.id), crate::SettingKind::Integer, "the smallest value that passes"));
        }
    }
    out
}

/// The check descriptions for `describe`.
pub fn check_infos(checks: &[FlagCheck]) -> Vec<CheckInfo> {
    checks
        .iter()
        .map(|c| {
            let mut b = CheckInfoBuilder::new(c.id, c.title).severity(c.severity).remediation(c.remediation);
            for t in c.tags {
                b = b.tag(t);
            }
            b.build()
        })
        .collect()
}

fn list(v: &str) -> Vec<&str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// Why the component would refuse `value` at start, where the condition
/// can tell: a verdict on it would judge a setting that cannot run.
fn refused(cond: &Cond, value: Option<&str>) -> Option<String> {
    match cond.expect {
        Expect::GateOff(_) | Expect::GateNotOff(_) => {
            crate::args::gates(cond.flag, value?).err().map(|why| format!("{why}, so the component would not start with it"))
        }
        _ => None,
    }
}

/// Judges one condition; `Err` carries why it fails.
fn judge(cond: &Cond, value: Option<&str>, check_id: &str, settings: &Settings) -> Result<(), String> {
    let shown = |v: Option<&str>| v.map_or("unset".to_string(), |v| format!("{v:?}"));
    match cond.expect {
        Expect::Record => Ok(()),
        Expect::Set => match value {
            Some(v) if !v.is_empty() => Ok(()),
            _ => Err(format!("--{} is not set", cond.flag)),
        },
        Expect::Unset => match value {
            None => Ok(()),
            Some(v) => Err(format!("--{} is set to {v:?}", cond.flag)),
        },
        Expect::Is(want) => {
            let ok = match (value, go_bool(want)) {
                (Some(v), Some(b)) => go_bool(v) == Some(b),
                (Some(v), None) => v == want,
                (None, _) => false,
            };
            if ok { Ok(()) } else { Err(format!("--{} is {}, want {want}", cond.flag, shown(value))) }
        }
        Expect::Contains(item) => match value {
            Some(v) if list(v).contains(&item) => Ok(()),
            _ => Err(format!("--{} is {}, which does not include {item}", cond.flag, shown(value))),
        },
        Expect::Lacks(item) => match value {
            Some(v) if list(v).contains(&item) => Err(format!("--{} includes {item}", cond.flag)),
            _ => Ok(()),
        },
        Expect::AtLeast(min) => {
            let key = format!("{check_id}.min");
            let min = match settings.get(&key) {
                Some(t) => t.parse::<i64>().map_err(|_| format!("setting {key}={t} is not a number"))?,
                None => min,
            };
            match value.map(|v| v.parse::<i64>()) {
                Some(Ok(n)) if n >= min => Ok(()),
                Some(Ok(n)) => Err(format!("--{} is {n}, want at least {min}", cond.flag)),
                Some(Err(_)) => Err(format!("--{} is {}, not a number", cond.flag, shown(value))),
                None => Err(format!("--{} is not set, want at least {min}", cond.flag)),
            }
        }
        Expect::OneOf(allowed) => match value {
            Some(v) if allowed.contains(&v) => Ok(()),
            _ => Err(format!("--{} is {}, want one of {}", cond.flag, shown(value), allowed.join(", "))),
        },
        Expect::Not(bad) => match value {
            Some(v) if v == bad => Err(format!("--{} is {v}", cond.flag)),
            None => Err(format!("--{} is not set", cond.flag)),
            Some(_) => Ok(()),
        },
        Expect::GateOff(gate) | Expect::GateNotOff(gate) => {
            let gates = crate::args::gates(cond.flag, value.unwrap_or_default())
                .map_err(|why| format!("{why}, so the component would not start with it"))?;
            let on = gates.iter().find(|(name, _)| name == gate).map(|(_, on)| *on);
            match (cond.expect, on) {
                (Expect::GateOff(_), Some(true)) => Err(format!("--{} switches {gate} on", cond.flag)),
                (Expect::GateNotOff(_), Some(false)) => Err(format!("--{} switches {gate} off", cond.flag)),
                _ => Ok(()),
            }
        }
        Expect::SubsetOf(allowed) => match value {
            None => Err(format!("--{} is not set, so the defaults apply (weak suites included)", cond.flag)),
            Some(v) => {
                let extra: Vec<&str> = list(v).into_iter().filter(|s| !allowed.contains(s)).collect();
                if extra.is_empty() { Ok(()) } else { Err(format!("--{} allows {}", cond.flag, extra.join(", "))) }
            }
        },
    }
}

/// Evaluates `checks` against one parsed command line, with its source.
pub fn evaluate_args(args: &Args, source: &ArgsSource, checks: &[FlagCheck], settings: &Settings, out: &mut Findings) {
    for check in checks {
        let mut problems = Vec::new();
        let mut unreadable = Vec::new();
        let mut evidence = Vec::new();
        // `<check>.explicit = "true"`: an unset flag fails even where the
        // binary's default would pass (the STIG wants some flags written out).
        let explicit = settings.get(&format!("{}.explicit", check.id)) == Some("true");
        for cond in check.all {
            let given = args.get(cond.flag);
            if explicit && given.is_none() && !matches!(cond.expect, Expect::Unset) {
                problems.push(format!("--{} is not set, and this profile wants it set explicitly", cond.flag));
            }
            let value = given.or(cond.default);
            evidence.push((
                format!("--{}", cond.flag),
                match (given, cond.default) {
                    (Some(v), _) => v.to_string(),
                    (None, Some(d)) => format!("unset (default {d})"),
                    (None, None) => "unset".to_string(),
                },
            ));
            if let Some(why) = args.unknown(cond.flag) {
                unreadable.push(why.to_string());
            } else if let Some(why) = refused(cond, value) {
                unreadable.push(why);
            } else if let Err(why) = judge(cond, value, check.id, settings) {
                problems.push(match (given, cond.default) {
                    (None, Some(d)) => format!("{why} (unset: the default {d} applies)"),
                    _ => why,
                });
            }
        }
        let mut f = if !unreadable.is_empty() {
            unreadable.extend(problems);
            Finding::new(check.id, Status::Error, unreadable.join("; "))
        } else if problems.is_empty() {
            let facts: Vec<String> = evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Finding::new(check.id, Status::Pass, facts.join(", "))
        } else {
            Finding::new(check.id, Status::Fail, problems.join("; "))
        };
        for (k, v) in evidence {
            f = f.with(k, v);
        }
        out.push(f.with("found-in", source.to_string()));
    }
}

/// The component's parsed command line and where it was found; `Ok(None)`
/// when it does not run on this node.
pub fn command_line(host: &dyn Host, component: &Component) -> Result<Option<(Args, ArgsSource)>, String> {
    match component_args(host, component.name, component.manifest) {
        Ok(Some((launch, source))) => component.effective(host, &launch, source).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("cannot read the {} command line: {}", component.name, e.reason())),
    }
}

/// How a kube-system pod that runs the component was judged, or why not.
enum PodRole {
    /// A mirror pod the kubelet published for a static pod, on this node.
    Mirror { node: String },
    /// A static pod manifest given as a file (a copy of
    /// /etc/kubernetes/manifests passed to `--manifests`).
    Manifest,
    /// Not used, with the reason.
    Skipped(String),
}

/// Whether an object came from an API server (a live cluster, or a snapshot
/// or dump of one) rather than from a hand-written file: its source is the
/// API URL, or it carries the uid every API server assigns. A static pod
/// manifest on disk has neither.
fn from_api(obj: &Object, pod: &Value) -> bool {
    obj.source.starts_with("https://") || obj.source.starts_with("http://") || pod["metadata"]["uid"].is_string()
}

fn runs(pod: &Value, component: &Component) -> bool {
    pod["spec"]["containers"].as_array().into_iter().flatten().any(|c| c["name"].as_str() == Some(component.name))
}

fn is_mirror(pod: &Value) -> bool {
    !pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null()
}

/// How a pod that runs `component` is used: only a mirror pod is trusted
/// from the API (anyone allowed to create pods in kube-system can make a pod
/// that looks like the API server; only a kubelet makes mirror pods), while
/// a pod given as a file without the annotation is a static pod manifest.
fn role(obj: &Object, pod: &Value) -> PodRole {
    if is_mirror(pod) {
        return match pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            Some(node) => PodRole::Mirror { node: node.to_string() },
            None => PodRole::Skipped("a mirror pod with no spec.nodeName: no node runs it".into()),
        };
    }
    if from_api(obj, pod) {
        return PodRole::Skipped(
            "no kubernetes.io/config.mirror annotation: a pod in the API without it is not the kubelet's copy of a static pod, so its command line proves nothing about the control plane".into(),
        );
    }
    PodRole::Manifest
}

/// Ranks verdicts for combining two sources: a definite failure outranks
/// an undecided check, which outranks a pass.
fn rank(s: Status) -> u8 {
    match s {
        Status::NotApplicable => 0,
        Status::Pass => 1,
        Status::Warn => 2,
        Status::Error => 3,
        Status::Fail => 4,
    }
}

/// Runs the flag checks and the extra checks on one command line.
fn judge_line(
    args: &Args,
    source: &ArgsSource,
    checks: &[FlagCheck],
    settings: &Settings,
    judge_extra: &mut dyn FnMut(&Args, &mut Findings),
) -> Vec<Finding> {
    let mut mine = Findings::collecting();
    evaluate_args(args, source, checks, settings, &mut mine);
    judge_extra(args, &mut mine);
    mine.into_vec()
}

/// The component's flags as the control plane's pods show them, one set of
/// findings per pod, each on its pod: mirror pods in kube-system (a kubelet
/// publishes one for each static pod it runs, so a scan without node access
/// still judges kubeadm-style control planes), and static pod manifests
/// given as files. The extra checks are judged on each pod's command line
/// too; a file they need from the node is an error there, since the API
/// does not show it.
#[allow(clippy::too_many_arguments)]
fn mirror_pods(
    host: &dyn Host,
    component: &Component,
    checks: &[FlagCheck],
    extra: &[&str],
    settings: &Settings,
    no_node: &str,
    out: &mut Findings,
    judge_extra: &mut dyn FnMut(&Args, &mut Findings),
) {
    let all_ids = || checks.iter().map(|c| c.id).chain(extra.iter().copied());
    let mut pods = Vec::new();
    // Every pod, a page at a time, keeping those that may be the control
    // plane's: a pod of another namespace is dropped before it is parsed
    // (a large cluster has 150,000 pods and a handful in kube-system).
    let listed = host.for_each_page("v1", "Pod", None, crate::PAGE_SIZE, &mut |page| {
        pods.extend(page.into_iter().filter(|o| o.ref_.namespace.as_deref().is_none_or(|ns| ns == "kube-system")));
    });
    if let Err(e) = listed {
        let why = format!("{no_node}, and the mirror pods cannot be listed: {}", e.reason());
        return all_ids().for_each(|id| out.push(Finding::new(id, Status::Error, why.clone())));
    }
    let mut found = 0;
    // kube-system pods not used, with why, for the error when none is.
    let mut skipped: Vec<String> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for obj in pods {
        let Ok(pod) = serde_json::from_str::<Value>(&obj.json) else { continue };
        let namespace = obj.ref_.namespace.as_deref();
        let name = format!("{}/{}", namespace.unwrap_or("(no namespace)"), obj.ref_.name);
        let role = role(&obj, &pod);
        // A static pod manifest may leave out its namespace; anything from
        // the API must be in kube-system, where kubeadm's control plane is.
        let in_scope = namespace == Some("kube-system") || (namespace.is_none() && matches!(role, PodRole::Manifest));
        if !in_scope {
            continue;
        }
        if !runs(&pod, component) {
            others.push(name);
            continue;
        }
        let (source, node) = match role {
            PodRole::Skipped(why) => {
                skipped.push(format!("{name} ({}): {why}", obj.source));
                continue;
            }
            PodRole::Mirror { node } => (ArgsSource::MirrorPod { pod: name.clone(), node: node.clone() }, Some(node)),
            PodRole::Manifest => (ArgsSource::Manifest(obj.source.clone()), None),
        };
        found += 1;
        let launch = match crate::component::pod_launch(&pod, component.name) {
            Ok(l) => l,
            Err(e) => {
                for id in all_ids() {
                    out.push(Finding::new(id, Status::Error, format!("{source}: {e}")).on_object(obj.ref_.clone()));
                }
                continue;
            }
        };
        let (args, source) = match component.effective(host, &launch, source) {
            Ok(line) => line,
            Err(e) => {
                for id in all_ids() {
                    out.push(Finding::new(id, Status::Error, e.clone()).on_object(obj.ref_.clone()));
                }
                continue;
            }
        };
        for f in judge_line(&args, &source, checks, settings, judge_extra) {
            let f = f.on_object(obj.ref_.clone());
            out.push(match &node {
                Some(n) => f.with("node", n.clone()),
                None => f,
            });
        }
    }
    if found == 0 {
        let mut seen = Vec::new();
        if !skipped.is_empty() {
            seen.push(format!("not used: {}", skipped.join("; ")));
        }
        if !others.is_empty() {
            const SHOWN: usize = 10;
            let more = others.len().saturating_sub(SHOWN);
            let mut names = others.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
            if more > 0 {
                names += &format!(" and {more} more");
            }
            seen.push(format!("{} kube-system pod(s) run no {} container ({names})", others.len(), component.name));
        }
        if seen.is_empty() {
            seen.push("kube-system has no pods in this scan".into());
        }
        let why = format!(
            "{no_node}, and no {} mirror pod is in kube-system ({}): the control plane is not visible from the API (a managed control plane, or not kubeadm-style); scan its nodes with --node or node snapshots, or pass a copy of /etc/kubernetes/manifests to --manifests",
            component.name,
            seen.join("; ")
        );
        all_ids().for_each(|id| out.push(Finding::new(id, Status::Error, why.clone())));
    }
}

/// The mirror pod of `component` the kubelet of node `node` published, if
/// the scan has the cluster's pods: its parsed command line, where it came
/// from and the pod. `None` when the scan has no cluster, the pods cannot be
/// listed or there is no such pod: the node's own data then stands alone.
fn same_node_mirror(host: &dyn Host, component: &Component, node: &str) -> Option<Result<(Args, ArgsSource, ObjectRef), String>> {
    let pods = host.list_objects("v1", "Pod", Some("kube-system")).ok()?;
    for obj in pods {
        let Ok(pod) = serde_json::from_str::<Value>(&obj.json) else { continue };
        if !is_mirror(&pod) || !runs(&pod, component) || pod["spec"]["nodeName"].as_str() != Some(node) {
            continue;
        }
        let name = format!("kube-system/{}", obj.ref_.name);
        let source = ArgsSource::MirrorPod { pod: name, node: node.to_string() };
        return Some(match crate::component::pod_launch(&pod, component.name) {
            Ok(launch) => component.effective(host, &launch, source).map(|(args, source)| (args, source, obj.ref_)),
            Err(e) => Err(format!("{source} cannot be read: {e}")),
        });
    }
    None
}

/// One verdict per check from the node's own view and the same node's
/// mirror pod. Where they agree the node's finding stands, noting the pod;
/// where they differ the worse verdict wins, the message says the sources
/// disagree and the evidence shows both.
fn reconcile(
    node: Vec<Finding>,
    pod: Vec<Finding>,
    node_source: &ArgsSource,
    pod_source: &ArgsSource,
    pod_ref: &ObjectRef,
) -> Vec<Finding> {
    let mut pod: Vec<Option<Finding>> = pod.into_iter().map(Some).collect();
    let mut out = Vec::new();
    for n in node {
        let twin = pod.iter_mut().find(|p| p.as_ref().is_some_and(|p| p.check == n.check && p.path == n.path)).and_then(Option::take);
        let Some(p) = twin else {
            out.push(n);
            continue;
        };
        if p.status == n.status && p.message == n.message {
            out.push(n.with("agrees-with", pod_source.to_string()));
            continue;
        }
        let status = if rank(p.status) > rank(n.status) { p.status } else { n.status };
        let message = format!(
            "the sources disagree: {node_source} says {} ({}), {pod_source} says {} ({})",
            n.status.as_str(),
            n.message,
            p.status.as_str(),
            p.message
        );
        let mut f =
            Finding { check: n.check.clone(), status, message, object: n.object.clone(), path: n.path.clone(), evidence: n.evidence };
        for (k, v) in p.evidence {
            f.evidence.push(if k == "found-in" { (k, v) } else { (format!("{k} (mirror pod)"), v) });
        }
        f.evidence.push(("mirror-pod".into(), pod_ref.to_string()));
        out.push(f);
    }
    out
}

/// Finds the component's command line on the node and evaluates `checks`;
/// every check is not-applicable when the component does not run here, and
/// `error` when its command line cannot be read.
pub fn evaluate(host: &dyn Host, component: &Component, checks: &[FlagCheck], settings: &Settings, out: &mut Findings) {
    evaluate_with(host, component, checks, &[], settings, out, &mut |_, _| {});
}

/// Like [`evaluate`], for a plugin with more checks on the same command
/// line (`extra`, their ids): `judge_extra` is called with each command line
/// found (one per control-plane node when they come from mirror pods) to
/// push those findings; when there is none, the extra checks get the same
/// not-applicable or error finding as the flag checks.
///
/// On a node whose mirror pod is also in the scan, both command lines are
/// judged and reconciled: a node and the API can disagree (a manifest edited
/// since the kubelet last synced, or a copy of the node that is not what
/// runs), and neither may silently win.
pub fn evaluate_with(
    host: &dyn Host,
    component: &Component,
    checks: &[FlagCheck],
    extra: &[&str],
    settings: &Settings,
    out: &mut Findings,
    judge_extra: &mut dyn FnMut(&Args, &mut Findings),
) {
    let ids = || checks.iter().map(|c| c.id).chain(extra.iter().copied());
    let node = host.node_name();
    if node.is_empty() {
        // No node in view (a scan of the cluster alone): the mirror pods.
        return mirror_pods(host, component, checks, extra, settings, "this run has no node target", out, judge_extra);
    }
    let mirror = same_node_mirror(host, component, &node);
    match (command_line(host, component), mirror) {
        (Ok(Some((args, source))), None) => {
            evaluate_args(&args, &source, checks, settings, out);
            judge_extra(&args, out);
        }
        (Ok(Some((args, source))), Some(Ok((pod_args, pod_source, pod_ref)))) => {
            let mine = judge_line(&args, &source, checks, settings, judge_extra);
            let theirs = judge_line(&pod_args, &pod_source, checks, settings, judge_extra);
            for f in reconcile(mine, theirs, &source, &pod_source, &pod_ref) {
                out.push(f);
            }
        }
        (Ok(Some((args, source))), Some(Err(bad))) => {
            // The pod cannot be read: the node is judged, and no pass may
            // stand on it while the API shows something unreadable.
            for f in judge_line(&args, &source, checks, settings, judge_extra) {
                if f.status == Status::Pass {
                    let message = format!("{source} passes ({}), but {bad}", f.message);
                    out.push(Finding { status: Status::Error, message, ..f });
                } else {
                    out.push(f);
                }
            }
        }
        (Ok(None), Some(Ok((pod_args, pod_source, pod_ref)))) => {
            // The API shows the component on this node, the node does not:
            // the node's copy is incomplete, or the pod is stale. Judge the
            // pod, and say so.
            let note = format!(
                "no {} process or static pod manifest ({}) on this node, but {pod_source} is in the API",
                component.name, component.manifest
            );
            for f in judge_line(&pod_args, &pod_source, checks, settings, judge_extra) {
                let message = format!("the sources disagree: {note}; judged from the pod: {}", f.message);
                let status = if f.status == Status::Pass { Status::Error } else { f.status };
                out.push(Finding { status, message, ..f }.on_object(pod_ref.clone()));
            }
        }
        (Ok(None), _) => {
            let why =
                format!("{} does not run on this node (no process, no static pod manifest at {})", component.name, component.manifest);
            for id in ids() {
                out.push(Finding::new(id, Status::NotApplicable, why.clone()));
            }
        }
        (Err(e), _) => {
            for id in ids() {
                out.push(Finding::new(id, Status::Error, e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeHost;

    const CHECKS: &[FlagCheck] = &[
        FlagCheck {
            id: "profiling",
            title: "",
            severity: Severity::Low,
            remediation: "",
            tags: &[],
            all: &[Cond { flag: "profiling", default: Some("true"), expect: Expect::Is("false") }],
        },
        FlagCheck {
            id: "authz",
            title: "",
            severity: Severity::High,
            remediation: "",
            tags: &[],
            all: &[
                Cond { flag: "authorization-mode", default: Some("AlwaysAllow"), expect: Expect::Contains("RBAC") },
                Cond { flag: "authorization-mode", default: Some("AlwaysAllow"), expect: Expect::Lacks("AlwaysAllow") },
            ],
        },
        FlagCheck {
            id: "maxage",
            title: "",
            severity: Severity::Medium,
            remediation: "",
            tags: &[],
            all: &[Cond { flag: "audit-log-maxage", default: None, expect: Expect::AtLeast(30) }],
        },
        FlagCheck {
            id: "token",
            title: "",
            severity: Severity::High,
            remediation: "",
            tags: &[],
            all: &[Cond { flag: "token-auth-file", default: None, expect: Expect::Unset }],
        },
    ];
    const APISERVER: Component = Component {
        name: "kube-apiserver",
        manifest: "/m/kube-apiserver.yaml",
        bools: &["profiling"],
        config_file: None,
        normalize: None,
        env_prefix: None,
    };

    fn run(argv: &[&str], settings: &[(&str, &str)]) -> Vec<(String, Status, String)> {
        let host = FakeHost::new().process(argv);
        let settings = Settings::new(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let mut out = Findings::collecting();
        evaluate(&host, &APISERVER, CHECKS, &settings, &mut out);
        out.into_vec().into_iter().map(|f| (f.check, f.status, f.message)).collect()
    }

    #[test]
    fn unset_flags_are_judged_by_their_default() {
        let r = run(&["kube-apiserver"], &[]);
        assert_eq!(r[0].1, Status::Fail);
        assert!(r[0].2.contains("default true applies"), "{}", r[0].2);
        assert_eq!(r[1].1, Status::Fail, "default AlwaysAllow has no RBAC");
        assert_eq!(r[2].1, Status::Fail);
        assert_eq!(r[3].1, Status::Pass);
    }

    #[test]
    fn compliant_flags_pass_and_bad_ones_fail() {
        let r = run(&["kube-apiserver", "--profiling=False", "--authorization-mode=Node,RBAC", "--audit-log-maxage", "30"], &[]);
        assert!(r.iter().all(|(_, s, _)| *s == Status::Pass), "{r:?}");
        let r = run(&["kube-apiserver", "--authorization-mode=AlwaysAllow,RBAC", "--audit-log-maxage=7", "--token-auth-file=/t.csv"], &[]);
        assert_eq!(r.iter().map(|x| x.1).collect::<Vec<_>>(), [Status::Fail, Status::Fail, Status::Fail, Status::Fail]);
        assert!(r[1].2.contains("includes AlwaysAllow"));
    }

    #[test]
    fn one_of_not_and_gate_off() {
        let cond = |flag, default, expect| Cond { flag, default, expect };
        let tls = cond("tls-min-version", None, Expect::OneOf(&["VersionTLS12", "VersionTLS13"]));
        let none = Settings::default();
        assert!(judge(&tls, Some("VersionTLS13"), "t", &none).is_ok());
        assert!(judge(&tls, Some("VersionTLS11"), "t", &none).unwrap_err().contains("want one of VersionTLS12, VersionTLS13"));
        assert!(judge(&tls, None, "t", &none).unwrap_err().contains("is unset"));
        let port = cond("secure-port", Some("6443"), Expect::Not("0"));
        assert!(judge(&port, Some("6443"), "p", &none).is_ok());
        assert_eq!(judge(&port, Some("0"), "p", &none).unwrap_err(), "--secure-port is 0");
        let gate = cond("feature-gates", None, Expect::GateOff("AllAlpha"));
        assert!(judge(&gate, None, "g", &none).is_ok());
        assert!(judge(&gate, Some("AllAlpha=false,AllBeta=true"), "g", &none).is_ok());
        assert!(judge(&gate, Some("AllAlphaX=true"), "g", &none).is_ok(), "another gate");
        assert_eq!(judge(&gate, Some("Foo=false, AllAlpha=True"), "g", &none).unwrap_err(), "--feature-gates switches AllAlpha on");
        assert!(judge(&gate, Some("AllAlpha=T"), "g", &none).is_err(), "T is true to Go");
        assert!(judge(&gate, Some("AllAlpha=true,AllAlpha=false"), "g", &none).is_ok(), "a later item wins");
        assert!(judge(&gate, Some("AllAlpha"), "g", &none).unwrap_err().contains("would not start"));
        let rotate = cond("feature-gates", None, Expect::GateNotOff("RotateKubeletServerCertificate"));
        assert!(judge(&rotate, None, "r", &none).is_ok());
        assert!(judge(&rotate, Some("RotateKubeletServerCertificate=true"), "r", &none).is_ok());
        for off in
            ["RotateKubeletServerCertificate=false", "RotateKubeletServerCertificate=0", "A=true, RotateKubeletServerCertificate = F"]
        {
            assert_eq!(
                judge(&rotate, Some(off), "r", &none).unwrap_err(),
                "--feature-gates switches RotateKubeletServerCertificate off",
                "{off}"
            );
        }
    }

    /// A `--feature-gates` value the component would refuse at start is no
    /// verdict on the gate: `error`, never a pass.
    #[test]
    fn a_feature_gate_list_the_component_would_refuse_is_an_error() {
        let judge = |argv: &[&str]| {
            let mut out = Findings::collecting();
            evaluate_args(&Args::parse(argv), &ArgsSource::Process, &[ALL_ALPHA_OFF], &Settings::default(), &mut out);
            out.into_vec().remove(0)
        };
        for bad in ["--feature-gates=AllAlpha", "--feature-gates=Foo=maybe", "--feature-gates=AllAlpha=false,Bar"] {
            let f = judge(&["kube-scheduler", bad]);
            assert_eq!(f.status, Status::Error, "{bad}: {f:?}");
            assert!(f.message.contains("would not start"), "{}", f.message);
        }
        assert_eq!(judge(&["kube-scheduler", "--feature-gates=AllAlpha=false"]).status, Status::Pass);
        assert_eq!(judge(&["kube-scheduler", "--feature-gates=AllAlpha=1"]).status, Status::Fail);
    }

    /// Regression: a list flag given twice was judged by its last
    /// occurrence, where pflag appends them: `--authorization-mode=AlwaysAllow
    /// --authorization-mode=Node,RBAC` runs with AlwaysAllow and passed.
    #[test]
    fn a_list_flag_given_twice_is_judged_by_every_item() {
        let r = run(&["kube-apiserver", "--authorization-mode=AlwaysAllow", "--authorization-mode=Node,RBAC"], &[]);
        let authz = r.iter().find(|(c, _, _)| c == "authz").unwrap();
        assert_eq!(authz.1, Status::Fail, "{authz:?}");
        assert!(authz.2.contains("includes AlwaysAllow"), "{}", authz.2);
        let r = run(&["kube-apiserver", "--authorization-mode=Node", "--authorization-mode", "RBAC"], &[]);
        assert_eq!(r.iter().find(|(c, _, _)| c == "authz").unwrap().1, Status::Pass);
    }

    #[test]
    fn an_explicit_setting_fails_a_flag_left_to_its_default() {
        const AUTO_TLS: &[FlagCheck] = &[FlagCheck {
            id: "auto-tls",
            title: "",
            severity: Severity::Medium,
            remediation: "",
            tags: &[],
            all: &[Cond { flag: "auto-tls", default: Some("false"), expect: Expect::Is("false") }],
        }];
        let judge = |argv: &[&str], settings: &[(&str, &str)]| {
            let settings = Settings::new(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
            let mut out = Findings::collecting();
            evaluate_args(&Args::parse(argv), &ArgsSource::Process, AUTO_TLS, &settings, &mut out);
            out.into_vec().remove(0)
        };
        assert_eq!(judge(&["etcd"], &[]).status, Status::Pass, "the default is false");
        let explicit = judge(&["etcd"], &[("auto-tls.explicit", "true")]);
        assert_eq!(explicit.status, Status::Fail);
        assert!(explicit.message.contains("--auto-tls is not set, and this profile wants it set explicitly"), "{}", explicit.message);
        assert_eq!(judge(&["etcd", "--auto-tls=false"], &[("auto-tls.explicit", "true")]).status, Status::Pass);
        assert_eq!(judge(&["etcd", "--auto-tls=true"], &[("auto-tls.explicit", "true")]).status, Status::Fail);
        let r = run(&["kube-apiserver"], &[("token.explicit", "true")]);
        assert_eq!(r[3].1, Status::Pass, "an Unset expectation is met by leaving the flag out");
    }

    #[test]
    fn thresholds_come_from_settings() {
        let r = run(&["kube-apiserver", "--audit-log-maxage=7"], &[("maxage.min", "7")]);
        assert_eq!(r[2].1, Status::Pass);
    }

    /// A kube-system pod running kube-apiserver with these flags.
    fn pod(name: &str, mirror: bool, uid: bool, node: Option<&str>, flags: &[&str]) -> serde_json::Value {
        let mut command = vec!["kube-apiserver".to_string()];
        command.extend(flags.iter().map(|f| f.to_string()));
        let mut pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "kube-system"},
            "spec": {"containers": [{"name": "kube-apiserver", "command": command}]}
        });
        if mirror {
            pod["metadata"]["annotations"] = serde_json::json!({"kubernetes.io/config.mirror": "abc"});
        }
        if uid {
            pod["metadata"]["uid"] = "0d9c1b4e-0000-4000-8000-000000000001".into();
        }
        if let Some(n) = node {
            pod["spec"]["nodeName"] = n.into();
        }
        pod
    }

    fn cluster_run(host: FakeHost) -> Vec<Finding> {
        let mut out = Findings::collecting();
        evaluate(&host, &APISERVER, CHECKS, &Settings::default(), &mut out);
        out.into_vec()
    }

    /// A copy of /etc/kubernetes/manifests given to --manifests: the pods
    /// carry no mirror annotation and are judged as static pod manifests.
    #[test]
    fn static_pod_manifests_given_as_files_are_judged() {
        let manifest = pod("kube-apiserver", false, false, None, &["--token-auth-file=/t.csv"]);
        let r = cluster_run(FakeHost::new().cluster_only().object("v1", "Pod", manifest));
        let token = r.iter().find(|f| f.check == "token").unwrap();
        assert_eq!(token.status, Status::Fail, "{token:?}");
        assert!(token.evidence.iter().any(|(k, v)| k == "found-in" && v.starts_with("static pod manifest test#")), "{token:?}");
        // Without a namespace, as a hand-written static pod may be.
        let mut bare = pod("kube-apiserver", false, false, None, &["--profiling=false"]);
        bare["metadata"].as_object_mut().unwrap().remove("namespace");
        let r = cluster_run(FakeHost::new().cluster_only().object("v1", "Pod", bare));
        assert_eq!(r.iter().find(|f| f.check == "profiling").unwrap().status, Status::Pass);
    }

    /// Regression: the kubelet expands `$(VAR)` in a static pod's command
    /// with the container's variables, and the literal words were judged:
    /// `--authorization-mode=Node,RBAC,$(MODE)` passed "no AlwaysAllow"
    /// whatever MODE held. A variable the kubelet fills in at start leaves the flag
    /// unknown: error, not a verdict on the reference.
    #[test]
    fn variables_in_a_static_pods_command_are_expanded_first() {
        let mut manifest =
            pod("kube-apiserver", true, true, Some("cp-1"), &["--authorization-mode=Node,RBAC,$(MODE)", "--profiling=$(PROF)"]);
        manifest["spec"]["containers"][0]["env"] = serde_json::json!([
            {"name": "MODE", "value": "AlwaysAllow"},
            {"name": "PROF", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['profiling']"}}},
        ]);
        let r = cluster_run(FakeHost::new().cluster_only().object("v1", "Pod", manifest));
        let authz = r.iter().find(|f| f.check == "authz").unwrap();
        assert_eq!(authz.status, Status::Fail, "{authz:?}");
        assert!(authz.message.contains("--authorization-mode includes AlwaysAllow"), "{}", authz.message);
        let profiling = r.iter().find(|f| f.check == "profiling").unwrap();
        assert_eq!(profiling.status, Status::Error, "{profiling:?}");
        assert!(profiling.message.contains("set from $(PROF), which the kubelet fills in"), "{}", profiling.message);
    }

    /// From the API only mirror pods count; the error names what was seen.
    #[test]
    fn a_live_cluster_trusts_only_mirror_pods_and_says_what_it_saw() {
        let fake = pod("kube-apiserver-evil", false, true, Some("cp-1"), &["--profiling=false"]);
        let dns = serde_json::json!({"metadata": {"name": "coredns-1", "namespace": "kube-system", "uid": "u"},
            "spec": {"containers": [{"name": "coredns", "command": ["/coredns"]}]}});
        let r = cluster_run(FakeHost::new().cluster_only().object("v1", "Pod", fake).object("v1", "Pod", dns));
        assert_eq!(r.len(), CHECKS.len());
        for f in &r {
            assert_eq!(f.status, Status::Error, "{f:?}");
            assert!(f.message.contains("no kube-apiserver mirror pod"), "{}", f.message);
            assert!(
                f.message.contains("kube-system/kube-apiserver-evil (test#0): no kubernetes.io/config.mirror annotation"),
                "{}",
                f.message
            );
            assert!(f.message.contains("1 kube-system pod(s) run no kube-apiserver container (kube-system/coredns-1)"), "{}", f.message);
        }
        let empty = cluster_run(FakeHost::new().cluster_only());
        assert!(empty[0].message.contains("kube-system has no pods in this scan"), "{}", empty[0].message);
        // A live source's pods are API pods even without a uid.
        let mut host = FakeHost::new().cluster_only().object("v1", "Pod", pod("kube-apiserver-x", false, false, None, &[]));
        host = host.with_source(0, "https://10.0.0.1:6443/api/v1/namespaces/kube-system/pods/kube-apiserver-x");
        assert!(cluster_run(host).iter().all(|f| f.status == Status::Error));
    }

    /// The node's own command line and its mirror pod disagree: both are
    /// shown, the worse verdict wins, and the message says so.
    #[test]
    fn a_node_and_its_mirror_pod_that_disagree_give_the_worse_verdict() {
        let host = FakeHost::new()
            .named("cp-1")
            .process(&["kube-apiserver", "--profiling=false", "--audit-log-maxage=30"])
            .object(
                "v1",
                "Pod",
                pod("kube-apiserver-cp-1", true, true, Some("cp-1"), &["--token-auth-file=/t.csv", "--audit-log-maxage=30"]),
            )
            .object("v1", "Pod", pod("kube-apiserver-cp-2", true, true, Some("cp-2"), &["--authorization-mode=AlwaysAllow"]));
        let r = cluster_run(host);
        let get = |id: &str| r.iter().find(|f| f.check == id).unwrap();
        let token = get("token");
        assert_eq!(token.status, Status::Fail, "the pod fails, the node passes: {token:?}");
        assert!(token.message.starts_with("the sources disagree: running process says pass"), "{}", token.message);
        assert!(token.message.contains("mirror pod kube-system/kube-apiserver-cp-1 (node cp-1) says fail"), "{}", token.message);
        assert!(token.evidence.contains(&("--token-auth-file".into(), "unset".into())), "{:?}", token.evidence);
        assert!(token.evidence.contains(&("--token-auth-file (mirror pod)".into(), "/t.csv".into())), "{:?}", token.evidence);
        let profiling = get("profiling");
        assert_eq!(profiling.status, Status::Fail, "the node passes, the pod falls back to the default true");
        assert!(profiling.message.contains("disagree"));
        let maxage = get("maxage");
        assert_eq!(maxage.status, Status::Pass, "both say 30: {maxage:?}");
        assert!(maxage.evidence.iter().any(|(k, _)| k == "agrees-with"), "{:?}", maxage.evidence);
        assert!(!r.iter().any(|f| f.message.contains("cp-2")), "another node's pod is not this node's");
        // Without the pod the node stands alone, as before.
        let alone = cluster_run(FakeHost::new().named("cp-1").process(&["kube-apiserver", "--profiling=false"]));
        assert_eq!(alone.iter().find(|f| f.check == "token").unwrap().status, Status::Pass);
    }

    /// The API shows the component on this node, the node's data does not.
    #[test]
    fn a_mirror_pod_for_a_node_without_the_component_is_not_a_silent_na() {
        let host =
            FakeHost::new().named("cp-1").object("v1", "Pod", pod("kube-apiserver-cp-1", true, true, Some("cp-1"), &["--profiling=false"]));
        let r = cluster_run(host);
        let profiling = r.iter().find(|f| f.check == "profiling").unwrap();
        assert_eq!(profiling.status, Status::Error, "{profiling:?}");
        assert!(profiling.message.contains("the sources disagree"), "{}", profiling.message);
        assert_eq!(r.iter().find(|f| f.check == "token").unwrap().status, Status::Error, "a pass from the pod alone is not enough");
    }

    #[test]
    fn a_component_that_does_not_run_is_not_applicable() {
        let host = FakeHost::new();
        let mut out = Findings::collecting();
        evaluate(&host, &APISERVER, CHECKS, &Settings::default(), &mut out);
        assert!(out.as_slice().iter().all(|f| f.status == Status::NotApplicable));
    }

    /// Regression: a process table that could not be read made every flag
    /// check "does not run on this node", not-applicable.
    #[test]
    fn processes_that_cannot_be_seen_are_an_error_not_not_running() {
        let host = FakeHost::new().processes_unreadable("no /proc");
        let mut out = Findings::collecting();
        evaluate(&host, &APISERVER, CHECKS, &Settings::default(), &mut out);
        assert!(!out.as_slice().is_empty());
        assert!(out.as_slice().iter().all(|f| f.status == Status::Error && f.message.contains("no /proc")), "{:?}", out.as_slice());
    }
}
