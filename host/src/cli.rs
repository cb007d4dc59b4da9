//! The `rampart` command line: flags are parsed once into plain requests
//! here, and nothing past this module sees raw arguments.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::{Engine, EngineConfig};
use crate::grants::Capability;
use crate::profile::Profile;
use crate::registry::{Registry, Source};
use crate::report::{self, Severity, checklist, xccdf};
use crate::scan::{self, ScanRequest};
use crate::sources::live::LiveOptions;

/// Exit codes, as docs/cli.md lists them.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURES: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "rampart", version, about = "Kubernetes compliance scanning with sandboxed WebAssembly control plugins")]
struct Cli {
    /// A registry file layered on the built-in plugins and profiles and on
    /// the user's registry ($XDG_CONFIG_HOME/rampart/registry.toml)
    /// [default: ./registry.toml, if there is one]
    #[arg(long, global = true, env = "RAMPART_REGISTRY")]
    registry: Option<PathBuf>,

    #[command(flatten)]
    engine: EngineFlags,

    #[command(flatten)]
    oci: OciFlags,

    /// More log output on stderr (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,

    /// Nothing on stderr but an error that stops the command: input errors
    /// are in the report only (for `kubectl logs` of a JSON report).
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

/// How OCI registries are reached (bundles, and registry entries whose
/// source is an `oci://` reference).
#[derive(Debug, Args)]
struct OciFlags {
    /// Plain HTTP to an OCI registry that is not on loopback (loopback
    /// registries get plain HTTP unless --ca-cert is given).
    #[arg(long, global = true)]
    insecure: bool,

    /// A CA certificate (PEM) to check OCI registries' TLS certificates
    /// against, besides the system's.
    #[arg(long, global = true, value_name = "FILE")]
    ca_cert: Option<PathBuf>,

    /// The most a bundle may hold, all blobs together, in MiB [default: 512].
    #[arg(long, global = true, value_name = "MIB")]
    max_bundle_mib: Option<u64>,
}

#[derive(Debug, Args)]
struct EngineFlags {
    /// Wall-time limit of one plugin run, in seconds [default: 10, plus
    /// 1 ms per cluster object the plugin may list].
    #[arg(long, global = true)]
    timeout: Option<f64>,

    /// Memory limit of one plugin run, in MiB (all linear memories)
    /// [default: 256, plus 8 KiB per cluster object the plugin may list].
    #[arg(long, global = true)]
    memory_mib: Option<usize>,

    /// Most findings one plugin run may emit before it is stopped as
    /// `error` [default: 1,000,000, plus 64 per cluster object the plugin
    /// may list].
    #[arg(long, global = true)]
    max_findings: Option<usize>,

    /// Bytes of output (findings, evidence, logs) the host keeps for one
    /// plugin run, in MiB; past it the run is stopped as `error` [default:
    /// 256, plus 16 KiB per cluster object the plugin may list].
    #[arg(long, global = true)]
    max_output_mib: Option<usize>,

