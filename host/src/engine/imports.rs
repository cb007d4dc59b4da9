//! What a component needs from its host, read from its bytes before
//! anything is compiled: a component that imports what this host does not
//! link (`wasi:http` from a default componentize-js build, another version
//! of `rampart:plugin`) is refused in milliseconds, naming the imports,
//! instead of after a compile that can take a minute.

use wasmparser::{ComponentTypeRef, Encoding, Parser, Payload};

use crate::bindings::{WIT_COMPATIBLE, WIT_PACKAGE, WIT_VERSION};

/// The WASI p2 interfaces the host links (wasmtime-wasi, everything inert
/// unless granted: no preopens, no environment, no sockets).
const WASI: &[(&str, &[&str])] = &[
    ("io", &["error", "poll", "streams"]),
    ("clocks", &["monotonic-clock", "wall-clock"]),
    ("random", &["random", "insecure", "insecure-seed"]),
    ("filesystem", &["types", "preopens"]),
    ("sockets", &["network", "instance-network", "ip-name-lookup", "tcp", "tcp-create-socket", "udp", "udp-create-socket"]),
    (
        "cli",
        &[
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
    ),
];

/// The interfaces of the plugin contract.
const CONTRACT: &[&str] = &["types", "cluster", "node", "report", "log"];

/// The top-level imports and exports of a component.
#[derive(Debug, Default, PartialEq)]
pub struct Surface {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Reads the names a component imports and exports at its top level.
pub fn surface(bytes: &[u8]) -> Result<Surface, String> {
    let mut out = Surface::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| format!("not a valid Wasm component: {e}"))?;
        match payload {
            Payload::Version { encoding: Encoding::Module, .. } if depth == 0 => {
                return Err("is a core Wasm module, not a component: build for wasm32-wasip2, or wrap it with \
                            `wasm-tools component new`"
                    .into());
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| format!("not a valid Wasm component: {e}"))?;
                    // A type the world uses from an interface is imported
                    // by name too; the interface's own import carries it.
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        out.imports.push(import.name.name.to_string());
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| format!("not a valid Wasm component: {e}"))?;
                    out.exports.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Why one import cannot be linked here, if it cannot.
fn unlinkable(name: &str) -> Option<String> {
    let (path, version) = match name.split_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (name, None),
    };
    let Some((package, interface)) = path.split_once('/') else {
        return Some(format!("{name} (a bare function or instance; plugins import only interfaces)"));
    };
    if package == WIT_PACKAGE {
        let speaks = version.is_some_and(|v| v == WIT_VERSION || WIT_COMPATIBLE.contains(&v));
        return match version {
            Some(_) if speaks && CONTRACT.contains(&interface) => None,
            Some(v) if speaks => Some(format!("{name} (no such interface in {WIT_PACKAGE}@{v})")),
            v => Some(format!(
                "{name} (built for {WIT_PACKAGE}@{}; this host speaks {WIT_VERSION}: rebuild against this host's wit/)",
                v.unwrap_or("(unversioned)")
            )),
        };
    }
    if let Some(wasi) = package.strip_prefix("wasi:") {
        let known = WASI.iter().any(|(p, ifaces)| *p == wasi && ifaces.contains(&interface));
        let p2 = version.is_some_and(|v| v.starts_with("0.2."));
        return match (known, p2) {
            (true, true) => None,
            (true, false) => Some(format!("{name} (this host links WASI 0.2.x)")),
            (false, _) => Some(format!("{name} (not linked: plugins get WASI io, clocks, random, cli and inert filesystem/sockets)")),
        };
    }
    Some(format!("{name} (unknown to this host)"))
}

/// Refuses a component this host cannot run, naming what is missing.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let surface = surface(bytes)?;
    let missing: Vec<String> = surface.imports.iter().filter_map(|i| unlinkable(i)).collect();
    if !missing.is_empty() {
        return Err(format!("imports what this host does not provide: {}", missing.join("; ")));
    }
    let absent: Vec<&str> = ["describe", "evaluate"].into_iter().filter(|e| !surface.exports.iter().any(|x| x == e)).collect();
    if !absent.is_empty() {
        return Err(format!(
            "does not export {}: not a {WIT_PACKAGE} control component (exports: {})",
            absent.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(" and "),
            if surface.exports.is_empty() { "none".to_string() } else { surface.exports.join(", ") }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_and_wasi_p2_link() {
        for ok in [
            "rampart:plugin/report@0.2.1",
            "rampart:plugin/node@0.2.1",
            // Built before process-env was added: linked as they are.
            "rampart:plugin/report@0.2.0",
            "rampart:plugin/types@0.2.0",
            "wasi:io/poll@0.2.0",
            "wasi:cli/stderr@0.2.6",
            "wasi:clocks/monotonic-clock@0.2.12",
        ] {
            assert_eq!(unlinkable(ok), None, "{ok}");
        }
    }

    #[test]
    fn what_the_host_does_not_link_is_named() {
        for (bad, why) in [
            ("wasi:http/outgoing-handler@0.2.3", "not linked"),
            ("wasi:io/poll@0.3.0", "WASI 0.2.x"),
            ("wasi:io/poll", "WASI 0.2.x"),
            ("rampart:plugin/report@0.1.0", "built for rampart:plugin@0.1.0"),
            ("rampart:plugin/secrets@0.2.0", "no such interface"),
            ("rampart:plugin/node@0.2.2", "built for rampart:plugin@0.2.2; this host speaks 0.2.1"),
            ("rampart:plugin/node@0.3.0", "built for rampart:plugin@0.3.0"),
            ("acme:evil/backdoor@1.0.0", "unknown to this host"),
            ("exit", "bare function"),
        ] {
            let got = unlinkable(bad).unwrap_or_default();
            assert!(got.starts_with(bad) && got.contains(why), "{bad}: {got}");
        }
    }

    #[test]
    fn a_core_module_and_garbage_are_refused() {
        // The smallest core module: magic and version 1.
        let module = b"\0asm\x01\0\0\0";
        assert!(surface(module).unwrap_err().contains("core Wasm module"));
        assert!(surface(b"#!/bin/sh\n").unwrap_err().contains("not a valid Wasm component"));
    }
}
