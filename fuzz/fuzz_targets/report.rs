//! JSON reports given to `rampart merge`, merged and written again. The
//! registry is the repository's own, so a report that assessed a profile is
//! re-assessed against the real profile files and rendered in the profile
//! view, as `rampart merge` does.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_host::merge;
use rampart_host::registry::Registry;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../registry.toml");
        Registry::load(&path).expect("the repository's registry.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = rampart_fuzz::scratch("json", data);
    match merge::read(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(input) => match merge::merge(vec![input], registry()) {
            Err(e) => {
                let _ = e.to_string();
            }
            Ok(mut report) => {
                let _ = rampart_host::report::json::write_report(std::io::sink(), &mut report);
                let _ = rampart_host::report::render_text(&report, false);
                let _ = rampart_host::report::render_text(&report, true);
            }
        },
    }
});