    /// Where compiled plugins are cached [default: $XDG_CACHE_HOME/rampart].
    #[arg(long, global = true, env = "RAMPART_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Compile every plugin afresh and keep nothing on disk.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan a cluster (a live API server, manifest files) and nodes (root
    /// directories), or snapshots of them.
    Scan(ScanArgs),
    /// Plugins: list those in the registry, or inspect a component file.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Merge JSON reports (one per node, one for the cluster) into one, with
    /// every node's verdicts and the profile re-assessed: the fleet score.
    Merge(MergeArgs),
    /// Record what a profile needs from a node, or a cluster's objects, into
    /// one file to scan elsewhere with `rampart scan --snapshot`.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Benchmark profiles: list those in the registry, or show one.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Time compile, cache load, instantiate+evaluate and whole scans on
    /// the given inputs (figures for docs/performance.md).
    Bench(BenchArgs),
    /// Compare two JSON reports: controls and findings that newly fail, were
    /// fixed or changed status, and each profile's score change. Exits 1
    /// when something newly fails, so CI can gate on regressions only.
    Diff(DiffArgs),
    /// Print a shell completion script: `rampart completions bash >
    /// /etc/bash_completion.d/rampart` (zsh: into a directory of $fpath as
    /// `_rampart`; fish: ~/.config/fish/completions/rampart.fish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `rampart man > rampart.1`.
    Man,
    /// Signing keys for bundles.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Plugin bundles: plugins and profiles shared as signed OCI artifacts.
    #[command(subcommand)]
    Bundle(BundleCommand),
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Make an Ed25519 key pair: KEY (private, mode 0600) and KEY.pub.
    Generate {
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// Pack plugins and profiles of the registry into a bundle: an OCI
    /// image layout (a directory, or a .tar file). With no --plugin and no
    /// --profile, every built-in plugin and profile.
    Pack {
        #[arg(long = "plugin", value_name = "NAME")]
        plugins: Vec<String>,
        #[arg(long = "profile", value_name = "ID")]
        profiles: Vec<String>,
        /// The tag in the layout's index.
        #[arg(long, default_value = "latest")]
        tag: String,
        #[arg(short = 'o', long = "output", value_name = "DIR_OR_TAR")]
        output: PathBuf,
    },
    /// Sign a bundle (a layout on disk, rewritten in place, or an oci://
    /// reference, whose signature is pushed beside it).
    Sign {
        #[arg(value_name = "REF")]
        reference: String,
        /// The private key (`rampart key generate`).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
    },
    /// Check a bundle's digests and that one of the keys signed it; exits 1
    /// when it is not signed by any of them.
    Verify {
        #[arg(value_name = "REF")]
        reference: String,
        /// A public key (KEY.pub); several: any of them.
        #[arg(long, value_name = "KEY.pub", required = true)]
        key: Vec<PathBuf>,
    },
    /// Push a bundle on disk (and its signatures) to an OCI registry.
    Push {
        #[arg(value_name = "DIR_OR_TAR")]
        bundle: PathBuf,
        /// oci://HOST[:PORT]/REPOSITORY:TAG
        #[arg(value_name = "REF")]
        reference: String,
    },
    /// Pull a bundle (and its signatures) from an OCI registry into an
    /// image layout, every digest checked.
    Pull {
        /// oci://HOST[:PORT]/REPOSITORY:TAG[@sha256:DIGEST]
        #[arg(value_name = "REF")]
        reference: String,
        #[arg(short = 'o', long = "output", value_name = "DIR_OR_TAR")]
        output: PathBuf,
    },
    /// Install a bundle's plugins and profiles into the registry file
    /// (--registry, or $XDG_CONFIG_HOME/rampart/registry.toml), pinned by
    /// digest, with the grants they ask for once approved.
    Install {
        #[arg(value_name = "REF")]
        reference: String,
        /// A public key the bundle must be signed by (pinned in the entries).
        #[arg(long, value_name = "KEY.pub")]
        key: Vec<PathBuf>,
        /// Grant what the plugins ask for without asking.
        #[arg(long)]
        approve: bool,
    },
    /// What a bundle holds: plugins, versions, digests, checks,
    /// capabilities, profiles and signatures.
    Inspect {
        #[arg(value_name = "REF")]
        reference: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// The earlier report (`rampart scan --format json`).
    #[arg(value_name = "OLD.json")]
    old: PathBuf,
    /// The later report.
    #[arg(value_name = "NEW.json")]
    new: PathBuf,
    /// `markdown` fits a pull-request comment.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
struct BenchArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Assess this profile in the whole-scan measurements.
    #[arg(long, value_name = "ID")]
    profile: Option<String>,
    /// A minimal component to time instantiate+evaluate of, with nothing
    /// granted and no settings (the floor of a plugin run).
    #[arg(long, value_name = "FILE.wasm")]
    baseline: Option<PathBuf>,
    /// Runs of each warm measurement (cold ones run a tenth as often).
    #[arg(long, default_value_t = 50)]
    iterations: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// What to scan and with which plugins (shared by `scan` and `bench`).
#[derive(Debug, Args)]
struct TargetArgs {
    /// Manifest files or directories (YAML, JSON, lists) making up the
    /// cluster; `-` reads standard input.
    #[arg(long, num_args = 1.., value_name = "DIR_OR_FILE")]
    manifests: Vec<PathBuf>,

    /// Largest manifest input read, in MiB (each file, and standard input);
    /// a larger one is an input error.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    max_manifest_mib: u64,

    /// Node root directories, each scanned as if it were `/` of a node.
    #[arg(long, num_args = 1.., value_name = "ROOT")]
    node: Vec<PathBuf>,

    /// The nodes' names in reports, one per --node root, in order
    /// [default: the kubelet's --hostname-override, else the root's
    /// /etc/hostname, else the root directory's name].
    #[arg(long = "name", num_args = 1.., value_name = "NAME", requires = "node")]
    node_name: Vec<String>,

    /// Snapshot files (`rampart snapshot node|cluster`), scanned as if live.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    snapshot: Vec<PathBuf>,

    /// Only run these plugins (default: every plugin in the registry).
    #[arg(long, num_args = 1.., value_name = "NAME")]
    plugin: Vec<String>,

    #[command(flatten)]
    live: LiveArgs,
}

impl TargetArgs {
    fn request(self, grants: Vec<Capability>, profiles: Vec<Profile>) -> anyhow::Result<ScanRequest> {
        let live = self.live.options();
        if self.manifests.is_empty() && self.node.is_empty() && self.snapshot.is_empty() && live.is_none() {
            bail!(
                "nothing to scan: give --kubeconfig PATH (or --in-cluster), --manifests DIR_OR_FILE..., --node ROOT... and/or --snapshot FILE..."
            );
        }
        if live.is_some() && !self.manifests.is_empty() {
            bail!("--manifests and --kubeconfig/--in-cluster both give the cluster's objects: choose one");
        }
        Ok(ScanRequest {
            manifests: self.manifests,
            nodes: self.node,
            node_names: self.node_name,
            snapshots: self.snapshot,
            plugins: self.plugin,
            grants,
            profiles,
            live,
            max_manifest_bytes: Some(self.max_manifest_mib * 1024 * 1024),
            ..ScanRequest::default()
        })
    }
}

/// A live API server as the cluster source (shared by `scan` and `snapshot cluster`).
#[derive(Debug, Args)]
struct LiveArgs {
    /// List the cluster's objects from the API server of this kubeconfig
    /// (client certificates, tokens and exec plugins as kubectl uses them).
    #[arg(long, value_name = "PATH", conflicts_with = "in_cluster")]
    kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use [default: its current context].
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    context: Option<String>,

    /// List the cluster's objects with the service account of the pod
    /// rampart runs in.
    #[arg(long)]
    in_cluster: bool,

    /// Limit on each API request (connect, send and the whole answer),
    /// e.g. 30s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,

    /// Times an API request that failed in passing (network, timeout,
    /// 429, 5xx) is tried again.
    #[arg(long, value_name = "N", default_value_t = 3)]
    retries: u32,

    /// Objects per page when listing from the API server.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    chunk_size: u32,
}

impl LiveArgs {
    fn options(&self) -> Option<LiveOptions> {
        (self.kubeconfig.is_some() || self.in_cluster).then(|| LiveOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            in_cluster: self.in_cluster,
            request_timeout: self.request_timeout,
            retries: self.retries,
            chunk_size: self.chunk_size,
        })
    }
}

/// `30s`, `500ms`, `2m`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 30s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{text:?}: unit must be ms, s or m")),
    };
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!("{text:?}: must be more than 0 and at most an hour"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[derive(Debug, Args)]
struct ScanArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// Grant a capability to every plugin, on top of registry.toml's grants
    /// (e.g. node.stat:/data/etcd).
    #[arg(long, value_name = "CAPABILITY")]
    grant: Vec<String>,

    /// Assess a benchmark profile (e.g. cis-k8s-1.12): runs the plugins its
    /// controls need and reports a verdict per control and a score. Repeat
    /// it to assess several profiles in one scan (inputs read once, each
    /// plugin run once per distinct set of settings).
    #[arg(long, value_name = "ID")]
    profile: Vec<String>,

    /// Plugin runs at once [default: the cores available].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,

    /// Write the findings to the cluster scanned (--in-cluster or
    /// --kubeconfig) as policy reports (see --report-api), replacing the
    /// ones an earlier scan published; needs RBAC to patch, list and
    /// delete them.
    #[arg(long)]
    publish_reports: bool,

    #[command(flatten)]
    report: ReportArgs,
}

/// How `scan` and `merge` write their report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// For a person: findings grouped by plugin and check.
    Text,
    /// The versioned JSON report (docs/report.md).
    Json,
    /// The profile's verdicts as a STIG Viewer 2 checklist (XML).
    Ckl,
    /// The profile's verdicts as a STIG Viewer 3 checklist (JSON).
    Cklb,
    /// The profile's verdicts as XCCDF 1.2 results (OpenSCAP, STIG Manager,
    /// Heimdall).
    Xccdf,
    /// JUnit XML for CI test tabs: a test case per control (per check
    /// without a profile); failing findings in the failure text.
    Junit,
    /// SARIF 2.1.0 for code scanning: a rule per check, a result per
    /// finding that is not a pass, at the manifest file and line.
    Sarif,
    /// One self-contained HTML page: scores, section bars, every control
    /// with its evidence, guidance and remediation, filters.
    Html,
    /// OSCAL 1.1.3 assessment results (JSON) for the profiles' controls.
    Oscal,
    /// PolicyReport and ClusterPolicyReport objects (YAML, one result per
    /// finding), as Kubewarden and Kyverno publish; see --report-api.
    Policyreport,
}

impl ReportFormat {
    /// The STIG formats: they need a STIG profile and name an asset.
    fn is_checklist(self) -> bool {
        matches!(self, ReportFormat::Ckl | ReportFormat::Cklb | ReportFormat::Xccdf)
    }

    fn flag(self) -> &'static str {
        match self {
            ReportFormat::Text => "--format text",
            ReportFormat::Json => "--format json",
            ReportFormat::Ckl => "--format ckl",
            ReportFormat::Cklb => "--format cklb",
            ReportFormat::Xccdf => "--format xccdf",
            ReportFormat::Junit => "--format junit",
            ReportFormat::Sarif => "--format sarif",
            ReportFormat::Html => "--format html",
            ReportFormat::Oscal => "--format oscal",
            ReportFormat::Policyreport => "--format policyreport",
        }
    }
}

