//! One scan: read the inputs once, load the plugins, run each against its
//! targets (the cluster, or every node) under its grant, and gather the
//! report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::broker::RunInputs;
use crate::engine::{Engine, Plugin, RunResult};
use crate::error::{Error, Result};
use crate::grants::{Capability, CapabilitySet, Grant};
use crate::profile::{self, Coverage, Profile};
use crate::registry::{PluginEntry, Registry};
use crate::report::{
    Capabilities, DeniedCall, Finding, NodeTarget, Outcome, PluginReport, Report, Run, SCHEMA_VERSION, Summary, Targets, Tool,
};
use crate::sources::cluster::Unread;
use crate::sources::live::{self, LiveOptions, Wanted};
use crate::sources::snapshot::{self, Loaded};
use crate::sources::{ClusterData, NodeRoot, NodeView, manifests};

/// What to scan, with what.
#[derive(Debug, Default)]
pub struct ScanRequest {
    pub manifests: Vec<PathBuf>,
    pub nodes: Vec<PathBuf>,
    /// The names of `nodes`, in order (`--name`); when empty each node
    /// names itself ([`NodeRoot::own_name`]).
    pub node_names: Vec<String>,
    /// Only these plugins (all in the registry when empty).
    pub plugins: Vec<String>,
    /// Grants added to every plugin's registry grants.
    pub grants: Vec<Capability>,
    /// The benchmark profiles to assess (their plugins run with their
    /// settings: once when the profiles agree, once per distinct set when
    /// they do not).
    pub profiles: Vec<Profile>,
    /// Plugin runs at once (default: the cores available).
    pub jobs: Option<usize>,
    /// Snapshot files (node or cluster) scanned as if live.
    pub snapshots: Vec<PathBuf>,
    /// Nodes prepared by the caller (the recorder of `snapshot node`).
    pub node_views: Vec<Arc<dyn NodeView>>,
    /// A live API server to list the plugins' kinds from.
    pub live: Option<LiveOptions>,
    /// The size limit of each manifest input, in bytes (default:
    /// [`manifests::DEFAULT_MAX_BYTES`]).
    pub max_manifest_bytes: Option<u64>,
    /// Draw a progress bar on standard error (the caller decides: a
    /// terminal, not `--quiet`, not CI).
    pub progress: bool,
    /// How the profiles' controls hold their findings (copies unless the
    /// caller writes only a compact JSON report).
    pub control_findings: profile::ControlFindings,
}

/// Whether a scan shows its progress: on a terminal only, and not in CI
/// (`CI` set) or with `--quiet`.
pub fn shows_progress(stderr_is_terminal: bool, quiet: bool, ci: bool) -> bool {
    stderr_is_terminal && !quiet && !ci
}

/// A spinner or bar on standard error, or nothing.
fn progress(show: bool, len: Option<u64>, message: &'static str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let bar = bar.with_finish(indicatif::ProgressFinish::AndClear);
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// The check id of the host's own `warn` findings about inputs it read with
/// a caveat (a workload under a removed apiVersion).
pub const REMOVED_API_VERSION: &str = "rampart/removed-api-version";

/// Every check the host itself reports on, under the reserved plugin name
/// `rampart`.
pub const HOST_CHECKS: &[&str] = &[REMOVED_API_VERSION];

/// Where a run points.
#[derive(Debug, Clone)]
enum Target {
    Cluster,
    Node(Arc<dyn NodeView>),
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Cluster => "cluster".into(),
            Target::Node(n) => format!("node/{}", n.name()),
        }
    }
}

/// One run to make: a plugin against one target.
struct Job {
    /// Index of the plugin's entry in the report.
    report: usize,
    plugin: Arc<Plugin>,
    target: Target,
    inputs: RunInputs,
    settings: Vec<(String, String)>,
    /// Its limits, grown with the objects it may list.
    limits: crate::engine::RunLimits,
    /// The profiles its findings are for (empty: all).
    profiles: Vec<String>,
}

/// The plugins of the registry that the request selects, or an error
/// naming an unknown one.
pub fn select<'a>(registry: &'a Registry, names: &[String]) -> Result<Vec<&'a PluginEntry>> {
    if names.is_empty() {
        return Ok(registry.plugins.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            registry.plugins.iter().find(|p| &p.name == n).ok_or_else(|| Error::Registry {
                path: registry.path.clone(),
                message: format!(
                    "--plugin {n}: no such plugin (known: {})",
                    registry.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })
        })
        .collect()
}

