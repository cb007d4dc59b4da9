//! Manifest files as JSON (objects one after another, lists, typed lists).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::sources::{ClusterData, manifests};

fuzz_target!(|data: &[u8]| {
    let path = rampart_fuzz::scratch("json", data);
    let mut cluster = ClusterData::default();
    let errors = manifests::load(&[path], &mut cluster);
    for e in &errors {
        let _ = e.to_string();
    }
    let _ = cluster.kinds();
});
