//! The Wasm engine: one wasmtime Engine per process, components compiled
//! once and cached on disk, one Store per plugin run with a memory limit
//! over all linear memories, a wall-clock deadline and a budget on output.
//!
//! Calls into a plugin are async (wasmtime fibers on a small tokio runtime
//! per run) so that the deadline bounds everything a plugin can do: Wasm
//! code is interrupted at the next epoch check past the deadline, and a
//! plugin waiting in a host call (a WASI sleep, `wasi:io/poll`) is dropped
//! when the deadline's timer fires.

mod cache;
mod console;
pub mod imports;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{Control, ControlPre, types};
use crate::broker::{self, Broker, Findings, OutputLimits, RunInputs};
use crate::error::{Error, Result};
use crate::grants::{Capability, Grant};
use crate::registry::Source;
use crate::report::{CheckMeta, Evidence, Finding, ObjectRef, Severity, Status};
use crate::settings::{SettingDecl, SettingKind};
use crate::sources::cluster::Unread;
use cache::{Cache, FileStamp};

/// How often the epoch advances; deadlines are measured in these ticks.
const TICK: Duration = Duration::from_millis(5);

/// Limits and places the engine works with.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Wall time one plugin run may take (describe or evaluate).
    pub timeout: Duration,
    /// Wall time one host call may take.
    pub host_call_timeout: Duration,
    /// Bytes of linear memory one run may hold, all memories counted.
    pub memory_bytes: usize,
    pub output: OutputLimits,
    /// Where compiled components are kept; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Which limits grow with the objects a run may list (those the
    /// operator left at their defaults).
    pub scale: Scaling,
}

/// Limits that grow with the input, so that the largest cluster Kubernetes
/// supports does not hit a default meant for an ordinary one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scaling {
    pub timeout: bool,
    pub findings: bool,
    pub output: bool,
    pub memory: bool,
}

/// What each object a run may list adds to a scaled limit: generous
/// multiples of what the built-in plugins use (pod-security: about 18
/// findings, 6 KB of output and 0.1-0.3 ms per pod; the time share was
/// 0.2 ms until a 150,000-pod scan on a busy 2-core machine hit it).
const TIMEOUT_PER_OBJECT: Duration = Duration::from_millis(1);
const FINDINGS_PER_OBJECT: usize = 64;
const OUTPUT_PER_OBJECT: usize = 16 * 1024;
/// Enough for a plugin that holds every object it lists at once, as JSON
/// text and parsed (a pod is about 2-3 KB of JSON); the built-in plugins
/// read large kinds a page at a time and need far less.
const MEMORY_PER_OBJECT: usize = 8 * 1024;

/// The limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    pub timeout: Duration,
    pub output: OutputLimits,
    /// Bytes of linear memory, all memories counted.
    pub memory_bytes: usize,
}

impl EngineConfig {
    /// The limits of a run that may list `objects` cluster objects: the
    /// configured ones, plus a share per object for those that scale.
    pub fn limits_for(&self, objects: usize) -> RunLimits {
        let mut limits = RunLimits { timeout: self.timeout, output: self.output, memory_bytes: self.memory_bytes };
        if self.scale.timeout {
            limits.timeout += TIMEOUT_PER_OBJECT.saturating_mul(objects.min(u32::MAX as usize) as u32);
        }
        if self.scale.findings {
            limits.output.max_findings = limits.output.max_findings.saturating_add(objects.saturating_mul(FINDINGS_PER_OBJECT));
        }
        if self.scale.output {
            limits.output.max_output_bytes = limits.output.max_output_bytes.saturating_add(objects.saturating_mul(OUTPUT_PER_OBJECT));
        }
        if self.scale.memory {
            limits.memory_bytes = limits.memory_bytes.saturating_add(objects.saturating_mul(MEMORY_PER_OBJECT));
        }
        limits
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            timeout: Duration::from_secs(10),
            host_call_timeout: Duration::from_secs(5),
            memory_bytes: 256 * 1024 * 1024,
            output: OutputLimits::default(),
            cache_dir: None,
            scale: Scaling::default(),
        }
    }
}