/// The registry entries a request runs: those it names (or all), narrowed
/// to the plugins a profile's controls name.
fn entries<'a>(registry: &'a Registry, request: &ScanRequest) -> Result<Vec<&'a PluginEntry>> {
    let mut entries = select(registry, &request.plugins)?;
    if !request.profiles.is_empty() {
        let wanted: Vec<String> = request.profiles.iter().flat_map(|p| p.plugins()).collect();
        entries.retain(|e| wanted.contains(&e.name));
    }
    Ok(entries)
}

/// Loads (compiles, or fetches from the cache) every plugin in parallel.
fn load_all(engine: &Engine, entries: &[&PluginEntry]) -> Vec<Result<Plugin>> {
    std::thread::scope(|s| {
        let handles: Vec<_> =
            entries.iter().map(|e| s.spawn(move || engine.load_source(&e.name, &e.source, e.sha256.as_deref()))).collect();
        handles.into_iter().map(|h| h.join().expect("plugin loader thread")).collect()
    })
}

/// What a plugin may do: what it asked for within what the registry and
/// the command line granted.
fn grant_for(entry: &PluginEntry, plugin: &Plugin, extra: &[Capability]) -> Grant {
    Grant {
        requested: CapabilitySet::new(plugin.meta.capabilities.iter().cloned()),
        granted: CapabilitySet::new(entry.grants.iter().chain(extra).cloned()),
    }
}

/// The kinds the loaded plugins may list: what a live source lists.
fn wanted(entries: &[&PluginEntry], loaded: &[Result<Plugin>], extra: &[Capability]) -> Wanted {
    let mut kinds = BTreeSet::new();
    for (entry, plugin) in entries.iter().zip(loaded) {
        let Ok(plugin) = plugin else { continue };
        for cap in grant_for(entry, plugin, extra).effective() {
            if let Capability::ClusterList { api_version, kind } = cap {
                if api_version == "*" {
                    return Wanted::Everything;
                }
                kinds.insert((api_version, kind));
            }
        }
    }
    Wanted::Kinds(kinds)
}

/// The kinds a request's plugins would list from a live cluster (for
/// `rampart snapshot cluster --profile`).
pub fn cluster_kinds(engine: &Engine, registry: &Registry, request: &ScanRequest) -> Result<Wanted> {
    let entries = entries(registry, request)?;
    let mut loaded = Vec::new();
    for plugin in load_all(engine, &entries) {
        loaded.push(Ok(plugin?));
    }
    Ok(wanted(&entries, &loaded, &request.grants))
}

