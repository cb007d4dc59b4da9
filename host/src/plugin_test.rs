//! `rampart plugin test`: runs a plugin COMPONENT through the real engine,
//! sandbox and grants against declarative cases (cluster objects, a node
//! root, settings) and compares its findings with the expected ones.
//!
//! A case is a directory (docs/plugin-test.md):
//!
//! ```text
//! cases/pinned-and-allowed/
//!   cluster/ | cluster.yaml | cluster.json   objects, any form `scan --manifests` reads
//!   node/                                    a node root tree (optional)
//!   node.tsv                                 modes/owners of node/ (optional; the demo's listing format)
//!   expect.toml                              settings and the expected findings
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::registry::{Origin, PluginEntry, Registry, Source};
use crate::report::{Finding, Status};
use crate::scan::{self, ScanRequest};

/// The file of a case that holds its expectations.
pub const EXPECT_FILE: &str = "expect.toml";
/// The component of a plugin project directory.
pub const COMPONENT_FILE: &str = "plugin.wasm";
/// The cases directory of a plugin project directory.
pub const CASES_DIR: &str = "cases";

/// What `plugin test` was pointed at, resolved to a component and cases.
#[derive(Debug, Clone)]
pub struct Target {
    pub component: PathBuf,
    pub cases: PathBuf,
}

impl Target {
    /// `DIR` (a project: `DIR/plugin.wasm`, `DIR/cases/`) or `FILE.wasm`
    /// (with `--cases`, else the `cases/` beside it).
    pub fn resolve(path: &Path, cases: Option<&Path>) -> Result<Target> {
        let bad = |message: String| Error::Case { path: path.to_path_buf(), message };
        let (component, default_cases) = if path.is_dir() {
            let component = path.join(COMPONENT_FILE);
            if !component.is_file() {
                return Err(bad(format!(
                    "a plugin project directory holds its component as {COMPONENT_FILE} and there is none: build it first \
                     (docs/plugin-test.md), or give the .wasm file and --cases DIR"
                )));
            }
            (component, path.join(CASES_DIR))
        } else if path.is_file() {
            (path.to_path_buf(), path.parent().unwrap_or(Path::new(".")).join(CASES_DIR))
        } else {
            return Err(bad("no such file or directory".into()));
        };
        let cases = cases.map(Path::to_path_buf).unwrap_or(default_cases);
        if !cases.is_dir() {
            return Err(Error::Case {
                path: cases,
                message: "no cases directory here: give --cases DIR (a directory of case directories, each with an expect.toml)".into(),
            });
        }
        Ok(Target { component, cases })
    }
}

/// The subject of a finding, as cases name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// kind, namespace, name (apiVersion is not compared).
    Object(String, Option<String>, String),
    Path(String),
    /// The target as a whole.
    Target,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Object(kind, Some(ns), name) => write!(f, "{kind}/{ns}/{name}"),
            Subject::Object(kind, None, name) => write!(f, "{kind}/{name}"),
            Subject::Path(p) => write!(f, "{p}"),
            Subject::Target => write!(f, "(target)"),
        }
    }
}

impl Subject {
    fn of(finding: &Finding) -> Subject {
        match (&finding.object, &finding.path) {
            (Some(o), _) => Subject::Object(o.kind.clone(), o.namespace.clone(), o.name.clone()),
            (None, Some(p)) => Subject::Path(p.to_string()),
            (None, None) => Subject::Target,
        }
    }

    /// `Kind/namespace/name` or `Kind/name` (cluster-scoped).
    fn parse_object(text: &str) -> std::result::Result<Subject, String> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("object {text:?}: empty part; write Kind/namespace/name or Kind/name"));
        }
        match parts.as_slice() {
            [kind, name] => Ok(Subject::Object(kind.to_string(), None, name.to_string())),
            [kind, ns, name] => Ok(Subject::Object(kind.to_string(), Some(ns.to_string()), name.to_string())),
            _ => Err(format!("object {text:?}: write Kind/namespace/name, or Kind/name for a cluster-scoped object")),
        }
    }
}

/// One expected finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `plugin/check`.
    pub check: String,
    pub status: Status,
    pub subject: Subject,
    /// Text the message must contain.
    pub message: Option<String>,
}

