//! Capabilities as text (`node.stat:/etc/kubernetes/**`), and the check every
//! host call goes through: is this call within what the plugin asked for
//! and what the operator granted?

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

use crate::error::{Error, Result};

/// One scoped permission. The text form is the one registry.toml, `--grant`
/// and reports use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// `cluster.list:apps/v1/Deployment` (`cluster.list:*` grants every kind).
    ClusterList { api_version: String, kind: String },
    /// `cluster.secret-values`: Secret data is not redacted.
    ClusterSecretValues,
    /// `node.read:GLOB` (also allows stat of the same paths).
    NodeRead(String),
    /// `node.stat:GLOB`.
    NodeStat(String),
    /// `node.process:NAME` (`*` for every process).
    NodeProcess(String),
}

impl Capability {
    /// Parses the text form.
    ///
    /// Paths must be absolute; a `..` segment is refused, since grants are
    /// matched against normalized paths.
    pub fn parse(text: &str) -> Result<Capability> {
        let bad = |message: &str| Error::Capability { text: text.to_string(), message: message.to_string() };
        let (scope, arg) = match text.split_once(':') {
            Some((s, a)) => (s.trim(), Some(a.trim())),
            None => (text.trim(), None),
        };
        let path_arg = |arg: Option<&str>| -> Result<String> {
            let p = arg.filter(|a| !a.is_empty()).ok_or_else(|| bad("needs a path or glob after `:`"))?;
            if !p.starts_with('/') {
                return Err(bad("paths must be absolute (start with /)"));
            }
            if p.split('/').any(|seg| seg == "..") {
                return Err(bad("paths may not contain `..`"));
            }
            compile_glob(p).map_err(|e| bad(&format!("bad glob: {e}")))?;
            Ok(p.to_string())
        };
        match scope {
            "cluster.list" => {
                let arg = arg.filter(|a| !a.is_empty()).ok_or_else(|| bad("needs API_VERSION/KIND, e.g. apps/v1/Deployment or v1/Pod"))?;
                if arg == "*" {
                    return Ok(Capability::ClusterList { api_version: "*".into(), kind: "*".into() });
                }
                let (api_version, kind) =
                    arg.rsplit_once('/').ok_or_else(|| bad("needs API_VERSION/KIND, e.g. apps/v1/Deployment or v1/Pod"))?;
                if api_version.is_empty() || kind.is_empty() || api_version.split('/').count() > 2 {
                    return Err(bad("needs API_VERSION/KIND, e.g. apps/v1/Deployment or v1/Pod"));
                }
                Ok(Capability::ClusterList { api_version: api_version.into(), kind: kind.into() })
            }
            "cluster.secret-values" if arg.is_none() => Ok(Capability::ClusterSecretValues),
            "node.read" => Ok(Capability::NodeRead(path_arg(arg)?)),
            "node.stat" => Ok(Capability::NodeStat(path_arg(arg)?)),
            "node.process" => {
                let name = arg.filter(|a| !a.is_empty()).ok_or_else(|| bad("needs a process name, e.g. node.process:etcd"))?;
                Ok(Capability::NodeProcess(name.into()))
            }
            _ => Err(bad("unknown scope; expected cluster.list, cluster.secret-values, node.read, node.stat or node.process")),
        }
    }

    /// Whether this capability reads node data (the plugin then runs once
    /// per node).
    pub fn is_node(&self) -> bool {
        matches!(self, Capability::NodeRead(_) | Capability::NodeStat(_) | Capability::NodeProcess(_))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::ClusterList { api_version, kind } if api_version == "*" => write!(f, "cluster.list:{kind}"),
            Capability::ClusterList { api_version, kind } => write!(f, "cluster.list:{api_version}/{kind}"),
            Capability::ClusterSecretValues => write!(f, "cluster.secret-values"),
            Capability::NodeRead(p) => write!(f, "node.read:{p}"),
            Capability::NodeStat(p) => write!(f, "node.stat:{p}"),
            Capability::NodeProcess(n) => write!(f, "node.process:{n}"),
        }
    }
}

fn compile_glob(pattern: &str) -> std::result::Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern).literal_separator(true).backslash_escape(true).build()?.compile_matcher())
}

