//! The cost of the sandbox: each built-in plugin's logic compiled natively
//! (its `rlib`, called through the SDK's `Host` trait over the host's own
//! data) beside the same plugin as a Wasm component run by the engine, on
//! the same cluster and node. Both must give the same findings; the ratio
//! of their times is what the component boundary and Wasm code cost.
//!
//! A third column runs the native logic and hands its findings to the
//! host's broker as a component's would be handed (`Broker::emit_all`:
//! check lookup, limits, shared messages and evidence, the object's
//! source): what plugins linked into the host would cost, so that the
//! ratio to it is the sandbox's share alone.
//!
//!     cargo run --release -p rampart-native-bench -- --snapshot CLUSTER.json [--node ROOT] [--runs N] [--plugin NAME...]
//!
//! The Wasm components are the ones `cargo xtask plugins` builds
//! (target/wasm); figures go to docs/performance.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rampart_host::bindings::types;
use rampart_host::broker::{Broker, RunInputs};
use rampart_host::engine::{Engine, EngineConfig, Scaling};
use rampart_host::grants::{CapabilitySet, Grant};
use rampart_host::registry::Registry;
use rampart_host::sources::cluster::ClusterData;
use rampart_host::sources::node::{FileKind, NodeError, NodeRoot, NodeView, Stat};
use rampart_host::sources::snapshot;
use rampart_sdk::{AccessError, FileStat, FileType, Findings, Host, Object, ObjectPage, ObjectRef, Plugin, Settings, Status};

#[derive(Parser)]
struct Args {
    /// A cluster snapshot (`cargo xtask synthetic` writes them).
    #[arg(long)]
    snapshot: PathBuf,
    /// A node root for the node plugins (without one they are skipped).
    #[arg(long)]
    node: Option<PathBuf>,
    /// Measured runs per plugin and side (the median is shown).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only these plugins (default: every built-in one).
    #[arg(long = "plugin")]
    plugins: Vec<String>,
    /// The registry naming the components.
    #[arg(long, default_value = "registry.toml")]
    registry: PathBuf,
}

// As in the rampart binary (host/src/main.rs), so that the host's side and
// the native logic allocate as they do in a scan.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Evaluate = fn(&dyn Host, &Settings) -> Result<Vec<rampart_sdk::Finding>, String>;

fn native<P: Plugin>(host: &dyn Host, settings: &Settings) -> Result<Vec<rampart_sdk::Finding>, String> {
    let mut out = Findings::collecting();
    P::evaluate(host, settings, &mut out)?;
    Ok(out.into_vec())
}

/// Every built-in plugin, by its registry name.
const PLUGINS: &[(&str, Evaluate)] = &[
    ("pod-security", native::<pod_security::PodSecurity>),
    ("rbac", native::<rbac::Rbac>),
    ("namespaces", native::<namespaces::Namespaces>),
    ("cluster-inventory", native::<cluster_inventory::ClusterInventory>),
    ("control-plane-files", native::<control_plane_files::ControlPlaneFiles>),
    ("apiserver", native::<apiserver::ApiServer>),
    ("controller-manager", native::<controller_manager::ControllerManager>),
    ("scheduler", native::<scheduler::Scheduler>),
    ("etcd", native::<etcd::Etcd>),
    ("kubelet", native::<kubelet::Kubelet>),
    ("kube-proxy", native::<kube_proxy::KubeProxy>),
    ("node-services", native::<node_services::NodeServices>),
];

/// The SDK's view of the target, answered straight from the host's data
/// structures: what the broker serves a component, without the boundary.
struct Direct {
    cluster: Arc<ClusterData>,
    node: Option<Arc<dyn NodeView>>,
}

fn object(o: &rampart_host::sources::cluster::ClusterObject) -> Object {
    Object {
        ref_: ObjectRef { api_version: o.api_version.clone(), kind: o.kind.clone(), namespace: o.namespace.clone(), name: o.name.clone() },
        source: o.source.clone(),
        json: o.redacted.as_deref().unwrap_or(&o.json).to_string(),
    }
}

fn access(e: NodeError) -> AccessError {
    match e {
        NodeError::NotFound(m) => AccessError::NotFound(m),
        NodeError::Invalid(m) => AccessError::Invalid(m),
        NodeError::Unavailable(m) => AccessError::Unavailable(m),
    }
}

