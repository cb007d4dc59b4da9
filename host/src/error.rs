//! The one error type of the host library.

use std::path::PathBuf;

/// Everything that can go wrong in the host, each naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory given as input could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A manifest file holds something that is not a Kubernetes object.
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },

    /// A node root is missing or not a directory.
    #[error("node root {path}: {message}")]
    NodeRoot { path: PathBuf, message: String },

    /// Two node targets (roots, snapshots, reports) claim one node name.
    #[error("node name {name:?}: {message}")]
    NodeName { name: String, message: String },

    /// registry.toml is malformed or names something that is not there.
    #[error("registry {path}: {message}")]
    Registry { path: PathBuf, message: String },

    /// A report given to `rampart merge` is not one.
    #[error("report {path}: {message}")]
    Report { path: PathBuf, message: String },

    /// A snapshot file is malformed or of another version.
    #[error("snapshot {path}: {message}")]
    Snapshot { path: PathBuf, message: String },

    /// A profile file is malformed.
    #[error("profile {path}: {message}")]
    Profile { path: PathBuf, message: String },

    /// A capability string (from registry.toml or `--grant`) is malformed.
    #[error("capability `{text}`: {message}")]
    Capability { text: String, message: String },

    /// A plugin could not be loaded: bad file, digest mismatch, not a
    /// component, wrong WIT version.
    #[error("plugin {name} ({path}): {message}")]
    Plugin { name: String, path: PathBuf, message: String },

    /// A `plugin test` case (its directory, expect.toml or node listing)
    /// is malformed.
    #[error("plugin test case {path}: {message}")]
    Case { path: PathBuf, message: String },

    /// `rampart plugin build` could not make the component: an unknown
    /// project layout, a missing toolchain (named, with how to install it)
    /// or a failed compile.
    #[error("plugin build {dir}: {message}")]
    Build { dir: PathBuf, message: String },

    /// A live cluster cannot be used at all: no usable kubeconfig, the API
    /// server cannot be reached, or it rejects the credentials.
    #[error("cluster {server}: {message}")]
    Cluster { server: String, message: String },

    /// A waivers file is malformed.
    #[error("waivers {path}: {message}")]
    Waivers { path: PathBuf, message: String },

    /// A plugin bundle (a layout, a registry reference, a key, a
    /// signature) is malformed, tampered with, or not trusted.
    #[error("bundle {at}: {message}")]
    Bundle { at: String, message: String },

    /// The Wasm engine could not be set up.
    /// Settings a plugin does not declare, or values of the wrong kind;
    /// each line names the file that gave them.
    #[error("plugin settings:\n{0}")]
    Settings(String),

    #[error("wasm engine: {0}")]
    Engine(String),

    // Why a report cannot be written as a STIG checklist or XCCDF results.
    /// No profile was assessed: a checklist holds a profile's verdicts.
    #[error(
        "a STIG checklist holds a profile's verdicts, and no profile was assessed: scan with --profile ID, a STIG profile \
         (one with a [checklist] table, such as k8s-stig-v2r6)"
    )]
    ChecklistWithoutProfile,
    /// The profile does not name a STIG benchmark.
    #[error(
        "profile {profile} has no [checklist] table (the STIG benchmark id, title, version and release it belongs to), \
         so its verdicts cannot be written as a STIG checklist: use --format json or text, or a STIG profile"
    )]
    NotAStig { profile: String },
    /// Controls lack the rule id importers match on; written anyway they
    /// would not match and would show as not reviewed.
    #[error(
        "profile {profile}: no rule_id on control(s) {controls}; importers match rules on it, so the profile must give every control one"
    )]
    NoRuleId { profile: String, controls: String },
    /// An identifier that XCCDF puts into an id (`xccdf_mil.disa.stig_rule_<rule_id>`)
    /// holds characters an XML name cannot.
    #[error(
        "profile {profile}: {what} {value:?} cannot be part of an XCCDF id, which takes letters, digits, '.', '-' and '_' only; \
         DISA's ids are of that form, so the profile must give them verbatim"
    )]
    XccdfId { profile: String, what: &'static str, value: String },
    /// Two controls share a rule id; XCCDF rule ids are unique, and importers
    /// would file both verdicts under one rule.
    #[error("profile {profile}: controls {controls} have the same rule_id {rule_id}; each rule must have its own")]
    SameRuleId { profile: String, rule_id: String, controls: String },
    /// An XCCDF result document is one benchmark's.
    #[error(
        "an XCCDF result document holds one benchmark, and the reports assessed {count} profiles ({profiles}): \
         merge each profile's reports on their own, or write --format ckl or cklb, which hold several"
    )]
    OneBenchmark { count: usize, profiles: String },
    /// Serializing a checklist failed (not expected: everything is written
    /// to memory).
    #[error("writing the checklist: {0}")]
    ChecklistWrite(String),
    /// Rendering a report format failed (a template fault: not expected).
    #[error("{0}")]
    Render(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
