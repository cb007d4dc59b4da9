//! Manifest files as YAML (multi-document, lists, anchors, any bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::sources::{ClusterData, manifests};

fuzz_target!(|data: &[u8]| {
    let path = rampart_fuzz::scratch("yaml", data);
    let mut cluster = ClusterData::default();
    let errors = manifests::load(&[path], &mut cluster);
    for e in &errors {
        let _ = e.to_string();
    }
    let _ = cluster.kinds();
});
