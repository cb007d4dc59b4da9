//! rampart-host: the runtime that loads sandboxed control plugins, hands
//! them only what they were granted, and turns their findings into reports.
//!
//! - [`engine`]: wasmtime, compile cache, limits, one store per run
//! - [`broker`]: the host side of the WIT imports, with grant checks
//! - [`grants`]: capabilities and their matching
//! - [`sources`]: cluster objects and node roots
//! - [`registry`]: registry.toml
//! - [`scan`]: one scan from inputs to [`report::Report`]
//! - [`bench`]: `rampart bench`, timings of the engine's work
//! - [`cli`]: the `rampart` command line

pub mod bench;
pub mod bindings;
pub mod broker;
pub mod cli;
pub mod engine;
pub mod error;
pub mod grants;
pub mod registry;
pub mod report;
pub mod scan;
pub mod sources;

pub use error::{Error, Result};