/// How a report is written and judged (shared by `scan` and `merge`).
#[derive(Debug, Args)]
struct ReportArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,

    /// Write the report here instead of standard output; `FMT=FILE`
    /// (`json=report.json`, `sarif=rampart.sarif`, `junit=...`) writes that
    /// format there as well, any number of times, from the same scan.
    #[arg(long, short, value_name = "FILE|FMT=FILE", value_parser = parse_output)]
    output: Vec<OutputTarget>,

    /// The asset's host name in a checklist or XCCDF target (--format
    /// ckl|cklb|xccdf) [default: the API server's host for a live scan, else
    /// `kubernetes`].
    #[arg(long, value_name = "NAME")]
    asset: Option<String>,

    /// Exit 1 when a check fails (or errors) at this severity or above.
    #[arg(long, value_enum, default_value_t = Severity::Info, value_name = "SEVERITY")]
    fail_on: Severity,

    /// Exit 0 even when checks fail (a Job that collects reports should
    /// succeed); input errors still exit 2.
    #[arg(long)]
    soft_fail: bool,

    /// How a JSON report records passing findings: `compact` groups their
    /// subjects by check (no message or evidence), `full` keeps one record
    /// per finding.
    #[arg(long, value_enum, default_value_t = report::passes::Passes::Compact)]
    passes: report::passes::Passes,

    /// A waivers file (TOML, `[[waiver]]` entries: docs/report.md): accepted
    /// exceptions shown as `waived`, not failing the scan; with those a
    /// registry file names (`waivers = "FILE"`).
    #[arg(long = "waivers", value_name = "FILE")]
    waivers: Vec<PathBuf>,

    /// The API group of policy reports (--format policyreport,
    /// --publish-reports): wg-policy's PolicyReport/ClusterPolicyReport or
    /// OpenReports' Report/ClusterReport.
    #[arg(long, value_enum, value_name = "API", default_value = "wgpolicyk8s.io/v1alpha2")]
    report_api: report::policyreport::ReportApi,
}

/// One `--output`: a file for `--format`, or a format and its file.
#[derive(Debug, Clone)]
struct OutputTarget {
    format: Option<ReportFormat>,
    path: PathBuf,
}

/// `FILE`, or `FMT=FILE` when what comes before the first `=` is a format's name.
fn parse_output(text: &str) -> Result<OutputTarget, String> {
    if let Some((name, path)) = text.split_once('=')
        && let Ok(format) = <ReportFormat as ValueEnum>::from_str(name, false)
    {
        if path.is_empty() {
            return Err(format!("{name}=: give the file to write the {name} report to"));
        }
        return Ok(OutputTarget { format: Some(format), path: PathBuf::from(path) });
    }
    if text.is_empty() {
        return Err("give a file, or FORMAT=FILE".into());
    }
    Ok(OutputTarget { format: None, path: PathBuf::from(text) })
}

impl ReportArgs {
    /// Where each format goes: `--format` to the plain `--output FILE` (or
    /// standard output), then each `FMT=FILE`.
    fn targets(&self) -> anyhow::Result<Vec<(ReportFormat, Option<PathBuf>)>> {
        let plain: Vec<&OutputTarget> = self.output.iter().filter(|o| o.format.is_none()).collect();
        if plain.len() > 1 {
            bail!("--output FILE is given {} times; give one file for --format, and FMT=FILE for the others", plain.len());
        }
        let mut targets = vec![(self.format, plain.first().map(|o| o.path.clone()))];
        for o in self.output.iter().filter(|o| o.format.is_some()) {
            targets.push((o.format.expect("filtered"), Some(o.path.clone())));
        }
        let mut seen: Vec<&Path> = Vec::new();
        for (_, path) in &targets {
            if let Some(p) = path {
                if seen.contains(&p.as_path()) {
                    bail!("--output {}: two reports would be written to one file", p.display());
                }
                seen.push(p);
            }
        }
        Ok(targets)
    }

