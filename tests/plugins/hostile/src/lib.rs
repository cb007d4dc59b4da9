//! A hostile plugin for the sandbox tests. The `attack` setting picks what
//! it does; every attack must end as `error` (or a counted denial) for this
//! plugin alone.

use rampart_sdk::bindings::rampart::plugin::report;
use rampart_sdk::{
    AccessError, Capability, CheckInfoBuilder, Finding, Findings, Host, KindRef, ObjectRef, Plugin, PluginInfo, Settings, Status,
};

pub struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: "0.0.1".into(),
            checks: vec![CheckInfoBuilder::new("attack", "Attacks the sandbox").build()],
            capabilities: vec![
                Capability::NodeRead("/etc/**".into()),
                Capability::NodeStat("/etc/**".into()),
                Capability::ClusterList(KindRef { api_version: "v1".into(), kind: "Secret".into() }),
                Capability::ClusterSecretValues,
            ],
            settings: vec![
                rampart_sdk::setting("attack", rampart_sdk::SettingKind::Text, "which attack to make"),
                rampart_sdk::setting("paths", rampart_sdk::SettingKind::List, "node paths the escape attack tries"),
            ],
        }
    }

    fn evaluate(host: &dyn Host, settings: &Settings, out: &mut Findings) -> Result<(), String> {
        match settings.get("attack").unwrap_or("none") {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "loop-host-calls" => loop {
                let _ = std::hint::black_box(host.stat("/etc/hostname", true));
            },
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 * 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            "stack-overflow" => {
                // Small frames: the Wasm call stack itself overflows.
                #[allow(unconditional_recursion)]
                fn deeper(n: u64) -> u64 {
                    std::hint::black_box(deeper(std::hint::black_box(n + 1))) + 1
                }
                deeper(0);
                Ok(())
            }
            "shadow-stack-overflow" => {
                // Large frames live on the shadow stack in linear memory.
                #[allow(unconditional_recursion)]
                fn deeper(pad: [u8; 1024]) -> u64 {
                    std::hint::black_box(pad);
                    deeper(pad) + 1
                }
                deeper([0; 1024]);
                Ok(())
            }
            "trap" => panic!("deliberate trap"),
            "error" => Err("deliberate error".into()),
            "escape" => {
                // Each path tries to leave the node root; report what came back.
                let mut f = Finding::new("attack", Status::Pass, "tried to escape");
                for path in settings.list("paths").unwrap_or_default() {
                    let got = match host.read_file(&path) {
                        Ok(bytes) => format!("read: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(64)])),
                        Err(AccessError::Denied(_)) => "denied".into(),
                        Err(AccessError::NotFound(_)) => "not-found".into(),
                        Err(e) => format!("error: {}", e.reason()),
                    };
                    f = f.with(path, got);
                }
                out.push(f);
                Ok(())
            }
            "ungranted" => {
                let secrets = host.list_objects("v1", "Secret", None).map(|v| v.len().to_string()).unwrap_or_else(|e| e.reason());
                let shadow = host.read_file("/var/lib/kubelet/config.yaml").map(|_| "read".to_string()).unwrap_or_else(|e| e.reason());
                let pods = host.list_objects("v1", "Pod", None).map(|v| v.len().to_string()).unwrap_or_else(|e| e.reason());
                out.push(
                    Finding::new("attack", Status::Pass, "asked for what it was not granted")
                        .with("secrets", secrets)
                        .with("outside-glob", shadow)
                        .with("pods", pods),
                );
                Ok(())
            }
            "flood" => {
                for i in 0..1_000_000u32 {
                    out.push(Finding::new("attack", Status::Pass, format!("finding {i}")));
                }
                Ok(())
            }
            "huge-message" => {
                out.push(Finding::new("attack", Status::Pass, "x".repeat(10 * 1024 * 1024)));
                Ok(())
            }
            "undeclared-check" => {
                out.push(Finding::new("not-a-declared-check", Status::Pass, "sneaky pass"));
                out.push(Finding::new("attack", Status::Pass, "ok"));
                Ok(())
            }
            "wasi" => {
                // Everything WASI itself could reach: files, directories,
                // environment, arguments, sockets.
                let fs =
                    std::fs::read("/etc/passwd").map(|b| format!("read {} bytes", b.len())).unwrap_or_else(|e| format!("refused: {e}"));
                let dir =
                    std::fs::read_dir("/").map(|d| format!("listed {} entries", d.count())).unwrap_or_else(|e| format!("refused: {e}"));
                let cwd =
                    std::fs::read_dir(".").map(|d| format!("listed {} entries", d.count())).unwrap_or_else(|e| format!("refused: {e}"));
                let env = std::env::vars().count().to_string();
                let args = std::env::args().count().to_string();
                let net = std::net::TcpStream::connect("127.0.0.1:22")
                    .map(|_| "connected".to_string())
                    .unwrap_or_else(|e| format!("refused: {e}"));
                out.push(
                    Finding::new("attack", Status::Pass, "probed WASI")
                        .with("fs", fs)
                        .with("dir", dir)
                        .with("cwd", cwd)
                        .with("env", env)
                        .with("args", args)
                        .with("net", net),
                );
                Ok(())
            }
            "secrets" => {
                let mut f = Finding::new("attack", Status::Pass, "read secrets");
                for s in host.list_objects("v1", "Secret", None).map_err(|e| e.reason())? {
                    f = f.with(s.ref_.name.clone(), s.json);
                }
                out.push(f);
                Ok(())
            }
            "silent" => Ok(()),
            "paging" => {
                // Every secret a page of one at a time, then a forged token.
                let (mut pages, mut names) = (0, Vec::new());
                host.for_each_page("v1", "Secret", None, 1, &mut |page| {
                    pages += 1;
                    names.extend(page.into_iter().map(|o| o.ref_.name));
                })
                .map_err(|e| e.reason())?;
                let forged = match host.list_objects_page("v1", "Secret", None, 1, Some("v1/ConfigMap/*#0")) {
                    Ok(p) => format!("accepted: {} objects", p.objects.len()),
                    Err(e) => e.reason(),
                };
                let all = host.list_objects_page("v1", "Secret", None, 0, None).map_err(|e| e.reason())?;
                let pods =
                    host.list_objects_page("v1", "Pod", None, 1, None).map(|p| p.objects.len().to_string()).unwrap_or_else(|e| e.reason());
                out.push(
                    Finding::new("attack", Status::Pass, "paged through the secrets")
                        .with("pages", pages.to_string())
                        .with("names", names.join(","))
                        .with("forged", forged)
                        .with("unlimited", format!("{} objects, token {:?}", all.objects.len(), all.continue_token))
                        .with("pods", pods),
                );
                Ok(())
            }
            "sleep" => {
                // A blocking WASI clock wait: no Wasm runs while it waits.
                std::thread::sleep(std::time::Duration::from_secs(60));
                out.push(Finding::new("attack", Status::Pass, "woke up"));
                Ok(())
            }
            "sleep-loop" => loop {
                std::thread::sleep(std::time::Duration::from_millis(20));
            },
            "huge-names" => {
                // Every field of the object reference 20 MiB long, 20 times;
                // the host's calls are made directly, ignoring refusals.
                let big = "n".repeat(20 * 1024 * 1024);
                for _ in 0..20 {
                    let f = Finding::new("attack", Status::Pass, "named hugely").on_object(ObjectRef {
                        api_version: big.clone(),
                        kind: big.clone(),
                        namespace: Some(big.clone()),
                        name: big.clone(),
                    });
                    let _ = report::emit(&f);
                }
                Ok(())
            }
            "full-findings" => {
                // Findings at every per-field cap, as many as the count
                // limit allows, refusals ignored.
                let mut f = Finding::new("attack", Status::Pass, "m".repeat(8192)).at_path("/".repeat(8192));
                for i in 0..64 {
                    f = f.with(format!("{i:0>300}"), "v".repeat(8192));
                }
                for _ in 0..1_000_000 {
                    let _ = report::emit(&f);
                }
                Ok(())
            }
            "denied-paths" => {
                // Distinct ungranted paths of 4 MiB each.
                for i in 0..90 {
                    let path = format!("/var/{i}/{}", "p".repeat(4 * 1024 * 1024));
                    let _ = host.read_file(&path);
                }
                out.push(Finding::new("attack", Status::Pass, "asked for 90 huge paths"));
                Ok(())
            }
            "chatty-panic" => {
                // A lot on stdout, a last word on stderr, then a panic.
                for i in 0..100_000 {
                    println!("line {i} of a chatty plugin");
                }
                eprintln!("the last thing the plugin said");
                panic!("deliberate panic after talking");
            }
            _ => {
                out.push(Finding::new("attack", Status::Pass, "no attack"));
                Ok(())
            }
        }
    }
}

rampart_sdk::export_plugin!(Hostile);