/// A case as read from its directory.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub settings: Vec<(String, String)>,
    pub node_name: String,
    pub expected: Vec<Expected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    settings: BTreeMap<String, String>,
    #[serde(default)]
    node: Option<RawNode>,
    #[serde(default)]
    finding: Vec<RawFinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinding {
    check: String,
    status: Status,
    object: Option<String>,
    path: Option<String>,
    message: Option<String>,
}

impl Case {
    /// Reads `dir/expect.toml`; check ids without a `/` are the plugin's own.
    pub fn load(dir: &Path, plugin: &str) -> Result<Case> {
        let file = dir.join(EXPECT_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| Error::Case { path: file.clone(), message: e.to_string() })?;
        Case::parse(dir, &file, &text, plugin)
    }

    fn parse(dir: &Path, file: &Path, text: &str, plugin: &str) -> Result<Case> {
        let bad = |message: String| Error::Case { path: file.to_path_buf(), message };
        let raw: RawExpect = toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?;
        let mut expected = Vec::new();
        for (i, f) in raw.finding.into_iter().enumerate() {
            let at = |m: String| bad(format!("[[finding]] #{}: {m}", i + 1));
            let check = if f.check.contains('/') { f.check } else { format!("{plugin}/{}", f.check) };
            if check.ends_with('/') || check.split('/').count() != 2 {
                return Err(at(format!("check {check:?}: write the check id (`pinned`) or plugin/check")));
            }
            let subject = match (f.object, f.path) {
                (Some(_), Some(_)) => return Err(at("give object or path, not both".into())),
                (Some(o), None) => Subject::parse_object(&o).map_err(at)?,
                (None, Some(p)) if p.starts_with('/') => Subject::Path(p),
                (None, Some(p)) => return Err(at(format!("path {p:?} must be absolute (a path on the node)"))),
                (None, None) => Subject::Target,
            };
            expected.push(Expected { check, status: f.status, subject, message: f.message });
        }
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
        Ok(Case {
            name,
            dir: dir.to_path_buf(),
            settings: raw.settings.into_iter().collect(),
            node_name: raw.node.map(|n| n.name).unwrap_or_else(|| "node".into()),
            expected,
        })
    }

    /// The manifest input of the case, if it has one.
    fn cluster(&self) -> Result<Option<PathBuf>> {
        let mut found = Vec::new();
        for name in ["cluster", "cluster.yaml", "cluster.yml", "cluster.json"] {
            let p = self.dir.join(name);
            if p.exists() {
                found.push(p);
            }
        }
        if found.len() > 1 {
            return Err(Error::Case {
                path: self.dir.clone(),
                message: "more than one cluster input (cluster/, cluster.yaml, ...): keep one".into(),
            });
        }
        Ok(found.pop())
    }
}

/// The case directories under `cases` (or `cases` itself when it is one).
pub fn case_dirs(cases: &Path) -> Result<Vec<PathBuf>> {
    if cases.join(EXPECT_FILE).is_file() {
        return Ok(vec![cases.to_path_buf()]);
    }
    let read = std::fs::read_dir(cases).map_err(|e| Error::io(cases, e))?;
    let mut dirs = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io(cases, e))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        // A case whose expectations are misnamed must not pass by running nothing.
        if !path.join(EXPECT_FILE).is_file() {
            return Err(Error::Case { path, message: format!("a case directory without {EXPECT_FILE}") });
        }
        dirs.push(path);
    }
    dirs.sort();
    if dirs.is_empty() {
        return Err(Error::Case {
            path: cases.to_path_buf(),
            message: format!("no cases (directories with an {EXPECT_FILE}): nothing would be tested"),
        });
    }
    Ok(dirs)
}

/// One difference between expected and actual findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// Expected, not produced.
    Missing(Expected),
    /// Produced, not expected: check, status, subject, message.
    Unexpected(String, Status, Subject, String),
    /// The same check and subject with another status (or message).
    Different { expected: Expected, status: Status, message: String },
}