/// Runs a whole scan. Only a request that cannot start at all (an unknown
/// plugin name, an API server that cannot be used) is an `Err`; bad inputs
/// are listed in `Report::errors`.
pub fn scan(engine: &Engine, registry: &Registry, request: &ScanRequest) -> Result<Report> {
    let entries = entries(registry, request)?;
    // Each profile's settings, by plugin.
    let mut profile_settings: Vec<ProfileSettings<'_>> = Vec::new();
    for profile in &request.profiles {
        let settings = profile.plugin_settings().map_err(|message| Error::Profile { path: PathBuf::from(&profile.id), message })?;
        profile_settings.push((profile, settings));
    }
    let mut errors: Vec<String> = Vec::new();

    let started = std::time::Instant::now();
    let reading = progress(request.progress, None, "reading inputs");
    let mut cluster_data: Option<ClusterData> = None;
    if !request.manifests.is_empty() {
        let data = cluster_data.get_or_insert_with(ClusterData::default);
        let limit = request.max_manifest_bytes.unwrap_or(manifests::DEFAULT_MAX_BYTES);
        errors.extend(manifests::load_with_limit(&request.manifests, limit, data).into_iter().map(|e| e.to_string()));
    }
    let mut nodes: Vec<Arc<dyn NodeView>> = request.node_views.clone();
    // Node inputs that could not be read, and snapshot files that could be
    // of either kind: the checks judged without them get an `error` each.
    let mut unread_nodes: Vec<(String, String)> = Vec::new();
    let mut unread_snapshots: Vec<Unread> = Vec::new();
    for file in &request.snapshots {
        match snapshot::load(file) {
            Ok(Loaded::Node(node, recorded)) => {
                errors.extend(recorded);
                nodes.push(node);
            }
            Ok(Loaded::Cluster(snap)) => {
                errors.extend(snapshot::add_cluster(snap, file, &mut cluster_data).into_iter().map(|e| e.to_string()));
            }
            Err(e) => {
                unread_nodes.push((file.display().to_string(), e.to_string()));
                unread_snapshots.push(Unread::anything(file.display().to_string(), e.to_string()));
                errors.push(e.to_string());
            }
        }
    }
    if let Some(data) = &mut cluster_data {
        data.unread.extend(unread_snapshots);
    }
    if !request.node_names.is_empty() && request.node_names.len() != request.nodes.len() {
        return Err(Error::NodeName {
            name: request.node_names.join(", "),
            message: format!(
                "{} names for {} node roots: give one --name per --node root, in order",
                request.node_names.len(),
                request.nodes.len()
            ),
        });
    }
    for (i, root) in request.nodes.iter().enumerate() {
        match NodeRoot::open(root, request.node_names.get(i).cloned()) {
            Ok(node) => nodes.push(Arc::new(node)),
            Err(e) => {
                let label = request.node_names.get(i).cloned().unwrap_or_else(|| root.display().to_string());
                unread_nodes.push((label, e.to_string()));
                errors.push(e.to_string());
            }
        }
    }
    distinct_names(&mut nodes)?;

    // Load (compile or fetch from the cache) every plugin in parallel.
    reading.finish_and_clear();
    let loading = progress(request.progress, None, "loading plugins");
    tracing::info!("inputs read in {} ms", started.elapsed().as_millis());
    let loaded = load_all(engine, &entries);
    tracing::info!("plugins loaded at {} ms", started.elapsed().as_millis());
    loading.finish_and_clear();
    for profile in &request.profiles {
        let installed: Vec<&str> = registry.plugins.iter().map(|p| p.name.as_str()).collect();
        let declared = loaded
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|p| (p.name.as_str(), p.meta.checks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>()));
        profile.check_plugins(&installed, declared)?;
    }
    // Settings name what a plugin reads: one it does not read, or a value
    // it cannot take, would leave a check on its default unseen.
    let mut problems = Vec::new();
    for (entry, plugin) in entries.iter().zip(&loaded) {
        let Ok(plugin) = plugin else { continue };
        if let Err(e) = plugin.meta.check_settings(&entry.name, &entry.settings, &registry.path.display().to_string()) {
            problems.push(e);
        }
        for (profile, settings) in &profile_settings {
            if let Some(pairs) = settings.get(&entry.name)
                && let Err(e) = plugin.meta.check_settings(&entry.name, pairs, &profile.path.display().to_string())
            {
                problems.push(e);
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Settings(problems.join("\n")));
    }
    if let Some(options) = &request.live {
        let _listing = progress(request.progress, None, "listing the cluster's objects");
        let wanted = wanted(&entries, &loaded, &request.grants);
        let data = cluster_data.get_or_insert_with(ClusterData::default);
        live::fetch(options, &wanted, data)?;
    }
    if let Some(data) = &cluster_data {
        errors.extend(data.failures());
    }
    let cluster = cluster_data.map(Arc::new);

    let mut reports: Vec<PluginReport> = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let mut unread_node_findings: Vec<Finding> = Vec::new();
    for (entry, result) in entries.iter().zip(loaded) {
        let variants = variants(entry, &profile_settings);
        let plugin = match result {
            Ok(p) => Arc::new(p),
            Err(e) => {
                errors.push(e.to_string());
                for (settings, profiles) in variants {
                    reports.push(PluginReport {
                        name: entry.name.clone(),
                        version: String::new(),
                        digest: String::new(),
                        source: entry.source.to_string(),
                        checks: Vec::new(),
                        capabilities: Capabilities::default(),
                        runs: Vec::new(),
                        settings: Some(settings.into_iter().collect()),
                        profiles,
                        error: Some(e.to_string()),
                    });
                }
                continue;
            }
        };
        let grant = Arc::new(grant_for(entry, &plugin, &request.grants));
        let targets: Vec<Target> = if plugin.meta.reads_nodes() && !(nodes.is_empty() && plugin.meta.lists_objects()) {
            nodes.iter().cloned().map(Target::Node).collect()
        } else {
            // Cluster plugins; and node plugins that also list objects when
            // there are no node roots: they run once against the cluster,
            // where their node calls answer `unavailable` (the control-plane
            // flag plugins then read the mirror pods).
            cluster.iter().map(|_| Target::Cluster).collect()
        };
        if targets.iter().any(|t| matches!(t, Target::Node(_))) {
            unread_node_findings.extend(unread_node_errors(&plugin, &unread_nodes));
        }
        let severities = Arc::new(plugin.meta.severities());
        let objects = cluster
            .as_ref()
            .map_or(0, |c| c.count_where(|api_version, kind| grant.allows(crate::grants::Access::List { api_version, kind })));
        let limits = engine.config().limits_for(objects);
        for (settings, profiles) in variants {
            let index = reports.len();
            let mut runs = Vec::new();
            if targets.is_empty() {
                let why = if plugin.meta.reads_nodes() {
                    "no node root given (--node)"
                } else {
                    "no cluster source given (--manifests, --kubeconfig or --in-cluster)"
                };
                runs.push(Run {
                    target: "-".into(),
                    outcome: Outcome::Skipped,
                    message: Some(why.into()),
                    duration_ms: 0.0,
                    stdout: None,
                    stderr: None,
                });
            }
            for target in &targets {
                let node = match target {
                    Target::Node(n) => Some(n.clone()),
                    Target::Cluster => None,
                };
                let inputs = RunInputs { grant: grant.clone(), cluster: cluster.clone(), node, severities: severities.clone() };
                jobs.push(Job {
                    report: index,
                    plugin: plugin.clone(),
                    target: target.clone(),
                    inputs,
                    settings: settings.clone(),
                    limits,
                    profiles: profiles.clone(),
                });
            }
            reports.push(PluginReport {
                name: plugin.name.clone(),
                version: plugin.meta.version.clone(),
                digest: plugin.digest.clone(),
                source: plugin.source.display().to_string(),
                checks: plugin.meta.checks.clone(),
                capabilities: Capabilities {
                    requested: plugin.meta.capabilities.iter().map(ToString::to_string).collect(),
                    granted: grant.effective().iter().map(ToString::to_string).collect(),
                    denied_calls: 0,
                    denied: Vec::new(),
                },
                runs,
                settings: Some(settings.into_iter().collect()),
                profiles,
                error: None,
            });
        }
    }

    // Run every (plugin, target) pair on a small pool of threads.
    let results: Vec<Mutex<Option<RunResult>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = Mutex::new(0usize);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = request.jobs.unwrap_or(cores).max(1).min(jobs.len().max(1));
    let running = progress(request.progress, Some(jobs.len() as u64), "running plugins");
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("job counter");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(job) = jobs.get(i) else { break };
                    let result = engine.run_with(&job.plugin, job.inputs.clone(), &job.settings, job.limits);
                    *results[i].lock().expect("result slot") = Some(result);
                    running.inc(1);
                }
            });
        }
    });
    running.finish_and_clear();
    tracing::info!("{} plugin runs done at {} ms", jobs.len(), started.elapsed().as_millis());

    let mut findings = input_warnings(cluster.as_deref());
    findings.extend(unread_node_findings);
    // The findings in the order of the runs; those of a plugin that ran once
    // per profile gathered at the place of its first run.
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut merged: Vec<VariantFindings> = Vec::new();
    let mut slot_of: HashMap<(usize, String), usize> = HashMap::new();
    let mut denied: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); reports.len()];
    for (job, slot) in jobs.iter().zip(results) {
        let result = slot.into_inner().expect("result slot").expect("every job ran");
        let (index, target) = (&job.report, &job.target);
        let report = &mut reports[*index];
        // What the plugin printed is how its author debugs it: shown with -v.
        for (stream, tail) in [("stdout", &result.stdout), ("stderr", &result.stderr)] {
            if let Some(tail) = tail {
                tracing::info!(
                    "plugin {} on {}: its {stream} ends with:\n{}",
                    report.name,
                    target.label(),
                    tail.lines().map(|l| format!("  | {}", crate::report::terminal_safe(l))).collect::<Vec<_>>().join("\n")
                );
            }
        }
        report.capabilities.denied_calls += result.denied_calls;
        for (what, n) in result.denied {
            *denied[*index].entry(what).or_default() += n;
        }
        report.runs.push(Run {
            target: target.label(),
            outcome: if result.failure.is_some() { Outcome::Error } else { Outcome::Ok },
            message: result.failure.clone(),
            duration_ms: round_ms(result.duration),
            stdout: result.stdout.clone(),
            stderr: result.stderr.clone(),
        });
        if job.profiles.is_empty() {
            chunks.push(Chunk::Findings(result.findings));
        } else {
            // One of several runs of this plugin on this target, each with
            // one profile's settings: what they judged alike is kept once.
            let key = (Arc::as_ptr(&job.plugin) as usize, target.label());
            let slot = *slot_of.entry(key).or_insert_with(|| {
                merged.push(VariantFindings::default());
                chunks.push(Chunk::Merged(merged.len() - 1));
                merged.len() - 1
            });
            merged[slot].add(result.findings, &job.profiles);
        }
    }
    let all_profiles: Vec<String> = request.profiles.iter().map(|p| p.id.clone()).collect();
    // Room for all of them at once: a large cluster's findings are
    // hundreds of MB, and growing the list by doubling held up to three
    // times that while it grew.
    findings.reserve(
        chunks
            .iter()
            .map(|c| match c {
                Chunk::Findings(f) => f.len(),
                Chunk::Merged(i) => merged[*i].findings.len(),
            })
            .sum(),
    );
    for chunk in chunks {
        match chunk {
            Chunk::Findings(f) => findings.extend(f),
            Chunk::Merged(i) => findings.extend(std::mem::take(&mut merged[i]).finish(&all_profiles)),
        }
    }
    for (report, denied) in reports.iter_mut().zip(denied) {
        report.capabilities.denied = denied.into_iter().map(|(capability, count)| DeniedCall { capability, count }).collect();
    }

    let targets = Targets {
        cluster_sources: cluster.as_ref().map(|c| c.sources.clone()).unwrap_or_default(),
        cluster_objects: cluster.as_ref().map_or(0, |c| c.len()),
        kubernetes_version: cluster.as_ref().and_then(|c| c.version.clone()),
        nodes: nodes.iter().map(|n| NodeTarget { name: n.name().to_string(), root: n.origin() }).collect(),
    };
    let summary = Summary::of(&findings);
    // Each profile judged on a thread of its own: a large cluster's
    // controls gather hundreds of thousands of findings.
    let evaluate = |p: &Profile| {
        let coverage = Coverage::for_profile(&reports, &p.id);
        let mut result = profile::judge(p, &findings, &coverage, request.control_findings);
        result.version_note = p.version_note(cluster.as_ref().and_then(|c| c.version.as_deref()));
        result
    };
    let profiles = std::thread::scope(|s| {
        let mut rest = request.profiles.iter().skip(1).map(|p| s.spawn(move || evaluate(p))).collect::<Vec<_>>().into_iter();
        request
            .profiles
            .first()
            .map(evaluate)
            .into_iter()
            .chain(rest.by_ref().map(|h| h.join().expect("a profile's evaluation does not panic")))
            .collect::<Vec<_>>()
    });
    tracing::info!("findings gathered and profiles evaluated at {} ms", started.elapsed().as_millis());
    // The cluster's objects freed beside the rest of the command.
    drop(jobs);
    std::thread::spawn(move || drop(cluster));
    Ok(Report {
        waivers: Vec::new(),
        schema_version: SCHEMA_VERSION.to_string(),
        tool: Tool { name: "rampart".into(), version: env!("CARGO_PKG_VERSION").into() },
        targets,
        plugins: reports,
        findings,
        passes: Vec::new(),
        summary,
        profiles,
        errors,
    })
}

