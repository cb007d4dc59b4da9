//! Runs the test API server by hand, for trying the live source:
//!
//!     cargo run -p rampart-test-apiserver -- KUBECONFIG_OUT [FAULT...]
//!
//! writes a kubeconfig for the admin token to KUBECONFIG_OUT (and one for
//! alice beside it, `.alice` appended) and serves until interrupted.
//! FAULT is `drop=PATH`, `slow=PATH` or `expire=PATH`.

use anyhow::{Context, Result};
use rampart_test_apiserver::{ADMIN_TOKEN, ALICE_TOKEN, Faults, TestServer, fixture, parse_fault};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args.next().context("usage: rampart-test-apiserver KUBECONFIG_OUT [drop=PATH|slow=PATH|expire=PATH]...")?;
    let mut faults = Faults::default();
    for spec in args {
        parse_fault(&spec, &mut faults)?;
    }
    let server = TestServer::start(&fixture(), faults)?;
    std::fs::write(&out, server.kubeconfig(ADMIN_TOKEN)).with_context(|| format!("writing {out}"))?;
    std::fs::write(format!("{out}.alice"), server.kubeconfig(ALICE_TOKEN)).with_context(|| format!("writing {out}.alice"))?;
    eprintln!("serving {} (kubeconfig: {out}); Ctrl-C stops", server.url());
    loop {
        std::thread::park();
    }
}