fn file_stat(s: Stat) -> FileStat {
    FileStat {
        path: s.path,
        file_type: match s.kind {
            FileKind::File => FileType::File,
            FileKind::Directory => FileType::Directory,
            FileKind::Symlink => FileType::Symlink,
            FileKind::Other => FileType::Other,
        },
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        owner: s.owner,
        group: s.group,
        size: s.size,
        link_target: s.link_target,
    }
}

impl Direct {
    fn node(&self) -> Result<&Arc<dyn NodeView>, AccessError> {
        self.node.as_ref().ok_or_else(|| AccessError::Unavailable("this run has no node target".into()))
    }
}

impl Host for Direct {
    fn list_objects(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Result<Vec<Object>, AccessError> {
        Ok(self.cluster.list(api_version, kind, namespace).map_err(AccessError::Unavailable)?.map(object).collect())
    }

    fn list_objects_page(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        limit: u32,
        continue_token: Option<&str>,
    ) -> Result<ObjectPage, AccessError> {
        let from: usize = continue_token.map_or(Ok(0), str::parse).map_err(|_| AccessError::Invalid("bad continue token".into()))?;
        let take = if limit == 0 { usize::MAX } else { limit as usize };
        let mut all = self.cluster.list(api_version, kind, namespace).map_err(AccessError::Unavailable)?.skip(from);
        let objects: Vec<Object> = all.by_ref().take(take).map(object).collect();
        let next = all.next().is_some().then(|| (from + objects.len()).to_string());
        Ok(ObjectPage { objects, continue_token: next })
    }

    fn node_name(&self) -> String {
        self.node.as_ref().map_or(String::new(), |n| n.name().to_string())
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, AccessError> {
        self.node()?.read(path).map(|b| b.to_vec()).map_err(access)
    }

    fn stat(&self, path: &str, follow: bool) -> Result<FileStat, AccessError> {
        self.node()?.stat(path, follow).map(file_stat).map_err(access)
    }

    fn list_dir(&self, path: &str) -> Result<Vec<FileStat>, AccessError> {
        Ok(self.node()?.list_dir(path).map_err(access)?.into_iter().map(file_stat).collect())
    }

    fn process_args(&self, name: &str) -> Result<Vec<Vec<String>>, AccessError> {
        self.node()?.process_args(name).map_err(access)
    }

    fn process_env(&self, name: &str, prefix: &str) -> Result<Vec<Vec<(String, String)>>, AccessError> {
        self.node()?.process_env(name, prefix).map_err(access)
    }
}

/// A finding of the native logic as it reaches the host through the WIT
/// boundary (the same record, field by field).
fn crossing(f: rampart_sdk::Finding) -> types::Finding {
    types::Finding {
        check: f.check,
        status: match f.status {
            Status::Pass => types::Status::Pass,
            Status::Fail => types::Status::Fail,
            Status::Warn => types::Status::Warn,
            Status::NotApplicable => types::Status::NotApplicable,
            Status::Error => types::Status::Error,
        },
        message: f.message,
        object: f.object.map(|o| types::ObjectRef { api_version: o.api_version, kind: o.kind, namespace: o.namespace, name: o.name }),
        path: f.path,
        evidence: f.evidence,
    }
}

/// What a finding says, for comparing the two sides: check, status,
/// subject.
type Key = (String, &'static str, String);

fn sdk_status(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Warn => "warn",
        Status::NotApplicable => "not-applicable",
        Status::Error => "error",
    }
}

fn count(keys: &[Key]) -> BTreeMap<&Key, usize> {
    let mut m: BTreeMap<&Key, usize> = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    // As in the rampart binary: no transparent huge pages.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let args = Args::parse();
    let runs = args.runs.max(1);
    let registry = Registry::load(&args.registry)?;

    let t = Instant::now();
    let mut cluster = None;
    match snapshot::load(&args.snapshot)? {
        snapshot::Loaded::Cluster(snap) => {
            let errors = snapshot::add_cluster(snap, &args.snapshot, &mut cluster);
            if let Some(e) = errors.first() {
                bail!("{e}");
            }
        }
        snapshot::Loaded::Node(..) => bail!("{}: a node snapshot; give a cluster snapshot", args.snapshot.display()),
    }
    let cluster = Arc::new(cluster.unwrap_or_default());
    eprintln!("loaded {} objects in {:.0} ms", cluster.len(), ms(t.elapsed()));
    let node: Option<Arc<dyn NodeView>> = match &args.node {
        Some(root) => Some(Arc::new(NodeRoot::open(root, None)?)),
        None => None,
    };

    let cache = std::env::temp_dir().join("rampart-native-bench-cache");
    let engine = Engine::new(EngineConfig {
        cache_dir: Some(cache),
        scale: Scaling { timeout: true, findings: true, output: true, memory: true },
        ..EngineConfig::default()
    })?;

    println!(
        "| plugin | target | findings | native (median of {runs}) | native + host intake | Wasm | Wasm / native | Wasm / (native + intake) | Wasm cost per finding, over native | over native + intake |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, evaluate) in PLUGINS {
        if !args.plugins.is_empty() && !args.plugins.iter().any(|p| p == name) {
            continue;
        }
        let entry = registry.plugins.iter().find(|e| e.name == *name).with_context(|| format!("{name} is not in the registry"))?;
        let plugin = engine.load_source(name, &entry.source, entry.sha256.as_deref())?;
        let reads_nodes = plugin.meta.reads_nodes();
        if reads_nodes && node.is_none() {
            eprintln!("{name}: skipped (a node plugin; give --node)");
            continue;
        }
        let node_in_view = if reads_nodes { node.clone() } else { None };
        let direct = Direct { cluster: cluster.clone(), node: node_in_view.clone() };
        let settings = Settings::new(entry.settings.clone());

        let mut native_keys = Vec::new();
        let mut native_times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let findings = evaluate(&direct, &settings).map_err(|e| anyhow::anyhow!("{name} (native): {e}"))?;
            native_times.push(t.elapsed());
            native_keys = findings
                .into_iter()
                .map(|f| {
                    let subject = f.object.map(|o| format!("{}/{}/{}/{}", o.api_version, o.kind, o.namespace.unwrap_or_default(), o.name));
                    (f.check, sdk_status(f.status), subject.or(f.path).unwrap_or_default())
                })
                .collect::<Vec<Key>>();
        }

        let inputs = RunInputs {
            grant: Arc::new(Grant {
                requested: CapabilitySet::new(plugin.meta.capabilities.iter().cloned()),
                granted: CapabilitySet::new(entry.grants.iter().cloned()),
            }),
            cluster: Some(cluster.clone()),
            node: node_in_view,
            severities: Arc::new(plugin.meta.severities()),
        };
        let limits = engine.config().limits_for(cluster.len());
        let mut intake_times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let findings = evaluate(&direct, &settings).map_err(|e| anyhow::anyhow!("{name} (native): {e}"))?;
            let mut broker = Broker::new(name, inputs.clone(), Instant::now() + limits.timeout, Duration::from_secs(60), limits.output);
            broker
                .emit_all(findings.into_iter().map(crossing).collect())
                .map_err(|e| anyhow::anyhow!("{name} (native, host intake): {e}"))?;
            intake_times.push(t.elapsed());
            if broker.findings.len() != native_keys.len() {
                bail!("{name}: the broker kept {} of {} native findings", broker.findings.len(), native_keys.len());
            }
        }
        let mut wasm_keys = Vec::new();
        let mut wasm_times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let result = engine.run_with(&plugin, inputs.clone(), &entry.settings, limits);
            wasm_times.push(t.elapsed());
            if let Some(why) = result.failure {
                bail!("{name} (Wasm): {why}");
            }
            wasm_keys = result
                .findings
                .into_iter()
                .map(|f| {
                    let check = f.check.strip_prefix(&format!("{name}/")).unwrap_or(&f.check).to_string();
                    let subject =
                        f.object.map(|o| format!("{}/{}/{}/{}", o.api_version, o.kind, o.namespace.as_deref().unwrap_or_default(), o.name));
                    (check, f.status.as_str(), subject.or(f.path.map(|p| p.to_string())).unwrap_or_default())
                })
                .collect::<Vec<Key>>();
        }

        if count(&native_keys) != count(&wasm_keys) {
            bail!("{name}: the native and Wasm builds disagree ({} findings natively, {} as Wasm)", native_keys.len(), wasm_keys.len());
        }
        let (n, i, w) = (median(native_times), median(intake_times), median(wasm_times));
        let per_finding = |base: Duration| {
            if native_keys.is_empty() { "".to_string() } else { format!("{:.2} µs", (ms(w) - ms(base)) * 1e3 / native_keys.len() as f64) }
        };
        println!(
            "| {name} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2}x | {:.2}x | {} | {} |",
            if reads_nodes { "node" } else { "cluster" },
            native_keys.len(),
            ms(n),
            ms(i),
            ms(w),
            ms(w) / ms(n).max(1e-6),
            ms(w) / ms(i).max(1e-6),
            per_finding(n),
            per_finding(i),
        );
    }
    Ok(())
}