/// A profile and the settings it gives each plugin.
type ProfileSettings<'a> = (&'a Profile, BTreeMap<String, Vec<(String, String)>>);

/// A run's findings, or the merged findings of one plugin's runs on one
/// target with each profile's settings.
enum Chunk {
    Findings(crate::broker::Findings),
    Merged(usize),
}

/// The findings of one plugin on one target, from its runs with each
/// profile's settings (kubelet's `config-file-mode` differs between CIS and
/// the STIG, its other checks judge alike). A finding that
/// several runs made alike is kept once, tagged with all their profiles,
/// and with none (all of them) when every run made it: the report does not
/// carry each verdict once per profile, and a control still sees exactly
/// the findings made for its profile, in the order its run made them.
#[derive(Default)]
struct VariantFindings {
    findings: Vec<Finding>,
    /// The profiles of each run, in the order the runs came.
    runs: Vec<Vec<String>>,
    /// For each finding: the run that made it first, and the runs that
    /// made it (a bit per run; runs past the 64th are not merged).
    made_by: Vec<(usize, u64)>,
    /// The first and last finding with each hash of its verdict;
    /// `same_hash` links each finding to the next one with its hash.
    index: HashMap<u64, (usize, usize)>,
    same_hash: Vec<usize>,
    /// The order, as a tree walked depth first: each finding's first
    /// follower and next sibling (`first`: the first finding of all). A
    /// later run's finding becomes the first follower of its predecessor,
    /// ahead of what an earlier run placed there.
    follower: Vec<usize>,
    sibling: Vec<usize>,
    first: Option<usize>,
}