/// A plugin's own account of itself, read with everything denied.
#[derive(Debug, Clone)]
pub struct PluginMeta {
    pub name: String,
    pub version: String,
    pub checks: Vec<CheckMeta>,
    pub capabilities: Vec<Capability>,
    /// The settings the plugin reads.
    pub settings: Vec<SettingDecl>,
}

impl PluginMeta {
    /// Checks settings from `origin` against what the plugin declares.
    pub fn check_settings(&self, plugin: &str, given: &[(String, String)], origin: &str) -> std::result::Result<(), String> {
        let checks: Vec<String> = self.checks.iter().map(|c| c.id.clone()).collect();
        crate::settings::check(plugin, &self.settings, &checks, given, origin)
    }

    /// Whether the plugin reads nodes, and so runs once per node.
    pub fn reads_nodes(&self) -> bool {
        self.capabilities.iter().any(Capability::is_node)
    }

    /// Whether the plugin lists cluster objects.
    pub fn lists_objects(&self) -> bool {
        self.capabilities.iter().any(|c| matches!(c, Capability::ClusterList { .. }))
    }

    pub fn severities(&self) -> BTreeMap<String, Severity> {
        self.checks.iter().map(|c| (c.id.clone(), c.severity)).collect()
    }
}

/// A compiled, linked plugin ready to be instantiated.
pub struct Plugin {
    pub name: String,
    pub source: PathBuf,
    /// `sha256:<hex>` of the component file.
    pub digest: String,
    pub meta: PluginMeta,
    pre: ControlPre<RunState>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("name", &self.name).field("digest", &self.digest).finish_non_exhaustive()
    }
}

