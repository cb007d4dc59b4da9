//! Process command lines (NUL-separated, as /proc/PID/cmdline holds them)
//! as the SDK parses them with pflag's rules.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_sdk::args::Args;

fuzz_target!(|data: &[u8]| {
    let argv: Vec<String> = data.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let args = Args::parse_with_bools(&argv, rampart_sdk::kubelet::BOOL_FLAGS);
    let _ = args.program();
    for a in &argv {
        let name = a.trim_start_matches('-').split('=').next().unwrap_or("");
        let _ = args.has(name);
        let _ = args.get(name);
        let _ = args.all(name);
        let _ = args.list(name);
        let _ = args.bool(name);
    }
    let _ = args.positional();
    for d in &argv {
        let _ = rampart_sdk::kubelet::go_duration(d);
    }
});
