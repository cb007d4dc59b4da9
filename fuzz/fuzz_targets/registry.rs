//! registry.toml.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::registry::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = Registry::parse(std::path::Path::new("registry.toml"), text) {
        let _ = e.to_string();
    }
});
