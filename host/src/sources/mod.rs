//! Where target data comes from: cluster objects (manifest files today; a
//! live API server and snapshots later) and node roots.

pub mod cluster;
pub mod manifests;
pub mod node;
pub mod snapshot;

pub use cluster::{ClusterData, ClusterObject};
pub use node::{NodeRoot, NodeView};