    /// Flags that only make sense together, checked before any work.
    fn check(&self) -> anyhow::Result<()> {
        let targets = self.targets()?;
        let Some(asset) = &self.asset else { return Ok(()) };
        if !targets.iter().any(|(f, _)| f.is_checklist()) {
            bail!("--asset names the host in a STIG checklist or XCCDF result: use it with --format ckl, cklb or xccdf");
        }
        // STIG Manager refuses host names past 255 characters.
        if asset.trim().is_empty() || asset.chars().count() > 255 || asset.chars().any(char::is_control) {
            bail!("--asset {asset:?}: give a host name of 1 to 255 printable characters");
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Reports written by `rampart scan --format json`.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// The node facts a profile's checks ask for (file stats, the config
    /// files they read, process argv) and nothing else.
    Node {
        /// The node's root directory (`/` on the node itself).
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        #[arg(long, value_name = "ID")]
        profile: String,
        /// The node's name in reports [default: the kubelet's
        /// --hostname-override, else the root's /etc/hostname, else the
        /// root directory's name].
        #[arg(long)]
        name: Option<String>,
    },
    /// Cluster objects from a live API server or manifest files (Secret
    /// values stored redacted). From a server, only the kinds a profile's
    /// (or the named plugins') checks list, else everything listable.
    Cluster {
        #[arg(long, num_args = 1.., value_name = "DIR_OR_FILE")]
        manifests: Vec<PathBuf>,
        #[command(flatten)]
        live: LiveArgs,
        /// Record only the kinds this profile's plugins list.
        #[arg(long, value_name = "ID")]
        profile: Option<String>,
        /// Record only the kinds these plugins list.
        #[arg(long, num_args = 1.., value_name = "NAME")]
        plugin: Vec<String>,
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// The profiles in registry.toml.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Every control of a profile with its checks.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// The plugins in registry.toml with their checks and capabilities.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// A component's metadata and requested capabilities, read with nothing
    /// granted.
    Inspect {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a new plugin project that builds and passes its own cases: a
    /// check of image tags, two cases, the WIT, a README.
    New {
        /// The plugin's name (lowercase letters, digits, `-`).
        name: String,
        /// rust, python, js, c or go.
        #[arg(long, value_name = "LANG")]
        lang: String,
        /// Where to write it [default: ./NAME].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Build a plugin project (Rust, Python, JavaScript, C or Go) into
    /// DIR/plugin.wasm; the language is told by its files.
    Build {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Run a plugin component against declarative cases and compare its
    /// findings with the expected ones (docs/plugin-test.md): exit 0 when
    /// every case matches, 1 with a diff when one does not, 2 when a case
    /// or the component cannot be read.
    Test {
        /// A plugin project directory (its component as plugin.wasm, its
        /// cases under cases/) or a component file.
        #[arg(value_name = "DIR|FILE.wasm")]
        target: PathBuf,
        /// The cases: a directory of case directories, or one case
        /// directory [default: cases/ of the project, or beside the file].
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
}

/// `--quiet`: input errors go to the report only.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs the CLI and maps the outcome to the documented exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    // By default only Rampart's own warnings: the kube client logs its own
    // ERROR lines for failures Rampart reports once, in its own words.
    // `-v` shows every library's log as well.
    let filter = match cli.verbose {
        _ if cli.quiet => "off",
        0 => "rampart_host=warn,rampart_host::compile=info",
        1 => "info",
        _ => "debug",
    };
    let stderr_is_terminal = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_ansi(stderr_is_terminal && std::env::var_os("NO_COLOR").is_none())
        .log_internal_errors(false)
        .with_writer(std::io::stderr)
        .try_init();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            say(&format!("error: {}", report::terminal_safe(&format!("{e:#}"))));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// One line on standard error. A closed stderr (`2>&1 | head`) loses the
/// line instead of panicking as `eprintln!` does: the exit code says the rest.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes()).and_then(|_| err.write_all(b"\n"));
}

fn engine(flags: &EngineFlags) -> anyhow::Result<Engine> {
    let defaults = EngineConfig::default();
    let timeout = flags.timeout.unwrap_or(defaults.timeout.as_secs_f64());
    if !(timeout > 0.0 && timeout <= 3600.0) {
        bail!("--timeout {timeout}: must be between 0 and 3600 seconds");
    }
    let memory_mib = flags.memory_mib.unwrap_or(256);
    if memory_mib == 0 || memory_mib > 64 * 1024 {
        bail!("--memory-mib {memory_mib}: must be between 1 and 65536");
    }
    let max_output_mib = flags.max_output_mib.unwrap_or(defaults.output.max_output_bytes / (1024 * 1024));
    if max_output_mib == 0 || max_output_mib > 64 * 1024 {
        bail!("--max-output-mib {max_output_mib}: must be between 1 and 65536");
    }
    let max_findings = flags.max_findings.unwrap_or(defaults.output.max_findings);
    if max_findings == 0 {
        bail!("--max-findings 0: a run must be allowed at least one finding");
    }
    let cache_dir = if flags.no_cache { None } else { flags.cache_dir.clone().or_else(default_cache_dir) };
    let timeout = Duration::from_secs_f64(timeout);
    Ok(Engine::new(EngineConfig {
        timeout,
        host_call_timeout: timeout.min(Duration::from_secs(5)),
        memory_bytes: memory_mib * 1024 * 1024,
        cache_dir,
        output: crate::broker::OutputLimits { max_findings, max_output_bytes: max_output_mib * 1024 * 1024, ..Default::default() },
        // A limit the operator set is the limit; a default grows with the
        // cluster.
        scale: crate::engine::Scaling {
            timeout: flags.timeout.is_none(),
            findings: flags.max_findings.is_none(),
            output: flags.max_output_mib.is_none(),
            memory: flags.memory_mib.is_none(),
        },
    })?)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("rampart"))
}

/// The user's own registry: `$XDG_CONFIG_HOME/rampart/registry.toml`
/// (`~/.config/rampart/registry.toml`).
fn user_registry() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("rampart/registry.toml"))
}

/// The built-ins this binary carries, then the user's registry, then
/// `--registry FILE` (else ./registry.toml, as in a checkout), each layered
/// on the ones before.
fn bundle_command(
    registry: Option<PathBuf>,
    flags: &EngineFlags,
    remote_options: crate::bundle::remote::Options,
    command: BundleCommand,
) -> anyhow::Result<u8> {
    use crate::bundle::{Bundle, install, remote};
    match command {
        BundleCommand::Pack { plugins, profiles, tag, output } => {
            let registry = load_registry(registry)?;
            let engine = engine(flags)?;
            let bundle = crate::bundle::pack(&registry, &engine, &plugins, &profiles, &tag)?;
            bundle.layout.write(&output)?;
            say(&format!(
                "packed {} plugin(s) and {} profile(s) into {} (manifest {}, tag {tag})",
                bundle.config.plugins.len(),
                bundle.config.profiles.len(),
                output.display(),
                bundle.digest
            ));
            Ok(EXIT_OK)
        }
        BundleCommand::Sign { reference, key } => {
            if reference.starts_with("oci://") {
                let parsed = remote::parse(&reference)?;
                let client = remote::Remote::new(&parsed, &remote_options)?;
                let mut bundle = client.pull(&parsed)?;
                let identity = format!("{}/{}", parsed.resolve_registry(), parsed.repository());
                let id = bundle.sign(&key, &identity)?;
                let target = match parsed.tag() {
                    Some(_) => parsed.clone(),
                    None => oci_client::Reference::with_digest(parsed.registry().into(), parsed.repository().into(), bundle.digest.clone()),
                };
                client.push(&bundle, &target)?;
                say(&format!("signed {} ({}) with key {id}", bundle.digest, reference));
            } else {
                let path = Path::new(&reference);
                let mut bundle = Bundle::read(path, None, remote_options.max_bytes)?;
                let id = bundle.sign(&key, "")?;
                bundle.layout.write_over(path)?;
                say(&format!("signed {} ({}) with key {id}", bundle.digest, reference));
            }
            Ok(EXIT_OK)
        }
        BundleCommand::Verify { reference, key } => {
            let bundle = install::open(&reference, None)?;
            let keys = key.iter().map(|k| crate::bundle::signature::PublicKey::load(k)).collect::<crate::Result<Vec<_>>>()?;
            match bundle.verify(&keys) {
                Ok(id) => {
                    write_output(None, &format!("{reference}: bundle {} is signed by key {id}; every digest matches\n", bundle.digest))?;
                    Ok(EXIT_OK)
                }
                Err(e) => {
                    say(&format!("error: {}", report::terminal_safe(&e.to_string())));
                    Ok(EXIT_FAILURES)
                }
            }
        }
        BundleCommand::Push { bundle, reference } => {
            let parsed = remote::parse(&reference)?;
            let local = Bundle::read(&bundle, None, remote_options.max_bytes)?;
            let digest = remote::Remote::new(&parsed, &remote_options)?.push(&local, &parsed)?;
            let signed = if local.signatures.is_some() { " with its signatures" } else { " (not signed)" };
            write_output(
                None,
                &format!("pushed {}{signed}: {}@{digest}\n", bundle.display(), reference.split('@').next().unwrap_or(&reference)),
            )?;
            Ok(EXIT_OK)
        }
        BundleCommand::Pull { reference, output } => {
            let parsed = remote::parse(&reference)?;
            let bundle = remote::Remote::new(&parsed, &remote_options)?.pull(&parsed)?;
            bundle.layout.write(&output)?;
            let signed = if bundle.signatures.is_some() { " and its signatures" } else { " (no signatures)" };
            write_output(
                None,
                &format!(
                    "pulled {}@{}{signed} into {}\n",
                    reference.split('@').next().unwrap_or(&reference),
                    bundle.digest,
                    output.display()
                ),
            )?;
            Ok(EXIT_OK)
        }
        BundleCommand::Install { reference, key, approve } => {
            let target = match registry.clone().or_else(user_registry) {
                Some(path) => path,
                None => bail!("no registry file to install into: give --registry FILE, or set HOME or XDG_CONFIG_HOME"),
            };
            let current = load_registry(registry.filter(|p| p.is_file()))?;
            let engine = engine(flags)?;
            let request = install::InstallRequest { reference: reference.clone(), keys: key, approve, registry: target.clone() };
            let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            let mut asked = false;
            let mut confirm = |changes: &[install::GrantChange]| {
                if !interactive {
                    return false;
                }
                asked = true;
                say(&install::describe_changes(changes));
                say("grant these? [y/N]");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
            };
            match install::install(&engine, Some(&current), &request, &mut confirm)? {
                install::Outcome::Installed { digest, signed_by, changes, profiles } => {
                    let mut text = format!("installed {reference} ({digest}) into {}\n", target.display());
                    match signed_by {
                        Some(id) => text.push_str(&format!("  signed by key {id}\n")),
                        None => text.push_str("  no --key given: digests are pinned, no signature was checked\n"),
                    }
                    for c in &changes {
                        text.push_str(&format!("  plugin {}: {} grant(s)", c.plugin, c.new.len()));
                        if !c.removed.is_empty() {
                            text.push_str(&format!(", {} fewer than before", c.removed.len()));
                        }
                        text.push('\n');
                    }
                    for p in &profiles {
                        text.push_str(&format!("  profile {p}: use it with --profile {p}\n"));
                    }
                    write_output(None, &text)?;
                    Ok(EXIT_OK)
                }
                install::Outcome::NeedsApproval { .. } if asked => {
                    say(&format!("error: not installed: the grants were declined; {} is unchanged", target.display()));
                    Ok(EXIT_FAILURES)
                }
                install::Outcome::NeedsApproval { changes } => {
                    say(&format!(
                        "error: not installed: {reference} asks for capabilities that are not granted now\n{}run again with --approve to grant them",
                        install::describe_changes(&changes)
                    ));
                    Ok(EXIT_FAILURES)
                }
            }
        }
        BundleCommand::Inspect { reference, format } => {
            let bundle = install::open(&reference, None)?;
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&crate::bundle::Inspection::of(&bundle))? + "\n",
                Format::Text => crate::bundle::Inspection::of(&bundle).text(),
            };
            write_output(None, &text)?;
            Ok(EXIT_OK)
        }
    }
}

fn load_registry(flag: Option<PathBuf>) -> anyhow::Result<Registry> {
    let mut files = Vec::new();
    if let Some(user) = user_registry().filter(|p| p.is_file()) {
        files.push(user);
    }
    match flag {
        Some(path) => files.push(path),
        None => {
            let here = PathBuf::from("registry.toml");
            if here.is_file() {
                files.push(here);
            }
        }
    }
    Ok(Registry::layered(&files)?)
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let max_bundle_mib = cli.oci.max_bundle_mib.unwrap_or(crate::bundle::DEFAULT_MAX_BYTES >> 20);
    if max_bundle_mib == 0 || max_bundle_mib > 1 << 20 {
        bail!("--max-bundle-mib {max_bundle_mib}: must be between 1 and 1048576");
    }
    let remote =
        crate::bundle::remote::Options { insecure: cli.oci.insecure, ca_cert: cli.oci.ca_cert.clone(), max_bytes: max_bundle_mib << 20 };
    crate::bundle::install::configure(crate::bundle::install::Settings {
        cache_dir: if cli.engine.no_cache { None } else { cli.engine.cache_dir.clone().or_else(default_cache_dir) },
        remote: remote.clone(),
    });
    match cli.command {
        Command::Key(KeyCommand::Generate { out }) => {
            let id = crate::bundle::signature::generate(&out)?;
            say(&format!("wrote {} (private, keep it secret) and {}.pub; key id {id}", out.display(), out.display()));
            Ok(EXIT_OK)
        }
        Command::Bundle(command) => bundle_command(cli.registry, &cli.engine, remote, command),
        Command::Scan(args) => run_scan(cli.registry, &cli.engine, args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "rampart", &mut out);
            write_output(None, &String::from_utf8_lossy(&out))?;
            Ok(EXIT_OK)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
            write_output(None, &String::from_utf8_lossy(&out))?;
            Ok(EXIT_OK)
        }
        Command::Diff(args) => {
            let diff = crate::diff::diff(&args.old, &args.new)?;
            let text = match args.format {
                DiffFormat::Text => diff.text(),
                DiffFormat::Json => serde_json::to_string_pretty(&diff)? + "\n",
                DiffFormat::Markdown => diff.markdown(),
            };
            write_output(args.output.as_deref(), &text)?;
            Ok(if diff.regressions > 0 { EXIT_FAILURES } else { EXIT_OK })
        }
        Command::Plugin(PluginCommand::List { format }) => {
            let registry = load_registry(cli.registry)?;
            let engine = engine(&cli.engine)?;
            plugin_list(&engine, &registry, format)
        }
        Command::Merge(args) => {
            args.report.check()?;
            let registry = load_registry(cli.registry)?;
            let waivers = load_waivers(&registry, &args.report)?;
            let inputs = args.reports.iter().map(|p| crate::merge::read(p)).collect::<crate::Result<Vec<_>>>()?;
            let report = crate::merge::merge(inputs, &registry)?;
            finish(report, &args.report, &waivers, None)
        }
        Command::Snapshot(command) => {
            let registry = load_registry(cli.registry)?;
            snapshot_command(&cli.engine, &registry, command)
        }
        Command::Profile(command) => {
            let registry = load_registry(cli.registry)?;
            profile_command(&registry, command)
        }
        Command::Bench(args) => {
            let registry = load_registry(cli.registry)?;
            let engine = engine(&cli.engine)?;
            let profile = args.profile.as_deref().map(|id| registry.profile(id)).transpose()?;
            let request = args.target.request(Vec::new(), profile.into_iter().collect())?;
            let rows = crate::bench::run(engine.config(), &registry, &request, args.baseline.as_deref(), args.iterations)?;
            let text = match args.format {
                Format::Json => {
                    serde_json::to_string_pretty(&serde_json::json!({ "machine": crate::bench::machine(), "rows": rows }))? + "\n"
                }
                Format::Text => {
                    let mut table = comfy_table::Table::new();
                    table.load_style(comfy_table::presets::ASCII_MARKDOWN).set_header([
                        "measurement",
                        "runs",
                        "median ms",
                        "min ms",
                        "max ms",
                    ]);
                    for r in &rows {
                        table.add_row([
                            r.what.clone(),
                            r.runs.to_string(),
                            format!("{:.3}", r.median_ms),
                            format!("{:.3}", r.min_ms),
                            format!("{:.3}", r.max_ms),
                        ]);
                    }
                    format!("machine: {}\n\n{table}\n", crate::bench::machine())
                }
            };
            write_output(None, &text)?;
            Ok(EXIT_OK)
        }
        Command::Plugin(PluginCommand::New { name, lang, dir }) => {
            let language = crate::plugin_new::language(&lang)?;
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            crate::plugin_new::scaffold(&name, language, &dir)?;
            say(&format!("wrote {} ({}): next, see its README.md", dir.display(), language.name()));
            Ok(EXIT_OK)
        }
        Command::Plugin(PluginCommand::Build { dir }) => {
            let started = std::time::Instant::now();
            let built = match crate::plugin_build::build(&dir) {
                Ok(built) => built,
                // A compiler's output is many lines: shown as lines, each
                // made safe for the terminal, not folded into one.
                Err(e) => {
                    for (i, line) in e.to_string().lines().enumerate() {
                        say(&format!("{}{}", if i == 0 { "error: " } else { "  " }, report::terminal_safe(line)));
                    }
                    return Ok(EXIT_USAGE);
                }
            };
            say(&format!(
                "built {} ({}, {} bytes) in {:.1} s",
                built.output.display(),
                built.language.name(),
                built.bytes,
                started.elapsed().as_secs_f64()
            ));
            Ok(EXIT_OK)
        }
        Command::Plugin(PluginCommand::Test { target, cases }) => {
            let target = crate::plugin_test::Target::resolve(&target, cases.as_deref())?;
            let engine = engine(&cli.engine)?;
            let outcome = crate::plugin_test::run(&engine, &target)?;
            write_output(None, &outcome.text)?;
            Ok(if !outcome.bad.is_empty() {
                EXIT_USAGE
            } else if outcome.failed > 0 {
                EXIT_FAILURES
            } else {
                EXIT_OK
            })
        }
        Command::Plugin(PluginCommand::Inspect { file, format }) => {
            let engine = engine(&cli.engine)?;
            // The registry, when there is one, tells the name the file is
            // installed under; inspecting a file needs none.
            let registry = load_registry(cli.registry).ok();
            plugin_inspect(&engine, registry.as_ref(), &file, format)
        }
    }
}