/// Counts every linear memory of a store against one budget.
#[derive(Debug)]
struct MemoryLimiter {
    limit: usize,
    used: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.used - current.min(self.used) + desired;
        if total > self.limit {
            self.hit = true;
            return Ok(false);
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The store data of one run.
pub struct RunState {
    wasi: WasiCtx,
    console: console::Console,
    table: ResourceTable,
    limiter: MemoryLimiter,
    broker: Broker,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// What one run produced.
#[derive(Debug)]
pub struct RunResult {
    pub findings: Findings,
    /// Why the run ended as `error` (its checks are then all `error`).
    pub failure: Option<String>,
    pub denied_calls: u64,
    pub denied: BTreeMap<String, u64>,
    pub duration: Duration,
    /// The last bytes the plugin wrote to stdout and stderr.
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// Advances the engine's epoch until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<RunState>,
    config: EngineConfig,
    /// Hash of everything that makes a compiled artifact loadable here.
    compat: String,
    cache: Option<Cache>,
    _ticker: Ticker,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Result<Engine> {
        let mut wc = wasmtime::Config::new();
        wc.wasm_component_model(true);
        wc.epoch_interruption(true);
        wc.max_wasm_stack(1024 * 1024);
        let engine = wasmtime::Engine::new(&wc).map_err(|e| Error::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| Error::Engine(format!("{e:#}")))?;
        Control::add_to_linker::<_, HasSelf<Broker>>(&mut linker, |s: &mut RunState| &mut s.broker)
            .map_err(|e| Error::Engine(format!("{e:#}")))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        // A host of another version may check imports differently.
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        let stop = Arc::new(AtomicBool::new(false));
        let (ticking, weak) = (stop.clone(), engine.weak());
        std::thread::Builder::new()
            .name("rampart-epoch".into())
            .spawn(move || {
                while !ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match weak.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| Error::Engine(format!("epoch thread: {e}")))?;
        let cache = config.cache_dir.clone().map(Cache::new);
        Ok(Engine { engine, linker, config, compat, cache, _ticker: Ticker { stop } })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Loads, verifies, compiles (or takes from the cache) and describes a
    /// plugin.
    pub fn load(&self, name: &str, path: &Path, expected_sha256: Option<&str>) -> Result<Plugin> {
        let fail = |message: String| Error::Plugin { name: name.to_string(), path: path.to_path_buf(), message };
        let unreadable = |e: std::io::Error| fail(format!("cannot read the component: {e}"));
        let refuse = |digest: &str| match expected_sha256 {
            Some(expected) if expected != digest => {
                Err(fail(format!("sha256 is {digest} but registry.toml expects {expected}; refusing to load it")))
            }
            _ => Ok(()),
        };
        // The stamp is taken before the file is read: a write after it
        // changes the file's change time, so the memo below can only ever
        // name what was read.
        let stamp = FileStamp::of(path).map_err(unreadable)?;
        // A file this cache hashed before, compiled before: nothing to read.
        // (Its imports were checked before it was first compiled.)
        let remembered = self.cache.as_ref().and_then(|cache| {
            let digest = cache.digest(&stamp)?;
            Some((self.load_cached(cache, &digest), digest))
        });
        let (digest, component) = match remembered {
            Some((Some(component), digest)) => {
                refuse(&digest)?;
                (digest, component)
            }
            _ => {
                let bytes = std::fs::read(path).map_err(unreadable)?;
                let digest = hex::encode(Sha256::digest(&bytes));
                refuse(&digest)?;
                imports::check(&bytes).map_err(fail)?;
                let component = self.compile(name, &bytes, &digest).map_err(fail)?;
                if let Some(cache) = &self.cache
                    && let Err(e) = cache.remember(&stamp, &digest)
                {
                    tracing::warn!("compile cache {}: {e}", cache.dir().display());
                }
                (digest, component)
            }
        };
        self.link(name, path, &digest, &component)
    }

    /// Loads a plugin from where a registry entry says it is: a file, or a
    /// component this binary carries (verified against the digest it had
    /// when the binary was built, and against a pin, like a file).
    pub fn load_source(&self, name: &str, source: &Source, expected_sha256: Option<&str>) -> Result<Plugin> {
        let file = match source {
            Source::File(path) => return self.load(name, path, expected_sha256),
            Source::BuiltIn(file) => file,
            Source::Bundle(_) => {
                let path = source.path();
                let bytes =
                    source.bytes().map_err(|e| Error::Plugin { name: name.to_string(), path: path.clone(), message: e.to_string() })?;
                return self.load_bytes(name, &path, &bytes, expected_sha256);
            }
        };
        let path = source.path();
        let fail = |message: String| Error::Plugin { name: name.to_string(), path: path.clone(), message };
        let (bytes, built) = crate::builtin::component(file).ok_or_else(|| fail("is not embedded in this binary".into()))?;
        // A pin other than the build-time digest refuses it whatever the
        // bytes are; otherwise the bytes are hashed once, against it.
        if let Some(expected) = expected_sha256
            && expected != built
        {
            return Err(fail(format!("was built into this binary as {built} but {expected} is expected; refusing to load it")));
        }
        self.load_bytes(name, &path, bytes, Some(built))
    }

    /// Loads a component held in memory (a built-in, or one from a
    /// bundle): verified against the pin, checked, compiled or taken from
    /// the cache, and described. `path` is what messages name.
    pub fn load_bytes(&self, name: &str, path: &Path, bytes: &[u8], expected_sha256: Option<&str>) -> Result<Plugin> {
        let fail = |message: String| Error::Plugin { name: name.to_string(), path: path.to_path_buf(), message };
        let digest = hex::encode(Sha256::digest(bytes));
        if let Some(expected) = expected_sha256
            && expected != digest
        {
            return Err(fail(format!("sha256 is {digest} but {expected} is expected; refusing to load it")));
        }
        imports::check(bytes).map_err(fail)?;
        let component = self.compile(name, bytes, &digest).map_err(fail)?;
        self.link(name, path, &digest, &component)
    }

    /// Links a compiled component and asks it to describe itself.
    fn link(&self, name: &str, path: &Path, digest: &str, component: &Component) -> Result<Plugin> {
        let fail = |message: String| Error::Plugin { name: name.to_string(), path: path.to_path_buf(), message };
        let pre = self.linker.instantiate_pre(component).map_err(|e| fail(format!("cannot link: {e:#}")))?;
        let pre = ControlPre::new(pre).map_err(|e| fail(format!("not a rampart:plugin control component: {e:#}")))?;
        let meta = self.describe(&pre).map_err(fail)?;
        Ok(Plugin { name: name.to_string(), source: path.to_path_buf(), digest: format!("sha256:{digest}"), meta, pre })
    }

    /// Compiles a component, or loads the artifact this host compiled for it
    /// earlier.
    fn compile(&self, name: &str, bytes: &[u8], digest: &str) -> std::result::Result<Component, String> {
        if let Some(cache) = &self.cache
            && let Some(component) = self.load_cached(cache, digest)
        {
            return Ok(component);
        }
        // Compiling a 10-20 MB Python or JavaScript component takes tens of
        // seconds on a small machine: say so rather than sit silent.
        let start = Instant::now();
        let large = bytes.len() >= 1024 * 1024;
        if large {
            let size = bytes.len() as f64 / (1024.0 * 1024.0);
            let kept = self.cache.as_ref().map(|c| format!("; done once per version, kept in {}", c.dir().display()));
            tracing::info!(
                target: "rampart_host::compile",
                "compiling plugin {name} ({size:.1} MiB) to native code{}",
                kept.unwrap_or_default()
            );
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| format!("not a valid Wasm component: {e:#}"))?;
        let took = start.elapsed();
        if large || took >= Duration::from_secs(1) {
            tracing::info!(target: "rampart_host::compile", "compiled plugin {name} in {:.1} s", took.as_secs_f64());
        }
        if let Some(cache) = &self.cache
            && let Err(e) = self.store_cached(cache, digest, &component)
        {
            tracing::warn!("compile cache {}: {e}", cache.dir().display());
        }
        Ok(component)
    }

    fn load_cached(&self, cache: &Cache, digest: &str) -> Option<Component> {
        let file = cache.artifact(digest, &self.compat);
        // Only artifacts this user wrote into a directory no one else can
        // write are loaded: deserializing runs native code.
        if !cache.private(&file) {
            return None;
        }
        #[allow(unsafe_code)]
        // SAFETY: the file is an artifact `store_cached` wrote with
        // `Component::serialize` from this engine configuration (its name
        // carries the compatibility hash), in a directory only this user can
        // write; wasmtime also checks the header before using it.
        let loaded = unsafe { Component::deserialize_file(&self.engine, &file) };
        loaded.ok()
    }

    fn store_cached(&self, cache: &Cache, digest: &str, component: &Component) -> std::io::Result<()> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        cache.write(cache.dir(), &cache.artifact(digest, &self.compat), &bytes)
    }

    fn store(&self, broker: Broker, deadline: Instant, memory_bytes: usize) -> Store<RunState> {
        let console = console::Console::default();
        let wasi = WasiCtx::builder()
            // No preopened directories, no environment, no arguments;
            // sockets and name lookups are denied. Output is kept, bounded.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .stdout(console.stdout.clone())
            .stderr(console.stderr.clone())
            .build();
        let mut store = Store::new(
            &self.engine,
            RunState {
                wasi,
                console,
                table: ResourceTable::new(),
                limiter: MemoryLimiter { limit: memory_bytes, used: 0, hit: false },
                broker,
            },
        );
        store.limiter(|s| &mut s.limiter);
        // Every epoch tick checks the wall clock, so the limit is wall time
        // however often the ticker thread gets to run.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(1) })
        });
        store
    }

    /// Drives one call into a plugin to its end or to the deadline,
    /// whichever comes first.
    fn drive<R>(deadline: Instant, call: impl std::future::Future<Output = wasmtime::Result<R>>) -> wasmtime::Result<R> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| wasmtime::Error::msg(format!("cannot start the plugin's runtime: {e}")))?;
        runtime.block_on(async {
            match tokio::time::timeout_at(deadline.into(), call).await {
                Ok(result) => result,
                Err(_) => Err(wasmtime::Error::from(Trap::Interrupt)),
            }
        })
    }

