//! rampart-host: the runtime that loads sandboxed control plugins, hands
//! them only what they were granted, and turns their findings into reports.
//!
//! - [`engine`] holds wasmtime, the compile cache, limits, one store per run
//! - [`broker`] is the host side of the WIT imports, with grant checks
//! - [`grants`] parses and matches capabilities
//! - [`sources`] reads cluster objects and node roots
//! - [`merge`] pools many reports into one (fleets)
//! - [`profile`] holds benchmark profiles and turns findings into control verdicts
//! - [`registry`] reads registry.toml
//! - [`settings`] checks plugin settings against what each plugin declares
//! - [`plugin_build`] builds a plugin project in any supported language (`rampart plugin build`)
//! - [`plugin_new`] writes a new plugin project (`rampart plugin new`)
//! - [`plugin_test`] runs a component against declarative cases (`rampart plugin test`)
//! - [`scan`] goes from inputs to a [`report::Report`]
//! - [`bench`] times the engine's work (`rampart bench`)
//! - [`cli`] is the `rampart` command line

pub mod bench;
pub mod bindings;
pub mod broker;
pub mod builtin;
pub mod bundle;
pub mod cli;
pub mod diff;
pub mod engine;
pub mod error;
pub mod grants;
pub mod merge;
pub mod plugin_build;
pub mod plugin_new;
pub mod plugin_test;
pub mod profile;
pub mod publish;
pub mod registry;
pub mod report;
pub mod scan;
pub mod settings;
pub mod sources;
pub mod waivers;

pub use error::{Error, Result};
