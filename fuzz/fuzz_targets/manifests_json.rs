//! Manifest files as JSON (objects one after another, lists, typed lists),
//! read as one input of `--manifests`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::sources::{ClusterData, manifests};

fuzz_target!(|data: &[u8]| {
    let mut cluster = ClusterData::default();
    let errors = manifests::load_bytes("input.json", data, &mut cluster);
    for e in &errors {
        let _ = e.to_string();
    }
    let _ = cluster.kinds();
});