fn run_scan(registry: Option<PathBuf>, flags: &EngineFlags, args: ScanArgs) -> anyhow::Result<u8> {
    let grants = args.grant.iter().map(|g| Capability::parse(g).with_context(|| "--grant")).collect::<anyhow::Result<Vec<_>>>()?;
    let registry = load_registry(registry)?;
    let waivers = load_waivers(&registry, &args.report)?;
    let mut profiles: Vec<Profile> = Vec::new();
    for id in &args.profile {
        if profiles.iter().any(|p| &p.id == id) {
            bail!("--profile {id} is given twice");
        }
        profiles.push(registry.profile(id)?);
    }
    args.report.check()?;
    // A checklist needs a STIG profile: say so before scanning anything.
    if args.report.format.is_checklist() {
        let fit = match profiles.iter().find(|p| p.checklist.is_some()).or(profiles.first()) {
            None => Err(crate::Error::ChecklistWithoutProfile),
            Some(p) => checklist::check_profile(&p.id, p.checklist.as_ref()),
        };
        fit.context(args.report.format.flag())?;
    }
    if profiles.is_empty()
        && let Some((format, _)) = args.report.targets()?.into_iter().find(|(f, _)| *f == ReportFormat::Oscal)
    {
        bail!("{}: OSCAL assessment results are about a profile's controls: give --profile (e.g. --profile cis-k8s-1.12)", format.flag());
    }
    let publish = match (args.publish_reports, args.target.live.options()) {
        (false, _) => None,
        (true, Some(live)) => Some(live),
        (true, None) => bail!("--publish-reports writes to the cluster scanned: give --in-cluster or --kubeconfig PATH"),
    };
    let mut request = args.target.request(grants, profiles)?;
    request.progress = crate::scan::shows_progress(
        std::io::stderr().is_terminal(),
        QUIET.load(std::sync::atomic::Ordering::Relaxed),
        std::env::var_os("CI").is_some(),
    );
    request.jobs = args.jobs.map(usize::from);
    // A compact JSON report points at its findings: its controls need no
    // copies of them (every other format, waivers and publishing read the
    // copies).
    let only_compact_json = args.report.passes == report::passes::Passes::Compact
        && args.report.targets()?.iter().all(|(format, _)| *format == ReportFormat::Json);
    if only_compact_json && waivers.is_empty() && publish.is_none() {
        request.control_findings = crate::profile::ControlFindings::Indices;
    }
    let engine = engine(flags)?;
    let report = scan::scan(&engine, &registry, &request)?;
    finish(report, &args.report, &waivers, publish.as_ref())
}

