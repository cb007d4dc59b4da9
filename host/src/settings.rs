//! Plugin settings checked against what the plugin declares: a key it does
//! not read (a typo in a threshold's name) or a value it cannot take would
//! otherwise leave a check judging with its default, silently.

use std::fmt;

/// What values a setting takes (the WIT `setting-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    Text,
    Boolean,
    Integer,
    Mode,
    Duration,
    List,
}

impl SettingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKind::Text => "text",
            SettingKind::Boolean => "boolean",
            SettingKind::Integer => "integer",
            SettingKind::Mode => "mode",
            SettingKind::Duration => "duration",
            SettingKind::List => "list",
        }
    }

    /// Why `value` is not of this kind, if it is not.
    pub fn refuse(self, value: &str) -> Option<&'static str> {
        let ok = match self {
            SettingKind::Text | SettingKind::List => true,
            SettingKind::Boolean => matches!(value, "true" | "false"),
            SettingKind::Integer => value.parse::<i64>().is_ok(),
            SettingKind::Mode => {
                (3..=4).contains(&value.len())
                    && value.bytes().all(|b| (b'0'..=b'7').contains(&b))
                    && u32::from_str_radix(value, 8).is_ok_and(|m| m <= 0o777)
            }
            // The parser the plugins read durations with.
            SettingKind::Duration => rampart_values::go_duration(value).is_some(),
        };
        (!ok).then_some(match self {
            SettingKind::Boolean => "want `true` or `false`",
            SettingKind::Integer => "want a whole number",
            SettingKind::Mode => "want permission bits in octal, `0600` or `600`, at most `0777`",
            SettingKind::Duration => "want a duration as Kubernetes writes it: `30s`, `5m`, `4h0m0s`",
            SettingKind::Text | SettingKind::List => "",
        })
    }
}

impl fmt::Display for SettingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One setting a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDecl {
    /// The key, or `*.suffix` for the suffix after any of the plugin's checks.
    pub name: String,
    pub kind: SettingKind,
    pub description: String,
}

/// The declaration a key falls under, given the plugin's check ids.
pub fn declaration<'a>(declared: &'a [SettingDecl], checks: &[String], key: &str) -> Option<&'a SettingDecl> {
    declared.iter().find(|d| match d.name.strip_prefix("*.") {
        Some(suffix) => {
            key.strip_suffix(suffix).and_then(|head| head.strip_suffix('.')).is_some_and(|check| checks.iter().any(|c| c == check))
        }
        None => d.name == key,
    })
}

/// Checks settings from one place (`origin`: a registry or profile file)
/// against a plugin's declarations; every problem, each on its own line.
pub fn check(plugin: &str, declared: &[SettingDecl], checks: &[String], given: &[(String, String)], origin: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    for (key, value) in given {
        match declaration(declared, checks, key) {
            None => {
                let hint = closest(declared, checks, key).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
                let known = if declared.is_empty() {
                    "it declares none".to_string()
                } else {
                    format!("it declares {}", declared.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", "))
                };
                problems.push(format!("{origin}: plugin {plugin} has no setting `{key}`{hint}; {known}"));
            }
            Some(d) => {
                if let Some(want) = d.kind.refuse(value) {
                    problems.push(format!("{origin}: plugin {plugin}, setting `{key}` = {value:?} is not a {}: {want}", d.kind));
                }
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// The declared key nearest to a misspelt one, if one is near.
fn closest(declared: &[SettingDecl], checks: &[String], key: &str) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for d in declared {
        match d.name.strip_prefix("*.") {
            Some(suffix) => candidates.extend(checks.iter().map(|c| format!("{c}.{suffix}"))),
            None => candidates.push(d.name.clone()),
        }
    }
    candidates.into_iter().map(|c| (distance(&c, key), c)).filter(|(d, c)| *d <= 3.max(c.len() / 5)).min().map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + usize::from(ca != *cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls() -> Vec<SettingDecl> {
        let d = |name: &str, kind| SettingDecl { name: name.into(), kind, description: String::new() };
        vec![d("kubeconfig-mode", SettingKind::Mode), d("*.min", SettingKind::Duration), d("*.explicit", SettingKind::Boolean)]
    }

    fn checks() -> Vec<String> {
        vec!["streaming-idle-timeout".into(), "anonymous-auth".into()]
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn declared_keys_and_per_check_keys_are_taken() {
        let ok = given(&[("kubeconfig-mode", "0644"), ("streaming-idle-timeout.min", "5m"), ("anonymous-auth.explicit", "true")]);
        assert_eq!(check("kubelet", &decls(), &checks(), &ok, "registry.toml"), Ok(()));
    }

    #[test]
    fn a_misspelt_key_is_refused_with_the_nearest_declared_one() {
        let bad = given(&[("streaming-idle-timout.min", "5m")]);
        let err = check("kubelet", &decls(), &checks(), &bad, "profiles/stig.toml").unwrap_err();
        assert!(err.starts_with("profiles/stig.toml: plugin kubelet has no setting `streaming-idle-timout.min`"), "{err}");
        assert!(err.contains("did you mean `streaming-idle-timeout.min`?"), "{err}");
        // A per-check key for a check the plugin does not have.
        let err = check("kubelet", &decls(), &checks(), &given(&[("no-such-check.explicit", "true")]), "r").unwrap_err();
        assert!(err.contains("has no setting `no-such-check.explicit`"), "{err}");
        // A plugin that declares nothing takes nothing.
        let err = check("p", &[], &[], &given(&[("x", "1")]), "r").unwrap_err();
        assert!(err.contains("it declares none"), "{err}");
    }

    #[test]
    fn values_must_be_of_the_declared_kind() {
        for (key, value, want) in [
            ("kubeconfig-mode", "644x", "octal"),
            ("kubeconfig-mode", "1777", "at most `0777`"),
            ("kubeconfig-mode", "06444", "octal"),
            ("streaming-idle-timeout.min", "5 minutes", "duration"),
            ("streaming-idle-timeout.min", "5", "duration"),
            ("anonymous-auth.explicit", "yes", "`true` or `false`"),
        ] {
            let err = check("kubelet", &decls(), &checks(), &given(&[(key, value)]), "r").unwrap_err();
            assert!(err.contains(want), "{key}={value}: {err}");
        }
    }

    #[test]
    fn go_durations() {
        for ok in ["0", "5m", "4h0m0s", "1.5h", "300ms", "2h45m", "10us", "1µs"] {
            assert!(SettingKind::Duration.refuse(ok).is_none(), "{ok}");
        }
        for bad in ["", "5", "m", "5 m", "-5m", "1..5s", "5d", "h5"] {
            assert!(SettingKind::Duration.refuse(bad).is_some(), "{bad}");
        }
    }
}
