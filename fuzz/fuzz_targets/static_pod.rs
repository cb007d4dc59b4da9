//! Static pod manifests and pods as the SDK takes a component's command
//! line from them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["kube-apiserver", "etcd", "kube-scheduler"] {
        if let Ok(argv) = rampart_sdk::component::manifest_argv(data, name) {
            let _ = rampart_sdk::component::parse(&argv);
        }
    }
    if let Ok(pod) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = rampart_sdk::component::pod_argv(&pod, "kube-apiserver");
    }
});