/// `--publish-reports`: what could not be written is an error of the scan.
fn publish_reports(report: &mut report::Report, live: &LiveOptions, api: report::policyreport::ReportApi) {
    let objects = report::policyreport::objects(report, api, std::time::SystemTime::now());
    let covered = crate::publish::Covered {
        cluster: !report.targets.cluster_sources.is_empty(),
        nodes: report.targets.nodes.iter().map(|n| n.name.clone()).collect(),
    };
    match crate::publish::publish(live, api, &objects, &covered) {
        Ok(done) => {
            if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
                say(&format!(
                    "published {} of {} {} reports; removed {} stale ones",
                    done.written,
                    objects.len(),
                    api.api_version(),
                    done.deleted
                ));
            }
            report.errors.extend(done.errors.into_iter().map(|e| format!("--publish-reports: {e}")));
        }
        Err(e) => report.errors.push(format!("--publish-reports: {e}")),
    }
}

/// Writes a report and maps it to the exit code.
/// The waivers a report is judged with: the registry's files, then `--waivers`.
/// Read before any work, so a malformed file stops the command at once.
fn load_waivers(registry: &Registry, args: &ReportArgs) -> anyhow::Result<Vec<crate::waivers::Waiver>> {
    let files: Vec<PathBuf> = registry.waivers.iter().chain(&args.waivers).cloned().collect();
    Ok(crate::waivers::load(&files)?)
}

/// `publish`: the cluster to write policy reports to (`--publish-reports`).
fn finish(
    mut report: report::Report,
    args: &ReportArgs,
    waivers: &[crate::waivers::Waiver],
    publish: Option<&LiveOptions>,
) -> anyhow::Result<u8> {
    crate::waivers::apply(&mut report, waivers, crate::waivers::today());
    // Waivers first: a waived finding is published as waived.
    if let Some(live) = publish {
        publish_reports(&mut report, live, args.report_api);
    }
    // Judged on every finding, before passes are grouped.
    let started = std::time::Instant::now();
    let failed = report.fails_at(args.fail_on);
    // JSON last: grouping its passes changes the report the others read.
    let mut targets = args.targets()?;
    targets.sort_by_key(|(format, _)| *format == ReportFormat::Json);
    let several = targets.len() > 1;
    for (format, output) in &targets {
        write_report(&mut report, args, *format, output.as_deref(), several)?;
    }
    tracing::info!("reports written in {} ms", started.elapsed().as_millis());
    let code = if !report.errors.is_empty() {
        if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
            for e in &report.errors {
                say(&format!("error: {}", report::terminal_safe(e)));
            }
        }
        EXIT_USAGE
    } else if failed && !args.soft_fail {
        EXIT_FAILURES
    } else {
        EXIT_OK
    };
    // The command ends here. A large cluster's report is hundreds of
    // thousands of allocations: freeing them one by one took 40 ms of a
    // 10k-pod scan's 1.2 s (docs/performance.md), and the process gives
    // its memory back at once when it exits.
    std::mem::forget(report);
    Ok(code)
}

/// Writes one format of the report. `several`: other formats are written
/// from the same report after this one, so it is left as it was.
fn write_report(
    report: &mut report::Report,
    args: &ReportArgs,
    format: ReportFormat,
    output: Option<&Path>,
    several: bool,
) -> anyhow::Result<()> {
    match format {
        // Streamed: a large cluster's report is tens of MB.
        ReportFormat::Json => {
            if args.passes == report::passes::Passes::Compact && report.passes.is_empty() {
                let started = std::time::Instant::now();
                report::passes::compact(report);
                tracing::info!("passes grouped in {} ms", started.elapsed().as_millis());
            }
            stream_output(output, |w| report::json::write_report(w, report))?
        }
        ReportFormat::Text => {
            let text =
                report::render_text(report, output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none());
            write_output(output, &text)?
        }
        ReportFormat::Junit => write_output(output, &report::junit::junit(report).context("--format junit")?)?,
        ReportFormat::Sarif => write_output(output, &report::sarif::sarif(report))?,
        ReportFormat::Html => write_output(output, &report::html::html(report).context("--format html")?)?,
        // Recorded now, right after the scan (or the merge), as XCCDF.
        ReportFormat::Policyreport => {
            let objects = report::policyreport::objects(report, args.report_api, std::time::SystemTime::now());
            write_output(output, &report::policyreport::yaml(&objects).context("--format policyreport")?)?
        }
        ReportFormat::Oscal => {
            write_output(output, &report::oscal::oscal(report, std::time::SystemTime::now()).context("--format oscal")?)?
        }
        ReportFormat::Ckl | ReportFormat::Cklb | ReportFormat::Xccdf => {
            // A scan of several profiles writes the checklist of its STIG
            // ones (a CIS profile has no checklist identity).
            let mut stigs = None;
            if report.profiles.iter().any(|p| p.checklist.is_some()) && report.profiles.iter().any(|p| p.checklist.is_none()) {
                if several {
                    // Others read the report after this: a copy (only a scan
                    // of several profiles writing a checklist among other
                    // formats pays for it).
                    let mut only = report.clone();
                    only.profiles.retain(|p| p.checklist.is_some());
                    stigs = Some(only);
                } else {
                    report.profiles.retain(|p| p.checklist.is_some());
                }
            }
            let report = stigs.as_ref().unwrap_or(report);
            let asset = checklist::Asset::of(report, args.asset.as_deref());
            let text = match format {
                ReportFormat::Ckl => checklist::ckl(&report.profiles, &asset),
                ReportFormat::Cklb => checklist::cklb(&report.profiles, &asset),
                // The report carries no time of its own: the results are
                // recorded now, right after the scan (or the merge).
                _ => xccdf::xccdf(report, &asset, std::time::SystemTime::now()),
            };
            write_output(output, &text.context(format.flag())?)?
        }
    }
    Ok(())
}