    fn describe(&self, pre: &ControlPre<RunState>) -> std::result::Result<PluginMeta, String> {
        let start = Instant::now();
        let deadline = start + self.config.timeout;
        let inputs = RunInputs { grant: Arc::new(Grant::none()), cluster: None, node: None, severities: Arc::default() };
        let broker = Broker::new("(describe)", inputs, deadline, self.config.host_call_timeout, self.config.output);
        let mut store = self.store(broker, deadline, self.config.memory_bytes);
        let info = Self::drive(deadline, async {
            let control = pre.instantiate_async(&mut store).await?;
            control.call_describe(&mut store).await
        });
        let info = info.map_err(|e| {
            let mut why = format!("describe failed: {}", explain_trap(&e, &store, self.config.timeout, start.elapsed()));
            if let Some(tail) = store.data().console.stderr.text() {
                why.push_str(&format!("; its stderr ends: {}", last_lines(&tail, 5)));
            }
            why
        })?;
        meta_from_info(info)
    }

    /// Runs a plugin's `evaluate` once against the inputs, in a fresh
    /// store, with the configured limits.
    pub fn run(&self, plugin: &Plugin, inputs: RunInputs, settings: &[(String, String)]) -> RunResult {
        self.run_with(plugin, inputs, settings, self.config.limits_for(0))
    }

