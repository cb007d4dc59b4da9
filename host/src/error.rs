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

    /// A live cluster cannot be used at all: no usable kubeconfig, the API
    /// server cannot be reached, or it rejects the credentials.
    #[error("cluster {server}: {message}")]
    Cluster { server: String, message: String },

    /// The Wasm engine could not be set up.
    #[error("wasm engine: {0}")]
    Engine(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