fn write_output(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    stream_output(path, |w| w.write_all(text.as_bytes()))
}

/// Writes to `--output FILE` or standard output through a buffer.
fn stream_output(path: Option<&Path>, write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| format!("--output {}", p.display()))?;
            let mut w = std::io::BufWriter::new(file);
            write(&mut w).and_then(|_| w.flush()).with_context(|| format!("--output {}", p.display()))
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth a message.
            match write(&mut w).and_then(|_| w.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
    }
}

#[derive(serde::Serialize)]
struct PluginListing {
    name: String,
    /// The name the plugin gives itself in `describe`.
    #[serde(skip_serializing_if = "Option::is_none")]
    declared_name: Option<String>,
    /// What a reader should not miss (a declared name that is not the
    /// registered one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    source: String,
    /// Which registry the entry comes from: `built-in` or a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    /// `plugin inspect`: the WIT package the component was built against.
    #[serde(skip_serializing_if = "Option::is_none")]
    wit: Option<String>,
    /// `plugin inspect`: the source language, when the component tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    /// `plugin inspect`: the component file's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    size_bytes: Option<u64>,
    checks: Vec<report::CheckMeta>,
    /// The settings the plugin reads: name, kind, what it does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    settings: Vec<SettingListing>,
    requested: Vec<String>,
    granted: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct SettingListing {
    name: String,
    kind: &'static str,
    description: String,
}

fn setting_listings(meta: &crate::engine::PluginMeta) -> Vec<SettingListing> {
    meta.settings
        .iter()
        .map(|s| SettingListing { name: s.name.clone(), kind: s.kind.as_str(), description: s.description.clone() })
        .collect()
}

fn plugin_list(engine: &Engine, registry: &Registry, format: Format) -> anyhow::Result<u8> {
    let mut listings = Vec::new();
    let mut failed = false;
    for entry in &registry.plugins {
        let mut listing = PluginListing {
            name: entry.name.clone(),
            declared_name: None,
            warnings: Vec::new(),
            source: entry.source.to_string(),
            origin: Some(entry.origin.to_string()),
            version: None,
            digest: None,
            wit: None,
            language: None,
            size_bytes: None,
            checks: Vec::new(),
            settings: Vec::new(),
            requested: Vec::new(),
            granted: entry.grants.iter().map(ToString::to_string).collect(),
            error: None,
        };
        match engine.load_source(&entry.name, &entry.source, entry.sha256.as_deref()) {
            Ok(p) => {
                listing.declared_name = Some(p.meta.name.clone());
                listing.warnings.extend(name_mismatch(&entry.name, &p.meta.name));
                listing.version = Some(p.meta.version.clone());
                listing.digest = Some(p.digest.clone());
                listing.checks = p.meta.checks.clone();
                listing.settings = setting_listings(&p.meta);
                listing.requested = p.meta.capabilities.iter().map(ToString::to_string).collect();
                if let Err(e) = p.meta.check_settings(&entry.name, &entry.settings, &registry.path.display().to_string()) {
                    failed = true;
                    listing.error = Some(e);
                }
            }
            Err(e) => {
                failed = true;
                listing.error = Some(e.to_string());
            }
        }
        listings.push(listing);
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&listings)? + "\n",
        Format::Text => {
            let mut out = String::from("Plugins (from: built-in, or the registry file that adds or changes them):\n");
            for l in &listings {
                out += &describe_listing(l);
            }
            out
        }
    };
    write_output(None, &text)?;
    Ok(if failed { EXIT_USAGE } else { EXIT_OK })
}

/// A warning when a plugin calls itself by another name than the one it is
/// registered under (a plugin posing as `pod-security`). Reports always use
/// the registered name.
fn name_mismatch(registered: &str, declared: &str) -> Option<String> {
    (registered != declared).then(|| {
        format!(
            "the plugin calls itself `{}` but is registered as `{}`; its findings are reported as `{}/...`",
            report::terminal_safe(declared),
            registered,
            registered
        )
    })
}

fn describe_listing(l: &PluginListing) -> String {
    let mut out = format!("\n{} {}\n  source: {}\n", l.name, l.version.as_deref().unwrap_or("?"), l.source);
    if let Some(origin) = &l.origin {
        out += &format!("  from: {origin}\n");
    }
    if let Some(declared) = &l.declared_name {
        out += &format!("  declared name: {}\n", report::terminal_safe(declared));
    }
    for w in &l.warnings {
        out += &format!("  WARNING: {w}\n");
    }
    if let Some(d) = &l.digest {
        out += &format!("  digest: {d}\n");
    }
    if let Some(wit) = &l.wit {
        out += &format!("  wit: {wit}\n");
    }
    if let Some(language) = &l.language {
        out += &format!("  language: {}\n", report::terminal_safe(language));
    }
    if let Some(size) = l.size_bytes {
        out += &format!("  size: {size} bytes ({:.1} MiB)\n", size as f64 / (1024.0 * 1024.0));
    }
    if let Some(e) = &l.error {
        out += &format!("  error: {e}\n");
        return out;
    }
    out += &format!("  checks ({}):\n", l.checks.len());
    for c in &l.checks {
        out += &format!("    {:<34} {:<8} {}\n", c.id, c.severity.as_str(), c.title);
    }
    if !l.settings.is_empty() {
        out += "  settings:\n";
        for s in &l.settings {
            out += &format!("    {:<34} {:<8} {}\n", s.name, s.kind, s.description);
        }
    }
    out += "  requested capabilities:\n";
    for r in &l.requested {
        out += &format!("    {r}\n");
    }
    if !l.granted.is_empty() {
        out += "  granted by registry.toml:\n";
        for g in &l.granted {
            out += &format!("    {g}\n");
        }
    }
    out
}

