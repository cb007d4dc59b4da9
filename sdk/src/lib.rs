//! The Rust SDK for Rampart control plugins.
//!
//! A plugin implements [`Plugin`] and calls [`export_plugin!`]; its checks
//! read the target through [`Host`], so the same code runs inside the Wasm
//! sandbox (through the WIT imports) and natively in unit tests (through
//! [`testing::FakeHost`]).
//!
//! ```ignore
//! use rampart_sdk::{Finding, Findings, Host, Plugin, PluginInfo, Settings, Status};
//!
//! struct Mine;
//! impl Plugin for Mine {
//!     fn info() -> PluginInfo { /* name, version, checks, capabilities */ }
//!     fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
//!         for obj in host.list_objects("v1", "Namespace", None).map_err(|e| e.to_string())? {
//!             out.push(Finding::new("labelled", Status::Pass, "ok").on_object(obj.ref_));
//!         }
//!         Ok(())
//!     }
//! }
//! rampart_sdk::export_plugin!(Mine);
//! ```

pub mod allocator;
pub mod args;
pub mod component;
pub mod files;
pub mod flags;
pub mod kubelet;
pub mod mode;
pub mod testing;
pub mod workload;
pub mod yaml;

mod finding;
mod host;

// What wit-bindgen generates from wit/, kept in the repository
// (tests/bindings.rs checks that it is current).
#[doc(hidden)]
#[rustfmt::skip]
#[allow(unsafe_code, clippy::all)]
pub mod bindings;

pub use bindings::rampart::plugin::cluster::{Object, ObjectPage};
pub use bindings::rampart::plugin::log::Level;
pub use bindings::rampart::plugin::node::{FileStat, FileType};
pub use bindings::rampart::plugin::types::{
    AccessError, Capability, CheckInfo, Finding, KindRef, ObjectRef, PluginInfo, SettingInfo, SettingKind, Severity, Status,
};

/// A setting's declaration for [`PluginInfo::settings`].
///
/// ```
/// use rampart_sdk::{setting, SettingKind};
/// let s = setting("host-ports.below", SettingKind::Integer, "ports below this are privileged");
/// assert_eq!(s.name, "host-ports.below");
/// ```
pub fn setting(name: &str, kind: SettingKind, description: &str) -> SettingInfo {
    SettingInfo { name: name.to_string(), kind, description: description.to_string() }
}
pub use finding::{CheckInfoBuilder, Findings};
pub use host::{Host, PAGE_SIZE, Settings, WasmHost};

/// A control plugin: its metadata and its checks.
pub trait Plugin {
    /// Name, version, checks and the capabilities the plugin asks for.
    /// Called by the host with every capability denied, so it must not read
    /// the target.
    fn info() -> PluginInfo;

    /// Run every check against the target `host` gives, pushing findings
    /// into `out`. An `Err` makes every check of the plugin `error`.
    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String>;
}

/// Runs a plugin's `evaluate` inside the sandbox, streaming its findings to
/// the host. Used by [`export_plugin!`].
#[doc(hidden)]
pub fn run_in_wasm<P: Plugin>(settings: Vec<(String, String)>) -> Result<(), String> {
    let settings = Settings::new(settings);
    let mut out = Findings::emitting();
    P::evaluate(&WasmHost, &settings, &mut out)?;
    out.finish()
}

/// Exports a [`Plugin`] implementation as the component's `control` world.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        // Small blocks from per-size lists (see `allocator`), where the
        // component has one thread.
        #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
        #[global_allocator]
        static __RAMPART_ALLOCATOR: $crate::allocator::SmallBlocks = $crate::allocator::SmallBlocks::new();
        // Only a Wasm build exports the world's functions: a native build
        // (tests, the native benchmark) links several plugins into one
        // binary, and their `describe`/`evaluate` symbols would clash.
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __RampartExport;
            impl $crate::bindings::Guest for __RampartExport {
                fn describe() -> $crate::PluginInfo {
                    <$plugin as $crate::Plugin>::info()
                }
                fn evaluate(
                    settings: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::run_in_wasm::<$plugin>(settings)
                }
            }
    $crate::bindings::export!(__RampartExport with_types_in $crate::bindings);
        };
    };
}

impl AccessError {
    /// The error in words (`denied: cluster.list:v1/Pod is not granted ...`).
    pub fn reason(&self) -> String {
        match self {
            AccessError::Denied(m) => format!("denied: {m}"),
            AccessError::NotFound(m) => format!("not found: {m}"),
            AccessError::Unavailable(m) => format!("unavailable: {m}"),
            AccessError::Invalid(m) => format!("invalid request: {m}"),
        }
    }
}

impl Status {
    /// The status word used in reports (`not-applicable`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::NotApplicable => "not-applicable",
            Status::Error => "error",
        }
    }
}

impl ObjectRef {
    /// Builds a reference from an object's JSON, with the kind and
    /// apiVersion given when the object itself carries none (list items).
    pub fn from_json(obj: &serde_json::Value, api_version: &str, kind: &str) -> ObjectRef {
        let meta = &obj["metadata"];
        ObjectRef {
            api_version: obj["apiVersion"].as_str().unwrap_or(api_version).to_string(),
            kind: obj["kind"].as_str().unwrap_or(kind).to_string(),
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}