/// No finding, in the links of [`VariantFindings`].
const NONE: usize = usize::MAX;

impl VariantFindings {
    fn add(&mut self, findings: impl IntoIterator<Item = Finding>, profiles: &[String]) {
        // Each finding of this run matches at most one earlier finding not
        // already matched by this run (a run may make the same finding
        // twice). One that matches none goes right after this run's
        // previous finding, so each run's findings keep their order.
        let run = self.runs.len();
        self.runs.push(profiles.to_vec());
        let bit = if run < 64 { 1u64 << run } else { 0 };
        let mut previous: Option<usize> = None;
        for f in findings {
            let hash = verdict_hash(&f);
            if bit != 0 && run > 0 {
                let mut i = self.index.get(&hash).map_or(NONE, |(head, _)| *head);
                while i != NONE && (self.made_by[i].1 & bit != 0 || !same_verdict(&self.findings[i], &f)) {
                    i = self.same_hash[i];
                }
                if i != NONE {
                    self.made_by[i].1 |= bit;
                    previous = Some(i);
                    continue;
                }
            }
            let at = self.findings.len();
            match self.index.get_mut(&hash) {
                Some((_, tail)) => {
                    self.same_hash[*tail] = at;
                    *tail = at;
                }
                None => {
                    self.index.insert(hash, (at, at));
                }
            }
            self.same_hash.push(NONE);
            self.findings.push(f);
            self.made_by.push((run, bit));
            self.follower.push(NONE);
            match previous {
                Some(p) => {
                    self.sibling.push(self.follower[p]);
                    self.follower[p] = at;
                }
                None => {
                    self.sibling.push(self.first.unwrap_or(NONE));
                    self.first = Some(at);
                }
            }
            previous = Some(at);
        }
    }