/// Compares a run's findings with the case's: each expected finding takes
/// one actual finding with the same check and subject (a multiset match).
pub fn compare(expected: &[Expected], actual: &[&Finding]) -> Vec<Diff> {
    let matches = |e: &Expected, f: &Finding| e.message.as_ref().is_none_or(|m| f.message.contains(m.as_str()));
    let mut left: Vec<Option<&Finding>> = actual.iter().copied().map(Some).collect();
    let mut unmatched: Vec<&Expected> = Vec::new();
    // Exact matches first, so a duplicate subject pairs up the right way.
    for e in expected {
        let hit = left.iter_mut().find(|slot| {
            slot.is_some_and(|f| *f.check == *e.check && Subject::of(f) == e.subject && f.status == e.status && matches(e, f))
        });
        match hit {
            Some(slot) => *slot = None,
            None => unmatched.push(e),
        }
    }
    let mut diffs = Vec::new();
    for e in unmatched {
        let hit = left.iter_mut().find(|slot| slot.is_some_and(|f| *f.check == *e.check && Subject::of(f) == e.subject));
        match hit {
            Some(slot) => {
                let f = slot.take().expect("found above");
                diffs.push(Diff::Different { expected: e.clone(), status: f.status, message: f.message.to_string() });
            }
            None => diffs.push(Diff::Missing(e.clone())),
        }
    }
    for f in left.into_iter().flatten() {
        diffs.push(Diff::Unexpected(f.check.to_string(), f.status, Subject::of(f), f.message.to_string()));
    }
    diffs
}

/// The diff of one case, one line per difference: what was expected and
/// what the plugin gave, with its message.
pub fn render(case: &str, diffs: &[Diff]) -> String {
    let mut out = format!("FAIL {case}: {} difference(s)\n", diffs.len());
    let containing = |m: &Option<String>| m.as_ref().map(|m| format!(" with a message containing {m:?}")).unwrap_or_default();
    for d in diffs {
        let _ = match d {
            Diff::Missing(e) => {
                writeln!(
                    out,
                    "  missing     {} {}: expected {}{}, got nothing",
                    e.check,
                    e.subject,
                    e.status.as_str(),
                    containing(&e.message)
                )
            }
            Diff::Unexpected(check, status, subject, message) => {
                writeln!(out, "  unexpected  {check} {subject}: got {} {message:?}", status.as_str())
            }
            Diff::Different { expected: e, status, message } => writeln!(
                out,
                "  different   {} {}: expected {}{}, got {} {message:?}",
                e.check,
                e.subject,
                e.status.as_str(),
                containing(&e.message),
                status.as_str()
            ),
        };
    }
    out
}

/// How a whole `plugin test` went.
#[derive(Debug, Default)]
pub struct Outcome {
    pub text: String,
    pub passed: usize,
    pub failed: usize,
    /// Cases that could not be run (bad files), with why.
    pub bad: Vec<String>,
}

/// Runs every case against the component.
pub fn run(engine: &Engine, target: &Target) -> Result<Outcome> {
    let stem = target.component.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
    let plugin = engine.load(&stem, &target.component, None)?;
    let name = plugin.meta.name.clone();
    let mut outcome = Outcome::default();
    for dir in case_dirs(&target.cases)? {
        match run_case(engine, target, &name, &plugin.meta.capabilities, &dir) {
            Ok((case, diffs)) if diffs.is_empty() => {
                outcome.passed += 1;
                let _ = writeln!(outcome.text, "ok   {} ({} finding(s))", case.name, case.expected.len());
            }
            Ok((case, diffs)) => {
                outcome.failed += 1;
                outcome.text += &render(&case.name, &diffs);
            }
            Err(e) => {
                let _ = writeln!(outcome.text, "BAD  {}: {e}", dir.display());
                outcome.bad.push(e.to_string());
            }
        }
    }
    let _ = writeln!(
        outcome.text,
        "\n{} case(s) of plugin {name} ({}): {} passed, {} failed, {} could not run",
        outcome.passed + outcome.failed + outcome.bad.len(),
        target.component.display(),
        outcome.passed,
        outcome.failed,
        outcome.bad.len()
    );
    Ok(outcome)
}

