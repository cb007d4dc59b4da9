//! The kubelet's config file (and a drop-in) as the SDK reads them on a
//! node: the input is the file's bytes, given as both.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_sdk::kubelet::{Field, KubeletConfig};
use rampart_sdk::testing::FakeHost;

const FIELDS: &[Field] = &[
    Field { flag: "anonymous-auth", path: "authentication.anonymous.enabled", flag_default: Some("true"), file_default: Some("false") },
    Field { flag: "authorization-mode", path: "authorization.mode", flag_default: Some("AlwaysAllow"), file_default: Some("Webhook") },
    Field { flag: "read-only-port", path: "readOnlyPort", flag_default: Some("10255"), file_default: Some("0") },
    Field { flag: "streaming-connection-idle-timeout", path: "streamingConnectionIdleTimeout", flag_default: Some("4h"), file_default: Some("4h") },
    Field { flag: "tls-cipher-suites", path: "tlsCipherSuites", flag_default: None, file_default: None },
];

fuzz_target!(|data: &[u8]| {
    let host = FakeHost::new()
        .process(&["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--config-dir=/etc/kubelet.d"])
        .dir("/var/lib/kubelet", 0o700, 0, 0)
        .file("/var/lib/kubelet/config.yaml", 0o600, 0, 0, data)
        .dir("/etc/kubelet.d", 0o755, 0, 0)
        .file("/etc/kubelet.d/10-extra.conf", 0o600, 0, 0, data);
    if let Ok(Some(config)) = KubeletConfig::load(&host) {
        for f in FIELDS {
            let _ = config.get(f);
        }
        let _ = config.feature_gate("DynamicAuditing", false);
    }
});