    /// Runs a plugin's `evaluate` once with these limits.
    pub fn run_with(&self, plugin: &Plugin, inputs: RunInputs, settings: &[(String, String)], limits: RunLimits) -> RunResult {
        let start = Instant::now();
        let deadline = start + limits.timeout;
        let node_name = inputs.node.as_ref().map(|n| n.name().to_string());
        let broker = Broker::new(&plugin.name, inputs, deadline, self.config.host_call_timeout, limits.output);
        let mut store = self.store(broker, deadline, limits.memory_bytes);
        let outcome = Self::drive(deadline, async {
            let control = plugin.pre.instantiate_async(&mut store).await?;
            control.call_evaluate(&mut store, settings).await
        });
        let duration = start.elapsed();
        let failure = match &outcome {
            Err(e) => Some(explain_trap(e, &store, limits.timeout, duration)),
            Ok(Err(msg)) => Some(format!("plugin reported an error: {}", broker::truncate(msg.clone(), 4096))),
            Ok(Ok(())) => None,
        };
        let state = store.into_data();
        let broker = state.broker;
        tracing::debug!(plugin = %plugin.name, "run took {duration:?} and {} bytes of the output budget", broker.output_bytes);
        let failure = broker.failure.clone().or(failure);
        // Inputs that could not be read and may hold a kind the run listed.
        let unread = broker.unread_listed();
        let findings = settle(plugin, broker.findings, failure.as_deref(), node_name, &unread);
        RunResult {
            findings,
            failure,
            denied_calls: broker.denied_calls,
            denied: broker.denied,
            duration,
            stdout: state.console.stdout.text(),
            stderr: state.console.stderr.text(),
        }
    }
}

/// The last `n` lines of a text, on one line.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// The findings a run stands on. A failed run keeps none of its own: every
/// check becomes `error` with the reason. A check that gave no verdict at
/// all is `error` too: silence is never a pass. Each input that could not
/// be read and may hold a kind the run listed adds an `error` to every
/// check: the checks judged the objects that were read, not that one.
fn settle(plugin: &Plugin, findings: Findings, failure: Option<&str>, node: Option<String>, unread: &[Unread]) -> Findings {
    let node: Option<Arc<str>> = node.map(Arc::from);
    let error = |check: &CheckMeta, message: String| Finding {
        line: None,
        waiver: None,
        check: format!("{}/{}", plugin.name, check.id).into(),
        status: Status::Error,
        severity: check.severity,
        message: message.into(),
        object: None,
        path: None,
        node: node.clone(),
        source: None,
        evidence: Evidence::default(),
        profiles: Arc::default(),
    };
    if let Some(why) = failure {
        return plugin.meta.checks.iter().map(|c| error(c, why.to_string())).collect();
    }
    let mut out = findings;
    // One pass over the findings, not one per check: a large cluster's run
    // gives millions.
    let answered: std::collections::HashSet<&str> = out.iter().map(|f| &*f.check).collect();
    let silent: Vec<Finding> = plugin
        .meta
        .checks
        .iter()
        .filter(|check| !answered.contains(format!("{}/{}", plugin.name, check.id).as_str()))
        .map(|check| error(check, "the check gave no verdict".into()))
        .collect();
    out.extend(silent);
    for input in unread {
        let object = input.object.as_ref().map(|o| {
            Arc::new(ObjectRef {
                api_version: o.api_version.clone(),
                kind: o.kind.clone(),
                namespace: o.namespace.clone(),
                name: o.name.clone(),
            })
        });
        let what = match &object {
            Some(o) => o.to_string(),
            None => format!("input {}", input.source),
        };
        let message: Arc<str> = format!("{what} could not be read, so this check did not judge what it holds: {}", input.why).into();
        let source: Arc<str> = input.source.as_str().into();
        for check in &plugin.meta.checks {
            out.push(Finding {
                message: message.clone(),
                object: object.clone(),
                source: Some(source.clone()),
                line: input.line,
                ..error(check, String::new())
            });
        }
    }
    out
}