    /// The findings in order, with their profiles in the scan's order
    /// (`all`); none when made for all of them.
    fn finish(self, all: &[String]) -> Vec<Finding> {
        // Each finding's place: the tree walked depth first.
        let mut place = vec![0usize; self.findings.len()];
        let mut stack: Vec<usize> = self.first.into_iter().collect();
        let mut next = 0;
        while let Some(i) = stack.pop() {
            place[i] = next;
            next += 1;
            if self.sibling[i] != NONE {
                stack.push(self.sibling[i]);
            }
            if self.follower[i] != NONE {
                stack.push(self.follower[i]);
            }
        }
        // The runs of each finding, as a tag shared by the findings with the
        // same runs.
        let mut shared: HashMap<(usize, u64), Arc<[String]>> = HashMap::new();
        let runs = &self.runs;
        let tag = |&(first, mask): &(usize, u64)| -> Arc<[String]> {
            let mut profiles: Vec<String> = if mask == 0 {
                runs[first].clone()
            } else {
                (0..runs.len().min(64)).filter(|r| mask & (1 << r) != 0).flat_map(|r| runs[r].iter().cloned()).collect()
            };
            if profiles.len() >= all.len() {
                return Arc::default();
            }
            profiles.sort_by_key(|p| all.iter().position(|a| a == p));
            profiles.into()
        };
        let mut placed: Vec<(usize, Finding)> = self
            .findings
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.profiles = shared.entry(self.made_by[i]).or_insert_with(|| tag(&self.made_by[i])).clone();
                (place[i], f)
            })
            .collect();
        placed.sort_unstable_by_key(|(at, _)| *at);
        placed.into_iter().map(|(_, f)| f).collect()
    }
}

/// Two findings say the same thing about the same subject.
fn same_verdict(a: &Finding, b: &Finding) -> bool {
    a.check == b.check
        && a.status == b.status
        && a.severity == b.severity
        && a.message == b.message
        && a.object == b.object
        && a.path == b.path
        && a.node == b.node
        && a.source == b.source
        && a.line == b.line
        && a.evidence == b.evidence
}

/// A hash of part of what [`same_verdict`] compares: enough to tell
/// findings apart, less to hash.
fn verdict_hash(f: &Finding) -> u64 {
    let mut h = DefaultHasher::new();
    (&f.check, f.status, &f.message, &f.path, &f.node).hash(&mut h);
    if let Some(o) = &f.object {
        (&o.kind, &o.namespace, &o.name).hash(&mut h);
    }
    h.finish()
}

/// Settings a plugin runs with, and the profiles they serve (none: all).
type Variant = (Vec<(String, String)>, Vec<String>);

