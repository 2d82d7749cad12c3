#!/usr/bin/env bash
# Runs berth's whole test suite: formatting, lints, then every test of the workspace.
# Installs the Debian packages the tests use when one is missing (quietly, idempotently).
# Tests create namespaces, mounts, cgroups and a dockerd of their own: run as root.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(berth_repo_root)"

berth_require_root
# busybox-static: bundles and images; runc: reference runtime; docker.io: the end-to-end test
# (dockerd + containerd); libseccomp-dev + pkg-config: the seccomp crate links libseccomp;
# iptables: dockerd's start-up checks; time + jq: benches and scripts; skopeo, docker-registry,
# openssl: registry and distribution tests against real clients and servers; iproute2: `ip`;
# debootstrap: the toolchain build test makes a Debian base image with it.
berth_ensure_packages busybox-static runc docker.io tini libseccomp-dev pkg-config iptables \
    nftables time jq skopeo docker-registry openssl iproute2 curl debootstrap
# The engine's Python SDK suite: the docker SDK for the python3 on PATH.
if ! python3 -c 'import docker' >/dev/null 2>&1; then
    berth_say "installing the docker SDK for Python (pip install docker)"
    python3 -m pip install --quiet docker || berth_die "pip install docker failed"
fi
berth_ensure_cargo

# rustfmt and clippy ship as rustup components; add them only if this toolchain lacks them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    command -v rustup >/dev/null 2>&1 || berth_die "cargo fmt/clippy missing and no rustup to add them"
    berth_say "adding rustup components rustfmt and clippy"
    rustup component add rustfmt clippy >/dev/null
fi

berth_say "cargo fmt --check"
cargo fmt --all -- --check

berth_say "cargo clippy"
cargo clippy --quiet --workspace --all-targets -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
    berth_say "cargo nextest run"
    cargo nextest run --cargo-quiet --workspace --no-fail-fast --status-level slow --final-status-level fail
else
    berth_say "cargo test (cargo-nextest not installed)"
    # Each test binary prints its own "test result:" line; the exit status covers them all.
    cargo test --quiet --workspace --no-fail-fast
fi