/// The longest error cause chain kept, in bytes.
const MAX_CAUSE_BYTES: usize = 2048;

/// Words for why a call into the plugin failed.
fn explain_trap(e: &wasmtime::Error, store: &Store<RunState>, timeout: Duration, elapsed: Duration) -> String {
    let data = store.data();
    if data.limiter.hit {
        return format!(
            "memory limit of {} MiB reached (raise it with --memory-mib): {}",
            data.limiter.limit / (1024 * 1024),
            cause_chain(e)
        );
    }
    if let Some(why) = &data.broker.failure {
        return why.clone();
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        // exit(0) is not success: a plugin answers by returning, and what
        // it emitted before exiting does not stand.
        return format!("called exit({}) instead of returning; nothing it reported before that stands", exit.0);
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!(
            "timed out after {:.1}s (the limit is {}s; raise it with --timeout)",
            elapsed.as_secs_f64(),
            (timeout.as_secs_f64() * 1000.0).round() / 1000.0
        ),
        Some(Trap::StackOverflow) => "stack overflow".to_string(),
        Some(trap) => format!("trapped: {trap}"),
        None => format!("failed: {}", cause_chain(e)),
    }
}

/// Every cause of an error on one line, without wasmtime's backtraces,
/// bounded: "invalid UTF-8" and "exceeds the copy limit" must not read the
/// same.
fn cause_chain(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // wasmtime adds the guest's backtrace as a context of its own.
        if text.starts_with("error while executing at wasm backtrace") {
            continue;
        }
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() && !parts.contains(&text) {
            parts.push(text);
        }
    }
    let joined = if parts.is_empty() { e.to_string() } else { parts.join(": ") };
    broker::truncate(joined, MAX_CAUSE_BYTES)
}

const MAX_CHECKS: usize = 1000;
const MAX_CAPABILITIES: usize = 256;
const MAX_SETTINGS: usize = 256;