/// What a host call wants to do, checked against a [`CapabilitySet`].
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    List { api_version: &'a str, kind: &'a str },
    SecretValues,
    Read(&'a str),
    Stat(&'a str),
    Process(&'a str),
}

/// A set of capabilities with their globs compiled.
#[derive(Debug, Clone, Default)]
pub struct CapabilitySet {
    caps: Vec<Capability>,
    globs: Vec<Option<GlobMatcher>>,
}

impl CapabilitySet {
    pub fn new(caps: impl IntoIterator<Item = Capability>) -> CapabilitySet {
        let mut set = CapabilitySet::default();
        for cap in caps {
            set.insert(cap);
        }
        set
    }

    pub fn insert(&mut self, cap: Capability) {
        if self.caps.contains(&cap) {
            return;
        }
        let glob = match &cap {
            // Validated in `parse`; a capability a plugin declares is checked
            // by `Capability::parse` of its text form before it gets here.
            Capability::NodeRead(p) | Capability::NodeStat(p) => compile_glob(p).ok(),
            _ => None,
        };
        self.caps.push(cap);
        self.globs.push(glob);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Capability> {
        self.caps.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.caps.is_empty()
    }

    /// Whether some capability of the set allows `access`.
    pub fn allows(&self, access: Access<'_>) -> bool {
        self.caps.iter().zip(&self.globs).any(|(cap, glob)| match (cap, access) {
            (Capability::ClusterList { api_version, kind }, Access::List { api_version: v, kind: k }) => {
                (api_version == "*" && kind == "*") || (api_version == v && kind == k)
            }
            (Capability::ClusterSecretValues, Access::SecretValues) => true,
            (Capability::NodeRead(_), Access::Read(p) | Access::Stat(p)) | (Capability::NodeStat(_), Access::Stat(p)) => {
                glob.as_ref().is_some_and(|g| g.is_match(p))
            }
            (Capability::NodeProcess(name), Access::Process(n)) => name == "*" || name == n,
            _ => false,
        })
    }

    /// Whether this set covers a whole capability: the same one, or a
    /// broader glob whose pattern matches the other's pattern text. Used to
    /// show which requested capabilities were granted; enforcement is
    /// [`CapabilitySet::allows`] on each call.
    pub fn covers(&self, cap: &Capability) -> bool {
        match cap {
            Capability::ClusterList { api_version, kind } => self.allows(Access::List { api_version, kind }),
            Capability::ClusterSecretValues => self.allows(Access::SecretValues),
            Capability::NodeRead(p) => self.allows(Access::Read(p)),
            Capability::NodeStat(p) => self.allows(Access::Stat(p)),
            Capability::NodeProcess(n) => self.allows(Access::Process(n)),
        }
    }
}

/// What a plugin may use: every call must be allowed by both what it asked
/// for and what the operator granted.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub requested: CapabilitySet,
    pub granted: CapabilitySet,
}

impl Grant {
    /// A grant that allows nothing (used while reading a plugin's metadata).
    pub fn none() -> Grant {
        Grant::default()
    }

    pub fn allows(&self, access: Access<'_>) -> bool {
        self.requested.allows(access) && self.granted.allows(access)
    }

    /// What the plugin may use, as capabilities: the requested ones the
    /// grants cover, and the granted ones that fall inside a broader request
    /// (a request for `node.stat:/**` granted as `node.stat:/var/lib/etcd`).
    pub fn effective(&self) -> Vec<Capability> {
        let mut out: Vec<Capability> = self.requested.iter().filter(|c| self.granted.covers(c)).cloned().collect();
        for g in self.granted.iter() {
            if !out.contains(g) && self.requested.covers(g) {
                out.push(g.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(caps: &[&str]) -> CapabilitySet {
        CapabilitySet::new(caps.iter().map(|c| Capability::parse(c).unwrap()))
    }

    #[test]
    fn parses_and_prints_every_scope() {
        for text in [
            "cluster.list:apps/v1/Deployment",
            "cluster.list:v1/Pod",
            "cluster.secret-values",
            "node.read:/etc/kubernetes/manifests/*.yaml",
            "node.stat:/etc/kubernetes/**",
            "node.process:etcd",
        ] {
            assert_eq!(Capability::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_capabilities() {
        for text in [
            "cluster.list",
            "cluster.list:Pod",
            "node.read:etc/passwd",
            "node.read:/etc/../shadow",
            "node.stat:",
            "net.connect:1.2.3.4",
            "node.read:/a/[b",
        ] {
            let err = Capability::parse(text).unwrap_err().to_string();
            assert!(err.contains(text), "{err}");
        }
    }

    #[test]
    fn single_star_stays_in_one_segment() {
        let s = set(&["node.stat:/etc/kubernetes/*"]);
        assert!(s.allows(Access::Stat("/etc/kubernetes/admin.conf")));
        assert!(!s.allows(Access::Stat("/etc/kubernetes/pki/ca.key")));
        let s = set(&["node.stat:/etc/kubernetes/**"]);
        assert!(s.allows(Access::Stat("/etc/kubernetes/pki/etcd/ca.key")));
        assert!(!s.allows(Access::Stat("/etc/shadow")));
    }

    #[test]
    fn read_implies_stat_but_not_the_reverse() {
        let s = set(&["node.read:/etc/kubernetes/manifests/*.yaml", "node.stat:/etc/kubernetes/pki/**"]);
        assert!(s.allows(Access::Stat("/etc/kubernetes/manifests/etcd.yaml")));
        assert!(s.allows(Access::Read("/etc/kubernetes/manifests/etcd.yaml")));
        assert!(!s.allows(Access::Read("/etc/kubernetes/pki/ca.key")));
    }

    #[test]
    fn grant_is_the_intersection() {
        let grant = Grant { requested: set(&["cluster.list:v1/Pod", "cluster.list:v1/Secret"]), granted: set(&["cluster.list:*"]) };
        assert!(grant.allows(Access::List { api_version: "v1", kind: "Pod" }));
        assert!(!grant.allows(Access::List { api_version: "v1", kind: "Node" }), "granted but never requested");
        let grant = Grant { requested: set(&["cluster.list:v1/Pod", "cluster.list:v1/Secret"]), granted: set(&["cluster.list:v1/Pod"]) };
        assert!(!grant.allows(Access::List { api_version: "v1", kind: "Secret" }), "requested but not granted");
        assert_eq!(grant.effective(), vec![Capability::parse("cluster.list:v1/Pod").unwrap()]);
        let grant = Grant { requested: set(&["node.stat:/**"]), granted: set(&["node.stat:/var/lib/etcd", "node.stat:/etc/**"]) };
        let shown: Vec<String> = grant.effective().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["node.stat:/var/lib/etcd", "node.stat:/etc/**"], "narrow grants of a broad request");
    }
}
