//! Where target data comes from: cluster objects (manifest files, a live
//! API server, snapshots) and node roots (directories, snapshots).

pub mod cluster;
pub mod live;
pub mod manifests;
pub mod node;
pub mod snapshot;

pub use cluster::{ClusterData, ClusterObject};
pub use node::{NodeRoot, NodeView};