/// The settings a plugin runs with, each with the profiles it serves: one
/// set (serving every profile, so tagged with none) when the profiles agree
/// or there is at most one profile; one set per distinct settings, tagged
/// with the profiles that give them, when they differ.
fn variants(entry: &PluginEntry, profiles: &[ProfileSettings<'_>]) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    for (profile, settings) in profiles {
        let mine = settings_of(entry, settings);
        // Compared as the plugin reads them: the last value of a key wins.
        let effective = |s: &[(String, String)]| s.iter().cloned().collect::<BTreeMap<String, String>>();
        match out.iter_mut().find(|(s, _)| effective(s) == effective(&mine)) {
            Some((_, ids)) => ids.push(profile.id.clone()),
            None => out.push((mine, vec![profile.id.clone()])),
        }
    }
    match out.len() {
        0 => vec![(entry.settings.clone(), Vec::new())],
        1 => vec![(out.remove(0).0, Vec::new())],
        _ => out,
    }
}

/// A plugin's settings: the registry's, then the profile's (which win).
fn settings_of(entry: &PluginEntry, profile: &BTreeMap<String, Vec<(String, String)>>) -> Vec<(String, String)> {
    let mut settings = entry.settings.clone();
    settings.extend(profile.get(&entry.name).cloned().unwrap_or_default());
    settings
}

/// Every node target under its own name: the same root (or snapshot) given
/// twice is scanned once; two different ones under one name would mix two
/// nodes' findings in every report and merge, so they stop the scan.
fn distinct_names(nodes: &mut Vec<Arc<dyn NodeView>>) -> Result<()> {
    let place = |n: &Arc<dyn NodeView>| {
        let origin = n.origin();
        std::fs::canonicalize(&origin).map_or(origin, |p| p.display().to_string())
    };
    let mut kept: Vec<Arc<dyn NodeView>> = Vec::new();
    for node in nodes.drain(..) {
        match kept.iter().find(|k| k.name() == node.name()) {
            None => kept.push(node),
            Some(k) if place(k) == place(&node) => {}
            Some(k) => {
                return Err(Error::NodeName {
                    name: node.name().to_string(),
                    message: format!(
                        "both {} and {} are this node: name each with --name (`snapshot node --name`), or drop one",
                        k.origin(),
                        node.origin()
                    ),
                });
            }
        }
    }
    *nodes = kept;
    Ok(())
}

/// The host's `warn` findings about objects read with a caveat: in the
/// findings (JSON, and the text report's input warnings) whatever the
/// profile, so a workload under a removed apiVersion is never silently
/// judged as another.
fn input_warnings(cluster: Option<&ClusterData>) -> Vec<crate::report::Finding> {
    let Some(data) = cluster else { return Vec::new() };
    data.warnings
        .iter()
        .map(|w| crate::report::Finding {
            line: None,
            waiver: None,
            check: REMOVED_API_VERSION.into(),
            status: crate::report::Status::Warn,
            severity: crate::report::Severity::Medium,
            message: w.message.as_str().into(),
            object: Some(std::sync::Arc::new(crate::report::ObjectRef {
                api_version: w.api_version.clone(),
                kind: w.kind.clone(),
                namespace: w.namespace.clone(),
                name: w.name.clone(),
            })),
            path: None,
            node: None,
            source: Some(w.source.as_str().into()),
            evidence: crate::report::Evidence::default(),
            profiles: std::sync::Arc::default(),
        })
        .collect()
}

