//! JSON reports given to `rampart merge`, merged and written again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::merge;
use rampart_host::registry::Registry;

fuzz_target!(|data: &[u8]| {
    let path = rampart_fuzz::scratch("json", data);
    let registry = Registry::parse(std::path::Path::new("registry.toml"), rampart_fuzz::REGISTRY).expect("fixed registry");
    match merge::read(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(input) => {
            if let Ok(report) = merge::merge(vec![input], &registry) {
                let _ = report.to_json();
                let _ = rampart_host::report::render_text(&report, false);
            }
        }
    }
});
