//! Verdicts on node files: "mode 0600 or tighter" and "owned by
//! root:root", with the evidence every such finding carries.

use crate::{FileStat, Finding, Settings, Status, mode};

/// What a file check compares.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Mode within the setting `key`, else `default`.
    Mode { key: &'static str, default: u32 },
    /// Owned by `user:group`. `root` is uid/gid 0 everywhere; other names
    /// come from the node's own /etc/passwd and /etc/group.
    Owner { user: &'static str, group: &'static str },
}

/// The settings a set of file rules reads: each mode limit's key, once.
pub fn mode_settings(rules: impl IntoIterator<Item = Rule>) -> Vec<crate::SettingInfo> {
    let mut out: Vec<crate::SettingInfo> = Vec::new();
    for rule in rules {
        if let Rule::Mode { key, default } = rule
            && !out.iter().any(|s| s.name == key)
        {
            out.push(crate::setting(
                key,
                crate::SettingKind::Mode,
                &format!("the most permissive mode that passes (default {:04o})", default),
            ));
        }
    }
    out
}

/// Owned by root:root.
pub const ROOT: Rule = Rule::Owner { user: "root", group: "root" };

impl Rule {
    /// A one-line fix for the check's description.
    pub fn remediation(self) -> String {
        match self {
            Rule::Mode { default, .. } => {
                format!("chmod {} the file (or anything tighter) on the node.", mode::format(default).trim_start_matches('0'))
            }
            Rule::Owner { user, group } => format!("chown {user}:{group} the path on the node."),
        }
    }
}

impl Rule {
    /// The description of a check that applies this rule, tagged with its
    /// CIS id (`1.1.1`; empty for checks CIS does not have) and a group.
    pub fn check_info(self, id: &str, title: &str, severity: crate::Severity, cis: &str, group: &str) -> crate::CheckInfo {
        let b = crate::CheckInfoBuilder::new(id, title).severity(severity).remediation(&self.remediation());
        let b = if cis.is_empty() { b } else { b.tag(&format!("cis-{cis}")) };
        b.tag(group).build()
    }
}

/// Judges one path.
///
/// ```
/// use rampart_sdk::files::{judge, ROOT, Rule};
/// use rampart_sdk::{FileStat, FileType, Settings, Status};
/// let st = FileStat { path: "/etc/kubernetes/admin.conf".into(), file_type: FileType::File, mode: 0o644,
///     uid: 0, gid: 0, owner: None, group: None, size: 10, link_target: None };
/// let limit = Rule::Mode { key: "kubeconfig-mode", default: 0o600 };
/// assert_eq!(judge("admin-mode", limit, &st, &Settings::default()).status, Status::Fail);
/// assert_eq!(judge("admin-owner", ROOT, &st, &Settings::default()).status, Status::Pass);
/// ```
pub fn judge(id: &str, rule: Rule, st: &FileStat, settings: &Settings) -> Finding {
    let name = |n: &Option<String>, id: u32| n.clone().unwrap_or_else(|| if id == 0 { "root".into() } else { id.to_string() });
    let owner = format!("{}:{}", name(&st.owner, st.uid), name(&st.group, st.gid));
    let base = |status, msg: String| {
        Finding::new(id, status, msg)
            .at_path(st.path.clone())
            .with("mode", mode::format(st.mode))
            .with("owner", owner.clone())
            .with("uid:gid", format!("{}:{}", st.uid, st.gid))
    };
    match rule {
        Rule::Mode { key, default } => {
            let limit = match settings.get(key) {
                None => default,
                Some(text) => match mode::parse(text) {
                    Some(m) => m,
                    None => {
                        return Finding::new(id, Status::Error, format!("setting {key}={text} is not an octal mode"))
                            .at_path(st.path.clone());
                    }
                },
            };
            if mode::within(st.mode, limit) {
                base(Status::Pass, format!("mode {} is within {}", mode::format(st.mode), mode::format(limit)))
            } else {
                let (m, l, x) = (mode::format(st.mode), mode::format(limit), mode::format(mode::excess(st.mode, limit)));
                base(Status::Fail, format!("mode {m} is wider than {l} (extra bits {x})"))
            }
        }
        Rule::Owner { user, group } => {
            let user_ok = if user == "root" { st.uid == 0 } else { st.owner.as_deref() == Some(user) };
            let group_ok = if group == "root" { st.gid == 0 } else { st.group.as_deref() == Some(group) };
            if user_ok && group_ok {
                base(Status::Pass, format!("owned by {owner}"))
            } else {
                base(Status::Fail, format!("owned by {owner}, want {user}:{group}"))
            }
        }
    }
}