fn meta_from_info(info: types::PluginInfo) -> std::result::Result<PluginMeta, String> {
    if info.settings.len() > MAX_SETTINGS {
        return Err(format!("declares {} settings; the limit is {MAX_SETTINGS}", info.settings.len()));
    }
    let mut settings: Vec<SettingDecl> = Vec::new();
    for s in info.settings {
        let key = s.name.strip_prefix("*.").unwrap_or(&s.name);
        if key.is_empty()
            || s.name.len() > 200
            || !key.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.' || ch == '_')
        {
            return Err(format!(
                "setting name `{}` must be 1-200 of a-z, 0-9, `-`, `.`, `_` (or `*.` and those)",
                s.name.chars().take(200).collect::<String>()
            ));
        }
        if settings.iter().any(|k| k.name == s.name) {
            return Err(format!("declares setting `{}` twice", s.name));
        }
        let kind = match s.kind {
            types::SettingKind::Text => SettingKind::Text,
            types::SettingKind::Boolean => SettingKind::Boolean,
            types::SettingKind::Integer => SettingKind::Integer,
            types::SettingKind::Mode => SettingKind::Mode,
            types::SettingKind::Duration => SettingKind::Duration,
            types::SettingKind::List => SettingKind::List,
        };
        settings.push(SettingDecl { name: s.name, kind, description: broker::truncate(s.description, 1024) });
    }
    if info.checks.len() > MAX_CHECKS || info.capabilities.len() > MAX_CAPABILITIES {
        return Err(format!(
            "declares {} checks and {} capabilities; the limits are {MAX_CHECKS} and {MAX_CAPABILITIES}",
            info.checks.len(),
            info.capabilities.len()
        ));
    }
    let mut checks: Vec<CheckMeta> = Vec::new();
    for c in info.checks {
        if c.id.is_empty()
            || c.id.len() > 100
            || !c.id.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.')
        {
            return Err(format!("check id `{}` must be 1-100 of a-z, 0-9, `-`, `.`", c.id.chars().take(100).collect::<String>()));
        }
        if checks.iter().any(|k| k.id == c.id) {
            return Err(format!("declares check `{}` twice", c.id));
        }
        // The metadata goes into every report: each field is bounded.
        checks.push(CheckMeta {
            id: c.id,
            title: broker::truncate(c.title, 200),
            description: broker::truncate(c.description, 4096),
            remediation: broker::truncate(c.remediation, 4096),
            severity: c.severity.into(),
            tags: c.tags.into_iter().take(32).map(|t| broker::truncate(t, 64)).collect(),
        });
    }
    let capabilities = info
        .capabilities
        .into_iter()
        .map(|c| {
            let text = match c {
                types::Capability::ClusterList(k) => format!("cluster.list:{}/{}", k.api_version, k.kind),
                types::Capability::ClusterSecretValues => "cluster.secret-values".to_string(),
                types::Capability::NodeRead(g) => format!("node.read:{g}"),
                types::Capability::NodeStat(g) => format!("node.stat:{g}"),
                types::Capability::NodeProcess(n) => format!("node.process:{n}"),
            };
            Capability::parse(&text).map_err(|e| broker::truncate(format!("requests an invalid capability: {e}"), 1024))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(PluginMeta { name: broker::truncate(info.name, 64), version: broker::truncate(info.version, 64), checks, capabilities, settings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_chain_is_kept_without_the_backtrace_and_bounded() {
        // The shape wasmtime gives a failed lift: the cause, the guest's
        // backtrace as a context, and the call that failed.
        let e = wasmtime::Error::msg("invalid utf-8 sequence of 1 bytes from index 3")
            .context("error while executing at wasm backtrace:\n    0: 0x1234 - plugin!emit\n    1: 0x5678 - plugin!evaluate")
            .context("failed to lift the argument of `emit`");
        assert_eq!(cause_chain(&e), "failed to lift the argument of `emit`: invalid utf-8 sequence of 1 bytes from index 3");
        let other = wasmtime::Error::msg("list of 300000000 bytes exceeds the limit").context("failed to lift the argument of `emit`");
        assert_ne!(cause_chain(&e), cause_chain(&other), "two causes read differently");
        let long = wasmtime::Error::msg("x".repeat(100_000));
        assert!(cause_chain(&long).len() < MAX_CAUSE_BYTES + 20);
    }

    #[test]
    fn limits_left_at_their_defaults_grow_with_the_objects_a_run_may_list() {
        let fixed = EngineConfig::default();
        assert_eq!(fixed.limits_for(150_000).timeout, Duration::from_secs(10), "a limit the operator set stays");
        let scaled =
            EngineConfig { scale: Scaling { timeout: true, findings: true, output: true, memory: true }, ..EngineConfig::default() };
        let small = scaled.limits_for(0);
        assert_eq!((small.timeout, small.output.max_findings), (Duration::from_secs(10), 1_000_000));
        // The largest cluster Kubernetes supports: 150,000 pods.
        let large = scaled.limits_for(150_000);
        assert_eq!(large.timeout, Duration::from_secs(160));
        assert_eq!(large.output.max_findings, 1_000_000 + 150_000 * 64);
        assert_eq!(large.output.max_output_bytes, 256 * 1024 * 1024 + 150_000 * 16 * 1024);
        assert_eq!(large.memory_bytes, 256 * 1024 * 1024 + 150_000 * 8 * 1024);
        assert_eq!(small.memory_bytes, 256 * 1024 * 1024);
        // Only what scales.
        let some =
            EngineConfig { scale: Scaling { timeout: false, findings: true, output: false, memory: false }, ..EngineConfig::default() };
        let l = some.limits_for(10);
        assert_eq!((l.timeout, l.output.max_findings, l.output.max_output_bytes), (Duration::from_secs(10), 1_000_640, 256 * 1024 * 1024));
        assert_eq!(l.memory_bytes, 256 * 1024 * 1024);
    }

    #[test]
    fn last_lines_joins_the_end_of_a_traceback() {
        let tb = "Traceback (most recent call last):\n  File \"app.py\", line 3\n\nKeyError: 'spec'\n";
        assert_eq!(last_lines(tb, 2), "File \"app.py\", line 3 | KeyError: 'spec'");
    }
}