fn run_case(
    engine: &Engine,
    target: &Target,
    plugin: &str,
    requested: &[crate::grants::Capability],
    dir: &Path,
) -> Result<(Case, Vec<Diff>)> {
    let case = Case::load(dir, plugin)?;
    let expect = dir.join(EXPECT_FILE);
    let cluster = case.cluster()?;
    let node_dir = dir.join("node");
    let listing = dir.join("node.tsv");
    let laid_out = if node_dir.exists() || listing.exists() {
        let tmp = tempfile::Builder::new().prefix("rampart-case").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let root = tmp.path().join(&case.node_name);
        lay_out(&node_dir, &listing, &root)?;
        Some((tmp, root))
    } else {
        None
    };
    if cluster.is_none() && laid_out.is_none() {
        return Err(Error::Case {
            path: dir.to_path_buf(),
            message: "no cluster input (cluster/, cluster.yaml or cluster.json) and no node root (node/, node.tsv)".into(),
        });
    }
    // The plugin is granted exactly what it asks for, as an operator who
    // installs it as it is would.
    let registry = Registry {
        waivers: Vec::new(),
        path: expect.clone(),
        plugins: vec![PluginEntry {
            name: plugin.to_string(),
            source: Source::File(target.component.clone()),
            sha256: None,
            origin: Origin::File(expect.clone()),
            grants: requested.to_vec(),
            settings: case.settings.clone(),
        }],
        profiles: Vec::new(),
    };
    let request = ScanRequest {
        manifests: cluster.into_iter().collect(),
        nodes: laid_out.iter().map(|(_, root)| root.clone()).collect(),
        node_names: laid_out.iter().map(|_| case.node_name.clone()).collect(),
        jobs: Some(1),
        ..ScanRequest::default()
    };
    let report = scan::scan(engine, &registry, &request).map_err(|e| Error::Case { path: expect.clone(), message: e.to_string() })?;
    if !report.errors.is_empty() {
        return Err(Error::Case { path: dir.to_path_buf(), message: format!("input errors: {}", report.errors.join("; ")) });
    }
    let prefix = format!("{plugin}/");
    let actual: Vec<&Finding> = report.findings.iter().filter(|f| f.check.starts_with(&prefix)).collect();
    let diffs = compare(&case.expected, &actual);
    Ok((case, diffs))
}

/// One row of a node listing: the demo's `node.tsv` format, columns found
/// by their header names (`path type mode uid gid`, and `link_target` for
/// symlinks; others ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingEntry {
    pub path: String,
    pub kind: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub link_target: Option<String>,
}

/// Reads a node listing, naming the file and line of any bad row.
pub fn read_listing(file: &Path, text: &str) -> Result<Vec<ListingEntry>> {
    let bad = |line: usize, message: String| Error::Case { path: file.to_path_buf(), message: format!("line {line}: {message}") };
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else { return Ok(Vec::new()) };
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    let col = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(path), Some(kind), Some(mode), Some(uid), Some(gid)) = (col("path"), col("type"), col("mode"), col("uid"), col("gid")) else {
        return Err(bad(
            1,
            "the header must name the tab-separated columns path, type, mode, uid, gid (and link_target for symlinks)".into(),
        ));
    };
    let link = col("link_target");
    let mut out = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize, what: &str| f.get(i).copied().ok_or_else(|| bad(n + 1, format!("no {what} column")));
        let num = |i: usize, what: &str| -> Result<u32> {
            let s = get(i, what)?;
            s.parse().map_err(|_| bad(n + 1, format!("{what} {s:?} is not a number")))
        };
        let p = get(path, "path")?.to_string();
        if !p.starts_with('/') || p.split('/').any(|s| s == "..") {
            return Err(bad(n + 1, format!("path {p:?} must be absolute, without `..`")));
        }
        let k = get(kind, "type")?.to_string();
        if !["dir", "file", "symlink"].contains(&k.as_str()) {
            return Err(bad(n + 1, format!("type {k:?}: dir, file or symlink")));
        }
        let m = get(mode, "mode")?;
        let mode =
            u32::from_str_radix(m, 8).ok().filter(|m| *m <= 0o7777).ok_or_else(|| bad(n + 1, format!("mode {m:?} is not octal (0644)")))?;
        let link_target = link.and_then(|i| f.get(i)).map(|s| s.to_string()).filter(|s| !s.is_empty());
        if k == "symlink" && link_target.is_none() {
            return Err(bad(n + 1, format!("symlink {p} without a link_target")));
        }
        out.push(ListingEntry { path: p, kind: k, mode, uid: num(uid, "uid")?, gid: num(gid, "gid")?, link_target });
    }
    Ok(out)
}

