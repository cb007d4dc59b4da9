//! Benchmark profiles, and judging an empty scan against one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::profile::{self, Coverage, Profile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Profile::parse(std::path::Path::new("profile.toml"), text) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(p) => {
            let _ = p.plugins();
            let _ = p.version_note(Some("v1.36.2"));
            let result = profile::evaluate(&p, &[], &Coverage::of(&[]));
            let _ = serde_json::to_string(&result);
        }
    }
});
