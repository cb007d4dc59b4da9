//! Checks on a component's command-line flags, written as data: each check
//! is a list of conditions on flags, judged against the value the component
//! really runs with (the flag, else the binary's default when the flag is
//! unset).

use crate::args::Args;
use crate::component::{ArgsSource, component_args};
use crate::{Capability, CheckInfo, CheckInfoBuilder, Finding, Findings, Host, Settings, Severity, Status};

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
    /// (`AllAlpha=true`); unset passes.
    GateOff(&'static str),
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
}

impl Component {
    /// The capabilities a plugin checking this component needs.
    pub fn capabilities(&self) -> Vec<Capability> {
        vec![
            Capability::NodeProcess(self.name.into()),
            Capability::NodeRead(self.manifest.into()),
            // Without node access, the control plane's mirror pods.
            Capability::ClusterList(crate::KindRef { api_version: "v1".into(), kind: "Pod".into() }),
        ]
    }
}

/// The whole `describe` answer of a plugin that checks one component's flags.
pub fn plugin_info(name: &str, version: &str, component: &Component, checks: &[FlagCheck]) -> crate::PluginInfo {
    crate::PluginInfo { name: name.into(), version: version.into(), checks: check_infos(checks), capabilities: component.capabilities() }
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

fn is_bool_word(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn list(v: &str) -> Vec<&str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
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
            let ok = match (value, is_bool_word(want)) {
                (Some(v), Some(b)) => is_bool_word(v) == Some(b),
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
        Expect::GateOff(gate) => {
            let on = value
                .into_iter()
                .flat_map(list)
                .filter_map(|item| item.split_once('='))
                .any(|(name, v)| name.trim() == gate && is_bool_word(v.trim()) == Some(true));
            if on { Err(format!("--{} switches {gate} on", cond.flag)) } else { Ok(()) }
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
            if let Err(why) = judge(cond, value, check.id, settings) {
                problems.push(match (given, cond.default) {
                    (None, Some(d)) => format!("{why} (unset: the default {d} applies)"),
                    _ => why,
                });
            }
        }
        let mut f = if problems.is_empty() {
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
        Ok(Some((argv, source))) => Ok(Some((Args::parse_with_bools(&argv, component.bools), source))),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("cannot read the {} command line: {}", component.name, e.reason())),
    }
}

/// The component's flags as its mirror pods in kube-system show them, one
/// set of findings per control-plane node, each on its pod. A kubelet
/// publishes a mirror pod for each static pod it runs, so a scan without
/// node access still judges kubeadm-style control planes. The extra checks
/// are judged on each pod's command line too; a file they need from the
/// node is an error there, since the API does not show it.
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
    let pods = match host.list_objects("v1", "Pod", Some("kube-system")) {
        Ok(p) => p,
        Err(e) => {
            let why = format!("{no_node}, and the mirror pods cannot be listed: {}", e.reason());
            return all_ids().for_each(|id| out.push(Finding::new(id, Status::Error, why.clone())));
        }
    };
    let mut found = 0;
    for obj in pods {
        let Ok(pod) = serde_json::from_str::<serde_json::Value>(&obj.json) else { continue };
        let mirror = !pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_null();
        let ours = pod["spec"]["containers"].as_array().into_iter().flatten().any(|c| c["name"].as_str() == Some(component.name));
        if !mirror || !ours {
            continue;
        }
        found += 1;
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("?").to_string();
        let pod_name = format!("kube-system/{}", obj.ref_.name);
        let argv = match crate::component::pod_argv(&pod, component.name) {
            Ok(a) => a,
            Err(e) => {
                for id in all_ids() {
                    out.push(Finding::new(id, Status::Error, format!("mirror pod {pod_name}: {e}")).on_object(obj.ref_.clone()));
                }
                continue;
            }
        };
        let args = Args::parse_with_bools(&argv, component.bools);
        let mut mine = Findings::collecting();
        evaluate_args(&args, &ArgsSource::MirrorPod { pod: pod_name.clone(), node: node.clone() }, checks, settings, &mut mine);
        judge_extra(&args, &mut mine);
        for f in mine.into_vec() {
            out.push(f.on_object(obj.ref_.clone()).with("node", node.clone()));
        }
    }
    if found == 0 {
        let why = format!(
            "{no_node}, and no {} mirror pod is in kube-system: the control plane is not visible from the API (a managed control plane, or not kubeadm-style); scan its nodes with --node or node snapshots",
            component.name
        );
        all_ids().for_each(|id| out.push(Finding::new(id, Status::Error, why.clone())));
    }
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
    if host.node_name().is_empty() {
        // No node in view (a scan of the cluster alone): the mirror pods.
        return mirror_pods(host, component, checks, extra, settings, "this run has no node target", out, judge_extra);
    }
    match command_line(host, component) {
        Ok(Some((args, source))) => {
            evaluate_args(&args, &source, checks, settings, out);
            judge_extra(&args, out);
        }
        Ok(None) => {
            let why =
                format!("{} does not run on this node (no process, no static pod manifest at {})", component.name, component.manifest);
            for id in ids() {
                out.push(Finding::new(id, Status::NotApplicable, why.clone()));
            }
        }
        Err(e) => {
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
    const APISERVER: Component = Component { name: "kube-apiserver", manifest: "/m/kube-apiserver.yaml", bools: &["profiling"] };

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
