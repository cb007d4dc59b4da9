//! Where target data comes from: cluster objects (manifest files, a live
//! API server, snapshots) and node roots (directories, snapshots).

pub mod cluster;
pub mod kinds;
pub mod live;
pub mod manifests;
pub mod node;
pub mod snapshot;
pub mod yaml;

pub use cluster::{ClusterData, ClusterObject, InputWarning};
pub use node::{NodeRoot, NodeView};