fn plugin_inspect(engine: &Engine, registry: Option<&Registry>, file: &Path, format: Format) -> anyhow::Result<u8> {
    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
    let plugin = engine.load(&name, file, None)?;
    let bytes = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let facts = crate::plugin_build::facts(&bytes);
    // The entries that install this very file, if any.
    let real = std::fs::canonicalize(file).ok();
    let registered: Vec<&str> = registry
        .map(|r| {
            r.plugins
                .iter()
                .filter(|e| matches!(&e.source, Source::File(p) if real.is_some() && std::fs::canonicalize(p).ok() == real))
                .map(|e| e.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let listing = PluginListing {
        name: registered.first().map_or_else(|| plugin.meta.name.clone(), |n| n.to_string()),
        declared_name: Some(plugin.meta.name.clone()),
        warnings: registered.iter().filter_map(|r| name_mismatch(r, &plugin.meta.name)).collect(),
        source: file.display().to_string(),
        origin: None,
        version: Some(plugin.meta.version.clone()),
        digest: Some(plugin.digest.clone()),
        wit: facts.wit,
        language: facts.language,
        size_bytes: Some(bytes.len() as u64),
        checks: plugin.meta.checks.clone(),
        settings: setting_listings(&plugin.meta),
        requested: plugin.meta.capabilities.iter().map(ToString::to_string).collect(),
        granted: Vec::new(),
        error: None,
    };
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&listing)? + "\n",
        Format::Text => describe_listing(&listing) + "  (nothing was granted while reading this)\n",
    };
    write_output(None, &text)?;
    Ok(EXIT_OK)
}

fn profile_command(registry: &Registry, command: ProfileCommand) -> anyhow::Result<u8> {
    match command {
        ProfileCommand::List { format } => {
            let mut rows = Vec::new();
            for entry in &registry.profiles {
                let p = entry.load()?;
                let automated = p.controls.iter().filter(|c| c.assessment == crate::profile::Assessment::Automated).count();
                rows.push(serde_json::json!({
                    "id": p.id, "title": p.title, "version": p.version, "source": entry.source.to_string(), "origin": entry.origin.to_string(),
                    "controls": p.controls.len(), "automated": automated, "manual": p.controls.len() - automated,
                    "plugins": p.plugins(),
                }));
            }
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&rows)? + "\n",
                Format::Text => rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{:<16} {} {}  ({} controls: {} automated, {} manual; from {})\n",
                            r["id"].as_str().unwrap_or(""),
                            r["title"].as_str().unwrap_or(""),
                            r["version"].as_str().unwrap_or(""),
                            r["controls"],
                            r["automated"],
                            r["manual"],
                            r["origin"].as_str().unwrap_or("")
                        )
                    })
                    .collect(),
            };
            write_output(None, &text)?;
        }
        ProfileCommand::Show { id, format } => {
            let p = registry.profile(&id)?;
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&p)? + "\n",
                Format::Text => {
                    let mut out = format!("{} {} ({}): {} controls\n", p.title, p.version, p.id, p.controls.len());
                    let mut section = "";
                    for c in &p.controls {
                        if c.section != section {
                            section = &c.section;
                            out += &format!("\n{}\n", crate::profile::Profile::section_heading(&p.sections, section));
                        }
                        let kind = if c.assessment == crate::profile::Assessment::Automated { "automated" } else { "manual" };
                        out += &format!("  {:<8} {:<9} {:<8} {}\n", c.id, kind, c.severity.as_str(), c.title);
                        if let (Some(rule), Some(stig)) = (&c.rule_id, &c.stig_id) {
                            out += &format!("           {rule} {stig} {}\n", c.ccis.join(" "));
                        }
                        if let Some(why) = &c.not_applicable {
                            out += &format!("           not applicable: {why}\n");
                        }
                        if !c.checks.is_empty() {
                            out += &format!("           checks: {}\n", c.checks.join(", "));
                        }
                        if !c.guidance.is_empty() {
                            out += &format!("           review: {}\n", c.guidance);
                        }
                    }
                    out
                }
            };
            write_output(None, &text)?;
        }
    }
    Ok(EXIT_OK)
}

fn snapshot_command(flags: &EngineFlags, registry: &Registry, command: SnapshotCommand) -> anyhow::Result<u8> {
    use crate::sources::live::{self, Wanted};
    use crate::sources::snapshot::{self, ClusterSnapshot, Recorder};
    use crate::sources::{ClusterData, NodeRoot, NodeView, manifests};
    use std::sync::Arc;
    match command {
        SnapshotCommand::Node { root, output, profile, name } => {
            let profile = registry.profile(&profile)?;
            let id = profile.id.clone();
            let node = NodeRoot::open(&root, name)?;
            let recorder = Arc::new(Recorder::new(Arc::new(node), Some(id.clone())));
            let view: Arc<dyn NodeView> = recorder.clone();
            let engine = engine(flags)?;
            let request = ScanRequest { node_views: vec![view], profiles: vec![profile], ..ScanRequest::default() };
            let report = scan::scan(&engine, registry, &request)?;
            for e in &report.errors {
                say(&format!("error: {}", report::terminal_safe(e)));
            }
            let mut snap = recorder.snapshot();
            snap.errors = report.errors.clone();
            snapshot::write(&output, &snap)?;
            // Recorded as unreadable (the scan of the snapshot gives `error`
            // for them); said here too, so the operator can fix it now.
            if let Some(err) = snap.processes.values().find_map(|p| p.failed()) {
                say(&format!("warning: recorded as unreadable: {}", report::terminal_safe(&err.to_string())));
            }
            say(&format!(
                "{}: node {} for profile {id}: {} stats, {} files read, {} directories listed, {} process lookups",
                output.display(),
                report::terminal_safe(&snap.node),
                snap.stats.len(),
                snap.reads.len(),
                snap.dirs.len(),
                snap.processes.len()
            ));
            Ok(if report.errors.is_empty() { EXIT_OK } else { EXIT_USAGE })
        }
        SnapshotCommand::Cluster { manifests: paths, live, profile, plugin, output } => {
            let mut data = ClusterData::default();
            let mut errors: Vec<String> = Vec::new();
            match (live.options(), paths.is_empty()) {
                (Some(_), false) => bail!("--manifests and --kubeconfig/--in-cluster both give the cluster's objects: choose one"),
                (None, true) => bail!("nothing to record: give --kubeconfig PATH, --in-cluster or --manifests DIR_OR_FILE..."),
                (None, false) => errors.extend(manifests::load(&paths, &mut data).iter().map(ToString::to_string)),
                (Some(options), true) => {
                    let wanted = if profile.is_none() && plugin.is_empty() {
                        Wanted::Everything
                    } else {
                        let profile = profile.as_deref().map(|id| registry.profile(id)).transpose()?;
                        let request = ScanRequest { profiles: profile.into_iter().collect(), plugins: plugin, ..ScanRequest::default() };
                        scan::cluster_kinds(&engine(flags)?, registry, &request)?
                    };
                    live::fetch(&options, &wanted, &mut data)?;
                    errors.extend(data.failures());
                }
            }
            for e in &errors {
                say(&format!("error: {}", report::terminal_safe(e)));
            }
            let mut snap = ClusterSnapshot::of(&data);
            // Kinds that failed to list are in `failed` already; the rest
            // (manifests that did not parse) travel as errors.
            snap.errors = errors.iter().filter(|e| !data.failures().any(|f| &f == *e)).cloned().collect();
            snapshot::write(&output, &snap)?;
            say(&format!(
                "{}: {} objects from {}{}",
                output.display(),
                snap.objects.len(),
                report::terminal_safe(&snap.sources.join(", ")),
                snap.listed.as_ref().map_or(String::new(), |k| format!(" ({} kinds listed, {} failed)", k.len(), snap.failed.len()))
            ));
            Ok(if errors.is_empty() { EXIT_OK } else { EXIT_USAGE })
        }
    }
}
