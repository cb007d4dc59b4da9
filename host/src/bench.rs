//! `rampart bench`: how long the engine takes for the work a scan does,
//! measured on this machine with the plugins and inputs given.
//! Figures go to docs/performance.md; tests never assert on time.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::broker::RunInputs;
use crate::engine::{Engine, EngineConfig};
use crate::error::Result;
use crate::grants::{CapabilitySet, Grant};
use crate::registry::Registry;
use crate::scan::{self, ScanRequest};
use crate::sources::{ClusterData, NodeRoot, manifests};

/// One measured quantity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub what: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

fn measure(what: String, runs: usize, mut f: impl FnMut()) -> Row {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    Row { what, runs, median_ms: ms(times[runs / 2]), min_ms: ms(times[0]), max_ms: ms(times[runs - 1]) }
}

/// Runs the benchmark: `iterations` sets the count of the fast measurements
/// (the cold ones run fewer times).
pub fn run(
    base: &EngineConfig,
    registry: &Registry,
    request: &ScanRequest,
    baseline: Option<&Path>,
    iterations: usize,
) -> Result<Vec<Row>> {
    let iterations = iterations.max(3);
    let cold_runs = (iterations / 10).clamp(3, 10);
    let mut rows = Vec::new();
    let cache = tempfile::tempdir().map_err(|e| crate::Error::io(std::env::temp_dir(), e))?;
    let uncached = Engine::new(EngineConfig { cache_dir: None, ..base.clone() })?;
    let cached = Engine::new(EngineConfig { cache_dir: Some(cache.path().join("c")), ..base.clone() })?;
    let entries = scan::select(registry, &request.plugins)?;

    let mut cluster = ClusterData::default();
    manifests::load(&request.manifests, &mut cluster);
    let cluster = Arc::new(cluster);
    let node = match request.nodes.first() {
        Some(root) => Some(Arc::new(NodeRoot::open(root, None)?) as Arc<dyn crate::sources::NodeView>),
        None => None,
    };

    if let Some(file) = baseline {
        let plugin = cached.load("baseline", file, None)?;
        let inputs =
            RunInputs { grant: Arc::new(Grant::none()), cluster: None, node: None, severities: Arc::new(plugin.meta.severities()) };
        rows.push(measure(
            format!("baseline {}: instantiate + evaluate, warm", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
            iterations,
            || {
                let r = cached.run(&plugin, inputs.clone(), &[]);
                assert!(r.failure.is_none(), "{:?}", r.failure);
            },
        ));
    }
    for entry in &entries {
        let bytes = entry.source.bytes()?;
        rows.push(measure(format!("{}: compile, cold ({} KB component)", entry.name, bytes.len() / 1024), cold_runs, || {
            uncached.load_source(&entry.name, &entry.source, None).expect("plugin loads");
        }));
        let plugin = cached.load_source(&entry.name, &entry.source, None)?;
        rows.push(measure(format!("{}: load from the compile cache (+ describe)", entry.name), iterations, || {
            cached.load_source(&entry.name, &entry.source, None).expect("plugin loads");
        }));
        let grant = Arc::new(Grant {
            requested: CapabilitySet::new(plugin.meta.capabilities.iter().cloned()),
            granted: CapabilitySet::new(entry.grants.iter().cloned()),
        });
        let inputs = RunInputs {
            grant,
            cluster: Some(cluster.clone()),
            node: if plugin.meta.reads_nodes() { node.clone() } else { None },
            severities: Arc::new(plugin.meta.severities()),
        };
        let target = if plugin.meta.reads_nodes() { "one node" } else { "the cluster" };
        rows.push(measure(format!("{}: instantiate + evaluate, warm ({target})", entry.name), iterations, || {
            let r = cached.run(&plugin, inputs.clone(), &entry.settings);
            assert!(r.failure.is_none(), "{:?}", r.failure);
        }));
    }
    let with_profile = request.profiles.first().map_or(String::new(), |p| format!(" with profile {}", p.id));
    rows.push(measure(format!("whole scan{with_profile}, cold (new engine, nothing cached)"), cold_runs, || {
        let engine = Engine::new(EngineConfig { cache_dir: None, ..base.clone() }).expect("engine");
        scan::scan(&engine, registry, request).expect("scan");
    }));
    rows.push(measure(format!("whole scan{with_profile}, warm (compile cache filled)"), iterations, || {
        scan::scan(&cached, registry, request).expect("scan");
    }));
    Ok(rows)
}

/// The machine the figures were taken on, in one line.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<u64>().ok()))
        .map_or("?".into(), |kb| format!("{} GiB", kb / 1024 / 1024));
    format!("{cpu}, {cores} cores, {mem}")
}
