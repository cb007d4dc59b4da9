//! Node and cluster snapshot files, and what a scan asks of a node snapshot.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_host::sources::snapshot::{self, Loaded};

fuzz_target!(|data: &[u8]| {
    let path = rampart_fuzz::scratch("json", data);
    match snapshot::load(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(Loaded::Cluster(snap)) => {
            let mut cluster = None;
            let _ = snapshot::add_cluster(snap, &path, &mut cluster);
            if let Some(cluster) = cluster {
                let _ = cluster.kinds();
            }
        }
        Ok(Loaded::Node(node, _)) => {
            for p in ["/", "/etc/kubernetes/manifests", "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/config.yaml", "/proc", "a/../b"] {
                let _ = node.stat(p, true);
                let _ = node.stat(p, false);
                let _ = node.read(p);
                let _ = node.list_dir(p);
            }
            for name in ["kubelet", "kube-apiserver", "etcd", "kube-proxy"] {
                let _ = node.process_args(name);
            }
            for follow in [true, false] {
                let _ = node.real_path("/var/lib/kubelet/config.yaml", follow);
            }
            let _ = node.origin();
            let _ = node.name();
        }
    }
});
