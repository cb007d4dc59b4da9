//! Kubeconfig files, as far as Rampart reads them before connecting.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = kube::config::Kubeconfig::from_yaml(text) {
        for c in &config.contexts {
            let _ = &c.name;
        }
    }
});