/// For a plugin that ran on the nodes that could be read: an `error` on
/// each of its checks for each node input that could not (a node root
/// that would not open, a snapshot that would not load), so a control is
/// not passed on the nodes that were left.
fn unread_node_errors(plugin: &Plugin, unread: &[(String, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (node, why) in unread {
        let node: Arc<str> = node.as_str().into();
        let message: Arc<str> = format!("node input {node} could not be read, so this check did not judge it: {why}").into();
        for check in &plugin.meta.checks {
            out.push(Finding {
                line: None,
                waiver: None,
                check: format!("{}/{}", plugin.name, check.id).into(),
                status: crate::report::Status::Error,
                severity: check.severity,
                message: message.clone(),
                object: None,
                path: None,
                node: Some(node.clone()),
                source: None,
                evidence: crate::report::Evidence::default(),
                profiles: Arc::default(),
            });
        }
    }
    out
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use crate::report::fixtures::finding;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// A summary of each finding: object name, status, profiles.
    fn shown(findings: &[Finding]) -> Vec<(String, Status, Vec<String>)> {
        findings.iter().map(|f| (f.object.as_ref().unwrap().name.clone(), f.status, f.profiles.to_vec())).collect()
    }

    #[test]
    fn verdicts_judged_alike_by_every_run_are_kept_once_for_all_profiles() {
        let all = ids(&["cis", "stig", "mine"]);
        let mut merged = VariantFindings::default();
        // "cis" and "mine" share settings (one run); "stig" differs.
        merged.add(
            vec![finding("p/c", Status::Fail, "a"), finding("p/c", Status::Pass, "b"), finding("p/c", Status::Fail, "c")],
            &ids(&["cis", "mine"]),
        );
        merged.add(
            vec![finding("p/c", Status::Fail, "a"), finding("p/c", Status::Fail, "b"), finding("p/c", Status::Fail, "d")],
            &ids(&["stig"]),
        );
        let out = merged.finish(&all);
        assert_eq!(
            shown(&out),
            vec![
                ("a".into(), Status::Fail, vec![]),
                ("b".into(), Status::Fail, ids(&["stig"])),
                ("d".into(), Status::Fail, ids(&["stig"])),
                ("b".into(), Status::Pass, ids(&["cis", "mine"])),
                ("c".into(), Status::Fail, ids(&["cis", "mine"])),
            ]
        );
    }

    #[test]
    fn tags_follow_the_scans_order_and_a_run_matches_each_finding_once() {
        let all = ids(&["one", "two", "three"]);
        let mut merged = VariantFindings::default();
        // A run may make one finding twice: both stay, and a later run's
        // single copy matches only one of them.
        merged.add(vec![finding("p/c", Status::Fail, "a"), finding("p/c", Status::Fail, "a")], &ids(&["three"]));
        merged.add(vec![finding("p/c", Status::Fail, "a")], &ids(&["one"]));
        merged.add(vec![finding("p/c", Status::Warn, "a")], &ids(&["two"]));
        let out = merged.finish(&all);
        assert_eq!(
            shown(&out),
            vec![
                ("a".into(), Status::Warn, ids(&["two"])),
                ("a".into(), Status::Fail, ids(&["one", "three"])),
                ("a".into(), Status::Fail, ids(&["three"])),
            ]
        );
    }

    #[test]
    fn each_profile_sees_its_runs_findings_in_the_order_the_run_made_them() {
        let all = ids(&["cis", "stig"]);
        let mut merged = VariantFindings::default();
        let run = |names: &[&str]| names.iter().map(|n| finding("p/c", Status::Fail, n)).collect::<Vec<_>>();
        merged.add(run(&["a", "b", "e", "f"]), &ids(&["cis"]));
        merged.add(run(&["a", "x", "y", "e", "z"]), &ids(&["stig"]));
        let out = merged.finish(&all);
        let seen_by = |profile: &str| -> Vec<String> {
            out.iter()
                .filter(|f| f.profiles.is_empty() || f.profiles.iter().any(|p| p == profile))
                .map(|f| f.object.as_ref().unwrap().name.clone())
                .collect()
        };
        assert_eq!(seen_by("cis"), ["a", "b", "e", "f"]);
        assert_eq!(seen_by("stig"), ["a", "x", "y", "e", "z"]);
        assert_eq!(out.len(), 7);
    }

    #[test]
    fn runs_past_the_64th_are_kept_apart_not_lost() {
        let all: Vec<String> = (0..70).map(|i| format!("p{i}")).collect();
        let mut merged = VariantFindings::default();
        for id in &all {
            merged.add(vec![finding("p/c", Status::Fail, "a")], std::slice::from_ref(id));
        }
        let out = merged.finish(&all);
        assert_eq!(out.len(), 7);
        let tagged: usize = out.iter().map(|f| f.profiles.len()).sum();
        assert_eq!(tagged, 70, "every profile sees the finding once");
    }

    #[test]
    fn a_difference_in_message_or_evidence_keeps_both() {
        let mut other_message = finding("p/c", Status::Fail, "a");
        other_message.message = "the threshold is 5m".into();
        let mut other_evidence = finding("p/c", Status::Fail, "a");
        other_evidence.evidence.push("streamingConnectionIdleTimeout".into(), "0s".into());
        let mut merged = VariantFindings::default();
        merged.add(vec![finding("p/c", Status::Fail, "a"), finding("p/c", Status::Fail, "a")], &ids(&["cis"]));
        merged.add(vec![other_message, other_evidence], &ids(&["stig"]));
        assert_eq!(merged.finish(&ids(&["cis", "stig"])).len(), 4);
    }
}