/// Lays out a node root at `dest`: the case's `node/` tree copied, then the
/// listing's entries made where missing (empty files) and given their modes
/// and owners.
pub fn lay_out(tree: &Path, listing: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    if tree.exists() {
        copy_tree(tree, dest)?;
    }
    if !listing.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(listing).map_err(|e| Error::io(listing, e))?;
    let entries = read_listing(listing, &text)?;
    let io = |p: &Path, e: std::io::Error| Error::Case { path: listing.to_path_buf(), message: format!("{}: {e}", p.display()) };
    for e in &entries {
        let target = dest.join(e.path.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|err| io(parent, err))?;
        }
        match e.kind.as_str() {
            "dir" => std::fs::create_dir_all(&target).map_err(|err| io(&target, err))?,
            "file" if !target.exists() => std::fs::write(&target, b"").map_err(|err| io(&target, err))?,
            "symlink" if std::fs::symlink_metadata(&target).is_err() => {
                std::os::unix::fs::symlink(e.link_target.as_deref().unwrap_or_default(), &target).map_err(|err| io(&target, err))?
            }
            _ => {}
        }
    }
    // Who this process is: the owner of the root it just made.
    let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dest).map_err(|e| Error::io(dest, e))?);
    let mut sorted: Vec<&ListingEntry> = entries.iter().collect();
    // Deepest first, so a tight directory mode does not stop the rest.
    sorted.sort_by_key(|e| std::cmp::Reverse(e.path.matches('/').count()));
    for e in sorted {
        let target = dest.join(e.path.trim_start_matches('/'));
        if me == 0 {
            std::os::unix::fs::lchown(&target, Some(e.uid), Some(e.gid)).map_err(|err| io(&target, err))?;
        } else if e.uid != me {
            // Owners are part of what node checks judge: a case that cannot
            // have them must not run with the wrong ones.
            return Err(Error::Case {
                path: listing.to_path_buf(),
                message: format!("{} is owned by uid {} in the listing, and only root can give it that owner: run as root", e.path, e.uid),
            });
        }
        if e.kind != "symlink" {
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(e.mode)).map_err(|err| io(&target, err))?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let read = std::fs::read_dir(from).map_err(|e| Error::io(from, e))?;
    for entry in read {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| Error::io(&src, e))?;
        if kind.is_symlink() {
            let link = std::fs::read_link(&src).map_err(|e| Error::io(&src, e))?;
            std::os::unix::fs::symlink(link, &dst).map_err(|e| Error::io(&dst, e))?;
        } else if kind.is_dir() {
            std::fs::create_dir_all(&dst).map_err(|e| Error::io(&dst, e))?;
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Evidence, ObjectRef, Severity};

    fn finding(check: &str, status: Status, object: Option<(&str, Option<&str>, &str)>, path: Option<&str>, message: &str) -> Finding {
        Finding {
            line: None,
            waiver: None,
            check: check.into(),
            status,
            severity: Severity::High,
            message: message.into(),
            object: object.map(|(kind, ns, name)| {
                ObjectRef { api_version: "v1".into(), kind: kind.into(), namespace: ns.map(Into::into), name: name.into() }.into()
            }),
            path: path.map(Into::into),
            node: None,
            source: None,
            evidence: Evidence::default(),
            profiles: Default::default(),
        }
    }

    fn case(text: &str) -> Result<Case> {
        Case::parse(Path::new("cases/one"), Path::new("cases/one/expect.toml"), text, "img")
    }

    #[test]
    fn reads_settings_and_findings_with_short_check_ids() {
        let c = case(
            r#"
[settings]
"registries.allowed" = "ghcr.io"
[node]
name = "cp-1"
[[finding]]
check = "pinned"
status = "fail"
object = "Pod/default/web"
[[finding]]
check = "other/thing"
status = "not-applicable"
path = "/etc/x"
[[finding]]
check = "whole"
status = "pass"
message = "all"
"#,
        )
        .unwrap();
        assert_eq!(c.settings, vec![("registries.allowed".to_string(), "ghcr.io".to_string())]);
        assert_eq!(c.node_name, "cp-1");
        assert_eq!(c.expected[0].check, "img/pinned");
        assert_eq!(c.expected[0].subject, Subject::Object("Pod".into(), Some("default".into()), "web".into()));
        assert_eq!(c.expected[1].check, "other/thing");
        assert_eq!(c.expected[1].subject, Subject::Path("/etc/x".into()));
        assert_eq!(c.expected[2].subject, Subject::Target);
        assert_eq!(c.expected[2].message.as_deref(), Some("all"));
    }

    #[test]
    fn bad_expect_files_name_the_file_and_the_problem() {
        for (text, needle) in [
            ("[[finding]]\ncheck = \"a\"\nstatus = \"passed\"\n", "unknown variant"),
            ("[[finding]]\ncheck = \"a\"\nstatus = \"pass\"\nobjekt = \"Pod/x\"\n", "unknown field"),
            ("[[finding]]\ncheck = \"a\"\nstatus = \"pass\"\nobject = \"Pod\"\n", "Kind/namespace/name"),
            ("[[finding]]\ncheck = \"a\"\nstatus = \"pass\"\nobject = \"Pod//x\"\n", "empty part"),
            ("[[finding]]\ncheck = \"a\"\nstatus = \"pass\"\npath = \"etc/x\"\n", "absolute"),
            ("[[finding]]\ncheck = \"a\"\nstatus = \"pass\"\npath = \"/x\"\nobject = \"Pod/x\"\n", "not both"),
            ("[[finding]]\ncheck = \"a/b/c\"\nstatus = \"pass\"\n", "plugin/check"),
            ("[settings]\nx = 1\n", "invalid type"),
        ] {
            let err = case(text).unwrap_err().to_string();
            assert!(err.contains("cases/one/expect.toml") && err.contains(needle), "{needle}: {err}");
        }
    }

    fn expected(check: &str, status: Status, subject: Subject) -> Expected {
        Expected { check: check.into(), status, subject, message: None }
    }

    fn pod(name: &str) -> Subject {
        Subject::Object("Pod".into(), Some("default".into()), name.into())
    }

    #[test]
    fn equal_findings_make_no_diff_whatever_their_order() {
        let a = finding("img/pinned", Status::Fail, Some(("Pod", Some("default"), "a")), None, "latest");
        let b = finding("img/pinned", Status::Pass, Some(("Pod", Some("default"), "b")), None, "ok");
        let want = [expected("img/pinned", Status::Pass, pod("b")), expected("img/pinned", Status::Fail, pod("a"))];
        assert!(compare(&want, &[&a, &b]).is_empty());
    }

    #[test]
    fn missing_unexpected_and_different_findings_are_told_apart() {
        let a = finding("img/pinned", Status::Pass, Some(("Pod", Some("default"), "a")), None, "pinned by digest");
        let c = finding("img/registry", Status::Error, None, Some("/etc/x"), "unreadable");
        let want = [expected("img/pinned", Status::Fail, pod("a")), expected("img/pinned", Status::Fail, pod("b"))];
        let diffs = compare(&want, &[&a, &c]);
        assert_eq!(
            diffs,
            vec![
                Diff::Different { expected: want[0].clone(), status: Status::Pass, message: "pinned by digest".into() },
                Diff::Missing(want[1].clone()),
                Diff::Unexpected("img/registry".into(), Status::Error, Subject::Path("/etc/x".into()), "unreadable".into()),
            ]
        );
    }

    #[test]
    fn a_duplicate_finding_is_unexpected_and_a_message_must_match() {
        let a = finding("img/pinned", Status::Fail, Some(("Pod", Some("default"), "a")), None, "no tag");
        let mut want = expected("img/pinned", Status::Fail, pod("a"));
        assert_eq!(compare(std::slice::from_ref(&want), &[&a, &a]).len(), 1);
        want.message = Some("latest".into());
        assert!(matches!(compare(&[want], &[&a]).as_slice(), [Diff::Different { status: Status::Fail, .. }]));
    }

    #[test]
    fn the_diff_reads_as_a_list_of_differences() {
        let mut with_message = expected("img/registry", Status::Fail, pod("c"));
        with_message.message = Some("not allowed".into());
        let diffs = vec![
            Diff::Missing(expected("img/pinned", Status::Fail, pod("b"))),
            Diff::Missing(with_message.clone()),
            Diff::Unexpected("img/registry".into(), Status::Error, Subject::Path("/etc/x".into()), "unreadable".into()),
            Diff::Different { expected: expected("img/pinned", Status::Fail, pod("a")), status: Status::Pass, message: "pinned".into() },
            Diff::Different { expected: with_message, status: Status::Fail, message: "from docker.io".into() },
            Diff::Unexpected("img/pinned".into(), Status::Pass, Subject::Target, "nothing to judge".into()),
        ];
        insta::assert_snapshot!(render("latest-tags", &diffs));
    }

    #[test]
    fn listings_take_the_demo_format_and_name_bad_rows() {
        let demo = "path\ttype\tmode\tuid\tgid\towner\tgroup\tsize\tcontent\tlink_target\torigin\n\
                    /etc\tdir\t0755\t0\t0\troot\troot\t-\t-\t\tscaffold\n\
                    /etc/a\tsymlink\t0777\t0\t0\troot\troot\t-\t-\t/etc/b\tx\n";
        let rows = read_listing(Path::new("node.tsv"), demo).unwrap();
        assert_eq!(rows[0], ListingEntry { path: "/etc".into(), kind: "dir".into(), mode: 0o755, uid: 0, gid: 0, link_target: None });
        assert_eq!(rows[1].link_target.as_deref(), Some("/etc/b"));
        for (text, needle) in [
            ("path\ttype\tmode\n", "header"),
            ("path\ttype\tmode\tuid\tgid\n/x\tfile\t0944\t0\t0\n", "line 2: mode \"0944\""),
            ("path\ttype\tmode\tuid\tgid\nx\tfile\t0644\t0\t0\n", "absolute"),
            ("path\ttype\tmode\tuid\tgid\n/x\tfifo\t0644\t0\t0\n", "type"),
            ("path\ttype\tmode\tuid\tgid\n/x\tfile\t0644\troot\t0\n", "uid \"root\""),
            ("path\ttype\tmode\tuid\tgid\n/x\tsymlink\t0777\t0\t0\n", "link_target"),
            ("path\ttype\tmode\tuid\tgid\n/x\tfile\t0644\n", "no uid"),
        ] {
            let err = read_listing(Path::new("c/node.tsv"), text).unwrap_err().to_string();
            assert!(err.contains("c/node.tsv") && err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn a_node_root_is_laid_out_with_the_listed_modes() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("node");
        std::fs::create_dir_all(tree.join("etc/kubernetes")).unwrap();
        std::fs::write(tree.join("etc/kubernetes/admin.conf"), "x").unwrap();
        let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir.path()).unwrap());
        let listing = dir.path().join("node.tsv");
        std::fs::write(
            &listing,
            format!("path\ttype\tmode\tuid\tgid\n/etc/kubernetes/admin.conf\tfile\t0600\t{me}\t{me}\n/etc/kubernetes/pki\tdir\t0700\t{me}\t{me}\n/etc/empty\tfile\t0640\t{me}\t{me}\n"),
        )
        .unwrap();
        let root = dir.path().join("root");
        lay_out(&tree, &listing, &root).unwrap();
        let mode = |p: &str| std::fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("etc/kubernetes/admin.conf"), 0o600);
        assert_eq!(std::fs::read_to_string(root.join("etc/kubernetes/admin.conf")).unwrap(), "x");
        assert_eq!(mode("etc/kubernetes/pki"), 0o700);
        assert_eq!(mode("etc/empty"), 0o640);
    }

    #[test]
    fn a_cases_dir_with_a_misnamed_expect_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("good")).unwrap();
        std::fs::write(dir.path().join("good/expect.toml"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("typo")).unwrap();
        std::fs::write(dir.path().join("typo/expected.toml"), "").unwrap();
        let err = case_dirs(dir.path()).unwrap_err().to_string();
        assert!(err.contains("typo") && err.contains("without expect.toml"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert!(case_dirs(empty.path()).unwrap_err().to_string().contains("no cases"));
        // A case directory given directly is one case.
        assert_eq!(case_dirs(&dir.path().join("good")).unwrap(), vec![dir.path().join("good")]);
    }
}
